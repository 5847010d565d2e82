//! One ring-buffer sub-buffer ("page"), built record by record.

use super::{WriterError, WriterResult};
use crate::endian::Endian;

/// Largest time delta an event header holds (27 bits).
pub const MAX_DELTA: u32 = (1 << 27) - 1;
/// Largest payload (after rounding up to 4) stored in the short form
/// (`type_len` 1..=28).
pub const MAX_SHORT_PAYLOAD: usize = 28 * 4;
/// `type_len` of a padding (discarded event or end-of-page) record.
pub const TYPE_PADDING: u8 = 29;
/// `type_len` of a time-extend record.
pub const TYPE_TIME_EXTEND: u8 = 30;
/// `type_len` of an absolute time-stamp record.
pub const TYPE_TIME_STAMP: u8 = 31;
/// Bits of the page header `commit` word that hold the data length.
pub const COMMIT_MASK: u64 = (1 << 27) - 1;
/// `commit` flag: events were lost before this page (`RB_MISSED_EVENTS`).
pub const MISSED_EVENTS: u64 = 1 << 31;
/// `commit` flag: the number of lost events is stored after the data
/// (`RB_MISSED_STORED`).
pub const MISSED_STORED: u64 = 1 << 30;

/// Largest delta a single `TIME_EXTEND` carries: 32 + 27 bits.
pub(crate) const MAX_EXTEND: u64 = (1 << 59) - 1;

/// Builds one ring-buffer sub-buffer of `page_size` bytes: a page header
/// (`u64` time stamp, `long` commit) followed by event records, laid out as
/// the kernel does for a given byte order and kernel `long` size.
///
/// Append methods fail with [`WriterError::PageFull`] when the record does not
/// fit (the page is left unchanged). Payloads are padded with zeros to a
/// multiple of 4 bytes. [`PageBuilder::finish`] fills in the header and returns
/// the page bytes.
#[derive(Debug, Clone)]
pub struct PageBuilder {
    endian: Endian,
    long_size: usize,
    page: Vec<u8>,
    used: usize,
    timestamp: u64,
    missed: Missed,
    commit_override: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Missed {
    None,
    Unknown,
    Stored(u64),
}

impl PageBuilder {
    /// A new, empty page. `long_size` is the kernel's (4 or 8); `page_size`
    /// is the whole sub-buffer, header included.
    pub fn new(endian: Endian, long_size: u8, page_size: usize) -> WriterResult<Self> {
        if long_size != 4 && long_size != 8 {
            return Err(WriterError::InvalidSpec(format!(
                "kernel long size must be 4 or 8, not {long_size}"
            )));
        }
        let header = 8 + usize::from(long_size);
        if page_size < header + 16 || (page_size - header) as u64 > COMMIT_MASK {
            return Err(WriterError::InvalidSpec(format!(
                "page size {page_size} is out of range"
            )));
        }
        Ok(PageBuilder {
            endian,
            long_size: usize::from(long_size),
            page: vec![0; page_size],
            used: 0,
            timestamp: 0,
            missed: Missed::None,
            commit_override: None,
        })
    }

    /// Length of the page header (8 + kernel `long`): where data starts.
    pub fn header_len(&self) -> usize {
        8 + self.long_size
    }

    /// The whole page size.
    pub fn page_size(&self) -> usize {
        self.page.len()
    }

    /// Bytes of record data an empty page holds.
    pub fn capacity(&self) -> usize {
        self.page.len() - self.header_len()
    }

    /// Bytes of record data written so far (the `commit` length).
    pub fn used(&self) -> usize {
        self.used
    }

    /// Whether no record was appended yet.
    pub fn is_empty(&self) -> bool {
        self.used == 0
    }

    /// Bytes still free for records (minus the room reserved for a stored
    /// lost-events count).
    pub fn remaining(&self) -> usize {
        self.capacity() - self.used - self.reserved()
    }

