//! What a suggested trim is computed from: the engine's whole-signal figures, the mean VU
//! deflection sampled every 10 ms, and a precise true peak for true-peak ceilings. One type, so
//! the command-line tool (`trimeter analyze`) and the plugin's assistant measure the same audio
//! the same way and suggest the same trim.

use super::{AverageMeasure, PeakMeasure, StagingTarget, Suggestion};
use crate::engine::{EngineConfig, MeterEngine};
use crate::meter::Meter;
use crate::peak::PeakConfig;
use crate::true_peak::{TruePeakMeter, TruePeakMode};
use crate::units::db_to_amplitude_f64;

/// How often the VU reading is sampled for the VU average, in seconds.
pub const VU_SAMPLE_PERIOD_S: f64 = 0.010;

/// For the VU average: readings whose level (`vu_reference + VU`, in dBFS) is below this are
/// silence (or dither) and left out before anything else.
pub const VU_ABSOLUTE_GATE_DBFS: f64 = -70.0;

/// For the VU average: readings more than this many dB below the mean deflection of the readings
/// above [`VU_ABSOLUTE_GATE_DBFS`] are left out (20 dB: the span of the classic VU scale,
/// IEC 60268-17). Relative to the material, so a gain moves the measure by exactly that gain.
pub const VU_RELATIVE_GATE_DB: f64 = 20.0;

/// Width of the level bins [`VuAverage`] collects readings in, in dB.
const VU_BIN_DB: f64 = 0.01;

/// Levels above this (dBFS) share the top bin; only the relative gate looks at bins.
const VU_TOP_DBFS: f64 = 80.0;

/// The mean VU deflection over the non-silent part of a signal, with a gate relative to the
/// material (like BS.1770's relative gate): readings below [`VU_ABSOLUTE_GATE_DBFS`] are left out,
/// then readings more than [`VU_RELATIVE_GATE_DB`] below the mean deflection of the rest.
///
/// Readings are collected in fixed level bins (sum of deflections and count per bin), so memory
/// is constant whatever the signal's length; the relative gate is resolved to [`VU_BIN_DB`].
#[derive(Clone, Debug)]
pub struct VuAverage {
    /// Per bin of level: the sum of deflections (linear, relative to 0 VU) and the reading count.
    bins: Vec<(f64, u64)>,
}

impl Default for VuAverage {
    fn default() -> Self {
        let bins = ((VU_TOP_DBFS - VU_ABSOLUTE_GATE_DBFS) / VU_BIN_DB).ceil() as usize + 1;
        Self {
            bins: vec![(0.0, 0); bins],
        }
    }
}

impl VuAverage {
    /// Adds one reading: `vu` in VU against a reference of `reference_dbfs`. Never allocates.
    pub fn add(&mut self, reference_dbfs: f32, vu: f32) {
        let level = f64::from(reference_dbfs) + f64::from(vu);
        // NaN and minus infinity (the pointer at or below rest) are left out too.
        if level.is_nan() || level < VU_ABSOLUTE_GATE_DBFS {
            return;
        }
        let index =
            (((level - VU_ABSOLUTE_GATE_DBFS) / VU_BIN_DB) as usize).min(self.bins.len() - 1);
        let bin = &mut self.bins[index];
        // Deflection is proportional to voltage: average linear amplitude, not dB.
        bin.0 += db_to_amplitude_f64(f64::from(vu));
        bin.1 += 1;
    }

    /// Forgets every reading.
    pub fn reset(&mut self) {
        self.bins.fill((0.0, 0));
    }

    /// The gated mean deflection in dBFS (`reference_dbfs + VU`); minus infinity when no reading
    /// passed the absolute gate. O(bins).
    pub fn average_dbfs(&self, reference_dbfs: f32) -> f32 {
        let mean_from = |first: usize| {
            let (sum, count) = self.bins[first..]
                .iter()
                .fold((0.0, 0u64), |(s, c), &(bs, bc)| (s + bs, c + bc));
            (count > 0).then(|| f64::from(reference_dbfs) + 20.0 * (sum / count as f64).log10())
        };
        let Some(ungated) = mean_from(0) else {
            return f32::NEG_INFINITY;
        };
        // The first bin whose centre lies at or above the relative gate.
        let gate = ungated - VU_RELATIVE_GATE_DB;
        let first = ((gate - VU_ABSOLUTE_GATE_DBFS) / VU_BIN_DB - 0.5)
            .ceil()
            .clamp(0.0, (self.bins.len() - 1) as f64) as usize;
        mean_from(first).unwrap_or(ungated) as f32
    }
}

