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

# small_csv FILE: 300 rows of label,num,city,k with a learnable label.
small_csv() {
    for i in $(seq 1 300); do
        echo "$((i % 3 == 0)),0.$((i % 10)),c$((i % 4)),k$((i % 2))"
    done >"$1"
}

# small_csv's columns over 200000 rows: enough for a progress line to fall due.
big_csv() {
    awk 'BEGIN { for (i = 1; i <= 200000; i++) printf "%d,0.%d,c%d,k%d\n", i % 3 == 0, i % 10, i % 4, i % 2 }' \
        >"$1"
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
    expect_output '^  --epochs N +.*\(default 12\)$'
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
    expect_usage_error bench --index-law nope
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
    # a line of any length is read whole (one of 8 KiB was read as two, the first a cut list)
    vocab=$(printf '1000000,%.0s' $(seq 1 1023))1000000
    printf 'wide 20\nvocab %s\ndim 8\nnumeric 4\nhidden 64,32\n' "$vocab" >"$TMP/long.spec"
    expect_code 0 params --spec "$TMP/long.spec" --json
    expect_output '"embeddings":8192000000,'
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
train_quiet)
    # --quiet drops the banner and the per-epoch lines, not the result
    small_csv "$TMP/small.csv"
    expect_code 0 train --data "$TMP/small.csv" --schema label,num,city:cat,k:cat --epochs 2 --quiet
    cat "$TMP/out"
    expect_output '^final \(validation, [0-9]+ rows, best epoch [0-9] of 2\): auc [0-9.]+ '
    ! grep -Eq '^(epoch|ember train:|model:)' "$TMP/out" || fail "--quiet printed more than the result"
    ;;
train_resume)
    # --resume continues the checkpoint's model: its seed (1 epoch + 1 resumed = 2 epochs, bit
    # for bit, with the holdout split of the same seed), its validation AUC (an epoch that
    # does not beat it is not saved, as in the uninterrupted run) and its bucket counts; flags
    # that ask for another model are refused
    small_csv "$TMP/small.csv"
    common=(--data "$TMP/small.csv" --format csv --schema label,num,city:cat,k:cat --threads 1
        --patience 0)
    # --save writes only epochs that improve the validation AUC: on this data the second epoch
    # does not, so two.st holds the 1-epoch model, and the resumed epoch must not replace it
    expect_code 0 train "${common[@]}" --seed 7 --epochs 2 --save "$TMP/two.st"
    grep -Eq '^epoch  1/2 .* saved$' "$TMP/out" && ! grep -Eq '^epoch  2/2 .* saved$' "$TMP/out" ||
        fail "epoch 1 of 2 saved and epoch 2 not expected: the case does not test the carried AUC"
    expect_code 0 train "${common[@]}" --seed 7 --epochs 1 --save "$TMP/one.st"
    cp "$TMP/one.st" "$TMP/resumed.st"
    expect_code 0 train "${common[@]}" --epochs 1 --resume "$TMP/resumed.st" --save "$TMP/resumed.st"
    expect_output 'seed 7'
    expect_output 'no epoch beat its validation AUC'
    cmp -s "$TMP/two.st" "$TMP/resumed.st" || fail "1 epoch + 1 resumed epoch differs from 2 epochs"
    # without validation every epoch is saved, the resumed one too (and --buckets 1000 agrees
    # with a model of 1,000 buckets per field)
    expect_code 0 train "${common[@]}" --seed 7 --buckets 1000 --holdout 0 --epochs 2 \
        --save "$TMP/two.st"
    grep -Eq '^epoch  2/2 .* saved$' "$TMP/out" || fail "epoch 2 of 2 was not saved: no comparison"
    expect_code 0 train "${common[@]}" --seed 7 --buckets 1000 --holdout 0 --epochs 1 \
        --save "$TMP/one.st"
    expect_code 0 train "${common[@]}" --holdout 0 --epochs 1 --resume "$TMP/one.st" \
        --save "$TMP/resumed.st" --buckets 1000
    cmp -s "$TMP/two.st" "$TMP/resumed.st" || fail "1 epoch + 1 resumed epoch differs from 2 epochs"
    expect_code 0 train "${common[@]}" --epochs 1 --resume "$TMP/one.st" --seed 7 --hidden 64,32
    # a model sized from the data has its own count per field, not the cap --buckets would be
    expect_code 0 train "${common[@]}" --seed 7 --epochs 1 --save "$TMP/auto.st"
    expect_usage_error train "${common[@]}" --epochs 1 --resume "$TMP/auto.st" --buckets 131072
    for flag in "--seed 8" "--emb-dim 16" "--hidden 8" "--buckets 10" "--cross-buckets 7" \
        "--num-buckets 3" "--numeric log" "--format adult" "--schema label,num,city:cat,k:num" \
        "--cross city*k" "--field-buckets city=5" "--positive 1"; do
        # shellcheck disable=SC2086
        expect_usage_error train "${common[@]}" --epochs 1 --resume "$TMP/one.st" $flag
    done
    ;;
