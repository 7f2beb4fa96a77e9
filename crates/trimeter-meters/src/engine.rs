//! The metering engine: every meter on one signal, fed once per block.
//!
//! The plugin runs one engine for its input (pre-trim) and one for its output (post-makeup); the
//! command-line tool runs one per file. The engine owns the non-finite guard: samples that are
//! NaN or infinite are replaced by zero before any meter sees them, and counted.

use super::loudness::{LoudnessMeter, LoudnessReading};
use super::meter::{Meter, MAX_CHANNELS};
use super::peak::{PeakConfig, PeakReading, SamplePeakMeter};
use super::ppm::{PpmMeter, PpmReading, PpmScale};
use super::readout::ChannelPeaks;
use super::rms::{KSystem, RmsConfig, RmsMeter, RmsReading, AES17_OFFSET_DB};
use super::samples::{has_non_finite, sanitize};
use super::simd::SimdLevel;
use super::true_peak::{TruePeakMeter, TruePeakMode};
use super::units::{amplitude_to_db, power_mean_db};
use super::vu::{VuConfig, VuMeter, VuReading};

/// How an engine is set up. Changing any field means building a new engine (or calling
/// [`MeterEngine::configure`]), which allocates.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EngineConfig {
    /// Sample rate in Hz.
    pub sample_rate: f64,
    /// Channel count, 1..=[`MAX_CHANNELS`].
    pub channels: usize,
    /// The longest block the caller will usually pass; longer blocks work but are processed in
    /// pieces of this length.
    pub max_block: usize,
    /// BS.1770 channel weights; `None` uses the standard weights for the channel count.
    pub loudness_weights: Option<[f32; MAX_CHANNELS]>,
    /// 0 VU is a sine with this peak level in dBFS.
    pub vu_reference_dbfs: f32,
    /// The PPM type and scale.
    pub ppm_scale: PpmScale,
    /// The sliding RMS window in milliseconds. Default 600 ms, the K-system's integration time.
    pub rms_window_ms: f32,
    /// The true-peak oversampling mode.
    pub true_peak_mode: TruePeakMode,
    /// Samples (and true peaks) above this level in dB count as overs.
    pub ceiling_db: f32,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            sample_rate: 48_000.0,
            channels: 2,
            max_block: 4096,
            loudness_weights: None,
            vu_reference_dbfs: -18.0,
            ppm_scale: PpmScale::default(),
            // The K-system's integration time: with this window one RMS meter serves both the
            // RMS and the K-system readings (see `MeterEngine::k_shares_rms`).
            rms_window_ms: KSystem::meter_config().window_ms,
            true_peak_mode: TruePeakMode::default(),
            ceiling_db: -1.0,
        }
    }
}

/// Every reading of one engine at one moment, per channel. Small and `Copy`, so it can be
/// handed to another thread without allocating.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct MeterSnapshot {
    /// How many channels the per-channel arrays hold.
    pub channels: usize,
    /// Sample peak in dBFS.
    pub sample_peak: PeakReading,
    /// True peak in dBTP.
    pub true_peak: PeakReading,
    /// RMS over the configured window (plain scaling; add [`AES17_OFFSET_DB`] for AES17).
    pub rms: RmsReading,
    /// RMS over the K-system's 600 ms (plain scaling).
    pub k_rms: RmsReading,
    /// VU deflection.
    pub vu: VuReading,
    /// PPM level (as the dBFS peak of the steady sine that reads the same).
    pub ppm: PpmReading,
    /// EBU R128 loudness.
    pub loudness: LoudnessReading,
    /// Non-finite input samples replaced by zero since reset.
    pub non_finite_samples: u64,
}

impl MeterSnapshot {
    /// The K-system reading of channel `channel` on `scale`.
    pub fn k_reading(&self, scale: KSystem, channel: usize) -> f32 {
        scale.reading(self.k_rms.current_dbfs[channel.min(MAX_CHANNELS - 1)])
    }
}

