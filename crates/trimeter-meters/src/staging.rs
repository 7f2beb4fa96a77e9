//! Gain-staging math: which clip gain brings a track to its target level.
//!
//! Producers are told to set each track's clip gain before mixing so that its average sits near a
//! target (about -18 dBFS) while its peaks stay well below full scale. This module is the one
//! place that turns measured levels into that gain, so the command-line tool (`trimeter analyze`
//! and `trimeter stage`) and the plugin's gain-staging assistant always agree. It is pure
//! arithmetic on dB values: no meters, no framework types, no allocation.
//!
//! All levels are in dB and use `f32::NEG_INFINITY` for silence, as the meters report it.
//!
//! Beside the arithmetic: the named targets ([`presets`]), the suggestion with the limit that
//! binds ([`Suggestion`]), and the noise-floor estimate that warns when a trim would bring hum or
//! hiss up ([`noise_floor`]).

pub mod learn;
mod measurement;
pub mod noise_floor;
pub mod presets;
mod suggestion;

pub use measurement::{StagingMeasures, StagingMeter, VuAverage, VU_SAMPLE_PERIOD_S};
pub use suggestion::{Limit, Suggestion};

/// Which measured average the target refers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum AverageMeasure {
    /// AES17 RMS (a full-scale sine reads 0 dB) over the non-silent part of the signal, in dBFS.
    #[default]
    Rms,
    /// The mean VU reading over the non-silent part, expressed in dBFS as
    /// `vu_reference_dbfs + mean VU`, so that it compares with a dBFS target.
    Vu,
    /// Integrated loudness (ITU-R BS.1770), in LUFS.
    Lufs,
}

impl AverageMeasure {
    /// Every measure, in menu order.
    pub const ALL: [AverageMeasure; 3] = [Self::Rms, Self::Vu, Self::Lufs];
}

/// Which measured peak the ceiling refers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum PeakMeasure {
    /// The largest absolute sample value, in dBFS.
    #[default]
    Sample,
    /// The ITU-R BS.1770 true peak (inter-sample peak estimate), in dBTP.
    True,
}

impl PeakMeasure {
    /// Every measure, in menu order.
    pub const ALL: [PeakMeasure; 2] = [Self::Sample, Self::True];
}

/// What a gain-staging pass aims for.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StagingTarget {
    /// The level the average should reach, in dBFS (or LUFS when `average` is
    /// [`AverageMeasure::Lufs`]). Default -18.
    pub target_db: f32,
    /// Which average `target_db` refers to. Default AES17 RMS.
    pub average: AverageMeasure,
    /// The level no peak may exceed after the gain, in dBFS (dBTP for true peak). Default -6.
    pub ceiling_db: f32,
    /// Which peak `ceiling_db` refers to. Default sample peak.
    pub peak: PeakMeasure,
}

impl Default for StagingTarget {
    fn default() -> Self {
        Self {
            target_db: -18.0,
            average: AverageMeasure::Rms,
            ceiling_db: -6.0,
            peak: PeakMeasure::Sample,
        }
    }
}

impl StagingTarget {
    /// The suggested trim in dB for a track whose average is `average_db` and whose peak is
    /// `peak_db` (both measured as this target's `average` and `peak` say).
    ///
    /// It is the one gain that brings the average to the target without pushing the peak above
    /// the ceiling: `min(target - average, ceiling - peak)`.
    ///
    /// Returns `None` when no gain makes sense: the average is silence (minus infinity) or either
    /// input is NaN. A silent peak puts no limit on the gain, so only the average term applies.
    pub fn suggested_trim_db(&self, average_db: f32, peak_db: f32) -> Option<f32> {
        suggested_trim_db(self.target_db, average_db, self.ceiling_db, peak_db)
    }
}

