//! Phase 0: the global task → mm (and comm) table, built from every CPU's
//! observations so that the per-CPU replays can run independently.

use std::collections::BTreeMap;

use mmrace_parsers::types::{Pid, Timestamp};
use rayon::prelude::*;

use crate::ingest::{CpuEvents, IngestedTrace};
use crate::model::{Comm, EventRef, InferRule, Mm, MmArg, PidArg, Provenance, Role, Tracked};

/// Observed task → mm bindings and task names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct TaskTable {
    /// (pid, at, mm), sorted.
    mms: Vec<MmObs>,
    comms: BTreeMap<Pid, String>,
    /// (tid, ts, tgid), sorted: which thread group a task belonged to.
    groups: Vec<(Pid, Timestamp, Pid)>,
    /// (tgid, at, mm): user mms observed for any thread of a group, sorted.
    group_mms: Vec<(Pid, EventRef, Mm)>,
}

/// A task → mm observation.
type MmObs = (Pid, EventRef, Mm);
/// A task name observation.
type CommObs = (EventRef, Pid, Comm);

fn observe(c: &CpuEvents) -> (Vec<MmObs>, Vec<CommObs>) {
    let mut mms = Vec::new();
    let mut comms = Vec::new();
    for e in &c.events {
        match e.role {
            Role::TaskSwitch {
                prev_pid,
                next_pid,
                prev_mm,
                next_mm,
                next_comm,
                ..
            } => {
                if let Some(m) = prev_mm {
                    mms.push((prev_pid, e.at, m));
                }
                if let Some(m) = next_mm {
                    mms.push((next_pid, e.at, m));
                }
                if let Some(cm) = next_comm {
                    comms.push((e.at, next_pid, cm));
                }
            }
            Role::TaskMm { pid, mm } => mms.push((pid, e.at, mm)),
            Role::MmSwitchRequested {
                pid: PidArg::Value(p),
                next_mm: MmArg::Value(m),
                ..
            } => {
                mms.push((p, e.at, m));
            }
            _ => {}
        }
    }
    (mms, comms)
}

impl TaskTable {
    /// Collects observations from all CPUs (in parallel when asked) and sorts
    /// them; `extra` adds names from the trace's saved cmdlines (lower
    /// precedence than names seen in events).
    pub(crate) fn build(
        trace: &IngestedTrace,
        parallel: bool,
        extra: &BTreeMap<Pid, String>,
    ) -> TaskTable {
        let parts: Vec<_> = if parallel {
            trace.cpus.par_iter().map(observe).collect()
        } else {
            trace.cpus.iter().map(observe).collect()
        };
        let mut mms = Vec::new();
        let mut comms = Vec::new();
        for (m, c) in parts {
            mms.extend(m);
            comms.extend(c);
        }
        // The order is total (equal observations are identical), so the
        // parallel sort gives the same table.
        if parallel {
            mms.par_sort_unstable();
        } else {
            mms.sort_unstable();
        }
        mms.dedup();
        comms.sort_unstable_by_key(|(at, pid, _)| (*at, *pid));
        let mut names = extra.clone();
        for (_, pid, c) in comms {
            names.insert(pid, c.as_string());
        }
        let mut groups: Vec<_> = trace
            .threads
            .iter()
            .map(|g| (g.tid, g.ts, g.tgid))
            .collect();
        groups.sort_unstable();
        groups.dedup();
        let mut t = TaskTable {
            mms,
            comms: names,
            groups,
            group_mms: Vec::new(),
        };
        if !t.groups.is_empty() {
            // Only user mms spread to the group: `exit_mm` (mm 0) is per
            // thread.
            let mut g: Vec<_> = t
                .mms
                .iter()
                .filter(|(_, _, m)| m.is_user())
                .filter_map(|&(p, at, m)| t.tgid_at(p, at.ts).map(|g| (g, at, m)))
                .collect();
            g.sort_unstable();
            g.dedup();
            t.group_mms = g;
        }
        t
    }

    /// The thread group of task `tid` at `ts`: the last observation at or
    /// before `ts`, else the first after it.
    pub(crate) fn tgid_at(&self, tid: Pid, ts: Timestamp) -> Option<Pid> {
        let lo = self.groups.partition_point(|(p, _, _)| *p < tid);
        let hi = self.groups.partition_point(|(p, _, _)| *p <= tid);
        let list = &self.groups[lo..hi];
        let k = list.partition_point(|(_, t, _)| *t <= ts);
        list.get(k.saturating_sub(1)).map(|&(_, _, g)| g)
    }

    /// The newest user mm seen for any thread of `pid`'s group at or before
    /// `at`, else the oldest after it.
    fn group_mm(&self, pid: Pid, at: EventRef) -> Option<(EventRef, Mm, bool)> {
        let g = self.tgid_at(pid, at.ts)?;
        let lo = self.group_mms.partition_point(|(p, _, _)| *p < g);
        let hi = self.group_mms.partition_point(|(p, _, _)| *p <= g);
        let list = &self.group_mms[lo..hi];
        let k = list.partition_point(|(_, a, _)| *a <= at);
        if k > 0 {
            let (_, a, m) = list[k - 1];
            Some((a, m, true))
        } else {
            list.first().map(|&(_, a, m)| (a, m, false))
        }
    }

    /// The mm of `pid` at `at`: the last binding of the task itself at or
    /// before `at` (observed); else, when the trace gives thread groups
    /// (perf.data), the last user mm seen for another thread of its group
    /// at or before `at` (inferred: threads share their mm); else the
    /// task's own first binding after `at`, then its group's (inferred).
    pub(crate) fn mm_at(&self, pid: Pid, at: EventRef) -> Option<Tracked<Mm>> {
        let lo = self.mms.partition_point(|(p, _, _)| *p < pid);
        let hi = self.mms.partition_point(|(p, _, _)| *p <= pid);
        let list = &self.mms[lo..hi];
        let k = list.partition_point(|(_, a, _)| *a <= at);
        if k > 0 {
            let (_, a, m) = list[k - 1];
            return Some(Tracked {
                value: m,
                prov: Provenance::Observed { event: a },
            });
        }
        let group = self.group_mm(pid, at);
        if let Some((a, m, true)) = group {
            return Some(Tracked {
                value: m,
                prov: Provenance::Inferred {
                    event: a,
                    rule: InferRule::ThreadGroupMm,
                },
            });
        }
        if let Some(&(_, a, m)) = list.first() {
            return Some(Tracked {
                value: m,
                prov: Provenance::Inferred {
                    event: a,
                    rule: InferRule::TaskMmFromLater,
                },
            });
        }
        group.map(|(a, m, _)| Tracked {
            value: m,
            prov: Provenance::Inferred {
                event: a,
                rule: InferRule::ThreadGroupMm,
            },
        })
    }

    /// The task's name, when known.
    pub(crate) fn comm(&self, pid: Pid) -> Option<String> {
        self.comms.get(&pid).cloned()
    }
}
