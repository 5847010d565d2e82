//! The metadata of a trace.dat file: initial header, v6 sequential layout,
//! v7 sections and options chain, buffers and their per-CPU data.

use super::TraceDat;
use super::cursor::Cursor;
pub use super::time::{TimeAdjust, TimeShift};
use crate::endian::Endian;
use crate::error::{Error, ErrorKind, Result};
use crate::format::{EventFormat, HeaderPage};
use crate::types::{Cpu, Pid};
use std::borrow::Cow;
use std::collections::HashMap;

/// Most CPUs accepted in one buffer.
pub const MAX_CPUS: u32 = 8192;
/// Most event formats accepted in one file.
pub const MAX_EVENT_FORMATS: u32 = 100_000;
/// Most event systems accepted in one file.
pub const MAX_SYSTEMS: u32 = 10_000;
/// Most options read from one options section.
pub const MAX_OPTIONS: usize = 100_000;
/// Most options sections followed in a v7 chain.
pub const MAX_OPTION_SECTIONS: usize = 4096;
/// Largest uncompressed size accepted for one compressed metadata section.
pub const MAX_SECTION_UNCOMPRESSED: u64 = 1 << 30;
/// Largest ratio of uncompressed to compressed size accepted (bomb guard).
pub const MAX_COMPRESSION_RATIO: u64 = 4096;
/// Largest sub-buffer (page) size accepted.
pub const MAX_PAGE_SIZE: u32 = 1 << 24;
/// Most warnings kept for event formats that do not parse (each costs more
/// memory than the few file bytes that can make it); later ones are counted
/// in one last warning.
pub const MAX_FORMAT_WARNINGS: usize = 1000;

const MAGIC: &[u8] = b"\x17\x08\x44tracing";

/// The compression of a v7 file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Compression {
    /// No compression (v6, or v7 `none`).
    None,
    /// zstd; the string is the library version written by the recorder.
    Zstd(String),
    /// zlib; the string is the library version written by the recorder.
    Zlib(String),
}

impl Compression {
    /// The name as trace-cmd writes it.
    pub fn name(&self) -> &str {
        match self {
            Compression::None => "none",
            Compression::Zstd(_) => "zstd",
            Compression::Zlib(_) => "zlib",
        }
    }

    pub(crate) fn decompress(
        &self,
        src: &[u8],
        usize_: usize,
        out: &mut Vec<u8>,
    ) -> std::result::Result<(), String> {
        out.clear();
        match self {
            Compression::None => {
                out.extend_from_slice(src);
                Ok(())
            }
            Compression::Zstd(_) => {
                if zstd_in_one(src, usize_, out) {
                    return Ok(());
                }
                out.clear();
                let d = zstd::stream::read::Decoder::with_buffer(src).map_err(|e| e.to_string())?;
                read_claimed(d, src.len(), usize_, out)
            }
            Compression::Zlib(_) => {
                read_claimed(flate2::read::ZlibDecoder::new(src), src.len(), usize_, out)
            }
        }
    }
}

/// Most bytes reserved up front per compressed byte: a decompressed-size
/// claim is only believed as far as the data goes, so a bogus claim (or a
/// decompression bomb) costs memory in proportion to what really comes out,
/// never to the claim; [`MAX_COMPRESSION_RATIO`] caps the claim itself.
pub const RESERVE_PER_COMPRESSED_BYTE: usize = 16;

thread_local! {
    /// This thread's zstd decompression context, reused from chunk to chunk.
    static ZSTD: std::cell::RefCell<Option<zstd::bulk::Decompressor<'static>>> =
        const { std::cell::RefCell::new(None) };
}

/// Decompresses a zstd chunk whose `claim` is believable (within
/// [`RESERVE_PER_COMPRESSED_BYTE`] of its compressed size) in one call,
/// straight into `out`, with this thread's reused context: true when exactly
/// `claim` bytes came out. Anything else (an implausible claim, a damaged
/// frame, a size other than the claim) is left to the streaming decoder,
/// which reports it.
fn zstd_in_one(src: &[u8], claim: usize, out: &mut Vec<u8>) -> bool {
    if claim > src.len().saturating_mul(RESERVE_PER_COMPRESSED_BYTE) {
        return false;
    }
    out.reserve(claim);
    ZSTD.with(|z| {
        let Ok(mut z) = z.try_borrow_mut() else {
            return false;
        };
        if z.is_none() {
            *z = zstd::bulk::Decompressor::new().ok();
        }
        let Some(d) = z.as_mut() else {
            return false;
        };
        matches!(d.decompress_to_buffer(src, out), Ok(n) if n == claim)
    })
}

/// Decompresses `r` into `out`, reading at most one byte past the `claim`
/// (so the output never outgrows it) and checking that exactly `claim`
/// bytes came out.
fn read_claimed(
    r: impl std::io::Read,
    csize: usize,
    claim: usize,
    out: &mut Vec<u8>,
) -> std::result::Result<(), String> {
    use std::io::Read as _;
    out.reserve(claim.min(csize.saturating_mul(RESERVE_PER_COMPRESSED_BYTE)));
    let n = r
        .take(claim as u64 + 1)
        .read_to_end(out)
        .map_err(|e| e.to_string())?;
    if n != claim {
        let more = if n > claim { " or more" } else { "" };
        return Err(format!("decompressed {n}{more} bytes, header says {claim}"));
    }
    Ok(())
}

/// Options of the file (both versions).
#[derive(Debug, Clone, Default)]
pub struct TraceOptions {
    /// The selected trace clock (`local`, `global`, `x86-tsc`...).
    pub clock: Option<String>,
    /// The full text of tracing/trace_clock, when stored.
    pub clock_text: Option<String>,
    /// `uname` string: sysname nodename release machine.
    pub uname: Option<String>,
    /// The recorder's version string.
    pub version: Option<String>,
    /// Trace id.
    pub trace_id: Option<u64>,
    /// Per-CPU statistics texts, in file order (instances are preceded by a
    /// `\nBuffer: NAME\n\n` entry, as trace-cmd writes them).
    pub cpustats: Vec<String>,
    /// Timestamp adjustment.
    pub time: TimeAdjust,
    /// The TIME_SHIFT option (guest→host clock samples), applied per CPU.
    pub time_shift: Option<TimeShift>,
    /// Option ids seen that this reader does not interpret.
    pub unknown: Vec<u16>,
}

