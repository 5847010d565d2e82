//! Regression tests for what fuzzing found: each input under
//! `fixtures/corrupt/` is named after the bug it triggered and is run
//! through the same invariant checks as its fuzz target
//! (`parsers/fuzz/src/lib.rs`, included here), which panicked on it before
//! the fix.

#[path = "../fuzz/src/lib.rs"]
#[allow(dead_code, missing_docs)]
mod checks;

fn input(name: &str) -> Vec<u8> {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/corrupt")
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// A field declaration whose name follows a multi-byte (invalid UTF-8
/// replacement) character: the name split sliced inside the character.
#[test]
fn event_format_field_name_after_multibyte_char() {
    checks::check_event_format_input(&input("event_format-field-name-after-multibyte-char.bin"));
    let f = mmrace_parsers::format::EventFormat::parse(
        "x",
        "name: e\nID: 1\nformat:\n\tfield:unsigned \u{e9}x;\toffset:0;\tsize:2;\tsigned:0;\n"
            .as_bytes(),
        0,
    )
    .unwrap();
    assert_eq!(f.common_fields[0].name, "x");
    assert_eq!(f.common_fields[0].type_name, "unsigned \u{e9}");
}

/// The same bug met through a whole file's event formats.
#[test]
fn tracedat_field_name_after_multibyte_char() {
    let s = checks::check_tracedat(&input("tracedat-field-name-after-multibyte-char.bin"));
    assert!(s.parsed);
}

/// header_page field offsets are the file's numbers: an offset near the top
/// of `usize` overflowed the layout check (a panic in debug builds), and a
/// timestamp beyond the data was read at page start + that offset.
#[test]
fn header_page_offsets_near_the_top_of_usize() {
    use mmrace_parsers::format::HeaderPage;
    let page = |ts: &str, commit: &str| {
        format!(
            "\tfield: u64 timestamp;\toffset:{ts};\tsize:8;\tsigned:0;\n\tfield: local_t commit;\toffset:{commit};\tsize:8;\tsigned:1;\n\tfield: char data;\toffset:16;\tsize:4080;\tsigned:0;\n"
        )
    };
    assert!(HeaderPage::parse(page("0", "8").as_bytes(), 0).is_ok());
    for (ts, commit) in [
        // Negative numbers are read as i64 and kept as u64, as
        // libtraceevent's strtoul does.
        ("0", "-1"),
        ("-1", "8"),
        ("-8", "8"),
        ("12", "8"),
    ] {
        let e = HeaderPage::parse(page(ts, commit).as_bytes(), 40).unwrap_err();
        assert_eq!(e.offset.0, 40, "{ts} {commit}: {e}");
    }
}

/// The fuzz seeds pass their targets' checks, and the timestamp invariant
/// is really checked: every record of an uncompressed seed has its
/// timestamp recomputed from its page's bytes.
#[test]
fn fuzz_seeds_pass_the_checks() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    let seeds = |t: &str| {
        let mut v: Vec<_> = std::fs::read_dir(dir.join(t))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("seed-")
            })
            .collect();
        v.sort();
        v
    };
    let mut full = 0;
    for p in seeds("tracedat") {
        let d = std::fs::read(&p).unwrap();
        let s = checks::check_tracedat(&d);
        assert!(s.parsed && s.records > 0, "{}: {s:?}", p.display());
        assert_eq!(s.errors, 0, "{}: {s:?}", p.display());
        let t = mmrace_parsers::tracedat::TraceDat::parse(&d).unwrap();
        if !t.buffers[0].cpus[0].is_compressed() {
            assert_eq!(s.ts_checked, s.records, "{}", p.display());
            full += 1;
        }
    }
    assert!(full >= 5, "{full} uncompressed seeds");
    for p in seeds("page") {
        checks::check_page(&std::fs::read(p).unwrap());
    }
    for p in seeds("event_format") {
        checks::check_event_format_input(&std::fs::read(p).unwrap());
    }
    for p in seeds("print_fmt") {
        checks::check_print_fmt_input(&std::fs::read(p).unwrap());
    }
    let perf = seeds("perf_data");
    assert!(perf.len() >= 2, "perf.data seeds");
    for p in perf {
        checks::check_perf_data(&std::fs::read(p).unwrap());
    }
}

/// The perf.data check itself runs on the whole real fixture (every
/// sample rendered, file and time order agree).
#[test]
fn perf_data_fixture_passes_the_checks() {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/x86_64/x86_64-perf.data");
    checks::check_perf_data(&std::fs::read(p).unwrap());
}

/// A `__data_loc` field whose offset plus size overflows (the format file
/// says `size:-4`): the print fmt evaluator added them unchecked (a panic
/// with overflow checks, a wrong bound without). Found by `print_fmt`, and
/// by `event_format` through another field.
#[test]
fn data_loc_offset_plus_size_overflow() {
    checks::check_print_fmt_input(&input("print_fmt-data-loc-offset-plus-size-overflow.bin"));
    checks::check_event_format_input(&input(
        "event_format-data-loc-offset-plus-size-overflow.bin",
    ));
}

/// A buffer whose page size (3) cannot hold the page header: each CPU
/// stream is made with that error as its first item. `next_item` stepped
/// past it (the merged reader, which peeks first, saw it), so reading a CPU
/// stream alone reported nothing wrong.
#[test]
fn tracedat_page_size_error_lost_by_next_item() {
    let d = input("tracedat-page-size-error-lost-by-next-item.bin");
    let s = checks::check_tracedat(&d);
    assert!(s.parsed);
    let t = mmrace_parsers::tracedat::TraceDat::parse(&d).unwrap();
    let mut n = 0;
    for mut c in t.all_cpu_records() {
        let (records, lost, errors) = c.count_all();
        assert_eq!((records, lost, errors.len()), (0, 0, 1), "CPU {:?}", c.cpu);
        assert!(errors[0].to_string().contains("page size"), "{}", errors[0]);
        assert!(c.next_item().is_none());
        n += 1;
    }
    assert_eq!(n, 2);
}
