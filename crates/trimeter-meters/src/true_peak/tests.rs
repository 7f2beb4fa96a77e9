use super::*;
use crate::peak::test_util::*;
use crate::peak::SamplePeakMeter;
use crate::signals::{concat, silence, tone_burst, white_noise};
use std::f64::consts::{PI, TAU};

fn prepared(mode: TruePeakMode, rate: f64, channels: usize) -> TruePeakMeter {
    let mut meter = TruePeakMeter::new(mode, PeakConfig::default());
    meter.prepare(rate, channels);
    meter
}

/// Max true peak in dBTP over the first `channels` channels of `signal`.
fn measure(mode: TruePeakMode, rate: f64, signal: &[Vec<f32>]) -> f32 {
    let mut meter = prepared(mode, rate, signal.len());
    run_blocks(&mut meter, signal, 512);
    meter.read().max_over_channels(signal.len())
}

/// A sine at `cycles_per_sample` x the sample rate, `amplitude` (FFS), starting `phase_deg`, with
/// 10 ms linear fades (EBU Tech 3341 cases 15-19).
fn tech3341_sine(rate: f64, cycles_per_sample: f64, amplitude: f64, phase_deg: f64) -> Vec<f32> {
    let frames = (rate * 0.5) as usize;
    let fade = (rate * 0.01) as usize;
    (0..frames)
        .map(|n| {
            let gain = (n.min(frames - 1 - n) as f64 / fade as f64).min(1.0);
            (gain * amplitude * (phase_deg.to_radians() + TAU * cycles_per_sample * n as f64).sin())
                as f32
        })
        .collect()
}

/// EBU Tech 3341 cases 20-23: at 4x the rate, a 0.5 FFS sine at fs/6 with one period of a 1.0
/// FFS sine at fs/4 spliced in at a zero crossing, low-pass filtered (anti-aliasing) and
/// decimated by `decimation` (4 as the cases define it) starting at `offset`.
fn tech3341_burst(decimation: usize, offset: usize) -> Vec<f32> {
    let len4 = 4 * 4800;
    let splice = 24 * 400; // a positive-going zero crossing of the fs/6 tone (period 24 at 4 fs)
    let fade = 4 * 480;
    let mut x4: Vec<f64> = (0..len4)
        .map(|n| {
            if n < splice {
                0.5 * (TAU * n as f64 / 24.0).sin()
            } else if n < splice + 16 {
                (TAU * (n - splice) as f64 / 16.0).sin()
            } else {
                0.5 * (TAU * (n - splice - 16) as f64 / 24.0).sin()
            }
        })
        .collect();
    for n in 0..fade {
        let g = n as f64 / fade as f64;
        x4[n] *= g;
        x4[len4 - 1 - n] *= g;
    }
    // Anti-aliasing low-pass at 0.45 fs (0.1125 of the 4 fs rate): 401-tap Kaiser-windowed sinc.
    let half = 200i64;
    let cutoff = 0.1125;
    let taps: Vec<f64> = (-half..=half)
        .map(|k| {
            let t = k as f64;
            let s = if k == 0 {
                2.0 * cutoff
            } else {
                (TAU * cutoff * t).sin() / (PI * t)
            };
            let x = t / half as f64;
            s * bessel_i0(9.0 * (1.0 - x * x).max(0.0).sqrt()) / bessel_i0(9.0)
        })
        .collect();
    (0..len4 / decimation)
        .map(|m| {
            let centre = (decimation * m + offset) as i64;
            let mut acc = 0.0;
            for (j, c) in taps.iter().enumerate() {
                let idx = centre + j as i64 - half;
                if (0..len4 as i64).contains(&idx) {
                    acc += c * x4[idx as usize];
                }
            }
            acc as f32
        })
        .collect()
}

fn bessel_i0(x: f64) -> f64 {
    let (mut sum, mut term) = (1.0, 1.0);
    for k in 1..60 {
        term *= x * x / 4.0 / (k * k) as f64;
        sum += term;
    }
    sum
}

fn assert_tolerance(case: &str, got: f32, expected: f32) {
    // EBU Tech 3341 Table 1: +0.2/-0.4 dB.
    assert!(
        got <= expected + 0.2 && got >= expected - 0.4,
        "{case}: {got} dBTP, expected {expected}"
    );
}

