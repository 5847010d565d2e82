//! The TUI's state and its update function: keys and mouse events in, state
//! out. No terminal here, so every behaviour is testable with a plain
//! [`TraceView`].

use crossterm::event::{
    Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use ratatui::layout::{Position, Rect};

use crate::view::{EventPos, Filter, Span, TraceView, Ts};

/// The panes, in Tab order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Pane {
    /// The findings list.
    Findings,
    /// The per-CPU timeline.
    Timeline,
    /// The event list.
    Events,
    /// The selected finding in full.
    Detail,
}

impl Pane {
    /// Tab order.
    pub const ALL: [Pane; 4] = [Pane::Findings, Pane::Timeline, Pane::Events, Pane::Detail];

    /// Name shown in titles and help.
    pub fn name(self) -> &'static str {
        match self {
            Pane::Findings => "Findings",
            Pane::Timeline => "Timeline",
            Pane::Events => "Events",
            Pane::Detail => "Detail",
        }
    }
}

/// What the user is typing into, if anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// Keys are commands.
    Normal,
    /// Typing a search text (`/`).
    Search(String),
    /// Typing a filter (`f`).
    Filter(String),
    /// The help screen is shown.
    Help,
}

/// Where the event pane is anchored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    /// At this event.
    Event(EventPos),
    /// At the first event at or after this time.
    Time(Ts),
}

/// A command; keys map to commands through [`KEYMAP`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Quit.
    Quit,
    /// Show or hide the help.
    Help,
    /// Next pane.
    NextPane,
    /// Previous pane.
    PrevPane,
    /// Down / next item in the focused pane (lanes in the timeline).
    Down,
    /// Up / previous item in the focused pane.
    Up,
    /// Select the next finding and go to its window.
    NextFinding,
    /// Select the previous finding and go to its window.
    PrevFinding,
    /// Zoom the timeline in.
    ZoomIn,
    /// Zoom the timeline out.
    ZoomOut,
    /// Pan the timeline left (earlier).
    PanLeft,
    /// Pan the timeline right (later).
    PanRight,
    /// First item / start of the trace.
    First,
    /// Last item / end of the trace.
    Last,
    /// Search the event lines.
    Search,
    /// Filter events and lanes.
    Filter,
    /// Jump: an event to the timeline, a finding or a cause-chain event to
    /// its place.
    Enter,
    /// Close the prompt or the help.
    Escape,
}

/// One key binding: the keys shown in help, the command, what it does.
#[derive(Debug, Clone, Copy)]
pub struct Binding {
    /// The keys as shown in the help.
    pub keys: &'static str,
    /// The command.
    pub action: Action,
    /// What it does.
    pub help: &'static str,
}

/// The key map. The help screen is generated from it, and [`action_for`]
/// reads it, so the two cannot disagree.
pub const KEYMAP: &[Binding] = &[
    Binding {
        keys: "j ↓",
        action: Action::Down,
        help: "next item; timeline: next CPU lanes",
    },
    Binding {
        keys: "k ↑",
        action: Action::Up,
        help: "previous item; timeline: previous CPU lanes",
    },
    Binding {
        keys: "n",
        action: Action::NextFinding,
        help: "next finding: timeline and events go to its window",
    },
    Binding {
        keys: "N",
        action: Action::PrevFinding,
        help: "previous finding",
    },
    Binding {
        keys: "+ =",
        action: Action::ZoomIn,
        help: "zoom in (also the mouse wheel on the timeline)",
    },
    Binding {
        keys: "-",
        action: Action::ZoomOut,
        help: "zoom out",
    },
    Binding {
        keys: "h ←",
        action: Action::PanLeft,
        help: "pan the timeline earlier",
    },
    Binding {
        keys: "l →",
        action: Action::PanRight,
        help: "pan the timeline later",
    },
    Binding {
        keys: "g Home",
        action: Action::First,
        help: "first item / start of trace",
    },
    Binding {
        keys: "G End",
        action: Action::Last,
        help: "last item / end of trace",
    },
    Binding {
        keys: "/",
        action: Action::Search,
        help: "search event lines (Enter: next match; empty repeats)",
    },
    Binding {
        keys: "f",
        action: Action::Filter,
        help: "filter: cpu=N pid=N comm=S event=S mm=0xHEX (empty clears)",
    },
    Binding {
        keys: "Enter",
        action: Action::Enter,
        help: "go to the selected finding / event / cause-chain event",
    },
    Binding {
        keys: "Tab",
        action: Action::NextPane,
        help: "next pane",
    },
    Binding {
        keys: "S-Tab",
        action: Action::PrevPane,
        help: "previous pane",
    },
    Binding {
        keys: "?",
        action: Action::Help,
        help: "this help",
    },
    Binding {
        keys: "Esc",
        action: Action::Escape,
        help: "close help or prompt",
    },
    Binding {
        keys: "q",
        action: Action::Quit,
        help: "quit",
    },
];

