//! The level-match link as a CLAP host sees it: several Trimeter instances of one loaded
//! library (so they share the library's process-wide registry), a Start and an End around a
//! chain that this test host builds (a gain, optionally a delay), processed block by block in
//! chain order.
//!
//! The debug build of the plugin is loaded, with nice-plug's `assert_process_allocs`: any
//! allocation in `process()` of a Start, an End or an End with Compare aborts this binary.
//! Each test uses its own link groups, since the tests of this binary share one registry.

use std::ffi::CStr;
use std::path::PathBuf;

use clack_extensions::params::{ParamInfoBuffer, PluginParams};
use clack_host::events::event_types::ParamValueEvent;
use clack_host::prelude::*;
use trimeter_meters::signals::white_noise;

struct TestHost;
struct TestShared;

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

const PLUGIN_ID: &CStr = c"audio.trimeter.trimeter";
const RATE: f64 = 48_000.0;
const BLOCK: usize = 512;

fn plugin_path() -> PathBuf {
    if let Some(path) = std::env::var_os("TRIMETER_CLAP") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().expect("test executable path");
    exe.parent()
        .expect("target/<profile>/deps")
        .join("libtrimeter.so")
}

/// The plugin library, loaded once for the whole binary (all instances share its registry).
fn entry() -> &'static PluginEntry {
    static ENTRY: std::sync::OnceLock<PluginEntry> = std::sync::OnceLock::new();
    // SAFETY: loading a dynamic library runs its initializers; this is our own plugin.
    ENTRY.get_or_init(|| unsafe { PluginEntry::load(plugin_path()) }.expect("plugin loads"))
}

/// The link state the plugin library reports for the first instance with `role` (1 Start,
/// 2 End) in `group`: (health, compare, latency in frames/16 + 1), or `None`.
fn link_state(role: u8, group: u8) -> Option<(u8, u8, u32)> {
    // SAFETY: the symbol is our exported `extern "C" fn(u8, u8) -> i64`.
    let state = unsafe {
        let library = libloading::Library::new(plugin_path()).unwrap();
        let f: libloading::Symbol<extern "C" fn(u8, u8) -> i64> =
            library.get(b"trimeter_link_state").unwrap();
        f(role, group)
    };
    (state >= 0).then(|| {
        let s = state as u32;
        (s as u8, (s >> 8) as u8, s >> 16)
    })
}

// Health codes, in the order of `trimeter::link::status::Health`.
const PUBLISHING: u8 = 2;
const PARTNER_FOUND: u8 = 4;
const NO_START: u8 = 5;
// Compare codes, in the order of `trimeter::link::status::CompareState`.
const COMPARE_DRY: u8 = 1;

