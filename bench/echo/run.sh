#!/usr/bin/env bash
# Echo round trips (64 bytes, persistent connections, one message in flight each) against
# green's StreamServer and its peers, side by side. One load generator (loadgen.c, epoll)
# drives every server; the server is pinned to one core and the load generator to another.
# Prints round trips per second and the ratio to the hand-written C epoll server, and the
# server's CPU time per round trip (user + system, from /proc; less sensitive to a busy
# machine than throughput) and its ratio. With GREEN_BENCH_RESULTS=FILE, also appends one
# line per server and connection count to FILE, tab-separated key=value fields:
#   bench=echo server=green conns=1000 rps=23613 cpu_us=9.20 peak_rss_kib=12200
#
#   bench/echo/run.sh [BUILD_DIR [CONNS [SECONDS]]]   (default: build "100 1000 10000" 3)
#   CONNS="100 1000 10000" DURATION=3 REPEAT=1 SERVERS="epoll green" bench/echo/run.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build}
conns_list=${2:-${CONNS:-100 1000 10000}}
duration=${3:-${DURATION:-3}}
repeat=${REPEAT:-1}
server_cpu=${SERVER_CPU:-0}
client_cpu=${CLIENT_CPU:-1}

cmake --build "$build" --target echo_loadgen echo_epoll_server echo_libev_server echo_thread_server echo_green_server >/dev/null
bin=$build/bench/echo
servers=(epoll libev green thread)
green_run=$build/patches/green-run
[[ -x $green_run ]] && servers+=(thread-green)
if command -v go >/dev/null; then
  GOCACHE=${GOCACHE:-/tmp/green-gocache} GO111MODULE=off go build -o "$bin/go_server" "$here/go_server.go" && servers+=(go)
fi
if /usr/bin/python3 -c 'import gevent' 2>/dev/null; then servers+=(gevent); fi
if [[ -n ${SERVERS:-} ]]; then read -r -a servers <<<"$SERVERS"; fi

ulimit -n "$(ulimit -Hn)"
max_fds=$(ulimit -n)

start_server() {  # name port -> pid in $server_pid (its stderr: the load generator's resets)
  exec 3>&2 2>/dev/null
  case $1 in
    epoll) taskset -c "$server_cpu" "$bin/echo_epoll_server" "$2" & ;;
    libev) taskset -c "$server_cpu" "$bin/echo_libev_server" "$2" & ;;
    green) taskset -c "$server_cpu" "$bin/echo_green_server" "$2" & ;;
    thread) taskset -c "$server_cpu" "$bin/echo_thread_server" "$2" & ;;
    thread-green) taskset -c "$server_cpu" "$green_run" --threads "$bin/echo_thread_server" "$2" & ;;
    go) GOMAXPROCS=1 taskset -c "$server_cpu" "$bin/go_server" "$2" & ;;
    gevent) taskset -c "$server_cpu" /usr/bin/python3 "$here/gevent_server.py" "$2" & ;;
  esac
  server_pid=$!
  exec 2>&3 3>&-
}

port=$((20000 + RANDOM % 10000))  # below the ephemeral range (32768-): no clash with client ports
declare -A result cpu peak
for conns in $conns_list; do
  if ((conns + 100 > max_fds)); then
    echo "skipping $conns connections: ulimit -n is $max_fds" >&2
    continue
  fi
  for ((r = 0; r < repeat; ++r)); do
    for s in "${servers[@]}"; do
      port=$((port + 1))
      start_server "$s" "$port"
      read -r rps total < <(taskset -c "$client_cpu" "$bin/echo_loadgen" "$port" "$conns" "$duration" 1 || echo 0 0)
      ticks=$(awk '{print $14 + $15}' "/proc/$server_pid/stat" 2>/dev/null || echo 0)
      hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$server_pid/status" 2>/dev/null || true)
      ((${hwm:-0} > ${peak[$s,$conns]:-0})) && peak[$s,$conns]=$hwm
      kill "$server_pid" 2>/dev/null || true
      wait "$server_pid" 2>/dev/null || true
      # Keep the best of the repeats: the machine is shared and noise only slows things.
      prev=${result[$s,$conns]:-0}
      ((rps > prev)) && result[$s,$conns]=$rps
      if ((total > 0)); then
        us=$(echo "$ticks * 1000000 / $(getconf CLK_TCK) / $total" | bc -l)
        prev=${cpu[$s,$conns]:-}
        if [[ -z $prev ]] || (($(echo "$us < $prev" | bc -l))); then cpu[$s,$conns]=$us; fi
      fi
    done
  done
done

# One table: a row per server, a column per connection count. `cell` prints one entry
# from the server's and the C epoll server's figures (empty when missing).
table() {  # array-name cell-function
  local -n figures=$1
  printf "%-13s" "server"
  for conns in $conns_list; do printf " %16s" "$conns conns"; done
  printf "\n"
  for s in "${servers[@]}"; do
    printf "%-13s" "$s"
    for conns in $conns_list; do
      local value=${figures[$s,$conns]:-} base=${figures[epoll,$conns]:-}
      if [[ -z $value || -z $base ]] || (($(echo "$value == 0 || $base == 0" | bc))); then
        printf " %16s" "-"
      else
        "$2" "$value" "$base"
      fi
    done
    printf "\n"
  done
}
rps_cell() { printf " %8s %5.2fx" "$1" "$(echo "$1 / $2" | bc -l)"; }
cpu_cell() { printf " %7.2fus %5.2fx" "$1" "$(echo "$2 / $1" | bc -l)"; }

table result rps_cell
echo "(round trips per second, and the ratio to the C epoll server; target: green >= 0.90x)"
echo
table cpu cpu_cell
echo "(server CPU time per round trip, and C epoll's CPU time divided by it: higher is better)"

if [[ -n ${GREEN_BENCH_RESULTS:-} ]]; then
  for s in "${servers[@]}"; do
    for conns in $conns_list; do
      [[ -n ${result[$s,$conns]:-} ]] || continue
      us=${cpu[$s,$conns]:-}
      [[ -n $us ]] && us=$(printf '%.3f' "$us")
      printf 'bench=echo\tserver=%s\tconns=%s\trps=%s\tcpu_us=%s\tpeak_rss_kib=%s\n' "$s" "$conns" \
        "${result[$s,$conns]}" "$us" "${peak[$s,$conns]:-}" >>"$GREEN_BENCH_RESULTS"
    done
  done
fi
