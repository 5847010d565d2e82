//! Every named limit on a size or count read from a file, exceeded: the
//! reader returns an error (or a warning) naming the limit and the byte
//! offset, without allocating by the claimed size. Files are built by hand
//! (version 6, sequential) or written by the writer and patched (version 7).

use mmrace_parsers::format::{EventFormat, MAX_FIELDS, MAX_FORMAT_TEXT};
use mmrace_parsers::printfmt::{
    MAX_ARGS, MAX_OUTPUT, MAX_PRINT_FMT_LEN, MAX_TABLE, MAX_TOKENS, MAX_WIDTH, PrintFmt,
    PrintFmtError, RenderCtx,
};
use mmrace_parsers::symbols::NoSymbols;
use mmrace_parsers::tracedat::writer::{Compression, FileVersion, TraceDatSpec, TraceDatWriter};
use mmrace_parsers::tracedat::{
    Item, MAX_CHUNK_UNCOMPRESSED, MAX_CHUNKS, MAX_COMPRESSION_RATIO, MAX_CPUS, MAX_EVENT_FORMATS,
    MAX_FORMAT_WARNINGS, MAX_OPTION_SECTIONS, MAX_OPTIONS, MAX_PAGE_SIZE, MAX_SYSTEMS, TraceDat,
};
use mmrace_parsers::types::{Cpu, Pid};
use mmrace_parsers::{Endian, Error, ErrorKind};

const HEADER_PAGE: &str = "\tfield: u64 timestamp;\toffset:0;\tsize:8;\tsigned:0;\n\tfield: local_t commit;\toffset:8;\tsize:8;\tsigned:1;\n\tfield: char data;\toffset:16;\tsize:4080;\tsigned:0;\n";

const FORMAT: &str = "name: ev\nID: 100\nformat:\n\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n\tfield:u32 seq;\toffset:8;\tsize:4;\tsigned:0;\n\nprint fmt: \"seq=%u\", REC->seq\n";

/// The parts of a hand-made little-endian version 6 file.
struct V6 {
    page_size: u32,
    /// The ftrace formats block: `u32 count` then `u64 size` + text each.
    ftrace: Vec<u8>,
    /// The event systems block: `u32 count` then name, `u32 count`, formats.
    systems: Vec<u8>,
    cpus: u32,
    /// Options: `u16 id, u32 size, payload` each (the terminating 0 added).
    options: Vec<u8>,
}

impl Default for V6 {
    fn default() -> Self {
        V6 {
            page_size: 4096,
            ftrace: 0u32.to_le_bytes().to_vec(),
            systems: 0u32.to_le_bytes().to_vec(),
            cpus: 0,
            options: Vec::new(),
        }
    }
}

fn sized64(out: &mut Vec<u8>, text: &[u8]) {
    out.extend_from_slice(&(text.len() as u64).to_le_bytes());
    out.extend_from_slice(text);
}

fn formats(texts: &[&[u8]]) -> Vec<u8> {
    let mut v = (texts.len() as u32).to_le_bytes().to_vec();
    for t in texts {
        sized64(&mut v, t);
    }
    v
}

impl V6 {
    fn bytes(&self) -> Vec<u8> {
        let mut d = b"\x17\x08\x44tracing6\0".to_vec();
        d.extend_from_slice(&[0, 8]);
        d.extend_from_slice(&self.page_size.to_le_bytes());
        d.extend_from_slice(b"header_page\0");
        sized64(&mut d, HEADER_PAGE.as_bytes());
        d.extend_from_slice(b"header_event\0");
        sized64(&mut d, b"# compressed entry header\n");
        d.extend_from_slice(&self.ftrace);
        d.extend_from_slice(&self.systems);
        d.extend_from_slice(&0u32.to_le_bytes()); // kallsyms
        d.extend_from_slice(&0u32.to_le_bytes()); // printk
        d.extend_from_slice(&0u64.to_le_bytes()); // cmdlines
        d.extend_from_slice(&self.cpus.to_le_bytes());
        if !self.options.is_empty() {
            d.extend_from_slice(b"options  \0");
            d.extend_from_slice(&self.options);
            d.extend_from_slice(&0u16.to_le_bytes());
        }
        d.extend_from_slice(b"flyrecord\0");
        for _ in 0..self.cpus {
            d.extend_from_slice(&[0; 16]);
        }
        d
    }
}

