//! Big realistic traces for benchmarks: `mmrace synth --size 1GiB [--cpus N]
//! [--seed S] [--endian E] [--file-version V] [--compression C] -o F.dat`.
//!
//! A deterministic simulation of an x86_64 machine running a few
//! multi-threaded processes, recorded the way the x86_64 recipe records it:
//! the real tracepoint formats of `fixtures/x86_64/x86_64-v7.dat`
//! (`raw_syscalls:sys_exit`, `sched:*`, `exceptions:page_fault_user`,
//! `tlb:tlb_flush`, `mmap_lock:*`) plus the `mmctx:switch` and `mmctx:flush`
//! probes, so the built-in `x86_64` profile checks INV-1 and INV-2 on it. The
//! mix follows a real system: about 40% `sys_exit`, 17% `sched_switch`, 11%
//! wakeups, 10% page faults, 9% `tlb_flush`, the rest `mmap_lock` and
//! process events (fork, exec, exit, migrate), not counting the mmctx probes.
//! The simulated kernel is correct (every flush IPI reaches the CPUs running
//! the mm before they return to user), so the analysis finds nothing.
//!
//! Memory stays flat whatever the size: the writer streams one CPU at a
//! time, so the simulation runs once per CPU and keeps only that CPU's
//! records; the same seed gives the same run every time.

use std::collections::BTreeMap;
use std::io::{Seek, Write};

use mmrace_parsers::Endian;
use mmrace_parsers::format::EventFormat;
use mmrace_parsers::tracedat::writer::{
    self, FileVersion, TraceDatSpec, TraceDatWriter, WriterError,
};
use mmrace_parsers::types::{Cpu, Pid, Timestamp};

use super::formats::Payload;
use super::{SynthCompression, SynthError};

/// The real x86_64 tracepoint formats (see the file's header).
const X86_FORMATS: &str = include_str!("x86_64-events.formats");

/// Ring-buffer page size of the written files.
const PAGE_SIZE: u64 = 4096;
/// Data bytes of a page (after its 16-byte header, 8-byte longs).
const PAGE_DATA: u64 = PAGE_SIZE - 16;

/// Options of a bulk trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkOptions {
    /// Size of the CPU data to write, in bytes (the file is a few KiB more).
    pub size: u64,
    /// CPUs (at least 1).
    pub cpus: u32,
    /// Seed of the simulation.
    pub seed: u64,
    /// Byte order.
    pub endian: Endian,
    /// trace.dat version: 6 or 7.
    pub file_version: u32,
    /// Compression (version 7).
    pub compression: SynthCompression,
}

impl BulkOptions {
    /// `size` bytes over 2 CPUs, seed 1, little endian, version 7, no
    /// compression.
    pub fn new(size: u64) -> BulkOptions {
        BulkOptions {
            size,
            cpus: 2,
            seed: 1,
            endian: Endian::Little,
            file_version: 7,
            compression: SynthCompression::None,
        }
    }
}

/// What a bulk run wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BulkStats {
    /// Records written.
    pub events: u64,
    /// Records per `system:name`.
    pub per_event: BTreeMap<String, u64>,
    /// Records per CPU.
    pub per_cpu: BTreeMap<u32, u64>,
    /// Ring-buffer pages of CPU data (uncompressed).
    pub pages: u64,
}

/// Parses a size: a number with an optional `K`, `M`, `G` (powers of 1024,
/// `KiB`/`KB` spellings too) suffix.
pub fn parse_size(s: &str) -> Option<u64> {
    let t = s.trim();
    let split = t
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        _ => return None,
    };
    if num.contains('.') {
        let v: f64 = num.parse().ok()?;
        let b = v * mult as f64;
        (b.is_finite() && b >= 0.0 && b < u64::MAX as f64).then_some(b as u64)
    } else {
        num.parse::<u64>().ok()?.checked_mul(mult)
    }
}

// ---------------------------------------------------------------------------
// Formats.

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Kind {
    SysExit,
    Switch,
    Wakeup,
    PageFault,
    Tlb,
    LockStart,
    LockAcquired,
    LockReleased,
    Fork,
    Exec,
    Exit,
    Migrate,
    MmctxSwitch,
    MmctxFlush,
}

const KINDS: [(Kind, &str, &str); 14] = [
    (Kind::SysExit, "raw_syscalls", "sys_exit"),
    (Kind::Switch, "sched", "sched_switch"),
    (Kind::Wakeup, "sched", "sched_wakeup"),
    (Kind::PageFault, "exceptions", "page_fault_user"),
    (Kind::Tlb, "tlb", "tlb_flush"),
    (Kind::LockStart, "mmap_lock", "mmap_lock_start_locking"),
    (
        Kind::LockAcquired,
        "mmap_lock",
        "mmap_lock_acquire_returned",
    ),
    (Kind::LockReleased, "mmap_lock", "mmap_lock_released"),
    (Kind::Fork, "sched", "sched_process_fork"),
    (Kind::Exec, "sched", "sched_process_exec"),
    (Kind::Exit, "sched", "sched_process_exit"),
    (Kind::Migrate, "sched", "sched_migrate_task"),
    (Kind::MmctxSwitch, "mmctx", "switch"),
    (Kind::MmctxFlush, "mmctx", "flush"),
];

