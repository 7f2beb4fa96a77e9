//! FLAC output for `trimeter stage`, through libFLAC, the reference encoder (built from the
//! source that the `libflac-sys` crate bundles).
//!
//! The decoded samples go through the same gain, peak and clip bookkeeping and TPDF dither as WAV
//! and AIFF output ([`Quantizer`]) and are handed to the encoder packet by packet; the encoder
//! writes each frame through [`Sink`] into the (temporary) output file as it goes, so memory stays
//! at one packet and one FLAC block whatever the file's length. At the end libFLAC seeks back and
//! fills in STREAMINFO (total samples, MD5).
//!
//! libFLAC writes 4 to 32 bits per sample at every rate FLAC allows (up to 1,048,575 Hz), falls
//! back to verbatim subframes where prediction does not pay, so a copy is never much larger than
//! the PCM it holds, and reports every failure as a state rather than aborting.

use std::ffi::{c_void, CStr};
use std::fs::File;
use std::io::{self, BufWriter, Seek, SeekFrom, Write};

use libflac_sys as ffi;

use crate::verify::Digest;
use crate::wav_out::{OutSample, OutSpec, Quantizer};

/// The bit depths libFLAC writes.
pub const FLAC_BITS: std::ops::RangeInclusive<u16> = 4..=32;

/// Where libFLAC's output goes: the open output file. A write error is kept to report it.
struct Sink {
    out: BufWriter<File>,
    error: Option<io::Error>,
}

/// libFLAC's write callback.
unsafe extern "C" fn write_callback(
    _encoder: *const ffi::FLAC__StreamEncoder,
    buffer: *const ffi::FLAC__byte,
    bytes: usize,
    _samples: u32,
    _current_frame: u32,
    client_data: *mut c_void,
) -> ffi::FLAC__StreamEncoderWriteStatus {
    // SAFETY: `client_data` is the `Sink` that `FlacWriter` boxed and keeps alive until the
    // encoder is deleted; libFLAC calls back on the thread that called into it.
    let sink = unsafe { &mut *client_data.cast::<Sink>() };
    let data = if bytes == 0 || buffer.is_null() {
        &[][..]
    } else {
        // SAFETY: libFLAC passes `bytes` valid bytes at `buffer`.
        unsafe { std::slice::from_raw_parts(buffer, bytes) }
    };
    match sink.out.write_all(data) {
        Ok(()) => ffi::FLAC__STREAM_ENCODER_WRITE_STATUS_OK,
        Err(error) => {
            sink.error.get_or_insert(error);
            ffi::FLAC__STREAM_ENCODER_WRITE_STATUS_FATAL_ERROR
        }
    }
}

/// libFLAC's seek callback (used at the end to rewrite STREAMINFO).
unsafe extern "C" fn seek_callback(
    _encoder: *const ffi::FLAC__StreamEncoder,
    absolute_byte_offset: ffi::FLAC__uint64,
    client_data: *mut c_void,
) -> ffi::FLAC__StreamEncoderSeekStatus {
    // SAFETY: as in `write_callback`.
    let sink = unsafe { &mut *client_data.cast::<Sink>() };
    match sink.out.seek(SeekFrom::Start(absolute_byte_offset)) {
        Ok(_) => ffi::FLAC__STREAM_ENCODER_SEEK_STATUS_OK,
        Err(error) => {
            sink.error.get_or_insert(error);
            ffi::FLAC__STREAM_ENCODER_SEEK_STATUS_ERROR
        }
    }
}

/// libFLAC's tell callback.
unsafe extern "C" fn tell_callback(
    _encoder: *const ffi::FLAC__StreamEncoder,
    absolute_byte_offset: *mut ffi::FLAC__uint64,
    client_data: *mut c_void,
) -> ffi::FLAC__StreamEncoderTellStatus {
    // SAFETY: as in `write_callback`.
    let sink = unsafe { &mut *client_data.cast::<Sink>() };
    match sink.out.stream_position() {
        Ok(position) if !absolute_byte_offset.is_null() => {
            // SAFETY: libFLAC passes a valid pointer to write the position to.
            unsafe { *absolute_byte_offset = position };
            ffi::FLAC__STREAM_ENCODER_TELL_STATUS_OK
        }
        Ok(_) => ffi::FLAC__STREAM_ENCODER_TELL_STATUS_ERROR,
        Err(error) => {
            sink.error.get_or_insert(error);
            ffi::FLAC__STREAM_ENCODER_TELL_STATUS_ERROR
        }
    }
}