/// One activated, processing instance with its buffers.
struct Node {
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
    fn new() -> Self {
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
            sample_rate: RATE,
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
    fn set(&mut self, name: &str, normalized: f64) {
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
    fn link(&mut self, role: u8, group: u8, mode: u8) {
        self.set("Link Role", f64::from(role));
        self.set("Link Group", f64::from(group - 1));
        self.set("Match Mode", f64::from(mode));
    }

    /// Processes one stereo block in place.
    fn process(&mut self, block: &mut [Vec<f32>; 2]) {
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
struct Chain {
    gain: f32,
    delay: Vec<[f32; 2]>,
    position: usize,
}

impl Chain {
    fn new(gain_db: f32, latency: usize) -> Self {
        Self {
            gain: 10f32.powf(gain_db / 20.0),
            delay: vec![[0.0; 2]; latency],
            position: 0,
        }
    }

    fn process(&mut self, block: &mut [Vec<f32>; 2]) {
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

/// Stereo noise, `seconds` long, in blocks.
fn noise(seconds: f64, seed: u64) -> (Vec<f32>, Vec<f32>) {
    let frames = (seconds * RATE) as usize;
    (
        white_noise(frames, 0.25, seed),
        white_noise(frames, 0.25, seed + 1),
    )
}

fn rms_db(samples: &[f32]) -> f64 {
    let power: f64 = samples.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>();
    10.0 * (power / samples.len() as f64).log10()
}

/// Runs Start -> chain -> End over the signal, returning (Start's input, End's output), left
/// channel.
fn run_pair(
    start: &mut Node,
    chain: &mut Chain,
    end: &mut Node,
    signal: &(Vec<f32>, Vec<f32>),
    mut each_block: impl FnMut(usize, &mut Node, &mut Node),
) -> Vec<f32> {
    let mut out = Vec::with_capacity(signal.0.len());
    for (i, (l, r)) in signal
        .0
        .chunks(BLOCK)
        .zip(signal.1.chunks(BLOCK))
        .enumerate()
    {
        each_block(i, start, end);
        let mut block = [l.to_vec(), r.to_vec()];
        start.process(&mut block);
        chain.process(&mut block);
        end.process(&mut block);
        out.extend_from_slice(&block[0]);
    }
    out
}

#[test]
fn continuous_match_brings_a_minus_9_db_chain_back_and_other_groups_are_unaffected() {
    let group = 10;
    let other = 11;
    let lonely = 12;
    let (mut start, mut end) = (Node::new(), Node::new());
    start.link(1, group, 0);
    end.link(2, group, 2);
    let (mut start2, mut end2) = (Node::new(), Node::new());
    start2.link(1, other, 0);
    end2.link(2, other, 2);
    // An End with no Start in its group: passes its input untouched.
    let mut alone = Node::new();
    alone.link(2, lonely, 2);
    let signal = noise(14.0, 1);
    let (mut chain, mut chain2) = (Chain::new(-9.0, 0), Chain::new(-3.0, 0));
    let mut out = Vec::new();
    let mut out2 = Vec::new();
    let mut alone_in = Vec::new();
    let mut alone_out = Vec::new();
    for (l, r) in signal.0.chunks(BLOCK).zip(signal.1.chunks(BLOCK)) {
        let mut block = [l.to_vec(), r.to_vec()];
        start.process(&mut block);
        chain.process(&mut block);
        end.process(&mut block);
        out.extend_from_slice(&block[0]);
        let mut block = [l.to_vec(), r.to_vec()];
        start2.process(&mut block);
        chain2.process(&mut block);
        end2.process(&mut block);
        out2.extend_from_slice(&block[0]);
        let mut block = [l.to_vec(), r.to_vec()];
        Chain::new(-6.0, 0).process(&mut block);
        alone_in.extend_from_slice(&block[0]);
        alone.process(&mut block);
        alone_out.extend_from_slice(&block[0]);
    }
    let tail = (3.0 * RATE) as usize;
    let from = signal.0.len() - tail;
    let reference = rms_db(&signal.0[from..]);
    let matched = rms_db(&out[from..]);
    let matched2 = rms_db(&out2[from..]);
    assert!(
        (matched - reference).abs() <= 0.5,
        "{matched} vs {reference}"
    );
    assert!(
        (matched2 - reference).abs() <= 0.5,
        "{matched2} vs {reference}"
    );
    assert_eq!(
        alone_out, alone_in,
        "an End without a Start changes nothing"
    );
    assert_eq!(link_state(2, group).map(|s| s.0), Some(PARTNER_FOUND));
    assert_eq!(link_state(1, group).map(|s| s.0), Some(PUBLISHING));
    assert_eq!(link_state(2, lonely).map(|s| s.0), Some(NO_START));
    // The Start goes away: the End says so at its next block.
    drop(start);
    let mut block = [signal.0[..BLOCK].to_vec(), signal.1[..BLOCK].to_vec()];
    end.process(&mut block);
    assert_eq!(link_state(2, group).map(|s| s.0), Some(NO_START));
}

/// Cross-correlation of `a` against `b` shifted by every lag in -max..=max, normalized; the
/// lag of the peak and its value.
fn correlation_peak(a: &[f32], b: &[f32], max: isize) -> (isize, f64) {
    let n = a.len().min(b.len()) as isize;
    let mut best = (0, 0.0f64);
    for lag in -max..=max {
        let (mut sum, mut ea, mut eb) = (0.0f64, 0.0f64, 0.0f64);
        for i in max..n - max {
            let x = f64::from(a[i as usize]);
            let y = f64::from(b[(i + lag) as usize]);
            sum += x * y;
            ea += x * x;
            eb += y * y;
        }
        let c = sum / (ea * eb).sqrt();
        if c.abs() > best.1.abs() {
            best = (lag, c);
        }
    }
    best
}

#[test]
fn compare_plays_the_dry_signal_time_aligned_and_level_matched() {
    let group = 20;
    let latency = 1_234;
    let (mut start, mut end) = (Node::new(), Node::new());
    start.link(1, group, 0);
    end.link(2, group, 2);
    let mut chain = Chain::new(-9.0, latency);
    let signal = noise(16.0, 5);
    let compare_at = (12.0 * RATE) as usize / BLOCK;
    let out = run_pair(&mut start, &mut chain, &mut end, &signal, |i, _, end| {
        if i == compare_at {
            end.set("Compare", 1.0);
        }
    });
    let (_, compare, latency_code) = link_state(2, group).unwrap();
    assert_eq!(compare, COMPARE_DRY, "Compare plays the dry signal");
    assert_eq!(latency_code, latency as u32 / 16 + 1, "latency reported");
    // The last 3 s: the dry signal, delayed by the chain's latency (so A/B does not jump).
    let from = signal.0.len() - (3.0 * RATE) as usize;
    let dry = &signal.0[from - latency..signal.0.len() - latency];
    let played = &out[from..];
    let (lag, c) = correlation_peak(played, dry, 64);
    assert_eq!(lag, 0, "peak at lag 0 after compensation ({c})");
    assert!(c > 0.999, "{c}");
    let level = rms_db(played) - rms_db(dry);
    assert!(
        level.abs() <= 0.5,
        "dry played {level} dB off the Start's input level"
    );
}
