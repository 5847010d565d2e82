//! One CPU's ring-buffer pages decoded into records.
//!
//! ```text
//! page:  | u64 time_stamp | long commit | event, event, ... | [long lost] |
//!          commit bits 0..26: data length; bit 31: events were lost before
//!          this page; bit 30: the lost count is stored after the data.
//! event: | u32 type_len:5, time_delta:27 | array[] ... |
//!          (on big-endian files type_len is the top 5 bits)
//!          type_len 1..28: data of type_len*4 bytes follows
//!          0: array[0] = length + 4, data at +8
//!          29: padding (delta 0: rest of page empty), 30: time extend,
//!          31: absolute time stamp
//! ```

use super::Record;
use super::TraceDat;
use super::meta::{Chunk, Compression, CpuData, Source};
use super::time::CpuClock;
use crate::endian::Endian;
use crate::error::{Error, ErrorKind, Result};
use crate::format::HeaderPage;
use crate::types::{Cpu, FileOffset, Timestamp};

/// Decompresses the chunks of one CPU stream for [`CpuRecords`]. The default
/// decompresses each chunk inline when the stream reaches it; a caller may
/// install a loader that decompresses ahead on other threads (chunks are
/// independent). The parsers themselves never spawn threads.
pub trait ChunkLoader<'t>: Send + std::fmt::Debug {
    /// Fills `out` (cleared first) with chunk `index` of `chunks`, which the
    /// stream asks for in increasing order. Errors name the chunk's offset.
    fn load(
        &mut self,
        chunks: &[Chunk<'t>],
        index: usize,
        compression: &Compression,
        out: &mut Vec<u8>,
    ) -> Result<()>;
}

const COMMIT_MASK: u64 = (1 << 27) - 1;
const MISSED_EVENTS: u64 = 1 << 31;
const MISSED_STORED: u64 = 1 << 30;
const TS_SHIFT: u32 = 27;

/// Events the kernel dropped before a page (ring buffer overrun).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LostEvents {
    /// The CPU.
    pub cpu: Cpu,
    /// Buffer index.
    pub buffer: usize,
    /// Timestamp of the page after the loss (the loss happened before it).
    pub ts: Timestamp,
    /// How many, when the kernel stored the count.
    pub count: Option<u64>,
    /// File offset of the page header (or of its chunk when compressed).
    pub offset: FileOffset,
}

/// An item of a CPU stream: a record, or a note that events were lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Item<'a> {
    /// An event record.
    Record(Record<'a>),
    /// Events were lost before the following records.
    Lost(LostEvents),
}

impl Item<'_> {
    /// Timestamp of the item.
    pub fn ts(&self) -> Timestamp {
        match self {
            Item::Record(r) => r.ts,
            Item::Lost(l) => l.ts,
        }
    }
}

/// The ring-buffer page a stream's current item is on, to come back to with
/// [`CpuRecords::seek`] (an interactive viewer keeps a few of these instead
/// of the records).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PagePos {
    /// Index of the compressed chunk holding the page (0 when uncompressed).
    pub chunk: usize,
    /// Offset of the page in its block (the CPU's data or the chunk).
    pub page: usize,
}

/// The item a stream stands on. `Copy`, so that replacing it per record is
/// a store (the error of [`Current::Error`] is kept in `CpuRecords::error`).
#[derive(Debug, Clone, Copy)]
enum Current {
    None,
    Record {
        ts: u64,
        start: usize,
        len: usize,
        off: u64,
    },
    Lost {
        ts: u64,
        count: Option<u64>,
        off: u64,
    },
    /// The error in `CpuRecords::error`.
    Error,
}

