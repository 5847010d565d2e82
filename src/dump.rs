//! `mmrace dump`: every event of a trace as `trace-cmd report` prints it.

use mmrace_parsers::report::ReportPrinter;
use mmrace_parsers::tracedat::{Item, TraceDat};
use mmrace_parsers::{Cpu, Error};
use std::io::{self, Write};

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
}

/// Writes every selected event of `trace` to `out`, in time order.
pub fn dump(
    trace: &TraceDat<'_>,
    opts: &DumpOptions,
    out: &mut dyn Write,
) -> io::Result<DumpSummary> {
    let mut p = ReportPrinter::new(trace);
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
    let mut line = String::with_capacity(256);
    let mut m = crate::chunks::merged_records(trace);
    while let Some(item) = m.next_item() {
        match item {
            Ok(Item::Record(r)) => {
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
                if opts.raw {
                    p.write_raw(&r, &mut line);
                } else {
                    // The pretty form comes with the print fmt evaluator;
                    // until then the raw form is printed.
                    p.write_raw(&r, &mut line);
                }
                // trace-cmd ends a line with one newline, also when the
                // event's text already ends with one (trace_marker writes).
                if !line.ends_with('\n') {
                    line.push('\n');
                }
                out.write_all(line.as_bytes())?;
                sum.records += 1;
            }
            Ok(Item::Lost(l)) => {
                if opts.cpus.is_empty() || opts.cpus.contains(&l.cpu.0) {
                    writeln!(out, "{}", p.lost_line(&l))?;
                }
            }
            Err(e) => sum.errors.push(e),
        }
    }
    let _ = Cpu(0);
    Ok(sum)
}
