//! Test helpers shared by the level meters' unit tests: running planar signals through a meter in
//! any block split, and the checks every meter must pass (split independence, no allocation,
//! silence, huge input, channel counts).

use crate::meter::Meter;
use crate::peak::PeakReading;
use crate::signals::random_splits;

/// Sample rates every meter is tested at, in Hz.
pub(crate) const RATES: [f64; 3] = [44_100.0, 48_000.0, 96_000.0];

/// Processes planar `signal` (all channels the same length) in blocks of `splits` frames.
pub(crate) fn run_splits<M: Meter>(meter: &mut M, signal: &[Vec<f32>], splits: &[usize]) {
    let mut start = 0;
    for &len in splits {
        let block: Vec<&[f32]> = signal.iter().map(|c| &c[start..start + len]).collect();
        meter.process(&block);
        start += len;
    }
    assert_eq!(start, signal[0].len(), "splits must cover the signal");
}

/// Processes planar `signal` in blocks of `block` frames (the last one shorter).
pub(crate) fn run_blocks<M: Meter>(meter: &mut M, signal: &[Vec<f32>], block: usize) {
    let frames = signal[0].len();
    let splits: Vec<usize> = (0..frames)
        .step_by(block.max(1))
        .map(|s| block.min(frames - s))
        .collect();
    run_splits(meter, signal, &splits);
}

/// Processes planar `signal` and returns the reading after every `hop` frames, plus the final one.
pub(crate) fn readings_every<M: Meter>(
    meter: &mut M,
    signal: &[Vec<f32>],
    hop: usize,
) -> Vec<M::Reading> {
    let frames = signal[0].len();
    let mut out = Vec::new();
    let mut start = 0;
    while start < frames {
        let len = hop.min(frames - start);
        let block: Vec<&[f32]> = signal.iter().map(|c| &c[start..start + len]).collect();
        meter.process(&block);
        out.push(meter.read());
        start += len;
    }
    out
}

/// Checks that the reading after `signal` is the same whether it is processed in one block, in
/// blocks of 1, 7, 64, 4096 frames or in random splits. `key` extracts the values to compare
/// (leaving out per-block values); they must agree within `tolerance` (0.0 = bit-exact).
pub(crate) fn assert_split_independent<M: Meter>(
    make: impl Fn() -> M,
    signal: &[Vec<f32>],
    key: impl Fn(&M::Reading) -> Vec<f64>,
    tolerance: f64,
) {
    let frames = signal[0].len();
    let mut reference = make();
    run_splits(&mut reference, signal, &[frames]);
    let expected = key(&reference.read());
    let mut splittings: Vec<Vec<usize>> = [1usize, 7, 64, 4096]
        .iter()
        .map(|&b| (0..frames).step_by(b).map(|s| b.min(frames - s)).collect())
        .collect();
    splittings.push(random_splits(frames, 1000, 11));
    splittings.push(random_splits(frames, 16384, 12));
    // Empty blocks in between must change nothing.
    let mut with_empty = Vec::new();
    for len in random_splits(frames, 300, 13) {
        with_empty.push(0);
        with_empty.push(len);
    }
    splittings.push(with_empty);
    for splits in splittings {
        let mut meter = make();
        run_splits(&mut meter, signal, &splits);
        let got = key(&meter.read());
        assert_eq!(got.len(), expected.len());
        for (i, (g, e)) in got.iter().zip(&expected).enumerate() {
            let same = (g == e) || (g - e).abs() <= tolerance;
            assert!(
                same,
                "value {i}: {g} vs {e} (one block) with splits starting {:?}",
                &splits[..splits.len().min(5)]
            );
        }
    }
}

/// Processes `signal` inside `assert_no_alloc` (which aborts the test binary on allocation) in
/// several block lengths, including 0 and lengths above the prepared maximum.
pub(crate) fn assert_process_does_not_allocate<M: Meter>(meter: &mut M, signal: &[Vec<f32>]) {
    let frames = signal[0].len();
    let mut start = 0;
    for len in [0usize, 1, 7, 64, 4096, 16384, 20000]
        .iter()
        .cycle()
        .take(64)
    {
        if start >= frames {
            break;
        }
        let len = (*len).min(frames - start);
        let block: Vec<&[f32]> = signal.iter().map(|c| &c[start..start + len]).collect();
        nice_assert_no_alloc::assert_no_alloc(|| meter.process(&block));
        let _ = nice_assert_no_alloc::assert_no_alloc(|| meter.read());
        start += len;
    }
}

/// The same signal on `channels` channels (channel k scaled by 1/(k+1) so channels differ).
pub(crate) fn multichannel(signal: &[f32], channels: usize) -> Vec<Vec<f32>> {
    (0..channels)
        .map(|k| signal.iter().map(|&x| x / (k + 1) as f32).collect())
        .collect()
}

/// dB value as f64 for comparisons, mapping minus infinity to a sentinel that compares equal.
pub(crate) fn db_key(v: f32) -> f64 {
    if v == f32::NEG_INFINITY {
        -1e9
    } else {
        f64::from(v)
    }
}

/// Feeds full-scale-of-f32 input (alternating +-f32::MAX, the largest finite samples) and checks
/// that no value `key` extracts is NaN or infinite (minus infinity is mapped by [`db_key`]).
pub(crate) fn assert_finite_at_f32_max<M: Meter>(
    meter: &mut M,
    channels: usize,
    key: impl Fn(&M::Reading) -> Vec<f64>,
) {
    let extreme: Vec<f32> = (0..4096)
        .map(|n| if n % 2 == 0 { f32::MAX } else { -f32::MAX })
        .collect();
    let signal: Vec<Vec<f32>> = (0..channels).map(|_| extreme.clone()).collect();
    run_blocks(meter, &signal, 300);
    let values = key(&meter.read());
    assert!(values.iter().all(|v| v.is_finite()), "{values:?}");
}

/// Every reading of a peak meter except the per-block maximum (which by definition depends on
/// where the last block started), as numbers a split-independence check can compare.
pub(crate) fn peak_key(r: &PeakReading) -> Vec<f64> {
    let mut v: Vec<f64> = r
        .current_db
        .iter()
        .chain(&r.max_db)
        .map(|&x| db_key(x))
        .collect();
    v.extend(r.clip_count.iter().chain(&r.over_count).map(|&c| c as f64));
    v
}
