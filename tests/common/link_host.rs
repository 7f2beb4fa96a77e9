//! A small CLAP host for the link's tests and benchmark: instances of one loaded plugin
//! library (so they share its registry), processed block by block as a host runs a chain, and
//! the library's exported link diagnostics.
//!
//! Included with `#[path = "common/clap.rs"] mod clap;` beside it (the host and the plugin
//! library's path are that module's).

#![allow(dead_code)]

use clack_extensions::params::{ParamInfoBuffer, PluginParams};
use clack_host::events::event_types::ParamValueEvent;
use clack_host::prelude::*;

use super::clap::{diagnostic, plugin_path, TestHost, TestShared, PLUGIN_ID};

pub const RATE: f64 = 48_000.0;
pub const BLOCK: usize = 512;

/// The plugin library, loaded once for the whole binary (all instances share its registry).
pub fn entry() -> &'static PluginEntry {
    static ENTRY: std::sync::OnceLock<PluginEntry> = std::sync::OnceLock::new();
    // SAFETY: loading a dynamic library runs its initializers; this is our own plugin.
    ENTRY.get_or_init(|| unsafe { PluginEntry::load(plugin_path()) }.expect("plugin loads"))
}

/// The plugin library loaded a second time: dlopen of the same path returns the library the
/// instances run in, with its exported link diagnostics.
fn library() -> libloading::Library {
    // SAFETY: our own plugin, already loaded by [`entry`].
    unsafe { libloading::Library::new(plugin_path()) }.expect("plugin library loads")
}

/// Instances in the plugin library's registry now.
pub fn instances() -> u64 {
    diagnostic(&library(), b"trimeter_link_instances")
}

/// How many instances with `role` in `group` report the health code `health`.
pub fn health_count(role: u8, group: u8, health: u8) -> u64 {
    // SAFETY: the symbol is our exported `extern "C" fn(u8, u8, u8) -> u64`.
    unsafe {
        let library = library();
        let f: libloading::Symbol<extern "C" fn(u8, u8, u8) -> u64> =
            library.get(b"trimeter_link_health_count").unwrap();
        f(role, group, health)
    }
}

/// The link state the plugin library reports for the first instance with `role` (1 Start,
/// 2 End) in `group`: (health, compare, latency in frames/16 + 1), or `None`.
pub fn link_state(role: u8, group: u8) -> Option<(u8, u8, u32)> {
    // SAFETY: the symbol is our exported `extern "C" fn(u8, u8) -> i64`.
    let state = unsafe {
        let library = library();
        let f: libloading::Symbol<extern "C" fn(u8, u8) -> i64> =
            library.get(b"trimeter_link_state").unwrap();
        f(role, group)
    };
    (state >= 0).then(|| {
        let s = state as u32;
        (s as u8, (s >> 8) as u8, s >> 16)
    })
}

pub struct Node {
    processor: Option<StartedPluginAudioProcessor<TestHost>>,
    instance: PluginInstance<TestHost>,
    ids: Vec<(String, ClapId)>,
    pending: Vec<(ClapId, f64)>,
    input_ports: AudioPorts,
    output_ports: AudioPorts,
    inputs: Vec<Vec<f32>>,
    outputs: Vec<Vec<f32>>,
    events: EventBuffer,
    output_events: EventBuffer,
    steady: u64,
}

impl Node {
    pub fn new() -> Self {
        Self::at_rate(RATE)
    }

