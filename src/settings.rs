//! The editor's settings, persisted with the plugin state (nice-plug `#[persist]`), and the
//! requests the editor sends to the audio thread.
//!
//! The settings are read and written by the editor only, behind an `RwLock` the audio thread
//! never touches. The one setting the audio thread needs, the VU reference, is mirrored into an
//! atomic whenever the settings change (by the editor or by a state load), so `process()` reads
//! it without a lock.
//!
//! Loading never fails: a missing field takes its default, and a field that does not parse (old
//! or foreign state, a value out of range) takes its default too, without touching the others.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{RwLock, RwLockReadGuard};

use nice_plug::params::persist::PersistentField;
use serde::{Deserialize, Deserializer, Serialize};
use trimeter_meters::ppm::PpmScale;
use trimeter_meters::rms::KSystem;
use trimeter_meters::vu::VU_REFERENCE_RANGE_DBFS;

/// What the bar meters show.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MeterMode {
    /// VU (IEC 60268-17), -20..+3 VU.
    Vu,
    /// PPM (IEC 60268-10) on the scale [`EditorSettings::ppm_scale`].
    Ppm,
    /// K-system (K-20, K-14, K-12) on [`EditorSettings::k_system`].
    K,
    /// AES17 RMS in dBFS.
    Rms,
    /// Sample peak in dBFS.
    #[default]
    SamplePeak,
    /// Momentary loudness (EBU R 128), LUFS or LU relative to the target.
    Loudness,
}

impl MeterMode {
    /// Every mode, in menu order.
    pub const ALL: [MeterMode; 6] = [
        MeterMode::SamplePeak,
        MeterMode::Rms,
        MeterMode::K,
        MeterMode::Vu,
        MeterMode::Ppm,
        MeterMode::Loudness,
    ];

    /// The menu name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Vu => "VU",
            Self::Ppm => "PPM",
            Self::K => "K-system",
            Self::Rms => "RMS (AES17)",
            Self::SamplePeak => "Sample peak",
            Self::Loudness => "Loudness (M)",
        }
    }
}

/// What the main needle display shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum NeedleSource {
    /// One needle for the output (both channels' larger reading).
    #[default]
    Output,
    /// One needle for the input.
    Input,
    /// Two needles, left and right, of the output.
    OutputLeftRight,
    /// Large VU bars instead of a needle, output left and right.
    LargeBars,
}

impl NeedleSource {
    /// Every source, in menu order.
    pub const ALL: [NeedleSource; 4] = [
        NeedleSource::Output,
        NeedleSource::Input,
        NeedleSource::OutputLeftRight,
        NeedleSource::LargeBars,
    ];

    /// The menu name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Output => "Output VU",
            Self::Input => "Input VU",
            Self::OutputLeftRight => "Output VU L/R",
            Self::LargeBars => "Large VU bars",
        }
    }
}

/// How much history the graph shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum HistoryLength {
    /// The last minute.
    OneMinute,
    /// The last three minutes.
    #[default]
    ThreeMinutes,
    /// The last ten minutes (all the engine keeps).
    TenMinutes,
}

impl HistoryLength {
    /// Every length, in menu order.
    pub const ALL: [HistoryLength; 3] = [
        HistoryLength::OneMinute,
        HistoryLength::ThreeMinutes,
        HistoryLength::TenMinutes,
    ];

    /// The length in seconds.
    pub fn seconds(self) -> u32 {
        match self {
            Self::OneMinute => 60,
            Self::ThreeMinutes => 180,
            Self::TenMinutes => 600,
        }
    }

    /// The menu name.
    pub fn name(self) -> &'static str {
        match self {
            Self::OneMinute => "1 min",
            Self::ThreeMinutes => "3 min",
            Self::TenMinutes => "10 min",
        }
    }
}

/// The editor's default window size in logical pixels.
pub const DEFAULT_WINDOW_SIZE: (f32, f32) = (980.0, 640.0);
/// The smallest window the layout fits in, logical pixels.
pub const MIN_WINDOW_SIZE: (f32, f32) = (820.0, 560.0);
/// The largest window, logical pixels.
pub const MAX_WINDOW_SIZE: (f32, f32) = (3840.0, 2160.0);
/// The zoom range the editor accepts (100-300 % is tested).
pub const ZOOM_RANGE: std::ops::RangeInclusive<f32> = 0.5..=4.0;

/// Everything the editor persists.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct EditorSettings {
    /// What the bars show.
    pub meter_mode: MeterMode,
    /// The PPM scale (and so its type, IEC 60268-10 Type I or II) in PPM mode.
    pub ppm_scale: PpmScale,
    /// The K-system scale in K mode.
    pub k_system: KSystem,
    /// Loudness in LU relative to the target instead of LUFS.
    pub loudness_relative: bool,
    /// The sine peak level in dBFS that reads 0 VU; inside [`VU_REFERENCE_RANGE_DBFS`].
    pub vu_reference_dbfs: f32,
    /// What the needle shows.
    pub needle_source: NeedleSource,
    /// The VU face's percentage scale (IEC 60268-17: 100 % = 0 VU) under the VU scale.
    pub vu_percent_scale: bool,
    /// How much history the graph shows.
    pub history_length: HistoryLength,
    /// The numeric readouts show the input instead of the output.
    pub readouts_show_input: bool,
    /// The window size in logical pixels, (width, height).
    pub window_size: (f32, f32),
    /// The user's zoom factor (1.0 = 100 %).
    pub zoom: f32,
}

