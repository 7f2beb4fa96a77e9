//! Level matching between two points of a chain: the DSP behind the Start/End link.
//!
//! - [`MatchFollower`]: the continuous match gain. It follows the level difference between the
//!   chain's input and output with a deadband, a slew limit, a range limit and a silence gate,
//!   on a fixed 10 ms grid, so it never pumps and never depends on the host's block length.
//! - [`latency`]: the chain's latency from the cross-correlation of its input and output.

pub mod latency;

use crate::units::db_to_amplitude;

/// The follower's grid: the match gain moves at most once per tick, seconds.
pub const TICK_S: f64 = 0.010;

/// How the continuous match moves.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MatchConfig {
    /// No movement while the remaining difference is within ± this, dB. Default 0.5.
    pub deadband_db: f32,
    /// The fastest the gain moves, dB per second. Default 3.
    pub slew_db_per_s: f32,
    /// The gain stays within ± this, dB. Default 24.
    pub range_db: f32,
    /// No movement while either side is below this level, dBFS (or LUFS). Default -60.
    pub gate_db: f32,
}

impl Default for MatchConfig {
    fn default() -> Self {
        Self {
            deadband_db: 0.5,
            slew_db_per_s: 3.0,
            range_db: 24.0,
            gate_db: -60.0,
        }
    }
}

/// Why the follower is not moving, or that it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MatchState {
    /// Moving towards the difference.
    Following,
    /// Within the deadband: holding.
    Matched,
    /// One side is below the gate (or has no level): holding.
    Gated,
    /// The difference is outside the range: held at the range limit.
    AtLimit,
}

/// The continuous match gain.
#[derive(Clone, Debug)]
pub struct MatchFollower {
    config: MatchConfig,
    /// Frames per tick at the prepared sample rate.
    tick_frames: usize,
    /// Frames into the current tick.
    frames_in_tick: usize,
    /// The most the gain moves in one tick, dB.
    step_db: f32,
    /// The match gain now, dB.
    gain_db: f32,
    state: MatchState,
}

impl MatchFollower {
    /// A follower for `sample_rate` (Hz) resting at 0 dB.
    pub fn new(config: MatchConfig, sample_rate: f64) -> Self {
        let tick_frames = ((TICK_S * sample_rate).round() as usize).max(1);
        let step_db =
            (f64::from(config.slew_db_per_s.max(0.0)) * tick_frames as f64 / sample_rate) as f32;
        Self {
            config,
            tick_frames,
            frames_in_tick: 0,
            step_db,
            gain_db: 0.0,
            state: MatchState::Gated,
        }
    }

    /// Back to 0 dB.
    pub fn reset(&mut self) {
        self.gain_db = 0.0;
        self.frames_in_tick = 0;
        self.state = MatchState::Gated;
    }

    /// Advances by `frames` with the chain's input level `reference_db` and its output level
    /// before the match stage `measured_db` (same measure, both dB), and returns the match gain
    /// in dB. The gain moves only at tick boundaries, by at most the slew limit per tick, so the
    /// result after a signal does not depend on how its frames are split into calls. Never
    /// allocates.
    pub fn advance(&mut self, reference_db: f32, measured_db: f32, frames: usize) -> f32 {
        self.frames_in_tick += frames;
        while self.frames_in_tick >= self.tick_frames {
            self.frames_in_tick -= self.tick_frames;
            self.tick(reference_db, measured_db);
        }
        self.gain_db
    }

    fn tick(&mut self, reference_db: f32, measured_db: f32) {
        let gate = self.config.gate_db;
        let heard = |db: f32| db.is_finite() && db >= gate;
        if !heard(reference_db) || !heard(measured_db) {
            self.state = MatchState::Gated;
            return;
        }
        let range = self.config.range_db.max(0.0);
        let wanted = reference_db - measured_db;
        let goal = wanted.clamp(-range, range);
        let error = goal - self.gain_db;
        if error.abs() <= self.config.deadband_db && goal == wanted {
            self.state = MatchState::Matched;
            return;
        }
        self.gain_db += error.clamp(-self.step_db, self.step_db);
        self.state = if goal != wanted && self.gain_db == goal {
            MatchState::AtLimit
        } else {
            MatchState::Following
        };
    }

    /// The match gain now, dB.
    pub fn gain_db(&self) -> f32 {
        self.gain_db
    }

    /// The match gain now as a linear factor.
    pub fn gain(&self) -> f32 {
        db_to_amplitude(self.gain_db)
    }

    /// What the follower did at the last tick.
    pub fn state(&self) -> MatchState {
        self.state
    }

