//! `mmrace dump` of a perf.data file: one line per sample, in the layout
//! of the trace.dat dump.

use std::collections::HashMap;
use std::io::{self, Write};

use mmrace_parsers::perf::{PERF_TYPE_TRACEPOINT, PerfData, PerfRecord, Sample};
use mmrace_parsers::report::{LineMode, ReportPrinter};
use mmrace_parsers::tracedat::Record;
use mmrace_parsers::types::{Cpu, Pid, Timestamp};

use super::{DumpOptions, DumpSummary, RenderWarning};

/// Writes every selected sample of `perf` to `out` in time order (perf's
/// round-by-round order), one line each as the trace.dat dump prints
/// records:
///
/// ```text
///             comm-tid   [cpu]  secs.nsecs: name:                 text
/// ```
///
/// The comm is the task's name at that moment from the file's COMM
/// records (else the tracing data's saved cmdlines, else `<...>`; tid 0 is
/// `<idle>`); the text is the tracepoint's print fmt rendered by the same
/// printer as trace.dat records ([`DumpOptions::raw`]: every field as
/// ` name=value`). A sample of another event type prints its `ip`. Lost
/// records print as `CPU:N [COUNT EVENTS DROPPED]` (`SAMPLES LOST` for
/// LOST_SAMPLES) where they fall.
pub fn dump_perf(
    perf: &PerfData<'_>,
    opts: &DumpOptions,
    out: &mut dyn Write,
) -> io::Result<DumpSummary> {
    let mode = if opts.raw {
        LineMode::Raw
    } else {
        LineMode::Pretty
    };
    let mut printer = perf.tracing.as_ref().map(ReportPrinter::new);
    let mut sum = DumpSummary::default();
    let names: Vec<String> = (0..perf.attrs.len()).map(|i| perf.attr_name(i)).collect();
    let short: Vec<&str> = names
        .iter()
        .map(|n| n.rsplit(':').next().unwrap_or(n))
        .collect();
    let wanted: Vec<bool> = names
        .iter()
        .map(|full| {
            let (sys, name) = full.split_once(':').unwrap_or(("", full));
            opts.events.is_empty()
                || opts.events.iter().any(|e| match e.split_once(':') {
                    Some((s, n)) => (s == sys || s == "*") && (n == name || n == "*"),
                    None => e == name,
                })
        })
        .collect();
    let cpus = perf
        .features
        .nr_cpus_online
        .or(perf.features.nr_cpus_available)
        .unwrap_or(0);
    writeln!(out, "cpus={cpus}")?;
    let cpu_ok =
        |c: Option<Cpu>| opts.cpus.is_empty() || c.is_some_and(|c| opts.cpus.contains(&c.0));
    let mut comms: HashMap<Pid, Vec<u8>> = HashMap::new();
    let mut line = Vec::with_capacity(256);
    for rec in perf.sorted_records() {
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                sum.errors.push(e);
                continue;
            }
        };
        match rec {
            PerfRecord::Comm(c) => {
                comms.insert(c.tid, c.comm.to_vec());
            }
            PerfRecord::Sample(s) => {
                if !wanted[s.attr] || !cpu_ok(s.cpu) {
                    continue;
                }
                line.clear();
                sample_line(
                    perf,
                    printer.as_mut(),
                    &comms,
                    &s,
                    short[s.attr],
                    mode,
                    &mut line,
                );
                line.push(b'\n');
                out.write_all(&line)?;
                sum.records += 1;
            }
            PerfRecord::Lost(l) if cpu_ok(l.sample_id.cpu) => {
                writeln!(
                    out,
                    "CPU:{} [{} EVENTS DROPPED]",
                    cpu_text(l.sample_id.cpu),
                    l.lost
                )?;
            }
            PerfRecord::LostSamples(l) if cpu_ok(l.sample_id.cpu) => {
                writeln!(
                    out,
                    "CPU:{} [{} SAMPLES LOST]",
                    cpu_text(l.sample_id.cpu),
                    l.lost
                )?;
            }
            _ => {}
        }
    }
    if let Some(p) = &printer {
        sum.render_failures = RenderWarning::of(p);
    }
    Ok(sum)
}

