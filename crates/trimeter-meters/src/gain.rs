//! The gain stage: input sanitizing, polarity, input trim, output makeup and a click-free bypass.
//!
//! Signal order (issue "foundation"): input -> sanitize -> polarity -> [input meters] -> trim ->
//! makeup -> bypass crossfade -> [output meters] -> output. The stage is split in two halves,
//! [`GainStage::process_input`] and [`GainStage::process_output`], so the caller can meter
//! between them.
//!
//! Every moving value is a [`Ramp`] stepped once per sample, so the output does not depend on
//! how the host splits the signal into blocks as long as the targets change at the same sample.

use super::meter::MAX_CHANNELS;
use super::samples::sanitize;
use super::units::db_to_amplitude;

/// How long a trim or makeup change takes. 72 dB (the full -36..+36 dB range) over 50 ms is
/// 0.030 dB per sample at 48 kHz, inside the 0.05 dB per sample bound that keeps automation free
/// of zipper noise.
pub const GAIN_RAMP_MS: f32 = 50.0;
/// How long the bypass crossfade takes.
pub const BYPASS_RAMP_MS: f32 = 10.0;
/// How long a polarity flip takes: the sign fades through zero instead of jumping, so flipping
/// polarity on a signal with DC or low bass does not click.
pub const POLARITY_RAMP_MS: f32 = 5.0;

/// A value that moves linearly to a new target over a fixed number of samples.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Ramp {
    /// The value now.
    current: f32,
    /// Where the ramp ends.
    target: f32,
    /// The change per sample while ramping.
    step: f32,
    /// Samples left until `current` reaches `target`.
    samples_left: u32,
    /// How many samples a full ramp takes at the prepared sample rate.
    ramp_samples: u32,
}

impl Ramp {
    /// A ramp resting at `value`, taking `ramp_samples` samples for each change.
    pub fn new(value: f32, ramp_samples: u32) -> Self {
        Self {
            current: value,
            target: value,
            step: 0.0,
            samples_left: 0,
            ramp_samples: ramp_samples.max(1),
        }
    }

    /// A ramp whose changes take `ramp_ms` at `sample_rate`.
    pub fn with_time(value: f32, ramp_ms: f32, sample_rate: f64) -> Self {
        Self::new(
            value,
            (f64::from(ramp_ms) * 1e-3 * sample_rate).round() as u32,
        )
    }

    /// Starts moving towards `target` (no-op when it is the current target).
    pub fn set_target(&mut self, target: f32) {
        if target == self.target || !target.is_finite() {
            return;
        }
        self.target = target;
        self.samples_left = self.ramp_samples;
        self.step = (target - self.current) / self.ramp_samples as f32;
    }

    /// Jumps to `value` at once.
    pub fn jump_to(&mut self, value: f32) {
        if value.is_finite() {
            self.current = value;
            self.target = value;
            self.samples_left = 0;
            self.step = 0.0;
        }
    }

    /// Advances one sample and returns the new value.
    #[inline]
    pub fn step(&mut self) -> f32 {
        if self.samples_left > 0 {
            self.samples_left -= 1;
            self.current = if self.samples_left == 0 {
                self.target
            } else {
                self.current + self.step
            };
        }
        self.current
    }

    /// The value now.
    pub fn value(&self) -> f32 {
        self.current
    }

    /// The value the ramp is moving to.
    pub fn target(&self) -> f32 {
        self.target
    }

    /// Whether the value is still moving.
    pub fn is_ramping(&self) -> bool {
        self.samples_left > 0
    }
}

/// What the gain stage should do, as set by parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GainTargets {
    /// Input trim in dB.
    pub trim_db: f32,
    /// Output makeup in dB.
    pub makeup_db: f32,
    /// Polarity inversion per channel.
    pub invert: [bool; MAX_CHANNELS],
    /// Whether the stage is bypassed (output = input, crossfaded).
    pub bypass: bool,
}

impl Default for GainTargets {
    fn default() -> Self {
        Self {
            trim_db: 0.0,
            makeup_db: 0.0,
            invert: [false; MAX_CHANNELS],
            bypass: false,
        }
    }
}

/// Input trim, output makeup, polarity and bypass on planar blocks.
#[derive(Clone, Debug)]
pub struct GainStage {
    /// Trim in dB, ramped.
    trim_db: Ramp,
    /// Makeup in dB, ramped.
    makeup_db: Ramp,
    /// Polarity factor per channel, ramped between +1 and -1.
    polarity: [Ramp; MAX_CHANNELS],
    /// How much of the processed signal reaches the output (1 = active, 0 = bypassed).
    wet: Ramp,
    /// The sanitized input of the current chunk, kept for the bypass crossfade.
    dry: Vec<Vec<f32>>,
    /// Frames the last [`process_input`](Self::process_input) call stored in `dry`.
    dry_frames: usize,
    /// Non-finite input samples replaced by zero since the last reset.
    non_finite_count: u64,
}