/// Iterates one CPU's records in order.
///
/// Call [`CpuRecords::next_item`] until it returns `None`. An `Err` item is
/// a problem in the data; after a corrupt page the stream goes on with the
/// next page, after truncation or an undecodable chunk it ends.
#[derive(Debug)]
pub struct CpuRecords<'t> {
    endian: Endian,
    hp: HeaderPage,
    page_size: usize,
    adjust: CpuClock<'t>,
    /// The CPU.
    pub cpu: Cpu,
    /// The buffer index.
    pub buffer: usize,
    buffer_name: &'t str,
    compression: &'t Compression,
    source: &'t Source<'t>,
    /// Bytes of the current block: the raw data, or the decompressed chunk.
    chunk_buf: Vec<u8>,
    chunk_idx: usize,
    /// Who decompresses chunks (inline unless a caller installed a loader).
    loader: Option<Box<dyn ChunkLoader<'t> + 't>>,
    /// File offset of the current block's first byte (raw) or of the chunk.
    block_off: u64,
    raw_block: bool,
    /// Offset within the block of the next page to load.
    next_page: usize,
    /// Current page: start in block, decode position, end of data.
    page_start: usize,
    pos: usize,
    end: usize,
    in_page: bool,
    ts: u64,
    current: Current,
    /// The error of `Current::Error` (stale otherwise).
    error: Option<Error>,
    started: bool,
    finished: bool,
    /// Set when the last page of a truncated block is partial.
    cut_pending: Option<Error>,
    /// Whether the truncation of this CPU's data was reported.
    cut_reported: bool,
}

impl<'t> CpuRecords<'t> {
    pub(crate) fn new(trace: &'t TraceDat<'t>, buffer: usize, cpu: &'t CpuData<'t>) -> Self {
        let b = &trace.buffers[buffer];
        let mut s = CpuRecords {
            endian: trace.endian,
            hp: trace.header_page,
            page_size: b.page_size as usize,
            adjust: CpuClock::new(
                trace.options.time,
                trace
                    .options
                    .time_shift
                    .as_ref()
                    .map(|t| (t.flags, t.samples(cpu.cpu))),
            ),
            cpu: cpu.cpu,
            buffer,
            buffer_name: &b.name,
            compression: &trace.compression,
            source: &cpu.source,
            chunk_buf: Vec::new(),
            chunk_idx: 0,
            loader: None,
            block_off: cpu.offset,
            raw_block: true,
            next_page: 0,
            page_start: 0,
            pos: 0,
            end: 0,
            in_page: false,
            ts: 0,
            current: Current::None,
            error: None,
            started: false,
            finished: false,
            cut_pending: None,
            cut_reported: false,
        };
        if s.page_size <= s.hp.data_offset {
            s.error = Some(s.err(Error::invalid("page size", s.page_size, cpu.offset)));
            s.current = Current::Error;
            s.finished = true;
        }
        if let Source::Chunks { .. } = cpu.source {
            s.raw_block = false;
        }
        s
    }

    /// Installs the loader that decompresses this stream's chunks (see
    /// [`ChunkLoader`]); call before the first item is read.
    pub fn set_chunk_loader(&mut self, loader: Box<dyn ChunkLoader<'t> + 't>) {
        self.loader = Some(loader);
    }

