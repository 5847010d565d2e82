//! Ingest: raw trace records → per-CPU streams of role [`Event`]s.
//!
//! Records are pushed in merged-stream order (the order `trace-cmd report`
//! prints them); each gets its [`EventIndex`] from that order, is classified
//! by the [`CompiledProfile`] (a table lookup, no allocation) and its roles
//! are appended to its CPU's stream. Lost-events markers become per-CPU
//! [`LostSpan`]s, which the INV-7 gate uses.
//!
//! ```
//! # use mmrace::ingest::Ingest;
//! # use mmrace::profile::Profile;
//! # use mmrace_parsers::{Endian, types::{Cpu, Timestamp}};
//! let profile = Profile::builtin("mmctx").unwrap().compile(&[], Endian::Little);
//! let mut ingest = Ingest::new(&profile);
//! ingest.push_record(Timestamp(5), Cpu(0), &[0u8; 8]);
//! ingest.push_lost(Cpu(0), Timestamp(9), Some(3));
//! let trace = ingest.finish();
//! assert_eq!(trace.records, 1);
//! ```

use std::collections::HashMap;

use mmrace_parsers::types::{Cpu, Pid, Timestamp};
use serde::Serialize;

use crate::model::{Event, EventIndex, EventRef, Role, RoleKind};
use crate::profile::CompiledProfile;

/// Records from CPUs numbered at or above this are counted but not analysed.
pub const MAX_CPU: u32 = 1 << 16;

/// Events lost by one CPU's ring buffer between two timestamps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct LostSpan {
    /// Timestamp of the last record before the loss on that CPU (0: none).
    #[serde(serialize_with = "crate::model::ser_ts")]
    pub from: Timestamp,
    /// Timestamp at which the loss was reported (the next record's page).
    #[serde(serialize_with = "crate::model::ser_ts")]
    pub to: Timestamp,
    /// How many events were lost, when known.
    pub count: Option<u64>,
}

/// One CPU's role events and lost spans.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CpuEvents {
    /// The CPU.
    pub cpu: Cpu,
    /// Role events in stream order.
    pub events: Vec<Event>,
    /// Lost-event spans.
    pub lost: Vec<LostSpan>,
    /// Timestamp of the CPU's last record (mapped or not).
    pub last_ts: Option<Timestamp>,
}

/// The ingested trace: what the replay consumes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IngestedTrace {
    /// Per CPU, ordered by CPU number (only CPUs that had records or losses).
    pub cpus: Vec<CpuEvents>,
    /// Records pushed (mapped or not).
    pub records: u64,
    /// Role occurrences by [`RoleKind::index`].
    pub role_counts: [u64; RoleKind::ALL.len()],
    /// Records of CPUs at or above [`MAX_CPU`] (ignored).
    pub ignored_records: u64,
    /// Last timestamp of any record.
    pub last_ts: Timestamp,
    /// Thread → thread-group observations (perf samples carry the tgid;
    /// trace.dat records do not), in push order, one per change.
    pub threads: Vec<ThreadGroup>,
}

/// A task seen as a thread of a thread group (a process) at `ts`: threads
/// of one group share their mm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ThreadGroup {
    /// The task (thread id, `common_pid`).
    pub tid: Pid,
    /// When it was seen.
    pub ts: Timestamp,
    /// Its thread-group id (user-space pid).
    pub tgid: Pid,
}

impl IngestedTrace {
    /// Builds a trace directly from role events (tests, and sources that
    /// classify by themselves). Events are grouped by CPU keeping their
    /// order; `records` is set to the number of events.
    pub fn from_events(events: impl IntoIterator<Item = Event>) -> IngestedTrace {
        let mut t = IngestedTrace::default();
        let mut slots = CpuSlots::default();
        for e in events {
            t.records += 1;
            t.role_counts[e.role.kind().index()] += 1;
            t.last_ts = t.last_ts.max(e.at.ts);
            let i = slot(&mut t.cpus, &mut slots, e.at.cpu);
            let c = &mut t.cpus[i];
            c.last_ts = Some(c.last_ts.map_or(e.at.ts, |x| x.max(e.at.ts)));
            c.events.push(e);
        }
        t.cpus.sort_by_key(|c| c.cpu);
        t
    }
}

/// Per CPU number, the index of that CPU's entry in a list kept in the
/// order CPUs are first met (the ingest's per-CPU events, the replay's
/// per-CPU states).
#[derive(Debug, Clone, Default)]
pub(crate) struct CpuSlots(Vec<Option<usize>>);

impl CpuSlots {
    /// The index of `cpu`'s entry in `list`, pushing `new()` for a CPU not
    /// met before. A CPU met before costs one lookup.
    #[inline]
    pub(crate) fn get_or_push<T>(
        &mut self,
        cpu: Cpu,
        list: &mut Vec<T>,
        new: impl FnOnce() -> T,
    ) -> usize {
        match self.0.get(cpu.0 as usize) {
            Some(&Some(i)) => i,
            _ => self.push(cpu, list, new),
        }
    }

    #[cold]
    fn push<T>(&mut self, cpu: Cpu, list: &mut Vec<T>, new: impl FnOnce() -> T) -> usize {
        let n = cpu.0 as usize;
        if self.0.len() <= n {
            self.0.resize(n + 1, None);
        }
        *self.0[n].get_or_insert_with(|| {
            list.push(new());
            list.len() - 1
        })
    }
}