/// Which optional measurements a [`StagingMeter`] runs besides the engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StagingMeasures {
    /// Sample the VU reading every 10 ms into a [`VuAverage`] (for [`AverageMeasure::Vu`]).
    pub vu_average: bool,
    /// Run a Precise true-peak meter when the engine's own is Standard (for
    /// [`PeakMeasure::True`]: a copy staged to a true-peak ceiling must not exceed it by the
    /// Standard mode's under-read, up to 2.5 dB near 20 kHz at 44.1 kHz).
    pub precise_true_peak: bool,
}

impl StagingMeasures {
    /// Exactly what `target` needs.
    pub fn for_target(target: &StagingTarget) -> Self {
        Self {
            vu_average: target.average == AverageMeasure::Vu,
            precise_true_peak: target.peak == PeakMeasure::True,
        }
    }

    /// Everything, for a caller whose target may change while it measures.
    pub fn all() -> Self {
        Self {
            vu_average: true,
            precise_true_peak: true,
        }
    }
}

/// The engine plus the measures a gain-staging suggestion needs.
pub struct StagingMeter {
    engine: MeterEngine,
    precise_true_peak: Option<TruePeakMeter>,
    vu_average: Option<VuAverage>,
    /// Frames since reset.
    position: u64,
    /// Index of the next VU sample (1-based); it falls at `round(k * 10 ms * rate)` frames.
    vu_k: u64,
    next_vu: u64,
}

impl StagingMeter {
    /// A meter for `config` that runs `measures` as well. Allocates.
    pub fn new(config: EngineConfig, measures: StagingMeasures) -> Self {
        let engine = MeterEngine::new(config);
        let precise_true_peak = (measures.precise_true_peak
            && config.true_peak_mode != TruePeakMode::Precise)
            .then(|| {
                let mut meter = TruePeakMeter::new(TruePeakMode::Precise, PeakConfig::default());
                meter.prepare(config.sample_rate, config.channels);
                meter
            });
        let mut meter = Self {
            engine,
            precise_true_peak,
            vu_average: measures.vu_average.then(VuAverage::default),
            position: 0,
            vu_k: 1,
            next_vu: 0,
        };
        meter.next_vu = meter.vu_frame(1);
        meter
    }

    fn vu_frame(&self, k: u64) -> u64 {
        // Rounded from the index, not accumulated, so the grid does not drift.
        (k as f64 * VU_SAMPLE_PERIOD_S * self.engine.config().sample_rate).round() as u64
    }

    /// Forgets everything measured.
    pub fn reset(&mut self) {
        self.engine.reset();
        if let Some(meter) = self.precise_true_peak.as_mut() {
            meter.reset();
        }
        if let Some(average) = self.vu_average.as_mut() {
            average.reset();
        }
        self.position = 0;
        self.vu_k = 1;
        self.next_vu = self.vu_frame(1);
    }

    /// Measures one planar block of any length (cut internally at the 10 ms VU grid). Never
    /// allocates; the result does not depend on how a signal is split into calls.
    pub fn process(&mut self, block: &[&[f32]]) {
        let frames = block.first().map_or(0, |c| c.len());
        let channels = block.len().min(crate::meter::MAX_CHANNELS);
        let mut offset = 0;
        while offset < frames {
            let mut end = frames;
            if self.vu_average.is_some() {
                let until = usize::try_from(self.next_vu.saturating_sub(self.position))
                    .unwrap_or(usize::MAX);
                end = end.min(offset.saturating_add(until.max(1)));
            }
            let mut views: [&[f32]; crate::meter::MAX_CHANNELS] = [&[]; crate::meter::MAX_CHANNELS];
            for (view, channel) in views.iter_mut().zip(block) {
                *view = channel.get(offset..end).unwrap_or(&[]);
            }
            self.engine.process(&views[..channels]);
            if let Some(meter) = self.precise_true_peak.as_mut() {
                meter.process(&views[..channels]);
            }
            self.position += (end - offset) as u64;
            offset = end;
            if self.position == self.next_vu {
                if let Some(average) = self.vu_average.as_mut() {
                    let reference = self.engine.config().vu_reference_dbfs;
                    average.add(reference, self.engine.instant().vu);
                }
                self.vu_k += 1;
                self.next_vu = self.vu_frame(self.vu_k);
            }
        }
    }

    /// The engine (for its summary, instant readings and interval peaks).
    pub fn engine(&self) -> &MeterEngine {
        &self.engine
    }

    /// The engine, for calls that start a new interval ([`MeterEngine::take_interval_peaks`]).
    pub fn engine_mut(&mut self) -> &mut MeterEngine {
        &mut self.engine
    }

    /// Frames measured since reset.
    pub fn frames(&self) -> u64 {
        self.position
    }

