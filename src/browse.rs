//! Interactive access to a big trace without holding its records: one
//! background pass analyses the trace, builds its [`Timeline`] and keeps a
//! sparse index of the merged record stream; lines around any position are
//! then decoded again from the mapped bytes.
//!
//! ```text
//!  Indexer::run (a thread)                     Browser (the UI thread)
//!   merge all CPU streams ─▶ ingest            lines_around(pos)
//!   every CHECKPOINT_EVERY records:              nearest checkpoint ─▶ seek each
//!     (index, ts, per stream: page + skip) ──▶   CPU stream to its page, skip,
//!   at the end: analysis + timeline ─────────▶   merge forward, render lines
//! ```
//!
//! A checkpoint costs about 24 bytes per CPU stream; with one every
//! [`CHECKPOINT_EVERY`] records a 1 GB trace needs a few MB. The merge
//! uses the same tie-break as [`mmrace_parsers::tracedat::MergedRecords`]
//! (earlier stream wins equal timestamps), so the indices are the
//! analysis's [`crate::model::EventIndex`] values and `trace-cmd report`'s
//! line order.
//!
//! A perf.data file ([`open_file`]) is indexed eagerly instead: perf
//! writes its samples in rounds that must be sorted, so they cannot be
//! re-decoded from a position. The indexer's one pass
//! ([`analyze_perf_observed`]) renders the line of every tracepoint sample
//! and keeps them in memory, publishing them as they come: about 230
//! bytes a sample, some 2.5 times the file's size (the x86_64 fixture:
//! 24 489 samples, 2.4 MB, 5.6 MB of lines), so a perf.data of several GB
//! needs as much memory again. Indices count tracepoint samples in perf's
//! order, as the analysis does; other samples and loss records are not
//! shown.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use mmrace_parsers::perf::{PerfData, PerfRecord, Sample};
use mmrace_parsers::report::{LineMode, ReportPrinter};
use mmrace_parsers::tracedat::{CpuRecords, Item, LostEvents, PagePos, Record, TraceDat};
use mmrace_parsers::types::{Cpu, Pid, Timestamp};

use crate::analysis::{
    Analysis, AnalyzeOptions, PerfObserver, analyze_ingested, analyze_perf_observed, choose_profile,
};
use crate::dump::PerfLines;
use crate::ingest::{Ingest, IngestedTrace};
use crate::input::FileKind;
use crate::profile::{CompiledProfile, Profile};
use crate::timeline::Timeline;

/// Records between two checkpoints.
pub const CHECKPOINT_EVERY: u64 = 512;
/// The most records one look-up decodes (bounds the time of a frame).
pub const MAX_SCAN: u64 = 64 * CHECKPOINT_EVERY;
/// The most records one search decodes.
pub const MAX_SEARCH: u64 = 2_000_000;

/// Where the merged stream was: enough to start it again there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// Merged-stream index of the next record.
    pub index: u64,
    /// Its timestamp.
    pub ts: u64,
    /// Per CPU stream: the page of its next item and how many items of that
    /// page were already taken (`None`: the stream had ended).
    streams: Vec<Option<(PagePos, u32)>>,
}

/// The analysis and lanes of the whole trace.
#[derive(Debug, Clone)]
pub struct Analysed {
    /// Findings, coverage, counters.
    pub analysis: Analysis,
    /// Per-CPU lanes.
    pub timeline: Timeline,
}

#[derive(Debug, Default)]
struct Shared {
    checkpoints: Vec<Checkpoint>,
    first_ts: Option<u64>,
    last_ts: u64,
    indexed: bool,
    done: bool,
    error: Option<String>,
    timeline: Option<Arc<Timeline>>,
    result: Option<Arc<Analysed>>,
    /// A perf.data file's lines, in index order.
    lines: Vec<Line>,
}

/// The file being browsed.
#[derive(Debug, Clone, Copy)]
enum Source<'t> {
    TraceDat(&'t TraceDat<'t>),
    PerfData(&'t PerfData<'t>),
}

