//! The writer: its public API, the packing of records into pages and
//! chunks, and the bookkeeping of buffers and CPUs.

use super::layout::{OPT_BUFFER, SEC_STRINGS, len_u32, push_str};
use super::out::{Codec, Out};
use super::page::{MAX_DELTA, MAX_EXTEND, PageBuilder};
use super::spec::{FileVersion, TraceDatSpec};
use super::{WriterError, WriterResult};
use crate::types::{Cpu, Timestamp};
use std::io::{Cursor, Seek, Write};

/// Pages per compression chunk (trace-cmd's `PAGES_IN_CHUNK`).
const PAGES_IN_CHUNK: usize = 10;

/// Streams a trace.dat file to `W`.
///
/// [`TraceDatWriter::new`] writes the header and metadata at once. Then each
/// buffer's CPUs are written in order: the top buffer first, then instances
/// in declaration order; within a buffer, CPUs in increasing order. A CPU is
/// written with [`TraceDatWriter::write_cpu`] from an iterator, or with
/// [`TraceDatWriter::begin_cpu`], [`TraceDatWriter::push`] and
/// [`TraceDatWriter::end_cpu`]. CPUs and buffers not written are empty.
/// [`TraceDatWriter::finish`] completes the file; dropping the writer
/// before leaves an incomplete file.
///
/// Offsets written in the file (v6 CPU table, v7 section sizes, chunk
/// counts, options chain) are patched by seeking back, so `W` must start at
/// position 0 and support seeking over what was written.
pub struct TraceDatWriter<W: Write + Seek> {
    pub(super) out: Out<W>,
    pub(super) spec: TraceDatSpec,
    pub(super) codec: Option<Codec>,
    pub(super) cpu_count: u32,
    pub(super) strings: Vec<u8>,
    /// v7: where the next options section's offset goes (the header's field,
    /// then the last DONE option's).
    pub(super) next_options_at: u64,
    /// v6: per buffer, where the BUFFER option's offset field is.
    pub(super) v6_buffer_option: Vec<Option<u64>>,
    next_buffer: usize,
    cur: Option<BufState>,
    cpu: Option<CpuState>,
    page: PageBuilder,
    chunk: Vec<u8>,
    pages_in_chunk: usize,
    pub(super) zbuf: Vec<u8>,
}

struct BufState {
    index: usize,
    /// v6: the CPU table; v7: the section's size field.
    table_at: u64,
    /// CPUs below this have their entries written (v6) or were passed.
    next_cpu: u32,
    /// (cpu, offset, size) of the CPUs with data.
    cpus: Vec<(u32, u64, u64)>,
}

#[derive(Clone, Copy)]
struct CpuState {
    cpu: u32,
    /// Where the data starts, once the first page is out.
    start: Option<u64>,
    last_ts: Option<u64>,
    lost: Lost,
    chunks: u32,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Lost {
    None,
    Unknown,
    Count(u64),
}

impl<W: Write + Seek> TraceDatWriter<W> {
    /// Checks `spec`, then writes the initial header and all metadata to
    /// `out` (which must be at position 0).
    pub fn new(out: W, mut spec: TraceDatSpec) -> WriterResult<Self> {
        spec.validate()?;
        let codec = Codec::new(spec.compression, spec.level)?;
        let page = PageBuilder::new(spec.endian, spec.long_size, spec.page_size as usize)?;
        let mut w = TraceDatWriter {
            out: Out::new(out)?,
            cpu_count: spec.effective_cpu_count(),
            v6_buffer_option: vec![None; spec.buffers.len()],
            spec,
            codec,
            strings: Vec::new(),
            next_options_at: 0,
            next_buffer: 0,
            cur: None,
            cpu: None,
            page,
            chunk: Vec::new(),
            pages_in_chunk: 0,
            zbuf: Vec::new(),
        };
        w.write_initial_header()?;
        match w.spec.version {
            FileVersion::V6 => w.write_v6_metadata()?,
            FileVersion::V7 => w.write_v7_metadata()?,
        }
        Ok(w)
    }

    /// Bytes written so far.
    pub fn position(&self) -> u64 {
        self.out.pos()
    }

    /// Writes one CPU of `buffer` from `records` (timestamp, payload), which
    /// must not go back in time. Same as [`TraceDatWriter::begin_cpu`], a
    /// [`TraceDatWriter::push`] per record and [`TraceDatWriter::end_cpu`].
    pub fn write_cpu<I, P>(&mut self, buffer: &str, cpu: Cpu, records: I) -> WriterResult<()>
    where
        I: IntoIterator<Item = (Timestamp, P)>,
        P: AsRef<[u8]>,
    {
        self.begin_cpu(buffer, cpu)?;
        for (ts, payload) in records {
            self.push(ts, payload.as_ref())?;
        }
        self.end_cpu()
    }

