//! The editor's views through egui_kittest, the egui project's UI test harness: the full editor
//! built from synthetic readings (real meter engines run on synthetic signals) and a recording
//! parameter host, widgets found by their AccessKit labels, and snapshot images rendered headless
//! with wgpu (Mesa's lavapipe on CI machines) compared with a tolerance.
//!
//! Update the images with `UPDATE_SNAPSHOTS=1 cargo test -p trimeter --test editor_ui`.

use egui::accesskit::Role;
use egui_kittest::kittest::{NodeT, Queryable};
use egui_kittest::{SnapshotOptions, SnapshotResults};

use trimeter::editor::controls::{GainParam, ParamCall};
use trimeter::editor::model::{EditorModel, Side};
use trimeter::editor::{commit, scale};
use trimeter::params::TrimeterParams;
use trimeter::settings::{EditorSettings, MeterMode, NeedleSource, ResetRequests};
use trimeter_meters::history::HistoryPoint;
use trimeter_meters::ppm::PpmScale;
use trimeter_meters::readout::{MeterFrame, Readings};
use trimeter_meters::rms::KSystem;
use trimeter_meters::{EngineConfig, MeterEngine};

use nice_plug::params::Params;

#[path = "common/ui_harness.rs"]
mod ui_harness;
use ui_harness::harness;

/// A stereo programme-like signal: a 220 Hz tone with a slow tremolo and a little noise, left
/// and right at different levels, `seconds` long at 48 kHz.
fn signal(left_dbfs: f32, right_dbfs: f32, seconds: f32, clip_right: bool) -> [Vec<f32>; 2] {
    let n = (48_000.0 * seconds) as usize;
    let mut seed = 0x1234_5678u32;
    let mut noise = move || {
        seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        (seed >> 8) as f32 / (1 << 24) as f32 - 0.5
    };
    let mut out = [Vec::with_capacity(n), Vec::with_capacity(n)];
    for i in 0..n {
        let t = i as f32 / 48_000.0;
        let env = 0.75 + 0.25 * (std::f32::consts::TAU * 0.7 * t).sin();
        let tone = (std::f32::consts::TAU * 220.0 * t).sin() * env + 0.05 * noise();
        out[0].push(tone * 10f32.powf(left_dbfs / 20.0));
        out[1].push(tone * 10f32.powf(right_dbfs / 20.0) * 0.97);
    }
    if clip_right {
        for k in 0..3 {
            out[1][n - 2000 - k * 300] = 1.0;
        }
    }
    out
}

fn run_engine(signal: &[Vec<f32>; 2]) -> MeterEngine {
    let mut engine = MeterEngine::new(EngineConfig::default());
    for (l, r) in signal[0].chunks(512).zip(signal[1].chunks(512)) {
        engine.process(&[l, r]);
    }
    engine
}

/// Readings as the plugin would publish them after 4 s of the signal: input around -21 dBFS,
/// +4 dB trim, output with three clipped samples on the right.
fn synthetic_model(settings: EditorSettings) -> EditorModel {
    let mut input = run_engine(&signal(-19.0, -23.0, 4.0, false));
    let mut output = run_engine(&signal(-15.0, -19.0, 4.0, true));
    let frame = MeterFrame {
        input: input.snapshot(),
        output: output.snapshot(),
        trim_db: 4.0,
        makeup_db: 0.0,
        sample_rate: 48_000.0,
        sequence: 1,
    };
    let readings = Readings {
        frame,
        input_peaks: input.take_channel_peaks(),
        output_peaks: output.take_channel_peaks(),
    };
    // Three minutes of history: a verse/chorus-like loudness curve, and peaks above it.
    let history: Vec<HistoryPoint> = (0..1500)
        .map(|i| {
            let t = i as f32 / 10.0;
            let section = if (t / 20.0) as u32 % 2 == 0 {
                -22.0
            } else {
                -17.0
            };
            let st = section + 1.5 * (t * 0.9).sin();
            HistoryPoint {
                short_term_lufs: st,
                sample_peak_dbfs: (st + 9.0 + 2.0 * (t * 3.7).sin()).min(-0.5),
            }
        })
        .collect();
    EditorModel {
        readings,
        output_history: history.clone(),
        input_history: history,
        ..EditorModel::new(settings)
    }
}