impl TraceOptions {
    /// The `machine` field of the uname option (`x86_64`, `aarch64`, `s390x`).
    pub fn machine(&self) -> Option<&str> {
        self.uname.as_deref()?.split_whitespace().nth(3)
    }
}

/// One buffer (the top buffer or an instance).
#[derive(Debug, Clone)]
pub struct Buffer<'a> {
    /// Instance name; empty for the top buffer.
    pub name: String,
    /// The clock of this buffer, when the file says.
    pub clock: Option<String>,
    /// Sub-buffer (page) size in bytes.
    pub page_size: u32,
    /// Its CPUs, in file order.
    pub cpus: Vec<CpuData<'a>>,
}

/// Where one CPU's ring-buffer pages are.
#[derive(Debug, Clone)]
pub struct CpuData<'a> {
    /// The CPU.
    pub cpu: Cpu,
    /// File offset of the data (or of the chunk list when compressed).
    pub offset: u64,
    /// Size the file claims (not trusted for compressed data).
    pub size: u64,
    pub(crate) source: Source<'a>,
}

impl<'a> CpuData<'a> {
    /// The compressed chunks of this CPU, in order (empty when uncompressed).
    pub fn chunks(&self) -> &[Chunk<'a>] {
        match &self.source {
            Source::Chunks { chunks, .. } => chunks,
            _ => &[],
        }
    }

    /// Whether the data is stored in compressed chunks.
    pub fn is_compressed(&self) -> bool {
        matches!(self.source, Source::Chunks { .. })
    }
}

/// The bytes of one CPU.
#[derive(Debug, Clone)]
pub(crate) enum Source<'a> {
    /// Uncompressed pages. `cut` is set when the file ends before the claimed
    /// size (the first missing byte's offset).
    Raw { data: &'a [u8], cut: Option<u64> },
    /// Compressed chunks; `error` is a problem met while reading the chunk
    /// list (chunks before it are usable).
    Chunks {
        chunks: Vec<Chunk<'a>>,
        error: Option<Error>,
    },
    /// Pages recovered by scanning a truncated file.
    Recovered { data: &'a [u8], cut: Option<u64> },
}

/// One compressed chunk of a CPU's data. Chunks are independent: any
/// thread may decompress any chunk (see [`super::ChunkLoader`]).
#[derive(Debug, Clone, Copy)]
pub struct Chunk<'a> {
    pub(crate) offset: u64,
    pub(crate) compressed: &'a [u8],
    pub(crate) uncompressed_size: u32,
}

impl Chunk<'_> {
    /// File offset of the chunk's header.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Size the chunk header claims once decompressed (checked against the
    /// named limits when the chunk list was read).
    pub fn uncompressed_size(&self) -> u32 {
        self.uncompressed_size
    }

    /// Decompresses the chunk into `out` (cleared first). The error names
    /// the chunk's offset.
    pub fn decompress(&self, compression: &Compression, out: &mut Vec<u8>) -> Result<()> {
        compression
            .decompress(self.compressed, self.uncompressed_size as usize, out)
            .map_err(|msg| Error::new(ErrorKind::Decompress(msg), self.offset))
    }
}

struct Header<'a> {
    version: u32,
    endian: Endian,
    user_long: u8,
    page_size: u32,
    compression: Compression,
    cursor: Cursor<'a>,
}

fn parse_header(data: &[u8]) -> Result<Header<'_>> {
    let mut c = Cursor::new(data, 0, Endian::Little);
    let magic = c.bytes(MAGIC.len(), "file magic")?;
    if magic != MAGIC {
        return Err(Error::new(ErrorKind::BadMagic, 0));
    }
    let vpos = c.offset();
    let vs = c.cstr("version string")?;
    let vstr = String::from_utf8_lossy(vs).to_string();
    let version: u32 = vstr
        .parse()
        .map_err(|_| Error::new(ErrorKind::UnsupportedVersion(vstr.clone()), vpos))?;
    if !(6..=7).contains(&version) {
        return Err(Error::new(ErrorKind::UnsupportedVersion(vstr), vpos));
    }
    let epos = c.offset();
    let endian = match c.u8("endian byte")? {
        0 => Endian::Little,
        1 => Endian::Big,
        e => return Err(Error::invalid("endian byte", e, epos)),
    };
    c.set_endian(endian);
    let user_long = c.u8("long size")?;
    let ppos = c.offset();
    let page_size = c.u32("page size")?;
    if page_size == 0 || page_size > MAX_PAGE_SIZE {
        return Err(Error::invalid("page size", page_size, ppos));
    }
    let mut compression = Compression::None;
    if version >= 7 {
        let cpos = c.offset();
        let name = String::from_utf8_lossy(c.cstr("compression name")?).to_string();
        let ver = String::from_utf8_lossy(c.cstr("compression version")?).to_string();
        compression = match name.as_str() {
            "none" | "" => Compression::None,
            "zstd" => Compression::Zstd(ver),
            "zlib" => Compression::Zlib(ver),
            _ => {
                return Err(Error::new(ErrorKind::UnsupportedCompression(name), cpos));
            }
        };
    }
    Ok(Header {
        version,
        endian,
        user_long,
        page_size,
        compression,
        cursor: c,
    })
}

/// Builder state shared by the v6 and v7 paths.
struct Meta<'a> {
    data: &'a [u8],
    endian: Endian,
    compression: Compression,
    header_page: Option<(HeaderPage, String)>,
    header_event: String,
    ftrace: Vec<EventFormat>,
    events: Vec<EventFormat>,
    kallsyms: Cow<'a, [u8]>,
    printk: Cow<'a, [u8]>,
    cmdlines: Cow<'a, [u8]>,
    cpu_count: Option<u32>,
    options: TraceOptions,
    warnings: Vec<Error>,
    format_warnings: usize,
    clock_option_seen: bool,
}

