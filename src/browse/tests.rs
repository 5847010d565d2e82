//! Browser tests: lines from checkpoints equal `mmrace dump`'s lines, the
//! one-pass analysis equals `analysis::analyze`, searches and filters.

use super::*;
use crate::analysis::analyze;
use crate::dump::{DumpOptions, dump};
use crate::synth::{Scenario, SynthCompression, SynthOptions, Variant, write_vec};

fn bytes(compression: SynthCompression) -> Vec<u8> {
    let mut o = SynthOptions::new(Scenario::B, Variant::Buggy);
    o.noise = 1500;
    o.compression = compression;
    write_vec(&o).unwrap()
}

fn dump_lines(trace: &TraceDat<'_>) -> Vec<String> {
    let mut out = Vec::new();
    dump(trace, &DumpOptions::default(), &mut out).unwrap();
    let s = String::from_utf8(out).unwrap();
    s.lines().skip(1).map(str::to_string).collect()
}

fn indexed<'a>(trace: &'a TraceDat<'a>) -> Browser<'a> {
    let (b, ix) = open(trace, None, AnalyzeOptions::default());
    ix.run();
    assert!(b.progress().done);
    b
}

fn all(_: &Line) -> bool {
    true
}

#[test]
fn lines_around_any_index_are_the_dump_lines() {
    for c in [SynthCompression::None, SynthCompression::Zstd] {
        let data = bytes(c);
        let trace = TraceDat::parse(&data).unwrap();
        let want = dump_lines(&trace);
        assert!(want.len() as u64 > 3 * CHECKPOINT_EVERY, "{}", want.len());
        let mut b = indexed(&trace);
        assert_eq!(b.progress().records, want.len() as u64);
        for i in (0..want.len()).step_by(37).chain([want.len() - 1]) {
            let a = b.around(Target::Index(i as u64), 3, 4, &all);
            let lo = i.saturating_sub(3);
            let hi = (i + 4).min(want.len());
            let got: Vec<&str> = a.lines.iter().map(|l| l.text.as_str()).collect();
            let exp: Vec<&str> = want[lo..hi].iter().map(String::as_str).collect();
            assert_eq!(got, exp, "around {i} ({c:?})");
            assert_eq!(a.focus, i - lo);
            assert_eq!(a.lines[a.focus].index, i as u64);
        }
    }
}

#[test]
fn time_targets_land_on_the_first_record_at_or_after() {
    let data = bytes(SynthCompression::None);
    let trace = TraceDat::parse(&data).unwrap();
    let mut b = indexed(&trace);
    let a = b.around(Target::Index(900), 0, 3, &all);
    let t = a.lines[1].ts;
    let first_at_t = b.around(Target::Index(0), 0, 2000, &all);
    let expect = first_at_t.lines.iter().find(|l| l.ts >= t).unwrap();
    let w = b.around(Target::Time(t), 2, 1, &all);
    assert_eq!(w.lines[w.focus].index, expect.index);
    assert_eq!(w.focus, 2);
    assert!(w.lines[..w.focus].iter().all(|l| l.ts < t));
}

#[test]
fn one_pass_analysis_equals_analyze() {
    let data = bytes(SynthCompression::Zstd);
    let trace = TraceDat::parse(&data).unwrap();
    let b = indexed(&trace);
    let got = b.analysed().unwrap();
    let want = analyze(&trace, None, &AnalyzeOptions::default()).unwrap();
    assert!(!want.findings.is_empty());
    assert_eq!(got.analysis.findings, want.findings);
    assert_eq!(got.analysis.stats, want.stats);
    assert!(!got.timeline.lanes.is_empty());
}

#[test]
fn filters_and_searches() {
    let data = bytes(SynthCompression::None);
    let trace = TraceDat::parse(&data).unwrap();
    let want = dump_lines(&trace);
    let mut b = indexed(&trace);
    let cpu3 = |l: &Line| l.cpu == 3;
    let a = b.around(Target::Index(1500), 5, 5, &cpu3);
    assert_eq!(a.lines.len(), 10);
    assert!(a.lines.iter().all(|l| l.cpu == 3));
    assert!(a.lines.windows(2).all(|w| w[0].index < w[1].index));
    // Search: the next line with the text after index 10, and the previous.
    let needle = "switch_mm:";
    let next = want
        .iter()
        .enumerate()
        .skip(11)
        .find(|(_, l)| l.contains(needle))
        .unwrap()
        .0;
    let hit = b.search(Target::Index(10), needle, true, &all).unwrap();
    assert_eq!(hit.index, next as u64);
    let prev = want[..next]
        .iter()
        .enumerate()
        .rev()
        .find(|(_, l)| l.contains(needle))
        .map(|(i, _)| i as u64);
    let back = b.search(Target::Index(next as u64), needle, false, &all);
    assert_eq!(back.map(|l| l.index), prev);
    assert!(
        b.search(Target::Index(0), "no such text", true, &all)
            .is_none()
    );
}

#[test]
fn lines_are_available_while_indexing_is_not_done() {
    let data = bytes(SynthCompression::None);
    let trace = TraceDat::parse(&data).unwrap();
    let (mut b, ix) = open(&trace, None, AnalyzeOptions::default());
    assert!(b.around(Target::Index(0), 0, 3, &all).lines.is_empty());
    std::thread::scope(|s| {
        s.spawn(move || ix.run());
    });
    assert_eq!(b.around(Target::Index(0), 0, 3, &all).lines.len(), 3);
}
