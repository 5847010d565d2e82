//! trace-cmd `trace.dat` files, versions 6 and 7.
//!
//! [`TraceDat::parse`] reads the metadata (header, event formats, kallsyms,
//! printk formats, saved cmdlines, options, buffers) and describes each CPU's
//! ring-buffer data without decoding it. Records are then read per CPU with
//! [`CpuRecords`] (independent, so a caller may decode CPUs in parallel) or in
//! global time order with [`MergedRecords`].
//!
//! Layouts follow trace-cmd's `trace-cmd.dat.v6.5` and `trace-cmd.dat.v7.5`
//! documents. Writer bugs tolerated: the compressed per-CPU size that
//! trace-cmd < 3.2 stores 4 bytes short (chunk headers are read instead),
//! and a missing trailing options section in a truncated v7 file (the CPU
//! data is then recovered by scanning pages).

mod cpu;
pub(crate) mod cursor;
mod merge;
mod meta;
mod time;
pub mod writer;

pub use cpu::{ChunkLoader, CpuRecords, Item, LostEvents, PagePos};
pub use merge::{MergedItem, MergedRecords};
pub use meta::{Buffer, Chunk, Compression, CpuData, TraceOptions};
/// The limits the reader puts on sizes and counts read from a file.
pub use meta::{
    MAX_CHUNK_UNCOMPRESSED, MAX_CHUNKS, MAX_COMPRESSION_RATIO, MAX_CPUS, MAX_EVENT_FORMATS,
    MAX_FORMAT_WARNINGS, MAX_OPTION_SECTIONS, MAX_OPTIONS, MAX_PAGE_SIZE, MAX_SECTION_UNCOMPRESSED,
    MAX_SYSTEMS, RESERVE_PER_COMPRESSED_BYTE,
};
pub use time::{TSYNC_FLAG_INTERPOLATE, TimeAdjust, TimeShift, TsyncSample};

use crate::endian::Endian;
use crate::error::{Error, Result};
use crate::format::{EventFormat, HeaderPage};
use crate::types::{Cpu, EventId, FileOffset, Pid, Timestamp};
use std::borrow::Cow;
use std::collections::HashMap;

/// One event record from a CPU's ring buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record<'a> {
    /// Timestamp after the file's offsets were applied (ns for ns clocks).
    pub ts: Timestamp,
    /// The CPU whose buffer held it.
    pub cpu: Cpu,
    /// Index of its buffer in [`TraceDat::buffers`] (0 = top buffer).
    pub buffer: usize,
    /// The event payload: `common_type`, `common_flags`,
    /// `common_preempt_count`, `common_pid`, then the event's fields. May be
    /// longer than the event's struct (reserved length, 4-byte aligned).
    pub payload: &'a [u8],
    /// File offset of the record's header for uncompressed data; for
    /// compressed data, the offset of the chunk holding it.
    pub offset: FileOffset,
}

/// A parsed trace.dat file: metadata plus a description of the per-CPU data.
#[derive(Debug)]
pub struct TraceDat<'a> {
    pub(crate) data: &'a [u8],
    /// File version (6 or 7).
    pub version: u32,
    /// Byte order of the traced machine.
    pub endian: Endian,
    /// `long` size of the recording user space (header byte).
    pub user_long_size: u8,
    /// Kernel `long` size, from `header_page` (`commit` field size).
    pub long_size: usize,
    /// Page size from the initial header.
    pub header_page_size: u32,
    /// Compression of v7 sections.
    pub compression: Compression,
    /// Page header layout.
    pub header_page: HeaderPage,
    /// The `header_event` text.
    pub header_event: String,
    /// Every event format: ftrace's own first, then each system's.
    pub formats: Vec<EventFormat>,
    /// How many of [`TraceDat::formats`] are ftrace's own (`ftrace` system).
    pub ftrace_format_count: usize,
    by_id: HashMap<u32, usize>,
    /// The kallsyms text (`/proc/kallsyms`), possibly empty.
    pub kallsyms: Cow<'a, [u8]>,
    /// The printk formats text.
    pub printk: Cow<'a, [u8]>,
    /// Saved command lines: pid → comm, in file order.
    pub cmdlines: Vec<(Pid, String)>,
    cmdline_map: HashMap<i32, usize>,
    /// Number of CPUs the trace was recorded on.
    pub cpu_count: u32,
    /// Options (clock, uname, version, cpu stats, time offsets...).
    pub options: TraceOptions,
    /// The buffers: the top buffer first, then instances.
    pub buffers: Vec<Buffer<'a>>,
    /// Problems met while reading the metadata that did not stop it, each with
    /// its offset (a format that does not parse, a truncated tail...).
    pub warnings: Vec<Error>,
}

