//! Writes the seed corpora of the fuzz targets (`parsers/fuzz/corpus/*/seed-*`)
//! from the repository's fixtures, kept small: each trace.dat seed is a real
//! fixture's first records per CPU (with their event formats, a few
//! kallsyms lines, saved cmdlines, lost-event notes) rewritten in the same
//! version, compression, byte order and long size; page seeds are real
//! pages; format and print fmt seeds are the fixtures' own event formats.
//!
//! ```sh
//! cargo run -p mmrace-parsers --example fuzz_seeds
//! ```

use mmrace_parsers::format::{EventFormat, Field};
use mmrace_parsers::tracedat::writer::{Compression, FileVersion, TraceDatSpec, TraceDatWriter};
use mmrace_parsers::tracedat::{self, Item, TraceDat};
use mmrace_parsers::types::Cpu;
use std::collections::BTreeSet;
use std::path::Path;

/// Records kept per CPU in a trace.dat seed.
const RECORDS_PER_CPU: usize = 24;

const TRACE_SEEDS: &[&str] = &[
    "x86_64/x86_64-v6.dat",
    "x86_64/x86_64-v7.dat",
    "x86_64/x86_64-v7-zstd.dat",
    "x86_64/x86_64-v7-zlib.dat",
    "x86_64/x86_64-multibuf.dat",
    "s390x/func-v6.dat",
    "s390x/func-v7.dat",
    "arm64/full-v7.dat",
    "public/trappy_tests_trace_arm32_v6.dat",
    "public/sched_load_v6_bigendian.dat",
];

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let fixtures = root.join("../fixtures");
    let corpus = root.join("fuzz/corpus");
    for t in ["tracedat", "page", "event_format", "print_fmt"] {
        std::fs::create_dir_all(corpus.join(t)).unwrap();
    }
    let mut formats_seen = BTreeSet::new();
    for (n, name) in TRACE_SEEDS.iter().enumerate() {
        let bytes = std::fs::read(fixtures.join(name)).unwrap();
        let t = TraceDat::parse(&bytes).unwrap();
        let stem = Path::new(name).file_stem().unwrap().to_string_lossy();
        let seed = small_copy(&t);
        TraceDat::parse(&seed).expect("seed parses");
        std::fs::write(corpus.join(format!("tracedat/seed-{stem}")), &seed).unwrap();
        // Real pages: the first page of the first CPU with data.
        if let Some(page) = first_page(&t) {
            let cfg = u8::from(t.endian.is_big()) | (u8::from(t.long_size == 4) << 1);
            let mut p = vec![cfg];
            p.extend_from_slice(page);
            std::fs::write(corpus.join(format!("page/seed-{stem}")), p).unwrap();
        }
        // Formats: the ones the seed's records use, one seed per event name.
        let used = used_formats(&t);
        for f in t.formats.iter().filter(|f| used.contains(&f.id.0)) {
            if !formats_seen.insert(f.name.clone()) || formats_seen.len() > 40 {
                continue;
            }
            let cfg = u8::from(t.long_size == 4);
            let payload = first_payload(&t, f.id.0).unwrap_or_default();
            let mut e = vec![cfg];
            e.extend_from_slice(format_text(f, true).as_bytes());
            e.push(0);
            e.extend_from_slice(&payload);
            std::fs::write(corpus.join(format!("event_format/seed-{n}-{}", f.name)), e).unwrap();
            let mut p = vec![cfg];
            p.extend_from_slice(format_text(f, false).as_bytes());
            p.push(0);
            p.extend_from_slice(f.print_fmt.as_bytes());
            p.push(0);
            p.extend_from_slice(&payload);
            std::fs::write(corpus.join(format!("print_fmt/seed-{n}-{}", f.name)), p).unwrap();
        }
    }
    // Structured page programs: one of each operation, both byte orders.
    for cfg in [8u8, 9, 10, 15] {
        let prog: Vec<u8> = [0u8, 1, 2, 3, 4, 12, 0, 5, 0, 6, 0]
            .iter()
            .flat_map(|&op| [op, 7, 0, 1, 0])
            .collect();
        let mut p = vec![cfg];
        p.extend(prog);
        std::fs::write(corpus.join(format!("page/seed-program-{cfg}")), p).unwrap();
    }
}

