//! A profile bound to one trace's event formats: the per-event-id dispatch
//! table and the record classifier (the ingest hot path).

use mmrace_parsers::Endian;
use mmrace_parsers::format::{EventFormat, Field};
use mmrace_parsers::types::Pid;
use serde::Serialize;

use super::{ArgType, CmpOp, EventName, MAX_ARGS, Profile, Value, role_args};
use crate::model::{Comm, DeferKind, Mm, MmArg, PidArg, Role, RoleKind};

/// Why a rule was left out when compiling (the trace lacks a field, or the
/// field has a size the rule cannot read).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CompileWarning {
    /// Rule number in the profile (0-based).
    pub rule: usize,
    /// Its event.
    pub event: String,
    /// What is wrong.
    pub detail: String,
}

/// Which trace events provide a role under a compiled profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoleCoverage {
    /// The role.
    pub role: RoleKind,
    /// Events in the trace that the profile maps to it.
    pub events: Vec<String>,
    /// Events the profile would map to it that the trace does not have
    /// (record these to get the role).
    pub missing_events: Vec<String>,
}

/// A compiled argument value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CVal {
    Absent,
    Num {
        off: usize,
        size: usize,
        signed: bool,
        mask: u64,
        shift: u32,
        add: u64,
    },
    Bytes {
        off: usize,
        size: usize,
    },
    Const(u64),
    Current,
    Loaded,
    Switched,
    Defer(DeferKind),
}

#[derive(Debug, Clone, Copy)]
struct CCond {
    off: usize,
    size: usize,
    signed: bool,
    op: CmpOp,
    rhs: i128,
    /// Compare with this field (offset, size, signed) instead of `rhs`.
    rhs_field: Option<(usize, usize, bool)>,
}

#[derive(Debug, Clone, Copy)]
struct CRule {
    role: RoleKind,
    conds: (u32, u32),
    args: [CVal; MAX_ARGS],
    /// Whether the role it builds can bind a task to an mm (an mm read from
    /// the record or a constant, for a task the record names).
    binds: bool,
}

/// The (task, mm) argument pairs of a role from which a task → mm binding
/// is read: the pairs [`bindings`](crate::replay::bindings) reads from the
/// built role.
fn binding_args(role: RoleKind) -> &'static [(usize, usize)] {
    match role {
        RoleKind::TaskSwitch => &[(0, 2), (1, 3)],
        RoleKind::TaskMm => &[(0, 1)],
        RoleKind::MmSwitchRequested => &[(0, 2)],
        _ => &[],
    }
}

/// Whether `v` is an mm the record gives (not `@current`, `@loaded`, ...).
fn mm_value(v: CVal) -> bool {
    matches!(v, CVal::Num { .. } | CVal::Const(_))
}

/// Whether a rule of `role` with these arguments can give a task → mm
/// binding: one of its pairs has an mm that is a value and a task that is
/// not `@current`.
fn can_bind(role: RoleKind, a: &[CVal; MAX_ARGS]) -> bool {
    binding_args(role)
        .iter()
        .any(|&(t, m)| mm_value(a[m]) && !matches!(a[t], CVal::Current))
}

/// A profile compiled against a trace's formats. Classifying a record is a
/// table lookup on `common_type` plus bounded field reads; nothing allocates.
#[derive(Debug, Clone)]
pub struct CompiledProfile {
    name: String,
    endian: Endian,
    type_field: (usize, usize),
    pid_field: (usize, usize),
    /// Per event id: range into `rules`.
    table: Vec<(u32, u32)>,
    rules: Vec<CRule>,
    /// `table` and `rules` for the rules that can bind a task to an mm
    /// (in the same order): what a first pass reads.
    bind_table: Vec<(u32, u32)>,
    bind_rules: Vec<CRule>,
    conds: Vec<CCond>,
    coverage: Vec<RoleCoverage>,
    warnings: Vec<CompileWarning>,
    task_mm: bool,
    loads_observed: bool,
}

