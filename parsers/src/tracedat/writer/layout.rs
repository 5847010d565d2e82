//! The file layouts: initial header, v6 metadata and CPU tables, v7
//! sections, options and the strings table.

use super::file::TraceDatWriter;
use super::out::Codec;
use super::spec::{FileVersion, trace_clock_text};
use super::{WriterError, WriterResult};
use crate::endian::Endian;
use std::io::{Seek, Write};

// Option and section ids (trace-cmd-private.h).
pub(super) const OPT_DONE: u16 = 0;
pub(super) const OPT_CPUSTAT: u16 = 2;
pub(super) const OPT_BUFFER: u16 = 3;
pub(super) const OPT_TRACECLOCK: u16 = 4;
pub(super) const OPT_UNAME: u16 = 5;
pub(super) const OPT_CPUCOUNT: u16 = 8;
pub(super) const OPT_VERSION: u16 = 9;
pub(super) const OPT_TRACEID: u16 = 11;
pub(super) const SEC_STRINGS: u16 = 15;
pub(super) const SEC_HEADER_INFO: u16 = 16;
pub(super) const SEC_FTRACE_EVENTS: u16 = 17;
pub(super) const SEC_EVENT_FORMATS: u16 = 18;
pub(super) const SEC_KALLSYMS: u16 = 19;
pub(super) const SEC_PRINTK: u16 = 20;
pub(super) const SEC_CMDLINES: u16 = 21;

impl<W: Write + Seek> TraceDatWriter<W> {
    pub(super) fn write_initial_header(&mut self) -> WriterResult<()> {
        let e = self.spec.endian;
        let mut h = Vec::with_capacity(64);
        h.extend_from_slice(b"\x17\x08\x44tracing");
        h.extend_from_slice(match self.spec.version {
            FileVersion::V6 => b"6\0",
            FileVersion::V7 => b"7\0",
        });
        h.push(u8::from(e.is_big()));
        h.push(self.spec.user_long_size);
        h.extend_from_slice(&e.u32_bytes(self.spec.page_size));
        if self.spec.version == FileVersion::V7 {
            let (name, version) = Codec::header_strings(self.spec.compression);
            push_str(&mut h, name);
            push_str(&mut h, version);
            self.next_options_at = h.len() as u64;
            h.extend_from_slice(&[0; 8]);
        }
        self.out.write(&h)?;
        Ok(())
    }

    pub(super) fn header_info(&self) -> Vec<u8> {
        let e = self.spec.endian;
        let page = self.spec.header_page_bytes();
        let event = &self.spec.header_event;
        let mut v = Vec::with_capacity(page.len() + event.len() + 48);
        v.extend_from_slice(b"header_page\0");
        v.extend_from_slice(&e.u64_bytes(page.len() as u64));
        v.extend_from_slice(&page);
        v.extend_from_slice(b"header_event\0");
        v.extend_from_slice(&e.u64_bytes(event.len() as u64));
        v.extend_from_slice(event);
        v
    }

    pub(super) fn ftrace_events(&self) -> WriterResult<Vec<u8>> {
        let e = self.spec.endian;
        let mut v = Vec::new();
        v.extend_from_slice(&e.u32_bytes(len_u32(self.spec.ftrace_formats.len())?));
        for f in &self.spec.ftrace_formats {
            v.extend_from_slice(&e.u64_bytes(f.len() as u64));
            v.extend_from_slice(f);
        }
        Ok(v)
    }

    pub(super) fn event_formats(&self) -> WriterResult<Vec<u8>> {
        let e = self.spec.endian;
        let mut v = Vec::new();
        v.extend_from_slice(&e.u32_bytes(len_u32(self.spec.systems.len())?));
        for (system, formats) in &self.spec.systems {
            push_str(&mut v, system);
            v.extend_from_slice(&e.u32_bytes(len_u32(formats.len())?));
            for f in formats {
                v.extend_from_slice(&e.u64_bytes(f.len() as u64));
                v.extend_from_slice(f);
            }
        }
        Ok(v)
    }

    pub(super) fn sized_u32(&self, text: &[u8]) -> WriterResult<Vec<u8>> {
        let mut v = Vec::with_capacity(text.len() + 4);
        v.extend_from_slice(&self.spec.endian.u32_bytes(len_u32(text.len())?));
        v.extend_from_slice(text);
        Ok(v)
    }

