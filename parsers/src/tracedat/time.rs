//! How raw ring-buffer timestamps become the timestamps trace-cmd prints
//! (`timestamp_calc` in trace-cmd's library): the guest→host correction of
//! the `TIME_SHIFT` option, then `TSC2NSEC`, then the `DATE` and `OFFSET`
//! options. The arithmetic is trace-cmd's, wrapping where C wraps, so that
//! every printed timestamp is the one trace-cmd prints.

use crate::endian::Endian;
use crate::types::Cpu;

/// `TIME_SHIFT` flag: interpolate the offset between two samples.
pub const TSYNC_FLAG_INTERPOLATE: u32 = 0x1;

/// The adjustment every CPU shares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TimeAdjust {
    /// Nanoseconds added to every timestamp (DATE × 1000 + OFFSET options).
    pub offset_ns: i64,
    /// TSC2NSEC `(mult, shift, offset)`: `ns = (tsc × mult) >> shift`.
    /// trace-cmd stores the offset but does not apply it when reading.
    pub tsc2nsec: Option<(u32, u32, u64)>,
}

impl TimeAdjust {
    /// Applies TSC2NSEC and the offsets to a (host-synchronized) timestamp.
    #[inline]
    pub fn apply(&self, raw: u64) -> u64 {
        let mut ts = raw;
        if let Some((mult, shift, _)) = self.tsc2nsec {
            ts = mul_u64_u32_shr(ts, mult, shift);
        }
        ts.wrapping_add(self.offset_ns as u64)
    }
}

/// `(a × mul) >> shift` as trace-cmd computes it (the kernel's helper: two
/// 32-bit halves, so the result wraps like the C code for huge values).
fn mul_u64_u32_shr(a: u64, mul: u32, shift: u32) -> u64 {
    let (al, ah) = (a & 0xffff_ffff, a >> 32);
    let mul = u64::from(mul);
    if shift > 32 {
        // The C code shifts by a negative amount here; use exact arithmetic.
        return ((u128::from(a) * u128::from(mul)) >> shift.min(127)) as u64;
    }
    let mut ret = (al * mul) >> shift;
    if ah != 0 {
        ret = ret.wrapping_add((ah.wrapping_mul(mul)) << (32 - shift));
    }
    ret
}

/// One guest→host synchronization sample of a CPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TsyncSample {
    /// Guest time the sample was taken at.
    pub time: i64,
    /// Offset to add at that time.
    pub offset: i64,
    /// Scaling ratio.
    pub scaling: i64,
    /// Fraction bits of the scaling (0 when the file has none).
    pub fraction: i64,
}

/// The `TIME_SHIFT` option: per-CPU samples that map this (guest) trace's
/// clock to its host's.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TimeShift {
    /// The trace id of the peer (host) trace.
    pub peer_trace_id: u64,
    /// Protocol flags ([`TSYNC_FLAG_INTERPOLATE`]).
    pub flags: u32,
    /// Samples per CPU, sorted by time, equal times removed.
    pub cpus: Vec<Vec<TsyncSample>>,
}

impl TimeShift {
    /// Parses the option's payload (`u64 peer; u32 flags; u32 ncpus; ncpus ×
    /// { u32 count; i64 times[count]; i64 offsets[count]; i64
    /// scalings[count] }` then, when bytes remain, `ncpus × i64
    /// fractions[count]`). `None` when the payload is shorter than it claims
    /// (trace-cmd then refuses the file; this reader ignores the option and
    /// warns). Payloads under 16 bytes are ignored as trace-cmd ignores them.
    pub fn parse(e: Endian, p: &[u8]) -> Option<Option<TimeShift>> {
        if p.len() < 16 {
            return Some(None);
        }
        let peer_trace_id = e.read_u64(p, 0)?;
        let flags = e.read_u32(p, 8)?;
        let ncpus = e.read_u32(p, 12)? as usize;
        let mut pos = 16usize;
        // Every CPU needs at least its 4-byte count: bounds the allocation.
        if ncpus > (p.len() - pos) / 4 {
            return None;
        }
        let mut cpus = Vec::with_capacity(ncpus);
        let read_i64 = |pos: &mut usize| -> Option<i64> {
            let v = e.read_u64(p, *pos)? as i64;
            *pos += 8;
            Some(v)
        };
        for _ in 0..ncpus {
            let count = e.read_u32(p, pos)? as usize;
            pos += 4;
            if count > (p.len() - pos) / 24 {
                return None;
            }
            let mut s = vec![TsyncSample::default(); count];
            for x in s.iter_mut() {
                x.time = read_i64(&mut pos)?;
            }
            for x in s.iter_mut() {
                x.offset = read_i64(&mut pos)?;
            }
            for x in s.iter_mut() {
                x.scaling = read_i64(&mut pos)?;
            }
            cpus.push(s);
        }
        if pos < p.len() {
            for s in cpus.iter_mut() {
                for x in s.iter_mut() {
                    x.fraction = read_i64(&mut pos)?;
                }
            }
        }
        for s in cpus.iter_mut() {
            s.sort_by_key(|x| x.time);
            s.dedup_by_key(|x| x.time);
        }
        Some(Some(TimeShift {
            peer_trace_id,
            flags,
            cpus,
        }))
    }

    /// The samples of `cpu` (empty when the option has none for it).
    pub fn samples(&self, cpu: Cpu) -> &[TsyncSample] {
        self.cpus.get(cpu.0 as usize).map_or(&[], Vec::as_slice)
    }

