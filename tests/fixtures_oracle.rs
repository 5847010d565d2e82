//! Every trace.dat under `fixtures/` against trace-cmd's own output.
//!
//! For each `F.dat` with an `F.raw.txt.zst` oracle (`trace-cmd report -R -t`,
//! trace-cmd 3.1.6), `mmrace dump --raw` must be byte-identical, and the
//! per-event and per-CPU counts must equal `F.counts.txt`. The truncated
//! files must give every complete event before the cut, then an error naming
//! the offset and CPU.

use mmrace_parsers::tracedat::{Item, TraceDat};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

mod common;
use common::{dump_bytes, fixtures, sibling};

fn oracle_files() -> Vec<PathBuf> {
    common::oracle_files(".raw.txt.zst")
}

#[test]
fn raw_dump_is_byte_identical_to_trace_cmd() {
    let mut failures = Vec::new();
    for f in oracle_files() {
        let data = std::fs::read(&f).unwrap();
        let expected =
            zstd::decode_all(&std::fs::read(sibling(&f, ".raw.txt.zst")).unwrap()[..]).unwrap();
        let (got, s, warnings) = dump_bytes(&data, true);
        let problems = s.errors.len() + warnings;
        if problems != 0 {
            failures.push(format!("{}: {problems} errors/warnings", f.display()));
        }
        if got != expected {
            let line = got
                .split(|&b| b == b'\n')
                .zip(expected.split(|&b| b == b'\n'))
                .position(|(a, b)| a != b)
                .map_or(0, |l| l + 1);
            failures.push(format!(
                "{}: differs from the oracle at line {line}",
                f.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// `F.counts.txt`: `count name` rows under `# events per name`, `count cpu
/// [NNN]` rows and `TOTAL` under `# events per cpu`.
fn read_counts(p: &Path) -> (BTreeMap<String, u64>, BTreeMap<u32, u64>, u64) {
    let text = std::fs::read_to_string(p).unwrap();
    let (mut names, mut cpus, mut total) = (BTreeMap::new(), BTreeMap::new(), 0);
    let mut section = 0;
    for line in text.lines() {
        if line.starts_with("# events per name") {
            section = 1;
            continue;
        }
        if line.starts_with("# events per cpu") {
            section = 2;
            continue;
        }
        let mut it = line.split_whitespace();
        let (Some(n), Some(rest)) = (it.next(), it.next()) else {
            continue;
        };
        let Ok(n) = n.parse::<u64>() else { continue };
        match (section, rest) {
            (2, "TOTAL") => total = n,
            (2, "cpu") => {
                let c = it.next().unwrap().trim_matches(['[', ']']).parse().unwrap();
                cpus.insert(c, n);
            }
            (1, name) => {
                names.insert(name.to_string(), n);
            }
            _ => {}
        }
    }
    (names, cpus, total)
}

#[test]
fn counts_per_event_and_cpu_match_trace_cmd() {
    for f in oracle_files() {
        let data = std::fs::read(&f).unwrap();
        let t = TraceDat::parse(&data).unwrap();
        let (exp_names, exp_cpus, exp_total) = read_counts(&sibling(&f, ".counts.txt"));
        let (mut names, mut cpus, mut total) = (BTreeMap::new(), BTreeMap::new(), 0u64);
        // Per CPU, independently of the merge: the merged count must equal
        // the sum of the per-CPU counts.
        for mut s in t.all_cpu_records() {
            while let Some(it) = s.next_item() {
                if let Ok(Item::Record(r)) = it {
                    let name = t
                        .record_event_id(r.payload)
                        .and_then(|id| t.format_by_id(id))
                        .map_or("?".to_string(), |e| e.name.clone());
                    *names.entry(name).or_insert(0u64) += 1;
                    *cpus.entry(r.cpu.0).or_insert(0u64) += 1;
                    total += 1;
                }
            }
        }
        let mut merged = 0u64;
        let mut m = t.merged_records();
        let mut last = 0u64;
        while let Some(it) = m.next_item() {
            if let Ok(Item::Record(r)) = it {
                assert!(
                    r.ts.0 >= last,
                    "{}: merged order goes back in time",
                    f.display()
                );
                last = r.ts.0;
                merged += 1;
            }
        }
        assert_eq!(names, exp_names, "{}", f.display());
        assert_eq!(cpus, exp_cpus, "{}", f.display());
        assert_eq!(total, exp_total, "{}", f.display());
        assert_eq!(merged, total, "{}", f.display());
    }
}

/// The truncated copies: all complete events of the cut CPU before the cut
/// (compared with the full file's oracle), then an error with the offset.
#[test]
fn truncated_files_give_every_complete_event_then_an_offset() {
    for (cut, full, at) in [
        ("x86_64-truncated.dat", "x86_64-v7.dat", 431_314u64),
        ("x86_64-v6-truncated.dat", "x86_64-v6.dat", 423_122),
    ] {
        let dir = fixtures().join("x86_64");
        let data = std::fs::read(dir.join(cut)).unwrap();
        let (out, s, _) = dump_bytes(&data, true);
        let got = String::from_utf8(out).unwrap();
        let got: Vec<&str> = got.lines().skip(1).collect();
        let full_raw = String::from_utf8(
            zstd::decode_all(&std::fs::read(dir.join(format!("{full}.raw.txt.zst"))).unwrap()[..])
                .unwrap(),
        )
        .unwrap();
        let cpu0: Vec<&str> = full_raw.lines().filter(|l| l.contains(" [000] ")).collect();
        assert!(got.len() > 7000, "{cut}: only {} events", got.len());
        assert_eq!(got[..], cpu0[..got.len()], "{cut}: events before the cut");
        // The next CPU-0 event of the full file is the one the cut destroyed.
        assert!(got.len() < cpu0.len());
        let e = s
            .errors
            .iter()
            .find(|e| e.cpu.map(|c| c.0) == Some(0))
            .unwrap_or_else(|| panic!("{cut}: no CPU 0 error: {:?}", s.errors));
        assert_eq!(e.offset.0, at, "{cut}: {e}");
        assert!(e.to_string().contains("CPU 0"), "{e}");
    }
}
