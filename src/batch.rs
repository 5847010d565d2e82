//! Analysing files for the command line: expanding the inputs (files,
//! directories, globs), analysing each file (in parallel, output in input
//! order whatever the thread count), and gathering what a report prints about
//! each file ([`FileReport`]).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use mmrace_parsers::report::{LineMode, ReportPrinter};
use mmrace_parsers::tracedat::{Item, TraceDat};
use rayon::prelude::*;
use serde::Serialize;

use crate::analysis::analyze_perf_with_info;
use crate::analysis::{Analysis, AnalyzeOptions, TraceInfo, analyze_with_info, choose_profile};
use crate::finding::Finding;
use crate::ingest::Ingest;
use crate::input::{FileKind, Input};
use crate::model::DeferKind;
use crate::profile::Profile;
use crate::report::svg::{CpuLane, Mark, Picture, Segment};
use crate::timeline::{MarkKind, MmProvenance, Timeline};
use mmrace_parsers::perf::PerfData;
use mmrace_parsers::types::{Cpu, Timestamp};

/// How a file fared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FileStatus {
    /// Read completely and analysed.
    Ok,
    /// Analysed up to damage in the file (what was readable is reported).
    Damaged,
    /// Not analysed: unreadable, not a trace, or no profile fits.
    Error,
}

/// Everything a report says about one input file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileReport {
    /// The path as given (or as found under a directory).
    pub path: String,
    /// The file kind, when recognised.
    pub kind: Option<FileKind>,
    /// How it fared.
    pub status: FileStatus,
    /// Why it is [`FileStatus::Error`] or [`FileStatus::Damaged`]: the errors
    /// met, each naming the byte offset (and CPU) where it could.
    pub errors: Vec<String>,
    /// Facts about the file.
    pub info: Option<TraceInfo>,
    /// The analysis.
    pub analysis: Option<Analysis>,
    /// The `trace-cmd report` line of every event a finding cites (cause
    /// chains, window bounds), by merged-stream index.
    pub event_lines: BTreeMap<u64, String>,
    /// Per finding (same order as the analysis's findings): accepted by the
    /// baseline.
    pub baselined: Vec<bool>,
    /// Per finding: the per-CPU lanes around its window (HTML report only).
    pub pictures: Vec<Option<crate::report::svg::Picture>>,
}

impl FileReport {
    fn error(path: String, kind: Option<FileKind>, msg: String) -> FileReport {
        FileReport {
            path,
            kind,
            status: FileStatus::Error,
            errors: vec![msg],
            info: None,
            analysis: None,
            event_lines: BTreeMap::new(),
            baselined: Vec::new(),
            pictures: Vec::new(),
        }
    }

    /// A file that was analysed: damaged when reading it met errors.
    fn analysed(
        path: String,
        kind: Option<FileKind>,
        analysis: Analysis,
        info: TraceInfo,
        event_lines: BTreeMap<u64, String>,
        pictures: Vec<Option<Picture>>,
    ) -> FileReport {
        let status = if info.read_errors.is_empty() {
            FileStatus::Ok
        } else {
            FileStatus::Damaged
        };
        FileReport {
            path,
            kind,
            status,
            errors: info.read_errors.clone(),
            baselined: vec![false; analysis.findings.len()],
            info: Some(info),
            analysis: Some(analysis),
            event_lines,
            pictures,
        }
    }

    /// The findings (none when the file was not analysed).
    pub fn findings(&self) -> &[crate::finding::Finding] {
        self.analysis.as_ref().map_or(&[], |a| &a.findings)
    }
}

/// Options of a batch run.
#[derive(Debug, Clone, Default)]
pub struct BatchOptions {
    /// A user profile (`--profile FILE`) instead of the built-in choice.
    pub profile: Option<Profile>,
    /// The traced machine (`uname -m`) when the file does not say.
    pub arch: Option<String>,
    /// Read files into memory instead of mapping them.
    pub no_mmap: bool,
    /// Build the per-CPU lane pictures of each finding (HTML report).
    pub pictures: bool,
}

