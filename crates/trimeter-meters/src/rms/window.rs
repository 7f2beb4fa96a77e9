//! One channel of the RMS meter: the ring of recent squares and the sums kept on the tick grid.

use crate::simd::SimdLevel;

/// When the running window sum falls below this fraction of its high-water mark, it is
/// recomputed: f64 keeps about 16 digits, so after a fall of 9 decades the running sum still has
/// about 7 correct digits, and the recomputation keeps it that way.
const CANCELLATION_RATIO: f64 = 1e-9;

/// Sliding-window, integrated and gated sums of one channel.
///
/// The ring slot of frame `t` (counted from reset) is `t % ring.len()`, tracked incrementally.
/// The ring holds `window + tick` squares: enough for the frames of the window plus the frames
/// leaving it during one tick.
#[derive(Clone, Debug)]
pub(super) struct ChannelWindow {
    /// The squares of the most recent samples, formed in f64 (so 1e30 squares without
    /// overflow) once, when a sample arrives. A sample is summed two or three times (its tick,
    /// the tick leaving the window when the window is not a whole number of ticks, the
    /// recomputation once per window): storing the square makes each of those one addition
    /// instead of a conversion, a multiply and an addition, at twice the memory of a ring of f32
    /// samples (still within L2 for a 600 ms window), with bit-identical sums (each square is the
    /// same f64 product either way).
    ring: Vec<f64>,
    /// Window length in frames.
    window: u64,
    /// Tick length in frames (a power of two).
    tick: u64,
    /// When the window is a whole number of ticks: the sums of the squares of the last
    /// `window / tick + 1` complete ticks, tick k at index k modulo the length. The tick leaving
    /// the window is then a tick that entered it, with the same sum bit for bit (same ring slots,
    /// same order), so each square is formed once instead of twice. Empty otherwise.
    tick_sums: Vec<f64>,
    /// Index in `tick_sums` of the tick in progress.
    tick_index: usize,
    /// Ring slot of the next frame (frames since reset modulo the ring length).
    slot: usize,
    /// Sum of the squares in the window ending at the last complete tick.
    sum: f64,
    /// Sum of the squares of all complete ticks since reset.
    integrated_sum: f64,
    /// Sum of the squares of the complete ticks of the gate block in progress.
    gate_sum: f64,
    /// Complete ticks in the gate block in progress.
    gate_ticks_done: u64,
    /// Sum of the squares of the gate blocks that passed the gate.
    gated_sum: f64,
    /// Frames in the gate blocks that passed the gate.
    gated_frames: u64,
    /// End (exclusive frame index) of the last complete tick that was not digital silence.
    last_loud_end: u64,
    /// Ticks left until the window sum is next recomputed from scratch.
    ticks_until_recompute: u64,
    /// Largest window sum since the sum was last recomputed from scratch.
    sum_high_water: f64,
    /// Largest window mean square seen at a tick boundary.
    tick_max_mean_square: f64,
    /// Mean square over the window ending now (after the last process call).
    pub current_mean_square: f64,
    /// Largest window mean square since reset (tick boundaries and now).
    pub max_mean_square: f64,
    /// Mean square of everything since reset.
    pub integrated_mean_square: f64,
    /// Mean square over the gate blocks above the gate.
    pub gated_mean_square: f64,
    /// Whether this CPU runs the AVX sums (detected in `new`).
    use_avx: bool,
}

impl ChannelWindow {
    pub(super) fn new(window_frames: usize, tick_frames: usize) -> Self {
        let aligned = window_frames % tick_frames == 0;
        Self {
            ring: vec![0.0; window_frames + tick_frames],
            window: window_frames as u64,
            tick: tick_frames as u64,
            tick_sums: if aligned {
                vec![0.0; window_frames / tick_frames + 1]
            } else {
                Vec::new()
            },
            tick_index: 0,
            slot: 0,
            sum: 0.0,
            integrated_sum: 0.0,
            gate_sum: 0.0,
            gate_ticks_done: 0,
            gated_sum: 0.0,
            gated_frames: 0,
            last_loud_end: 0,
            ticks_until_recompute: 0,
            sum_high_water: 0.0,
            tick_max_mean_square: 0.0,
            current_mean_square: 0.0,
            max_mean_square: 0.0,
            integrated_mean_square: 0.0,
            gated_mean_square: 0.0,
            use_avx: SimdLevel::selected().has_fma(),
        }
    }

