//! Apply through a real host: a CLAP host (clack-host) opens Trimeter's editor through the gui
//! extension on a private Xvfb display, plays a -30 dBFS tone with the transport running, and a
//! user's clicks (XTest events into the editor's window) open the Assistant page, press Learn,
//! and press Apply. The host must see Input Trim's change as a CLAP gesture (begin, value, end)
//! in the plugin's output events, the saved state must hold the new trim, and the learner must
//! freeze. Then Learn again, and the learner keeps running with the editor closed. The debug
//! build runs `process()` under nice-plug's allocation guard throughout.
//!
//! Where to click comes from the editor's own layout: the same view, wrapped the same way as the
//! plugin wraps it, at the same window size, built headless with egui_kittest and queried by
//! label. Needs `Xvfb` and Mesa's software OpenGL (as tests/clap_gui.rs).

#[path = "common/clap.rs"]
mod clap;
#[path = "common/gui_host.rs"]
mod gui_host;
#[path = "common/xvfb.rs"]
mod xvfb;

use std::sync::atomic::Ordering;
use std::time::Duration;

use clack_extensions::params::{ParamInfoBuffer, PluginParams};
use clack_host::events::event_types::{
    ParamGestureBeginEvent, ParamGestureEndEvent, ParamValueEvent,
};
use clack_host::prelude::*;
use egui_kittest::kittest::Queryable;
use x11rb::connection::Connection;
use x11rb::protocol::xproto::{BUTTON_PRESS_EVENT, BUTTON_RELEASE_EVENT, MOTION_NOTIFY_EVENT};
use x11rb::protocol::xtest::ConnectionExt as _;

use clap::{diagnostic, fill_sine, load_plugin, process_block, save_state, transport};
use gui_host::{host_window, new_gui_instance, open_embedded_editor, GuiHost};
use trimeter::editor::controls::RecordingControls;
use trimeter::editor::model::EditorModel;
use trimeter::editor::{theme, view};
use trimeter::settings::{DEFAULT_WINDOW_SIZE, MIN_WINDOW_SIZE};
use xvfb::Xvfb;

const RATE: f64 = 48_000.0;
const BLOCK: usize = 512;

/// Where the widgets labelled `labels` sit in the plugin's window (logical points from its top
/// left), each looked up after clicking the ones before it (the first opens the page).
fn click_targets(labels: &[&str]) -> Vec<egui::Pos2> {
    struct State {
        model: EditorModel,
        controls: RecordingControls,
    }
    // egui_kittest draws inside an 8-point outer margin: a window that much larger gives the
    // plugin's layout inside it exactly, 8 points down and right.
    const MARGIN: f32 = 8.0;
    let mut harness = egui_kittest::Harness::builder()
        .with_size(egui::vec2(
            DEFAULT_WINDOW_SIZE.0 + 2.0 * MARGIN,
            DEFAULT_WINDOW_SIZE.1 + 2.0 * MARGIN,
        ))
        .build_ui_state(
            |ui, state: &mut State| {
                theme::apply(ui.ctx());
                // As TrimeterEditor::ui wraps the view.
                nice_plug_egui::resizable_window::ResizableWindow::new("trimeter_window")
                    .min_size(egui::vec2(MIN_WINDOW_SIZE.0, MIN_WINDOW_SIZE.1))
                    .show(ui, |ui| {
                        view::editor_ui(ui, &mut state.model, &mut state.controls)
                    });
            },
            State {
                model: EditorModel::default(),
                controls: RecordingControls::default(),
            },
        );
    harness.run();
    labels
        .iter()
        .map(|label| {
            let node = harness.get_by_label(label);
            let center = node.rect().center();
            node.click();
            harness.run();
            center - egui::vec2(MARGIN, MARGIN)
        })
        .collect()
}

