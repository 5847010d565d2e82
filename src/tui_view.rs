//! The TUI's [`TraceView`] over a [`Browser`]: findings and lanes from the
//! background analysis, event lines re-decoded around the cursor. The only
//! place that knows both the analysis types and the TUI's view model
//! (feature `tui`).

use std::sync::Arc;

use mmrace_tui::view::{
    ChainStep, CpuNo, EventLine, EventNo, EventPos, EventWindow, Filter, FindingView, LaneView,
    Mark, MarkKind as TMark, MmId, MmSpan, Progress, Span, TaskSpan, TraceView, Ts,
};
use serde::Serialize;

use crate::browse::{Analysed, Browser, Line, Target};
use crate::finding::Finding;
use crate::model::{DeferKind, EventRef};
use crate::timeline::{Lane, MarkKind, MmProvenance, Timeline};

/// Results of look-ups kept for the next frames.
const CACHE: usize = 4;
/// Marks looked at per column (the highest priority one is kept).
const MARKS_PER_COLUMN: usize = 32;

type CacheKey = (EventPos, usize, usize, Filter);

/// A [`TraceView`] over a trace being indexed in the background.
#[derive(Debug)]
pub struct BrowserView<'t> {
    browser: Browser<'t>,
    title: String,
    analysed: Option<Arc<Analysed>>,
    timeline: Option<Arc<Timeline>>,
    findings: Vec<FindingView>,
    cache: Vec<(CacheKey, EventWindow)>,
}

impl<'t> BrowserView<'t> {
    /// A view titled `title` (the file name).
    pub fn new(browser: Browser<'t>, title: String) -> BrowserView<'t> {
        let mut v = BrowserView {
            browser,
            title,
            analysed: None,
            timeline: None,
            findings: Vec::new(),
            cache: Vec::new(),
        };
        v.poll();
        v
    }

    /// The browser (to cancel its indexer).
    pub fn browser(&self) -> &Browser<'t> {
        &self.browser
    }
}

/// A serde enum's kebab-case name.
fn name<T: Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(serde_json::Value::Object(o)) => {
            let kind = o
                .get("kind")
                .and_then(|k| k.as_str())
                .unwrap_or("")
                .to_string();
            let rest: Vec<String> = o
                .iter()
                .filter(|(k, _)| *k != "kind")
                .map(|(k, v)| format!("{k} {v}"))
                .collect();
            if rest.is_empty() {
                kind
            } else {
                format!("{kind} ({})", rest.join(", "))
            }
        }
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

fn pos(e: EventRef) -> EventPos {
    EventPos {
        ts: Ts(e.ts.0),
        index: EventNo(e.index.0),
        cpu: CpuNo(e.cpu.0),
    }
}

/// A finding as the TUI shows it (the facts `mmrace analyze` prints).
pub fn finding_view(f: &Finding) -> FindingView {
    FindingView {
        code: f.code.to_string(),
        id: f.invariant.id().to_string(),
        title: f.invariant.title().to_string(),
        severity: name(&f.severity),
        confidence: name(&f.confidence),
        suspect_reasons: f.suspect_reasons.iter().map(name).collect(),
        cause: f.cause.as_ref().map(name),
        cpu: CpuNo(f.cpu.0),
        other_cpu: f.other_cpu.map(|c| CpuNo(c.0)),
        pid: f.task.as_ref().map(|t| t.pid.0),
        comm: f.task.as_ref().and_then(|t| t.comm.clone()),
        expected_mm: f.expected_mm.map(|m| MmId(m.0)),
        loaded_mm: f.loaded_mm.map(|m| MmId(m.0)),
        start: pos(f.window.start),
        end: f.window.end.map(pos),
        end_ts: Ts(f.window.end_ts.0),
        exposure: f
            .exposure
            .iter()
            .map(|i| Span {
                start: Ts(i.start.ts.0),
                end: Ts(i.end_ts.0),
            })
            .collect(),
        chain: f
            .cause_chain
            .iter()
            .map(|c| ChainStep {
                at: pos(c.at),
                what: c.what.clone(),
            })
            .collect(),
    }
}

