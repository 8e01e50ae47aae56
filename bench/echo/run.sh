#!/usr/bin/env bash
# Echo round trips of 64 bytes over persistent connections, every server side by side with
# one load generator (bench/echo/loadgen.c), server pinned to CPU 0 and the load generator
# to CPU 1. Prints round trips per second and the ratio to the hand-written epoll server.
#
#   bench/echo/run.sh [BUILD_DIR=build] [CONNECTIONS="100 1000 10000"] [SECONDS=3]
#
# Peers from Debian: libev (libev-dev), gevent (python3-gevent), Go (golang-go); a peer
# whose package is missing is skipped with a note. Set SERVERS="epoll green ..." to choose.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
connections=${2:-"100 1000 10000"}
seconds=${3:-3}
servers=${SERVERS:-"epoll libev green threads threads-green gevent go"}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

cc=${CC:-cc}
for prog in loadgen epoll_server thread_server; do
  "$cc" -O2 -o "$work/$prog" "$here/$prog.c" -lpthread
done
have_libev=0
"$cc" -O2 -o "$work/libev_server" "$here/libev_server.c" -lev 2>/dev/null && have_libev=1
have_go=0
if command -v go >/dev/null; then
  (cd "$work" && cp "$here/go_server.go" . && GOCACHE="$work/gocache" GO111MODULE=off go build -o go_server go_server.go) && have_go=1
fi
have_gevent=0
/usr/bin/python3 -c "import gevent" 2>/dev/null && have_gevent=1

command_for() {  # server name -> command line, or empty when unavailable
  case $1 in
    epoll) echo "$work/epoll_server" ;;
    libev) ((have_libev)) && echo "$work/libev_server" ;;
    green) [[ -x $build/bench/echo_server ]] && echo "$build/bench/echo_server" ;;
    threads) echo "$work/thread_server" ;;
    threads-green) [[ -x $build/patches/green-run ]] && echo "$build/patches/green-run --threads $work/thread_server" ;;
    gevent) ((have_gevent)) && echo "/usr/bin/python3 $here/gevent_server.py" ;;
    go) ((have_go)) && echo "env GOMAXPROCS=1 $work/go_server" ;;
  esac
  return 0
}

wait_for_port() {
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}

port=$((40000 + RANDOM % 20000))
printf "%-14s" "server"
for n in $connections; do printf "%22s" "$n conns (rt/s, x)"; done
echo
declare -A base
for server in $servers; do
  cmd=$(command_for "$server")
  if [[ -z $cmd ]]; then
    printf "%-14s  (not available)\n" "$server"
    continue
  fi
  printf "%-14s" "$server"
  for n in $connections; do
    port=$((port + 1))
    taskset -c 0 $cmd "$port" >"$work/server.log" 2>&1 &
    pid=$!
    if ! wait_for_port "$port"; then
      printf "%22s" "no start"
      kill "$pid" 2>/dev/null || true
      continue
    fi
    rate=$(taskset -c 1 "$work/loadgen" "$port" "$n" "$seconds" 2>"$work/loadgen.log" || echo 0)
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    [[ $server == epoll ]] && base[$n]=$rate
    ratio="-"
    [[ -n ${base[$n]:-} && ${base[$n]} != 0 ]] && ratio=$(awk -v a="$rate" -v b="${base[$n]}" 'BEGIN{printf "%.2f", a/b}')
    printf "%22s" "$rate ($ratio)"
  done
  echo
done
