//! The assistant's page through egui_kittest (as tests/editor_ui.rs does for the meter bridge):
//! the page tab, Apply as one begin/set/end gesture with the right value for Input Trim and for
//! Output Makeup, presets that change settings and never a parameter, Learn and Reset requests
//! reaching the audio thread's atomic, the settings persisting through the plugin state, and a
//! snapshot of the page.
//!
//! Update the image with `UPDATE_SNAPSHOTS=1 cargo test -p trimeter --test assistant_ui`.

use egui::accesskit::Role;
use egui_kittest::kittest::Queryable;
use nice_plug::params::Params;

use trimeter::assistant::engine::AssistantRequests;
use trimeter::assistant::settings::ApplyTo;
use trimeter::assistant::AssistantStatus;
use trimeter::editor::assistant_panel;
use trimeter::editor::controls::{GainParam, ParamCall};
use trimeter::editor::model::{EditorModel, Page};
use trimeter::params::TrimeterParams;
use trimeter_meters::signals::white_noise;
use trimeter_meters::staging::learn::{LearnConfig, LearnPhase, Learner};
use trimeter_meters::staging::{presets, StagingTarget};
use trimeter_meters::EngineConfig;

#[path = "common/ui_harness.rs"]
mod ui_harness;
use ui_harness::State;

/// What the audio thread would publish after learning 12 s of a stereo programme (noise
/// phrases around -26 dBFS RMS with pauses and a -60 dBFS hiss under them).
fn learned_status() -> AssistantStatus {
    let rate = 48_000.0;
    let config = EngineConfig {
        sample_rate: rate,
        channels: 2,
        ..EngineConfig::default()
    };
    let mut learner = Learner::new(config, LearnConfig::default());
    learner.start();
    let frames = (rate * 12.0) as usize;
    let hiss = white_noise(frames, 0.0017, 3);
    let noise = white_noise(frames, 0.085, 4);
    let left: Vec<f32> = (0..frames)
        .map(|n| hiss[n] + if (n / 24_000) % 4 == 3 { 0.0 } else { noise[n] })
        .collect();
    let right: Vec<f32> = left.iter().map(|s| s * 0.9).collect();
    for (l, r) in left.chunks(512).zip(right.chunks(512)) {
        learner.process(&[l, r], true);
    }
    AssistantStatus {
        learn: learner.snapshot(),
        transport_playing: true,
        measuring: true,
        jumps: 0,
        sequence: 1,
    }
}

fn model(status: AssistantStatus) -> EditorModel {
    let mut model = EditorModel::default();
    model.assistant.status = status;
    model.page = Page::Assistant;
    model
}

fn harness(model: EditorModel) -> egui_kittest::Harness<'static, State> {
    ui_harness::harness(model, 1.0)
}

/// Hands the page's requests to an audio thread's atomic, as the plugin does after each frame,
/// and takes them from there.
fn committed_requests(h: &mut egui_kittest::Harness<'static, State>) -> u32 {
    let params = TrimeterParams::default();
    let requests = AssistantRequests::default();
    assistant_panel::commit(
        &mut h.state_mut().model.assistant,
        &params.assistant,
        &requests,
    );
    requests.take()
}

/// The suggestion the page shows for the model's target.
fn suggested_db(state: &State) -> f32 {
    state
        .model
        .assistant
        .learn_status()
        .suggestion
        .expect("material")
        .trim_db
}

#[test]
fn the_assistant_tab_opens_the_page() {
    let mut h = harness(EditorModel::default());
    h.run();
    assert!(
        h.query_by_label("Apply").is_none(),
        "the meter bridge first"
    );
    h.get_by_role_and_label(Role::Button, "Assistant").click();
    h.run();
    assert_eq!(h.state().model.page, Page::Assistant);
    h.get_by_label("Not enough signal yet");
    h.get_by_label("Press Learn and play the part");
    // Back to the meters.
    h.get_by_role_and_label(Role::Button, "Meters").click();
    h.run();
    assert_eq!(h.state().model.page, Page::Meters);
}

#[test]
fn apply_sets_the_trim_in_one_gesture_and_freezes_and_applying_twice_sets_the_same_value() {
    let mut h = harness(model(learned_status()));
    h.run();
    let suggestion = suggested_db(h.state());
    // The trim is +4 dB now; the suggestion was measured before the trim, so it is the trim.
    h.get_by_label("Apply").click();
    h.run();
    let expected = [
        ParamCall::Begin(GainParam::Trim),
        ParamCall::Set(GainParam::Trim, suggestion),
        ParamCall::End(GainParam::Trim),
    ];
    assert_eq!(h.state().controls.calls, expected);
    assert_eq!(h.state().controls.values_db, [suggestion, 0.0]);
    // The freeze goes to the audio thread's atomic.
    assert_eq!(committed_requests(&mut h), AssistantRequests::FREEZE);
    // Again: the same value, not twice the gain.
    h.get_by_label("Apply").click();
    h.run();
    assert_eq!(h.state().controls.calls[3..], expected);
}

