//! The gain-staging assistant's measurement: learn a part, then apply one trim.
//!
//! While learning, every block the host plays goes into a [`StagingMeter`], the same measurement
//! `trimeter analyze` runs on a file, so the assistant and the command-line tool suggest the same
//! trim for the same audio. Blocks played while the transport is stopped are not measured. The
//! confidence is the time of non-silent material heard (10 ms blocks above a gate, -60 dBFS by
//! default), and the suggestion counts as stable once enough was heard and it moved less than a
//! tolerance over the last seconds. A noise-floor estimate runs beside it. After the user applies
//! the trim the measurement freezes: the assistant never rides the gain.
//!
//! Everything here runs on the audio thread without allocating, except [`Learner::new`].

use super::noise_floor::{NoiseFloor, NoiseWarning, DEFAULT_MARGIN_DB};
use super::{
    AverageMeasure, PeakMeasure, StagingMeasures, StagingMeter, StagingTarget, Suggestion,
};
use crate::engine::EngineConfig;
use crate::meter::MAX_CHANNELS;
use crate::units::db_to_power;

/// Where the learner is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LearnPhase {
    /// Not measuring; nothing learned.
    #[default]
    Idle,
    /// Measuring what plays.
    Learning,
    /// Measurement stopped (after Apply): the suggestion stays as it was.
    Frozen,
}

/// How the learner judges its material.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LearnConfig {
    /// 10 ms blocks at or below this level (dBFS RMS over all channels) are silence: they do not
    /// count as material heard. Default -60.
    pub gate_dbfs: f32,
    /// Material needed before the suggestion can be stable, seconds. Default 10.
    pub stable_after_s: f32,
    /// The window over which the suggestion must hold still, seconds. Default 3.
    pub stable_window_s: f32,
    /// How far the suggestion may move within that window and still be stable, dB. Default 0.2.
    pub stable_tolerance_db: f32,
    /// The smallest distance between average and noise floor that passes, dB. Default 40.
    pub noise_margin_db: f32,
}

impl Default for LearnConfig {
    fn default() -> Self {
        Self {
            gate_dbfs: -60.0,
            stable_after_s: 10.0,
            stable_window_s: 3.0,
            stable_tolerance_db: 0.2,
            noise_margin_db: DEFAULT_MARGIN_DB,
        }
    }
}

/// The learner's state for a display: small and `Copy`, so it can be handed to the GUI.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LearnStatus {
    /// Where the learner is.
    pub phase: LearnPhase,
    /// Seconds of non-silent material measured.
    pub heard_s: f32,
    /// The suggestion for the target, once there is material.
    pub suggestion: Option<Suggestion>,
    /// Enough was heard and the suggestion held still.
    pub stable: bool,
    /// The noise floor (dBFS RMS), once estimated.
    pub floor_dbfs: Option<f32>,
    /// What is wrong with the floor, if anything.
    pub noise_warning: Option<NoiseWarning>,
}

/// What a [`Learner`] measured, as a small `Copy` value that can cross to the GUI thread.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LearnSnapshot {
    /// Where the learner is.
    pub phase: LearnPhase,
    /// Seconds of non-silent material measured.
    pub heard_s: f32,
    /// At least one 10 ms block passed the silence gate.
    pub has_material: bool,
    /// The average by each measure, in [`AverageMeasure::ALL`] order (dB; minus infinity for
    /// silence).
    pub averages_db: [f32; 3],
    /// The peak by each measure, in [`PeakMeasure::ALL`] order (dB).
    pub peaks_db: [f32; 2],
    /// The noise floor (dBFS RMS), once estimated.
    pub floor_dbfs: Option<f32>,
    /// The margin the noise check asks for, dB.
    pub noise_margin_db: f32,
    /// The target the stability check follows.
    pub followed: StagingTarget,
    /// Whether the suggestion for [`Self::followed`] is stable.
    pub followed_stable: bool,
}

impl LearnSnapshot {
    /// The state for `target`: the suggestion (`None` until there is material), the confidence
    /// (stable only for the followed target) and the noise check.
    pub fn status(&self, target: &StagingTarget) -> LearnStatus {
        let average_index = AverageMeasure::ALL
            .iter()
            .position(|&m| m == target.average)
            .unwrap_or(0);
        let peak_index = PeakMeasure::ALL
            .iter()
            .position(|&m| m == target.peak)
            .unwrap_or(0);
        let suggestion = if self.has_material {
            target.suggest(self.averages_db[average_index], self.peaks_db[peak_index])
        } else {
            None
        };
        let noise_warning = match (suggestion, self.floor_dbfs) {
            (Some(s), Some(floor)) => {
                NoiseWarning::check(self.averages_db[0], floor, s.trim_db, self.noise_margin_db)
            }
            _ => None,
        };
        LearnStatus {
            phase: self.phase,
            heard_s: self.heard_s,
            suggestion,
            stable: *target == self.followed && suggestion.is_some() && self.followed_stable,
            floor_dbfs: self.floor_dbfs,
            noise_warning,
        }
    }
}

