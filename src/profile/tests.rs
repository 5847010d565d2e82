//! Profile schema, validation, compilation and classification.

use super::*;
use crate::model::{Mm, MmArg, PidArg, Role};
use mmrace_parsers::Endian;
use mmrace_parsers::format::EventFormat;
use mmrace_parsers::types::Pid;

const COMMON: &str = "\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\
\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n\
\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n\
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n";

fn fmt(system: &str, name: &str, id: u32, fields: &str) -> EventFormat {
    let t = format!("name: {name}\nID: {id}\nformat:\n{COMMON}{fields}\nprint fmt: \"\"\n");
    EventFormat::parse(system, t.as_bytes(), 0).unwrap()
}

fn switch_mm_fmt() -> EventFormat {
    fmt(
        "mmctx",
        "switch_mm",
        77,
        "\tfield:int pid;\toffset:8;\tsize:4;\tsigned:1;\n\
         \tfield:u64 prev_mm;\toffset:16;\tsize:8;\tsigned:0;\n\
         \tfield:u64 next_mm;\toffset:24;\tsize:8;\tsigned:0;\n\
         \tfield:u32 deferred;\toffset:32;\tsize:4;\tsigned:0;\n",
    )
}

fn payload(e: Endian, id: u16, pid: i32, fields: &[(usize, usize, u64)]) -> Vec<u8> {
    let mut p = vec![0u8; 40];
    p[0..2].copy_from_slice(&e.u16_bytes(id));
    p[4..8].copy_from_slice(&e.u32_bytes(pid as u32));
    for &(off, size, v) in fields {
        let b = e.u64_bytes(v);
        let b = if e.is_big() {
            &b[8 - size..]
        } else {
            &b[..size]
        };
        p[off..off + size].copy_from_slice(b);
    }
    p
}

fn classify(c: &CompiledProfile, p: &[u8]) -> Vec<Role> {
    let mut v = Vec::new();
    c.classify(p, |_, r| v.push(r));
    v
}

#[test]
fn builtin_mmctx_parses_and_covers_every_event() {
    let p = Profile::builtin("mmctx").unwrap();
    assert_eq!(p.name, "mmctx");
    let events: std::collections::BTreeSet<String> =
        p.rules.iter().map(|r| r.event.to_string()).collect();
    for e in [
        "mmctx:switch",
        "mmctx:switch_mm",
        "mmctx:defer_check",
        "mmctx:load",
        "mmctx:flush_begin",
        "mmctx:flush_done",
        "mmctx:flush",
        "mmctx:pte_begin",
        "mmctx:pte_end",
        "mmctx:user",
        "sched:sched_switch",
        "raw_syscalls:sys_exit",
        "raw_syscalls:sys_enter",
    ] {
        assert!(events.contains(e), "{e}");
    }
    assert!(matches!(
        Profile::builtin("nope"),
        Err(ProfileError::UnknownBuiltin(_))
    ));
}

#[test]
fn switch_mm_deferral_maps_by_condition_in_both_byte_orders() {
    let p = Profile::builtin("mmctx").unwrap();
    for e in [Endian::Little, Endian::Big] {
        let c = p.compile(&[switch_mm_fmt()], e);
        let base = [(8, 4, 200), (16, 8, 0xa000), (24, 8, 0xb000)];
        let mut f = base.to_vec();
        f.push((32, 4, 0));
        let roles = classify(&c, &payload(e, 77, 100, &f));
        assert_eq!(
            roles,
            vec![
                Role::MmSwitchRequested {
                    pid: PidArg::Value(Pid(200)),
                    prev_mm: Some(Mm(0xa000)),
                    next_mm: MmArg::Value(Mm(0xb000)),
                    deferred: DeferKind::None
                },
                Role::MmLoaded {
                    mm: MmArg::Value(Mm(0xb000)),
                    flushed: None
                },
            ]
        );
        for (d, kind) in [(1, DeferKind::ThreadFlag), (2, DeferKind::MmFlag)] {
            let mut f = base.to_vec();
            f.push((32, 4, d));
            let roles = classify(&c, &payload(e, 77, 100, &f));
            assert!(
                matches!(roles.as_slice(), [Role::MmSwitchRequested { deferred, .. }] if *deferred == kind)
            );
        }
        // An unmapped id, a short payload and an unknown deferral give nothing.
        assert!(classify(&c, &payload(e, 78, 1, &[])).is_empty());
        assert!(classify(&c, &payload(e, 77, 1, &[])[..20]).is_empty());
        let mut f = base.to_vec();
        f.push((32, 4, 9));
        assert!(classify(&c, &payload(e, 77, 1, &f)).is_empty());
    }
}

