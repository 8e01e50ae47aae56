#!/usr/bin/env bash
# Echo round trips (64 bytes, persistent connections, one message in flight each) against
# green's ServerThreads on 1 thread and on 2 threads (one StreamServer per hub, the port
# shared with SO_REUSEPORT), and PreforkServer with 2 worker processes, driven by the same C epoll load generator as run.sh.
#
# Pinning (a 2-core machine: the load generator needs a core too, so it cannot be kept
# apart from the server when the server uses both):
#   1 thread   : green-serve-0 on CPU 0 (with the idle main thread); load generator on CPU 1
#   2 threads  : green-serve-0 on CPU 0, green-serve-1 on CPU 1; load generator on CPU 1
#   2 processes: PreforkServer's workers (set_reuse_port: a socket each) on CPU 0 and
#                CPU 1 (the idle parent on CPU 0); load generator on CPU 1
# Each serving thread (process) is pinned by thread id (pid) with taskset -p once it exists.
#
# Prints, for each configuration, the best of REPEAT runs (the configurations alternate, so
# a change in the machine's load hits both): round trips per second, the server's CPU
# time per round trip (user + system of the server's processes, from /proc) and the load
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

# Pins worker process I of `pid` (by pid order) on CPU I of the list, the parent on the first.
pin_processes() {  # pid nprocs "cpu0 cpu1 ..."
  local pid=$1 n=$2 cpus=($3) workers=() i
  for ((i = 0; i < 500; ++i)); do
    workers=($(pgrep -P "$pid" | sort -n || true))
    ((${#workers[@]} >= n)) && break
    sleep 0.01
  done
  taskset -pc "${cpus[0]}" "$pid" >/dev/null
  for ((i = 0; i < ${#workers[@]}; ++i)); do taskset -apc "${cpus[$i]}" "${workers[$i]}" >/dev/null; done
}

# User + system ticks of `pid` and its children (prefork workers), read while they run.
cpu_ticks() {
  local total=0 p
  for p in "$1" $(pgrep -P "$1"); do
    total=$((total + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)))
  done
  echo "$total"
}

declare -A rps server_us client_us
run_one() {  # key n "cpus" threads|processes
  local key=$1 n=$2 cpus=$3 mode=$4 port pid r total ticks lg_cpu us
  port=$((20000 + RANDOM % 12000))  # below the ephemeral range (32768-): the load generator's own ports live there
  "$bin/echo_green_threads_server" "$port" "$n" "$mode" 2>/dev/null &
  pid=$!
  if [[ $mode == processes ]]; then pin_processes "$pid" "$n" "$cpus"; else pin_threads "$pid" "$n" "$cpus"; fi
  lg_cpu=$(mktemp)
  read -r r total < <(/usr/bin/time -f "%U %S" -o "$lg_cpu" \
    taskset -c "$client_cpu" "$bin/echo_loadgen" "$port" "$conns" "$duration" 1 || echo 0 0)
  ticks=$(cpu_ticks "$pid")
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  if ((total > 0)); then
    ((r > ${rps[$key]:-0})) && rps[$key]=$r
    # Keep the lowest CPU time per round trip: noise from other jobs only adds to it.
    us=$(awk -v t="$ticks" -v hz="$hz" -v n="$total" 'BEGIN {printf "%.3f", t * 1000000 / hz / n}')
    server_us[$key]=$(awk -v a="$us" -v b="${server_us[$key]:-}" 'BEGIN {print (b == "" || a < b) ? a : b}')
    us=$(awk -v n="$total" '{printf "%.3f", ($1 + $2) * 1000000 / n}' "$lg_cpu")
    client_us[$key]=$(awk -v a="$us" -v b="${client_us[$key]:-}" 'BEGIN {print (b == "" || a < b) ? a : b}')
  fi
  rm -f "$lg_cpu"
}

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for ((k = 0; k < repeat; ++k)); do
  run_one 1t 1 "0" threads
  run_one 2t 2 "0 1" threads
  run_one 2p 2 "0 1" processes
done
echo "load average after:  $(cut -d' ' -f1-3 /proc/loadavg)"
printf "%-12s %13s %22s %23s\n" "server" "round trips/s" "server CPU/round trip" "loadgen CPU/round trip"
for key in 1t 2t 2p; do
  case $key in 1t) label="1 thread" ;; 2t) label="2 threads" ;; 2p) label="2 processes" ;; esac
  printf "%-12s %13s %20.2fus %21.2fus\n" "$label" "${rps[$key]:-0}" "${server_us[$key]:-0}" "${client_us[$key]:-0}"
done
for key in 2t 2p; do
  [[ -n ${rps[1t]:-} && -n ${rps[$key]:-} && -n ${server_us[$key]:-} ]] || continue
  label=$([[ $key == 2t ]] && echo "2 threads" || echo "2 processes")
  awk -v r1="${rps[1t]}" -v r2="${rps[$key]}" -v c="$conns" -v l="$label" \
    'BEGIN {printf "throughput ratio, %s / 1 thread:          %5.2fx (target >= 1.70x; %d connections)\n", l, r2 / r1, c}'
  awk -v u1="${server_us[1t]}" -v u2="${server_us[$key]}" -v l="$label" \
    'BEGIN {printf "capacity ratio from CPU time, %s / 1 thread: %5.2fx (2 x %.2fus / %.2fus)\n", l, 2 * u1 / u2, u1, u2}'
done
