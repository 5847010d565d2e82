//! `mmrace analyze`, `mmrace report` and `mmrace demo`: analyse files (or a
//! generated demo trace), print the report in the asked format, and map the
//! outcome to the exit code.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use mmrace::baseline::Baseline;
use mmrace::batch::{BatchOptions, FileReport, analyze_files_with_progress, expand_inputs};
use mmrace::profile::{BUILTIN_TOML, Profile};
use mmrace::report::{self, EXIT_ERROR, FailOn};
use mmrace::synth::{Scenario, SynthOptions, Variant};

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Human summary (the default of `analyze`).
    Text,
    /// One JSON document (schema: docs/report.schema.json).
    Json,
    /// JSON Lines: one object per file.
    Jsonl,
    /// Markdown, for a pull-request comment or CI step summary.
    Markdown,
    /// JUnit XML: a test case per (file, invariant).
    Junit,
    /// One self-contained HTML page with SVG lane pictures.
    Html,
}

/// `--fail-on` levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOnArg {
    /// Findings whose state was all observed (the default).
    Observed,
    /// Observed or inferred findings.
    Inferred,
    /// Every finding, suspect ones too.
    Any,
    /// Never exit 1 (errors still exit 2).
    Never,
}

/// When to colour the text output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorArg {
    /// On a terminal, unless NO_COLOR is set.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// Options shared by `analyze` and `report`.
#[derive(Debug, Args)]
pub struct CommonArgs {
    /// A built-in profile name (mmctx, s390x, arm64, x86_64) or a profile
    /// TOML file; default: the built-in that fits the trace.
    #[arg(long, value_name = "NAME|FILE")]
    profile: Option<String>,
    /// The traced machine (`uname -m`), when the file does not say.
    #[arg(long, value_name = "ARCH")]
    arch: Option<String>,
    /// Which findings make the exit code 1.
    #[arg(long, value_enum, default_value = "observed")]
    fail_on: FailOnArg,
    /// Accept the findings listed in this baseline (they are reported but do
    /// not fail the run).
    #[arg(long, value_name = "FILE")]
    baseline: Option<PathBuf>,
    /// Write every finding of this run to a baseline file.
    #[arg(long, value_name = "FILE")]
    write_baseline: Option<PathBuf>,
    /// Worker threads (default: one per core).
    #[arg(long, short = 'j', value_name = "N")]
    threads: Option<usize>,
    /// Write the report to this file instead of standard output.
    #[arg(long, short = 'o', value_name = "PATH")]
    output: Option<PathBuf>,
    /// Read files into memory instead of mapping them.
    #[arg(long)]
    no_mmap: bool,
}

/// Arguments of `mmrace analyze`.
#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    /// Trace files (trace.dat, perf.data), directories (searched
    /// recursively) or glob patterns. None: analyse a generated demo trace.
    files: Vec<PathBuf>,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value = "text")]
    format: Format,
    /// Colour the text output.
    #[arg(long, value_enum, default_value = "auto")]
    color: ColorArg,
    #[command(flatten)]
    common: CommonArgs,
}

/// Arguments of `mmrace report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Trace files, directories (searched recursively) or glob patterns.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Output format.
    #[arg(long, short = 'f', value_enum)]
    format: Format,
    #[command(flatten)]
    common: CommonArgs,
}

/// Arguments of `mmrace demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// The scenario to generate (race-model.md §4).
    #[arg(long, value_enum, default_value = "A", ignore_case = true)]
    scenario: super::synth::ScenarioArg,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value = "text")]
    format: Format,
    /// Colour the text output.
    #[arg(long, value_enum, default_value = "auto")]
    color: ColorArg,
}

fn fail(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("mmrace: {msg}");
    ExitCode::from(EXIT_ERROR)
}

fn load_profile(spec: &str) -> Result<Profile, String> {
    if BUILTIN_TOML.iter().any(|(n, _)| *n == spec) {
        return Profile::builtin(spec).map_err(|e| format!("profile {spec}: {e}"));
    }
    let text = std::fs::read_to_string(spec).map_err(|e| {
        let names: Vec<&str> = BUILTIN_TOML.iter().map(|(n, _)| *n).collect();
        format!(
            "profile {spec}: {e} (not a file, nor a built-in: {})",
            names.join(", ")
        )
    })?;
    Profile::parse(&text).map_err(|e| format!("profile {spec}: {e}"))
}

fn use_color(c: ColorArg, to_file: bool) -> bool {
    match c {
        ColorArg::Always => true,
        ColorArg::Never => false,
        ColorArg::Auto => {
            !to_file
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::io::stdout().is_terminal()
        }
    }
}

/// Renders `files` in `format`.
fn render(files: &[FileReport], format: Format, fail_on: FailOn, color: bool) -> String {
    match format {
        Format::Text => report::text::render(files, fail_on, report::text::Style::new(color)),
        Format::Json => report::json::render(files, fail_on),
        Format::Jsonl => report::json::render_lines(files, fail_on),
        Format::Markdown => report::markdown::render(files, fail_on),
        Format::Junit => report::junit::render(files, fail_on),
        Format::Html => report::html::render(files, fail_on),
    }
}

fn write_out(path: Option<&Path>, text: &str) -> Result<(), String> {
    match path {
        Some(p) => std::fs::write(p, text).map_err(|e| format!("{}: {e}", p.display())),
        None => {
            let mut o = std::io::stdout().lock();
            match o.write_all(text.as_bytes()).and_then(|_| o.flush()) {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.to_string()),
                _ => Ok(()),
            }
        }
    }
}

