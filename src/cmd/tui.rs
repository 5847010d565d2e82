//! `mmrace tui`: the interactive investigation of a trace's findings.

use clap::Args;
use mmrace::analysis::AnalyzeOptions;
use mmrace::browse;
use mmrace::browse::TraceFile;
use mmrace::input::Input;
use mmrace::profile::Profile;
use mmrace::tui_view::BrowserView;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `mmrace tui`.
#[derive(Debug, Args)]
pub struct TuiArgs {
    /// The trace file (trace.dat v6/v7 or perf.data; told by its magic).
    file: PathBuf,
    /// A profile file instead of the built-in one chosen for the trace.
    #[arg(long, value_name = "FILE")]
    profile: Option<PathBuf>,
    /// Read the file into memory instead of mapping it.
    #[arg(long)]
    no_mmap: bool,
}

/// Runs `mmrace tui`: 0 on quit, 2 when the file cannot be read or the
/// terminal cannot be used. The trace is analysed and indexed on a
/// background thread while the first frame is already shown.
pub fn run(args: TuiArgs) -> ExitCode {
    let fail = |e: &dyn std::fmt::Display| {
        eprintln!("mmrace: {}: {e}", args.file.display());
        ExitCode::from(2)
    };
    let profile = match &args.profile {
        Some(p) => match std::fs::read_to_string(p)
            .map_err(|e| e.to_string())
            .and_then(|t| Profile::parse(&t).map_err(|e| e.to_string()))
        {
            Ok(p) => Some(p),
            Err(e) => {
                eprintln!("mmrace: {}: {e}", p.display());
                return ExitCode::from(2);
            }
        },
        None => None,
    };
    let input = match Input::open(&args.file, args.no_mmap) {
        Ok(i) => i,
        Err(e) => return fail(&e),
    };
    let file = match TraceFile::parse(&input) {
        Ok(f) => f,
        Err(e) => return fail(&e),
    };
    let title = args.file.file_name().map_or_else(
        || args.file.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let (browser, indexer) = browse::open_file(&file, profile, AnalyzeOptions::default());
    let state = std::sync::Arc::clone(browser.state());
    let res = std::thread::scope(|s| {
        s.spawn(move || indexer.run());
        let mut view = BrowserView::new(browser, title);
        let r = mmrace_tui::run(&mut view);
        state.cancel();
        if r.is_ok() && !view.browser().progress().done {
            // The terminal is restored; do not wait for the analysis of a
            // big trace to finish before giving the shell back.
            std::process::exit(0);
        }
        r
    });
    match res {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}