/// The command a key means in normal mode.
pub fn action_for(key: &KeyEvent) -> Option<Action> {
    if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
        return Some(Action::Quit);
    }
    let name = match key.code {
        KeyCode::Char(c) => c.to_string(),
        KeyCode::Down => "↓".into(),
        KeyCode::Up => "↑".into(),
        KeyCode::Left => "←".into(),
        KeyCode::Right => "→".into(),
        KeyCode::Home => "Home".into(),
        KeyCode::End => "End".into(),
        KeyCode::Enter => "Enter".into(),
        KeyCode::Tab => "Tab".into(),
        KeyCode::BackTab => "S-Tab".into(),
        KeyCode::Esc => "Esc".into(),
        _ => return None,
    };
    KEYMAP
        .iter()
        .find(|b| b.keys.split(' ').any(|k| k == name))
        .map(|b| b.action)
}

/// Where the panes were drawn last (for the mouse).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Areas {
    /// Findings pane.
    pub findings: Rect,
    /// Timeline pane.
    pub timeline: Rect,
    /// Event pane.
    pub events: Rect,
    /// Detail pane.
    pub detail: Rect,
}

/// Narrowest timeline viewport (ns).
pub const MIN_WIDTH: u64 = 10;

/// The whole state of the TUI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct App {
    /// Focused pane.
    pub focus: Pane,
    /// Prompt or help.
    pub mode: Mode,
    /// Selected finding.
    pub finding: Option<usize>,
    /// Selected cause-chain step in the detail pane.
    pub chain_step: usize,
    /// Timeline viewport start.
    pub from: Ts,
    /// Timeline viewport width in ns.
    pub width: u64,
    /// First CPU lane shown.
    pub lane_offset: usize,
    /// The event pane's anchor.
    pub anchor: Anchor,
    /// The timeline cursor (the anchored event's time).
    pub cursor: Ts,
    /// Event and lane filter.
    pub filter: Filter,
    /// Last search text.
    pub last_search: Option<String>,
    /// Status line message.
    pub status: String,
    /// Colours on (off with `NO_COLOR`).
    pub color: bool,
    /// Quit was asked.
    pub quit: bool,
    /// Pane areas of the last frame.
    pub areas: Areas,
    /// Whether the initial viewport was set from the final span.
    pub span_known: bool,
    /// The viewport the app set by itself (not the user).
    pub auto_view: Option<(Ts, u64)>,
    /// First help line shown (j/k scroll the help on small terminals).
    pub help_scroll: u16,
}

impl App {
    /// A fresh state over `view`: the whole trace in the timeline, the event
    /// pane at its start, the first finding selected (not jumped to).
    pub fn new(view: &dyn TraceView, color: bool) -> App {
        let mut a = App {
            focus: Pane::Findings,
            mode: Mode::Normal,
            finding: None,
            chain_step: 0,
            from: Ts(0),
            width: 1,
            lane_offset: 0,
            anchor: Anchor::Time(Ts(0)),
            cursor: Ts(0),
            filter: Filter::default(),
            last_search: None,
            status: String::new(),
            color,
            quit: false,
            areas: Areas::default(),
            span_known: false,
            auto_view: None,
            help_scroll: 0,
        };
        a.sync(view);
        a
    }

    /// Takes in what the view learnt since the last frame (span, findings).
    pub fn sync(&mut self, view: &dyn TraceView) {
        let (s, e) = view.span();
        // Show the whole trace until its span is final (lanes known), unless
        // the user moved the viewport since.
        let untouched = self.auto_view == Some((self.from, self.width));
        if !self.span_known && e > s && (self.auto_view.is_none() || untouched) {
            self.from = s;
            self.width = (e.0 - s.0).max(MIN_WIDTH);
            self.auto_view = Some((self.from, self.width));
            if self.anchor == Anchor::Time(Ts(0)) {
                self.anchor = Anchor::Time(s);
                self.cursor = s;
            }
            self.span_known = view.progress().done || !view.cpus().is_empty();
        }
        if self.finding.is_none() && !view.findings().is_empty() {
            self.finding = Some(0);
        }
    }

