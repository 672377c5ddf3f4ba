#!/usr/bin/env bash
# run-main.sh: the main job of `make run`, on an already built tree (argument: the build
# folder, default build): train Wide&Deep on the German credit data (credit-g.arff from
# Debian's weka package, fetched offline by scripts/fetch-data.sh) on the CPU, save the
# model, and show that the checkpoint holds exactly the parameters the model counts.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
ember=$build/bin/ember
[[ -x $ember ]] || { echo "run-main.sh: $ember is not built (run make run)" >&2; exit 1; }

data=$(scripts/fetch-data.sh)
echo "== ember train on $data (Wide&Deep, CPU backend)"
"$ember" train --data "$data" --format arff --backend cpu --save "$build/credit-g.safetensors"
echo
echo "== ember params --model $build/credit-g.safetensors"
"$ember" params --model "$build/credit-g.safetensors"
