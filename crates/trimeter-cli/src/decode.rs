//! Streaming decoding of any supported file into planar `f32` packets.
//!
//! Symphonia does the demuxing and decoding (WAV incl. WAVE_FORMAT_EXTENSIBLE, AIFF, FLAC, Ogg
//! Vorbis, MP3). A [`Source`] holds one decoded packet at a time, so memory stays constant for files
//! of any length: the planar buffers grow to the largest packet and are then reused.
//!
//! Every failure is turned into a short sentence that names the reason (missing, empty, truncated,
//! corrupt, unsupported), because it ends up in the `error` field of the JSON report.

use std::fs::File;
use std::path::Path;

use symphonia::core::audio::conv::ConvertibleSample;
use symphonia::core::audio::Channels;
use symphonia::core::codecs::audio::well_known::*;
use symphonia::core::codecs::audio::{AudioDecoder, AudioDecoderOptions};
use symphonia::core::errors::Error as SymphoniaError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, FormatReader, TrackType};
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;
use trimeter_meters::meter::MAX_CHANNELS;

use crate::wav_in::{PlanarSample, WavCoding, WavReader};

/// The lowest sample rate the meters are specified for, in Hz.
pub const MIN_SAMPLE_RATE_HZ: u32 = 8_000;
/// The highest sample rate the meters are specified for, in Hz.
pub const MAX_SAMPLE_RATE_HZ: u32 = 384_000;

/// The container a file came in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Container {
    /// RIFF WAVE.
    Wav,
    /// AIFF or AIFF-C.
    Aiff,
    /// Native FLAC.
    Flac,
    /// Ogg (Vorbis).
    Ogg,
    /// MPEG audio (MP3).
    Mpeg,
}

/// How samples are coded in the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// Linear integer PCM with this many bits per sample (8, 16, 24 or 32).
    Int {
        /// Bits per sample.
        bits: u16,
    },
    /// IEEE float PCM with this many bits per sample (32 or 64).
    Float {
        /// Bits per sample.
        bits: u16,
    },
    /// Lossless compression of integer PCM with this many bits per sample (FLAC).
    Lossless {
        /// Bits per sample, when known.
        bits: u16,
    },
    /// Lossy perceptual coding (MP3, Vorbis), or a companded PCM variant (A-law, mu-law).
    Lossy {
        /// The codec's name for messages.
        codec: &'static str,
    },
}

/// What the file holds, known after opening it.
#[derive(Clone, Copy, Debug)]
pub struct AudioInfo {
    /// Sample rate in Hz.
    pub sample_rate_hz: u32,
    /// Channel count, 1..=[`MAX_CHANNELS`].
    pub channels: usize,
    /// The WAVE_FORMAT_EXTENSIBLE-style channel mask (bit 3 = LFE) when the file declares speaker
    /// positions for every channel, else `None` (BS.1770 default weights for the count).
    pub wave_channel_mask: Option<u32>,
    /// The container.
    pub container: Container,
    /// The sample coding.
    pub encoding: Encoding,
    /// The frame count the container declares, when it declares one.
    pub declared_frames: Option<u64>,
}

/// Who decodes a file.
enum Backend {
    /// Plain PCM / float WAV, read directly.
    Wav(WavReader),
    /// Everything else.
    Symphonia {
        format: Box<dyn FormatReader>,
        decoder: Box<dyn AudioDecoder>,
        track_id: u32,
    },
}

/// An open file that yields decoded planar packets.
pub struct Source {
    backend: Backend,
    info: AudioInfo,
    /// Frames decoded so far.
    decoded_frames: u64,
    /// What happens to NaN and infinite samples.
    non_finite: NonFinite,
    /// NaN and infinite samples replaced so far.
    non_finite_samples: u64,
    /// For native FLAC: where the frames start and end in the file, and how many of those bytes
    /// the packets so far held, so that data the demuxer skipped is noticed.
    flac_bytes: Option<FlacBytes>,
}

/// What a [`Source`] does with NaN and infinite samples.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum NonFinite {
    /// Hand them on (the meters have their own guard).
    Keep,
    /// Replace them by zero and count them.
    Zero,
    /// Fail at the first one.
    Refuse,
}

/// Byte accounting for a native FLAC file (see [`Source::finish`]).
#[derive(Clone, Copy, Debug)]
struct FlacBytes {
    /// The offset of the first frame (after the ID3v2 tag, if any, and the metadata blocks).
    frames_start: u64,
    /// The offset where the frames end (the file length, less a trailing ID3v1 tag).
    frames_end: u64,
    /// Bytes of frames handed out as packets so far.
    packet_bytes: u64,
    /// The first frame's sample number (0, unless the stream was cut from a longer one).
    first_sample: Option<u64>,
}

