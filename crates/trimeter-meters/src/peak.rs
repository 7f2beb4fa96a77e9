//! Sample-peak meter with hold-and-fall display, latched clip counter and over-ceiling counter.
//!
//! The per-channel bookkeeping ([`PeakTracker`]) is shared with the true-peak meter, which feeds
//! it the interpolated magnitudes instead of the raw samples.
//!
//! Display ballistics: the displayed value jumps to any new peak at once, holds it for
//! [`PeakConfig::hold_ms`], then falls linearly in dB at [`PeakConfig::fall_db_per_s`]. The default
//! fall of 20 dB/s is a little faster than the IEC 60268-18 return of 20 dB in 1.7 s (11.8 dB/s),
//! which suits a sample-peak display that people read for overs rather than for programme level.
//! The hold and fall are evaluated on a fixed grid of [`TICK_FRAMES`] frames counted from the last
//! reset, never on block boundaries, so the display does not depend on how the host splits the
//! audio into blocks.

use super::meter::{Meter, MAX_CHANNELS};
use super::samples::max_magnitude_bits;
use super::units::{amplitude_to_db, db_to_amplitude, db_to_amplitude_f64};

/// Frames per ballistics tick: the hold timer and the fall advance once per tick. 32 frames is
/// 0.67 ms at 48 kHz and 4 ms at 8 kHz, far finer than any display refresh.
pub const TICK_FRAMES: usize = 32;

/// Below this linear level (-200 dBFS) a falling display snaps to zero, so that silence reads
/// minus infinity and the state never becomes subnormal.
const FLOOR_AMPLITUDE: f32 = 1e-10;

/// Bits of the f32 value 1.0: a sample whose magnitude bits are at or above this is a clip.
const FULL_SCALE_BITS: i32 = 0x3f80_0000;

/// Shared reading for sample peak and true peak (true-peak values are dBTP).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PeakReading {
    /// Display value in dBFS (dBTP for true peak): the instant peak, held for the configured hold
    /// time, then falling at the configured rate.
    pub current_db: [f32; MAX_CHANNELS],
    /// Max |x| of the most recent `process()` call in dBFS (dBTP); minus infinity if that call was
    /// empty or silent.
    pub block_max_db: [f32; MAX_CHANNELS],
    /// Max |x| since reset in dBFS (dBTP).
    pub max_db: [f32; MAX_CHANNELS],
    /// Samples (for true peak: input sample periods whose true-peak value) at or above 0 dBFS
    /// since reset. Latched until reset.
    pub clip_count: [u64; MAX_CHANNELS],
    /// Samples (for true peak: input sample periods whose true-peak value) strictly above the
    /// user ceiling since reset.
    pub over_count: [u64; MAX_CHANNELS],
}

impl Default for PeakReading {
    fn default() -> Self {
        Self {
            current_db: [f32::NEG_INFINITY; MAX_CHANNELS],
            block_max_db: [f32::NEG_INFINITY; MAX_CHANNELS],
            max_db: [f32::NEG_INFINITY; MAX_CHANNELS],
            clip_count: [0; MAX_CHANNELS],
            over_count: [0; MAX_CHANNELS],
        }
    }
}

impl PeakReading {
    /// The largest [`max_db`](Self::max_db) over the first `channels` channels, in dBFS (dBTP).
    pub fn max_over_channels(&self, channels: usize) -> f32 {
        self.max_db[..channels.min(MAX_CHANNELS)]
            .iter()
            .fold(f32::NEG_INFINITY, |m, &v| m.max(v))
    }
}

/// Display and counting settings shared by the sample-peak and true-peak meters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PeakConfig {
    /// How long a new peak stays on the display before it starts to fall, in milliseconds.
    pub hold_ms: f32,
    /// How fast the display falls after the hold, in dB per second.
    pub fall_db_per_s: f32,
    /// The user ceiling in dBFS (dBTP): values strictly above it count as overs.
    pub ceiling_db: f32,
}

impl Default for PeakConfig {
    fn default() -> Self {
        Self {
            hold_ms: 1500.0,
            fall_db_per_s: 20.0,
            ceiling_db: -1.0,
        }
    }
}