fn too_large(e: &Error) -> (&'static str, u64, u64) {
    match e.kind {
        ErrorKind::TooLarge { what, size, max } => (what, size, max),
        ref k => panic!("not a TooLarge error: {k:?} at {}", e.offset),
    }
}

#[test]
fn the_hand_made_file_parses() {
    let d = V6::default().bytes();
    let t = TraceDat::parse(&d).unwrap();
    assert_eq!((t.version, t.formats.len()), (6, 0));
    let v = V6 {
        ftrace: formats(&[FORMAT.as_bytes()]),
        cpus: 2,
        ..V6::default()
    };
    let d = v.bytes();
    let t = TraceDat::parse(&d).unwrap();
    assert_eq!((t.formats.len(), t.buffers[0].cpus.len()), (1, 2));
}

#[test]
fn page_size_limit() {
    for (ps, ok) in [
        (MAX_PAGE_SIZE, true),
        (MAX_PAGE_SIZE + 1, false),
        (0, false),
    ] {
        let v = V6 {
            page_size: ps,
            ..V6::default()
        };
        match TraceDat::parse(&v.bytes()) {
            Ok(_) => assert!(ok, "page size {ps} accepted"),
            Err(e) => {
                assert!(!ok, "page size {ps}: {e}");
                assert_eq!(e.offset.0, 14, "{e}");
            }
        }
    }
}

#[test]
fn event_format_count_limits() {
    let mut ftrace = (MAX_EVENT_FORMATS + 1).to_le_bytes().to_vec();
    ftrace.extend_from_slice(&[0; 64]);
    let v = V6 {
        ftrace,
        ..V6::default()
    };
    let e = TraceDat::parse(&v.bytes()).unwrap_err();
    assert_eq!(
        too_large(&e),
        (
            "ftrace format count",
            u64::from(MAX_EVENT_FORMATS) + 1,
            u64::from(MAX_EVENT_FORMATS)
        )
    );
    let mut systems = 1u32.to_le_bytes().to_vec();
    systems.extend_from_slice(b"sched\0");
    systems.extend_from_slice(&(MAX_EVENT_FORMATS + 1).to_le_bytes());
    let v = V6 {
        systems,
        ..V6::default()
    };
    let e = TraceDat::parse(&v.bytes()).unwrap_err();
    assert_eq!(too_large(&e).0, "event count");
    let mut systems = (MAX_SYSTEMS + 1).to_le_bytes().to_vec();
    systems.extend_from_slice(&[0; 64]);
    let v = V6 {
        systems,
        ..V6::default()
    };
    let e = TraceDat::parse(&v.bytes()).unwrap_err();
    assert_eq!(too_large(&e).0, "event system count");
}

#[test]
fn cpu_count_limit() {
    let v = V6 {
        cpus: MAX_CPUS + 1,
        ..V6::default()
    };
    let e = TraceDat::parse(&v.bytes()).unwrap_err();
    assert_eq!(too_large(&e).0, "cpu count");
    let v = V6 {
        cpus: MAX_CPUS,
        ..V6::default()
    };
    assert_eq!(
        TraceDat::parse(&v.bytes()).unwrap().buffers[0].cpus.len(),
        MAX_CPUS as usize
    );
}

#[test]
fn option_count_limit() {
    let mut options = Vec::new();
    for _ in 0..=MAX_OPTIONS {
        options.extend_from_slice(&100u16.to_le_bytes());
        options.extend_from_slice(&0u32.to_le_bytes());
    }
    let v = V6 {
        options,
        ..V6::default()
    };
    let e = TraceDat::parse(&v.bytes()).unwrap_err();
    assert_eq!(too_large(&e).0, "option count");
}

#[test]
fn format_text_and_field_limits() {
    let mut long = FORMAT.as_bytes().to_vec();
    long.resize(MAX_FORMAT_TEXT + 1, b'\n');
    let mut fields = String::from(
        "name: wide\nID: 7\nformat:\n\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n",
    );
    for i in 0..=MAX_FIELDS {
        fields.push_str(&format!(
            "\tfield:int f{i};\toffset:8;\tsize:4;\tsigned:1;\n"
        ));
    }
    let v = V6 {
        ftrace: formats(&[&long, fields.as_bytes(), FORMAT.as_bytes()]),
        ..V6::default()
    };
    let d = v.bytes();
    let t = TraceDat::parse(&d).unwrap();
    assert_eq!(t.formats.len(), 1, "only the good format is kept");
    let whats: Vec<_> = t.warnings.iter().map(|w| too_large(w).0).collect();
    assert_eq!(whats, ["event format text", "field count"]);
    // The field count limit is exact.
    let cut = fields.find(&format!("\tfield:int f{MAX_FIELDS};")).unwrap();
    let at_limit = &fields[..cut];
    let f = EventFormat::parse("x", at_limit.as_bytes(), 0).unwrap();
    assert_eq!(f.fields.len(), MAX_FIELDS);
}

