//! Sliding-window sums of K-weighted energy on a grid of sub-blocks of at most 10 ms.
//!
//! Time is cut into 100 ms blocks of `frames_per_block` frames (100 ms to the nearest frame, as
//! BS.1770 defines the gating block "to the nearest sample"), and every block into
//! `sub_blocks_per_block` sub-blocks. Sub-block `j` of a block ends at frame
//! `(j + 1) * frames_per_block / sub_blocks_per_block` (integer division), so when 10 ms is not a
//! whole number of frames the sub-blocks differ in length by one frame; since the pattern repeats
//! in every block, a window of N whole blocks ending at any sub-block boundary always covers
//! exactly `N * frames_per_block` frames. At 44.1, 48 and 96 kHz the sub-blocks are exactly
//! 10 ms; at odd rates (11.025 kHz: 1103-frame blocks) there are 11 sub-blocks of 9.1 ms.
//!
//! The sums are exact (no running sum that adds and subtracts): a window of N blocks ending at
//! sub-block boundary j of the current block is the head of the current block (sub-blocks
//! 0..j), plus the N-1 complete blocks before it, plus the tail (sub-blocks j..) of the block N
//! back. Heads grow one term per sub-block; the middle sums and the tails are rebuilt once per
//! 100 ms, so the work per sub-block is constant.

/// Blocks in the momentary window (400 ms, EBU Tech 3341 section 2.2).
pub const MOMENTARY_BLOCKS: usize = 4;
/// Blocks in the short-term window (3 s, EBU Tech 3341 section 2.2).
pub const SHORT_TERM_BLOCKS: usize = 30;
/// Blocks kept in the ring: the short-term window plus the block being filled.
const RING_BLOCKS: usize = SHORT_TERM_BLOCKS + 1;

/// The sub-block grid and the weighted-energy history behind the momentary and short-term windows.
#[derive(Clone, Debug, Default)]
pub struct Windows {
    /// Frames in a 100 ms block.
    pub frames_per_block: usize,
    /// Sub-blocks per 100 ms block (10 where the rate allows, 11 at odd rates).
    pub sub_blocks_per_block: usize,
    /// Weighted sums of squares of each sub-block, `RING_BLOCKS` blocks of `sub_blocks_per_block`.
    sub_energy: Vec<f64>,
    /// Weighted sum of squares of each complete block in the ring.
    block_energy: Vec<f64>,
    /// Ring index of the block being filled.
    current: usize,
    /// Sub-blocks of the current block completed so far.
    pub sub_index: usize,
    /// Sum of the completed sub-blocks of the current block.
    head: f64,
    /// Sum of the 3 complete blocks before the current one.
    middle_momentary: f64,
    /// Sum of the 29 complete blocks before the current one.
    middle_short_term: f64,
    /// `tail_momentary[j]`: sum of sub-blocks j.. of the block 4 back (one extra 0 at the end).
    tail_momentary: Vec<f64>,
    /// The same for the block 30 back.
    tail_short_term: Vec<f64>,
}

impl Windows {
    /// Sizes the grid for `sample_rate_hz` (allocates) and clears the history.
    pub fn prepare(&mut self, sample_rate_hz: f64) {
        self.frames_per_block = ((sample_rate_hz / 10.0).round() as usize).max(1);
        // The most whole frames that fit in 10 ms; the block needs this many sub-blocks to keep
        // every sub-block at or below 10 ms.
        let max_sub_frames = ((sample_rate_hz / 100.0).floor() as usize).max(1);
        self.sub_blocks_per_block = self.frames_per_block.div_ceil(max_sub_frames).max(1);
        self.sub_energy = vec![0.0; RING_BLOCKS * self.sub_blocks_per_block];
        self.block_energy = vec![0.0; RING_BLOCKS];
        self.tail_momentary = vec![0.0; self.sub_blocks_per_block + 1];
        self.tail_short_term = vec![0.0; self.sub_blocks_per_block + 1];
        self.reset();
    }

    /// Heap memory held, in bytes (fixed by `prepare()`).
    pub fn heap_bytes(&self) -> usize {
        8 * (self.sub_energy.capacity()
            + self.block_energy.capacity()
            + self.tail_momentary.capacity()
            + self.tail_short_term.capacity())
    }

    /// Clears the history (as if silence had been playing forever) and starts a new block.
    pub fn reset(&mut self) {
        self.sub_energy.fill(0.0);
        self.block_energy.fill(0.0);
        self.tail_momentary.fill(0.0);
        self.tail_short_term.fill(0.0);
        self.current = 0;
        self.sub_index = 0;
        self.head = 0.0;
        self.middle_momentary = 0.0;
        self.middle_short_term = 0.0;
    }

