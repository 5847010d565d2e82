//! `mmrace dump` as a user runs it: exit codes, filters, error text.

use assert_cmd::Command;
use std::path::{Path, PathBuf};

fn fixture(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(p)
}

fn mmrace() -> Command {
    Command::cargo_bin("mmrace").unwrap()
}

#[test]
fn good_file_exits_zero_and_prints_cpus_line() {
    let out = mmrace()
        .args(["dump", "--raw"])
        .arg(fixture("s390x/full-v7.dat"))
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    assert_eq!(text.lines().next(), Some("cpus=2"));
    assert_eq!(text.lines().count(), 1 + 40324);
}

#[test]
fn truncated_file_prints_what_it_can_and_exits_two_naming_offset_and_cpu() {
    let a = mmrace()
        .args(["dump", "--raw"])
        .arg(fixture("x86_64/x86_64-truncated.dat"))
        .assert()
        .code(2);
    let o = a.get_output();
    let stdout = String::from_utf8_lossy(&o.stdout);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stdout.lines().count() > 7000);
    assert!(
        stderr.contains("x86_64-truncated.dat: at byte offset 431314 (0x694d2), CPU 0:"),
        "{stderr}"
    );
}

#[test]
fn not_a_trace_exits_two() {
    let a = mmrace()
        .args(["dump"])
        .arg(fixture("x86_64/README.md"))
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&a.get_output().stderr).to_string();
    assert!(stderr.contains("at byte offset 0"), "{stderr}");
}

#[test]
fn cpu_and_event_filters_select_exactly_those_events() {
    let a = mmrace()
        .args([
            "dump",
            "--raw",
            "--cpu",
            "1",
            "--event",
            "sched:sched_switch",
        ])
        .arg(fixture("x86_64/x86_64-v7.dat"))
        .assert()
        .success();
    let text = String::from_utf8_lossy(&a.get_output().stdout).to_string();
    let lines: Vec<&str> = text.lines().skip(1).collect();
    assert!(!lines.is_empty());
    assert!(
        lines
            .iter()
            .all(|l| l.contains(" [001] ") && l.contains(" sched_switch: "))
    );
    // Cross-check against the oracle.
    let raw =
        zstd::decode_all(&std::fs::read(fixture("x86_64/x86_64-v7.dat.raw.txt.zst")).unwrap()[..])
            .unwrap();
    let raw = String::from_utf8(raw).unwrap();
    let expected: Vec<&str> = raw
        .lines()
        .filter(|l| l.contains(" [001] ") && l.contains(" sched_switch: "))
        .collect();
    assert_eq!(lines, expected);
}

/// The default form is trace-cmd's `report` (print fmt rendered), for a
/// big-endian function trace (`<--` parents resolved with kallsyms) and an
/// arm64 trace with kprobe events.
#[test]
fn default_form_is_trace_cmd_report() {
    for f in ["s390x/func-v7.dat", "arm64/full-v7.dat"] {
        let a = mmrace().arg("dump").arg(fixture(f)).assert().success();
        let o = a.get_output();
        assert!(
            o.stderr.is_empty(),
            "{f}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let want =
            zstd::decode_all(&std::fs::read(fixture(&format!("{f}.report.txt.zst"))).unwrap()[..])
                .unwrap();
        assert!(o.stdout == want, "{f}: differs from trace-cmd report");
    }
}

/// `mmrace dump` on a perf.data (told by its magic): one line per sample
/// in the trace.dat dump layout, per-event counts equal to perf's own, and
/// the same text as `perf script` for each sample.
#[test]
fn perf_data_dump_counts_equal_perf_and_lines_carry_perf_script_text() {
    let out = mmrace()
        .args(["dump"])
        .arg(fixture("x86_64/x86_64-perf.data"))
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("cpus=2"));
    let mut counts: std::collections::BTreeMap<String, u64> = Default::default();
    let body: Vec<&str> = lines.collect();
    for l in &body {
        // `comm-tid [cpu] secs.ns: name: text`
        let after = &l[l.find("] ").unwrap() + 2..];
        let (_, rest) = after.split_once(": ").unwrap();
        let name = rest.split_once(':').unwrap().0;
        *counts.entry(name.to_string()).or_default() += 1;
    }
    let want: std::collections::BTreeMap<String, u64> =
        std::fs::read_to_string(fixture("x86_64/x86_64-perf.data.counts.txt"))
            .unwrap()
            .lines()
            .filter_map(|l| {
                let (n, e) = l.trim().split_once(' ')?;
                let name = e.split_once(':')?.1;
                Some((name.to_string(), n.parse().unwrap()))
            })
            .collect();
    assert_eq!(counts, want);
    assert_eq!(
        body[1],
        "     migration/0-18    [000]  1919.809105727: sched_switch:         prev_comm=migration/0 prev_pid=18 prev_prio=0 prev_state=S ==> next_comm=swapper/0 next_pid=0 next_prio=120"
    );
    // The comm follows the COMM records: perf-exec until the exec, then
    // workload (as perf script names them).
    assert!(body.iter().any(|l| l.contains("perf-exec-21579 [001]")));
    assert!(
        body.iter()
            .any(|l| l.trim_start().starts_with("workload-21579 "))
    );
}

#[test]
fn perf_data_raw_dump_and_filters() {
    let out = mmrace()
        .args(["dump", "--raw", "--cpu", "1", "-e", "tlb:tlb_flush"])
        .arg(fixture("x86_64/x86_64-perf.data"))
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    let body: Vec<&str> = text.lines().skip(1).collect();
    assert!(!body.is_empty() && body.len() < 2636);
    for l in &body {
        assert!(l.contains("[001]") && l.contains(" tlb_flush: "), "{l}");
        assert!(l.contains(" pages=") && l.contains(" reason="), "{l}");
    }
}

#[test]
fn truncated_perf_data_prints_what_it_can_and_exits_two_naming_the_offset() {
    let bytes = std::fs::read(fixture("x86_64/x86_64-perf.data")).unwrap();
    let dir = std::env::temp_dir().join(format!("mmrace-cli-perf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cut = dir.join("cut.data");
    std::fs::write(&cut, &bytes[..1_000_001]).unwrap();
    let a = mmrace().args(["dump"]).arg(&cut).assert().code(2);
    let o = a.get_output();
    let stdout = String::from_utf8_lossy(&o.stdout);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stdout.lines().count() > 5000, "{}", stdout.lines().count());
    assert!(stderr.contains("cut.data: at byte offset "), "{stderr}");
    assert!(stderr.contains("perf record"), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}
