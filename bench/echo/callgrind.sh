#!/usr/bin/env bash
# Instructions per echo round trip, counted by valgrind's callgrind (repeatable on a busy
# machine, unlike time). Each server runs under callgrind twice: once while the load
# generator makes ROUNDS0 round trips on each of CONNS connections, once while it makes
# ROUNDS. The difference divided by CONNS * (ROUNDS - ROUNDS0) is the cost of one round
# trip, setup and teardown cancelled out. Keeps the callgrind files in OUT for
# callgrind_annotate.
#
# With CACHE_SIM=1 it also simulates the data caches (a 32 KiB L1 and a 512 KiB last
# level, smaller than the real one because the kernel's share of it is not simulated) and
# prints the misses per round trip: with thousands of connections each cache line a
# round trip touches in a greenlet's stack or objects is a miss, and the misses, not the
# instructions, are what green pays beyond the C server there.
#
#   bench/echo/callgrind.sh [BUILD_DIR [CONNS [ROUNDS [OUT]]]]   (default: build 100 200 /tmp/echo-callgrind)
#   SERVERS="epoll green" CACHE_SIM=1 ROUNDS0=3 bench/echo/callgrind.sh build 10000 13
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

rounds0=${ROUNDS0:-1}
cache_options=()
events="Ir"
if [[ ${CACHE_SIM:-0} == 1 ]]; then
  cache_options=(--cache-sim=yes --D1=32768,8,64 --LL=524288,8,64)
  events="Ir D1mr D1mw DLmr DLmw"
fi

measure() {  # server rounds -> the server run's totals, one per event in $events
  local file=$out/$1.$2.out
  port=$((port + 1))
  valgrind --tool=callgrind "${cache_options[@]}" --callgrind-out-file="$file" "$bin/echo_$1_server" "$port" 2>/dev/null &
  local pid=$!
  rm -f "$file"*
  sleep 1  # until it listens (valgrind starts slowly)
  "$bin/echo_loadgen" "$port" "$conns" 0 0 "$2" >/dev/null
  sleep 1  # let the server see every connection close
  callgrind_control -d "$pid" >/dev/null 2>&1  # dump now: a killed process writes nothing
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  # The dump and what the exit wrote after it (the sum of both parts), by event name.
  cat "$file"* | awk -v want="$events" '
    /^events:/ { for (i = 2; i <= NF; ++i) name[i - 1] = $i }
    /^summary:/ { for (i = 2; i <= NF; ++i) total[name[i - 1]] += $i }
    END { n = split(want, w, " "); for (i = 1; i <= n; ++i) printf "%s ", total[w[i]] + 0; print "" }'
}

printf "%-8s" server
for e in $events; do printf " %10s" "$e/rt"; done
printf "\n"
for s in "${servers[@]}"; do
  line=$(measure "$s" "$rounds0")  # assigned first, so that set -e sees a failed run
  read -r -a base <<<"$line"
  line=$(measure "$s" "$rounds")
  read -r -a full <<<"$line"
  printf "%-8s" "$s"
  for i in "${!base[@]}"; do
    printf " %10.1f" "$(echo "(${full[$i]} - ${base[$i]}) / ($conns * ($rounds - $rounds0))" | bc -l)"
  done
  printf "\n"
done
echo "(per round trip; $conns connections x $rounds round trips, under callgrind)"
