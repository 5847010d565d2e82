//! Hand-made ring-buffer pages in both byte orders and both kernel long
//! sizes, in v6 and v7 files: every record kind the kernel writes (short and
//! long data records, discarded-event padding, time extends, absolute time
//! stamps, null padding) and lost-event pages (count stored or not), read
//! back through the public reader.

use mmrace_parsers::Endian;
use mmrace_parsers::tracedat::writer::{
    Compression, EventPayload, FileVersion, PageBuilder, TraceDatSpec, TraceDatWriter,
};
use mmrace_parsers::tracedat::{Item, TraceDat};
use mmrace_parsers::types::{Cpu, Pid};

const FORMAT: &str = "name: ev\nID: 100\nformat:\n\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n\tfield:u32 seq;\toffset:8;\tsize:4;\tsigned:0;\n\nprint fmt: \"seq=%u\", REC->seq\n";

fn payload(e: Endian, seq: u32) -> Vec<u8> {
    let mut p = EventPayload::new(e, 100, 0, 0, Pid(42));
    p.u32(seq);
    p.finish()
}

#[derive(Debug, PartialEq, Eq)]
enum Seen {
    Rec(u32, u64),
    Lost(Option<u64>, u64),
}

const EXTEND: u64 = (1 << 30) + 7;

/// The pages, and what the reader must see.
fn pages(e: Endian, long: u8) -> (Vec<Vec<u8>>, Vec<Seen>) {
    let mut out = Vec::new();
    let mut p = PageBuilder::new(e, long, 4096).unwrap();
    p.reset(1000);
    p.push_data(5, &payload(e, 1)).unwrap();
    p.push_padding(3, 8).unwrap();
    p.push_data(2, &payload(e, 2)).unwrap();
    p.push_time_extend(EXTEND).unwrap();
    p.push_data(0, &payload(e, 3)).unwrap();
    p.push_time_stamp(5_000_000_000).unwrap();
    p.push_data(1, &payload(e, 4)).unwrap();
    p.push_data_long(4, &payload(e, 5)).unwrap();
    p.push_null_padding().unwrap();
    out.push(p.finish().to_vec());

    let mut p = PageBuilder::new(e, long, 4096).unwrap();
    p.reset(6_000_000_000);
    p.set_missed_events(Some(17)).unwrap();
    p.push_data(0, &payload(e, 6)).unwrap();
    out.push(p.finish().to_vec());

    let mut p = PageBuilder::new(e, long, 4096).unwrap();
    p.reset(7_000_000_000);
    p.set_missed_events(None).unwrap();
    p.push_data(9, &payload(e, 7)).unwrap();
    out.push(p.finish().to_vec());

    let expect = vec![
        Seen::Rec(1, 1005),
        Seen::Rec(2, 1010),
        Seen::Rec(3, 1010 + EXTEND),
        Seen::Rec(4, 5_000_000_001),
        Seen::Rec(5, 5_000_000_005),
        Seen::Lost(Some(17), 6_000_000_000),
        Seen::Rec(6, 6_000_000_000),
        Seen::Lost(None, 7_000_000_000),
        Seen::Rec(7, 7_000_000_009),
    ];
    (out, expect)
}

fn file(e: Endian, long: u8, v: FileVersion, c: Compression, pages: &[Vec<u8>]) -> Vec<u8> {
    let spec = TraceDatSpec::new(e, long)
        .version(v)
        .compression(c)
        .event_format("test", FORMAT)
        .cmdline(Pid(42), "worker")
        .buffer("", 1);
    TraceDatWriter::to_vec(spec, |w| {
        w.begin_cpu("", Cpu(0))?;
        for pg in pages {
            w.push_raw_page(pg)?;
        }
        w.end_cpu()
    })
    .unwrap()
}

fn read_all(data: &[u8]) -> (Vec<Seen>, Vec<mmrace_parsers::Error>) {
    let t = TraceDat::parse(data).unwrap();
    let f = t.format_by_name("test", "ev").unwrap();
    let seq = f.field("seq").unwrap().clone();
    let mut seen = Vec::new();
    let mut errs = Vec::new();
    let mut s = t.cpu_records(0, 0).unwrap();
    while let Some(it) = s.next_item() {
        match it {
            Ok(Item::Record(r)) => {
                assert_eq!(t.record_pid(r.payload), Some(Pid(42)));
                seen.push(Seen::Rec(
                    seq.read_u64(r.payload, t.endian).unwrap() as u32,
                    r.ts.0,
                ))
            }
            Ok(Item::Lost(l)) => seen.push(Seen::Lost(l.count, l.ts.0)),
            Err(e) => errs.push(e),
        }
    }
    (seen, errs)
}

