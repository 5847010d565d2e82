//! Event payloads: the common header, then fields in the file's byte order.

use crate::endian::Endian;
use crate::types::Pid;

/// Builds an event payload in a given byte order: the common header
/// (`u16 common_type; u8 common_flags; u8 common_preempt_count; i32
/// common_pid`) followed by fields appended in order. The caller follows the
/// event's format: [`EventPayload::pad_to`] skips alignment holes.
///
/// `__data_loc` fields ([`EventPayload::data_loc_str`],
/// [`EventPayload::data_loc_bytes`]) reserve their 4-byte word in place; the
/// data is appended after every fixed field by [`EventPayload::finish`], and
/// the word set to `len << 16 | offset` (offset from the payload start).
#[derive(Debug, Clone)]
pub struct EventPayload {
    endian: Endian,
    buf: Vec<u8>,
    dynamic: Vec<(usize, Vec<u8>)>,
}

impl EventPayload {
    /// A payload starting with the common header.
    pub fn new(endian: Endian, common_type: u16, flags: u8, preempt_count: u8, pid: Pid) -> Self {
        let mut p = EventPayload {
            endian,
            buf: Vec::with_capacity(64),
            dynamic: Vec::new(),
        };
        p.u16(common_type).u8(flags).u8(preempt_count).i32(pid.0);
        p
    }

    /// A payload with no common header (for raw layouts).
    pub fn empty(endian: Endian) -> Self {
        EventPayload {
            endian,
            buf: Vec::new(),
            dynamic: Vec::new(),
        }
    }

    /// Bytes of fixed fields so far (the offset of the next field).
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether nothing was written yet.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Appends a `u8`.
    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.buf.push(v);
        self
    }

    /// Appends an `i8`.
    pub fn i8(&mut self, v: i8) -> &mut Self {
        self.buf.push(v as u8);
        self
    }

    /// Appends a `u16` in the payload's byte order.
    pub fn u16(&mut self, v: u16) -> &mut Self {
        self.buf.extend_from_slice(&self.endian.u16_bytes(v));
        self
    }

    /// Appends an `i16`.
    pub fn i16(&mut self, v: i16) -> &mut Self {
        self.u16(v as u16)
    }

    /// Appends a `u32`.
    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.buf.extend_from_slice(&self.endian.u32_bytes(v));
        self
    }

    /// Appends an `i32`.
    pub fn i32(&mut self, v: i32) -> &mut Self {
        self.u32(v as u32)
    }

    /// Appends a `u64`.
    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.buf.extend_from_slice(&self.endian.u64_bytes(v));
        self
    }

    /// Appends an `i64`.
    pub fn i64(&mut self, v: i64) -> &mut Self {
        self.u64(v as u64)
    }

    /// Appends a kernel `long` / pointer of `long_size` (4 or 8) bytes; a
    /// 4-byte long keeps the low 32 bits.
    pub fn long(&mut self, long_size: u8, v: u64) -> &mut Self {
        if long_size == 4 {
            self.u32(v as u32)
        } else {
            self.u64(v)
        }
    }

    /// Appends a fixed `char name[len]` array: `s` truncated to `len` bytes,
    /// NUL-padded.
    pub fn char_array(&mut self, s: &[u8], len: usize) -> &mut Self {
        let n = s.len().min(len);
        self.buf.extend_from_slice(&s[..n]);
        self.buf.resize(self.buf.len() + (len - n), 0);
        self
    }

    /// Appends raw bytes.
    pub fn bytes(&mut self, b: &[u8]) -> &mut Self {
        self.buf.extend_from_slice(b);
        self
    }

    /// Appends zero bytes up to `offset` (no-op when already there).
    pub fn pad_to(&mut self, offset: usize) -> &mut Self {
        if self.buf.len() < offset {
            self.buf.resize(offset, 0);
        }
        self
    }

    /// Reserves a `__data_loc char[]` field holding `s` and its NUL.
    pub fn data_loc_str(&mut self, s: &str) -> &mut Self {
        let mut v = Vec::with_capacity(s.len() + 1);
        v.extend_from_slice(s.as_bytes());
        v.push(0);
        self.data_loc_bytes(&v)
    }

    /// Reserves a `__data_loc` field holding `data` as is.
    pub fn data_loc_bytes(&mut self, data: &[u8]) -> &mut Self {
        self.dynamic.push((self.buf.len(), data.to_vec()));
        self.buf.extend_from_slice(&[0; 4]);
        self
    }

    /// The finished payload: fixed fields, then the `__data_loc` data in
    /// field order, their words filled in. Lengths and offsets above 65535
    /// are truncated to 16 bits, as the kernel's word has no more room.
    pub fn finish(&self) -> Vec<u8> {
        let extra: usize = self.dynamic.iter().map(|(_, d)| d.len()).sum();
        let mut out = Vec::with_capacity(self.buf.len() + extra);
        out.extend_from_slice(&self.buf);
        for (pos, data) in &self.dynamic {
            let offset = out.len() as u32 & 0xffff;
            let word = ((data.len() as u32 & 0xffff) << 16) | offset;
            out[*pos..*pos + 4].copy_from_slice(&self.endian.u32_bytes(word));
            out.extend_from_slice(data);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_header_fields_and_data_loc() {
        for e in [Endian::Little, Endian::Big] {
            let p = EventPayload::new(e, 0x1234, 1, 2, Pid(-5))
                .u8(7)
                .pad_to(10)
                .u16(0xbeef)
                .data_loc_str("abc")
                .char_array(b"0123456789abcdefXYZ", 16)
                .i64(-2)
                .data_loc_bytes(&[9, 9])
                .finish();
            assert_eq!(e.read_u16(&p, 0), Some(0x1234));
            assert_eq!(&p[2..4], &[1, 2]);
            assert_eq!(e.read_u32(&p, 4), Some(-5i32 as u32));
            assert_eq!(p[8], 7);
            assert_eq!(e.read_u16(&p, 10), Some(0xbeef));
            assert_eq!(e.read_u32(&p, 12), Some((4 << 16) | 44));
            assert_eq!(&p[16..32], b"0123456789abcdef");
            assert_eq!(e.read_u64(&p, 32), Some(u64::MAX - 1));
            assert_eq!(e.read_u32(&p, 40), Some((2 << 16) | 48));
            assert_eq!(&p[44..], &[b'a', b'b', b'c', 0, 9, 9]);
        }
        let mut e = EventPayload::empty(Endian::Little);
        assert!(e.is_empty());
        e.long(4, u64::MAX).char_array(b"ab", 4);
        assert_eq!(e.len(), 8);
        assert_eq!(e.finish(), vec![255, 255, 255, 255, b'a', b'b', 0, 0]);
    }
}
