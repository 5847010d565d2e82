//! The cross-CPU checks, run online as the replay hands out each CPU's
//! facts in merged-stream order: per-mm deferral flags consumed elsewhere
//! (INV-1b, decided by the CPU replay from what [`Cross`] tells its pending
//! deferral), flush obligations (INV-2), attaches during a lazy PTE update
//! (INV-2b) and lost lazy flushes (INV-3).
//!
//! Memory is bounded by what is still open, not by the trace's length: a
//! flush obligation lives until the target CPU is discharged (and the
//! initiator's own flush is done), a lazy PTE window until it ends, and
//! the INV-3 log of an mm from its first deferral until every deferral has
//! a qualifying flush that started after it (then the log is checked and
//! dropped).
//!
//! Every comparison uses [`EventRef`] order (time, then merged-stream
//! index), so equal timestamps on two CPUs are ordered as the merged
//! stream orders them.

use std::collections::HashMap;

use mmrace_parsers::types::{Cpu, Pid, Timestamp};

use super::cpu::{
    Completion, CpuFacts, DeferDone, Fact, LoadFact, Seg, State, UserIv, sorted_chain,
};
use crate::finding::{ChainLink, Finding, Interval, Invariant, SuspectReason, TaskRef};
use crate::model::{EventRef, Mm};

fn before(a: EventRef, b: Option<EventRef>) -> bool {
    b.is_none_or(|b| a < b)
}

fn task(pid: Pid) -> TaskRef {
    TaskRef { pid, comm: None }
}

/// INV-1b: the INV-1 finding `inv1` at the return to user `user` came under
/// a per-mm deferral (request `req`) whose flag CPU `c1`'s deferred
/// completion `done` consumed in between.
#[allow(clippy::too_many_arguments)]
pub(crate) fn mm_flag_consumed(
    inv1: &Finding,
    mm: Mm,
    req: EventRef,
    skipped: Option<EventRef>,
    user: EventRef,
    pid: Pid,
    c1: Cpu,
    done: DeferDone,
) -> Finding {
    let mut g = Finding::new(
        Invariant::MmDeferralConsumedElsewhere,
        inv1.cpu,
        Interval {
            start: req,
            end: Some(user),
            end_ts: user.ts,
        },
    );
    g.other_cpu = Some(c1);
    g.task = inv1.task.clone();
    g.expected_mm = Some(mm);
    g.loaded_mm = inv1.loaded_mm;
    let mut chain = vec![
        ChainLink {
            at: req,
            what: format!("mm-switch-requested -> {mm} deferred mm-flag (flag set)"),
        },
        ChainLink {
            at: done.at,
            what: format!("deferred-switch-completed on cpu {c1}: flag for {mm} consumed"),
        },
        ChainLink {
            at: user,
            what: format!("return-to-user pid {pid} without the switch"),
        },
    ];
    if let Some(r) = done.req {
        chain.push(ChainLink {
            at: r,
            what: format!("mm-switch-requested on cpu {c1} -> {mm} deferred mm-flag"),
        });
    }
    if let Some(s) = skipped {
        chain.push(ChainLink {
            at: s,
            what: "deferred-switch-skipped: flag already cleared".to_string(),
        });
    }
    g.cause_chain = sorted_chain(chain);
    g.suspect_reasons = inv1.suspect_reasons.clone();
    g.confidence = inv1.confidence;
    g
}

/// User intervals of one CPU in one mm since some event, the last one
/// possibly still open.
#[derive(Debug, Default)]
struct Exposure {
    ivs: Vec<UserIv>,
}

impl Exposure {
    fn start(&mut self, u: UserIv) {
        self.ivs.push(u);
    }

    fn end(&mut self, at: EventRef) {
        if let Some(u) = self.ivs.last_mut()
            && u.end.is_none()
        {
            u.end = Some(at);
        }
    }

    /// The intervals clipped to [from, to), in order (`to` None: the end
    /// of the trace).
    fn clip(
        &self,
        from: EventRef,
        to: Option<EventRef>,
        trace_end: Timestamp,
    ) -> Vec<(Interval, UserIv)> {
        let mut v = Vec::new();
        for u in &self.ivs {
            if u.end.is_some_and(|e| e <= from) {
                continue;
            }
            if to.is_some_and(|t| u.start >= t) {
                break;
            }
            let start = u.start.max(from);
            let end = match (u.end, to) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, None) => a,
                (None, b) => b,
            };
            if before(start, end) {
                v.push((
                    Interval {
                        start,
                        end,
                        end_ts: end.map_or(trace_end, |e| e.ts),
                    },
                    *u,
                ));
            }
        }
        v
    }
}