    /// The settings.
    pub fn config(&self) -> &MatchConfig {
        &self.config
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs the follower over `seconds` of constant levels in blocks of `block` frames and returns
    /// the gain after every block.
    fn run(
        f: &mut MatchFollower,
        reference: f32,
        measured: f32,
        seconds: f64,
        rate: f64,
        block: usize,
    ) -> Vec<f32> {
        let blocks = (seconds * rate / block as f64) as usize;
        (0..blocks)
            .map(|_| f.advance(reference, measured, block))
            .collect()
    }

    #[test]
    fn reaches_the_difference_at_the_slew_limit_and_stops_in_the_deadband() {
        for rate in [44_100.0, 48_000.0, 96_000.0] {
            let mut f = MatchFollower::new(MatchConfig::default(), rate);
            // The chain is 9 dB louder: the gain must reach -9 dB (within the deadband) in about
            // 3 s at 3 dB/s, never faster.
            let gains = run(&mut f, -20.0, -11.0, 4.0, rate, 256);
            let per_block_limit = 3.0 * 256.0 / rate as f32 + 0.03 + 1e-4;
            for w in gains.windows(2) {
                assert!((w[1] - w[0]).abs() <= per_block_limit, "{rate}: {w:?}");
            }
            let end = *gains.last().unwrap();
            assert!((end - -9.0).abs() <= 0.5, "{rate}: {end}");
            assert_eq!(f.state(), MatchState::Matched);
            // After 2 s it cannot have got further than 6 dB.
            let at_2s = gains[(2.0 * rate / 256.0) as usize];
            assert!(at_2s >= -6.0 - 0.05, "{rate}: {at_2s}");
        }
    }

    #[test]
    fn the_block_split_does_not_matter() {
        let rate = 48_000.0;
        let mut whole = MatchFollower::new(MatchConfig::default(), rate);
        let mut split = whole.clone();
        whole.advance(-20.0, -14.0, 48_000 * 3);
        let mut left = 48_000 * 3;
        for len in crate::signals::random_splits(left, 5000, 4) {
            split.advance(-20.0, -14.0, len);
            left -= len;
        }
        assert_eq!(left, 0);
        assert_eq!(whole.gain_db(), split.gain_db());
    }

    #[test]
    fn gate_range_and_deadband_hold_the_gain() {
        let rate = 48_000.0;
        let mut f = MatchFollower::new(MatchConfig::default(), rate);
        // Within the deadband from the start: no movement at all.
        assert!(run(&mut f, -20.0, -19.6, 2.0, rate, 512)
            .iter()
            .all(|&g| g == 0.0));
        assert_eq!(f.state(), MatchState::Matched);
        // A silent side: no movement.
        assert!(run(&mut f, -20.0, -70.0, 2.0, rate, 512)
            .iter()
            .all(|&g| g == 0.0));
        assert!(run(&mut f, f32::NEG_INFINITY, -10.0, 1.0, rate, 512)
            .iter()
            .all(|&g| g == 0.0));
        assert_eq!(f.state(), MatchState::Gated);
        // 40 dB apart: held at the 24 dB limit.
        let gains = run(&mut f, -10.0, -50.0, 12.0, rate, 512);
        assert_eq!(*gains.last().unwrap(), 24.0);
        assert_eq!(f.state(), MatchState::AtLimit);
        f.reset();
        assert_eq!(f.gain_db(), 0.0);
    }

    /// A compressor-like chain: the output level swings by ±3 dB every 200 ms around a 6 dB
    /// loss. The match gain never moves faster than the slew limit and never moves while the
    /// remaining difference is inside the deadband.
    #[test]
    fn does_not_pump_on_a_compressor_like_level_change() {
        let rate = 48_000.0;
        let config = MatchConfig::default();
        let mut f = MatchFollower::new(config, rate);
        let block = 480; // one tick
        let mut previous = 0.0f32;
        for n in 0..(20.0 * rate) as usize / block {
            let t = (n * block) as f64 / rate;
            let swing = if (t / 0.2) as usize % 2 == 0 {
                3.0
            } else {
                -3.0
            };
            let measured = -26.0 + swing;
            let gain = f.advance(-20.0, measured, block);
            let moved = gain - previous;
            assert!(
                moved.abs() <= 0.03 + 1e-5,
                "{t} s: moved {moved} dB in 10 ms"
            );
            let remaining = (-20.0 - measured) - previous;
            if remaining.abs() <= config.deadband_db {
                assert_eq!(moved, 0.0, "{t} s: moved inside the deadband");
            }
            previous = gain;
        }
    }
}
