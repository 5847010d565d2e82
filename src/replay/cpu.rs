//! Phase 1: the per-CPU replay (race-model.md §3.1 "state replayed").
//!
//! One CPU's role stream drives {current task and its mm, loaded mm with
//! provenance, pending deferred switch, switching window, in-user interval}.
//! The CPU-local invariants INV-1 and INV-1a are decided here (and INV-1b,
//! from what other CPUs told the pending deferral); everything the
//! cross-CPU checks need leaves as [`Fact`]s the moment it happens. The
//! timeline's replay keeps every fact instead ([`CpuFacts`]).

use mmrace_parsers::types::{Cpu, Pid, Timestamp};

use super::cross;
use super::tasks::TaskTable;
use crate::finding::{Cause, ChainLink, Finding, Interval, Invariant, SuspectReason, TaskRef};
use crate::ingest::LostSpan;
use crate::model::{DeferKind, EventRef, InferRule, Mm, MmArg, PidArg, Provenance, Role, Tracked};

/// The CPU state after an event, for cross-CPU "what was c doing at t" queries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Seg {
    /// The event after which this state holds.
    pub at: EventRef,
    /// Loaded mm.
    pub hw: Option<Mm>,
    /// Where the loaded mm was last set.
    pub hw_at: Option<EventRef>,
    /// Whether the loaded mm was observed.
    pub hw_observed: bool,
    /// Running a kernel thread on a borrowed mm.
    pub lazy: bool,
    /// Between a switch request to this mm and its load.
    pub switching_to: Option<Mm>,
}

/// An observed load of an mm (including deferred completions).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LoadFact {
    pub at: EventRef,
    pub mm: Mm,
    pub flushed: Option<bool>,
    pub deferred_completion: bool,
}

/// A deferred switch completion (per-mm flag consumer candidates).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DeferDone {
    pub at: EventRef,
    pub mm: Mm,
    pub pid: Option<Pid>,
    /// This CPU's own request, when it had one pending for this mm.
    pub req: Option<EventRef>,
}

/// A flush request by this CPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FlushReq {
    pub at: EventRef,
    pub mm: Mm,
}

/// A flush completion on this CPU (or broadcast).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Completion {
    pub start: EventRef,
    pub done: EventRef,
    pub mm: Mm,
    pub all_cpus: bool,
}

/// A PTE update window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PteWindow {
    pub begin: EventRef,
    pub end: Option<EventRef>,
    pub mm: Mm,
    pub addr: u64,
    pub lazy: bool,
}

/// A user-mode interval U(t, c) (race-model.md §3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct UserIv {
    pub pid: Pid,
    pub mm: Option<Mm>,
    pub start: EventRef,
    pub end: Option<EventRef>,
}

/// The running task after an event (timeline lanes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RunFact {
    pub at: EventRef,
    /// `None`: unknown (a return of another task showed a switch was missed).
    pub pid: Option<Pid>,
    pub mm: Option<Mm>,
    pub mm_observed: bool,
}

/// A requested mm switch (timeline marks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SwitchReq {
    pub at: EventRef,
    pub mm: Mm,
    pub deferred: DeferKind,
}

/// What one CPU's replay tells the cross-CPU checks, as it happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fact {
    Load(LoadFact),
    DeferDone(DeferDone),
    FlushReq(FlushReq),
    FlushDeferred(FlushReq),
    Completion(Completion),
    /// A PTE update began (its window is [`Fact::Pte`] at the end).
    PteBegin {
        at: EventRef,
        mm: Mm,
        lazy: bool,
    },
    Pte(PteWindow),
    /// A user interval began, with the loaded mm then.
    UserStart(UserIv, Option<Mm>),
    /// The open user interval ended.
    UserEnd(EventRef),
}

