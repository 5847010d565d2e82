//! The analysis vocabulary: semantic roles (race-model.md §3.1), the
//! normalised [`Event`] that carries one role, and the provenance every
//! replayed state value carries.
//!
//! A raw trace record is mapped to zero or more roles by a compiled
//! [`crate::profile`]; everything after ingest works on roles only and never
//! looks at event names or fields again.

use std::fmt;

use mmrace_parsers::types::{Cpu, Pid, Timestamp};
use serde::{Serialize, Serializer};

/// An address-space identity: the kernel's `struct mm_struct *` value (or,
/// on s390, a value derived from an ASCE). `Mm(0)` means "no user mm"
/// (kernel thread / kernel ASCE / reserved TTBR0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Mm(pub u64);

impl Mm {
    /// No user address space (kernel threads, idle, kernel ASCE).
    pub const NONE: Mm = Mm(0);

    /// Whether this is a user address space.
    pub fn is_user(self) -> bool {
        self.0 != 0
    }
}

impl fmt::Display for Mm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{:x}", self.0)
    }
}

impl Serialize for Mm {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Position of a record in the merged (time-ordered, all CPUs) record stream
/// of the trace, counting every record including those no role maps to.
/// This is the index `trace-cmd report` users see when they count lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize)]
pub struct EventIndex(pub u64);

impl fmt::Display for EventIndex {
    /// `#N`, honouring width and alignment (`{:<8}`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&format!("#{}", self.0))
    }
}

/// Where an event happened: the key every cross-CPU comparison uses.
/// Ordered by time, then by merged-stream index (which breaks timestamp ties
/// the same way the merged stream does), then CPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventRef {
    /// Timestamp (ns for ns clocks).
    pub ts: Timestamp,
    /// Merged-stream index.
    pub index: EventIndex,
    /// CPU whose buffer held the record.
    pub cpu: Cpu,
}

impl Serialize for EventRef {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("EventRef", 3)?;
        st.serialize_field("ts", &self.ts.0)?;
        st.serialize_field("index", &self.index.0)?;
        st.serialize_field("cpu", &self.cpu.0)?;
        st.end()
    }
}

/// A 16-byte task command name, stored inline (no allocation per event).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Comm(pub [u8; 16]);

impl Comm {
    /// Builds a comm from bytes (truncated to 16, NUL-padded).
    pub fn from_bytes(b: &[u8]) -> Comm {
        let mut c = [0u8; 16];
        let n = b.iter().position(|&x| x == 0).unwrap_or(b.len()).min(16);
        c[..n].copy_from_slice(&b[..n]);
        Comm(c)
    }

    /// The name as text (lossy UTF-8, up to the first NUL).
    pub fn as_string(&self) -> String {
        let n = self.0.iter().position(|&x| x == 0).unwrap_or(16);
        String::from_utf8_lossy(&self.0[..n]).into_owned()
    }
}

impl fmt::Debug for Comm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.as_string())
    }
}

/// How a requested mm switch was deferred (race-model.md §1.1–1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeferKind {
    /// Not deferred: the switch is (or will be) done in place.
    None,
    /// A per-thread flag on the next task (s390 `TIF_TLB_WAIT`, arm/arm64
    /// `TIF_SWITCH_MM`).
    ThreadFlag,
    /// A per-mm flag (ARM `mm->context.switch_pending`).
    MmFlag,
    /// A per-CPU flag (the fix direction: s390 CIF bits).
    CpuFlag,
}

impl DeferKind {
    /// Kebab-case name used in profiles and reports.
    pub fn name(self) -> &'static str {
        match self {
            DeferKind::None => "none",
            DeferKind::ThreadFlag => "thread-flag",
            DeferKind::MmFlag => "mm-flag",
            DeferKind::CpuFlag => "cpu-flag",
        }
    }

    /// Parses the kebab-case name.
    pub fn from_name(s: &str) -> Option<DeferKind> {
        Some(match s {
            "none" => DeferKind::None,
            "thread-flag" => DeferKind::ThreadFlag,
            "mm-flag" => DeferKind::MmFlag,
            "cpu-flag" => DeferKind::CpuFlag,
            _ => return None,
        })
    }
}

