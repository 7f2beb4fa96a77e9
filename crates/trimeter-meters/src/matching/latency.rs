//! A chain's latency, from the cross-correlation of its input and its output.
//!
//! The End instance records a few seconds of the Start instance's input (the reference) and of
//! its own input (the chain's output, delayed by the chain), both counted from the same sample
//! position. The lag at which the normalized cross-correlation peaks is the latency. The
//! correlation runs through an FFT (rustfft) on a non-real-time thread: it allocates.
//!
//! A chain that inverts polarity correlates negatively; the magnitude counts. Gain and most
//! equalisation leave the peak where it is; heavy distortion or time-varying effects lower the
//! correlation, which [`LatencyEstimate::correlation`] reports so a caller can refuse to trust a
//! weak peak.

use rustfft::num_complex::Complex;
use rustfft::FftPlanner;

/// Below this normalized correlation a peak says nothing about the latency.
pub const MIN_CORRELATION: f32 = 0.5;

/// What the cross-correlation found.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LatencyEstimate {
    /// How many frames the chain's output lags its input.
    pub latency_frames: usize,
    /// The normalized cross-correlation at that lag, -1..1 (negative for an inverting chain).
    pub correlation: f32,
}

impl LatencyEstimate {
    /// Whether the peak is strong enough to be trusted ([`MIN_CORRELATION`]).
    pub fn is_reliable(&self) -> bool {
        self.correlation.abs() >= MIN_CORRELATION
    }
}

/// The lag in `0..=max_lag` frames at which `delayed` best matches `reference`.
///
/// `reference[n]` and `delayed[n]` are the chain's input and output at the same sample position;
/// `delayed` must hold at least `reference.len() + max_lag` frames, so every lag compares the
/// whole reference. `None` when either signal is silent over the compared span or the lengths do
/// not fit.
pub fn estimate_latency(
    reference: &[f32],
    delayed: &[f32],
    max_lag: usize,
) -> Option<LatencyEstimate> {
    let n = reference.len();
    if n == 0 || delayed.len() < n + max_lag {
        return None;
    }
    let delayed = &delayed[..n + max_lag];
    let size = (n + max_lag).next_power_of_two() * 2;
    let mut planner = FftPlanner::<f64>::new();
    let forward = planner.plan_fft_forward(size);
    let inverse = planner.plan_fft_inverse(size);
    let spectrum = |x: &[f32]| {
        let mut buffer: Vec<Complex<f64>> = x
            .iter()
            .map(|&v| Complex::new(f64::from(v), 0.0))
            .chain(std::iter::repeat(Complex::new(0.0, 0.0)))
            .take(size)
            .collect();
        forward.process(&mut buffer);
        buffer
    };
    let a = spectrum(reference);
    let mut product = spectrum(delayed);
    for (p, r) in product.iter_mut().zip(&a) {
        *p *= r.conj();
    }
    inverse.process(&mut product);
    // r[lag] = sum over n of reference[n] * delayed[n + lag], times `size` from the inverse FFT.
    let energy_ref: f64 = reference.iter().map(|&v| f64::from(v).powi(2)).sum();
    if energy_ref.is_nan() || energy_ref <= 0.0 {
        return None;
    }
    // Energy of `delayed[lag..lag + n]` for every lag, by a running sum.
    let mut window: f64 = delayed[..n].iter().map(|&v| f64::from(v).powi(2)).sum();
    let mut best: Option<LatencyEstimate> = None;
    for lag in 0..=max_lag {
        if lag > 0 {
            window += f64::from(delayed[lag + n - 1]).powi(2) - f64::from(delayed[lag - 1]).powi(2);
        }
        if window <= energy_ref * 1e-12 {
            continue;
        }
        let r = product[lag].re / size as f64;
        let correlation = (r / (energy_ref * window.max(0.0)).sqrt()) as f32;
        if best.is_none_or(|b| correlation.abs() > b.correlation.abs()) {
            best = Some(LatencyEstimate {
                latency_frames: lag,
                correlation,
            });
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signals::white_noise;

    /// A chain of known latency: delay, gain, a one-pole low-pass and optional inversion.
    fn chain(input: &[f32], latency: usize, gain: f32, invert: bool) -> Vec<f32> {
        let mut state = 0.0f32;
        let mut out = vec![0.0; latency];
        out.extend(input.iter().map(|&x| {
            state += 0.5 * (x - state);
            let y = gain * state;
            if invert {
                -y
            } else {
                y
            }
        }));
        out
    }

    #[test]
    fn finds_the_latency_of_a_known_chain() {
        let rate = 48_000usize;
        let input = white_noise(rate * 4, 0.5, 3);
        for latency in [0usize, 1, 64, 1_000, 12_345, 48_000] {
            for invert in [false, true] {
                let output = chain(&input, latency, 10f32.powf(-9.0 / 20.0), invert);
                let reference = &input[..rate * 2];
                let estimate = estimate_latency(reference, &output, rate).unwrap();
                assert_eq!(estimate.latency_frames, latency, "invert {invert}");
                assert!(estimate.is_reliable(), "{estimate:?}");
                assert_eq!(estimate.correlation < 0.0, invert);
            }
        }
    }

    #[test]
    fn silence_and_unrelated_signals() {
        let a = white_noise(20_000, 0.5, 1);
        let b = white_noise(30_000, 0.5, 2);
        let silent = vec![0.0f32; 30_000];
        assert_eq!(estimate_latency(&a, &silent, 10_000), None);
        assert_eq!(estimate_latency(&silent[..20_000], &b, 10_000), None);
        assert_eq!(estimate_latency(&a, &b[..100], 10_000), None);
        let unrelated = estimate_latency(&a, &b, 10_000).unwrap();
        assert!(!unrelated.is_reliable(), "{unrelated:?}");
    }
}
