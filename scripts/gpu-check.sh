#!/usr/bin/env bash
# gpu-check.sh: the whole GPU verification in one run on a machine with an NVIDIA GPU (the
# device tool's machines: nvcc, cmake, ninja, python3 with torch, compute-sanitizer; no
# network), inside a fixed time budget, most valuable first:
#   1. configure + build (sm_90, only the targets needed)
#   2. `ember check --backend cuda --full`: every conformance case (every op, per-table and
#      table-batched, against the CPU backend; DETERMINISTIC bit for bit; error paths;
#      recovery after an out-of-memory; TF32)
#   3. the PyTorch side-by-side (bench/compare_torch_cuda.py)
#   4. compute-sanitizer memcheck over `ember check --backend cuda` (no timings)
#   5. the Criterion conformance suite on CUDA (built only now), 8 processes at a time
#   6. `ember bench --backend cuda` at FBGEMM's shape (with the direct device copy and
#      cublasSgemm baselines), per-table, then with --batched, then --batched with the index
#      check run on every call (EMBER_CUDA_CHECK_CACHE=0)
#   7. the training step with fresh indices uploaded every step (bench/batched_check.py,
#      FBGEMM's shape): per-table against table-batched calls, and the index check's share
#      of the batched step (issue 13's target: under 10%)
# Each step gets at most what is left of EMBER_GPU_TOTAL_S (default 215 s) and is skipped
# under 12 s. $OUT/gpu-results.txt gets the compact results as they come (FAIL lines,
# figures, summaries); each step's full output goes to its own file beside it.
#
# Criterion and OpenBLAS come from .carry/ember-deps.tar.xz (made here by
# scripts/gpu-carry.sh; name .carry in the device tool's `carry`). Without them the build
# goes on without the Criterion suite.
#
# Usage (device tool): run(command="bash scripts/gpu-check.sh", carry=[".carry"], timeout_s=235)
# Environment: EMBER_GPU_TOTAL_S (seconds for the whole script), EMBER_GPU_ARCH (default 90),
# EMBER_GPU_BUILD (build dir, default build-gpu).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
OUT=${OUT:-$PWD/gpu-out}
mkdir -p "$OUT"
R=$OUT/gpu-results.txt
: >"$R"
T0=$(date +%s)
BUILD=${EMBER_GPU_BUILD:-build-gpu}
ARCH=${EMBER_GPU_ARCH:-90}
JOBS=$(nproc 2>/dev/null || echo 8)
TOTAL_S=${EMBER_GPU_TOTAL_S:-215}
declare -a SUMMARY=()

say() { echo "$*" | tee -a "$R"; }
elapsed() { echo $(($(date +%s) - T0)); }

# step NAME LIMIT_S LOG FILTER command...: runs the command with a time limit (at most what
# is left of TOTAL_S; skipped under 12 s), its whole output into $OUT/LOG; the lines
# matching the extended regex FILTER go to the results file (and, when the step fails,
# its last 15 lines too). Returns the command's status.
step() {
    local name=$1 limit=$2 log=$OUT/$3 filter=$4
    shift 4
    local left=$((TOTAL_S - $(elapsed)))
    if ((left < 12)); then
        say "=== $name: SKIPPED (budget of ${TOTAL_S}s used up)"
        SUMMARY+=("$(printf '%-36s %s' "$name" "SKIPPED (time)")")
        return 125
    fi
    ((limit > left)) && limit=$left
    say "=== $name (limit ${limit}s, at $(elapsed)s; full output: $(basename "$log"))"
    local t start
    t=$(date +%s)
    touch "$log"
    start=$(($(wc -l <"$log") + 1)) # the filter reads this step's lines only
    { echo "### $name: $*"; } >>"$log"
    timeout --kill-after=5 "$limit" "$@" >>"$log" 2>&1
    local rc=$?
    local d=$(($(date +%s) - t))
    if [[ -n $filter ]]; then tail -n +"$start" "$log" | grep -E "$filter" | grep -v '^###' | tee -a "$R"; fi
    local verdict=ok
    if [[ $rc -ne 0 ]]; then
        verdict="FAILED rc=$rc"
        [[ $rc -eq 124 || $rc -eq 137 ]] && verdict="TIMED OUT"
        say "--- last lines:"
        tail -n 15 "$log" | tee -a "$R"
    fi
    say "--- $name: $verdict (${d}s)"
    SUMMARY+=("$(printf '%-36s %-14s %4ss' "$name" "$verdict" "$d")")
    return "$rc"
}

say "ember GPU check, $(date -u +%Y-%m-%dT%H:%M:%SZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet 2>/dev/null || echo ' (with local changes)'), budget ${TOTAL_S}s"
say "$(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1 | head -2); $(nvcc --version 2>&1 | tail -1); $(nproc) cores"

# --- carried dependencies ---------------------------------------------------------------
DEPS=/tmp/ember-deps/prefix
if [[ -f .carry/ember-deps.tar.xz ]]; then
    rm -rf /tmp/ember-deps && mkdir -p /tmp/ember-deps && tar -C /tmp/ember-deps -xJf .carry/ember-deps.tar.xz
fi
LINKFLAGS=
# The CUDA runtime and cuBLAS, for the plugin and the direct baselines of `ember bench`.
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
else
    RUNENV=(env "LD_LIBRARY_PATH=$CUDA_LIB${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}")
    say "no carried deps (.carry/ember-deps.tar.xz): building with what the machine has"
fi

