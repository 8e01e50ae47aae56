#!/usr/bin/env bash
# Fetch URLS URLs (default 5,000) from a local server that answers each after 50 ms with
# 10 KB, CONCURRENCY (default 500) at a time, with a new connection per URL and with
# connections reused: green (the crawler's fetch loop: libcurl easy in a green::Pool, linked
# with green::patch) against curl_multi (the event-driven limit), Go's net/http client and
# Python gevent (monkey.patch_all). The ideal is URLS / CONCURRENCY * 50 ms = 0.5 s.
# Prints each wall time (best of RUNS, default 3) and its ratio to curl_multi, the client's
# CPU time (user + system, median of the runs: steadier than wall time on a shared
# machine), and draws the wall times into bench/crawl/crawl.png (or $CHART) when gnuplot
# (gnuplot-nox) is installed. With GREEN_BENCH_RESULTS=FILE, also appends one line per
# client and mode to FILE, tab-separated key=value fields:
#   bench=crawl client=green mode=new seconds=1.32 urls=5000 concurrency=500
#
#   bench/crawl/run.sh [BUILD_DIR=build] [URLS=5000] [CONCURRENCY=500] [RUNS=3]
#
# Needs the build's libgreen and libgreen-patch, libcurl4-openssl-dev, golang-go (the
# server and the Go peer) and python3-gevent; a missing peer is skipped with a note.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
urls=${2:-5000}
concurrency=${3:-500}
runs=${4:-3}
chart=${CHART:-$here/crawl.png}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

command -v go >/dev/null || { echo "bench/crawl needs Go (golang-go) for its server"; exit 1; }
(cd "$work" && cp "$here/server.go" "$here/go_fetch.go" . &&
  GOCACHE="$work/gocache" GO111MODULE=off go build -o server server.go &&
  GOCACHE="$work/gocache" GO111MODULE=off go build -o go_fetch go_fetch.go)
"${CC:-cc}" -O2 -o "$work/curl_multi" "$here/curl_multi.c" -lcurl
"${CXX:-c++}" -O2 -std=c++20 -o "$work/green_fetch" "$here/green_fetch.cpp" -I"$root/include" \
  -L"$build/src" -L"$build/patches" -Wl,--no-as-needed -lgreen-patch -Wl,--as-needed -lgreen -lcurl -pthread \
  -Wl,-rpath,"$build/src:$build/patches"
have_gevent=0
/usr/bin/python3 -c "import gevent" 2>/dev/null && have_gevent=1

# A port below the kernel's ephemeral range (32768 up: a busy port there fails the bind);
# another if the server could not listen on the one picked.
for _ in $(seq 10); do
  port=$((10000 + RANDOM % 20000))
  "$work/server" "$port" 2>/dev/null &
  server_pid=$!
  for _ in $(seq 100); do
    kill -0 "$server_pid" 2>/dev/null || break
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break 2
    sleep 0.05
  done
done
kill -0 "$server_pid" 2>/dev/null || { echo "bench/crawl: the server could not listen"; exit 1; }
prefix="http://127.0.0.1:$port/page/"
# Untimed, so that the first client measured does not pay for the server's warm-up.
for mode in new reuse; do "$work/curl_multi" "$prefix" "$urls" "$concurrency" "$mode" >/dev/null || true; done

best() {  # command... -> "WALL CPU": the best wall time of $runs runs, their median CPU time
  local t b="" cpus="" TIMEFORMAT="%3U %3S"
  for _ in $(seq "$runs"); do
    { time "$@" >"$work/out"; } 2>"$work/cpu" || { echo "failed"; return; }
    t=$(cat "$work/out")
    cpus="$cpus $(tail -1 "$work/cpu" | awk '{ print $1 + $2 }')"
    if [[ -z $b ]] || awk -v t="$t" -v b="$b" 'BEGIN { exit !(t < b) }'; then b=$t; fi
  done
  echo "$b $(echo $cpus | tr ' ' '\n' | sort -g | awk '{ a[NR] = $1 } END { printf "%.2f", a[int((NR + 1) / 2)] }')"
}

echo "$urls URLs, $concurrency at a time, 50 ms + 10 KB each (ideal $(awk -v u="$urls" -v c="$concurrency" 'BEGIN { printf "%.2f", u / c * 0.05 }') s)"
printf "%-12s %18s %18s %14s\n" "client" "new conn (s, x)" "reused (s, x)" "CPU new, reused"
declare -A base
: >"$work/results.dat"
for client in curl_multi green go gevent; do
  row="$client"
  cpu=""
  printf "%-12s" "$client"
  for mode in new reuse; do
    case $client in
      curl_multi) t=$(best "$work/curl_multi" "$prefix" "$urls" "$concurrency" "$mode") ;;
      green) t=$(best "$work/green_fetch" "$prefix" "$urls" "$concurrency" "$mode") ;;
      go) t=$(best env GOMAXPROCS=1 "$work/go_fetch" "$prefix" "$urls" "$concurrency" "$mode") ;;
      gevent)
        if ((have_gevent)); then t=$(best /usr/bin/python3 "$here/gevent_fetch.py" "$prefix" "$urls" "$concurrency" "$mode")
        else t="skipped"; fi ;;
    esac
    if [[ $t =~ ^[0-9.]+\ [0-9.]+$ ]]; then cpu="$cpu ${t#* }"; t=${t% *}; else cpu="$cpu -"; fi
    [[ $client == curl_multi ]] && base[$mode]=$t
    if [[ -n ${GREEN_BENCH_RESULTS:-} && $t =~ ^[0-9.]+$ ]]; then
      printf 'bench=crawl\tclient=%s\tmode=%s\tseconds=%s\turls=%s\tconcurrency=%s\n' "$client" "$mode" "$t" "$urls" \
        "$concurrency" >>"$GREEN_BENCH_RESULTS"
    fi
    [[ $t =~ ^[0-9.]+$ ]] && row="$row $t" || row="$row 0"
    if [[ $t =~ ^[0-9.]+$ && ${base[$mode]} =~ ^[0-9.]+$ ]]; then
      printf "%18s" "$(awk -v t="$t" -v b="${base[$mode]}" 'BEGIN { printf "%.2f  %.2fx", t, t / b }')"
    else
      printf "%18s" "$t"
    fi
  done
  printf "%15s\n" "$cpu"
  echo "$row" >>"$work/results.dat"
done

if command -v gnuplot >/dev/null; then
  gnuplot <<PLOT
set terminal pngcairo size 800,450 noenhanced
set output "$chart"
set title "$urls URLs, $concurrency in flight, 50 ms + 10 KB each (ideal $(awk -v u="$urls" -v c="$concurrency" 'BEGIN { printf "%.2f", u / c * 0.05 }') s)"
set ylabel "wall time (s), lower is better"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set yrange [0:*]
set key below
plot "$work/results.dat" using 2:xtic(1) title "new connection per URL", "" using 3 title "connections reused"
PLOT
  echo "chart: $chart"
fi
