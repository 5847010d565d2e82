//! The analysis entry points the CLI calls: pick and compile a profile,
//! ingest the records, replay, gate, and return an [`Analysis`] (serde
//! `Serialize`: the JSON report is `serde_json::to_string(&analysis)`).
//!
//! ```
//! use mmrace::analysis::{AnalyzeOptions, analyze_records};
//! use mmrace::synth::{Scenario, SynthOptions, Variant};
//! use mmrace_parsers::Endian;
//!
//! let t = mmrace::synth::build(&SynthOptions::new(Scenario::A, Variant::Buggy)).unwrap();
//! let a = analyze_records(&t.formats, Endian::Little, None, t.items(), &AnalyzeOptions::default()).unwrap();
//! assert!(a.findings.iter().any(|f| f.code == "INV-1"));
//! ```

use std::collections::BTreeMap;

use mmrace_parsers::Endian;
use mmrace_parsers::format::EventFormat;
use mmrace_parsers::tracedat::TraceDat;
use mmrace_parsers::types::{Cpu, Pid, Timestamp};
use serde::Serialize;

use crate::detect::{Coverage, apply_quality_gate, coverage};
use crate::feed::Fed;
use crate::finding::Finding;
use crate::ingest::{Ingest, IngestedTrace};
use crate::model::RoleKind;
use crate::model::{Event, EventIndex, EventRef};
use crate::profile::{CompiledProfile, EventName, Profile, select_builtin};
use crate::replay::{Engine, FirstSeen, ReplayOptions, replay};

mod perf;
pub use perf::{PerfObserver, analyze_perf_observed, analyze_perf_with_info};

/// Options of an analysis. Decoding and decompression run on rayon's
/// current pool (wrap the call in `ThreadPool::install` to bound the
/// threads); the replay is one pass in merged order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AnalyzeOptions {
    /// The traced machine (`uname -m`), for built-in profile selection.
    pub arch: Option<String>,
    /// Task names from the trace's saved cmdlines.
    pub comms: BTreeMap<Pid, String>,
}

/// One item of the merged record stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TraceItem<'a> {
    /// A record: payload starts with the common fields.
    Record {
        /// Timestamp.
        ts: Timestamp,
        /// CPU.
        cpu: Cpu,
        /// Payload.
        payload: &'a [u8],
    },
    /// The ring buffer of `cpu` lost events before `ts`.
    Lost {
        /// CPU.
        cpu: Cpu,
        /// Where the loss was noticed.
        ts: Timestamp,
        /// How many, when known.
        count: Option<u64>,
    },
}

/// Why an analysis could not run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AnalyzeError {
    /// No profile was given and no built-in profile fits the trace's events.
    #[error("no profile fits this trace's events; record the mmctx events or pass --profile FILE")]
    NoProfile,
    /// A perf.data file without tracing data (no tracepoint was recorded).
    #[error(
        "the perf.data file has no tracing data: record tracepoints (perf record -e sched:sched_switch ...)"
    )]
    NoTracingData,
}

/// Counters of an analysis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Records read.
    pub records: u64,
    /// Role occurrences.
    pub roles: BTreeMap<RoleKind, u64>,
    /// CPUs seen.
    pub cpus: usize,
}

/// The result of an analysis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Analysis {
    /// The profile used.
    pub profile: String,
    /// Findings, sorted by [`Finding::total_cmp`].
    pub findings: Vec<Finding>,
    /// What the trace allowed to check.
    pub coverage: Coverage,
    /// Counters.
    pub stats: Stats,
    /// Non-fatal problems (profile rules left out, ignored CPUs).
    pub warnings: Vec<String>,
}

/// The profile to use: `user` if given, else the best built-in for the
/// trace's events and machine.
pub fn choose_profile(
    formats: &[EventFormat],
    arch: Option<&str>,
    user: Option<&Profile>,
) -> Result<Profile, AnalyzeError> {
    if let Some(p) = user {
        return Ok(p.clone());
    }
    let has = |n: &EventName| {
        formats
            .iter()
            .any(|f| f.system == n.system && f.name == n.name)
    };
    select_builtin(&has, arch).ok_or(AnalyzeError::NoProfile)
}

/// Analyses a merged record stream: picks and compiles the profile (see
/// [`choose_profile`]), ingests, replays and gates.
pub fn analyze_records<'a>(
    formats: &[EventFormat],
    endian: Endian,
    profile: Option<&Profile>,
    items: impl IntoIterator<Item = TraceItem<'a>>,
    opts: &AnalyzeOptions,
) -> Result<Analysis, AnalyzeError> {
    let (trace, compiled) = ingest_records(formats, endian, profile, items, opts)?;
    Ok(analyze_ingested(&trace, &compiled, opts))
}

