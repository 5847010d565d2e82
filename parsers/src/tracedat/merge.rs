//! The global time order of all CPU streams: a k-way merge with trace-cmd's
//! tie-break (on equal timestamps the earlier stream, i.e. the earlier buffer
//! and then the lower CPU, goes first).

use super::cpu::{CpuRecords, Item};
use crate::error::Error;

/// An item of the merged stream.
pub type MergedItem<'a> = std::result::Result<Item<'a>, Error>;

/// All CPU streams merged in time order.
///
/// Errors of one CPU are yielded in the stream (where that CPU stopped); the
/// other CPUs go on.
#[derive(Debug)]
pub struct MergedRecords<'t> {
    streams: Vec<CpuRecords<'t>>,
    last: Option<usize>,
}

impl<'t> MergedRecords<'t> {
    /// Merges the given streams (their order is the tie-break order).
    pub fn new(streams: Vec<CpuRecords<'t>>) -> Self {
        MergedRecords {
            streams,
            last: None,
        }
    }

    /// The next item in time order, or `None` when every stream is done.
    pub fn next_item(&mut self) -> Option<MergedItem<'_>> {
        if let Some(i) = self.last.take() {
            self.streams[i].consume();
        }
        let mut best: Option<(u64, usize)> = None;
        for (i, s) in self.streams.iter_mut().enumerate() {
            if let Some(ts) = s.peek_ts() {
                if best.is_none_or(|(b, _)| ts < b) {
                    best = Some((ts, i));
                }
            }
        }
        let (_, i) = best?;
        self.last = Some(i);
        self.streams[i].current()
    }

    /// The next record, skipping lost-event notes; errors are returned.
    pub fn next_record(&mut self) -> Option<Result<super::Record<'_>, Error>> {
        loop {
            // Two-phase to satisfy the borrow checker: find, then return.
            let is_lost = match self.next_item()? {
                Ok(Item::Lost(_)) => true,
                Ok(Item::Record(_)) | Err(_) => false,
            };
            if !is_lost {
                let i = self.last?;
                return self.streams[i].current().map(|r| {
                    r.map(|it| match it {
                        Item::Record(rec) => rec,
                        Item::Lost(_) => unreachable_lost(),
                    })
                });
            }
        }
    }
}

#[cold]
fn unreachable_lost() -> super::Record<'static> {
    super::Record {
        ts: crate::types::Timestamp(0),
        cpu: crate::types::Cpu(0),
        buffer: 0,
        payload: &[],
        offset: crate::types::FileOffset(0),
    }
}
