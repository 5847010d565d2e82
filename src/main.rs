//! The `mmrace` command line. Each subcommand lives in `cmd/`; this file only
//! declares them and maps their outcome to the process exit code.

mod cmd;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Finds address-space races (mm switch vs. TLB maintenance) in Linux kernel
/// traces.
///
/// Exit codes: 0 success (no finding at or above --fail-on), 1 findings,
/// 2 error (unreadable or damaged input, bad arguments; what could be read is
/// still printed).
#[derive(Debug, Parser)]
#[command(name = "mmrace", version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print every event of a trace as `trace-cmd report -t` does.
    Dump(cmd::dump::DumpArgs),
    /// Write a race-model scenario (buggy or fixed) as a trace.dat.
    Synth(cmd::synth::SynthArgs),
    /// Investigate findings interactively on per-CPU timelines.
    #[cfg(feature = "tui")]
    Tui(cmd::tui::TuiArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Dump(args) => cmd::dump::run(args),
        Command::Synth(args) => cmd::synth::run(args),
        #[cfg(feature = "tui")]
        Command::Tui(args) => cmd::tui::run(args),
    }
}
