#!/usr/bin/env bash
# cli_model_test.sh: the model subcommands end to end through the `ember` program:
# train --json (last stdout line one JSON object), --save + predict (one probability per
# line), params --model equality, encode, resume, corrupt checkpoints, bad flags.
# Usage: cli_model_test.sh EMBER_BINARY ADULT_DIR
set -u
ember=$1
adult=$2
[[ -r $adult/adult.data && -r $adult/adult.test ]] || { echo "SKIP: no Adult data in $adult"; exit 77; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ember-cli-model.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail=0
check() { # check NAME CONDITION-COMMAND...
    local name=$1
    shift
    if "$@"; then echo "ok   $name"; else echo "FAIL $name"; fail=1; fi
}

# train: --json's last line is a JSON object with the promised keys
"$ember" train --data "$adult/adult.data" --test "$adult/adult.test" --format adult --epochs 1 \
    --threads 1 --save "$tmp/m.st" --json >"$tmp/train.out" 2>"$tmp/train.err"
rc=$?
check "train exits 0" test $rc -eq 0
tail -n 1 "$tmp/train.out" >"$tmp/last.json"
check "train --json last line has auc, logloss, accuracy, samples_per_s, params" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert all(k in d for k in ("auc", "logloss", "accuracy", "samples_per_s", "params")), d
assert d["auc"] > 0.88 and d["params"] > 0, d' "$tmp/last.json"
check "train prints the parameter breakdown" grep -q "formula total" "$tmp/train.out"
check "train names the label column and the positive class" \
    grep -q "label: column 'classification', positive class '>50K'" "$tmp/train.out"
printf '@relation iris\n@attribute w numeric\n@attribute class {a,b,c}\n@data\n1,a\n2,b\n3,c\n' \
    >"$tmp/three.arff"
"$ember" train --data "$tmp/three.arff" --epochs 1 --threads 1 >/dev/null 2>"$tmp/three.err"
check "a three-class ARFF label is refused (exit 2), naming --positive" \
    bash -c '[[ $0 -eq 2 ]] && grep -q -- "--positive" "$1"' $? "$tmp/three.err"
"$ember" train --data "$tmp/three.arff" --label class --positive c --epochs 1 --threads 1 \
    >"$tmp/three.out" 2>&1
check "--label and --positive choose it (c against the rest)" \
    grep -q "label: column 'class', positive class 'c' (against the rest)" "$tmp/three.out"
check "checkpoint written with its optimizer state, and no second file" python3 -c '
import json, struct, sys
b = open(sys.argv[1], "rb").read()
h = json.loads(b[8:8 + struct.unpack("<Q", b[:8])[0]])
assert "wide.weight.sum" in h and "out.weight.exp_avg_sq" in h, list(h)
assert h["__metadata__"]["ember.epochs"] == "1", h["__metadata__"]' "$tmp/m.st"
check "no .optim beside it" test ! -e "$tmp/m.st.optim"

# predict: one probability per data line
"$ember" predict --model "$tmp/m.st" --data "$adult/adult.test" --threads 1 >"$tmp/p.txt" 2>"$tmp/p.err"
check "predict exits 0" test $? -eq 0
check "predict writes 16281 lines" test "$(wc -l <"$tmp/p.txt")" -eq 16281
check "predict writes probabilities" python3 -c '
import sys
v = [float(x) for x in open(sys.argv[1])]
assert all(0.0 <= x <= 1.0 for x in v)' "$tmp/p.txt"

# params --model: the file's floats equal the model's count
"$ember" params --model "$tmp/m.st" >"$tmp/params.out" 2>&1
check "params --model: floats in the checkpoint equal the count" grep -q "equals" "$tmp/params.out"

# a directory where a file belongs is named as such (exit 2), never read as empty
"$ember" params --spec "$tmp" >/dev/null 2>"$tmp/dir.err"
check "params --spec DIR: exit 2 naming the directory" \
    bash -c '[[ $0 -eq 2 ]] && grep -q "directory" "$1"' $? "$tmp/dir.err"
"$ember" train --data "$tmp" --format adult --epochs 1 >/dev/null 2>"$tmp/dir2.err"
check "train --data DIR: exit 2 naming the directory" \
    bash -c '[[ $0 -eq 2 ]] && grep -q "directory" "$1"' $? "$tmp/dir2.err"

# encode
"$ember" encode --model "$tmp/m.st" --data "$adult/adult.test" --out "$tmp/enc" >/dev/null 2>&1
check "encode writes CSV + JSON" test -s "$tmp/enc.data.csv" -a -s "$tmp/enc.json"
check "encode writes one row per example" test "$(($(wc -l <"$tmp/enc.data.csv") - 1))" -eq 16281
check "encode's JSON parses and counts the rows" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["rows"]["data"] == 16281 and d["files"]["test"] is None, d' "$tmp/enc.json"

# outputs are created like any other tool's: mode 0666 & ~umask (not mkstemp's 0600)
(umask 022 && "$ember" predict --model "$tmp/m.st" --data "$adult/adult.test" --threads 1 \
    --out "$tmp/p.out" && "$ember" encode --model "$tmp/m.st" --data "$adult/adult.test" \
    --out "$tmp/enc2") >/dev/null 2>&1
check "predict --out writes the same probabilities as stdout" cmp -s "$tmp/p.out" "$tmp/p.txt"
check "predict --out file has mode 644 under umask 022" test "$(stat -c %a "$tmp/p.out")" = 644
check "encode files have mode 644 under umask 022" \
    test "$(stat -c %a "$tmp/enc2.data.csv")$(stat -c %a "$tmp/enc2.json")" = 644644
check "no temporary files left beside the outputs" \
    test -z "$(find "$tmp" -name '*.tmp.*' -print -quit)"

# resume
"$ember" train --data "$adult/adult.data" --resume "$tmp/m.st" --epochs 1 --threads 1 --holdout 0 \
    --quiet --json >"$tmp/resume.out" 2>&1
check "resume exits 0" test $? -eq 0

# a truncated checkpoint: exit 2, one line naming the file
head -c 1000 "$tmp/m.st" >"$tmp/bad.st"
"$ember" predict --model "$tmp/bad.st" --data "$adult/adult.test" >/dev/null 2>"$tmp/bad.err"
rc=$?
check "truncated checkpoint: exit 2" test $rc -eq 2
check "truncated checkpoint: message names the file" grep -q "bad.st" "$tmp/bad.err"

# a malformed data line: exit 2 naming file:line: column; --skip-bad counts it
{ head -n 50 "$adult/adult.data"; echo "1, 2, 3"; tail -n 20 "$adult/adult.data"; } >"$tmp/bad.data"
"$ember" train --data "$tmp/bad.data" --format adult --epochs 1 --threads 1 >/dev/null 2>"$tmp/bd.err"
rc=$?
check "malformed line: exit 2" test $rc -eq 2
check "malformed line: names file, line and column" grep -q "bad.data:51: column 4" "$tmp/bd.err"
"$ember" train --data "$tmp/bad.data" --format adult --epochs 1 --threads 1 --skip-bad >/dev/null 2>"$tmp/sb.err"
check "--skip-bad: exit 0 and a count" bash -c "grep -q 'skipped 1 malformed' '$tmp/sb.err'"

# an id no training row has scores as no id at all: its embedding row is the untrained
# initial one, zero, as its wide weight is (a logistic regression gives it no weight
# either), so unseen values of a field score alike; random initial rows made every unseen
# user of a time-split test file a different random input to the deep part
python3 -c '
import random
r = random.Random(7)
with open("'"$tmp"'/ids.train.csv", "w") as f:
    f.write("y,u,x\n")
    for i in range(2000):
        x = r.gauss(0, 1)
        f.write("%d,u%d,%.3f\n" % (r.random() < 1 / (1 + 2.718 ** (-2 * x)), i % 5, x))
with open("'"$tmp"'/ids.new.csv", "w") as f:
    f.write("y,u,x\n")
    for i in range(20):
        f.write("%d,new%d,0.5\n" % (i % 2, i))'
"$ember" train --data "$tmp/ids.train.csv" --format csv --schema y:label,u:cat,x:num --header \
    --buckets 100000 --epochs 2 --threads 1 --save "$tmp/ids.st" >/dev/null 2>"$tmp/ids.err"
check "train on the id data exits 0" test $? -eq 0
"$ember" predict --model "$tmp/ids.st" --data "$tmp/ids.new.csv" --threads 1 >"$tmp/ids.p" \
    2>>"$tmp/ids.err"
check "predict on 20 unseen ids writes 20 lines" test "$(wc -l <"$tmp/ids.p")" -eq 20
check "20 unseen ids with the same other columns score the same" \
    test "$(sort -u "$tmp/ids.p" | wc -l)" -eq 1

# bad flags: non-zero, one line, no crash
for args in "--epochs x" "--bogus" "--data" "--format nope --data x" "--hidden 0"; do
    "$ember" train $args >/dev/null 2>"$tmp/flag.err"
    rc=$?
    check "train $args: exit 2 with one line" test $rc -eq 2 -a "$(wc -l <"$tmp/flag.err")" -eq 1
done
for cmd in predict encode; do
    "$ember" $cmd --bogus >/dev/null 2>&1
    check "$cmd --bogus: exit 2" test $? -eq 2
    "$ember" $cmd --help >/dev/null 2>&1
    check "$cmd --help: exit 0" test $? -eq 0
done
exit $fail
