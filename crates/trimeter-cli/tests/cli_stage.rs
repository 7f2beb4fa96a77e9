//! `trimeter stage` end to end: output levels (re-analyzed), formats kept, refusals, no
//! overwriting, clipping, reproducible dither and no leftover temporary files.

#[path = "common/fixtures.rs"]
mod fixtures;

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use fixtures::*;
use serde_json::Value;

#[test]
fn staged_files_reach_the_target_in_every_writable_format() {
    let dir = temp_dir();
    let out = dir.path().join("out");
    let sr = 48_000;
    let mut inputs = Vec::new();
    for (name, fmt, mask) in [
        ("i16.wav", Fmt::I16, None),
        ("i24.wav", Fmt::I24, None),
        ("i32.wav", Fmt::I32, None),
        ("f32.wav", Fmt::F32, None),
        ("f64.wav", Fmt::F64, None),
        ("u8.wav", Fmt::U8, None),
        ("ext24.wav", Fmt::I24, Some(0x3)),
    ] {
        let path = dir.path().join(name);
        write_wav(&path, sr, &stereo(tone(sr, -30.0, 3.0)), fmt, mask);
        inputs.push(path);
    }
    let surround = dir.path().join("surround.wav");
    write_wav(
        &surround,
        sr,
        &vec![tone(sr, -30.0, 3.0); 6],
        Fmt::I24,
        Some(0x60f),
    );
    inputs.push(surround);
    let aiff = dir.path().join("tone.aiff");
    ffmpeg(&inputs[1], &aiff, &["-c:a", "pcm_s24be"]);
    inputs.push(aiff);

    let refs: Vec<&Path> = inputs.iter().map(PathBuf::as_path).collect();
    let (code, reports) = stage_json(&out, &refs, &[]);
    assert_eq!(code, 0, "{reports:?}");
    for (report, path) in reports.iter().zip(&inputs) {
        assert_eq!(report["ok"], Value::Bool(true), "{report}");
        // 8-bit PCM quantizes a -30 dBFS sine coarsely (the LSB is at -48 dBFS).
        let tolerance = if path.ends_with("u8.wav") { 0.4 } else { 0.02 };
        assert_within("gain", num(report, "gain_db"), 12.0, tolerance, tolerance);
    }
    assert_eq!(reports[0]["format"].as_str(), Some("16-bit PCM WAV"));
    assert_eq!(reports[0]["dithered"], Value::Bool(true));
    assert_eq!(reports[3]["format"].as_str(), Some("32-bit float WAV"));
    assert_eq!(reports[3]["dithered"], Value::Bool(false));
    assert_eq!(reports[4]["format"].as_str(), Some("64-bit float WAV"));
    assert_eq!(reports[8]["format"].as_str(), Some("24-bit PCM AIFF"));

    let outputs = copies_in(&out, &inputs);
    let out_refs: Vec<&Path> = outputs.iter().map(PathBuf::as_path).collect();
    let (code, analyzed) = analyze_json(&out_refs, &[]);
    assert_eq!(code, 0, "{analyzed:?}");
    for (report, path) in analyzed.iter().zip(&outputs) {
        let tolerance = if path.ends_with("u8.wav") { 0.4 } else { 0.02 };
        assert_within(
            &path.display().to_string(),
            num(report, "rms_aes17_dbfs"),
            -18.0,
            tolerance,
            tolerance,
        );
        assert_within(
            "peak",
            num(report, "sample_peak_dbfs"),
            -18.0,
            tolerance,
            tolerance,
        );
        assert_eq!(report["sample_rate"].as_u64(), Some(48_000));
    }
    assert_eq!(analyzed[7]["channels"].as_u64(), Some(6));
    // The 5.1 mask survives: bytes 40..44 of a WAVE_FORMAT_EXTENSIBLE header hold it.
    let header = std::fs::read(&outputs[7]).unwrap();
    assert_eq!(u16::from_le_bytes([header[20], header[21]]), 0xfffe);
    assert_eq!(
        u32::from_le_bytes([header[40], header[41], header[42], header[43]]),
        0x60f
    );
    assert_eq!(
        u16::from_le_bytes([header[34], header[35]]),
        24,
        "bit depth kept"
    );
    assert!(hidden_files(&out).is_empty());
}

