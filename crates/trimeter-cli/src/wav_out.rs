//! Writing gain-adjusted PCM as WAV or AIFF, with TPDF dither for integer samples.
//!
//! Written by hand rather than with `hound` because staging must keep what the input had: the
//! WAVE_FORMAT_EXTENSIBLE channel mask of a 5.1 file, 64-bit float samples, and AIFF. The header
//! is written first with placeholder sizes and patched in [`PcmWriter::finish`].

use std::fs::File;
use std::io::{self, BufWriter, Seek, SeekFrom, Write};

use trimeter_meters::rng::Rng;

use crate::verify::Digest;

/// The container to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutContainer {
    /// RIFF WAVE (little-endian).
    Wav,
    /// AIFF (big-endian, integer PCM only).
    Aiff,
    /// FLAC (integer PCM only; written by `flac_out`, not by [`PcmWriter`]).
    Flac,
}

/// The sample coding to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutSample {
    /// Integer PCM with this many bits (8, 16, 24 or 32).
    Int(u16),
    /// IEEE float with this many bits (32 or 64; WAV only).
    Float(u16),
}

/// What to write.
#[derive(Clone, Copy, Debug)]
pub struct OutSpec {
    /// The container.
    pub container: OutContainer,
    /// The sample coding.
    pub sample: OutSample,
    /// Channel count.
    pub channels: u16,
    /// Sample rate in Hz.
    pub sample_rate_hz: u32,
    /// The WAVE channel mask to declare (any WAV that has one is written WAVE_FORMAT_EXTENSIBLE).
    pub wave_channel_mask: Option<u32>,
}

impl OutSpec {
    /// Bytes per sample.
    fn sample_bytes(&self) -> usize {
        match self.sample {
            OutSample::Int(bits) | OutSample::Float(bits) => usize::from(bits / 8),
        }
    }

    /// A short description for messages, e.g. "24-bit PCM WAV".
    pub fn describe(&self) -> String {
        let container = match self.container {
            OutContainer::Wav => "WAV",
            OutContainer::Aiff => "AIFF",
            OutContainer::Flac => "FLAC",
        };
        match self.sample {
            OutSample::Int(bits) if self.container == OutContainer::Flac => {
                format!("{bits}-bit {container}")
            }
            OutSample::Int(bits) => format!("{bits}-bit PCM {container}"),
            OutSample::Float(bits) => format!("{bits}-bit float {container}"),
        }
    }
}

/// The seed of the dither generator. Fixed, so staging the same file twice gives bit-identical
/// output; each channel gets its own stream (seed + channel index) so channels are uncorrelated.
pub const DITHER_SEED: u64 = 0x7472_696d_6574_6572; // "trimeter"

/// One channel's dither stream: the meters crate's seeded generator.
#[derive(Clone, Debug)]
struct Dither(Rng);

impl Dither {
    fn new(seed: u64) -> Self {
        // An odd seed, as the staged copies of earlier versions used: the same file staged
        // again gives the same samples.
        Self(Rng::new(seed | 1))
    }

    #[inline]
    fn unit(&mut self) -> f64 {
        self.0.next_unit_f64()
    }

    /// Triangular (TPDF) noise in (-1, 1) LSB: the sum of two independent uniform variables, which
    /// makes the requantization error independent of the signal in mean and variance.
    #[inline]
    fn tpdf_lsb(&mut self) -> f64 {
        self.unit() + self.unit() - 1.0
    }
}

/// The gain, its bookkeeping, and the dithered rounding to integer PCM: shared by the WAV/AIFF
/// writer and the FLAC writer, so both write the same samples.
pub struct Quantizer {
    gain: f64,
    dither: Option<Vec<Dither>>,
    /// Samples whose gain-adjusted value reached or exceeded full scale (before dither).
    pub clipped_samples: u64,
    /// The largest gain-adjusted absolute sample value (before dither), full scale = 1.0.
    pub peak: f64,
}