#[test]
fn coverage_lists_missing_events_and_warns_on_missing_fields() {
    let p = Profile::builtin("mmctx").unwrap();
    // switch_mm without its `deferred` field: its rules are left out.
    let broken = fmt(
        "mmctx",
        "switch_mm",
        77,
        "\tfield:int pid;\toffset:8;\tsize:4;\tsigned:1;\n",
    );
    let c = p.compile(&[broken], Endian::Little);
    assert!(
        c.warnings()
            .iter()
            .any(|w| w.event == "mmctx:switch_mm" && w.detail.contains("deferred"))
    );
    assert!(!c.provides(RoleKind::MmSwitchRequested));
    let load = &c.coverage()[RoleKind::MmLoaded.index()];
    assert!(load.missing_events.contains(&"mmctx:load".to_string()));
    let c = p.compile(&[switch_mm_fmt()], Endian::Little);
    assert!(c.provides(RoleKind::MmLoaded) && c.provides_task_mm());
    assert_eq!(
        c.coverage()[RoleKind::MmLoaded.index()].events,
        vec!["mmctx:switch_mm".to_string()]
    );
}

#[test]
fn derived_mm_from_an_asce_and_kretprobe_end_without_mm() {
    let text = r#"
name = "s390-like"
[[rule]]
event = "kprobes:xchg_lazy"
role = "pte-update-begin"
args = { mm = { field = "asce", mask = "0xfffffffffffff000" }, addr = "addr", lazy = true }
[[rule]]
event = "kprobes:xchg_lazy_ret"
role = "pte-update-end"
[[rule]]
event = "kprobes:xchg_lazy_ret"
when = "flush_mm & 1"
role = "tlb-flush-deferred"
args = { mm = "@loaded" }
"#;
    let p = Profile::parse(text).unwrap();
    let begin = fmt(
        "kprobes",
        "xchg_lazy",
        10,
        "\tfield:unsigned long __probe_ip;\toffset:8;\tsize:8;\tsigned:0;\n\
         \tfield:u64 asce;\toffset:16;\tsize:8;\tsigned:0;\n\
         \tfield:u64 addr;\toffset:24;\tsize:8;\tsigned:0;\n",
    );
    let end = fmt(
        "kprobes",
        "xchg_lazy_ret",
        11,
        "\tfield:unsigned long __probe_func;\toffset:8;\tsize:8;\tsigned:0;\n\
         \tfield:unsigned long __probe_ret_ip;\toffset:16;\tsize:8;\tsigned:0;\n\
         \tfield:u32 flush_mm;\toffset:24;\tsize:4;\tsigned:0;\n",
    );
    let e = Endian::Big;
    let c = p.compile(&[begin, end], e);
    assert!(c.warnings().is_empty(), "{:?}", c.warnings());
    let roles = classify(
        &c,
        &payload(e, 10, 5, &[(16, 8, 0x1234_5007), (24, 8, 0x7f00)]),
    );
    assert_eq!(
        roles,
        vec![Role::PteUpdateBegin {
            mm: MmArg::Value(Mm(0x1234_5000)),
            addr: 0x7f00,
            lazy: true
        }]
    );
    let roles = classify(&c, &payload(e, 11, 5, &[(24, 4, 1)]));
    assert_eq!(
        roles,
        vec![
            Role::PteUpdateEnd {
                mm: MmArg::Paired,
                addr: None
            },
            Role::TlbFlushDeferred { mm: MmArg::Loaded }
        ]
    );
    assert_eq!(classify(&c, &payload(e, 11, 5, &[(24, 4, 2)])).len(), 1);
}