train_format)
    # an explicit --schema means csv whatever the file is called; *.csv is csv
    small_csv "$TMP/adult-like.data"
    expect_code 0 train --data "$TMP/adult-like.data" --schema label,num,city:cat,k:cat --epochs 1
    expect_output '\(csv\)'
    small_csv "$TMP/plain.csv"
    expect_code 0 train --data "$TMP/plain.csv" --schema label,num,city:cat,k:cat --epochs 1
    expect_output '\(csv\)'
    expect_usage_error train --data "$TMP/plain.csv" --epochs 1
    grep -q -- '--schema' "$TMP/err" || fail "a csv file without --schema: the message does not say so"
    ;;
train_progress)
    # stderr not a terminal (here a file): a plain progress line every --progress seconds
    big_csv "$TMP/big.csv"
    expect_code 0 train --data "$TMP/big.csv" --schema label,num,city:cat,k:cat --epochs 1 \
        --threads 1 --progress 0.01
    cat "$TMP/err"
    grep -Eq '^ember train: epoch 1/1: [0-9]+ rows of [0-9]+ \([0-9]+%\), .* rows/s, loss [0-9.]+' \
        "$TMP/err" || fail "no plain progress line on stderr"
    expect_code 0 train --data "$TMP/big.csv" --schema label,num,city:cat,k:cat --epochs 1 \
        --threads 1 --progress 0
    [[ ! -s $TMP/err ]] || fail "--progress 0 still printed progress"
    ;;