/// Everything the timeline's replay keeps of one CPU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CpuFacts {
    pub cpu: Cpu,
    pub findings: Vec<Finding>,
    pub segs: Vec<Seg>,
    pub loads: Vec<LoadFact>,
    pub defer_done: Vec<DeferDone>,
    pub flush_reqs: Vec<FlushReq>,
    pub flush_deferred: Vec<FlushReq>,
    pub completions: Vec<Completion>,
    pub pte: Vec<PteWindow>,
    pub user: Vec<UserIv>,
    pub lost: Vec<LostSpan>,
    /// Running-task changes (only kept when asked: timeline).
    pub runs: Vec<RunFact>,
    /// Switch requests (only kept when asked: timeline).
    pub switch_reqs: Vec<SwitchReq>,
    /// Returns to user (only kept when asked: timeline).
    pub returns: Vec<(EventRef, Pid)>,
    /// Flush begins (only kept when asked: timeline).
    pub flush_begins: Vec<FlushReq>,
}

#[derive(Debug, Clone, Copy)]
struct Cur {
    pid: Pid,
    mm: Option<Tracked<Mm>>,
    since: EventRef,
    prev: Pid,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Pending {
    pub(crate) kind: DeferKind,
    task: Pid,
    prev_mm: Option<Mm>,
    pub(crate) mm: Mm,
    pub(crate) req: EventRef,
    /// The switch that lost a per-thread flag: (event, from, to).
    lost_switch: Option<(EventRef, Pid, Pid)>,
    skipped: Option<EventRef>,
    /// The first deferred completion of this mm on another CPU since the
    /// request (a per-mm flag consumed there: INV-1b).
    pub(crate) consumed: Option<(Cpu, DeferDone)>,
}

#[derive(Debug, Clone, Copy)]
struct Hw {
    mm: Tracked<Mm>,
    deferred_completion: bool,
}

/// One CPU's replay state.
pub(crate) struct State {
    infer_loads: bool,
    /// Keep every fact (the timeline) instead of handing them out.
    lanes: bool,
    cur: Option<Cur>,
    hw: Option<Hw>,
    switching_to: Option<Mm>,
    pub(crate) pending: Option<Pending>,
    user: Option<UserIv>,
    /// The state after the last change ("what was this CPU doing").
    pub(crate) seg: Option<Seg>,
    /// Facts for the cross-CPU checks since the engine last took them.
    pub(crate) emit: Vec<Fact>,
    inv1_open: Option<usize>,
    last_switch: Option<(Pid, Pid)>,
    /// A task switch happened and no mm was loaded since.
    load_due: bool,
    pte_stack: Vec<(EventRef, Mm, u64, bool)>,
    pub(crate) flush_stack: Vec<(EventRef, Mm, bool)>,
    pub(crate) out: CpuFacts,
}

impl CpuFacts {
    /// A CPU with no facts yet.
    pub(crate) fn empty(cpu: Cpu) -> CpuFacts {
        CpuFacts {
            cpu,
            findings: Vec::new(),
            segs: Vec::new(),
            loads: Vec::new(),
            defer_done: Vec::new(),
            flush_reqs: Vec::new(),
            flush_deferred: Vec::new(),
            completions: Vec::new(),
            pte: Vec::new(),
            user: Vec::new(),
            lost: Vec::new(),
            runs: Vec::new(),
            switch_reqs: Vec::new(),
            returns: Vec::new(),
            flush_begins: Vec::new(),
        }
    }
}

impl State {
    /// The open user interval.
    pub(crate) fn user_now(&self) -> Option<UserIv> {
        self.user
    }

    /// A CPU before its first event. `infer_loads`: the trace has no load
    /// events, so the loaded mm is inferred at every switch to a user task;
    /// `lanes`: keep every fact for the timeline.
    pub(crate) fn new(cpu: Cpu, infer_loads: bool, lanes: bool) -> State {
        State {
            infer_loads,
            lanes,
            cur: None,
            hw: None,
            switching_to: None,
            pending: None,
            user: None,
            seg: None,
            emit: Vec::new(),
            inv1_open: None,
            last_switch: None,
            load_due: false,
            pte_stack: Vec::new(),
            flush_stack: Vec::new(),
            out: CpuFacts::empty(cpu),
        }
    }
}

fn tracked_value(m: Mm, at: EventRef, observed: bool) -> Tracked<Mm> {
    let prov = if observed {
        Provenance::Observed { event: at }
    } else {
        Provenance::Inferred {
            event: at,
            rule: InferRule::ResolvedArgument,
        }
    };
    Tracked { value: m, prov }
}

impl State {
    /// Hands a fact to the cross-CPU checks, or keeps it for the timeline.
    fn fact(&mut self, f: Fact) {
        if !self.lanes {
            self.emit.push(f);
            return;
        }
        let o = &mut self.out;
        match f {
            Fact::Load(l) => o.loads.push(l),
            Fact::DeferDone(d) => o.defer_done.push(d),
            Fact::FlushReq(r) => o.flush_reqs.push(r),
            Fact::FlushDeferred(r) => o.flush_deferred.push(r),
            Fact::Completion(c) => o.completions.push(c),
            Fact::Pte(w) => o.pte.push(w),
            Fact::UserEnd(at) => {
                if let Some(u) = &mut self.user {
                    u.end = Some(at);
                    o.user.push(*u);
                }
            }
            Fact::PteBegin { .. } | Fact::UserStart(..) => {}
        }
    }

