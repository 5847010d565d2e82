//! Invariant checks shared by the fuzz targets (`fuzz_targets/`) and the
//! regression tests of `fixtures/corrupt/` (`parsers/tests/corrupt.rs`
//! includes this file). Each check drives the readers to the end of their
//! input and panics when an invariant does not hold; a reader error is never
//! a failure, a panic or a hang is.
//!
//! Invariants of a trace.dat:
//! - every CPU stream ends; the merged stream yields exactly the records,
//!   lost-event notes and errors of the CPU streams added up;
//! - `CpuRecords::for_each_item`, stopped and resumed at any item and mixed
//!   with `next_item`, yields exactly what `next_item` alone does;
//! - in uncompressed data, record offsets increase and lie inside their CPU's
//!   data, and each record's timestamp is its page's time stamp plus the
//!   deltas (time extends and discarded-event paddings included) of the
//!   headers before it: non-decreasing within a page unless an absolute
//!   time stamp or a 64-bit wrap lies between;
//! - every record renders (pretty and raw) within the printer's limits.

use mmrace_parsers::Endian;
use mmrace_parsers::format::{EventFormat, HeaderPage};
use mmrace_parsers::printfmt::{EventPrinter, MAX_OUTPUT, PrintFmt, RenderCtx};
use mmrace_parsers::report::{LineMode, ReportPrinter};
use mmrace_parsers::symbols::NoSymbols;
use mmrace_parsers::tracedat::writer::{
    Compression, EventPayload, FileVersion, MAX_DELTA, PageBuilder, TraceDatSpec, TraceDatWriter,
};
use mmrace_parsers::tracedat::{CpuRecords, Item, TraceDat};
use mmrace_parsers::types::{Cpu, Pid};

/// Largest time extend a page can hold (59 bits).
const MAX_EXTEND: u64 = (1 << 59) - 1;

/// What a check read, for tests that want more than "no panic".
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Whether the metadata parsed.
    pub parsed: bool,
    /// Records over all CPU streams.
    pub records: u64,
    /// Lost-event notes.
    pub lost: u64,
    /// Errors in the streams (metadata warnings not included).
    pub errors: u64,
    /// Records whose timestamp was recomputed from the page bytes.
    pub ts_checked: u64,
    /// The error `TraceDat::parse` returned, or the first stream error.
    pub first_error: Option<mmrace_parsers::Error>,
}

/// Parses a whole trace.dat and checks every invariant of the module docs.
pub fn check_tracedat(data: &[u8]) -> Summary {
    let mut sum = Summary::default();
    let t = match TraceDat::parse(data) {
        Ok(t) => t,
        Err(e) => {
            sum.first_error = Some(e);
            return sum;
        }
    };
    sum.parsed = true;
    let plain_clock = t.options.time == Default::default() && t.options.time_shift.is_none();
    for (bi, b) in t.buffers.iter().enumerate() {
        for ci in 0..b.cpus.len() {
            let s = t.cpu_records(bi, ci).expect("listed CPU has a stream");
            check_cpu(&t, s, bi, ci, plain_clock, &mut sum);
            check_for_each(&t, bi, ci);
        }
    }
    // The merged stream holds exactly what the CPU streams hold.
    let (mut r, mut l, mut e) = (0u64, 0u64, 0u64);
    let mut printer = ReportPrinter::new(&t);
    let mut line = Vec::new();
    let mut merged = t.merged_records();
    while let Some(it) = merged.next_item() {
        match it {
            Ok(Item::Record(rec)) => {
                r += 1;
                line.clear();
                let mode = if r % 2 == 0 {
                    LineMode::Raw
                } else {
                    LineMode::Pretty
                };
                printer.write_line(&rec, mode, &mut line);
                // Prefix, comm, time and name are short; the text is capped.
                assert!(line.len() <= MAX_OUTPUT + 4096, "line of {}", line.len());
            }
            Ok(Item::Lost(lost)) => {
                l += 1;
                let _ = printer.lost_line(&lost);
            }
            Err(_) => e += 1,
        }
    }
    assert_eq!(
        (r, l, e),
        (sum.records, sum.lost, sum.errors),
        "merged (records, lost, errors) differ from the sum of the CPU streams"
    );
    let _ = printer.render_failures();
    sum
}

