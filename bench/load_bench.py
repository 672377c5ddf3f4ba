#!/usr/bin/env python3
"""load_bench.py: the CPU backend at its default threads against one thread, beside busy
neighbours (issue 10: "never slower than one thread").

Starts N busy loops (default: as many as the cores this process may use), then runs
`ember bench --json` at --threads 0 (the default) and --threads 1 alternately for R rounds,
and prints per op the median time of each and the ratio default / one thread (the median
of the per-round ratios, so both sides of a ratio ran seconds apart). --busy 0 measures an
idle machine. The target: every ratio at most 1.2 beside as many busy loops as cores.

usage: bench/load_bench.py [--ember PATH] [--busy N] [--rounds R] [--limit X]
                           [-- extra ember bench arguments]
Exit status 1 when a ratio exceeds --limit (default 1.2), so scripts can use it; the
figures are a shared machine's: read them with what else was running.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

DEFAULT_SHAPE = ["--rows", "200000", "--batch", "2048", "--reps", "15"]


def bench(ember, threads, extra):
    out = subprocess.run([ember, "bench", "--json", "--threads", str(threads)] + extra,
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)["run"]["ops"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ember", default=os.path.join(os.path.dirname(__file__), "..", "build",
                                                    "bin", "ember"))
    ap.add_argument("--busy", type=int, default=len(os.sched_getaffinity(0)))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--limit", type=float, default=1.2)
    ap.add_argument("extra", nargs="*", help="ember bench arguments (after --)")
    a = ap.parse_args()
    extra = a.extra or DEFAULT_SHAPE
    busy = [subprocess.Popen(["sh", "-c", "while :; do :; done"]) for _ in range(a.busy)]
    try:
        runs = {0: [], 1: []}
        for _ in range(a.rounds):
            for threads in (0, 1):
                runs[threads].append(bench(a.ember, threads, extra))
    finally:
        for p in busy:
            p.kill()
            p.wait()
    with open("/proc/loadavg") as f:
        load = f.read().split()[0]
    print(f"{a.busy} busy loops, {len(os.sched_getaffinity(0))} cores, {a.rounds} rounds, "
          f"1-min load average after: {load}; ember bench {' '.join(extra)}")
    print(f"{'op':24s} {'default ms':>11s} {'1 thread ms':>12s} {'ratio':>7s}")
    worst = 0.0
    for op in runs[0][0]:
        d = [r[op]["median_ms"] for r in runs[0]]
        o = [r[op]["median_ms"] for r in runs[1]]
        ratio = statistics.median(x / y for x, y in zip(d, o))
        worst = max(worst, ratio)
        flag = "  > limit" if ratio > a.limit else ""
        print(f"{op:24s} {statistics.median(d):11.3f} {statistics.median(o):12.3f} "
              f"{ratio:7.2f}{flag}")
    print(f"worst ratio {worst:.2f} (limit {a.limit})")
    return 1 if worst > a.limit else 0


if __name__ == "__main__":
    sys.exit(main())
