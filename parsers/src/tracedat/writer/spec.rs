//! What a trace file holds: format parameters and metadata texts.

use super::{WriterError, WriterResult};
use crate::endian::Endian;
use crate::types::{Cpu, Pid};

/// The `events/header_event` text of kernels since 5.x (with the
/// `time_stamp` line), byte for byte.
pub const HEADER_EVENT: &str = "# compressed entry header\n\
\ttype_len    :    5 bits\n\
\ttime_delta  :   27 bits\n\
\tarray       :   32 bits\n\
\n\
\tpadding     : type == 29\n\
\ttime_extend : type == 30\n\
\ttime_stamp : type == 31\n\
\tdata max type_len  == 28\n";

/// The clocks listed in a generated `trace_clock` text, in the kernel's order.
const CLOCKS: [&str; 9] = [
    "local", "global", "counter", "uptime", "perf", "mono", "mono_raw", "boot", "tai",
];

/// The `events/header_page` text the kernel prints for a kernel `long` of
/// `long_size` bytes and sub-buffers of `page_size` bytes
/// (`ring_buffer_print_page_header`).
pub fn header_page_text(long_size: u8, page_size: u32) -> String {
    let hdr = 8 + u32::from(long_size);
    format!(
        "\tfield: u64 timestamp;\toffset:0;\tsize:8;\tsigned:0;\n\
         \tfield: local_t commit;\toffset:8;\tsize:{long_size};\tsigned:1;\n\
         \tfield: int overwrite;\toffset:8;\tsize:1;\tsigned:1;\n\
         \tfield: char data;\toffset:{hdr};\tsize:{};\tsigned:0;\n",
        page_size.saturating_sub(hdr)
    )
}

/// A `tracing/trace_clock` text with `clock` selected, e.g.
/// `"[local] global counter uptime perf mono mono_raw boot tai\n"` (a clock
/// not in the standard list is appended).
pub fn trace_clock_text(clock: &str) -> String {
    let mut parts: Vec<String> = CLOCKS
        .iter()
        .map(|c| {
            if *c == clock {
                format!("[{c}]")
            } else {
                (*c).to_string()
            }
        })
        .collect();
    if !CLOCKS.contains(&clock) {
        parts.push(format!("[{clock}]"));
    }
    let mut s = parts.join(" ");
    s.push('\n');
    s
}

/// trace.dat file version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileVersion {
    /// Version 6: sequential layout, no compression.
    V6,
    /// Version 7: sections, options chain, optional compression.
    V7,
}

/// Compression of a version 7 file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Compression {
    /// Uncompressed (`"none"`).
    None,
    /// zstd frames without content size, as trace-cmd writes them (default
    /// level 3).
    Zstd,
    /// zlib streams (RFC 1950), as `compress2(Z_BEST_COMPRESSION)` (default
    /// level 9).
    Zlib,
}

/// One buffer (the top buffer `""` or a named instance).
#[derive(Debug, Clone)]
pub(crate) struct BufferSpec {
    pub(crate) name: String,
    pub(crate) cpus: u32,
}

/// Everything a trace file holds apart from the records: byte order, `long`
/// size, page size, version, compression and the metadata texts, plus the
/// declaration of the buffers and their CPU counts. Built with chained
/// methods; texts are given whole (format files as the kernel prints them).
#[derive(Debug, Clone)]
pub struct TraceDatSpec {
    pub(crate) endian: Endian,
    pub(crate) long_size: u8,
    pub(crate) user_long_size: u8,
    pub(crate) page_size: u32,
    pub(crate) version: FileVersion,
    pub(crate) compression: Compression,
    pub(crate) level: Option<i32>,
    pub(crate) header_page: Option<Vec<u8>>,
    pub(crate) header_event: Vec<u8>,
    pub(crate) ftrace_formats: Vec<Vec<u8>>,
    pub(crate) systems: Vec<(String, Vec<Vec<u8>>)>,
    pub(crate) kallsyms: Vec<u8>,
    pub(crate) printk: Vec<u8>,
    pub(crate) cmdlines: Vec<(Pid, String)>,
    pub(crate) clock: String,
    pub(crate) uname: Option<String>,
    pub(crate) tracecmd_version: Option<String>,
    pub(crate) trace_id: Option<u64>,
    pub(crate) extra_options: Vec<(u16, Vec<u8>)>,
    pub(crate) cpustats: Vec<(String, u32, String)>,
    pub(crate) cpu_count: Option<u32>,
    pub(crate) buffers: Vec<BufferSpec>,
}