    /// The page header time stamp.
    pub fn timestamp(&self) -> u64 {
        self.timestamp
    }

    /// Sets the page header time stamp (the base the first delta adds to).
    pub fn set_timestamp(&mut self, ts: u64) {
        self.timestamp = ts;
    }

    /// Empties the page for reuse and sets its time stamp.
    pub fn reset(&mut self, ts: u64) {
        let end = (self.header_len() + self.used + self.long_size).min(self.page.len());
        self.page[..end].fill(0);
        self.used = 0;
        self.timestamp = ts;
        self.missed = Missed::None;
        self.commit_override = None;
    }

    /// Total bytes a data record with a `payload_len`-byte payload takes:
    /// 4 + padded payload in the short form, 8 + padded payload in the long
    /// form (payloads longer than [`MAX_SHORT_PAYLOAD`], or `force_long`).
    /// An empty payload counts as 4 zero bytes, as in the kernel.
    pub fn data_record_len(payload_len: usize, force_long: bool) -> usize {
        let padded = pad4(payload_len.max(1));
        if force_long || padded > MAX_SHORT_PAYLOAD {
            8 + padded
        } else {
            4 + padded
        }
    }

    /// Appends a data record `delta` ns after the previous one, in the short
    /// form when the padded payload is at most 112 bytes, else the long form.
    pub fn push_data(&mut self, delta: u32, payload: &[u8]) -> WriterResult<()> {
        self.push_data_impl(delta, payload, false)
    }

    /// Appends a data record in the long form (`type_len` 0, `array[0]` =
    /// padded length + 4) whatever its size, as arches with
    /// `CONFIG_HAVE_64BIT_ALIGNED_ACCESS` write every record.
    pub fn push_data_long(&mut self, delta: u32, payload: &[u8]) -> WriterResult<()> {
        self.push_data_impl(delta, payload, true)
    }

    fn push_data_impl(&mut self, delta: u32, payload: &[u8], force_long: bool) -> WriterResult<()> {
        check_delta(delta)?;
        let len = Self::data_record_len(payload.len(), force_long);
        self.check_room(len)?;
        let padded = pad4(payload.len().max(1));
        let mut pos = self.header_len() + self.used;
        if len == 4 + padded {
            let type_len = (padded / 4) as u8;
            self.put_u32(pos, self.word(type_len, delta));
            pos += 4;
        } else {
            self.put_u32(pos, self.word(0, delta));
            self.put_u32(pos + 4, padded as u32 + 4);
            pos += 8;
        }
        self.page[pos..pos + payload.len()].copy_from_slice(payload);
        self.used += len;
        Ok(())
    }

    /// Appends a `TIME_EXTEND` record adding `delta` ns (up to 2^59 - 1): the
    /// low 27 bits go in the header's delta, the rest in `array[0]`. The next
    /// data record's own delta is added on top (usually 0).
    pub fn push_time_extend(&mut self, delta: u64) -> WriterResult<()> {
        if delta > MAX_EXTEND {
            return Err(WriterError::OutOfRange {
                what: "time extend delta",
                value: delta,
                max: MAX_EXTEND,
            });
        }
        self.push_stamp(TYPE_TIME_EXTEND, delta)
    }

    /// Appends an absolute `TIME_STAMP` record (type 31). Only the low 59
    /// bits of `ts` are stored; readers take the top 5 bits from the current
    /// time stamp.
    pub fn push_time_stamp(&mut self, ts: u64) -> WriterResult<()> {
        self.push_stamp(TYPE_TIME_STAMP, ts & MAX_EXTEND)
    }

    fn push_stamp(&mut self, type_len: u8, value: u64) -> WriterResult<()> {
        self.check_room(8)?;
        let pos = self.header_len() + self.used;
        let low = (value & u64::from(MAX_DELTA)) as u32;
        self.put_u32(pos, self.word(type_len, low));
        self.put_u32(pos + 4, (value >> 27) as u32);
        self.used += 8;
        Ok(())
    }

