//! Findings: one violated invariant (race-model.md §3.4) with its exact
//! window, the task and CPU, the mms involved and the events that explain it.
//!
//! Findings are plain values with a total order ([`sort_findings`]) so that
//! the output of the parallel replay is byte-for-byte the sequential one.

use std::cmp::Ordering;

use mmrace_parsers::types::{Cpu, Pid, Timestamp};
use serde::Serialize;

use crate::model::{EventRef, Mm, ser_cpu, ser_opt_cpu, ser_pid, ser_ts};

/// The invariants checked (race-model.md §3.4). The kebab-case [`id`]s are
/// stable: they appear in reports and allow-lists and are never renamed.
///
/// [`id`]: Invariant::id
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Invariant {
    /// INV-1: a task returned to user space with a loaded mm that is not its mm.
    WrongMmAtUserReturn,
    /// INV-1a: a per-thread deferred mm switch was lost by a same-mm
    /// preemption before its completion (scenario A).
    LostThreadDeferral,
    /// INV-1b: a per-mm deferral flag was consumed by another CPU's
    /// completion (scenario B).
    MmDeferralConsumedElsewhere,
    /// INV-2: a task returned to user space in an mm while a TLB flush of that
    /// mm was still owed on its CPU.
    FlushOwedAtUserReturn,
    /// INV-2b: another CPU attached an mm while a lazy PTE update of that mm
    /// was in flight (s390 lazy-decision window, scenario L).
    AttachDuringLazyPteUpdate,
    /// INV-3: a deferred (lazy) flush was not performed by a flush that
    /// started after it, before a return to user in that mm (scenario L2).
    LostLazyFlush,
}

impl Invariant {
    /// Every invariant, in report order.
    pub const ALL: [Invariant; 6] = [
        Invariant::WrongMmAtUserReturn,
        Invariant::LostThreadDeferral,
        Invariant::MmDeferralConsumedElsewhere,
        Invariant::FlushOwedAtUserReturn,
        Invariant::AttachDuringLazyPteUpdate,
        Invariant::LostLazyFlush,
    ];

    /// Stable kebab-case id.
    pub fn id(self) -> &'static str {
        match self {
            Invariant::WrongMmAtUserReturn => "wrong-mm-at-user-return",
            Invariant::LostThreadDeferral => "lost-thread-deferral",
            Invariant::MmDeferralConsumedElsewhere => "mm-deferral-consumed-elsewhere",
            Invariant::FlushOwedAtUserReturn => "flush-owed-at-user-return",
            Invariant::AttachDuringLazyPteUpdate => "attach-during-lazy-pte-update",
            Invariant::LostLazyFlush => "lost-lazy-flush",
        }
    }

    /// The race-model.md name (`INV-1`, `INV-1a`, ...).
    pub fn code(self) -> &'static str {
        match self {
            Invariant::WrongMmAtUserReturn => "INV-1",
            Invariant::LostThreadDeferral => "INV-1a",
            Invariant::MmDeferralConsumedElsewhere => "INV-1b",
            Invariant::FlushOwedAtUserReturn => "INV-2",
            Invariant::AttachDuringLazyPteUpdate => "INV-2b",
            Invariant::LostLazyFlush => "INV-3",
        }
    }

    /// Default severity.
    pub fn severity(self) -> Severity {
        match self {
            Invariant::WrongMmAtUserReturn
            | Invariant::FlushOwedAtUserReturn
            | Invariant::AttachDuringLazyPteUpdate => Severity::Critical,
            Invariant::LostThreadDeferral
            | Invariant::MmDeferralConsumedElsewhere
            | Invariant::LostLazyFlush => Severity::High,
        }
    }

    /// One-line description.
    pub fn title(self) -> &'static str {
        match self {
            Invariant::WrongMmAtUserReturn => {
                "return to user with a loaded mm that is not the task's mm"
            }
            Invariant::LostThreadDeferral => {
                "per-thread deferred mm switch lost by a same-mm switch"
            }
            Invariant::MmDeferralConsumedElsewhere => {
                "per-mm deferral flag consumed by another CPU"
            }
            Invariant::FlushOwedAtUserReturn => {
                "return to user while a TLB flush of the mm is owed"
            }
            Invariant::AttachDuringLazyPteUpdate => {
                "mm attached on another CPU during a lazy PTE update"
            }
            Invariant::LostLazyFlush => "deferred lazy flush not performed before return to user",
        }
    }
}

impl Serialize for Invariant {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.id())
    }
}

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    /// Informational.
    Info,
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High: a cause of a wrong-context execution.
    High,
    /// Critical: user code ran (or could run) with a wrong address space or
    /// stale TLB entries.
    Critical,
}

/// How much the finding can be trusted (race-model.md INV-7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Confidence {
    /// Every state value it rests on was observed, and no events were lost.
    Observed,
    /// Some task-level value (a task's mm, a paired argument) was inferred.
    Inferred,
    /// Its window overlaps lost events on a relevant CPU, or it rests on an
    /// inferred loaded mm.
    Suspect,
}

