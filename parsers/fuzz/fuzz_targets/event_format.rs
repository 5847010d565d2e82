//! Event `format` text (and `header_page` text): a byte whose bit 0 selects
//! 4-byte longs, the text, a NUL, then a record payload to render.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    mmrace_parsers_fuzz::check_event_format_input(data);
});
