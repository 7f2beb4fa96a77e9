//! Polyphase interpolation filters for the true-peak meter: the ITU-R BS.1770-5 Annex 2 example
//! filter, our own Kaiser-windowed sinc designs for the other ratios, and the vectorized kernel
//! that runs them on planar slices.

use crate::simd::SimdLevel;

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
///
/// Interpolation phases come in mirror pairs: the phase for fraction d between two samples is the
/// time reverse of the phase for 1 - d (both in the Recommendation's table and in our designs),
/// and the phase for d = 1/2 is its own mirror. With h and reverse(h), split into even and odd
/// parts a = (h + rev h) / 2 and b = (h - rev h) / 2 over the first half of the window,
/// y_h = A + B and y_rev = A - B where A = sum a (x_j + x_(T-1-j)) and B = sum b (x_j -
/// x_(T-1-j)). The larger magnitude of the two is |A| + |B|: one pass of half-length sums serves
/// both phases of a pair. This is what the kernel runs.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Polyphase {
    /// Taps per phase (one of the lengths [`run`] has a kernel for), or 0 for no filter.
    pub taps: usize,
    /// Every phase, `taps` coefficients each, phase after phase (for analysis and tests).
    pub coefficients: Vec<f32>,
    /// Per mirror pair: `taps / 2` even-part then `taps / 2` odd-part coefficients.
    pairs: Vec<f32>,
    /// The self-mirrored middle phase (d = 1/2) as `taps / 2` even-part coefficients, or empty.
    middle: Vec<f32>,
}

impl Polyphase {
    /// No interpolation: the true peak is the sample peak (sample rates of 192 kHz and above in
    /// standard mode, per BS.1770-5 Annex 2 clause 3).
    pub fn none() -> Self {
        Self::default()
    }

    /// Builds the filter from one phase of each mirror pair (oldest-sample-first) and the
    /// optional self-mirrored middle phase.
    fn from_generators(taps: usize, generators: &[Vec<f64>], middle: Option<Vec<f64>>) -> Self {
        let half = taps / 2;
        let mut coefficients = Vec::new();
        let mut pairs = Vec::new();
        for h in generators {
            coefficients.extend(h.iter().map(|&c| c as f32));
            coefficients.extend(h.iter().rev().map(|&c| c as f32));
            pairs.extend((0..half).map(|j| ((h[j] + h[taps - 1 - j]) / 2.0) as f32));
            pairs.extend((0..half).map(|j| ((h[j] - h[taps - 1 - j]) / 2.0) as f32));
        }
        let middle = match middle {
            Some(h) => {
                coefficients.extend(h.iter().map(|&c| c as f32));
                (0..half)
                    .map(|j| ((h[j] + h[taps - 1 - j]) / 2.0) as f32)
                    .collect()
            }
            None => Vec::new(),
        };
        Self {
            taps,
            coefficients,
            pairs,
            middle,
        }
    }

    /// The BS.1770-5 Annex 2 example filter, reordered oldest-sample-first. Its phases 3 and 2
    /// are exactly the reverses of phases 0 and 1 (checked by a test), so phases 0 and 1
    /// generate the two mirror pairs.
    pub fn bs1770_4x() -> Self {
        let generators: Vec<Vec<f64>> = BS1770_4X[..2]
            .iter()
            .map(|phase| phase.iter().rev().map(|&c| f64::from(c)).collect())
            .collect();
        Self::from_generators(12, &generators, None)
    }