/// An mm argument of a role: a value read from the record, or a reference
/// to replayed state resolved on the record's CPU at replay time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MmArg {
    /// Read from the record (observed).
    Value(Mm),
    /// The mm the CPU has loaded (`@loaded`; x86 `tlb_flush` has no mm).
    Loaded,
    /// The mm of the CPU's current task (`@current`).
    Current,
    /// The mm of the task the CPU's last switch brought in, if nothing was
    /// loaded since; otherwise unknown (`@switched`).
    Switched,
    /// Not given: the replay pairs it (a kretprobe end takes the mm of the
    /// innermost open begin on its CPU).
    Paired,
}

/// A task argument of a role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PidArg {
    /// Read from the record.
    Value(Pid),
    /// The CPU's current task per the replay (`@current`).
    Current,
}

/// A semantic role (race-model.md §3.1). One raw record maps to zero or more
/// roles; all fields are plain values (no allocation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A context switch on the record's CPU.
    TaskSwitch {
        /// Task switched out.
        prev_pid: Pid,
        /// Task switched in.
        next_pid: Pid,
        /// Mm of the previous task, when the event carries it.
        prev_mm: Option<Mm>,
        /// Mm of the next task, when the event carries it.
        next_mm: Option<Mm>,
        /// `prev_state` (0 = runnable: preempted), when the event carries it.
        prev_state: Option<i64>,
        /// Comm of the next task, when the event carries it.
        next_comm: Option<Comm>,
    },
    /// Binds a task to an mm.
    TaskMm {
        /// The task.
        pid: Pid,
        /// Its mm.
        mm: Mm,
    },
    /// Arch `switch_mm` was asked to switch this CPU to `next_mm`.
    MmSwitchRequested {
        /// Task the switch is for.
        pid: PidArg,
        /// Mm switched from, when known.
        prev_mm: Option<Mm>,
        /// Mm switched to.
        next_mm: MmArg,
        /// Whether and how the hardware load was deferred.
        deferred: DeferKind,
    },
    /// The CPU's hardware address space is now `mm`.
    MmLoaded {
        /// Mm loaded (`Mm::NONE` = kernel only).
        mm: MmArg,
        /// Whether the load flushed the TLB for it (x86 reason 0 pages=-1).
        flushed: Option<bool>,
    },
    /// The deferred completion found the pending flag and loaded the mm.
    DeferredSwitchCompleted {
        /// Task running the completion.
        pid: PidArg,
        /// Mm it loaded (`Paired` = the CPU's pending deferral's mm).
        mm: MmArg,
    },
    /// The deferred completion looked and found nothing pending.
    DeferredSwitchSkipped {
        /// Task running the completion.
        pid: PidArg,
        /// Mm it checked.
        mm: MmArg,
    },
    /// A TLB flush of `mm` was requested by this CPU.
    TlbFlushRequested {
        /// Mm to flush.
        mm: MmArg,
        /// Start address (0 when unknown).
        start: u64,
        /// End address (`u64::MAX` when unknown / whole mm).
        end: u64,
    },
    /// A flush of `mm` was deferred to the next attach (s390 `flush_mm = 1`).
    TlbFlushDeferred {
        /// Mm whose flush is owed.
        mm: MmArg,
    },
    /// A flush of `mm` started on this CPU.
    TlbFlushBegin {
        /// Mm flushed.
        mm: MmArg,
        /// Broadcast (all CPUs) rather than local.
        all_cpus: bool,
    },
    /// A flush of `mm` completed on this CPU (or everywhere when `all_cpus`).
    TlbFlushCompleted {
        /// Mm flushed (`Paired` = the innermost open begin's).
        mm: MmArg,
        /// Broadcast (all CPUs) rather than local.
        all_cpus: bool,
    },
    /// A page-table entry update of `mm` is in flight on this CPU.
    PteUpdateBegin {
        /// Mm updated.
        mm: MmArg,
        /// User address.
        addr: u64,
        /// The lazy-flush decision was taken ("only this CPU attached").
        lazy: bool,
    },
    /// The innermost (or matching) PTE update on this CPU finished.
    PteUpdateEnd {
        /// Mm (`Paired` = innermost open begin's).
        mm: MmArg,
        /// Address, when known.
        addr: Option<u64>,
    },
    /// The task is about to return to user space.
    ReturnToUser {
        /// The task.
        pid: PidArg,
    },
    /// The task entered the kernel from user space.
    KernelEntry {
        /// The task.
        pid: PidArg,
    },
}