#[test]
fn conditions_parse_and_compare_by_signedness() {
    let c = Condition::parse("reason == 0").unwrap();
    assert_eq!((c.field.as_str(), c.op, c.value), ("reason", CmpOp::Eq, 0));
    assert_eq!(Condition::parse("pages==-1").unwrap().value, -1);
    assert_eq!(Condition::parse("flags !& 0x100").unwrap().op, CmpOp::NoBit);
    assert_eq!(Condition::parse("x >= 0xff").unwrap().value, 255);
    for bad in ["", "== 1", "x ~ 1", "x == 0xzz", "x == y z", "x == -y"] {
        assert!(Condition::parse(bad).is_none(), "{bad}");
    }
    let c = Condition::parse("lc_user_asce != cur_mm_asce").unwrap();
    assert_eq!(
        (c.field.as_str(), c.op, c.rhs_field.as_deref()),
        ("lc_user_asce", CmpOp::Ne, Some("cur_mm_asce"))
    );
    assert_eq!(Condition::parse("x == 1").unwrap().rhs_field, None);
    // `pages == -1` on an unsigned long and `reason < 0` on a signed int.
    let text = r#"
name = "t"
[[rule]]
event = "tlb:tlb_flush"
when = ["pages == -1", "reason >= 0"]
role = "mm-loaded"
args = { mm = "@current", flushed = true }
"#;
    let p = Profile::parse(text).unwrap();
    let f = fmt(
        "tlb",
        "tlb_flush",
        3,
        "\tfield:int reason;\toffset:8;\tsize:4;\tsigned:1;\n\
         \tfield:unsigned long pages;\toffset:16;\tsize:8;\tsigned:0;\n",
    );
    let c = p.compile(&[f], Endian::Little);
    let e = Endian::Little;
    assert_eq!(
        classify(&c, &payload(e, 3, 0, &[(8, 4, 0), (16, 8, u64::MAX)])).len(),
        1
    );
    assert_eq!(
        classify(&c, &payload(e, 3, 0, &[(8, 4, 0), (16, 8, 1)])).len(),
        0
    );
    assert_eq!(
        classify(
            &c,
            &payload(e, 3, 0, &[(8, 4, u64::from(u32::MAX)), (16, 8, u64::MAX)])
        )
        .len(),
        0
    );
}

#[test]
fn invalid_profiles_are_rejected_with_the_rule() {
    let cases = [
        ("name = 1", "toml"),
        (
            "name = \"x\"\n[[rule]]\nevent = \"a:b\"\nrole = \"teleport\"",
            "unknown role",
        ),
        (
            "name = \"x\"\n[[rule]]\nevent = \"a:b\"\nrole = \"mm-loaded\"\nargs = { mm = \"m\", asid = \"a\" }",
            "no argument",
        ),
        (
            "name = \"x\"\n[[rule]]\nevent = \"a:b\"\nrole = \"mm-loaded\"",
            "needs argument",
        ),
        (
            "name = \"x\"\n[[rule]]\nevent = \"ab\"\nrole = \"mm-loaded\"\nargs = { mm = \"m\" }",
            "bad event name",
        ),
        (
            "name = \"x\"\n[[rule]]\nevent = \"a:b\"\nwhen = \"m =! 1\"\nrole = \"mm-loaded\"\nargs = { mm = \"m\" }",
            "bad condition",
        ),
        (
            "name = \"x\"\n[[rule]]\nevent = \"a:b\"\nrole = \"task-mm\"\nargs = { pid = \"p\", mm = \"@loaded\" }",
            "not available",
        ),
        (
            "name = \"x\"\n[[rule]]\nevent = \"a:b\"\nrole = \"mm-switch-requested\"\nargs = { next_mm = \"m\", deferred = \"later\" }",
            "thread-flag",
        ),
        ("name = \"x\"\nbogus = 1", "toml"),
    ];
    for (text, want) in cases {
        let e = Profile::parse(text).unwrap_err().to_string();
        assert!(e.contains(want), "{text:?}: {e}");
    }
}

