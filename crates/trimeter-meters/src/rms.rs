//! RMS meter (plain and AES17 scaling) and the K-system scales built on it.
//!
//! The sliding window is rectangular and exact: the last `window` samples are kept as f32 and
//! squared in f64 when summed (so 1e30 samples square without overflow), and the window sum is
//! updated once per tick (a power of two of frames, 32 to 1024, at most 5 ms) on a grid counted
//! from the last reset. Because every sum is formed from the same stored samples in the same
//! order whatever the block split, the readings after a signal do not depend on how it was split. The running sum is recomputed from scratch once per
//! window length, so rounding cannot accumulate, and it is forced to exactly zero once the window
//! holds only digital silence.

use super::meter::{Meter, MAX_CHANNELS};
use super::units::{db_to_power, power_mean_db, power_to_db};

mod window;
use window::ChannelWindow;

/// AES17 scaling reads a full-scale sine as 0.0 dB; plain RMS reads it -3.01 dB.
/// (AES17-2015 clause 3.12.1: 20 log10(sqrt 2).)
pub const AES17_OFFSET_DB: f32 = 3.010_3;

/// The longest evaluation tick in seconds: the window sum and the maximum advance once per tick,
/// well inside the promised 10 ms.
const MAX_TICK_S: f64 = 0.005;

/// Length of the blocks the gated integration judges, in seconds.
pub const GATE_BLOCK_S: f64 = 0.1;

/// A 100 ms block counts towards [`RmsReading::integrated_gated_dbfs`] only if its own mean
/// square is above this level in dBFS (plain RMS), like the absolute gate of ITU-R BS.1770-5
/// clause 2.8 (-70 LKFS).
pub const GATE_DBFS: f64 = -70.0;

/// Sliding-window settings of an [`RmsMeter`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RmsConfig {
    /// Length of the rectangular sliding window in milliseconds (at least one frame).
    pub window_ms: f32,
}

impl Default for RmsConfig {
    fn default() -> Self {
        Self { window_ms: 300.0 }
    }
}

/// What an [`RmsMeter`] reads, per channel, in dBFS of plain RMS (a full-scale sine reads
/// -3.01; add [`AES17_OFFSET_DB`] for AES17 scaling). Silence reads minus infinity.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RmsReading {
    /// RMS over the sliding window ending now. Until the window has filled, the average is over
    /// the frames seen since reset.
    pub current_dbfs: [f32; MAX_CHANNELS],
    /// Max of `current_dbfs` since reset, evaluated every tick (at most 5 ms) once the window
    /// has filled, and at the end of the latest block (so a signal shorter than the window still
    /// has a maximum). Partial windows at the start are left out because a fraction of a period
    /// of a steady tone can read higher than the tone.
    pub max_dbfs: [f32; MAX_CHANNELS],
    /// RMS of everything since reset.
    pub integrated_dbfs: [f32; MAX_CHANNELS],
    /// RMS over the non-silent part since reset: the mean square over the 100 ms blocks (grid
    /// from reset; the block in progress included) whose own level is above [`GATE_DBFS`].
    pub integrated_gated_dbfs: [f32; MAX_CHANNELS],
}

impl Default for RmsReading {
    fn default() -> Self {
        let silent = [f32::NEG_INFINITY; MAX_CHANNELS];
        Self {
            current_dbfs: silent,
            max_dbfs: silent,
            integrated_dbfs: silent,
            integrated_gated_dbfs: silent,
        }
    }
}

impl RmsReading {
    /// Power mean over the first `channels` channels of per-channel levels (dBFS): the level of
    /// the summed power, divided by the channel count. Anti-phase channels do not cancel.
    pub fn power_mean_dbfs(levels: &[f32; MAX_CHANNELS], channels: usize) -> f32 {
        power_mean_db(&levels[..channels.clamp(1, MAX_CHANNELS)])
    }

    /// [`current_dbfs`](Self::current_dbfs) combined over `channels` as a power mean.
    pub fn combined_current_dbfs(&self, channels: usize) -> f32 {
        Self::power_mean_dbfs(&self.current_dbfs, channels)
    }

    /// [`integrated_dbfs`](Self::integrated_dbfs) combined over `channels` as a power mean.
    pub fn combined_integrated_dbfs(&self, channels: usize) -> f32 {
        Self::power_mean_dbfs(&self.integrated_dbfs, channels)
    }
}

/// Sliding-window RMS meter with maximum, integrated and gated-integrated readings.
#[derive(Clone, Debug)]
pub struct RmsMeter {
    /// The window settings.
    config: RmsConfig,
    /// Prepared channel count.
    channels: usize,
    /// Window state per prepared channel.
    windows: Vec<ChannelWindow>,
    /// Window length in frames, derived in `prepare`.
    window_frames: usize,
    /// Gate block length in ticks, derived in `prepare`.
    gate_ticks: u64,
    /// Tick length in frames, derived in `prepare`.
    tick_frames: usize,
    /// Frames since reset.
    frames_seen: u64,
}