/// The first event that discharges an owed flush: (event, description,
/// whether it is a flush completion).
type Discharge = (EventRef, String, bool);

/// INV-2 in progress: a flush of `mm` requested by `init` while the target
/// CPU had it loaded (or was switching to it).
#[derive(Debug)]
struct Obligation {
    at: EventRef,
    mm: Mm,
    init: Cpu,
    target: Cpu,
    /// The target's state at the request.
    seg: Seg,
    /// The initiator's first completion of `mm` at or after the request.
    init_done: Option<EventRef>,
    /// The first completion on the target after the request (any mm: the
    /// flush IPI the initiator waited for).
    handled: Option<EventRef>,
    dis: Option<Discharge>,
    users: Exposure,
}

impl Obligation {
    /// The user time from which the target is exposed: after the request,
    /// the initiator's own flush, a discharging completion and the flush
    /// IPI handled on the target.
    fn from(&self) -> EventRef {
        let mut from = self.init_done.unwrap_or(self.at).max(self.at);
        if let Some((d, _, true)) = &self.dis {
            from = from.max(*d);
        }
        if let Some(h) = self.handled {
            from = from.max(h);
        }
        from
    }

    /// Whether nothing still to come can change the finding: discharged,
    /// and the initiator's flush and the target's IPI seen (or already past
    /// the discharge, which leaves nothing exposed).
    fn settled(&self) -> bool {
        let Some((d, _, _)) = &self.dis else {
            return false;
        };
        self.from() >= *d || (self.init_done.is_some() && self.handled.is_some())
    }

    fn finding(self, trace_end: Timestamp) -> Option<Finding> {
        let to = self.dis.as_ref().map(|d| d.0);
        let exp = self.users.clip(self.from(), to, trace_end);
        let (_, first) = exp.first()?;
        let (mm, seg) = (self.mm, self.seg);
        let mut f = Finding::new(
            Invariant::FlushOwedAtUserReturn,
            self.target,
            Interval {
                start: self.at,
                end: to,
                end_ts: to.map_or(trace_end, |d| d.ts),
            },
        );
        f.other_cpu = Some(self.init);
        f.task = Some(task(first.pid));
        f.expected_mm = Some(mm);
        f.loaded_mm = seg.hw;
        let mut chain = vec![
            ChainLink {
                at: self.at,
                what: format!("tlb-flush-requested {mm} by cpu {}", self.init),
            },
            ChainLink {
                at: first.start,
                what: format!(
                    "return-to-user pid {} in {mm} with the flush owed",
                    first.pid
                ),
            },
        ];
        if let Some(h) = seg.hw_at {
            let what = if seg.switching_to == Some(mm) {
                format!("cpu {} switching to {mm}", self.target)
            } else {
                format!("mm-loaded {mm} on cpu {}", self.target)
            };
            chain.push(ChainLink { at: h, what });
        }
        if let Some(d) = self.init_done {
            chain.push(ChainLink {
                at: d,
                what: format!("initiator's flush of {mm} done"),
            });
        }
        if let Some((d, what, _)) = self.dis {
            chain.push(ChainLink { at: d, what });
        }
        f.cause_chain = sorted_chain(chain);
        f.exposure = exp.into_iter().map(|(iv, _)| iv).collect();
        if !seg.hw_observed {
            f.add_suspect(SuspectReason::InferredLoadedMm);
        }
        Some(f)
    }
}

/// INV-2b in progress: a lazy PTE update of `mm` on `cpu` (only that CPU
/// had the mm attached), and the first attach of the mm on each other CPU
/// during it.
#[derive(Debug)]
struct LazyWindow {
    cpu: Cpu,
    begin: EventRef,
    mm: Mm,
    /// Per other CPU: its first load of the mm in the window and its user
    /// time in the mm since.
    attached: Vec<(Cpu, LoadFact, Exposure)>,
}

/// INV-3 in progress: everything about one mm since its first unsettled
/// deferral, per CPU, in the shape the check reads.
#[derive(Debug, Default)]
struct Inv3Log {
    cpus: Vec<CpuFacts>,
}

