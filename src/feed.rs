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
//!  ...                  (rayon, ahead of the merge) ┘
//! ```
//!
//! The merge only compares timestamps and hands out pre-classified roles, so
//! the serial part of the analysis is small; decoding, decompression and
//! profile matching run in parallel. Memory: at most [`AHEAD`] batches of
//! [`BATCH`] records per stream.

use std::collections::VecDeque;

use mmrace_parsers::Error;
use mmrace_parsers::tracedat::{CpuRecords, Item, LostEvents};
use mmrace_parsers::types::{Cpu, Pid, Timestamp};
use rayon::prelude::*;

use crate::model::Role;
use crate::profile::CompiledProfile;

/// Records per batch.
pub const BATCH: usize = 1 << 14;
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
    done: bool,
    stats: StreamStats,
}

impl Producer<'_> {
    fn fill(&mut self, profile: &CompiledProfile, mut b: Batch) -> Batch {
        b.items.clear();
        b.roles.clear();
        while b.items.len() < BATCH {
            let Some(it) = self.stream.next_item() else {
                self.done = true;
                break;
            };
            b.items.push(match it {
                Ok(Item::Record(r)) => {
                    let st = &mut self.stats;
                    st.cpu = Some(r.cpu);
                    st.records += 1;
                    st.first_ts.get_or_insert(r.ts);
                    st.max_ts = Some(st.max_ts.map_or(r.ts, |m| m.max(r.ts)));
                    let start = b.roles.len();
                    let roles = &mut b.roles;
                    profile.classify(r.payload, |pid, role| roles.push((pid, role)));
                    Pre::Record {
                        ts: r.ts.0,
                        cpu: r.cpu,
                        roles: (b.roles.len() - start) as u32,
                    }
                }
                Ok(Item::Lost(l)) => Pre::Lost(Box::new(l)),
                Err(e) => Pre::Error(Box::new(e)),
            });
        }
        b
    }
}

#[derive(Default)]
struct Consumer {
    ready: VecDeque<Batch>,
    pos: usize,
    rpos: usize,
}

impl Consumer {
    fn head(&self) -> Option<&Pre> {
        self.ready.front().and_then(|b| b.items.get(self.pos))
    }
}

/// Feeds every item of `streams` (in tie-break order: buffer, then CPU) to
/// `sink` in merged order, classified by `profile`; returns each stream's
/// counters (in the order of `streams`), kept off the merge's path.
pub fn feed(
    streams: Vec<CpuRecords<'_>>,
    profile: &CompiledProfile,
    mut sink: impl FnMut(Fed<'_>) + Send,
) -> Vec<StreamStats> {
    let mut prod: Vec<Producer<'_>> = streams
        .into_iter()
        .map(|stream| Producer {
            stream,
            done: false,
            stats: StreamStats::default(),
        })
        .collect();
    let mut cons: Vec<Consumer> = prod.iter().map(|_| Consumer::default()).collect();
    let mut spare: Vec<Batch> = Vec::new();
    loop {
        // Streams with nothing ready must be read before anything merges.
        let starved: Vec<usize> = (0..prod.len())
            .filter(|&i| !prod[i].done && cons[i].head().is_none())
            .collect();
        if !starved.is_empty() {
            let bufs: Vec<Batch> = starved
                .iter()
                .map(|_| spare.pop().unwrap_or_default())
                .collect();
            fill_some(&mut prod, &starved, bufs, profile, &mut cons);
            continue;
        }
        if cons.iter().all(|c| c.head().is_none()) {
            return prod.iter().map(|p| p.stats).collect();
        }
        // Merge what is ready while the pool reads the next batches.
        let ahead: Vec<usize> = (0..prod.len())
            .filter(|&i| !prod[i].done && cons[i].ready.len() < AHEAD)
            .collect();
        let bufs: Vec<Batch> = ahead
            .iter()
            .map(|_| spare.pop().unwrap_or_default())
            .collect();
        let finished: Vec<bool> = prod.iter().map(|p| p.done).collect();
        let (filled, ()) = rayon::join(
            || {
                let mut sel: Vec<(usize, &mut Producer<'_>)> = prod
                    .iter_mut()
                    .enumerate()
                    .filter(|(i, _)| ahead.contains(i))
                    .collect();
                sel.par_iter_mut()
                    .zip(bufs)
                    .map(|((i, p), b)| (*i, p.fill(profile, b)))
                    .collect::<Vec<_>>()
            },
            || merge(&mut cons, &finished, &mut spare, &mut sink),
        );
        for (i, b) in filled {
            cons[i].ready.push_back(b);
        }
    }
}

fn fill_some(
    prod: &mut [Producer<'_>],
    which: &[usize],
    bufs: Vec<Batch>,
    profile: &CompiledProfile,
    cons: &mut [Consumer],
) {
    let mut sel: Vec<(usize, &mut Producer<'_>)> = prod
        .iter_mut()
        .enumerate()
        .filter(|(i, _)| which.contains(i))
        .collect();
    let filled: Vec<(usize, Batch)> = sel
        .par_iter_mut()
        .zip(bufs)
        .map(|((i, p), b)| (*i, p.fill(profile, b)))
        .collect();
    for (i, b) in filled {
        cons[i].ready.push_back(b);
    }
}

/// Merges until a stream that is not `finished` has nothing ready (its next
/// item is unknown until it is read).
fn merge(
    cons: &mut [Consumer],
    finished: &[bool],
    spare: &mut Vec<Batch>,
    sink: &mut impl FnMut(Fed<'_>),
) {
    loop {
        let mut best: Option<(u64, usize)> = None;
        for (i, c) in cons.iter().enumerate() {
            match c.head() {
                Some(p) => {
                    let k = p.key();
                    if best.is_none_or(|(b, _)| k < b) {
                        best = Some((k, i));
                    }
                }
                None if !finished[i] => return,
                None => {}
            }
        }
        let Some((_, i)) = best else { return };
        let c = &mut cons[i];
        let Some(b) = c.ready.front_mut() else { return };
        let item = std::mem::replace(
            &mut b.items[c.pos],
            Pre::Record {
                ts: 0,
                cpu: Cpu(0),
                roles: 0,
            },
        );
        c.pos += 1;
        match item {
            Pre::Record { ts, cpu, roles } => {
                let r = &b.roles[c.rpos..c.rpos + roles as usize];
                c.rpos += roles as usize;
                sink(Fed::Record {
                    ts: Timestamp(ts),
                    cpu,
                    roles: r,
                });
            }
            Pre::Lost(l) => sink(Fed::Lost(*l)),
            Pre::Error(e) => sink(Fed::Error(*e)),
        }
        if c.pos >= b.items.len() {
            if let Some(done) = c.ready.pop_front() {
                spare.push(done);
            }
            c.pos = 0;
            c.rpos = 0;
        }
    }
}
