//! The scenario generator: `mmrace synth --scenario {A,B,L,L2,X} --variant
//! {buggy,fixed} [--noise N] [--seed S] [--endian little|big]
//! [--file-version 6|7] [--compression none|zstd] -o F.dat`.
//!
//! [`build`] writes the race-model.md §4 script of a scenario (`mmctx`
//! events with `sched:sched_switch` and `raw_syscalls:sys_exit`; X with x86's
//! `tlb:tlb_flush` and `ipi:ipi_send_cpumask`) into per-CPU record streams,
//! plus noise: a fixed-protocol random schedule on a CPU of its own (tasks,
//! switches, syscalls, flushes, irqs, wakeups) and irqs/wakeups on the
//! scenario's CPUs. [`write`] turns that into a trace.dat that trace-cmd
//! reads.
//!
//! ```
//! use mmrace::synth::{Scenario, SynthOptions, Variant, write_vec};
//! let bytes = write_vec(&SynthOptions::new(Scenario::B, Variant::Buggy)).unwrap();
//! assert_eq!(&bytes[..10], b"\x17\x08\x44tracing");
//! ```

pub mod bulk;
mod formats;
mod scenario;
mod script;
pub mod sim;

use std::collections::BTreeMap;
use std::io::{Seek, Write};

use mmrace_parsers::Endian;
use mmrace_parsers::format::EventFormat;
use mmrace_parsers::tracedat::writer::{
    self, FileVersion, TraceDatSpec, TraceDatWriter, WriterError,
};
use mmrace_parsers::types::{Cpu, Pid, Timestamp};

use crate::analysis::TraceItem;
pub use bulk::{BulkOptions, BulkStats, parse_size, write_bulk};
use script::Script;
pub use sim::{Expected, Op, SimConfig};

/// A scenario of race-model.md §4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scenario {
    /// 4.1 lost per-thread deferral (INV-1, INV-1a).
    A,
    /// 4.2 per-mm deferral flag on SMP (INV-1, INV-1b).
    B,
    /// 4.3 s390 lazy flush vs. recreation of TLB entries (INV-2b).
    L,
    /// 4.3 variant: lost lazy flush (INV-3).
    L2,
    /// 4.4 x86 skipped flush IPI (INV-2; needs an x86 profile).
    X,
}

impl Scenario {
    /// Parses `A`, `B`, `L`, `L2`, `X` (any case).
    pub fn parse(s: &str) -> Option<Scenario> {
        Some(match s.to_ascii_uppercase().as_str() {
            "A" => Scenario::A,
            "B" => Scenario::B,
            "L" => Scenario::L,
            "L2" => Scenario::L2,
            "X" => Scenario::X,
            _ => return None,
        })
    }
}

/// Which protocol the scenario follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Variant {
    /// The racy protocol: the expected findings.
    Buggy,
    /// The fixed protocol: no finding.
    Fixed,
}

impl Variant {
    /// Parses `buggy` / `fixed`.
    pub fn parse(s: &str) -> Option<Variant> {
        match s.to_ascii_lowercase().as_str() {
            "buggy" => Some(Variant::Buggy),
            "fixed" => Some(Variant::Fixed),
            _ => None,
        }
    }
}

/// Compression of the written file (version 7 only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SynthCompression {
    /// None.
    None,
    /// zstd.
    Zstd,
}

/// Generator options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SynthOptions {
    /// Scenario.
    pub scenario: Scenario,
    /// Variant.
    pub variant: Variant,
    /// Noise steps (0: the bare script).
    pub noise: u32,
    /// Seed of the noise.
    pub seed: u64,
    /// Byte order.
    pub endian: Endian,
    /// trace.dat version: 6 or 7.
    pub file_version: u32,
    /// Compression (version 7).
    pub compression: SynthCompression,
}

impl SynthOptions {
    /// Defaults: no noise, seed 1, little endian, version 7, no compression.
    pub fn new(scenario: Scenario, variant: Variant) -> SynthOptions {
        SynthOptions {
            scenario,
            variant,
            noise: 0,
            seed: 1,
            endian: Endian::Little,
            file_version: 7,
            compression: SynthCompression::None,
        }
    }
}

/// The generator failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SynthError {
    /// An option value is not supported.
    #[error("unsupported option: {0}")]
    Option(String),
    /// The writer failed.
    #[error(transparent)]
    Write(#[from] WriterError),
}

/// A generated trace in memory.
#[derive(Debug, Clone)]
pub struct SynthTrace {
    /// Byte order.
    pub endian: Endian,
    /// (system, format text) as written.
    pub format_texts: Vec<(String, String)>,
    /// The parsed formats.
    pub formats: Vec<EventFormat>,
    /// Per CPU: (timestamp ns, payload), in time order.
    pub cpus: BTreeMap<u32, Vec<(u64, Vec<u8>)>>,
    /// Per CPU: lost-events marks (before timestamp, count).
    pub lost: BTreeMap<u32, Vec<(u64, u64)>>,
    /// Saved cmdlines.
    pub comms: BTreeMap<i32, String>,
    /// Per CPU: the `CPUSTAT` text written for it (ring-buffer statistics).
    pub cpustats: BTreeMap<u32, String>,
}

