//! The editor in an egui_kittest harness with a recording parameter host, shared by the UI
//! tests (`tests/editor_ui.rs`, `tests/assistant_ui.rs`, `tests/link_editor_ui.rs`).
//!
//! Included with `#[path = "common/ui_harness.rs"] mod ui_harness;`.
#![allow(dead_code)]

use egui_kittest::Harness;
use trimeter::editor::controls::RecordingControls;
use trimeter::editor::model::EditorModel;
use trimeter::editor::{theme, view};
use trimeter::settings::DEFAULT_WINDOW_SIZE;

/// What the harness holds: the view model and the recording host.
pub struct State {
    /// The view model.
    pub model: EditorModel,
    /// Every begin/set/end the views made.
    pub controls: RecordingControls,
    themed: bool,
}

/// The whole editor at the default window size and `pixels_per_point`, the host's trim at
/// +4 dB and makeup at 0 dB.
pub fn harness(model: EditorModel, pixels_per_point: f32) -> Harness<'static, State> {
    harness_at(model, DEFAULT_WINDOW_SIZE, pixels_per_point, [4.0, 0.0])
}

/// The whole editor in a window of `size` (logical points) at `pixels_per_point`, the host's
/// trim and makeup at `values_db`.
pub fn harness_at(
    model: EditorModel,
    size: (f32, f32),
    pixels_per_point: f32,
    values_db: [f32; 2],
) -> Harness<'static, State> {
    Harness::builder()
        .with_size(egui::vec2(size.0, size.1))
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
                    values_db,
                    calls: Vec::new(),
                },
                themed: false,
            },
        )
}
