//! `trimeter analyze`: one streaming pass of the metering engine over a file.

use std::path::Path;

use trimeter_meters::engine::{EngineConfig, Summary};
use trimeter_meters::loudness::weights_from_wave_channel_mask;
use trimeter_meters::meter::MAX_CHANNELS;
use trimeter_meters::staging::{StagingMeasures, StagingMeter, Suggestion};
use trimeter_meters::true_peak::TruePeakMode;

use crate::args::MeterOptions;
use crate::decode::{AudioInfo, Source};

/// The longest block handed to the engine, in frames. Decoded packets are split to this length so
/// the engine's buffers (sized for it) are never exceeded.
pub const ENGINE_BLOCK_FRAMES: usize = 4096;

/// Frames between progress reports.
const PROGRESS_STEP_FRAMES: u64 = 1 << 16;

/// One `--timeline` entry.
#[derive(Clone, Copy, Debug)]
pub struct TimelinePoint {
    /// The end of the interval, in seconds from the start: k * MS / 1000.
    pub t_s: f64,
    /// The highest sample peak in the interval, in dBFS.
    pub sample_peak_dbfs: f32,
    /// The highest true peak in the interval, in dBTP.
    pub true_peak_dbtp: f32,
    /// The RMS reading at `t_s`, in dBFS.
    pub rms_dbfs: f32,
    /// The VU reading at `t_s`, in VU (0 = the reference level).
    pub vu: f32,
    /// The PPM reading at `t_s`, as the dBFS peak of the steady sine that reads the same.
    pub ppm_dbfs: f32,
    /// The momentary loudness at `t_s`, in LUFS.
    pub momentary_lufs: f32,
    /// The short-term loudness at `t_s`, in LUFS.
    pub short_term_lufs: f32,
}

/// Everything `analyze` measured in one file.
#[derive(Clone, Debug)]
pub struct Analysis {
    /// What the file holds.
    pub info: AudioInfo,
    /// Frames decoded.
    pub frames: u64,
    /// The engine's whole-file figures.
    pub summary: Summary,
    /// `min(target - average, ceiling - peak)` in dB; `None` for silence. With `--peak true` the
    /// peak is the precise true peak, whatever mode the reported true peak uses.
    pub suggested_trim_db: Option<f32>,
    /// The suggestion with the limit that binds (`None` for silence).
    pub suggestion: Option<Suggestion>,
    /// The true-peak mode of `summary.true_peak_dbtp` (and the timeline's true peaks).
    pub true_peak_mode: TruePeakMode,
    /// NaN and infinite samples in the file (measured as zero).
    pub non_finite_samples: u64,
    /// The `--timeline` entries, when asked for.
    pub timeline: Option<Vec<TimelinePoint>>,
}

impl Analysis {
    /// The duration in seconds.
    pub fn duration_s(&self) -> f64 {
        self.frames as f64 / f64::from(self.info.sample_rate_hz)
    }
}

/// Measures one file, reporting the Standard (BS.1770 Annex 2) true peak. See
/// [`analyze_file_in`].
///
/// # Errors
/// A sentence naming why the file could not be measured.
pub fn analyze_file(
    path: &Path,
    options: &MeterOptions,
    timeline_ms: Option<f64>,
    progress: &(dyn Fn(ProgressEvent) + Sync),
) -> Result<Analysis, String> {
    analyze_file_in(path, options, TruePeakMode::Standard, timeline_ms, progress)
}

