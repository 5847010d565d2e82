//! Phase 2: the cross-CPU checks over the per-CPU facts: per-mm deferral
//! flags consumed elsewhere (INV-1b), flush obligations (INV-2), attaches
//! during a lazy PTE update (INV-2b) and lost lazy flushes (INV-3).
//!
//! Every comparison uses [`EventRef`] order (time, then merged-stream index),
//! so equal timestamps on two CPUs are ordered as the merged stream orders
//! them.

use std::collections::BTreeMap;

use mmrace_parsers::types::{Cpu, Timestamp};

use super::cpu::{Completion, CpuFacts, Seg, UserIv, sorted_chain};
use crate::finding::{Cause, ChainLink, Finding, Interval, Invariant, SuspectReason, TaskRef};
use crate::model::{EventRef, Mm};

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
    flush_obligations(cpus, trace_end, comm, &mut out);
    lazy_attach(cpus, trace_end, comm, &mut out);
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

/// User intervals of `f` in `mm` clipped to [from, to).
fn exposure(
    f: &CpuFacts,
    mm: Mm,
    from: EventRef,
    to: Option<EventRef>,
    trace_end: Timestamp,
) -> Vec<(Interval, UserIv)> {
    let mut v = Vec::new();
    for u in &f.user {
        if u.mm != Some(mm) {
            continue;
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
    target: &CpuFacts,
    mm: Mm,
    at: EventRef,
) -> Option<(EventRef, String, bool)> {
    let mut best: Option<(EventRef, String, bool)> = None;
    let mut offer = |e: EventRef, what: String, completion: bool| {
        if best.as_ref().is_none_or(|(b, _, _)| e < *b) {
            best = Some((e, what, completion));
        }
    };
    for f in cpus {
        for c in &f.completions {
            if c.mm == mm && c.start >= at && (c.all_cpus || f.cpu == target.cpu) {
                let what = if c.all_cpus {
                    format!("tlb-flush-completed {mm} on all cpus (by cpu {})", f.cpu)
                } else {
                    format!("tlb-flush-completed {mm} on cpu {}", f.cpu)
                };
                offer(c.done, what, true);
            }
        }
    }
    for l in &target.loads {
        if l.mm == mm && l.at >= at && l.flushed == Some(true) {
            offer(l.at, format!("mm-loaded {mm} with flush"), false);
        }
    }
    best
}

/// INV-2: return to user in mm while a flush of mm is owed on that CPU.
fn flush_obligations(
    cpus: &[CpuFacts],
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
        let done: Option<&Completion> = init
            .completions
            .iter()
            .filter(|c| c.mm == mm && c.done >= at)
            .min_by_key(|c| c.done);
        let t_done = done.map_or(at, |c| c.done);
        for c in cpus.iter().filter(|c| c.cpu != init.cpu) {
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
            let dis = discharge(cpus, c, mm, at);
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
            if let Some(h) = c
                .completions
                .iter()
                .map(|x| x.done)
                .filter(|d| *d > at)
                .min()
            {
                from = from.max(h);
            }
            let exp = exposure(c, mm, from, dis.as_ref().map(|d| d.0), trace_end);
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
                    at: d.done,
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
    trace_end: Timestamp,
    comm: &dyn Fn(mmrace_parsers::Pid) -> Option<String>,
    out: &mut Vec<Finding>,
) {
    for upd in cpus {
        for w in upd.pte.iter().filter(|w| w.lazy) {
            for c in cpus.iter().filter(|c| c.cpu != upd.cpu) {
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
                let exp = exposure(c, w.mm, load.at, w.end, trace_end);
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
