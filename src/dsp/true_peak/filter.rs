//! Polyphase interpolation filters for the true-peak meter: the ITU-R BS.1770-5 Annex 2 example
//! filter, our own Kaiser-windowed sinc designs for the other ratios, and the vectorized kernel
//! that runs them on planar slices.

/// ITU-R BS.1770-5 Annex 2, clause 3: the example 48-tap, 4-phase FIR interpolator "that would
/// satisfy the requirements" for 4x over-sampling. Rows are phases 0..3; within a row the taps are
/// listed in the order the Recommendation prints them (tap k multiplies x[n - k]).
// The values are exact multiples of 2^-14, printed as in the Recommendation.
#[allow(clippy::excessive_precision)]
pub(crate) const BS1770_4X: [[f32; 12]; 4] = [
    [
        0.001708984375,
        0.010986328125,
        -0.0196533203125,
        0.033203125,
        -0.0594482421875,
        0.1373291015625,
        0.97216796875,
        -0.102294921875,
        0.047607421875,
        -0.026611328125,
        0.014892578125,
        -0.00830078125,
    ],
    [
        -0.0291748046875,
        0.029296875,
        -0.0517578125,
        0.089111328125,
        -0.16650390625,
        0.465087890625,
        0.77978515625,
        -0.2003173828125,
        0.1015625,
        -0.0582275390625,
        0.0330810546875,
        -0.0189208984375,
    ],
    [
        -0.0189208984375,
        0.0330810546875,
        -0.0582275390625,
        0.1015625,
        -0.2003173828125,
        0.77978515625,
        0.465087890625,
        -0.16650390625,
        0.089111328125,
        -0.0517578125,
        0.029296875,
        -0.0291748046875,
    ],
    [
        -0.00830078125,
        0.014892578125,
        -0.026611328125,
        0.047607421875,
        -0.102294921875,
        0.97216796875,
        0.1373291015625,
        -0.0594482421875,
        0.033203125,
        -0.0196533203125,
        0.010986328125,
        0.001708984375,
    ],
];

/// A set of interpolation phases, each `taps` long, stored oldest-sample-first so that phase
/// output i is the dot product of the phase with `input[i..i + taps]`.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Polyphase {
    /// Taps per phase (one of the lengths [`run`] has a kernel for), or 0 for no filter.
    pub taps: usize,
    /// `phases * taps` coefficients, phase after phase.
    pub coefficients: Vec<f32>,
}

impl Polyphase {
    /// No interpolation: the true peak is the sample peak (sample rates of 192 kHz and above in
    /// standard mode, per BS.1770-5 Annex 2 clause 3).
    pub fn none() -> Self {
        Self::default()
    }

    /// The BS.1770-5 Annex 2 example filter, reordered oldest-sample-first.
    pub fn bs1770_4x() -> Self {
        let mut coefficients = Vec::with_capacity(48);
        for phase in BS1770_4X {
            coefficients.extend(phase.iter().rev());
        }
        Self {
            taps: 12,
            coefficients,
        }
    }

    /// Kaiser-windowed sinc interpolator for `ratio`-times over-sampling with `taps` taps per
    /// phase and window shape `beta`. Only the `ratio - 1` fractional phases are produced: the
    /// integer phase is the input sample itself, which the meter includes separately. Each phase
    /// is normalized to unity gain at DC so a constant reads exactly its value.
    pub fn windowed_sinc(ratio: usize, taps: usize, beta: f64) -> Self {
        let half = taps as f64 / 2.0;
        let mut coefficients = Vec::with_capacity((ratio - 1) * taps);
        for phase in 1..ratio {
            let fraction = phase as f64 / ratio as f64;
            // Input j of the window sits at time (j - taps/2 + 1) relative to the interpolated
            // point's left neighbour; the point itself is `fraction` after that neighbour.
            let raw: Vec<f64> = (0..taps)
                .map(|j| {
                    let t = j as f64 - half + 1.0 - fraction;
                    sinc(t) * kaiser(t / half, beta)
                })
                .collect();
            let sum: f64 = raw.iter().sum();
            coefficients.extend(raw.iter().map(|c| (c / sum) as f32));
        }
        Self { taps, coefficients }
    }

