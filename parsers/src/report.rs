//! Event lines as `trace-cmd report` prints them.
//!
//! [`ReportPrinter`] renders one record per line in the layout of trace-cmd
//! 3.1.6 with libtraceevent 1.7.1 and no plugins:
//!
//! ```text
//! [buffer: ]           comm-pid   [cpu]  secs.nsecs: name:                 text
//! ```
//!
//! The text is the event's `print fmt` rendered by [`crate::printfmt`]
//! ([`LineMode::Pretty`], `trace-cmd report`), or every field as
//! ` name=value` ([`LineMode::Raw`], `trace-cmd report -R`). The one symbol
//! table is the trace's own kallsyms and printk formats
//! ([`crate::symbols::Symbols`]).
//!
//! An event whose print fmt cannot be parsed or evaluated is printed as
//! libtraceevent prints it, `[FAILED TO PARSE]` followed by its raw fields;
//! each such record is counted ([`ReportPrinter::render_failures`]), never
//! an error.
//!
//! Two quirks of libtraceevent are state kept across records, so render
//! records in file order to reproduce trace-cmd: a char-array field found
//! unprintable once is printed as an array from then on, and a `bprint`
//! format with more conversions than arguments marks the event as failed.

use crate::format::EventFormat;
use crate::printfmt::{EventPrinter, PrintFmtError, RenderCtx};
use crate::symbols::Symbols;
use crate::tracedat::{LostEvents, Record, TraceDat};
use crate::types::Pid;
use std::io::Write as _;

/// Which form of the event text to print.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LineMode {
    /// The event's `print fmt` rendered (`trace-cmd report`).
    #[default]
    Pretty,
    /// Every field as ` name=value` (`trace-cmd report -R`).
    Raw,
}

/// Records of one event that could not be rendered with their print fmt.
#[derive(Debug, Clone)]
pub struct RenderFailure<'t> {
    /// The event.
    pub event: &'t EventFormat,
    /// How many records were printed in the fallback form.
    pub records: u64,
    /// Why (the first error met).
    pub error: PrintFmtError,
}

/// Renders records as `trace-cmd report` lines.
#[derive(Debug)]
pub struct ReportPrinter<'t> {
    trace: &'t TraceDat<'t>,
    symbols: Symbols,
    /// Per event format, built on first use.
    printers: Vec<Option<EventPrinter>>,
    /// Per buffer: what trace-cmd prints before its lines (empty when the
    /// file has no instance buffers).
    prefixes: Vec<String>,
    /// Per event format: fallback renderings and the first error.
    failures: Vec<Option<(u64, PrintFmtError)>>,
}

impl<'t> ReportPrinter<'t> {
    /// A printer for the records of `trace`.
    pub fn new(trace: &'t TraceDat<'t>) -> Self {
        ReportPrinter {
            trace,
            symbols: Symbols::parse(&trace.kallsyms, &trace.printk),
            printers: (0..trace.formats.len()).map(|_| None).collect(),
            prefixes: buffer_prefixes(trace),
            failures: vec![None; trace.formats.len()],
        }
    }

    /// The trace's symbol tables (kallsyms and printk formats).
    pub fn symbols(&self) -> &Symbols {
        &self.symbols
    }

    /// The first line trace-cmd prints: `cpus=N`.
    pub fn header_line(&self) -> String {
        format!("cpus={}", self.trace.cpu_count)
    }

    /// The line trace-cmd prints before the first record that follows lost
    /// events: the buffer's prefix, then `CPU:N [EVENTS DROPPED]` (or
    /// `[COUNT EVENTS DROPPED]`). trace-cmd prints this line and the record
    /// as one text after the prefix, so the record's own line then carries
    /// no prefix: see [`ReportPrinter::write_record`].
    pub fn lost_line(&self, l: &LostEvents) -> String {
        let prefix = self.prefixes.get(l.buffer).map_or("", String::as_str);
        match l.count {
            Some(n) => format!("{prefix}CPU:{} [{} EVENTS DROPPED]", l.cpu.0, n),
            None => format!("{prefix}CPU:{} [EVENTS DROPPED]", l.cpu.0),
        }
    }

    /// Appends the whole line of `rec` to `out`, without a newline: buffer
    /// prefix, `comm-pid [cpu] secs.nsecs: name: ` and the event text. One
    /// trailing newline of the text is dropped, as trace-cmd drops it.
    pub fn write_line(&mut self, rec: &Record<'_>, mode: LineMode, out: &mut Vec<u8>) {
        self.write_record(None, rec, mode, out);
    }

