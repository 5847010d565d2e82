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
