//! The plugin's parameters. Ids are short and stable: hosts store automation and presets by
//! them, so they never change (a test pins them).

use std::sync::Arc;

use nice_plug::prelude::*;

use crate::assistant::settings::AssistantStore;
use crate::link::params::LinkParams;
use crate::settings::SettingsStore;
use trimeter_meters::gain::GainTargets;
use trimeter_meters::meter::MAX_CHANNELS;

/// The trim and makeup range in dB, symmetric around 0.
pub const GAIN_RANGE_DB: f32 = 36.0;

/// Every parameter id, in declaration order. Pinned by a test: changing one breaks saved
/// automation and presets in every host.
pub const PARAM_IDS: [&str; 10] = [
    "trim",
    "makeup",
    "inv_l",
    "inv_r",
    "bypass",
    "link_role",
    "link_group",
    "match_mode",
    "match_measure",
    "compare",
];

/// Trimeter's parameters.
#[derive(Params)]
pub struct TrimeterParams {
    /// Input trim in dB, applied after the input meters.
    #[id = "trim"]
    pub trim_db: FloatParam,
    /// Output makeup in dB, applied before the output meters.
    #[id = "makeup"]
    pub makeup_db: FloatParam,
    /// Inverts the polarity of the left (or mono) channel.
    #[id = "inv_l"]
    pub invert_left: BoolParam,
    /// Inverts the polarity of the right channel.
    #[id = "inv_r"]
    pub invert_right: BoolParam,
    /// The host bypass: output = input, crossfaded over 10 ms.
    #[id = "bypass"]
    pub bypass: BoolParam,
    /// The level-match link (src/link/params.rs): ids unprefixed, pinned above.
    #[nested]
    pub link: LinkParams,
    /// The editor's settings (meter mode, PPM scale, VU reference, needle, history length,
    /// window size and zoom), saved with the plugin state. Not automatable.
    #[persist = "editor"]
    pub editor: SettingsStore,
    /// The gain-staging assistant's target and options, saved with the plugin state. Not
    /// automatable; choosing a target never changes the audio.
    #[persist = "assistant"]
    pub assistant: AssistantStore,
}

impl Default for TrimeterParams {
    fn default() -> Self {
        Self {
            trim_db: gain_param("Input Trim"),
            makeup_db: gain_param("Output Makeup"),
            invert_left: BoolParam::new("Invert Left", false)
                .with_value_to_string(Arc::new(polarity_to_string))
                .with_string_to_value(Arc::new(string_to_polarity)),
            invert_right: BoolParam::new("Invert Right", false)
                .with_value_to_string(Arc::new(polarity_to_string))
                .with_string_to_value(Arc::new(string_to_polarity)),
            bypass: BoolParam::new("Bypass", false).make_bypass(),
            link: LinkParams::default(),
            editor: SettingsStore::default(),
            assistant: AssistantStore::default(),
        }
    }
}

impl TrimeterParams {
    /// The gain stage's targets as the parameters stand now. Lock-free (atomic loads).
    pub fn gain_targets(&self) -> GainTargets {
        let mut invert = [false; MAX_CHANNELS];
        invert[0] = self.invert_left.value();
        invert[1] = self.invert_right.value();
        GainTargets {
            trim_db: self.trim_db.value(),
            makeup_db: self.makeup_db.value(),
            invert,
            bypass: self.bypass.value(),
        }
    }
}

/// A -36..+36 dB gain parameter. Smoothing is done by the gain stage (src/dsp/gain.rs), which
/// ramps in the dB domain sample by sample, so the parameter itself is not smoothed.
fn gain_param(name: &str) -> FloatParam {
    FloatParam::new(
        name,
        0.0,
        FloatRange::Linear {
            min: -GAIN_RANGE_DB,
            max: GAIN_RANGE_DB,
        },
    )
    .with_step_size(0.01)
    .with_unit(" dB")
    .with_value_to_string(Arc::new(db_to_string))
    .with_string_to_value(Arc::new(string_to_db))
}