    /// The selected finding's window.
    pub fn window(&self, view: &dyn TraceView) -> Option<Span> {
        let f = view.findings().get(self.finding?)?;
        Some(Span {
            start: f.start.ts,
            end: f.end_ts,
        })
    }

    /// Handles one terminal event.
    pub fn handle_event(&mut self, ev: &Event, view: &mut dyn TraceView) {
        match ev {
            Event::Key(k) if k.kind != KeyEventKind::Release => self.handle_key(*k, view),
            Event::Mouse(m) => self.handle_mouse(*m, view),
            _ => {}
        }
    }

    /// Handles one key.
    pub fn handle_key(&mut self, key: KeyEvent, view: &mut dyn TraceView) {
        match &mut self.mode {
            Mode::Search(s) | Mode::Filter(s) => {
                match key.code {
                    KeyCode::Esc => self.mode = Mode::Normal,
                    KeyCode::Enter => {
                        let text = std::mem::take(s);
                        let was_search = matches!(self.mode, Mode::Search(_));
                        self.mode = Mode::Normal;
                        if was_search {
                            self.search(text, view);
                        } else {
                            self.apply_filter(&text, view);
                        }
                    }
                    KeyCode::Backspace => {
                        s.pop();
                    }
                    KeyCode::Char('c') if key.modifiers.contains(KeyModifiers::CONTROL) => {
                        self.mode = Mode::Normal;
                    }
                    KeyCode::Char(c) => s.push(c),
                    _ => {}
                }
                return;
            }
            Mode::Help => {
                match action_for(&key) {
                    Some(Action::Help | Action::Escape | Action::Quit) => {
                        self.mode = Mode::Normal;
                        self.help_scroll = 0;
                    }
                    Some(Action::Down) => self.help_scroll = self.help_scroll.saturating_add(1),
                    Some(Action::Up) => self.help_scroll = self.help_scroll.saturating_sub(1),
                    _ => {}
                }
                return;
            }
            Mode::Normal => {}
        }
        if let Some(a) = action_for(&key) {
            self.apply(a, view);
        }
    }

    /// Runs one command.
    pub fn apply(&mut self, a: Action, view: &mut dyn TraceView) {
        self.status.clear();
        match a {
            Action::Quit => self.quit = true,
            Action::Help => self.mode = Mode::Help,
            Action::Escape => self.mode = Mode::Normal,
            Action::NextPane | Action::PrevPane => {
                let i = Pane::ALL.iter().position(|p| *p == self.focus).unwrap_or(0);
                let n = Pane::ALL.len();
                let j = if a == Action::NextPane {
                    (i + 1) % n
                } else {
                    (i + n - 1) % n
                };
                self.focus = Pane::ALL[j];
            }
            Action::NextFinding | Action::PrevFinding => {
                let n = view.findings().len();
                if n == 0 {
                    self.status = "no findings".into();
                    return;
                }
                let next = match (self.finding, a == Action::NextFinding) {
                    // The first `n` goes to the selected (first) finding.
                    (Some(i), true) if self.at_finding(view, i) => (i + 1).min(n - 1),
                    (Some(i), true) => i,
                    (Some(i), false) => i.saturating_sub(1),
                    (None, _) => 0,
                };
                self.select_finding(next, view);
            }
            Action::ZoomIn => self.zoom(0.5, view),
            Action::ZoomOut => self.zoom(2.0, view),
            Action::PanLeft => self.pan(-1, view),
            Action::PanRight => self.pan(1, view),
            Action::Down => self.step(1, view),
            Action::Up => self.step(-1, view),
            Action::First | Action::Last => self.ends(a == Action::Last, view),
            Action::Search => self.mode = Mode::Search(String::new()),
            Action::Filter => self.mode = Mode::Filter(self.filter.to_string()),
            Action::Enter => self.enter(view),
        }
    }

    /// Whether the view is at finding `i` (its window shown, the event pane
    /// at its start).
    fn at_finding(&self, view: &dyn TraceView, i: usize) -> bool {
        view.findings()
            .get(i)
            .is_some_and(|f| self.anchor == Anchor::Event(f.start))
    }

    /// Selects finding `i` and moves the timeline and the event pane to its
    /// window (with a quarter of its length around it).
    pub fn select_finding(&mut self, i: usize, view: &mut dyn TraceView) {
        let Some(f) = view.findings().get(i) else {
            return;
        };
        let (s, e) = (f.start.ts.0, f.end_ts.0.max(f.start.ts.0));
        let len = (e - s).max(MIN_WIDTH);
        let pad = (len / 4).max(1);
        self.from = Ts(s.saturating_sub(pad));
        self.width = len + 2 * pad;
        self.anchor = Anchor::Event(f.start);
        self.cursor = f.start.ts;
        self.finding = Some(i);
        self.chain_step = 0;
    }

