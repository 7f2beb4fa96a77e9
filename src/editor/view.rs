//! The whole editor as one function of the view model: toolbar, the meter bridge (input meters
//! and trim, the VU needle and readouts, makeup and output meters), and the history strip with
//! the hint line. Built the same way by the plugin, the UI tests and the benchmark.

use egui::{vec2, Align, Color32, Layout, RichText, Ui};

use super::bars::meter_group;
use super::controls::{gain_knob, GainControls, GainParam};
use super::history_view::history_graph;
use super::model::{EditorModel, Page, Side};
use super::needle::{large_vu_bars, vu_face, NeedleFace};
use super::readouts::readout_grid;
use super::scale::{self, format_signed};
use super::theme;
use crate::settings::{HistoryLength, MeterMode, NeedleSource, ResetRequests};
use trimeter_meters::ppm::PpmScale;
use trimeter_meters::rms::KSystem;
use trimeter_meters::vu::VU_REFERENCE_RANGE_DBFS;

/// Width of each side's meter group at the default size.
const METER_WIDTH: f32 = 132.0;
/// Width of each knob column.
const KNOB_WIDTH: f32 = 104.0;
/// Height of the history strip.
const HISTORY_HEIGHT: f32 = 150.0;

/// Draws the editor into `ui`.
pub fn editor_ui(ui: &mut Ui, model: &mut EditorModel, controls: &mut dyn GainControls) {
    model.target = model.assistant.settings.meter_target();
    egui::Panel::top("trimeter_pages")
        .frame(
            egui::Frame::new()
                .fill(theme::BACKGROUND)
                .inner_margin(egui::Margin::symmetric(10, 3)),
        )
        .show(ui, |ui| page_tabs(ui, model));
    if model.page != Page::Meters {
        let vu_reference_dbfs = model.settings.vu_reference_dbfs;
        egui::CentralPanel::default()
            .frame(
                egui::Frame::new()
                    .fill(theme::BACKGROUND)
                    .inner_margin(egui::Margin::symmetric(14, 10)),
            )
            .show(ui, |ui| match model.page {
                Page::Assistant => super::assistant_panel::assistant_ui(
                    ui,
                    &mut model.assistant,
                    controls,
                    vu_reference_dbfs,
                ),
                Page::Link => super::link::link_panel(ui, model, controls),
                _ => super::overview::overview_panel(ui, model),
            });
        return;
    }
    egui::Panel::top("trimeter_toolbar")
        .frame(
            egui::Frame::new()
                .fill(theme::PANEL)
                .inner_margin(egui::Margin::symmetric(10, 6)),
        )
        .show(ui, |ui| toolbar(ui, model));
    egui::Panel::bottom("trimeter_history")
        .frame(
            egui::Frame::new()
                .fill(theme::BACKGROUND)
                .inner_margin(egui::Margin::symmetric(10, 6)),
        )
        .show(ui, |ui| history_strip(ui, model));
    egui::CentralPanel::default()
        .frame(
            egui::Frame::new()
                .fill(theme::BACKGROUND)
                .inner_margin(egui::Margin::symmetric(10, 8)),
        )
        .show(ui, |ui| bridge(ui, model, controls));
}

/// The page tabs.
fn page_tabs(ui: &mut Ui, model: &mut EditorModel) {
    ui.horizontal(|ui| {
        for (page, name) in [
            (Page::Meters, "Meters"),
            (Page::Assistant, "Assistant"),
            (Page::Link, "Link"),
            (Page::Overview, "Overview"),
        ] {
            ui.selectable_value(&mut model.page, page, name);
        }
    });
}

