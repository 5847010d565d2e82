//! The data model the TUI renders, and the [`TraceView`] trait the binary
//! implements over a real trace. Everything here is plain data: the TUI
//! never sees a reader or an analysis type.

use std::fmt;

/// A trace timestamp (ns for ns clocks).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Ts(pub u64);

impl fmt::Display for Ts {
    /// `trace-cmd report -t` style: seconds with nine decimals.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{:09}",
            self.0 / 1_000_000_000,
            self.0 % 1_000_000_000
        )
    }
}

/// A CPU number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct CpuNo(pub u32);

/// Position of a record in the merged (all CPUs, time-ordered) stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct EventNo(pub u64);

impl EventNo {
    /// Not an index: an [`EventPos`] with this index asks for the first
    /// event at or after its time.
    pub const BY_TIME: EventNo = EventNo(u64::MAX);
}

impl fmt::Display for EventNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// Where an event is: time, merged-stream index, CPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct EventPos {
    /// Timestamp.
    pub ts: Ts,
    /// Merged-stream index.
    pub index: EventNo,
    /// CPU.
    pub cpu: CpuNo,
}

/// An address space as the trace names it (`struct mm_struct *`); 0 is
/// "no user mm".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct MmId(pub u64);

impl fmt::Display for MmId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{:x}", self.0)
    }
}

/// One event of a finding's cause chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainStep {
    /// Where.
    pub at: EventPos,
    /// What it contributes.
    pub what: String,
}

/// A half-open time interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// Start.
    pub start: Ts,
    /// End.
    pub end: Ts,
}

/// One finding, with the facts `mmrace analyze` prints.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FindingView {
    /// `INV-1`.
    pub code: String,
    /// Stable id (`wrong-mm-at-user-return`).
    pub id: String,
    /// One-line title.
    pub title: String,
    /// Severity name.
    pub severity: String,
    /// Confidence name.
    pub confidence: String,
    /// Why the confidence is not `observed`.
    pub suspect_reasons: Vec<String>,
    /// The protocol step that explains it, when known.
    pub cause: Option<String>,
    /// The CPU.
    pub cpu: CpuNo,
    /// The other CPU involved.
    pub other_cpu: Option<CpuNo>,
    /// The task's pid.
    pub pid: Option<i32>,
    /// The task's name.
    pub comm: Option<String>,
    /// The mm the task needed.
    pub expected_mm: Option<MmId>,
    /// The mm the CPU had loaded.
    pub loaded_mm: Option<MmId>,
    /// Window start.
    pub start: EventPos,
    /// Window end event (`None`: end of trace).
    pub end: Option<EventPos>,
    /// Window end time.
    pub end_ts: Ts,
    /// Parts of the window in which user space ran in the affected mm.
    pub exposure: Vec<Span>,
    /// The events that explain it, in time order.
    pub chain: Vec<ChainStep>,
}

impl FindingView {
    /// Window length in ns.
    pub fn duration(&self) -> u64 {
        self.end_ts.0.saturating_sub(self.start.ts.0)
    }
}

/// A span of one task running on a CPU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskSpan {
    /// Start.
    pub start: Ts,
    /// End.
    pub end: Ts,
    /// The task (`None`: unknown).
    pub pid: Option<i32>,
    /// Its name.
    pub comm: Option<String>,
    /// Its mm (`Some(MmId(0))`: kernel thread).
    pub mm: Option<MmId>,
}

/// A span of one loaded mm on a CPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MmSpan {
    /// Start.
    pub start: Ts,
    /// End.
    pub end: Ts,
    /// The mm (`None`: unknown).
    pub mm: Option<MmId>,
    /// Inferred rather than observed.
    pub inferred: bool,
}

/// What a timeline mark is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MarkKind {
    /// A return to user space.
    ReturnToUser,
    /// An mm switch was requested in place.
    SwitchRequested,
    /// An mm switch was requested and deferred.
    SwitchDeferred,
    /// A deferred switch completed.
    DeferredCompleted,
    /// A TLB flush was requested.
    FlushRequested,
    /// A flush was deferred.
    FlushDeferred,
    /// A flush began.
    FlushBegin,
    /// A flush completed.
    FlushCompleted,
    /// A PTE update began.
    PteBegin,
    /// A PTE update ended.
    PteEnd,
    /// Events were lost.
    Lost,
}

