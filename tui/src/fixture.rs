//! [`VecView`]: a [`TraceView`] over data held in memory. The TUI's own
//! tests use it; it also shows the contract of each trait method in the
//! simplest possible form.

use crate::view::{
    CpuNo, EventLine, EventNo, EventPos, EventWindow, Filter, FindingView, LaneView, Progress,
    TraceView, Ts,
};

/// A trace view over vectors.
#[derive(Debug, Clone, Default)]
pub struct VecView {
    /// Title.
    pub title: String,
    /// Every event line, in stream order (`pos.index` = position).
    pub events: Vec<EventLine>,
    /// Lanes over the whole trace.
    pub lanes: Vec<LaneView>,
    /// Findings.
    pub findings: Vec<FindingView>,
    /// Progress to report.
    pub progress: Progress,
}

/// Whether `at` asks by time rather than by index.
pub fn by_time(at: &EventPos) -> bool {
    at.index == EventNo::BY_TIME
}

impl VecView {
    fn position(&self, at: &EventPos) -> usize {
        if by_time(at) {
            self.events.partition_point(|e| e.pos.ts < at.ts)
        } else {
            self.events.partition_point(|e| e.pos.index < at.index)
        }
    }
}

impl TraceView for VecView {
    fn title(&self) -> String {
        self.title.clone()
    }

    fn span(&self) -> (Ts, Ts) {
        match (self.events.first(), self.events.last()) {
            (Some(a), Some(b)) => (a.pos.ts, b.pos.ts),
            _ => (Ts(0), Ts(0)),
        }
    }

    fn cpus(&self) -> Vec<CpuNo> {
        self.lanes.iter().map(|l| l.cpu).collect()
    }

    fn lanes(&self, cpus: &[CpuNo], from: Ts, to: Ts, _columns: u16) -> Vec<LaneView> {
        self.lanes
            .iter()
            .filter(|l| cpus.contains(&l.cpu))
            .map(|l| LaneView {
                cpu: l.cpu,
                tasks: l
                    .tasks
                    .iter()
                    .filter(|s| s.end >= from && s.start <= to)
                    .cloned()
                    .collect(),
                loaded: l
                    .loaded
                    .iter()
                    .filter(|s| s.end >= from && s.start <= to)
                    .copied()
                    .collect(),
                marks: l
                    .marks
                    .iter()
                    .filter(|m| m.ts >= from && m.ts <= to)
                    .copied()
                    .collect(),
            })
            .collect()
    }

    fn events_around(
        &mut self,
        at: EventPos,
        before: usize,
        after: usize,
        filter: &Filter,
    ) -> EventWindow {
        let i = self.position(&at);
        let mut back: Vec<EventLine> = self.events[..i]
            .iter()
            .rev()
            .filter(|e| filter.matches(e))
            .take(before)
            .cloned()
            .collect();
        back.reverse();
        let focus = back.len();
        back.extend(
            self.events[i..]
                .iter()
                .filter(|e| filter.matches(e))
                .take(after)
                .cloned(),
        );
        EventWindow { lines: back, focus }
    }

    fn findings(&self) -> &[FindingView] {
        &self.findings
    }

    fn progress(&self) -> Progress {
        self.progress.clone()
    }

    fn search(
        &mut self,
        from: EventPos,
        text: &str,
        forward: bool,
        filter: &Filter,
    ) -> Option<EventPos> {
        let i = self.position(&from);
        let hit = |e: &&EventLine| filter.matches(e) && e.text.contains(text);
        if forward {
            self.events.iter().skip(i + 1).find(hit).map(|e| e.pos)
        } else {
            self.events[..i].iter().rev().find(hit).map(|e| e.pos)
        }
    }
}