/// A streaming FLAC writer of gain-adjusted planar audio.
pub struct FlacWriter {
    encoder: *mut ffi::FLAC__StreamEncoder,
    /// Boxed so its address, which libFLAC holds, stays put.
    sink: Box<Sink>,
    channels: usize,
    bits: u16,
    frames: u64,
    interleaved: Vec<i32>,
    /// The gain, clip count, peak and dither.
    pub quantizer: Quantizer,
    /// The digest of the samples written, for [`crate::verify::verify_copy`].
    pub digest: Digest,
}

impl Drop for FlacWriter {
    fn drop(&mut self) {
        if !self.encoder.is_null() {
            // SAFETY: the encoder came from FLAC__stream_encoder_new and is deleted once; the sink
            // it may still write to (when it was not finished) is dropped only after this.
            unsafe { ffi::FLAC__stream_encoder_delete(self.encoder) };
            self.encoder = std::ptr::null_mut();
        }
    }
}

impl FlacWriter {
    /// Starts a FLAC stream at `spec`'s bit depth, rate and channel count in `file` (an empty
    /// file opened for writing). `gain` is linear; `dither` adds TPDF dither before rounding.
    /// `frames_estimate` goes into STREAMINFO until the real count replaces it at the end.
    ///
    /// # Errors
    /// A format FLAC cannot hold, or an encoder that cannot start.
    pub fn new(
        file: File,
        spec: OutSpec,
        gain: f64,
        dither: bool,
        frames_estimate: Option<u64>,
    ) -> Result<Self, String> {
        let OutSample::Int(bits) = spec.sample else {
            return Err("FLAC holds integer samples only".into());
        };
        if !FLAC_BITS.contains(&bits) {
            return Err(format!(
                "FLAC cannot hold {bits}-bit samples (4 to 32 bits)"
            ));
        }
        if !(1..=8).contains(&spec.channels) {
            return Err(format!(
                "FLAC cannot hold {} channels (1 to 8)",
                spec.channels
            ));
        }
        if spec.sample_rate_hz == 0 || spec.sample_rate_hz > ffi::FLAC__MAX_SAMPLE_RATE {
            return Err(format!(
                "FLAC cannot hold a sample rate of {} Hz (1 to {} Hz)",
                spec.sample_rate_hz,
                ffi::FLAC__MAX_SAMPLE_RATE
            ));
        }
        // SAFETY: a plain constructor; null on allocation failure.
        let encoder = unsafe { ffi::FLAC__stream_encoder_new() };
        if encoder.is_null() {
            return Err("cannot allocate the FLAC encoder".into());
        }
        let mut writer = Self {
            encoder,
            sink: Box::new(Sink {
                out: BufWriter::with_capacity(1 << 16, file),
                error: None,
            }),
            channels: usize::from(spec.channels),
            bits,
            frames: 0,
            interleaved: Vec::new(),
            quantizer: Quantizer::new(gain, dither, spec.channels),
            digest: Digest::new(),
        };
        // The streamable subset (what hardware players must decode) holds 8, 12, 16, 20, 24 and
        // 32 bits at rates up to 655,350 Hz; outside it the encoder must be told to leave it.
        // SAFETY: a pure function.
        let subset = unsafe { ffi::FLAC__format_sample_rate_is_subset(spec.sample_rate_hz) } != 0
            && matches!(bits, 8 | 12 | 16 | 20 | 24 | 32);
        // SAFETY: setters on a fresh, uninitialized encoder; the sink outlives the encoder
        // (Drop deletes the encoder first).
        let status = unsafe {
            let ok = ffi::FLAC__stream_encoder_set_verify(encoder, 0) != 0
                && ffi::FLAC__stream_encoder_set_streamable_subset(encoder, i32::from(subset)) != 0
                && ffi::FLAC__stream_encoder_set_channels(encoder, u32::from(spec.channels)) != 0
                && ffi::FLAC__stream_encoder_set_bits_per_sample(encoder, u32::from(bits)) != 0
                && ffi::FLAC__stream_encoder_set_sample_rate(encoder, spec.sample_rate_hz) != 0
                && ffi::FLAC__stream_encoder_set_compression_level(encoder, 5) != 0
                && ffi::FLAC__stream_encoder_set_total_samples_estimate(
                    encoder,
                    frames_estimate.unwrap_or(0),
                ) != 0;
            if !ok {
                return Err("the FLAC encoder refused its settings".into());
            }
            let client: *mut Sink = &mut *writer.sink;
            ffi::FLAC__stream_encoder_init_stream(
                encoder,
                Some(write_callback),
                Some(seek_callback),
                Some(tell_callback),
                None,
                client.cast(),
            )
        };
        if status != ffi::FLAC__STREAM_ENCODER_INIT_STATUS_OK {
            return Err(format!(
                "the FLAC encoder cannot start: {}",
                init_status_text(status)
            ));
        }
        Ok(writer)
    }

