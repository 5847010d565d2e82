//! Mutation test: damaged copies of every trace.dat fixture, made from a
//! fixed seed, read to the end by the library.
//!
//! Mutants: bit flips, byte runs (0x00, 0xff, random), truncations at every
//! section boundary (and one byte past it), length and count fields set to
//! huge values, page headers with bogus commit words, chunk headers with
//! bogus sizes. Each is parsed (`TraceDat::parse`) and, when its metadata
//! reads, analysed (`analyze_with_info`, every record of every CPU) and, in
//! the long run, also checked with the fuzz targets' invariants
//! (`parsers/fuzz/src/lib.rs`). For each mutant:
//! - no panic;
//! - bounded time: at most [`TIME_FACTOR`] × the intact file's time + [`TIME_SLACK`];
//! - bounded memory: the heap's peak while reading it, above what was live
//!   before, at most [`MEMORY_FACTOR`] × the file size + [`MEMORY_SLACK`];
//! - an error names a byte offset (and the CPU, for damage in CPU data);
//! - damage inside one uncompressed CPU's pages leaves every other CPU's
//!   records as they were.
//!
//! `cargo test --test mutants` runs [`CI_MUTANTS`] random mutants per
//! fixture plus every structural one (sampled); `MMRACE_MUTANTS=N` runs N
//! random ones per fixture and every structural one (`scripts/mutants.sh`,
//! in release, with the fuzz invariants too). `MMRACE_MUTANTS_SHARD=i/n`
//! reads only the fixtures whose number is `i` modulo `n` (the mutants are
//! the same as in the whole run: one process per core), and
//! `MMRACE_MUTANTS_SLACK=S` sets [`TIME_SLACK`] to S seconds (a run in the
//! background of a busy machine).

use mmrace::analysis::{AnalyzeError, AnalyzeOptions, analyze_with_info};
use mmrace::profile::Profile;
use mmrace_parsers::Endian;
use mmrace_parsers::tracedat::TraceDat;
use peak_alloc::PeakAlloc;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

#[path = "../parsers/fuzz/src/lib.rs"]
#[allow(dead_code, missing_docs)]
mod checks;

#[global_allocator]
static HEAP: PeakAlloc = PeakAlloc;

/// Random mutants per fixture in `cargo test`.
const CI_MUTANTS: usize = 10;
/// Structural mutants (truncations, huge lengths, bogus commits) per fixture
/// in `cargo test`, evenly sampled from all of them.
const CI_STRUCTURAL: usize = 20;
/// A mutant may take this many times as long as the intact file...
const TIME_FACTOR: u32 = 10;
/// ... plus this.
const TIME_SLACK: Duration = Duration::from_secs(5);
/// The heap may grow by this many times the file size...
const MEMORY_FACTOR: usize = 8;
/// ... plus this.
const MEMORY_SLACK: usize = 32 << 20;

fn fixtures() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut v = Vec::new();
    for d in ["x86_64", "arm64", "s390x", "public"] {
        let mut names: Vec<PathBuf> = std::fs::read_dir(root.join(d))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "dat"))
            .collect();
        names.sort();
        v.extend(names);
    }
    assert!(v.len() >= 28, "fixtures missing: {}", v.len());
    v
}

/// splitmix64: a fixed-seed generator, so every run makes the same mutants.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// A length or count field of the file: where, and how wide.
#[derive(Debug, Clone, Copy)]
struct LenField {
    at: usize,
    width: usize,
}

/// Where a file's structures start and end, and its length fields, found by
/// walking the layout as the trace-cmd documents describe it.
#[derive(Debug, Default)]
struct Layout {
    boundaries: Vec<usize>,
    lengths: Vec<LenField>,
    /// (start, end, buffer, cpu index) of each uncompressed CPU's data.
    raw_cpus: Vec<(usize, usize, usize, usize)>,
    /// Page header offsets (a sample per CPU).
    pages: Vec<usize>,
    /// Metadata ends here (first CPU data).
    page_size: usize,
}

struct Walk<'a> {
    d: &'a [u8],
    e: Endian,
    pos: usize,
    lay: Layout,
}