    /// Appends a discarded event: a `PADDING` record with a non-zero `delta`
    /// and `array[0] = len`, the bytes that follow the header word (including
    /// `array[0]` itself), so the record takes `4 + len` bytes. `len` must be
    /// a multiple of 4 and at least 4. Readers skip it but add its delta.
    pub fn push_padding(&mut self, delta: u32, len: u32) -> WriterResult<()> {
        check_delta(delta)?;
        if delta == 0 {
            return Err(WriterError::InvalidSpec(
                "a discarded-event padding needs a non-zero delta".into(),
            ));
        }
        if len < 4 || len & 3 != 0 {
            return Err(WriterError::InvalidSpec(format!(
                "padding length {len} must be a multiple of 4, at least 4"
            )));
        }
        let total = 4 + len as usize;
        self.check_room(total)?;
        let pos = self.header_len() + self.used;
        self.put_u32(pos, self.word(TYPE_PADDING, delta));
        self.put_u32(pos + 4, len);
        self.used += total;
        Ok(())
    }

    /// Appends the terminating "null" padding: a `PADDING` header word with
    /// delta 0 (4 bytes, counted in `commit`; the rest of the page is zero).
    /// Readers stop at it.
    pub fn push_null_padding(&mut self) -> WriterResult<()> {
        self.check_room(4)?;
        let pos = self.header_len() + self.used;
        self.put_u32(pos, self.word(TYPE_PADDING, 0));
        self.used += 4;
        Ok(())
    }

    /// Appends a raw event header word (`type_len`, `delta`), an optional
    /// `array[0]` word and `body` padded to 4 bytes, without any consistency
    /// check: for building malformed pages.
    pub fn push_raw(
        &mut self,
        type_len: u8,
        delta: u32,
        array0: Option<u32>,
        body: &[u8],
    ) -> WriterResult<()> {
        if type_len > 31 {
            return Err(WriterError::OutOfRange {
                what: "type_len",
                value: u64::from(type_len),
                max: 31,
            });
        }
        check_delta(delta)?;
        let len = 4 + if array0.is_some() { 4 } else { 0 } + pad4(body.len());
        self.check_room(len)?;
        let mut pos = self.header_len() + self.used;
        self.put_u32(pos, self.word(type_len, delta));
        pos += 4;
        if let Some(a) = array0 {
            self.put_u32(pos, a);
            pos += 4;
        }
        self.page[pos..pos + body.len()].copy_from_slice(body);
        self.used += len;
        Ok(())
    }

    /// Flags the page as following lost events (`MISSED_EVENTS`, bit 31 of
    /// `commit`). With `Some(count)` the count is also stored as a `long`
    /// right after the data (`MISSED_STORED`, bit 30), which needs `long`
    /// bytes of room; with `None` only bit 31 is set ("an unknown number").
    pub fn set_missed_events(&mut self, count: Option<u64>) -> WriterResult<()> {
        match count {
            None => self.missed = Missed::Unknown,
            Some(n) => {
                if self.long_size == 4 && n > u64::from(u32::MAX) {
                    return Err(WriterError::OutOfRange {
                        what: "lost events count",
                        value: n,
                        max: u64::from(u32::MAX),
                    });
                }
                let reserved = self.reserved();
                if self.used + self.long_size > self.capacity() && reserved == 0 {
                    return Err(WriterError::PageFull {
                        needed: self.long_size,
                        available: self.capacity() - self.used,
                    });
                }
                self.missed = Missed::Stored(n);
            }
        }
        Ok(())
    }

    /// Clears the missed-events flags.
    pub fn clear_missed_events(&mut self) {
        self.missed = Missed::None;
    }

    /// Writes `value` as the raw `commit` word (flags included) instead of
    /// the computed one: for building malformed pages.
    pub fn force_commit(&mut self, value: u64) {
        self.commit_override = Some(value);
    }

