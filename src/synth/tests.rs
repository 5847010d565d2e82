//! Scenario tests: each buggy scenario gives exactly its race-model.md §4
//! findings (windows, CPUs, tasks, mms, cause chains), each fixed variant
//! none; in memory and through written trace.dat files (both byte orders,
//! both versions, zstd), with noise; plus the simulator properties.

use super::*;
use crate::analysis::{Analysis, AnalyzeOptions, analyze, analyze_records};
use crate::finding::{Cause, Confidence, Finding, SuspectReason};
use crate::profile::Profile;
use mmrace_parsers::tracedat::TraceDat;
use proptest::prelude::*;
use std::collections::BTreeMap;

/// (code, cpu, other cpu, pid, expected mm, loaded mm, start ns, end ns).
type Summary = (
    &'static str,
    u32,
    Option<u32>,
    Option<i32>,
    Option<u64>,
    Option<u64>,
    u64,
    Option<u64>,
);

fn summary(f: &Finding) -> Summary {
    (
        f.code,
        f.cpu.0,
        f.other_cpu.map(|c| c.0),
        f.task.as_ref().map(|t| t.pid.0),
        f.expected_mm.map(|m| m.0),
        f.loaded_mm.map(|m| m.0),
        f.window.start.ts.0,
        f.window.end.map(|e| e.ts.0),
    )
}

fn analyse_mem(t: &SynthTrace, profile: Option<&Profile>) -> Analysis {
    analyze_records(
        &t.formats,
        t.endian,
        profile,
        t.items(),
        &AnalyzeOptions::default(),
    )
    .unwrap()
}

fn expected(s: Scenario) -> Vec<Summary> {
    match s {
        Scenario::A => vec![
            (
                "INV-1a",
                1,
                None,
                Some(201),
                Some(0xb000),
                Some(0xa000),
                1_000_002_000,
                Some(1_000_020_000),
            ),
            (
                "INV-1",
                1,
                None,
                Some(201),
                Some(0xb000),
                Some(0xa000),
                1_000_020_000,
                Some(1_000_040_000),
            ),
        ],
        Scenario::B => vec![
            (
                "INV-1b",
                2,
                Some(1),
                Some(201),
                Some(0xb000),
                Some(0xd000),
                2_000_003_000,
                Some(2_000_011_000),
            ),
            (
                "INV-1",
                2,
                Some(1),
                Some(201),
                Some(0xb000),
                Some(0xd000),
                2_000_011_000,
                Some(2_000_030_000),
            ),
        ],
        Scenario::L => vec![(
            "INV-2b",
            1,
            Some(0),
            Some(501),
            Some(0xe000),
            Some(0xe000),
            3_000_003_000,
            Some(3_000_010_000),
        )],
        Scenario::L2 => vec![(
            "INV-3",
            2,
            None,
            Some(510),
            Some(0xe000),
            Some(0xe000),
            3_100_001_000,
            Some(3_100_010_000),
        )],
        Scenario::X => vec![(
            "INV-2",
            1,
            Some(0),
            Some(601),
            Some(0xf000),
            Some(0xf000),
            4_000_001_500,
            None,
        )],
    }
}

const ALL_SCENARIOS: [Scenario; 5] = [
    Scenario::A,
    Scenario::B,
    Scenario::L,
    Scenario::L2,
    Scenario::X,
];

/// The built-in profile each scenario's file selects by itself.
fn expected_profile(s: Scenario) -> &'static str {
    if s == Scenario::X { "x86_64" } else { "mmctx" }
}

/// Per expected finding (same order as [`expected`]): the cause chain as
/// (timestamp ns, cpu), the window's (start, end) merged-stream indices of
/// the bare script (no noise), and the exposure intervals (start, end ns).
type Detail = (Vec<(u64, u32)>, (u64, Option<u64>), Vec<(u64, Option<u64>)>);