impl Source {
    /// Opens and probes `path`.
    ///
    /// # Errors
    /// A sentence naming why the file cannot be decoded (missing, empty, unsupported format or
    /// codec, unsupported channel count or sample rate).
    pub fn open(path: &Path) -> Result<Self, String> {
        // NOTE: Checked before opening: opening a FIFO blocks until a writer appears, and a pipe,
        // socket or device has no length to check the decoded audio against.
        let meta = std::fs::metadata(path).map_err(|err| format!("cannot open file: {err}"))?;
        if meta.is_dir() {
            return Err("is a directory, not an audio file".into());
        }
        if !meta.is_file() {
            return Err(
                "not a regular file (a pipe, FIFO, socket or device): save the audio to a file first"
                    .into(),
            );
        }
        let file = File::open(path).map_err(|err| format!("cannot open file: {err}"))?;
        let meta = file
            .metadata()
            .map_err(|err| format!("cannot read file: {err}"))?;
        if meta.len() == 0 {
            return Err("empty file (0 bytes)".into());
        }
        let wav = WavReader::open(path).map_err(|err| match err.kind() {
            std::io::ErrorKind::InvalidData => format!("unsupported: {err}"),
            _ => format!("read error: {err}"),
        })?;
        if let Some(reader) = wav {
            return Self::from_wav(reader);
        }
        let mss = MediaSourceStream::new(Box::new(file), Default::default());
        let mut hint = Hint::new();
        if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
            hint.with_extension(ext);
        }
        let format = symphonia::default::get_probe()
            .probe(
                &hint,
                mss,
                FormatOptions::default(),
                MetadataOptions::default(),
            )
            .map_err(|err| match err {
                SymphoniaError::Unsupported(_) => {
                    "unsupported or unrecognized file format".to_string()
                }
                other => describe_error("cannot read the file header", &other),
            })?;
        let container = match format.format_info().short_name {
            "wave" => Container::Wav,
            "aiff" => Container::Aiff,
            "flac" => Container::Flac,
            "ogg" => Container::Ogg,
            "mp1" | "mp2" | "mp3" => Container::Mpeg,
            other => return Err(format!("unsupported container '{other}'")),
        };
        let track = format
            .default_track(TrackType::Audio)
            .ok_or_else(|| "no audio track in the file".to_string())?;
        let params = track
            .codec_params
            .as_ref()
            .and_then(|p| p.audio())
            .ok_or_else(|| "no audio codec parameters in the file".to_string())?;
        let track_id = track.id;
        let declared_frames = track.num_frames;
        let sample_rate_hz = params
            .sample_rate
            .ok_or_else(|| "the file declares no sample rate".to_string())?;
        let channel_set = params
            .channels
            .clone()
            .ok_or_else(|| "the file declares no channel layout".to_string())?;
        let channels = channel_set.count();
        check_layout(channels, sample_rate_hz)?;
        let encoding = encoding_of(params.codec, params.bits_per_sample)?;
        let wave_channel_mask = wave_mask(&channel_set);
        // FLAC carries an MD5 of the audio (unless it was written to a pipe): check it.
        let options = AudioDecoderOptions::default().verify(true);
        let decoder = symphonia::default::get_codecs()
            .make_audio_decoder(params, &options)
            .map_err(|err| describe_error("unsupported codec", &err))?;
        let flac_bytes = if container == Container::Flac {
            Some(flac_bytes(path, meta.len())?)
        } else {
            None
        };
        Ok(Self {
            backend: Backend::Symphonia {
                format,
                decoder,
                track_id,
            },
            info: AudioInfo {
                sample_rate_hz,
                channels,
                wave_channel_mask,
                container,
                encoding,
                declared_frames,
            },
            decoded_frames: 0,
            non_finite: NonFinite::Keep,
            non_finite_samples: 0,
            flac_bytes,
        })
    }

    /// A source on the direct WAV reader.
    fn from_wav(reader: WavReader) -> Result<Self, String> {
        let header = *reader.header();
        check_layout(header.channels, header.sample_rate_hz)?;
        let encoding = match header.coding {
            WavCoding::U8 => Encoding::Int { bits: 8 },
            WavCoding::I16 => Encoding::Int { bits: 16 },
            WavCoding::I24 => Encoding::Int { bits: 24 },
            WavCoding::I32 => Encoding::Int { bits: 32 },
            WavCoding::F32 => Encoding::Float { bits: 32 },
            WavCoding::F64 => Encoding::Float { bits: 64 },
        };
        // A mask that does not name exactly one position per channel cannot assign weights:
        // use the BS.1770 defaults for the count instead.
        let wave_channel_mask = header
            .channel_mask
            .filter(|m| m.count_ones() as usize == header.channels);
        Ok(Self {
            backend: Backend::Wav(reader),
            info: AudioInfo {
                sample_rate_hz: header.sample_rate_hz,
                channels: header.channels,
                wave_channel_mask,
                container: Container::Wav,
                encoding,
                declared_frames: Some(header.declared_frames),
            },
            decoded_frames: 0,
            non_finite: NonFinite::Keep,
            non_finite_samples: 0,
            flac_bytes: None,
        })
    }

    /// What the file holds.
    pub fn info(&self) -> &AudioInfo {
        &self.info
    }

    /// Frames decoded so far.
    pub fn decoded_frames(&self) -> u64 {
        self.decoded_frames
    }

    /// From now on, replace NaN and infinite samples by zero and count them
    /// ([`non_finite_samples`](Self::non_finite_samples)). Off by default: the meters have their
    /// own guard.
    pub fn zero_non_finite(&mut self) {
        self.non_finite = NonFinite::Zero;
    }

    /// From now on, fail (an error naming the frame) at the first NaN or infinite sample.
    pub fn refuse_non_finite(&mut self) {
        self.non_finite = NonFinite::Refuse;
    }

    /// NaN and infinite samples replaced by zero so far (see [`zero_non_finite`](Self::zero_non_finite)).
    pub fn non_finite_samples(&self) -> u64 {
        self.non_finite_samples
    }

    /// Replaces (or refuses) NaN and infinite samples in the packet just decoded, when asked to.
    /// Integer codings cannot hold them, so they are not scanned.
    fn guard_non_finite<S: PlanarSample>(&mut self, planes: &mut [Vec<S>]) -> Result<(), String> {
        if self.non_finite == NonFinite::Keep
            || matches!(
                self.info.encoding,
                Encoding::Int { .. } | Encoding::Lossless { .. }
            )
        {
            return Ok(());
        }
        if !planes.iter().any(|p| S::any_non_finite(p)) {
            return Ok(());
        }
        let packet_frames = planes.first().map_or(0, Vec::len) as u64;
        for plane in planes.iter_mut() {
            for (n, sample) in plane.iter_mut().enumerate() {
                if sample.is_finite_sample() {
                    continue;
                }
                if self.non_finite == NonFinite::Refuse {
                    return Err(format!(
                        "the file holds NaN or infinite samples (one at frame {}); use --allow-non-finite to write them as zero",
                        self.decoded_frames - packet_frames + n as u64
                    ));
                }
                *sample = S::default();
                self.non_finite_samples += 1;
            }
        }
        Ok(())
    }

    /// Decodes the next packet into `planes[channel][frame]` (resized to the packet, possibly zero
    /// frames; the vectors are reused, so memory stays at the largest packet). Returns `Ok(false)`
    /// at the end of the stream.
    ///
    /// # Errors
    /// Corrupt or truncated data, or a stream whose layout changes midway.
    pub fn next_packet_into<S: ConvertibleSample + PlanarSample>(
        &mut self,
        planes: &mut Vec<Vec<S>>,
    ) -> Result<bool, String> {
        let (format, decoder, track_id) = match &mut self.backend {
            Backend::Wav(reader) => {
                let frames = reader
                    .read_into(planes)
                    .map_err(|err| format!("read error: {err}"))?;
                self.decoded_frames += frames as u64;
                if frames == 0 {
                    return self.finish().map(|()| false);
                }
                self.guard_non_finite(planes)?;
                return Ok(true);
            }
            Backend::Symphonia {
                format,
                decoder,
                track_id,
            } => (format, decoder, *track_id),
        };
        loop {
            let packet = match format.next_packet() {
                Ok(Some(packet)) => packet,
                Ok(None) => {
                    if decoder.finalize().verify_ok == Some(false) {
                        return Err(
                            "corrupt data: the decoded audio does not match the file's MD5 checksum"
                                .into(),
                        );
                    }
                    return self.finish().map(|()| false);
                }
                Err(SymphoniaError::IoError(err))
                    if err.kind() == std::io::ErrorKind::UnexpectedEof =>
                {
                    return Err(format!(
                        "truncated file: the data ends early after {} frames",
                        self.decoded_frames
                    ));
                }
                Err(err) => return Err(describe_error("corrupt data", &err)),
            };
            if packet.track_id != track_id {
                continue;
            }
            if let Some(bytes) = self.flac_bytes.as_mut() {
                // Symphonia skips FLAC frames that fail their checksum: a packet that does not
                // start where the previous one ended means audio was lost.
                // (A damaged first frame is caught by the byte count at the end.)
                let start = u64::try_from(packet.pts.get()).unwrap_or(0);
                let first = *bytes.first_sample.get_or_insert(start);
                let expected = first + self.decoded_frames;
                if start != expected {
                    return Err(format!(
                        "corrupt data: frames {expected} to {start} are missing (a damaged frame was skipped)"
                    ));
                }
                bytes.packet_bytes += packet.data.len() as u64;
            }
            let decoded = match decoder.decode(&packet) {
                Ok(decoded) => decoded,
                Err(SymphoniaError::IoError(err))
                    if err.kind() == std::io::ErrorKind::UnexpectedEof =>
                {
                    return Err(format!(
                        "truncated file: the data ends early after {} frames",
                        self.decoded_frames
                    ));
                }
                Err(err) => {
                    return Err(format!(
                        "{} at frame {}",
                        describe_error("corrupt data", &err),
                        self.decoded_frames
                    ))
                }
            };
            if decoded.num_planes() != self.info.channels
                || decoded.spec().rate() != self.info.sample_rate_hz
            {
                return Err(
                    "unsupported stream: the channel count or sample rate changes midway".into(),
                );
            }
            decoded.copy_to_vecs_planar::<S>(planes);
            self.decoded_frames += decoded.frames() as u64;
            self.guard_non_finite(planes)?;
            return Ok(true);
        }
    }

    /// Checks the end of the stream against what the container declared, and for FLAC that the
    /// frames decoded cover the file (a FLAC written to a pipe declares no length, so a damaged or
    /// cut-off last frame would otherwise go unnoticed).
    fn finish(&self) -> Result<(), String> {
        if let Some(bytes) = self.flac_bytes {
            let covered = bytes.frames_start + bytes.packet_bytes;
            if covered < bytes.frames_end {
                return Err(format!(
                    "truncated or corrupt file: {} bytes of audio frames could not be decoded ({} frames decoded)",
                    bytes.frames_end - covered,
                    self.decoded_frames
                ));
            }
        }
        if let Some(declared) = self.info.declared_frames {
            // NOTE: Only fewer frames than declared is an error; lossy decoders can legitimately
            // produce a few more frames than a container's estimate.
            if self.decoded_frames < declared
                && matches!(
                    self.info.container,
                    Container::Wav | Container::Aiff | Container::Flac
                )
            {
                // Symphonia skips FLAC frames that fail their checksum, so a corrupt FLAC file
                // also ends up here.
                return Err(format!(
                    "truncated or corrupt file: only {} of the {} declared frames decoded",
                    self.decoded_frames, declared
                ));
            }
        }
        Ok(())
    }
}

