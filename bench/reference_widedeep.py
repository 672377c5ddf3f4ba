#!/usr/bin/python3
"""reference_widedeep.py: the same Wide&Deep model as `ember train`, in PyTorch, trained on the
features `ember encode` wrote, so the two can be compared on exactly the same inputs.

    ember encode --data adult.data --test adult.test --format adult --out /tmp/enc/adult
    /usr/bin/python3 bench/reference_widedeep.py /tmp/enc/adult --seeds 1,2,3

Model (as src/model/wd_model.c): logit = sum of the example's wide weights (one table of
d_wide x 1, zero-initialised) + out(MLP(x0)); x0 = [embedding of each deep field | numeric
values]; embeddings U(-0.05, 0.05), ReLU layers He-normal, output layer U(+-1/sqrt(fan_in)),
biases zero; BCE with logits. Optimizers as ember's defaults: wide Adagrad (lr 0.01), dense
layers Adam (lr 0.002, L2 1e-4 as weight_decay added to the gradient), embeddings Adagrad
(lr 0.02); batch 64; the file's order every epoch (ember streams the file unshuffled).
Adagrad on a dense gradient equals ember's sparse Adagrad (rows without gradient do not
move), since no L2 is applied to the wide or embedding tables.
"""
import argparse
import csv
import json
import sys
import time

import numpy as np
import torch


def load(prefix, which, meta):
    path = meta["files"][which]
    with open(path, newline="") as f:
        rows = csv.reader(f)
        header = next(rows)
        data = list(rows)
    deep_cols = [i for i, h in enumerate(header) if h.startswith("d:")]
    num_cols = [i for i, h in enumerate(header) if h.startswith("n:")]
    wide_cols = [i for i, h in enumerate(header) if h.startswith("w:")]
    if any(fd["multi"] for fd in meta["deep_fields"]):
        sys.exit("reference_widedeep.py: multi-valued fields are not supported here")
    y = np.array([float(r[0]) for r in data], dtype=np.float32)
    deep = np.array([[int(r[i]) for i in deep_cols] for r in data], dtype=np.int64)
    num = np.array([[float(r[i]) for i in num_cols] for r in data], dtype=np.float32).reshape(len(data), len(num_cols))
    offs = np.array([w["offset"] for w in meta["wide_fields"]], dtype=np.int64)
    wide = np.array([[int(r[i]) for i in wide_cols] for r in data], dtype=np.int64) + offs
    return torch.from_numpy(y), torch.from_numpy(deep), torch.from_numpy(num), torch.from_numpy(wide)


def auc(scores, labels):
    """Exact AUC with average ranks for ties (as ember's metrics.c)."""
    order = np.argsort(scores, kind="mergesort")
    s = scores[order]
    y = labels[order]
    ranks = np.empty(len(s))
    i = 0
    while i < len(s):
        j = i
        while j + 1 < len(s) and s[j + 1] == s[i]:
            j += 1
        ranks[i:j + 1] = 0.5 * (i + 1 + j + 1)
        i = j + 1
    pos = y > 0.5
    npos, nneg = pos.sum(), (~pos).sum()
    return (ranks[pos].sum() - npos * (npos + 1) / 2) / (npos * nneg)


class WideDeep(torch.nn.Module):
    def __init__(self, meta, n_num, emb_dim, hidden):
        super().__init__()
        self.wide = torch.nn.Embedding(meta["d_wide"], 1)
        torch.nn.init.zeros_(self.wide.weight)
        self.embs = torch.nn.ModuleList()
        for fd in meta["deep_fields"]:
            e = torch.nn.Embedding(fd["buckets"], emb_dim)
            torch.nn.init.uniform_(e.weight, -0.05, 0.05)
            self.embs.append(e)
        sizes = [len(self.embs) * emb_dim + n_num] + hidden
        self.layers = torch.nn.ModuleList()
        for a, b in zip(sizes[:-1], sizes[1:]):
            lin = torch.nn.Linear(a, b)
            torch.nn.init.normal_(lin.weight, 0.0, (2.0 / a) ** 0.5)
            torch.nn.init.zeros_(lin.bias)
            self.layers.append(lin)
        self.out = torch.nn.Linear(sizes[-1], 1)
        bound = 1.0 / sizes[-1] ** 0.5
        torch.nn.init.uniform_(self.out.weight, -bound, bound)
        torch.nn.init.zeros_(self.out.bias)

    def forward(self, deep, num, wide):
        x = torch.cat([e(deep[:, i]) for i, e in enumerate(self.embs)] + [num], dim=1)
        for lin in self.layers:
            x = torch.relu(lin(x))
        return self.out(x).squeeze(1) + self.wide(wide).sum(dim=(1, 2))


