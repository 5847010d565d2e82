//! A trace script: typed emitters for the generator's events, collected as
//! per-CPU (timestamp, payload) streams.

use std::collections::BTreeMap;

use mmrace_parsers::Endian;
use mmrace_parsers::format::EventFormat;
use mmrace_parsers::types::Pid;

use super::formats::{self, Payload};

/// A task of a scenario.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Task {
    pub pid: i32,
    pub comm: String,
    pub mm: u64,
}

impl Task {
    pub(crate) fn new(pid: i32, comm: &str, mm: u64) -> Task {
        Task {
            pid,
            comm: comm.to_string(),
            mm,
        }
    }

    /// The idle task of a CPU.
    pub(crate) fn idle(cpu: u32) -> Task {
        Task {
            pid: 0,
            comm: format!("swapper/{cpu}"),
            mm: 0,
        }
    }
}

/// `prev_state` of a preempted task (printed `R+`).
pub(crate) const PREEMPTED: i64 = 0x100;
/// `prev_state` of a sleeping task (`S`).
pub(crate) const SLEEPING: i64 = 1;

pub(crate) struct Script {
    pub endian: Endian,
    pub formats: Vec<(&'static str, String, EventFormat)>,
    pub cpus: BTreeMap<u32, Vec<(u64, Vec<u8>)>>,
    pub comms: BTreeMap<i32, String>,
}

impl Script {
    pub(crate) fn new(endian: Endian) -> Script {
        Script {
            endian,
            formats: formats::all(),
            cpus: BTreeMap::new(),
            comms: BTreeMap::new(),
        }
    }

    fn payload(&self, system: &str, name: &str, pid: i32) -> Option<Payload<'_>> {
        self.formats
            .iter()
            .find(|(s, _, f)| *s == system && f.name == name)
            .map(|(_, _, f)| Payload::new(f, self.endian, Pid(pid)))
    }

    fn push(&mut self, ts: u64, cpu: u32, p: Option<Vec<u8>>) {
        if let Some(p) = p {
            self.cpus.entry(cpu).or_default().push((ts, p));
        }
    }

    fn remember(&mut self, t: &Task) {
        if t.pid != 0 {
            self.comms.insert(t.pid, t.comm.clone());
        }
    }

    /// `sched:sched_switch` followed by `mmctx:switch` at the same time.
    pub(crate) fn switch(&mut self, ts: u64, cpu: u32, prev: &Task, prev_state: i64, next: &Task) {
        self.remember(prev);
        self.remember(next);
        let p = self.payload("sched", "sched_switch", prev.pid).map(|p| {
            p.str("prev_comm", &prev.comm)
                .num("prev_pid", prev.pid as u64)
                .num("prev_prio", 120)
                .num("prev_state", prev_state as u64)
                .str("next_comm", &next.comm)
                .num("next_pid", next.pid as u64)
                .num("next_prio", 120)
                .finish()
        });
        self.push(ts, cpu, p);
        let p = self.payload("mmctx", "switch", prev.pid).map(|p| {
            p.num("prev_pid", prev.pid as u64)
                .num("prev_mm", prev.mm)
                .num("next_pid", next.pid as u64)
                .num("next_mm", next.mm)
                .finish()
        });
        self.push(ts, cpu, p);
    }

    /// `mmctx:switch_mm` (emitted in switch_mm: `common_pid` is the previous task).
    #[allow(clippy::too_many_arguments)] // one argument per event field
    pub(crate) fn switch_mm(
        &mut self,
        ts: u64,
        cpu: u32,
        common: i32,
        pid: i32,
        prev_mm: u64,
        next_mm: u64,
        deferred: u32,
    ) {
        let p = self.payload("mmctx", "switch_mm", common).map(|p| {
            p.num("pid", pid as u64)
                .num("prev_mm", prev_mm)
                .num("next_mm", next_mm)
                .num("deferred", u64::from(deferred))
                .finish()
        });
        self.push(ts, cpu, p);
    }

    pub(crate) fn defer_check(&mut self, ts: u64, cpu: u32, pid: i32, mm: u64, pending: u32) {
        let p = self.payload("mmctx", "defer_check", pid).map(|p| {
            p.num("pid", pid as u64)
                .num("mm", mm)
                .num("pending", u64::from(pending))
                .finish()
        });
        self.push(ts, cpu, p);
    }

    pub(crate) fn load(&mut self, ts: u64, cpu: u32, common: i32, mm: u64) {
        let p = self
            .payload("mmctx", "load", common)
            .map(|p| p.num("mm", mm).finish());
        self.push(ts, cpu, p);
    }

