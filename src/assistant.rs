//! The gain-staging assistant, plugin side: persisted targets and options
//! ([`settings`]), the learner on the audio thread with transport awareness ([`engine`]), and
//! the lock-free status it hands to the editor's assistant panel.
//!
//! The measurement and the suggestion are the meters crate's (`staging::learn`), the same code
//! `trimeter analyze` runs, so the plugin and the command-line tool suggest the same trim for the
//! same audio and targets. The learner hears the input before the trim (what the input meters
//! see), so the suggestion is the trim that stages the source, whatever trim is applied now:
//! applying it twice sets the same value twice.
//!
//! Threads: the editor writes requests (Learn, Freeze, Reset) into an atomic and settings into
//! the store (a lock for itself, one packed atomic for the audio thread); the audio thread
//! publishes an [`AssistantStatus`] through a triple buffer at 10 Hz while the editor is open.
//! Apply itself runs on the GUI thread, through the host's parameter API.

pub mod engine;
pub mod settings;

use trimeter_link::SuggestedTrim;
use trimeter_meters::staging::learn::{LearnPhase, LearnSnapshot};
use trimeter_meters::staging::{AverageMeasure, PeakMeasure, StagingTarget};
use trimeter_meters::MeterEngine;

use crate::params::GAIN_RANGE_DB;
use settings::ApplyTo;

/// What the audio thread tells the editor about the assistant.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct AssistantStatus {
    /// What the learner measured; [`LearnSnapshot::status`] gives the suggestion for a target.
    pub learn: LearnSnapshot,
    /// The host transport runs (or the host reports none and audio arrives).
    pub transport_playing: bool,
    /// Integrated loudness, loudness range and learning measure now (not paused).
    pub measuring: bool,
    /// Times playback started somewhere else than where it stopped.
    pub jumps: u32,
    /// Counts publications; 0 before the first.
    pub sequence: u64,
}

/// The audio thread's end of the status hand-off.
pub struct StatusWriter(triple_buffer::Input<AssistantStatus>);

/// The editor's end: the newest status, without locks.
pub struct StatusReader(triple_buffer::Output<AssistantStatus>);

/// A status channel from the audio thread to the editor. Allocates.
pub fn status_channel() -> (StatusWriter, StatusReader) {
    let (input, output) = triple_buffer::triple_buffer(&AssistantStatus::default());
    (StatusWriter(input), StatusReader(output))
}

impl StatusWriter {
    /// Publishes `status`. Lock-free and wait-free; never allocates.
    pub fn publish(&mut self, status: AssistantStatus) {
        self.0.write(status);
    }
}

impl StatusReader {
    /// The newest status published.
    pub fn read(&mut self) -> AssistantStatus {
        *self.0.read()
    }
}

/// The gain Apply sets, in dB, for a suggestion of `suggestion_db` with Input Trim at `trim_db`.
///
/// The suggestion is measured before the trim, so it is the trim itself: applying it again
/// changes nothing. For Output Makeup (trim and makeup add up), the makeup that brings the output
/// to the same place is the suggestion less the trim in force. Clamped to the parameters' range.
pub fn applied_gain_db(apply_to: ApplyTo, suggestion_db: f32, trim_db: f32) -> f32 {
    let db = match apply_to {
        ApplyTo::Trim => suggestion_db,
        ApplyTo::Makeup => suggestion_db - trim_db,
    };
    db.clamp(-GAIN_RANGE_DB, GAIN_RANGE_DB)
}

/// The suggested trim the session overview shows for this instance: the suggestion its
/// Assistant page shows for `target` when the learner has one (`learn`, taken while learning or
/// frozen; `None` when idle), otherwise the running estimate for the same target from the
/// input meters since their reset: AES17 RMS over the non-silent part, the VU reading now (as
/// `vu_reference + VU`), or integrated loudness; sample or true peak. Never allocates.
pub fn overview_trim(
    learn: Option<&LearnSnapshot>,
    target: &StagingTarget,
    input: &MeterEngine,
) -> Option<SuggestedTrim> {
    let learned = learn
        .filter(|l| l.phase != LearnPhase::Idle)
        .and_then(|l| l.status(target).suggestion);
    if let Some(s) = learned {
        return Some(SuggestedTrim {
            trim_db: s.trim_db,
            learned: true,
        });
    }
    let summary = input.summary();
    let average_db = match target.average {
        AverageMeasure::Rms => summary.rms_aes17_gated_dbfs,
        AverageMeasure::Vu => input.config().vu_reference_dbfs + input.instant().vu,
        AverageMeasure::Lufs => summary.integrated_lufs,
    };
    let peak_db = match target.peak {
        PeakMeasure::Sample => summary.sample_peak_dbfs,
        PeakMeasure::True => summary.true_peak_dbtp,
    };
    target.suggest(average_db, peak_db).map(|s| SuggestedTrim {
        trim_db: s.trim_db,
        learned: false,
    })
}

/// The drive hint for the plugin after Trimeter, once `gain_db` is applied: "the next plugin sees
/// -18.0 dBFS RMS (0.0 VU)" (AES17 RMS, and the mean VU reading against `vu_reference_dbfs`).
/// `None` before there is material.
pub fn drive_hint(learn: &LearnSnapshot, gain_db: f32, vu_reference_dbfs: f32) -> Option<String> {
    let index = |m: AverageMeasure| AverageMeasure::ALL.iter().position(|&a| a == m);
    let rms = learn.averages_db[index(AverageMeasure::Rms)?] + gain_db;
    let vu_dbfs = learn.averages_db[index(AverageMeasure::Vu)?] + gain_db;
    if !learn.has_material || !rms.is_finite() {
        return None;
    }
    let vu = crate::editor::scale::format_signed(vu_dbfs - vu_reference_dbfs, 1);
    let rms = crate::editor::scale::format_signed(rms, 1);
    Some(if vu_dbfs.is_finite() {
        format!("the next plugin sees {rms} dBFS RMS ({vu} VU)")
    } else {
        format!("the next plugin sees {rms} dBFS RMS")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applying_twice_sets_the_same_gain() {
        // Measured before the trim: +4.2 dB, whether the trim is 0 or already +4.2.
        assert_eq!(applied_gain_db(ApplyTo::Trim, 4.2, 0.0), 4.2);
        assert_eq!(applied_gain_db(ApplyTo::Trim, 4.2, 4.2), 4.2);
        // Makeup after a trim of +1: +3.2 more gets the output to the same place.
        assert!((applied_gain_db(ApplyTo::Makeup, 4.2, 1.0) - 3.2).abs() < 1e-6);
        assert_eq!(applied_gain_db(ApplyTo::Trim, 50.0, 0.0), GAIN_RANGE_DB);
    }

    #[test]
    fn the_drive_hint_names_rms_and_vu() {
        let mut learn = LearnSnapshot::default();
        assert_eq!(drive_hint(&learn, 0.0, -18.0), None);
        learn.has_material = true;
        learn.averages_db = [-22.0, -22.0, -25.0];
        assert_eq!(
            drive_hint(&learn, 4.0, -18.0).unwrap(),
            "the next plugin sees -18.0 dBFS RMS (0.0 VU)"
        );
        assert_eq!(
            drive_hint(&learn, 0.0, -20.0).unwrap(),
            "the next plugin sees -22.0 dBFS RMS (-2.0 VU)"
        );
    }
}
