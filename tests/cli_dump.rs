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
