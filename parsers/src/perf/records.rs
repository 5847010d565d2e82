//! The record stream of a perf.data file: `perf_event_header` records in
//! file order, decoded by type and by their attribute's `sample_type`.

use super::{PerfData, read_format as rf, record_type as rt, sample_type as st};
use crate::endian::Endian;
use crate::error::{Error, ErrorKind, Result};
use crate::types::{Cpu, FileOffset, Pid, Timestamp};

/// Size of `struct perf_event_header`.
pub const EVENT_HEADER_SIZE: usize = 8;

/// The `sample_id_all` trailer of a non-sample record (only the fields its
/// attribute's `sample_type` selects are set).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SampleId {
    /// Index of the attribute the record belongs to, when known.
    pub attr: Option<usize>,
    /// Process id (thread-group id).
    pub pid: Option<Pid>,
    /// Thread id.
    pub tid: Option<Pid>,
    /// Timestamp.
    pub time: Option<Timestamp>,
    /// Sample id.
    pub id: Option<u64>,
    /// Stream id.
    pub stream_id: Option<u64>,
    /// CPU.
    pub cpu: Option<Cpu>,
}

/// A `PERF_RECORD_SAMPLE`, decoded up to its raw payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample<'a> {
    /// File offset of the record.
    pub offset: FileOffset,
    /// Index of its attribute in [`PerfData::attrs`].
    pub attr: usize,
    /// `perf_event_header.misc`.
    pub misc: u16,
    /// Sample id (`PERF_SAMPLE_IDENTIFIER` or `PERF_SAMPLE_ID`).
    pub id: Option<u64>,
    /// Instruction pointer.
    pub ip: Option<u64>,
    /// Process id: the thread-group id.
    pub pid: Option<Pid>,
    /// Thread id (a tracepoint's `common_pid`).
    pub tid: Option<Pid>,
    /// Timestamp (ns of the sample clock).
    pub time: Option<Timestamp>,
    /// Sampled address.
    pub addr: Option<u64>,
    /// Stream id.
    pub stream_id: Option<u64>,
    /// CPU.
    pub cpu: Option<Cpu>,
    /// Period.
    pub period: Option<u64>,
    /// The raw payload (`PERF_SAMPLE_RAW`): for a tracepoint, the event
    /// record starting with `common_type`, possibly followed by padding.
    pub raw: Option<&'a [u8]>,
}

/// A `PERF_RECORD_COMM`: a task's name was set (by exec when
/// [`Comm::exec`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Comm<'a> {
    /// File offset of the record.
    pub offset: FileOffset,
    /// Process id.
    pub pid: Pid,
    /// Thread id.
    pub tid: Pid,
    /// The name (up to its NUL).
    pub comm: &'a [u8],
    /// Set by exec (`PERF_RECORD_MISC_COMM_EXEC`).
    pub exec: bool,
    /// The trailer.
    pub sample_id: SampleId,
}

/// A `PERF_RECORD_FORK` or `PERF_RECORD_EXIT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskEvent {
    /// File offset of the record.
    pub offset: FileOffset,
    /// Process id of the task.
    pub pid: Pid,
    /// Process id of its parent.
    pub ppid: Pid,
    /// Thread id of the task.
    pub tid: Pid,
    /// Thread id of its parent.
    pub ptid: Pid,
    /// The record's own time field.
    pub time: Timestamp,
    /// The trailer.
    pub sample_id: SampleId,
}

/// A `PERF_RECORD_LOST`: the kernel dropped `lost` records of a ring
/// buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lost {
    /// File offset of the record.
    pub offset: FileOffset,
    /// The sample id of the buffer's event.
    pub id: u64,
    /// How many records were lost.
    pub lost: u64,
    /// The trailer.
    pub sample_id: SampleId,
}

/// A `PERF_RECORD_LOST_SAMPLES`: samples dropped (e.g. by a filter or
/// the kernel's throttling).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LostSamples {
    /// File offset of the record.
    pub offset: FileOffset,
    /// How many samples were lost.
    pub lost: u64,
    /// The trailer.
    pub sample_id: SampleId,
}