impl TraceDatSpec {
    /// A spec for a kernel with `long_size`-byte longs (4 or 8) in byte order
    /// `endian`: version 7, uncompressed, 4096-byte pages, clock `local`,
    /// the standard `header_event`, no events and no buffers yet.
    pub fn new(endian: Endian, long_size: u8) -> Self {
        TraceDatSpec {
            endian,
            long_size,
            user_long_size: long_size,
            page_size: 4096,
            version: FileVersion::V7,
            compression: Compression::None,
            level: None,
            header_page: None,
            header_event: HEADER_EVENT.as_bytes().to_vec(),
            ftrace_formats: Vec::new(),
            systems: Vec::new(),
            kallsyms: Vec::new(),
            printk: Vec::new(),
            cmdlines: Vec::new(),
            clock: "local".into(),
            uname: None,
            tracecmd_version: None,
            trace_id: None,
            extra_options: Vec::new(),
            cpustats: Vec::new(),
            cpu_count: None,
            buffers: Vec::new(),
        }
    }

    /// The file version (default 7).
    pub fn version(mut self, version: FileVersion) -> Self {
        self.version = version;
        self
    }

    /// The compression (version 7 only; default none).
    pub fn compression(mut self, compression: Compression) -> Self {
        self.compression = compression;
        self
    }

    /// The compression level (zstd: 1..=22, default 3; zlib: 0..=9, default 9).
    pub fn compression_level(mut self, level: i32) -> Self {
        self.level = Some(level);
        self
    }

    /// The sub-buffer size of every buffer, header included (default 4096; a
    /// power of two).
    pub fn page_size(mut self, page_size: u32) -> Self {
        self.page_size = page_size;
        self
    }

    /// The `long` size byte of the initial header (the recording user
    /// space's; default: the kernel's).
    pub fn user_long_size(mut self, size: u8) -> Self {
        self.user_long_size = size;
        self
    }

    /// Replaces the generated `header_page` text (e.g. with an empty one).
    pub fn header_page(mut self, text: impl Into<Vec<u8>>) -> Self {
        self.header_page = Some(text.into());
        self
    }

    /// Replaces the `header_event` text (default [`HEADER_EVENT`]).
    pub fn header_event(mut self, text: impl Into<Vec<u8>>) -> Self {
        self.header_event = text.into();
        self
    }

    /// Adds an ftrace event format (`events/ftrace/<event>/format`).
    pub fn ftrace_format(mut self, text: impl Into<Vec<u8>>) -> Self {
        self.ftrace_formats.push(text.into());
        self
    }

    /// Adds an event format to `system` (systems keep their first-use order).
    pub fn event_format(mut self, system: &str, text: impl Into<Vec<u8>>) -> Self {
        let text = text.into();
        match self.systems.iter_mut().find(|(s, _)| s == system) {
            Some((_, v)) => v.push(text),
            None => self.systems.push((system.to_string(), vec![text])),
        }
        self
    }

    /// The `/proc/kallsyms` text.
    pub fn kallsyms(mut self, text: impl Into<Vec<u8>>) -> Self {
        self.kallsyms = text.into();
        self
    }

    /// The `printk_formats` text.
    pub fn printk(mut self, text: impl Into<Vec<u8>>) -> Self {
        self.printk = text.into();
        self
    }

