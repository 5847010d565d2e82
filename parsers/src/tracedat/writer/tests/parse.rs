//! A minimal trace.dat reader for the writer's tests: it follows the
//! layouts (checking offsets, alignment, chunking and the options chain on
//! the way) and decodes pages with the format document's reference
//! iteration.

use crate::endian::Endian;
use crate::tracedat::writer::{COMMIT_MASK, MAX_DELTA, MISSED_EVENTS, MISSED_STORED};

/// A minimal big/little-endian cursor for the checks below.
pub(super) struct Rd<'a> {
    d: &'a [u8],
    p: usize,
    e: Endian,
}

impl<'a> Rd<'a> {
    fn u16(&mut self) -> u16 {
        self.p += 2;
        self.e.read_u16(self.d, self.p - 2).unwrap()
    }
    fn u32(&mut self) -> u32 {
        self.p += 4;
        self.e.read_u32(self.d, self.p - 4).unwrap()
    }
    fn u64(&mut self) -> u64 {
        self.p += 8;
        self.e.read_u64(self.d, self.p - 8).unwrap()
    }
    fn bytes(&mut self, n: usize) -> &'a [u8] {
        self.p += n;
        &self.d[self.p - n..self.p]
    }
    fn cstr(&mut self) -> String {
        let n = self.d[self.p..].iter().position(|&b| b == 0).unwrap();
        let s = String::from_utf8(self.d[self.p..self.p + n].to_vec()).unwrap();
        self.p += n + 1;
        s
    }
}

/// A parsed file: metadata blocks (uncompressed) and per-(buffer, CPU)
/// data, offsets checked on the way.
#[derive(Default, PartialEq)]
pub(super) struct Parsed {
    pub(super) meta: Vec<(u16, String, Vec<u8>)>,
    pub(super) cpus: Vec<(String, u32, Vec<u8>)>,
    /// Options other than BUFFER (whose offsets depend on the layout).
    pub(super) options: Vec<(u16, Vec<u8>)>,
    /// BUFFER options: buffer names.
    pub(super) buffers: Vec<String>,
}

impl std::fmt::Debug for Parsed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let meta: Vec<_> = self
            .meta
            .iter()
            .map(|(id, d, p)| (id, d, p.len()))
            .collect();
        let cpus: Vec<_> = self.cpus.iter().map(|(b, c, d)| (b, c, d.len())).collect();
        let opts: Vec<_> = self.options.iter().map(|(id, d)| (id, d.len())).collect();
        write!(
            f,
            "meta {meta:?} cpus {cpus:?} options {opts:?} buffers {:?}",
            self.buffers
        )
    }
}

pub(super) fn decompress(name: &str, data: &[u8], usize: usize) -> Vec<u8> {
    match name {
        "zstd" => {
            // Like trace-cmd: no content size in the frame header.
            assert!(
                matches!(zstd::zstd_safe::get_frame_content_size(data), Ok(None)),
                "zstd frame carries a content size"
            );
            zstd::bulk::decompress(data, usize).unwrap()
        }
        "zlib" => {
            use std::io::Read;
            let mut out = Vec::new();
            flate2::read::ZlibDecoder::new(data)
                .read_to_end(&mut out)
                .unwrap();
            out
        }
        other => panic!("unexpected compression {other}"),
    }
}

/// Parses the initial header; returns (version, endian, cursor after it).
pub(super) fn initial(d: &[u8]) -> (String, Endian, usize, u32) {
    assert_eq!(&d[..10], b"\x17\x08\x44tracing");
    let mut r = Rd {
        d,
        p: 10,
        e: Endian::Little,
    };
    let version = r.cstr();
    r.e = if r.bytes(1)[0] == 1 {
        Endian::Big
    } else {
        Endian::Little
    };
    let _long = r.bytes(1)[0];
    let page = r.u32();
    (version, r.e, r.p, page)
}

