//! Cost of each level meter in ns per stereo frame: 60 s of stereo noise at 48 kHz in 512-frame
//! blocks. Ignored by default; run it in release mode:
//! `cargo test --release --lib dsp::peak::bench -- --ignored --nocapture`.

use std::time::Instant;

use crate::meter::Meter;
use crate::peak::{PeakConfig, SamplePeakMeter};
use crate::ppm::{PpmMeter, PpmType};
use crate::rms::{KSystem, RmsConfig, RmsMeter};
use crate::signals::white_noise;
use crate::true_peak::{TruePeakMeter, TruePeakMode};
use crate::vu::{VuConfig, VuMeter};

const RATE: f64 = 48_000.0;
const BLOCK: usize = 512;

fn cost<M: Meter>(name: &str, mut meter: M, left: &[f32], right: &[f32]) -> f64 {
    meter.prepare(RATE, 2);
    let mut best = f64::INFINITY;
    // The best of many runs: on a shared machine, the quietest run is the honest figure.
    for _ in 0..15 {
        meter.reset();
        let start = Instant::now();
        for (l, r) in left.chunks(BLOCK).zip(right.chunks(BLOCK)) {
            meter.process(&[l, r]);
        }
        std::hint::black_box(meter.read());
        best = best.min(start.elapsed().as_secs_f64());
    }
    let ns = best * 1e9 / left.len() as f64;
    eprintln!("{name:<28} {ns:6.2} ns per stereo frame");
    ns
}

#[test]
#[ignore = "benchmark: run in release mode with --ignored --nocapture"]
fn ns_per_stereo_frame() {
    let frames = (60.0 * RATE) as usize;
    let left = white_noise(frames, 0.5, 1);
    let right = white_noise(frames, 0.5, 2);
    let mut total = 0.0;
    total += cost(
        "sample peak",
        SamplePeakMeter::new(PeakConfig::default()),
        &left,
        &right,
    );
    total += cost(
        "true peak (standard)",
        TruePeakMeter::new(TruePeakMode::Standard, PeakConfig::default()),
        &left,
        &right,
    );
    cost(
        "true peak (precise)",
        TruePeakMeter::new(TruePeakMode::Precise, PeakConfig::default()),
        &left,
        &right,
    );
    total += cost(
        "rms 300 ms",
        RmsMeter::new(RmsConfig::default()),
        &left,
        &right,
    );
    total += cost(
        "rms 600 ms (K-system)",
        RmsMeter::new(KSystem::meter_config()),
        &left,
        &right,
    );
    total += cost("vu", VuMeter::new(VuConfig::default()), &left, &right);
    total += cost("ppm type I", PpmMeter::new(PpmType::TypeI), &left, &right);
    total += cost("ppm type II", PpmMeter::new(PpmType::TypeII), &left, &right);
    eprintln!(
        "{:<28} {total:6.2} ns per stereo frame (standard true peak, both PPM types)",
        "all"
    );
}
