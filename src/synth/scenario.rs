//! The scenario scripts of race-model.md §4, in their buggy and fixed
//! variants. Times are ns: the document's `1000.002` is `1_000_002_000`.

use super::script::{PREEMPTED, SLEEPING, Script, Task};
use super::{Scenario, Variant};

/// The CPUs a scenario uses.
pub(crate) fn cpus(s: Scenario) -> &'static [u32] {
    match s {
        Scenario::A => &[1],
        Scenario::B => &[1, 2],
        Scenario::L => &[0, 1],
        Scenario::L2 => &[0, 2],
        Scenario::X => &[0, 1],
    }
}

/// First and last timestamps of a scenario (for noise placement).
pub(crate) fn span(s: Scenario) -> (u64, u64) {
    match s {
        Scenario::A => (999_000_000, 1_000_050_000),
        Scenario::B => (1_999_000_000, 2_000_040_000),
        Scenario::L => (2_999_000_000, 3_000_040_000),
        Scenario::L2 => (3_099_000_000, 3_100_020_000),
        Scenario::X => (3_999_000_000, 4_000_020_000),
    }
}

pub(crate) fn write(s: Scenario, v: Variant, sc: &mut Script) {
    let fixed = v == Variant::Fixed;
    match s {
        Scenario::A => a(sc, fixed),
        Scenario::B => b(sc, fixed),
        Scenario::L => l(sc, fixed),
        Scenario::L2 => l2(sc, fixed),
        Scenario::X => x(sc, fixed),
    }
}

/// 4.1: lost per-thread deferral.
fn a(sc: &mut Script, fixed: bool) {
    let ta = Task::new(100, "a", 0xa000);
    let b1 = Task::new(200, "b", 0xb000);
    let b2 = Task::new(201, "b", 0xb000);
    let c = 1;
    sc.switch(999_000_000, c, &Task::idle(c), 0, &ta);
    sc.switch_mm(999_000_100, c, 0, ta.pid, 0, ta.mm, 0);
    sc.sys_exit(999_100_000, c, ta.pid);
    sc.sys_enter(999_900_000, c, ta.pid);

    sc.switch(1_000_000_000, c, &ta, SLEEPING, &b1);
    sc.switch_mm(1_000_002_000, c, ta.pid, b1.pid, ta.mm, b1.mm, 1);
    sc.irq(1_000_004_000, 2_000, c, b1.pid, 4);
    sc.switch(1_000_007_000, c, &b1, PREEMPTED, &b2);
    if fixed {
        sc.defer_check(1_000_008_000, c, b2.pid, b2.mm, 1);
        sc.load(1_000_008_000, c, b2.pid, b2.mm);
    } else {
        sc.defer_check(1_000_008_000, c, b2.pid, b2.mm, 0);
    }
    sc.sys_exit(1_000_020_000, c, b2.pid);
    sc.sys_enter(1_000_030_000, c, b2.pid);
    sc.switch(1_000_040_000, c, &b2, SLEEPING, &ta);
    sc.switch_mm(1_000_041_000, c, b2.pid, ta.pid, b2.mm, ta.mm, 0);
    sc.sys_exit(1_000_050_000, c, ta.pid);
}

/// 4.2: per-mm deferral flag on SMP.
fn b(sc: &mut Script, fixed: bool) {
    let x = Task::new(300, "x", 0xc000);
    let y = Task::new(400, "y", 0xd000);
    let b1 = Task::new(200, "b", 0xb000);
    let b2 = Task::new(201, "b", 0xb000);
    for (c, t, d) in [(1, &x, 0), (2, &y, 500)] {
        sc.switch(1_999_000_000 + d, c, &Task::idle(c), 0, t);
        sc.switch_mm(1_999_000_100 + d, c, 0, t.pid, 0, t.mm, 0);
        sc.sys_exit(1_999_100_000 + d, c, t.pid);
        sc.sys_enter(1_999_900_000 + d, c, t.pid);
    }
    sc.switch(2_000_000_000, 1, &x, SLEEPING, &b1);
    sc.switch_mm(2_000_001_000, 1, x.pid, b1.pid, x.mm, b1.mm, 2);
    sc.switch(2_000_002_000, 2, &y, SLEEPING, &b2);
    sc.switch_mm(2_000_003_000, 2, y.pid, b2.pid, y.mm, b2.mm, 2);
    sc.defer_check(2_000_004_000, 1, b1.pid, b1.mm, 1);
    sc.load(2_000_004_000, 1, b1.pid, b1.mm);
    if fixed {
        sc.defer_check(2_000_005_000, 2, b2.pid, b2.mm, 1);
        sc.load(2_000_005_000, 2, b2.pid, b2.mm);
    } else {
        sc.defer_check(2_000_005_000, 2, b2.pid, b2.mm, 0);
    }
    sc.sys_exit(2_000_010_000, 1, b1.pid);
    sc.sys_exit(2_000_011_000, 2, b2.pid);
    sc.sys_enter(2_000_020_000, 1, b1.pid);
    sc.sys_enter(2_000_020_000, 2, b2.pid);
    sc.switch(2_000_030_000, 2, &b2, SLEEPING, &y);
    sc.switch_mm(2_000_031_000, 2, b2.pid, y.pid, b2.mm, y.mm, 0);
    sc.sys_exit(2_000_040_000, 2, y.pid);
}

const ADDR: u64 = 0x7f00_0000_1000;