impl Quantizer {
    /// `gain` is linear; `dither` adds TPDF dither (one seeded stream per channel) before
    /// rounding to integers.
    pub fn new(gain: f64, dither: bool, channels: u16) -> Self {
        Self {
            gain,
            dither: dither.then(|| {
                (0..u64::from(channels))
                    .map(|c| Dither::new(DITHER_SEED.wrapping_add(c)))
                    .collect()
            }),
            clipped_samples: 0,
            peak: 0.0,
        }
    }

    /// Applies the gain to one sample, counting clips and tracking the peak.
    #[inline]
    pub fn scale(&mut self, x: f64) -> f64 {
        let x = x * self.gain;
        let magnitude = x.abs();
        if magnitude >= 1.0 {
            self.clipped_samples += 1;
        }
        if magnitude > self.peak {
            self.peak = magnitude;
        }
        x
    }

    /// Rounds a scaled sample of `channel` to a `bits`-bit integer, with that channel's dither,
    /// saturating at full scale.
    #[inline]
    pub fn quantize(&mut self, channel: usize, x: f64, bits: u16) -> i64 {
        let scale = f64::from(1u32 << (bits - 1));
        let noise = match self.dither.as_mut().and_then(|d| d.get_mut(channel)) {
            Some(d) => d.tpdf_lsb(),
            None => 0.0,
        };
        (x * scale + noise).round().clamp(-scale, scale - 1.0) as i64
    }
}

/// A streaming writer of gain-adjusted planar audio.
pub struct PcmWriter {
    out: BufWriter<File>,
    spec: OutSpec,
    frames: u64,
    bytes: Vec<u8>,
    /// The gain, clip count, peak and dither.
    pub quantizer: Quantizer,
    /// The digest of the samples written, for [`crate::verify::verify_copy`].
    pub digest: Digest,
}

/// The RIFF/AIFF size fields are 32-bit.
const MAX_DATA_BYTES: u64 = u32::MAX as u64 - 1024;

impl PcmWriter {
    /// Writes the header into `file` (an empty file opened for writing). `gain` is linear;
    /// `dither` adds TPDF dither before rounding to integer samples (ignored for float).
    pub fn new(file: File, spec: OutSpec, gain: f64, dither: bool) -> io::Result<Self> {
        let dither = dither && matches!(spec.sample, OutSample::Int(_));
        let mut writer = Self {
            out: BufWriter::with_capacity(1 << 16, file),
            spec,
            frames: 0,
            bytes: Vec::new(),
            quantizer: Quantizer::new(gain, dither, spec.channels),
            digest: Digest::new(),
        };
        writer.write_header(0)?;
        Ok(writer)
    }

    /// Appends planar frames `planes[channel][frame]` (all planes the same length).
    pub fn write(&mut self, planes: &[Vec<f64>]) -> io::Result<()> {
        let frames = planes.first().map_or(0, Vec::len);
        let channels = usize::from(self.spec.channels);
        let width = self.spec.sample_bytes();
        let data_bytes = (self.frames + frames as u64) * (channels * width) as u64;
        if data_bytes > MAX_DATA_BYTES {
            return Err(io::Error::other(
                "the output would exceed the 4 GiB size limit of WAV/AIFF",
            ));
        }
        self.bytes.clear();
        self.bytes.reserve(frames * channels * width);
        let big_endian = self.spec.container == OutContainer::Aiff;
        for frame in 0..frames {
            for (channel, plane) in planes.iter().enumerate().take(channels) {
                let x = self
                    .quantizer
                    .scale(plane.get(frame).copied().unwrap_or(0.0));
                match self.spec.sample {
                    OutSample::Float(32) => {
                        let x = x as f32;
                        self.digest.push_f32(x);
                        push(&mut self.bytes, &x.to_le_bytes(), big_endian)
                    }
                    OutSample::Float(_) => {
                        self.digest.push_f64(x);
                        push(&mut self.bytes, &x.to_le_bytes(), big_endian)
                    }
                    OutSample::Int(bits) => {
                        let q = self.quantizer.quantize(channel, x, bits);
                        self.digest.push_int(q);
                        let le = q.to_le_bytes();
                        if bits == 8 && !big_endian {
                            // 8-bit WAV is unsigned with the zero at 128.
                            self.bytes.push((q + 128) as u8);
                        } else {
                            push(&mut self.bytes, &le[..usize::from(bits / 8)], big_endian);
                        }
                    }
                }
            }
        }
        self.frames += frames as u64;
        self.out.write_all(&self.bytes)
    }