/// One sample's line (no newline) into `line`: the columns, the event's
/// short name, its text.
fn sample_line(
    perf: &PerfData<'_>,
    printer: Option<&mut ReportPrinter<'_>>,
    comms: &HashMap<Pid, Vec<u8>>,
    s: &Sample<'_>,
    short: &str,
    mode: LineMode,
    line: &mut Vec<u8>,
) {
    write_columns(perf, comms, s, line);
    let _ = write!(line, "{:<21} ", format!("{short}:"));
    let a = &perf.attrs[s.attr];
    match (a.kind, s.raw, printer) {
        (PERF_TYPE_TRACEPOINT, Some(raw), Some(p)) => {
            let r = Record {
                ts: s.time.unwrap_or_default(),
                cpu: s.cpu.unwrap_or_default(),
                buffer: 0,
                payload: raw,
                offset: s.offset,
            };
            p.write_event_text(&r, mode, line);
        }
        _ => {
            let _ = write!(line, "ip=0x{:x}", s.ip.unwrap_or(0));
        }
    }
}

/// Renders samples as [`dump_perf`] prints them (pretty form), following
/// the COMM records it is shown.
#[derive(Debug)]
pub struct PerfLines<'p> {
    perf: &'p PerfData<'p>,
    printer: Option<ReportPrinter<'p>>,
    names: Vec<String>,
    comms: HashMap<Pid, Vec<u8>>,
}

impl<'p> PerfLines<'p> {
    /// A renderer for the samples of `perf`.
    pub fn new(perf: &'p PerfData<'p>) -> PerfLines<'p> {
        PerfLines {
            perf,
            printer: perf.tracing.as_ref().map(ReportPrinter::new),
            names: (0..perf.attrs.len()).map(|i| perf.attr_name(i)).collect(),
            comms: HashMap::new(),
        }
    }

    /// Shows the next record in perf's order (COMM records name tasks).
    pub fn record(&mut self, rec: &PerfRecord<'_>) {
        if let PerfRecord::Comm(c) = rec {
            self.comms.insert(c.tid, c.comm.to_vec());
        }
    }

    /// The line of `s` (no newline) into `line`.
    pub fn line(&mut self, s: &Sample<'_>, line: &mut Vec<u8>) {
        let short = self
            .names
            .get(s.attr)
            .and_then(|n| n.rsplit(':').next())
            .unwrap_or("");
        sample_line(
            self.perf,
            self.printer.as_mut(),
            &self.comms,
            s,
            short,
            LineMode::Pretty,
            line,
        );
    }

    /// The name of task `tid` now: from the COMM records seen, else the
    /// saved cmdlines.
    pub fn comm(&self, tid: Pid) -> Option<String> {
        self.comms.get(&tid).map_or_else(
            || {
                let t = self.perf.tracing.as_ref()?;
                t.comm(tid).map(str::to_string)
            },
            |c| Some(String::from_utf8_lossy(c).into_owned()),
        )
    }
}

/// The lines (as [`dump_perf`] prints them) of the tracepoint samples at
/// the given indices, counting tracepoint samples in perf's order as the
/// analysis does ([`crate::analysis::analyze_perf_with_info`]). Stops after
/// the last wanted one.
pub fn perf_sample_lines(
    perf: &PerfData<'_>,
    wanted: &std::collections::BTreeSet<u64>,
) -> std::collections::BTreeMap<u64, String> {
    let mut out = std::collections::BTreeMap::new();
    let Some(&last) = wanted.last() else {
        return out;
    };
    let mut lines = PerfLines::new(perf);
    let mut index = 0u64;
    let mut line = Vec::with_capacity(256);
    for rec in perf.sorted_records().flatten() {
        lines.record(&rec);
        match rec {
            PerfRecord::Sample(s)
                if s.raw.is_some() && perf.attrs[s.attr].kind == PERF_TYPE_TRACEPOINT =>
            {
                if wanted.contains(&index) {
                    line.clear();
                    lines.line(&s, &mut line);
                    out.insert(index, String::from_utf8_lossy(&line).into_owned());
                }
                if index == last {
                    break;
                }
                index += 1;
            }
            _ => {}
        }
    }
    out
}

fn cpu_text(c: Option<Cpu>) -> String {
    c.map_or_else(|| "?".to_string(), |c| c.0.to_string())
}

