//! Command-line arguments (clap derive).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use trimeter_meters::ppm::PpmScale;
use trimeter_meters::staging::presets::{preset, Preset, PRESETS};
use trimeter_meters::staging::{AverageMeasure, PeakMeasure, StagingTarget};
use trimeter_meters::true_peak::TruePeakMode;
use trimeter_meters::vu::VU_REFERENCE_RANGE_DBFS;

/// Trimeter: standards-exact level meters and gain staging for audio files.
#[derive(Parser, Debug)]
#[command(name = "trimeter", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Measure files: sample and true peak, RMS, VU, PPM, loudness (EBU R 128), loudness range and
    /// the suggested clip-gain trim.
    Analyze(AnalyzeArgs),
    /// Write trimmed copies of files (the suggested trim, or --gain) into a folder.
    ///
    /// Copies keep the container (WAV, AIFF or FLAC), sample rate, bit depth and WAV channel
    /// mask. Integer PCM (FLAC included) gets TPDF dither (+-1 LSB triangular) from a fixed seed,
    /// so re-running gives bit-identical files; a gain of exactly 0 dB copies samples unchanged.
    /// MP3 and Ogg Vorbis are refused (re-encoding lossy audio is not gain staging).
    /// Files with NaN or infinite samples are refused unless --allow-non-finite (which writes them
    /// as zero). Results that would reach 0 dBFS are refused unless --allow-clip. Each copy is written to a
    /// hidden temporary file in DIR and renamed when complete, so an interrupted run never leaves a
    /// half-written file under the final name. Existing files in DIR are kept unless --force, and
    /// an input file is never overwritten.
    Stage(StageArgs),
}

/// `trimeter analyze`.
#[derive(Args, Debug)]
pub struct AnalyzeArgs {
    /// Audio files (WAV, AIFF, FLAC, Ogg Vorbis, MP3).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Print one JSON array (one object per file, in input order) instead of a table.
    #[arg(long)]
    pub json: bool,
    /// With --json: add a `timeline` to each file with an entry every MS milliseconds.
    #[arg(long, value_name = "MS", value_parser = parse_timeline_ms)]
    pub timeline: Option<f64>,
    /// How the reported true peak is measured: "standard" (ITU-R BS.1770 Annex 2, what
    /// compliance reports expect) or "precise" (8x over-sampling, at most 0.15 dB under-read up to
    /// 20 kHz). The suggested trim with --peak true always uses the precise true peak.
    #[arg(long, value_enum, default_value_t = TruePeakArg::Standard)]
    pub true_peak: TruePeakArg,
    /// Meter and staging options.
    #[command(flatten)]
    pub meter: MeterOptions,
}

/// `trimeter stage`.
#[derive(Args, Debug)]
pub struct StageArgs {
    /// Audio files to trim (WAV, AIFF or FLAC; lossy files are refused).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Folder for the trimmed copies (same file names); created if missing.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Apply this gain in dB to every file instead of each file's suggested trim.
    #[arg(long, value_name = "DB", allow_hyphen_values = true, value_parser = parse_finite_db)]
    pub gain: Option<f32>,
    /// Write files even when the trimmed result reaches or exceeds 0 dBFS (integer output then
    /// saturates at full scale).
    #[arg(long)]
    pub allow_clip: bool,
    /// Replace files that already exist in DIR (an input file is never overwritten).
    #[arg(long)]
    pub force: bool,
    /// Stage files that hold NaN or infinite samples, writing those samples as zero (without
    /// this, such files are refused).
    #[arg(long)]
    pub allow_non_finite: bool,
    /// Print one JSON array describing what was done per file.
    #[arg(long)]
    pub json: bool,
    /// Meter and staging options.
    #[command(flatten)]
    pub meter: MeterOptions,
}

/// Options shared by `analyze` and `stage`.
#[derive(Args, Debug, Clone)]
pub struct MeterOptions {
    /// The dBFS level of a steady sine that reads 0 VU, from -40 to 0.
    #[arg(long, value_name = "DBFS", default_value_t = -18.0, allow_hyphen_values = true, value_parser = parse_vu_reference)]
    pub vu_reference: f32,
    /// The PPM ballistics (IEC 60268-10 type I "din"/"nordic", type II "bbc"/"ebu").
    #[arg(long, value_enum, default_value_t = PpmArg::Bbc)]
    pub ppm: PpmArg,
    /// A named target: its average target, measure, ceiling and peak measure, each of which
    /// --target, --average, --ceiling and --peak override. Without it: -18 dBFS AES17 RMS with a
    /// -6 dBFS sample-peak ceiling (the tracking preset).
    ///
    /// tracking, mix-bus: -18 dBFS RMS, -6 dBFS sample peak.
    /// k20, k14, k12: -20 / -14 / -12 dBFS RMS (the K-System zeros), -1 dBTP.
    /// streaming: -14 LUFS, -1 dBTP.  r128: -23 LUFS, -1 dBTP.  a85: -24 LKFS, -2 dBTP.
    /// podcast: -16 LUFS, -1 dBTP.  kick-bass: -18 dBFS RMS, -12 dBFS sample peak.
    /// vocals: -18 dBFS RMS, -10 dBFS sample peak.  drum-bus: -18 dBFS RMS, -6 dBFS sample peak.
    #[arg(long, value_name = "NAME", value_parser = parse_preset, verbatim_doc_comment)]
    pub preset: Option<&'static Preset>,
    /// The level the average should reach after the suggested trim, in dBFS (LUFS with
    /// --average lufs). Default -18, or the preset's.
    #[arg(long, value_name = "DB", allow_hyphen_values = true, value_parser = parse_finite_db)]
    pub target: Option<f32>,
    /// Which average --target refers to.
    ///
    /// rms: AES17 RMS (a sine's RMS reads like its peak) over the non-silent part.
    /// vu: the mean VU deflection over the non-silent part, in dBFS (--vu-reference + VU): the VU
    /// reading is sampled every 10 ms; readings below -70 dBFS, then readings more than 20 dB
    /// below the mean deflection of the rest, are left out (so the measure moves with the gain);
    /// the rest are averaged as deflection (linear amplitude, as the needle's scale is).
    /// lufs: integrated loudness (ITU-R BS.1770 / EBU R 128).
    /// Default rms, or the preset's.
    #[arg(long, value_enum, verbatim_doc_comment)]
    pub average: Option<AverageArg>,
    /// The level no peak may exceed after the suggested trim, in dBFS (dBTP with --peak true).
    /// Default -6, or the preset's.
    #[arg(long, value_name = "DB", allow_hyphen_values = true, value_parser = parse_finite_db)]
    pub ceiling: Option<f32>,
    /// Which peak --ceiling refers to: sample peak or true peak (ITU-R BS.1770 Annex 2).
    /// Default sample, or the preset's.
    #[arg(long, value_enum)]
    pub peak: Option<PeakArg>,
}

