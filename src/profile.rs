//! Profiles: the mapping from raw trace events to semantic roles, as data.
//!
//! A profile is a TOML file (`--profile FILE`) or a built-in (chosen
//! automatically from the events in the trace, see [`select_builtin`]). It is
//! validated once ([`Profile::parse`]) and then *compiled* against the trace's
//! event formats ([`Profile::compile`]): event names become event ids, field
//! names become (offset, size, signedness). Classifying a record afterwards
//! is a table lookup on `common_type` and a few bounded reads, with no
//! allocation and no string comparison ([`CompiledProfile::classify`]).
//!
//! # Schema
//!
//! ```toml
//! name = "my-arm64"                      # required
//! description = "free text"
//!
//! [select]                               # automatic selection (built-ins)
//! any_of = ["kprobes:cdsm"]              # eligible if one of these events is in the trace
//! all_of = ["sched:sched_switch"]        # ... and all of these
//! arch = ["aarch64", "arm64"]            # ... and the trace's machine is one of these (empty: any)
//! priority = 50                          # highest eligible priority wins
//!
//! [[rule]]                               # one rule = one role produced by one event
//! event = "kprobes:cdsm"                 # "system:name" (or "system/name")
//! when = "mm != 0"                       # optional; a string or a list (all must hold)
//! role = "mm-loaded"                     # a role name, see below
//! args = { mm = "mm" }                   # role argument -> value
//! ```
//!
//! Conditions are `FIELD OP NUMBER` or `FIELD OP FIELD` with `OP` one of
//! `== != < <= > >=`, `&` (some bit of the mask set) or `!&` (no bit set);
//! numbers are decimal (optionally negative) or `0x` hex; the field's
//! `signed:` decides how it is compared, and a negative number against an
//! unsigned field means its bit pattern at the field's size (x86
//! `pages == -1` on `unsigned long`). Two fields compare as read (s390
//! `lc_user_asce != cur_mm_asce`).
//!
//! Argument values:
//! * `"name"`: the event field `name`, or a common field (`"common_pid"`);
//! * an integer or boolean constant;
//! * `"@current"`: the CPU's current task (pid) or its mm, resolved by the
//!   replay (x86 `tlb_flush` reason 0 loads the next task's mm);
//! * `"@loaded"`: the mm the CPU has loaded (x86 `tlb_flush` has no mm);
//! * `"@switched"` (for `mm-loaded`): the mm of the task the CPU's last
//!   task switch brought in, when nothing was loaded since that switch;
//!   otherwise the loaded mm becomes *unknown* (x86 `tlb_flush` reason 0 is
//!   also emitted by exec, `leave_mm` and temporary mms, whose mm the event
//!   does not tell);
//! * `{ field = "asce", mask = "0xfffffffffffff000", shift = 0, add = 0 }`:
//!   `((field & mask) >> shift) + add` (an mm derived from an s390 ASCE);
//! * for `deferred`: one of `"none"`, `"thread-flag"`, `"mm-flag"`, `"cpu-flag"`.
//!
//! Roles and their arguments (`*` = required):
//!
//! | role | arguments |
//! |---|---|
//! | `task-switch` | `prev_pid*`, `next_pid*`, `prev_mm`, `next_mm`, `prev_state`, `next_comm` |
//! | `task-mm` | `pid*`, `mm*` |
//! | `mm-switch-requested` | `pid` (default `common_pid`), `prev_mm`, `next_mm*`, `deferred` |
//! | `mm-loaded` | `mm*`, `flushed` |
//! | `deferred-switch-completed` | `pid`, `mm` (default: the pending deferral's) |
//! | `deferred-switch-skipped` | `pid`, `mm` |
//! | `tlb-flush-requested` | `mm*`, `start`, `end` |
//! | `tlb-flush-deferred` | `mm*` |
//! | `tlb-flush-begin` | `mm*`, `all_cpus` |
//! | `tlb-flush-completed` | `mm` (default: the innermost open begin's), `all_cpus` |
//! | `pte-update-begin` | `mm*`, `addr`, `lazy` |
//! | `pte-update-end` | `mm` (default: innermost open begin's: a kretprobe), `addr` |
//! | `return-to-user` | `pid` (default `common_pid`) |
//! | `kernel-entry` | `pid` (default `common_pid`) |
//!
//! A kprobe/kretprobe pair is two rules: the `p:` event maps to a `*-begin`
//! role with its fields, the `r:` event to the `*-end` role with no `mm`; the
//! replay pairs an end with the innermost open begin on its CPU.
//!
//! Built-ins (`src/profile/*.toml`, see [`BUILTIN_TOML`]): `mmctx` (the
//! canonical events), `s390x`, `arm64`, `x86_64` (the kprobes and
//! tracepoints of the recording recipes). The x86_64 one, for example, says
//! `event = "tlb:tlb_flush"`, `when = ["reason == 0", "pages == -1"]`,
//! `role = "mm-loaded"`, `args = { mm = "@switched", flushed = true }`.

