//! The subcommands of the `mmrace` binary, one module each.

pub mod analyze;
pub mod dump;
pub mod meta;
pub mod synth;
#[cfg(feature = "tui")]
pub mod tui;
