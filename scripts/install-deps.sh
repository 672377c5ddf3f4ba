#!/usr/bin/env bash
# install-deps.sh: installs the Debian packages ember needs to build, test and run, when
# they are missing. As root with apt it installs them; otherwise it prints the command.
#
# usage: scripts/install-deps.sh [--data] [--bench] [--fuzz] [--format] [--check]
#   --data        also make sure apt's package lists know weka, whose .deb
#                 scripts/fetch-data.sh downloads for the credit-g data of `make run`
#   --bench       also python3-sklearn (bench/lr_baseline.py, the logistic-regression baseline)
#   --fuzz        also clang with its libFuzzer and OpenMP (tests/fuzz; .ci/run uses it)
#   --format      also clang-format (scripts/format.sh; .ci/run checks the tree with it)
#   --check       only report what is missing (exit 1 if anything is), install nothing
#
# A machine that already has everything costs one dpkg-query and no apt call; the package
# lists are refreshed (apt-get update) only when something is missing.
set -euo pipefail

packages=(
    build-essential cmake ninja-build pkg-config  # C11 compiler, CMake >= 3.25, Ninja
    libopenblas-dev                               # CBLAS for the CPU dense layers
    libopenblas-serial-dev                        # ...its serial build, which ember links
    libcriterion-dev                              # the test framework
    ocl-icd-opencl-dev opencl-headers libclblast-dev  # the OpenCL backend and its GEMMs
    pocl-opencl-icd clinfo                        # an OpenCL device on the CPU (tests, CI)
    libopenmpi-dev openmpi-bin                    # libember_dist (tables sharded over MPI)
    python3 python3-numpy python3-pytest python3-torch  # the Python package and its tests
)
check_only=0
data=0
for arg in "$@"; do
    case $arg in
    --data) data=1 ;;
    --bench) packages+=(python3-sklearn) ;;
    --fuzz) packages+=(clang libclang-rt-dev libomp-dev) ;;
    --format) packages+=(clang-format) ;;
    --check) check_only=1 ;;
    -h | --help)
        awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
        exit 0
        ;;
    *)
        echo "install-deps.sh: unknown argument '$arg' (try --help)" >&2
        exit 2
        ;;
    esac
done

# One dpkg-query for all: "ii " marks an installed package (it fails when any is unknown).
installed=" $({ dpkg-query -W -f='${db:Status-Abbrev}|${Package}\n' "${packages[@]}" 2>/dev/null ||
    true; } | sed -n 's/^ii *|//p' | tr '\n' ' ')"
missing=()
for p in "${packages[@]}"; do
    [[ $installed == *" $p "* ]] || missing+=("$p")
done
# `apt-get download weka` needs package lists that know weka (a fresh image has none).
lists_know_weka() {
    local policy
    policy=$(apt-cache policy weka 2>/dev/null || true) # not piped: grep -q would SIGPIPE it
    [[ $policy == *"Candidate: "[0-9]* ]]
}
need_lists=0
if ((data)) && command -v apt-cache >/dev/null && ! lists_know_weka; then need_lists=1; fi

if ((${#missing[@]} == 0 && need_lists == 0)); then
    exit 0
fi
cmd="apt-get update && apt-get install -y --no-install-recommends ${missing[*]}"
((${#missing[@]})) || cmd="apt-get update"
if ((check_only)); then
    echo "install-deps.sh: missing: ${missing[*]:-(no package; the package lists do not know weka)}" >&2
    echo "  install with (as root): $cmd" >&2
    exit 1
fi
if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null; then
    echo "install-deps.sh: ember needs these Debian packages: ${missing[*]:-(none; only the package lists are stale)}" >&2
    echo "Run this as root, then run make again:" >&2
    echo "  $cmd" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
echo "install-deps.sh: $cmd"
apt-get update -q
if ((${#missing[@]})); then
    apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