/// Suggestions kept for the stability check: one per 100 ms, up to 10 s.
const STABILITY_SLOTS: usize = 101;
/// Seconds between the suggestions the stability check compares.
const STABILITY_PERIOD_S: f64 = 0.1;
/// Length of the blocks the silence gate judges, seconds.
const GATE_BLOCK_S: f64 = 0.01;

/// The assistant's measurement.
pub struct Learner {
    config: LearnConfig,
    meter: StagingMeter,
    noise: NoiseFloor,
    phase: LearnPhase,
    sample_rate: f64,
    channels: usize,
    gate_mean_square: f64,
    gate_frames: usize,
    gate_pos: usize,
    gate_sum: f64,
    heard_blocks: u64,
    stability_frames: u64,
    stability_pos: u64,
    /// Suggestions (trim dB, NaN for none) at every stability period, newest at `next - 1`.
    history: [f32; STABILITY_SLOTS],
    next: usize,
    filled: usize,
    target: StagingTarget,
}

impl Learner {
    /// A learner for `engine` (sample rate, channels, VU reference, PPM...). Allocates.
    pub fn new(engine: EngineConfig, config: LearnConfig) -> Self {
        let sample_rate = engine.sample_rate;
        let channels = engine.channels.clamp(1, MAX_CHANNELS);
        Self {
            config,
            meter: StagingMeter::new(engine, StagingMeasures::all()),
            noise: NoiseFloor::new(sample_rate, channels),
            phase: LearnPhase::Idle,
            sample_rate,
            channels,
            gate_mean_square: db_to_power(f64::from(config.gate_dbfs)),
            gate_frames: ((GATE_BLOCK_S * sample_rate).round() as usize).max(1),
            gate_pos: 0,
            gate_sum: 0.0,
            heard_blocks: 0,
            stability_frames: ((STABILITY_PERIOD_S * sample_rate).round() as u64).max(1),
            stability_pos: 0,
            history: [f32::NAN; STABILITY_SLOTS],
            next: 0,
            filled: 0,
            target: StagingTarget::default(),
        }
    }

    /// Starts learning from nothing (Learn pressed, or Learn again). Never allocates.
    pub fn start(&mut self) {
        self.clear();
        self.phase = LearnPhase::Learning;
    }

    /// Stops measuring and keeps the suggestion (after Apply).
    pub fn freeze(&mut self) {
        if self.phase == LearnPhase::Learning {
            self.phase = LearnPhase::Frozen;
        }
    }

    /// Forgets everything and stops (a manual reset). Never allocates.
    pub fn reset(&mut self) {
        self.clear();
        self.phase = LearnPhase::Idle;
    }

    fn clear(&mut self) {
        self.meter.reset();
        self.noise.reset();
        self.gate_pos = 0;
        self.gate_sum = 0.0;
        self.heard_blocks = 0;
        self.stability_pos = 0;
        self.history = [f32::NAN; STABILITY_SLOTS];
        self.next = 0;
        self.filled = 0;
    }

    /// The target the stability check follows (the suggestion itself is computed for any target
    /// by [`status`](Self::status)).
    pub fn set_target(&mut self, target: StagingTarget) {
        if target != self.target {
            self.target = target;
            // Earlier suggestions were for another target: stability starts over.
            self.history = [f32::NAN; STABILITY_SLOTS];
            self.next = 0;
            self.filled = 0;
        }
    }

    /// Where the learner is.
    pub fn phase(&self) -> LearnPhase {
        self.phase
    }

    /// Measures one block (the signal before the trim) if learning and `playing`. Never
    /// allocates; the result does not depend on how the played signal is split into blocks.
    pub fn process(&mut self, block: &[&[f32]], playing: bool) {
        if self.phase != LearnPhase::Learning || !playing {
            return;
        }
        let block = &block[..block.len().min(self.channels)];
        self.meter.process(block);
        self.noise.process(block);
        let frames = block.first().map_or(0, |c| c.len());
        // The silence gate on its own 10 ms grid.
        let mut offset = 0;
        while offset < frames {
            let take = (self.gate_frames - self.gate_pos).min(frames - offset);
            for channel in block {
                self.gate_sum += channel[offset..offset + take]
                    .iter()
                    .map(|&s| f64::from(s) * f64::from(s))
                    .sum::<f64>();
            }
            self.gate_pos += take;
            offset += take;
            if self.gate_pos == self.gate_frames {
                let mean_square = self.gate_sum / (self.gate_frames * block.len().max(1)) as f64;
                if mean_square > self.gate_mean_square {
                    self.heard_blocks += 1;
                }
                self.gate_pos = 0;
                self.gate_sum = 0.0;
            }
        }
        // The stability record, every 100 ms of measured audio.
        self.stability_pos += frames as u64;
        while self.stability_pos >= self.stability_frames {
            self.stability_pos -= self.stability_frames;
            let trim = self
                .meter
                .suggestion(&self.target)
                .map_or(f32::NAN, |s| s.trim_db);
            self.history[self.next] = trim;
            self.next = (self.next + 1) % STABILITY_SLOTS;
            self.filled = (self.filled + 1).min(STABILITY_SLOTS);
        }
    }

