//! Replay unit tests on hand-built role streams.

use super::*;
use crate::finding::Invariant;
use crate::model::{DeferKind, Event, EventIndex, EventRef, Mm, MmArg, PidArg, Role};
use mmrace_parsers::types::{Cpu, Timestamp};

/// Events (ts, cpu, role) in merged order; indices assigned in order.
fn trace(list: &[(u64, u32, Role)]) -> IngestedTrace {
    IngestedTrace::from_events(list.iter().enumerate().map(|(i, &(ts, cpu, role))| Event {
        at: EventRef {
            ts: Timestamp(ts),
            index: EventIndex(i as u64),
            cpu: Cpu(cpu),
        },
        common_pid: Pid(0),
        role,
    }))
}

fn sw(prev: i32, next: i32, mm: u64) -> Role {
    Role::TaskSwitch {
        prev_pid: Pid(prev),
        next_pid: Pid(next),
        prev_mm: None,
        next_mm: Some(Mm(mm)),
        prev_state: None,
        next_comm: None,
    }
}
fn load(mm: u64) -> Role {
    Role::MmLoaded {
        mm: MmArg::Value(Mm(mm)),
        flushed: None,
    }
}
fn user(pid: i32) -> Role {
    Role::ReturnToUser {
        pid: PidArg::Value(Pid(pid)),
    }
}
fn done(mm: u64, all: bool) -> Role {
    Role::TlbFlushCompleted {
        mm: MmArg::Value(Mm(mm)),
        all_cpus: all,
    }
}

fn flush_case(discharged: bool) -> Vec<(u64, u32, Role)> {
    let mut v = vec![
        (10, 0, sw(0, 600, 0xf000)),
        (11, 0, load(0xf000)),
        (20, 1, sw(0, 601, 0xf000)),
        (
            21,
            1,
            Role::MmSwitchRequested {
                pid: PidArg::Value(Pid(601)),
                prev_mm: None,
                next_mm: MmArg::Value(Mm(0xf000)),
                deferred: DeferKind::None,
            },
        ),
        (
            30,
            0,
            Role::TlbFlushRequested {
                mm: MmArg::Value(Mm(0xf000)),
                start: 0,
                end: 4096,
            },
        ),
        (31, 0, done(0xf000, false)),
        (35, 1, load(0xf000)),
    ];
    if discharged {
        v.push((40, 1, done(0xf000, false)));
    }
    v.push((50, 1, user(601)));
    v.push((
        60,
        1,
        Role::KernelEntry {
            pid: PidArg::Value(Pid(601)),
        },
    ));
    v
}

#[test]
fn flush_owed_to_a_switching_cpu_is_found_and_a_local_flush_discharges_it() {
    let f = replay(&trace(&flush_case(false)), &ReplayOptions::default());
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].invariant, Invariant::FlushOwedAtUserReturn);
    assert_eq!((f[0].cpu, f[0].other_cpu), (Cpu(1), Some(Cpu(0))));
    assert_eq!(f[0].window.start.ts, Timestamp(30));
    assert_eq!(f[0].window.end, None);
    assert_eq!(f[0].exposure.len(), 1);
    assert_eq!(
        (
            f[0].exposure[0].start.ts,
            f[0].exposure[0].end.map(|e| e.ts)
        ),
        (Timestamp(50), Some(Timestamp(60)))
    );
    assert!(replay(&trace(&flush_case(true)), &ReplayOptions::default()).is_empty());
}

#[test]
fn kretprobe_end_pairs_with_the_innermost_begin() {
    let begin = |mm: u64| Role::PteUpdateBegin {
        mm: MmArg::Value(Mm(mm)),
        addr: 0x1000,
        lazy: true,
    };
    let end = Role::PteUpdateEnd {
        mm: MmArg::Paired,
        addr: None,
    };
    let list = [
        (1, 0, sw(0, 500, 0xe000)),
        (2, 0, load(0xe000)),
        (10, 0, begin(0xe000)),
        (12, 1, sw(0, 501, 0xe000)),
        (13, 1, load(0xe000)),
        (14, 1, user(501)),
        (20, 0, end),
    ];
    let f = replay(&trace(&list), &ReplayOptions::default());
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0].invariant, Invariant::AttachDuringLazyPteUpdate);
    assert_eq!(
        (f[0].window.start.ts, f[0].window.end.map(|e| e.ts)),
        (Timestamp(13), Some(Timestamp(20)))
    );
}

#[test]
fn inferred_loads_never_give_wrong_mm_findings() {
    // Without load events a lost deferral cannot be seen as a mismatch.
    let list = [
        (1, 0, sw(0, 100, 0xa000)),
        (2, 0, user(100)),
        (3, 0, sw(100, 200, 0xb000)),
        (4, 0, user(200)),
    ];
    let o = ReplayOptions {
        infer_loads: true,
        ..ReplayOptions::default()
    };
    assert!(replay(&trace(&list), &o).is_empty());
    // With an observed load of the wrong mm, INV-1 fires (cause unknown).
    let list = [
        (1, 0, sw(0, 100, 0xa000)),
        (2, 0, load(0xa000)),
        (3, 0, sw(100, 200, 0xb000)),
        (4, 0, user(200)),
    ];
    let f = replay(&trace(&list), &ReplayOptions::default());
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].cause, Some(crate::finding::Cause::Unknown));
    assert_eq!(f[0].window.end, None);
}

