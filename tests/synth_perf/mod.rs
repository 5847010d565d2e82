//! Race-model scenarios written as perf.data, for the tests of the
//! perf.data paths (analysis, TUI).

use mmrace::synth::SynthTrace;
use mmrace_parsers::Endian;
use mmrace_parsers::perf::sample_type as st;
use mmrace_parsers::perf::writer::{AttrSpec, PerfDataBuilder, SampleSpec, tracing_data};

/// A scenario as perf.data: every record a tracepoint sample (pid = tid),
/// `FINISHED_ROUND` every 7 records, and `extra` records (losses) appended
/// at their time.
pub fn to_perf(t: &SynthTrace, e: Endian, losses: &[(u64, Option<u32>, bool)]) -> Vec<u8> {
    let mut b = PerfDataBuilder::new(e);
    let sample_type = st::TID | st::TIME | st::CPU | st::RAW | st::IDENTIFIER;
    let tp = b.attr(AttrSpec::tracepoint(1, sample_type, &[1]));
    // Side-band records of an event that samples no CPU.
    let nocpu = b.attr(AttrSpec {
        kind: 1,
        config: 9,
        sample_type: st::TID | st::TIME | st::IDENTIFIER,
        read_format: 0,
        sample_id_all: true,
        ids: vec![2],
    });
    let mut texts: Vec<(&str, &str)> = t
        .format_texts
        .iter()
        .map(|(s, f)| (s.as_str(), f.as_str()))
        .collect();
    texts.sort_by_key(|(s, _)| *s);
    b.tracing_data(tracing_data(e, 8, &texts, ""))
        .string_feature(6, "x86_64")
        .nr_cpus(2, 2);
    let mut pending: Vec<_> = losses.to_vec();
    pending.sort();
    let mut li = 0;
    for (i, r) in t.merged().enumerate() {
        while li < pending.len() && pending[li].0 <= r.ts.0 {
            let (ts, cpu, samples) = pending[li];
            let at = SampleSpec {
                id: if cpu.is_some() { 1 } else { 2 },
                time: ts,
                cpu: cpu.unwrap_or(0),
                ..SampleSpec::default()
            };
            match (cpu, samples) {
                (Some(_), false) => b.lost(tp, 1, 3, &at),
                (Some(_), true) => b.lost_samples(tp, 3, &at),
                // No CPU in the trailer: every CPU is marked.
                (None, _) => b.lost_samples(nocpu, 3, &at),
            };
            li += 1;
        }
        let tid = e.read_u32(r.payload, 4).unwrap() as i32;
        b.sample(
            tp,
            &SampleSpec {
                id: 1,
                pid: tid,
                tid,
                time: r.ts.0,
                cpu: r.cpu.0,
                raw: r.payload.to_vec(),
                ..SampleSpec::default()
            },
        );
        if i % 7 == 6 {
            b.finished_round();
        }
    }
    b.finish()
}
