//! Analysis throughput (records/s): ingest (classification by the compiled
//! x86_64 profile) and the replay of a generated 16 MiB x86_64 trace.

// criterion_group! defines an undocumented `pub fn benches`.
#![allow(missing_docs)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mmrace::analysis::{AnalyzeOptions, analyze_ingested, analyze_with_info, choose_profile};
use mmrace::ingest::Ingest;
use mmrace::synth::{BulkOptions, write_bulk};
use mmrace_parsers::tracedat::{Item, TraceDat};

fn replay(c: &mut Criterion) {
    let bytes = write_bulk(
        &BulkOptions::new(16 << 20),
        std::io::Cursor::new(Vec::new()),
    )
    .expect("bulk trace")
    .0
    .into_inner();
    let t = TraceDat::parse(&bytes).expect("parse");
    let opts = AnalyzeOptions::default();
    let p = choose_profile(&t.formats, t.options.machine(), None).expect("profile");
    let compiled = p.compile(&t.formats, t.endian);
    let mut ingest = Ingest::new(&compiled);
    let mut m = t.merged_records();
    while let Some(it) = m.next_item() {
        if let Ok(Item::Record(r)) = it {
            ingest.push_record(r.ts, r.cpu, r.payload);
        }
    }
    let ingested = ingest.finish();
    let mut g = c.benchmark_group("analysis");
    g.throughput(Throughput::Elements(ingested.records));
    g.sample_size(10);
    g.bench_function("replay", |b| {
        b.iter(|| analyze_ingested(&ingested, &compiled, &opts).findings.len())
    });
    g.bench_function("whole", |b| {
        b.iter(|| {
            analyze_with_info(&t, None, &opts)
                .expect("analysis")
                .0
                .findings
                .len()
        })
    });
    g.finish();
}

criterion_group!(benches, replay);
criterion_main!(benches);
