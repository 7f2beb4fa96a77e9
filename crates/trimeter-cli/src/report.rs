//! Output of `analyze`: the JSON contract and the human table.
//!
//! The JSON field names are a stable contract (documented in README): renaming one breaks
//! people's scripts. Every field is always present; unknown values and minus infinity (silence)
//! are written as `null`.

use std::path::Path;

use serde::Serialize;
use trimeter_meters::true_peak::TruePeakMode;

use crate::analyze::{Analysis, TimelinePoint};

/// Files shorter than this (the 400 ms momentary window) have no loudness: the table says
/// "undefined" rather than "-inf", which would claim digital silence.
const LOUDNESS_MIN_DURATION_S: f64 = 0.4;

/// The name of a true-peak mode in the JSON contract.
pub fn true_peak_mode_name(mode: TruePeakMode) -> &'static str {
    match mode {
        TruePeakMode::Standard => "standard",
        TruePeakMode::Precise => "precise",
    }
}

/// `text` with control characters (newline, tab, escape, ...) written as escapes (`\n`,
/// `\u{1b}`), so a file name cannot break the table's lines or drive the terminal.
pub fn escape_control(text: &str) -> String {
    if !text.chars().any(char::is_control) {
        return text.to_string();
    }
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// A level for JSON: `None` (written `null`) for minus infinity and NaN.
pub fn level(value: f32) -> Option<f32> {
    value.is_finite().then_some(value)
}

/// One file's `analyze` result as written in the JSON array.
#[derive(Serialize, Debug)]
pub struct FileReport {
    /// The path as given on the command line.
    pub path: String,
    /// Whether the file was decoded and measured.
    pub ok: bool,
    /// Why not, when `ok` is false.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Sample rate in Hz.
    pub sample_rate: Option<u32>,
    /// Channel count.
    pub channels: Option<usize>,
    /// Duration in seconds.
    pub duration_s: Option<f64>,
    /// NaN and infinite samples in the file (measured as zero); 0 for a clean file.
    pub non_finite_samples: Option<u64>,
    /// Highest sample peak over all channels, in dBFS.
    pub sample_peak_dbfs: Option<f32>,
    /// Highest true peak, in dBTP, measured in `true_peak_mode`.
    pub true_peak_dbtp: Option<f32>,
    /// How `true_peak_dbtp` was measured: "standard" (BS.1770 Annex 2) or "precise".
    pub true_peak_mode: &'static str,
    /// Plain RMS of all samples of all channels, in dBFS.
    pub rms_dbfs: Option<f32>,
    /// AES17 RMS (plain + 3.01 dB) of all samples, in dBFS.
    pub rms_aes17_dbfs: Option<f32>,
    /// Highest VU reading, in VU.
    pub vu_max: Option<f32>,
    /// Highest PPM reading, in dBFS of the equivalent steady sine.
    pub ppm_max_dbfs: Option<f32>,
    /// Highest momentary loudness, in LUFS.
    pub momentary_max_lufs: Option<f32>,
    /// Highest short-term loudness, in LUFS.
    pub short_term_max_lufs: Option<f32>,
    /// Integrated loudness, in LUFS.
    pub integrated_lufs: Option<f32>,
    /// Loudness range (EBU Tech 3342), in LU.
    pub loudness_range_lu: Option<f32>,
    /// Peak-to-loudness ratio (true peak - integrated), in LU.
    pub plr_lu: Option<f32>,
    /// `min(target - average, ceiling - peak)`, in dB.
    pub suggested_trim_db: Option<f32>,
    /// Which limit gives the suggested trim: "average" (the target) or "ceiling" (the peaks);
    /// null when there is no suggestion.
    pub suggested_trim_reason: Option<&'static str>,
    /// The `--preset` the target came from (before any override), or null.
    pub preset: Option<&'static str>,
    /// With `--timeline`: one entry every MS milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeline: Option<Vec<TimelineReport>>,
}

/// One `timeline` entry as written in JSON.
#[derive(Serialize, Debug)]
pub struct TimelineReport {
    /// Seconds from the start: k * MS / 1000, k >= 1.
    pub t_s: f64,
    /// Highest sample peak in the interval, in dBFS.
    pub sample_peak_dbfs: Option<f32>,
    /// Highest true peak in the interval, in dBTP.
    pub true_peak_dbtp: Option<f32>,
    /// RMS reading at `t_s`, in dBFS.
    pub rms_dbfs: Option<f32>,
    /// VU reading at `t_s`, in VU.
    pub vu: Option<f32>,
    /// PPM reading at `t_s`, in dBFS of the equivalent steady sine.
    pub ppm_dbfs: Option<f32>,
    /// Momentary loudness at `t_s`, in LUFS.
    pub momentary_lufs: Option<f32>,
    /// Short-term loudness at `t_s`, in LUFS.
    pub short_term_lufs: Option<f32>,
}

impl From<&TimelinePoint> for TimelineReport {
    fn from(p: &TimelinePoint) -> Self {
        Self {
            t_s: p.t_s,
            sample_peak_dbfs: level(p.sample_peak_dbfs),
            true_peak_dbtp: level(p.true_peak_dbtp),
            rms_dbfs: level(p.rms_dbfs),
            vu: level(p.vu),
            ppm_dbfs: level(p.ppm_dbfs),
            momentary_lufs: level(p.momentary_lufs),
            short_term_lufs: level(p.short_term_lufs),
        }
    }
}

impl FileReport {
    /// The report for one file's result; `true_peak_mode` is the mode asked for (the one a
    /// failed file would have been measured in).
    pub fn new(
        path: &Path,
        result: &Result<Analysis, String>,
        true_peak_mode: TruePeakMode,
        preset: Option<&'static str>,
    ) -> Self {
        let path = path.display().to_string();
        match result {
            Ok(a) => {
                let s = &a.summary;
                Self {
                    path,
                    ok: true,
                    error: None,
                    sample_rate: Some(a.info.sample_rate_hz),
                    channels: Some(a.info.channels),
                    duration_s: Some(a.duration_s()),
                    non_finite_samples: Some(a.non_finite_samples),
                    sample_peak_dbfs: level(s.sample_peak_dbfs),
                    true_peak_dbtp: level(s.true_peak_dbtp),
                    true_peak_mode: true_peak_mode_name(a.true_peak_mode),
                    rms_dbfs: level(s.rms_dbfs),
                    rms_aes17_dbfs: level(s.rms_aes17_dbfs),
                    vu_max: level(s.vu_max),
                    ppm_max_dbfs: level(s.ppm_max_dbfs),
                    momentary_max_lufs: level(s.momentary_max_lufs),
                    short_term_max_lufs: level(s.short_term_max_lufs),
                    integrated_lufs: level(s.integrated_lufs),
                    loudness_range_lu: level(s.loudness_range_lu),
                    plr_lu: level(s.plr_lu),
                    suggested_trim_db: a.suggested_trim_db.and_then(level),
                    suggested_trim_reason: a.suggestion.map(|s| s.limit.as_str()),
                    preset,
                    timeline: a
                        .timeline
                        .as_ref()
                        .map(|t| t.iter().map(TimelineReport::from).collect()),
                }
            }
            Err(error) => Self {
                path,
                ok: false,
                error: Some(error.clone()),
                sample_rate: None,
                channels: None,
                duration_s: None,
                non_finite_samples: None,
                sample_peak_dbfs: None,
                true_peak_dbtp: None,
                true_peak_mode: true_peak_mode_name(true_peak_mode),
                rms_dbfs: None,
                rms_aes17_dbfs: None,
                vu_max: None,
                ppm_max_dbfs: None,
                momentary_max_lufs: None,
                short_term_max_lufs: None,
                integrated_lufs: None,
                loudness_range_lu: None,
                plr_lu: None,
                suggested_trim_db: None,
                suggested_trim_reason: None,
                preset,
                timeline: None,
            },
        }
    }
}

/// Formats with one decimal; values that round to zero print without a minus sign.
fn one_decimal(value: f32, signed: bool) -> String {
    let value = if (value * 10.0).round() == 0.0 {
        0.0
    } else {
        value
    };
    if signed {
        format!("{value:+.1}")
    } else {
        format!("{value:.1}")
    }
}

/// Formats a level with one decimal; silence as `-inf`, unknown as `-`.
fn cell(value: Option<f32>, silent_is_inf: bool) -> String {
    match value {
        Some(v) => one_decimal(v, false),
        None if silent_is_inf => "-inf".into(),
        None => "-".into(),
    }
}

/// The human table: one aligned row per file, failures listed below it.
pub fn table(reports: &[FileReport]) -> String {
    const HEADER: [&str; 14] = [
        "file",
        "peak dBFS",
        "TP dBTP",
        "RMS dBFS",
        "VU max",
        "LUFS-I",
        "LRA LU",
        "M max",
        "S max",
        "PLR LU",
        "trim dB",
        "limit",
        "non-finite",
        "duration",
    ];
    let mut rows: Vec<[String; 14]> = Vec::new();
    let mut failures = Vec::new();
    for r in reports {
        if !r.ok {
            failures.push(escape_control(&format!(
                "{}: error: {}",
                r.path,
                r.error.as_deref().unwrap_or("unknown")
            )));
            continue;
        }
        let duration = r.duration_s.unwrap_or(0.0);
        // Shorter than one 400 ms momentary block: no loudness is defined (not silence).
        let loudness = |value: Option<f32>, silent_is_inf: bool| {
            if duration < LOUDNESS_MIN_DURATION_S {
                "undefined".to_string()
            } else {
                cell(value, silent_is_inf)
            }
        };
        rows.push([
            escape_control(&r.path),
            cell(r.sample_peak_dbfs, true),
            cell(r.true_peak_dbtp, true),
            cell(r.rms_aes17_dbfs, true),
            cell(r.vu_max, true),
            loudness(r.integrated_lufs, true),
            loudness(r.loudness_range_lu, false),
            loudness(r.momentary_max_lufs, true),
            loudness(r.short_term_max_lufs, true),
            loudness(r.plr_lu, false),
            r.suggested_trim_db
                .map_or("-".into(), |t| one_decimal(t, true)),
            r.suggested_trim_reason.unwrap_or("-").to_string(),
            r.non_finite_samples.unwrap_or(0).to_string(),
            format!("{}:{:04.1}", (duration / 60.0).floor(), duration % 60.0),
        ]);
    }
    let mut out = String::new();
    if !rows.is_empty() {
        let mut widths = HEADER.map(str::len);
        for row in &rows {
            for (w, c) in widths.iter_mut().zip(row) {
                *w = (*w).max(c.chars().count());
            }
        }
        let mut line = |cells: &[String]| {
            for (i, (c, w)) in cells.iter().zip(widths).enumerate() {
                if i == 0 {
                    out.push_str(&format!("{c:<w$}"));
                } else {
                    out.push_str(&format!("  {c:>w$}"));
                }
            }
            out.push('\n');
        };
        line(&HEADER.map(String::from));
        for row in &rows {
            line(row);
        }
    }
    for failure in failures {
        out.push_str(&failure);
        out.push('\n');
    }
    out
}
