//! The task → mm (and comm) table the replay consults, kept as it goes.
//!
//! The replay runs in merged-stream order, so "the task's last binding at
//! or before this event" is simply the latest binding seen so far. What the
//! stream cannot know yet — a task's *first* binding when it is looked up
//! before that binding (`InferRule::TaskMmFromLater`), and the first user mm
//! of a thread group — comes from a [`FirstBinding`]: a first pass
//! ([`FirstSeen`]) over an ingested trace, or over a trace.dat's CPU
//! streams in parallel reading only the records of rules that can bind
//! (`CompiledProfile::classify_bindings`). Both are bounded by the number
//! of tasks, not by the trace's length.

use std::collections::BTreeMap;

use foldhash::HashMap;

use mmrace_parsers::types::{Pid, Timestamp};

use crate::ingest::IngestedTrace;
use crate::model::{
    Comm, Event, EventRef, InferRule, Mm, MmArg, PidArg, Provenance, Role, RoleKind, Tracked,
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

/// Whether roles of this kind can bind a task to an mm.
#[inline]
pub(crate) fn binds(kind: RoleKind) -> bool {
    matches!(
        kind,
        RoleKind::TaskSwitch | RoleKind::TaskMm | RoleKind::MmSwitchRequested
    )
}

/// Where a task's first mm binding comes from when the replay meets the
/// task before it.
pub(crate) trait FirstBinding {
    /// The task's first binding in the trace (by [`EventRef`] order).
    fn first_mm(&mut self, pid: Pid) -> Option<(EventRef, Mm)>;

    /// Thread-group observations (tid, ts, tgid), sorted.
    fn groups(&self) -> &[(Pid, Timestamp, Pid)] {
        &[]
    }

    /// The first user mm of any thread of the group.
    fn group_first(&self, _tgid: Pid) -> Option<(EventRef, Mm)> {
        None
    }
}

impl FirstBinding for FirstSeen {
    fn first_mm(&mut self, pid: Pid) -> Option<(EventRef, Mm)> {
        self.mms.get(&pid).copied()
    }

    fn groups(&self) -> &[(Pid, Timestamp, Pid)] {
        &self.groups
    }

    fn group_first(&self, tgid: Pid) -> Option<(EventRef, Mm)> {
        self.group_first.get(&tgid).copied()
    }
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
    /// Task `pid`'s first mm, if it was bound.
    #[cfg(test)]
    pub(crate) fn first_mm_of(&self, pid: Pid) -> Option<Mm> {
        self.mms.get(&pid).map(|e| e.1)
    }

    /// Where task `pid`'s first binding was offered, if it was.
    #[inline]
    pub(crate) fn first(&self, pid: Pid) -> Option<EventRef> {
        self.mms.get(&pid).map(|e| e.0)
    }

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
            let mut first: HashMap<Pid, (EventRef, Mm)> = HashMap::default();
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
pub(crate) struct TaskTable<'t> {
    first: Box<dyn FirstBinding + Send + 't>,
    /// Per task: its latest binding so far.
    last: HashMap<Pid, (EventRef, Mm)>,
    /// Per thread group: the latest user mm of any of its threads so far.
    group_last: HashMap<Pid, (EventRef, Mm)>,
    /// The last name seen in events per task.
    comms: HashMap<Pid, Comm>,
    /// Names from the trace's saved cmdlines (below names seen in events).
    saved: BTreeMap<Pid, String>,
}

impl<'t> TaskTable<'t> {
    /// A table whose tasks' first bindings come from `first`, with the
    /// trace's saved cmdlines (names seen in events take precedence).
    pub(crate) fn new(
        first: Box<dyn FirstBinding + Send + 't>,
        extra: &BTreeMap<Pid, String>,
    ) -> TaskTable<'t> {
        TaskTable {
            first,
            last: HashMap::default(),
            group_last: HashMap::default(),
            comms: HashMap::default(),
            saved: extra.clone(),
        }
    }

    /// Takes in the bindings and the name an event shows; called for every
    /// event before the CPU's replay steps over it.
    #[inline]
    pub(crate) fn observe(&mut self, e: &Event) {
        if !binds(e.role.kind()) {
            return;
        }
        let at = e.at;
        let (last, group_last, groups) =
            (&mut self.last, &mut self.group_last, self.first.groups());
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
                && !groups.is_empty()
                && let Some(g) = tgid_at(groups, p, at.ts)
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
            self.comms.insert(next_pid, c);
        }
    }

    /// The thread group of task `tid` at `ts`: the last observation at or
    /// before `ts`, else the first after it.
    pub(crate) fn tgid_at(&self, tid: Pid, ts: Timestamp) -> Option<Pid> {
        tgid_at(self.first.groups(), tid, ts)
    }

    /// The mm of `pid` at `at`: the task's latest binding so far
    /// (observed); else, when the trace gives thread groups (perf.data),
    /// the latest user mm of another thread of its group (inferred: threads
    /// share their mm); else the task's own first binding, later in the
    /// trace, then its group's (inferred).
    pub(crate) fn mm_at(&mut self, pid: Pid, at: EventRef) -> Option<Tracked<Mm>> {
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
        if let Some(x) = self.first.first_mm(pid) {
            return Some(inferred(x, InferRule::TaskMmFromLater));
        }
        group
            .and_then(|g| self.first.group_first(g))
            .map(|x| inferred(x, InferRule::ThreadGroupMm))
    }

    /// The task's name, when known.
    pub(crate) fn comm(&self, pid: Pid) -> Option<String> {
        match self.comms.get(&pid) {
            Some(c) => Some(c.as_string()),
            None => self.saved.get(&pid).cloned(),
        }
    }
}
