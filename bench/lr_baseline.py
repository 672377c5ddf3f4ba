#!/usr/bin/python3
"""Logistic-regression baseline on the same columns `ember train` reads (docs/quality.md).

    bench/lr_baseline.py --train F --test F --schema SPEC [--header] [--delim C]
                         [--positive V] [--cross a*b,...] [--C 1,0.3,...] [--num-bins N]

SPEC is ember's CSV schema (label, num, cat, multi[:SEP], ignore; NAME:KIND). Features:
every categorical value one-hot (exact values, no hashing, so the baseline has no
collisions), multi-valued columns multi-hot, numeric columns standardised with the training
file's mean and deviation (a missing value becomes the mean), optionally also one-hot in N
quantile buckets, and each --cross as the one-hot of its columns' value tuple (a numeric
column's value being its bucket: --num-bins is needed then).

Fits scikit-learn's LogisticRegression (L2, lbfgs, run to convergence). With one --C value it
fits that; with several it picks C by validation AUC on a seeded 20% of the training file
and refits on the whole file. Prints one JSON line: test AUC, logloss, the C used.

Needs python3-sklearn (scripts/install-deps.sh --bench installs it); only this baseline uses it."""
import argparse
import csv
import json
import math
import random
import sys

import numpy as np
from scipy import sparse
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss, roc_auc_score


def parse_schema(spec):
    cols = []
    for i, item in enumerate(spec.split(",")):
        parts = item.split(":")
        kinds = ("label", "num", "cat", "multi", "ignore")
        if parts[0] in kinds:
            name, kind, rest = "c%d" % i, parts[0], parts[1:]
        else:
            name, kind, rest = parts[0], parts[1], parts[2:]
        sep = rest[0] if kind == "multi" and rest else " "
        cols.append((name, kind, sep))
    return cols


def read_rows(path, delim, header):
    with open(path, newline="") as f:
        reader = csv.reader(f, delimiter=delim)
        if header:
            next(reader)
        for row in reader:
            if row:
                yield [v.strip() for v in row]


def is_missing(v):
    return v == "" or v == "?"


class Encoder:
    """Column indices learned from the training rows; unseen values get no column."""

    def __init__(self, cols, crosses, num_bins, positive):
        self.cols, self.crosses, self.num_bins, self.positive = cols, crosses, num_bins, positive
        self.index = {}
        self.mean, self.std, self.bounds = {}, {}, {}

    def label(self, v):
        if self.positive is not None:
            return 1.0 if v.rstrip(".") == self.positive else 0.0
        return float(v)

    def tokens(self, row):
        """(key, value) pairs of the row's one-hot columns, and its numeric values."""
        keys, nums = [], {}
        for j, (name, kind, sep) in enumerate(self.cols):
            v = row[j]
            if kind == "cat":
                keys.append((name, v))
            elif kind == "multi":
                keys.extend((name, t) for t in v.split(sep) if t and not is_missing(v))
            elif kind == "num":
                nums[name] = None if is_missing(v) else float(v)
                if name in self.bounds and nums[name] is not None:
                    keys.append((name + "#bin", int(np.searchsorted(self.bounds[name], nums[name]))))
        for cross in self.crosses:  # a numeric column enters a cross by its bucket, as in ember
            keys.append(("*".join(cross), tuple(self.cross_value(row, c) for c in cross)))
        return keys, nums

    def cross_value(self, row, name):
        v = row[self.col_of[name]]
        if name in self.bounds and not is_missing(v):
            return int(np.searchsorted(self.bounds[name], float(v)))
        return v

    def fit(self, rows):
        self.col_of = {name: j for j, (name, _, _) in enumerate(self.cols)}
        numeric = [n for n, k, _ in self.cols if k == "num"]
        values = {n: [] for n in numeric}
        for row in rows:
            for n in numeric:
                v = row[self.col_of[n]]
                if not is_missing(v):
                    values[n].append(float(v))
        for n in numeric:
            a = np.array(values[n]) if values[n] else np.zeros(1)
            self.mean[n], self.std[n] = a.mean(), (a.std() if a.std() > 0 else 1.0)
            if self.num_bins > 1:
                q = np.quantile(a, [i / self.num_bins for i in range(1, self.num_bins)])
                self.bounds[n] = np.unique(q)
        for row in rows:
            for key in self.tokens(row)[0]:
                self.index.setdefault(key, len(self.index))
        self.numeric = numeric

    def transform(self, rows):
        data, indices, indptr, y = [], [], [0], []
        width = len(self.index) + len(self.numeric)
        for row in rows:
            keys, nums = self.tokens(row)
            for key in keys:
                j = self.index.get(key)
                if j is not None:
                    indices.append(j)
                    data.append(1.0)
            for i, n in enumerate(self.numeric):
                v = nums[n]
                indices.append(len(self.index) + i)
                data.append(0.0 if v is None else (v - self.mean[n]) / self.std[n])
            indptr.append(len(indices))
            y.append(self.label(row[self.label_col]))
        return sparse.csr_matrix((data, indices, indptr), shape=(len(rows), width)), np.array(y)


def fit_lr(X, y, C):
    lr = LogisticRegression(C=C, max_iter=5000, tol=1e-6)
    lr.fit(X, y)
    return lr


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--train", required=True)
    ap.add_argument("--test", required=True)
    ap.add_argument("--schema", required=True)
    ap.add_argument("--header", action="store_true")
    ap.add_argument("--delim", default=",")
    ap.add_argument("--positive")
    ap.add_argument("--cross", default="")
    ap.add_argument("--C", default="1")
    ap.add_argument("--num-bins", type=int, default=0)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    cols = parse_schema(a.schema)
    crosses = [c.split("*") for c in a.cross.split(",") if c]
    train = list(read_rows(a.train, "\t" if a.delim == "tab" else a.delim, a.header))
    test = list(read_rows(a.test, "\t" if a.delim == "tab" else a.delim, a.header))
    cs = [float(c) for c in a.C.split(",")]

    def encoder(rows):
        enc = Encoder(cols, crosses, a.num_bins, a.positive)
        enc.label_col = [k for _, k, _ in cols].index("label")
        enc.fit(rows)
        return enc

    best_c = cs[0]
    if len(cs) > 1:
        rng = random.Random(a.seed)
        held = [rng.random() < 0.2 for _ in train]
        fit_rows = [r for r, h in zip(train, held) if not h]
        val_rows = [r for r, h in zip(train, held) if h]
        enc = encoder(fit_rows)
        X, y = enc.transform(fit_rows)
        Xv, yv = enc.transform(val_rows)
        scores = {c: roc_auc_score(yv, fit_lr(X, y, c).predict_proba(Xv)[:, 1]) for c in cs}
        best_c = max(cs, key=lambda c: scores[c])
        print("validation AUC by C: " + ", ".join("%g: %.4f" % (c, scores[c]) for c in cs),
              file=sys.stderr)
    enc = encoder(train)
    X, y = enc.transform(train)
    Xt, yt = enc.transform(test)
    p = fit_lr(X, y, best_c).predict_proba(Xt)[:, 1]
    print(json.dumps({"model": "logistic_regression", "C": best_c, "features": X.shape[1],
                      "train_rows": len(train), "test_rows": len(test),
                      "auc": round(roc_auc_score(yt, p), 6), "logloss": round(log_loss(yt, p), 6)}))


if __name__ == "__main__":
    main()