impl<'a> Meta<'a> {
    fn c(&self, off: u64) -> Result<Cursor<'a>> {
        let mut c = Cursor::new(self.data, 0, self.endian);
        c.seek(off, "section")?;
        Ok(c)
    }

    /// Records a format that did not parse, up to [`MAX_FORMAT_WARNINGS`].
    fn warn(&mut self, e: Error) {
        self.format_warnings += 1;
        if self.format_warnings <= MAX_FORMAT_WARNINGS {
            self.warnings.push(e);
        } else if self.format_warnings == MAX_FORMAT_WARNINGS + 1 {
            let at = e.offset.0;
            self.warnings.push(too_large(
                "event formats that do not parse (further ones not reported)",
                MAX_FORMAT_WARNINGS as u64 + 1,
                MAX_FORMAT_WARNINGS as u64,
                at,
            ));
        }
    }

    /// header_page + header_event block (v6 inline, v7 HEADER_INFO section).
    fn read_headers(&mut self, c: &mut Cursor<'_>) -> Result<()> {
        let pos = c.offset();
        let tag = c.cstr("header_page tag")?;
        if tag != b"header_page" {
            return Err(Error::invalid(
                "header_page tag",
                String::from_utf8_lossy(tag),
                pos,
            ));
        }
        let size = c.u64("header_page size")?;
        let tpos = c.offset();
        let text = c.bytes_u64(size, "header_page text")?;
        if text.is_empty() {
            return Err(Error::new(
                ErrorKind::UnsupportedVersion("pre-2.6.31 ring buffer (empty header_page)".into()),
                tpos,
            ));
        }
        let hp = HeaderPage::parse(text, tpos)?;
        self.header_page = Some((hp, String::from_utf8_lossy(text).to_string()));
        let pos = c.offset();
        let tag = c.cstr("header_event tag")?;
        if tag != b"header_event" {
            return Err(Error::invalid(
                "header_event tag",
                String::from_utf8_lossy(tag),
                pos,
            ));
        }
        let size = c.u64("header_event size")?;
        let text = c.bytes_u64(size, "header_event text")?;
        self.header_event = String::from_utf8_lossy(text).to_string();
        Ok(())
    }

    fn read_ftrace_formats(&mut self, c: &mut Cursor<'_>) -> Result<()> {
        let pos = c.offset();
        let n = c.u32("ftrace format count")?;
        if n > MAX_EVENT_FORMATS {
            return Err(too_large(
                "ftrace format count",
                n.into(),
                MAX_EVENT_FORMATS.into(),
                pos,
            ));
        }
        for _ in 0..n {
            let size = c.u64("ftrace format size")?;
            let fpos = c.offset();
            let text = c.bytes_u64(size, "ftrace format text")?;
            match EventFormat::parse("ftrace", text, fpos) {
                Ok(f) => self.ftrace.push(f),
                Err(e) => self.warn(e),
            }
        }
        Ok(())
    }

    fn read_event_formats(&mut self, c: &mut Cursor<'_>) -> Result<()> {
        let pos = c.offset();
        let nsys = c.u32("event system count")?;
        if nsys > MAX_SYSTEMS {
            return Err(too_large(
                "event system count",
                nsys.into(),
                MAX_SYSTEMS.into(),
                pos,
            ));
        }
        for _ in 0..nsys {
            let system = String::from_utf8_lossy(c.cstr("event system name")?).to_string();
            let npos = c.offset();
            let n = c.u32("event count")?;
            if n > MAX_EVENT_FORMATS {
                return Err(too_large(
                    "event count",
                    n.into(),
                    MAX_EVENT_FORMATS.into(),
                    npos,
                ));
            }
            for _ in 0..n {
                let size = c.u64("event format size")?;
                let fpos = c.offset();
                let text = c.bytes_u64(size, "event format text")?;
                match EventFormat::parse(&system, text, fpos) {
                    Ok(f) => {
                        if self.events.len() + self.ftrace.len() >= MAX_EVENT_FORMATS as usize {
                            return Err(too_large(
                                "event format count",
                                MAX_EVENT_FORMATS as u64 + 1,
                                MAX_EVENT_FORMATS.into(),
                                fpos,
                            ));
                        }
                        self.events.push(f)
                    }
                    Err(e) => self.warn(e),
                }
            }
        }
        Ok(())
    }

    /// Reads one option's payload into the options.
    fn apply_option(&mut self, id: u16, payload: &[u8], off: u64) -> Result<()> {
        let e = self.endian;
        let text = || {
            let t = payload.split(|&b| b == 0).next().unwrap_or(&[]);
            String::from_utf8_lossy(t).to_string()
        };
        match id {
            1 => {
                // DATE: "0x..." microseconds.
                if let Some(v) = parse_c_int(&text()) {
                    self.options.time.offset_ns = self
                        .options
                        .time
                        .offset_ns
                        .wrapping_add(v.wrapping_mul(1000));
                }
            }
            2 => self.options.cpustats.push(text()),
            4 => {
                self.clock_option_seen = true;
                let t = text();
                if !t.is_empty() {
                    self.options.clock = selected_clock(&t);
                    self.options.clock_text = Some(t);
                }
            }
            5 => self.options.uname = Some(text()),
            7 => {
                if let Some(v) = parse_c_int(&text()) {
                    self.options.time.offset_ns = self.options.time.offset_ns.wrapping_add(v);
                }
            }
            8 => {
                let v = e
                    .read_u32(payload, 0)
                    .ok_or_else(|| Error::truncated("CPUCOUNT option", 4, off))?;
                self.cpu_count = Some(v);
            }
            9 => self.options.version = Some(text()),
            11 => self.options.trace_id = e.read_u64(payload, 0),
            12 => match TimeShift::parse(e, payload) {
                Some(t) => self.options.time_shift = t,
                None => self.warnings.push(Error::truncated(
                    "TIME_SHIFT option (ignored: shorter than its sample counts)",
                    1,
                    off,
                )),
            },
            14 => {
                if let (Some(m), Some(s), Some(o)) = (
                    e.read_u32(payload, 0),
                    e.read_u32(payload, 4),
                    e.read_u64(payload, 8),
                ) {
                    if m != 0 {
                        self.options.time.tsc2nsec = Some((m, s, o));
                    }
                }
            }
            0 | 3 | 6 | 10 | 13 | 15..=25 => {}
            other => self.options.unknown.push(other),
        }
        Ok(())
    }
}

/// A BUFFER option's payload, interpreted once the layout is known.
struct BufferOpt<'a> {
    payload: &'a [u8],
    off: u64,
}

fn too_large(what: &'static str, size: u64, max: u64, off: u64) -> Error {
    Error::new(ErrorKind::TooLarge { what, size, max }, off)
}