    /// Frames of delay between an input sample and the last interpolated value that uses it.
    pub fn latency_frames(&self) -> usize {
        self.taps / 2
    }
}

fn sinc(t: f64) -> f64 {
    if t.abs() < 1e-12 {
        1.0
    } else {
        let x = std::f64::consts::PI * t;
        x.sin() / x
    }
}

/// Kaiser window at `x` in [-1, 1] (zero outside).
fn kaiser(x: f64, beta: f64) -> f64 {
    if x.abs() > 1.0 {
        0.0
    } else {
        bessel_i0(beta * (1.0 - x * x).sqrt()) / bessel_i0(beta)
    }
}

/// Modified Bessel function of the first kind, order 0 (power series; converges fast for the
/// window shapes we use).
fn bessel_i0(x: f64) -> f64 {
    let mut sum = 1.0;
    let mut term = 1.0;
    let quarter_x2 = x * x / 4.0;
    for k in 1..50 {
        term *= quarter_x2 / (k * k) as f64;
        sum += term;
        if term < sum * 1e-17 {
            break;
        }
    }
    sum
}

/// Raises each `peak[i]` to the largest magnitude any phase of `filter` interpolates from
/// `input[i..i + taps]`. `input` holds `taps - 1` frames of history followed by the frames that
/// `peak` belongs to; anything shorter leaves `peak` untouched.
#[inline]
pub(crate) fn run(filter: &Polyphase, use_avx2_fma: bool, input: &[f32], peak: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if use_avx2_fma {
        // SAFETY: `use_avx2_fma` is only true when `is_x86_feature_detected!` found both
        // features on this CPU (see `TruePeakMeter::prepare`).
        unsafe { run_avx2_fma(filter, input, peak) };
        return;
    }
    let _ = use_avx2_fma;
    run_generic::<false>(filter, input, peak);
}

/// # Safety
/// The CPU must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn run_avx2_fma(filter: &Polyphase, input: &[f32], peak: &mut [f32]) {
    run_generic::<true>(filter, input, peak);
}

#[inline(always)]
fn run_generic<const FMA: bool>(filter: &Polyphase, input: &[f32], peak: &mut [f32]) {
    match filter.taps {
        12 => run_taps::<12, FMA>(&filter.coefficients, input, peak),
        16 => run_taps::<16, FMA>(&filter.coefficients, input, peak),
        32 => run_taps::<32, FMA>(&filter.coefficients, input, peak),
        _ => {}
    }
}

/// The kernel: taps known at compile time, so the tap loop unrolls and the loop over output
/// frames vectorizes (neighbouring outputs read neighbouring inputs). Two partial sums halve the
/// dependency chain of the dot product.
#[inline(always)]
fn run_taps<const T: usize, const FMA: bool>(
    coefficients: &[f32],
    input: &[f32],
    peak: &mut [f32],
) {
    let Some(input) = input.get(..peak.len() + T - 1) else {
        return;
    };
    for phase in coefficients.chunks_exact(T) {
        let Ok(phase) = <&[f32; T]>::try_from(phase) else {
            return;
        };
        for (window, p) in input.windows(T).zip(peak.iter_mut()) {
            let (mut even, mut odd) = (0.0f32, 0.0f32);
            for k in 0..T / 2 {
                let (c0, c1, x0, x1) = (
                    phase[2 * k],
                    phase[2 * k + 1],
                    window[2 * k],
                    window[2 * k + 1],
                );
                if FMA {
                    even = c0.mul_add(x0, even);
                    odd = c1.mul_add(x1, odd);
                } else {
                    even += c0 * x0;
                    odd += c1 * x1;
                }
            }
            *p = p.max((even + odd).abs());
        }
    }
}
