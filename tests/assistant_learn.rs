//! The assistant's learner as the plugin runs it (`trimeter::assistant::engine`: requests from
//! the editor, the host transport, the pre-trim input in the host's blocks) against
//! `trimeter analyze --json` on the same audio: the suggested trim agrees within 0.1 dB for every
//! average and peak measure, transport stops do not shift it, silence is not material, and
//! nothing on the audio-thread path allocates.
//!
//! The `trimeter` binary is built by this test (`cargo build -p trimeter-cli`), like the
//! standalone test builds its binary.

#[path = "common/cargo_bin.rs"]
mod cargo_bin;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use nice_assert_no_alloc::assert_no_alloc;
use serde_json::Value;
use trimeter::assistant::engine::{AssistantEngine, AssistantRequests, TransportInfo};
use trimeter::assistant::settings::AudioSettings;
use trimeter::assistant::{status_channel, AssistantStatus, StatusReader};
use trimeter_meters::rng::Rng;
use trimeter_meters::signals::{concat, random_splits, silence, sine, white_noise};
use trimeter_meters::staging::learn::LearnPhase;
use trimeter_meters::staging::{AverageMeasure, PeakMeasure, StagingTarget};
use trimeter_meters::EngineConfig;

/// The `trimeter` binary, built once per test process.
fn cli() -> &'static Path {
    static BIN: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BIN.get_or_init(|| cargo_bin::build(&["-p", "trimeter-cli", "--bin", "trimeter"], "trimeter"))
}

/// A 32-bit float WAV of planar `planes` (lossless for the f32 samples the plugin sees).
fn write_float_wav(path: &Path, rate: u32, planes: &[Vec<f32>]) {
    let channels = planes.len() as u16;
    let frames = planes[0].len();
    let mut data = Vec::with_capacity(frames * planes.len() * 4);
    for frame in 0..frames {
        for plane in planes {
            data.extend_from_slice(&plane[frame].to_le_bytes());
        }
    }
    let mut out = Vec::new();
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data.len() as u32).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&3u16.to_le_bytes()); // IEEE float
    out.extend_from_slice(&channels.to_le_bytes());
    out.extend_from_slice(&rate.to_le_bytes());
    out.extend_from_slice(&(rate * u32::from(channels) * 4).to_le_bytes());
    out.extend_from_slice(&(channels * 4).to_le_bytes());
    out.extend_from_slice(&32u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out.extend_from_slice(&data);
    std::fs::write(path, out).unwrap();
}

