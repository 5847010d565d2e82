//! Decompressing a CPU's v7 chunks ahead of its reader, on rayon's threads.
//!
//! Chunks are independent, so a [`ParallelChunks`] loader decompresses a
//! batch of the chunks that follow the one a stream asks for, all at once
//! on the current rayon pool, and hands them out in order. It pays where one
//! stream holds most of the data (one busy CPU, or `dump`, which reads the
//! merged streams on one thread); when CPUs are already replayed in
//! parallel the batches simply share the pool.

use std::collections::VecDeque;

use mmrace_parsers::Result;
use mmrace_parsers::tracedat::{
    Chunk, ChunkLoader, Compression, CpuRecords, MergedRecords, TraceDat,
};
use rayon::prelude::*;

/// Chunks decompressed per batch for each rayon thread.
pub const CHUNKS_PER_THREAD: usize = 2;

/// A [`ChunkLoader`] that decompresses batches of chunks in parallel.
#[derive(Debug)]
pub struct ParallelChunks {
    batch: usize,
    ready: VecDeque<(usize, Result<()>, Vec<u8>)>,
    spare: Vec<Vec<u8>>,
}

impl ParallelChunks {
    /// A loader decompressing `batch` chunks at a time (at least 1).
    pub fn new(batch: usize) -> Self {
        ParallelChunks {
            batch: batch.max(1),
            ready: VecDeque::new(),
            spare: Vec::new(),
        }
    }

    /// A loader sized for the current rayon pool.
    pub fn for_current_pool() -> Self {
        ParallelChunks::new(rayon::current_num_threads() * CHUNKS_PER_THREAD)
    }
}

impl<'t> ChunkLoader<'t> for ParallelChunks {
    fn load(
        &mut self,
        chunks: &[Chunk<'t>],
        index: usize,
        compression: &Compression,
        out: &mut Vec<u8>,
    ) -> Result<()> {
        if self.ready.front().is_none_or(|(i, _, _)| *i != index) {
            // A miss (first call, or the stream skipped): decompress the next
            // batch, reusing the buffers handed back.
            for (_, _, b) in self.ready.drain(..) {
                self.spare.push(b);
            }
            let end = chunks.len().min(index + self.batch);
            let mut jobs: Vec<(usize, Vec<u8>)> = (index..end)
                .map(|i| (i, self.spare.pop().unwrap_or_default()))
                .collect();
            let results: Vec<Result<()>> = jobs
                .par_iter_mut()
                .map(|(i, buf)| chunks[*i].decompress(compression, buf))
                .collect();
            self.ready
                .extend(jobs.into_iter().zip(results).map(|((i, b), r)| (i, r, b)));
        }
        let Some((_, r, mut buf)) = self.ready.pop_front() else {
            // Only reachable for an index past the end; decompress inline so
            // the error names the right place.
            return chunks
                .get(index)
                .map_or(Ok(()), |c| c.decompress(compression, out));
        };
        std::mem::swap(out, &mut buf);
        self.spare.push(buf);
        r
    }
}

/// Installs a [`ParallelChunks`] loader on `stream` when it has more than one
/// chunk and the pool more than one thread.
pub fn prefetch(stream: &mut CpuRecords<'_>) {
    if stream.chunks().len() > 1 && rayon::current_num_threads() > 1 {
        stream.set_chunk_loader(Box::new(ParallelChunks::for_current_pool()));
    }
}

/// [`TraceDat::merged_records`] with every CPU stream decompressing ahead.
pub fn merged_records<'t>(trace: &'t TraceDat<'t>) -> MergedRecords<'t> {
    let mut streams = trace.all_cpu_records();
    streams.iter_mut().for_each(prefetch);
    MergedRecords::new(streams)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mmrace_parsers::tracedat::Item;

    fn items(mut s: CpuRecords<'_>) -> Vec<String> {
        let mut v = Vec::new();
        while let Some(it) = s.next_item() {
            v.push(match it {
                Ok(Item::Record(r)) => format!("{} {} {:?}", r.ts.0, r.offset.0, r.payload),
                Ok(Item::Lost(l)) => format!("lost {l:?}"),
                Err(e) => format!("err {e}"),
            });
        }
        v
    }

    /// Every compressed fixture reads the same through the parallel loader,
    /// with batches smaller than, equal to and larger than the chunk count.
    #[test]
    fn parallel_chunks_equal_inline_decompression() {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap();
        let mut checked = 0;
        for f in [
            "fixtures/x86_64/x86_64-v7-zstd.dat",
            "fixtures/x86_64/x86_64-v7-conv-zstd.dat",
            "fixtures/arm64/full-v7.dat",
            "fixtures/s390x/full-v7.dat",
        ] {
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(f);
            let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{f}: {e}"));
            let t = TraceDat::parse(&bytes).unwrap();
            for (b, buf) in t.buffers.iter().enumerate() {
                for c in 0..buf.cpus.len() {
                    let want = items(t.cpu_records(b, c).unwrap());
                    for batch in [1, 2, 7, 1000] {
                        let mut s = t.cpu_records(b, c).unwrap();
                        if s.chunks().len() > 1 {
                            checked += 1;
                        }
                        s.set_chunk_loader(Box::new(ParallelChunks::new(batch)));
                        let got = pool.install(|| items(s));
                        assert_eq!(got, want, "{f} buffer {b} cpu {c} batch {batch}");
                    }
                }
            }
        }
        assert!(checked > 0, "no fixture stream had several chunks");
    }

    /// A damaged chunk in the middle of a batch ends the stream at that
    /// chunk, with the same error, whichever loader decompresses it.
    #[test]
    fn damaged_chunk_reports_the_same_error() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/s390x/full-v7.dat");
        let mut bytes = std::fs::read(path).unwrap();
        let (b, c, at) = {
            let t = TraceDat::parse(&bytes).unwrap();
            let (b, c) = (0..t.buffers.len())
                .flat_map(|b| (0..t.buffers[b].cpus.len()).map(move |c| (b, c)))
                .find(|&(b, c)| t.cpu_records(b, c).unwrap().chunks().len() >= 3)
                .expect("a CPU with three chunks");
            (
                b,
                c,
                t.cpu_records(b, c).unwrap().chunks()[1].offset() as usize,
            )
        };
        for x in &mut bytes[at + 12..at + 40] {
            *x ^= 0x5a;
        }
        let t = TraceDat::parse(&bytes).unwrap();
        let want = items(t.cpu_records(b, c).unwrap());
        assert!(want.last().unwrap().starts_with("err"), "{:?}", want.last());
        let mut s = t.cpu_records(b, c).unwrap();
        s.set_chunk_loader(Box::new(ParallelChunks::new(4)));
        assert_eq!(items(s), want);
    }
}