    #[allow(clippy::too_many_arguments)] // one argument per event field
    pub(crate) fn flush(
        &mut self,
        ts: u64,
        cpu: u32,
        common: i32,
        mm: u64,
        start: u64,
        end: u64,
        lazy: bool,
    ) {
        let p = self.payload("mmctx", "flush", common).map(|p| {
            p.num("mm", mm)
                .num("start", start)
                .num("end", end)
                .num("lazy", u64::from(lazy))
                .finish()
        });
        self.push(ts, cpu, p);
    }

    pub(crate) fn flush_begin(&mut self, ts: u64, cpu: u32, common: i32, mm: u64, all: bool) {
        let p = self
            .payload("mmctx", "flush_begin", common)
            .map(|p| p.num("mm", mm).num("all_cpus", u64::from(all)).finish());
        self.push(ts, cpu, p);
    }

    pub(crate) fn flush_done(&mut self, ts: u64, cpu: u32, common: i32, mm: u64, all: bool) {
        let p = self
            .payload("mmctx", "flush_done", common)
            .map(|p| p.num("mm", mm).num("all_cpus", u64::from(all)).finish());
        self.push(ts, cpu, p);
    }

    pub(crate) fn pte_begin(
        &mut self,
        ts: u64,
        cpu: u32,
        common: i32,
        mm: u64,
        addr: u64,
        lazy: bool,
    ) {
        let p = self.payload("mmctx", "pte_begin", common).map(|p| {
            p.num("mm", mm)
                .num("addr", addr)
                .num("lazy", u64::from(lazy))
                .finish()
        });
        self.push(ts, cpu, p);
    }

    pub(crate) fn pte_end(&mut self, ts: u64, cpu: u32, common: i32, mm: u64, addr: u64) {
        let p = self
            .payload("mmctx", "pte_end", common)
            .map(|p| p.num("mm", mm).num("addr", addr).finish());
        self.push(ts, cpu, p);
    }

    pub(crate) fn sys_exit(&mut self, ts: u64, cpu: u32, pid: i32) {
        let p = self
            .payload("raw_syscalls", "sys_exit", pid)
            .map(|p| p.num("id", 0).num("ret", 8).finish());
        self.push(ts, cpu, p);
    }

    pub(crate) fn sys_enter(&mut self, ts: u64, cpu: u32, pid: i32) {
        let p = self
            .payload("raw_syscalls", "sys_enter", pid)
            .map(|p| p.num("id", 0).num("args", 3).finish());
        self.push(ts, cpu, p);
    }

    /// `irq_handler_entry` at `ts`, `irq_handler_exit` at `ts + dur`.
    pub(crate) fn irq(&mut self, ts: u64, dur: u64, cpu: u32, pid: i32, irq: u32) {
        let p = self.payload("irq", "irq_handler_entry", pid).map(|p| {
            p.num("irq", u64::from(irq))
                .data_loc("name", format!("eth{irq}\0").as_bytes())
                .finish()
        });
        self.push(ts, cpu, p);
        let p = self
            .payload("irq", "irq_handler_exit", pid)
            .map(|p| p.num("irq", u64::from(irq)).num("ret", 1).finish());
        self.push(ts + dur, cpu, p);
    }

    pub(crate) fn wakeup(
        &mut self,
        ts: u64,
        cpu: u32,
        common: i32,
        target: &Task,
        target_cpu: u32,
    ) {
        self.remember(target);
        let p = self.payload("sched", "sched_wakeup", common).map(|p| {
            p.str("comm", &target.comm)
                .num("pid", target.pid as u64)
                .num("prio", 120)
                .num("target_cpu", u64::from(target_cpu))
                .finish()
        });
        self.push(ts, cpu, p);
    }

    /// x86 `tlb:tlb_flush` (reason: 0 switch, 1 remote, 2 local, 3 local mm, 4 ipi send).
    pub(crate) fn tlb_flush(&mut self, ts: u64, cpu: u32, common: i32, reason: i32, pages: u64) {
        let p = self.payload("tlb", "tlb_flush", common).map(|p| {
            p.num("reason", reason as u32 as u64)
                .num("pages", pages)
                .finish()
        });
        self.push(ts, cpu, p);
    }

    /// `ipi:ipi_send_cpumask` with a one-word cpumask.
    pub(crate) fn ipi_send_cpumask(&mut self, ts: u64, cpu: u32, common: i32, mask: u64) {
        let word = self.endian.u64_bytes(mask);
        let p = self.payload("ipi", "ipi_send_cpumask", common).map(|p| {
            p.data_loc("cpumask", &word)
                .num("callsite", 0xffff_ffff_8100_1000)
                .num("callback", 0xffff_ffff_8100_2000)
                .finish()
        });
        self.push(ts, cpu, p);
    }

    /// Sorts each CPU by time (stable: equal times keep emission order).
    pub(crate) fn sort(&mut self) {
        for v in self.cpus.values_mut() {
            v.sort_by_key(|(ts, _)| *ts);
        }
    }
}