fn expected_details(s: Scenario) -> Vec<Detail> {
    match s {
        Scenario::A => vec![
            (
                vec![
                    (1_000_002_000, 1),
                    (1_000_007_000, 1),
                    (1_000_008_000, 1),
                    (1_000_020_000, 1),
                ],
                (7, Some(13)),
                vec![],
            ),
            (
                vec![
                    (999_000_100, 1),
                    (1_000_002_000, 1),
                    (1_000_007_000, 1),
                    (1_000_008_000, 1),
                    (1_000_020_000, 1),
                ],
                (13, Some(15)),
                vec![],
            ),
        ],
        Scenario::B => vec![
            (
                vec![
                    (2_000_001_000, 1),
                    (2_000_003_000, 2),
                    (2_000_004_000, 1),
                    (2_000_005_000, 2),
                    (2_000_011_000, 2),
                ],
                (15, Some(20)),
                vec![],
            ),
            (
                vec![
                    (1_999_000_600, 2),
                    (2_000_002_000, 2),
                    (2_000_003_000, 2),
                    (2_000_005_000, 2),
                    (2_000_011_000, 2),
                ],
                (20, Some(23)),
                vec![],
            ),
        ],
        Scenario::L => vec![(
            vec![
                (3_000_000_000, 0),
                (3_000_003_000, 1),
                (3_000_004_000, 1),
                (3_000_010_000, 0),
            ],
            (9, Some(13)),
            vec![(3_000_004_000, Some(3_000_010_000))],
        )],
        Scenario::L2 => vec![(
            vec![
                (3_100_000_000, 0),
                (3_100_001_000, 2),
                (3_100_002_000, 0),
                (3_100_010_000, 2),
            ],
            (12, Some(15)),
            vec![],
        )],
        Scenario::X => vec![(
            vec![
                (4_000_001_000, 1),
                (4_000_001_500, 0),
                (4_000_001_700, 0),
                (4_000_010_000, 1),
            ],
            (8, None),
            vec![(4_000_010_000, Some(4_000_020_000))],
        )],
    }
}

fn details(f: &Finding) -> Detail {
    (
        f.cause_chain
            .iter()
            .map(|c| (c.at.ts.0, c.at.cpu.0))
            .collect(),
        (f.window.start.index.0, f.window.end.map(|e| e.index.0)),
        f.exposure
            .iter()
            .map(|i| (i.start.ts.0, i.end.map(|e| e.ts.0)))
            .collect(),
    )
}

fn chain_ts(f: &Finding) -> Vec<u64> {
    f.cause_chain.iter().map(|c| c.at.ts.0).collect()
}

#[test]
fn buggy_scenarios_give_exactly_their_findings_and_fixed_none() {
    for s in ALL_SCENARIOS {
        for endian in [Endian::Little, Endian::Big] {
            let mut o = SynthOptions::new(s, Variant::Buggy);
            o.endian = endian;
            let a = analyse_mem(&build(&o).unwrap(), None);
            assert_eq!(a.profile, expected_profile(s));
            let got: Vec<Summary> = a.findings.iter().map(summary).collect();
            assert_eq!(got, expected(s), "{s:?} buggy {endian:?}");
            let got: Vec<Detail> = a.findings.iter().map(details).collect();
            assert_eq!(got, expected_details(s), "{s:?} buggy {endian:?}");
            assert!(
                a.findings
                    .iter()
                    .all(|f| f.confidence == Confidence::Observed)
            );
            o.variant = Variant::Fixed;
            let a = analyse_mem(&build(&o).unwrap(), None);
            assert!(
                a.findings.is_empty(),
                "{s:?} fixed {endian:?}: {:#?}",
                a.findings
            );
        }
    }
}

#[test]
fn scenario_a_cause_chain_and_cause() {
    let a = analyse_mem(
        &build(&SynthOptions::new(Scenario::A, Variant::Buggy)).unwrap(),
        None,
    );
    let inv1a = &a.findings[0];
    assert_eq!(
        chain_ts(inv1a),
        vec![1_000_002_000, 1_000_007_000, 1_000_008_000, 1_000_020_000]
    );
    let inv1 = &a.findings[1];
    assert_eq!(inv1.cause, Some(Cause::LostThreadDeferral));
    assert_eq!(
        inv1.task.as_ref().and_then(|t| t.comm.as_deref()),
        Some("b")
    );
    // The chain starts at the load that left 0xa000 on the CPU.
    assert_eq!(chain_ts(inv1).first(), Some(&999_000_100));
    assert!(chain_ts(inv1).contains(&1_000_002_000) && chain_ts(inv1).contains(&1_000_007_000));
}

#[test]
fn scenario_b_cause_chain_names_the_consuming_cpu() {
    let a = analyse_mem(
        &build(&SynthOptions::new(Scenario::B, Variant::Buggy)).unwrap(),
        None,
    );
    let inv1b = &a.findings[0];
    assert_eq!(
        chain_ts(inv1b),
        vec![
            2_000_001_000,
            2_000_003_000,
            2_000_004_000,
            2_000_005_000,
            2_000_011_000
        ]
    );
    assert_eq!(inv1b.cause_chain[2].at.cpu, mmrace_parsers::types::Cpu(1));
    assert_eq!(a.findings[1].cause, Some(Cause::MmFlagConsumedElsewhere));
}