output_targets)
    # a regular file is replaced atomically; a FIFO (or a device: /dev/stdout) is written in
    # place; a directory, a missing folder and an input are refused with one line, exit 2
    small_csv "$TMP/small.csv"
    schema=(--format csv --schema label,num,city:cat,k:cat)
    expect_code 0 train --data "$TMP/small.csv" "${schema[@]}" --epochs 1 --save "$TMP/m.st"
    mkfifo "$TMP/fifo"
    timeout 20 cat "$TMP/fifo" >"$TMP/from_fifo" &
    reader=$!
    expect_code 0 predict --model "$TMP/m.st" --data "$TMP/small.csv" --out "$TMP/fifo"
    wait "$reader"
    [[ -p $TMP/fifo ]] || fail "predict --out FIFO replaced the FIFO"
    [[ $(wc -l <"$TMP/from_fifo") -eq 300 ]] || fail "predict --out FIFO: the reader got $(wc -l <"$TMP/from_fifo") lines"
    mkdir "$TMP/dir"
    expect_usage_error predict --model "$TMP/m.st" --data "$TMP/small.csv" --out "$TMP/dir"
    [[ -d $TMP/dir ]] || fail "predict --out DIR removed the directory"
    expect_usage_error predict --model "$TMP/m.st" --data "$TMP/small.csv" --out "$TMP/no-dir/p.txt"
    grep -q 'no-dir' "$TMP/err" || fail "predict --out to a missing folder does not name it"
    expect_usage_error train --data "$TMP/small.csv" "${schema[@]}" --save "$TMP/dir"
    expect_usage_error train --data "$TMP/small.csv" "${schema[@]}" --save "$TMP/fifo"
    cp "$TMP/small.csv" "$TMP/data.csv"
    cp "$TMP/m.st" "$TMP/m.copy"
    expect_usage_error train --data "$TMP/data.csv" "${schema[@]}" --save "$TMP/data.csv"
    expect_usage_error predict --model "$TMP/m.st" --data "$TMP/data.csv" --out "$TMP/data.csv"
    expect_usage_error predict --model "$TMP/m.st" --data "$TMP/data.csv" --out "$TMP/m.st"
    cp "$TMP/small.csv" "$TMP/x.data.csv"
    expect_usage_error encode --data "$TMP/x.data.csv" "${schema[@]}" --out "$TMP/x"
    cmp -s "$TMP/small.csv" "$TMP/data.csv" || fail "an output over an input changed the input"
    cmp -s "$TMP/small.csv" "$TMP/x.data.csv" || fail "encode over its input changed the input"
    cmp -s "$TMP/m.st" "$TMP/m.copy" || fail "predict --out MODEL changed the model"
    # a symbolic link stays a link; the file it names gets the output
    ln -s "$TMP/real.txt" "$TMP/link.txt"
    expect_code 0 predict --model "$TMP/m.st" --data "$TMP/small.csv" --out "$TMP/link.txt"
    [[ -L $TMP/link.txt && $(wc -l <"$TMP/real.txt") -eq 300 ]] || fail "predict --out LINK"
    # train --save and encode write through a link too (a checkpoint: the file it names is
    # replaced, the link stays); a dangling link's file is created
    mkdir "$TMP/models"
    ln -s models/m1.st "$TMP/latest.st"
    expect_code 0 train --data "$TMP/small.csv" "${schema[@]}" --epochs 1 --save "$TMP/latest.st"
    [[ -L $TMP/latest.st && -f $TMP/models/m1.st ]] || fail "train --save LINK replaced the link"
    cp "$TMP/models/m1.st" "$TMP/m1.before"
    # (another seed: the same seed's best epoch could be epoch 1 again, the same bytes)
    expect_code 0 train --data "$TMP/small.csv" "${schema[@]}" --epochs 2 --seed 7 \
        --save "$TMP/latest.st"
    [[ -L $TMP/latest.st ]] || fail "train --save over an existing LINK replaced the link"
    cmp -s "$TMP/models/m1.st" "$TMP/m1.before" && fail "train --save LINK did not replace the file it names"
    ls "$TMP/models" | grep -q tmp && fail "temporaries left beside the link's file: $(ls "$TMP/models")"
    # a replaced file keeps its mode (a private checkpoint stays private); a new one gets
    # 0666 & ~umask
    chmod 600 "$TMP/models/m1.st"
    expect_code 0 train --data "$TMP/small.csv" "${schema[@]}" --epochs 1 --save "$TMP/latest.st"
    [[ $(stat -c %a "$TMP/models/m1.st") == 600 ]] ||
        fail "train --save over a 0600 file left mode $(stat -c %a "$TMP/models/m1.st")"
    chmod 640 "$TMP/real.txt"
    expect_code 0 predict --model "$TMP/m.st" --data "$TMP/small.csv" --out "$TMP/real.txt"
    [[ $(stat -c %a "$TMP/real.txt") == 640 ]] ||
        fail "predict --out over a 0640 file left mode $(stat -c %a "$TMP/real.txt")"
    (umask 027 && "$EMBER" predict --model "$TMP/m.st" --data "$TMP/small.csv" --out "$TMP/new.txt")
    [[ $(stat -c %a "$TMP/new.txt") == 640 ]] || fail "a new output under umask 027: mode $(stat -c %a "$TMP/new.txt")"
    ln -s models/enc.json "$TMP/e.json"
    expect_code 0 encode --data "$TMP/small.csv" "${schema[@]}" --out "$TMP/e"
    [[ -L $TMP/e.json && -s $TMP/models/enc.json && -f $TMP/e.data.csv ]] || fail "encode --out through a link"
    # a link to an input is the input; a dangling link into a missing folder is refused
    ln -s data.csv "$TMP/data.link"
    expect_usage_error train --data "$TMP/data.csv" "${schema[@]}" --save "$TMP/data.link"
    expect_usage_error predict --model "$TMP/m.st" --data "$TMP/data.csv" --out "$TMP/data.link"
    ln -s "$TMP/latest.st" "$TMP/model.link"
    expect_usage_error predict --model "$TMP/model.link" --data "$TMP/data.csv" --out "$TMP/latest.st"
    cmp -s "$TMP/small.csv" "$TMP/data.csv" || fail "an output linked to an input changed the input"
    ln -s no-dir/m.st "$TMP/nowhere.st"
    expect_usage_error train --data "$TMP/small.csv" "${schema[@]}" --save "$TMP/nowhere.st"
    grep -q 'no-dir' "$TMP/err" || fail "--save to a dangling link into a missing folder does not name it"
    ;;
