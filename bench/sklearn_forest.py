"""scikit-learn's random forest on a CSV written by bench/forest.ts, for the forest benchmark.

Usage: python sklearn_forest.py DATA.csv TASK TRAIN_ROWS [SEED]
  DATA.csv    features then target per line, no header; the first TRAIN_ROWS lines train, the rest are the holdout
  TASK        regression | classification
  SEED        the forest's random_state (default 0)
Prints one JSON object: fit seconds, single-row and batch predict times, pickled size and load time,
and the holdout R² (regression) or ROC AUC (classification, binary).
"""

import json
import pickle
import statistics
import sys
import time

import numpy as np
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.metrics import r2_score, roc_auc_score


def main() -> None:
    path, task, train_rows = sys.argv[1], sys.argv[2], int(sys.argv[3])
    seed = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    data = np.loadtxt(path, delimiter=",")
    x, y = data[:, :-1], data[:, -1]
    x_train, y_train, x_test, y_test = x[:train_rows], y[:train_rows], x[train_rows:], y[train_rows:]
    forest_class = RandomForestRegressor if task == "regression" else RandomForestClassifier
    model = forest_class(n_estimators=100, n_jobs=1, random_state=seed)

    started = time.perf_counter()
    model.fit(x_train, y_train)
    fit_seconds = time.perf_counter() - started

    predict = model.predict if task == "regression" else model.predict_proba
    single_times = []
    for index in range(min(200, len(x_test))):
        row = x_test[index : index + 1]
        started = time.perf_counter()
        predict(row)
        single_times.append(time.perf_counter() - started)

    batch_times = []
    for _ in range(3):
        started = time.perf_counter()
        predictions = predict(x_test)
        batch_times.append(time.perf_counter() - started)

    artifact = pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)
    load_times = []
    for _ in range(3):
        started = time.perf_counter()
        pickle.loads(artifact)
        load_times.append(time.perf_counter() - started)

    score = r2_score(y_test, predictions) if task == "regression" else roc_auc_score(y_test, predictions[:, 1])
    print(
        json.dumps(
            {
                "fitSeconds": fit_seconds,
                "singleRowMicros": statistics.median(single_times) * 1e6,
                "batchMicrosPerRow": min(batch_times) * 1e6 / len(x_test),
                "artifactBytes": len(artifact),
                "loadMillis": statistics.median(load_times) * 1e3,
                "score": score,
            }
        )
    )


if __name__ == "__main__":
    main()