/// `min(target_db - average_db, ceiling_db - peak_db)`: the gain in dB that brings the average to
/// the target without pushing the peak above the ceiling.
///
/// Returns `None` when the average is minus infinity (silence: no finite gain reaches the target)
/// or any input is NaN. A peak of minus infinity leaves only the average term (it puts no limit on
/// the gain). The result is finite whenever it is `Some` and the inputs are finite or minus
/// infinity.
pub fn suggested_trim_db(
    target_db: f32,
    average_db: f32,
    ceiling_db: f32,
    peak_db: f32,
) -> Option<f32> {
    if target_db.is_nan() || average_db.is_nan() || ceiling_db.is_nan() || peak_db.is_nan() {
        return None;
    }
    if !average_db.is_finite() || !target_db.is_finite() {
        return None;
    }
    let to_target_db = target_db - average_db;
    // NOTE: `f32::min` would also return the average term for a peak of minus infinity (its
    // headroom is plus infinity), but spelling it out keeps a plus-infinity ceiling from leaking.
    let headroom_db = ceiling_db - peak_db;
    if headroom_db.is_finite() {
        Some(to_target_db.min(headroom_db))
    } else if headroom_db < 0.0 {
        // A ceiling of minus infinity with a finite peak: only silence fits under it.
        None
    } else {
        Some(to_target_db)
    }
}

/// The peak in dB after applying `gain_db` to a signal whose peak is `peak_db`.
///
/// Silence stays minus infinity.
#[inline]
pub fn peak_after_gain_db(peak_db: f32, gain_db: f32) -> f32 {
    peak_db + gain_db
}

/// Whether applying `gain_db` to a signal with sample peak `sample_peak_dbfs` makes a sample reach
/// or exceed full scale (0 dBFS), i.e. clip when written as integer PCM.
///
/// Integer PCM can hold at most `(2^(n-1) - 1) / 2^(n-1)` of full scale, so any peak at or above
/// 0 dBFS after the gain clips. Silence never clips.
#[inline]
pub fn would_clip(sample_peak_dbfs: f32, gain_db: f32) -> bool {
    peak_after_gain_db(sample_peak_dbfs, gain_db) >= 0.0
}

/// Within this many dB of the suggested trim a level counts as in range: the hint does not ask
/// for changes smaller than one can hear or set sensibly with a trim knob.
pub const HINT_TOLERANCE_DB: f32 = 0.5;

/// The one plain-language hint the editor shows under the meters, computed from the input's
/// levels (measured before the trim) and the trim applied now.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum StagingHint {
    /// No average yet (silence, or nothing measured since reset).
    NotEnoughSignal,
    /// The applied trim is within [`HINT_TOLERANCE_DB`] of the suggestion.
    InRange,
    /// The average is below the target: raise the trim by `change_db`.
    RaiseForAverage {
        /// The input's average, dB (as the target's average measure says).
        average_db: f32,
        /// How much to raise the trim, dB (> 0).
        change_db: f32,
    },
    /// The average is above the target: lower the trim by `change_db`.
    LowerForAverage {
        /// The input's average, dB.
        average_db: f32,
        /// How much to lower the trim, dB (> 0).
        change_db: f32,
    },
    /// The peaks would pass the ceiling: lower the trim by `change_db`.
    LowerForPeaks {
        /// The input's peak, dB.
        peak_db: f32,
        /// How much to lower the trim, dB (> 0).
        change_db: f32,
    },
}