#[test]
fn scenario_l_exposure_and_l2_chain() {
    let a = analyse_mem(
        &build(&SynthOptions::new(Scenario::L, Variant::Buggy)).unwrap(),
        None,
    );
    let f = &a.findings[0];
    let exp: Vec<(u64, Option<u64>)> = f
        .exposure
        .iter()
        .map(|i| (i.start.ts.0, i.end.map(|e| e.ts.0)))
        .collect();
    assert_eq!(exp, vec![(3_000_004_000, Some(3_000_010_000))]);
    assert_eq!(
        chain_ts(f),
        vec![3_000_000_000, 3_000_003_000, 3_000_004_000, 3_000_010_000]
    );

    let a = analyse_mem(
        &build(&SynthOptions::new(Scenario::L2, Variant::Buggy)).unwrap(),
        None,
    );
    // deferral, the flush that began before it and ended after it, the return.
    assert_eq!(
        chain_ts(&a.findings[0]),
        vec![3_100_000_000, 3_100_001_000, 3_100_002_000, 3_100_010_000]
    );
}

#[test]
fn window_indices_point_at_the_window_events() {
    for s in ALL_SCENARIOS {
        let t = build(&SynthOptions::new(s, Variant::Buggy)).unwrap();
        let merged: Vec<SynthRecord<'_>> = t.merged().collect();
        let a = analyse_mem(&t, None);
        for f in &a.findings {
            for e in [Some(f.window.start), f.window.end].into_iter().flatten() {
                let r = merged[e.index.0 as usize];
                assert_eq!((r.ts, r.cpu), (e.ts, e.cpu), "{s:?} {}", f.code);
            }
        }
    }
}

#[test]
fn file_round_trip_gives_the_same_analysis() {
    for s in ALL_SCENARIOS {
        for variant in [Variant::Buggy, Variant::Fixed] {
            for endian in [Endian::Little, Endian::Big] {
                for (version, comp) in [
                    (6, SynthCompression::None),
                    (7, SynthCompression::None),
                    (7, SynthCompression::Zstd),
                ] {
                    let mut o = SynthOptions::new(s, variant);
                    o.endian = endian;
                    o.file_version = version;
                    o.compression = comp;
                    let t = build(&o).unwrap();
                    let mem = analyse_mem(&t, None);
                    let bytes = write_trace(&t, &o, std::io::Cursor::new(Vec::new()))
                        .unwrap()
                        .into_inner();
                    let td = TraceDat::parse(&bytes).unwrap();
                    assert_eq!(td.endian, endian);
                    let file = analyze(&td, None, &AnalyzeOptions::default()).unwrap();
                    assert_eq!(file.profile, expected_profile(s));
                    assert_eq!(
                        file.findings, mem.findings,
                        "{s:?} {variant:?} {endian:?} v{version} {comp:?}"
                    );
                    assert_eq!(file.stats.records, mem.stats.records);
                    let want: Vec<Summary> = if variant == Variant::Buggy {
                        expected(s)
                    } else {
                        vec![]
                    };
                    assert_eq!(file.findings.iter().map(summary).collect::<Vec<_>>(), want);
                    if variant == Variant::Buggy {
                        let d: Vec<Detail> = file.findings.iter().map(details).collect();
                        assert_eq!(d, expected_details(s), "{s:?} {endian:?} v{version}");
                    }
                }
            }
        }
    }
}

#[test]
fn noise_does_not_change_the_findings() {
    for s in ALL_SCENARIOS {
        for seed in [1, 2, 3] {
            for variant in [Variant::Buggy, Variant::Fixed] {
                let mut o = SynthOptions::new(s, variant);
                o.noise = 300;
                o.seed = seed;
                let t = build(&o).unwrap();
                if s != Scenario::X {
                    assert!(t.cpus.len() > scenario::cpus(s).len(), "noise CPU present");
                }
                let a = analyse_mem(&t, None);
                assert_eq!(a.profile, expected_profile(s));
                // Chains and exposures do not change either (indices do).
                let want_d: Vec<Vec<(u64, u32)>> = if variant == Variant::Buggy {
                    expected_details(s).into_iter().map(|d| d.0).collect()
                } else {
                    vec![]
                };
                let got_d: Vec<Vec<(u64, u32)>> = a.findings.iter().map(|f| details(f).0).collect();
                assert_eq!(got_d, want_d, "{s:?} {variant:?} seed {seed}");
                let want = if variant == Variant::Buggy {
                    expected(s)
                } else {
                    vec![]
                };
                assert_eq!(
                    a.findings.iter().map(summary).collect::<Vec<_>>(),
                    want,
                    "{s:?} {variant:?} seed {seed}"
                );
                assert!(a.stats.records > if s == Scenario::X { 300 } else { 1000 });
            }
        }
    }
}

