#!/usr/bin/python3
"""compare_torch.py: runs the same shapes through PyTorch's CPU EmbeddingBag / Linear and
through `ember bench --json` in one invocation, and prints both side by side with ratios.

Kernels (default): forward (EmbeddingBag mode=sum), plain lookup (F.embedding),
forward + sparse backward + SGD step, dense Linear forward and backward, and a STREAM-style
copy through numpy and torch. Every figure is a median over repetitions after warm-up;
with --rounds N the ember and PyTorch measurements alternate N times and the table quotes
the median over rounds (the machine is shared, so single runs are noisy).

Byte counts follow `ember bench --help` (rows read plus written, a row = D*4 bytes), so a
GB/s here means the same as in ember's output.

Usage (from the repository root):
    bench/compare_torch.py                         # E=1e6 D=64 B=4096 L=20 T=1 uniform
    bench/compare_torch.py --index-law zipf --rounds 5
    bench/compare_torch.py --json                  # one JSON line with everything
    bench/compare_torch.py --interleave            # ember via ctypes, call by call with torch
    bench/compare_torch.py --model widedeep        # the Wide&Deep training benchmark
    bench/compare_torch.py --train                 # training loops: ember.torch vs torch.optim
Runs under Debian's python3-torch (/usr/bin/python3). torch starts with one thread there:
--threads (default 2) sets torch.set_num_threads and ember's --threads alike.
"""
import argparse
import ctypes
import json
import math
import os
import statistics
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

F32 = 4


def now():
    return time.perf_counter()


def median_ms(fn, reps, warmup=3, budget_s=3.0):
    """Median wall time of fn() in ms over reps calls after warm-up (fewer when slow)."""
    for _ in range(warmup):
        fn()
    times = []
    t_start = now()
    for _ in range(reps):
        t0 = now()
        fn()
        times.append((now() - t0) * 1e3)
        if len(times) >= 5 and now() - t_start > budget_s:
            break
    return statistics.median(times)


def openblas_core():
    """The core type of the OpenBLAS this process (and torch) loaded, if it is OpenBLAS."""
    for name in ("libopenblas.so.0", "libopenblas.so", "libblas.so.3"):
        try:
            lib = ctypes.CDLL(name)
            f = lib.openblas_get_corename
            f.restype = ctypes.c_char_p
            return f().decode()
        except (OSError, AttributeError):
            continue
    return "unknown"


def make_indices(n, rows, dist, alpha, rng):
    """Uniform rows, or Zipf(alpha) ranks over 1..rows scattered by (a*r + b) mod rows, as
    ember bench does (not the same values: the same distribution)."""
    if dist == "uniform":
        return rng.integers(0, rows, size=n, dtype=np.int64)
    ranks = np.arange(1, rows + 1, dtype=np.float64)
    cdf = np.cumsum(ranks ** -alpha)
    cdf /= cdf[-1]
    r = np.searchsorted(cdf, rng.random(n), side="right").astype(np.int64)
    r = np.minimum(r, rows - 1)
    a = 2654435761 % rows or 1
    while math.gcd(a, rows) != 1:
        a += 1
    b = int(rng.integers(0, rows))
    return (a * r + b) % rows


def stream_copy(threads, mib=128, reps=11):
    n = mib * (1 << 20) // F32
    out = {}
    a = np.ones(n, dtype=np.float32)
    b = np.zeros(n, dtype=np.float32)
    t = []
    for _ in range(reps):
        t0 = now()
        np.copyto(b, a)
        t.append(now() - t0)
    out["numpy_copy_gbps"] = 2 * n * F32 / statistics.median(t[1:]) / 1e9
    ta = torch.ones(n)
    tb = torch.zeros(n)
    t = []
    for _ in range(reps):
        t0 = now()
        tb.copy_(ta)
        t.append(now() - t0)
    out["torch_copy_gbps"] = 2 * n * F32 / statistics.median(t[1:]) / 1e9
    return out


def emit_json(a, out):
    """Writes `out` to --json-out when asked; prints it and returns True with --json."""
    line = json.dumps(out, separators=(",", ":"))
    if a.json_out:
        with open(a.json_out, "w") as f:
            f.write(line + "\n")
    if a.json:
        print(line)
    return a.json


