//! A small perf.data builder for tests: a file header, attributes with
//! their ids, feature sections (tracing data, strings, CPU counts) and
//! records (samples, COMM, FORK, EXIT, LOST, LOST_SAMPLES,
//! FINISHED_ROUND, anything raw), in either byte order.
//!
//! ```
//! use mmrace_parsers::Endian;
//! use mmrace_parsers::perf::{PerfData, PerfRecord, sample_type as st};
//! use mmrace_parsers::perf::writer::{AttrSpec, PerfDataBuilder, SampleSpec};
//!
//! let mut b = PerfDataBuilder::new(Endian::Big);
//! let a = b.attr(AttrSpec::tracepoint(7, st::TID | st::TIME | st::CPU | st::RAW | st::IDENTIFIER, &[11]));
//! b.sample(a, &SampleSpec { id: 11, pid: 3, tid: 4, time: 100, cpu: 1, raw: vec![7, 0, 0, 0], ..SampleSpec::default() });
//! let bytes = b.finish();
//! let perf = PerfData::parse(&bytes).unwrap();
//! let Some(Ok(PerfRecord::Sample(s))) = perf.records().next() else { panic!() };
//! assert_eq!(s.raw, Some(&[7u8, 0, 0, 0][..]));
//! ```

use super::header::feature;
use super::{record_type as rt, sample_type as st};
use crate::endian::Endian;
use crate::tracedat::writer::{HEADER_EVENT, header_page_text};

/// Size of the `perf_event_attr` the builder writes.
pub const ATTR_SIZE: u64 = 128;

/// One attribute to write.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AttrSpec {
    /// `type` (2 = tracepoint).
    pub kind: u32,
    /// `config` (a tracepoint's event id).
    pub config: u64,
    /// `sample_type`.
    pub sample_type: u64,
    /// `read_format`.
    pub read_format: u64,
    /// Set `sample_id_all`.
    pub sample_id_all: bool,
    /// Its sample ids.
    pub ids: Vec<u64>,
}

impl AttrSpec {
    /// A tracepoint attribute with `sample_id_all` set.
    pub fn tracepoint(event_id: u64, sample_type: u64, ids: &[u64]) -> AttrSpec {
        AttrSpec {
            kind: super::PERF_TYPE_TRACEPOINT,
            config: event_id,
            sample_type,
            read_format: 0,
            sample_id_all: true,
            ids: ids.to_vec(),
        }
    }
}

/// The fields of a sample (or of a non-sample record's trailer); only those
/// the attribute's `sample_type` selects are written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SampleSpec {
    /// Sample id.
    pub id: u64,
    /// Instruction pointer.
    pub ip: u64,
    /// Process id.
    pub pid: i32,
    /// Thread id.
    pub tid: i32,
    /// Timestamp.
    pub time: u64,
    /// CPU.
    pub cpu: u32,
    /// Period.
    pub period: u64,
    /// Raw payload (padded by the builder so that `4 + len` is a multiple
    /// of 8, as the kernel pads it).
    pub raw: Vec<u8>,
}

/// Builds a perf.data file in memory.
#[derive(Debug, Clone)]
pub struct PerfDataBuilder {
    e: Endian,
    attrs: Vec<AttrSpec>,
    records: Vec<u8>,
    features: Vec<(u32, Vec<u8>)>,
}

impl PerfDataBuilder {
    /// An empty file of byte order `e`.
    pub fn new(e: Endian) -> Self {
        PerfDataBuilder {
            e,
            attrs: Vec::new(),
            records: Vec::new(),
            features: Vec::new(),
        }
    }