/// Whole-signal figures since reset, combined over channels: what the command-line tool prints
/// and what the gain-staging assistant works from. Silence and undefined values are
/// `f32::NEG_INFINITY` (loudness range: 0.0).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Summary {
    /// Highest sample peak of any channel, dBFS.
    pub sample_peak_dbfs: f32,
    /// Highest true peak of any channel, dBTP.
    pub true_peak_dbtp: f32,
    /// Plain RMS of all samples of all channels, dBFS.
    pub rms_dbfs: f32,
    /// `rms_dbfs` with AES17 scaling (+3.01 dB: a full-scale sine reads 0 dB).
    pub rms_aes17_dbfs: f32,
    /// AES17 RMS over the non-silent part of the signal only.
    pub rms_aes17_gated_dbfs: f32,
    /// Highest VU deflection of any channel, VU.
    pub vu_max: f32,
    /// Highest PPM reading of any channel, as sine dBFS.
    pub ppm_max_dbfs: f32,
    /// Highest momentary loudness, LUFS.
    pub momentary_max_lufs: f32,
    /// Highest short-term loudness, LUFS.
    pub short_term_max_lufs: f32,
    /// Integrated (gated) loudness, LUFS.
    pub integrated_lufs: f32,
    /// Loudness range, LU.
    pub loudness_range_lu: f32,
    /// Peak-to-loudness ratio: true peak minus integrated loudness, LU.
    pub plr_lu: f32,
    /// Non-finite input samples replaced by zero.
    pub non_finite_samples: u64,
}

/// Readings "now", combined over channels: a point of a timeline.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Instant {
    /// Plain RMS over the sliding window, power mean over channels, dBFS.
    pub rms_dbfs: f32,
    /// Highest VU deflection of any channel, VU.
    pub vu: f32,
    /// Highest PPM reading of any channel, as sine dBFS.
    pub ppm_dbfs: f32,
    /// Momentary loudness, LUFS.
    pub momentary_lufs: f32,
    /// Short-term loudness, LUFS.
    pub short_term_lufs: f32,
}

/// The highest peaks since the previous [`MeterEngine::take_interval_peaks`], over all channels.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct IntervalPeaks {
    /// Sample peak, dBFS.
    pub sample_peak_dbfs: f32,
    /// True peak, dBTP.
    pub true_peak_dbtp: f32,
}

/// Every meter on one signal.
#[derive(Debug)]
pub struct MeterEngine {
    config: EngineConfig,
    sample_peak: SamplePeakMeter,
    true_peak: TruePeakMeter,
    rms: RmsMeter,
    /// The K-system's 600 ms RMS; only run when the RMS window is not already 600 ms.
    k_rms: RmsMeter,
    /// Whether the RMS window equals the K-system's, so `rms` also gives the K reading and the
    /// same squares are not summed twice.
    k_shares_rms: bool,
    vu: VuMeter,
    ppm: PpmMeter,
    loudness: LoudnessMeter,
    /// Holds a chunk whose input had non-finite samples, with those replaced by zero.
    clean: Vec<Vec<f32>>,
    /// Non-finite input samples since reset.
    non_finite_samples: u64,
    /// Highest sample peak amplitude per channel since the last interval take.
    interval_sample_peak: [f32; MAX_CHANNELS],
    /// Highest true-peak amplitude per channel since the last interval take.
    interval_true_peak: [f32; MAX_CHANNELS],
    /// The build of the meters this CPU runs (detected in `configure`).
    build: SimdLevel,
}

impl MeterEngine {
    /// An engine prepared for `config`. Allocates.
    pub fn new(config: EngineConfig) -> Self {
        let peak_config = PeakConfig {
            ceiling_db: config.ceiling_db,
            ..PeakConfig::default()
        };
        let mut engine = Self {
            config,
            sample_peak: SamplePeakMeter::new(peak_config),
            true_peak: TruePeakMeter::new(config.true_peak_mode, peak_config),
            rms: RmsMeter::new(RmsConfig {
                window_ms: config.rms_window_ms,
            }),
            k_rms: RmsMeter::new(KSystem::meter_config()),
            k_shares_rms: false,
            vu: VuMeter::new(VuConfig {
                reference_dbfs: config.vu_reference_dbfs,
            }),
            ppm: PpmMeter::new(config.ppm_scale.ppm_type()),
            loudness: LoudnessMeter::new(),
            clean: Vec::new(),
            non_finite_samples: 0,
            interval_sample_peak: [0.0; MAX_CHANNELS],
            interval_true_peak: [0.0; MAX_CHANNELS],
            build: SimdLevel::Portable,
        };
        engine.configure(config);
        engine
    }

