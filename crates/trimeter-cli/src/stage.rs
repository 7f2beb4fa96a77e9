//! `trimeter stage`: write trimmed copies of files into a folder.
//!
//! Per file: decide the output format (or refuse), decide the gain (`--gain`, or the suggested
//! trim from an analysis pass), refuse results that would clip, then decode again at 64-bit
//! precision, apply the gain, dither to integer PCM, and write to a hidden temporary file in the
//! output folder that is renamed onto the final name only when complete. An interrupted run can
//! leave at most a hidden `.NAME.trimeter-PID.tmp` file, never a half-written `NAME`.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::Serialize;
use trimeter_meters::units::amplitude_to_db;
use trimeter_meters::staging::would_clip;

use crate::analyze::{analyze_file, ProgressEvent};
use crate::args::StageArgs;
use crate::decode::{Container, Encoding, Source};
use crate::flac_out::write_flac;
use crate::report::level;
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
        match (&self.error, &self.output) {
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
        }
    }
}

/// Everything a stage run shares between files.
pub struct StagePlan<'a> {
    /// The parsed arguments.
    pub args: &'a StageArgs,
    /// Canonical paths of all inputs, so no output ever lands on one.
    pub canonical_inputs: HashSet<PathBuf>,
}

impl StagePlan<'_> {
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
        let source = Source::open(input)?;
        let info = *source.info();
        let spec = output_spec(&info)?;
        let output = args.out.join(name);
        if output.exists() {
            let canonical = output
                .canonicalize()
                .map_err(|e| format!("cannot resolve {}: {e}", output.display()))?;
            if self.canonical_inputs.contains(&canonical) {
                return Err(format!(
                    "refusing to overwrite an input file ({})",
                    output.display()
                ));
            }
            if !args.force {
                return Err(format!(
                    "{} already exists (use --force to replace it)",
                    output.display()
                ));
            }
        }

        let gain_db = match args.gain {
            Some(gain_db) => gain_db,
            None => {
                let analysis = analyze_file(input, &args.meter, None, &|_: ProgressEvent| {})?;
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

        let temp = temp_path(&output);
        let result = write_copy(source, &temp, spec, gain_db, args.allow_clip);
        let written = match result {
            Ok(written) => written,
            Err(error) => {
                let _ = std::fs::remove_file(&temp);
                return Err(error);
            }
        };
        if let Err(err) = std::fs::rename(&temp, &output) {
            let _ = std::fs::remove_file(&temp);
            return Err(format!("cannot move the finished file into place: {err}"));
        }
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
}

/// Decodes `source` again, applies `gain_db` and writes `temp`.
fn write_copy(
    mut source: Source,
    temp: &Path,
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
    if spec.container == OutContainer::Flac {
        let quantizer = write_flac(&mut source, temp, spec, gain, dither, clip_error)?;
        return Ok(Written {
            peak: quantizer.peak,
            dithered: dither,
        });
    }
    let mut writer = PcmWriter::create(temp, spec, gain, dither)
        .map_err(|e| format!("cannot create {}: {e}", temp.display()))?;
    let mut planes: Vec<Vec<f64>> = Vec::new();
    while source.next_packet_into(&mut planes)? {
        writer
            .write(&planes)
            .map_err(|e| format!("write error: {e}"))?;
        if writer.quantizer.clipped_samples > 0 {
            if let Some(error) = clip_error {
                return Err(error);
            }
        }
    }
    if source.decoded_frames() == 0 {
        return Err("no audio: the file holds 0 frames".into());
    }
    let written = Written {
        peak: writer.quantizer.peak,
        dithered: dither,
    };
    writer.finish().map_err(|e| format!("write error: {e}"))?;
    Ok(written)
}

/// The bit depths the FLAC encoder writes (flacenc: 8 to 24).
const FLAC_OUTPUT_BITS: std::ops::RangeInclusive<u16> = 8..=24;

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
        Encoding::Lossless { bits } if FLAC_OUTPUT_BITS.contains(&bits) => OutSample::Int(bits),
        Encoding::Lossless { bits: 0 } => {
            return Err("the FLAC stream does not declare its bit depth".into())
        }
        Encoding::Lossless { bits } => {
            return Err(format!(
                "writing {bits}-bit FLAC is not supported (8 to 24 bits); convert to WAV first"
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

/// A hidden temporary name next to `output`, unique per process.
fn temp_path(output: &Path) -> PathBuf {
    let name = output
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    output.with_file_name(format!(".{name}.trimeter-{}.tmp", std::process::id()))
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
        for bits in [8, 12, 16, 20, 24] {
            let spec = output_spec(&flac(bits)).unwrap();
            assert_eq!(spec.container, OutContainer::Flac);
            assert_eq!(spec.sample, OutSample::Int(bits));
        }
        assert!(output_spec(&flac(32)).unwrap_err().contains("32-bit FLAC"));
        assert!(output_spec(&flac(0)).unwrap_err().contains("bit depth"));
    }
}