    fn span(&self, view: &dyn TraceView) -> (u64, u64) {
        let (s, e) = view.span();
        (s.0, e.0.max(s.0))
    }

    /// Zooms by `factor` around the cursor when it is in view, else around
    /// the centre.
    pub fn zoom(&mut self, factor: f64, view: &dyn TraceView) {
        let (s, e) = self.span(view);
        let full = (e - s).max(MIN_WIDTH);
        let new_w = ((self.width as f64 * factor) as u64).clamp(MIN_WIDTH, full.max(MIN_WIDTH) * 2);
        let pivot = if (self.from.0..self.from.0 + self.width).contains(&self.cursor.0) {
            self.cursor.0
        } else {
            self.from.0 + self.width / 2
        };
        let frac = (pivot - self.from.0) as f64 / self.width.max(1) as f64;
        let from = pivot.saturating_sub((new_w as f64 * frac) as u64);
        self.width = new_w;
        self.from = Ts(from);
    }

    /// Pans by a quarter of the viewport; the event pane follows the
    /// timeline's centre.
    pub fn pan(&mut self, dir: i64, view: &dyn TraceView) {
        let (s, e) = self.span(view);
        let step = (self.width / 4).max(1);
        let from = if dir < 0 {
            self.from.0.saturating_sub(step).max(s.min(self.from.0))
        } else {
            (self.from.0 + step).min(e.max(self.from.0))
        };
        self.from = Ts(from);
        let centre = Ts(from + self.width / 2);
        self.anchor = Anchor::Time(centre);
        self.cursor = centre;
    }

    fn ends(&mut self, last: bool, view: &mut dyn TraceView) {
        match self.focus {
            Pane::Findings => {
                let n = view.findings().len();
                if n > 0 {
                    self.finding = Some(if last { n - 1 } else { 0 });
                    self.chain_step = 0;
                }
            }
            Pane::Detail => {
                let n = self.chain_len(view);
                self.chain_step = if last { n.saturating_sub(1) } else { 0 };
            }
            Pane::Timeline | Pane::Events => {
                let (s, e) = self.span(view);
                let t = if last { e } else { s };
                self.anchor = Anchor::Time(Ts(t));
                self.cursor = Ts(t);
                self.from = Ts(if last {
                    e.saturating_sub(self.width)
                } else {
                    s
                });
                self.resolve(view);
            }
        }
    }

    fn chain_len(&self, view: &dyn TraceView) -> usize {
        self.finding
            .and_then(|i| view.findings().get(i))
            .map_or(0, |f| f.chain.len())
    }

    /// Moves the selection of the focused pane.
    pub fn step(&mut self, d: i64, view: &mut dyn TraceView) {
        match self.focus {
            Pane::Findings => {
                let n = view.findings().len();
                if n > 0 {
                    let i = self.finding.unwrap_or(0) as i64 + d;
                    self.finding = Some(i.clamp(0, n as i64 - 1) as usize);
                    self.chain_step = 0;
                }
            }
            Pane::Detail => {
                let n = self.chain_len(view) as i64;
                if n > 0 {
                    self.chain_step = (self.chain_step as i64 + d).clamp(0, n - 1) as usize;
                }
            }
            Pane::Timeline => {
                let n = view.cpus().len() as i64;
                self.lane_offset = (self.lane_offset as i64 + d).clamp(0, (n - 1).max(0)) as usize;
            }
            Pane::Events => {
                let at = self.anchor_pos(view);
                let w = view.events_around(at, 1, 2, &self.filter);
                let j = w.focus as i64 + d;
                if j >= 0
                    && let Some(l) = w.lines.get(j as usize)
                {
                    self.anchor = Anchor::Event(l.pos);
                    self.cursor = l.pos.ts;
                }
            }
        }
    }

    /// The anchor as a position for the view (a time anchor asks by time,
    /// see [`crate::view::EventNo::BY_TIME`]).
    pub fn anchor_pos(&self, _view: &dyn TraceView) -> EventPos {
        match self.anchor {
            Anchor::Event(p) => p,
            Anchor::Time(t) => EventPos {
                ts: t,
                index: crate::view::EventNo::BY_TIME,
                cpu: crate::view::CpuNo(0),
            },
        }
    }