def torch_kernels(a, reps):
    """PyTorch's figures for the kernel shapes: dict op -> {median_ms, bytes?, rows?}."""
    T, E, D, B, L = a.tables, a.rows, a.dim, a.batch, a.pooling
    N = B * L
    rng = np.random.default_rng(a.seed)
    res = {}
    idx, uniq = [], 0
    for _ in range(T):
        i = make_indices(N, E, a.index_law, a.alpha, rng)
        uniq += len(np.unique(i))
        idx.append(torch.from_numpy(i))
    offsets = torch.arange(0, N + 1, L, dtype=torch.int64)[:-1]  # B starts (include_last_offset=False)
    NT = N * T
    bags = [torch.nn.EmbeddingBag(E, D, mode="sum", sparse=True) for _ in range(T)]
    with torch.no_grad():
        for bag in bags:
            bag.weight.uniform_(-0.1, 0.1)
    grad = torch.empty(B, D).uniform_(-0.01, 0.01)

    def fwd():
        with torch.no_grad():
            for t in range(T):
                bags[t](idx[t], offsets)

    res["lookup_sum"] = {"median_ms": median_ms(fwd, reps), "bytes": (NT + B * T) * D * F32,
                         "rows": NT}

    def plain():
        with torch.no_grad():
            for t in range(T):
                F.embedding(idx[t], bags[t].weight)

    res["lookup_none"] = {"median_ms": median_ms(plain, reps), "bytes": 2 * NT * D * F32,
                          "rows": NT}

    opt = torch.optim.SGD([b.weight for b in bags], lr=0.01)

    def step():
        for t in range(T):
            bags[t](idx[t], offsets).backward(grad)
        opt.step()
        opt.zero_grad(set_to_none=True)

    res["step_sgd"] = {"median_ms": median_ms(step, reps),
                       "bytes": (NT + B * T) * D * F32 + B * T * D * F32 + 2 * uniq * D * F32,
                       "rows": NT}

    # Dense layer: y = relu(x W^T + b) and its backward (dx, dW, db), the ops autograd runs
    # for nn.Linear + ReLU, written out so forward and backward are timed separately.
    din, dout = a.dense_in, a.dense_out
    lin = torch.nn.Linear(din, dout)
    x = torch.empty(B, din).uniform_(-1, 1)
    dy0 = torch.empty(B, dout).uniform_(-0.01, 0.01)
    with torch.no_grad():
        y = torch.relu(F.linear(x, lin.weight, lin.bias))

        def dense_fwd():
            torch.relu(F.linear(x, lin.weight, lin.bias))

        def dense_bwd():
            dy = dy0 * (y > 0)
            torch.mm(dy, lin.weight)       # dx
            torch.mm(dy.t(), x)            # dW
            dy.sum(0)                      # db

        res["dense_fwd"] = {"median_ms": median_ms(dense_fwd, reps),
                            "flops": 2.0 * B * din * dout}
        res["dense_bwd"] = {"median_ms": median_ms(dense_bwd, reps),
                            "flops": 4.0 * B * din * dout}
    res["_unique_rows"] = uniq
    return res


def run_ember(a, extra):
    cmd = [a.ember, "bench", "--json", "--backend", a.backend, "--threads", str(a.threads),
           "--reps", str(a.reps)] + extra
    t0 = now()
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0 and not p.stdout.strip():
        sys.exit("compare_torch: %s failed (%d): %s" % (" ".join(cmd), p.returncode,
                                                        p.stderr.strip()))
    line = p.stdout.strip().splitlines()[-1]
    return json.loads(line), " ".join(cmd), now() - t0