impl MarkKind {
    /// Every kind, lowest drawing priority first.
    pub const ALL: [MarkKind; 11] = [
        MarkKind::PteEnd,
        MarkKind::PteBegin,
        MarkKind::FlushBegin,
        MarkKind::FlushRequested,
        MarkKind::FlushCompleted,
        MarkKind::FlushDeferred,
        MarkKind::SwitchRequested,
        MarkKind::ReturnToUser,
        MarkKind::DeferredCompleted,
        MarkKind::SwitchDeferred,
        MarkKind::Lost,
    ];

    /// The one-cell glyph drawn on the marks row (ASCII, so it reads without
    /// colour and in any font).
    pub fn glyph(self) -> char {
        match self {
            MarkKind::ReturnToUser => 'U',
            MarkKind::SwitchRequested => 's',
            MarkKind::SwitchDeferred => 'D',
            MarkKind::DeferredCompleted => 'C',
            MarkKind::FlushRequested => 'f',
            MarkKind::FlushDeferred => 'F',
            MarkKind::FlushBegin => '[',
            MarkKind::FlushCompleted => ']',
            MarkKind::PteBegin => '<',
            MarkKind::PteEnd => '>',
            MarkKind::Lost => '!',
        }
    }

    /// Legend text.
    pub fn label(self) -> &'static str {
        match self {
            MarkKind::ReturnToUser => "return to user",
            MarkKind::SwitchRequested => "switch requested",
            MarkKind::SwitchDeferred => "switch deferred",
            MarkKind::DeferredCompleted => "deferred switch completed",
            MarkKind::FlushRequested => "flush requested",
            MarkKind::FlushDeferred => "flush deferred",
            MarkKind::FlushBegin => "flush begin",
            MarkKind::FlushCompleted => "flush completed",
            MarkKind::PteBegin => "PTE update begin",
            MarkKind::PteEnd => "PTE update end",
            MarkKind::Lost => "events lost",
        }
    }

    /// Drawing priority (higher wins a shared cell).
    pub fn priority(self) -> usize {
        MarkKind::ALL.iter().position(|k| *k == self).unwrap_or(0)
    }
}

/// A mark on a lane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mark {
    /// When.
    pub ts: Ts,
    /// The event (`None` for lost events).
    pub index: Option<EventNo>,
    /// What.
    pub kind: MarkKind,
}

/// One CPU's lane over a time range.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LaneView {
    /// The CPU.
    pub cpu: CpuNo,
    /// Running tasks, in time order.
    pub tasks: Vec<TaskSpan>,
    /// Loaded mms, in time order.
    pub loaded: Vec<MmSpan>,
    /// Marks, in time order.
    pub marks: Vec<Mark>,
}

/// One event line of the event pane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventLine {
    /// Where.
    pub pos: EventPos,
    /// The line as `trace-cmd report` prints it.
    pub text: String,
    /// `system:name`.
    pub event: String,
    /// `common_pid`.
    pub pid: i32,
    /// The task name, when known.
    pub comm: Option<String>,
}

/// Which events the event pane shows and which lanes the timeline shows.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Filter {
    /// Only this CPU.
    pub cpu: Option<CpuNo>,
    /// Only events of this pid.
    pub pid: Option<i32>,
    /// Only events of tasks with this name.
    pub comm: Option<String>,
    /// Only events whose `system:name` contains this.
    pub event: Option<String>,
    /// Only events whose text mentions this mm.
    pub mm: Option<MmId>,
}

