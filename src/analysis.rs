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
use mmrace_parsers::tracedat::{Item, MergedRecords, TraceDat};
use mmrace_parsers::types::{Cpu, Pid, Timestamp};
use serde::Serialize;

use crate::detect::{Coverage, apply_quality_gate, coverage};
use crate::finding::Finding;
use crate::ingest::{Ingest, IngestedTrace};
use crate::model::RoleKind;
use crate::profile::{CompiledProfile, EventName, Profile, select_builtin};
use crate::replay::{ReplayOptions, replay};

/// Options of an analysis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnalyzeOptions {
    /// Replay CPUs in parallel (rayon's current pool; wrap the call in
    /// `ThreadPool::install` to bound the threads).
    pub parallel: bool,
    /// The traced machine (`uname -m`), for built-in profile selection.
    pub arch: Option<String>,
    /// Task names from the trace's saved cmdlines.
    pub comms: BTreeMap<Pid, String>,
}

impl Default for AnalyzeOptions {
    fn default() -> Self {
        AnalyzeOptions {
            parallel: true,
            arch: None,
            comms: BTreeMap::new(),
        }
    }
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
    let p = choose_profile(formats, opts.arch.as_deref(), profile)?;
    let compiled = p.compile(formats, endian);
    let mut ingest = Ingest::new(&compiled);
    for it in items {
        match it {
            TraceItem::Record { ts, cpu, payload } => ingest.push_record(ts, cpu, payload),
            TraceItem::Lost { cpu, ts, count } => ingest.push_lost(cpu, ts, count),
        }
    }
    Ok(analyze_ingested(&ingest.finish(), &compiled, opts))
}

/// Analyses the top buffer of a parsed trace.dat: the profile is `profile`
/// or the best built-in for the file's events and machine (`uname`); saved
/// cmdlines name the tasks; lost-events pages mark windows suspect; per-CPU
/// read errors become warnings (the records before them are analysed).
pub fn analyze(
    trace: &TraceDat<'_>,
    profile: Option<&Profile>,
    opts: &AnalyzeOptions,
) -> Result<Analysis, AnalyzeError> {
    let arch = opts
        .arch
        .clone()
        .or_else(|| trace.options.machine().map(str::to_string));
    let p = choose_profile(&trace.formats, arch.as_deref(), profile)?;
    let compiled = p.compile(&trace.formats, trace.endian);
    let mut ingest = Ingest::new(&compiled);
    let ncpu = trace.buffers.first().map_or(0, |b| b.cpus.len());
    let streams = (0..ncpu)
        .filter_map(|i| trace.cpu_records(0, i))
        .map(|mut s| {
            crate::chunks::prefetch(&mut s);
            s
        })
        .collect();
    let mut merged = MergedRecords::new(streams);
    let mut errors = Vec::new();
    while let Some(item) = merged.next_item() {
        match item {
            Ok(Item::Record(r)) => ingest.push_record(r.ts, r.cpu, r.payload),
            Ok(Item::Lost(l)) => ingest.push_lost(l.cpu, l.ts, l.count),
            Err(e) => errors.push(format!("trace data: {e}")),
        }
    }
    let mut o = opts.clone();
    for (pid, comm) in &trace.cmdlines {
        o.comms.entry(*pid).or_insert_with(|| comm.clone());
    }
    let mut a = analyze_ingested(&ingest.finish(), &compiled, &o);
    if trace.buffers.len() > 1 {
        a.warnings.push(format!(
            "{} instance buffers were not analysed (top buffer only)",
            trace.buffers.len() - 1
        ));
    }
    a.warnings.extend(errors);
    Ok(a)
}

/// Analyses an already ingested trace.
pub fn analyze_ingested(
    trace: &IngestedTrace,
    profile: &CompiledProfile,
    opts: &AnalyzeOptions,
) -> Analysis {
    let ropts = ReplayOptions {
        parallel: opts.parallel,
        infer_loads: !profile.provides(RoleKind::MmLoaded)
            && !profile.provides(RoleKind::DeferredSwitchCompleted),
        comms: opts.comms.clone(),
    };
    let mut findings = replay(trace, &ropts);
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
