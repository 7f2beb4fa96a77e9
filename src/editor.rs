//! The egui editor. For now: trim and makeup sliders bound to the host through the
//! `ParamSetter`, and input and output peak meters per channel. Issue "Editor" builds the full
//! calibrated meter views on top of [`scale`] and the same readout.

use std::sync::Arc;

use nice_plug::context::gui::GuiContext;
use nice_plug::editor::dpi::LogicalSize;
use nice_plug_egui::widgets::ParamSlider;
use nice_plug_egui::Frame;
use nice_plug_egui::{
    create_egui_editor, EguiEditor, EguiEditorState, EguiNiceSettings, NiceEguiApp, RepaintNotifier,
};

use crate::params::TrimeterParams;
use trimeter_meters::readout::{Readings, ReadoutReader};

pub mod peak_meter;
pub mod scale;

use peak_meter::{peak_bar, PeakBar};
use scale::format_db;

/// The editor's size in logical pixels.
pub const EDITOR_SIZE: (f32, f32) = (440.0, 320.0);

/// The editor state a new instance starts with.
pub fn default_state() -> Arc<EguiEditorState> {
    EguiEditorState::from_size(LogicalSize::new(EDITOR_SIZE.0, EDITOR_SIZE.1), 1.0)
}

/// Builds the editor for one instance.
pub fn create(
    params: Arc<TrimeterParams>,
    state: Arc<EguiEditorState>,
    repaint: RepaintNotifier,
    readout: ReadoutReader,
) -> Option<EguiEditor<TrimeterEditor>> {
    let settings = EguiNiceSettings {
        title: "Trimeter".to_string(),
        ..EguiNiceSettings::default()
    };
    create_egui_editor(
        state,
        repaint,
        settings,
        TrimeterEditor::new(params, readout),
    )
}

/// The editor's own state, kept between openings of the window.
pub struct TrimeterEditor {
    params: Arc<TrimeterParams>,
    readout: ReadoutReader,
    /// Set when the window opens; gives the parameter setter.
    gui_context: Option<GuiContext>,
    /// The newest readings.
    readings: Readings,
}

impl TrimeterEditor {
    fn new(params: Arc<TrimeterParams>, readout: ReadoutReader) -> Self {
        Self {
            params,
            readout,
            gui_context: None,
            readings: Readings::default(),
        }
    }
}

impl NiceEguiApp for TrimeterEditor {
    fn build(
        &mut self,
        _egui_ctx: egui::Context,
        gui_context: GuiContext,
        _frame: &mut Frame,
    ) -> Result<(), nice_plug_egui::baseview::HandlerError> {
        self.gui_context = Some(gui_context);
        Ok(())
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut Frame) {
        self.readings = self.readout.read();
        let Some(gui_context) = self.gui_context.clone() else {
            ui.label("Connecting to the host…");
            return;
        };
        let setter = gui_context.param_setter();
        let frame = self.readings.frame;
        ui.heading("Trimeter");
        ui.horizontal(|ui| {
            meter_group(ui, "In", &self.readings, true);
            ui.vertical(|ui| {
                ui.label("Input Trim");
                ui.add(ParamSlider::for_param(&self.params.trim_db, &setter).with_width(200.0));
                ui.label("Output Makeup");
                ui.add(ParamSlider::for_param(&self.params.makeup_db, &setter).with_width(200.0));
                ui.label(format!(
                    "Applied: trim {} dB, makeup {} dB",
                    format_db(frame.trim_db),
                    format_db(frame.makeup_db)
                ));
                if frame.input.non_finite_samples > 0 {
                    ui.colored_label(
                        egui::Color32::RED,
                        format!(
                            "{} non-finite input samples replaced by silence",
                            frame.input.non_finite_samples
                        ),
                    );
                }
            });
            meter_group(ui, "Out", &self.readings, false);
        });
    }
}

/// One group of per-channel peak bars with their max readout.
fn meter_group(ui: &mut egui::Ui, title: &str, readings: &Readings, input: bool) {
    let (snapshot, recent) = if input {
        (&readings.frame.input, &readings.input_peaks)
    } else {
        (&readings.frame.output, &readings.output_peaks)
    };
    ui.vertical(|ui| {
        ui.label(title);
        ui.horizontal(|ui| {
            for channel in 0..snapshot.channels.max(1) {
                let bar = PeakBar {
                    current_db: snapshot.sample_peak.current_db[channel],
                    recent_max_db: recent.sample_db(channel),
                    clipped: snapshot.sample_peak.clip_count[channel] > 0,
                };
                peak_bar(ui, egui::vec2(14.0, 220.0), bar);
            }
        });
        let max = snapshot.sample_peak.max_over_channels(snapshot.channels);
        ui.label(format!("max {}", format_db(max)));
    });
}