impl StagingTarget {
    /// The hint for an input whose average is `average_db` and peak `peak_db` (measured before
    /// the trim, as this target's measures say), with `applied_trim_db` applied now.
    ///
    /// The change it asks for is `suggested_trim_db - applied_trim_db`; changes within
    /// [`HINT_TOLERANCE_DB`] count as in range. A change downwards names the peaks when the
    /// ceiling is what limits the trim, the average otherwise.
    pub fn hint(&self, average_db: f32, peak_db: f32, applied_trim_db: f32) -> StagingHint {
        let Some(suggested_db) = self.suggested_trim_db(average_db, peak_db) else {
            return StagingHint::NotEnoughSignal;
        };
        let applied_db = if applied_trim_db.is_finite() {
            applied_trim_db
        } else {
            0.0
        };
        let change_db = suggested_db - applied_db;
        if change_db.abs() < HINT_TOLERANCE_DB {
            StagingHint::InRange
        } else if change_db > 0.0 {
            StagingHint::RaiseForAverage {
                average_db,
                change_db,
            }
        } else if self.ceiling_db - peak_db < self.target_db - average_db {
            StagingHint::LowerForPeaks {
                peak_db,
                change_db: -change_db,
            }
        } else {
            StagingHint::LowerForAverage {
                average_db,
                change_db: -change_db,
            }
        }
    }

