#!/bin/sh
# perturbed_check.sh EMBER: proves `ember check` catches a wrong backend. The perturbed test
# backend adds 1e-3 to one element of one op (EMBER_PERTURB_OP); ember check must exit 1,
# report exactly that op as failed, name the element with both values, and pass the others.
set -u
ember=$1
fail() { echo "perturbed_check: $*"; exit 1; }

check_op() { # op case element
    op=$1 case=$2 element=$3
    out=$(EMBER_PERTURB_OP=$op "$ember" check --backend perturbed 2>&1)
    rc=$?
    echo "$out" | grep -E "^  [a-z_]+ +(passed|FAILED)"
    [ $rc -eq 1 ] || fail "$op: exit status $rc, want 1"
    echo "$out" | grep -Eq "^  $op +FAILED" || fail "$op: not reported as FAILED"
    # Every other op that does not call $op must pass (the seed cases call several ops).
    for other in lookup backward_dense backward_sparse sparse_step backward_update dense_step \
                 dense_forward dense_backward sigmoid bce errors; do
        [ "$other" = "$op" ] && continue
        [ "$op" = backward_sparse ] && [ "$other" = backward_update ] && continue
        [ "$op" = sparse_step ] && [ "$other" = backward_update ] && continue
        echo "$out" | grep -Eq "^  $other +passed" || fail "$op: $other did not pass"
    done

    one=$(EMBER_PERTURB_OP=$op "$ember" check --backend perturbed --case "$case" 2>&1)
    rc=$?
    echo "$one"
    [ $rc -eq 1 ] || fail "$op --case $case: exit status $rc, want 1"
    line=$(echo "$one" | grep "first differing element: $element") ||
        fail "$op: the report does not name element $element"
    echo "$one" | grep -q "reproduce: ember check --backend perturbed --case $case --seed " ||
        fail "$op: no reproduce command"
    # got - want must be the perturbation, 1e-3.
    echo "$line" | awk '{ for (i = 1; i <= NF; i++) { if ($i == "got") g = $(i+1); if ($i == "want") w = $(i+1) }
                          sub(",", "", g); d = g - w; if (d < 0.000999 || d > 0.001001) exit 1 }' ||
        fail "$op: got - want is not the 1e-3 perturbation: $line"
}

check_op lookup "lookup/none/int64/uniform/93x7b13" "out\[0,0\] (element 0)"
check_op dense_forward "dense_forward/7x93x5" "y\[0,0\] (element 0)"
check_op backward_dense "backward_dense/atomic/sum/int64/uniform/93x7b13l3" "grad_table\[0,0\] (element 0)"
# A driver error is a reported failure of that op (the sigmoid and lookup cases only, to
# keep this short under the sanitizers); the other op still passes.
out=$(EMBER_PERTURB_MODE=error EMBER_PERTURB_OP=sigmoid "$ember" check --backend perturbed --case sigmoid/ 2>&1)
rc=$?
[ $rc -eq 1 ] || fail "error mode: exit status $rc, want 1"
echo "$out" | grep -q "ember_sigmoid returned DEVICE_ERROR" || fail "error mode: DEVICE_ERROR not reported"
echo "$out" | grep -Eq "^  sigmoid +FAILED" || fail "error mode: sigmoid not FAILED"
out=$(EMBER_PERTURB_MODE=error EMBER_PERTURB_OP=sigmoid "$ember" check --backend perturbed --case lookup/ 2>&1) ||
    fail "error mode: the lookup cases failed although only sigmoid errs"

# A backend that crashes the process is a failure naming the case, not a crash of ember check.
out=$(EMBER_PERTURB_MODE=crash EMBER_PERTURB_OP=bce "$ember" check --backend perturbed --case bce/ 2>&1)
rc=$?
echo "$out" | tail -n 4
[ $rc -eq 1 ] || fail "crash mode: exit status $rc, want 1"
echo "$out" | grep -Eq "perturbed: FAILED: the perturbed backend( crashed the process|'s process exited).* during case bce/" ||
    fail "crash mode: the crash is not reported with its case"
echo "$out" | grep -q "^summary: " || fail "crash mode: no summary line"

echo "perturbed_check: ok"
