#!/usr/bin/python3
"""Issue 10's quality targets for `ember train`'s defaults, checked in one run
(docs/quality.md); exits 1 when one is missed.

    bench/quality_targets.py --ember build/bin/ember --gen build/bin/gen_clicklog
                             --adult ../shared/data/adult [--movielens PREFIX]
                             [--seeds 1,2,3,4,5] [--rows 400000] [--work DIR]
                             [--compare OTHER_EMBER]

Targets, each on the median test AUC over the seeds:
  - on every data set, the defaults at least scikit-learn's LogisticRegression on the same
    columns, fitted in the same run (bench/lr_baseline.py);
  - Adult at least 0.912;
  - the synthetic click log (tests/model/gen_clicklog.c, --rows training rows, seed 1) at
    least 0.95 of its Bayes AUC, and at least 0.98 with the two true crosses declared.
MovieLens 100k is PREFIX.train.csv and PREFIX.test.csv from bench/movielens_csv.py (its
schema is the one that script prints); without --movielens it is left out, and said so.
--compare also reports another build's medians on the same files in the same run (e.g. the
defaults before a change; no target is checked on it). Prints one line per data set and one
per target, then exits 0 (all met) or 1."""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ADULT_SCHEMA = ("age:num,workclass:cat,fnlwgt:num,education:cat,education-num:num,"
                "marital-status:cat,occupation:cat,relationship:cat,race:cat,sex:cat,"
                "capital-gain:num,capital-loss:num,hours-per-week:num,native-country:cat,"
                "classification:label")
ML_SCHEMA = "label,user:cat,item:cat,age:num,gender:cat,occupation:cat,zip:cat,year:num,genres:multi:|"


def ember_auc(ember, args, seed):
    out = subprocess.run([ember, "train", *args, "--seed", str(seed), "--threads", "1",
                          "--quiet", "--json"], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.splitlines()[-1])["auc"]


def lr_auc(train, test, schema, extra):
    out = subprocess.run([sys.executable, os.path.join(HERE, "lr_baseline.py"), "--train", train,
                          "--test", test, "--schema", schema, "--header", *extra],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.splitlines()[-1])["auc"]


def data_sets(a, work):
    """(name, ember args, LR args (train, test, schema, extra), Bayes AUC or None) each."""
    sets = []
    ad = a.adult
    sets.append(("adult", ["--data", f"{ad}/adult.data", "--test", f"{ad}/adult.test",
                           "--format", "adult"],
                 (f"{ad}/adult.data", f"{ad}/adult.test", ADULT_SCHEMA,
                  ["--positive", ">50K", "--C", "1,0.3,0.1"]), None))
    if a.movielens:
        ml = a.movielens
        sets.append(("movielens", ["--data", f"{ml}.train.csv", "--test", f"{ml}.test.csv",
                                   "--format", "csv", "--schema", ML_SCHEMA, "--header"],
                     (f"{ml}.train.csv", f"{ml}.test.csv", ML_SCHEMA,
                      ["--C", "1,0.3,0.1,0.03"]), None))
    click = os.path.join(work, "click")
    truth = json.loads(subprocess.run(
        [a.gen, "--out", click, "--rows", str(a.rows), "--test-rows", "20000", "--seed", "1"],
        check=True, capture_output=True, text=True).stdout)
    base = ["--data", f"{click}.train.csv", "--test", f"{click}.test.csv", "--format", "csv",
            "--schema", truth["schema"], "--header"]
    lr = (f"{click}.train.csv", f"{click}.test.csv", truth["schema"])
    sets.append(("click", base, (*lr, ["--C", "1,0.3,0.1,0.03"]), truth["bayes_auc"]))
    sets.append(("click+crosses", base + ["--cross", truth["crosses"]],
                 (*lr, ["--C", "0.3", "--num-bins", "10", "--cross", truth["crosses"]]),
                 truth["bayes_auc"]))
    return sets


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--ember", required=True)
    ap.add_argument("--gen", required=True, help="gen_clicklog (built with the tests)")
    ap.add_argument("--adult", required=True, help="the folder of adult.data and adult.test")
    ap.add_argument("--movielens", help="PREFIX of bench/movielens_csv.py's files")
    ap.add_argument("--seeds", default="1,2,3,4,5")
    ap.add_argument("--rows", type=int, default=400000, help="synthetic training rows")
    ap.add_argument("--work", help="folder for the synthetic log (default: a temporary one)")
    ap.add_argument("--compare", help="another ember program to report beside (no targets)")
    a = ap.parse_args()
    seeds = [int(s) for s in a.seeds.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        work = a.work or tmp
        checks = []
        for name, args, lr, bayes in data_sets(a, work):
            aucs = [ember_auc(a.ember, args, s) for s in seeds]
            med = statistics.median(aucs)
            base = lr_auc(*lr)
            print("%-14s ember %s median %.4f | logistic regression %.4f%s" % (
                name, " ".join("%.4f" % x for x in aucs), med, base,
                " | Bayes %.4f, ember %.3f of it" % (bayes, med / bayes) if bayes else ""))
            if a.compare:
                other = [ember_auc(a.compare, args, s) for s in seeds]
                print("%-14s compared: %s median %.4f" % (
                    name, " ".join("%.4f" % x for x in other), statistics.median(other)))
            checks.append(("%s: ember >= logistic regression" % name, med >= base))
            if name == "adult":
                checks.append(("adult: ember >= 0.912", med >= 0.912))
            if bayes:
                need = 0.98 if "crosses" in name else 0.95
                checks.append(("%s: ember >= %.2f of Bayes" % (name, need), med >= need * bayes))
        if not a.movielens:
            print("movielens: left out (no --movielens)")
    for what, ok in checks:
        print("%s %s" % ("met    " if ok else "MISSED ", what))
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
