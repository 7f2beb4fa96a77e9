//! Trimeter as a real CLAP host sees it: the plugin library is loaded with clack-host, scanned,
//! instantiated, activated and fed audio through the CLAP ABI.
//!
//! By default the debug build of the plugin library is loaded, which has nice-plug's
//! `assert_process_allocs` active: any allocation inside `process()` aborts this test binary.
//! Set `TRIMETER_CLAP` to a `.clap` file to test another build (e.g. the release bundle).

use clack_extensions::audio_ports_config::{AudioPortsConfigBuffer, PluginAudioPortsConfig};
use clack_extensions::params::{ParamInfoBuffer, PluginParams};
use clack_host::events::event_types::ParamValueEvent;
use clack_host::prelude::*;

#[path = "common/clap.rs"]
mod clap;
use clap::{load_state, plugin_path, save_state, TestHost, TestShared, PLUGIN_ID};

fn load_entry() -> PluginEntry {
    // SAFETY: loading a dynamic library runs its initializers; this is our own plugin.
    unsafe { PluginEntry::load(plugin_path()) }.expect("plugin entry loads")
}

fn host_info() -> HostInfo {
    HostInfo::new("Trimeter tests", "Trimeter Audio", "", "1.0").unwrap()
}

fn new_instance(entry: &PluginEntry) -> PluginInstance<TestHost> {
    PluginInstance::<TestHost>::new(|_| TestShared, |_| (), entry, PLUGIN_ID, &host_info())
        .expect("instance")
}

/// nice-plug exposes parameters to CLAP hosts as normalized values (0..1); the gain parameters
/// are linear in dB over -36..+36.
fn normalized_db(db: f64) -> f64 {
    (db + 36.0) / 72.0
}

/// The CLAP id and range of the parameter named `name`.
fn param(instance: &mut PluginInstance<TestHost>, name: &str) -> (ClapId, f64, f64) {
    let handle = instance.plugin_handle();
    let params: PluginParams = handle.get_extension().expect("params extension");
    let mut buffer = ParamInfoBuffer::new();
    for index in 0..params.count(&handle) {
        let info = params
            .get_info(&handle, index, &mut buffer)
            .expect("param info");
        if info.name == name.as_bytes() {
            return (info.id, info.min_value, info.max_value);
        }
    }
    panic!("no parameter named {name}");
}

fn all_param_values(instance: &mut PluginInstance<TestHost>) -> Vec<(u32, f64)> {
    let handle = instance.plugin_handle();
    let params: PluginParams = handle.get_extension().expect("params extension");
    let mut buffer = ParamInfoBuffer::new();
    (0..params.count(&handle))
        .map(|index| {
            let id = params.get_info(&handle, index, &mut buffer).unwrap().id;
            (id.get(), params.get_value(&handle, id).unwrap())
        })
        .collect()
}

/// Selects the plugin's mono in/out port configuration, as a host does for a mono track.
fn select_mono(instance: &mut PluginInstance<TestHost>) {
    let handle = instance.plugin_handle();
    let configs: PluginAudioPortsConfig = handle
        .get_extension()
        .expect("audio-ports-config extension");
    let mut buffer = AudioPortsConfigBuffer::new();
    let mono = (0..configs.count(&handle))
        .filter_map(|i| {
            configs
                .get(&handle, i, &mut buffer)
                .map(|c| (c.id, c.main_input.map(|p| p.channel_count)))
        })
        .find(|&(_, channels)| channels == Some(1))
        .map(|(id, _)| id)
        .expect("a mono configuration");
    configs.select(&handle, mono).expect("mono selects");
}