    /// The `commit` word [`PageBuilder::finish`] writes.
    pub fn commit_word(&self) -> u64 {
        if let Some(v) = self.commit_override {
            return v;
        }
        let flags = match self.missed {
            Missed::None => 0,
            Missed::Unknown => MISSED_EVENTS,
            Missed::Stored(_) => MISSED_EVENTS | MISSED_STORED,
        };
        self.used as u64 | flags
    }

    /// Fills in the page header (and the stored lost-events count) and
    /// returns the complete page.
    pub fn finish(&mut self) -> &[u8] {
        let e = self.endian;
        self.page[..8].copy_from_slice(&e.u64_bytes(self.timestamp));
        let commit = self.commit_word();
        let hdr = self.header_len();
        if self.long_size == 8 {
            self.page[8..16].copy_from_slice(&e.u64_bytes(commit));
        } else {
            self.page[8..12].copy_from_slice(&e.u32_bytes(commit as u32));
        }
        if let Missed::Stored(n) = self.missed {
            let pos = hdr + self.used;
            if self.long_size == 8 {
                self.page[pos..pos + 8].copy_from_slice(&e.u64_bytes(n));
            } else {
                self.page[pos..pos + 4].copy_from_slice(&e.u32_bytes(n as u32));
            }
        }
        &self.page
    }

    /// [`PageBuilder::finish`], returning an owned copy.
    pub fn into_bytes(mut self) -> Vec<u8> {
        self.finish();
        self.page
    }

    fn reserved(&self) -> usize {
        match self.missed {
            Missed::Stored(_) => self.long_size,
            _ => 0,
        }
    }

    fn check_room(&self, len: usize) -> WriterResult<()> {
        let available = self.capacity().saturating_sub(self.used + self.reserved());
        if len > available {
            return Err(WriterError::PageFull {
                needed: len,
                available,
            });
        }
        Ok(())
    }

    /// The event header word: kernel `struct ring_buffer_event` bitfields,
    /// allocated from the LSB on little-endian and from the MSB on big-endian.
    #[inline]
    fn word(&self, type_len: u8, delta: u32) -> u32 {
        match self.endian {
            Endian::Little => u32::from(type_len) | (delta << 5),
            Endian::Big => (u32::from(type_len) << 27) | delta,
        }
    }

    #[inline]
    fn put_u32(&mut self, pos: usize, v: u32) {
        self.page[pos..pos + 4].copy_from_slice(&self.endian.u32_bytes(v));
    }
}

fn check_delta(delta: u32) -> WriterResult<()> {
    if delta > MAX_DELTA {
        return Err(WriterError::OutOfRange {
            what: "time delta",
            value: u64::from(delta),
            max: u64::from(MAX_DELTA),
        });
    }
    Ok(())
}

#[inline]
pub(crate) fn pad4(n: usize) -> usize {
    (n + 3) & !3
}

#[cfg(test)]
mod tests {
    use super::*;

    fn le_u32(p: &[u8], at: usize) -> u32 {
        Endian::Little.read_u32(p, at).unwrap()
    }

    #[test]
    fn short_and_long_forms_little_endian() {
        let mut b = PageBuilder::new(Endian::Little, 8, 4096).unwrap();
        b.set_timestamp(1000);
        b.push_data(0, &[1, 2, 3, 4, 5]).unwrap();
        b.push_data(7, &[9; 112]).unwrap();
        b.push_data(3, &[8; 113]).unwrap();
        b.push_data_long(2, &[7; 4]).unwrap();
        b.push_data(1, &[]).unwrap();
        let used = 12 + 116 + 124 + 12 + 8;
        assert_eq!(b.used(), used);
        let p = b.finish().to_vec();
        assert_eq!(Endian::Little.read_u64(&p, 0), Some(1000));
        assert_eq!(Endian::Little.read_u64(&p, 8), Some(used as u64));
        assert_eq!(le_u32(&p, 16), 2);
        assert_eq!(&p[20..28], &[1, 2, 3, 4, 5, 0, 0, 0]);
        assert_eq!(le_u32(&p, 28), 28 | (7 << 5));
        assert_eq!(le_u32(&p, 144), 3 << 5);
        assert_eq!(le_u32(&p, 148), 116 + 4);
        assert_eq!(le_u32(&p, 268), 2 << 5);
        assert_eq!(le_u32(&p, 272), 8);
        assert_eq!(le_u32(&p, 280), 1 | (1 << 5));
    }

