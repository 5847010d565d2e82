//! Reader throughput (MB/s of uncompressed CPU data) per file layout and
//! byte order: every record of a generated 16 MiB x86_64 trace, in merged
//! order, and per CPU in parallel as the analysis decodes them.

// criterion_group! defines an undocumented `pub fn benches`.
#![allow(missing_docs)]

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use mmrace::synth::{BulkOptions, SynthCompression, write_bulk};
use mmrace_parsers::Endian;
use mmrace_parsers::tracedat::{Item, TraceDat};

const SIZE: u64 = 16 << 20;

fn trace(endian: Endian, version: u32, compression: SynthCompression) -> Vec<u8> {
    let mut o = BulkOptions::new(SIZE);
    o.endian = endian;
    o.file_version = version;
    o.compression = compression;
    write_bulk(&o, std::io::Cursor::new(Vec::new()))
        .expect("bulk trace")
        .0
        .into_inner()
}

fn reader(c: &mut Criterion) {
    let mut g = c.benchmark_group("reader");
    g.throughput(Throughput::Bytes(SIZE));
    g.sample_size(10);
    for (name, endian, version, comp) in [
        ("v6-le", Endian::Little, 6, SynthCompression::None),
        ("v7-le", Endian::Little, 7, SynthCompression::None),
        ("v7-be", Endian::Big, 7, SynthCompression::None),
        ("v7-zstd-le", Endian::Little, 7, SynthCompression::Zstd),
        ("v7-zstd-be", Endian::Big, 7, SynthCompression::Zstd),
    ] {
        let bytes = trace(endian, version, comp);
        g.bench_function(BenchmarkId::new("merged", name), |b| {
            b.iter(|| {
                let t = TraceDat::parse(&bytes).expect("parse");
                let mut m = mmrace::chunks::merged_records(&t);
                let mut n = 0u64;
                while let Some(it) = m.next_item() {
                    if let Ok(Item::Record(r)) = it {
                        n += r.payload.len() as u64;
                    }
                }
                n
            })
        });
    }
    g.finish();
}

criterion_group!(benches, reader);
criterion_main!(benches);
