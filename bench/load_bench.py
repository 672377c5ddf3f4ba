#!/usr/bin/env python3
"""load_bench.py: the CPU backend at its default threads against one thread, beside busy
neighbours (issue 10: "never slower than one thread").

Starts N busy loops (default: as many as the cores this process may use), loads libember
through the ember package of python/ with two contexts A and B on the same inputs, and
calls each op on the two alternately, call by call, one context at the default threads (0)
and the other at one thread (--against): both calls of a pair share the same moment's load,
which on a shared machine is the only comparison that holds still. Half of the pairs run A
at the default and B at one thread, the other half the reverse (ember_context_set_threads
between pairs): each context's own speed (its buffers' addresses alone moved dense_fwd by
1.7x in an A/A run) then cancels in the geometric mean of the two halves.

The judged ratio is, per half, the median over pairs of (default time / one-thread time),
and the geometric mean of the two halves. Beside busy loops a call either has a core or
waits a scheduler time slice (several ms against a 1 ms op), and which call of a pair
waits is chance: a ratio of totals moves with a handful of such waits (A/A runs, both
sides at one thread, gave 1.51 on a quiet machine), while the median pair ratio ignores
them. A team that really is slower (threads spinning at a barrier while a team-mate waits
for its core, the 7x of issue 10) is slower in nearly every pair, so the median shows it.
The ratio of totals is printed beside it. --threads 1 gives the A/A run (the noise floor);
--busy 0 measures without the busy loops; --busy 0 --against 2 compares the default with
the fixed two-thread team on an idle machine. The target: every ratio at most 1.2 beside as
many busy loops as cores.

usage: /usr/bin/python3 bench/load_bench.py [--lib build/lib/libember.so] [--busy N]
           [--pairs P] [--limit X] [--op LIST] [--threads N] [--against N] [--rows E]
           [--dim D] [--batch B] [--pooling L] [--dense B IN OUT]
Exits 1 when a ratio exceeds --limit (default 1.2).
"""
import argparse
import math
import os
import statistics
import subprocess
import sys
import time

import numpy as np


def import_ember(lib):
    """The ember package of this tree (python/) on the libember named by --lib."""
    os.environ["EMBER_LIBRARY"] = os.path.abspath(lib)
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
    import ember

    return ember


def ops_on(ember, ctx, a, data):
    """The timed ops on one context, each a function that runs the op once, synchronised."""
    E, D, B, P = a.rows, a.dim, a.batch, a.pooling
    N = B * P

    def up(arr):
        return ember.Buffer.from_numpy(ctx, arr)

    def empty(*shape):
        return ember.Buffer.empty(ctx, shape)

    tab, idx, off = up(data["table"]), up(data["idx"]), up(data["off"])
    out, nout, g, gtab = empty(B, D), empty(N, D), up(data["grad"]), empty(E, D)
    state = ember.Buffer.zeros(ctx, (E, D))
    db, di, do = a.dense
    x, w, bias, y = up(data["x"]), up(data["w"]), ember.Buffer.zeros(ctx, (do,)), empty(db, do)
    dy, dx, dw, dbias = up(data["dy"]), empty(db, di), empty(do, di), empty(do)
    n_head = B * D
    logits, labels = up(data["logits"]), up(data["labels"])
    probs, lgrad = empty(n_head), empty(n_head)
    pooled = ember.LookupDesc(E, D, N, B, ember.Pooling.SUM)
    plain = ember.LookupDesc(E, D, N, N)
    sgd = ember.Optimizer(ember.OptimizerKind.SGD, 0.01)
    adagrad = ember.Optimizer(ember.OptimizerKind.ADAGRAD, 0.01, eps=1e-10)
    atomic, relu = ember.Reduction.ATOMIC, ember.Activation.RELU

    def synced(op):
        def run():
            op()
            ctx.synchronize()
        return run

    return {name: synced(op) for name, op in {
        "lookup_sum": lambda: ember.embedding_lookup(ctx, pooled, tab, idx, off, None, out),
        "lookup_none": lambda: ember.embedding_lookup(ctx, plain, tab, idx, None, None, nout),
        "backward_dense": lambda: ember.embedding_backward_dense(ctx, pooled, idx, off, None, g,
                                                                 atomic, gtab),
        "update_sgd": lambda: ember.embedding_backward_update(ctx, pooled, idx, off, None, g,
                                                              atomic, sgd, tab, None),
        "update_adagrad": lambda: ember.embedding_backward_update(ctx, pooled, idx, off, None, g,
                                                                  atomic, adagrad, tab, state),
        "dense_fwd": lambda: ember.dense_forward(ctx, db, di, do, x, w, bias, relu, y),
        "dense_bwd": lambda: ember.dense_backward(ctx, db, di, do, x, w, y, dy, relu, dx, dw,
                                                  dbias),
        "sigmoid": lambda: ember.sigmoid(ctx, n_head, logits, probs),
        "bce": lambda: ember.bce_with_logits(ctx, n_head, logits, labels, lgrad),
    }.items()}


