//! Phase 2: the cross-CPU checks over the per-CPU facts: per-mm deferral
//! flags consumed elsewhere (INV-1b), flush obligations (INV-2), attaches
//! during a lazy PTE update (INV-2b) and lost lazy flushes (INV-3).
//!
//! Every comparison uses [`EventRef`] order (time, then merged-stream index),
//! so equal timestamps on two CPUs are ordered as the merged stream orders
//! them.

use std::collections::{BTreeMap, HashMap};

use mmrace_parsers::types::{Cpu, Timestamp};

use super::cpu::{Completion, CpuFacts, Seg, UserIv, sorted_chain};
use crate::finding::{Cause, ChainLink, Finding, Interval, Invariant, SuspectReason, TaskRef};
use crate::model::{EventRef, Mm};

/// Per-CPU lookup tables over the facts, so that each flush request costs a
/// few binary searches instead of a scan of every CPU's facts (the scans
/// made the cross-CPU phase quadratic in the trace length). Every query
/// gives exactly what the scan it replaces gave, ties included.
struct CpuIndex {
    /// Per mm: completion indices in `completions` order (start, done).
    comps: HashMap<Mm, CompList>,
    /// Per mm: the same for the completions flushing all CPUs.
    comps_all: HashMap<Mm, CompList>,
    /// Per mm: `done` of the completions, sorted.
    done_by_mm: HashMap<Mm, Vec<EventRef>>,
    /// `done` of every completion, sorted.
    done: Vec<EventRef>,
    /// Per mm: the loads with a flush, in stream order.
    flushed_loads: HashMap<Mm, Vec<EventRef>>,
    /// Per mm: indices of the user intervals in that mm, in order.
    user: HashMap<Mm, Vec<usize>>,
}

/// Completions of one mm on one CPU, by start, with the suffix minimum of
/// `done` (the first completion in order among equal ones).
#[derive(Default)]
struct CompList {
    starts: Vec<EventRef>,
    idx: Vec<usize>,
    /// `suffix_min[k]`: the index (into `completions`) of the smallest
    /// `done` among `idx[k..]`.
    suffix_min: Vec<usize>,
}

impl CompList {
    fn push(&mut self, start: EventRef, i: usize) {
        self.starts.push(start);
        self.idx.push(i);
    }

    fn seal(&mut self, comps: &[Completion]) {
        let n = self.idx.len();
        self.suffix_min = vec![0; n];
        for k in (0..n).rev() {
            let i = self.idx[k];
            self.suffix_min[k] = match self.suffix_min.get(k + 1) {
                Some(&j) if k + 1 < n && comps[j].done < comps[i].done => j,
                _ => i,
            };
        }
    }

    /// The completion with the smallest `done` among those starting at or
    /// after `at`.
    fn first_done_from(&self, at: EventRef) -> Option<usize> {
        let k = self.starts.partition_point(|s| *s < at);
        self.suffix_min.get(k).copied()
    }
}

impl CpuIndex {
    fn build(f: &CpuFacts) -> CpuIndex {
        let mut comps: HashMap<Mm, CompList> = HashMap::new();
        let mut comps_all: HashMap<Mm, CompList> = HashMap::new();
        let mut done_by_mm: HashMap<Mm, Vec<EventRef>> = HashMap::new();
        for (i, c) in f.completions.iter().enumerate() {
            comps.entry(c.mm).or_default().push(c.start, i);
            if c.all_cpus {
                comps_all.entry(c.mm).or_default().push(c.start, i);
            }
            done_by_mm.entry(c.mm).or_default().push(c.done);
        }
        for l in comps.values_mut().chain(comps_all.values_mut()) {
            l.seal(&f.completions);
        }
        done_by_mm.values_mut().for_each(|v| v.sort_unstable());
        let mut done: Vec<EventRef> = f.completions.iter().map(|c| c.done).collect();
        done.sort_unstable();
        let mut flushed_loads: HashMap<Mm, Vec<EventRef>> = HashMap::new();
        for l in f.loads.iter().filter(|l| l.flushed == Some(true)) {
            flushed_loads.entry(l.mm).or_default().push(l.at);
        }
        flushed_loads.values_mut().for_each(|v| v.sort());
        let mut user: HashMap<Mm, Vec<usize>> = HashMap::new();
        for (i, u) in f.user.iter().enumerate() {
            if let Some(m) = u.mm {
                user.entry(m).or_default().push(i);
            }
        }
        CpuIndex {
            comps,
            comps_all,
            done_by_mm,
            done,
            flushed_loads,
            user,
        }
    }
}