/// One record of the data section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PerfRecord<'a> {
    /// A sample.
    Sample(Sample<'a>),
    /// A task name.
    Comm(Comm<'a>),
    /// A task was created.
    Fork(TaskEvent),
    /// A task exited.
    Exit(TaskEvent),
    /// Records lost.
    Lost(Lost),
    /// Samples lost.
    LostSamples(LostSamples),
    /// `PERF_RECORD_FINISHED_ROUND`.
    FinishedRound {
        /// File offset of the record.
        offset: FileOffset,
    },
    /// Any other record type, passed over.
    Other {
        /// File offset of the record.
        offset: FileOffset,
        /// `perf_event_header.type`.
        kind: u32,
        /// `perf_event_header.misc`.
        misc: u16,
        /// The whole record (header included).
        bytes: &'a [u8],
        /// Its `sample_id_all` trailer, for kernel record types (below 64)
        /// whose attribute has one.
        sample_id: Option<SampleId>,
    },
}

impl PerfRecord<'_> {
    /// File offset of the record.
    pub fn offset(&self) -> FileOffset {
        match self {
            PerfRecord::Sample(s) => s.offset,
            PerfRecord::Comm(c) => c.offset,
            PerfRecord::Fork(t) | PerfRecord::Exit(t) => t.offset,
            PerfRecord::Lost(l) => l.offset,
            PerfRecord::LostSamples(l) => l.offset,
            PerfRecord::FinishedRound { offset } | PerfRecord::Other { offset, .. } => *offset,
        }
    }

    /// The sample-clock timestamp perf orders the record by, if it has one.
    pub fn time(&self) -> Option<Timestamp> {
        match self {
            PerfRecord::Sample(s) => s.time,
            PerfRecord::Comm(c) => c.sample_id.time,
            PerfRecord::Fork(t) | PerfRecord::Exit(t) => t.sample_id.time,
            PerfRecord::Lost(l) => l.sample_id.time,
            PerfRecord::LostSamples(l) => l.sample_id.time,
            PerfRecord::FinishedRound { .. } => None,
            PerfRecord::Other { sample_id, .. } => sample_id.and_then(|s| s.time),
        }
    }

    /// The CPU of the record (a sample's, or the trailer's).
    pub fn cpu(&self) -> Option<Cpu> {
        match self {
            PerfRecord::Sample(s) => s.cpu,
            PerfRecord::Comm(c) => c.sample_id.cpu,
            PerfRecord::Fork(t) | PerfRecord::Exit(t) => t.sample_id.cpu,
            PerfRecord::Lost(l) => l.sample_id.cpu,
            PerfRecord::LostSamples(l) => l.sample_id.cpu,
            PerfRecord::FinishedRound { .. } => None,
            PerfRecord::Other { sample_id, .. } => sample_id.and_then(|s| s.cpu),
        }
    }
}

/// A bounds-checked reader over one record's body.
struct Body<'a> {
    b: &'a [u8],
    pos: usize,
    base: u64,
    e: Endian,
}

impl<'a> Body<'a> {
    fn need(&self, n: usize, what: &'static str) -> Result<()> {
        let left = self.b.len().saturating_sub(self.pos);
        if left < n {
            return Err(Error::truncated(
                what,
                (n - left) as u64,
                self.base + self.pos as u64,
            ));
        }
        Ok(())
    }
    fn u64(&mut self, what: &'static str) -> Result<u64> {
        self.need(8, what)?;
        let v = self.e.read_u64(self.b, self.pos).unwrap_or(0);
        self.pos += 8;
        Ok(v)
    }
    fn u32(&mut self, what: &'static str) -> Result<u32> {
        self.need(4, what)?;
        let v = self.e.read_u32(self.b, self.pos).unwrap_or(0);
        self.pos += 4;
        Ok(v)
    }
    fn pair(&mut self, what: &'static str) -> Result<(u32, u32)> {
        Ok((self.u32(what)?, self.u32(what)?))
    }
    fn skip_words(&mut self, n: u64, what: &'static str) -> Result<()> {
        let left = (self.b.len().saturating_sub(self.pos) / 8) as u64;
        if n > left {
            return Err(Error::truncated(
                what,
                (n - left).saturating_mul(8),
                self.base + self.pos as u64,
            ));
        }
        self.pos += n as usize * 8;
        Ok(())
    }
}

