# gevent: monkey.patch_all and the standard library's HTTP client in CONCURRENCY greenlets.
# reuse: one http.client connection per greenlet; new: urllib.request.urlopen per URL.
# Usage: gevent_fetch.py URL_PREFIX URLS CONCURRENCY reuse|new   (prints the wall time, s)
from gevent import monkey

monkey.patch_all()

import http.client
import sys
import time
import urllib.parse
import urllib.request

import gevent
from gevent.pool import Pool

prefix, urls, concurrency, mode = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
parts = urllib.parse.urlsplit(prefix)
counter = iter(range(urls))
failed = 0


def worker():
    global failed
    conn = http.client.HTTPConnection(parts.hostname, parts.port) if mode == "reuse" else None
    for i in counter:
        try:
            if conn:
                conn.request("GET", parts.path + str(i))
                conn.getresponse().read()
            else:
                with urllib.request.urlopen(prefix + str(i)) as r:
                    r.read()
        except Exception:
            failed += 1


start = time.monotonic()
pool = Pool(concurrency)
for _ in range(concurrency):
    pool.spawn(worker)
pool.join()
print("%.3f" % (time.monotonic() - start))
if failed:
    print("gevent_fetch: %d failed" % failed, file=sys.stderr)
    sys.exit(1)