/// Per-channel peak bookkeeping on magnitudes: maxima, counters and hold-and-fall display.
///
/// Levels are kept as the bit patterns of non-negative f32 magnitudes (`i32`): for non-negative
/// floats the integer order equals the numeric order, and integer max/compare loops vectorize
/// without the NaN rules that keep float max reductions scalar.
#[derive(Clone, Debug)]
pub(crate) struct PeakTracker {
    /// The settings, with the ceiling as last set.
    config: PeakConfig,
    /// Ceiling as magnitude bits, derived from `config.ceiling_db`.
    ceiling_bits: i32,
    /// Display gain applied per tick while falling (linear, < 1), derived in `prepare`.
    fall_gain_per_tick: f32,
    /// Hold time in ticks, derived in `prepare`.
    hold_ticks: u32,
    /// Frames already seen of the current, incomplete tick (0..TICK_FRAMES).
    tick_pos: usize,
    /// Max magnitude bits of the current, incomplete tick, per channel.
    tick_max_bits: [i32; MAX_CHANNELS],
    /// Displayed linear level after the last complete tick, per channel.
    display: [f32; MAX_CHANNELS],
    /// Ticks of hold left, per channel.
    hold_left: [u32; MAX_CHANNELS],
    /// Max magnitude bits of the current process() call, per channel (`-1` = empty call).
    block_max_bits: [i32; MAX_CHANNELS],
    /// Max magnitude bits since reset, per channel.
    max_bits: [i32; MAX_CHANNELS],
    /// Clip counts since reset, per channel.
    clip_count: [u64; MAX_CHANNELS],
    /// Over-ceiling counts since reset, per channel.
    over_count: [u64; MAX_CHANNELS],
}

impl PeakTracker {
    pub(crate) fn new(config: PeakConfig) -> Self {
        let mut tracker = Self {
            config,
            ceiling_bits: 0,
            fall_gain_per_tick: 0.0,
            hold_ticks: 0,
            tick_pos: 0,
            tick_max_bits: [0; MAX_CHANNELS],
            display: [0.0; MAX_CHANNELS],
            hold_left: [0; MAX_CHANNELS],
            block_max_bits: [-1; MAX_CHANNELS],
            max_bits: [0; MAX_CHANNELS],
            clip_count: [0; MAX_CHANNELS],
            over_count: [0; MAX_CHANNELS],
        };
        tracker.set_ceiling_db(config.ceiling_db);
        tracker.prepare(48_000.0);
        tracker
    }

    pub(crate) fn set_ceiling_db(&mut self, db: f32) {
        self.config.ceiling_db = db;
        // NOTE: a NaN ceiling would compare false everywhere; treat it as "no ceiling" on purpose.
        let amplitude = if db.is_nan() {
            f32::INFINITY
        } else {
            db_to_amplitude(db)
        };
        self.ceiling_bits = (amplitude.to_bits() & 0x7fff_ffff) as i32;
    }

    /// Converts the human time constants for `sample_rate` (Hz) and resets.
    pub(crate) fn prepare(&mut self, sample_rate: f64) {
        let tick_s = TICK_FRAMES as f64 / sample_rate.max(1.0);
        let fall_db_per_tick = f64::from(self.config.fall_db_per_s.max(0.0)) * tick_s;
        self.fall_gain_per_tick = db_to_amplitude_f64(-fall_db_per_tick) as f32;
        let hold_s = f64::from(self.config.hold_ms.max(0.0)) / 1000.0;
        self.hold_ticks = (hold_s / tick_s).round().min(u32::MAX as f64) as u32;
        self.reset();
    }

    pub(crate) fn reset(&mut self) {
        self.tick_pos = 0;
        self.tick_max_bits = [0; MAX_CHANNELS];
        self.display = [0.0; MAX_CHANNELS];
        self.hold_left = [0; MAX_CHANNELS];
        self.block_max_bits = [-1; MAX_CHANNELS];
        self.max_bits = [0; MAX_CHANNELS];
        self.clip_count = [0; MAX_CHANNELS];
        self.over_count = [0; MAX_CHANNELS];
    }

    /// Starts a process() call: the block maxima start empty.
    pub(crate) fn begin_block(&mut self) {
        self.block_max_bits = [-1; MAX_CHANNELS];
    }