fn find_field<'f>(fmt: &'f EventFormat, name: &str) -> Option<&'f Field> {
    fmt.field(name).or_else(|| fmt.common_field(name))
}

fn numeric(f: &Field) -> bool {
    matches!(f.size, 1 | 2 | 4 | 8)
        && !f.flags.dynamic
        && !(f.flags.array && f.array_len != Some(1))
}

impl Profile {
    /// Binds the profile to a trace: resolves every rule's event to its id and
    /// fields to offsets. Rules whose event is absent are skipped (they show
    /// up as missing in [`CompiledProfile::coverage`]); rules whose fields are
    /// absent or unreadable are skipped with a warning.
    pub fn compile(&self, formats: &[EventFormat], endian: Endian) -> CompiledProfile {
        let common = formats
            .first()
            .map(|f| f.common_fields.as_slice())
            .unwrap_or(&[]);
        let get = |n: &str, d: (usize, usize)| {
            common
                .iter()
                .find(|f| f.name == n)
                .map_or(d, |f| (f.offset, f.size))
        };
        let type_field = get("common_type", (0, 2));
        let pid_field = get("common_pid", (4, 4));

        let mut per_id: Vec<Vec<CRule>> = Vec::new();
        let mut conds = Vec::new();
        let mut warnings = Vec::new();
        let mut coverage: Vec<RoleCoverage> = RoleKind::ALL
            .iter()
            .map(|&role| RoleCoverage {
                role,
                events: Vec::new(),
                missing_events: Vec::new(),
            })
            .collect();

        for (ri, rule) in self.rules.iter().enumerate() {
            let ev = rule.event.to_string();
            let Some(fmt) = find_format(formats, &rule.event) else {
                let cov = &mut coverage[rule.role.index()];
                if !cov.missing_events.contains(&ev) {
                    cov.missing_events.push(ev);
                }
                continue;
            };
            let warn = |detail: String| CompileWarning {
                rule: ri,
                event: ev.clone(),
                detail,
            };
            match compile_rule(rule, fmt, &mut conds) {
                Ok(cr) => {
                    let id = fmt.id.0 as usize;
                    if id > u16::MAX as usize {
                        warnings.push(warn(format!("event id {id} does not fit common_type")));
                        continue;
                    }
                    if per_id.len() <= id {
                        per_id.resize_with(id + 1, Vec::new);
                    }
                    per_id[id].push(cr);
                    let cov = &mut coverage[rule.role.index()];
                    if !cov.events.contains(&ev) {
                        cov.events.push(ev);
                    }
                }
                Err(detail) => warnings.push(warn(detail)),
            }
        }
        for c in &mut coverage {
            c.missing_events.retain(|m| !c.events.contains(m));
        }
        let task_mm = per_id.iter().flatten().any(|r| match r.role {
            RoleKind::TaskMm => true,
            RoleKind::TaskSwitch => r.args[3] != CVal::Absent,
            RoleKind::MmSwitchRequested => matches!(r.args[2], CVal::Num { .. } | CVal::Const(_)),
            _ => false,
        });
        // Tasks' mms observed at the switch itself (a switch event with the
        // next task's mm, or switch_mm's argument).
        let strong_task_mm = per_id.iter().flatten().any(|r| match r.role {
            RoleKind::TaskSwitch => r.args[3] != CVal::Absent,
            RoleKind::MmSwitchRequested => matches!(r.args[2], CVal::Num { .. } | CVal::Const(_)),
            _ => false,
        });
        let loads_observed = per_id.iter().flatten().any(|r| {
            let mm = match r.role {
                RoleKind::MmLoaded => r.args[0],
                RoleKind::DeferredSwitchCompleted => r.args[1],
                _ => return false,
            };
            match mm {
                CVal::Num { .. } | CVal::Const(_) | CVal::Absent => true,
                CVal::Current | CVal::Switched => strong_task_mm,
                _ => false,
            }
        });
        let mut table = Vec::with_capacity(per_id.len());
        let mut rules = Vec::new();
        let mut bind_table = Vec::with_capacity(per_id.len());
        let mut bind_rules = Vec::new();
        for list in per_id {
            table.push((rules.len() as u32, list.len() as u32));
            let binding = list.iter().filter(|r| r.binds);
            bind_table.push((bind_rules.len() as u32, binding.clone().count() as u32));
            bind_rules.extend(binding.cloned());
            rules.extend(list);
        }
        CompiledProfile {
            name: self.name.clone(),
            endian,
            type_field,
            pid_field,
            table,
            rules,
            bind_table,
            bind_rules,
            conds,
            coverage,
            warnings,
            task_mm,
            loads_observed,
        }
    }
}

