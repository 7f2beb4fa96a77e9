//! The egui editor: the meter bridge users look at all day.
//!
//! The views ([`view::editor_ui`] and the widgets it lays out) are plain functions of a view
//! model ([`model::EditorModel`]) and a [`controls::GainControls`] for trim and makeup, so the
//! UI tests and the benchmark build the whole editor without a host. This file is the plugin's
//! side: it reads the readout and the history each frame (lock-free), writes changed settings
//! back to the persisted store, hands resets to the audio thread and restores the window size
//! and zoom when the window opens.

use std::sync::Arc;

use nice_plug::context::gui::GuiContext;
use nice_plug::editor::dpi::LogicalSize;
use nice_plug::editor::{ResizeHint, SizeConstraints};
use nice_plug_egui::resizable_window::ResizableWindow;
use nice_plug_egui::Frame;
use nice_plug_egui::{
    create_egui_editor, EguiEditor, EguiEditorState, EguiNiceSettings, NiceEguiApp, RepaintNotifier,
};

use crate::assistant::engine::AssistantRequests;
use crate::assistant::StatusReader;
use crate::params::TrimeterParams;
use crate::settings::{
    EditorSettings, ResetRequests, SettingsStore, DEFAULT_WINDOW_SIZE, MIN_WINDOW_SIZE,
};
use trimeter_meters::history::{HistoryReader, HISTORY_RATE_HZ};
use trimeter_meters::readout::ReadoutReader;

pub mod assistant_panel;
pub mod bars;
pub mod controls;
pub mod history_view;
pub mod link;
pub mod model;
pub mod needle;
pub mod overview;
pub mod readouts;
pub mod scale;
pub mod theme;
pub mod view;

use controls::HostControls;
use model::EditorModel;

/// The editor state a new instance starts with (the default size; the persisted size is
/// restored when the window opens).
pub fn default_state() -> Arc<EguiEditorState> {
    EguiEditorState::from_size(
        LogicalSize::new(DEFAULT_WINDOW_SIZE.0, DEFAULT_WINDOW_SIZE.1),
        1.0,
    )
}

/// What the editor is connected to.
pub struct EditorLinks {
    /// The parameters (and the persisted settings).
    pub params: Arc<TrimeterParams>,
    /// The window state shared with the audio thread (`is_open`).
    pub state: Arc<EguiEditorState>,
    /// Raised by the audio thread when something visible changed.
    pub repaint: RepaintNotifier,
    /// The meter readings.
    pub readout: ReadoutReader,
    /// The input's level history.
    pub input_history: HistoryReader,
    /// The output's level history.
    pub output_history: HistoryReader,
    /// Where meter resets go.
    pub resets: Arc<ResetRequests>,
    /// The link's status (src/link/status.rs).
    pub link: Arc<crate::link::status::LinkStatus>,
    /// The assistant's status from the audio thread.
    pub assistant_status: StatusReader,
    /// Where the assistant's Learn, Freeze and Reset go.
    pub assistant_requests: Arc<AssistantRequests>,
}

/// Builds the editor for one instance.
pub fn create(links: EditorLinks) -> Option<EguiEditor<TrimeterEditor>> {
    let settings = EguiNiceSettings {
        title: "Trimeter".to_string(),
        resize_hint: ResizeHint {
            can_resize: true,
            can_resize_horizontally: true,
            can_resize_vertically: true,
            preserve_aspect_ratio: false,
            aspect_ratio_width: 1,
            aspect_ratio_height: 1,
            size_constraints: SizeConstraints::min_logical_size(LogicalSize::new(
                MIN_WINDOW_SIZE.0,
                MIN_WINDOW_SIZE.1,
            )),
        },
        ..EguiNiceSettings::default()
    };
    let state = links.state.clone();
    let repaint = links.repaint.clone();
    create_egui_editor(state, repaint, settings, TrimeterEditor::new(links))
}

/// The editor's own state, kept between openings of the window.
pub struct TrimeterEditor {
    links: EditorLinks,
    /// Set when the window opens; gives the parameter setter.
    gui_context: Option<GuiContext>,
    /// What the views draw.
    model: EditorModel,
    /// History points copied so far (the readers' `written()`), to copy only when new ones came.
    history_seen: (u64, u64, u32),
    /// The window just opened: restore the persisted size and zoom on the first frame.
    restore_window: bool,
}

/// Refreshes the link's part of the model from the status, the parameters and the registry.
fn refresh_link(model: &mut EditorModel, links: &EditorLinks) {
    link::refresh(&mut model.link, &links.link, &links.params.link, model.page);
}

impl TrimeterEditor {
    fn new(links: EditorLinks) -> Self {
        let settings = links.params.editor.get();
        Self {
            links,
            gui_context: None,
            model: EditorModel::new(settings),
            history_seen: (u64::MAX, u64::MAX, 0),
            restore_window: true,
        }
        .with_label()
    }