#[test]
fn builtin_selection_follows_the_trace_events() {
    let has_mmctx = |n: &EventName| n.system == "mmctx" && n.name == "load";
    assert_eq!(
        select_builtin(&has_mmctx, Some("s390x")).map(|p| p.name),
        Some("mmctx".to_string())
    );
    let none = |_: &EventName| false;
    assert!(select_builtin(&none, None).is_none());
    let sched_only = |n: &EventName| n.system == "sched";
    assert!(select_builtin(&sched_only, None).is_none());
    assert_eq!(
        EventName::parse("kprobes/cdsm").unwrap().to_string(),
        "kprobes:cdsm"
    );
    assert!(EventName::parse("a:b:c").is_none());
}

#[test]
fn field_against_field_conditions_compare_two_fields_of_the_record() {
    let text = r#"
name = "t"
[[rule]]
event = "kprobes:exit_to_user"
when = ["cur_mm != 0", "lc_user_asce != cur_mm_asce"]
role = "mm-loaded"
args = { mm = "lc_user_asce" }
[[rule]]
event = "kprobes:exit_to_user"
when = ["cur_mm != 0", "lc_user_asce == cur_mm_asce"]
role = "mm-loaded"
args = { mm = "cur_mm" }
"#;
    let p = Profile::parse(text).unwrap();
    let f = fmt(
        "kprobes",
        "exit_to_user",
        40,
        "\tfield:u64 lc_user_asce;\toffset:8;\tsize:8;\tsigned:0;\n\
         \tfield:u64 cur_mm;\toffset:16;\tsize:8;\tsigned:0;\n\
         \tfield:u64 cur_mm_asce;\toffset:24;\tsize:8;\tsigned:0;\n",
    );
    for e in [Endian::Little, Endian::Big] {
        let c = p.compile(std::slice::from_ref(&f), e);
        assert!(c.warnings().is_empty(), "{:?}", c.warnings());
        let same = payload(
            e,
            40,
            7,
            &[(8, 8, 0x31e41c7), (16, 8, 0x27c4400), (24, 8, 0x31e41c7)],
        );
        assert_eq!(
            classify(&c, &same),
            vec![Role::MmLoaded {
                mm: MmArg::Value(Mm(0x27c4400)),
                flushed: None
            }]
        );
        let other = payload(
            e,
            40,
            7,
            &[(8, 8, 0x33541c7), (16, 8, 0x27c4400), (24, 8, 0x31e41c7)],
        );
        assert_eq!(
            classify(&c, &other),
            vec![Role::MmLoaded {
                mm: MmArg::Value(Mm(0x33541c7)),
                flushed: None
            }]
        );
    }
    // A missing right-hand field leaves the rule out with a warning.
    let g = fmt(
        "kprobes",
        "exit_to_user",
        40,
        "\tfield:u64 lc_user_asce;\toffset:8;\tsize:8;\tsigned:0;\n\
         \tfield:u64 cur_mm;\toffset:16;\tsize:8;\tsigned:0;\n",
    );
    let c = p.compile(&[g], Endian::Little);
    assert_eq!(c.warnings().len(), 2);
}

