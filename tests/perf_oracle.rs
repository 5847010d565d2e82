//! The perf.data reader against perf itself on the real x86_64 fixture:
//! `perf script --ns --show-task-events -F comm,pid,tid,cpu,time,event,trace`
//! (`x86_64-perf.data.script-tasks-ns.txt.zst`) and the per-event counts
//! (`x86_64-perf.data.counts.txt`). Every sample is compared in order: its
//! pid, tid, CPU, ns timestamp, event and text; sched_switch, tlb_flush and
//! sys_exit also field by field, decoded from the raw payload without the
//! print fmt. COMM, FORK and EXIT records are compared the same way.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use mmrace_parsers::format::EventFormat;
use mmrace_parsers::perf::{PerfData, PerfRecord};
use mmrace_parsers::report::{LineMode, ReportPrinter};
use mmrace_parsers::tracedat::{Record, TraceDat};
use mmrace_parsers::types::EventId;

mod perf_script;
use perf_script::{Line, parse_line};

fn fixture(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/x86_64")
        .join(p)
}

fn perf_bytes() -> Vec<u8> {
    std::fs::read(fixture("x86_64-perf.data")).unwrap()
}

fn oracle() -> Vec<Line> {
    let z = std::fs::read(fixture("x86_64-perf.data.script-tasks-ns.txt.zst")).unwrap();
    let text = String::from_utf8(zstd::decode_all(&z[..]).unwrap()).unwrap();
    text.lines().map(parse_line).collect()
}

fn event_name(t: &TraceDat<'_>, raw: &[u8]) -> String {
    let f = t
        .record_event_id(raw)
        .and_then(|id| t.format_by_id(id))
        .unwrap();
    format!("{}:{}", f.system, f.name)
}

#[test]
fn sample_counts_equal_perf_counts() {
    let bytes = perf_bytes();
    let perf = PerfData::parse(&bytes).unwrap();
    assert!(perf.warnings.is_empty(), "{:?}", perf.warnings);
    let mut got: BTreeMap<String, u64> = BTreeMap::new();
    for r in perf.records() {
        if let PerfRecord::Sample(s) = r.unwrap() {
            *got.entry(perf.attr_name(s.attr)).or_default() += 1;
        }
    }
    let want: BTreeMap<String, u64> =
        std::fs::read_to_string(fixture("x86_64-perf.data.counts.txt"))
            .unwrap()
            .lines()
            .filter_map(|l| {
                let (n, e) = l.trim().split_once(' ')?;
                (e != "TOTAL").then(|| (e.to_string(), n.parse().unwrap()))
            })
            .collect();
    assert_eq!(want.len(), 12);
    assert_eq!(got, want);
}

#[test]
fn every_sample_matches_perf_script_in_order() {
    let bytes = perf_bytes();
    let perf = PerfData::parse(&bytes).unwrap();
    let t = perf.tracing.as_ref().unwrap();
    let mut printer = ReportPrinter::new(t);
    let want: Vec<Line> = oracle()
        .into_iter()
        .filter(|l| !l.event.starts_with("PERF_RECORD"))
        .collect();
    assert_eq!(want.len(), 24489);
    let mut n = 0;
    for r in perf.sorted_records() {
        let PerfRecord::Sample(s) = r.unwrap() else {
            continue;
        };
        let raw = s.raw.unwrap();
        let rec = Record {
            ts: s.time.unwrap(),
            cpu: s.cpu.unwrap(),
            buffer: 0,
            payload: raw,
            offset: s.offset,
        };
        let got = Line {
            pid: s.pid.unwrap().0,
            tid: s.tid.unwrap().0,
            cpu: s.cpu.unwrap().0,
            ns: s.time.unwrap().0,
            event: event_name(t, raw),
            text: printer.event_text(&rec, LineMode::Pretty),
        };
        assert_eq!(got, want[n], "sample {n} at offset {}", s.offset);
        n += 1;
    }
    assert_eq!(n, want.len());
}

fn num(f: &EventFormat, name: &str, raw: &[u8], t: &TraceDat<'_>) -> i64 {
    f.field(name).unwrap().read_i64(raw, t.endian).unwrap()
}

fn text_field<'a>(text: &'a str, key: &str) -> &'a str {
    let start = text
        .find(key)
        .unwrap_or_else(|| panic!("{key} in {text:?}"))
        + key.len();
    let rest = &text[start..];
    rest.split([' ']).next().unwrap()
}

