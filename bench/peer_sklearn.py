"""The FastAPI + scikit-learn service `npm run bench:serve` compares driftline's predict API with.

It is what a team serving this model in Python would run: a 100-tree RandomForestRegressor trained at
start on AirPassengers 1949-1958 with the same features driftline's `seasonal-log-ratio` transform builds
(each of the last 12 months as the log ratio to the month a year before the predicted one, the target that
month's log ratio), behind uvicorn, with driftline's request and response shape:
POST /models/air-passengers/predict {"instances": [{"history": [12 numbers, oldest first]}]}
→ {"model", "version", "predictions": [{"id", "value"}]}.

Usage: python3 bench/peer_sklearn.py DATA.csv PORT
"""

import sys
import uuid

import numpy as np
import uvicorn
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel
from sklearn.ensemble import RandomForestRegressor

LAGS = 12
TRAIN_MONTHS = 120  # 1949-01 … 1958-12, the first drop


def features(history: np.ndarray) -> np.ndarray:
    """ln y[t-k] - ln y[t-12] for k = 12 … 1 (oldest first), for each row of 12 values."""
    logs = np.log(history)
    return logs - logs[:, :1]


def train(path: str) -> RandomForestRegressor:
    values = np.loadtxt(path, delimiter=",", skiprows=1, usecols=1)[:TRAIN_MONTHS]
    windows = np.lib.stride_tricks.sliding_window_view(values, LAGS + 1)
    x = features(windows[:, :LAGS])
    y = np.log(windows[:, LAGS]) - np.log(windows[:, 0])
    return RandomForestRegressor(n_estimators=100, n_jobs=1, random_state=0).fit(x, y)


class Instance(BaseModel):
    history: list[float]


class PredictRequest(BaseModel):
    instances: list[Instance]


model = train(sys.argv[1])
app = FastAPI()


@app.post("/models/air-passengers/predict")
def predict(request: PredictRequest) -> dict:
    if not request.instances or any(len(i.history) != LAGS or min(i.history) <= 0 for i in request.instances):
        raise HTTPException(status_code=400, detail=f"each instance needs {LAGS} positive values")
    history = np.array([i.history for i in request.instances])
    values = history[:, 0] * np.exp(model.predict(features(history)))
    request_id = uuid.uuid4().hex
    return {
        "model": "air-passengers",
        "version": 1,
        "predictions": [{"id": f"{request_id}-{n}", "value": float(v)} for n, v in enumerate(values)],
    }


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning", access_log=False)