    /// The host time of guest time `ts` on a CPU with `samples`
    /// (`timestamp_host_sync`).
    pub fn host_time(flags: u32, samples: &[TsyncSample], ts: u64) -> u64 {
        let n = samples.len();
        let calc = |i: usize| correction(ts, flags, &samples[i], &samples[i + 1]);
        match n {
            0 => ts,
            1 => ts.wrapping_add(samples[0].offset as u64),
            2 => calc(0),
            _ if ts <= samples[0].time as u64 => calc(0),
            _ if ts >= samples[n - 1].time as u64 => calc(n - 2),
            _ => {
                // trace-cmd's binary search, including where it stops.
                let (mut min, mut max) = (0isize, n as isize - 1);
                let mut mid = (min + max) / 2;
                while min <= max {
                    let t = samples[mid as usize].time as u64;
                    if ts < t {
                        max = mid - 1;
                    } else if ts > t {
                        min = mid + 1;
                    } else {
                        break;
                    }
                    mid = (min + max) / 2;
                }
                calc((mid.max(0) as usize).min(n - 2))
            }
        }
    }
}

/// `timestamp_correction_calc`.
fn correction(ts: u64, flags: u32, min: &TsyncSample, max: &TsyncSample) -> u64 {
    let tscor = if flags & TSYNC_FLAG_INTERPOLATE != 0 {
        let delta = max.time.wrapping_sub(min.time);
        let off = (ts as i64)
            .wrapping_sub(min.time)
            .wrapping_mul(max.offset.wrapping_sub(min.offset));
        match off.wrapping_add(delta / 2).checked_div(delta) {
            Some(q) => min.offset.wrapping_add(q),
            None => min.offset,
        }
    } else {
        min.offset
    };
    let scaled = ts.wrapping_mul(min.scaling as u64);
    let ts = u32::try_from(min.fraction)
        .ok()
        .and_then(|f| scaled.checked_shr(f))
        .unwrap_or(0);
    if tscor < 0 {
        ts.wrapping_sub(tscor.unsigned_abs())
    } else {
        ts.wrapping_add(tscor as u64)
    }
}

/// The clock of one CPU stream: its TIME_SHIFT samples and the shared
/// adjustment.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CpuClock<'t> {
    adjust: TimeAdjust,
    shift: Option<(u32, &'t [TsyncSample])>,
    /// No adjustment at all: raw timestamps are the printed ones.
    identity: bool,
}

impl<'t> CpuClock<'t> {
    pub(crate) fn new(adjust: TimeAdjust, shift: Option<(u32, &'t [TsyncSample])>) -> Self {
        CpuClock {
            adjust,
            shift,
            identity: shift.is_none() && adjust == TimeAdjust::default(),
        }
    }

    #[inline]
    pub(crate) fn apply(&self, raw: u64) -> u64 {
        if self.identity {
            return raw;
        }
        let ts = match self.shift {
            Some((flags, s)) => TimeShift::host_time(flags, s, raw),
            None => raw,
        };
        self.adjust.apply(ts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(time: i64, offset: i64) -> TsyncSample {
        TsyncSample {
            time,
            offset,
            scaling: 1,
            fraction: 0,
        }
    }

    #[test]
    fn one_sample_adds_its_offset_without_scaling() {
        let x = [TsyncSample {
            scaling: 0,
            ..s(100, -7)
        }];
        assert_eq!(TimeShift::host_time(0, &x, 1000), 993);
    }

    #[test]
    fn interpolates_between_samples_with_rounding() {
        let x = [s(0, 0), s(1000, 10), s(2000, 30)];
        let f = TSYNC_FLAG_INTERPOLATE;
        assert_eq!(TimeShift::host_time(f, &x, 500), 505);
        assert_eq!(TimeShift::host_time(f, &x, 1500), 1520);
        // Before the first and after the last: the outer pairs extrapolate.
        assert_eq!(TimeShift::host_time(f, &x, 3000), 3050);
        // Without the flag, the lower sample's offset.
        assert_eq!(TimeShift::host_time(0, &x, 1500), 1510);
        assert_eq!(TimeShift::host_time(0, &[], 42), 42);
    }

    #[test]
    fn parse_sorts_dedups_and_bounds_counts() {
        let e = Endian::Little;
        let mut p = Vec::new();
        p.extend(7u64.to_le_bytes());
        p.extend(1u32.to_le_bytes());
        p.extend(1u32.to_le_bytes());
        p.extend(3u32.to_le_bytes());
        for t in [20i64, 10, 20] {
            p.extend(t.to_le_bytes());
        }
        for o in [2i64, 1, 3] {
            p.extend(o.to_le_bytes());
        }
        for _ in 0..3 {
            p.extend(1i64.to_le_bytes());
        }
        let t = TimeShift::parse(e, &p).unwrap().unwrap();
        assert_eq!(t.peer_trace_id, 7);
        assert_eq!(
            t.cpus[0].iter().map(|x| x.time).collect::<Vec<_>>(),
            [10, 20]
        );
        // A count larger than the payload is refused before allocating.
        let mut bad = p[..16].to_vec();
        bad.extend(u32::MAX.to_le_bytes());
        assert_eq!(TimeShift::parse(e, &bad), None);
        assert_eq!(TimeShift::parse(e, &p[..8]), Some(None));
    }

    #[test]
    fn tsc_multiplication_matches_the_split_halves() {
        let a = TimeAdjust {
            offset_ns: 5,
            tsc2nsec: Some((3, 1, 99)),
        };
        assert_eq!(a.apply(10), 20);
        assert_eq!(mul_u64_u32_shr(1 << 40, 1 << 20, 20), 1 << 40);
    }
}