/// `%16s-%-5d [%03d] %5llu.%09llu: ` (comm, tid, CPU, time).
fn write_columns(
    perf: &PerfData<'_>,
    comms: &HashMap<Pid, Vec<u8>>,
    s: &Sample<'_>,
    out: &mut Vec<u8>,
) {
    let tid = s.tid.unwrap_or_default();
    let saved = || {
        perf.tracing
            .as_ref()
            .and_then(|t| t.comm(tid))
            .map(|c| c.as_bytes().to_vec())
    };
    let comm = if tid.0 == 0 {
        b"<idle>".to_vec()
    } else {
        comms
            .get(&tid)
            .cloned()
            .or_else(saved)
            .unwrap_or_else(|| b"<...>".to_vec())
    };
    let comm = String::from_utf8_lossy(&comm);
    let ts = s.time.unwrap_or(Timestamp(0));
    let _ = write!(
        out,
        "{comm:>16}-{:<5} [{:03}] {:5}.{:09}: ",
        tid.0,
        s.cpu.map_or(0, |c| c.0),
        ts.secs(),
        ts.subsec_nanos()
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use mmrace_parsers::Endian;
    use mmrace_parsers::perf::sample_type as st;
    use mmrace_parsers::perf::writer::{AttrSpec, PerfDataBuilder, SampleSpec, tracing_data};
    use mmrace_parsers::tracedat::writer::EventPayload;

    const DEMO: &str = "name: demo\nID: 7\nformat:\n\
        \tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\
        \tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n\
        \tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n\
        \tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n\
        \tfield:u64 value;\toffset:8;\tsize:8;\tsigned:0;\n\n\
        print fmt: \"value=%llu\", REC->value\n";

    /// Lines in time order, comms from COMM records (else the saved
    /// cmdlines, else `<...>`), losses where they fall, in both byte orders
    /// and both forms; filters by CPU and event.
    #[test]
    fn samples_comms_and_losses_in_time_order() {
        for e in [Endian::Little, Endian::Big] {
            let mut b = PerfDataBuilder::new(e);
            let t = st::TID | st::TIME | st::CPU | st::RAW | st::IDENTIFIER;
            let tp = b.attr(AttrSpec::tracepoint(7, t, &[1]));
            b.tracing_data(tracing_data(e, 8, &[("demo", DEMO)], "12 saved\n"))
                .nr_cpus(2, 2);
            let s = |time: u64, cpu: u32, tid: i32, v: u64| SampleSpec {
                id: 1,
                pid: 11,
                tid,
                time,
                cpu,
                raw: EventPayload::new(e, 7, 0, 0, Pid(tid)).u64(v).finish(),
                ..SampleSpec::default()
            };
            let at = SampleSpec {
                id: 1,
                pid: 11,
                tid: 11,
                time: 1_500_000_000,
                cpu: 1,
                ..SampleSpec::default()
            };
            b.comm(tp, 11, 11, "worker", false, &SampleSpec::default());
            b.sample(tp, &s(2_000_000_000, 0, 11, 2));
            b.sample(tp, &s(1_000_000_000, 1, 12, 1));
            b.lost(tp, 1, 5, &at);
            b.sample(tp, &s(3_000_000_123, 1, 13, 3));
            let bytes = b.finish();
            let perf = PerfData::parse(&bytes).unwrap();
            let run = |opts: &DumpOptions| {
                let mut out = Vec::new();
                let sum = dump_perf(&perf, opts, &mut out).unwrap();
                assert!(sum.errors.is_empty(), "{:?}", sum.errors);
                String::from_utf8(out).unwrap()
            };
            assert_eq!(
                run(&DumpOptions::default()),
                "cpus=2\n\
                 \x20          saved-12    [001]     1.000000000: demo:                 value=1\n\
                 CPU:1 [5 EVENTS DROPPED]\n\
                 \x20         worker-11    [000]     2.000000000: demo:                 value=2\n\
                 \x20          <...>-13    [001]     3.000000123: demo:                 value=3\n"
            );
            let raw = run(&DumpOptions {
                raw: true,
                cpus: vec![0],
                events: vec!["demo:demo".into()],
            });
            assert_eq!(
                raw,
                "cpus=2\n\
                 \x20         worker-11    [000]     2.000000000: demo:                  value=2\n"
            );
            let none = run(&DumpOptions {
                events: vec!["sched:demo".into()],
                ..DumpOptions::default()
            });
            assert_eq!(none.lines().count(), 2, "{none}");
        }
    }
}
