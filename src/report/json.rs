//! The JSON report (`--format json`) and JSON Lines (`--format jsonl`, one
//! object per file, for fleets of traces loaded into DuckDB or Spark).
//!
//! The schema is versioned by [`SCHEMA_VERSION`] and written down in
//! `docs/report.schema.json`; field names are stable, findings come in
//! their total order ([`crate::finding::Finding::total_cmp`]). A change that
//! renames or removes a field bumps the version; adding a field does not.

use serde_json::{Value, json};

use crate::baseline::fingerprint;
use crate::batch::FileReport;

use super::{FailOn, exit_code, is_failing, totals};

/// Version of the JSON report schema.
pub const SCHEMA_VERSION: u32 = 1;

/// The JSON Schema of the report (draft 2020-12).
pub const SCHEMA: &str = include_str!("../../docs/report.schema.json");

fn fail_on_name(f: FailOn) -> &'static str {
    match f {
        FailOn::Observed => "observed",
        FailOn::Inferred => "inferred",
        FailOn::Any => "any",
        FailOn::Never => "never",
    }
}

fn tool() -> Value {
    json!({ "name": "mmrace", "version": env!("CARGO_PKG_VERSION") })
}

/// One file as a JSON object.
pub fn file_value(f: &FileReport, fail_on: FailOn) -> Value {
    let findings: Vec<Value> = f
        .findings()
        .iter()
        .enumerate()
        .map(|(i, finding)| {
            let mut v = serde_json::to_value(finding).unwrap_or(Value::Null);
            if let Some(chain) = v.get_mut("cause_chain").and_then(Value::as_array_mut) {
                for (link, c) in chain.iter_mut().zip(&finding.cause_chain) {
                    link["line"] = f
                        .event_lines
                        .get(&c.at.index.0)
                        .map_or(Value::Null, |l| Value::String(l.clone()));
                }
            }
            v["title"] = Value::String(finding.invariant.title().to_string());
            v["duration_ns"] = json!(
                finding
                    .window
                    .end_ts
                    .0
                    .saturating_sub(finding.window.start.ts.0)
            );
            v["fingerprint"] = Value::String(fingerprint(&f.path, finding));
            v["baselined"] = Value::Bool(f.baselined.get(i).copied().unwrap_or(false));
            v["failing"] = Value::Bool(is_failing(f, i, fail_on));
            v
        })
        .collect();
    let a = f.analysis.as_ref();
    json!({
        "path": f.path,
        "kind": f.kind.map(|k| k.name()),
        "status": f.status,
        "errors": f.errors,
        "trace": f.info,
        "profile": a.map(|a| &a.profile),
        "coverage": a.map(|a| &a.coverage),
        "stats": a.map(|a| &a.stats),
        "warnings": a.map_or(&[][..], |a| &a.warnings[..]),
        "findings": findings,
    })
}

/// The whole report of a run as one JSON document.
pub fn render(files: &[FileReport], fail_on: FailOn) -> String {
    let (findings, failing, bad) = totals(files, fail_on);
    let v = json!({
        "schema_version": SCHEMA_VERSION,
        "tool": tool(),
        "fail_on": fail_on_name(fail_on),
        "exit_code": exit_code(files, fail_on),
        "summary": {
            "files": files.len(),
            "findings": findings,
            "failing": failing,
            "unreadable_or_damaged": bad,
        },
        "files": files.iter().map(|f| file_value(f, fail_on)).collect::<Vec<_>>(),
    });
    let mut s = serde_json::to_string_pretty(&v).unwrap_or_default();
    s.push('\n');
    s
}

/// JSON Lines: one compact object per file, each carrying the schema
/// version and tool.
pub fn render_lines(files: &[FileReport], fail_on: FailOn) -> String {
    let mut out = String::new();
    for f in files {
        let mut v = file_value(f, fail_on);
        v["schema_version"] = json!(SCHEMA_VERSION);
        v["tool"] = tool();
        out.push_str(&serde_json::to_string(&v).unwrap_or_default());
        out.push('\n');
    }
    out
}
