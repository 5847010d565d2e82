//! Baselines: findings a team has looked at and accepted, so CI fails only
//! on new ones. `--write-baseline FILE` writes every finding of a run;
//! `--baseline FILE` marks the findings it lists as accepted (they are still
//! reported, but do not fail the run).
//!
//! A finding is identified by its [`fingerprint`]: the file's name (not its
//! directory, so a baseline holds across checkouts), the invariant, the CPU,
//! the task and the window's start (timestamp and event index). The same
//! trace analysed again gives the same fingerprints.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::batch::FileReport;
use crate::finding::Finding;

/// Version of the baseline file format.
pub const BASELINE_VERSION: u32 = 1;

/// The stable identity of a finding in a file.
pub fn fingerprint(path: &str, f: &Finding) -> String {
    let name = std::path::Path::new(path)
        .file_name()
        .map_or_else(|| path.to_string(), |n| n.to_string_lossy().into_owned());
    let pid = f.task.as_ref().map_or(-1, |t| t.pid.0);
    format!(
        "{name}:{}:cpu{}:pid{}:{}#{}",
        f.invariant.id(),
        f.cpu.0,
        pid,
        f.window.start.ts.0,
        f.window.start.index.0
    )
}

/// One accepted finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaselineEntry {
    /// Its [`fingerprint`].
    pub fingerprint: String,
    /// The file it was found in (for people reading the baseline).
    pub file: String,
    /// Its one-line description (for people reading the baseline).
    pub summary: String,
}

/// A baseline file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Baseline {
    /// [`BASELINE_VERSION`].
    pub baseline_version: u32,
    /// The accepted findings, sorted by fingerprint.
    pub findings: Vec<BaselineEntry>,
}

impl Baseline {
    /// The baseline accepting every finding of `files`.
    pub fn from_reports(files: &[FileReport]) -> Baseline {
        let mut findings: Vec<BaselineEntry> = files
            .iter()
            .flat_map(|r| {
                r.findings().iter().map(move |f| BaselineEntry {
                    fingerprint: fingerprint(&r.path, f),
                    file: r.path.clone(),
                    summary: crate::report::one_line(f),
                })
            })
            .collect();
        findings.sort_by(|a, b| a.fingerprint.cmp(&b.fingerprint));
        findings.dedup_by(|a, b| a.fingerprint == b.fingerprint);
        Baseline {
            baseline_version: BASELINE_VERSION,
            findings,
        }
    }

    /// Reads a baseline file's text.
    pub fn parse(text: &str) -> Result<Baseline, String> {
        let b: Baseline = serde_json::from_str(text).map_err(|e| format!("not a baseline: {e}"))?;
        if b.baseline_version != BASELINE_VERSION {
            return Err(format!(
                "baseline version {} is not {BASELINE_VERSION}",
                b.baseline_version
            ));
        }
        Ok(b)
    }

    /// The baseline file's text.
    pub fn to_text(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }

    /// Marks the findings of `files` this baseline accepts.
    pub fn apply(&self, files: &mut [FileReport]) {
        let known: BTreeSet<&str> = self
            .findings
            .iter()
            .map(|e| e.fingerprint.as_str())
            .collect();
        for r in files.iter_mut() {
            let marks: Vec<bool> = r
                .findings()
                .iter()
                .map(|f| known.contains(fingerprint(&r.path, f).as_str()))
                .collect();
            r.baselined = marks;
        }
    }
}
