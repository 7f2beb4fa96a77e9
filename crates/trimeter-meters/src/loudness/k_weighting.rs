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
//! additions. Channels are processed in pairs that share one SIMD register; on x86-64 with FMA
//! (checked at run time) the pair runs in a hand-written SSE2/FMA loop, elsewhere in portable
//! code. The loop costs about 4-5 cycles per stereo frame, the latency of one fused
//! multiply-add, which is the bound for a recursive filter evaluated sample by sample.

use crate::units::db_to_amplitude_f64;

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

/// Filters `L` channels of equal length together (their states in `states`) and adds the squared
/// K-weighted samples to each channel's `sum_sq`.
///
/// `FMA` selects fused multiply-adds; it must only be true when the CPU supports them (see
/// [`filter_and_sum`]), otherwise `mul_add` would fall back to a slow software routine.
#[inline(always)]
fn kernel<const L: usize, const FMA: bool>(
    kw: &KWeighting,
    states: &mut [ChannelState; L],
    inputs: [&[f32]; L],
) {
    #[inline(always)]
    fn madd<const FMA: bool>(a: f64, b: f64, c: f64) -> f64 {
        if FMA {
            a.mul_add(b, c)
        } else {
            a * b + c
        }
    }
    let frames = inputs.iter().map(|s| s.len()).min().unwrap_or(0);
    let [sb0, sb1, sb2] = kw.shelf.b;
    let (c1, c2) = (sb1 / sb0, sb2 / sb0);
    let [sa1, sa2] = kw.shelf.a;
    let [ra1, ra2] = kw.rlb.a;
    let mut x1 = [0.0; L];
    let mut x2 = [0.0; L];
    let mut y1 = [0.0; L];
    let mut y2 = [0.0; L];
    let mut z1 = [0.0; L];
    let mut z2 = [0.0; L];
    let mut acc = [0.0; L];
    for l in 0..L {
        [x1[l], x2[l]] = states[l].x;
        [y1[l], y2[l]] = states[l].y;
        [z1[l], z2[l]] = states[l].z;
        acc[l] = states[l].sum_sq;
    }
    for n in 0..frames {
        for l in 0..L {
            // `n < frames <= inputs[l].len()`; `get` keeps this free of panics regardless.
            let x = inputs[l].get(n).copied().unwrap_or(0.0) as f64;
            // Everything except the last multiply-add of `y` and of `z` is independent of
            // y[n-1] and z[n-1], so only those operations sit on the recursive paths.
            let t = madd::<FMA>(c2, x2[l], madd::<FMA>(c1, x1[l], x));
            let y = madd::<FMA>(-sa1, y1[l], madd::<FMA>(-sa2, y2[l], t));
            let u = (y + y2[l]) - (y1[l] + y1[l]);
            let z = madd::<FMA>(-ra1, z1[l], madd::<FMA>(-ra2, z2[l], u));
            acc[l] = madd::<FMA>(z, z, acc[l]);
            x2[l] = x1[l];
            x1[l] = x;
            y2[l] = y1[l];
            y1[l] = y;
            z2[l] = z1[l];
            z1[l] = z;
        }
    }
    for l in 0..L {
        states[l].x = [x1[l], x2[l]];
        states[l].y = [y1[l], y2[l]];
        states[l].z = [z1[l], z2[l]];
        states[l].sum_sq = acc[l];
    }
}

