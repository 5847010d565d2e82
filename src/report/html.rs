//! The HTML report: one self-contained page (inline CSS and SVG, no script,
//! nothing fetched from the network): a verdict, a summary table of files and
//! findings, then per finding its facts, an SVG picture of the per-CPU lanes
//! around its window (running task, loaded mm, returns to user, flushes; the
//! window shaded) and its cause chain as `trace-cmd report` lines.

use std::fmt::Write as _;

use crate::batch::{FileReport, FileStatus};

use super::junit::xml_escape as esc;
use super::{
    FailOn, confidence_name, exit_code, fmt_duration, fmt_mm, fmt_task, fmt_ts, fmt_window,
    is_failing, severity_name, svg, verdict,
};

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em;color:#1f2328}\
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #d0d7de;padding:4px 8px;text-align:left}\
th{background:#f6f8fa}.fail{color:#cf222e;font-weight:bold}.ok{color:#1a7f37}.warn{color:#9a6700}\
pre{background:#f6f8fa;padding:8px;overflow-x:auto}section.finding{border-top:2px solid #d0d7de;margin-top:2em}\
svg.lanes{border:1px solid #d0d7de;background:#fff}";

/// Renders the HTML report of a run.
pub fn render(files: &[FileReport], fail_on: FailOn) -> String {
    let code = exit_code(files, fail_on);
    let total: usize = files.iter().map(|f| f.findings().len()).sum();
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>mmrace report</title><style>{STYLE}</style></head><body>\n"
    );
    let class = if code == 0 { "ok" } else { "fail" };
    let _ = writeln!(
        h,
        "<h1>mmrace report: <span class=\"{class}\">{}</span></h1>",
        verdict(code)
    );
    let _ = writeln!(
        h,
        "<p id=\"summary\">{} file(s), {} finding(s), exit code {}.</p>",
        files.len(),
        total,
        code
    );
    h.push_str("<table id=\"files\"><tr><th>file</th><th>status</th><th>machine</th><th>kernel</th><th>clock</th><th>CPUs</th><th>events</th><th>lost</th><th>profile</th><th>findings</th></tr>\n");
    for f in files {
        let status = match f.status {
            FileStatus::Ok => "<span class=\"ok\">ok</span>",
            FileStatus::Damaged => "<span class=\"fail\">damaged</span>",
            FileStatus::Error => "<span class=\"fail\">error</span>",
        };
        let i = f.info.as_ref();
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{status}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&f.path),
            esc(i.and_then(|i| i.arch.as_deref()).unwrap_or("-")),
            esc(i.and_then(|i| i.kernel_release.as_deref()).unwrap_or("-")),
            esc(i.and_then(|i| i.trace_clock.as_deref()).unwrap_or("-")),
            i.map_or(0, |i| i.cpu_count),
            i.map_or(0, |i| i.events),
            i.map_or(0, |i| i.lost.iter().map(|l| l.events).sum::<u64>()),
            esc(f.analysis.as_ref().map_or("-", |a| a.profile.as_str())),
            f.findings().len()
        );
    }
    h.push_str("</table>\n");
    for f in files.iter().filter(|f| !f.errors.is_empty()) {
        let _ = writeln!(h, "<p class=\"fail\">{}:</p><ul>", esc(&f.path));
        for e in &f.errors {
            let _ = writeln!(h, "<li>{}</li>", esc(e));
        }
        h.push_str("</ul>\n");
    }
    if total > 0 {
        h.push_str("<h2>Findings</h2>\n<table id=\"findings\"><tr><th>#</th><th>invariant</th><th>file</th><th>CPU</th><th>task</th><th>expected mm</th><th>loaded mm</th><th>window</th><th>confidence</th></tr>\n");
        let mut n = 0;
        for f in files {
            for (i, x) in f.findings().iter().enumerate() {
                n += 1;
                let cls = if is_failing(f, i, fail_on) {
                    "fail"
                } else {
                    "warn"
                };
                let _ = writeln!(
                    h,
                    "<tr><td><a href=\"#f{n}\">{n}</a></td><td class=\"{cls}\">{} {}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    x.code,
                    x.invariant.id(),
                    esc(&f.path),
                    x.cpu.0,
                    esc(&fmt_task(x)),
                    fmt_mm(x.expected_mm),
                    fmt_mm(x.loaded_mm),
                    esc(&fmt_window(x)),
                    confidence_name(x.confidence)
                );
            }
        }
        h.push_str("</table>\n");
    }
    let mut n = 0;
    for f in files {
        for (i, x) in f.findings().iter().enumerate() {
            n += 1;
            let _ = writeln!(
                h,
                "<section class=\"finding\" id=\"f{n}\"><h3>{n}. {} {}: {}</h3>",
                x.code,
                x.invariant.id(),
                esc(x.invariant.title())
            );
            let _ = writeln!(
                h,
                "<p>{} &middot; severity {} &middot; confidence {}{} &middot; CPU {}{} &middot; task {} &middot; expected mm {} &middot; loaded mm {}</p>",
                esc(&f.path),
                severity_name(x.severity),
                confidence_name(x.confidence),
                if f.baselined.get(i).copied().unwrap_or(false) {
                    " (accepted by the baseline)"
                } else {
                    ""
                },
                x.cpu.0,
                x.other_cpu
                    .map_or(String::new(), |c| format!(" (other CPU {})", c.0)),
                esc(&fmt_task(x)),
                fmt_mm(x.expected_mm),
                fmt_mm(x.loaded_mm)
            );
            let _ = writeln!(
                h,
                "<p>window {} (events {}..{}), duration {}</p>",
                esc(&fmt_window(x)),
                x.window.start.index,
                x.window
                    .end
                    .map_or("end".to_string(), |e| e.index.to_string()),
                fmt_duration(x.window.end_ts.0.saturating_sub(x.window.start.ts.0))
            );
            if let Some(Some(p)) = f.pictures.get(i) {
                h.push_str(&svg::render(p));
                h.push('\n');
            }
            h.push_str("<pre class=\"chain\">");
            for c in &x.cause_chain {
                let _ = writeln!(
                    h,
                    "{:<8} {} CPU {}  {}",
                    c.at.index,
                    fmt_ts(c.at.ts),
                    c.at.cpu.0,
                    esc(&c.what)
                );
                if let Some(l) = f.event_lines.get(&c.at.index.0) {
                    let _ = writeln!(h, "         {}", esc(l.trim_start()));
                }
            }
            h.push_str("</pre></section>\n");
        }
    }
    h.push_str("</body></html>\n");
    h
}
