#!/usr/bin/env bash
# A million tasks alive at once, half asleep and half blocked on a queue/channel/condition,
# in green, Boost.Fiber and Go (GOMAXPROCS=1) one after the other: time to spawn them all
# until every one is blocked, and RSS per task. With GREEN_BENCH_RESULTS=FILE, also appends
# one line per peer to FILE, tab-separated key=value fields:
#   bench=scale peer=green count=1000000 spawn_s=10.2 kib_per_task=4.36
#
#   bench/scale/run.sh [BUILD_DIR=build] [COUNT=1000000]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-$here/../../build}" && pwd)
count=${2:-1000000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$build/bench/million_green" "$count" | tee "$work/green"
"$build/bench/million_fiber" "$count" | tee "$work/fiber"
if command -v go >/dev/null; then
  (cd "$work" && cp "$here/million.go" . && GOCACHE="$work/gocache" GO111MODULE=off go build -o million_go million.go)
  "$work/million_go" "$count" | tee "$work/go"
else
  echo "Go: not available (apt-get install golang-go)"
fi

field() { grep -o "$2" "$work/$1" 2>/dev/null | grep -o '[0-9.]*' | head -1; }
echo
printf "%-12s %12s %14s\n" "" "spawn (s)" "KiB per task"
for peer in green fiber go; do
  [[ -s $work/$peer ]] || continue
  printf "%-12s %12s %14s\n" "$peer" "$(field $peer 'in [0-9.]* s')" "$(field $peer '[0-9.]* KiB')"
  if [[ -n ${GREEN_BENCH_RESULTS:-} ]]; then
    printf 'bench=scale\tpeer=%s\tcount=%s\tspawn_s=%s\tkib_per_task=%s\n' "$peer" "$count" \
      "$(field $peer 'in [0-9.]* s')" "$(field $peer '[0-9.]* KiB')" >>"$GREEN_BENCH_RESULTS"
  fi
done
g_kib=$(field green '[0-9.]* KiB')
for peer in fiber go; do
  [[ -s $work/$peer ]] || continue
  awk -v g="$g_kib" -v p="$(field $peer '[0-9.]* KiB')" -v gs="$(field green 'in [0-9.]* s')" \
      -v ps="$(field $peer 'in [0-9.]* s')" -v name="$peer" \
      'BEGIN { printf "green / %-6s  spawn time %.2fx   RSS per task %.2fx\n", name, gs / ps, g / p }'
done
echo "targets: RSS per greenlet <= 4.5 KiB; a million spawned faster than Go"