    /// Starts the data of `cpu` in `buffer`, ending the CPU in progress.
    /// Fails when that buffer or CPU comes before one already started.
    pub fn begin_cpu(&mut self, buffer: &str, cpu: Cpu) -> WriterResult<()> {
        let index = self
            .spec
            .buffers
            .iter()
            .position(|b| b.name == buffer)
            .ok_or_else(|| WriterError::Usage(format!("buffer {buffer:?} was not declared")))?;
        let cpus = self.spec.buffers[index].cpus;
        if cpu.0 >= cpus {
            return Err(WriterError::Usage(format!(
                "buffer {buffer:?} has {cpus} CPUs, no CPU {cpu}"
            )));
        }
        self.end_cpu()?;
        if let Some(cur) = &self.cur {
            if index < cur.index || (index == cur.index && cpu.0 < cur.next_cpu) {
                return Err(WriterError::Usage(format!(
                    "buffer {buffer:?} CPU {cpu} comes after data already written"
                )));
            }
            if index > cur.index {
                self.end_buffer()?;
            }
        } else if index < self.next_buffer {
            return Err(WriterError::Usage(format!(
                "buffer {buffer:?} was already written"
            )));
        }
        while self.cur.is_none() {
            let next = self.next_buffer;
            self.start_buffer(next)?;
            if next < index {
                self.end_buffer()?;
            }
        }
        self.skip_cpus_to(cpu.0)?;
        self.cpu = Some(CpuState {
            cpu: cpu.0,
            start: None,
            last_ts: None,
            lost: Lost::None,
            chunks: 0,
        });
        Ok(())
    }

    /// Appends a record to the CPU in progress. Timestamps must not
    /// decrease. Records go into the current page `delta` ns after the
    /// previous one, after a `TIME_EXTEND` when the delta needs more than 27
    /// bits, or into a new page (time stamp = the record's) when full.
    pub fn push(&mut self, ts: Timestamp, payload: &[u8]) -> WriterResult<()> {
        let mut c = self
            .cpu
            .ok_or_else(|| WriterError::Usage("push() without begin_cpu()".into()))?;
        let ts = ts.0;
        let len = PageBuilder::data_record_len(payload.len(), false);
        if len > self.page.capacity() {
            return Err(WriterError::RecordTooLarge {
                len,
                max: self.page.capacity(),
            });
        }
        let mut placed = false;
        if let Some(prev) = c.last_ts {
            if ts < prev {
                return Err(WriterError::TimestampOrder {
                    buffer: self.current_buffer_name(),
                    cpu: c.cpu,
                    ts,
                    prev,
                });
            }
            if !self.page.is_empty() {
                let delta = ts - prev;
                let room = self.page.remaining();
                if delta <= u64::from(MAX_DELTA) {
                    if len <= room {
                        self.page.push_data(delta as u32, payload)?;
                        placed = true;
                    }
                } else if delta <= MAX_EXTEND && len + 8 <= room {
                    self.page.push_time_extend(delta)?;
                    self.page.push_data(0, payload)?;
                    placed = true;
                }
            }
        }
        if !placed {
            self.flush_page(&mut c)?;
            self.page.reset(ts);
            match c.lost {
                Lost::None => {}
                Lost::Unknown => self.page.set_missed_events(None)?,
                Lost::Count(n) => {
                    self.page.set_missed_events(Some(n))?;
                    if len > self.page.remaining() {
                        // No room left to store the count: flag only.
                        self.page.set_missed_events(None)?;
                    }
                }
            }
            c.lost = Lost::None;
            self.page.push_data(0, payload)?;
        }
        c.last_ts = Some(ts);
        self.cpu = Some(c);
        Ok(())
    }

    /// Records that events were lost on the CPU in progress before the next
    /// record: the current page is closed and the next one flagged
    /// `MISSED_EVENTS`, with the count stored (`MISSED_STORED`) when given.
    /// Successive calls add up; a count lost at the end of a CPU is dropped,
    /// as there is no page to flag.
    pub fn push_lost_events(&mut self, count: Option<u64>) -> WriterResult<()> {
        let mut c = self
            .cpu
            .ok_or_else(|| WriterError::Usage("push_lost_events() without begin_cpu()".into()))?;
        match count {
            Some(n) if self.spec.long_size == 4 && n > u64::from(u32::MAX) => {
                return Err(WriterError::OutOfRange {
                    what: "lost events count",
                    value: n,
                    max: u64::from(u32::MAX),
                });
            }
            _ => {}
        }
        self.flush_page(&mut c)?;
        self.page.reset(0);
        c.lost = match (c.lost, count) {
            (Lost::None, Some(n)) => Lost::Count(n),
            (Lost::Count(a), Some(n)) => Lost::Count(a.saturating_add(n)),
            _ => Lost::Unknown,
        };
        self.cpu = Some(c);
        Ok(())
    }

