//! The test trace: event formats, payloads, and a trace exercising every
//! layout feature, with the lines `trace-cmd report -R -t` must print.

use super::normalize;
use crate::endian::Endian;
use crate::tracedat::writer::{
    Compression, EventPayload, FileVersion, PageBuilder, TraceDatSpec, TraceDatWriter,
};
use crate::types::{Cpu, Pid, Timestamp};

pub(super) const ID_FIELDS: u16 = 1500;
pub(super) const ID_BIG: u16 = 1501;
pub(super) const ID_PRINT: u16 = 5;
pub(super) const BASE: u64 = 5_000_000_000;

pub(super) const COMMON: &str = "\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\
     \tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n\
     \tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n\
     \tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n";

pub(super) fn fields_format() -> String {
    format!(
        "name: test_fields\nID: {ID_FIELDS}\nformat:\n{COMMON}\
         \tfield:u8 f_u8;\toffset:8;\tsize:1;\tsigned:0;\n\
         \tfield:u16 f_u16;\toffset:10;\tsize:2;\tsigned:0;\n\
         \tfield:u32 f_u32;\toffset:12;\tsize:4;\tsigned:0;\n\
         \tfield:u64 f_u64;\toffset:16;\tsize:8;\tsigned:0;\n\
         \tfield:s32 f_s32;\toffset:24;\tsize:4;\tsigned:1;\n\
         \tfield:s64 f_s64;\toffset:32;\tsize:8;\tsigned:1;\n\
         \tfield:char comm[16];\toffset:40;\tsize:16;\tsigned:0;\n\
         \tfield:__data_loc char[] name;\toffset:56;\tsize:4;\tsigned:0;\n\n\
         print fmt: \"f_u8=%u f_u16=%u f_u32=%u f_u64=%llu f_s32=%d f_s64=%lld comm=%s name=%s\", \
         REC->f_u8, REC->f_u16, REC->f_u32, REC->f_u64, REC->f_s32, REC->f_s64, REC->comm, \
         __get_str(name)\n"
    )
}

pub(super) fn big_format() -> String {
    format!(
        "name: test_big\nID: {ID_BIG}\nformat:\n{COMMON}\
         \tfield:u32 seq;\toffset:8;\tsize:4;\tsigned:0;\n\
         \tfield:char blob[120];\toffset:12;\tsize:120;\tsigned:0;\n\n\
         print fmt: \"seq=%u blob=%s\", REC->seq, REC->blob\n"
    )
}

pub(super) fn print_format(long: u8) -> String {
    format!(
        "name: print\nID: {ID_PRINT}\nformat:\n{COMMON}\
         \tfield:unsigned long ip;\toffset:8;\tsize:{long};\tsigned:0;\n\
         \tfield:char buf[];\toffset:{};\tsize:0;\tsigned:0;\n\n\
         print fmt: \"%ps: %s\", (void *)REC->ip, REC->buf\n",
        8 + long
    )
}

pub(super) fn kernel_addr(long: u8, low: u64) -> u64 {
    if long == 8 {
        0xffff_ffff_8100_0000 | low
    } else {
        0xc100_0000 | low
    }
}

/// One variant of the test trace.
#[derive(Clone, Copy, Debug)]
pub(super) struct Variant {
    pub(super) endian: Endian,
    pub(super) long: u8,
    pub(super) version: FileVersion,
    pub(super) compression: Compression,
    pub(super) page_size: u32,
}

impl Variant {
    pub(super) fn name(&self) -> String {
        format!(
            "{}{}-{:?}-{:?}-{}",
            if self.endian.is_big() { "be" } else { "le" },
            self.long,
            self.version,
            self.compression,
            self.page_size
        )
    }
}

pub(super) fn all_variants() -> Vec<Variant> {
    let mut v = Vec::new();
    for (version, compression) in [
        (FileVersion::V6, Compression::None),
        (FileVersion::V7, Compression::None),
        (FileVersion::V7, Compression::Zstd),
        (FileVersion::V7, Compression::Zlib),
    ] {
        for endian in [Endian::Little, Endian::Big] {
            for long in [8, 4] {
                // 32-bit kernels with 8 KiB sub-buffers: also checks the
                // generated header_page for another page size.
                let page_size = if long == 4 { 8192 } else { 4096 };
                v.push(Variant {
                    endian,
                    long,
                    version,
                    compression,
                    page_size,
                });
            }
        }
    }
    v
}

