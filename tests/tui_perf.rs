//! `mmrace tui` on perf.data files: the file is read, analysed and indexed
//! exactly as the subcommand does ([`TraceFile::parse`] tells the kind by
//! its magic, [`browse::open_file`], the indexer, [`BrowserView`]); the
//! findings, lanes and event lines are those of `mmrace analyze` and
//! `mmrace dump`.
#![cfg(feature = "tui")]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use mmrace::analysis::{AnalyzeOptions, analyze_perf_with_info};
use mmrace::browse::{self, TraceFile};
use mmrace::input::Input;
use mmrace::synth::{Scenario, SynthOptions, Variant};
use mmrace::tui_view::BrowserView;
use mmrace_parsers::Endian;
use mmrace_parsers::perf::PerfData;
use mmrace_tui::App;
use mmrace_tui::ui::draw;
use mmrace_tui::view::{CpuNo, EventNo, EventPos, Filter, TraceView, Ts};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

mod synth_perf;
use synth_perf::to_perf;

/// Opens `path` as `mmrace tui` does and runs the indexer to its end.
fn with_view(path: &Path, check: impl FnOnce(&mut BrowserView<'_>)) {
    let input = Input::open(path, false).unwrap();
    let file = TraceFile::parse(&input).unwrap();
    assert!(matches!(file, TraceFile::PerfData(_)), "told by the magic");
    let (b, ix) = browse::open_file(&file, None, AnalyzeOptions::default());
    ix.run();
    let mut view = BrowserView::new(b, "perf".into());
    let p = view.progress();
    assert!(p.done && p.message.is_empty(), "{p:?}");
    check(&mut view);
}

/// `mmrace dump FILE`'s sample lines (the `cpus=` header dropped).
fn dump_lines(path: &Path) -> Vec<String> {
    let out = assert_cmd::Command::cargo_bin("mmrace")
        .unwrap()
        .arg("dump")
        .arg(path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let s = String::from_utf8(out.stdout).unwrap();
    assert!(s.starts_with("cpus="), "{s}");
    s.lines().skip(1).map(str::to_string).collect()
}

fn temp_file(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mmrace-tui-perf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn buggy_scenario_as_perf_data_shows_its_findings_lanes_and_dump_lines() {
    for e in [Endian::Little, Endian::Big] {
        let o = SynthOptions {
            endian: e,
            ..SynthOptions::new(Scenario::A, Variant::Buggy)
        };
        let t = mmrace::synth::build(&o).unwrap();
        let cpus: BTreeSet<u32> = t.merged().map(|r| r.cpu.0).collect();
        let bytes = to_perf(&t, e, &[]);
        // Not named perf.data: the kind comes from the magic.
        let path = temp_file(&format!("scenario-a-{e:?}.trace"), &bytes);
        let dump = dump_lines(&path);
        // Every record of the scenario is a tracepoint sample: sample i is
        // dump line i.
        assert_eq!(dump.len(), t.merged().count());
        with_view(&path, |view| {
            let codes: Vec<&str> = view.findings().iter().map(|f| f.code.as_str()).collect();
            assert_eq!(codes, ["INV-1a", "INV-1"], "{e:?}");
            // The findings are the analysis's.
            let perf = PerfData::parse(&bytes).unwrap();
            let (a, _) = analyze_perf_with_info(&perf, None, &AnalyzeOptions::default()).unwrap();
            let want: Vec<_> = a
                .findings
                .iter()
                .map(mmrace::tui_view::finding_view)
                .collect();
            assert_eq!(view.findings(), &want[..]);
            // A lane per CPU of the scenario, with its tasks.
            let lanes: BTreeSet<u32> = view.cpus().iter().map(|c| c.0).collect();
            assert_eq!(lanes, cpus);
            let (from, to) = view.span();
            assert!(from < to);
            let nos: Vec<CpuNo> = view.cpus();
            let lv = view.lanes(&nos, from, to, 80);
            assert_eq!(lv.len(), cpus.len());
            assert!(lv.iter().all(|l| !l.tasks.is_empty()), "{lv:?}");
            // The lines around the first finding's window are the dump's.
            let f = view.findings()[0].clone();
            let (start, end) = (
                f.start.index.0,
                f.end.map_or(f.start.index.0, |p| p.index.0),
            );
            assert!(end > start, "{f:?}");
            let after = (end - start + 3) as usize;
            let w = view.events_around(f.start, 3, after, &Filter::default());
            let lo = start.saturating_sub(3) as usize;
            let hi = (start as usize + after).min(dump.len());
            let got: Vec<&str> = w.lines.iter().map(|l| l.text.as_str()).collect();
            let exp: Vec<&str> = dump[lo..hi].iter().map(String::as_str).collect();
            assert_eq!(got, exp, "{e:?}");
            assert_eq!(w.lines[w.focus].pos, f.start);
            assert_eq!(
                w.lines.iter().map(|l| l.pos.index.0).collect::<Vec<_>>(),
                (lo as u64..hi as u64).collect::<Vec<_>>()
            );
            // A time target lands on the first sample at or after it.
            let at_time = EventPos {
                ts: f.start.ts,
                index: EventNo::BY_TIME,
                cpu: CpuNo(0),
            };
            let w = view.events_around(at_time, 0, 1, &Filter::default());
            let first = dump_index_at(view, f.start.ts);
            assert_eq!(w.lines[0].pos.index, first);
            // Filters and searches over the kept lines.
            let cpu = Filter::parse(&format!("cpu={}", f.cpu.0)).unwrap();
            let w = view.events_around(f.start, 4, 4, &cpu);
            assert!(!w.lines.is_empty() && w.lines.iter().all(|l| l.pos.cpu == f.cpu));
            let needle = "switch_mm";
            let next = dump
                .iter()
                .enumerate()
                .skip(start as usize + 1)
                .find(|(_, l)| l.contains(needle))
                .map(|(i, _)| i as u64);
            let hit = view.search(f.start, needle, true, &Filter::default());
            assert_eq!(hit.map(|p| p.index.0), next);
            let prev = dump[..start as usize]
                .iter()
                .rposition(|l| l.contains(needle))
                .map(|i| i as u64);
            let hit = view.search(f.start, needle, false, &Filter::default());
            assert_eq!(hit.map(|p| p.index.0), prev);
            // The screen lists the findings.
            let mut app = App::new(view, false);
            let mut term = Terminal::new(TestBackend::new(120, 30)).unwrap();
            app.handle_key(KeyEvent::new(KeyCode::Char('n'), KeyModifiers::NONE), view);
            term.draw(|fr| draw(fr, &mut app, view)).unwrap();
            let screen: String = term
                .backend()
                .buffer()
                .content()
                .iter()
                .map(|c| c.symbol())
                .collect();
            assert!(
                screen.contains("INV-1a") && screen.contains("INV-1 "),
                "{screen}"
            );
        });
    }
}

/// The index of the first sample at or after `ts`, by walking the lines.
fn dump_index_at(view: &mut BrowserView<'_>, ts: Ts) -> EventNo {
    let start = EventPos {
        ts: Ts(0),
        index: EventNo(0),
        cpu: CpuNo(0),
    };
    let all = view.events_around(start, 0, 100_000, &Filter::default());
    all.lines.iter().find(|l| l.pos.ts >= ts).unwrap().pos.index
}

#[test]
fn real_perf_fixture_opens_with_no_finding() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/x86_64/x86_64-perf.data");
    let dump = dump_lines(&path);
    with_view(&path, |view| {
        assert!(view.findings().is_empty(), "{:?}", view.findings());
        let cpus: Vec<u32> = view.cpus().iter().map(|c| c.0).collect();
        assert_eq!(cpus, [0, 1]);
        let p = view.progress();
        assert_eq!(
            p.records,
            dump.len() as u64,
            "every sample is a tracepoint's"
        );
        let start = EventPos {
            ts: Ts(0),
            index: EventNo(0),
            cpu: CpuNo(0),
        };
        let w = view.events_around(start, 2, 20, &Filter::default());
        let got: Vec<&str> = w.lines.iter().map(|l| l.text.as_str()).collect();
        let exp: Vec<&str> = dump[..20].iter().map(String::as_str).collect();
        assert_eq!(got, exp);
        assert_eq!(w.focus, 0);
        let last = EventPos {
            ts: Ts(0),
            index: EventNo(dump.len() as u64 - 1),
            cpu: CpuNo(0),
        };
        let w = view.events_around(last, 5, 5, &Filter::default());
        let got: Vec<&str> = w.lines.iter().map(|l| l.text.as_str()).collect();
        let exp: Vec<&str> = dump[dump.len() - 6..].iter().map(String::as_str).collect();
        assert_eq!(got, exp);
    });
}
