//! The task → mm (and comm) table the replay consults, kept as it goes.
//!
//! The replay runs in merged-stream order, so "the task's last binding at
//! or before this event" is simply the latest binding seen so far. What the
//! stream cannot know yet — a task's *first* binding when it is looked up
//! before that binding (`InferRule::TaskMmFromLater`), and the first user mm
//! of a thread group — comes from a first pass ([`FirstSeen`]), whose size
//! is bounded by the number of tasks, not by the trace's length.

use std::collections::{BTreeMap, HashMap};

use mmrace_parsers::types::{Pid, Timestamp};

use crate::ingest::IngestedTrace;
use crate::model::{
    Comm, Event, EventRef, InferRule, Mm, MmArg, PidArg, Provenance, Role, Tracked,
};

/// Calls `f(pid, mm)` for every task → mm binding `role` shows.
#[inline]
pub(crate) fn bindings(role: &Role, mut f: impl FnMut(Pid, Mm)) {
    match *role {
        Role::TaskSwitch {
            prev_pid,
            next_pid,
            prev_mm,
            next_mm,
            ..
        } => {
            if let Some(m) = prev_mm {
                f(prev_pid, m);
            }
            if let Some(m) = next_mm {
                f(next_pid, m);
            }
        }
        Role::TaskMm { pid, mm } => f(pid, mm),
        Role::MmSwitchRequested {
            pid: PidArg::Value(p),
            next_mm: MmArg::Value(m),
            ..
        } => f(p, m),
        _ => {}
    }
}

/// Whether a role can bind a task to an mm (what [`FirstSeen`] reads).
#[inline]
pub(crate) fn may_bind(role: &Role) -> bool {
    matches!(
        role,
        Role::TaskSwitch { .. } | Role::TaskMm { .. } | Role::MmSwitchRequested { .. }
    )
}

/// The first pass: every task's first mm binding (the earliest by time,
/// then by CPU stream), and, when the trace names thread groups, the
/// groups and the first user mm of each group.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct FirstSeen {
    mms: HashMap<Pid, (EventRef, Mm)>,
    /// (tid, ts, tgid), sorted: which thread group a task belonged to.
    groups: Vec<(Pid, Timestamp, Pid)>,
    /// Per thread group: the first user mm seen for any of its threads.
    group_first: HashMap<Pid, (EventRef, Mm)>,
}

impl FirstSeen {
    /// Offers a binding seen at `at`, in the order of one CPU stream: the
    /// first is kept (two in one event: the larger mm, as a sorted table
    /// gives).
    #[inline]
    pub(crate) fn offer(&mut self, pid: Pid, at: EventRef, mm: Mm) {
        self.mms
            .entry(pid)
            .and_modify(|e| {
                if e.0 == at && mm > e.1 {
                    e.1 = mm;
                }
            })
            .or_insert((at, mm));
    }

    /// Merges the first pass over another CPU stream: the earlier binding
    /// of each task wins (by [`EventRef`] order).
    pub(crate) fn merge(&mut self, other: FirstSeen) {
        for (pid, x) in other.mms {
            self.mms
                .entry(pid)
                .and_modify(|e| {
                    if x.0 < e.0 {
                        *e = x;
                    }
                })
                .or_insert(x);
        }
    }

    /// The first pass over an ingested trace.
    pub(crate) fn of_trace(trace: &IngestedTrace) -> FirstSeen {
        let mut f = FirstSeen::default();
        for c in &trace.cpus {
            let mut part = FirstSeen::default();
            for e in &c.events {
                bindings(&e.role, |p, m| part.offer(p, e.at, m));
            }
            f.merge(part);
        }
        let mut groups: Vec<_> = trace
            .threads
            .iter()
            .map(|g| (g.tid, g.ts, g.tgid))
            .collect();
        groups.sort_unstable();
        groups.dedup();
        f.groups = groups;
        if !f.groups.is_empty() {
            // Only user mms spread to the group: `exit_mm` (mm 0) is per
            // thread.
            let mut first: HashMap<Pid, (EventRef, Mm)> = HashMap::new();
            for c in &trace.cpus {
                for e in &c.events {
                    bindings(&e.role, |p, m| {
                        if !m.is_user() {
                            return;
                        }
                        if let Some(g) = tgid_at(&f.groups, p, e.at.ts) {
                            first
                                .entry(g)
                                .and_modify(|x| {
                                    if (e.at, m) < *x {
                                        *x = (e.at, m);
                                    }
                                })
                                .or_insert((e.at, m));
                        }
                    });
                }
            }
            f.group_first = first;
        }
        f
    }
}

