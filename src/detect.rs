//! Trace quality (race-model.md INV-7): the per-invariant coverage table (did
//! the trace have the events to check it, and if not, what to record) and the
//! gate that marks findings whose window overlaps lost events `suspect`.

use serde::Serialize;

use mmrace_parsers::types::Cpu;

use crate::finding::{Finding, Invariant, SuspectReason};
use crate::ingest::{IngestedTrace, LostSpan};
use crate::model::RoleKind;
use crate::profile::CompiledProfile;

/// What to record to get a role, when the profile has no event for it.
pub fn role_hint(role: RoleKind) -> &'static str {
    match role {
        RoleKind::TaskSwitch => "sched:sched_switch",
        RoleKind::TaskMm => {
            "mmctx:switch (t:mmctx/switch sched_switch prev_pid=prev->pid prev_mm=prev->mm next_pid=next->pid next_mm=next->mm)"
        }
        RoleKind::MmSwitchRequested => {
            "mmctx:switch_mm (x86 kprobe switch_mm_irqs_off; arm64 kprobe check_and_switch_context)"
        }
        RoleKind::MmLoaded => {
            "mmctx:load (arm64 kprobe cpu_do_switch_mm; x86 tlb:tlb_flush reason 0; s390 perf-probe in finish_arch_post_lock_switch)"
        }
        RoleKind::DeferredSwitchCompleted | RoleKind::DeferredSwitchSkipped => {
            "mmctx:defer_check (probe on the deferred-switch completion)"
        }
        RoleKind::TlbFlushRequested => {
            "mmctx:flush (x86 kprobe flush_tlb_mm_range; s390 kprobe ptep_xchg_direct)"
        }
        RoleKind::TlbFlushDeferred => {
            "mmctx:flush with lazy=1 (s390 ptep_xchg_lazy%return with mm->context.flush_mm)"
        }
        RoleKind::TlbFlushBegin | RoleKind::TlbFlushCompleted => {
            "mmctx:flush_begin/flush_done (kprobe + kretprobe tlb_finish_mmu; x86 tlb:tlb_flush)"
        }
        RoleKind::PteUpdateBegin | RoleKind::PteUpdateEnd => {
            "mmctx:pte_begin/pte_end (s390 kprobe + kretprobe ptep_xchg_lazy)"
        }
        RoleKind::ReturnToUser => "raw_syscalls:sys_exit or mmctx:user (or rseq:rseq_update)",
        RoleKind::KernelEntry => "raw_syscalls:sys_enter",
    }
}

/// Requirement groups of an invariant: each group is satisfied by any one of
/// its roles.
fn requirements(inv: Invariant) -> &'static [&'static [RoleKind]] {
    use RoleKind::*;
    const LOAD: &[RoleKind] = &[MmLoaded, DeferredSwitchCompleted];
    match inv {
        Invariant::WrongMmAtUserReturn => &[&[TaskSwitch], LOAD, &[ReturnToUser]],
        Invariant::LostThreadDeferral => {
            &[&[TaskSwitch], &[MmSwitchRequested], LOAD, &[ReturnToUser]]
        }
        Invariant::MmDeferralConsumedElsewhere => &[
            &[TaskSwitch],
            &[MmSwitchRequested],
            &[DeferredSwitchCompleted],
            &[ReturnToUser],
        ],
        Invariant::FlushOwedAtUserReturn => &[
            &[TaskSwitch],
            &[MmLoaded],
            &[TlbFlushRequested],
            &[TlbFlushCompleted],
            &[ReturnToUser],
        ],
        Invariant::AttachDuringLazyPteUpdate => {
            &[&[PteUpdateBegin], &[PteUpdateEnd], LOAD, &[ReturnToUser]]
        }
        Invariant::LostLazyFlush => &[&[TlbFlushDeferred], &[TlbFlushCompleted], &[ReturnToUser]],
    }
}

/// Whether the trace could check one invariant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InvariantCoverage {
    /// The invariant (its kebab-case id).
    pub invariant: Invariant,
    /// Its race-model.md code.
    pub code: &'static str,
    /// All needed roles are provided by events of the trace.
    pub checkable: bool,
    /// Roles no event of the trace provides.
    pub missing_roles: Vec<RoleKind>,
    /// Events to record to make it checkable.
    pub record: Vec<String>,
    /// Extra remarks (e.g. inferred state).
    pub notes: Vec<String>,
}

