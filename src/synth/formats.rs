//! Event formats written by the generator (tracefs `format` text, as the
//! kernel prints them), and a payload builder that fills fields by name
//! from the parsed format, so payloads always match their format.

use mmrace_parsers::Endian;
use mmrace_parsers::format::EventFormat;
use mmrace_parsers::types::Pid;

const COMMON: &str = "\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\
\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n\
\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n\
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n";

/// (C type, name, size, signed, array length).
type FieldDef = (&'static str, &'static str, usize, bool, Option<usize>);

struct Def {
    system: &'static str,
    name: &'static str,
    id: u32,
    fields: &'static [FieldDef],
    print: &'static str,
}

const DEFS: &[Def] = &[
    Def {
        system: "sched",
        name: "sched_switch",
        id: 316,
        fields: &[
            ("char", "prev_comm", 16, false, Some(16)),
            ("pid_t", "prev_pid", 4, true, None),
            ("int", "prev_prio", 4, true, None),
            ("long", "prev_state", 8, true, None),
            ("char", "next_comm", 16, false, Some(16)),
            ("pid_t", "next_pid", 4, true, None),
            ("int", "next_prio", 4, true, None),
        ],
        print: "\"prev_comm=%s prev_pid=%d prev_prio=%d prev_state=%s%s ==> next_comm=%s next_pid=%d next_prio=%d\", REC->prev_comm, REC->prev_pid, REC->prev_prio, (REC->prev_state & ((((0x00000000 | 0x00000001 | 0x00000002 | 0x00000004 | 0x00000008 | 0x00000010 | 0x00000020 | 0x00000040) + 1) << 1) - 1)) ? __print_flags(REC->prev_state & ((((0x00000000 | 0x00000001 | 0x00000002 | 0x00000004 | 0x00000008 | 0x00000010 | 0x00000020 | 0x00000040) + 1) << 1) - 1), \"|\", { 0x00000001, \"S\" }, { 0x00000002, \"D\" }, { 0x00000004, \"T\" }, { 0x00000008, \"t\" }, { 0x00000010, \"X\" }, { 0x00000020, \"Z\" }, { 0x00000040, \"P\" }, { 0x00000080, \"I\" }) : \"R\", REC->prev_state & (((0x00000000 | 0x00000001 | 0x00000002 | 0x00000004 | 0x00000008 | 0x00000010 | 0x00000020 | 0x00000040) + 1) << 1) ? \"+\" : \"\", REC->next_comm, REC->next_pid, REC->next_prio",
    },
    Def {
        system: "sched",
        name: "sched_wakeup",
        id: 318,
        fields: &[
            ("char", "comm", 16, false, Some(16)),
            ("pid_t", "pid", 4, true, None),
            ("int", "prio", 4, true, None),
            ("int", "target_cpu", 4, true, None),
        ],
        print: "\"comm=%s pid=%d prio=%d target_cpu=%03d\", REC->comm, REC->pid, REC->prio, REC->target_cpu",
    },
    Def {
        system: "irq",
        name: "irq_handler_entry",
        id: 140,
        fields: &[
            ("int", "irq", 4, true, None),
            ("__data_loc char[]", "name", 4, false, None),
        ],
        print: "\"irq=%d name=%s\", REC->irq, __get_str(name)",
    },
    Def {
        system: "irq",
        name: "irq_handler_exit",
        id: 139,
        fields: &[("int", "irq", 4, true, None), ("int", "ret", 4, true, None)],
        print: "\"irq=%d ret=%s\", REC->irq, REC->ret ? \"handled\" : \"unhandled\"",
    },
    Def {
        system: "raw_syscalls",
        name: "sys_enter",
        id: 22,
        fields: &[
            ("long", "id", 8, true, None),
            ("unsigned long", "args", 48, false, Some(6)),
        ],
        print: "\"NR %ld (%lx, %lx, %lx, %lx, %lx, %lx)\", REC->id, REC->args[0], REC->args[1], REC->args[2], REC->args[3], REC->args[4], REC->args[5]",
    },
    Def {
        system: "raw_syscalls",
        name: "sys_exit",
        id: 21,
        fields: &[
            ("long", "id", 8, true, None),
            ("long", "ret", 8, true, None),
        ],
        print: "\"NR %ld = %ld\", REC->id, REC->ret",
    },
    Def {
        system: "tlb",
        name: "tlb_flush",
        id: 400,
        fields: &[
            ("int", "reason", 4, true, None),
            ("unsigned long", "pages", 8, false, None),
        ],
        print: "\"pages:%ld reason:%s (%d)\", REC->pages, __print_symbolic(REC->reason, { 0, \"flush on task switch\" }, { 1, \"remote shootdown\" }, { 2, \"local shootdown\" }, { 3, \"local mm shootdown\" }, { 4, \"remote ipi send\" }), REC->reason",
    },
    Def {
        system: "ipi",
        name: "ipi_send_cpumask",
        id: 410,
        fields: &[
            ("__data_loc cpumask_t", "cpumask", 4, false, None),
            ("void *", "callsite", 8, false, None),
            ("void *", "callback", 8, false, None),
        ],
        print: "\"cpumask=%s callsite=%pS callback=%pS\", __get_bitmask(cpumask), (void *)REC->callsite, (void *)REC->callback",
    },
    Def {
        system: "mmctx",
        name: "switch",
        id: 1900,
        fields: &[
            ("int", "prev_pid", 4, true, None),
            ("u64", "prev_mm", 8, false, None),
            ("int", "next_pid", 4, true, None),
            ("u64", "next_mm", 8, false, None),
        ],
        print: "\"prev_pid=%d prev_mm=0x%llx next_pid=%d next_mm=0x%llx\", REC->prev_pid, REC->prev_mm, REC->next_pid, REC->next_mm",
    },
    Def {
        system: "mmctx",
        name: "switch_mm",
        id: 1901,
        fields: &[
            ("int", "pid", 4, true, None),
            ("u64", "prev_mm", 8, false, None),
            ("u64", "next_mm", 8, false, None),
            ("u32", "deferred", 4, false, None),
        ],
        print: "\"pid=%d prev_mm=0x%llx next_mm=0x%llx deferred=%u\", REC->pid, REC->prev_mm, REC->next_mm, REC->deferred",
    },
    Def {
        system: "mmctx",
        name: "defer_check",
        id: 1902,
        fields: &[
            ("int", "pid", 4, true, None),
            ("u64", "mm", 8, false, None),
            ("u32", "pending", 4, false, None),
        ],
        print: "\"pid=%d mm=0x%llx pending=%u\", REC->pid, REC->mm, REC->pending",
    },
    Def {
        system: "mmctx",
        name: "load",
        id: 1903,
        fields: &[("u64", "mm", 8, false, None)],
        print: "\"mm=0x%llx\", REC->mm",
    },
    Def {
        system: "mmctx",
        name: "flush_begin",
        id: 1904,
        fields: &[
            ("u64", "mm", 8, false, None),
            ("u32", "all_cpus", 4, false, None),
        ],
        print: "\"mm=0x%llx all_cpus=%u\", REC->mm, REC->all_cpus",
    },
    Def {
        system: "mmctx",
        name: "flush_done",
        id: 1905,
        fields: &[
            ("u64", "mm", 8, false, None),
            ("u32", "all_cpus", 4, false, None),
        ],
        print: "\"mm=0x%llx all_cpus=%u\", REC->mm, REC->all_cpus",
    },
    Def {
        system: "mmctx",
        name: "flush",
        id: 1906,
        fields: &[
            ("u64", "mm", 8, false, None),
            ("u64", "start", 8, false, None),
            ("u64", "end", 8, false, None),
            ("u32", "lazy", 4, false, None),
        ],
        print: "\"mm=0x%llx start=0x%llx end=0x%llx lazy=%u\", REC->mm, REC->start, REC->end, REC->lazy",
    },
    Def {
        system: "mmctx",
        name: "pte_begin",
        id: 1907,
        fields: &[
            ("u64", "mm", 8, false, None),
            ("u64", "addr", 8, false, None),
            ("u32", "lazy", 4, false, None),
        ],
        print: "\"mm=0x%llx addr=0x%llx lazy=%u\", REC->mm, REC->addr, REC->lazy",
    },
    Def {
        system: "mmctx",
        name: "pte_end",
        id: 1908,
        fields: &[
            ("u64", "mm", 8, false, None),
            ("u64", "addr", 8, false, None),
        ],
        print: "\"mm=0x%llx addr=0x%llx\", REC->mm, REC->addr",
    },
    Def {
        system: "mmctx",
        name: "user",
        id: 1909,
        fields: &[("int", "pid", 4, true, None)],
        print: "\"pid=%d\", REC->pid",
    },
];

