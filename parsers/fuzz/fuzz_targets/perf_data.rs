//! A whole perf.data file (either byte order).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    mmrace_parsers_fuzz::check_perf_data(data);
});
