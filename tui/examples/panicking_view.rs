//! A view that panics on the first key, for scripts/tui-e2e.sh: checks
//! that `mmrace_tui::run` restores the terminal on a panic (raw mode off,
//! main screen back) before the panic message is printed.

use mmrace_tui::fixture::VecView;
use mmrace_tui::view::{
    CpuNo, EventLine, EventNo, EventPos, EventWindow, Filter, FindingView, LaneView, Progress,
    TraceView, Ts,
};

struct Panicking {
    inner: VecView,
    frames: u32,
}

impl TraceView for Panicking {
    fn title(&self) -> String {
        "panicking view".into()
    }
    fn span(&self) -> (Ts, Ts) {
        self.inner.span()
    }
    fn cpus(&self) -> Vec<CpuNo> {
        self.inner.cpus()
    }
    fn lanes(&self, cpus: &[CpuNo], from: Ts, to: Ts, columns: u16) -> Vec<LaneView> {
        self.inner.lanes(cpus, from, to, columns)
    }
    fn events_around(
        &mut self,
        at: EventPos,
        before: usize,
        after: usize,
        filter: &Filter,
    ) -> EventWindow {
        self.frames += 1;
        // The first frame draws; any later frame (after a key) panics.
        assert!(self.frames < 2, "deliberate panic in the view");
        self.inner.events_around(at, before, after, filter)
    }
    fn findings(&self) -> &[FindingView] {
        self.inner.findings()
    }
    fn progress(&self) -> Progress {
        self.inner.progress()
    }
    fn search(&mut self, from: EventPos, t: &str, f: bool, fl: &Filter) -> Option<EventPos> {
        self.inner.search(from, t, f, fl)
    }
}

fn main() {
    let events = (0..10)
        .map(|i| EventLine {
            pos: EventPos {
                ts: Ts(1000 + i),
                index: EventNo(i),
                cpu: CpuNo(0),
            },
            text: format!("event {i}"),
            event: "x:y".into(),
            pid: 1,
            comm: None,
        })
        .collect();
    let mut v = Panicking {
        inner: VecView {
            title: "p".into(),
            events,
            progress: Progress {
                done: true,
                ..Progress::default()
            },
            ..VecView::default()
        },
        frames: 0,
    };
    let _ = mmrace_tui::run(&mut v);
}
