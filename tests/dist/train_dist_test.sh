#!/usr/bin/env bash
# train_dist_test.sh CASE MPIEXEC EMBER ADULT_DIR: `mpirun -np N ember train` on Adult.
#   same_auc     2 ranks with batch 32 reach the test AUC of one process with batch 64
#                (the same global batch and seed) within 0.002, with and without
#                --emb-min-count; the report is printed once
#   checkpoint   a checkpoint written by 3 ranks resumes on 1 rank and on 3, to the same
#                model within tolerance, and `ember predict` reads it in one process
#   bad_line     a malformed line ends every rank with one message naming the rank and the
#                line, exit status 2, no hang: in the first pass (every rank reads it) and
#                in a resumed run (only the rank whose share holds it does)
#   rank_death   a rank killed (SIGKILL) during training ends the job with an error within
#                a bound, not a hang (Open MPI's launcher notices the death and ends the
#                others: docs/scale-out.md)
# Exit 77 (skipped) when the Adult data is missing.
set -u
case=$1 mpiexec=$2 ember=$3 adult=$4
[[ -f $adult/adult.data && -f $adult/adult.test ]] || {
    echo "no Adult data in $adult: skipped"
    exit 77
}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ember-train-dist.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
py=/usr/bin/python3
[[ -x $py ]] || py=python3
data=(--data "$adult/adult.data" --test "$adult/adult.test" --threads 1 --epochs 1)

fail() {
    echo "FAIL $case: $*" >&2
    exit 1
}
# json FILE KEY: KEY of the last line of FILE (the --json object).
json() { $py -c 'import json, sys; print(json.loads(open(sys.argv[1]).read().splitlines()[-1])[sys.argv[2]])' "$@"; }
# close A B TOL: |A - B| <= TOL
close() { $py -c 'import sys; a, b, t = map(float, sys.argv[1:]); sys.exit(abs(a - b) > t)' "$@"; }
run_np() { # run_np N OUT [flags...]
    local n=$1 out=$2
    shift 2
    timeout 300 "$mpiexec" -n "$n" "$ember" train "${data[@]}" --quiet --json "$@" >"$out" 2>"$out.err" ||
        {
            cat "$out" "$out.err"
            fail "mpirun -n $n ember train $* failed"
        }
}

case $case in
same_auc)
    # and with rare ids left out of the embeddings' training (Adult has 46 buckets of 1 to
    # 199 rows), which both trainers count and leave out alike
    for flags in "" "--emb-min-count 200"; do
        # shellcheck disable=SC2086 # flags is split on purpose
        "$ember" train "${data[@]}" --batch 64 $flags --quiet --json >"$tmp/one" ||
            fail "one process failed ($flags)"
        # shellcheck disable=SC2086
        run_np 2 "$tmp/two" --batch 32 $flags
        objects=$(grep -c '^{' "$tmp/two")
        [[ $objects == 1 ]] || fail "2 ranks printed $objects JSON objects, not 1"
        a1=$(json "$tmp/one" auc) a2=$(json "$tmp/two" auc)
        echo "test AUC${flags:+ with $flags}: 1 process (batch 64) $a1, 2 ranks (batch 32 each) $a2"
        close "$a1" "$a2" 0.002 || fail "AUC $a2 on 2 ranks differs from $a1 by more than 0.002"
        [[ -n $flags ]] || { base=$a1 && continue; }
        # The flag's effect (0.0001 here) is under that tolerance: 2 ranks must be nearer
        # the one process with the flag than the flag moves it.
        $py -c 'import sys; b, a1, a2 = map(float, sys.argv[1:]); sys.exit(not 0 < 2 * abs(a1 - a2) < abs(a1 - b))' \
            "$base" "$a1" "$a2" || fail "2 ranks with $flags: AUC $a2, one process $a1, without $base"
    done
    ;;
