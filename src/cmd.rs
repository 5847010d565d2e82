//! The subcommands of the `mmrace` binary, one module each.

pub mod dump;
pub mod synth;
#[cfg(feature = "tui")]
pub mod tui;
