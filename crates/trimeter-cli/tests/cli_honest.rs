//! Honest readings (issue 7): channel masks kept through staging at every width, non-finite
//! samples counted and refused, `--vu-reference` validated, true-peak ceilings staged with the
//! precise true peak, FLAC written to a pipe decoded in full (and damage reported), duplicate
//! `fmt ` chunks, a gain-invariant VU average, and the small ones: FIFOs, control characters in
//! names, loudness of very short files.

#[path = "common/fixtures.rs"]
mod fixtures;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use fixtures::*;
use serde_json::Value;

/// WAVE channel mask bits.
const FRONT_CENTER: u32 = 0x4;
const LFE: u32 = 0x8;

/// `analyze --json` on one file; panics unless it exits 0.
fn analyze_one(path: &Path, extra: &[&str]) -> Value {
    let (code, reports) = analyze_json(&[path], extra);
    assert_eq!(code, 0, "analyze {} failed: {}", path.display(), reports[0]);
    reports[0].clone()
}

fn error_of(report: &Value) -> &str {
    report["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no error in {report}"))
}

/// A C+LFE stereo stem and a mono LFE stem keep their masks (and so their loudness) through
/// `stage`, at every sample width; before, 2-channel files of 16 bits or less and 2-channel float
/// were written without the mask (C+LFE went from -23 LUFS to the sum of both channels) and a mono
/// LFE stem gained a loudness.
#[test]
fn channel_masks_survive_staging_at_every_width() {
    let dir = temp_dir();
    let d = dir.path();
    let sr = 48_000;
    let mut inputs: Vec<(PathBuf, u32)> = Vec::new();
    for fmt in [Fmt::U8, Fmt::I16, Fmt::I24, Fmt::I32, Fmt::F32, Fmt::F64] {
        let pair = d.join(format!("c_lfe_{fmt:?}.wav"));
        // -20 dBFS in the centre, a louder tone in the LFE (which BS.1770 leaves out).
        write_wav(
            &pair,
            sr,
            &[tone(sr, -20.0, 3.0), tone(sr, -8.0, 3.0)],
            fmt,
            Some(FRONT_CENTER | LFE),
        );
        inputs.push((pair, FRONT_CENTER | LFE));
        let lfe = d.join(format!("lfe_{fmt:?}.wav"));
        write_wav(&lfe, sr, &[tone(sr, -10.0, 3.0)], fmt, Some(LFE));
        inputs.push((lfe, LFE));
    }
    let out = d.join("out");
    let refs: Vec<&Path> = inputs.iter().map(|(p, _)| p.as_path()).collect();
    let (code, reports) = stage_json(&out, &refs, &["--gain", "0"]);
    assert_eq!(code, 0, "{reports:?}");
    for (input, mask) in &inputs {
        let copy = out.join(input.file_name().unwrap());
        let header = wav_fmt(&copy);
        assert_eq!(
            header.mask,
            Some(*mask),
            "{}: the copy's header {header:?} lost the mask",
            copy.display()
        );
        for path in [input, &copy] {
            let report = analyze_one(path, &[]);
            if *mask == LFE {
                assert!(
                    report["integrated_lufs"].is_null(),
                    "{}: an LFE-only stem has no loudness: {report}",
                    path.display()
                );
            } else {
                // A -20 dBFS 1 kHz sine in one weighted channel reads -23.0 LUFS.
                assert_within(
                    &path.display().to_string(),
                    num(&report, "integrated_lufs"),
                    -23.0,
                    0.1,
                    0.1,
                );
            }
        }
    }
}

