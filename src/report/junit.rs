//! The JUnit XML report: one test suite per file, one test case per
//! (file, invariant). A finding that fails the run is a `<failure>` whose
//! message names the window; findings below `--fail-on` or accepted by the
//! baseline are listed in `<system-out>`; an invariant the trace could not
//! check is `<skipped>` with the reason and what to record; a file that could
//! not be read is an `<error>`.

use std::fmt::Write as _;

use crate::batch::{FileReport, FileStatus};

use super::{FailOn, is_failing, one_line};

/// Escapes text for XML attributes and text nodes.
pub fn xml_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            // Control characters are not allowed in XML 1.0.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => o.push('?'),
            c => o.push(c),
        }
    }
    o
}

/// Renders the JUnit XML report of a run.
pub fn render(files: &[FileReport], fail_on: FailOn) -> String {
    let mut suites = String::new();
    let (mut t_tests, mut t_fail, mut t_err, mut t_skip) = (0, 0, 0, 0);
    for f in files {
        let name = xml_escape(&f.path);
        let mut cases = String::new();
        let (mut tests, mut fails, mut errs, mut skips) = (0, 0, 0, 0);
        if f.status != FileStatus::Ok {
            tests += 1;
            errs += 1;
            let msg = f.errors.join("; ");
            let _ = writeln!(
                cases,
                "    <testcase classname=\"{name}\" name=\"read\">\n      <error message=\"{}\" type=\"{}\"/>\n    </testcase>",
                xml_escape(&msg),
                if f.status == FileStatus::Error {
                    "unreadable"
                } else {
                    "damaged"
                }
            );
        }
        if let Some(a) = &f.analysis {
            for c in &a.coverage.invariants {
                tests += 1;
                let _ = write!(
                    cases,
                    "    <testcase classname=\"{name}\" name=\"{} {}\">",
                    c.code,
                    c.invariant.id()
                );
                if !c.checkable {
                    skips += 1;
                    let missing: Vec<&str> = c.missing_roles.iter().map(|r| r.name()).collect();
                    let msg = format!(
                        "not checkable: missing {}; record {}",
                        missing.join(", "),
                        c.record.join("; ")
                    );
                    let _ = writeln!(
                        cases,
                        "\n      <skipped message=\"{}\"/>\n    </testcase>",
                        xml_escape(&msg)
                    );
                    continue;
                }
                let mine: Vec<usize> = (0..a.findings.len())
                    .filter(|&i| a.findings[i].invariant == c.invariant)
                    .collect();
                let failing: Vec<usize> = mine
                    .iter()
                    .copied()
                    .filter(|&i| is_failing(f, i, fail_on))
                    .collect();
                if !failing.is_empty() {
                    fails += 1;
                    let first = one_line(&a.findings[failing[0]]);
                    let msg = if failing.len() > 1 {
                        format!("{first} (and {} more)", failing.len() - 1)
                    } else {
                        first
                    };
                    let body: Vec<String> =
                        failing.iter().map(|&i| one_line(&a.findings[i])).collect();
                    let _ = write!(
                        cases,
                        "\n      <failure message=\"{}\" type=\"{}\">{}</failure>",
                        xml_escape(&msg),
                        c.code,
                        xml_escape(&body.join("\n"))
                    );
                }
                let quiet: Vec<String> = mine
                    .iter()
                    .filter(|i| !failing.contains(i))
                    .map(|&i| {
                        let why = if f.baselined.get(i).copied().unwrap_or(false) {
                            "accepted by the baseline"
                        } else {
                            "below --fail-on"
                        };
                        format!("{} ({why})", one_line(&a.findings[i]))
                    })
                    .collect();
                if !quiet.is_empty() {
                    let _ = write!(
                        cases,
                        "\n      <system-out>{}</system-out>",
                        xml_escape(&quiet.join("\n"))
                    );
                }
                if failing.is_empty() && quiet.is_empty() {
                    cases.push_str("</testcase>\n");
                } else {
                    cases.push_str("\n    </testcase>\n");
                }
            }
        }
        let _ = writeln!(
            suites,
            "  <testsuite name=\"{name}\" tests=\"{tests}\" failures=\"{fails}\" errors=\"{errs}\" skipped=\"{skips}\">\n{cases}  </testsuite>"
        );
        t_tests += tests;
        t_fail += fails;
        t_err += errs;
        t_skip += skips;
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"mmrace\" tests=\"{t_tests}\" failures=\"{t_fail}\" errors=\"{t_err}\" skipped=\"{t_skip}\">\n{suites}</testsuites>\n"
    )
}
