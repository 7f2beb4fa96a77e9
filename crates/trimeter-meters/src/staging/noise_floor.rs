//! The noise floor of a signal, and whether it gets in the way of the suggested trim.
//!
//! The signal is cut into 50 ms blocks on a grid counted from the last reset; each block's RMS
//! (mean square over all channels) goes into a fixed histogram of 0.5 dB bins. The floor is a
//! low percentile of the blocks that are not digital silence: in programme material the quietest
//! tenth of the blocks is the pauses between phrases and notes, where hum and hiss show. Memory
//! is fixed, `process` never allocates, and the estimate does not depend on the block split.

use crate::units::power_to_db;

/// Length of one measured block, seconds.
pub const BLOCK_S: f64 = 0.05;
/// Which share of the non-silent blocks lies below the floor.
pub const FLOOR_PERCENTILE: f64 = 0.10;
/// Blocks needed before there is an estimate (2 s).
pub const MIN_BLOCKS: u64 = 40;
/// The histogram covers -160..0 dBFS in bins of this width (louder blocks go in the top bin).
const BIN_DB: f32 = 0.5;
const BOTTOM_DBFS: f32 = -160.0;
const BINS: usize = (-BOTTOM_DBFS / BIN_DB) as usize;

/// By default the average must stay at least this far above the floor (dB): a floor 40 dB
/// below the programme is audible in its pauses.
pub const DEFAULT_MARGIN_DB: f32 = 40.0;
/// A floor above this level (dBFS, after the trim) is hum or hiss whatever the programme does.
pub const HIGH_FLOOR_DBFS: f32 = -60.0;

/// Estimates the noise floor from 50 ms RMS blocks.
#[derive(Clone, Debug)]
pub struct NoiseFloor {
    block_frames: usize,
    frames_in_block: usize,
    sum_sq: f64,
    channels: usize,
    counts: Box<[u32; BINS]>,
    blocks: u64,
}

impl Default for NoiseFloor {
    fn default() -> Self {
        Self::new(48_000.0, 2)
    }
}

impl NoiseFloor {
    /// An estimator for `sample_rate` (Hz) and `channels`. Allocates.
    pub fn new(sample_rate: f64, channels: usize) -> Self {
        Self {
            block_frames: ((BLOCK_S * sample_rate).round() as usize).max(1),
            frames_in_block: 0,
            sum_sq: 0.0,
            channels: channels.max(1),
            counts: Box::new([0; BINS]),
            blocks: 0,
        }
    }

    /// Forgets everything measured.
    pub fn reset(&mut self) {
        self.frames_in_block = 0;
        self.sum_sq = 0.0;
        self.counts.fill(0);
        self.blocks = 0;
    }

    /// Measures one planar block of any length. Never allocates.
    pub fn process(&mut self, block: &[&[f32]]) {
        let frames = block.first().map_or(0, |c| c.len());
        let mut offset = 0;
        while offset < frames {
            let take = (self.block_frames - self.frames_in_block).min(frames - offset);
            for channel in block.iter().take(self.channels) {
                if let Some(samples) = channel.get(offset..offset + take) {
                    self.sum_sq += samples
                        .iter()
                        .map(|&s| f64::from(s) * f64::from(s))
                        .sum::<f64>();
                }
            }
            self.frames_in_block += take;
            offset += take;
            if self.frames_in_block == self.block_frames {
                let mean_square = self.sum_sq / (self.block_frames * self.channels) as f64;
                self.add_block(mean_square);
                self.frames_in_block = 0;
                self.sum_sq = 0.0;
            }
        }
    }

    fn add_block(&mut self, mean_square: f64) {
        // Digital silence is no noise floor: it is the absence of a signal.
        if !mean_square.is_finite() || mean_square <= 0.0 {
            return;
        }
        let db = power_to_db(mean_square);
        let bin = ((db - BOTTOM_DBFS) / BIN_DB)
            .floor()
            .clamp(0.0, (BINS - 1) as f32) as usize;
        self.counts[bin] += 1;
        self.blocks += 1;
    }

    /// Non-silent 50 ms blocks measured so far.
    pub fn blocks(&self) -> u64 {
        self.blocks
    }

    /// The floor in dBFS (RMS, plain scaling), or `None` before [`MIN_BLOCKS`] non-silent blocks.
    /// O(bins).
    pub fn floor_dbfs(&self) -> Option<f32> {
        if self.blocks < MIN_BLOCKS {
            return None;
        }
        let wanted = ((self.blocks as f64 * FLOOR_PERCENTILE).ceil() as u64).max(1);
        let mut seen = 0u64;
        for (bin, &count) in self.counts.iter().enumerate() {
            seen += u64::from(count);
            if seen >= wanted {
                // The middle of the bin.
                return Some(BOTTOM_DBFS + (bin as f32 + 0.5) * BIN_DB);
            }
        }
        None
    }
}