/// `strtoll(s, NULL, 0)`: decimal, `0x` hex or `0` octal, optional sign.
fn parse_c_int(s: &str) -> Option<i64> {
    let s = s.trim();
    let (neg, s) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let v = if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        i64::from_str_radix(h, 16).ok()?
    } else if s.len() > 1 && s.starts_with('0') {
        i64::from_str_radix(&s[1..], 8).ok()?
    } else {
        s.parse::<i64>().ok()?
    };
    Some(if neg { v.wrapping_neg() } else { v })
}

/// `[local] global ...` → `local`; a plain name is returned as is.
fn selected_clock(t: &str) -> Option<String> {
    if let (Some(a), Some(b)) = (t.find('['), t.find(']')) {
        if a < b {
            return Some(t[a + 1..b].to_string());
        }
    }
    let w = t.split_whitespace().next()?;
    Some(w.to_string())
}

fn parse_cmdlines(text: &[u8]) -> Vec<(Pid, String)> {
    let mut v = Vec::new();
    for line in text.split(|&b| b == b'\n') {
        let line = String::from_utf8_lossy(line);
        let line = line.trim_end_matches('\0');
        if let Some((pid, comm)) = line.split_once(' ') {
            if let Ok(p) = pid.trim().parse::<i32>() {
                v.push((Pid(p), comm.to_string()));
            }
        }
    }
    v
}

pub(crate) fn parse(data: &[u8]) -> Result<TraceDat<'_>> {
    let h = parse_header(data)?;
    let mut m = Meta {
        data,
        endian: h.endian,
        compression: h.compression.clone(),
        header_page: None,
        header_event: String::new(),
        ftrace: Vec::new(),
        events: Vec::new(),
        kallsyms: Cow::Borrowed(&[]),
        printk: Cow::Borrowed(&[]),
        cmdlines: Cow::Borrowed(&[]),
        cpu_count: None,
        options: TraceOptions::default(),
        warnings: Vec::new(),
        format_warnings: 0,
        clock_option_seen: false,
    };
    let buffers = if h.version >= 7 {
        parse_v7(&mut m, h.cursor, h.page_size)?
    } else {
        parse_v6(&mut m, h.cursor, h.page_size)?
    };
    let (header_page, _) = m
        .header_page
        .clone()
        .ok_or_else(|| Error::truncated("header_page", 1, data.len() as u64))?;
    let ftrace_count = m.ftrace.len();
    let mut formats = std::mem::take(&mut m.ftrace);
    formats.append(&mut m.events);
    let cmdlines = parse_cmdlines(&m.cmdlines);
    let mut t = TraceDat {
        data,
        version: h.version,
        endian: h.endian,
        user_long_size: h.user_long,
        long_size: header_page.commit_size,
        header_page_size: h.page_size,
        compression: h.compression,
        header_page,
        header_event: m.header_event,
        formats: Vec::new(),
        ftrace_format_count: 0,
        by_id: HashMap::new(),
        kallsyms: m.kallsyms,
        printk: m.printk,
        cmdlines: Vec::new(),
        cmdline_map: HashMap::new(),
        cpu_count: m.cpu_count.unwrap_or(0),
        options: m.options,
        buffers,
        warnings: m.warnings,
    };
    t.set_formats(formats, ftrace_count);
    t.set_cmdlines(cmdlines);
    Ok(t)
}

/// Parses perf's `HEADER_TRACING_DATA` (perf.data feature 1): the v6
/// trace.dat metadata prefix (magic, version `"0.6"` or `"0.5"`, endian
/// byte, long size, page size, header_page, header_event, ftrace and event
/// formats, kallsyms, printk formats and, from 0.6, saved cmdlines) with no
/// options and no CPU data. `base` is the file offset of `data`, so errors
/// name absolute offsets. The result has no buffers; its `version` is the
/// minor number (6 for `"0.6"`).
pub(crate) fn parse_tracing_data(data: &[u8], base: u64) -> Result<TraceDat<'_>> {
    let mut c = Cursor::new(data, base, Endian::Little);
    let magic = c.bytes(MAGIC.len(), "tracing data magic")?;
    if magic != MAGIC {
        return Err(Error::new(ErrorKind::BadMagic, base));
    }
    let vpos = c.offset();
    let vstr = String::from_utf8_lossy(c.cstr("tracing data version")?).to_string();
    let version = match vstr.as_str() {
        "0.5" => 5,
        "0.6" => 6,
        _ => return Err(Error::new(ErrorKind::UnsupportedVersion(vstr), vpos)),
    };
    let epos = c.offset();
    let endian = match c.u8("endian byte")? {
        0 => Endian::Little,
        1 => Endian::Big,
        e => return Err(Error::invalid("endian byte", e, epos)),
    };
    c.set_endian(endian);
    let user_long = c.u8("long size")?;
    let ppos = c.offset();
    let page_size = c.u32("page size")?;
    if page_size == 0 || page_size > MAX_PAGE_SIZE {
        return Err(Error::invalid("page size", page_size, ppos));
    }
    let mut m = Meta {
        data,
        endian,
        compression: Compression::None,
        header_page: None,
        header_event: String::new(),
        ftrace: Vec::new(),
        events: Vec::new(),
        kallsyms: Cow::Borrowed(&[]),
        printk: Cow::Borrowed(&[]),
        cmdlines: Cow::Borrowed(&[]),
        cpu_count: None,
        options: TraceOptions::default(),
        warnings: Vec::new(),
        clock_option_seen: false,
        format_warnings: 0,
    };
    m.read_headers(&mut c)?;
    m.read_ftrace_formats(&mut c)?;
    m.read_event_formats(&mut c)?;
    // What follows the formats is optional for the events: a damaged tail
    // is a warning, the formats stay usable.
    let tail = (|| -> Result<()> {
        m.kallsyms = Cow::Borrowed(read_u32_text(&mut c, "kallsyms")?);
        m.printk = Cow::Borrowed(read_u32_text(&mut c, "printk formats")?);
        if version >= 6 {
            m.cmdlines = Cow::Borrowed(read_u64_text(&mut c, "saved cmdlines")?);
        }
        Ok(())
    })();
    if let Err(e) = tail {
        m.warnings.push(e);
    }
    let (header_page, _) = m
        .header_page
        .clone()
        .ok_or_else(|| Error::truncated("header_page", 1, base))?;
    let ftrace_count = m.ftrace.len();
    let mut formats = std::mem::take(&mut m.ftrace);
    formats.append(&mut m.events);
    let cmdlines = parse_cmdlines(&m.cmdlines);
    let mut t = TraceDat {
        data,
        version,
        endian,
        user_long_size: user_long,
        long_size: header_page.commit_size,
        header_page_size: page_size,
        compression: Compression::None,
        header_page,
        header_event: m.header_event,
        formats: Vec::new(),
        ftrace_format_count: 0,
        by_id: HashMap::new(),
        kallsyms: m.kallsyms,
        printk: m.printk,
        cmdlines: Vec::new(),
        cmdline_map: HashMap::new(),
        cpu_count: 0,
        options: m.options,
        buffers: Vec::new(),
        warnings: m.warnings,
    };
    t.set_formats(formats, ftrace_count);
    t.set_cmdlines(cmdlines);
    Ok(t)
}

