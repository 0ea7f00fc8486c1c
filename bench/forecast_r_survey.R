# R forecast's wider toolbox on one-step forecasts, scored on the training part and on the holdout (#11).
#
# For each CSV (columns month,value), each method is fitted as R's forecast package fits it by default
# and applied without re-estimation, as bench/forecast_r.R applies its anchors:
#   - rolling origin on the training part: fitted on the first o months for o = n - 24 - 48, -36, -24, -12
#     (origins before month 36 skipped), applied to o + 12 months, scored on months o + 1 … o + 12;
#   - holdout: fitted on all but the last 24 months, applied to the whole series, scored on the last 24.
# Prints file, method, rolling-origin MAPE, holdout MAPE (tab-separated). The question it answers: does any
# standard forecaster, chosen by validation on the training part, reach a holdout the airline model does
# not? Nothing here is used by driftline; it is evidence for bench/RESULTS.md.
#
#   Rscript bench/forecast_r_survey.R data/air-passengers.csv data/bench/*.csv data/bench-extra/*.csv
suppressPackageStartupMessages(library(forecast))
HOLDOUT <- 24
mape <- function(actual, forecast) 100 * mean(abs(actual - forecast) / abs(actual))
methods <- list(
  airline = function(y) Arima(y, order = c(0, 1, 1), seasonal = c(0, 1, 1), lambda = 0),
  autoarima_log = function(y) auto.arima(y, lambda = 0),
  ets_log = function(y) ets(y, lambda = 0),
  ets = function(y) ets(y),
  hw_log = function(y) ets(y, model = "AAA", damped = FALSE, lambda = 0),
  tbats = function(y) tbats(y, use.parallel = FALSE),
  airline_guerrero = function(y) Arima(y, order = c(0, 1, 1), seasonal = c(0, 1, 1), lambda = BoxCox.lambda(y)),
  nnetar_log = function(y) { set.seed(1); nnetar(y, lambda = 0) }
)
# The methods that take logs or a Box-Cox transform need a positive series.
positive_only <- c("airline", "autoarima_log", "ets_log", "hw_log", "airline_guerrero", "nnetar_log")
apply_fit <- function(name, fit, y) {
  if (name %in% c("ets", "ets_log", "hw_log")) ets(y, model = fit, use.initial.values = TRUE)
  else if (name == "tbats") tbats(y, model = fit)
  else if (name == "nnetar_log") { set.seed(1); nnetar(y, model = fit) }
  else Arima(y, model = fit)
}
for (path in commandArgs(trailingOnly = TRUE)) {
  data <- read.csv(path, colClasses = c("character", "numeric"))
  start <- as.integer(strsplit(data$month[1], "-")[[1]])
  full <- ts(data$value, start = start, frequency = 12)
  train_length <- length(full) - HOLDOUT
  origins <- train_length - 12 * (4:1)
  origins <- origins[origins >= 36]
  for (name in names(methods)) {
    if (name %in% positive_only && min(full) <= 0) next
    scores <- tryCatch({
      actual <- c(); forecast <- c()
      for (origin in origins) {
        window <- head(full, origin + 12)
        applied <- apply_fit(name, methods[[name]](head(full, origin)), window)
        actual <- c(actual, tail(as.numeric(window), 12))
        forecast <- c(forecast, tail(as.numeric(fitted(applied)), 12))
      }
      applied <- apply_fit(name, methods[[name]](head(full, train_length)), full)
      c(mape(actual, forecast), mape(tail(as.numeric(full), HOLDOUT), tail(as.numeric(fitted(applied)), HOLDOUT)))
    }, error = function(e) c(NA, NA))
    cat(basename(path), name, sprintf("%.3f", scores[1]), sprintf("%.3f", scores[2]), sep = "\t")
    cat("\n")
  }
}
