#!/usr/bin/env bash
# kill_during_save_test.sh: `ember train --save` killed with SIGKILL in the middle of its
# saves, KILLS times, each time at a random point of a random epoch's save; every run
# resumed from what the kill left (the checkpoint, or nothing) ends with the same bytes as
# one uninterrupted run, and no temporary file is left behind once the resumed run has
# saved. Then SIGTERM during a save: the process ends, its temporary is removed, the
# checkpoint it was replacing is intact.
# Usage: kill_during_save_test.sh EMBER_BINARY ADULT_DIR [KILLS]
set -u
ember=$1
adult=$2
kills=${3:-40}
[[ -r $adult/adult.data ]] || { echo "SKIP: no Adult data in $adult"; exit 77; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ember-kill.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
head -n 300 "$adult/adult.data" >"$tmp/data"
epochs=4
# Large tables and few rows: most of a run's time is spent saving (tens of MB a save).
common=(--data "$tmp/data" --format adult --batch 64 --threads 1 --seed 7 --holdout 0
        --buckets 60000 --emb-dim 8 --hidden 8 --quiet)
fail=0
check() { # check NAME CONDITION-COMMAND...
    local name=$1
    shift
    if "$@"; then echo "ok   $name"; else echo "FAIL $name"; fail=1; fi
}
epochs_in() { # the epochs a checkpoint says it has trained (0 when there is none)
    [[ -s $1 ]] || { echo 0; return; }
    python3 - "$1" <<'PY'
import json, os, struct, sys
def meta(path):
    b = open(path, "rb").read(64 << 20)
    n = struct.unpack("<Q", b[:8])[0]
    return json.loads(b[8:8 + n]).get("__metadata__", {})
m = meta(sys.argv[1])
if "ember.epochs" not in m and os.path.exists(sys.argv[1] + ".optim"):
    m = meta(sys.argv[1] + ".optim")  # checkpoints that kept their state beside them
print(m.get("ember.epochs", "0"))
PY
}
same_checkpoint() { # the whole files: tensors, optimizer state and metadata
    cmp -s "$1" "$2" && { [[ ! -e $1.optim ]] || cmp -s "$1.optim" "$2.optim"; }
}

"$ember" train "${common[@]}" --epochs "$epochs" --save "$tmp/ref.st" >/dev/null 2>&1
check "uninterrupted run saves" test -s "$tmp/ref.st"

bad=0
for ((k = 1; k <= kills; k++)); do
    rm -f "$tmp/m.st" "$tmp"/m.st.*
    target=$((RANDOM % epochs + 1)) # kill during this epoch's save
    "$ember" train "${common[@]}" --epochs "$epochs" --save "$tmp/m.st" >/dev/null 2>&1 &
    pid=$!
    seen=0 last=""
    while kill -0 "$pid" 2>/dev/null; do
        t=$(compgen -G "$tmp/m.st.tmp.*" | head -n 1)
        if [[ -n $t && $t != "$last" ]]; then
            last=$t
            seen=$((seen + 1))
            if ((seen == target)); then
                sleep "0.0$((RANDOM % 10))"
                kill -9 "$pid" 2>/dev/null
                break
            fi
        fi
        sleep 0.002
    done
    wait "$pid" 2>/dev/null
    done_epochs=$(epochs_in "$tmp/m.st")
    if ((done_epochs == 0)); then
        "$ember" train "${common[@]}" --epochs "$epochs" --save "$tmp/m.st" >/dev/null 2>&1
    elif ((done_epochs < epochs)); then
        "$ember" train "${common[@]}" --resume "$tmp/m.st" --epochs $((epochs - done_epochs)) \
            --save "$tmp/m.st" >/dev/null 2>&1
    fi
    if ! same_checkpoint "$tmp/m.st" "$tmp/ref.st"; then
        echo "  kill $k (during save $target, resumed after epoch $done_epochs): differs"
        bad=$((bad + 1))
    fi
    left=$(compgen -G "$tmp/m.st.tmp.*" | wc -l)
    if ((left != 0)); then
        echo "  kill $k: $left temporary file(s) left after the resumed run saved"
        bad=$((bad + 1))
    fi
done
check "$kills kills during saves: every resume equals the uninterrupted run, no temporaries left" \
    test "$bad" -eq 0

# SIGTERM during a save: exits, removes its temporary, leaves the older checkpoint whole.
cp "$tmp/ref.st" "$tmp/t.st"
"$ember" train "${common[@]}" --epochs 2 --save "$tmp/t.st" >/dev/null 2>&1 &
pid=$!
while kill -0 "$pid" 2>/dev/null && ! compgen -G "$tmp/t.st.tmp.*" >/dev/null; do sleep 0.002; done
kill -TERM "$pid" 2>/dev/null
wait "$pid"
rc=$?
check "SIGTERM during a save ends the run (exit 143)" test "$rc" -eq 143
check "SIGTERM removes the temporary" test -z "$(compgen -G "$tmp/t.st.tmp.*")"
check "SIGTERM leaves the checkpoint it was replacing whole" same_checkpoint "$tmp/t.st" "$tmp/ref.st"
exit $fail
