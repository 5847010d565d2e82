//! Event lines as `trace-cmd report` prints them.
//!
//! [`ReportPrinter`] renders one record per line in the layout of trace-cmd
//! 3.1.6 with libtraceevent 1.7.1: `comm-pid [cpu] secs.nsecs: name: info`.
//! In raw mode (`report -R`) the info is every field as ` name=value`, where
//! libtraceevent prints a field with the conversion the event's `print fmt`
//! uses for it (`(%lx)` → `1e0f70`, `0x%Lx` → `0x...`) and falls back to a
//! type-based form otherwise; this module reproduces both, including the
//! quirk that a char array found unprintable once is printed as an array
//! from then on.

use crate::cprintf::IntSpec;
use crate::endian::Endian;
use crate::format::{EventFormat, Field};
use crate::tracedat::{LostEvents, Record, TraceDat};
use std::fmt::Write as _;

/// Longest print fmt text examined for raw-mode hints.
pub const MAX_PRINT_FMT: usize = 64 * 1024;

/// A symbol table from kallsyms text, for `%ps`-style conversions.
#[derive(Debug, Default, Clone)]
pub struct Kallsyms {
    syms: Vec<(u64, String)>,
}

impl Kallsyms {
    /// Parses `/proc/kallsyms` text (`addr type name [module]` lines),
    /// skipping absolute symbols and ARM mapping symbols as trace-cmd does.
    pub fn parse(text: &[u8]) -> Kallsyms {
        let mut syms = Vec::new();
        for line in text.split(|&b| b == b'\n') {
            let line = String::from_utf8_lossy(line);
            let mut it = line.split_whitespace();
            let (Some(a), Some(t), Some(name)) = (it.next(), it.next(), it.next()) else {
                continue;
            };
            let Ok(addr) = u64::from_str_radix(a, 16) else {
                continue;
            };
            if t == "A" || t == "a" || name.starts_with('$') {
                continue;
            }
            syms.push((addr, name.to_string()));
        }
        syms.sort_by_key(|s| s.0);
        Kallsyms { syms }
    }

    /// The symbol containing `addr` and its start: the last symbol at or
    /// below it, provided a later symbol exists (libtraceevent's rule).
    pub fn lookup(&self, addr: u64) -> Option<(&str, u64)> {
        let i = self.syms.partition_point(|s| s.0 <= addr);
        if i == 0 || i >= self.syms.len() {
            return None;
        }
        let (a, n) = &self.syms[i - 1];
        Some((n.as_str(), *a))
    }
}

/// Printk formats (`0xADDR : "fmt"` lines), for `bprint`/`bputs` pointers.
#[derive(Debug, Default, Clone)]
pub struct PrintkFormats {
    map: std::collections::HashMap<u64, String>,
}

impl PrintkFormats {
    /// Parses the printk formats text.
    pub fn parse(text: &[u8]) -> PrintkFormats {
        let mut map = std::collections::HashMap::new();
        for line in text.split(|&b| b == b'\n') {
            let line = String::from_utf8_lossy(line);
            let Some((a, f)) = line.split_once(" : ") else {
                continue;
            };
            let a = a.trim().trim_start_matches("0x");
            let Ok(addr) = u64::from_str_radix(a, 16) else {
                continue;
            };
            let f = f.trim();
            let f = f.strip_prefix('"').unwrap_or(f);
            let f = f.strip_suffix('"').unwrap_or(f);
            map.insert(addr, f.to_string());
        }
        PrintkFormats { map }
    }

    /// The format string at `addr`.
    pub fn get(&self, addr: u64) -> Option<&str> {
        self.map.get(&addr).map(String::as_str)
    }
}

