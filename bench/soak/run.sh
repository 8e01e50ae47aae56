#!/usr/bin/env bash
# Soak: 10,000 connections through an echo server for a long time, every byte checked
# (soak_client.c), while the server's RSS and open fds are sampled from /proc. Servers:
# green's StreamServer (bench/echo/green_server.cpp) and the thread-per-connection server
# (bench/echo/thread_server.c) run under `green-run --threads`, so each connection is a
# pthread turned greenlet. Fails when an echo differs or is lost, the server dies, its RSS
# after the warm-up grows past the warm-up's peak by more than SOAK_RSS_GROWTH percent, or
# its fd count does not come back to where it was before the clients connected.
#
#   bench/soak/run.sh [--minutes N] [--conns N] [--servers "green thread-green"] [BUILD_DIR]
#   env: SOAK_MINUTES (10), SOAK_CONNS (10000), SOAK_SERVERS, SOAK_RATE (messages/s over all
#        connections, 10000; 0 unlimited), SOAK_CHURN (1 message in N ends its connection,
#        200), SOAK_SAMPLE (seconds between samples, 5), SOAK_RSS_GROWTH (percent, 10)
# Bounded: each server runs MINUTES plus at most about three minutes of start and drain.
# Samples go to BUILD_DIR/soak/<server>.tsv (seconds, RSS KiB, fds).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
minutes=${SOAK_MINUTES:-10}
conns=${SOAK_CONNS:-10000}
servers=${SOAK_SERVERS:-green thread-green}
rate=${SOAK_RATE:-10000}
churn=${SOAK_CHURN:-200}
sample=${SOAK_SAMPLE:-5}
growth=${SOAK_RSS_GROWTH:-10}
build=$root/build
while (($#)); do
  case $1 in
    --minutes) minutes=$2; shift 2 ;;
    --conns) conns=$2; shift 2 ;;
    --servers) servers=$2; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) build=$1; shift ;;
  esac
done
seconds=$(awk -v m="$minutes" 'BEGIN { printf "%d", m * 60 }')
# The warm-up: a quarter of the run, at least 20 s and at most 2 minutes.
warmup=$(awk -v s="$seconds" 'BEGIN { w = s / 4; if (w < 20) w = 20; if (w > 120) w = 120; printf "%d", w }')

cmake --build "$build" --target soak_client echo_green_server echo_thread_server green-run >/dev/null
bin=$build/bench
out=$build/soak
mkdir -p "$out"

ulimit -n "$(ulimit -Hn)"
if ((conns + 64 > $(ulimit -n))); then
  echo "soak: $conns connections need ulimit -n above $((conns + 64)); it is $(ulimit -n)" >&2
  exit 2
fi

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
fd_count() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
listening() { ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; }

