#!/usr/bin/env bash
# gpu-carry.sh: packs what the GPU machine lacks (Debian's Criterion and OpenBLAS: libraries,
# their non-glibc dependencies, headers, minimal pkg-config files, and pkgconf itself) into
# .carry/ember-deps.tar.xz, for scripts/gpu-check.sh to unpack there. Run it here (Debian 12
# with libcriterion-dev and libopenblas-dev installed), then name .carry in the device
# tool's `carry`. .carry/ is ignored by git.
set -euo pipefail
cd "$(dirname "$0")/.."
out=.carry
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
p=$stage/prefix
mkdir -p "$p/lib/pkgconfig" "$p/include" "$p/bin" "$out"

multi=/usr/lib/x86_64-linux-gnu
blas_dir=$(pkg-config --variable=libdir openblas)
blas_inc=$(pkg-config --variable=includedir openblas)
crit_lib=$(readlink -f "$multi/libcriterion.so")
blas_lib=$(readlink -f "$blas_dir/libopenblas.so")
pkgconf_bin=$(readlink -f "$(command -v pkg-config)")

# Libraries (under their sonames) and the closure of what they need, less glibc and the
# compiler runtime the machine has anyway.
copy_so() { # path soname
    cp -L "$1" "$p/lib/$2"
}
copy_so "$crit_lib" libcriterion.so.3
ln -sf libcriterion.so.3 "$p/lib/libcriterion.so"
copy_so "$blas_lib" libopenblas.so.0
ln -sf libopenblas.so.0 "$p/lib/libopenblas.so"
skip='^(linux-vdso|libc\.so|libm\.so|libpthread|libdl\.so|librt\.so|libresolv|libanl|libnss|libutil|ld-linux|libgcc_s|libstdc\+\+)'
for bin in "$crit_lib" "$blas_lib" "$pkgconf_bin"; do
    ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// {print $1, $3}' | while read -r name path; do
        [[ $name =~ $skip ]] && continue
        [[ -e $p/lib/$name ]] || cp -L "$path" "$p/lib/$name"
    done
done

# Headers.
cp -r /usr/include/criterion "$p/include/"
mkdir -p "$p/include/openblas"
cp -L "$blas_inc"/*.h "$p/include/openblas/"

# pkgconf, for a machine with no pkg-config (it reads only PKG_CONFIG_PATH/LIBDIR we set).
cp -L "$pkgconf_bin" "$p/bin/pkg-config"

# Minimal .pc files relative to where they end up (no Requires.private: the carried
# libraries resolve their own dependencies at run time).
cat > "$p/lib/pkgconfig/criterion.pc" <<'PC'
prefix=${pcfiledir}/../..
includedir=${prefix}/include
libdir=${prefix}/lib

Name: criterion
Description: Criterion unit testing framework (carried from Debian 12)
Version: 2.4.1
Libs: -L${libdir} -lcriterion
Cflags: -I${includedir}
PC
cat > "$p/lib/pkgconfig/openblas.pc" <<'PC'
prefix=${pcfiledir}/../..
includedir=${prefix}/include/openblas
libdir=${prefix}/lib

Name: openblas
Description: OpenBLAS (carried from Debian 12)
Version: 0.3.21
Libs: -L${libdir} -lopenblas
Cflags: -I${includedir}
PC

tar -C "$stage" -cJf "$out/ember-deps.tar.xz" prefix
du -sh "$p" "$out/ember-deps.tar.xz"
echo "carried libraries:"; ls "$p/lib"
