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

use clack_host::events::event_types::{TransportEvent, TransportFlags};
use clack_host::events::{EventFlags, EventHeader};
use clack_host::prelude::*;
use clack_host::utils::{BeatTime, SecondsTime};

#[path = "common/clap.rs"]
mod clap;
use clap::{load_state, plugin_path, save_state, TestHost, TestShared, PLUGIN_ID};

const RATE: f64 = 48_000.0;
const BLOCK: usize = 480;

/// What the assistant decided for the last block: (playing, measuring, jumps).
struct Diagnostics(libloading::Library);

impl Diagnostics {
    fn read(&self) -> (bool, bool, u32) {
        // SAFETY: the symbol's signature is fixed in src/lib.rs (`extern "C" fn() -> u64`).
        let state = unsafe {
            let f: libloading::Symbol<extern "C" fn() -> u64> = self
                .0
                .get(b"trimeter_assistant_transport")
                .expect("diagnostic symbol");
            f()
        };
        (state & 1 == 1, state & 2 == 2, (state >> 32) as u32)
    }
}

/// A CLAP transport at `pos_s` seconds, playing or not.
fn transport(playing: bool, pos_s: f64) -> TransportEvent {
    let mut flags = TransportFlags::HAS_SECONDS_TIMELINE | TransportFlags::HAS_TEMPO;
    if playing {
        flags |= TransportFlags::IS_PLAYING;
    }
    TransportEvent {
        header: EventHeader::new_core(0, EventFlags::empty()),
        flags,
        song_pos_beats: BeatTime::from_int(0),
        song_pos_seconds: SecondsTime::from_float(pos_s),
        tempo: 120.0,
        tempo_inc: 0.0,
        loop_start_beats: BeatTime::from_int(0),
        loop_end_beats: BeatTime::from_int(0),
        loop_start_seconds: SecondsTime::from_float(0.0),
        loop_end_seconds: SecondsTime::from_float(0.0),
        bar_start: BeatTime::from_int(0),
        bar_number: 0,
        time_signature_numerator: 4,
        time_signature_denominator: 4,
    }
}

/// An active instance: runs one block of a -20 dBFS tone per call with the given transport.
struct Running {
    processor: StartedPluginAudioProcessor<TestHost>,
    inputs: AudioPorts,
    outputs: AudioPorts,
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
            inputs: AudioPorts::with_capacity(2, 1),
            outputs: AudioPorts::with_capacity(2, 1),
            in_buffers: vec![tone[..BLOCK].to_vec(); 2],
            out_buffers: vec![vec![0.0; BLOCK]; 2],
            steady: 0,
        }
    }

    fn block(&mut self, transport: Option<&TransportEvent>) {
        let audio_in = self.inputs.with_input_buffers([AudioPortBuffer {
            latency: 0,
            channels: AudioPortBufferType::f32_input_only(
                self.in_buffers
                    .iter_mut()
                    .map(|b| InputChannel::variable(&mut b[..])),
            ),
        }]);
        let mut audio_out = self.outputs.with_output_buffers([AudioPortBuffer {
            latency: 0,
            channels: AudioPortBufferType::f32_output_only(
                self.out_buffers.iter_mut().map(|b| &mut b[..]),
            ),
        }]);
        let events = EventBuffer::new();
        let mut output_events = EventBuffer::new();
        self.processor
            .process(
                &audio_in,
                &mut audio_out,
                &InputEvents::from_buffer(&events),
                &mut OutputEvents::from_buffer(&mut output_events),
                Some(self.steady),
                transport,
            )
            .expect("process succeeds");
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
    let path = plugin_path();
    // SAFETY: our own plugin library, loaded twice (the same handle, the same statics).
    let entry = unsafe { PluginEntry::load(&path) }.expect("plugin entry loads");
    let diagnostics = Diagnostics(unsafe { libloading::Library::new(&path) }.expect("loads"));
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
