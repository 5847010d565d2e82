//! The HTML report as a browser renders it: headless Chromium loads the
//! self-contained page (no network) and dumps the DOM it built; the test
//! checks the summary, the findings table and one SVG lane picture per
//! finding, with the shaded window and the lanes of every CPU.
//!
//! Needs Chromium (`apt-get install chromium`; `.ci/run` installs it). When
//! it is missing the test fails under CI (`CI` set) and is skipped, loudly,
//! elsewhere.

use assert_cmd::Command;
use std::path::{Path, PathBuf};

fn chromium() -> Option<PathBuf> {
    for c in ["chromium", "chromium-browser", "google-chrome"] {
        if let Ok(o) = std::process::Command::new("which").arg(c).output() {
            if o.status.success() {
                let p = String::from_utf8_lossy(&o.stdout).trim().to_string();
                if !p.is_empty() {
                    return Some(PathBuf::from(p));
                }
            }
        }
    }
    None
}

/// The DOM Chromium builds from `page`, serialised.
fn rendered_dom(browser: &Path, page: &Path, profile: &Path) -> String {
    let out = std::process::Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs");
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn html_report_renders_one_svg_per_finding_in_chromium() {
    let Some(browser) = chromium() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but Chromium is missing: .ci/run must install it"
        );
        eprintln!("SKIPPED: no chromium on this machine (apt-get install chromium)");
        return;
    };
    let dir = std::env::temp_dir().join(format!("mmrace-html-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut files = Vec::new();
    for s in ["A", "B", "L"] {
        let p = dir.join(format!("{s}.dat"));
        Command::cargo_bin("mmrace")
            .unwrap()
            .args([
                "synth",
                "--scenario",
                s,
                "--variant",
                "buggy",
                "--noise",
                "20",
                "-o",
            ])
            .arg(&p)
            .assert()
            .success();
        files.push(p);
    }
    let page = dir.join("report.html");
    let out = Command::cargo_bin("mmrace")
        .unwrap()
        .args(["report", "--format", "html", "-o"])
        .arg(&page)
        .args(&files)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "findings exit 1");
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(
        !html.contains("<script") && !html.contains("<link") && !html.contains("src="),
        "self-contained: nothing fetched"
    );
    let dom = rendered_dom(&browser, &page, &dir.join("chromium-profile"));
    // A: INV-1 + INV-1a, B: INV-1 + INV-1b, L: INV-2b.
    let findings = 5;
    assert!(dom.contains("id=\"summary\""), "{dom}");
    assert!(
        dom.contains("3 file(s), 5 finding(s), exit code 1."),
        "{dom}"
    );
    assert_eq!(
        dom.matches("<svg").count(),
        findings,
        "one picture per finding"
    );
    assert_eq!(
        dom.matches("class=\"window\"").count(),
        findings,
        "window shaded"
    );
    assert_eq!(dom.matches("<section class=\"finding\"").count(), findings);
    // Scenario B runs on two CPUs: its pictures have both lanes.
    assert!(dom.contains(">CPU 0</text>") && dom.contains(">CPU 1</text>"));
    // Returns to user are marked.
    assert!(dom.contains("class=\"mark user\""), "return-to-user marks");
    for code in ["INV-1a", "INV-1b", "INV-2b"] {
        assert!(dom.contains(code), "{code}");
    }
}