fn snapshot_options() -> SnapshotOptions {
    // Software and GPU rasterizers differ in antialiasing by a few levels on edges.
    SnapshotOptions::new().threshold(1.0).max_failed_pixels(150)
}

#[test]
fn the_clip_lamp_counts_and_a_click_resets_the_latch() {
    let mut h = harness(synthetic_model(EditorSettings::default()), 1.0);
    h.run();
    assert_eq!(h.state().model.clips_since_latch(Side::Output, 1), 3);
    let lamp = h.get_by_label("Output clip R");
    assert_eq!(lamp.accesskit_node().numeric_value(), Some(3.0));
    lamp.click();
    h.run();
    assert_eq!(h.state().model.clips_since_latch(Side::Output, 1), 0);
    // The left channel did not clip and its lamp was not touched.
    assert_eq!(h.state().model.clips_since_latch(Side::Output, 0), 0);
    assert_eq!(
        h.get_by_label("Output clip R")
            .accesskit_node()
            .numeric_value(),
        Some(0.0)
    );
}

#[test]
fn a_double_click_on_trim_sends_begin_set_0_db_end() {
    let mut h = harness(synthetic_model(EditorSettings::default()), 1.0);
    h.run();
    let knob = h.get_by_role_and_label(Role::Slider, "Input Trim");
    knob.click();
    h.step();
    h.get_by_role_and_label(Role::Slider, "Input Trim").click();
    h.run();
    assert_eq!(
        h.state().controls.calls,
        [
            ParamCall::Begin(GainParam::Trim),
            ParamCall::Set(GainParam::Trim, 0.0),
            ParamCall::End(GainParam::Trim),
        ]
    );
    assert_eq!(h.state().controls.values_db[0], 0.0);
}

#[test]
fn dragging_the_makeup_knob_is_one_gesture_and_shift_is_finer() {
    for (shift, expected_db) in [(false, 10.0), (true, 1.0)] {
        let mut h = harness(synthetic_model(EditorSettings::default()), 1.0);
        h.run();
        let center = h
            .get_by_role_and_label(Role::Slider, "Output Makeup")
            .rect()
            .center();
        if shift {
            h.event(egui::Event::ModifiersChanged(egui::Modifiers::SHIFT));
        }
        h.drag_at(center);
        h.run();
        // 40 points up, in steps, past the drag threshold.
        for dy in [10.0, 20.0, 30.0, 40.0] {
            h.hover_at(center - egui::vec2(0.0, dy));
            h.run();
        }
        h.drop_at(center - egui::vec2(0.0, 40.0));
        h.run();
        let calls = &h.state().controls.calls;
        assert_eq!(calls.first(), Some(&ParamCall::Begin(GainParam::Makeup)));
        assert_eq!(calls.last(), Some(&ParamCall::End(GainParam::Makeup)));
        let begins = calls
            .iter()
            .filter(|c| matches!(c, ParamCall::Begin(_)))
            .count();
        assert_eq!(begins, 1, "{calls:?}");
        let value = h.state().controls.values_db[1];
        assert!((value - expected_db).abs() < 0.01, "shift {shift}: {value}");
    }
}