/// The entry of `cpu` in `cpus`.
#[inline]
fn slot(cpus: &mut Vec<CpuEvents>, slots: &mut CpuSlots, cpu: Cpu) -> usize {
    slots.get_or_push(cpu, cpus, || CpuEvents {
        cpu,
        ..CpuEvents::default()
    })
}

/// Builds an [`IngestedTrace`] from records pushed in merged order.
#[derive(Debug)]
pub struct Ingest<'p> {
    profile: &'p CompiledProfile,
    trace: IngestedTrace,
    slots: CpuSlots,
    tgids: HashMap<Pid, Pid>,
    /// Keep the role events (else only counters, losses and thread groups:
    /// the caller replays the events as they come).
    keep: bool,
}

impl<'p> Ingest<'p> {
    /// Starts an ingest with a profile compiled for the trace.
    pub fn new(profile: &'p CompiledProfile) -> Ingest<'p> {
        Ingest {
            profile,
            trace: IngestedTrace::default(),
            slots: CpuSlots::default(),
            tgids: HashMap::new(),
            keep: true,
        }
    }

    /// An ingest that keeps no role events: [`Ingest::push_roles`] gives
    /// each record's place and the caller replays its roles at once, so
    /// memory does not grow with the trace.
    pub fn streaming(profile: &'p CompiledProfile) -> Ingest<'p> {
        Ingest {
            keep: false,
            ..Ingest::new(profile)
        }
    }

    /// Pushes the next record of the merged stream (payload starting with
    /// the common fields).
    #[inline]
    pub fn push_record(&mut self, ts: Timestamp, cpu: Cpu, payload: &[u8]) {
        let index = EventIndex(self.trace.records);
        self.trace.records += 1;
        self.trace.last_ts = self.trace.last_ts.max(ts);
        if cpu.0 >= MAX_CPU {
            self.trace.ignored_records += 1;
            return;
        }
        let i = slot(&mut self.trace.cpus, &mut self.slots, cpu);
        let at = EventRef { ts, index, cpu };
        let counts = &mut self.trace.role_counts;
        let c = &mut self.trace.cpus[i];
        c.last_ts = Some(ts);
        self.profile.classify(payload, |common_pid, role| {
            counts[role.kind().index()] += 1;
            c.events.push(Event {
                at,
                common_pid,
                role,
            });
        });
    }

    /// Pushes the next record of the merged stream already classified (see
    /// [`crate::feed`]): the same as [`Ingest::push_record`] with the roles
    /// the profile gave for its payload. Returns where the record is in
    /// the merged stream (`None`: its CPU is ignored).
    #[inline]
    pub fn push_roles(
        &mut self,
        ts: Timestamp,
        cpu: Cpu,
        roles: &[(Pid, Role)],
    ) -> Option<EventRef> {
        let index = EventIndex(self.trace.records);
        self.trace.records += 1;
        self.trace.last_ts = self.trace.last_ts.max(ts);
        if cpu.0 >= MAX_CPU {
            self.trace.ignored_records += 1;
            return None;
        }
        let i = slot(&mut self.trace.cpus, &mut self.slots, cpu);
        let at = EventRef { ts, index, cpu };
        let c = &mut self.trace.cpus[i];
        c.last_ts = Some(ts);
        for &(common_pid, role) in roles {
            self.trace.role_counts[role.kind().index()] += 1;
            if self.keep {
                c.events.push(Event {
                    at,
                    common_pid,
                    role,
                });
            }
        }
        Some(at)
    }

    /// Reports that `cpu` lost events (`count` when known) before the record
    /// at `ts`.
    pub fn push_lost(&mut self, cpu: Cpu, ts: Timestamp, count: Option<u64>) {
        if cpu.0 >= MAX_CPU {
            return;
        }
        let i = slot(&mut self.trace.cpus, &mut self.slots, cpu);
        let c = &mut self.trace.cpus[i];
        let from = c.last_ts.unwrap_or(Timestamp(0));
        c.lost.push(LostSpan {
            from,
            to: ts.max(from),
            count,
        });
    }

    /// Records that `cpu` lost events between `from` and `to` (e.g. the
    /// ring buffer overwrote its oldest events before the CPU's first
    /// record).
    pub fn push_lost_span(&mut self, cpu: Cpu, from: Timestamp, to: Timestamp, count: Option<u64>) {
        if cpu.0 >= MAX_CPU {
            return;
        }
        let i = slot(&mut self.trace.cpus, &mut self.slots, cpu);
        let c = &mut self.trace.cpus[i];
        c.lost.push(LostSpan {
            from,
            to: to.max(from),
            count,
        });
        c.lost.sort();
    }

    /// Reports that task `tid` belongs to thread group `tgid` at `ts`
    /// (both ids of a perf sample). Ids ≤ 0 (idle, or a task perf could no
    /// longer name) are ignored; only changes are kept.
    pub fn push_thread_group(&mut self, ts: Timestamp, tid: Pid, tgid: Pid) {
        if tid.0 <= 0 || tgid.0 <= 0 {
            return;
        }
        if self.tgids.insert(tid, tgid) != Some(tgid) {
            self.trace.threads.push(ThreadGroup { tid, ts, tgid });
        }
    }

    /// Finishes: CPUs sorted by number.
    pub fn finish(mut self) -> IngestedTrace {
        self.trace.cpus.sort_by_key(|c| c.cpu);
        self.trace
    }
}
