//! The gain-staging assistant's page: the target (a preset with its numbers, or custom values),
//! the suggestion with its reason and confidence, the noise floor, the drive hint for the next
//! plugin, and Learn / Apply / Reset.
//!
//! Like every view it is a plain function of the view model ([`AssistantModel`]) and a
//! [`GainControls`]: Apply is one begin/set/end gesture on the GUI thread, so the host records
//! it for undo and automation; choosing a preset or a custom target only changes settings,
//! never a parameter or the audio.

use egui::{RichText, Ui};
use trimeter_meters::staging::learn::{LearnPhase, LearnStatus};
use trimeter_meters::staging::presets::{Preset, PRESETS};
use trimeter_meters::staging::{AverageMeasure, PeakMeasure, StagingTarget};

use super::controls::{GainControls, GainParam};
use super::scale::format_signed;
use super::theme;
use crate::assistant::engine::AssistantRequests;
use crate::assistant::settings::{ApplyTo, AssistantSettings, AssistantStore, TARGET_RANGE_DB};
use crate::assistant::{applied_gain_db, drive_hint, AssistantStatus};

/// What the assistant page draws and asks for.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct AssistantModel {
    /// The persisted settings; the page changes them and sets [`Self::settings_changed`].
    pub settings: AssistantSettings,
    /// Set when the page changed [`Self::settings`]; the app writes them back.
    pub settings_changed: bool,
    /// The newest status from the audio thread.
    pub status: AssistantStatus,
    /// [`AssistantRequests`] bits the page asked for; the app hands them to the audio thread.
    pub requests: u32,
}

impl AssistantModel {
    /// The learner's state for the target in force.
    pub fn learn_status(&self) -> LearnStatus {
        self.status.learn.status(&self.settings.target)
    }

    /// Applies the suggestion through `controls` (one begin/set/end gesture on the gain that
    /// [`AssistantSettings::apply_to`] names) and freezes the measurement. Returns the gain set,
    /// or `None` (and does nothing) without a suggestion.
    pub fn apply(&mut self, controls: &mut dyn GainControls) -> Option<(GainParam, f32)> {
        let suggestion = self.learn_status().suggestion?;
        let param = match self.settings.apply_to {
            ApplyTo::Trim => GainParam::Trim,
            ApplyTo::Makeup => GainParam::Makeup,
        };
        let db = applied_gain_db(
            self.settings.apply_to,
            suggestion.trim_db,
            controls.value_db(GainParam::Trim),
        );
        controls.begin(param);
        controls.set(param, db);
        controls.end(param);
        self.requests |= AssistantRequests::FREEZE;
        Some((param, db))
    }
}

/// Writes the page's changed settings to the persisted store and hands its requests to the audio
/// thread. Shared with the UI tests.
pub fn commit(model: &mut AssistantModel, store: &AssistantStore, requests: &AssistantRequests) {
    if model.settings_changed {
        store.set(model.settings);
        model.settings = store.get();
        model.settings_changed = false;
    }
    if model.requests != 0 {
        requests.request(model.requests);
        model.requests = 0;
    }
}

/// "-18 dBFS RMS", "-14 LUFS", "-23 LUFS"...: an average target with its measure.
pub fn average_text(target: &StagingTarget) -> String {
    let db = format_signed(target.target_db, 1);
    match target.average {
        AverageMeasure::Rms => format!("{db} dBFS RMS"),
        AverageMeasure::Vu => format!("{db} dBFS VU"),
        AverageMeasure::Lufs => format!("{db} LUFS"),
    }
}

/// "-6 dBFS peak" or "-1 dBTP": a ceiling with its measure.
pub fn ceiling_text(target: &StagingTarget) -> String {
    let db = format_signed(target.ceiling_db, 1);
    match target.peak {
        PeakMeasure::Sample => format!("{db} dBFS peak"),
        PeakMeasure::True => format!("{db} dBTP"),
    }
}

fn average_name(m: AverageMeasure) -> &'static str {
    match m {
        AverageMeasure::Rms => "RMS (AES17)",
        AverageMeasure::Vu => "VU (mean)",
        AverageMeasure::Lufs => "Loudness (LUFS, integrated)",
    }
}

