//! Timeline tests on the race-model scenarios (race-model.md §4).

use super::*;
use crate::analysis::analyze_records;
use crate::finding::Invariant;
use crate::synth::{Scenario, SynthOptions, SynthTrace, Variant, build};

fn synth(s: Scenario, v: Variant) -> SynthTrace {
    build(&SynthOptions::new(s, v)).unwrap()
}

fn timeline_of(t: &SynthTrace) -> Timeline {
    Timeline::from_records(
        &t.formats,
        t.endian,
        None,
        t.items(),
        &AnalyzeOptions::default(),
    )
    .unwrap()
}

fn timeline(s: Scenario, v: Variant) -> Timeline {
    timeline_of(&synth(s, v))
}

fn kinds(l: &Lane) -> Vec<(u64, &'static str)> {
    l.marks.iter().map(|m| (m.ts.0, m.kind.name())).collect()
}

#[test]
fn scenario_a_buggy_lane_shows_the_lost_deferral() {
    let tl = timeline(Scenario::A, Variant::Buggy);
    assert_eq!(tl.lanes.len(), 1);
    let l = tl.lane(Cpu(1)).unwrap();
    // a runs, b1 is switched in (deferred switch to 0xb000), b2 preempts b1
    // within the same mm, a comes back.
    let tasks: Vec<(u64, Option<i32>, Option<Mm>)> =
        l.tasks.iter().map(|t| (t.start.0, t.pid, t.mm)).collect();
    assert_eq!(
        tasks,
        [
            (999_000_000, Some(100), Some(Mm(0xa000))),
            (1_000_000_000, Some(200), Some(Mm(0xb000))),
            (1_000_007_000, Some(201), Some(Mm(0xb000))),
            (1_000_040_000, Some(100), Some(Mm(0xa000))),
        ]
    );
    assert!(l.tasks.iter().all(|t| t.mm_observed));
    assert_eq!(l.tasks.last().unwrap().end, tl.end);
    for w in l.tasks.windows(2) {
        assert_eq!(w[0].end, w[1].start, "segments have no gaps");
    }
    // The deferral was never completed: 0xa000 stays loaded to the end.
    let loaded: Vec<(u64, Option<Mm>, Option<MmProvenance>)> = l
        .loaded
        .iter()
        .map(|s| (s.start.0, s.mm, s.provenance))
        .collect();
    assert_eq!(
        loaded,
        [
            (999_000_000, None, None),
            (999_000_100, Some(Mm(0xa000)), Some(MmProvenance::Observed)),
        ]
    );
    assert_eq!(
        kinds(l),
        [
            (999_000_100, "switch-requested"),
            (999_100_000, "return-to-user"),
            (1_000_002_000, "switch-requested"),
            (1_000_020_000, "return-to-user"),
            (1_000_041_000, "switch-requested"),
            (1_000_050_000, "return-to-user"),
        ]
    );
    assert_eq!(
        l.marks[2].kind,
        MarkKind::SwitchRequested {
            mm: Mm(0xb000),
            deferred: DeferKind::ThreadFlag
        }
    );
    assert_eq!(tl.comm(201), Some("b"));
    assert_eq!(tl.comm(100), Some("a"));
}

#[test]
fn scenario_a_fixed_lane_shows_the_completion() {
    let tl = timeline(Scenario::A, Variant::Fixed);
    let l = tl.lane(Cpu(1)).unwrap();
    let at = Timestamp(1_000_008_000);
    assert!(
        l.marks
            .iter()
            .any(|m| m.ts == at && m.kind == MarkKind::DeferredSwitchCompleted { mm: Mm(0xb000) }),
        "{:?}",
        kinds(l)
    );
    assert_eq!(l.loaded_at(at).unwrap().mm, Some(Mm(0xb000)));
    assert_eq!(
        l.loaded_at(Timestamp(1_000_007_999)).unwrap().mm,
        Some(Mm(0xa000))
    );
    // The task at the return to user has the loaded mm.
    let ret = Timestamp(1_000_020_000);
    assert_eq!(l.task_at(ret).unwrap().mm, l.loaded_at(ret).unwrap().mm);
}

