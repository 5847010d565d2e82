//! The analysis of a perf.data file: the same ingest, replay and gate as a
//! trace.dat, fed from perf's tracepoint samples.

use std::collections::{BTreeMap, BTreeSet};

use mmrace_parsers::perf::{PERF_TYPE_TRACEPOINT, PerfData, PerfRecord, Sample};
use mmrace_parsers::types::{Cpu, Pid, Timestamp};

use super::{Analysis, AnalyzeError, AnalyzeOptions, CpuInfo, LostInfo, TraceInfo};
use super::{analyze_ingested, choose_profile};
use crate::ingest::{Ingest, IngestedTrace, MAX_CPU};
use crate::profile::{CompiledProfile, Profile};

/// What else a caller sees of the one pass
/// [`analyze_perf_observed`] makes over a perf.data file (the TUI's index,
/// [`crate::browse`], renders its lines and builds its lanes from it). The
/// methods do nothing by default; `()` observes nothing.
pub trait PerfObserver {
    /// Each readable record, in perf's time order.
    fn record(&mut self, _rec: &PerfRecord<'_>) {}

    /// Each tracepoint sample the analysis ingests, after its
    /// [`PerfObserver::record`]: its event index (the
    /// [`crate::model::EventIndex`] of the findings) and the time the
    /// analysis gives it.
    fn tracepoint(&mut self, _index: u64, _sample: &Sample<'_>, _ts: Timestamp) {}

    /// Every record was read: the ingested trace, its profile and the
    /// options (task names included) the analysis will use next.
    fn ingested(
        &mut self,
        _trace: &IngestedTrace,
        _profile: &CompiledProfile,
        _opts: &AnalyzeOptions,
    ) {
    }
}

impl PerfObserver for () {}

/// Analyses a perf.data file, as [`super::analyze_with_info`] does a
/// trace.dat: the profile is `profile` or the best built-in for the
/// tracing data's event formats and the file's ARCH feature; the
/// tracepoint samples (`PERF_SAMPLE_RAW`) are ingested in perf's time
/// order (round by round); their pid and tid tell each task's thread group
/// (threads of one group share an mm), as do FORK and COMM records; COMM
/// records and the saved cmdlines name the tasks; LOST and LOST_SAMPLES
/// records mark their CPU's window suspect (every CPU when the record names
/// none); read errors become warnings, after the records before them.
///
/// The [`TraceInfo`] comes from the perf header: ARCH, OSRELEASE (as the
/// kernel release), NRCPUS (online, else available), the sample clock
/// (`perf`, perf's local clock in ns, unless the events use `-k CLOCKID`),
/// `file_version` 2 (`PERFILE2`), the byte order of the magic, no
/// compression, one unnamed buffer.
pub fn analyze_perf_with_info(
    perf: &PerfData<'_>,
    profile: Option<&Profile>,
    opts: &AnalyzeOptions,
) -> Result<(Analysis, TraceInfo), AnalyzeError> {
    analyze_perf_observed(perf, profile, opts, &mut ())
}

/// [`analyze_perf_with_info`], showing `observer` the records as they are
/// read and the ingested trace before the cross-CPU analysis.
pub fn analyze_perf_observed(
    perf: &PerfData<'_>,
    profile: Option<&Profile>,
    opts: &AnalyzeOptions,
    observer: &mut dyn PerfObserver,
) -> Result<(Analysis, TraceInfo), AnalyzeError> {
    let tracing = perf.tracing.as_ref().ok_or(AnalyzeError::NoTracingData)?;
    let arch = opts.arch.clone().or_else(|| perf.features.arch.clone());
    let p = choose_profile(&tracing.formats, arch.as_deref(), profile)?;
    let compiled = p.compile(&tracing.formats, tracing.endian);
    let mut ingest = Ingest::new(&compiled);
    let mut comms: BTreeMap<Pid, String> = BTreeMap::new();
    let mut errors = Vec::new();
    let mut first_ts: Option<u64> = None;
    let mut last_ts = Timestamp(0);
    let mut cpus: BTreeSet<Cpu> = BTreeSet::new();
    // Per CPU: samples, first and last timestamp.
    let mut per_cpu: BTreeMap<Cpu, (u64, u64, u64)> = BTreeMap::new();
    let mut lost: BTreeMap<Cpu, LostInfo> = BTreeMap::new();
    let mut untimed = 0u64;
    let mut index = 0u64;
    let nr_cpus = perf
        .features
        .nr_cpus_online
        .or(perf.features.nr_cpus_available)
        .unwrap_or(0)
        .min(MAX_CPU);
    for rec in perf.sorted_records() {
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                errors.push(format!("perf data: {e}"));
                continue;
            }
        };
        let ts = rec.time().unwrap_or(last_ts);
        observer.record(&rec);
        match rec {
            PerfRecord::Sample(s) => {
                let Some(raw) = s
                    .raw
                    .filter(|_| perf.attrs[s.attr].kind == PERF_TYPE_TRACEPOINT)
                else {
                    continue;
                };
                if s.time.is_none() || s.cpu.is_none() {
                    untimed += 1;
                }
                let cpu = s.cpu.unwrap_or(Cpu(0));
                cpus.insert(cpu);
                let c = per_cpu.entry(cpu).or_insert((0, ts.0, ts.0));
                c.0 += 1;
                c.2 = c.2.max(ts.0);
                first_ts.get_or_insert(ts.0);
                last_ts = last_ts.max(ts);
                if let Some(tgid) = s.pid {
                    // An exiting thread's sample has tid -1: its
                    // common_pid still names it.
                    let tid = s
                        .tid
                        .filter(|t| t.0 > 0)
                        .or_else(|| tracing.record_pid(raw));
                    if let Some(tid) = tid {
                        ingest.push_thread_group(ts, tid, tgid);
                    }
                }
                observer.tracepoint(index, &s, ts);
                index += 1;
                ingest.push_record(ts, cpu, raw);
            }
            PerfRecord::Comm(c) => {
                comms.insert(c.tid, String::from_utf8_lossy(c.comm).into_owned());
                ingest.push_thread_group(ts, c.tid, c.pid);
            }
            PerfRecord::Fork(f) => ingest.push_thread_group(ts, f.tid, f.pid),
            PerfRecord::Lost(l) => {
                let at = l.sample_id.cpu;
                note_lost(&mut ingest, &mut lost, &cpus, nr_cpus, at, ts, l.lost);
            }
            PerfRecord::LostSamples(l) => {
                let at = l.sample_id.cpu;
                note_lost(&mut ingest, &mut lost, &cpus, nr_cpus, at, ts, l.lost);
            }
            _ => {}
        }
    }
    let mut o = opts.clone();
    for (pid, comm) in comms {
        o.comms.entry(pid).or_insert(comm);
    }
    for (pid, comm) in &tracing.cmdlines {
        o.comms.entry(*pid).or_insert_with(|| comm.clone());
    }
    let ingested = ingest.finish();
    observer.ingested(&ingested, &compiled, &o);
    let mut a = analyze_ingested(&ingested, &compiled, &o);
    if untimed > 0 {
        a.warnings.push(format!(
            "{untimed} samples carry no time or CPU (record with perf record -T and -a): \
             their order and CPU are guessed"
        ));
    }
    a.warnings.extend(errors.iter().cloned());
    let clock = perf
        .attrs
        .iter()
        .find(|x| x.flags.use_clockid())
        .map_or_else(|| "perf".to_string(), |x| clock_name(x.clockid));
    let info = TraceInfo {
        arch: perf.features.arch.clone(),
        kernel_release: perf.features.osrelease.clone(),
        uname: None,
        trace_clock: Some(clock),
        file_version: 2,
        endian: if perf.endian.is_big() {
            "big"
        } else {
            "little"
        },
        compression: "none".to_string(),
        cpu_count: perf
            .features
            .nr_cpus_online
            .or(perf.features.nr_cpus_available)
            .unwrap_or(cpus.len() as u32),
        buffers: vec![String::new()],
        first_ts,
        last_ts: first_ts.map(|_| last_ts.0),
        events: ingested.records,
        lost: lost.into_values().collect(),
        cpus: per_cpu
            .into_iter()
            .map(|(cpu, (events, first, last))| CpuInfo {
                cpu,
                events,
                first_ts: Some(first),
                last_ts: Some(last),
                overrun: None,
                dropped: None,
                starts_late: false,
            })
            .collect(),
        read_errors: perf
            .warnings
            .iter()
            .map(|w| w.to_string())
            .chain(errors)
            .collect(),
    };
    Ok((a, info))
}

/// A loss on `cpu` (on every CPU known when the record names none).
fn note_lost(
    ingest: &mut Ingest<'_>,
    lost: &mut BTreeMap<Cpu, LostInfo>,
    seen: &BTreeSet<Cpu>,
    nr_cpus: u32,
    cpu: Option<Cpu>,
    ts: Timestamp,
    count: u64,
) {
    let targets: BTreeSet<Cpu> = match cpu {
        Some(c) => [c].into(),
        None => seen.iter().copied().chain((0..nr_cpus).map(Cpu)).collect(),
    };
    for c in targets {
        let e = lost.entry(c).or_insert_with(|| LostInfo {
            cpu: c,
            buffer: String::new(),
            pages: 0,
            events: 0,
            uncounted: false,
        });
        e.pages += 1;
        e.events = e.events.saturating_add(count);
        ingest.push_lost(c, ts, Some(count));
    }
}

/// The name of a `clockid_t` as trace-cmd names trace clocks.
fn clock_name(id: i32) -> String {
    match id {
        0 => "realtime".into(),
        1 => "mono".into(),
        4 => "mono_raw".into(),
        7 => "boot".into(),
        11 => "tai".into(),
        n => format!("clockid {n}"),
    }
}
