//! Lost-events lines in files with instance buffers, against the real
//! trace-cmd.
//!
//! No fixture drops events, so this writes a file that does: a top buffer
//! and two instances whose names differ in length, each losing events on
//! some CPU (with and without a stored count). `trace-cmd report -N -t` and
//! `report -N -R -t` must print exactly what `mmrace dump` and
//! `dump --raw` print. trace-cmd prints a buffer's prefix (`%*s: `, the name
//! right-aligned to the longest) before `CPU:N [EVENTS DROPPED]`, and the
//! record that follows on the next line without one.
//!
//! trace-cmd is needed: when `CI` is set its absence fails the test.

use mmrace::dump::{DumpOptions, dump};
use mmrace_parsers::Endian;
use mmrace_parsers::tracedat::TraceDat;
use mmrace_parsers::tracedat::writer::{EventPayload, TraceDatSpec, TraceDatWriter};
use mmrace_parsers::types::{Cpu, Pid, Timestamp};
mod trace_cmd;

const FORMAT: &str = "name: tick\nID: 501\nformat:\n\
    \tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\
    \tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n\
    \tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n\
    \tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n\
    \tfield:u64 seq;\toffset:8;\tsize:8;\tsigned:0;\n\
    \tfield:unsigned long addr;\toffset:16;\tsize:8;\tsigned:0;\n\n\
    print fmt: \"seq=%llu addr=%lx\", REC->seq, REC->addr\n";

fn payload(e: Endian, pid: i32, seq: u64) -> Vec<u8> {
    EventPayload::new(e, 501, 0, 0, Pid(pid))
        .u64(seq)
        .long(8, 0xffff_8000_0000_0000 | seq)
        .finish()
}

/// (buffer, cpu, lost before the record with this index, lost count)
const LOSSES: &[(&str, u32, u64, Option<u64>)] = &[
    ("", 1, 2, Some(7)),
    ("mm", 0, 1, None),
    ("sched", 0, 3, Some(3)),
    ("sched", 0, 5, None),
];

fn write_trace(e: Endian) -> Vec<u8> {
    let spec = TraceDatSpec::new(e, 8)
        .event_format("demo", FORMAT)
        .cmdline(Pid(42), "worker")
        .cmdline(Pid(7), "kthread")
        .buffer("", 2)
        .buffer("mm", 2)
        .buffer("sched", 1);
    TraceDatWriter::to_vec(spec, |w| {
        let mut k = 0u64;
        for (buffer, cpus) in [("", 2u32), ("mm", 2), ("sched", 1)] {
            for cpu in 0..cpus {
                w.begin_cpu(buffer, Cpu(cpu))?;
                for i in 0..8u64 {
                    if let Some(l) = LOSSES
                        .iter()
                        .find(|l| l.0 == buffer && l.1 == cpu && l.2 == i)
                    {
                        w.push_lost_events(l.3)?;
                    }
                    k += 1;
                    let ts = 5_000_000_000 + i * 1_000_000 + k * 10;
                    let pid = if k % 3 == 0 { 7 } else { 42 };
                    w.push(Timestamp(ts), &payload(e, pid, k))?;
                }
                w.end_cpu()?;
            }
        }
        Ok(())
    })
    .unwrap()
}

#[test]
fn lost_events_in_instance_buffers_print_as_trace_cmd_prints_them() {
    if !trace_cmd::available() {
        return;
    }
    let dir = std::env::temp_dir().join(format!("mmrace-lost-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for e in [Endian::Little, Endian::Big] {
        let bytes = write_trace(e);
        let path = dir.join(format!("lost-{e:?}.dat"));
        std::fs::write(&path, &bytes).unwrap();
        let t = TraceDat::parse(&bytes).unwrap();
        for raw in [false, true] {
            let mut got = Vec::new();
            let s = dump(
                &t,
                &DumpOptions {
                    raw,
                    ..Default::default()
                },
                &mut got,
            )
            .unwrap();
            assert!(s.errors.is_empty(), "{:?}", s.errors);
            let want = trace_cmd::report(&path, raw);
            let (g, w) = (
                String::from_utf8_lossy(&got),
                String::from_utf8_lossy(&want),
            );
            assert_eq!(g, w, "{e:?} raw={raw}");
            assert_eq!(
                g.matches("EVENTS DROPPED]").count(),
                LOSSES.len(),
                "{e:?} raw={raw}: every loss is shown"
            );
            // The prefix is right-aligned to the longest instance name.
            assert!(g.contains("\n   mm: CPU:0 [EVENTS DROPPED]\n"), "{g}");
            assert!(g.contains("\nsched: CPU:0 [3 EVENTS DROPPED]\n"), "{g}");
            assert!(g.contains("\n       CPU:1 [7 EVENTS DROPPED]\n"), "{g}");
        }
    }
    if std::env::var_os("MMRACE_KEEP_TEST_FILES").is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
}