#[test]
fn the_mouse_wheel_steps_half_a_db_and_a_tenth_with_shift() {
    for (modifiers, expected_db) in [(egui::Modifiers::NONE, 4.5), (egui::Modifiers::SHIFT, 4.1)] {
        let mut h = harness(synthetic_model(EditorSettings::default()), 1.0);
        h.run();
        let center = h
            .get_by_role_and_label(Role::Slider, "Input Trim")
            .rect()
            .center();
        h.hover_at(center);
        h.run();
        h.event(egui::Event::ModifiersChanged(modifiers));
        h.event(egui::Event::MouseWheel {
            unit: egui::MouseWheelUnit::Line,
            delta: egui::vec2(0.0, 1.0),
            phase: egui::TouchPhase::Move,
            source: egui::MouseWheelSource::Wheel,
            modifiers,
        });
        // egui animates wheel scrolling for a few frames: step through them.
        h.run_steps(15);
        let state = h.state();
        assert_eq!(
            state.controls.calls,
            [
                ParamCall::Begin(GainParam::Trim),
                ParamCall::Set(GainParam::Trim, expected_db),
                ParamCall::End(GainParam::Trim),
            ],
            "{modifiers:?}"
        );
    }
}

#[test]
fn typing_a_value_sets_it_in_one_gesture() {
    let mut h = harness(synthetic_model(EditorSettings::default()), 1.0);
    h.run();
    h.get_by_role_and_label(Role::TextInput, "Input Trim")
        .click();
    h.run();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.run();
    h.get_by_role_and_label(Role::TextInput, "Input Trim")
        .type_text("-4.5 dB");
    h.run();
    h.key_press(egui::Key::Enter);
    h.run();
    assert_eq!(
        h.state().controls.calls,
        [
            ParamCall::Begin(GainParam::Trim),
            ParamCall::Set(GainParam::Trim, -4.5),
            ParamCall::End(GainParam::Trim),
        ]
    );
}

#[test]
fn a_mode_switch_changes_the_scale_and_persists() {
    let mut h = harness(synthetic_model(EditorSettings::default()), 1.0);
    h.run();
    assert_eq!(
        scale::bar_scale(&h.state().model.settings).name,
        "Sample peak"
    );
    h.get_by_label("Meter").click();
    h.run();
    h.get_by_role_and_label(Role::Button, "VU").click();
    h.run();
    let model = &mut h.state_mut().model;
    assert_eq!(model.settings.meter_mode, MeterMode::Vu);
    assert_eq!(scale::bar_scale(&model.settings).name, "VU");
    // Through the plugin's persisted store, a save and a load into a new instance.
    let params = TrimeterParams::default();
    commit(model, &params.editor, &ResetRequests::default());
    let saved = params.serialize_fields();
    let loaded = TrimeterParams::default();
    loaded.deserialize_fields(&saved);
    assert_eq!(loaded.editor.get().meter_mode, MeterMode::Vu);
}

#[test]
fn readouts_reset_their_meter_on_click_and_reset_clears_everything() {
    let mut h = harness(synthetic_model(EditorSettings::default()), 1.0);
    h.run();
    h.get_by_label("True peak max").click();
    h.run();
    assert_eq!(
        h.state().model.requested_resets,
        ResetRequests::OUTPUT_TRUE_PEAK
    );
    h.get_by_label("Reset").click();
    h.run();
    let resets = ResetRequests::default();
    let params = TrimeterParams::default();
    commit(&mut h.state_mut().model, &params.editor, &resets);
    assert_eq!(
        resets.take(),
        ResetRequests::OUTPUT_TRUE_PEAK | ResetRequests::ALL
    );
    assert_eq!(h.state().model.requested_resets, 0);
}

#[test]
fn readouts_show_silence_as_minus_infinity_and_real_values_otherwise() {
    let mut h = harness(EditorModel::default(), 1.0);
    h.run();
    let value = h.get_by_label("Sample peak max").value();
    assert_eq!(value.as_deref(), Some("-∞ dBFS"));
    let mut h = harness(synthetic_model(EditorSettings::default()), 1.0);
    h.run();
    // The output's right channel clipped: its maximum is 0 dBFS.
    let value = h.get_by_label("Sample peak max").value().unwrap();
    assert_eq!(value, "0.0 dBFS");
}

