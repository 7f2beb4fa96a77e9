//! A fast path for the most common input: uncompressed PCM or IEEE-float WAV.
//!
//! Symphonia decodes WAV in packets of 1152 frames through generic sample conversion, which
//! costs about as much as all the meters together (3.8 ns per stereo frame in release). This
//! reader converts large interleaved chunks straight into the planar buffers with one tight loop
//! per sample format. Anything it does not recognise (compressed WAV, A-law, padded containers
//! such as 20-in-24 bit) is left to Symphonia, so it only has to be right, not complete.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};

/// Frames converted per read.
const CHUNK_FRAMES: usize = 4096;

/// A sample type the planar buffers can hold.
pub trait PlanarSample: Copy + Default + Send {
    /// Converts from a full-scale-normalized `f64`.
    fn from_f64(value: f64) -> Self;
    /// Converts from a full-scale-normalized `f32`.
    fn from_f32(value: f32) -> Self;
    /// Whether the sample is a number (not NaN or infinite).
    fn is_finite_sample(self) -> bool;
    /// Whether any sample is NaN or infinite (a bit-pattern maximum, which vectorizes).
    fn any_non_finite(samples: &[Self]) -> bool;
}

impl PlanarSample for f32 {
    #[inline(always)]
    fn from_f64(value: f64) -> Self {
        value as f32
    }
    #[inline(always)]
    fn from_f32(value: f32) -> Self {
        value
    }
    #[inline(always)]
    fn is_finite_sample(self) -> bool {
        self.is_finite()
    }
    #[inline]
    fn any_non_finite(samples: &[Self]) -> bool {
        // The meters' own check (a vectorized max over the magnitude bits).
        trimeter_meters::samples::has_non_finite(samples)
    }
}

impl PlanarSample for f64 {
    #[inline(always)]
    fn from_f64(value: f64) -> Self {
        value
    }
    #[inline(always)]
    fn from_f32(value: f32) -> Self {
        f64::from(value)
    }
    #[inline(always)]
    fn is_finite_sample(self) -> bool {
        self.is_finite()
    }
    #[inline]
    fn any_non_finite(samples: &[Self]) -> bool {
        let max = samples
            .iter()
            .fold(0u64, |m, x| m.max(x.to_bits() & 0x7fff_ffff_ffff_ffff));
        max >= f64::INFINITY.to_bits()
    }
}

/// The sample coding of a WAV file this reader handles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WavCoding {
    /// Unsigned 8-bit.
    U8,
    /// Signed little-endian 16-bit.
    I16,
    /// Signed little-endian 24-bit.
    I24,
    /// Signed little-endian 32-bit.
    I32,
    /// Little-endian IEEE float 32-bit.
    F32,
    /// Little-endian IEEE float 64-bit.
    F64,
}

impl WavCoding {
    /// Bytes per sample.
    pub fn bytes(self) -> usize {
        match self {
            WavCoding::U8 => 1,
            WavCoding::I16 => 2,
            WavCoding::I24 => 3,
            WavCoding::I32 | WavCoding::F32 => 4,
            WavCoding::F64 => 8,
        }
    }
}

/// What the header says.
#[derive(Clone, Copy, Debug)]
pub struct WavHeader {
    /// Sample rate in Hz.
    pub sample_rate_hz: u32,
    /// Channel count.
    pub channels: usize,
    /// The sample coding.
    pub coding: WavCoding,
    /// The WAVE_FORMAT_EXTENSIBLE channel mask, when the header has one and it is not zero.
    pub channel_mask: Option<u32>,
    /// Frames the data chunk declares.
    pub declared_frames: u64,
}

/// An open WAV file positioned at its sample data.
pub struct WavReader {
    input: BufReader<File>,
    header: WavHeader,
    frames_left: u64,
    bytes: Vec<u8>,
}