fn read_u32_text<'a>(c: &mut Cursor<'a>, what: &'static str) -> Result<&'a [u8]> {
    let n = c.u32(what)?;
    c.bytes_u64(n.into(), what)
}

fn read_u64_text<'a>(c: &mut Cursor<'a>, what: &'static str) -> Result<&'a [u8]> {
    let n = c.u64(what)?;
    c.bytes_u64(n, what)
}

fn parse_v6<'a>(m: &mut Meta<'a>, mut c: Cursor<'a>, page_size: u32) -> Result<Vec<Buffer<'a>>> {
    m.read_headers(&mut c)?;
    m.read_ftrace_formats(&mut c)?;
    m.read_event_formats(&mut c)?;
    m.kallsyms = Cow::Borrowed(read_u32_text(&mut c, "kallsyms")?);
    m.printk = Cow::Borrowed(read_u32_text(&mut c, "printk formats")?);
    m.cmdlines = Cow::Borrowed(read_u64_text(&mut c, "saved cmdlines")?);
    let cpos = c.offset();
    let mut cpus = c.u32("cpu count")?;
    if cpus > MAX_CPUS {
        return Err(too_large("cpu count", cpus.into(), MAX_CPUS.into(), cpos));
    }
    let mut buffer_opts = Vec::new();
    loop {
        let tpos = c.offset();
        let tag = c.bytes(10, "section tag")?;
        if tag.starts_with(b"options") {
            let mut count = 0usize;
            loop {
                let opos = c.offset();
                let id = c.u16("option id")?;
                if id == 0 {
                    break;
                }
                let size = c.u32("option size")?;
                let payload = c.bytes_u64(size.into(), "option data")?;
                if id == 3 {
                    buffer_opts.push(BufferOpt { payload, off: opos });
                } else {
                    m.apply_option(id, payload, opos)?;
                }
                count += 1;
                if count > MAX_OPTIONS {
                    return Err(too_large(
                        "option count",
                        count as u64,
                        MAX_OPTIONS as u64,
                        opos,
                    ));
                }
            }
            if let Some(n) = m.cpu_count {
                if n > MAX_CPUS {
                    return Err(too_large("cpu count", n.into(), MAX_CPUS.into(), cpos));
                }
                cpus = n;
            }
            continue;
        }
        if tag.starts_with(b"latency") {
            return Err(Error::new(
                ErrorKind::UnsupportedVersion("latency (text) trace data".into()),
                tpos,
            ));
        }
        if tag.starts_with(b"flyrecord") {
            break;
        }
        return Err(Error::invalid(
            "section tag",
            String::from_utf8_lossy(tag),
            tpos,
        ));
    }
    m.cpu_count = Some(cpus);
    let top = read_flyrecord_v6(m, &mut c, cpus, page_size, "", true)?;
    let mut buffers = vec![top];
    for b in buffer_opts {
        let e = m.endian;
        let Some(off) = e.read_u64(b.payload, 0) else {
            m.warnings.push(Error::truncated("BUFFER option", 8, b.off));
            continue;
        };
        let name = b.payload[8..]
            .split(|&x| x == 0)
            .next()
            .map(|n| String::from_utf8_lossy(n).to_string())
            .unwrap_or_default();
        let mut bc = match m.c(off) {
            Ok(bc) => bc,
            Err(e) => {
                m.warnings.push(e.with_buffer(&name));
                continue;
            }
        };
        let tpos = bc.offset();
        match bc.bytes(10, "flyrecord tag") {
            Ok(t) if t.starts_with(b"flyrecord") => {}
            Ok(t) => {
                m.warnings.push(
                    Error::invalid("flyrecord tag", String::from_utf8_lossy(t), tpos)
                        .with_buffer(&name),
                );
                continue;
            }
            Err(e) => {
                m.warnings.push(e.with_buffer(&name));
                continue;
            }
        }
        match read_flyrecord_v6(m, &mut bc, cpus, page_size, &name, false) {
            Ok(b) => buffers.push(b),
            Err(e) => m.warnings.push(e.with_buffer(&name)),
        }
    }
    Ok(buffers)
}

fn read_flyrecord_v6<'a>(
    m: &mut Meta<'a>,
    c: &mut Cursor<'a>,
    cpus: u32,
    page_size: u32,
    name: &str,
    top: bool,
) -> Result<Buffer<'a>> {
    let mut pairs = Vec::new();
    for i in 0..cpus {
        let pos = c.offset();
        let off = c.u64("cpu data offset")?;
        let size = c.u64("cpu data size")?;
        pairs.push((Cpu(i), off, size, pos));
    }
    let mut clock = None;
    if top && m.clock_option_seen {
        // The clock text follows the CPU table: u64 size + text.
        let save = *c;
        match read_u64_text(c, "trace clock") {
            Ok(t) if t.len() < 4096 => {
                let s = String::from_utf8_lossy(t).to_string();
                clock = selected_clock(&s);
                if m.options.clock.is_none() {
                    m.options.clock = clock.clone();
                    m.options.clock_text = Some(s);
                }
            }
            _ => *c = save,
        }
    }
    if clock.is_none() {
        clock = m.options.clock.clone();
    }
    let cpus = pairs
        .into_iter()
        .map(|(cpu, off, size, _)| raw_cpu(m.data, cpu, off, size))
        .collect();
    Ok(Buffer {
        name: name.to_string(),
        clock,
        page_size,
        cpus,
    })
}

fn raw_cpu(data: &[u8], cpu: Cpu, off: u64, size: u64) -> CpuData<'_> {
    let len = data.len() as u64;
    let start = off.min(len);
    let end = off.saturating_add(size).min(len);
    let cut = (off.saturating_add(size) > len && size > 0).then_some(end.max(start));
    CpuData {
        cpu,
        offset: off,
        size,
        source: Source::Raw {
            data: &data[start as usize..end as usize],
            cut,
        },
    }
}

