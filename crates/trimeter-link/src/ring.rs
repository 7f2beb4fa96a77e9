//! The dry-signal ring: a Start instance's input, handed to the End instance of its group.
//!
//! One writer (the Start instance's audio thread) and any number of readers (End instances'
//! audio threads), all wait-free: no lock, no allocation, no retry loop. Positions count frames
//! since the ring was last cleared, so a reader asks for "the `n` frames that end `delay` frames
//! before the newest one" and learns whether the writer overtook them while it copied.
//!
//! The protocol is a sequence lock over positions. The writer first claims the frames it is about
//! to overwrite (`claimed`, then a release fence), writes the samples, then publishes them
//! (`written`, release). A reader loads `written` (acquire), copies, issues an acquire fence and
//! loads `claimed`: if the writer had started on any frame the reader copied, the fences make
//! that claim visible, and the reader discards the copy. Samples are stored as `AtomicU32` bits,
//! so a racing copy is a wrong value that gets discarded, never undefined behaviour.
//!
//! Storage is allocated outside `process()` ([`DryRing::ensure_capacity`]) and never freed: an
//! End instance may still be copying from a buffer when its Start instance goes away, and the
//! reclamation schemes that would make freeing safe (crossbeam-epoch, hazard pointers,
//! arc-swap) register per-thread state on a thread's first use, which allocates on a host's
//! audio thread. A buffer that is too small for a new occupant of the slot is replaced and the
//! old one leaked; a slot's buffer only grows, so the memory is bounded by the slot count times
//! the largest ring asked for.

use crate::sync::{fence, AtomicPtr, AtomicU32, AtomicU64, Ordering};

/// Ring storage: `capacity` frames of `channels` interleaved samples, as f32 bits.
#[derive(Debug)]
struct Storage {
    capacity: usize,
    channels: usize,
    samples: Box<[AtomicU32]>,
}

/// Why a read gave no samples.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadError {
    /// No storage yet (the writer never prepared the ring).
    NoStorage,
    /// `delay + frames` is more than the ring holds.
    TooLong,
    /// The writer overwrote frames while they were being copied (or before): the reader is
    /// further behind than the ring is long.
    Overrun,
}

/// One slot's dry-signal ring.
#[derive(Debug)]
pub struct DryRing {
    storage: AtomicPtr<Storage>,
    /// Frames published (complete).
    written: AtomicU64,
    /// Frames claimed by the writer (published plus the block being written).
    claimed: AtomicU64,
}

impl Default for DryRing {
    fn default() -> Self {
        Self {
            storage: AtomicPtr::new(std::ptr::null_mut()),
            written: AtomicU64::new(0),
            claimed: AtomicU64::new(0),
        }
    }
}

impl DryRing {
    /// Makes the ring hold at least `frames` frames of `channels` channels and clears its
    /// positions. Allocates when the storage is missing or too small; call it outside
    /// `process()`, while this slot has no writer (registration or activation).
    pub fn ensure_capacity(&self, frames: usize, channels: usize) {
        let channels = channels.max(1);
        let frames = frames.max(1);
        let current = self.storage.load(Ordering::Acquire);
        // SAFETY: storage pointers come from Box::into_raw below and are never freed.
        let fits = !current.is_null()
            && unsafe {
                let s = &*current;
                s.capacity >= frames && s.channels == channels
            };
        if !fits {
            let samples: Box<[AtomicU32]> =
                (0..frames * channels).map(|_| AtomicU32::new(0)).collect();
            let storage = Box::new(Storage {
                capacity: frames,
                channels,
                samples,
            });
            // The old buffer (if any) is leaked on purpose: see the module documentation.
            self.storage
                .store(Box::into_raw(storage), Ordering::Release);
        }
        self.claimed.store(0, Ordering::Relaxed);
        self.written.store(0, Ordering::Release);
    }

    /// Frames published so far.
    pub fn written(&self) -> u64 {
        self.written.load(Ordering::Acquire)
    }

    /// Appends one planar block. Channels beyond the ring's count are dropped; missing ones
    /// repeat the last given channel. Only the slot's owner calls this, from one thread at a
    /// time. Never allocates, locks or waits.
    pub fn write(&self, block: &[&[f32]]) {
        let ptr = self.storage.load(Ordering::Acquire);
        if ptr.is_null() || block.is_empty() {
            return;
        }
        // SAFETY: storages are never freed (module documentation).
        let storage = unsafe { &*ptr };
        let frames = block[0].len().min(storage.capacity);
        let start = self.written.load(Ordering::Relaxed);
        let end = start + frames as u64;
        self.claimed.store(end, Ordering::Relaxed);
        fence(Ordering::Release);
        // One division for the block, then a position that wraps.
        let mut position = (start % storage.capacity as u64) as usize;
        for frame in 0..frames {
            let base = position * storage.channels;
            for ch in 0..storage.channels {
                let channel = block[ch.min(block.len() - 1)];
                let value = channel.get(frame).copied().unwrap_or(0.0);
                storage.samples[base + ch].store(value.to_bits(), Ordering::Relaxed);
            }
            position += 1;
            if position == storage.capacity {
                position = 0;
            }
        }
        self.written.store(end, Ordering::Release);
    }

