//! Unit tests of the print fmt parser and evaluator.
//!
//! The expected strings of the two big tables were produced by
//! libtraceevent 1.7.1 itself (`tep_print_event(.., "%s", TEP_PRINT_INFO)`)
//! on the same event format and payload, on an x86_64 host.

use super::*;
use crate::format::EventFormat;
use crate::symbols::Symbols;

const HDR: &str = "name: t\nID: 7\nformat:\n\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n\tfield:int a;\toffset:8;\tsize:4;\tsigned:1;\n\tfield:int b;\toffset:12;\tsize:4;\tsigned:1;\n\tfield:unsigned int c;\toffset:16;\tsize:4;\tsigned:0;\n\tfield:unsigned long l;\toffset:24;\tsize:8;\tsigned:0;\n\tfield:char comm[16];\toffset:32;\tsize:16;\tsigned:0;\n\tfield:__data_loc char[] name;\toffset:48;\tsize:4;\tsigned:0;\n\tfield:u8 mac[6];\toffset:52;\tsize:6;\tsigned:0;\n\tfield:u8 ip4[4];\toffset:58;\tsize:4;\tsigned:0;\n\tfield:u8 ip6[16];\toffset:62;\tsize:16;\tsigned:0;\n\tfield:__data_loc u8[] buf;\toffset:80;\tsize:4;\tsigned:0;\n\tfield:__data_loc unsigned long[] mask;\toffset:84;\tsize:4;\tsigned:0;\n\tfield:short s;\toffset:88;\tsize:2;\tsigned:1;\n\tfield:void * ptr;\toffset:96;\tsize:8;\tsigned:0;\n\tfield:u32 arr[4];\toffset:104;\tsize:16;\tsigned:0;\n\tfield:__rel_loc char[] rname;\toffset:120;\tsize:4;\tsigned:0;\n\nprint fmt: ";

const KALLSYMS: &str = "0000000000001000 T func_a\n0000000000001100 t func_b\n0000000000002000 T func_c\n0000000000003000 T last_one\n";
const PRINTK: &str = "0x2004 : \"a printk string\"\n";

fn symbols() -> Symbols {
    Symbols::parse(KALLSYMS.as_bytes(), PRINTK.as_bytes())
}

/// Appends `v` as `n` bytes in byte order `e`.
fn put(p: &mut [u8], e: Endian, off: usize, n: usize, v: u64) {
    let b = match e {
        Endian::Little => v.to_le_bytes()[..n].to_vec(),
        Endian::Big => v.to_be_bytes()[8 - n..].to_vec(),
    };
    p[off..off + n].copy_from_slice(&b);
}

fn align4(p: &mut Vec<u8>) {
    while p.len() % 4 != 0 {
        p.push(0);
    }
}

/// The record the tables were computed on (see `HDR` for the layout).
fn payload(e: Endian) -> Vec<u8> {
    let mut p = vec![0u8; 124];
    put(&mut p, e, 0, 2, 7);
    put(&mut p, e, 4, 4, 1234);
    put(&mut p, e, 8, 4, (-5i32) as u32 as u64);
    put(&mut p, e, 12, 4, 3);
    put(&mut p, e, 16, 4, 0xdead_beef);
    put(&mut p, e, 24, 8, 0x1100);
    p[32..41].copy_from_slice(b"swapper/0");
    p[52..58].copy_from_slice(&[0x00, 0x1b, 0x21, 0xab, 0xcd, 0xef]);
    p[58..62].copy_from_slice(&[192, 168, 1, 20]);
    p[62..78].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    put(&mut p, e, 88, 2, (-2i16) as u16 as u64);
    put(&mut p, e, 96, 8, 0x2004);
    for i in 0..4u64 {
        put(&mut p, e, 104 + 4 * i as usize, 4, 10 * i + 1);
    }
    // __data_loc char[] name
    let name = b"kworker/1:2\0";
    let off = p.len();
    p.extend_from_slice(name);
    put(&mut p, e, 48, 4, ((name.len() as u64) << 16) | off as u64);
    align4(&mut p);
    // __data_loc u8[] buf
    let buf = [1u8, 2, 3, 0xfe, 0xff];
    let off = p.len();
    p.extend_from_slice(&buf);
    put(&mut p, e, 80, 4, ((buf.len() as u64) << 16) | off as u64);
    align4(&mut p);
    // __data_loc unsigned long[] mask: two longs
    let off = p.len();
    p.resize(off + 16, 0);
    put(&mut p, e, off, 8, 0x8000_000f);
    put(&mut p, e, off + 8, 8, 1);
    put(&mut p, e, 84, 4, (16 << 16) | off as u64);
    // __rel_loc char[] rname: relative to the end of the field (124)
    let rn = b"relname\0";
    let off = p.len();
    p.extend_from_slice(rn);
    put(
        &mut p,
        e,
        120,
        4,
        ((rn.len() as u64) << 16) | (off - 124) as u64,
    );
    align4(&mut p);
    p
}

fn event(print_fmt: &str) -> EventFormat {
    let text = format!("{HDR}{print_fmt}\n");
    EventFormat::parse("sys", text.as_bytes(), 0).expect("test format parses")
}

