#!/usr/bin/python3
"""batched_check.py: what the one-pass index check of a table-batched call saves, measured
as a training step with fresh indices would see it: every step uploads new indices for all
T tables, then runs the pooled forward, then (with --step) the fused backward + SGD.

Four variants alternate step by step in one process (the ember package of python/ on the
libember named by --lib), so all share the moment's load on a busy machine:
  per-table  upload, T x ember_embedding_lookup (+ T x ember_embedding_backward_update):
             every call runs its own index check, one host round trip each on a device
  batched    upload, ember_embedding_lookup_batched (+ ..._backward_update_batched): all
             tables' indices checked together (one pass where the backend has
             check_indices_batched, else table by table)
  reused     batched without the upload: the CUDA backend remembers index buffers it has
             checked and not seen written, so there this is the step without any check
  upload     the uploads alone
Prints the median and the minimum milliseconds of each, per-table / batched (above 1:
batched faster) and, for CUDA, the check's share of the batched step, (batched - reused -
upload) / batched. On a loaded machine the minimum is the steadier figure. With --dim 1
the rows are tiny and the checks dominate.

Usage (from the repository root, after a build in build-test/):
    /usr/bin/python3 bench/batched_check.py --backend opencl
    /usr/bin/python3 bench/batched_check.py --backend cpu --dim 64 --step
"""
import argparse
import os
import statistics
import sys
import time

import numpy as np


def import_ember(lib):
    """The ember package of this tree (python/) on the libember named by --lib."""
    os.environ["EMBER_LIBRARY"] = os.path.abspath(lib)
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
    import ember

    return ember


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--lib", default="build-test/lib/libember.so")
    p.add_argument("--backend", default="opencl", choices=["cpu", "cuda", "opencl"])
    p.add_argument("--tables", type=int, default=32)
    p.add_argument("--rows", type=int, default=20000)
    p.add_argument("--dim", type=int, default=1)
    p.add_argument("--batch", type=int, default=512)
    p.add_argument("--pooling", type=int, default=20)
    p.add_argument("--steps", type=int, default=60)
    p.add_argument("--step", action="store_true", help="add the fused backward + SGD")
    p.add_argument("--threads", type=int, default=0, help="CPU backend threads (0: the idle cores)")
    a = p.parse_args()
    ember = import_ember(a.lib)

    ctx = ember.Context(a.backend, -1 if a.backend == "opencl" else 0, threads=a.threads)
    T, E, D, B, Lb = a.tables, a.rows, a.dim, a.batch, a.pooling
    N = B * Lb
    rng = np.random.default_rng(42)
    tables = [ember.Buffer.from_numpy(ctx, rng.uniform(-0.1, 0.1, (E, D)).astype(np.float32))
              for _ in range(T)]
    offsets = ember.Buffer.from_numpy(ctx, np.arange(0, N + 1, Lb, dtype=np.int64))
    idx = [ember.Buffer.empty(ctx, N, np.int64) for _ in range(T)]
    out = ember.Buffer.empty(ctx, (B, T * D))
    grad = ember.Buffer.from_numpy(ctx, rng.uniform(-0.01, 0.01, (B, T * D)).astype(np.float32))
    descs = [ember.LookupDesc(E, D, N, B, ember.Pooling.SUM, out_row_stride=T * D,
                              out_col_offset=t * D) for t in range(T)]
    # the batched calls' C arguments, built once as a training loop would
    descs_a, tables_a = ember.desc_array(descs), ember.buffer_array(tables)
    idx_a, offs_a = ember.buffer_array(idx), ember.buffer_array([offsets] * T)
    sgd = ember.Optimizer(ember.OptimizerKind.SGD, 0.01)
    atomic = ember.Reduction.ATOMIC
    fresh = [rng.integers(0, E, size=(T, N), dtype=np.int64) for _ in range(4)]

    def upload(step):
        h = fresh[step % len(fresh)]
        for t in range(T):
            idx[t].upload(h[t])

    def per_table(step):
        upload(step)
        for t in range(T):
            ember.embedding_lookup(ctx, descs[t], tables[t], idx[t], offsets, None, out)
        if a.step:
            for t in range(T):
                ember.embedding_backward_update(ctx, descs[t], idx[t], offsets, None, grad,
                                                atomic, sgd, tables[t], None)
        ctx.synchronize()

    def batched(step, fresh_indices=True):
        if fresh_indices:
            upload(step)
        ember.embedding_lookup_batched(ctx, descs_a, tables_a, idx_a, offs_a, None, out)
        if a.step:
            ember.embedding_backward_update_batched(ctx, descs_a, idx_a, offs_a, None, grad,
                                                    atomic, sgd, tables_a, None)
        ctx.synchronize()

    def upload_only(step):
        upload(step)
        ctx.synchronize()

    variants = (("per-table", per_table), ("batched", batched),
                ("reused", lambda step: batched(step, False)), ("upload", upload_only))
    times = {name: [] for name, _ in variants}
    for step in range(a.steps + 3):
        for name, fn in variants:
            t0 = time.perf_counter()
            fn(step)
            if step >= 3:  # warm-up
                times[name].append((time.perf_counter() - t0) * 1e3)
    med = {k: statistics.median(v) for k, v in times.items()}
    best = {k: min(v) for k, v in times.items()}
    print("%s T=%d E=%d D=%d B=%d L=%d %s, threads %d, %d steps, load %.1f"
          % (a.backend, T, E, D, B, Lb, "lookup+update" if a.step else "lookup", a.threads,
             a.steps, os.getloadavg()[0]))
    for name, _ in variants:
        print("  %-10s median %9.3f ms   min %9.3f ms" % (name, med[name], best[name]))
    ratios = [x / y for x, y in zip(times["per-table"], times["batched"])]
    print("  per-table / batched: %.2f (medians), %.2f (mins), %.2f (median of step ratios)"
          % (med["per-table"] / med["batched"], best["per-table"] / best["batched"],
             statistics.median(ratios)))
    if a.backend == "cuda":
        share = (med["batched"] - med["reused"] - med["upload"]) / med["batched"]
        print("  index check share of the batched step: %.1f%% (medians)" % (100 * share))


if __name__ == "__main__":
    main()
