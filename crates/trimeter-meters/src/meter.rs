//! The one lifecycle every meter follows.

/// The most channels any meter handles. Per-channel readings are fixed-size arrays of this length
/// so that a reading is `Copy` and can be handed between threads without allocating.
pub const MAX_CHANNELS: usize = 8;

/// A level meter.
///
/// Lifecycle and real-time contract, the same for every meter:
/// - [`prepare`](Meter::prepare) may allocate. It must be called before the first
///   [`process`](Meter::process) and whenever the sample rate or the channel count changes, and
///   it resets all state. Settings that change what the state means (the RMS window, the
///   true-peak over-sampling mode) are given at construction and take effect at the next
///   `prepare`.
/// - No meter needs memory that grows with the block length: state is sized by the sample rate
///   and the channel count alone, so [`process`](Meter::process) accepts any block length (0 and
///   16384 frames included) without allocating, and a caller's maximum block length (the engine's
///   `EngineConfig::max_block`) sizes only the caller's own scratch.
/// - [`process`](Meter::process) never allocates, locks, waits or panics, and the readings after
///   a signal do not depend on how that signal was split into blocks.
/// - Live settings (the VU reference, the PPM type, the over ceiling, the loudness channel
///   weights) change through `set_*` methods. Every one of them keeps all state (ballistics,
///   windows, maxima, counters) and applies from the next sample on; a caller who wants fresh
///   readings calls [`reset`](Meter::reset) as well. Setters that derive coefficients say so and
///   belong on a non-real-time thread.
/// - [`read`](Meter::read) is cheap (O(1), no dependency on how much audio was processed).
/// - Input samples are finite. The engine replaces non-finite samples with 0 (and counts them)
///   before any meter sees them; a meter must still never produce a non-finite reading from
///   finite input of any magnitude (1e30 included).
pub trait Meter {
    /// What [`read`](Meter::read) returns: a small `Copy` value in the units people use.
    type Reading: Copy + Default;

    /// Sets the meter up for a sample rate (Hz) and a channel count (1..=[`MAX_CHANNELS`]).
    /// Resets all state.
    fn prepare(&mut self, sample_rate: f64, channels: usize);

    /// Clears all state (ballistics, windows, maxima, counters) as if nothing had been processed.
    fn reset(&mut self);

    /// Processes one block of planar audio: `block[channel][frame]`. All channel slices have the
    /// same length; `block.len()` equals the prepared channel count.
    fn process(&mut self, block: &[&[f32]]);

    /// The current reading.
    fn read(&self) -> Self::Reading;
}