/// A record of [`SynthTrace::merged`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SynthRecord<'a> {
    /// Timestamp.
    pub ts: Timestamp,
    /// CPU.
    pub cpu: Cpu,
    /// Payload.
    pub payload: &'a [u8],
}

impl SynthTrace {
    fn from_script(sc: Script) -> SynthTrace {
        let mut sc = sc;
        sc.sort();
        SynthTrace {
            endian: sc.endian,
            format_texts: sc
                .formats
                .iter()
                .map(|(s, t, _)| (s.to_string(), t.clone()))
                .collect(),
            formats: sc.formats.into_iter().map(|(_, _, f)| f).collect(),
            cpus: sc.cpus,
            lost: BTreeMap::new(),
            comms: sc.comms,
            cpustats: BTreeMap::new(),
        }
    }

    /// Drops the formats of events no record uses.
    fn keep_used_formats(&mut self) {
        let used: std::collections::BTreeSet<u32> = self
            .cpus
            .values()
            .flatten()
            .filter_map(|(_, p)| self.endian.read_u16(p, 0).map(u32::from))
            .collect();
        let keep: Vec<bool> = self
            .formats
            .iter()
            .map(|f| used.contains(&f.id.0))
            .collect();
        let mut k = keep.iter();
        self.formats.retain(|_| *k.next().unwrap_or(&false));
        let mut k = keep.iter();
        self.format_texts.retain(|_| *k.next().unwrap_or(&false));
    }

    /// Marks that `cpu` lost `count` events just before `ts` (written as a
    /// missed-events page; used to test the INV-7 gate).
    pub fn mark_lost(&mut self, cpu: u32, ts: u64, count: u64) {
        self.lost.entry(cpu).or_default().push((ts, count));
        self.lost.entry(cpu).or_default().sort();
    }

    /// Writes `CPUSTAT` statistics for `cpu` saying its ring buffer
    /// overwrote `overrun` events (as tracefs `per_cpu/cpuN/stats` does).
    pub fn set_overrun(&mut self, cpu: u32, overrun: u64) {
        let text = format!(
            "CPU: {cpu}\nentries: 0\noverrun: {overrun}\ncommit overrun: 0\nbytes: 0\n\
             oldest event ts:  0.000000\nnow ts:  0.000000\ndropped events: 0\nread events: 0\n"
        );
        self.cpustats.insert(cpu, text);
    }

    /// All records in trace-cmd's merged order (time, then lower CPU).
    pub fn merged(&self) -> impl Iterator<Item = SynthRecord<'_>> {
        let mut all: Vec<SynthRecord<'_>> = self
            .cpus
            .iter()
            .flat_map(|(&c, v)| {
                v.iter().map(move |(ts, p)| SynthRecord {
                    ts: Timestamp(*ts),
                    cpu: Cpu(c),
                    payload: p,
                })
            })
            .collect();
        all.sort_by_key(|r| (r.ts, r.cpu)); // stable: per-CPU order kept
        all.into_iter()
    }

    /// The merged stream as analysis input, lost-events marks included.
    pub fn items(&self) -> Vec<TraceItem<'_>> {
        let mut lost: Vec<(u64, u32, u64)> = self
            .lost
            .iter()
            .flat_map(|(&c, v)| v.iter().map(move |&(ts, n)| (ts, c, n)))
            .collect();
        lost.sort();
        let mut out = Vec::new();
        let mut li = 0;
        for r in self.merged() {
            while li < lost.len() && lost[li].0 <= r.ts.0 {
                let (ts, c, n) = lost[li];
                out.push(TraceItem::Lost {
                    cpu: Cpu(c),
                    ts: Timestamp(ts),
                    count: Some(n),
                });
                li += 1;
            }
            out.push(TraceItem::Record {
                ts: r.ts,
                cpu: r.cpu,
                payload: r.payload,
            });
        }
        out
    }
}

/// xorshift64*: deterministic noise without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0.max(1);
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// Random fixed-protocol ops (no dropped deferral) from a seed.
pub fn random_ops(seed: u64, n: u32) -> Vec<Op> {
    let mut r = Rng(seed ^ 0x9e37_79b9_7f4a_7c15);
    (0..n)
        .map(|_| {
            let v = r.next();
            let (a, b) = ((v >> 8) as u8, (v >> 16) as u8);
            match v % 9 {
                0 | 1 => Op::Switch(a, b),
                2 | 3 => Op::User(a),
                4 => Op::Enter(a),
                5 => Op::Irq(a),
                6 => Op::Flush(a),
                7 => Op::Pte(a),
                _ => Op::Wakeup(a, b),
            }
        })
        .collect()
}

