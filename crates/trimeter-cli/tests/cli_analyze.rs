//! `trimeter analyze` end to end: the JSON contract, formats and channel layouts, bad inputs and
//! exit codes. Every test runs the real binary on generated files. Options and the timeline are
//! in `cli_options.rs`.

#[path = "common/fixtures.rs"]
mod fixtures;

use std::path::{Path, PathBuf};

use fixtures::*;
use serde_json::Value;

/// The fields every object has, in the documented contract.
const FIELDS: [&str; 21] = [
    "path",
    "ok",
    "sample_rate",
    "channels",
    "duration_s",
    "non_finite_samples",
    "sample_peak_dbfs",
    "true_peak_dbtp",
    "true_peak_mode",
    "rms_dbfs",
    "rms_aes17_dbfs",
    "vu_max",
    "ppm_max_dbfs",
    "momentary_max_lufs",
    "short_term_max_lufs",
    "integrated_lufs",
    "loudness_range_lu",
    "plr_lu",
    "suggested_trim_db",
    "suggested_trim_reason",
    "preset",
];

fn keys_of(obj: &Value) -> Vec<String> {
    obj.as_object().expect("object").keys().cloned().collect()
}

#[test]
fn json_contract_has_every_field_and_nulls_for_silence() {
    let dir = temp_dir();
    let tone_path = dir.path().join("tone.wav");
    let silent_path = dir.path().join("silent.wav");
    write_wav(
        &tone_path,
        48_000,
        &stereo(tone(48_000, -20.0, 5.0)),
        Fmt::I24,
        None,
    );
    write_wav(
        &silent_path,
        48_000,
        &stereo(vec![0.0; 48_000 * 3]),
        Fmt::I16,
        None,
    );
    let (code, reports) = analyze_json(&[&tone_path, &silent_path], &[]);
    assert_eq!(code, 0);
    for report in &reports {
        for field in FIELDS {
            assert!(report.get(field).is_some(), "missing {field} in {report}");
        }
        assert!(
            report.get("error").is_none(),
            "error only when not ok: {report}"
        );
        assert!(
            report.get("timeline").is_none(),
            "timeline only with --timeline"
        );
        assert_eq!(report["ok"], Value::Bool(true));
        assert_eq!(report["non_finite_samples"].as_u64(), Some(0), "{report}");
        assert_eq!(report["true_peak_mode"].as_str(), Some("standard"));
        // No --preset given: the preset is null; the tone's trim is the average's.
        assert_eq!(report["preset"], Value::Null);
    }
    assert_eq!(
        reports[0]["suggested_trim_reason"].as_str(),
        Some("average")
    );
    assert_eq!(reports[1]["suggested_trim_reason"], Value::Null);
    let tone = &reports[0];
    assert_eq!(tone["path"].as_str(), Some(tone_path.to_str().unwrap()));
    assert_eq!(tone["sample_rate"].as_u64(), Some(48_000));
    assert_eq!(tone["channels"].as_u64(), Some(2));
    assert_within("duration", num(tone, "duration_s"), 5.0, 1e-9, 1e-9);
    assert_within(
        "sample peak",
        num(tone, "sample_peak_dbfs"),
        -20.0,
        0.01,
        0.01,
    );
    // A sine's plain RMS is 3.01 dB below its peak; AES17 RMS reads like the peak.
    assert_within("rms", num(tone, "rms_dbfs"), -23.01, 0.02, 0.02);
    assert_within("rms aes17", num(tone, "rms_aes17_dbfs"), -20.0, 0.02, 0.02);
    assert_within("vu max", num(tone, "vu_max"), -2.0, 0.2, 0.2);
    assert_within("ppm max", num(tone, "ppm_max_dbfs"), -20.0, 0.3, 0.3);
    // Suggested trim: min(-18 - (-20), -6 - (-20)) = +2 dB.
    assert_within("trim", num(tone, "suggested_trim_db"), 2.0, 0.02, 0.02);

    let silent = &reports[1];
    for field in [
        "sample_peak_dbfs",
        "true_peak_dbtp",
        "rms_dbfs",
        "rms_aes17_dbfs",
        "vu_max",
        "ppm_max_dbfs",
        "momentary_max_lufs",
        "short_term_max_lufs",
        "integrated_lufs",
        "plr_lu",
        "suggested_trim_db",
    ] {
        assert!(
            silent[field].is_null(),
            "{field} must be null for silence: {silent}"
        );
    }
    assert_eq!(silent["loudness_range_lu"].as_f64(), Some(0.0));
    assert_eq!(keys_of(silent).len(), keys_of(tone).len());
}