fn text(d: &Def) -> String {
    let mut s = format!("name: {}\nID: {}\nformat:\n{COMMON}", d.name, d.id);
    let mut off = 8usize;
    for &(ty, name, size, signed, arr) in d.fields {
        let align = if arr.is_some() && ty == "char" {
            1
        } else if ty.starts_with("__data_loc") {
            4
        } else {
            size.min(8)
        };
        off = off.div_ceil(align) * align;
        let decl = match arr {
            Some(n) => format!("{ty} {name}[{n}]"),
            None => format!("{ty} {name}"),
        };
        s.push_str(&format!(
            "\tfield:{decl};\toffset:{off};\tsize:{size};\tsigned:{};\n",
            u8::from(signed)
        ));
        off += size;
    }
    s.push_str(&format!("\nprint fmt: {}\n", d.print));
    s
}

/// Every format the generator can write: (system, format text, parsed).
pub(crate) fn all() -> Vec<(&'static str, String, EventFormat)> {
    DEFS.iter()
        .filter_map(|d| {
            let t = text(d);
            let f = EventFormat::parse(d.system, t.as_bytes(), 0).ok()?;
            Some((d.system, t, f))
        })
        .collect()
}

/// Fills an event payload by field name, following the parsed format.
pub(crate) struct Payload<'f> {
    fmt: &'f EventFormat,
    endian: Endian,
    buf: Vec<u8>,
    dynamic: Vec<(usize, Vec<u8>)>,
}

