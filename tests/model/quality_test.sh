#!/usr/bin/env bash
# quality_test.sh: `ember train` with its default settings on a synthetic click log with a
# known best-possible AUC (tests/model/gen_clicklog.c): a separate test file is given, so
# early stopping must still find a validation split; ids have more values than a fixed
# 1,000 buckets hold; a noise field of 20,000 values; two planted crosses. The defaults must
# reach a fraction of the Bayes AUC, and more of it when the true crosses are declared. Then
# issue 10's Adult target: the median test AUC of seeds 1-3 at least 0.912. docs/quality.md
# has the figures.
# Usage: quality_test.sh GEN_CLICKLOG EMBER_BINARY [ADULT_DIR]
set -u
gen=$1
ember=$2
adult=${3:-}
# The fractions of the Bayes AUC demanded here, on 100,000 rows with the default seed
# (docs/quality.md): the defaults reach 0.924 and 0.959 (0.956 and 0.983, medians of seeds
# 1-5, on 400,000 rows, issue 10's targets being 0.95 and 0.98); the defaults before
# issue 10 reached 0.886 and 0.901, those of the first pass at it 0.917 and 0.940, those
# of the second (random initial embeddings) 0.922 and 0.958.
min_default=0.919
min_crossed=0.950
min_adult=0.912
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ember-quality.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail=0

"$gen" --out "$tmp/click" --rows 100000 --test-rows 20000 --seed 1 >"$tmp/truth.json" || exit 1
field() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$@"; }
schema=$(field "$tmp/truth.json" schema)
crosses=$(field "$tmp/truth.json" crosses)
bayes=$(field "$tmp/truth.json" bayes_auc)

train() { # train NAME MIN_FRACTION [flags...]
    local name=$1 min=$2
    shift 2
    "$ember" train --data "$tmp/click.train.csv" --test "$tmp/click.test.csv" --format csv \
        --schema "$schema" --header --threads 1 --quiet --json "$@" >"$tmp/$name.out" 2>&1 || {
        echo "FAIL $name: ember train failed"
        cat "$tmp/$name.out"
        fail=1
        return
    }
    if python3 -c '
import json, sys
d = json.loads(open(sys.argv[1]).read().splitlines()[-1])
bayes, need = float(sys.argv[2]), float(sys.argv[3])
print("%s: test AUC %.4f = %.3f of the Bayes AUC %.4f (need %.3f); best epoch %d of %d"
      % (sys.argv[4], d["auc"], d["auc"] / bayes, bayes, need, d["best_epoch"], d["epochs"]))
sys.exit(0 if d["auc"] >= need * bayes else 1)' "$tmp/$name.out" "$bayes" "$min" "$name"; then
        echo "ok   $name"
    else
        echo "FAIL $name"
        fail=1
    fi
}

train defaults "$min_default"
train crosses_declared "$min_crossed" --cross "$crosses"

if [[ -n $adult && -r $adult/adult.data ]]; then
    for seed in 1 2 3; do
        "$ember" train --data "$adult/adult.data" --test "$adult/adult.test" --format adult \
            --seed $seed --threads 1 --quiet --json >"$tmp/adult$seed.out" 2>&1 || {
            echo "FAIL adult seed $seed: ember train failed"
            cat "$tmp/adult$seed.out"
            fail=1
        }
    done
    if python3 -c '
import json, sys
aucs = sorted(json.loads(open(f).read().splitlines()[-1])["auc"] for f in sys.argv[2:])
need = float(sys.argv[1])
print("adult: test AUC of seeds 1-3 %s, median %.4f (need %.3f)"
      % (" ".join("%.4f" % a for a in aucs), aucs[1], need))
sys.exit(0 if aucs[1] >= need else 1)' "$min_adult" "$tmp"/adult[123].out; then
        echo "ok   adult"
    else
        echo "FAIL adult"
        fail=1
    fi
else
    echo "skip adult: no Adult data in '$adult'"
fi
exit $fail
