//! VU meter per IEC 60268-17: full-wave average-responding rectifier followed by the ballistics
//! of a second-order, slightly under-damped movement.
//!
//! IEC 60268-17 clause 3 (dynamic characteristics): a 1 kHz tone at reference level, applied
//! suddenly, brings the pointer to 99 % of its steady deflection in 300 ms (+-10 %) and overshoots
//! by 1.0 % to 1.5 %; the return on removal of the tone is the same mirrored. A second-order
//! low-pass with damping ratio [`DAMPING`] overshoots its step response by 1.25 % (the middle of
//! the tolerance), and natural frequency [`NATURAL_RAD_PER_S`] puts its first crossing of 99 % at
//! 300 ms.
//!
//! The movement is slow (about 2 Hz), so it is simulated on a grid of [`TICK_FRAMES`] frames
//! counted from reset: each tick's mean rectified level is the input of an exact (zero-order
//! hold) discretization of the continuous movement. The tick average is a boxcar that changes the
//! response by far less than the tolerances, and the grid makes the reading independent of the
//! block split. Readings update once per tick (at most 4 ms late at 8 kHz).

use super::meter::{common_frames, Meter, MAX_CHANNELS};
use super::units::{amplitude_to_db, db_to_amplitude};

mod ballistics;
use ballistics::Movement;

/// Frames per ballistics tick.
pub const TICK_FRAMES: usize = 32;

/// The 0 VU calibrations the meter accepts, in dBFS (the sine peak that reads 0 VU). Studio
/// practice spans -24 (0 VU = +4 dBu at +24 dBu full scale) to -8; the range reaches from -40 for
/// quiet broadcast alignments to 0 for full-scale calibration tones. The command-line tool and the
/// plugin's parameter share it.
pub const VU_REFERENCE_RANGE_DBFS: std::ops::RangeInclusive<f32> = -40.0..=0.0;

/// Damping ratio of the movement: zeta = -ln(OS) / sqrt(pi^2 + ln(OS)^2) for an overshoot OS of
/// 1.25 % (IEC 60268-17: 1.0 % to 1.5 %).
pub const DAMPING: f64 = 0.812_717;

/// Natural frequency of the movement in rad/s: with [`DAMPING`], the step response first reaches
/// 99 % after 4.05358 / omega_n seconds, which is 300 ms (IEC 60268-17).
pub const NATURAL_RAD_PER_S: f64 = 13.511_93;

/// Mean of |sin| over a period relative to the sine's peak (2 / pi): what an average-responding
/// rectifier sees of a sine.
const SINE_MEAN_ABS_PER_PEAK: f64 = 2.0 / std::f64::consts::PI;

/// Settings of a [`VuMeter`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct VuConfig {
    /// 0 VU is a sine whose peak is at this level in dBFS; held inside
    /// [`VU_REFERENCE_RANGE_DBFS`] (-40..=0 dBFS).
    pub reference_dbfs: f32,
}

impl Default for VuConfig {
    fn default() -> Self {
        Self {
            reference_dbfs: -18.0,
        }
    }
}

/// What a [`VuMeter`] reads, per channel.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct VuReading {
    /// Pointer position in VU (dB relative to the reference); minus infinity for silence (and
    /// while the pointer undershoots below rest after a tone stops).
    pub vu: [f32; MAX_CHANNELS],
    /// Largest pointer position since reset, in VU.
    pub max_vu: [f32; MAX_CHANNELS],
}

impl Default for VuReading {
    fn default() -> Self {
        Self {
            vu: [f32::NEG_INFINITY; MAX_CHANNELS],
            max_vu: [f32::NEG_INFINITY; MAX_CHANNELS],
        }
    }
}

/// VU meter with IEC 60268-17 ballistics.
#[derive(Clone, Debug)]
pub struct VuMeter {
    /// The reference in effect (inside [`VU_REFERENCE_RANGE_DBFS`]).
    config: VuConfig,
    /// Prepared channel count.
    channels: usize,
    /// The movement's tick update, derived in `prepare`.
    movement: Movement,
    /// Multiplier from a tick's sum of |x| to the movement input (1.0 = 0 VU), from the reference.
    input_scale: f64,
    /// Frames of the incomplete tick, per channel (copied so every tick sums in one fixed order).
    pending: [[f32; TICK_FRAMES]; MAX_CHANNELS],
    /// Frames held in `pending`.
    pending_len: usize,
    /// Pointer deflection (1.0 = 0 VU) and its velocity (per second), per channel.
    state: [[f64; 2]; MAX_CHANNELS],
    /// Largest deflection since reset, per channel.
    max_deflection: [f64; MAX_CHANNELS],
}

impl VuMeter {
    /// A meter with the given reference (prepare it before use).
    pub fn new(config: VuConfig) -> Self {
        let mut meter = Self {
            config,
            channels: 0,
            movement: Movement::new(NATURAL_RAD_PER_S, DAMPING, TICK_FRAMES as f64 / 48_000.0),
            input_scale: 0.0,
            pending: [[0.0; TICK_FRAMES]; MAX_CHANNELS],
            pending_len: 0,
            state: [[0.0; 2]; MAX_CHANNELS],
            max_deflection: [0.0; MAX_CHANNELS],
        };
        meter.set_reference_dbfs(config.reference_dbfs);
        meter
    }