    #[test]
    fn big_endian_word_and_long4_header() {
        let mut b = PageBuilder::new(Endian::Big, 4, 4096).unwrap();
        assert_eq!(b.header_len(), 12);
        b.set_timestamp(0x0102_0304_0506_0708);
        b.push_data(5, &[0xaa; 8]).unwrap();
        b.push_time_extend((3 << 27) | 9).unwrap();
        b.push_time_stamp((77 << 27) | 1).unwrap();
        let p = b.finish().to_vec();
        assert_eq!(&p[..8], &[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(Endian::Big.read_u32(&p, 8), Some(28));
        assert_eq!(Endian::Big.read_u32(&p, 12), Some((2 << 27) | 5));
        assert_eq!(Endian::Big.read_u32(&p, 24), Some((30 << 27) | 9));
        assert_eq!(Endian::Big.read_u32(&p, 28), Some(3));
        assert_eq!(Endian::Big.read_u32(&p, 32), Some((31 << 27) | 1));
        assert_eq!(Endian::Big.read_u32(&p, 36), Some(77));
    }

    #[test]
    fn padding_missed_and_full() {
        let mut b = PageBuilder::new(Endian::Little, 8, 256).unwrap();
        assert_eq!(b.capacity(), 240);
        b.push_padding(4, 12).unwrap();
        assert!(b.push_padding(0, 12).is_err());
        assert!(b.push_padding(1, 6).is_err());
        b.set_missed_events(Some(1234)).unwrap();
        assert_eq!(b.remaining(), 240 - 16 - 8);
        let err = b.push_data(0, &[0; 220]).unwrap_err();
        assert!(matches!(
            err,
            WriterError::PageFull {
                needed: 228,
                available: 216
            }
        ));
        b.push_null_padding().unwrap();
        let p = b.finish().to_vec();
        let commit = Endian::Little.read_u64(&p, 8).unwrap();
        assert_eq!(commit, 20 | MISSED_EVENTS | MISSED_STORED);
        assert_eq!(le_u32(&p, 16), 29 | (4 << 5));
        assert_eq!(le_u32(&p, 20), 12);
        assert_eq!(le_u32(&p, 32), 29);
        assert_eq!(Endian::Little.read_u64(&p, 36), Some(1234));
        b.reset(5);
        b.set_missed_events(None).unwrap();
        let p = b.finish().to_vec();
        assert_eq!(Endian::Little.read_u64(&p, 8), Some(MISSED_EVENTS));
        assert!(p[16..].iter().all(|&x| x == 0));
    }

    #[test]
    fn rejects_bad_arguments() {
        assert!(PageBuilder::new(Endian::Little, 2, 4096).is_err());
        assert!(PageBuilder::new(Endian::Little, 8, 16).is_err());
        let mut b = PageBuilder::new(Endian::Little, 4, 4096).unwrap();
        assert!(b.push_data(MAX_DELTA + 1, &[0; 4]).is_err());
        assert!(b.push_time_extend(1 << 59).is_err());
        assert!(b.set_missed_events(Some(1 << 32)).is_err());
        assert!(b.push_raw(32, 0, None, &[]).is_err());
        b.push_raw(0, 1, Some(6), &[1, 2]).unwrap();
        assert_eq!(b.used(), 12);
        b.force_commit(0xffff);
        let p = b.finish().to_vec();
        assert_eq!(le_u32(&p, 8), 0xffff);
    }
}