    /// Seconds of non-silent material measured.
    pub fn heard_s(&self) -> f32 {
        (self.heard_blocks as f64 * self.gate_frames as f64 / self.sample_rate) as f32
    }

    /// Whether the suggestion for the followed target held within the tolerance over the
    /// stability window, after enough material.
    fn is_stable(&self) -> bool {
        if self.heard_s() < self.config.stable_after_s {
            return false;
        }
        let wanted =
            ((f64::from(self.config.stable_window_s) / STABILITY_PERIOD_S).round() as usize + 1)
                .clamp(2, STABILITY_SLOTS);
        if self.filled < wanted {
            return false;
        }
        let (mut lo, mut hi) = (f32::INFINITY, f32::NEG_INFINITY);
        for k in 1..=wanted {
            let v = self.history[(self.next + STABILITY_SLOTS - k) % STABILITY_SLOTS];
            if v.is_nan() {
                return false;
            }
            lo = lo.min(v);
            hi = hi.max(v);
        }
        hi - lo < self.config.stable_tolerance_db
    }

    /// The state for `target`: the suggestion, the confidence and the noise check. `None` as the
    /// suggestion until there is material. O(1) but for the VU average's bins; call it a few
    /// times a second, not per sample.
    pub fn status(&self, target: &StagingTarget) -> LearnStatus {
        self.snapshot().status(target)
    }

    /// Everything measured so far as a small `Copy` value, from which [`LearnSnapshot::status`]
    /// gives the state for any target (so a GUI can show the suggestion for a target the user
    /// just picked without asking the audio thread). Same cost as [`status`](Self::status).
    pub fn snapshot(&self) -> LearnSnapshot {
        LearnSnapshot {
            phase: self.phase,
            heard_s: self.heard_s(),
            has_material: self.heard_blocks > 0,
            averages_db: AverageMeasure::ALL.map(|m| self.meter.average_db(m)),
            peaks_db: PeakMeasure::ALL.map(|m| self.meter.peak_db(m)),
            floor_dbfs: self.noise.floor_dbfs(),
            noise_margin_db: self.config.noise_margin_db,
            followed: self.target,
            followed_stable: self.is_stable(),
        }
    }

