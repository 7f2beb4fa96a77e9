//! The assistant's persisted settings (`#[persist = "assistant"]`): the target (a preset or
//! custom values), where Apply puts the gain, and the transport options.
//!
//! As with the editor's settings, the editor reads and writes them behind an `RwLock` the audio
//! thread never touches; what the audio thread needs (the target and the transport options) is
//! packed into one atomic whenever they change, so `process()` reads a consistent copy without
//! a lock. Loading never fails: a missing or unparsable field takes its default.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{RwLock, RwLockReadGuard};

use nice_plug::params::persist::PersistentField;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use trimeter_meters::staging::presets::{self, Preset};
use trimeter_meters::staging::{AverageMeasure, PeakMeasure, StagingTarget};

/// Custom targets (average and ceiling) are kept inside this range, dB.
pub const TARGET_RANGE_DB: std::ops::RangeInclusive<f32> = -60.0..=0.0;
/// Targets are kept to this resolution (dB), so the packed copy the audio thread reads is exact.
const RESOLUTION_DB: f32 = 0.01;

/// Which gain Apply sets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ApplyTo {
    /// Input Trim: the usual place, at the start of a chain.
    #[default]
    Trim,
    /// Output Makeup: at the end of a chain, after the plugins the trim feeds.
    Makeup,
}

impl ApplyTo {
    /// The menu name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Trim => "Input Trim",
            Self::Makeup => "Output Makeup",
        }
    }
}

/// Everything the assistant persists.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AssistantSettings {
    /// The preset the target came from (its [`Preset::id`]); `None` for custom values.
    pub preset: Option<&'static str>,
    /// The target in force: the preset's numbers, or the custom ones.
    pub target: StagingTarget,
    /// Which gain Apply sets.
    pub apply_to: ApplyTo,
    /// Integrated loudness, loudness range and learning pause while the host transport is
    /// stopped.
    pub pause_when_stopped: bool,
    /// Integrated loudness, loudness range and learning start over when playback starts from
    /// another position than where it stopped.
    pub reset_on_jump: bool,
}

impl Default for AssistantSettings {
    fn default() -> Self {
        Self::with_preset(DEFAULT_PRESET_REF)
    }
}

/// The preset a new instance starts with: Tracking / clip gain, the first in the table.
const DEFAULT_PRESET_REF: &Preset = &presets::PRESETS[0];

impl AssistantSettings {
    /// The defaults with `preset` chosen.
    pub fn with_preset(preset: &'static Preset) -> Self {
        Self {
            preset: Some(preset.id),
            target: preset.target,
            apply_to: ApplyTo::default(),
            pause_when_stopped: true,
            reset_on_jump: true,
        }
    }

    /// Chooses `preset`: its numbers become the target. Changes nothing else (and never the
    /// audio: only Apply does that).
    pub fn choose_preset(&mut self, preset: &'static Preset) {
        self.preset = Some(preset.id);
        self.target = preset.target;
    }

    /// Sets custom numbers: the target no longer comes from a preset (unless it still equals the
    /// chosen preset's).
    pub fn set_custom(&mut self, target: StagingTarget) {
        let target = sanitize_target(target);
        if target != self.target {
            self.target = target;
            self.preset = None;
        }
    }

    /// The target the meter bridge draws (the average band, the ceiling line and the hint,
    /// all on dBFS scales): this target when its average is in dBFS (RMS or VU), the default
    /// -18 dBFS / -6 dBFS otherwise (a loudness target has no place on a dBFS bar).
    pub fn meter_target(&self) -> StagingTarget {
        if self.target.average == AverageMeasure::Lufs {
            StagingTarget::default()
        } else {
            self.target
        }
    }

    /// The chosen preset, if any.
    pub fn preset(&self) -> Option<&'static Preset> {
        self.preset.and_then(presets::preset)
    }

    /// The same settings with the target rounded into its range and a preset's numbers restored.
    pub fn sanitized(mut self) -> Self {
        match self.preset() {
            Some(preset) => self.target = preset.target,
            None => {
                self.preset = None;
                self.target = sanitize_target(self.target);
            }
        }
        self
    }
}

fn sanitize_target(target: StagingTarget) -> StagingTarget {
    let defaults = StagingTarget::default();
    let clean = |db: f32, default: f32| {
        let db = if db.is_nan() { default } else { db };
        let db = db.clamp(*TARGET_RANGE_DB.start(), *TARGET_RANGE_DB.end());
        (db / RESOLUTION_DB).round() * RESOLUTION_DB
    };
    StagingTarget {
        target_db: clean(target.target_db, defaults.target_db),
        ceiling_db: clean(target.ceiling_db, defaults.ceiling_db),
        ..target
    }
}

