//! A streaming trace-cmd `trace.dat` writer (versions 6 and 7).
//!
//! Three layers, from low to high:
//!
//! * [`PageBuilder`] builds one ring-buffer sub-buffer ("page") record by
//!   record, in either byte order and either kernel `long` size, including the
//!   rare record types (time extends, absolute time stamps, padding) and the
//!   missed-events flags. Meant for reader unit tests.
//! * [`EventPayload`] builds an event payload: the common header
//!   (`common_type`, `common_flags`, `common_preempt_count`, `common_pid`) and
//!   typed fields, with `__data_loc` data appended at the end.
//! * [`TraceDatWriter`] writes a whole file from a [`TraceDatSpec`] (byte
//!   order, `long` size, page size, version, compression and the metadata
//!   texts) and per-CPU record streams. Records are packed into pages as the
//!   kernel does (page time stamp = first record, deltas, `TIME_EXTEND` for
//!   deltas that do not fit in 27 bits). Memory use does not depend on the
//!   trace size: one page, plus one compression chunk of ten pages when
//!   compressing.
//!
//! The layouts are trace-cmd's, byte for byte where trace-cmd is
//! deterministic: section order, options order, strings table, page-aligned
//! CPU data, chunked compression (`PAGES_IN_CHUNK` = 10). One deliberate
//! difference: for compressed CPU data the recorded size includes the leading
//! `u32` chunk count (trace-cmd < 3.2 wrote it 4 bytes short).
//!
//! ```
//! use mmrace_parsers::Endian;
//! use mmrace_parsers::tracedat::writer::{EventPayload, TraceDatSpec, TraceDatWriter};
//! use mmrace_parsers::types::{Cpu, Pid, Timestamp};
//!
//! let format = "name: hello\nID: 500\nformat:\n\
//!     \tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\
//!     \tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n\
//!     \tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n\
//!     \tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n\
//!     \tfield:u64 value;\toffset:8;\tsize:8;\tsigned:0;\n\n\
//!     print fmt: \"value=%llu\", REC->value\n";
//! let spec = TraceDatSpec::new(Endian::Little, 8)
//!     .event_format("demo", format)
//!     .cmdline(Pid(42), "demo")
//!     .buffer("", 1);
//! let bytes = TraceDatWriter::to_vec(spec, |w| {
//!     let records = (0..100u64).map(|i| {
//!         let payload = EventPayload::new(Endian::Little, 500, 0, 0, Pid(42)).u64(i).finish();
//!         (Timestamp(1_000_000 + i * 1_000), payload)
//!     });
//!     w.write_cpu("", Cpu(0), records)
//! })
//! .unwrap();
//! assert_eq!(&bytes[..10], b"\x17\x08\x44tracing");
//! ```

mod file;
mod layout;
mod out;
mod page;
mod payload;
mod spec;

pub use file::TraceDatWriter;
pub use page::{
    COMMIT_MASK, MAX_DELTA, MAX_SHORT_PAYLOAD, MISSED_EVENTS, MISSED_STORED, PageBuilder,
    TYPE_PADDING, TYPE_TIME_EXTEND, TYPE_TIME_STAMP,
};
pub use payload::EventPayload;
pub use spec::{
    Compression, FileVersion, HEADER_EVENT, TraceDatSpec, header_page_text, trace_clock_text,
};

/// What can go wrong while writing a trace.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WriterError {
    /// The output (or a compressor) failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The spec (or a [`PageBuilder`] argument) is not one the format allows.
    #[error("invalid trace spec: {0}")]
    InvalidSpec(String),
    /// A record is larger than an empty page can hold.
    #[error("record of {len} bytes does not fit in an empty page ({max} bytes of data)")]
    RecordTooLarge {
        /// The record length (header included).
        len: usize,
        /// The data capacity of a page.
        max: usize,
    },
    /// A [`PageBuilder`] has no room left for the record.
    #[error("page full: the record needs {needed} bytes, {available} are left")]
    PageFull {
        /// Bytes the record needs.
        needed: usize,
        /// Bytes still free in the page.
        available: usize,
    },
    /// A value does not fit in its field.
    #[error("{what} {value} is out of range (max {max})")]
    OutOfRange {
        /// The field.
        what: &'static str,
        /// The value given.
        value: u64,
        /// The largest value allowed.
        max: u64,
    },
    /// A CPU's timestamps went backwards.
    #[error("buffer {buffer:?} CPU {cpu}: timestamp {ts} is before the previous one ({prev})")]
    TimestampOrder {
        /// The buffer name ("" for the top buffer).
        buffer: String,
        /// The CPU.
        cpu: u32,
        /// The offending timestamp.
        ts: u64,
        /// The previous timestamp on that CPU.
        prev: u64,
    },
    /// The writer's methods were called in an order the file layout cannot
    /// follow (a buffer or CPU written twice or out of order, a record pushed
    /// without an open CPU...).
    #[error("writer misuse: {0}")]
    Usage(String),
}

/// The writer's result type.
pub type WriterResult<T> = std::result::Result<T, WriterError>;

#[cfg(test)]
mod tests;
