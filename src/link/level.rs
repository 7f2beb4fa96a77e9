//! The levels both ends of a link compare, in the same units from the same meters: the Start's
//! come from its input engine, the End's from a small meter on its output before the match stage
//! (only the selected measure runs there).

use trimeter_link::{Levels, MEASURES, RMS, SHORT_TERM, VU};
use trimeter_meters::engine::{EngineConfig, MeterSnapshot};
use trimeter_meters::loudness::LoudnessMeter;
use trimeter_meters::meter::Meter;
use trimeter_meters::rms::{RmsConfig, RmsMeter, AES17_OFFSET_DB};
use trimeter_meters::vu::{VuConfig, VuMeter};

use super::params::MatchMeasure;

/// The published levels of an engine's snapshot: short-term loudness (LUFS), AES17 RMS (power
/// mean of the channels, dBFS) and VU (highest channel, as the dBFS of the sine that reads the
/// same, so instances with different VU references compare).
pub fn snapshot_levels(s: &MeterSnapshot, vu_reference_dbfs: f32) -> Levels {
    let n = s.channels.max(1);
    let mut levels = [f32::NEG_INFINITY; MEASURES];
    levels[SHORT_TERM] = s.loudness.short_term_lufs;
    levels[RMS] = s.rms.combined_current_dbfs(n) + AES17_OFFSET_DB;
    levels[VU] = s.vu.vu[..n]
        .iter()
        .copied()
        .fold(f32::NEG_INFINITY, f32::max)
        + vu_reference_dbfs;
    levels
}

/// The End's meter on its output before the match stage.
#[derive(Debug)]
pub struct PrematchMeter {
    measure: MatchMeasure,
    channels: usize,
    loudness: LoudnessMeter,
    rms: RmsMeter,
    vu: VuMeter,
    /// Frames measured since the last reset or change of measure.
    heard_frames: u64,
    /// Frames the selected measure needs before its reading covers a full window, per measure
    /// (short-term loudness, AES17 RMS, VU).
    settle_frames: [u64; 3],
}

/// The VU reference the pre-match meter runs with; readings are converted to dBFS with it.
const VU_REFERENCE_DBFS: f32 = -18.0;

impl Default for PrematchMeter {
    fn default() -> Self {
        Self {
            measure: MatchMeasure::ShortTerm,
            channels: 1,
            loudness: LoudnessMeter::new(),
            // The engine's RMS window, so both ends integrate alike.
            rms: RmsMeter::new(RmsConfig {
                window_ms: EngineConfig::default().rms_window_ms,
            }),
            vu: VuMeter::new(VuConfig {
                reference_dbfs: VU_REFERENCE_DBFS,
            }),
            heard_frames: 0,
            settle_frames: [0; 3],
        }
    }
}

/// How long each measure needs after a reset before its reading stands for the signal:
/// short-term loudness integrates 3 s; the RMS its window; the VU's ballistics reach 99 % in
/// 300 ms, given twice that. Seconds.
fn settle_s(measure: MatchMeasure, rms_window_ms: f32) -> f64 {
    match measure {
        MatchMeasure::ShortTerm => 3.0,
        MatchMeasure::Rms => f64::from(rms_window_ms) / 1000.0,
        MatchMeasure::Vu => 0.6,
    }
}

impl PrematchMeter {
    /// Prepares every measure for `sample_rate` and `channels`. Allocates.
    pub fn prepare(&mut self, sample_rate: f64, channels: usize) {
        self.channels = channels.max(1);
        self.loudness.prepare(sample_rate, self.channels);
        self.rms.prepare(sample_rate, self.channels);
        self.vu.prepare(sample_rate, self.channels);
        let rms_window_ms = EngineConfig::default().rms_window_ms;
        for measure in MatchMeasure::ALL {
            self.settle_frames[measure.index()] =
                (settle_s(measure, rms_window_ms) * sample_rate).ceil() as u64;
        }
        self.heard_frames = 0;
    }

    /// Clears the readings.
    pub fn reset(&mut self) {
        self.loudness.reset();
        self.rms.reset();
        self.vu.reset();
        self.heard_frames = 0;
    }

    /// Whether the selected measure has run for a full window since it last started from
    /// silence. Until then it reads low against a Start whose meters ran all along, so the link
    /// neither shows a difference nor follows one.
    pub fn is_settled(&self) -> bool {
        self.heard_frames >= self.settle_frames[self.measure.index()]
    }

    /// Selects the measure; a change starts it from silence. Real-time safe.
    pub fn set_measure(&mut self, measure: MatchMeasure) {
        if measure != self.measure {
            self.measure = measure;
            self.reset();
        }
    }

    /// The measure in use.
    pub fn measure(&self) -> MatchMeasure {
        self.measure
    }

    /// Runs the selected measure over `block` (the prepared channel count). Real-time safe.
    pub fn process(&mut self, block: &[&[f32]]) {
        let block = &block[..block.len().min(self.channels)];
        self.heard_frames += block.first().map_or(0, |c| c.len()) as u64;
        match self.measure {
            MatchMeasure::ShortTerm => self.loudness.process(block),
            MatchMeasure::Rms => self.rms.process(block),
            MatchMeasure::Vu => self.vu.process(block),
        }
    }

    /// The selected measure's level now, in the units of [`snapshot_levels`].
    pub fn level_db(&self) -> f32 {
        let n = self.channels;
        match self.measure {
            MatchMeasure::ShortTerm => self.loudness.read().short_term_lufs,
            MatchMeasure::Rms => self.rms.read().combined_current_dbfs(n) + AES17_OFFSET_DB,
            MatchMeasure::Vu => {
                self.vu.read().vu[..n]
                    .iter()
                    .copied()
                    .fold(f32::NEG_INFINITY, f32::max)
                    + VU_REFERENCE_DBFS
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use trimeter_meters::{signals, MeterEngine};

    /// The pre-match meter and the engine read the same signal alike in every measure, so a
    /// Start and an End on the same signal see no difference.
    #[test]
    fn prematch_meter_reads_what_the_engine_reads() {
        let rate = 48_000.0;
        let left = signals::white_noise(rate as usize * 4, 0.3, 1);
        let right = signals::white_noise(rate as usize * 4, 0.2, 2);
        let mut engine = MeterEngine::new(EngineConfig {
            vu_reference_dbfs: -14.0,
            ..EngineConfig::default()
        });
        engine.process(&[&left, &right]);
        let levels = snapshot_levels(&engine.snapshot(), -14.0);
        for measure in MatchMeasure::ALL {
            let mut meter = PrematchMeter::default();
            meter.prepare(rate, 2);
            meter.set_measure(measure);
            for (l, r) in left.chunks(500).zip(right.chunks(500)) {
                meter.process(&[l, r]);
            }
            let difference = meter.level_db() - levels[measure.index()];
            assert!(difference.abs() < 0.05, "{measure:?}: {difference} dB");
            assert!(levels[measure.index()] > -30.0, "{levels:?}");
        }
    }
}
