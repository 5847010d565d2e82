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
