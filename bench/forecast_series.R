# Writes the series of `npm run bench:forecast` as month,value CSVs: the benchmark series to data/bench/
# from R's `datasets` package and, for gas and wineind, the `forecast` package (AirPassengers is
# data/air-passengers.csv already); and the held-out series of `-- --extra` to data/bench-extra/, public
# monthly series that were not used to build or tune the default forecaster, to judge a choice the way an
# unseen series would (R 4's `datasets` and the `tseries` package, Debian `r-cran-tseries`). Run once from
# the repository root:
#
#   Rscript bench/forecast_series.R
suppressPackageStartupMessages(library(forecast))
e <- new.env()
data(nino, package = "tseries", envir = e)
data(tcm, package = "tseries", envir = e)
folders <- list(
  "data/bench" = list(
    "us-acc-deaths" = datasets::USAccDeaths,
    "uk-lung-deaths" = datasets::ldeaths,
    "uk-driver-deaths" = datasets::UKDriverDeaths,
    "mauna-loa-co2" = datasets::co2,
    "nottingham-temperature" = datasets::nottem,
    "australian-gas" = forecast::gas,
    "australian-wine" = forecast::wineind
  ),
  "data/bench-extra" = list(
    "uk-female-lung-deaths" = datasets::fdeaths,
    "uk-male-lung-deaths" = datasets::mdeaths,
    "uk-front-seat-casualties" = datasets::Seatbelts[, "front"],
    "uk-rear-seat-casualties" = datasets::Seatbelts[, "rear"],
    "uk-distance-driven" = datasets::Seatbelts[, "kms"],
    "uk-van-drivers-killed" = datasets::Seatbelts[, "VanKilled"],
    "uk-petrol-price" = datasets::Seatbelts[, "PetrolPrice"],
    "nino-3-4" = e$nino[, "nino3.4"],
    "us-10-year-rate" = e$tcm[, "tcm10y"]
  )
)
for (folder in names(folders)) {
  dir.create(folder, showWarnings = FALSE)
  series <- folders[[folder]]
  for (name in names(series)) {
    x <- series[[name]]
    stopifnot(frequency(x) == 12)
    t <- time(x)
    year <- floor(t + 1e-9)
    month <- round((t - year) * 12) + 1
    write.csv(
      data.frame(month = sprintf("%04d-%02d", as.integer(year), as.integer(month)), value = as.numeric(x)),
      file.path(folder, paste0(name, ".csv")),
      row.names = FALSE, quote = FALSE
    )
  }
}