    /// The measurement itself (for tests and displays).
    pub fn meter(&self) -> &StagingMeter {
        &self.meter
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;
    use crate::signals::{random_splits, white_noise};
    use crate::staging::{AverageMeasure, PeakMeasure};

    /// A seeded programme with pauses: noise phrases at changing levels, digital silence between.
    fn programme(rate: f64, seconds: f64, seed: u64) -> Vec<f32> {
        let frames = (rate * seconds) as usize;
        let noise = white_noise(frames, 1.0, seed);
        let mut levels = Rng::new(seed + 1);
        let phrase = (rate * 1.5) as usize;
        let mut gain = 0.0;
        (0..frames)
            .map(|n| {
                if n % phrase == 0 {
                    // Every third phrase is a pause; the others -30..-10 dBFS.
                    gain = if (n / phrase) % 3 == 2 {
                        0.0
                    } else {
                        10f32.powf((-30.0 + 20.0 * levels.next_unit()) / 20.0)
                    };
                }
                gain * noise[n]
            })
            .collect()
    }

    fn engine(rate: f64) -> EngineConfig {
        EngineConfig {
            sample_rate: rate,
            channels: 1,
            max_block: 4096,
            ..EngineConfig::default()
        }
    }

    fn targets() -> Vec<StagingTarget> {
        let mut all = Vec::new();
        for average in [
            AverageMeasure::Rms,
            AverageMeasure::Vu,
            AverageMeasure::Lufs,
        ] {
            for peak in [PeakMeasure::Sample, PeakMeasure::True] {
                all.push(StagingTarget {
                    target_db: -18.0,
                    average,
                    ceiling_db: -6.0,
                    peak,
                });
            }
        }
        all
    }

    /// Played in random blocks with the transport stopped now and then (those blocks hold other
    /// audio and are not measured): the suggestion equals the analysis of the played audio alone,
    /// bit for bit, for every average and peak measure.
    #[test]
    fn learning_equals_the_analysis_of_what_played_and_ignores_stops() {
        for rate in [44_100.0, 48_000.0, 96_000.0] {
            let signal = programme(rate, 16.0, 3);
            let mut analysis = StagingMeter::new(engine(rate), StagingMeasures::all());
            analysis.process(&[&signal]);

            let mut learner = Learner::new(engine(rate), LearnConfig::default());
            assert_eq!(learner.status(&StagingTarget::default()).suggestion, None);
            learner.start();
            let junk = white_noise(20_000, 0.9, 99);
            let mut offset = 0;
            for (i, len) in random_splits(signal.len(), 4096, 5).into_iter().enumerate() {
                if i % 7 == 3 {
                    // Stopped: the host still calls process() with whatever it has.
                    learner.process(&[&junk[..len.min(junk.len())]], false);
                }
                nice_assert_no_alloc::assert_no_alloc(|| {
                    learner.process(&[&signal[offset..offset + len]], true)
                });
                offset += len;
            }
            for target in targets() {
                assert_eq!(
                    learner.status(&target).suggestion,
                    analysis.suggestion(&target),
                    "{rate} Hz, {target:?}"
                );
            }
        }
    }

    /// Extra silence while playing moves the suggestion by less than 0.1 dB.
    #[test]
    fn silence_while_playing_does_not_shift_the_result() {
        let rate = 48_000.0;
        let signal = programme(rate, 16.0, 8);
        let (first, second) = signal.split_at(signal.len() / 2);
        let pause = vec![0.0f32; (rate * 4.0) as usize];
        let mut plain = Learner::new(engine(rate), LearnConfig::default());
        let mut paused = Learner::new(engine(rate), LearnConfig::default());
        plain.start();
        paused.start();
        plain.process(&[&signal], true);
        for part in [first, &pause, second] {
            paused.process(&[part], true);
        }
        for target in targets() {
            let a = plain.status(&target).suggestion.unwrap().trim_db;
            let b = paused.status(&target).suggestion.unwrap().trim_db;
            assert!((a - b).abs() < 0.1, "{target:?}: {a} vs {b}");
        }
        assert_eq!(plain.heard_s(), paused.heard_s(), "silence is not material");
    }

    #[test]
    fn confidence_stability_freeze_and_reset() {
        let rate = 48_000.0;
        let mut learner = Learner::new(engine(rate), LearnConfig::default());
        let target = StagingTarget::default();
        learner.set_target(target);
        // Not learning: nothing is measured.
        let steady = white_noise((rate * 14.0) as usize, 0.1, 4);
        learner.process(&[&steady], true);
        assert_eq!(learner.status(&target).heard_s, 0.0);
        learner.start();
        learner.process(&[&steady[..(rate * 5.0) as usize]], true);
        let early = learner.status(&target);
        assert!((early.heard_s - 5.0).abs() < 0.02, "{early:?}");
        assert!(
            early.suggestion.is_some() && !early.stable,
            "5 s is not enough"
        );
        learner.process(&[&steady[(rate * 5.0) as usize..]], true);
        let late = learner.status(&target);
        assert!(late.stable, "{late:?}");
        learner.freeze();
        learner.process(&[&vec![0.5f32; 48_000]], true);
        assert_eq!(
            learner.status(&target).suggestion,
            late.suggestion,
            "frozen"
        );
        assert_eq!(learner.phase(), LearnPhase::Frozen);
        learner.reset();
        assert_eq!(learner.status(&target).suggestion, None);
        assert_eq!(learner.phase(), LearnPhase::Idle);
    }

    #[test]
    fn a_noisy_source_is_flagged() {
        let rate = 48_000.0;
        // -20 dBFS phrases over a -55 dBFS hiss: 35 dB of margin.
        let hiss = white_noise(
            (rate * 12.0) as usize,
            10f32.powf(-55.0 / 20.0) * 3f32.sqrt(),
            2,
        );
        let tone = crate::signals::sine(rate, 220.0, -17.0, 12.0, 0.0);
        let signal: Vec<f32> = (0..hiss.len())
            .map(|n| hiss[n] + if (n / 48_000) % 2 == 0 { tone[n] } else { 0.0 })
            .collect();
        let mut learner = Learner::new(engine(rate), LearnConfig::default());
        learner.start();
        learner.process(&[&signal], true);
        let status = learner.status(&StagingTarget::default());
        let floor = status.floor_dbfs.unwrap();
        assert!((floor - -55.0).abs() < 1.5, "{floor}");
        assert!(
            matches!(status.noise_warning, Some(NoiseWarning::LowMargin { .. })),
            "{status:?}"
        );
    }
}
