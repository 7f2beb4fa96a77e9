//! `trimeter stage`: write trimmed copies of files into a folder.
//!
//! Per file: decide the output format (or refuse), check the output name (never an input file,
//! by device and inode; nothing existing without `--force`), decide the gain (`--gain`, or the
//! suggested trim from an analysis pass), refuse results that would clip, then decode again at
//! 64-bit precision, apply the gain, dither to integer PCM, and write to a hidden temporary file
//! in the output folder. The temporary file is created exclusively under a short random name
//! (`.trimeter-XXXXXX.EXT`), so nothing already there, a symbolic link included, is ever opened
//! or followed. The finished copy is decoded back and compared with what was written
//! ([`verify_copy`]) before it is renamed onto the final name; a copy that fails is deleted. An
//! interrupted run can leave at most a hidden `.trimeter-XXXXXX.EXT` file, never a half-written
//! `NAME`.

use std::ffi::OsStr;
use std::fs::File;
use std::path::Path;

use serde::Serialize;
use trimeter_meters::staging::would_clip;
use trimeter_meters::units::amplitude_to_db;

use crate::analyze::{analyze_file, ProgressEvent};
use crate::args::StageArgs;
use crate::decode::{Container, Encoding, Source};
use crate::flac_out::{FlacWriter, FLAC_BITS};
use crate::report::level;
use crate::target::{check_output, InputIds};
use crate::verify::{verify_copy, Digest};
use crate::wav_out::{OutContainer, OutSample, OutSpec, PcmWriter};

/// What was done with one file, as printed (and written as JSON with `--json`).
#[derive(Serialize, Debug)]
pub struct StageReport {
    /// The input path as given.
    pub path: String,
    /// Whether the trimmed copy was written.
    pub ok: bool,
    /// Why not, when `ok` is false.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The written file.
    pub output: Option<String>,
    /// The gain applied, in dB.
    pub gain_db: Option<f32>,
    /// The sample peak of the written signal (before dither), in dBFS.
    pub sample_peak_after_dbfs: Option<f32>,
    /// The output format, e.g. "24-bit PCM WAV".
    pub format: Option<String>,
    /// Whether TPDF dither was added (integer output with a gain other than 0 dB).
    pub dithered: bool,
}

impl StageReport {
    /// The report for a file that could not be staged.
    pub fn failed(path: &Path, error: String) -> Self {
        Self {
            path: path.display().to_string(),
            ok: false,
            error: Some(error),
            output: None,
            gain_db: None,
            sample_peak_after_dbfs: None,
            format: None,
            dithered: false,
        }
    }

    /// One human-readable line.
    pub fn line(&self) -> String {
        let line = match (&self.error, &self.output) {
            (Some(error), _) => format!("{}: error: {error}", self.path),
            (None, Some(output)) => format!(
                "{} -> {}: {:+.2} dB, peak {} dBFS, {}{}",
                self.path,
                output,
                self.gain_db.unwrap_or(0.0),
                self.sample_peak_after_dbfs
                    .map_or("-inf".into(), |p| format!("{p:.1}")),
                self.format.as_deref().unwrap_or("?"),
                if self.dithered { ", TPDF dither" } else { "" }
            ),
            (None, None) => format!("{}: nothing written", self.path),
        };
        // Names (and errors quoting them) can hold control characters: never send those to a
        // terminal raw.
        crate::report::escape_control(&line)
    }
}

/// Everything a stage run shares between files.
pub struct StagePlan<'a> {
    /// The parsed arguments.
    pub args: &'a StageArgs,
    /// The identities (device and inode) of all inputs, so no output ever lands on one.
    pub inputs: InputIds,
}

impl<'a> StagePlan<'a> {
    /// The plan for `args`: the identities of its inputs are taken now, before anything is
    /// written.
    pub fn new(args: &'a StageArgs) -> Self {
        Self {
            args,
            inputs: InputIds::new(&args.files),
        }
    }

    /// Stages one input; `duplicate_name` is set when an earlier input has the same file name.
    pub fn stage(&self, input: &Path, duplicate_name: bool) -> StageReport {
        match self.try_stage(input, duplicate_name) {
            Ok(report) => report,
            Err(error) => StageReport::failed(input, error),
        }
    }