/// Builds a scenario (with noise) in memory.
pub fn build(opts: &SynthOptions) -> Result<SynthTrace, SynthError> {
    let mut sc = Script::new(opts.endian);
    scenario::write(opts.scenario, opts.variant, &mut sc);
    if opts.noise > 0 {
        let used = scenario::cpus(opts.scenario);
        let noise_cpu = used.iter().max().map_or(0, |m| m + 1);
        let (t0, t1) = scenario::span(opts.scenario);
        // The simulated noise tasks speak the mmctx protocol; X is an x86
        // recording without it, so it only gets irqs and wakeups.
        if opts.scenario != Scenario::X {
            let ops = random_ops(opts.seed, opts.noise);
            // Each op emits at most ~12 events; spread them over the scenario.
            let step = ((t1 - t0) / (u64::from(opts.noise) * 12 + 1)).max(2);
            let cfg = SimConfig {
                cpus: vec![noise_cpu],
                mms: 2,
                threads: 2,
                pid_base: 1000,
                mm_base: 0x1_0000_0000,
                t0: t0.saturating_sub(1_000_000),
                step,
                drop: None,
            };
            sim::simulate(&mut sc, &cfg, &ops);
        }
        let mut r = Rng(opts.seed.wrapping_add(7));
        for i in 0..opts.noise {
            let c = used[(r.next() % used.len() as u64) as usize];
            let ts = t0 + r.next() % (t1 - t0);
            if i % 2 == 0 {
                sc.irq(ts, 300, c, 0, 40 + (i % 3));
            } else {
                let target = script::Task::new(1000, "w0", 0);
                sc.wakeup(ts, c, 0, &target, noise_cpu);
            }
        }
    }
    let mut t = SynthTrace::from_script(sc);
    if opts.scenario == Scenario::X {
        // An x86 recording holds the formats of the events it enabled: the
        // canonical mmctx deferral/load events are not among them.
        t.keep_used_formats();
    }
    Ok(t)
}

/// Writes a generated trace as trace.dat.
pub fn write_trace<W: Write + Seek>(
    t: &SynthTrace,
    opts: &SynthOptions,
    out: W,
) -> Result<W, SynthError> {
    let version = match opts.file_version {
        6 => FileVersion::V6,
        7 => FileVersion::V7,
        v => {
            return Err(SynthError::Option(format!(
                "file version {v} (want 6 or 7)"
            )));
        }
    };
    let compression = match (opts.compression, version) {
        (SynthCompression::None, _) => writer::Compression::None,
        (SynthCompression::Zstd, FileVersion::V7) => writer::Compression::Zstd,
        (SynthCompression::Zstd, FileVersion::V6) => {
            return Err(SynthError::Option(
                "compression needs file version 7".into(),
            ));
        }
    };
    let ncpus = t.cpus.keys().max().map_or(1, |m| m + 1);
    let machine = if opts.scenario == Scenario::X || opts.endian == Endian::Little {
        "x86_64"
    } else {
        "s390x"
    };
    let mut spec = TraceDatSpec::new(opts.endian, 8)
        .version(version)
        .compression(compression)
        .clock("mono")
        .uname(&format!("Linux mmrace-synth 6.12.0 {machine}"))
        .buffer("", ncpus);
    for (sys, text) in &t.format_texts {
        spec = spec.event_format(sys, text.as_bytes().to_vec());
    }
    for (pid, comm) in &t.comms {
        spec = spec.cmdline(Pid(*pid), comm);
    }
    for (cpu, text) in &t.cpustats {
        spec = spec.cpustat("", Cpu(*cpu), text);
    }
    let mut w = TraceDatWriter::new(out, spec)?;
    for cpu in 0..ncpus {
        w.begin_cpu("", Cpu(cpu))?;
        let lost = t.lost.get(&cpu).map(Vec::as_slice).unwrap_or(&[]);
        let mut li = 0;
        for (ts, p) in t.cpus.get(&cpu).map(Vec::as_slice).unwrap_or(&[]) {
            while li < lost.len() && lost[li].0 <= *ts {
                w.push_lost_events(Some(lost[li].1))?;
                li += 1;
            }
            w.push(Timestamp(*ts), p)?;
        }
        w.end_cpu()?;
    }
    Ok(w.finish()?)
}

/// Builds and writes a scenario to `out`.
pub fn write<W: Write + Seek>(opts: &SynthOptions, out: W) -> Result<W, SynthError> {
    let t = build(opts)?;
    write_trace(&t, opts, out)
}

/// Builds and writes a scenario into a byte vector.
pub fn write_vec(opts: &SynthOptions) -> Result<Vec<u8>, SynthError> {
    Ok(write(opts, std::io::Cursor::new(Vec::new()))?.into_inner())
}

#[cfg(test)]
mod tests;