/// An item as a value that compares (records by their bytes).
fn item_key(it: Result<Item<'_>, mmrace_parsers::Error>) -> String {
    match it {
        Ok(Item::Record(r)) => format!(
            "R {} {:?} {} {} {:?}",
            r.ts.0, r.cpu, r.buffer, r.offset.0, r.payload
        ),
        Ok(Item::Lost(l)) => format!("L {l:?}"),
        Err(e) => format!("E {e}"),
    }
}

/// `for_each_item` against `next_item` on one CPU stream: the items read
/// by `next_item` alone, then again in runs of varying length, alternating
/// `for_each_item` (stopped after the run) and `next_item`.
fn check_for_each(t: &TraceDat<'_>, bi: usize, ci: usize) {
    let Some(mut s) = t.cpu_records(bi, ci) else {
        return;
    };
    let mut want = Vec::new();
    while let Some(it) = s.next_item() {
        want.push(item_key(it));
    }
    let Some(mut s) = t.cpu_records(bi, ci) else {
        return;
    };
    let mut got = Vec::new();
    for run in (1usize..).map(|k| k % 7) {
        if run % 2 == 0 {
            match s.next_item() {
                Some(it) => got.push(item_key(it)),
                None => break,
            }
            continue;
        }
        // A run of `run` items (`run` 5: to the end), stopped after it.
        let mut left = if run == 5 { usize::MAX } else { run };
        s.for_each_item(|it| {
            got.push(item_key(it));
            left -= 1;
            left > 0
        });
        if left > 0 {
            // The stream ended inside the run.
            break;
        }
    }
    assert!(s.next_item().is_none(), "stream goes on after its end");
    assert_eq!(got, want, "for_each_item differs from next_item");
}

/// Reads one CPU stream to its end, checking offsets and timestamps.
fn check_cpu(
    t: &TraceDat<'_>,
    mut s: CpuRecords<'_>,
    bi: usize,
    ci: usize,
    plain_clock: bool,
    sum: &mut Summary,
) {
    let b = &t.buffers[bi];
    let cpu = &b.cpus[ci];
    let raw = !cpu.is_compressed();
    let page = b.page_size as u64;
    // The previous record: (offset, end of its bytes, raw timestamp).
    let mut prev: Option<(u64, u64, u64)> = None;
    let mut items = 0u64;
    while let Some(it) = s.next_item() {
        items += 1;
        match it {
            Ok(Item::Record(rec)) => {
                sum.records += 1;
                if !raw {
                    continue;
                }
                let off = rec.offset.0;
                assert!(
                    off >= cpu.offset && off < cpu.offset.saturating_add(cpu.size),
                    "record offset {off} outside CPU data {}+{}",
                    cpu.offset,
                    cpu.size
                );
                if let Some((p, _, _)) = prev {
                    assert!(off > p, "record offsets go back: {p} then {off}");
                }
                let page_start = cpu.offset + (off - cpu.offset) / page * page;
                let same_page = prev.is_some_and(|(p, _, _)| p >= page_start);
                let start = match prev {
                    Some((_, end, ts)) if same_page => Some((end, ts)),
                    _ => t
                        .endian
                        .read_u64(
                            t.bytes(),
                            (page_start as usize) + t.header_page.timestamp_offset,
                        )
                        .map(|ts| (page_start + t.header_page.data_offset as u64, ts)),
                };
                let walked = start.and_then(|(from, ts)| walk(t, from, off, ts));
                if let Some(w) = walked {
                    if plain_clock {
                        assert_eq!(
                            rec.ts.0, w.ts,
                            "record at {off}: timestamp differs from its page's deltas"
                        );
                        sum.ts_checked += 1;
                        if same_page && !w.absolute && !w.wrapped {
                            let (_, _, pts) = prev.unwrap_or_default();
                            assert!(
                                rec.ts.0 >= pts,
                                "record at {off}: timestamp {} before {pts} in one page",
                                rec.ts.0
                            );
                        }
                    }
                    prev = Some((off, w.end, w.ts));
                } else {
                    prev = None;
                }
            }
            Ok(Item::Lost(_)) => {
                sum.lost += 1;
                prev = None;
            }
            Err(e) => {
                sum.errors += 1;
                if sum.first_error.is_none() {
                    sum.first_error = Some(e);
                }
                prev = None;
            }
        }
        // Every item consumes at least four bytes of (decompressed) data,
        // or is one lost/error note per page or chunk.
        assert!(items <= 1 << 40, "stream does not end");
    }
    assert!(s.next_item().is_none(), "a finished stream yields again");
}