    /// Appends planar frames `planes[channel][frame]` (all planes the same length).
    ///
    /// # Errors
    /// A write error, or an encoder error.
    pub fn write(&mut self, planes: &[Vec<f64>]) -> Result<(), String> {
        let frames = planes.first().map_or(0, Vec::len);
        if frames == 0 {
            return Ok(());
        }
        self.interleaved.clear();
        self.interleaved.reserve(frames * self.channels);
        for frame in 0..frames {
            for channel in 0..self.channels {
                let x = planes
                    .get(channel)
                    .and_then(|plane| plane.get(frame))
                    .copied()
                    .unwrap_or(0.0);
                let x = self.quantizer.scale(x);
                // `quantize` saturates at `bits` (at most 32), so the value fits in i32.
                let q = self.quantizer.quantize(channel, x, self.bits);
                self.digest.push_int(q);
                self.interleaved.push(q as i32);
            }
        }
        let count = u32::try_from(frames).map_err(|_| "a packet is too long".to_string())?;
        // SAFETY: the buffer holds `frames * channels` interleaved samples within `bits`.
        let ok = unsafe {
            ffi::FLAC__stream_encoder_process_interleaved(
                self.encoder,
                self.interleaved.as_ptr(),
                count,
            )
        } != 0;
        if !ok {
            return Err(self.failure());
        }
        self.frames += frames as u64;
        Ok(())
    }

    /// Frames written so far.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Encodes the last block, rewrites STREAMINFO, flushes and syncs the file to disk.
    ///
    /// # Errors
    /// A write error, or an encoder error.
    pub fn finish(mut self) -> Result<(), String> {
        // SAFETY: an initialized encoder; afterwards it is uninitialized and Drop deletes it.
        let ok = unsafe { ffi::FLAC__stream_encoder_finish(self.encoder) } != 0;
        if !ok || self.sink.error.is_some() {
            return Err(self.failure());
        }
        self.sink
            .out
            .flush()
            .and_then(|()| self.sink.out.get_ref().sync_all())
            .map_err(|e| format!("write error: {e}"))
    }

    /// Why the encoder failed: the write error it hit, or its own state.
    fn failure(&mut self) -> String {
        if let Some(error) = self.sink.error.take() {
            return format!("write error: {error}");
        }
        // SAFETY: returns a pointer to a static C string.
        let text = unsafe {
            let ptr = ffi::FLAC__stream_encoder_get_resolved_state_string(self.encoder);
            if ptr.is_null() {
                String::from("unknown error")
            } else {
                CStr::from_ptr(ptr).to_string_lossy().into_owned()
            }
        };
        format!("FLAC encoder: {text}")
    }
}