/// The frames every one of the first `channels` channels of `block` has: the shortest length
/// (0 for none).
#[inline(always)]
pub(crate) fn common_frames(block: &[&[f32]], channels: usize) -> usize {
    block
        .iter()
        .take(channels)
        .map(|c| c.len())
        .min()
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    //! The contract above, checked for every meter with one generic test.

    use std::fmt::Debug;

    use super::*;
    use crate::loudness::LoudnessMeter;
    use crate::peak::{PeakConfig, PeakReading, SamplePeakMeter};
    use crate::ppm::{PpmMeter, PpmType};
    use crate::rms::{RmsConfig, RmsMeter};
    use crate::signals::{random_splits, white_noise};
    use crate::true_peak::{TruePeakMeter, TruePeakMode};
    use crate::vu::{VuConfig, VuMeter};

    /// Runs `signal` (stereo) through a copy of `meter` in blocks of `splits` under the
    /// allocation guard and returns the reading.
    fn run<M: Meter + Clone>(meter: &M, signal: &[Vec<f32>; 2], splits: &[usize]) -> M::Reading {
        let mut meter = meter.clone();
        let mut offset = 0;
        for &len in splits {
            let block = [
                &signal[0][offset..offset + len],
                &signal[1][offset..offset + len],
            ];
            nice_assert_no_alloc::assert_no_alloc(|| meter.process(&block));
            offset += len;
        }
        meter.read()
    }

    /// `block_max` clears what a reading says about the most recent block alone (which depends
    /// on the split by definition).
    fn check<M>(name: &str, mut meter: M, block_max: fn(&mut M::Reading))
    where
        M: Meter + Clone,
        M::Reading: PartialEq + Debug,
    {
        for rate in [8_000.0, 48_000.0, 768_000.0] {
            meter.prepare(rate, 2);
            let frames = (rate * 0.75) as usize;
            let signal = [white_noise(frames, 0.5, 1), white_noise(frames, 0.25, 2)];
            let whole_run = |meter: &M, splits: &[usize]| {
                let mut reading = run(meter, &signal, splits);
                block_max(&mut reading);
                reading
            };
            let whole = whole_run(&meter, &[frames]);
            for splits in [
                vec![1; frames.min(5000)]
                    .into_iter()
                    .chain([frames - frames.min(5000)])
                    .collect::<Vec<_>>(),
                random_splits(frames, 16_384, 3),
                (0..frames)
                    .step_by(16_384)
                    .map(|start| (frames - start).min(16_384))
                    .collect(),
                [0, 7, 0].into_iter().chain([frames - 7]).collect(),
            ] {
                assert_eq!(whole_run(&meter, &splits), whole, "{name} at {rate} Hz");
            }
            // reset() returns to the state after prepare().
            let mut used = meter.clone();
            used.process(&[&signal[0], &signal[1]]);
            used.reset();
            assert_eq!(used.read(), meter.read(), "{name} reset at {rate} Hz");
            assert_eq!(whole_run(&used, &[frames]), whole, "{name} after reset");
        }
    }

    #[test]
    fn every_meter_takes_any_block_length_without_allocating_and_resets_alike() {
        let peak_block = |r: &mut PeakReading| r.block_max_db = [0.0; MAX_CHANNELS];
        let peak = PeakConfig::default();
        check("sample peak", SamplePeakMeter::new(peak), peak_block);
        let standard = TruePeakMeter::new(TruePeakMode::Standard, peak);
        check("true peak", standard, peak_block);
        let precise = TruePeakMeter::new(TruePeakMode::Precise, peak);
        check("true peak precise", precise, peak_block);
        check("rms", RmsMeter::new(RmsConfig::default()), |_| {});
        check("vu", VuMeter::new(VuConfig::default()), |_| {});
        check("ppm type I", PpmMeter::new(PpmType::TypeI), |_| {});
        check("ppm type II", PpmMeter::new(PpmType::TypeII), |_| {});
        check("loudness", LoudnessMeter::new(), |_| {});
    }

    /// Live settings keep the state: a meter whose setting is changed to the value it already
    /// has reads exactly as one left alone, and a real change does not clear the maxima.
    #[test]
    fn live_settings_keep_state() {
        let signal = white_noise(48_000, 0.5, 9);
        let block = [&signal[..]];

        let mut vu = VuMeter::new(VuConfig::default());
        vu.prepare(48_000.0, 1);
        vu.process(&block);
        let (before, mut same) = (vu.read(), vu.clone());
        same.set_reference_dbfs(vu.reference_dbfs());
        assert_eq!(same.read(), before);
        vu.set_reference_dbfs(-20.0);
        assert!(vu.read().max_vu[0] > f32::NEG_INFINITY);

        let mut ppm = PpmMeter::new(PpmType::TypeII);
        ppm.prepare(48_000.0, 1);
        ppm.process(&block);
        let mut same = ppm.clone();
        same.set_type(PpmType::TypeII);
        assert_eq!(same.read(), ppm.read());

        let mut peak = SamplePeakMeter::new(PeakConfig::default());
        peak.prepare(48_000.0, 1);
        peak.process(&block);
        let before = peak.read();
        peak.set_ceiling_db(-40.0);
        assert_eq!(peak.read().max_db, before.max_db);

        let mut loudness = LoudnessMeter::new();
        loudness.prepare(48_000.0, 1);
        loudness.process(&block);
        let before = loudness.read();
        loudness.set_channel_weights(Some(&[1.0]));
        assert_eq!(loudness.read(), before);
    }
}
