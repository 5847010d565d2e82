//! Drawing one frame from the [`App`] state and the [`TraceView`].

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span as TSpan};
use ratatui::widgets::{Block, Borders, Clear, List, ListItem, ListState, Paragraph, Wrap};

use crate::app::{Anchor, App, Areas, KEYMAP, Mode, Pane};
use crate::view::{CpuNo, FindingView, LaneView, MarkKind, MmId, TraceView, Ts};

/// Rows per CPU lane: marks, task, loaded mm.
const LANE_ROWS: u16 = 3;
/// Width of the lane label column.
const LABEL: u16 = 7;

const PALETTE: [Color; 8] = [
    Color::Cyan,
    Color::Green,
    Color::Yellow,
    Color::Magenta,
    Color::Blue,
    Color::LightRed,
    Color::LightGreen,
    Color::LightBlue,
];
/// Fill characters that tell mms apart without colour.
const FILLS: [char; 8] = ['=', '#', '~', '+', '%', '*', ':', '-'];

fn mix(m: u64) -> usize {
    // splitmix64 finaliser: neighbouring pointers get different slots.
    let mut z = m.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    ((z ^ (z >> 31)) % 8) as usize
}

/// Colour and fill of an mm (kernel / unknown: dark grey, '.').
fn mm_look(mm: Option<MmId>) -> (Color, char) {
    match mm {
        Some(m) if m.0 != 0 => (PALETTE[mix(m.0)], FILLS[mix(m.0)]),
        Some(_) => (Color::DarkGray, '_'),
        None => (Color::DarkGray, '.'),
    }
}

/// A duration with a unit: `0`, `750ns`, `1.5µs`, `20µs`, `3.2ms`, `4s`.
pub fn fmt_dur(ns: u64) -> String {
    let (v, unit) = match ns {
        0 => return "0".into(),
        n if n < 1_000 => return format!("{n}ns"),
        n if n < 1_000_000 => (n as f64 / 1e3, "µs"),
        n if n < 1_000_000_000 => (n as f64 / 1e6, "ms"),
        n => (n as f64 / 1e9, "s"),
    };
    if v >= 100.0 || (v - v.round()).abs() < 0.05 {
        format!("{v:.0}{unit}")
    } else if v >= 10.0 {
        format!("{v:.1}{unit}")
    } else {
        format!("{v:.2}{unit}")
    }
}

struct Styles {
    color: bool,
}

impl Styles {
    fn s(&self, st: Style) -> Style {
        if self.color {
            st
        } else {
            Style {
                fg: None,
                bg: None,
                ..st
            }
        }
    }
    fn fg(&self, c: Color) -> Style {
        self.s(Style::default().fg(c))
    }
    fn sel(&self) -> Style {
        if self.color {
            Style::default()
                .bg(Color::DarkGray)
                .add_modifier(Modifier::BOLD)
        } else {
            Style::default().add_modifier(Modifier::REVERSED)
        }
    }
    fn hl(&self) -> Style {
        if self.color {
            Style::default()
                .fg(Color::Yellow)
                .add_modifier(Modifier::BOLD)
        } else {
            Style::default().add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
        }
    }
    fn block<'a>(&self, title: String, focused: bool) -> Block<'a> {
        let b = Block::default().borders(Borders::ALL).title(title);
        if focused {
            b.border_style(
                self.s(Style::default().fg(Color::Cyan))
                    .add_modifier(Modifier::BOLD),
            )
        } else {
            b
        }
    }
}