    /// An instance activated at `sample_rate`.
    pub fn at_rate(sample_rate: f64) -> Self {
        let host = HostInfo::new("Trimeter link tests", "Trimeter Audio", "", "1.0").unwrap();
        let mut instance =
            PluginInstance::<TestHost>::new(|_| TestShared, |_| (), entry(), PLUGIN_ID, &host)
                .expect("instance");
        let handle = instance.plugin_handle();
        let params: PluginParams = handle.get_extension().expect("params extension");
        let mut buffer = ParamInfoBuffer::new();
        let ids = (0..params.count(&handle))
            .map(|i| {
                let info = params.get_info(&handle, i, &mut buffer).unwrap();
                (String::from_utf8_lossy(info.name).into_owned(), info.id)
            })
            .collect();
        let config = PluginAudioConfiguration {
            sample_rate,
            min_frames_count: 1,
            max_frames_count: BLOCK as u32,
        };
        let processor = instance
            .activate(|_, _| (), config)
            .expect("activates")
            .start_processing()
            .expect("starts");
        Self {
            processor: Some(processor),
            instance,
            ids,
            pending: Vec::new(),
            input_ports: AudioPorts::with_capacity(2, 1),
            output_ports: AudioPorts::with_capacity(2, 1),
            inputs: vec![vec![0.0; BLOCK]; 2],
            outputs: vec![vec![0.0; BLOCK]; 2],
            events: EventBuffer::new(),
            output_events: EventBuffer::new(),
            steady: 0,
        }
    }

    /// Sets the parameter named `name` at the next block. nice-plug shows stepped parameters
    /// (enums, integers, switches) to CLAP hosts as their step index (0..steps), continuous
    /// ones as a normalized value (0..1).
    pub fn set(&mut self, name: &str, normalized: f64) {
        let id = self
            .ids
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("no parameter {name}"))
            .1;
        self.pending.push((id, normalized));
    }

    /// Role (0 Off, 1 Start, 2 End), group (1..=64) and match mode (0 Off, 1 One-shot,
    /// 2 Continuous).
    pub fn link(&mut self, role: u8, group: u8, mode: u8) {
        self.set("Link Role", f64::from(role));
        self.set("Link Group", f64::from(group - 1));
        self.set("Match Mode", f64::from(mode));
    }

    /// Processes one stereo block in place.
    pub fn process(&mut self, block: &mut [Vec<f32>; 2]) {
        let len = block[0].len();
        for (buffer, source) in self.inputs.iter_mut().zip(block.iter()) {
            buffer[..len].copy_from_slice(source);
        }
        self.events.clear();
        for (id, value) in self.pending.drain(..) {
            self.events
                .push(&ParamValueEvent::new(0, id, Pckn::match_all(), value));
        }
        let audio_in = self.input_ports.with_input_buffers([AudioPortBuffer {
            latency: 0,
            channels: AudioPortBufferType::f32_input_only(
                self.inputs
                    .iter_mut()
                    .map(|b| InputChannel::variable(&mut b[..len])),
            ),
        }]);
        let mut audio_out = self.output_ports.with_output_buffers([AudioPortBuffer {
            latency: 0,
            channels: AudioPortBufferType::f32_output_only(
                self.outputs.iter_mut().map(|b| &mut b[..len]),
            ),
        }]);
        self.output_events.clear();
        self.processor
            .as_mut()
            .expect("processing")
            .process(
                &audio_in,
                &mut audio_out,
                &InputEvents::from_buffer(&self.events),
                &mut OutputEvents::from_buffer(&mut self.output_events),
                Some(self.steady),
                None,
            )
            .expect("process succeeds");
        self.steady += len as u64;
        for (out, buffer) in block.iter_mut().zip(&self.outputs) {
            out.copy_from_slice(&buffer[..len]);
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some(processor) = self.processor.take() {
            self.instance.deactivate(processor.stop_processing());
        }
    }
}

/// A chain of known gain and latency (a delay line), built by the test host.
pub struct Chain {
    /// Linear gain (negative inverts).
    pub gain: f32,
    delay: Vec<[f32; 2]>,
    position: usize,
}

impl Chain {
    pub fn new(gain_db: f32, latency: usize) -> Self {
        Self {
            gain: 10f32.powf(gain_db / 20.0),
            delay: vec![[0.0; 2]; latency],
            position: 0,
        }
    }

    pub fn process(&mut self, block: &mut [Vec<f32>; 2]) {
        for i in 0..block[0].len() {
            let x = [block[0][i] * self.gain, block[1][i] * self.gain];
            let y = if self.delay.is_empty() {
                x
            } else {
                let y = self.delay[self.position];
                self.delay[self.position] = x;
                self.position = (self.position + 1) % self.delay.len();
                y
            };
            block[0][i] = y[0];
            block[1][i] = y[1];
        }
    }
}