    /// The compressed chunks of this stream (empty when uncompressed).
    pub fn chunks(&self) -> &'t [Chunk<'t>] {
        match self.source {
            Source::Chunks { chunks, .. } => chunks,
            _ => &[],
        }
    }

    fn err(&self, e: Error) -> Error {
        e.with_cpu(self.cpu).with_buffer(self.buffer_name)
    }

    /// Where the file was cut inside this CPU's data, if it was.
    fn cut(&self) -> Option<u64> {
        match self.source {
            Source::Raw { cut, .. } | Source::Recovered { cut, .. } => *cut,
            Source::Chunks { .. } => None,
        }
    }

    /// The current block's bytes.
    #[inline]
    fn block(&self) -> &[u8] {
        match self.source {
            Source::Raw { data, .. } | Source::Recovered { data, .. } => data,
            Source::Chunks { .. } => &self.chunk_buf,
        }
    }

    /// Positions a stream not yet read on its first item, or keeps the
    /// error it was made or sought onto (a page size the data cannot hold,
    /// a chunk that does not decompress): that error is its first item.
    #[inline]
    fn start(&mut self) {
        self.started = true;
        if matches!(self.current, Current::None) {
            self.advance();
        }
    }

    /// The timestamp of the item [`CpuRecords::current`] would return.
    pub fn peek_ts(&mut self) -> Option<u64> {
        if !self.started {
            self.start();
        }
        match &self.current {
            Current::None => None,
            Current::Record { ts, .. } | Current::Lost { ts, .. } => Some(self.adjust.apply(*ts)),
            // Errors sort first so they are reported where they happen.
            Current::Error => Some(0),
        }
    }

    /// The current item without consuming it.
    #[inline(always)]
    pub fn current(&self) -> Option<Result<Item<'_>>> {
        match self.current {
            Current::None => None,
            Current::Error => self.error.clone().map(Err),
            Current::Record {
                ts,
                start,
                len,
                off,
            } => Some(Ok(Item::Record(self.record(
                self.block(),
                ts,
                start,
                len,
                off,
            )))),
            Current::Lost { ts, count, off } => Some(Ok(Item::Lost(LostEvents {
                cpu: self.cpu,
                buffer: self.buffer,
                ts: Timestamp(self.adjust.apply(ts)),
                count,
                offset: FileOffset(off),
            }))),
        }
    }

    /// The record of raw timestamp `ts` whose payload is `start..start +
    /// len` of `blk` (the current block) and whose header is at file offset
    /// `off`.
    #[inline(always)]
    fn record<'b>(&self, blk: &'b [u8], ts: u64, start: usize, len: usize, off: u64) -> Record<'b> {
        Record {
            ts: Timestamp(self.adjust.apply(ts)),
            cpu: self.cpu,
            buffer: self.buffer,
            payload: &blk[start..start + len],
            offset: FileOffset(off),
        }
    }

    /// Moves past the current item (on a stream not yet read: to its
    /// first item).
    #[inline(always)]
    pub fn consume(&mut self) {
        if self.started {
            self.advance();
        } else {
            self.start();
        }
    }

    /// The next item, or `None` at the end of the CPU's data.
    #[allow(clippy::should_implement_trait)]
    pub fn next_item(&mut self) -> Option<Result<Item<'_>>> {
        self.consume();
        self.current()
    }

    /// The page of the current item: `None` before the first item, at the
    /// end, or on an error.
    pub fn page_pos(&self) -> Option<PagePos> {
        match self.current {
            Current::Record { .. } | Current::Lost { .. } => Some(PagePos {
                chunk: if self.raw_block {
                    0
                } else {
                    self.chunk_idx.saturating_sub(1)
                },
                page: self.page_start,
            }),
            Current::None | Current::Error => None,
        }
    }

    /// Restarts the stream at the start of the page `p` (from
    /// [`CpuRecords::page_pos`] on a stream of the same CPU): the next item
    /// is the page's first (its lost-events note, if it has one). A
    /// compressed chunk is decompressed again (by the installed
    /// [`ChunkLoader`], if any, which must then accept any index). A
    /// position past the data ends the stream.
    pub fn seek(&mut self, p: PagePos) {
        self.current = Current::None;
        self.finished = false;
        self.in_page = false;
        self.cut_pending = None;
        self.started = false;
        if !self.raw_block {
            self.chunk_idx = p.chunk;
            if !self.load_chunk() {
                self.finished = true;
                return;
            }
            if matches!(self.current, Current::Error) {
                return;
            }
        }
        self.next_page = p.page;
    }

    /// Reads the rest of the stream and counts records, lost-event notes and
    /// errors (a convenience for tests and statistics).
    pub fn count_all(&mut self) -> (u64, u64, Vec<Error>) {
        let (mut r, mut l, mut e) = (0, 0, Vec::new());
        while let Some(it) = self.next_item() {
            match it {
                Ok(Item::Record(_)) => r += 1,
                Ok(Item::Lost(_)) => l += 1,
                Err(x) => e.push(x),
            }
        }
        (r, l, e)
    }

    fn file_off(&self, pos: usize) -> u64 {
        if self.raw_block {
            self.block_off + pos as u64
        } else {
            self.block_off
        }
    }

    fn set_error(&mut self, e: Error, fatal: bool) {
        self.error = Some(self.err(e));
        self.current = Current::Error;
        if fatal {
            self.finished = true;
        }
    }

    /// Loads the next chunk into `chunk_buf`. Returns false at the end.
    fn load_chunk(&mut self) -> bool {
        let Source::Chunks { chunks, error } = self.source else {
            return false;
        };
        if self.chunk_idx >= chunks.len() {
            if let Some(e) = error.clone() {
                self.set_error(e, true);
                return true;
            }
            return false;
        }
        let ch = chunks[self.chunk_idx];
        let index = self.chunk_idx;
        self.chunk_idx += 1;
        self.block_off = ch.offset;
        let mut buf = std::mem::take(&mut self.chunk_buf);
        let r = match self.loader.as_mut() {
            Some(l) => l.load(chunks, index, self.compression, &mut buf),
            None => ch.decompress(self.compression, &mut buf),
        };
        self.chunk_buf = buf;
        if let Err(e) = r {
            self.set_error(e, true);
            return true;
        }
        self.next_page = 0;
        true
    }

    /// Moves to the next item: the next record of the current page inline,
    /// anything else (a new page, a chunk, the end, an error) out of line.
    #[inline(always)]
    fn advance(&mut self) {
        self.current = Current::None;
        if self.finished {
            return;
        }
        if self.in_page && self.decode_one() {
            return;
        }
        self.advance_slow();
    }

    #[inline(never)]
    fn advance_slow(&mut self) {
        loop {
            if self.in_page {
                if self.decode_one() {
                    return;
                }
                continue;
            }
            if let Some(e) = self.cut_pending.take() {
                self.cut_reported = true;
                self.set_error(e, true);
                return;
            }
            // Load the next page.
            let blen = self.block().len();
            if self.next_page >= blen {
                if self.raw_block {
                    if let (Some(at), false) = (self.cut(), self.cut_reported) {
                        // The file ends before this CPU's data does.
                        self.cut_reported = true;
                        self.set_error(Error::truncated("CPU data", 1, at), true);
                        return;
                    }
                    self.finished = true;
                    return;
                }
                if !self.load_chunk() {
                    self.finished = true;
                    return;
                }
                if matches!(self.current, Current::Error) {
                    return;
                }
                continue;
            }
            let ps = self.page_start_load();
            if let Some(done) = ps {
                if done {
                    return;
                }
                continue;
            }
        }
    }

    /// Starts decoding the page at `next_page`. Returns `Some(true)` when an
    /// item (lost events or an error) is current, `Some(false)` to go on,
    /// `None` when the page was entered.
    fn page_start_load(&mut self) -> Option<bool> {
        let start = self.next_page;
        let blen = self.block().len();
        let avail = blen - start;
        self.next_page = start.saturating_add(self.page_size);
        let hdr = self.hp.data_offset;
        let page_off = self.file_off(start);
        let truncated_page = avail < self.page_size;
        let cut = match self.source {
            Source::Raw { cut, .. } | Source::Recovered { cut, .. } => *cut,
            Source::Chunks { .. } => None,
        };
        if truncated_page && cut.is_none() && self.raw_block {
            // A short last page without truncation: trailing bytes.
            if avail < hdr {
                self.set_error(
                    Error::truncated("ring-buffer page header", (hdr - avail) as u64, page_off),
                    true,
                );
                return Some(true);
            }
        }
        if avail < hdr {
            let at = cut.unwrap_or(page_off + avail as u64);
            self.set_error(
                Error::truncated("ring-buffer page header", (hdr - avail) as u64, at),
                true,
            );
            return Some(true);
        }
        let e = self.endian;
        let blk = self.block();
        let ts = e
            .read_u64(blk, start + self.hp.timestamp_offset)
            .unwrap_or(0);
        let commit = e
            .read_uint(blk, start + self.hp.commit_offset, self.hp.commit_size)
            .unwrap_or(0);
        let len = (commit & COMMIT_MASK) as usize;
        let lost_count = if commit & MISSED_STORED != 0 {
            e.read_uint(blk, start + hdr + len, self.hp.commit_size)
        } else {
            None
        };
        if len > self.page_size - hdr {
            self.set_error(
                Error::new(
                    ErrorKind::CorruptPage(format!(
                        "commit length {len} exceeds the page data size {}",
                        self.page_size - hdr
                    )),
                    page_off + self.hp.commit_offset as u64,
                ),
                false,
            );
            return Some(true);
        }
        self.page_start = start;
        self.pos = start + hdr;
        self.end = start + hdr + len;
        if self.end > blen {
            // The file ends inside this page's data.
            let at = cut.unwrap_or(self.file_off(blen));
            self.cut_pending = Some(self.err(Error::truncated(
                "ring-buffer page data",
                (self.end - blen) as u64,
                at,
            )));
            self.end = blen;
        } else if truncated_page && cut.is_some() {
            let at = cut.unwrap_or(0);
            self.cut_pending = Some(self.err(Error::truncated(
                "ring-buffer page",
                (self.page_size - avail) as u64,
                at,
            )));
        }
        self.ts = ts;
        self.in_page = true;
        if commit & MISSED_EVENTS != 0 {
            self.current = Current::Lost {
                ts,
                count: lost_count,
                off: page_off,
            };
            return Some(true);
        }
        None
    }

    /// Decodes the next event of the current page. Returns true when a record
    /// or error is current; false when the page ended.
    #[inline(always)]
    fn decode_one(&mut self) -> bool {
        let (mut pos, mut ts) = (self.pos, self.ts);
        let step = decode_next(self.endian, self.block(), self.end, &mut pos, &mut ts);
        (self.pos, self.ts) = (pos, ts);
        match step {
            Step::Record { hdr, start, len } => {
                self.current = Current::Record {
                    ts,
                    start,
                    len,
                    off: self.file_off(hdr),
                };
                true
            }
            step => self.page_problem(step),
        }
    }

    /// What ends the records of a page: its end, or an error in it.
    #[cold]
    fn page_problem(&mut self, step: Step) -> bool {
        match step {
            Step::Record { .. } | Step::PageEnd => {
                self.in_page = false;
                false
            }
            Step::Short { pos, needed } => self.short_event(pos, needed),
            Step::BadLength { pos, len } => {
                let off = self.file_off(pos);
                self.in_page = false;
                self.set_error(
                    Error::new(
                        ErrorKind::CorruptPage(format!("record length {len} below 4")),
                        off,
                    ),
                    false,
                );
                true
            }
        }
    }

    /// Calls `f` with every item [`CpuRecords::next_item`] would return, in
    /// order, until the stream ends or `f` returns false; the item `f` was
    /// given last is then the current one, as after `next_item`. The
    /// records of a page are decoded in one loop, without going through
    /// the stream's state for each: the fast way to read a whole stream.
    pub fn for_each_item(&mut self, mut f: impl FnMut(Result<Item<'_>>) -> bool) {
        loop {
            if self.started && !self.finished && self.in_page {
                let (e, end) = (self.endian, self.end);
                let blk = self.block();
                let (mut pos, mut ts) = (self.pos, self.ts);
                let step = loop {
                    match decode_next(e, blk, end, &mut pos, &mut ts) {
                        Step::Record { hdr, start, len } => {
                            let off = self.file_off(hdr);
                            if !f(Ok(Item::Record(self.record(blk, ts, start, len, off)))) {
                                (self.pos, self.ts) = (pos, ts);
                                self.current = Current::Record {
                                    ts,
                                    start,
                                    len,
                                    off,
                                };
                                return;
                            }
                        }
                        step => break step,
                    }
                };
                (self.pos, self.ts) = (pos, ts);
                if !self.page_problem(step) {
                    // The page ended: on to the next one.
                    self.advance();
                }
            } else {
                self.consume();
            }
            match self.current() {
                None => return,
                Some(it) => {
                    if !f(it) {
                        return;
                    }
                }
            }
        }
    }

    /// An event runs past the page's data: truncation if the file was cut
    /// there, else a corrupt page (the stream goes on with the next page).
    fn short_event(&mut self, pos: usize, needed: usize) -> bool {
        self.in_page = false;
        if let Some(e) = self.cut_pending.take() {
            self.cut_reported = true;
            self.set_error(e, true);
            return true;
        }
        let off = self.file_off(pos);
        self.set_error(
            Error::new(
                ErrorKind::CorruptPage(format!(
                    "event header at page offset {} runs {needed} bytes past the committed data",
                    pos - self.page_start
                )),
                off,
            ),
            false,
        );
        true
    }
}