/// The saved form: plain fields by name.
#[derive(Serialize)]
struct Saved {
    preset: Option<&'static str>,
    target_db: f32,
    average: AverageMeasure,
    ceiling_db: f32,
    peak: PeakMeasure,
    apply_to: ApplyTo,
    pause_when_stopped: bool,
    reset_on_jump: bool,
}

impl Serialize for AssistantSettings {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        Saved {
            preset: self.preset,
            target_db: self.target.target_db,
            average: self.target.average,
            ceiling_db: self.target.ceiling_db,
            peak: self.target.peak,
            apply_to: self.apply_to,
            pause_when_stopped: self.pause_when_stopped,
            reset_on_jump: self.reset_on_jump,
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for AssistantSettings {
    /// Any JSON value loads: fields that are missing or do not parse take their defaults; an
    /// unknown preset id means custom values.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(deserializer)?;
        Ok(Self::from_json_lenient(&value))
    }
}

impl AssistantSettings {
    fn from_json_lenient(value: &serde_json::Value) -> Self {
        use crate::settings::field;
        let d = Self::default();
        let preset = match value.get("preset") {
            // Explicitly custom.
            Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::String(id)) => presets::preset(id).map(|p| p.id),
            _ => d.preset,
        };
        Self {
            preset,
            target: StagingTarget {
                target_db: field(value, "target_db", d.target.target_db),
                average: field(value, "average", d.target.average),
                ceiling_db: field(value, "ceiling_db", d.target.ceiling_db),
                peak: field(value, "peak", d.target.peak),
            },
            apply_to: field(value, "apply_to", d.apply_to),
            pause_when_stopped: field(value, "pause_when_stopped", d.pause_when_stopped),
            reset_on_jump: field(value, "reset_on_jump", d.reset_on_jump),
        }
        .sanitized()
    }
}

/// What the audio thread needs of the settings, unpacked from one atomic.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AudioSettings {
    /// The target the learner's stability check follows.
    pub target: StagingTarget,
    /// See [`AssistantSettings::pause_when_stopped`].
    pub pause_when_stopped: bool,
    /// See [`AssistantSettings::reset_on_jump`].
    pub reset_on_jump: bool,
}

impl AudioSettings {
    /// Packs into 64 bits: target and ceiling as centi-dB (i16), the two measures, two flags.
    fn pack(self) -> u64 {
        let centi = |db: f32| u64::from((db / RESOLUTION_DB).round() as i16 as u16);
        let average = AverageMeasure::ALL
            .iter()
            .position(|&m| m == self.target.average)
            .unwrap_or(0) as u64;
        let peak = PeakMeasure::ALL
            .iter()
            .position(|&m| m == self.target.peak)
            .unwrap_or(0) as u64;
        centi(self.target.target_db)
            | centi(self.target.ceiling_db) << 16
            | average << 32
            | peak << 34
            | u64::from(self.pause_when_stopped) << 35
            | u64::from(self.reset_on_jump) << 36
    }

    fn unpack(bits: u64) -> Self {
        let db = |shift: u32| f32::from((bits >> shift) as u16 as i16) * RESOLUTION_DB;
        Self {
            target: StagingTarget {
                target_db: db(0),
                ceiling_db: db(16),
                average: AverageMeasure::ALL[((bits >> 32) & 3).min(2) as usize],
                peak: PeakMeasure::ALL[((bits >> 34) & 1) as usize],
            },
            pause_when_stopped: bits >> 35 & 1 == 1,
            reset_on_jump: bits >> 36 & 1 == 1,
        }
    }
}

impl From<AssistantSettings> for AudioSettings {
    fn from(s: AssistantSettings) -> Self {
        Self {
            target: s.target,
            pause_when_stopped: s.pause_when_stopped,
            reset_on_jump: s.reset_on_jump,
        }
    }
}

/// The persisted settings and the audio thread's packed copy.
#[derive(Debug)]
pub struct AssistantStore {
    settings: RwLock<AssistantSettings>,
    audio: AtomicU64,
}

impl Default for AssistantStore {
    fn default() -> Self {
        let settings = AssistantSettings::default();
        Self {
            settings: RwLock::new(settings),
            audio: AtomicU64::new(AudioSettings::from(settings).pack()),
        }
    }
}

impl AssistantStore {
    /// The settings now. Not for the audio thread (takes a read lock).
    pub fn get(&self) -> AssistantSettings {
        *self.read()
    }

    /// Replaces the settings (sanitized) and the audio thread's copy. Not for the audio thread.
    pub fn set(&self, settings: AssistantSettings) {
        let settings = settings.sanitized();
        *self.settings.write().unwrap_or_else(|e| e.into_inner()) = settings;
        self.audio
            .store(AudioSettings::from(settings).pack(), Ordering::Release);
    }