column_names)
    # a column name that is not UTF-8 (a checkpoint's header is JSON, which is UTF-8), or two
    # columns of one name (each keys its tensors), are refused with one line naming them;
    # UTF-8 names train, and the checkpoint's header is JSON
    small_csv "$TMP/small.csv"
    { echo "y,prix,ville,k"; cat "$TMP/small.csv"; } >"$TMP/header.csv"
    expect_usage_error train --data "$TMP/header.csv" --header --format csv \
        --schema $'label,prix:num,vill\xe9:cat,k:cat' --epochs 1 --save "$TMP/m.st"
    grep -aq 'column 3 is not UTF-8' "$TMP/err" || fail "a name that is not UTF-8: not named"
    expect_usage_error train --data "$TMP/header.csv" --header --format csv \
        --schema label,prix:num,k:cat,k:cat --epochs 1 --save "$TMP/m.st"
    grep -aq "columns 3 and 4 are both named 'k'" "$TMP/err" || fail "two columns named k: not named"
    [[ ! -e $TMP/m.st ]] || fail "a checkpoint was written for a refused schema"
    expect_code 0 train --data "$TMP/header.csv" --header --format csv \
        --schema $'label,prix\xe2\x82\xac:num,ville:cat,k:cat' --epochs 1 --save "$TMP/m.st"
    python3 - "$TMP/m.st" <<'PY' || fail "the checkpoint's header is not UTF-8 JSON"
import json, struct, sys
blob = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", blob[:8])[0]
header = json.loads(blob[8:8 + n].decode("utf-8"))
schema = json.loads(header["__metadata__"]["ember.schema"])
assert [c["name"] for c in schema["columns"]][1] == "prix\u20ac", schema
PY
    printf '@relation r\n@attribute a numeric\n@attribute a numeric\n@attribute class {n,y}\n@data\n1,2,y\n3,4,n\n' >"$TMP/dup.arff"
    expect_code 2 train --data "$TMP/dup.arff" --epochs 1
    grep -aq "columns 1 and 2 are both named 'a'" "$TMP/err" || fail "an ARFF file with two attributes a: $(cat "$TMP/err")"
    ;;
csv_header)
    # --header: the first line names the columns --schema leaves unnamed (as pandas takes
    # them), so --cross can use them and the checkpoint keeps them; resuming names them the
    # same way; a header of another column count is refused naming the file and line 1
    small_csv "$TMP/small.csv"
    { echo "y,prix,ville,k"; cat "$TMP/small.csv"; } >"$TMP/header.csv"
    expect_code 0 train --data "$TMP/header.csv" --header --format csv --schema label,num,cat,k:cat \
        --cross ville*k --epochs 1 --save "$TMP/m.st"
    python3 - "$TMP/m.st" <<'PY' || fail "the header's names are not the checkpoint's"
