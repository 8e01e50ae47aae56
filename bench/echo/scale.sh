#!/usr/bin/env bash
# Echo round trips (64 bytes, persistent connections, one message in flight each) against
# green's ServerThreads on 1 thread and on 2 threads (one StreamServer per hub, the port
# shared with SO_REUSEPORT), driven by the same C epoll load generator as run.sh.
#
# Pinning (a 2-core machine: the load generator needs a core too, so it cannot be kept
# apart from the server when the server uses both):
#   1 thread : green-serve-0 on CPU 0 (with the idle main thread); load generator on CPU 1
#   2 threads: green-serve-0 on CPU 0, green-serve-1 on CPU 1; load generator on CPU 1
# Each serving thread is pinned by thread id (taskset -p) once it exists.
#
# Prints, for each configuration, the best of REPEAT runs (1 and 2 threads alternate, so
# a change in the machine's load hits both): round trips per second, the server's CPU
# time per round trip (user + system of the whole process, from /proc) and the load
# generator's. Then the ratios: throughput (2 threads / 1 thread; the target is 1.7x),
# and the server's capacity computed from CPU time, 2 cores / (CPU per round trip with 2
# threads) over 1 core / (CPU per round trip with 1 thread): what two threads deliver
# when the load generator is not sharing their cores.
#
#   bench/echo/scale.sh [BUILD_DIR [CONNS [SECONDS]]]   (default: build 1000 5; REPEAT=3)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build}
conns=${2:-${CONNS:-1000}}
duration=${3:-${DURATION:-5}}
repeat=${REPEAT:-3}
client_cpu=${CLIENT_CPU:-1}

cmake --build "$build" --target echo_loadgen echo_green_threads_server >/dev/null
bin=$build/bench/echo
ulimit -n "$(ulimit -Hn)"
hz=$(getconf CLK_TCK)

# Pins each serving thread of `pid` (green-serve-I on CPU I of the list), the rest on the first.
pin_threads() {  # pid nthreads "cpu0 cpu1 ..."
  local pid=$1 n=$2 cpus=($3) found=0 f name tid
  for ((i = 0; i < 500 && found < n; ++i)); do
    found=$(cat "/proc/$pid/task/"*/comm 2>/dev/null | grep -c '^green-serve-' || true)
    ((found < n)) && sleep 0.01
  done
  for f in /proc/"$pid"/task/*/comm; do
    name=$(cat "$f")
    tid=$(basename "$(dirname "$f")")
    case $name in
      green-serve-*) taskset -pc "${cpus[${name#green-serve-}]}" "$tid" >/dev/null ;;
      *) taskset -pc "${cpus[0]}" "$tid" >/dev/null ;;
    esac
  done
}

declare -A rps server_us client_us
run_one() {  # nthreads "cpus"
  local n=$1 cpus=$2 port pid r total ticks lg_cpu us
  port=$((20000 + RANDOM % 20000))
  "$bin/echo_green_threads_server" "$port" "$n" 2>/dev/null &
  pid=$!
  pin_threads "$pid" "$n" "$cpus"
  lg_cpu=$(mktemp)
  read -r r total < <(/usr/bin/time -f "%U %S" -o "$lg_cpu" \
    taskset -c "$client_cpu" "$bin/echo_loadgen" "$port" "$conns" "$duration" 1 || echo 0 0)
  ticks=$(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0)
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  if ((total > 0)); then
    ((r > ${rps[$n]:-0})) && rps[$n]=$r
    # Keep the lowest CPU time per round trip: noise from other jobs only adds to it.
    us=$(awk -v t="$ticks" -v hz="$hz" -v n="$total" 'BEGIN {printf "%.3f", t * 1000000 / hz / n}')
    server_us[$n]=$(awk -v a="$us" -v b="${server_us[$n]:-}" 'BEGIN {print (b == "" || a < b) ? a : b}')
    us=$(awk -v n="$total" '{printf "%.3f", ($1 + $2) * 1000000 / n}' "$lg_cpu")
    client_us[$n]=$(awk -v a="$us" -v b="${client_us[$n]:-}" 'BEGIN {print (b == "" || a < b) ? a : b}')
  fi
  rm -f "$lg_cpu"
}

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for ((k = 0; k < repeat; ++k)); do
  run_one 1 "0"
  run_one 2 "0 1"
done
echo "load average after:  $(cut -d' ' -f1-3 /proc/loadavg)"
printf "%-10s %12s %20s %22s\n" "threads" "round trips/s" "server CPU/round trip" "loadgen CPU/round trip"
for n in 1 2; do
  printf "%-10s %12s %18.2fus %20.2fus\n" "$n" "${rps[$n]:-0}" "${server_us[$n]:-0}" "${client_us[$n]:-0}"
done
if [[ -n ${rps[1]:-} && -n ${rps[2]:-} && -n ${server_us[2]:-} ]]; then
  awk -v r1="${rps[1]}" -v r2="${rps[2]}" -v c="$conns" \
    'BEGIN {printf "throughput ratio, 2 threads / 1 thread:         %5.2fx (target >= 1.70x; %d connections)\n", r2 / r1, c}'
  awk -v u1="${server_us[1]}" -v u2="${server_us[2]}" \
    'BEGIN {printf "capacity ratio from CPU time, 2 cores / 1 core: %5.2fx (2 x %.2fus / %.2fus)\n", 2 * u1 / u2, u1, u2}'
fi
