#!/usr/bin/env bash
# run.sh BUILD_DIR SECONDS [NAME...]: runs each libFuzzer harness of tests/fuzz (default:
# all; NAME without the fuzz_ prefix) for SECONDS on a scratch copy of its seed corpus
# (the committed corpus is never modified), one after another. Exits 1 when any harness
# fails: a crash, a leak, undefined behaviour, a timeout (an input taking over 10 s) or an
# out-of-memory (over 2 GB). A failing input is kept as ARTIFACTS/<name>-crash-<sha1>
# (ARTIFACTS: $FUZZ_ARTIFACTS, default ./fuzz-artifacts); rerun it with
# BUILD_DIR/bin/fuzz_<name> FILE. The build: see docs/reliability.md.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:?usage: run.sh BUILD_DIR SECONDS [NAME...]}
secs=${2:?usage: run.sh BUILD_DIR SECONDS [NAME...]}
shift 2
names=("$@")
((${#names[@]})) || names=(reader_csv reader_adult reader_criteo reader_arff schema_spec
                           cross_spec checkpoint optim_state)
artifacts=${FUZZ_ARTIFACTS:-$PWD/fuzz-artifacts}
mkdir -p "$artifacts"
# The harnesses write each input to a scratch file: keep that in memory when possible.
[[ -z ${TMPDIR:-} && -d /dev/shm && -w /dev/shm ]] && export TMPDIR=/dev/shm
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=0
for n in "${names[@]}"; do
    bin=$build/bin/fuzz_$n
    if [[ ! -x $bin ]]; then
        echo "fuzz_$n: FAILED: $bin not built"
        failed=1
        continue
    fi
    mkdir -p "$work/$n"
    cp "$here/corpus/$n"/* "$work/$n/"
    log=$work/$n.log
    # timeout: a hang of libFuzzer itself still ends the run (its own -timeout is per input).
    timeout $((secs + 120)) "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$artifacts/$n-" "$work/$n" >"$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    cov=$(grep -Eo 'cov: [0-9]+' "$log" | tail -n 1)
    if ((rc == 0)); then
        echo "fuzz_$n: ok, ${execs:-?} executions in ${secs} s, ${cov:-cov: ?}, corpus $(ls "$work/$n" | wc -l) inputs"
    else
        echo "fuzz_$n: FAILED (exit $rc) after ${execs:-?} executions; the report:"
        # Everything but libFuzzer's progress lines: the harness's own message, the
        # sanitizer report with its stack, the input's path.
        grep -a -v -E '^(INFO:|#[0-9]+[[:space:]])' "$log" | head -n 70 | sed 's/^/    /'
        failed=1
    fi
done
exit $failed
