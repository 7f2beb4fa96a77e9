//! `--preset`: the named targets of the meters crate's table (the one the plugin's assistant
//! uses), overridden field by field, named in the JSON with the limit that binds.

#[path = "common/fixtures.rs"]
mod fixtures;

use fixtures::*;
use trimeter_meters::staging::presets::PRESETS;
use trimeter_meters::staging::{AverageMeasure, PeakMeasure};

/// A preset gives exactly the suggestion of its numbers given one by one, for every preset.
#[test]
fn every_preset_equals_its_numbers_given_explicitly() {
    let dir = temp_dir();
    let sr = 48_000;
    // Programme-like: noise bursts between pauses, so every average measure has something.
    let mut signal = trimeter_meters::signals::white_noise(sr as usize * 8, 0.3, 11);
    for (n, s) in signal.iter_mut().enumerate() {
        if (n / sr as usize) % 4 == 3 {
            *s = 0.0;
        }
    }
    let file = dir.path().join("programme.wav");
    write_wav(&file, sr, &stereo(signal), Fmt::F32, None);
    for preset in PRESETS {
        let (code, by_name) = analyze_json(&[&file], &["--preset", preset.id]);
        assert_eq!(code, 0, "{}", preset.id);
        let t = preset.target;
        let average = match t.average {
            AverageMeasure::Rms => "rms",
            AverageMeasure::Vu => "vu",
            AverageMeasure::Lufs => "lufs",
        };
        let peak = match t.peak {
            PeakMeasure::Sample => "sample",
            PeakMeasure::True => "true",
        };
        let (target, ceiling) = (t.target_db.to_string(), t.ceiling_db.to_string());
        let explicit = [
            "--target",
            &target,
            "--average",
            average,
            "--ceiling",
            &ceiling,
            "--peak",
            peak,
        ];
        let (_, by_numbers) = analyze_json(&[&file], &explicit);
        assert_eq!(
            by_name[0]["suggested_trim_db"], by_numbers[0]["suggested_trim_db"],
            "{}",
            preset.id
        );
        assert_eq!(by_name[0]["preset"], preset.id);
        assert_eq!(by_numbers[0]["preset"], serde_json::Value::Null);
        assert_eq!(
            by_name[0]["suggested_trim_reason"],
            by_numbers[0]["suggested_trim_reason"]
        );
    }
}

#[test]
fn explicit_options_override_a_presets_fields_and_the_reason_names_the_limit() {
    let dir = temp_dir();
    let sr = 48_000;
    // A -30 dBFS sine: AES17 RMS -30, peak -30.
    let quiet = dir.path().join("quiet.wav");
    write_wav(&quiet, sr, &stereo(tone(sr, -30.0, 6.0)), Fmt::F32, None);

    // k14: -14 dBFS RMS, ceiling -1 dBTP: +16 dB, the average binds.
    let (_, k14) = analyze_json(&[&quiet], &["--preset", "k14"]);
    assert_within(
        "k14 trim",
        num(&k14[0], "suggested_trim_db"),
        16.0,
        0.05,
        0.05,
    );
    assert_eq!(k14[0]["suggested_trim_reason"], "average");

    // The same preset with a -20 dB ceiling: the peaks stop the gain at +10.
    let (_, capped) = analyze_json(&[&quiet], &["--preset", "k14", "--ceiling", "-20"]);
    assert_within(
        "k14 capped",
        num(&capped[0], "suggested_trim_db"),
        10.0,
        0.05,
        0.05,
    );
    assert_eq!(capped[0]["suggested_trim_reason"], "ceiling");
    assert_eq!(capped[0]["preset"], "k14");

    // r128 measures integrated loudness; --target changes only the level.
    let (_, r128) = analyze_json(&[&quiet], &["--preset", "r128"]);
    let (_, r128_20) = analyze_json(&[&quiet], &["--preset", "r128", "--target", "-20"]);
    let lufs = num(&r128[0], "integrated_lufs");
    assert_within(
        "r128",
        num(&r128[0], "suggested_trim_db"),
        -23.0 - lufs,
        0.01,
        0.01,
    );
    assert_within(
        "r128 -20",
        num(&r128_20[0], "suggested_trim_db"),
        -20.0 - lufs,
        0.01,
        0.01,
    );

    // Silence: no suggestion and no reason.
    let silent = dir.path().join("silent.wav");
    write_wav(&silent, sr, &stereo(vec![0.0; 48_000]), Fmt::F32, None);
    let (_, s) = analyze_json(&[&silent], &["--preset", "tracking"]);
    assert_eq!(s[0]["suggested_trim_db"], serde_json::Value::Null);
    assert_eq!(s[0]["suggested_trim_reason"], serde_json::Value::Null);
}

#[test]
fn an_unknown_preset_is_a_usage_error_that_lists_the_presets() {
    let dir = temp_dir();
    let file = dir.path().join("a.wav");
    write_wav(
        &file,
        48_000,
        &stereo(tone(48_000, -20.0, 1.0)),
        Fmt::F32,
        None,
    );
    let run = run(&[
        "analyze".as_ref(),
        "--preset".as_ref(),
        "loud".as_ref(),
        file.as_os_str(),
    ]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("streaming") && run.stderr.contains("r128"),
        "{}",
        run.stderr
    );
}