/// Where the frames of a native FLAC file lie: after an optional ID3v2 tag, the `fLaC` marker and
/// the metadata blocks, up to the end of the file or a trailing ID3v1 tag.
fn flac_bytes(path: &Path, file_len: u64) -> Result<FlacBytes, String> {
    use std::io::{Read, Seek, SeekFrom};
    let unreadable = |err: std::io::Error| format!("read error: {err}");
    let mut file = File::open(path).map_err(unreadable)?;
    let mut head = [0u8; 10];
    file.read_exact(&mut head).map_err(unreadable)?;
    let mut position = 0u64;
    if &head[..3] == b"ID3" {
        // ID3v2: 10-byte header, a 28-bit "syncsafe" size, and a 10-byte footer if flagged.
        let size = head[6..10]
            .iter()
            .fold(0u64, |acc, &b| (acc << 7) | u64::from(b & 0x7f));
        let footer = if head[5] & 0x10 != 0 { 10 } else { 0 };
        position = 10 + size + footer;
    }
    let mut marker = [0u8; 4];
    file.seek(SeekFrom::Start(position)).map_err(unreadable)?;
    file.read_exact(&mut marker).map_err(unreadable)?;
    if &marker != b"fLaC" {
        return Err("unsupported: the FLAC stream does not start with its marker".into());
    }
    position += 4;
    loop {
        let mut block = [0u8; 4];
        file.seek(SeekFrom::Start(position)).map_err(unreadable)?;
        file.read_exact(&mut block)
            .map_err(|_| "truncated file: it ends inside a header or packet".to_string())?;
        let len = u64::from(u32::from_be_bytes([0, block[1], block[2], block[3]]));
        position += 4 + len;
        if block[0] & 0x80 != 0 {
            break;
        }
    }
    let mut frames_end = file_len;
    if file_len >= position + 128 {
        let mut tag = [0u8; 3];
        file.seek(SeekFrom::Start(file_len - 128))
            .map_err(unreadable)?;
        file.read_exact(&mut tag).map_err(unreadable)?;
        if &tag == b"TAG" {
            frames_end -= 128;
        }
    }
    Ok(FlacBytes {
        frames_start: position,
        frames_end,
        packet_bytes: 0,
        first_sample: None,
    })
}