/// NaN and infinity are counted (`non_finite_samples`, also in the table), warned about on stderr,
/// never pass as clean silence, and `stage` refuses them unless `--allow-non-finite`, which
/// writes them as zero.
#[test]
fn non_finite_samples_are_counted_warned_and_refused_by_stage() {
    let dir = temp_dir();
    let d = dir.path();
    let sr = 48_000;
    // A file of nothing but +inf, -inf and NaN.
    let junk = d.join("junk.wav");
    let bad: Vec<f32> = (0..sr as usize)
        .map(|i| [f32::INFINITY, f32::NAN, f32::NEG_INFINITY][i % 3])
        .collect();
    write_wav(&junk, sr, &stereo(bad), Fmt::F32, None);
    // A -20 dBFS tone with one +inf sample.
    let spiked = d.join("spiked.wav");
    let mut signal = tone(sr, -20.0, 3.0);
    signal[sr as usize] = f32::INFINITY;
    write_wav(
        &spiked,
        sr,
        &[signal.clone(), tone(sr, -20.0, 3.0)],
        Fmt::F32,
        None,
    );
    let clean = d.join("clean.wav");
    write_wav(&clean, sr, &stereo(tone(sr, -20.0, 3.0)), Fmt::F32, None);

    let run_json = run(&[
        "analyze".as_ref(),
        "--json".as_ref(),
        junk.as_os_str(),
        spiked.as_os_str(),
        clean.as_os_str(),
    ]);
    assert_eq!(run_json.code, 0, "{}", run_json.stderr);
    let reports: Vec<Value> = serde_json::from_str(&run_json.stdout).unwrap();
    assert_eq!(reports[0]["ok"], Value::Bool(true));
    assert_eq!(reports[0]["non_finite_samples"].as_u64(), Some(2 * 48_000));
    assert_eq!(reports[1]["non_finite_samples"].as_u64(), Some(1));
    assert_eq!(reports[2]["non_finite_samples"].as_u64(), Some(0));
    assert_within(
        "spiked trim",
        num(&reports[1], "suggested_trim_db"),
        2.0,
        0.05,
        0.05,
    );
    for (path, count) in [
        (&junk, "96000 non-finite samples"),
        (&spiked, "1 non-finite sample"),
    ] {
        assert!(
            run_json.stderr.lines().any(|l| l.starts_with("warning:")
                && l.contains(path.to_str().unwrap())
                && l.contains(count)),
            "no warning for {}: {:?}",
            path.display(),
            run_json.stderr
        );
    }
    assert!(
        !run_json.stderr.contains("clean.wav"),
        "no warning for a clean file: {}",
        run_json.stderr
    );
    // The table has the count too.
    let table = run(&["analyze".as_ref(), junk.as_os_str(), clean.as_os_str()]);
    let header = table.stdout.lines().next().unwrap_or_default();
    assert!(header.contains("non-finite"), "{}", table.stdout);
    let junk_row = table
        .stdout
        .lines()
        .find(|l| l.contains("junk.wav"))
        .unwrap();
    assert!(
        junk_row.split_whitespace().any(|c| c == "96000"),
        "{junk_row}"
    );

    // stage: refused with that reason, by the suggested trim and by --gain, nothing written.
    let out = d.join("out");
    let (code, reports) = stage_json(&out, &[&spiked, &junk], &[]);
    assert_eq!(code, 1);
    for report in &reports {
        assert_eq!(report["ok"], Value::Bool(false), "{report}");
        let error = error_of(report);
        assert!(
            error.contains("NaN or infinite") && error.contains("--allow-non-finite"),
            "{error}"
        );
    }
    let (code, reports) = stage_json(&out, &[&spiked], &["--gain", "-3"]);
    assert_eq!(code, 1);
    assert!(error_of(&reports[0]).contains("--allow-non-finite"));
    assert!(
        std::fs::read_dir(&out).map_or(true, |mut e| e.next().is_none()),
        "nothing may be written"
    );
    // With --allow-non-finite the copy has zeros in their place and reaches the target.
    let (code, reports) = stage_json(&out, &[&spiked], &["--allow-non-finite"]);
    assert_eq!(code, 0, "{reports:?}");
    let copy = analyze_one(&out.join("spiked.wav"), &[]);
    assert_eq!(copy["non_finite_samples"].as_u64(), Some(0));
    assert_within(
        "copy peak",
        num(&copy, "sample_peak_dbfs"),
        -18.0,
        0.05,
        0.05,
    );
    let (code, _) = stage_json(&out, &[&junk], &["--allow-non-finite", "--gain", "0"]);
    assert_eq!(code, 0);
    let copy = analyze_one(&out.join("junk.wav"), &[]);
    assert_eq!(copy["non_finite_samples"].as_u64(), Some(0));
    assert!(copy["sample_peak_dbfs"].is_null(), "zeros: {copy}");
}