/// A v7 section header.
#[derive(Debug, Clone, Copy)]
struct Section {
    id: u16,
    flags: u16,
    size: u64,
    /// Offset of the payload.
    payload: u64,
}

fn read_section_header(c: &mut Cursor<'_>) -> Result<Section> {
    let id = c.u16("section id")?;
    let flags = c.u16("section flags")?;
    let _desc = c.u32("section description")?;
    let size = c.u64("section size")?;
    Ok(Section {
        id,
        flags,
        size,
        payload: c.offset(),
    })
}

impl<'a> Meta<'a> {
    /// The payload of a section, decompressed when its flag says so.
    fn section_payload(&self, s: &Section) -> Result<Cow<'a, [u8]>> {
        let mut c = self.c(s.payload)?;
        let raw = c.bytes_u64(s.size, "section payload")?;
        if s.flags & 1 == 0 {
            return Ok(Cow::Borrowed(raw));
        }
        let mut cc = Cursor::new(raw, s.payload, self.endian);
        let csize = cc.u32("compressed size")?;
        let usize_ = cc.u32("uncompressed size")?;
        let cdata = cc.bytes_u64(csize.into(), "compressed section data")?;
        check_ratio(
            u64::from(usize_),
            u64::from(csize),
            MAX_SECTION_UNCOMPRESSED,
            s.payload,
        )?;
        let mut out = Vec::new();
        self.compression
            .decompress(cdata, usize_ as usize, &mut out)
            .map_err(|e| Error::new(ErrorKind::Decompress(e), s.payload + 8))?;
        Ok(Cow::Owned(out))
    }
}

pub(crate) fn check_ratio(usize_: u64, csize: u64, max: u64, off: u64) -> Result<()> {
    if usize_ > max {
        return Err(too_large("uncompressed size", usize_, max, off));
    }
    if usize_ > csize.saturating_mul(MAX_COMPRESSION_RATIO).max(4096) {
        return Err(too_large(
            "uncompressed size claim",
            usize_,
            csize.saturating_mul(MAX_COMPRESSION_RATIO),
            off,
        ));
    }
    Ok(())
}

fn parse_v7<'a>(m: &mut Meta<'a>, mut c: Cursor<'a>, page_size: u32) -> Result<Vec<Buffer<'a>>> {
    let first = c.u64("first options offset")?;
    let mut next = first;
    let mut buffer_opts = Vec::new();
    let mut section_offsets: HashMap<u16, u64> = HashMap::new();
    let mut chain = 0usize;
    let mut last_end = c.offset();
    let mut chain_broken: Option<Error> = None;
    while next != 0 {
        chain += 1;
        if chain > MAX_OPTION_SECTIONS {
            return Err(too_large(
                "options section chain",
                chain as u64,
                MAX_OPTION_SECTIONS as u64,
                next,
            ));
        }
        let sec = match m.c(next).and_then(|mut sc| read_section_header(&mut sc)) {
            Ok(s) => s,
            Err(e) => {
                chain_broken = Some(e);
                break;
            }
        };
        if sec.id != 0 {
            return Err(Error::invalid("options section id", sec.id, next));
        }
        let payload = match m.section_payload(&sec) {
            Ok(p) => p,
            Err(e) => {
                chain_broken = Some(e);
                break;
            }
        };
        last_end = sec.payload + sec.size;
        next = 0;
        let payload: &'a [u8] = match payload {
            Cow::Borrowed(b) => b,
            // Compressed options sections are rare; keep them alive for the
            // buffers' borrowed payloads by leaking nothing: copy the needed
            // parts instead.
            Cow::Owned(v) => {
                // Compressed options section: its BUFFER options would borrow
                // the decompressed copy; they are not supported (trace-cmd
                // never compresses options sections).
                let mut oc = Cursor::new(&v, sec.payload, m.endian);
                let mut skipped = false;
                read_options_v7(
                    m,
                    &mut oc,
                    &mut |_, _| skipped = true,
                    &mut section_offsets,
                    &mut next,
                )?;
                if skipped {
                    m.warnings.push(Error::invalid(
                        "BUFFER option in a compressed options section",
                        "ignored",
                        sec.payload,
                    ));
                }
                continue;
            }
        };
        let mut oc = Cursor::new(payload, sec.payload, m.endian);
        read_options_v7(
            m,
            &mut oc,
            &mut |payload, off| buffer_opts.push(BufferOpt { payload, off }),
            &mut section_offsets,
            &mut next,
        )?;
    }
    // Metadata sections.
    let load = |m: &mut Meta<'a>, id: u16| -> Result<Option<(Cow<'a, [u8]>, u64)>> {
        let Some(&off) = section_offsets.get(&id) else {
            return Ok(None);
        };
        let mut sc = m.c(off)?;
        let s = read_section_header(&mut sc)?;
        if s.id != id {
            return Err(Error::invalid("section id", s.id, off));
        }
        Ok(Some((m.section_payload(&s)?, s.payload)))
    };
    let (hdr, hoff) =
        load(m, 16)?.ok_or_else(|| Error::truncated("HEADER_INFO section", 1, first))?;
    let mut hc = Cursor::new(&hdr, hoff, m.endian);
    m.read_headers(&mut hc)?;
    if let Some((b, off)) = load(m, 17)? {
        let mut bc = Cursor::new(&b, off, m.endian);
        m.read_ftrace_formats(&mut bc)?;
    }
    if let Some((b, off)) = load(m, 18)? {
        let mut bc = Cursor::new(&b, off, m.endian);
        m.read_event_formats(&mut bc)?;
    }
    let text_section =
        |m: &mut Meta<'a>, id: u16, wide: bool, what: &'static str| -> Result<Cow<'a, [u8]>> {
            let Some((b, off)) = load(m, id)? else {
                return Ok(Cow::Borrowed(&[]));
            };
            let range = {
                let mut bc = Cursor::new(&b, off, m.endian);
                let n = if wide {
                    bc.u64(what)?
                } else {
                    u64::from(bc.u32(what)?)
                };
                let start = bc.pos();
                bc.bytes_u64(n, what)?;
                start..start + n as usize
            };
            Ok(match b {
                Cow::Borrowed(s) => Cow::Borrowed(&s[range]),
                Cow::Owned(v) => Cow::Owned(v[range].to_vec()),
            })
        };
    m.kallsyms = text_section(m, 19, false, "kallsyms")?;
    m.printk = text_section(m, 20, false, "printk formats")?;
    m.cmdlines = text_section(m, 21, true, "saved cmdlines")?;

    let mut buffers = Vec::new();
    for b in buffer_opts {
        match parse_buffer_v7(m, &b, page_size) {
            Ok(buf) => buffers.push(buf),
            Err(e) => m.warnings.push(e),
        }
    }
    if let Some(e) = chain_broken {
        if buffers.is_empty() {
            // Truncated file: the trailing options with the BUFFER option are
            // gone. Recover the flyrecord section by scanning.
            match recover_v7_buffer(m, last_end, page_size) {
                Some(b) => buffers.push(b),
                None => return Err(e),
            }
        }
        m.warnings.push(e);
    }
    // Top buffer first, as trace-cmd lists it.
    buffers.sort_by_key(|b| !b.name.is_empty());
    if m.cpu_count.is_none() {
        m.cpu_count = buffers.first().map(|b| b.cpus.len() as u32);
    }
    Ok(buffers)
}