impl WavReader {
    /// Parses the header. `Ok(None)` when the file is not a WAV this reader handles (Symphonia
    /// then takes it, and reports whatever is wrong with it).
    ///
    /// A file with more than one `fmt ` chunk is read with the first one, as ffmpeg does. If this
    /// reader cannot handle that first one, the file is refused (an `InvalidData` error) rather
    /// than left to Symphonia, which would take the last one.
    pub fn open(path: &std::path::Path) -> std::io::Result<Option<Self>> {
        let mut file = File::open(path)?;
        let file_len = file.metadata()?.len();
        let mut riff = [0u8; 12];
        if file.read_exact(&mut riff).is_err() || &riff[..4] != b"RIFF" || &riff[8..] != b"WAVE" {
            return Ok(None);
        }
        let mut fmt: Option<Vec<u8>> = None;
        let mut fmt_chunks = 0u32;
        let mut position = 12u64;
        loop {
            let mut chunk = [0u8; 8];
            if file.read_exact(&mut chunk).is_err() {
                return Ok(None);
            }
            position += 8;
            let size = u64::from(u32::from_le_bytes([chunk[4], chunk[5], chunk[6], chunk[7]]));
            if &chunk[..4] == b"fmt " && fmt.is_some() {
                // A second `fmt ` chunk: the first one wins (as in ffmpeg), so skip this one.
                fmt_chunks += 1;
                position += size + size % 2;
                if position > file_len {
                    return Ok(None);
                }
                file.seek(SeekFrom::Start(position))?;
            } else if &chunk[..4] == b"fmt " {
                fmt_chunks += 1;
                if !(16..=64).contains(&size) {
                    return Ok(None);
                }
                let mut body = vec![0u8; size as usize];
                if file.read_exact(&mut body).is_err() {
                    return Ok(None);
                }
                fmt = Some(body);
                position += size;
                if size % 2 == 1 {
                    file.seek(SeekFrom::Current(1))?;
                    position += 1;
                }
            } else if &chunk[..4] == b"data" {
                // Recorders and pipes that stream a WAV out cannot patch the sizes at the end:
                // they leave the data size at 0xFFFFFFFF, or both it and the RIFF size at 0. The
                // data then runs to the end of the file.
                let riff_size = u32::from_le_bytes([riff[4], riff[5], riff[6], riff[7]]);
                let unknown = size == u64::from(u32::MAX)
                    || (size == 0 && (riff_size == 0 || riff_size == u32::MAX));
                let size = if unknown && file_len > position {
                    file_len - position
                } else {
                    size
                };
                let Some(header) = fmt.as_deref().and_then(|f| parse_fmt(f, size)) else {
                    if fmt_chunks > 1 {
                        return Err(std::io::Error::new(
                            std::io::ErrorKind::InvalidData,
                            format!("the file has {fmt_chunks} fmt chunks and the first one is not a PCM or float format"),
                        ));
                    }
                    return Ok(None);
                };
                // NOTE: A data size running past the end of the file is a truncated file, which
                // the frame count check at the end of decoding reports.
                let frames_left = header.declared_frames;
                return Ok(Some(Self {
                    input: BufReader::with_capacity(1 << 16, file),
                    header,
                    frames_left,
                    bytes: Vec::new(),
                }));
            } else {
                let skip = size + size % 2;
                position += skip;
                if position > file_len {
                    return Ok(None);
                }
                file.seek(SeekFrom::Start(position))?;
            }
        }
    }

    /// The parsed header.
    pub fn header(&self) -> &WavHeader {
        &self.header
    }

