//! The analysis of perf.data files: the real x86_64 fixture (no finding, a
//! coverage table true to its events, the file facts from the perf header),
//! and race-model scenarios written as perf.data in both byte orders (the
//! same findings as their trace.dat analysis; LOST and LOST_SAMPLES records
//! reach the INV-7 gate).

use std::collections::BTreeMap;
use std::path::Path;

use mmrace::analysis::{
    AnalyzeOptions, analyze_perf_with_info, analyze_records, analyze_with_info,
};
use mmrace::finding::{Finding, SuspectReason};
use mmrace::model::RoleKind;
use mmrace::synth::{Scenario, SynthOptions, Variant};
use mmrace_parsers::Endian;
use mmrace_parsers::perf::PerfData;
use mmrace_parsers::tracedat::TraceDat;
use mmrace_parsers::types::Cpu;

mod synth_perf;
use synth_perf::to_perf;

fn fixture(p: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/x86_64")
            .join(p),
    )
    .unwrap()
}

fn counts() -> BTreeMap<String, u64> {
    let t = String::from_utf8(fixture("x86_64-perf.data.counts.txt")).unwrap();
    t.lines()
        .filter_map(|l| {
            let (n, e) = l.trim().split_once(' ')?;
            Some((e.to_string(), n.parse().unwrap()))
        })
        .collect()
}

#[test]
fn real_perf_fixture_has_no_finding_and_a_true_coverage_table() {
    let bytes = fixture("x86_64-perf.data");
    let perf = PerfData::parse(&bytes).unwrap();
    let opts = AnalyzeOptions::default();
    let (a, info) = analyze_perf_with_info(&perf, None, &opts).unwrap();
    assert_eq!(a.profile, "x86_64");
    assert!(a.findings.is_empty(), "{:#?}", a.findings);
    let c = counts();
    assert_eq!(a.stats.records, c["TOTAL"]);
    assert_eq!(a.stats.cpus, 2);
    let role = |k: RoleKind| a.stats.roles.get(&k).copied().unwrap_or(0);
    assert_eq!(role(RoleKind::TaskSwitch), c["sched:sched_switch"]);
    assert_eq!(role(RoleKind::ReturnToUser), c["raw_syscalls:sys_exit"]);
    assert_eq!(role(RoleKind::KernelEntry), c["exceptions:page_fault_user"]);
    assert_eq!(
        role(RoleKind::TaskMm),
        c["mmap_lock:mmap_lock_start_locking"]
            + c["mmap_lock:mmap_lock_acquire_returned"]
            + c["mmap_lock:mmap_lock_released"]
            + c["sched:sched_process_exit"]
    );
    // tlb_flush: every record is exactly one of load / request / completion.
    assert_eq!(
        role(RoleKind::MmLoaded)
            + role(RoleKind::TlbFlushRequested)
            + role(RoleKind::TlbFlushCompleted),
        c["tlb:tlb_flush"]
    );
    assert!(a.coverage.lost.is_empty());
    // The same events as the trace.dat recordings: the same coverage.
    let dat = fixture("x86_64-v7.dat");
    let trace = TraceDat::parse(&dat).unwrap();
    let (d, _) = analyze_with_info(&trace, None, &opts).unwrap();
    assert_eq!(a.coverage.invariants, d.coverage.invariants);
    // The file facts come from the perf header.
    assert_eq!(info.arch.as_deref(), Some("x86_64"));
    assert_eq!(info.kernel_release.as_deref(), Some("6.18.44-fc-v657"));
    assert_eq!(info.trace_clock.as_deref(), Some("perf"));
    assert_eq!((info.file_version, info.endian), (2, "little"));
    assert_eq!(info.compression, "none");
    assert_eq!(info.cpu_count, 2);
    assert_eq!(info.events, c["TOTAL"]);
    assert_eq!(info.first_ts, Some(1_919_809_085_106));
    assert_eq!(info.last_ts, Some(1_919_888_782_584));
    assert!(info.lost.is_empty() && info.read_errors.is_empty());
    // One thread gives what the global pool gives.
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let seq = AnalyzeOptions::default();
    let single = one.install(|| analyze_perf_with_info(&perf, None, &seq));
    assert_eq!(single.unwrap().0, a);
}

fn key(f: &Finding) -> (String, u32, u64, u64) {
    (
        f.code.to_string(),
        f.cpu.0,
        f.window.start.ts.0,
        f.window.end_ts.0,
    )
}