pub(super) fn spec(v: Variant) -> TraceDatSpec {
    let kallsyms = format!(
        "{:016x} T _stext\n{:016x} t do_thing\n",
        kernel_addr(v.long, 0),
        kernel_addr(v.long, 0x100)
    );
    TraceDatSpec::new(v.endian, v.long)
        .version(v.version)
        .compression(v.compression)
        .page_size(v.page_size)
        .ftrace_format(print_format(v.long))
        .event_format("mmrace", fields_format())
        .event_format("mmrace", big_format())
        .kallsyms(kallsyms)
        .cmdline(Pid(100), "worker")
        .cmdline(Pid(200), "other")
        .uname("Linux synth 6.1.0 s390x")
        .tracecmd_version("mmrace-writer-test")
        .trace_id(0x1122_3344_5566_7788)
        .buffer("inst", 2)
        .buffer("", 4)
        .cpustat("", Cpu(0), "CPU: 0\nentries: 800\n")
        .cpustat("inst", Cpu(1), "CPU: 1\nentries: 5\n")
}

pub(super) fn fields_payload(e: Endian, pid: i32, i: u64) -> Vec<u8> {
    EventPayload::new(e, ID_FIELDS, 1, 2, Pid(pid))
        .u8(i as u8)
        .pad_to(10)
        .u16(0xfff0 + (i % 7) as u16)
        .u32(i as u32 * 3)
        .u64((i << 40) | 5)
        .i32(-(i as i32))
        .pad_to(32)
        .i64(-(1 << 40) - i as i64)
        .char_array(format!("c{i}").as_bytes(), 16)
        .data_loc_str(&format!("name-{i}"))
        .finish()
}

pub(super) fn fields_text(i: u64) -> String {
    format!(
        "test_fields: f_u8={} f_u16={} f_u32={} f_u64={} f_s32={} f_s64={} comm=c{i} name=name-{i}",
        i as u8,
        0xfff0 + i % 7,
        i * 3,
        (i << 40) | 5,
        -(i as i64),
        -(1i64 << 40) - i as i64
    )
}

pub(super) fn big_payload(e: Endian, pid: i32, seq: u32) -> Vec<u8> {
    EventPayload::new(e, ID_BIG, 0, 0, Pid(pid))
        .u32(seq)
        .char_array(big_blob(seq).as_bytes(), 120)
        .finish()
}

pub(super) fn big_blob(seq: u32) -> String {
    format!("blob-{seq}-").repeat(10)
}

/// An expected `trace-cmd report -R -t` line, whitespace-normalized, with
/// its timestamp for ordering.
pub(super) struct Expect {
    pub(super) ts: u64,
    /// `"inst: "` for an instance's record, else empty.
    pub(super) prefix: String,
    /// The lost-events line printed before the record, if any.
    pub(super) lost: Option<String>,
    pub(super) line: String,
}

impl Expect {
    /// The lines trace-cmd prints: the buffer prefix goes on the first one
    /// only (the lost-events line when there is one).
    pub(super) fn lines(&self) -> Vec<String> {
        match &self.lost {
            Some(lost) => vec![
                normalize(&format!("{}{lost}", self.prefix)),
                normalize(&self.line),
            ],
            None => vec![normalize(&format!("{}{}", self.prefix, self.line))],
        }
    }
}

pub(super) fn expect(buffer: &str, pid: i32, cpu: u32, ts: u64, text: String) -> Expect {
    let comm = match pid {
        100 => "worker",
        200 => "other",
        _ => "<...>",
    };
    let prefix = if buffer.is_empty() {
        String::new()
    } else {
        format!("{buffer}: ")
    };
    Expect {
        ts,
        prefix,
        lost: None,
        line: format!(
            "{comm}-{pid} [{cpu:03}] {}.{:09}: {text}",
            ts / 1_000_000_000,
            ts % 1_000_000_000
        ),
    }
}

/// What was written to one CPU, for decoding checks: (ts, payload) of every
/// record pushed through the high-level API.
pub(super) type CpuRecordsWritten = Vec<(String, u32, Vec<(u64, Vec<u8>)>)>;

