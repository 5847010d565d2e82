//! `mmrace synth` as a user runs it: the written file is a trace.dat that
//! the analysis reads back with the scenario's findings.

use assert_cmd::Command;
use mmrace::analysis::{AnalyzeOptions, analyze};
use mmrace_parsers::Endian;
use mmrace_parsers::tracedat::TraceDat;

fn mmrace() -> Command {
    Command::cargo_bin("mmrace").unwrap()
}

fn tmp(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("mmrace-cli-synth-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d.join(name)
}

fn codes(path: &std::path::Path) -> (String, Endian, u32, Vec<&'static str>) {
    let data = std::fs::read(path).unwrap();
    let t = TraceDat::parse(&data).unwrap();
    let a = analyze(&t, None, &AnalyzeOptions::default()).unwrap();
    (
        a.profile.clone(),
        t.endian,
        t.version,
        a.findings.iter().map(|f| f.code).collect(),
    )
}

#[test]
fn writes_each_scenario_and_variant_with_every_option() {
    let cases: [(&str, &[&str]); 5] = [
        ("A", &["INV-1a", "INV-1"]),
        ("B", &["INV-1b", "INV-1"]),
        ("L", &["INV-2b"]),
        ("L2", &["INV-3"]),
        ("X", &["INV-2"]),
    ];
    for (s, want) in cases {
        let out = tmp(&format!("{s}-buggy.dat"));
        mmrace()
            .args([
                "synth",
                "--scenario",
                s,
                "--variant",
                "buggy",
                "--noise",
                "50",
            ])
            .args([
                "--seed",
                "7",
                "--endian",
                "big",
                "--file-version",
                "6",
                "-o",
            ])
            .arg(&out)
            .assert()
            .success();
        let (profile, endian, version, got) = codes(&out);
        assert_eq!(profile, if s == "X" { "x86_64" } else { "mmctx" }, "{s}");
        assert_eq!((endian, version), (Endian::Big, 6));
        assert_eq!(got, want, "{s}");

        let out = tmp(&format!("{s}-fixed.dat"));
        mmrace()
            .args([
                "synth",
                "--scenario",
                s,
                "--variant",
                "fixed",
                "--endian",
                "little",
            ])
            .args(["--file-version", "7", "--compression", "zstd", "-o"])
            .arg(&out)
            .assert()
            .success();
        let (_, endian, version, got) = codes(&out);
        assert_eq!((endian, version), (Endian::Little, 7));
        assert!(got.is_empty(), "{s} fixed: {got:?}");
    }
}

#[test]
fn same_seed_same_bytes_and_bad_options_exit_2() {
    let a = tmp("seed-a.dat");
    let b = tmp("seed-b.dat");
    for p in [&a, &b] {
        mmrace()
            .args([
                "synth",
                "--scenario",
                "B",
                "--noise",
                "100",
                "--seed",
                "3",
                "-o",
            ])
            .arg(p)
            .assert()
            .success();
    }
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());

    let c = tmp("bad.dat");
    mmrace()
        .args([
            "synth",
            "--scenario",
            "A",
            "--file-version",
            "6",
            "--compression",
            "zstd",
            "-o",
        ])
        .arg(&c)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("needs --file-version 7"));
    mmrace()
        .args(["synth", "--scenario", "Q", "-o"])
        .arg(&c)
        .assert()
        .code(2);
    mmrace()
        .args(["synth", "--scenario", "A", "--file-version", "8", "-o"])
        .arg(&c)
        .assert()
        .code(2);
    mmrace()
        .args(["synth", "--scenario", "A", "-o", "/nonexistent-dir/x.dat"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("x.dat"));
}