/// What the index pass has done so far.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IndexProgress {
    /// Records read.
    pub records: u64,
    /// First and last timestamps seen.
    pub span: Option<(u64, u64)>,
    /// Every record was read; the lanes are being (or were) built.
    pub indexed: bool,
    /// Finished (analysis included).
    pub done: bool,
    /// Why the analysis could not run, if it could not.
    pub error: Option<String>,
}

/// State shared by the [`Indexer`] and its [`Browser`].
#[derive(Debug, Default)]
pub struct IndexState {
    shared: Mutex<Shared>,
    records: AtomicU64,
    cancel: AtomicBool,
}

impl IndexState {
    fn lock(&self) -> MutexGuard<'_, Shared> {
        // A panic in the indexer poisons nothing we cannot still read.
        self.shared.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Asks the indexer to stop (the UI quit).
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }
}

/// An item of the merged stream, as plain values (payloads are only valid
/// until the stream moves).
enum Step<'a> {
    /// A record and its merged index.
    Record(u64, Record<'a>),
    Lost(LostEvents),
    Error,
}

/// A k-way merge over CPU streams that knows where each stream is.
struct Merge<'t> {
    streams: Vec<Option<CpuRecords<'t>>>,
    /// Per stream: the page of the last taken item and items taken on it.
    on_page: Vec<(Option<PagePos>, u32)>,
    /// Merged index of the next record.
    index: u64,
    last: Option<usize>,
}

impl<'t> Merge<'t> {
    fn start(trace: &'t TraceDat<'t>, prefetch: bool) -> Merge<'t> {
        let streams: Vec<Option<CpuRecords<'t>>> = trace
            .all_cpu_records()
            .into_iter()
            .map(|mut s| {
                if prefetch {
                    crate::chunks::prefetch(&mut s);
                }
                Some(s)
            })
            .collect();
        let n = streams.len();
        Merge {
            streams,
            on_page: vec![(None, 0); n],
            index: 0,
            last: None,
        }
    }

    fn at(trace: &'t TraceDat<'t>, cp: &Checkpoint) -> Merge<'t> {
        let mut m = Merge::start(trace, false);
        for (i, slot) in m.streams.iter_mut().enumerate() {
            match cp.streams.get(i).copied().flatten() {
                Some((pos, skip)) => {
                    if let Some(s) = slot {
                        s.seek(pos);
                        s.peek_ts();
                        for _ in 0..skip {
                            s.consume();
                        }
                    }
                    m.on_page[i] = (Some(pos), skip);
                }
                None => *slot = None,
            }
        }
        m.index = cp.index;
        m
    }

    /// The stream whose item comes next.
    fn pick(&mut self) -> Option<usize> {
        if let Some(i) = self.last.take() {
            if let Some(s) = self.streams[i].as_mut() {
                let pos = s.page_pos();
                let e = &mut self.on_page[i];
                if e.0 != pos {
                    *e = (pos, 0);
                }
                e.1 += 1;
                s.consume();
            }
        }
        let mut best: Option<(u64, usize)> = None;
        for (i, s) in self.streams.iter_mut().enumerate() {
            if let Some(ts) = s.as_mut().and_then(CpuRecords::peek_ts)
                && best.is_none_or(|(b, _)| ts < b)
            {
                best = Some((ts, i));
            }
        }
        let (_, i) = best?;
        self.last = Some(i);
        Some(i)
    }

    /// The next item.
    fn next(&mut self) -> Option<Step<'_>> {
        let i = self.pick()?;
        let s = self.streams[i].as_ref()?;
        Some(match s.current() {
            Some(Ok(Item::Record(r))) => {
                self.index += 1;
                Step::Record(self.index - 1, r)
            }
            Some(Ok(Item::Lost(l))) => Step::Lost(l),
            Some(Err(_)) | None => Step::Error,
        })
    }

    /// A checkpoint at the current position (before the next pick).
    fn checkpoint(&mut self, ts: u64) -> Checkpoint {
        // The picked stream's item is not taken yet.
        let streams = self
            .streams
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let s = s.as_ref()?;
                let pos = s.page_pos()?;
                let (p, n) = self.on_page[i];
                Some((pos, if p == Some(pos) { n } else { 0 }))
            })
            .collect();
        Checkpoint {
            index: self.index,
            ts,
            streams,
        }
    }
}

