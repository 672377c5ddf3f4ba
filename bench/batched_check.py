#!/usr/bin/python3
"""batched_check.py: what the one-pass index check of a table-batched call saves, measured
as a training step with fresh indices would see it: every step uploads new indices for all
T tables, then runs the pooled forward, then (with --step) the fused backward + SGD.

Four variants alternate step by step in one process (ctypes on libember), so all share the
moment's load on a busy machine:
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
import ctypes
import os
import statistics
import time

import numpy as np

from ember_ctypes import LookupDesc, Optimizer  # bench/ember_ctypes.py

BACKENDS = {"cpu": 0, "cuda": 1, "opencl": 2}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--lib", default="build-test/lib/libember.so")
    p.add_argument("--backend", default="opencl", choices=sorted(BACKENDS))
    p.add_argument("--tables", type=int, default=32)
    p.add_argument("--rows", type=int, default=20000)
    p.add_argument("--dim", type=int, default=1)
    p.add_argument("--batch", type=int, default=512)
    p.add_argument("--pooling", type=int, default=20)
    p.add_argument("--steps", type=int, default=60)
    p.add_argument("--step", action="store_true", help="add the fused backward + SGD")
    p.add_argument("--threads", type=int, default=0, help="CPU backend threads (0: the idle cores)")
    a = p.parse_args()

    L = ctypes.CDLL(os.path.abspath(a.lib))
    VP, P = ctypes.c_void_p, ctypes.POINTER
    L.ember_context_create.argtypes = [P(VP), ctypes.c_int, ctypes.c_int]
    L.ember_context_last_error.argtypes = [VP]
    L.ember_context_last_error.restype = ctypes.c_char_p
    L.ember_last_error.restype = ctypes.c_char_p
    L.ember_context_synchronize.argtypes = [VP]
    L.ember_context_set_threads.argtypes = [VP, ctypes.c_int]
    L.ember_context_destroy.argtypes = [VP]
    L.ember_buffer_alloc.argtypes = [VP, ctypes.c_size_t, P(VP)]
    L.ember_buffer_upload.argtypes = [VP, VP, ctypes.c_size_t, VP, ctypes.c_size_t]
    L.ember_buffer_free.argtypes = [VP]
    L.ember_embedding_lookup.argtypes = [VP, P(LookupDesc), VP, VP, VP, VP, VP]
    L.ember_embedding_lookup_batched.argtypes = [VP, ctypes.c_int64, P(LookupDesc), P(VP), P(VP),
                                                 P(VP), VP, VP]
    L.ember_embedding_backward_update.argtypes = [VP, P(LookupDesc), VP, VP, VP, VP, ctypes.c_int,
                                                  P(Optimizer), VP, VP]
    L.ember_embedding_backward_update_batched.argtypes = [
        VP, ctypes.c_int64, P(LookupDesc), P(VP), P(VP), VP, VP, ctypes.c_int, P(Optimizer),
        P(VP), VP]

    ctx = VP()
    st = L.ember_context_create(ctypes.byref(ctx), BACKENDS[a.backend], -1 if a.backend == "opencl" else 0)
    if st:
        raise SystemExit("context: %s" % L.ember_last_error().decode())

    def ok(st, what):
        if st:
            raise SystemExit("%s: %s" % (what, L.ember_context_last_error(ctx).decode()))

    ok(L.ember_context_set_threads(ctx, a.threads), "set_threads")

    def alloc(nbytes, host=None):
        b = VP()
        ok(L.ember_buffer_alloc(ctx, nbytes, ctypes.byref(b)), "alloc")
        if host is not None:
            ok(L.ember_buffer_upload(ctx, b, 0, host.ctypes.data, host.nbytes), "upload")
        return b

    T, E, D, B, Lb = a.tables, a.rows, a.dim, a.batch, a.pooling
    N = B * Lb
    rng = np.random.default_rng(42)
    tables = [alloc(E * D * 4, rng.uniform(-0.1, 0.1, (E, D)).astype(np.float32))
              for _ in range(T)]
    offsets = alloc((B + 1) * 8, np.arange(0, N + 1, Lb, dtype=np.int64))
    idx = [alloc(N * 8) for _ in range(T)]
    out = alloc(B * T * D * 4)
    grad = alloc(B * T * D * 4, rng.uniform(-0.01, 0.01, (B, T * D)).astype(np.float32))
    descs = (LookupDesc * T)()
    for t in range(T):
        descs[t] = LookupDesc(E, D, N, B, 0, 1, -1, T * D, t * D, 0)
    arr = lambda bufs: (VP * T)(*[b.value for b in bufs])
    tables_a, idx_a, offs_a = arr(tables), arr(idx), arr([offsets] * T)
    sgd = Optimizer(0, 0.01, 1e-10, 0.9, 0.999, 0.0, 1)
    fresh = [rng.integers(0, E, size=(T, N), dtype=np.int64) for _ in range(4)]

    def upload(step):
        h = fresh[step % len(fresh)]
        for t in range(T):
            ok(L.ember_buffer_upload(ctx, idx[t], 0, h[t].ctypes.data, N * 8), "upload")

    def per_table(step):
        upload(step)
        for t in range(T):
            ok(L.ember_embedding_lookup(ctx, ctypes.byref(descs[t]), tables[t], idx[t], offsets,
                                        None, out), "lookup")
        if a.step:
            for t in range(T):
                ok(L.ember_embedding_backward_update(ctx, ctypes.byref(descs[t]), idx[t], offsets,
                                                     None, grad, 0, ctypes.byref(sgd), tables[t],
                                                     None), "backward_update")
        ok(L.ember_context_synchronize(ctx), "synchronize")

    def batched(step, fresh_indices=True):
        if fresh_indices:
            upload(step)
        ok(L.ember_embedding_lookup_batched(ctx, T, descs, tables_a, idx_a, offs_a, None, out),
           "lookup_batched")
        if a.step:
            ok(L.ember_embedding_backward_update_batched(ctx, T, descs, idx_a, offs_a, None, grad, 0,
                                                         ctypes.byref(sgd), tables_a, None),
               "backward_update_batched")
        ok(L.ember_context_synchronize(ctx), "synchronize")

    def upload_only(step):
        upload(step)
        ok(L.ember_context_synchronize(ctx), "synchronize")

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
    for b in tables + idx + [offsets, out, grad]:
        L.ember_buffer_free(b)
    L.ember_context_destroy(ctx)


if __name__ == "__main__":
    main()