def kernels(a):
    torch.set_num_threads(a.threads)
    shape = ["--tables", str(a.tables), "--rows", str(a.rows), "--dim", str(a.dim),
             "--batch", str(a.batch), "--pooling", str(a.pooling), "--index-law", a.index_law,
             "--alpha", str(a.alpha), "--dense-in", str(a.dense_in),
             "--dense-out", str(a.dense_out)]
    ops = ["lookup_sum", "lookup_none", "step_sgd", "dense_fwd", "dense_bwd"]
    rounds = []
    ember_cmd = None
    for _ in range(a.rounds):
        e, ember_cmd, _ = run_ember(a, shape + ["--op", ",".join(ops)])
        t = torch_kernels(a, a.reps)
        s = stream_copy(a.threads)
        rounds.append((e, t, s))

    def med(vals):
        vals = [v for v in vals if v is not None]
        return statistics.median(vals) if vals else None

    table = {}
    for op in ops:
        em = med([r[0]["run"]["ops"].get(op, {}).get("median_ms") for r in rounds])
        tm = med([r[1][op]["median_ms"] for r in rounds])
        # The ratio per round, then its median: both sides of a ratio share the round's load.
        ratio = med([r[1][op]["median_ms"] / r[0]["run"]["ops"][op]["median_ms"]
                     for r in rounds if "median_ms" in r[0]["run"]["ops"].get(op, {})])
        row = {"ember_ms": em, "torch_ms": tm, "torch_over_ember": ratio}
        eb = rounds[0][0]["run"]["ops"].get(op, {}).get("bytes")
        if eb:
            row["ember_gbps"] = eb / (em * 1e6) if em else None
            row["torch_gbps"] = rounds[0][1][op]["bytes"] / (tm * 1e6)
        fl = rounds[0][1][op].get("flops")
        if fl:
            row["ember_gflops"] = fl / (em * 1e6) if em else None
            row["torch_gflops"] = fl / (tm * 1e6)
            row["ember_sgemm_ms"] = med([r[0]["run"]["ops"][op].get("sgemm_ms")
                                         for r in rounds if op in r[0]["run"]["ops"]])
        table[op] = row
    def ember_med(op, key):
        return med([r[0]["run"]["ops"].get(op, {}).get(key) for r in rounds])

    # Issue 2's targets on its shape, from this invocation's medians.
    targets = [
        ("pooled lookup fwd >= 0.8 x host copy", ember_med("lookup_sum", "x_copy"), 0.8, True),
        ("pooled lookup fwd >= 1.2 x PyTorch", table["lookup_sum"]["torch_over_ember"], 1.2, True),
        ("fwd+bwd+SGD (fused) >= 5 x PyTorch sparse", table["step_sgd"]["torch_over_ember"], 5.0,
         True),
        ("dense fwd time <= 1.10 x direct SGEMM", ember_med("dense_fwd", "time_vs_sgemm"), 1.10,
         False),
        ("dense bwd time <= 1.10 x direct SGEMM", ember_med("dense_bwd", "time_vs_sgemm"), 1.10,
         False),
    ]
    target_rows = [{"target": n, "value": v, "met": (v is not None and
                                                     (v >= lim if up else v <= lim))}
                   for n, v, lim, up in targets]
    out = {
        "targets": target_rows,
        "shape": rounds[0][0]["shape"],
        "ember_command": ember_cmd,
        "rounds": a.rounds,
        "threads": a.threads,
        "loadavg": os.getloadavg(),
        "torch_version": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "openblas_core_torch": openblas_core(),
        "openblas_core_ember": rounds[0][0]["openblas_core"],
        "ember_host_copy_gbps": med([r[0]["host_copy_gbps"] for r in rounds]),
        "numpy_copy_gbps": med([r[2]["numpy_copy_gbps"] for r in rounds]),
        "torch_copy_gbps": med([r[2]["torch_copy_gbps"] for r in rounds]),
        "ops": table,
        "per_round": [{op: {"ember_ms": r[0]["run"]["ops"].get(op, {}).get("median_ms"),
                            "torch_ms": r[1][op]["median_ms"]} for op in ops}
                      for r in rounds],
    }
    if emit_json(a, out):
        return
    sh = out["shape"]
    print("compare_torch: T=%d E=%d D=%d B=%d L=%d %s; dense %dx%d->%d; %d threads; %d round(s)"
          % (sh["tables"], sh["rows"], sh["dim"], sh["batch"], sh["pooling"], sh["dist"],
             sh["batch"], sh["dense_in"], sh["dense_out"], a.threads, a.rounds))
    print("ember: %s" % ember_cmd)
    print("torch %s (threads %d); OpenBLAS core: torch %s, ember %s"
          % (torch.__version__, torch.get_num_threads(), out["openblas_core_torch"],
             out["openblas_core_ember"]))
    print("copy bandwidth (read+write): ember host copy %.1f GB/s, numpy copyto %.1f GB/s, "
          "torch copy_ %.1f GB/s\n" % (out["ember_host_copy_gbps"], out["numpy_copy_gbps"],
                                      out["torch_copy_gbps"]))
    print("%-12s %10s %10s %12s %10s %10s  %s" % ("op", "ember_ms", "torch_ms", "torch/ember",
                                                   "ember_GB/s", "torch_GB/s", "notes"))
    for op, r in table.items():
        def f(v, fmt):
            return fmt % v if v is not None else "-"
        note = ""
        if "ember_gflops" in r:
            note = "GFLOP/s ember %s torch %s; direct SGEMM %s ms" % (
                f(r["ember_gflops"], "%.0f"), f(r["torch_gflops"], "%.0f"),
                f(r["ember_sgemm_ms"], "%.3f"))
        print("%-12s %10s %10s %12s %10s %10s  %s" % (
            op, f(r["ember_ms"], "%.3f"), f(r["torch_ms"], "%.3f"),
            f(r["torch_over_ember"], "%.2fx"), f(r.get("ember_gbps"), "%.1f"),
            f(r.get("torch_gbps"), "%.1f"), note))
    print("\ntorch/ember = PyTorch time / ember time (above 1: ember is faster); medians of "
          "per-round medians.")
    print("\ntargets (issue 2; meaningful on its default shape):")
    for t in target_rows:
        v = t["value"]
        print("  %-44s %8s  %s" % (t["target"], "%.2f" % v if v is not None else "-",
                                   "met" if t["met"] else "NOT met"))