impl Default for GainStage {
    fn default() -> Self {
        Self::new()
    }
}

impl GainStage {
    /// An unprepared stage; call [`prepare`](Self::prepare) before processing.
    pub fn new() -> Self {
        Self {
            trim_db: Ramp::new(0.0, 1),
            makeup_db: Ramp::new(0.0, 1),
            polarity: [Ramp::new(1.0, 1); MAX_CHANNELS],
            wet: Ramp::new(1.0, 1),
            dry: Vec::new(),
            dry_frames: 0,
            non_finite_count: 0,
        }
    }

    /// Sizes the stage for `sample_rate` and chunks of up to `max_block` frames of `channels`
    /// channels, and jumps to `targets`. Allocates.
    pub fn prepare(
        &mut self,
        sample_rate: f64,
        max_block: usize,
        channels: usize,
        targets: &GainTargets,
    ) {
        self.trim_db = Ramp::with_time(0.0, GAIN_RAMP_MS, sample_rate);
        self.makeup_db = Ramp::with_time(0.0, GAIN_RAMP_MS, sample_rate);
        self.polarity = [Ramp::with_time(1.0, POLARITY_RAMP_MS, sample_rate); MAX_CHANNELS];
        self.wet = Ramp::with_time(1.0, BYPASS_RAMP_MS, sample_rate);
        self.dry = vec![vec![0.0; max_block.max(1)]; channels.clamp(1, MAX_CHANNELS)];
        self.reset(targets);
    }

    /// The largest chunk [`process_input`](Self::process_input) accepts.
    pub fn max_chunk(&self) -> usize {
        self.dry.first().map_or(0, Vec::len)
    }

    /// Jumps every ramp to `targets` and clears the counters.
    pub fn reset(&mut self, targets: &GainTargets) {
        self.for_each_ramp(targets, Ramp::jump_to);
        self.dry_frames = 0;
        self.non_finite_count = 0;
    }

    /// Sets new targets; the ramps take them from the next sample on.
    pub fn set_targets(&mut self, targets: &GainTargets) {
        self.for_each_ramp(targets, Ramp::set_target);
    }

    /// Hands every ramp the value it should move to for `targets`.
    fn for_each_ramp(&mut self, targets: &GainTargets, mut apply: impl FnMut(&mut Ramp, f32)) {
        apply(&mut self.trim_db, targets.trim_db);
        apply(&mut self.makeup_db, targets.makeup_db);
        for (ramp, &invert) in self.polarity.iter_mut().zip(&targets.invert) {
            apply(ramp, if invert { -1.0 } else { 1.0 });
        }
        apply(&mut self.wet, if targets.bypass { 0.0 } else { 1.0 });
    }

    /// Clears the count of non-finite input samples only (the ramps go on). Never allocates.
    pub fn reset_non_finite_count(&mut self) {
        self.non_finite_count = 0;
    }

    /// Non-finite input samples replaced by zero since the last reset.
    pub fn non_finite_count(&self) -> u64 {
        self.non_finite_count
    }

    /// The trim and makeup in dB right now (after ramping), for display.
    pub fn current_gain_db(&self) -> (f32, f32) {
        (self.trim_db.value(), self.makeup_db.value())
    }

    /// First half: replaces non-finite and subnormal samples by zero (counting the non-finite
    /// ones), keeps a copy of the clean input for the bypass crossfade, and applies polarity.
    /// Afterwards `block` holds the input-meter signal.
    ///
    /// Processes at most [`max_chunk`](Self::max_chunk) frames and returns how many it
    /// processed: the caller loops over longer blocks. Channels beyond the prepared count are
    /// left alone.
    pub fn process_input(&mut self, block: &mut [&mut [f32]]) -> usize {
        let frames = block.first().map_or(0, |c| c.len()).min(self.max_chunk());
        for (channel, (samples, dry)) in block.iter_mut().zip(self.dry.iter_mut()).enumerate() {
            let samples = &mut samples[..frames];
            self.non_finite_count += sanitize(samples);
            dry[..frames].copy_from_slice(samples);
            let polarity = &mut self.polarity[channel];
            if polarity.is_ramping() || polarity.value() != 1.0 {
                for sample in samples.iter_mut() {
                    *sample *= polarity.step();
                }
            }
        }
        self.dry_frames = frames;
        frames
    }

