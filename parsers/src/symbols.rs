//! Kernel symbol tables carried by a trace: `/proc/kallsyms` and the
//! `printk_formats` strings, with the exact lookup rules of libtraceevent.
//!
//! The print-fmt evaluator ([`crate::printfmt`]) resolves `%ps`/`%pS`
//! arguments and `bprint`/`bputs` format pointers through the
//! [`SymbolResolver`] trait. [`Kallsyms`] and [`PrintkFormats`] implement it
//! over a trace's own tables; [`Symbols`] combines the two.
//!
//! Both tables reproduce libtraceevent 1.7 (`tep_parse_kallsyms`,
//! `tep_parse_printk_formats`, `find_func`, `find_printk`) rather than an
//! idealised lookup, so names come out exactly as `trace-cmd report` prints
//! them:
//!
//! - kallsyms lines are `%16llx %c %s[\t[module]]`; symbols of type `A`/`a`
//!   and ARM mapping symbols (`$a`, `$d`, ...) are skipped; the first line
//!   that does not parse ends the table (the lines before it are kept);
//! - an address resolves to the symbol `s` with `s.addr == addr`, or
//!   `s.addr < addr < next.addr`. An address past the last symbol only
//!   matches it exactly. When several symbols share an address, the one a
//!   glibc `bsearch` over the stably sorted, reverse-file-order table lands
//!   on wins;
//! - printk lines are `0xADDR : "format"`; the quotes and a trailing `\n`
//!   escape are stripped, other escapes are kept (the printer expands them).

use std::collections::HashMap;

/// Largest kallsyms text accepted, in bytes (a full kallsyms is ~10 MB).
pub const MAX_KALLSYMS_TEXT: usize = 512 << 20;
/// Largest printk formats text accepted, in bytes.
pub const MAX_PRINTK_TEXT: usize = 64 << 20;

/// Resolves kernel addresses for the print-fmt evaluator.
///
/// Implement it over other symbol sources (e.g. a vmlinux) if needed; the
/// evaluator only calls these three methods.
pub trait SymbolResolver {
    /// The function containing `addr`: its name and start address.
    fn function(&self, addr: u64) -> Option<(&str, u64)>;

    /// The printk format string registered at exactly `addr` (as stored:
    /// without quotes, escapes such as `\t` still escaped).
    fn printk(&self, addr: u64) -> Option<&str>;

    /// The address of a symbol by name (used for bare identifiers in print
    /// fmt arguments, as libtraceevent does). Defaults to none.
    fn symbol_address(&self, _name: &str) -> Option<u64> {
        None
    }
}

/// A resolver that knows nothing: every `%ps` prints as an address.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoSymbols;

impl SymbolResolver for NoSymbols {
    fn function(&self, _addr: u64) -> Option<(&str, u64)> {
        None
    }
    fn printk(&self, _addr: u64) -> Option<&str> {
        None
    }
}

/// One kallsyms entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Symbol<'a> {
    /// Start address.
    pub addr: u64,
    /// Symbol name.
    pub name: &'a str,
    /// Module name (without brackets), for module symbols.
    pub module: Option<&'a str>,
    /// The type letter (`t`, `T`, `d`...).
    pub kind: u8,
}

#[derive(Debug, Clone, Copy)]
struct SymEntry {
    addr: u64,
    name: (u32, u32),
    module: Option<(u32, u32)>,
    kind: u8,
}

/// `/proc/kallsyms` as a sorted table, with libtraceevent's lookup.
#[derive(Debug, Clone, Default)]
pub struct Kallsyms {
    /// Names and module names, concatenated.
    strings: String,
    /// Sorted by address; ties in reverse file order.
    entries: Vec<SymEntry>,
    /// Lines skipped (type `A`/`a`, `$` mapping symbols).
    skipped: usize,
    /// Whether parsing stopped at a malformed line.
    truncated: bool,
}

