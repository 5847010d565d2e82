//! Byte order of a trace file, decided once from the file's header.
//!
//! trace.dat stores every integer after its endian byte in the traced
//! machine's order (big-endian on s390x). The reads here are bounds-checked by
//! the caller: they take exact-size arrays.

/// The byte order of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endian {
    /// Least significant byte first (x86_64, arm64, arm).
    Little,
    /// Most significant byte first (s390x).
    Big,
}

impl Endian {
    /// Whether this is big-endian.
    #[inline]
    pub fn is_big(self) -> bool {
        matches!(self, Endian::Big)
    }

    /// Reads a `u16` from exactly two bytes.
    #[inline]
    pub fn u16(self, b: [u8; 2]) -> u16 {
        match self {
            Endian::Little => u16::from_le_bytes(b),
            Endian::Big => u16::from_be_bytes(b),
        }
    }

    /// Reads a `u32` from exactly four bytes.
    #[inline]
    pub fn u32(self, b: [u8; 4]) -> u32 {
        match self {
            Endian::Little => u32::from_le_bytes(b),
            Endian::Big => u32::from_be_bytes(b),
        }
    }

    /// Reads a `u64` from exactly eight bytes.
    #[inline]
    pub fn u64(self, b: [u8; 8]) -> u64 {
        match self {
            Endian::Little => u64::from_le_bytes(b),
            Endian::Big => u64::from_be_bytes(b),
        }
    }

    /// Reads an unsigned integer of 1, 2, 4 or 8 bytes at `pos` of `data`.
    /// Returns `None` when the slice is too short or the size is not one of those.
    ///
    /// This is the field read of the classification hot path: each arm is
    /// one bounds check and one load.
    #[inline]
    pub fn read_uint(self, data: &[u8], pos: usize, size: usize) -> Option<u64> {
        match size {
            1 => data.get(pos).copied().map(u64::from),
            2 => self.read_u16(data, pos).map(u64::from),
            4 => self.read_u32(data, pos).map(u64::from),
            8 => self.read_u64(data, pos),
            _ => None,
        }
    }

    /// Reads a `u16` at `pos`, `None` when out of bounds (the slice
    /// conversion cannot fail once the range is checked: it compiles to
    /// nothing).
    #[inline]
    pub fn read_u16(self, data: &[u8], pos: usize) -> Option<u16> {
        let b = data.get(pos..pos.checked_add(2)?)?;
        Some(self.u16(b.try_into().ok()?))
    }

    /// Reads a `u32` at `pos`, `None` when out of bounds.
    #[inline]
    pub fn read_u32(self, data: &[u8], pos: usize) -> Option<u32> {
        let b = data.get(pos..pos.checked_add(4)?)?;
        Some(self.u32(b.try_into().ok()?))
    }

    /// Reads a `u64` at `pos`, `None` when out of bounds.
    #[inline]
    pub fn read_u64(self, data: &[u8], pos: usize) -> Option<u64> {
        let b = data.get(pos..pos.checked_add(8)?)?;
        Some(self.u64(b.try_into().ok()?))
    }

    /// Writes a `u16` in this byte order.
    pub fn u16_bytes(self, v: u16) -> [u8; 2] {
        match self {
            Endian::Little => v.to_le_bytes(),
            Endian::Big => v.to_be_bytes(),
        }
    }

    /// Writes a `u32` in this byte order.
    pub fn u32_bytes(self, v: u32) -> [u8; 4] {
        match self {
            Endian::Little => v.to_le_bytes(),
            Endian::Big => v.to_be_bytes(),
        }
    }

    /// Writes a `u64` in this byte order.
    pub fn u64_bytes(self, v: u64) -> [u8; 8] {
        match self {
            Endian::Little => v.to_le_bytes(),
            Endian::Big => v.to_be_bytes(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_orders() {
        let d = [1u8, 2, 3, 4, 5, 6, 7, 8];
        assert_eq!(Endian::Little.read_u32(&d, 0), Some(0x0403_0201));
        assert_eq!(Endian::Big.read_u32(&d, 0), Some(0x0102_0304));
        assert_eq!(Endian::Big.read_uint(&d, 6, 2), Some(0x0708));
        assert_eq!(Endian::Big.read_uint(&d, 7, 2), None);
        assert_eq!(Endian::Little.read_uint(&d, 0, 3), None);
        assert_eq!(Endian::Little.read_u64(&d, 1), None);
        assert_eq!(Endian::Big.read_u16(&d, usize::MAX), None);
    }
}
