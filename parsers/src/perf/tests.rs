//! Unit tests of the perf.data reader, on files built in both byte orders.

use super::writer::{AttrSpec, PerfDataBuilder, SampleSpec, tracing_data};
use super::*;
use crate::error::ErrorKind;
use crate::tracedat::writer::EventPayload;
use crate::types::{Cpu, Pid, Timestamp};

const DEMO: &str = "name: demo\nID: 7\nformat:\n\
    \tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\
    \tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n\
    \tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n\
    \tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n\
    \tfield:u64 value;\toffset:8;\tsize:8;\tsigned:0;\n\n\
    print fmt: \"value=%llu\", REC->value\n";

const ST: u64 = sample_type::IP
    | sample_type::TID
    | sample_type::TIME
    | sample_type::CPU
    | sample_type::PERIOD
    | sample_type::RAW
    | sample_type::IDENTIFIER;

fn payload(e: Endian, pid: i32, value: u64) -> Vec<u8> {
    EventPayload::new(e, 7, 0, 0, Pid(pid)).u64(value).finish()
}

fn at(time: u64, cpu: u32, id: u64) -> SampleSpec {
    SampleSpec {
        id,
        pid: 10,
        tid: 11,
        time,
        cpu,
        ..SampleSpec::default()
    }
}

/// Two attributes (a tracepoint on two CPUs, a dummy), samples out of
/// order across rounds, task records and losses.
fn build(e: Endian) -> Vec<u8> {
    let mut b = PerfDataBuilder::new(e);
    let tp = b.attr(AttrSpec::tracepoint(7, ST, &[100, 101]));
    let dummy = b.attr(AttrSpec {
        kind: 1,
        config: 9,
        sample_type: ST & !sample_type::RAW,
        read_format: 0,
        sample_id_all: true,
        ids: vec![200, 201],
    });
    b.tracing_data(tracing_data(e, 8, &[("demo", DEMO)], "11 worker\n"))
        .string_feature(header::feature::ARCH, "s390x")
        .string_feature(header::feature::OSRELEASE, "6.1.0")
        .string_feature(header::feature::HOSTNAME, "box")
        .nr_cpus(4, 2);
    let s = |time: u64, cpu: u32, pid: i32, tid: i32, v: u64| SampleSpec {
        id: 100 + u64::from(cpu),
        ip: 0xffff_0000,
        pid,
        tid,
        time,
        cpu,
        period: 1,
        raw: payload(e, tid, v),
    };
    b.comm(dummy, 10, 11, "worker", true, &at(0, 0, 200));
    b.task(dummy, true, (10, 12), (10, 11), &at(50, 1, 201));
    b.sample(tp, &s(300, 0, 10, 11, 1));
    b.sample(tp, &s(100, 1, 10, 12, 2));
    b.finished_round();
    b.sample(tp, &s(200, 0, 10, 11, 3));
    b.lost(tp, 101, 5, &at(250, 1, 101));
    b.raw_record(99, 0, &[1, 2, 3, 4, 5, 6, 7, 8]);
    b.finished_round();
    b.sample(tp, &s(400, 1, 10, 12, 4));
    b.lost_samples(dummy, 2, &at(450, 0, 200));
    b.task(dummy, false, (10, 12), (10, 11), &at(500, 1, 201));
    b.finished_round();
    b.finish()
}