    fn resolve_mm(&self, a: MmArg) -> Option<(Mm, bool)> {
        match a {
            MmArg::Value(m) => Some((m, true)),
            MmArg::Current => self
                .cur
                .and_then(|c| c.mm)
                .map(|t| (t.value, t.prov.is_observed())),
            MmArg::Loaded => self.hw.map(|h| (h.mm.value, h.mm.prov.is_observed())),
            // Observed only if the task's mm was observed at or after the
            // switch (an older binding may predate an exec).
            MmArg::Switched if self.load_due => self.cur.and_then(|c| {
                c.mm.map(|t| (t.value, t.prov.is_observed() && t.prov.event() >= c.since))
            }),
            MmArg::Switched => None,
            MmArg::Paired => None,
        }
    }

    fn resolve_pid(&self, a: PidArg) -> Option<Pid> {
        match a {
            PidArg::Value(p) => Some(p),
            PidArg::Current => self.cur.map(|c| c.pid),
        }
    }

    /// Whether the CPU runs a task without a user mm (idle, a kernel thread
    /// borrowing the previous mm: lazy TLB mode).
    fn lazy(&self) -> bool {
        match self.cur {
            Some(Cur { pid: Pid(0), .. }) => true,
            Some(Cur { mm: Some(t), .. }) => !t.value.is_user(),
            _ => false,
        }
    }

    fn push_seg(&mut self, at: EventRef) {
        let seg = Seg {
            at,
            hw: self.hw.map(|h| h.mm.value),
            hw_at: self.hw.map(|h| h.mm.prov.event()),
            hw_observed: self.hw.is_some_and(|h| h.mm.prov.is_observed()),
            lazy: self.lazy(),
            switching_to: self.switching_to,
        };
        if let Some(last) = &self.seg
            && (
                last.hw,
                last.hw_at,
                last.hw_observed,
                last.lazy,
                last.switching_to,
            ) == (
                seg.hw,
                seg.hw_at,
                seg.hw_observed,
                seg.lazy,
                seg.switching_to,
            )
        {
            return;
        }
        self.seg = Some(seg);
        if self.lanes {
            self.out.segs.push(seg);
        }
    }

    /// Records the running task (timeline only; repeated states dropped).
    fn push_run(&mut self, at: EventRef) {
        if !self.lanes {
            return;
        }
        let run = RunFact {
            at,
            pid: self.cur.map(|c| c.pid),
            mm: self.cur.and_then(|c| c.mm).map(|t| t.value),
            mm_observed: self
                .cur
                .and_then(|c| c.mm)
                .is_some_and(|t| t.prov.is_observed()),
        };
        if let Some(last) = self.out.runs.last()
            && (last.pid, last.mm, last.mm_observed) == (run.pid, run.mm, run.mm_observed)
        {
            return;
        }
        self.out.runs.push(run);
    }

    fn close_user(&mut self, at: EventRef) {
        if self.user.is_some() {
            self.fact(Fact::UserEnd(at));
            self.user = None;
        }
    }

    fn close_inv1(&mut self, at: EventRef) {
        if let Some(i) = self.inv1_open.take() {
            let f = &mut self.out.findings[i];
            f.window.end = Some(at);
            f.window.end_ts = at.ts;
        }
    }

    fn task_mm(&self, tasks: &mut TaskTable<'_>, pid: Pid, at: EventRef) -> Option<Tracked<Mm>> {
        match self.cur {
            Some(c) if c.pid == pid && c.mm.is_some() => c.mm,
            _ => tasks.mm_at(pid, at),
        }
    }

