//! `mmrace dump`.

use clap::Args;
use mmrace::dump::{DumpOptions, DumpSummary, dump, dump_perf};
use mmrace::input::{FileKind, Input};
use mmrace_parsers::Error;
use mmrace_parsers::perf::PerfData;
use mmrace_parsers::tracedat::TraceDat;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `mmrace dump`.
#[derive(Debug, Args)]
pub struct DumpArgs {
    /// The trace file (trace.dat v6/v7 or perf.data; told by its magic).
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
}

/// Runs `mmrace dump`: 0 when everything was read, 2 on any error or
/// warning of the reader. Events whose print fmt could not be rendered are
/// reported on stderr but do not change the exit code.
pub fn run(args: DumpArgs) -> ExitCode {
    let DumpArgs {
        file,
        raw,
        cpus,
        events,
        no_mmap,
    } = args;
    let input = match Input::open(&file, no_mmap) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("mmrace: {}: {e}", file.display());
            return ExitCode::from(2);
        }
    };
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    let opts = DumpOptions { raw, cpus, events };
    // The reader's warnings (damaged metadata it read past) and the dump.
    let parsed: Result<(Vec<Error>, io::Result<DumpSummary>), Error> =
        match FileKind::detect(&input) {
            Some(FileKind::PerfData) => PerfData::parse(&input).map(|perf| {
                let r = dump_perf(&perf, &opts, &mut out);
                (perf.warnings.clone(), r)
            }),
            // Not a perf.data: the trace.dat reader names what is wrong.
            _ => TraceDat::parse(&input).map(|trace| {
                let r = dump(&trace, &opts, &mut out);
                (trace.warnings.clone(), r)
            }),
        };
    let (warnings, res) = match parsed {
        Ok(x) => x,
        Err(e) => {
            eprintln!("mmrace: {}: {e}", file.display());
            return ExitCode::from(2);
        }
    };
    let res = res.and_then(|s| out.flush().map(|_| s));
    let summary = match res {
        Ok(s) => s,
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mmrace: {}: {e}", file.display());
            return ExitCode::from(2);
        }
    };
    let mut code = 0u8;
    for w in &warnings {
        eprintln!("mmrace: {}: {w}", file.display());
        code = 2;
    }
    // Events printed as `[FAILED TO PARSE]` (as trace-cmd prints them too)
    // are warnings, not errors: the exit code stays.
    for w in &summary.render_failures {
        eprintln!(
            "mmrace: {}: warning: {} record(s) of {} printed raw: {}",
            file.display(),
            w.records,
            w.event,
            w.error
        );
    }
    for e in &summary.errors {
        eprintln!("mmrace: {}: {e}", file.display());
        code = 2;
    }
    ExitCode::from(code)
}