    pub(super) fn reset(&mut self) {
        self.ring.fill(0.0);
        self.tick_sums.fill(0.0);
        self.tick_index = 0;
        self.slot = 0;
        self.sum = 0.0;
        self.integrated_sum = 0.0;
        self.gate_sum = 0.0;
        self.gate_ticks_done = 0;
        self.gated_sum = 0.0;
        self.gated_frames = 0;
        self.last_loud_end = 0;
        self.ticks_until_recompute = 0;
        self.sum_high_water = 0.0;
        self.tick_max_mean_square = 0.0;
        self.current_mean_square = 0.0;
        self.max_mean_square = 0.0;
        self.integrated_mean_square = 0.0;
        self.gated_mean_square = 0.0;
    }

    /// Appends `samples`, the frames starting at absolute index `start`, then updates the
    /// readings for the frame after them. `gate_ticks` is the gate block length in ticks and
    /// `gate_mean_square` the gate as a mean square.
    #[inline(always)]
    pub(super) fn push(
        &mut self,
        start: u64,
        samples: &[f32],
        gate_ticks: u64,
        gate_mean_square: f64,
    ) {
        let mut t = start;
        let mut rest = samples;
        let tick_mask = self.tick - 1;
        while !rest.is_empty() {
            let into_tick = (t & tick_mask) as usize;
            let take = (self.tick as usize - into_tick).min(rest.len());
            let (piece, tail) = rest.split_at(take);
            rest = tail;
            self.write_samples(piece);
            t += take as u64;
            if t & tick_mask == 0 {
                self.complete_tick(t, gate_ticks, gate_mean_square);
            }
        }
        self.update_readings(t, gate_mean_square);
    }

    /// `slot + ahead` wrapped into the ring (`slot` in the ring, `ahead` at most its length).
    #[inline(always)]
    fn wrap(&self, slot: usize, ahead: usize) -> usize {
        let s = slot + ahead;
        if s >= self.ring.len() {
            s - self.ring.len()
        } else {
            s
        }
    }

    /// Writes the squares of `piece` at the write slot and advances it.
    #[inline(always)]
    fn write_samples(&mut self, piece: &[f32]) {
        let len = self.ring.len();
        let slot = self.slot;
        let first = piece.len().min(len - slot);
        let (a, b) = piece.split_at(first);
        let write = |dst: &mut [f64], src: &[f32]| {
            for (d, &x) in dst.iter_mut().zip(src) {
                *d = square(x);
            }
        };
        if let Some(dst) = self.ring.get_mut(slot..slot + a.len()) {
            write(dst, a);
        }
        if let Some(dst) = self.ring.get_mut(..b.len()) {
            write(dst, b);
        }
        self.slot = self.wrap(slot, piece.len());
    }

    /// Sum of the `count` squares from ring slot `slot` on (wrapping), in a fixed order. Slots
    /// not written since reset hold zeros, which stand for the frames before reset.
    #[inline(always)]
    fn ring_sum(&self, slot: usize, count: usize) -> f64 {
        let len = self.ring.len();
        let count = count.min(len);
        let first = count.min(len - slot.min(len));
        let sum = |v: &[f64]| sum_lanes_dispatch(v, self.use_avx);
        let a = self.ring.get(slot..slot + first).map_or(0.0, sum);
        let b = self.ring.get(..count - first).map_or(0.0, sum);
        a + b
    }

    #[inline(always)]
    fn complete_tick(&mut self, end: u64, gate_ticks: u64, gate_mean_square: f64) {
        // The ring holds window + tick frames, so frame f - window - tick shares its slot with
        // frame f: the frames leaving the window are the ones the next tick will overwrite.
        let tick = self.tick as usize;
        let len = self.ring.len();
        let new = self.ring_sum(self.wrap(self.slot, len - tick), tick);
        let old = self.exchange_tick_sum(new);
        if new > 0.0 {
            self.last_loud_end = end;
        }
        // Recompute once per window length (counted down: no division per tick).
        let due = self.ticks_until_recompute == 0;
        self.ticks_until_recompute = if due {
            self.window / self.tick
        } else {
            self.ticks_until_recompute - 1
        };
        let running = self.sum + new - old;
        self.sum = if self.last_loud_end + self.window <= end {
            // Only digital silence in the window: exactly zero, whatever rounding left behind.
            0.0
        } else if due || running < self.sum_high_water * CANCELLATION_RATIO {
            // Start afresh from the stored squares once per window, so rounding cannot pile up,
            // and whenever the sum has fallen so far that the rounding residue of the loud past
            // could show (a quiet passage after a very loud one).
            self.sum_high_water = 0.0;
            self.window_sum()
        } else {
            running.max(0.0)
        };
        self.sum_high_water = self.sum_high_water.max(self.sum);
        // NOTE: the maximum only takes full windows: the first few milliseconds of a steady tone,
        // averaged over less than one period, would otherwise read high (by 0.14 dB for a 997 Hz
        // sine at 44.1 kHz) and stick in the maximum. The reading "now" still counts (below).
        if end >= self.window {
            self.tick_max_mean_square =
                self.tick_max_mean_square.max(self.sum / self.window as f64);
        }
        self.integrated_sum += new;
        self.gate_sum += new;
        self.gate_ticks_done += 1;
        if self.gate_ticks_done == gate_ticks {
            let block_frames = gate_ticks * self.tick;
            if self.gate_sum / block_frames as f64 > gate_mean_square {
                self.gated_sum += self.gate_sum;
                self.gated_frames += block_frames;
            }
            self.gate_sum = 0.0;
            self.gate_ticks_done = 0;
        }
    }

