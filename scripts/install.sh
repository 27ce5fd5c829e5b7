#!/usr/bin/env bash
# Builds libsbx in release mode and installs the C library:
#   <prefix>/lib/libsbx.so.X.Y.Z, libsbx.so.X -> (soname), libsbx.so -> (link-time name)
#   <prefix>/lib/libsbx.a
#   <prefix>/include/sbx.h
#   <prefix>/lib/pkgconfig/sbx.pc, sbx-static.pc
#   <prefix>/lib/cmake/sbx/sbxConfig.cmake, sbxConfigVersion.cmake
#
# Usage: scripts/install.sh --prefix DIR [--no-build]
#   --no-build  install what target/release already holds (the caller just built it)
# Environment: CARGO (default cargo), CARGO_TARGET_DIR (default <repo>/target).
set -euo pipefail

usage() {
    echo "usage: $0 --prefix DIR [--no-build]" >&2
    exit 2
}

prefix=""
build=1
while (($#)); do
    case $1 in
        --prefix) (($# >= 2)) || usage; prefix=$2; shift 2 ;;
        --prefix=*) prefix=${1#--prefix=}; shift ;;
        --no-build) build=0; shift ;;
        -h|--help) usage ;;
        *) echo "install.sh: unknown argument: $1" >&2; usage ;;
    esac
done
[[ -n $prefix ]] || usage

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cargo=${CARGO:-cargo}
target_dir=${CARGO_TARGET_DIR:-$repo/target}
release=$target_dir/release

version=$(awk -F'"' '/^\[/{pkg=($0=="[package]")} pkg && /^version *=/{print $2; exit}' "$repo/Cargo.toml")
[[ $version =~ ^([0-9]+)\.([0-9]+)\.([0-9]+)$ ]] || { echo "install.sh: cannot read the version from Cargo.toml" >&2; exit 1; }
major=${BASH_REMATCH[1]}
minor=${BASH_REMATCH[2]}

# The system libraries a static link needs, as rustc reports them; the fallback is what it
# reported for x86_64 glibc when this script was written.
libs_private="-lgcc_s -lutil -lrt -lpthread -lm -ldl -lc"
if ((build)); then
    "$cargo" build --release --lib --manifest-path "$repo/Cargo.toml"
    reported=$("$cargo" rustc --release --lib --crate-type staticlib --manifest-path "$repo/Cargo.toml" \
        -- --print native-static-libs 2>&1 | sed -n 's/.*native-static-libs: //p' | tail -n 1 || true)
    [[ -n $reported ]] && libs_private=$reported
fi
for f in libsbx.so libsbx.a; do
    [[ -f $release/$f ]] || { echo "install.sh: $release/$f is missing; build first" >&2; exit 1; }
done

# CMake wants plain library names (gcc_s) rather than flags (-lgcc_s); -lc is implicit.
libs_cmake=$(for l in $libs_private; do l=${l#-l}; [[ $l == c ]] || printf '%s;' "$l"; done)
libs_cmake=${libs_cmake%;}

mkdir -p "$prefix"
prefix=$(cd "$prefix" && pwd)
install -d "$prefix/lib" "$prefix/include" "$prefix/lib/pkgconfig" "$prefix/lib/cmake/sbx"

install -m 0755 "$release/libsbx.so" "$prefix/lib/libsbx.so.$version"
ln -sfn "libsbx.so.$version" "$prefix/lib/libsbx.so.$major"
ln -sfn "libsbx.so.$major" "$prefix/lib/libsbx.so"
install -m 0644 "$release/libsbx.a" "$prefix/lib/libsbx.a"
install -m 0644 "$repo/include/sbx.h" "$prefix/include/sbx.h"

fill() { # fill TEMPLATE DEST
    sed -e "s|@PREFIX@|$prefix|g" -e "s|@VERSION@|$version|g" -e "s|@MAJOR@|$major|g" \
        -e "s|@MINOR@|$minor|g" -e "s|@LIBS_PRIVATE@|$libs_private|g" \
        -e "s|@LIBS_PRIVATE_CMAKE@|$libs_cmake|g" "$1" >"$2"
    chmod 0644 "$2"
}
fill "$repo/sbx.pc.in" "$prefix/lib/pkgconfig/sbx.pc"
fill "$repo/cmake/sbx-static.pc.in" "$prefix/lib/pkgconfig/sbx-static.pc"
fill "$repo/cmake/sbxConfig.cmake.in" "$prefix/lib/cmake/sbx/sbxConfig.cmake"
fill "$repo/cmake/sbxConfigVersion.cmake.in" "$prefix/lib/cmake/sbx/sbxConfigVersion.cmake"

echo "install.sh: installed libsbx $version to $prefix"
