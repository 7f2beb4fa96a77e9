//! The BS.1770 K-weighting filter (ITU-R BS.1770-5 Annex 1): a high-shelf pre-filter that models
//! the acoustic effect of the head, followed by the RLB high-pass, fused with the squaring and
//! summation of the filtered signal.
//!
//! The coefficients are derived for any sample rate by a bilinear transform of the analog
//! prototypes, as libebur128 does, so that they reproduce BS.1770 Tables 1 and 2 at 48 kHz.
//!
//! The filter runs in f64 in direct form I. Direct form I keeps only one multiply-add on each
//! filter's loop-carried path (`y[n] = t - a1 * y[n-1]`, where `t` does not depend on `y[n-1]`),
//! half the latency per sample of the transposed direct form II. The hot loop also leaves out
//! the two numerator gains (see [`KWeighting::power_gain`]), so the RLB numerator is three
//! additions. Channels are processed in pairs that share one SIMD register ([`pair`]): on x86-64
//! in a hand-written SSE2 loop, with fused multiply-adds when the CPU has them (checked at run
//! time), elsewhere in portable code. The FMA loop costs about 4-5 cycles per stereo frame, the
//! latency of one fused multiply-add, which is the bound for a recursive filter evaluated sample
//! by sample; the baseline loop's recursive path is a multiply and an add.

use crate::units::db_to_amplitude_f64;

mod pair;
pub use pair::filter_and_sum;

/// Analog prototype of the stage 1 shelf (BS.1770-5 Annex 1, Table 1), as fitted by libebur128:
/// centre frequency in Hz, shelf gain in dB, quality factor, and the exponent that places the
/// shelf's mid-band gain.
const SHELF_F0_HZ: f64 = 1681.974450955533;
const SHELF_GAIN_DB: f64 = 3.999843853973347;
const SHELF_Q: f64 = 0.7071752369554196;
const SHELF_MID_EXPONENT: f64 = 0.4996667741545416;

/// Analog prototype of the stage 2 RLB high-pass (BS.1770-5 Annex 1, Table 2): corner
/// frequency in Hz and quality factor.
const RLB_F0_HZ: f64 = 38.13547087602444;
const RLB_Q: f64 = 0.5003270373238773;

/// The rate at which BS.1770 tabulates the coefficients, in Hz.
const TABLE_RATE_HZ: f64 = 48_000.0;
/// The frequency at which every rate's filter is calibrated to the 48 kHz table's gain: the
/// reference frequency of the BS.1770-5 section 2.1 check (a 0 dBFS 997 Hz sine in one front
/// channel reads -3.01 LKFS; IEC 61606 reference frequency).
const CALIBRATION_HZ: f64 = 997.0;

/// Coefficients of one biquad, `a0` normalised to 1: `y = b0 x + b1 x1 + b2 x2 - a1 y1 - a2 y2`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Biquad {
    /// Feed-forward coefficients b0, b1, b2.
    pub b: [f64; 3],
    /// Feedback coefficients a1, a2.
    pub a: [f64; 2],
}

/// The two K-weighting stages for one sample rate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct KWeighting {
    /// Stage 1: the high shelf (BS.1770-5 Table 1 at 48 kHz).
    pub shelf: Biquad,
    /// Stage 2: the RLB high-pass (BS.1770-5 Table 2 at 48 kHz).
    pub rlb: Biquad,
}

