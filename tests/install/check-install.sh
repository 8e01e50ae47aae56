#!/usr/bin/env bash
# Installs the build into a scratch prefix and builds a consumer against it both ways.
set -euo pipefail
source_dir=$1
build_dir=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cmake --install "$build_dir" --prefix "$work/prefix" >/dev/null
libdir=$(ls -d "$work"/prefix/lib*/ | head -1)
test -f "$work/prefix/share/gdb/auto-load${libdir%/}/libgreen.so."*"-gdb.py"
echo "gdb extension: ok"

cmake -S "$source_dir/tests/install/consumer" -B "$work/cmake-build" -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/cmake-build" >/dev/null
LD_LIBRARY_PATH=$libdir "$work/cmake-build/consumer" | grep -q "consumer: 42"
echo "find_package(green): ok"

PKG_CONFIG_PATH=$(find "$work/prefix" -name green.pc -printf '%h') \
  g++ -std=c++20 "$source_dir/tests/install/consumer/main.cpp" -o "$work/pkg-consumer" \
  $(PKG_CONFIG_PATH=$(find "$work/prefix" -name green.pc -printf '%h') pkg-config --cflags --libs green)
LD_LIBRARY_PATH=$libdir "$work/pkg-consumer" | grep -q "consumer: 42"
echo "pkg-config green: ok"
