#!/usr/bin/env bash
# Benchmark of `mmrace analyze` against `trace-cmd report` and `cat` on big
# generated x86_64 traces (see BENCHMARKS.md for the figures and the machine).
#
#   scripts/bench.sh            # all traces, 5 runs each (trace-cmd: 3)
#   RUNS=3 TC_RUNS=1 scripts/bench.sh
#
# Traces are made with `mmrace synth --size` when missing, in
# ${MMRACE_BENCH_DIR:-$HOME/.cache/mmrace-bench} (outside the repository):
#   le-v7-1G.dat  be-v7-1G.dat  le-v6-1G.dat         1 GiB uncompressed
#   le-zstd-<N>M.dat                                 N MiB of CPU data, zstd,
#                                                    N in ${FLAT:-1024 2048 4096}
# (about 3.5 GB of disk with the default FLAT). Every run reads a warm page cache (each file
# is read once before the runs). The runs go in rounds, each command once
# per round, so that load from elsewhere on a shared machine falls on all
# commands alike; times are wall-clock medians (and minima) over the
# rounds, and the ratios are taken in the same run. Memory is measured in a separate run per
# command: max RSS from wait4() (what /usr/bin/time -v reports; it counts the
# mapped file's pages), and peak anonymous memory: the largest RssAnon of
# /proc/PID/status, sampled every 2 ms.
#
# The analysis runs as `mmrace analyze --format json F > /dev/null` when the
# binary has that subcommand, else as the `bench_analyze` example (the same
# library call: map, parse, analyze_with_info). Threads: RAYON_NUM_THREADS.
set -euo pipefail

cd "$(dirname "$0")/.."
DIR=${MMRACE_BENCH_DIR:-$HOME/.cache/mmrace-bench}
RUNS=${RUNS:-5}
TC_RUNS=${TC_RUNS:-3}
mkdir -p "$DIR"

cargo build --release --quiet --bin mmrace --example bench_analyze
MMRACE=$PWD/target/release/mmrace
EXAMPLE=$PWD/target/release/examples/bench_analyze
if "$MMRACE" analyze --help >/dev/null 2>&1; then
    ANALYZE=("$MMRACE" analyze --format json)
    ANALYZE_NAME="mmrace analyze --format json"
else
    ANALYZE=("$EXAMPLE")
    ANALYZE_NAME="bench_analyze (mmrace::analysis::analyze_with_info)"
fi

make_trace() { # name size args...
    local f=$DIR/$1 size=$2
    shift 2
    if [[ ! -s $f ]]; then
        echo "making $f ($size)" >&2
        "$MMRACE" synth --size "$size" "$@" -o "$f.tmp" 2>"$f.mix.txt"
        mv "$f.tmp" "$f"
    fi
}
make_trace le-v7-1G.dat 1GiB
make_trace be-v7-1G.dat 1GiB --endian big
make_trace le-v6-1G.dat 1GiB --file-version 6
FLAT=${FLAT:-1024 2048 4096}
for n in $FLAT; do
    make_trace "le-zstd-${n}M.dat" "${n}MiB" --compression zstd
done

echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "# kernel $(uname -r), $(free -g | awk '/Mem:/{print $2}') GiB RAM, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# analysis: $ANALYZE_NAME; trace-cmd $({ trace-cmd --version 2>&1 || true; } | grep -om1 "[0-9][0-9.]*" || echo missing)"
echo "# runs: $RUNS rounds (trace-cmd $TC_RUNS); times are medians and minima"

python3 - "$DIR" "$RUNS" "$TC_RUNS" "$FLAT" "${ANALYZE[@]}" <<'PY'
import os, subprocess, sys, threading, time

d, runs, tc_runs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
flat = [int(x) for x in sys.argv[4].split()]
analyze = sys.argv[5:]

def run(cmd, env=None, sample=False):
    """Runs cmd with stdout to /dev/null; returns (seconds, max RSS KiB,
    peak RssAnon KiB or None)."""
    e = dict(os.environ)
    e.update(env or {})
    with open(os.devnull, "wb") as null:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=null, stderr=subprocess.PIPE, env=e)
        peak = [0]
        def sampler():
            path = f"/proc/{p.pid}/status"
            while True:
                try:
                    with open(path) as f:
                        for line in f:
                            if line.startswith("RssAnon:"):
                                peak[0] = max(peak[0], int(line.split()[1]))
                except (FileNotFoundError, ProcessLookupError):
                    return
                if p.returncode is not None:
                    return
                time.sleep(0.002)
        th = None
        if sample:
            th = threading.Thread(target=sampler, daemon=True)
            th.start()
        _, status, ru = os.wait4(p.pid, 0)
        dt = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        err = p.stderr.read().decode(errors="replace")
        if th:
            th.join()
    if p.returncode not in (0, 1):
        sys.exit(f"{' '.join(cmd)}: exit {p.returncode}\n{err}")
    return dt, ru.ru_maxrss, (peak[0] if sample else None)

