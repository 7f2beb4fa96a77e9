//! Pins the engine's readings bit for bit.
//!
//! A seeded programme (noise and tones at changing levels, pauses, a few non-finite samples) runs
//! through the engine with every meter configuration the plugin and the command-line tool offer,
//! split into random blocks. Every reading of the final snapshot and summary, and a timeline of
//! instant readings, is written with `{:?}`, which prints the shortest decimal that parses back to
//! the same `f32`: two runs print the same text exactly when their readings are bit-identical.
//! The text is compared with `tests/golden/readings.txt` for the builds with fused multiply-adds
//! (AVX2 and AVX-512, which read bit-identically) and with `tests/golden/readings-portable.txt`
//! for the portable build (`TRIMETER_SIMD=portable`), whose true-peak and loudness readings round
//! after every multiply.
//!
//! A change that is meant to move a reading re-blesses the file with
//! `TRIMETER_BLESS=1 cargo test -p trimeter-meters --test golden_readings` (once more with
//! `TRIMETER_SIMD=portable`) and says why in its commit; any other change must leave them
//! untouched.

use std::fmt::Write;

use trimeter_meters::ppm::PpmScale;
use trimeter_meters::rng::Rng;
use trimeter_meters::signals::{random_splits, sine, white_noise};
use trimeter_meters::simd::SimdLevel;
use trimeter_meters::true_peak::TruePeakMode;
use trimeter_meters::{EngineConfig, MeterEngine};

/// The golden file for the SIMD level this process runs.
fn golden_path() -> &'static str {
    if SimdLevel::selected().has_fma() {
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/readings.txt")
    } else {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/golden/readings-portable.txt"
        )
    }
}

/// A stereo programme of `seconds` at `sample_rate`: noise whose level changes every half
/// second, a tone, a pause, and two non-finite samples.
fn programme(sample_rate: f64, seconds: f64) -> [Vec<f32>; 2] {
    let frames = (sample_rate * seconds) as usize;
    let noise_l = white_noise(frames, 1.0, 3);
    let noise_r = white_noise(frames, 1.0, 4);
    let tone = sine(sample_rate, 997.0, -12.0, seconds, 0.3);
    let mut levels = Rng::new(5);
    let segment = (sample_rate / 2.0) as usize;
    let mut left = Vec::with_capacity(frames);
    let mut right = Vec::with_capacity(frames);
    let mut gain = 0.0f32;
    for n in 0..frames {
        if n % segment == 0 {
            // -50..0 dBFS noise, with every fifth segment a pause.
            gain = if (n / segment) % 5 == 3 {
                0.0
            } else {
                10f32.powf(-50.0 * levels.next_unit() / 20.0)
            };
        }
        left.push(gain * noise_l[n] * 0.5 + tone[n] * 0.5);
        right.push(gain * noise_r[n] * 0.7 - tone[n] * 0.25);
    }
    left[frames / 3] = f32::NAN;
    right[frames / 2] = f32::INFINITY;
    [left, right]
}

fn readings(config: EngineConfig, signal: &[Vec<f32>; 2]) -> String {
    let mut engine = MeterEngine::new(config);
    let mut out = String::new();
    let mut offset = 0;
    for (i, len) in random_splits(signal[0].len(), 3000, 17)
        .into_iter()
        .enumerate()
    {
        let block = [
            &signal[0][offset..offset + len],
            &signal[1][offset..offset + len],
        ];
        engine.process(&block[..config.channels]);
        offset += len;
        if i % 97 == 0 {
            writeln!(out, "instant {:?}", engine.instant()).unwrap();
            writeln!(out, "peaks {:?}", engine.take_interval_peaks()).unwrap();
        }
    }
    writeln!(out, "snapshot {:?}", engine.snapshot()).unwrap();
    writeln!(out, "summary {:?}", engine.summary()).unwrap();
    out
}

fn all_readings() -> String {
    let mut out = String::new();
    for sample_rate in [44_100.0, 48_000.0, 96_000.0] {
        let signal = programme(sample_rate, 12.0);
        for (ppm_scale, true_peak_mode, rms_window_ms, channels) in [
            (PpmScale::Bbc, TruePeakMode::Standard, 600.0, 2),
            (PpmScale::Din, TruePeakMode::Precise, 300.0, 2),
            (PpmScale::Nordic, TruePeakMode::Standard, 600.0, 1),
            (PpmScale::Ebu, TruePeakMode::Precise, 50.0, 1),
        ] {
            let config = EngineConfig {
                sample_rate,
                channels,
                max_block: 1024,
                vu_reference_dbfs: -20.0,
                ppm_scale,
                rms_window_ms,
                true_peak_mode,
                ..EngineConfig::default()
            };
            writeln!(out, "== {config:?}").unwrap();
            out.push_str(&readings(config, &signal));
        }
    }
    out
}

#[test]
fn engine_readings_are_bit_identical_to_the_golden_file() {
    let actual = all_readings();
    let golden = golden_path();
    if std::env::var_os("TRIMETER_BLESS").is_some() {
        std::fs::write(golden, &actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(golden).expect(golden);
    for (n, (a, e)) in actual.lines().zip(expected.lines()).enumerate() {
        assert_eq!(a, e, "line {} differs from {golden}", n + 1);
    }
    assert_eq!(
        actual.lines().count(),
        expected.lines().count(),
        "line count differs from the golden file"
    );
}
