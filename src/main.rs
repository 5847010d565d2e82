//! The `mmrace` command line.

use clap::{Parser, Subcommand};
use mmrace::dump::{DumpOptions, dump};
use mmrace::input::Input;
use mmrace_parsers::tracedat::TraceDat;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
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
    Dump {
        /// The trace file (trace.dat v6/v7).
        file: PathBuf,
        /// Raw `field=value` form, as `trace-cmd report -R -t`.
        #[arg(long, short = 'R')]
        raw: bool,
        /// Only events of this CPU (repeatable).
        #[arg(long = "cpu", value_name = "N")]
        cpus: Vec<u32>,
        /// Only this event, `system:name` or `name` (repeatable).
        #[arg(long = "event", short = 'e', value_name = "SYSTEM:NAME")]
        events: Vec<String>,
        /// Read the file into memory instead of mapping it.
        #[arg(long)]
        no_mmap: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Dump {
            file,
            raw,
            cpus,
            events,
            no_mmap,
        } => {
            let input = match Input::open(&file, no_mmap) {
                Ok(i) => i,
                Err(e) => {
                    eprintln!("mmrace: {}: {e}", file.display());
                    return ExitCode::from(2);
                }
            };
            let trace = match TraceDat::parse(&input) {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("mmrace: {}: {e}", file.display());
                    return ExitCode::from(2);
                }
            };
            let stdout = io::stdout();
            let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
            let opts = DumpOptions { raw, cpus, events };
            let res = dump(&trace, &opts, &mut out).and_then(|s| out.flush().map(|_| s));
            let summary = match res {
                Ok(s) => s,
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("mmrace: {}: {e}", file.display());
                    return ExitCode::from(2);
                }
            };
            let mut code = 0u8;
            for w in &trace.warnings {
                eprintln!("mmrace: {}: {w}", file.display());
                code = 2;
            }
            for e in &summary.errors {
                eprintln!("mmrace: {}: {e}", file.display());
                code = 2;
            }
            ExitCode::from(code)
        }
    }
}