    /// Re-prepares every meter for `config` and resets them. Allocates.
    pub fn configure(&mut self, config: EngineConfig) {
        let config = EngineConfig {
            channels: config.channels.clamp(1, MAX_CHANNELS),
            max_block: config.max_block.max(1),
            ..config
        };
        self.config = config;
        let (sr, max_block, channels) = (config.sample_rate, config.max_block, config.channels);
        self.sample_peak.set_ceiling_db(config.ceiling_db);
        self.true_peak.set_ceiling_db(config.ceiling_db);
        self.vu.set_reference_dbfs(config.vu_reference_dbfs);
        self.ppm.set_type(config.ppm_scale.ppm_type());
        self.loudness
            .set_channel_weights(config.loudness_weights.as_ref().map(|w| &w[..channels]));
        self.sample_peak.prepare(sr, channels);
        self.true_peak.prepare(sr, channels);
        self.true_peak.reserve_block(max_block);
        self.rms.prepare(sr, channels);
        self.k_shares_rms = config.rms_window_ms == KSystem::meter_config().window_ms;
        if self.k_shares_rms {
            // Not run: hold no window buffers for it.
            self.k_rms = RmsMeter::new(KSystem::meter_config());
        } else {
            self.k_rms.prepare(sr, channels);
        }
        self.vu.prepare(sr, channels);
        self.ppm.prepare(sr, channels);
        self.loudness.prepare(sr, channels);
        self.clean = vec![vec![0.0; max_block]; channels];
        self.build = SimdLevel::selected();
        self.reset();
    }

    /// The configuration in force.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// Clears every meter as if nothing had been processed.
    pub fn reset(&mut self) {
        self.sample_peak.reset();
        self.true_peak.reset();
        self.rms.reset();
        if !self.k_shares_rms {
            self.k_rms.reset();
        }
        self.vu.reset();
        self.ppm.reset();
        self.loudness.reset();
        self.non_finite_samples = 0;
        self.interval_sample_peak = [0.0; MAX_CHANNELS];
        self.interval_true_peak = [0.0; MAX_CHANNELS];
    }

    /// Sets the sine peak level in dBFS that reads 0 VU, at once and without resetting the
    /// pointer (see [`VuMeter::set_reference_dbfs`]: held inside the VU reference range, NaN
    /// restores the default). Never allocates, locks or waits.
    pub fn set_vu_reference_dbfs(&mut self, dbfs: f32) {
        self.vu.set_reference_dbfs(dbfs);
        self.config.vu_reference_dbfs = self.vu.reference_dbfs();
    }

    /// Clears the sample-peak meter only: its maximum, hold and clip and over counts. Never
    /// allocates.
    pub fn reset_sample_peak(&mut self) {
        self.sample_peak.reset();
        self.interval_sample_peak = [0.0; MAX_CHANNELS];
    }

    /// Clears the true-peak meter only: its maximum, hold and over counts. Never allocates.
    pub fn reset_true_peak(&mut self) {
        self.true_peak.reset();
        self.interval_true_peak = [0.0; MAX_CHANNELS];
    }

    /// Pauses or resumes the integrating loudness measurements (integrated, range, maxima).
    pub fn set_loudness_paused(&mut self, paused: bool) {
        self.loudness.pause(paused);
    }

    /// Clears integrated loudness, loudness range and loudness maxima only.
    pub fn reset_loudness(&mut self) {
        self.loudness.reset_integrated();
    }

    /// Feeds one planar block (`block[channel][frame]`) of any length to every meter. Channels
    /// beyond the configured count are ignored; missing channels are not metered. Never
    /// allocates, locks or waits.
    pub fn process(&mut self, block: &[&[f32]]) {
        let channels = block.len().min(self.config.channels);
        if channels < self.config.channels {
            // A host that hands us fewer channels than it announced: nothing sensible to meter.
            return;
        }
        let frames = block.first().map_or(0, |c| c.len());
        let mut offset = 0;
        while offset < frames {
            let end = (offset + self.config.max_block).min(frames);
            let mut views: [&[f32]; MAX_CHANNELS] = [&[]; MAX_CHANNELS];
            for (view, channel) in views.iter_mut().zip(block) {
                *view = channel.get(offset..end).unwrap_or(&[]);
            }
            self.process_chunk(&views[..channels]);
            offset = end;
        }
    }