impl Inv3Log {
    fn cpu(&mut self, c: Cpu) -> &mut CpuFacts {
        let i = match self.cpus.binary_search_by_key(&c, |f| f.cpu) {
            Ok(i) => i,
            Err(i) => {
                self.cpus.insert(i, CpuFacts::empty(c));
                i
            }
        };
        &mut self.cpus[i]
    }

    /// Whether every deferral has its first qualifying flush (one of the
    /// mm, started after it, on its CPU or on all CPUs) and no flush of the
    /// mm that could start earlier is still running: nothing to come can
    /// change the check's result.
    fn settled(&self, mm: Mm, states: &[State]) -> bool {
        let mut first_def: Option<EventRef> = None;
        for f in &self.cpus {
            for d in &f.flush_deferred {
                first_def = Some(first_def.map_or(d.at, |x| x.min(d.at)));
                let qualified = self.cpus.iter().any(|o| {
                    o.completions
                        .iter()
                        .any(|c| c.mm == mm && c.start >= d.at && (c.all_cpus || o.cpu == f.cpu))
                });
                if !qualified {
                    return false;
                }
            }
        }
        // A flush still running could still start a deferral's epoch or
        // be the one that began before a deferral and clears its flag
        // too late (part of the cause chain).
        first_def.is_some()
            && !states
                .iter()
                .any(|s| s.flush_stack.iter().any(|b| b.1 == mm))
    }
}

/// The cross-CPU checks' open state.
#[derive(Debug)]
pub(crate) struct Cross {
    obligations: Vec<Obligation>,
    windows: Vec<LazyWindow>,
    inv3: HashMap<Mm, Inv3Log>,
    /// Whether the trace can show flush completions at all (if not, an
    /// initiator's flush and a target's IPI are never seen, and nothing
    /// waits for them).
    completions: bool,
    /// The end of the trace, once known.
    end: Timestamp,
    /// Findings made.
    pub(crate) findings: Vec<Finding>,
}

impl Cross {
    /// Open state for a trace whose profile maps flush completions
    /// (`completions`) or not.
    pub(crate) fn new(completions: bool) -> Cross {
        Cross {
            obligations: Vec::new(),
            windows: Vec::new(),
            inv3: HashMap::new(),
            completions,
            end: Timestamp(0),
            findings: Vec::new(),
        }
    }

    /// Takes in the facts CPU `ci` of `states` just handed out (most
    /// events hand out none: that case is one test, inline).
    #[inline]
    pub(crate) fn take(&mut self, states: &mut [State], ci: usize) {
        if !states[ci].emit.is_empty() {
            self.take_facts(states, ci);
        }
    }

    fn take_facts(&mut self, states: &mut [State], ci: usize) {
        let facts = std::mem::take(&mut states[ci].emit);
        let cpu = states[ci].out.cpu;
        for f in &facts {
            match *f {
                Fact::Load(l) => self.on_load(cpu, l, states),
                Fact::DeferDone(d) => {
                    for s in states.iter_mut().filter(|s| s.out.cpu != cpu) {
                        if let Some(p) = &mut s.pending
                            && p.mm == d.mm
                            && p.consumed.is_none()
                            && p.req < d.at
                        {
                            p.consumed = Some((cpu, d));
                        }
                    }
                }
                Fact::FlushReq(r) => self.on_flush_req(cpu, r.at, r.mm, states),
                Fact::FlushDeferred(r) => {
                    self.inv3
                        .entry(r.mm)
                        .or_default()
                        .cpu(cpu)
                        .flush_deferred
                        .push(r);
                }
                Fact::Completion(c) => self.on_completion(cpu, c, states),
                Fact::PteBegin { at, mm, lazy } => {
                    if lazy {
                        self.windows.push(LazyWindow {
                            cpu,
                            begin: at,
                            mm,
                            attached: Vec::new(),
                        });
                    }
                }
                Fact::Pte(w) => {
                    if w.lazy
                        && let Some(i) = self
                            .windows
                            .iter()
                            .position(|x| x.cpu == cpu && x.begin == w.begin && x.mm == w.mm)
                    {
                        let x = self.windows.remove(i);
                        self.close_window(x, w.end, w.addr);
                    }
                }
                Fact::UserStart(u, hw) => self.on_user_start(cpu, u, hw),
                Fact::UserEnd(at) => self.on_user_end(cpu, at),
            }
        }
        let mut facts = facts;
        facts.clear();
        states[ci].emit = facts;
    }