impl RmsMeter {
    /// A meter with the given window (prepare it before use).
    pub fn new(config: RmsConfig) -> Self {
        Self {
            config,
            channels: 0,
            windows: Vec::new(),
            window_frames: 1,
            gate_ticks: 1,
            tick_frames: 32,
            frames_seen: 0,
        }
    }

    /// Frames per evaluation tick at the prepared sample rate: the largest power of two within
    /// 5 ms, from 32 to 1024 (128 at 44.1 and 48 kHz). Gate blocks are whole ticks.
    pub fn tick_frames(&self) -> usize {
        self.tick_frames
    }

    /// The window length in frames at the prepared sample rate.
    pub fn window_frames(&self) -> usize {
        self.window_frames
    }
}

impl Meter for RmsMeter {
    type Reading = RmsReading;

    fn prepare(&mut self, sample_rate: f64, channels: usize) {
        self.channels = channels.min(MAX_CHANNELS);
        let window_s = f64::from(self.config.window_ms.max(0.0)) / 1000.0;
        self.window_frames = ((window_s * sample_rate).round() as usize).max(1);
        // A power of two keeps the tick arithmetic cheap; 32 frames at least amortize the per-tick
        // bookkeeping; 5 ms at most keeps the maximum well inside its 10 ms promise.
        let longest = (MAX_TICK_S * sample_rate).max(32.0) as usize;
        self.tick_frames = (1usize << longest.ilog2()).clamp(32, 1024);
        let gate_ticks = (GATE_BLOCK_S * sample_rate / self.tick_frames as f64).round();
        self.gate_ticks = (gate_ticks as u64).max(1);
        let (window_frames, tick_frames) = (self.window_frames, self.tick_frames);
        self.windows = (0..self.channels)
            .map(|_| ChannelWindow::new(window_frames, tick_frames))
            .collect();
        self.reset();
    }

    fn reset(&mut self) {
        self.frames_seen = 0;
        for window in &mut self.windows {
            window.reset();
        }
    }

    #[inline(always)]
    fn process(&mut self, block: &[&[f32]]) {
        let Some(frames) = block.first().map(|b| b.len()) else {
            return;
        };
        let gate_ticks = self.gate_ticks;
        let gate_mean_square = db_to_power(GATE_DBFS);
        for (samples, window) in block.iter().zip(self.windows.iter_mut()) {
            window.push(self.frames_seen, samples, gate_ticks, gate_mean_square);
        }
        self.frames_seen += frames as u64;
    }

    fn read(&self) -> RmsReading {
        let mut reading = self.read_totals();
        for (ch, window) in self.windows.iter().enumerate() {
            reading.current_dbfs[ch] = power_to_db(window.current_mean_square);
            reading.max_dbfs[ch] = power_to_db(window.max_mean_square);
        }
        reading
    }
}

impl RmsMeter {
    /// Only the whole-signal fields of [`read`](Meter::read) (integrated and gated); the others
    /// stay at their defaults.
    pub(crate) fn read_totals(&self) -> RmsReading {
        let mut reading = RmsReading::default();
        for (ch, window) in self.windows.iter().enumerate() {
            reading.integrated_dbfs[ch] = power_to_db(window.integrated_mean_square);
            reading.integrated_gated_dbfs[ch] = power_to_db(window.gated_mean_square);
        }
        reading
    }
}

/// K-system scales (Bob Katz, "Integrated approach to metering, monitoring and levelling
/// practices", JAES 48(9), 2000): AES17 RMS averaged over 600 ms, with 0 on the scale at
/// -20/-14/-12 dBFS AES17.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum KSystem {
    /// 0 K = -20 dBFS AES17 (wide-dynamic-range material: film, classical).
    #[default]
    K20,
    /// 0 K = -14 dBFS AES17 (pop and broadcast).
    K14,
    /// 0 K = -12 dBFS AES17 (broadcast with heavy processing).
    K12,
}

impl KSystem {
    /// The AES17 level in dBFS that reads 0 on this scale.
    pub fn reference_dbfs(self) -> f32 {
        match self {
            Self::K20 => -20.0,
            Self::K14 => -14.0,
            Self::K12 => -12.0,
        }
    }

    /// Converts a plain-RMS level (dBFS, as [`RmsReading`] reports it) to this scale's units.
    pub fn reading(self, plain_rms_dbfs: f32) -> f32 {
        plain_rms_dbfs + AES17_OFFSET_DB - self.reference_dbfs()
    }

    /// The RMS meter settings the K-system prescribes: a 600 ms window.
    pub fn meter_config() -> RmsConfig {
        RmsConfig { window_ms: 600.0 }
    }

    /// Display name, e.g. "K-20".
    pub fn name(self) -> &'static str {
        match self {
            Self::K20 => "K-20",
            Self::K14 => "K-14",
            Self::K12 => "K-12",
        }
    }
}

#[cfg(test)]
mod tests;
