//! The analysis' record feed: every CPU stream decoded and classified in
//! batches on rayon's pool, while the calling thread merges the batches in
//! the order `trace-cmd report` prints the records (time, then the earlier
//! stream on ties, errors where they happen) — the order
//! [`MergedRecords`](mmrace_parsers::tracedat::MergedRecords) gives, and so
//! the same merged-stream indices.
//!
//! ```text
//!  cpu0 stream ─decode+classify─▶ batch, batch ─┐
//!  cpu1 stream ─decode+classify─▶ batch, batch ─┼─ merge (caller) ─▶ sink
//!  ...          (pool tasks, ahead of the merge) ┘
//! ```
//!
//! The merge only compares timestamps and hands out pre-classified roles;
//! decoding, decompression and profile matching run on the pool. Each
//! stream keeps a task filling up to [`AHEAD`] batches ahead, rescheduled
//! as the merge takes them, so the pool never waits for the merge nor the
//! merge for a round of reads; a batch nobody is decoding when the merge
//! needs it is decoded by the merge itself (on one thread, that is every
//! batch). Memory: at most [`AHEAD`] + 1 batches per stream, of
//! [`batch_len`] records.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

use mmrace_parsers::Error;
use mmrace_parsers::tracedat::{CpuRecords, Item, LostEvents};
use mmrace_parsers::types::{Cpu, Pid, Timestamp};

use crate::model::Role;
use crate::profile::CompiledProfile;

/// Records per batch of a trace of one or two CPU streams; more streams
/// share [`BATCH`] × 2 (see [`batch_len`]).
pub const BATCH: usize = 1 << 14;
/// The fewest records per batch, however many streams there are.
pub const MIN_BATCH: usize = 1 << 9;

/// Records per batch for `streams` CPU streams: what is decoded ahead
/// stays about as large as with two streams (a few MB) on a machine of
/// many CPUs, down to [`MIN_BATCH`] per stream.
pub fn batch_len(streams: usize) -> usize {
    (BATCH * 2 / streams.max(1)).clamp(MIN_BATCH, BATCH)
}
/// Batches decoded ahead of the merge, per stream.
pub const AHEAD: usize = 2;

/// One item of the merged feed.
#[derive(Debug)]
pub enum Fed<'a> {
    /// A record and the roles the profile maps it to.
    Record {
        /// Timestamp.
        ts: Timestamp,
        /// CPU.
        cpu: Cpu,
        /// `(common_pid, role)` in rule order.
        roles: &'a [(Pid, Role)],
    },
    /// Events lost before the next records of a CPU.
    Lost(LostEvents),
    /// A read error of one stream (that stream may go on or end).
    Error(Error),
}

/// A decoded item waiting for the merge. Small (the rare variants are
/// boxed): batches of them are what the merge walks through.
#[derive(Debug)]
enum Pre {
    Record { ts: u64, cpu: Cpu, roles: u32 },
    Lost(Box<LostEvents>),
    Error(Box<Error>),
}

impl Pre {
    /// The merge key: what `CpuRecords::peek_ts` gives (errors sort first).
    fn key(&self) -> u64 {
        match self {
            Pre::Record { ts, .. } => *ts,
            Pre::Lost(l) => l.ts.0,
            Pre::Error(_) => 0,
        }
    }
}

#[derive(Debug, Default)]
struct Batch {
    items: Vec<Pre>,
    roles: Vec<(Pid, Role)>,
}

/// What one stream held: its records, counted as they were decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StreamStats {
    /// The CPU of its records (`None`: it had none).
    pub cpu: Option<Cpu>,
    /// Records.
    pub records: u64,
    /// The first record's timestamp.
    pub first_ts: Option<Timestamp>,
    /// The largest timestamp.
    pub max_ts: Option<Timestamp>,
}

struct Producer<'t> {
    stream: CpuRecords<'t>,
    /// Records per batch.
    batch: usize,
    stats: StreamStats,
}