impl Default for EditorSettings {
    fn default() -> Self {
        Self {
            meter_mode: MeterMode::default(),
            ppm_scale: PpmScale::default(),
            k_system: KSystem::default(),
            loudness_relative: false,
            vu_reference_dbfs: -18.0,
            needle_source: NeedleSource::default(),
            vu_percent_scale: true,
            history_length: HistoryLength::default(),
            readouts_show_input: false,
            window_size: DEFAULT_WINDOW_SIZE,
            zoom: 1.0,
        }
    }
}

impl EditorSettings {
    /// The same settings with every value brought into its valid range (NaN to the default).
    pub fn sanitized(mut self) -> Self {
        let defaults = Self::default();
        self.vu_reference_dbfs = clamp_or(
            self.vu_reference_dbfs,
            *VU_REFERENCE_RANGE_DBFS.start(),
            *VU_REFERENCE_RANGE_DBFS.end(),
            defaults.vu_reference_dbfs,
        );
        self.window_size = (
            clamp_or(
                self.window_size.0,
                MIN_WINDOW_SIZE.0,
                MAX_WINDOW_SIZE.0,
                DEFAULT_WINDOW_SIZE.0,
            ),
            clamp_or(
                self.window_size.1,
                MIN_WINDOW_SIZE.1,
                MAX_WINDOW_SIZE.1,
                DEFAULT_WINDOW_SIZE.1,
            ),
        );
        self.zoom = clamp_or(
            self.zoom,
            *ZOOM_RANGE.start(),
            *ZOOM_RANGE.end(),
            defaults.zoom,
        );
        self
    }
}

fn clamp_or(value: f32, min: f32, max: f32, default: f32) -> f32 {
    if value.is_nan() {
        default
    } else {
        value.clamp(min, max)
    }
}

impl<'de> Deserialize<'de> for EditorSettings {
    /// Any JSON value loads: fields that are missing or do not parse take their defaults.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        Ok(Self::from_json_lenient(&value))
    }
}

/// The field `key` of a JSON object, or `default` when it is missing or does not parse: how
/// persisted settings load leniently, field by field.
pub(crate) fn field<T: serde::de::DeserializeOwned>(
    value: &serde_json::Value,
    key: &str,
    default: T,
) -> T {
    value
        .get(key)
        .and_then(|v| T::deserialize(v).ok())
        .unwrap_or(default)
}

impl EditorSettings {
    /// Reads each known field of a JSON object on its own; anything else is ignored.
    fn from_json_lenient(value: &serde_json::Value) -> Self {
        let d = Self::default();
        Self {
            meter_mode: field(value, "meter_mode", d.meter_mode),
            ppm_scale: field(value, "ppm_scale", d.ppm_scale),
            k_system: field(value, "k_system", d.k_system),
            loudness_relative: field(value, "loudness_relative", d.loudness_relative),
            vu_reference_dbfs: field(value, "vu_reference_dbfs", d.vu_reference_dbfs),
            needle_source: field(value, "needle_source", d.needle_source),
            vu_percent_scale: field(value, "vu_percent_scale", d.vu_percent_scale),
            history_length: field(value, "history_length", d.history_length),
            readouts_show_input: field(value, "readouts_show_input", d.readouts_show_input),
            window_size: field(value, "window_size", d.window_size),
            zoom: field(value, "zoom", d.zoom),
        }
        .sanitized()
    }
}

/// The persisted settings and the audio thread's copy of the VU reference.
#[derive(Debug)]
pub struct SettingsStore {
    settings: RwLock<EditorSettings>,
    /// [`EditorSettings::vu_reference_dbfs`] as f32 bits, for `process()`.
    vu_reference_bits: AtomicU32,
}

impl Default for SettingsStore {
    fn default() -> Self {
        let settings = EditorSettings::default();
        Self {
            settings: RwLock::new(settings),
            vu_reference_bits: AtomicU32::new(settings.vu_reference_dbfs.to_bits()),
        }
    }
}

impl SettingsStore {
    /// The settings now. Not for the audio thread (takes a read lock).
    pub fn get(&self) -> EditorSettings {
        *self.read()
    }

    /// Replaces the settings (sanitized) and updates the audio thread's VU reference. Not for
    /// the audio thread.
    pub fn set(&self, settings: EditorSettings) {
        let settings = settings.sanitized();
        *self.settings.write().unwrap_or_else(|e| e.into_inner()) = settings;
        self.vu_reference_bits
            .store(settings.vu_reference_dbfs.to_bits(), Ordering::Release);
    }

