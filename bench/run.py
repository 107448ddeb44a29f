#!/usr/bin/env python3
"""pipemux's benchmark: pipemux side by side with a hand-written C reference and the tools
people use today, on this machine, in one invocation.

Every contender run is paired with a reference run right before it, with the same children and
lines; a result is the median over the pairs, its spread, and its ratio to the median of its
own reference runs. The machine is shared and noisy: read the ratios, not the absolute times.
Every contender's output is checked (line count, each child's order, no torn or merged line);
one that garbles is reported as such and not ranked.

Writes bench/results.md and bench/*.png. Run through bench/run, which builds what it needs.
"""
import argparse
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BUILD = ROOT / "build-bench"
PIPEMUX = BUILD / "pipemux"
PRODUCER = BUILD / "bench" / "bench_producer"
REFERENCE = BUILD / "bench" / "bench_reference"
MICRO = BUILD / "bench" / "bench_micro"
SLOW_PEER = BUILD / "bench" / "bench_slow_peer"
SPAWN_REFERENCE = BUILD / "bench" / "bench_spawn_reference"
GUARD_START = BUILD / "bench" / "bench_guard_start"
CONCURRENTLY = HERE / ".cache" / "node_modules" / ".bin" / "concurrently"
TMPFS = Path("/dev/shm") if Path("/dev/shm").is_dir() else Path("/tmp")
OUT_FILE = TMPFS / "pipemux-bench.out"

SPAM = re.compile(rb"Spam ([0-4])")


# --- contenders: each builds a command line (argv or shell text) for N children x K lines ----

def pipemux_cmd(n, k, out):
    return [str(PIPEMUX), "-n", str(n), "-o", out, "--", str(PRODUCER), str(k)]


def reference_cmd(n, k, out):
    return f"{REFERENCE} {n} -- {PRODUCER} {k} > {out}"


def ts_cmd(n, k, out):
    jobs = " ".join(f"({PRODUCER} {k} | ts 'producer.{i} %Y-%m-%d %H:%M:%.S') &" for i in range(n))
    return f"{{ {jobs} wait; }} > {out}"


def parallel_cmd(n, k, out):
    return (f"parallel --will-cite -j {n} --tag --line-buffer {PRODUCER} {k} -child={{}} ::: "
            + " ".join(str(i) for i in range(n)) + f" > {out}")


PY_SEED = r'''
import os, sys, time, selectors
n, cmd = int(sys.argv[1]), sys.argv[2:]
sel = selectors.DefaultSelector()
for i in range(n):
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.dup2(w, 1); os.execvp(cmd[0], cmd)
    os.close(w); sel.register(r, selectors.EVENT_READ, i)
open_pipes = n
out = sys.stdout
while open_pipes:
    for key, _ in sel.select():
        line = os.read(key.fd, 32)
        if not line:
            sel.unregister(key.fd); os.close(key.fd); open_pipes -= 1; continue
        print('Parent %d got [%s] as %s' % (os.getpid(), line, time.time()), file=out)
'''

PY_SPLIT = r'''
import os, sys, time, selectors
n, cmd = int(sys.argv[1]), sys.argv[2:]
sel = selectors.DefaultSelector()
pending = {}
for i in range(n):
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.dup2(w, 1); os.execvp(cmd[0], cmd)
    os.close(w); sel.register(r, selectors.EVENT_READ, i); pending[r] = b''
open_pipes = n
out = sys.stdout.buffer
while open_pipes:
    for key, _ in sel.select():
        data = os.read(key.fd, 65536)
        if not data:
            sel.unregister(key.fd); os.close(key.fd); open_pipes -= 1; continue
        lines = (pending[key.fd] + data).split(b'\n')
        pending[key.fd] = lines.pop()
        prefix = b'producer.%d ' % key.data
        for line in lines:
            out.write(b'%.6f ' % time.time() + prefix + line + b'\n')
'''


def python_seed_cmd(n, k, out):
    return f"python3 -c {shlex_quote(PY_SEED)} {n} {PRODUCER} {k} > {out}"


def python_split_cmd(n, k, out):
    return f"python3 -c {shlex_quote(PY_SPLIT)} {n} {PRODUCER} {k} > {out}"


def concurrently_cmd(n, k, out):
    jobs = " ".join(f"'{PRODUCER} {k}'" for _ in range(n))
    return (f"{CONCURRENTLY} -p '{{index}} {{time}}' -t 'yyyy-MM-dd HH:mm:ss.SSS' "
            f"{jobs} > {out}")


def shlex_quote(text):
    import shlex
    return shlex.quote(text)


# --- output checks: (child, payload) per line, or None for a line no child wrote -------------

SKIP = "skip"  # a line of the tool's own (pipemux's '*' reports, concurrently's exit notes)