/// Draws one frame and records the pane areas in `app`.
pub fn draw(f: &mut Frame<'_>, app: &mut App, view: &mut dyn TraceView) {
    let area = f.area();
    let st = Styles { color: app.color };
    let [main, status] = Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(area);
    let top_h = (main.height / 4).max(6);
    let lanes = view
        .cpus()
        .iter()
        .filter(|c| app.filter.cpu.is_none_or(|f| f == **c))
        .count()
        .max(1) as u16;
    // The timeline as tall as its lanes need (at most what leaves the event
    // pane 5 rows), the event pane the rest.
    let rest = main.height.saturating_sub(top_h);
    let tl_h = (lanes * LANE_ROWS + 3)
        .min(rest.saturating_sub(5))
        .max(LANE_ROWS + 3);
    let [top, tl, ev] = Layout::vertical([
        Constraint::Length(top_h),
        Constraint::Length(tl_h),
        Constraint::Min(3),
    ])
    .areas(main);
    let [fa, da] =
        Layout::horizontal([Constraint::Percentage(45), Constraint::Percentage(55)]).areas(top);
    app.areas = Areas {
        findings: fa,
        timeline: tl,
        events: ev,
        detail: da,
    };
    draw_findings(f, fa, app, view, &st);
    draw_detail(f, da, app, view, &st);
    draw_timeline(f.buffer_mut(), tl, app, view, &st);
    draw_events(f, ev, app, view, &st);
    draw_status(f, status, app, view, &st);
    if app.mode == Mode::Help {
        draw_help(f, area, app.help_scroll, &st);
    }
}

fn finding_line(x: &FindingView) -> String {
    let task = match (&x.comm, x.pid) {
        (Some(c), Some(p)) => format!("{c}/{p}"),
        (None, Some(p)) => format!("{p}"),
        _ => "-".into(),
    };
    format!(
        "{:<6} cpu{} {} {} {}",
        x.code,
        x.cpu.0,
        task,
        fmt_dur(x.duration()),
        x.confidence
    )
}

fn draw_findings(f: &mut Frame<'_>, r: Rect, app: &App, view: &dyn TraceView, st: &Styles) {
    let fs = view.findings();
    let prog = view.progress();
    let title = if prog.done {
        format!(" Findings ({}) ", fs.len())
    } else {
        format!(" Findings ({}, analysing…) ", fs.len())
    };
    let block = st.block(title, app.focus == Pane::Findings);
    if fs.is_empty() {
        let msg = if prog.done {
            "no findings"
        } else {
            "analysing…"
        };
        f.render_widget(Paragraph::new(msg).block(block), r);
        return;
    }
    let items: Vec<ListItem<'_>> = fs
        .iter()
        .map(|x| {
            let sev = match x.severity.as_str() {
                "critical" => st.fg(Color::Red),
                "high" => st.fg(Color::LightRed),
                _ => Style::default(),
            };
            ListItem::new(Line::from(TSpan::styled(finding_line(x), sev)))
        })
        .collect();
    let mut state = ListState::default().with_selected(app.finding);
    f.render_stateful_widget(
        List::new(items)
            .block(block)
            .highlight_style(st.sel())
            .highlight_symbol(">"),
        r,
        &mut state,
    );
}

/// The detail text of a finding: its facts, then the cause chain (one line
/// per event; these lines are the jump targets).
pub fn detail_lines(x: &FindingView) -> (Vec<String>, usize) {
    let mm = |m: Option<MmId>| m.map_or_else(|| "-".into(), |m| m.to_string());
    let mut v = vec![
        format!("{} {} — {}", x.code, x.id, x.title),
        format!("severity {}  confidence {}", x.severity, x.confidence),
    ];
    if !x.suspect_reasons.is_empty() {
        v.push(format!("suspect: {}", x.suspect_reasons.join(", ")));
    }
    if let Some(c) = &x.cause {
        v.push(format!("cause: {c}"));
    }
    let other = x
        .other_cpu
        .map_or_else(String::new, |c| format!("  other CPU {}", c.0));
    v.push(format!("CPU {}{other}", x.cpu.0));
    v.push(format!(
        "task {} {}",
        x.pid.map_or_else(|| "-".into(), |p| p.to_string()),
        x.comm.as_deref().unwrap_or("")
    ));
    v.push(format!(
        "expected mm {}  loaded mm {}",
        mm(x.expected_mm),
        mm(x.loaded_mm)
    ));
    v.push(format!("window start {} {}", x.start.ts, x.start.index));
    v.push(match x.end {
        Some(e) => format!("window end   {} {}", e.ts, e.index),
        None => format!("window end   {} (end of trace)", x.end_ts),
    });
    v.push(format!("duration {}", fmt_dur(x.duration())));
    for e in &x.exposure {
        v.push(format!(
            "exposure {} .. {} ({})",
            e.start,
            e.end,
            fmt_dur(e.end.0.saturating_sub(e.start.0))
        ));
    }
    v.push("cause chain:".into());
    let first = v.len();
    for c in &x.chain {
        v.push(format!(
            "{} {} cpu{} {}",
            c.at.ts, c.at.index, c.at.cpu.0, c.what
        ));
    }
    (v, first)
}