/// 4.3: s390 lazy flush vs. recreation of TLB entries.
fn l(sc: &mut Script, fixed: bool) {
    let t1 = Task::new(500, "t", 0xe000);
    let t2 = Task::new(501, "t", 0xe000);
    sc.switch(2_999_000_000, 0, &Task::idle(0), 0, &t1);
    sc.switch_mm(2_999_000_100, 0, 0, t1.pid, 0, t1.mm, 0);
    sc.sys_exit(2_999_100_000, 0, t1.pid);
    sc.sys_enter(2_999_900_000, 0, t1.pid);
    sc.load(2_999_000_500, 1, 0, 0);

    sc.pte_begin(3_000_000_000, 0, t1.pid, t1.mm, ADDR, true);
    sc.switch(3_000_002_000, 1, &Task::idle(1), 0, &t2);
    if fixed {
        sc.flush(3_000_010_000, 0, t1.pid, t1.mm, ADDR, ADDR + 0x1000, true);
        sc.pte_end(3_000_010_000, 0, t1.pid, t1.mm, ADDR);
        sc.load(3_000_011_000, 1, t2.pid, t2.mm);
        sc.flush_done(3_000_011_200, 1, t2.pid, t2.mm, true);
        sc.sys_exit(3_000_012_000, 1, t2.pid);
    } else {
        sc.load(3_000_003_000, 1, t2.pid, t2.mm);
        sc.flush_done(3_000_003_500, 1, t2.pid, t2.mm, true);
        sc.sys_exit(3_000_004_000, 1, t2.pid);
        sc.flush(3_000_010_000, 0, t1.pid, t1.mm, ADDR, ADDR + 0x1000, true);
        sc.pte_end(3_000_010_000, 0, t1.pid, t1.mm, ADDR);
    }
    sc.flush_begin(3_000_019_000, 0, t1.pid, t1.mm, true);
    sc.flush_done(3_000_020_000, 0, t1.pid, t1.mm, true);
    sc.sys_exit(3_000_030_000, 0, t1.pid);
    sc.sys_enter(3_000_040_000, 1, t2.pid);
}

/// 4.3 variant L2: a flush that began before a new lazy deferral clears it.
fn l2(sc: &mut Script, fixed: bool) {
    let t3 = Task::new(510, "t", 0xe000);
    let kw = Task::new(20, "kworker/0:1", 0);
    sc.switch(3_099_000_000, 2, &Task::idle(2), 0, &t3);
    sc.switch_mm(3_099_000_100, 2, 0, t3.pid, 0, t3.mm, 0);
    sc.sys_exit(3_099_100_000, 2, t3.pid);
    sc.sys_enter(3_099_900_000, 2, t3.pid);
    sc.switch(3_099_000_200, 0, &Task::idle(0), 0, &kw);

    sc.pte_begin(3_099_990_000, 2, t3.pid, t3.mm, ADDR, true);
    sc.flush(3_099_991_000, 2, t3.pid, t3.mm, ADDR, ADDR + 0x1000, true);
    sc.pte_end(3_099_991_000, 2, t3.pid, t3.mm, ADDR);
    sc.flush_begin(3_100_000_000, 0, kw.pid, t3.mm, true);
    sc.pte_begin(3_100_000_500, 2, t3.pid, t3.mm, ADDR + 0x1000, true);
    sc.flush(
        3_100_001_000,
        2,
        t3.pid,
        t3.mm,
        ADDR + 0x1000,
        ADDR + 0x2000,
        true,
    );
    sc.pte_end(3_100_001_000, 2, t3.pid, t3.mm, ADDR + 0x1000);
    sc.flush_done(3_100_002_000, 0, kw.pid, t3.mm, true);
    if fixed {
        sc.flush_begin(3_100_002_000, 0, kw.pid, t3.mm, true);
        sc.flush_done(3_100_003_000, 0, kw.pid, t3.mm, true);
    }
    sc.sys_exit(3_100_010_000, 2, t3.pid);
    sc.sys_enter(3_100_020_000, 2, t3.pid);
}

/// 4.4: x86 skipped flush IPI during switch (fea4e317 shape), with x86's
/// own `tlb:tlb_flush` and `ipi:ipi_send_cpumask` events.
fn x(sc: &mut Script, fixed: bool) {
    let t1 = Task::new(600, "t", 0xf000);
    let t2 = Task::new(601, "t", 0xf000);
    sc.switch(3_999_000_000, 0, &Task::idle(0), 0, &t1);
    sc.tlb_flush(3_999_000_100, 0, 0, 0, u64::MAX);
    sc.sys_exit(3_999_100_000, 0, t1.pid);
    sc.sys_enter(3_999_900_000, 0, t1.pid);

    sc.switch(4_000_000_000, 1, &Task::idle(1), 0, &t2);
    sc.tlb_flush(4_000_001_000, 1, 0, 0, 0);
    sc.flush(4_000_001_500, 0, t1.pid, t1.mm, ADDR, ADDR + 0x1000, false);
    sc.tlb_flush(4_000_001_500, 0, t1.pid, 4, 1);
    if fixed {
        sc.ipi_send_cpumask(4_000_001_600, 0, t1.pid, 0b10);
    }
    sc.tlb_flush(4_000_001_700, 0, t1.pid, 3, 1);
    if fixed {
        sc.tlb_flush(4_000_004_000, 1, t2.pid, 1, 1);
    }
    sc.sys_exit(4_000_010_000, 1, t2.pid);
    sc.sys_enter(4_000_020_000, 1, t2.pid);
}