/// Picks and compiles the profile (see [`choose_profile`]) and ingests a
/// merged record stream: what [`analyze_records`] replays.
pub fn ingest_records<'a>(
    formats: &[EventFormat],
    endian: Endian,
    profile: Option<&Profile>,
    items: impl IntoIterator<Item = TraceItem<'a>>,
    opts: &AnalyzeOptions,
) -> Result<(IngestedTrace, CompiledProfile), AnalyzeError> {
    let p = choose_profile(formats, opts.arch.as_deref(), profile)?;
    let compiled = p.compile(formats, endian);
    let mut ingest = Ingest::new(&compiled);
    for it in items {
        match it {
            TraceItem::Record { ts, cpu, payload } => ingest.push_record(ts, cpu, payload),
            TraceItem::Lost { cpu, ts, count } => ingest.push_lost(cpu, ts, count),
        }
    }
    Ok((ingest.finish(), compiled))
}

/// Analyses a parsed trace.dat: the profile is `profile` or the best
/// built-in for the file's events and machine (`uname`); the records of every
/// buffer (the top buffer and instances, which share the CPUs and clock) are
/// merged in time order; saved cmdlines name the tasks; lost-events pages
/// mark windows suspect; per-CPU read errors become warnings (the records
/// before them are analysed).
pub fn analyze(
    trace: &TraceDat<'_>,
    profile: Option<&Profile>,
    opts: &AnalyzeOptions,
) -> Result<Analysis, AnalyzeError> {
    analyze_with_info(trace, profile, opts).map(|(a, _)| a)
}

/// What a report says about the file itself, beyond the [`Analysis`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TraceInfo {
    /// The traced machine (`uname -m`: `x86_64`, `aarch64`, `s390x`).
    pub arch: Option<String>,
    /// The kernel release (`uname -r`).
    pub kernel_release: Option<String>,
    /// The whole uname string as stored.
    pub uname: Option<String>,
    /// The trace clock (`local`, `mono`, `global`, ...).
    pub trace_clock: Option<String>,
    /// trace.dat version (6 or 7); 2 for a perf.data file (`PERFILE2`,
    /// the only perf.data format version).
    pub file_version: u32,
    /// `little` or `big`.
    pub endian: &'static str,
    /// Compression of the file (`none`, `zstd`, `zlib`).
    pub compression: String,
    /// CPUs the trace was recorded on.
    pub cpu_count: u32,
    /// Buffer names (the top buffer is `""`).
    pub buffers: Vec<String>,
    /// Timestamp of the first record (ns for ns clocks).
    pub first_ts: Option<u64>,
    /// Timestamp of the last record.
    pub last_ts: Option<u64>,
    /// Records read (all buffers).
    pub events: u64,
    /// Lost events per CPU and buffer (only those that lost some).
    pub lost: Vec<LostInfo>,
    /// Per CPU: its records and the recorder's ring-buffer statistics
    /// (`CPUSTAT` option: overruns, drops).
    pub cpus: Vec<CpuInfo>,
    /// Problems reading the file (metadata warnings and per-CPU read errors).
    pub read_errors: Vec<String>,
}

/// Lost events of one CPU of one buffer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LostInfo {
    /// The CPU.
    #[serde(serialize_with = "crate::model::ser_cpu")]
    pub cpu: Cpu,
    /// The buffer name (`""` for the top buffer).
    pub buffer: String,
    /// Pages that reported a loss.
    pub pages: u64,
    /// Events lost, summed over the pages that gave a count.
    pub events: u64,
    /// Whether some page reported a loss without a count.
    pub uncounted: bool,
}

/// One CPU of a trace: what it recorded, and what its ring buffer lost.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CpuInfo {
    /// The CPU.
    #[serde(serialize_with = "crate::model::ser_cpu")]
    pub cpu: Cpu,
    /// Records read (all buffers).
    pub events: u64,
    /// Its first record's timestamp.
    pub first_ts: Option<u64>,
    /// Its last record's timestamp.
    pub last_ts: Option<u64>,
    /// Events the ring buffer overwrote (`overrun` of the CPU's stats): its
    /// oldest events are gone, so its data starts late.
    pub overrun: Option<u64>,
    /// Events the ring buffer dropped when full (`dropped events`).
    pub dropped: Option<u64>,
    /// The CPU's data starts after events were overwritten: nothing before
    /// `first_ts` is known on this CPU.
    pub starts_late: bool,
}

