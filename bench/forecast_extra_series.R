# Writes the held-out series of `npm run bench:forecast -- --extra` to data/bench-extra/ as month,value
# CSVs: public monthly series that were not used to build or tune the default forecaster, to judge a
# choice the way an unseen series would (R 4's `datasets` and the `tseries` package, Debian
# `r-cran-tseries`). Run once from the repository root:
#
#   Rscript bench/forecast_extra_series.R
e <- new.env()
data(nino, package = "tseries", envir = e)
data(tcm, package = "tseries", envir = e)
series <- list(
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
dir.create("data/bench-extra", showWarnings = FALSE)
for (name in names(series)) {
  x <- series[[name]]
  stopifnot(frequency(x) == 12)
  t <- time(x)
  year <- floor(t + 1e-9)
  month <- round((t - year) * 12) + 1
  write.csv(
    data.frame(month = sprintf("%04d-%02d", as.integer(year), as.integer(month)), value = as.numeric(x)),
    file.path("data/bench-extra", paste0(name, ".csv")),
    row.names = FALSE, quote = FALSE
  )
}
