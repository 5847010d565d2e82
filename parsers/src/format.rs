//! tracefs `format` files, `header_page` and `header_event`, parsed with nom.
//!
//! The grammar is the one libtraceevent's `event_read_fields` accepts:
//!
//! ```text
//! name: sched_switch
//! ID: 372
//! format:
//! \tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
//! ...                                   (common fields, then an empty line)
//! \tfield:char prev_comm[16];\toffset:8;\tsize:16;\tsigned:0;
//! ...                                   (event fields, then an empty line)
//! print fmt: "prev_comm=%s ...", REC->prev_comm, ...
//! ```
//!
//! `size:` is trusted over an array's declared length (a 32-bit ARM kernel
//! declares `char prev_comm[32]` with `size:16`). The `print fmt` text is kept
//! verbatim for the pretty printer.

use crate::endian::Endian;
use crate::error::{Error, ErrorKind, Result};
use crate::types::EventId;
use nom::{
    IResult, Parser,
    bytes::complete::{tag, take_till, take_while, take_while1},
    character::complete::{char as nchar, digit1, space0},
    combinator::{map_res, opt, recognize},
    sequence::preceded,
};

/// Longest format text accepted for one event.
pub const MAX_FORMAT_TEXT: usize = 1 << 20;
/// Most fields accepted in one event format.
pub const MAX_FIELDS: usize = 1024;

/// Properties of a field derived from its declaration, as libtraceevent
/// derives them (`TEP_FIELD_IS_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FieldFlags {
    /// Declared with `[...]` (fixed array, `name[]` or `__data_loc T[]`).
    pub array: bool,
    /// The type contains `*`.
    pub pointer: bool,
    /// `signed:1` (or a signed type when the item is absent).
    pub signed: bool,
    /// An array of `char`, `u8` or `s8`: printed as a string when printable.
    pub string: bool,
    /// `__data_loc` or `__rel_loc`: the value is a (length << 16 | offset) word.
    pub dynamic: bool,
    /// `__rel_loc`: the offset is relative to the end of the field.
    pub relative: bool,
    /// The type contains `long` (includes `long long`).
    pub long: bool,
}

/// One field of an event (or of the page header).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// Field name (`prev_comm`).
    pub name: String,
    /// The C type as declared, without the name and without a trailing
    /// `[N]` (`char`, `unsigned long`, `__data_loc char[]`, `struct mm_struct *`).
    pub type_name: String,
    /// Byte offset inside the event payload.
    pub offset: usize,
    /// Size in bytes (`size:`).
    pub size: usize,
    /// Declared array length, when `[N]` with a number was given.
    pub array_len: Option<usize>,
    /// Derived properties.
    pub flags: FieldFlags,
}

impl Field {
    /// Size of one element: `size / array_len` for fixed arrays, else `size`.
    pub fn element_size(&self) -> usize {
        match self.array_len {
            Some(n) if n > 0 && !self.flags.dynamic => self.size / n,
            _ => self.size,
        }
    }
}

/// A parsed event `format` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventFormat {
    /// The event system (`sched`, `ftrace`, `kprobes`).
    pub system: String,
    /// The event name (`sched_switch`).
    pub name: String,
    /// The event id (`common_type` of its records).
    pub id: EventId,
    /// The common fields (`common_type`, `common_pid`, ...).
    pub common_fields: Vec<Field>,
    /// The event's own fields, in declaration order.
    pub fields: Vec<Field>,
    /// The text after `print fmt: `, verbatim (may be empty).
    pub print_fmt: String,
}

