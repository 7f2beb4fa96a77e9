//! A level history for the editor's graph: short-term loudness and sample peak, ten points per
//! second, for up to ten minutes.
//!
//! The audio thread records it always, whether or not anybody is looking, so the graph is full
//! when an editor opens after playback. The storage is allocated once by [`history`]; recording
//! ([`HistoryWriter::advance`]) never allocates, locks or waits. Points live in atomics (f32 bits),
//! so the one reader copies them out without a lock while the writer goes on.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;

use super::units::amplitude_to_db;

/// Points per second.
pub const HISTORY_RATE_HZ: f64 = 10.0;

/// The longest history kept, in seconds (10 minutes).
pub const HISTORY_SECONDS: usize = 600;

/// Points the ring holds: ten minutes at ten points per second.
pub const HISTORY_CAPACITY: usize = HISTORY_SECONDS * HISTORY_RATE_HZ as usize;

/// One point of the history: the readings at the end of a 100 ms interval.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HistoryPoint {
    /// Short-term loudness (3 s window) at the end of the interval, LUFS; minus infinity for
    /// silence.
    pub short_term_lufs: f32,
    /// Highest sample peak of any channel during the interval, dBFS; minus infinity for silence.
    pub sample_peak_dbfs: f32,
}

/// The shared ring: slot `i % capacity` holds point `i`.
#[derive(Debug)]
struct Ring {
    short_term_bits: Box<[AtomicU32]>,
    peak_bits: Box<[AtomicU32]>,
    /// Points written since creation. Stored with `Release` after the slot, so a reader that
    /// loads it with `Acquire` sees the slots below it.
    written: AtomicU64,
}

/// The audio thread's end: turns blocks into 100 ms points.
#[derive(Debug)]
pub struct HistoryWriter {
    ring: Arc<Ring>,
    /// Frames per point at the prepared sample rate (4800 at 48 kHz).
    frames_per_point: u64,
    /// Frames counted towards the next point.
    pending_frames: u64,
    /// Highest sample-peak amplitude since the last point (linear, >= 0).
    pending_peak: f32,
}

/// The reader's end (the editor).
#[derive(Debug, Clone)]
pub struct HistoryReader {
    ring: Arc<Ring>,
}

/// A connected writer and reader with room for [`HISTORY_CAPACITY`] points, prepared for 48 kHz.
/// Allocates (once).
pub fn history() -> (HistoryWriter, HistoryReader) {
    history_with_capacity(HISTORY_CAPACITY)
}

/// As [`history`] with room for `capacity` points (at least 1).
pub fn history_with_capacity(capacity: usize) -> (HistoryWriter, HistoryReader) {
    let capacity = capacity.max(1);
    let silent = f32::NEG_INFINITY.to_bits();
    let ring = Arc::new(Ring {
        short_term_bits: (0..capacity).map(|_| AtomicU32::new(silent)).collect(),
        peak_bits: (0..capacity).map(|_| AtomicU32::new(silent)).collect(),
        written: AtomicU64::new(0),
    });
    let mut writer = HistoryWriter {
        ring: Arc::clone(&ring),
        frames_per_point: 1,
        pending_frames: 0,
        pending_peak: 0.0,
    };
    writer.prepare(48_000.0);
    (writer, HistoryReader { ring })
}

impl HistoryWriter {
    /// Sets the sample rate; the interval in progress starts again. Never allocates.
    pub fn prepare(&mut self, sample_rate: f64) {
        let frames = (sample_rate / HISTORY_RATE_HZ).round();
        self.frames_per_point = if frames.is_finite() && frames >= 1.0 {
            frames as u64
        } else {
            1
        };
        self.pending_frames = 0;
        self.pending_peak = 0.0;
    }

    /// Frames per point at the prepared sample rate.
    pub fn frames_per_point(&self) -> u64 {
        self.frames_per_point
    }

    /// Counts a block of `frames` frames whose highest sample-peak amplitude (any channel) was
    /// `peak_amplitude`. When the block completes one or more 100 ms intervals, a point is
    /// recorded for each, with `short_term_lufs()` (called once) as its loudness. Returns how
    /// many points were recorded. Never allocates, locks or waits.
    ///
    /// The interval grid is counted in frames, so the points do not depend on the block split
    /// except that a point takes the loudness at the end of the block that completes it (blocks
    /// are far shorter than 100 ms in practice).
    pub fn advance(
        &mut self,
        frames: usize,
        peak_amplitude: f32,
        short_term_lufs: impl FnOnce() -> f32,
    ) -> usize {
        if peak_amplitude > self.pending_peak {
            self.pending_peak = peak_amplitude;
        }
        self.pending_frames += frames as u64;
        if self.pending_frames < self.frames_per_point {
            return 0;
        }
        let due = self.pending_frames / self.frames_per_point;
        self.pending_frames %= self.frames_per_point;
        let point = HistoryPoint {
            short_term_lufs: short_term_lufs(),
            sample_peak_dbfs: amplitude_to_db(self.pending_peak),
        };
        self.pending_peak = 0.0;
        // A block of more than the whole ring only needs to write the ring once.
        let capacity = self.ring.short_term_bits.len() as u64;
        for _ in 0..due.min(capacity) {
            self.push(point);
        }
        let skipped = due.saturating_sub(capacity);
        if skipped > 0 {
            self.ring.written.fetch_add(skipped, Ordering::Release);
        }
        due as usize
    }

