//! Shared helpers for the CLI tests: run the `trimeter` binary, write WAV fixtures by hand
//! (every PCM/float width, WAVE_FORMAT_EXTENSIBLE with a channel mask), and convert fixtures to
//! other formats with ffmpeg.
//!
//! Included with `#[path = "common/fixtures.rs"] mod fixtures;` so it is not a test crate itself.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// The binary under test.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_trimeter"))
}

/// What a run of the binary gave.
pub struct Run {
    /// The exit code (-1 when killed by a signal).
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// Runs `trimeter` with `args`.
pub fn run<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Run {
    let out = Command::new(bin())
        .args(args)
        .output()
        .expect("cannot start the trimeter binary");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs `trimeter` with `args` (which ask for `--json`) and parses the array it prints. Panics
/// (with stderr) when the output is not JSON or the process printed a panic.
fn run_json(args: &[std::ffi::OsString]) -> (i32, Vec<Value>) {
    let run = run(args);
    assert!(
        !run.stderr.contains("panicked"),
        "the binary panicked: {}",
        run.stderr
    );
    let parsed: Value = serde_json::from_str(&run.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): stdout {:?} stderr {:?}",
            run.stdout, run.stderr
        )
    });
    (run.code, parsed.as_array().expect("a JSON array").clone())
}

/// Runs `trimeter analyze --json [extra] files` and parses the array. Panics (with stderr) when
/// the output is not JSON or the process printed a panic.
pub fn analyze_json(files: &[&Path], extra: &[&str]) -> (i32, Vec<Value>) {
    let mut args: Vec<std::ffi::OsString> = vec!["analyze".into(), "--json".into()];
    args.extend(extra.iter().map(|a| a.into()));
    args.extend(files.iter().map(|f| f.as_os_str().to_owned()));
    let (code, array) = run_json(&args);
    assert_eq!(array.len(), files.len(), "one object per file");
    (code, array)
}

/// A number field, panicking with the object when it is missing or null.
pub fn num(obj: &Value, key: &str) -> f64 {
    obj.get(key)
        .and_then(Value::as_f64)
        .unwrap_or_else(|| panic!("field {key} is not a number in {obj}"))
}

/// Asserts `actual` lies in `[expected - below, expected + above]`.
#[track_caller]
pub fn assert_within(what: &str, actual: f64, expected: f64, below: f64, above: f64) {
    assert!(
        actual >= expected - below && actual <= expected + above,
        "{what}: {actual} not within {expected} -{below}/+{above}"
    );
}

/// Sample coding of a fixture.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fmt {
    /// Unsigned 8-bit.
    U8,
    /// Signed 16-bit.
    I16,
    /// Signed 24-bit.
    I24,
    /// Signed 32-bit.
    I32,
    /// 32-bit float.
    F32,
    /// 64-bit float.
    F64,
}

impl Fmt {
    fn bits(self) -> u16 {
        match self {
            Fmt::U8 => 8,
            Fmt::I16 => 16,
            Fmt::I24 => 24,
            Fmt::I32 => 32,
            Fmt::F32 => 32,
            Fmt::F64 => 64,
        }
    }
    fn is_float(self) -> bool {
        matches!(self, Fmt::F32 | Fmt::F64)
    }
}

/// Writes a WAV file from planar samples. With `mask`, the header is WAVE_FORMAT_EXTENSIBLE with
/// that channel mask; without, a plain PCM (tag 1) or IEEE float (tag 3) header.
pub fn write_wav(
    path: &Path,
    sample_rate_hz: u32,
    planes: &[Vec<f32>],
    fmt: Fmt,
    mask: Option<u32>,
) {
    let bytes = wav_bytes(sample_rate_hz, planes, fmt, mask);
    std::fs::write(path, bytes).expect("write fixture");
}