mod compile;

use std::collections::BTreeMap;

use serde::Deserialize;

pub use compile::{CompileWarning, CompiledProfile, RoleCoverage};

use crate::model::{DeferKind, RoleKind};

/// The source text of the built-in `mmctx` profile.
pub const MMCTX_TOML: &str = include_str!("profile/mmctx.toml");
/// The source text of the built-in `s390x` profile.
pub const S390X_TOML: &str = include_str!("profile/s390x.toml");
/// The source text of the built-in `arm64` profile.
pub const ARM64_TOML: &str = include_str!("profile/arm64.toml");
/// The source text of the built-in `x86_64` profile.
pub const X86_64_TOML: &str = include_str!("profile/x86_64.toml");

/// Every built-in profile's source text, by name.
pub const BUILTIN_TOML: [(&str, &str); 4] = [
    ("mmctx", MMCTX_TOML),
    ("s390x", S390X_TOML),
    ("arm64", ARM64_TOML),
    ("x86_64", X86_64_TOML),
];

/// A profile could not be read or is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProfileError {
    /// The TOML did not parse or does not follow the schema.
    #[error("profile is not valid toml for the schema: {0}")]
    Toml(String),
    /// A rule names an unknown role.
    #[error("rule {rule} ({event}): unknown role `{role}`")]
    UnknownRole {
        /// Rule number (0-based).
        rule: usize,
        /// Its event.
        event: String,
        /// The role given.
        role: String,
    },
    /// A rule gives an argument the role does not have.
    #[error("rule {rule} ({event}): role `{role}` has no argument `{arg}`")]
    UnknownArgument {
        /// Rule number (0-based).
        rule: usize,
        /// Its event.
        event: String,
        /// Its role.
        role: &'static str,
        /// The argument given.
        arg: String,
    },
    /// A rule lacks a required argument.
    #[error("rule {rule} ({event}): role `{role}` needs argument `{arg}`")]
    MissingArgument {
        /// Rule number (0-based).
        rule: usize,
        /// Its event.
        event: String,
        /// Its role.
        role: &'static str,
        /// The missing argument.
        arg: &'static str,
    },
    /// An argument value does not fit the argument.
    #[error("rule {rule} ({event}): bad value for `{arg}`: {detail}")]
    BadValue {
        /// Rule number (0-based).
        rule: usize,
        /// Its event.
        event: String,
        /// The argument.
        arg: String,
        /// What is wrong.
        detail: String,
    },
    /// A `when` condition does not parse.
    #[error("rule {rule} ({event}): bad condition `{text}` (want `FIELD OP NUMBER`)")]
    BadCondition {
        /// Rule number (0-based).
        rule: usize,
        /// Its event.
        event: String,
        /// The condition text.
        text: String,
    },
    /// An event name is not `system:name`.
    #[error("rule {rule}: bad event name `{event}` (want `system:name`)")]
    BadEventName {
        /// Rule number (0-based).
        rule: usize,
        /// The name given.
        event: String,
    },
    /// No built-in profile has this name.
    #[error("no built-in profile named `{0}`")]
    UnknownBuiltin(String),
}

