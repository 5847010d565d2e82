//! exploratory
use mmrace::analysis::{AnalyzeOptions, analyze_with_info};
use mmrace_parsers::tracedat::TraceDat;
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

#[test]
fn explore() {
    for arch in ["x86_64", "arm64", "s390x"] {
        let mut names: Vec<_> = std::fs::read_dir(fixtures().join(arch))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "dat"))
            .collect();
        names.sort();
        for p in names {
            let data = std::fs::read(&p).unwrap();
            let t = match TraceDat::parse(&data) {
                Ok(t) => t,
                Err(e) => {
                    println!("{}: parse error {e}", p.display());
                    continue;
                }
            };
            let (a, info) = analyze_with_info(&t, None, &AnalyzeOptions::default()).unwrap();
            println!(
                "== {} profile={} findings={} events={} warn={:?}",
                p.file_name().unwrap().to_string_lossy(),
                a.profile,
                a.findings.len(),
                info.events,
                a.warnings
            );
            for c in &a.coverage.invariants {
                println!(
                    "   {} checkable={} missing={:?} notes={:?}",
                    c.code, c.checkable, c.missing_roles, c.notes
                );
            }
            println!("   roles {:?}", a.stats.roles);
            for f in a.findings.iter().take(4) {
                println!("   {}", serde_json::to_string(f).unwrap());
            }
        }
    }
}
