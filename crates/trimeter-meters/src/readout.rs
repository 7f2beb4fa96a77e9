//! The lock-free hand-off of meter readings from the audio thread to a reader (the editor).
//!
//! Two channels, both wait-free for both sides:
//! - a triple buffer carries the latest complete [`MeterFrame`] (a consistent snapshot of every
//!   reading of both engines), so the reader never sees half of one block and half of another;
//! - per-channel atomic peak cells carry "the highest peak since the reader last looked": the
//!   writer raises them with `fetch_max`, the reader takes them with `swap(0)`. A peak that
//!   lands between two GUI frames is therefore never lost, however slowly the GUI runs.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use super::engine::MeterSnapshot;
use super::meter::MAX_CHANNELS;
use super::units::amplitude_to_db;

/// Everything the audio thread publishes after a block.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct MeterFrame {
    /// Input meters (after polarity, before trim).
    pub input: MeterSnapshot,
    /// Output meters (after makeup and bypass).
    pub output: MeterSnapshot,
    /// Input trim in dB as applied at the end of the block (after smoothing).
    pub trim_db: f32,
    /// Output makeup in dB as applied at the end of the block (after smoothing).
    pub makeup_db: f32,
    /// The sample rate the frame was measured at, in Hz.
    pub sample_rate: f64,
    /// Increases with every published frame; tells a reader whether anything new arrived.
    pub sequence: u64,
}

/// Highest peak amplitudes per channel since the reader last took them, as `f32` bits.
/// Non-negative floats order like their bit patterns, so `fetch_max` on the bits is a max on
/// the values.
#[derive(Debug, Default)]
struct PeakCells {
    input_sample: [AtomicU32; MAX_CHANNELS],
    input_true: [AtomicU32; MAX_CHANNELS],
    output_sample: [AtomicU32; MAX_CHANNELS],
    output_true: [AtomicU32; MAX_CHANNELS],
}

/// Per-channel peak amplitudes (linear, >= 0) of one interval.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ChannelPeaks {
    /// Sample peak amplitude per channel.
    pub sample: [f32; MAX_CHANNELS],
    /// True-peak amplitude per channel.
    pub true_peak: [f32; MAX_CHANNELS],
}

impl ChannelPeaks {
    /// Sample peak of `channel` in dBFS.
    pub fn sample_db(&self, channel: usize) -> f32 {
        amplitude_to_db(self.sample[channel.min(MAX_CHANNELS - 1)])
    }

    /// True peak of `channel` in dBTP.
    pub fn true_peak_db(&self, channel: usize) -> f32 {
        amplitude_to_db(self.true_peak[channel.min(MAX_CHANNELS - 1)])
    }
}

/// The audio thread's end.
pub struct ReadoutWriter {
    frames: triple_buffer::Input<MeterFrame>,
    peaks: Arc<PeakCells>,
    sequence: u64,
}

/// The reader's end (one reader).
pub struct ReadoutReader {
    frames: triple_buffer::Output<MeterFrame>,
    peaks: Arc<PeakCells>,
}

impl std::fmt::Debug for ReadoutWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadoutWriter")
            .field("sequence", &self.sequence)
            .finish()
    }
}

impl std::fmt::Debug for ReadoutReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadoutReader").finish_non_exhaustive()
    }
}

/// A connected writer and reader. Allocates (once).
pub fn readout() -> (ReadoutWriter, ReadoutReader) {
    let (input, output) = triple_buffer::triple_buffer(&MeterFrame::default());
    let peaks = Arc::new(PeakCells::default());
    (
        ReadoutWriter {
            frames: input,
            peaks: Arc::clone(&peaks),
            sequence: 0,
        },
        ReadoutReader {
            frames: output,
            peaks,
        },
    )
}

impl ReadoutWriter {
    /// Publishes a frame and raises the peak cells with the peaks of the interval it covers.
    /// Wait-free; never allocates.
    pub fn publish(
        &mut self,
        mut frame: MeterFrame,
        input_peaks: &ChannelPeaks,
        output_peaks: &ChannelPeaks,
    ) {
        self.sequence += 1;
        frame.sequence = self.sequence;
        *self.frames.input_buffer_mut() = frame;
        self.frames.publish();
        let cells = &*self.peaks;
        raise(&cells.input_sample, &input_peaks.sample);
        raise(&cells.input_true, &input_peaks.true_peak);
        raise(&cells.output_sample, &output_peaks.sample);
        raise(&cells.output_true, &output_peaks.true_peak);
    }
}