impl MeterOptions {
    /// The staging target these options describe: the preset (or the default target) with
    /// every field given on the command line in its place.
    pub fn staging_target(&self) -> StagingTarget {
        let base = self
            .preset
            .map_or_else(StagingTarget::default, |p| p.target);
        StagingTarget {
            target_db: self.target.unwrap_or(base.target_db),
            average: self.average.map_or(base.average, |a| match a {
                AverageArg::Rms => AverageMeasure::Rms,
                AverageArg::Vu => AverageMeasure::Vu,
                AverageArg::Lufs => AverageMeasure::Lufs,
            }),
            ceiling_db: self.ceiling.unwrap_or(base.ceiling_db),
            peak: self.peak.map_or(base.peak, |p| match p {
                PeakArg::Sample => PeakMeasure::Sample,
                PeakArg::True => PeakMeasure::True,
            }),
        }
    }

    /// The PPM scale for the engine.
    pub fn ppm_scale(&self) -> PpmScale {
        match self.ppm {
            PpmArg::Din => PpmScale::Din,
            PpmArg::Nordic => PpmScale::Nordic,
            PpmArg::Bbc => PpmScale::Bbc,
            PpmArg::Ebu => PpmScale::Ebu,
        }
    }
}

/// `--ppm` values.
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum PpmArg {
    /// DIN 45406 (IEC type I, 5 ms integration).
    Din,
    /// Nordic N9 (IEC type I, 5 ms integration).
    Nordic,
    /// BBC (IEC type IIa, 10 ms integration).
    Bbc,
    /// EBU (IEC type IIb, 10 ms integration).
    Ebu,
}

/// `--average` values.
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum AverageArg {
    /// AES17 RMS over the non-silent part.
    Rms,
    /// Mean VU deflection over the non-silent part, in dBFS.
    Vu,
    /// Integrated loudness.
    Lufs,
}

/// `--true-peak` values.
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum TruePeakArg {
    /// ITU-R BS.1770 Annex 2 (4x below 96 kHz).
    Standard,
    /// 8x over-sampling (4x from 192 kHz) with longer filters.
    Precise,
}

impl TruePeakArg {
    /// The meters' mode.
    pub fn mode(self) -> TruePeakMode {
        match self {
            TruePeakArg::Standard => TruePeakMode::Standard,
            TruePeakArg::Precise => TruePeakMode::Precise,
        }
    }
}

/// `--peak` values.
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum PeakArg {
    /// Sample peak.
    Sample,
    /// True peak.
    True,
}

/// A preset by name (the meters crate's table, shared with the plugin).
fn parse_preset(text: &str) -> Result<&'static Preset, String> {
    preset(text).ok_or_else(|| {
        let names: Vec<&str> = PRESETS.iter().map(|p| p.id).collect();
        format!(
            "'{text}' is not a preset; the presets are {}",
            names.join(", ")
        )
    })
}

/// A finite dB value.
fn parse_finite_db(text: &str) -> Result<f32, String> {
    let value: f32 = text
        .trim()
        .parse()
        .map_err(|_| format!("'{text}' is not a number"))?;
    if value.is_finite() && value.abs() <= 200.0 {
        Ok(value)
    } else {
        Err(format!(
            "'{text}' is not a finite level between -200 and 200 dB"
        ))
    }
}

/// A `--vu-reference`: a finite level inside the range the VU meter (and the plugin) accepts.
/// Outside it is a usage error, never a silent clamp.
fn parse_vu_reference(text: &str) -> Result<f32, String> {
    let value: f32 = text
        .trim()
        .parse()
        .map_err(|_| format!("'{text}' is not a number"))?;
    if value.is_finite() && VU_REFERENCE_RANGE_DBFS.contains(&value) {
        Ok(value)
    } else {
        Err(format!(
            "'{text}' is outside the VU reference range {} to {} dBFS",
            VU_REFERENCE_RANGE_DBFS.start(),
            VU_REFERENCE_RANGE_DBFS.end()
        ))
    }
}

/// A timeline interval in milliseconds: at least 1 ms.
fn parse_timeline_ms(text: &str) -> Result<f64, String> {
    let value: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("'{text}' is not a number"))?;
    if value.is_finite() && (1.0..=86_400_000.0).contains(&value) {
        Ok(value)
    } else {
        Err(format!("'{text}' is not an interval between 1 ms and 24 h"))
    }
}