/// Checks the channel count and sample rate against what the meters support.
fn check_layout(channels: usize, sample_rate_hz: u32) -> Result<(), String> {
    if channels == 0 || channels > MAX_CHANNELS {
        return Err(format!(
            "unsupported channel count {channels} (1 to {MAX_CHANNELS} supported)"
        ));
    }
    if !(MIN_SAMPLE_RATE_HZ..=MAX_SAMPLE_RATE_HZ).contains(&sample_rate_hz) {
        return Err(format!(
            "unsupported sample rate {sample_rate_hz} Hz ({MIN_SAMPLE_RATE_HZ} to {MAX_SAMPLE_RATE_HZ} Hz supported)"
        ));
    }
    Ok(())
}

/// Classifies a codec.
fn encoding_of(
    codec: symphonia::core::codecs::audio::AudioCodecId,
    bits: Option<u32>,
) -> Result<Encoding, String> {
    let int = |bits: u16| Ok(Encoding::Int { bits });
    match codec {
        CODEC_ID_PCM_U8 | CODEC_ID_PCM_S8 | CODEC_ID_PCM_U8_PLANAR | CODEC_ID_PCM_S8_PLANAR => {
            int(8)
        }
        CODEC_ID_PCM_S16LE | CODEC_ID_PCM_S16BE | CODEC_ID_PCM_U16LE | CODEC_ID_PCM_U16BE => {
            int(16)
        }
        CODEC_ID_PCM_S24LE | CODEC_ID_PCM_S24BE | CODEC_ID_PCM_U24LE | CODEC_ID_PCM_U24BE => {
            int(24)
        }
        CODEC_ID_PCM_S32LE | CODEC_ID_PCM_S32BE | CODEC_ID_PCM_U32LE | CODEC_ID_PCM_U32BE => {
            int(32)
        }
        CODEC_ID_PCM_F32LE | CODEC_ID_PCM_F32BE => Ok(Encoding::Float { bits: 32 }),
        CODEC_ID_PCM_F64LE | CODEC_ID_PCM_F64BE => Ok(Encoding::Float { bits: 64 }),
        CODEC_ID_PCM_ALAW => Ok(Encoding::Lossy { codec: "A-law" }),
        CODEC_ID_PCM_MULAW => Ok(Encoding::Lossy { codec: "mu-law" }),
        CODEC_ID_FLAC => Ok(Encoding::Lossless {
            bits: bits.unwrap_or(0) as u16,
        }),
        CODEC_ID_MP1 | CODEC_ID_MP2 | CODEC_ID_MP3 => Ok(Encoding::Lossy {
            codec: "MPEG audio",
        }),
        CODEC_ID_VORBIS => Ok(Encoding::Lossy { codec: "Vorbis" }),
        CODEC_ID_ADPCM_IMA_WAV | CODEC_ID_ADPCM_MS => Ok(Encoding::Lossy { codec: "ADPCM" }),
        _ => Err("unsupported codec".into()),
    }
}

/// The WAVE channel mask for a positioned channel set whose positions all lie in the 18 standard
/// WAVE positions (Symphonia's first 18 position bits are the WAVE mask bits).
fn wave_mask(channels: &Channels) -> Option<u32> {
    match channels {
        Channels::Positioned(positions) => {
            let bits = positions.bits();
            let wave_bits = bits & 0x3_FFFF;
            // A second LFE (bit 18, outside the WAVE mask) or other extra positions would leave
            // channels without a weight: fall back to the defaults for the count.
            (wave_bits == bits && positions.iter().count() == channels.count())
                .then_some(wave_bits as u32)
        }
        _ => None,
    }
}

/// Turns a Symphonia error into a sentence.
fn describe_error(context: &str, err: &SymphoniaError) -> String {
    match err {
        SymphoniaError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            "truncated file: it ends inside a header or packet".to_string()
        }
        SymphoniaError::IoError(io) => format!("read error: {io}"),
        SymphoniaError::DecodeError(msg) => format!("{context}: {msg}"),
        SymphoniaError::Unsupported(what) => format!("unsupported: {what}"),
        SymphoniaError::LimitError(what) => format!("{context}: limit reached ({what})"),
        other => format!("{context}: {other}"),
    }
}