    /// The average `measure` reads: AES17 RMS over the non-silent part, the gated mean VU
    /// deflection (as `vu_reference + VU`), or integrated loudness. Minus infinity for silence,
    /// and for VU when this meter does not sample it.
    pub fn average_db(&self, measure: AverageMeasure) -> f32 {
        match measure {
            AverageMeasure::Rms => self.engine.summary().rms_aes17_gated_dbfs,
            AverageMeasure::Vu => self.vu_average.as_ref().map_or(f32::NEG_INFINITY, |a| {
                a.average_dbfs(self.engine.config().vu_reference_dbfs)
            }),
            AverageMeasure::Lufs => self.engine.summary().integrated_lufs,
        }
    }

    /// The peak `measure` reads: the sample peak, or the precise true peak (the engine's own
    /// when it is already precise).
    pub fn peak_db(&self, measure: PeakMeasure) -> f32 {
        match (measure, &self.precise_true_peak) {
            (PeakMeasure::Sample, _) => self.engine.summary().sample_peak_dbfs,
            (PeakMeasure::True, Some(meter)) => meter
                .read()
                .max_over_channels(self.engine.config().channels),
            (PeakMeasure::True, None) => self.engine.summary().true_peak_dbtp,
        }
    }

    /// The suggested trim for `target` from everything measured so far.
    pub fn suggestion(&self, target: &StagingTarget) -> Option<Suggestion> {
        target.suggest(self.average_db(target.average), self.peak_db(target.peak))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signals::{concat, random_splits, silence, sine, white_noise};

    fn config(rate: f64) -> EngineConfig {
        EngineConfig {
            sample_rate: rate,
            channels: 1,
            max_block: 1024,
            ..EngineConfig::default()
        }
    }

    #[test]
    fn a_sine_gets_the_same_suggestion_by_every_measure_and_split() {
        for rate in [44_100.0, 48_000.0, 96_000.0] {
            // -24 dBFS sine: AES17 RMS -24, VU average -24 (0 VU = -18 reads -6 VU), peak -24.
            let signal = concat(&[
                sine(rate, 1000.0, -24.0, 4.0, 0.0),
                silence(rate, 1.0),
                sine(rate, 1000.0, -24.0, 4.0, 0.0),
            ]);
            let mut whole = StagingMeter::new(config(rate), StagingMeasures::all());
            whole.process(&[&signal]);
            let mut split = StagingMeter::new(config(rate), StagingMeasures::all());
            let mut offset = 0;
            for len in random_splits(signal.len(), 5000, 9) {
                nice_assert_no_alloc::assert_no_alloc(|| {
                    split.process(&[&signal[offset..offset + len]])
                });
                offset += len;
            }
            for average in [AverageMeasure::Rms, AverageMeasure::Vu] {
                let target = StagingTarget {
                    average,
                    ..StagingTarget::default()
                };
                let trim = whole.suggestion(&target).unwrap().trim_db;
                // The VU mean includes the needle's rise and return around the pause (within
                // 20 dB of the mean, so the relative gate keeps them): a little lower than the
                // steady reading, so a little more trim.
                let tolerance = if average == AverageMeasure::Vu {
                    0.5
                } else {
                    0.1
                };
                assert!((trim - 6.0).abs() < tolerance, "{rate} {average:?}: {trim}");
                assert_eq!(
                    split.suggestion(&target).map(|s| s.trim_db),
                    Some(trim),
                    "{rate} {average:?}"
                );
            }
            // Ceiling on true peak: -24 dBTP (precise), so the ceiling allows +18.
            let tp = whole.peak_db(PeakMeasure::True);
            assert!((tp - -24.0).abs() < 0.05, "{tp}");
        }
    }

    #[test]
    fn the_vu_average_moves_with_the_gain_exactly() {
        let rate = 48_000.0;
        let noise = white_noise(rate as usize * 6, 0.3, 4);
        let quiet: Vec<f32> = noise.iter().map(|s| s * 0.1).collect();
        let measure = |signal: &[f32]| {
            let mut meter = StagingMeter::new(config(rate), StagingMeasures::all());
            meter.process(&[signal]);
            meter.average_db(AverageMeasure::Vu)
        };
        let (loud, soft) = (measure(&noise), measure(&quiet));
        assert!((loud - soft - 20.0).abs() < 0.05, "{loud} vs {soft}");
        let mut silent = StagingMeter::new(config(rate), StagingMeasures::all());
        silent.process(&[&vec![0.0; 48_000]]);
        assert_eq!(silent.average_db(AverageMeasure::Vu), f32::NEG_INFINITY);
        assert_eq!(silent.suggestion(&StagingTarget::default()), None);
        // Without the VU sampler, VU reads as silence.
        let plain = StagingMeter::new(
            config(rate),
            StagingMeasures::for_target(&StagingTarget::default()),
        );
        assert_eq!(plain.average_db(AverageMeasure::Vu), f32::NEG_INFINITY);
    }
}