/// `trimeter analyze --json` on `path` with the target's measures: (suggested trim, reason).
fn analyze(path: &Path, target: &StagingTarget) -> (Option<f64>, Value) {
    let average = match target.average {
        AverageMeasure::Rms => "rms",
        AverageMeasure::Vu => "vu",
        AverageMeasure::Lufs => "lufs",
    };
    let peak = match target.peak {
        PeakMeasure::Sample => "sample",
        PeakMeasure::True => "true",
    };
    let out = Command::new(cli())
        .arg("analyze")
        .arg("--json")
        .args(["--average", average, "--peak", peak])
        .arg(format!("--target={}", target.target_db))
        .arg(format!("--ceiling={}", target.ceiling_db))
        .arg(path)
        .output()
        .expect("trimeter runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let file = &json[0];
    (
        file["suggested_trim_db"].as_f64(),
        file["suggested_trim_reason"].clone(),
    )
}

/// Every combination of average and peak measure, with targets that make either limit bind.
fn targets() -> Vec<StagingTarget> {
    let mut all = Vec::new();
    for average in AverageMeasure::ALL {
        for peak in PeakMeasure::ALL {
            for (target_db, ceiling_db) in [(-18.0, -6.0), (-14.0, -12.0)] {
                all.push(StagingTarget {
                    target_db,
                    average,
                    ceiling_db,
                    peak,
                });
            }
        }
    }
    all
}

/// A seeded programme with pauses: noise phrases at changing levels with digital silence
/// between, and a crest now and then; left and right differ.
fn programme(rate: f64, seconds: f64, seed: u64) -> Vec<Vec<f32>> {
    let frames = (rate * seconds) as usize;
    let phrase = (rate * 1.3) as usize;
    (0..2)
        .map(|ch| {
            let noise = white_noise(frames, 1.0, seed + ch);
            let mut levels = Rng::new(seed + 7);
            let mut gain = 0.0;
            (0..frames)
                .map(|n| {
                    if n % phrase == 0 {
                        gain = if (n / phrase) % 4 == 3 {
                            0.0
                        } else {
                            10f32.powf((-32.0 + 22.0 * levels.next_unit()) / 20.0)
                        };
                    }
                    let crest = if n % (phrase * 3) == phrase / 2 {
                        4.0
                    } else {
                        1.0
                    };
                    gain * noise[n] * crest * if ch == 0 { 1.0 } else { 0.8 }
                })
                .collect()
        })
        .collect()
}

/// The CLI's test signals: 1 kHz tones with silence between (as `trimeter analyze`'s own
/// tests use), at two levels.
fn tones(rate: f64) -> Vec<Vec<f32>> {
    let left = concat(&[
        sine(rate, 1000.0, -24.0, 5.0, 0.0),
        silence(rate, 2.0),
        sine(rate, 1000.0, -30.0, 5.0, 0.0),
    ]);
    let right = concat(&[
        sine(rate, 1000.0, -26.0, 5.0, 0.0),
        silence(rate, 2.0),
        sine(rate, 1000.0, -20.0, 5.0, 0.0),
    ]);
    vec![left, right]
}

/// The plugin's assistant for stereo at `rate`, its request atomic and its status reader.
fn assistant(rate: f64) -> (AssistantEngine, Arc<AssistantRequests>, StatusReader) {
    let config = EngineConfig {
        sample_rate: rate,
        channels: 2,
        max_block: 4096,
        ..EngineConfig::default()
    };
    let requests = Arc::new(AssistantRequests::default());
    let (writer, reader) = status_channel();
    let engine = AssistantEngine::new(config, settings(), requests.clone(), writer);
    (engine, requests, reader)
}

fn settings() -> AudioSettings {
    AudioSettings {
        target: StagingTarget::default(),
        pause_when_stopped: true,
        reset_on_jump: true,
    }
}

/// One host block: the transport, then the chunk, then the end of the block, under the
/// allocation guard. Returns the status the editor would read.
fn block(
    engine: &mut AssistantEngine,
    reader: &mut StatusReader,
    transport: TransportInfo,
    chunk: &[&[f32]],
) -> AssistantStatus {
    let frames = chunk[0].len();
    assert_no_alloc(|| {
        engine.begin_block(settings(), transport, frames);
        engine.process(chunk);
        engine.end_block(frames, true);
    });
    reader.read()
}

fn playing(pos: i64) -> TransportInfo {
    TransportInfo {
        reported: true,
        playing: true,
        pos_samples: Some(pos),
    }
}

fn stopped(pos: i64) -> TransportInfo {
    TransportInfo {
        reported: true,
        playing: false,
        pos_samples: Some(pos),
    }
}

/// Learns `planes` in random blocks; every few blocks the transport stops (at the same
/// position) and the host sends other audio meanwhile, which must not count. Returns the last
/// status.
fn learn_with_stops(rate: f64, planes: &[Vec<f32>], seed: u64) -> AssistantStatus {
    let (mut engine, requests, mut reader) = assistant(rate);
    let junk = white_noise(4096, 0.9, 77);
    requests.request(AssistantRequests::LEARN);
    let mut offset = 0;
    let mut status = AssistantStatus::default();
    for (i, len) in random_splits(planes[0].len(), 4096, seed)
        .into_iter()
        .enumerate()
    {
        if i % 5 == 2 {
            let j = &junk[..len];
            block(&mut engine, &mut reader, stopped(offset as i64), &[j, j]);
        }
        let chunk = [
            &planes[0][offset..offset + len],
            &planes[1][offset..offset + len],
        ];
        status = block(&mut engine, &mut reader, playing(offset as i64), &chunk);
        offset += len;
    }
    // The status is published ten times a second, so the last one may be up to 100 ms old; the
    // transport stopping publishes at once what was learned up to the end.
    let end = block(
        &mut engine,
        &mut reader,
        stopped(offset as i64),
        &[&[], &[]],
    );
    assert!(end.sequence > status.sequence, "a stop publishes at once");
    assert_eq!(end.learn, engine.snapshot());
    let status = end;
    assert_eq!(status.learn.phase, LearnPhase::Learning);
    assert_eq!(status.jumps, 0, "restarting where it stopped is no jump");
    status
}

#[test]
fn learning_agrees_with_trimeter_analyze_for_every_measure() {
    let dir = tempfile::tempdir().unwrap();
    for (name, rate, planes) in [
        ("tones", 48_000.0, tones(48_000.0)),
        ("programme", 44_100.0, programme(44_100.0, 20.0, 5)),
        ("programme96", 96_000.0, programme(96_000.0, 12.0, 9)),
    ] {
        let path = dir.path().join(format!("{name}.wav"));
        write_float_wav(&path, rate as u32, &planes);
        let status = learn_with_stops(rate, &planes, 3);
        for target in targets() {
            let learned = status.learn.status(&target).suggestion.expect("material");
            let (cli_trim, cli_reason) = analyze(&path, &target);
            let cli_trim = cli_trim.expect("the CLI suggests a trim");
            assert!(
                (f64::from(learned.trim_db) - cli_trim).abs() < 0.1,
                "{name} {target:?}: learned {} vs CLI {cli_trim}",
                learned.trim_db
            );
            // Where the two limits are not within the tolerance of each other, the reason
            // agrees too.
            if (learned.to_target_db - learned.headroom_db).abs() > 0.1 {
                assert_eq!(cli_reason, learned.limit.as_str(), "{name} {target:?}");
            }
        }
    }
}

#[test]
fn no_suggestion_until_there_is_material_and_silence_is_not_material() {
    let rate = 48_000.0;
    let (mut engine, requests, mut reader) = assistant(rate);
    let target = StagingTarget::default();
    let zeros = vec![0.0f32; 4800];
    // Not learning yet: nothing measured, whatever plays.
    let loud = white_noise(4800, 0.5, 1);
    let status = block(&mut engine, &mut reader, playing(0), &[&loud, &loud]);
    assert_eq!(status.learn.phase, LearnPhase::Idle);
    assert_eq!(status.learn.status(&target).suggestion, None);
    requests.request(AssistantRequests::LEARN);
    for k in 0..50 {
        let status = block(
            &mut engine,
            &mut reader,
            playing(4800 * k),
            &[&zeros, &zeros],
        );
        assert_eq!(status.learn.status(&target).suggestion, None, "silence");
        assert_eq!(status.learn.heard_s, 0.0);
    }
    let status = block(
        &mut engine,
        &mut reader,
        playing(4800 * 50),
        &[&loud, &loud],
    );
    assert!(status.learn.status(&target).suggestion.is_some());
    assert!(
        (status.learn.heard_s - 0.1).abs() < 0.011,
        "{}",
        status.learn.heard_s
    );
}

#[test]
fn stops_pause_learning_a_jump_restarts_it_and_no_transport_counts_as_playing() {
    let rate = 48_000.0;
    let planes = programme(rate, 6.0, 21);
    let (a, b) = (&planes[0], &planes[1]);
    let n = 4800;
    let (mut engine, requests, mut reader) = assistant(rate);
    requests.request(AssistantRequests::LEARN);
    let mut status = AssistantStatus::default();
    for k in 0..20 {
        let r = k * n..(k + 1) * n;
        status = block(
            &mut engine,
            &mut reader,
            playing(r.start as i64),
            &[&a[r.clone()], &b[r]],
        );
    }
    let learned = status.learn;
    assert!(status.measuring && status.transport_playing);
    // Stopped: loud audio arrives (a monitored input) and is not learned.
    let loud = vec![0.9f32; n];
    for _ in 0..10 {
        status = block(
            &mut engine,
            &mut reader,
            stopped(20 * n as i64),
            &[&loud, &loud],
        );
    }
    assert!(!status.measuring && !status.transport_playing);
    assert_eq!(status.learn, learned, "nothing measured while stopped");
    // Playback resumes where it stopped: the learning goes on.
    let r = 20 * n..21 * n;
    status = block(
        &mut engine,
        &mut reader,
        playing(r.start as i64),
        &[&a[r.clone()], &b[r]],
    );
    assert!(status.learn.heard_s > learned.heard_s);
    assert_eq!(status.jumps, 0);
    // Stop, then play from the start: a jump, and learning starts over.
    block(
        &mut engine,
        &mut reader,
        stopped(21 * n as i64),
        &[&loud, &loud],
    );
    let r = 0..n;
    status = block(
        &mut engine,
        &mut reader,
        playing(0),
        &[&a[r.clone()], &b[r]],
    );
    assert_eq!(status.jumps, 1);
    assert_eq!(status.learn.phase, LearnPhase::Learning);
    assert!(
        (status.learn.heard_s - 0.1).abs() < 0.011,
        "{}",
        status.learn.heard_s
    );

    // A host without a transport: audio arriving is playing.
    let (mut engine, requests, mut reader) = assistant(rate);
    requests.request(AssistantRequests::LEARN);
    let r = 0..n;
    let status = block(
        &mut engine,
        &mut reader,
        TransportInfo::NONE,
        &[&a[r.clone()], &b[r]],
    );
    assert!(status.transport_playing && status.measuring);
    assert!(status.learn.heard_s > 0.0);

    // Freeze (after Apply) keeps the suggestion; Reset forgets it.
    requests.request(AssistantRequests::FREEZE);
    let r = n..2 * n;
    let frozen = block(
        &mut engine,
        &mut reader,
        TransportInfo::NONE,
        &[&a[r.clone()], &b[r]],
    );
    assert_eq!(frozen.learn.phase, LearnPhase::Frozen);
    let more = block(
        &mut engine,
        &mut reader,
        TransportInfo::NONE,
        &[&loud, &loud],
    );
    assert_eq!(more.learn, frozen.learn, "frozen: no gain riding");
    requests.request(AssistantRequests::RESET);
    let reset = block(
        &mut engine,
        &mut reader,
        TransportInfo::NONE,
        &[&loud, &loud],
    );
    assert_eq!(reset.learn.phase, LearnPhase::Idle);
    assert_eq!(
        reset.learn.status(&StagingTarget::default()).suggestion,
        None
    );
}