    /// One chunk of at most `max_block` frames, in the code compiled for this CPU.
    fn process_chunk(&mut self, chunk: &[&[f32]]) {
        #[cfg(target_arch = "x86_64")]
        match self.build {
            // SAFETY: `SimdLevel::selected` only picks a level this CPU supports (see `configure`).
            SimdLevel::Avx512 => return unsafe { self.process_chunk_avx512(chunk) },
            // SAFETY: as above.
            SimdLevel::Avx2Fma => return unsafe { self.process_chunk_avx2_fma(chunk) },
            SimdLevel::Portable => {}
        }
        self.process_chunk_portable(chunk);
    }

    /// The same code as [`process_chunk_portable`](Self::process_chunk_portable), compiled with
    /// AVX2 and FMA enabled: the meters' hot loops are inlined into it, so their integer and
    /// float loops run eight (f64: four) lanes wide. Rust never reassociates or contracts float
    /// operations, so the readings are bit-identical to the portable chunk function's. (The
    /// true-peak and K-weighting kernels pick their fused multiply-add builds themselves, from
    /// the same [`SimdLevel`].)
    ///
    /// # Safety
    /// The CPU must support AVX2 and FMA.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn process_chunk_avx2_fma(&mut self, chunk: &[&[f32]]) {
        self.process_chunk_portable(chunk);
    }

    /// [`process_chunk_avx2_fma`](Self::process_chunk_avx2_fma) with AVX-512 as well: sixteen
    /// lanes, same readings.
    ///
    /// # Safety
    /// The CPU must support AVX-512F, AVX2 and FMA.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx2,fma")]
    unsafe fn process_chunk_avx512(&mut self, chunk: &[&[f32]]) {
        self.process_chunk_portable(chunk);
    }

    /// One chunk of at most `max_block` frames.
    #[inline(always)]
    fn process_chunk_portable(&mut self, chunk: &[&[f32]]) {
        // The true-peak interpolation, the heaviest arithmetic of the engine, reads the chunk
        // first: a block that is not in the cache then arrives while it computes, instead of
        // stalling a light pass (on the Intel Xeon of the README, 0.3 ns per stereo frame on the
        // benchmark's signal, which streams from memory). It only computes magnitudes; nothing
        // is committed before the non-finite check has passed (the check then reads the chunk
        // from the L1 cache).
        self.true_peak.interpolate(chunk);
        // The check vectorizes eight lanes wide; the guard's per-sample work would not. Only a
        // chunk that has a non-finite sample is copied through the guard.
        if !chunk.iter().any(|c| has_non_finite(c)) {
            self.true_peak.commit(chunk);
            self.run_meters(chunk);
            return;
        }
        // Move the scratch buffers out of self while they are borrowed, so the meters (also
        // fields of self) can be borrowed mutably. Taking a Vec does not allocate.
        let mut clean = std::mem::take(&mut self.clean);
        let mut views: [&[f32]; MAX_CHANNELS] = [&[]; MAX_CHANNELS];
        for ((buffer, &input), view) in clean.iter_mut().zip(chunk).zip(views.iter_mut()) {
            if let Some(buffer) = buffer.get_mut(..input.len()) {
                buffer.copy_from_slice(input);
                self.non_finite_samples += sanitize(buffer);
                *view = buffer;
            }
        }
        let views = &views[..chunk.len()];
        self.true_peak.interpolate(views);
        self.true_peak.commit(views);
        self.run_meters(views);
        self.clean = clean;
    }

    /// Every meter but the true peak (see `process_chunk_portable`).
    #[inline(always)]
    fn run_meters(&mut self, chunk: &[&[f32]]) {
        self.sample_peak.process(chunk);
        self.rms.process(chunk);
        if !self.k_shares_rms {
            self.k_rms.process(chunk);
        }
        self.vu.process(chunk);
        self.ppm.process(chunk);
        self.loudness.process(chunk);
        // Only the block maxima of the channels in use, as amplitudes: a whole reading (or a
        // round trip through dB) would cost logarithms and powers on every chunk.
        for channel in 0..chunk.len().min(MAX_CHANNELS) {
            let sp = self.sample_peak.block_max_amplitude(channel);
            let tp = self.true_peak.block_max_amplitude(channel);
            self.interval_sample_peak[channel] = self.interval_sample_peak[channel].max(sp);
            self.interval_true_peak[channel] = self.interval_true_peak[channel].max(tp);
        }
    }

    /// Every reading now. O(1).
    pub fn snapshot(&self) -> MeterSnapshot {
        let rms = self.rms.read();
        MeterSnapshot {
            channels: self.config.channels,
            sample_peak: self.sample_peak.read(),
            true_peak: self.true_peak.read(),
            rms,
            k_rms: if self.k_shares_rms {
                rms
            } else {
                self.k_rms.read()
            },
            vu: self.vu.read(),
            ppm: self.ppm.read(),
            loudness: self.loudness.read(),
            non_finite_samples: self.non_finite_samples,
        }
    }

    /// Whole-signal figures since reset, combined over channels: the same as
    /// `summarize(&self.snapshot())`, but only the fields the summary uses are read: 12 of the 28
    /// logarithms a stereo snapshot computes.
    pub fn summary(&self) -> Summary {
        summarize(&MeterSnapshot {
            channels: self.config.channels,
            sample_peak: self.sample_peak.read_totals(),
            true_peak: self.true_peak.read_totals(),
            rms: self.rms.read_totals(),
            k_rms: RmsReading::default(),
            vu: self.vu.read_totals(),
            ppm: self.ppm.read_totals(),
            loudness: self.loudness.read(),
            non_finite_samples: self.non_finite_samples,
        })
    }

    /// Readings now, combined over channels.
    pub fn instant(&self) -> Instant {
        let s = self.snapshot();
        let n = s.channels;
        Instant {
            rms_dbfs: power_mean_db(&s.rms.current_dbfs[..n]),
            vu: max_of(&s.vu.vu[..n]),
            ppm_dbfs: max_of(&s.ppm.level_dbfs[..n]),
            momentary_lufs: s.loudness.momentary_lufs,
            short_term_lufs: s.loudness.short_term_lufs,
        }
    }

    /// The highest sample and true peak over all channels since the previous take (of either
    /// kind), then starts a new interval.
    pub fn take_interval_peaks(&mut self) -> IntervalPeaks {
        let n = self.config.channels;
        let peaks = self.take_channel_peaks();
        IntervalPeaks {
            sample_peak_dbfs: amplitude_to_db(
                peaks.sample[..n].iter().copied().fold(0.0, f32::max),
            ),
            true_peak_dbtp: amplitude_to_db(
                peaks.true_peak[..n].iter().copied().fold(0.0, f32::max),
            ),
        }
    }

    /// The highest sample and true-peak amplitude per channel since the previous take (of
    /// either kind), then starts a new interval. Never allocates.
    pub fn take_channel_peaks(&mut self) -> ChannelPeaks {
        let peaks = ChannelPeaks {
            sample: self.interval_sample_peak,
            true_peak: self.interval_true_peak,
        };
        self.interval_sample_peak = [0.0; MAX_CHANNELS];
        self.interval_true_peak = [0.0; MAX_CHANNELS];
        peaks
    }
}