    /// Appends a complete page (e.g. from [`PageBuilder::finish`]) to the CPU
    /// in progress, after closing the current page. Its content is not
    /// checked: the timestamps of the following records are only compared
    /// with the records pushed before it. Pending lost events are not applied
    /// to it.
    pub fn push_raw_page(&mut self, page: &[u8]) -> WriterResult<()> {
        let mut c = self
            .cpu
            .ok_or_else(|| WriterError::Usage("push_raw_page() without begin_cpu()".into()))?;
        if page.len() != self.spec.page_size as usize {
            return Err(WriterError::Usage(format!(
                "raw page of {} bytes in a file of {}-byte pages",
                page.len(),
                self.spec.page_size
            )));
        }
        self.flush_page(&mut c)?;
        self.page.reset(0);
        self.emit_page(&mut c, page)?;
        self.cpu = Some(c);
        Ok(())
    }

    /// Ends the CPU in progress (no-op when none is): flushes its last page
    /// and chunk and records its offset and size.
    pub fn end_cpu(&mut self) -> WriterResult<()> {
        let Some(mut c) = self.cpu.take() else {
            return Ok(());
        };
        self.flush_page(&mut c)?;
        self.page.reset(0);
        if self.pages_in_chunk > 0 {
            self.flush_chunk(&mut c)?;
        }
        let e = self.spec.endian;
        let (offset, size) = match c.start {
            Some(start) => {
                if self.codec.is_some() {
                    self.out.patch(start, &e.u32_bytes(c.chunks))?;
                }
                (start, self.out.pos() - start)
            }
            None => (self.aligned_pos(), 0),
        };
        let v6 = self.spec.version == FileVersion::V6;
        let Some(cur) = self.cur.as_mut() else {
            return Err(WriterError::Usage("CPU data outside a buffer".into()));
        };
        cur.next_cpu = c.cpu + 1;
        if size > 0 {
            cur.cpus.push((c.cpu, offset, size));
        }
        if v6 {
            let at = cur.table_at + u64::from(c.cpu) * 16;
            let mut entry = [0u8; 16];
            entry[..8].copy_from_slice(&e.u64_bytes(offset));
            entry[8..].copy_from_slice(&e.u64_bytes(size));
            self.out.patch(at, &entry)?;
        }
        Ok(())
    }

    /// Ends the data, writes the buffers not written yet (empty) and the
    /// trailing metadata, and returns the output.
    pub fn finish(mut self) -> WriterResult<W> {
        self.end_cpu()?;
        if self.cur.is_some() {
            self.end_buffer()?;
        }
        while self.next_buffer < self.spec.buffers.len() {
            let next = self.next_buffer;
            self.start_buffer(next)?;
            self.end_buffer()?;
        }
        if self.spec.version == FileVersion::V7 {
            let desc = self.add_string("strings");
            let strings = std::mem::take(&mut self.strings);
            self.write_meta_section(SEC_STRINGS, desc, &strings)?;
        }
        self.out.into_inner()
    }

    // ---------------------------------------------------------------- pages

    /// Sends the current page (if it holds anything) to the output or the
    /// compression chunk.
    fn flush_page(&mut self, c: &mut CpuState) -> WriterResult<()> {
        if self.page.is_empty() {
            return Ok(());
        }
        self.start_cpu_data(c)?;
        let page = self.page.finish();
        if self.codec.is_some() {
            self.chunk.extend_from_slice(page);
            self.pages_in_chunk += 1;
            if self.pages_in_chunk == PAGES_IN_CHUNK {
                self.flush_chunk(c)?;
            }
        } else {
            self.out.write(page)?;
        }
        Ok(())
    }

    /// Sends an external page to the output or the compression chunk.
    fn emit_page(&mut self, c: &mut CpuState, page: &[u8]) -> WriterResult<()> {
        self.start_cpu_data(c)?;
        if self.codec.is_some() {
            self.chunk.extend_from_slice(page);
            self.pages_in_chunk += 1;
            if self.pages_in_chunk == PAGES_IN_CHUNK {
                self.flush_chunk(c)?;
            }
        } else {
            self.out.write(page)?;
        }
        Ok(())
    }

    /// Before a CPU's first page: page alignment, and the chunk count
    /// placeholder when compressing.
    fn start_cpu_data(&mut self, c: &mut CpuState) -> WriterResult<()> {
        if c.start.is_none() {
            self.out.align(u64::from(self.spec.page_size))?;
            c.start = Some(self.out.pos());
            if self.codec.is_some() {
                self.out.write(&[0; 4])?; // chunk count, patched in end_cpu()
            }
        }
        Ok(())
    }

