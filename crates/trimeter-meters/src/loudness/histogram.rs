//! A fixed-size loudness histogram with exact per-bin energy sums and counts, and Fenwick trees
//! over both, so that the gated mean (BS.1770-5 equations (5)-(7)) and the Loudness Range
//! percentiles (EBU Tech 3342 section 5) take O(log bins) however long the session runs.
//!
//! Memory is fixed at `prepare()`: about 350 KB per histogram (11 001 bins of four 8-byte
//! values), independent of the session length.

use crate::units::db_to_power;

/// The absolute gate (BS.1770-5 equation (6), EBU Tech 3342 section 3), in LUFS.
pub const ABSOLUTE_GATE_LUFS: f64 = -70.0;
/// Bin width in LU. With the mean energy of a bin standing for its blocks, a percentile is off
/// by well under one bin width, so LRA stays within 0.02 LU of the exact computation.
const BIN_WIDTH_LU: f64 = 0.01;
/// Loudness of the top bin's lower edge, in LUFS. A full-scale 8-channel signal reads about
/// +25 LUFS; louder blocks (possible only with samples far beyond full scale) all land in the top
/// bin, whose energy sum is still exact, so the integrated loudness stays exact and only their
/// ordering within the bin is lost.
const TOP_LUFS: f64 = 40.0;
/// Number of bins: -70 LUFS up to the top bin, plus the top bin.
pub const BINS: usize = ((TOP_LUFS - ABSOLUTE_GATE_LUFS) / BIN_WIDTH_LU) as usize + 1;

/// The BS.1770 offset between 10 log10 of the weighted mean square and LKFS (equation (2)).
pub const LKFS_OFFSET_DB: f64 = -0.691;

/// Loudness in LUFS of a weighted mean square (negative infinity for zero).
#[inline]
pub fn lufs_from_energy(mean_square: f64) -> f64 {
    if mean_square > 0.0 {
        LKFS_OFFSET_DB + 10.0 * mean_square.log10()
    } else {
        f64::NEG_INFINITY
    }
}

/// Weighted mean square of a loudness in LUFS.
#[inline]
pub fn energy_from_lufs(lufs: f64) -> f64 {
    db_to_power(lufs - LKFS_OFFSET_DB)
}

/// Block loudness values (as weighted mean squares) at or above the absolute gate.
#[derive(Clone, Debug, Default)]
pub struct Histogram {
    /// Blocks in each bin.
    count: Vec<u64>,
    /// Sum of the mean squares of the blocks in each bin.
    energy: Vec<f64>,
    /// Fenwick tree over `count`.
    count_tree: Vec<u64>,
    /// Fenwick tree over `energy`.
    energy_tree: Vec<f64>,
    /// All blocks at or above the absolute gate.
    total_count: u64,
    /// Sum of their mean squares.
    total_energy: f64,
    /// `energy_from_lufs(ABSOLUTE_GATE_LUFS)`, computed once.
    gate_energy: f64,
}

impl Histogram {
    /// Allocates the bins (call from `prepare()`).
    pub fn allocate(&mut self) {
        self.count = vec![0; BINS];
        self.energy = vec![0.0; BINS];
        self.count_tree = vec![0; BINS];
        self.energy_tree = vec![0.0; BINS];
        self.gate_energy = energy_from_lufs(ABSOLUTE_GATE_LUFS);
        self.clear();
    }

    /// Forgets every block.
    pub fn clear(&mut self) {
        self.count.fill(0);
        self.energy.fill(0.0);
        self.count_tree.fill(0);
        self.energy_tree.fill(0.0);
        self.total_count = 0;
        self.total_energy = 0.0;
    }

    /// Heap memory held, in bytes (fixed by `allocate()`).
    pub fn heap_bytes(&self) -> usize {
        8 * (self.count.capacity()
            + self.energy.capacity()
            + self.count_tree.capacity()
            + self.energy_tree.capacity())
    }