fn peak_name(m: PeakMeasure) -> &'static str {
    match m {
        PeakMeasure::Sample => "Sample peak",
        PeakMeasure::True => "True peak",
    }
}

/// Draws the assistant page. `vu_reference_dbfs` is the VU reference in force, for the drive
/// hint.
pub fn assistant_ui(
    ui: &mut Ui,
    model: &mut AssistantModel,
    controls: &mut dyn GainControls,
    vu_reference_dbfs: f32,
) {
    let before = model.settings;
    let width = ui.available_width();
    ui.horizontal_top(|ui| {
        ui.vertical(|ui| {
            ui.set_width((width * 0.52).max(400.0));
            target_column(ui, &mut model.settings);
        });
        ui.separator();
        ui.vertical(|ui| suggestion_column(ui, model, controls, vu_reference_dbfs));
    });
    if model.settings != before {
        model.settings_changed = true;
    }
}

fn target_column(ui: &mut Ui, settings: &mut AssistantSettings) {
    ui.label(theme::caption("TARGET"));
    egui::Grid::new("assistant_presets")
        .num_columns(3)
        .spacing(egui::vec2(14.0, 3.0))
        .striped(true)
        .show(ui, |ui| {
            for preset in PRESETS {
                preset_row(ui, settings, preset);
            }
            let custom = settings.preset.is_none();
            if ui
                .selectable_label(custom, "Custom")
                .on_hover_text("Your own numbers, set below (starting from the target in force)")
                .clicked()
            {
                settings.preset = None;
            }
            ui.label(RichText::new(average_text(&settings.target)).monospace());
            ui.label(RichText::new(ceiling_text(&settings.target)).monospace());
            ui.end_row();
        });
    ui.add_space(6.0);
    let mut target = settings.target;
    level_row(
        ui,
        "Average",
        &mut target.target_db,
        "The level the average should reach (dBFS, or LUFS for loudness)",
        &mut target.average,
        &AverageMeasure::ALL,
        average_name,
    );
    level_row(
        ui,
        "Ceiling",
        &mut target.ceiling_db,
        "No peak may pass this after the gain (dBFS, or dBTP for true peak)",
        &mut target.peak,
        &PeakMeasure::ALL,
        peak_name,
    );
    if target != settings.target {
        settings.set_custom(target);
    }
    ui.add_space(6.0);
    ui.horizontal(|ui| {
        ui.label("Apply to");
        for a in [ApplyTo::Trim, ApplyTo::Makeup] {
            ui.radio_value(&mut settings.apply_to, a, a.name());
        }
    });
    ui.checkbox(&mut settings.pause_when_stopped, "Pause while stopped")
        .on_hover_text(
            "Integrated loudness, loudness range and learning pause while the host transport is \
             stopped",
        );
    ui.checkbox(&mut settings.reset_on_jump, "Reset on jump")
        .on_hover_text(
            "Integrated loudness, loudness range and learning start over when playback starts \
         somewhere else than where it stopped",
        );
}

/// One custom level: its name, a dB field and the measure it refers to.
fn level_row<M: Copy + PartialEq>(
    ui: &mut Ui,
    label: &str,
    db: &mut f32,
    hover: &str,
    measure: &mut M,
    measures: &[M],
    name: fn(M) -> &'static str,
) {
    ui.horizontal(|ui| {
        ui.label(label);
        ui.add(
            egui::DragValue::new(db)
                .range(TARGET_RANGE_DB)
                .speed(0.1)
                .fixed_decimals(1),
        )
        .on_hover_text(hover);
        let combo = egui::ComboBox::from_id_salt(("assistant_measure", label))
            .selected_text(name(*measure))
            .show_ui(ui, |ui| {
                for &m in measures {
                    ui.selectable_value(measure, m, name(m));
                }
            });
        let accessible = format!("{label} measure");
        combo
            .response
            .widget_info(|| egui::WidgetInfo::labeled(egui::Role::ComboBox, true, &accessible));
    });
}

fn preset_row(ui: &mut Ui, settings: &mut AssistantSettings, preset: &'static Preset) {
    let selected = settings.preset == Some(preset.id);
    if ui
        .selectable_label(selected, preset.name)
        .on_hover_text(preset.source)
        .clicked()
    {
        settings.choose_preset(preset);
    }
    ui.label(RichText::new(average_text(&preset.target)).monospace());
    ui.label(RichText::new(ceiling_text(&preset.target)).monospace());
    ui.end_row();
}