impl Producer<'_> {
    /// What the stream held, as read so far.
    fn stats(&self) -> StreamStats {
        StreamStats {
            cpu: (self.stats.records > 0).then_some(self.stream.cpu),
            ..self.stats
        }
    }

    /// Fills `b` with the stream's next batch; true when the stream ended
    /// in it (it may then hold fewer items, or none).
    fn fill(&mut self, profile: &CompiledProfile, b: &mut Batch) -> bool {
        b.items.clear();
        b.roles.clear();
        let (stats, items, roles) = (&mut self.stats, &mut b.items, &mut b.roles);
        self.stream.for_each_item(|it| {
            items.push(match it {
                Ok(Item::Record(r)) => {
                    stats.records += 1;
                    stats.first_ts.get_or_insert(r.ts);
                    stats.max_ts = Some(stats.max_ts.map_or(r.ts, |m| m.max(r.ts)));
                    let start = roles.len();
                    profile.classify(r.payload, |pid, role| roles.push((pid, role)));
                    Pre::Record {
                        ts: r.ts.0,
                        cpu: r.cpu,
                        roles: (roles.len() - start) as u32,
                    }
                }
                Ok(Item::Lost(l)) => Pre::Lost(Box::new(l)),
                Err(e) => Pre::Error(Box::new(e)),
            });
            items.len() < self.batch
        });
        // Stopped short of a full batch: the stream ended.
        b.items.len() < self.batch
    }
}

/// One stream's place in the pipeline: the batches decoded ahead of the
/// merge, and its reader while nobody is filling a batch from it.
struct Lane<'t> {
    state: Mutex<LaneState<'t>>,
    /// Signalled when a batch is ready or the stream ends.
    filled: Condvar,
}

struct LaneState<'t> {
    /// `None` while a thread fills a batch from it.
    producer: Option<Producer<'t>>,
    ready: VecDeque<Batch>,
    /// No more batches will come.
    done: bool,
    /// A task that fills ahead is queued or running.
    scheduled: bool,
}

/// The shared side of the pipeline.
struct Pipe<'t, 'p> {
    lanes: Vec<Lane<'t>>,
    profile: &'p CompiledProfile,
    /// Merged batches, for reuse.
    spare: Mutex<Vec<Batch>>,
}

/// Locks `m`, going on with the data of a thread that panicked holding it
/// (the panic itself is propagated by the scope).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl<'t> Pipe<'t, '_> {
    fn spare(&self) -> Batch {
        lock(&self.spare).pop().unwrap_or_default()
    }

    /// Fills one batch from the reader taken out of lane `i` (with the
    /// lane unlocked), puts the reader back and the batch at the end of the
    /// lane's queue; returns the lane locked again.
    fn fill_into(&self, i: usize, mut p: Producer<'t>) -> MutexGuard<'_, LaneState<'t>> {
        let mut b = self.spare();
        let ended = p.fill(self.profile, &mut b);
        let lane = &self.lanes[i];
        let mut st = lock(&lane.state);
        st.done = ended;
        st.producer = Some(p);
        st.ready.push_back(b);
        lane.filled.notify_all();
        st
    }

    /// Queues a task on the pool that fills lane `i` ahead of the merge,
    /// unless one is queued or the lane has enough.
    fn schedule<'s>(&'s self, s: &rayon::Scope<'s>, i: usize, st: &mut LaneState<'t>) {
        if st.scheduled || st.done || st.ready.len() >= AHEAD {
            return;
        }
        st.scheduled = true;
        s.spawn(move |_| self.fill_ahead(i));
    }

    /// The pool's side: fills lane `i` until it holds [`AHEAD`] batches, it
    /// ends, or the merge is filling it itself.
    fn fill_ahead(&self, i: usize) {
        let mut st = lock(&self.lanes[i].state);
        loop {
            if st.done || st.ready.len() >= AHEAD {
                break;
            }
            let Some(p) = st.producer.take() else { break };
            drop(st);
            st = self.fill_into(i, p);
        }
        st.scheduled = false;
    }

    /// The merge's side: lane `i`'s next batch with items, filled here when
    /// nobody else is filling it; `None` when the stream has ended.
    fn next_batch<'s>(&'s self, s: &rayon::Scope<'s>, i: usize) -> Option<Batch> {
        let lane = &self.lanes[i];
        let mut st = lock(&lane.state);
        loop {
            if let Some(b) = st.ready.pop_front() {
                self.schedule(s, i, &mut st);
                if b.items.is_empty() {
                    lock(&self.spare).push(b);
                    continue;
                }
                return Some(b);
            }
            if st.done {
                return None;
            }
            match st.producer.take() {
                Some(p) => {
                    drop(st);
                    st = self.fill_into(i, p);
                }
                // A pool thread is filling it: wait for its batch.
                None => st = lane.filled.wait(st).unwrap_or_else(PoisonError::into_inner),
            }
        }
    }
}

/// The batch the merge takes items from, per stream.
struct Consumer {
    /// `None`: the stream has ended.
    batch: Option<Batch>,
    pos: usize,
    rpos: usize,
}

impl Consumer {
    fn head(&self) -> Option<&Pre> {
        self.batch.as_ref().and_then(|b| b.items.get(self.pos))
    }
}