    /// Feeds `values` (samples or magnitudes; the sign is ignored) of channel `ch`, starting
    /// `tick_pos` frames into the current tick, and returns the tick position after them. The
    /// caller feeds every channel the same number of frames and then stores the position with
    /// [`end_frames`](Self::end_frames).
    #[inline(always)]
    pub(crate) fn feed(&mut self, ch: usize, tick_pos: usize, values: &[f32]) -> usize {
        if ch >= MAX_CHANNELS {
            return tick_pos;
        }
        let mut pos = tick_pos;
        let mut rest = values;
        let mut tick_max = self.tick_max_bits[ch];
        let mut feed_max = -1;
        while !rest.is_empty() {
            let take = (TICK_FRAMES - pos).min(rest.len());
            let (chunk, tail) = rest.split_at(take);
            rest = tail;
            // Magnitude bits fit in i32 (the sign bit is cleared).
            let m = max_magnitude_bits(chunk) as i32;
            tick_max = tick_max.max(m);
            feed_max = feed_max.max(m);
            pos += take;
            if pos == TICK_FRAMES {
                self.advance_tick(ch, tick_max);
                self.max_bits[ch] = self.max_bits[ch].max(tick_max);
                tick_max = 0;
                pos = 0;
            }
        }
        self.tick_max_bits[ch] = tick_max;
        self.block_max_bits[ch] = self.block_max_bits[ch].max(feed_max);
        // Clips and overs are rare: count them only when the values reach a threshold at all.
        if feed_max >= FULL_SCALE_BITS || feed_max > self.ceiling_bits {
            let (clips, overs) = count_above(values, self.ceiling_bits);
            self.clip_count[ch] += clips;
            self.over_count[ch] += overs;
        }
        pos
    }

    /// The tick position shared by all channels after a feed of the same frames to each.
    pub(crate) fn tick_pos(&self) -> usize {
        self.tick_pos
    }

    /// Stores the tick position returned by [`feed`](Self::feed).
    pub(crate) fn end_frames(&mut self, tick_pos: usize) {
        self.tick_pos = tick_pos;
    }

    /// One tick of display ballistics: hold, else fall; then any tick peak at or above the
    /// fallen display takes over and restarts the hold.
    #[inline(always)]
    fn advance_tick(&mut self, ch: usize, tick_max_bits: i32) {
        let (Some(display), Some(hold_left)) =
            (self.display.get_mut(ch), self.hold_left.get_mut(ch))
        else {
            return;
        };
        // Written as selects rather than branches: whether a noisy signal's tick peak beats the
        // display is unpredictable, and a mispredicted branch per tick and channel costs more
        // than computing both outcomes.
        let fallen = *display * self.fall_gain_per_tick;
        let fallen = if fallen < FLOOR_AMPLITUDE {
            0.0
        } else {
            fallen
        };
        let held = *hold_left > 0;
        let shown = if held { *display } else { fallen };
        let peak = f32::from_bits(tick_max_bits as u32);
        let takes_over = (peak > 0.0) & (peak >= shown);
        *display = if takes_over { peak } else { shown };
        *hold_left = if takes_over {
            self.hold_ticks
        } else {
            hold_left.saturating_sub(1)
        };
    }

    /// [`PeakReading::block_max_db`] of channel `ch` alone (minus infinity for an empty call or a
    /// channel out of range), without the cost of a whole reading.
    #[inline]
    pub(crate) fn block_max_db(&self, ch: usize) -> f32 {
        match self.block_max_bits.get(ch) {
            Some(&bits) if bits >= 0 => amplitude_to_db(f32::from_bits(bits as u32)),
            _ => f32::NEG_INFINITY,
        }
    }

    /// The highest magnitude of channel `ch` in the most recent `process()` call (0 for an
    /// empty call or a channel out of range): the block maximum without a logarithm.
    #[inline]
    pub(crate) fn block_max_amplitude(&self, ch: usize) -> f32 {
        match self.block_max_bits.get(ch) {
            Some(&bits) if bits >= 0 => f32::from_bits(bits as u32),
            _ => 0.0,
        }
    }