/// Expands command-line inputs: a file is taken as is; a directory is walked
/// recursively and every file in it whose first bytes are a trace's magic is
/// taken (sorted by path); anything else is read as a glob pattern (sorted
/// matches; a pattern that matches nothing is an error).
pub fn expand_inputs(args: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    for a in args {
        if a.is_dir() {
            let mut found: Vec<PathBuf> = walkdir::WalkDir::new(a)
                .follow_links(false)
                .into_iter()
                .filter_map(Result::ok)
                .filter(|e| e.file_type().is_file())
                .map(|e| e.into_path())
                .filter(|p| FileKind::of_path(p).is_some())
                .collect();
            found.sort();
            if found.is_empty() {
                return Err(format!("{}: no trace files in this directory", a.display()));
            }
            out.extend(found);
        } else if a.exists() {
            out.push(a.clone());
        } else {
            let pat = a.to_string_lossy();
            let paths = glob::glob(&pat).map_err(|e| format!("{pat}: {e}"))?;
            let mut found: Vec<PathBuf> = paths.filter_map(Result::ok).collect();
            found.sort();
            if found.is_empty() {
                return Err(format!("{pat}: no such file, and no file matches it"));
            }
            for p in found {
                if p.is_dir() {
                    out.extend(expand_inputs(&[p])?);
                } else {
                    out.push(p);
                }
            }
        }
    }
    Ok(out)
}

/// Analyses every file, in parallel on rayon's current pool; the reports
/// come back in the order of `paths`.
pub fn analyze_files(paths: &[PathBuf], opts: &BatchOptions) -> Vec<FileReport> {
    analyze_files_with_progress(paths, opts, &|| {})
}

/// [`analyze_files`], calling `done` after each file.
pub fn analyze_files_with_progress(
    paths: &[PathBuf],
    opts: &BatchOptions,
    done: &(dyn Fn() + Sync),
) -> Vec<FileReport> {
    paths
        .par_iter()
        .map(|p| {
            let r = analyze_file(p, opts);
            done();
            r
        })
        .collect()
}

/// Analyses one file.
pub fn analyze_file(path: &Path, opts: &BatchOptions) -> FileReport {
    let name = path.display().to_string();
    let input = match Input::open(path, opts.no_mmap) {
        Ok(i) => i,
        Err(e) => return FileReport::error(name, None, e.to_string()),
    };
    let kind = FileKind::detect(&input);
    match kind {
        Some(FileKind::TraceDat) => analyze_tracedat(name, &input, opts),
        Some(FileKind::PerfData) => analyze_perf(name, &input, opts),
        None => FileReport::error(
            name,
            None,
            "at byte offset 0 (0x0): not a trace.dat or perf.data file (unknown magic)".to_string(),
        ),
    }
}

fn analyze_tracedat(name: String, bytes: &[u8], opts: &BatchOptions) -> FileReport {
    let kind = Some(FileKind::TraceDat);
    let trace = match TraceDat::parse(bytes) {
        Ok(t) => t,
        Err(e) => return FileReport::error(name, kind, e.to_string()),
    };
    let aopts = AnalyzeOptions {
        arch: opts.arch.clone(),
        ..AnalyzeOptions::default()
    };
    let (analysis, info) = match analyze_with_info(&trace, opts.profile.as_ref(), &aopts) {
        Ok(r) => r,
        Err(e) => return FileReport::error(name, kind, e.to_string()),
    };
    let wanted = cited_indices(&analysis);
    let event_lines = event_lines(&trace, &wanted);
    let pictures = if opts.pictures && !analysis.findings.is_empty() {
        let timeline = timeline_of(&trace, opts, &aopts);
        analysis
            .findings
            .iter()
            .map(|f| timeline.as_ref().map(|t| picture(t, f)))
            .collect()
    } else {
        Vec::new()
    };
    FileReport::analysed(name, kind, analysis, info, event_lines, pictures)
}