checkpoint)
    run_np 3 "$tmp/save" --batch 20 --save "$tmp/m3.st"
    [[ -f $tmp/m3.st ]] || fail "3 ranks wrote no checkpoint"
    run_np 1 "$tmp/r1" --batch 60 --resume "$tmp/m3.st"
    run_np 3 "$tmp/r3" --batch 20 --resume "$tmp/m3.st"
    "$ember" train "${data[@]}" --batch 60 --resume "$tmp/m3.st" --quiet --json >"$tmp/r0" ||
        fail "one process could not resume the 3 ranks' checkpoint"
    for k in auc train_loss; do
        r1=$(json "$tmp/r1" $k) r3=$(json "$tmp/r3" $k) r0=$(json "$tmp/r0" $k)
        echo "$k after resuming: 1 rank $r1, 3 ranks $r3, one process $r0"
        close "$r1" "$r3" 1e-4 || fail "$k: resumed on 1 rank $r1, on 3 ranks $r3"
        close "$r0" "$r3" 1e-4 || fail "$k: resumed in one process $r0, on 3 ranks $r3"
    done
    "$ember" predict --model "$tmp/m3.st" --data "$adult/adult.test" --out "$tmp/p" --metrics \
        2>"$tmp/p.err" || fail "ember predict could not read the checkpoint"
    [[ $(wc -l <"$tmp/p") == 16281 ]] || fail "ember predict wrote $(wc -l <"$tmp/p") lines"
    saved=$(json "$tmp/save" auc)
    predicted=$($py -c 'import re, sys; print(re.search(r"auc ([0-9.]+)", open(sys.argv[1]).read()).group(1))' "$tmp/p.err")
    echo "test AUC: when saved $saved, predicted from the file $predicted"
    close "$saved" "$predicted" 0.0001 || fail "the checkpoint scores AUC $predicted, not $saved"
    ;;
bad_line)
    head -n 2000 "$adult/adult.data" >"$tmp/bad.data"
    echo "39, State-gov, not-a-number, Bachelors, 13, Never-married, Adm-clerical, Not-in-family, White, Male, 2174, 0, 40, United-States, <=50K" >>"$tmp/bad.data"
    tail -n 100 "$adult/adult.data" >>"$tmp/bad.data"
    timeout 120 "$mpiexec" -n 2 "$ember" train --data "$tmp/bad.data" --format adult --threads 1 --quiet \
        >"$tmp/out" 2>"$tmp/err"
    rc=$?
    cat "$tmp/err"
    [[ $rc == 2 ]] || fail "exit status $rc, expected 2"
    grep -q 'rank [0-9]*: .*bad.data:2001' "$tmp/err" || fail "the message names no rank and line"
    lines=$(grep -c '^ember train:' "$tmp/err")
    [[ $lines == 1 ]] || fail "$lines error lines, expected 1"
    # Resumed, there is no first pass: only the rank whose share holds the line parses it,
    # and every rank must still stop.
    head -n 2000 "$adult/adult.data" >"$tmp/good.data"
    "$ember" train --data "$tmp/good.data" --format adult --epochs 0 --save "$tmp/m.st" \
        --quiet >/dev/null || fail "could not write a checkpoint"
    timeout 120 "$mpiexec" -n 2 "$ember" train --data "$tmp/bad.data" --resume "$tmp/m.st" \
        --epochs 1 --threads 1 --quiet >"$tmp/out" 2>"$tmp/err"
    rc=$?
    cat "$tmp/err"
    [[ $rc == 2 ]] || fail "resumed: exit status $rc, expected 2"
    grep -q 'rank [0-9]*: .*bad.data:2001' "$tmp/err" || fail "resumed: no rank and line named"
    ;;
rank_death)
    bound=30
    start=$(date +%s%N)
    timeout $((bound * 2)) "$mpiexec" -n 3 "$ember" train "${data[@]}" --epochs 1000 \
        --patience 0 --batch 16 >"$tmp/out" 2>&1 &
    watchdog=$!
    for _ in $(seq 600); do # the first epoch is done: training is under way
        grep -q 'epoch *1/' "$tmp/out" && break
        sleep 0.1
    done
    launcher=$(pgrep -P "$watchdog" | head -n 1)
    victim=$(pgrep -P "${launcher:-0}" -x "$(basename "$ember")" | tail -n 1)
    [[ -n $victim ]] || {
        kill "$watchdog"
        fail "no rank found to kill"
    }
    kill -KILL "$victim"
    killed=$(date +%s%N)
    wait "$watchdog"
    rc=$?
    elapsed_ms=$((($(date +%s%N) - killed) / 1000000))
    tail -n 5 "$tmp/out"
    grep -q '^distributed: 3 ranks' "$tmp/out" || fail "not one training on 3 ranks"
    echo "rank_death: exit status $rc ${elapsed_ms} ms after the kill (bound ${bound} s; started $((($(date +%s%N) - start) / 1000000)) ms ago)"
    ((rc != 124)) || fail "the job hung: ended by the test after $((bound * 2)) s"
    ((rc != 0)) || fail "expected the job to end with an error, got status 0"
    ((elapsed_ms <= bound * 1000)) || fail "took ${elapsed_ms} ms, more than ${bound} s"
    ;;
*)
    fail "unknown case"
    ;;
esac
echo "$case: ok"