#[test]
fn every_builtin_parses_and_compiles_without_unknown_roles() {
    for (name, text) in BUILTIN_TOML {
        let p = Profile::parse(text).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(p.name, name);
        assert!(!p.rules.is_empty());
    }
    assert_eq!(builtins().len(), BUILTIN_TOML.len());
}

#[test]
fn builtin_selection_by_events_and_machine() {
    let has = |names: &'static [&'static str]| {
        move |n: &EventName| names.contains(&n.to_string().as_str())
    };
    let pick = |names: &'static [&'static str], arch: Option<&str>| {
        select_builtin(&has(names), arch).map(|p| p.name)
    };
    // The machine decides between the arch profiles ...
    let common: &[&str] = &[
        "sched:sched_switch",
        "tlb:tlb_flush",
        "raw_syscalls:sys_exit",
    ];
    assert_eq!(pick(common, Some("x86_64")).as_deref(), Some("x86_64"));
    assert_eq!(pick(common, Some("aarch64")).as_deref(), Some("arm64"));
    assert_eq!(pick(common, Some("s390x")).as_deref(), Some("s390x"));
    // ... even when the trace lacks their key events (coverage says what to record) ...
    assert_eq!(
        pick(&["sched:sched_switch"], Some("s390x")).as_deref(),
        Some("s390x")
    );
    // ... and the events decide when the machine is unknown.
    let s390: &[&str] = &[
        "sched:sched_switch",
        "kprobes:exit_to_user",
        "tlb:tlb_flush",
    ];
    assert_eq!(pick(s390, None).as_deref(), Some("s390x"));
    let arm: &[&str] = &[
        "sched:sched_switch",
        "kprobes:cpu_switch_mm",
        "tlb:tlb_flush",
    ];
    assert_eq!(pick(arm, None).as_deref(), Some("arm64"));
    assert_eq!(pick(common, None).as_deref(), Some("x86_64"));
    // The canonical events win over the machine's profile.
    let mmctx: &[&str] = &["sched:sched_switch", "mmctx:switch", "mmctx:load"];
    assert_eq!(pick(mmctx, Some("s390x")).as_deref(), Some("mmctx"));
    // No sched_switch: nothing applies.
    assert_eq!(pick(&["tlb:tlb_flush"], Some("x86_64")), None);
}

/// The first pass reads only the rules that can bind: on every record of
/// the real fixtures, under every built-in profile, it must give exactly
/// the bindings the full classification gives, and skip the rest.
#[test]
fn classify_bindings_gives_every_binding_of_classify_on_the_fixtures() {
    use crate::replay::bindings;
    use mmrace_parsers::tracedat::{Item, TraceDat};
    let mut files = 0;
    let (mut bound, mut skipped) = (0u64, 0u64);
    for (path, data) in crate::testing::fixture_traces() {
        let Ok(trace) = TraceDat::parse(&data) else {
            continue;
        };
        files += 1;
        for p in builtins() {
            let c = p.compile(&trace.formats, trace.endian);
            for mut s in trace.all_cpu_records() {
                while let Some(it) = s.next_item() {
                    let Ok(Item::Record(r)) = it else { continue };
                    let (mut all, mut some) = (Vec::new(), Vec::new());
                    c.classify(r.payload, |_, role| {
                        bindings(&role, |pid, mm| all.push((pid, mm)));
                    });
                    let n = c.classify_bindings(
                        r.payload,
                        |_| false,
                        |_, role| {
                            bindings(&role, |pid, mm| some.push((pid, mm)));
                        },
                    );
                    assert_eq!(all, some, "{} under {}", path.display(), p.name);
                    if n > 0 {
                        bound += 1;
                    } else if !classify(&c, r.payload).is_empty() {
                        skipped += 1;
                    }
                }
            }
        }
    }
    assert!(files >= 20, "{files} fixtures");
    assert!(bound > 0 && skipped > 0, "{bound} bound, {skipped} skipped");
}
