//! Read-back verification of a staged copy before it takes its final name.
//!
//! The writers feed every sample they write, as the integer (or float bit pattern) that goes into
//! the file, into a [`Digest`] in interleaved order. [`verify_copy`] decodes the written file with
//! our own decoder ([`Source`]), turns each decoded sample back into the same integer or bit
//! pattern, and feeds a second digest. The copy passes when the format, the frame count and the
//! digests agree.
//!
//! The digest chains each sample through a bijective 64-bit mixer (the SplitMix64 finalizer), so
//! for the same frame count a single differing sample always changes it, and several differing
//! samples leave it unchanged only with a chance of about 2^-64.

use std::path::Path;

use crate::decode::{Encoding, Source};
use crate::wav_out::{OutSample, OutSpec};

/// An order-dependent digest of a sample stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Digest {
    state: u64,
    samples: u64,
}

impl Default for Digest {
    fn default() -> Self {
        Self::new()
    }
}

/// The digest's value for every NaN, so a NaN's payload bits do not matter.
const NAN_VALUE: u64 = 0x7ff8_0000_0000_0001;

impl Digest {
    /// An empty digest.
    pub fn new() -> Self {
        Self {
            state: 0x7472_696d_6574_6572,
            samples: 0,
        }
    }

    #[inline]
    fn push(&mut self, value: u64) {
        let mut z = self.state ^ value;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        self.state = (z ^ (z >> 31)).wrapping_add(0x9e37_79b9_7f4a_7c15);
        self.samples += 1;
    }

    /// An integer sample as written (signed, before any 8-bit WAV offset).
    #[inline]
    pub fn push_int(&mut self, sample: i64) {
        self.push(sample as u64);
    }

    /// A 32-bit float sample as written.
    #[inline]
    pub fn push_f32(&mut self, sample: f32) {
        self.push(if sample.is_nan() {
            NAN_VALUE
        } else {
            u64::from(sample.to_bits())
        });
    }

    /// A 64-bit float sample as written.
    #[inline]
    pub fn push_f64(&mut self, sample: f64) {
        self.push(if sample.is_nan() {
            NAN_VALUE
        } else {
            sample.to_bits()
        });
    }
}

