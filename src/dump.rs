//! `mmrace dump`: every event of a trace as `trace-cmd report` prints it.

use mmrace_parsers::Error;
use mmrace_parsers::report::{LineMode, ReportPrinter};
use mmrace_parsers::tracedat::{Item, LostEvents, TraceDat};
use std::collections::HashMap;
use std::io::{self, Write};

mod perf;
pub use perf::{PerfLines, dump_perf, perf_sample_lines};

/// What to print.
#[derive(Debug, Clone, Default)]
pub struct DumpOptions {
    /// Raw `field=value` form (`trace-cmd report -R`).
    pub raw: bool,
    /// Only these CPUs (all when empty).
    pub cpus: Vec<u32>,
    /// Only these events, as `system:name` or `name` (all when empty).
    pub events: Vec<String>,
}

/// What a dump saw.
#[derive(Debug, Default)]
pub struct DumpSummary {
    /// Records printed.
    pub records: u64,
    /// Errors met in the per-CPU data (each with its offset and CPU).
    pub errors: Vec<Error>,
    /// Events printed in the fallback form (`[FAILED TO PARSE]` and raw
    /// fields) because their print fmt could not be parsed or evaluated.
    pub render_failures: Vec<RenderWarning>,
}

/// Records of one event printed in the fallback form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderWarning {
    /// `system:name`.
    pub event: String,
    /// How many records.
    pub records: u64,
    /// Why (the first error met).
    pub error: String,
}

impl RenderWarning {
    /// The events a printer had to print in the fallback form.
    pub fn of(p: &ReportPrinter<'_>) -> Vec<RenderWarning> {
        p.render_failures()
            .into_iter()
            .map(|f| RenderWarning {
                event: format!("{}:{}", f.event.system, f.event.name),
                records: f.records,
                error: f.error.to_string(),
            })
            .collect()
    }
}

/// Writes every selected event of `trace` to `out`, in time order, as
/// `trace-cmd report` (or `report -R` with [`DumpOptions::raw`]) does.
///
/// A lost-events note is printed where trace-cmd prints it: just before the
/// next record of the same buffer and CPU, as part of that record's text (a
/// note with no record after it is not printed, as in trace-cmd).
pub fn dump(
    trace: &TraceDat<'_>,
    opts: &DumpOptions,
    out: &mut dyn Write,
) -> io::Result<DumpSummary> {
    let mut p = ReportPrinter::new(trace);
    let mode = if opts.raw {
        LineMode::Raw
    } else {
        LineMode::Pretty
    };
    let mut sum = DumpSummary::default();
    let wanted: Vec<bool> = trace
        .formats
        .iter()
        .map(|f| {
            opts.events.is_empty()
                || opts.events.iter().any(|e| match e.split_once(':') {
                    Some((s, n)) => (s == f.system || s == "*") && (n == f.name || n == "*"),
                    None => e == &f.name,
                })
        })
        .collect();
    writeln!(out, "{}", p.header_line())?;
    let mut line = Vec::with_capacity(256);
    // Lost-events notes waiting for the next record of their (buffer, CPU).
    let mut pending: HashMap<(usize, u32), LostEvents> = HashMap::new();
    let mut m = crate::chunks::merged_records(trace);
    while let Some(item) = m.next_item() {
        match item {
            Ok(Item::Record(r)) => {
                let lost = pending.remove(&(r.buffer, r.cpu.0));
                if !opts.cpus.is_empty() && !opts.cpus.contains(&r.cpu.0) {
                    continue;
                }
                let keep = trace
                    .record_event_id(r.payload)
                    .and_then(|id| trace.format_index(id))
                    .is_none_or(|i| wanted[i]);
                if !keep {
                    continue;
                }
                line.clear();
                p.write_record(lost.as_ref(), &r, mode, &mut line);
                line.push(b'\n');
                out.write_all(&line)?;
                sum.records += 1;
            }
            Ok(Item::Lost(l)) => {
                pending.insert((l.buffer, l.cpu.0), l);
            }
            Err(e) => sum.errors.push(e),
        }
    }
    sum.render_failures = RenderWarning::of(&p);
    Ok(sum)
}
