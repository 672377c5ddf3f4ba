#!/usr/bin/env bash
# gpu-check.sh: the whole GPU verification in one run, on a machine with an NVIDIA GPU (the
# device tool's machines: nvcc, cmake, ninja, python3 with torch, compute-sanitizer; no
# network). Configures and builds with CUDA for the card, lists devices, runs the CUDA
# self-test against the CPU backend, the conformance suite on the CUDA backend (ctest and
# `ember check`), compute-sanitizer memcheck over a conformance run, `ember bench --backend
# cuda` and the PyTorch CUDA side-by-side. Everything goes to $OUT/gpu-results.txt (OUT
# defaults to ./gpu-out). Each step has its own time limit; the whole is under 8 minutes.
#
# Criterion and OpenBLAS come from .carry/ember-deps.tar.xz (made here by
# scripts/gpu-carry.sh; name .carry in the device tool's `carry`). Without them the build
# goes on without the Criterion suite.
#
# Usage (device tool): run(command="bash scripts/gpu-check.sh", carry=[".carry"], timeout_s=540)
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-$PWD/gpu-out}
mkdir -p "$OUT"
R=$OUT/gpu-results.txt
: >"$R"
T0=$(date +%s)
BUILD=${EMBER_GPU_BUILD:-build-gpu}
ARCH=${EMBER_GPU_ARCH:-90}
JOBS=$(nproc 2>/dev/null || echo 8)
declare -a SUMMARY=()

say() { echo "$*" | tee -a "$R"; }
elapsed() { echo $(($(date +%s) - T0)); }
# step NAME LIMIT_S command...: runs with a time limit, output into the results file.
# The whole script stays inside TOTAL_S: a step gets at most what is left, and is skipped
# when under 15 s are left.
TOTAL_S=${EMBER_GPU_TOTAL_S:-465}
step() {
    local name=$1 limit=$2
    shift 2
    local left=$((TOTAL_S - $(elapsed)))
    if ((left < 15)); then
        say "=== $name: SKIPPED (time budget of ${TOTAL_S}s used up) ==="
        SUMMARY+=("$(printf '%-34s %-14s' "$name" "SKIPPED (time)")")
        return 125
    fi
    ((limit > left)) && limit=$left
    say ""
    say "=== $name (limit ${limit}s, at $(elapsed)s) ==="
    local t=$(date +%s)
    timeout --kill-after=10 "$limit" "$@" 2>&1 | tee -a "$R"
    local rc=${PIPESTATUS[0]}
    local d=$(($(date +%s) - t))
    local verdict=ok
    [[ $rc -ne 0 ]] && verdict="FAILED rc=$rc"
    [[ $rc -eq 124 || $rc -eq 137 ]] && verdict="TIMED OUT"
    say "--- $name: $verdict (${d}s)"
    SUMMARY+=("$(printf '%-34s %-14s %4ss' "$name" "$verdict" "$d")")
    return "$rc"
}

say "ember GPU check, $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet 2>/dev/null || echo ' (with local changes)')"
step "machine" 30 bash -c 'nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm,clocks.max.mem --format=csv; nvcc --version | tail -2; cmake --version | head -1; ninja --version; python3 -c "import torch; print(\"torch\", torch.__version__, torch.version.cuda)"; command -v compute-sanitizer; nproc'

# --- carried dependencies ---------------------------------------------------------------
DEPS=/tmp/ember-deps/prefix
if [[ -f .carry/ember-deps.tar.xz ]]; then
    rm -rf /tmp/ember-deps && mkdir -p /tmp/ember-deps && tar -C /tmp/ember-deps -xJf .carry/ember-deps.tar.xz
fi
LINKFLAGS=
# The CUDA runtime and cuBLAS, for the plugin (in case the loader does not know the folder).
CUDA_LIB=$(dirname "$(dirname "$(readlink -f "$(command -v nvcc)")")")/lib64
if [[ -d $DEPS ]]; then
    export PKG_CONFIG_PATH=$DEPS/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
    export CMAKE_PREFIX_PATH=$DEPS${CMAKE_PREFIX_PATH:+:$CMAKE_PREFIX_PATH}
    if ! command -v pkg-config >/dev/null; then
        # The carried pkgconf, behind a wrapper so only it sees the carried libpkgconf.
        mkdir -p "$DEPS/libexec" && mv -f "$DEPS/bin/pkg-config" "$DEPS/libexec/pkgconf"
        printf '#!/bin/sh\nLD_LIBRARY_PATH=%s exec %s "$@"\n' "$DEPS/lib" "$DEPS/libexec/pkgconf" >"$DEPS/bin/pkg-config"
        chmod +x "$DEPS/bin/pkg-config"
        export PATH=$DEPS/bin:$PATH PKG_CONFIG_LIBDIR=$DEPS/lib/pkgconfig
    fi
    # The linker must find libcriterion's own dependencies; at run time only ember's
    # processes get the carried libraries (not cmake, python or torch).
    LINKFLAGS="-Wl,-rpath-link,$DEPS/lib"
    RUNENV=(env "LD_LIBRARY_PATH=$DEPS/lib:$CUDA_LIB${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}")
    say "carried deps: $DEPS ($(ls "$DEPS/lib" | wc -l) files)"