impl EventFormat {
    /// Parses a format file of `system`. `base` is the file offset of `text`,
    /// used in errors.
    pub fn parse(system: &str, text: &[u8], base: u64) -> Result<EventFormat> {
        if text.len() > MAX_FORMAT_TEXT {
            return Err(Error::new(
                ErrorKind::TooLarge {
                    what: "event format text",
                    size: text.len() as u64,
                    max: MAX_FORMAT_TEXT as u64,
                },
                base,
            ));
        }
        let mut name = None;
        let mut id = None;
        let mut common = Vec::new();
        let mut fields = Vec::new();
        let mut print_fmt = String::new();
        // 0: before fields, 1: common fields, 2: event fields, 3: after.
        let mut section = 0u8;
        let mut pos = 0usize;
        while pos < text.len() {
            let end = text[pos..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(text.len(), |p| pos + p);
            let line = &text[pos..end];
            let line_off = base + pos as u64;
            pos = end + 1;
            if line.starts_with(b"print fmt:") {
                // The print fmt runs to the end of the text (it may hold newlines).
                let start = end - line.len() + b"print fmt:".len();
                let s = String::from_utf8_lossy(&text[start..]);
                print_fmt = s
                    .trim_start_matches(' ')
                    .trim_end_matches(['\n', '\0'])
                    .to_string();
                break;
            }
            if let Some(rest) = line.strip_prefix(b"name:") {
                name = Some(lossy_trim(rest));
                continue;
            }
            if let Some(rest) = line.strip_prefix(b"ID:") {
                let v = lossy_trim(rest);
                id = Some(
                    v.parse::<u32>()
                        .map_err(|_| Error::invalid("event ID", &v, line_off))?,
                );
                continue;
            }
            if line.starts_with(b"format:") {
                section = 1;
                continue;
            }
            if line.iter().all(|b| b.is_ascii_whitespace()) {
                if section == 1 && !common.is_empty() {
                    section = 2;
                } else if section == 2 && !fields.is_empty() {
                    section = 3;
                }
                continue;
            }
            if section == 1 || section == 2 || section == 3 {
                let f = parse_field_line(line, line_off)?;
                let list = if section == 1 {
                    &mut common
                } else {
                    &mut fields
                };
                if list.len() >= MAX_FIELDS {
                    return Err(Error::new(
                        ErrorKind::TooLarge {
                            what: "field count",
                            size: list.len() as u64 + 1,
                            max: MAX_FIELDS as u64,
                        },
                        line_off,
                    ));
                }
                list.push(f);
            }
        }
        let name = name.ok_or_else(|| syntax("event format", "no `name:` line", base))?;
        let id = id.ok_or_else(|| syntax("event format", "no `ID:` line", base))?;
        Ok(EventFormat {
            system: system.to_string(),
            name,
            id: EventId(id),
            common_fields: common,
            fields,
            print_fmt,
        })
    }

    /// Finds an event field (not a common one) by name.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// Finds a common field (`common_pid`, ...) by name.
    pub fn common_field(&self, name: &str) -> Option<&Field> {
        self.common_fields.iter().find(|f| f.name == name)
    }
}

fn lossy_trim(b: &[u8]) -> String {
    String::from_utf8_lossy(b).trim().to_string()
}

fn syntax(what: &'static str, detail: impl Into<String>, off: u64) -> Error {
    Error::new(
        ErrorKind::Syntax {
            what,
            detail: detail.into(),
        },
        off,
    )
}

/// Parses a list of field lines (as in `header_page`), skipping other lines.
pub fn parse_field_lines(text: &[u8], base: u64) -> Result<Vec<Field>> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    while pos < text.len() {
        let end = text[pos..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(text.len(), |p| pos + p);
        let line = &text[pos..end];
        let off = base + pos as u64;
        pos = end + 1;
        let trimmed = line.trim_ascii_start();
        if trimmed.starts_with(b"field") {
            if out.len() >= MAX_FIELDS {
                return Err(syntax("field list", "too many fields", off));
            }
            out.push(parse_field_line(line, off)?);
        }
    }
    Ok(out)
}

type FieldItems<'a> = (&'a [u8], Vec<(&'a [u8], u64)>);

/// nom grammar of one field line: the declaration and its `key:value;` items.
fn field_line(i: &[u8]) -> IResult<&[u8], FieldItems<'_>> {
    let (i, _) = space0(i)?;
    let (i, _) = tag(&b"field"[..])(i)?;
    let (i, _) = opt(tag(&b" special"[..])).parse(i)?;
    let (i, _) = nchar(':')(i)?;
    let (i, decl) = take_till(|c| c == b';')(i)?;
    let (i, _) = nchar(';')(i)?;
    let mut items = Vec::new();
    let mut i = i;
    loop {
        let (j, _) = take_while(|c: u8| c == b' ' || c == b'\t')(i)?;
        if j.is_empty() || j[0] == b'\r' {
            i = j;
            break;
        }
        let (j, key) = take_while1(|c: u8| c.is_ascii_alphanumeric() || c == b'_')(j)?;
        let (j, _) = nchar(':')(j)?;
        let (j, val) = map_res(
            recognize(preceded(opt(nchar('-')), digit1)),
            |d: &[u8]| {
                std::str::from_utf8(d)
                    .ok()
                    .and_then(|s| s.parse::<i64>().ok())
                    .ok_or(())
            },
        )
        .parse(j)?;
        let (j, _) = nchar(';')(j)?;
        items.push((key, val as u64));
        i = j;
    }
    Ok((i, (decl, items)))
}

/// `field:<decl>; item:val; item:val; ...`
fn parse_field_line(line: &[u8], off: u64) -> Result<Field> {
    let res = field_line(line);
    let (decl, items) = match res {
        Ok((_, v)) => v,
        Err(_) => {
            return Err(syntax(
                "field line",
                String::from_utf8_lossy(line).trim().to_string(),
                off,
            ));
        }
    };
    let mut offset = None;
    let mut size = None;
    let mut signed = None;
    for (k, v) in items {
        match k {
            b"offset" => offset = Some(v),
            b"size" => size = Some(v),
            b"signed" => signed = Some(v != 0),
            _ => {}
        }
    }
    let (Some(offset), Some(size)) = (offset, size) else {
        return Err(syntax(
            "field line",
            format!(
                "missing offset or size: {}",
                String::from_utf8_lossy(line).trim()
            ),
            off,
        ));
    };
    let decl = String::from_utf8_lossy(decl).trim().to_string();
    let (type_name, name, array_len, array) = split_decl(&decl);
    if name.is_empty() {
        return Err(syntax(
            "field line",
            format!("no field name in {decl:?}"),
            off,
        ));
    }
    let dynamic = type_name.starts_with("__data_loc") || type_name.starts_with("__rel_loc");
    let relative = type_name.starts_with("__rel_loc");
    let array = array || dynamic;
    let signed = signed.unwrap_or_else(|| type_is_signed(&type_name));
    let flags = FieldFlags {
        array,
        pointer: type_name.contains('*'),
        signed,
        string: array
            && (type_name.contains("char") || type_name.contains("u8") || type_name.contains("s8")),
        dynamic,
        relative,
        long: type_name.contains("long"),
    };
    Ok(Field {
        name,
        type_name,
        offset: usize::try_from(offset).unwrap_or(usize::MAX),
        size: usize::try_from(size).unwrap_or(usize::MAX),
        array_len,
        flags,
    })
}

/// Splits `char prev_comm[16]` into (`char`, `prev_comm`, Some(16), true).
fn split_decl(decl: &str) -> (String, String, Option<usize>, bool) {
    let mut d = decl.trim();
    let mut array = false;
    let mut len = None;
    if d.ends_with(']') {
        if let Some(open) = d.rfind('[') {
            array = true;
            let inner = d[open + 1..d.len() - 1].trim();
            len = inner.parse::<usize>().ok();
            d = d[..open].trim_end();
        }
    }
    // The name starts after the last character that cannot be part of it
    // (which may be several bytes long in a damaged file).
    let split = d
        .char_indices()
        .rfind(|&(_, c)| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
        .map_or(0, |(p, c)| p + c.len_utf8());
    let name = d[split..].to_string();
    let ty = d[..split].trim().to_string();
    if ty.contains('[') {
        array = true;
    }
    (ty, name, len, array)
}

fn type_is_signed(ty: &str) -> bool {
    let t = ty.trim();
    if t.contains('*') || t.starts_with("unsigned") || t.starts_with('u') || t == "bool" {
        return false;
    }
    true
}

/// The page header layout, from the `header_page` text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderPage {
    /// Offset of the `timestamp` field (0).
    pub timestamp_offset: usize,
    /// Offset of `commit`.
    pub commit_offset: usize,
    /// Size of `commit`: the kernel's `long` size (4 or 8).
    pub commit_size: usize,
    /// Offset of the event data: the page header length.
    pub data_offset: usize,
    /// Size of the data area: sub-buffer size minus the header.
    pub data_size: usize,
}

impl HeaderPage {
    /// Parses the `header_page` text. `base` is its file offset.
    pub fn parse(text: &[u8], base: u64) -> Result<HeaderPage> {
        let fields = parse_field_lines(text, base)?;
        let get = |n: &str| fields.iter().find(|f| f.name == n);
        let ts =
            get("timestamp").ok_or_else(|| syntax("header_page", "no timestamp field", base))?;
        let commit = get("commit").ok_or_else(|| syntax("header_page", "no commit field", base))?;
        let data = get("data").ok_or_else(|| syntax("header_page", "no data field", base))?;
        if !(commit.size == 4 || commit.size == 8) {
            return Err(Error::invalid("header_page commit size", commit.size, base));
        }
        // Both header fields lie before the data (sums checked: the offsets
        // are the file's numbers).
        let ends_before_data = |f: &Field| {
            f.offset
                .checked_add(f.size)
                .is_some_and(|end| end <= data.offset)
        };
        if ts.size != 8 || !ends_before_data(commit) || !ends_before_data(ts) {
            return Err(syntax("header_page", "inconsistent field layout", base));
        }
        Ok(HeaderPage {
            timestamp_offset: ts.offset,
            commit_offset: commit.offset,
            commit_size: commit.size,
            data_offset: data.offset,
            data_size: data.size,
        })
    }