impl Kallsyms {
    /// Parses kallsyms text. Never fails: parsing stops at the first line
    /// that does not match `%16llx %c %s` (see [`Kallsyms::truncated`]), and
    /// input longer than [`MAX_KALLSYMS_TEXT`] is cut there.
    pub fn parse(text: &[u8]) -> Kallsyms {
        let text = &text[..text.len().min(MAX_KALLSYMS_TEXT)];
        let mut k = Kallsyms::default();
        for line in text.split(|&b| b == b'\n') {
            if line.is_empty() {
                continue;
            }
            let Some(parsed) = parse_kallsyms_line(line) else {
                k.truncated = true;
                break;
            };
            let (addr, kind, name, module) = parsed;
            if name.first() == Some(&b'$') || kind == b'A' || kind == b'a' {
                k.skipped += 1;
                continue;
            }
            let name = k.push_str(name);
            let module = module.map(|m| k.push_str(m));
            k.entries.push(SymEntry {
                addr,
                name,
                module,
                kind,
            });
        }
        // libtraceevent keeps a list built by prepending (reverse file
        // order), then sorts it with glibc's (stable, merge) qsort.
        k.entries.reverse();
        k.entries.sort_by_key(|e| e.addr);
        k
    }

    fn push_str(&mut self, b: &[u8]) -> (u32, u32) {
        let start = self.strings.len();
        self.strings.push_str(&String::from_utf8_lossy(b));
        let end = self.strings.len();
        (
            u32::try_from(start).unwrap_or(u32::MAX),
            u32::try_from(end).unwrap_or(u32::MAX),
        )
    }

    fn str_at(&self, r: (u32, u32)) -> &str {
        self.strings
            .get(r.0 as usize..r.1 as usize)
            .unwrap_or_default()
    }

    /// Number of symbols kept.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no symbol was kept.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Lines skipped on purpose (absolute and `$` mapping symbols).
    pub fn skipped(&self) -> usize {
        self.skipped
    }

    /// Whether parsing stopped early at a malformed line.
    pub fn truncated(&self) -> bool {
        self.truncated
    }

    /// The symbol at index `i` of the address-sorted table.
    pub fn get(&self, i: usize) -> Option<Symbol<'_>> {
        let e = self.entries.get(i)?;
        Some(Symbol {
            addr: e.addr,
            name: self.str_at(e.name),
            module: e.module.map(|m| self.str_at(m)),
            kind: e.kind,
        })
    }

    /// The symbol containing `addr`, as libtraceevent's `find_func` finds it.
    pub fn lookup(&self, addr: u64) -> Option<Symbol<'_>> {
        let n = self.entries.len();
        let (mut lo, mut hi) = (0usize, n);
        while lo < hi {
            let idx = (lo + hi) / 2;
            let here = self.entries[idx].addr;
            // The element after the last is a sentinel with address 0.
            let next = self.entries.get(idx + 1).map_or(0, |e| e.addr);
            if addr == here || (addr > here && addr < next) {
                return self.get(idx);
            }
            if addr < here {
                hi = idx;
            } else {
                lo = idx + 1;
            }
        }
        None
    }

    /// The first symbol (in address order) with this name.
    pub fn address_of(&self, name: &str) -> Option<u64> {
        self.entries
            .iter()
            .find(|e| self.str_at(e.name) == name)
            .map(|e| e.addr)
    }
}

/// A kallsyms line: address, type letter, name, module.
type KallsymsLine<'a> = (u64, u8, &'a [u8], Option<&'a [u8]>);

/// `sscanf(line, "%16llx %c %n%*s%n%*1[\t][%n%*s%n")` as libtraceevent uses it.
fn parse_kallsyms_line(line: &[u8]) -> Option<KallsymsLine<'_>> {
    let is_space = |b: u8| b == b' ' || (b'\t'..=b'\r').contains(&b);
    let mut i = 0;
    while i < line.len() && is_space(line[i]) {
        i += 1;
    }
    // %16llx: at most 16 characters, an optional 0x prefix counting.
    let start = i;
    let mut addr: u64 = 0;
    let mut digits = 0;
    if line.len() >= i + 2 && line[i] == b'0' && (line[i + 1] | 0x20) == b'x' {
        let has_digit = line.get(i + 2).is_some_and(u8::is_ascii_hexdigit);
        if has_digit {
            i += 2;
        }
    }
    while i < line.len() && i - start < 16 {
        let Some(d) = (line[i] as char).to_digit(16) else {
            break;
        };
        addr = addr.wrapping_shl(4) | u64::from(d);
        digits += 1;
        i += 1;
    }
    if digits == 0 {
        return None;
    }
    while i < line.len() && is_space(line[i]) {
        i += 1;
    }
    let kind = *line.get(i)?;
    i += 1;
    while i < line.len() && is_space(line[i]) {
        i += 1;
    }
    let fs = i;
    while i < line.len() && !is_space(line[i]) {
        i += 1;
    }
    if i == fs {
        return None;
    }
    let name = &line[fs..i];
    let mut module = None;
    if line.get(i) == Some(&b'\t') && line.get(i + 1) == Some(&b'[') {
        let ms = i + 2;
        let mut j = ms;
        while j < line.len() && !is_space(line[j]) {
            j += 1;
        }
        if j > ms {
            // The last character (the closing bracket) is dropped.
            module = Some(&line[ms..j - 1]);
        }
    }
    Some((addr, kind, name, module))
}

