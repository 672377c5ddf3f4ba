#!/usr/bin/env python3
"""compare_torch_cuda.py: PyTorch's CUDA EmbeddingBag on the FBGEMM default shape, the
baseline for ember's CUDA backend (ember bench --backend cuda, with --batched for the table-batched calls).

Prints, on the GPU it runs on: the device-to-device copy bandwidth (bytes read + written),
the pooled forward over T tables (one EmbeddingBag call per table, as ember's per-table
calls), forward + backward (sparse gradients) + torch.optim.SGD, the same with the tables
batched into one EmbeddingBag call (as ember's batched calls), and strict-FP32 SGEMM at a
Wide&Deep layer shape. Medians over repetitions, timed with CUDA events.

usage: python3 bench/compare_torch_cuda.py [--tables 32] [--rows 100000] [--dim 128]
       [--batch 512] [--pooling 20] [--reps 50]
"""
import argparse
import statistics
import sys

import torch


def timed(fn, reps, warmup=5):
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(reps):
        a = torch.cuda.Event(enable_timing=True)
        b = torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        b.synchronize()
        times.append(a.elapsed_time(b) * 1e-3)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tables", type=int, default=32)
    ap.add_argument("--rows", type=int, default=100000)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--batch", type=int, default=512)
    ap.add_argument("--pooling", type=int, default=20)
    ap.add_argument("--reps", type=int, default=50)
    a = ap.parse_args()
    if not torch.cuda.is_available():
        print("SKIP torch sees no CUDA device")
        return 0
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    dev = torch.device("cuda")
    print(f"torch {torch.__version__}, device {torch.cuda.get_device_name(0)}")

    # Copy bandwidth: 1 GiB device-to-device, bytes read + written.
    n = 1 << 28
    src = torch.empty(n, dtype=torch.float32, device=dev).fill_(1.0)
    dst = torch.empty_like(src)
    t = timed(lambda: dst.copy_(src), 20)
    copy_gbs = 2 * n * 4 / t / 1e9
    print(f"TORCH copy 1 GiB: {t*1e3:.3f} ms, {copy_gbs:.1f} GB/s (read+write)")
    del src, dst

    T, E, D, B, L = a.tables, a.rows, a.dim, a.batch, a.pooling
    g = torch.Generator(device="cpu").manual_seed(1234)
    embs = [torch.nn.EmbeddingBag(E, D, mode="sum", sparse=True).to(dev) for _ in range(T)]
    idx = [torch.randint(0, E, (B * L,), generator=g).to(dev) for _ in range(T)]
    off = torch.arange(0, B * L, L, device=dev)
    gout = [torch.randn(B, D, device=dev) for _ in range(T)]
    bytes_fwd = T * (B * L * D * 4 + B * D * 4)
    bytes_bwd = T * (B * L * D * 4 * 2 + B * D * 4)

    def fwd():
        with torch.no_grad():
            for t_ in range(T):
                embs[t_](idx[t_], off)

    tf = timed(fwd, a.reps)
    print(f"TORCH FBGEMM T={T} E={E} D={D} B={B} L={L} forward (sum): {tf*1e3:.3f} ms per batch, "
          f"{bytes_fwd/tf/1e9:.1f} GB/s, {bytes_fwd/tf/1e9/copy_gbs:.2f} x copy")

    opt = torch.optim.SGD([p for e in embs for p in e.parameters()], lr=0.01)

    def train():
        outs = [embs[t_](idx[t_], off) for t_ in range(T)]
        torch.autograd.backward(outs, gout)
        opt.step()
        opt.zero_grad(set_to_none=True)

    tt = timed(train, a.reps)
    print(f"TORCH FBGEMM forward+backward(sparse)+SGD: {tt*1e3:.3f} ms per batch")

    # The backward+step part alone: train minus forward.
    print(f"TORCH FBGEMM backward+SGD (train - forward): {(tt-tf)*1e3:.3f} ms per batch, "
          f"{bytes_bwd/max(tt-tf,1e-9)/1e9:.1f} GB/s")

    # The tables batched the plain-PyTorch way (no FBGEMM): one EmbeddingBag over the T
    # tables stacked (T*E rows), indices shifted by t*E, one call for all T tables; the
    # baseline for ember's batched calls. Output [T*B x D] instead of [B x T*D]: same bytes.
    del embs, opt
    big = torch.nn.EmbeddingBag(T * E, D, mode="sum", sparse=True).to(dev)
    bidx = torch.cat([idx[t_] + t_ * E for t_ in range(T)])
    boff = torch.arange(0, T * B * L, L, device=dev)
    bgout = torch.randn(T * B, D, device=dev)

    def bfwd():
        with torch.no_grad():
            big(bidx, boff)

    tbf = timed(bfwd, a.reps)
    print(f"TORCH FBGEMM batched (one EmbeddingBag over stacked tables) forward: {tbf*1e3:.3f} ms "
          f"per batch, {bytes_fwd/tbf/1e9:.1f} GB/s, {bytes_fwd/tbf/1e9/copy_gbs:.2f} x copy")
    bopt = torch.optim.SGD(big.parameters(), lr=0.01)

    def btrain():
        big(bidx, boff).backward(bgout)
        bopt.step()
        bopt.zero_grad(set_to_none=True)

    tbt = timed(btrain, a.reps)
    print(f"TORCH FBGEMM batched forward+backward(sparse)+SGD: {tbt*1e3:.3f} ms per batch; "
          f"backward+SGD (train - forward) {(tbt-tbf)*1e3:.3f} ms, "
          f"{bytes_bwd/max(tbt-tbf,1e-9)/1e9:.1f} GB/s")
    del big, bopt

    # Strict FP32 SGEMM at a Wide&Deep hidden layer (batch 2048, 400 -> 400), and a big one.
    for (m, k, nn) in ((2048, 400, 400), (4096, 1024, 1024)):
        x = torch.randn(m, k, device=dev)
        w = torch.randn(nn, k, device=dev)
        ts = timed(lambda: torch.nn.functional.linear(x, w), a.reps)
        print(f"TORCH sgemm fp32 Y=XW^T {m}x{k}x{nn}: {ts*1e6:.1f} us, {2*m*k*nn/ts/1e12:.2f} TFLOP/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
