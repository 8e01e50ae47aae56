#!/usr/bin/env python3
"""Turns bench/run-all's results (bench/results/results.tsv: tab-separated key=value lines
appended by the benchmark programs and scripts through GREEN_BENCH_RESULTS) into
bench/RESULTS.md with gnuplot charts, and the headline table into README.md between
<!-- bench/run-all:begin --> and <!-- bench/run-all:end -->.

Standard library only (Debian's python3); gnuplot (gnuplot-nox) draws the charts."""

import argparse
import datetime
import os
import platform
import re
import shutil
import subprocess
import tempfile

MICRO_ORDER = ["switch_bench", "spawn_bench", "sleep_bench", "memory_bench", "queue_bench", "sync_bench",
               "pool_bench", "patch_bench"]
MICRO_TITLES = {
    "switch_bench": "switch",
    "spawn_bench": "spawn",
    "sleep_bench": "sleep(0) and timers",
    "memory_bench": "memory per greenlet",
    "queue_bench": "queue hand-off",
    "sync_bench": "sync (locks)",
    "pool_bench": "pools",
    "patch_bench": "patch layer",
}
ECHO_SERVERS = ["epoll", "libev", "green", "thread", "thread-green", "go", "gevent"]
ECHO_NAMES = {
    "epoll": "C epoll (baseline)",
    "libev": "libev callbacks",
    "green": "**green StreamServer**",
    "thread": "thread per connection",
    "thread-green": "thread per connection, `green-run --threads`",
    "go": "Go `net`, GOMAXPROCS=1",
    "gevent": "gevent StreamServer",
}
CRAWL_CLIENTS = ["curl_multi", "green", "go", "gevent"]
CRAWL_NAMES = {
    "curl_multi": "curl_multi (baseline)",
    "green": "**green** (libcurl easy + green::patch)",
    "go": "Go net/http, GOMAXPROCS=1",
    "gevent": "gevent + urllib / http.client",
}
SCALE_NAMES = {"green": "**green**", "fiber": "Boost.Fiber", "go": "Go, GOMAXPROCS=1"}