// ---------------------------------------------------------------------------
// The TOML schema (serde), validated into `Profile`.

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileSpec {
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    select: SelectSpec,
    #[serde(default, rename = "rule")]
    rules: Vec<RuleSpec>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SelectSpec {
    #[serde(default)]
    any_of: Vec<String>,
    #[serde(default)]
    all_of: Vec<String>,
    #[serde(default)]
    arch: Vec<String>,
    #[serde(default)]
    priority: i32,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleSpec {
    event: String,
    role: String,
    #[serde(default)]
    when: Option<OneOrMany>,
    #[serde(default)]
    args: BTreeMap<String, ValueSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum ValueSpec {
    Bool(bool),
    Int(i64),
    Text(String),
    Derived(DerivedSpec),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DerivedSpec {
    field: String,
    #[serde(default)]
    mask: Option<IntLit>,
    #[serde(default)]
    shift: u32,
    #[serde(default)]
    add: Option<IntLit>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum IntLit {
    Int(i64),
    Text(String),
}

// ---------------------------------------------------------------------------
// Validated profile.

/// `system:name` of an event.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventName {
    /// Event system (`mmctx`, `sched`, `kprobes`).
    pub system: String,
    /// Event name.
    pub name: String,
}

impl EventName {
    /// Parses `system:name` or `system/name`.
    pub fn parse(s: &str) -> Option<EventName> {
        let (sys, name) = s.split_once(':').or_else(|| s.split_once('/'))?;
        if sys.is_empty() || name.is_empty() || name.contains([':', '/']) {
            return None;
        }
        Some(EventName {
            system: sys.to_string(),
            name: name.to_string(),
        })
    }
}

impl std::fmt::Display for EventName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.system, self.name)
    }
}

/// When a built-in profile applies.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Selection {
    /// Eligible if at least one of these events is in the trace (empty: no constraint).
    pub any_of: Vec<EventName>,
    /// Eligible only if all of these are in the trace.
    pub all_of: Vec<EventName>,
    /// Machines (`uname -m`) it applies to (empty: any).
    pub arch: Vec<String>,
    /// Highest eligible priority wins.
    pub priority: i32,
}

/// Comparison operator of a condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `&`: some bit of the mask is set.
    AnyBit,
    /// `!&`: no bit of the mask is set.
    NoBit,
}

impl CmpOp {
    /// Applies the operator.
    pub fn holds(self, lhs: i128, rhs: i128) -> bool {
        match self {
            CmpOp::Eq => lhs == rhs,
            CmpOp::Ne => lhs != rhs,
            CmpOp::Lt => lhs < rhs,
            CmpOp::Le => lhs <= rhs,
            CmpOp::Gt => lhs > rhs,
            CmpOp::Ge => lhs >= rhs,
            CmpOp::AnyBit => lhs & rhs != 0,
            CmpOp::NoBit => lhs & rhs == 0,
        }
    }
}

/// A `when` condition: `field OP value` or `field OP other_field`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    /// Field (event or common) name.
    pub field: String,
    /// Operator.
    pub op: CmpOp,
    /// Right-hand side (when `rhs_field` is `None`).
    pub value: i128,
    /// Right-hand side field, compared with `field` (s390
    /// `lc_user_asce != cur_mm_asce`); both are compared as read, each
    /// sign-extended when its format says `signed:1`.
    pub rhs_field: Option<String>,
}

impl Condition {
    /// Parses `FIELD OP NUMBER` or `FIELD OP FIELD`.
    pub fn parse(text: &str) -> Option<Condition> {
        let t = text.trim();
        let end = t.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))?;
        let field = &t[..end];
        if field.is_empty() {
            return None;
        }
        let rest = t[end..].trim_start();
        const OPS: [(&str, CmpOp); 8] = [
            ("==", CmpOp::Eq),
            ("!=", CmpOp::Ne),
            ("<=", CmpOp::Le),
            (">=", CmpOp::Ge),
            ("!&", CmpOp::NoBit),
            ("<", CmpOp::Lt),
            (">", CmpOp::Gt),
            ("&", CmpOp::AnyBit),
        ];
        let (op, rest) = OPS
            .iter()
            .find_map(|(s, op)| rest.strip_prefix(s).map(|r| (*op, r)))?;
        let rest = rest.trim();
        if rest.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') && is_ident(rest) {
            return Some(Condition {
                field: field.to_string(),
                op,
                value: 0,
                rhs_field: Some(rest.to_string()),
            });
        }
        let value = parse_int(rest)?;
        Some(Condition {
            field: field.to_string(),
            op,
            value,
            rhs_field: None,
        })
    }
}