    /// Sub-buffer (page) size implied by the layout.
    pub fn page_size(&self) -> usize {
        self.data_offset.saturating_add(self.data_size)
    }
}

/// Typed reads of a field's value from an event payload.
impl Field {
    /// The field's value as an unsigned integer (1, 2, 4 or 8 bytes, file byte
    /// order). `None` when the payload is too short or the size is unusual.
    #[inline]
    pub fn read_u64(&self, payload: &[u8], endian: Endian) -> Option<u64> {
        endian.read_uint(payload, self.offset, self.size)
    }

    /// The field's value as a signed integer, sign-extended from its size.
    #[inline]
    pub fn read_i64(&self, payload: &[u8], endian: Endian) -> Option<i64> {
        let v = self.read_u64(payload, endian)?;
        Some(match self.size {
            1 => i64::from(v as u8 as i8),
            2 => i64::from(v as u16 as i16),
            4 => i64::from(v as u32 as i32),
            _ => v as i64,
        })
    }

    /// The bytes of an array field: fixed arrays in place, `__data_loc` and
    /// `__rel_loc` arrays where their descriptor points, zero-length arrays
    /// (`name[]`) to the end of the payload. Scalars give their own bytes.
    pub fn read_bytes<'p>(&self, payload: &'p [u8], endian: Endian) -> Option<&'p [u8]> {
        if self.flags.dynamic {
            let (start, len) = if self.size == 2 {
                // Ancient kernels: a u16 offset, data runs to the end.
                let off = usize::from(endian.read_u16(payload, self.offset)?);
                (off, payload.len().checked_sub(off)?)
            } else {
                let v = endian.read_u32(payload, self.offset)?;
                let mut off = (v & 0xffff) as usize;
                if self.flags.relative {
                    off = off.checked_add(self.offset.checked_add(self.size)?)?;
                }
                (off, (v >> 16) as usize)
            };
            return payload.get(start..start.checked_add(len)?);
        }
        if self.flags.array && self.size == 0 {
            return payload.get(self.offset..);
        }
        payload.get(self.offset..self.offset.checked_add(self.size)?)
    }

    /// A string field (char array or `__data_loc char[]`): the bytes up to the
    /// first NUL.
    pub fn read_str<'p>(&self, payload: &'p [u8], endian: Endian) -> Option<&'p [u8]> {
        let b = self.read_bytes(payload, endian)?;
        Some(b.iter().position(|&c| c == 0).map_or(b, |n| &b[..n]))
    }
}