/// Feeds every item of `streams` (in tie-break order: buffer, then CPU) to
/// `sink` in merged order, classified by `profile`; returns each stream's
/// counters (in the order of `streams`), kept off the merge's path.
///
/// The calling thread merges; tasks on rayon's pool decode up to [`AHEAD`]
/// batches of each stream ahead of it. When the merge needs a batch nobody
/// is decoding, it decodes it itself, so one thread does all the work in
/// the same order.
pub fn feed(
    streams: Vec<CpuRecords<'_>>,
    profile: &CompiledProfile,
    mut sink: impl FnMut(Fed<'_>) + Send,
) -> Vec<StreamStats> {
    let batch = batch_len(streams.len());
    let pipe = Pipe {
        lanes: streams
            .into_iter()
            .map(|stream| Lane {
                state: Mutex::new(LaneState {
                    producer: Some(Producer {
                        stream,
                        batch,
                        stats: StreamStats::default(),
                    }),
                    ready: VecDeque::new(),
                    done: false,
                    scheduled: false,
                }),
                filled: Condvar::new(),
            })
            .collect(),
        profile,
        spare: Mutex::new(Vec::new()),
    };
    rayon::scope(|s| {
        for (i, lane) in pipe.lanes.iter().enumerate() {
            pipe.schedule(s, i, &mut lock(&lane.state));
        }
        let mut cons: Vec<Consumer> = (0..pipe.lanes.len())
            .map(|i| Consumer {
                batch: pipe.next_batch(s, i),
                pos: 0,
                rpos: 0,
            })
            .collect();
        while let Some(i) = merge(&mut cons, &mut sink) {
            let c = &mut cons[i];
            if let Some(b) = c.batch.take() {
                lock(&pipe.spare).push(b);
            }
            (c.batch, c.pos, c.rpos) = (pipe.next_batch(s, i), 0, 0);
        }
    });
    pipe.lanes
        .into_iter()
        .map(|l| {
            let st = l.state.into_inner().unwrap_or_else(PoisonError::into_inner);
            st.producer.map(|p| p.stats()).unwrap_or_default()
        })
        .collect()
}

/// Merges the streams' current batches until one runs out; returns that
/// stream (`None`: every stream has ended).
///
/// The stream with the smallest head (the earlier stream on ties) gives a
/// run: every item of its batch that still sorts before the other streams'
/// heads, which do not move meanwhile. Each item is compared with that one
/// bound, so the order is the item-by-item merge's.
fn merge(cons: &mut [Consumer], sink: &mut impl FnMut(Fed<'_>)) -> Option<usize> {
    loop {
        let mut best: Option<(u64, usize)> = None;
        let mut bound: Option<(u64, usize)> = None;
        for (i, c) in cons.iter().enumerate() {
            if let Some(p) = c.head() {
                let k = (p.key(), i);
                if best.is_none_or(|b| k < b) {
                    bound = best;
                    best = Some(k);
                } else if bound.is_none_or(|b| k < b) {
                    bound = Some(k);
                }
            }
        }
        let (_, i) = best?;
        let c = &mut cons[i];
        let b = c.batch.as_mut()?;
        // (key, i) < bound: `i` is never the bound's stream.
        let before = |k: u64| bound.is_none_or(|(bk, bi)| k < bk || (k == bk && i < bi));
        while let Some(item) = b.items.get_mut(c.pos) {
            if !before(item.key()) {
                break;
            }
            c.pos += 1;
            match item {
                Pre::Record { ts, cpu, roles } => {
                    let n = *roles as usize;
                    let r = &b.roles[c.rpos..c.rpos + n];
                    c.rpos += n;
                    sink(Fed::Record {
                        ts: Timestamp(*ts),
                        cpu: *cpu,
                        roles: r,
                    });
                }
                rare => match std::mem::replace(
                    rare,
                    Pre::Record {
                        ts: 0,
                        cpu: Cpu(0),
                        roles: 0,
                    },
                ) {
                    Pre::Lost(l) => sink(Fed::Lost(*l)),
                    Pre::Error(e) => sink(Fed::Error(*e)),
                    Pre::Record { .. } => {}
                },
            }
        }
        if c.pos >= b.items.len() {
            return Some(i);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What is decoded ahead stays bounded as streams are added.
    #[test]
    fn batches_shrink_with_the_number_of_streams() {
        assert_eq!(batch_len(0), BATCH);
        assert_eq!(batch_len(1), BATCH);
        assert_eq!(batch_len(2), BATCH);
        assert_eq!(batch_len(4), BATCH / 2);
        assert_eq!(batch_len(1024), MIN_BATCH);
        for n in 1..=64 {
            assert!(n * batch_len(n) <= 2 * BATCH, "{n} streams");
        }
    }
}