/// The name of an init status.
fn init_status_text(status: ffi::FLAC__StreamEncoderInitStatus) -> String {
    let name = match status {
        ffi::FLAC__STREAM_ENCODER_INIT_STATUS_ENCODER_ERROR => "encoder error",
        ffi::FLAC__STREAM_ENCODER_INIT_STATUS_INVALID_NUMBER_OF_CHANNELS => {
            "invalid number of channels"
        }
        ffi::FLAC__STREAM_ENCODER_INIT_STATUS_INVALID_BITS_PER_SAMPLE => "invalid bits per sample",
        ffi::FLAC__STREAM_ENCODER_INIT_STATUS_INVALID_SAMPLE_RATE => "invalid sample rate",
        ffi::FLAC__STREAM_ENCODER_INIT_STATUS_INVALID_BLOCK_SIZE => "invalid block size",
        ffi::FLAC__STREAM_ENCODER_INIT_STATUS_NOT_STREAMABLE => "not streamable",
        _ => "",
    };
    if name.is_empty() {
        format!("init status {status}")
    } else {
        name.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::verify_copy;
    use crate::wav_out::OutContainer;

    fn spec(bits: u16, channels: u16, sample_rate_hz: u32) -> OutSpec {
        OutSpec {
            container: OutContainer::Flac,
            sample: OutSample::Int(bits),
            channels,
            sample_rate_hz,
            wave_channel_mask: None,
        }
    }

    /// Full-scale-ish noise, packets of uneven length.
    fn write_noise(writer: &mut FlacWriter, channels: usize, frames: usize) {
        let mut rng = trimeter_meters::rng::Rng::new(7);
        let mut done = 0;
        while done < frames {
            let n = (1000 + done % 3001).min(frames - done);
            let planes: Vec<Vec<f64>> = (0..channels)
                .map(|_| (0..n).map(|_| rng.next_unit_f64() * 1.6 - 0.8).collect())
                .collect();
            writer.write(&planes).unwrap();
            done += n;
        }
    }

    /// Every depth from 4 to 32 bits and rates from 8 to 384 kHz: written, decoded back by our
    /// decoder bit for bit, and never larger than the PCM plus framing.
    #[test]
    fn every_depth_and_rate_round_trips_through_our_decoder() {
        let dir = tempfile::tempdir().unwrap();
        for (bits, sample_rate_hz, channels) in [
            (4, 8_000, 1),
            (8, 44_100, 2),
            (12, 48_000, 2),
            (16, 96_000, 2),
            (20, 176_400, 3),
            (24, 192_000, 2),
            (24, 384_000, 1),
            (32, 48_000, 2),
        ] {
            let path = dir.path().join(format!("{bits}-{sample_rate_hz}.flac"));
            let file = File::create(&path).unwrap();
            let spec = spec(bits, channels, sample_rate_hz);
            let mut writer = FlacWriter::new(file, spec, 1.0, true, None).unwrap();
            let frames = 20_000;
            write_noise(&mut writer, usize::from(channels), frames);
            let (written, digest) = (writer.frames(), writer.digest);
            writer.finish().unwrap();
            assert_eq!(written, frames as u64);
            verify_copy(&path, &spec, written, &digest)
                .unwrap_or_else(|e| panic!("{bits} bits at {sample_rate_hz} Hz: {e}"));
            let pcm = frames as u64 * u64::from(channels) * u64::from(bits).div_ceil(8);
            let size = std::fs::metadata(&path).unwrap().len();
            assert!(
                size <= pcm + pcm / 100 + 8192,
                "{bits} bits: {size} > {pcm}"
            );
        }
    }

    /// The encoder takes every rate FLAC allows, up to 1,048,575 Hz (our decoder stops at
    /// 384 kHz, so these are checked through STREAMINFO), and refuses what FLAC cannot hold.
    #[test]
    fn rates_up_to_flacs_limit_are_written_and_the_rest_refused() {
        let dir = tempfile::tempdir().unwrap();
        for rate in [655_350, 655_351, 1_048_575] {
            let path = dir.path().join(format!("{rate}.flac"));
            let mut writer = FlacWriter::new(
                File::create(&path).unwrap(),
                spec(24, 2, rate),
                1.0,
                false,
                None,
            )
            .unwrap();
            write_noise(&mut writer, 2, 10_000);
            writer.finish().unwrap();
            let bytes = std::fs::read(&path).unwrap();
            let info = &bytes[8..8 + 34];
            let declared =
                u32::from(info[10]) << 12 | u32::from(info[11]) << 4 | u32::from(info[12]) >> 4;
            assert_eq!(declared, rate);
        }
        let file = || File::create(dir.path().join("refused.flac")).unwrap();
        assert!(FlacWriter::new(file(), spec(24, 2, 1_048_576), 1.0, false, None).is_err());
        assert!(FlacWriter::new(file(), spec(33, 2, 48_000), 1.0, false, None).is_err());
        assert!(FlacWriter::new(file(), spec(3, 2, 48_000), 1.0, false, None).is_err());
        assert!(FlacWriter::new(file(), spec(16, 9, 48_000), 1.0, false, None).is_err());
    }
}