/// (system, format text) of every format written, and the parsed format of
/// each [`Kind`] (indexed by `Kind as usize`).
fn formats() -> (Vec<(String, String)>, Vec<EventFormat>) {
    let mut texts: Vec<(String, String)> = Vec::new();
    let mut sys = String::new();
    let mut cur = String::new();
    let flush = |sys: &str, cur: &mut String, texts: &mut Vec<(String, String)>| {
        if !cur.trim().is_empty() {
            texts.push((sys.to_string(), std::mem::take(cur)));
        }
        cur.clear();
    };
    for line in X86_FORMATS.lines() {
        if line.starts_with('#') {
            continue;
        }
        if let Some(s) = line.strip_prefix("== ") {
            flush(&sys, &mut cur, &mut texts);
            sys = s.trim().to_string();
            continue;
        }
        cur.push_str(line);
        cur.push('\n');
    }
    flush(&sys, &mut cur, &mut texts);
    for (s, t, _) in super::formats::all() {
        if s == "mmctx" && (t.starts_with("name: switch\n") || t.starts_with("name: flush\n")) {
            texts.push((s.to_string(), t));
        }
    }
    let parsed: Vec<EventFormat> = texts
        .iter()
        .filter_map(|(s, t)| EventFormat::parse(s, t.as_bytes(), 0).ok())
        .collect();
    let by_kind = KINDS
        .iter()
        .map(|(_, s, n)| {
            parsed
                .iter()
                .find(|f| f.system == *s && f.name == *n)
                .cloned()
                .unwrap_or_else(|| panic!("built-in format {s}:{n} missing"))
        })
        .collect();
    (texts, by_kind)
}

// ---------------------------------------------------------------------------
// The simulation.

/// splitmix64: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }
}

#[derive(Clone, Debug)]
struct Thread {
    pid: i32,
    proc_: usize,
    cpu: u32,
    alive: bool,
    prio: i32,
}

#[derive(Clone, Debug)]
struct Proc {
    mm: u64,
    comm: String,
    live: u32,
}

/// Who runs on a CPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Runner {
    Idle,
    Kworker,
    Task(usize),
}

#[derive(Clone, Debug)]
struct CpuSim {
    next: u64,
    cur: Runner,
    /// The user mm loaded in the MMU (0: none yet).
    loaded: u64,
    kworker: i32,
}

/// One record to emit: the CPU, and the payload fields.
enum Ev<'a> {
    SysExit {
        pid: i32,
        nr: u64,
        ret: u64,
    },
    Switch {
        prev: (i32, &'a str, i32, u64),
        next: (i32, &'a str, i32),
        prev_mm: u64,
        next_mm: u64,
    },
    Wakeup {
        pid: i32,
        comm: &'a str,
        prio: i32,
        target: u32,
        waker: i32,
    },
    PageFault {
        pid: i32,
        addr: u64,
        ip: u64,
        err: u64,
    },
    Tlb {
        pid: i32,
        reason: u64,
        pages: u64,
    },
    Lock {
        kind: Kind,
        pid: i32,
        mm: u64,
        write: bool,
    },
    Fork {
        pid: i32,
        comm: &'a str,
        child: i32,
    },
    Exec {
        pid: i32,
        file: &'a str,
    },
    Exit {
        pid: i32,
        comm: &'a str,
        prio: i32,
        group_dead: bool,
    },
    Migrate {
        pid: i32,
        comm: &'a str,
        prio: i32,
        from: u32,
        to: u32,
        by: i32,
    },
    Flush {
        pid: i32,
        mm: u64,
        start: u64,
        end: u64,
    },
}

impl Ev<'_> {
    fn kind(&self) -> Kind {
        match self {
            Ev::SysExit { .. } => Kind::SysExit,
            Ev::Switch { .. } => Kind::Switch,
            Ev::Wakeup { .. } => Kind::Wakeup,
            Ev::PageFault { .. } => Kind::PageFault,
            Ev::Tlb { .. } => Kind::Tlb,
            Ev::Lock { kind, .. } => *kind,
            Ev::Fork { .. } => Kind::Fork,
            Ev::Exec { .. } => Kind::Exec,
            Ev::Exit { .. } => Kind::Exit,
            Ev::Migrate { .. } => Kind::Migrate,
            Ev::Flush { .. } => Kind::MmctxFlush,
        }
    }
}

/// Where the simulation's records go: the payloads of one CPU to the
/// writer, and counts of all.
struct Sink<'w, W: Write + Seek> {
    keep: u32,
    endian: Endian,
    formats: &'w [EventFormat],
    writer: &'w mut TraceDatWriter<W>,
    fixed: Vec<u64>,
    counts: [u64; KINDS.len()],
    per_cpu: Vec<u64>,
    /// Per CPU: bytes used in the current ring-buffer page, pages started.
    page_fill: Vec<u64>,
    pages: Vec<u64>,
    err: Option<WriterError>,
}