impl KWeighting {
    /// Designs both stages for `sample_rate_hz` (any rate above twice the shelf frequency works;
    /// the meter uses 8 kHz..768 kHz).
    pub fn new(sample_rate_hz: f64) -> Self {
        let k = (std::f64::consts::PI * SHELF_F0_HZ / sample_rate_hz).tan();
        let vh = db_to_amplitude_f64(SHELF_GAIN_DB);
        let vb = vh.powf(SHELF_MID_EXPONENT);
        let a0 = 1.0 + k / SHELF_Q + k * k;
        let shelf = Biquad {
            b: [
                (vh + vb * k / SHELF_Q + k * k) / a0,
                2.0 * (k * k - vh) / a0,
                (vh - vb * k / SHELF_Q + k * k) / a0,
            ],
            a: [2.0 * (k * k - 1.0) / a0, (1.0 - k / SHELF_Q + k * k) / a0],
        };

        // BS.1770 Table 2 keeps the RLB numerator at (1, -2, 1) rather than normalising it, and
        // the -0.691 dB constant of equation (2) is calibrated for the cascade with that gain at
        // 48 kHz. libebur128 keeps (1, -2, 1) at every rate, so its 997 Hz reading drifts with
        // the rate (the RLB pass-band gain changes, and below 44.1 kHz the bilinear transform
        // also warps the shelf): +0.2 dB at 8 kHz, -0.011 dB at 96 kHz. We scale the RLB
        // numerator so that the cascade's gain at 997 Hz equals the tabulated 48 kHz filter's at
        // every rate; at 48 kHz the scale is exactly 1 and the table is reproduced.
        let k = (std::f64::consts::PI * RLB_F0_HZ / sample_rate_hz).tan();
        let a0 = 1.0 + k / RLB_Q + k * k;
        let unscaled = Self {
            shelf,
            rlb: Biquad {
                b: [1.0, -2.0, 1.0],
                a: [2.0 * (k * k - 1.0) / a0, (1.0 - k / RLB_Q + k * k) / a0],
            },
        };
        let table = if sample_rate_hz == TABLE_RATE_HZ {
            unscaled
        } else {
            Self::new(TABLE_RATE_HZ)
        };
        let gain = table.magnitude(TABLE_RATE_HZ, CALIBRATION_HZ)
            / unscaled.magnitude(sample_rate_hz, CALIBRATION_HZ);
        let gain = if gain.is_finite() { gain } else { 1.0 };
        let rlb = Biquad {
            b: unscaled.rlb.b.map(|b| b * gain),
            a: unscaled.rlb.a,
        };
        Self { shelf, rlb }
    }

    /// The hot loop runs the shelf with its numerator divided by b0 and the RLB with its
    /// numerator divided by its gain, i.e. (1, -2, 1), which needs only additions. Both stages
    /// are linear, so the true output is the loop's output times `shelf.b[0] * rlb.b[0]`, and the
    /// true sum of squares is `sum_sq` times this power gain.
    pub fn power_gain(&self) -> f64 {
        let g = self.shelf.b[0] * self.rlb.b[0];
        g * g
    }

    /// Linear magnitude response of the cascade at `frequency_hz` when run at `sample_rate_hz`.
    pub fn magnitude(&self, sample_rate_hz: f64, frequency_hz: f64) -> f64 {
        let w = std::f64::consts::TAU * frequency_hz / sample_rate_hz;
        let (c1, s1, c2, s2) = (w.cos(), w.sin(), (2.0 * w).cos(), (2.0 * w).sin());
        let mag = |q: &Biquad| {
            let (nr, ni) = (
                q.b[0] + q.b[1] * c1 + q.b[2] * c2,
                q.b[1] * s1 + q.b[2] * s2,
            );
            let (dr, di) = (1.0 + q.a[0] * c1 + q.a[1] * c2, q.a[0] * s1 + q.a[1] * s2);
            ((nr * nr + ni * ni) / (dr * dr + di * di)).sqrt()
        };
        mag(&self.shelf) * mag(&self.rlb)
    }
}

/// Direct form I state of both stages for one channel: the last two inputs, the last two shelf
/// outputs (which are also the RLB inputs) and the last two RLB outputs.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ChannelState {
    /// Input x[n-1], x[n-2].
    pub x: [f64; 2],
    /// Shelf output y[n-1], y[n-2].
    pub y: [f64; 2],
    /// RLB output z[n-1], z[n-2].
    pub z: [f64; 2],
    /// Running sum of z^2 over the current sub-block. The state holds the output scaled by
    /// 1 / (shelf b0 * RLB gain); multiply by [`KWeighting::power_gain`] for the true sum.
    pub sum_sq: f64,
}