    pub(super) fn cmdlines(&self) -> Vec<u8> {
        let text = self.spec.cmdlines_text();
        let mut v = Vec::with_capacity(text.len() + 8);
        v.extend_from_slice(&self.spec.endian.u64_bytes(text.len() as u64));
        v.extend_from_slice(&text);
        v
    }

    /// The options every file carries, in trace-cmd's order: TRACECLOCK,
    /// UNAME, VERSION, TRACEID, CPUSTAT (per buffer, per CPU), then the
    /// caller's extra options.
    pub(super) fn common_options(&self) -> Vec<(u16, Vec<u8>)> {
        let e = self.spec.endian;
        let mut opts = Vec::new();
        opts.push((OPT_TRACECLOCK, cstr(&trace_clock_text(&self.spec.clock))));
        if let Some(u) = &self.spec.uname {
            opts.push((OPT_UNAME, cstr(u)));
        }
        if let Some(v) = &self.spec.tracecmd_version {
            opts.push((OPT_VERSION, cstr(v)));
        }
        if let Some(id) = self.spec.trace_id {
            opts.push((OPT_TRACEID, e.u64_bytes(id).to_vec()));
        }
        for b in &self.spec.buffers {
            let mut stats: Vec<&(String, u32, String)> = self
                .spec
                .cpustats
                .iter()
                .filter(|s| s.0 == b.name)
                .collect();
            if stats.is_empty() {
                continue;
            }
            if !b.name.is_empty() {
                opts.push((OPT_CPUSTAT, cstr(&format!("\nBuffer: {}\n\n", b.name))));
            }
            stats.sort_by_key(|s| s.1);
            for (_, _, text) in stats {
                opts.push((OPT_CPUSTAT, cstr(text)));
            }
        }
        opts.extend(self.spec.extra_options.iter().cloned());
        opts
    }

    pub(super) fn write_v6_metadata(&mut self) -> WriterResult<()> {
        let e = self.spec.endian;
        let mut v = self.header_info();
        v.extend_from_slice(&self.ftrace_events()?);
        v.extend_from_slice(&self.event_formats()?);
        v.extend_from_slice(&self.sized_u32(&self.spec.kallsyms)?);
        v.extend_from_slice(&self.sized_u32(&self.spec.printk)?);
        v.extend_from_slice(&self.cmdlines());
        v.extend_from_slice(&e.u32_bytes(self.cpu_count));
        v.extend_from_slice(b"options  \0");
        for (id, data) in self.common_options() {
            push_option(&mut v, e, id, &data)?;
        }
        let base = self.out.pos();
        for i in 0..self.spec.buffers.len() {
            let name = &self.spec.buffers[i].name;
            if name.is_empty() {
                continue;
            }
            let mut data = vec![0; 8];
            push_str(&mut data, name);
            push_option(&mut v, e, OPT_BUFFER, &data)?;
            self.v6_buffer_option[i] = Some(base + (v.len() - data.len()) as u64);
        }
        v.extend_from_slice(&e.u16_bytes(OPT_DONE));
        self.out.write(&v)?;
        if self.spec.buffers.first().is_none_or(|b| !b.name.is_empty()) {
            // No top buffer: trace-cmd still writes its (empty) CPU table.
            self.write_v6_flyrecord()?;
        }
        Ok(())
    }

    /// Writes a `flyrecord` tag, a zeroed CPU table and the clock; returns
    /// the table's position.
    pub(super) fn write_v6_flyrecord(&mut self) -> WriterResult<u64> {
        let e = self.spec.endian;
        self.out.write(b"flyrecord\0")?;
        let table_at = self.out.pos();
        self.out.zeros(u64::from(self.cpu_count) * 16)?;
        let clock = format!("[{}]", self.spec.clock);
        self.out.write(&e.u64_bytes(clock.len() as u64))?;
        self.out.write(clock.as_bytes())?;
        Ok(table_at)
    }

