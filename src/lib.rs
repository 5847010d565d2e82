//! mmrace: finds address-space races between context switches and TLB
//! maintenance in Linux kernel traces.
//!
//! The library holds the analysis; the `mmrace` binary wires it to the
//! command line. Trace files are read by `mmrace-parsers`.

pub mod dump;
pub mod input;

pub use mmrace_parsers as parsers;