    /// Replays one role event of this CPU; `tasks` has taken in the
    /// event's bindings already.
    pub(crate) fn step(&mut self, tasks: &mut TaskTable<'_>, at: EventRef, role: Role) {
        let is_switch = matches!(role, Role::TaskSwitch { .. });
        // A load "due" after a switch is the event right after it (x86
        // switch_mm's tlb_flush follows sched_switch at once); anything in
        // between means the next task already runs.
        let due = std::mem::take(&mut self.load_due);
        self.load_due = due && matches!(role, Role::MmLoaded { .. });
        match role {
            Role::TaskSwitch {
                prev_pid,
                next_pid,
                next_mm,
                ..
            } => self.on_switch(tasks, at, prev_pid, next_pid, next_mm),
            Role::TaskMm { pid, mm } => {
                if let Some(c) = &mut self.cur
                    && c.pid == pid
                {
                    c.mm = Some(Tracked {
                        value: mm,
                        prov: Provenance::Observed { event: at },
                    });
                    if !mm.is_user() {
                        self.close_user(at); // an exiting task: in the kernel for good
                    }
                    self.push_seg(at);
                    self.push_run(at);
                }
            }
            Role::MmSwitchRequested {
                pid,
                prev_mm,
                next_mm,
                deferred,
            } => {
                if let Some((m, observed)) = self.resolve_mm(next_mm) {
                    // switch_mm(prev, next->mm, next): the mm of the task
                    // being switched in, observed.
                    if let (Some(p), Some(c)) = (self.resolve_pid(pid), &mut self.cur)
                        && c.pid == p
                        && observed
                    {
                        c.mm = Some(Tracked {
                            value: m,
                            prov: Provenance::Observed { event: at },
                        });
                    }
                    self.switching_to = Some(m);
                    self.pending = match deferred {
                        DeferKind::None => None,
                        kind => Some(Pending {
                            kind,
                            task: self.resolve_pid(pid).unwrap_or(Pid(-1)),
                            prev_mm,
                            mm: m,
                            req: at,
                            lost_switch: None,
                            skipped: None,
                            consumed: None,
                        }),
                    };
                    self.push_seg(at);
                    self.push_run(at);
                    if self.lanes {
                        self.out.switch_reqs.push(SwitchReq {
                            at,
                            mm: m,
                            deferred,
                        });
                    }
                }
            }
            Role::MmLoaded { mm, flushed } => match self.resolve_mm(mm) {
                Some((m, observed)) => self.on_load(at, m, observed, flushed, false),
                None if mm == MmArg::Switched => {
                    // Something was loaded, but not what: forget the old value.
                    self.close_inv1(at);
                    self.hw = None;
                    self.push_seg(at);
                }
                None => {}
            },
            Role::DeferredSwitchCompleted { pid, mm } => {
                let target = match mm {
                    MmArg::Paired => self
                        .pending
                        .map(|p| (p.mm, true))
                        .or_else(|| self.resolve_mm(MmArg::Current)),
                    a => self.resolve_mm(a),
                };
                if let Some((m, observed)) = target {
                    let req = self.pending.filter(|p| p.mm == m).map(|p| p.req);
                    let pid = self.resolve_pid(pid);
                    self.fact(Fact::DeferDone(DeferDone {
                        at,
                        mm: m,
                        pid,
                        req,
                    }));
                    self.on_load(at, m, observed, None, true);
                }
            }
            Role::DeferredSwitchSkipped { .. } => {
                if let Some(p) = &mut self.pending {
                    p.skipped = Some(at);
                }
            }
            Role::TlbFlushRequested { mm, .. } => {
                if let Some((m, _)) = self.resolve_mm(mm) {
                    self.fact(Fact::FlushReq(FlushReq { at, mm: m }));
                }
            }
            Role::TlbFlushDeferred { mm } => {
                if let Some((m, _)) = self.resolve_mm(mm) {
                    self.fact(Fact::FlushDeferred(FlushReq { at, mm: m }));
                }
            }
            Role::TlbFlushBegin { mm, all_cpus } => {
                if let Some((m, _)) = self.resolve_mm(mm) {
                    if self.lanes {
                        self.out.flush_begins.push(FlushReq { at, mm: m });
                    }
                    self.flush_stack.push((at, m, all_cpus));
                }
            }
            Role::TlbFlushCompleted { mm, all_cpus } => {
                let begin = match mm {
                    MmArg::Paired => self.flush_stack.pop(),
                    a => self.resolve_mm(a).map(|(m, _)| {
                        match self.flush_stack.iter().rposition(|b| b.1 == m) {
                            Some(i) => self.flush_stack.remove(i),
                            None => (at, m, all_cpus),
                        }
                    }),
                };
                if let Some((start, m, began_all)) = begin {
                    self.fact(Fact::Completion(Completion {
                        start,
                        done: at,
                        mm: m,
                        all_cpus: all_cpus || began_all,
                    }));
                }
            }
            Role::PteUpdateBegin { mm, addr, lazy } => {
                if let Some((m, _)) = self.resolve_mm(mm) {
                    self.pte_stack.push((at, m, addr, lazy));
                    self.fact(Fact::PteBegin { at, mm: m, lazy });
                }
            }
            Role::PteUpdateEnd { mm, addr } => {
                let open = match mm {
                    MmArg::Paired => self.pte_stack.pop(),
                    a => self.resolve_mm(a).and_then(|(m, _)| {
                        self.pte_stack
                            .iter()
                            .rposition(|b| b.1 == m && addr.is_none_or(|x| x == b.2))
                            .map(|i| self.pte_stack.remove(i))
                    }),
                };
                if let Some((begin, m, a, lazy)) = open {
                    self.fact(Fact::Pte(PteWindow {
                        begin,
                        end: Some(at),
                        mm: m,
                        addr: a,
                        lazy,
                    }));
                }
            }
            Role::ReturnToUser { pid } => {
                if let Some(p) = self.resolve_pid(pid) {
                    if self.lanes {
                        self.out.returns.push((at, p));
                    }
                    self.on_user(tasks, at, p);
                }
            }
            Role::KernelEntry { .. } => self.close_user(at),
        }
        if !is_switch {
            self.last_switch = None;
        }
    }

