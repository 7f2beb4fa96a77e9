//! EBU R 128 / ITU-R BS.1770-5 loudness: momentary, short-term, integrated, Loudness Range and
//! the momentary and short-term maxima, in one pass over the audio.
//!
//! How it works:
//! - [`k_weighting`] filters each channel (BS.1770-5 Annex 1) and sums the squared output over
//!   sub-blocks of at most 10 ms; `process()` splits its block at sub-block boundaries, so the
//!   inner loop has no per-sample branch.
//! - [`windows`] turns the channel-weighted sub-block sums into exact 400 ms and 3 s window sums
//!   at every sub-block boundary. Momentary, short-term and their maxima are therefore evaluated
//!   on a grid of 10 ms (EBU Tech 3341 test case 13 needs a grid finer than 100 ms).
//! - Every 100 ms the 400 ms window is a BS.1770 gating block (75 % overlap) and the 3 s window
//!   a Tech 3342 short-term sample (10 Hz); each goes into a fixed [`histogram`] with exact
//!   per-bin energy sums, from which integrated loudness and LRA are updated in O(log bins).
//!   Memory is fixed in `prepare()`, whatever the session length.
//!
//! `read()` only copies the reading computed in `process()`.

mod histogram;
mod k_weighting;
mod windows;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_standards;

use histogram::{lufs_from_energy, Histogram};
use k_weighting::{ChannelState, KWeighting};
use windows::{Windows, MOMENTARY_BLOCKS, SHORT_TERM_BLOCKS};

use super::meter::{common_frames, Meter, MAX_CHANNELS};
use super::simd::SimdLevel;

/// Relative gate of the integrated loudness, in LU (BS.1770-5 equation (7)).
const INTEGRATED_RELATIVE_GATE_LU: f64 = -10.0;

/// Weight of a surround channel at 60..120 degrees azimuth (BS.1770-5 Tables 3 and 4: 1.41,
/// about +1.5 dB).
pub const SURROUND_WEIGHT: f32 = 1.41;

/// One loudness reading. Silence (or nothing measured yet) reads `f32::NEG_INFINITY` in every
/// LUFS field; `loudness_range_lu` reads 0.0 until it is defined.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LoudnessReading {
    /// Momentary loudness in LUFS: the 400 ms sliding window, evaluated every sub-block (10 ms at
    /// 44.1, 48 and 96 kHz; at most 10 ms at any rate).
    pub momentary_lufs: f32,
    /// Short-term loudness in LUFS: the 3 s sliding window on the same grid.
    pub short_term_lufs: f32,
    /// Integrated loudness in LUFS (BS.1770-5 gated: absolute -70 LUFS, relative -10 LU; 400 ms
    /// blocks with 75 % overlap), over everything processed since the last reset while not paused.
    pub integrated_lufs: f32,
    /// Loudness Range in LU (EBU Tech 3342: short-term sampled at 10 Hz, absolute -70 LUFS,
    /// relative -20 LU, 10th to 95th percentile). 0.0 while undefined.
    pub loudness_range_lu: f32,
    /// Highest momentary loudness in LUFS on the grid, over the windows that lie entirely after
    /// the last reset and outside paused time.
    pub momentary_max_lufs: f32,
    /// Highest short-term loudness in LUFS, over the same windows as `momentary_max_lufs`.
    pub short_term_max_lufs: f32,
}

/// The EBU R 128 programme loudness target: 0 LU on the relative scale of an EBU Mode meter
/// (EBU Tech 3341 section 2.5).
pub const EBU_R128_TARGET_LUFS: f32 = -23.0;