impl Filter {
    /// Parses `cpu=N pid=N comm=S event=S mm=0xHEX` (space separated; empty
    /// clears). Unknown keys and bad numbers are errors naming the word.
    pub fn parse(s: &str) -> Result<Filter, String> {
        let mut f = Filter::default();
        for w in s.split_whitespace() {
            let (k, v) = w
                .split_once('=')
                .ok_or_else(|| format!("`{w}`: want key=value"))?;
            let bad = || format!("`{w}`: bad value");
            match k {
                "cpu" => f.cpu = Some(CpuNo(v.parse().map_err(|_| bad())?)),
                "pid" => f.pid = Some(v.parse().map_err(|_| bad())?),
                "comm" => f.comm = Some(v.to_string()),
                "event" => f.event = Some(v.to_string()),
                "mm" => {
                    let h = v.trim_start_matches("0x");
                    f.mm = Some(MmId(u64::from_str_radix(h, 16).map_err(|_| bad())?));
                }
                _ => return Err(format!("`{k}`: filter keys are cpu, pid, comm, event, mm")),
            }
        }
        Ok(f)
    }

    /// Whether nothing is filtered.
    pub fn is_empty(&self) -> bool {
        *self == Filter::default()
    }

    /// Whether an event line passes.
    pub fn matches(&self, e: &EventLine) -> bool {
        self.cpu.is_none_or(|c| c == e.pos.cpu)
            && self.pid.is_none_or(|p| p == e.pid)
            && self
                .comm
                .as_ref()
                .is_none_or(|c| e.comm.as_deref() == Some(c.as_str()))
            && self
                .event
                .as_ref()
                .is_none_or(|n| e.event.contains(n.as_str()))
            && self.mm.is_none_or(|m| {
                let hex = format!("{:x}", m.0);
                e.text.to_ascii_lowercase().contains(&hex)
            })
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut w = Vec::new();
        if let Some(c) = self.cpu {
            w.push(format!("cpu={}", c.0));
        }
        if let Some(p) = self.pid {
            w.push(format!("pid={p}"));
        }
        if let Some(c) = &self.comm {
            w.push(format!("comm={c}"));
        }
        if let Some(e) = &self.event {
            w.push(format!("event={e}"));
        }
        if let Some(m) = self.mm {
            w.push(format!("mm={m}"));
        }
        f.write_str(&w.join(" "))
    }
}

/// How far the background indexing is.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Progress {
    /// Everything is indexed and analysed.
    pub done: bool,
    /// Records read so far.
    pub records: u64,
    /// Fraction done (0..=1), when known.
    pub fraction: Option<f64>,
    /// What it is doing, or the error that stopped it.
    pub message: String,
}

/// The events around a position, and which of them is the position.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EventWindow {
    /// Lines in stream order.
    pub lines: Vec<EventLine>,
    /// Index in `lines` of the first line at or after the position asked for.
    pub focus: usize,
}

/// What the TUI needs from a trace. The binary implements it over a mapped
/// trace.dat and its analysis; tests implement it over plain data.
///
/// Every method is called while drawing a frame (except [`TraceView::search`]
/// and [`TraceView::poll`]), so each must answer in well under a frame's
/// time: use indexes, not scans of the whole trace.
pub trait TraceView {
    /// A title (file name).
    fn title(&self) -> String;

    /// First and last timestamps of the trace (known so far).
    fn span(&self) -> (Ts, Ts);

    /// The CPUs that have lanes (known so far), in order.
    fn cpus(&self) -> Vec<CpuNo>;

    /// The lanes of `cpus` over `[from, to]`, drawn `columns` cells wide:
    /// an implementation may drop spans and marks narrower than a column
    /// (it keeps one per column).
    fn lanes(&self, cpus: &[CpuNo], from: Ts, to: Ts, columns: u16) -> Vec<LaneView>;

    /// Up to `before` lines before and `after` lines from the first event at
    /// or after `at` (by index; by time when `at.index` is
    /// [`EventNo::BY_TIME`]), passing `filter`.
    fn events_around(
        &mut self,
        at: EventPos,
        before: usize,
        after: usize,
        filter: &Filter,
    ) -> EventWindow;

    /// The findings, in report order.
    fn findings(&self) -> &[FindingView];

    /// Indexing progress.
    fn progress(&self) -> Progress;

    /// Takes in results of background work; returns whether anything changed.
    fn poll(&mut self) -> bool {
        false
    }

    /// The first event after (`forward`) or before `from` whose line
    /// contains `text` and passes `filter`, if any within the view's search
    /// limit.
    fn search(
        &mut self,
        from: EventPos,
        text: &str,
        forward: bool,
        filter: &Filter,
    ) -> Option<EventPos>;
}