/// Event ids of the records in the first pages of every CPU.
fn used_formats(t: &TraceDat<'_>) -> BTreeSet<u32> {
    let mut ids = BTreeSet::new();
    for mut s in t.all_cpu_records() {
        let mut n = 0;
        while let Some(Ok(it)) = s.next_item() {
            if let Item::Record(r) = it {
                if let Some(id) = t.record_event_id(r.payload) {
                    ids.insert(id.0);
                }
                n += 1;
                if n >= RECORDS_PER_CPU {
                    break;
                }
            }
        }
    }
    ids
}

fn first_payload(t: &TraceDat<'_>, id: u32) -> Option<Vec<u8>> {
    let mut m = t.merged_records();
    while let Some(r) = m.next_record() {
        let r = r.ok()?;
        if t.record_event_id(r.payload).map(|i| i.0) == Some(id) {
            return Some(r.payload.to_vec());
        }
    }
    None
}

fn first_page<'a>(t: &TraceDat<'a>) -> Option<&'a [u8]> {
    let b = t.buffers.first()?;
    let ps = b.page_size as usize;
    b.cpus
        .iter()
        .filter(|c| !c.is_compressed() && c.size >= ps as u64)
        .map(|c| &t.bytes()[c.offset as usize..c.offset as usize + ps])
        .next()
}

/// The format file text of `f`, as the kernel prints it.
fn format_text(f: &EventFormat, with_print_fmt: bool) -> String {
    let line = |x: &Field| {
        let decl = match x.array_len {
            Some(n) if !x.type_name.contains('[') => format!("{} {}[{n}]", x.type_name, x.name),
            None if x.flags.array && !x.type_name.contains('[') => {
                format!("{} {}[]", x.type_name, x.name)
            }
            _ => format!("{} {}", x.type_name, x.name),
        };
        format!(
            "\tfield:{decl};\toffset:{};\tsize:{};\tsigned:{};\n",
            x.offset,
            x.size,
            u8::from(x.flags.signed)
        )
    };
    let mut s = format!("name: {}\nID: {}\nformat:\n", f.name, f.id.0);
    f.common_fields.iter().for_each(|x| s.push_str(&line(x)));
    s.push('\n');
    f.fields.iter().for_each(|x| s.push_str(&line(x)));
    if with_print_fmt {
        s.push_str(&format!("\nprint fmt: {}\n", f.print_fmt));
    }
    s
}

/// The fixture's first records per CPU, rewritten as a small file.
fn small_copy(t: &TraceDat<'_>) -> Vec<u8> {
    let used = used_formats(t);
    let mut spec = TraceDatSpec::new(t.endian, t.long_size as u8)
        .version(if t.version == 6 {
            FileVersion::V6
        } else {
            FileVersion::V7
        })
        .compression(match t.compression {
            tracedat::Compression::None => Compression::None,
            tracedat::Compression::Zstd(_) => Compression::Zstd,
            tracedat::Compression::Zlib(_) => Compression::Zlib,
        })
        .page_size(t.header_page_size)
        .clock(t.options.clock.as_deref().unwrap_or("local"));
    if let Some(u) = &t.options.uname {
        spec = spec.uname(u);
    }
    for f in t.formats.iter().filter(|f| used.contains(&f.id.0)) {
        let text = format_text(f, true);
        spec = if f.system == "ftrace" {
            spec.ftrace_format(text)
        } else {
            spec.event_format(&f.system, text)
        };
    }
    let ks: Vec<u8> = t
        .kallsyms
        .split(|&b| b == b'\n')
        .take(16)
        .flat_map(|l| l.iter().copied().chain([b'\n']))
        .collect();
    spec = spec.kallsyms(ks);
    for (pid, comm) in t.cmdlines.iter().take(8) {
        spec = spec.cmdline(*pid, comm);
    }
    for b in &t.buffers {
        spec = spec.buffer(&b.name, b.cpus.len() as u32);
    }
    TraceDatWriter::to_vec(spec, |w| {
        for (bi, b) in t.buffers.iter().enumerate() {
            for (ci, c) in b.cpus.iter().enumerate() {
                w.begin_cpu(&b.name, Cpu(c.cpu.0))?;
                let mut s = t.cpu_records(bi, ci).unwrap();
                let mut n = 0;
                let mut last = 0;
                while let Some(Ok(it)) = s.next_item() {
                    match it {
                        Item::Record(r) if r.ts.0 >= last => {
                            last = r.ts.0;
                            w.push(r.ts, r.payload)?;
                            n += 1;
                        }
                        Item::Lost(l) => w.push_lost_events(l.count)?,
                        Item::Record(_) => {}
                    }
                    if n >= RECORDS_PER_CPU {
                        break;
                    }
                }
                w.end_cpu()?;
            }
        }
        Ok(())
    })
    .unwrap()
}