/// `--vu-reference` takes the meters' own range (`VU_REFERENCE_RANGE_DBFS`, -40 to 0 dBFS), is
/// used as given inside it, and is a usage error outside it (never a silent clamp).
#[test]
fn vu_reference_is_validated_and_used_as_given() {
    let dir = temp_dir();
    let sr = 48_000;
    let path = dir.path().join("minus30.wav");
    write_wav(&path, sr, &stereo(tone(sr, -30.0, 5.0)), Fmt::F32, None);
    let report = analyze_one(&path, &["--vu-reference", "-30"]);
    assert_within("0 VU at -30 dBFS", num(&report, "vu_max"), 0.0, 0.2, 0.2);
    let report = analyze_one(
        &path,
        &[
            "--vu-reference",
            "-30",
            "--average",
            "vu",
            "--target",
            "-18",
        ],
    );
    assert_within("vu trim", num(&report, "suggested_trim_db"), 12.0, 0.2, 0.2);
    let range = trimeter_meters::vu::VU_REFERENCE_RANGE_DBFS;
    for edge in [*range.start(), *range.end()] {
        let report = analyze_one(&path, &["--vu-reference", &edge.to_string()]);
        assert_within(
            "edge",
            num(&report, "vu_max"),
            -30.0 - f64::from(edge),
            0.2,
            0.2,
        );
    }
    for bad in ["-40.5", "0.5", "-200", "200", "nan", "inf"] {
        let result = run(&[
            "analyze".as_ref(),
            "--vu-reference".as_ref(),
            bad.as_ref(),
            path.as_os_str(),
        ]);
        assert_eq!(result.code, 2, "--vu-reference {bad}: {}", result.stderr);
        assert!(
            result.stderr.contains("-40") && result.stdout.is_empty(),
            "--vu-reference {bad}: {}",
            result.stderr
        );
    }
}

/// Staging to a true-peak ceiling uses the precise true peak. The Standard (BS.1770 Annex 2)
/// meter under-reads an isolated crest near 20 kHz at 44.1 kHz (here by 0.28 dB; up to 2.5 dB in
/// the worst case), and a copy staged with it went that far over the ceiling. `--true-peak`
/// chooses what `analyze` reports, and the JSON says which.
#[test]
fn true_peak_ceiling_staging_uses_the_precise_true_peak() {
    let dir = temp_dir();
    let d = dir.path();
    let sr = 44_100;
    // A 19 kHz burst with a Gaussian envelope (500 Hz wide, so band-limited below Nyquist) whose
    // crest lies halfway between two samples: its true peak is -10.000 dBTP (checked by sinc
    // reconstruction at 128x), its sample peak -10.28 dBFS.
    let amplitude = 10f64.powf(-10.0 / 20.0);
    let sigma_s = 1.0 / (std::f64::consts::TAU * 500.0);
    let crest = f64::from(sr / 2) + 0.5;
    let burst: Vec<f32> = (0..sr)
        .map(|n| {
            let t = (f64::from(n) - crest) / f64::from(sr);
            let envelope = (-0.5 * (t / sigma_s).powi(2)).exp();
            (amplitude * envelope * (std::f64::consts::TAU * 19_000.0 * t).cos()) as f32
        })
        .collect();
    let path = d.join("air.wav");
    write_wav(&path, sr, &stereo(burst), Fmt::F32, None);

    let standard = analyze_one(&path, &[]);
    assert_eq!(standard["true_peak_mode"].as_str(), Some("standard"));
    let standard_tp = num(&standard, "true_peak_dbtp");
    assert!(
        standard_tp < -10.2,
        "the Standard meter under-reads here: {standard_tp}"
    );
    let precise = analyze_one(&path, &["--true-peak", "precise"]);
    assert_eq!(precise["true_peak_mode"].as_str(), Some("precise"));
    assert_within(
        "precise",
        num(&precise, "true_peak_dbtp"),
        -10.0,
        0.02,
        0.02,
    );

    // The ceiling limits: the trim is ceiling - true peak = +4 dB, whichever mode is reported.
    let options = ["--peak", "true", "--ceiling", "-6", "--target", "0"];
    for mode in ["standard", "precise"] {
        let mut extra = options.to_vec();
        extra.extend(["--true-peak", mode]);
        let report = analyze_one(&path, &extra);
        assert_within(mode, num(&report, "suggested_trim_db"), 4.0, 0.1, 0.1);
    }
    let out = d.join("out");
    let (code, reports) = stage_json(&out, &[&path], &options);
    assert_eq!(code, 0, "{reports:?}");
    let gain = num(&reports[0], "gain_db");
    // The copy's true peak is exactly -10 + gain dBTP: within 0.1 dB of the ceiling.
    assert_within("copy true peak", -10.0 + gain, -6.0, 0.1, 0.1);
    let copy = analyze_one(&out.join("air.wav"), &["--true-peak", "precise"]);
    assert_within("copy precise", num(&copy, "true_peak_dbtp"), -6.0, 0.1, 0.1);
}