#[test]
fn ebu_tech3341_cases_15_to_19() {
    let cases: [(&str, f64, f64, f64, f32); 5] = [
        ("15", 0.25, 0.5, 0.0, -6.0),
        ("16", 0.25, 0.5, 45.0, -6.0),
        ("17", 1.0 / 6.0, 0.5, 60.0, -6.0),
        ("18", 0.125, 0.5, 67.5, -6.0),
        ("19", 0.25, 1.41, 45.0, 3.0),
    ];
    for mode in [TruePeakMode::Standard, TruePeakMode::Precise] {
        for rate in RATES {
            for (case, f, amplitude, phase, expected) in cases {
                let tone = tech3341_sine(rate, f, amplitude, phase);
                let got = measure(mode, rate, &[tone.clone(), tone]);
                assert_tolerance(&format!("case {case} {mode:?} {rate}"), got, expected);
            }
        }
    }
}

#[test]
fn ebu_tech3341_cases_20_to_23() {
    for offset in 0..4 {
        let signal = tech3341_burst(4, offset);
        for mode in [TruePeakMode::Standard, TruePeakMode::Precise] {
            for rate in [44_100.0, 48_000.0] {
                let got = measure(mode, rate, &[signal.clone(), signal.clone()]);
                assert_tolerance(&format!("case {} {mode:?} {rate}", 20 + offset), got, 0.0);
            }
            // At 96 kHz: the same waveform as the 48 kHz case (tones at 8 and 12 kHz), which is
            // what a 48 kHz test file resampled to 96 kHz holds. Standard mode's 2x at 96 kHz
            // (BS.1770-5 Annex 2 clause 3) assumes audio-band content; the cases scaled to
            // fs/4 = 24 kHz under-read there (see `standard_mode_at_96k_with_ultrasonic_content`).
            let signal96 = tech3341_burst(2, offset);
            let got = measure(mode, 96_000.0, &[signal96.clone(), signal96]);
            assert_tolerance(&format!("case {} {mode:?} 96000", 20 + offset), got, 0.0);
        }
    }
}

#[test]
fn standard_mode_at_96k_with_ultrasonic_content() {
    // The cases as sample patterns at 96 kHz put the burst at 24 kHz: 2x over-sampling leaves
    // 8 points per period, which can miss the crest by up to 20 log10(cos(pi/8)) = -0.69 dB.
    // Precise mode (8x at 96 kHz) stays inside the EBU tolerance.
    let mut worst_standard = f32::INFINITY;
    for offset in 0..4 {
        let signal = tech3341_burst(4, offset);
        let standard = measure(
            TruePeakMode::Standard,
            96_000.0,
            std::slice::from_ref(&signal),
        );
        let precise = measure(TruePeakMode::Precise, 96_000.0, &[signal]);
        assert_tolerance(
            &format!("case {} Precise 96000 (fs-scaled)", 20 + offset),
            precise,
            0.0,
        );
        assert!(standard > -0.75, "{standard}");
        worst_standard = worst_standard.min(standard);
    }
    assert!(
        worst_standard < -0.4,
        "the limitation documented here no longer shows: {worst_standard}"
    );
}

#[test]
fn case_19_counts_true_peak_clips_that_sample_peak_misses() {
    let rate = 48_000.0;
    let tone = tech3341_sine(rate, 0.25, 1.41, 45.0);
    let mut tp = prepared(TruePeakMode::Standard, rate, 1);
    let mut sp = SamplePeakMeter::new(PeakConfig::default());
    sp.prepare(rate, 1);
    run_blocks(&mut tp, std::slice::from_ref(&tone), 512);
    run_blocks(&mut sp, &[tone], 512);
    assert_eq!(sp.read().clip_count[0], 0);
    assert!(
        tp.read().clip_count[0] > 10_000,
        "{}",
        tp.read().clip_count[0]
    );
    assert_eq!(
        tp.read().over_count[0],
        sp.read().over_count[0].max(tp.read().over_count[0])
    );
}