    /// Frames written so far.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Pads, patches the header sizes, flushes and syncs the file to disk.
    pub fn finish(mut self) -> io::Result<()> {
        let data_bytes =
            self.frames * (usize::from(self.spec.channels) * self.spec.sample_bytes()) as u64;
        if data_bytes % 2 == 1 {
            // RIFF and IFF chunks are padded to an even length.
            self.out.write_all(&[0])?;
        }
        self.out.seek(SeekFrom::Start(0))?;
        self.write_header(data_bytes)?;
        let file = self.out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()
    }

    fn write_header(&mut self, data_bytes: u64) -> io::Result<()> {
        let header = match self.spec.container {
            OutContainer::Wav => wav_header(&self.spec, self.frames, data_bytes),
            OutContainer::Aiff => aiff_header(&self.spec, self.frames, data_bytes),
            OutContainer::Flac => {
                return Err(io::Error::other("FLAC is written by the FLAC encoder"))
            }
        };
        self.out.write_all(&header)
    }
}

/// Appends little-endian `le` bytes, reversed for big-endian output.
#[inline]
fn push(bytes: &mut Vec<u8>, le: &[u8], big_endian: bool) {
    if big_endian {
        bytes.extend(le.iter().rev());
    } else {
        bytes.extend_from_slice(le);
    }
}

/// The KSDATAFORMAT_SUBTYPE GUID tail shared by PCM and IEEE float.
const GUID_TAIL: [u8; 14] = [
    0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71,
];

/// The default WAVE channel mask for a channel count (mono = front centre, stereo = L R,
/// 5.1 = L R C LFE BL BR), or 0 (unspecified) for other counts.
fn default_mask(channels: u16) -> u32 {
    match channels {
        1 => 0x4,
        2 => 0x3,
        4 => 0x33,
        6 => 0x3f,
        8 => 0x63f,
        _ => 0,
    }
}

/// A WAV header: RIFF, fmt (PCM, IEEE float or WAVE_FORMAT_EXTENSIBLE), fact for float, data.
fn wav_header(spec: &OutSpec, frames: u64, data_bytes: u64) -> Vec<u8> {
    let (is_float, bits) = match spec.sample {
        OutSample::Int(bits) => (false, bits),
        OutSample::Float(bits) => (true, bits),
    };
    let block_align = spec.channels * (bits / 8);
    // Microsoft requires WAVE_FORMAT_EXTENSIBLE for more than 2 channels or more than 16-bit
    // integers; it is also the only place to declare the speaker layout, so a mask the input
    // declared (a mono LFE stem, a C+LFE pair) keeps it at any width.
    let extensible =
        spec.channels > 2 || (!is_float && bits > 16) || spec.wave_channel_mask.is_some();
    let mut fmt = Vec::with_capacity(40);
    let tag: u16 = if extensible {
        0xfffe
    } else if is_float {
        3
    } else {
        1
    };
    fmt.extend_from_slice(&tag.to_le_bytes());
    fmt.extend_from_slice(&spec.channels.to_le_bytes());
    fmt.extend_from_slice(&spec.sample_rate_hz.to_le_bytes());
    fmt.extend_from_slice(&(spec.sample_rate_hz * u32::from(block_align)).to_le_bytes());
    fmt.extend_from_slice(&block_align.to_le_bytes());
    fmt.extend_from_slice(&bits.to_le_bytes());
    if extensible {
        fmt.extend_from_slice(&22u16.to_le_bytes());
        fmt.extend_from_slice(&bits.to_le_bytes());
        let mask = spec
            .wave_channel_mask
            .unwrap_or_else(|| default_mask(spec.channels));
        fmt.extend_from_slice(&mask.to_le_bytes());
        fmt.extend_from_slice(&(if is_float { 3u16 } else { 1u16 }).to_le_bytes());
        fmt.extend_from_slice(&GUID_TAIL);
    } else if is_float {
        fmt.extend_from_slice(&0u16.to_le_bytes());
    }
    let mut chunks = Vec::with_capacity(80);
    chunks.extend_from_slice(b"fmt ");
    chunks.extend_from_slice(&(fmt.len() as u32).to_le_bytes());
    chunks.extend_from_slice(&fmt);
    if is_float {
        chunks.extend_from_slice(b"fact");
        chunks.extend_from_slice(&4u32.to_le_bytes());
        chunks.extend_from_slice(&(frames.min(u64::from(u32::MAX)) as u32).to_le_bytes());
    }
    chunks.extend_from_slice(b"data");
    chunks.extend_from_slice(&(data_bytes as u32).to_le_bytes());
    let riff_size = 4 + chunks.len() as u64 + data_bytes + data_bytes % 2;
    let mut header = Vec::with_capacity(12 + chunks.len());
    header.extend_from_slice(b"RIFF");
    header.extend_from_slice(&(riff_size as u32).to_le_bytes());
    header.extend_from_slice(b"WAVE");
    header.extend_from_slice(&chunks);
    header
}