#[test]
fn lost_events_inside_a_window_make_it_suspect() {
    let mut t = build(&SynthOptions::new(Scenario::A, Variant::Buggy)).unwrap();
    t.mark_lost(1, 1_000_030_000, 12);
    let a = analyse_mem(&t, None);
    let inv1 = a.findings.iter().find(|f| f.code == "INV-1").unwrap();
    assert_eq!(inv1.confidence, Confidence::Suspect);
    assert_eq!(
        inv1.suspect_reasons,
        vec![SuspectReason::LostEvents {
            cpu: mmrace_parsers::types::Cpu(1)
        }]
    );
    // INV-1a ends at 1_000_020_000; the loss lies in (1_000_020_000, 1_000_030_000].
    let inv1a = a.findings.iter().find(|f| f.code == "INV-1a").unwrap();
    assert_eq!(inv1a.confidence, Confidence::Observed);
    assert_eq!(a.coverage.lost.len(), 1);

    // The same through a file (a missed-events page).
    let o = SynthOptions::new(Scenario::A, Variant::Buggy);
    let bytes = write_trace(&t, &o, std::io::Cursor::new(Vec::new()))
        .unwrap()
        .into_inner();
    let file = analyze(
        &TraceDat::parse(&bytes).unwrap(),
        None,
        &AnalyzeOptions::default(),
    )
    .unwrap();
    let inv1 = file.findings.iter().find(|f| f.code == "INV-1").unwrap();
    assert_eq!(inv1.confidence, Confidence::Suspect);
}

/// An x86-flavoured profile over scenario X's real x86 events: shows that
/// the schema expresses numeric `reason` conditions, `pages == -1` on an
/// unsigned field, and `@current` / `@loaded` mms.
const X86_TEST_PROFILE: &str = r#"
name = "x86-test"
[[rule]]
event = "mmctx:switch"
role = "task-switch"
args = { prev_pid = "prev_pid", prev_mm = "prev_mm", next_pid = "next_pid", next_mm = "next_mm" }
[[rule]]
event = "tlb:tlb_flush"
when = ["reason == 0", "pages == -1"]
role = "mm-loaded"
args = { mm = "@current", flushed = true }
[[rule]]
event = "tlb:tlb_flush"
when = ["reason == 0", "pages != -1"]
role = "mm-loaded"
args = { mm = "@current", flushed = false }
[[rule]]
event = "tlb:tlb_flush"
when = ["reason >= 1", "reason <= 3"]
role = "tlb-flush-completed"
args = { mm = "@loaded" }
[[rule]]
event = "mmctx:flush"
when = "lazy == 0"
role = "tlb-flush-requested"
args = { mm = "mm", start = "start", end = "end" }
[[rule]]
event = "raw_syscalls:sys_exit"
role = "return-to-user"
[[rule]]
event = "raw_syscalls:sys_enter"
role = "kernel-entry"
"#;

#[test]
fn scenario_x_with_an_x86_profile() {
    let p = Profile::parse(X86_TEST_PROFILE).unwrap();
    let a = analyse_mem(
        &build(&SynthOptions::new(Scenario::X, Variant::Buggy)).unwrap(),
        Some(&p),
    );
    let got: Vec<Summary> = a.findings.iter().map(summary).collect();
    assert_eq!(
        got,
        vec![(
            "INV-2",
            1,
            Some(0),
            Some(601),
            Some(0xf000),
            Some(0xf000),
            4_000_001_500,
            None
        )]
    );
    let exp: Vec<(u64, Option<u64>)> = a.findings[0]
        .exposure
        .iter()
        .map(|i| (i.start.ts.0, i.end.map(|e| e.ts.0)))
        .collect();
    assert_eq!(exp, vec![(4_000_010_000, Some(4_000_020_000))]);
    assert_eq!(a.findings[0].confidence, Confidence::Observed);
    let a = analyse_mem(
        &build(&SynthOptions::new(Scenario::X, Variant::Fixed)).unwrap(),
        Some(&p),
    );
    assert!(a.findings.is_empty(), "{:#?}", a.findings);
    // With the mmctx profile (no x86 roles, no loads) the loaded mm is only
    // inferred: the flush window is still seen, but only as suspect, and
    // INV-1 is reported unchecked with what to record.
    let mmctx = Profile::builtin("mmctx").unwrap();
    let a = analyse_mem(
        &build(&SynthOptions::new(Scenario::X, Variant::Buggy)).unwrap(),
        Some(&mmctx),
    );
    assert!(
        a.findings
            .iter()
            .all(|f| f.confidence == Confidence::Suspect
                && f.suspect_reasons == vec![SuspectReason::InferredLoadedMm]),
        "{:#?}",
        a.findings
    );
    let inv1 = a
        .coverage
        .invariants
        .iter()
        .find(|c| c.code == "INV-1")
        .unwrap();
    assert!(!inv1.checkable);
    assert!(
        inv1.record.iter().any(|r| r.contains("mmctx:load")),
        "{:?}",
        inv1.record
    );
}

/// Per event name, how many records a generated trace holds.
fn counts_by_name(t: &SynthTrace) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for (_, p) in t.cpus.values().flatten() {
        let id = t.endian.read_u16(p, 0).map(u32::from);
        let name = t
            .formats
            .iter()
            .find(|f| Some(f.id.0) == id)
            .map_or_else(|| "?".to_string(), |f| f.name.clone());
        *m.entry(name).or_insert(0) += 1;
    }
    m
}