    /// The unit of this target's average: "LUFS" for loudness, "dBFS" otherwise.
    pub fn average_unit(&self) -> &'static str {
        match self.average {
            AverageMeasure::Lufs => "LUFS",
            AverageMeasure::Rms | AverageMeasure::Vu => "dBFS",
        }
    }

    /// The unit of this target's peak: "dBTP" for true peak, "dBFS" for sample peak.
    pub fn peak_unit(&self) -> &'static str {
        match self.peak {
            PeakMeasure::True => "dBTP",
            PeakMeasure::Sample => "dBFS",
        }
    }

    /// The hint as one line of text, e.g. "Input averages -23.4 dBFS: raise trim 5.4 dB".
    pub fn hint_text(&self, hint: StagingHint) -> String {
        match hint {
            StagingHint::NotEnoughSignal => "Not enough signal yet".to_string(),
            StagingHint::InRange => "In range".to_string(),
            StagingHint::RaiseForAverage {
                average_db,
                change_db,
            } => format!(
                "Input averages {average_db:.1} {}: raise trim {change_db:.1} dB",
                self.average_unit()
            ),
            StagingHint::LowerForAverage {
                average_db,
                change_db,
            } => format!(
                "Input averages {average_db:.1} {}: lower trim {change_db:.1} dB",
                self.average_unit()
            ),
            StagingHint::LowerForPeaks { peak_db, change_db } => format!(
                "Peaks reach {peak_db:.1} {}: lower trim {change_db:.1} dB",
                self.peak_unit()
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hint_text_for_each_case() {
        let target = StagingTarget::default();
        let text = |avg: f32, peak: f32, trim: f32| target.hint_text(target.hint(avg, peak, trim));
        assert_eq!(
            text(-23.4, -12.0, 0.0),
            "Input averages -23.4 dBFS: raise trim 5.4 dB"
        );
        assert_eq!(
            text(-17.0, -2.1, 0.0),
            "Peaks reach -2.1 dBFS: lower trim 3.9 dB"
        );
        assert_eq!(
            text(-12.0, -9.0, 0.0),
            "Input averages -12.0 dBFS: lower trim 6.0 dB"
        );
        assert_eq!(text(-18.2, -10.0, 0.0), "In range");
        // The trim already applied counts: +5.4 dB on a -23.4 dBFS input is in range, +2 dB
        // leaves 3.4 dB to go.
        assert_eq!(text(-23.4, -12.0, 5.4), "In range");
        assert_eq!(
            text(-23.4, -12.0, 2.0),
            "Input averages -23.4 dBFS: raise trim 3.4 dB"
        );
        assert_eq!(
            text(f32::NEG_INFINITY, f32::NEG_INFINITY, 0.0),
            "Not enough signal yet"
        );
        assert_eq!(text(f32::NAN, -10.0, 0.0), "Not enough signal yet");
        let lufs = StagingTarget {
            target_db: -23.0,
            average: AverageMeasure::Lufs,
            peak: PeakMeasure::True,
            ..StagingTarget::default()
        };
        assert_eq!(
            lufs.hint_text(lufs.hint(-30.0, -20.0, 0.0)),
            "Input averages -30.0 LUFS: raise trim 7.0 dB"
        );
        assert_eq!(
            lufs.hint_text(lufs.hint(-22.0, -3.0, 0.0)),
            "Peaks reach -3.0 dBTP: lower trim 3.0 dB"
        );
    }

    #[test]
    fn hint_tolerance_is_half_a_db_either_way() {
        let target = StagingTarget::default();
        assert_eq!(target.hint(-18.49, -20.0, 0.0), StagingHint::InRange);
        assert_eq!(target.hint(-17.51, -20.0, 0.0), StagingHint::InRange);
        assert!(matches!(
            target.hint(-18.6, -20.0, 0.0),
            StagingHint::RaiseForAverage { .. }
        ));
        assert!(matches!(
            target.hint(-17.4, -20.0, 0.0),
            StagingHint::LowerForAverage { .. }
        ));
    }

    #[test]
    fn average_term_wins_when_peaks_have_room() {
        // A track averaging -24 dBFS with peaks at -20 dBFS: +6 dB reaches -18, peaks land at -14.
        let trim = suggested_trim_db(-18.0, -24.0, -6.0, -20.0).unwrap();
        assert!((trim - 6.0).abs() < 1e-6, "{trim}");
    }

    #[test]
    fn ceiling_term_wins_for_peaky_tracks() {
        // A drum track averaging -30 dBFS with peaks at -3 dBFS: +12 dB would put peaks at +9,
        // so the ceiling limits the gain to -3 dB.
        let trim = suggested_trim_db(-18.0, -30.0, -6.0, -3.0).unwrap();
        assert!((trim - -3.0).abs() < 1e-6, "{trim}");
    }

    #[test]
    fn loud_tracks_are_turned_down() {
        let trim = suggested_trim_db(-18.0, -8.0, -6.0, -1.0).unwrap();
        assert!((trim - -10.0).abs() < 1e-6, "{trim}");
    }

    #[test]
    fn result_never_exceeds_either_term() {
        for average in [-60.0f32, -30.0, -18.0, -3.0, 10.0] {
            for peak in [-50.0f32, -20.0, -6.0, 0.0, 12.0] {
                let trim = suggested_trim_db(-18.0, average, -6.0, peak).unwrap();
                assert!(trim <= -18.0 - average + 1e-6);
                assert!(trim <= -6.0 - peak + 1e-6);
                assert!(trim == -18.0 - average || trim == -6.0 - peak);
                assert!(peak_after_gain_db(peak, trim) <= -6.0 + 1e-5);
            }
        }
    }

    #[test]
    fn silence_and_nan_give_no_suggestion() {
        assert_eq!(
            suggested_trim_db(-18.0, f32::NEG_INFINITY, -6.0, f32::NEG_INFINITY),
            None
        );
        assert_eq!(suggested_trim_db(-18.0, f32::NAN, -6.0, -10.0), None);
        assert_eq!(suggested_trim_db(-18.0, -20.0, -6.0, f32::NAN), None);
        assert_eq!(
            suggested_trim_db(-18.0, -20.0, f32::NEG_INFINITY, -10.0),
            None
        );
        // A silent peak puts no limit on the gain.
        assert_eq!(
            suggested_trim_db(-18.0, -20.0, -6.0, f32::NEG_INFINITY),
            Some(2.0)
        );
    }

    #[test]
    fn target_struct_matches_free_function() {
        let target = StagingTarget::default();
        assert_eq!(target.target_db, -18.0);
        assert_eq!(target.ceiling_db, -6.0);
        assert_eq!(
            target.suggested_trim_db(-24.0, -20.0),
            suggested_trim_db(-18.0, -24.0, -6.0, -20.0)
        );
    }

    #[test]
    fn clipping_is_detected_at_full_scale() {
        assert!(!would_clip(-6.0, 5.9));
        assert!(would_clip(-6.0, 6.0));
        assert!(would_clip(-0.1, 0.2));
        assert!(!would_clip(f32::NEG_INFINITY, 100.0));
    }
}
