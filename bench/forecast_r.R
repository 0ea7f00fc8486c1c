# auto.arima and ets anchors for `npm run bench:forecast` (R's forecast package).
#
# For each CSV (columns month,value) fits auto.arima and ets (defaults) on all but the last HOLDOUT months,
# applies each fitted model to the whole series without re-estimation (Arima(full, model = fit),
# ets(full, model = fit, use.initial.values = TRUE): neither parameters nor initial states see the holdout) and prints one line per file and method: file, method, then the one-step-ahead
# forecasts of the last HOLDOUT months, tab-separated.
#
#   Rscript bench/forecast_r.R 24 data/bench/air-passengers.csv ...
suppressPackageStartupMessages(library(forecast))
args <- commandArgs(trailingOnly = TRUE)
holdout <- as.integer(args[1])
for (path in args[-1]) {
  data <- read.csv(path, colClasses = c("character", "numeric"))
  start <- as.integer(strsplit(data$month[1], "-")[[1]])
  full <- ts(data$value, start = start, frequency = 12)
  train <- head(full, length(full) - holdout)
  arima <- Arima(full, model = auto.arima(train))
  smooth <- ets(full, model = ets(train), use.initial.values = TRUE)
  for (method in c("auto.arima", "ets")) {
    fitted_values <- fitted(if (method == "auto.arima") arima else smooth)
    forecasts <- tail(as.numeric(fitted_values), holdout)
    cat(path, method, format(forecasts, digits = 17), sep = "\t")
    cat("\n")
  }
}
