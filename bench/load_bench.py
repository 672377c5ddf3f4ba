#!/usr/bin/env python3
"""load_bench.py: the CPU backend at its default threads against one thread, beside busy
neighbours (issue 10: "never slower than one thread").

Starts N busy loops (default: as many as the cores this process may use), loads libember
through ctypes (compare_torch.py's bindings) with two contexts on the same inputs, one at
the default threads (0) and one at --threads 1, and calls each op on the two alternately,
call by call: both sides of every ratio share the same moment's load, which on a shared
machine is the only comparison that holds still. Prints per op the median time of each and
the median of the per-pair ratios default / one thread. --busy 0 measures without the busy
loops. The target: every ratio at most 1.2 beside as many busy loops as cores.

usage: /usr/bin/python3 bench/load_bench.py [--lib build/lib/libember.so] [--busy N]
           [--pairs P] [--limit X] [--op LIST] [--threads N] [--rows E] [--dim D] [--batch B] [--pooling L]
           [--dense B_IN_OUT]
Exits 1 when a ratio exceeds --limit (default 1.2).
"""
import argparse
import ctypes
import os
import statistics
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare_torch import Ember, LookupDesc, Optimizer  # noqa: E402  (the one binding)

ADAGRAD, SGD, RELU = 1, 0, 1


def ops_on(em, a, data):
    """The timed ops on one context, each a function that runs the op once, synchronised."""
    L, VP, I64 = em.lib, ctypes.c_void_p, ctypes.c_int64
    L.ember_embedding_backward_dense.argtypes = [VP, ctypes.POINTER(LookupDesc), VP, VP, VP, VP,
                                                 ctypes.c_int, VP]
    L.ember_sigmoid.argtypes = [VP, I64, VP, VP]
    L.ember_bce_with_logits.argtypes = [VP, I64, VP, VP, ctypes.POINTER(ctypes.c_float), VP]
    E, D, B, P = a.rows, a.dim, a.batch, a.pooling
    N = B * P
    tab, idx, off = em.upload(data["table"]), em.upload(data["idx"]), em.upload(data["off"])
    out, nout = em.upload(np.zeros((B, D), np.float32)), em.upload(np.zeros((N, D), np.float32))
    g, gtab = em.upload(data["grad"]), em.upload(np.zeros((E, D), np.float32))
    state = em.upload(np.zeros((E, D), np.float32))
    db, di, do = a.dense
    x, w = em.upload(data["x"]), em.upload(data["w"])
    bias, y = em.upload(np.zeros(do, np.float32)), em.upload(np.zeros((db, do), np.float32))
    dy, dx = em.upload(data["dy"]), em.upload(np.zeros((db, di), np.float32))
    dw, dbias = em.upload(np.zeros((do, di), np.float32)), em.upload(np.zeros(do, np.float32))
    n_head = B * D
    logits, labels = em.upload(data["logits"]), em.upload(data["labels"])
    probs, lgrad = em.upload(np.zeros(n_head, np.float32)), em.upload(np.zeros(n_head, np.float32))
    pooled = LookupDesc(E, D, N, B, 0, 1, -1, D, 0, 0)
    plain = LookupDesc(E, D, N, N, 0, 0, -1, D, 0, 0)
    sgd, adagrad = Optimizer(SGD, 0.01, 0, 0, 0, 0, 1), Optimizer(ADAGRAD, 0.01, 1e-10, 0, 0, 0, 1)
    loss = ctypes.c_float()
    c = em.ctx

    def run(st, what):
        em.check(st, what)
        L.ember_context_synchronize(c)

    r = ctypes.byref
    return {
        "lookup_sum": lambda: run(L.ember_embedding_lookup(c, r(pooled), tab, idx, off, None, out),
                                  "lookup"),
        "lookup_none": lambda: run(L.ember_embedding_lookup(c, r(plain), tab, idx, None, None,
                                                            nout), "lookup none"),
        "backward_dense": lambda: run(L.ember_embedding_backward_dense(c, r(pooled), idx, off, None,
                                                                       g, 0, gtab), "backward"),
        "update_sgd": lambda: run(L.ember_embedding_backward_update(c, r(pooled), idx, off, None, g,
                                                                    0, r(sgd), tab, None), "sgd"),
        "update_adagrad": lambda: run(L.ember_embedding_backward_update(
            c, r(pooled), idx, off, None, g, 0, r(adagrad), tab, state), "adagrad"),
        "dense_fwd": lambda: run(L.ember_dense_forward(c, db, di, do, x, w, bias, RELU, y),
                                 "dense forward"),
        "dense_bwd": lambda: run(L.ember_dense_backward(c, db, di, do, x, w, y, dy, RELU, dx, dw,
                                                        dbias), "dense backward"),
        "sigmoid": lambda: run(L.ember_sigmoid(c, n_head, logits, probs), "sigmoid"),
        "bce": lambda: run(L.ember_bce_with_logits(c, n_head, logits, labels, r(loss), lgrad),
                           "bce"),
    }