/// Loudness readings in LU relative to a target loudness (0 LU = the target), as EBU Mode
/// meters show them on their relative scale. Silence stays minus infinity.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RelativeLoudness {
    /// The target in LUFS that reads 0 LU.
    pub target_lufs: f32,
    /// Momentary loudness, LU.
    pub momentary_lu: f32,
    /// Short-term loudness, LU.
    pub short_term_lu: f32,
    /// Integrated loudness, LU.
    pub integrated_lu: f32,
    /// Highest momentary loudness, LU.
    pub momentary_max_lu: f32,
    /// Highest short-term loudness, LU.
    pub short_term_max_lu: f32,
    /// Loudness range, LU (a difference of loudness levels: the same on either scale).
    pub loudness_range_lu: f32,
}

impl LoudnessReading {
    /// These readings on the relative scale: LU above (positive) or below `target_lufs`.
    pub fn relative_to(&self, target_lufs: f32) -> RelativeLoudness {
        RelativeLoudness {
            target_lufs,
            momentary_lu: self.momentary_lufs - target_lufs,
            short_term_lu: self.short_term_lufs - target_lufs,
            integrated_lu: self.integrated_lufs - target_lufs,
            momentary_max_lu: self.momentary_max_lufs - target_lufs,
            short_term_max_lu: self.short_term_max_lufs - target_lufs,
            loudness_range_lu: self.loudness_range_lu,
        }
    }
}

impl Default for LoudnessReading {
    fn default() -> Self {
        Self {
            momentary_lufs: f32::NEG_INFINITY,
            short_term_lufs: f32::NEG_INFINITY,
            integrated_lufs: f32::NEG_INFINITY,
            loudness_range_lu: 0.0,
            momentary_max_lufs: f32::NEG_INFINITY,
            short_term_max_lufs: f32::NEG_INFINITY,
        }
    }
}

/// The default BS.1770 channel weights (G_i) for a channel count, in WAVE channel order:
/// - 1 (mono), 2 (L R), 3 (L R C): all 1.0.
/// - 5 (L R C Ls Rs): [1, 1, 1, 1.41, 1.41] (BS.1770-5 Table 3).
/// - 6 (5.1: L R C LFE Ls Rs): [1, 1, 1, 0, 1.41, 1.41]; the LFE channel is not measured.
/// - 8 (7.1: L R C LFE Lrs Rrs Lss Rss, WAVE order back before side): [1, 1, 1, 0, 1, 1, 1.41,
///   1.41]. BS.1770-5 Annex 3 Tables 4 and 5 (configuration 0+7+0) weight the side channels at
///   +-90 degrees by 1.41 and the rear channels at +-135 degrees by 1.0.
/// - Any other count: all 1.0.
pub fn default_channel_weights(channels: usize) -> [f32; MAX_CHANNELS] {
    let s = SURROUND_WEIGHT;
    let mut w = [1.0; MAX_CHANNELS];
    match channels {
        5 => w[..5].copy_from_slice(&[1.0, 1.0, 1.0, s, s]),
        6 => w[..6].copy_from_slice(&[1.0, 1.0, 1.0, 0.0, s, s]),
        8 => w.copy_from_slice(&[1.0, 1.0, 1.0, 0.0, 1.0, 1.0, s, s]),
        _ => {}
    }
    w
}

/// Channel weights from a WAVE_FORMAT_EXTENSIBLE `dwChannelMask` (SPEAKER_* bits; the channels
/// carry the set bits in ascending bit order). One weight per set bit, following BS.1770-5 Tables
/// 3-5 by loudspeaker position:
/// - LFE (0x8): 0.0.
/// - Side left/right (0x200, 0x400, at +-90 degrees): 1.41.
/// - Back left/right (0x10, 0x20): 1.41 when the mask has no side channels (then they are the
///   5.1 surrounds at +-110 degrees), otherwise 1.0 (7.1 rears at +-135 degrees, Table 5).
/// - Everything else (front L/R/C, front left/right of centre, back centre, top): 1.0.
///
/// Channels beyond the mask's set bits get 1.0.
pub fn weights_from_wave_channel_mask(mask: u32, channels: usize) -> [f32; MAX_CHANNELS] {
    const LFE: u32 = 0x8;
    const BACK_LEFT: u32 = 0x10;
    const BACK_RIGHT: u32 = 0x20;
    const SIDE_LEFT: u32 = 0x200;
    const SIDE_RIGHT: u32 = 0x400;
    let has_sides = mask & (SIDE_LEFT | SIDE_RIGHT) != 0;
    let mut weights = [1.0; MAX_CHANNELS];
    let bits = (0..32).map(|b| 1u32 << b).filter(|bit| mask & bit != 0);
    for (w, bit) in weights.iter_mut().take(channels).zip(bits) {
        *w = match bit {
            LFE => 0.0,
            SIDE_LEFT | SIDE_RIGHT => SURROUND_WEIGHT,
            BACK_LEFT | BACK_RIGHT if !has_sides => SURROUND_WEIGHT,
            _ => 1.0,
        };
    }
    weights
}

