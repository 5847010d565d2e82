//! The Markdown report: fit for a pull-request comment or a CI step summary
//! (`$GITHUB_STEP_SUMMARY`): a verdict line, a table of files, a table of
//! findings, then each finding's cause chain in a collapsed block.

use std::fmt::Write as _;

use crate::batch::{FileReport, FileStatus};

use super::{
    FailOn, confidence_name, exit_code, fmt_duration, fmt_mm, fmt_task, fmt_ts, is_failing, verdict,
};

/// Escapes text for a Markdown table cell.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// Renders the Markdown report of a run.
pub fn render(files: &[FileReport], fail_on: FailOn) -> String {
    let mut out = String::new();
    let code = exit_code(files, fail_on);
    let total: usize = files.iter().map(|f| f.findings().len()).sum();
    let _ = writeln!(out, "## mmrace: {}\n", verdict(code));
    let _ = writeln!(
        out,
        "{} file(s), {} finding(s); exit code {}.\n",
        files.len(),
        total,
        code
    );
    let _ = writeln!(
        out,
        "| file | status | machine | profile | events | lost | checked | findings |"
    );
    let _ = writeln!(out, "|---|---|---|---|---:|---:|---|---:|");
    for f in files {
        let status = match f.status {
            FileStatus::Ok => "ok",
            FileStatus::Damaged => "damaged",
            FileStatus::Error => "error",
        };
        let (machine, events, lost) =
            f.info
                .as_ref()
                .map_or(("-".to_string(), "-".to_string(), "-".to_string()), |i| {
                    (
                        format!(
                            "{} {}",
                            i.arch.as_deref().unwrap_or("?"),
                            i.kernel_release.as_deref().unwrap_or("")
                        )
                        .trim()
                        .to_string(),
                        i.events.to_string(),
                        i.lost.iter().map(|l| l.events).sum::<u64>().to_string(),
                    )
                });
        let (profile, checked) = f.analysis.as_ref().map_or(("-".into(), "-".into()), |a| {
            let c: Vec<&str> = a
                .coverage
                .invariants
                .iter()
                .filter(|c| c.checkable)
                .map(|c| c.code)
                .collect();
            (a.profile.clone(), c.join(" "))
        });
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} | {} | {} | {} | {} |",
            cell(&f.path),
            status,
            cell(&machine),
            cell(&profile),
            events,
            lost,
            checked,
            f.findings().len()
        );
    }
    for f in files.iter().filter(|f| !f.errors.is_empty()) {
        let _ = writeln!(out, "\n**{}**:", cell(&f.path));
        for e in &f.errors {
            let _ = writeln!(out, "- {}", cell(e));
        }
    }
    if total == 0 {
        return out;
    }
    let _ = writeln!(
        out,
        "\n| | invariant | file | CPU | task | expected mm | loaded mm | window start | duration | confidence |"
    );
    let _ = writeln!(out, "|---|---|---|---:|---|---|---|---|---:|---|");
    for f in files {
        for (i, x) in f.findings().iter().enumerate() {
            let mark = if f.baselined.get(i).copied().unwrap_or(false) {
                "accepted"
            } else if is_failing(f, i, fail_on) {
                "❌"
            } else {
                "⚠️"
            };
            let _ = writeln!(
                out,
                "| {} | {} `{}` | `{}` | {} | {} | {} | {} | {} | {} | {} |",
                mark,
                x.code,
                x.invariant.id(),
                cell(&f.path),
                x.cpu.0,
                cell(&fmt_task(x)),
                fmt_mm(x.expected_mm),
                fmt_mm(x.loaded_mm),
                fmt_ts(x.window.start.ts),
                fmt_duration(x.window.end_ts.0.saturating_sub(x.window.start.ts.0)),
                confidence_name(x.confidence)
            );
        }
    }
    for f in files {
        for x in f.findings() {
            let _ = writeln!(
                out,
                "\n<details><summary>{} {} on CPU {}, task {} ({})</summary>\n",
                x.code,
                x.invariant.title(),
                x.cpu.0,
                cell(&fmt_task(x)),
                cell(&f.path)
            );
            let _ = writeln!(out, "```text");
            for c in &x.cause_chain {
                let _ = writeln!(out, "{:<8} {}  {}", c.at.index, fmt_ts(c.at.ts), c.what);
                if let Some(l) = f.event_lines.get(&c.at.index.0) {
                    let _ = writeln!(out, "         {}", l.trim_start());
                }
            }
            let _ = writeln!(out, "```\n\n</details>");
        }
    }
    out
}
