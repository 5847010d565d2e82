//! perf.data files (`PERFILE2`), as `perf record` writes them.
//!
//! [`PerfData::parse`] reads the file header, the attributes and their
//! sample ids, and the feature sections (tracing data, hostname, os
//! release, perf version, arch, CPU counts, command line, event names,
//! sample times, clock data) without touching the record stream. The
//! tracing data (feature 1) is the metadata prefix of a v6 trace.dat and is
//! read by the trace.dat reader itself ([`TraceDat::from_tracing_data`]):
//! the same event formats, kallsyms, printk formats and saved cmdlines.
//!
//! Records are read over the data section with [`PerfData::records`] (file
//! order) or [`PerfData::sorted_records`] (time order, as perf's ordered
//! events deliver them: buffered only between `FINISHED_ROUND` records).
//! A `SAMPLE` is decoded by its attribute's `sample_type` up to its
//! `PERF_SAMPLE_RAW` payload (a tracepoint's payload starts with the
//! event's common fields, like a trace.dat record); `COMM`, `FORK`, `EXIT`,
//! `LOST` and `LOST_SAMPLES` are decoded with their `sample_id_all`
//! trailers; other record types are passed over.
//!
//! The byte order is the recording host's, told by the magic: the bytes
//! `PERFILE2` mean little-endian, `2ELIFREP` big-endian. Attribute flags are
//! a C bitfield, allocated from the most significant bit on big-endian
//! hosts; they are read as perf reads them.
//!
//! Not supported: pipe-mode files (header size 16) and compressed record
//! streams (`perf record -z`); both are reported as errors with their offset.
//!
//! ```no_run
//! use mmrace_parsers::perf::{PerfData, PerfRecord};
//! let bytes = std::fs::read("perf.data").unwrap();
//! let perf = PerfData::parse(&bytes).unwrap();
//! for rec in perf.sorted_records() {
//!     if let Ok(PerfRecord::Sample(s)) = rec {
//!         println!("{:?} {:?} {}", s.time, s.cpu, s.raw.map_or(0, |r| r.len()));
//!     }
//! }
//! ```

mod header;
mod records;
mod sort;
pub mod writer;

#[cfg(test)]
mod tests;

pub use header::{Attr, AttrFlags, ClockData, FileHeader, PerfFeatures, Section};
pub use records::{Comm, Lost, LostSamples, PerfRecord, Records, Sample, SampleId, TaskEvent};
pub use sort::{MAX_HELD_RECORDS, SortedRecords};

use crate::endian::Endian;
use crate::error::Result;
use crate::tracedat::TraceDat;
use std::collections::HashMap;

/// The file magic as bytes, in a little-endian file.
pub const MAGIC_LE: &[u8; 8] = b"PERFILE2";
/// The file magic as bytes, in a big-endian file.
pub const MAGIC_BE: &[u8; 8] = b"2ELIFREP";
/// Most attributes accepted in one file.
pub const MAX_ATTRS: u64 = 65_536;
/// Most sample ids accepted for one attribute.
pub const MAX_IDS_PER_ATTR: u64 = 1 << 20;
/// Most strings accepted in a string-list feature (command line).
pub const MAX_STRINGS: u32 = 65_536;

/// `perf_event_attr.type` of tracepoints.
pub const PERF_TYPE_TRACEPOINT: u32 = 2;

/// `sample_type` bits (`enum perf_event_sample_format`).
pub mod sample_type {
    /// Instruction pointer.
    pub const IP: u64 = 1 << 0;
    /// Process and thread id.
    pub const TID: u64 = 1 << 1;
    /// Timestamp.
    pub const TIME: u64 = 1 << 2;
    /// Sampled address.
    pub const ADDR: u64 = 1 << 3;
    /// Counter values (`read_format`).
    pub const READ: u64 = 1 << 4;
    /// Call chain.
    pub const CALLCHAIN: u64 = 1 << 5;
    /// Sample id.
    pub const ID: u64 = 1 << 6;
    /// CPU.
    pub const CPU: u64 = 1 << 7;
    /// Period.
    pub const PERIOD: u64 = 1 << 8;
    /// Stream id.
    pub const STREAM_ID: u64 = 1 << 9;
    /// Raw payload (the tracepoint's record).
    pub const RAW: u64 = 1 << 10;
    /// Sample id first, at a fixed place.
    pub const IDENTIFIER: u64 = 1 << 16;
}

/// `read_format` bits.
pub mod read_format {
    /// Time enabled.
    pub const TOTAL_TIME_ENABLED: u64 = 1 << 0;
    /// Time running.
    pub const TOTAL_TIME_RUNNING: u64 = 1 << 1;
    /// Id of each value.
    pub const ID: u64 = 1 << 2;
    /// Values of the whole group.
    pub const GROUP: u64 = 1 << 3;
    /// Lost samples of each value.
    pub const LOST: u64 = 1 << 4;
}