def child_of_pipemux(line):  # "... bench_producer.3 [pid] out | Spam 2" (padded label)
    if b" - * " in line:
        return SKIP
    m = re.search(rb" \S*producer\.(\d+) *\[\d+\] out \| (.*)$", line)
    return (int(m.group(1)), m.group(2)) if m else None


def child_of_ts(line):  # "producer.3 2026-11-29 14:00:00.123456 Spam 2"
    m = re.match(rb"producer\.(\d+) \S+ \S+ (.*)$", line)
    return (int(m.group(1)), m.group(2)) if m else None


def child_of_parallel(line):  # "3\tSpam 2"
    m = re.match(rb"(\d+)\t(.*)$", line)
    return (int(m.group(1)), m.group(2)) if m else None


def child_of_split(line):  # "1700000000.123456 producer.3 Spam 2"
    m = re.match(rb"\S+ producer\.(\d+) (.*)$", line)
    return (int(m.group(1)), m.group(2)) if m else None


def child_of_concurrently(line):  # "3 2026-11-29 14:00:00.123 Spam 2"
    if b" exited with code " in line:
        return SKIP
    m = re.match(rb"(\d+) \S+ \S+ (.*)$", line)
    return (int(m.group(1)), m.group(2)) if m else None


def check_output(path, n, k, child_of):
    """'ok', or what is wrong: every child's lines are Spam 0..4 cycling, k of them."""
    if child_of is None:
        return "not line-framed: prints raw 32-byte reads"
    seen = [0] * n
    bad = 0
    with open(path, "rb") as f:
        for raw in f:
            parsed = child_of(raw.rstrip(b"\n"))
            if parsed is SKIP:
                continue
            if parsed is None or parsed[0] >= n:
                bad += 1
                continue
            child, payload = parsed
            m = SPAM.fullmatch(payload)
            if not m or int(m.group(1)) != seen[child] % 5:
                bad += 1
                continue
            seen[child] += 1
    lost = n * k - sum(seen)
    if bad == 0 and lost == 0:
        return "ok"
    return f"garbled: {bad} torn, merged or out-of-order lines, {lost} of {n * k} lines missing"


LINES_PER_CELL = 4_000_000  # every contender, the same: n children x (LINES_PER_CELL / n)

CONTENDERS = {
    # name: (command builder, output parser, slow (fewer repetitions, never less work), needs)
    "pipemux": (pipemux_cmd, child_of_pipemux, False, None),
    "python 64 KiB + split": (python_split_cmd, child_of_split, True, "python3"),
    "GNU parallel --tag --line-buffer": (parallel_cmd, child_of_parallel, False, "parallel"),
    "npm concurrently": (concurrently_cmd, child_of_concurrently, True, "concurrently"),
    "moreutils ts (one per child)": (ts_cmd, child_of_ts, True, "ts"),
    "python seed demo (32-byte reads)": (python_seed_cmd, None, True, "python3"),
}


def peak_rss_kib(pid):
    """The process's VmHWM. (wait4's ru_maxrss would count the pages of this Python process,
    which the child shares between fork and exec.)"""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def run(cmd, timeout=600, watch_rss=False, env=None):
    """Runs a command; returns (seconds, returncode, peak RSS in KiB when watch_rss)."""
    OUT_FILE.unlink(missing_ok=True)  # pipemux -o appends; every run starts from nothing
    environment = dict(os.environ, **env) if env else None
    start = time.perf_counter()
    if isinstance(cmd, str):
        proc = subprocess.Popen(["bash", "-c", cmd], stdout=subprocess.DEVNULL, env=environment)
    else:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, env=environment)
    rss = 0
    if watch_rss:  # sampled until it exits: the high-water mark only grows
        while os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is None:
            rss = max(rss, peak_rss_kib(proc.pid))
            time.sleep(0.002)
    # A blocking wait, with the timeout on a timer thread that sleeps: Popen.wait(timeout) polls
    # waitpid with short sleeps, and those wake-ups on the 2 cores moved the contender and its
    # child onto one core often enough to halve its rate (every pipemux run of a floor row).
    killer = threading.Timer(timeout, proc.kill)
    killer.start()
    proc.wait()
    killer.cancel()
    return time.perf_counter() - start, proc.returncode, rss


def available(need):
    if need is None:
        return True
    if need == "concurrently":
        return CONCURRENTLY.exists()
    return shutil.which(need) is not None


def median_spread(values):
    med = statistics.median(values)
    return med, (max(values) - min(values)) / med if med else 0.0


# --- line mode ---------------------------------------------------------------------------------