/// Analyses the files and reports them: the shared body of `analyze` and
/// `report`.
fn run_files(files: &[PathBuf], format: Format, color: ColorArg, c: CommonArgs) -> ExitCode {
    let fail_on = match c.fail_on {
        FailOnArg::Observed => FailOn::Observed,
        FailOnArg::Inferred => FailOn::Inferred,
        FailOnArg::Any => FailOn::Any,
        FailOnArg::Never => FailOn::Never,
    };
    let profile = match c.profile.as_deref().map(load_profile).transpose() {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    let baseline = match &c.baseline {
        Some(p) => match std::fs::read_to_string(p)
            .map_err(|e| e.to_string())
            .and_then(|t| Baseline::parse(&t))
        {
            Ok(b) => Some(b),
            Err(e) => return fail(format!("{}: {e}", p.display())),
        },
        None => None,
    };
    let paths = match expand_inputs(files) {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    let opts = BatchOptions {
        profile,
        arch: c.arch,
        no_mmap: c.no_mmap,
        pictures: format == Format::Html,
    };
    let mut reports = match run_pool(c.threads, &paths, &opts) {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    if let Some(b) = &baseline {
        b.apply(&mut reports);
    }
    if let Some(p) = &c.write_baseline {
        if let Err(e) = std::fs::write(p, Baseline::from_reports(&reports).to_text()) {
            return fail(format!("{}: {e}", p.display()));
        }
    }
    // The text report shows errors itself; other formats (or a report
    // written to a file) also name them on stderr for the CI log.
    if format != Format::Text || c.output.is_some() {
        for r in &reports {
            for e in &r.errors {
                eprintln!("mmrace: {}: {e}", r.path);
            }
        }
    }
    let text = render(
        &reports,
        format,
        fail_on,
        use_color(color, c.output.is_some()),
    );
    if let Err(e) = write_out(c.output.as_deref(), &text) {
        return fail(e);
    }
    ExitCode::from(report::exit_code(&reports, fail_on))
}

/// Runs the batch on a pool of `threads` (rayon's global pool when `None`),
/// with a progress bar on a terminal for more than one file.
fn run_pool(
    threads: Option<usize>,
    paths: &[PathBuf],
    opts: &BatchOptions,
) -> Result<Vec<FileReport>, String> {
    let bar = if paths.len() > 1 && std::io::stderr().is_terminal() {
        let b = indicatif::ProgressBar::new(paths.len() as u64);
        b.set_style(
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} files {elapsed}")
                .map_err(|e| e.to_string())?,
        );
        Some(b)
    } else {
        None
    };
    let tick = || {
        if let Some(b) = &bar {
            b.inc(1);
        }
    };
    let run = || analyze_files_with_progress(paths, opts, &tick);
    let out = match threads {
        Some(n) => rayon::ThreadPoolBuilder::new()
            .num_threads(n.max(1))
            .build()
            .map_err(|e| e.to_string())?
            .install(run),
        None => run(),
    };
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    Ok(out)
}

/// Runs `mmrace analyze`.
pub fn run_analyze(a: AnalyzeArgs) -> ExitCode {
    if a.files.is_empty() {
        return run_demo(DemoArgs {
            scenario: super::synth::ScenarioArg::A,
            format: a.format,
            color: a.color,
        });
    }
    run_files(&a.files, a.format, a.color, a.common)
}

/// Runs `mmrace report`.
pub fn run_report(a: ReportArgs) -> ExitCode {
    run_files(&a.files, a.format, ColorArg::Never, a.common)
}

/// Runs `mmrace demo`: writes the buggy variant of a scenario to a temporary
/// directory, analyses it and prints the report. Exits 0 when the scenario's
/// race was found (that is the demonstration), 2 otherwise.
pub fn run_demo(a: DemoArgs) -> ExitCode {
    let scenario: Scenario = a.scenario.into();
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => return fail(format!("temporary directory: {e}")),
    };
    let path = dir.path().join(format!("demo-{scenario:?}-buggy.dat"));
    let opts = SynthOptions::new(scenario, Variant::Buggy);
    let written = std::fs::File::create(&path)
        .map_err(|e| e.to_string())
        .and_then(|f| {
            mmrace::synth::write(&opts, std::io::BufWriter::new(f))
                .map_err(|e| e.to_string())
                .and_then(|mut w| w.flush().map_err(|e| e.to_string()))
        });
    if let Err(e) = written {
        return fail(format!("{}: {e}", path.display()));
    }
    if a.format == Format::Text {
        eprintln!(
            "mmrace: no file given: analysing a generated trace of race-model scenario {scenario:?} \
             (buggy variant), written to {} (removed afterwards)\n\
             mmrace: record your own with scripts/record-{{s390x,arm64,x86_64}}.sh, then run `mmrace analyze trace.dat`\n",
            path.display()
        );
    }
    let batch = BatchOptions {
        pictures: a.format == Format::Html,
        ..BatchOptions::default()
    };
    let reports = mmrace::batch::analyze_files(std::slice::from_ref(&path), &batch);
    let text = render(
        &reports,
        a.format,
        FailOn::Observed,
        use_color(a.color, false),
    );
    if let Err(e) = write_out(None, &text) {
        return fail(e);
    }
    if reports.iter().all(|r| !r.findings().is_empty()) {
        ExitCode::SUCCESS
    } else {
        fail("the demo trace gave no finding: this build of mmrace is broken")
    }
}