fn parse_int(s: &str) -> Option<i128> {
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s),
    };
    let body = body.replace('_', "");
    let v = if let Some(h) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        u64::from_str_radix(h, 16).ok()? as i128
    } else {
        body.parse::<u64>().ok()? as i128
    };
    Some(if neg { -v } else { v })
}

/// A validated argument value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// `((field & mask) >> shift) + add`; a plain field has mask = all ones,
    /// shift 0, add 0.
    Field {
        /// Field name.
        name: String,
        /// Mask applied first.
        mask: u64,
        /// Right shift applied second.
        shift: u32,
        /// Added last (wrapping).
        add: u64,
    },
    /// An integer constant (bit pattern).
    Const(u64),
    /// `@current`.
    Current,
    /// `@loaded`.
    Loaded,
    /// `@switched`.
    Switched,
    /// A deferral kind constant.
    Defer(DeferKind),
}

/// One validated rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// Event it applies to.
    pub event: EventName,
    /// Conditions that must all hold.
    pub when: Vec<Condition>,
    /// Role produced.
    pub role: RoleKind,
    /// Argument values, by argument slot (see [`role_args`]).
    pub args: Vec<(usize, Value)>,
}

/// A validated profile (not yet bound to a trace).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    /// Name.
    pub name: String,
    /// Free text.
    pub description: String,
    /// Automatic selection.
    pub select: Selection,
    /// Rules, in file order (a record produces roles in this order).
    pub rules: Vec<Rule>,
}

/// Type of a role argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ArgType {
    /// A pid: field, constant or `@current`.
    Pid,
    /// An mm that may reference state: field, constant, `@current`, `@loaded`.
    Mm,
    /// An mm read from the record only.
    PlainMm,
    /// A number (field or constant).
    Num,
    /// A boolean: field (non-zero), constant.
    Bool,
    /// A comm string field.
    Comm,
    /// A deferral kind constant.
    Defer,
}

/// One argument of a role.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ArgDef {
    pub name: &'static str,
    pub ty: ArgType,
    pub required: bool,
}

const fn a(name: &'static str, ty: ArgType, required: bool) -> ArgDef {
    ArgDef { name, ty, required }
}

/// The arguments of each role, in slot order.
pub(crate) fn role_args(kind: RoleKind) -> &'static [ArgDef] {
    use ArgType::*;
    const TASK_SWITCH: &[ArgDef] = &[
        a("prev_pid", Pid, true),
        a("next_pid", Pid, true),
        a("prev_mm", PlainMm, false),
        a("next_mm", PlainMm, false),
        a("prev_state", Num, false),
        a("next_comm", Comm, false),
    ];
    const TASK_MM: &[ArgDef] = &[a("pid", Pid, true), a("mm", PlainMm, true)];
    const SWITCH_REQ: &[ArgDef] = &[
        a("pid", Pid, false),
        a("prev_mm", PlainMm, false),
        a("next_mm", Mm, true),
        a("deferred", Defer, false),
    ];
    const LOADED: &[ArgDef] = &[a("mm", Mm, true), a("flushed", Bool, false)];
    const DEFER_DONE: &[ArgDef] = &[a("pid", Pid, false), a("mm", Mm, false)];
    const FLUSH_REQ: &[ArgDef] = &[
        a("mm", Mm, true),
        a("start", Num, false),
        a("end", Num, false),
    ];
    const FLUSH_DEF: &[ArgDef] = &[a("mm", Mm, true)];
    const FLUSH_BEGIN: &[ArgDef] = &[a("mm", Mm, true), a("all_cpus", Bool, false)];
    const FLUSH_DONE: &[ArgDef] = &[a("mm", Mm, false), a("all_cpus", Bool, false)];
    const PTE_BEGIN: &[ArgDef] = &[
        a("mm", Mm, true),
        a("addr", Num, false),
        a("lazy", Bool, false),
    ];
    const PTE_END: &[ArgDef] = &[a("mm", Mm, false), a("addr", Num, false)];
    const USER: &[ArgDef] = &[a("pid", Pid, false)];
    match kind {
        RoleKind::TaskSwitch => TASK_SWITCH,
        RoleKind::TaskMm => TASK_MM,
        RoleKind::MmSwitchRequested => SWITCH_REQ,
        RoleKind::MmLoaded => LOADED,
        RoleKind::DeferredSwitchCompleted | RoleKind::DeferredSwitchSkipped => DEFER_DONE,
        RoleKind::TlbFlushRequested => FLUSH_REQ,
        RoleKind::TlbFlushDeferred => FLUSH_DEF,
        RoleKind::TlbFlushBegin => FLUSH_BEGIN,
        RoleKind::TlbFlushCompleted => FLUSH_DONE,
        RoleKind::PteUpdateBegin => PTE_BEGIN,
        RoleKind::PteUpdateEnd => PTE_END,
        RoleKind::ReturnToUser | RoleKind::KernelEntry => USER,
    }
}