fn mark_kind(k: &MarkKind) -> TMark {
    match k {
        MarkKind::ReturnToUser { .. } => TMark::ReturnToUser,
        MarkKind::SwitchRequested {
            deferred: DeferKind::None,
            ..
        } => TMark::SwitchRequested,
        MarkKind::SwitchRequested { .. } => TMark::SwitchDeferred,
        MarkKind::DeferredSwitchCompleted { .. } => TMark::DeferredCompleted,
        MarkKind::FlushRequested { .. } => TMark::FlushRequested,
        MarkKind::FlushDeferred { .. } => TMark::FlushDeferred,
        MarkKind::FlushBegin { .. } => TMark::FlushBegin,
        MarkKind::FlushCompleted { .. } => TMark::FlushCompleted,
        MarkKind::PteUpdateBegin { .. } => TMark::PteBegin,
        MarkKind::PteUpdateEnd { .. } => TMark::PteEnd,
        MarkKind::Lost { .. } => TMark::Lost,
    }
}

/// One lane sampled at `columns` points of `[from, to]`: the task and the
/// loaded mm at each column's start, and the most important mark in each
/// column. Cost: `columns` binary searches, whatever the trace's size.
pub fn sample_lane(
    lane: &Lane,
    comm: &dyn Fn(i32) -> Option<String>,
    from: u64,
    to: u64,
    columns: u16,
) -> LaneView {
    let cols = u64::from(columns.max(1));
    let width = to.saturating_sub(from).max(1);
    let at = |c: u64| from + ((u128::from(width) * u128::from(c)) / u128::from(cols)) as u64;
    let mut tasks: Vec<TaskSpan> = Vec::new();
    let mut loaded: Vec<MmSpan> = Vec::new();
    let mut marks: Vec<Mark> = Vec::new();
    let mut last_task = None;
    let mut last_mm = None;
    for c in 0..cols {
        let (t0, t1) = (at(c), at(c + 1));
        // The segments covering the column's start, and every one starting
        // inside it when they are few (so short ones still show at zoom).
        let ts = mmrace_parsers::types::Timestamp(t0);
        let te = mmrace_parsers::types::Timestamp(t1.saturating_sub(1).max(t0));
        let k0 = lane
            .tasks
            .partition_point(|s| s.start <= ts)
            .saturating_sub(1);
        let k1 = lane.tasks.partition_point(|s| s.start <= te);
        for k in k0..k1.min(k0 + 2) {
            if last_task.is_some_and(|l| l >= k) {
                continue;
            }
            let s = &lane.tasks[k];
            last_task = Some(k);
            tasks.push(TaskSpan {
                start: Ts(s.start.0),
                end: Ts(s.end.0),
                pid: s.pid,
                comm: s.pid.and_then(comm),
                mm: s.mm.map(|m| MmId(m.0)),
            });
        }
        let m0 = lane
            .loaded
            .partition_point(|s| s.start <= ts)
            .saturating_sub(1);
        let m1 = lane.loaded.partition_point(|s| s.start <= te);
        for k in m0..m1.min(m0 + 2) {
            if last_mm.is_some_and(|l| l >= k) {
                continue;
            }
            let s = &lane.loaded[k];
            last_mm = Some(k);
            loaded.push(MmSpan {
                start: Ts(s.start.0),
                end: Ts(s.end.0),
                mm: s.mm.map(|m| MmId(m.0)),
                inferred: s.provenance == Some(MmProvenance::Inferred),
            });
        }
        let best = lane
            .marks_in(ts, te)
            .iter()
            .take(MARKS_PER_COLUMN)
            .max_by_key(|m| mark_kind(&m.kind).priority());
        if let Some(m) = best {
            marks.push(Mark {
                ts: Ts(m.ts.0),
                index: m.index.map(|i| EventNo(i.0)),
                kind: mark_kind(&m.kind),
            });
        }
    }
    LaneView {
        cpu: CpuNo(lane.cpu.0),
        tasks,
        loaded,
        marks,
    }
}

