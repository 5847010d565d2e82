//! `cargo run --release --example bench_analyze -- F.dat`: the analysis of
//! `mmrace analyze` (map the file, parse the metadata, analyse every record)
//! without its report, for `scripts/bench.sh` while the binary has no
//! `analyze` subcommand. Prints the event and finding counts. Threads:
//! `RAYON_NUM_THREADS`.

use mmrace::analysis::{AnalyzeOptions, analyze_with_info};
use mmrace::input::Input;
use mmrace_parsers::tracedat::TraceDat;
use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(path) = std::env::args_os().nth(1) else {
        eprintln!("usage: bench_analyze F.dat");
        return ExitCode::from(2);
    };
    let input = match Input::open(std::path::Path::new(&path), false) {
        Ok(i) => i,
        Err(e) => {
            eprintln!("{}: {e}", path.to_string_lossy());
            return ExitCode::from(2);
        }
    };
    let trace = match TraceDat::parse(&input) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{}: {e}", path.to_string_lossy());
            return ExitCode::from(2);
        }
    };
    match analyze_with_info(&trace, None, &AnalyzeOptions::default()) {
        Ok((a, info)) => {
            if std::env::var_os("BENCH_FINDINGS").is_some() {
                for f in &a.findings {
                    eprintln!("{}", serde_json::to_string(f).unwrap_or_default());
                }
            }
            println!(
                "{{\"events\":{},\"findings\":{},\"profile\":\"{}\",\"warnings\":{}}}",
                info.events,
                a.findings.len(),
                a.profile,
                a.warnings.len()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{}: {e}", path.to_string_lossy());
            ExitCode::from(2)
        }
    }
}