    /// Appends exactly what trace-cmd prints for `rec` when `lost` (the
    /// lost-events note of its CPU) came just before it, without the final
    /// newline: `prefix CPU:N [EVENTS DROPPED]`, a newline, then the line
    /// without the prefix. With `lost` = `None` it is
    /// [`ReportPrinter::write_line`].
    pub fn write_record(
        &mut self,
        lost: Option<&LostEvents>,
        rec: &Record<'_>,
        mode: LineMode,
        out: &mut Vec<u8>,
    ) {
        let start = out.len();
        match lost {
            Some(l) => {
                out.extend_from_slice(self.lost_line(l).as_bytes());
                out.push(b'\n');
            }
            None => {
                let prefix = self.prefixes.get(rec.buffer).map_or("", String::as_str);
                out.extend_from_slice(prefix.as_bytes());
            }
        }
        self.write_columns(rec, out);
        match self.event_index(rec) {
            Some(idx) => {
                let name = &self.trace.formats[idx].name;
                let _ = write!(out, "{:<21} ", format!("{name}:"));
                self.write_text(idx, rec, mode, out);
            }
            None => out.extend_from_slice(b"[UNKNOWN EVENT]"),
        }
        // trace_show_data: one trailing newline of the whole text goes.
        if out.len() > start && out.last() == Some(&b'\n') {
            out.pop();
        }
    }

    /// Appends only the event text of `rec` (what follows the event name:
    /// no comm, pid, CPU, time or name), for displays that show those in
    /// columns of their own. One trailing newline is dropped.
    pub fn write_event_text(&mut self, rec: &Record<'_>, mode: LineMode, out: &mut Vec<u8>) {
        let start = out.len();
        match self.event_index(rec) {
            Some(idx) => self.write_text(idx, rec, mode, out),
            None => out.extend_from_slice(b"[UNKNOWN EVENT]"),
        }
        if out.len() > start && out.last() == Some(&b'\n') {
            out.pop();
        }
    }

    /// The line of `rec` as a string (see [`ReportPrinter::write_line`]);
    /// bytes that are not UTF-8 become U+FFFD.
    pub fn line(&mut self, rec: &Record<'_>, mode: LineMode) -> String {
        let mut v = Vec::with_capacity(160);
        self.write_line(rec, mode, &mut v);
        String::from_utf8(v).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
    }

    /// The event text of `rec` as a string (see
    /// [`ReportPrinter::write_event_text`]).
    pub fn event_text(&mut self, rec: &Record<'_>, mode: LineMode) -> String {
        let mut v = Vec::with_capacity(120);
        self.write_event_text(rec, mode, &mut v);
        String::from_utf8(v).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
    }

    /// Events some of whose records were printed in the fallback form
    /// (`[FAILED TO PARSE]` and raw fields), in format order.
    pub fn render_failures(&self) -> Vec<RenderFailure<'t>> {
        let trace = self.trace;
        self.failures
            .iter()
            .enumerate()
            .filter_map(|(i, f)| {
                f.as_ref().map(|(n, e)| RenderFailure {
                    event: &trace.formats[i],
                    records: *n,
                    error: e.clone(),
                })
            })
            .collect()
    }

    fn event_index(&self, rec: &Record<'_>) -> Option<usize> {
        let t = self.trace;
        t.record_event_id(rec.payload)
            .and_then(|id| t.format_index(id))
    }

    /// `%16s-%-5d [%03d] %5llu.%09llu: ` (comm, pid, CPU, time).
    fn write_columns(&self, rec: &Record<'_>, out: &mut Vec<u8>) {
        let t = self.trace;
        let pid = t.record_pid(rec.payload).map_or(0, |p| p.0);
        let comm = if pid == 0 {
            "<idle>"
        } else {
            t.comm(Pid(pid)).unwrap_or("<...>")
        };
        let _ = write!(
            out,
            "{comm:>16}-{pid:<5} [{:03}] {:5}.{:09}: ",
            rec.cpu.0,
            rec.ts.secs(),
            rec.ts.subsec_nanos()
        );
    }

    fn write_text(&mut self, idx: usize, rec: &Record<'_>, mode: LineMode, out: &mut Vec<u8>) {
        let t = self.trace;
        let printer = self.printers[idx]
            .get_or_insert_with(|| EventPrinter::new(&t.formats[idx], t.long_size));
        let ctx = RenderCtx::new(t.endian, t.long_size, &self.symbols);
        match mode {
            LineMode::Raw => printer.render_raw(rec.payload, &ctx, out),
            LineMode::Pretty => {
                if let Err(e) = printer.render(rec.payload, &ctx, out) {
                    printer.render_failed(rec.payload, &ctx, out);
                    let slot = self.failures[idx].get_or_insert((0, e));
                    slot.0 += 1;
                }
            }
        }
    }
}