    /// Sets the sine peak level in dBFS that reads 0 VU. Takes effect at once without resetting
    /// the pointer (see [`Meter`]'s contract). Callers keep it inside
    /// [`VU_REFERENCE_RANGE_DBFS`] (the command-line tool refuses other values, the plugin's
    /// parameter cannot leave it); a value outside is held at the nearest end and NaN restores the
    /// default, so a real-time caller can never put the meter into a broken state.
    pub fn set_reference_dbfs(&mut self, dbfs: f32) {
        let dbfs = if dbfs.is_nan() {
            VuConfig::default().reference_dbfs
        } else {
            dbfs.clamp(
                *VU_REFERENCE_RANGE_DBFS.start(),
                *VU_REFERENCE_RANGE_DBFS.end(),
            )
        };
        self.config.reference_dbfs = dbfs;
        let reference_mean_abs = f64::from(db_to_amplitude(dbfs)) * SINE_MEAN_ABS_PER_PEAK;
        self.input_scale = 1.0 / (reference_mean_abs * TICK_FRAMES as f64);
    }

    /// The reference in effect (dBFS sine peak for 0 VU).
    pub fn reference_dbfs(&self) -> f32 {
        self.config.reference_dbfs
    }

    /// The signed pointer deflection of channel `ch` (1.0 = 0 VU, 0.0 = rest; briefly negative
    /// while the pointer undershoots after a tone stops). 0.0 for channels not prepared.
    pub fn deflection(&self, ch: usize) -> f64 {
        self.state.get(ch).map_or(0.0, |s| s[0])
    }

    #[inline(always)]
    fn tick(&mut self, ch: usize, frames: &[f32; TICK_FRAMES]) {
        // NOTE: 32 samples near f32::MAX sum to infinity in f32, and an infinite input would turn
        // the movement's state into NaN; clamping keeps every finite input finite.
        let sum = sum_abs(frames).min(f32::MAX);
        let input = f64::from(sum) * self.input_scale;
        let state = self.movement.step(self.state[ch], input);
        self.state[ch] = state;
        self.max_deflection[ch] = self.max_deflection[ch].max(state[0]);
    }
}

impl Meter for VuMeter {
    type Reading = VuReading;

    fn prepare(&mut self, sample_rate: f64, channels: usize) {
        self.channels = channels.min(MAX_CHANNELS);
        let tick_s = TICK_FRAMES as f64 / sample_rate.max(1.0);
        self.movement = Movement::new(NATURAL_RAD_PER_S, DAMPING, tick_s);
        self.reset();
    }

    fn reset(&mut self) {
        self.pending = [[0.0; TICK_FRAMES]; MAX_CHANNELS];
        self.pending_len = 0;
        self.state = [[0.0; 2]; MAX_CHANNELS];
        self.max_deflection = [0.0; MAX_CHANNELS];
    }

    #[inline(always)]
    fn process(&mut self, block: &[&[f32]]) {
        let channels = block.len().min(self.channels);
        let frames = common_frames(block, channels);
        let start = self.pending_len;
        // Complete the pending tick first.
        let head = if start > 0 {
            (TICK_FRAMES - start).min(frames)
        } else {
            0
        };
        if head > 0 {
            for (ch, samples) in block.iter().take(channels).enumerate() {
                if let (Some(dst), Some(src)) = (
                    self.pending[ch].get_mut(start..start + head),
                    samples.get(..head),
                ) {
                    dst.copy_from_slice(src);
                }
                if start + head == TICK_FRAMES {
                    let frames = self.pending[ch];
                    self.tick(ch, &frames);
                }
            }
        }
        let filled = start + head;
        if filled > 0 && filled < TICK_FRAMES {
            // The block ended inside the pending tick.
            self.pending_len = filled;
            return;
        }
        // Then whole ticks straight from the block, every channel's tick k before any channel's
        // tick k + 1: each channel's movement is a serial chain of multiply-adds, and
        // interleaving the channels lets the CPU overlap their chains. Per channel the ticks run
        // in the same order as before, so the readings do not change.
        let whole = (frames - head) / TICK_FRAMES;
        for k in 0..whole {
            let from = head + k * TICK_FRAMES;
            for (ch, samples) in block.iter().take(channels).enumerate() {
                if let Some(Ok(tick)) = samples
                    .get(from..from + TICK_FRAMES)
                    .map(<&[f32; TICK_FRAMES]>::try_from)
                {
                    self.tick(ch, tick);
                }
            }
        }
        let rest_from = head + whole * TICK_FRAMES;
        let rest = frames - rest_from;
        for (ch, samples) in block.iter().take(channels).enumerate() {
            if let (Some(dst), Some(src)) = (
                self.pending[ch].get_mut(..rest),
                samples.get(rest_from..frames),
            ) {
                dst.copy_from_slice(src);
            }
        }
        self.pending_len = rest;
    }

    fn read(&self) -> VuReading {
        let mut reading = self.read_totals();
        for ch in 0..self.channels {
            reading.vu[ch] = amplitude_to_db(self.state[ch][0] as f32);
        }
        reading
    }
}

impl VuMeter {
    /// Only the maxima of [`read`](Meter::read); the needle positions stay at their defaults.
    pub(crate) fn read_totals(&self) -> VuReading {
        let mut reading = VuReading::default();
        for ch in 0..self.channels {
            reading.max_vu[ch] = amplitude_to_db(self.max_deflection[ch] as f32);
        }
        reading
    }
}

/// Sum of |x| over one tick in eight fixed lanes (vectorizes; same order every time).
#[inline(always)]
fn sum_abs(frames: &[f32; TICK_FRAMES]) -> f32 {
    let mut lanes = [0.0f32; 8];
    for chunk in frames.chunks_exact(8) {
        for (lane, &x) in lanes.iter_mut().zip(chunk) {
            *lane += x.abs();
        }
    }
    ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3]))
        + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]))
}

#[cfg(test)]
mod tests;