/// Measures one file; the reported true peak uses `true_peak_mode`. The suggested trim with
/// `--peak true` always uses the Precise true peak (a second true-peak meter runs when the
/// reported mode is Standard), so a copy staged to a true-peak ceiling does not exceed it by the
/// Standard mode's under-read (up to 2.5 dB near 20 kHz at 44.1 kHz).
///
/// `progress` is called with the number of newly decoded frames every so often (and once at the
/// end), and with the declared length once the file is open.
///
/// # Errors
/// A sentence naming why the file could not be measured.
pub fn analyze_file_in(
    path: &Path,
    options: &MeterOptions,
    true_peak_mode: TruePeakMode,
    timeline_ms: Option<f64>,
    progress: &(dyn Fn(ProgressEvent) + Sync),
) -> Result<Analysis, String> {
    let mut source = Source::open(path)?;
    // NaN and infinity are measured as zero and counted here (the engine's own guard then has
    // nothing left to do).
    source.zero_non_finite();
    let info = *source.info();
    progress(ProgressEvent::Opened {
        declared_frames: info.declared_frames,
    });
    let sample_rate_hz = f64::from(info.sample_rate_hz);
    let channels = info.channels;
    let target = options.staging_target();
    // The engine plus what the suggestion needs: the VU average for `--average vu`, the precise
    // true peak for `--peak true` (the same measurement the plugin's assistant runs).
    let mut meter = StagingMeter::new(
        EngineConfig {
            sample_rate: sample_rate_hz,
            channels,
            max_block: ENGINE_BLOCK_FRAMES,
            loudness_weights: info
                .wave_channel_mask
                .map(|mask| weights_from_wave_channel_mask(mask, channels)),
            vu_reference_dbfs: options.vu_reference,
            ppm_scale: options.ppm_scale(),
            true_peak_mode,
            ..EngineConfig::default()
        },
        StagingMeasures::for_target(&target),
    );

    // Block boundaries where a timeline reading is taken (k * MS ms), rounded to whole frames
    // from the index, not accumulated, so they do not drift over long files. (The VU sampling
    // grid is the staging meter's own.)
    let mut timeline = timeline_ms.map(|_| Vec::new());
    let mut timeline_k: u64 = 1;
    let timeline_frame =
        |k: u64| timeline_ms.map(|ms| (k as f64 * ms * sample_rate_hz / 1000.0).round() as u64);
    let mut next_timeline = timeline_frame(timeline_k);

    let mut position: u64 = 0;
    let mut unreported: u64 = 0;
    let mut planes: Vec<Vec<f32>> = Vec::new();
    while source.next_packet_into(&mut planes)? {
        let packet_frames = planes.first().map_or(0, Vec::len);
        let mut offset = 0;
        while offset < packet_frames {
            let mut end = (offset + ENGINE_BLOCK_FRAMES).min(packet_frames);
            if let Some(boundary) = next_timeline {
                // Boundaries always lie ahead of `position` (they are bumped as soon as reached).
                let until =
                    usize::try_from(boundary.saturating_sub(position)).unwrap_or(usize::MAX);
                end = end.min(offset.saturating_add(until.max(1)));
            }
            let mut block: [&[f32]; MAX_CHANNELS] = [&[]; MAX_CHANNELS];
            for (slot, plane) in block.iter_mut().zip(&planes) {
                *slot = plane.get(offset..end).unwrap_or(&[]);
            }
            meter.process(&block[..channels]);
            position += (end - offset) as u64;
            unreported += (end - offset) as u64;
            offset = end;

            if next_timeline == Some(position) {
                let peaks = meter.engine_mut().take_interval_peaks();
                let now = meter.engine().instant();
                if let (Some(entries), Some(ms)) = (timeline.as_mut(), timeline_ms) {
                    entries.push(TimelinePoint {
                        t_s: timeline_k as f64 * ms / 1000.0,
                        sample_peak_dbfs: peaks.sample_peak_dbfs,
                        true_peak_dbtp: peaks.true_peak_dbtp,
                        rms_dbfs: now.rms_dbfs,
                        vu: now.vu,
                        ppm_dbfs: now.ppm_dbfs,
                        momentary_lufs: now.momentary_lufs,
                        short_term_lufs: now.short_term_lufs,
                    });
                }
                timeline_k += 1;
                next_timeline = timeline_frame(timeline_k);
            }
        }
        if unreported >= PROGRESS_STEP_FRAMES {
            progress(ProgressEvent::Decoded { frames: unreported });
            unreported = 0;
        }
    }
    progress(ProgressEvent::Decoded { frames: unreported });
    if position == 0 {
        return Err("no audio: the file holds 0 frames".into());
    }

    let summary = meter.engine().summary();
    let suggestion = meter.suggestion(&target);
    Ok(Analysis {
        info,
        frames: position,
        summary,
        suggested_trim_db: suggestion.map(|s| s.trim_db),
        suggestion,
        true_peak_mode,
        non_finite_samples: source.non_finite_samples() + summary.non_finite_samples,
        timeline,
    })
}

/// What [`analyze_file`] tells its progress callback.
#[derive(Clone, Copy, Debug)]
pub enum ProgressEvent {
    /// The file is open; its container declares this many frames (if any).
    Opened {
        /// Declared frame count.
        declared_frames: Option<u64>,
    },
    /// This many more frames were decoded and measured.
    Decoded {
        /// Newly decoded frames.
        frames: u64,
    },
}