#[test]
fn fixed_gain_and_zero_gain() {
    let dir = temp_dir();
    let out = dir.path().join("out");
    let input = dir.path().join("a.wav");
    write_wav(
        &input,
        44_100,
        &stereo(tone(44_100, -10.0, 2.0)),
        Fmt::I16,
        None,
    );
    let (code, reports) = stage_json(&out, &[&input], &["--gain", "-6"]);
    assert_eq!(code, 0, "{reports:?}");
    let (_, analyzed) = analyze_json(&[&out.join("a.wav")], &[]);
    assert_within(
        "peak",
        num(&analyzed[0], "sample_peak_dbfs"),
        -16.0,
        0.01,
        0.01,
    );

    // 0 dB copies the samples unchanged: no dither, identical data.
    let (code, reports) = stage_json(&out, &[&input], &["--gain", "0", "--force"]);
    assert_eq!(code, 0);
    assert_eq!(reports[0]["dithered"], Value::Bool(false));
    assert_eq!(
        std::fs::read(&input).unwrap(),
        std::fs::read(out.join("a.wav")).unwrap()
    );
}

#[test]
fn dithered_output_is_reproducible() {
    let dir = temp_dir();
    let input = dir.path().join("a.wav");
    write_wav(
        &input,
        48_000,
        &stereo(tone(48_000, -40.0, 1.0)),
        Fmt::I16,
        None,
    );
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    assert_eq!(stage_json(&a, &[&input], &["--gain", "-3.3"]).0, 0);
    assert_eq!(stage_json(&b, &[&input], &["--gain", "-3.3"]).0, 0);
    let (x, y) = (
        std::fs::read(a.join("a.wav")).unwrap(),
        std::fs::read(b.join("a.wav")).unwrap(),
    );
    assert_eq!(x, y, "same seed, same bytes");
    // Dither is really there: the output is not the plain rounding of the scaled input.
    let gain = 10f64.powf(-3.3 / 20.0);
    let source = tone(48_000, -40.0, 1.0);
    let differs = source
        .iter()
        .enumerate()
        .filter(|(n, &s)| {
            let plain =
                ((f64::from((f64::from(s) * 32768.0).round() as f32) * gain).round()) as i16;
            let at = 44 + n * 4;
            i16::from_le_bytes([x[at], x[at + 1]]) != plain
        })
        .count();
    assert!(
        differs > source.len() / 10,
        "only {differs} samples differ from undithered rounding"
    );
}

#[test]
fn refusals_leave_files_alone() {
    let dir = temp_dir();
    let d = dir.path();
    let out = d.join("out");
    std::fs::create_dir(&out).unwrap();
    let input = d.join("tone.wav");
    write_wav(
        &input,
        48_000,
        &stereo(tone(48_000, -20.0, 1.0)),
        Fmt::I24,
        None,
    );
    let mp3 = d.join("tone.mp3");
    ffmpeg(&input, &mp3, &[]);
    let ogg = d.join("tone.ogg");
    ffmpeg(&input, &ogg, &["-c:a", "libvorbis"]);
    let silent = d.join("silent.wav");
    write_wav(&silent, 48_000, &stereo(vec![0.0; 48_000]), Fmt::I16, None);

    let (code, reports) = stage_json(&out, &[&mp3, &ogg, &silent], &[]);
    assert_eq!(code, 1);
    let errors: Vec<&str> = reports
        .iter()
        .map(|r| r["error"].as_str().unwrap())
        .collect();
    assert!(errors[0].contains("lossy"), "{}", errors[0]);
    assert!(errors[1].contains("lossy"), "{}", errors[1]);
    assert!(errors[2].contains("silent"), "{}", errors[2]);
    assert!(
        std::fs::read_dir(&out).unwrap().next().is_none(),
        "nothing written"
    );

    // An existing output is kept unless --force.
    let existing = out.join("tone.wav");
    std::fs::write(&existing, b"keep me").unwrap();
    let (code, reports) = stage_json(&out, &[&input], &[]);
    assert_eq!(code, 1);
    assert!(reports[0]["error"].as_str().unwrap().contains("exists"));
    assert_eq!(std::fs::read(&existing).unwrap(), b"keep me");
    let (code, _) = stage_json(&out, &[&input], &["--force"]);
    assert_eq!(code, 0);
    assert_ne!(std::fs::read(&existing).unwrap(), b"keep me");

    // Never onto an input, even with --force, also through a different spelling of the folder.
    let before = std::fs::read(&input).unwrap();
    let same_dir = d.join("out").join("..");
    let (code, reports) = stage_json(&same_dir, &[&input], &["--force", "--gain", "-1"]);
    assert_eq!(code, 1);
    assert!(
        reports[0]["error"].as_str().unwrap().contains("input"),
        "{reports:?}"
    );
    assert_eq!(std::fs::read(&input).unwrap(), before);

    // Two inputs with one name: the second is refused rather than overwriting the first's copy.
    let other_dir = d.join("other");
    std::fs::create_dir(&other_dir).unwrap();
    let twin = other_dir.join("tone.wav");
    std::fs::copy(&input, &twin).unwrap();
    let fresh = d.join("fresh");
    let (code, reports) = stage_json(&fresh, &[&input, &twin], &[]);
    assert_eq!(code, 1);
    assert_eq!(reports[0]["ok"], Value::Bool(true));
    assert!(reports[1]["error"]
        .as_str()
        .unwrap()
        .contains("same file name"));
    assert!(hidden_files(&out).is_empty() && hidden_files(&fresh).is_empty());
}