fn read_options_v7<'a, 'b>(
    m: &mut Meta<'a>,
    oc: &mut Cursor<'b>,
    on_buffer: &mut dyn FnMut(&'b [u8], u64),
    section_offsets: &mut HashMap<u16, u64>,
    next: &mut u64,
) -> Result<()> {
    let mut count = 0usize;
    while oc.remaining() > 0 {
        let opos = oc.offset();
        let id = oc.u16("option id")?;
        let size = oc.u32("option size")?;
        let payload = oc.bytes_u64(size.into(), "option data")?;
        count += 1;
        if count > MAX_OPTIONS {
            return Err(too_large(
                "option count",
                count as u64,
                MAX_OPTIONS as u64,
                opos,
            ));
        }
        match id {
            0 => {
                *next = m.endian.read_u64(payload, 0).unwrap_or(0);
                break;
            }
            16..=21 | 23 | 25 => {
                if let Some(off) = m.endian.read_u64(payload, 0) {
                    section_offsets.insert(id, off);
                }
            }
            3 => on_buffer(payload, opos),
            _ => m.apply_option(id, payload, opos)?,
        }
    }
    Ok(())
}

fn parse_buffer_v7<'a>(
    m: &mut Meta<'a>,
    b: &BufferOpt<'a>,
    default_page: u32,
) -> Result<Buffer<'a>> {
    let mut c = Cursor::new(b.payload, b.off + 6, m.endian);
    let section = c.u64("BUFFER section offset")?;
    let name = String::from_utf8_lossy(c.cstr("buffer name")?).to_string();
    let clock = String::from_utf8_lossy(c.cstr("buffer clock")?).to_string();
    let ppos = c.offset();
    let mut page_size = c.u32("buffer page size")?;
    if page_size == 0 {
        page_size = default_page;
    }
    if page_size > MAX_PAGE_SIZE {
        return Err(Error::invalid("buffer page size", page_size, ppos).with_buffer(&name));
    }
    let npos = c.offset();
    let n = c.u32("buffer cpu count")?;
    if n > MAX_CPUS {
        return Err(too_large("cpu count", n.into(), MAX_CPUS.into(), npos).with_buffer(&name));
    }
    let mut sc = m.c(section).map_err(|e| e.with_buffer(&name))?;
    let sec = read_section_header(&mut sc).map_err(|e| e.with_buffer(&name))?;
    let compressed = sec.flags & 1 != 0;
    let mut cpus = Vec::new();
    for _ in 0..n {
        let cpu = Cpu(c.u32("cpu id")?);
        let off = c.u64("cpu data offset")?;
        let size = c.u64("cpu data size")?;
        if compressed && off != 0 {
            cpus.push(chunked_cpu(m, cpu, off, size));
        } else {
            cpus.push(raw_cpu(m.data, cpu, off, size));
        }
    }
    Ok(Buffer {
        name,
        clock: (!clock.is_empty()).then_some(clock),
        page_size,
        cpus,
    })
}

/// Largest uncompressed chunk accepted.
pub const MAX_CHUNK_UNCOMPRESSED: u64 = 1 << 28;
/// Most chunks accepted for one CPU.
pub const MAX_CHUNKS: u32 = 1 << 24;

fn chunked_cpu<'a>(m: &Meta<'a>, cpu: Cpu, off: u64, size: u64) -> CpuData<'a> {
    let mut chunks = Vec::new();
    let mut error = None;
    let res = (|| -> Result<()> {
        let mut c = m.c(off)?;
        let npos = c.offset();
        let n = c.u32("chunk count")?;
        if n > MAX_CHUNKS {
            return Err(too_large("chunk count", n.into(), MAX_CHUNKS.into(), npos));
        }
        for _ in 0..n {
            let coff = c.offset();
            let csize = c.u32("chunk compressed size")?;
            let usize_ = c.u32("chunk uncompressed size")?;
            check_ratio(usize_.into(), csize.into(), MAX_CHUNK_UNCOMPRESSED, coff)?;
            let data = c.bytes_u64(csize.into(), "chunk data")?;
            chunks.push(Chunk {
                offset: coff,
                compressed: data,
                uncompressed_size: usize_,
            });
        }
        Ok(())
    })();
    if let Err(e) = res {
        error = Some(e.with_cpu(cpu));
    }
    CpuData {
        cpu,
        offset: off,
        size,
        source: Source::Chunks { chunks, error },
    }
}