#[derive(Debug, Clone)]
enum Seg {
    Str(String),
    Conv {
        spec: String,
        kind: ConvKind,
        ls: i8,
        /// Index into the event's fields when the argument is a plain field
        /// (possibly cast), and the cast type.
        field: Option<usize>,
        cast: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ConvKind {
    Digit,
    Pointer,
    Str,
}

/// Per-event state for raw printing.
#[derive(Debug, Clone, Default)]
struct RawPlan {
    segs: Vec<Seg>,
    /// Per field: char array printed as a string (cleared once unprintable).
    string_ok: Vec<bool>,
}

/// Renders records as `trace-cmd report` lines.
#[derive(Debug)]
pub struct ReportPrinter<'t> {
    trace: &'t TraceDat<'t>,
    plans: Vec<Option<RawPlan>>,
    kallsyms: Kallsyms,
    printk: PrintkFormats,
    prefix_width: usize,
}

impl<'t> ReportPrinter<'t> {
    /// A printer for the records of `trace`.
    pub fn new(trace: &'t TraceDat<'t>) -> Self {
        let prefix_width = if trace.buffers.len() > 1 {
            trace
                .buffers
                .iter()
                .map(|b| b.name.len() + 1)
                .max()
                .unwrap_or(0)
                + 1
        } else {
            0
        };
        ReportPrinter {
            trace,
            plans: vec![None; trace.formats.len()],
            kallsyms: Kallsyms::parse(&trace.kallsyms),
            printk: PrintkFormats::parse(&trace.printk),
            prefix_width,
        }
    }

    /// The first line trace-cmd prints: `cpus=N`.
    pub fn header_line(&self) -> String {
        format!("cpus={}", self.trace.cpu_count)
    }

    /// The line trace-cmd prints before a record that follows lost events.
    pub fn lost_line(&self, l: &LostEvents) -> String {
        match l.count {
            Some(n) => format!("CPU:{} [{} EVENTS DROPPED]", l.cpu.0, n),
            None => format!("CPU:{} [EVENTS DROPPED]", l.cpu.0),
        }
    }

    /// Appends the raw (`report -R -t`) line of `rec` to `out`, without a
    /// newline.
    pub fn write_raw(&mut self, rec: &Record<'_>, out: &mut String) {
        self.write_prefix(rec, out);
        let t = self.trace;
        let Some(id) = t.record_event_id(rec.payload) else {
            out.push_str("[UNKNOWN EVENT]");
            return;
        };
        let Some(idx) = t.format_index(id) else {
            out.push_str("[UNKNOWN EVENT]");
            return;
        };
        let ev = &t.formats[idx];
        let _ = write!(out, "{:<21} ", format!("{}:", ev.name));
        if self.plans[idx].is_none() {
            self.plans[idx] = Some(build_plan(
                ev,
                t.ftrace_format_count > idx,
                ev.name == "bprint",
            ));
        }
        let e = t.endian;
        let long = t.long_size;
        let ks = &self.kallsyms;
        let pk = &self.printk;
        let Some(plan) = self.plans[idx].as_mut() else {
            return;
        };
        let mut cursor = 0usize;
        for (fi, f) in ev.fields.iter().enumerate() {
            let _ = write!(out, " {}=", f.name);
            print_field(
                out,
                rec.payload,
                ev,
                fi,
                f,
                plan,
                &mut cursor,
                e,
                long,
                ks,
                pk,
            );
        }
    }