/// The integer elements of an array field, in the file's byte order.
#[derive(Debug, Clone, Copy)]
pub struct ArrayValues<'p> {
    bytes: &'p [u8],
    endian: Endian,
    elem: usize,
}

impl<'p> ArrayValues<'p> {
    /// Number of whole elements.
    pub fn len(&self) -> usize {
        self.bytes.len() / self.elem
    }

    /// Whether there is no whole element.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Element `i`, zero-extended.
    pub fn get(&self, i: usize) -> Option<u64> {
        self.endian
            .read_uint(self.bytes, i.checked_mul(self.elem)?, self.elem)
    }

    /// Every element, zero-extended.
    pub fn iter(&self) -> impl Iterator<Item = u64> + 'p {
        let (e, n) = (self.endian, self.elem);
        self.bytes
            .chunks_exact(n)
            .filter_map(move |c| e.read_uint(c, 0, n))
    }
}

/// A CPU mask (`cpumask_t`, `__data_loc cpumask_t[]`, `__bitmask`): an
/// array of kernel longs in the file's byte order, bit `b` of word `w`
/// standing for CPU `w × bits_per_long + b`.
#[derive(Debug, Clone, Copy)]
pub struct CpuMask<'p> {
    words: ArrayValues<'p>,
    bits: u32,
}