def line_mode(reps, scale):
    """Every contender does the same work in a cell (4 M lines, split over the children), so
    that start-up is a few per cent of a run; each one's start-up (a run of one line per child)
    is measured and shown on its own, not subtracted."""
    rows = []
    for n in (1, 4, 64):
        for dest in ("/dev/null", "tmpfs"):
            out = "/dev/null" if dest == "/dev/null" else str(OUT_FILE)
            for name, (build, parser, slow, need) in CONTENDERS.items():
                if not available(need):
                    rows.append(dict(tool=name, n=n, dest=dest, status=f"skipped: {need} not available"))
                    continue
                k = max(1, int(LINES_PER_CELL * scale) // n)
                start_up = statistics.median(run(build(n, 1, out))[0] for _ in range(3))
                ref_rates, rates = [], []
                status = "ok"
                for _ in range(max(1, reps // 3) if slow else reps):
                    t, rc, _ = run(reference_cmd(n, k, out))
                    ref_rates.append(n * k / t)
                    cmd = build(n, k, out)
                    t, rc, _ = run(cmd)
                    rates.append(n * k / t)
                    if rc != 0:
                        status = f"exit code {rc}"
                if dest == "tmpfs" and status == "ok":
                    status = check_output(OUT_FILE, n, k, parser)
                med, spread = median_spread(rates)
                ref_med, _ = median_spread(ref_rates)
                rows.append(dict(tool=name, n=n, dest=dest, lines=n * k, rate=med, spread=spread,
                                 ref=ref_med, ratio=med / ref_med, status=status, start_up=start_up,
                                 pairs=len(rates)))
                print(f"line  n={n:<3} {dest:<9} {name:<34} {med / 1e6:7.2f} M lines/s  "
                      f"x{med / ref_med:5.2f} of reference  start-up {start_up * 1000:5.0f} ms  {status}",
                      flush=True)
    return rows


# --- raw mode ----------------------------------------------------------------------------------

def raw_mode(reps, scale):
    rows = []
    for size in (32, 4096, 65536):
        k = int((2_000_000 if size == 32 else 20_000_000) * scale)
        nbytes = 7 * k
        ref, ours = [], []
        for _ in range(reps):
            t, _, _ = run(f"{REFERENCE} --raw {size} 1 -- {PRODUCER} {k} > /dev/null")
            ref.append(nbytes / t)
            t, _, _ = run([str(PIPEMUX), "--framing", "raw", "-r", str(size), "-o", "/dev/null", "--",
                           str(PRODUCER), str(k)])
            ours.append(nbytes / t)
        med, spread = median_spread(ours)
        ref_med, _ = median_spread(ref)
        row = dict(size=size, rate=med, spread=spread, ref=ref_med, ratio=med / ref_med)
        if size == 32:  # messages (reads) per second against the seed demo
            seed = []
            k_seed = int(200_000 * scale)
            for _ in range(reps):
                t, _, _ = run(python_seed_cmd(1, k_seed, "/dev/null"))
                seed.append(7 * k_seed / 32 / t)
            row["seed_msgs"] = statistics.median(seed)
            row["msgs"] = med / 32
        rows.append(row)
        seed_note = (f", x{row['msgs'] / row['seed_msgs']:.1f} the python seed demo's reads/s"
                     if "seed_msgs" in row else "")
        print(f"raw   read_size={size:<6} {med / 1e6:8.1f} MB/s  x{med / ref_med:5.2f} of the C loop{seed_note}",
              flush=True)
    return rows


# --- latency -----------------------------------------------------------------------------------

WARM_UP_S = 0.5  # messages written while children are still starting are not steady state


def latencies(path, epoch_field):
    """Arrival minus write time, in microseconds, for every line "<epoch> ... Spam z seq ns"
    written after the first WARM_UP_S seconds of the run."""
    values, first = [], None
    with open(path, "rb") as f:
        for raw in f:
            parts = raw.split()
            if len(parts) < 4 or b"Spam" not in raw:
                continue
            try:
                arrival_us = float(parts[epoch_field]) * 1e6
                written_us = int(parts[-1]) / 1e3
            except ValueError:
                continue
            first = written_us if first is None else min(first, written_us)
            values.append((written_us, arrival_us - written_us))
    values = [lat for written, lat in values if written - first >= WARM_UP_S * 1e6]
    return sorted(values)


def percentile(sorted_values, p):
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(p / 100 * len(sorted_values)))]


def latency(reps, scale):
    rows, samples = [], {}
    n, seconds = 64, max(1.5, 4 * scale)
    for total_rate in (10_000, 100_000):
        per_child = total_rate / n
        k = int(per_child * seconds)
        # Alternated, run by run: the machine's own hiccups land on both tools alike.
        values = {"reference": [], "pipemux": []}
        for _ in range(max(2, reps)):
            for tool in values:
                if tool == "pipemux":
                    run([str(PIPEMUX), "-n", str(n), "--log-pattern", "%E.%f %L %v", "-o", str(OUT_FILE),
                         "--", str(PRODUCER), str(k), str(per_child)])
                else:
                    run(f"{REFERENCE} --epoch {n} -- {PRODUCER} {k} {per_child} > {OUT_FILE}")
                values[tool] += latencies(OUT_FILE, 0)
        for tool in values:
            values[tool].sort()
            samples[(tool, total_rate)] = values[tool]
            got = values[tool]
            rows.append(dict(tool=tool, rate=total_rate, count=len(got), p50=percentile(got, 50),
                             p99=percentile(got, 99), p999=percentile(got, 99.9)))
            print(f"lat   {total_rate:>6}/s {tool:<10} p50 {rows[-1]['p50']:7.1f} us  p99 "
                  f"{rows[-1]['p99']:7.1f} us  p99.9 {rows[-1]['p999']:7.1f} us", flush=True)
    return rows, samples


# --- scale -------------------------------------------------------------------------------------

def scale_runs(scale):
    rows = []
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    for n in (256, 1024):
        k = int(2000 * scale)
        start = time.time()
        t, rc, rss = run([str(PIPEMUX), "-n", str(n), "--log-pattern", "%E.%f %L %Z %v", "-o", str(OUT_FILE),
                          "--", str(PRODUCER), str(k)], watch_rss=True)
        last_start, delivered = start, 0
        with open(OUT_FILE, "rb") as f:
            for raw in f:
                if b" * started:" in raw:
                    last_start = max(last_start, float(raw.split()[0]))
                elif b" | Spam " in raw:
                    delivered += 1
        rows.append(dict(n=n, start_s=last_start - start, seconds=t, rss_mib=rss / 1024,
                         delivered=delivered, expected=n * k, rc=rc))
        print(f"scale n={n:<5} all started in {last_start - start:.3f} s, peak RSS {rss / 1024:.1f} MiB, "
              f"{delivered}/{n * k} lines", flush=True)
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    return rows


# --- the parse floor ---------------------------------------------------------------------------

def parse_floor(reps, scale):
    """N children, line mode, to /dev/null, against a C loop that only reads 64 KiB and counts
    the newlines (reference --count): what a logger that wrote nothing at all would cost. The
    children write through stdio buffers of 4 KiB (glibc's for a pipe: most real children) and
    of 64 KiB (a child that asked for more), the same children for both sides of a pair."""
    k = int(LINES_PER_CELL * scale)
    rows = []
    for n in (1, 4, 64):
        for buffer in (4096, 65536):
            env = {"PRODUCER_BUFFER": str(buffer)}
            floor_rates, rates = [], []
            for _ in range(reps):
                t, _, _ = run(f"{REFERENCE} --count {n} -- {PRODUCER} {k // n} > /dev/null", env=env)
                floor_rates.append(k // n * n / t)
                t, _, _ = run(pipemux_cmd(n, k // n, "/dev/null"), env=env)
                rates.append(k // n * n / t)
            med, spread = median_spread(rates)
            floor_med, _ = median_spread(floor_rates)
            rows.append(dict(n=n, buffer=buffer, rate=med, spread=spread, floor=floor_med,
                             ratio=med / floor_med))
            print(f"parse floor n={n:<3} {buffer // 1024:2} KiB writes: pipemux {med / 1e6:6.2f} M lines/s "
                  f"(spread {spread * 100:.0f}%), counting loop {floor_med / 1e6:6.2f}: x{med / floor_med:.2f}",
                  flush=True)
    return rows


# --- JSON lines against text ----------------------------------------------------------------------

def json_cost(reps, scale):
    """pipemux --format json against its own text format, same children, to /dev/null and to a
    file on tmpfs: what a collector's format costs."""
    k = int(LINES_PER_CELL * scale)
    rows = []
    for n in (1, 4):
        for out in ("/dev/null", str(OUT_FILE)):
            rates = {"text": [], "json": []}
            for _ in range(reps):
                for fmt in ("text", "json"):  # alternating, as every row here
                    cmd = [str(PIPEMUX), "--format", fmt, "-n", str(n), "-o", out, "--",
                           str(PRODUCER), str(k // n)]
                    t, _, _ = run(cmd)
                    rates[fmt].append(k // n * n / t)
            text, _ = median_spread(rates["text"])
            json_rate, spread = median_spread(rates["json"])
            where = "/dev/null" if out == "/dev/null" else "tmpfs"
            rows.append(dict(n=n, out=where, text=text, json=json_rate, spread=spread))
            print(f"json  n={n:<3} {where:9} {json_rate / 1e6:6.2f} M lines/s, text "
                  f"{text / 1e6:6.2f}: x{json_rate / text:.2f}", flush=True)
    return rows


# --- starting children -------------------------------------------------------------------------

def started_and_exited(path, n):
    """Whether each of the n children was started and exited with code 0, by pipemux's log."""
    started, exited = set(), set()
    with open(path, "rb") as f:
        for raw in f:
            name = raw.split()[2].split(b"[")[0] if len(raw.split()) > 2 else b""
            if b" * started: " in raw:
                started.add(name)
            elif b" * exited with code 0 after " in raw:
                exited.add(name)
    return len(started) == n and len(exited) == n


def startup(reps, scale):
    """pipemux -n N -- /bin/true against a C posix_spawn loop over the same N children (the
    kernel's cost of starting them), alternated; then a short run where start-up counts: 64
    children x 125,000 lines against the C line reference."""
    rows = []
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # 4,096 children need ~12,300 fds
    for n in (64, 256, 1024, 4096):
        ref, ours, served = [], [], True
        # Start-up times vary run to run more than throughput does (13% spread in 3 pairs):
        # at least 5 pairs where they are short.
        for _ in range(max(5, reps) if n < 4096 else max(1, (reps + 1) // 2)):
            t, rc, _ = run(f"{SPAWN_REFERENCE} {n} -- /bin/true 2>/dev/null")
            ref.append(t)
            t, rc, _ = run([str(PIPEMUX), "-n", str(n), "-o", str(OUT_FILE), "--", "/bin/true"])
            ours.append(t)
            served = served and rc == 0 and started_and_exited(OUT_FILE, n)
        _, _, rss = run([str(PIPEMUX), "-n", str(n), "-o", "/dev/null", "--", "/bin/true"], watch_rss=True)
        med, spread = median_spread(ours)
        ref_med, _ = median_spread(ref)
        rows.append(dict(n=n, seconds=med, spread=spread, ref=ref_med, ratio=med / ref_med,
                         rss_mib=rss / 1024, served=served))
        print(f"start n={n:<5} {med:6.3f} s  C posix_spawn loop {ref_med:6.3f} s  x{med / ref_med:4.2f}  "
              f"peak RSS {rss / 1024:.1f} MiB  {'all served' if served else 'NOT ALL SERVED'}", flush=True)
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    n, k = 64, int(125_000 * scale)
    ref_rates, rates = [], []
    for _ in range(reps):
        t, _, _ = run(reference_cmd(n, k, "/dev/null"))
        ref_rates.append(n * k / t)
        t, _, _ = run(pipemux_cmd(n, k, "/dev/null"))
        rates.append(n * k / t)
    med, spread = median_spread(rates)
    ref_med, _ = median_spread(ref_rates)
    short = dict(n=n, k=k, rate=med, spread=spread, ref=ref_med, ratio=med / ref_med)
    print(f"short run {n} x {k} lines: {med / 1e6:.2f} M lines/s  x{med / ref_med:.2f} of reference", flush=True)
    return rows, short


# --- report ------------------------------------------------------------------------------------

def plots(line_rows, samples):
    """PNG plots through gnuplot: lines/s by tool and child count, and latency distributions."""
    if shutil.which("gnuplot") is None:
        return ["(gnuplot is not installed: no plots)"]
    work = Path(TMPFS) / "pipemux-bench-plot"
    work.mkdir(exist_ok=True)
    tools = ["C reference"] + [t for t in CONTENDERS
                               if any(r["tool"] == t and "rate" in r for r in line_rows)]
    with open(work / "rates.dat", "w") as f:
        f.write("children " + " ".join(f'"{t}"' for t in tools) + "\n")
        for n in (1, 4, 64):
            cells = [r for r in line_rows if r["n"] == n and r["dest"] == "/dev/null" and "rate" in r]
            values = [statistics.median([r["ref"] for r in cells]) / 1e6 if cells else 0]
            for tool in tools[1:]:
                match = [r["rate"] / 1e6 for r in cells if r["tool"] == tool]
                values.append(match[0] if match else 0)
            f.write(f'"{n} child{"ren" if n > 1 else ""}" ' + " ".join(f"{v:.3f}" for v in values) + "\n")
    curves = []
    for (tool, rate), values in sorted(samples.items()):
        if not values:
            continue
        name = work / f"lat-{tool}-{rate}.dat"
        step = max(1, len(values) // 2000)
        with open(name, "w") as f:
            for i in range(0, len(values), step):
                f.write(f"{max(values[i], 1):.1f} {i / len(values):.5f}\n")
        curves.append(f'"{name}" using 1:2 with lines lw 2 title "{tool}, {rate} msg/s"')
    script = f"""
set terminal png size 1000,500
set output "{HERE / 'lines_per_second.png'}"
set title "Timestamped per-child log, output to /dev/null: M lines/s (higher is better)"
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set key outside right
set ylabel "M lines/s"
plot for [i=2:{len(tools) + 1}] "{work / 'rates.dat'}" using i:xtic(1) title columnheader(i)
set output "{HERE / 'latency.png'}"
set title "Latency, 64 children: arrival logged - write time (left is better)"
set style data lines
set logscale x
set xlabel "microseconds"
set ylabel "fraction of messages"
set key bottom right
plot {", ".join(curves)}
"""
    subprocess.run(["gnuplot"], input=script, text=True, check=False)
    return ["![lines per second](lines_per_second.png)", "", "![latency](latency.png)"]


# --- a size-rotated file against a plain one -------------------------------------------------------

def rotating_cost(reps, scale):
    """pipemux's text to a [[log.sink]] rotated every 16 MiB (rotated on its writer thread, 2 files
    kept) against the same text to a plain -o file (its writer thread too), both on tmpfs: what
    rotation costs."""
    k = int(LINES_PER_CELL * scale)
    config = TMPFS / "pipemux-bench-rotating.toml"
    config.write_text(f'[[log.sink]]\npath = "{OUT_FILE}"\nmax_size = "16M"\nmax_files = 2\n')
    rotated = [OUT_FILE.with_name(f"{OUT_FILE.stem}.{i}{OUT_FILE.suffix}") for i in (1, 2)]
    rows = []
    for n in (1, 4):
        rates = {"plain": [], "rotating": []}
        for _ in range(reps):
            for kind in ("plain", "rotating"):  # alternating, as every row here
                OUT_FILE.unlink(missing_ok=True)
                where = ["-o", str(OUT_FILE)] if kind == "plain" else ["-c", str(config)]
                t, _, _ = run([str(PIPEMUX), *where, "-n", str(n), "--", str(PRODUCER), str(k // n)])
                rates[kind].append(k // n * n / t)
        plain, _ = median_spread(rates["plain"])
        rotating, spread = median_spread(rates["rotating"])
        rows.append(dict(n=n, plain=plain, rotating=rotating, spread=spread))
        print(f"rotating n={n:<3} {rotating / 1e6:6.2f} M lines/s, plain file {plain / 1e6:6.2f}: "
              f"x{rotating / plain:.2f}", flush=True)
    for path in (config, *rotated):
        path.unlink(missing_ok=True)
    return rows


def report(line_rows, raw_rows, lat_rows, scale_rows, start_rows, short, floor, json_rows, rotating_rows, micro,
           picture_lines, args):
    out = ["# pipemux benchmark results", "",
           f"Machine: {os.cpu_count()} cores; {time.strftime('%Y-%m-%d %H:%M')}; "
           f"{args.reps} alternating pairs per cell; scale {args.scale}.",
           "Reproduce with `bench/run` (see README). Ratios are to the C reference run "
           "alternately in the same invocation.", "",
           "## Line mode: N children each writing `Spam z` lines as fast as they can", "",
           f"Every contender writes the same {LINES_PER_CELL * args.scale / 1e6:g} M lines per cell, split over "
           "its children; slow tools run fewer pairs (the pairs column), never less work. Start-up is a "
           "run of one line per child, shown apart and not subtracted.", "",
           "| tool | children | output | M lines/s | spread | pairs | start-up | x reference | output check |",
           "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | --- |"]
    for r in line_rows:
        if "rate" not in r:
            out.append(f"| {r['tool']} | {r['n']} | {r['dest']} | | | | | | {r['status']} |")
            continue
        ranked = r["status"] == "ok" or r["dest"] == "/dev/null"
        out.append(f"| {r['tool']} | {r['n']} | {r['dest']} | {r['rate'] / 1e6:.2f} | "
                   f"{r['spread'] * 100:.0f}% | {r['pairs']} | {r['start_up'] * 1000:.0f} ms | "
                   f"{r['ratio']:.2f}{'' if ranked else ' (not ranked)'} | {r['status']} |")
    out += ["", "## Raw mode: one log line per read", "",
            "| read_size | pipemux MB/s | spread | x C read loop | reads/s vs python seed demo |",
            "| ---: | ---: | ---: | ---: | --- |"]
    for r in raw_rows:
        seed = (f"{r['msgs'] / 1e3:.0f} k vs {r['seed_msgs'] / 1e3:.0f} k = x{r['msgs'] / r['seed_msgs']:.1f}"
                if "seed_msgs" in r else "")
        out.append(f"| {r['size']} | {r['rate'] / 1e6:.1f} | {r['spread'] * 100:.0f}% | {r['ratio']:.2f} | {seed} |")
    out += ["", "## Latency: 64 children, paced; arrival time logged minus the producer's write time", "",
            f"(Messages written in the first {WARM_UP_S} s, while children are still starting, are left out.)", "",
            "| total rate | tool | messages | p50 us | p99 us | p99.9 us |", "| ---: | --- | ---: | ---: | ---: | ---: |"]
    for r in lat_rows:
        out.append(f"| {r['rate']} | {r['tool']} | {r['count']} | {r['p50']:.1f} | {r['p99']:.1f} | {r['p999']:.1f} |")
    out += ["", "## Scale", "", "| children | all started after | run | parent peak RSS | lines delivered |",
            "| ---: | ---: | ---: | ---: | --- |"]
    for r in scale_rows:
        out.append(f"| {r['n']} | {r['start_s']:.3f} s | {r['seconds']:.2f} s | {r['rss_mib']:.1f} MiB | "
                   f"{r['delivered']} of {r['expected']} |")

    out += ["", "## The parse floor: N children to /dev/null against a C loop that only counts lines", "",
            "(The loop reads 64 KiB and counts newlines, writing nothing. Children write through a "
            "4 KiB stdio buffer, glibc's for a pipe, or a 64 KiB one; start-up included.)", "",
            "| children | writes | pipemux M lines/s | spread | counting loop | x the loop |",
            "| ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in floor:
        out.append(f"| {r['n']} | {r['buffer'] // 1024} KiB | {r['rate'] / 1e6:.2f} | {r['spread'] * 100:.0f}% | "
                   f"{r['floor'] / 1e6:.2f} | {r['ratio']:.2f} |")
    out += ["", "## JSON lines (`--format json`) against pipemux's text format", "",
            "| children | output | JSON M lines/s | spread | text M lines/s | x text |",
            "| ---: | --- | ---: | ---: | ---: | ---: |"]
    for r in json_rows:
        out.append(f"| {r['n']} | {r['out']} | {r['json'] / 1e6:.2f} | {r['spread'] * 100:.0f}% | "
                   f"{r['text'] / 1e6:.2f} | {r['json'] / r['text']:.2f} |")
    out += ["", "## A file rotated every 16 MiB (`[[log.sink]] max_size`) against a plain `-o` file, on tmpfs", "",
            "| children | rotating M lines/s | spread | plain M lines/s | x plain |",
            "| ---: | ---: | ---: | ---: | ---: |"]
    for r in rotating_rows:
        out.append(f"| {r['n']} | {r['rotating'] / 1e6:.2f} | {r['spread'] * 100:.0f}% | "
                   f"{r['plain'] / 1e6:.2f} | {r['rotating'] / r['plain']:.2f} |")
    out += ["", "## Starting children: `pipemux -n N -- /bin/true` against a C `posix_spawn` loop", "",
            "(The loop gives each child a pipe as stdout, reads it to the end and reaps it: the kernel's "
            "cost. pipemux also gives each a stderr pipe, a pidfd, a cgroup when root, and logs 3 lines.)", "",
            "| children | pipemux | spread | C loop | x the C loop's time | parent peak RSS | all served |",
            "| ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    for r in start_rows:
        out.append(f"| {r['n']} | {r['seconds']:.3f} s | {r['spread'] * 100:.0f}% | {r['ref']:.3f} s | "
                   f"{r['ratio']:.2f} | {r['rss_mib']:.1f} MiB | {'yes' if r['served'] else '**no**'} |")
    out += ["", f"Short run, where start-up counts: {short['n']} children x {short['k']:,} lines to /dev/null: "
            f"{short['rate'] / 1e6:.2f} M lines/s (spread {short['spread'] * 100:.0f}%), "
            f"x{short['ratio']:.2f} the C reference."]

    def ratio(tool, n):
        r = [x for x in line_rows if x["tool"] == tool and x["n"] == n and x["dest"] == "/dev/null" and "ratio" in x]
        return r[0]["ratio"] if r else float("nan")
    lat = {(r["tool"], r["rate"]): r for r in lat_rows}
    raw = {r["size"]: r for r in raw_rows}
    targets = [
        ("line mode, 1 child, >= 1.0x reference", ratio("pipemux", 1), 1.0),
        ("line mode, 4 children, >= 1.0x reference", ratio("pipemux", 4), 1.0),
        ("line mode, 64 children, >= 0.9x reference", ratio("pipemux", 64), 0.9),
        ("raw 64 KiB, >= 0.8x the C loop", raw[65536]["ratio"], 0.8),
        # (Was ">= 10x the python seed's reads/s": one read() per 32 bytes bounds even the C loop
        # to about 6x. Issue 12 replaced it with this one.)
        ("raw 32, >= 0.9x the C loop (same 32-byte reads, same bytes written)", raw[32]["ratio"], 0.9),
        ("latency p99 at 10k msg/s, <= 1.5x reference (shown as reference/pipemux)",
         lat[("reference", 10_000)]["p99"] / lat[("pipemux", 10_000)]["p99"], 1 / 1.5),
        ("1,024 children all served", 1.0 if scale_rows[-1]["delivered"] == scale_rows[-1]["expected"] else 0.0, 1.0),
        ("1,024 children, peak RSS < 64 MiB (shown as 64 MiB / RSS)", 64 / scale_rows[-1]["rss_mib"], 1.0),
        *[(f"start {r['n']:,} children (--cgroup auto) within 1.2x a C posix_spawn loop "
           "(shown as loop / pipemux)", 1 / r["ratio"], 1 / 1.2) for r in start_rows if r["n"] in (256, 1024)],
        ("4,096 children all served", 1.0 if start_rows[-1]["served"] else 0.0, 1.0),
        ("4,096 children, peak RSS < 128 MiB (shown as 128 MiB / RSS)", 128 / start_rows[-1]["rss_mib"], 1.0),
        ("short run, 64 x 125,000 lines, >= 1.5x reference", short["ratio"], 1.5),
        *[(f"line mode, {r['n']} child{'ren' if r['n'] > 1 else ''}, {r['buffer'] // 1024} KiB writes, "
           f">= {0.9 if r['n'] == 1 else 0.8}x the parse floor", r["ratio"], 0.9 if r["n"] == 1 else 0.8)
          for r in floor],
    ]
    out += ["", "## Targets", "", "| target | measured | met |", "| --- | ---: | --- |"]
    for name, value, need in targets:
        out.append(f"| {name} | {value:.2f} | {'yes' if value >= need else '**no**'} |")
    out += ["", "## Micro benchmarks (Google Benchmark)", "", "```", micro.strip(), "```", ""]
    out += picture_lines
    (HERE / "results.md").write_text("\n".join(out) + "\n")
    print("\n".join(out[-(len(targets) + 12):]))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=5, help="alternating pairs per cell (default 5)")
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies every line count (default 1)")
    parser.add_argument("--only", default="", help="comma-separated: micro,line,raw,latency,scale,"
                        "slowpeer,guard,startup,floor,json,rotating "
                        "(a quick look at some; results.md is written only by a full run)")
    args = parser.parse_args()
    if args.only:
        wanted = set(args.only.split(","))
        if "micro" in wanted:
            subprocess.run([str(MICRO), "--benchmark_min_time=0.2"])
        if "line" in wanted:
            line_mode(args.reps, args.scale)
        if "raw" in wanted:
            raw_mode(args.reps, args.scale)
        if "latency" in wanted:
            latency(args.reps, args.scale)
        if "scale" in wanted:
            scale_runs(args.scale)
        if "slowpeer" in wanted:
            subprocess.run([str(SLOW_PEER)])
        if "guard" in wanted:
            subprocess.run([str(GUARD_START)])
        if "startup" in wanted:
            startup(args.reps, args.scale)
        if "floor" in wanted:
            parse_floor(args.reps, args.scale)
        if "json" in wanted:
            json_cost(args.reps, args.scale)
        if "rotating" in wanted:
            rotating_cost(args.reps, args.scale)
        return
    for exe in (PIPEMUX, PRODUCER, REFERENCE, SPAWN_REFERENCE, MICRO):
        if not exe.exists():
            sys.exit(f"{exe} is missing: run bench/run, which builds it")
    micro = subprocess.run([str(MICRO), "--benchmark_min_time=0.2"], capture_output=True, text=True).stdout
    # Flow control in a library service: its own ratios (fast peer as the reference).
    micro += "\n" + subprocess.run([str(SLOW_PEER)], capture_output=True, text=True).stdout
    # The orphan guard's start in a host with 1 GiB resident (once a fork: 12-15 ms), next to a child's.
    micro += "\n" + subprocess.run([str(GUARD_START)], capture_output=True, text=True).stdout
    line_rows = line_mode(args.reps, args.scale)
    raw_rows = raw_mode(args.reps, args.scale)
    lat_rows, samples = latency(args.reps, args.scale)
    scale_rows = scale_runs(args.scale)
    start_rows, short = startup(args.reps, args.scale)
    floor = parse_floor(args.reps, args.scale)
    json_rows = json_cost(args.reps, args.scale)
    rotating_rows = rotating_cost(args.reps, args.scale)
    pictures = plots(line_rows, samples)
    report(line_rows, raw_rows, lat_rows, scale_rows, start_rows, short, floor, json_rows, rotating_rows, micro,
           pictures, args)
    OUT_FILE.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