    fn on_load(&mut self, cpu: Cpu, l: LoadFact, states: &[State]) {
        if l.flushed == Some(true) {
            for o in self
                .obligations
                .iter_mut()
                .filter(|o| o.target == cpu && o.mm == l.mm && l.at >= o.at)
            {
                offer(o, l.at, || format!("mm-loaded {} with flush", l.mm), false);
            }
        }
        let open = states
            .iter()
            .find(|s| s.out.cpu == cpu)
            .and_then(|s| s.user_now());
        for w in self
            .windows
            .iter_mut()
            .filter(|w| w.mm == l.mm && w.cpu != cpu && w.begin < l.at)
        {
            if w.attached.iter().all(|a| a.0 != cpu) {
                let mut e = Exposure::default();
                if let Some(u) = open.filter(|u| u.mm == Some(l.mm)) {
                    e.start(u);
                }
                w.attached.push((cpu, l, e));
            }
        }
        if let Some(log) = self.inv3.get_mut(&l.mm) {
            log.cpu(cpu).loads.push(l);
        }
        self.settle_obligations();
    }

    fn on_completion(&mut self, cpu: Cpu, c: Completion, states: &[State]) {
        for o in &mut self.obligations {
            if o.init == cpu && o.mm == c.mm && o.init_done.is_none() && c.done >= o.at {
                o.init_done = Some(c.done);
            }
            if o.target == cpu && o.handled.is_none() && c.done > o.at {
                o.handled = Some(c.done);
            }
            if o.mm == c.mm && (o.target == cpu || c.all_cpus) && c.start >= o.at {
                let mm = c.mm;
                offer(
                    o,
                    c.done,
                    || {
                        if c.all_cpus {
                            format!("tlb-flush-completed {mm} on all cpus (by cpu {cpu})")
                        } else {
                            format!("tlb-flush-completed {mm} on cpu {cpu}")
                        }
                    },
                    true,
                );
            }
        }
        self.settle_obligations();
        if let Some(log) = self.inv3.get_mut(&c.mm) {
            log.cpu(cpu).completions.push(c);
            if log.settled(c.mm, states)
                && let Some(log) = self.inv3.remove(&c.mm)
            {
                self.check_inv3(log);
            }
        }
    }

    fn on_flush_req(&mut self, init: Cpu, at: EventRef, mm: Mm, states: &[State]) {
        for s in states.iter().filter(|s| s.out.cpu != init) {
            let Some(seg) = s.seg else { continue };
            let target = (seg.hw == Some(mm) && !seg.lazy) || seg.switching_to == Some(mm);
            let c = s.out.cpu;
            if !target
                || self
                    .obligations
                    .iter()
                    .any(|o| o.target == c && o.mm == mm && o.dis.is_none())
            {
                continue; // still owed from an earlier request
            }
            let mut users = Exposure::default();
            if let Some(u) = s.user_now().filter(|u| u.mm == Some(mm)) {
                users.start(u);
            }
            self.obligations.push(Obligation {
                at,
                mm,
                init,
                target: c,
                seg,
                init_done: None,
                handled: None,
                dis: None,
                users,
            });
        }
    }

    fn on_user_start(&mut self, cpu: Cpu, u: UserIv, hw: Option<Mm>) {
        let Some(mm) = u.mm else { return };
        for o in self
            .obligations
            .iter_mut()
            .filter(|o| o.target == cpu && o.mm == mm && o.dis.is_none())
        {
            o.users.start(u);
        }
        for w in self.windows.iter_mut().filter(|w| w.mm == mm) {
            for a in w.attached.iter_mut().filter(|a| a.0 == cpu) {
                a.2.start(u);
            }
        }
        if let Some(log) = self.inv3.get_mut(&mm) {
            let f = log.cpu(cpu);
            f.user.push(u);
            f.segs.push(Seg {
                at: u.start,
                hw,
                hw_at: None,
                hw_observed: false,
                lazy: false,
                switching_to: None,
            });
        }
    }

    fn on_user_end(&mut self, cpu: Cpu, at: EventRef) {
        for o in self
            .obligations
            .iter_mut()
            .filter(|o| o.target == cpu && o.dis.is_none())
        {
            o.users.end(at);
        }
        for w in &mut self.windows {
            for a in w.attached.iter_mut().filter(|a| a.0 == cpu) {
                a.2.end(at);
            }
        }
    }

