//! The perf.data file header, the attribute table and the feature sections.

use super::{MAGIC_BE, MAGIC_LE, MAX_ATTRS, MAX_IDS_PER_ATTR, MAX_STRINGS, PerfData};
use crate::endian::Endian;
use crate::error::{Error, ErrorKind, Result};
use crate::tracedat::TraceDat;
use crate::tracedat::cursor::Cursor;
use crate::types::{FileOffset, Timestamp};
use std::collections::HashMap;

/// Size of `struct perf_file_header` in a file (not pipe) mode file.
pub const FILE_HEADER_SIZE: u64 = 104;
/// Smallest `perf_event_attr` this reader accepts (`PERF_ATTR_SIZE_VER0`).
pub const MIN_ATTR_SIZE: u64 = 64;
/// Largest attribute entry (`perf_event_attr` + ids section) accepted.
pub const MAX_ATTR_SIZE: u64 = 1 << 16;

/// Feature bit numbers (`HEADER_*` in perf's `header.h`).
pub mod feature {
    /// Tracing data (event formats...).
    pub const TRACING_DATA: u32 = 1;
    /// Host name.
    pub const HOSTNAME: u32 = 3;
    /// `uname -r`.
    pub const OSRELEASE: u32 = 4;
    /// perf's version.
    pub const VERSION: u32 = 5;
    /// `uname -m`.
    pub const ARCH: u32 = 6;
    /// CPUs available and online.
    pub const NRCPUS: u32 = 7;
    /// perf's command line.
    pub const CMDLINE: u32 = 11;
    /// Event names and ids.
    pub const EVENT_DESC: u32 = 12;
    /// First and last sample time.
    pub const SAMPLE_TIME: u32 = 21;
    /// Clock resolution of `-k CLOCKID`.
    pub const CLOCKID: u32 = 23;
    /// Wall-clock reference of the sample clock.
    pub const CLOCK_DATA: u32 = 29;
}

/// A `{u64 offset, u64 size}` section of the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Section {
    /// File offset.
    pub offset: u64,
    /// Size in bytes.
    pub size: u64,
}

/// `struct perf_file_header`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileHeader {
    /// Header size (104; 16 is pipe mode, not supported).
    pub size: u64,
    /// Size of one attribute entry: `perf_event_attr` plus a 16-byte ids
    /// section.
    pub attr_size: u64,
    /// The attribute table.
    pub attrs: Section,
    /// The record stream.
    pub data: Section,
    /// Obsolete event types table.
    pub event_types: Section,
    /// The feature bitmap (256 bits).
    pub features: [u64; 4],
}

impl FileHeader {
    /// Whether feature `bit` is set.
    pub fn has_feature(&self, bit: u32) -> bool {
        bit < 256 && self.features[(bit / 64) as usize] & (1u64 << (bit % 64)) != 0
    }

    /// The feature bits set, in order.
    pub fn feature_bits(&self) -> Vec<u32> {
        (0..256).filter(|&b| self.has_feature(b)).collect()
    }
}

/// The flag bitfield of `perf_event_attr`, in little-endian bit numbering
/// (bit 0 = `disabled`) whatever the file's byte order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AttrFlags(pub u64);

impl AttrFlags {
    fn bit(self, n: u32) -> bool {
        self.0 & (1 << n) != 0
    }
    /// `disabled`.
    pub fn disabled(self) -> bool {
        self.bit(0)
    }
    /// `inherit`.
    pub fn inherit(self) -> bool {
        self.bit(1)
    }
    /// `freq`: `sample_period` is a frequency.
    pub fn freq(self) -> bool {
        self.bit(10)
    }
    /// `sample_id_all`: non-sample records carry a sample id trailer.
    pub fn sample_id_all(self) -> bool {
        self.bit(18)
    }
    /// `use_clockid`: timestamps come from [`Attr::clockid`].
    pub fn use_clockid(self) -> bool {
        self.bit(25)
    }
}