    /// Frames from the start of the current block to the end of its current sub-block.
    #[inline]
    pub fn sub_block_end_frame(&self) -> usize {
        (self.sub_index + 1) * self.frames_per_block / self.sub_blocks_per_block.max(1)
    }

    /// Frames from the start of the current block to the start of its current sub-block.
    #[cfg(test)]
    fn sub_block_start_frame(&self) -> usize {
        self.sub_index * self.frames_per_block / self.sub_blocks_per_block.max(1)
    }

    /// Records the weighted sum of squares of the sub-block that just ended and returns the
    /// momentary and short-term window sums ending here, plus whether a 100 ms block ended.
    pub fn push_sub_block(&mut self, energy: f64) -> (f64, f64, bool) {
        let subs = self.sub_blocks_per_block;
        let base = self.current * subs;
        if let Some(slot) = self.sub_energy.get_mut(base + self.sub_index) {
            *slot = energy;
        }
        self.head += energy;
        self.sub_index += 1;
        let j = self.sub_index;
        let momentary =
            self.head + self.middle_momentary + self.tail_momentary.get(j).copied().unwrap_or(0.0);
        let short_term = self.head
            + self.middle_short_term
            + self.tail_short_term.get(j).copied().unwrap_or(0.0);
        let block_done = j >= subs;
        if block_done {
            self.finish_block();
        }
        (momentary, short_term, block_done)
    }

    /// Closes the current block and prepares the middle sums and tails for the next one.
    fn finish_block(&mut self) {
        if let Some(b) = self.block_energy.get_mut(self.current) {
            *b = self.head;
        }
        self.current = (self.current + 1) % RING_BLOCKS;
        self.sub_index = 0;
        self.head = 0.0;
        // Block `current - k` in ring order, for k >= 1.
        let back = |k: usize| (self.current + RING_BLOCKS - k) % RING_BLOCKS;
        self.middle_momentary = (1..MOMENTARY_BLOCKS)
            .map(|k| self.block_energy.get(back(k)).copied().unwrap_or(0.0))
            .sum();
        self.middle_short_term = (1..SHORT_TERM_BLOCKS)
            .map(|k| self.block_energy.get(back(k)).copied().unwrap_or(0.0))
            .sum();
        let subs = self.sub_blocks_per_block;
        for (tail, k) in [
            (&mut self.tail_momentary, MOMENTARY_BLOCKS),
            (&mut self.tail_short_term, SHORT_TERM_BLOCKS),
        ] {
            let start = back(k) * subs;
            let block = self.sub_energy.get(start..start + subs).unwrap_or(&[]);
            let mut sum = 0.0;
            for (j, e) in block.iter().enumerate().rev() {
                sum += e;
                if let Some(t) = tail.get_mut(j) {
                    *t = sum;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds sub-block energies 1, 2, 3, ... and checks every window against a direct sum.
    #[test]
    fn window_sums_equal_direct_sums_at_every_sub_block() {
        for rate in [8_000.0, 11_025.0, 44_100.0, 48_000.0, 96_000.0] {
            let mut w = Windows::default();
            w.prepare(rate);
            let subs = w.sub_blocks_per_block;
            let mut history = Vec::new();
            for i in 0..(subs * 70) {
                let e = (i + 1) as f64;
                history.push(e);
                let (m, s, done) = w.push_sub_block(e);
                let direct =
                    |n_blocks: usize| history.iter().rev().take(n_blocks * subs).sum::<f64>();
                assert_eq!(m, direct(MOMENTARY_BLOCKS), "{rate} {i}");
                assert_eq!(s, direct(SHORT_TERM_BLOCKS), "{rate} {i}");
                assert_eq!(done, (i + 1) % subs == 0);
            }
        }
    }

    #[test]
    fn grid_is_at_most_10_ms_and_covers_the_block() {
        for rate in [
            8_000.0, 11_025.0, 22_050.0, 44_100.0, 48_000.0, 88_200.0, 96_000.0, 384_000.0,
            768_000.0,
        ] {
            let mut w = Windows::default();
            w.prepare(rate);
            let mut start = 0;
            for j in 0..w.sub_blocks_per_block {
                w.sub_index = j;
                assert_eq!(w.sub_block_start_frame(), start);
                let end = w.sub_block_end_frame();
                assert!(
                    end > start && (end - start) as f64 <= rate / 100.0,
                    "{rate}"
                );
                start = end;
            }
            assert_eq!(start, w.frames_per_block);
            if [44_100.0, 48_000.0, 96_000.0].contains(&rate) {
                assert_eq!(w.sub_blocks_per_block, 10);
            }
        }
    }
}
