#!/usr/bin/env bash
# Instructions per echo round trip, counted by valgrind's callgrind (repeatable on a busy
# machine, unlike time). Each server runs under callgrind twice: once while the load
# generator makes one round trip on each of CONNS connections, once while it makes ROUNDS
# on each. The difference divided by CONNS * (ROUNDS - 1) is the cost of one round trip,
# setup and teardown cancelled out. Keeps the callgrind files in OUT for
# callgrind_annotate.
#
#   bench/echo/callgrind.sh [BUILD_DIR [CONNS [ROUNDS [OUT]]]]   (default: build 100 200 /tmp/echo-callgrind)
#   SERVERS="epoll green" bench/echo/callgrind.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build}
conns=${2:-100}
rounds=${3:-200}
out=${4:-/tmp/echo-callgrind}
read -r -a servers <<<"${SERVERS:-epoll libev green}"
cmake --build "$build" --target echo_loadgen echo_epoll_server echo_libev_server echo_green_server >/dev/null
bin=$build/bench/echo
mkdir -p "$out"
ulimit -n "$(ulimit -Hn)"
port=$((20000 + RANDOM % 10000))  # below the ephemeral range (32768-): no clash with client ports

measure() {  # server rounds -> total instructions of the server's run
  local file=$out/$1.$2.out
  port=$((port + 1))
  valgrind --tool=callgrind --callgrind-out-file="$file" "$bin/echo_$1_server" "$port" 2>/dev/null &
  local pid=$!
  rm -f "$file"*
  "$bin/echo_loadgen" "$port" "$conns" 0 0 "$2" >/dev/null
  sleep 1  # let the server see every connection close
  callgrind_control -d "$pid" >/dev/null 2>&1  # dump now: a killed process writes nothing
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  # The dump and what the exit wrote after it (the sum of both parts).
  cat "$file"* | awk '/^summary:/ {n += $2} END {print n}'
}

printf "%-8s %14s\n" server "instr/rt"
for s in "${servers[@]}"; do
  base=$(measure "$s" 1)
  full=$(measure "$s" "$rounds")
  printf "%-8s %14.0f\n" "$s" "$(echo "($full - $base) / ($conns * ($rounds - 1))" | bc -l)"
done
echo "(instructions per round trip; $conns connections x $rounds round trips, under callgrind)"
