//! `CpuRecords::page_pos` / `seek`: coming back to any page of any CPU stream
//! and skipping the items already seen on it gives exactly the item the
//! sequential reader gave, in raw, zstd, zlib, v6, truncated and
//! multi-buffer files.

use std::collections::HashMap;
use std::path::Path;

use mmrace_parsers::tracedat::{Item, TraceDat};

/// An item as plain values (timestamp, payload or lost count).
fn key(it: &Item<'_>) -> (u64, Vec<u8>, Option<u64>) {
    match it {
        Item::Record(r) => (r.ts.0, r.payload.to_vec(), None),
        Item::Lost(l) => (l.ts.0, Vec::new(), Some(l.count.unwrap_or(u64::MAX))),
    }
}

fn check(name: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures")
        .join(name);
    let bytes = std::fs::read(&path).unwrap();
    let trace = TraceDat::parse(&bytes).unwrap();
    let mut checked = 0;
    for (b, buf) in trace.buffers.iter().enumerate() {
        for c in 0..buf.cpus.len() {
            let mut s = trace.cpu_records(b, c).unwrap();
            // (page, items seen on it before) → the item.
            let mut seen: Vec<(mmrace_parsers::tracedat::PagePos, usize, _)> = Vec::new();
            let mut on_page: HashMap<_, usize> = HashMap::new();
            while let Some(it) = s.next_item() {
                let Ok(it) = it else { continue };
                let k = key(&it);
                let pos = s.page_pos().expect("an item has a page");
                let n = on_page.entry(pos).or_insert(0);
                seen.push((pos, *n, k));
                *n += 1;
            }
            // Every item of a sample of pages (all of them in small files).
            let step = (seen.len() / 400).max(1);
            let mut s2 = trace.cpu_records(b, c).unwrap();
            for (pos, n, want) in seen.iter().step_by(step) {
                s2.seek(*pos);
                for _ in 0..*n {
                    s2.next_item();
                }
                let got = s2.next_item().unwrap().unwrap();
                assert_eq!(&key(&got), want, "{name} buffer {b} cpu {c} {pos:?}+{n}");
                checked += 1;
            }
        }
    }
    assert!(checked > 0, "{name}: no items");
}

#[test]
fn seek_raw_v7() {
    check("x86_64/x86_64-v7.dat");
}

#[test]
fn seek_zstd_and_zlib() {
    check("x86_64/x86_64-v7-zstd.dat");
    check("x86_64/x86_64-v7-zlib.dat");
}

#[test]
fn seek_v6_big_endian_and_truncated() {
    check("public/sched_load_v6_bigendian.dat");
    check("x86_64/x86_64-truncated.dat");
    check("x86_64/x86_64-multibuf.dat");
}
