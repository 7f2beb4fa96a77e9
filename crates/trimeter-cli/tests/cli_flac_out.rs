//! FLAC copies from `trimeter stage`: 24-bit stems under an address-space limit, no larger than
//! the PCM they hold, every rate our decoder reads (192 and 384 kHz included), 8 channels, and
//! bit-identical to the WAV copy of the same source as ffmpeg (an independent decoder) reads
//! them, and complete as our own decoder reads them.

#[path = "common/fixtures.rs"]
mod fixtures;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use fixtures::*;
use serde_json::Value;

/// Runs `trimeter stage --json --out out [extra] files`, under `ulimit -v KB` when given.
fn stage(out: &Path, files: &[&Path], extra: &[&str], limit_kb: Option<u64>) -> (i32, Vec<Value>) {
    let mut command = match limit_kb {
        Some(kb) => {
            let mut c = Command::new("sh");
            // `ulimit -v` caps the address space of the shell, which `exec` hands to trimeter.
            c.arg("-c")
                .arg(format!("ulimit -v {kb} && exec \"$0\" \"$@\""))
                .arg(bin());
            c
        }
        None => Command::new(bin()),
    };
    command.arg("stage").arg("--json").arg("--out").arg(out);
    command.args(extra).args(files);
    let output = command.output().expect("cannot start the trimeter binary");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    let parsed: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: exit {:?}, stdout {stdout:?} stderr {stderr:?}",
            output.status
        )
    });
    (
        output.status.code().unwrap_or(-1),
        parsed.as_array().expect("array").clone(),
    )
}

/// Independent white noise on each channel at `amplitude` (incompressible at 24 bits).
fn noise(channels: usize, frames: usize, amplitude: f32) -> Vec<Vec<f32>> {
    (0..channels)
        .map(|c| trimeter_meters::signals::white_noise(frames, amplitude, 0x5eed + c as u64))
        .collect()
}

/// Writes `planes` as a 24-bit WAV `NAME.wav` and a 24-bit FLAC `NAME.flac` (ffmpeg's encoder)
/// holding the same samples.
fn wav_and_flac(
    dir: &Path,
    name: &str,
    sample_rate: u32,
    planes: &[Vec<f32>],
) -> (PathBuf, PathBuf) {
    let wav = dir.join(format!("{name}.wav"));
    let mask = (planes.len() == 8).then_some(0x63f);
    write_wav(&wav, sample_rate, planes, Fmt::I24, mask);
    let flac = dir.join(format!("{name}.flac"));
    ffmpeg(&wav, &flac, &["-c:a", "flac"]);
    (wav, flac)
}