/// Where `stage --out out` puts the copies of `inputs`.
fn copies_in(out: &Path, inputs: &[PathBuf]) -> Vec<PathBuf> {
    inputs
        .iter()
        .map(|p| out.join(p.file_name().unwrap()))
        .collect()
}

/// The bit depth, channel count and sample rate a FLAC file's STREAMINFO declares.
fn flac_stream_info(path: &Path) -> (u32, u32, u32) {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(&bytes[..4], b"fLaC", "{}", path.display());
    // The first metadata block is STREAMINFO; its body starts after a 4-byte block header.
    let info = &bytes[8..8 + 34];
    let sample_rate =
        u32::from(info[10]) << 12 | u32::from(info[11]) << 4 | u32::from(info[12]) >> 4;
    let channels = u32::from((info[12] >> 1) & 7) + 1;
    let bits = (u32::from(info[12] & 1) << 4 | u32::from(info[13]) >> 4) + 1;
    (bits, channels, sample_rate)
}

#[test]
fn flac_stems_are_staged_as_flac_at_their_bit_depth() {
    let dir = temp_dir();
    let d = dir.path();
    let out = d.join("out");
    let sr = 48_000;
    let mut inputs = Vec::new();
    for (name, fmt, channels) in [
        ("s16", Fmt::I16, 2),
        ("s24", Fmt::I24, 2),
        ("surround24", Fmt::I24, 6),
    ] {
        let wav = d.join(format!("{name}.wav"));
        let mask = (channels == 6).then_some(0x60f);
        write_wav(&wav, sr, &vec![tone(sr, -30.0, 3.0); channels], fmt, mask);
        let flac = d.join(format!("{name}.flac"));
        ffmpeg(&wav, &flac, &[]);
        inputs.push(flac);
    }
    let refs: Vec<&Path> = inputs.iter().map(PathBuf::as_path).collect();
    let (code, reports) = stage_json(&out, &refs, &[]);
    assert_eq!(code, 0, "{reports:?}");
    for report in &reports {
        assert_within("gain", num(report, "gain_db"), 12.0, 0.02, 0.02);
        assert_eq!(report["dithered"], Value::Bool(true));
    }
    assert_eq!(reports[0]["format"].as_str(), Some("16-bit FLAC"));
    assert_eq!(reports[1]["format"].as_str(), Some("24-bit FLAC"));

    let outputs = copies_in(&out, &inputs);
    for (path, (bits, channels)) in outputs.iter().zip([(16, 2), (24, 2), (24, 6)]) {
        assert_eq!(flac_stream_info(path), (bits, channels, 48_000));
    }
    // Our decoder, and ffmpeg's (a second, independent FLAC decoder), read the target levels.
    let mut decoded = Vec::new();
    for path in &outputs {
        let wav = d.join(format!(
            "{}-ffmpeg.wav",
            path.file_stem().unwrap().to_string_lossy()
        ));
        ffmpeg(path, &wav, &["-c:a", "pcm_s24le"]);
        decoded.push(wav);
    }
    let all: Vec<&Path> = outputs
        .iter()
        .chain(&decoded)
        .map(PathBuf::as_path)
        .collect();
    let (code, analyzed) = analyze_json(&all, &[]);
    assert_eq!(code, 0, "{analyzed:?}");
    for (report, path) in analyzed.iter().zip(&all) {
        let what = path.display().to_string();
        assert_within(&what, num(report, "rms_aes17_dbfs"), -18.0, 0.02, 0.02);
        assert_within(&what, num(report, "sample_peak_dbfs"), -18.0, 0.02, 0.02);
    }
    assert_eq!(analyzed[2]["channels"].as_u64(), Some(6));

    // Lossless: the FLAC copy holds exactly the samples the WAV copy of the same source holds
    // (same gain, same seeded dither), as ffmpeg decodes them.
    let (code, reports) = stage_json(&out, &[&d.join("s16.wav")], &[]);
    assert_eq!(code, 0, "{reports:?}");
    let from_flac = d.join("s16-flac-as-s16.wav");
    ffmpeg(&outputs[0], &from_flac, &["-c:a", "pcm_s16le"]);
    let samples = |path: &Path| -> Vec<i32> {
        hound::WavReader::open(path)
            .unwrap()
            .into_samples::<i32>()
            .map(Result::unwrap)
            .collect()
    };
    let wav_samples = samples(&out.join("s16.wav"));
    assert_eq!(wav_samples.len(), 2 * 3 * 48_000);
    assert!(
        wav_samples == samples(&from_flac),
        "FLAC and WAV copies differ"
    );

    // A fixed gain that clips a FLAC stem: refused, nothing left behind.
    let clipped = d.join("clipped");
    let (code, reports) = stage_json(&clipped, &[&inputs[0]], &["--gain", "40"]);
    assert_eq!(code, 1);
    assert!(reports[0]["error"].as_str().unwrap().contains("clip"));
    assert!(!clipped.join("s16.flac").exists());
    assert!(hidden_files(&clipped).is_empty());
}