fn toolbar(ui: &mut Ui, model: &mut EditorModel) {
    ui.horizontal(|ui| {
        ui.label(
            RichText::new("TRIMETER")
                .strong()
                .size(15.0)
                .color(theme::ACCENT),
        );
        ui.add_space(8.0);
        let mut s = model.settings;
        egui::ComboBox::from_label("Meter")
            .selected_text(s.meter_mode.name())
            .show_ui(ui, |ui| {
                for mode in MeterMode::ALL {
                    ui.selectable_value(&mut s.meter_mode, mode, mode.name());
                }
            });
        match s.meter_mode {
            MeterMode::Ppm => {
                egui::ComboBox::from_label("PPM scale")
                    .selected_text(ppm_name(s.ppm_scale))
                    .show_ui(ui, |ui| {
                        for p in PpmScale::ALL {
                            ui.selectable_value(&mut s.ppm_scale, p, ppm_name(p));
                        }
                    });
            }
            MeterMode::K => {
                egui::ComboBox::from_label("K scale")
                    .selected_text(s.k_system.name())
                    .show_ui(ui, |ui| {
                        for k in [KSystem::K20, KSystem::K14, KSystem::K12] {
                            ui.selectable_value(&mut s.k_system, k, k.name());
                        }
                    });
            }
            MeterMode::Loudness => {
                ui.checkbox(&mut s.loudness_relative, "LU (rel. -23 LUFS)");
            }
            _ => {}
        }
        ui.separator();
        ui.label(theme::caption("0 VU ="));
        ui.add(
            egui::DragValue::new(&mut s.vu_reference_dbfs)
                .range(VU_REFERENCE_RANGE_DBFS)
                .speed(0.1)
                .fixed_decimals(1)
                .suffix(" dBFS"),
        )
        .on_hover_text("VU reference: the sine level that reads 0 VU");
        ui.separator();
        egui::ComboBox::from_label("Needle")
            .selected_text(s.needle_source.name())
            .show_ui(ui, |ui| {
                for n in NeedleSource::ALL {
                    ui.selectable_value(&mut s.needle_source, n, n.name());
                }
            });
        ui.checkbox(&mut s.vu_percent_scale, "VU %")
            .on_hover_text("The percentage scale on the VU face (100 % = 0 VU)");
        egui::ComboBox::from_label("History")
            .selected_text(s.history_length.name())
            .show_ui(ui, |ui| {
                for h in HistoryLength::ALL {
                    ui.selectable_value(&mut s.history_length, h, h.name());
                }
            });
        if s != model.settings {
            model.settings = s;
            model.settings_changed = true;
        }
        ui.with_layout(Layout::right_to_left(Align::Center), |ui| {
            if ui
                .button("Reset")
                .on_hover_text("Reset every maximum, the loudness integration and the clip lamps")
                .clicked()
            {
                model.request_reset(ResetRequests::ALL);
            }
            let bad = model.non_finite_samples();
            if bad > 0 {
                egui::Frame::new()
                    .fill(theme::OVER)
                    .corner_radius(4.0)
                    .inner_margin(egui::Margin::symmetric(6, 2))
                    .show(ui, |ui| {
                        ui.label(
                            RichText::new(format!("{bad} non-finite input samples replaced"))
                                .color(Color32::WHITE)
                                .strong(),
                        )
                    });
            }
        });
    });
}

fn ppm_name(p: PpmScale) -> &'static str {
    match p {
        PpmScale::Din => "DIN (Type I)",
        PpmScale::Nordic => "Nordic (Type I)",
        PpmScale::Bbc => "BBC (Type IIa)",
        PpmScale::Ebu => "EBU (Type IIb)",
    }
}

fn bridge(ui: &mut Ui, model: &mut EditorModel, controls: &mut dyn GainControls) {
    let available = ui.available_size();
    let height = available.y;
    let center_width = (available.x - 2.0 * (METER_WIDTH + KNOB_WIDTH) - 4.0 * 8.0).max(240.0);
    ui.horizontal_top(|ui| {
        meter_group(ui, model, Side::Input, vec2(METER_WIDTH, height));
        knob_column(
            ui,
            GainParam::Trim,
            controls,
            model.readings.frame.trim_db,
            height,
        );
        ui.vertical(|ui| {
            ui.set_width(center_width);
            let needle_height = (height * 0.52).max(150.0);
            needle_area(ui, model, vec2(center_width, needle_height));
            ui.add_space(2.0);
            ui.horizontal(|ui| {
                ui.label(theme::caption("Readouts"));
                let mut show_input = model.settings.readouts_show_input;
                ui.selectable_value(&mut show_input, false, "Output");
                ui.selectable_value(&mut show_input, true, "Input");
                if show_input != model.settings.readouts_show_input {
                    model.settings.readouts_show_input = show_input;
                    model.settings_changed = true;
                }
            });
            let side = if model.settings.readouts_show_input {
                Side::Input
            } else {
                Side::Output
            };
            let rest = ui.available_height().max(120.0);
            readout_grid(ui, model, side, vec2(center_width, rest), 3);
        });
        knob_column(
            ui,
            GainParam::Makeup,
            controls,
            model.readings.frame.makeup_db,
            height,
        );
        meter_group(ui, model, Side::Output, vec2(METER_WIDTH, height));
    });
}