/// One role: which events gave it and how often.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoleUse {
    /// The role.
    pub role: RoleKind,
    /// Trace events mapped to it.
    pub events: Vec<String>,
    /// Events the profile maps to it that the trace lacks.
    pub missing_events: Vec<String>,
    /// Occurrences in the trace.
    pub count: u64,
}

/// Lost events of one CPU.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CpuLoss {
    /// The CPU.
    #[serde(serialize_with = "crate::model::ser_cpu")]
    pub cpu: Cpu,
    /// Its lost spans.
    pub spans: Vec<LostSpan>,
}

/// The coverage table of a trace under a profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Coverage {
    /// Profile name.
    pub profile: String,
    /// Per role.
    pub roles: Vec<RoleUse>,
    /// Per invariant.
    pub invariants: Vec<InvariantCoverage>,
    /// CPUs that lost events.
    pub lost: Vec<CpuLoss>,
}

/// Builds the coverage table.
pub fn coverage(profile: &CompiledProfile, trace: &IngestedTrace) -> Coverage {
    let roles = profile
        .coverage()
        .iter()
        .map(|c| RoleUse {
            role: c.role,
            events: c.events.clone(),
            missing_events: c.missing_events.clone(),
            count: trace.role_counts[c.role.index()],
        })
        .collect();
    let invariants = Invariant::ALL
        .iter()
        .map(|&inv| {
            let mut missing_roles = Vec::new();
            let mut record = Vec::new();
            for group in requirements(inv) {
                if group.iter().any(|&r| profile.provides(r)) {
                    continue;
                }
                let r = group[0];
                missing_roles.push(r);
                let known: Vec<String> = group
                    .iter()
                    .flat_map(|g| profile.coverage()[g.index()].missing_events.iter().cloned())
                    .collect();
                if known.is_empty() {
                    record.push(role_hint(r).to_string());
                } else {
                    record.extend(known);
                }
            }
            let mut notes = Vec::new();
            let needs_task_mm = matches!(
                inv,
                Invariant::WrongMmAtUserReturn
                    | Invariant::LostThreadDeferral
                    | Invariant::MmDeferralConsumedElsewhere
            );
            if needs_task_mm && !profile.provides_task_mm() {
                missing_roles.push(RoleKind::TaskMm);
                record.push(role_hint(RoleKind::TaskMm).to_string());
            }
            let loads = profile.provides(RoleKind::MmLoaded)
                || profile.provides(RoleKind::DeferredSwitchCompleted);
            if inv == Invariant::WrongMmAtUserReturn && !loads {
                notes.push(
                    "the loaded mm is inferred at each switch: INV-1 cannot fire on inferred state"
                        .to_string(),
                );
            }
            if inv == Invariant::WrongMmAtUserReturn && loads && !profile.observes_loaded_mm() {
                notes.push(
                    "the load events carry no mm and no switch event carries the next task's mm: \
                     the loaded mm is never observed, so INV-1 cannot fire"
                        .to_string(),
                );
                if !missing_roles.contains(&RoleKind::TaskMm) {
                    missing_roles.push(RoleKind::TaskMm);
                    record.push(role_hint(RoleKind::TaskMm).to_string());
                }
            }
            record.dedup();
            InvariantCoverage {
                invariant: inv,
                code: inv.code(),
                checkable: missing_roles.is_empty(),
                missing_roles,
                record,
                notes,
            }
        })
        .collect();
    let lost = trace
        .cpus
        .iter()
        .filter(|c| !c.lost.is_empty())
        .map(|c| CpuLoss {
            cpu: c.cpu,
            spans: c.lost.clone(),
        })
        .collect();
    Coverage {
        profile: profile.name().to_string(),
        roles,
        invariants,
        lost,
    }
}

/// INV-7: marks findings whose window (from the first event of its cause
/// chain to its end) overlaps lost events on its CPU or the other CPU.
pub fn apply_quality_gate(findings: &mut [Finding], trace: &IngestedTrace) {
    for f in findings.iter_mut() {
        let start = f
            .cause_chain
            .first()
            .map_or(f.window.start.ts, |c| c.at.ts)
            .min(f.window.start.ts);
        let end = f.window.end_ts;
        let relevant = [Some(f.cpu), f.other_cpu];
        for c in trace
            .cpus
            .iter()
            .filter(|c| relevant.contains(&Some(c.cpu)))
        {
            if c.lost.iter().any(|l| l.from < end && l.to >= start) {
                f.add_suspect(SuspectReason::LostEvents { cpu: c.cpu });
            }
        }
    }
}