/// A FLAC written to a pipe (total samples 0 and no MD5 in STREAMINFO) decodes in full, and a
/// damaged or cut-off one is an error (before, it decoded short with exit 0, and `stage` wrote
/// the shortened copy).
#[test]
fn flac_from_a_pipe_decodes_in_full_and_damage_is_an_error() {
    let dir = temp_dir();
    let d = dir.path();
    let sr = 48_000;
    let wav = d.join("tone.wav");
    write_wav(&wav, sr, &stereo(tone(sr, -20.0, 0.25)), Fmt::I16, None);
    let piped = d.join("piped.flac");
    ffmpeg_pipe(&wav, &piped, &["-f", "flac"]);
    let bytes = std::fs::read(&piped).unwrap();
    // STREAMINFO's total sample count (the low 36 bits of bytes 21..26) is 0.
    assert_eq!(&bytes[..4], b"fLaC");
    assert_eq!(bytes[21] & 0x0f, 0);
    assert_eq!(&bytes[22..26], &[0, 0, 0, 0], "ffmpeg wrote a sample count");
    let report = analyze_one(&piped, &[]);
    assert_eq!(num(&report, "duration_s"), 0.25, "{report}");

    let n = bytes.len();
    let mut damaged = Vec::new();
    let cut = d.join("cut.flac");
    std::fs::write(&cut, &bytes[..n - 50]).unwrap();
    damaged.push(cut);
    // The frames start after the metadata blocks (ffmpeg pads them to several kB).
    let mut frames_start = 4;
    loop {
        let header = &bytes[frames_start..frames_start + 4];
        frames_start += 4 + u32::from_be_bytes([0, header[1], header[2], header[3]]) as usize;
        if header[0] & 0x80 != 0 {
            break;
        }
    }
    let middle = (frames_start + n) / 2;
    for (name, at) in [
        ("bad_first.flac", frames_start + 20),
        ("bad_middle.flac", middle),
        ("bad_end.flac", n - 100),
    ] {
        let mut copy = bytes.clone();
        copy[at] ^= 0xff;
        let path = d.join(name);
        std::fs::write(&path, copy).unwrap();
        damaged.push(path);
    }
    let refs: Vec<&Path> = damaged.iter().map(PathBuf::as_path).collect();
    let (code, reports) = analyze_json(&refs, &[]);
    assert_eq!(code, 1);
    for report in &reports {
        assert_eq!(report["ok"], Value::Bool(false), "{report}");
        let error = error_of(report);
        assert!(
            error.contains("corrupt") || error.contains("truncated"),
            "{error}"
        );
    }
    let out = d.join("out");
    let (code, reports) = stage_json(&out, &refs, &["--gain", "-1"]);
    assert_eq!(code, 1);
    assert!(
        reports.iter().all(|r| r["ok"] == Value::Bool(false)),
        "{reports:?}"
    );
    assert!(
        std::fs::read_dir(&out).map_or(true, |mut e| e.next().is_none()),
        "no shortened copy may be written"
    );
    // The intact piped file stages in full.
    let (code, reports) = stage_json(&out, &[&piped], &["--gain", "-1"]);
    assert_eq!(code, 0, "{reports:?}");
    let copy = analyze_one(&out.join("piped.flac"), &[]);
    assert_eq!(num(&copy, "duration_s"), 0.25, "{copy}");
}

