//! The analysis on every real trace.dat under `fixtures/{x86_64,arm64,s390x}`
//! (v6, v7, zstd, zlib, multi-buffer, truncated): no finding, the built-in
//! profile of the machine, a coverage table true to the events each file
//! holds (role counts equal to trace-cmd's own per-event counts), parallel
//! replay equal to sequential; and one `exit_to_user` of a real s390x trace
//! patched to another live mm's ASCE gives exactly one INV-1 at that event.

use mmrace::analysis::{Analysis, AnalyzeOptions, analyze, analyze_with_info};
use mmrace::finding::Invariant;
use mmrace::model::RoleKind;
use mmrace_parsers::tracedat::{Item, TraceDat};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

fn dat_files(arch: &str) -> Vec<PathBuf> {
    let dir = fixtures().join(arch);
    let mut v: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "dat"))
        .collect();
    v.sort();
    v
}

/// trace-cmd's per-event counts (`F.counts.txt`), instance prefixes removed.
fn oracle_counts(p: &Path) -> BTreeMap<String, u64> {
    let mut o = p.to_path_buf().into_os_string();
    o.push(".counts.txt");
    let text = std::fs::read_to_string(PathBuf::from(o)).unwrap();
    let mut m = BTreeMap::new();
    for line in text.lines() {
        if line.starts_with("# events per cpu") {
            break;
        }
        let mut it = line.split_whitespace();
        if let (Some(n), Some(name)) = (it.next(), it.next())
            && let Ok(n) = n.parse::<u64>()
        {
            let name = name.rsplit(':').next().unwrap_or(name).to_string();
            *m.entry(name).or_insert(0) += n;
        }
    }
    m
}

/// Analyses on rayon's global pool (`parallel`) or on a pool of one thread.
fn analyse(data: &[u8], parallel: bool) -> Analysis {
    let t = TraceDat::parse(data).unwrap();
    let o = AnalyzeOptions::default();
    if parallel {
        return analyze(&t, None, &o).unwrap();
    }
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    one.install(|| analyze(&t, None, &o)).unwrap()
}

fn role(a: &Analysis, r: RoleKind) -> u64 {
    a.stats.roles.get(&r).copied().unwrap_or(0)
}

fn checkable(a: &Analysis, inv: Invariant) -> bool {
    a.coverage
        .invariants
        .iter()
        .find(|c| c.invariant == inv)
        .unwrap()
        .checkable
}

fn record_hint(a: &Analysis, inv: Invariant) -> String {
    let c = a
        .coverage
        .invariants
        .iter()
        .find(|c| c.invariant == inv)
        .unwrap();
    assert!(
        !c.record.is_empty(),
        "{inv:?} unchecked but nothing to record"
    );
    c.record.join(" | ")
}

/// Checks everything common to all fixtures; returns the analysis.
fn common(p: &Path, profile: &str) -> (Analysis, BTreeMap<String, u64>) {
    let data = std::fs::read(p).unwrap();
    let t = TraceDat::parse(&data).unwrap();
    let (a, info) = analyze_with_info(&t, None, &AnalyzeOptions::default()).unwrap();
    let name = p.display();
    assert_eq!(a.profile, profile, "{name}");
    assert!(a.findings.is_empty(), "{name}: {:#?}", a.findings);
    assert_eq!(a.coverage.profile, profile);
    assert!(a.coverage.lost.is_empty(), "{name}: no fixture lost events");
    // The file facts a report prints.
    assert_eq!(info.cpu_count, 2, "{name}");
    assert!(info.first_ts <= info.last_ts && info.first_ts.is_some());
    assert_eq!(info.events, a.stats.records);
    // Parallel replay equals the single-threaded one.
    let seq = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap()
        .install(|| analyse(&data, false));
    assert_eq!(seq, a, "{name}: sequential != parallel");
    let counts = if name.to_string().contains("truncated") {
        BTreeMap::new()
    } else {
        let c = oracle_counts(p);
        assert_eq!(a.stats.records, c.values().sum::<u64>(), "{name}: records");
        assert_eq!(
            role(&a, RoleKind::TaskSwitch),
            c["sched_switch"],
            "{name}: one task switch per sched_switch"
        );
        c
    };
    (a, counts)
}

fn n(c: &BTreeMap<String, u64>, k: &str) -> u64 {
    c.get(k).copied().unwrap_or(0)
}