# ---------------------------------------------------------------------------------------
# Interleaved: ember (through ctypes on libember) and PyTorch call by call in one process,
# so both sides of every ratio share the same moment's load on a busy machine.
# ---------------------------------------------------------------------------------------
def import_ember(a):
    """The ember Python package (python/ of this tree) on the libember beside a.ember."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    lib = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(a.ember))), "lib",
                       "libember.so")
    os.environ.setdefault("EMBER_LIBRARY", lib)
    sys.path.insert(0, os.path.join(root, "python"))
    import ember
    import ember.torch

    return ember, os.environ["EMBER_LIBRARY"]


def interleaved(a):
    torch.set_num_threads(a.threads)
    ember, lib = import_ember(a)
    ctx = ember.Context("cpu", threads=a.threads)
    E, D, B, L = a.rows, a.dim, a.batch, a.pooling
    N = B * L
    rng = np.random.default_rng(a.seed)
    idx = make_indices(N, E, a.index_law, a.alpha, rng)
    uniq = len(np.unique(idx))
    w0 = rng.uniform(-0.1, 0.1, size=(E, D)).astype(np.float32)
    grad = rng.uniform(-0.01, 0.01, size=(B, D)).astype(np.float32)
    offs = np.arange(0, N + 1, L, dtype=np.int64)
    # ember side
    def up(arr):
        return ember.Buffer.from_numpy(ctx, arr)

    e_tab, e_idx, e_off = up(w0), up(idx), up(offs)
    e_out, e_grad = ember.Buffer.empty(ctx, (B, D)), up(grad)
    desc = ember.LookupDesc(E, D, N, B, ember.Pooling.SUM)
    sgd = ember.Optimizer(ember.OptimizerKind.SGD, 0.01)

    def e_fwd():
        ember.embedding_lookup(ctx, desc, e_tab, e_idx, e_off, None, e_out)
        ctx.synchronize()

    e_nout = ember.Buffer.empty(ctx, (N, D))
    desc_none = ember.LookupDesc(E, D, N, N)

    def e_plain():
        ember.embedding_lookup(ctx, desc_none, e_tab, e_idx, None, None, e_nout)
        ctx.synchronize()

    def e_step():
        ember.embedding_lookup(ctx, desc, e_tab, e_idx, e_off, None, e_out)
        ember.embedding_backward_update(ctx, desc, e_idx, e_off, None, e_grad,
                                        ember.Reduction.ATOMIC, sgd, e_tab, None)
        ctx.synchronize()

    din, dout = a.dense_in, a.dense_out
    x = rng.uniform(-1, 1, size=(B, din)).astype(np.float32)
    w = (rng.uniform(-1, 1, size=(dout, din)) / math.sqrt(din)).astype(np.float32)
    bias = rng.uniform(-0.1, 0.1, size=dout).astype(np.float32)
    dy0 = rng.uniform(-0.01, 0.01, size=(B, dout)).astype(np.float32)
    e_x, e_w, e_b = up(x), up(w), up(bias)
    e_y, e_dy = ember.Buffer.empty(ctx, (B, dout)), up(dy0)
    e_dx, e_dw = ember.Buffer.empty(ctx, (B, din)), ember.Buffer.empty(ctx, w.shape)
    e_db = ember.Buffer.empty(ctx, dout)
    relu = ember.Activation.RELU

    def e_dfwd():
        ember.dense_forward(ctx, B, din, dout, e_x, e_w, e_b, relu, e_y)

    def e_dbwd():
        ember.dense_backward(ctx, B, din, dout, e_x, e_w, e_y, e_dy, relu, e_dx, e_dw, e_db)

    # torch side
    bag = torch.nn.EmbeddingBag(E, D, mode="sum", sparse=True)
    with torch.no_grad():
        bag.weight.copy_(torch.from_numpy(w0))
    t_idx, t_off, t_grad = torch.from_numpy(idx), torch.from_numpy(offs[:-1]), torch.from_numpy(grad)
    opt = torch.optim.SGD([bag.weight], lr=0.01)

    def t_fwd():
        with torch.no_grad():
            bag(t_idx, t_off)

    def t_plain():
        with torch.no_grad():
            F.embedding(t_idx, bag.weight)

    def t_step():
        bag(t_idx, t_off).backward(t_grad)
        opt.step()
        opt.zero_grad(set_to_none=True)

    tx, tw, tb = torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(bias)
    ty = torch.relu(F.linear(tx, tw, tb))
    tdy = torch.from_numpy(dy0)

    # PyTorch calls the same libopenblas, which ember's CPU backend keeps at one thread (it
    # splits GEMMs over its own OpenMP team): give torch back its threads before each call.
    try:
        openblas = ctypes.CDLL("libopenblas.so.0")
    except OSError:
        openblas = None

    def torch_blas_threads():
        if openblas is not None:
            openblas.openblas_set_num_threads(a.threads)

    def t_dfwd():
        torch_blas_threads()
        torch.relu(F.linear(tx, tw, tb))

    def t_dbwd():
        torch_blas_threads()
        dy = tdy * (ty > 0)
        torch.mm(dy, tw)
        torch.mm(dy.t(), tx)
        dy.sum(0)

    pairs = [(name, lambda _, f=ef: f(), lambda _, f=tf: f()) for name, ef, tf in (
        ("lookup_sum", e_fwd, t_fwd), ("lookup_none", e_plain, t_plain),
        ("step_sgd", e_step, t_step), ("dense_fwd", e_dfwd, t_dfwd),
        ("dense_bwd", e_dbwd, t_dbwd))]
    res = {}
    for name, (te, tt, rat, n) in interleave_pairs(pairs, a.reps * a.rounds, 6.0).items():
        res[name] = {"ember_ms": te * 1e3, "torch_ms": tt * 1e3, "torch_over_ember": rat,
                     "pairs": n}
    res["lookup_sum"]["bytes"] = (N + B) * D * F32
    res["lookup_none"]["bytes"] = 2 * N * D * F32
    res["step_sgd"]["bytes"] = (N + B) * D * F32 + B * D * F32 + 2 * uniq * D * F32
    out = {"mode": "interleaved", "library": lib, "threads": a.threads,
           "shape": {"rows": E, "dim": D, "batch": B, "pooling": L, "dist": a.index_law,
                     "dense_in": din, "dense_out": dout}, "ops": res,
           "openblas_core": openblas_core(), "loadavg": os.getloadavg()}
    if emit_json(a, out):
        return
    print("compare_torch --interleave: ember (%s, python/ember) and torch %s alternate call by call; "
          "E=%d D=%d B=%d L=%d %s, dense %dx%d->%d, %d threads, OpenBLAS core %s"
          % (lib, torch.__version__, E, D, B, L, a.index_law, B, din, dout, a.threads,
             out["openblas_core"]))
    print("%-12s %10s %10s %12s %10s %10s %6s" % ("op", "ember_ms", "torch_ms", "torch/ember",
                                                  "ember_GB/s", "torch_GB/s", "pairs"))
    for op, r in res.items():
        gb = r.get("bytes")
        print("%-12s %10.3f %10.3f %11.2fx %10s %10s %6d" % (
            op, r["ember_ms"], r["torch_ms"], r["torch_over_ember"],
            "%.1f" % (gb / (r["ember_ms"] * 1e6)) if gb else "-",
            "%.1f" % (gb / (r["torch_ms"] * 1e6)) if gb else "-", r["pairs"]))
    print("torch/ember: median over pairs of the per-pair time ratio (above 1: ember faster).")


# ---------------------------------------------------------------------------------------
# Training loop: the same PyTorch loop with ember's fused table-batched module (python/ember)
# and with nn.EmbeddingBag(sparse=True) + torch.optim, iteration by iteration in one process.
# ---------------------------------------------------------------------------------------
def interleave_pairs(pairs, reps, budget_s):
    """For each (name, f1, f2): 2 warm-up pairs, then f1(k) and f2(k) alternately up to reps
    times (at least 5 pairs, then until budget_s). name -> (median f1 s, median f2 s,
    median of the per-pair ratio f2/f1, pairs)."""
    out = {}
    for name, f1, f2 in pairs:
        for k in range(2):
            f1(k)
            f2(k)
        t1s, t2s, rat = [], [], []
        t_start = now()
        for k in range(reps):
            t0 = now()
            f1(k)
            t1 = now()
            f2(k)
            t2 = now()
            t1s.append(t1 - t0)
            t2s.append(t2 - t1)
            rat.append((t2 - t1) / (t1 - t0))
            if k >= 4 and now() - t_start > budget_s:
                break
        out[name] = (statistics.median(t1s), statistics.median(t2s), statistics.median(rat),
                     len(t1s))
    return out


def train_config(a, ember, T, kind, batches):
    """One configuration of training_loop: T tables, optimizer `kind`."""
    E, D, B = a.rows, a.dim, a.batch
    w0 = [torch.empty(E, D).uniform_(-0.01, 0.01) for _ in range(T)]
    tbe = ember.torch.TableBatchedEmbeddingBags([(E, D)] * T, optimizer=kind, lr=0.01,
                                                reduction="atomic", weights=w0)
    tbe.ctx.set_threads(a.threads)
    bags = [torch.nn.EmbeddingBag(E, D, mode="sum", sparse=True, _weight=w) for w in w0]
    del w0
    t_opt = (torch.optim.SGD if kind == "sgd" else torch.optim.Adagrad)(
        [b.weight for b in bags], lr=0.01)
    heads = [torch.nn.Linear(T * D, 1) for _ in range(2)]
    heads[1].load_state_dict(heads[0].state_dict())
    h_opts = [torch.optim.SGD(h.parameters(), lr=0.01) for h in heads]
    bce = torch.nn.BCEWithLogitsLoss()

    parts = {"zero_grad": [], "module_forward": [], "head_loss_forward": [], "backward": [],
             "head_step": []}  # ember's iteration piece by piece (backward: ember's update too)

    def e_iter(k):
        idx, offs, y, _ = batches[k % len(batches)]
        t0 = now()
        h_opts[0].zero_grad(set_to_none=True)
        t1 = now()
        out = tbe(idx, offs)
        t2 = now()
        loss = bce(heads[0](out).squeeze(1), y)
        t3 = now()
        loss.backward()
        t4 = now()
        h_opts[0].step()
        for name, dt in zip(parts, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, now() - t4)):
            parts[name].append(dt)

    def t_iter(k):
        _, _, y, per_table = batches[k % len(batches)]
        h_opts[1].zero_grad(set_to_none=True)
        t_opt.zero_grad(set_to_none=True)
        out = torch.cat([bag(i, o) for bag, (i, o) in zip(bags, per_table)], 1)
        bce(heads[1](out).squeeze(1), y).backward()
        h_opts[1].step()
        t_opt.step()

    # The parts of each loop, on the same cycled batches: ember's two C calls on ready
    # arguments against PyTorch's embedding part (EmbeddingBag forward, backward, optimizer
    # step), both given the same output gradient g; the module's forward + backward against
    # those two C calls (the Python overhead); and the shared head alone.
    g = torch.full((B, T * D), 1e-4)
    e_g = ember.Buffer.from_torch(tbe.ctx, g)
    calls = [tbe._split(idx, offs, None) for idx, offs, _, _ in batches]

    def c_iter(k):  # the output a new tensor each call, as the module's (first writes alike)
        call = calls[k % len(calls)]
        e_out = ember.Buffer.wrap_torch(tbe.ctx, torch.empty(B, T * D))
        ember.embedding_lookup_batched(tbe.ctx, call.descs, tbe._table_array,
                                       call.indices_array, call.offsets_array, None, e_out)
        ember.embedding_backward_update_batched(
            tbe.ctx, call.descs, call.indices_array, call.offsets_array, None, e_g,
            tbe.reduction, tbe.optimizer, tbe._table_array, tbe._state_array)

    def t_ops(k):
        _, _, _, per_table = batches[k % len(batches)]
        t_opt.zero_grad(set_to_none=True)
        torch.cat([bag(i, o) for bag, (i, o) in zip(bags, per_table)], 1).backward(g)
        t_opt.step()

    def m_iter(k):
        idx, offs, _, _ = batches[k % len(batches)]
        tbe(idx, offs).backward(g)

    x = torch.zeros(B, T * D, requires_grad=True)

    def head():
        h_opts[0].zero_grad(set_to_none=True)
        bce(heads[0](x).squeeze(1), batches[0][2]).backward()
        h_opts[0].step()

    r = interleave_pairs([("loop", e_iter, t_iter), ("ops", c_iter, t_ops),
                          ("overhead", c_iter, m_iter)], a.reps, a.train_budget)
    (e_s, t_s, ratio, n), (c_s, to_s, ops_ratio, _), (c2_s, m_s, ovh, n2) = (
        r["loop"], r["ops"], r["overhead"])
    return {"tables": T, "optimizer": kind, "pairs": n,
            "ember_samples_per_s": B / e_s, "torch_samples_per_s": B / t_s,
            "ember_over_torch": ratio, "ember_ms": e_s * 1e3, "torch_ms": t_s * 1e3,
            "ember_ops_ms": c_s * 1e3, "torch_ops_ms": to_s * 1e3, "ops_ratio": ops_ratio,
            "head_ms": median_ms(head, 50, budget_s=2.0),
            "ember_parts_ms": {k: statistics.median(v) * 1e3 for k, v in parts.items()},
            "module_ms": m_s * 1e3, "c_calls_ms": c2_s * 1e3, "python_overhead": ovh - 1.0,
            "overhead_pairs": n2}


def training_loop(a):
    """T tables of E x D, B bags of L uniform indices each; a Linear(T*D -> 1) head and BCE
    loss on both sides (the head steps with torch.optim.SGD on both). ember's tables take
    its fused SGD / Adagrad in backward; PyTorch's take the torch.optim of the same name.
    Also the parts of each loop (see train_config): the embedding ops alone on each side,
    the Python overhead of the module (its forward + backward against the two C calls it
    makes, lookup_batched and backward_update_batched, made directly on ready arguments)
    and the shared head alone."""
    load_before = os.getloadavg()
    torch.set_num_threads(a.threads)
    ember, lib = import_ember(a)
    E, D, B, L = a.rows, a.dim, a.batch, a.pooling
    rng = np.random.default_rng(a.seed)
    res = {}
    for T in a.train_tables:
        N = B * L
        batches = []
        for _ in range(a.train_batches):
            idx = torch.from_numpy(rng.integers(0, E, size=T * N, dtype=np.int64))
            offs = torch.arange(0, T * N + 1, L, dtype=torch.int64)
            y = torch.from_numpy((rng.random(B) < 0.3).astype(np.float32))
            per_table = [(idx[t * N:(t + 1) * N], offs[:B]) for t in range(T)]
            batches.append((idx, offs, y, per_table))
        for kind in ("sgd", "adagrad"):
            res[f"T{T}_{kind}"] = train_config(a, ember, T, kind, batches)
    out = {"mode": "training_loop", "library": lib, "threads": a.threads,
           "torch": torch.__version__,
           "shape": {"rows_per_table": E, "dim": D, "batch": B, "pooling": L},
           "configs": res, "loadavg_before": load_before, "loadavg": os.getloadavg()}
    if emit_json(a, out):
        return
    print("compare_torch --train: the PyTorch loop with ember.torch.TableBatchedEmbeddingBags "
          "(fused update) and with nn.EmbeddingBag(sparse=True) + torch.optim, alternating "
          "iteration by iteration; E=%d per table, D=%d B=%d L=%d, %d threads, torch %s"
          % (E, D, B, L, a.threads, torch.__version__))
    print("%-11s %12s %12s %8s | %8s %8s %7s | %7s | %9s %8s %7s" % (
        "config", "ember_samp/s", "torch_samp/s", "ratio", "e_ops_ms", "t_ops_ms", "ops",
        "head_ms", "module_ms", "c_ms", "py_ovh"))
    for name, r in res.items():
        print("%-11s %12.0f %12.0f %7.2fx | %8.2f %8.2f %6.2fx | %7.2f | %9.2f %8.2f %6.1f%%" % (
            name, r["ember_samples_per_s"], r["torch_samples_per_s"], r["ember_over_torch"],
            r["ember_ops_ms"], r["torch_ops_ms"], r["ops_ratio"], r["head_ms"],
            r["module_ms"], r["c_calls_ms"], 100 * r["python_overhead"]))
        print("%-11s ember's iteration: %s ms" % ("", ", ".join(
            "%s %.2f" % (k, v) for k, v in r["ember_parts_ms"].items())))
    print("ratio: the loops, median over pairs of the per-pair time ratio (torch/ember); ops: "
          "the embedding part alone (ember's two C calls against EmbeddingBag forward + "
          "backward + torch.optim step); head_ms: the shared Linear + BCE + SGD step alone; "
          "py_ovh: the module's forward + backward over the two C calls, minus one. "
          "loadavg before %.2f, after %.2f" % (load_before[0], os.getloadavg()[0]))


# ---------------------------------------------------------------------------------------
# Wide&Deep: the Criteo-shaped model of `ember bench --model widedeep`, in PyTorch.
# ---------------------------------------------------------------------------------------
class WideDeep(torch.nn.Module):
    def __init__(self, fields, buckets, dim, numeric, hidden):
        super().__init__()
        self.wide = torch.nn.ModuleList(
            [torch.nn.Embedding(buckets, 1, sparse=True) for _ in range(fields)])
        self.deep = torch.nn.ModuleList(
            [torch.nn.Embedding(buckets, dim, sparse=True) for _ in range(fields)])
        layers, n = [], fields * dim + numeric
        for h in hidden:
            layers += [torch.nn.Linear(n, h), torch.nn.ReLU()]
            n = h
        self.mlp = torch.nn.Sequential(*layers)
        self.head = torch.nn.Linear(n, 1)  # deep part of the joint sigmoid unit (+ bias)
        with torch.no_grad():
            for e in list(self.wide) + list(self.deep):
                e.weight.uniform_(-0.01, 0.01)

    def forward(self, ids, num):
        wide = sum(self.wide[f](ids[:, f]) for f in range(ids.shape[1]))
        deep = torch.cat([self.deep[f](ids[:, f]) for f in range(ids.shape[1])] + [num], 1)
        return (self.head(self.mlp(deep)) + wide).squeeze(1)


def widedeep(a):
    torch.set_num_threads(a.threads)
    fields, buckets, dim, numeric, hidden, batch = 26, 100000, 16, 13, [400, 400, 400], 2048
    cmd = [a.ember, "bench", "--model", "widedeep", "--json", "--threads", str(a.threads),
           "--backend", a.backend]
    p = subprocess.run(cmd, capture_output=True, text=True)
    ember = None
    if p.stdout.strip():
        try:
            ember = json.loads(p.stdout.strip().splitlines()[-1])
        except json.JSONDecodeError:
            ember = None
    if ember is None:
        print("compare_torch: `%s` gave no JSON (rc %d): %s" % (" ".join(cmd), p.returncode,
                                                               p.stderr.strip()[-300:]),
              file=sys.stderr)
    m = WideDeep(fields, buckets, dim, numeric, hidden)
    sparse = [p_ for n_, p_ in m.named_parameters() if n_.startswith(("wide", "deep"))]
    dense = [p_ for n_, p_ in m.named_parameters() if not n_.startswith(("wide", "deep"))]
    opt_s = torch.optim.Adagrad(sparse, lr=0.01)
    opt_d = torch.optim.Adagrad(dense, lr=0.01)
    g = torch.Generator().manual_seed(a.seed)
    nb = 8
    ids = [torch.randint(0, buckets, (batch, fields), generator=g) for _ in range(nb)]
    num = [torch.randn(batch, numeric, generator=g) for _ in range(nb)]
    lab = [torch.randint(0, 2, (batch,), generator=g).float() for _ in range(nb)]

    def train_steps(k):
        for s in range(k):
            i = s % nb
            loss = F.binary_cross_entropy_with_logits(m(ids[i], num[i]), lab[i])
            opt_s.zero_grad(set_to_none=True)
            opt_d.zero_grad(set_to_none=True)
            loss.backward()
            opt_s.step()
            opt_d.step()

    def infer_steps(k):
        with torch.no_grad():
            for s in range(k):
                torch.sigmoid(m(ids[s % nb], num[s % nb]))

    train_steps(3)
    t_train = []
    for _ in range(a.rounds * 3):
        t0 = now()
        train_steps(5)
        t_train.append((now() - t0) / 5)
    infer_steps(3)
    t_inf = []
    for _ in range(a.rounds * 3):
        t0 = now()
        infer_steps(10)
        t_inf.append((now() - t0) / 10)
    tr = batch / statistics.median(t_train)
    inf = batch / statistics.median(t_inf)
    out = {"model": "widedeep", "torch_train_samples_per_s": tr,
           "torch_infer_samples_per_s": inf, "torch_threads": torch.get_num_threads(),
           "openblas_core_torch": openblas_core(), "ember_command": " ".join(cmd),
           "ember": ember}
    if ember:
        et = ember.get("train_samples_per_s") or ember.get("samples_per_s")
        ei = ember.get("infer_samples_per_s") or ember.get("inference_samples_per_s")
        out["ember_over_torch_train"] = et / tr if et else None
        out["ember_over_torch_infer"] = ei / inf if ei else None
    out["loadavg"] = os.getloadavg()
    if emit_json(a, out):
        return
    print("compare_torch --model widedeep: 26 fields x 100000 x 16, 13 numeric, MLP 400-400-400, "
          "batch 2048, Adagrad; %d threads" % a.threads)
    print("torch %s: train %.0f samples/s, inference %.0f samples/s (OpenBLAS core %s)"
          % (torch.__version__, tr, inf, out["openblas_core_torch"]))
    if ember:
        print("ember: %s" % json.dumps(ember))
        if out.get("ember_over_torch_train"):
            print("ember/torch training throughput: %.2fx" % out["ember_over_torch_train"])
        if out.get("ember_over_torch_infer"):
            print("ember/torch inference throughput: %.2fx" % out["ember_over_torch_infer"])


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    p.add_argument("--ember", default=os.path.join(root, "build", "bin", "ember"),
                   help="the ember program (default build/bin/ember)")
    p.add_argument("--backend", default="cpu", help="ember's backend (PyTorch runs on the CPU)")
    p.add_argument("--model", choices=["widedeep"], help="the Wide&Deep benchmark instead")
    p.add_argument("--tables", type=int, default=1)
    p.add_argument("--rows", type=int, default=1000000)
    p.add_argument("--dim", type=int, default=64)
    p.add_argument("--batch", type=int, default=4096)
    p.add_argument("--pooling", type=int, default=20)
    p.add_argument("--index-law", choices=["uniform", "zipf"], default="uniform")
    p.add_argument("--alpha", type=float, default=1.05)
    p.add_argument("--dense-in", type=int, default=400)
    p.add_argument("--dense-out", type=int, default=400)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--reps", type=int, default=20)
    p.add_argument("--rounds", type=int, default=3, help="alternate ember and torch N times")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--interleave", action="store_true",
                   help="call ember (ctypes on build/lib/libember.so) and torch alternately in "
                        "one process (T=1), instead of running ember bench")
    p.add_argument("--train", action="store_true",
                   help="the training-loop comparison: ember.torch's fused module against "
                        "nn.EmbeddingBag(sparse=True) + torch.optim.SGD / Adagrad")
    p.add_argument("--train-tables", type=lambda v: [int(x) for x in v.split(",")],
                   default=[1, 8], help="--train: table counts T to run (default 1,8)")
    p.add_argument("--train-batches", type=int, default=3,
                   help="--train: distinct batches cycled through")
    p.add_argument("--train-budget", type=float, default=20.0,
                   help="--train: seconds per configuration at most (after 5 pairs)")
    p.add_argument("--json", action="store_true", help="one JSON line")
    p.add_argument("--json-out", metavar="FILE", help="also write the JSON line to FILE")
    a = p.parse_args()
    if not os.access(a.ember, os.X_OK):
        sys.exit("compare_torch: %s is not an executable (build first, or pass --ember)" % a.ember)
    if a.model == "widedeep":
        widedeep(a)
    elif a.interleave:
        interleaved(a)
    elif a.train:
        training_loop(a)
    else:
        kernels(a)


if __name__ == "__main__":
    main()
