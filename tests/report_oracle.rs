//! `mmrace dump` (the pretty form) against `trace-cmd report -N -t`.
//!
//! For every trace.dat under `fixtures/` with an `F.report.txt.zst` oracle
//! (trace-cmd 3.1.6 with libtraceevent 1.7.1, no plugins), the dump must be
//! byte-identical, except for the lines listed in [`EXCEPTIONS`] with the
//! reason trace-cmd's line cannot be reproduced.

mod common;
use common::{dump_bytes, fixtures, oracle_files, sibling};

/// Lines where trace-cmd's output cannot be reproduced, with the reason:
/// (file relative to `fixtures/`, 1-based line number, the oracle's line).
const EXCEPTIONS: &[(&str, usize, &str)] = &[];

#[test]
fn pretty_dump_is_byte_identical_to_trace_cmd_report() {
    let mut failures = Vec::new();
    let mut used = vec![false; EXCEPTIONS.len()];
    for f in oracle_files(".report.txt.zst") {
        let rel = f
            .strip_prefix(fixtures())
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let data = std::fs::read(&f).unwrap();
        let expected =
            zstd::decode_all(&std::fs::read(sibling(&f, ".report.txt.zst")).unwrap()[..]).unwrap();
        let (got, summary, warnings) = dump_bytes(&data, false);
        if warnings != 0 {
            failures.push(format!("{rel}: {warnings} metadata warnings"));
        }
        if !summary.errors.is_empty() {
            failures.push(format!("{rel}: errors {:?}", summary.errors));
        }
        for w in &summary.render_failures {
            failures.push(format!("{rel}: {w:?}"));
        }
        let got_lines: Vec<&[u8]> = got.split(|&b| b == b'\n').collect();
        let exp_lines: Vec<&[u8]> = expected.split(|&b| b == b'\n').collect();
        if got_lines.len() != exp_lines.len() {
            failures.push(format!(
                "{rel}: {} lines, the oracle has {}",
                got_lines.len(),
                exp_lines.len()
            ));
        }
        let mut shown = 0;
        for (i, (g, e)) in got_lines.iter().zip(&exp_lines).enumerate() {
            if g == e {
                continue;
            }
            let exc = EXCEPTIONS.iter().position(|(file, line, text)| {
                *file == rel && *line == i + 1 && text.as_bytes() == *e
            });
            if let Some(k) = exc {
                used[k] = true;
                continue;
            }
            if shown < 5 {
                failures.push(format!(
                    "{rel}:{}\n  got:    {}\n  oracle: {}",
                    i + 1,
                    String::from_utf8_lossy(g),
                    String::from_utf8_lossy(e)
                ));
            }
            shown += 1;
        }
        if shown > 5 {
            failures.push(format!("{rel}: {shown} lines differ in all"));
        }
    }
    for (k, u) in used.iter().enumerate() {
        if !u {
            failures.push(format!("exception not met: {:?}", EXCEPTIONS[k]));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