/// The counters of one `CPUSTAT` text (the per-CPU `stats` file of
/// tracefs as trace-cmd saved it): `(cpu, overrun, dropped)`.
pub fn parse_cpustat(text: &str) -> Option<(u32, Option<u64>, Option<u64>)> {
    let mut cpu = None;
    let (mut overrun, mut dropped) = (None, None);
    for line in text.lines() {
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        let v = v.trim();
        match k.trim() {
            "CPU" => cpu = v.parse().ok(),
            "overrun" => overrun = v.parse().ok(),
            "dropped events" => dropped = v.parse().ok(),
            _ => {}
        }
    }
    Some((cpu?, overrun, dropped))
}

/// [`analyze`], plus the file facts a report prints ([`TraceInfo`]), from the
/// same single pass over the records.
pub fn analyze_with_info(
    trace: &TraceDat<'_>,
    profile: Option<&Profile>,
    opts: &AnalyzeOptions,
) -> Result<(Analysis, TraceInfo), AnalyzeError> {
    let arch = opts
        .arch
        .clone()
        .or_else(|| trace.options.machine().map(str::to_string));
    let p = choose_profile(&trace.formats, arch.as_deref(), profile)?;
    let compiled = p.compile(&trace.formats, trace.endian);
    let mut o = opts.clone();
    for (pid, comm) in &trace.cmdlines {
        o.comms.entry(*pid).or_insert_with(|| comm.clone());
    }
    // The first pass (each task's first mm), then the replay as the
    // records come: nothing is kept per record.
    let mut engine = Engine::new(
        Box::new(first_seen(trace, &compiled)),
        &replay_options(&compiled, &o),
        compiled.provides(RoleKind::TlbFlushCompleted),
        false,
    );
    let mut ingest = Ingest::streaming(&compiled);
    let streams = trace
        .all_cpu_records()
        .into_iter()
        .map(|mut s| {
            crate::chunks::prefetch(&mut s);
            s
        })
        .collect();
    let mut errors = Vec::new();
    let mut lost: BTreeMap<(usize, Cpu), LostInfo> = BTreeMap::new();
    let stream_stats = crate::feed::feed(streams, &compiled, |item| match item {
        Fed::Record { ts, cpu, roles } => {
            if let Some(at) = ingest.push_roles(ts, cpu, roles) {
                for &(common_pid, role) in roles {
                    engine.push(&Event {
                        at,
                        common_pid,
                        role,
                    });
                }
            }
        }
        Fed::Lost(l) => {
            let e = lost.entry((l.buffer, l.cpu)).or_insert_with(|| LostInfo {
                cpu: l.cpu,
                buffer: trace
                    .buffers
                    .get(l.buffer)
                    .map_or_else(String::new, |b| b.name.clone()),
                pages: 0,
                events: 0,
                uncounted: false,
            });
            e.pages += 1;
            match l.count {
                Some(n) => e.events = e.events.saturating_add(n),
                None => e.uncounted = true,
            }
            ingest.push_lost(l.cpu, l.ts, l.count);
        }
        Fed::Error(e) => errors.push(format!("trace data: {e}")),
    });
    // A CPU whose ring buffer overran lost its oldest events: everything
    // before its first record is unknown on it (INV-7).
    // Instances' statistics follow the top buffer's: sum them per CPU.
    let mut stats: BTreeMap<u32, (Option<u64>, Option<u64>)> = BTreeMap::new();
    for (c, o, d) in trace
        .options
        .cpustats
        .iter()
        .filter_map(|t| parse_cpustat(t))
    {
        let e = stats.entry(c).or_insert((None, None));
        let add = |a: Option<u64>, b: Option<u64>| match (a, b) {
            (None, None) => None,
            (a, b) => Some(a.unwrap_or(0).saturating_add(b.unwrap_or(0))),
        };
        *e = (add(e.0, o), add(e.1, d));
    }
    let mut cpus = Vec::new();
    // Per CPU (summed over buffers): records, first and last timestamp.
    let mut per_cpu: BTreeMap<Cpu, (u64, u64, u64)> = BTreeMap::new();
    for st in &stream_stats {
        let (Some(cpu), Some(first), Some(last)) = (st.cpu, st.first_ts, st.max_ts) else {
            continue;
        };
        let e = per_cpu.entry(cpu).or_insert((0, first.0, last.0));
        *e = (e.0 + st.records, e.1.min(first.0), e.2.max(last.0));
    }
    let first_ts = per_cpu.values().map(|c| c.1).min();
    let last_ts = per_cpu.values().map(|c| c.2).max();
    let all: std::collections::BTreeSet<Cpu> = per_cpu
        .keys()
        .copied()
        .chain(stats.keys().map(|&c| Cpu(c)))
        .collect();
    for cpu in all {
        let (events, first, last) = per_cpu
            .get(&cpu)
            .map_or((0, None, None), |&(n, a, b)| (n, Some(a), Some(b)));
        let (overrun, dropped) = stats.get(&cpu.0).copied().unwrap_or((None, None));
        let starts_late = overrun.is_some_and(|n| n > 0);
        if starts_late {
            let to = first.or(last_ts).unwrap_or(0);
            ingest.push_lost_span(cpu, Timestamp(0), Timestamp(to), overrun);
        }
        cpus.push(CpuInfo {
            cpu,
            events,
            first_ts: first,
            last_ts: last,
            overrun,
            dropped,
            starts_late,
        });
    }
    let ingested = ingest.finish();
    let findings = engine.findings(ingested.last_ts);
    let mut a = conclude(findings, &ingested, &compiled);
    let clocks: std::collections::BTreeSet<&str> = trace
        .buffers
        .iter()
        .filter_map(|b| b.clock.as_deref())
        .collect();
    if clocks.len() > 1 {
        a.warnings.push(format!(
            "buffers use different clocks ({}): cross-buffer order may be wrong",
            clocks.into_iter().collect::<Vec<_>>().join(", ")
        ));
    }
    a.warnings.extend(errors.iter().cloned());
    let uname = trace.options.uname.clone();
    let info = TraceInfo {
        arch: trace.options.machine().map(str::to_string),
        kernel_release: uname
            .as_deref()
            .and_then(|u| u.split_whitespace().nth(2))
            .map(str::to_string),
        uname,
        trace_clock: trace
            .options
            .clock
            .clone()
            .or_else(|| trace.buffers.first().and_then(|b| b.clock.clone())),
        file_version: trace.version,
        endian: if trace.endian.is_big() {
            "big"
        } else {
            "little"
        },
        compression: trace.compression.name().to_string(),
        cpu_count: trace.cpu_count,
        buffers: trace.buffers.iter().map(|b| b.name.clone()).collect(),
        first_ts,
        last_ts,
        events: ingested.records,
        lost: lost.into_values().collect(),
        cpus,
        read_errors: trace
            .warnings
            .iter()
            .map(|w| w.to_string())
            .chain(errors)
            .collect(),
    };
    Ok((a, info))
}