/// The records of a perf.data data section in file order.
#[derive(Debug)]
pub struct Records<'p, 'a> {
    perf: &'p PerfData<'a>,
    pos: u64,
    end: u64,
    done: bool,
}

impl<'p, 'a> Records<'p, 'a> {
    pub(crate) fn new(perf: &'p PerfData<'a>) -> Self {
        let d = perf.header.data;
        Records {
            perf,
            pos: d.offset,
            end: d.offset.saturating_add(d.size),
            done: false,
        }
    }

    /// File offset of the next record.
    pub fn position(&self) -> u64 {
        self.pos
    }

    fn fail(&mut self, e: Error) -> Option<Result<PerfRecord<'a>>> {
        self.done = true;
        Some(Err(e))
    }
}

impl<'a> Iterator for Records<'_, 'a> {
    type Item = Result<PerfRecord<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done || self.pos >= self.end {
            return None;
        }
        let data = self.perf.data;
        let e = self.perf.endian;
        let off = self.pos;
        let flen = data.len() as u64;
        let avail = self.end.min(flen).saturating_sub(off);
        if avail < EVENT_HEADER_SIZE as u64 {
            let needed = EVENT_HEADER_SIZE as u64 - avail;
            return self.fail(Error::truncated("perf record header", needed, off));
        }
        let o = off as usize;
        let kind = e.read_u32(data, o).unwrap_or(0);
        let misc = e.read_u16(data, o + 4).unwrap_or(0);
        let size = u64::from(e.read_u16(data, o + 6).unwrap_or(0));
        if size < EVENT_HEADER_SIZE as u64 {
            return self.fail(Error::invalid("perf record size", size, off + 6));
        }
        // Records whose payload follows the record itself.
        let extra = match kind {
            rt::AUXTRACE => e.read_u64(data, o + 8).unwrap_or(0),
            _ => 0,
        };
        let total = size.saturating_add(extra);
        if total > avail {
            return self.fail(Error::truncated("perf record", total - avail, off));
        }
        if matches!(kind, rt::COMPRESSED | rt::COMPRESSED2) {
            return self.fail(Error::new(
                ErrorKind::UnsupportedCompression(
                    "compressed perf.data records (perf record -z)".into(),
                ),
                off,
            ));
        }
        self.pos = off + total;
        let bytes = &data[o..o + size as usize];
        let body = Body {
            b: &bytes[EVENT_HEADER_SIZE..],
            pos: 0,
            base: off + EVENT_HEADER_SIZE as u64,
            e,
        };
        Some(decode(self.perf, kind, misc, bytes, body, FileOffset(off)))
    }
}

/// The attribute a sample belongs to, from its id.
fn sample_attr(perf: &PerfData<'_>, b: &[u8], e: Endian) -> Option<(usize, Option<u64>)> {
    let first = perf.attrs.first()?;
    if perf.attrs.len() == 1 {
        return Some((0, None));
    }
    let t = first.sample_type;
    let id = if t & st::IDENTIFIER != 0 {
        e.read_u64(b, 0)?
    } else if t & st::ID != 0 {
        let words = [st::IP, st::TID, st::TIME, st::ADDR]
            .iter()
            .filter(|&&x| t & x != 0)
            .count();
        e.read_u64(b, words * 8)?
    } else {
        return Some((0, None));
    };
    perf.attr_index_of_id(id).map(|i| (i, Some(id)))
}