impl Walk<'_> {
    fn mark(&mut self) {
        self.lay.boundaries.push(self.pos);
    }
    fn len(&mut self, width: usize) -> Option<u64> {
        self.lay.lengths.push(LenField {
            at: self.pos,
            width,
        });
        self.int(width)
    }
    fn int(&mut self, width: usize) -> Option<u64> {
        let v = self.e.read_uint(self.d, self.pos, width)?;
        self.pos += width;
        Some(v)
    }
    fn cstr(&mut self) -> Option<()> {
        let n = self.d.get(self.pos..)?.iter().position(|&b| b == 0)?;
        self.pos += n + 1;
        Some(())
    }
    fn skip(&mut self, n: u64) -> Option<()> {
        self.pos = self.pos.checked_add(usize::try_from(n).ok()?)?;
        (self.pos <= self.d.len()).then_some(())
    }
    /// `u{width}` size then that many bytes.
    fn sized(&mut self, width: usize) -> Option<()> {
        self.mark();
        let n = self.len(width)?;
        self.skip(n)
    }

    fn v6(&mut self) -> Option<()> {
        for _ in 0..2 {
            self.mark();
            self.cstr()?; // header_page / header_event
            self.sized(8)?;
        }
        self.mark();
        let n = self.len(4)?;
        for _ in 0..n {
            self.sized(8)?;
        }
        self.mark();
        let nsys = self.len(4)?;
        for _ in 0..nsys {
            self.mark();
            self.cstr()?;
            let n = self.len(4)?;
            for _ in 0..n {
                self.sized(8)?;
            }
        }
        self.sized(4)?; // kallsyms
        self.sized(4)?; // printk
        self.sized(8)?; // cmdlines
        self.mark();
        self.len(4)?; // cpus
        loop {
            self.mark();
            let tag = self.d.get(self.pos..self.pos + 10)?;
            self.pos += 10;
            if tag.starts_with(b"flyrecord") {
                break;
            }
            loop {
                self.mark();
                if self.int(2)? == 0 {
                    break;
                }
                self.sized(4)?;
            }
        }
        self.mark();
        Some(())
    }

    fn section(&mut self, off: usize) -> Option<(u16, usize, usize)> {
        self.pos = off;
        self.mark();
        let id = self.int(2)? as u16;
        self.pos += 6;
        let size = self.len(8)?;
        let start = self.pos;
        self.skip(size)?;
        self.mark();
        Some((id, start, self.pos))
    }

    fn v7(&mut self, first: usize) -> Option<()> {
        let mut next = first;
        let mut sections = Vec::new();
        for _ in 0..64 {
            if next == 0 {
                break;
            }
            let (_, start, end) = self.section(next)?;
            next = 0;
            self.pos = start;
            while self.pos + 6 <= end {
                self.mark();
                let id = self.int(2)?;
                let size = self.len(4)?;
                let p = self.pos;
                match id {
                    0 => next = usize::try_from(self.int(8)?).ok()?,
                    3 | 16..=21 => {
                        self.lay.lengths.push(LenField { at: p, width: 8 });
                        sections.push(usize::try_from(self.int(8)?).ok()?);
                    }
                    _ => {}
                }
                self.pos = p;
                self.skip(size)?;
            }
        }
        for s in sections {
            self.section(s)?;
        }
        Some(())
    }
}