    fn on_switch(
        &mut self,
        tasks: &mut TaskTable<'_>,
        at: EventRef,
        prev: Pid,
        next: Pid,
        next_mm: Option<Mm>,
    ) {
        if self.last_switch == Some((prev, next)) {
            // The same switch seen by a second event (sched_switch + mmctx:switch).
            self.load_due = true;
            if let (Some(m), Some(c)) = (next_mm, &mut self.cur) {
                c.mm = Some(Tracked {
                    value: m,
                    prov: Provenance::Observed { event: at },
                });
            }
            self.infer_load(at);
            self.push_seg(at);
            self.push_run(at);
            return;
        }
        self.close_user(at);
        self.close_inv1(at);
        let mm = match next_mm {
            Some(m) => Some(Tracked {
                value: m,
                prov: Provenance::Observed { event: at },
            }),
            None => tasks.mm_at(next, at),
        };
        if let Some(p) = &mut self.pending
            && p.kind == DeferKind::ThreadFlag
            && p.task == prev
            && p.lost_switch.is_none()
            && mm.is_some_and(|t| t.value == p.mm)
        {
            // switch_mm(prev == next) returns early: the flag stays on `prev`.
            p.lost_switch = Some((at, prev, next));
        }
        self.cur = Some(Cur {
            pid: next,
            mm,
            since: at,
            prev,
        });
        self.load_due = true;
        self.last_switch = Some((prev, next));
        self.infer_load(at);
        self.push_seg(at);
        self.push_run(at);
    }

    fn infer_load(&mut self, at: EventRef) {
        if !self.infer_loads {
            return;
        }
        if let Some(Cur { mm: Some(t), .. }) = self.cur
            && t.value.is_user()
        {
            self.hw = Some(Hw {
                mm: Tracked {
                    value: t.value,
                    prov: Provenance::Inferred {
                        event: at,
                        rule: InferRule::LoadAtSwitch,
                    },
                },
                deferred_completion: false,
            });
        }
    }