struct Walked {
    ts: u64,
    end: u64,
    absolute: bool,
    wrapped: bool,
}

/// The timestamp of the record whose header is at `to`, walking the
/// non-record headers (paddings, time extends, time stamps) from `from`
/// with `ts` the timestamp there; `None` if the bytes between are not such
/// headers (the reader skipped damage).
fn walk(t: &TraceDat<'_>, mut from: u64, to: u64, mut ts: u64) -> Option<Walked> {
    let d = t.bytes();
    let e = t.endian;
    let word = |pos: u64| -> Option<(u32, u64)> {
        let w = e.read_u32(d, usize::try_from(pos).ok()?)?;
        Some(if e.is_big() {
            (w >> 27, u64::from(w & 0x07ff_ffff))
        } else {
            (w & 0x1f, u64::from(w >> 5))
        })
    };
    let mut absolute = false;
    let mut wrapped = false;
    let mut add = |ts: &mut u64, v: u64| {
        let (n, o) = ts.overflowing_add(v);
        wrapped |= o;
        *ts = n;
    };
    while from < to {
        let (tl, delta) = word(from)?;
        let a0 = u64::from(e.read_u32(d, usize::try_from(from + 4).ok()?)?);
        match tl {
            29 if delta != 0 => {
                add(&mut ts, delta);
                from = from.checked_add(4 + a0)?;
            }
            30 => {
                add(&mut ts, (a0 << 27).wrapping_add(delta));
                from += 8;
            }
            31 => {
                ts = ((a0 << 27).wrapping_add(delta)) | (ts & (0xf8u64 << 56));
                absolute = true;
                from += 8;
            }
            _ => return None,
        }
    }
    if from != to {
        return None;
    }
    let (tl, delta) = word(to)?;
    let len = match tl {
        0 => {
            let a0 = u64::from(e.read_u32(d, usize::try_from(to + 4).ok()?)?);
            8 + ((a0.checked_sub(4)? + 3) & !3)
        }
        1..=28 => 4 + u64::from(tl) * 4,
        _ => return None,
    };
    add(&mut ts, delta);
    Some(Walked {
        ts,
        end: to + len,
        absolute,
        wrapped,
    })
}

/// Parses `text` as an event format file (and as a `header_page`), then
/// renders `payload` with it in every form, both byte orders.
pub fn check_event_format(text: &[u8], payload: &[u8], long_size: usize) {
    let _ = HeaderPage::parse(text, 0);
    let Ok(f) = EventFormat::parse("fuzz", text, 0) else {
        return;
    };
    assert!(f.fields.len() <= mmrace_parsers::format::MAX_FIELDS);
    assert!(f.common_fields.len() <= mmrace_parsers::format::MAX_FIELDS);
    for field in f.common_fields.iter().chain(&f.fields) {
        for e in [Endian::Little, Endian::Big] {
            if let Some(b) = field.read_bytes(payload, e) {
                assert!(b.len() <= payload.len());
            }
            let _ = field.read_i64(payload, e);
            let _ = field.read_str(payload, e);
            if let Some(a) = field.read_array(payload, e, long_size) {
                assert_eq!(a.iter().count(), a.len());
            }
            if let Some(m) = field.read_cpumask(payload, e, long_size) {
                assert_eq!(m.cpus().count() as u32, m.count());
            }
        }
    }
    let p = EventPrinter::new(&f, long_size);
    render_all(&p, payload, long_size);
}