/// The EBU R 128 loudness meter. See the module documentation for the design.
#[derive(Clone, Debug)]
pub struct LoudnessMeter {
    /// Prepared channel count (1..=MAX_CHANNELS).
    channels: usize,
    /// Weights set by the user (None: the default for the channel count).
    custom_weights: Option<[f32; MAX_CHANNELS]>,
    /// Weights in use (G_i, linear power gains).
    weights: [f64; MAX_CHANNELS],
    /// K-weighting coefficients for the prepared sample rate.
    k_weighting: KWeighting,
    /// Whether the CPU runs the fused multiply-add kernel (checked in `prepare()`).
    use_fma: bool,
    /// Filter state and sub-block sum of squares per channel.
    states: [ChannelState; MAX_CHANNELS],
    /// Sub-block grid and the momentary / short-term window sums.
    windows: Windows,
    /// Frames processed in the current 100 ms block.
    frame_in_block: usize,
    /// Gating-block histogram for the integrated loudness.
    integrated_histogram: Histogram,
    /// Short-term histogram for the Loudness Range.
    range_histogram: Histogram,
    /// Whether integrated, LRA and maxima are paused.
    paused: bool,
    /// Whether the current sub-block holds audio from before the last pause, resume or
    /// `reset_integrated()`, so that no window containing it may count.
    sub_block_dirty: bool,
    /// Consecutive sub-blocks just completed unpaused and after the last `reset_integrated()`
    /// (saturating). A momentary window (gating block, momentary maximum) counts only when all
    /// its sub-blocks do, a short-term window (LRA sample, short-term maximum) likewise.
    clean_sub_blocks: usize,
    /// Highest momentary mean square since the last reset (weighted, full-scale sine = 0.5).
    momentary_max_energy: f64,
    /// Highest short-term mean square since the last reset.
    short_term_max_energy: f64,
    /// The reading `read()` returns, updated at every sub-block boundary.
    reading: LoudnessReading,
}

impl Default for LoudnessMeter {
    fn default() -> Self {
        Self::new()
    }
}

impl LoudnessMeter {
    /// A meter for 48 kHz stereo; call [`Meter::prepare`] before processing.
    pub fn new() -> Self {
        let mut meter = Self {
            channels: 2,
            custom_weights: None,
            weights: [1.0; MAX_CHANNELS],
            k_weighting: KWeighting::new(48_000.0),
            use_fma: false,
            states: [ChannelState::default(); MAX_CHANNELS],
            windows: Windows::default(),
            frame_in_block: 0,
            integrated_histogram: Histogram::default(),
            range_histogram: Histogram::default(),
            paused: false,
            sub_block_dirty: false,
            clean_sub_blocks: 0,
            momentary_max_energy: 0.0,
            short_term_max_energy: 0.0,
            reading: LoudnessReading::default(),
        };
        meter.prepare(48_000.0, 2);
        meter
    }

