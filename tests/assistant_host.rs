//! The assistant's transport awareness through a real CLAP host (clack-host): the host sends
//! playing, stopped and jumped transport (CLAP `clap_event_transport` with a seconds timeline),
//! or none at all, and the plugin's assistant pauses the integrating measurements while stopped,
//! counts a jump when playback starts somewhere else than where it stopped, and treats a host
//! without transport as playing. The pause option comes from the plugin state the host loads,
//! so it also proves the assistant's settings are saved and restored with the state.
//!
//! What the assistant decided for the last block is read from the plugin library's diagnostic
//! `trimeter_assistant_transport` (process-wide, so this binary holds one test). The debug build
//! runs `process()` under nice-plug's allocation guard.

use clack_host::events::event_types::TransportEvent;
use clack_host::prelude::*;

#[path = "common/clap.rs"]
mod clap;
use clap::{
    diagnostic, load_plugin, load_state, process_block, save_state, transport, TestHost,
    TestShared, PLUGIN_ID,
};

const RATE: f64 = 48_000.0;
const BLOCK: usize = 480;

/// What the assistant decided for the last block: (playing, measuring, jumps).
struct Diagnostics(libloading::Library);

impl Diagnostics {
    fn read(&self) -> (bool, bool, u32) {
        let state = diagnostic(&self.0, b"trimeter_assistant_transport");
        (state & 1 == 1, state & 2 == 2, (state >> 32) as u32)
    }
}

/// An active instance: runs one block of a -20 dBFS tone per call with the given transport.
struct Running {
    processor: StartedPluginAudioProcessor<TestHost>,
    in_buffers: Vec<Vec<f32>>,
    out_buffers: Vec<Vec<f32>>,
    steady: u64,
}

impl Running {
    fn start(instance: &mut PluginInstance<TestHost>) -> Self {
        let config = PluginAudioConfiguration {
            sample_rate: RATE,
            min_frames_count: 1,
            max_frames_count: BLOCK as u32,
        };
        let processor = instance.activate(|_, _| (), config).expect("activates");
        let tone = trimeter_meters::signals::sine(RATE, 997.0, -20.0, 0.01, 0.0);
        Self {
            processor: processor.start_processing().expect("starts processing"),
            in_buffers: vec![tone[..BLOCK].to_vec(); 2],
            out_buffers: vec![vec![0.0; BLOCK]; 2],
            steady: 0,
        }
    }

    fn block(&mut self, transport: Option<&TransportEvent>) {
        process_block(
            &mut self.processor,
            &mut self.in_buffers,
            &mut self.out_buffers,
            self.steady,
            transport,
        );
        self.steady += BLOCK as u64;
    }

    /// Plays `blocks` blocks from `from_s` seconds on; returns where it ended.
    fn play(&mut self, from_s: f64, blocks: usize) -> f64 {
        let mut pos = from_s;
        for _ in 0..blocks {
            self.block(Some(&transport(true, pos)));
            pos += BLOCK as f64 / RATE;
        }
        pos
    }

    fn stop(&mut self, at_s: f64, blocks: usize) {
        for _ in 0..blocks {
            self.block(Some(&transport(false, at_s)));
        }
    }

    fn end(self, instance: &mut PluginInstance<TestHost>) {
        instance.deactivate(self.processor.stop_processing());
    }
}

/// nice-plug's CLAP state: a little-endian u64 length, then JSON.
fn state_json(state: &[u8]) -> serde_json::Value {
    let (length, json) = state.split_at(8);
    assert_eq!(
        u64::from_le_bytes(length.try_into().unwrap()),
        json.len() as u64
    );
    serde_json::from_slice(json).expect("JSON state")
}

fn state_bytes(json: &serde_json::Value) -> Vec<u8> {
    let json = serde_json::to_vec(json).unwrap();
    let mut bytes = (json.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(&json);
    bytes
}

/// The state with the assistant's `key` set to `value` (nice-plug keeps persisted fields as
/// JSON text under "fields").
fn with_assistant_option(state: &[u8], key: &str, value: bool) -> Vec<u8> {
    let mut json = state_json(state);
    let field = json["fields"]["assistant"]
        .as_str()
        .expect("the assistant's settings are in the state")
        .to_string();
    let mut settings: serde_json::Value = serde_json::from_str(&field).unwrap();
    assert_eq!(settings[key], serde_json::Value::Bool(!value), "{settings}");
    settings[key] = serde_json::Value::Bool(value);
    json["fields"]["assistant"] = serde_json::Value::String(settings.to_string());
    state_bytes(&json)
}

#[test]
fn transport_play_stop_jump_and_no_transport_through_a_clap_host() {
    let (entry, library) = load_plugin();
    let diagnostics = Diagnostics(library);
    let info = HostInfo::new("Trimeter assistant test", "Trimeter Audio", "", "1.0").unwrap();
    let new_instance = || {
        PluginInstance::<TestHost>::new(|_| TestShared, |_| (), &entry, PLUGIN_ID, &info)
            .expect("instance")
    };

    let mut instance = new_instance();
    let mut run = Running::start(&mut instance);
    let stopped_at = run.play(1.0, 50);
    assert_eq!(diagnostics.read(), (true, true, 0), "playing");
    run.stop(stopped_at, 20);
    assert_eq!(diagnostics.read(), (false, false, 0), "stopped: paused");
    // Resumed where it stopped: no jump.
    let stopped_at = run.play(stopped_at, 20);
    assert_eq!(diagnostics.read(), (true, true, 0), "resumed");
    // Stopped, the playhead moved to 0 s meanwhile, then played: one jump.
    run.stop(stopped_at, 5);
    run.stop(0.0, 5);
    run.play(0.0, 10);
    assert_eq!(diagnostics.read(), (true, true, 1), "jumped");
    // No transport at all: audio arriving is playing.
    run.block(None);
    assert_eq!(diagnostics.read(), (true, true, 1), "no transport");
    run.end(&mut instance);

    // Pausing is an option, saved with the plugin state.
    let state = with_assistant_option(&save_state(&mut instance), "pause_when_stopped", false);
    let mut second = new_instance();
    assert!(load_state(&mut second, &state));
    let saved_again = save_state(&mut second);
    assert_eq!(
        with_assistant_option(&saved_again, "pause_when_stopped", true),
        with_assistant_option(&state, "pause_when_stopped", true),
        "the option round-trips through the state"
    );
    let mut run = Running::start(&mut second);
    let at = run.play(0.0, 10);
    run.stop(at, 10);
    assert_eq!(
        diagnostics.read(),
        (false, true, 0),
        "stopped, still measuring"
    );
    run.end(&mut second);
}
