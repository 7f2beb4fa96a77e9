//! `cargo bench --bench meters`: Trimeter's full meter set against the ebur128 crate with all of
//! its modes, side by side in one process on the same signal, reported as a ratio.
//!
//! Both sides get the same 60 s of stereo 48 kHz noise-like signal (band-limited noise with a
//! slow level envelope, so the gates and the loudness range have something to do) in 512-frame
//! planar blocks. The two are run alternately several times and the fastest run of each counts,
//! which keeps the comparison fair on a shared, noisy machine. The last line is
//! `speedup_vs_ebur128 X.XX`.
//!
//! The 60 s signal (23 MB) does not fit in the caches, so every block is read from main memory
//! or the L3 cache, which costs the engine about 1 ns per frame on an Intel Xeon (its first pass
//! over a block waits for it). A host hands a plugin buffers it has just written, which are in
//! the L1 or L2 cache; the `l2_resident` line shows both sides fed the same number of blocks
//! from a 1 s loop of the signal (375 KB), for that case. `speedup_vs_ebur128` stays the
//! streamed figure.
//!
//! `--bench --engine-only` runs the engine alone twenty times on the streamed signal (with
//! `--l2-resident`, on the 1 s loop), for profilers (`perf record`).
//!
//! Run under `cargo test` (no `--bench` argument) it does one short pass of each, so the suite
//! proves the benchmark still builds and runs without spending time on it.
//!
//! With `--bench` it first prints the CPU model, then runs itself once per SIMD build this CPU
//! supports (`TRIMETER_SIMD=portable|avx2|avx512`, read once per process), so one run shows every
//! build side by side; each child's lines are prefixed with its build.

use std::hint::black_box;
use std::time::{Duration, Instant};

use ebur128::{EbuR128, Mode};
use trimeter_meters::engine::{EngineConfig, MeterEngine};
use trimeter_meters::loudness::LoudnessMeter;
use trimeter_meters::meter::Meter;
use trimeter_meters::peak::{PeakConfig, SamplePeakMeter};
use trimeter_meters::ppm::{PpmMeter, PpmType};
use trimeter_meters::rms::{KSystem, RmsConfig, RmsMeter};
use trimeter_meters::rng::Rng;
use trimeter_meters::simd::SimdLevel;
use trimeter_meters::true_peak::{TruePeakMeter, TruePeakMode};
use trimeter_meters::vu::{VuConfig, VuMeter};

const SAMPLE_RATE: u32 = 48_000;
const BLOCK: usize = 512;

/// Noise through a one-pole low-pass with a 0.2 Hz level envelope between about -30 and -10 dBFS.
fn program_like(frames: usize, seed: u64) -> Vec<f32> {
    let mut rng = Rng::new(seed);
    let mut state = 0.0f32;
    (0..frames)
        .map(|n| {
            state += 0.3 * (rng.next_bipolar() - state);
            let t = n as f32 / SAMPLE_RATE as f32;
            let envelope =
                10f32.powf((-20.0 + 10.0 * (std::f32::consts::TAU * 0.2 * t).sin()) / 20.0);
            2.0 * envelope * state
        })
        .collect()
}

/// The blocks both sides are fed: `frames` frames in `BLOCK`-frame blocks, read from a signal
/// of `signal_frames` frames (a multiple of `BLOCK`), from its start again whenever it ends.
/// With the whole signal (60 s, 23 MB) every block comes from main memory or the L3 cache; with
/// a 1 s loop (375 KB) from the L2 cache, as a host's freshly written buffers do.
fn block_starts(frames: usize, signal_frames: usize) -> impl Iterator<Item = usize> {
    (0..frames / BLOCK).map(move |k| (k * BLOCK) % signal_frames)
}

