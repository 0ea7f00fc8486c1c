"""Reference for test/core/paired-bootstrap.test.ts: the same resamples (mulberry32, stratified by class
for classifiers), each scored by scikit-learn with sample_weight = the row multiplicities, and the interval
by np.percentile (linear). Run with Debian's Python: /usr/bin/python3 test/core/reference/paired_bootstrap.py
"""
import math

import numpy as np
from sklearn import metrics


def lcg(seed):  # test/core/stats/lcg.ts
    s = seed % 2**32
    while True:
        s = (1664525 * s + 1013904223) % 2**32
        yield s / 2**32


def uniform(seed, n, scale=1.0, shift=0.0):
    g = lcg(seed)
    return [next(g) * scale + shift for _ in range(n)]


def integers(seed, n, levels, shift=0):
    g = lcg(seed)
    return [math.floor(next(g) * levels) + shift for _ in range(n)]


def mulberry32(seed):  # lambdas/core/random.ts
    state = seed & 0xFFFFFFFF

    def imul(a, b):
        return (a * b) & 0xFFFFFFFF

    def draw():
        nonlocal state
        state = (state + 0x6D2B79F5) & 0xFFFFFFFF
        t = state
        t = imul(t ^ (t >> 15), t | 1)
        t ^= (t + imul(t ^ (t >> 7), t | 61)) & 0xFFFFFFFF
        return ((t ^ (t >> 14)) & 0xFFFFFFFF) / 4294967296

    return draw


def multiplicities(strata, n, resamples, seed):
    draw = mulberry32(seed)
    out = []
    for _ in range(resamples):
        w = np.zeros(n)
        for stratum in strata:
            for _ in range(len(stratum)):
                w[stratum[math.floor(draw() * len(stratum))]] += 1
        out.append(w)
    return out


def interval(score, candidate, champion, weights, confidence=0.95):
    d = [score(candidate, w) - score(champion, w) for w in weights]
    tail = (1 - confidence) / 2 * 100
    return np.percentile(d, [tail, 100 - tail])


RESAMPLES, SEED = 500, 7

# Regression: 30 rows
y = np.array(uniform(1, 30, 400, 100))
champion = y + np.array(uniform(2, 30, 60, -30))
candidate = y + np.array(uniform(3, 30, 40, -20))
weights = multiplicities([list(range(30))], 30, RESAMPLES, SEED)
regression = {
    "mae": lambda p, w: metrics.mean_absolute_error(y, p, sample_weight=w),
    "rmse": lambda p, w: math.sqrt(metrics.mean_squared_error(y, p, sample_weight=w)),
    "mape": lambda p, w: 100 * metrics.mean_absolute_percentage_error(y, p, sample_weight=w),
    "r2": lambda p, w: metrics.r2_score(y, p, sample_weight=w),
}
for name, score in regression.items():
    print(name, repr(score(candidate, None) - score(champion, None)), list(interval(score, candidate, champion, weights)))

# Binary classification: 40 rows, labels 0/1, probabilities [1 - p, p]
labels = np.array(integers(4, 40, 2))
p_champion = np.array(uniform(5, 40, 0.5)) + 0.4 * labels
p_candidate = np.array(uniform(6, 40, 0.5)) + 0.45 * labels
proba = lambda p: np.column_stack([1 - p, p])
strata = [[i for i in range(40) if labels[i] == c] for c in (0, 1)]
weights = multiplicities(strata, 40, RESAMPLES, SEED)
classification = {
    "auc": lambda p, w: metrics.roc_auc_score(labels, p, sample_weight=w),
    "logloss": lambda p, w: metrics.log_loss(labels, proba(p), sample_weight=w, labels=[0, 1]),
    "accuracy": lambda p, w: metrics.accuracy_score(labels, (p > 0.5).astype(int), sample_weight=w),
    "f1": lambda p, w: metrics.f1_score(labels, (p > 0.5).astype(int), sample_weight=w),
}
for name, score in classification.items():
    print(name, repr(score(p_candidate, None) - score(p_champion, None)), list(interval(score, p_candidate, p_champion, weights)))