    /// What the audio thread needs. Lock-free.
    pub fn audio(&self) -> AudioSettings {
        AudioSettings::unpack(self.audio.load(Ordering::Acquire))
    }

    fn read(&self) -> RwLockReadGuard<'_, AssistantSettings> {
        self.settings.read().unwrap_or_else(|e| e.into_inner())
    }
}

impl<'a> PersistentField<'a, AssistantSettings> for AssistantStore {
    fn set(&self, new_value: AssistantSettings) {
        AssistantStore::set(self, new_value);
    }

    fn map<F, R>(&self, f: F) -> R
    where
        F: Fn(&AssistantSettings) -> R,
    {
        f(&self.read())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_round_trip_and_presets_win_over_stale_numbers() {
        let mut settings = AssistantSettings::default();
        settings.choose_preset(presets::preset("r128").unwrap());
        settings.apply_to = ApplyTo::Makeup;
        settings.reset_on_jump = false;
        let json = serde_json::to_string(&settings).unwrap();
        let back: AssistantSettings = serde_json::from_str(&json).unwrap();
        assert_eq!(back, settings);
        assert_eq!(back.target.target_db, -23.0);
        // A preset's numbers come from the table, not from what was saved beside its id.
        let stale = json.replace("-23.0", "-5.0");
        let back: AssistantSettings = serde_json::from_str(&stale).unwrap();
        assert_eq!(back.target, presets::preset("r128").unwrap().target);

        let mut custom = AssistantSettings::default();
        custom.set_custom(StagingTarget {
            target_db: -20.456,
            average: AverageMeasure::Vu,
            ceiling_db: -3.0,
            peak: PeakMeasure::True,
        });
        assert_eq!(custom.preset, None);
        assert_eq!(custom.target.target_db, -20.46);
        let back: AssistantSettings =
            serde_json::from_str(&serde_json::to_string(&custom).unwrap()).unwrap();
        assert_eq!(back, custom);
    }

    #[test]
    fn the_meter_bridge_follows_dbfs_targets_only() {
        let mut s = AssistantSettings::default();
        assert_eq!(s.meter_target(), StagingTarget::default());
        s.choose_preset(presets::preset("k14").unwrap());
        assert_eq!(s.meter_target(), s.target);
        s.choose_preset(presets::preset("streaming").unwrap());
        assert_eq!(s.meter_target(), StagingTarget::default());
    }

    #[test]
    fn foreign_state_falls_back_field_by_field() {
        let json = r#"{"preset":"loudest","target_db":"x","average":"Lufs","ceiling_db":40,
            "apply_to":"Elsewhere","pause_when_stopped":false}"#;
        let s: AssistantSettings = serde_json::from_str(json).unwrap();
        let d = AssistantSettings::default();
        assert_eq!(s.preset, None, "an unknown preset is custom");
        assert_eq!(s.target.target_db, d.target.target_db);
        assert_eq!(s.target.average, AverageMeasure::Lufs);
        assert_eq!(s.target.ceiling_db, 0.0, "clamped");
        assert_eq!(s.apply_to, d.apply_to);
        assert!(!s.pause_when_stopped);
        assert!(s.reset_on_jump);
        for junk in ["[1,2]", "null", "\"assistant\"", "{}"] {
            let s: AssistantSettings = serde_json::from_str(junk).unwrap();
            assert_eq!(s, d, "{junk}");
        }
    }

    #[test]
    fn the_audio_threads_copy_is_exact_for_every_preset_and_option() {
        let store = AssistantStore::default();
        assert_eq!(store.audio(), AudioSettings::from(store.get()));
        for preset in presets::PRESETS {
            for (pause, jump) in [(false, false), (true, false), (false, true), (true, true)] {
                let mut s = AssistantSettings::with_preset(preset);
                s.pause_when_stopped = pause;
                s.reset_on_jump = jump;
                store.set(s);
                assert_eq!(store.audio(), AudioSettings::from(s), "{}", preset.id);
            }
        }
        let mut custom = AssistantSettings::default();
        custom.set_custom(StagingTarget {
            target_db: -59.99,
            average: AverageMeasure::Lufs,
            ceiling_db: -0.01,
            peak: PeakMeasure::True,
        });
        store.set(custom);
        assert_eq!(store.audio().target, custom.target);
        // A state load goes through PersistentField::set.
        PersistentField::set(&store, AssistantSettings::default());
        assert_eq!(
            store.audio(),
            AudioSettings::from(AssistantSettings::default())
        );
    }
}