#[test]
fn format_warnings_are_capped() {
    let bad: Vec<&[u8]> = vec![b"no name here"; MAX_FORMAT_WARNINGS + 50];
    let v = V6 {
        ftrace: formats(&bad),
        ..V6::default()
    };
    let d = v.bytes();
    let t = TraceDat::parse(&d).unwrap();
    assert_eq!(t.warnings.len(), MAX_FORMAT_WARNINGS + 1);
    assert_eq!(
        too_large(t.warnings.last().unwrap()).2,
        MAX_FORMAT_WARNINGS as u64
    );
}

/// A version 7 file from the writer, one CPU with `n` records.
fn v7(c: Compression, n: u64) -> Vec<u8> {
    let spec = TraceDatSpec::new(Endian::Little, 8)
        .version(FileVersion::V7)
        .compression(c)
        .event_format("test", FORMAT)
        .cmdline(Pid(1), "x")
        .buffer("", 1);
    TraceDatWriter::to_vec(spec, |w| {
        w.write_cpu(
            "",
            Cpu(0),
            (0..n).map(|i| {
                let mut p = vec![100, 0, 0, 0, 1, 0, 0, 0];
                p.extend_from_slice(&(i as u32).to_le_bytes());
                (mmrace_parsers::types::Timestamp(1000 + i * 7), p)
            }),
        )
    })
    .unwrap()
}

fn u32_at(d: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(d[at..at + 4].try_into().unwrap())
}

/// The first item of CPU 0 that is an error, after how many records.
fn first_error(d: &[u8]) -> (u64, Error) {
    let t = TraceDat::parse(d).unwrap();
    let mut s = t.cpu_records(0, 0).unwrap();
    let mut n = 0;
    while let Some(it) = s.next_item() {
        match it {
            Ok(Item::Record(_)) => n += 1,
            Ok(Item::Lost(_)) => {}
            Err(e) => return (n, e),
        }
    }
    panic!("no error after {n} records");
}

#[test]
fn options_section_chain_limit() {
    let mut d = v7(Compression::None, 10);
    // Header: magic, "7\0", endian, long size, page size, "none\0", "\0"...
    let mut p = 10 + 2 + 2 + 4;
    for _ in 0..2 {
        p += d[p..].iter().position(|&b| b == 0).unwrap() + 1;
    }
    let first = u64::from_le_bytes(d[p..p + 8].try_into().unwrap());
    // The first options section: its DONE option (id 0) points to the next
    // section; point it back to itself.
    let payload = first as usize + 16;
    let size = u64::from_le_bytes(d[first as usize + 8..payload].try_into().unwrap()) as usize;
    let mut o = payload;
    let mut patched = false;
    while o + 6 <= payload + size {
        let id = u16::from_le_bytes([d[o], d[o + 1]]);
        let len = u32_at(&d, o + 2) as usize;
        if id == 0 {
            d[o + 6..o + 14].copy_from_slice(&first.to_le_bytes());
            patched = true;
            break;
        }
        o += 6 + len;
    }
    assert!(patched, "the first options section has a DONE option");
    let e = TraceDat::parse(&d).unwrap_err();
    assert_eq!(
        too_large(&e),
        (
            "options section chain",
            MAX_OPTION_SECTIONS as u64 + 1,
            MAX_OPTION_SECTIONS as u64
        )
    );
    assert_eq!(e.offset.0, first);
}