pub(super) fn parse_v7(d: &[u8]) -> Parsed {
    let (version, e, p, page) = initial(d);
    assert_eq!(version, "7");
    let mut r = Rd { d, p, e };
    let comp = r.cstr();
    let _comp_version = r.cstr();
    let mut next_options = r.u64();
    let mut sections = Vec::new();
    let mut strings = Vec::new();
    while r.p < d.len() {
        let at = r.p as u64;
        let (id, flags, desc, size) = (r.u16(), r.u16(), r.u32(), r.u64());
        let body = r.bytes(size as usize);
        if id == 15 {
            strings = if flags & 1 == 1 {
                let mut b = Rd { d: body, p: 0, e };
                let (cs, us) = (b.u32() as usize, b.u32() as usize);
                assert_eq!(cs + 8, body.len());
                decompress(&comp, b.bytes(cs), us)
            } else {
                body.to_vec()
            };
        }
        sections.push((at, id, flags, desc, body));
    }
    let desc_of = |off: u32| {
        let s = &strings[off as usize..];
        String::from_utf8(s[..s.iter().position(|&b| b == 0).unwrap()].to_vec()).unwrap()
    };
    let mut parsed = Parsed::default();
    let mut buffers = Vec::new();
    for &(at, id, flags, desc, body) in &sections {
        let desc = desc_of(desc);
        match id {
            0 => {
                assert_eq!(at, next_options, "options chain");
                assert_eq!(desc, "options");
                let mut b = Rd { d: body, p: 0, e };
                loop {
                    let (oid, size) = (b.u16(), b.u32() as usize);
                    let data = b.bytes(size);
                    if oid == 0 {
                        next_options = Rd { d: data, p: 0, e }.u64();
                        break;
                    }
                    if oid == 3 {
                        buffers.push(data.to_vec());
                    } else if !(16..=21).contains(&oid) {
                        parsed.options.push((oid, data.to_vec()));
                    }
                }
                assert_eq!(b.p, body.len());
            }
            3 => assert!(desc.starts_with("buffer flyrecord ")),
            _ => {
                let payload = if flags & 1 == 1 {
                    let mut b = Rd { d: body, p: 0, e };
                    let (cs, us) = (b.u32() as usize, b.u32() as usize);
                    assert_eq!(cs + 8, body.len());
                    let out = decompress(&comp, b.bytes(cs), us);
                    assert_eq!(out.len(), us);
                    out
                } else {
                    body.to_vec()
                };
                parsed.meta.push((id, desc, payload));
            }
        }
    }
    assert_eq!(next_options, 0, "last DONE must end the chain");
    for opt in buffers {
        let mut b = Rd { d: &opt, p: 0, e };
        let section = b.u64() as usize;
        assert_eq!(e.read_u16(d, section), Some(3), "BUFFER option -> section");
        let (name, clock) = (b.cstr(), b.cstr());
        assert_eq!(clock, "local");
        parsed.buffers.push(name.clone());
        assert_eq!(b.u32(), page);
        let n = b.u32();
        for _ in 0..n {
            let (cpu, off, size) = (b.u32(), b.u64() as usize, b.u64() as usize);
            assert_eq!(off % page as usize, 0, "CPU data must be page aligned");
            let data = if comp == "none" {
                d[off..off + size].to_vec()
            } else {
                let mut c = Rd { d, p: off, e };
                let count = c.u32();
                let mut out = Vec::new();
                for i in 0..count {
                    let (cs, us) = (c.u32() as usize, c.u32() as usize);
                    if i + 1 < count {
                        assert_eq!(us, 10 * page as usize, "chunks of 10 pages");
                    }
                    let chunk = decompress(&comp, c.bytes(cs), us);
                    assert_eq!(chunk.len(), us);
                    out.extend_from_slice(&chunk);
                }
                assert_eq!(c.p - off, size, "recorded size includes the chunk count");
                out
            };
            assert!(!data.is_empty() && data.len() % page as usize == 0);
            parsed.cpus.push((name.clone(), cpu, data));
        }
    }
    parsed
}