fn analyze_perf(name: String, bytes: &[u8], opts: &BatchOptions) -> FileReport {
    let kind = Some(FileKind::PerfData);
    let perf = match PerfData::parse(bytes) {
        Ok(p) => p,
        Err(e) => return FileReport::error(name, kind, e.to_string()),
    };
    let aopts = AnalyzeOptions {
        arch: opts.arch.clone(),
        ..AnalyzeOptions::default()
    };
    let (analysis, info) = match analyze_perf_with_info(&perf, opts.profile.as_ref(), &aopts) {
        Ok(r) => r,
        Err(e) => return FileReport::error(name, kind, e.to_string()),
    };
    let event_lines = crate::dump::perf_sample_lines(&perf, &cited_indices(&analysis));
    FileReport::analysed(name, kind, analysis, info, event_lines, Vec::new())
}

/// The merged-stream indices of the events the findings cite: cause
/// chains and window bounds.
fn cited_indices(a: &Analysis) -> BTreeSet<u64> {
    a.findings
        .iter()
        .flat_map(|f| {
            f.cause_chain
                .iter()
                .map(|c| c.at.index.0)
                .chain([f.window.start.index.0])
                .chain(f.window.end.map(|e| e.index.0))
        })
        .collect()
}

/// The per-CPU lanes of a whole trace (a second pass over the records, as
/// the analysis read them).
fn timeline_of(
    trace: &TraceDat<'_>,
    opts: &BatchOptions,
    aopts: &AnalyzeOptions,
) -> Option<Timeline> {
    let mut o = aopts.clone();
    o.arch = o
        .arch
        .or_else(|| trace.options.machine().map(str::to_string));
    for (pid, comm) in &trace.cmdlines {
        o.comms.entry(*pid).or_insert_with(|| comm.clone());
    }
    let p = choose_profile(&trace.formats, o.arch.as_deref(), opts.profile.as_ref()).ok()?;
    let compiled = p.compile(&trace.formats, trace.endian);
    let mut ingest = Ingest::new(&compiled);
    let mut m = crate::chunks::merged_records(trace);
    while let Some(item) = m.next_item() {
        match item {
            Ok(Item::Record(r)) => ingest.push_record(r.ts, r.cpu, r.payload),
            Ok(Item::Lost(l)) => ingest.push_lost(l.cpu, l.ts, l.count),
            Err(_) => {}
        }
    }
    Some(Timeline::for_analysis(&ingest.finish(), &compiled, &o))
}

/// Most marks drawn per lane in a picture.
const MAX_MARKS_PER_LANE: usize = 400;
/// Most CPUs drawn in a picture (the finding's CPUs always are).
const MAX_LANES: usize = 8;

/// The picture of one finding: every CPU (or, on big machines, the CPUs the
/// finding and its cause chain name) from a little before the first event of
/// its cause chain to a little after its window.
pub fn picture(t: &Timeline, f: &Finding) -> Picture {
    let first = f
        .cause_chain
        .first()
        .map_or(f.window.start.ts, |c| c.at.ts)
        .min(f.window.start.ts);
    let last = f.window.end_ts.max(f.window.start.ts);
    let margin = ((last.0 - first.0) / 8).max(1_000);
    let (from, to) = (
        first.0.saturating_sub(margin),
        last.0.saturating_add(margin),
    );
    let mut cpus: BTreeSet<Cpu> = t.lanes.iter().map(|l| l.cpu).collect();
    if cpus.len() > MAX_LANES {
        cpus = f
            .cause_chain
            .iter()
            .map(|c| c.at.cpu)
            .chain([f.cpu])
            .chain(f.other_cpu)
            .collect();
    }
    let label = |pid: Option<i32>| match pid {
        Some(p) => match t.comm(p) {
            Some(c) => format!("{c}-{p}"),
            None => format!("pid {p}"),
        },
        None => "?".to_string(),
    };
    let lanes = cpus
        .iter()
        .filter_map(|&c| t.lane(c))
        .map(|l| {
            let l = l.slice(Timestamp(from), Timestamp(to));
            CpuLane {
                cpu: l.cpu.0,
                tasks: l
                    .tasks
                    .iter()
                    .map(|s| Segment {
                        from: s.start.0,
                        to: s.end.0,
                        label: label(s.pid),
                        mm: s.mm.map_or(0, |m| m.0),
                        inferred: !s.mm_observed,
                    })
                    .collect(),
                loaded: l
                    .loaded
                    .iter()
                    .map(|s| Segment {
                        from: s.start.0,
                        to: s.end.0,
                        label: s
                            .mm
                            .map_or_else(|| "unknown".to_string(), |m| m.to_string()),
                        mm: s.mm.map_or(0, |m| m.0),
                        inferred: s.provenance != Some(MmProvenance::Observed),
                    })
                    .collect(),
                marks: l
                    .marks
                    .iter()
                    .take(MAX_MARKS_PER_LANE)
                    .map(|m| Mark {
                        ts: m.ts.0,
                        kind: mark_kind(&m.kind).to_string(),
                        title: mark_title(m),
                    })
                    .collect(),
            }
        })
        .collect();
    Picture {
        from,
        to,
        window: (f.window.start.ts.0, f.window.end_ts.0),
        cpu: f.cpu.0,
        lanes,
    }
}

