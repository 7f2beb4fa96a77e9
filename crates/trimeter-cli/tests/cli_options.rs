//! `trimeter analyze` options end to end: target, average (rms, vu, lufs), ceiling and peak
//! choice, PPM scales, VU reference, the `--timeline` contract, block-split independence and
//! output order for many files.

#[path = "common/fixtures.rs"]
mod fixtures;

use std::path::{Path, PathBuf};

use fixtures::*;

#[test]
fn options_change_the_suggested_trim() {
    let dir = temp_dir();
    let sr = 48_000;
    // 10 s at -20 dBFS then 10 s of silence: the AES17 RMS over the non-silent part is -20.
    let gapped = dir.path().join("gapped.wav");
    write_wav(
        &gapped,
        sr,
        &stereo(tones(sr, &[(Some(-20.0), 10.0), (None, 10.0)])),
        Fmt::F32,
        None,
    );
    // A steady -18 dBFS sine for VU and LUFS.
    let steady = dir.path().join("steady.wav");
    write_wav(&steady, sr, &stereo(tone(sr, -18.0, 10.0)), Fmt::F32, None);
    // fs/4 at 45 degrees: sample peak -9.03 dBFS, true peak -6.0 dBTP (Tech 3341 case 16).
    let quarter = dir.path().join("quarter.wav");
    let q = trimeter_meters::signals::sine(
        f64::from(sr),
        f64::from(sr) / 4.0,
        -6.0206,
        5.0,
        std::f64::consts::FRAC_PI_4,
    );
    write_wav(&quarter, sr, &stereo(q), Fmt::F32, None);

    let trim = |file: &Path, extra: &[&str]| {
        let (code, reports) = analyze_json(&[file], extra);
        assert_eq!(code, 0);
        num(&reports[0], "suggested_trim_db")
    };
    assert_within("rms gated", trim(&gapped, &[]), 2.0, 0.05, 0.05);
    let (_, reports) = analyze_json(&[&gapped], &[]);
    assert_within(
        "rms all",
        num(&reports[0], "rms_aes17_dbfs"),
        -23.01,
        0.05,
        0.05,
    );
    assert_within(
        "target",
        trim(&gapped, &["--target", "-24"]),
        -4.0,
        0.05,
        0.05,
    );
    assert_within(
        "ceiling",
        trim(&gapped, &["--ceiling", "-30"]),
        -10.0,
        0.02,
        0.02,
    );
    // A stereo 1 kHz sine at -18 dBFS reads -18.0 LUFS (Tech 3341 section 2.9, calibration).
    let (_, reports) = analyze_json(&[&steady], &[]);
    let lufs = num(&reports[0], "integrated_lufs");
    assert_within("calibration", lufs, -18.0, 0.1, 0.1);
    assert_within(
        "lufs trim",
        trim(
            &steady,
            &["--average", "lufs", "--target", "-23", "--ceiling", "0"],
        ),
        -23.0 - lufs,
        0.01,
        0.01,
    );
    // VU average in dBFS: reference + VU, so it does not depend on the reference.
    assert_within("vu", trim(&steady, &["--average", "vu"]), 0.0, 0.2, 0.2);
    assert_within(
        "vu ref",
        trim(&steady, &["--average", "vu", "--vu-reference", "-20"]),
        0.0,
        0.2,
        0.2,
    );
    assert_within(
        "vu target",
        trim(
            &steady,
            &["--average", "vu", "--target", "-14", "--ceiling", "0"],
        ),
        4.0,
        0.2,
        0.2,
    );
    // Peak choice: sample peak leaves 3 dB more room than the true peak on this signal.
    let sample = trim(&quarter, &["--ceiling", "-6", "--target", "0"]);
    let truep = trim(
        &quarter,
        &["--ceiling", "-6", "--target", "0", "--peak", "true"],
    );
    assert_within("sample ceiling", sample, 3.01, 0.05, 0.05);
    assert_within("true ceiling", truep, 0.0, 0.2, 0.4);
}

#[test]
fn ppm_scales_read_a_steady_sine_at_its_level() {
    let dir = temp_dir();
    let path = dir.path().join("steady.wav");
    write_wav(
        &path,
        48_000,
        &stereo(tone(48_000, -18.0, 5.0)),
        Fmt::F32,
        None,
    );
    for scale in ["din", "nordic", "bbc", "ebu"] {
        let (code, reports) = analyze_json(&[&path], &["--ppm", scale]);
        assert_eq!(code, 0);
        assert_within(scale, num(&reports[0], "ppm_max_dbfs"), -18.0, 0.2, 0.2);
    }
    let (_, reports) = analyze_json(&[&path], &["--vu-reference", "-20"]);
    assert_within(
        "vu max against -20",
        num(&reports[0], "vu_max"),
        2.0,
        0.2,
        0.2,
    );
}

