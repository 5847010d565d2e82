//! State tests of the update function: keys and mouse in, state out, no
//! terminal. The view is a small in-memory trace with one finding.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseEvent, MouseEventKind};
use mmrace_tui::app::{Action, Anchor, App, KEYMAP, MIN_WIDTH, Mode, Pane, action_for};
use mmrace_tui::fixture::VecView;
use mmrace_tui::ui::help_lines;
use mmrace_tui::view::*;
use ratatui::layout::Rect;

fn pos(i: u64) -> EventPos {
    EventPos {
        ts: Ts(1_000 + i * 100),
        index: EventNo(i),
        cpu: CpuNo((i % 2) as u32),
    }
}

/// 40 events alternating CPUs 0 and 1, 100 ns apart; finding 0 spans
/// events 10..20, finding 1 events 30..35.
fn view() -> VecView {
    let events = (0..40)
        .map(|i| EventLine {
            pos: pos(i),
            text: format!(
                "ev{i} cpu{} {}",
                i % 2,
                if i % 7 == 0 { "needle" } else { "" }
            ),
            event: if i % 5 == 0 {
                "mmctx:switch_mm"
            } else {
                "sched:sched_switch"
            }
            .into(),
            pid: 100 + (i % 3) as i32,
            comm: Some(format!("t{}", i % 3)),
        })
        .collect();
    let finding = |s: u64, e: u64| FindingView {
        code: "INV-1".into(),
        id: "wrong-mm-at-user-return".into(),
        title: "t".into(),
        severity: "critical".into(),
        confidence: "observed".into(),
        cpu: CpuNo(1),
        start: pos(s),
        end: Some(pos(e)),
        end_ts: pos(e).ts,
        chain: vec![
            ChainStep {
                at: pos(s - 4),
                what: "req".into(),
            },
            ChainStep {
                at: pos(s - 2),
                what: "switch".into(),
            },
            ChainStep {
                at: pos(s),
                what: "user".into(),
            },
        ],
        ..FindingView::default()
    };
    VecView {
        title: "fixture".into(),
        events,
        lanes: vec![
            LaneView {
                cpu: CpuNo(0),
                ..LaneView::default()
            },
            LaneView {
                cpu: CpuNo(1),
                ..LaneView::default()
            },
        ],
        findings: vec![finding(10, 20), finding(30, 35)],
        progress: Progress {
            done: true,
            ..Progress::default()
        },
    }
}

fn key(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
}

fn keys(app: &mut App, v: &mut VecView, s: &str) {
    for c in s.chars() {
        app.handle_key(key(c), v);
    }
}

fn code(app: &mut App, v: &mut VecView, c: KeyCode) {
    app.handle_key(KeyEvent::new(c, KeyModifiers::NONE), v);
}

fn anchored(app: &App) -> EventPos {
    match app.anchor {
        Anchor::Event(p) => p,
        Anchor::Time(t) => panic!("anchored by time {t:?}"),
    }
}

#[test]
fn starts_on_the_whole_trace_with_the_first_finding_selected() {
    let v = view();
    let app = App::new(&v, true);
    assert_eq!(app.from, Ts(1_000));
    assert_eq!(app.width, 3_900);
    assert_eq!(app.finding, Some(0));
    assert_eq!(app.focus, Pane::Findings);
    assert_eq!(app.mode, Mode::Normal);
}

#[test]
fn n_goes_to_the_finding_window_and_next_then_back() {
    let mut v = view();
    let mut app = App::new(&v, true);
    keys(&mut app, &mut v, "n");
    assert_eq!(app.finding, Some(0));
    assert_eq!(anchored(&app), pos(10));
    assert_eq!(app.cursor, pos(10).ts);
    // Window 2000..3000 ns with a quarter on each side.
    assert_eq!((app.from, app.width), (Ts(1_750), 1_500));
    keys(&mut app, &mut v, "n");
    assert_eq!(app.finding, Some(1));
    assert_eq!(anchored(&app), pos(30));
    keys(&mut app, &mut v, "n");
    assert_eq!(app.finding, Some(1), "stays on the last");
    keys(&mut app, &mut v, "N");
    assert_eq!(app.finding, Some(0));
    assert_eq!(anchored(&app), pos(10));
    let w = app.window(&v).unwrap();
    assert_eq!((w.start, w.end), (pos(10).ts, pos(20).ts));
}

