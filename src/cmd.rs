//! The subcommands of the `mmrace` binary, one module each.

pub mod dump;
pub mod synth;