#[test]
fn wav_widths_and_sample_rates_decode_to_the_same_levels() {
    let dir = temp_dir();
    let mut files = Vec::new();
    let mut expect = Vec::new();
    for (i, fmt) in [Fmt::U8, Fmt::I16, Fmt::I24, Fmt::I32, Fmt::F32, Fmt::F64]
        .into_iter()
        .enumerate()
    {
        let path = dir.path().join(format!("w{i}.wav"));
        write_wav(&path, 48_000, &stereo(tone(48_000, -12.0, 2.0)), fmt, None);
        files.push(path);
        expect.push((48_000, 2, if fmt == Fmt::U8 { 0.2 } else { 0.01 }));
    }
    for sr in [8_000u32, 44_100, 96_000, 192_000, 384_000] {
        let path = dir.path().join(format!("sr{sr}.wav"));
        write_wav(&path, sr, &stereo(tone(sr, -12.0, 2.0)), Fmt::F32, None);
        files.push(path);
        expect.push((sr, 2, 0.01));
    }
    let mono = dir.path().join("mono.wav");
    write_wav(&mono, 44_100, &[tone(44_100, -12.0, 2.0)], Fmt::I16, None);
    files.push(mono);
    expect.push((44_100, 1, 0.01));
    let ext = dir.path().join("extensible.wav");
    write_wav(
        &ext,
        48_000,
        &stereo(tone(48_000, -12.0, 2.0)),
        Fmt::I24,
        Some(0x3),
    );
    files.push(ext);
    expect.push((48_000, 2, 0.01));

    let refs: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    let (code, reports) = analyze_json(&refs, &[]);
    assert_eq!(code, 0, "{reports:?}");
    for (report, (sr, channels, tolerance)) in reports.iter().zip(expect) {
        assert_eq!(
            report["sample_rate"].as_u64(),
            Some(u64::from(sr)),
            "{report}"
        );
        assert_eq!(report["channels"].as_u64(), Some(channels), "{report}");
        assert_within("duration", num(report, "duration_s"), 2.0, 1e-6, 1e-6);
        assert_within(
            "peak",
            num(report, "sample_peak_dbfs"),
            -12.0,
            tolerance,
            tolerance,
        );
        assert_within(
            "aes17",
            num(report, "rms_aes17_dbfs"),
            -12.0,
            tolerance + 0.02,
            tolerance + 0.02,
        );
    }
}

#[test]
fn other_formats_decode_through_ffmpeg_fixtures() {
    let dir = temp_dir();
    let source = dir.path().join("source.wav");
    write_wav(
        &source,
        44_100,
        &stereo(tone(44_100, -12.0, 3.0)),
        Fmt::I24,
        None,
    );
    let mut files = vec![];
    for (name, options, lossless) in [
        ("a.aiff", &["-c:a", "pcm_s24be"][..], true),
        ("a.flac", &[][..], true),
        ("a.mp3", &["-b:a", "256k"][..], false),
        ("a.ogg", &["-c:a", "libvorbis", "-q:a", "8"][..], false),
    ] {
        let path = dir.path().join(name);
        ffmpeg(&source, &path, options);
        files.push((path, lossless));
    }
    let mut refs: Vec<&Path> = files.iter().map(|(p, _)| p.as_path()).collect();
    refs.push(&source);
    let (code, reports) = analyze_json(&refs, &[]);
    assert_eq!(code, 0, "{reports:?}");
    // AIFF and FLAC hold the same 24-bit samples as the WAV (read by our own WAV reader, the
    // others by Symphonia): every figure must agree.
    let wav = &reports[4];
    for lossless in &reports[..2] {
        for field in SUMMARY_FIELDS {
            assert_within(field, num(lossless, field), num(wav, field), 1e-4, 1e-4);
        }
    }
    for (report, (_, lossless)) in reports.iter().zip(&files) {
        assert_eq!(report["sample_rate"].as_u64(), Some(44_100));
        assert_eq!(report["channels"].as_u64(), Some(2));
        let (tolerance, duration_tolerance) = if *lossless { (0.01, 1e-6) } else { (0.5, 0.06) };
        assert_within(
            "duration",
            num(report, "duration_s"),
            3.0,
            duration_tolerance,
            duration_tolerance,
        );
        assert_within(
            "aes17",
            num(report, "rms_aes17_dbfs"),
            -12.0,
            tolerance + 0.02,
            tolerance + 0.02,
        );
    }
}