    fn on_load(
        &mut self,
        at: EventRef,
        m: Mm,
        observed: bool,
        flushed: Option<bool>,
        deferred_completion: bool,
    ) {
        self.close_inv1(at);
        self.load_due = false;
        self.hw = Some(Hw {
            mm: tracked_value(m, at, observed),
            deferred_completion,
        });
        if self.switching_to == Some(m) {
            self.switching_to = None;
        }
        if self.pending.is_some_and(|p| p.mm == m) {
            self.pending = None;
        }
        self.fact(Fact::Load(LoadFact {
            at,
            mm: m,
            flushed,
            deferred_completion,
        }));
        self.push_seg(at);
    }

    /// The task of a finding; its name is filled in at the end of the
    /// trace (the last name the trace gives it).
    fn task_ref(&self, pid: Pid) -> TaskRef {
        TaskRef { pid, comm: None }
    }

    fn on_user(&mut self, tasks: &mut TaskTable<'_>, at: EventRef, pid: Pid) {
        if self.cur.is_some_and(|c| c.pid != pid) {
            // The task returning is not the one the last switch brought in:
            // a switch was not recorded, and with it whatever it loaded.
            self.close_user(at);
            self.close_inv1(at);
            self.cur = None;
            self.hw = None;
            self.switching_to = None;
            self.load_due = false;
        }
        if self.cur.is_none() {
            self.cur = Some(Cur {
                pid,
                mm: tasks.mm_at(pid, at),
                since: at,
                prev: pid,
            });
            self.push_seg(at);
            self.push_run(at);
        }
        let expected = self.task_mm(tasks, pid, at);
        // A second return of the same task without a kernel entry seen in
        // between (sys_exit and mmctx:user of one return, or a trace without
        // kernel-entry events) continues the user interval, but the loaded
        // mm is checked again: it may have been observed anew.
        if self.user.is_none_or(|u| u.pid != pid) {
            self.close_user(at);
            let u = UserIv {
                pid,
                mm: expected.map(|t| t.value),
                start: at,
                end: None,
            };
            self.user = Some(u);
            let hw = self.seg.and_then(|s| s.hw);
            self.fact(Fact::UserStart(u, hw));
        }

        // (The pending deferral is copied only where a finding needs it:
        // this runs at every return to user.)
        let lost = self
            .pending
            .as_ref()
            .is_some_and(|p| p.kind == DeferKind::ThreadFlag && p.lost_switch.is_some());

        // INV-1: loaded mm ≠ task's mm, with the loaded mm observed.
        if self.inv1_open.is_none()
            && let (Some(exp), Some(hw)) = (expected, self.hw)
            && exp.value.is_user()
            && hw.mm.prov.is_observed()
            && hw.mm.value != exp.value
        {
            let pending = self.pending;
            let cause = match pending {
                Some(p) if lost && p.mm == exp.value => Cause::LostThreadDeferral,
                Some(_) => Cause::DeferredSwitchNeverCompleted,
                None => Cause::Unknown,
            };
            let mut f = Finding::new(
                Invariant::WrongMmAtUserReturn,
                at.cpu,
                Interval {
                    start: at,
                    end: None,
                    // The trace's end, until the window closes (set at the
                    // end of the trace if it never does).
                    end_ts: at.ts,
                },
            );
            f.cause = Some(cause);
            f.task = Some(self.task_ref(pid));
            f.expected_mm = Some(exp.value);
            f.loaded_mm = Some(hw.mm.value);
            let mut chain = vec![self.load_link(hw)];
            if let Some(c) = self.cur {
                chain.push(switch_link(c.since, c.prev, c.pid, c.mm.map(|t| t.value)));
            }
            if let Some(p) = pending {
                chain.extend(pending_links(&p));
            }
            chain.push(user_link(at, pid, Some(exp.value)));
            f.cause_chain = sorted_chain(chain);
            if !exp.prov.is_observed() {
                f.add_suspect(SuspectReason::InferredTaskMm);
            }
            // INV-1b: the pending per-mm deferral's flag was consumed by
            // another CPU's deferred completion before this return.
            if let Some(p) = pending
                && p.kind == DeferKind::MmFlag
                && p.mm == exp.value
                && let Some((c1, done)) = p.consumed
            {
                let g = cross::mm_flag_consumed(&f, p.mm, p.req, p.skipped, at, pid, c1, done);
                f.cause = Some(Cause::MmFlagConsumedElsewhere);
                f.other_cpu = Some(c1);
                self.out.findings.push(g);
            }
            self.out.findings.push(f);
            self.inv1_open = Some(self.out.findings.len() - 1);
        }

        // INV-1a: a per-thread deferral lost by a same-mm switch.
        if lost && let Some(p) = self.pending {
            let mut f = Finding::new(
                Invariant::LostThreadDeferral,
                at.cpu,
                Interval {
                    start: p.req,
                    end: Some(at),
                    end_ts: at.ts,
                },
            );
            f.task = Some(self.task_ref(pid));
            f.expected_mm = Some(p.mm);
            f.loaded_mm = self.hw.map(|h| h.mm.value);
            let mut chain = pending_links(&p);
            chain.push(user_link(at, pid, expected.map(|t| t.value)));
            f.cause_chain = sorted_chain(chain);
            if self.hw.is_some_and(|h| !h.mm.prov.is_observed()) {
                f.add_suspect(SuspectReason::InferredLoadedMm);
            }
            if expected.is_some_and(|t| !t.prov.is_observed()) {
                f.add_suspect(SuspectReason::InferredTaskMm);
            }
            self.out.findings.push(f);
            self.pending = None;
        }
    }

