//! The standards' own test signals, synthesized: EBU Tech 3341 Table 1 cases 1-6 and 9-14,
//! EBU Tech 3342 Table 1 cases 1-4 and the BS.1770-5 section 2.1 check, at 44.1, 48 and 96 kHz.
//! Cases 7-8 (3341) and 5-6 (3342) need the EBU's recorded programme files and are not here.

use super::tests::{feed, measure, meter, tone, RATES};
use super::*;

/// Tech 3341 tolerance for M, S and I: +-0.1 LU.
const TOLERANCE_LU: f32 = 0.1;

fn stereo(signal: Vec<f32>) -> Vec<Vec<f32>> {
    vec![signal.clone(), signal]
}

fn assert_near(got: f32, want: f32, tolerance: f32, what: &str) {
    assert!(
        (got - want).abs() <= tolerance,
        "{what}: {got} vs {want} +-{tolerance}"
    );
}

#[test]
fn bs1770_997_hz_full_scale_in_one_front_channel_reads_minus_3_01() {
    for rate in [8_000.0, 44_100.0, 48_000.0, 96_000.0, 192_000.0, 384_000.0] {
        let s = crate::signals::sine(rate, 997.0, 0.0, 5.0, 0.0);
        let r = measure(rate, &[s.clone(), vec![0.0; s.len()]]);
        assert_near(
            r.integrated_lufs,
            -3.01,
            0.01,
            &format!("{rate} Hz integrated"),
        );
        assert_near(
            r.momentary_lufs,
            -3.01,
            0.01,
            &format!("{rate} Hz momentary"),
        );
        // Centre of 5.0 reads the same.
        let z = vec![0.0; s.len()];
        let r = measure(rate, &[z.clone(), z.clone(), s, z.clone(), z]);
        assert_near(r.integrated_lufs, -3.01, 0.01, &format!("{rate} Hz centre"));
    }
}

/// Tech 3341 cases 1 and 2: M, S and I of a steady tone, in LUFS and, as the case table also
/// states them, in LU relative to the R 128 target (0.0 and -10.0 LU, +-0.1); the same signals
/// against another target (ATSC A/85, -24 LKFS); silence stays minus infinity in LU.
#[test]
fn tech3341_cases_1_and_2() {
    for rate in RATES {
        for (level, expected) in [(-23.0, -23.0), (-33.0, -33.0)] {
            let r = measure(rate, &stereo(tone(rate, &[(20.0, Some(level))])));
            let lu = r.relative_to(EBU_R128_TARGET_LUFS);
            let expected_lu = expected - EBU_R128_TARGET_LUFS;
            for (v, want, what) in [
                (r.momentary_lufs, expected, "M"),
                (r.short_term_lufs, expected, "S"),
                (r.integrated_lufs, expected, "I"),
                (lu.momentary_lu, expected_lu, "M in LU"),
                (lu.short_term_lu, expected_lu, "S in LU"),
                (lu.integrated_lu, expected_lu, "I in LU"),
                (lu.momentary_max_lu, expected_lu, "M max in LU"),
                (lu.short_term_max_lu, expected_lu, "S max in LU"),
                (
                    r.relative_to(-24.0).integrated_lu,
                    expected_lu + 1.0,
                    "I against -24",
                ),
            ] {
                assert_near(
                    v,
                    want,
                    TOLERANCE_LU,
                    &format!("{rate} Hz {level} dBFS {what}"),
                );
            }
            assert_eq!(lu.loudness_range_lu, r.loudness_range_lu);
        }
    }
    let silent = measure(48_000.0, &stereo(vec![0.0; 48_000]));
    let lu = silent.relative_to(EBU_R128_TARGET_LUFS);
    assert_eq!(lu.integrated_lu, f32::NEG_INFINITY);
    assert_eq!(lu.momentary_lu, f32::NEG_INFINITY);
}

/// Tech 3341 cases 3-5: integrated loudness with gating, and case 6 (5.0 channels).
#[test]
fn tech3341_cases_3_to_6() {
    let cases: [&[(f64, Option<f64>)]; 3] = [
        &[
            (10.0, Some(-36.0)),
            (60.0, Some(-23.0)),
            (10.0, Some(-36.0)),
        ],
        &[
            (10.0, Some(-72.0)),
            (10.0, Some(-36.0)),
            (60.0, Some(-23.0)),
            (10.0, Some(-36.0)),
            (10.0, Some(-72.0)),
        ],
        &[
            (20.0, Some(-26.0)),
            (20.1, Some(-20.0)),
            (20.0, Some(-26.0)),
        ],
    ];
    for rate in RATES {
        for (i, segments) in cases.iter().enumerate() {
            let r = measure(rate, &stereo(tone(rate, segments)));
            assert_near(
                r.integrated_lufs,
                -23.0,
                TOLERANCE_LU,
                &format!("{rate} Hz case {}", i + 3),
            );
        }
        let channel = |db: f64| tone(rate, &[(20.0, Some(db))]);
        let five = vec![
            channel(-28.0),
            channel(-28.0),
            channel(-24.0),
            channel(-30.0),
            channel(-30.0),
        ];
        let r = measure(rate, &five);
        assert_near(
            r.integrated_lufs,
            -23.0,
            TOLERANCE_LU,
            &format!("{rate} Hz case 6"),
        );
    }
}

