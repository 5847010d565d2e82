//! Helpers shared by the oracle tests.

use mmrace::dump::{DumpOptions, DumpSummary, dump};
use mmrace_parsers::tracedat::TraceDat;
use std::path::{Path, PathBuf};

/// The repository's `fixtures/` directory.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// `p` with `suffix` appended to its file name.
pub fn sibling(p: &Path, suffix: &str) -> PathBuf {
    let mut o = p.to_path_buf().into_os_string();
    o.push(suffix);
    PathBuf::from(o)
}

/// Every `*.dat` under `fixtures/{x86_64,arm64,s390x,public}` that has an
/// `F{oracle_suffix}` oracle beside it, sorted per directory. There are 26.
pub fn oracle_files(oracle_suffix: &str) -> Vec<PathBuf> {
    let mut v = Vec::new();
    for arch in ["x86_64", "arm64", "s390x", "public"] {
        let dir = fixtures().join(arch);
        let mut names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "dat"))
            .filter(|p| sibling(p, oracle_suffix).exists())
            .collect();
        names.sort();
        v.extend(names);
    }
    assert_eq!(
        v.len(),
        26,
        "expected the 26 fixtures with a {oracle_suffix} oracle"
    );
    v
}

/// `mmrace dump` (`--raw` if `raw`) of a whole file through the library:
/// the output, the summary and the number of metadata warnings.
pub fn dump_bytes(data: &[u8], raw: bool) -> (Vec<u8>, DumpSummary, usize) {
    let t = TraceDat::parse(data).expect("metadata parses");
    let mut out = Vec::new();
    let opts = DumpOptions {
        raw,
        ..Default::default()
    };
    let s = dump(&t, &opts, &mut out).unwrap();
    (out, s, t.warnings.len())
}
