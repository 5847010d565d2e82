//! Every print fmt form the renderer knows, against the real trace-cmd.
//!
//! The fixtures are real traces, so they only hold the forms their kernels
//! used. This writes files whose events use each expression form and
//! conversion (fields, arithmetic, bit operations, comparisons, ternaries,
//! casts, `sizeof`, `__get_str`, dynamic arrays, bitmasks, cpumasks,
//! `__print_symbolic`/`flags`/`hex`/`array`, widths and flags, `%p`
//! extensions with kallsyms) and the special ftrace events (`function`,
//! `bprint`, `bputs`, `print`, a kprobe), in both byte orders and with 4-
//! and 8-byte kernel longs. `mmrace dump` and `dump --raw` must print
//! exactly what `trace-cmd report -N -t` and `report -N -R -t` print.
//!
//! trace-cmd is needed: when `CI` is set its absence fails the test.

use mmrace::dump::{DumpOptions, dump};
use mmrace_parsers::Endian;
use mmrace_parsers::tracedat::TraceDat;
use mmrace_parsers::tracedat::writer::{TraceDatSpec, TraceDatWriter};
use mmrace_parsers::types::{Cpu, Pid, Timestamp};
mod trace_cmd;

const COMMON: &str = "format:\n\
    \tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\
    \tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n\
    \tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n\
    \tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n";

/// The print fmts of the `forms` events, one event each.
const FORMS: &[&str] = &[
    r#""a=%d b=%u c=%x s=%hd l=%lx ptr=%p", REC->a, REC->b, REC->c, REC->s, REC->l, REC->ptr"#,
    r#""%ld %lu %lld %llu %llx [%5d] [%-5d] [%05d] [%#x] [%.3d] %c 100%%", REC->a, REC->c, (long long)REC->a, (u64)REC->c, REC->l, REC->b, REC->b, REC->b, REC->b, REC->b, REC->b"#,
    r#""%d %d %d %d %d %d", REC->b + 2, REC->b - 7, REC->b * 4, 17 / REC->b, 17 % REC->b, REC->b << 4"#,
    r#""%x %x %x %d", REC->c & 0xff, REC->b | 0x100, ~REC->b, 256 >> REC->b"#,
    r#""%d %d %d %d %d %d", REC->b < 4, REC->b >= 4, REC->b == 3, REC->b != 3, REC->a && REC->b, !REC->b"#,
    r#""%s %d %s", REC->b == 3 ? "three" : "other", REC->b ? 1 : 2, REC->a < 0 ? "neg" : "pos""#,
    r#""%u %u %d %d %d %d", (u8)REC->c, (u16)REC->c, (int)REC->c, sizeof(long), sizeof(int), sizeof(REC->s)"#,
    r#""%s|%s|%.3s|%10s|%-8s|", __get_str(name), REC->comm, REC->comm, __get_str(name), REC->comm"#,
    r#""len=%d hex=%s", __get_dynamic_array_len(buf), __print_hex(__get_dynamic_array(buf), __get_dynamic_array_len(buf))"#,
    r#""mask=%s cpus=%s", __get_bitmask(mask), __get_cpumask(cpus)"#,
    r#""%s %s %s", __print_symbolic(REC->b, { 1, "ONE" }, { 3, "THREE" }), __print_flags(REC->c, "|", { 1, "A" }, { 2, "B" }, { 4, "C" }), __print_symbolic(REC->a, { 1, "ONE" })"#,
    r#""%s {%s}", __print_hex(REC->mac, 6), __print_array(REC->arr, 4, 4)"#,
    r#""%pS %ps %pF %pf", REC->l, REC->l, REC->ptr, REC->ptr"#,
    r#""%pM %pI4 %pI6c", REC->mac, REC->ip4, REC->ip6"#,
    r#""%d", jiffies_to_msecs(REC->a)"#,
];

const KALLSYMS_64: &str = "ffffffff81001000 T func_a\nffffffff81001100 t func_b\nffffffff81002000 T func_c\nffffffff81003000 T last_one\n";
const KALLSYMS_32: &str =
    "c1001000 T func_a\nc1001100 t func_b\nc1002000 T func_c\nc1003000 T last_one\n";

/// A record under construction, fields written at fixed offsets.
struct Rec {
    e: Endian,
    b: Vec<u8>,
}