impl<'a> TraceDat<'a> {
    /// Parses the metadata of a trace.dat file held in `data`.
    ///
    /// Fails only when the metadata needed to decode events cannot be read;
    /// damage in per-CPU data is reported by the record iterators, after the
    /// records before it.
    pub fn parse(data: &'a [u8]) -> Result<TraceDat<'a>> {
        meta::parse(data)
    }

    /// Parses the tracing data a perf.data file carries (its
    /// `HEADER_TRACING_DATA` feature, or a pipe-mode
    /// `PERF_RECORD_HEADER_TRACING_DATA`): the same metadata as a v6
    /// trace.dat up to the saved cmdlines, read by the same code. The result
    /// has no buffers and no CPU count; `base` is the file offset of `data`
    /// (errors name absolute offsets).
    pub fn from_tracing_data(data: &'a [u8], base: u64) -> Result<TraceDat<'a>> {
        meta::parse_tracing_data(data, base)
    }

    /// The whole input.
    pub fn bytes(&self) -> &'a [u8] {
        self.data
    }

    /// The format of the event with this id.
    #[inline]
    pub fn format_by_id(&self, id: EventId) -> Option<&EventFormat> {
        self.by_id.get(&id.0).map(|&i| &self.formats[i])
    }

    /// Index into [`TraceDat::formats`] of the event with this id.
    #[inline]
    pub fn format_index(&self, id: EventId) -> Option<usize> {
        self.by_id.get(&id.0).copied()
    }

    /// Finds an event format by system and name.
    pub fn format_by_name(&self, system: &str, name: &str) -> Option<&EventFormat> {
        self.formats
            .iter()
            .find(|f| f.name == name && f.system == system)
    }

    /// The event id (`common_type`) of a record payload.
    #[inline]
    pub fn record_event_id(&self, payload: &[u8]) -> Option<EventId> {
        self.endian
            .read_u16(payload, 0)
            .map(|v| EventId(u32::from(v)))
    }

    /// The `common_pid` of a record payload (offset 4 on every kernel).
    #[inline]
    pub fn record_pid(&self, payload: &[u8]) -> Option<Pid> {
        self.endian.read_u32(payload, 4).map(|v| Pid(v as i32))
    }

    /// The saved comm of a pid, as trace-cmd's cmdline lookup gives it.
    pub fn comm(&self, pid: Pid) -> Option<&str> {
        self.cmdline_map
            .get(&pid.0)
            .map(|&i| self.cmdlines[i].1.as_str())
    }

    /// A record iterator over one CPU of one buffer.
    pub fn cpu_records(&self, buffer: usize, cpu_index: usize) -> Option<CpuRecords<'_>> {
        let b = self.buffers.get(buffer)?;
        let c = b.cpus.get(cpu_index)?;
        Some(CpuRecords::new(self, buffer, c))
    }

    /// Every CPU stream of every buffer, in (buffer, cpu) order.
    pub fn all_cpu_records(&self) -> Vec<CpuRecords<'_>> {
        let mut v = Vec::new();
        for (bi, b) in self.buffers.iter().enumerate() {
            for c in &b.cpus {
                v.push(CpuRecords::new(self, bi, c));
            }
        }
        v
    }

    /// All records of all buffers and CPUs in time order, with trace-cmd's
    /// tie-break (earlier buffer, then lower CPU, wins on equal timestamps).
    pub fn merged_records(&self) -> MergedRecords<'_> {
        MergedRecords::new(self.all_cpu_records())
    }

    pub(crate) fn set_cmdlines(&mut self, list: Vec<(Pid, String)>) {
        self.cmdline_map.clear();
        for (i, (p, _)) in list.iter().enumerate() {
            self.cmdline_map.insert(p.0, i);
        }
        self.cmdlines = list;
    }

    pub(crate) fn set_formats(&mut self, formats: Vec<EventFormat>, ftrace: usize) {
        self.by_id.clear();
        for (i, f) in formats.iter().enumerate() {
            self.by_id.entry(f.id.0).or_insert(i);
        }
        self.formats = formats;
        self.ftrace_format_count = ftrace;
    }
}