fn raise(cells: &[AtomicU32; MAX_CHANNELS], amplitudes: &[f32; MAX_CHANNELS]) {
    for (cell, &amplitude) in cells.iter().zip(amplitudes) {
        // NaN or negative values never reach here from the engine; guard anyway so a bad value
        // cannot pin the cell at a huge bit pattern.
        if amplitude > 0.0 && amplitude.is_finite() {
            cell.fetch_max(amplitude.to_bits(), Ordering::Relaxed);
        }
    }
}

fn take(cells: &[AtomicU32; MAX_CHANNELS]) -> [f32; MAX_CHANNELS] {
    let mut out = [0.0; MAX_CHANNELS];
    for (o, cell) in out.iter_mut().zip(cells) {
        *o = f32::from_bits(cell.swap(0, Ordering::Relaxed));
    }
    out
}

/// What a reader gets: the newest frame and the peaks since its previous read.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Readings {
    /// The newest complete frame.
    pub frame: MeterFrame,
    /// Input peaks since the previous read.
    pub input_peaks: ChannelPeaks,
    /// Output peaks since the previous read.
    pub output_peaks: ChannelPeaks,
}

impl ReadoutReader {
    /// The newest frame and the peaks since the previous call. Wait-free; O(1).
    pub fn read(&mut self) -> Readings {
        let frame = *self.frames.read();
        let cells = &*self.peaks;
        Readings {
            frame,
            input_peaks: ChannelPeaks {
                sample: take(&cells.input_sample),
                true_peak: take(&cells.input_true),
            },
            output_peaks: ChannelPeaks {
                sample: take(&cells.output_sample),
                true_peak: take(&cells.output_true),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peaks(v: f32) -> ChannelPeaks {
        ChannelPeaks {
            sample: [v; MAX_CHANNELS],
            true_peak: [v * 1.1; MAX_CHANNELS],
        }
    }

    #[test]
    fn a_peak_between_two_reads_is_never_lost() {
        let (mut writer, mut reader) = readout();
        writer.publish(MeterFrame::default(), &peaks(0.9), &peaks(0.1));
        writer.publish(MeterFrame::default(), &peaks(0.2), &peaks(0.1));
        let r = reader.read();
        assert_eq!(r.input_peaks.sample[0], 0.9);
        assert_eq!(r.frame.sequence, 2);
        // Nothing new since: the cells are empty.
        let r = reader.read();
        assert_eq!(r.input_peaks.sample[0], 0.0);
        assert_eq!(r.input_peaks.sample_db(0), f32::NEG_INFINITY);
    }

    #[test]
    fn concurrent_writer_and_reader_see_every_maximum() {
        let (mut writer, mut reader) = readout();
        let handle = std::thread::spawn(move || {
            for i in 0..20_000u32 {
                let v = if i == 12_345 {
                    0.99
                } else {
                    0.01 + (i % 7) as f32 * 1e-3
                };
                nice_assert_no_alloc::assert_no_alloc(|| {
                    writer.publish(
                        MeterFrame {
                            trim_db: i as f32,
                            ..MeterFrame::default()
                        },
                        &peaks(v),
                        &peaks(v),
                    );
                });
            }
        });
        let mut seen_max = 0.0f32;
        let mut last_trim = -1.0f32;
        while !handle.is_finished() {
            let r = reader.read();
            seen_max = seen_max.max(r.input_peaks.sample[3]);
            assert!(r.frame.trim_db >= last_trim, "frames go forward");
            last_trim = r.frame.trim_db;
        }
        handle.join().unwrap();
        seen_max = seen_max.max(reader.read().input_peaks.sample[3]);
        assert_eq!(seen_max, 0.99);
        assert_eq!(reader.read().frame.sequence, 20_000);
    }
}