/// Parses `print_fmt` against `event_text`'s fields and renders `payload`.
pub fn check_print_fmt(event_text: &[u8], print_fmt: &str, payload: &[u8], long_size: usize) {
    let Ok(mut f) = EventFormat::parse("fuzz", event_text, 0) else {
        return;
    };
    f.print_fmt = print_fmt.to_string();
    if let Ok(pf) = PrintFmt::parse(print_fmt, &f, long_size) {
        for e in [Endian::Little, Endian::Big] {
            let ctx = RenderCtx::new(e, long_size, &NoSymbols);
            let mut a = Vec::new();
            let ra = pf.render(payload, &ctx, &mut a);
            assert!(a.len() <= MAX_OUTPUT, "rendered {} bytes", a.len());
            let mut b = Vec::new();
            let rb = pf.render(payload, &ctx, &mut b);
            assert_eq!((ra, a), (rb, b), "rendering is not deterministic");
        }
    }
    let p = EventPrinter::new(&f, long_size);
    render_all(&p, payload, long_size);
}

fn render_all(p: &EventPrinter, payload: &[u8], long_size: usize) {
    for e in [Endian::Little, Endian::Big] {
        let ctx = RenderCtx::new(e, long_size, &NoSymbols);
        let mut out = Vec::new();
        if p.render(payload, &ctx, &mut out).is_err() {
            assert!(out.is_empty(), "a failed render appended text");
            p.render_failed(payload, &ctx, &mut out);
        }
        assert!(
            out.len() <= MAX_OUTPUT + 4096,
            "rendered {} bytes",
            out.len()
        );
        out.clear();
        p.render_raw(payload, &ctx, &mut out);
    }
}

/// The page target's input: a configuration byte (bit 0 big-endian, bit 1
/// 4-byte longs, bit 2 version 6, bit 3 structured), then either raw page
/// bytes (up to four 4096-byte pages, the last padded with zeros) checked
/// with [`check_tracedat`], or a program of page-building operations whose
/// records the reader must return exactly, in non-decreasing time.
pub fn check_page(data: &[u8]) {
    let Some((&cfg, rest)) = data.split_first() else {
        return;
    };
    let e = if cfg & 1 != 0 {
        Endian::Big
    } else {
        Endian::Little
    };
    let long = if cfg & 2 != 0 { 4 } else { 8 };
    let v = if cfg & 4 != 0 {
        FileVersion::V6
    } else {
        FileVersion::V7
    };
    if cfg & 8 == 0 {
        let pages: Vec<Vec<u8>> = rest
            .chunks(PAGE)
            .take(4)
            .map(|c| {
                let mut p = c.to_vec();
                p.resize(PAGE, 0);
                p
            })
            .collect();
        check_tracedat(&page_file(e, long, v, &pages));
    } else {
        check_page_program(e, long, v, rest);
    }
}

const PAGE: usize = 4096;
const EVENT_ID: u16 = 100;