#[test]
fn chunk_count_and_size_limits() {
    let d = v7(Compression::Zstd, 3000);
    let (cpu_off, chunk) = {
        let t = TraceDat::parse(&d).unwrap();
        let c = &t.buffers[0].cpus[0];
        assert!(c.chunks().len() >= 2, "several chunks");
        (c.offset as usize, c.chunks()[1].offset() as usize)
    };
    let csize = u32_at(&d, chunk);
    // Chunk count.
    let mut m = d.clone();
    m[cpu_off..cpu_off + 4].copy_from_slice(&(MAX_CHUNKS + 1).to_le_bytes());
    let (n, e) = first_error(&m);
    assert_eq!((n, too_large(&e).0), (0, "chunk count"));
    assert_eq!((e.offset.0, e.cpu), (cpu_off as u64, Some(Cpu(0))));
    // A claim above the ratio limit: the chunks before it are read.
    let mut m = d.clone();
    let claim = u64::from(csize) * MAX_COMPRESSION_RATIO + 1;
    m[chunk + 4..chunk + 8].copy_from_slice(&(claim as u32).to_le_bytes());
    let (n, e) = first_error(&m);
    assert!(n > 0, "records of the first chunk");
    assert_eq!(too_large(&e).0, "uncompressed size claim");
    assert_eq!(e.offset.0, chunk as u64);
    // A claim above the absolute limit (with a compressed size to match).
    let mut m = d.clone();
    m[chunk + 4..chunk + 8].copy_from_slice(&(MAX_CHUNK_UNCOMPRESSED as u32 + 1).to_le_bytes());
    let (_, e) = first_error(&m);
    assert_eq!(too_large(&e).2, MAX_CHUNK_UNCOMPRESSED);
    // A false claim within the limits: a decompression error at the chunk,
    // not an allocation of the claimed size.
    let mut m = d;
    let claim = u64::from(csize) * MAX_COMPRESSION_RATIO - 1;
    m[chunk + 4..chunk + 8].copy_from_slice(&(claim as u32).to_le_bytes());
    let (_, e) = first_error(&m);
    assert!(matches!(e.kind, ErrorKind::Decompress(_)), "{e}");
    assert_eq!(e.offset.0, chunk as u64);
}

#[test]
fn print_fmt_limits() {
    let ev = EventFormat::parse("x", FORMAT.as_bytes(), 0).unwrap();
    let parse = |t: &str| PrintFmt::parse(t, &ev, 8);
    let long = format!("\"{}\"", "a".repeat(MAX_PRINT_FMT_LEN));
    assert_eq!(parse(&long), Err(PrintFmtError::TooLarge("print fmt text")));
    let args = format!(
        "\"{}\", {}",
        "%d".repeat(MAX_ARGS + 1),
        vec!["1"; MAX_ARGS + 1].join(", ")
    );
    assert_eq!(parse(&args), Err(PrintFmtError::TooLarge("argument count")));
    let table = format!(
        "\"%s\", __print_symbolic(REC->seq, {})",
        vec!["{1,\"a\"}"; MAX_TABLE + 1].join(",")
    );
    assert!(table.len() < MAX_PRINT_FMT_LEN);
    // A table entry takes at least six tokens, so the token limit refuses
    // such a table first; one within both limits parses.
    assert!(matches!(parse(&table), Err(PrintFmtError::TooLarge(_))));
    let ok = format!(
        "\"%s\", __print_symbolic(REC->seq, {})",
        vec!["{1,\"a\"}"; MAX_TOKENS / 7].join(",")
    );
    assert!(parse(&ok).is_ok());
    let tokens = format!(
        "\"%s\", __print_symbolic(REC->seq, {})",
        vec!["{1,\"\"}"; MAX_TOKENS / 3].join(",")
    );
    assert!(tokens.len() < MAX_PRINT_FMT_LEN);
    assert!(matches!(
        parse(&tokens),
        Err(PrintFmtError::TooLarge("token count"))
    ));
    let wide = format!("\"%{}d\", 1", MAX_WIDTH + 1);
    let pf = parse(&wide);
    let mut out = Vec::new();
    let ctx = RenderCtx::new(Endian::Little, 8, &NoSymbols);
    let payload = [100, 0, 0, 0, 1, 0, 0, 0, 5, 0, 0, 0];
    let r = pf.and_then(|p| p.render(&payload, &ctx, &mut out));
    assert_eq!(
        r,
        Err(PrintFmtError::TooLarge("conversion width or precision"))
    );
    let n = MAX_OUTPUT / MAX_WIDTH + 1;
    let big = format!(
        "\"{}\", {}",
        format!("%{MAX_WIDTH}d").repeat(n),
        vec!["1"; n].join(", ")
    );
    let p = parse(&big).unwrap();
    let mut out = Vec::new();
    assert_eq!(
        p.render(&payload, &ctx, &mut out),
        Err(PrintFmtError::TooLarge("rendered text"))
    );
    assert!(out.is_empty());
}