/// One attribute (event) of the file: the fields of `perf_event_attr` the
/// reader needs, and its sample ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attr {
    /// `type` (2 = tracepoint).
    pub kind: u32,
    /// `size` as the recorder wrote it.
    pub size: u32,
    /// `config` (a tracepoint's event id).
    pub config: u64,
    /// `sample_period` or `sample_freq`.
    pub sample_period: u64,
    /// `sample_type` bits.
    pub sample_type: u64,
    /// `read_format` bits.
    pub read_format: u64,
    /// The flag bitfield.
    pub flags: AttrFlags,
    /// `branch_sample_type`.
    pub branch_sample_type: u64,
    /// `sample_regs_user`.
    pub sample_regs_user: u64,
    /// `clockid` (meaningful with `use_clockid`).
    pub clockid: i32,
    /// `sample_regs_intr`.
    pub sample_regs_intr: u64,
    /// The sample ids of this attribute (one per CPU or thread it was
    /// opened on).
    pub ids: Vec<u64>,
    /// The event name from the EVENT_DESC feature (`sched:sched_switch`).
    pub name: Option<String>,
    /// File offset of the attribute.
    pub offset: FileOffset,
}

impl Attr {
    /// Number of `u64` words of the `sample_id_all` trailer of non-sample
    /// records (0 without `sample_id_all`).
    pub fn trailer_words(&self) -> usize {
        if !self.flags.sample_id_all() {
            return 0;
        }
        use super::sample_type as st;
        [
            st::TID,
            st::TIME,
            st::ID,
            st::STREAM_ID,
            st::CPU,
            st::IDENTIFIER,
        ]
        .iter()
        .filter(|&&b| self.sample_type & b != 0)
        .count()
    }
}

/// The sample clock's reference (CLOCK_DATA feature).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockData {
    /// Layout version.
    pub version: u32,
    /// The clock id.
    pub clockid: u32,
    /// Wall-clock time, ns.
    pub wall_clock_ns: u64,
    /// The sample clock at that moment, ns.
    pub clockid_time_ns: u64,
}

/// The feature sections this reader interprets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PerfFeatures {
    /// Host name.
    pub hostname: Option<String>,
    /// Kernel release (`uname -r`).
    pub osrelease: Option<String>,
    /// perf's version.
    pub version: Option<String>,
    /// Machine (`uname -m`).
    pub arch: Option<String>,
    /// CPUs available (present) on the host.
    pub nr_cpus_available: Option<u32>,
    /// CPUs online when recording.
    pub nr_cpus_online: Option<u32>,
    /// perf's command line, word by word.
    pub cmdline: Vec<String>,
    /// First and last sample time.
    pub sample_time: Option<(Timestamp, Timestamp)>,
    /// Resolution of the `-k` clock, ns.
    pub clockid_res_ns: Option<u64>,
    /// The clock reference.
    pub clock_data: Option<ClockData>,
}

fn too_large(what: &'static str, size: u64, max: u64, off: u64) -> Error {
    Error::new(ErrorKind::TooLarge { what, size, max }, off)
}

fn read_section(c: &mut Cursor<'_>, what: &'static str) -> Result<Section> {
    Ok(Section {
        offset: c.u64(what)?,
        size: c.u64(what)?,
    })
}

/// The bytes of a section, checked against the file.
fn section_bytes<'a>(data: &'a [u8], s: Section, what: &'static str) -> Result<&'a [u8]> {
    let len = data.len() as u64;
    if s.offset > len {
        return Err(Error::truncated(what, s.offset - len, len));
    }
    let end = s.offset.saturating_add(s.size);
    if end > len {
        return Err(Error::truncated(what, end - len, len));
    }
    Ok(&data[s.offset as usize..end as usize])
}

