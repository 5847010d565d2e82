//! The replay: per-CPU address-space state replayed for all CPUs in parallel
//! (rayon), then the cross-CPU checks (race-model.md §3.1, §3.4).
//!
//! ```text
//!  phase 0  task table      all CPUs ──par──▶ (pid, at, mm) sorted   (task → mm, comm)
//!  phase 1  per-CPU replay  cpu0 │ cpu1 │ … ──par──▶ CpuFacts + INV-1 / INV-1a
//!  phase 2  cross-CPU       facts of all CPUs ──▶ INV-1b, INV-2, INV-2b, INV-3
//!  then     INV-7 gate, total-order sort
//! ```
//!
//! Phase 1 only reads the immutable task table, and phase 2 only reads the
//! phase-1 results in CPU order, so the parallel and the sequential replay
//! give identical results (tested).

pub(crate) mod cpu;
mod cross;
pub(crate) mod tasks;

use std::collections::BTreeMap;

use mmrace_parsers::types::Pid;
use rayon::prelude::*;

use crate::finding::{Finding, sort_findings};
use crate::ingest::IngestedTrace;

/// How to replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayOptions {
    /// Replay the CPUs in parallel (rayon's current pool).
    pub parallel: bool,
    /// The trace has no mm-load events: infer the loaded mm at every switch
    /// to a user task (INV-1 then cannot fire, by design).
    pub infer_loads: bool,
    /// Task names from the trace's saved cmdlines.
    pub comms: BTreeMap<Pid, String>,
}

impl Default for ReplayOptions {
    fn default() -> Self {
        ReplayOptions {
            parallel: true,
            infer_loads: false,
            comms: BTreeMap::new(),
        }
    }
}

/// Replays the trace and returns all findings of INV-1, 1a, 1b, 2, 2b and 3,
/// sorted by [`Finding::total_cmp`], before the INV-7 gate.
pub fn replay(trace: &IngestedTrace, opts: &ReplayOptions) -> Vec<Finding> {
    let table = tasks::TaskTable::build(trace, opts.parallel, &opts.comms);
    let end = trace.last_ts;
    let run = |c| cpu::replay_cpu(c, &table, opts.infer_loads, end);
    let mut facts: Vec<cpu::CpuFacts> = if opts.parallel {
        trace.cpus.par_iter().map(run).collect()
    } else {
        trace.cpus.iter().map(run).collect()
    };
    let comm = |p: Pid| table.comm(p);
    let cross = cross::check(&mut facts, end, &comm);
    let mut findings: Vec<Finding> = facts.into_iter().flat_map(|f| f.findings).collect();
    findings.extend(cross);
    sort_findings(&mut findings);
    findings
}

/// The per-CPU replay facts with the timeline-only ones kept (running task,
/// switch requests, returns to user, flush begins), and the task table that
/// names the tasks: what [`crate::timeline`] turns into lanes. The same state
/// machine as [`replay`]; no cross-CPU phase.
pub(crate) fn replay_lanes(
    trace: &IngestedTrace,
    opts: &ReplayOptions,
) -> (tasks::TaskTable, Vec<cpu::CpuFacts>) {
    let table = tasks::TaskTable::build(trace, opts.parallel, &opts.comms);
    let end = trace.last_ts;
    let run = |c| cpu::replay_cpu_with(c, &table, opts.infer_loads, end, true);
    let facts = if opts.parallel {
        trace.cpus.par_iter().map(run).collect()
    } else {
        trace.cpus.iter().map(run).collect()
    };
    (table, facts)
}

#[cfg(test)]
mod tests;
