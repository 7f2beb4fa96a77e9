//! Deterministic test and benchmark signals: sines, tone bursts and noise, as the standards
//! describe their test material. Used by unit tests, integration tests, benchmarks and the
//! command-line tool's self-checks; nothing here runs on the audio thread.

use std::f64::consts::TAU;

use crate::rng::Rng;

/// A sine of `frequency_hz` with a peak of `peak_dbfs`, `seconds` long, starting at `phase_rad`.
pub fn sine(
    sample_rate: f64,
    frequency_hz: f64,
    peak_dbfs: f64,
    seconds: f64,
    phase_rad: f64,
) -> Vec<f32> {
    let frames = frames_for(sample_rate, seconds);
    let amplitude = 10f64.powf(peak_dbfs / 20.0);
    let step = TAU * frequency_hz / sample_rate;
    (0..frames)
        .map(|n| (amplitude * (phase_rad + step * n as f64).sin()) as f32)
        .collect()
}

/// `seconds` of digital silence.
pub fn silence(sample_rate: f64, seconds: f64) -> Vec<f32> {
    vec![0.0; frames_for(sample_rate, seconds)]
}

/// A tone burst: `silence_before_s` of silence, then a sine of `burst_s` (starting at phase 0),
/// then `silence_after_s` of silence.
pub fn tone_burst(
    sample_rate: f64,
    frequency_hz: f64,
    peak_dbfs: f64,
    silence_before_s: f64,
    burst_s: f64,
    silence_after_s: f64,
) -> Vec<f32> {
    let mut signal = silence(sample_rate, silence_before_s);
    signal.extend(sine(sample_rate, frequency_hz, peak_dbfs, burst_s, 0.0));
    signal.extend(silence(sample_rate, silence_after_s));
    signal
}

/// Uniform white noise in [-amplitude, amplitude) from a fixed seed (xorshift64*), so tests and
/// benchmarks see the same signal on every run.
pub fn white_noise(frames: usize, amplitude: f32, seed: u64) -> Vec<f32> {
    let mut rng = Rng::new(seed);
    (0..frames)
        .map(|_| amplitude * rng.next_bipolar())
        .collect()
}

/// Concatenates signal segments.
pub fn concat(segments: &[Vec<f32>]) -> Vec<f32> {
    segments.iter().flatten().copied().collect()
}

/// Frames in `seconds` at `sample_rate`, rounded to the nearest frame.
pub fn frames_for(sample_rate: f64, seconds: f64) -> usize {
    (sample_rate * seconds).round().max(0.0) as usize
}

/// Splits `frames` into consecutive block lengths from a fixed seed, each in `1..=max_block`, for
/// tests that check results do not depend on how a signal is split into blocks.
pub fn random_splits(frames: usize, max_block: usize, seed: u64) -> Vec<usize> {
    let mut rng = Rng::new(seed);
    let mut splits = Vec::new();
    let mut left = frames;
    while left > 0 {
        let len = (1 + (rng.next_u64() % max_block.max(1) as u64) as usize).min(left);
        splits.push(len);
        left -= len;
    }
    splits
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sine_has_requested_peak_and_length() {
        let s = sine(48_000.0, 997.0, -6.0, 1.0, 0.0);
        assert_eq!(s.len(), 48_000);
        let peak = s.iter().fold(0.0f32, |m, x| m.max(x.abs()));
        assert!((20.0 * peak.log10() - -6.0).abs() < 0.01, "{peak}");
    }

    #[test]
    fn burst_layout_and_splits_cover_everything() {
        let b = tone_burst(1000.0, 100.0, 0.0, 0.5, 0.25, 0.25);
        assert_eq!(b.len(), 1000);
        assert!(b[..500].iter().all(|&x| x == 0.0));
        assert!(b[500..750].iter().any(|&x| x.abs() > 0.9));
        let splits = random_splits(10_007, 64, 3);
        assert_eq!(splits.iter().sum::<usize>(), 10_007);
        assert!(splits.iter().all(|&n| (1..=64).contains(&n)));
        let noise = white_noise(10_000, 0.5, 1);
        assert!(noise.iter().all(|x| x.abs() <= 0.5));
        assert_ne!(noise, white_noise(10_000, 0.5, 2));
    }
}