    fn try_stage(&self, input: &Path, duplicate_name: bool) -> Result<StageReport, String> {
        let args = self.args;
        let name = input
            .file_name()
            .ok_or_else(|| "the path has no file name".to_string())?;
        if duplicate_name {
            return Err(
                "another input has the same file name; its copy would be overwritten".into(),
            );
        }
        let mut source = Source::open(input)?;
        if args.allow_non_finite {
            source.zero_non_finite();
        } else {
            source.refuse_non_finite();
        }
        let info = *source.info();
        let spec = output_spec(&info)?;
        let output = args.out.join(name);
        check_output(&output, &self.inputs, args.force)?;

        let gain_db = match args.gain {
            Some(gain_db) => gain_db,
            None => {
                let analysis = analyze_file(input, &args.meter, None, &|_: ProgressEvent| {})?;
                let non_finite = analysis.non_finite_samples;
                if non_finite > 0 && !args.allow_non_finite {
                    return Err(format!(
                        "the file holds {non_finite} NaN or infinite sample{}; use --allow-non-finite to write them as zero",
                        if non_finite == 1 { "" } else { "s" }
                    ));
                }
                let gain_db = analysis.suggested_trim_db.ok_or_else(|| {
                    "silent (no average level): no trim can be suggested; use --gain".to_string()
                })?;
                if !args.allow_clip && would_clip(analysis.summary.sample_peak_dbfs, gain_db) {
                    return Err(format!(
                        "the result would clip (sample peak {:.2} dBFS after {gain_db:+.2} dB); use --allow-clip",
                        analysis.summary.sample_peak_dbfs + gain_db
                    ));
                }
                gain_db
            }
        };

        // Dropping `temp` on any error below deletes the temporary file.
        let temp = create_temp(&args.out, name)?;
        let file = temp
            .as_file()
            .try_clone()
            .map_err(|e| format!("cannot write {}: {e}", temp.path().display()))?;
        let written = write_copy(source, file, spec, gain_db, args.allow_clip)?;
        #[cfg(debug_assertions)]
        corrupt_for_tests(temp.path());
        verify_copy(temp.path(), &spec, written.frames, &written.digest)?;
        // The name is checked again right before the rename, which is all that touches it.
        check_output(&output, &self.inputs, args.force)?;
        let persisted = if args.force {
            temp.persist(&output)
        } else {
            // Atomic: fails rather than replacing anything that appeared at the name meanwhile.
            temp.persist_noclobber(&output)
        };
        if let Err(err) = persisted {
            return Err(format!(
                "cannot move the finished file into place: {}",
                err.error
            ));
        }
        sync_folder(&args.out);
        Ok(StageReport {
            path: input.display().to_string(),
            ok: true,
            error: None,
            output: Some(output.display().to_string()),
            gain_db: Some(gain_db),
            sample_peak_after_dbfs: level(amplitude_to_db(written.peak as f32)),
            format: Some(spec.describe()),
            dithered: written.dithered,
        })
    }
}

/// What [`write_copy`] wrote.
struct Written {
    peak: f64,
    dithered: bool,
    frames: u64,
    digest: Digest,
}

/// The writer for the output container.
enum Writer {
    Pcm(PcmWriter),
    Flac(FlacWriter),
}

impl Writer {
    fn write(&mut self, planes: &[Vec<f64>]) -> Result<(), String> {
        match self {
            Writer::Pcm(w) => w.write(planes).map_err(|e| format!("write error: {e}")),
            Writer::Flac(w) => w.write(planes),
        }
    }

    fn clipped_samples(&self) -> u64 {
        match self {
            Writer::Pcm(w) => w.quantizer.clipped_samples,
            Writer::Flac(w) => w.quantizer.clipped_samples,
        }
    }

    /// Finishes the file; returns the peak, frame count and digest.
    fn finish(self) -> Result<(f64, u64, Digest), String> {
        match self {
            Writer::Pcm(w) => {
                let summary = (w.quantizer.peak, w.frames(), w.digest);
                w.finish().map_err(|e| format!("write error: {e}"))?;
                Ok(summary)
            }
            Writer::Flac(w) => {
                let summary = (w.quantizer.peak, w.frames(), w.digest);
                w.finish()?;
                Ok(summary)
            }
        }
    }
}

/// Decodes `source` again, applies `gain_db` and writes the copy into `file` (the empty
/// temporary file).
fn write_copy(
    mut source: Source,
    file: File,
    spec: OutSpec,
    gain_db: f32,
    allow_clip: bool,
) -> Result<Written, String> {
    let gain = 10f64.powf(f64::from(gain_db) / 20.0);
    // NOTE: At exactly 0 dB the samples are copied unchanged, so there is nothing to requantize
    // and dither would only add noise.
    let dither = gain_db != 0.0 && matches!(spec.sample, OutSample::Int(_));
    let clip_error = (!allow_clip).then(|| {
        format!(
            "the result would clip ({gain_db:+.2} dB takes a sample to or above full scale); use --allow-clip"
        )
    });
    let mut writer = if spec.container == OutContainer::Flac {
        Writer::Flac(FlacWriter::new(
            file,
            spec,
            gain,
            dither,
            source.info().declared_frames,
        )?)
    } else {
        Writer::Pcm(
            PcmWriter::new(file, spec, gain, dither).map_err(|e| format!("write error: {e}"))?,
        )
    };
    let mut planes: Vec<Vec<f64>> = Vec::new();
    while source.next_packet_into(&mut planes)? {
        writer.write(&planes)?;
        if writer.clipped_samples() > 0 {
            if let Some(error) = clip_error {
                return Err(error);
            }
        }
    }
    if source.decoded_frames() == 0 {
        return Err("no audio: the file holds 0 frames".into());
    }
    let (peak, frames, digest) = writer.finish()?;
    Ok(Written {
        peak,
        dithered: dither,
        frames,
        digest,
    })
}