#[test]
fn zoom_keeps_the_cursor_column_and_has_limits() {
    let mut v = view();
    let mut app = App::new(&v, true);
    keys(&mut app, &mut v, "n");
    let col = |a: &App| (a.cursor.0 - a.from.0) as f64 / a.width as f64;
    let before = col(&app);
    keys(&mut app, &mut v, "+");
    assert_eq!(app.width, 750);
    assert!((col(&app) - before).abs() < 0.01);
    keys(&mut app, &mut v, "-");
    assert_eq!(app.width, 1_500);
    for _ in 0..20 {
        keys(&mut app, &mut v, "+");
    }
    assert_eq!(app.width, MIN_WIDTH);
    for _ in 0..40 {
        keys(&mut app, &mut v, "-");
    }
    assert_eq!(app.width, 2 * 3_900, "at most twice the trace");
}

#[test]
fn pan_moves_a_quarter_and_the_events_follow() {
    let mut v = view();
    let mut app = App::new(&v, true);
    keys(&mut app, &mut v, "n");
    keys(&mut app, &mut v, "l");
    assert_eq!(app.from, Ts(1_750 + 375));
    assert_eq!(app.anchor, Anchor::Time(Ts(1_750 + 375 + 750)));
    code(&mut app, &mut v, KeyCode::Left);
    code(&mut app, &mut v, KeyCode::Left);
    assert_eq!(app.from, Ts(1_750 - 375));
    for _ in 0..10 {
        keys(&mut app, &mut v, "h");
    }
    assert_eq!(app.from, Ts(1_000), "not before the trace");
}

#[test]
fn tab_cycles_panes_both_ways() {
    let mut v = view();
    let mut app = App::new(&v, true);
    let mut seen = vec![app.focus];
    for _ in 0..4 {
        code(&mut app, &mut v, KeyCode::Tab);
        seen.push(app.focus);
    }
    assert_eq!(
        seen,
        [
            Pane::Findings,
            Pane::Timeline,
            Pane::Events,
            Pane::Detail,
            Pane::Findings
        ]
    );
    code(&mut app, &mut v, KeyCode::BackTab);
    assert_eq!(app.focus, Pane::Detail);
}

#[test]
fn j_k_move_the_event_cursor_and_respect_the_filter() {
    let mut v = view();
    let mut app = App::new(&v, true);
    keys(&mut app, &mut v, "n");
    app.focus = Pane::Events;
    keys(&mut app, &mut v, "j");
    assert_eq!(anchored(&app), pos(11));
    code(&mut app, &mut v, KeyCode::Down);
    keys(&mut app, &mut v, "k");
    assert_eq!(anchored(&app), pos(11));
    // Filter to CPU 0: the cursor lands on an even event and j skips odd ones.
    keys(&mut app, &mut v, "f");
    assert_eq!(app.mode, Mode::Filter(String::new()));
    keys(&mut app, &mut v, "cpu=0");
    code(&mut app, &mut v, KeyCode::Enter);
    assert_eq!(app.filter.cpu, Some(CpuNo(0)));
    assert_eq!(anchored(&app), pos(12));
    keys(&mut app, &mut v, "j");
    assert_eq!(anchored(&app), pos(14));
    // A bad filter keeps the old one and says why.
    keys(&mut app, &mut v, "f");
    code(&mut app, &mut v, KeyCode::Backspace);
    keys(&mut app, &mut v, "x pid=1");
    code(&mut app, &mut v, KeyCode::Enter);
    assert_eq!(app.filter.cpu, Some(CpuNo(0)));
    assert!(app.status.contains("bad value"), "{}", app.status);
    // An empty filter clears.
    keys(&mut app, &mut v, "f");
    for _ in 0..10 {
        code(&mut app, &mut v, KeyCode::Backspace);
    }
    code(&mut app, &mut v, KeyCode::Enter);
    assert!(app.filter.is_empty());
}

#[test]
fn enter_on_a_cause_chain_step_jumps_to_its_event() {
    let mut v = view();
    let mut app = App::new(&v, true);
    keys(&mut app, &mut v, "n");
    app.focus = Pane::Detail;
    keys(&mut app, &mut v, "j");
    assert_eq!(app.chain_step, 1);
    code(&mut app, &mut v, KeyCode::Enter);
    assert_eq!(anchored(&app), pos(8));
    assert_eq!(app.focus, Pane::Events);
    assert_eq!(app.from.0 + app.width / 2, pos(8).ts.0, "timeline centred");
    // Enter on an event centres the timeline on it.
    keys(&mut app, &mut v, "jj");
    code(&mut app, &mut v, KeyCode::Enter);
    assert_eq!(app.cursor, pos(10).ts);
    assert_eq!(app.from.0 + app.width / 2, pos(10).ts.0);
}