fn find_format<'f>(formats: &'f [EventFormat], name: &EventName) -> Option<&'f EventFormat> {
    formats
        .iter()
        .find(|f| f.system == name.system && f.name == name.name)
}

fn compile_rule(
    rule: &super::Rule,
    fmt: &EventFormat,
    conds: &mut Vec<CCond>,
) -> Result<CRule, String> {
    let start = conds.len();
    let mut local = Vec::new();
    for c in &rule.when {
        let f = find_field(fmt, &c.field)
            .ok_or_else(|| format!("no field `{}` for condition", c.field))?;
        if !numeric(f) {
            return Err(format!("field `{}` is not a number", c.field));
        }
        // A negative number against an unsigned field means its bit pattern
        // at the field's size (x86 `pages == -1` for TLB_FLUSH_ALL).
        let rhs_field = match &c.rhs_field {
            None => None,
            Some(name) => {
                let g = find_field(fmt, name)
                    .ok_or_else(|| format!("no field `{name}` for condition"))?;
                if !numeric(g) {
                    return Err(format!("field `{name}` is not a number"));
                }
                Some((g.offset, g.size, g.flags.signed))
            }
        };
        let rhs = if !f.flags.signed && c.value < 0 {
            let mask = if f.size >= 8 {
                u64::MAX
            } else {
                (1u64 << (8 * f.size)) - 1
            };
            i128::from((c.value as i64 as u64) & mask)
        } else {
            c.value
        };
        local.push(CCond {
            off: f.offset,
            size: f.size,
            signed: f.flags.signed,
            op: c.op,
            rhs,
            rhs_field,
        });
    }
    let defs = role_args(rule.role);
    let mut args = [CVal::Absent; MAX_ARGS];
    for (slot, v) in &rule.args {
        let d = defs[*slot];
        args[*slot] = match v {
            Value::Const(c) => CVal::Const(*c),
            Value::Current => CVal::Current,
            Value::Loaded => CVal::Loaded,
            Value::Switched => CVal::Switched,
            Value::Defer(k) => CVal::Defer(*k),
            Value::Field {
                name,
                mask,
                shift,
                add,
            } => {
                let f = find_field(fmt, name)
                    .ok_or_else(|| format!("no field `{name}` for `{}`", d.name))?;
                if d.ty == ArgType::Comm {
                    if !f.flags.array || f.flags.dynamic {
                        return Err(format!("field `{name}` is not a fixed char array"));
                    }
                    CVal::Bytes {
                        off: f.offset,
                        size: f.size,
                    }
                } else {
                    if !numeric(f) {
                        return Err(format!("field `{name}` is not a number"));
                    }
                    CVal::Num {
                        off: f.offset,
                        size: f.size,
                        signed: f.flags.signed,
                        mask: *mask,
                        shift: *shift,
                        add: *add,
                    }
                }
            }
        };
    }
    conds.extend(local);
    Ok(CRule {
        role: rule.role,
        conds: (start as u32, (conds.len() - start) as u32),
        binds: can_bind(rule.role, &args),
        args,
    })
}

