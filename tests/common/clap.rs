//! What the CLAP host tests share: a minimal host, the plugin library under test, and state
//! save and load through the CLAP state extension.
//!
//! Included with `#[path = "common/clap.rs"] mod clap;`.
#![allow(dead_code)]

use std::ffi::CStr;
use std::path::PathBuf;

use clack_extensions::state::PluginState;
use clack_host::events::event_types::{TransportEvent, TransportFlags};
use clack_host::events::{EventFlags, EventHeader};
use clack_host::prelude::*;
use clack_host::utils::{BeatTime, SecondsTime};

/// Trimeter's CLAP id.
pub const PLUGIN_ID: &CStr = c"audio.trimeter.trimeter";

/// A host with no extensions of its own.
pub struct TestHost;
/// Its thread-safe part.
pub struct TestShared;

impl SharedHandler<'_> for TestShared {
    fn request_restart(&self) {}
    fn request_process(&self) {}
    fn request_callback(&self) {}
}

impl HostHandlers for TestHost {
    type Shared<'a> = TestShared;
    type MainThread<'a> = ();
    type AudioProcessor<'a> = ();
}

/// The plugin library under test.
pub fn plugin_path() -> PathBuf {
    if let Some(path) = std::env::var_os("TRIMETER_CLAP") {
        return PathBuf::from(path);
    }
    // The test binary and the plugin library `cargo test` just built sit side by side in
    // target/<profile>/deps. (The copy in target/<profile> is only refreshed by `cargo build`,
    // so it can be stale.)
    let exe = std::env::current_exe().expect("test executable path");
    let deps_dir = exe.parent().expect("target/<profile>/deps");
    let name = if cfg!(target_os = "windows") {
        "trimeter.dll"
    } else if cfg!(target_os = "macos") {
        "libtrimeter.dylib"
    } else {
        "libtrimeter.so"
    };
    let path = deps_dir.join(name);
    assert!(
        path.exists(),
        "{} not built (cargo builds the cdylib with the tests)",
        path.display()
    );
    path
}

/// The plugin library under test, as a host loads it, and the same library again for its
/// exported diagnostics ([`diagnostic`]; the same handle, the same statics).
pub fn load_plugin() -> (PluginEntry, libloading::Library) {
    let path = plugin_path();
    // SAFETY: our own plugin library; loading it runs its initializers.
    let entry = unsafe { PluginEntry::load(&path) }.expect("plugin entry loads");
    // SAFETY: as above.
    let library = unsafe { libloading::Library::new(&path) }.expect("library loads");
    (entry, library)
}

/// Fills every channel with a 997 Hz sine peaking at `level_dbfs`, frame `first_frame` of a
/// tone at `sample_rate` onwards (so consecutive blocks continue the tone).
pub fn fill_sine(buffers: &mut [Vec<f32>], level_dbfs: f64, first_frame: u64, sample_rate: f64) {
    let amplitude = 10f64.powf(level_dbfs / 20.0);
    for buffer in buffers {
        for (i, s) in buffer.iter_mut().enumerate() {
            let n = (first_frame + i as u64) as f64;
            *s = (amplitude * (std::f64::consts::TAU * 997.0 * n / sample_rate).sin()) as f32;
        }
    }
}

/// The instance's state, as a host saves it.
pub fn save_state<H: HostHandlers>(instance: &mut PluginInstance<H>) -> Vec<u8> {
    let handle = instance.plugin_handle();
    let state: PluginState = handle.get_extension().expect("state extension");
    let mut bytes = Vec::new();
    state.save(&handle, &mut bytes).expect("state saves");
    bytes
}

/// Loads `bytes` as the instance's state; whether the plugin accepted it.
pub fn load_state<H: HostHandlers>(instance: &mut PluginInstance<H>, bytes: &[u8]) -> bool {
    let handle = instance.plugin_handle();
    let state: PluginState = handle.get_extension().expect("state extension");
    state.load(&handle, &mut &bytes[..]).is_ok()
}

/// A CLAP transport (seconds timeline, 120 BPM) at `pos_s` seconds, playing or not.
pub fn transport(playing: bool, pos_s: f64) -> TransportEvent {
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

/// One of the plugin library's exported diagnostics (`extern "C" fn() -> u64`, src/lib.rs), by
/// symbol name, from the library loaded a second time (the same handle, the same statics).
pub fn diagnostic(library: &libloading::Library, name: &[u8]) -> u64 {
    // SAFETY: the diagnostics' signature is fixed in src/lib.rs.
    unsafe {
        let f: libloading::Symbol<extern "C" fn() -> u64> =
            library.get(name).expect("diagnostic symbol");
        f()
    }
}

/// Runs one block through `processor`: the planar `input` (every channel as long as the block)
/// into `output`, with no input events; returns the events the plugin sent.
pub fn process_block<H: HostHandlers>(
    processor: &mut StartedPluginAudioProcessor<H>,
    input: &mut [Vec<f32>],
    output: &mut [Vec<f32>],
    steady_time: u64,
    transport: Option<&TransportEvent>,
) -> EventBuffer {
    let mut input_ports = AudioPorts::with_capacity(input.len(), 1);
    let mut output_ports = AudioPorts::with_capacity(output.len(), 1);
    let audio_in = input_ports.with_input_buffers([AudioPortBuffer {
        latency: 0,
        channels: AudioPortBufferType::f32_input_only(
            input.iter_mut().map(|b| InputChannel::variable(&mut b[..])),
        ),
    }]);
    let mut audio_out = output_ports.with_output_buffers([AudioPortBuffer {
        latency: 0,
        channels: AudioPortBufferType::f32_output_only(output.iter_mut().map(|b| &mut b[..])),
    }]);
    let events = EventBuffer::new();
    let mut output_events = EventBuffer::new();
    processor
        .process(
            &audio_in,
            &mut audio_out,
            &InputEvents::from_buffer(&events),
            &mut OutputEvents::from_buffer(&mut output_events),
            Some(steady_time),
            transport,
        )
        .expect("process succeeds");
    output_events
}