    fn with_label(mut self) -> Self {
        self.model.link.overview.label_edit = self.links.params.link.user_label();
        self
    }

    /// Pulls the newest readings and history into the model. Lock-free on the readout and the
    /// history (the settings' lock is never taken by the audio thread).
    fn refresh(&mut self) {
        self.model.readings = self.links.readout.read();
        self.model.settings = self.links.params.editor.get();
        refresh_link(&mut self.model, &self.links);
        self.model.assistant.status = self.links.assistant_status.read();
        self.model.assistant.settings = self.links.params.assistant.get();
        let seconds = self.model.settings.history_length.seconds();
        let count = (f64::from(seconds) * HISTORY_RATE_HZ) as usize;
        let seen = (
            self.links.input_history.written(),
            self.links.output_history.written(),
            seconds,
        );
        if seen != self.history_seen {
            self.links
                .input_history
                .copy_latest(count, &mut self.model.input_history);
            self.links
                .output_history
                .copy_latest(count, &mut self.model.output_history);
            self.history_seen = seen;
        }
    }
}

/// Writes the model's changed settings to the persisted store and hands its resets to the audio
/// thread. Shared with the UI tests.
pub fn commit(model: &mut EditorModel, store: &SettingsStore, resets: &ResetRequests) {
    if model.settings_changed {
        store.set(model.settings);
        model.settings = store.get();
        model.settings_changed = false;
    }
    if model.requested_resets != 0 {
        resets.request(model.requested_resets);
        model.requested_resets = 0;
    }
}

impl NiceEguiApp for TrimeterEditor {
    fn build(
        &mut self,
        egui_ctx: egui::Context,
        gui_context: GuiContext,
        _frame: &mut Frame,
    ) -> Result<(), nice_plug_egui::baseview::HandlerError> {
        theme::apply(&egui_ctx);
        self.gui_context = Some(gui_context);
        self.restore_window = true;
        Ok(())
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut Frame) {
        self.refresh();
        if std::mem::take(&mut self.restore_window) {
            let settings = self.model.settings;
            let zoom = settings.zoom;
            if (ui.ctx().zoom_factor() - zoom).abs() > 1e-3 {
                ui.ctx().set_zoom_factor(zoom);
            }
            let size = self.links.state.logical_size();
            let (w, h) = settings.window_size;
            if (size.width - w).abs() > 1.0 || (size.height - h).abs() > 1.0 {
                // egui-baseview multiplies an inner size in points by the zoom factor.
                let zoom = zoom.max(0.1);
                ui.send_viewport_cmd(egui::ViewportCommand::InnerSize(egui::vec2(
                    w / zoom,
                    h / zoom,
                )));
            }
        }
        let Some(gui_context) = self.gui_context.clone() else {
            ui.label("Connecting to the host…");
            return;
        };
        let mut controls = HostControls {
            params: &self.links.params,
            setter: gui_context.param_setter(),
        };
        let model = &mut self.model;
        ResizableWindow::new("trimeter_window")
            .min_size(egui::vec2(MIN_WINDOW_SIZE.0, MIN_WINDOW_SIZE.1))
            .show(ui, |ui| view::editor_ui(ui, model, &mut controls));
        commit(
            &mut self.model,
            &self.links.params.editor,
            &self.links.resets,
        );
        link::commit(
            &mut self.model.link,
            &self.links.params.link,
            &gui_context.param_setter(),
        );
        assistant_panel::commit(
            &mut self.model.assistant,
            &self.links.params.assistant,
            &self.links.assistant_requests,
        );
        if self.model.page != model::Page::Meters {
            // The overview and the link status refresh at GUI rate even when no meter moves.
            ui.ctx()
                .request_repaint_after(std::time::Duration::from_millis(100));
        }
    }

    fn track_info_changed(&mut self, info: nice_plug::prelude::TrackInfo) {
        let name = info.name().trim();
        self.model.link.overview.host_track_name = (!name.is_empty()).then(|| name.to_string());
        self.links.params.link.set_host_track_name(name);
        self.model.link.status = self.links.link.view();
        link::publish_label(&self.model.link, &self.links.params.link);
    }

    fn resized(&mut self, new_size: nice_plug_egui::baseview::WindowSize) {
        // The window reports its opening size before the first frame; persisting that would
        // overwrite the size the first frame is about to restore.
        if self.restore_window {
            return;
        }
        let settings = EditorSettings {
            window_size: (
                new_size.logical.width as f32,
                new_size.logical.height as f32,
            ),
            ..self.links.params.editor.get()
        };
        self.links.params.editor.set(settings);
    }

    fn zoom_factor_changed(&mut self, zoom_factor: f32) {
        if self.restore_window {
            return;
        }
        let settings = EditorSettings {
            zoom: zoom_factor,
            ..self.links.params.editor.get()
        };
        self.links.params.editor.set(settings);
    }
}