/// What trace-cmd's `print_handle_file` prints before each line of each
/// buffer when the file has instance buffers: `%*s: ` with the instance's
/// name (its part after the last `/`) right-aligned to the longest name,
/// and as many spaces plus two for the top buffer. Nothing otherwise.
fn buffer_prefixes(trace: &TraceDat<'_>) -> Vec<String> {
    let base = |n: &str| n.rsplit('/').next().unwrap_or("").to_string();
    if trace.buffers.iter().all(|b| b.name.is_empty()) {
        return vec![String::new(); trace.buffers.len()];
    }
    let width = trace
        .buffers
        .iter()
        .map(|b| base(&b.name).len())
        .max()
        .unwrap_or(0);
    trace
        .buffers
        .iter()
        .map(|b| {
            let name = base(&b.name);
            if name.is_empty() {
                " ".repeat(width + 2)
            } else {
                format!("{name:>width$}: ")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Endian;
    use crate::tracedat::Item;
    use crate::tracedat::writer::{EventPayload, TraceDatSpec, TraceDatWriter};
    use crate::types::{Cpu, Timestamp};

    const COMMON: &str = "format:\n\
        \tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\
        \tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n\
        \tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n\
        \tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n";

    fn event(name: &str, id: u16, print_fmt: &str) -> String {
        format!(
            "name: {name}\nID: {id}\n{COMMON}\tfield:unsigned long addr;\toffset:8;\tsize:8;\tsigned:0;\n\tfield:int n;\toffset:16;\tsize:4;\tsigned:1;\n\nprint fmt: {print_fmt}\n"
        )
    }

    /// Top buffer and instance `mm`; `good` renders, `bad` does not parse.
    fn trace_bytes() -> Vec<u8> {
        let e = Endian::Little;
        let spec = TraceDatSpec::new(e, 8)
            .event_format(
                "t",
                event("good", 600, r#""addr=%ps n=%d\n", REC->addr, REC->n"#),
            )
            .event_format(
                "t",
                event("a_rather_long_event_name", 601, r#""%d", nope(REC->n)"#),
            )
            .kallsyms("ffffffff81000000 T f1\nffffffff81000100 T f2\n")
            .cmdline(Pid(42), "worker")
            .buffer("", 1)
            .buffer("mm", 1);
        let rec = |id: u16, n: i32| {
            EventPayload::new(e, id, 0, 0, Pid(42))
                .u64(0xffff_ffff_8100_0010)
                .i32(n)
                .finish()
        };
        TraceDatWriter::to_vec(spec, |w| {
            w.write_cpu("", Cpu(0), [(Timestamp(1_500_000_000), rec(600, 7))])?;
            w.begin_cpu("mm", Cpu(0))?;
            w.push_lost_events(Some(4))?;
            w.push(Timestamp(2_000_000_001), &rec(601, -1))?;
            w.push(Timestamp(2_000_000_002), &rec(601, -2))?;
            w.end_cpu()
        })
        .unwrap()
    }

    /// Checks the first record of the top buffer.
    fn check_top(p: &mut ReportPrinter<'_>, r: &Record<'_>) {
        // One trailing newline of the text is dropped.
        assert_eq!(
            p.line(r, LineMode::Pretty),
            "              worker-42    [000]     1.500000000: good:                 addr=f1 n=7"
        );
        assert_eq!(
            p.line(r, LineMode::Raw),
            "              worker-42    [000]     1.500000000: good:                  addr=f1 n=7"
        );
        assert_eq!(p.event_text(r, LineMode::Pretty), "addr=f1 n=7");
        assert_eq!(p.event_text(r, LineMode::Raw), " addr=f1 n=7");
        assert!(p.render_failures().is_empty());
    }

    /// Checks the record of `mm` that follows the lost events.
    fn check_after_loss(p: &mut ReportPrinter<'_>, lost: &LostEvents, r: &Record<'_>) {
        assert_eq!(p.lost_line(lost), "mm: CPU:0 [4 EVENTS DROPPED]");
        let mut out = Vec::new();
        p.write_record(Some(lost), r, LineMode::Pretty, &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "mm: CPU:0 [4 EVENTS DROPPED]\n          worker-42    [000]     2.000000001: a_rather_long_event_name: [FAILED TO PARSE] addr=0xffffffff81000010 n=-1"
        );
        assert_eq!(
            p.line(r, LineMode::Pretty),
            "mm:           worker-42    [000]     2.000000001: a_rather_long_event_name: [FAILED TO PARSE] addr=0xffffffff81000010 n=-1"
        );
        let f = p.render_failures();
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].event.name, "a_rather_long_event_name");
        assert_eq!(f[0].records, 2);
        assert!(matches!(f[0].error, PrintFmtError::NotParsed(_)));
        // The raw form is no failure.
        p.line(r, LineMode::Raw);
        assert_eq!(p.render_failures()[0].records, 2);
    }

    #[test]
    fn lines_texts_prefixes_and_failures() {
        let bytes = trace_bytes();
        let t = TraceDat::parse(&bytes).unwrap();
        let mut p = ReportPrinter::new(&t);
        let mut m = t.merged_records();
        let mut lost = None;
        let mut seen = 0;
        while let Some(it) = m.next_item() {
            match it.unwrap() {
                Item::Lost(l) => lost = Some(l),
                Item::Record(r) => {
                    match seen {
                        0 => check_top(&mut p, &r),
                        1 => check_after_loss(&mut p, &lost.take().unwrap(), &r),
                        _ => {}
                    }
                    seen += 1;
                }
            }
        }
        assert_eq!(seen, 3);
    }
}