#[test]
fn surround_loudness_uses_the_channel_mask_and_excludes_lfe() {
    // Tech 3341 case 6 (L, R at -28, C at -24, Ls, Rs at -30 dBFS reads -23.0 LUFS), written as
    // 5.1 with a loud LFE: the LFE must not count.
    let dir = temp_dir();
    let sr = 48_000;
    let lfe = trimeter_meters::signals::sine(f64::from(sr), 60.0, -6.0, 20.0, 0.0);
    let five_one = vec![
        tone(sr, -28.0, 20.0),
        tone(sr, -28.0, 20.0),
        tone(sr, -24.0, 20.0),
        lfe,
        tone(sr, -30.0, 20.0),
        tone(sr, -30.0, 20.0),
    ];
    let masked = dir.path().join("five_one_side.wav");
    write_wav(&masked, sr, &five_one, Fmt::F32, Some(0x60f));
    let back = dir.path().join("five_one_back.wav");
    write_wav(&back, sr, &five_one, Fmt::I24, Some(0x3f));
    let plain = dir.path().join("five_one_plain.wav");
    write_wav(&plain, sr, &five_one, Fmt::I16, None);
    let mut five_zero = five_one.clone();
    five_zero.remove(3);
    let five = dir.path().join("five_zero.wav");
    write_wav(&five, sr, &five_zero, Fmt::F32, Some(0x607));
    let (code, reports) = analyze_json(&[&masked, &back, &plain, &five], &[]);
    assert_eq!(code, 0, "{reports:?}");
    for report in &reports {
        assert_within(
            "integrated",
            num(report, "integrated_lufs"),
            -23.0,
            0.1,
            0.1,
        );
    }
    assert_eq!(reports[0]["channels"].as_u64(), Some(6));
    assert_eq!(reports[3]["channels"].as_u64(), Some(5));
}

#[test]
fn bad_inputs_fail_alone_with_a_reason_and_exit_1() {
    let dir = temp_dir();
    let d = dir.path();
    let good = d.join("good.wav");
    write_wav(
        &good,
        48_000,
        &stereo(tone(48_000, -20.0, 1.0)),
        Fmt::I16,
        None,
    );
    let empty = d.join("empty.wav");
    std::fs::write(&empty, b"").unwrap();
    let truncated = d.join("truncated.wav");
    let bytes = std::fs::read(&good).unwrap();
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let corrupt = d.join("corrupt.wav");
    std::fs::write(
        &corrupt,
        b"this is not audio at all, just text that goes on",
    )
    .unwrap();
    let nine = d.join("nine_channels.wav");
    write_wav(
        &nine,
        48_000,
        &vec![tone(48_000, -20.0, 0.1); 9],
        Fmt::I16,
        None,
    );
    let slow = d.join("four_khz.wav");
    write_wav(&slow, 4_000, &[vec![0.1; 4_000]], Fmt::I16, None);
    let header_only = d.join("header_only.wav");
    write_wav(&header_only, 48_000, &[vec![], vec![]], Fmt::I16, None);
    let missing = d.join("missing.wav");
    let files: [&Path; 9] = [
        &good,
        &empty,
        &truncated,
        &corrupt,
        &nine,
        &slow,
        &header_only,
        &missing,
        d,
    ];
    let refs: Vec<&Path> = files.to_vec();
    let (code, reports) = analyze_json(&refs, &[]);
    assert_eq!(code, 1);
    assert_eq!(reports[0]["ok"], Value::Bool(true));
    let expect = [
        "",
        "empty",
        "truncated",
        "unsupported",
        "channel count",
        "sample rate",
        "no audio",
        "cannot open",
        "directory",
    ];
    for (i, (report, word)) in reports.iter().zip(expect).enumerate().skip(1) {
        assert_eq!(report["ok"], Value::Bool(false), "{report}");
        let error = report["error"]
            .as_str()
            .unwrap_or_else(|| panic!("no error text: {report}"));
        assert!(
            error.contains(word),
            "file {i}: error {error:?} should mention {word:?}"
        );
        assert!(report["integrated_lufs"].is_null() && report["sample_rate"].is_null());
        assert_eq!(report["path"].as_str(), Some(files[i].to_str().unwrap()));
    }
    // The table run reports the same and never shows a stack trace.
    let table = run(&[
        std::ffi::OsStr::new("analyze"),
        good.as_os_str(),
        corrupt.as_os_str(),
    ]);
    assert_eq!(table.code, 1);
    assert!(table.stdout.contains("good.wav") && table.stdout.contains("corrupt.wav: error:"));
    assert!(!table.stderr.contains("panicked") && !table.stderr.contains("RUST_BACKTRACE"));
}