impl ChannelState {
    /// Replaces state values too small to matter (below 1e-200, i.e. 2000 dB below full scale)
    /// by zero, so that the decay after a signal stops never reaches subnormal numbers, which
    /// are up to 100 times slower on x86 when the host has not set flush-to-zero.
    pub fn flush_tiny(&mut self) {
        for v in self
            .x
            .iter_mut()
            .chain(self.y.iter_mut())
            .chain(self.z.iter_mut())
        {
            if v.abs() < 1e-200 {
                *v = 0.0;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// BS.1770-5 Annex 1 Tables 1 and 2 (48 kHz).
    #[test]
    fn coefficients_match_the_bs1770_tables_at_48k() {
        let kw = KWeighting::new(48_000.0);
        let shelf_b = [1.53512485958697, -2.69169618940638, 1.19839281085285];
        let shelf_a = [-1.69065929318241, 0.73248077421585];
        let rlb_b = [1.0, -2.0, 1.0];
        let rlb_a = [-1.99004745483398, 0.99007225036621];
        for (got, want) in kw
            .shelf
            .b
            .iter()
            .zip(shelf_b)
            .chain(kw.shelf.a.iter().zip(shelf_a))
        {
            assert!((got - want).abs() < 1e-6, "shelf {got} vs {want}");
        }
        for (got, want) in kw.rlb.b.iter().zip(rlb_b).chain(kw.rlb.a.iter().zip(rlb_a)) {
            assert!((got - want).abs() < 1e-6, "rlb {got} vs {want}");
        }
    }

    fn response_db(kw: &KWeighting, rate: f64, f_hz: f64) -> f64 {
        20.0 * kw.magnitude(rate, f_hz).log10()
    }

    /// The derived filters give the 48 kHz response at other rates: exactly at 997 Hz, and
    /// within 0.02 dB up to 2 kHz from 44.1 kHz up. At 8 and 16 kHz the bilinear transform warps
    /// the shelf (its centre, 1.68 kHz, is close to Nyquist), so only looser bounds hold there.
    #[test]
    fn response_is_the_same_at_every_rate() {
        let reference = KWeighting::new(48_000.0);
        for rate in [
            8_000.0, 16_000.0, 44_100.0, 88_200.0, 96_000.0, 192_000.0, 384_000.0, 768_000.0,
        ] {
            let kw = KWeighting::new(rate);
            let d997 = response_db(&kw, rate, 997.0) - response_db(&reference, 48_000.0, 997.0);
            assert!(d997.abs() < 1e-9, "{rate} Hz: {d997} dB at 997 Hz");
            let tolerance = if rate < 44_100.0 { 0.5 } else { 0.02 };
            for f in [20.0, 40.0, 100.0, 500.0, 2000.0] {
                let d = response_db(&kw, rate, f) - response_db(&reference, 48_000.0, f);
                assert!(d.abs() < tolerance, "{rate} Hz, {f} Hz: {d} dB");
            }
        }
    }

    #[test]
    fn fma_and_plain_kernels_agree_and_pairs_equal_singles() {
        let kw = KWeighting::new(44_100.0);
        let l: Vec<f32> = (0..5000).map(|n| ((n as f32) * 0.07).sin()).collect();
        let r: Vec<f32> = (0..5000)
            .map(|n| ((n as f32) * 0.011).cos() * 0.3)
            .collect();
        let mut pair = [ChannelState::default(); 2];
        filter_and_sum(
            &kw,
            &mut pair,
            &[&l, &r],
            crate::simd::SimdLevel::supported().has_fma(),
        );
        let mut single = [ChannelState::default(); 3];
        filter_and_sum(&kw, &mut single, &[&l, &r, &l], false);
        for (p, s) in pair.iter().zip(&single) {
            assert!((p.sum_sq / s.sum_sq - 1.0).abs() < 1e-12);
        }
        assert!((single[0].sum_sq / single[2].sum_sq - 1.0).abs() < 1e-15);
        // The SIMD stereo kernel and the one-lane kernel do the same operations in the same order.
        let mut odd = [ChannelState::default(); 3];
        filter_and_sum(
            &kw,
            &mut odd,
            &[&r, &r, &l],
            crate::simd::SimdLevel::supported().has_fma(),
        );
        assert_eq!(odd[2], pair[0]);
        assert_eq!(odd[1], pair[1]);
    }
}