    /// Records `new`, the sum of the tick just completed, and returns the sum of the tick that
    /// leaves the window with it (the ring slots the next tick overwrites).
    #[inline(always)]
    fn exchange_tick_sum(&mut self, new: f64) -> f64 {
        let count = self.tick_sums.len();
        if count == 0 {
            return self.ring_sum(self.slot, self.tick as usize);
        }
        let index = self.tick_index.min(count - 1);
        let next = if index + 1 == count { 0 } else { index + 1 };
        // Tick k is stored at k mod count; the leaving tick k - window/tick is at k + 1 mod count.
        let old = self.tick_sums[next];
        self.tick_sums[index] = new;
        self.tick_index = next;
        old
    }

    /// The sum of the squares of the window that ends at the last complete tick, formed afresh:
    /// from the stored tick sums when there are any, else from the samples.
    fn window_sum(&self) -> f64 {
        if self.tick_sums.is_empty() {
            let tick = self.tick as usize;
            return self.ring_sum(self.wrap(self.slot, tick), self.window as usize);
        }
        // Every stored tick but the one at `tick_index` (it left the window) in a fixed order.
        let (before, after) = self.tick_sums.split_at(self.tick_index);
        before.iter().chain(after.iter().skip(1)).sum()
    }

    /// Readings for "now" = frame `now`, including the incomplete tick in progress.
    #[inline(always)]
    fn update_readings(&mut self, now: u64, gate_mean_square: f64) {
        if now == 0 {
            return;
        }
        let into_tick = now & (self.tick - 1);
        let (into, tick, window) = (into_tick as usize, self.tick as usize, self.window as usize);
        let len = self.ring.len();
        let tick_start_slot = self.wrap(self.slot, len - into);
        let new = self.ring_sum(tick_start_slot, into);
        let old = self.ring_sum(self.wrap(tick_start_slot, tick), into);
        let loud_end = if new > 0.0 { now } else { self.last_loud_end };
        let running = self.sum + new - old;
        let sum = if loud_end + self.window <= now {
            0.0
        } else if running < self.sum * CANCELLATION_RATIO {
            // Rare: most of the window's energy left it during this partial tick.
            self.ring_sum(self.wrap(self.slot, tick), window)
        } else {
            running.max(0.0)
        };
        self.current_mean_square = sum / now.min(self.window) as f64;
        self.max_mean_square = self.tick_max_mean_square.max(self.current_mean_square);
        self.integrated_mean_square = (self.integrated_sum + new) / now as f64;
        let gate_frames = self.gate_ticks_done * self.tick + into_tick;
        let gate_sum = self.gate_sum + new;
        let (mut gated_sum, mut gated_frames) = (self.gated_sum, self.gated_frames);
        if gate_frames > 0 && gate_sum / gate_frames as f64 > gate_mean_square {
            gated_sum += gate_sum;
            gated_frames += gate_frames;
        }
        self.gated_mean_square = if gated_frames > 0 {
            gated_sum / gated_frames as f64
        } else {
            0.0
        };
    }
}

/// Sum of the squares `values` in sixteen interleaved lanes: a fixed association order that the
/// compiler can vectorize into four independent vector accumulators (a plain `iter().sum()` of
/// floats must stay sequential, and a single vector accumulator would wait on its own latency
/// every step).
#[inline(always)]
fn sum_lanes(values: &[f64]) -> f64 {
    let mut lanes = [0.0f64; 16];
    let mut chunks = values.chunks_exact(16);
    for c in &mut chunks {
        for (lane, &v) in lanes.iter_mut().zip(c) {
            *lane += v;
        }
    }
    reduce_lanes(lanes, chunks.remainder())
}

/// The square of a sample, formed in f64.
#[inline(always)]
fn square(x: f32) -> f64 {
    let x = f64::from(x);
    x * x
}

