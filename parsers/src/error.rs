//! The reader's error type: what went wrong, at which byte of the file, on
//! which CPU.
//!
//! Every error names a file offset. Errors are values (`Clone + PartialEq`) so
//! tests can compare them, and readers return them next to everything they
//! could read before the damage.

use crate::types::{Cpu, FileOffset};
use std::fmt;

/// What kind of problem a reader met.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The data ends before a structure it must hold.
    #[error("unexpected end of data: needed {needed} more bytes for {what}")]
    Truncated {
        /// What was being read.
        what: &'static str,
        /// How many bytes were missing (at least).
        needed: u64,
    },
    /// The magic bytes are not those of a known format.
    #[error("not a trace.dat or perf.data file (bad magic)")]
    BadMagic,
    /// A file version this reader does not handle.
    #[error("unsupported file version {0:?}")]
    UnsupportedVersion(String),
    /// A value that is out of the range the format allows.
    #[error("invalid {what}: {value}")]
    InvalidValue {
        /// The name of the value.
        what: &'static str,
        /// The offending value, printed.
        value: String,
    },
    /// A length read from the file is larger than the named limit.
    #[error("{what} of {size} bytes exceeds the limit of {max}")]
    TooLarge {
        /// What the length describes.
        what: &'static str,
        /// The claimed size.
        size: u64,
        /// The limit.
        max: u64,
    },
    /// A text section (format file, header page) could not be parsed.
    #[error("cannot parse {what}: {detail}")]
    Syntax {
        /// The section.
        what: &'static str,
        /// Parser detail, including the line.
        detail: String,
    },
    /// The compression named in the file is not supported.
    #[error("unsupported compression {0:?}")]
    UnsupportedCompression(String),
    /// A compressed block could not be decompressed.
    #[error("decompression failed: {0}")]
    Decompress(String),
    /// A ring-buffer page is malformed.
    #[error("corrupt ring-buffer page: {0}")]
    CorruptPage(String),
}

/// A reader error: its kind, the absolute byte offset in the input where it
/// was met and, for per-CPU data, the CPU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// What went wrong.
    pub kind: ErrorKind,
    /// Byte offset in the input file.
    pub offset: FileOffset,
    /// The CPU whose data was being read, if any.
    pub cpu: Option<Cpu>,
    /// The buffer (instance) name, if not the top buffer.
    pub buffer: Option<String>,
}

impl Error {
    /// A new error at `offset`.
    pub fn new(kind: ErrorKind, offset: u64) -> Self {
        Error {
            kind,
            offset: FileOffset(offset),
            cpu: None,
            buffer: None,
        }
    }

    /// The same error attributed to a CPU.
    pub fn with_cpu(mut self, cpu: Cpu) -> Self {
        self.cpu = Some(cpu);
        self
    }

    /// The same error attributed to a named buffer (instance).
    pub fn with_buffer(mut self, name: &str) -> Self {
        if !name.is_empty() {
            self.buffer = Some(name.to_string());
        }
        self
    }

    /// Shorthand for a [`ErrorKind::Truncated`] error.
    pub fn truncated(what: &'static str, needed: u64, offset: u64) -> Self {
        Error::new(ErrorKind::Truncated { what, needed }, offset)
    }

    /// Shorthand for an [`ErrorKind::InvalidValue`] error.
    pub fn invalid(what: &'static str, value: impl fmt::Display, offset: u64) -> Self {
        Error::new(
            ErrorKind::InvalidValue {
                what,
                value: value.to_string(),
            },
            offset,
        )
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at byte offset {}", self.offset)?;
        if let Some(b) = &self.buffer {
            write!(f, ", buffer {b:?}")?;
        }
        if let Some(cpu) = self.cpu {
            write!(f, ", CPU {cpu}")?;
        }
        write!(f, ": {}", self.kind)
    }
}

impl std::error::Error for Error {}

/// The result type of the readers.
pub type Result<T> = std::result::Result<T, Error>;