/// Worst single-crest under-read in dB of `mode` at `rate` for sines from 1 kHz up to
/// `top` x the rate. Every interpolated value (and every sample) gets its nominal time from the
/// phase's centre of mass; each crest of |sin| is then read as the largest value within a
/// quarter period of it (values nearer other crests belong to those). Crests of an incommensurate
/// sine fall at every sub-sample position, so the minimum over crests is the worst case a single
/// transient peak can meet.
fn worst_single_crest_under_read(mode: TruePeakMode, rate: f64, top: f64) -> f64 {
    let (filter, ratio) = mode.filter(rate);
    let taps = filter.taps.max(1);
    // (nominal delay in input samples, coefficients) per phase; the samples themselves first.
    let mut phases: Vec<(f64, Vec<f64>)> = vec![(0.0, vec![1.0])];
    for c in filter.coefficients.chunks(taps) {
        let c: Vec<f64> = c.iter().map(|&v| f64::from(v)).collect();
        let sum: f64 = c.iter().sum();
        let centre: f64 = c
            .iter()
            .enumerate()
            .map(|(j, v)| (taps - 1 - j) as f64 * v)
            .sum::<f64>()
            / sum;
        phases.push((centre, c));
    }
    let mut worst = 0.0f64;
    let mut f = 1000.0;
    while f <= top * rate {
        let w = TAU * f / rate;
        let x: Vec<f64> = (0..4096).map(|n| (w * n as f64 + 0.1).sin()).collect();
        // (time, |value|) of every sample and interpolated value.
        let mut points: Vec<(f64, f64)> = Vec::new();
        for (delay, c) in &phases {
            let t = c.len();
            for i in 0..x.len() - t {
                let y: f64 = c.iter().zip(&x[i..i + t]).map(|(a, b)| a * b).sum();
                points.push(((i + t - 1) as f64 - delay, y.abs()));
            }
        }
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
        let quarter = 0.25 * rate / f;
        // Crests of |sin(w n + 0.1)| at n = (pi/2 + k pi - 0.1) / w, away from the edges.
        let mut k = ((200.0 * w) / PI) as i64;
        loop {
            let crest = (PI / 2.0 + k as f64 * PI - 0.1) / w;
            if crest > 3800.0 {
                break;
            }
            let lo = points.partition_point(|p| p.0 < crest - quarter);
            let hi = points.partition_point(|p| p.0 <= crest + quarter);
            let best = points[lo..hi].iter().fold(0.0f64, |m, p| m.max(p.1));
            worst = worst.min(20.0 * best.log10());
            k += 1;
        }
        f *= 1.07;
    }
    let _ = ratio;
    worst
}

#[test]
fn precise_mode_under_read() {
    for rate in [44_100.0, 48_000.0, 96_000.0, 192_000.0] {
        let precise = worst_single_crest_under_read(TruePeakMode::Precise, rate, 0.45);
        let standard = worst_single_crest_under_read(TruePeakMode::Standard, rate, 0.45);
        let audio_band =
            worst_single_crest_under_read(TruePeakMode::Standard, rate, 20_000.0 / rate);
        let precise_audio_band =
            worst_single_crest_under_read(TruePeakMode::Precise, rate, 20_000.0 / rate);
        eprintln!(
            "{rate} Hz: worst single-crest under-read up to 0.45 fs: precise {precise:.3} dB, \
             standard {standard:.3} dB; up to 20 kHz: precise {precise_audio_band:.3} dB, standard {audio_band:.3} dB"
        );
        assert!(
            precise_audio_band > -0.15,
            "{rate}: precise under-reads {precise_audio_band} dB in the audio band"
        );
        if rate < 192_000.0 {
            assert!(precise > -0.15, "{rate}: precise under-reads {precise} dB");
        }
        assert!(
            precise > standard,
            "{rate}: precise mode must beat standard mode"
        );
    }
}

#[test]
fn true_peak_is_never_below_sample_peak() {
    for rate in RATES {
        let noise = white_noise(50_000, 0.9, 21);
        let mut tp = prepared(TruePeakMode::Standard, rate, 1);
        let mut sp = SamplePeakMeter::new(PeakConfig::default());
        sp.prepare(rate, 1);
        for block in noise.chunks(97) {
            tp.process(&[block]);
            sp.process(&[block]);
            assert!(tp.read().max_db[0] >= sp.read().max_db[0]);
        }
        assert!(
            tp.read().max_db[0] > sp.read().max_db[0],
            "noise has inter-sample peaks"
        );
    }
}

#[test]
fn readings_do_not_depend_on_block_splits() {
    let key = peak_key;
    for mode in [TruePeakMode::Standard, TruePeakMode::Precise] {
        for rate in RATES {
            for channels in [1, 2, 6] {
                let signal = concat(&[
                    white_noise(20_000, 0.9, 1),
                    tone_burst(rate, 11_000.0, 0.5, 0.01, 0.02, 0.1),
                    silence(rate, 1.7),
                    white_noise(3_000, 0.01, 3),
                ]);
                let signal = multichannel(&signal, channels);
                assert_split_independent(|| prepared(mode, rate, channels), &signal, key, 0.0);
            }
        }
    }
}

