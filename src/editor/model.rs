//! The view model: everything the views draw from, with no host and no threads in it, so the UI
//! tests build the whole editor from synthetic readings.

use trimeter_meters::engine::{summarize, MeterSnapshot, Summary};
use trimeter_meters::history::HistoryPoint;
use trimeter_meters::readout::{ChannelPeaks, Readings};
use trimeter_meters::staging::StagingTarget;
use trimeter_meters::MAX_CHANNELS;

use crate::settings::{EditorSettings, ResetRequests};

/// The input (pre-trim) or the output (post-makeup) side.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Side {
    /// Before the trim.
    Input,
    /// After the makeup.
    Output,
}

impl Side {
    fn index(self) -> usize {
        match self {
            Self::Input => 0,
            Self::Output => 1,
        }
    }

    /// "Input" or "Output".
    pub fn name(self) -> &'static str {
        match self {
            Self::Input => "Input",
            Self::Output => "Output",
        }
    }

    /// The reset bits of this side's (sample peak, true peak, loudness).
    pub fn reset_bits(self) -> (u32, u32, u32) {
        match self {
            Self::Input => (
                ResetRequests::INPUT_SAMPLE_PEAK,
                ResetRequests::INPUT_TRUE_PEAK,
                ResetRequests::INPUT_LOUDNESS,
            ),
            Self::Output => (
                ResetRequests::OUTPUT_SAMPLE_PEAK,
                ResetRequests::OUTPUT_TRUE_PEAK,
                ResetRequests::OUTPUT_LOUDNESS,
            ),
        }
    }
}

/// The editor's pages, one tab each.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Page {
    /// The meter bridge.
    #[default]
    Meters,
    /// The level-match link (src/editor/link.rs).
    Link,
    /// Every Trimeter in the process (src/editor/overview.rs).
    Overview,
    /// The gain-staging assistant.
    Assistant,
}

/// What the views draw and what they ask for.
#[derive(Clone, Debug, Default)]
pub struct EditorModel {
    /// The persisted settings; the views change them and set [`Self::settings_changed`].
    pub settings: EditorSettings,
    /// Set by a view when it changed [`Self::settings`]; the app writes them back.
    pub settings_changed: bool,
    /// The newest readings.
    pub readings: Readings,
    /// The input's history, oldest first, as much as the history length shows.
    pub input_history: Vec<HistoryPoint>,
    /// The output's history.
    pub output_history: Vec<HistoryPoint>,
    /// The gain-staging target the meter bridge draws: the assistant's, when it is in dBFS.
    pub target: StagingTarget,
    /// Clip counts at the last click on each lamp, per side and channel: the lamp shows clips
    /// since then. The engine keeps counting whether or not the editor is open.
    pub clip_baseline: [[u64; MAX_CHANNELS]; 2],
    /// Resets the views asked for ([`ResetRequests`] bits); the app hands them to the audio
    /// thread.
    pub requested_resets: u32,
    /// The page shown.
    pub page: Page,
    /// The link's status, parameters and overview (src/editor/link.rs).
    pub link: super::link::LinkModel,
    /// The gain-staging assistant's panel: its settings, status and requests.
    pub assistant: super::assistant_panel::AssistantModel,
}

impl EditorModel {
    /// A model with these settings and no readings yet.
    pub fn new(settings: EditorSettings) -> Self {
        Self {
            settings,
            ..Self::default()
        }
    }

    /// The snapshot of `side`.
    pub fn snapshot(&self, side: Side) -> &MeterSnapshot {
        match side {
            Side::Input => &self.readings.frame.input,
            Side::Output => &self.readings.frame.output,
        }
    }

    /// The peaks of `side` since the previous frame.
    pub fn recent_peaks(&self, side: Side) -> &ChannelPeaks {
        match side {
            Side::Input => &self.readings.input_peaks,
            Side::Output => &self.readings.output_peaks,
        }
    }

    /// Whole-signal figures of `side`.
    pub fn summary(&self, side: Side) -> Summary {
        summarize(self.snapshot(side))
    }

    /// The channels `side` shows (at least one).
    pub fn channels(&self, side: Side) -> usize {
        self.snapshot(side).channels.clamp(1, MAX_CHANNELS)
    }

    /// Clips of `side`'s `channel` since its lamp was last clicked.
    pub fn clips_since_latch(&self, side: Side, channel: usize) -> u64 {
        let count = self.snapshot(side).sample_peak.clip_count[channel];
        // After an engine reset the count starts again below the baseline.
        let baseline = self.clip_baseline[side.index()][channel];
        if count < baseline {
            count
        } else {
            count - baseline
        }
    }

    /// True-peak overs (above the engine's ceiling) of `side`'s `channel`.
    pub fn overs(&self, side: Side, channel: usize) -> u64 {
        self.snapshot(side).true_peak.over_count[channel]
    }

    /// Clears the clip lamp of `side`'s `channel`.
    pub fn reset_clip_latch(&mut self, side: Side, channel: usize) {
        let count = self.snapshot(side).sample_peak.clip_count[channel];
        self.clip_baseline[side.index()][channel] = count;
    }

    /// Asks the audio thread for the resets in `bits`.
    pub fn request_reset(&mut self, bits: u32) {
        self.requested_resets |= bits;
        if bits & ResetRequests::ALL != 0 {
            self.clip_baseline = [[0; MAX_CHANNELS]; 2];
        }
    }

    /// The one hint line, from the staging module: the input's AES17 RMS (over its non-silent
    /// part) and sample peak since reset, against the target, with the trim applied now.
    pub fn hint_text(&self) -> String {
        let input = self.summary(Side::Input);
        let hint = self.target.hint(
            input.rms_aes17_gated_dbfs,
            input.sample_peak_dbfs,
            self.readings.frame.trim_db,
        );
        self.target.hint_text(hint)
    }

    /// Non-finite input samples replaced by silence since reset.
    pub fn non_finite_samples(&self) -> u64 {
        self.readings.frame.input.non_finite_samples
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_latch_counts_from_the_last_click_and_survives_an_engine_reset() {
        let mut model = EditorModel::default();
        model.readings.frame.output.channels = 2;
        model.readings.frame.output.sample_peak.clip_count[1] = 5;
        assert_eq!(model.clips_since_latch(Side::Output, 1), 5);
        model.reset_clip_latch(Side::Output, 1);
        assert_eq!(model.clips_since_latch(Side::Output, 1), 0);
        model.readings.frame.output.sample_peak.clip_count[1] = 7;
        assert_eq!(model.clips_since_latch(Side::Output, 1), 2);
        // The engine was reset (count back to 1): the lamp shows the new count.
        model.readings.frame.output.sample_peak.clip_count[1] = 1;
        assert_eq!(model.clips_since_latch(Side::Output, 1), 1);
    }

    #[test]
    fn hint_uses_the_inputs_levels_and_the_applied_trim() {
        let mut model = EditorModel::default();
        assert_eq!(model.hint_text(), "Not enough signal yet");
        let input = &mut model.readings.frame.input;
        input.channels = 1;
        // AES17 gated RMS -23.4 dBFS (plain RMS 3.01 dB lower), peaks at -12 dBFS.
        input.rms.integrated_gated_dbfs[0] = -23.4 - trimeter_meters::rms::AES17_OFFSET_DB;
        input.sample_peak.max_db[0] = -12.0;
        assert_eq!(
            model.hint_text(),
            "Input averages -23.4 dBFS: raise trim 5.4 dB"
        );
        model.readings.frame.trim_db = 5.4;
        assert_eq!(model.hint_text(), "In range");
    }
}