/// A one-CPU file holding `pages` (uncompressed).
pub fn page_file(e: Endian, long: u8, v: FileVersion, pages: &[Vec<u8>]) -> Vec<u8> {
    let fmt = "name: ev\nID: 100\nformat:\n\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n\tfield:u32 seq;\toffset:8;\tsize:4;\tsigned:0;\n\nprint fmt: \"seq=%u\", REC->seq\n";
    let spec = TraceDatSpec::new(e, long)
        .version(v)
        .compression(Compression::None)
        .event_format("fuzz", fmt)
        .buffer("", 1);
    TraceDatWriter::to_vec(spec, |w| {
        w.begin_cpu("", Cpu(0))?;
        for p in pages {
            w.push_raw_page(p)?;
        }
        w.end_cpu()
    })
    .expect("writer takes any page bytes")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seen {
    Rec(u32, u64),
    Lost(Option<u64>, u64),
}

fn check_page_program(e: Endian, long: u8, v: FileVersion, prog: &[u8]) {
    let mut pb = PageBuilder::new(e, long, PAGE).expect("valid page layout");
    let mut ts: u64 = 1000;
    let mut pages = Vec::new();
    let mut want = Vec::new();
    let mut seq = 0u32;
    pb.reset(ts);
    let mut i = 0;
    let arg = |i: usize| -> u32 {
        let mut b = [0u8; 4];
        for (k, x) in b.iter_mut().enumerate() {
            *x = prog.get(i + k).copied().unwrap_or(0);
        }
        u32::from_le_bytes(b)
    };
    while i < prog.len() && pages.len() < 16 && ts < 1 << 57 {
        let op = prog[i];
        let a = arg(i + 1);
        i += 5;
        match op % 7 {
            0 | 1 => {
                let delta = a & MAX_DELTA;
                let mut payload = EventPayload::new(e, EVENT_ID, 0, 0, Pid(1));
                payload.u32(seq);
                let mut payload = payload.finish();
                payload.resize(payload.len() + usize::from(op / 7 % 40) * 4, 0);
                let push = |pb: &mut PageBuilder, d: u32| {
                    if op % 7 == 0 {
                        pb.push_data(d, &payload)
                    } else {
                        pb.push_data_long(d, &payload)
                    }
                };
                if push(&mut pb, delta).is_err() {
                    pages.push(pb.finish().to_vec());
                    pb.reset(ts);
                    push(&mut pb, delta).expect("a record fits an empty page");
                }
                ts += u64::from(delta);
                want.push(Seen::Rec(seq, ts));
                seq += 1;
            }
            2 => {
                let d = (u64::from(a) << (op / 7 % 28)) & MAX_EXTEND;
                if pb.push_time_extend(d).is_ok() {
                    ts += d;
                }
            }
            3 => {
                let delta = (a & MAX_DELTA).max(1);
                if pb
                    .push_padding(delta, 4 * (1 + u32::from(op / 7 % 8)))
                    .is_ok()
                {
                    ts += u64::from(delta);
                }
            }
            4 => {
                let t = ts + u64::from(a);
                if pb.push_time_stamp(t).is_ok() {
                    ts = t;
                }
            }
            5 => {
                pages.push(pb.finish().to_vec());
                pb.reset(ts);
                let count = (a & 1 != 0).then_some(u64::from(a >> 1));
                if op / 7 % 2 == 1 {
                    pb.set_missed_events(count).expect("room on an empty page");
                    want.push(Seen::Lost(count, ts));
                }
            }
            _ => {
                let _ = pb.push_null_padding();
                pages.push(pb.finish().to_vec());
                pb.reset(ts);
            }
        }
    }
    pages.push(pb.finish().to_vec());
    let file = page_file(e, long, v, &pages);
    let t = TraceDat::parse(&file).expect("written file parses");
    let mut s = t.cpu_records(0, 0).expect("one CPU");
    let mut seen = Vec::new();
    while let Some(it) = s.next_item() {
        match it.expect("no error in a well-formed page") {
            Item::Record(r) => {
                let seq = e.read_u32(r.payload, 8).expect("payload holds seq");
                seen.push(Seen::Rec(seq, r.ts.0));
            }
            Item::Lost(l) => seen.push(Seen::Lost(l.count, l.ts.0)),
        }
    }
    assert_eq!(seen, want);
    let times: Vec<u64> = seen
        .iter()
        .filter_map(|s| match s {
            Seen::Rec(_, t) => Some(*t),
            Seen::Lost(..) => None,
        })
        .collect();
    assert!(times.is_sorted(), "timestamps decrease");
    check_tracedat(&file);
}

/// The event_format target's input: a byte (bit 0: 4-byte longs), the
/// format text, a NUL, a payload.
pub fn check_event_format_input(data: &[u8]) {
    let Some((&cfg, rest)) = data.split_first() else {
        return;
    };
    let long = if cfg & 1 != 0 { 4 } else { 8 };
    let mut parts = rest.splitn(2, |&b| b == 0);
    let text = parts.next().unwrap_or_default();
    let payload = parts.next().unwrap_or_default();
    check_event_format(text, payload, long);
}

/// The print_fmt target's input: a byte (bit 0: 4-byte longs), an event
/// format text, a NUL, the print fmt text, a NUL, a payload.
pub fn check_print_fmt_input(data: &[u8]) {
    let Some((&cfg, rest)) = data.split_first() else {
        return;
    };
    let long = if cfg & 1 != 0 { 4 } else { 8 };
    let mut parts = rest.splitn(3, |&b| b == 0);
    let event = parts.next().unwrap_or_default();
    let fmt = String::from_utf8_lossy(parts.next().unwrap_or_default());
    let payload = parts.next().unwrap_or_default();
    check_print_fmt(event, &fmt, payload, long);
}

/// Parses a whole perf.data and checks: the file-order and the time-order
/// iterations both end, and deliver the same records and errors (the sort
/// only holds and reorders; `FINISHED_ROUND` markers are consumed by it);
/// file-order
/// offsets increase; every tracepoint sample renders (pretty and raw)
/// through the tracing data's printer within the printer's limits.
pub fn check_perf_data(data: &[u8]) {
    use mmrace_parsers::perf::{PerfData, PerfRecord};
    let Ok(p) = PerfData::parse(data) else {
        return;
    };
    let (mut in_file, mut rounds, mut file_errors) = (0u64, 0u64, 0u64);
    let mut last_offset = None;
    for r in p.records() {
        match r {
            Ok(PerfRecord::FinishedRound { offset }) => {
                rounds += 1;
                assert!(last_offset < Some(offset.0), "offsets increase");
                last_offset = Some(offset.0);
            }
            Ok(r) => {
                in_file += 1;
                assert!(last_offset < Some(r.offset().0), "offsets increase");
                last_offset = Some(r.offset().0);
            }
            Err(_) => file_errors += 1,
        }
    }
    let _ = rounds;
    let mut printer = p.tracing.as_ref().map(ReportPrinter::new);
    let (mut sorted, mut sorted_errors) = (0u64, 0u64);
    for r in p.sorted_records() {
        match r {
            Ok(PerfRecord::FinishedRound { .. }) => panic!("rounds are consumed by the sort"),
            Ok(PerfRecord::Sample(s)) => {
                sorted += 1;
                if let (Some(raw), Some(pr)) = (s.raw, printer.as_mut()) {
                    let rec = mmrace_parsers::tracedat::Record {
                        ts: s.time.unwrap_or_default(),
                        cpu: s.cpu.unwrap_or_default(),
                        buffer: 0,
                        payload: raw,
                        offset: s.offset,
                    };
                    for mode in [LineMode::Pretty, LineMode::Raw] {
                        let mut out = Vec::new();
                        pr.write_event_text(&rec, mode, &mut out);
                        assert!(out.len() <= 2 * MAX_OUTPUT + 4096, "bounded line");
                    }
                }
            }
            Ok(_) => sorted += 1,
            Err(_) => sorted_errors += 1,
        }
    }
    assert_eq!(sorted, in_file, "the sort delivers every record once");
    assert_eq!(sorted_errors, file_errors, "and the same errors");
}