fn mark_kind(k: &MarkKind) -> &'static str {
    match k {
        MarkKind::ReturnToUser { .. } => "user",
        MarkKind::SwitchRequested {
            deferred: DeferKind::None,
            ..
        } => "switch-request",
        MarkKind::SwitchRequested { .. } => "deferral",
        MarkKind::DeferredSwitchCompleted { .. } => "deferred-done",
        MarkKind::FlushRequested { .. } | MarkKind::FlushBegin { .. } => "flush-request",
        MarkKind::FlushDeferred { .. } => "flush-deferred",
        MarkKind::FlushCompleted { .. } => "flush-done",
        MarkKind::PteUpdateBegin { .. } | MarkKind::PteUpdateEnd { .. } => "pte",
        MarkKind::Lost { .. } => "lost",
    }
}

fn mark_title(m: &crate::timeline::Mark) -> String {
    let at = crate::report::fmt_ts(m.ts);
    let what = match &m.kind {
        MarkKind::ReturnToUser { pid } => format!("return to user, pid {pid}"),
        MarkKind::SwitchRequested { mm, deferred } => {
            format!(
                "switch to mm {mm} requested (deferred: {})",
                deferred.name()
            )
        }
        MarkKind::DeferredSwitchCompleted { mm } => format!("deferred switch to {mm} completed"),
        MarkKind::FlushRequested { mm } => format!("TLB flush of {mm} requested"),
        MarkKind::FlushDeferred { mm } => format!("TLB flush of {mm} deferred"),
        MarkKind::FlushBegin { mm } => format!("TLB flush of {mm} begins"),
        MarkKind::FlushCompleted { mm, all_cpus } => {
            format!(
                "TLB flush of {mm} completed{}",
                if *all_cpus { " (all CPUs)" } else { "" }
            )
        }
        MarkKind::PteUpdateBegin { mm, addr, lazy } => {
            format!(
                "PTE update of {mm} at {addr:#x} begins{}",
                if *lazy { " (lazy)" } else { "" }
            )
        }
        MarkKind::PteUpdateEnd { mm, addr } => format!("PTE update of {mm} at {addr:#x} ends"),
        MarkKind::Lost { count, .. } => match count {
            Some(n) => format!("{n} events lost"),
            None => "events lost".to_string(),
        },
    };
    format!("{at} {what}")
}

/// The `trace-cmd report` lines of the records at the given merged-stream
/// indices (the index counts every record of every buffer in time order, as
/// the analysis does). Reads the file only as far as the last wanted index.
pub fn event_lines(trace: &TraceDat<'_>, wanted: &BTreeSet<u64>) -> BTreeMap<u64, String> {
    let mut out = BTreeMap::new();
    let Some(&last) = wanted.last() else {
        return out;
    };
    let mut p = ReportPrinter::new(trace);
    let mut m = crate::chunks::merged_records(trace);
    let mut index = 0u64;
    while let Some(item) = m.next_item() {
        if let Ok(Item::Record(r)) = item {
            if wanted.contains(&index) {
                out.insert(index, p.line(&r, LineMode::Pretty));
            }
            if index == last {
                break;
            }
            index += 1;
        }
    }
    out
}