/// Per event name, how many lines `trace-cmd report` printed
/// (`comm-pid [cpu] ts: name: fields`).
fn report_counts(text: &str) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for line in text.lines() {
        let Some((_, rest)) = line.split_once("] ") else {
            continue;
        };
        let Some((_ts, rest)) = rest.trim_start().split_once(": ") else {
            continue;
        };
        let Some((name, _)) = rest.split_once(':') else {
            continue;
        };
        *m.entry(name.trim().to_string()).or_insert(0) += 1;
    }
    m
}

#[test]
fn written_files_read_back_in_trace_cmd() {
    if std::process::Command::new("trace-cmd")
        .arg("--version")
        .output()
        .is_err()
    {
        // .ci/run installs trace-cmd: in CI a missing tool is a failure.
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but trace-cmd is not installed"
        );
        eprintln!("trace-cmd not installed: skipped (set CI to make this fail)");
        return;
    }
    let dir = std::env::temp_dir().join(format!("mmrace-synth-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for s in ALL_SCENARIOS {
        for variant in [Variant::Buggy, Variant::Fixed] {
            for endian in [Endian::Little, Endian::Big] {
                for (version, comp) in [(6, SynthCompression::None), (7, SynthCompression::Zstd)] {
                    let mut o = SynthOptions::new(s, variant);
                    o.endian = endian;
                    o.file_version = version;
                    o.compression = comp;
                    o.noise = 20;
                    let t = build(&o).unwrap();
                    let want = counts_by_name(&t);
                    let path = dir.join(format!("{s:?}-{variant:?}-{endian:?}-{version}.dat"));
                    let f = std::fs::File::create(&path).unwrap();
                    write_trace(&t, &o, f).unwrap();
                    let r = std::process::Command::new("trace-cmd")
                        .arg("report")
                        .arg("-i")
                        .arg(&path)
                        .output()
                        .unwrap();
                    let what = format!("{s:?} {variant:?} {endian:?} v{version}");
                    assert!(
                        r.status.success(),
                        "{what}: {}",
                        String::from_utf8_lossy(&r.stderr)
                    );
                    let text = String::from_utf8_lossy(&r.stdout);
                    assert!(!text.contains("FAILED TO PARSE"), "{what}\n{text}");
                    assert_eq!(
                        report_counts(&text),
                        want,
                        "{what}: events per name\n{text}"
                    );
                }
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------------------
// Simulator properties.

fn sim_cfg(drop: Option<usize>) -> SimConfig {
    SimConfig {
        cpus: vec![0, 1, 2],
        // 4 mms: two other CPUs and the active mm block at most 3, so a
        // same-mm preemption is always possible.
        mms: 4,
        threads: 2,
        pid_base: 100,
        mm_base: 0x10000,
        t0: 1_000_000,
        step: 1000,
        drop,
    }
}

fn sim_trace(ops: &[Op], drop: Option<usize>) -> (SynthTrace, Expected) {
    let mut sc = Script::new(Endian::Little);
    let exp = sim::simulate(&mut sc, &sim_cfg(drop), ops);
    (SynthTrace::from_script(sc), exp)
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (any::<u8>(), any::<u8>()).prop_map(|(a, b)| Op::Switch(a, b)),
        3 => any::<u8>().prop_map(Op::User),
        2 => any::<u8>().prop_map(Op::Enter),
        1 => any::<u8>().prop_map(Op::Irq),
        1 => any::<u8>().prop_map(Op::Flush),
        1 => any::<u8>().prop_map(Op::Pte),
        1 => (any::<u8>(), any::<u8>()).prop_map(|(a, b)| Op::Wakeup(a, b)),
        1 => (any::<u8>(), any::<u8>()).prop_map(|(a, b)| Op::DeferPreempt(a, b)),
    ]
}

fn schedule() -> impl Strategy<Value = (Vec<Op>, (u8, u8), usize, usize)> {
    (
        prop::collection::vec(op(), 0..120),
        (any::<u8>(), any::<u8>()),
        any::<usize>(),
        any::<usize>(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    /// Random schedules with noise on the fixed protocol give no finding; the
    /// same schedules with one deferral dropped give exactly the INV-1 and
    /// INV-1a windows the simulator's own hardware model predicts.
    #[test]
    fn fixed_protocol_is_clean_and_one_dropped_deferral_is_found((mut ops, forced, at, pick) in schedule()) {
        // Make sure a same-mm preemption happens at least once.
        let pos = at % (ops.len() + 1);
        ops.insert(pos, Op::DeferPreempt(forced.0, forced.1));

        let (t, exp) = sim_trace(&ops, None);
        prop_assert!(exp.inv1.is_empty() && exp.inv1a.is_empty());
        prop_assert!(exp.preemptions >= 1);
        let a = analyse_mem(&t, None);
        prop_assert!(a.findings.is_empty(), "fixed: {:#?}", a.findings);

        let k = pick % exp.preemptions;
        let (t, exp) = sim_trace(&ops, Some(k));
        prop_assert_eq!(exp.inv1a.len(), 1);
        let a = analyse_mem(&t, None);
        let mut got1: Vec<(u32, i32, u64, Option<u64>)> = a.findings.iter().filter(|f| f.code == "INV-1")
            .map(|f| (f.cpu.0, f.task.as_ref().map_or(-1, |t| t.pid.0), f.window.start.ts.0, f.window.end.map(|e| e.ts.0)))
            .collect();
        let mut want1 = exp.inv1.clone();
        got1.sort();
        want1.sort();
        prop_assert_eq!(got1, want1);
        let got1a: Vec<(u32, i32, u64, u64)> = a.findings.iter().filter(|f| f.code == "INV-1a")
            .map(|f| (f.cpu.0, f.task.as_ref().map_or(-1, |t| t.pid.0), f.window.start.ts.0, f.window.end_ts.0))
            .collect();
        prop_assert_eq!(got1a, exp.inv1a.clone());
        prop_assert!(a.findings.iter().all(|f| f.code == "INV-1" || f.code == "INV-1a"), "{:#?}", a.findings);
    }
}

#[test]
fn parallel_replay_equals_sequential_replay() {
    for seed in 1..6u64 {
        let ops = random_ops(seed, 3000);
        let mut ops_with_drop = ops.clone();
        for i in 0..5u8 {
            ops_with_drop.insert(
                ops.len() * usize::from(i) / 5,
                Op::DeferPreempt(i, seed as u8),
            );
        }
        let mut cfg = sim_cfg(Some(2));
        cfg.cpus = (0..8).collect();
        cfg.mms = 6;
        let mut sc = Script::new(Endian::Big);
        sim::simulate(&mut sc, &cfg, &ops_with_drop);
        let t = SynthTrace::from_script(sc);
        let seq = {
            let o = AnalyzeOptions::default();
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(1)
                .build()
                .unwrap();
            pool.install(|| analyze_records(&t.formats, t.endian, None, t.items(), &o).unwrap())
        };
        let par = {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(4)
                .build()
                .unwrap();
            pool.install(|| analyse_mem(&t, None))
        };
        assert!(!seq.findings.is_empty(), "the dropped deferral is found");
        assert_eq!(par, seq);
        assert_eq!(
            serde_json::to_string(&par).unwrap(),
            serde_json::to_string(&seq).unwrap()
        );
    }
}

#[test]
fn coverage_tells_what_to_record() {
    let t = build(&SynthOptions::new(Scenario::A, Variant::Buggy)).unwrap();
    let keep = ["sched_switch", "switch", "sys_exit", "sys_enter"];
    let formats: Vec<_> = t
        .formats
        .iter()
        .filter(|f| keep.contains(&f.name.as_str()))
        .cloned()
        .collect();
    // Without the load events the mmctx profile is not chosen by itself.
    assert!(
        analyze_records(
            &formats,
            t.endian,
            None,
            t.items(),
            &AnalyzeOptions::default()
        )
        .is_err()
    );
    let mmctx = Profile::builtin("mmctx").unwrap();
    let a = analyze_records(
        &formats,
        t.endian,
        Some(&mmctx),
        t.items(),
        &AnalyzeOptions::default(),
    )
    .unwrap();
    assert!(
        a.findings.is_empty(),
        "no load events: nothing can be claimed"
    );
    let inv1 = a
        .coverage
        .invariants
        .iter()
        .find(|c| c.code == "INV-1")
        .unwrap();
    assert!(!inv1.checkable);
    assert!(
        inv1.record.iter().any(|r| r.contains("mmctx:load")),
        "{:?}",
        inv1.record
    );
    assert!(!inv1.notes.is_empty());
    let full = analyse_mem(&t, None);
    assert!(
        full.coverage.invariants.iter().all(|c| c.checkable),
        "{:#?}",
        full.coverage.invariants
    );
    let json = serde_json::to_value(&full).unwrap();
    assert_eq!(json["findings"][0]["invariant"], "lost-thread-deferral");
    assert_eq!(json["findings"][0]["expected_mm"], "0xb000");
}

#[test]
fn parallel_replay_equals_sequential_on_every_scenario() {
    let seq_pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let par_pool = rayon::ThreadPoolBuilder::new()
        .num_threads(4)
        .build()
        .unwrap();
    for s in ALL_SCENARIOS {
        for variant in [Variant::Buggy, Variant::Fixed] {
            for noise in [0, 200] {
                let mut o = SynthOptions::new(s, variant);
                o.noise = noise;
                let t = build(&o).unwrap();
                let seq = seq_pool.install(|| {
                    let o = AnalyzeOptions::default();
                    analyze_records(&t.formats, t.endian, None, t.items(), &o).unwrap()
                });
                let par = par_pool.install(|| analyse_mem(&t, None));
                assert_eq!(par, seq, "{s:?} {variant:?} noise {noise}");
                assert_eq!(par.findings.is_empty(), variant == Variant::Fixed);
            }
        }
    }
}

/// A chaotic trace on 2 to 4 CPUs: random switches (some with deferred
/// `switch_mm`), loads, flush requests (some lazy), nested flushes (some on
/// all CPUs), lazy and eager PTE updates, returns to user and kernel entries
/// over 3 mms, so that every invariant fires many times.
fn chaos_trace(seed: u64) -> SynthTrace {
    chaos_trace_of(seed, 3000)
}

/// [`chaos_trace`] of `ops` random steps.
fn chaos_trace_of(seed: u64, ops: usize) -> SynthTrace {
    use crate::synth::script::Task;
    let mut r = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut next = move || {
        r ^= r >> 12;
        r ^= r << 25;
        r ^= r >> 27;
        r.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 8
    };
    let ncpu = 2 + (seed % 3) as u32;
    let tasks: Vec<Task> = (0..6)
        .map(|i| {
            Task::new(
                100 + i,
                &format!("t{i}"),
                if i == 5 {
                    0
                } else {
                    0x1000 * (1 + (i as u64 % 3))
                },
            )
        })
        .collect();
    let mut cur: Vec<Task> = (0..ncpu).map(Task::idle).collect();
    let mut sc = Script::new(if seed % 2 == 0 {
        Endian::Big
    } else {
        Endian::Little
    });
    let mut ts = 1_000_000u64;
    let mut pte_open: Vec<Vec<(u64, u64)>> = vec![Vec::new(); ncpu as usize];
    let mut fl_open: Vec<Vec<(u64, bool)>> = vec![Vec::new(); ncpu as usize];
    for _ in 0..ops {
        ts += 1 + next() % 700;
        let cpu = (next() % u64::from(ncpu)) as u32;
        let c = cpu as usize;
        let mm = 0x1000 * (1 + next() % 3);
        let pid = cur[c].pid;
        match next() % 20 {
            0..=2 => {
                let t = tasks[(next() % 6) as usize].clone();
                let prev = cur[c].clone();
                sc.switch(ts, cpu, &prev, (next() % 2) as i64, &t);
                if next() % 3 != 0 && t.mm != 0 {
                    ts += 1;
                    sc.switch_mm(ts, cpu, prev.pid, t.pid, prev.mm, t.mm, (next() % 3) as u32);
                }
                cur[c] = t;
            }
            3 | 4 => sc.load(ts, cpu, pid, if next() % 4 == 0 { mm } else { cur[c].mm }),
            5 | 6 => sc.flush(ts, cpu, pid, mm, 0, u64::MAX, next() % 3 == 0),
            7 => {
                let all = next() % 2 == 0;
                sc.flush_begin(ts, cpu, pid, mm, all);
                fl_open[c].push((mm, all));
            }
            8 | 9 => {
                if let Some((m, all)) = fl_open[c].pop() {
                    sc.flush_done(ts, cpu, pid, m, all || next() % 4 == 0);
                } else {
                    sc.flush_done(ts, cpu, pid, mm, next() % 2 == 0);
                }
            }
            10 => {
                let a = next() % 4;
                sc.pte_begin(ts, cpu, pid, mm, a, next() % 2 == 0);
                pte_open[c].push((mm, a));
            }
            11 => {
                if let Some((m, a)) = pte_open[c].pop() {
                    sc.pte_end(ts, cpu, pid, m, a);
                }
            }
            12..=15 => sc.sys_exit(ts, cpu, pid),
            16 | 17 => sc.sys_enter(ts, cpu, pid),
            _ => sc.defer_check(ts, cpu, pid, cur[c].mm, (next() % 2) as u32),
        }
    }
    SynthTrace::from_script(sc)
}

/// The analysis of a trace.dat replays the records as the reader gives
/// them (a first pass, then nothing kept per record); the analysis of the
/// same records ingested first replays them from memory. Both give the
/// same findings, to the last chain link, on traces where every invariant
/// fires; and one thread gives what two give.
#[test]
fn streamed_analysis_equals_ingested_analysis_on_chaotic_traces() {
    use crate::analysis::analyze_with_info;
    use mmrace_parsers::tracedat::TraceDat;
    let mut codes = std::collections::BTreeSet::new();
    for seed in 1..13u64 {
        let t = chaos_trace(seed);
        let mut o = SynthOptions::new(Scenario::A, Variant::Buggy);
        o.endian = t.endian;
        let bytes = write_trace(&t, &o, std::io::Cursor::new(Vec::new()))
            .unwrap()
            .into_inner();
        let dat = TraceDat::parse(&bytes).unwrap();
        let opts = AnalyzeOptions::default();
        let ingested = analyze_records(&t.formats, t.endian, None, t.items(), &opts).unwrap();
        let (streamed, _) = analyze_with_info(&dat, None, &opts).unwrap();
        assert_eq!(streamed.findings, ingested.findings, "seed {seed}");
        assert_eq!(streamed.stats, ingested.stats, "seed {seed}");
        let one = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let (single, _) = one
            .install(|| analyze_with_info(&dat, None, &opts))
            .unwrap();
        assert_eq!(single.findings, streamed.findings, "seed {seed}");
        codes.extend(streamed.findings.iter().map(|f| f.code));
    }
    let all = ["INV-1", "INV-1a", "INV-1b", "INV-2", "INV-2b", "INV-3"];
    assert!(all.iter().all(|c| codes.contains(c)), "{codes:?}");
}

/// The record feed's pipeline on streams of many batches (pool threads
/// decode ahead while the merge runs, or the merge decodes a batch itself):
/// 1, 2 and 4 threads give what the ingested replay gives, uncompressed
/// and with zstd chunks.
#[test]
fn streamed_analysis_over_many_batches_equals_ingested_analysis() {
    use crate::analysis::analyze_with_info;
    use crate::synth::SynthCompression;
    use mmrace_parsers::tracedat::TraceDat;
    for (seed, compression) in [(1u64, SynthCompression::None), (4, SynthCompression::Zstd)] {
        let t = chaos_trace_of(seed, 180_000);
        let mut o = SynthOptions::new(Scenario::A, Variant::Buggy);
        o.endian = t.endian;
        o.compression = compression;
        let bytes = write_trace(&t, &o, std::io::Cursor::new(Vec::new()))
            .unwrap()
            .into_inner();
        let dat = TraceDat::parse(&bytes).unwrap();
        let per_cpu = dat
            .all_cpu_records()
            .into_iter()
            .map(|mut s| s.count_all().0)
            .min()
            .unwrap();
        let batch = crate::feed::batch_len(dat.all_cpu_records().len());
        assert!(
            per_cpu > 3 * batch as u64,
            "seed {seed}: {per_cpu} records on a CPU, batches of {batch}"
        );
        let opts = AnalyzeOptions::default();
        let ingested = analyze_records(&t.formats, t.endian, None, t.items(), &opts).unwrap();
        assert!(!ingested.findings.is_empty());
        for n in [1, 2, 4] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build()
                .unwrap();
            let (streamed, _) = pool
                .install(|| analyze_with_info(&dat, None, &opts))
                .unwrap();
            assert_eq!(
                streamed.findings, ingested.findings,
                "seed {seed}, {n} threads"
            );
            assert_eq!(streamed.stats, ingested.stats, "seed {seed}, {n} threads");
        }
    }
}

/// The first pass passes over the records of tasks it knows, except at
/// the time of a task's first binding: a second binding then (the larger
/// mm wins, as a sorted table gives) is still read.
#[test]
fn first_pass_reads_a_second_binding_at_the_time_of_the_first() {
    use crate::analysis::first_pass_tests::reference;
    use mmrace_parsers::tracedat::TraceDat;
    let mut sc = Script::new(Endian::Little);
    // Task 7: bound at 1000 to 0x1000, then 0x3000 (same time), then to
    // 0x2000 later; task 8: the larger first.
    sc.switch_mm(1000, 0, 1, 7, 0, 0x1000, 0);
    sc.switch_mm(1000, 0, 1, 7, 0, 0x3000, 0);
    sc.switch_mm(2000, 0, 1, 7, 0, 0x2000, 0);
    sc.switch_mm(3000, 1, 1, 8, 0, 0x5000, 0);
    sc.switch_mm(3000, 1, 1, 8, 0, 0x4000, 0);
    let t = SynthTrace::from_script(sc);
    let o = SynthOptions::new(Scenario::A, Variant::Buggy);
    let bytes = write_trace(&t, &o, std::io::Cursor::new(Vec::new()))
        .unwrap()
        .into_inner();
    let dat = TraceDat::parse(&bytes).unwrap();
    let p = crate::profile::builtins()
        .into_iter()
        .find(|p| p.name == "mmctx")
        .unwrap();
    let c = p.compile(&dat.formats, dat.endian);
    let got = crate::analysis::first_seen(&dat, &c);
    let want = reference(&dat, &c);
    assert_eq!(got, want);
    let mm = |pid| got.first_mm_of(Pid(pid)).map(|m| m.0);
    assert_eq!((mm(7), mm(8)), (Some(0x3000), Some(0x5000)));
}
