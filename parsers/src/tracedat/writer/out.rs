//! A buffered output that knows its position and can patch bytes already
//! written, and the compressors.

use super::spec::Compression;
use super::{WriterError, WriterResult};
use std::io::{self, BufWriter, Seek, SeekFrom, Write};

const BUF_CAPACITY: usize = 1 << 18;

/// Buffered output tracking the absolute file position.
pub(crate) struct Out<W: Write + Seek> {
    inner: BufWriter<W>,
    pos: u64,
}

impl<W: Write + Seek> Out<W> {
    /// Wraps `w`, which must be at position 0 (file offsets are absolute).
    pub(crate) fn new(mut w: W) -> WriterResult<Self> {
        let pos = w.stream_position()?;
        if pos != 0 {
            return Err(WriterError::Usage(format!(
                "the output must start at position 0, not {pos}"
            )));
        }
        Ok(Out {
            inner: BufWriter::with_capacity(BUF_CAPACITY, w),
            pos: 0,
        })
    }

    /// The current (end) position.
    #[inline]
    pub(crate) fn pos(&self) -> u64 {
        self.pos
    }

    #[inline]
    pub(crate) fn write(&mut self, b: &[u8]) -> io::Result<()> {
        self.inner.write_all(b)?;
        self.pos += b.len() as u64;
        Ok(())
    }

    /// Writes `n` zero bytes.
    pub(crate) fn zeros(&mut self, mut n: u64) -> io::Result<()> {
        const Z: [u8; 4096] = [0; 4096];
        while n > 0 {
            let k = n.min(Z.len() as u64) as usize;
            self.write(&Z[..k])?;
            n -= k as u64;
        }
        Ok(())
    }

    /// Pads with zeros to a multiple of `align` (a power of two).
    pub(crate) fn align(&mut self, align: u64) -> io::Result<()> {
        let target = (self.pos + align - 1) & !(align - 1);
        self.zeros(target - self.pos)
    }

    /// Overwrites bytes at `at` (before the current position), then returns
    /// to the end.
    pub(crate) fn patch(&mut self, at: u64, b: &[u8]) -> io::Result<()> {
        debug_assert!(at + b.len() as u64 <= self.pos);
        self.inner.seek(SeekFrom::Start(at))?;
        self.inner.write_all(b)?;
        self.inner.seek(SeekFrom::Start(self.pos))?;
        Ok(())
    }

    /// Flushes and returns the writer.
    pub(crate) fn into_inner(self) -> WriterResult<W> {
        self.inner
            .into_inner()
            .map_err(|e| WriterError::Io(e.into_error()))
    }
}

/// A block compressor: one independent zstd frame or zlib stream per call.
pub(crate) enum Codec {
    Zstd(Box<zstd::bulk::Compressor<'static>>),
    Zlib(flate2::Compression),
}

impl Codec {
    /// The codec of `compression` (`None` when uncompressed).
    pub(crate) fn new(compression: Compression, level: Option<i32>) -> WriterResult<Option<Codec>> {
        Ok(match compression {
            Compression::None => None,
            Compression::Zstd => {
                let mut c = zstd::bulk::Compressor::new(level.unwrap_or(3))?;
                // trace-cmd: ZSTD_c_contentSizeFlag = 0.
                c.include_contentsize(false)?;
                c.include_checksum(false)?;
                Some(Codec::Zstd(Box::new(c)))
            }
            Compression::Zlib => {
                let l = level.unwrap_or(9);
                if !(0..=9).contains(&l) {
                    return Err(WriterError::InvalidSpec(format!(
                        "zlib level {l} not in 0..=9"
                    )));
                }
                Some(Codec::Zlib(flate2::Compression::new(l as u32)))
            }
        })
    }

    /// The name and version strings of the v7 header.
    pub(crate) fn header_strings(compression: Compression) -> (&'static str, &'static str) {
        match compression {
            Compression::None => ("none", ""),
            Compression::Zstd => ("zstd", zstd::zstd_safe::version_string()),
            // trace-cmd accepts any zlib whose major version is not newer.
            Compression::Zlib => ("zlib", "1.2.13"),
        }
    }

    /// Compresses `input` into `out` (cleared first).
    pub(crate) fn compress(&mut self, input: &[u8], out: &mut Vec<u8>) -> io::Result<()> {
        out.clear();
        match self {
            Codec::Zstd(c) => {
                out.reserve(zstd::zstd_safe::compress_bound(input.len()));
                c.compress_to_buffer(input, out)?;
            }
            Codec::Zlib(level) => {
                let mut enc = flate2::write::ZlibEncoder::new(std::mem::take(out), *level);
                enc.write_all(input)?;
                *out = enc.finish()?;
            }
        }
        Ok(())
    }
}