/// Runs `input` (planar) through an activated instance in blocks of the given lengths, with
/// `events` (frame, param, plain value) delivered in the block that contains their frame.
fn run(
    instance: &mut PluginInstance<TestHost>,
    sample_rate: f64,
    max_block: u32,
    input: &[Vec<f32>],
    blocks: &[usize],
    events: &[(usize, ClapId, f64)],
) -> Vec<Vec<f32>> {
    let channels = input.len();
    let config = PluginAudioConfiguration {
        sample_rate,
        min_frames_count: 1,
        max_frames_count: max_block,
    };
    let processor = instance.activate(|_, _| (), config).expect("activates");
    let mut processor = processor.start_processing().expect("starts processing");
    let mut input_ports = AudioPorts::with_capacity(channels, 1);
    let mut output_ports = AudioPorts::with_capacity(channels, 1);
    let mut output: Vec<Vec<f32>> = vec![Vec::with_capacity(input[0].len()); channels];
    let mut in_buffers: Vec<Vec<f32>> = vec![vec![0.0; max_block as usize]; channels];
    let mut out_buffers: Vec<Vec<f32>> = vec![vec![0.0; max_block as usize]; channels];
    let mut event_buffer = EventBuffer::new();
    let mut output_events = EventBuffer::new();
    let mut offset = 0;
    for &len in blocks {
        assert!(len as u32 <= max_block);
        for (buffer, source) in in_buffers.iter_mut().zip(input) {
            buffer[..len].copy_from_slice(&source[offset..offset + len]);
        }
        event_buffer.clear();
        for &(frame, id, value) in events
            .iter()
            .filter(|(f, _, _)| (offset..offset + len).contains(f))
        {
            event_buffer.push(&ParamValueEvent::new(
                (frame - offset) as u32,
                id,
                Pckn::match_all(),
                value,
            ));
        }
        let audio_in = input_ports.with_input_buffers([AudioPortBuffer {
            latency: 0,
            channels: AudioPortBufferType::f32_input_only(
                in_buffers
                    .iter_mut()
                    .map(|b| InputChannel::variable(&mut b[..len])),
            ),
        }]);
        let mut audio_out = output_ports.with_output_buffers([AudioPortBuffer {
            latency: 0,
            channels: AudioPortBufferType::f32_output_only(
                out_buffers.iter_mut().map(|b| &mut b[..len]),
            ),
        }]);
        output_events.clear();
        processor
            .process(
                &audio_in,
                &mut audio_out,
                &InputEvents::from_buffer(&event_buffer),
                &mut OutputEvents::from_buffer(&mut output_events),
                Some(offset as u64),
                None,
            )
            .expect("process succeeds");
        for (out, buffer) in output.iter_mut().zip(&out_buffers) {
            out.extend_from_slice(&buffer[..len]);
        }
        offset += len;
    }
    instance.deactivate(processor.stop_processing());
    output
}

fn sine(sample_rate: f64, peak_dbfs: f64, seconds: f64) -> Vec<f32> {
    trimeter_meters::signals::sine(sample_rate, 997.0, peak_dbfs, seconds, 0.0)
}

fn peak_db(samples: &[f32]) -> f64 {
    20.0 * f64::from(samples.iter().fold(0.0f32, |m, s| m.max(s.abs()))).log10()
}

#[test]
fn scan_finds_one_plugin_with_the_declared_descriptor() {
    let entry = load_entry();
    let factory = entry.get_plugin_factory().expect("plugin factory");
    let descriptors: Vec<_> = factory.plugin_descriptors().collect();
    assert_eq!(descriptors.len(), 1);
    let d = &descriptors[0];
    assert_eq!(d.id().unwrap(), PLUGIN_ID);
    assert_eq!(d.name().unwrap(), c"Trimeter");
    assert_eq!(d.vendor().unwrap(), c"Trimeter Audio");
    let features: Vec<String> = d
        .features()
        .map(|f| f.to_string_lossy().into_owned())
        .collect();
    for expected in ["audio-effect", "utility", "analyzer", "mono", "stereo"] {
        assert!(
            features.iter().any(|f| f == expected),
            "missing feature {expected}: {features:?}"
        );
    }
}