    /// Number of blocks at or above the absolute gate.
    #[cfg(test)]
    pub fn total_count(&self) -> u64 {
        self.total_count
    }

    /// The bin of a loudness at or above the gate.
    #[inline]
    fn bin_of(lufs: f64) -> usize {
        let index = ((lufs - ABSOLUTE_GATE_LUFS) / BIN_WIDTH_LU).floor();
        // `as` saturates (and maps NaN to 0), so this cannot go out of range.
        (index.max(0.0) as usize).min(BINS - 1)
    }

    /// Adds a block with weighted mean square `mean_square`; blocks below the absolute gate
    /// (BS.1770-5 equation (6)) and non-finite values are ignored.
    pub fn add(&mut self, mean_square: f64) {
        if !(mean_square >= self.gate_energy && mean_square.is_finite()) {
            return;
        }
        let bin = Self::bin_of(lufs_from_energy(mean_square));
        if let (Some(c), Some(e)) = (self.count.get_mut(bin), self.energy.get_mut(bin)) {
            *c += 1;
            *e += mean_square;
        }
        self.total_count += 1;
        self.total_energy += mean_square;
        let mut i = bin + 1;
        while i <= BINS {
            if let (Some(c), Some(e)) = (
                self.count_tree.get_mut(i - 1),
                self.energy_tree.get_mut(i - 1),
            ) {
                *c += 1;
                *e += mean_square;
            }
            i += i & i.wrapping_neg();
        }
    }

    /// Count and energy of bins `0..end`.
    fn prefix(&self, end: usize) -> (u64, f64) {
        let (mut count, mut energy) = (0, 0.0);
        let mut i = end.min(BINS);
        while i > 0 {
            count += self.count_tree.get(i - 1).copied().unwrap_or(0);
            energy += self.energy_tree.get(i - 1).copied().unwrap_or(0.0);
            i &= i - 1;
        }
        (count, energy)
    }

    /// The first bin that passes a relative gate `gate_lu` below the mean of all blocks, with the
    /// count and energy of the blocks before it. The bin holding the threshold passes when its
    /// mean passes, as its blocks' exact values are not kept.
    fn relative_gate(&self, gate_lu: f64) -> Option<(usize, u64, f64)> {
        if self.total_count == 0 {
            return None;
        }
        let threshold = self.total_energy / self.total_count as f64 * db_to_power(gate_lu);
        if threshold < self.gate_energy {
            return Some((0, 0, 0.0));
        }
        let bin = Self::bin_of(lufs_from_energy(threshold));
        let (count, energy) = (
            self.count.get(bin).copied().unwrap_or(0),
            self.energy.get(bin).copied().unwrap_or(0.0),
        );
        let first = if count > 0 && energy / count as f64 >= threshold {
            bin
        } else {
            bin + 1
        };
        let (below_count, below_energy) = self.prefix(first);
        Some((first, below_count, below_energy))
    }

    /// The gated mean square: blocks above the absolute gate and within `gate_lu` (negative) of
    /// their mean (BS.1770-5 equation (7) with -10 LU). None when no block passes.
    pub fn gated_mean(&self, gate_lu: f64) -> Option<f64> {
        let (_, below_count, below_energy) = self.relative_gate(gate_lu)?;
        let count = self.total_count - below_count;
        // The subtraction loses at most a rounding error of the total; the gated blocks carry at
        // least a tenth of the mean energy each, so this stays many digits exact.
        let energy = (self.total_energy - below_energy).max(0.0);
        (count > 0).then(|| energy / count as f64)
    }

    /// The bin holding the block of rank `rank` (0-based, ascending).
    fn bin_of_rank(&self, rank: u64) -> usize {
        // Fenwick descent: the largest prefix whose count is <= rank.
        let mut pos = 0;
        let mut remaining = rank;
        let mut step = BINS.next_power_of_two();
        while step > 0 {
            let next = pos + step;
            if next <= BINS {
                let c = self.count_tree.get(next - 1).copied().unwrap_or(0);
                if c <= remaining {
                    pos = next;
                    remaining -= c;
                }
            }
            step /= 2;
        }
        pos.min(BINS - 1)
    }