/// A switch that carries no mm (as sched_switch).
fn bare_sw(prev: i32, next: i32) -> Role {
    Role::TaskSwitch {
        prev_pid: Pid(prev),
        next_pid: Pid(next),
        prev_mm: None,
        next_mm: None,
        prev_state: None,
        next_comm: None,
    }
}

fn group(t: &mut IngestedTrace, list: &[(i32, u64, i32)]) {
    t.threads = list
        .iter()
        .map(|&(tid, ts, tgid)| crate::ingest::ThreadGroup {
            tid: Pid(tid),
            ts: Timestamp(ts),
            tgid: Pid(tgid),
        })
        .collect();
}

/// Thread 601 never binds an mm itself; its sibling 600 does. With the
/// thread groups of a perf.data the replay knows 601's mm, so a load of
/// another mm before 601 returns to user space is a (suspect, inferred)
/// INV-1; a load of the group's mm is not. Without thread groups it knows
/// nothing and finds nothing.
#[test]
fn thread_group_gives_a_thread_its_siblings_mm() {
    let case = |loaded: u64| {
        trace(&[
            (
                5,
                1,
                Role::TaskMm {
                    pid: Pid(600),
                    mm: Mm(0xa000),
                },
            ),
            (10, 0, bare_sw(0, 601)),
            (11, 0, load(loaded)),
            (12, 0, user(601)),
        ])
    };
    let opts = ReplayOptions::default();
    assert!(replay(&case(0xb000), &opts).is_empty());
    let mut t = case(0xb000);
    group(&mut t, &[(600, 1, 600), (601, 2, 600)]);
    let f = replay(&t, &opts);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].invariant, Invariant::WrongMmAtUserReturn);
    assert_eq!(f[0].expected_mm, Some(Mm(0xa000)));
    assert_eq!(f[0].loaded_mm, Some(Mm(0xb000)));
    assert!(
        f[0].suspect_reasons
            .contains(&crate::finding::SuspectReason::InferredTaskMm)
    );
    let mut t = case(0xa000);
    group(&mut t, &[(600, 1, 600), (601, 2, 600)]);
    assert!(replay(&t, &opts).is_empty());
}

/// Group evidence never overrides a task's own binding, never spreads an
/// exited thread's "no mm", and follows a reused tid to its new group.
#[test]
fn thread_group_evidence_is_conservative() {
    let tm = |pid: i32, mm: u64| Role::TaskMm {
        pid: Pid(pid),
        mm: Mm(mm),
    };
    let mut t = trace(&[
        (5, 0, tm(600, 0xa000)),
        (6, 0, tm(601, 0xc000)),
        (7, 0, tm(602, 0)),
        (8, 1, tm(700, 0xd000)),
    ]);
    group(
        &mut t,
        &[
            (600, 1, 600),
            (601, 1, 600),
            (602, 1, 600),
            (603, 1, 600),
            (603, 50, 700),
            (700, 1, 700),
        ],
    );
    let mut table = tasks::TaskTable::new(Box::new(FirstSeen::of_trace(&t)), &BTreeMap::new());
    let at = |ts: u64| EventRef {
        ts: Timestamp(ts),
        index: EventIndex(ts),
        cpu: Cpu(0),
    };
    // Before any binding of its group: the group's first, inferred.
    assert_eq!(table.mm_at(Pid(603), at(2)).unwrap().value, Mm(0xa000));
    for e in merged(&t) {
        table.observe(e);
    }
    // Its own binding wins.
    let own = table.mm_at(Pid(601), at(20)).unwrap();
    assert_eq!(own.value, Mm(0xc000));
    assert!(own.prov.is_observed());
    // 603 has none: the group's newest user mm (601's), inferred.
    let g = table.mm_at(Pid(603), at(20)).unwrap();
    assert_eq!(g.value, Mm(0xc000));
    assert!(matches!(
        g.prov,
        crate::model::Provenance::Inferred {
            rule: crate::model::InferRule::ThreadGroupMm,
            ..
        }
    ));
    // 602's exit (mm 0) stayed its own.
    assert_eq!(table.mm_at(Pid(602), at(20)).unwrap().value, Mm(0));
    // After tid 603 is reused by group 700, it gets 700's mm.
    assert_eq!(table.tgid_at(Pid(603), Timestamp(60)), Some(Pid(700)));
    assert_eq!(table.mm_at(Pid(603), at(60)).unwrap().value, Mm(0xd000));
    // No group, no binding: nothing.
    assert_eq!(table.mm_at(Pid(999), at(20)), None);
}