/// The background half: reads the whole trace once.
#[derive(Debug)]
pub struct Indexer<'t> {
    source: Source<'t>,
    profile: Option<Profile>,
    opts: AnalyzeOptions,
    state: Arc<IndexState>,
}

impl Indexer<'_> {
    /// Reads the trace: checkpoints (published as they are made, so the
    /// browser can use them at once), then the analysis and the timeline.
    /// Returns early when the browser cancels. A perf.data file is read
    /// the same way, its lines kept instead of checkpoints.
    pub fn run(self) {
        let trace = match self.source {
            Source::TraceDat(t) => t,
            Source::PerfData(p) => return self.run_perf(p),
        };
        let arch = self
            .opts
            .arch
            .clone()
            .or_else(|| trace.options.machine().map(str::to_string));
        let profile = choose_profile(&trace.formats, arch.as_deref(), self.profile.as_ref());
        let compiled = profile
            .as_ref()
            .ok()
            .map(|p| p.compile(&trace.formats, trace.endian));
        let mut ingest = compiled.as_ref().map(Ingest::new);
        let mut m = Merge::start(trace, true);
        let mut batch = Vec::new();
        let mut first: Option<u64> = None;
        let mut last = 0u64;
        while let Some(i) = m.pick() {
            let ts = m.streams[i].as_mut().and_then(CpuRecords::peek_ts);
            let is_record = matches!(
                m.streams[i].as_ref().and_then(|s| s.current()),
                Some(Ok(Item::Record(_)))
            );
            if is_record && m.index % CHECKPOINT_EVERY == 0 {
                batch.push(m.checkpoint(ts.unwrap_or(0)));
                if batch.len() >= 64 || m.index == 0 {
                    let mut sh = self.state.lock();
                    sh.checkpoints.append(&mut batch);
                    sh.first_ts = first.or(ts);
                    sh.last_ts = last;
                    drop(sh);
                    if self.state.cancel.load(Ordering::Relaxed) {
                        return;
                    }
                }
            }
            let Some(s) = m.streams[i].as_ref() else {
                continue;
            };
            match s.current() {
                Some(Ok(Item::Record(r))) => {
                    m.index += 1;
                    first.get_or_insert(r.ts.0);
                    last = last.max(r.ts.0);
                    if let Some(g) = ingest.as_mut() {
                        g.push_record(r.ts, r.cpu, r.payload);
                    }
                    if m.index % 4096 == 0 {
                        self.state.records.store(m.index, Ordering::Relaxed);
                    }
                }
                Some(Ok(Item::Lost(l))) => {
                    if let Some(g) = ingest.as_mut() {
                        g.push_lost(l.cpu, l.ts, l.count);
                    }
                }
                Some(Err(_)) | None => {}
            }
        }
        self.state.records.store(m.index, Ordering::Relaxed);
        {
            let mut sh = self.state.lock();
            sh.checkpoints.append(&mut batch);
            sh.first_ts = first;
            sh.last_ts = last;
        }
        self.state.lock().indexed = true;
        let result = match (ingest, compiled.as_ref()) {
            (Some(g), Some(c)) => {
                let mut o = self.opts.clone();
                for (pid, comm) in &trace.cmdlines {
                    o.comms.entry(*pid).or_insert_with(|| comm.clone());
                }
                let ingested = g.finish();
                // The lanes first: they cost one per-CPU replay, while the
                // cross-CPU checks of the analysis may take longer.
                let timeline = Arc::new(Timeline::for_analysis(&ingested, c, &o));
                self.state.lock().timeline = Some(Arc::clone(&timeline));
                let analysis = analyze_ingested(&ingested, c, &o);
                Ok(Arc::new(Analysed {
                    analysis,
                    timeline: Arc::unwrap_or_clone(timeline),
                }))
            }
            _ => Err(profile.err().map_or_else(String::new, |e| e.to_string())),
        };
        let mut sh = self.state.lock();
        match result {
            Ok(r) => sh.result = Some(r),
            Err(e) => sh.error = Some(e),
        }
        sh.done = true;
    }
}