impl<W: Write + Seek> Sink<'_, W> {
    fn payload(&self, ev: &Ev<'_>, kind: Kind) -> Vec<u8> {
        let f = &self.formats[kind as usize];
        let e = self.endian;
        let common_pid = |pid: i32| Pid(pid);
        match *ev {
            Ev::SysExit { pid, nr, ret } => Payload::new(f, e, common_pid(pid))
                .num("id", nr)
                .num("ret", ret)
                .finish(),
            Ev::Switch { prev, next, .. } => Payload::new(f, e, common_pid(prev.0))
                .str("prev_comm", prev.1)
                .num("prev_pid", prev.0 as u64)
                .num("prev_prio", prev.2 as u64)
                .num("prev_state", prev.3)
                .str("next_comm", next.1)
                .num("next_pid", next.0 as u64)
                .num("next_prio", next.2 as u64)
                .finish(),
            Ev::Wakeup {
                pid,
                comm,
                prio,
                target,
                waker,
            } => Payload::new(f, e, common_pid(waker))
                .str("comm", comm)
                .num("pid", pid as u64)
                .num("prio", prio as u64)
                .num("target_cpu", u64::from(target))
                .finish(),
            Ev::PageFault { pid, addr, ip, err } => Payload::new(f, e, common_pid(pid))
                .num("address", addr)
                .num("ip", ip)
                .num("error_code", err)
                .finish(),
            Ev::Tlb { pid, reason, pages } => Payload::new(f, e, common_pid(pid))
                .num("reason", reason)
                .num("pages", pages)
                .finish(),
            Ev::Lock { pid, mm, write, .. } => Payload::new(f, e, common_pid(pid))
                .num("mm", mm)
                .num("memcg_id", 1)
                .num("write", u64::from(write))
                .num("success", 1)
                .finish(),
            Ev::Fork { pid, comm, child } => Payload::new(f, e, common_pid(pid))
                .data_loc("parent_comm", &nul(comm))
                .num("parent_pid", pid as u64)
                .data_loc("child_comm", &nul(comm))
                .num("child_pid", child as u64)
                .finish(),
            Ev::Exec { pid, file } => Payload::new(f, e, common_pid(pid))
                .data_loc("filename", &nul(file))
                .num("pid", pid as u64)
                .num("old_pid", pid as u64)
                .finish(),
            Ev::Exit {
                pid,
                comm,
                prio,
                group_dead,
            } => Payload::new(f, e, common_pid(pid))
                .str("comm", comm)
                .num("pid", pid as u64)
                .num("prio", prio as u64)
                .num("group_dead", u64::from(group_dead))
                .finish(),
            Ev::Migrate {
                pid,
                comm,
                prio,
                from,
                to,
                by,
            } => Payload::new(f, e, common_pid(by))
                .str("comm", comm)
                .num("pid", pid as u64)
                .num("prio", prio as u64)
                .num("orig_cpu", u64::from(from))
                .num("dest_cpu", u64::from(to))
                .finish(),
            Ev::Flush {
                pid,
                mm,
                start,
                end,
            } => Payload::new(f, e, common_pid(pid))
                .num("mm", mm)
                .num("start", start)
                .num("end", end)
                .num("lazy", 0)
                .finish(),
        }
    }

    /// The length of a record of `kind` (header included), for page
    /// accounting without building payloads of other CPUs.
    fn record_len(&self, ev: &Ev<'_>, kind: Kind) -> u64 {
        let fixed = self.fixed[kind as usize];
        let dynamic: u64 = match *ev {
            Ev::Fork { comm, .. } => 2 * (comm.len() as u64 + 1),
            Ev::Exec { file, .. } => file.len() as u64 + 1,
            _ => 0,
        };
        let len = (fixed + dynamic).div_ceil(4) * 4;
        if len <= 112 { len + 4 } else { len + 8 }
    }

    fn emit(&mut self, cpu: u32, ts: u64, ev: Ev<'_>) {
        let kind = ev.kind();
        self.emit_kind(cpu, ts, &ev, kind);
        if let Ev::Switch {
            prev,
            next,
            prev_mm,
            next_mm,
        } = ev
        {
            // The mmctx:switch probe on the sched_switch tracepoint.
            let probe = ProbeSwitch {
                prev: prev.0,
                next: next.0,
                prev_mm,
                next_mm,
            };
            self.emit_probe(cpu, ts + 1, probe);
        }
    }

    fn account(&mut self, cpu: u32, len: u64, name: Kind) {
        let c = cpu as usize;
        if self.pages[c] == 0 || self.page_fill[c] + len > PAGE_DATA {
            self.pages[c] += 1;
            self.page_fill[c] = 0;
        }
        self.page_fill[c] += len;
        self.counts[name as usize] += 1;
        self.per_cpu[cpu as usize] += 1;
    }

    fn emit_kind(&mut self, cpu: u32, ts: u64, ev: &Ev<'_>, kind: Kind) {
        let len = self.record_len(ev, kind);
        self.account(cpu, len, kind);
        if cpu == self.keep && self.err.is_none() {
            let p = self.payload(ev, kind);
            if let Err(e) = self.writer.push(Timestamp(ts), &p) {
                self.err = Some(e);
            }
        }
    }

    fn emit_probe(&mut self, cpu: u32, ts: u64, p: ProbeSwitch) {
        let f = &self.formats[Kind::MmctxSwitch as usize];
        let len = 4 + self.fixed[Kind::MmctxSwitch as usize].div_ceil(4) * 4;
        self.account(cpu, len, Kind::MmctxSwitch);
        if cpu == self.keep && self.err.is_none() {
            let payload = Payload::new(f, self.endian, Pid(p.prev))
                .num("prev_pid", p.prev as u64)
                .num("prev_mm", p.prev_mm)
                .num("next_pid", p.next as u64)
                .num("next_mm", p.next_mm)
                .finish();
            if let Err(e) = self.writer.push(Timestamp(ts), &payload) {
                self.err = Some(e);
            }
        }
    }
}