fn layout(d: &[u8], t: &TraceDat<'_>) -> Layout {
    let mut w = Walk {
        d,
        e: t.endian,
        pos: 10,
        lay: Layout::default(),
    };
    w.mark();
    let _ = w.cstr();
    w.mark();
    w.pos += 6; // endian, long size, page size
    w.mark();
    if t.version >= 7 {
        let _ = w.cstr();
        let _ = w.cstr();
        w.mark();
        if let Some(first) = w.len(8) {
            let _ = w.v7(first as usize);
        }
    } else {
        let _ = w.v6();
    }
    let mut lay = w.lay;
    lay.page_size = t.header_page_size as usize;
    for (bi, b) in t.buffers.iter().enumerate() {
        let ps = b.page_size as usize;
        for (ci, c) in b.cpus.iter().enumerate() {
            let start = c.offset as usize;
            let end = (c.offset + c.size).min(d.len() as u64) as usize;
            lay.boundaries.extend([start, end]);
            if c.is_compressed() {
                for ch in c.chunks() {
                    lay.boundaries.push(ch.offset() as usize);
                    lay.lengths.push(LenField {
                        at: ch.offset() as usize,
                        width: 4,
                    });
                    lay.lengths.push(LenField {
                        at: ch.offset() as usize + 4,
                        width: 4,
                    });
                }
            } else if end > start {
                lay.raw_cpus.push((start, end, bi, ci));
                let n = (end - start) / ps;
                for k in [0, 1, n / 2, n.saturating_sub(1)] {
                    if k < n {
                        lay.pages.push(start + k * ps);
                        lay.boundaries.push(start + k * ps);
                    }
                }
            }
        }
    }
    lay.boundaries.retain(|&b| b > 0 && b < d.len());
    lay.boundaries.sort_unstable();
    lay.boundaries.dedup();
    lay.lengths.retain(|l| l.at + l.width <= d.len());
    lay
}

/// One damaged copy and what it must still give.
struct Mutant {
    name: String,
    data: Vec<u8>,
    /// For damage inside one uncompressed CPU's data: (buffer, cpu index).
    inside_cpu: Option<(usize, usize)>,
}

/// A structural mutant, made only when it runs (a fixture has thousands).
#[derive(Debug, Clone, Copy)]
enum Edit {
    Truncate(usize),
    Put { at: usize, width: usize, v: u64 },
}

impl Edit {
    fn apply(self, d: &[u8], e: Endian, lay: &Layout) -> Mutant {
        match self {
            Edit::Truncate(cut) => Mutant {
                name: format!("truncated at {cut}"),
                data: d[..cut.min(d.len())].to_vec(),
                inside_cpu: None,
            },
            Edit::Put { at, width, v } => {
                let mut m = d.to_vec();
                put(e, &mut m, at, width, v);
                Mutant {
                    name: format!("{width} bytes at {at} set to {v:#x}"),
                    data: m,
                    inside_cpu: cpu_of(lay, at, at + width),
                }
            }
        }
    }
}

fn put(e: Endian, d: &mut [u8], at: usize, width: usize, v: u64) {
    let b = match e {
        Endian::Little => v.to_le_bytes(),
        Endian::Big => v.to_be_bytes(),
    };
    let b = match e {
        Endian::Little => &b[..width],
        Endian::Big => &b[8 - width..],
    };
    d[at..at + width].copy_from_slice(b);
}

fn cpu_of(lay: &Layout, from: usize, to: usize) -> Option<(usize, usize)> {
    lay.raw_cpus
        .iter()
        .find(|&&(s, e, _, _)| from >= s && to <= e)
        .map(|&(_, _, b, c)| (b, c))
}

/// Structural mutants: every truncation at a boundary (and one byte past
/// it), every length field set to huge values, bogus page commit words.
fn structural(d: &[u8], t: &TraceDat<'_>, lay: &Layout) -> Vec<Edit> {
    let mut v = Vec::new();
    for &b in &lay.boundaries {
        v.extend([Edit::Truncate(b), Edit::Truncate(b + 1)]);
    }
    let huge = [
        u64::MAX,
        u64::from(u32::MAX),
        0x7fff_ffff,
        d.len() as u64 + 1,
    ];
    for l in &lay.lengths {
        for &h in &huge {
            v.push(Edit::Put {
                at: l.at,
                width: l.width,
                v: h,
            });
        }
    }
    let hp = t.header_page;
    let ps = lay.page_size as u64;
    let commits = [
        0,
        1,
        ps - 1,
        ps,
        ps + 1,
        (1 << 27) - 1,
        1 << 31,
        3 << 30,
        u64::MAX,
    ];
    for &p in &lay.pages {
        for &c in &commits {
            let at = p + hp.commit_offset;
            if at + hp.commit_size <= d.len() {
                v.push(Edit::Put {
                    at,
                    width: hp.commit_size,
                    v: c,
                });
            }
        }
    }
    v
}