/// Readings on every 10 ms grid point (or finer) of `signal`, with the time in seconds.
fn grid_readings(rate: f64, signal: &[Vec<f32>]) -> Vec<(f64, LoudnessReading)> {
    let mut m = meter(rate, signal.len());
    let step = (rate / 100.0) as usize;
    let frames = signal[0].len();
    let mut out = Vec::new();
    let mut start = 0;
    while start < frames {
        let end = (start + step).min(frames);
        feed(
            &mut m,
            &signal
                .iter()
                .map(|c| c[start..end].to_vec())
                .collect::<Vec<_>>(),
            step,
        );
        out.push((end as f64 / rate, m.read()));
        start = end;
    }
    out
}

/// Tech 3341 case 9: short-term stays at -23 after 3 s; case 12: momentary stays at -23 after
/// 1 s. Checked at every grid point, not only at the end.
#[test]
fn tech3341_cases_9_and_12() {
    for rate in RATES {
        let segments: Vec<_> = (0..5)
            .flat_map(|_| [(1.34, Some(-20.0)), (1.66, Some(-30.0))])
            .collect();
        let readings = grid_readings(rate, &stereo(tone(rate, &segments)));
        let mut checked = 0;
        for (t, r) in readings.iter().filter(|(t, _)| *t >= 3.0 - 1e-9) {
            assert_near(
                r.short_term_lufs,
                -23.0,
                TOLERANCE_LU,
                &format!("{rate} Hz case 9 at {t:.2} s"),
            );
            checked += 1;
        }
        assert!(checked > 1000, "{checked}");

        let segments: Vec<_> = (0..25)
            .flat_map(|_| [(0.18, Some(-20.0)), (0.22, Some(-30.0))])
            .collect();
        let readings = grid_readings(rate, &stereo(tone(rate, &segments)));
        for (t, r) in readings.iter().filter(|(t, _)| *t >= 1.0 - 1e-9) {
            assert_near(
                r.momentary_lufs,
                -23.0,
                TOLERANCE_LU,
                &format!("{rate} Hz case 12 at {t:.2} s"),
            );
        }
    }
}

/// Tech 3341 cases 10 and 13 (file-based: each segment measured from a reset meter): the
/// maximum short-term (3 s tone) and momentary (400 ms tone) read -23 whatever the tone's
/// offset, which needs the fine evaluation grid.
#[test]
fn tech3341_cases_10_and_13() {
    for rate in RATES {
        for i in 0..20 {
            let s = tone(
                rate,
                &[(i as f64 * 0.15, None), (3.0, Some(-23.0)), (1.0, None)],
            );
            let r = measure(rate, &stereo(s));
            assert_near(
                r.short_term_max_lufs,
                -23.0,
                TOLERANCE_LU,
                &format!("{rate} Hz case 10 segment {i}"),
            );
            let s = tone(
                rate,
                &[(i as f64 * 0.02, None), (0.4, Some(-23.0)), (1.0, None)],
            );
            let r = measure(rate, &stereo(s));
            assert_near(
                r.momentary_max_lufs,
                -23.0,
                TOLERANCE_LU,
                &format!("{rate} Hz case 13 segment {i}"),
            );
        }
    }
}

/// Tech 3341 cases 11 and 14 (live: one long signal, the maxima read at the end of each
/// segment give successive values -38, -37, ... -19).
#[test]
fn tech3341_cases_11_and_14() {
    for rate in RATES {
        for (case, tone_s, silence_step_s, read) in [
            (
                11,
                3.0,
                0.15,
                (|r: &LoudnessReading| r.short_term_max_lufs) as fn(&LoudnessReading) -> f32,
            ),
            (14, 0.4, 0.02, |r: &LoudnessReading| r.momentary_max_lufs),
        ] {
            let mut m = meter(rate, 2);
            for i in 0..20 {
                let before = i as f64 * silence_step_s;
                let segment = tone(
                    rate,
                    &[
                        (before, None),
                        (tone_s, Some(-38.0 + i as f64)),
                        (tone_s - before, None),
                    ],
                );
                feed(&mut m, &stereo(segment), 1024);
                let want = -38.0 + i as f32;
                assert_near(
                    read(&m.read()),
                    want,
                    TOLERANCE_LU,
                    &format!("{rate} Hz case {case} segment {i}"),
                );
            }
        }
    }
}

/// Tech 3342 cases 1-4: Loudness Range of tone sequences (+-1 LU allowed; a correct
/// implementation reads them to a few hundredths, which is what we check).
#[test]
fn tech3342_cases_1_to_4() {
    let cases: [(&[f64], f32); 4] = [
        (&[-20.0, -30.0], 10.0),
        (&[-20.0, -15.0], 5.0),
        (&[-40.0, -20.0], 20.0),
        (&[-50.0, -35.0, -20.0, -35.0, -50.0], 15.0),
    ];
    for rate in RATES {
        for (i, (levels, lra)) in cases.iter().enumerate() {
            let segments: Vec<_> = levels.iter().map(|&db| (20.0, Some(db))).collect();
            let r = measure(rate, &stereo(tone(rate, &segments)));
            assert_near(
                r.loudness_range_lu,
                *lra,
                0.05,
                &format!("{rate} Hz Tech 3342 case {}", i + 1),
            );
        }
    }
}