    fn u16(&self, v: u16, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.e.u16_bytes(v));
    }
    fn u32(&self, v: u32, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.e.u32_bytes(v));
    }
    fn u64(&self, v: u64, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.e.u64_bytes(v));
    }

    /// Adds an attribute; returns its index.
    pub fn attr(&mut self, a: AttrSpec) -> usize {
        self.attrs.push(a);
        self.attrs.len() - 1
    }

    /// Sets a feature section's bytes (replacing an earlier one).
    pub fn feature(&mut self, bit: u32, bytes: Vec<u8>) -> &mut Self {
        self.features.retain(|(b, _)| *b != bit);
        self.features.push((bit, bytes));
        self
    }

    /// A string feature (hostname, osrelease, version, arch), as perf
    /// writes it: `u32 len` then the NUL-padded string.
    pub fn string_feature(&mut self, bit: u32, s: &str) -> &mut Self {
        let mut v = Vec::new();
        self.perf_string(s, &mut v);
        self.feature(bit, v)
    }

    fn perf_string(&self, s: &str, out: &mut Vec<u8>) {
        let len = (s.len() + 1).div_ceil(64) * 64;
        self.u32(len as u32, out);
        out.extend_from_slice(s.as_bytes());
        out.resize(out.len() + len - s.len(), 0);
    }

    /// The NRCPUS feature.
    pub fn nr_cpus(&mut self, available: u32, online: u32) -> &mut Self {
        let mut v = Vec::new();
        self.u32(available, &mut v);
        self.u32(online, &mut v);
        self.feature(feature::NRCPUS, v)
    }

    /// The TRACING_DATA feature (see [`tracing_data`]).
    pub fn tracing_data(&mut self, bytes: Vec<u8>) -> &mut Self {
        self.feature(feature::TRACING_DATA, bytes)
    }

    /// Appends a record with this header and body (the size is computed).
    pub fn raw_record(&mut self, kind: u32, misc: u16, body: &[u8]) -> &mut Self {
        let mut r = Vec::with_capacity(8 + body.len());
        self.u32(kind, &mut r);
        self.u16(misc, &mut r);
        self.u16((8 + body.len()) as u16, &mut r);
        r.extend_from_slice(body);
        self.records.extend_from_slice(&r);
        self
    }

    /// Appends a sample of attribute `attr`.
    pub fn sample(&mut self, attr: usize, s: &SampleSpec) -> &mut Self {
        let t = self.attrs[attr].sample_type;
        let mut b = Vec::new();
        if t & st::IDENTIFIER != 0 {
            self.u64(s.id, &mut b);
        }
        if t & st::IP != 0 {
            self.u64(s.ip, &mut b);
        }
        if t & st::TID != 0 {
            self.u32(s.pid as u32, &mut b);
            self.u32(s.tid as u32, &mut b);
        }
        if t & st::TIME != 0 {
            self.u64(s.time, &mut b);
        }
        if t & st::ID != 0 {
            self.u64(s.id, &mut b);
        }
        if t & st::CPU != 0 {
            self.u32(s.cpu, &mut b);
            self.u32(0, &mut b);
        }
        if t & st::PERIOD != 0 {
            self.u64(s.period, &mut b);
        }
        if t & st::RAW != 0 {
            let len = (4 + s.raw.len()).div_ceil(8) * 8 - 4;
            self.u32(len as u32, &mut b);
            b.extend_from_slice(&s.raw);
            b.resize(b.len() + len - s.raw.len(), 0);
        }
        self.raw_record(rt::SAMPLE, 0, &b)
    }

    /// The `sample_id_all` trailer of attribute `attr`.
    fn trailer(&self, attr: usize, s: &SampleSpec, out: &mut Vec<u8>) {
        let a = &self.attrs[attr];
        if !a.sample_id_all {
            return;
        }
        let t = a.sample_type;
        if t & st::TID != 0 {
            self.u32(s.pid as u32, out);
            self.u32(s.tid as u32, out);
        }
        if t & st::TIME != 0 {
            self.u64(s.time, out);
        }
        if t & st::ID != 0 {
            self.u64(s.id, out);
        }
        if t & st::CPU != 0 {
            self.u32(s.cpu, out);
            self.u32(0, out);
        }
        if t & st::IDENTIFIER != 0 {
            self.u64(s.id, out);
        }
    }

    /// Appends a COMM record (trailer from `at`).
    pub fn comm(
        &mut self,
        attr: usize,
        pid: i32,
        tid: i32,
        name: &str,
        exec: bool,
        at: &SampleSpec,
    ) -> &mut Self {
        let mut b = Vec::new();
        self.u32(pid as u32, &mut b);
        self.u32(tid as u32, &mut b);
        let len = (name.len() + 1).div_ceil(8) * 8;
        b.extend_from_slice(name.as_bytes());
        b.resize(8 + len, 0);
        self.trailer(attr, at, &mut b);
        self.raw_record(rt::COMM, if exec { 1 << 13 } else { 0 }, &b)
    }

    /// Appends a FORK (`fork` = true) or EXIT record: `(pid, tid)` of the
    /// task, `(ppid, ptid)` of its parent.
    pub fn task(
        &mut self,
        attr: usize,
        fork: bool,
        task: (i32, i32),
        parent: (i32, i32),
        at: &SampleSpec,
    ) -> &mut Self {
        let mut b = Vec::new();
        self.u32(task.0 as u32, &mut b);
        self.u32(parent.0 as u32, &mut b);
        self.u32(task.1 as u32, &mut b);
        self.u32(parent.1 as u32, &mut b);
        self.u64(at.time, &mut b);
        self.trailer(attr, at, &mut b);
        self.raw_record(if fork { rt::FORK } else { rt::EXIT }, 0, &b)
    }

    /// Appends a LOST record for sample id `id`.
    pub fn lost(&mut self, attr: usize, id: u64, lost: u64, at: &SampleSpec) -> &mut Self {
        let mut b = Vec::new();
        self.u64(id, &mut b);
        self.u64(lost, &mut b);
        self.trailer(attr, at, &mut b);
        self.raw_record(rt::LOST, 0, &b)
    }

    /// Appends a LOST_SAMPLES record.
    pub fn lost_samples(&mut self, attr: usize, lost: u64, at: &SampleSpec) -> &mut Self {
        let mut b = Vec::new();
        self.u64(lost, &mut b);
        self.trailer(attr, at, &mut b);
        self.raw_record(rt::LOST_SAMPLES, 0, &b)
    }

    /// Appends a FINISHED_ROUND record.
    pub fn finished_round(&mut self) -> &mut Self {
        self.raw_record(rt::FINISHED_ROUND, 0, &[])
    }

    /// The whole file: header, attributes, ids, data, feature table and
    /// feature sections.
    pub fn finish(&self) -> Vec<u8> {
        let attr_entry = ATTR_SIZE + 16;
        let attrs_off = 104u64;
        let attrs_size = attr_entry * self.attrs.len() as u64;
        let ids_off = attrs_off + attrs_size;
        let ids_size: u64 = self.attrs.iter().map(|a| a.ids.len() as u64 * 8).sum();
        let data_off = ids_off + ids_size;
        let data_size = self.records.len() as u64;
        let mut feats = self.features.clone();
        feats.sort_by_key(|(b, _)| *b);
        let mut bitmap = [0u64; 4];
        for (b, _) in &feats {
            bitmap[(*b / 64) as usize] |= 1 << (*b % 64);
        }
        let mut out = Vec::new();
        out.extend_from_slice(if self.e.is_big() {
            super::MAGIC_BE
        } else {
            super::MAGIC_LE
        });
        self.u64(104, &mut out);
        self.u64(attr_entry, &mut out);
        for v in [attrs_off, attrs_size, data_off, data_size, 0, 0] {
            self.u64(v, &mut out);
        }
        for w in bitmap {
            self.u64(w, &mut out);
        }
        let mut id_pos = ids_off;
        for a in &self.attrs {
            let start = out.len();
            self.u32(a.kind, &mut out);
            self.u32(ATTR_SIZE as u32, &mut out);
            self.u64(a.config, &mut out);
            self.u64(1, &mut out);
            self.u64(a.sample_type, &mut out);
            self.u64(a.read_format, &mut out);
            // inherit (bit 1), sample_id_all (bit 18); a big-endian
            // compiler allocates the bitfield from the top bit.
            let flags: u64 = 1 << 1 | u64::from(a.sample_id_all) << 18;
            self.u64(
                if self.e.is_big() {
                    flags.reverse_bits()
                } else {
                    flags
                },
                &mut out,
            );
            out.resize(start + ATTR_SIZE as usize, 0);
            let n = a.ids.len() as u64 * 8;
            self.u64(if n == 0 { 0 } else { id_pos }, &mut out);
            self.u64(n, &mut out);
            id_pos += n;
        }
        for a in &self.attrs {
            for &id in &a.ids {
                self.u64(id, &mut out);
            }
        }
        out.extend_from_slice(&self.records);
        let table = out.len() as u64;
        let mut body_off = table + 16 * feats.len() as u64;
        for (_, b) in &feats {
            self.u64(body_off, &mut out);
            self.u64(b.len() as u64, &mut out);
            body_off += b.len() as u64;
        }
        for (_, b) in &feats {
            out.extend_from_slice(b);
        }
        out
    }
}

