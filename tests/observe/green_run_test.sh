#!/usr/bin/env bash
# green-run's observation options on an unmodified C program: --stats, --dump-signal,
# --max-blocking-ms, and their place in --help.
set -euo pipefail
green_run=$1 program=$2

fail() {
  echo "$out"
  echo "FAIL: $1"
  exit 1
}
out=$("$green_run" --help)
for option in --stats --stack-census --max-blocking-ms --dump-signal; do
  grep -q -- "$option" <<<"$out" || fail "--help lacks $option"
done

out=$("$green_run" --stats "$program" 2>&1)
grep -Eq "^green: stats: hub on thread [0-9]+: switches [0-9]+, spawns 0, live 0 \(peak 0\), waits 10 \(usleep 10\)$" \
  <<<"$out" || grep -Eq "^green: stats: hub on thread [0-9]+: switches [0-9]+, spawns 0, live 0 \(peak 0\), waits [0-9]+" \
  <<<"$out" || fail "--stats"

out=$("$green_run" --dump-signal USR1 "$program" dump 2>&1)
grep -Eq "^green run info: pid [0-9]+, 1 hub$" <<<"$out" || fail "--dump-signal: header"
grep -Eq "^  'MainGreenlet' \(id [0-9]+\): waiting on [a-z_]*sleep" <<<"$out" || fail "--dump-signal: main greenlet"
grep -q "busy_sleeper: done" <<<"$out" || fail "--dump-signal: the program went on"

out=$("$green_run" --max-blocking-ms 100 "$program" spin 2>&1)
grep -Eq "^green: blocking monitor: the hub of thread [0-9]+ has not run its loop for [0-9]+ ms \(limit 100 ms\): greenlet 'MainGreenlet' \(id [0-9]+\) has not yielded; its stack:$" \
  <<<"$out" || fail "--max-blocking-ms: report"
grep -Eq "^  #[0-9]+ .* in .*busy_sleeper" <<<"$out" || fail "--max-blocking-ms: backtrace in the program"
grep -q "busy_sleeper: done" <<<"$out" || fail "--max-blocking-ms: the program went on"

out=$("$green_run" --max-blocking-ms x "$program" 2>&1) && fail "bad --max-blocking-ms accepted"
grep -q "not a positive whole number" <<<"$out" || fail "bad --max-blocking-ms message"
out=$("$green_run" --dump-signal HUP "$program" 2>&1) && fail "bad --dump-signal accepted"
echo "green-run observation options: ok"
