//! The editor in an egui_kittest harness with a recording parameter host, shared by the UI
//! tests (`tests/editor_ui.rs`, `tests/assistant_ui.rs`).
//!
//! Included with `#[path = "common/ui_harness.rs"] mod ui_harness;`.
#![allow(dead_code)]

use egui_kittest::Harness;
use trimeter::editor::controls::RecordingControls;
use trimeter::editor::model::EditorModel;
use trimeter::editor::{theme, view};
use trimeter::settings::DEFAULT_WINDOW_SIZE;

/// What the harness holds: the view model and the recording host (trim +4 dB, makeup 0 dB).
pub struct State {
    /// The view model.
    pub model: EditorModel,
    /// Every begin/set/end the views made.
    pub controls: RecordingControls,
    themed: bool,
}

/// The whole editor at the default window size and `pixels_per_point`.
pub fn harness(model: EditorModel, pixels_per_point: f32) -> Harness<'static, State> {
    Harness::builder()
        .with_size(egui::vec2(DEFAULT_WINDOW_SIZE.0, DEFAULT_WINDOW_SIZE.1))
        .with_pixels_per_point(pixels_per_point)
        // 60 frames per second, so two clicks a few frames apart are a double-click.
        .with_step_dt(1.0 / 60.0)
        .wgpu()
        .build_ui_state(
            |ui, state: &mut State| {
                if !state.themed {
                    theme::apply(ui.ctx());
                    state.themed = true;
                }
                view::editor_ui(ui, &mut state.model, &mut state.controls);
            },
            State {
                model,
                controls: RecordingControls {
                    values_db: [4.0, 0.0],
                    calls: Vec::new(),
                },
                themed: false,
            },
        )
}
