#!/usr/bin/env bash
# ulimit_sweep.sh EMBER ADULT_DIR: `ember train` under address-space limits from 60 to
# 320 MB. Every run must end within its time limit, either trained (exit 0) or with an
# OUT_OF_MEMORY message; at least one must hit OUT_OF_MEMORY (else the sweep tested nothing).
# Before the fix, runs spun forever inside OpenBLAS's buffer allocation (issue 10, item 6).
set -u
ember=$1 data=$2/adult.data
[[ -r $data ]] || { echo "no Adult data at $data: skipped"; exit 77; }
tmp=$(mktemp -d) && trap 'rm -rf "$tmp"' EXIT
failed=0 oom=0
for mb in 60 80 100 120 140 160 180 200 240 320; do
    ( ulimit -v $((mb * 1024)); exec timeout -k 5 60 "$ember" train --data "$data" --epochs 1 \
        --save "$tmp/m.bin" --quiet ) >"$tmp/out" 2>&1
    rc=$?
    last=$(tail -n 1 "$tmp/out")
    if ((rc == 124 || rc == 137)); then
        echo "FAIL ${mb} MB: no exit within 60 s (hang); last line: $last"
        failed=1
    elif ((rc == 0)); then
        echo "ok   ${mb} MB: trained"
    elif grep -qiE "out[_ ]of[_ ]memory" "$tmp/out"; then
        echo "ok   ${mb} MB: exit $rc, $last"
        oom=$((oom + 1))
    else
        echo "FAIL ${mb} MB: exit $rc without OUT_OF_MEMORY: $last"
        failed=1
    fi
done
((oom > 0)) || { echo "FAIL: no limit gave OUT_OF_MEMORY"; failed=1; }
exit $failed