    /// Kaiser-windowed sinc interpolator for `ratio`-times over-sampling with `taps` (even) taps
    /// per phase and window shape `beta`. Only the `ratio - 1` fractional phases are produced: the
    /// integer phase is the input sample itself, which the meter includes separately. Each phase
    /// is normalized to unity gain at DC so a constant reads exactly its value.
    pub fn windowed_sinc(ratio: usize, taps: usize, beta: f64) -> Self {
        let half = taps as f64 / 2.0;
        let phase = |fraction: f64| -> Vec<f64> {
            // Input j of the window sits at time (j - taps/2 + 1) relative to the interpolated
            // point's left neighbour; the point itself is `fraction` after that neighbour.
            let raw: Vec<f64> = (0..taps)
                .map(|j| {
                    let t = j as f64 - half + 1.0 - fraction;
                    sinc(t) * kaiser(t / half, beta)
                })
                .collect();
            let sum: f64 = raw.iter().sum();
            raw.iter().map(|c| c / sum).collect()
        };
        let generators: Vec<Vec<f64>> = (1..ratio)
            .filter(|&p| 2 * p < ratio)
            .map(|p| phase(p as f64 / ratio as f64))
            .collect();
        let middle = (ratio % 2 == 0).then(|| phase(0.5));
        Self::from_generators(taps, &generators, middle)
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

/// Sets each `peak[i]` to the largest of the magnitude of `input[i + taps - 1]` (the sample
/// `peak[i]` belongs to) and the magnitudes every phase of `filter` interpolates from
/// `input[i..i + taps]`, capped at f32::MAX. `input` holds `taps - 1` frames of history followed
/// by the frames that `peak` belongs to; anything shorter leaves `peak` untouched. `kernel` must
/// be a level the CPU supports ([`SimdLevel::supported`] or narrower).
///
/// The AVX2 and AVX-512 builds do the same fused multiply-adds in the same order (Rust neither
/// reassociates nor contracts float operations), so they give bit-identical peaks; the portable
/// build rounds after each multiply, so its peaks can differ from theirs in the last bits.
#[inline]
pub(crate) fn run(filter: &Polyphase, kernel: SimdLevel, input: &[f32], peak: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    match kernel {
        // SAFETY: callers pass a level the CPU supports (see `run`'s doc).
        SimdLevel::Avx512 => return unsafe { run_avx512(filter, input, peak) },
        // SAFETY: as above.
        SimdLevel::Avx2Fma => return unsafe { run_avx2_fma(filter, input, peak) },
        SimdLevel::Portable => {}
    }
    let _ = kernel;
    run_generic::<false>(filter, input, peak);
}

/// # Safety
/// The CPU must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn run_avx2_fma(filter: &Polyphase, input: &[f32], peak: &mut [f32]) {
    run_generic::<true>(filter, input, peak);
}

/// # Safety
/// The CPU must support AVX-512F, AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
unsafe fn run_avx512(filter: &Polyphase, input: &[f32], peak: &mut [f32]) {
    run_generic::<true>(filter, input, peak);
}

#[inline(always)]
fn run_generic<const FMA: bool>(filter: &Polyphase, input: &[f32], peak: &mut [f32]) {
    let (pairs, middle) = (&filter.pairs, &filter.middle);
    let pair_count = pairs.len() / filter.taps.max(1);
    match (filter.taps, pair_count, !middle.is_empty()) {
        // BS.1770-5 Annex 2 at 4x: two pairs.
        (12, 2, false) => run_taps::<6, 2, 0, FMA>(pairs, middle, input, peak),
        // Standard 2x: the middle phase only.
        (16, 0, true) => run_taps::<8, 0, 1, FMA>(pairs, middle, input, peak),
        // Precise 8x and 4x.
        (32, 3, true) => run_taps::<16, 3, 1, FMA>(pairs, middle, input, peak),
        (32, 1, true) => run_taps::<16, 1, 1, FMA>(pairs, middle, input, peak),
        _ => {}
    }
}

#[inline(always)]
fn mul_add<const FMA: bool>(a: f32, b: f32, acc: f32) -> f32 {
    if FMA {
        a.mul_add(b, acc)
    } else {
        acc + a * b
    }
}

/// `value` if it is above `best`, else `best`: one `maxps` instruction. `f32::max` would cost
/// two more (a NaN test and a blend) on every phase of every output. The results are the same:
/// `best` is never NaN unless the sample itself is, and then every interpolated value is NaN as
/// well (each sums the sample), so both end at the f32::MAX cap; a NaN `value` is skipped by
/// both.
#[inline(always)]
fn larger(value: f32, best: f32) -> f32 {
    if value > best {
        value
    } else {
        best
    }
}

/// The kernel for half-length `H`, `P` mirror pairs and `M` (0 or 1) middle phases, all known at
/// compile time: the tap loops unroll and the loop over output frames vectorizes (neighbouring
/// outputs read neighbouring inputs).
#[inline(always)]
fn run_taps<const H: usize, const P: usize, const M: usize, const FMA: bool>(
    pairs: &[f32],
    middle: &[f32],
    input: &[f32],
    peak: &mut [f32],
) {
    let taps = 2 * H;
    let Some(input) = input.get(..peak.len() + taps - 1) else {
        return;
    };
    // Copy the coefficients into fixed-size arrays once per call.
    let mut even = [[0.0f32; H]; P];
    let mut odd = [[0.0f32; H]; P];
    for (q, pair) in pairs.chunks_exact(taps).take(P).enumerate() {
        even[q].copy_from_slice(&pair[..H]);
        odd[q].copy_from_slice(&pair[H..]);
    }
    let mut mid = [[0.0f32; H]; M];
    for m in mid.iter_mut() {
        if let Some(c) = middle.get(..H) {
            m.copy_from_slice(c);
        }
    }
    for (window, p) in input.windows(taps).zip(peak.iter_mut()) {
        let mut sum = [0.0f32; H];
        let mut diff = [0.0f32; H];
        for j in 0..H {
            let (u, v) = (window[j], window[taps - 1 - j]);
            sum[j] = u + v;
            diff[j] = u - v;
        }
        // The original sample's magnitude starts the maximum, so true peak never reads below
        // sample peak.
        let mut best = window[taps - 1].abs();
        // Each sum starts from its first product rather than from 0.0 + product: the same value
        // but for the sign of a zero, which the magnitude drops, and one addition fewer per
        // phase in the portable build.
        for q in 0..P {
            let (mut a, mut b) = (even[q][0] * sum[0], odd[q][0] * diff[0]);
            for j in 1..H {
                a = mul_add::<FMA>(even[q][j], sum[j], a);
                b = mul_add::<FMA>(odd[q][j], diff[j], b);
            }
            best = larger(a.abs() + b.abs(), best);
        }
        for m in &mid {
            let mut a = m[0] * sum[0];
            for j in 1..H {
                a = mul_add::<FMA>(m[j], sum[j], a);
            }
            best = larger(a.abs(), best);
        }
        // Interpolating samples near f32::MAX can overflow to infinity; keep the peak finite.
        *p = if best < f32::MAX { best } else { f32::MAX };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bs1770_phases_3_and_2_mirror_phases_0_and_1() {
        for (a, b) in [(0, 3), (1, 2)] {
            let reversed: Vec<f32> = BS1770_4X[a].iter().rev().copied().collect();
            assert_eq!(reversed, BS1770_4X[b].to_vec());
        }
    }

    /// The pair kernel must agree with plain dot products of every phase (and the sample itself).
    #[test]
    fn pair_kernel_matches_direct_phases() {
        let input: Vec<f32> = crate::signals::white_noise(300, 1.0, 7);
        for filter in [
            Polyphase::bs1770_4x(),
            Polyphase::windowed_sinc(2, 16, 7.0),
            Polyphase::windowed_sinc(8, 32, 5.0),
            Polyphase::windowed_sinc(4, 32, 5.0),
        ] {
            let t = filter.taps;
            let frames = input.len() - t + 1;
            let direct: Vec<f32> = (0..frames)
                .map(|i| {
                    filter
                        .coefficients
                        .chunks(t)
                        .map(|c| {
                            c.iter()
                                .zip(&input[i..i + t])
                                .map(|(a, b)| a * b)
                                .sum::<f32>()
                                .abs()
                        })
                        .fold(input[i + t - 1].abs(), f32::max)
                })
                .collect();
            for kernel in [SimdLevel::Portable, SimdLevel::Avx2Fma, SimdLevel::Avx512] {
                if kernel > SimdLevel::supported() {
                    continue;
                }
                let mut peak = vec![0.0f32; frames];
                run(&filter, kernel, &input, &mut peak);
                for (i, (k, d)) in peak.iter().zip(&direct).enumerate() {
                    assert!((k - d).abs() < 1e-5, "taps {t}, frame {i}: {k} vs {d}");
                }
            }
        }
    }

    /// The AVX-512 and AVX2 builds give bit-identical peaks, including for huge samples that
    /// overflow, infinities, NaN and lengths that are not multiples of the vector width.
    #[test]
    fn avx512_and_avx2_builds_are_bit_identical() {
        if SimdLevel::supported() != SimdLevel::Avx512 {
            return;
        }
        let mut input: Vec<f32> = crate::signals::white_noise(700, 1.0, 9);
        for (i, v) in [
            (100, 3e38),
            (101, -3e38),
            (200, f32::INFINITY),
            (300, f32::NAN),
        ] {
            input[i] = v;
        }
        for filter in [
            Polyphase::bs1770_4x(),
            Polyphase::windowed_sinc(2, 16, 7.0),
            Polyphase::windowed_sinc(8, 32, 5.0),
            Polyphase::windowed_sinc(4, 32, 5.0),
        ] {
            for frames in [0, 1, 15, 16, 17, 250, 700 - filter.taps + 1] {
                let input = &input[..frames + filter.taps - 1];
                let (mut wide, mut narrow) = (vec![0.0; frames], vec![0.0; frames]);
                run(&filter, SimdLevel::Avx512, input, &mut wide);
                run(&filter, SimdLevel::Avx2Fma, input, &mut narrow);
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(
                    bits(&wide),
                    bits(&narrow),
                    "taps {}, {frames} frames",
                    filter.taps
                );
            }
        }
    }

    #[test]
    #[ignore = "benchmark: run in release mode with --ignored --nocapture"]
    fn kernel_ns_per_stereo_frame() {
        let input: Vec<f32> = crate::signals::white_noise(48_000 * 60, 0.5, 7);
        let avx = SimdLevel::selected();
        for (name, filter) in [
            ("bs1770 4x", Polyphase::bs1770_4x()),
            ("sinc 2x/16", Polyphase::windowed_sinc(2, 16, 7.0)),
            ("sinc 8x/32", Polyphase::windowed_sinc(8, 32, 5.0)),
        ] {
            let history = filter.taps - 1;
            let start = std::time::Instant::now();
            let mut peak = [0.0f32; 256];
            let mut acc = 0.0f32;
            for chunk in input
                .chunks(256 + history)
                .take(input.len() / (256 + history))
            {
                peak.fill(0.0);
                run(&filter, avx, chunk, &mut peak);
                acc = acc.max(peak[7]);
            }
            let frames = (input.len() / (256 + history)) * 256;
            let ns = start.elapsed().as_secs_f64() * 1e9 / frames as f64 * 2.0;
            eprintln!("{name:<12} kernel {ns:6.2} ns per stereo frame ({avx:?}) {acc}");
        }
    }
}
