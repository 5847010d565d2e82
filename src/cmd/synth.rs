//! `mmrace synth`: writes a race-model scenario as a real trace.dat.

use clap::{Args, ValueEnum};
use mmrace::synth::{
    BulkOptions, Scenario, SynthCompression, SynthOptions, Variant, parse_size, write, write_bulk,
};
use mmrace_parsers::Endian;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

/// A scenario of race-model.md §4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScenarioArg {
    /// Lost per-thread deferral (INV-1, INV-1a).
    #[value(name = "A")]
    A,
    /// Per-mm deferral flag consumed by another CPU (INV-1, INV-1b).
    #[value(name = "B")]
    B,
    /// s390 lazy flush vs. recreation of TLB entries (INV-2b).
    #[value(name = "L")]
    L,
    /// Lost lazy flush (INV-3).
    #[value(name = "L2")]
    L2,
    /// x86 skipped flush IPI (INV-2).
    #[value(name = "X")]
    X,
}

impl From<ScenarioArg> for Scenario {
    fn from(s: ScenarioArg) -> Scenario {
        match s {
            ScenarioArg::A => Scenario::A,
            ScenarioArg::B => Scenario::B,
            ScenarioArg::L => Scenario::L,
            ScenarioArg::L2 => Scenario::L2,
            ScenarioArg::X => Scenario::X,
        }
    }
}

/// The protocol variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum VariantArg {
    /// The racy protocol: gives the scenario's findings.
    Buggy,
    /// The fixed protocol: gives none.
    Fixed,
}

/// Byte order of the written file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EndianArg {
    /// Little-endian (x86_64, arm64).
    Little,
    /// Big-endian (s390x).
    Big,
}

impl From<EndianArg> for Endian {
    fn from(e: EndianArg) -> Endian {
        match e {
            EndianArg::Little => Endian::Little,
            EndianArg::Big => Endian::Big,
        }
    }
}

/// Compression of the written file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompressionArg {
    /// None.
    None,
    /// zstd (file version 7 only).
    Zstd,
}

impl From<CompressionArg> for SynthCompression {
    fn from(c: CompressionArg) -> SynthCompression {
        match c {
            CompressionArg::None => SynthCompression::None,
            CompressionArg::Zstd => SynthCompression::Zstd,
        }
    }
}

/// Arguments of `mmrace synth`.
#[derive(Debug, Args)]
pub struct SynthArgs {
    /// Scenario (race-model.md §4).
    #[arg(long, value_enum, ignore_case = true, required_unless_present = "size")]
    scenario: Option<ScenarioArg>,
    /// Instead of a scenario: a big realistic x86_64 trace of this much CPU
    /// data (`512MiB`, `1GiB`, `4G`), for benchmarks. Memory stays flat.
    #[arg(long, value_parser = parse_size_arg, conflicts_with_all = ["scenario", "noise"])]
    size: Option<u64>,
    /// CPUs of a `--size` trace.
    #[arg(long, default_value_t = 2, requires = "size", value_parser = clap::value_parser!(u32).range(1..=256))]
    cpus: u32,
    /// Buggy or fixed protocol.
    #[arg(long, value_enum, default_value = "buggy")]
    variant: VariantArg,
    /// Noise steps around the scenario (other tasks, irqs, wakeups).
    #[arg(long, default_value_t = 0)]
    noise: u32,
    /// Seed of the noise.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Byte order.
    #[arg(long, value_enum, default_value = "little")]
    endian: EndianArg,
    /// trace.dat version: 6 or 7.
    #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u32).range(6..=7))]
    file_version: u32,
    /// Compression (version 7 only).
    #[arg(long, value_enum, default_value = "none")]
    compression: CompressionArg,
    /// Output file.
    #[arg(short = 'o', long = "output", value_name = "F.dat")]
    output: PathBuf,
}

fn parse_size_arg(s: &str) -> Result<u64, String> {
    parse_size(s).ok_or_else(|| format!("{s:?} is not a size (e.g. 4096, 512MiB, 1GiB)"))
}

fn create(path: &std::path::Path) -> Result<std::fs::File, ExitCode> {
    std::fs::File::create(path).map_err(|e| {
        eprintln!("mmrace: {}: {e}", path.display());
        ExitCode::from(2)
    })
}

/// `mmrace synth --size`: a bulk trace, its mix on stderr.
fn run_bulk(args: &SynthArgs, size: u64) -> ExitCode {
    let mut o = BulkOptions::new(size);
    o.cpus = args.cpus;
    o.seed = args.seed;
    o.endian = args.endian.into();
    o.file_version = args.file_version;
    o.compression = args.compression.into();
    let file = match create(&args.output) {
        Ok(f) => f,
        Err(c) => return c,
    };
    let res = write_bulk(&o, BufWriter::with_capacity(1 << 20, file))
        .map_err(|e| e.to_string())
        .and_then(|(mut w, s)| w.flush().map(|_| s).map_err(|e| e.to_string()));
    match res {
        Ok(s) => {
            eprintln!(
                "mmrace: {}: {} events, {} MiB of CPU data",
                args.output.display(),
                s.events,
                (s.pages * 4096) >> 20
            );
            for (k, n) in &s.per_event {
                eprintln!(
                    "  {:>6.2}%  {n:>10}  {k}",
                    100.0 * *n as f64 / s.events.max(1) as f64
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("mmrace: {}: {e}", args.output.display());
            let _ = std::fs::remove_file(&args.output);
            ExitCode::from(2)
        }
    }
}

/// Runs `mmrace synth`: 0 when the file was written, 2 on any error.
pub fn run(args: SynthArgs) -> ExitCode {
    if args.compression == CompressionArg::Zstd && args.file_version != 7 {
        eprintln!("mmrace: --compression zstd needs --file-version 7");
        return ExitCode::from(2);
    }
    let scenario = match (args.size, args.scenario) {
        (Some(size), _) => return run_bulk(&args, size),
        (None, Some(s)) => s,
        (None, None) => {
            eprintln!("mmrace: give --scenario or --size");
            return ExitCode::from(2);
        }
    };
    let mut o = SynthOptions::new(
        scenario.into(),
        match args.variant {
            VariantArg::Buggy => Variant::Buggy,
            VariantArg::Fixed => Variant::Fixed,
        },
    );
    o.noise = args.noise;
    o.seed = args.seed;
    o.endian = args.endian.into();
    o.file_version = args.file_version;
    o.compression = args.compression.into();
    if o.compression == SynthCompression::Zstd && o.file_version != 7 {
        eprintln!("mmrace: --compression zstd needs --file-version 7");
        return ExitCode::from(2);
    }
    let file = match std::fs::File::create(&args.output) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("mmrace: {}: {e}", args.output.display());
            return ExitCode::from(2);
        }
    };
    let res = write(&o, BufWriter::new(file))
        .map_err(|e| e.to_string())
        .and_then(|mut w| w.flush().map_err(|e| e.to_string()));
    match res {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mmrace: {}: {e}", args.output.display());
            let _ = std::fs::remove_file(&args.output);
            ExitCode::from(2)
        }
    }
}