/// A WAV with two `fmt ` chunks is read with the first, as ffmpeg does (before, the last one
/// won: a 48 kHz stereo 16-bit file read as 8 kHz mono float, peak +770 dBFS).
#[test]
fn duplicate_fmt_chunks_take_the_first() {
    let dir = temp_dir();
    let sr = 48_000;
    let mut bytes = wav_bytes(sr, &stereo(tone(sr, -20.0, 1.0)), Fmt::I16, None);
    // A second fmt chunk, 8 kHz mono 32-bit float, right after the first (which ends at 36).
    let mut second = Vec::new();
    second.extend_from_slice(b"fmt ");
    second.extend_from_slice(&16u32.to_le_bytes());
    second.extend_from_slice(&3u16.to_le_bytes());
    second.extend_from_slice(&1u16.to_le_bytes());
    second.extend_from_slice(&8_000u32.to_le_bytes());
    second.extend_from_slice(&32_000u32.to_le_bytes());
    second.extend_from_slice(&4u16.to_le_bytes());
    second.extend_from_slice(&32u16.to_le_bytes());
    assert_eq!(&bytes[36..40], b"data");
    bytes.splice(36..36, second);
    let riff = (bytes.len() - 8) as u32;
    bytes[4..8].copy_from_slice(&riff.to_le_bytes());
    let path = dir.path().join("two_fmt.wav");
    std::fs::write(&path, bytes).unwrap();
    let report = analyze_one(&path, &[]);
    assert_eq!(report["sample_rate"].as_u64(), Some(48_000), "{report}");
    assert_eq!(report["channels"].as_u64(), Some(2));
    assert_within("duration", num(&report, "duration_s"), 1.0, 1e-9, 1e-9);
    assert_within("peak", num(&report, "sample_peak_dbfs"), -20.0, 0.01, 0.01);
}

/// `--average vu` is gain-invariant: analyzing a staged copy with the same options suggests
/// 0.0 +-0.05 dB, as rms and lufs do (before, the -20 VU floor was absolute, so what was averaged
/// moved with the gain and copies still needed -0.25 to -0.31 dB).
#[test]
fn vu_average_of_a_staged_copy_needs_no_further_trim() {
    let dir = temp_dir();
    let d = dir.path();
    let sr = 48_000;
    // Phrases at several levels with gaps: the pointer rises and falls through the whole scale.
    let mut phrases = Vec::new();
    for (i, level) in [-24.0, -31.0, -16.0, -27.0, -36.0, -20.0, -29.0, -22.0]
        .into_iter()
        .enumerate()
    {
        phrases.push((Some(level), 0.4 + 0.15 * i as f64));
        phrases.push((None, 0.25 + 0.1 * (i % 3) as f64));
    }
    let signal = tones(sr, &phrases);
    let inputs = [d.join("phrases_f32.wav"), d.join("phrases_i24.wav")];
    write_wav(&inputs[0], sr, &stereo(signal.clone()), Fmt::F32, None);
    write_wav(&inputs[1], sr, &stereo(signal), Fmt::I24, None);
    for target in ["-20", "-10", "-30"] {
        let options = ["--average", "vu", "--target", target, "--ceiling", "0"];
        let out = d.join(format!("out{target}"));
        let refs: Vec<&Path> = inputs.iter().map(PathBuf::as_path).collect();
        let (code, reports) = stage_json(&out, &refs, &options);
        assert_eq!(code, 0, "{reports:?}");
        for input in &inputs {
            let before = num(&analyze_one(input, &options), "suggested_trim_db");
            assert!(before.abs() > 1.0, "the test needs a real trim: {before}");
            let copy = out.join(input.file_name().unwrap());
            let after = num(&analyze_one(&copy, &options), "suggested_trim_db");
            assert_within(
                &format!("{} at {target}", copy.display()),
                after,
                0.0,
                0.05,
                0.05,
            );
        }
    }
}