/// Creates the hidden temporary file for a copy named `name` in `dir`: `.trimeter-` and six
/// random characters, and the extension when it is short, so any name that fits the file system
/// fits. Created exclusively (O_EXCL, retried under another name on a collision), so nothing
/// already in `dir`, a symbolic link included, is ever opened.
fn create_temp(dir: &Path, name: &OsStr) -> Result<tempfile::NamedTempFile, String> {
    let extension = Path::new(name)
        .extension()
        .and_then(OsStr::to_str)
        .filter(|e| e.len() <= 4 && e.bytes().all(|b| b.is_ascii_alphanumeric()))
        .map_or(String::from(".tmp"), |e| format!(".{e}"));
    let mut builder = tempfile::Builder::new();
    builder
        .prefix(".trimeter-")
        .suffix(&extension)
        .rand_bytes(6);
    // The copy gets the permissions any new file gets (0666 less the umask), not tempfile's 0600.
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    builder
        .tempfile_in(dir)
        .map_err(|e| format!("cannot create a temporary file in {}: {e}", dir.display()))
}

/// Makes the rename durable: syncs the folder's entry list (best effort; not every platform or
/// file system can sync a folder).
fn sync_folder(dir: &Path) {
    if let Ok(folder) = File::open(dir) {
        let _ = folder.sync_all();
    }
}

/// A test hook, only in debug builds: `TRIMETER_TEST_CORRUPT_COPY=1` flips one byte in the
/// middle of every written copy before it is verified, to prove that a copy that does not read
/// back is deleted and reported.
#[cfg(debug_assertions)]
fn corrupt_for_tests(path: &Path) {
    use std::io::{Read, Seek, SeekFrom, Write};
    if std::env::var_os("TRIMETER_TEST_CORRUPT_COPY").is_none() {
        return;
    }
    let Ok(mut file) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
    else {
        return;
    };
    let middle = file.metadata().map_or(0, |m| m.len() / 2);
    let mut byte = [0u8];
    if file.seek(SeekFrom::Start(middle)).is_ok() && file.read_exact(&mut byte).is_ok() {
        byte[0] ^= 0x55;
        let _ = file
            .seek(SeekFrom::Start(middle))
            .and_then(|_| file.write_all(&byte));
    }
}

/// The output format for an input, or why it is refused.
fn output_spec(info: &crate::decode::AudioInfo) -> Result<OutSpec, String> {
    let container = match info.container {
        Container::Wav => OutContainer::Wav,
        Container::Aiff => OutContainer::Aiff,
        Container::Flac => OutContainer::Flac,
        Container::Ogg | Container::Mpeg => {
            return Err(
                "refusing to stage a lossy file: re-encoding lossy audio is not gain staging"
                    .into(),
            )
        }
    };
    let sample = match info.encoding {
        Encoding::Int { bits } => OutSample::Int(bits),
        Encoding::Float { bits } if container == OutContainer::Wav => OutSample::Float(bits),
        Encoding::Float { .. } => {
            return Err(
                "writing floating-point AIFF-C is not supported; convert to WAV first".into(),
            )
        }
        Encoding::Lossless { bits } if FLAC_BITS.contains(&bits) => OutSample::Int(bits),
        Encoding::Lossless { bits: 0 } => {
            return Err("the FLAC stream does not declare its bit depth".into())
        }
        Encoding::Lossless { bits } => {
            return Err(format!(
                "writing {bits}-bit FLAC is not supported (4 to 32 bits); convert to WAV first"
            ))
        }
        Encoding::Lossy { codec } => {
            return Err(format!(
                "refusing to stage {codec} audio: re-encoding lossy audio is not gain staging"
            ))
        }
    };
    Ok(OutSpec {
        container,
        sample,
        channels: info.channels as u16,
        sample_rate_hz: info.sample_rate_hz,
        wave_channel_mask: info.wave_channel_mask,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::AudioInfo;

    fn flac(bits: u16) -> AudioInfo {
        AudioInfo {
            sample_rate_hz: 48_000,
            channels: 2,
            wave_channel_mask: None,
            container: Container::Flac,
            encoding: Encoding::Lossless { bits },
            declared_frames: None,
        }
    }

    /// FLAC stems keep their bit depth where the encoder can write it, and are refused with a
    /// reason (before anything is written) where it cannot.
    #[test]
    fn flac_output_keeps_its_bit_depth_or_is_refused() {
        for bits in [4, 8, 12, 16, 20, 24, 32] {
            let spec = output_spec(&flac(bits)).unwrap();
            assert_eq!(spec.container, OutContainer::Flac);
            assert_eq!(spec.sample, OutSample::Int(bits));
        }
        assert!(output_spec(&flac(3)).unwrap_err().contains("3-bit FLAC"));
        assert!(output_spec(&flac(0)).unwrap_err().contains("bit depth"));
    }
}