/// Every action button has this size (points), so the row never moves: Learn becomes Learn
/// again without pushing Apply aside.
const BUTTON_SIZE: [f32; 2] = [96.0, 26.0];

/// Learn, Apply and Reset, at the top of the column where nothing above them changes height.
fn action_buttons(
    ui: &mut Ui,
    model: &mut AssistantModel,
    controls: &mut dyn GainControls,
    status: &LearnStatus,
) {
    ui.horizontal(|ui| {
        let learn = if status.phase == LearnPhase::Idle {
            "Learn"
        } else {
            "Learn again"
        };
        if ui
            .add_sized(BUTTON_SIZE, egui::Button::new(learn))
            .on_hover_text("Measure the part that plays, from nothing")
            .clicked()
        {
            model.requests |= AssistantRequests::LEARN;
        }
        let apply = ui
            .add_enabled_ui(status.suggestion.is_some(), |ui| {
                ui.add_sized(
                    BUTTON_SIZE,
                    egui::Button::new(RichText::new("Apply").strong())
                        .fill(theme::ACCENT.gamma_multiply(0.5)),
                )
            })
            .inner
            .on_hover_text(format!(
                "Set {} through the host (undoable) and freeze the measurement",
                model.settings.apply_to.name()
            ));
        if apply.clicked() {
            model.apply(controls);
        }
        if ui
            .add_sized(BUTTON_SIZE, egui::Button::new("Reset"))
            .on_hover_text("Forget the measurement and restart integrated loudness and LRA")
            .clicked()
        {
            model.requests |= AssistantRequests::RESET;
        }
    });
}

fn suggestion_column(
    ui: &mut Ui,
    model: &mut AssistantModel,
    controls: &mut dyn GainControls,
    vu_reference_dbfs: f32,
) {
    let status = model.learn_status();
    ui.label(theme::caption("SUGGESTION"));
    action_buttons(ui, model, controls, &status);
    ui.add_space(6.0);
    let phase = match status.phase {
        LearnPhase::Idle => "Press Learn and play the part",
        LearnPhase::Learning if model.status.measuring => "Learning…",
        LearnPhase::Learning => "Learning, paused: transport stopped",
        LearnPhase::Frozen => "Applied: measurement frozen",
    };
    ui.label(RichText::new(phase).color(theme::CAPTION));
    match status.suggestion {
        Some(s) => {
            ui.label(
                RichText::new(format!("{} dB", format_signed(s.trim_db, 1)))
                    .size(30.0)
                    .strong()
                    .color(theme::VALUE_TEXT),
            );
            ui.label(RichText::new(s.reason()).size(14.0));
        }
        None => {
            ui.label(
                RichText::new("Not enough signal yet")
                    .size(20.0)
                    .color(theme::CAPTION),
            );
        }
    }
    let confidence = format!(
        "{:.1} s heard{}",
        status.heard_s,
        if status.stable {
            " · stable"
        } else if status.suggestion.is_some() {
            " · settling"
        } else {
            ""
        }
    );
    ui.label(RichText::new(confidence).color(if status.stable {
        theme::NORMAL
    } else {
        theme::CAUTION
    }));
    let floor = match status.floor_dbfs {
        Some(f) => format!("Noise floor {} dBFS", format_signed(f, 0)),
        None => "Noise floor not measured yet".to_string(),
    };
    ui.label(floor);
    if let Some(warning) = status.noise_warning {
        ui.label(RichText::new(format!("Warning: {}", warning.text())).color(theme::CAUTION));
    }
    if let Some(s) = status.suggestion {
        if let Some(hint) = drive_hint(&model.status.learn, s.trim_db, vu_reference_dbfs) {
            ui.label(RichText::new(hint).color(theme::ACCENT));
        }
    }
    ui.add_space(6.0);
    let transport = if model.status.transport_playing {
        ("Transport playing", theme::NORMAL)
    } else if model.status.measuring {
        ("Transport stopped (still measuring)", theme::CAPTION)
    } else {
        (
            "Transport stopped: integrated loudness and learning paused",
            theme::CAPTION,
        )
    };
    ui.label(RichText::new(transport.0).size(11.0).color(transport.1));
}
