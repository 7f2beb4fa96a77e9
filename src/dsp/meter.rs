//! The one lifecycle every meter follows.

/// The most channels any meter handles. Per-channel readings are fixed-size arrays of this length
/// so that a reading is `Copy` and can be handed between threads without allocating.
pub const MAX_CHANNELS: usize = 8;

/// A level meter.
///
/// Real-time contract:
/// - [`prepare`](Meter::prepare) may allocate and must be called before the first
///   [`process`](Meter::process) and whenever the sample rate, the maximum block length or the
///   channel count changes.
/// - [`process`](Meter::process) never allocates, locks, waits or panics. It accepts any block
///   length (including 0 and lengths above `max_block`), and the readings after processing a signal
///   do not depend on how that signal was split into blocks.
/// - [`read`](Meter::read) is cheap (O(1), no dependency on how much audio was processed).
/// - Input samples are finite. The engine replaces non-finite samples with 0 (and counts them)
///   before any meter sees them; a meter must still never produce a non-finite reading from
///   finite input of any magnitude (1e30 included).
pub trait Meter {
    /// What [`read`](Meter::read) returns: a small `Copy` value in the units people use.
    type Reading: Copy + Default;

    /// Sets the meter up for a sample rate (Hz), a maximum block length in frames and a channel
    /// count (1..=[`MAX_CHANNELS`]). Resets all state.
    fn prepare(&mut self, sample_rate: f64, max_block: usize, channels: usize);

    /// Clears all state (ballistics, windows, maxima, counters) as if nothing had been processed.
    fn reset(&mut self);

    /// Processes one block of planar audio: `block[channel][frame]`. All channel slices have the
    /// same length; `block.len()` equals the prepared channel count.
    fn process(&mut self, block: &[&[f32]]);

    /// The current reading.
    fn read(&self) -> Self::Reading;
}