    /// Turns a time anchor into the event it lands on.
    pub fn resolve(&mut self, view: &mut dyn TraceView) {
        if let Anchor::Time(_) = self.anchor {
            let at = self.anchor_pos(view);
            let w = view.events_around(at, 0, 1, &self.filter);
            if let Some(l) = w.lines.get(w.focus) {
                self.anchor = Anchor::Event(l.pos);
                self.cursor = l.pos.ts;
            }
        }
    }

    /// Centres the timeline on `ts` (keeping the zoom).
    pub fn centre_on(&mut self, ts: Ts) {
        self.from = Ts(ts.0.saturating_sub(self.width / 2));
        self.cursor = ts;
    }

    fn enter(&mut self, view: &mut dyn TraceView) {
        match self.focus {
            Pane::Findings => {
                if let Some(i) = self.finding {
                    self.select_finding(i, view);
                }
            }
            Pane::Events => {
                self.resolve(view);
                self.centre_on(self.cursor);
            }
            Pane::Detail => {
                let step = self
                    .finding
                    .and_then(|i| view.findings().get(i))
                    .and_then(|f| f.chain.get(self.chain_step))
                    .map(|c| c.at);
                if let Some(p) = step {
                    self.anchor = Anchor::Event(p);
                    self.centre_on(p.ts);
                    self.focus = Pane::Events;
                }
            }
            Pane::Timeline => {
                let centre = Ts(self.from.0 + self.width / 2);
                self.anchor = Anchor::Time(centre);
                self.cursor = centre;
                self.resolve(view);
            }
        }
    }

    fn search(&mut self, text: String, view: &mut dyn TraceView) {
        let text = if text.is_empty() {
            match &self.last_search {
                Some(t) => t.clone(),
                None => return,
            }
        } else {
            text
        };
        self.resolve(view);
        let from = self.anchor_pos(view);
        match view.search(from, &text, true, &self.filter) {
            Some(p) => {
                self.anchor = Anchor::Event(p);
                self.centre_on(p.ts);
                self.status = format!("found `{text}` at {}", p.index);
            }
            None => self.status = format!("`{text}` not found after the cursor"),
        }
        self.last_search = Some(text);
    }

    fn apply_filter(&mut self, text: &str, view: &mut dyn TraceView) {
        match Filter::parse(text) {
            Ok(f) => {
                self.filter = f;
                self.lane_offset = 0;
                self.status = if self.filter.is_empty() {
                    "filter cleared".into()
                } else {
                    format!("filter: {}", self.filter)
                };
                // Re-anchor by time: the anchored event may be filtered out.
                if let Anchor::Event(p) = self.anchor {
                    self.anchor = Anchor::Time(p.ts);
                    self.resolve(view);
                }
            }
            Err(e) => self.status = format!("filter: {e}"),
        }
    }

    /// Handles the mouse: a click focuses a pane, the wheel zooms the
    /// timeline (pans with Shift or sideways) and moves selections elsewhere.
    pub fn handle_mouse(&mut self, m: MouseEvent, view: &mut dyn TraceView) {
        let p = Position::new(m.column, m.row);
        let a = self.areas;
        let pane = [
            (a.findings, Pane::Findings),
            (a.timeline, Pane::Timeline),
            (a.events, Pane::Events),
            (a.detail, Pane::Detail),
        ]
        .into_iter()
        .find(|(r, _)| r.contains(p))
        .map(|(_, p)| p);
        let Some(pane) = pane else { return };
        let shift = m.modifiers.contains(KeyModifiers::SHIFT);
        match (m.kind, pane) {
            (MouseEventKind::Down(MouseButton::Left), _) => self.focus = pane,
            (MouseEventKind::ScrollUp, Pane::Timeline) if shift => self.pan(-1, view),
            (MouseEventKind::ScrollDown, Pane::Timeline) if shift => self.pan(1, view),
            (MouseEventKind::ScrollUp, Pane::Timeline) => self.zoom(0.5, view),
            (MouseEventKind::ScrollDown, Pane::Timeline) => self.zoom(2.0, view),
            (MouseEventKind::ScrollLeft, _) => self.pan(-1, view),
            (MouseEventKind::ScrollRight, _) => self.pan(1, view),
            (MouseEventKind::ScrollUp | MouseEventKind::ScrollDown, _) => {
                let old = self.focus;
                self.focus = pane;
                self.step(
                    if m.kind == MouseEventKind::ScrollUp {
                        -1
                    } else {
                        1
                    },
                    view,
                );
                self.focus = old;
            }
            _ => {}
        }
    }
}