    /// Appends one point. Never allocates.
    pub fn push(&mut self, point: HistoryPoint) {
        let ring = &*self.ring;
        let n = ring.written.load(Ordering::Relaxed);
        let slot = (n % ring.short_term_bits.len() as u64) as usize;
        ring.short_term_bits[slot].store(point.short_term_lufs.to_bits(), Ordering::Relaxed);
        ring.peak_bits[slot].store(point.sample_peak_dbfs.to_bits(), Ordering::Relaxed);
        ring.written.store(n + 1, Ordering::Release);
    }
}

impl HistoryReader {
    /// Points recorded since creation (also those the ring no longer holds).
    pub fn written(&self) -> u64 {
        self.ring.written.load(Ordering::Acquire)
    }

    /// The points the ring holds.
    pub fn capacity(&self) -> usize {
        self.ring.short_term_bits.len()
    }

    /// Replaces `out` with the newest `count` points (fewer if fewer were recorded), oldest
    /// first. Wait-free; allocates only if `out` must grow.
    ///
    /// A slot the writer overwrites while it is copied would mix two points; the copy therefore
    /// leaves out the oldest points the writer can have reached by the time the copy ends.
    pub fn copy_latest(&self, count: usize, out: &mut Vec<HistoryPoint>) {
        out.clear();
        let ring = &*self.ring;
        let capacity = ring.short_term_bits.len() as u64;
        let end = ring.written.load(Ordering::Acquire);
        let count = (count as u64).min(end).min(capacity);
        let start = end - count;
        out.reserve(count as usize);
        for n in start..end {
            let slot = (n % capacity) as usize;
            out.push(HistoryPoint {
                short_term_lufs: f32::from_bits(ring.short_term_bits[slot].load(Ordering::Relaxed)),
                sample_peak_dbfs: f32::from_bits(ring.peak_bits[slot].load(Ordering::Relaxed)),
            });
        }
        // Points below `after - capacity` may have been overwritten during the copy.
        let after = ring.written.load(Ordering::Acquire);
        let overwritten = (after.saturating_sub(capacity)).saturating_sub(start) as usize;
        if overwritten > 0 {
            out.drain(..overwritten.min(out.len()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::units::db_to_amplitude;

    #[test]
    fn ten_points_per_second_at_every_rate_whatever_the_blocks() {
        for sample_rate in [44_100.0, 48_000.0, 96_000.0] {
            for block in [1usize, 64, 441, 512, 4096] {
                let (mut writer, reader) = history();
                writer.prepare(sample_rate);
                let seconds = 3;
                let total = (sample_rate as usize) * seconds;
                let mut done = 0;
                while done < total {
                    let n = block.min(total - done);
                    writer.advance(n, 0.5, || -20.0);
                    done += n;
                }
                assert_eq!(reader.written(), 30, "{sample_rate} Hz, blocks of {block}");
            }
        }
    }

    #[test]
    fn each_point_holds_its_intervals_peak_and_the_loudness_at_its_end() {
        let (mut writer, reader) = history();
        writer.prepare(48_000.0);
        // Interval 1: a peak of -6 dBFS in the middle; interval 2: -20 dBFS.
        writer.advance(2400, db_to_amplitude(-6.0), || -30.0);
        writer.advance(2400, 0.01, || -25.0);
        writer.advance(4800, db_to_amplitude(-20.0), || -24.0);
        let mut points = Vec::new();
        reader.copy_latest(10, &mut points);
        assert_eq!(points.len(), 2);
        assert!((points[0].sample_peak_dbfs - -6.0).abs() < 1e-4);
        assert_eq!(points[0].short_term_lufs, -25.0);
        assert!((points[1].sample_peak_dbfs - -20.0).abs() < 1e-4);
        assert_eq!(points[1].short_term_lufs, -24.0);
    }

    #[test]
    fn the_ring_keeps_the_newest_points_oldest_first() {
        let (mut writer, reader) = history_with_capacity(8);
        for i in 0..20 {
            writer.push(HistoryPoint {
                short_term_lufs: i as f32,
                sample_peak_dbfs: -(i as f32),
            });
        }
        let mut points = Vec::new();
        reader.copy_latest(100, &mut points);
        let values: Vec<f32> = points.iter().map(|p| p.short_term_lufs).collect();
        assert_eq!(values, [12.0, 13.0, 14.0, 15.0, 16.0, 17.0, 18.0, 19.0]);
        reader.copy_latest(3, &mut points);
        assert_eq!(points.len(), 3);
        assert_eq!(points[0].short_term_lufs, 17.0);
        assert_eq!(reader.written(), 20);
    }

    #[test]
    fn the_full_ten_minutes_fit_and_recording_never_allocates() {
        let (mut writer, reader) = history();
        writer.prepare(48_000.0);
        nice_assert_no_alloc::assert_no_alloc(|| {
            for _ in 0..(48_000 * 660 / 512) {
                writer.advance(512, 0.25, || -18.0);
            }
        });
        let mut points = Vec::new();
        reader.copy_latest(HISTORY_CAPACITY, &mut points);
        assert_eq!(points.len(), HISTORY_CAPACITY);
        assert!(points.iter().all(|p| p.short_term_lufs == -18.0));
    }

    #[test]
    fn silence_records_minus_infinity() {
        let (mut writer, reader) = history();
        writer.advance(4800, 0.0, || f32::NEG_INFINITY);
        let mut points = Vec::new();
        reader.copy_latest(1, &mut points);
        assert_eq!(points[0].sample_peak_dbfs, f32::NEG_INFINITY);
        assert_eq!(points[0].short_term_lufs, f32::NEG_INFINITY);
    }
}