pub(crate) fn parse(data: &[u8]) -> Result<PerfData<'_>> {
    let magic = data
        .get(..8)
        .ok_or_else(|| Error::truncated("file magic", 8 - data.len() as u64, 0))?;
    let endian = if magic == MAGIC_LE {
        Endian::Little
    } else if magic == MAGIC_BE {
        Endian::Big
    } else {
        return Err(Error::new(ErrorKind::BadMagic, 0));
    };
    let mut c = Cursor::new(data, 0, endian);
    c.bytes(8, "file magic")?;
    let size = c.u64("header size")?;
    if size == 16 {
        return Err(Error::new(
            ErrorKind::UnsupportedVersion("pipe-mode perf.data (perf record -o -)".into()),
            8,
        ));
    }
    if size < FILE_HEADER_SIZE {
        return Err(Error::invalid("perf.data header size", size, 8));
    }
    let apos = c.offset();
    let attr_size = c.u64("attr size")?;
    if !(MIN_ATTR_SIZE + 16..=MAX_ATTR_SIZE).contains(&attr_size) {
        return Err(Error::invalid("attr size", attr_size, apos));
    }
    let attrs_s = read_section(&mut c, "attrs section")?;
    let data_s = read_section(&mut c, "data section")?;
    let event_types = read_section(&mut c, "event types section")?;
    let mut features = [0u64; 4];
    for f in &mut features {
        *f = c.u64("feature bitmap")?;
    }
    let header = FileHeader {
        size,
        attr_size,
        attrs: attrs_s,
        data: data_s,
        event_types,
        features,
    };
    let attrs = parse_attrs(data, endian, &header)?;
    let mut perf = PerfData {
        data,
        endian,
        header,
        attrs,
        features: PerfFeatures::default(),
        tracing: None,
        warnings: Vec::new(),
        by_id: HashMap::new(),
    };
    parse_features(&mut perf);
    perf.index_ids();
    Ok(perf)
}

fn parse_attrs(data: &[u8], e: Endian, h: &FileHeader) -> Result<Vec<Attr>> {
    let table = section_bytes(data, h.attrs, "attribute table")?;
    let n = h.attrs.size / h.attr_size;
    if n > MAX_ATTRS {
        return Err(too_large("attribute count", n, MAX_ATTRS, h.attrs.offset));
    }
    let attr_len = (h.attr_size - 16) as usize;
    let mut out = Vec::with_capacity(n as usize);
    for i in 0..n as usize {
        let start = i * h.attr_size as usize;
        let off = h.attrs.offset + start as u64;
        let a = &table[start..start + attr_len];
        let r64 = |p: usize| e.read_u64(a, p).unwrap_or(0);
        let raw_flags = r64(40);
        let flags = AttrFlags(if e.is_big() {
            raw_flags.reverse_bits()
        } else {
            raw_flags
        });
        let mut ic = Cursor::new(
            &table[start + attr_len..start + h.attr_size as usize],
            off + attr_len as u64,
            e,
        );
        let ids_s = read_section(&mut ic, "attribute ids section")?;
        let count = ids_s.size / 8;
        if count > MAX_IDS_PER_ATTR {
            return Err(too_large(
                "attribute id count",
                count,
                MAX_IDS_PER_ATTR,
                off + attr_len as u64,
            ));
        }
        let ids_bytes = section_bytes(data, ids_s, "attribute ids")?;
        let ids = ids_bytes
            .chunks_exact(8)
            .filter_map(|w| e.read_u64(w, 0))
            .collect();
        out.push(Attr {
            kind: e.read_u32(a, 0).unwrap_or(0),
            size: e.read_u32(a, 4).unwrap_or(0),
            config: r64(8),
            sample_period: r64(16),
            sample_type: r64(24),
            read_format: r64(32),
            flags,
            branch_sample_type: r64(72),
            sample_regs_user: r64(80),
            clockid: e.read_u32(a, 92).unwrap_or(0) as i32,
            sample_regs_intr: r64(96),
            ids,
            name: None,
            offset: FileOffset(off),
        });
    }
    Ok(out)
}

/// A perf string: `u32 len` then `len` bytes, NUL padded.
fn perf_string(c: &mut Cursor<'_>, what: &'static str) -> Result<String> {
    let n = c.u32(what)?;
    let b = c.bytes_u64(n.into(), what)?;
    let b = b.split(|&x| x == 0).next().unwrap_or(&[]);
    Ok(String::from_utf8_lossy(b).into_owned())
}

fn parse_features(perf: &mut PerfData<'_>) {
    let data = perf.data;
    let e = perf.endian;
    let h = &perf.header;
    let table_off = h.data.offset.saturating_add(h.data.size);
    let bits = h.feature_bits();
    let mut c = Cursor::new(data, 0, e);
    if let Err(err) = c.seek(table_off, "feature table") {
        if !bits.is_empty() {
            perf.warnings.push(err);
        }
        return;
    }
    let mut sections = Vec::with_capacity(bits.len());
    for &b in &bits {
        match read_section(&mut c, "feature table") {
            Ok(s) => sections.push((b, s)),
            Err(err) => {
                perf.warnings.push(err);
                break;
            }
        }
    }
    for (bit, s) in sections {
        if let Err(err) = parse_feature(perf, bit, s) {
            perf.warnings.push(err);
        }
    }
}