    /// Adds a saved command line (a `"<pid> <comm>"` line).
    pub fn cmdline(mut self, pid: Pid, comm: &str) -> Self {
        self.cmdlines.push((pid, comm.to_string()));
        self
    }

    /// The trace clock (default `local`).
    pub fn clock(mut self, clock: &str) -> Self {
        self.clock = clock.to_string();
        self
    }

    /// The `UNAME` option, `"sysname nodename release machine"`.
    pub fn uname(mut self, uname: &str) -> Self {
        self.uname = Some(uname.to_string());
        self
    }

    /// The `VERSION` option (the recording trace-cmd's version).
    pub fn tracecmd_version(mut self, version: &str) -> Self {
        self.tracecmd_version = Some(version.to_string());
        self
    }

    /// The `TRACEID` option.
    pub fn trace_id(mut self, id: u64) -> Self {
        self.trace_id = Some(id);
        self
    }

    /// Adds a raw option (`id`, payload in file byte order) to the first
    /// options block, after the standard ones: `DATE`, `OFFSET`, `TSC2NSEC`...
    pub fn option(mut self, id: u16, data: impl Into<Vec<u8>>) -> Self {
        self.extra_options.push((id, data.into()));
        self
    }

    /// The CPU count of the trace (default: the largest buffer CPU count).
    pub fn cpu_count(mut self, cpus: u32) -> Self {
        self.cpu_count = Some(cpus);
        self
    }

    /// Declares a buffer: `""` for the top buffer, else an instance name,
    /// with CPUs `0..cpus`. Buffers are written top buffer first, then the
    /// instances in declaration order.
    pub fn buffer(mut self, name: &str, cpus: u32) -> Self {
        self.buffers.push(BufferSpec {
            name: name.to_string(),
            cpus,
        });
        self
    }

    /// The `CPUSTAT` text of one CPU of a buffer (its `per_cpu/cpuN/stats`
    /// file). Written per buffer, in CPU order, an instance's after a
    /// `"\nBuffer: <name>\n\n"` entry, as trace-cmd does.
    pub fn cpustat(mut self, buffer: &str, cpu: Cpu, text: &str) -> Self {
        self.cpustats
            .push((buffer.to_string(), cpu.0, text.to_string()));
        self
    }

    /// The effective CPU count.
    pub(crate) fn effective_cpu_count(&self) -> u32 {
        self.cpu_count
            .unwrap_or_else(|| self.buffers.iter().map(|b| b.cpus).max().unwrap_or(0))
    }

    /// The header page text written to the file.
    pub(crate) fn header_page_bytes(&self) -> Vec<u8> {
        match &self.header_page {
            Some(t) => t.clone(),
            None => header_page_text(self.long_size, self.page_size).into_bytes(),
        }
    }

    /// The `saved_cmdlines` text.
    pub(crate) fn cmdlines_text(&self) -> Vec<u8> {
        let mut s = String::new();
        for (pid, comm) in &self.cmdlines {
            s.push_str(&format!("{} {}\n", pid.0, comm));
        }
        s.into_bytes()
    }