def train_one(meta, tr, te, seed, a):
    torch.manual_seed(seed)
    y, deep, num, wide = tr
    model = WideDeep(meta, num.shape[1], a.emb_dim, a.hidden)
    opts = [
        torch.optim.Adagrad(model.wide.parameters(), lr=a.wide_lr),
        torch.optim.Adagrad(model.embs.parameters(), lr=a.emb_lr),
        torch.optim.Adam(list(model.layers.parameters()) + list(model.out.parameters()),
                         lr=a.deep_lr, weight_decay=a.deep_l2),
    ]
    lossf = torch.nn.BCEWithLogitsLoss()
    n = len(y)
    t0 = time.time()
    for epoch in range(a.epochs):
        model.train()
        for s in range(0, n, a.batch):
            sl = slice(s, s + a.batch)
            loss = lossf(model(deep[sl], num[sl], wide[sl]), y[sl])
            for o in opts:
                o.zero_grad()
            loss.backward()
            for o in opts:
                o.step()
        with torch.no_grad():
            p = torch.sigmoid(model(te[1], te[2], te[3])).numpy()
        yt = te[0].numpy()
        pc = np.clip(p, 1e-7, 1 - 1e-7)
        m = dict(epoch=epoch + 1, auc=float(auc(p, yt)),
                 logloss=float(-np.mean(yt * np.log(pc) + (1 - yt) * np.log(1 - pc))),
                 accuracy=float(np.mean((p >= 0.5) == (yt > 0.5))))
        print("seed %d epoch %d: test auc %.4f logloss %.4f accuracy %.4f" %
              (seed, m["epoch"], m["auc"], m["logloss"], m["accuracy"]), file=sys.stderr)
    m["seconds"] = time.time() - t0
    return m


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("prefix", help="the --out PREFIX given to ember encode")
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--emb-dim", type=int, default=8)
    ap.add_argument("--hidden", default="64,32")
    ap.add_argument("--wide-lr", type=float, default=0.01)
    ap.add_argument("--deep-lr", type=float, default=0.002)
    ap.add_argument("--emb-lr", type=float, default=0.02)
    ap.add_argument("--deep-l2", type=float, default=1e-4)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    a.hidden = [int(h) for h in a.hidden.split(",") if h]
    torch.set_num_threads(a.threads)
    with open(a.prefix + ".json") as f:
        meta = json.load(f)
    if meta["files"]["test"] is None:
        sys.exit("reference_widedeep.py: encode with --test to evaluate")
    tr = load(a.prefix, "data", meta)
    te = load(a.prefix, "test", meta)
    results = [train_one(meta, tr, te, int(s), a) for s in a.seeds.split(",")]
    aucs = sorted(r["auc"] for r in results)
    summary = dict(framework="pytorch " + torch.__version__, seeds=a.seeds,
                   auc=[round(r["auc"], 5) for r in results],
                   logloss=[round(r["logloss"], 5) for r in results],
                   accuracy=[round(r["accuracy"], 5) for r in results],
                   median_auc=float(np.median(aucs)),
                   median_logloss=float(np.median([r["logloss"] for r in results])),
                   median_accuracy=float(np.median([r["accuracy"] for r in results])),
                   seconds_per_run=float(np.median([r["seconds"] for r in results])))
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
