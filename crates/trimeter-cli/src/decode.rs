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
}

impl Source {
    /// Opens and probes `path`.
    ///
    /// # Errors
    /// A sentence naming why the file cannot be decoded (missing, empty, unsupported format or
    /// codec, unsupported channel count or sample rate).
    pub fn open(path: &Path) -> Result<Self, String> {
        let file = File::open(path).map_err(|err| format!("cannot open file: {err}"))?;
        let meta = file
            .metadata()
            .map_err(|err| format!("cannot read file: {err}"))?;
        if meta.is_dir() {
            return Err("is a directory, not an audio file".into());
        }
        if meta.len() == 0 {
            return Err("empty file (0 bytes)".into());
        }
        if let Some(reader) = WavReader::open(path).map_err(|err| format!("read error: {err}"))? {
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
        let decoder = symphonia::default::get_codecs()
            .make_audio_decoder(params, &AudioDecoderOptions::default())
            .map_err(|err| describe_error("unsupported codec", &err))?;
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
                return if frames == 0 {
                    self.finish().map(|()| false)
                } else {
                    Ok(true)
                };
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
                Ok(None) => return self.finish().map(|()| false),
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
            return Ok(true);
        }
    }

    /// Checks the end of the stream against what the container declared.
    fn finish(&self) -> Result<(), String> {
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