impl SymbolResolver for Kallsyms {
    fn function(&self, addr: u64) -> Option<(&str, u64)> {
        self.lookup(addr).map(|s| (s.name, s.addr))
    }
    fn printk(&self, _addr: u64) -> Option<&str> {
        None
    }
    fn symbol_address(&self, name: &str) -> Option<u64> {
        self.address_of(name)
    }
}

/// The `printk_formats` table: address → format string.
#[derive(Debug, Clone, Default)]
pub struct PrintkFormats {
    /// Sorted by address; ties in reverse file order.
    entries: Vec<(u64, String)>,
    index: HashMap<u64, usize>,
}

impl PrintkFormats {
    /// Parses `printk_formats` text (`0xADDR : "format"` lines). Never
    /// fails; lines without a `:` end the table, as in libtraceevent.
    pub fn parse(text: &[u8]) -> PrintkFormats {
        let text = &text[..text.len().min(MAX_PRINTK_TEXT)];
        let mut entries = Vec::new();
        for line in text.split(|&b| b == b'\n') {
            if line.is_empty() {
                continue;
            }
            let line = String::from_utf8_lossy(line);
            // strtok_r(line, ":"): leading colons are skipped.
            let body = line.trim_start_matches(':');
            let Some(colon) = body.find(':') else {
                break;
            };
            let addr = strtoull_hex(&body[..colon]);
            // "fmt still has a space, skip it"
            let fmt = body.get(colon + 2..).unwrap_or("");
            entries.push((addr, clean_printk(fmt)));
        }
        entries.reverse();
        entries.sort_by_key(|e| e.0);
        let mut index = HashMap::new();
        // bsearch over the sorted table; reproduce which duplicate it hits.
        for (i, e) in entries.iter().enumerate() {
            index.entry(e.0).or_insert(i);
        }
        let mut p = PrintkFormats { entries, index };
        let keys: Vec<u64> = p.index.keys().copied().collect();
        for k in keys {
            if let Some(i) = p.bsearch(k) {
                p.index.insert(k, i);
            }
        }
        p
    }

