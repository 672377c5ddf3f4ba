#!/usr/bin/python3
"""train_adult.py: a small PyTorch training loop with ember's table-batched embedding
module, on the UCI Adult data (income > 50K from census columns).

The eight categorical columns each get an embedding table inside one
ember.torch.TableBatchedEmbeddingBags; its backward applies ember's fused Adagrad to the
tables in place, so the torch optimizer (Adam) only steps the small MLP on top. Prints the
loss per epoch and the test AUC; a few seconds a epoch on one core.

    PYTHONPATH=python EMBER_LIBRARY=build/lib/libember.so examples/train_adult.py
    (after `make install`: python3 examples/train_adult.py)
"""

import argparse
import os
import sys
import time

import numpy as np
import torch

import ember
import ember.torch

CATEGORICAL = ["workclass", "education", "marital-status", "occupation", "relationship",
               "race", "sex", "native-country"]
NUMERIC = ["age", "fnlwgt", "education-num", "capital-gain", "capital-loss", "hours-per-week"]
BUCKETS = 1000  # hashed rows per table; row 0 is "missing"


def read_adult(path):
    """Columns by name (strings), and the labels (1.0 for >50K)."""
    with open(path) as f:
        header = [c.strip() for c in f.readline().split(",")]
        rows = [[v.strip() for v in line.split(",")] for line in f if line.strip()]
    cols = {name: [r[i] for r in rows] for i, name in enumerate(header)}
    labels = np.array([v.startswith(">50K") for v in cols["classification"]], np.float32)
    return cols, labels


def encode(cols, stats=None):
    """ids [fields x n] (hashed, stable across runs) and standardised numbers [n x 6]."""
    ids = np.array([[0 if v == "?" else
                     1 + ember.model.hash_bytes(v.encode(), f) % (BUCKETS - 1)
                     for v in cols[name]] for f, name in enumerate(CATEGORICAL)], np.int64)
    num = np.log1p(np.array([[float(v) for v in cols[n]] for n in NUMERIC], np.float64).T)
    stats = stats or (num.mean(0), num.std(0) + 1e-9)
    return ids, ((num - stats[0]) / stats[1]).astype(np.float32), stats


def auc(scores, labels):
    order = np.argsort(scores)
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(1, len(scores) + 1)
    pos = labels > 0.5
    return (ranks[pos].sum() - pos.sum() * (pos.sum() + 1) / 2) / (pos.sum() * (~pos).sum())


class Model(torch.nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.emb = ember.torch.TableBatchedEmbeddingBags(
            [(BUCKETS, dim)] * len(CATEGORICAL), optimizer="adagrad", lr=0.05)
        self.mlp = torch.nn.Sequential(
            torch.nn.Linear(len(CATEGORICAL) * dim + len(NUMERIC), 64), torch.nn.ReLU(),
            torch.nn.Linear(64, 1))

    def forward(self, ids, num):
        # one id per field and example: FBGEMM's layout is table-major, bags of length 1
        fields, batch = ids.shape
        offsets = torch.arange(fields * batch + 1, dtype=torch.int64)
        return self.mlp(torch.cat([self.emb(ids.reshape(-1), offsets), num], 1)).squeeze(1)


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", default=os.path.join(root, "..", "shared", "data", "adult"))
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--dim", type=int, default=8)
    a = p.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(1)
    start = time.perf_counter()
    train_cols, y_train = read_adult(os.path.join(a.data, "adult.data"))
    test_cols, y_test = read_adult(os.path.join(a.data, "adult.test"))
    ids, num, stats = encode(train_cols)
    t_ids, t_num, _ = encode(test_cols, stats)
    model = Model(a.dim)
    opt = torch.optim.Adam(model.mlp.parameters(), lr=2e-3)  # the tables step themselves
    loss_fn = torch.nn.BCEWithLogitsLoss()
    n = len(y_train)
    for epoch in range(a.epochs):
        model.train()
        perm = torch.randperm(n).numpy()
        total = 0.0
        for s in range(0, n, a.batch):
            b = perm[s:s + a.batch]
            logits = model(torch.from_numpy(ids[:, b].copy()), torch.from_numpy(num[b]))
            loss = loss_fn(logits, torch.from_numpy(y_train[b]))
            opt.zero_grad()
            loss.backward()  # also updates the embedding tables (ember's fused Adagrad)
            opt.step()
            total += loss.item() * len(b)
        model.eval()
        with torch.no_grad():
            scores = torch.sigmoid(model(torch.from_numpy(t_ids), torch.from_numpy(t_num)))
        print(f"epoch {epoch + 1}: train loss {total / n:.4f}  test auc "
              f"{auc(scores.numpy(), y_test):.4f}  ({time.perf_counter() - start:.1f} s)")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