/// Runs `trimeter` with a deadline, killing it if it hangs.
fn run_with_deadline(args: &[&std::ffi::OsStr], deadline: Duration) -> Option<Run> {
    let mut child = Command::new(bin())
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start trimeter");
    let start = Instant::now();
    loop {
        if child.try_wait().expect("wait").is_some() {
            let out = child.wait_with_output().expect("output");
            return Some(Run {
                code: out.status.code().unwrap_or(-1),
                stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
                stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            });
        }
        if start.elapsed() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A FIFO is "not a regular file" (before: "empty file (0 bytes)", or a hang when nothing
/// writes to it), control characters in names are escaped in the table, and files shorter
/// than one 400 ms loudness block show "undefined" loudness in the table, not "-inf" (which
/// means silence); JSON keeps null.
#[test]
fn fifos_control_characters_and_short_files_read_honestly() {
    let dir = temp_dir();
    let d = dir.path();
    let sr = 48_000;
    #[cfg(unix)]
    {
        let fifo = d.join("pipe.wav");
        let made = Command::new("mkfifo").arg(&fifo).status();
        if made.is_ok_and(|s| s.success()) {
            let result = run_with_deadline(
                &["analyze".as_ref(), "--json".as_ref(), fifo.as_os_str()],
                Duration::from_secs(20),
            )
            .expect("analyze must not wait for a writer on a FIFO");
            assert_eq!(result.code, 1, "{}", result.stderr);
            let reports: Vec<Value> = serde_json::from_str(&result.stdout).unwrap();
            assert!(
                error_of(&reports[0]).contains("not a regular file"),
                "{}",
                reports[0]
            );
            let out = d.join("fifo_out");
            let result = run_with_deadline(
                &[
                    "stage".as_ref(),
                    "--gain".as_ref(),
                    "0".as_ref(),
                    "--out".as_ref(),
                    out.as_os_str(),
                    fifo.as_os_str(),
                ],
                Duration::from_secs(20),
            )
            .expect("stage must not wait for a writer on a FIFO");
            assert_eq!(result.code, 1);
            assert!(
                result.stdout.contains("not a regular file"),
                "{}",
                result.stdout
            );
        } else {
            eprintln!("skipped the FIFO case: mkfifo is not available");
        }
    }

    let odd = d.join("bad\nname\t\u{1b}[31m.wav");
    write_wav(&odd, sr, &stereo(tone(sr, -20.0, 1.0)), Fmt::I16, None);
    let short = d.join("short.wav");
    write_wav(&short, sr, &stereo(tone(sr, -20.0, 0.3)), Fmt::I16, None);
    let table = run(&["analyze".as_ref(), odd.as_os_str(), short.as_os_str()]);
    assert_eq!(table.code, 0, "{}", table.stderr);
    assert!(!table.stdout.contains('\u{1b}') && !table.stdout.contains('\t'));
    assert_eq!(table.stdout.lines().count(), 3, "{:?}", table.stdout);
    assert!(
        table.stdout.contains(r"bad\nname\t\u{1b}[31m.wav"),
        "{:?}",
        table.stdout
    );
    let short_row = table
        .stdout
        .lines()
        .find(|l| l.contains("short.wav"))
        .unwrap();
    assert!(
        short_row.contains("undefined") && !short_row.contains("-inf"),
        "{short_row}"
    );
    let report = analyze_one(&short, &[]);
    assert!(report["integrated_lufs"].is_null() && report["momentary_max_lufs"].is_null());
    // A longer file still prints its loudness.
    let odd_row = table.stdout.lines().find(|l| l.contains("bad")).unwrap();
    assert!(!odd_row.contains("undefined"), "{odd_row}");
}