/// The kind of a role without its values; used for coverage and counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RoleKind {
    /// [`Role::TaskSwitch`].
    TaskSwitch,
    /// [`Role::TaskMm`].
    TaskMm,
    /// [`Role::MmSwitchRequested`].
    MmSwitchRequested,
    /// [`Role::MmLoaded`].
    MmLoaded,
    /// [`Role::DeferredSwitchCompleted`].
    DeferredSwitchCompleted,
    /// [`Role::DeferredSwitchSkipped`].
    DeferredSwitchSkipped,
    /// [`Role::TlbFlushRequested`].
    TlbFlushRequested,
    /// [`Role::TlbFlushDeferred`].
    TlbFlushDeferred,
    /// [`Role::TlbFlushBegin`].
    TlbFlushBegin,
    /// [`Role::TlbFlushCompleted`].
    TlbFlushCompleted,
    /// [`Role::PteUpdateBegin`].
    PteUpdateBegin,
    /// [`Role::PteUpdateEnd`].
    PteUpdateEnd,
    /// [`Role::ReturnToUser`].
    ReturnToUser,
    /// [`Role::KernelEntry`].
    KernelEntry,
}

impl RoleKind {
    /// Every kind, in declaration order.
    pub const ALL: [RoleKind; 14] = [
        RoleKind::TaskSwitch,
        RoleKind::TaskMm,
        RoleKind::MmSwitchRequested,
        RoleKind::MmLoaded,
        RoleKind::DeferredSwitchCompleted,
        RoleKind::DeferredSwitchSkipped,
        RoleKind::TlbFlushRequested,
        RoleKind::TlbFlushDeferred,
        RoleKind::TlbFlushBegin,
        RoleKind::TlbFlushCompleted,
        RoleKind::PteUpdateBegin,
        RoleKind::PteUpdateEnd,
        RoleKind::ReturnToUser,
        RoleKind::KernelEntry,
    ];

    /// The kebab-case name used in profiles.
    pub fn name(self) -> &'static str {
        match self {
            RoleKind::TaskSwitch => "task-switch",
            RoleKind::TaskMm => "task-mm",
            RoleKind::MmSwitchRequested => "mm-switch-requested",
            RoleKind::MmLoaded => "mm-loaded",
            RoleKind::DeferredSwitchCompleted => "deferred-switch-completed",
            RoleKind::DeferredSwitchSkipped => "deferred-switch-skipped",
            RoleKind::TlbFlushRequested => "tlb-flush-requested",
            RoleKind::TlbFlushDeferred => "tlb-flush-deferred",
            RoleKind::TlbFlushBegin => "tlb-flush-begin",
            RoleKind::TlbFlushCompleted => "tlb-flush-completed",
            RoleKind::PteUpdateBegin => "pte-update-begin",
            RoleKind::PteUpdateEnd => "pte-update-end",
            RoleKind::ReturnToUser => "return-to-user",
            RoleKind::KernelEntry => "kernel-entry",
        }
    }

    /// Parses the kebab-case name.
    pub fn from_name(s: &str) -> Option<RoleKind> {
        RoleKind::ALL.into_iter().find(|k| k.name() == s)
    }

    /// Dense index (0..14) for counter arrays.
    pub fn index(self) -> usize {
        self as usize
    }
}