fn run_trimeter(left: &[f32], right: &[f32], loop_frames: usize) -> Duration {
    let mut engine = MeterEngine::new(EngineConfig {
        sample_rate: f64::from(SAMPLE_RATE),
        channels: 2,
        max_block: BLOCK,
        ..EngineConfig::default()
    });
    let start = Instant::now();
    for at in block_starts(left.len(), loop_frames) {
        engine.process(&[&left[at..at + BLOCK], &right[at..at + BLOCK]]);
    }
    black_box(engine.summary());
    start.elapsed()
}

/// One meter alone on the same signal and blocks, best of `rounds`, in ns per stereo frame, with
/// its `process` compiled for the SIMD build this process runs, as the engine compiles it (the
/// engine inlines every meter into one function per build).
fn meter_cost<M: Meter>(meter: M, left: &[f32], right: &[f32], rounds: usize) -> f64 {
    #[cfg(target_arch = "x86_64")]
    match SimdLevel::selected() {
        // SAFETY: `selected` only picks a level this CPU supports.
        SimdLevel::Avx512 => return unsafe { meter_cost_avx512(meter, left, right, rounds) },
        // SAFETY: as above.
        SimdLevel::Avx2Fma => return unsafe { meter_cost_avx2(meter, left, right, rounds) },
        SimdLevel::Portable => {}
    }
    meter_cost_portable(meter, left, right, rounds)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn meter_cost_avx512<M: Meter>(meter: M, left: &[f32], right: &[f32], rounds: usize) -> f64 {
    meter_cost_portable(meter, left, right, rounds)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn meter_cost_avx2<M: Meter>(meter: M, left: &[f32], right: &[f32], rounds: usize) -> f64 {
    meter_cost_portable(meter, left, right, rounds)
}

#[inline(always)]
fn meter_cost_portable<M: Meter>(mut meter: M, left: &[f32], right: &[f32], rounds: usize) -> f64 {
    meter.prepare(f64::from(SAMPLE_RATE), 2);
    let mut best = Duration::MAX;
    for _ in 0..rounds {
        meter.reset();
        let start = Instant::now();
        for (l, r) in left.chunks(BLOCK).zip(right.chunks(BLOCK)) {
            meter.process(&[l, r]);
        }
        black_box(meter.read());
        best = best.min(start.elapsed());
    }
    ns_per_frame(best, left.len())
}

/// Each meter of the engine alone, so that a change can be attributed to the meter it touched.
/// The engine runs them all in one pass per block, so its total can be below this sum.
fn print_breakdown(left: &[f32], right: &[f32], rounds: usize) {
    let peak = PeakConfig::default();
    let costs = [
        (
            "sample_peak",
            meter_cost(SamplePeakMeter::new(peak), left, right, rounds),
        ),
        (
            "true_peak",
            meter_cost(
                TruePeakMeter::new(TruePeakMode::Standard, peak),
                left,
                right,
                rounds,
            ),
        ),
        (
            "rms_300ms",
            meter_cost(RmsMeter::new(RmsConfig::default()), left, right, rounds),
        ),
        (
            "rms_600ms",
            meter_cost(RmsMeter::new(KSystem::meter_config()), left, right, rounds),
        ),
        (
            "vu",
            meter_cost(VuMeter::new(VuConfig::default()), left, right, rounds),
        ),
        (
            "ppm_type_ii",
            meter_cost(PpmMeter::new(PpmType::TypeII), left, right, rounds),
        ),
        (
            "loudness",
            meter_cost(LoudnessMeter::new(), left, right, rounds),
        ),
    ];
    let line: Vec<String> = costs.iter().map(|(n, c)| format!("{n} {c:.2}")).collect();
    println!("alone_ns_per_stereo_frame: {}", line.join(", "));
}

fn run_ebur128(left: &[f32], right: &[f32], loop_frames: usize) -> Duration {
    let mode = Mode::M
        | Mode::S
        | Mode::I
        | Mode::LRA
        | Mode::SAMPLE_PEAK
        | Mode::TRUE_PEAK
        | Mode::HISTOGRAM;
    let mut meter = EbuR128::new(2, SAMPLE_RATE, mode).expect("ebur128");
    let start = Instant::now();
    for at in block_starts(left.len(), loop_frames) {
        meter
            .add_frames_planar_f32(&[&left[at..at + BLOCK], &right[at..at + BLOCK]])
            .expect("ebur128 add");
    }
    let _ = black_box((
        meter.loudness_global(),
        meter.loudness_range(),
        meter.true_peak(0),
        meter.true_peak(1),
    ));
    start.elapsed()
}

/// Feeds `seconds` of audio to an engine, then times full reads (snapshot plus summary).
fn read_cost_after(seconds: u32, reads: u32) -> (Duration, f64) {
    let mut engine = MeterEngine::new(EngineConfig {
        sample_rate: f64::from(SAMPLE_RATE),
        channels: 2,
        max_block: 4096,
        ..EngineConfig::default()
    });
    let minute = program_like(SAMPLE_RATE as usize * 60, 3);
    let mut left_to_feed = seconds as usize * SAMPLE_RATE as usize;
    while left_to_feed > 0 {
        let n = left_to_feed.min(minute.len());
        for chunk in minute[..n].chunks(4096) {
            engine.process(&[chunk, chunk]);
        }
        left_to_feed -= n;
    }
    let start = Instant::now();
    for _ in 0..reads {
        black_box(engine.snapshot());
        black_box(engine.summary());
    }
    (
        start.elapsed() / reads,
        f64::from(engine.summary().integrated_lufs),
    )
}

/// ebur128's own queries (momentary, short-term, integrated, range) after `seconds` of audio.
fn ebur128_read_cost_after(seconds: u32, mode: Mode, reads: u32) -> Duration {
    let mut meter = EbuR128::new(2, SAMPLE_RATE, mode).expect("ebur128");
    let minute = program_like(SAMPLE_RATE as usize * 60, 3);
    for _ in 0..seconds.div_ceil(60) {
        let n = (seconds.min(60) * SAMPLE_RATE) as usize;
        for chunk in minute[..n].chunks(4096) {
            meter
                .add_frames_planar_f32(&[chunk, chunk])
                .expect("ebur128 add");
        }
    }
    let start = Instant::now();
    for _ in 0..reads {
        let _ = black_box((
            meter.loudness_momentary(),
            meter.loudness_shortterm(),
            meter.loudness_global(),
            meter.loudness_range(),
        ));
    }
    start.elapsed() / reads
}

fn ns_per_frame(d: Duration, frames: usize) -> f64 {
    d.as_nanos() as f64 / frames as f64
}

/// Runs this benchmark once per SIMD build the CPU supports, each in its own process.
fn run_every_build() {
    println!("cpu: {}", trimeter_meters::simd::cpu_model());
    let supported = SimdLevel::supported();
    for level in SimdLevel::ALL.into_iter().filter(|&l| l <= supported) {
        let output = std::process::Command::new(std::env::current_exe().expect("bench binary"))
            .arg("--bench")
            .env("TRIMETER_SIMD", level.name())
            .env("TRIMETER_BENCH_CHILD", "1")
            .output()
            .expect("running the benchmark for one build");
        for line in String::from_utf8_lossy(&output.stdout).lines() {
            println!("[{}] {line}", level.name());
        }
        assert!(output.status.success(), "the {} run failed", level.name());
    }
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` does not.
    let full = std::env::args().any(|a| a == "--bench");
    if full && std::env::var_os("TRIMETER_BENCH_CHILD").is_none() {
        run_every_build();
        return;
    }
    let seconds = if full { 60 } else { 2 };
    let frames = seconds * SAMPLE_RATE as usize / BLOCK * BLOCK;
    let left = program_like(frames, 1);
    let right = program_like(frames, 2);
    // A 1 s loop of the same signal (rounded to whole blocks), for the cache-resident figures.
    let one_second = SAMPLE_RATE as usize / BLOCK * BLOCK;
    if std::env::args().any(|a| a == "--engine-only") {
        // For profilers (`perf record`): the engine alone, nothing else in the samples; on the
        // streamed signal, or with `--l2-resident` on the 1 s loop.
        let l2 = std::env::args().any(|a| a == "--l2-resident");
        let signal_frames = if l2 { one_second } else { frames };
        let best = (0..20)
            .map(|_| run_trimeter(&left, &right, signal_frames))
            .min()
            .unwrap_or_default();
        println!(
            "engine only ({}{}): {:.2} ns per stereo frame",
            SimdLevel::selected().name(),
            if l2 { ", l2-resident" } else { "" },
            ns_per_frame(best, frames)
        );
        return;
    }
    println!("simd build: {}", SimdLevel::selected().name());
    let rounds = if full { 5 } else { 1 };

    let (mut best_trimeter, mut best_ebur128) = (Duration::MAX, Duration::MAX);
    let (mut best_trimeter_l2, mut best_ebur128_l2) = (Duration::MAX, Duration::MAX);
    for _ in 0..rounds {
        best_trimeter = best_trimeter.min(run_trimeter(&left, &right, frames));
        best_ebur128 = best_ebur128.min(run_ebur128(&left, &right, frames));
        best_trimeter_l2 = best_trimeter_l2.min(run_trimeter(&left, &right, one_second));
        best_ebur128_l2 = best_ebur128_l2.min(run_ebur128(&left, &right, one_second));
    }
    let trimeter_ns = ns_per_frame(best_trimeter, frames);
    let ebur128_ns = ns_per_frame(best_ebur128, frames);
    let trimeter_l2_ns = ns_per_frame(best_trimeter_l2, frames);
    let ebur128_l2_ns = ns_per_frame(best_ebur128_l2, frames);
    println!("signal: {seconds} s stereo {SAMPLE_RATE} Hz, {BLOCK}-frame planar blocks, best of {rounds}");
    println!("trimeter_full_set_ns_per_stereo_frame {trimeter_ns:.2}   (sample peak, true peak, RMS, K RMS, VU, PPM, M, S, I, LRA)");
    println!("ebur128_all_modes_ns_per_stereo_frame {ebur128_ns:.2}   (M, S, I, LRA, sample peak, true peak; histogram)");
    println!(
        "l2_resident_ns_per_stereo_frame trimeter {trimeter_l2_ns:.2} ebur128 {ebur128_l2_ns:.2} ratio {:.2}   (the same {seconds} s of blocks read from a 1 s loop of the signal, so they come from the L2 cache)",
        ebur128_l2_ns / trimeter_l2_ns
    );

    if full {
        print_breakdown(&left, &right, rounds);
    }

    let (hour, read_seconds) = if full { (3600, 100_000) } else { (10, 100) };
    let (read_cost, integrated) = read_cost_after(hour, read_seconds);
    println!("trimeter_full_read_after_{hour}s_ns {:.0}   (snapshot + summary; integrated {integrated:.2} LUFS)", read_cost.as_nanos());
    let ebur_minute = if full { 60 } else { 10 };
    let ebur_reads = if full { 200 } else { 5 };
    let exact = ebur128_read_cost_after(
        ebur_minute,
        Mode::M | Mode::S | Mode::I | Mode::LRA,
        ebur_reads,
    );
    let histogram = ebur128_read_cost_after(
        ebur_minute,
        Mode::M | Mode::S | Mode::I | Mode::LRA | Mode::HISTOGRAM,
        ebur_reads,
    );
    println!(
        "ebur128_read_after_{ebur_minute}s_ns {:.0}   (M + S + I + LRA queries, exact mode)",
        exact.as_nanos()
    );
    println!(
        "ebur128_read_after_{ebur_minute}s_histogram_ns {:.0}   (same queries, histogram mode)",
        histogram.as_nanos()
    );
    println!("speedup_vs_ebur128 {:.2}", ebur128_ns / trimeter_ns);
}