/// The bytes of a WAV file (see [`write_wav`]).
pub fn wav_bytes(sample_rate_hz: u32, planes: &[Vec<f32>], fmt: Fmt, mask: Option<u32>) -> Vec<u8> {
    let channels = planes.len() as u16;
    let frames = planes.first().map_or(0, Vec::len);
    let bits = fmt.bits();
    let block_align = channels * bits / 8;
    let mut data = Vec::with_capacity(frames * usize::from(block_align));
    for frame in 0..frames {
        for plane in planes {
            let x = f64::from(plane[frame]);
            let int = |scale: f64| (x * scale).round().clamp(-scale, scale - 1.0) as i64;
            match fmt {
                Fmt::U8 => data.push((int(128.0) + 128) as u8),
                Fmt::I16 => data.extend_from_slice(&(int(32768.0) as i16).to_le_bytes()),
                Fmt::I24 => data.extend_from_slice(&(int(8_388_608.0) as i32).to_le_bytes()[..3]),
                Fmt::I32 => data.extend_from_slice(&(int(2_147_483_648.0) as i32).to_le_bytes()),
                Fmt::F32 => data.extend_from_slice(&(x as f32).to_le_bytes()),
                Fmt::F64 => data.extend_from_slice(&x.to_le_bytes()),
            }
        }
    }
    let mut fmt_chunk = Vec::new();
    let tag: u16 = if mask.is_some() {
        0xfffe
    } else if fmt.is_float() {
        3
    } else {
        1
    };
    fmt_chunk.extend_from_slice(&tag.to_le_bytes());
    fmt_chunk.extend_from_slice(&channels.to_le_bytes());
    fmt_chunk.extend_from_slice(&sample_rate_hz.to_le_bytes());
    fmt_chunk.extend_from_slice(&(sample_rate_hz * u32::from(block_align)).to_le_bytes());
    fmt_chunk.extend_from_slice(&block_align.to_le_bytes());
    fmt_chunk.extend_from_slice(&bits.to_le_bytes());
    if let Some(mask) = mask {
        fmt_chunk.extend_from_slice(&22u16.to_le_bytes());
        fmt_chunk.extend_from_slice(&bits.to_le_bytes());
        fmt_chunk.extend_from_slice(&mask.to_le_bytes());
        let sub: u16 = if fmt.is_float() { 3 } else { 1 };
        fmt_chunk.extend_from_slice(&sub.to_le_bytes());
        fmt_chunk.extend_from_slice(&[0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0xaa, 0, 0x38, 0x9b, 0x71]);
    }
    let mut out = Vec::new();
    out.extend_from_slice(b"RIFF");
    let riff_size = 4 + 8 + fmt_chunk.len() + 8 + data.len() + data.len() % 2;
    out.extend_from_slice(&(riff_size as u32).to_le_bytes());
    out.extend_from_slice(b"WAVE");
    out.extend_from_slice(b"fmt ");
    out.extend_from_slice(&(fmt_chunk.len() as u32).to_le_bytes());
    out.extend_from_slice(&fmt_chunk);
    out.extend_from_slice(b"data");
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out.extend_from_slice(&data);
    if data.len() % 2 == 1 {
        out.push(0);
    }
    out
}

/// The same signal on both channels.
pub fn stereo(signal: Vec<f32>) -> Vec<Vec<f32>> {
    vec![signal.clone(), signal]
}

/// A 1 kHz sine at `peak_dbfs` for `seconds` (phase 0), as the Tech 3341 tones are.
pub fn tone(sample_rate_hz: u32, peak_dbfs: f64, seconds: f64) -> Vec<f32> {
    trimeter_meters::signals::sine(f64::from(sample_rate_hz), 1000.0, peak_dbfs, seconds, 0.0)
}

/// Concatenated 1 kHz tone segments `(peak_dbfs, seconds)`; `None` as a level is silence.
pub fn tones(sample_rate_hz: u32, segments: &[(Option<f64>, f64)]) -> Vec<f32> {
    let sr = f64::from(sample_rate_hz);
    let mut out = Vec::new();
    for &(level, seconds) in segments {
        match level {
            Some(db) => out.extend(trimeter_meters::signals::sine(sr, 1000.0, db, seconds, 0.0)),
            None => out.extend(trimeter_meters::signals::silence(sr, seconds)),
        }
    }
    out
}