impl Indexer<'_> {
    fn run_perf(self, perf: &PerfData<'_>) {
        let mut pass = PerfPass {
            state: &self.state,
            lines: PerfLines::new(perf),
            perf,
            batch: Vec::new(),
            buf: Vec::with_capacity(256),
            span: None,
            timeline: None,
        };
        let res = analyze_perf_observed(perf, self.profile.as_ref(), &self.opts, &mut pass);
        pass.flush();
        let timeline = pass.timeline.take();
        let mut sh = self.state.lock();
        match (res, timeline) {
            (Ok((analysis, _)), Some(t)) => {
                sh.result = Some(Arc::new(Analysed {
                    analysis,
                    timeline: Arc::unwrap_or_clone(t),
                }));
            }
            (Err(e), _) => sh.error = Some(e.to_string()),
            (Ok(_), None) => {}
        }
        sh.indexed = true;
        sh.done = true;
    }
}

/// The perf.data indexer's view of the analysis pass: renders the lines,
/// then builds the lanes from the ingested trace.
struct PerfPass<'s, 'p> {
    state: &'s IndexState,
    lines: PerfLines<'p>,
    perf: &'p PerfData<'p>,
    batch: Vec<Line>,
    buf: Vec<u8>,
    span: Option<(u64, u64)>,
    timeline: Option<Arc<Timeline>>,
}

impl PerfPass<'_, '_> {
    /// Publishes the lines rendered since the last call.
    fn flush(&mut self) {
        let mut sh = self.state.lock();
        sh.lines.append(&mut self.batch);
        if let Some((a, b)) = self.span {
            sh.first_ts = Some(a);
            sh.last_ts = b;
        }
        self.state
            .records
            .store(sh.lines.len() as u64, Ordering::Relaxed);
    }
}

impl PerfObserver for PerfPass<'_, '_> {
    fn record(&mut self, rec: &PerfRecord<'_>) {
        self.lines.record(rec);
    }

    fn tracepoint(&mut self, index: u64, s: &Sample<'_>, ts: Timestamp) {
        self.buf.clear();
        self.lines.line(s, &mut self.buf);
        let tracing = self.perf.tracing.as_ref();
        let raw = s.raw.unwrap_or_default();
        let event = tracing
            .and_then(|t| t.format_by_id(t.record_event_id(raw)?))
            .map_or_else(String::new, |f| format!("{}:{}", f.system, f.name));
        let pid = tracing.and_then(|t| t.record_pid(raw)).map_or(-1, |p| p.0);
        self.batch.push(Line {
            index,
            ts: ts.0,
            cpu: s.cpu.map_or(0, |c| c.0),
            pid,
            event,
            comm: self.lines.comm(Pid(pid)),
            text: String::from_utf8_lossy(&self.buf).into_owned(),
        });
        self.span = Some(self.span.map_or((ts.0, ts.0), |(a, b)| (a, b.max(ts.0))));
        if self.batch.len() >= 4096 {
            self.flush();
        }
    }

    fn ingested(
        &mut self,
        trace: &IngestedTrace,
        profile: &CompiledProfile,
        opts: &AnalyzeOptions,
    ) {
        self.flush();
        let timeline = Arc::new(Timeline::for_analysis(trace, profile, opts));
        let mut sh = self.state.lock();
        sh.indexed = true;
        sh.timeline = Some(Arc::clone(&timeline));
        drop(sh);
        self.timeline = Some(timeline);
    }
}

/// One rendered record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// Merged-stream index.
    pub index: u64,
    /// Timestamp.
    pub ts: u64,
    /// CPU.
    pub cpu: u32,
    /// `common_pid`.
    pub pid: i32,
    /// `system:name` (empty when the event is unknown).
    pub event: String,
    /// Task name from the saved cmdlines.
    pub comm: Option<String>,
    /// The line as `trace-cmd report -t` prints it.
    pub text: String,
}

/// Where to look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The record with this merged index.
    Index(u64),
    /// The first record at or after this time.
    Time(u64),
}

impl Target {
    fn reached(&self, index: u64, ts: u64) -> bool {
        match *self {
            Target::Index(i) => index >= i,
            Target::Time(t) => ts >= t,
        }
    }
}