impl CompiledProfile {
    /// The profile's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Per role (in [`RoleKind::ALL`] order): which trace events provide it.
    pub fn coverage(&self) -> &[RoleCoverage] {
        &self.coverage
    }

    /// Whether some event of the trace provides `role`.
    pub fn provides(&self, role: RoleKind) -> bool {
        !self.coverage[role.index()].events.is_empty()
    }

    /// Whether some event of the trace binds tasks to mms (a `task-mm` rule,
    /// a `task-switch` with `next_mm`, or an `mm-switch-requested` with an
    /// mm read from the record).
    pub fn provides_task_mm(&self) -> bool {
        self.task_mm
    }

    /// Whether some event of the trace tells which mm a CPU loaded: an mm
    /// read from the record, or the switched-in task's mm when a switch
    /// event carries it (x86 `tlb_flush` reason 0 after `mmctx:switch`).
    /// Without it INV-1 cannot fire.
    pub fn observes_loaded_mm(&self) -> bool {
        self.loads_observed
    }

    /// Rules that could not be compiled.
    pub fn warnings(&self) -> &[CompileWarning] {
        &self.warnings
    }

    /// The record's `common_pid`.
    #[inline]
    pub fn common_pid(&self, payload: &[u8]) -> Option<Pid> {
        let v = self
            .endian
            .read_uint(payload, self.pid_field.0, self.pid_field.1)?;
        Some(Pid(sign_extend(v, self.pid_field.1) as i32))
    }

    /// Classifies one record payload (starting with the common fields):
    /// calls `emit` once per role the record maps to, in rule order, and
    /// returns how many. Records of unmapped events, and records too short
    /// for a field a rule reads, give no role.
    #[inline]
    pub fn classify(&self, payload: &[u8], emit: impl FnMut(Pid, Role)) -> usize {
        self.classify_rules(payload, (&self.table, &self.rules), |_, _| false, emit)
    }

    /// [`CompiledProfile::classify`], for the rules that can bind a task to
    /// an mm only (what a first pass over a trace needs): every role from
    /// which a binding can be read is emitted, and records of other events,
    /// or of rules whose mm is not in the record, cost a table lookup. A
    /// rule whose tasks are all `known` (or unreadable, so that it builds no
    /// role) is passed over without building its role: a first pass wants
    /// each task's first binding only.
    #[inline]
    pub fn classify_bindings(
        &self,
        payload: &[u8],
        known: impl Fn(Pid) -> bool,
        emit: impl FnMut(Pid, Role),
    ) -> usize {
        self.classify_rules(
            payload,
            (&self.bind_table, &self.bind_rules),
            |r, common| self.tasks_known(r, payload, common, &known),
            emit,
        )
    }

    #[inline]
    fn classify_rules(
        &self,
        payload: &[u8],
        (table, rules): (&[(u32, u32)], &[CRule]),
        pass: impl Fn(&CRule, Pid) -> bool,
        mut emit: impl FnMut(Pid, Role),
    ) -> usize {
        let Some(id) = self
            .endian
            .read_uint(payload, self.type_field.0, self.type_field.1)
        else {
            return 0;
        };
        let Some(&(start, len)) = table.get(id as usize) else {
            return 0;
        };
        if len == 0 {
            return 0;
        }
        // `common_pid` is read once a rule applies (a first pass that wants
        // a few rules skips the others' records at the table lookup).
        let mut pid = None;
        let mut n = 0;
        let Some(rules) = rules.get(start as usize..(start + len) as usize) else {
            return 0;
        };
        for r in rules {
            if r.conds.1 != 0 && !self.conds_hold(r, payload) {
                continue;
            }
            let pid = match pid {
                Some(p) => p,
                None => {
                    let Some(p) = self.common_pid(payload) else {
                        return 0;
                    };
                    *pid.insert(p)
                }
            };
            if pass(r, pid) {
                continue;
            }
            if let Some(role) = self.build(r, payload, pid) {
                emit(pid, role);
                n += 1;
            }
        }
        n
    }