/// The attribute of a non-sample record, from the id at the end of its
/// trailer.
fn trailer_attr(perf: &PerfData<'_>, b: &[u8], e: Endian) -> Option<usize> {
    let first = perf.attrs.first()?;
    if perf.attrs.len() == 1 {
        return Some(0);
    }
    if !first.flags.sample_id_all() {
        return None;
    }
    let t = first.sample_type;
    let from_end = if t & st::IDENTIFIER != 0 {
        1
    } else if t & st::ID != 0 {
        1 + [st::CPU, st::STREAM_ID]
            .iter()
            .filter(|&&x| t & x != 0)
            .count()
    } else {
        return Some(0);
    };
    let pos = b.len().checked_sub(from_end * 8)?;
    perf.attr_index_of_id(e.read_u64(b, pos)?)
}

/// Decodes the trailer of a non-sample record whose fixed part is
/// `fixed` bytes long; returns it and where the trailer starts.
fn trailer(perf: &PerfData<'_>, body: &Body<'_>, fixed: usize) -> Result<(SampleId, usize)> {
    let b = body.b;
    let Some(ai) = trailer_attr(perf, b, body.e) else {
        return Ok((SampleId::default(), b.len()));
    };
    let a = &perf.attrs[ai];
    let words = a.trailer_words();
    let start = b.len().saturating_sub(words * 8);
    if words == 0 {
        return Ok((
            SampleId {
                attr: Some(ai),
                ..SampleId::default()
            },
            b.len(),
        ));
    }
    if b.len() < fixed + words * 8 {
        return Err(Error::truncated(
            "sample_id trailer",
            (fixed + words * 8 - b.len()) as u64,
            body.base,
        ));
    }
    let mut r = Body {
        b,
        pos: start,
        base: body.base,
        e: body.e,
    };
    let t = a.sample_type;
    let mut s = SampleId {
        attr: Some(ai),
        ..SampleId::default()
    };
    if t & st::TID != 0 {
        let (p, tid) = r.pair("trailer tid")?;
        s.pid = Some(Pid(p as i32));
        s.tid = Some(Pid(tid as i32));
    }
    if t & st::TIME != 0 {
        s.time = Some(Timestamp(r.u64("trailer time")?));
    }
    if t & st::ID != 0 {
        s.id = Some(r.u64("trailer id")?);
    }
    if t & st::STREAM_ID != 0 {
        s.stream_id = Some(r.u64("trailer stream id")?);
    }
    if t & st::CPU != 0 {
        s.cpu = Some(Cpu(r.pair("trailer cpu")?.0));
    }
    if t & st::IDENTIFIER != 0 {
        s.id = Some(r.u64("trailer identifier")?);
    }
    Ok((s, start))
}

fn decode<'a>(
    perf: &PerfData<'a>,
    kind: u32,
    misc: u16,
    bytes: &'a [u8],
    mut body: Body<'a>,
    offset: FileOffset,
) -> Result<PerfRecord<'a>> {
    match kind {
        rt::SAMPLE => decode_sample(perf, misc, body, offset).map(PerfRecord::Sample),
        rt::COMM => {
            let (sample_id, end) = trailer(perf, &body, 8)?;
            let (pid, tid) = body.pair("comm pids")?;
            let name = &body.b[8.min(end)..end];
            let name = name.split(|&x| x == 0).next().unwrap_or(&[]);
            Ok(PerfRecord::Comm(Comm {
                offset,
                pid: Pid(pid as i32),
                tid: Pid(tid as i32),
                comm: name,
                exec: misc & (1 << 13) != 0,
                sample_id,
            }))
        }
        rt::FORK | rt::EXIT => {
            let (sample_id, _) = trailer(perf, &body, 24)?;
            let (pid, ppid) = body.pair("task pids")?;
            let (tid, ptid) = body.pair("task tids")?;
            let time = Timestamp(body.u64("task time")?);
            let t = TaskEvent {
                offset,
                pid: Pid(pid as i32),
                ppid: Pid(ppid as i32),
                tid: Pid(tid as i32),
                ptid: Pid(ptid as i32),
                time,
                sample_id,
            };
            Ok(if kind == rt::FORK {
                PerfRecord::Fork(t)
            } else {
                PerfRecord::Exit(t)
            })
        }
        rt::LOST => {
            let (sample_id, _) = trailer(perf, &body, 16)?;
            let id = body.u64("lost id")?;
            let lost = body.u64("lost count")?;
            Ok(PerfRecord::Lost(Lost {
                offset,
                id,
                lost,
                sample_id,
            }))
        }
        rt::LOST_SAMPLES => {
            let (sample_id, _) = trailer(perf, &body, 8)?;
            let lost = body.u64("lost samples count")?;
            Ok(PerfRecord::LostSamples(LostSamples {
                offset,
                lost,
                sample_id,
            }))
        }
        rt::FINISHED_ROUND => Ok(PerfRecord::FinishedRound { offset }),
        _ => {
            let sample_id = if kind < 64 && kind != rt::SAMPLE {
                trailer(perf, &body, 0).ok().map(|(s, _)| s)
            } else {
                None
            };
            Ok(PerfRecord::Other {
                offset,
                kind,
                misc,
                bytes,
                sample_id,
            })
        }
    }
}