    /// Turns the obligations nothing can change any more into findings.
    fn settle_obligations(&mut self) {
        if !self.obligations.iter().any(|o| self.final_(o)) {
            return;
        }
        let (done, open): (Vec<_>, Vec<_>) = std::mem::take(&mut self.obligations)
            .into_iter()
            .partition(|o| self.final_(o));
        self.obligations = open;
        // Settled obligations are discharged: nothing of theirs reaches
        // the end of the trace.
        let end = self.end;
        self.findings
            .extend(done.into_iter().filter_map(|o| o.finding(end)));
    }

    fn final_(&self, o: &Obligation) -> bool {
        o.settled() || (!self.completions && o.dis.is_some())
    }

    /// INV-2b: each CPU that attached the mm during the lazy update `w`,
    /// which ended at `end` (`None`: never).
    fn close_window(&mut self, w: LazyWindow, end: Option<EventRef>, addr: u64) {
        let trace_end = self.end;
        for (c, load, users) in w.attached {
            if !before(load.at, end) {
                continue;
            }
            let mut f = Finding::new(
                Invariant::AttachDuringLazyPteUpdate,
                c,
                Interval {
                    start: load.at,
                    end,
                    end_ts: end.map_or(trace_end, |e| e.ts),
                },
            );
            f.other_cpu = Some(w.cpu);
            f.expected_mm = Some(w.mm);
            f.loaded_mm = Some(load.mm);
            let exp = users.clip(load.at, end, trace_end);
            let mut chain = vec![
                ChainLink {
                    at: w.begin,
                    what: format!(
                        "pte-update-begin {} addr 0x{addr:x} lazy on cpu {} (only it attached)",
                        w.mm, w.cpu
                    ),
                },
                ChainLink {
                    at: load.at,
                    what: format!("mm-loaded {} on cpu {c}: attach during the update", w.mm),
                },
            ];
            if let Some((_, u)) = exp.first() {
                f.task = Some(task(u.pid));
                chain.push(ChainLink {
                    at: u.start,
                    what: format!("return-to-user pid {} may recreate the TLB entry", u.pid),
                });
            }
            if let Some(e) = end {
                chain.push(ChainLink {
                    at: e,
                    what: format!("pte-update-end {} on cpu {}", w.mm, w.cpu),
                });
            }
            f.cause_chain = sorted_chain(chain);
            f.exposure = exp.into_iter().map(|(iv, _)| iv).collect();
            self.findings.push(f);
        }
    }

    /// Runs the INV-3 check over a settled (or, at the end, unsettled) log.
    fn check_inv3(&mut self, log: Inv3Log) {
        lost_lazy_flush(&log.cpus, &mut self.findings);
    }

    /// The end of the trace at `end`, after every CPU's replay handed out
    /// its last facts: what is still open is decided with what is known.
    pub(crate) fn finish(&mut self, states: &mut [State], end: Timestamp) {
        self.end = end;
        for i in 0..states.len() {
            states[i].finish(end);
            self.take(states, i);
        }
        for o in std::mem::take(&mut self.obligations) {
            self.findings.extend(o.finding(end));
        }
        let mut logs: Vec<(Mm, Inv3Log)> = std::mem::take(&mut self.inv3).into_iter().collect();
        logs.sort_unstable_by_key(|(mm, _)| *mm);
        for (_, log) in logs {
            self.check_inv3(log);
        }
    }
}

/// Offers a discharge of `o` at `e`: the first wins (at one event, a flush
/// completion before a flushing load).
fn offer(o: &mut Obligation, e: EventRef, what: impl FnOnce() -> String, completion: bool) {
    let take = match &o.dis {
        None => true,
        Some((d, _, was_completion)) => *d == e && completion && !was_completion,
    };
    if take {
        o.dis = Some((e, what(), completion));
        // The interval open at the discharge ends there for the exposure.
        o.users.end(e);
    }
}

fn seg_at(f: &CpuFacts, at: EventRef) -> Option<&Seg> {
    let k = f.segs.partition_point(|s| s.at <= at);
    k.checked_sub(1).map(|i| &f.segs[i])
}