/// Most argument slots of any role.
pub(crate) const MAX_ARGS: usize = 6;

impl Profile {
    /// Parses and validates a profile from TOML text.
    pub fn parse(text: &str) -> Result<Profile, ProfileError> {
        let spec: ProfileSpec =
            toml::from_str(text).map_err(|e| ProfileError::Toml(e.to_string()))?;
        let mut rules = Vec::with_capacity(spec.rules.len());
        for (i, r) in spec.rules.into_iter().enumerate() {
            rules.push(validate_rule(i, r)?);
        }
        let names = |v: Vec<String>| -> Result<Vec<EventName>, ProfileError> {
            v.into_iter()
                .map(|s| {
                    EventName::parse(&s).ok_or(ProfileError::BadEventName {
                        rule: usize::MAX,
                        event: s,
                    })
                })
                .collect()
        };
        Ok(Profile {
            name: spec.name,
            description: spec.description,
            select: Selection {
                any_of: names(spec.select.any_of)?,
                all_of: names(spec.select.all_of)?,
                arch: spec.select.arch,
                priority: spec.select.priority,
            },
            rules,
        })
    }

    /// The built-in profile `name`.
    pub fn builtin(name: &str) -> Result<Profile, ProfileError> {
        builtins()
            .into_iter()
            .find(|p| p.name == name)
            .ok_or_else(|| ProfileError::UnknownBuiltin(name.to_string()))
    }

    /// Whether this profile is eligible for a trace with these events and
    /// machine name: all `all_of` events present; the machine, when known,
    /// one of `arch` (if given); and one `any_of` event present, unless the
    /// known machine is one of `arch` (an arch profile then applies even to
    /// a trace that lacks its key events, so that its coverage table can say
    /// what to record).
    pub fn is_eligible(&self, has_event: &dyn Fn(&EventName) -> bool, arch: Option<&str>) -> bool {
        let s = &self.select;
        let arch_match = arch.is_some_and(|a| s.arch.iter().any(|x| x.eq_ignore_ascii_case(a)));
        let any = s.any_of.is_empty() || arch_match || s.any_of.iter().any(has_event);
        let all = s.all_of.iter().all(has_event);
        let arch_ok = s.arch.is_empty() || arch.is_none() || arch_match;
        any && all && arch_ok
    }
}

/// All built-in profiles: `mmctx`, `s390x`, `arm64`, `x86_64`.
pub fn builtins() -> Vec<Profile> {
    // The built-in texts are part of the binary and covered by tests; a
    // failure here would be a build defect, so it is skipped rather than
    // panicking.
    BUILTIN_TOML
        .iter()
        .filter_map(|(_, t)| Profile::parse(t).ok())
        .collect()
}

/// Picks the built-in profile for a trace: the eligible one with the highest
/// priority (ties by name). `has_event` tells whether the trace has a format
/// for an event; `arch` is the traced machine (`uname -m`) when known.
pub fn select_builtin(
    has_event: &dyn Fn(&EventName) -> bool,
    arch: Option<&str>,
) -> Option<Profile> {
    let mut best: Option<Profile> = None;
    for p in builtins() {
        if !p.is_eligible(has_event, arch) {
            continue;
        }
        let better = match &best {
            None => true,
            Some(b) => {
                (p.select.priority, std::cmp::Reverse(&p.name))
                    > (b.select.priority, std::cmp::Reverse(&b.name))
            }
        };
        if better {
            best = Some(p);
        }
    }
    best
}

