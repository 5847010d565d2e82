//! `mmrace completions SHELL` and `mmrace man`: generated from the clap
//! definitions, so they never drift from the real options.

use clap::{Args, CommandFactory};
use std::io::Write;
use std::process::ExitCode;

/// Arguments of `mmrace completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    shell: clap_complete::Shell,
}

/// Prints a completion script for `shell` on standard output.
pub fn run_completions<C: CommandFactory>(a: CompletionsArgs) -> ExitCode {
    let mut cmd = C::command();
    clap_complete::generate(a.shell, &mut cmd, "mmrace", &mut std::io::stdout());
    ExitCode::SUCCESS
}

/// Prints the man page (roff) on standard output.
pub fn run_man<C: CommandFactory>() -> ExitCode {
    let cmd = C::command();
    let mut buf = Vec::new();
    if let Err(e) = clap_mangen::Man::new(cmd).render(&mut buf) {
        eprintln!("mmrace: {e}");
        return ExitCode::from(2);
    }
    let _ = std::io::stdout().write_all(&buf);
    ExitCode::SUCCESS
}