/// On every scenario, the lanes agree with the analysis: at the start of
/// each INV-1 window the CPU's lane has the finding's task running and its
/// loaded mm loaded, and a return-to-user mark carries the window's index.
#[test]
fn lanes_agree_with_the_findings_of_every_scenario() {
    let mut inv1 = 0;
    for s in [
        Scenario::A,
        Scenario::B,
        Scenario::L,
        Scenario::L2,
        Scenario::X,
    ] {
        for v in [Variant::Buggy, Variant::Fixed] {
            let t = synth(s, v);
            let a = analyze_records(
                &t.formats,
                t.endian,
                None,
                t.items(),
                &AnalyzeOptions::default(),
            )
            .unwrap();
            let tl = timeline_of(&t);
            for l in &tl.lanes {
                assert!(l.marks.windows(2).all(|w| w[0].ts <= w[1].ts));
                assert!(l.tasks.windows(2).all(|w| w[0].end == w[1].start));
                assert!(l.loaded.windows(2).all(|w| w[0].end == w[1].start));
            }
            for f in a
                .findings
                .iter()
                .filter(|f| f.invariant == Invariant::WrongMmAtUserReturn)
            {
                inv1 += 1;
                let l = tl.lane(f.cpu).unwrap();
                let ts = f.window.start.ts;
                assert_eq!(l.loaded_at(ts).unwrap().mm, f.loaded_mm, "{s:?}");
                assert_eq!(l.task_at(ts).unwrap().pid, f.task.as_ref().map(|t| t.pid.0));
                assert!(l.marks.iter().any(|m| m.index == Some(f.window.start.index)
                    && matches!(m.kind, MarkKind::ReturnToUser { .. })));
            }
        }
    }
    assert!(inv1 >= 2, "the buggy scenarios have INV-1 findings");
}

#[test]
fn scenario_l_has_pte_and_flush_marks() {
    let tl = timeline(Scenario::L, Variant::Buggy);
    let names: Vec<&str> = tl
        .lanes
        .iter()
        .flat_map(|l| l.marks.iter().map(|m| m.kind.name()))
        .collect();
    for want in [
        "pte-update-begin",
        "pte-update-end",
        "flush-deferred",
        "flush-begin",
        "flush-completed",
    ] {
        assert!(names.contains(&want), "{want} in {names:?}");
    }
}

#[test]
fn lost_events_become_marks_without_index() {
    let mut t = synth(Scenario::A, Variant::Buggy);
    t.mark_lost(1, 1_000_004_000, 7);
    let tl = timeline_of(&t);
    let l = tl.lane(Cpu(1)).unwrap();
    let lost: Vec<&Mark> = l
        .marks
        .iter()
        .filter(|m| matches!(m.kind, MarkKind::Lost { .. }))
        .collect();
    assert_eq!(lost.len(), 1);
    assert_eq!(lost[0].index, None);
    assert_eq!(lost[0].ts, Timestamp(1_000_004_000));
    assert_eq!(
        lost[0].kind,
        MarkKind::Lost {
            from: Timestamp(1_000_002_000),
            count: Some(7)
        }
    );
}

#[test]
fn slices_keep_overlapping_segments_and_inner_marks() {
    let tl = timeline(Scenario::A, Variant::Buggy);
    let (from, to) = (Timestamp(1_000_001_000), Timestamp(1_000_020_000));
    let w = tl.window(Cpu(0)..=Cpu(1), from, to);
    assert_eq!(w.len(), 1);
    let pids: Vec<Option<i32>> = w[0].tasks.iter().map(|t| t.pid).collect();
    assert_eq!(pids, [Some(200), Some(201)]);
    let marks: Vec<u64> = w[0].marks.iter().map(|m| m.ts.0).collect();
    assert_eq!(marks, [1_000_002_000, 1_000_020_000]);
    assert_eq!(w[0].loaded.len(), 1);
    assert!(tl.window(Cpu(2)..=Cpu(9), from, to).is_empty());
    // A range after the end still holds the open last segments.
    let after = tl.lane(Cpu(1)).unwrap().slice(tl.end, Timestamp(u64::MAX));
    assert_eq!(after.tasks.len(), 1);
    assert!(
        tl.lane(Cpu(1))
            .unwrap()
            .slice(Timestamp(0), Timestamp(1))
            .tasks
            .is_empty()
    );
}

#[test]
fn serialises_with_kebab_case_kinds() {
    let tl = timeline(Scenario::A, Variant::Buggy);
    let j = serde_json::to_value(&tl).unwrap();
    assert_eq!(j["lanes"][0]["cpu"], 1);
    assert_eq!(
        j["lanes"][0]["marks"][2]["kind"]["kind"],
        "switch-requested"
    );
    assert_eq!(j["lanes"][0]["marks"][2]["kind"]["deferred"], "thread-flag");
    assert_eq!(j["lanes"][0]["loaded"][1]["provenance"], "observed");
}
