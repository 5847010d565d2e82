//! Phase 0: the global task → mm (and comm) table, built from every CPU's
//! observations so that the per-CPU replays can run independently.

use std::collections::BTreeMap;

use mmrace_parsers::types::Pid;
use rayon::prelude::*;

use crate::ingest::{CpuEvents, IngestedTrace};
use crate::model::{Comm, EventRef, InferRule, Mm, MmArg, PidArg, Provenance, Role, Tracked};

/// Observed task → mm bindings and task names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct TaskTable {
    /// (pid, at, mm), sorted.
    mms: Vec<MmObs>,
    comms: BTreeMap<Pid, String>,
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
        TaskTable { mms, comms: names }
    }

    /// The mm of `pid` at `at`: the last binding at or before `at`
    /// (observed), else the first one after it (inferred).
    pub(crate) fn mm_at(&self, pid: Pid, at: EventRef) -> Option<Tracked<Mm>> {
        let lo = self.mms.partition_point(|(p, _, _)| *p < pid);
        let hi = self.mms.partition_point(|(p, _, _)| *p <= pid);
        let list = &self.mms[lo..hi];
        if list.is_empty() {
            return None;
        }
        let k = list.partition_point(|(_, a, _)| *a <= at);
        if k > 0 {
            let (_, a, m) = list[k - 1];
            Some(Tracked {
                value: m,
                prov: Provenance::Observed { event: a },
            })
        } else {
            let (_, a, m) = list[0];
            Some(Tracked {
                value: m,
                prov: Provenance::Inferred {
                    event: a,
                    rule: InferRule::TaskMmFromLater,
                },
            })
        }
    }

    /// The task's name, when known.
    pub(crate) fn comm(&self, pid: Pid) -> Option<String> {
        self.comms.get(&pid).cloned()
    }
}