def median(v):
    v = sorted(v)
    n = len(v)
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2

def warm(f):
    run(["cat", f])

def data_size(f):
    # The uncompressed CPU data the trace holds (its name says how much).
    base = os.path.basename(f)
    if "-zstd-" in base:
        return int(base.split("-zstd-")[1].split("M")[0]) << 20
    return os.path.getsize(f)

t1 = {"RAYON_NUM_THREADS": "1"}
t2 = {"RAYON_NUM_THREADS": "2"}
zstd = [f"le-zstd-{n}M.dat" for n in flat]
z1 = "le-zstd-1024M.dat" if 1024 in flat else zstd[0]
# Every command of the table: (key, row name, file, data bytes, argv, env, runs).
jobs = []
for name in ["le-v7-1G.dat", "be-v7-1G.dat", "le-v6-1G.dat"] + zstd:
    f = os.path.join(d, name)
    warm(f)
    size = data_size(f)
    jobs.append(((name, "cat"), "cat", f, size, ["cat", f], None, runs))
    jobs.append(((name, "a2"), "analyze, 2 threads", f, size, analyze + [f], t2, runs))
    if name in ("le-v7-1G.dat", z1):
        jobs.append(((name, "a1"), "analyze, 1 thread", f, size, analyze + [f], t1, runs))
    if name in ("le-v7-1G.dat",):
        jobs.append(((name, "tc"), "trace-cmd report", f, size, ["trace-cmd", "report", "-i", f], None, tc_runs))

# Rounds: each command once per round, so that a burst of load from
# elsewhere on a shared machine falls on all of them alike.
times = {j[0]: [] for j in jobs}
for r in range(max(j[6] for j in jobs)):
    for key, _, f, _, cmd, env, n in jobs:
        if r < n:
            times[key].append(run(cmd, env)[0])

rows = []
res = {}
low = {}
for key, name, f, size, cmd, env, n in jobs:
    t = median(times[key])
    _, rss, anon = run(cmd, env, sample=True)
    res[key] = t
    low[key] = min(times[key])
    rows.append((name, os.path.basename(f), t, min(times[key]), size / t / 1e9, rss / 1024, (anon or 0) / 1024))

print()
print("| command | trace | median s | min s | GB/s of CPU data | max RSS MiB | peak anon MiB |")
print("|---|---|---:|---:|---:|---:|---:|")
for name, f, t, tmin, gbs, rss, anon in rows:
    print(f"| {name} | {f} | {t:.3f} | {tmin:.3f} | {gbs:.2f} | {rss:.0f} | {anon:.1f} |")
print()
le = "le-v7-1G.dat"
def ratio(a, b, fmt=".2f"):
    # Of the medians, then of the minima (what the machine does when the
    # rest of it is quiet).
    return f"{res[a] / res[b]:{fmt}}x (minima {low[a] / low[b]:{fmt}}x)"
if (le, "tc") in res:
    print(f"- trace-cmd report / mmrace analyze (1 GiB v7, 2 threads): **{ratio((le, 'tc'), (le, 'a2'), '.1f')}**")
print(f"- mmrace analyze / cat (1 GiB v7): {ratio((le, 'a2'), (le, 'cat'), '.1f')}")
print(f"- 1 thread / 2 threads (1 GiB v7): {ratio((le, 'a1'), (le, 'a2'))}; "
      f"({z1}): {ratio((z1, 'a1'), (z1, 'a2'))}")
print(f"- big-endian / little-endian (1 GiB v7): {ratio(('be-v7-1G.dat', 'a2'), (le, 'a2'))}")
print(f"- v6 / v7 (1 GiB): {ratio(('le-v6-1G.dat', 'a2'), (le, 'a2'))}")
print("- zstd throughput by size: "
      + ", ".join(f"{n} MiB {(n << 20) / res[(f'le-zstd-{n}M.dat', 'a2')] / 1e9:.2f} GB/s" for n in flat))
PY