import json, struct, sys
blob = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", blob[:8])[0]
schema = json.loads(json.loads(blob[8:8 + n])["__metadata__"]["ember.schema"])
names = [c["name"] for c in schema["columns"]]
assert names == ["y", "prix", "ville", "k"], names
PY
    expect_code 0 train --data "$TMP/header.csv" --header --format csv --schema label,num,cat,k:cat \
        --cross ville*k --epochs 2 --resume "$TMP/m.st" --save "$TMP/m.st"
    { echo "y,prix,ville"; cat "$TMP/small.csv"; } >"$TMP/short.csv"
    cp "$TMP/m.st" "$TMP/m.before"
    expect_usage_error train --data "$TMP/short.csv" --header --format csv --schema label,num,cat,k:cat \
        --epochs 1 --save "$TMP/m.st"
    grep -q "short.csv:1:" "$TMP/err" || fail "a short header line is not named"
    cmp -s "$TMP/m.st" "$TMP/m.before" || fail "a refused header changed the checkpoint"
    # the model's columns in another order (its two categorical columns swapped, values and
    # all) would be read by position, each column's values reaching the other's features
    awk -F, 'BEGIN { OFS = "," } { t = $3; $3 = $4; $4 = t; print }' "$TMP/header.csv" >"$TMP/swapped.csv"
    expect_usage_error predict --model "$TMP/m.st" --data "$TMP/swapped.csv" --out "$TMP/p.out"
    grep -q "swapped.csv:1 (the header line): column 3 is 'k', which the model reads as column 4" \
        "$TMP/err" || fail "a header in another order: $(cat "$TMP/err")"
    [[ ! -e "$TMP/p.out" ]] || fail "a refused header still wrote predictions"
    expect_usage_error train --resume "$TMP/m.st" --data "$TMP/header.csv" --test "$TMP/swapped.csv" \
        --epochs 3 --save "$TMP/m.st"
    cmp -s "$TMP/m.st" "$TMP/m.before" || fail "a refused test header changed the checkpoint"
    # two header names alike, and names the spec gives itself are kept
    { echo "y,a,a,k"; cat "$TMP/small.csv"; } >"$TMP/dup.csv"
    expect_usage_error train --data "$TMP/dup.csv" --header --format csv --schema label,num,cat,k:cat --epochs 1
    grep -q "dup.csv:1 (the header line): columns 2 and 3 are both named 'a'" "$TMP/err" || fail "two header names alike"
    expect_code 0 train --data "$TMP/dup.csv" --header --format csv --schema label,p:num,c:cat,k:cat \
        --cross c*k --epochs 1
    # a pipe's first line is not read for names (the reader would lose it): name the columns
    mkfifo "$TMP/pipe"
    expect_usage_error train --data "$TMP/pipe" --header --format csv --schema label,num,cat,k:cat --epochs 1
    grep -q "name every column" "$TMP/err" || fail "a pipe with unnamed columns: $(cat "$TMP/err")"
    ;;
long_names)
    # names and label values hold 63 bytes: a longer one is refused naming where it is,
    # never cut (two classes sharing 63 bytes would have become one)
    long=$(printf 'v%.0s' $(seq 1 63))
    printf '@relation r\n@attribute x numeric\n@attribute class {%sA,%sB}\n@data\n1,%sA\n2,%sB\n' \
        "$long" "$long" "$long" "$long" >"$TMP/long.arff"
    expect_usage_error train --data "$TMP/long.arff" --epochs 1 --save "$TMP/m.st"
    grep -q "long.arff:3: attribute class: nominal value '${long}...' is longer than 63 bytes" "$TMP/err" ||
        fail "a long nominal value is not named"
    [[ ! -e $TMP/m.st ]] || fail "a checkpoint was written for a refused ARFF header"
    small_csv "$TMP/small.csv"
    expect_usage_error train --data "$TMP/small.csv" --format csv --schema "label,${long}xy:num,cat,cat" --epochs 1
    grep -q "column 2: name" "$TMP/err" || fail "a long column name is not named"
    expect_usage_error train --data "$TMP/small.csv" --format csv --schema label,num,cat,cat \
        --positive "${long}xy" --epochs 1
    grep -q -- "--positive" "$TMP/err" || fail "a long --positive is not named"
    # 63-byte names fit everywhere: in 16 crosses of 4 columns (the most there can be), whose
    # text the checkpoint keeps whole, so predict rebuilds the same model
    a=${long:1}a b=${long:1}b c=${long:1}c d=${long:1}d
    for i in $(seq 1 200); do echo "$((i % 3 == 0)),a$((i % 4)),b$((i % 2)),c$((i % 5)),d$((i % 3))"; done >"$TMP/s4.csv"
    cross="$a*$b*$c*$d"
    for i in $(seq 2 16); do cross="$cross,$a*$b*$c*$d"; done
    expect_code 0 train --data "$TMP/s4.csv" --format csv --schema "label,$a:cat,$b:cat,$c:cat,$d:cat" \
        --cross "$cross" --epochs 1 --save "$TMP/x.st"
    expect_code 0 predict --model "$TMP/x.st" --data "$TMP/s4.csv" --out "$TMP/p.txt"
    ;;
