#!/usr/bin/env bash
# rank_death.sh MPIEXEC PROGRAM BOUND: runs PROGRAM on 3 ranks, the last of which dies
# mid-training; passes when the job ends with a non-zero status within BOUND seconds (the
# survivors are blocked in an all-to-all and must be ended by the MPI runtime, not hang).
set -u
mpiexec=$1 program=$2 bound=$3
start=$(date +%s%N)
output=$(timeout $((bound * 4)) "$mpiexec" -n 3 "$program" $((bound * 2)) 2>&1)
rc=$?
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
echo "$output" | tail -n 12
echo "rank_death: exit status $rc after ${elapsed_ms} ms (bound ${bound} s)"
if [[ $output == *survived* ]]; then
    echo "rank_death: FAIL: the survivors were not ended" >&2
    exit 1
fi
if ((rc == 0 || rc == 124 || rc == 137)); then
    echo "rank_death: FAIL: expected the job to end with an error, got status $rc" >&2
    exit 1
fi
if ((elapsed_ms > bound * 1000)); then
    echo "rank_death: FAIL: took ${elapsed_ms} ms, more than ${bound} s" >&2
    exit 1
fi
echo "rank_death: ok"