    fn bsearch(&self, addr: u64) -> Option<usize> {
        let (mut lo, mut hi) = (0usize, self.entries.len());
        while lo < hi {
            let idx = (lo + hi) / 2;
            let here = self.entries[idx].0;
            match addr.cmp(&here) {
                std::cmp::Ordering::Less => hi = idx,
                std::cmp::Ordering::Greater => lo = idx + 1,
                std::cmp::Ordering::Equal => return Some(idx),
            }
        }
        None
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The string registered at `addr`.
    pub fn get(&self, addr: u64) -> Option<&str> {
        self.index
            .get(&addr)
            .and_then(|&i| self.entries.get(i))
            .map(|e| e.1.as_str())
    }
}

/// `strtoull(s, NULL, 16)`.
fn strtoull_hex(s: &str) -> u64 {
    let s = s.trim_start();
    let (neg, s) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let b = s.as_bytes();
    let s = if b.len() > 2 && b[0] == b'0' && (b[1] | 0x20) == b'x' && b[2].is_ascii_hexdigit() {
        &s[2..]
    } else {
        s
    };
    let mut v: u64 = 0;
    let mut overflow = false;
    for c in s.chars() {
        let Some(d) = c.to_digit(16) else { break };
        match v.checked_mul(16).and_then(|x| x.checked_add(u64::from(d))) {
            Some(x) => v = x,
            None => overflow = true,
        }
    }
    if overflow {
        return u64::MAX;
    }
    if neg { v.wrapping_neg() } else { v }
}

/// `tep_register_print_string`: drop a leading quote, a trailing quote and
/// then a trailing `\n` escape.
fn clean_printk(fmt: &str) -> String {
    let mut s = fmt.strip_prefix('"').unwrap_or(fmt).to_string();
    if s.ends_with('"') {
        s.pop();
        if s.ends_with("\\n") {
            s.truncate(s.len() - 2);
        }
    }
    s
}

impl SymbolResolver for PrintkFormats {
    fn function(&self, _addr: u64) -> Option<(&str, u64)> {
        None
    }
    fn printk(&self, addr: u64) -> Option<&str> {
        self.get(addr)
    }
}

/// A trace's kallsyms and printk tables together.
#[derive(Debug, Clone, Default)]
pub struct Symbols {
    /// Function symbols.
    pub kallsyms: Kallsyms,
    /// printk format strings.
    pub printk: PrintkFormats,
}

impl Symbols {
    /// Parses both texts (either may be empty).
    pub fn parse(kallsyms: &[u8], printk: &[u8]) -> Symbols {
        Symbols {
            kallsyms: Kallsyms::parse(kallsyms),
            printk: PrintkFormats::parse(printk),
        }
    }
}

impl SymbolResolver for Symbols {
    fn function(&self, addr: u64) -> Option<(&str, u64)> {
        self.kallsyms.function(addr)
    }
    fn printk(&self, addr: u64) -> Option<&str> {
        self.printk.get(addr)
    }
    fn symbol_address(&self, name: &str) -> Option<u64> {
        self.kallsyms.address_of(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KALLSYMS: &str = "\
ffffffff81000000 T _text
ffffffff81000000 T startup_64
ffffffff81000100 t helper
0000000000000000 A fixed_percpu_data
ffffffff81000200 t $x
ffffffff81000300 T last_func
ffffffffc0001000 t mod_func\t[mymod]
";

    #[test]
    fn kallsyms_parse_and_lookup() {
        let k = Kallsyms::parse(KALLSYMS.as_bytes());
        assert_eq!(k.len(), 5);
        assert_eq!(k.skipped(), 2);
        assert!(!k.truncated());
        // Exact and inside.
        assert_eq!(k.lookup(0xffffffff81000100).unwrap().name, "helper");
        assert_eq!(k.lookup(0xffffffff81000150).unwrap().name, "helper");
        // Inside the last-but-one symbol.
        assert_eq!(k.lookup(0xffffffff81000400).unwrap().name, "last_func");
        // Past the last symbol: exact only.
        assert!(k.lookup(0xffffffffc0001004).is_none());
        let m = k.lookup(0xffffffffc0001000).unwrap();
        assert_eq!((m.name, m.module), ("mod_func", Some("mymod")));
        // Before the first.
        assert!(k.lookup(0x1000).is_none());
        // Aliases: the reverse-file-order table has startup_64 first, and the
        // bsearch path decides.
        let s = k.lookup(0xffffffff81000010).unwrap();
        assert_eq!(s.addr, 0xffffffff81000000);
        assert_eq!(k.address_of("helper"), Some(0xffffffff81000100));
    }

    #[test]
    fn kallsyms_stops_at_bad_line() {
        let k = Kallsyms::parse(b"ffffffff81000000 T a\nnot a line at all\nffffffff81000100 T b\n");
        // "not" parses as no hex digits -> the C sscanf fails (n != 2).
        assert!(k.truncated());
        assert_eq!(k.len(), 1);
        let k = Kallsyms::parse(b"");
        assert!(k.is_empty());
        assert!(k.lookup(0).is_none());
    }

    #[test]
    fn zero_addresses_never_resolve_other_addresses() {
        let k = Kallsyms::parse(b"00000000 T a\n00000000 T b\n00000000 t c\n");
        assert!(k.lookup(0xc044504c).is_none());
        assert!(k.lookup(0).is_some());
    }

    #[test]
    fn printk_parse() {
        let p = PrintkFormats::parse(
            b"0xffffffc0008f3da0 : \"%s idl=%d\\n\"\n0xc0891100 : \"a\\tb\\n\"\n0x10 : \"CPU_ON\"\n0x10 : \"CPU_ON\"\n",
        );
        assert_eq!(p.get(0xffffffc0008f3da0), Some("%s idl=%d"));
        assert_eq!(p.get(0xc0891100), Some("a\\tb"));
        assert_eq!(p.get(0x10), Some("CPU_ON"));
        assert_eq!(p.get(0x11), None);
        assert_eq!(p.len(), 4);
        let s = Symbols::parse(KALLSYMS.as_bytes(), b"0x10 : \"x\"\n");
        assert_eq!(s.printk(0x10), Some("x"));
        assert_eq!(
            s.function(0xffffffff81000101),
            Some(("helper", 0xffffffff81000100))
        );
    }
}
