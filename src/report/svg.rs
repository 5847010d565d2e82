//! SVG pictures of per-CPU lanes around a finding's window, for the HTML
//! report: per CPU a row of running-task segments (coloured by the task's
//! mm), a row of loaded-mm segments under it, marks for returns to user,
//! switch requests, flushes and lost events, and the finding's window
//! shaded. Pure rendering: the lanes come from [`crate::timeline`].

use std::fmt::Write as _;

use serde::Serialize;

use super::junit::xml_escape;

/// A segment of a lane.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Segment {
    /// Start (ns).
    pub from: u64,
    /// End (ns).
    pub to: u64,
    /// Text shown in the segment (task `comm-pid`, or mm).
    pub label: String,
    /// The mm the colour is keyed by (0: kernel / none).
    pub mm: u64,
    /// Drawn hatched: the value was inferred, not observed.
    pub inferred: bool,
}

/// A point mark on a lane.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mark {
    /// When (ns).
    pub ts: u64,
    /// What (`user`, `switch-request`, `deferral`, `flush-request`,
    /// `flush-done`, `lost`, ...): picks the glyph.
    pub kind: String,
    /// Tooltip text.
    pub title: String,
}

/// One CPU's lanes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CpuLane {
    /// The CPU.
    pub cpu: u32,
    /// Running task.
    pub tasks: Vec<Segment>,
    /// Loaded mm.
    pub loaded: Vec<Segment>,
    /// Marks.
    pub marks: Vec<Mark>,
}

/// The picture of one finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Picture {
    /// Shown range start (ns).
    pub from: u64,
    /// Shown range end (ns).
    pub to: u64,
    /// The window to shade.
    pub window: (u64, u64),
    /// The CPU the finding is on (its lanes are outlined).
    pub cpu: u32,
    /// Lanes, by CPU.
    pub lanes: Vec<CpuLane>,
}

const WIDTH: f64 = 960.0;
const LEFT: f64 = 70.0;
const ROW: f64 = 18.0;
const LANE: f64 = 2.0 * ROW + 16.0;

/// A stable pleasant colour for an mm (grey for none).
fn color(mm: u64) -> String {
    if mm == 0 {
        return "#d0d0d0".to_string();
    }
    let mut h = mm.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    h ^= h >> 29;
    format!("hsl({}, 60%, 70%)", h % 360)
}

fn glyph(kind: &str) -> (&'static str, &'static str) {
    match kind {
        "user" => ("▲", "#1a7f37"),
        "switch-request" => ("◆", "#0550ae"),
        "deferral" => ("◇", "#8250df"),
        "deferred-done" => ("◆", "#8250df"),
        "flush-request" => ("F", "#bc4c00"),
        "flush-deferred" => ("f", "#bc4c00"),
        "flush-done" => ("✓", "#bc4c00"),
        "pte" => ("P", "#6e7781"),
        "lost" => ("✗", "#cf222e"),
        _ => ("•", "#57606a"),
    }
}

/// Renders a picture as an inline `<svg>` element.
pub fn render(p: &Picture) -> String {
    let span = p.to.saturating_sub(p.from).max(1) as f64;
    let x = |t: u64| LEFT + (t.clamp(p.from, p.to) - p.from) as f64 / span * (WIDTH - LEFT - 10.0);
    let height = 44.0 + LANE * p.lanes.len() as f64;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="lanes" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="monospace" font-size="10">"#
    );
    for (i, lane) in p.lanes.iter().enumerate() {
        let y = 4.0 + LANE * i as f64;
        let weight = if lane.cpu == p.cpu { "bold" } else { "normal" };
        let _ = write!(
            s,
            r##"<text x="2" y="{:.1}" font-weight="{weight}">CPU {}</text><text x="2" y="{:.1}" fill="#57606a">loaded</text>"##,
            y + 12.0,
            lane.cpu,
            y + ROW + 12.0
        );
        for (row, segs) in [(0.0, &lane.tasks), (ROW, &lane.loaded)] {
            for g in segs {
                let (a, b) = (x(g.from), x(g.to));
                let w = (b - a).max(1.0);
                let dash = if g.inferred {
                    r##" stroke-dasharray="3,2" stroke="#57606a""##
                } else {
                    r##" stroke="#ffffff""##
                };
                let _ = write!(
                    s,
                    r#"<rect x="{a:.1}" y="{:.1}" width="{w:.1}" height="{:.1}" fill="{}"{dash}><title>{}</title></rect>"#,
                    y + row,
                    ROW - 2.0,
                    color(g.mm),
                    xml_escape(&g.label)
                );
                if w > 7.0 * g.label.len() as f64 {
                    let _ = write!(
                        s,
                        r#"<text x="{:.1}" y="{:.1}">{}</text>"#,
                        a + 2.0,
                        y + row + 12.0,
                        xml_escape(&g.label)
                    );
                }
            }
        }
        for m in &lane.marks {
            let (g, c) = glyph(&m.kind);
            let _ = write!(
                s,
                r#"<text class="mark {}" x="{:.1}" y="{:.1}" fill="{c}" text-anchor="middle">{g}<title>{}</title></text>"#,
                xml_escape(&m.kind),
                x(m.ts),
                y + 2.0 * ROW + 10.0,
                xml_escape(&m.title)
            );
        }
    }
    let (w0, w1) = (x(p.window.0), x(p.window.1).max(x(p.window.0) + 1.0));
    let _ = write!(
        s,
        r##"<rect class="window" x="{w0:.1}" y="0" width="{:.1}" height="{:.1}" fill="#ff8182" fill-opacity="0.35" stroke="#cf222e"><title>finding window</title></rect>"##,
        w1 - w0,
        4.0 + LANE * p.lanes.len() as f64
    );
    let _ = write!(
        s,
        r##"<text x="{:.1}" y="{:.1}" fill="#57606a" text-anchor="middle">▲ return to user  ◆ switch request  ◇ deferral  F flush request  f deferred flush  ✓ flush done  P PTE update  ✗ lost events</text>"##,
        (LEFT + WIDTH) / 2.0,
        height - 4.0
    );
    let _ = write!(
        s,
        r##"<text x="{LEFT}" y="{:.1}" fill="#57606a">{}</text><text x="{:.1}" y="{:.1}" fill="#57606a" text-anchor="end">{}</text>"##,
        height - 18.0,
        super::fmt_ts(mmrace_parsers::types::Timestamp(p.from)),
        WIDTH - 10.0,
        height - 18.0,
        super::fmt_ts(mmrace_parsers::types::Timestamp(p.to))
    );
    s.push_str("</svg>");
    s
}
