//! Per-CPU timelines of an analysed trace: what every CPU ran, which mm it
//! had loaded, and when the protocol steps happened — for the TUI's lanes and
//! the HTML report's lane pictures.
//!
//! The lanes come from the replay's own state machine
//! ([`crate::replay`], with its timeline-only facts kept), so a lane shows
//! exactly the state the invariants were checked against:
//!
//! ```text
//! cpu 1  tasks   │ a(100) ───────│ b(200) ─────│ b(201) ──────────│ a(100)
//!        loaded  │ 0xa000 ─────────────────────────────────────── │ 0xa000
//!        marks   ▲user           ◆req(thread-flag)  ▲user
//! ```
//!
//! ```
//! use mmrace::analysis::AnalyzeOptions;
//! use mmrace::synth::{Scenario, SynthOptions, Variant};
//! use mmrace::timeline::Timeline;
//! use mmrace_parsers::Endian;
//!
//! let t = mmrace::synth::build(&SynthOptions::new(Scenario::A, Variant::Buggy)).unwrap();
//! let tl = Timeline::from_records(&t.formats, Endian::Little, None, t.items(), &AnalyzeOptions::default()).unwrap();
//! let lane = tl.lane(mmrace_parsers::types::Cpu(1)).unwrap();
//! assert!(!lane.tasks.is_empty() && !lane.loaded.is_empty());
//! ```

use std::collections::BTreeMap;

use mmrace_parsers::Endian;
use mmrace_parsers::format::EventFormat;
use mmrace_parsers::types::{Cpu, Pid, Timestamp};
use serde::Serialize;

use crate::analysis::{AnalyzeError, AnalyzeOptions, TraceItem, replay_options};
use crate::ingest::IngestedTrace;
use crate::model::{DeferKind, EventIndex, EventRef, Mm, ser_cpu, ser_ts};
use crate::profile::{CompiledProfile, Profile};
use crate::replay::{ReplayOptions, replay_lanes};

/// All CPUs' lanes of a trace, and the names of its tasks.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Timeline {
    /// Timestamp of the first role event of any CPU (0 when none).
    #[serde(serialize_with = "ser_ts")]
    pub start: Timestamp,
    /// Timestamp of the trace's last record: open segments end here.
    #[serde(serialize_with = "ser_ts")]
    pub end: Timestamp,
    /// One lane per CPU that had events, ordered by CPU number.
    pub lanes: Vec<Lane>,
    /// Task names (saved cmdlines and names seen in events).
    pub comms: BTreeMap<i32, String>,
}

/// One CPU's timeline.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Lane {
    /// The CPU.
    #[serde(serialize_with = "ser_cpu")]
    pub cpu: Cpu,
    /// The running task, in time order, without gaps from the first known
    /// task to the end.
    pub tasks: Vec<TaskSegment>,
    /// The loaded mm, in time order.
    pub loaded: Vec<MmSegment>,
    /// Protocol steps and losses, in time order (ties: merged-stream order).
    pub marks: Vec<Mark>,
}

/// A span during which one task ran on a CPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TaskSegment {
    /// Start (the event that brought the task in).
    #[serde(serialize_with = "ser_ts")]
    pub start: Timestamp,
    /// End (the next segment's start, or the end of the trace).
    #[serde(serialize_with = "ser_ts")]
    pub end: Timestamp,
    /// Merged-stream index of the starting event.
    pub index: EventIndex,
    /// The task (`None`: unknown, after a missed switch).
    pub pid: Option<i32>,
    /// The task's mm as the replay knew it (`Mm::NONE`: kernel thread).
    pub mm: Option<Mm>,
    /// Whether that mm was observed (else inferred from elsewhere).
    pub mm_observed: bool,
}

/// Why the loaded mm of a segment is believed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MmProvenance {
    /// Read from an event's field (a load, a completion).
    Observed,
    /// Inferred (load at switch, a resolved argument).
    Inferred,
}

/// A span during which a CPU had one mm loaded (or an unknown one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct MmSegment {
    /// Start.
    #[serde(serialize_with = "ser_ts")]
    pub start: Timestamp,
    /// End (the next segment's start, or the end of the trace).
    #[serde(serialize_with = "ser_ts")]
    pub end: Timestamp,
    /// Merged-stream index of the event after which this state holds.
    pub index: EventIndex,
    /// The loaded mm (`None`: unknown).
    pub mm: Option<Mm>,
    /// Where the value comes from (`None` when unknown).
    pub provenance: Option<MmProvenance>,
}

