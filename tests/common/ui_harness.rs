//! The editor in an egui_kittest harness with a recording parameter host, shared by the UI
//! tests (`tests/editor_ui.rs`, `tests/assistant_ui.rs`, `tests/link_editor_ui.rs`).
//!
//! Included with `#[path = "common/ui_harness.rs"] mod ui_harness;`.
#![allow(dead_code)]

use egui_kittest::{Harness, SnapshotOptions, SnapshotResults};
use trimeter::editor::controls::RecordingControls;
use trimeter::editor::model::EditorModel;
use trimeter::editor::{theme, view};
use trimeter::settings::{DEFAULT_WINDOW_SIZE, MIN_WINDOW_SIZE};

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

/// Snapshots of one page as users see it: `name` at the default size, `name_min` at the
/// smallest window the layout must fit (820x560) and `name_2x` at the default size and zoom
/// 2.0, each from a fresh `model()` with the host's trim and makeup at `values_db`.
pub fn snapshot_page_sizes(
    results: &mut SnapshotResults,
    name: &str,
    model: impl Fn() -> EditorModel,
    values_db: [f32; 2],
) {
    // Software and GPU rasterizers differ in antialiasing by a few levels on edges.
    let options = SnapshotOptions::new().threshold(1.0).max_failed_pixels(150);
    for (suffix, size, zoom) in [
        ("", DEFAULT_WINDOW_SIZE, 1.0),
        ("_min", MIN_WINDOW_SIZE, 1.0),
        ("_2x", DEFAULT_WINDOW_SIZE, 2.0),
    ] {
        let mut h = harness_at(model(), size, zoom, values_db);
        h.run();
        results.add(h.try_snapshot_options(format!("{name}{suffix}"), &options));
    }
}
