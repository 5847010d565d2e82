//! Snapshots of the TUI's screens on real buggy scenarios (written as
//! trace.dat, read back, analysed and indexed exactly as `mmrace tui`
//! does), at 80x24 and 160x48, and the no-colour rendering.
#![cfg(feature = "tui")]

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use mmrace::analysis::AnalyzeOptions;
use mmrace::browse;
use mmrace::synth::{Scenario, SynthOptions, Variant, write_vec};
use mmrace::tui_view::BrowserView;
use mmrace_parsers::tracedat::TraceDat;
use mmrace_tui::App;
use mmrace_tui::ui::draw;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::Color;

/// Draws the screen after `keys` on scenario `s` (buggy) in a `w`x`h`
/// terminal; returns the text and whether any cell has a colour.
fn screen(s: Scenario, w: u16, h: u16, keys: &[KeyCode], color: bool) -> (String, bool) {
    let data = write_vec(&SynthOptions::new(s, Variant::Buggy)).unwrap();
    let trace = TraceDat::parse(&data).unwrap();
    let (b, ix) = browse::open(&trace, None, AnalyzeOptions::default());
    ix.run();
    let mut view = BrowserView::new(b, "buggy.dat".into());
    let mut app = App::new(&view, color);
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    term.draw(|f| draw(f, &mut app, &mut view)).unwrap();
    for k in keys {
        app.handle_key(KeyEvent::new(*k, KeyModifiers::NONE), &mut view);
        term.draw(|f| draw(f, &mut app, &mut view)).unwrap();
    }
    let buf = term.backend().buffer();
    let coloured = buf
        .content()
        .iter()
        .any(|c| c.fg != Color::Reset || c.bg != Color::Reset);
    let text: Vec<String> = (0..h)
        .map(|y| {
            (0..w)
                .map(|x| buf[(x, y)].symbol().to_string())
                .collect::<String>()
                .trim_end()
                .to_string()
        })
        .collect();
    (text.join("\n"), coloured)
}

const N: KeyCode = KeyCode::Char('n');

#[test]
fn finding_window_80x24() {
    let (s, coloured) = screen(Scenario::A, 80, 24, &[N], true);
    assert!(coloured);
    assert!(s.contains("INV-1a"), "{s}");
    assert!(s.contains('░'), "the window is shaded");
    insta::assert_snapshot!(s);
}

#[test]
fn finding_window_160x48() {
    let (s, _) = screen(Scenario::B, 160, 48, &[N], true);
    assert!(s.contains("CPU 1") && s.contains("CPU 2"), "{s}");
    insta::assert_snapshot!(s);
}

#[test]
fn detail_and_cause_chain_160x48() {
    let keys = [
        N,
        KeyCode::Tab,
        KeyCode::Tab,
        KeyCode::Tab,
        KeyCode::Char('j'),
    ];
    let (s, _) = screen(Scenario::B, 160, 48, &keys, true);
    assert!(s.contains("cause chain:"), "{s}");
    insta::assert_snapshot!(s);
}

#[test]
fn help_80x24() {
    let (s, _) = screen(Scenario::A, 80, 24, &[KeyCode::Char('?')], true);
    assert!(s.contains("Help"), "{s}");
    insta::assert_snapshot!(s);
}

#[test]
fn help_80x24_scrolled_to_the_end() {
    let mut keys = vec![KeyCode::Char('?')];
    keys.extend([KeyCode::Char('j'); 12]);
    let (s, _) = screen(Scenario::A, 80, 24, &keys, true);
    assert!(
        s.contains("cause chain"),
        "the last help line can be reached: {s}"
    );
    insta::assert_snapshot!(s);
}

#[test]
fn help_160x48() {
    let (s, _) = screen(Scenario::A, 160, 48, &[KeyCode::Char('?')], true);
    insta::assert_snapshot!(s);
}

#[test]
fn no_color_has_no_colour_and_the_same_text() {
    let (plain, coloured) = screen(Scenario::A, 80, 24, &[N], false);
    assert!(!coloured, "NO_COLOR: no cell has a colour");
    let (with, _) = screen(Scenario::A, 80, 24, &[N], true);
    assert_eq!(plain, with, "everything reads without colour");
}