fn knob_column(
    ui: &mut Ui,
    param: GainParam,
    controls: &mut dyn GainControls,
    applied_db: f32,
    height: f32,
) {
    ui.vertical(|ui| {
        ui.set_width(KNOB_WIDTH);
        ui.set_height(height);
        ui.add_space(height * 0.18);
        gain_knob(ui, param, controls, 76.0);
        ui.vertical_centered(|ui| {
            ui.label(
                RichText::new(format!("applied {} dB", format_signed(applied_db, 1)))
                    .size(10.0)
                    .color(theme::CAPTION),
            );
        });
    });
}

fn needle_area(ui: &mut Ui, model: &EditorModel, size: egui::Vec2) {
    let settings = model.settings;
    let vu_settings = crate::settings::EditorSettings {
        meter_mode: MeterMode::Vu,
        ..settings
    };
    let (band, _) = scale::target_zone(&vu_settings, &model.target);
    let max_vu = |side: Side| {
        let snap = model.snapshot(side);
        snap.vu.vu[..model.channels(side)]
            .iter()
            .copied()
            .fold(f32::NEG_INFINITY, f32::max)
    };
    let output = model.snapshot(Side::Output);
    let stereo = model.channels(Side::Output) > 1;
    match settings.needle_source {
        NeedleSource::Output | NeedleSource::Input => {
            let side = if settings.needle_source == NeedleSource::Input {
                Side::Input
            } else {
                Side::Output
            };
            let width = size.x.min(size.y * 1.9);
            ui.horizontal(|ui| {
                ui.add_space((size.x - width) / 2.0);
                vu_face(
                    ui,
                    vec2(width, size.y),
                    &NeedleFace {
                        needles: &[(max_vu(side), theme::VU_NEEDLE)],
                        caption: if side == Side::Input {
                            "INPUT"
                        } else {
                            "OUTPUT"
                        },
                        reference_dbfs: settings.vu_reference_dbfs,
                        target_band_vu: band,
                        percent_scale: settings.vu_percent_scale,
                    },
                );
            });
        }
        NeedleSource::OutputLeftRight => {
            let width = ((size.x - 8.0) / 2.0).min(size.y * 1.9);
            ui.horizontal(|ui| {
                ui.add_space((size.x - 2.0 * width - 8.0).max(0.0) / 2.0);
                for (ch, caption) in [(0, "OUTPUT L"), (1, "OUTPUT R")] {
                    let ch = if stereo { ch } else { 0 };
                    vu_face(
                        ui,
                        vec2(width, size.y),
                        &NeedleFace {
                            needles: &[(output.vu.vu[ch], theme::VU_NEEDLE)],
                            caption,
                            reference_dbfs: settings.vu_reference_dbfs,
                            target_band_vu: band,
                            percent_scale: settings.vu_percent_scale,
                        },
                    );
                }
            });
        }
        NeedleSource::LargeBars => {
            let readings: Vec<(&str, f32)> = if stereo {
                vec![("L", output.vu.vu[0]), ("R", output.vu.vu[1])]
            } else {
                vec![("M", output.vu.vu[0])]
            };
            large_vu_bars(ui, size, &readings, settings.vu_reference_dbfs);
        }
    }
}

fn history_strip(ui: &mut Ui, model: &mut EditorModel) {
    let width = ui.available_width();
    ui.horizontal(|ui| {
        ui.label(theme::caption("OUTPUT HISTORY"));
        ui.add_space(12.0);
        let hint = model.hint_text();
        let color = if hint == "In range" {
            theme::NORMAL
        } else if hint.starts_with("Not enough") {
            theme::CAPTION
        } else {
            theme::CAUTION
        };
        ui.label(theme::caption("Input staging:"));
        ui.label(RichText::new(hint).size(13.0).color(color).strong());
    });
    let seconds = model.settings.history_length.seconds();
    history_graph(
        ui,
        vec2(width, HISTORY_HEIGHT),
        &model.output_history,
        seconds,
        model.target.target_db,
        model.target.ceiling_db,
    );
}