/// A random mutant: bytes to overwrite (a few), kept until it runs.
struct Patch {
    name: String,
    bytes: Vec<(usize, u8)>,
    inside_cpu: Option<(usize, usize)>,
}

impl Patch {
    fn apply(self, d: &[u8]) -> Mutant {
        let mut data = d.to_vec();
        for (at, b) in self.bytes {
            data[at] = b;
        }
        Mutant {
            name: self.name,
            data,
            inside_cpu: self.inside_cpu,
        }
    }
}

/// Random mutants: bit flips and byte runs anywhere, half of them in CPU
/// data (where most of the bytes are).
fn random(d: &[u8], lay: &Layout, rng: &mut Rng, n: usize) -> Vec<Patch> {
    (0..n)
        .map(|i| {
            let (lo, hi) = match lay.raw_cpus.get(rng.below(lay.raw_cpus.len())) {
                Some(&(s, e, _, _)) if i % 2 == 1 => (s, e),
                _ => (0, d.len()),
            };
            let at = lo + rng.below(hi - lo);
            let mut bytes = Vec::new();
            let name = match rng.below(4) {
                0 | 1 => {
                    let bits = 1 + rng.below(8);
                    for _ in 0..bits {
                        let p = (at + rng.below(16)).min(hi - 1);
                        let old = bytes
                            .iter()
                            .rev()
                            .find(|(q, _)| *q == p)
                            .map_or(d[p], |x: &(usize, u8)| x.1);
                        bytes.push((p, old ^ (1 << rng.below(8))));
                    }
                    format!("{bits} bit flips from {at}")
                }
                k => {
                    let len = (1 + rng.below(64)).min(hi - at);
                    let byte = match k {
                        2 => rng.next() as u8,
                        _ => [0, 0xff][rng.below(2)],
                    };
                    bytes.extend((at..at + len).map(|p| (p, byte)));
                    format!("{len} bytes of {byte:#04x} at {at}")
                }
            };
            let end = bytes.iter().map(|(p, _)| p + 1).max().unwrap_or(at + 1);
            Patch {
                name,
                inside_cpu: cpu_of(lay, at, end),
                bytes,
            }
        })
        .collect()
}

/// What reading one mutant gave.
#[derive(Debug)]
struct Outcome {
    /// Records of each (buffer, cpu index), when the metadata parsed.
    cpu_records: Vec<((usize, usize), u64)>,
    /// Problems: empty when every check held.
    failures: Vec<String>,
}

fn read(data: &[u8], per_cpu: bool, invariants: bool) -> Outcome {
    let mut failures = Vec::new();
    let mut cpu_records = Vec::new();
    let mut stream_errors = 0;
    let t = match TraceDat::parse(data) {
        Ok(t) => t,
        Err(e) => {
            if !e.to_string().starts_with("at byte offset ") {
                failures.push(format!("error without an offset: {e}"));
            }
            return Outcome {
                cpu_records,
                failures,
            };
        }
    };
    for (bi, b) in t.buffers.iter().enumerate().filter(|_| per_cpu) {
        for ci in 0..b.cpus.len() {
            let mut s = t.cpu_records(bi, ci).unwrap();
            let (r, _, errs) = s.count_all();
            cpu_records.push(((bi, ci), r));
            stream_errors += errs.len();
            for e in errs {
                if e.cpu.is_none() {
                    failures.push(format!("CPU data error without a CPU: {e}"));
                }
            }
        }
    }
    let opts = AnalyzeOptions::default();
    let res = match analyze_with_info(&t, None, &opts) {
        Err(AnalyzeError::NoProfile) => {
            let p = Profile::builtin("mmctx").expect("built-in mmctx profile");
            analyze_with_info(&t, Some(&p), &opts)
        }
        r => r,
    };
    match res {
        Ok((_, info)) => {
            let total: u64 = cpu_records.iter().map(|(_, n)| n).sum();
            if per_cpu && info.events != total {
                failures.push(format!(
                    "analysis read {} records, the CPU streams hold {total}",
                    info.events
                ));
            }
            let reported = info
                .read_errors
                .iter()
                .filter(|e| e.starts_with("trace data:"))
                .count();
            if per_cpu && reported != stream_errors {
                failures.push(format!(
                    "the CPU streams met {stream_errors} errors, TraceInfo::read_errors names {reported}"
                ));
            }
            for e in &info.read_errors {
                if !e.contains("at byte offset ") {
                    failures.push(format!("read error without an offset: {e}"));
                }
                if e.starts_with("trace data:") && !e.contains(", CPU ") {
                    failures.push(format!("trace data error without a CPU: {e}"));
                }
            }
        }
        Err(e) => failures.push(format!("analysis failed: {e}")),
    }
    if invariants {
        checks::check_tracedat(data);
    }
    Outcome {
        cpu_records,
        failures,
    }
}