#[test]
fn silence_huge_input_channel_counts_and_extreme_rates() {
    for rate in [8_000.0, 44_100.0, 192_000.0, 384_000.0, 768_000.0] {
        for mode in [TruePeakMode::Standard, TruePeakMode::Precise] {
            for channels in [1, 2, 6] {
                let mut meter = prepared(mode, rate, channels);
                run_blocks(
                    &mut meter,
                    &multichannel(&silence(rate, 0.1), channels),
                    512,
                );
                assert!(meter.read().max_db[..channels]
                    .iter()
                    .all(|&v| v == f32::NEG_INFINITY));
                run_blocks(
                    &mut meter,
                    &multichannel(&white_noise(5_000, 1e30, 4), channels),
                    300,
                );
                let r = meter.read();
                assert!(
                    r.max_db[..channels]
                        .iter()
                        .all(|v| v.is_finite() && *v > 500.0),
                    "{r:?}"
                );
                assert!(r.current_db[..channels].iter().all(|v| v.is_finite()));
                assert_finite_at_f32_max(&mut meter, channels, peak_key);
            }
        }
    }
}

#[test]
fn process_does_not_allocate() {
    for mode in [TruePeakMode::Standard, TruePeakMode::Precise] {
        for channels in [1, 2, 6] {
            let mut meter = prepared(mode, 48_000.0, channels);
            let signal = multichannel(&white_noise(100_000, 1.2, 9), channels);
            assert_process_does_not_allocate(&mut meter, &signal);
            assert!(meter.read().clip_count[0] > 0);
        }
    }
}

#[test]
fn oversampling_ratios_follow_the_mode() {
    let ratio = |mode, rate| prepared(mode, rate, 1).oversampling();
    assert_eq!(ratio(TruePeakMode::Standard, 48_000.0), 4);
    assert_eq!(ratio(TruePeakMode::Standard, 96_000.0), 2);
    assert_eq!(ratio(TruePeakMode::Standard, 192_000.0), 1);
    assert_eq!(ratio(TruePeakMode::Precise, 44_100.0), 8);
    assert_eq!(ratio(TruePeakMode::Precise, 96_000.0), 8);
    assert_eq!(ratio(TruePeakMode::Precise, 768_000.0), 4);
    assert_eq!(
        prepared(TruePeakMode::Standard, 48_000.0, 1).latency_frames(),
        6
    );
}

/// The `ebur128` crate as an outside reference: on noise and on tone bursts near the top of the
/// band, our standard-mode maximum agrees with its true peak within the EBU tolerance window
/// (its interpolator differs from the Recommendation's example, so not exactly).
#[test]
fn agrees_with_the_ebur128_crate() {
    use ebur128::{EbuR128, Mode};
    for rate in RATES {
        // Multi-tone "music": twenty sines below 0.4 fs with seeded frequencies and phases.
        let mut rng = crate::rng::Rng::new(31);
        let partials: Vec<(f64, f64)> = (0..20)
            .map(|_| {
                (
                    f64::from(rng.next_unit()) * 0.4 * rate,
                    f64::from(rng.next_unit()) * TAU,
                )
            })
            .collect();
        let multitone: Vec<f32> = (0..24_000)
            .map(|n| {
                let t = n as f64 / rate;
                partials
                    .iter()
                    .map(|(f, ph)| 0.05 * (TAU * f * t + ph).sin())
                    .sum::<f64>() as f32
            })
            .collect();
        let signals = [
            multitone,
            tone_burst(rate, 0.23 * rate, -3.0, 0.01, 0.05, 0.01),
            tone_burst(rate, 0.25 * rate, -1.0, 0.01, 0.003, 0.01),
            tech3341_sine(rate, 1.0 / 6.0, 0.9, 30.0),
        ];
        for (i, signal) in signals.iter().enumerate() {
            let mut oracle =
                EbuR128::new(1, rate as u32, Mode::TRUE_PEAK | Mode::SAMPLE_PEAK).unwrap();
            oracle.add_frames_planar_f32(&[signal]).unwrap();
            let expected = 20.0 * oracle.true_peak(0).unwrap().log10();
            let sample = 20.0 * oracle.sample_peak(0).unwrap().log10();
            let ours = f64::from(measure(
                TruePeakMode::Standard,
                rate,
                std::slice::from_ref(signal),
            ));
            let precise = f64::from(measure(
                TruePeakMode::Precise,
                rate,
                std::slice::from_ref(signal),
            ));
            assert!(
                ours >= sample - 1e-4,
                "{rate} signal {i}: {ours} below sample peak {sample}"
            );
            eprintln!("{rate} signal {i}: sample {sample:.3}, ebur128 {expected:.3}, ours {ours:.3}, precise {precise:.3}");
            assert!(
                (ours - expected).abs() < 0.3,
                "{rate} signal {i}: ours {ours}, ebur128 {expected}"
            );
            assert!(
                (precise - expected).abs() < 0.3,
                "{rate} signal {i}: precise {precise}, ebur128 {expected}"
            );
        }
    }
}
