//! A fresh perf.data recorded by the real `perf` on this machine
//! (`perf record -e sched:sched_switch -e raw_syscalls:sys_exit -a -- sh -c
//! ...`) reads the same as `perf script` reads it: the same samples in the
//! same order, with the same pid, tid, CPU, ns timestamp, event and text,
//! so the same per-event counts.
//!
//! Needs perf and the right to record system-wide (root, or
//! `perf_event_paranoid` ≤ -1) with tracefs mounted. Without them the test
//! is skipped with a note — unless `CI` is set: then it fails.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use mmrace_parsers::perf::{PerfData, PerfRecord};
use mmrace_parsers::report::{LineMode, ReportPrinter};
use mmrace_parsers::tracedat::Record;

mod perf_script;
use perf_script::{Line, parse_line};

fn ci() -> bool {
    std::env::var_os("CI").is_some()
}

/// Skips (or, in CI, fails) with `why`.
fn unavailable(why: &str) {
    assert!(
        !ci(),
        "CI is set and {why} (.ci/run installs linux-perf; record as root)"
    );
    eprintln!("note: {why}; skipping");
}

fn perf_available() -> bool {
    let ok = Command::new("perf")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        unavailable("perf is not installed");
    }
    ok
}

/// Mounts tracefs when it is not (needs root; failure is left to perf to
/// report).
fn ensure_tracefs() {
    let t = Path::new("/sys/kernel/tracing");
    if t.join("events").exists() || Path::new("/sys/kernel/debug/tracing/events").exists() {
        return;
    }
    let _ = Command::new("mount")
        .args(["-t", "tracefs", "nodev"])
        .arg(t)
        .status();
}

fn lacks_permission(stderr: &str) -> bool {
    let s = stderr.to_ascii_lowercase();
    [
        "permission",
        "paranoid",
        "not permitted",
        "access to performance monitoring",
        "eacces",
        "eperm",
    ]
    .iter()
    .any(|w| s.contains(w))
}

#[test]
fn fresh_recording_reads_as_perf_script_reads_it() {
    if !perf_available() {
        return;
    }
    ensure_tracefs();
    let dir = std::env::temp_dir().join(format!("mmrace-perf-record-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let data = dir.join("fresh.data");
    let rec = Command::new("perf")
        .args(["record", "-q", "-o"])
        .arg(&data)
        .args([
            "-e",
            "sched:sched_switch",
            "-e",
            "raw_syscalls:sys_exit",
            "-a",
            "--",
            "sh",
            "-c",
            "for i in 1 2 3 4 5 6 7 8; do ls / > /dev/null; sleep 0.01; done",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&rec.stderr).into_owned();
    if !rec.status.success() || !data.exists() {
        std::fs::remove_dir_all(&dir).ok();
        if lacks_permission(&stderr) {
            unavailable(&format!("perf record is not permitted here: {stderr}"));
            return;
        }
        panic!("perf record failed ({}): {stderr}", rec.status);
    }
    let script = Command::new("perf")
        .args([
            "script",
            "--ns",
            "-F",
            "comm,pid,tid,cpu,time,event,trace",
            "-i",
        ])
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        script.status.success(),
        "perf script failed: {}",
        String::from_utf8_lossy(&script.stderr)
    );
    let want: Vec<Line> = String::from_utf8_lossy(&script.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(parse_line)
        .collect();
    let bytes = std::fs::read(&data).unwrap();
    std::fs::remove_dir_all(&dir).ok();
    let perf = PerfData::parse(&bytes).unwrap();
    assert!(perf.warnings.is_empty(), "{:?}", perf.warnings);
    let t = perf.tracing.as_ref().expect("tracing data");
    let mut printer = ReportPrinter::new(t);
    let mut got = Vec::new();
    for r in perf.sorted_records() {
        let PerfRecord::Sample(s) = r.unwrap() else {
            continue;
        };
        let raw = s.raw.unwrap();
        let f = t
            .record_event_id(raw)
            .and_then(|id| t.format_by_id(id))
            .unwrap();
        let rec = Record {
            ts: s.time.unwrap(),
            cpu: s.cpu.unwrap(),
            buffer: 0,
            payload: raw,
            offset: s.offset,
        };
        got.push(Line {
            pid: s.pid.unwrap().0,
            tid: s.tid.unwrap().0,
            cpu: s.cpu.unwrap().0,
            ns: s.time.unwrap().0,
            event: format!("{}:{}", f.system, f.name),
            text: printer.event_text(&rec, LineMode::Pretty),
        });
    }
    let count = |v: &[Line]| {
        let mut m: BTreeMap<String, u64> = BTreeMap::new();
        for l in v {
            *m.entry(l.event.clone()).or_default() += 1;
        }
        m
    };
    let counts = count(&got);
    eprintln!("fresh recording: {} samples {counts:?}", got.len());
    assert_eq!(counts, count(&want));
    assert!(
        counts.get("sched:sched_switch").copied().unwrap_or(0) > 0,
        "{counts:?}"
    );
    assert!(
        counts.get("raw_syscalls:sys_exit").copied().unwrap_or(0) > 0,
        "{counts:?}"
    );
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert_eq!(g, w, "sample {i}");
    }
}
