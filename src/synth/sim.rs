//! A small simulator of the mmctx protocol: random schedules (switches with
//! and without deferral, same-mm preemptions, user returns, syscalls, irqs,
//! flushes with their shootdowns, lazy PTE updates) on several CPUs.
//!
//! In the fixed protocol every deferral completes on the CPU that needs it.
//! With `drop = Some(k)`, the k-th same-mm preemption loses its per-thread
//! deferral (scenario A). The simulator tracks the true hardware state and
//! returns, as an oracle independent of the analyser, the INV-1 and INV-1a
//! windows a correct analyser must report.
//!
//! Used for `--noise` (fixed, on CPUs of its own) and by property tests.

use std::collections::BTreeMap;

use super::script::{PREEMPTED, SLEEPING, Script, Task};

/// One step of a schedule; the `u8`s pick CPUs and tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Switch to another task (bit 7: defer the mm switch with a per-thread flag).
    Switch(u8, u8),
    /// The current task returns to user space.
    User(u8),
    /// The current task enters the kernel.
    Enter(u8),
    /// An interrupt.
    Irq(u8),
    /// The current task flushes its mm (shootdown of every CPU using it).
    Flush(u8),
    /// A PTE update of the current task's mm (lazy when only this CPU uses it).
    Pte(u8),
    /// Scenario A shape: switch to thread B1 of another mm with a per-thread
    /// deferral, get preempted by sibling B2 before the completion, return to user.
    DeferPreempt(u8, u8),
    /// Wake up a task on another CPU.
    Wakeup(u8, u8),
}

/// Simulation parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimConfig {
    /// CPUs to run on.
    pub cpus: Vec<u32>,
    /// Number of mms (each with `threads` threads).
    pub mms: u32,
    /// Threads per mm (at least 2 for same-mm preemptions).
    pub threads: u32,
    /// First pid.
    pub pid_base: i32,
    /// First mm value.
    pub mm_base: u64,
    /// Start time (ns).
    pub t0: u64,
    /// Time between two events (ns).
    pub step: u64,
    /// Which same-mm preemption loses its deferral (`None`: fixed protocol).
    pub drop: Option<usize>,
}

/// What the analyser must report for a simulated schedule.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expected {
    /// INV-1: (cpu, pid, window start ns, window end ns or None = end of trace).
    pub inv1: Vec<(u32, i32, u64, Option<u64>)>,
    /// INV-1a: (cpu, pid, request ns, return-to-user ns).
    pub inv1a: Vec<(u32, i32, u64, u64)>,
    /// Number of same-mm preemptions realised.
    pub preemptions: usize,
}

#[derive(Clone)]
struct CpuSim {
    cpu: u32,
    cur: Option<usize>,
    hw: Option<u64>,
    active: u64,
    in_user: bool,
    open: Option<usize>,
}

struct Sim<'a> {
    cfg: &'a SimConfig,
    sc: &'a mut Script,
    tasks: Vec<Task>,
    cpus: Vec<CpuSim>,
    t: u64,
    exp: Expected,
}

/// Runs `ops` under `cfg`, writing the events into `sc`.
pub(crate) fn simulate(sc: &mut Script, cfg: &SimConfig, ops: &[Op]) -> Expected {
    let mut tasks = Vec::new();
    for k in 0..cfg.mms {
        for j in 0..cfg.threads {
            tasks.push(Task::new(
                cfg.pid_base + (k * 10 + j) as i32,
                &format!("w{k}"),
                cfg.mm_base + u64::from(k) * 0x1000,
            ));
        }
    }
    for (i, _) in cfg.cpus.iter().enumerate() {
        tasks.push(Task::new(
            cfg.pid_base + 900 + i as i32,
            &format!("kworker/{i}"),
            0,
        ));
    }
    let cpus = cfg
        .cpus
        .iter()
        .map(|&cpu| CpuSim {
            cpu,
            cur: None,
            hw: None,
            active: 0,
            in_user: false,
            open: None,
        })
        .collect();
    let mut s = Sim {
        cfg,
        sc,
        tasks,
        cpus,
        t: cfg.t0,
        exp: Expected::default(),
    };
    for op in ops {
        s.op(*op);
    }
    s.exp
}