    /// Reads up to [`CHUNK_FRAMES`] frames into `planes` (resized to what was read). Returns the
    /// frame count: 0 at the end of the data.
    ///
    /// # Errors
    /// Read errors. A file that ends before the declared data does is reported by the caller by
    /// comparing frame counts.
    pub fn read_into<S: PlanarSample>(
        &mut self,
        planes: &mut Vec<Vec<S>>,
    ) -> std::io::Result<usize> {
        let channels = self.header.channels;
        let width = self.header.coding.bytes();
        let frame_bytes = channels * width;
        let want = (self.frames_left.min(CHUNK_FRAMES as u64)) as usize;
        self.bytes.resize(want * frame_bytes, 0);
        let mut filled = 0;
        while filled < self.bytes.len() {
            match self.input.read(&mut self.bytes[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        let frames = filled / frame_bytes;
        if frames < want {
            // The file ends early: stop here for good.
            self.frames_left = 0;
        } else {
            self.frames_left -= frames as u64;
        }
        planes.resize(channels, Vec::new());
        for plane in planes.iter_mut() {
            plane.resize(frames, S::default());
        }
        let data = &self.bytes[..frames * frame_bytes];
        match self.header.coding {
            WavCoding::U8 => convert(data, planes, 1, |b| {
                S::from_f32((f32::from(b[0]) - 128.0) * (1.0 / 128.0))
            }),
            WavCoding::I16 => convert(data, planes, 2, |b| {
                S::from_f32(f32::from(i16::from_le_bytes([b[0], b[1]])) * (1.0 / 32_768.0))
            }),
            WavCoding::I24 => convert(data, planes, 3, |b| {
                // Place the 3 bytes in the top of an i32, then shift back to sign-extend.
                let v = i32::from_le_bytes([0, b[0], b[1], b[2]]) >> 8;
                S::from_f32(v as f32 * (1.0 / 8_388_608.0))
            }),
            WavCoding::I32 => convert(data, planes, 4, |b| {
                S::from_f64(
                    f64::from(i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                        * (1.0 / 2_147_483_648.0),
                )
            }),
            WavCoding::F32 => convert(data, planes, 4, |b| {
                S::from_f32(f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            }),
            WavCoding::F64 => convert(data, planes, 8, |b| {
                S::from_f64(f64::from_le_bytes([
                    b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
                ]))
            }),
        }
        Ok(frames)
    }
}

/// De-interleaves `data` (frames of `planes.len()` samples of `width` bytes) into `planes`.
#[inline(always)]
fn convert<S: PlanarSample>(
    data: &[u8],
    planes: &mut [Vec<S>],
    width: usize,
    sample: impl Fn(&[u8]) -> S,
) {
    let channels = planes.len();
    if channels == 2 {
        // The common case gets a loop the compiler can keep in registers.
        let (left, right) = planes.split_at_mut(1);
        let (left, right) = (&mut left[0], &mut right[0]);
        for ((frame, l), r) in data
            .chunks_exact(2 * width)
            .zip(left.iter_mut())
            .zip(right.iter_mut())
        {
            *l = sample(&frame[..width]);
            *r = sample(&frame[width..]);
        }
        return;
    }
    for (n, frame) in data.chunks_exact(channels * width).enumerate() {
        for (plane, bytes) in planes.iter_mut().zip(frame.chunks_exact(width)) {
            if let Some(slot) = plane.get_mut(n) {
                *slot = sample(bytes);
            }
        }
    }
}

/// Parses a fmt chunk body for the codings this reader handles.
fn parse_fmt(f: &[u8], data_size: u64) -> Option<WavHeader> {
    let u16_at = |i: usize| u16::from_le_bytes([f[i], f[i + 1]]);
    let u32_at = |i: usize| u32::from_le_bytes([f[i], f[i + 1], f[i + 2], f[i + 3]]);
    let mut tag = u16_at(0);
    let channels = usize::from(u16_at(2));
    let sample_rate_hz = u32_at(4);
    let block_align = usize::from(u16_at(12));
    let bits = u16_at(14);
    let mut channel_mask = None;
    if tag == 0xfffe {
        if f.len() < 40 {
            return None;
        }
        let valid_bits = u16_at(18);
        if valid_bits != bits {
            return None;
        }
        let mask = u32_at(20);
        channel_mask = (mask != 0).then_some(mask);
        // The sub-format GUID: the first two bytes are the format tag, the rest is fixed.
        const GUID_TAIL: [u8; 14] = [0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0xaa, 0, 0x38, 0x9b, 0x71];
        if f[26..40] != GUID_TAIL {
            return None;
        }
        tag = u16_at(24);
    }
    let coding = match (tag, bits) {
        (1, 8) => WavCoding::U8,
        (1, 16) => WavCoding::I16,
        (1, 24) => WavCoding::I24,
        (1, 32) => WavCoding::I32,
        (3, 32) => WavCoding::F32,
        (3, 64) => WavCoding::F64,
        _ => return None,
    };
    if channels == 0 || block_align != channels * coding.bytes() {
        return None;
    }
    Some(WavHeader {
        sample_rate_hz,
        channels,
        coding,
        channel_mask,
        declared_frames: data_size / block_align as u64,
    })
}