/// Writes the test trace of variant `v`; returns the file, the expected
/// report lines (sorted) and the records written per (buffer, CPU).
pub(super) fn write_trace(v: Variant) -> (Vec<u8>, Vec<Expect>, CpuRecordsWritten) {
    let e = v.endian;
    let mut exp = Vec::new();
    let mut written: CpuRecordsWritten = Vec::new();
    let bytes = TraceDatWriter::to_vec(spec(v), |w| {
        // Top buffer, CPU 0: many records (many pages, two chunks).
        let recs: Vec<(u64, Vec<u8>)> = (0..800u64)
            .map(|i| (BASE + i * 1000, fields_payload(e, 100, i)))
            .collect();
        for (i, (ts, _)) in recs.iter().enumerate() {
            exp.push(expect("", 100, 0, *ts, fields_text(i as u64)));
        }
        w.write_cpu(
            "",
            Cpu(0),
            recs.iter().map(|(ts, p)| (Timestamp(*ts), p.as_slice())),
        )?;
        written.push((String::new(), 0, recs));

        // CPU 1 stays empty. CPU 2: time extends, lost events, a jump past
        // what a TIME_EXTEND holds (new page).
        w.begin_cpu("", Cpu(2))?;
        let mut recs = Vec::new();
        let t1 = BASE + 1;
        let t2 = t1 + (1 << 28);
        let t3 = t2 + (1 << 33) + 12_345;
        let t4 = t3 + 11;
        let t5 = (1 << 60) + 5;
        for (ts, i) in [(t1, 1), (t2, 2), (t3, 3)] {
            let p = fields_payload(e, 200, i);
            w.push(Timestamp(ts), &p)?;
            exp.push(expect("", 200, 2, ts, fields_text(i)));
            recs.push((ts, p));
        }
        w.push_lost_events(Some(5))?;
        let p = big_payload(e, 200, 4);
        w.push(Timestamp(t4), &p)?;
        let mut x = expect(
            "",
            200,
            2,
            t4,
            format!("test_big: seq=4 blob={}", big_blob(4)),
        );
        x.lost = Some("CPU:2 [5 EVENTS DROPPED]".into());
        exp.push(x);
        recs.push((t4, p));
        let p = fields_payload(e, 200, 5);
        w.push(Timestamp(t5), &p)?;
        exp.push(expect("", 200, 2, t5, fields_text(5)));
        recs.push((t5, p));
        w.end_cpu()?;
        written.push((String::new(), 2, recs));

        // CPU 3: one raw page with every record type.
        w.begin_cpu("", Cpu(3))?;
        let mut pb = PageBuilder::new(e, v.long, v.page_size as usize)?;
        let t = BASE + 3;
        pb.set_timestamp(t);
        pb.push_data(0, &fields_payload(e, 300, 10))?;
        exp.push(expect("", 300, 3, t, fields_text(10)));
        pb.push_padding(5, 12)?; // readers add a discarded event's delta
        pb.push_data(10, &fields_payload(e, 300, 11))?;
        exp.push(expect("", 300, 3, t + 15, fields_text(11)));
        pb.push_time_extend(3 << 27)?;
        pb.push_data(20, &fields_payload(e, 300, 12))?;
        let t = t + 15 + (3 << 27) + 20;
        exp.push(expect("", 300, 3, t, fields_text(12)));
        let t = BASE + 600_000_003;
        pb.push_time_stamp(t)?;
        pb.push_data(0, &fields_payload(e, 300, 13))?;
        exp.push(expect("", 300, 3, t, fields_text(13)));
        pb.push_data_long(7, &fields_payload(e, 300, 14))?;
        exp.push(expect("", 300, 3, t + 7, fields_text(14)));
        let print = EventPayload::new(e, ID_PRINT, 0, 0, Pid(100))
            .long(v.long, kernel_addr(v.long, 0x100))
            .bytes(b"hello world\0")
            .finish();
        pb.push_data(7, &print)?;
        exp.push(expect(
            "",
            100,
            3,
            t + 14,
            "print: ip=do_thing buf=hello world".into(),
        ));
        pb.push_null_padding()?;
        w.push_raw_page(pb.finish())?;
        w.end_cpu()?;

        // Instance: CPU 0 empty, CPU 1 long-form records and an unknown loss.
        w.begin_cpu("inst", Cpu(1))?;
        let mut recs = Vec::new();
        for seq in 0..5u32 {
            let ts = BASE + 7 + u64::from(seq) * 10_000;
            if seq == 3 {
                w.push_lost_events(None)?;
            }
            let p = big_payload(e, 100, seq);
            w.push(Timestamp(ts), &p)?;
            let mut x = expect(
                "inst",
                100,
                1,
                ts,
                format!("test_big: seq={seq} blob={}", big_blob(seq)),
            );
            if seq == 3 {
                x.lost = Some("CPU:1 [EVENTS DROPPED]".into());
            }
            exp.push(x);
            recs.push((ts, p));
        }
        w.end_cpu()?;
        written.push(("inst".into(), 1, recs));
        Ok(())
    })
    .unwrap_or_else(|err| panic!("{}: {err}", v.name()));
    exp.sort_by_key(|x| x.ts);
    for pair in exp.windows(2) {
        assert_ne!(pair[0].ts, pair[1].ts, "test timestamps must be unique");
    }
    (bytes, exp, written)
}