/// The replay options an analysis with `profile` and `opts` uses: loads are
/// inferred when the profile maps no load or completion events.
pub fn replay_options(profile: &CompiledProfile, opts: &AnalyzeOptions) -> ReplayOptions {
    ReplayOptions {
        infer_loads: !profile.provides(RoleKind::MmLoaded)
            && !profile.provides(RoleKind::DeferredSwitchCompleted),
        comms: opts.comms.clone(),
    }
}

/// Analyses an already ingested trace.
pub fn analyze_ingested(
    trace: &IngestedTrace,
    profile: &CompiledProfile,
    opts: &AnalyzeOptions,
) -> Analysis {
    conclude(
        replay(trace, &replay_options(profile, opts)),
        trace,
        profile,
    )
}

/// The first pass over a trace.dat's records: each task's first mm
/// binding, every CPU stream read on its own, in parallel, decoding only
/// the events that can bind a task to an mm. Its size is bounded by the
/// number of tasks.
pub(crate) fn first_seen(trace: &TraceDat<'_>, profile: &CompiledProfile) -> FirstSeen {
    use mmrace_parsers::tracedat::{CpuRecords, Item};
    use rayon::prelude::*;
    let scan = |mut s: CpuRecords<'_>| {
        let mut f = FirstSeen::default();
        let mut got = Vec::new();
        s.for_each_item(|it| {
            let Ok(Item::Record(r)) = it else {
                return true;
            };
            if r.cpu.0 >= crate::ingest::MAX_CPU {
                return true;
            }
            // The merged index is not known in this pass: bindings of one
            // timestamp on two CPUs are ordered by CPU. (The index of such
            // an inferred binding is never shown.)
            let at = EventRef {
                ts: r.ts,
                index: EventIndex(u64::MAX),
                cpu: r.cpu,
            };
            // A task bound by an earlier record of this stream keeps that
            // binding (one of the same time may still give a larger mm).
            let known = |p| f.first(p).is_some_and(|a| a.ts != at.ts);
            got.clear();
            profile.classify_bindings(r.payload, known, |_, role| got.push(role));
            for role in &got {
                crate::replay::bindings(role, |p, m| f.offer(p, at, m));
            }
            true
        });
        f
    };
    let parts: Vec<FirstSeen> = trace.all_cpu_records().into_par_iter().map(scan).collect();
    parts.into_iter().fold(FirstSeen::default(), |mut a, b| {
        a.merge(b);
        a
    })
}