    /// Whether every task the role of binding rule `r` can bind in this
    /// record (those of its [`binding_args`] with an mm) is `known`; a task
    /// that does not read counts as known (the role would not build).
    #[inline]
    fn tasks_known(&self, r: &CRule, p: &[u8], common: Pid, known: impl Fn(Pid) -> bool) -> bool {
        let a = &r.args;
        binding_args(r.role)
            .iter()
            .filter(|&&(_, m)| mm_value(a[m]))
            .all(|&(t, _)| match a[t] {
                CVal::Absent => known(common),
                v => match self.num(v, p) {
                    Ok(Some(x)) => known(Pid(x as i32)),
                    _ => true,
                },
            })
    }

    fn conds_hold(&self, r: &CRule, payload: &[u8]) -> bool {
        let (s, l) = r.conds;
        let read = |off: usize, size: usize, signed: bool| {
            self.endian.read_uint(payload, off, size).map(|v| {
                if signed {
                    i128::from(sign_extend(v, size))
                } else {
                    i128::from(v)
                }
            })
        };
        self.conds[s as usize..(s + l) as usize].iter().all(|c| {
            let Some(lhs) = read(c.off, c.size, c.signed) else {
                return false;
            };
            let rhs = match c.rhs_field {
                None => Some(c.rhs),
                Some((off, size, signed)) => read(off, size, signed),
            };
            rhs.is_some_and(|rhs| c.op.holds(lhs, rhs))
        })
    }

    /// Reads a numeric argument. `Ok(None)` = absent, `Err` = unreadable.
    #[inline(always)]
    fn num(&self, v: CVal, p: &[u8]) -> Result<Option<u64>, ()> {
        match v {
            CVal::Num {
                off,
                size,
                signed,
                mask,
                shift,
                add,
            } => {
                let raw = self.endian.read_uint(p, off, size).ok_or(())?;
                let raw = if signed {
                    sign_extend(raw, size) as u64
                } else {
                    raw
                };
                Ok(Some(((raw & mask) >> shift).wrapping_add(add)))
            }
            CVal::Const(c) => Ok(Some(c)),
            _ => Ok(None),
        }
    }

    #[inline]
    fn pid_arg(&self, v: CVal, p: &[u8], common: Pid) -> Result<PidArg, ()> {
        match v {
            CVal::Current => Ok(PidArg::Current),
            CVal::Absent => Ok(PidArg::Value(common)),
            _ => Ok(PidArg::Value(Pid(self.num(v, p)?.ok_or(())? as i32))),
        }
    }

    #[inline]
    fn pid_req(&self, v: CVal, p: &[u8]) -> Result<Pid, ()> {
        Ok(Pid(self.num(v, p)?.ok_or(())? as i32))
    }

    #[inline]
    fn mm_arg(&self, v: CVal, p: &[u8]) -> Result<MmArg, ()> {
        match v {
            CVal::Current => Ok(MmArg::Current),
            CVal::Loaded => Ok(MmArg::Loaded),
            CVal::Switched => Ok(MmArg::Switched),
            CVal::Absent => Ok(MmArg::Paired),
            _ => Ok(MmArg::Value(Mm(self.num(v, p)?.ok_or(())?))),
        }
    }

    #[inline]
    fn plain_mm(&self, v: CVal, p: &[u8]) -> Result<Option<Mm>, ()> {
        Ok(self.num(v, p)?.map(Mm))
    }

    #[inline]
    fn flag(&self, v: CVal, p: &[u8]) -> Result<Option<bool>, ()> {
        Ok(self.num(v, p)?.map(|x| x != 0))
    }

    #[inline(always)]
    fn build(&self, r: &CRule, p: &[u8], common: Pid) -> Option<Role> {
        self.try_build(r, p, common).ok()
    }