impl CpuMask<'_> {
    /// Whether `cpu` is in the mask.
    pub fn contains(&self, cpu: u32) -> bool {
        let w = (cpu / self.bits) as usize;
        self.words
            .get(w)
            .is_some_and(|v| v >> (cpu % self.bits) & 1 == 1)
    }

    /// The CPUs in the mask, ascending.
    pub fn cpus(&self) -> impl Iterator<Item = u32> + '_ {
        let bits = self.bits;
        self.words.iter().enumerate().flat_map(move |(w, v)| {
            (0..bits)
                .filter(move |b| v >> b & 1 == 1)
                .map(move |b| w as u32 * bits + b)
        })
    }

    /// How many CPUs are in the mask.
    pub fn count(&self) -> u32 {
        self.words.iter().map(u64::count_ones).sum()
    }
}

impl Field {
    /// An array field's elements of `elem_size` bytes (1, 2, 4 or 8): fixed
    /// arrays, `__data_loc`/`__rel_loc` dynamic arrays and `name[]` tails.
    /// Dynamic arrays do not state their element size; the caller knows it
    /// from the type (`long_size` for `unsigned long[]`).
    pub fn read_array<'p>(
        &self,
        payload: &'p [u8],
        endian: Endian,
        elem_size: usize,
    ) -> Option<ArrayValues<'p>> {
        if !matches!(elem_size, 1 | 2 | 4 | 8) {
            return None;
        }
        Some(ArrayValues {
            bytes: self.read_bytes(payload, endian)?,
            endian,
            elem: elem_size,
        })
    }

    /// A CPU mask field, the kernel's words being `long_size` (4 or 8) bytes.
    pub fn read_cpumask<'p>(
        &self,
        payload: &'p [u8],
        endian: Endian,
        long_size: usize,
    ) -> Option<CpuMask<'p>> {
        if !matches!(long_size, 4 | 8) {
            return None;
        }
        Some(CpuMask {
            words: self.read_array(payload, endian, long_size)?,
            bits: long_size as u32 * 8,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCHED_SWITCH: &str = "name: sched_switch\nID: 372\nformat:\n\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n\tfield:char prev_comm[16];\toffset:8;\tsize:16;\tsigned:0;\n\tfield:pid_t prev_pid;\toffset:24;\tsize:4;\tsigned:1;\n\tfield:long prev_state;\toffset:32;\tsize:8;\tsigned:1;\n\tfield:__data_loc char[] name;\toffset:40;\tsize:4;\tsigned:0;\n\tfield:struct mm_struct * mm;\toffset:48;\tsize:8;\tsigned:0;\n\tfield:char buf[];\toffset:56;\tsize:0;\tsigned:0;\n\nprint fmt: \"prev_comm=%s\", REC->prev_comm\n";

    /// A `__rel_loc` field whose offset + size overflows (`size:-4`) reads
    /// as absent instead of overflowing.
    #[test]
    fn rel_loc_with_overflowing_offset_plus_size_reads_as_absent() {
        let text = "name: e\nID: 1\nformat:\n\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\n\tfield:__rel_loc char[] x;\toffset:8;\tsize:-4;\tsigned:0;\n\nprint fmt: \"\"\n";
        let f = EventFormat::parse("s", text.as_bytes(), 0).unwrap();
        let x = f.field("x").unwrap();
        assert!(x.flags.dynamic && x.flags.relative, "{x:?}");
        let mut payload = [0u8; 16];
        payload[8..12].copy_from_slice(&0x0004_0000u32.to_le_bytes());
        assert_eq!(x.read_bytes(&payload, Endian::Little), None);
    }

    #[test]
    fn parses_sched_switch_like_format() {
        let f = EventFormat::parse("sched", SCHED_SWITCH.as_bytes(), 100).unwrap();
        assert_eq!(f.name, "sched_switch");
        assert_eq!(f.id, EventId(372));
        assert_eq!(f.common_fields.len(), 4);
        assert_eq!(f.fields.len(), 6);
        let c = f.field("prev_comm").unwrap();
        assert_eq!(
            (c.type_name.as_str(), c.offset, c.size, c.array_len),
            ("char", 8, 16, Some(16))
        );
        assert!(c.flags.array && c.flags.string && !c.flags.signed);
        let s = f.field("prev_state").unwrap();
        assert!(s.flags.long && s.flags.signed && !s.flags.array);
        let n = f.field("name").unwrap();
        assert!(n.flags.dynamic && n.flags.string && n.flags.array);
        assert_eq!(n.type_name, "__data_loc char[]");
        let m = f.field("mm").unwrap();
        assert!(m.flags.pointer);
        assert_eq!(m.type_name, "struct mm_struct *");
        let b = f.field("buf").unwrap();
        assert!(b.flags.array && b.array_len.is_none() && b.size == 0);
        assert_eq!(f.print_fmt, "\"prev_comm=%s\", REC->prev_comm");
    }

    #[test]
    fn bad_field_line_names_offset() {
        let t = "name: x\nID: 1\nformat:\n\tfield:int a;\toffset:zz;\tsize:4;\n";
        let e = EventFormat::parse("s", t.as_bytes(), 1000).unwrap_err();
        assert_eq!(e.offset.0, 1000 + 22);
    }

    #[test]
    fn header_page_both_long_sizes() {
        let h64 = b"\tfield: u64 timestamp;\toffset:0;\tsize:8;\tsigned:0;\n\tfield: local_t commit;\toffset:8;\tsize:8;\tsigned:1;\n\tfield: int overwrite;\toffset:8;\tsize:1;\tsigned:1;\n\tfield: char data;\toffset:16;\tsize:4080;\tsigned:0;\n";
        let h = HeaderPage::parse(h64, 0).unwrap();
        assert_eq!((h.commit_size, h.data_offset, h.page_size()), (8, 16, 4096));
        let h32 = b"\tfield: u64 timestamp;\toffset:0;\tsize:8;\tsigned:0;\n\tfield: local_t commit;\toffset:8;\tsize:4;\tsigned:1;\n\tfield: int overwrite;\toffset:8;\tsize:1;\tsigned:1;\n\tfield: char data;\toffset:12;\tsize:4084;\tsigned:0;\n";
        let h = HeaderPage::parse(h32, 0).unwrap();
        assert_eq!((h.commit_size, h.data_offset, h.page_size()), (4, 12, 4096));
    }

    #[test]
    fn cpumask_and_arrays_in_both_byte_orders_and_long_sizes() {
        let line = |t: &str| {
            format!(
                "name: m\nID: 9\nformat:\n\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\n{t}\n\nprint fmt: \"\"\n"
            )
        };
        let f = EventFormat::parse(
            "s",
            line("\tfield:__data_loc cpumask_t[] mask;\toffset:8;\tsize:4;\tsigned:0;").as_bytes(),
            0,
        )
        .unwrap();
        let m = f.field("mask").unwrap();
        for e in [Endian::Little, Endian::Big] {
            for long in [4usize, 8] {
                // CPUs 1, 3 and 33 (the second 32-bit word / upper half).
                let words: Vec<u64> = if long == 8 {
                    vec![(1 << 1) | (1 << 3) | (1 << 33)]
                } else {
                    vec![(1 << 1) | (1 << 3), 1 << 1]
                };
                let mut p = vec![0u8; 12];
                let bytes: Vec<u8> = words
                    .iter()
                    .flat_map(|&w| {
                        if long == 8 {
                            e.u64_bytes(w).to_vec()
                        } else {
                            e.u32_bytes(w as u32).to_vec()
                        }
                    })
                    .collect();
                let loc = (bytes.len() as u32) << 16 | 12;
                p[8..12].copy_from_slice(&e.u32_bytes(loc));
                p.extend(&bytes);
                let c = m.read_cpumask(&p, e, long).unwrap();
                assert_eq!(c.cpus().collect::<Vec<_>>(), [1, 3, 33], "{e:?} {long}");
                assert_eq!(c.count(), 3);
                assert!(c.contains(33) && !c.contains(2) && !c.contains(4000));
                let a = m.read_array(&p, e, long).unwrap();
                assert_eq!(a.len(), words.len());
                assert_eq!(a.iter().collect::<Vec<_>>(), words);
            }
        }
        assert!(m.read_cpumask(&[0; 4], Endian::Little, 8).is_none());
    }
}