    fn flush_chunk(&mut self, c: &mut CpuState) -> WriterResult<()> {
        let Some(codec) = self.codec.as_mut() else {
            return Ok(());
        };
        codec.compress(&self.chunk, &mut self.zbuf)?;
        let e = self.spec.endian;
        self.out.write(&e.u32_bytes(len_u32(self.zbuf.len())?))?;
        self.out.write(&e.u32_bytes(len_u32(self.chunk.len())?))?;
        self.out.write(&self.zbuf)?;
        self.chunk.clear();
        self.pages_in_chunk = 0;
        c.chunks += 1;
        Ok(())
    }

    fn aligned_pos(&self) -> u64 {
        let a = u64::from(self.spec.page_size);
        (self.out.pos() + a - 1) & !(a - 1)
    }

    // -------------------------------------------------------------- buffers

    fn current_buffer_name(&self) -> String {
        self.cur
            .as_ref()
            .map(|c| self.spec.buffers[c.index].name.clone())
            .unwrap_or_default()
    }

    fn start_buffer(&mut self, index: usize) -> WriterResult<()> {
        self.next_buffer = index + 1;
        let table_at = match self.spec.version {
            FileVersion::V6 => {
                if let Some(at) = self.v6_buffer_option[index] {
                    let pos = self.out.pos();
                    self.out.patch(at, &self.spec.endian.u64_bytes(pos))?;
                }
                self.write_v6_flyrecord()?
            }
            FileVersion::V7 => {
                let name = &self.spec.buffers[index].name;
                let desc = self.add_string(&format!("buffer flyrecord {name}"));
                let flags = u16::from(self.codec.is_some());
                self.write_section_header(OPT_BUFFER, flags, desc, 0)? - 8
            }
        };
        self.cur = Some(BufState {
            index,
            table_at,
            next_cpu: 0,
            cpus: Vec::new(),
        });
        Ok(())
    }

    /// Gives the CPUs of the current buffer below `cpu` that were never
    /// begun their (empty) v6 table entries, as trace-cmd does: the aligned
    /// position, size 0.
    fn skip_cpus_to(&mut self, cpu: u32) -> WriterResult<()> {
        let e = self.spec.endian;
        let offset = self.aligned_pos();
        let v6 = self.spec.version == FileVersion::V6;
        let Some(cur) = self.cur.as_mut() else {
            return Ok(());
        };
        while cur.next_cpu < cpu {
            if v6 {
                let at = cur.table_at + u64::from(cur.next_cpu) * 16;
                self.out.patch(at, &e.u64_bytes(offset))?;
            }
            cur.next_cpu += 1;
        }
        Ok(())
    }

    fn end_buffer(&mut self) -> WriterResult<()> {
        self.end_cpu()?;
        let table_cpus = match self.spec.version {
            FileVersion::V6 => self.cpu_count,
            FileVersion::V7 => 0,
        };
        self.skip_cpus_to(table_cpus)?;
        let Some(cur) = self.cur.take() else {
            return Ok(());
        };
        if self.spec.version == FileVersion::V7 {
            let e = self.spec.endian;
            let size = self.out.pos() - (cur.table_at + 8);
            self.out.patch(cur.table_at, &e.u64_bytes(size))?;
            let b = &self.spec.buffers[cur.index];
            let mut opt = Vec::with_capacity(64 + cur.cpus.len() * 20);
            opt.extend_from_slice(&e.u64_bytes(cur.table_at - 8));
            push_str(&mut opt, &b.name);
            push_str(&mut opt, &self.spec.clock);
            opt.extend_from_slice(&e.u32_bytes(self.spec.page_size));
            opt.extend_from_slice(&e.u32_bytes(cur.cpus.len() as u32));
            for &(cpu, offset, size) in &cur.cpus {
                opt.extend_from_slice(&e.u32_bytes(cpu));
                opt.extend_from_slice(&e.u64_bytes(offset));
                opt.extend_from_slice(&e.u64_bytes(size));
            }
            self.write_options_section(&[(OPT_BUFFER, opt)])?;
        }
        Ok(())
    }
}

impl TraceDatWriter<Cursor<Vec<u8>>> {
    /// Writes a whole trace in memory: `data` writes the CPUs.
    pub fn to_vec<F>(spec: TraceDatSpec, data: F) -> WriterResult<Vec<u8>>
    where
        F: FnOnce(&mut TraceDatWriter<Cursor<Vec<u8>>>) -> WriterResult<()>,
    {
        let mut w = TraceDatWriter::new(Cursor::new(Vec::new()), spec)?;
        data(&mut w)?;
        Ok(w.finish()?.into_inner())
    }
}