    /// Only [`PeakReading::max_db`], the clip and the over counts, for the first `channels`
    /// channels; the other fields stay at their defaults. The same values as [`read`](Self::read)
    /// gives them, for whole-signal summaries, which need no display values.
    pub(crate) fn read_totals(&self, channels: usize) -> PeakReading {
        let mut reading = PeakReading::default();
        for ch in 0..channels.min(MAX_CHANNELS) {
            let max = self.max_bits[ch].max(self.tick_max_bits[ch]);
            reading.max_db[ch] = amplitude_to_db(f32::from_bits(max as u32));
            reading.clip_count[ch] = self.clip_count[ch];
            reading.over_count[ch] = self.over_count[ch];
        }
        reading
    }

    pub(crate) fn read(&self) -> PeakReading {
        let mut reading = PeakReading::default();
        for ch in 0..MAX_CHANNELS {
            let partial = f32::from_bits(self.tick_max_bits[ch] as u32);
            let max = self.max_bits[ch].max(self.tick_max_bits[ch]);
            reading.current_db[ch] = amplitude_to_db(self.display[ch].max(partial));
            reading.max_db[ch] = amplitude_to_db(f32::from_bits(max as u32));
            reading.block_max_db[ch] = self.block_max_db(ch);
            reading.clip_count[ch] = self.clip_count[ch];
            reading.over_count[ch] = self.over_count[ch];
        }
        reading
    }
}

/// How many values are clips (magnitude at or above full scale) and how many are overs (above
/// `ceiling_bits`).
#[inline(always)]
fn count_above(values: &[f32], ceiling_bits: i32) -> (u64, u64) {
    let (mut clips, mut overs) = (0u64, 0u64);
    // u32 lanes vectorize; a piece of at most 2^16 values cannot overflow them.
    for piece in values.chunks(1 << 16) {
        let (mut c, mut o) = (0u32, 0u32);
        for &x in piece {
            let bits = (x.to_bits() & 0x7fff_ffff) as i32;
            c += u32::from(bits >= FULL_SCALE_BITS);
            o += u32::from(bits > ceiling_bits);
        }
        clips += u64::from(c);
        overs += u64::from(o);
    }
    (clips, overs)
}

/// Sample-peak meter (dBFS): hold-and-fall display, maxima, latched clip and over counters.
#[derive(Clone, Debug)]
pub struct SamplePeakMeter {
    /// Maxima, counters and display state.
    tracker: PeakTracker,
    /// Prepared channel count.
    channels: usize,
}

impl SamplePeakMeter {
    /// A meter with the given display and ceiling settings (prepare it before use).
    pub fn new(config: PeakConfig) -> Self {
        Self {
            tracker: PeakTracker::new(config),
            channels: 0,
        }
    }

    /// Changes the ceiling (dBFS) above which samples count as overs; counts so far are kept.
    pub fn set_ceiling_db(&mut self, db: f32) {
        self.tracker.set_ceiling_db(db);
    }

    /// The highest sample magnitude of channel `ch` in the most recent `process()` call (0 for
    /// none).
    pub(crate) fn block_max_amplitude(&self, ch: usize) -> f32 {
        self.tracker.block_max_amplitude(ch)
    }
}

impl Meter for SamplePeakMeter {
    type Reading = PeakReading;

    fn prepare(&mut self, sample_rate: f64, channels: usize) {
        self.channels = channels.min(MAX_CHANNELS);
        self.tracker.prepare(sample_rate);
    }

    fn reset(&mut self) {
        self.tracker.reset();
    }

    #[inline(always)]
    fn process(&mut self, block: &[&[f32]]) {
        self.tracker.begin_block();
        let start = self.tracker.tick_pos();
        let mut end = start;
        for (ch, samples) in block.iter().take(self.channels).enumerate() {
            end = self.tracker.feed(ch, start, samples);
        }
        self.tracker.end_frames(end);
    }

    fn read(&self) -> PeakReading {
        self.tracker.read()
    }
}

impl SamplePeakMeter {
    /// The maxima and counts of [`read`](Meter::read) only (see [`PeakTracker::read_totals`]).
    pub(crate) fn read_totals(&self) -> PeakReading {
        self.tracker.read_totals(self.channels)
    }
}

#[cfg(test)]
pub(crate) mod test_util;

#[cfg(test)]
mod tests;

#[cfg(test)]
mod bench;
