//! The K-weighting kernel: a channel pair in one two-lane f64 register, frame by frame.
//!
//! The same code runs in two builds: with fused multiply-adds (AVX2 + FMA CPUs, chosen at run
//! time) and with a rounded multiply before every add (the x86-64 baseline, SSE2). Both keep
//! the pair's 14 state values in registers; LLVM neither packs the two channels into one
//! register nor keeps the state out of memory when the loop is written on arrays (it spilled the
//! accumulators to the stack, putting a store-to-load round trip on the loop-carried path).
//! Each build does exactly the operations of the frame-by-frame formula in the same order, so the
//! FMA build reads bit-identically on AVX2 and AVX-512 CPUs, and the baseline build reads as the
//! portable one-channel formula does.
//!
//! Why not more frames per step: a look-ahead form (four frames from the two outputs before
//! them) halves the multiply-add latency on the recursive path, but it needs 46 instead of 28
//! multiply-adds per four stereo frames, and with two lanes per register the loop is already
//! close to bound by the two FMA ports (3.5 cycles per frame against a latency of 4). Measured on
//! a Xeon (Sapphire Rapids class), it ran 25 % slower.

use super::{ChannelState, KWeighting};

/// Two f64 lanes (the left and right channel of a pair) and the arithmetic the kernel needs.
/// `madd` is fused in the FMA build and rounds after the multiply otherwise.
trait Pair: Copy {
    fn splat(v: f64) -> Self;
    fn new(l: f64, r: f64) -> Self;
    fn split(self) -> [f64; 2];
    fn add(self, o: Self) -> Self;
    fn mul(self, o: Self) -> Self;
    /// `self * b + c`.
    fn madd(self, b: Self, c: Self) -> Self;
}

/// Portable lanes (no fused multiply-add): plain arrays, for targets without an SSE2 build.
#[cfg(not(target_arch = "x86_64"))]
#[derive(Clone, Copy)]
struct Plain([f64; 2]);

#[cfg(not(target_arch = "x86_64"))]
impl Pair for Plain {
    #[inline(always)]
    fn splat(v: f64) -> Self {
        Self([v; 2])
    }
    #[inline(always)]
    fn new(l: f64, r: f64) -> Self {
        Self([l, r])
    }
    #[inline(always)]
    fn split(self) -> [f64; 2] {
        self.0
    }
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        Self([self.0[0] + o.0[0], self.0[1] + o.0[1]])
    }
    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        Self([self.0[0] * o.0[0], self.0[1] * o.0[1]])
    }
    #[inline(always)]
    fn madd(self, b: Self, c: Self) -> Self {
        self.mul(b).add(c)
    }
}

/// SSE2 lanes (x86-64 baseline); `FMA` selects fused multiply-adds, which the CPU must have.
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy)]
struct Sse<const FMA: bool>(std::arch::x86_64::__m128d);

#[cfg(target_arch = "x86_64")]
impl<const FMA: bool> Pair for Sse<FMA> {
    #[inline(always)]
    fn splat(v: f64) -> Self {
        // SAFETY (this and the following blocks): SSE2 is part of the x86-64 baseline; the FMA
        // intrinsic only runs in the `FMA` build, which callers use only on CPUs with FMA.
        Self(unsafe { std::arch::x86_64::_mm_set1_pd(v) })
    }
    #[inline(always)]
    fn new(l: f64, r: f64) -> Self {
        Self(unsafe { std::arch::x86_64::_mm_set_pd(r, l) })
    }
    #[inline(always)]
    fn split(self) -> [f64; 2] {
        let mut out = [0.0; 2];
        unsafe { std::arch::x86_64::_mm_storeu_pd(out.as_mut_ptr(), self.0) };
        out
    }
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        Self(unsafe { std::arch::x86_64::_mm_add_pd(self.0, o.0) })
    }
    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        Self(unsafe { std::arch::x86_64::_mm_mul_pd(self.0, o.0) })
    }
    #[inline(always)]
    fn madd(self, b: Self, c: Self) -> Self {
        if FMA {
            Self(unsafe { std::arch::x86_64::_mm_fmadd_pd(self.0, b.0, c.0) })
        } else {
            self.mul(b).add(c)
        }
    }
}

/// Everything the kernel needs for one pass, splatted once per call.
struct Coefficients<V> {
    /// Shelf numerator divided by b0: b1 / b0 and b2 / b0.
    c1: V,
    c2: V,
    /// The shelf's negated feedback coefficients, -a1 and -a2.
    shelf_a1: V,
    shelf_a2: V,
    /// The RLB's negated feedback coefficients.
    rlb_a1: V,
    rlb_a2: V,
    /// -2, the middle tap of the RLB numerator (1, -2, 1).
    minus_two: V,
}

impl<V: Pair> Coefficients<V> {
    #[inline(always)]
    fn new(kw: &KWeighting) -> Self {
        let [b0, b1, b2] = kw.shelf.b;
        Self {
            c1: V::splat(b1 / b0),
            c2: V::splat(b2 / b0),
            shelf_a1: V::splat(-kw.shelf.a[0]),
            shelf_a2: V::splat(-kw.shelf.a[1]),
            rlb_a1: V::splat(-kw.rlb.a[0]),
            rlb_a2: V::splat(-kw.rlb.a[1]),
            minus_two: V::splat(-2.0),
        }
    }
}