/// Runs ffmpeg to convert `input` into `output` with extra output options. Panics with a clear
/// message when ffmpeg is missing: these fixtures (AIFF, FLAC, MP3, Ogg Vorbis) need it, and CI
/// installs it.
pub fn ffmpeg(input: &Path, output: &Path, options: &[&str]) {
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-i"])
        .arg(input)
        .args(options)
        .arg(output)
        .status()
        .unwrap_or_else(|e| panic!("ffmpeg is needed to create AIFF/FLAC/MP3/Ogg fixtures: {e}"));
    assert!(
        status.success(),
        "ffmpeg failed to create {}",
        output.display()
    );
}

/// A fresh temporary folder.
pub fn temp_dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temporary folder")
}

/// The numeric whole-file figures.
pub const SUMMARY_FIELDS: [&str; 13] = [
    "sample_peak_dbfs",
    "true_peak_dbtp",
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
    "duration_s",
];

/// Runs ffmpeg to convert `input` with extra output options and writes what it prints to
/// `pipe:` into `output`: what a pipe or a streaming recorder gets (a FLAC without its total
/// sample count or MD5, a WAV without its sizes).
pub fn ffmpeg_pipe(input: &Path, output: &Path, options: &[&str]) {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-i"])
        .arg(input)
        .args(options)
        .arg("pipe:")
        .output()
        .unwrap_or_else(|e| panic!("ffmpeg is needed for the pipe fixtures: {e}"));
    assert!(
        out.status.success(),
        "ffmpeg failed to write {} to a pipe: {}",
        output.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(output, out.stdout).expect("write the piped fixture");
}

/// Entries of `dir` whose names start with a dot (temporary files left behind).
pub fn hidden_files(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .collect()
}

/// Runs `trimeter stage --json --out out [extra] files`, returning the exit code and the array.
pub fn stage_json(out: &Path, files: &[&Path], extra: &[&str]) -> (i32, Vec<Value>) {
    let mut args: Vec<std::ffi::OsString> =
        vec!["stage".into(), "--json".into(), "--out".into(), out.into()];
    args.extend(extra.iter().map(|a| a.into()));
    args.extend(files.iter().map(|f| f.as_os_str().to_owned()));
    run_json(&args)
}

/// What a WAV file's first `fmt ` chunk says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WavFmt {
    /// The format tag (1 PCM, 3 float, 0xfffe WAVE_FORMAT_EXTENSIBLE).
    pub tag: u16,
    /// Channel count.
    pub channels: u16,
    /// Sample rate in Hz.
    pub sample_rate_hz: u32,
    /// Bits per sample.
    pub bits: u16,
    /// The channel mask (WAVE_FORMAT_EXTENSIBLE only).
    pub mask: Option<u32>,
}

/// Reads the first `fmt ` chunk of the WAV file at `path`.
pub fn wav_fmt(path: &Path) -> WavFmt {
    let bytes = std::fs::read(path).expect("read the WAV");
    assert_eq!(
        &bytes[..4],
        b"RIFF",
        "{} is not a RIFF file",
        path.display()
    );
    let mut pos = 12;
    while pos + 8 <= bytes.len() {
        let size = u32::from_le_bytes(bytes[pos + 4..pos + 8].try_into().unwrap()) as usize;
        if &bytes[pos..pos + 4] == b"fmt " {
            let f = &bytes[pos + 8..pos + 8 + size];
            let u16_at = |i: usize| u16::from_le_bytes([f[i], f[i + 1]]);
            let tag = u16_at(0);
            return WavFmt {
                tag,
                channels: u16_at(2),
                sample_rate_hz: u32::from_le_bytes(f[4..8].try_into().unwrap()),
                bits: u16_at(14),
                mask: (tag == 0xfffe && size >= 24)
                    .then(|| u32::from_le_bytes(f[20..24].try_into().unwrap())),
            };
        }
        pos += 8 + size + size % 2;
    }
    panic!("no fmt chunk in {}", path.display());
}
