#!/usr/bin/env bash
# format.sh: the tree's C, CUDA and OpenCL C sources in .clang-format's style (clang-format
# 14, Debian 12's). With --check it changes nothing and exits 1 when a file differs, naming
# it; .ci/run runs it that way, so the style is enforced rather than suggested.
#
# usage: scripts/format.sh [--check]
set -euo pipefail
cd "$(dirname "$0")/.."
command -v clang-format >/dev/null || {
    echo "format.sh: clang-format is not installed (scripts/install-deps.sh --format)" >&2
    exit 2
}
mapfile -t files < <(git ls-files '*.c' '*.h' '*.cu' '*.cuh' '*.cl')
if [[ ${1:-} == --check ]]; then
    bad=0
    for f in "${files[@]}"; do
        if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
            echo "format.sh: $f is not formatted (run scripts/format.sh)"
            bad=1
        fi
    done
    ((bad == 0)) && echo "format.sh: ${#files[@]} files formatted as .clang-format says"
    exit "$bad"
fi
clang-format -i "${files[@]}"