/// One protocol step or loss on a CPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Mark {
    /// When.
    #[serde(serialize_with = "ser_ts")]
    pub ts: Timestamp,
    /// Merged-stream index of the event (`None` for lost events, which are
    /// not records).
    pub index: Option<EventIndex>,
    /// What.
    pub kind: MarkKind,
}

/// What a [`Mark`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum MarkKind {
    /// A task returned to user space.
    ReturnToUser {
        /// The task.
        pid: i32,
    },
    /// An mm switch was requested (and maybe deferred).
    SwitchRequested {
        /// The mm switched to.
        mm: Mm,
        /// How the load was deferred (`none`: in place).
        deferred: DeferKind,
    },
    /// A deferred switch completed: the mm was loaded.
    DeferredSwitchCompleted {
        /// The mm loaded.
        mm: Mm,
    },
    /// This CPU requested a TLB flush of an mm.
    FlushRequested {
        /// The mm.
        mm: Mm,
    },
    /// A flush of an mm was deferred to its next attach.
    FlushDeferred {
        /// The mm.
        mm: Mm,
    },
    /// A flush started on this CPU.
    FlushBegin {
        /// The mm.
        mm: Mm,
    },
    /// A flush completed on this CPU (or on all CPUs).
    FlushCompleted {
        /// The mm.
        mm: Mm,
        /// Broadcast.
        all_cpus: bool,
    },
    /// A page-table entry update began.
    PteUpdateBegin {
        /// The mm.
        mm: Mm,
        /// The user address.
        addr: u64,
        /// The lazy-flush decision was taken.
        lazy: bool,
    },
    /// A page-table entry update ended.
    PteUpdateEnd {
        /// The mm.
        mm: Mm,
        /// The user address.
        addr: u64,
    },
    /// The CPU's ring buffer lost events between `from` and the mark.
    Lost {
        /// The CPU's last record before the loss.
        #[serde(serialize_with = "ser_ts")]
        from: Timestamp,
        /// How many, when known.
        count: Option<u64>,
    },
}

impl MarkKind {
    /// A short kebab-case name (`return-to-user`, `switch-requested`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            MarkKind::ReturnToUser { .. } => "return-to-user",
            MarkKind::SwitchRequested { .. } => "switch-requested",
            MarkKind::DeferredSwitchCompleted { .. } => "deferred-switch-completed",
            MarkKind::FlushRequested { .. } => "flush-requested",
            MarkKind::FlushDeferred { .. } => "flush-deferred",
            MarkKind::FlushBegin { .. } => "flush-begin",
            MarkKind::FlushCompleted { .. } => "flush-completed",
            MarkKind::PteUpdateBegin { .. } => "pte-update-begin",
            MarkKind::PteUpdateEnd { .. } => "pte-update-end",
            MarkKind::Lost { .. } => "lost",
        }
    }
}

fn mark(at: EventRef, kind: MarkKind) -> Mark {
    Mark {
        ts: at.ts,
        index: Some(at.index),
        kind,
    }
}

