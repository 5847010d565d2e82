//! Opening input files: the one place that maps memory.

use std::fs::File;
use std::io::Read;
use std::ops::Deref;
use std::path::Path;

/// The bytes of an input file: memory-mapped, or read into memory when
/// mapping is not possible or not wanted.
#[derive(Debug)]
pub enum Input {
    /// A read-only mapping of the file.
    Mapped(memmap2::Mmap),
    /// The file read into memory.
    Owned(Vec<u8>),
}

impl Input {
    /// Opens `path`, mapping it unless `no_mmap` is set or mapping fails
    /// (e.g. on a pipe).
    pub fn open(path: &Path, no_mmap: bool) -> std::io::Result<Input> {
        let mut f = File::open(path)?;
        if !no_mmap {
            // SAFETY: the mapping is read-only and private to this process.
            // If another process truncates or rewrites the file while we
            // read it, reads may see changed bytes or fault (SIGBUS); trace
            // files are written once and then analysed, and every reader of
            // these bytes bounds-checks, so changed bytes cannot cause
            // undefined behaviour beyond that documented mmap contract.
            #[allow(unsafe_code)]
            let m = unsafe { memmap2::Mmap::map(&f) };
            if let Ok(m) = m {
                #[cfg(unix)]
                let _ = m.advise(memmap2::Advice::Sequential);
                return Ok(Input::Mapped(m));
            }
        }
        let mut v = Vec::new();
        f.read_to_end(&mut v)?;
        Ok(Input::Owned(v))
    }
}

impl Deref for Input {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Input::Mapped(m) => m,
            Input::Owned(v) => v,
        }
    }
}

/// The kind of a trace file, told by its magic bytes (never by its name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileKind {
    /// A trace-cmd `trace.dat` (`17 08 44 "tracing"`).
    TraceDat,
    /// A perf.data file (`PERFILE2`, in either byte order).
    PerfData,
}

impl FileKind {
    /// The kind of the file whose first bytes are `bytes`, or `None` when
    /// the magic is neither.
    pub fn detect(bytes: &[u8]) -> Option<FileKind> {
        if bytes.starts_with(b"\x17\x08\x44tracing") {
            Some(FileKind::TraceDat)
        } else if mmrace_parsers::perf::PerfData::is_perf_data(bytes) {
            Some(FileKind::PerfData)
        } else {
            None
        }
    }

    /// The kind of the file at `path`, reading only its first bytes.
    pub fn of_path(path: &std::path::Path) -> Option<FileKind> {
        let mut head = [0u8; 16];
        let mut f = File::open(path).ok()?;
        let mut n = 0;
        while n < head.len() {
            match f.read(&mut head[n..]) {
                Ok(0) => break,
                Ok(k) => n += k,
                Err(_) => return None,
            }
        }
        FileKind::detect(&head[..n])
    }

    /// Short name (`trace.dat`, `perf.data`), as in reports.
    pub fn name(self) -> &'static str {
        match self {
            FileKind::TraceDat => "trace.dat",
            FileKind::PerfData => "perf.data",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::FileKind;

    #[test]
    fn kinds_by_magic_in_both_byte_orders() {
        assert_eq!(
            FileKind::detect(b"\x17\x08\x44tracing6\0"),
            Some(FileKind::TraceDat)
        );
        assert_eq!(FileKind::detect(b"PERFILE2...."), Some(FileKind::PerfData));
        assert_eq!(FileKind::detect(b"2ELIFREP...."), Some(FileKind::PerfData));
        assert_eq!(FileKind::detect(b"PERFILE"), None);
        assert_eq!(FileKind::detect(b"# x86_64 trace"), None);
        assert_eq!(FileKind::detect(b""), None);
    }
}