impl Rec {
    fn new(e: Endian, id: u16, pid: i32, fixed: usize) -> Rec {
        let mut r = Rec {
            e,
            b: vec![0; fixed],
        };
        r.put(0, 2, u64::from(id));
        r.put(4, 4, pid as u32 as u64);
        r
    }

    fn put(&mut self, off: usize, n: usize, v: u64) {
        let bytes = match self.e {
            Endian::Little => v.to_le_bytes()[..n].to_vec(),
            Endian::Big => v.to_be_bytes()[8 - n..].to_vec(),
        };
        self.b[off..off + n].copy_from_slice(&bytes);
    }

    /// Appends `v` as `n` bytes after padding to 4 bytes (`vbin_printf`).
    fn push_aligned(&mut self, n: usize, v: u64) {
        while self.b.len() % 4 != 0 {
            self.b.push(0);
        }
        let at = self.b.len();
        self.b.resize(at + n, 0);
        self.put(at, n, v);
    }

    /// Appends `data` and points the `__data_loc` word at `loc` to it.
    fn data_loc(&mut self, loc: usize, data: &[u8]) {
        let off = self.b.len();
        self.b.extend_from_slice(data);
        self.put(loc, 4, ((data.len() as u64) << 16) | off as u64);
        while self.b.len() % 4 != 0 {
            self.b.push(0);
        }
    }
}

/// Field layout of the `forms` events for a kernel long of `l` bytes.
struct Layout {
    l: usize,
}

impl Layout {
    fn ptr(&self) -> usize {
        24 + self.l
    }
    fn comm(&self) -> usize {
        24 + 2 * self.l
    }
    fn mac(&self) -> usize {
        self.comm() + 16
    }
    fn ip4(&self) -> usize {
        self.mac() + 6
    }
    fn ip6(&self) -> usize {
        self.ip4() + 4
    }
    fn arr(&self) -> usize {
        self.ip6() + 16
    }
    fn name(&self) -> usize {
        self.arr() + 16
    }
    fn size(&self) -> usize {
        self.name() + 16
    }

    fn fields(&self) -> String {
        let l = self.l;
        let f = |decl: &str, off: usize, size: usize, signed: u8| {
            format!("\tfield:{decl};\toffset:{off};\tsize:{size};\tsigned:{signed};\n")
        };
        [
            f("int a", 8, 4, 1),
            f("int b", 12, 4, 1),
            f("unsigned int c", 16, 4, 0),
            f("short s", 20, 2, 1),
            f("unsigned long l", 24, l, 0),
            f("void * ptr", self.ptr(), l, 0),
            f("char comm[16]", self.comm(), 16, 0),
            f("u8 mac[6]", self.mac(), 6, 0),
            f("u8 ip4[4]", self.ip4(), 4, 0),
            f("u8 ip6[16]", self.ip6(), 16, 0),
            f("u32 arr[4]", self.arr(), 16, 0),
            f("__data_loc char[] name", self.name(), 4, 0),
            f("__data_loc u8[] buf", self.name() + 4, 4, 0),
            f("__data_loc unsigned long[] mask", self.name() + 8, 4, 0),
            f("__data_loc unsigned long[] cpus", self.name() + 12, 4, 0),
        ]
        .concat()
    }

    fn record(&self, e: Endian, id: u16, k: u64) -> Vec<u8> {
        let l = self.l;
        let mut r = Rec::new(e, id, 42, self.size());
        r.put(8, 4, (-5i32 - k as i32) as u32 as u64);
        r.put(12, 4, 3);
        r.put(16, 4, 0xdead_beef ^ k);
        r.put(20, 2, (-2i16) as u16 as u64);
        let base = if l == 8 {
            0xffff_ffff_8100_0000
        } else {
            0xc100_0000
        };
        r.put(24, l, base | 0x1100);
        r.put(self.ptr(), l, base | 0x2004);
        let comm = self.comm();
        r.b[comm..comm + 9].copy_from_slice(b"swapper/0");
        let mac = self.mac();
        r.b[mac..mac + 6].copy_from_slice(&[0x00, 0x1b, 0x21, 0xab, 0xcd, 0xef]);
        let ip4 = self.ip4();
        r.b[ip4..ip4 + 4].copy_from_slice(&[192, 168, 1, 20]);
        let ip6 = self.ip6();
        r.b[ip6] = 0x20;
        r.b[ip6 + 1] = 0x01;
        r.b[ip6 + 2] = 0x0d;
        r.b[ip6 + 3] = 0xb8;
        r.b[ip6 + 15] = 1;
        for i in 0..4 {
            r.put(self.arr() + 4 * i, 4, 10 * i as u64 + 1);
        }
        r.data_loc(self.name(), b"kworker/1:2\0");
        r.data_loc(self.name() + 4, &[1, 2, 3, 0xfe, 0xff]);
        let mut longs = Rec {
            e,
            b: vec![0; 2 * l],
        };
        longs.put(0, l, 0x8000_000f);
        longs.put(l, l, 1);
        r.data_loc(self.name() + 8, &longs.b);
        let mut cpus = Rec { e, b: vec![0; l] };
        cpus.put(0, l, 0b1011_0111);
        r.data_loc(self.name() + 12, &cpus.b);
        r.b
    }
}