impl Timeline {
    /// Builds the lanes of an ingested trace with the replay options the
    /// analysis used (see [`crate::analysis::replay_options`]).
    pub fn build(trace: &IngestedTrace, opts: &ReplayOptions) -> Timeline {
        let (table, facts) = replay_lanes(trace, opts);
        let end = trace.last_ts;
        let mut lanes = Vec::with_capacity(facts.len());
        let mut start: Option<Timestamp> = None;
        for (f, ev) in facts.into_iter().zip(&trace.cpus) {
            if let Some(e) = ev.events.first() {
                start = Some(start.map_or(e.at.ts, |s| s.min(e.at.ts)));
            }
            let mut tasks: Vec<TaskSegment> = Vec::with_capacity(f.runs.len());
            for r in &f.runs {
                let seg = TaskSegment {
                    start: r.at.ts,
                    end,
                    index: r.at.index,
                    pid: r.pid.map(|p| p.0),
                    mm: r.mm,
                    mm_observed: r.mm_observed,
                };
                match tasks.last_mut() {
                    // The same task learnt more (its mm observed by a second
                    // event of the same switch, an exec): one segment.
                    Some(l) if l.pid == seg.pid && (l.mm == seg.mm || l.start == seg.start) => {
                        l.mm = seg.mm;
                        l.mm_observed = seg.mm_observed;
                    }
                    // Replaced at the same instant: the earlier one never ran.
                    Some(l) if l.start == seg.start => *l = seg,
                    _ => tasks.push(seg),
                }
            }
            close_ends(&mut tasks, |s| s.start, |s, e| s.end = e);
            let mut loaded: Vec<MmSegment> = Vec::with_capacity(f.segs.len());
            for s in &f.segs {
                let provenance = s.hw.map(|_| {
                    if s.hw_observed {
                        MmProvenance::Observed
                    } else {
                        MmProvenance::Inferred
                    }
                });
                if loaded
                    .last()
                    .is_some_and(|l| (l.mm, l.provenance) == (s.hw, provenance))
                {
                    continue;
                }
                loaded.push(MmSegment {
                    start: s.at.ts,
                    end,
                    index: s.at.index,
                    mm: s.hw,
                    provenance,
                });
            }
            close_ends(&mut loaded, |s| s.start, |s, e| s.end = e);
            let mut marks = Vec::new();
            marks.extend(
                f.returns
                    .iter()
                    .map(|&(at, pid)| mark(at, MarkKind::ReturnToUser { pid: pid.0 })),
            );
            marks.extend(f.switch_reqs.iter().map(|r| {
                mark(
                    r.at,
                    MarkKind::SwitchRequested {
                        mm: r.mm,
                        deferred: r.deferred,
                    },
                )
            }));
            marks.extend(
                f.defer_done
                    .iter()
                    .map(|d| mark(d.at, MarkKind::DeferredSwitchCompleted { mm: d.mm })),
            );
            marks.extend(
                f.flush_reqs
                    .iter()
                    .map(|r| mark(r.at, MarkKind::FlushRequested { mm: r.mm })),
            );
            marks.extend(
                f.flush_deferred
                    .iter()
                    .map(|r| mark(r.at, MarkKind::FlushDeferred { mm: r.mm })),
            );
            marks.extend(
                f.flush_begins
                    .iter()
                    .map(|r| mark(r.at, MarkKind::FlushBegin { mm: r.mm })),
            );
            marks.extend(f.completions.iter().map(|c| {
                mark(
                    c.done,
                    MarkKind::FlushCompleted {
                        mm: c.mm,
                        all_cpus: c.all_cpus,
                    },
                )
            }));
            for w in &f.pte {
                marks.push(mark(
                    w.begin,
                    MarkKind::PteUpdateBegin {
                        mm: w.mm,
                        addr: w.addr,
                        lazy: w.lazy,
                    },
                ));
                if let Some(e) = w.end {
                    marks.push(mark(
                        e,
                        MarkKind::PteUpdateEnd {
                            mm: w.mm,
                            addr: w.addr,
                        },
                    ));
                }
            }
            marks.extend(f.lost.iter().map(|l| Mark {
                ts: l.to,
                index: None,
                kind: MarkKind::Lost {
                    from: l.from,
                    count: l.count,
                },
            }));
            // Lost marks (no index) sort before the records at their time:
            // the loss happened before them.
            marks.sort_by_key(|m| (m.ts, m.index.map_or(0, |i| i.0 + 1)));
            lanes.push(Lane {
                cpu: f.cpu,
                tasks,
                loaded,
                marks,
            });
        }
        let pids: std::collections::BTreeSet<i32> = lanes
            .iter()
            .flat_map(|l| l.tasks.iter().filter_map(|t| t.pid))
            .chain(lanes.iter().flat_map(|l| {
                l.marks.iter().filter_map(|m| match m.kind {
                    MarkKind::ReturnToUser { pid } => Some(pid),
                    _ => None,
                })
            }))
            .collect();
        let comms = pids
            .into_iter()
            .filter_map(|p| table.comm(Pid(p)).map(|c| (p, c)))
            .collect();
        Timeline {
            start: start.unwrap_or(end),
            end,
            lanes,
            comms,
        }
    }

    /// Builds the lanes of an ingested trace with the options
    /// [`crate::analysis::analyze_ingested`] uses for `profile` and `opts`.
    pub fn for_analysis(
        trace: &IngestedTrace,
        profile: &CompiledProfile,
        opts: &AnalyzeOptions,
    ) -> Timeline {
        Timeline::build(trace, &replay_options(profile, opts))
    }