/// Lines around a target.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Around {
    /// Lines in stream order.
    pub lines: Vec<Line>,
    /// Index in `lines` of the first line at or after the target.
    pub focus: usize,
}

/// The foreground half: answers look-ups from the checkpoints.
#[derive(Debug)]
pub struct Browser<'t> {
    source: Source<'t>,
    /// The trace.dat's printer (`None` for a perf.data file).
    printer: Option<ReportPrinter<'t>>,
    state: Arc<IndexState>,
    buf: Vec<u8>,
}

/// A browser and the indexer that feeds it. Run [`Indexer::run`] on a
/// thread (or inline, e.g. in tests).
pub fn open<'t>(
    trace: &'t TraceDat<'t>,
    profile: Option<Profile>,
    opts: AnalyzeOptions,
) -> (Browser<'t>, Indexer<'t>) {
    open_source(Source::TraceDat(trace), profile, opts)
}

/// A trace file, read by the reader its magic calls for
/// ([`FileKind::detect`], never its name).
#[derive(Debug)]
pub enum TraceFile<'a> {
    /// A trace-cmd trace.dat (also anything that is not a perf.data: its
    /// reader names what is wrong).
    TraceDat(Box<TraceDat<'a>>),
    /// A perf.data file.
    PerfData(Box<PerfData<'a>>),
}

impl<'a> TraceFile<'a> {
    /// Reads the metadata of the file held in `data`.
    pub fn parse(data: &'a [u8]) -> mmrace_parsers::Result<TraceFile<'a>> {
        match FileKind::detect(data) {
            Some(FileKind::PerfData) => {
                PerfData::parse(data).map(|p| TraceFile::PerfData(Box::new(p)))
            }
            _ => TraceDat::parse(data).map(|t| TraceFile::TraceDat(Box::new(t))),
        }
    }
}

/// [`open`] for either kind of file. A perf.data file's indexer keeps
/// every tracepoint sample's line in memory (see the module
/// documentation).
pub fn open_file<'t>(
    file: &'t TraceFile<'t>,
    profile: Option<Profile>,
    opts: AnalyzeOptions,
) -> (Browser<'t>, Indexer<'t>) {
    let source = match file {
        TraceFile::TraceDat(t) => Source::TraceDat(t),
        TraceFile::PerfData(p) => Source::PerfData(p),
    };
    open_source(source, profile, opts)
}

fn open_source<'t>(
    source: Source<'t>,
    profile: Option<Profile>,
    opts: AnalyzeOptions,
) -> (Browser<'t>, Indexer<'t>) {
    let state = Arc::new(IndexState::default());
    let printer = match source {
        Source::TraceDat(t) => Some(ReportPrinter::new(t)),
        Source::PerfData(_) => None,
    };
    (
        Browser {
            source,
            printer,
            state: Arc::clone(&state),
            buf: Vec::with_capacity(256),
        },
        Indexer {
            source,
            profile,
            opts,
            state,
        },
    )
}

impl<'t> Browser<'t> {
    /// The trace.dat (`None` for a perf.data file).
    pub fn trace(&self) -> Option<&'t TraceDat<'t>> {
        match self.source {
            Source::TraceDat(t) => Some(t),
            Source::PerfData(_) => None,
        }
    }

    /// The shared state (to cancel the indexer).
    pub fn state(&self) -> &Arc<IndexState> {
        &self.state
    }

    /// How far the indexer is.
    pub fn progress(&self) -> IndexProgress {
        let sh = self.state.lock();
        IndexProgress {
            records: self.state.records.load(Ordering::Relaxed),
            span: sh.first_ts.map(|f| (f, sh.last_ts.max(f))),
            indexed: sh.indexed,
            done: sh.done,
            error: sh.error.clone(),
        }
    }

    /// The lanes, once every record was read (before the analysis ends).
    pub fn timeline(&self) -> Option<Arc<Timeline>> {
        self.state.lock().timeline.clone()
    }

    /// The analysis and timeline, once the indexer is done.
    pub fn analysed(&self) -> Option<Arc<Analysed>> {
        self.state.lock().result.clone()
    }