else
    RUNENV=(env "LD_LIBRARY_PATH=$CUDA_LIB${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}")
    say "no carried deps (.carry/ember-deps.tar.xz): building with what the machine has"
fi

# --- configure + build --------------------------------------------------------------------
cfg=(-S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DEMBER_CUDA=ON -DEMBER_OPENCL=OFF
     -DCMAKE_CUDA_ARCHITECTURES="$ARCH" -DEMBER_WERROR=OFF
     "-DCMAKE_EXE_LINKER_FLAGS=$LINKFLAGS" "-DCMAKE_SHARED_LINKER_FLAGS=$LINKFLAGS"
     "-DCMAKE_MODULE_LINKER_FLAGS=$LINKFLAGS")
if ! step "configure" 90 cmake "${cfg[@]}"; then
    step "configure without tests" 90 cmake "${cfg[@]}" -DEMBER_BUILD_TESTS=OFF || {
        say "configure failed: stopping"; exit 1; }
fi
# Order: what gives the most for the time first; the Criterion suite (one process per case,
# each loading cuBLAS and creating a CUDA context) last, with the time that is left.
# EMBER_GPU_QUICK=1 (a helper's short run): memcheck over the self-test instead of over
# `ember check`, and no `ember bench`.
QUICK=${EMBER_GPU_QUICK:-0}
step "build" 300 ninja -C "$BUILD" -j"$JOBS" -k 0 ember_cuda ember_cuda_selftest ember_cli ||
    say "(some targets failed to build; going on with what was built)"
BIN=$BUILD/bin
EMBER=$BIN/ember
export EMBER_CUDA_PLUGIN=$PWD/$BUILD/lib/libember_cuda.so

[[ -x $EMBER ]] && step "ember devices" 30 "${RUNENV[@]}" "$EMBER" devices
[[ -x $BIN/ember_cuda_selftest ]] &&
    step "cuda self-test vs cpu (+bench)" 120 "${RUNENV[@]}" "$BIN/ember_cuda_selftest"
[[ -x $EMBER ]] && step "ember check --backend cuda" 120 "${RUNENV[@]}" "$EMBER" check --backend cuda
step "pytorch CUDA side-by-side" 90 env PYTHONUNBUFFERED=1 python3 bench/compare_torch_cuda.py --reps 30
[[ -x $EMBER ]] && ((!QUICK)) && step "ember bench --backend cuda" 90 "${RUNENV[@]}" "$EMBER" bench --backend cuda
if command -v compute-sanitizer >/dev/null; then
    if [[ -x $EMBER ]] && ((!QUICK)); then
        step "compute-sanitizer memcheck: ember check" 150 "${RUNENV[@]}" compute-sanitizer --tool memcheck --report-api-errors no --error-exitcode 3 --print-limit 20 "$EMBER" check --backend cuda --quick
    elif [[ -x $BIN/ember_cuda_selftest ]]; then
        step "compute-sanitizer memcheck: self-test" 120 "${RUNENV[@]}" compute-sanitizer --tool memcheck --report-api-errors no --error-exitcode 3 --print-limit 20 "$BIN/ember_cuda_selftest" --no-bench
    fi
else
    say "compute-sanitizer not found: memcheck skipped"
fi
# The Criterion conformance suite on the CUDA backend: ctest's conformance_cuda test (same
# executable and environment), but with 8 test processes at a time instead of ctest's 1:
# each process mostly loads cuBLAS and creates a context, and one H100/H200 takes 8 at
# once (126 s at --jobs=1 on the H200).
if step "build conformance suite" 120 ninja -C "$BUILD" -j"$JOBS" -k 0 ember_conformance conformance_summary; then
    log=$PWD/$BUILD/tests/conformance/conformance-cuda.log
    rm -f "$log"
    step "conformance suite (cuda, 8 jobs)" 300 "${RUNENV[@]}" EMBER_CONFORMANCE_BACKENDS=cuda \
        EMBER_CONFORMANCE_LOG="$log" "$BIN/ember_conformance" --jobs=8
    [[ -f $log ]] && step "conformance summary" 30 "$BIN/conformance_summary" "$log"
fi

say ""
say "=== summary (total $(elapsed)s) ==="
for s in "${SUMMARY[@]}"; do say "$s"; done