/// Recovers the top buffer of a truncated v7 file whose trailing options
/// (holding the BUFFER option) are missing: finds the flyrecord section after
/// `from`, and assigns its pages to CPUs in order, starting a new CPU where
/// page timestamps go backwards (each CPU's pages are in time order).
fn recover_v7_buffer<'a>(m: &mut Meta<'a>, from: u64, page_size: u32) -> Option<Buffer<'a>> {
    let mut c = m.c(from).ok()?;
    let sec = read_section_header(&mut c).ok()?;
    if sec.id != 3 || sec.flags & 1 != 0 {
        return None;
    }
    let ps = u64::from(page_size);
    let start = sec.payload.div_ceil(ps) * ps;
    let len = m.data.len() as u64;
    if start >= len {
        return None;
    }
    let claimed_end = sec.payload.saturating_add(sec.size);
    let ncpu = m.cpu_count.unwrap_or(1).clamp(1, MAX_CPUS);
    let e = m.endian;
    let mut cpus = Vec::new();
    let mut cur_start = start;
    let mut last_ts = 0u64;
    let mut p = start;
    while p + 8 <= len && (cpus.len() as u32) < ncpu {
        let ts = e.read_u64(m.data, p as usize)?;
        if p > cur_start && ts < last_ts && (cpus.len() as u32) + 1 < ncpu {
            cpus.push((cur_start, p));
            cur_start = p;
        }
        last_ts = ts;
        p += ps;
    }
    cpus.push((cur_start, len));
    let cut = (claimed_end > len).then_some(len);
    let out: Vec<CpuData<'a>> = cpus
        .into_iter()
        .enumerate()
        .map(|(i, (s, e2))| CpuData {
            cpu: Cpu(i as u32),
            offset: s,
            size: e2 - s,
            source: Source::Recovered {
                data: &m.data[s as usize..e2 as usize],
                cut: if e2 == len { cut } else { None },
            },
        })
        .collect();
    m.warnings.push(Error::invalid(
        "file layout",
        format!(
            "trailing options missing; {} CPU data block(s) recovered by scanning pages from offset {start}",
            out.len()
        ),
        start,
    ));
    Some(Buffer {
        name: String::new(),
        clock: m.options.clock.clone(),
        page_size,
        cpus: out,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The one-call zstd path gives what the streaming decoder alone gives
    /// (the bytes, or the same error) for right, short and long claims,
    /// cut, padded and damaged frames, and an implausible claim.
    #[test]
    fn zstd_in_one_call_equals_the_streaming_decoder() {
        // Compressible about as much as trace data is (a few times).
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let data: Vec<u8> = (0..80_000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x % 16) as u8
            })
            .collect();
        let frame = zstd::bulk::compress(&data, 3).unwrap();
        let streaming = |src: &[u8], claim: usize| {
            let mut out = Vec::new();
            let r = zstd::stream::read::Decoder::with_buffer(src)
                .map_err(|e| e.to_string())
                .and_then(|d| read_claimed(d, src.len(), claim, &mut out));
            r.map(|()| out)
        };
        let z = Compression::Zstd(String::new());
        let mut padded = frame.clone();
        padded.extend_from_slice(b"garbage after the frame");
        let mut damaged = frame.clone();
        let mid = damaged.len() / 2;
        damaged[mid] ^= 0x55;
        let mut two = frame.clone();
        two.extend_from_slice(&frame);
        let n = data.len();
        let cases: Vec<(&[u8], usize)> = vec![
            (&frame, n),
            (&frame, n - 1),
            (&frame, n + 1),
            (&frame, 0),
            (&frame[..frame.len() - 3], n),
            (&padded, n),
            (&damaged, n),
            (&two, n),
            (&two, 2 * n),
            (&frame[..8], usize::MAX / 2),
        ];
        let mut ones = 0;
        for (src, claim) in cases {
            let mut out = b"stale".to_vec();
            let got = z.decompress(src, claim, &mut out).map(|()| out);
            assert_eq!(
                got,
                streaming(src, claim),
                "claim {claim}, {} bytes",
                src.len()
            );
            let mut probe = Vec::new();
            if zstd_in_one(src, claim, &mut probe) {
                ones += 1;
            }
        }
        assert!(ones >= 2, "the one-call path was taken {ones} times");
    }

    #[test]
    fn c_ints() {
        assert_eq!(parse_c_int("0x10"), Some(16));
        assert_eq!(parse_c_int("-12"), Some(-12));
        assert_eq!(parse_c_int("010"), Some(8));
        assert_eq!(parse_c_int("zz"), None);
    }

    #[test]
    fn clocks() {
        assert_eq!(
            selected_clock("[local] global counter").as_deref(),
            Some("local")
        );
        assert_eq!(selected_clock("mono").as_deref(), Some("mono"));
    }

    /// A decompressed-size claim far above what the data gives costs the
    /// memory of the data, not of the claim; a true claim still decodes.
    #[test]
    fn decompression_allocates_by_the_data_not_the_claim() {
        let data = vec![7u8; 10_000];
        let z = zstd::bulk::compress(&data, 3).unwrap();
        let mut zl = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        std::io::Write::write_all(&mut zl, &data).unwrap();
        let zl = zl.finish().unwrap();
        for (c, src) in [
            (Compression::Zstd(String::new()), &z),
            (Compression::Zlib(String::new()), &zl),
        ] {
            let mut out = Vec::new();
            c.decompress(src, data.len(), &mut out).unwrap();
            assert_eq!(out, data);
            let mut out = Vec::new();
            let claim = 1 << 28;
            let e = c.decompress(src, claim, &mut out).unwrap_err();
            assert!(e.contains("decompressed 10000 bytes"), "{e}");
            assert!(
                out.capacity() <= 4 * data.len().max(src.len() * RESERVE_PER_COMPRESSED_BYTE),
                "{} bytes reserved",
                out.capacity()
            );
            // Data beyond the claim is an error, not a larger buffer.
            let e = c.decompress(src, 100, &mut out).unwrap_err();
            assert!(e.contains("101 or more"), "{e}");
            assert!(out.len() <= 101);
        }
    }

    #[test]
    fn ratio_and_size_claims_are_checked() {
        assert!(check_ratio(1 << 20, 1 << 10, MAX_SECTION_UNCOMPRESSED, 0).is_ok());
        let e = check_ratio(
            MAX_SECTION_UNCOMPRESSED + 1,
            1 << 30,
            MAX_SECTION_UNCOMPRESSED,
            5,
        )
        .unwrap_err();
        assert_eq!(e.offset.0, 5);
        assert!(
            matches!(e.kind, ErrorKind::TooLarge { max, .. } if max == MAX_SECTION_UNCOMPRESSED)
        );
        let e = check_ratio(100 * MAX_COMPRESSION_RATIO + 1, 100, u64::MAX, 0).unwrap_err();
        assert!(matches!(
            e.kind,
            ErrorKind::TooLarge {
                what: "uncompressed size claim",
                ..
            }
        ));
    }

    #[test]
    fn bad_magic_is_error_at_zero() {
        let e = parse(b"not a trace file at all").unwrap_err();
        assert_eq!(e.kind, ErrorKind::BadMagic);
        assert_eq!(e.offset.0, 0);
    }
}