fn ftrace_formats(l: usize) -> Vec<String> {
    let ev = |name: &str, id: u32, fields: String, fmt: &str| {
        format!("name: {name}\nID: {id}\n{COMMON}{fields}\nprint fmt: {fmt}\n")
    };
    let f = |decl: &str, off: usize, size: usize| {
        format!("\tfield:{decl};\toffset:{off};\tsize:{size};\tsigned:0;\n")
    };
    vec![
        ev(
            "function",
            1,
            f("unsigned long ip", 8, l) + &f("unsigned long parent_ip", 8 + l, l),
            r#"" %ps <-- %ps", (void *)REC->ip, (void *)REC->parent_ip"#,
        ),
        ev(
            "print",
            5,
            f("unsigned long ip", 8, l) + &f("char buf[]", 8 + l, 0),
            r#""%ps: %s", (void *)REC->ip, REC->buf"#,
        ),
        ev(
            "bprint",
            6,
            f("unsigned long ip", 8, l)
                + &f("const char * fmt", 8 + l, l)
                + &f("u32 buf[]", 8 + 2 * l, 0),
            r#""%ps: %s", (void *)REC->ip, REC->fmt"#,
        ),
        ev(
            "bputs",
            10,
            f("unsigned long ip", 8, l) + &f("const char * str", 8 + l, l),
            r#""%ps: %s", (void *)REC->ip, REC->str"#,
        ),
    ]
}

const KPROBE: &str = "name: probe_switch\nID: 1500\n";