/// What is wrong with the floor, if anything.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum NoiseWarning {
    /// The average is only `margin_db` above the floor (less than the margin asked for): the
    /// noise is audible in the pauses whatever the gain.
    LowMargin {
        /// Average minus floor, dB.
        margin_db: f32,
    },
    /// After the trim the floor sits at `floor_after_dbfs`, above [`HIGH_FLOOR_DBFS`]: hum or
    /// hiss that the next stages will bring up further.
    HighFloor {
        /// The floor plus the trim, dBFS.
        floor_after_dbfs: f32,
    },
}

impl NoiseWarning {
    /// Checks a floor (`floor_dbfs`, plain RMS) against the average it was measured with
    /// (`average_db`) and the trim about to be applied. `margin_db` is the smallest acceptable
    /// distance between average and floor ([`DEFAULT_MARGIN_DB`] by default).
    pub fn check(average_db: f32, floor_dbfs: f32, trim_db: f32, margin_db: f32) -> Option<Self> {
        if !average_db.is_finite() || !floor_dbfs.is_finite() || !trim_db.is_finite() {
            return None;
        }
        let margin = average_db - floor_dbfs;
        if margin < margin_db {
            return Some(Self::LowMargin { margin_db: margin });
        }
        let floor_after_dbfs = floor_dbfs + trim_db;
        (floor_after_dbfs > HIGH_FLOOR_DBFS).then_some(Self::HighFloor { floor_after_dbfs })
    }

    /// One line for people.
    pub fn text(&self) -> String {
        match *self {
            Self::LowMargin { margin_db } => {
                format!("noise floor only {margin_db:.0} dB below the average")
            }
            Self::HighFloor { floor_after_dbfs } => {
                format!("noise floor at {floor_after_dbfs:.0} dBFS after the trim (hum or hiss)")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signals::{random_splits, sine, white_noise};

    /// A -20 dBFS tone with pauses of noise at `noise_dbfs` RMS (plain), 10 s at `rate`.
    fn programme(rate: f64, noise_dbfs: f32) -> Vec<f32> {
        // Uniform noise in [-a, a) has RMS a / sqrt(3).
        let amplitude = 10f32.powf(noise_dbfs / 20.0) * 3f32.sqrt();
        let frames = (rate * 10.0) as usize;
        let noise = white_noise(frames, amplitude, 5);
        let tone = sine(rate, 440.0, -20.0, 10.0, 0.0);
        (0..frames)
            .map(|n| {
                // One second of tone, then half a second of pause, repeated.
                let in_tone = (n as f64 / rate) % 1.5 < 1.0;
                noise[n] + if in_tone { tone[n] } else { 0.0 }
            })
            .collect()
    }

    #[test]
    fn finds_the_floor_in_the_pauses_at_any_rate_and_split() {
        for rate in [44_100.0, 48_000.0, 96_000.0] {
            for noise in [-90.0f32, -70.0, -50.0] {
                let signal = programme(rate, noise);
                let mut whole = NoiseFloor::new(rate, 1);
                whole.process(&[&signal]);
                let floor = whole.floor_dbfs().unwrap();
                assert!((floor - noise).abs() < 1.0, "{rate} Hz: {floor} vs {noise}");

                let mut split = NoiseFloor::new(rate, 1);
                let mut offset = 0;
                for len in random_splits(signal.len(), 3000, 2) {
                    nice_assert_no_alloc::assert_no_alloc(|| {
                        split.process(&[&signal[offset..offset + len]])
                    });
                    offset += len;
                }
                assert_eq!(split.floor_dbfs(), Some(floor));
            }
        }
    }

    #[test]
    fn silence_and_short_signals_give_no_floor() {
        let mut meter = NoiseFloor::new(48_000.0, 2);
        let zeros = vec![0.0f32; 48_000 * 5];
        meter.process(&[&zeros, &zeros]);
        assert_eq!((meter.blocks(), meter.floor_dbfs()), (0, None));
        let short = white_noise(48_000, 0.1, 1);
        meter.process(&[&short, &short]);
        assert_eq!(meter.floor_dbfs(), None, "1 s is not enough");
        meter.reset();
        assert_eq!(meter.blocks(), 0);
    }

    #[test]
    fn warnings_for_a_noisy_source_and_a_floor_brought_up_by_the_trim() {
        assert_eq!(NoiseWarning::check(-20.0, -90.0, 2.0, 40.0), None);
        assert_eq!(
            NoiseWarning::check(-20.0, -50.0, 2.0, 40.0),
            Some(NoiseWarning::LowMargin { margin_db: 30.0 })
        );
        // 45 dB of margin, but +20 dB of trim lifts the floor to -45 dBFS.
        assert_eq!(
            NoiseWarning::check(-20.0, -65.0, 20.0, 40.0),
            Some(NoiseWarning::HighFloor {
                floor_after_dbfs: -45.0
            })
        );
        assert_eq!(
            NoiseWarning::check(f32::NEG_INFINITY, -65.0, 2.0, 40.0),
            None
        );
        assert!(NoiseWarning::LowMargin { margin_db: 30.0 }
            .text()
            .contains("30 dB"));
    }
}