    fn write_prefix(&self, rec: &Record<'_>, out: &mut String) {
        let t = self.trace;
        if self.prefix_width > 0 {
            let name = &t.buffers[rec.buffer].name;
            if name.is_empty() {
                let _ = write!(out, "{:w$}", "", w = self.prefix_width);
            } else {
                let _ = write!(out, "{:<w$}", format!("{name}: "), w = self.prefix_width);
            }
        }
        let pid = t.record_pid(rec.payload).map_or(0, |p| p.0);
        let comm = if pid == 0 {
            "<idle>"
        } else {
            t.comm(crate::types::Pid(pid)).unwrap_or("<...>")
        };
        let _ = write!(
            out,
            "{comm:>16}-{pid:<5} [{:03}] {:5}.{:09}: ",
            rec.cpu.0,
            rec.ts.secs(),
            rec.ts.subsec_nanos()
        );
    }
}

/// libtraceevent's `print_field`: use the print fmt's conversion for this
/// field if the fmt (searched from the last match, cyclically) has one.
#[allow(clippy::too_many_arguments)]
fn print_field(
    out: &mut String,
    data: &[u8],
    ev: &EventFormat,
    fi: usize,
    f: &Field,
    plan: &mut RawPlan,
    cursor: &mut usize,
    e: Endian,
    long: usize,
    ks: &Kallsyms,
    pk: &PrintkFormats,
) {
    let is_string = f.flags.string && plan.string_ok.get(fi).copied().unwrap_or(false);
    if !plan.segs.is_empty() && !f.flags.array && !is_string {
        let n = plan.segs.len();
        let start = *cursor % n;
        let mut i = start;
        let mut has_0x = false;
        loop {
            match &plan.segs[i] {
                Seg::Str(s) => has_0x = s.ends_with("0x"),
                Seg::Conv {
                    spec,
                    kind,
                    ls,
                    field,
                    cast,
                } => {
                    if *field == Some(fi) {
                        if has_0x {
                            out.push_str("0x");
                        }
                        let raw = f.read_u64(data, e).unwrap_or(0);
                        let val = apply_cast(raw, f, cast.as_deref(), long);
                        print_conv(out, spec, *kind, *ls, val, f, data, e, long, ks, pk);
                        *cursor = i + 1;
                        return;
                    }
                    has_0x = false;
                }
            }
            i = (i + 1) % n;
            if i == start {
                break;
            }
        }
    }
    print_field_raw(out, data, ev, fi, f, plan, e);
}

/// The value of a field as libtraceevent's `eval_num_arg` gives it, with a
/// cast applied.
fn apply_cast(raw: u64, f: &Field, cast: Option<&str>, long: usize) -> u64 {
    let _ = f;
    let Some(t) = cast else {
        return raw;
    };
    let t = t.trim();
    if t.contains('*') {
        return raw;
    }
    let long_bits = if long == 4 { 32 } else { 64 };
    let (bits, signed) = match t {
        "char" | "s8" | "signed char" => (8, true),
        "unsigned char" | "u8" => (8, false),
        "short" | "s16" | "short int" => (16, true),
        "unsigned short" | "u16" => (16, false),
        "int" | "s32" | "signed" | "signed int" => (32, true),
        "unsigned int" | "unsigned" | "u32" => (32, false),
        "long" | "long int" => (long_bits, true),
        "unsigned long" => (long_bits, false),
        "bool" => return u64::from(raw != 0),
        _ => return raw,
    };
    if bits == 64 {
        return raw;
    }
    let m = (1u64 << bits) - 1;
    let v = raw & m;
    if signed && v >> (bits - 1) & 1 == 1 {
        v | !m
    } else {
        v
    }
}

#[allow(clippy::too_many_arguments)]
fn print_conv(
    out: &mut String,
    spec: &str,
    kind: ConvKind,
    ls: i8,
    val: u64,
    f: &Field,
    data: &[u8],
    e: Endian,
    long: usize,
    ks: &Kallsyms,
    pk: &PrintkFormats,
) {
    match kind {
        ConvKind::Digit => {
            // print_arg_number: cast to the C type of the length modifier.
            let v = match ls {
                -2 => val as u8 as i8 as i64 as u64,
                -1 => val as u16 as i16 as i64 as u64,
                0 => val as u32 as i32 as i64 as u64,
                _ => val,
            };
            match IntSpec::parse(spec) {
                Some(s) => out.push_str(&s.format(v)),
                None => {
                    let _ = write!(out, "{v}");
                }
            }
        }
        ConvKind::Pointer => {
            let c = spec
                .rfind('p')
                .and_then(|i| spec.as_bytes().get(i + 1))
                .copied();
            match c {
                Some(b'F' | b'f' | b'S' | b's') => match ks.lookup(val) {
                    Some((name, addr)) => {
                        out.push_str(name);
                        if matches!(c, Some(b'F' | b'S')) {
                            let _ = write!(out, "+0x{:x}", val - addr);
                        }
                    }
                    None => {
                        if long == 4 {
                            let _ = write!(out, "0x{:x}", val as u32);
                        } else {
                            let _ = write!(out, "0x{val:x}");
                        }
                    }
                },
                _ => {
                    if val == 0 {
                        out.push_str("(nil)");
                    } else {
                        let _ = write!(out, "0x{val:x}");
                    }
                }
            }
        }
        ConvKind::Str => {
            // print_str_arg on a non-array field of pointer size: a printk
            // string pointer.
            if f.size == long {
                match pk.get(val) {
                    Some(s) => out.push_str(s),
                    None => {
                        let _ = write!(out, "{val:x}");
                    }
                }
            } else {
                // `len = field->size ?: size - field->offset`
                let b = if f.size == 0 {
                    data.get(f.offset..).unwrap_or(&[])
                } else {
                    f.read_bytes(data, e).unwrap_or(&[])
                };
                let s = b.iter().position(|&c| c == 0).map_or(b, |n| &b[..n]);
                out.push_str(&String::from_utf8_lossy(s));
            }
        }
    }
}

/// libtraceevent's `print_field_raw`.
fn print_field_raw(
    out: &mut String,
    data: &[u8],
    _ev: &EventFormat,
    fi: usize,
    f: &Field,
    plan: &mut RawPlan,
    e: Endian,
) {
    if f.flags.array {
        let (start, len) = array_extent(f, data, e);
        let bytes = data.get(start..).unwrap_or(&[]);
        let field_bytes = &bytes[..len.min(bytes.len())];
        let string_ok = plan.string_ok.get(fi).copied().unwrap_or(false);
        if f.flags.string && string_ok && is_printable(field_bytes) {
            // "%s" of data + offset: up to the first NUL, wherever it is.
            let s = bytes
                .iter()
                .position(|&c| c == 0)
                .map_or(bytes, |n| &bytes[..n]);
            out.push_str(&String::from_utf8_lossy(s));
        } else {
            out.push_str("ARRAY[");
            for (i, b) in field_bytes.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                let _ = write!(out, "{b:02x}");
            }
            out.push(']');
            if let Some(s) = plan.string_ok.get_mut(fi) {
                *s = false;
            }
        }
        return;
    }
    let val = if f.size == 0 {
        Some(0)
    } else {
        f.read_u64(data, e)
    };
    let val = val.unwrap_or(0);
    if f.flags.pointer {
        let _ = write!(out, "0x{val:x}");
    } else if f.flags.signed {
        match f.size {
            4 => {
                if f.flags.long {
                    let _ = write!(out, "0x{:x}", val as u32);
                } else {
                    let _ = write!(out, "{}", val as u32 as i32);
                }
            }
            2 => {
                let _ = write!(out, "{:2}", val as u16 as i16);
            }
            1 => {
                let _ = write!(out, "{:1}", val as u8 as i8);
            }
            _ => {
                let _ = write!(out, "{}", val as i64);
            }
        }
    } else if f.flags.long {
        let _ = write!(out, "0x{val:x}");
    } else {
        let _ = write!(out, "{val}");
    }
}