# --- 1. configure + build ----------------------------------------------------------------
cfg=(-S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DEMBER_CUDA=ON -DEMBER_OPENCL=OFF
     -DCMAKE_CUDA_ARCHITECTURES="$ARCH" -DEMBER_WERROR=OFF
     "-DCMAKE_EXE_LINKER_FLAGS=$LINKFLAGS" "-DCMAKE_SHARED_LINKER_FLAGS=$LINKFLAGS"
     "-DCMAKE_MODULE_LINKER_FLAGS=$LINKFLAGS")
if ! step "configure" 60 build.log "CUDA compiler identification|ember backends" cmake "${cfg[@]}"; then
    step "configure without tests" 60 build.log "" cmake "${cfg[@]}" -DEMBER_BUILD_TESTS=OFF || {
        say "configure failed: stopping"; exit 1; }
fi
step "build (plugin, direct baselines, CLI)" 150 build.log "^FAILED|error:" \
    ninja -C "$BUILD" -j"$JOBS" -k 0 ember_cuda ember_cuda_direct ember_cli ||
    say "(some targets failed to build; going on with what was built)"
BIN=$BUILD/bin
EMBER=$BIN/ember
export EMBER_CUDA_PLUGIN=$PWD/$BUILD/lib/libember_cuda.so

# --- 2. the conformance cases through the CLI -------------------------------------------------
[[ -x $EMBER ]] &&
    step "ember check --backend cuda --full" 60 check.txt '(FAIL|failed|summary:|cuda:)' \
        "${RUNENV[@]}" "$EMBER" check --backend cuda --full

# --- 3. PyTorch on the same card ------------------------------------------------------------
step "pytorch CUDA side-by-side" 45 torch.txt '^(TORCH|SKIP|torch|Traceback|[A-Za-z]*Error)' \
    env PYTHONUNBUFFERED=1 python3 bench/compare_torch_cuda.py --reps 30

# --- 4. memcheck ---------------------------------------------------------------------------
# --report-api-errors no: the out_of_memory cases' deliberate 1 PiB cudaMalloc is one.
if command -v compute-sanitizer >/dev/null && [[ -x $EMBER ]]; then
    step "compute-sanitizer memcheck: ember check" 60 memcheck.txt '(ERROR SUMMARY|summary:|FAIL|Invalid|out of bounds)' \
        "${RUNENV[@]}" compute-sanitizer --tool memcheck --report-api-errors no --error-exitcode 3 \
        --print-limit 20 "$EMBER" check --backend cuda
else
    say "compute-sanitizer or ember missing: memcheck skipped"
fi

# --- 5. the Criterion suite on CUDA ----------------------------------------------------------
# ctest's conformance_cuda test (same executable and environment) with 8 processes at a time:
# each mostly loads cuBLAS and creates a context (126 s at 1 process on the H200).
if step "build conformance suite" 60 build.log "^FAILED|error:" \
    ninja -C "$BUILD" -j"$JOBS" -k 0 ember_conformance conformance_summary; then
    log=$PWD/$BUILD/conformance-cuda.log # not in $OUT: at most 8 files come back
    rm -f "$log"
    step "conformance suite (cuda, 8 jobs)" 150 conformance.txt '(Synthesis|Tested|Passing|Failing|Crashing|FAIL)' \
        "${RUNENV[@]}" EMBER_CONFORMANCE_BACKENDS=cuda EMBER_CONFORMANCE_LOG="$log" \
        "$BIN/ember_conformance" --jobs=8
    [[ -f $log ]] && step "conformance summary" 15 conformance.txt '(ran [0-9]|skipped [0-9]|FAIL)' \
        "$BIN/conformance_summary" "$log"
fi

# --- 6. ember bench (the kernel suite: one call per table, then table-batched calls) ---------
[[ -x $EMBER ]] &&
    step "ember bench --backend cuda" 40 bench.txt '' "${RUNENV[@]}" "$EMBER" bench --backend cuda --no-cpu &&
    tail -n 25 "$OUT/bench.txt" >>"$R"
[[ -x $EMBER ]] &&
    step "ember bench --backend cuda --batched" 30 bench.txt '' "${RUNENV[@]}" "$EMBER" bench \
        --backend cuda --no-cpu --batched --op gather_copy,lookup_sum,update_sgd,step_sgd &&
    tail -n 8 "$OUT/bench.txt" >>"$R"
# Fresh index buffers every step: the bounds check's round trip on every call.
[[ -x $EMBER ]] &&
    step "ember bench --backend cuda --batched, check every call" 30 bench.txt '' "${RUNENV[@]}" \
        EMBER_CUDA_CHECK_CACHE=0 "$EMBER" bench --backend cuda --no-cpu --batched \
        --op gather_copy,lookup_sum,update_sgd &&
    tail -n 6 "$OUT/bench.txt" >>"$R"


# --- 7. fresh indices every step: what the index check costs the training step ---------------
[[ -f $BUILD/lib/libember.so ]] &&
    step "fresh-index step: per-table vs batched" 40 fresh.txt '(cuda T=|median|min|share|Error|error)' \
        "${RUNENV[@]}" python3 bench/batched_check.py --lib "$BUILD/lib/libember.so" --backend cuda \
        --tables 32 --rows 100000 --dim 128 --batch 512 --pooling 20 --steps 30 --step

say ""
say "=== summary (total $(elapsed)s of ${TOTAL_S}s)"
for s in "${SUMMARY[@]}"; do say "$s"; done