#[test]
fn header_features_and_tracing_data_in_both_byte_orders() {
    for e in [Endian::Little, Endian::Big] {
        let bytes = build(e);
        assert_eq!(&bytes[..8], if e.is_big() { MAGIC_BE } else { MAGIC_LE });
        let p = PerfData::parse(&bytes).unwrap();
        assert_eq!(p.endian, e);
        assert!(p.warnings.is_empty(), "{:?}", p.warnings);
        assert_eq!(p.attrs.len(), 2);
        assert_eq!(p.attrs[0].kind, PERF_TYPE_TRACEPOINT);
        assert_eq!(p.attrs[0].config, 7);
        assert_eq!(p.attrs[0].sample_type, ST);
        assert!(p.attrs[0].flags.sample_id_all() && p.attrs[0].flags.inherit());
        assert!(!p.attrs[0].flags.disabled());
        assert_eq!(p.attrs[0].ids, vec![100, 101]);
        assert_eq!(p.attr_index_of_id(201), Some(1));
        assert_eq!(p.attr_name(0), "demo:demo");
        assert_eq!(p.features.arch.as_deref(), Some("s390x"));
        assert_eq!(p.features.osrelease.as_deref(), Some("6.1.0"));
        assert_eq!(p.features.hostname.as_deref(), Some("box"));
        assert_eq!(p.features.nr_cpus_available, Some(4));
        assert_eq!(p.features.nr_cpus_online, Some(2));
        let t = p.tracing.as_ref().unwrap();
        assert_eq!(t.endian, e);
        assert_eq!(t.long_size, 8);
        assert_eq!(t.version, 6);
        assert_eq!(t.formats.len(), 1);
        assert_eq!(t.format_by_id(crate::EventId(7)).unwrap().name, "demo");
        assert_eq!(t.comm(Pid(11)), Some("worker"));
    }
}

#[test]
fn records_decode_in_file_order_in_both_byte_orders() {
    for e in [Endian::Little, Endian::Big] {
        let bytes = build(e);
        let p = PerfData::parse(&bytes).unwrap();
        let recs: Vec<PerfRecord<'_>> = p.records().map(|r| r.unwrap()).collect();
        assert_eq!(recs.len(), 13);
        let PerfRecord::Comm(c) = recs[0] else {
            panic!("{:?}", recs[0])
        };
        assert_eq!(
            (c.pid, c.tid, c.comm, c.exec),
            (Pid(10), Pid(11), &b"worker"[..], true)
        );
        assert_eq!(c.sample_id.attr, Some(1));
        assert_eq!(c.sample_id.id, Some(200));
        let PerfRecord::Fork(f) = recs[1] else {
            panic!("{:?}", recs[1])
        };
        assert_eq!(
            (f.pid, f.tid, f.ppid, f.ptid),
            (Pid(10), Pid(12), Pid(10), Pid(11))
        );
        assert_eq!(f.sample_id.time, Some(Timestamp(50)));
        assert_eq!(f.sample_id.cpu, Some(Cpu(1)));
        let PerfRecord::Sample(s) = recs[2] else {
            panic!("{:?}", recs[2])
        };
        assert_eq!(s.attr, 0);
        assert_eq!(s.id, Some(100));
        assert_eq!(s.ip, Some(0xffff_0000));
        assert_eq!((s.pid, s.tid), (Some(Pid(10)), Some(Pid(11))));
        assert_eq!(s.time, Some(Timestamp(300)));
        assert_eq!(s.cpu, Some(Cpu(0)));
        assert_eq!(s.period, Some(1));
        let raw = s.raw.unwrap();
        assert_eq!((4 + raw.len()) % 8, 0);
        let t = p.tracing.as_ref().unwrap();
        let f = t.format_by_id(crate::EventId(7)).unwrap();
        assert_eq!(f.field("value").unwrap().read_u64(raw, e), Some(1));
        assert_eq!(t.record_pid(raw), Some(Pid(11)));
        assert!(matches!(recs[4], PerfRecord::FinishedRound { .. }));
        let PerfRecord::Lost(l) = recs[6] else {
            panic!("{:?}", recs[6])
        };
        assert_eq!((l.id, l.lost), (101, 5));
        assert_eq!(l.sample_id.cpu, Some(Cpu(1)));
        assert_eq!(l.sample_id.time, Some(Timestamp(250)));
        let PerfRecord::Other { kind, bytes, .. } = recs[7] else {
            panic!("{:?}", recs[7])
        };
        assert_eq!((kind, bytes.len()), (99, 16));
        let PerfRecord::LostSamples(ls) = recs[10] else {
            panic!("{:?}", recs[10])
        };
        assert_eq!(ls.lost, 2);
        assert_eq!(ls.sample_id.cpu, Some(Cpu(0)));
        assert!(
            matches!(recs[11], PerfRecord::Exit(x) if x.tid == Pid(12) && x.time == Timestamp(500))
        );
    }
}