/// The end of [`sum_lanes`]: the sixteen lanes added pairwise in a fixed tree, then the tail.
#[inline(always)]
fn reduce_lanes(mut lanes: [f64; 16], tail: &[f64]) -> f64 {
    let tail: f64 = tail.iter().fold(0.0, |a, &v| a + v);
    let mut width = 8;
    while width > 0 {
        for i in 0..width {
            lanes[i] += lanes[i + width];
        }
        width /= 2;
    }
    lanes[0] + tail
}

/// [`sum_lanes`] in the AVX build when the CPU has it (LLVM keeps the portable version's lanes
/// in 128-bit registers even when it may use 256-bit ones). Bit-identical either way.
#[inline(always)]
fn sum_lanes_dispatch(values: &[f64], use_avx: bool) -> f64 {
    #[cfg(target_arch = "x86_64")]
    if use_avx {
        // SAFETY: `use_avx` is only true on a CPU with AVX2 (which includes AVX).
        return unsafe { sum_lanes_avx(values) };
    }
    let _ = use_avx;
    sum_lanes(values)
}

/// [`sum_lanes`] with the sixteen lanes in four 256-bit accumulators: lane k still adds values
/// k, k + 16, k + 32, ... in order, so every lane, and the result, is bit-identical.
///
/// # Safety
/// The CPU must support AVX.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
unsafe fn sum_lanes_avx(values: &[f64]) -> f64 {
    use std::arch::x86_64::*;
    let mut acc = [_mm256_setzero_pd(); 4];
    let mut chunks = values.chunks_exact(16);
    for c in &mut chunks {
        for (k, a) in acc.iter_mut().enumerate() {
            // SAFETY: `c` holds 16 values, so 4k + 4 <= 16 keeps the load inside it.
            *a = _mm256_add_pd(*a, unsafe { _mm256_loadu_pd(c.as_ptr().add(4 * k)) });
        }
    }
    let mut lanes = [0.0f64; 16];
    for (k, a) in acc.iter().enumerate() {
        // SAFETY: 4k + 4 <= 16 keeps the store inside `lanes`.
        unsafe { _mm256_storeu_pd(lanes.as_mut_ptr().add(4 * k), *a) };
    }
    reduce_lanes(lanes, chunks.remainder())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// With a window of whole ticks the leaving tick's sum comes from the stored tick sums. The
    /// readings stay within rounding of a brute-force sum, as do those of the same window summing
    /// the leaving samples again, through a loud start and a quiet stretch (recomputations).
    #[test]
    fn stored_tick_sums_give_the_same_window_as_summing_again() {
        let (window, tick) = (28_800, 128);
        let mut stored = ChannelWindow::new(window, tick);
        let mut summed = ChannelWindow::new(window, tick);
        assert!(!stored.tick_sums.is_empty());
        summed.tick_sums = Vec::new();
        let signal: Vec<f32> = crate::signals::white_noise(200_000, 0.5, 11)
            .iter()
            .enumerate()
            // A loud start, then a quiet stretch: the recomputation path must agree as well.
            .map(|(i, &x)| if i < 60_000 { x } else { x * 1e-3 })
            .collect();
        let mut start = 0u64;
        for piece in signal.chunks(1000) {
            stored.push(start, piece, 100, 1e-7);
            summed.push(start, piece, 100, 1e-7);
            start += piece.len() as u64;
            if start as usize >= window {
                let brute: f64 = signal[start as usize - window..start as usize]
                    .iter()
                    .map(|&x| f64::from(x) * f64::from(x))
                    .sum::<f64>()
                    / window as f64;
                for (what, w) in [("stored", &stored), ("summed", &summed)] {
                    let relative = (w.current_mean_square / brute - 1.0).abs();
                    assert!(relative < 1e-9, "{what}, frame {start}: {relative}");
                }
            }
            assert_eq!(stored.integrated_mean_square, summed.integrated_mean_square);
        }
    }

    /// The AVX sums equal the portable ones bit for bit, for every length around the lane count.
    #[test]
    fn avx_and_portable_sums_are_identical() {
        if !SimdLevel::supported().has_fma() {
            return;
        }
        let mut samples: Vec<f32> = crate::signals::white_noise(1000, 1.0, 3)
            .iter()
            .enumerate()
            .map(|(i, &x)| x * 10f32.powi(i as i32 % 17 - 8))
            .collect();
        // Samples whose squares only fit in f64.
        samples[7] = 1e30;
        samples[500] = -f32::MAX;
        let values: Vec<f64> = samples.iter().map(|&x| square(x)).collect();
        for len in (0..70).chain([127, 128, 129, 999, 1000]) {
            let v = &values[..len];
            assert_eq!(
                sum_lanes_dispatch(v, true).to_bits(),
                sum_lanes(v).to_bits(),
                "{len}"
            );
        }
    }
}
