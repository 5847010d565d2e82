//! Reports of a batch of analysed files, in every output format: the human
//! summary of `mmrace analyze` ([`text`]), JSON and JSON Lines ([`json`]),
//! Markdown ([`markdown`]), JUnit XML ([`junit`]) and a self-contained HTML
//! page ([`html`]). Every format renders the same [`FileReport`]s in the same
//! order; the exit code follows from them and `--fail-on` ([`FailOn`]).

pub mod html;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod svg;
pub mod text;

use std::fmt::Write as _;

use crate::batch::{FileReport, FileStatus};
use crate::finding::{Confidence, Finding};
use mmrace_parsers::types::Timestamp;

/// Which findings make the run fail (exit code 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FailOn {
    /// Findings whose every state value was observed (the default).
    #[default]
    Observed,
    /// Observed or inferred findings.
    Inferred,
    /// Any finding, suspect ones included.
    Any,
    /// Never fail on findings (errors still exit 2).
    Never,
}

impl FailOn {
    /// Whether a finding of this confidence fails the run.
    pub fn fails(self, c: Confidence) -> bool {
        match self {
            FailOn::Observed => c == Confidence::Observed,
            FailOn::Inferred => c <= Confidence::Inferred,
            FailOn::Any => true,
            FailOn::Never => false,
        }
    }
}

/// Exit code 0: no failing finding, every file read.
pub const EXIT_OK: u8 = 0;
/// Exit code 1: findings at or above `--fail-on` (not accepted by a baseline).
pub const EXIT_FINDINGS: u8 = 1;
/// Exit code 2: an error (unreadable or damaged file, bad arguments).
pub const EXIT_ERROR: u8 = 2;

/// Whether a finding fails the run: at or above `fail_on` and not accepted
/// by the baseline.
pub fn is_failing(f: &FileReport, i: usize, fail_on: FailOn) -> bool {
    let finding = &f.findings()[i];
    fail_on.fails(finding.confidence) && !f.baselined.get(i).copied().unwrap_or(false)
}

/// The exit code of a run: 2 if any file could not be read completely, else
/// 1 if any finding fails the run, else 0.
pub fn exit_code(files: &[FileReport], fail_on: FailOn) -> u8 {
    if files.iter().any(|f| f.status != FileStatus::Ok) {
        return EXIT_ERROR;
    }
    let failing = files
        .iter()
        .any(|f| (0..f.findings().len()).any(|i| is_failing(f, i, fail_on)));
    if failing { EXIT_FINDINGS } else { EXIT_OK }
}

/// Counts over a run: (findings, failing findings, files not read
/// completely).
pub fn totals(files: &[FileReport], fail_on: FailOn) -> (usize, usize, usize) {
    let findings = files.iter().map(|f| f.findings().len()).sum();
    let failing = files
        .iter()
        .map(|f| {
            (0..f.findings().len())
                .filter(|&i| is_failing(f, i, fail_on))
                .count()
        })
        .sum();
    let bad = files.iter().filter(|f| f.status != FileStatus::Ok).count();
    (findings, failing, bad)
}

/// The one-word verdict of an exit code.
pub fn verdict(code: u8) -> &'static str {
    match code {
        EXIT_OK => "no failing finding",
        EXIT_FINDINGS => "findings",
        _ => "unreadable or damaged input",
    }
}

/// A timestamp as `trace-cmd report -t` prints it: seconds and nanoseconds.
pub fn fmt_ts(t: Timestamp) -> String {
    format!("{}.{:09}", t.0 / 1_000_000_000, t.0 % 1_000_000_000)
}

/// A duration in ns with a unit fit for a human (`12.345 us`).
pub fn fmt_duration(ns: u64) -> String {
    if ns < 1_000 {
        format!("{ns} ns")
    } else if ns < 1_000_000 {
        format!("{:.3} us", ns as f64 / 1e3)
    } else if ns < 1_000_000_000 {
        format!("{:.3} ms", ns as f64 / 1e6)
    } else {
        format!("{:.3} s", ns as f64 / 1e9)
    }
}

/// The window of a finding as text: `start .. end (duration)`, with `end of
/// trace` when it never closed.
pub fn fmt_window(f: &Finding) -> String {
    let w = &f.window;
    let end = if w.end.is_some() {
        fmt_ts(w.end_ts)
    } else {
        format!("{} (end of trace)", fmt_ts(w.end_ts))
    };
    format!(
        "{} .. {} ({})",
        fmt_ts(w.start.ts),
        end,
        fmt_duration(w.end_ts.0.saturating_sub(w.start.ts.0))
    )
}

/// `comm-pid` of the finding's task, or `?`.
pub fn fmt_task(f: &Finding) -> String {
    match &f.task {
        Some(t) => match &t.comm {
            Some(c) => format!("{c}-{}", t.pid.0),
            None => format!("pid {}", t.pid.0),
        },
        None => "?".to_string(),
    }
}

/// `0x…` of an optional mm, or `-`.
pub fn fmt_mm(m: Option<crate::model::Mm>) -> String {
    m.map_or_else(|| "-".to_string(), |m| m.to_string())
}

/// One line naming a finding: `INV-1 wrong-mm-at-user-return on CPU 1 task
/// b-201 window ...`. Used as a JUnit failure message and in summaries.
pub fn one_line(f: &Finding) -> String {
    let mut s = format!(
        "{} {} on CPU {} task {} [{}]",
        f.code,
        f.invariant.id(),
        f.cpu.0,
        fmt_task(f),
        confidence_name(f.confidence)
    );
    if f.expected_mm.is_some() || f.loaded_mm.is_some() {
        let _ = write!(
            s,
            ": expected mm {}, loaded {}",
            fmt_mm(f.expected_mm),
            fmt_mm(f.loaded_mm)
        );
    }
    let _ = write!(s, "; window {}", fmt_window(f));
    s
}

/// The kebab-case name of a confidence, as in JSON.
pub fn confidence_name(c: Confidence) -> &'static str {
    match c {
        Confidence::Observed => "observed",
        Confidence::Inferred => "inferred",
        Confidence::Suspect => "suspect",
    }
}

/// The kebab-case name of a severity, as in JSON.
pub fn severity_name(s: crate::finding::Severity) -> &'static str {
    use crate::finding::Severity::*;
    match s {
        Info => "info",
        Low => "low",
        Medium => "medium",
        High => "high",
        Critical => "critical",
    }
}

/// Counts of findings by confidence: (observed, inferred, suspect).
pub fn confidence_counts(fs: &[Finding]) -> (usize, usize, usize) {
    let n = |c| fs.iter().filter(|f| f.confidence == c).count();
    (
        n(Confidence::Observed),
        n(Confidence::Inferred),
        n(Confidence::Suspect),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_and_durations() {
        assert_eq!(fmt_ts(Timestamp(1_000_020_000_000)), "1000.020000000");
        assert_eq!(fmt_ts(Timestamp(5)), "0.000000005");
        assert_eq!(fmt_duration(999), "999 ns");
        assert_eq!(fmt_duration(10_000), "10.000 us");
        assert_eq!(fmt_duration(2_500_000), "2.500 ms");
        assert_eq!(fmt_duration(3_000_000_000), "3.000 s");
    }

    #[test]
    fn fail_on_levels() {
        use Confidence::*;
        assert!(FailOn::Observed.fails(Observed));
        assert!(!FailOn::Observed.fails(Inferred));
        assert!(FailOn::Inferred.fails(Inferred));
        assert!(!FailOn::Inferred.fails(Suspect));
        assert!(FailOn::Any.fails(Suspect));
        assert!(!FailOn::Never.fails(Observed));
    }
}