encode_together)
    # encode's files appear together or not at all: a bad --test line leaves the earlier
    # run's files as they were, and no temporaries
    small_csv "$TMP/a.csv"
    schema=(--format csv --schema label,num,city:cat,k:cat)
    expect_code 0 encode --data "$TMP/a.csv" "${schema[@]}" --out "$TMP/enc"
    sums=$(cat "$TMP/enc.data.csv" "$TMP/enc.json" | md5sum)
    head -n 100 "$TMP/a.csv" >"$TMP/b.csv"
    { head -n 10 "$TMP/a.csv"; echo "1,2"; } >"$TMP/bad.csv"
    expect_code 2 encode --data "$TMP/b.csv" --test "$TMP/bad.csv" "${schema[@]}" --out "$TMP/enc"
    [[ $(cat "$TMP/enc.data.csv" "$TMP/enc.json" | md5sum) == "$sums" ]] ||
        fail "a failed encode changed the files of the earlier run"
    [[ ! -e $TMP/enc.test.csv ]] || fail "a failed encode left a test file"
    ls "$TMP" | grep -q tmp && fail "temporaries left behind: $(ls "$TMP")"
    expect_code 0 encode --data "$TMP/b.csv" --test "$TMP/a.csv" "${schema[@]}" --out "$TMP/enc"
    [[ $(($(wc -l <"$TMP/enc.data.csv") - 1)) -eq 100 && $(($(wc -l <"$TMP/enc.test.csv") - 1)) -eq 300 ]] ||
        fail "encode --test: wrong row counts"
    ;;
encode_stats)
    # encode takes its feature statistics as train does, from every row of --data (the
    # held-out validation rows included): the same encoding as the trained model's
    small_csv "$TMP/small.csv"
    schema=(--format csv --schema label,num,city:cat,k:cat)
    expect_code 0 train --data "$TMP/small.csv" "${schema[@]}" --holdout 0.5 --epochs 1 \
        --save "$TMP/m.st"
    expect_code 0 encode --data "$TMP/small.csv" "${schema[@]}" --out "$TMP/plain"
    expect_code 0 encode --data "$TMP/small.csv" --model "$TMP/m.st" --out "$TMP/model"
    cmp -s "$TMP/plain.data.csv" "$TMP/model.data.csv" ||
        fail "encode and the model trained on the same file encode it differently"
    ;;
train_saved)
    # no "model saved" when nothing was saved: one-class validation data never improves
    small_csv "$TMP/small.csv"
    for i in $(seq 1 50); do echo "0,0.$((i % 10)),c$((i % 4)),k$((i % 2))"; done >"$TMP/one.csv"
    run train --data "$TMP/small.csv" --valid "$TMP/one.csv" --format csv \
        --schema label,num,city:cat,k:cat --epochs 2 --save "$TMP/m.st"
    cat "$TMP/out" "$TMP/err"
    [[ ! -e $TMP/m.st ]] || fail "a checkpoint was written although no epoch improved"
    ! grep -q 'model saved' "$TMP/out" || fail "'model saved' printed but nothing was saved"
    [[ $rc -ne 0 ]] || expect_output "^nothing saved to $TMP/m.st"
    ;;
adult_first_line)
    # --format adult skips a first line that is not data (a header, adult.test's
    # "|1x3 Cross validator") and keeps one that is
    row='39, State-gov, 77516, Bachelors, 13, Never-married, Adm-clerical, Not-in-family, White, Male, 2174, 0, 40, United-States'
    for i in $(seq 1 40); do echo "$row, $([[ $((i % 3)) == 0 ]] && echo '>50K' || echo '<=50K')"; done >"$TMP/plain.data"
    { echo '|1x3 Cross validator'; cat "$TMP/plain.data"; } >"$TMP/uci.test"
    { echo 'age, workclass, fnlwgt, education, education-num, marital-status, occupation, relationship, race, sex, capital-gain, capital-loss, hours-per-week, native-country, classification'
      cat "$TMP/plain.data"; } >"$TMP/header.data"
    for f in plain.data uci.test header.data; do
        expect_code 0 encode --data "$TMP/$f" --format adult --out "$TMP/enc"
        [[ $(($(wc -l <"$TMP/enc.data.csv") - 1)) -eq 40 ]] ||
            fail "--format adult on $f: $(($(wc -l <"$TMP/enc.data.csv") - 1)) rows, expected 40"
    done
    ;;
train_first_pass)
    # progress while the first pass reads the data for its statistics
    big_csv "$TMP/big.csv"
    expect_code 0 train --data "$TMP/big.csv" --schema label,num,city:cat,k:cat --epochs 0 \
        --threads 1 --progress 0.01
    cat "$TMP/err"
    grep -Eq '^ember train: first pass over .*big.csv: [0-9]+ rows' "$TMP/err" ||
        fail "no progress line during the first pass"
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