/// Why a finding is not [`Confidence::Observed`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum SuspectReason {
    /// The ring buffer of this CPU lost events inside the window.
    LostEvents {
        /// The CPU.
        #[serde(serialize_with = "ser_cpu")]
        cpu: Cpu,
    },
    /// The loaded mm was inferred, not observed.
    InferredLoadedMm,
    /// A task's mm (or a role argument) was inferred.
    InferredTaskMm,
}

/// Which protocol step went wrong (the cause of an INV-1 finding).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Cause {
    /// 1a: the per-thread deferral stayed on the preempted thread.
    LostThreadDeferral,
    /// 1b: another CPU's completion consumed the per-mm flag.
    MmFlagConsumedElsewhere,
    /// A deferral was pending and never completed (no other explanation).
    DeferredSwitchNeverCompleted,
    /// No deferral explains it.
    Unknown,
}

/// The task a finding is about.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct TaskRef {
    /// Task id.
    #[serde(serialize_with = "ser_pid")]
    pub pid: Pid,
    /// Command name, when the trace has it.
    pub comm: Option<String>,
}

/// A time interval between two events; `end == None` runs to the end of the trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Interval {
    /// First event.
    pub start: EventRef,
    /// Closing event (`None`: end of trace).
    pub end: Option<EventRef>,
    /// Closing time (the end event's, or the last timestamp of the trace).
    #[serde(serialize_with = "ser_ts")]
    pub end_ts: Timestamp,
}

/// One event of a cause chain.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct ChainLink {
    /// Where and when.
    pub at: EventRef,
    /// What it contributes (`mm-switch-requested pid 200 -> 0xb000 deferred thread-flag`).
    pub what: String,
}

/// One violated invariant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The invariant.
    pub invariant: Invariant,
    /// Its race-model.md code (`INV-1`).
    pub code: &'static str,
    /// Severity.
    pub severity: Severity,
    /// Confidence.
    pub confidence: Confidence,
    /// Why the confidence is not `observed` (sorted, no duplicates).
    pub suspect_reasons: Vec<SuspectReason>,
    /// For INV-1: the protocol step that explains it.
    pub cause: Option<Cause>,
    /// The CPU where user space ran in the bad state.
    #[serde(serialize_with = "ser_cpu")]
    pub cpu: Cpu,
    /// The other CPU involved (flush initiator, PTE updater, flag consumer).
    #[serde(serialize_with = "ser_opt_cpu")]
    pub other_cpu: Option<Cpu>,
    /// The task.
    pub task: Option<TaskRef>,
    /// The mm the task needed (or whose flush is owed).
    pub expected_mm: Option<Mm>,
    /// The mm the CPU had loaded.
    pub loaded_mm: Option<Mm>,
    /// The window (race-model.md §3.4).
    pub window: Interval,
    /// Parts of the window during which user space ran in the affected mm.
    pub exposure: Vec<Interval>,
    /// The events that explain the finding, in time order.
    pub cause_chain: Vec<ChainLink>,
}

impl Finding {
    /// Creates a finding with observed confidence and the invariant's severity.
    pub(crate) fn new(invariant: Invariant, cpu: Cpu, window: Interval) -> Finding {
        Finding {
            invariant,
            code: invariant.code(),
            severity: invariant.severity(),
            confidence: Confidence::Observed,
            suspect_reasons: Vec::new(),
            cause: None,
            cpu,
            other_cpu: None,
            task: None,
            expected_mm: None,
            loaded_mm: None,
            window,
            exposure: Vec::new(),
            cause_chain: Vec::new(),
        }
    }

    /// Adds a reason and recomputes the confidence.
    pub(crate) fn add_suspect(&mut self, r: SuspectReason) {
        if !self.suspect_reasons.contains(&r) {
            self.suspect_reasons.push(r);
            self.suspect_reasons.sort();
        }
        self.confidence = self
            .suspect_reasons
            .iter()
            .map(|r| match r {
                SuspectReason::InferredTaskMm => Confidence::Inferred,
                _ => Confidence::Suspect,
            })
            .max()
            .unwrap_or(Confidence::Observed);
    }

    /// The total order of findings: window start, CPU, invariant, then every
    /// other field.
    pub fn total_cmp(&self, o: &Finding) -> Ordering {
        (
            self.window.start,
            self.cpu,
            self.invariant,
            self.window.end,
            self.other_cpu,
        )
            .cmp(&(
                o.window.start,
                o.cpu,
                o.invariant,
                o.window.end,
                o.other_cpu,
            ))
            .then_with(|| self.task.cmp(&o.task))
            .then_with(|| (self.expected_mm, self.loaded_mm).cmp(&(o.expected_mm, o.loaded_mm)))
            .then_with(|| self.cause_chain.cmp(&o.cause_chain))
            .then_with(|| self.exposure.cmp(&o.exposure))
            .then_with(|| (self.cause, &self.suspect_reasons).cmp(&(o.cause, &o.suspect_reasons)))
    }
}

/// Sorts findings by [`Finding::total_cmp`].
pub fn sort_findings(f: &mut [Finding]) {
    f.sort_by(Finding::total_cmp);
}