    /// The VU reference in dBFS. Lock-free: for the audio thread.
    pub fn vu_reference_dbfs(&self) -> f32 {
        f32::from_bits(self.vu_reference_bits.load(Ordering::Acquire))
    }

    fn read(&self) -> RwLockReadGuard<'_, EditorSettings> {
        self.settings.read().unwrap_or_else(|e| e.into_inner())
    }
}

impl<'a> PersistentField<'a, EditorSettings> for SettingsStore {
    fn set(&self, new_value: EditorSettings) {
        SettingsStore::set(self, new_value);
    }

    fn map<F, R>(&self, f: F) -> R
    where
        F: Fn(&EditorSettings) -> R,
    {
        f(&self.read())
    }
}

/// Resets the editor asks the audio thread for; bits of one atomic, taken by `process()`.
#[derive(Debug, Default)]
pub struct ResetRequests(AtomicU32);

impl ResetRequests {
    /// The input's sample-peak meter (maximum, hold, clip counts).
    pub const INPUT_SAMPLE_PEAK: u32 = 1 << 0;
    /// The input's true-peak meter.
    pub const INPUT_TRUE_PEAK: u32 = 1 << 1;
    /// The input's integrated loudness, loudness range and loudness maxima.
    pub const INPUT_LOUDNESS: u32 = 1 << 2;
    /// The output's sample-peak meter.
    pub const OUTPUT_SAMPLE_PEAK: u32 = 1 << 3;
    /// The output's true-peak meter.
    pub const OUTPUT_TRUE_PEAK: u32 = 1 << 4;
    /// The output's integrated loudness, loudness range and loudness maxima.
    pub const OUTPUT_LOUDNESS: u32 = 1 << 5;
    /// Every meter of both engines and the non-finite count.
    pub const ALL: u32 = 1 << 6;

    /// Asks for the resets in `bits`. Lock-free.
    pub fn request(&self, bits: u32) {
        self.0.fetch_or(bits, Ordering::AcqRel);
    }

    /// Takes the pending requests. Lock-free: for the audio thread.
    pub fn take(&self) -> u32 {
        self.0.swap(0, Ordering::AcqRel)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_round_trip_through_json() {
        let settings = EditorSettings {
            meter_mode: MeterMode::Ppm,
            ppm_scale: PpmScale::Nordic,
            k_system: KSystem::K14,
            loudness_relative: true,
            vu_reference_dbfs: -20.0,
            needle_source: NeedleSource::OutputLeftRight,
            vu_percent_scale: false,
            history_length: HistoryLength::TenMinutes,
            readouts_show_input: true,
            window_size: (1200.0, 800.0),
            zoom: 1.5,
        };
        let json = serde_json::to_string(&settings).unwrap();
        let back: EditorSettings = serde_json::from_str(&json).unwrap();
        assert_eq!(back, settings);
    }

    #[test]
    fn old_or_foreign_state_falls_back_field_by_field() {
        // A field of an unknown kind, an unknown variant, a missing field, a value out of range.
        let json = r#"{"meter_mode":"Spectrogram","ppm_scale":"Ebu","vu_reference_dbfs":12.0,
            "zoom":"big","window_size":[100.0,100.0],"something_else":3}"#;
        let s: EditorSettings = serde_json::from_str(json).unwrap();
        let d = EditorSettings::default();
        assert_eq!(s.meter_mode, d.meter_mode);
        assert_eq!(s.ppm_scale, PpmScale::Ebu);
        assert_eq!(s.vu_reference_dbfs, 0.0);
        assert_eq!(s.zoom, d.zoom);
        assert_eq!(s.window_size, MIN_WINDOW_SIZE);
        assert_eq!(s.history_length, d.history_length);
        // Not even an object.
        let s: EditorSettings = serde_json::from_str("[1, 2, 3]").unwrap();
        assert_eq!(s, d);
        let s: EditorSettings = serde_json::from_str("null").unwrap();
        assert_eq!(s, d);
    }

    #[test]
    fn the_vu_reference_reaches_the_atomic_on_every_path() {
        let store = SettingsStore::default();
        assert_eq!(store.vu_reference_dbfs(), -18.0);
        store.set(EditorSettings {
            vu_reference_dbfs: -14.0,
            ..EditorSettings::default()
        });
        assert_eq!(store.vu_reference_dbfs(), -14.0);
        // A state load goes through PersistentField::set.
        PersistentField::set(
            &store,
            EditorSettings {
                vu_reference_dbfs: f32::NAN,
                ..EditorSettings::default()
            },
        );
        assert_eq!(store.vu_reference_dbfs(), -18.0);
    }

    #[test]
    fn reset_requests_accumulate_until_taken() {
        let requests = ResetRequests::default();
        requests.request(ResetRequests::INPUT_SAMPLE_PEAK);
        requests.request(ResetRequests::OUTPUT_LOUDNESS);
        assert_eq!(
            requests.take(),
            ResetRequests::INPUT_SAMPLE_PEAK | ResetRequests::OUTPUT_LOUDNESS
        );
        assert_eq!(requests.take(), 0);
    }
}
