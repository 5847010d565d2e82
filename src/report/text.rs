//! The human summary of `mmrace analyze`: per file, what the trace is
//! (machine, kernel, clock, CPUs, span, events, losses), the profile and the
//! invariant coverage table, then each finding with its window and its cause
//! chain as `trace-cmd report` lines. Colour only when asked for.

use std::fmt::Write as _;

use crate::batch::{FileReport, FileStatus};
use crate::finding::{Cause, Confidence, Finding, Severity, SuspectReason};

use super::{
    FailOn, confidence_counts, confidence_name, fmt_duration, fmt_mm, fmt_task, fmt_ts, fmt_window,
    is_failing, severity_name,
};

/// ANSI styling, or none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    color: bool,
}

impl Style {
    /// Styling on (`true`) or off.
    pub fn new(color: bool) -> Style {
        Style { color }
    }

    fn paint(self, code: &str, s: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }

    fn bold(self, s: &str) -> String {
        self.paint("1", s)
    }

    fn dim(self, s: &str) -> String {
        self.paint("2", s)
    }

    fn red(self, s: &str) -> String {
        self.paint("1;31", s)
    }

    fn yellow(self, s: &str) -> String {
        self.paint("33", s)
    }

    fn green(self, s: &str) -> String {
        self.paint("32", s)
    }
}

/// Renders the whole human report of a run.
pub fn render(files: &[FileReport], fail_on: FailOn, style: Style) -> String {
    let mut out = String::new();
    for (i, f) in files.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        render_file(&mut out, f, fail_on, style);
    }
    if files.len() > 1 {
        let (findings, failing, bad) = super::totals(files, fail_on);
        let _ = writeln!(
            out,
            "\n{} files, {} findings ({} failing), {} unreadable or damaged",
            files.len(),
            findings,
            failing,
            bad
        );
    }
    out
}

fn render_file(out: &mut String, f: &FileReport, fail_on: FailOn, st: Style) {
    let _ = writeln!(out, "{}", st.bold(&format!("== {}", f.path)));
    if let Some(info) = &f.info {
        let kind = f.kind.map_or("trace", |k| k.name());
        let _ = writeln!(
            out,
            "trace      {} v{}, {}-endian, compression {}, {} CPUs, buffers: {}",
            kind,
            info.file_version,
            info.endian,
            info.compression,
            info.cpu_count,
            info.buffers
                .iter()
                .map(|b| if b.is_empty() { "top" } else { b.as_str() })
                .collect::<Vec<_>>()
                .join(", ")
        );
        let _ = writeln!(
            out,
            "machine    {}, kernel {}",
            info.arch.as_deref().unwrap_or("unknown"),
            info.kernel_release.as_deref().unwrap_or("unknown")
        );
        let _ = writeln!(
            out,
            "clock      {}",
            info.trace_clock.as_deref().unwrap_or("unknown")
        );
        match (info.first_ts, info.last_ts) {
            (Some(a), Some(b)) => {
                let _ = writeln!(
                    out,
                    "span       {} .. {} ({}), {} events",
                    fmt_ts(mmrace_parsers::types::Timestamp(a)),
                    fmt_ts(mmrace_parsers::types::Timestamp(b)),
                    fmt_duration(b.saturating_sub(a)),
                    info.events
                );
            }
            _ => {
                let _ = writeln!(out, "span       no events");
            }
        }
        let mut lost_lines = Vec::new();
        for l in &info.lost {
            let buf = if l.buffer.is_empty() {
                String::new()
            } else {
                format!(" (buffer {})", l.buffer)
            };
            let count = if l.uncounted {
                format!("at least {} events", l.events)
            } else {
                format!("{} events", l.events)
            };
            lost_lines.push(format!(
                "CPU {}{}: {} in {} pages",
                l.cpu.0,
                buf,
                st.yellow(&count),
                l.pages
            ));
        }
        for c in &info.cpus {
            if let Some(n) = c.overrun.filter(|&n| n > 0) {
                let from = c.first_ts.map_or("the end".to_string(), |t| {
                    fmt_ts(mmrace_parsers::types::Timestamp(t))
                });
                lost_lines.push(format!(
                    "CPU {}: {}",
                    c.cpu.0,
                    st.yellow(&format!(
                        "ring buffer overwrote {n} events: its data starts late, at {from}"
                    ))
                ));
            }
            if let Some(n) = c.dropped.filter(|&n| n > 0) {
                lost_lines.push(format!(
                    "CPU {}: {}",
                    c.cpu.0,
                    st.yellow(&format!("ring buffer dropped {n} events"))
                ));
            }
        }
        if lost_lines.is_empty() {
            let _ = writeln!(out, "lost       none");
        }
        for (i, l) in lost_lines.iter().enumerate() {
            let label = if i == 0 { "lost       " } else { "           " };
            let _ = writeln!(out, "{label}{l}");
        }
    }
    for e in &f.errors {
        let label = if f.status == FileStatus::Error {
            "error"
        } else {
            "damaged"
        };
        let _ = writeln!(out, "{}  {}", st.red(&format!("{label:<9}")), e);
    }
    let Some(a) = &f.analysis else {
        return;
    };
    let _ = writeln!(out, "profile    {}", a.profile);
    for w in &a.warnings {
        if !f.errors.contains(w) {
            let _ = writeln!(out, "{}  {}", st.yellow("warning  "), w);
        }
    }
    let _ = writeln!(out, "coverage");
    for c in &a.coverage.invariants {
        let state = if c.checkable {
            st.green("checked")
        } else {
            st.yellow("not checkable")
        };
        let _ = writeln!(out, "  {:<7}{:<32}{}", c.code, c.invariant.id(), state);
        if !c.checkable {
            let missing: Vec<&str> = c.missing_roles.iter().map(|r| r.name()).collect();
            let _ = writeln!(out, "         missing: {}", missing.join(", "));
            for r in &c.record {
                let _ = writeln!(out, "         record:  {r}");
            }
        }
        for n in &c.notes {
            let _ = writeln!(out, "         note:    {n}");
        }
    }
    if a.coverage.invariants.iter().any(|c| !c.checkable) {
        let script = match a.profile.as_str() {
            p @ ("s390x" | "arm64" | "x86_64") => format!("scripts/record-{p}.sh"),
            _ => "scripts/record-{s390x,arm64,x86_64}.sh".to_string(),
        };
        let _ = writeln!(
            out,
            "  ({script} records the events these checks need; see scripts/README.md)"
        );
    }
    let (o, i, s) = confidence_counts(&a.findings);
    let accepted = f.baselined.iter().filter(|b| **b).count();
    let mut summary = format!(
        "findings   {} ({} observed, {} inferred, {} suspect)",
        a.findings.len(),
        o,
        i,
        s
    );
    if accepted > 0 {
        let _ = write!(summary, ", {accepted} accepted by the baseline");
    }
    let _ = writeln!(out, "{summary}");
    for (k, finding) in a.findings.iter().enumerate() {
        out.push('\n');
        render_finding(
            out,
            f,
            finding,
            is_failing(f, k, fail_on),
            f.baselined[k],
            st,
        );
    }
}