/// The host's audio side: a -30 dBFS 997 Hz stereo tone, block after block, the transport
/// running; keeps every output event the plugin sends.
struct Audio {
    processor: StartedPluginAudioProcessor<GuiHost>,
    frames: u64,
    /// (kind, param id, value): "begin", "value", "end".
    events: Vec<(&'static str, u32, f64)>,
}

impl Audio {
    fn blocks(&mut self, count: usize) {
        let mut in_buffers = vec![vec![0.0f32; BLOCK]; 2];
        let mut out_buffers = vec![vec![0.0f32; BLOCK]; 2];
        for _ in 0..count {
            fill_sine(&mut in_buffers, -30.0, self.frames, RATE);
            let transport = transport(true, self.frames as f64 / RATE);
            let output_events = process_block(
                &mut self.processor,
                &mut in_buffers,
                &mut out_buffers,
                self.frames,
                Some(&transport),
            );
            for event in &output_events {
                if let Some(e) = event.as_event::<ParamGestureBeginEvent>() {
                    self.events
                        .push(("begin", e.param_id().map_or(0, |id| id.get()), 0.0));
                } else if let Some(e) = event.as_event::<ParamValueEvent>() {
                    self.events
                        .push(("value", e.param_id().map_or(0, |id| id.get()), e.value()));
                } else if let Some(e) = event.as_event::<ParamGestureEndEvent>() {
                    self.events
                        .push(("end", e.param_id().map_or(0, |id| id.get()), 0.0));
                }
            }
            self.frames += BLOCK as u64;
            // Let the editor's window thread draw meanwhile.
            std::thread::sleep(Duration::from_micros(500));
        }
    }
}

/// The learner's phase for the last block (0 idle, 1 learning, 2 frozen), from the library's
/// diagnostic.
fn learner_phase(library: &libloading::Library) -> u64 {
    (diagnostic(library, b"trimeter_assistant_transport") >> 2) & 3
}

#[test]
fn apply_in_the_editor_reaches_the_host_as_a_gesture_and_the_saved_state() {
    let targets = click_targets(&["Assistant", "Learn", "Apply"]);
    let xvfb = Xvfb::start(1280, 800);
    // SAFETY: this test binary runs this one test; nothing else reads the environment now.
    unsafe { std::env::set_var("DISPLAY", &xvfb.display) };
    let (conn, root, parent) = host_window(&xvfb.display);
    // A user's click at `pos` (the parent window sits at the root's origin, the editor at its).
    let click = |pos: egui::Pos2| {
        let (x, y) = (pos.x.round() as i16, pos.y.round() as i16);
        conn.xtest_fake_input(MOTION_NOTIFY_EVENT, 0, 0, root, x, y, 0)
            .unwrap();
        conn.flush().unwrap();
        std::thread::sleep(Duration::from_millis(150));
        conn.xtest_fake_input(BUTTON_PRESS_EVENT, 1, 0, root, x, y, 0)
            .unwrap();
        conn.flush().unwrap();
        std::thread::sleep(Duration::from_millis(100));
        conn.xtest_fake_input(BUTTON_RELEASE_EVENT, 1, 0, root, x, y, 0)
            .unwrap();
        conn.flush().unwrap();
        std::thread::sleep(Duration::from_millis(300));
    };

    let (entry, library) = load_plugin();
    let mut instance = new_gui_instance(&entry, "Trimeter assistant GUI test");
    let trim_id = {
        let handle = instance.plugin_handle();
        let params: PluginParams = handle.get_extension().expect("params extension");
        let mut buffer = ParamInfoBuffer::new();
        (0..params.count(&handle))
            .find_map(|i| {
                let info = params.get_info(&handle, i, &mut buffer).unwrap();
                (info.name == b"Input Trim").then(|| info.id.get())
            })
            .expect("Input Trim")
    };
    let config = PluginAudioConfiguration {
        sample_rate: RATE,
        min_frames_count: 1,
        max_frames_count: BLOCK as u32,
    };
    let processor = instance.activate(|_, _| (), config).expect("activates");
    let mut audio = Audio {
        processor: processor.start_processing().expect("starts processing"),
        frames: 0,
        events: Vec::new(),
    };

    // The parent window lives until the end of the test, after `destroy`.
    let gui = open_embedded_editor(&mut instance, parent);
    audio.blocks(100);
    std::thread::sleep(Duration::from_millis(500));

    click(targets[0]); // the Assistant tab
    click(targets[1]); // Learn
    audio.blocks(4);
    assert_eq!(
        learner_phase(&library),
        1,
        "the Learn click reached the audio thread"
    );
    // Three seconds of the tone, with the transport running.
    audio.blocks(300);
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        audio.events.is_empty(),
        "nothing set yet: {:?}",
        audio.events
    );
    click(targets[2]); // Apply
    audio.blocks(20);
    assert_eq!(learner_phase(&library), 2, "Apply froze the measurement");

    // The host saw one gesture on Input Trim: -30 dBFS RMS to -18 is +12 dB (the ceiling of
    // -6 dBFS leaves +24), normalized over -36..+36 dB.
    let trim: Vec<_> = audio.events.iter().filter(|e| e.1 == trim_id).collect();
    assert_eq!(trim.len(), 3, "{:?}", audio.events);
    assert_eq!((trim[0].0, trim[1].0, trim[2].0), ("begin", "value", "end"));
    let trim_db = trim[1].2 * 72.0 - 36.0;
    assert!((trim_db - 12.0).abs() < 0.1, "{trim_db} dB");
    assert!(
        instance.access_shared_handler(|s| s.flush_requests.load(Ordering::Relaxed)) > 0,
        "the GUI-thread change asked the host for a flush"
    );
    // The saved state holds the new trim.
    let state = save_state(&mut instance);
    let json: serde_json::Value = serde_json::from_slice(&state[8..]).expect("JSON state");
    let saved = json["params"]["trim"]["f32"]
        .as_f64()
        .unwrap_or_else(|| panic!("no trim in {json}"));
    assert!((saved - 12.0).abs() < 0.1, "{json}");

    // Learn again (the same button), then close the editor: the learner keeps measuring in
    // process(), still under the allocation guard, with nothing published.
    click(targets[1]);
    audio.blocks(4);
    assert_eq!(learner_phase(&library), 1, "learning again");
    gui.destroy(&instance.plugin_handle());
    audio.blocks(200);
    assert_eq!(learner_phase(&library), 1);
    instance.deactivate(audio.processor.stop_processing());
    drop(instance);
    drop(conn);
}