fn write_trace(e: Endian, l: usize) -> Vec<u8> {
    let lay = Layout { l };
    let (kallsyms, base) = if l == 8 {
        (KALLSYMS_64, 0xffff_ffff_8100_0000u64)
    } else {
        (KALLSYMS_32, 0xc100_0000)
    };
    let printk = format!(
        "0x{:x} : \"evt=%s pid=%d util=%lu big=%llx w=%*d x=%#lx s2=%s\\n\"\n0x{:x} : \"a constant\"\n",
        base | 0x4000,
        base | 0x4040
    );
    let mut spec = TraceDatSpec::new(e, l as u8)
        .kallsyms(kallsyms)
        .printk(printk)
        .cmdline(Pid(42), "worker")
        .buffer("", 1);
    for t in ftrace_formats(l) {
        spec = spec.ftrace_format(t);
    }
    for (i, fmt) in FORMS.iter().enumerate() {
        spec = spec.event_format(
            "forms",
            format!(
                "name: form{i}\nID: {}\n{COMMON}{}\nprint fmt: {fmt}\n",
                600 + i,
                lay.fields()
            ),
        );
    }
    let kfields = format!(
        "\tfield:unsigned long __probe_ip;\toffset:8;\tsize:{l};\tsigned:0;\n\
         \tfield:u64 prev;\toffset:{};\tsize:8;\tsigned:0;\n\
         \tfield:u32 cpu;\toffset:{};\tsize:4;\tsigned:0;\n",
        8 + l,
        16 + l
    );
    spec = spec.event_format(
        "kprobes",
        format!(
            "{KPROBE}{COMMON}{kfields}\nprint fmt: \"(%lx) prev=0x%Lx cpu=%u\", REC->__probe_ip, REC->prev, REC->cpu\n"
        ),
    );
    let mut recs: Vec<Vec<u8>> = Vec::new();
    for k in 0..2u64 {
        for i in 0..FORMS.len() {
            recs.push(lay.record(e, 600 + i as u16, k));
        }
    }
    // function, with an unresolvable parent
    let mut r = Rec::new(e, 1, 42, 8 + 2 * l);
    r.put(8, l, base | 0x1104);
    r.put(8 + l, l, base | 0x9000);
    recs.push(r.b);
    // print, text ending in a newline
    let mut r = Rec::new(e, 5, 42, 8 + l);
    r.put(8, l, base | 0x2000);
    r.b.extend_from_slice(b"marker text\n\0\0\0");
    recs.push(r.b);
    // bprint: vbin_printf's packing, 4-byte aligned, in the file's order
    let mut r = Rec::new(e, 6, 42, 8 + 2 * l);
    r.put(8, l, base | 0x1010);
    r.put(8 + l, l, base | 0x4000);
    // "evt=%s pid=%d util=%lu big=%llx w=%*d x=%#lx s2=%s"
    let mut args = Rec {
        e,
        b: b"sudo\0".to_vec(),
    };
    args.push_aligned(4, 6972);
    args.push_aligned(l, 966);
    args.push_aligned(8, 0x1234_5678_9abc_def0);
    args.push_aligned(4, 5);
    args.push_aligned(4, 42);
    args.push_aligned(l, 0xbeef);
    args.b.extend_from_slice(b"end\0");
    r.b.extend_from_slice(&args.b);
    while r.b.len() % 4 != 0 {
        r.b.push(0);
    }
    recs.push(r.b);
    // bputs
    let mut r = Rec::new(e, 10, 42, 8 + 2 * l);
    r.put(8, l, base | 0x2010);
    r.put(8 + l, l, base | 0x4040);
    recs.push(r.b);
    // kprobe
    let mut r = Rec::new(e, 1500, 42, 24 + l);
    r.put(8, l, base | 0x2008);
    r.put(8 + l, 8, 0x380_005a_7f38);
    r.put(16 + l, 4, 1);
    recs.push(r.b);

    TraceDatWriter::to_vec(spec, |w| {
        w.write_cpu(
            "",
            Cpu(0),
            recs.iter()
                .enumerate()
                .map(|(i, p)| (Timestamp(1_000_000_000 + i as u64 * 1000), p.as_slice())),
        )
    })
    .unwrap()
}

#[test]
fn every_form_prints_as_trace_cmd_prints_it() {
    if !trace_cmd::available() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("mmrace-forms-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut failures = Vec::new();
    for l in [8usize, 4] {
        for e in [Endian::Little, Endian::Big] {
            let bytes = write_trace(e, l);
            let path = dir.join(format!("forms-{e:?}-{l}.dat"));
            std::fs::write(&path, &bytes).unwrap();
            let t = TraceDat::parse(&bytes).unwrap();
            for raw in [false, true] {
                let mut got = Vec::new();
                let opts = DumpOptions {
                    raw,
                    ..Default::default()
                };
                let s = dump(&t, &opts, &mut got).unwrap();
                assert!(s.errors.is_empty(), "{:?}", s.errors);
                // Only the event with an unknown function falls back.
                let failed: Vec<&str> =
                    s.render_failures.iter().map(|w| w.event.as_str()).collect();
                let want_failed: &[&str] = if raw { &[] } else { &["forms:form14"] };
                assert_eq!(failed, want_failed, "{e:?} long={l} raw={raw}");
                let got = String::from_utf8(got).unwrap();
                let want = String::from_utf8(trace_cmd::report(&path, raw)).unwrap();
                for (i, (g, w)) in got.lines().zip(want.lines()).enumerate() {
                    if g != w {
                        failures.push(format!(
                            "{e:?} long={l} raw={raw} line {}\n  got:       {g}\n  trace-cmd: {w}",
                            i + 1
                        ));
                    }
                }
                if got.lines().count() != want.lines().count() {
                    failures.push(format!("{e:?} long={l} raw={raw}: line counts differ"));
                }
                if got != want && failures.is_empty() {
                    failures.push(format!("{e:?} long={l} raw={raw}: line ends differ"));
                }
            }
        }
    }
    if std::env::var_os("MMRACE_KEEP_TEST_FILES").is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
