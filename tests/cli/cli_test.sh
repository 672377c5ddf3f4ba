#!/usr/bin/env bash
# cli_test.sh: behaviour tests of the `ember` program. Usage: cli_test.sh EMBER CASE
# Exit 0 pass, 1 fail, 77 skip (the case does not apply to this build).
set -u
EMBER=$1
CASE=$2
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
failures=0

fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}

# run ARGS...: runs ember, leaving its exit code in $rc and its output in $TMP/out, $TMP/err.
run() {
    "$EMBER" "$@" >"$TMP/out" 2>"$TMP/err" </dev/null
    rc=$?
}

# expect_code CODE ARGS...: ember ARGS exits with CODE.
expect_code() {
    local want=$1
    shift
    run "$@"
    if [[ $rc -ne $want ]]; then
        fail "ember $* exited $rc, expected $want; stderr: $(head -c 400 "$TMP/err")"
        return 1
    fi
}

# expect_usage_error ARGS...: exit 2, exactly one line on stderr naming the problem, and no
# crash (a signal would give 128+N; a sanitizer report would give 1 and many lines).
expect_usage_error() {
    run "$@"
    local lines
    lines=$(wc -l <"$TMP/err")
    if [[ $rc -ne 2 ]]; then
        fail "ember $* exited $rc (expected 2: bad usage); stderr: $(head -c 400 "$TMP/err")"
    elif [[ $lines -ne 1 ]]; then
        fail "ember $* printed $lines lines on stderr (expected one line): $(head -c 400 "$TMP/err")"
    else
        echo "ok: ember $* -> 2: $(cat "$TMP/err")"
    fi
}

# expect_output PATTERN: $TMP/out matches the extended regex PATTERN.
expect_output() {
    if ! grep -Eq -- "$1" "$TMP/out"; then
        fail "output lacks /$1/; output was:"
        cat "$TMP/out"
    fi
}

built_commands() {
    "$EMBER" --help | awk '/^commands:/ {on = 1; next} on && NF {print $1}'
}

case $CASE in
help)
    expect_code 0 --help && expect_output '^usage: ember'
    expect_code 0 --version && expect_output '^ember [0-9]+\.[0-9]+\.[0-9]+'
    for cmd in $(built_commands); do
        expect_code 0 "$cmd" --help && [[ -s $TMP/out ]] || fail "ember $cmd --help printed nothing"
        expect_output "^usage: ember $cmd "
        expect_code 0 "$cmd" -h
    done
    # the help comes from the flag table: each flag with its default, shown before any
    # flag given beside --help changed it
    expect_code 0 train --epochs 3 --help
    expect_output '^  --epochs N +.*\(default 8\)$'
    expect_output '^  --batch N +.*\(default 64\)$'
    expect_code 0 bench --reps=5 -h
    expect_output '^  --reps N +.*\(default 20\)$'
    ;;
bad_flags)
    expect_usage_error
    expect_usage_error no-such-command
    expect_usage_error --no-such-flag
    for cmd in $(built_commands); do
        expect_usage_error "$cmd" --no-such-flag
    done
    expect_usage_error demo --backend
    expect_usage_error demo --backend nope
    expect_usage_error demo --backend=
    expect_usage_error demo --device x
    expect_usage_error demo --device 99999999999999999999
    expect_usage_error devices extra
    expect_usage_error devices --json=yes
    expect_usage_error train --data x --epochs
    expect_usage_error train --data x --lr=-1
    expect_usage_error train --data x --hidden 64,0
    expect_usage_error train --data x --wide-opt ftrl
    expect_usage_error bench --dist nope
    expect_usage_error bench --model other
    expect_usage_error predict --model m --data d --batch 0
    expect_usage_error encode --data d --out p --format nope
    expect_usage_error params --hidden 64,,32
    expect_usage_error params --hidden 64,x
    expect_usage_error params --hidden 0
    expect_usage_error params --numeric -5
    expect_usage_error params --vocab 10,20 --dim 3,4,5
    expect_usage_error params --spec "$TMP/no-such-file"
    printf 'hidden 64,32\nbogus 3\n' >"$TMP/bad.spec"
    expect_usage_error params --spec "$TMP/bad.spec"
    printf 'hidden\n' >"$TMP/bad2.spec"
    expect_usage_error params --spec "$TMP/bad2.spec"
    # sizes whose total overflows int64
    expect_usage_error params --vocab 1099511627776,1099511627776,1099511627776 --dim 1099511627776
    ;;
demo)
    expect_code 0 demo || cat "$TMP/out" "$TMP/err"
    cat "$TMP/out"
    # row 2 (3.1 3.2 3.3) moves by -0.1; it is the only row marked as changed.
    expect_output '^  row 2: +3\.1000 +3\.2000 +3\.3000$'
    expect_output '^  row 2: +3\.0000 +3\.1000 +3\.2000 +<- changed: -0\.1000 -0\.1000 -0\.1000$'
    expect_output '^  row 2: +1\.0000 +1\.0000 +1\.0000$'
    [[ $(grep -c '<- changed' "$TMP/out") -eq 1 ]] || fail "more than one row marked as changed"
    [[ $(grep -c ': ok$' "$TMP/out") -eq 2 ]] || fail "the demo's own checks did not both pass"
    ;;