/// INV-3: a deferred (lazy) flush must be performed by a flush that *starts*
/// after it, before the deferring CPU's return to user in the mm and before
/// any other CPU attaches the mm and returns to user in it.
fn lost_lazy_flush(cpus: &[CpuFacts], out: &mut Vec<Finding>) {
    let mut defs: Vec<(Mm, EventRef, usize)> = Vec::new();
    for (i, f) in cpus.iter().enumerate() {
        defs.extend(f.flush_deferred.iter().map(|d| (d.mm, d.at, i)));
    }
    defs.sort();
    // Per deferral: the start of the first qualifying completion.
    let qualifying = |mm: Mm, at: EventRef, cpu: Cpu| -> Option<(EventRef, Cpu)> {
        cpus.iter()
            .flat_map(|f| f.completions.iter().map(move |c| (f.cpu, *c)))
            .filter(|(fc, c)| c.mm == mm && c.start >= at && (c.all_cpus || *fc == cpu))
            .map(|(fc, c)| (c.start, fc))
            .min()
    };
    let mut i = 0;
    while i < defs.len() {
        let (mm, d0, _) = defs[i];
        let t_c = qualifying(mm, d0, cpus[defs[i].2].cpu).map(|x| x.0);
        // The epoch: deferrals of this mm sharing the same first qualifying completion.
        let mut j = i;
        while j < defs.len()
            && defs[j].0 == mm
            && qualifying(mm, defs[j].1, cpus[defs[j].2].cpu).map(|x| x.0) == t_c
        {
            j += 1;
        }
        let epoch = &defs[i..j.max(i + 1)];
        i = j.max(i + 1);

        // Find the earliest violating return to user.
        let mut best: Option<(EventRef, usize, Option<EventRef>, UserIv, EventRef)> = None;
        for &(_, d, di) in epoch {
            let f = &cpus[di];
            // (a) the deferring CPU's own return in mm.
            if let Some(u) = f
                .user
                .iter()
                .find(|u| u.mm == Some(mm) && d < u.start && before(u.start, t_c))
                && best.as_ref().is_none_or(|b| u.start < b.0)
            {
                best = Some((u.start, di, None, *u, d));
            }
            // (b) another CPU attaches mm and returns to user in it.
            for (oi, o) in cpus.iter().enumerate().filter(|(_, o)| o.cpu != f.cpu) {
                for l in o
                    .loads
                    .iter()
                    .filter(|l| l.mm == mm && d < l.at && before(l.at, t_c))
                {
                    if let Some(u) = o
                        .user
                        .iter()
                        .find(|u| u.mm == Some(mm) && l.at < u.start && before(u.start, t_c))
                        && best.as_ref().is_none_or(|b| u.start < b.0)
                    {
                        best = Some((u.start, oi, Some(l.at), *u, d));
                    }
                }
            }
        }
        let Some((ret, vi, attach, u, d)) = best else {
            continue;
        };
        let victim = &cpus[vi];
        let def_cpu = epoch
            .iter()
            .find(|x| x.1 == d)
            .map_or(victim.cpu, |x| cpus[x.2].cpu);
        let mut f = Finding::new(
            Invariant::LostLazyFlush,
            victim.cpu,
            Interval {
                start: d0,
                end: Some(ret),
                end_ts: ret.ts,
            },
        );
        if def_cpu != victim.cpu {
            f.other_cpu = Some(def_cpu);
        }
        f.task = Some(task(u.pid));
        f.expected_mm = Some(mm);
        f.loaded_mm = seg_at(victim, ret).and_then(|s| s.hw);
        let mut chain = Vec::new();
        for &(_, at, di) in epoch.iter().take(4) {
            chain.push(ChainLink {
                at,
                what: format!(
                    "tlb-flush-deferred {mm} on cpu {} (flush_mm = 1)",
                    cpus[di].cpu
                ),
            });
        }
        // The flush that began before the deferral and ended after it: it
        // cleared the flag without covering the deferral (the 2017 bug).
        for fc in cpus {
            for c in fc
                .completions
                .iter()
                .filter(|c| c.mm == mm && c.start < d0 && d0 < c.done)
            {
                chain.push(ChainLink {
                    at: c.start,
                    what: format!(
                        "tlb-flush-begin {mm} on cpu {} (before the deferral)",
                        fc.cpu
                    ),
                });
                chain.push(ChainLink {
                    at: c.done,
                    what: format!(
                        "tlb-flush-completed {mm} on cpu {}: clears the flag too late",
                        fc.cpu
                    ),
                });
            }
        }
        if let Some(a) = attach {
            chain.push(ChainLink {
                at: a,
                what: format!("mm-loaded {mm} on cpu {}", victim.cpu),
            });
        }
        chain.push(ChainLink {
            at: ret,
            what: format!(
                "return-to-user pid {} in {mm} before any flush started after the deferral",
                u.pid
            ),
        });
        f.cause_chain = sorted_chain(chain);
        out.push(f);
    }
}