/// The stereo pair in one SSE register with fused multiply-adds: the same operations in the same
/// order as `kernel::<2, true>`, but written with intrinsics because LLVM neither packs the two
/// lanes nor keeps the 14 state values in registers (it spilled the accumulators to the stack,
/// putting a store-to-load round trip on the loop-carried path).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn stereo_fma(kw: &KWeighting, states: &mut [ChannelState; 2], left: &[f32], right: &[f32]) {
    use std::arch::x86_64::*;
    let [s0, s1] = states;
    let pack = |l: f64, r: f64| _mm_set_pd(r, l);
    let splat = |v: f64| _mm_set1_pd(v);
    let [sb0, sb1, sb2] = kw.shelf.b;
    let (c1, c2) = (splat(sb1 / sb0), splat(sb2 / sb0));
    let (nsa1, nsa2) = (splat(-kw.shelf.a[0]), splat(-kw.shelf.a[1]));
    let (nra1, nra2) = (splat(-kw.rlb.a[0]), splat(-kw.rlb.a[1]));
    let (mut x1, mut x2) = (pack(s0.x[0], s1.x[0]), pack(s0.x[1], s1.x[1]));
    let (mut y1, mut y2) = (pack(s0.y[0], s1.y[0]), pack(s0.y[1], s1.y[1]));
    let (mut z1, mut z2) = (pack(s0.z[0], s1.z[0]), pack(s0.z[1], s1.z[1]));
    let mut acc = pack(s0.sum_sq, s1.sum_sq);
    for (&l, &r) in left.iter().zip(right) {
        let x = pack(l as f64, r as f64);
        let t = _mm_fmadd_pd(c2, x2, _mm_fmadd_pd(c1, x1, x));
        let y = _mm_fmadd_pd(nsa1, y1, _mm_fmadd_pd(nsa2, y2, t));
        let u = _mm_sub_pd(_mm_add_pd(y, y2), _mm_add_pd(y1, y1));
        let z = _mm_fmadd_pd(nra1, z1, _mm_fmadd_pd(nra2, z2, u));
        acc = _mm_fmadd_pd(z, z, acc);
        (x2, x1, y2, y1, z2, z1) = (x1, x, y1, y, z1, z);
    }
    let unpack = |v: __m128d| {
        let mut out = [0.0; 2];
        _mm_storeu_pd(out.as_mut_ptr(), v);
        out
    };
    let ([x1l, x1r], [x2l, x2r]) = (unpack(x1), unpack(x2));
    let ([y1l, y1r], [y2l, y2r]) = (unpack(y1), unpack(y2));
    let ([z1l, z1r], [z2l, z2r]) = (unpack(z1), unpack(z2));
    let [accl, accr] = unpack(acc);
    *s0 = ChannelState {
        x: [x1l, x2l],
        y: [y1l, y2l],
        z: [z1l, z2l],
        sum_sq: accl,
    };
    *s1 = ChannelState {
        x: [x1r, x2r],
        y: [y1r, y2r],
        z: [z1r, z2r],
        sum_sq: accr,
    };
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn kernel_fma<const L: usize>(
    kw: &KWeighting,
    states: &mut [ChannelState; L],
    inputs: [&[f32]; L],
) {
    kernel::<L, true>(kw, states, inputs);
}

/// Filters every channel of `inputs` (all the same length) and adds the squared K-weighted
/// samples to each state's `sum_sq`. Channels go through the kernel in pairs, so stereo runs as
/// one two-lane pass. `use_fma` must only be true on a CPU with AVX2 and FMA ([`SimdLevel::has_fma`](crate::simd::SimdLevel::has_fma)).
///
/// The result does not depend on how a signal is split into calls: every sample goes through the
/// same operations in the same order.
pub fn filter_and_sum(
    kw: &KWeighting,
    states: &mut [ChannelState],
    inputs: &[&[f32]],
    use_fma: bool,
) {
    let mut states = states.chunks_exact_mut(2);
    let mut inputs_pairs = inputs.chunks_exact(2);
    for (state_pair, input_pair) in (&mut states).zip(&mut inputs_pairs) {
        if let (Ok(state_pair), [a, b]) =
            (<&mut [ChannelState; 2]>::try_from(state_pair), input_pair)
        {
            #[cfg(target_arch = "x86_64")]
            if use_fma {
                // SAFETY: `use_fma` is only true on a CPU with AVX2 and FMA (see above).
                unsafe { stereo_fma(kw, state_pair, a, b) };
                continue;
            }
            run::<2>(kw, state_pair, [a, b], use_fma);
        }
    }
    if let ([state], [input]) = (states.into_remainder(), inputs_pairs.remainder()) {
        run::<1>(kw, std::array::from_mut(state), [input], use_fma);
    }
}

#[inline(always)]
fn run<const L: usize>(
    kw: &KWeighting,
    states: &mut [ChannelState; L],
    inputs: [&[f32]; L],
    use_fma: bool,
) {
    #[cfg(target_arch = "x86_64")]
    if use_fma {
        // SAFETY: `use_fma` is only true on a CPU with AVX2 and FMA (see above).
        unsafe { kernel_fma::<L>(kw, states, inputs) };
        return;
    }
    let _ = use_fma;
    kernel::<L, false>(kw, states, inputs);
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