#[test]
fn scenarios_as_perf_data_give_the_trace_dat_findings_in_both_byte_orders() {
    for e in [Endian::Little, Endian::Big] {
        for sc in [Scenario::A, Scenario::B, Scenario::L, Scenario::X] {
            let mut o = SynthOptions::new(sc, Variant::Buggy);
            o.endian = e;
            let t = mmrace::synth::build(&o).unwrap();
            let opts = AnalyzeOptions::default();
            let want = analyze_records(&t.formats, e, None, t.items(), &opts).unwrap();
            assert!(!want.findings.is_empty(), "{sc:?}");
            let bytes = to_perf(&t, e, &[]);
            let perf = PerfData::parse(&bytes).unwrap();
            assert_eq!(perf.endian, e);
            let (got, info) = analyze_perf_with_info(&perf, None, &opts).unwrap();
            assert_eq!(got.profile, want.profile, "{sc:?} {e:?}");
            let k = |a: &[Finding]| a.iter().map(key).collect::<Vec<_>>();
            assert_eq!(k(&got.findings), k(&want.findings), "{sc:?} {e:?}");
            assert!(got.findings.iter().all(|f| {
                f.suspect_reasons
                    == want
                        .findings
                        .iter()
                        .find(|w| key(w) == key(f))
                        .unwrap()
                        .suspect_reasons
            }));
            assert_eq!(info.endian, if e.is_big() { "big" } else { "little" });
            // The fixed variant: nothing.
            let mut o = SynthOptions::new(sc, Variant::Fixed);
            o.endian = e;
            let t = mmrace::synth::build(&o).unwrap();
            let bytes = to_perf(&t, e, &[]);
            let perf = PerfData::parse(&bytes).unwrap();
            let (got, _) = analyze_perf_with_info(&perf, None, &opts).unwrap();
            assert!(got.findings.is_empty(), "{sc:?} fixed: {:#?}", got.findings);
        }
    }
}

#[test]
fn lost_records_mark_overlapping_findings_suspect() {
    for e in [Endian::Little, Endian::Big] {
        let t = mmrace::synth::build(&SynthOptions {
            endian: e,
            ..SynthOptions::new(Scenario::A, Variant::Buggy)
        })
        .unwrap();
        let opts = AnalyzeOptions::default();
        let clean = to_perf(&t, e, &[]);
        let perf = PerfData::parse(&clean).unwrap();
        let (a, _) = analyze_perf_with_info(&perf, None, &opts).unwrap();
        let f = a.findings[0].clone();
        let lost = |c: Cpu| SuspectReason::LostEvents { cpu: c };
        assert!(!f.suspect_reasons.contains(&lost(f.cpu)));
        // A LOST record of the finding's CPU inside its window.
        let mid = f.window.start.ts.0 + 1;
        let bytes = to_perf(&t, e, &[(mid, Some(f.cpu.0), false)]);
        let perf = PerfData::parse(&bytes).unwrap();
        let (b, info) = analyze_perf_with_info(&perf, None, &opts).unwrap();
        let g = b.findings.iter().find(|x| key(x) == key(&f)).unwrap();
        assert!(g.suspect_reasons.contains(&lost(f.cpu)), "{g:#?}");
        assert_eq!(info.lost.len(), 1);
        assert_eq!((info.lost[0].cpu, info.lost[0].events), (f.cpu, 3));
        assert_eq!(b.coverage.lost.len(), 1);
        // A loss on another CPU, after every finding's window: no mark.
        let other = Cpu(1 - f.cpu.0.min(1));
        let end = t.merged().last().unwrap().ts.0;
        let bytes = to_perf(&t, e, &[(end, Some(other.0), false)]);
        let perf = PerfData::parse(&bytes).unwrap();
        let (c, _) = analyze_perf_with_info(&perf, None, &opts).unwrap();
        let g = c.findings.iter().find(|x| key(x) == key(&f)).unwrap();
        assert!(
            !g.suspect_reasons
                .iter()
                .any(|r| matches!(r, SuspectReason::LostEvents { .. }))
        );
        // LOST_SAMPLES inside the window reach the gate too, on its CPU,
        // or on every CPU when the record names none.
        for (cpu, n) in [(Some(f.cpu.0), 1), (None, 2)] {
            let bytes = to_perf(&t, e, &[(mid, cpu, true)]);
            let perf = PerfData::parse(&bytes).unwrap();
            let (d, info) = analyze_perf_with_info(&perf, None, &opts).unwrap();
            assert_eq!(info.lost.len(), n);
            let g = d.findings.iter().find(|x| key(x) == key(&f)).unwrap();
            assert!(g.suspect_reasons.contains(&lost(f.cpu)), "{g:#?}");
        }
    }
}

#[test]
fn perf_findings_reach_the_cli_reports_with_their_event_lines() {
    let o = SynthOptions::new(Scenario::A, Variant::Buggy);
    let t = mmrace::synth::build(&o).unwrap();
    let bytes = to_perf(&t, Endian::Little, &[]);
    let dir = std::env::temp_dir().join(format!("mmrace-perf-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // The kind is told by the magic, not by the name.
    let path = dir.join("scenario-a.trace");
    std::fs::write(&path, &bytes).unwrap();
    let out = assert_cmd::Command::cargo_bin("mmrace")
        .unwrap()
        .args(["analyze", "--format", "json"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let f = &v["files"][0];
    assert_eq!(f["kind"], "perf.data");
    let codes: Vec<&str> = f["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["INV-1a", "INV-1"]);
    // Every cause-chain event carries its line as `mmrace dump` prints it.
    let dump = assert_cmd::Command::cargo_bin("mmrace")
        .unwrap()
        .arg("dump")
        .arg(&path)
        .output()
        .unwrap();
    let dump = String::from_utf8(dump.stdout).unwrap();
    for x in f["findings"].as_array().unwrap() {
        for link in x["cause_chain"].as_array().unwrap() {
            let line = link["line"].as_str().expect("a line per chain event");
            assert!(dump.lines().any(|l| l == line), "{line} not in the dump");
        }
    }
}