pub(super) fn parse_v6(d: &[u8]) -> Parsed {
    let (version, e, p, page) = initial(d);
    assert_eq!(version, "6");
    let mut r = Rd { d, p, e };
    let mut parsed = Parsed::default();
    let mut header = Vec::new();
    for tag in [&b"header_page\0"[..], b"header_event\0"] {
        assert_eq!(r.bytes(tag.len()), tag);
        let n = r.u64() as usize;
        header.extend_from_slice(tag);
        header.extend_from_slice(&e.u64_bytes(n as u64));
        header.extend_from_slice(r.bytes(n));
    }
    parsed.meta.push((16, "headers".into(), header));
    let start = r.p;
    for _ in 0..r.u32() {
        let n = r.u64() as usize;
        r.bytes(n);
    }
    parsed
        .meta
        .push((17, "ftrace events".into(), d[start..r.p].to_vec()));
    let start = r.p;
    for _ in 0..r.u32() {
        r.cstr();
        for _ in 0..r.u32() {
            let n = r.u64() as usize;
            r.bytes(n);
        }
    }
    parsed
        .meta
        .push((18, "events format".into(), d[start..r.p].to_vec()));
    for (id, desc) in [(19, "kallsyms"), (20, "printk")] {
        let start = r.p;
        let n = r.u32() as usize;
        r.bytes(n);
        parsed.meta.push((id, desc.into(), d[start..r.p].to_vec()));
    }
    let start = r.p;
    let n = r.u64() as usize;
    r.bytes(n);
    parsed
        .meta
        .push((21, "command lines".into(), d[start..r.p].to_vec()));
    let cpus = r.u32();
    assert_eq!(r.bytes(10), b"options  \0");
    let mut instances = Vec::new();
    loop {
        let id = r.u16();
        if id == 0 {
            break;
        }
        let n = r.u32() as usize;
        let data = r.bytes(n);
        if id == 3 {
            let mut b = Rd { d: data, p: 0, e };
            instances.push((b.u64() as usize, b.cstr()));
            parsed
                .buffers
                .push(instances[instances.len() - 1].1.clone());
        } else {
            parsed.options.push((id, data.to_vec()));
        }
    }
    let flyrecord = |name: String, at: usize, parsed: &mut Parsed| {
        let mut r = Rd { d, p: at, e };
        assert_eq!(r.bytes(10), b"flyrecord\0");
        for cpu in 0..cpus {
            let (off, size) = (r.u64() as usize, r.u64() as usize);
            assert_eq!(off % page as usize, 0, "CPU data must be page aligned");
            assert_eq!(size % page as usize, 0);
            if size > 0 {
                parsed
                    .cpus
                    .push((name.clone(), cpu, d[off..off + size].to_vec()));
            }
        }
        let n = r.u64() as usize;
        assert_eq!(r.bytes(n), b"[local]");
    };
    flyrecord(String::new(), r.p, &mut parsed);
    for (at, name) in instances {
        flyrecord(name, at, &mut parsed);
    }
    parsed
}

/// A decoded record: (timestamp, payload, events lost before it).
pub(super) type Decoded = (u64, Vec<u8>, Option<Option<u64>>);

/// The reference page iteration of the format document (§2.3).
pub(super) fn decode_pages(e: Endian, long: usize, page_size: usize, data: &[u8]) -> Vec<Decoded> {
    let mut out = Vec::new();
    for page in data.chunks(page_size) {
        let mut ts = e.read_u64(page, 0).unwrap();
        let commit = e.read_uint(page, 8, long).unwrap();
        let hdr = 8 + long;
        let end = hdr + (commit & COMMIT_MASK) as usize;
        let mut lost = if commit & MISSED_EVENTS != 0 {
            Some((commit & MISSED_STORED != 0).then(|| e.read_uint(page, end, long).unwrap()))
        } else {
            None
        };
        let mut pos = hdr;
        while pos < end {
            let w = e.read_u32(page, pos).unwrap();
            let (tl, d) = if e.is_big() {
                (w >> 27, u64::from(w & MAX_DELTA))
            } else {
                (w & 0x1f, u64::from(w >> 5))
            };
            let a0 = || u64::from(e.read_u32(page, pos + 4).unwrap());
            match tl {
                29 if d == 0 => break,
                29 => {
                    ts += d;
                    pos += 4 + a0() as usize;
                }
                30 => {
                    ts += (a0() << 27) + d;
                    pos += 8;
                }
                31 => {
                    ts = ((a0() << 27) + d) | (ts & (0xf8 << 56));
                    pos += 8;
                }
                0 => {
                    let n = a0() as usize - 4;
                    ts += d;
                    out.push((ts, page[pos + 8..pos + 8 + n].to_vec(), lost.take()));
                    pos += 8 + ((n + 3) & !3);
                }
                _ => {
                    let n = tl as usize * 4;
                    ts += d;
                    out.push((ts, page[pos + 4..pos + 4 + n].to_vec(), lost.take()));
                    pos += 4 + n;
                }
            }
        }
    }
    out
}