fn draw_detail(f: &mut Frame<'_>, r: Rect, app: &App, view: &dyn TraceView, st: &Styles) {
    let block = st.block(" Detail ".into(), app.focus == Pane::Detail);
    let Some(x) = app.finding.and_then(|i| view.findings().get(i)) else {
        f.render_widget(Paragraph::new("no finding selected").block(block), r);
        return;
    };
    let (lines, first) = detail_lines(x);
    let sel = first + app.chain_step.min(x.chain.len().saturating_sub(1));
    let items: Vec<ListItem<'_>> = lines
        .into_iter()
        .enumerate()
        .map(|(i, l)| {
            let s = if i >= first {
                st.hl()
            } else {
                Style::default()
            };
            ListItem::new(TSpan::styled(l, s))
        })
        .collect();
    let focused = app.focus == Pane::Detail;
    let mut state = ListState::default().with_selected(if x.chain.is_empty() || !focused {
        None
    } else {
        Some(sel)
    });
    let list = List::new(items).block(block);
    let list = if app.focus == Pane::Detail {
        list.highlight_style(st.sel()).highlight_symbol(">")
    } else {
        list
    };
    f.render_stateful_widget(list, r, &mut state);
}

/// Column of `t` in a viewport of `cols` columns (may be out of range).
fn col_of(t: u64, from: u64, width: u64, cols: u16) -> i64 {
    if t < from {
        -(((from - t) as u128 * cols as u128 / width.max(1) as u128) as i64) - 1
    } else {
        ((t - from) as u128 * cols as u128 / width.max(1) as u128) as i64
    }
}

/// A "nice" tick step (1, 2, 5 × 10^k ns) of at least `min` ns.
fn tick_step(min: u64) -> u64 {
    let mut p = 1u64;
    loop {
        for m in [1, 2, 5] {
            if p.saturating_mul(m) >= min {
                return p.saturating_mul(m);
            }
        }
        if p > u64::MAX / 10 {
            return u64::MAX;
        }
        p *= 10;
    }
}

fn put(buf: &mut Buffer, x: u16, y: u16, s: &str, style: Style, max_x: u16) {
    for (x, ch) in (x..max_x).zip(s.chars()) {
        if let Some(c) = buf.cell_mut((x, y)) {
            c.set_char(ch).set_style(style);
        }
    }
}