    fn load_link(&self, hw: Hw) -> ChainLink {
        let what = if hw.deferred_completion {
            format!("deferred-switch-completed: loaded {}", hw.mm.value)
        } else {
            format!("mm-loaded {}", hw.mm.value)
        };
        ChainLink {
            at: hw.mm.prov.event(),
            what,
        }
    }

    /// The end of the trace at `end`: open INV-1 windows last until then,
    /// the open user interval and PTE updates stay open.
    pub(crate) fn finish(&mut self, end: Timestamp) {
        for f in &mut self.out.findings {
            if f.window.end.is_none() {
                f.window.end_ts = end;
            }
        }
        if self.lanes
            && let Some(u) = self.user.take()
        {
            self.out.user.push(u);
        }
        for (begin, mm, addr, lazy) in std::mem::take(&mut self.pte_stack) {
            self.fact(Fact::Pte(PteWindow {
                begin,
                end: None,
                mm,
                addr,
                lazy,
            }));
        }
        self.out.pte.sort_by_key(|w| w.begin);
        self.out.completions.sort_by_key(|c| (c.start, c.done));
    }
}

fn switch_link(at: EventRef, prev: Pid, next: Pid, mm: Option<Mm>) -> ChainLink {
    let what = match mm {
        Some(m) => format!("task-switch {prev} -> {next} (mm {m})"),
        None => format!("task-switch {prev} -> {next}"),
    };
    ChainLink { at, what }
}

fn user_link(at: EventRef, pid: Pid, mm: Option<Mm>) -> ChainLink {
    let what = match mm {
        Some(m) => format!("return-to-user pid {pid} (mm {m})"),
        None => format!("return-to-user pid {pid}"),
    };
    ChainLink { at, what }
}

fn pending_links(p: &Pending) -> Vec<ChainLink> {
    let prev = p.prev_mm.map_or_else(|| "?".to_string(), |m| m.to_string());
    let mut v = vec![ChainLink {
        at: p.req,
        what: format!(
            "mm-switch-requested pid {} {} -> {} deferred {}",
            p.task,
            prev,
            p.mm,
            p.kind.name()
        ),
    }];
    if let Some((at, from, to)) = p.lost_switch {
        v.push(ChainLink {
            at,
            what: format!(
                "task-switch {from} -> {to} within mm {}: no switch_mm, flag stays on {from}",
                p.mm
            ),
        });
    }
    if let Some(at) = p.skipped {
        v.push(ChainLink {
            at,
            what: "deferred-switch-skipped: no pending flag seen".to_string(),
        });
    }
    v
}

/// Sorts a chain by time and removes repeated events.
pub(crate) fn sorted_chain(mut v: Vec<ChainLink>) -> Vec<ChainLink> {
    v.sort_by(|a, b| a.at.cmp(&b.at).then_with(|| a.what.cmp(&b.what)));
    v.dedup_by(|a, b| a.at == b.at);
    v
}
