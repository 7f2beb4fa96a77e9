//! The EBU Tech 3341 (loudness, true peak) and Tech 3342 (loudness range) minimum-requirements
//! test cases, synthesized here and measured through `trimeter analyze --json`, so the whole
//! path (file writing, decoding, block splitting, engine, JSON) is checked against the standard's
//! own numbers. Cases 7, 8 (3341) and 5, 6 (3342) are authentic programme material that cannot be
//! synthesized; cases 20-23 need a band-limited 4x synthesis and are covered by the true-peak
//! meter's own tests.

#[path = "common/fixtures.rs"]
mod fixtures;

use std::f64::consts::PI;
use std::path::{Path, PathBuf};

use fixtures::*;
use serde_json::Value;

/// Writes every `(name, stereo signal)` as 32-bit float WAV and analyzes them in one run.
fn analyze_signals(
    sample_rate_hz: u32,
    signals: Vec<(String, Vec<f32>)>,
    extra: &[&str],
) -> Vec<Value> {
    let dir = temp_dir();
    let files: Vec<PathBuf> = signals
        .into_iter()
        .map(|(name, signal)| {
            let path = dir.path().join(format!("{name}.wav"));
            write_wav(&path, sample_rate_hz, &stereo(signal), Fmt::F32, None);
            path
        })
        .collect();
    let refs: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    let (code, reports) = analyze_json(&refs, extra);
    assert_eq!(code, 0, "{reports:?}");
    reports
}

#[test]
fn tech3341_cases_1_to_5_at_three_sample_rates() {
    for sr in [44_100u32, 48_000, 96_000] {
        let cases = vec![
            ("case1".to_string(), tones(sr, &[(Some(-23.0), 20.0)])),
            ("case2".to_string(), tones(sr, &[(Some(-33.0), 20.0)])),
            (
                "case3".to_string(),
                tones(
                    sr,
                    &[
                        (Some(-36.0), 10.0),
                        (Some(-23.0), 60.0),
                        (Some(-36.0), 10.0),
                    ],
                ),
            ),
            (
                "case4".to_string(),
                tones(
                    sr,
                    &[
                        (Some(-72.0), 10.0),
                        (Some(-36.0), 10.0),
                        (Some(-23.0), 60.0),
                        (Some(-36.0), 10.0),
                        (Some(-72.0), 10.0),
                    ],
                ),
            ),
            (
                "case5".to_string(),
                tones(
                    sr,
                    &[
                        (Some(-26.0), 20.0),
                        (Some(-20.0), 20.1),
                        (Some(-26.0), 20.0),
                    ],
                ),
            ),
        ];
        let reports = analyze_signals(sr, cases, &[]);
        let expected = [-23.0, -33.0, -23.0, -23.0, -23.0];
        for (i, (report, want)) in reports.iter().zip(expected).enumerate() {
            let what = format!("{sr} Hz case {}", i + 1);
            assert_within(
                &format!("{what} I"),
                num(report, "integrated_lufs"),
                want,
                0.1,
                0.1,
            );
            if i < 2 {
                // Steady tones: momentary and short-term maxima equal the integrated level.
                assert_within(
                    &format!("{what} M"),
                    num(report, "momentary_max_lufs"),
                    want,
                    0.1,
                    0.1,
                );
                assert_within(
                    &format!("{what} S"),
                    num(report, "short_term_max_lufs"),
                    want,
                    0.1,
                    0.1,
                );
            }
        }
    }
}

#[test]
fn tech3341_case_9_and_12_are_constant_in_the_timeline() {
    let sr = 48_000;
    // Case 9: (1.34 s at -20, 1.66 s at -30) x 5; S = -23.0 +-0.1 after 3 s.
    let mut case9 = Vec::new();
    for _ in 0..5 {
        case9.extend(tones(sr, &[(Some(-20.0), 1.34), (Some(-30.0), 1.66)]));
    }
    let reports = analyze_signals(sr, vec![("case9".into(), case9)], &["--timeline", "100"]);
    let timeline = reports[0]["timeline"].as_array().expect("timeline");
    let mut checked = 0;
    for entry in timeline.iter().filter(|e| num(e, "t_s") >= 3.0 - 1e-9) {
        assert_within(
            &format!("case 9 S at {}", entry["t_s"]),
            num(entry, "short_term_lufs"),
            -23.0,
            0.1,
            0.1,
        );
        checked += 1;
    }
    assert!(checked >= 110, "{checked} entries checked");

    // Case 12: (0.18 s at -20, 0.22 s at -30) x 25; M = -23.0 +-0.1 after 1 s.
    let mut case12 = Vec::new();
    for _ in 0..25 {
        case12.extend(tones(sr, &[(Some(-20.0), 0.18), (Some(-30.0), 0.22)]));
    }
    let reports = analyze_signals(sr, vec![("case12".into(), case12)], &["--timeline", "20"]);
    let timeline = reports[0]["timeline"].as_array().expect("timeline");
    let mut checked = 0;
    for entry in timeline.iter().filter(|e| num(e, "t_s") >= 1.0 - 1e-9) {
        assert_within(
            &format!("case 12 M at {}", entry["t_s"]),
            num(entry, "momentary_lufs"),
            -23.0,
            0.1,
            0.1,
        );
        checked += 1;
    }
    assert!(checked >= 450, "{checked} entries checked");
}