#[test]
fn search_finds_the_next_match_and_repeats() {
    let mut v = view();
    let mut app = App::new(&v, true);
    keys(&mut app, &mut v, "n/needle");
    assert_eq!(app.mode, Mode::Search("needle".into()));
    code(&mut app, &mut v, KeyCode::Enter);
    assert_eq!(anchored(&app), pos(14));
    keys(&mut app, &mut v, "/");
    code(&mut app, &mut v, KeyCode::Enter);
    assert_eq!(anchored(&app), pos(21), "empty text repeats");
    keys(&mut app, &mut v, "/nothing");
    code(&mut app, &mut v, KeyCode::Enter);
    assert_eq!(anchored(&app), pos(21));
    assert!(app.status.contains("not found"));
    keys(&mut app, &mut v, "/abc");
    code(&mut app, &mut v, KeyCode::Esc);
    assert_eq!(app.mode, Mode::Normal);
}

#[test]
fn g_and_shift_g_go_to_the_ends() {
    let mut v = view();
    let mut app = App::new(&v, true);
    app.focus = Pane::Events;
    keys(&mut app, &mut v, "G");
    assert_eq!(anchored(&app), pos(39));
    keys(&mut app, &mut v, "g");
    assert_eq!(anchored(&app), pos(0));
    app.focus = Pane::Findings;
    code(&mut app, &mut v, KeyCode::End);
    assert_eq!(app.finding, Some(1));
    code(&mut app, &mut v, KeyCode::Home);
    assert_eq!(app.finding, Some(0));
}

#[test]
fn help_opens_and_closes_and_q_quits() {
    let mut v = view();
    let mut app = App::new(&v, true);
    keys(&mut app, &mut v, "?");
    assert_eq!(app.mode, Mode::Help);
    keys(&mut app, &mut v, "jjk");
    assert_eq!(app.mode, Mode::Help, "j/k scroll the help");
    assert_eq!(app.help_scroll, 1);
    assert_eq!(app.finding, Some(0), "and do nothing else");
    keys(&mut app, &mut v, "n");
    assert_eq!(
        app.anchor,
        Anchor::Time(Ts(1_000)),
        "n does nothing under help"
    );
    keys(&mut app, &mut v, "q");
    assert_eq!(app.mode, Mode::Normal);
    assert!(!app.quit, "q closes help first");
    keys(&mut app, &mut v, "q");
    assert!(app.quit);
    let mut app = App::new(&v, true);
    app.handle_key(
        KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL),
        &mut v,
    );
    assert!(app.quit);
}

#[test]
fn the_mouse_wheel_zooms_the_timeline_and_scrolls_lists() {
    let mut v = view();
    let mut app = App::new(&v, true);
    app.areas.timeline = Rect::new(0, 10, 80, 8);
    app.areas.findings = Rect::new(0, 0, 40, 8);
    let wheel = |kind, row| MouseEvent {
        kind,
        column: 5,
        row,
        modifiers: KeyModifiers::NONE,
    };
    app.handle_mouse(wheel(MouseEventKind::ScrollUp, 12), &mut v);
    assert_eq!(app.width, 3_900 / 2);
    app.handle_mouse(wheel(MouseEventKind::ScrollDown, 12), &mut v);
    assert_eq!(app.width, 3_900 / 2 * 2);
    app.handle_mouse(wheel(MouseEventKind::ScrollDown, 3), &mut v);
    assert_eq!(
        app.finding,
        Some(1),
        "wheel over the findings moves the selection"
    );
    assert_eq!(app.focus, Pane::Findings);
}

#[test]
fn help_is_generated_from_the_key_map() {
    let help = help_lines().join("\n");
    for b in KEYMAP {
        assert!(help.contains(b.help), "{}", b.help);
        for k in b.keys.split(' ') {
            let code = match k {
                "↓" => KeyCode::Down,
                "↑" => KeyCode::Up,
                "←" => KeyCode::Left,
                "→" => KeyCode::Right,
                "Home" => KeyCode::Home,
                "End" => KeyCode::End,
                "Enter" => KeyCode::Enter,
                "Tab" => KeyCode::Tab,
                "S-Tab" => KeyCode::BackTab,
                "Esc" => KeyCode::Esc,
                c => KeyCode::Char(c.chars().next().unwrap()),
            };
            let got = action_for(&KeyEvent::new(code, KeyModifiers::NONE));
            assert_eq!(got, Some(b.action), "key {k}");
        }
    }
    assert!(KEYMAP.iter().any(|b| b.action == Action::Quit));
}
