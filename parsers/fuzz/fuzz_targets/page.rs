//! One CPU's ring-buffer pages: raw bytes, or a program of page-building
//! operations (see `check_page`).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    mmrace_parsers_fuzz::check_page(data);
});
