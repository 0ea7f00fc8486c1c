# Writes the benchmark series of `npm run bench:forecast` to data/bench/ as month,value CSVs, from R's
# `datasets` package and, for gas and wineind, the `forecast` package (AirPassengers is data/air-passengers.csv
# already). Run once from the repository root:
#
#   Rscript bench/forecast_series.R
suppressPackageStartupMessages(library(forecast))
series <- list(
  "us-acc-deaths" = datasets::USAccDeaths,
  "uk-lung-deaths" = datasets::ldeaths,
  "uk-driver-deaths" = datasets::UKDriverDeaths,
  "mauna-loa-co2" = datasets::co2,
  "nottingham-temperature" = datasets::nottem,
  "australian-gas" = forecast::gas,
  "australian-wine" = forecast::wineind
)
dir.create("data/bench", showWarnings = FALSE)
for (name in names(series)) {
  x <- series[[name]]
  stopifnot(frequency(x) == 12)
  t <- time(x)
  year <- floor(t + 1e-9)
  month <- round((t - year) * 12) + 1
  write.csv(
    data.frame(month = sprintf("%04d-%02d", as.integer(year), as.integer(month)), value = as.numeric(x)),
    file.path("data/bench", paste0(name, ".csv")),
    row.names = FALSE, quote = FALSE
  )
}