def timed_ms(fn):
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1e3


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lib", default=os.path.join(here, "..", "build", "lib", "libember.so"))
    ap.add_argument("--busy", type=int, default=len(os.sched_getaffinity(0)))
    ap.add_argument("--pairs", type=int, default=100, help="timed pairs per op (after 3 warm-up)")
    ap.add_argument("--limit", type=float, default=1.2)
    ap.add_argument("--op", default="", help="comma-separated ops to run (default: all)")
    ap.add_argument("--threads", type=int, default=0,
                    help="threads of the side set against one thread (default 0, ember's "
                         "default); 1 gives an A/A run, whose ratios show the noise floor")
    ap.add_argument("--against", type=int, default=1,
                    help="threads of the baseline side (default 1)")
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
    ember = import_ember(a.lib)
    ctx_a, ctx_b = ember.Context("cpu"), ember.Context("cpu")
    ops_a, ops_b = ops_on(ember, ctx_a, a, data), ops_on(ember, ctx_b, a, data)

    def roles(a_default):
        """Sets the threads of A and B; returns (ops of the default side, ops of the other)."""
        ctx_a.set_threads(a.threads if a_default else a.against)
        ctx_b.set_threads(a.against if a_default else a.threads)
        return (ops_a, ops_b) if a_default else (ops_b, ops_a)

    busy = [subprocess.Popen(["sh", "-c", "while :; do :; done"]) for _ in range(a.busy)]
    rows = []
    try:
        time.sleep(0.5)  # let the scheduler see the busy loops
        for op in [o for o in ops_a if not a.op or o in a.op.split(",")]:
            for _ in range(3):
                ops_a[op](), ops_b[op]()
            t0, t1, pair_ratios = [], [], {True: [], False: []}
            for k in range(a.pairs):
                a_default = (k // 2) % 2 == 0
                dflt, one = roles(a_default)
                if k % 2 == 0:
                    d, o = timed_ms(dflt[op]), timed_ms(one[op])
                else:
                    o, d = timed_ms(one[op]), timed_ms(dflt[op])
                t0.append(d), t1.append(o)
                pair_ratios[a_default].append(d / o)
            ratio = math.sqrt(statistics.median(pair_ratios[True]) *
                              statistics.median(pair_ratios[False]))
            rows.append((op, statistics.median(t0), statistics.median(t1), ratio,
                         sum(t0) / sum(t1)))
    finally:
        for p in busy:
            p.kill()
            p.wait()
        ops_a.clear(), ops_b.clear()  # the ops hold the buffers: free them before their contexts
        ctx_a.close()
        ctx_b.close()
    with open("/proc/loadavg") as f:
        load = " ".join(f.read().split()[:4])
    print(f"{a.busy} busy loops beside, {len(os.sched_getaffinity(0))} cores, {a.pairs} pairs "
          f"per op; /proc/loadavg after: {load}")
    print(f"E={a.rows} D={a.dim} B={a.batch} L={a.pooling}, dense {db}x{di}->{do}, "
          f"lib {os.path.realpath(a.lib)}")
    side = "default ms" if a.threads == 0 else f"{a.threads} thr ms"
    base = f"{a.against} thr ms"
    print(f"{'op':16s} {side:>11s} {base:>11s} {'ratio':>7s} {'totals':>7s}")
    for op, d, o, ratio, totals in rows:
        print(f"{op:16s} {d:11.3f} {o:11.3f} {ratio:7.2f} {totals:7.2f}"
              f"{'  > limit' if ratio > a.limit else ''}")
    worst = max(r[3] for r in rows)
    print(f"worst ratio {worst:.2f} (limit {a.limit})")
    return 1 if worst > a.limit else 0


if __name__ == "__main__":
    sys.exit(main())