/// Combines a snapshot's per-channel figures into whole-signal figures.
pub fn summarize(s: &MeterSnapshot) -> Summary {
    let n = s.channels.clamp(1, MAX_CHANNELS);
    let rms_dbfs = power_mean_db(&s.rms.integrated_dbfs[..n]);
    let true_peak_dbtp = max_of(&s.true_peak.max_db[..n]);
    let integrated_lufs = s.loudness.integrated_lufs;
    let plr_lu = if true_peak_dbtp.is_finite() && integrated_lufs.is_finite() {
        true_peak_dbtp - integrated_lufs
    } else {
        f32::NEG_INFINITY
    };
    Summary {
        sample_peak_dbfs: max_of(&s.sample_peak.max_db[..n]),
        true_peak_dbtp,
        rms_dbfs,
        rms_aes17_dbfs: rms_dbfs + AES17_OFFSET_DB,
        rms_aes17_gated_dbfs: power_mean_db(&s.rms.integrated_gated_dbfs[..n]) + AES17_OFFSET_DB,
        vu_max: max_of(&s.vu.max_vu[..n]),
        ppm_max_dbfs: max_of(&s.ppm.max_dbfs[..n]),
        momentary_max_lufs: s.loudness.momentary_max_lufs,
        short_term_max_lufs: s.loudness.short_term_max_lufs,
        integrated_lufs,
        loudness_range_lu: s.loudness.loudness_range_lu,
        plr_lu,
        non_finite_samples: s.non_finite_samples,
    }
}

/// The highest of some dB values (minus infinity for none).
fn max_of(values: &[f32]) -> f32 {
    values.iter().copied().fold(f32::NEG_INFINITY, f32::max)
}

#[cfg(test)]
mod tests;