/// Formats a dB value with two decimals (the unit is appended by the host or by nice-plug).
pub fn db_to_string(db: f32) -> String {
    // Avoid printing "-0.00" for tiny negative values.
    let db = if db.abs() < 0.005 { 0.0 } else { db };
    format!("{db:.2}")
}

/// Parses "6", "+6.5", "-3 dB", "-3dB" or "0,5" (decimal comma) into dB. Out-of-range values are
/// clamped by nice-plug; text that is not a number gives `None`.
pub fn string_to_db(text: &str) -> Option<f32> {
    let text = text.trim();
    let number = text
        .strip_suffix("dB")
        .or_else(|| text.strip_suffix("db"))
        .or_else(|| text.strip_suffix("DB"))
        .unwrap_or(text)
        .trim()
        .replace(',', ".");
    let value: f32 = number.parse().ok()?;
    value.is_finite().then_some(value)
}

fn polarity_to_string(inverted: bool) -> String {
    if inverted { "Inverted" } else { "Normal" }.to_string()
}

fn string_to_polarity(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "inverted" | "invert" | "on" | "1" | "true" | "-" => Some(true),
        "normal" | "off" | "0" | "false" | "+" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameter_ids_are_pinned() {
        let params = TrimeterParams::default();
        let ids: Vec<String> = params
            .param_map()
            .into_iter()
            .map(|(id, _, _)| id)
            .collect();
        assert_eq!(ids, PARAM_IDS);
    }

    #[test]
    fn editor_settings_persist_and_foreign_state_falls_back() {
        use crate::settings::{EditorSettings, MeterMode};
        let params = TrimeterParams::default();
        params.editor.set(EditorSettings {
            meter_mode: MeterMode::Vu,
            vu_reference_dbfs: -20.0,
            ..EditorSettings::default()
        });
        let saved = params.serialize_fields();
        assert!(saved.contains_key("editor"), "{saved:?}");
        let loaded = TrimeterParams::default();
        loaded.deserialize_fields(&saved);
        assert_eq!(loaded.editor.get(), params.editor.get());
        assert_eq!(loaded.editor.vu_reference_dbfs(), -20.0);
        // Foreign bytes under our key: the defaults, and no panic.
        let mut foreign = saved.clone();
        foreign.insert("editor".to_string(), "\"not settings\"".to_string());
        let fallback = TrimeterParams::default();
        fallback.deserialize_fields(&foreign);
        assert_eq!(fallback.editor.get(), EditorSettings::default());
    }

    #[test]
    fn db_text_round_trips() {
        for i in -3600..=3600 {
            let db = i as f32 / 100.0;
            let back = string_to_db(&db_to_string(db)).unwrap();
            assert!((back - db).abs() < 0.005, "{db} -> {back}");
        }
        assert_eq!(string_to_db("-3 dB"), Some(-3.0));
        assert_eq!(string_to_db("+6.5dB"), Some(6.5));
        assert_eq!(string_to_db("0,5"), Some(0.5));
        assert_eq!(string_to_db("loud"), None);
        assert_eq!(string_to_db("nan"), None);
        assert_eq!(db_to_string(-0.001), "0.00");
    }

    #[test]
    fn params_format_through_nice_plug_with_unit() {
        let params = TrimeterParams::default();
        let text = params
            .trim_db
            .normalized_value_to_string(params.trim_db.preview_normalized(6.0), true);
        assert_eq!(text, "6.00 dB");
        let normalized = params
            .trim_db
            .string_to_normalized_value("6.00 dB")
            .unwrap();
        assert!((params.trim_db.preview_plain(normalized) - 6.0).abs() < 1e-4);
        assert!(params.bypass.flags().contains(ParamFlags::BYPASS));
        assert_eq!(string_to_polarity(&polarity_to_string(true)), Some(true));
    }
}
