#!/usr/bin/env bash
# fetch-data.sh: puts the German credit data (credit-g.arff) into data/downloads/ and prints
# its path on stdout (messages go to stderr). The file comes from Debian's weka package:
# `apt-get download weka` (no install, no Java), unpacked with dpkg-deb; an installed weka or
# a .deb already in apt's cache is used first. No other network access.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=data/downloads
out=$dest/credit-g.arff
mkdir -p "$dest"
if [[ -s $out ]]; then
    echo "$out"
    exit 0
fi
say() { echo "fetch-data.sh: $*" >&2; }

# 1. weka installed already.
for f in /usr/share/doc/weka/examples/credit-g.arff /usr/share/doc/weka/examples/credit-g.arff.gz; do
    if [[ -s $f ]]; then
        say "using $f"
        if [[ $f == *.gz ]]; then gzip -dc "$f" >"$out.tmp"; else cp "$f" "$out.tmp"; fi
        mv "$out.tmp" "$out"
        echo "$out"
        exit 0
    fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ember-weka.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# 2. the package: apt's cache, else apt-get download.
deb=$(ls /var/cache/apt/archives/weka_*.deb 2>/dev/null | head -n1 || true)
if [[ -z $deb ]]; then
    command -v apt-get >/dev/null || { say "no apt-get: put credit-g.arff into $dest yourself"; exit 1; }
    say "apt-get download weka (about 6.6 MB)"
    if ! (cd "$tmp" && apt-get download weka >&2 2>/dev/null) ; then
        (cd "$tmp" && apt-get download weka >&2) || {
            say "apt-get download weka failed (no package index? run apt-get update as root)"
            exit 1
        }
    fi
    deb=$(ls "$tmp"/weka_*.deb | head -n1)
fi
say "unpacking $deb"
dpkg-deb -x "$deb" "$tmp/x"

# 3. the file: in the package's examples, else inside one of its jars.
found=$(find "$tmp/x" -name 'credit-g.arff*' -type f | head -n1 || true)
if [[ -z $found ]]; then
    command -v unzip >/dev/null || { say "credit-g.arff is not loose in the package and there is no unzip"; exit 1; }
    for jar in $(find "$tmp/x" -name '*.jar'); do
        if unzip -l "$jar" 2>/dev/null | grep -q 'credit-g.arff'; then
            unzip -q -o "$jar" '*credit-g.arff*' -d "$tmp/jar" >&2 || true
            found=$(find "$tmp/jar" -name 'credit-g.arff*' -type f | head -n1 || true)
            [[ -n $found ]] && break
        fi
    done
fi
[[ -n $found ]] || { say "credit-g.arff not found in $deb"; exit 1; }
if [[ $found == *.gz ]]; then gzip -dc "$found" >"$out.tmp"; else cp "$found" "$out.tmp"; fi
mv "$out.tmp" "$out"
say "wrote $out ($(wc -l <"$out") lines)"
echo "$out"