    /// The checkpoint to start from for `t`, `back` checkpoints earlier.
    fn checkpoint_for(&self, t: Target, back: usize) -> Option<Checkpoint> {
        let sh = self.state.lock();
        let cps = &sh.checkpoints;
        let k = match t {
            Target::Index(i) => cps.partition_point(|c| c.index <= i),
            Target::Time(ts) => cps.partition_point(|c| c.ts < ts),
        };
        let k = k.saturating_sub(1).saturating_sub(back);
        cps.get(k).cloned()
    }

    fn render(
        &mut self,
        trace: &TraceDat<'_>,
        r: &Record<'_>,
        lost: Option<&LostEvents>,
        index: u64,
    ) -> Line {
        self.buf.clear();
        if let Some(p) = self.printer.as_mut() {
            p.write_record(lost, r, LineMode::Pretty, &mut self.buf);
        }
        let text = String::from_utf8_lossy(&self.buf).into_owned();
        let event = trace
            .record_event_id(r.payload)
            .and_then(|id| trace.format_by_id(id))
            .map_or_else(String::new, |f| format!("{}:{}", f.system, f.name));
        let pid = trace.record_pid(r.payload).map_or(-1, |p| p.0);
        Line {
            index,
            ts: r.ts.0,
            cpu: r.cpu.0,
            pid,
            event,
            comm: trace.comm(Pid(pid)).map(str::to_string),
            text,
        }
    }

    /// Up to `before` lines before and `after` lines from `target` that pass
    /// `keep`. Decodes from the nearest checkpoint (going further back while
    /// too few earlier lines pass), at most [`MAX_SCAN`] records per pass.
    pub fn around(
        &mut self,
        target: Target,
        before: usize,
        after: usize,
        keep: &dyn Fn(&Line) -> bool,
    ) -> Around {
        if let Source::PerfData(_) = self.source {
            return kept_around(&self.state.lock().lines, target, before, after, keep);
        }
        let mut back = 0usize;
        loop {
            let cp = self.checkpoint_for(target, back);
            let Some(cp) = cp else {
                return Around::default();
            };
            let res = self.scan(&cp, target, before, after, keep);
            if res.focus >= before || cp.index == 0 || back >= 64 {
                return res;
            }
            back = (back * 2).max(1);
        }
    }

    fn scan(
        &mut self,
        cp: &Checkpoint,
        target: Target,
        before: usize,
        after: usize,
        keep: &dyn Fn(&Line) -> bool,
    ) -> Around {
        let Source::TraceDat(trace) = self.source else {
            return Around::default();
        };
        let mut m = Merge::at(trace, cp);
        let mut ring: std::collections::VecDeque<Line> = std::collections::VecDeque::new();
        let mut out: Vec<Line> = Vec::new();
        let mut reached = false;
        let mut lost: HashMap<(usize, Cpu), LostEvents> = HashMap::new();
        let mut scanned = 0u64;
        while let Some(step) = m.next() {
            match step {
                Step::Record(index, r) => {
                    let note = lost.remove(&(r.buffer, r.cpu));
                    scanned += 1;
                    if scanned > MAX_SCAN {
                        break;
                    }
                    reached = reached || target.reached(index, r.ts.0);
                    if reached && out.len() >= after {
                        break;
                    }
                    if !reached && before == 0 {
                        continue;
                    }
                    let line = self.render(trace, &r, note.as_ref(), index);
                    if !keep(&line) {
                        continue;
                    }
                    if reached {
                        out.push(line);
                    } else {
                        ring.push_back(line);
                        if ring.len() > before {
                            ring.pop_front();
                        }
                    }
                }
                Step::Lost(l) => {
                    lost.insert((l.buffer, l.cpu), l);
                }
                Step::Error => {}
            }
        }
        let focus = ring.len();
        let mut lines: Vec<Line> = ring.into();
        lines.extend(out);
        Around { lines, focus }
    }