#[test]
fn trim_of_6_db_turns_minus_20_into_minus_14_at_every_sample_rate() {
    let entry = load_entry();
    for sample_rate in [44_100.0, 48_000.0, 96_000.0] {
        let mut instance = new_instance(&entry);
        let (trim, min, max) = param(&mut instance, "Input Trim");
        assert_eq!((min, max), (0.0, 1.0));
        let signal = sine(sample_rate, -20.0, 1.0);
        let frames = signal.len();
        let blocks: Vec<usize> = std::iter::repeat_n(512, frames / 512)
            .chain([frames % 512])
            .filter(|&n| n > 0)
            .collect();
        let out = run(
            &mut instance,
            sample_rate,
            512,
            &[signal.clone(), signal],
            &blocks,
            &[(0, trim, normalized_db(6.0))],
        );
        // After the 50 ms ramp the level is exact.
        let settled = (sample_rate * 0.1) as usize;
        for channel in &out {
            let level = peak_db(&channel[settled..]);
            assert!(
                (level - -14.0).abs() <= 0.01,
                "{sample_rate} Hz: {level} dBFS"
            );
        }
    }
}

#[test]
fn automating_trim_across_the_full_range_never_zips() {
    let entry = load_entry();
    let sample_rate = 48_000.0;
    let mut instance = new_instance(&entry);
    let (trim, _, _) = param(&mut instance, "Input Trim");
    // A constant input makes the output follow the gain exactly.
    let frames = 24_000;
    let input = vec![vec![0.01f32; frames]; 2];
    let blocks = vec![1000; frames / 1000];
    let out = run(
        &mut instance,
        sample_rate,
        1000,
        &input,
        &blocks,
        &[
            (0, trim, normalized_db(-36.0)),
            (6000, trim, normalized_db(36.0)),
        ],
    );
    let max_step_db = out[0][6000..]
        .windows(2)
        .map(|w| (20.0 * (f64::from(w[1]) / f64::from(w[0])).log10()).abs())
        .fold(0.0, f64::max);
    assert!(max_step_db <= 0.05, "{max_step_db} dB per sample");
    let end_db = 20.0 * (f64::from(*out[0].last().unwrap()) / 0.01).log10();
    assert!((end_db - 36.0).abs() < 0.01, "{end_db}");
}

#[test]
fn output_does_not_depend_on_block_sizes() {
    let entry = load_entry();
    let sample_rate = 44_100.0;
    let frames = 20_000;
    let left = trimeter_meters::signals::white_noise(frames, 0.5, 11);
    let right = trimeter_meters::signals::white_noise(frames, 0.5, 12);
    let input = vec![left, right];
    let mut instance = new_instance(&entry);
    let (trim, _, _) = param(&mut instance, "Input Trim");
    let (makeup, _, _) = param(&mut instance, "Output Makeup");
    let events = [
        (0, trim, normalized_db(7.5)),
        (0, makeup, normalized_db(-2.25)),
    ];
    let reference = run(
        &mut instance,
        sample_rate,
        4096,
        &input,
        &[4096, 4096, 4096, 4096, 3616],
        &events,
    );
    for blocks in [
        vec![1; frames],
        std::iter::repeat_n(7, frames / 7)
            .chain([frames % 7])
            .collect::<Vec<_>>(),
        vec![64; frames / 64]
            .into_iter()
            .chain([frames % 64])
            .collect(),
        trimeter_meters::signals::random_splits(frames, 4096, 5),
    ] {
        let mut instance = new_instance(&entry);
        let out = run(&mut instance, sample_rate, 4096, &input, &blocks, &events);
        assert_eq!(out, reference, "blocks of {}", blocks[0]);
    }
}

#[test]
fn non_finite_input_never_reaches_the_output() {
    let entry = load_entry();
    let mut instance = new_instance(&entry);
    let mut left = sine(48_000.0, -6.0, 0.1);
    let mut right = left.clone();
    for i in (0..left.len()).step_by(97) {
        left[i] = f32::NAN;
        right[i] = if i % 2 == 0 {
            f32::INFINITY
        } else {
            f32::NEG_INFINITY
        };
    }
    right[5] = 1e30;
    let frames = left.len();
    let out = run(
        &mut instance,
        48_000.0,
        256,
        &[left, right],
        &vec![256; frames / 256],
        &[],
    );
    assert!(out.iter().flatten().all(|s| s.is_finite()));
    assert_eq!(out[0][0], 0.0);
    assert_eq!(out[1][5], 1e30);
}

