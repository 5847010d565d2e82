//! Tests: files read back by the real trace-cmd, and the compressed layouts
//! checked against uncompressed ones.

use super::*;
use crate::endian::Endian;
use crate::types::{Cpu, Pid, Timestamp};

const ID_FIELDS: u16 = 1500;
const ID_BIG: u16 = 1501;

fn common_fields() -> &'static str {
    "\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\
     \tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n\
     \tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n\
     \tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n"
}

fn fields_format() -> String {
    format!(
        "name: test_fields\nID: {ID_FIELDS}\nformat:\n{}\
         \tfield:u8 f_u8;\toffset:8;\tsize:1;\tsigned:0;\n\
         \tfield:u16 f_u16;\toffset:10;\tsize:2;\tsigned:0;\n\
         \tfield:u32 f_u32;\toffset:12;\tsize:4;\tsigned:0;\n\
         \tfield:u64 f_u64;\toffset:16;\tsize:8;\tsigned:0;\n\
         \tfield:s32 f_s32;\toffset:24;\tsize:4;\tsigned:1;\n\
         \tfield:s64 f_s64;\toffset:32;\tsize:8;\tsigned:1;\n\
         \tfield:char comm[16];\toffset:40;\tsize:16;\tsigned:0;\n\
         \tfield:__data_loc char[] name;\toffset:56;\tsize:4;\tsigned:0;\n\n\
         print fmt: \"f_u8=%u f_u16=%u f_u32=%u f_u64=%llu f_s32=%d f_s64=%lld comm=%s name=%s\", \
         REC->f_u8, REC->f_u16, REC->f_u32, REC->f_u64, REC->f_s32, REC->f_s64, REC->comm, __get_str(name)\n",
        common_fields()
    )
}

fn big_format() -> String {
    format!(
        "name: test_big\nID: {ID_BIG}\nformat:\n{}\
         \tfield:u32 seq;\toffset:8;\tsize:4;\tsigned:0;\n\
         \tfield:char blob[120];\toffset:12;\tsize:120;\tsigned:0;\n\n\
         print fmt: \"seq=%u blob=%s\", REC->seq, REC->blob\n",
        common_fields()
    )
}

fn print_format(long: u8) -> String {
    format!(
        "name: print\nID: 5\nformat:\n{}\
         \tfield:unsigned long ip;\toffset:8;\tsize:{long};\tsigned:0;\n\
         \tfield:char buf[];\toffset:{};\tsize:0;\tsigned:0;\n\n\
         print fmt: \"%ps: %s\", (void *)REC->ip, REC->buf\n",
        common_fields(),
        8 + long
    )
}

fn spec(e: Endian, long: u8, v: FileVersion, c: Compression) -> TraceDatSpec {
    TraceDatSpec::new(e, long)
        .version(v)
        .compression(c)
        .ftrace_format(print_format(long))
        .event_format("mmrace", fields_format())
        .event_format("mmrace", big_format())
        .kallsyms("ffffffff81000000 T _stext\nffffffff81000100 t do_thing\n")
        .printk("")
        .cmdline(Pid(100), "worker")
        .cmdline(Pid(200), "other")
        .uname("Linux synth 6.1.0 s390x")
        .tracecmd_version("mmrace-writer-test")
        .trace_id(0x1122_3344_5566_7788)
        .buffer("", 4)
        .buffer("inst", 2)
        .cpustat("", Cpu(0), "CPU: 0\nentries: 0\n")
}

fn fields_payload(e: Endian, pid: i32, i: u64) -> Vec<u8> {
    EventPayload::new(e, ID_FIELDS, 1, 2, Pid(pid))
        .u8(i as u8)
        .pad_to(10)
        .u16(0xfff0 + (i % 7) as u16)
        .u32(i as u32 * 3)
        .u64(i << 40 | 5)
        .i32(-(i as i32))
        .pad_to(32)
        .i64(-(1 << 40) - i as i64)
        .char_array(format!("c{i}").as_bytes(), 16)
        .data_loc_str(&format!("name-{i}"))
        .finish()
}

fn big_payload(e: Endian, pid: i32, seq: u32) -> Vec<u8> {
    let blob = format!("blob-{seq}-").repeat(10);
    EventPayload::new(e, ID_BIG, 0, 0, Pid(pid))
        .u32(seq)
        .char_array(blob.as_bytes(), 120)
        .finish()
}

#[test]
fn scratch_write_files() {
    let dir = std::path::Path::new("/tmp/wr/out");
    std::fs::create_dir_all(dir).unwrap();
    for (name, e, long, v, c) in [
        ("le8-v7.dat", Endian::Little, 8, FileVersion::V7, Compression::None),
        ("be8-v6.dat", Endian::Big, 8, FileVersion::V6, Compression::None),
        ("le4-v6.dat", Endian::Little, 4, FileVersion::V6, Compression::None),
        ("le8-v7z.dat", Endian::Little, 8, FileVersion::V7, Compression::Zstd),
    ] {
        let bytes = TraceDatWriter::to_vec(spec(e, long, v, c), |w| {
            let base = 5_000_000_000u64;
            w.write_cpu(
                "",
                Cpu(0),
                (0..800u64).map(|i| (Timestamp(base + i * 1000), fields_payload(e, 100, i))),
            )?;
            w.begin_cpu("", Cpu(2))?;
            w.push(Timestamp(base + 1), &fields_payload(e, 200, 1))?;
            w.push(Timestamp(base + 1 + (1 << 28)), &fields_payload(e, 200, 2))?;
            w.push_lost_events(Some(5))?;
            w.push(Timestamp(base + 3 + (1 << 33)), &big_payload(e, 200, 3))?;
            w.end_cpu()?;
            w.begin_cpu("", Cpu(3))?;
            let mut pb = PageBuilder::new(e, long, 4096)?;
            pb.set_timestamp(base + 3);
            pb.push_data(0, &fields_payload(e, 300, 10))?;
            pb.push_padding(5, 12)?;
            pb.push_data(10, &fields_payload(e, 300, 11))?;
            pb.push_time_extend(3 << 27)?;
            pb.push_data(20, &fields_payload(e, 300, 12))?;
            pb.push_time_stamp(base + 1_000_003)?;
            pb.push_data(0, &fields_payload(e, 300, 13))?;
            pb.push_data_long(7, &fields_payload(e, 300, 14))?;
            let mut pr = EventPayload::new(e, 5, 0, 0, Pid(100));
            pr.long(long, 0xffffffff81000100).bytes(b"hello world\n\0");
            pb.push_data(7, &pr.finish())?;
            pb.push_null_padding()?;
            w.push_raw_page(pb.finish())?;
            w.end_cpu()?;
            w.write_cpu("inst", Cpu(1), (0..3u32).map(|i| (Timestamp(base + 7 + u64::from(i) * 10_000), big_payload(e, 100, i))))?;
            Ok(())
        })
        .unwrap();
        std::fs::write(dir.join(name), bytes).unwrap();
    }
}