    /// The first record after (`forward`) or before `from` whose line
    /// contains `text` and passes `keep`, within [`MAX_SEARCH`] records.
    pub fn search(
        &mut self,
        from: Target,
        text: &str,
        forward: bool,
        keep: &dyn Fn(&Line) -> bool,
    ) -> Option<Line> {
        let trace = match self.source {
            Source::TraceDat(t) => t,
            Source::PerfData(_) => {
                return kept_search(&self.state.lock().lines, from, text, forward, keep);
            }
        };
        if forward {
            let cp = self.checkpoint_for(from, 0)?;
            let mut m = Merge::at(trace, &cp);
            let mut scanned = 0u64;
            let mut passed = false;
            while let Some(step) = m.next() {
                let Step::Record(index, r) = step else {
                    continue;
                };
                scanned += 1;
                if scanned > MAX_SEARCH {
                    return None;
                }
                if !passed {
                    // Strictly after the start position.
                    passed = match from {
                        Target::Index(i) => index > i,
                        Target::Time(t) => r.ts.0 > t,
                    };
                    if !passed {
                        continue;
                    }
                }
                let line = self.render(trace, &r, None, index);
                if line.text.contains(text) && keep(&line) {
                    return Some(line);
                }
            }
            None
        } else {
            // Checkpoint by checkpoint backwards; the last hit before `from`
            // in a span is the answer.
            let mut back = 0;
            let mut scanned = 0u64;
            loop {
                let cp = self.checkpoint_for(from, back)?;
                let mut m = Merge::at(trace, &cp);
                let mut hit = None;
                let mut n = 0;
                while let Some(step) = m.next() {
                    let Step::Record(index, r) = step else {
                        continue;
                    };
                    n += 1;
                    let before_from = match from {
                        Target::Index(i) => index < i,
                        Target::Time(t) => r.ts.0 < t,
                    };
                    if !before_from || n > CHECKPOINT_EVERY {
                        break;
                    }
                    let line = self.render(trace, &r, None, index);
                    if line.text.contains(text) && keep(&line) {
                        hit = Some(line);
                    }
                }
                if hit.is_some() {
                    return hit;
                }
                scanned += n;
                if cp.index == 0 || scanned > MAX_SEARCH {
                    return None;
                }
                back += 1;
            }
        }
    }
}

/// [`Browser::around`] over lines held in memory (index and time order),
/// looking at most [`MAX_SCAN`] lines each way.
fn kept_around(
    lines: &[Line],
    target: Target,
    before: usize,
    after: usize,
    keep: &dyn Fn(&Line) -> bool,
) -> Around {
    let at = match target {
        Target::Index(i) => lines.partition_point(|l| l.index < i),
        Target::Time(t) => lines.partition_point(|l| l.ts < t),
    };
    let limit = usize::try_from(MAX_SCAN).unwrap_or(usize::MAX);
    let pick = |it: &mut dyn Iterator<Item = &Line>, n: usize| -> Vec<Line> {
        it.take(limit)
            .filter(|l| keep(l))
            .take(n)
            .cloned()
            .collect()
    };
    let mut out = pick(&mut lines[..at].iter().rev(), before);
    out.reverse();
    let focus = out.len();
    out.extend(pick(&mut lines[at..].iter(), after));
    Around { lines: out, focus }
}

/// [`Browser::search`] over lines held in memory, looking at most
/// [`MAX_SEARCH`] lines.
fn kept_search(
    lines: &[Line],
    from: Target,
    text: &str,
    forward: bool,
    keep: &dyn Fn(&Line) -> bool,
) -> Option<Line> {
    let limit = usize::try_from(MAX_SEARCH).unwrap_or(usize::MAX);
    let hit = |l: &&Line| l.text.contains(text) && keep(l);
    let found = if forward {
        // Strictly after the start position.
        let k = match from {
            Target::Index(i) => lines.partition_point(|l| l.index <= i),
            Target::Time(t) => lines.partition_point(|l| l.ts <= t),
        };
        lines[k..].iter().take(limit).find(hit)
    } else {
        let k = match from {
            Target::Index(i) => lines.partition_point(|l| l.index < i),
            Target::Time(t) => lines.partition_point(|l| l.ts < t),
        };
        lines[..k].iter().rev().take(limit).find(hit)
    };
    found.cloned()
}

#[cfg(test)]
mod tests;