/// An AIFF header: FORM, COMM, SSND (offset and block size 0).
fn aiff_header(spec: &OutSpec, frames: u64, data_bytes: u64) -> Vec<u8> {
    let bits = match spec.sample {
        OutSample::Int(bits) | OutSample::Float(bits) => bits,
    };
    let mut header = Vec::with_capacity(54);
    let form_size = 4 + (8 + 18) + (8 + 8 + data_bytes + data_bytes % 2);
    header.extend_from_slice(b"FORM");
    header.extend_from_slice(&(form_size as u32).to_be_bytes());
    header.extend_from_slice(b"AIFF");
    header.extend_from_slice(b"COMM");
    header.extend_from_slice(&18u32.to_be_bytes());
    header.extend_from_slice(&spec.channels.to_be_bytes());
    header.extend_from_slice(&(frames as u32).to_be_bytes());
    header.extend_from_slice(&bits.to_be_bytes());
    header.extend_from_slice(&extended80(spec.sample_rate_hz));
    header.extend_from_slice(b"SSND");
    header.extend_from_slice(&((8 + data_bytes) as u32).to_be_bytes());
    header.extend_from_slice(&0u32.to_be_bytes());
    header.extend_from_slice(&0u32.to_be_bytes());
    header
}

/// An integer as an IEEE 754 80-bit extended float (big-endian), as AIFF stores the sample rate.
fn extended80(value: u32) -> [u8; 10] {
    let mut out = [0u8; 10];
    if value == 0 {
        return out;
    }
    let shift = value.leading_zeros();
    let exponent = 16383 + 31 - shift as u16;
    let mantissa = u64::from(value) << (32 + shift);
    out[..2].copy_from_slice(&exponent.to_be_bytes());
    out[2..].copy_from_slice(&mantissa.to_be_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extended_sample_rates_match_known_encodings() {
        // 44100 Hz is 40 0E AC 44 00 00 00 00 00 00 in every AIFF file.
        assert_eq!(
            extended80(44_100),
            [0x40, 0x0e, 0xac, 0x44, 0, 0, 0, 0, 0, 0]
        );
        assert_eq!(
            extended80(48_000),
            [0x40, 0x0e, 0xbb, 0x80, 0, 0, 0, 0, 0, 0]
        );
    }

    #[test]
    fn tpdf_dither_is_triangular_within_one_lsb() {
        let mut d = Dither::new(DITHER_SEED);
        let n = 200_000;
        let (mut sum, mut sum_sq, mut inner) = (0.0, 0.0, 0);
        for _ in 0..n {
            let x = d.tpdf_lsb();
            assert!(x > -1.0 && x < 1.0);
            sum += x;
            sum_sq += x * x;
            inner += usize::from(x.abs() < 0.5);
        }
        // A triangular distribution on (-1, 1): mean 0, variance 1/6, 75 % within +-0.5.
        assert!((sum / n as f64).abs() < 0.01);
        assert!((sum_sq / n as f64 - 1.0 / 6.0).abs() < 0.005);
        assert!((inner as f64 / n as f64 - 0.75).abs() < 0.01);
    }
}