/// The interleaved samples of `path` as ffmpeg decodes them, as signed 24-bit PCM bytes.
fn ffmpeg_s24(path: &Path) -> Vec<u8> {
    let output = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(path)
        .args(["-f", "s24le", "-"])
        .output()
        .expect("ffmpeg is needed");
    assert!(
        output.status.success(),
        "ffmpeg cannot decode {}: {}",
        path.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// The bit depth, channel count, sample rate and total samples a FLAC file's STREAMINFO declares.
fn flac_stream_info(path: &Path) -> (u32, u32, u32, u64) {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(&bytes[..4], b"fLaC", "{}", path.display());
    let info = &bytes[8..8 + 34];
    let sample_rate =
        u32::from(info[10]) << 12 | u32::from(info[11]) << 4 | u32::from(info[12]) >> 4;
    let channels = u32::from((info[12] >> 1) & 7) + 1;
    let bits = (u32::from(info[12] & 1) << 4 | u32::from(info[13]) >> 4) + 1;
    let total = u64::from(info[13] & 0xf) << 32
        | u64::from(u32::from_be_bytes([info[14], info[15], info[16], info[17]]));
    (bits, channels, sample_rate, total)
}

/// Checks a staged FLAC copy against the WAV copy of the same source: STREAMINFO, size no larger
/// than the PCM it holds (plus 1 % and 8 KiB of framing), our decoder's frame count, and the
/// samples ffmpeg decodes.
fn check_copy(flac: &Path, wav: &Path, channels: u32, sample_rate: u32, frames: u64) {
    let what = flac.display().to_string();
    assert_eq!(
        flac_stream_info(flac),
        (24, channels, sample_rate, frames),
        "{what}"
    );
    let pcm_bytes = frames * u64::from(channels) * 3;
    let size = std::fs::metadata(flac).unwrap().len();
    assert!(
        size <= pcm_bytes + pcm_bytes / 100 + 8192,
        "{what}: {size} bytes for {pcm_bytes} bytes of PCM"
    );
    let (code, analyzed) = analyze_json(&[flac], &[]);
    assert_eq!(code, 0, "{analyzed:?}");
    assert_eq!(analyzed[0]["ok"], Value::Bool(true));
    assert_eq!(
        analyzed[0]["sample_rate"].as_u64(),
        Some(u64::from(sample_rate))
    );
    assert_within(
        &what,
        num(&analyzed[0], "duration_s"),
        frames as f64 / f64::from(sample_rate),
        1e-6,
        1e-6,
    );
    let (from_flac, from_wav) = (ffmpeg_s24(flac), ffmpeg_s24(wav));
    assert_eq!(
        from_flac.len() as u64,
        pcm_bytes,
        "{what}: ffmpeg decodes it all"
    );
    assert!(
        from_flac == from_wav,
        "{what}: the FLAC and WAV copies differ"
    );
}

#[test]
fn a_24_bit_flac_stages_under_an_address_space_limit() {
    let dir = temp_dir();
    let d = dir.path();
    let sr = 48_000;
    let frames = 30 * sr as usize;
    // 30 s of stereo noise at -12 dBFS (flacenc 0.5 asked for 2.19 GB here and aborted).
    let (wav, flac) = wav_and_flac(d, "noise", sr, &noise(2, frames, 0.25));
    let out = d.join("out");
    // 400 MB of address space: the copy must be streamed, never held whole.
    let (code, reports) = stage(&out, &[&flac, &wav], &["--gain", "-3"], Some(400_000));
    assert_eq!(code, 0, "{reports:?}");
    assert_eq!(reports[0]["format"].as_str(), Some("24-bit FLAC"));
    check_copy(
        &out.join("noise.flac"),
        &out.join("noise.wav"),
        2,
        sr,
        frames as u64,
    );
}

#[test]
fn flac_stems_at_high_rates_and_with_8_channels_stage_losslessly() {
    let dir = temp_dir();
    let d = dir.path();
    let out = d.join("out");
    let mut cases = Vec::new();
    // 192 and 384 kHz (above flacenc's 96 kHz limit), and 8 channels of noise (flacenc wrote
    // 484 MB for 4.2 MB of it).
    for (name, sr, channels, seconds) in [
        ("r192k", 192_000, 2, 1.0),
        ("r384k", 384_000, 2, 1.0),
        ("surround8", 48_000, 8, 2.0),
        ("r44k1", 44_100, 1, 1.5),
    ] {
        let frames = (seconds * f64::from(sr)) as usize;
        let (wav, flac) = wav_and_flac(d, name, sr, &noise(channels, frames, 0.25));
        cases.push((wav, flac, channels as u32, sr, frames as u64));
    }
    let files: Vec<&Path> = cases
        .iter()
        .flat_map(|(wav, flac, ..)| [flac.as_path(), wav.as_path()])
        .collect();
    let (code, reports) = stage(&out, &files, &["--gain", "-1.5"], None);
    assert_eq!(code, 0, "{reports:?}");
    for (wav, flac, channels, sr, frames) in &cases {
        let name = |p: &PathBuf| out.join(p.file_name().unwrap());
        check_copy(&name(flac), &name(wav), *channels, *sr, *frames);
    }
}

#[test]
fn a_16_bit_flac_still_stages_and_one_failing_file_is_its_own_error() {
    let dir = temp_dir();
    let d = dir.path();
    let sr = 44_100;
    let wav = d.join("tone16.wav");
    write_wav(&wav, sr, &stereo(tone(sr, -20.0, 2.0)), Fmt::I16, None);
    let flac = d.join("tone16.flac");
    ffmpeg(&wav, &flac, &[]);
    // A FLAC whose frames are cut short: the stage of this file fails, the others go on.
    let bytes = std::fs::read(&flac).unwrap();
    let broken = d.join("broken.flac");
    std::fs::write(&broken, &bytes[..bytes.len() / 2]).unwrap();
    let out = d.join("out");
    let files: Vec<&Path> = vec![&broken, &flac, &wav];
    let (code, reports) = stage(&out, &files, &["--gain", "-2"], None);
    assert_eq!(code, 1, "{reports:?}");
    assert_eq!(reports.len(), 3);
    assert_eq!(reports[0]["ok"], Value::Bool(false), "{reports:?}");
    assert!(reports[0]["error"].as_str().is_some());
    assert_eq!(reports[1]["ok"], Value::Bool(true), "{reports:?}");
    assert_eq!(reports[1]["format"].as_str(), Some("16-bit FLAC"));
    assert_eq!(reports[2]["ok"], Value::Bool(true), "{reports:?}");
    assert!(!out.join("broken.flac").exists());
    let run_ffmpeg = |path: &Path| -> Vec<u8> {
        let output = Command::new("ffmpeg")
            .args(["-v", "error", "-i"])
            .arg(path)
            .args(["-f", "s16le", "-"])
            .output()
            .unwrap();
        assert!(output.status.success());
        output.stdout
    };
    let from_flac = run_ffmpeg(&out.join("tone16.flac"));
    assert_eq!(from_flac.len(), 2 * 2 * 2 * sr as usize);
    assert!(from_flac == run_ffmpeg(&out.join("tone16.wav")));
    let names: Vec<OsString> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 2, "no temporary files: {names:?}");
}