#[test]
fn sched_switch_tlb_flush_and_sys_exit_fields_equal_perf_script() {
    let bytes = perf_bytes();
    let perf = PerfData::parse(&bytes).unwrap();
    let t = perf.tracing.as_ref().unwrap();
    let fmt = |s: &str, n: &str| t.format_by_name(s, n).unwrap();
    let (sw, tlb, sx) = (
        fmt("sched", "sched_switch"),
        fmt("tlb", "tlb_flush"),
        fmt("raw_syscalls", "sys_exit"),
    );
    let want: Vec<Line> = oracle()
        .into_iter()
        .filter(|l| !l.event.starts_with("PERF_RECORD"))
        .collect();
    let mut checked = BTreeMap::<&str, u64>::new();
    let samples = perf.sorted_records().filter_map(|r| match r.unwrap() {
        PerfRecord::Sample(s) => Some(s),
        _ => None,
    });
    for (i, s) in samples.enumerate() {
        let w = &want[i];
        let raw = s.raw.unwrap();
        let id = t.record_event_id(raw).unwrap();
        assert_eq!(
            (s.time.unwrap().0, s.cpu.unwrap().0),
            (w.ns, w.cpu),
            "sample {i}"
        );
        let str_field = |f: &EventFormat, n: &str| {
            String::from_utf8_lossy(f.field(n).unwrap().read_str(raw, t.endian).unwrap())
                .into_owned()
        };
        if id == sw.id {
            assert_eq!(w.event, "sched:sched_switch");
            let x = &w.text;
            assert_eq!(str_field(sw, "prev_comm"), text_field(x, "prev_comm="));
            assert_eq!(str_field(sw, "next_comm"), text_field(x, "next_comm="));
            for k in ["prev_pid", "prev_prio", "next_pid", "next_prio"] {
                let v: i64 = text_field(x, &format!("{k}=")).parse().unwrap();
                assert_eq!(num(sw, k, raw, t), v, "{k} of sample {i}: {x}");
            }
            // The common_pid is the switching task: perf's tid, or -1 for
            // an exiting thread perf could no longer name.
            let cp = t.record_pid(raw).unwrap().0;
            assert!(w.tid == cp || w.tid == -1, "sample {i}");
            assert_eq!(num(sw, "prev_pid", raw, t), i64::from(cp));
            *checked.entry("sched_switch").or_default() += 1;
        } else if id == tlb.id {
            assert_eq!(w.event, "tlb:tlb_flush");
            let pages: i64 = text_field(&w.text, "pages:").parse().unwrap();
            assert_eq!(num(tlb, "pages", raw, t), pages, "sample {i}");
            let reason: i64 = w
                .text
                .rsplit('(')
                .next()
                .unwrap()
                .trim_end_matches(')')
                .parse()
                .unwrap();
            assert_eq!(num(tlb, "reason", raw, t), reason, "sample {i}");
            *checked.entry("tlb_flush").or_default() += 1;
        } else if id == sx.id {
            assert_eq!(w.event, "raw_syscalls:sys_exit");
            // "NR 0 = 1"
            let mut it = w.text.split_whitespace();
            assert_eq!(it.next(), Some("NR"));
            let nr: i64 = it.next().unwrap().parse().unwrap();
            assert_eq!(it.next(), Some("="));
            let ret: i64 = it.next().unwrap().parse().unwrap();
            assert_eq!(num(sx, "id", raw, t), nr, "sample {i}");
            assert_eq!(num(sx, "ret", raw, t), ret, "sample {i}");
            *checked.entry("sys_exit").or_default() += 1;
        }
    }
    let expect: BTreeMap<&str, u64> = [
        ("sched_switch", 3662),
        ("sys_exit", 9346),
        ("tlb_flush", 2636),
    ]
    .into();
    assert_eq!(checked, expect);
    assert_ne!(sw.id, EventId(0));
}

#[test]
fn comm_fork_and_exit_records_match_perf_script() {
    let bytes = perf_bytes();
    let perf = PerfData::parse(&bytes).unwrap();
    let want: Vec<Line> = oracle()
        .into_iter()
        .filter(|l| l.event.starts_with("PERF_RECORD") && !l.event.starts_with("PERF_RECORD_MMAP"))
        .collect();
    let mut got = Vec::new();
    for r in perf.sorted_records() {
        let r = r.unwrap();
        let (event, text, sid) = match r {
            PerfRecord::Comm(c) => (
                if c.exec {
                    "PERF_RECORD_COMM exec"
                } else {
                    "PERF_RECORD_COMM"
                },
                format!("{}:{}/{}", String::from_utf8_lossy(c.comm), c.pid, c.tid),
                c.sample_id,
            ),
            PerfRecord::Fork(f) | PerfRecord::Exit(f) => (
                if matches!(r, PerfRecord::Fork(_)) {
                    "PERF_RECORD_FORK"
                } else {
                    "PERF_RECORD_EXIT"
                },
                format!("{}:{}):({}:{})", f.pid, f.tid, f.ppid, f.ptid),
                f.sample_id,
            ),
            _ => continue,
        };
        got.push(Line {
            pid: sid.pid.map_or(0, |p| p.0),
            tid: sid.tid.map_or(0, |p| p.0),
            cpu: sid.cpu.map_or(0, |c| c.0),
            ns: sid.time.map_or(0, |t| t.0),
            event: event.to_string(),
            text,
        });
    }
    assert_eq!(got.len(), 88 + 109 + 31);
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(g, w, "task record {i}");
    }
}