fn validate_rule(i: usize, r: RuleSpec) -> Result<Rule, ProfileError> {
    let event = EventName::parse(&r.event).ok_or_else(|| ProfileError::BadEventName {
        rule: i,
        event: r.event.clone(),
    })?;
    let role = RoleKind::from_name(&r.role).ok_or_else(|| ProfileError::UnknownRole {
        rule: i,
        event: r.event.clone(),
        role: r.role.clone(),
    })?;
    let texts = match r.when {
        None => Vec::new(),
        Some(OneOrMany::One(s)) => vec![s],
        Some(OneOrMany::Many(v)) => v,
    };
    let mut when = Vec::with_capacity(texts.len());
    for t in texts {
        when.push(
            Condition::parse(&t).ok_or_else(|| ProfileError::BadCondition {
                rule: i,
                event: r.event.clone(),
                text: t.clone(),
            })?,
        );
    }
    let defs = role_args(role);
    for k in r.args.keys() {
        if !defs.iter().any(|d| d.name == k) {
            return Err(ProfileError::UnknownArgument {
                rule: i,
                event: r.event.clone(),
                role: role.name(),
                arg: k.clone(),
            });
        }
    }
    let mut args = Vec::new();
    for (slot, d) in defs.iter().enumerate() {
        match r.args.get(d.name) {
            None if d.required => {
                return Err(ProfileError::MissingArgument {
                    rule: i,
                    event: r.event.clone(),
                    role: role.name(),
                    arg: d.name,
                });
            }
            None => {}
            Some(v) => {
                let bad = |detail: &str| ProfileError::BadValue {
                    rule: i,
                    event: r.event.clone(),
                    arg: d.name.to_string(),
                    detail: detail.to_string(),
                };
                args.push((slot, validate_value(d.ty, v).map_err(|e| bad(&e))?));
            }
        }
    }
    Ok(Rule {
        event,
        when,
        role,
        args,
    })
}

fn int_lit(l: &Option<IntLit>, default: u64) -> Result<u64, String> {
    match l {
        None => Ok(default),
        Some(IntLit::Int(v)) => Ok(*v as u64),
        Some(IntLit::Text(s)) => parse_int(s)
            .map(|v| v as u64)
            .ok_or_else(|| format!("`{s}` is not a number")),
    }
}

fn is_ident(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn validate_value(ty: ArgType, v: &ValueSpec) -> Result<Value, String> {
    let field = |name: &str| Value::Field {
        name: name.to_string(),
        mask: u64::MAX,
        shift: 0,
        add: 0,
    };
    match (ty, v) {
        (ArgType::Defer, ValueSpec::Text(s)) => DeferKind::from_name(s)
            .map(Value::Defer)
            .ok_or_else(|| format!("`{s}` is not none, thread-flag, mm-flag or cpu-flag")),
        (ArgType::Defer, _) => Err("want one of none, thread-flag, mm-flag, cpu-flag".into()),
        (ArgType::Pid | ArgType::Mm, ValueSpec::Text(s)) if s == "@current" => Ok(Value::Current),
        (ArgType::Mm, ValueSpec::Text(s)) if s == "@loaded" => Ok(Value::Loaded),
        (ArgType::Mm, ValueSpec::Text(s)) if s == "@switched" => Ok(Value::Switched),
        (_, ValueSpec::Text(s)) if s.starts_with('@') => {
            Err(format!("`{s}` is not available for this argument"))
        }
        (ArgType::Comm, ValueSpec::Text(s)) if is_ident(s) => Ok(field(s)),
        (ArgType::Comm, _) => Err("want a string field name".into()),
        (_, ValueSpec::Text(s)) if is_ident(s) => Ok(field(s)),
        (_, ValueSpec::Text(s)) => Err(format!("`{s}` is not a field name")),
        (ArgType::Bool, ValueSpec::Bool(b)) => Ok(Value::Const(u64::from(*b))),
        (_, ValueSpec::Bool(_)) => Err("a boolean is only valid for flags".into()),
        (_, ValueSpec::Int(i)) => Ok(Value::Const(*i as u64)),
        (_, ValueSpec::Derived(d)) => {
            if !is_ident(&d.field) {
                return Err(format!("`{}` is not a field name", d.field));
            }
            if d.shift >= 64 {
                return Err("shift must be below 64".into());
            }
            Ok(Value::Field {
                name: d.field.clone(),
                mask: int_lit(&d.mask, u64::MAX)?,
                shift: d.shift,
                add: int_lit(&d.add, 0)?,
            })
        }
    }
}

#[cfg(test)]
mod tests;