    /// Second half: applies trim and makeup and crossfades with the clean input when bypass is
    /// moving or engaged. `block` must be the same chunk [`process_input`](Self::process_input)
    /// just handled; afterwards it holds the output (and the output-meter signal).
    pub fn process_output(&mut self, block: &mut [&mut [f32]]) {
        let frames = self.dry_frames.min(block.first().map_or(0, |c| c.len()));
        let ramping =
            self.trim_db.is_ramping() || self.makeup_db.is_ramping() || self.wet.is_ramping();
        if !ramping {
            // The common case: one constant factor per block.
            let gain = db_to_amplitude(self.trim_db.value() + self.makeup_db.value());
            let wet = self.wet.value();
            for (samples, dry) in block.iter_mut().zip(&self.dry) {
                let samples = &mut samples[..frames];
                if wet == 1.0 {
                    if gain != 1.0 {
                        samples.iter_mut().for_each(|s| *s *= gain);
                    }
                } else if wet == 0.0 {
                    samples.copy_from_slice(&dry[..frames]);
                } else {
                    for (s, &d) in samples.iter_mut().zip(&dry[..frames]) {
                        *s = wet * gain * *s + (1.0 - wet) * d;
                    }
                }
            }
            return;
        }
        // While anything moves, every channel must see the same per-sample gain, so step the
        // ramps once per frame and apply across channels.
        for frame in 0..frames {
            let gain = db_to_amplitude(self.trim_db.step() + self.makeup_db.step());
            let wet = self.wet.step();
            for (samples, dry) in block.iter_mut().zip(&self.dry) {
                if let (Some(s), Some(&d)) = (samples.get_mut(frame), dry.get(frame)) {
                    *s = wet * gain * *s + (1.0 - wet) * d;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signals;

    fn run(stage: &mut GainStage, planar: &mut [Vec<f32>], splits: &[usize]) {
        let mut offset = 0;
        for &len in splits {
            let mut chunk_done = 0;
            while chunk_done < len {
                let start = offset + chunk_done;
                let end = offset + len;
                let mut block: Vec<&mut [f32]> =
                    planar.iter_mut().map(|c| &mut c[start..end]).collect();
                let done = nice_assert_no_alloc::assert_no_alloc(|| {
                    let done = stage.process_input(&mut block);
                    stage.process_output(&mut block);
                    done
                });
                chunk_done += done;
                if done == 0 {
                    break;
                }
            }
            offset += len;
        }
    }

    fn targets(trim_db: f32, makeup_db: f32) -> GainTargets {
        GainTargets {
            trim_db,
            makeup_db,
            ..GainTargets::default()
        }
    }

    #[test]
    fn applies_trim_plus_makeup_exactly() {
        let mut stage = GainStage::new();
        stage.prepare(48_000.0, 64, 2, &targets(6.0, -2.0));
        let input = signals::sine(48_000.0, 997.0, -20.0, 0.5, 0.0);
        let frames = input.len();
        let mut planar = vec![input.clone(), input.clone()];
        run(&mut stage, &mut planar, &[frames]);
        let gain = db_to_amplitude(4.0);
        for (out, inp) in planar[0].iter().zip(&input) {
            assert!((out - inp * gain).abs() <= 1e-6, "{out} vs {}", inp * gain);
        }
    }

    /// A stage prepared at 0 dB and then set to +12 dB trim, -3 dB makeup and both polarities
    /// inverted, so that every ramp runs from the start.
    fn flipped_stage(sr: f64, max_block: usize) -> GainStage {
        let mut stage = GainStage::new();
        stage.prepare(sr, max_block, 2, &targets(0.0, 0.0));
        stage.set_targets(&GainTargets {
            trim_db: 12.0,
            makeup_db: -3.0,
            invert: [true; MAX_CHANNELS],
            bypass: false,
        });
        stage
    }

    #[test]
    fn output_does_not_depend_on_block_splits() {
        let sr = 44_100.0;
        let input = signals::white_noise(30_000, 0.5, 7);
        let reference = {
            let mut planar = vec![input.clone(), input.clone()];
            run(&mut flipped_stage(sr, 16384), &mut planar, &[input.len()]);
            planar
        };
        for (max_block, splits) in [
            (1, vec![1; 30_000]),
            (7, signals::random_splits(30_000, 7, 1)),
            (64, signals::random_splits(30_000, 300, 2)),
            (4096, vec![4096; 7].into_iter().chain([1328]).collect()),
        ] {
            let mut planar = vec![input.clone(), input.clone()];
            run(&mut flipped_stage(sr, max_block), &mut planar, &splits);
            assert_eq!(planar, reference, "max_block {max_block}");
        }
    }

    #[test]
    fn automation_never_steps_more_than_the_smoothing_bound() {
        for sr in [44_100.0, 48_000.0, 96_000.0] {
            let mut stage = GainStage::new();
            stage.prepare(sr, 512, 1, &targets(-36.0, 0.0));
            stage.set_targets(&targets(36.0, 0.0));
            // A DC input makes the output equal to the gain itself.
            let frames = (sr * 0.1) as usize;
            let mut planar = vec![vec![1e-3f32; frames]];
            run(&mut stage, &mut planar, &[frames]);
            let max_step_db = planar[0]
                .windows(2)
                .map(|w| (20.0 * (w[1] / w[0]).log10()).abs())
                .fold(0.0f32, f32::max);
            let bound = 0.05 * 48_000.0 / sr as f32;
            assert!(max_step_db <= bound, "{sr}: {max_step_db} dB per sample");
            let end_db = 20.0 * (planar[0].last().unwrap() / 1e-3).log10();
            assert!((end_db - 36.0).abs() < 1e-3, "ramp reached {end_db}");
        }
    }

    #[test]
    fn non_finite_and_subnormal_input_become_zero_and_are_counted() {
        let mut stage = GainStage::new();
        stage.prepare(48_000.0, 8, 2, &targets(36.0, 36.0));
        let mut planar = vec![
            vec![f32::NAN, 1e30, f32::INFINITY, 1e-40, -0.0, 0.5],
            vec![
                f32::NEG_INFINITY,
                -1e30,
                0.25,
                f32::MIN_POSITIVE / 4.0,
                0.0,
                0.0,
            ],
        ];
        run(&mut stage, &mut planar, &[6]);
        assert_eq!(stage.non_finite_count(), 3);
        assert!(planar.iter().flatten().all(|s| s.is_finite()));
        assert_eq!(planar[0][0], 0.0);
        assert_eq!(planar[0][3], 0.0);
        assert_eq!(planar[1][3], 0.0);
        assert!(planar[0][1] > 1e30 && planar[1][1] < -1e30);
        assert!(planar
            .iter()
            .flatten()
            .all(|s| *s == 0.0 || s.abs() >= f32::MIN_POSITIVE));
    }

    #[test]
    fn bypass_crossfades_without_a_jump_and_then_passes_input_untouched() {
        let sr = 48_000.0;
        let mut stage = GainStage::new();
        stage.prepare(
            sr,
            256,
            1,
            &GainTargets {
                trim_db: 12.0,
                invert: [true; MAX_CHANNELS],
                ..GainTargets::default()
            },
        );
        stage.set_targets(&GainTargets {
            trim_db: 12.0,
            invert: [true; MAX_CHANNELS],
            bypass: true,
            ..GainTargets::default()
        });
        let input = vec![0.25f32; 4800];
        let mut planar = vec![input.clone()];
        run(&mut stage, &mut planar, &[4800]);
        // Wet is -0.25 * 4 = -1.0, dry is 0.25: the fade moves at most 1.25 / 480 per sample.
        let max_jump = planar[0]
            .windows(2)
            .map(|w| (w[1] - w[0]).abs())
            .fold(0.0f32, f32::max);
        assert!(max_jump < 1.25 / 480.0 * 1.01, "jump {max_jump}");
        assert_eq!(&planar[0][480..], &input[480..]);
    }

    #[test]
    fn polarity_flip_fades_through_zero() {
        let mut stage = GainStage::new();
        stage.prepare(48_000.0, 1024, 2, &GainTargets::default());
        let mut invert = [false; MAX_CHANNELS];
        invert[1] = true;
        stage.set_targets(&GainTargets {
            invert,
            ..GainTargets::default()
        });
        let mut planar = vec![vec![0.5f32; 1000], vec![0.5f32; 1000]];
        run(&mut stage, &mut planar, &[1000]);
        assert!(planar[0].iter().all(|&s| s == 0.5));
        assert_eq!(planar[1][999], -0.5);
        let max_jump = planar[1]
            .windows(2)
            .map(|w| (w[1] - w[0]).abs())
            .fold(0.0f32, f32::max);
        assert!(max_jump <= 1.0 / 240.0 * 1.01, "jump {max_jump}");
    }
}