    /// Sets the BS.1770 channel weights G_i (linear power weights, one per channel; missing
    /// entries are 1.0, negative or non-finite ones 0.0). `None` restores the default for the
    /// prepared channel count (see [`default_channel_weights`]). Weights apply to whole
    /// sub-blocks, so a change takes effect from the sub-block being measured (at most 10 ms
    /// back); it neither resets nor allocates.
    pub fn set_channel_weights(&mut self, weights: Option<&[f32]>) {
        self.custom_weights = weights.map(|given| {
            let mut w = [1.0; MAX_CHANNELS];
            for (dst, &src) in w.iter_mut().zip(given) {
                *dst = if src.is_finite() && src > 0.0 {
                    src
                } else {
                    0.0
                };
            }
            w
        });
        self.update_weights();
    }

    /// The channel weights in use.
    pub fn channel_weights(&self) -> [f32; MAX_CHANNELS] {
        self.weights.map(|w| w as f32)
    }

    fn update_weights(&mut self) {
        self.weights = match self.custom_weights {
            Some(w) => w,
            None => default_channel_weights(self.channels),
        }
        // A weight of 1.41 (f32) becomes exactly BS.1770's 1.41 rather than 1.4100000381.
        .map(|w| {
            if w == SURROUND_WEIGHT {
                1.41
            } else {
                f64::from(w)
            }
        });
    }

    /// Heap memory the meter holds, in bytes. It is fixed by `prepare()` (about 700 KB, mostly
    /// the two histograms) and never grows, however long the session.
    pub fn heap_bytes(&self) -> usize {
        self.windows.heap_bytes()
            + self.integrated_histogram.heap_bytes()
            + self.range_histogram.heap_bytes()
    }

    /// Pauses (true) or resumes (false) integrated loudness, LRA and the maxima; momentary and
    /// short-term keep running. Windows that overlap paused time never count: after resuming,
    /// gating blocks and the momentary maximum count again once a whole 400 ms window (LRA and
    /// the short-term maximum: 3 s) of unpaused audio has been measured.
    pub fn pause(&mut self, paused: bool) {
        if paused != self.paused {
            self.paused = paused;
            self.sub_block_dirty = true;
            self.clean_sub_blocks = 0;
        }
    }

    /// Whether integrated loudness, LRA and the maxima are paused.
    pub fn is_paused(&self) -> bool {
        self.paused
    }

    /// Clears integrated loudness, LRA and the maxima, keeping the filters and the momentary and
    /// short-term windows running. As after resuming, only windows that start after this call
    /// count towards integrated, LRA and the maxima.
    pub fn reset_integrated(&mut self) {
        self.integrated_histogram.clear();
        self.range_histogram.clear();
        self.momentary_max_energy = 0.0;
        self.short_term_max_energy = 0.0;
        self.sub_block_dirty = true;
        self.clean_sub_blocks = 0;
        let r = &mut self.reading;
        r.integrated_lufs = f32::NEG_INFINITY;
        r.loudness_range_lu = 0.0;
        r.momentary_max_lufs = f32::NEG_INFINITY;
        r.short_term_max_lufs = f32::NEG_INFINITY;
    }