#[test]
fn corrupt_and_truncated_flac_fail() {
    let dir = temp_dir();
    let source = dir.path().join("source.wav");
    write_wav(
        &source,
        48_000,
        &stereo(tone(48_000, -12.0, 5.0)),
        Fmt::I24,
        None,
    );
    let flac = dir.path().join("good.flac");
    ffmpeg(&source, &flac, &[]);
    let bytes = std::fs::read(&flac).unwrap();
    let mut damaged = bytes.clone();
    let middle = damaged.len() / 2;
    for byte in &mut damaged[middle..middle + 2000] {
        *byte ^= 0x5a;
    }
    let corrupt = dir.path().join("corrupt.flac");
    std::fs::write(&corrupt, damaged).unwrap();
    let truncated = dir.path().join("truncated.flac");
    std::fs::write(&truncated, &bytes[..bytes.len() / 3]).unwrap();
    let (code, reports) = analyze_json(&[&flac, &corrupt, &truncated], &[]);
    assert_eq!(code, 1);
    assert_eq!(reports[0]["ok"], Value::Bool(true));
    assert!(
        reports[1]["error"].as_str().unwrap().contains("corrupt"),
        "{}",
        reports[1]
    );
    assert!(
        reports[2]["error"].as_str().unwrap().contains("truncated"),
        "{}",
        reports[2]
    );
}

#[test]
fn usage_errors_exit_2() {
    let dir = temp_dir();
    let good = dir.path().join("good.wav");
    write_wav(
        &good,
        48_000,
        &stereo(tone(48_000, -20.0, 0.5)),
        Fmt::I16,
        None,
    );
    let g = good.to_str().unwrap();
    for args in [
        vec!["analyze"],
        vec!["analyze", "--ppm", "loud", g],
        vec!["analyze", "--average", "peak", g],
        vec!["analyze", "--target", "abc", g],
        vec!["analyze", "--timeline", "0", "--json", g],
        vec!["analyze", "--timeline", "100", g],
        vec!["analyze", "--no-such-flag", g],
        vec!["stage", g],
        vec!["frobnicate"],
    ] {
        let run = run(&args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(!run.stderr.is_empty());
    }
    assert_eq!(run(&["--help"]).code, 0);
    assert_eq!(run(&["analyze", "--help"]).code, 0);
}

#[test]
fn streamed_wavs_with_unknown_sizes_read_to_the_end() {
    let dir = temp_dir();
    let d = dir.path();
    let source = d.join("source.wav");
    write_wav(
        &source,
        48_000,
        &stereo(tone(48_000, -20.0, 2.0)),
        Fmt::I24,
        None,
    );
    let bytes = std::fs::read(&source).unwrap();
    let data = bytes.windows(4).position(|w| w == b"data").unwrap();
    // A recorder that streams: data size 0xFFFFFFFF. A pipe: data and RIFF sizes left at 0.
    let mut open_ended = bytes.clone();
    open_ended[data + 4..data + 8].copy_from_slice(&u32::MAX.to_le_bytes());
    let mut zero_sizes = bytes.clone();
    zero_sizes[4..8].copy_from_slice(&0u32.to_le_bytes());
    zero_sizes[data + 4..data + 8].copy_from_slice(&0u32.to_le_bytes());
    let paths = [d.join("open_ended.wav"), d.join("zero_sizes.wav")];
    std::fs::write(&paths[0], open_ended).unwrap();
    std::fs::write(&paths[1], zero_sizes).unwrap();
    let files: Vec<&Path> = std::iter::once(source.as_path())
        .chain(paths.iter().map(PathBuf::as_path))
        .collect();
    let (code, reports) = analyze_json(&files, &[]);
    assert_eq!(code, 0, "{reports:?}");
    for report in &reports {
        assert_eq!(report["duration_s"].as_f64(), Some(2.0), "{report}");
        assert_eq!(report["integrated_lufs"], reports[0]["integrated_lufs"]);
    }
}