    /// Checks the spec and puts the top buffer first.
    pub(crate) fn validate(&mut self) -> WriterResult<()> {
        let bad = |m: String| Err(WriterError::InvalidSpec(m));
        if self.long_size != 4 && self.long_size != 8 {
            return bad(format!(
                "kernel long size must be 4 or 8, not {}",
                self.long_size
            ));
        }
        if !self.page_size.is_power_of_two() || !(256..=1 << 27).contains(&self.page_size) {
            return bad(format!(
                "page size {} must be a power of two in 256..=2^27",
                self.page_size
            ));
        }
        if self.version == FileVersion::V6 && self.compression != Compression::None {
            return bad("compression needs file version 7".into());
        }
        if self.clock.contains(['\0', '[', ']', ' ', '\n']) || self.clock.is_empty() {
            return bad(format!("invalid clock name {:?}", self.clock));
        }
        for (i, b) in self.buffers.iter().enumerate() {
            if b.name.contains('\0') {
                return bad(format!("buffer name {:?} contains NUL", b.name));
            }
            if self.buffers[..i].iter().any(|o| o.name == b.name) {
                return bad(format!("buffer {:?} declared twice", b.name));
            }
        }
        let max = self.buffers.iter().map(|b| b.cpus).max().unwrap_or(0);
        if self.effective_cpu_count() < max {
            return bad(format!(
                "cpu count {} is below a buffer's CPU count {max}",
                self.effective_cpu_count()
            ));
        }
        for (buffer, cpu, _) in &self.cpustats {
            match self.buffers.iter().find(|b| &b.name == buffer) {
                None => return bad(format!("CPUSTAT for undeclared buffer {buffer:?}")),
                Some(b) if *cpu >= b.cpus => {
                    return bad(format!("CPUSTAT for CPU {cpu} of buffer {buffer:?}"));
                }
                Some(_) => {}
            }
        }
        for (system, _) in &self.systems {
            if system.contains('\0') {
                return bad(format!("system name {system:?} contains NUL"));
            }
        }
        if let Some(top) = self.buffers.iter().position(|b| b.name.is_empty()) {
            let b = self.buffers.remove(top);
            self.buffers.insert(0, b);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_page_matches_the_kernel() {
        assert_eq!(
            header_page_text(8, 4096),
            "\tfield: u64 timestamp;\toffset:0;\tsize:8;\tsigned:0;\n\
             \tfield: local_t commit;\toffset:8;\tsize:8;\tsigned:1;\n\
             \tfield: int overwrite;\toffset:8;\tsize:1;\tsigned:1;\n\
             \tfield: char data;\toffset:16;\tsize:4080;\tsigned:0;\n"
        );
        assert_eq!(header_page_text(8, 4096).len(), 205);
        assert!(header_page_text(4, 4096).contains("commit;\toffset:8;\tsize:4;"));
        assert!(header_page_text(4, 4096).contains("data;\toffset:12;\tsize:4084;"));
        assert_eq!(HEADER_EVENT.len(), 205);
    }

    #[test]
    fn clock_text() {
        assert_eq!(
            trace_clock_text("local"),
            "[local] global counter uptime perf mono mono_raw boot tai\n"
        );
        assert!(trace_clock_text("x86-tsc").ends_with(" tai [x86-tsc]\n"));
    }

    #[test]
    fn validation() {
        let ok = |s: TraceDatSpec| {
            let mut s = s;
            s.validate().map(|_| s)
        };
        let base = || TraceDatSpec::new(Endian::Little, 8);
        assert!(ok(base().page_size(3000)).is_err());
        assert!(
            ok(base()
                .version(FileVersion::V6)
                .compression(Compression::Zstd))
            .is_err()
        );
        assert!(ok(base().buffer("a", 1).buffer("a", 2)).is_err());
        assert!(ok(base().buffer("", 4).cpu_count(2)).is_err());
        assert!(ok(base().clock("a b")).is_err());
        assert!(ok(base().buffer("", 1).cpustat("x", Cpu(0), "")).is_err());
        assert!(ok(base().buffer("", 1).cpustat("", Cpu(1), "")).is_err());
        assert!(ok(TraceDatSpec::new(Endian::Big, 2)).is_err());
        let s = ok(base().buffer("x", 1).buffer("", 2)).unwrap();
        assert_eq!(s.buffers[0].name, "");
        assert_eq!(s.effective_cpu_count(), 2);
        let s = base().cmdline(Pid(1), "init").cmdline(Pid(22), "a b");
        assert_eq!(s.cmdlines_text(), b"1 init\n22 a b\n");
    }
}