    pub(super) fn write_v7_metadata(&mut self) -> WriterResult<()> {
        let e = self.spec.endian;
        let mut offsets = Vec::new();
        let sections: [(u16, &str, Vec<u8>); 5] = [
            (SEC_HEADER_INFO, "headers", self.header_info()),
            (SEC_FTRACE_EVENTS, "ftrace events", self.ftrace_events()?),
            (SEC_EVENT_FORMATS, "events format", self.event_formats()?),
            (
                SEC_KALLSYMS,
                "kallsyms",
                self.sized_u32(&self.spec.kallsyms)?,
            ),
            (SEC_PRINTK, "printk", self.sized_u32(&self.spec.printk)?),
        ];
        for (id, desc, payload) in sections {
            let desc = self.add_string(desc);
            let at = self.write_meta_section(id, desc, &payload)?;
            offsets.push((id, e.u64_bytes(at).to_vec()));
        }
        let desc = self.add_string("command lines");
        let cmdlines_at = self.write_meta_section(SEC_CMDLINES, desc, &self.cmdlines())?;
        let mut opts = offsets;
        opts.extend(self.common_options());
        opts.push((SEC_CMDLINES, e.u64_bytes(cmdlines_at).to_vec()));
        opts.push((OPT_CPUCOUNT, e.u32_bytes(self.cpu_count).to_vec()));
        self.write_options_section(&opts)
    }

    // ------------------------------------------------------------- sections

    pub(super) fn add_string(&mut self, s: &str) -> i32 {
        let at = self.strings.len() as i32;
        push_str(&mut self.strings, s);
        at
    }

    /// Writes a v7 section header; returns the position after it.
    pub(super) fn write_section_header(
        &mut self,
        id: u16,
        flags: u16,
        desc: i32,
        size: u64,
    ) -> WriterResult<u64> {
        let e = self.spec.endian;
        let mut h = [0u8; 16];
        h[..2].copy_from_slice(&e.u16_bytes(id));
        h[2..4].copy_from_slice(&e.u16_bytes(flags));
        h[4..8].copy_from_slice(&e.u32_bytes(desc as u32));
        h[8..].copy_from_slice(&e.u64_bytes(size));
        self.out.write(&h)?;
        Ok(self.out.pos())
    }

    /// Writes a metadata section, compressed as one block when the file is;
    /// returns its offset.
    pub(super) fn write_meta_section(
        &mut self,
        id: u16,
        desc: i32,
        payload: &[u8],
    ) -> WriterResult<u64> {
        let at = self.out.pos();
        match self.codec.as_mut() {
            Some(codec) => {
                let mut z = std::mem::take(&mut self.zbuf);
                codec.compress(payload, &mut z)?;
                let e = self.spec.endian;
                self.write_section_header(id, 1, desc, 8 + z.len() as u64)?;
                self.out.write(&e.u32_bytes(len_u32(z.len())?))?;
                self.out.write(&e.u32_bytes(len_u32(payload.len())?))?;
                self.out.write(&z)?;
                self.zbuf = z;
            }
            None => {
                self.write_section_header(id, 0, desc, payload.len() as u64)?;
                self.out.write(payload)?;
            }
        }
        Ok(at)
    }

    /// Writes an options section ending with DONE, linked from the previous
    /// one (or from the header).
    pub(super) fn write_options_section(&mut self, opts: &[(u16, Vec<u8>)]) -> WriterResult<()> {
        let e = self.spec.endian;
        let start = self.out.pos();
        self.out.patch(self.next_options_at, &e.u64_bytes(start))?;
        let mut v = Vec::new();
        for (id, data) in opts {
            push_option(&mut v, e, *id, data)?;
        }
        push_option(&mut v, e, OPT_DONE, &[0; 8])?;
        let desc = self.add_string("options");
        let body = self.write_section_header(0, 0, desc, v.len() as u64)?;
        self.next_options_at = body + v.len() as u64 - 8;
        self.out.write(&v)?;
        Ok(())
    }
}

pub(super) fn len_u32(n: usize) -> WriterResult<u32> {
    u32::try_from(n).map_err(|_| WriterError::OutOfRange {
        what: "length",
        value: n as u64,
        max: u64::from(u32::MAX),
    })
}

pub(super) fn push_str(v: &mut Vec<u8>, s: &str) {
    v.extend_from_slice(s.as_bytes());
    v.push(0);
}

pub(super) fn cstr(s: &str) -> Vec<u8> {
    let mut v = Vec::with_capacity(s.len() + 1);
    push_str(&mut v, s);
    v
}

pub(super) fn push_option(v: &mut Vec<u8>, e: Endian, id: u16, data: &[u8]) -> WriterResult<()> {
    v.extend_from_slice(&e.u16_bytes(id));
    v.extend_from_slice(&e.u32_bytes(len_u32(data.len())?));
    v.extend_from_slice(data);
    Ok(())
}