#[derive(Clone, Copy)]
struct ProbeSwitch {
    prev: i32,
    next: i32,
    prev_mm: u64,
    next_mm: u64,
}

fn nul(s: &str) -> Vec<u8> {
    let mut v = s.as_bytes().to_vec();
    v.push(0);
    v
}

const PROCS: usize = 8;
const MIN_THREADS: usize = 12;
const MAX_THREADS: usize = 48;
const T0: u64 = 1_000_000_000;
/// Timestamps of one simulated step (a group of records) are this far apart.
const TICK: u64 = 2;

struct Sim {
    rng: Rng,
    cpus: Vec<CpuSim>,
    threads: Vec<Thread>,
    procs: Vec<Proc>,
    next_pid: i32,
    next_mm: u64,
    /// The last timestamp given out, on any CPU: every step's records come
    /// after it, so records of different CPUs never tie and a step's
    /// records are never interleaved with another CPU's.
    now: u64,
}

impl Sim {
    fn new(seed: u64, ncpus: u32) -> Sim {
        let mut rng = Rng(seed ^ 0x6d6d_7261_6365);
        let mut procs = Vec::new();
        let mut threads = Vec::new();
        let mut next_pid = 1000;
        let mut next_mm = 0xffff_8881_0000_0000u64;
        for p in 0..PROCS {
            procs.push(Proc {
                mm: next_mm,
                comm: format!("worker{p}"),
                live: 0,
            });
            next_mm += 0x1_0000;
            let n = 1 + rng.below(4) as usize;
            for _ in 0..n {
                threads.push(Thread {
                    pid: next_pid,
                    proc_: p,
                    cpu: rng.below(u64::from(ncpus)) as u32,
                    alive: true,
                    prio: 120,
                });
                procs[p].live += 1;
                next_pid += 1;
            }
        }
        let cpus = (0..ncpus)
            .map(|c| CpuSim {
                next: T0 + u64::from(c),
                cur: Runner::Idle,
                loaded: 0,
                kworker: 100 + c as i32,
            })
            .collect();
        Sim {
            rng,
            cpus,
            threads,
            procs,
            next_pid,
            next_mm,
            now: T0,
        }
    }

    fn ts(&mut self, cpu: u32) -> u64 {
        let t = self.now.max(self.cpus[cpu as usize].next) + TICK;
        self.now = t;
        t
    }

    fn runner_info(&self, r: Runner, cpu: u32) -> (i32, &str, i32, u64) {
        match r {
            Runner::Idle => (0, "swapper/0", 120, 0),
            Runner::Kworker => (self.cpus[cpu as usize].kworker, "kworker/u4:1", 120, 0),
            Runner::Task(t) => {
                let th = &self.threads[t];
                let p = &self.procs[th.proc_];
                (th.pid, p.comm.as_str(), th.prio, p.mm)
            }
        }
    }

    /// One step of the CPU with the earliest next time.
    fn step<W: Write + Seek>(&mut self, sink: &mut Sink<'_, W>) {
        let cpu = (0..self.cpus.len())
            .min_by_key(|&c| (self.cpus[c].next, c))
            .unwrap_or(0) as u32;
        let cur = self.cpus[cpu as usize].cur;
        let r = self.rng.below(1000);
        match cur {
            Runner::Task(t) => {
                let pid = self.threads[t].pid;
                match r {
                    0..500 => {
                        let ts = self.ts(cpu);
                        let nr = [0u64, 1, 7, 24, 39, 202, 228, 232][self.rng.below(8) as usize];
                        sink.emit(cpu, ts, Ev::SysExit { pid, nr, ret: 0 });
                    }
                    500..628 => {
                        let ts = self.ts(cpu);
                        let addr = 0x7f00_0000_0000 + (self.rng.below(1 << 20) << 12);
                        let ip = 0x5555_5555_0000 + self.rng.below(1 << 16);
                        sink.emit(
                            cpu,
                            ts,
                            Ev::PageFault {
                                pid,
                                addr,
                                ip,
                                err: 6,
                            },
                        );
                    }
                    628..683 => self.mmap_call(sink, cpu, t),
                    683..800 => {
                        let ts = self.ts(cpu);
                        self.wakeup(sink, cpu, pid, ts);
                    }
                    800..994 => self.switch(sink, cpu),
                    _ => self.process_event(sink, cpu, t),
                }
            }
            Runner::Idle | Runner::Kworker => {
                let pid = self.runner_info(cur, cpu).0;
                if r < 350 {
                    let ts = self.ts(cpu);
                    self.wakeup(sink, cpu, pid, ts);
                } else {
                    self.switch(sink, cpu);
                }
            }
        }
        let gap = 300 + self.rng.below(1400);
        let c = &mut self.cpus[cpu as usize];
        c.next = self.now + gap;
    }