/// Renders like trace-cmd: the print fmt, or the raw fallback.
fn render(print_fmt: &str, e: Endian) -> String {
    let ev = event(print_fmt);
    let syms = symbols();
    let ctx = RenderCtx::new(e, 8, &syms);
    let printer = EventPrinter::new(&ev, 8);
    let p = payload(e);
    let mut out = Vec::new();
    if printer.render(&p, &ctx, &mut out).is_err() {
        out.clear();
        printer.render_failed(&p, &ctx, &mut out);
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// (print fmt, libtraceevent's text for the little-endian record, and for
/// the big-endian one).
const TABLE: &[(&str, &str, &str)] = &[
    ("\"%d\", REC->a", "-5", "-5"),
    ("\"%d\", (REC)->a", "-5", "-5"),
    (
        "\"%d %d %d %d\", 10, 0x10, 010, 10UL",
        "10 16 8 10",
        "10 16 8 10",
    ),
    (
        "\"%s|%s|%d|%d\", \"lit\", 'c', 'c', '7'",
        "lit|c|0|7",
        "lit|c|0|7",
    ),
    (
        "\"%d %d %d %d %d %d\", REC->b + 2, REC->b - 7, REC->b * 4, 17 / REC->b, 17 % REC->b, REC->b << 4",
        "5 -4 12 5 2 48",
        "5 -4 12 5 2 48",
    ),
    ("\"%d %d\", 256 >> REC->b, REC->c >> 28", "32 13", "32 13"),
    (
        "\"%x %x %x %x\", REC->c & 0xff, REC->b | 0x100, REC->b ^ 1, ~REC->b",
        "ef 103 0 fffffffc",
        "ef 103 0 fffffffc",
    ),
    ("\"%d %d\", 6 ^ 3, 5 ^ REC->b", "5 0", "5 0"),
    (
        "\"%d %d %d %d\", REC->a && REC->b, REC->a || 0, !REC->b, !0",
        "1 1 0 1",
        "1 1 0 1",
    ),
    (
        "\"%d %d %d %d %d %d\", REC->b < 4, REC->b > 4, REC->b <= 3, REC->b >= 4, REC->b == 3, REC->b != 3",
        "1 0 1 0 1 0",
        "1 0 1 0 1 0",
    ),
    ("\"%d %d\", REC->a < 0, REC->a > 100", "0 1", "0 1"),
    (
        "\"%s %s\", REC->b ? \"yes\" : \"no\", !REC->b ? \"yes\" : \"no\"",
        "yes no",
        "yes no",
    ),
    ("\"%d\", REC->b == 3 ? 100 : 200", "100", "100"),
    (
        "\"%s\", REC->b == 1 ? \"one\" : REC->b == 3 ? \"three\" : \"other\"",
        "three",
        "three",
    ),
    ("\"%d %d\", 10 - 3 - 2, REC->b - 2 - 1", "9 2", "9 2"),
    (
        "\"%d %d\", REC->b * (REC->b + 1), (REC->b + 1) * REC->b",
        "10 12",
        "10 12",
    ),
    ("\"%d\", REC->b * -1", "-1", "-1"),
    ("\"%d\", REC->b ? 1 : 2 + 10", "11", "11"),
    (
        "\"%u %u %u\", (u8)REC->c, (u16)REC->c, (u32)REC->l",
        "239 48879 4352",
        "239 48879 4352",
    ),
    (
        "\"%d %lld %d\", (int)REC->c, (long long)REC->a, (char)REC->c",
        "-559038737 4294967291 239",
        "-559038737 4294967291 239",
    ),
    (
        "\"%ld %lx\", (long)REC->a, (unsigned long)REC->l",
        "4294967291 1100",
        "4294967291 1100",
    ),
    (
        "\"%d %d %d %d %d\", sizeof(int), sizeof(long), sizeof(REC->s), sizeof(long long), sizeof(unsigned int)",
        "4 8 2 8 4",
        "4 8 2 8 4",
    ),
    (
        "\"%s|%s|%s\", __get_str(name), __get_rel_str(rname), REC->comm",
        "kworker/1:2|relname|swapper/0",
        "kworker/1:2|relname|swapper/0",
    ),
    (
        "\"%d %d\", __get_dynamic_array_len(buf), __get_dynamic_array_len(mask)",
        "5 16",
        "5 16",
    ),
    (
        "\"%s\", __print_hex(__get_dynamic_array(buf), __get_dynamic_array_len(buf))",
        "01 02 03 fe ff",
        "01 02 03 fe ff",
    ),
    (
        "\"%s\", __print_hex_str(__get_dynamic_array(buf), 3)",
        "010203",
        "010203",
    ),
    (
        "\"%s\", __print_hex(REC->mac, 6)",
        "00 1b 21 ab cd ef",
        "00 1b 21 ab cd ef",
    ),
    (
        "\"{%s}\", __print_array(REC->arr, 4, 4)",
        "{1 11 21 31}",
        "{16777216 184549376 352321536 520093696}",
    ),
    (
        "\"%s\", __print_array(__get_dynamic_array(buf), 2, 2)",
        "513 65027",
        "513 65027",
    ),
    (
        "\"%s\", __get_bitmask(mask)",
        "00000000,00000001,00000000,8000000f",
        "00000000,8000000f,00000000,00000001",
    ),
    (
        "\"%s\", __print_symbolic(REC->b, { 1, \"ONE\" }, { 3, \"THREE\" })",
        "THREE",
        "THREE",
    ),
    (
        "\"%s\", __print_symbolic(REC->b, { 1, \"ONE\" })",
        "0x3",
        "0x3",
    ),
    (
        "\"%s\", __print_flags(REC->c, \"|\", { 1, \"A\" }, { 2, \"B\" }, { 4, \"C\" }, { 0x80000000, \"TOP\" })",
        "A|B|C|TOP|0x5eadbee8",
        "A|B|C|TOP|0x5eadbee8",
    ),
    (
        "\"%s\", __print_flags(0, \"|\", { 0, \"NONE\" }, { 1, \"A\" })",
        "",
        "",
    ),
    (
        "\"%s\", __print_flags(REC->b, \"\", { 1, \"A\" }, { 2, \"B\" })",
        "AB",
        "AB",
    ),
    (
        "\"%s\", __print_flags(REC->b, \"|\", { HI_SOFTIRQ, \"HI\" }, { TIMER_SOFTIRQ, \"TIMER\" }, { NET_TX_SOFTIRQ, \"NET_TX\" })",
        "TIMER|NET_TX",
        "TIMER|NET_TX",
    ),
    (
        "\"%s\", __print_flags(REC->b & 3, \"|\", { (1 << 0), \"X\" }, { 1 << 1, \"Y\" })",
        "X|Y",
        "X|Y",
    ),
    ("\"%d\", __builtin_expect(REC->b, 1)", "3", "3"),
    (
        "\"%d %d\", REC->arr[2], ((u8 *)REC->arr)[1]",
        "21 11",
        "21 11",
    ),
    (
        "\"%d\", jiffies_to_msecs(REC->a)",
        "[FAILED TO PARSE] a=-5 b=3 c=3735928559 l=0x1100 comm=swapper/0 name=kworker/1:2 mac= ip4=ARRAY[c0, a8, 01, 14] ip6=ARRAY[20, 01, 0d, b8, 00, 00, 00, 00, 00, 00, 00, 00, 00, 00, 00, 01] buf=ARRAY[01, 02, 03, fe, ff] mask=ARRAY[0f, 00, 00, 80, 00, 00, 00, 00, 01, 00, 00, 00, 00, 00, 00, 00] s=-2 ptr=0x2004 arr=ARRAY[01, 00, 00, 00, 0b, 00, 00, 00, 15, 00, 00, 00, 1f, 00, 00, 00] rname=relname",
        "[FAILED TO PARSE] a=-5 b=3 c=3735928559 l=0x1100 comm=swapper/0 name=kworker/1:2 mac= ip4=ARRAY[c0, a8, 01, 14] ip6=ARRAY[20, 01, 0d, b8, 00, 00, 00, 00, 00, 00, 00, 00, 00, 00, 00, 01] buf=ARRAY[01, 02, 03, fe, ff] mask=ARRAY[00, 00, 00, 00, 80, 00, 00, 0f, 00, 00, 00, 00, 00, 00, 00, 01] s=-2 ptr=0x2004 arr=ARRAY[00, 00, 00, 01, 00, 00, 00, 0b, 00, 00, 00, 15, 00, 00, 00, 1f] rname=relname",
    ),
    (
        "\"%d %d\", REC->a",
        "[FAILED TO PARSE] a=-5 b=3 c=3735928559 l=0x1100 comm=swapper/0 name=kworker/1:2 mac= ip4=ARRAY[c0, a8, 01, 14] ip6=ARRAY[20, 01, 0d, b8, 00, 00, 00, 00, 00, 00, 00, 00, 00, 00, 00, 01] buf=ARRAY[01, 02, 03, fe, ff] mask=ARRAY[0f, 00, 00, 80, 00, 00, 00, 00, 01, 00, 00, 00, 00, 00, 00, 00] s=-2 ptr=0x2004 arr=ARRAY[01, 00, 00, 00, 0b, 00, 00, 00, 15, 00, 00, 00, 1f, 00, 00, 00] rname=relname",
        "[FAILED TO PARSE] a=-5 b=3 c=3735928559 l=0x1100 comm=swapper/0 name=kworker/1:2 mac= ip4=ARRAY[c0, a8, 01, 14] ip6=ARRAY[20, 01, 0d, b8, 00, 00, 00, 00, 00, 00, 00, 00, 00, 00, 00, 01] buf=ARRAY[01, 02, 03, fe, ff] mask=ARRAY[00, 00, 00, 00, 80, 00, 00, 0f, 00, 00, 00, 00, 00, 00, 00, 01] s=-2 ptr=0x2004 arr=ARRAY[00, 00, 00, 01, 00, 00, 00, 0b, 00, 00, 00, 15, 00, 00, 00, 1f] rname=relname",
    ),
    (
        "\"%d|%i|%u|%ld|%lu|%lld|%llu|%Lx|%x|%lx|%llx|%zu|%zd|%X|%o\", REC->a, REC->a, REC->a, REC->a, REC->a, REC->a, REC->a, REC->a, REC->a, REC->a, REC->a, REC->a, REC->a, REC->a, REC->a",
        "-5|-5|4294967291|4294967291|4294967291|4294967291|4294967291|fffffffb|fffffffb|fffffffb|fffffffb|4294967291|4294967291|FFFFFFFB|37777777773",
        "-5|-5|4294967291|4294967291|4294967291|4294967291|4294967291|fffffffb|fffffffb|fffffffb|fffffffb|4294967291|4294967291|FFFFFFFB|37777777773",
    ),
    (
        "\"[%5d][%-5d][%05d][%+d][%.3d][%#x][%#o][%5.3d]\", REC->b, REC->b, REC->b, REC->b, REC->b, REC->b, REC->b, REC->b",
        "[    3][3    ][00003][>+<d][003][0x3][03][  003]",
        "[    3][3    ][00003][>+<d][003][0x3][03][  003]",
    ),
    (
        "\"[%*d][%-*d][%.*s]\", 6, REC->b, 4, REC->b, 3, REC->comm",
        "[     3][3   ][swa]",
        "[     3][3   ][swa]",
    ),
    (
        "\"[%10s][%-10s][%.4s]\", REC->comm, REC->comm, REC->comm",
        "[ swapper/0][swapper/0 ][swap]",
        "[ swapper/0][swapper/0 ][swap]",
    ),
    (
        "\"%hd %hhd %hu %hhx %lu\", REC->a, REC->a, REC->a, REC->a, REC->s",
        "-5 -5 65531 fb 65534",
        "-5 -5 65531 fb 65534",
    ),
    ("\"%c|%5c|%d\", REC->b, REC->b", ">c<|>c<|3", ">c<|>c<|3"),
    ("\"100%% %d%%\", REC->b", "100% 3%", "100% 3%"),
    (
        "\"%p %p\", REC->ptr, REC->a - REC->a",
        "0x2004 (nil)",
        "0x2004 (nil)",
    ),
    (
        "\"%pS %ps %pF %pf\", REC->l, REC->l, (void *)0x1104, 0x1104",
        "func_b+0x0 func_b func_b+0x4 func_b",
        "func_b+0x0 func_b func_b+0x4 func_b",
    ),
    (
        "\"%pS %ps\", REC->ptr, 0x5000",
        "func_c+0x4 0x5000",
        "func_c+0x4 0x5000",
    ),
    (
        "\"%pM %pm %pMR %pMF\", REC->mac, REC->mac, REC->mac, REC->mac",
        "00:1b:21:ab:cd:ef 001b21abcdef ef:cd:ab:21:1b:00 00-1b-21-ab-cd-ef",
        "00:1b:21:ab:cd:ef 001b21abcdef ef:cd:ab:21:1b:00 00-1b-21-ab-cd-ef",
    ),
    (
        "\"%pI4 %pi4 %pI4h %pI4n\", REC->ip4, REC->ip4, REC->ip4, REC->ip4",
        "192.168.1.20 192.168.001.020 20.1.168.192 192.168.1.20",
        "192.168.1.20 192.168.001.020 192.168.1.20 192.168.1.20",
    ),
    (
        "\"%pI6 %pi6 %pI6c\", REC->ip6, REC->ip6, REC->ip6",
        "2001:0db8:0000:0000:0000:0000:0000:0001 20010db8000000000000000000000001 2001:db8::1",
        "2001:0db8:0000:0000:0000:0000:0000:0001 20010db8000000000000000000000001 2001:db8::1",
    ),
    (
        "\"%pU %pUb %pUL %pUl\", REC->ip6, REC->ip6, REC->ip6, REC->ip6",
        "20010db8-0000-0000-0000-000000000001 20010db8-0000-0000-0000-000000000001 B80D0120-0000-0000-0000-000000000001 b80d0120-0000-0000-0000-000000000001",
        "20010db8-0000-0000-0000-000000000001 20010db8-0000-0000-0000-000000000001 B80D0120-0000-0000-0000-000000000001 b80d0120-0000-0000-0000-000000000001",
    ),
    (
        "\"%*ph|%*phC|%*phD|%*phN|%ph\", 3, __get_dynamic_array(buf), 9, __get_dynamic_array(buf), 2, __get_dynamic_array(buf), 5, __get_dynamic_array(buf), __get_dynamic_array(buf)",
        "01 02 03|01:02:03:fe:ff|01-02|010203feff|01",
        "01 02 03|01:02:03:fe:ff|01-02|010203feff|01",
    ),
    (
        "\"%pM|%pI4|%pI6|%pU|%ph\", REC->a, REC->a, REC->a, REC->a, REC->a",
        "INVALIDMAC|251.255.255.255|INVALIDIPv6|INVALIDUUID|ARG TYPE NOT FIELD BUT 2",
        "INVALIDMAC|255.255.255.251|INVALIDIPv6|INVALIDUUID|ARG TYPE NOT FIELD BUT 2",
    ),
    (
        "\"%pM\", REC->a + 1",
        "ARG TYPE NOT FIELD BUT 11",
        "ARG TYPE NOT FIELD BUT 11",
    ),
    (
        "\"%pK %pB\", REC->ptr, REC->ptr",
        "0x2004K 0x2004B",
        "0x2004K 0x2004B",
    ),
    ("\"%*pbl\", 64, __get_bitmask(mask)", "(nil)bl", "(nil)bl"),
    (
        "\"%s %s\", REC->ptr, REC->l",
        "a printk string 1100",
        "420000000000000 11000000000000",
    ),
    ("\"%y%d\", REC->b", ">y<3", ">y<3"),
    ("\"a\\tb\\\\c\\\"d\\n\"", "a\tb\\c\"d", "a\tb\\c\"d"),
    (
        "\"%s\", \"str\\twith escape\"",
        "str\\twith escape",
        "str\\twith escape",
    ),
    (
        "\"%d\"",
        "[FAILED TO PARSE] a=-5 b=3 c=3735928559 l=0x1100 comm=swapper/0 name=kworker/1:2 mac= ip4=ARRAY[c0, a8, 01, 14] ip6=ARRAY[20, 01, 0d, b8, 00, 00, 00, 00, 00, 00, 00, 00, 00, 00, 00, 01] buf=ARRAY[01, 02, 03, fe, ff] mask=ARRAY[0f, 00, 00, 80, 00, 00, 00, 00, 01, 00, 00, 00, 00, 00, 00, 00] s=-2 ptr=0x2004 arr=ARRAY[01, 00, 00, 00, 0b, 00, 00, 00, 15, 00, 00, 00, 1f, 00, 00, 00] rname=relname",
        "[FAILED TO PARSE] a=-5 b=3 c=3735928559 l=0x1100 comm=swapper/0 name=kworker/1:2 mac= ip4=ARRAY[c0, a8, 01, 14] ip6=ARRAY[20, 01, 0d, b8, 00, 00, 00, 00, 00, 00, 00, 00, 00, 00, 00, 01] buf=ARRAY[01, 02, 03, fe, ff] mask=ARRAY[00, 00, 00, 00, 80, 00, 00, 0f, 00, 00, 00, 00, 00, 00, 00, 01] s=-2 ptr=0x2004 arr=ARRAY[00, 00, 00, 01, 00, 00, 00, 0b, 00, 00, 00, 15, 00, 00, 00, 1f] rname=relname",
    ),
    ("\"no args\"", "no args", "no args"),
];

#[test]
fn table_little_endian_matches_libtraceevent() {
    for (fmt, want, _) in TABLE {
        assert_eq!(render(fmt, Endian::Little), *want, "print fmt: {fmt}");
    }
}

#[test]
fn table_big_endian_matches_libtraceevent() {
    for (fmt, _, want) in TABLE {
        assert_eq!(render(fmt, Endian::Big), *want, "print fmt: {fmt}");
    }
}

// ---------------------------------------------------------------------------
// Real kernel formats and the special ftrace events.

const COMMON: &str = "format:\n\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n";

fn fmt(system: &str, name: &str, fields: &str, print_fmt: &str) -> EventFormat {
    let text = format!("name: {name}\nID: 9\n{COMMON}{fields}\nprint fmt: {print_fmt}\n");
    EventFormat::parse(system, text.as_bytes(), 0).expect("format parses")
}

fn show(ev: &EventFormat, p: &[u8], e: Endian, long: usize, syms: &Symbols) -> String {
    let ctx = RenderCtx::new(e, long, syms);
    let printer = EventPrinter::new(ev, long);
    let mut out = Vec::new();
    printer.render(p, &ctx, &mut out).expect("renders");
    String::from_utf8(out).expect("utf8")
}

const SCHED_SWITCH_FIELDS: &str = "\tfield:char prev_comm[16];\toffset:8;\tsize:16;\tsigned:0;\n\tfield:pid_t prev_pid;\toffset:24;\tsize:4;\tsigned:1;\n\tfield:int prev_prio;\toffset:28;\tsize:4;\tsigned:1;\n\tfield:long prev_state;\toffset:32;\tsize:8;\tsigned:1;\n\tfield:char next_comm[16];\toffset:40;\tsize:16;\tsigned:0;\n\tfield:pid_t next_pid;\toffset:56;\tsize:4;\tsigned:1;\n\tfield:int next_prio;\toffset:60;\tsize:4;\tsigned:1;\n";
/// x86_64 6.18's sched_switch print fmt, verbatim.
const SCHED_SWITCH_FMT: &str = r#""prev_comm=%s prev_pid=%d prev_prio=%d prev_state=%s%s ==> next_comm=%s next_pid=%d next_prio=%d", REC->prev_comm, REC->prev_pid, REC->prev_prio, (REC->prev_state & ((((0x00000000 | 0x00000001 | 0x00000002 | 0x00000004 | 0x00000008 | 0x00000010 | 0x00000020 | 0x00000040) + 1) << 1) - 1)) ? __print_flags(REC->prev_state & ((((0x00000000 | 0x00000001 | 0x00000002 | 0x00000004 | 0x00000008 | 0x00000010 | 0x00000020 | 0x00000040) + 1) << 1) - 1), "|", { 0x00000001, "S" }, { 0x00000002, "D" }, { 0x00000004, "T" }, { 0x00000008, "t" }, { 0x00000010, "X" }, { 0x00000020, "Z" }, { 0x00000040, "P" }, { 0x00000080, "I" }) : "R", REC->prev_state & (((0x00000000 | 0x00000001 | 0x00000002 | 0x00000004 | 0x00000008 | 0x00000010 | 0x00000020 | 0x00000040) + 1) << 1) ? "+" : "", REC->next_comm, REC->next_pid, REC->next_prio"#;

fn sched_switch(e: Endian, state: u64) -> Vec<u8> {
    let mut p = vec![0u8; 64];
    put(&mut p, e, 0, 2, 9);
    p[8..17].copy_from_slice(b"trace-cmd");
    put(&mut p, e, 24, 4, 20809);
    put(&mut p, e, 28, 4, 120);
    put(&mut p, e, 32, 8, state);
    p[40..51].copy_from_slice(b"migration/0");
    put(&mut p, e, 56, 4, 18);
    p
}

#[test]
fn sched_switch_prev_state() {
    let ev = fmt(
        "sched",
        "sched_switch",
        SCHED_SWITCH_FIELDS,
        SCHED_SWITCH_FMT,
    );
    let syms = Symbols::default();
    let tail = "==> next_comm=migration/0 next_pid=18 next_prio=0";
    for e in [Endian::Little, Endian::Big] {
        for (state, text) in [
            (0x100, "R+"),
            (0, "R"),
            (1, "S"),
            (2, "D"),
            (0x81, "S|I"),
            (0x101, "S+"),
            (0x200, "R"),
        ] {
            assert_eq!(
                show(&ev, &sched_switch(e, state), e, 8, &syms),
                format!(
                    "prev_comm=trace-cmd prev_pid=20809 prev_prio=120 prev_state={text} {tail}"
                )
            );
        }
    }
}

#[test]
fn tlb_flush_symbolic_and_negative_pages() {
    let ev = fmt(
        "tlb",
        "tlb_flush",
        "\tfield:int reason;\toffset:8;\tsize:4;\tsigned:1;\n\tfield:unsigned long pages;\toffset:16;\tsize:8;\tsigned:0;\n",
        r#""pages:%ld reason:%s (%d)", REC->pages, __print_symbolic(REC->reason, { 0, "flush on task switch" }, { 1, "remote shootdown" }, { 2, "local shootdown" }, { 3, "local MM shootdown" }, { 4, "remote IPI send" }, { 5, "remote wrong CPU" }), REC->reason"#,
    );
    let syms = Symbols::default();
    let rec = |reason: u64, pages: u64| {
        let mut p = vec![0u8; 24];
        put(&mut p, Endian::Little, 8, 4, reason);
        put(&mut p, Endian::Little, 16, 8, pages);
        p
    };
    assert_eq!(
        show(&ev, &rec(0, u64::MAX), Endian::Little, 8, &syms),
        "pages:-1 reason:flush on task switch (0)"
    );
    assert_eq!(
        show(&ev, &rec(7, 3), Endian::Little, 8, &syms),
        "pages:3 reason:0x7 (7)"
    );
}

#[test]
fn ftrace_print_function_and_kprobes() {
    let syms = Symbols::parse(
        b"ffff800008000000 T el0_svc\nffff800008000100 T do_notify_resume\nffff800008000200 T tracing_mark_write\nffff800008000300 T zzz_end\n",
        b"",
    );
    // print: a trailing newline of the buffer is dropped, inner ones kept.
    let print = fmt(
        "ftrace",
        "print",
        "\tfield:unsigned long ip;\toffset:8;\tsize:8;\tsigned:0;\n\tfield:char buf[];\toffset:16;\tsize:0;\tsigned:0;\n",
        r#""%ps: %s", (void *)REC->ip, REC->buf"#,
    );
    for e in [Endian::Little, Endian::Big] {
        let mut p = vec![0u8; 16];
        put(&mut p, e, 8, 8, 0xffff800008000208);
        p.extend_from_slice(b"fixture: round=0\n\0\0\0");
        assert_eq!(
            show(&print, &p, e, 8, &syms),
            "tracing_mark_write: fixture: round=0"
        );
        p.truncate(16);
        p.extend_from_slice(b"a\nb\n\0\0\0\0");
        assert_eq!(show(&print, &p, e, 8, &syms), "tracing_mark_write: a\nb");
    }
    // function: leading space, unresolved addresses in hex.
    let function = fmt(
        "ftrace",
        "function",
        "\tfield:unsigned long ip;\toffset:8;\tsize:8;\tsigned:0;\n\tfield:unsigned long parent_ip;\toffset:16;\tsize:8;\tsigned:0;\n",
        r#"" %ps <-- %ps", (void *)REC->ip, (void *)REC->parent_ip"#,
    );
    let mut p = vec![0u8; 24];
    put(&mut p, Endian::Big, 8, 8, 0xffff800008000100);
    put(&mut p, Endian::Big, 16, 8, 0xffff800008000044);
    assert_eq!(
        show(&function, &p, Endian::Big, 8, &syms),
        " do_notify_resume <-- el0_svc"
    );
    put(&mut p, Endian::Big, 8, 8, 0x1234);
    assert_eq!(
        show(&function, &p, Endian::Big, 8, &syms),
        " 0x1234 <-- el0_svc"
    );
    // kprobe and kretprobe events (s390x shapes, 8-byte longs).
    let kprobe = fmt(
        "kprobes",
        "exit_to_user",
        "\tfield:unsigned long __probe_ip;\toffset:8;\tsize:8;\tsigned:0;\n\tfield:u64 regs;\toffset:16;\tsize:8;\tsigned:0;\n\tfield:s32 cur_pid;\toffset:24;\tsize:4;\tsigned:1;\n",
        r#""(%lx) regs=0x%Lx cur_pid=%d", REC->__probe_ip, REC->regs, REC->cur_pid"#,
    );
    let mut p = vec![0u8; 28];
    put(&mut p, Endian::Big, 8, 8, 0x1e0f70);
    put(&mut p, Endian::Big, 16, 8, 0x380003c7f38);
    put(&mut p, Endian::Big, 24, 4, 377);
    assert_eq!(
        show(&kprobe, &p, Endian::Big, 8, &syms),
        "(1e0f70) regs=0x380003c7f38 cur_pid=377"
    );
    let kretprobe = fmt(
        "kprobes",
        "finish_task_switch_ret",
        "\tfield:unsigned long __probe_func;\toffset:8;\tsize:8;\tsigned:0;\n\tfield:unsigned long __probe_ret_ip;\toffset:16;\tsize:8;\tsigned:0;\n",
        r#""(%lx <- %lx)", REC->__probe_func, REC->__probe_ret_ip"#,
    );
    let mut p = vec![0u8; 24];
    put(&mut p, Endian::Little, 8, 8, 0x184d30);
    put(&mut p, Endian::Little, 16, 8, 0xa29ad2);
    assert_eq!(
        show(&kretprobe, &p, Endian::Little, 8, &syms),
        "(184d30 <- a29ad2)"
    );
}

#[test]
fn bputs_resolves_its_string_through_printk() {
    let syms = Symbols::parse(
        b"0000000000001000 T func_a\n0000000000002000 T func_c\n",
        b"0x2040 : \"a constant\\n\"\n",
    );
    let ev = fmt(
        "ftrace",
        "bputs",
        "\tfield:unsigned long ip;\toffset:8;\tsize:8;\tsigned:0;\n\tfield:const char * str;\toffset:16;\tsize:8;\tsigned:0;\n",
        r#""%ps: %s", (void *)REC->ip, REC->str"#,
    );
    let mut p = vec![0u8; 24];
    put(&mut p, Endian::Little, 8, 8, 0x1010);
    put(&mut p, Endian::Little, 16, 8, 0x2040);
    assert_eq!(
        show(&ev, &p, Endian::Little, 8, &syms),
        "func_a: a constant"
    );
    put(&mut p, Endian::Little, 16, 8, 0x2048);
    assert_eq!(show(&ev, &p, Endian::Little, 8, &syms), "func_a: 2048");
}

// ---------------------------------------------------------------------------
// bprint: arguments packed by vbin_printf, both byte orders, both long sizes.

fn bprint_format(long: usize) -> EventFormat {
    let fields = if long == 8 {
        "\tfield:unsigned long ip;\toffset:8;\tsize:8;\tsigned:0;\n\tfield:const char * fmt;\toffset:16;\tsize:8;\tsigned:0;\n\tfield:u32 buf[];\toffset:24;\tsize:0;\tsigned:0;\n"
    } else {
        "\tfield:unsigned long ip;\toffset:8;\tsize:4;\tsigned:0;\n\tfield:const char * fmt;\toffset:12;\tsize:4;\tsigned:0;\n\tfield:u32 buf[];\toffset:16;\tsize:0;\tsigned:0;\n"
    };
    fmt(
        "ftrace",
        "bprint",
        fields,
        r#""%ps: %s", (void *)REC->ip, REC->fmt"#,
    )
}

/// One `vbin_printf` argument.
enum BArg<'a> {
    /// `int` (`%d`, `%*`): 4 bytes, 4-aligned.
    Int(u32),
    /// `long`, `size_t`, pointers: the kernel long, 4-aligned.
    Long(u64),
    /// `long long`: 8 bytes, 4-aligned.
    LongLong(u64),
    /// `%s`: inline, NUL-terminated, unaligned.
    Str(&'a [u8]),
}

fn bprint_record(e: Endian, long: usize, ip: u64, fmt_addr: u64, args: &[BArg<'_>]) -> Vec<u8> {
    let mut p = vec![0u8; 8 + 2 * long];
    put(&mut p, e, 0, 2, 9);
    put(&mut p, e, 8, long, ip);
    put(&mut p, e, 8 + long, long, fmt_addr);
    for a in args {
        let (v, n) = match a {
            BArg::Str(s) => {
                p.extend_from_slice(s);
                p.push(0);
                continue;
            }
            BArg::Int(v) => (u64::from(*v), 4),
            BArg::Long(v) => (*v, long),
            BArg::LongLong(v) => (*v, 8),
        };
        align4(&mut p);
        let at = p.len();
        p.resize(at + n, 0);
        put(&mut p, e, at, n, v);
    }
    align4(&mut p);
    p
}

const BPRINT_KALLSYMS: &[u8] = b"0000000000001000 T func_a\n0000000000001100 t func_b\n0000000000002000 T func_c\n0000000000003000 T last_one\n";
const BPRINT_PRINTK: &[u8] = b"0x2040 : \"evt=%s pid=%d util=%lu big=%llx p=%p w=%*d s2=%s\\n\"\n0x2080 : \"%-6s|%c|%hd|%d\"\n";

#[test]
fn bprint_both_byte_orders_and_long_sizes() {
    let syms = Symbols::parse(BPRINT_KALLSYMS, BPRINT_PRINTK);
    for long in [8usize, 4] {
        let ev = bprint_format(long);
        let ptr = if long == 8 {
            0xffff_ffc9_7fed_2f68
        } else {
            0x7fed_2f68
        };
        for e in [Endian::Little, Endian::Big] {
            let p = bprint_record(
                e,
                long,
                0x2010,
                0x2040,
                &[
                    BArg::Str(b"sudo"),
                    BArg::Int(6972),
                    BArg::Long(966),
                    BArg::LongLong(0x1234_5678_9abc_def0),
                    BArg::Long(ptr),
                    BArg::Int(5),
                    BArg::Int(42),
                    BArg::Str(b"end"),
                ],
            );
            // Checked against libtraceevent 1.7.1 with the same bytes.
            assert_eq!(
                show(&ev, &p, e, long, &syms),
                format!(
                    "func_c: evt=sudo pid=6972 util=966 big=123456789abcdef0 p=0x{ptr:x} w=   42 s2=end"
                ),
                "{e:?} long={long}"
            );
        }
    }
}

#[test]
fn bprint_quirks_match_libtraceevent() {
    let syms = Symbols::parse(BPRINT_KALLSYMS, BPRINT_PRINTK);
    let ev = bprint_format(8);
    let ctx = RenderCtx::new(Endian::Little, 8, &syms);
    // No printk string at the address.
    let printer = EventPrinter::new(&ev, 8);
    let p = bprint_record(Endian::Little, 8, 0x2010, 0x3333, &[]);
    let mut out = Vec::new();
    printer.render(&p, &ctx, &mut out).unwrap();
    assert_eq!(out, b"func_c: (NO FORMAT FOUND at 3333)");
    // `%-6s`, `%c` and `%hd` take no argument when unpacking; the format then
    // runs out of arguments: that record prints partially and the event is
    // failed from then on.
    let printer = EventPrinter::new(&ev, 8);
    let p = bprint_record(
        Endian::Little,
        8,
        0x2010,
        0x2080,
        &[BArg::Str(b"ab"), BArg::Int(7), BArg::Int(9)],
    );
    let mut out = Vec::new();
    printer.render(&p, &ctx, &mut out).unwrap();
    assert_eq!(String::from_utf8_lossy(&out), "func_c: 25185 |>c<|d|d");
    out.clear();
    assert!(printer.render(&p, &ctx, &mut out).is_err());
    printer.render_failed(&p, &ctx, &mut out);
    assert_eq!(
        String::from_utf8_lossy(&out),
        "[FAILED TO PARSE] ip=0x2010 fmt=0x2080 buf=ARRAY[]"
    );
    // A record too short for its arguments is an error, not a panic.
    let printer = EventPrinter::new(&ev, 8);
    let mut p = bprint_record(Endian::Little, 8, 0x2010, 0x2040, &[BArg::Str(b"x")]);
    p.push(1);
    let mut out = Vec::new();
    assert!(matches!(
        printer.render(&p[..p.len() - 1], &ctx, &mut out),
        Ok(()) | Err(PrintFmtError::OutOfBounds(_))
    ));
}

// ---------------------------------------------------------------------------
// The raw form (`trace-cmd report -R`): fields the print fmt converts.

fn raw(print_fmt: &str, e: Endian) -> String {
    let ev = event(print_fmt);
    let syms = symbols();
    let ctx = RenderCtx::new(e, 8, &syms);
    let mut out = Vec::new();
    EventPrinter::new(&ev, 8).render_raw(&payload(e), &ctx, &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// The expected strings follow what trace-cmd 3.1.6 `report -R` printed for
/// the same shapes (tests/print_fmt_trace_cmd.rs checks them live).
#[test]
fn raw_form_uses_each_fields_own_conversion() {
    for e in [Endian::Little, Endian::Big] {
        // `(%lx)`, `0x` before `%Lx` is kept, a width is honoured; `a` has
        // no conversion and prints by its type.
        let r = raw(r#""(%lx) x=0x%Lx b=%5d", REC->l, REC->c, REC->b"#, e);
        assert!(
            r.starts_with(" a=-5 b=    3 c=0xdeadbeef l=1100 comm=swapper/0 "),
            "{e:?}: {r}"
        );
        // A cast is applied; symbols resolve.
        let r = raw(r#""%u %pS %pF", (u8)REC->c, REC->l, REC->ptr"#, e);
        assert!(
            r.starts_with(" a=-5 b=3 c=239 l=func_b+0x0 comm=swapper/0 "),
            "{e:?}: {r}"
        );
        assert!(r.contains(" ptr=func_c+0x4 "), "{e:?}: {r}");
        // The search for a field's conversion starts after the previous
        // field's: `c` takes its second conversion here.
        let r = raw(r#""%x %d %u", REC->c, REC->a, REC->c"#, e);
        assert!(r.starts_with(" a=-5 b=3 c=3735928559 l="), "{e:?}: {r}");
        // Arguments that are not plain fields give no conversion.
        let r = raw(r#""%d %x", REC->a + 1, REC->c & 0xff"#, e);
        assert!(
            r.starts_with(" a=-5 b=3 c=3735928559 l=0x1100 "),
            "{e:?}: {r}"
        );
        // Arrays and strings are never converted.
        let r = raw(r#""%s %d", REC->comm, REC->arr"#, e);
        assert!(r.contains(" comm=swapper/0 "), "{e:?}: {r}");
        assert!(r.contains(" arr=ARRAY["), "{e:?}: {r}");
        // A print fmt that does not parse: every field by its type, as after
        // `[FAILED TO PARSE]`.
        let r = raw(r#""%d", jiffies_to_msecs(REC->a)"#, e);
        let mut failed = Vec::new();
        let ev = event(r#""%d", jiffies_to_msecs(REC->a)"#);
        let syms = symbols();
        EventPrinter::new(&ev, 8).render_failed(
            &payload(e),
            &RenderCtx::new(e, 8, &syms),
            &mut failed,
        );
        assert_eq!(format!("[FAILED TO PARSE]{r}").as_bytes(), &failed[..]);
    }
}

/// `__get_cpumask`: a CPU list, in both byte orders and both long sizes
/// (trace-cmd printed `0-2,4-5,7` for this mask).
#[test]
fn cpumask_prints_a_cpu_list() {
    let syms = symbols();
    for long in [8usize, 4] {
        let ev = fmt(
            "sys",
            "ipi",
            "\tfield:__data_loc unsigned long[] cpus;\toffset:8;\tsize:4;\tsigned:0;\n",
            r#""cpus=%s", __get_cpumask(cpus)"#,
        );
        for e in [Endian::Little, Endian::Big] {
            let mut p = vec![0u8; 12 + long];
            put(&mut p, e, 8, 4, ((long as u64) << 16) | 12);
            put(&mut p, e, 12, long, 0b1011_0111);
            assert_eq!(
                show(&ev, &p, e, long, &syms),
                "cpus=0-2,4-5,7",
                "{e:?} {long}"
            );
        }
    }
}

// ---------------------------------------------------------------------------
// API, errors and robustness.

#[test]
fn parse_api_and_errors() {
    let ev = event(r#""%d"#);
    let p = PrintFmt::parse(r#""a=%d b=%s\n", REC->a, "x""#, &ev, 8).unwrap();
    assert_eq!(p.format_string(), r"a=%d b=%s\n");
    assert_eq!(p.arg_count(), 2);
    let err = |t: &str| PrintFmt::parse(t, &ev, 8).unwrap_err();
    assert!(matches!(err(""), PrintFmtError::Syntax(_)));
    assert!(matches!(err("REC->a"), PrintFmtError::Syntax(_)));
    assert!(matches!(
        err(r#""%d", foo(REC->a)"#),
        PrintFmtError::UnknownFunction(f) if f == "foo"
    ));
    assert!(matches!(
        err(r#""%d %d", REC->a"#),
        PrintFmtError::MissingArgument
    ));
    assert!(matches!(
        err(r#""%s", __get_dynamic_array(nope)"#),
        PrintFmtError::UnknownField(_)
    ));
    assert!(matches!(
        err(r#""%d", sizeof(u64)"#),
        PrintFmtError::Syntax(_)
    ));
    assert!(matches!(
        err(r#""%d", REC->a ? 1"#),
        PrintFmtError::Syntax(_)
    ));
    // A print fmt that fails keeps the printer usable for the fallback.
    let bad = event(r#""%d", jiffies_to_msecs(REC->a)"#);
    let printer = EventPrinter::new(&bad, 8);
    assert!(matches!(
        printer.parse_error(),
        Some(PrintFmtError::UnknownFunction(_))
    ));
    assert!(printer.print_fmt().is_none());
    // Division by zero is an error where libtraceevent would crash.
    // (`REC->a / (REC->b - 3)` would not do: libtraceevent rotates it into
    // `(REC->a / REC->b) - 3`.)
    let div = event(r#""%d", REC->a / 0"#);
    let syms = symbols();
    let ctx = RenderCtx::new(Endian::Little, 8, &syms);
    let mut out = Vec::new();
    assert_eq!(
        EventPrinter::new(&div, 8).render(&payload(Endian::Little), &ctx, &mut out),
        Err(PrintFmtError::DivideByZero)
    );
    assert!(out.is_empty());
    assert!(matches!(
        PrintFmt::parse(r#""%d", 1 / 0"#, &ev, 8),
        Err(PrintFmtError::DivideByZero)
    ));
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let ev = event(r#""%d"#);
    let deep = format!(r#""%d", {}REC->a{}"#, "(".repeat(2_000), ")".repeat(2_000));
    assert_eq!(PrintFmt::parse(&deep, &ev, 8), Err(PrintFmtError::TooDeep));
    let chain = format!(r#""%d", REC->a{}"#, " - 1".repeat(3_000));
    assert_eq!(PrintFmt::parse(&chain, &ev, 8), Err(PrintFmtError::TooDeep));
    let unary = format!(r#""%d", {}1"#, "~".repeat(5_000));
    assert_eq!(PrintFmt::parse(&unary, &ev, 8), Err(PrintFmtError::TooDeep));
    let conds = format!(r#""%d", {}1"#, "1 ? 2 : ".repeat(2_000));
    assert_eq!(PrintFmt::parse(&conds, &ev, 8), Err(PrintFmtError::TooDeep));
    // Beyond the size limits the text is refused before any recursion.
    let huge = format!(r#""%d", {}REC->a"#, "(".repeat(100_000));
    assert!(matches!(
        PrintFmt::parse(&huge, &ev, 8),
        Err(PrintFmtError::TooLarge(_))
    ));
    // Long but flat argument lists are fine up to the limit.
    let many = format!(
        r#""{}", {}"#,
        "%d".repeat(400),
        vec!["REC->a"; 400].join(", ")
    );
    assert!(PrintFmt::parse(&many, &ev, 8).is_ok());
}

#[test]
fn short_records_never_panic() {
    let syms = symbols();
    for e in [Endian::Little, Endian::Big] {
        let full = payload(e);
        let ctx = RenderCtx::new(e, 8, &syms);
        for (f, _, _) in TABLE {
            let ev = event(f);
            let printer = EventPrinter::new(&ev, 8);
            for n in 0..=full.len() {
                let mut out = Vec::new();
                if printer.render(&full[..n], &ctx, &mut out).is_err() {
                    printer.render_failed(&full[..n], &ctx, &mut out);
                }
            }
        }
    }
}

mod fuzz {
    use super::*;
    use proptest::prelude::*;

    const PIECES: &[&str] = &[
        "REC->a",
        "REC->b",
        "REC->c",
        "REC->l",
        "REC->comm",
        "(REC)->s",
        "REC->arr[1]",
        "0x10",
        "7",
        "'c'",
        "\"s\"",
        "(",
        ")",
        ",",
        "?",
        ":",
        "+",
        "-",
        "*",
        "/",
        "%",
        "<<",
        ">>",
        "&",
        "|",
        "^",
        "~",
        "!",
        "&&",
        "||",
        "==",
        "!=",
        "<",
        ">=",
        "[",
        "]",
        "{",
        "}",
        "(u8)",
        "(int)",
        "(void *)",
        "sizeof(int)",
        "__get_str(name)",
        "__get_dynamic_array(buf)",
        "__get_dynamic_array_len(buf)",
        "__get_bitmask(mask)",
        "__print_flags(",
        "__print_symbolic(",
        "__print_hex(",
        "__print_array(",
        "{ 1, \"A\" }",
        "\"|\"",
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Random token soups: parse may fail, nothing may panic.
        #[test]
        fn random_print_fmts(
            conv in "[%a-z0-9 *.#+-]{0,12}",
            picks in proptest::collection::vec(0..PIECES.len(), 0..24),
            data in proptest::collection::vec(any::<u8>(), 0..160),
        ) {
            let args: Vec<&str> = picks.iter().map(|&i| PIECES[i]).collect();
            let text = format!("\"{conv}\", {}", args.join(" "));
            let ev = event(r#""%d"#);
            let syms = symbols();
            for e in [Endian::Little, Endian::Big] {
                let ctx = RenderCtx::new(e, 8, &syms);
                if let Ok(p) = PrintFmt::parse(&text, &ev, 8) {
                    let mut out = Vec::new();
                    let _ = p.render(&data, &ctx, &mut out);
                    let _ = p.render(&payload(e), &ctx, &mut out);
                }
            }
        }

        /// Arbitrary bytes as the print fmt itself.
        #[test]
        fn arbitrary_text(text in ".{0,200}") {
            let ev = event(r#""%d"#);
            let _ = PrintFmt::parse(&text, &ev, 8);
        }

        /// Random bprint payloads against every printk format.
        #[test]
        fn random_bprint(data in proptest::collection::vec(any::<u8>(), 0..96), which in 0u64..3) {
            let syms = Symbols::parse(BPRINT_KALLSYMS, BPRINT_PRINTK);
            for long in [8usize, 4] {
                let ev = bprint_format(long);
                for e in [Endian::Little, Endian::Big] {
                    let mut p = bprint_record(e, long, 0x2010, [0x2040, 0x2080, 0x1][which as usize], &[]);
                    p.extend_from_slice(&data);
                    let ctx = RenderCtx::new(e, long, &syms);
                    let printer = EventPrinter::new(&ev, long);
                    let mut out = Vec::new();
                    if printer.render(&p, &ctx, &mut out).is_err() {
                        printer.render_failed(&p, &ctx, &mut out);
                    }
                }
            }
        }
    }
}
