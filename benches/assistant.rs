//! What the assistant costs on the audio thread: the input meters alone, against the input
//! meters plus the assistant while it learns (the learner's own engine, the precise true peak,
//! the 10 ms VU sampling, the noise floor, and the status published ten times a second as with
//! the editor open). 60 s of stereo noise at 48 kHz in 512-frame blocks, the two alternately,
//! best of five. Also the time of one status (the snapshot the editor gets at 10 Hz).
//!
//! Run with `cargo bench --bench assistant`; it prints the CPU model. Under `cargo test` (no
//! `--bench` argument) it runs one second once, as a smoke test.

use std::sync::Arc;
use std::time::Instant;

use trimeter::assistant::engine::{AssistantEngine, AssistantRequests, TransportInfo};
use trimeter::assistant::settings::AudioSettings;
use trimeter::assistant::status_channel;
use trimeter_meters::signals::white_noise;
use trimeter_meters::staging::StagingTarget;
use trimeter_meters::{EngineConfig, MeterEngine};

const BLOCK: usize = 512;

fn config() -> EngineConfig {
    EngineConfig {
        sample_rate: 48_000.0,
        channels: 2,
        max_block: BLOCK,
        ..EngineConfig::default()
    }
}

fn settings() -> AudioSettings {
    AudioSettings {
        target: StagingTarget::default(),
        pause_when_stopped: true,
        reset_on_jump: true,
    }
}

/// Seconds for the input meters over `signal`, and with the assistant learning beside them.
fn run(signal: &[Vec<f32>; 2], with_assistant: bool) -> f64 {
    let mut meters = MeterEngine::new(config());
    let requests = Arc::new(AssistantRequests::default());
    let (writer, mut reader) = status_channel();
    let mut assistant = AssistantEngine::new(config(), settings(), requests.clone(), writer);
    requests.request(AssistantRequests::LEARN);
    let start = Instant::now();
    for (l, r) in signal[0].chunks(BLOCK).zip(signal[1].chunks(BLOCK)) {
        let block = [l, r];
        meters.process(&block);
        if with_assistant {
            assistant.begin_block(settings(), TransportInfo::NONE, l.len());
            assistant.process(&block);
            assistant.end_block(l.len(), true);
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    std::hint::black_box((meters.summary(), reader.read()));
    seconds
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let (seconds, runs) = if bench { (60.0, 5) } else { (1.0, 1) };
    let frames = (48_000.0 * seconds) as usize;
    let signal = [white_noise(frames, 0.3, 1), white_noise(frames, 0.3, 2)];
    let (mut alone, mut with) = (f64::INFINITY, f64::INFINITY);
    for _ in 0..runs {
        alone = alone.min(run(&signal, false));
        with = with.min(run(&signal, true));
    }
    let ns = |s: f64| s * 1e9 / frames as f64;
    println!("CPU: {}", trimeter_meters::simd::cpu_model());
    println!("input meters alone: {:.2} ns per stereo frame", ns(alone));
    println!(
        "input meters + assistant learning: {:.2} ns per stereo frame ({:.2}x)",
        ns(with),
        with / alone
    );
    // One status: the learner's snapshot, as end_block takes it ten times a second.
    let requests = Arc::new(AssistantRequests::default());
    let (writer, _reader) = status_channel();
    let mut assistant = AssistantEngine::new(config(), settings(), requests.clone(), writer);
    requests.request(AssistantRequests::LEARN);
    assistant.begin_block(settings(), TransportInfo::NONE, BLOCK);
    assistant.process(&[&signal[0][..BLOCK], &signal[1][..BLOCK]]);
    let count = if bench { 1000 } else { 10 };
    let start = Instant::now();
    for _ in 0..count {
        std::hint::black_box(assistant.snapshot());
    }
    let us = start.elapsed().as_secs_f64() * 1e6 / f64::from(count);
    println!("one status snapshot: {us:.1} us (taken at 10 Hz while the editor is open)");
}
