//! The `mmrace` command line. Each subcommand lives in `cmd/`; this file only
//! declares them and maps their outcome to the process exit code.

mod cmd;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Finds address-space races (mm switch vs. TLB maintenance) in Linux kernel
/// traces.
///
/// Exit codes: 0 success (no finding at or above --fail-on, every file
/// read), 1 findings at or above --fail-on that no --baseline accepts,
/// 2 error (unreadable or damaged input, bad arguments; what could be read is
/// still reported).
#[derive(Debug, Parser)]
#[command(name = "mmrace", version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Analyse traces and print the findings (no file: a generated demo).
    Analyze(cmd::analyze::AnalyzeArgs),
    /// Analyse traces and write a report for CI (json, jsonl, markdown,
    /// junit, html).
    Report(cmd::analyze::ReportArgs),
    /// Generate a buggy scenario trace and analyse it.
    Demo(cmd::analyze::DemoArgs),
    /// Print every event of a trace as `trace-cmd report -t` does.
    Dump(cmd::dump::DumpArgs),
    /// Write a race-model scenario (buggy or fixed) as a trace.dat.
    Synth(cmd::synth::SynthArgs),
    /// Investigate findings interactively on per-CPU timelines.
    #[cfg(feature = "tui")]
    Tui(cmd::tui::TuiArgs),
    /// Print a shell completion script.
    Completions(cmd::meta::CompletionsArgs),
    /// Print the man page (roff).
    Man,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Analyze(args) => cmd::analyze::run_analyze(args),
        Command::Report(args) => cmd::analyze::run_report(args),
        Command::Demo(args) => cmd::analyze::run_demo(args),
        Command::Dump(args) => cmd::dump::run(args),
        Command::Synth(args) => cmd::synth::run(args),
        #[cfg(feature = "tui")]
        Command::Tui(args) => cmd::tui::run(args),
        Command::Completions(args) => cmd::meta::run_completions::<Cli>(args),
        Command::Man => cmd::meta::run_man::<Cli>(),
    }
}
