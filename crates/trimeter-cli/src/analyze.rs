//! `trimeter analyze`: one streaming pass of the metering engine over a file.

use std::path::Path;

use trimeter_meters::engine::{EngineConfig, MeterEngine, Summary};
use trimeter_meters::loudness::weights_from_wave_channel_mask;
use trimeter_meters::meter::{Meter, MAX_CHANNELS};
use trimeter_meters::peak::PeakConfig;
use trimeter_meters::staging::{AverageMeasure, PeakMeasure};
use trimeter_meters::true_peak::{TruePeakMeter, TruePeakMode};

use crate::args::MeterOptions;
use crate::decode::{AudioInfo, Source};

/// The longest block handed to the engine, in frames. Decoded packets are split to this length so
/// the engine's buffers (sized for it) are never exceeded.
pub const ENGINE_BLOCK_FRAMES: usize = 4096;

/// How often the VU reading is sampled for `--average vu`, in seconds.
pub const VU_SAMPLE_PERIOD_S: f64 = 0.010;

/// For `--average vu`: readings whose level (`vu_reference + VU`, in dBFS) is below this are
/// silence (or dither) and left out before anything else.
pub const VU_ABSOLUTE_GATE_DBFS: f64 = -70.0;

/// For `--average vu`: readings more than this many dB below the mean deflection of the readings
/// above [`VU_ABSOLUTE_GATE_DBFS`] are left out (20 dB: the span of the classic VU scale,
/// IEC 60268-17). Relative to the material, so a gain moves the measure by exactly that gain.
pub const VU_RELATIVE_GATE_DB: f64 = 20.0;

/// Width of the level bins [`VuAverage`] collects readings in, in dB.
const VU_BIN_DB: f64 = 0.01;

/// Levels above this (dBFS) share the top bin; only the relative gate looks at bins.
const VU_TOP_DBFS: f64 = 80.0;

/// The mean VU deflection over the non-silent part of a file, with a gate relative to the
/// material (like BS.1770's relative gate): readings below [`VU_ABSOLUTE_GATE_DBFS`] are left out,
/// then readings more than [`VU_RELATIVE_GATE_DB`] below the mean deflection of the rest.
///
/// Readings are collected in fixed level bins (sum of deflections and count per bin), so memory
/// is constant whatever the file's length; the relative gate is resolved to [`VU_BIN_DB`].
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
    /// Adds one reading: `vu` in VU against a reference of `reference_dbfs`.
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
        bin.0 += 10f64.powf(f64::from(vu) / 20.0);
        bin.1 += 1;
    }

    /// The gated mean deflection in dBFS (`reference_dbfs + VU`); minus infinity when no reading
    /// passed the absolute gate.
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
    let mut engine = MeterEngine::new(EngineConfig {
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
    });
    let target = options.staging_target();
    // The true peak for the suggestion, when the engine's is not already precise.
    let mut precise_true_peak =
        (target.peak == PeakMeasure::True && true_peak_mode != TruePeakMode::Precise).then(|| {
            let mut meter = TruePeakMeter::new(TruePeakMode::Precise, PeakConfig::default());
            meter.prepare(sample_rate_hz, channels);
            meter
        });

    // Block boundaries where a reading must be taken: the timeline (k * MS ms) and, for
    // `--average vu`, the VU sampling grid (every 10 ms). Both are rounded to whole frames from
    // the index, not accumulated, so they do not drift over long files.
    let mut timeline = timeline_ms.map(|_| Vec::new());
    let mut timeline_k: u64 = 1;
    let timeline_frame =
        |k: u64| timeline_ms.map(|ms| (k as f64 * ms * sample_rate_hz / 1000.0).round() as u64);
    let mut next_timeline = timeline_frame(timeline_k);
    let sample_vu = target.average == AverageMeasure::Vu;
    let mut vu_k: u64 = 1;
    let vu_frame = |k: u64| (k as f64 * VU_SAMPLE_PERIOD_S * sample_rate_hz).round() as u64;
    let mut next_vu = sample_vu.then(|| vu_frame(vu_k));
    let mut vu_average = sample_vu.then(VuAverage::default);

    let mut position: u64 = 0;
    let mut unreported: u64 = 0;
    let mut planes: Vec<Vec<f32>> = Vec::new();
    while source.next_packet_into(&mut planes)? {
        let packet_frames = planes.first().map_or(0, Vec::len);
        let mut offset = 0;
        while offset < packet_frames {
            let mut end = (offset + ENGINE_BLOCK_FRAMES).min(packet_frames);
            for boundary in [next_timeline, next_vu].into_iter().flatten() {
                // Boundaries always lie ahead of `position` (they are bumped as soon as reached).
                let until =
                    usize::try_from(boundary.saturating_sub(position)).unwrap_or(usize::MAX);
                end = end.min(offset.saturating_add(until.max(1)));
            }
            let mut block: [&[f32]; MAX_CHANNELS] = [&[]; MAX_CHANNELS];
            for (slot, plane) in block.iter_mut().zip(&planes) {
                *slot = plane.get(offset..end).unwrap_or(&[]);
            }
            engine.process(&block[..channels]);
            if let Some(meter) = precise_true_peak.as_mut() {
                meter.process(&block[..channels]);
            }
            position += (end - offset) as u64;
            unreported += (end - offset) as u64;
            offset = end;

            if next_timeline == Some(position) {
                let peaks = engine.take_interval_peaks();
                let now = engine.instant();
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
            if next_vu == Some(position) {
                if let Some(average) = vu_average.as_mut() {
                    average.add(options.vu_reference, engine.instant().vu);
                }
                vu_k += 1;
                next_vu = Some(vu_frame(vu_k));
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

    let summary = engine.summary();
    // The mean VU deflection over the non-silent part, in dBFS (`vu_reference + VU`); minus
    // infinity when every reading was below the absolute gate.
    let vu_average_dbfs = vu_average
        .as_ref()
        .map_or(f32::NEG_INFINITY, |a| a.average_dbfs(options.vu_reference));
    let average_db = match target.average {
        AverageMeasure::Rms => summary.rms_aes17_gated_dbfs,
        AverageMeasure::Vu => vu_average_dbfs,
        AverageMeasure::Lufs => summary.integrated_lufs,
    };
    let peak_db = match (target.peak, &precise_true_peak) {
        (PeakMeasure::Sample, _) => summary.sample_peak_dbfs,
        (PeakMeasure::True, Some(meter)) => meter.read().max_over_channels(channels),
        (PeakMeasure::True, None) => summary.true_peak_dbtp,
    };
    Ok(Analysis {
        info,
        frames: position,
        summary,
        suggested_trim_db: target.suggested_trim_db(average_db, peak_db),
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