fn render_finding(
    out: &mut String,
    file: &FileReport,
    f: &Finding,
    failing: bool,
    baselined: bool,
    st: Style,
) {
    let head = format!(
        "{} {} [{}, {}]",
        f.code,
        f.invariant.id(),
        severity_name(f.severity),
        confidence_name(f.confidence)
    );
    let head = if f.severity >= Severity::High && f.confidence == Confidence::Observed {
        st.red(&head)
    } else {
        st.yellow(&head)
    };
    let tag = if baselined {
        " (accepted by the baseline)"
    } else if !failing {
        " (below --fail-on)"
    } else {
        ""
    };
    let _ = writeln!(out, "{head}{}", st.dim(tag));
    let _ = writeln!(out, "  {}", f.invariant.title());
    let other = f
        .other_cpu
        .map_or(String::new(), |c| format!(" (other CPU {})", c.0));
    let _ = writeln!(out, "  CPU {}{}, task {}", f.cpu.0, other, fmt_task(f));
    if f.expected_mm.is_some() || f.loaded_mm.is_some() {
        let _ = writeln!(
            out,
            "  expected mm {}, loaded mm {}",
            fmt_mm(f.expected_mm),
            fmt_mm(f.loaded_mm)
        );
    }
    let end_ix = f
        .window
        .end
        .map_or("end".to_string(), |e| e.index.to_string());
    let _ = writeln!(
        out,
        "  window   {}, events {}..{}",
        fmt_window(f),
        f.window.start.index,
        end_ix
    );
    for x in &f.exposure {
        let _ = writeln!(
            out,
            "  exposure {} .. {} ({})",
            fmt_ts(x.start.ts),
            fmt_ts(x.end_ts),
            fmt_duration(x.end_ts.0.saturating_sub(x.start.ts.0))
        );
    }
    for r in &f.suspect_reasons {
        let why = match r {
            SuspectReason::LostEvents { cpu } => format!("CPU {} lost events in the window", cpu.0),
            SuspectReason::InferredLoadedMm => "the loaded mm was inferred".to_string(),
            SuspectReason::InferredTaskMm => "the task's mm was inferred".to_string(),
        };
        let _ = writeln!(out, "  {}  {}", st.yellow("suspect:"), why);
    }
    let cause = match f.cause {
        Some(Cause::LostThreadDeferral) => " (lost per-thread deferral)",
        Some(Cause::MmFlagConsumedElsewhere) => " (per-mm flag consumed by another CPU)",
        Some(Cause::DeferredSwitchNeverCompleted) => " (deferred switch never completed)",
        Some(Cause::Unknown) | None => "",
    };
    let _ = writeln!(out, "  cause chain{cause}:");
    for c in &f.cause_chain {
        let _ = writeln!(
            out,
            "    {:<8} {} CPU {}  {}",
            c.at.index,
            fmt_ts(c.at.ts),
            c.at.cpu.0,
            c.what
        );
        if let Some(line) = file.event_lines.get(&c.at.index.0) {
            let _ = writeln!(out, "             {}", st.dim(line.trim_start()));
        }
    }
}