impl Role {
    /// The role's kind.
    pub fn kind(&self) -> RoleKind {
        match self {
            Role::TaskSwitch { .. } => RoleKind::TaskSwitch,
            Role::TaskMm { .. } => RoleKind::TaskMm,
            Role::MmSwitchRequested { .. } => RoleKind::MmSwitchRequested,
            Role::MmLoaded { .. } => RoleKind::MmLoaded,
            Role::DeferredSwitchCompleted { .. } => RoleKind::DeferredSwitchCompleted,
            Role::DeferredSwitchSkipped { .. } => RoleKind::DeferredSwitchSkipped,
            Role::TlbFlushRequested { .. } => RoleKind::TlbFlushRequested,
            Role::TlbFlushDeferred { .. } => RoleKind::TlbFlushDeferred,
            Role::TlbFlushBegin { .. } => RoleKind::TlbFlushBegin,
            Role::TlbFlushCompleted { .. } => RoleKind::TlbFlushCompleted,
            Role::PteUpdateBegin { .. } => RoleKind::PteUpdateBegin,
            Role::PteUpdateEnd { .. } => RoleKind::PteUpdateEnd,
            Role::ReturnToUser { .. } => RoleKind::ReturnToUser,
            Role::KernelEntry { .. } => RoleKind::KernelEntry,
        }
    }
}

/// One role occurrence: what a record means, where and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event {
    /// Where and when.
    pub at: EventRef,
    /// `common_pid` of the record (the task running when it was emitted).
    pub common_pid: Pid,
    /// What it means.
    pub role: Role,
}

/// Why a replayed state value is believed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Provenance {
    /// Read from an event's field.
    Observed {
        /// The event.
        event: EventRef,
    },
    /// Derived by a rule from other state.
    Inferred {
        /// The event the rule fired on.
        event: EventRef,
        /// Which rule.
        rule: InferRule,
    },
}

impl Provenance {
    /// Whether the value was observed.
    pub fn is_observed(&self) -> bool {
        matches!(self, Provenance::Observed { .. })
    }

    /// The event the value comes from.
    pub fn event(&self) -> EventRef {
        match self {
            Provenance::Observed { event } | Provenance::Inferred { event, .. } => *event,
        }
    }
}

/// The inference rules of the replay (race-model.md §3.5 "inference defaults").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum InferRule {
    /// The trace has no mm-load events: the CPU is assumed to load the next
    /// task's mm at every switch to a user task (modern kernels).
    LoadAtSwitch,
    /// A task's mm taken from an observation later in the trace.
    TaskMmFromLater,
    /// A task's mm taken from another thread of its thread group (perf
    /// samples carry the tgid; threads of one group share their mm).
    ThreadGroupMm,
    /// An mm argument resolved from the replayed state (`@current`, `@loaded`,
    /// kretprobe pairing).
    ResolvedArgument,
}

/// A state value with its provenance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tracked<T> {
    /// The value.
    pub value: T,
    /// Why it is believed.
    pub prov: Provenance,
}

/// Serialises a [`Cpu`] as a number.
pub(crate) fn ser_cpu<S: Serializer>(c: &Cpu, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u32(c.0)
}

/// Serialises an optional [`Cpu`] as a number or null.
pub(crate) fn ser_opt_cpu<S: Serializer>(c: &Option<Cpu>, s: S) -> Result<S::Ok, S::Error> {
    match c {
        Some(c) => s.serialize_some(&c.0),
        None => s.serialize_none(),
    }
}

/// Serialises a [`Pid`] as a number.
pub(crate) fn ser_pid<S: Serializer>(p: &Pid, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_i32(p.0)
}

/// Serialises a [`Timestamp`] as a number of ns.
pub(crate) fn ser_ts<S: Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(t.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_kind_names_round_trip() {
        for k in RoleKind::ALL {
            assert_eq!(RoleKind::from_name(k.name()), Some(k));
            assert_eq!(RoleKind::ALL[k.index()], k);
        }
        assert_eq!(RoleKind::from_name("nope"), None);
    }

    #[test]
    fn comm_truncates_and_stops_at_nul() {
        assert_eq!(Comm::from_bytes(b"bash\0junk").as_string(), "bash");
        assert_eq!(
            Comm::from_bytes(b"0123456789abcdefXYZ").as_string(),
            "0123456789abcdef"
        );
    }

    #[test]
    fn event_refs_order_by_time_then_index() {
        let a = EventRef {
            ts: Timestamp(5),
            index: EventIndex(9),
            cpu: Cpu(0),
        };
        let b = EventRef {
            ts: Timestamp(5),
            index: EventIndex(10),
            cpu: Cpu(0),
        };
        let c = EventRef {
            ts: Timestamp(6),
            index: EventIndex(1),
            cpu: Cpu(3),
        };
        assert!(a < b && b < c);
    }
}
