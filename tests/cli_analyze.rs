//! `mmrace analyze`, `report` and `demo` as a CI job runs them: every output
//! format and exit code on buggy, fixed, real and damaged traces; JSON checked
//! against its published schema, JUnit parsed as XML, batches identical
//! whatever the thread count, baselines.

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The repository's `fixtures/` directory.
fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

fn mmrace() -> Command {
    Command::cargo_bin("mmrace").unwrap()
}

/// A fresh directory for this test.
fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mmrace-cli-analyze-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

const SCENARIOS: [(&str, &[&str]); 5] = [
    ("A", &["INV-1a", "INV-1"]),
    ("B", &["INV-1b", "INV-1"]),
    ("L", &["INV-2b"]),
    ("L2", &["INV-3"]),
    ("X", &["INV-2"]),
];

fn synth(dir: &Path, scenario: &str, variant: &str) -> PathBuf {
    let p = dir.join(format!("{scenario}-{variant}.dat"));
    mmrace()
        .args(["synth", "--scenario", scenario, "--variant", variant, "-o"])
        .arg(&p)
        .assert()
        .success();
    p
}

/// Every scenario, buggy and fixed, in `dir`.
fn all_scenarios(dir: &Path) -> Vec<PathBuf> {
    let mut v = Vec::new();
    for (s, _) in SCENARIOS {
        v.push(synth(dir, s, "buggy"));
        v.push(synth(dir, s, "fixed"));
    }
    v
}

fn run(args: &[&str], files: &[PathBuf]) -> (i32, String, String) {
    let out = mmrace().args(args).args(files).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn schema() -> jsonschema::Validator {
    let s: Value = serde_json::from_str(mmrace::report::json::SCHEMA).unwrap();
    jsonschema::validator_for(&s).unwrap()
}

fn check_schema(v: &Value) {
    let errors: Vec<String> = schema().iter_errors(v).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "schema violations: {errors:#?}");
}