impl Sim<'_> {
    fn tick(&mut self) -> u64 {
        self.t += self.cfg.step;
        self.t
    }

    fn ci(&self, x: u8) -> usize {
        x as usize % self.cpus.len()
    }

    fn cur_task(&self, c: usize) -> Task {
        match self.cpus[c].cur {
            Some(i) => self.tasks[i].clone(),
            None => Task::idle(self.cpus[c].cpu),
        }
    }

    fn running_elsewhere(&self, c: usize, t: usize) -> bool {
        self.cpus
            .iter()
            .enumerate()
            .any(|(i, x)| i != c && x.cur == Some(t))
    }

    fn close_open(&mut self, c: usize, ts: u64) {
        if let Some(i) = self.cpus[c].open.take() {
            self.exp.inv1[i].3 = Some(ts);
        }
    }

    fn set_hw(&mut self, c: usize, mm: u64, ts: u64) {
        self.close_open(c, ts);
        self.cpus[c].hw = Some(mm);
    }

    fn enter(&mut self, c: usize) {
        if self.cpus[c].in_user {
            let ts = self.tick();
            let pid = self.cur_task(c).pid;
            self.sc.sys_enter(ts, self.cpus[c].cpu, pid);
            self.cpus[c].in_user = false;
        }
    }

    fn user(&mut self, c: usize) {
        let Some(i) = self.cpus[c].cur else { return };
        let t = self.tasks[i].clone();
        if t.mm == 0 || self.cpus[c].in_user {
            return;
        }
        let ts = self.tick();
        self.sc.sys_exit(ts, self.cpus[c].cpu, t.pid);
        self.cpus[c].in_user = true;
        if self.cpus[c].open.is_none() && self.cpus[c].hw.is_some_and(|h| h != t.mm) {
            self.exp.inv1.push((self.cpus[c].cpu, t.pid, ts, None));
            self.cpus[c].open = Some(self.exp.inv1.len() - 1);
        }
    }

    /// Context switch to task `n`; `defer`: per-thread deferral when the mm changes.
    fn switch_to(&mut self, c: usize, n: usize, defer: bool, state: i64) {
        self.enter(c);
        let prev = self.cur_task(c);
        let next = self.tasks[n].clone();
        let cpu = self.cpus[c].cpu;
        let ts = self.tick();
        self.sc.switch(ts, cpu, &prev, state, &next);
        self.close_open(c, ts);
        self.cpus[c].cur = Some(n);
        if next.mm == 0 || next.mm == self.cpus[c].active {
            return; // lazy TLB, or prev == next: no switch_mm
        }
        let ts = self.tick();
        let old = self.cpus[c].active;
        self.sc
            .switch_mm(ts, cpu, prev.pid, next.pid, old, next.mm, u32::from(defer));
        self.cpus[c].active = next.mm;
        if !defer {
            self.set_hw(c, next.mm, ts);
            return;
        }
        let ts = self.tick();
        self.sc.defer_check(ts, cpu, next.pid, next.mm, 1);
        self.sc.load(ts, cpu, next.pid, next.mm);
        self.set_hw(c, next.mm, ts);
    }

    fn op(&mut self, op: Op) {
        match op {
            Op::Switch(x, y) => {
                let c = self.ci(x);
                let cands: Vec<usize> = (0..self.tasks.len())
                    .filter(|&t| Some(t) != self.cpus[c].cur && !self.running_elsewhere(c, t))
                    .filter(|&t| {
                        self.tasks[t].mm != 0
                            || self.tasks[t].pid == self.cfg.pid_base + 900 + c as i32
                    })
                    .collect();
                if cands.is_empty() {
                    return;
                }
                let n = cands[(y & 0x7f) as usize % cands.len()];
                self.switch_to(c, n, y & 0x80 != 0, SLEEPING);
            }
            Op::User(x) => {
                let c = self.ci(x);
                self.user(c);
            }
            Op::Enter(x) => {
                let c = self.ci(x);
                self.enter(c);
            }
            Op::Irq(x) => {
                let c = self.ci(x);
                let ts = self.tick();
                let pid = self.cur_task(c).pid;
                self.sc.irq(
                    ts,
                    self.cfg.step / 2,
                    self.cpus[c].cpu,
                    pid,
                    30 + u32::from(x % 4),
                );
                self.tick();
            }
            Op::Wakeup(x, y) => {
                let c = self.ci(x);
                let target = self.tasks[y as usize % self.tasks.len()].clone();
                let ts = self.tick();
                let pid = self.cur_task(c).pid;
                let tc = self.cpus[self.ci(y)].cpu;
                self.sc.wakeup(ts, self.cpus[c].cpu, pid, &target, tc);
            }
            Op::Flush(x) => {
                let c = self.ci(x);
                let t = self.cur_task(c);
                if t.mm == 0 {
                    return;
                }
                self.enter(c);
                let ts = self.tick();
                let cpu = self.cpus[c].cpu;
                self.sc.flush(ts, cpu, t.pid, t.mm, 0x1000, 0x2000, false);
                for o in 0..self.cpus.len() {
                    if o != c && (self.cpus[o].hw == Some(t.mm) || self.cpus[o].active == t.mm) {
                        let ts = self.tick();
                        let pid = self.cur_task(o).pid;
                        self.sc.flush_done(ts, self.cpus[o].cpu, pid, t.mm, false);
                    }
                }
                let ts = self.tick();
                self.sc.flush_done(ts, cpu, t.pid, t.mm, false);
            }
            Op::Pte(x) => {
                let c = self.ci(x);
                let t = self.cur_task(c);
                if t.mm == 0 {
                    return;
                }
                self.enter(c);
                let cpu = self.cpus[c].cpu;
                let alone = (0..self.cpus.len()).all(|o| {
                    o == c || (self.cpus[o].hw != Some(t.mm) && self.cpus[o].active != t.mm)
                });
                let addr = 0x7f00_0000_0000 + u64::from(x) * 0x1000;
                let ts = self.tick();
                self.sc.pte_begin(ts, cpu, t.pid, t.mm, addr, alone);
                let ts = self.tick();
                if alone {
                    self.sc
                        .flush(ts, cpu, t.pid, t.mm, addr, addr + 0x1000, true);
                    self.sc.pte_end(ts, cpu, t.pid, t.mm, addr);
                    let ts = self.tick();
                    self.sc.flush_done(ts, cpu, t.pid, t.mm, false);
                } else {
                    self.sc.pte_end(ts, cpu, t.pid, t.mm, addr);
                    self.sc.flush_done(ts, cpu, t.pid, t.mm, true);
                }
            }
            Op::DeferPreempt(x, y) => self.defer_preempt(self.ci(x), y),
        }
    }

    fn defer_preempt(&mut self, c: usize, y: u8) {
        let active = self.cpus[c].active;
        // mms other than the active one with two threads free to run here.
        let mut by_mm: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
        for t in 0..self.tasks.len() {
            let m = self.tasks[t].mm;
            if m != 0 && m != active && Some(t) != self.cpus[c].cur && !self.running_elsewhere(c, t)
            {
                by_mm.entry(m).or_default().push(t);
            }
        }
        let choices: Vec<&Vec<usize>> = by_mm.values().filter(|v| v.len() >= 2).collect();
        if choices.is_empty() {
            return;
        }
        let pair = choices[y as usize % choices.len()];
        let (b1, b2) = (pair[0], pair[1]);
        let k = self.exp.preemptions;
        self.exp.preemptions += 1;
        let dropped = self.cfg.drop == Some(k);

        self.enter(c);
        let cpu = self.cpus[c].cpu;
        let prev = self.cur_task(c);
        let t1 = self.tasks[b1].clone();
        let t2 = self.tasks[b2].clone();
        let ts = self.tick();
        self.sc.switch(ts, cpu, &prev, SLEEPING, &t1);
        self.close_open(c, ts);
        self.cpus[c].cur = Some(b1);
        let req = self.tick();
        self.sc
            .switch_mm(req, cpu, prev.pid, t1.pid, active, t1.mm, 1);
        self.cpus[c].active = t1.mm;
        let ts = self.tick();
        self.sc.irq(ts, self.cfg.step / 2, cpu, t1.pid, 9);
        let ts = self.tick();
        self.sc.switch(ts, cpu, &t1, PREEMPTED, &t2);
        self.close_open(c, ts);
        self.cpus[c].cur = Some(b2);
        let ts = self.tick();
        if dropped {
            self.sc.defer_check(ts, cpu, t2.pid, t2.mm, 0);
        } else {
            self.sc.defer_check(ts, cpu, t2.pid, t2.mm, 1);
            self.sc.load(ts, cpu, t2.pid, t2.mm);
            self.set_hw(c, t2.mm, ts);
        }
        self.user(c);
        if dropped {
            self.exp.inv1a.push((cpu, t2.pid, req, self.t));
        }
    }
}