#[test]
fn tech3341_cases_10_and_13_file_based_maxima() {
    let sr = 48_000;
    let mut signals = Vec::new();
    for i in 0..20 {
        // Case 10: i * 0.15 s of silence, 3 s at -23 dBFS, 1 s of silence: max S = -23.0.
        signals.push((
            format!("case10_{i:02}"),
            tones(
                sr,
                &[(None, i as f64 * 0.15), (Some(-23.0), 3.0), (None, 1.0)],
            ),
        ));
        // Case 13: i * 20 ms of silence, 400 ms at -23 dBFS, 1 s of silence: max M = -23.0.
        signals.push((
            format!("case13_{i:02}"),
            tones(
                sr,
                &[(None, i as f64 * 0.02), (Some(-23.0), 0.4), (None, 1.0)],
            ),
        ));
    }
    let reports = analyze_signals(sr, signals, &[]);
    for (n, report) in reports.iter().enumerate() {
        let (field, case) = if n % 2 == 0 {
            ("short_term_max_lufs", 10)
        } else {
            ("momentary_max_lufs", 13)
        };
        assert_within(
            &format!("case {case} segment {}", n / 2),
            num(report, field),
            -23.0,
            0.1,
            0.1,
        );
    }
}

#[test]
fn tech3341_true_peak_cases_15_to_19() {
    for sr in [44_100u32, 48_000, 96_000] {
        let fs = f64::from(sr);
        let cases = [
            (fs / 4.0, 0.5, 0.0, -6.0),
            (fs / 4.0, 0.5, 45.0, -6.0),
            (fs / 6.0, 0.5, 60.0, -6.0),
            (fs / 8.0, 0.5, 67.5, -6.0),
            (fs / 4.0, 1.41, 45.0, 3.0),
        ];
        let signals = cases
            .iter()
            .enumerate()
            .map(|(i, &(freq, amplitude, phase_deg, _))| {
                (
                    format!("case{}", 15 + i),
                    tapered_sine(fs, freq, amplitude, phase_deg),
                )
            })
            .collect();
        let reports = analyze_signals(sr, signals, &[]);
        for (i, (report, case)) in reports.iter().zip(cases).enumerate() {
            assert_within(
                &format!("{sr} Hz case {}", 15 + i),
                num(report, "true_peak_dbtp"),
                case.3,
                0.4,
                0.2,
            );
        }
    }
}

/// A 1 s sine with a 10 ms linear fade-in and fade-out, as cases 15-19 ask.
fn tapered_sine(fs: f64, freq: f64, amplitude: f64, phase_deg: f64) -> Vec<f32> {
    let frames = fs as usize;
    let fade = (0.010 * fs) as usize;
    (0..frames)
        .map(|n| {
            let gain = (n.min(frames - 1 - n) as f64 / fade as f64).min(1.0);
            (gain * amplitude * (2.0 * PI * freq * n as f64 / fs + phase_deg.to_radians()).sin())
                as f32
        })
        .collect()
}

#[test]
fn tech3342_loudness_range_cases_1_to_4() {
    for sr in [44_100u32, 48_000] {
        let two = |a: f64, b: f64| tones(sr, &[(Some(a), 20.0), (Some(b), 20.0)]);
        let signals = vec![
            ("lra1".to_string(), two(-20.0, -30.0)),
            ("lra2".to_string(), two(-20.0, -15.0)),
            ("lra3".to_string(), two(-40.0, -20.0)),
            (
                "lra4".to_string(),
                tones(
                    sr,
                    &[
                        (Some(-50.0), 20.0),
                        (Some(-35.0), 20.0),
                        (Some(-20.0), 20.0),
                        (Some(-35.0), 20.0),
                        (Some(-50.0), 20.0),
                    ],
                ),
            ),
        ];
        let reports = analyze_signals(sr, signals, &[]);
        for (i, (report, want)) in reports.iter().zip([10.0, 5.0, 20.0, 15.0]).enumerate() {
            assert_within(
                &format!("{sr} Hz Tech 3342 case {}", i + 1),
                num(report, "loudness_range_lu"),
                want,
                1.0,
                1.0,
            );
        }
    }
}
