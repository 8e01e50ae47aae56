#!/usr/bin/env bash
# pthread operation costs natively and under green-run --threads, side by side, with the
# ratio green/native (below 1: faster under --threads). With GREEN_BENCH_RESULTS=FILE, also
# appends one line per operation to FILE, tab-separated key=value fields:
#   bench=threads op=pthread_create + join native_ns=69910.2 green_ns=1210.5
#
#   bench/threads/run.sh [BUILD_DIR=build] [SCALE=1]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
scale=${2:-1}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"${CC:-cc}" -O2 -o "$work/threads_ops" "$here/threads_ops.c" -lpthread
taskset -c 0 "$work/threads_ops" "$scale" >"$work/native"
taskset -c 0 "$build/patches/green-run" --threads "$work/threads_ops" "$scale" >"$work/green"
printf "%-34s %12s %12s %8s\n" "operation" "native" "--threads" "ratio"
paste -d'|' "$work/native" "$work/green" | while IFS='|' read -r native green; do
  name=${native%%[0-9]*}
  a=$(awk '{print $(NF-1)}' <<<"$native")
  b=$(awk '{print $(NF-1)}' <<<"$green")
  printf "%-34s %9s ns %9s ns %7.2fx\n" "$name" "$a" "$b" "$(awk -v a="$a" -v b="$b" 'BEGIN{print b/a}')"
  if [[ -n ${GREEN_BENCH_RESULTS:-} ]]; then
    printf 'bench=threads\top=%s\tnative_ns=%s\tgreen_ns=%s\n' "$(sed 's/ *$//' <<<"$name")" "$a" "$b" >>"$GREEN_BENCH_RESULTS"
  fi
done