fn parse_feature(perf: &mut PerfData<'_>, bit: u32, s: Section) -> Result<()> {
    use feature as f;
    let data = perf.data;
    let e = perf.endian;
    let what = "feature section";
    if !matches!(
        bit,
        f::TRACING_DATA
            | f::HOSTNAME
            | f::OSRELEASE
            | f::VERSION
            | f::ARCH
            | f::NRCPUS
            | f::CMDLINE
            | f::EVENT_DESC
            | f::SAMPLE_TIME
            | f::CLOCKID
            | f::CLOCK_DATA
    ) {
        return Ok(());
    }
    let bytes = section_bytes(data, s, what)?;
    let mut c = Cursor::new(bytes, s.offset, e);
    match bit {
        f::TRACING_DATA => {
            let t = TraceDat::from_tracing_data(bytes, s.offset)?;
            perf.warnings.extend(t.warnings.iter().cloned());
            perf.tracing = Some(t);
        }
        f::HOSTNAME => perf.features.hostname = Some(perf_string(&mut c, "hostname")?),
        f::OSRELEASE => perf.features.osrelease = Some(perf_string(&mut c, "os release")?),
        f::VERSION => perf.features.version = Some(perf_string(&mut c, "perf version")?),
        f::ARCH => perf.features.arch = Some(perf_string(&mut c, "arch")?),
        f::NRCPUS => {
            perf.features.nr_cpus_available = Some(c.u32("nr cpus available")?);
            perf.features.nr_cpus_online = Some(c.u32("nr cpus online")?);
        }
        f::CMDLINE => {
            let pos = c.offset();
            let n = c.u32("cmdline count")?;
            if n > MAX_STRINGS {
                return Err(too_large(
                    "cmdline count",
                    n.into(),
                    MAX_STRINGS.into(),
                    pos,
                ));
            }
            for _ in 0..n {
                let w = perf_string(&mut c, "cmdline")?;
                perf.features.cmdline.push(w);
            }
        }
        f::EVENT_DESC => {
            let pos = c.offset();
            let n = c.u32("event desc count")?;
            let sz = c.u32("event desc attr size")?;
            if n as u64 > MAX_ATTRS {
                return Err(too_large("event desc count", n.into(), MAX_ATTRS, pos));
            }
            for _ in 0..n {
                c.bytes_u64(sz.into(), "event desc attr")?;
                let ipos = c.offset();
                let nr = c.u32("event desc id count")?;
                if u64::from(nr) > MAX_IDS_PER_ATTR {
                    return Err(too_large(
                        "event desc id count",
                        nr.into(),
                        MAX_IDS_PER_ATTR,
                        ipos,
                    ));
                }
                let name = perf_string(&mut c, "event name")?;
                let mut first = None;
                for _ in 0..nr {
                    let id = c.u64("event desc id")?;
                    first.get_or_insert(id);
                }
                if let Some(a) =
                    first.and_then(|id| perf.attrs.iter_mut().find(|a| a.ids.contains(&id)))
                {
                    a.name = Some(name);
                }
            }
        }
        f::SAMPLE_TIME => {
            let a = c.u64("first sample time")?;
            let b = c.u64("last sample time")?;
            perf.features.sample_time = Some((Timestamp(a), Timestamp(b)));
        }
        f::CLOCKID => perf.features.clockid_res_ns = Some(c.u64("clockid resolution")?),
        f::CLOCK_DATA => {
            let version = c.u32("clock data version")?;
            let clockid = c.u32("clock data clockid")?;
            let wall_clock_ns = c.u64("clock data wall clock")?;
            let clockid_time_ns = c.u64("clock data clock time")?;
            perf.features.clock_data = Some(ClockData {
                version,
                clockid,
                wall_clock_ns,
                clockid_time_ns,
            });
        }
        _ => {}
    }
    Ok(())
}