#[test]
fn state_round_trips_byte_identical() {
    let entry = load_entry();
    let mut first = new_instance(&entry);
    let (trim, _, _) = param(&mut first, "Input Trim");
    let (makeup, _, _) = param(&mut first, "Output Makeup");
    let (invert, _, _) = param(&mut first, "Invert Right");
    let silence = vec![vec![0.0f32; 64]; 2];
    run(
        &mut first,
        48_000.0,
        64,
        &silence,
        &[64],
        &[
            (0, trim, normalized_db(-7.25)),
            (0, makeup, normalized_db(3.5)),
            (0, invert, 1.0),
        ],
    );
    let saved = save_state(&mut first);
    let values = all_param_values(&mut first);
    assert!(
        values
            .iter()
            .any(|&(_, v)| (v - normalized_db(-7.25)).abs() < 1e-6),
        "{values:?}"
    );

    let mut second = new_instance(&entry);
    assert!(load_state(&mut second, &saved));
    assert_eq!(all_param_values(&mut second), values);
    assert_eq!(save_state(&mut second), saved);
}

#[test]
fn corrupt_state_is_rejected_and_defaults_survive() {
    let entry = load_entry();
    let mut instance = new_instance(&entry);
    let defaults = all_param_values(&mut instance);
    let mut noise = vec![0u8; 1 << 20];
    let mut rng = trimeter_meters::rng::Rng::new(99);
    noise.iter_mut().for_each(|b| *b = rng.next_u64() as u8);
    let valid = save_state(&mut instance);
    let truncated = valid[..valid.len() / 2].to_vec();
    for bad in [Vec::new(), noise, truncated, b"{\"params\": 12}".to_vec()] {
        assert!(
            !load_state(&mut instance, &bad),
            "accepted {} bytes of garbage",
            bad.len()
        );
        assert_eq!(all_param_values(&mut instance), defaults);
    }
    // Still alive and processing.
    let out = run(
        &mut instance,
        48_000.0,
        64,
        &[sine(48_000.0, -20.0, 0.01), sine(48_000.0, -20.0, 0.01)],
        &[64, 64, 64, 64, 64, 64, 64, 28],
        &[],
    );
    assert!((peak_db(&out[0]) - -20.0).abs() < 0.01);
}

#[test]
fn odd_rates_and_block_sizes_and_mono_and_many_instances_work() {
    let entry = load_entry();
    for (sample_rate, max_block) in [
        (8_000.0, 1),
        (22_050.0, 16_384),
        (192_000.0, 333),
        (768_000.0, 2048),
    ] {
        let mut instance = new_instance(&entry);
        let signal = sine(sample_rate, -12.0, 0.05);
        let frames = signal.len();
        // Hosts may also send empty blocks.
        let mut blocks = vec![0];
        blocks.extend(trimeter_meters::signals::random_splits(
            frames, max_block, 3,
        ));
        blocks.push(0);
        let out = run(
            &mut instance,
            sample_rate,
            max_block as u32,
            &[signal.clone(), signal],
            &blocks,
            &[],
        );
        assert!((peak_db(&out[0]) - -12.0).abs() < 0.05, "{sample_rate}");
    }
    // Mono layout: one channel in, one out.
    let mut instance = new_instance(&entry);
    select_mono(&mut instance);
    let out = run(
        &mut instance,
        48_000.0,
        128,
        &[sine(48_000.0, -3.0, 0.02)],
        &[128; 7],
        &[],
    );
    assert!((peak_db(&out[0]) - -3.0).abs() < 0.05);
    // 64 instances alive at once, each processing.
    let mut instances: Vec<_> = (0..64).map(|_| new_instance(&entry)).collect();
    for instance in &mut instances {
        let out = run(
            instance,
            48_000.0,
            64,
            &[sine(48_000.0, -20.0, 0.01), sine(48_000.0, -20.0, 0.01)],
            &[64; 7],
            &[],
        );
        assert!(out.iter().flatten().all(|s| s.is_finite()));
    }
}