/// The thread group of task `tid` at `ts` in a sorted (tid, ts, tgid) list:
/// the last observation at or before `ts`, else the first after it.
fn tgid_at(groups: &[(Pid, Timestamp, Pid)], tid: Pid, ts: Timestamp) -> Option<Pid> {
    let lo = groups.partition_point(|(p, _, _)| *p < tid);
    let hi = groups.partition_point(|(p, _, _)| *p <= tid);
    let list = &groups[lo..hi];
    let k = list.partition_point(|(_, t, _)| *t <= ts);
    list.get(k.saturating_sub(1)).map(|&(_, _, g)| g)
}

/// Task → mm bindings and task names, as of the event being replayed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct TaskTable {
    first: FirstSeen,
    /// Per task: its latest binding so far.
    last: HashMap<Pid, (EventRef, Mm)>,
    /// Per thread group: the latest user mm of any of its threads so far.
    group_last: HashMap<Pid, (EventRef, Mm)>,
    /// Names: saved cmdlines, overwritten by names seen in events.
    comms: BTreeMap<Pid, String>,
}

impl TaskTable {
    /// A table with the first pass's results and the trace's saved
    /// cmdlines (names seen in events take precedence).
    pub(crate) fn new(first: FirstSeen, extra: &BTreeMap<Pid, String>) -> TaskTable {
        TaskTable {
            first,
            last: HashMap::new(),
            group_last: HashMap::new(),
            comms: extra.clone(),
        }
    }

    /// Takes in the bindings and the name an event shows; called for every
    /// event before the CPU's replay steps over it.
    #[inline]
    pub(crate) fn observe(&mut self, e: &Event) {
        if !may_bind(&e.role) {
            return;
        }
        let at = e.at;
        let (last, group_last, first) = (&mut self.last, &mut self.group_last, &self.first);
        bindings(&e.role, |p, m| {
            let keep = |x: &mut (EventRef, Mm)| {
                // Two bindings of one task in one event: the larger mm, as
                // a sorted table gives.
                if x.0 != at || m > x.1 {
                    *x = (at, m);
                }
            };
            last.entry(p).and_modify(keep).or_insert((at, m));
            if m.is_user()
                && !first.groups.is_empty()
                && let Some(g) = tgid_at(&first.groups, p, at.ts)
            {
                group_last.entry(g).and_modify(keep).or_insert((at, m));
            }
        });
        if let Role::TaskSwitch {
            next_pid,
            next_comm: Some(c),
            ..
        } = e.role
        {
            self.set_comm(next_pid, c);
        }
    }

    fn set_comm(&mut self, pid: Pid, c: Comm) {
        let name = c.as_string();
        if self.comms.get(&pid) != Some(&name) {
            self.comms.insert(pid, name);
        }
    }

    /// The thread group of task `tid` at `ts`: the last observation at or
    /// before `ts`, else the first after it.
    pub(crate) fn tgid_at(&self, tid: Pid, ts: Timestamp) -> Option<Pid> {
        tgid_at(&self.first.groups, tid, ts)
    }

    /// The mm of `pid` at `at`: the task's latest binding so far
    /// (observed); else, when the trace gives thread groups (perf.data),
    /// the latest user mm of another thread of its group (inferred: threads
    /// share their mm); else the task's own first binding, later in the
    /// trace, then its group's (inferred).
    pub(crate) fn mm_at(&self, pid: Pid, at: EventRef) -> Option<Tracked<Mm>> {
        if let Some(&(a, m)) = self.last.get(&pid) {
            return Some(Tracked {
                value: m,
                prov: Provenance::Observed { event: a },
            });
        }
        let group = self.tgid_at(pid, at.ts);
        let inferred = |(a, m): (EventRef, Mm), rule| Tracked {
            value: m,
            prov: Provenance::Inferred { event: a, rule },
        };
        if let Some(&x) = group.and_then(|g| self.group_last.get(&g)) {
            return Some(inferred(x, InferRule::ThreadGroupMm));
        }
        if let Some(&x) = self.first.mms.get(&pid) {
            return Some(inferred(x, InferRule::TaskMmFromLater));
        }
        group
            .and_then(|g| self.first.group_first.get(&g))
            .map(|&x| inferred(x, InferRule::ThreadGroupMm))
    }

    /// The task's name, when known.
    pub(crate) fn comm(&self, pid: Pid) -> Option<String> {
        self.comms.get(&pid).cloned()
    }
}