#[test]
fn sorted_records_release_round_by_round_in_time_order() {
    for e in [Endian::Little, Endian::Big] {
        let bytes = build(e);
        let p = PerfData::parse(&bytes).unwrap();
        let mut it = p.sorted_records();
        let mut times = Vec::new();
        let mut held = Vec::new();
        while let Some(r) = it.next() {
            let r = r.unwrap();
            assert!(!matches!(r, PerfRecord::FinishedRound { .. }));
            times.push(r.time().map_or(0, |t| t.0));
            held.push(it.held());
        }
        // The COMM at time 0 and the unknown record (no trailer time) pass
        // at once, as read; the rest come in time order.
        assert_eq!(times, vec![0, 0, 50, 100, 200, 250, 300, 400, 450, 500]);
        assert_eq!(
            times.len(),
            p.records()
                .filter(|r| !matches!(r, Ok(PerfRecord::FinishedRound { .. })))
                .count()
        );
        assert!(held.iter().all(|&h| h <= 6), "{held:?}");
    }
}

#[test]
fn equal_timestamps_keep_file_order() {
    let e = Endian::Little;
    let mut b = PerfDataBuilder::new(e);
    let tp = b.attr(AttrSpec::tracepoint(7, ST, &[1]));
    for (i, t) in [5u64, 3, 5, 3].iter().enumerate() {
        b.sample(
            tp,
            &SampleSpec {
                id: 1,
                time: *t,
                raw: payload(e, i as i32, i as u64),
                ..SampleSpec::default()
            },
        );
    }
    let bytes = b.finish();
    let p = PerfData::parse(&bytes).unwrap();
    let order: Vec<i32> = p
        .sorted_records()
        .map(|r| match r.unwrap() {
            PerfRecord::Sample(s) => s.tid.unwrap().0,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(order, vec![0, 0, 0, 0]);
    let vals: Vec<u64> = p
        .sorted_records()
        .map(|r| match r.unwrap() {
            PerfRecord::Sample(s) => e.read_u64(s.raw.unwrap(), 8).unwrap(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(vals, vec![1, 3, 0, 2]);
}

#[test]
fn truncated_data_yields_the_records_before_then_an_error_at_the_cut() {
    for e in [Endian::Little, Endian::Big] {
        let mut b = PerfDataBuilder::new(e);
        let tp = b.attr(AttrSpec::tracepoint(7, ST, &[1]));
        for i in 0..3u64 {
            b.sample(
                tp,
                &SampleSpec {
                    id: 1,
                    time: 10 + i,
                    raw: payload(e, 1, i),
                    ..SampleSpec::default()
                },
            );
        }
        let full = b.finish();
        let p = PerfData::parse(&full).unwrap();
        let offs: Vec<u64> = p.records().map(|r| r.unwrap().offset().0).collect();
        assert_eq!(offs.len(), 3);
        // Cut inside the third record (the feature table goes too).
        let cut = offs[2] as usize + 12;
        let p = PerfData::parse(&full[..cut]).unwrap();
        let items: Vec<_> = p.sorted_records().collect();
        assert_eq!(items.len(), 3);
        assert!(items[0].is_ok() && items[1].is_ok());
        let err = items[2].clone().unwrap_err();
        assert_eq!(err.offset.0, offs[2]);
        assert!(matches!(err.kind, ErrorKind::Truncated { .. }), "{err}");
    }
}

#[test]
fn bad_inputs_are_errors_with_offsets_never_panics() {
    assert_eq!(PerfData::parse(b"PERFILE").unwrap_err().offset.0, 0);
    assert_eq!(
        PerfData::parse(b"NOTPERF!xxxxxxxx").unwrap_err().kind,
        ErrorKind::BadMagic
    );
    let mut pipe = b"PERFILE2".to_vec();
    pipe.extend_from_slice(&16u64.to_le_bytes());
    assert!(matches!(
        PerfData::parse(&pipe).unwrap_err().kind,
        ErrorKind::UnsupportedVersion(_)
    ));
    let bytes = build(Endian::Little);
    // Every prefix and a few corruptions: errors, not panics.
    for n in (0..bytes.len()).step_by(7) {
        if let Ok(p) = PerfData::parse(&bytes[..n]) {
            for r in p.sorted_records() {
                let _ = r;
            }
        }
    }
    let mut bad = bytes.clone();
    // A record size below the header size.
    let p = PerfData::parse(&bytes).unwrap();
    let first = p.header.data.offset as usize;
    bad[first + 6] = 4;
    bad[first + 7] = 0;
    let p = PerfData::parse(&bad).unwrap();
    let e = p.records().next().unwrap().unwrap_err();
    assert_eq!(e.offset.0, first as u64 + 6);
    // A sample whose id no attribute has: an error for that record only.
    let mut b = PerfDataBuilder::new(Endian::Little);
    let tp = b.attr(AttrSpec::tracepoint(7, ST, &[1]));
    b.attr(AttrSpec::tracepoint(8, ST, &[2]));
    b.sample(
        tp,
        &SampleSpec {
            id: 9,
            ..SampleSpec::default()
        },
    );
    b.sample(
        tp,
        &SampleSpec {
            id: 2,
            ..SampleSpec::default()
        },
    );
    let bytes = b.finish();
    let p = PerfData::parse(&bytes).unwrap();
    let items: Vec<_> = p.records().collect();
    assert_eq!(items.len(), 2);
    assert!(items[0].is_err());
    assert!(matches!(items[1], Ok(PerfRecord::Sample(s)) if s.attr == 1));
}

#[test]
fn compressed_streams_are_reported_not_misread() {
    let mut b = PerfDataBuilder::new(Endian::Little);
    b.attr(AttrSpec::tracepoint(7, ST, &[1]));
    b.raw_record(record_type::COMPRESSED, 0, &[0; 16]);
    let bytes = b.finish();
    let p = PerfData::parse(&bytes).unwrap();
    let e = p.records().next().unwrap().unwrap_err();
    assert!(
        matches!(e.kind, ErrorKind::UnsupportedCompression(_)),
        "{e}"
    );
    assert_eq!(e.offset.0, p.header.data.offset);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]
    /// Damaged files (bytes overwritten anywhere, in either byte order)
    /// give values or errors, never a panic or a runaway allocation.
    #[test]
    fn damaged_files_never_panic(
        big: bool,
        edits in proptest::collection::vec((0usize..4096, proptest::prelude::any::<u8>()), 1..12),
        cut in 0usize..8192,
    ) {
        let mut bytes = build(if big { Endian::Big } else { Endian::Little });
        for (pos, v) in edits {
            let n = bytes.len();
            bytes[pos % n] = v;
        }
        let keep = bytes.len() - cut % bytes.len().max(1) / 4;
        if let Ok(p) = PerfData::parse(&bytes[..keep]) {
            for i in 0..p.attrs.len() {
                let _ = p.attr_name(i);
            }
            let n = p.sorted_records().take(10_000).count();
            proptest::prop_assert!(n <= bytes.len());
        }
    }
}

/// A damaged declaration holding a multi-byte character right before the
/// field name (found by `damaged_files_never_panic`) is read, not a panic.
#[test]
fn format_with_a_non_ascii_declaration_does_not_panic() {
    let text = DEMO.replace("u64 value;", "u64\u{fffd}value;");
    let f = crate::format::EventFormat::parse("demo", text.as_bytes(), 0).unwrap();
    assert_eq!(f.fields[0].name, "value");
    assert_eq!(f.fields[0].type_name, "u64\u{fffd}");
}