/// The direct form I state of a channel pair in registers.
#[derive(Clone, Copy)]
struct State<V> {
    x1: V,
    x2: V,
    y1: V,
    y2: V,
    z1: V,
    z2: V,
    acc: V,
}

impl<V: Pair> State<V> {
    #[inline(always)]
    fn load(l: &ChannelState, r: &ChannelState) -> Self {
        Self {
            x1: V::new(l.x[0], r.x[0]),
            x2: V::new(l.x[1], r.x[1]),
            y1: V::new(l.y[0], r.y[0]),
            y2: V::new(l.y[1], r.y[1]),
            z1: V::new(l.z[0], r.z[0]),
            z2: V::new(l.z[1], r.z[1]),
            acc: V::new(l.sum_sq, r.sum_sq),
        }
    }

    #[inline(always)]
    fn store(self, l: &mut ChannelState, r: &mut ChannelState) {
        let ([x1l, x1r], [x2l, x2r]) = (self.x1.split(), self.x2.split());
        let ([y1l, y1r], [y2l, y2r]) = (self.y1.split(), self.y2.split());
        let ([z1l, z1r], [z2l, z2r]) = (self.z1.split(), self.z2.split());
        let [accl, accr] = self.acc.split();
        (l.x, l.y, l.z, l.sum_sq) = ([x1l, x2l], [y1l, y2l], [z1l, z2l], accl);
        (r.x, r.y, r.z, r.sum_sq) = ([x1r, x2r], [y1r, y2r], [z1r, z2r], accr);
    }

    /// One frame, frame by frame: the shelf, the RLB (numerator 1, -2, 1) and the square.
    #[inline(always)]
    fn step(&mut self, c: &Coefficients<V>, x: V) {
        let t = c.c2.madd(self.x2, c.c1.madd(self.x1, x));
        // Everything except the last multiply-add of `y` and of `z` is independent of y[n-1] and
        // z[n-1], so only those operations sit on the recursive paths.
        let y = c.shelf_a1.madd(self.y1, c.shelf_a2.madd(self.y2, t));
        // (y + y2) - 2 y1 as one multiply-add: -2 y1 is exact, so fused or not, the result is
        // (y + y2) - (y1 + y1) rounded once, bit for bit, with one operation fewer per frame in
        // the fused build.
        let u = c.minus_two.madd(self.y1, y.add(self.y2));
        let z = c.rlb_a1.madd(self.z1, c.rlb_a2.madd(self.z2, u));
        self.acc = z.madd(z, self.acc);
        (self.x2, self.x1, self.y2, self.y1, self.z2, self.z1) =
            (self.x1, x, self.y1, y, self.z1, z);
    }
}

/// Runs one channel pair frame by frame.
#[inline(always)]
fn run_pair<V: Pair>(
    c: &Coefficients<V>,
    (l, r): (&mut ChannelState, &mut ChannelState),
    left: &[f32],
    right: &[f32],
) {
    let mut state = State::<V>::load(l, r);
    for (&a, &b) in left.iter().zip(right) {
        state.step(c, V::new(f64::from(a), f64::from(b)));
    }
    state.store(l, r);
}

/// Every channel in pairs; an odd last channel runs in a pair with a throw-away copy of itself.
#[inline(always)]
fn filter_generic<V: Pair>(kw: &KWeighting, states: &mut [ChannelState], inputs: &[&[f32]]) {
    let c = Coefficients::<V>::new(kw);
    let mut pairs = states.chunks_exact_mut(2);
    let mut input_pairs = inputs.chunks_exact(2);
    for (state_pair, input_pair) in (&mut pairs).zip(&mut input_pairs) {
        if let ([l, r], [left, right]) = (state_pair, input_pair) {
            run_pair(&c, (l, r), left, right);
        }
    }
    if let [state] = pairs.into_remainder() {
        let input = input_pairs.remainder().first().copied().unwrap_or(&[]);
        let mut copy = *state;
        run_pair(&c, (state, &mut copy), input, input);
    }
}

/// # Safety
/// The CPU must support AVX2 and FMA.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn filter_fma(kw: &KWeighting, states: &mut [ChannelState], inputs: &[&[f32]]) {
    filter_generic::<Sse<true>>(kw, states, inputs);
}

/// Filters every channel of `inputs` (all the same length) and adds the squared K-weighted
/// samples to each state's `sum_sq`. Channels go through the kernel in pairs, so stereo runs as
/// one two-lane pass. `use_fma` must only be true on a CPU
/// with AVX2 and FMA ([`SimdLevel::has_fma`](crate::simd::SimdLevel::has_fma)).
pub fn filter_and_sum(
    kw: &KWeighting,
    states: &mut [ChannelState],
    inputs: &[&[f32]],
    use_fma: bool,
) {
    #[cfg(target_arch = "x86_64")]
    {
        if use_fma {
            // SAFETY: `use_fma` is only true on a CPU with AVX2 and FMA (see above).
            unsafe { filter_fma(kw, states, inputs) };
        } else {
            filter_generic::<Sse<false>>(kw, states, inputs);
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = use_fma;
        filter_generic::<Plain>(kw, states, inputs);
    }
}