#[test]
fn s390x_fixtures_are_clean_and_check_inv1_from_the_observed_asce() {
    let files = dat_files("s390x");
    assert_eq!(files.len(), 4);
    for p in files {
        let (a, c) = common(&p, "s390x");
        let name = p.display().to_string();
        if name.contains("full-") {
            assert!(checkable(&a, Invariant::WrongMmAtUserReturn), "{name}");
            let loads = &a.coverage.roles[RoleKind::MmLoaded.index()];
            assert_eq!(
                loads.events,
                ["kprobes:finish_task_switch_ret", "kprobes:exit_to_user"]
            );
            // Every exit_to_user of a task with an mm is one observed load.
            assert!(role(&a, RoleKind::MmLoaded) >= n(&c, "finish_task_switch_ret"));
            assert!(
                role(&a, RoleKind::MmLoaded)
                    <= n(&c, "finish_task_switch_ret") + n(&c, "exit_to_user")
            );
            assert_eq!(
                role(&a, RoleKind::ReturnToUser),
                n(&c, "exit_to_user") + n(&c, "sys_exit")
            );
            assert_eq!(
                role(&a, RoleKind::TlbFlushRequested),
                n(&c, "ptep_xchg_direct")
            );
            assert_eq!(
                role(&a, RoleKind::TlbFlushCompleted),
                n(&c, "ptep_xchg_direct")
            );
            assert!(checkable(&a, Invariant::FlushOwedAtUserReturn));
        } else {
            // function-tracer files: only sched_switch is mapped.
            assert!(!checkable(&a, Invariant::WrongMmAtUserReturn));
            assert!(
                record_hint(&a, Invariant::WrongMmAtUserReturn).contains("kprobes:exit_to_user")
            );
            assert_eq!(role(&a, RoleKind::ReturnToUser), 0);
        }
        // No lazy-PTE window or deferred flush is observable with these probes.
        for inv in [
            Invariant::LostThreadDeferral,
            Invariant::MmDeferralConsumedElsewhere,
            Invariant::AttachDuringLazyPteUpdate,
            Invariant::LostLazyFlush,
        ] {
            assert!(!checkable(&a, inv), "{name} {inv:?}");
            record_hint(&a, inv);
        }
        assert!(record_hint(&a, Invariant::AttachDuringLazyPteUpdate).contains("ptep_xchg_lazy"));
    }
}

#[test]
fn arm64_fixtures_are_clean_and_observe_every_ttbr_write() {
    let files = dat_files("arm64");
    assert_eq!(files.len(), 6);
    for p in files {
        let (a, c) = common(&p, "arm64");
        let name = p.display().to_string();
        if name.contains("func-") {
            assert!(!checkable(&a, Invariant::WrongMmAtUserReturn));
            assert!(
                record_hint(&a, Invariant::WrongMmAtUserReturn).contains("kprobes:cpu_switch_mm")
            );
            continue;
        }
        for inv in [
            Invariant::WrongMmAtUserReturn,
            Invariant::LostThreadDeferral,
            Invariant::FlushOwedAtUserReturn,
        ] {
            assert!(checkable(&a, inv), "{name} {inv:?}");
        }
        for inv in [
            Invariant::MmDeferralConsumedElsewhere,
            Invariant::AttachDuringLazyPteUpdate,
            Invariant::LostLazyFlush,
        ] {
            assert!(!checkable(&a, inv), "{name} {inv:?}");
            record_hint(&a, inv);
        }
        assert_eq!(role(&a, RoleKind::MmLoaded), n(&c, "cpu_switch_mm"));
        assert_eq!(role(&a, RoleKind::MmSwitchRequested), n(&c, "mm_switch"));
        assert_eq!(
            role(&a, RoleKind::ReturnToUser),
            n(&c, "sys_exit") + n(&c, "notify_resume") + n(&c, "user_enter")
        );
        assert_eq!(role(&a, RoleKind::KernelEntry), n(&c, "user_exit"));
        assert_eq!(
            role(&a, RoleKind::TlbFlushRequested),
            n(&c, "tlb_finish_mmu") + n(&c, "tlb_flush_mmu")
        );
        let nohz = name.contains("nohz");
        let ret = &a.coverage.roles[RoleKind::ReturnToUser.index()];
        assert_eq!(
            ret.events
                .iter()
                .any(|e| e == "context_tracking:user_enter"),
            nohz,
            "{name}"
        );
    }
}

#[test]
fn x86_64_fixtures_are_clean_in_every_variant() {
    let files = dat_files("x86_64");
    assert_eq!(files.len(), 10);
    for p in files {
        let (a, c) = common(&p, "x86_64");
        let name = p.display().to_string();
        // tlb:tlb_flush carries no mm and no switch event carries the next
        // task's mm: INV-1 is unchecked, and the table says what to record.
        assert!(!checkable(&a, Invariant::WrongMmAtUserReturn), "{name}");
        assert!(record_hint(&a, Invariant::WrongMmAtUserReturn).contains("mmctx:switch"));
        assert!(checkable(&a, Invariant::FlushOwedAtUserReturn), "{name}");
        if c.is_empty() {
            continue; // truncated: no oracle counts
        }
        assert_eq!(role(&a, RoleKind::ReturnToUser), n(&c, "sys_exit"));
        assert_eq!(role(&a, RoleKind::KernelEntry), n(&c, "page_fault_user"));
        // mmap_lock_* bind tasks to mms, sched_process_exit unbinds them.
        assert_eq!(
            role(&a, RoleKind::TaskMm),
            n(&c, "mmap_lock_start_locking")
                + n(&c, "mmap_lock_acquire_returned")
                + n(&c, "mmap_lock_released")
                + n(&c, "sched_process_exit")
        );
        // Every tlb_flush maps to one role except reason 2 (never seen).
        assert_eq!(
            role(&a, RoleKind::MmLoaded)
                + role(&a, RoleKind::TlbFlushRequested)
                + role(&a, RoleKind::TlbFlushCompleted),
            n(&c, "tlb_flush"),
            "{name}"
        );
    }
}