    fn wakeup<W: Write + Seek>(&mut self, sink: &mut Sink<'_, W>, cpu: u32, waker: i32, ts: u64) {
        let t = self.rng.below(self.threads.len() as u64) as usize;
        let th = &self.threads[t];
        let ev = Ev::Wakeup {
            pid: th.pid,
            comm: &self.procs[th.proc_].comm,
            prio: th.prio,
            target: th.cpu,
            waker,
        };
        sink.emit(cpu, ts, ev);
    }

    fn switch<W: Write + Seek>(&mut self, sink: &mut Sink<'_, W>, cpu: u32) {
        let c = cpu as usize;
        let cur = self.cpus[c].cur;
        let runnable: Vec<usize> = self
            .threads
            .iter()
            .enumerate()
            .filter(|(i, th)| th.alive && th.cpu == cpu && Runner::Task(*i) != cur)
            .map(|(i, _)| i)
            .collect();
        let r = self.rng.below(100);
        let next = if runnable.is_empty() || r < 12 {
            if cur == Runner::Idle {
                Runner::Kworker
            } else {
                Runner::Idle
            }
        } else if r < 16 && cur != Runner::Kworker {
            Runner::Kworker
        } else {
            // Threads of the loaded mm first, as a scheduler's wakeup
            // pattern of cooperating threads gives.
            let loaded = self.cpus[c].loaded;
            let same: Vec<usize> = runnable
                .iter()
                .copied()
                .filter(|&i| self.procs[self.threads[i].proc_].mm == loaded)
                .collect();
            let pool = if !same.is_empty() && self.rng.below(100) < 50 {
                &same
            } else {
                &runnable
            };
            Runner::Task(pool[self.rng.below(pool.len() as u64) as usize])
        };
        self.switch_to(sink, cpu, next, 1);
    }

    fn switch_to<W: Write + Seek>(
        &mut self,
        sink: &mut Sink<'_, W>,
        cpu: u32,
        next: Runner,
        prev_state: u64,
    ) {
        let c = cpu as usize;
        let cur = self.cpus[c].cur;
        let ts = self.ts(cpu);
        self.now += 1; // the probe's timestamp
        let (next_pid, next_mm) = {
            let prev = self.runner_info(cur, cpu);
            let prev_mm = if prev_state == 0x10 { 0 } else { prev.3 };
            let nx = self.runner_info(next, cpu);
            let state = if cur == Runner::Idle { 0 } else { prev_state };
            let ev = Ev::Switch {
                prev: (prev.0, prev.1, prev.2, state),
                next: (nx.0, nx.1, nx.2),
                prev_mm,
                next_mm: nx.3,
            };
            sink.emit(cpu, ts, ev);
            (nx.0, nx.3)
        };
        self.cpus[c].cur = next;
        if next_mm != 0 && next_mm != self.cpus[c].loaded {
            // switch_mm_irqs_off loads the new mm (a full flush now and then).
            let ts = self.ts(cpu);
            let pages = if self.rng.below(8) == 0 { u64::MAX } else { 0 };
            sink.emit(
                cpu,
                ts,
                Ev::Tlb {
                    pid: next_pid,
                    reason: 0,
                    pages,
                },
            );
            self.cpus[c].loaded = next_mm;
        }
    }

    fn lock<W: Write + Seek>(
        &mut self,
        sink: &mut Sink<'_, W>,
        cpu: u32,
        pid: i32,
        mm: u64,
        write: bool,
    ) {
        for kind in [Kind::LockStart, Kind::LockAcquired, Kind::LockReleased] {
            let ts = self.ts(cpu);
            sink.emit(
                cpu,
                ts,
                Ev::Lock {
                    kind,
                    pid,
                    mm,
                    write,
                },
            );
        }
    }