#[test]
fn apply_to_makeup_brings_the_output_to_the_same_place() {
    let mut h = harness(model(learned_status()));
    h.run();
    let suggestion = suggested_db(h.state());
    h.get_by_label("Output Makeup").click();
    h.run();
    assert_eq!(h.state().model.assistant.settings.apply_to, ApplyTo::Makeup);
    assert!(
        h.state().controls.calls.is_empty(),
        "a choice, not a change"
    );
    h.get_by_label("Apply").click();
    h.run();
    // Trim +4 dB stays; makeup = suggestion - trim.
    let calls = &h.state().controls.calls;
    assert_eq!(calls.len(), 3, "{calls:?}");
    assert_eq!(calls[0], ParamCall::Begin(GainParam::Makeup));
    let ParamCall::Set(GainParam::Makeup, db) = calls[1] else {
        panic!("{calls:?}")
    };
    assert!(
        (db - (suggestion - 4.0)).abs() < 1e-5,
        "{db} vs {suggestion} - 4"
    );
    assert_eq!(calls[2], ParamCall::End(GainParam::Makeup));
}

#[test]
fn a_preset_changes_the_target_and_the_suggestion_but_no_parameter_and_persists() {
    let mut h = harness(model(learned_status()));
    h.run();
    let before = suggested_db(h.state());
    // Every preset's numbers are on the page.
    h.get_by_label("-23.0 LUFS");
    h.get_by_label("-2.0 dBTP");
    h.get_by_label("-12.0 dBFS peak");
    h.get_by_label("EBU R 128 broadcast").click();
    h.run();
    let state = h.state();
    let r128 = presets::preset("r128").unwrap();
    assert_eq!(state.model.assistant.settings.preset, Some("r128"));
    assert_eq!(state.model.assistant.settings.target, r128.target);
    assert!(
        state.controls.calls.is_empty(),
        "choosing a preset never sets a parameter"
    );
    assert_eq!(state.controls.values_db, [4.0, 0.0]);
    let after = suggested_db(state);
    assert_ne!(before, after, "the suggestion follows the target at once");
    // A loudness target leaves the meter bridge's dBFS band alone; K-14 moves it to -14 dBFS.
    assert_eq!(state.model.target, StagingTarget::default());
    h.get_by_label("K-14").click();
    h.run();
    assert_eq!(h.state().model.target.target_db, -14.0);
    assert_eq!(h.state().model.target.ceiling_db, -1.0);
    h.get_by_label("EBU R 128 broadcast").click();
    h.run();
    // Custom starts from the numbers in force.
    h.get_by_label("Custom").click();
    h.run();
    let settings = h.state().model.assistant.settings;
    assert_eq!((settings.preset, settings.target), (None, r128.target));
    h.get_by_label("EBU R 128 broadcast").click();
    h.run();
    assert!(h.state().controls.calls.is_empty());
    // Through the plugin's persisted store, a save and a load into a new instance.
    let params = TrimeterParams::default();
    assistant_panel::commit(
        &mut h.state_mut().model.assistant,
        &params.assistant,
        &AssistantRequests::default(),
    );
    let saved = params.serialize_fields();
    assert!(saved.contains_key("assistant"), "{saved:?}");
    let loaded = TrimeterParams::default();
    loaded.deserialize_fields(&saved);
    assert_eq!(loaded.assistant.get().preset, Some("r128"));
    assert_eq!(loaded.assistant.audio().target, r128.target);
}

#[test]
fn learn_and_reset_reach_the_audio_thread_and_apply_waits_for_material() {
    let mut h = harness(model(AssistantStatus::default()));
    h.run();
    h.get_by_label("Not enough signal yet");
    h.get_by_label("Apply").click();
    h.run();
    assert!(h.state().controls.calls.is_empty(), "nothing to apply yet");
    h.get_by_label("Learn").click();
    h.run();
    h.get_by_label("Reset").click();
    h.run();
    assert_eq!(
        committed_requests(&mut h),
        AssistantRequests::LEARN | AssistantRequests::RESET
    );
    // While learning, the button offers to start over.
    h.state_mut().model.assistant.status.learn.phase = LearnPhase::Learning;
    h.run();
    h.get_by_label("Learn again");
}

#[test]
fn snapshot_the_assistant_page_at_default_and_minimum_size_and_zoom_2() {
    let mut results = egui_kittest::SnapshotResults::new();
    let status = learned_status();
    ui_harness::snapshot_page_sizes(&mut results, "assistant_page", || model(status), [4.0, 0.0]);
}