/// One `kprobes:exit_to_user` record: (merged index, ts, cpu, payload offset
/// in the file, cur_pid, cur_mm, cur_mm_asce).
type ExitRec = (u64, u64, u32, usize, i32, u64, u64);

/// Finds the `kprobes:exit_to_user` records and the offset of `lc_user_asce`
/// in their payload.
fn exit_to_user_records(data: &[u8]) -> (usize, Vec<ExitRec>) {
    let t = TraceDat::parse(data).unwrap();
    let f = t.format_by_name("kprobes", "exit_to_user").unwrap();
    let field = |n: &str| f.field(n).unwrap().offset;
    let (lc, pid, mm, asce) = (
        field("lc_user_asce"),
        field("cur_pid"),
        field("cur_mm"),
        field("cur_mm_asce"),
    );
    let mut out = Vec::new();
    let mut merged = t.merged_records();
    let mut index = 0u64;
    while let Some(item) = merged.next_item() {
        if let Ok(Item::Record(r)) = item {
            if t.record_event_id(r.payload) == Some(f.id) {
                let e = t.endian;
                let off = r.payload.as_ptr() as usize - data.as_ptr() as usize;
                out.push((
                    index,
                    r.ts.0,
                    r.cpu.0,
                    off,
                    e.read_u32(r.payload, pid).unwrap() as i32,
                    e.read_u64(r.payload, mm).unwrap(),
                    e.read_u64(r.payload, asce).unwrap(),
                ));
            }
            index += 1;
        }
    }
    (lc, out)
}

#[test]
fn one_patched_exit_to_user_asce_gives_exactly_one_inv1_at_that_event() {
    let path = fixtures().join("s390x/full-v6.dat"); // uncompressed, big-endian
    let mut data = std::fs::read(&path).unwrap();
    let (lc, recs) = exit_to_user_records(&data);
    assert!(recs.len() > 10_000);
    // An exit_to_user in the middle of the trace, of a task with an mm ...
    let k = (recs.len() / 2..recs.len())
        .find(|&i| recs[i].5 != 0)
        .unwrap();
    let (index, ts, cpu, off, pid, mm, asce) = recs[k];
    // ... and the ASCE of another mm that is live around it.
    let other = recs[k.saturating_sub(2000)..(k + 2000).min(recs.len())]
        .iter()
        .find(|r| r.5 != 0 && r.5 != mm && r.6 != asce)
        .map(|r| r.6)
        .unwrap();
    // The field really holds the task's own ASCE before the patch.
    let field = off + lc;
    assert_eq!(&data[field..field + 8], &asce.to_be_bytes());
    assert!(analyse(&data, true).findings.is_empty());
    data[field..field + 8].copy_from_slice(&other.to_be_bytes());

    let a = analyse(&data, true);
    assert_eq!(a.findings.len(), 1, "{:#?}", a.findings);
    let f = &a.findings[0];
    assert_eq!(f.invariant, Invariant::WrongMmAtUserReturn);
    assert_eq!(f.code, "INV-1");
    assert_eq!(f.cpu.0, cpu);
    assert_eq!(f.window.start.ts.0, ts);
    assert_eq!(f.window.start.index.0, index);
    assert_eq!(f.window.start.cpu.0, cpu);
    assert_eq!(f.task.as_ref().map(|t| t.pid.0), Some(pid));
    assert_eq!(f.expected_mm.map(|m| m.0), Some(mm));
    // The loaded ASCE is not the task's: it is reported as the ASCE value.
    assert_eq!(f.loaded_mm.map(|m| m.0), Some(other));
    assert_eq!(
        f.confidence,
        mmrace::finding::Confidence::Observed,
        "{:?}",
        f.suspect_reasons
    );
    // The window closes at the CPU's next observed load (or switch).
    let end = f.window.end.expect("closed before the end of the trace");
    assert!(end.index.0 > index && end.cpu.0 == cpu);
    assert_eq!(f.cause_chain.last().map(|c| c.at.index.0), Some(index));
    // Parallel equals sequential on the patched file too.
    assert_eq!(analyse(&data, false), a);
}