    /// mmap/munmap/mprotect: the mmap_lock events, and for half of them a
    /// TLB flush of the mm: the request, the IPIs to the CPUs running it,
    /// their shootdowns and the local flush, then the return to user.
    fn mmap_call<W: Write + Seek>(&mut self, sink: &mut Sink<'_, W>, cpu: u32, t: usize) {
        let pid = self.threads[t].pid;
        let mm = self.procs[self.threads[t].proc_].mm;
        let write = self.rng.below(2) == 0;
        self.lock(sink, cpu, pid, mm, write);
        if write && self.rng.below(3) != 0 {
            let start = 0x7f00_0000_0000 + (self.rng.below(1 << 20) << 12);
            let ts = self.ts(cpu);
            sink.emit(
                cpu,
                ts,
                Ev::Flush {
                    pid,
                    mm,
                    start,
                    end: start + 0x4000,
                },
            );
            let targets: Vec<u32> = (0..self.cpus.len() as u32)
                .filter(|&o| {
                    let oc = &self.cpus[o as usize];
                    o != cpu && oc.loaded == mm && matches!(oc.cur, Runner::Task(_))
                })
                .collect();
            let pages = 4;
            if !targets.is_empty() {
                let ts = self.ts(cpu);
                sink.emit(
                    cpu,
                    ts,
                    Ev::Tlb {
                        pid,
                        reason: 4,
                        pages,
                    },
                );
                for o in targets {
                    let ts = self.ts(o);
                    let opid = self.runner_info(self.cpus[o as usize].cur, o).0;
                    sink.emit(
                        o,
                        ts,
                        Ev::Tlb {
                            pid: opid,
                            reason: 1,
                            pages,
                        },
                    );
                }
            }
            let ts = self.ts(cpu);
            sink.emit(
                cpu,
                ts,
                Ev::Tlb {
                    pid,
                    reason: 3,
                    pages,
                },
            );
        }
        let ts = self.ts(cpu);
        sink.emit(
            cpu,
            ts,
            Ev::SysExit {
                pid,
                nr: 10,
                ret: 0,
            },
        );
    }

    fn live(&self) -> usize {
        self.threads.iter().filter(|t| t.alive).count()
    }

    /// Fork (a new thread), exit, exec or a migration.
    fn process_event<W: Write + Seek>(&mut self, sink: &mut Sink<'_, W>, cpu: u32, t: usize) {
        let pid = self.threads[t].pid;
        let p = self.threads[t].proc_;
        match self.rng.below(4) {
            0 if self.live() < MAX_THREADS => {
                let child = self.next_pid;
                self.next_pid += 1;
                let to = self.rng.below(self.cpus.len() as u64) as u32;
                let ts = self.ts(cpu);
                let comm = self.procs[p].comm.clone();
                sink.emit(
                    cpu,
                    ts,
                    Ev::Fork {
                        pid,
                        comm: &comm,
                        child,
                    },
                );
                let th = Thread {
                    pid: child,
                    proc_: p,
                    cpu: to,
                    alive: true,
                    prio: 120,
                };
                // Reuse a dead thread's slot: no CPU runs a dead thread.
                match self.threads.iter().position(|t| !t.alive) {
                    Some(i) => self.threads[i] = th,
                    None => self.threads.push(th),
                }
                self.procs[p].live += 1;
                let ts = self.ts(cpu);
                sink.emit(
                    cpu,
                    ts,
                    Ev::SysExit {
                        pid,
                        nr: 56,
                        ret: child as u64,
                    },
                );
            }
            1 if self.live() > MIN_THREADS && self.procs[p].live > 1 => {
                let ts = self.ts(cpu);
                let comm = self.procs[p].comm.clone();
                let prio = self.threads[t].prio;
                sink.emit(
                    cpu,
                    ts,
                    Ev::Exit {
                        pid,
                        comm: &comm,
                        prio,
                        group_dead: false,
                    },
                );
                self.threads[t].alive = false;
                self.procs[p].live -= 1;
                self.switch_to(sink, cpu, Runner::Idle, 0x10);
            }
            2 if self.procs[p].live == 1 => {
                // exec: exec_mmap() read-locks the old mm and loads the new
                // one (not after a switch), then the exec tracepoint.
                let old = self.procs[p].mm;
                let mm = self.next_mm;
                self.next_mm += 0x1_0000;
                for kind in [Kind::LockStart, Kind::LockAcquired] {
                    let ts = self.ts(cpu);
                    sink.emit(
                        cpu,
                        ts,
                        Ev::Lock {
                            kind,
                            pid,
                            mm: old,
                            write: false,
                        },
                    );
                }
                let ts = self.ts(cpu);
                sink.emit(
                    cpu,
                    ts,
                    Ev::Tlb {
                        pid,
                        reason: 0,
                        pages: u64::MAX,
                    },
                );
                self.procs[p].mm = mm;
                self.cpus[cpu as usize].loaded = mm;
                let ts = self.ts(cpu);
                let kind = Kind::LockReleased;
                sink.emit(
                    cpu,
                    ts,
                    Ev::Lock {
                        kind,
                        pid,
                        mm: old,
                        write: false,
                    },
                );
                let ts = self.ts(cpu);
                sink.emit(
                    cpu,
                    ts,
                    Ev::Exec {
                        pid,
                        file: "/usr/bin/worker",
                    },
                );
                self.lock(sink, cpu, pid, mm, true);
                let ts = self.ts(cpu);
                sink.emit(
                    cpu,
                    ts,
                    Ev::SysExit {
                        pid,
                        nr: 59,
                        ret: 0,
                    },
                );
            }
            _ => {
                // Migrate a thread that is not running to another CPU.
                let n = self.cpus.len() as u32;
                let cand: Vec<usize> = self
                    .threads
                    .iter()
                    .enumerate()
                    .filter(|(i, th)| {
                        th.alive && !self.cpus.iter().any(|c| c.cur == Runner::Task(*i))
                    })
                    .map(|(i, _)| i)
                    .collect();
                if cand.is_empty() || n < 2 {
                    let ts = self.ts(cpu);
                    sink.emit(
                        cpu,
                        ts,
                        Ev::SysExit {
                            pid,
                            nr: 24,
                            ret: 0,
                        },
                    );
                    return;
                }
                let m = cand[self.rng.below(cand.len() as u64) as usize];
                let from = self.threads[m].cpu;
                let to = (from + 1 + self.rng.below(u64::from(n - 1)) as u32) % n;
                let ts = self.ts(cpu);
                let th = &self.threads[m];
                let ev = Ev::Migrate {
                    pid: th.pid,
                    comm: &self.procs[th.proc_].comm,
                    prio: th.prio,
                    from,
                    to,
                    by: pid,
                };
                sink.emit(cpu, ts, ev);
                self.threads[m].cpu = to;
            }
        }
    }
}

