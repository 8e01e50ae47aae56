#!/usr/bin/env bash
# Runs the gdb target to its stop, then checks green-info's listing and green-bt's
# backtrace of a suspended greenlet. The extension must arrive by auto-load, beside libgreen.
set -euo pipefail
gdb=$1 target=$2 libdir=$3
out=$("$gdb" -nx -batch -iex "add-auto-load-safe-path $libdir" \
  -ex "break green_gdb_stop_here" -ex run -ex "green-info" -ex "green-bt waiter-3" -ex "green-bt napper-0" \
  -ex "kill" "$target" 2>&1)

fail() {
  echo "$out"
  echo "FAIL: $1"
  exit 1
}
grep -Eq "^hub 0x[0-9a-f]+ on thread [0-9]+ \(gdb thread 1\): 101 greenlets" <<<"$out" || fail "green-info: hub line"
grep -Eq "^ +[0-9]+  MainGreenlet +running$" <<<"$out" || fail "main greenlet running"
[[ $(grep -Ec "^ +[0-9]+  napper-[0-9]+ +waiting on sleep$" <<<"$out") == 25 ]] || fail "25 nappers"
[[ $(grep -Ec "^ +[0-9]+  waiter-[0-9]+ +waiting on Event.wait$" <<<"$out") == 25 ]] || fail "25 event waiters"
[[ $(grep -Ec "^ +[0-9]+  joiner-[0-9]+ +waiting on Greenlet.join$" <<<"$out") == 25 ]] || fail "25 joiners"
[[ $(grep -Ec "^ +[0-9]+  fd-[0-9]+ +waiting on wait_read \(fd 1[0-9][0-9], read\)$" <<<"$out") == 25 ]] || fail "25 fd waiters"
grep -Eq "^greenlet [0-9]+ 'waiter-3' \(waiting on Event.wait\) on thread [0-9]+:" <<<"$out" || fail "green-bt header"
bt=$(sed -n "/'waiter-3'/,/^greenlet /p" <<<"$out")
grep -q "green::Hub::suspend" <<<"$bt" || fail "backtrace reaches the switch"
grep -q "green::Event::wait" <<<"$bt" || fail "backtrace shows Event::wait"
grep -q "wait_for_event" <<<"$bt" || fail "backtrace shows wait_for_event"
grep -q " nap (" <<<"$out" || fail "napper's backtrace shows nap"
# The thread's own registers are back: execution continues and the program is killed cleanly.
echo "$out" | tail -n 40
echo "gdb: ok"