/// Decodes `path` with our decoder and checks that it holds exactly `frames` frames of `spec`'s
/// format whose samples give `expected`.
///
/// # Errors
/// A sentence saying how the written file differs from what was written.
pub fn verify_copy(
    path: &Path,
    spec: &OutSpec,
    frames: u64,
    expected: &Digest,
) -> Result<(), String> {
    let fail = |why: String| format!("verification of the written copy failed: {why}");
    let mut source =
        Source::open(path).map_err(|e| fail(format!("our decoder cannot open it ({e})")))?;
    let info = *source.info();
    let channels = usize::from(spec.channels);
    if info.sample_rate_hz != spec.sample_rate_hz || info.channels != channels {
        return Err(fail(format!(
            "it reads as {} channels at {} Hz, {} channels at {} Hz were written",
            info.channels, info.sample_rate_hz, channels, spec.sample_rate_hz
        )));
    }
    let format_matches = match (spec.sample, info.encoding) {
        (OutSample::Int(b), Encoding::Int { bits } | Encoding::Lossless { bits }) => b == bits,
        (OutSample::Float(b), Encoding::Float { bits }) => b == bits,
        _ => false,
    };
    if !format_matches {
        return Err(fail(format!(
            "it reads as {:?}, {} was written",
            info.encoding,
            spec.describe()
        )));
    }
    let mut digest = Digest::new();
    let mut planes: Vec<Vec<f64>> = Vec::new();
    while source.next_packet_into(&mut planes).map_err(|e| {
        fail(format!(
            "our decoder stopped after {} frames ({e})",
            source.decoded_frames()
        ))
    })? {
        let n = planes.first().map_or(0, Vec::len);
        if planes.len() != channels || planes.iter().any(|p| p.len() != n) {
            return Err(fail("a packet has the wrong shape".into()));
        }
        match spec.sample {
            OutSample::Int(bits) => {
                let scale = f64::from(1u32 << (bits - 1));
                for frame in 0..n {
                    for plane in &planes {
                        digest.push_int((plane[frame] * scale).round() as i64);
                    }
                }
            }
            OutSample::Float(32) => {
                for frame in 0..n {
                    for plane in &planes {
                        digest.push_f32(plane[frame] as f32);
                    }
                }
            }
            OutSample::Float(_) => {
                for frame in 0..n {
                    for plane in &planes {
                        digest.push_f64(plane[frame]);
                    }
                }
            }
        }
    }
    if source.decoded_frames() != frames {
        return Err(fail(format!(
            "it decodes to {} frames, {frames} were written",
            source.decoded_frames()
        )));
    }
    if digest != *expected {
        return Err(fail(
            "its decoded samples differ from the samples that were written".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wav_out::{OutContainer, PcmWriter};

    fn write(path: &Path, spec: OutSpec) -> (u64, Digest) {
        let mut writer =
            PcmWriter::new(std::fs::File::create(path).unwrap(), spec, 0.7, true).unwrap();
        let planes: Vec<Vec<f64>> = (0..usize::from(spec.channels))
            .map(|c| {
                (0..4800)
                    .map(|n| ((n * (c + 3)) as f64 * 0.01).sin() * 0.9)
                    .collect()
            })
            .collect();
        writer.write(&planes).unwrap();
        let result = (writer.frames(), writer.digest);
        writer.finish().unwrap();
        result
    }

    /// Every WAV and AIFF coding reads back as written; one changed sample, a missing frame or a
    /// wrong frame count is caught.
    #[test]
    fn copies_read_back_and_damage_is_caught() {
        let dir = tempfile::tempdir().unwrap();
        for (n, (container, sample)) in [
            (OutContainer::Wav, OutSample::Int(8)),
            (OutContainer::Wav, OutSample::Int(16)),
            (OutContainer::Wav, OutSample::Int(24)),
            (OutContainer::Wav, OutSample::Int(32)),
            (OutContainer::Wav, OutSample::Float(32)),
            (OutContainer::Wav, OutSample::Float(64)),
            (OutContainer::Aiff, OutSample::Int(16)),
            (OutContainer::Aiff, OutSample::Int(24)),
        ]
        .into_iter()
        .enumerate()
        {
            let spec = OutSpec {
                container,
                sample,
                channels: 2,
                sample_rate_hz: 48_000,
                wave_channel_mask: None,
            };
            let path = dir.path().join(format!("{n}.bin"));
            let (frames, digest) = write(&path, spec);
            let what = spec.describe();
            verify_copy(&path, &spec, frames, &digest).unwrap_or_else(|e| panic!("{what}: {e}"));
            let error = verify_copy(&path, &spec, frames + 1, &digest).unwrap_err();
            assert!(error.contains("frames"), "{what}: {error}");

            // One byte of one sample near the end changed.
            let mut bytes = std::fs::read(&path).unwrap();
            let at = bytes.len() - 7;
            bytes[at] ^= 0x10;
            std::fs::write(&path, &bytes).unwrap();
            let error = verify_copy(&path, &spec, frames, &digest).unwrap_err();
            assert!(error.contains("differ"), "{what}: {error}");
        }
    }

    #[test]
    fn the_digest_follows_order_and_value() {
        let digest = |values: &[i64]| {
            let mut d = Digest::new();
            values.iter().for_each(|&v| d.push_int(v));
            d
        };
        assert_eq!(digest(&[1, 2, 3]), digest(&[1, 2, 3]));
        assert_ne!(digest(&[1, 2, 3]), digest(&[1, 3, 2]));
        assert_ne!(digest(&[0, 0]), digest(&[0, 0, 0]));
        assert_ne!(digest(&[0; 64]), digest(&[0; 63]));
        let (mut a, mut b) = (Digest::new(), Digest::new());
        a.push_f32(f32::NAN);
        b.push_f32(-f32::NAN);
        assert_eq!(a, b, "every NaN counts the same");
    }
}