fn codes(file: &Value) -> Vec<String> {
    file["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn demo_without_a_file_finds_scenario_a() {
    let (code, out, err) = run(&["analyze", "--color", "never"], &[]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("no file given"), "{err}");
    assert!(
        out.contains("INV-1 wrong-mm-at-user-return [critical, observed]"),
        "{out}"
    );
    assert!(out.contains("INV-1a lost-thread-deferral"), "{out}");
    assert!(
        out.contains("expected mm 0xb000, loaded mm 0xa000"),
        "{out}"
    );
    // The cause chain carries the events as trace-cmd prints them.
    assert!(out.contains("sched_switch:"), "{out}");
    assert!(!out.contains('\x1b'), "no colour with --color never");
    let (_, out, _) = run(&["analyze", "--color", "always"], &[]);
    assert!(out.contains("\x1b[1;31m"), "colour with --color always");
}

#[test]
fn buggy_scenarios_exit_1_with_their_findings_and_fixed_exit_0() {
    let d = tmpdir("scenarios");
    for (s, want) in SCENARIOS {
        let buggy = synth(&d, s, "buggy");
        let (code, out, err) = run(
            &["analyze", "--format", "json"],
            std::slice::from_ref(&buggy),
        );
        assert_eq!(code, 1, "{s}: {err}");
        let v: Value = serde_json::from_str(&out).unwrap();
        check_schema(&v);
        let mut got = codes(&v["files"][0]);
        let mut want: Vec<String> = want.iter().map(|s| s.to_string()).collect();
        got.sort();
        want.sort();
        assert_eq!(got, want, "{s}");
        assert_eq!(v["exit_code"], 1);
        for f in v["files"][0]["findings"].as_array().unwrap() {
            assert_eq!(f["failing"], true);
            for link in f["cause_chain"].as_array().unwrap() {
                assert!(
                    link["line"].as_str().is_some_and(|l| !l.is_empty()),
                    "{link}"
                );
            }
        }
        let (code, out, _) = run(&["analyze", "--color", "never"], &[buggy]);
        assert_eq!(code, 1);
        for w in &want {
            assert!(out.contains(&format!("\n{w} ")), "{s}: {w} in {out}");
        }
        let fixed = synth(&d, s, "fixed");
        let (code, out, err) = run(&["analyze", "--format", "json"], &[fixed]);
        assert_eq!(code, 0, "{s} fixed: {err}");
        let v: Value = serde_json::from_str(&out).unwrap();
        check_schema(&v);
        assert!(codes(&v["files"][0]).is_empty());
    }
}

#[test]
fn fail_on_levels_change_only_the_exit_code() {
    let d = tmpdir("failon");
    let f = synth(&d, "A", "buggy");
    for (level, want) in [("observed", 1), ("inferred", 1), ("any", 1), ("never", 0)] {
        let (code, out, _) = run(
            &["analyze", "--fail-on", level, "-f", "json"],
            std::slice::from_ref(&f),
        );
        assert_eq!(code, want, "--fail-on {level}");
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(codes(&v["files"][0]).len(), 2, "--fail-on {level}");
    }
}

#[test]
fn real_fixtures_give_no_finding_and_exit_0() {
    let fx = fixtures();
    let files: Vec<PathBuf> = [
        "s390x/full-v7.dat",
        "s390x/full-v6.dat",
        "arm64/full-v7.dat",
        "x86_64/x86_64-v7-zstd.dat",
        "x86_64/x86_64-perf.data",
    ]
    .iter()
    .map(|p| fx.join(p))
    .collect();
    let (code, out, err) = run(&["report", "-f", "json"], &files);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    check_schema(&v);
    let arch: Vec<&str> = v["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["trace"]["arch"].as_str().unwrap())
        .collect();
    assert_eq!(arch, ["s390x", "s390x", "aarch64", "x86_64", "x86_64"]);
    let kinds: Vec<&str> = v["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds[3..], ["trace.dat", "perf.data"], "told by the magic");
    for f in v["files"].as_array().unwrap() {
        assert_eq!(f["status"], "ok");
        assert!(codes(f).is_empty(), "{}", f["path"]);
        assert!(f["trace"]["events"].as_u64().unwrap() > 1000);
    }
    assert_eq!(v["files"][0]["profile"], "s390x");
    assert_eq!(v["files"][0]["trace"]["endian"], "big");
}

#[test]
fn damaged_and_unreadable_files_exit_2_and_report_what_was_read() {
    let fx = fixtures();
    let trunc = fx.join("x86_64/x86_64-truncated.dat");
    let (code, out, err) = run(
        &["analyze", "--color", "never"],
        std::slice::from_ref(&trunc),
    );
    assert_eq!(code, 2);
    assert!(
        out.contains("at byte offset 431314 (0x694d2), CPU 0"),
        "{out}\n{err}"
    );
    assert!(out.contains("7887 events"), "{out}");
    assert!(out.contains("profile    x86_64"), "{out}");
    let (code, out, err) = run(&["report", "-f", "json"], &[trunc]);
    assert_eq!(code, 2);
    assert!(
        err.contains("at byte offset 431314 (0x694d2), CPU 0"),
        "{err}"
    );
    let v: Value = serde_json::from_str(&out).unwrap();
    check_schema(&v);
    assert_eq!(v["files"][0]["status"], "damaged");
    assert_eq!(v["files"][0]["trace"]["events"], 7887);

    let d = tmpdir("damaged");
    let junk = d.join("junk.dat");
    std::fs::write(&junk, b"not a trace at all").unwrap();
    let (code, out, err) = run(&["report", "-f", "json"], &[junk]);
    assert_eq!(code, 2);
    assert!(err.contains("at byte offset 0"), "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    check_schema(&v);
    assert_eq!(v["files"][0]["status"], "error");
    let (code, _, err) = run(&["analyze"], &[d.join("missing.dat")]);
    assert_eq!(code, 2, "{err}");
    let (code, _, _) = run(&["report", "-f", "nonsense"], &[d.join("junk.dat")]);
    assert_eq!(code, 2, "bad arguments exit 2");
}

#[test]
fn junit_is_xml_with_a_case_per_file_and_invariant() {
    let d = tmpdir("junit");
    let files = vec![
        synth(&d, "A", "buggy"),
        fixtures().join("s390x/full-v7.dat"),
    ];
    let out_path = d.join("report.xml");
    let (code, out, _) = run(
        &["report", "-f", "junit", "-o", out_path.to_str().unwrap()],
        &files,
    );
    assert_eq!(code, 1);
    assert!(out.is_empty(), "--output writes the file, not stdout");
    let xml = std::fs::read_to_string(&out_path).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let suites: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testsuite"))
        .collect();
    assert_eq!(suites.len(), 2);
    for s in &suites {
        let cases = s.children().filter(|n| n.has_tag_name("testcase")).count();
        assert_eq!(cases, 6, "one case per invariant");
        assert_eq!(s.attribute("tests"), Some("6"));
    }
    let failures: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("failure"))
        .collect();
    assert_eq!(
        failures.len(),
        2,
        "INV-1 and INV-1a fail in the buggy trace"
    );
    for f in &failures {
        let m = f.attribute("message").unwrap();
        assert!(m.contains("window 1.0000"), "{m}");
        assert!(m.contains("on CPU 1"), "{m}");
    }
    // The real s390x trace cannot check INV-2b: skipped, saying what to record.
    let skipped: Vec<_> = suites[1]
        .descendants()
        .filter(|n| n.has_tag_name("skipped"))
        .collect();
    assert_eq!(skipped.len(), 4);
    assert!(
        skipped
            .iter()
            .any(|s| s.attribute("message").unwrap().contains("pte-update-begin"))
    );
}

#[test]
fn markdown_and_jsonl_cover_every_file() {
    let d = tmpdir("md");
    let files = all_scenarios(&d);
    let (code, md, _) = run(&["report", "-f", "markdown"], &files);
    assert_eq!(code, 1);
    assert!(md.starts_with("## mmrace: findings"), "{md}");
    for f in &files {
        assert!(md.contains(&format!("`{}`", f.display())), "{md}");
    }
    assert_eq!(md.matches("<details>").count(), 7, "{md}");
    let (code, jl, _) = run(&["report", "-f", "jsonl"], &files);
    assert_eq!(code, 1);
    let lines: Vec<Value> = jl
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), files.len());
    for (l, f) in lines.iter().zip(&files) {
        assert_eq!(l["schema_version"], 1);
        assert_eq!(l["path"], f.display().to_string());
        // Each line is a schema `file` object.
        let doc = serde_json::json!({
            "schema_version": 1, "tool": l["tool"], "fail_on": "observed", "exit_code": 1,
            "summary": {"files": 1, "findings": 0, "failing": 0, "unreadable_or_damaged": 0},
            "files": [l],
        });
        check_schema(&doc);
    }
}

#[test]
fn batch_output_is_the_same_with_1_and_2_threads_and_from_a_directory() {
    let d = tmpdir("batch");
    let files = all_scenarios(&d);
    std::fs::write(d.join("README.txt"), "not a trace: skipped in a directory").unwrap();
    let mut sorted = files.clone();
    sorted.sort();
    for fmt in ["json", "text", "junit", "html"] {
        let (c1, o1, _) = run(&["report", "-f", fmt, "-j", "1"], &sorted);
        let (c2, o2, _) = run(&["report", "-f", fmt, "-j", "2"], &sorted);
        let (c3, o3, _) = run(&["report", "-f", fmt, "-j", "2"], std::slice::from_ref(&d));
        assert_eq!((c1, c2, c3), (1, 1, 1));
        assert_eq!(o1, o2, "{fmt}: 1 vs 2 threads");
        assert_eq!(
            o1.replace(&d.display().to_string(), ""),
            o3.replace(&d.display().to_string(), ""),
            "{fmt}: files vs directory"
        );
    }
    let pattern = d.join("*-buggy.dat");
    let (code, out, _) = run(&["report", "-f", "jsonl"], &[pattern]);
    assert_eq!(code, 1);
    assert_eq!(out.lines().count(), 5);
}

#[test]
fn baseline_accepts_known_findings_and_fails_on_new_ones() {
    let d = tmpdir("baseline");
    let a = synth(&d, "A", "buggy");
    let b = synth(&d, "B", "buggy");
    let base = d.join("baseline.json");
    let (code, _, _) = run(
        &[
            "analyze",
            "-f",
            "json",
            "--write-baseline",
            base.to_str().unwrap(),
        ],
        std::slice::from_ref(&a),
    );
    assert_eq!(code, 1);
    let (code, out, _) = run(
        &[
            "analyze",
            "-f",
            "json",
            "--baseline",
            base.to_str().unwrap(),
        ],
        std::slice::from_ref(&a),
    );
    assert_eq!(code, 0, "every finding is in the baseline");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert!(
        v["files"][0]["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["baselined"] == true)
    );
    let (code, out, _) = run(
        &[
            "analyze",
            "-f",
            "json",
            "--baseline",
            base.to_str().unwrap(),
        ],
        &[a, b],
    );
    assert_eq!(code, 1, "scenario B's findings are new");
    let v: Value = serde_json::from_str(&out).unwrap();
    check_schema(&v);
    assert_eq!(v["summary"]["failing"], 2);
    std::fs::write(&base, "{}").unwrap();
    let (code, _, err) = run(
        &["analyze", "--baseline", base.to_str().unwrap()],
        &[d.join("A-buggy.dat")],
    );
    assert_eq!(code, 2, "a broken baseline is an error: {err}");
}

#[test]
fn completions_and_man_page_come_from_the_cli_definition() {
    let (code, out, _) = run(&["completions", "bash"], &[]);
    assert_eq!(code, 0);
    assert!(
        out.contains("--fail-on"),
        "bash completion knows the options"
    );
    let (code, out, _) = run(&["man"], &[]);
    assert_eq!(code, 0);
    assert!(out.contains(".TH mmrace"), "{out}");
    let (_, help, _) = run(&["--help"], &[]);
    assert!(help.contains("Exit codes"), "{help}");
}

/// Writes scenario A (buggy) with `edit` applied to the generated trace.
fn synth_edited(
    dir: &Path,
    name: &str,
    edit: impl FnOnce(&mut mmrace::synth::SynthTrace),
) -> PathBuf {
    use mmrace::synth::{Scenario, SynthOptions, Variant};
    let opts = SynthOptions::new(Scenario::A, Variant::Buggy);
    let mut t = mmrace::synth::build(&opts).unwrap();
    edit(&mut t);
    let p = dir.join(name);
    let f = std::fs::File::create(&p).unwrap();
    mmrace::synth::write_trace(&t, &opts, std::io::BufWriter::new(f)).unwrap();
    p
}

#[test]
fn lost_events_make_findings_suspect_and_are_reported_per_cpu() {
    let d = tmpdir("lost");
    // CPU 1 lost 7 events inside the INV-1 window (1.000020 .. 1.000040 s).
    let lost = synth_edited(&d, "lost.dat", |t| t.mark_lost(1, 1_000_030_000, 7));
    let (code, out, _) = run(&["analyze", "-f", "json"], std::slice::from_ref(&lost));
    let v: Value = serde_json::from_str(&out).unwrap();
    check_schema(&v);
    // INV-1a's window ends at the return to user, before the loss: it stays
    // observed and fails the run; INV-1 is suspect and does not.
    assert_eq!(code, 1);
    assert_eq!(v["summary"]["failing"], 1);
    let f = &v["files"][0];
    assert_eq!(f["trace"]["lost"][0]["cpu"], 1);
    assert_eq!(f["trace"]["lost"][0]["events"], 7);
    let inv1 = f["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["code"] == "INV-1")
        .unwrap();
    assert_eq!(inv1["confidence"], "suspect");
    assert_eq!(inv1["suspect_reasons"][0]["kind"], "lost-events");
    assert_eq!(inv1["failing"], false);
    let (code, out, _) = run(
        &["analyze", "--fail-on", "any", "-f", "json"],
        std::slice::from_ref(&lost),
    );
    assert_eq!(code, 1);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["summary"]["failing"], 2);
    let (_, text, _) = run(&["analyze", "--color", "never"], &[lost]);
    assert!(
        text.contains("lost       CPU 1: 7 events in 1 pages"),
        "{text}"
    );
    assert!(
        text.contains("suspect:  CPU 1 lost events in the window"),
        "{text}"
    );

    // CPU 0's ring buffer overran: its data starts late.
    let over = synth_edited(&d, "overrun.dat", |t| t.set_overrun(0, 42));
    let (_, out, _) = run(&["analyze", "-f", "json"], std::slice::from_ref(&over));
    let v: Value = serde_json::from_str(&out).unwrap();
    let cpus = v["files"][0]["trace"]["cpus"].as_array().unwrap();
    let c0 = cpus.iter().find(|c| c["cpu"] == 0).unwrap();
    assert_eq!(c0["overrun"], 42);
    assert_eq!(c0["starts_late"], true);
    let c1 = cpus.iter().find(|c| c["cpu"] == 1).unwrap();
    assert_eq!(c1["starts_late"], false);
    let lost0 = &v["files"][0]["coverage"]["lost"][0];
    assert_eq!(lost0["cpu"], 0);
    assert_eq!(lost0["spans"][0]["from"], 0);
    let (_, text, _) = run(&["analyze", "--color", "never"], &[over]);
    assert!(
        text.contains("CPU 0: ring buffer overwrote 42 events: its data starts late"),
        "{text}"
    );
}