fn event_line(l: &Line) -> EventLine {
    EventLine {
        pos: EventPos {
            ts: Ts(l.ts),
            index: EventNo(l.index),
            cpu: CpuNo(l.cpu),
        },
        text: l.text.clone(),
        event: l.event.clone(),
        pid: l.pid,
        comm: l.comm.clone(),
    }
}

fn target(at: &EventPos) -> Target {
    if at.index == EventNo::BY_TIME {
        Target::Time(at.ts.0)
    } else {
        Target::Index(at.index.0)
    }
}

impl TraceView for BrowserView<'_> {
    fn title(&self) -> String {
        self.title.clone()
    }

    fn span(&self) -> (Ts, Ts) {
        match self.browser.progress().span {
            Some((a, b)) => (Ts(a), Ts(b)),
            None => (Ts(0), Ts(0)),
        }
    }

    fn cpus(&self) -> Vec<CpuNo> {
        self.timeline.as_ref().map_or_else(Vec::new, |t| {
            t.lanes.iter().map(|l| CpuNo(l.cpu.0)).collect()
        })
    }

    fn lanes(&self, cpus: &[CpuNo], from: Ts, to: Ts, columns: u16) -> Vec<LaneView> {
        let Some(tl) = &self.timeline else {
            return Vec::new();
        };
        let comm = |p: i32| tl.comm(p).map(str::to_string);
        cpus.iter()
            .filter_map(|c| tl.lane(mmrace_parsers::types::Cpu(c.0)))
            .map(|l| sample_lane(l, &comm, from.0, to.0, columns))
            .collect()
    }

    fn events_around(
        &mut self,
        at: EventPos,
        before: usize,
        after: usize,
        filter: &Filter,
    ) -> EventWindow {
        let key = (at, before, after, filter.clone());
        if let Some((_, w)) = self.cache.iter().find(|(k, _)| *k == key) {
            return w.clone();
        }
        let keep = |l: &Line| filter.is_empty() || filter.matches(&event_line(l));
        let a = self.browser.around(target(&at), before, after, &keep);
        let w = EventWindow {
            lines: a.lines.iter().map(event_line).collect(),
            focus: a.focus,
        };
        // Only complete answers are kept: more may come while indexing.
        if self.browser.progress().done {
            if self.cache.len() >= CACHE {
                self.cache.remove(0);
            }
            self.cache.push((key, w.clone()));
        }
        w
    }

    fn findings(&self) -> &[FindingView] {
        &self.findings
    }

    fn progress(&self) -> Progress {
        let p = self.browser.progress();
        Progress {
            done: p.done,
            records: p.records,
            fraction: None,
            message: match (&p.error, p.span) {
                (Some(e), _) => e.clone(),
                (None, _) if p.indexed && !p.done => "all read; analysing".into(),
                (None, Some((a, b))) if !p.done => {
                    format!("at +{:.3}s", (b - a) as f64 / 1e9)
                }
                _ => String::new(),
            },
        }
    }

    fn poll(&mut self) -> bool {
        if self.analysed.is_some() {
            return false;
        }
        let mut changed = false;
        if self.timeline.is_none() {
            self.timeline = self.browser.timeline();
            changed = self.timeline.is_some();
        }
        if let Some(a) = self.browser.analysed() {
            self.findings = a.analysis.findings.iter().map(finding_view).collect();
            self.analysed = Some(a);
            self.cache.clear();
            changed = true;
        }
        changed
    }

    fn search(
        &mut self,
        from: EventPos,
        text: &str,
        forward: bool,
        filter: &Filter,
    ) -> Option<EventPos> {
        let keep = |l: &Line| filter.is_empty() || filter.matches(&event_line(l));
        self.browser
            .search(target(&from), text, forward, &keep)
            .map(|l| event_line(&l).pos)
    }
}
