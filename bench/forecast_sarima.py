"""SARIMA airline model (log) anchor for `npm run bench:forecast`.

For each CSV (columns month,value) fits SARIMA(0,1,1)(0,1,1)_12 on log(value) over all but the last
HOLDOUT months, applies the fitted parameters to the whole series without re-estimating them, and prints
one JSON line per file with the exponentiated one-step-ahead forecasts of the last HOLDOUT months.

    /usr/bin/python3 bench/forecast_sarima.py 24 data/bench/air-passengers.csv ...
"""

import csv
import json
import sys
import warnings

import numpy as np
from statsmodels.tsa.statespace.sarimax import SARIMAX


def main() -> None:
    holdout = int(sys.argv[1])
    for path in sys.argv[2:]:
        with open(path, newline="") as handle:
            values = np.array([float(row["value"]) for row in csv.DictReader(handle)])
        logs = np.log(values)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = SARIMAX(logs[:-holdout], order=(0, 1, 1), seasonal_order=(0, 1, 1, 12)).fit(disp=False)
            applied = fit.apply(logs)
        forecasts = np.exp(applied.fittedvalues[-holdout:])
        print(json.dumps({"file": path, "method": "sarima-airline-log", "forecasts": forecasts.tolist()}))


if __name__ == "__main__":
    main()