/// Runs all cross-CPU checks; returns the new findings (and updates INV-1
/// causes in `cpus`).
pub(crate) fn check(
    cpus: &mut [CpuFacts],
    trace_end: Timestamp,
    comm: &dyn Fn(mmrace_parsers::Pid) -> Option<String>,
) -> Vec<Finding> {
    let mut out = Vec::new();
    mm_flag_consumed(cpus, &mut out);
    let cpus: &[CpuFacts] = cpus;
    let index: Vec<CpuIndex> = cpus.iter().map(CpuIndex::build).collect();
    flush_obligations(cpus, &index, trace_end, comm, &mut out);
    lazy_attach(cpus, &index, trace_end, comm, &mut out);
    lost_lazy_flush(cpus, comm, &mut out);
    out
}

fn seg_at(f: &CpuFacts, at: EventRef) -> Option<&Seg> {
    let k = f.segs.partition_point(|s| s.at <= at);
    k.checked_sub(1).map(|i| &f.segs[i])
}

fn before(a: EventRef, b: Option<EventRef>) -> bool {
    b.is_none_or(|b| a < b)
}

/// User intervals of `f` in `mm` clipped to [from, to), in order.
fn exposure(
    f: &CpuFacts,
    ix: &CpuIndex,
    mm: Mm,
    from: EventRef,
    to: Option<EventRef>,
    trace_end: Timestamp,
) -> Vec<(Interval, UserIv)> {
    let mut v = Vec::new();
    let Some(list) = ix.user.get(&mm) else {
        return v;
    };
    // A CPU's user intervals follow each other without overlap, so those
    // ending at or before `from` come first and are empty once clipped.
    let first = list.partition_point(|&i| f.user[i].end.is_some_and(|e| e <= from));
    for &i in &list[first..] {
        let u = &f.user[i];
        if to.is_some_and(|t| u.start >= t) {
            break; // this and every later one starts at or after `to`
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

fn task(pid: mmrace_parsers::Pid, comm: &dyn Fn(mmrace_parsers::Pid) -> Option<String>) -> TaskRef {
    TaskRef {
        pid,
        comm: comm(pid),
    }
}

/// INV-1b: an INV-1 under a pending per-mm deferral whose flag another CPU's
/// completion consumed in between.
fn mm_flag_consumed(cpus: &mut [CpuFacts], out: &mut Vec<Finding>) {
    let mut updates = Vec::new();
    for (ci, f) in cpus.iter().enumerate() {
        for cand in &f.mmflag {
            let consumer = cpus
                .iter()
                .filter(|o| o.cpu != f.cpu)
                .flat_map(|o| o.defer_done.iter().map(move |d| (o.cpu, *d)))
                .filter(|(_, d)| d.mm == cand.mm && cand.req < d.at && d.at < cand.user)
                .min_by_key(|(_, d)| d.at);
            let Some((c1, done)) = consumer else { continue };
            updates.push((ci, cand.finding, c1));
            let mut g = Finding::new(
                Invariant::MmDeferralConsumedElsewhere,
                f.cpu,
                Interval {
                    start: cand.req,
                    end: Some(cand.user),
                    end_ts: cand.user.ts,
                },
            );
            g.other_cpu = Some(c1);
            g.task = f.findings[cand.finding].task.clone();
            g.expected_mm = Some(cand.mm);
            g.loaded_mm = f.findings[cand.finding].loaded_mm;
            let mut chain = vec![
                ChainLink {
                    at: cand.req,
                    what: format!(
                        "mm-switch-requested -> {} deferred mm-flag (flag set)",
                        cand.mm
                    ),
                },
                ChainLink {
                    at: done.at,
                    what: format!(
                        "deferred-switch-completed on cpu {c1}: flag for {} consumed",
                        cand.mm
                    ),
                },
                ChainLink {
                    at: cand.user,
                    what: format!("return-to-user pid {} without the switch", cand.pid),
                },
            ];
            if let Some(r) = done.req {
                chain.push(ChainLink {
                    at: r,
                    what: format!(
                        "mm-switch-requested on cpu {c1} -> {} deferred mm-flag",
                        cand.mm
                    ),
                });
            }
            if let Some(s) = cand.skipped {
                chain.push(ChainLink {
                    at: s,
                    what: "deferred-switch-skipped: flag already cleared".to_string(),
                });
            }
            g.cause_chain = sorted_chain(chain);
            g.suspect_reasons = f.findings[cand.finding].suspect_reasons.clone();
            g.confidence = f.findings[cand.finding].confidence;
            out.push(g);
        }
    }
    for (ci, fi, c1) in updates {
        let f = &mut cpus[ci].findings[fi];
        f.cause = Some(Cause::MmFlagConsumedElsewhere);
        f.other_cpu = Some(c1);
    }
}

/// The first completion that discharges a flush of `mm` owed by `cpu` since `at`.
/// The boolean is true when it is a flush completion (which the initiator
/// waits for: its flush cannot end before), false for a flushing mm load.
fn discharge(
    cpus: &[CpuFacts],
    index: &[CpuIndex],
    target: &CpuFacts,
    tix: &CpuIndex,
    mm: Mm,
    at: EventRef,
) -> Option<(EventRef, String, bool)> {
    let mut best: Option<(EventRef, String, bool)> = None;
    let mut offer = |e: EventRef, what: &dyn Fn() -> String, completion: bool| {
        if best.as_ref().is_none_or(|(b, _, _)| e < *b) {
            best = Some((e, what(), completion));
        }
    };
    for (f, ix) in cpus.iter().zip(index) {
        // On the target every completion of mm counts, elsewhere only the
        // ones flushing all CPUs; the first of the smallest `done` wins, as
        // the scan in completion order gave.
        let list = if f.cpu == target.cpu {
            ix.comps.get(&mm)
        } else {
            ix.comps_all.get(&mm)
        };
        if let Some(i) = list.and_then(|l| l.first_done_from(at)) {
            let c = &f.completions[i];
            let what = || {
                if c.all_cpus {
                    format!("tlb-flush-completed {mm} on all cpus (by cpu {})", f.cpu)
                } else {
                    format!("tlb-flush-completed {mm} on cpu {}", f.cpu)
                }
            };
            offer(c.done, &what, true);
        }
    }
    if let Some(loads) = tix.flushed_loads.get(&mm) {
        let k = loads.partition_point(|l| *l < at);
        if let Some(&l) = loads.get(k) {
            offer(l, &|| format!("mm-loaded {mm} with flush"), false);
        }
    }
    best
}

/// INV-2: return to user in mm while a flush of mm is owed on that CPU.
fn flush_obligations(
    cpus: &[CpuFacts],
    index: &[CpuIndex],
    trace_end: Timestamp,
    comm: &dyn Fn(mmrace_parsers::Pid) -> Option<String>,
    out: &mut Vec<Finding>,
) {
    let mut reqs: Vec<(EventRef, Mm, usize)> = Vec::new();
    for (i, f) in cpus.iter().enumerate() {
        reqs.extend(f.flush_reqs.iter().map(|r| (r.at, r.mm, i)));
    }
    reqs.sort();
    let mut open: BTreeMap<(Cpu, Mm), Option<EventRef>> = BTreeMap::new();
    for (at, mm, ii) in reqs {
        let init = &cpus[ii];
        // The initiator's first completion of mm done at or after the request.
        let done: Option<EventRef> = index[ii].done_by_mm.get(&mm).and_then(|v| {
            let k = v.partition_point(|d| *d < at);
            v.get(k).copied()
        });
        let t_done = done.unwrap_or(at);
        for (c, cix) in cpus.iter().zip(index).filter(|(c, _)| c.cpu != init.cpu) {
            let Some(seg) = seg_at(c, at) else { continue };
            let target = (seg.hw == Some(mm) && !seg.lazy) || seg.switching_to == Some(mm);
            if !target {
                continue;
            }
            if let Some(d) = open.get(&(c.cpu, mm))
                && before(at, *d)
            {
                continue; // still owed from an earlier request
            }
            let dis = discharge(cpus, index, c, cix, mm, at);
            open.insert((c.cpu, mm), dis.as_ref().map(|d| d.0));
            // The initiator's flush ends after its own completion and, when
            // the target was flushed by a completion (the IPI, a broadcast),
            // not before that: user time before it is not exposed.
            let mut from = t_done.max(at);
            if let Some((d, _, true)) = &dis {
                from = from.max(*d);
            }
            // A flush IPI handled on the target (a completion there, for
            // whatever mm it had loaded) is one the initiator waited for.
            if let Some(&h) = cix.done.get(cix.done.partition_point(|d| *d <= at)) {
                from = from.max(h);
            }
            let exp = exposure(c, cix, mm, from, dis.as_ref().map(|d| d.0), trace_end);
            let Some((_, first)) = exp.first() else {
                continue;
            };
            let mut f = Finding::new(
                Invariant::FlushOwedAtUserReturn,
                c.cpu,
                Interval {
                    start: at,
                    end: dis.as_ref().map(|d| d.0),
                    end_ts: dis.as_ref().map_or(trace_end, |d| d.0.ts),
                },
            );
            f.other_cpu = Some(init.cpu);
            f.task = Some(task(first.pid, comm));
            f.expected_mm = Some(mm);
            f.loaded_mm = seg.hw;
            let mut chain = vec![
                ChainLink {
                    at,
                    what: format!("tlb-flush-requested {mm} by cpu {}", init.cpu),
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
                    format!("cpu {} switching to {mm}", c.cpu)
                } else {
                    format!("mm-loaded {mm} on cpu {}", c.cpu)
                };
                chain.push(ChainLink { at: h, what });
            }
            if let Some(d) = done {
                chain.push(ChainLink {
                    at: d,
                    what: format!("initiator's flush of {mm} done"),
                });
            }
            if let Some((d, what, _)) = &dis {
                chain.push(ChainLink {
                    at: *d,
                    what: what.clone(),
                });
            }
            f.cause_chain = sorted_chain(chain);
            f.exposure = exp.into_iter().map(|(iv, _)| iv).collect();
            if !seg.hw_observed {
                f.add_suspect(SuspectReason::InferredLoadedMm);
            }
            out.push(f);
        }
    }
}

/// INV-2b: another CPU attaches the mm inside a lazy PTE update window.
fn lazy_attach(
    cpus: &[CpuFacts],
    index: &[CpuIndex],
    trace_end: Timestamp,
    comm: &dyn Fn(mmrace_parsers::Pid) -> Option<String>,
    out: &mut Vec<Finding>,
) {
    for upd in cpus {
        for w in upd.pte.iter().filter(|w| w.lazy) {
            for (c, cix) in cpus.iter().zip(index).filter(|(c, _)| c.cpu != upd.cpu) {
                let Some(load) = c
                    .loads
                    .iter()
                    .find(|l| l.mm == w.mm && w.begin < l.at && before(l.at, w.end))
                else {
                    continue;
                };
                let mut f = Finding::new(
                    Invariant::AttachDuringLazyPteUpdate,
                    c.cpu,
                    Interval {
                        start: load.at,
                        end: w.end,
                        end_ts: w.end.map_or(trace_end, |e| e.ts),
                    },
                );
                f.other_cpu = Some(upd.cpu);
                f.expected_mm = Some(w.mm);
                f.loaded_mm = Some(load.mm);
                let exp = exposure(c, cix, w.mm, load.at, w.end, trace_end);
                let mut chain = vec![
                    ChainLink {
                        at: w.begin,
                        what: format!(
                            "pte-update-begin {} addr 0x{:x} lazy on cpu {} (only it attached)",
                            w.mm, w.addr, upd.cpu
                        ),
                    },
                    ChainLink {
                        at: load.at,
                        what: format!(
                            "mm-loaded {} on cpu {}: attach during the update",
                            w.mm, c.cpu
                        ),
                    },
                ];
                if let Some((_, u)) = exp.first() {
                    f.task = Some(task(u.pid, comm));
                    chain.push(ChainLink {
                        at: u.start,
                        what: format!("return-to-user pid {} may recreate the TLB entry", u.pid),
                    });
                }
                if let Some(e) = w.end {
                    chain.push(ChainLink {
                        at: e,
                        what: format!("pte-update-end {} on cpu {}", w.mm, upd.cpu),
                    });
                }
                f.cause_chain = sorted_chain(chain);
                f.exposure = exp.into_iter().map(|(iv, _)| iv).collect();
                out.push(f);
            }
        }
    }
}

/// INV-3: a deferred (lazy) flush must be performed by a flush that *starts*
/// after it, before the deferring CPU's return to user in the mm and before
/// any other CPU attaches the mm and returns to user in it.
fn lost_lazy_flush(
    cpus: &[CpuFacts],
    comm: &dyn Fn(mmrace_parsers::Pid) -> Option<String>,
    out: &mut Vec<Finding>,
) {
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
        f.task = Some(task(u.pid, comm));
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