#[test]
fn timeline_entries_follow_the_interval() {
    let dir = temp_dir();
    let sr = 44_100;
    // 1 s of silence, 1 s at -20 dBFS, 1.5 s of silence.
    let path = dir.path().join("burst.wav");
    write_wav(
        &path,
        sr,
        &stereo(tones(sr, &[(None, 1.0), (Some(-20.0), 1.0), (None, 1.5)])),
        Fmt::I24,
        None,
    );
    let (code, reports) = analyze_json(&[&path], &["--timeline", "1000"]);
    assert_eq!(code, 0);
    let timeline = reports[0]["timeline"].as_array().expect("timeline");
    assert_eq!(timeline.len(), 3, "full intervals only: {timeline:?}");
    for (k, entry) in timeline.iter().enumerate() {
        assert_within("t_s", num(entry, "t_s"), (k + 1) as f64, 1e-9, 1e-9);
        for field in [
            "sample_peak_dbfs",
            "true_peak_dbtp",
            "rms_dbfs",
            "vu",
            "ppm_dbfs",
            "momentary_lufs",
            "short_term_lufs",
        ] {
            assert!(entry.get(field).is_some(), "{field} missing in {entry}");
        }
    }
    assert!(
        timeline[0]["sample_peak_dbfs"].is_null(),
        "silent first second"
    );
    assert!(timeline[0]["momentary_lufs"].is_null());
    assert_within(
        "burst peak",
        num(&timeline[1], "sample_peak_dbfs"),
        -20.0,
        0.01,
        0.01,
    );
    assert_within("burst rms", num(&timeline[1], "rms_dbfs"), -23.01, 0.1, 0.1);
    // The third interval is silent, but the meters still show the decaying tone.
    assert!(timeline[2]["sample_peak_dbfs"].is_null());

    let (_, reports) = analyze_json(&[&path], &["--timeline", "300"]);
    let timeline = reports[0]["timeline"].as_array().expect("timeline");
    assert_eq!(timeline.len(), 11);
    assert_within("t_s", num(&timeline[10], "t_s"), 3.3, 1e-9, 1e-9);
}

#[test]
fn timeline_block_splits_do_not_change_the_summary() {
    // --timeline 7 cuts the engine's blocks at every 7 ms (309 frames at 44.1 kHz) instead of the
    // reader's 4096-frame chunks; the whole-file figures must not notice.
    let dir = temp_dir();
    let sr = 44_100;
    let noise = trimeter_meters::signals::white_noise(sr as usize * 8, 0.3, 7);
    let signal = [tones(sr, &[(Some(-30.0), 2.0), (None, 1.0)]), noise].concat();
    let path = dir.path().join("mixed.wav");
    write_wav(&path, sr, &stereo(signal), Fmt::F32, None);
    let (_, plain) = analyze_json(&[&path], &["--average", "vu"]);
    let (_, split) = analyze_json(&[&path], &["--average", "vu", "--timeline", "7"]);
    for field in SUMMARY_FIELDS {
        assert_within(
            field,
            num(&split[0], field),
            num(&plain[0], field),
            1e-3,
            1e-3,
        );
    }
    assert_eq!(split[0]["timeline"].as_array().map(Vec::len), Some(1571));
}

#[test]
fn many_files_keep_input_order() {
    let dir = temp_dir();
    let files: Vec<PathBuf> = (0..12)
        .map(|i| {
            let path = dir.path().join(format!("f{i:02}.wav"));
            // Longer files first so parallel work finishes out of order.
            write_wav(
                &path,
                48_000,
                &stereo(tone(48_000, -10.0 - i as f64, 3.0 - 0.2 * i as f64)),
                Fmt::I16,
                None,
            );
            path
        })
        .collect();
    let refs: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    let (code, reports) = analyze_json(&refs, &[]);
    assert_eq!(code, 0);
    for (i, (report, file)) in reports.iter().zip(&files).enumerate() {
        assert_eq!(report["path"].as_str(), Some(file.to_str().unwrap()));
        assert_within(
            "level",
            num(report, "sample_peak_dbfs"),
            -10.0 - i as f64,
            0.01,
            0.01,
        );
    }
}