def timed_ms(fn):
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1e3


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lib", default=os.path.join(here, "..", "build", "lib", "libember.so"))
    ap.add_argument("--busy", type=int, default=len(os.sched_getaffinity(0)))
    ap.add_argument("--pairs", type=int, default=40, help="timed pairs per op (after 3 warm-up)")
    ap.add_argument("--limit", type=float, default=1.2)
    ap.add_argument("--op", default="", help="comma-separated ops to run (default: all)")
    ap.add_argument("--threads", type=int, default=0,
                    help="threads of the side set against one thread (default 0, ember's "
                         "default); 1 gives an A/A run, whose ratios show the noise floor")
    ap.add_argument("--rows", type=int, default=200000)
    ap.add_argument("--dim", type=int, default=64)
    ap.add_argument("--batch", type=int, default=2048)
    ap.add_argument("--pooling", type=int, default=20)
    ap.add_argument("--dense", type=int, nargs=3, default=[512, 400, 400],
                    metavar=("B", "IN", "OUT"))
    a = ap.parse_args()
    rng = np.random.default_rng(42)
    N = a.batch * a.pooling
    db, di, do = a.dense
    data = {
        "table": rng.uniform(-0.1, 0.1, (a.rows, a.dim)).astype(np.float32),
        "idx": rng.integers(0, a.rows, N, dtype=np.int64),
        "off": np.arange(0, N + 1, a.pooling, dtype=np.int64),
        "grad": rng.uniform(-0.01, 0.01, (a.batch, a.dim)).astype(np.float32),
        "x": rng.uniform(-1, 1, (db, di)).astype(np.float32),
        "w": rng.uniform(-0.05, 0.05, (do, di)).astype(np.float32),
        "dy": rng.uniform(-0.01, 0.01, (db, do)).astype(np.float32),
        "logits": rng.uniform(-5, 5, a.batch * a.dim).astype(np.float32),
        "labels": (rng.uniform(0, 1, a.batch * a.dim) < 0.5).astype(np.float32),
    }
    default, single = Ember(a.lib, a.threads), Ember(a.lib, 1)
    ops0, ops1 = ops_on(default, a, data), ops_on(single, a, data)
    busy = [subprocess.Popen(["sh", "-c", "while :; do :; done"]) for _ in range(a.busy)]
    rows = []
    try:
        time.sleep(0.5)  # let the scheduler see the busy loops
        for op in [o for o in ops0 if not a.op or o in a.op.split(",")]:
            for _ in range(3):
                ops0[op](), ops1[op]()
            t0, t1, ratios = [], [], []
            for k in range(a.pairs):
                first, second = (ops0, ops1) if k % 2 == 0 else (ops1, ops0)
                ta, tb = timed_ms(first[op]), timed_ms(second[op])
                d, o = (ta, tb) if k % 2 == 0 else (tb, ta)
                t0.append(d), t1.append(o), ratios.append(d / o)
            rows.append((op, statistics.median(t0), statistics.median(t1),
                         statistics.median(ratios)))
    finally:
        for p in busy:
            p.kill()
            p.wait()
        default.close()
        single.close()
    with open("/proc/loadavg") as f:
        load = " ".join(f.read().split()[:4])
    print(f"{a.busy} busy loops beside, {len(os.sched_getaffinity(0))} cores, {a.pairs} pairs "
          f"per op; /proc/loadavg after: {load}")
    print(f"E={a.rows} D={a.dim} B={a.batch} L={a.pooling}, dense {db}x{di}->{do}, "
          f"lib {os.path.realpath(a.lib)}")
    side = "default ms" if a.threads == 0 else f"{a.threads} thr ms"
    print(f"{'op':16s} {side:>11s} {'1 thread ms':>12s} {'ratio':>7s}")
    for op, d, o, ratio in rows:
        print(f"{op:16s} {d:11.3f} {o:12.3f} {ratio:7.2f}{'  > limit' if ratio > a.limit else ''}")
    worst = max(r[3] for r in rows)
    print(f"worst ratio {worst:.2f} (limit {a.limit})")
    return 1 if worst > a.limit else 0


if __name__ == "__main__":
    sys.exit(main())
