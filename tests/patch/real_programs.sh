#!/usr/bin/env bash
# Real, unmodified programs under green-run print exactly what they print without it:
# curl downloading from a local HTTP server, and python3 fetching with urllib (sockets,
# getaddrinfo for "localhost", poll/select). Usage: real_programs.sh <green-run>
set -euo pipefail
green_run=$1
work=$(mktemp -d)
server_pid=
cleanup() {
  [[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

head -c 3000000 /dev/urandom > "$work/data.bin"
printf 'hello from a local server\n' > "$work/hello.txt"

# The server runs without green-run; it writes its port once it listens.
python3 - "$work" > "$work/port" <<'PY' &
import functools, http.server, sys
handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[1])
http.server.SimpleHTTPRequestHandler.log_message = lambda *a: None
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
print(server.server_address[1], flush=True)
server.serve_forever()
PY
server_pid=$!
for _ in $(seq 100); do [[ -s $work/port ]] && break; sleep 0.05; done
port=$(cat "$work/port")
[[ -n $port ]] || { echo "server did not start"; exit 1; }

same() {  # same <name> <command...>: output with and without green-run is identical
  local name=$1; shift
  "$@" > "$work/$name.plain"
  "$green_run" -- "$@" > "$work/$name.green"
  if ! cmp -s "$work/$name.plain" "$work/$name.green"; then
    echo "FAIL: $name: output differs under green-run"
    exit 1
  fi
  [[ -s $work/$name.plain ]] || { echo "FAIL: $name: no output"; exit 1; }
  echo "ok: $name ($(wc -c < "$work/$name.plain") bytes)"
}

same curl-data curl -sS --fail "http://127.0.0.1:$port/data.bin"
same curl-localhost curl -sS --fail "http://localhost:$port/hello.txt"
cmp -s "$work/curl-data.green" "$work/data.bin" || { echo "FAIL: curl download corrupt"; exit 1; }
same python-urllib python3 -c "
import hashlib, urllib.request
for name in ('data.bin', 'hello.txt'):
    body = urllib.request.urlopen('http://localhost:$port/' + name, timeout=30).read()
    print(name, len(body), hashlib.sha256(body).hexdigest())
"
same python-socket-timeout python3 -c "
import socket
a, b = socket.socketpair()
a.settimeout(0.1)
try:
    a.recv(1)
except socket.timeout:
    print('timeout')
b.sendall(b'x' * 100000)
a.settimeout(None)
got = 0
while got < 100000:
    got += len(a.recv(65536))
print('received', got)
"
same python-subprocess python3 -c "
import subprocess, sys
out = subprocess.run([sys.executable, '-c', 'import sys; sys.stdout.write(\"y\" * 300000)'],
                     capture_output=True, check=True).stdout
print('child wrote', len(out))
p = subprocess.Popen(['cat'], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
out, _ = p.communicate(b'z' * 500000)
print('cat echoed', len(out), p.returncode)
"

# A Python program whose threads talk to the local server, also under --threads (where its
# threads become greenlets on one OS thread).
threads_program="
import hashlib, threading, urllib.request
results = [None] * 20
def fetch(i):
    body = urllib.request.urlopen('http://localhost:$port/data.bin', timeout=30).read()
    results[i] = hashlib.sha256(body).hexdigest()
threads = [threading.Thread(target=fetch, args=(i,)) for i in range(20)]
for t in threads: t.start()
for t in threads: t.join()
print(len(set(results)), results[0])
"
same python-threads python3 -c "$threads_program"
python3 -c "$threads_program" > "$work/threads.plain"
"$green_run" --threads -- python3 -c "$threads_program" > "$work/threads.green"
cmp -s "$work/threads.plain" "$work/threads.green" || { echo "FAIL: python-threads under --threads differs"; exit 1; }
echo "ok: python-threads under --threads"
