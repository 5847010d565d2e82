//! A bounds-checked read cursor over the file bytes that knows its absolute
//! file offset, so every error can name where it happened.

use crate::endian::Endian;
use crate::error::{Error, Result};

/// Reads integers and strings from a slice, tracking the absolute offset.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
    /// Absolute file offset of `data[0]`.
    base: u64,
    endian: Endian,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(data: &'a [u8], base: u64, endian: Endian) -> Self {
        Cursor {
            data,
            pos: 0,
            base,
            endian,
        }
    }

    /// Absolute file offset of the next byte.
    pub(crate) fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    pub(crate) fn remaining(&self) -> usize {
        self.data.len().saturating_sub(self.pos)
    }

    pub(crate) fn set_endian(&mut self, e: Endian) {
        self.endian = e;
    }

    pub(crate) fn bytes(&mut self, n: usize, what: &'static str) -> Result<&'a [u8]> {
        if self.remaining() < n {
            return Err(Error::truncated(
                what,
                (n - self.remaining()) as u64,
                self.offset(),
            ));
        }
        let b = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(b)
    }

    /// Takes `n` bytes where `n` came from the file: checked against what is
    /// left, so a huge claimed length is an error, not an allocation.
    pub(crate) fn bytes_u64(&mut self, n: u64, what: &'static str) -> Result<&'a [u8]> {
        if n > self.remaining() as u64 {
            return Err(Error::truncated(
                what,
                n - self.remaining() as u64,
                self.offset(),
            ));
        }
        self.bytes(n as usize, what)
    }

    pub(crate) fn u8(&mut self, what: &'static str) -> Result<u8> {
        Ok(self.bytes(1, what)?[0])
    }

    pub(crate) fn u16(&mut self, what: &'static str) -> Result<u16> {
        let b = self.bytes(2, what)?;
        Ok(self.endian.u16([b[0], b[1]]))
    }

    pub(crate) fn u32(&mut self, what: &'static str) -> Result<u32> {
        let b = self.bytes(4, what)?;
        Ok(self.endian.u32([b[0], b[1], b[2], b[3]]))
    }

    pub(crate) fn u64(&mut self, what: &'static str) -> Result<u64> {
        let b = self.bytes(8, what)?;
        Ok(self
            .endian
            .u64([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
    }

    /// A NUL-terminated string (the NUL is consumed, not returned).
    pub(crate) fn cstr(&mut self, what: &'static str) -> Result<&'a [u8]> {
        let rest = &self.data[self.pos.min(self.data.len())..];
        match rest.iter().position(|&b| b == 0) {
            Some(n) => {
                let s = &rest[..n];
                self.pos += n + 1;
                Ok(s)
            }
            None => Err(Error::truncated(
                what,
                1,
                self.base + self.data.len() as u64,
            )),
        }
    }

    /// Moves to absolute file offset `off` (must lie within the data).
    pub(crate) fn seek(&mut self, off: u64, what: &'static str) -> Result<()> {
        let rel = off
            .checked_sub(self.base)
            .filter(|&r| r <= self.data.len() as u64)
            .ok_or_else(|| Error::truncated(what, 1, off))?;
        self.pos = rel as usize;
        Ok(())
    }
}