fn decode_sample<'a>(
    perf: &PerfData<'a>,
    misc: u16,
    mut r: Body<'a>,
    offset: FileOffset,
) -> Result<Sample<'a>> {
    let (ai, _) = sample_attr(perf, r.b, r.e).ok_or_else(|| {
        Error::invalid(
            "sample id (no attribute has it)",
            r.e.read_u64(r.b, 0)
                .map_or_else(String::new, |v| v.to_string()),
            offset.0,
        )
    })?;
    let a = &perf.attrs[ai];
    let t = a.sample_type;
    let mut s = Sample {
        offset,
        attr: ai,
        misc,
        id: None,
        ip: None,
        pid: None,
        tid: None,
        time: None,
        addr: None,
        stream_id: None,
        cpu: None,
        period: None,
        raw: None,
    };
    if t & st::IDENTIFIER != 0 {
        s.id = Some(r.u64("sample identifier")?);
    }
    if t & st::IP != 0 {
        s.ip = Some(r.u64("sample ip")?);
    }
    if t & st::TID != 0 {
        let (p, tid) = r.pair("sample tid")?;
        s.pid = Some(Pid(p as i32));
        s.tid = Some(Pid(tid as i32));
    }
    if t & st::TIME != 0 {
        s.time = Some(Timestamp(r.u64("sample time")?));
    }
    if t & st::ADDR != 0 {
        s.addr = Some(r.u64("sample addr")?);
    }
    if t & st::ID != 0 {
        s.id = Some(r.u64("sample id")?);
    }
    if t & st::STREAM_ID != 0 {
        s.stream_id = Some(r.u64("sample stream id")?);
    }
    if t & st::CPU != 0 {
        s.cpu = Some(Cpu(r.pair("sample cpu")?.0));
    }
    if t & st::PERIOD != 0 {
        s.period = Some(r.u64("sample period")?);
    }
    if t & st::READ != 0 {
        let f = a.read_format;
        let per_value = 1 + u64::from(f & rf::ID != 0) + u64::from(f & rf::LOST != 0);
        let times =
            u64::from(f & rf::TOTAL_TIME_ENABLED != 0) + u64::from(f & rf::TOTAL_TIME_RUNNING != 0);
        if f & rf::GROUP != 0 {
            let nr = r.u64("sample read group count")?;
            r.skip_words(times, "sample read times")?;
            r.skip_words(nr.saturating_mul(per_value), "sample read values")?;
        } else {
            r.skip_words(per_value + times, "sample read value")?;
        }
    }
    if t & st::CALLCHAIN != 0 {
        let nr = r.u64("sample callchain count")?;
        r.skip_words(nr, "sample callchain")?;
    }
    if t & st::RAW != 0 {
        let n = r.u32("sample raw size")? as usize;
        r.need(n, "sample raw data")?;
        s.raw = Some(&r.b[r.pos..r.pos + n]);
    }
    Ok(s)
}