/// Figures of a run.
#[derive(Debug, Default)]
struct Report {
    mutants: usize,
    panics: usize,
    failures: Vec<String>,
    max_time: Duration,
    max_time_ratio: f64,
    max_heap: usize,
    max_heap_ratio: f64,
}

/// A file to read, and whether to count each CPU's records on their own
/// (one more pass).
struct Job(Vec<u8>, bool);

/// Runs `data` on the worker (which survives panics) and waits at most
/// `limit`: the elapsed time, the heap peak above the start, the outcome or
/// the panic message.
type Answer = (Duration, usize, Result<Outcome, String>);

fn worker(invariants: bool) -> (mpsc::Sender<Job>, mpsc::Receiver<Answer>) {
    let (tx, rx) = mpsc::channel::<Job>();
    let (atx, arx) = mpsc::channel::<Answer>();
    std::thread::spawn(move || {
        for Job(data, per_cpu) in rx {
            let base = HEAP.current_usage();
            HEAP.reset_peak_usage();
            let t0 = Instant::now();
            let r = std::panic::catch_unwind(|| read(&data, per_cpu, invariants));
            let dt = t0.elapsed();
            let peak = HEAP.peak_usage().saturating_sub(base);
            let r = r.map_err(|p| {
                p.downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default()
            });
            drop(data);
            if atx.send((dt, peak, r)).is_err() {
                break;
            }
        }
    });
    (tx, arx)
}

/// Which fixtures one process reads: `(i, n)` takes those numbered `i`
/// modulo `n`.
#[derive(Debug, Clone, Copy)]
struct Shard {
    index: usize,
    count: usize,
}

impl Shard {
    const ALL: Shard = Shard { index: 0, count: 1 };

    fn from_env() -> Shard {
        let Ok(v) = std::env::var("MMRACE_MUTANTS_SHARD") else {
            return Shard::ALL;
        };
        let (i, n) = v
            .split_once('/')
            .and_then(|(i, n)| Some((i.parse().ok()?, n.parse().ok()?)))
            .filter(|&(i, n): &(usize, usize)| i < n)
            .expect("MMRACE_MUTANTS_SHARD is i/n with i < n");
        Shard { index: i, count: n }
    }
}

