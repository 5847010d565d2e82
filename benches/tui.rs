//! First-frame and redraw time of `mmrace tui` on a large generated trace
//! (scenario B with 2,000,000 noise steps: about 6.5 M events, 230 MB),
//! drawn into ratatui's TestBackend, next to a peer measured in the same
//! run: drawing an empty frame of the same size.
//!
//! `cargo bench --bench tui`

// criterion_group! defines an undocumented public function.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use mmrace::analysis::AnalyzeOptions;
use mmrace::browse;
use mmrace::synth::{Scenario, SynthOptions, Variant, write_vec};
use mmrace::tui_view::BrowserView;
use mmrace_parsers::tracedat::TraceDat;
use mmrace_tui::{App, TraceView, ui};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn big() -> &'static [u8] {
    let mut o = SynthOptions::new(Scenario::B, Variant::Buggy);
    o.noise = 2_000_000;
    Box::leak(write_vec(&o).unwrap().into_boxed_slice())
}

/// Opens the trace as `mmrace tui` does (indexer on its own thread) and
/// returns the view once the first checkpoint is published.
fn open(bytes: &'static [u8]) -> BrowserView<'static> {
    let trace: &'static TraceDat<'static> = Box::leak(Box::new(TraceDat::parse(bytes).unwrap()));
    let (b, ix) = browse::open(trace, None, AnalyzeOptions::default());
    std::thread::spawn(move || ix.run());
    while b.progress().span.is_none() {
        std::thread::yield_now();
    }
    BrowserView::new(b, "big.dat".into())
}

fn draw(term: &mut Terminal<TestBackend>, app: &mut App, view: &mut BrowserView<'_>) {
    term.draw(|f| ui::draw(f, app, view)).unwrap();
}

fn benches(c: &mut Criterion) {
    let bytes = big();
    let mut g = c.benchmark_group("tui");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(5));
    g.bench_function("first_frame_160x48", |b| {
        b.iter_custom(|n| {
            let mut total = Duration::ZERO;
            for _ in 0..n {
                let t = Instant::now();
                let mut view = open(bytes);
                let mut app = App::new(&view, true);
                let mut term = Terminal::new(TestBackend::new(160, 48)).unwrap();
                draw(&mut term, &mut app, &mut view);
                total += t.elapsed();
                view.browser().state().cancel();
            }
            total
        })
    });

    // A view whose lanes are built (every record read); the findings of
    // this trace's analysis may still be running.
    let mut view = open(bytes);
    while view.cpus().is_empty() {
        view.poll();
        std::thread::sleep(Duration::from_millis(50));
    }
    for (w, h) in [(160u16, 48u16), (80, 24)] {
        let mut app = App::new(&view, true);
        app.sync(&view);
        let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
        draw(&mut term, &mut app, &mut view);
        g.bench_function(format!("redraw_whole_trace_{w}x{h}"), |b| {
            b.iter(|| draw(&mut term, &mut app, &mut view))
        });
        g.bench_function(format!("empty_frame_{w}x{h}"), |b| {
            b.iter(|| {
                term.draw(|f| {
                    black_box(f.area());
                })
                .unwrap();
            })
        });
        // Zoomed in and panning: every frame asks for events at a new time
        // (decoded from a checkpoint) and for new lane samples.
        for _ in 0..12 {
            app.handle_key(
                KeyEvent::new(KeyCode::Char('+'), KeyModifiers::NONE),
                &mut view,
            );
        }
        let mut dir = 'l';
        let mut steps = 0;
        g.bench_function(format!("pan_and_redraw_{w}x{h}"), |b| {
            b.iter(|| {
                steps += 1;
                if steps % 200 == 0 {
                    dir = if dir == 'l' { 'h' } else { 'l' };
                }
                app.handle_key(
                    KeyEvent::new(KeyCode::Char(dir), KeyModifiers::NONE),
                    &mut view,
                );
                draw(&mut term, &mut app, &mut view);
            })
        });
    }
    g.finish();
}

criterion_group!(tui, benches);
criterion_main!(tui);