/// Record types (`perf_event_header.type`) this reader decodes or knows.
pub mod record_type {
    /// `PERF_RECORD_MMAP`.
    pub const MMAP: u32 = 1;
    /// `PERF_RECORD_LOST`: the kernel dropped records.
    pub const LOST: u32 = 2;
    /// `PERF_RECORD_COMM`.
    pub const COMM: u32 = 3;
    /// `PERF_RECORD_EXIT`.
    pub const EXIT: u32 = 4;
    /// `PERF_RECORD_FORK`.
    pub const FORK: u32 = 7;
    /// `PERF_RECORD_SAMPLE`.
    pub const SAMPLE: u32 = 9;
    /// `PERF_RECORD_MMAP2`.
    pub const MMAP2: u32 = 10;
    /// `PERF_RECORD_LOST_SAMPLES`: samples dropped (e.g. by a filter).
    pub const LOST_SAMPLES: u32 = 13;
    /// `PERF_RECORD_HEADER_TRACING_DATA` (pipe mode).
    pub const HEADER_TRACING_DATA: u32 = 66;
    /// `PERF_RECORD_FINISHED_ROUND`: no record after it is older than the
    /// records before the previous one.
    pub const FINISHED_ROUND: u32 = 68;
    /// `PERF_RECORD_ID_INDEX`: sample id → CPU and thread.
    pub const ID_INDEX: u32 = 69;
    /// `PERF_RECORD_AUXTRACE` (its data follows the record).
    pub const AUXTRACE: u32 = 71;
    /// `PERF_RECORD_COMPRESSED` (zstd record stream).
    pub const COMPRESSED: u32 = 81;
    /// `PERF_RECORD_COMPRESSED2`.
    pub const COMPRESSED2: u32 = 83;
}

/// A parsed perf.data file: header, attributes, features; the records are
/// read on demand.
#[derive(Debug)]
pub struct PerfData<'a> {
    data: &'a [u8],
    /// Byte order of the recording host (from the magic).
    pub endian: Endian,
    /// The file header.
    pub header: FileHeader,
    /// The attributes (events), in file order, with their sample ids.
    pub attrs: Vec<Attr>,
    /// Feature sections.
    pub features: PerfFeatures,
    /// The tracing data (feature 1): event formats, kallsyms, printk
    /// formats, saved cmdlines, read by the trace.dat reader.
    pub tracing: Option<TraceDat<'a>>,
    /// Problems met in the header or features that did not stop the
    /// reader, each with its offset.
    pub warnings: Vec<crate::error::Error>,
    by_id: HashMap<u64, usize>,
}

impl<'a> PerfData<'a> {
    /// Parses the header, attributes and features of a perf.data file held
    /// in `data`. Fails when the header or the attribute table cannot be
    /// read; damaged features become [`PerfData::warnings`].
    pub fn parse(data: &'a [u8]) -> Result<PerfData<'a>> {
        header::parse(data)
    }

    /// Whether `data` starts with a perf.data magic (either byte order).
    pub fn is_perf_data(data: &[u8]) -> bool {
        data.get(..8)
            .is_some_and(|m| m == MAGIC_LE || m == MAGIC_BE)
    }

    /// The whole input.
    pub fn bytes(&self) -> &'a [u8] {
        self.data
    }

    /// The index into [`PerfData::attrs`] of the attribute a sample id
    /// belongs to.
    pub fn attr_index_of_id(&self, id: u64) -> Option<usize> {
        self.by_id.get(&id).copied()
    }

    /// The event name of an attribute: from the EVENT_DESC feature, else
    /// `system:name` of its tracepoint format, else `type:config`.
    pub fn attr_name(&self, index: usize) -> String {
        let Some(a) = self.attrs.get(index) else {
            return String::new();
        };
        if let Some(n) = &a.name {
            return n.clone();
        }
        if a.kind == PERF_TYPE_TRACEPOINT {
            if let Some(f) = self
                .tracing
                .as_ref()
                .and_then(|t| t.format_by_id(crate::types::EventId(a.config as u32)))
            {
                return format!("{}:{}", f.system, f.name);
            }
        }
        format!("{}:{}", a.kind, a.config)
    }

    /// The records of the data section in file order. Iteration ends after
    /// the first error (a record that does not fit, a compressed stream).
    pub fn records(&self) -> Records<'_, 'a> {
        Records::new(self)
    }

    /// The records in time order as perf delivers them: records with a
    /// timestamp are held until a `FINISHED_ROUND` proves no older one can
    /// follow (perf's ordered events: at each round, everything up to the
    /// newest timestamp of the round before is released, stable on equal
    /// timestamps); records without one pass through at once.
    /// `FINISHED_ROUND` records themselves are consumed.
    pub fn sorted_records(&self) -> SortedRecords<'_, 'a> {
        SortedRecords::new(self.records())
    }

    /// Sets the attribute names from the EVENT_DESC feature and the id map.
    pub(crate) fn index_ids(&mut self) {
        self.by_id.clear();
        for (i, a) in self.attrs.iter().enumerate() {
            for &id in &a.ids {
                self.by_id.entry(id).or_insert(i);
            }
        }
    }
}