    /// Copies into `out` (planar; every channel the same length `n`) the `n` frames that end
    /// `delay` frames before the newest published frame, and returns the published position the
    /// copy was taken against. Frames before the start of the stream read as silence. Never
    /// allocates, locks or waits.
    pub fn read(&self, delay: u64, out: &mut [&mut [f32]]) -> Result<u64, ReadError> {
        let ptr = self.storage.load(Ordering::Acquire);
        if ptr.is_null() {
            return Err(ReadError::NoStorage);
        }
        // SAFETY: storages are never freed (module documentation).
        let storage = unsafe { &*ptr };
        let n = out.first().map_or(0, |c| c.len()) as u64;
        let capacity = storage.capacity as u64;
        if delay + n > capacity {
            return Err(ReadError::TooLong);
        }
        let end = self.written.load(Ordering::Acquire);
        // Frame position of out[..][0]; negative positions are before the stream started.
        let first = end as i128 - delay as i128 - n as i128;
        // Frames before the start of the stream are silence; then one division, and a
        // position that wraps.
        let silent = (-first).clamp(0, n as i128) as usize;
        for channel in out.iter_mut() {
            channel[..silent].fill(0.0);
        }
        let mut position = (first.max(0) as u64 % capacity) as usize;
        for i in silent..n as usize {
            let base = position * storage.channels;
            for (ch, channel) in out.iter_mut().enumerate() {
                let ch = ch.min(storage.channels - 1);
                channel[i] = f32::from_bits(storage.samples[base + ch].load(Ordering::Relaxed));
            }
            position += 1;
            if position == storage.capacity {
                position = 0;
            }
        }
        fence(Ordering::Acquire);
        let claimed = self.claimed.load(Ordering::Relaxed);
        // Every copied frame must still be in the ring: none claimed for overwriting.
        if claimed as i128 - first.max(0) > capacity as i128 {
            return Err(ReadError::Overrun);
        }
        Ok(end)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn reads_what_was_written_at_a_delay() {
        let ring = DryRing::default();
        let mut out = [0.0f32; 4];
        assert_eq!(ring.read(0, &mut [&mut out]), Err(ReadError::NoStorage));
        ring.ensure_capacity(16, 1);
        let signal: Vec<f32> = (1..=40).map(|v| v as f32).collect();
        for chunk in signal.chunks(5) {
            ring.write(&[chunk]);
        }
        assert_eq!(ring.written(), 40);
        assert_eq!(ring.read(0, &mut [&mut out]), Ok(40));
        assert_eq!(out, [37.0, 38.0, 39.0, 40.0]);
        assert_eq!(ring.read(10, &mut [&mut out]), Ok(40));
        assert_eq!(out, [27.0, 28.0, 29.0, 30.0]);
        assert_eq!(ring.read(13, &mut [&mut out]), Err(ReadError::TooLong));
        // Before the start: silence.
        ring.ensure_capacity(16, 1);
        ring.write(&[&[1.0, 2.0]]);
        assert_eq!(ring.read(0, &mut [&mut out]), Ok(2));
        assert_eq!(out, [0.0, 0.0, 1.0, 2.0]);
    }

    #[test]
    fn stereo_and_mono_writers() {
        let ring = DryRing::default();
        ring.ensure_capacity(8, 2);
        ring.write(&[&[1.0, 2.0], &[-1.0, -2.0]]);
        let (mut l, mut r) = ([0.0f32; 2], [0.0f32; 2]);
        ring.read(0, &mut [&mut l, &mut r]).unwrap();
        assert_eq!((l, r), ([1.0, 2.0], [-1.0, -2.0]));
        // A mono block fills both channels.
        ring.write(&[&[5.0]]);
        let (mut l, mut r) = ([0.0f32; 1], [0.0f32; 1]);
        ring.read(0, &mut [&mut l, &mut r]).unwrap();
        assert_eq!((l, r), ([5.0], [5.0]));
    }

    /// A writer thread streams a ramp while a reader copies with a delay: every copy the reader
    /// accepts is an exact run of the ramp.
    #[test]
    fn concurrent_reads_are_exact_or_refused() {
        let ring = std::sync::Arc::new(DryRing::default());
        ring.ensure_capacity(64, 1);
        let writer = {
            let ring = ring.clone();
            std::thread::spawn(move || {
                let mut next = 1.0f32;
                for _ in 0..20_000 {
                    let block: Vec<f32> = (0..7).map(|i| next + i as f32).collect();
                    next += 7.0;
                    ring.write(&[&block]);
                }
            })
        };
        let mut accepted = 0;
        let mut out = [0.0f32; 9];
        let check = |ring: &DryRing, out: &mut [f32; 9]| {
            if let Ok(end) = ring.read(20, &mut [&mut out[..]]) {
                if end >= 29 {
                    let first = (end - 20 - 9 + 1) as f32;
                    let expected: Vec<f32> = (0..9).map(|i| first + i as f32).collect();
                    assert_eq!(out.to_vec(), expected, "end {end}");
                    return true;
                }
            }
            false
        };
        while !writer.is_finished() {
            accepted += usize::from(check(&ring, &mut out));
        }
        writer.join().unwrap();
        // With the writer done, a read must succeed and be exact.
        assert!(check(&ring, &mut out));
        let _ = accepted;
    }
}
