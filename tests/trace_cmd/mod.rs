//! Running the real trace-cmd from tests.

use std::path::Path;
use std::process::Command;

/// Whether trace-cmd can be run. When `CI` is set its absence is a failure;
/// otherwise the caller skips with a note.
pub fn available() -> bool {
    let ok = Command::new("trace-cmd")
        .arg("--version")
        .output()
        .is_ok_and(|o| !o.stdout.is_empty() || !o.stderr.is_empty());
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "trace-cmd is required when CI is set (install trace-cmd 3.1.6)"
        );
        eprintln!("note: trace-cmd not found, skipping");
    }
    ok
}

/// `trace-cmd report -N -t [-R] -i path` (no plugins, nanoseconds).
pub fn report(path: &Path, raw: bool) -> Vec<u8> {
    let mut c = Command::new("trace-cmd");
    c.args(["report", "-N", "-t"]);
    if raw {
        c.arg("-R");
    }
    let out = c.arg("-i").arg(path).output().unwrap();
    assert!(
        out.status.success(),
        "trace-cmd failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}
