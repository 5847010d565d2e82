//! The replay: every CPU's address-space state replayed in merged-stream
//! order, with the cross-CPU checks decided online (race-model.md §3.1,
//! §3.4). Memory is bounded by what is open (tasks, CPUs, owed flushes,
//! pending deferrals), not by the trace's length.
//!
//! ```text
//!  first pass    FirstSeen: each task's first mm (for tasks looked up before it)
//!  per event     TaskTable::observe ─▶ State::step (its CPU: INV-1, 1a, 1b)
//!                   └─ facts ─▶ Cross (INV-2, 2b, 3; open obligations only)
//!  at the end    open windows decided, names filled in, total-order sort
//! ```
//!
//! The engine is fed either by the trace.dat reader directly (the
//! analysis: nothing is kept per event) or from an [`IngestedTrace`]
//! (perf.data, tests, the timeline), in the same order; the results are
//! the same (tested).

pub(crate) mod cpu;
mod cross;
pub(crate) mod tasks;

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

use mmrace_parsers::types::{Pid, Timestamp};

use crate::finding::{Finding, sort_findings};
use crate::ingest::{CpuSlots, IngestedTrace};
use crate::model::Event;
use cpu::{CpuFacts, State};
use cross::Cross;
use tasks::TaskTable;
pub(crate) use tasks::{FirstBinding, FirstSeen, bindings};

/// How to replay.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplayOptions {
    /// The trace has no mm-load events: infer the loaded mm at every switch
    /// to a user task (INV-1 then cannot fire, by design).
    pub infer_loads: bool,
    /// Task names from the trace's saved cmdlines.
    pub comms: BTreeMap<Pid, String>,
}

/// The replay engine: push every role event in merged-stream order, then
/// [`Engine::finish`].
pub(crate) struct Engine<'t> {
    tasks: TaskTable<'t>,
    states: Vec<State>,
    /// CPU number → index in `states`.
    slots: CpuSlots,
    /// The cross-CPU checks (not in the timeline's replay).
    cross: Option<Cross>,
    infer_loads: bool,
    lanes: bool,
}

impl<'t> Engine<'t> {
    /// An engine for a trace whose tasks' first bindings come from `first`
    /// (see [`FirstBinding`]). `completions`:
    /// the trace can show flush completions (the profile maps them);
    /// `lanes`: keep every fact for the timeline, no cross-CPU checks.
    pub(crate) fn new(
        first: Box<dyn FirstBinding + Send + 't>,
        opts: &ReplayOptions,
        completions: bool,
        lanes: bool,
    ) -> Engine<'t> {
        Engine {
            tasks: TaskTable::new(first, &opts.comms),
            states: Vec::new(),
            slots: CpuSlots::default(),
            cross: (!lanes).then(|| Cross::new(completions)),
            infer_loads: opts.infer_loads,
            lanes,
        }
    }

    #[inline]
    fn slot(&mut self, cpu: mmrace_parsers::types::Cpu) -> usize {
        self.slots.get_or_push(cpu, &mut self.states, || {
            State::new(cpu, self.infer_loads, self.lanes)
        })
    }

    /// Replays the next role event of the merged stream.
    #[inline]
    pub(crate) fn push(&mut self, e: &Event) {
        self.tasks.observe(e);
        let i = self.slot(e.at.cpu);
        self.states[i].step(&mut self.tasks, e.at, e.role);
        if let Some(c) = &mut self.cross {
            c.take(&mut self.states, i);
        }
    }

    /// The end of the trace at `end`: every finding (sorted by
    /// [`Finding::total_cmp`], tasks named by the last name the trace gave
    /// them), the task table and each CPU's state, by CPU number.
    fn finish(mut self, end: Timestamp) -> (Vec<Finding>, TaskTable<'t>, Vec<State>) {
        let mut findings = Vec::new();
        match &mut self.cross {
            Some(c) => {
                c.finish(&mut self.states, end);
                findings.append(&mut c.findings);
            }
            None => self.states.iter_mut().for_each(|s| s.finish(end)),
        }
        for s in &mut self.states {
            findings.append(&mut s.out.findings);
        }
        for f in &mut findings {
            if let Some(t) = &mut f.task {
                t.comm = self.tasks.comm(t.pid);
            }
        }
        sort_findings(&mut findings);
        self.states.sort_by_key(|s| s.out.cpu);
        (findings, self.tasks, self.states)
    }

    /// [`Engine::finish`], the findings only.
    pub(crate) fn findings(self, end: Timestamp) -> Vec<Finding> {
        self.finish(end).0
    }
}

/// Every role event of `trace` in merged-stream order (by index; the
/// roles of one record in their order).
fn merged(trace: &IngestedTrace) -> impl Iterator<Item = &Event> {
    let mut pos = vec![0usize; trace.cpus.len()];
    let mut heap: BinaryHeap<Reverse<(u64, usize)>> = trace
        .cpus
        .iter()
        .enumerate()
        .filter_map(|(i, c)| c.events.first().map(|e| Reverse((e.at.index.0, i))))
        .collect();
    std::iter::from_fn(move || {
        let Reverse((_, i)) = heap.pop()?;
        let ev = &trace.cpus[i].events;
        let e = &ev[pos[i]];
        pos[i] += 1;
        if let Some(n) = ev.get(pos[i]) {
            heap.push(Reverse((n.at.index.0, i)));
        }
        Some(e)
    })
}

/// Replays the trace and returns all findings of INV-1, 1a, 1b, 2, 2b and 3,
/// sorted by [`Finding::total_cmp`], before the INV-7 gate.
pub fn replay(trace: &IngestedTrace, opts: &ReplayOptions) -> Vec<Finding> {
    let mut engine = Engine::new(Box::new(FirstSeen::of_trace(trace)), opts, true, false);
    for e in merged(trace) {
        engine.push(e);
    }
    engine.findings(trace.last_ts)
}

/// The per-CPU replay facts with the timeline-only ones kept (running task,
/// switch requests, returns to user, flush begins), in `trace.cpus` order,
/// and the task table that names the tasks: what [`crate::timeline`] turns
/// into lanes. The same state machine as [`replay`]; no cross-CPU checks.
pub(crate) fn replay_lanes<'t>(
    trace: &'t IngestedTrace,
    opts: &ReplayOptions,
) -> (TaskTable<'t>, Vec<CpuFacts>) {
    let mut engine = Engine::new(Box::new(FirstSeen::of_trace(trace)), opts, true, true);
    for c in &trace.cpus {
        let i = engine.slot(c.cpu);
        engine.states[i].out.lost = c.lost.clone();
    }
    for e in merged(trace) {
        engine.push(e);
    }
    let (_, table, states) = engine.finish(trace.last_ts);
    (table, states.into_iter().map(|s| s.out).collect())
}

#[cfg(test)]
mod tests;