fn array_extent(f: &Field, data: &[u8], e: Endian) -> (usize, usize) {
    if f.flags.dynamic {
        let v = u64::from(e.read_u32(data, f.offset).unwrap_or(0));
        let mut off = (v & 0xffff) as usize;
        if f.flags.relative {
            off += f.offset + f.size;
        }
        (off, (v >> 16) as usize)
    } else {
        (f.offset, f.size)
    }
}

/// `is_printable_array`: every byte before the first NUL is printable or
/// white space.
fn is_printable(b: &[u8]) -> bool {
    b.iter()
        .take_while(|&&c| c != 0)
        .all(|&c| (0x20..0x7f).contains(&c) || (9..=13).contains(&c))
}

/// Builds the raw-printing plan of an event from its print fmt, like
/// libtraceevent's `parse_args`. A print fmt it cannot split leaves the plan
/// empty (every field printed by type).
fn build_plan(ev: &EventFormat, _ftrace: bool, bprint: bool) -> RawPlan {
    let string_ok = ev.fields.iter().map(|f| f.flags.string).collect();
    let mut plan = RawPlan {
        segs: Vec::new(),
        string_ok,
    };
    if bprint || ev.print_fmt.len() > MAX_PRINT_FMT {
        return plan;
    }
    let Some((fmt, args)) = split_print_fmt(&ev.print_fmt) else {
        return plan;
    };
    let args: Vec<(Option<usize>, Option<String>)> =
        args.iter().map(|a| arg_field(ev, a)).collect();
    let mut ai = 0usize;
    let b = fmt.as_bytes();
    let mut i = 0usize;
    let mut lit = String::new();
    while i < b.len() {
        let c = b[i];
        if c == b'\\' && i + 1 < b.len() {
            lit.push(match b[i + 1] {
                b'n' => '\n',
                b't' => '\t',
                b'r' => '\r',
                other => char::from(other),
            });
            i += 2;
            continue;
        }
        if c == b'%' {
            if b.get(i + 1) == Some(&b'%') {
                lit.push('%');
                i += 2;
                continue;
            }
            if !lit.is_empty() {
                plan.segs.push(Seg::Str(std::mem::take(&mut lit)));
            }
            // Scan the conversion.
            let st = i;
            i += 1;
            let mut ls: i8 = 0;
            let mut kind = None;
            while i < b.len() {
                match b[i] {
                    b'#' | b'.' | b'0'..=b'9' | b'-' | b'+' | b' ' => {}
                    b'h' => ls -= 1,
                    b'l' => ls += 1,
                    b'L' => ls = 2,
                    b'z' | b'Z' => ls = 1,
                    b'*' => {
                        // A length argument: consumed, not supported for hints.
                        ai += 1;
                    }
                    b'p' => {
                        kind = Some(ConvKind::Pointer);
                        i += 1 + pointer_ext(&b[i + 1..]);
                        break;
                    }
                    b'c' | b'd' | b'u' | b'i' | b'x' | b'X' | b'o' => {
                        kind = Some(ConvKind::Digit);
                        i += 1;
                        break;
                    }
                    b's' => {
                        kind = Some(ConvKind::Str);
                        i += 1;
                        break;
                    }
                    _ => {
                        i += 1;
                        break;
                    }
                }
                i += 1;
            }
            let spec = fmt[st..i.min(fmt.len())].to_string();
            match kind {
                Some(k) => {
                    let (field, cast) = args.get(ai).cloned().unwrap_or((None, None));
                    ai += 1;
                    plan.segs.push(Seg::Conv {
                        spec,
                        kind: k,
                        ls: ls.clamp(-2, 2),
                        field,
                        cast,
                    });
                }
                None => plan.segs.push(Seg::Str(spec)),
            }
            continue;
        }
        lit.push(char::from(c));
        i += 1;
    }
    if !lit.is_empty() {
        plan.segs.push(Seg::Str(lit));
    }
    plan
}