impl<'f> Payload<'f> {
    pub(crate) fn new(fmt: &'f EventFormat, endian: Endian, pid: Pid) -> Payload<'f> {
        let size = fmt
            .fields
            .iter()
            .map(|f| f.offset + f.size)
            .max()
            .unwrap_or(8)
            .max(8);
        let mut p = Payload {
            fmt,
            endian,
            buf: vec![0; size],
            dynamic: Vec::new(),
        };
        p.put(0, 2, u64::from(fmt.id.0 as u16));
        p.put(4, 4, u64::from(pid.0 as u32));
        p
    }

    fn put(&mut self, off: usize, size: usize, v: u64) {
        let bytes = self.endian.u64_bytes(v);
        let b = match self.endian {
            Endian::Little => &bytes[..size],
            Endian::Big => &bytes[8 - size..],
        };
        if let Some(dst) = self.buf.get_mut(off..off + size) {
            dst.copy_from_slice(b);
        }
    }

    /// Sets a numeric field (missing names are ignored: a format without the
    /// field simply does not carry it).
    pub(crate) fn num(mut self, name: &str, v: u64) -> Self {
        if let Some(f) = self.fmt.field(name) {
            let size = f.element_size().min(8);
            if matches!(size, 1 | 2 | 4 | 8) {
                self.put(f.offset, size, v);
            }
        }
        self
    }

    /// Sets a char array field.
    pub(crate) fn str(mut self, name: &str, s: &str) -> Self {
        if let Some(f) = self.fmt.field(name) {
            let n = s.len().min(f.size.saturating_sub(1));
            if let Some(dst) = self.buf.get_mut(f.offset..f.offset + n) {
                dst.copy_from_slice(&s.as_bytes()[..n]);
            }
        }
        self
    }

    /// Sets a `__data_loc` field.
    pub(crate) fn data_loc(mut self, name: &str, data: &[u8]) -> Self {
        if let Some(f) = self.fmt.field(name) {
            self.dynamic.push((f.offset, data.to_vec()));
        }
        self
    }

    pub(crate) fn finish(mut self) -> Vec<u8> {
        for (pos, data) in std::mem::take(&mut self.dynamic) {
            let off = self.buf.len() as u32 & 0xffff;
            let word = ((data.len() as u32 & 0xffff) << 16) | off;
            self.put(pos, 4, u64::from(word));
            self.buf.extend_from_slice(&data);
        }
        while self.buf.len() % 4 != 0 {
            self.buf.push(0);
        }
        self.buf
    }
}
