//! Time order as perf's ordered events give it, buffering only between
//! `FINISHED_ROUND` records.

use super::records::{PerfRecord, Records};
use crate::error::Result;
use crate::types::Timestamp;
use std::collections::VecDeque;

/// Most records held between rounds. A file without `FINISHED_ROUND`
/// records (or with huge rounds) would otherwise be held whole: past this,
/// the older half is released, as perf's own ordered events do when their
/// memory runs out.
pub const MAX_HELD_RECORDS: usize = 1 << 22;

/// The records of a perf.data file in time order (see
/// [`super::PerfData::sorted_records`]).
///
/// perf writes each round of ring-buffer reads between two
/// `FINISHED_ROUND` records; a record of one round is never older than the
/// newest record of the round before the previous one. So at each
/// `FINISHED_ROUND` every held record up to the newest timestamp seen at the
/// previous `FINISHED_ROUND` is released in time order (equal timestamps in
/// file order), exactly as perf's `ordered_events` does. Memory is bounded by
/// two rounds of records (and [`MAX_HELD_RECORDS`]), never the whole file.
#[derive(Debug)]
pub struct SortedRecords<'p, 'a> {
    inner: Records<'p, 'a>,
    /// Held records: (time, file sequence, record).
    queue: Vec<(Timestamp, u64, PerfRecord<'a>)>,
    out: VecDeque<Result<PerfRecord<'a>>>,
    seq: u64,
    /// Newest timestamp held so far.
    max_ts: Timestamp,
    /// What the next `FINISHED_ROUND` releases up to.
    next_flush: Timestamp,
    done: bool,
}

impl<'p, 'a> SortedRecords<'p, 'a> {
    pub(crate) fn new(inner: Records<'p, 'a>) -> Self {
        SortedRecords {
            inner,
            queue: Vec::new(),
            out: VecDeque::new(),
            seq: 0,
            max_ts: Timestamp(0),
            next_flush: Timestamp(0),
            done: false,
        }
    }

    /// How many records are held waiting for a round to end.
    pub fn held(&self) -> usize {
        self.queue.len()
    }

    /// Releases every held record with a timestamp at or below `limit`.
    fn release(&mut self, limit: Option<Timestamp>) {
        self.queue.sort_unstable_by_key(|(t, s, _)| (*t, *s));
        let n = match limit {
            Some(l) => self.queue.partition_point(|(t, _, _)| *t <= l),
            None => self.queue.len(),
        };
        self.out
            .extend(self.queue.drain(..n).map(|(_, _, r)| Ok(r)));
    }
}

impl<'a> Iterator for SortedRecords<'_, 'a> {
    type Item = Result<PerfRecord<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(r) = self.out.pop_front() {
                return Some(r);
            }
            if self.done {
                return None;
            }
            match self.inner.next() {
                None => {
                    self.done = true;
                    self.release(None);
                }
                Some(Err(e)) => {
                    // Everything readable before the damage comes first.
                    self.release(None);
                    self.out.push_back(Err(e));
                }
                Some(Ok(PerfRecord::FinishedRound { .. })) => {
                    self.release(Some(self.next_flush));
                    self.next_flush = self.max_ts;
                }
                Some(Ok(r)) => match r.time() {
                    // perf delivers records without a time (or time 0: the
                    // synthesized ones) at once.
                    Some(t) if t.0 != 0 && t.0 != u64::MAX => {
                        self.max_ts = self.max_ts.max(t);
                        self.queue.push((t, self.seq, r));
                        self.seq += 1;
                        if self.queue.len() > MAX_HELD_RECORDS {
                            self.queue.sort_unstable_by_key(|(t, s, _)| (*t, *s));
                            let half = self.queue[self.queue.len() / 2].0;
                            self.release(Some(half));
                        }
                    }
                    _ => self.out.push_back(Ok(r)),
                },
            }
        }
    }
}