    /// Loudness of the mean of bin `bin`, in LUFS.
    fn bin_lufs(&self, bin: usize) -> f64 {
        let count = self.count.get(bin).copied().unwrap_or(0).max(1);
        lufs_from_energy(self.energy.get(bin).copied().unwrap_or(0.0) / count as f64)
    }

    /// Loudness Range in LU (EBU Tech 3342 section 5): the spread between the 10th and 95th
    /// percentiles of the blocks within -20 LU of their mean, with the percentile ranks of the
    /// MATLAB reference, `round((n - 1) * p / 100)`. 0 when no block passes the gates.
    pub fn loudness_range(&self) -> f64 {
        let Some((_, below, _)) = self.relative_gate(-20.0) else {
            return 0.0;
        };
        let n = self.total_count - below;
        if n == 0 {
            return 0.0;
        }
        let rank = |p: f64| below + ((n - 1) as f64 * p + 0.5) as u64;
        let low = self.bin_lufs(self.bin_of_rank(rank(0.10)));
        let high = self.bin_lufs(self.bin_of_rank(rank(0.95)));
        (high - low).max(0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exact_lra(values_lufs: &[f64]) -> f64 {
        let mut v: Vec<f64> = values_lufs
            .iter()
            .copied()
            .filter(|&l| l >= -70.0)
            .collect();
        let mean = v.iter().map(|&l| energy_from_lufs(l)).sum::<f64>() / v.len() as f64;
        let gate = lufs_from_energy(mean) - 20.0;
        v.retain(|&l| l >= gate);
        v.sort_by(f64::total_cmp);
        let n = v.len();
        v[((n - 1) as f64 * 0.95).round() as usize] - v[((n - 1) as f64 * 0.10).round() as usize]
    }

    #[test]
    fn gated_mean_and_range_match_exact_computations() {
        let mut rng = crate::rng::Rng::new(7);
        for trial in 0..20 {
            let mut h = Histogram::default();
            h.allocate();
            let values: Vec<f64> = (0..(50 + trial * 300))
                .map(|_| -80.0 + 75.0 * rng.next_unit() as f64)
                .collect();
            for &l in &values {
                h.add(energy_from_lufs(l));
            }
            let abs: Vec<f64> = values.iter().copied().filter(|&l| l >= -70.0).collect();
            let mean = abs.iter().map(|&l| energy_from_lufs(l)).sum::<f64>() / abs.len() as f64;
            let rel: Vec<f64> = abs
                .iter()
                .copied()
                .filter(|&l| energy_from_lufs(l) >= mean * 0.1)
                .collect();
            let exact = rel.iter().map(|&l| energy_from_lufs(l)).sum::<f64>() / rel.len() as f64;
            let got = h.gated_mean(-10.0).unwrap();
            assert!(
                (lufs_from_energy(got) - lufs_from_energy(exact)).abs() < 0.005,
                "{trial}"
            );
            assert!(
                (h.loudness_range() - exact_lra(&values)).abs() < 0.02,
                "{trial}"
            );
        }
    }

    #[test]
    fn empty_and_gated_out_histograms() {
        let mut h = Histogram::default();
        h.allocate();
        assert_eq!(h.gated_mean(-10.0), None);
        assert_eq!(h.loudness_range(), 0.0);
        h.add(energy_from_lufs(-75.0));
        h.add(0.0);
        assert_eq!(h.total_count(), 0);
        h.add(energy_from_lufs(500.0));
        h.add(energy_from_lufs(-23.0));
        assert_eq!(h.total_count(), 2);
        assert!(h.gated_mean(-10.0).unwrap().is_finite());
    }
}
