//! Format-faithful, zero-copy readers for Linux trace files.
//!
//! `mmrace-parsers` reads trace-cmd `trace.dat` files (versions 6 and 7,
//! uncompressed, zstd and zlib, both byte orders, 4- and 8-byte kernel longs,
//! several buffers) and perf.data files ([`perf`]) over a `&[u8]`. It never opens files, maps memory or
//! spawns threads: the caller hands it the bytes and decides how to
//! parallelise over the independent per-CPU streams.
//!
//! ```no_run
//! use mmrace_parsers::tracedat::TraceDat;
//! let bytes = std::fs::read("trace.dat").unwrap();
//! let trace = TraceDat::parse(&bytes).unwrap();
//! let mut events = trace.merged_records();
//! while let Some(rec) = events.next_record() {
//!     let rec = rec.unwrap();
//!     println!("{} cpu{} {}", rec.ts, rec.cpu, rec.payload.len());
//! }
//! ```
#![forbid(unsafe_code)]

pub mod endian;
pub mod error;
pub mod format;
pub mod perf;
pub mod printfmt;
pub mod report;
pub mod symbols;
pub mod tracedat;
pub mod types;

pub use endian::Endian;
pub use error::{Error, ErrorKind, Result};
pub use types::{Cpu, EventId, FileOffset, Pid, Timestamp};