    /// Closes the sub-block that just ended: weights and sums the channels, updates the windows,
    /// the readings and, every 100 ms, the histograms.
    fn end_sub_block(&mut self) {
        let mut energy = 0.0;
        for (state, &weight) in self
            .states
            .iter_mut()
            .zip(&self.weights)
            .take(self.channels)
        {
            energy += weight * state.sum_sq;
            state.sum_sq = 0.0;
            state.flush_tiny();
        }
        let energy = energy * self.k_weighting.power_gain();
        let (momentary_sum, short_term_sum, block_done) = self.windows.push_sub_block(energy);
        let block_frames = self.windows.frames_per_block as f64;
        let momentary = momentary_sum / (MOMENTARY_BLOCKS as f64 * block_frames);
        let short_term = short_term_sum / (SHORT_TERM_BLOCKS as f64 * block_frames);
        if self.paused || self.sub_block_dirty {
            self.clean_sub_blocks = 0;
        } else {
            self.clean_sub_blocks = self.clean_sub_blocks.saturating_add(1);
        }
        self.sub_block_dirty = false;
        let subs = self.windows.sub_blocks_per_block;
        let momentary_counts = self.clean_sub_blocks >= MOMENTARY_BLOCKS * subs;
        let short_term_counts = self.clean_sub_blocks >= SHORT_TERM_BLOCKS * subs;

        let r = &mut self.reading;
        r.momentary_lufs = lufs_from_energy(momentary) as f32;
        r.short_term_lufs = lufs_from_energy(short_term) as f32;
        if momentary_counts && momentary > self.momentary_max_energy {
            self.momentary_max_energy = momentary;
            r.momentary_max_lufs = r.momentary_lufs;
        }
        if short_term_counts && short_term > self.short_term_max_energy {
            self.short_term_max_energy = short_term;
            r.short_term_max_lufs = r.short_term_lufs;
        }
        if !block_done {
            return;
        }
        self.frame_in_block = 0;
        if momentary_counts {
            self.integrated_histogram.add(momentary);
            let gated = self
                .integrated_histogram
                .gated_mean(INTEGRATED_RELATIVE_GATE_LU);
            r.integrated_lufs = gated.map_or(f32::NEG_INFINITY, |e| lufs_from_energy(e) as f32);
        }
        if short_term_counts {
            self.range_histogram.add(short_term);
            r.loudness_range_lu = self.range_histogram.loudness_range() as f32;
        }
    }
}

impl Meter for LoudnessMeter {
    type Reading = LoudnessReading;

    /// Designs the K-weighting for `sample_rate` (8 kHz..768 kHz), sizes the grid and allocates
    /// the histograms. `max_block` is not needed: any block length works.
    fn prepare(&mut self, sample_rate: f64, channels: usize) {
        let sample_rate = if sample_rate.is_finite() {
            sample_rate.clamp(1000.0, 1e7)
        } else {
            48_000.0
        };
        self.channels = channels.clamp(1, MAX_CHANNELS);
        self.update_weights();
        self.k_weighting = KWeighting::new(sample_rate);
        self.use_fma = SimdLevel::selected().has_fma();
        self.windows.prepare(sample_rate);
        self.integrated_histogram.allocate();
        self.range_histogram.allocate();
        self.reset();
    }

    fn reset(&mut self) {
        self.states = [ChannelState::default(); MAX_CHANNELS];
        self.windows.reset();
        self.frame_in_block = 0;
        self.reset_integrated();
        // The first window that counts is the first one that lies entirely after the reset: the
        // first gating block ends 400 ms after the start (BS.1770-5 equation (3); libebur128
        // does the same), the first LRA sample 3 s after it.
        self.sub_block_dirty = false;
        self.clean_sub_blocks = 0;
        self.reading = LoudnessReading::default();
    }

    fn process(&mut self, block: &[&[f32]]) {
        let channels = self.channels.min(block.len());
        let frames = common_frames(block, channels);
        let mut offset = 0;
        while offset < frames {
            let sub_block_end = self.windows.sub_block_end_frame();
            let n = sub_block_end
                .saturating_sub(self.frame_in_block)
                .min(frames - offset)
                .max(1);
            let mut inputs: [&[f32]; MAX_CHANNELS] = [&[]; MAX_CHANNELS];
            for (input, channel) in inputs.iter_mut().zip(block.iter().take(channels)) {
                *input = channel.get(offset..offset + n).unwrap_or(&[]);
            }
            let states = self.states.get_mut(..channels).unwrap_or_default();
            let inputs = inputs.get(..channels).unwrap_or_default();
            k_weighting::filter_and_sum(&self.k_weighting, states, inputs, self.use_fma);
            offset += n;
            self.frame_in_block += n;
            if self.frame_in_block >= sub_block_end {
                self.end_sub_block();
            }
        }
    }

    fn read(&self) -> LoudnessReading {
        self.reading
    }
}