    #[inline(always)]
    fn try_build(&self, r: &CRule, p: &[u8], common: Pid) -> Result<Role, ()> {
        let a = &r.args;
        Ok(match r.role {
            RoleKind::TaskSwitch => Role::TaskSwitch {
                prev_pid: self.pid_req(a[0], p)?,
                next_pid: self.pid_req(a[1], p)?,
                prev_mm: self.plain_mm(a[2], p)?,
                next_mm: self.plain_mm(a[3], p)?,
                prev_state: self.num(a[4], p)?.map(|v| v as i64),
                next_comm: match a[5] {
                    CVal::Bytes { off, size } => Some(Comm::from_bytes(
                        p.get(off..off.checked_add(size).ok_or(())?).ok_or(())?,
                    )),
                    _ => None,
                },
            },
            RoleKind::TaskMm => Role::TaskMm {
                pid: self.pid_req(a[0], p)?,
                mm: self.plain_mm(a[1], p)?.ok_or(())?,
            },
            RoleKind::MmSwitchRequested => Role::MmSwitchRequested {
                pid: self.pid_arg(a[0], p, common)?,
                prev_mm: self.plain_mm(a[1], p)?,
                next_mm: self.mm_arg(a[2], p)?,
                deferred: match a[3] {
                    CVal::Defer(k) => k,
                    _ => DeferKind::None,
                },
            },
            RoleKind::MmLoaded => Role::MmLoaded {
                mm: self.mm_arg(a[0], p)?,
                flushed: self.flag(a[1], p)?,
            },
            RoleKind::DeferredSwitchCompleted => Role::DeferredSwitchCompleted {
                pid: self.pid_arg(a[0], p, common)?,
                mm: self.mm_arg(a[1], p)?,
            },
            RoleKind::DeferredSwitchSkipped => Role::DeferredSwitchSkipped {
                pid: self.pid_arg(a[0], p, common)?,
                mm: self.mm_arg(a[1], p)?,
            },
            RoleKind::TlbFlushRequested => Role::TlbFlushRequested {
                mm: self.mm_arg(a[0], p)?,
                start: self.num(a[1], p)?.unwrap_or(0),
                end: self.num(a[2], p)?.unwrap_or(u64::MAX),
            },
            RoleKind::TlbFlushDeferred => Role::TlbFlushDeferred {
                mm: self.mm_arg(a[0], p)?,
            },
            RoleKind::TlbFlushBegin => Role::TlbFlushBegin {
                mm: self.mm_arg(a[0], p)?,
                all_cpus: self.flag(a[1], p)?.unwrap_or(false),
            },
            RoleKind::TlbFlushCompleted => Role::TlbFlushCompleted {
                mm: self.mm_arg(a[0], p)?,
                all_cpus: self.flag(a[1], p)?.unwrap_or(false),
            },
            RoleKind::PteUpdateBegin => Role::PteUpdateBegin {
                mm: self.mm_arg(a[0], p)?,
                addr: self.num(a[1], p)?.unwrap_or(0),
                lazy: self.flag(a[2], p)?.unwrap_or(false),
            },
            RoleKind::PteUpdateEnd => Role::PteUpdateEnd {
                mm: self.mm_arg(a[0], p)?,
                addr: self.num(a[1], p)?,
            },
            RoleKind::ReturnToUser => Role::ReturnToUser {
                pid: self.pid_arg(a[0], p, common)?,
            },
            RoleKind::KernelEntry => Role::KernelEntry {
                pid: self.pid_arg(a[0], p, common)?,
            },
        })
    }
}

#[inline]
fn sign_extend(v: u64, size: usize) -> i64 {
    match size {
        1 => i64::from(v as u8 as i8),
        2 => i64::from(v as u16 as i16),
        4 => i64::from(v as u32 as i32),
        _ => v as i64,
    }
}
