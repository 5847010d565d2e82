//! `print fmt` text: a byte whose bit 0 selects 4-byte longs, an event
//! format (its fields), a NUL, the print fmt, a NUL, a record payload.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    mmrace_parsers_fuzz::check_print_fmt_input(data);
});