fn draw_timeline(buf: &mut Buffer, r: Rect, app: &App, view: &dyn TraceView, st: &Styles) {
    let per_col = app.width as f64 / f64::from(r.width.saturating_sub(LABEL + 2).max(1));
    let title = format!(
        " Timeline {} s +{}  ({}/col) ",
        app.from,
        fmt_dur(app.width),
        fmt_dur(per_col.round() as u64)
    );
    let block = st.block(title, app.focus == Pane::Timeline);
    let inner = block.inner(r);
    ratatui::widgets::Widget::render(block, r, buf);
    if inner.height < 2 || inner.width <= LABEL + 1 {
        return;
    }
    let x0 = inner.x + LABEL;
    let cols = inner.width - LABEL;
    let max_x = inner.x + inner.width;
    let (from, width) = (app.from.0, app.width.max(1));
    let to = from.saturating_add(width);
    let window = app.window(view);
    let win_cols = window.map(|w| {
        (
            col_of(w.start.0, from, width, cols),
            col_of(w.end.0, from, width, cols).max(col_of(w.start.0, from, width, cols)),
        )
    });
    let in_win = |c: u16| win_cols.is_some_and(|(a, b)| (a..=b).contains(&i64::from(c)));
    // Ruler.
    let y = inner.y;
    let step = tick_step((width as f64 / f64::from(cols) * 10.0).ceil() as u64);
    put(buf, inner.x, y, "time", Style::default(), max_x);
    for c in 0..cols {
        let ch = if in_win(c) { '▒' } else { '─' };
        let style = if in_win(c) {
            st.fg(Color::Red)
        } else {
            Style::default()
        };
        put(buf, x0 + c, y, &ch.to_string(), style, max_x);
    }
    let first_tick = from.div_ceil(step) * step;
    let mut t = first_tick;
    while t <= to && step != u64::MAX {
        let c = col_of(t, from, width, cols);
        if (0..i64::from(cols)).contains(&c) {
            let label = format!("|+{}", fmt_dur(t - from));
            put(buf, x0 + c as u16, y, &label, Style::default(), max_x);
        }
        t = t.saturating_add(step);
    }
    let cur = col_of(app.cursor.0, from, width, cols);
    let cur = u16::try_from(cur).ok().filter(|c| *c < cols);
    if let Some(c) = cur
        && let Some(cell) = buf.cell_mut((x0 + c, y))
    {
        cell.set_style(Style::default().add_modifier(Modifier::REVERSED));
    }
    // Lanes.
    let all = view.cpus();
    let cpus: Vec<CpuNo> = all
        .iter()
        .copied()
        .filter(|c| app.filter.cpu.is_none_or(|f| f == *c))
        .skip(app.lane_offset)
        .take(usize::from((inner.height - 1) / LANE_ROWS))
        .collect();
    if cpus.is_empty() {
        let msg = if view.progress().done {
            "no CPU lanes"
        } else {
            "indexing…"
        };
        put(buf, inner.x, y + 1, msg, Style::default(), max_x);
        return;
    }
    let lanes = view.lanes(&cpus, Ts(from), Ts(to), cols);
    for (i, lane) in lanes.iter().enumerate() {
        let ly = y + 1 + i as u16 * LANE_ROWS;
        if ly + LANE_ROWS > inner.y + inner.height {
            break;
        }
        draw_lane(
            buf,
            lane,
            ly,
            inner.x,
            x0,
            cols,
            max_x,
            (from, width),
            &in_win,
            st,
        );
        if let Some(c) = cur
            && let Some(cell) = buf.cell_mut((x0 + c, ly))
            && matches!(cell.symbol(), " " | "░")
        {
            cell.set_char('¦');
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn draw_lane(
    buf: &mut Buffer,
    lane: &LaneView,
    y: u16,
    lx: u16,
    x0: u16,
    cols: u16,
    max_x: u16,
    (from, width): (u64, u64),
    in_win: &dyn Fn(u16) -> bool,
    st: &Styles,
) {
    put(buf, lx, y, &format!("CPU {}", lane.cpu.0), st.hl(), x0);
    put(buf, lx, y + 1, " task", Style::default(), x0);
    put(buf, lx, y + 2, " mm", Style::default(), x0);
    // Marks row: the window shaded.
    for c in 0..cols {
        if in_win(c) {
            put(buf, x0 + c, y, "░", st.fg(Color::Red), max_x);
        }
    }
    let clip = |a: u64, b: u64| -> Option<(u16, u16)> {
        let ca = col_of(a, from, width, cols).max(0);
        let cb = col_of(b, from, width, cols).min(i64::from(cols) - 1);
        if cb < ca && !(ca < i64::from(cols) && b > a && cb + 1 == ca) {
            return None;
        }
        let cb = cb.max(ca);
        if ca >= i64::from(cols) {
            return None;
        }
        Some((ca as u16, cb as u16))
    };
    let mut bar = |row: u16, a: u64, b: u64, mm: Option<MmId>, label: String, dim: bool| {
        let Some((ca, cb)) = clip(a, b) else { return };
        let (color, fill) = mm_look(mm);
        let mut style = st.s(Style::default().bg(color).fg(Color::Black));
        if dim {
            style = style.add_modifier(Modifier::DIM);
        }
        let n = usize::from(cb - ca + 1);
        // A span too narrow for a label is only its fill.
        let mut text: Vec<char> = if n >= 3 {
            std::iter::once('|').chain(label.chars()).take(n).collect()
        } else {
            Vec::new()
        };
        while text.len() < n {
            text.push(fill);
        }
        let s: String = text.into_iter().collect();
        put(buf, x0 + ca, row, &s, style, max_x);
    };
    for t in &lane.tasks {
        let label = match (&t.comm, t.pid) {
            (Some(c), Some(p)) => format!("{c}/{p}"),
            (None, Some(p)) => p.to_string(),
            _ => "?".into(),
        };
        bar(y + 1, t.start.0, t.end.0, t.mm, label, false);
    }
    for m in &lane.loaded {
        let label = match m.mm {
            Some(x) if m.inferred => format!("{x}?"),
            Some(x) => x.to_string(),
            None => "?".into(),
        };
        bar(y + 2, m.start.0, m.end.0, m.mm, label, m.inferred);
    }
    // Marks: the highest priority wins a cell.
    let mut cells: Vec<Option<MarkKind>> = vec![None; usize::from(cols)];
    for mk in &lane.marks {
        let c = col_of(mk.ts.0, from, width, cols);
        if let Some(slot) = usize::try_from(c).ok().and_then(|c| cells.get_mut(c))
            && slot.is_none_or(|k| k.priority() < mk.kind.priority())
        {
            *slot = Some(mk.kind);
        }
    }
    for (c, k) in cells.into_iter().enumerate() {
        if let Some(k) = k {
            let color = match k {
                MarkKind::Lost => Color::Red,
                MarkKind::SwitchDeferred | MarkKind::FlushDeferred => Color::Yellow,
                MarkKind::ReturnToUser => Color::LightCyan,
                _ => Color::White,
            };
            put(
                buf,
                x0 + c as u16,
                y,
                &k.glyph().to_string(),
                st.fg(color).add_modifier(Modifier::BOLD),
                max_x,
            );
        }
    }
}

fn draw_events(f: &mut Frame<'_>, r: Rect, app: &mut App, view: &mut dyn TraceView, st: &Styles) {
    let filt = if app.filter.is_empty() {
        String::new()
    } else {
        format!(" [filter {}]", app.filter)
    };
    let block = st.block(format!(" Events{filt} "), app.focus == Pane::Events);
    let rows = usize::from(r.height.saturating_sub(2));
    if rows == 0 {
        f.render_widget(block, r);
        return;
    }
    // Ask for a screenful on each side; show the cursor in the middle, or
    // a full pane near either end of the trace.
    let at = app.anchor_pos(view);
    let w = view.events_around(at, rows, rows, &app.filter);
    if let (Anchor::Time(_), Some(l)) = (app.anchor, w.lines.get(w.focus)) {
        app.anchor = Anchor::Event(l.pos);
        app.cursor = l.pos.ts;
    }
    let chain: Vec<u64> = app
        .finding
        .and_then(|i| view.findings().get(i))
        .map(|x| x.chain.iter().map(|c| c.at.index.0).collect())
        .unwrap_or_default();
    let start = w
        .focus
        .saturating_sub(rows / 2)
        .min(w.lines.len().saturating_sub(rows));
    // Narrow terminals: drop the comm column's padding so the event text
    // shows (the line is otherwise as trace-cmd prints it).
    let narrow = r.width < 120;
    let items: Vec<ListItem<'_>> = w.lines[start.min(w.lines.len())..]
        .iter()
        .take(rows)
        .map(|l| {
            let in_chain = chain.contains(&l.pos.index.0);
            let s = if in_chain { st.hl() } else { Style::default() };
            let text = if narrow {
                l.text.trim_start()
            } else {
                l.text.as_str()
            };
            // A gutter mark for cause-chain events: readable without colour.
            let gutter = if in_chain { "*" } else { " " };
            ListItem::new(Line::from(vec![
                TSpan::styled(gutter, s),
                TSpan::styled(text.to_string(), s),
            ]))
        })
        .collect();
    let empty = items.is_empty();
    let mut state = ListState::default().with_selected(if empty {
        None
    } else {
        Some(w.focus - start.min(w.focus))
    });
    let list = if empty {
        List::new(vec![ListItem::new(if view.progress().done {
            "no events"
        } else {
            "reading…"
        })])
    } else {
        List::new(items)
    };
    f.render_stateful_widget(
        list.block(block)
            .highlight_style(st.sel())
            .highlight_symbol(">"),
        r,
        &mut state,
    );
}

fn draw_status(f: &mut Frame<'_>, r: Rect, app: &App, view: &dyn TraceView, st: &Styles) {
    let text = match &app.mode {
        Mode::Search(s) => format!("/{s}"),
        Mode::Filter(s) => format!("filter (cpu= pid= comm= event= mm=): {s}"),
        _ => {
            let p = view.progress();
            let prog = if p.done {
                String::new()
            } else {
                match p.fraction {
                    Some(x) => format!(
                        "indexing {:.0}% ({} records) {}  ",
                        x * 100.0,
                        p.records,
                        p.message
                    ),
                    None => format!("indexing… {} records {}  ", p.records, p.message),
                }
            };
            let msg = if app.status.is_empty() {
                format!("{} | n/N finding  Tab pane  ? help  q quit", view.title())
            } else {
                app.status.clone()
            };
            format!("{prog}{msg}")
        }
    };
    let style = if view.progress().done {
        Style::default()
    } else {
        st.fg(Color::Yellow)
    };
    f.render_widget(Paragraph::new(text).style(style), r);
}

/// The help text, generated from [`KEYMAP`] and the mark glyphs.
pub fn help_lines() -> Vec<String> {
    let mut v = vec!["Keys".to_string()];
    for b in KEYMAP {
        v.push(format!("  {:<8} {}", b.keys, b.help));
    }
    v.push("Mouse: click focuses; wheel zooms the timeline (Shift: pans)".into());
    v.push("Marks".into());
    let mut marks = String::from(" ");
    for k in MarkKind::ALL.iter().rev() {
        marks.push_str(&format!(" {} {}", k.glyph(), k.label()));
        marks.push(';');
    }
    marks.pop();
    v.push(marks);
    v.push("Lanes: task (comm/pid) over loaded mm; mm? = inferred; ░ = finding window".into());
    v.push("Events: * = in the selected finding's cause chain".into());
    v
}

fn draw_help(f: &mut Frame<'_>, area: Rect, scroll: u16, st: &Styles) {
    let lines = help_lines();
    let w = area.width.saturating_sub(4).min(100);
    let h = area.height.saturating_sub(2).min(lines.len() as u16 + 4);
    let r = Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    };
    f.render_widget(Clear, r);
    let text: Vec<Line<'_>> = lines.into_iter().map(Line::from).collect();
    f.render_widget(
        Paragraph::new(text)
            .wrap(Wrap { trim: false })
            .scroll((scroll, 0))
            .block(st.block(" Help (? or Esc closes, j/k scroll) ".into(), true)),
        r,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_have_units() {
        assert_eq!(fmt_dur(0), "0");
        assert_eq!(fmt_dur(750), "750ns");
        assert_eq!(fmt_dur(1_500), "1.50µs");
        assert_eq!(fmt_dur(20_000), "20µs");
        assert_eq!(fmt_dur(3_250_000), "3.25ms");
        assert_eq!(fmt_dur(4_000_000_000), "4s");
    }

    #[test]
    fn ticks_are_one_two_five() {
        assert_eq!(tick_step(1), 1);
        assert_eq!(tick_step(3), 5);
        assert_eq!(tick_step(11), 20);
        assert_eq!(tick_step(4_100), 5_000);
        assert_eq!(tick_step(u64::MAX), u64::MAX);
    }

    #[test]
    fn columns_scale_time() {
        assert_eq!(col_of(0, 0, 100, 10), 0);
        assert_eq!(col_of(99, 0, 100, 10), 9);
        assert_eq!(col_of(100, 0, 100, 10), 10);
        assert!(col_of(5, 10, 100, 10) < 0);
    }
}