/// Length of the extension letters after `%p` (libtraceevent's
/// `parse_arg_format_pointer`, simplified to the forms seen in kernels).
fn pointer_ext(rest: &[u8]) -> usize {
    match rest.first() {
        Some(b'F' | b'S' | b'f' | b's') => 1,
        Some(b'M' | b'm') => 1 + usize::from(matches!(rest.get(1), Some(b'R' | b'F'))),
        Some(b'I' | b'i') => {
            let mut n = 2;
            if rest.get(2).is_some_and(|c| b"hnlb".contains(c)) {
                n += 1;
            }
            if rest.get(n).is_some_and(|&c| c == b'c') {
                n += 1;
            }
            n
        }
        Some(b'U') => 1 + usize::from(matches!(rest.get(1), Some(b'L' | b'l' | b'B' | b'b'))),
        Some(b'h') => 1 + usize::from(matches!(rest.get(1), Some(b'C' | b'D' | b'N'))),
        _ => 0,
    }
}

/// Splits `"fmt", a, b` into the format string (escapes kept) and the
/// top-level arguments.
fn split_print_fmt(text: &str) -> Option<(String, Vec<String>)> {
    let b = text.as_bytes();
    let mut i = 0;
    let mut fmt = String::new();
    loop {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if b.get(i) != Some(&b'"') {
            break;
        }
        i += 1;
        let st = i;
        while i < b.len() && b[i] != b'"' {
            if b[i] == b'\\' {
                i += 1;
            }
            i += 1;
        }
        fmt.push_str(text.get(st..i.min(b.len()))?);
        i += 1;
    }
    if fmt.is_empty() && !text.trim_start().starts_with('"') {
        return None;
    }
    let mut args = Vec::new();
    let rest = text.get(i.min(b.len())..)?;
    let rest = rest.trim_start();
    let Some(rest) = rest.strip_prefix(',') else {
        return Some((fmt, args));
    };
    let mut depth = 0i32;
    let mut cur = String::new();
    let mut in_str = false;
    let mut prev = '\0';
    for ch in rest.chars() {
        if in_str {
            cur.push(ch);
            if ch == '"' && prev != '\\' {
                in_str = false;
            }
            prev = ch;
            continue;
        }
        match ch {
            '"' => {
                in_str = true;
                cur.push(ch)
            }
            '(' | '{' | '[' => {
                depth += 1;
                cur.push(ch)
            }
            ')' | '}' | ']' => {
                depth -= 1;
                cur.push(ch)
            }
            ',' if depth == 0 => args.push(std::mem::take(&mut cur).trim().to_string()),
            _ => cur.push(ch),
        }
        prev = ch;
    }
    if !cur.trim().is_empty() {
        args.push(cur.trim().to_string());
    }
    Some((fmt, args))
}