    /// Ingests a merged record stream (as
    /// [`crate::analysis::analyze_records`] does) and builds its lanes.
    pub fn from_records<'a>(
        formats: &[EventFormat],
        endian: Endian,
        profile: Option<&Profile>,
        items: impl IntoIterator<Item = TraceItem<'a>>,
        opts: &AnalyzeOptions,
    ) -> Result<Timeline, AnalyzeError> {
        let (trace, compiled) =
            crate::analysis::ingest_records(formats, endian, profile, items, opts)?;
        Ok(Timeline::for_analysis(&trace, &compiled, opts))
    }

    /// The lane of `cpu`.
    pub fn lane(&self, cpu: Cpu) -> Option<&Lane> {
        self.lanes
            .binary_search_by_key(&cpu, |l| l.cpu)
            .ok()
            .map(|i| &self.lanes[i])
    }

    /// The name of a task, when known.
    pub fn comm(&self, pid: i32) -> Option<&str> {
        self.comms.get(&pid).map(String::as_str)
    }

    /// The lanes of CPUs `cpus` (inclusive) restricted to `[from, to]`:
    /// segments overlapping the range (not clipped) and the marks inside it.
    pub fn window(
        &self,
        cpus: std::ops::RangeInclusive<Cpu>,
        from: Timestamp,
        to: Timestamp,
    ) -> Vec<Lane> {
        self.lanes
            .iter()
            .filter(|l| cpus.contains(&l.cpu))
            .map(|l| l.slice(from, to))
            .collect()
    }
}

impl Lane {
    /// This lane restricted to `[from, to]`: the segments overlapping it and
    /// the marks inside it. Binary searches: cost is the size of the answer.
    pub fn slice(&self, from: Timestamp, to: Timestamp) -> Lane {
        Lane {
            cpu: self.cpu,
            tasks: overlapping(&self.tasks, from, to, |s| (s.start, s.end)).to_vec(),
            loaded: overlapping(&self.loaded, from, to, |s| (s.start, s.end)).to_vec(),
            marks: self.marks_in(from, to).to_vec(),
        }
    }

    /// The marks with `from <= ts <= to`.
    pub fn marks_in(&self, from: Timestamp, to: Timestamp) -> &[Mark] {
        let lo = self.marks.partition_point(|m| m.ts < from);
        let hi = self.marks.partition_point(|m| m.ts <= to);
        &self.marks[lo..hi.max(lo)]
    }

    /// The task segments overlapping `[from, to]`.
    pub fn tasks_in(&self, from: Timestamp, to: Timestamp) -> &[TaskSegment] {
        overlapping(&self.tasks, from, to, |s| (s.start, s.end))
    }

    /// The loaded-mm segments overlapping `[from, to]`.
    pub fn loaded_in(&self, from: Timestamp, to: Timestamp) -> &[MmSegment] {
        overlapping(&self.loaded, from, to, |s| (s.start, s.end))
    }

    /// The task running at `ts` (the last segment starting at or before it).
    pub fn task_at(&self, ts: Timestamp) -> Option<&TaskSegment> {
        let k = self.tasks.partition_point(|s| s.start <= ts);
        k.checked_sub(1).map(|i| &self.tasks[i])
    }

    /// The loaded mm at `ts` (the last segment starting at or before it).
    pub fn loaded_at(&self, ts: Timestamp) -> Option<&MmSegment> {
        let k = self.loaded.partition_point(|s| s.start <= ts);
        k.checked_sub(1).map(|i| &self.loaded[i])
    }
}

/// Sets each segment's end to the next one's start.
fn close_ends<T>(v: &mut [T], start: impl Fn(&T) -> Timestamp, set: impl Fn(&mut T, Timestamp)) {
    for i in 1..v.len() {
        let s = start(&v[i]);
        set(&mut v[i - 1], s);
    }
}

/// The segments (sorted by start, ends non-decreasing) overlapping `[from, to]`.
fn overlapping<T>(
    v: &[T],
    from: Timestamp,
    to: Timestamp,
    span: impl Fn(&T) -> (Timestamp, Timestamp),
) -> &[T] {
    let lo = v.partition_point(|s| span(s).1 < from);
    let hi = v.partition_point(|s| span(s).0 <= to);
    &v[lo..hi.max(lo)]
}

#[cfg(test)]
mod tests;