demo_opencl)
    if ! "$EMBER" --version | grep -q opencl; then
        if [[ ${EMBER_REQUIRE_OPENCL:-0} == 1 ]]; then
            fail "EMBER_REQUIRE_OPENCL=1 but OpenCL is not compiled in: $("$EMBER" --version)"
        else
            echo "skip: OpenCL not compiled in"
            exit 77
        fi
    else
        run demo --backend opencl
        cat "$TMP/out" "$TMP/err"
        if [[ $rc -ne 0 && ${EMBER_REQUIRE_OPENCL:-0} != 1 ]] && grep -q NO_DEVICE "$TMP/err"; then
            echo "skip: no OpenCL device"
            exit 77
        fi
        [[ $rc -eq 0 ]] || fail "ember demo --backend opencl exited $rc"
        expect_output '^  row 2: +3\.0000 +3\.1000 +3\.2000 +<- changed: -0\.1000 -0\.1000 -0\.1000$'
        [[ $(grep -c ': ok$' "$TMP/out") -eq 2 ]] || fail "the demo's own checks did not both pass"
    fi
    ;;
params)
    expect_code 0 params
    cat "$TMP/out"
    expect_output '2 x 10 crossed.* = 21$'
    expect_output '1000 x 300 .* = 300000$'
    expect_output '100 -> 64 -> 32 .* = 8544$'
    expect_code 0 params --json
    expect_output '"crossed_2x10_wide":21,"table_1000x300_embeddings":300000,"tower_100_64_32_dnn":8544'
    ;;
params_model)
    # wide 20 + 1 = 21; embeddings 1000*8 + 50*8 = 8400; n_0 = 16 + 4 = 20;
    # dnn 20*64+64 + 64*32+32 = 3424; output 20 + 32 + 1 = 53; formula total 11898;
    # allocated = 11898 - 21 = 11877.
    want='{"d_wide":20,"d_deep":32,"wide":21,"embeddings":8400,"dnn":3424,"output":53,"formula_total":11898,"shared":21,"allocated":11877}'
    expect_code 0 params --wide 20 --vocab 1000,50 --dim 8 --numeric 4 --hidden 64,32 --json
    [[ $(cat "$TMP/out") == "$want" ]] || fail "params --json gave $(cat "$TMP/out"), expected $want"
    printf '# a spec file\nwide = 20\nvocab: 1000,50\ndim 8,8\nnumeric 4  # numeric features\n\nhidden 64,32\n' >"$TMP/m.spec"
    expect_code 0 params --spec "$TMP/m.spec" --json
    [[ $(cat "$TMP/out") == "$want" ]] || fail "params --spec gave $(cat "$TMP/out"), expected $want"
    expect_code 0 params --spec "$TMP/m.spec"
    cat "$TMP/out"
    expect_output 'total by the formulas +11898$'
    expect_output 'allocated by ember.s model +11877$'
    expect_output 'allocated = 11898 - 21 = 11877'
    ;;
params_checkpoint)
    # `ember params --model` on a checkpoint `ember train` saved: its count equals the
    # floats in the file (with and without hidden layers); bad files are one-line errors.
    expect_usage_error params --model "$TMP/no-such-file"
    head -c 100 /dev/urandom >"$TMP/junk.safetensors"
    expect_usage_error params --model "$TMP/junk.safetensors"
    for i in $(seq 1 200); do
        echo "$((i % 3 == 0)),0.$((i % 10)),c$((i % 4)),k$((i % 2))"
    done >"$TMP/small.csv"
    for hidden in 16,8 none; do
        expect_code 0 train --data "$TMP/small.csv" --format csv --schema label,num,city:cat,k:cat \
            --epochs 1 --hidden "$hidden" --save "$TMP/m.safetensors" --quiet || continue
        expect_code 0 params --model "$TMP/m.safetensors" --json
        cat "$TMP/out"
        expect_output '"allocated":([0-9]+),.*"checkpoint_floats":\1\}$'
        expect_code 0 params --model "$TMP/m.safetensors"
        expect_output '^floats in the checkpoint +[0-9]+ \(equals the model.s count\)$'
    done
    # a truncated checkpoint
    head -c 200 "$TMP/m.safetensors" >"$TMP/cut.safetensors"
    expect_usage_error params --model "$TMP/cut.safetensors"
    ;;
devices)
    expect_code 0 devices
    cat "$TMP/out"
    expect_output '^cpu +1 device$'
    expect_output '^  \[0\] '
    expect_output '^cuda '
    expect_output '^opencl '
    expect_code 0 devices --json
    expect_output '^\{"backends":\[\{"backend":"cpu","compiled":true,"status":"SUCCESS","devices":\[\{"index":0,'
    ;;
*)
    echo "unknown case $CASE"
    exit 1
    ;;
esac

if ((failures)); then
    echo "$CASE: $failures failure(s)"
    exit 1
fi
echo "$CASE: passed"