fn run(
    random_per_fixture: usize,
    structural_per_fixture: Option<usize>,
    invariants: bool,
    shard: Shard,
    slack: Duration,
) -> Report {
    let (tx, rx) = worker(invariants);
    let mut rep = Report::default();
    let mut rng = Rng(0x6d6d_7261_6365_0009);
    let verbose = random_per_fixture > CI_MUTANTS;
    for (number, path) in fixtures().into_iter().enumerate() {
        if verbose && number % shard.count == shard.index {
            eprintln!(
                "{} mutants so far, {} panics, {} failures, max time {:?}, max heap growth {} KiB; next {}",
                rep.mutants,
                rep.panics,
                rep.failures.len(),
                rep.max_time,
                rep.max_heap >> 10,
                path.display()
            );
        }
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let d = std::fs::read(&path).unwrap();
        let t = TraceDat::parse(&d).unwrap();
        let lay = layout(&d, &t);
        let mut edits = structural(&d, &t, &lay);
        if let Some(n) = structural_per_fixture {
            let step = edits.len().div_ceil(n.max(1)).max(1);
            edits = edits.into_iter().step_by(step).collect();
        }
        let endian = t.endian;
        // Every shard draws every fixture's mutants, so that the generator
        // gives each fixture the same ones as in the whole run.
        let randoms = random(&d, &lay, &mut rng, random_per_fixture);
        drop(t);
        if number % shard.count != shard.index {
            continue;
        }
        let muts = edits
            .into_iter()
            .map(|e| e.apply(&d, endian, &lay))
            .chain(randoms.into_iter().map(|p| p.apply(&d)));
        // The intact file: the reference time and per-CPU counts.
        tx.send(Job(d.clone(), true)).unwrap();
        let (base_time, _, base) = rx.recv().unwrap();
        let base = base.unwrap_or_else(|p| panic!("{name}: intact file panicked: {p}"));
        assert!(base.failures.is_empty(), "{name}: {:?}", base.failures);
        let limit = base_time * TIME_FACTOR + slack;
        let mem_limit = MEMORY_FACTOR * d.len() + MEMORY_SLACK;
        for m in muts {
            rep.mutants += 1;
            let label = format!("{name}: {}", m.name);
            tx.send(Job(m.data, m.inside_cpu.is_some() || invariants))
                .unwrap();
            let Ok((dt, peak, r)) = rx.recv_timeout(limit) else {
                panic!("{label}: no answer within {limit:?} (hang?)");
            };
            rep.max_time = rep.max_time.max(dt);
            rep.max_time_ratio = rep
                .max_time_ratio
                .max(dt.as_secs_f64() / base_time.as_secs_f64().max(1e-6));
            rep.max_heap = rep.max_heap.max(peak);
            rep.max_heap_ratio = rep.max_heap_ratio.max(peak as f64 / d.len() as f64);
            if peak > mem_limit {
                rep.failures.push(format!(
                    "{label}: heap grew by {peak} bytes (limit {mem_limit})"
                ));
            }
            match r {
                Err(p) => {
                    rep.panics += 1;
                    rep.failures.push(format!("{label}: panicked: {p}"));
                }
                Ok(o) => {
                    rep.failures
                        .extend(o.failures.into_iter().map(|f| format!("{label}: {f}")));
                    if let Some(cpu) = m.inside_cpu {
                        for (k, n) in &base.cpu_records {
                            let got = o.cpu_records.iter().find(|(c, _)| c == k).map(|x| x.1);
                            if *k != cpu && got != Some(*n) {
                                rep.failures.push(format!(
                                    "{label}: damage in CPU {cpu:?} changed CPU {k:?}: {got:?} records, was {n}"
                                ));
                            }
                        }
                    }
                }
            }
        }
    }
    rep
}

fn print(rep: &Report) {
    eprintln!(
        "mutants: {}, panics: {}, failures: {}, max time {:?} ({:.1}x the intact file), max heap growth {} KiB ({:.2}x the file size)",
        rep.mutants,
        rep.panics,
        rep.failures.len(),
        rep.max_time,
        rep.max_time_ratio,
        rep.max_heap >> 10,
        rep.max_heap_ratio
    );
    if let Ok(st) = std::fs::read_to_string("/proc/self/status") {
        if let Some(l) = st.lines().find(|l| l.starts_with("VmHWM:")) {
            eprintln!("peak RSS of the test process: {}", l[6..].trim());
        }
    }
    for f in rep.failures.iter().take(40) {
        eprintln!("  {f}");
    }
}

#[test]
fn mutants_of_every_fixture_read_without_panic_in_bounded_time_and_memory() {
    let (n, structural, invariants) = match std::env::var("MMRACE_MUTANTS") {
        Ok(v) => (v.parse().expect("MMRACE_MUTANTS is a number"), None, true),
        Err(_) => (CI_MUTANTS, Some(CI_STRUCTURAL), false),
    };
    let slack = std::env::var("MMRACE_MUTANTS_SLACK").map_or(TIME_SLACK, |s| {
        Duration::from_secs(s.parse().expect("MMRACE_MUTANTS_SLACK is seconds"))
    });
    let rep = run(n, structural, invariants, Shard::from_env(), slack);
    print(&rep);
    assert_eq!(rep.panics, 0);
    assert!(rep.failures.is_empty(), "{} failures", rep.failures.len());
}
