#!/usr/bin/env bash
# run_pytest.sh PYTHON DIR: runs the pytest suite in DIR for ctest (see CMakeLists.txt).
# pytest exits 5 when it collected no tests: that is a broken suite, not a pass or a skip,
# so it becomes a failure with a message here.
set -u
python=$1
dir=$2
"$python" -m pytest -q -rs -p no:cacheprovider "$dir"
rc=$?
if ((rc == 5)); then
    echo "run_pytest.sh: pytest collected no tests in $dir" >&2
    exit 1
fi
exit "$rc"