/// Renders `settings` at `zoom` and compares with tests/snapshots/`name`.png.
fn snapshot(results: &mut SnapshotResults, name: &str, settings: EditorSettings, zoom: f32) {
    let mut h = harness(synthetic_model(settings), zoom);
    h.run();
    results.add(h.try_snapshot_options(name, &snapshot_options()));
}

#[test]
fn snapshot_default_view_at_every_zoom() {
    let mut results = SnapshotResults::new();
    for zoom in [1.0, 1.5, 2.0, 3.0] {
        snapshot(
            &mut results,
            &format!("default_{}x", zoom),
            EditorSettings::default(),
            zoom,
        );
    }
    results.unwrap();
}

#[test]
fn snapshot_each_meter_mode() {
    let modes = [
        ("mode_vu", MeterMode::Vu, PpmScale::Bbc, KSystem::K20, false),
        (
            "mode_rms",
            MeterMode::Rms,
            PpmScale::Bbc,
            KSystem::K20,
            false,
        ),
        ("mode_k20", MeterMode::K, PpmScale::Bbc, KSystem::K20, false),
        ("mode_k14", MeterMode::K, PpmScale::Bbc, KSystem::K14, false),
        (
            "mode_ppm_bbc",
            MeterMode::Ppm,
            PpmScale::Bbc,
            KSystem::K20,
            false,
        ),
        (
            "mode_ppm_ebu",
            MeterMode::Ppm,
            PpmScale::Ebu,
            KSystem::K20,
            false,
        ),
        (
            "mode_ppm_din",
            MeterMode::Ppm,
            PpmScale::Din,
            KSystem::K20,
            false,
        ),
        (
            "mode_ppm_nordic",
            MeterMode::Ppm,
            PpmScale::Nordic,
            KSystem::K20,
            false,
        ),
        (
            "mode_lufs",
            MeterMode::Loudness,
            PpmScale::Bbc,
            KSystem::K20,
            false,
        ),
        (
            "mode_lu",
            MeterMode::Loudness,
            PpmScale::Bbc,
            KSystem::K20,
            true,
        ),
    ];
    let mut results = SnapshotResults::new();
    for (name, meter_mode, ppm_scale, k_system, loudness_relative) in modes {
        snapshot(
            &mut results,
            name,
            EditorSettings {
                meter_mode,
                ppm_scale,
                k_system,
                loudness_relative,
                ..EditorSettings::default()
            },
            1.0,
        );
    }
    results.unwrap();
}

#[test]
fn snapshot_needle_sources() {
    let mut results = SnapshotResults::new();
    for (name, needle_source) in [
        ("needle_left_right", NeedleSource::OutputLeftRight),
        ("needle_large_bars", NeedleSource::LargeBars),
    ] {
        snapshot(
            &mut results,
            name,
            EditorSettings {
                needle_source,
                ..EditorSettings::default()
            },
            1.0,
        );
    }
    results.unwrap();
}

#[test]
fn the_non_finite_badge_shows_the_count() {
    let mut model = synthetic_model(EditorSettings::default());
    model.readings.frame.input.non_finite_samples = 12;
    let mut h = harness(model, 1.0);
    h.run();
    h.get_by_label("12 non-finite input samples replaced");
}

#[test]
fn the_vu_percent_scale_toggles_and_persists() {
    let mut h = harness(synthetic_model(EditorSettings::default()), 1.0);
    h.run();
    assert!(h.state().model.settings.vu_percent_scale, "on by default");
    h.get_by_label("VU %").click();
    h.run();
    let model = &mut h.state_mut().model;
    assert!(!model.settings.vu_percent_scale);
    let params = TrimeterParams::default();
    commit(model, &params.editor, &ResetRequests::default());
    let saved = params.serialize_fields();
    let loaded = TrimeterParams::default();
    loaded.deserialize_fields(&saved);
    assert!(!loaded.editor.get().vu_percent_scale);
}