failed=0
summaries=()
# Below the ephemeral range: 10,000 client connections (and their TIME_WAITs) use those.
ephemeral_low=$(awk '{ print $1 }' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
port=$((10000 + RANDOM % (ephemeral_low - 10100)))
for s in $servers; do
  first_line=${#summaries[@]}
  port=$((port + 1))
  while listening "$port"; do port=$((port + 1)); done  # another program's server
  log=$out/$s.server.log
  case $s in
    green) "$bin/echo/echo_green_server" "$port" 2>"$log" & ;;
    thread-green) "$build/patches/green-run" --threads "$bin/echo/echo_thread_server" "$port" 2>"$log" & ;;
    *) echo "soak: unknown server $s (green, thread-green)" >&2; exit 2 ;;
  esac
  pid=$!
  for ((i = 0; i < 100; ++i)); do listening "$port" && break; sleep 0.1; done
  sleep 1
  if ! kill -0 "$pid" 2>/dev/null || ! listening "$port"; then
    summaries+=("$s: FAIL" "  problem: the server did not start: $(cat "$log")")
    echo "${summaries[-2]}"$'\n'"${summaries[-1]}"
    kill "$pid" 2>/dev/null || true
    failed=1
    continue
  fi
  fds_before=$(fd_count "$pid")
  rss_before=$(rss_kib "$pid")
  tsv=$out/$s.tsv
  printf "seconds\trss_kib\tfds\n" >"$tsv"
  echo "== $s: $conns connections for $minutes min (pid $pid; before: $fds_before fds, $(mib "$rss_before") MiB RSS)"
  timeout $((seconds + 150)) "$bin/soak/soak_client" "$port" "$conns" "$seconds" "$rate" "$churn" \
    >"$out/$s.client.log" 2>&1 &
  client=$!
  start=$SECONDS
  problems=()
  while kill -0 "$client" 2>/dev/null; do
    if ! kill -0 "$pid" 2>/dev/null; then
      problems+=("the server died")
      break
    fi
    printf "%d\t%d\t%d\n" $((SECONDS - start)) "$(rss_kib "$pid")" "$(fd_count "$pid")" >>"$tsv"
    sleep "$sample"
  done
  client_rc=0
  wait "$client" || client_rc=$?
  ((client_rc == 0)) || problems+=("the client failed (exit $client_rc): $(grep -m1 -E 'FAIL|soak_client' "$out/$s.client.log" || true)")
  # The clients are gone: every connection's fd must be closed within 30 s.
  fds_after=$(fd_count "$pid")
  for ((i = 0; i < 30 && fds_after > fds_before; ++i)); do
    sleep 1
    fds_after=$(fd_count "$pid")
  done
  rss_after=$(rss_kib "$pid")
  kill -0 "$pid" 2>/dev/null || problems+=("the server died")
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  ((fds_after <= fds_before)) || problems+=("fds leaked: $fds_before before the clients, $fds_after 30 s after they closed")

  # RSS: the peak after the warm-up against the warm-up's peak.
  read -r warm_peak late_peak late_last fds_peak n_late < <(awk -v w="$warmup" 'NR > 1 {
      if ($1 <= w) { if ($2 > wp) wp = $2 } else { if ($2 > lp) lp = $2; last = $2; ++n }
      if ($3 > fp) fp = $3 }
    END { printf "%d %d %d %d %d\n", wp, lp, last, fp, n }' "$tsv")
  growth_pct=$(awk -v a="$warm_peak" -v b="$late_peak" 'BEGIN { printf "%.1f", (a > 0 ? (b - a) * 100 / a : 0) }')
  if ((n_late == 0)); then
    problems+=("no samples after the ${warmup} s warm-up")
  elif awk -v g="$growth_pct" -v max="$growth" 'BEGIN { exit !(g > max) }'; then
    problems+=("RSS grew ${growth_pct}% after the warm-up (bound ${growth}%)")
  fi
  # RSS over time, about ten points.
  timeline=$(awk -v step="$(awk -v s="$seconds" -v p="$sample" 'BEGIN { k = int(s / p / 10); print k < 1 ? 1 : k }')" \
    'NR > 1 && (NR - 2) % step == 0 { printf "%s%ds %.1f", sep, $1, $2 / 1024; sep = ", " }' "$tsv")
  client_summary=$(grep -m1 '^summary' "$out/$s.client.log" || echo "summary: none")
  verdict=PASS
  ((${#problems[@]} == 0)) || { verdict=FAIL; failed=1; }
  summaries+=("$(printf '%s: %s\n  client %s\n  RSS MiB: before clients %s, warm-up peak (first %d s) %s, peak after %s (%+.1f%%, bound %d%%), last %s, after close %s\n  RSS over time (MiB): %s\n  fds: before clients %d, peak %d, 30 s after close %d' \
    "$s" "$verdict" "${client_summary#summary: }" "$(mib "$rss_before")" "$warmup" "$(mib "$warm_peak")" \
    "$(mib "$late_peak")" "$growth_pct" "$growth" "$(mib "$late_last")" "$(mib "$rss_after")" "$timeline" \
    "$fds_before" "$fds_peak" "$fds_after")")
  for p in "${problems[@]}"; do summaries+=("  problem: $p"); done
  printf '%s\n' "${summaries[@]:$first_line}"
done

echo
echo "== soak summary ($conns connections, $minutes min each, $rate messages/s, 1 in $churn messages reconnects)"
printf '%s\n' "${summaries[@]}"
exit $failed
