//! Helpers shared by the unit tests.

use std::path::PathBuf;

/// Every trace.dat fixture of the three architectures (`fixtures/x86_64`,
/// `arm64`, `s390x`), path and bytes, in a stable order.
pub(crate) fn fixture_traces() -> Vec<(PathBuf, Vec<u8>)> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut out = Vec::new();
    for arch in ["x86_64", "arm64", "s390x"] {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(root.join(arch))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "dat"))
            .collect();
        paths.sort();
        for p in paths {
            let data = std::fs::read(&p).unwrap();
            out.push((p, data));
        }
    }
    out
}
