//! FLAC output for `trimeter stage`: the decoded samples go through the same gain, peak and clip
//! bookkeeping and TPDF dither as WAV and AIFF output ([`Quantizer`]), then the `flacenc` crate
//! encodes them at the input's bit depth.
//!
//! The encoder pulls blocks of samples from [`Input`], which decodes the source as it goes, so
//! the PCM is never held whole; the encoded frames are collected in memory (FLAC-compressed
//! size) and written to the file at the end.

use std::io::Write;
use std::path::Path;

use flacenc::component::BitRepr;
use flacenc::error::{SourceError, Verify};
use flacenc::source::Fill;

use crate::decode::Source;
use crate::wav_out::{OutSample, OutSpec, Quantizer};

/// Why the encoder's input stopped early.
enum Stop {
    /// The source could not be decoded.
    Decode(String),
    /// A sample reached full scale and clipping is not allowed.
    Clipped,
}

/// The encoder's view of the source: interleaved integer samples, decoded on demand.
struct Input<'a> {
    source: &'a mut Source,
    quantizer: Quantizer,
    bits: u16,
    channels: usize,
    sample_rate: usize,
    refuse_clips: bool,
    /// Decoded planes of the current packet.
    planes: Vec<Vec<f64>>,
    /// Quantized interleaved samples not yet handed to the encoder.
    pending: Vec<i32>,
    /// Set when the input stopped for a reason other than the end of the file.
    stop: Option<Stop>,
}

impl Input<'_> {
    /// Decodes packets until `want` interleaved samples are pending or the source ends.
    fn fill(&mut self, want: usize) {
        while self.pending.len() < want && self.stop.is_none() {
            match self.source.next_packet_into(&mut self.planes) {
                Ok(true) => {}
                Ok(false) => return,
                Err(error) => {
                    self.stop = Some(Stop::Decode(error));
                    return;
                }
            }
            let frames = self.planes.first().map_or(0, Vec::len);
            for frame in 0..frames {
                for channel in 0..self.channels {
                    let x = self
                        .planes
                        .get(channel)
                        .and_then(|plane| plane.get(frame))
                        .copied()
                        .unwrap_or(0.0);
                    let x = self.quantizer.scale(x);
                    // `quantize` saturates at `bits`, so the value fits in i32 for bits <= 32.
                    self.pending
                        .push(self.quantizer.quantize(channel, x, self.bits) as i32);
                }
            }
            if self.refuse_clips && self.quantizer.clipped_samples > 0 {
                self.stop = Some(Stop::Clipped);
            }
        }
    }
}

impl flacenc::source::Source for Input<'_> {
    fn channels(&self) -> usize {
        self.channels
    }

    fn bits_per_sample(&self) -> usize {
        usize::from(self.bits)
    }

    fn sample_rate(&self) -> usize {
        self.sample_rate
    }

    fn read_samples<F: Fill>(
        &mut self,
        block_size: usize,
        dest: &mut F,
    ) -> Result<usize, SourceError> {
        let want = block_size * self.channels;
        self.fill(want);
        if self.stop.is_some() {
            // Ends the stream; `write_flac` reports the reason and discards the output.
            return Ok(0);
        }
        let take = self.pending.len().min(want);
        dest.fill_interleaved(&self.pending[..take])?;
        self.pending.drain(..take);
        Ok(take / self.channels.max(1))
    }
}

/// Decodes `source`, applies `gain` (linear; with TPDF dither when `dither`) and writes it to
/// `path` as FLAC at `spec`'s bit depth. Returns the quantizer (peak and clip count). When
/// `clip_error` is given, the first sample at full scale stops the encoding with that error.
pub fn write_flac(
    source: &mut Source,
    path: &Path,
    spec: OutSpec,
    gain: f64,
    dither: bool,
    clip_error: Option<String>,
) -> Result<Quantizer, String> {
    let OutSample::Int(bits) = spec.sample else {
        return Err("FLAC holds integer samples only".into());
    };
    let config = flacenc::config::Encoder::default()
        .into_verified()
        .map_err(|(_, e)| format!("FLAC encoder settings: {e}"))?;
    let mut input = Input {
        source,
        quantizer: Quantizer::new(gain, dither, spec.channels),
        bits,
        channels: usize::from(spec.channels),
        sample_rate: spec.sample_rate_hz as usize,
        refuse_clips: clip_error.is_some(),
        planes: Vec::new(),
        pending: Vec::new(),
        stop: None,
    };
    let mut stream = flacenc::encode_with_fixed_block_size(&config, &mut input, config.block_size)
        .map_err(|e| format!("FLAC encoder: {e}"))?;
    // flacenc counts the shorter last frame in the minimum block size. The format excludes it,
    // and a reader (Symphonia among them) takes min != max for a variable-block-size stream and
    // then rejects the fixed-size frame numbers; libFLAC writes min = max for fixed blocks.
    stream
        .stream_info_mut()
        .set_block_sizes(config.block_size, config.block_size)
        .map_err(|e| format!("FLAC encoder: {e}"))?;
    match input.stop.take() {
        Some(Stop::Decode(error)) => return Err(error),
        Some(Stop::Clipped) => return Err(clip_error.unwrap_or_default()),
        None => {}
    }
    if input.source.decoded_frames() == 0 {
        return Err("no audio: the file holds 0 frames".into());
    }
    let mut sink = flacenc::bitsink::ByteSink::new();
    stream
        .write(&mut sink)
        .map_err(|e| format!("FLAC encoder: {e}"))?;
    let mut file = std::fs::File::create(path)
        .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    file.write_all(sink.as_slice())
        .and_then(|()| file.sync_all())
        .map_err(|e| format!("write error: {e}"))?;
    Ok(input.quantizer)
}