#[test]
fn clipping_is_refused_unless_allowed() {
    let dir = temp_dir();
    let out = dir.path().join("out");
    let input = dir.path().join("hot.wav");
    write_wav(
        &input,
        48_000,
        &stereo(tone(48_000, -3.0, 1.0)),
        Fmt::I16,
        None,
    );
    // A fixed gain that clips: refused, and no file or temporary file is left behind.
    let (code, reports) = stage_json(&out, &[&input], &["--gain", "6"]);
    assert_eq!(code, 1);
    assert!(reports[0]["error"].as_str().unwrap().contains("clip"));
    assert!(!out.join("hot.wav").exists());
    assert!(hidden_files(&out).is_empty());
    // A suggested trim that clips (ceiling above full scale): refused before writing.
    let (code, reports) = stage_json(&out, &[&input], &["--target", "1", "--ceiling", "6"]);
    assert_eq!(code, 1);
    assert!(reports[0]["error"].as_str().unwrap().contains("clip"));
    // Allowed: written, saturating at full scale.
    let (code, reports) = stage_json(&out, &[&input], &["--gain", "6", "--allow-clip"]);
    assert_eq!(code, 0, "{reports:?}");
    let (_, analyzed) = analyze_json(&[&out.join("hot.wav")], &[]);
    assert_within(
        "saturated",
        num(&analyzed[0], "sample_peak_dbfs"),
        0.0,
        0.01,
        0.0,
    );
}

#[test]
fn human_output_names_what_was_done() {
    let dir = temp_dir();
    let out = dir.path().join("out");
    let input = dir.path().join("a.wav");
    write_wav(
        &input,
        48_000,
        &stereo(tone(48_000, -24.0, 1.0)),
        Fmt::I24,
        None,
    );
    let run = run(&[
        OsString::from("stage"),
        "--out".into(),
        out.clone().into(),
        input.clone().into(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("+6.00 dB") && run.stdout.contains("24-bit PCM WAV"),
        "{}",
        run.stdout
    );
}