#[test]
fn every_record_kind_in_both_byte_orders_and_long_sizes() {
    for e in [Endian::Little, Endian::Big] {
        for long in [8u8, 4] {
            let combos = [
                (FileVersion::V6, Compression::None),
                (FileVersion::V7, Compression::None),
                (FileVersion::V7, Compression::Zstd),
                (FileVersion::V7, Compression::Zlib),
            ];
            for (v, c) in combos {
                let (pg, expect) = pages(e, long);
                let data = file(e, long, v, c, &pg);
                let t = TraceDat::parse(&data).unwrap();
                assert_eq!((t.endian, t.long_size), (e, long as usize));
                let (seen, errs) = read_all(&data);
                assert!(errs.is_empty(), "{e:?} long {long} {v:?} {c:?}: {errs:?}");
                assert_eq!(seen, expect, "{e:?} long {long} {v:?} {c:?}");
            }
        }
    }
}

#[test]
fn big_endian_event_header_uses_the_top_bits_for_type_len() {
    let (pg, _) = pages(Endian::Big, 8);
    // First event header after the 16-byte page header: a data record of
    // 12 bytes, type_len 3 in the top five bits, delta 5 below.
    let w = u32::from_be_bytes(pg[0][16..20].try_into().unwrap());
    assert_eq!(w >> 27, 3);
    assert_eq!(w & 0x07ff_ffff, 5);
    let (pg, _) = pages(Endian::Little, 8);
    let w = u32::from_le_bytes(pg[0][16..20].try_into().unwrap());
    assert_eq!((w & 0x1f, w >> 5), (3, 5));
}

#[test]
fn corrupt_commit_is_reported_with_offset_and_cpu_and_reading_goes_on() {
    let e = Endian::Little;
    let (mut pg, _) = pages(e, 8);
    // A page that claims more data than a page holds.
    let mut bad = PageBuilder::new(e, 8, 4096).unwrap();
    bad.reset(2000);
    bad.push_data(0, &payload(e, 99)).unwrap();
    bad.force_commit(5000);
    pg.insert(1, bad.finish().to_vec());
    let data = file(e, 8, FileVersion::V6, Compression::None, &pg);
    let (seen, errs) = read_all(&data);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(errs[0].cpu, Some(Cpu(0)));
    assert!(
        errs[0].to_string().contains("commit length 5000"),
        "{}",
        errs[0]
    );
    // The commit field of the second page, inside the CPU's data.
    let t = TraceDat::parse(&data).unwrap();
    let base = t.buffers[0].cpus[0].offset;
    assert_eq!(errs[0].offset.0, base + 4096 + 8);
    // Records of the other pages are all there.
    assert_eq!(
        seen.iter().filter(|s| matches!(s, Seen::Rec(..))).count(),
        7
    );
}

#[test]
fn cut_inside_a_page_gives_complete_records_then_the_offset() {
    let e = Endian::Big;
    let (pg, expect) = pages(e, 8);
    let data = file(e, 8, FileVersion::V6, Compression::None, &pg);
    let t = TraceDat::parse(&data).unwrap();
    let base = t.buffers[0].cpus[0].offset as usize;
    // Cut after the first record of page 1 (16-byte header, 16-byte record,
    // then 8 bytes of the padding record).
    let cut = base + 16 + 16 + 8;
    let (seen, errs) = read_all(&data[..cut]);
    assert_eq!(seen, expect[..1]);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(errs[0].offset.0, cut as u64);
    assert_eq!(errs[0].cpu, Some(Cpu(0)));
}

#[test]
fn merged_order_breaks_ties_by_stream_order_like_trace_cmd() {
    let e = Endian::Little;
    let spec = TraceDatSpec::new(e, 8)
        .event_format("test", FORMAT)
        .buffer("", 2);
    let data = TraceDatWriter::to_vec(spec, |w| {
        for cpu in [0u32, 1] {
            w.begin_cpu("", Cpu(cpu))?;
            for (i, ts) in [100u64, 200, 200, 300].iter().enumerate() {
                w.push(
                    mmrace_parsers::Timestamp(*ts),
                    &payload(e, cpu * 10 + i as u32),
                )?;
            }
            w.end_cpu()?;
        }
        Ok(())
    })
    .unwrap();
    let t = TraceDat::parse(&data).unwrap();
    let seq = t
        .format_by_name("test", "ev")
        .unwrap()
        .field("seq")
        .unwrap()
        .clone();
    let mut m = t.merged_records();
    let mut got = Vec::new();
    while let Some(r) = m.next_record() {
        let r = r.unwrap();
        got.push((r.ts.0, r.cpu.0, seq.read_u64(r.payload, e).unwrap()));
    }
    assert_eq!(
        got,
        vec![
            (100, 0, 0),
            (100, 1, 10),
            (200, 0, 1),
            (200, 0, 2),
            (200, 1, 11),
            (200, 1, 12),
            (300, 0, 3),
            (300, 1, 13),
        ]
    );
}