/// Writes a bulk trace (see the module docs) to `out`.
pub fn write_bulk<W: Write + Seek>(
    opts: &BulkOptions,
    out: W,
) -> Result<(W, BulkStats), SynthError> {
    if opts.cpus == 0 || opts.cpus > 256 {
        return Err(SynthError::Option(format!(
            "{} CPUs (want 1 to 256)",
            opts.cpus
        )));
    }
    let version = match opts.file_version {
        6 => FileVersion::V6,
        7 => FileVersion::V7,
        v => {
            return Err(SynthError::Option(format!(
                "file version {v} (want 6 or 7)"
            )));
        }
    };
    let compression = match (opts.compression, version) {
        (SynthCompression::None, _) => writer::Compression::None,
        (SynthCompression::Zstd, FileVersion::V7) => writer::Compression::Zstd,
        (SynthCompression::Zstd, FileVersion::V6) => {
            return Err(SynthError::Option(
                "compression needs file version 7".into(),
            ));
        }
    };
    let (texts, formats) = formats();
    let mut spec = TraceDatSpec::new(opts.endian, 8)
        .version(version)
        .compression(compression)
        .page_size(PAGE_SIZE as u32)
        .clock("local")
        .uname("Linux mmrace-bulk 6.18.44 x86_64")
        .buffer("", opts.cpus);
    for (sys, text) in &texts {
        spec = spec.event_format(sys, text.as_bytes().to_vec());
    }
    let sim0 = Sim::new(opts.seed, opts.cpus);
    for th in &sim0.threads {
        spec = spec.cmdline(Pid(th.pid), &sim0.procs[th.proc_].comm);
    }
    for c in &sim0.cpus {
        spec = spec.cmdline(Pid(c.kworker), "kworker/u4:1");
    }
    let target_pages = opts.size.div_ceil(PAGE_SIZE).max(1);
    let mut w = TraceDatWriter::new(out, spec)?;
    let mut stats = BulkStats::default();
    for cpu in 0..opts.cpus {
        w.begin_cpu("", Cpu(cpu))?;
        let mut sim = Sim::new(opts.seed, opts.cpus);
        let mut sink = Sink {
            keep: cpu,
            endian: opts.endian,
            formats: &formats,
            writer: &mut w,
            fixed: formats
                .iter()
                .map(|f| {
                    f.fields
                        .iter()
                        .chain(&f.common_fields)
                        .map(|x| (x.offset + x.size) as u64)
                        .max()
                        .unwrap_or(8)
                })
                .collect(),
            counts: [0; KINDS.len()],
            per_cpu: vec![0; opts.cpus as usize],
            page_fill: vec![0; opts.cpus as usize],
            pages: vec![0; opts.cpus as usize],
            err: None,
        };
        while sink.pages.iter().sum::<u64>() < target_pages && sink.err.is_none() {
            sim.step(&mut sink);
        }
        if let Some(e) = sink.err.take() {
            return Err(e.into());
        }
        stats = BulkStats {
            events: sink.counts.iter().sum(),
            per_event: KINDS
                .iter()
                .zip(sink.counts)
                .filter(|(_, n)| *n > 0)
                .map(|((_, s, n), c)| (format!("{s}:{n}"), c))
                .collect(),
            per_cpu: (0..opts.cpus).zip(sink.per_cpu.iter().copied()).collect(),
            pages: sink.pages.iter().sum(),
        };
        w.end_cpu()?;
    }
    Ok((w.finish()?, stats))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::{AnalyzeOptions, analyze_with_info};
    use mmrace_parsers::tracedat::{Item, TraceDat};

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("1GiB"), Some(1 << 30));
        assert_eq!(parse_size("512M"), Some(512 << 20));
        assert_eq!(parse_size("10k"), Some(10 << 10));
        assert_eq!(parse_size("1.5G"), Some(3 << 29));
        assert_eq!(parse_size("4096"), Some(4096));
        assert_eq!(parse_size("1 GB"), Some(1 << 30));
        assert_eq!(parse_size("1X"), None);
        assert_eq!(parse_size("G"), None);
    }

    fn bulk(o: &BulkOptions) -> (Vec<u8>, BulkStats) {
        let (c, s) = write_bulk(o, std::io::Cursor::new(Vec::new())).unwrap();
        (c.into_inner(), s)
    }

    /// The written records are the ones counted, in the real system's mix,
    /// and the correct simulated kernel gives no finding with the x86_64
    /// profile (which checks INV-1 and INV-2 on these events).
    #[test]
    fn mix_counts_and_no_findings() {
        for (endian, version, comp) in [
            (Endian::Little, 7, SynthCompression::None),
            (Endian::Big, 6, SynthCompression::None),
            (Endian::Little, 7, SynthCompression::Zstd),
        ] {
            let mut o = BulkOptions::new(3 << 20);
            o.endian = endian;
            o.file_version = version;
            o.compression = comp;
            o.cpus = 3;
            let (bytes, stats) = bulk(&o);
            let t = TraceDat::parse(&bytes).unwrap();
            assert_eq!(t.endian, endian);
            let mut got: BTreeMap<String, u64> = BTreeMap::new();
            let mut n = 0u64;
            let mut m = t.merged_records();
            while let Some(it) = m.next_item() {
                if let Ok(Item::Record(r)) = it {
                    let id = t.endian.read_u16(r.payload, 0).unwrap();
                    let f = t.formats.iter().find(|f| f.id.0 == u32::from(id)).unwrap();
                    *got.entry(format!("{}:{}", f.system, f.name)).or_insert(0) += 1;
                    n += 1;
                } else {
                    panic!("unexpected item {it:?}");
                }
            }
            assert_eq!(got, stats.per_event);
            assert_eq!(n, stats.events);
            assert_eq!(stats.per_cpu.len(), 3);
            let real: u64 = stats
                .per_event
                .iter()
                .filter(|(k, _)| !k.starts_with("mmctx:"))
                .map(|(_, v)| v)
                .sum();
            let share = |k: &str| stats.per_event.get(k).copied().unwrap_or(0) as f64 / real as f64;
            for (k, want) in [
                ("raw_syscalls:sys_exit", 0.40),
                ("sched:sched_switch", 0.17),
                ("sched:sched_wakeup", 0.11),
                ("exceptions:page_fault_user", 0.10),
                ("tlb:tlb_flush", 0.09),
            ] {
                let s = share(k);
                assert!((s - want).abs() < 0.04, "{k}: {s:.3} (want {want})");
            }
            assert!(stats.pages * PAGE_SIZE >= o.size);
            assert!(stats.pages * PAGE_SIZE < o.size + 4 * PAGE_SIZE);
            if comp == SynthCompression::None {
                let data: u64 = t.buffers[0].cpus.iter().map(|c| c.size).sum();
                assert_eq!(data, stats.pages * PAGE_SIZE, "CPU data as counted");
            }
            let (a, info) = analyze_with_info(&t, None, &AnalyzeOptions::default()).unwrap();
            assert_eq!(a.profile, "x86_64");
            assert_eq!(info.events, stats.events);
            assert!(
                a.findings.is_empty(),
                "{:#?}",
                &a.findings[..a.findings.len().min(3)]
            );
            assert!(a.stats.roles.len() >= 6, "{:?}", a.stats.roles);
        }
    }

    /// Same seed, same bytes; another seed, other bytes.
    #[test]
    fn deterministic() {
        let o = BulkOptions::new(256 << 10);
        assert_eq!(bulk(&o).0, bulk(&o).0);
        let mut p = o.clone();
        p.seed = 2;
        assert_ne!(bulk(&o).0, bulk(&p).0);
    }

    /// trace-cmd reads the bulk traces (both byte orders, v6 and v7 + zstd)
    /// with every event parsed and every record counted.
    #[test]
    fn trace_cmd_reads_bulk_traces() {
        if std::process::Command::new("trace-cmd")
            .arg("--version")
            .output()
            .is_err()
        {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI is set but trace-cmd is not installed"
            );
            eprintln!("trace-cmd not installed: skipped (set CI to make this fail)");
            return;
        }
        let dir = std::env::temp_dir().join(format!("mmrace-bulk-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for (endian, version, comp) in [
            (Endian::Big, 6, SynthCompression::None),
            (Endian::Little, 7, SynthCompression::Zstd),
        ] {
            let mut o = BulkOptions::new(1 << 20);
            o.endian = endian;
            o.file_version = version;
            o.compression = comp;
            let (bytes, stats) = bulk(&o);
            let path = dir.join(format!("{endian:?}-{version}.dat"));
            std::fs::write(&path, &bytes).unwrap();
            let r = std::process::Command::new("trace-cmd")
                .arg("report")
                .arg("-i")
                .arg(&path)
                .output()
                .unwrap();
            assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
            let text = String::from_utf8_lossy(&r.stdout);
            assert!(!text.contains("FAILED TO PARSE"));
            let lines = text.lines().filter(|l| l.contains(": ")).count() as u64;
            assert_eq!(lines, stats.events, "{endian:?} v{version}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