def read_results(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            row = {}
            for field in line.split("\t"):
                key, _, value = field.partition("=")
                row[key] = value
            rows.append(row)
    return rows


def num(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def fmt(value, digits=3):
    """A figure to about `digits` significant digits, with thousands separators."""
    if value is None:
        return "–"
    if value == int(value) and abs(value) < 1e15:
        return f"{int(value):,}"
    magnitude = len(str(int(abs(value)))) if abs(value) >= 1 else 0
    decimals = max(0, digits - magnitude)
    if abs(value) < 1:
        decimals = digits - 1 - int(f"{abs(value):e}".split("e")[1])
    return f"{value:,.{decimals}f}"


def scaled(value, unit):
    """A time in a readable unit: 363,481 ns -> 363 µs."""
    units = ["ns", "us", "ms", "s"]
    if value is None or unit not in units:
        return fmt(value) + (f" {unit}" if unit else "")
    i = units.index(unit)
    while i + 1 < len(units) and abs(value) >= 10000:
        value /= 1000
        i += 1
    return f"{fmt(value)} {units[i].replace('us', 'µs')}"


def metric_unit(metric):
    """A user counter's name as a unit: KiB_per_task -> KiB/task."""
    return metric.replace("_per_", "/").replace("_", " ")


def ratio(value, threshold=None):
    """value as "0.92x"; with three decimals when two would round it onto the threshold."""
    if value is None:
        return "–"
    if threshold is not None and round(value, 2) == threshold and value != threshold:
        return f"{value:.3f}x"
    return f"{value:.2f}x"


def verdict(ok):
    if ok is None:
        return "–"
    return "met" if ok else "**not met**"


class Targets:
    """Every target the page checks, for the summary at its top."""

    def __init__(self):
        self.rows = []

    def add(self, section, what, measured, target, ok):
        self.rows.append((section, what, measured, target, ok))
        return verdict(ok)


def machine():
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = ""
    try:
        with open("/proc/meminfo", encoding="utf-8") as f:
            kib = int(f.readline().split()[1])
            mem = f"{kib / 1024 / 1024:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    distro = ""
    try:
        with open("/etc/os-release", encoding="utf-8") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    distro = line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    compiler = ""
    try:
        compiler = subprocess.run(["c++", "--version"], capture_output=True, text=True, check=False).stdout.splitlines()[0]
    except (OSError, IndexError):
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "mem": mem,
        "kernel": platform.release(),
        "distro": distro,
        "compiler": compiler,
    }


def git_commit(root):
    try:
        commit = subprocess.run(["git", "-C", root, "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", root, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, check=True).stdout.strip()
        return commit + (" (with uncommitted changes)" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


class Charts:
    """gnuplot charts written into the results directory; each returns its file name or None."""

    def __init__(self, directory):
        self.directory = directory
        self.gnuplot = shutil.which("gnuplot")
        self.work = tempfile.mkdtemp(prefix="green-results-")

    def plot(self, name, data, script):
        if self.gnuplot is None:
            return None
        data_path = os.path.join(self.work, name + ".dat")
        with open(data_path, "w", encoding="utf-8") as f:
            f.write(data)
        output = os.path.join(self.directory, name + ".png")
        header = (f'set terminal pngcairo size 900,480 noenhanced font ",10"\nset output "{output}"\n'
                  'set style fill solid 0.8 border -1\nset grid ytics\nset key top left\n')
        result = subprocess.run([self.gnuplot], input=header + script.replace("DATA", f'"{data_path}"'), text=True,
                                capture_output=True, check=False)
        if result.returncode != 0:
            print(f"gnuplot failed for {name}: {result.stderr.strip()}")
            return None
        return name + ".png"

    def clustered(self, name, title, ylabel, columns, rows, log=False):
        """rows: [(label, [value per column])], a cluster per row, a bar per column."""
        lines = ["label " + " ".join(f'"{c}"' for c in columns)]
        for label, values in rows:
            lines.append(f'"{label}" ' + " ".join("NaN" if v is None else repr(v) for v in values))
        plots = ", ".join(f'"" using {i + 2}{":xtic(1)" if i == 0 else ""} title columnheader({i + 2})'
                          for i in range(len(columns)))
        plots = "DATA" + plots[2:]
        script = (f'set title "{title}"\nset ylabel "{ylabel}"\nset style data histograms\n'
                  'set style histogram clustered gap 1\n' + ("set logscale y\n" if log else "set yrange [0:*]\n") +
                  f"plot {plots}\n")
        return self.plot(name, "\n".join(lines) + "\n", script)


def micro_section(rows, targets, charts, out):
    ratios = [r for r in rows if r.get("kind") == "ratio"]
    limits = [r for r in rows if r.get("kind") == "limit"]
    if not ratios and not limits:
        return
    programs = sorted({r["bench"] for r in ratios + limits},
                      key=lambda b: (MICRO_ORDER.index(b) if b in MICRO_ORDER else len(MICRO_ORDER), b))
    out.append("## Micro benchmarks (green and its peer in one process)\n")
    out.append("Each row is one `GREEN_RATIO` of a `bench/*_bench.cpp` program: green's figure, the peer's, "
               "their ratio in real time (the ratio the target is checked on) and in CPU time (steadier on a "
               "busy machine). Times are per iteration as the benchmark defines it (bench/README.md). "
               "Below 1 means green is faster or smaller.\n")
    out.append("| benchmark | green | peer | ratio | ratio (CPU time) | target | |")
    out.append("|---|---|---|---|---|---|---|")
    chart_rows = []
    for program in programs:
        for r in (r for r in ratios if r["bench"] == program):
            title = f"{MICRO_TITLES.get(program, program)}: {r['label']}"
            if r.get("verdict") == "not-run":
                out.append(f"| {title} | not run | | | | | |")
                continue
            unit = r.get("unit", "")
            unit_text = f" {unit or metric_unit(r.get('metric', ''))}"
            value = num(r.get("ratio"))
            target = r.get("target", "")
            target_value = num(target.split()[-1]) if target else None
            ok = None
            if target:
                ok = r.get("verdict") == "met"
                targets.add("micro", r["label"], ratio(value, target_value),
                            target.replace("<=", "≤").replace(">=", "≥") + "x", ok)
            if unit:
                green_text, peer_text = scaled(num(r.get("green")), unit), scaled(num(r.get("peer")), unit)
            else:
                green_text = fmt(num(r.get("green"))) + unit_text
                peer_text = fmt(num(r.get("peer"))) + unit_text
            out.append(f"| {title} | {green_text} | {peer_text} | "
                       f"{ratio(value, target_value)} | {ratio(num(r.get('cpu_ratio')))} | "
                       f"{(target.replace('<=', '≤').replace('>=', '≥') + 'x') if target else 'for information'} | "
                       f"{verdict(ok) if target else ''} |")
            chart_rows.append((r["id"], value, target_value, ok))
    out.append("")
    if limits:
        out.append("Absolute figures against their targets:\n")
        out.append("| figure | measured | target | |")
        out.append("|---|---|---|---|")
        for r in sorted(limits, key=lambda r: (programs.index(r["bench"]), )):
            if r.get("verdict") == "not-run":
                out.append(f"| {r['label']} | not run | | |")
                continue
            unit = r.get("unit", "").replace("us", "µs")
            target = r.get("target", "").replace("<=", "≤").replace(">=", "≥") + (f" {unit}" if unit else "")
            measured = fmt(num(r.get("value"))) + (f" {unit}" if unit else "")
            ok = r.get("verdict") == "met"
            targets.add("micro", r["label"], measured, target, ok)
            out.append(f"| {r['label']} | {measured} | {target} | {verdict(ok)} |")
        out.append("")
    if chart_rows:
        colours = {True: 0x44AA77, False: 0xCC4444, None: 0x9999AA}
        data = "".join(f'{i} "{name}" {v if v is not None else "NaN"} {t if t is not None else "NaN"} {colours[ok]}\n'
                       for i, (name, v, t, ok) in enumerate(chart_rows))
        script = ('set title "green / peer, real time per operation (below 1: green is faster or smaller)"\n'
                  "set logscale y\nset yrange [0.01:100]\nset ylabel \"ratio (log scale)\"\n"
                  "set xtics rotate by 40 right\nset bmargin 9\nset boxwidth 0.7\nset xrange [-0.7:"
                  f"{len(chart_rows) - 0.3}]\n"
                  "plot DATA using 1:3:5:xtic(2) with boxes lc rgb variable "
                  "title \"ratio (green: target met, red: not met, grey: no target)\", "
                  "\"\" using 1:4 with points pt 9 ps 1.6 lc rgb \"black\" title \"target (at most)\", "
                  "1 with lines dt 2 lc rgb \"gray40\" notitle\n")
        png = charts.plot("ratios", data, script)
        if png:
            out.append(f"![green / peer ratios](results/{png})\n")


def echo_section(rows, targets, charts, out):
    echo = [r for r in rows if r.get("bench") == "echo"]
    if not echo:
        return
    conns = sorted({int(r["conns"]) for r in echo})
    servers = [s for s in ECHO_SERVERS if any(r["server"] == s for r in echo)]
    servers += sorted({r["server"] for r in echo} - set(servers))
    get = {(r["server"], int(r["conns"])): r for r in echo}

    def value(server, n, key):
        r = get.get((server, n))
        return num(r.get(key)) if r else None

    heads = " | ".join(f"{n:,} conns" for n in conns)
    out.append("## Echo servers (`bench/echo/run.sh`)\n")
    out.append("64-byte round trips over persistent connections, one message in flight per connection, one "
               "load generator (`loadgen.c`, epoll, one thread) pinned to CPU 1 and the server to CPU 0 "
               "(`taskset`). Round trips per second, and the ratio to the hand-written C epoll server:\n")
    out.append(f"| server | {heads} |")
    out.append("|---|" + "---|" * len(conns))
    for s in servers:
        cells = []
        for n in conns:
            rps, base = value(s, n, "rps"), value("epoll", n, "rps")
            cells.append("–" if rps is None else f"{fmt(rps)}/s, {ratio(rps / base) if base else '–'}")
        out.append(f"| {ECHO_NAMES.get(s, s)} | " + " | ".join(cells) + " |")
    out.append("")
    out.append("The server's CPU time (user + system, from /proc) per round trip, and C epoll's divided by it "
               "(higher is better; steadier than throughput when the machine is busy), and its peak RSS:\n")
    out.append(f"| server | {heads} | peak RSS, {' / '.join(f'{n:,}' for n in conns)} |")
    out.append("|---|" + "---|" * (len(conns) + 1))
    for s in servers:
        cells = []
        for n in conns:
            us, base = value(s, n, "cpu_us"), value("epoll", n, "cpu_us")
            cells.append("–" if not us else f"{fmt(us)} µs, {ratio(base / us) if base else '–'}")
        rss = " / ".join("–" if value(s, n, "peak_rss_kib") is None else f"{value(s, n, 'peak_rss_kib') / 1024:.1f} MiB"
                         for n in conns)
        out.append(f"| {ECHO_NAMES.get(s, s)} | " + " | ".join(cells) + f" | {rss} |")
    out.append("")

    out.append("Targets (issue 4: green's round trips per second at least 0.9x the C epoll server's, and more "
               "than Go's and gevent's, at each size):\n")
    out.append("| target | " + heads + " |")
    out.append("|---|" + "---|" * len(conns))
    checks = [("green ≥ 0.9x C epoll", "epoll", lambda g, p: g / p >= 0.9, lambda g, p: ratio(g / p, 0.9)),
              ("green > Go", "go", lambda g, p: g > p, lambda g, p: f"{ratio(g / p, 1)} Go"),
              ("green > gevent", "gevent", lambda g, p: g > p, lambda g, p: f"{ratio(g / p, 1)} gevent")]
    for label, peer, test, show in checks:
        cells = []
        for n in conns:
            g, p = value("green", n, "rps"), value(peer, n, "rps")
            if g is None or not p:
                cells.append("not run")
                continue
            ok = test(g, p)
            targets.add("echo", f"{label}, {n:,} connections (round trips/s)", show(g, p), label.split(" ", 1)[1], ok)
            cells.append(f"{show(g, p)}: {verdict(ok)}")
        out.append(f"| {label} | " + " | ".join(cells) + " |")
    out.append("")

    if any(s in servers for s in ("thread", "thread-green")):
        out.append("### Thread per connection under `green-run --threads` (issue 5)\n")
        out.append("The same unmodified `thread_server.c` binary (blocking `read`/`write`, a thread per "
                   "connection) natively and under `green-run --threads`. Target: at least 1.2x its native "
                   "round trips per second at 1,000 and 10,000 connections, with no more RSS than native "
                   "(OS threads: not counted by this run; bench/README.md has a count).\n")
        out.append("| connections | native | `--threads` | ratio | peak RSS native / `--threads` | |")
        out.append("|---|---|---|---|---|---|")
        for n in conns:
            a, b = value("thread", n, "rps"), value("thread-green", n, "rps")
            ra, rb = value("thread", n, "peak_rss_kib"), value("thread-green", n, "peak_rss_kib")
            if a is None or b is None:
                out.append(f"| {n:,} | {fmt(a)} | {fmt(b)} | – | | not run |")
                continue
            checked = n >= 1000
            ok = b / a >= 1.2 and (ra is None or rb is None or rb <= ra)
            if checked:
                targets.add("threads", f"thread-per-connection echo, {n:,} connections: `--threads` / native",
                            f"{ratio(b / a, 1.2)}, RSS {rb / 1024:.1f} / {ra / 1024:.1f} MiB" if ra and rb else ratio(b / a, 1.2),
                            "≥ 1.2x, RSS ≤ native", ok)
            rss = f"{ra / 1024:.1f} / {rb / 1024:.1f} MiB" if ra and rb else "–"
            out.append(f"| {n:,} | {fmt(a)}/s | {fmt(b)}/s | {b / a:.2f}x | {rss} | "
                       f"{verdict(ok) if checked else 'for information'} |")
        out.append("")

    columns = [f"{n:,} connections" for n in conns]
    png = charts.clustered("echo", "echo round trips per second (higher is better)", "round trips / s", columns,
                           [(s, [value(s, n, "rps") for n in conns]) for s in servers])
    if png:
        out.append(f"![echo round trips per second](results/{png})\n")
    png = charts.clustered("echo_cpu", "server CPU time per round trip (lower is better)", "µs per round trip",
                           columns, [(s, [value(s, n, "cpu_us") or None for n in conns]) for s in servers])
    if png:
        out.append(f"![echo CPU per round trip](results/{png})\n")


def echo_scale_section(rows, logs, targets, out):
    """Returns the 2-thread / 1-thread throughput ratio, or None."""
    lines = [r for r in rows if r.get("bench") in ("echo-scale", "echo_scale")]
    log = os.path.join(logs, "echo-scale.txt")
    text = open(log, encoding="utf-8").read() if os.path.exists(log) else ""
    out.append("## Echo on 2 threads vs 1 (`bench/echo/scale.sh`)\n")
    if not lines and not text.strip():
        out.append("Not run.\n")
        return None
    if "not in this tree" in text:
        out.append("Not measured: `bench/echo/scale.sh` is not in this tree yet.\n")
        return None
    out.append("Target (issue 8): with 1,000 connections, 2 threads reach at least 1.7x one thread's round "
               "trips per second.\n")
    for r in lines:
        out.append("- " + ", ".join(f"{k} = {v}" for k, v in r.items() if k != "bench"))
    ratio_lines = [line.strip() for line in text.splitlines() if re.search(r"ratio", line, re.I)]
    if ratio_lines:
        out.append("Its output:\n\n```\n" + text.strip() + "\n```\n")
        # The throughput ratio is the one the target is stated on.
        line = next((l for l in ratio_lines if "throughput" in l.lower()), ratio_lines[0])
        m = re.search(r"(\d+\.\d+)x", line)
        if m:
            value = float(m.group(1))
            ok = targets.add("echo", "echo on 2 threads / 1 thread, 1,000 connections (round trips/s)",
                             f"{value:.2f}x", "≥ 1.7x", value >= 1.7)
            out.append(f"2 threads / 1 thread, round trips per second: {value:.2f}x (target ≥ 1.7x): {ok}\n")
            return value
    elif not lines:
        out.append("It printed no ratio; its output is in `bench/results/logs/echo-scale.txt`.\n")
    return None


def crawl_section(rows, charts_dir, targets, out):
    crawl = [r for r in rows if r.get("bench") == "crawl"]
    if not crawl:
        return
    get = {(r["client"], r["mode"]): num(r["seconds"]) for r in crawl}
    urls, concurrency = crawl[0].get("urls", "?"), crawl[0].get("concurrency", "?")
    out.append("## Crawler fetch loop (`bench/crawl/run.sh`)\n")
    ideal = ""
    if urls.isdigit() and concurrency.isdigit():
        ideal = f" (ideal {int(urls) / int(concurrency) * 0.05:.2f} s)"
    out.append(f"{int(urls):,} URLs from a local server that answers each after 50 ms with 10 KB, {concurrency} "
               f"at a time, on one OS thread each{ideal}; wall time, best of the runs, and the ratio to "
               "curl_multi:\n")
    out.append("| client | new connection per URL | ratio | connections reused | ratio |")
    out.append("|---|---|---|---|---|")
    for c in CRAWL_CLIENTS + sorted({r["client"] for r in crawl} - set(CRAWL_CLIENTS)):
        cells = []
        for mode in ("new", "reuse"):
            t, base = get.get((c, mode)), get.get(("curl_multi", mode))
            cells += ["–" if t is None else f"{t:.2f} s", ratio(t / base) if t and base else "–"]
        if any(get.get((c, m)) is not None for m in ("new", "reuse")):
            out.append(f"| {CRAWL_NAMES.get(c, c)} | " + " | ".join(cells) + " |")
    out.append("")
    out.append("Targets (issue 6: within 1.1x of curl_multi's wall time, and faster than gevent and Go, in "
               "both modes):\n")
    out.append("| target | new connection per URL | connections reused |")
    out.append("|---|---|---|")
    for label, peer, test, show in [
            ("green ≤ 1.1x curl_multi", "curl_multi", lambda g, p: g <= 1.1 * p, lambda g, p: ratio(g / p, 1.1)),
            ("green faster than gevent", "gevent", lambda g, p: g < p, lambda g, p: f"{ratio(g / p, 1)} gevent's time"),
            ("green faster than Go", "go", lambda g, p: g < p, lambda g, p: f"{ratio(g / p, 1)} Go's time")]:
        cells = []
        for mode in ("new", "reuse"):
            g, p = get.get(("green", mode)), get.get((peer, mode))
            if g is None or p is None:
                cells.append("not run")
                continue
            ok = test(g, p)
            targets.add("crawl", f"{label} ({'new connections' if mode == 'new' else 'connections reused'})",
                        show(g, p), label.split(" ", 1)[1], ok)
            cells.append(f"{show(g, p)}: {verdict(ok)}")
        out.append(f"| {label} | " + " | ".join(cells) + " |")
    out.append("")
    if os.path.exists(os.path.join(charts_dir, "crawl.png")):
        out.append("![crawl benchmark](results/crawl.png)\n")


def scale_section(rows, charts, targets, out):
    scale = [r for r in rows if r.get("bench") == "scale"]
    if not scale:
        return
    get = {r["peer"]: r for r in scale}
    count = int(scale[0].get("count", "0") or 0)
    out.append("## A million greenlets (`bench/scale/run.sh`)\n")
    out.append(f"{count:,} tasks alive at once, half asleep on a timer and half blocked on an event / condition "
               "/ channel, one OS thread: the time to spawn them until every one is blocked, and RSS per task.\n")
    if count < 1000000:
        out.append(f"**Only {count:,} tasks**: the machine had too little free memory for Boost.Fiber's "
                   "million; the targets are stated at 1,000,000.\n")
    out.append("| | spawn (s) | RSS per task (KiB) | green / this: spawn time | green / this: RSS |")
    out.append("|---|---|---|---|---|")
    green = get.get("green", {})
    gs, gk = num(green.get("spawn_s")), num(green.get("kib_per_task"))
    for peer in ["green", "fiber", "go"] + sorted(set(get) - {"green", "fiber", "go"}):
        if peer not in get:
            continue
        s, k = num(get[peer].get("spawn_s")), num(get[peer].get("kib_per_task"))
        rs = ratio(gs / s) if gs and s and peer != "green" else ""
        rk = ratio(gk / k) if gk and k and peer != "green" else ""
        out.append(f"| {SCALE_NAMES.get(peer, peer)} | {fmt(s)} | {fmt(k)} | {rs} | {rk} |")
    out.append("")
    out.append("Targets (issue 8):\n")
    out.append("| target | measured | |")
    out.append("|---|---|---|")
    if gk is not None:
        ok = gk <= 4.5
        targets.add("scale", "RSS per idle greenlet, 1,000,000 blocked", f"{gk:.2f} KiB", "≤ 4.5 KiB", ok)
        out.append(f"| RSS per idle greenlet ≤ 4.5 KiB | {gk:.2f} KiB | {verdict(ok)} |")
    go_s = num(get.get("go", {}).get("spawn_s"))
    if gs is not None and go_s:
        ok = gs < go_s
        targets.add("scale", "1,000,000 spawned faster than Go", f"{gs:.1f} s vs Go {go_s:.1f} s", "faster than Go", ok)
        out.append(f"| spawned faster than Go | {gs:.1f} s vs {go_s:.1f} s ({gs / go_s:.2f}x) | {verdict(ok)} |")
    out.append("")
    names = [p for p in ["green", "fiber", "go"] if p in get]
    data = "".join(f'{i} "{p}" {get[p].get("spawn_s") or "NaN"} {get[p].get("kib_per_task") or "NaN"}\n'
                   for i, p in enumerate(names))
    script = ('set multiplot layout 1,2 title "' + f"{count:,}" + ' tasks blocked at once (lower is better)"\n'
              "set boxwidth 0.6\nset yrange [0:*]\nset xrange [-0.6:" + f"{len(names) - 0.4}" + "]\nunset key\n"
              'set title "time to spawn (s)"\nplot DATA using 1:3:xtic(2) with boxes lc rgb "#4477aa"\n'
              'set title "RSS per task (KiB)"\nplot DATA using 1:4:xtic(2) with boxes lc rgb "#cc6677", '
              '4.5 with lines dt 2 lc rgb "black" title "target"\nunset multiplot\n')
    png = charts.plot("scale", data, script)
    if png:
        out.append(f"![a million tasks](results/{png})\n")


def threads_section(rows, out):
    ops = [r for r in rows if r.get("bench") == "threads"]
    if not ops:
        return
    out.append("## pthread operations under `--threads` (`bench/threads/run.sh`)\n")
    out.append("An ordinary pthread program (`threads_ops.c`) natively and under `green-run --threads`, both "
               "pinned to CPU 0; for information (no target):\n")
    out.append("| operation | native | `--threads` | ratio |")
    out.append("|---|---|---|---|")
    for r in ops:
        a, b = num(r.get("native_ns")), num(r.get("green_ns"))
        out.append(f"| {r['op']} | {fmt(a)} ns | {fmt(b)} ns | {ratio(b / a) if a and b else '–'} |")
    out.append("")


def headline(rows, scaling):
    """The README's rows: a few key figures, each with its target."""
    by_id = {r.get("id"): r for r in rows if r.get("kind") in ("ratio", "limit")}
    table = ["| benchmark | green | peer | ratio | target | |", "|---|---|---|---|---|---|"]

    def micro(rid, text):
        r = by_id.get(rid)
        if not r or r.get("verdict") == "not-run":
            return
        unit = f" {r['unit']}" if r.get("unit") else ""
        target = r.get("target", "").replace("<=", "≤").replace(">=", "≥")
        if r.get("kind") == "ratio":
            table.append(f"| {text} | {fmt(num(r['green']))}{unit} | {fmt(num(r['peer']))}{unit} | "
                         f"{ratio(num(r['ratio']), num(target.split()[-1]) if target else None)} | "
                         f"{target + 'x' if target else ''} | "
                         f"{verdict(r.get('verdict') == 'met') if target else ''} |")
        else:
            table.append(f"| {text} | {fmt(num(r['value']))}{unit} | | | {target}{unit} | "
                         f"{verdict(r.get('verdict') == 'met')} |")

    micro("switch_vs_fiber", "switch round trip (vs `boost::context::fiber`)")
    spawn, versus = by_id.get("spawn_ns"), by_id.get("spawn_vs_fiber")
    if spawn and num(spawn.get("value")) and versus and num(versus.get("ratio")):
        # spawn_vs_fiber compares batches of the same size, so the fiber's figure per task follows.
        g, r = num(spawn["value"]), num(versus["ratio"])
        table.append(f"| spawn + run + join per task (vs Boost.Fiber) | {fmt(g)} ns | {fmt(g / r)} ns | {ratio(r)} | "
                     f"≤ 100 ns | {verdict(spawn.get('verdict') == 'met')} |")
    else:
        micro("spawn_ns", "spawn + run + join per greenlet")
    micro("queue_1", "`Queue(1)` hand-off per item (vs Boost.Fiber `buffered_channel`)")
    micro("lock_vs_std_mutex", "uncontended `Lock` (vs `std::mutex`)")
    scale = {r["peer"]: r for r in rows if r.get("bench") == "scale"}
    if "green" in scale:
        g = scale["green"]
        count = int(g.get("count", "0") or 0)
        go = scale.get("go", {})
        gk, goks = num(g.get("kib_per_task")), num(go.get("kib_per_task"))
        table.append(f"| RSS per idle greenlet, {count:,} blocked (vs Go) | {fmt(gk)} KiB | {fmt(goks)} KiB | "
                     f"{ratio(gk / goks) if gk and goks else '–'} | ≤ 4.5 KiB | {verdict(gk is not None and gk <= 4.5)} |")
        gs, gos = num(g.get("spawn_s")), num(go.get("spawn_s"))
        if gs and gos:
            table.append(f"| spawn {count:,} blocked greenlets (vs Go) | {gs:.1f} s | {gos:.1f} s | {gs / gos:.2f}x | "
                         f"faster than Go | {verdict(gs < gos)} |")
    echo = {(r["server"], int(r["conns"])): num(r["rps"]) for r in rows if r.get("bench") == "echo"}
    g, e = echo.get(("green", 1000)), echo.get(("epoll", 1000))
    if g and e:
        table.append(f"| echo, 1,000 connections, round trips/s (vs C epoll) | {fmt(g)}/s | {fmt(e)}/s | "
                     f"{ratio(g / e, 0.9)} | ≥ 0.9x | {verdict(g / e >= 0.9)} |")
    a, b = echo.get(("thread", 1000)), echo.get(("thread-green", 1000))
    if a and b:
        table.append(f"| thread-per-connection echo, 1,000 connections: `--threads` (vs native) | {fmt(b)}/s | "
                     f"{fmt(a)}/s | {ratio(b / a, 1.2)} | ≥ 1.2x | {verdict(b / a >= 1.2)} |")
    if scaling is not None:
        table.append(f"| echo, 1,000 connections, 2 threads (vs 1 thread) | | | {ratio(scaling, 1.7)} | ≥ 1.7x | "
                     f"{verdict(scaling >= 1.7)} |")
    crawl = {(r["client"], r["mode"]): num(r["seconds"]) for r in rows if r.get("bench") == "crawl"}
    g, c = crawl.get(("green", "new")), crawl.get(("curl_multi", "new"))
    if g and c:
        table.append(f"| crawl fetch loop, 5,000 URLs, new connections (vs curl_multi) | {g:.2f} s | {c:.2f} s | "
                     f"{ratio(g / c, 1.1)} | ≤ 1.1x | {verdict(g <= 1.1 * c)} |")
    return table


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--results", required=True)
    parser.add_argument("--logs", required=True)
    parser.add_argument("--charts", required=True)
    parser.add_argument("--page", required=True)
    parser.add_argument("--mode", default="quick")
    parser.add_argument("--elapsed", type=int, default=0)
    parser.add_argument("--times", default="")
    parser.add_argument("--readme")
    args = parser.parse_args()

    rows = read_results(args.results)
    root = os.path.dirname(os.path.dirname(os.path.abspath(args.page)))
    m = machine()
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    machine_line = (f"{m['cpu']}, {m['cores']} cores, {m['mem']}, Linux {m['kernel']}"
                    + (f", {m['distro']}" if m["distro"] else "") + (f", {m['compiler']}" if m["compiler"] else ""))
    charts = Charts(args.charts)
    targets = Targets()

    body = []
    micro_section(rows, targets, charts, body)
    echo_section(rows, targets, charts, body)
    scaling = echo_scale_section(rows, args.logs, targets, body)
    crawl_section(rows, args.charts, targets, body)
    scale_section(rows, charts, targets, body)
    threads_section(rows, body)

    page = ["# Performance results", ""]
    page.append(f"Made by `bench/run-all` ({'`--full`' if args.mode == 'full' else 'quick mode, the default'}) "
                f"on {date}, commit {git_commit(root)}.\n")
    page.append(f"Machine: {machine_line}.\n")
    minutes, seconds = divmod(args.elapsed, 60)
    times = ", ".join(f"{k} {int(v) // 60} min {int(v) % 60:02d} s" if int(v) >= 60 else f"{k} {v} s"
                      for k, v in (t.split("=") for t in args.times.split()) if v.isdigit())
    page.append(f"The whole run took {minutes} min {seconds:02d} s ({times}). Raw figures: "
                "[results/results.tsv](results/results.tsv); each program's own output: "
                "[results/logs/](results/logs/). bench/README.md says what each benchmark compares.\n")
    met = sum(1 for t in targets.rows if t[4])
    page.append(f"## Targets: {met} of {len(targets.rows)} met\n")
    page.append("| section | target | measured | wanted | |")
    page.append("|---|---|---|---|---|")
    for section, what, measured, wanted, ok in targets.rows:
        page.append(f"| {section} | {what} | {measured} | {wanted} | {verdict(ok)} |")
    page.append("")
    page += body
    with open(args.page, "w", encoding="utf-8") as f:
        f.write("\n".join(page).rstrip("\n") + "\n")
    print(f"wrote {args.page}: {met} of {len(targets.rows)} targets met")

    if args.readme:
        table = headline(rows, scaling)
        chart = "ratios.png" if os.path.exists(os.path.join(args.charts, "ratios.png")) else None
        block = ["<!-- bench/run-all:begin -->",
                 f"Measured by `bench/run-all` on {date} ({machine_line}); every figure, chart and target is in "
                 f"[bench/RESULTS.md](bench/RESULTS.md).", ""] + table
        if chart:
            block += ["", f"![green / peer ratios](bench/results/{chart})"]
        block.append("<!-- bench/run-all:end -->")
        with open(args.readme, encoding="utf-8") as f:
            text = f.read()
        pattern = re.compile(r"<!-- bench/run-all:begin -->.*?<!-- bench/run-all:end -->", re.S)
        if pattern.search(text):
            text = pattern.sub(lambda _: "\n".join(block), text)
            with open(args.readme, "w", encoding="utf-8") as f:
                f.write(text)
            print(f"updated the headline table in {args.readme}")
        else:
            print(f"{args.readme} has no <!-- bench/run-all:begin --> marker: headline table not written")


if __name__ == "__main__":
    main()