/// One step of a page's decoding (see [`decode_next`]).
#[derive(Debug, Clone, Copy)]
enum Step {
    /// A record: its header at `hdr`, its payload at `start..start + len`.
    Record {
        hdr: usize,
        start: usize,
        len: usize,
    },
    /// The page's data ended (or null padding fills the rest).
    PageEnd,
    /// The event at `pos` runs `needed` bytes past the page's data.
    Short { pos: usize, needed: usize },
    /// The record at `pos` gives a length below 4.
    BadLength { pos: usize, len: u32 },
}

/// Decodes events of a page from `pos` up to `end` until one is a record or
/// the page ends or breaks: time extends and padding move `pos` and `ts` on,
/// a record moves them past it; a problem leaves them at the event.
#[inline(always)]
fn decode_next(e: Endian, blk: &[u8], end: usize, pos: &mut usize, ts: &mut u64) -> Step {
    loop {
        let p = *pos;
        if p >= end {
            return Step::PageEnd;
        }
        let Some(w) = e.read_u32(blk, p) else {
            return Step::Short { pos: p, needed: 4 };
        };
        if p + 4 > end {
            return Step::Short { pos: p, needed: 4 };
        }
        let (tl, delta) = if e.is_big() {
            (w >> 27, u64::from(w & 0x07ff_ffff))
        } else {
            (w & 0x1f, u64::from(w >> 5))
        };
        let word1 = || e.read_u32(blk, p + 4).filter(|_| p + 8 <= end);
        // A data record: its payload and where the next event starts.
        let (start, len, next) = match tl {
            29 => {
                if delta == 0 {
                    // Null padding: the rest of the page is empty.
                    return Step::PageEnd;
                }
                let Some(len) = word1() else {
                    return Step::Short { pos: p, needed: 8 };
                };
                *ts = ts.wrapping_add(delta);
                *pos = p.saturating_add(4).saturating_add(len as usize);
                continue;
            }
            30 => {
                let Some(ext) = word1() else {
                    return Step::Short { pos: p, needed: 8 };
                };
                *ts = ts.wrapping_add((u64::from(ext) << TS_SHIFT).wrapping_add(delta));
                *pos = p + 8;
                continue;
            }
            31 => {
                let Some(ext) = word1() else {
                    return Step::Short { pos: p, needed: 8 };
                };
                let abs = (u64::from(ext) << TS_SHIFT).wrapping_add(delta);
                *ts = abs | (*ts & (0xf8u64 << 56));
                *pos = p + 8;
                continue;
            }
            0 => {
                let Some(a0) = word1() else {
                    return Step::Short { pos: p, needed: 8 };
                };
                let Some(len) = (a0 as usize).checked_sub(4) else {
                    return Step::BadLength { pos: p, len: a0 };
                };
                (p + 8, len, p + 8 + ((len + 3) & !3))
            }
            _ => {
                let len = tl as usize * 4;
                (p + 4, len, p + 4 + len)
            }
        };
        if start + len > end {
            return Step::Short {
                pos: p,
                needed: start + len - end,
            };
        }
        *ts = ts.wrapping_add(delta);
        *pos = next;
        return Step::Record { hdr: p, start, len };
    }
}