/// If `arg` is `REC->f` (possibly with casts in front), the index of field `f`
/// among the event's fields and the innermost... outermost cast type.
fn arg_field(ev: &EventFormat, arg: &str) -> (Option<usize>, Option<String>) {
    let mut a = arg.trim();
    let mut cast = None;
    loop {
        if let Some(rest) = a.strip_prefix('(') {
            let Some(close) = rest.find(')') else {
                return (None, None);
            };
            let inner = rest[..close].trim();
            let after = rest[close + 1..].trim();
            if inner.contains("REC") || after.is_empty() {
                // A parenthesised expression, not a cast.
                if after.is_empty() && rest.ends_with(')') {
                    a = rest[..rest.len() - 1].trim();
                    continue;
                }
                return (None, None);
            }
            if !inner
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ' ' || c == '*')
            {
                return (None, None);
            }
            if cast.is_none() {
                cast = Some(inner.to_string());
            }
            a = after;
            continue;
        }
        break;
    }
    let name = a
        .strip_prefix("REC->")
        .or_else(|| a.strip_prefix("(REC)->"));
    let Some(name) = name else {
        return (None, None);
    };
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return (None, None);
    }
    (ev.fields.iter().position(|f| f.name == name), cast)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_print_fmt() {
        let (f, a) =
            split_print_fmt(r#""(%lx) regs=0x%Lx", REC->__probe_ip, (u64)(REC->x & 3)"#).unwrap();
        assert_eq!(f, "(%lx) regs=0x%Lx");
        assert_eq!(a, vec!["REC->__probe_ip", "(u64)(REC->x & 3)"]);
    }

    #[test]
    fn kallsyms_lookup_needs_a_following_symbol() {
        let k = Kallsyms::parse(b"ffff0010 T a\nffff0020 t b\nffff0030 A abs\nffff0040 T c\n");
        assert_eq!(k.lookup(0xffff0015), Some(("a", 0xffff0010)));
        assert_eq!(k.lookup(0xffff0040), None);
        assert_eq!(k.lookup(0xffff000f), None);
    }
}