/// perf's TRACING_DATA blob (version `"0.6"`) for events `(system, format
/// text)`, with empty kallsyms and printk formats and the given saved
/// cmdlines text.
pub fn tracing_data(e: Endian, long_size: u8, events: &[(&str, &str)], cmdlines: &str) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(b"\x17\x08\x44tracing0.6\0");
    v.push(u8::from(e.is_big()));
    v.push(long_size);
    v.extend_from_slice(&e.u32_bytes(4096));
    let hp = header_page_text(long_size, 4096);
    v.extend_from_slice(b"header_page\0");
    v.extend_from_slice(&e.u64_bytes(hp.len() as u64));
    v.extend_from_slice(hp.as_bytes());
    v.extend_from_slice(b"header_event\0");
    v.extend_from_slice(&e.u64_bytes(HEADER_EVENT.len() as u64));
    v.extend_from_slice(HEADER_EVENT.as_bytes());
    v.extend_from_slice(&e.u32_bytes(0)); // ftrace formats
    let mut systems: Vec<&str> = events.iter().map(|(s, _)| *s).collect();
    systems.dedup();
    v.extend_from_slice(&e.u32_bytes(systems.len() as u32));
    for sys in systems {
        v.extend_from_slice(sys.as_bytes());
        v.push(0);
        let fmts: Vec<&str> = events
            .iter()
            .filter(|(s, _)| *s == sys)
            .map(|(_, f)| *f)
            .collect();
        v.extend_from_slice(&e.u32_bytes(fmts.len() as u32));
        for f in fmts {
            v.extend_from_slice(&e.u64_bytes(f.len() as u64));
            v.extend_from_slice(f.as_bytes());
        }
    }
    v.extend_from_slice(&e.u32_bytes(0)); // kallsyms
    v.extend_from_slice(&e.u32_bytes(0)); // printk
    v.extend_from_slice(&e.u64_bytes(cmdlines.len() as u64));
    v.extend_from_slice(cmdlines.as_bytes());
    v
}