/// The analysis of a replay's findings: the INV-7 gate, the coverage and
/// the counters of `trace` (whose role events may not have been kept).
fn conclude(
    mut findings: Vec<Finding>,
    trace: &IngestedTrace,
    profile: &CompiledProfile,
) -> Analysis {
    apply_quality_gate(&mut findings, trace);
    let mut warnings: Vec<String> = profile
        .warnings()
        .iter()
        .map(|w| {
            format!(
                "profile rule {} ({}) left out: {}",
                w.rule, w.event, w.detail
            )
        })
        .collect();
    if trace.ignored_records > 0 {
        warnings.push(format!(
            "{} records of CPUs numbered {} or more were ignored",
            trace.ignored_records,
            crate::ingest::MAX_CPU
        ));
    }
    Analysis {
        profile: profile.name().to_string(),
        findings,
        coverage: coverage(profile, trace),
        stats: Stats {
            records: trace.records,
            roles: RoleKind::ALL
                .iter()
                .map(|&k| (k, trace.role_counts[k.index()]))
                .filter(|(_, n)| *n > 0)
                .collect(),
            cpus: trace.cpus.len(),
        },
        warnings,
    }
}

#[cfg(test)]
mod cpustat_tests {
    use super::parse_cpustat;

    #[test]
    fn reads_the_counters_of_a_stats_file() {
        let t = "CPU: 1\nentries: 0\noverrun: 17\ncommit overrun: 0\nbytes: 0\n\
                 oldest event ts:  1913.369872\nnow ts:  1913.371207\ndropped events: 3\nread events: 5609\n";
        assert_eq!(parse_cpustat(t), Some((1, Some(17), Some(3))));
        assert_eq!(parse_cpustat("\nBuffer: mm\n\n"), None);
        assert_eq!(parse_cpustat("CPU: x\noverrun: 1\n"), None);
    }
}

#[cfg(test)]
pub(crate) mod first_pass_tests {
    use super::*;
    use mmrace_parsers::tracedat::{Item, TraceDat};

    /// The first pass over a stream with every binding role built and
    /// offered: what [`first_seen`] must give while it passes over the
    /// records of tasks it already knows.
    pub(crate) fn reference(trace: &TraceDat<'_>, profile: &CompiledProfile) -> FirstSeen {
        let mut all = FirstSeen::default();
        for mut s in trace.all_cpu_records() {
            let mut f = FirstSeen::default();
            while let Some(it) = s.next_item() {
                let Ok(Item::Record(r)) = it else { continue };
                if r.cpu.0 >= crate::ingest::MAX_CPU {
                    continue;
                }
                let at = EventRef {
                    ts: r.ts,
                    index: EventIndex(u64::MAX),
                    cpu: r.cpu,
                };
                profile.classify(r.payload, |_, role| {
                    crate::replay::bindings(&role, |p, m| f.offer(p, at, m));
                });
            }
            all.merge(f);
        }
        all
    }

    /// On every real fixture under every built-in profile, and on generated
    /// big-trace samples (`synth --size`: tasks bound by `mmctx:switch`
    /// with both mms, and forked all the time). A task bound twice at one
    /// time: `synth::tests`.
    #[test]
    fn first_pass_passing_over_known_tasks_equals_offering_every_binding() {
        let mut traces = crate::testing::fixture_traces();
        let fixtures = traces.len();
        for cpus in [2, 3] {
            let mut o = crate::synth::BulkOptions::new(1 << 20);
            o.cpus = cpus;
            let (c, _) = crate::synth::write_bulk(&o, std::io::Cursor::new(Vec::new())).unwrap();
            traces.push((
                format!("synth --size 1MiB --cpus {cpus}").into(),
                c.into_inner(),
            ));
        }
        let (mut files, mut bound) = (0, 0);
        for (path, data) in traces {
            let Ok(trace) = TraceDat::parse(&data) else {
                continue;
            };
            files += 1;
            for p in crate::profile::builtins() {
                let c = p.compile(&trace.formats, trace.endian);
                let want = reference(&trace, &c);
                assert_eq!(first_seen(&trace, &c), want, "{}", path.display());
                bound += usize::from(want != FirstSeen::default());
            }
        }
        assert!(fixtures >= 20 && files == fixtures + 2, "{files} traces");
        assert!(bound > 0, "no trace binds a task");
    }
}
