#!/usr/bin/env bash
# run-main.sh: the main job of `make run`, on an already built tree (argument: the build
# folder, default build). Once the Wide&Deep trainer is built in (`ember train --help`
# works), it trains on the German credit data; until then it runs the seed walkthrough
# (`ember demo`) and lists the devices (`ember devices`).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
ember=$build/bin/ember
[[ -x $ember ]] || { echo "run-main.sh: $ember is not built (run make run)" >&2; exit 1; }

if "$ember" train --help >/dev/null 2>&1 && [[ -x scripts/fetch-data.sh ]]; then
    # The main job: Wide&Deep on credit-g (from Debian's weka package), on the CPU.
    data=$(scripts/fetch-data.sh)
    echo "== ember train on $data (Wide&Deep, CPU backend)"
    "$ember" train --data "$data" --format arff --backend cpu --save "$build/credit-g.safetensors"
    echo
    echo "== ember params --model $build/credit-g.safetensors"
    "$ember" params --model "$build/credit-g.safetensors"
    exit 0
fi

echo "== ember demo: the seed walkthrough on the CPU backend"
"$ember" demo --backend cpu
echo
echo "== ember devices"
"$ember" devices
