//! Behaviour tests: block-split independence, real-time safety, weights, pause and reset,
//! extreme input, bounded memory, and the release-mode speed measurement.

use super::*;
use crate::rng::Rng;
use crate::signals::{random_splits, white_noise};

/// The rates every accuracy test runs at.
pub(super) const RATES: [f64; 3] = [44_100.0, 48_000.0, 96_000.0];

/// A 1 kHz tone made of `(seconds, peak dBFS)` segments, each starting at phase 0 (the Tech 3341
/// and 3342 signals are built this way); `None` is silence.
pub(super) fn tone(rate: f64, segments: &[(f64, Option<f64>)]) -> Vec<f32> {
    let mut out = Vec::new();
    for &(seconds, level) in segments {
        match level {
            Some(db) => out.extend(crate::signals::sine(rate, 1000.0, db, seconds, 0.0)),
            None => out.extend(crate::signals::silence(rate, seconds)),
        }
    }
    out
}

/// A meter prepared for `rate` and `channels`.
pub(super) fn meter(rate: f64, channels: usize) -> LoudnessMeter {
    let mut m = LoudnessMeter::new();
    m.prepare(rate, channels);
    m
}

/// Processes planar `signal` in blocks of `block` frames.
pub(super) fn feed(m: &mut LoudnessMeter, signal: &[Vec<f32>], block: usize) {
    let frames = signal.first().map_or(0, Vec::len);
    let mut start = 0;
    while start < frames {
        let end = (start + block).min(frames);
        let refs: Vec<&[f32]> = signal.iter().map(|c| &c[start..end]).collect();
        m.process(&refs);
        start = end;
    }
}

/// The reading after measuring `signal` from a reset meter.
pub(super) fn measure(rate: f64, signal: &[Vec<f32>]) -> LoudnessReading {
    let mut m = meter(rate, signal.len());
    feed(&mut m, signal, 4096);
    m.read()
}

/// A test programme with level changes, silence and both channels different.
fn programme(rate: f64, seconds: f64, seed: u64) -> Vec<Vec<f32>> {
    let frames = (rate * seconds) as usize;
    let noise = white_noise(frames, 0.5, seed);
    let mut rng = Rng::new(seed + 1);
    let mut left = Vec::with_capacity(frames);
    let mut gain = 1.0;
    for (n, x) in noise.iter().enumerate() {
        if n % (rate as usize / 3) == 0 {
            gain = if rng.next_unit() < 0.2 {
                0.0
            } else {
                10f32.powf(-2.0 * rng.next_unit())
            };
        }
        left.push(x * gain);
    }
    let right = left
        .iter()
        .enumerate()
        .map(|(n, x)| 0.5 * x + 0.2 * (n as f32 * 0.05).sin())
        .collect();
    vec![left, right]
}

#[test]
fn readings_do_not_depend_on_block_splits() {
    for rate in [44_100.0, 11_025.0] {
        let signal = programme(rate, 12.0, 3);
        let whole = measure(rate, &signal);
        assert!(
            whole.integrated_lufs.is_finite() && whole.loudness_range_lu > 1.0,
            "{whole:?}"
        );
        for block in [1, 7, 64, 4096, 16_384, 100_000] {
            let mut m = meter(rate, 2);
            feed(&mut m, &signal, block);
            assert_eq!(m.read(), whole, "{rate} Hz, blocks of {block}");
        }
        let mut m = meter(rate, 2);
        let mut start = 0;
        for len in random_splits(signal[0].len(), 3000, 9) {
            m.process(&[
                &signal[0][start..start + len],
                &signal[1][start..start + len],
            ]);
            m.process(&[&[], &[]]);
            start += len;
        }
        assert_eq!(m.read(), whole, "{rate} Hz, random splits");
    }
}

#[test]
fn process_never_allocates() {
    let signal = programme(48_000.0, 5.0, 4);
    let mut m = meter(48_000.0, 2);
    let mut start = 0;
    for len in [0, 1, 480, 4096, 16_384, 50_000]
        .into_iter()
        .cycle()
        .take(40)
    {
        let end = (start + len).min(signal[0].len());
        let block = [&signal[0][start..end], &signal[1][start..end]];
        nice_assert_no_alloc::assert_no_alloc(|| m.process(&block));
        start = if end == signal[0].len() { 0 } else { end };
    }
    nice_assert_no_alloc::assert_no_alloc(|| m.read());
    assert!(m.read().integrated_lufs.is_finite());
}

#[test]
fn silence_reads_minus_infinity_and_huge_input_stays_finite() {
    for rate in [8_000.0, 48_000.0, 384_000.0, 768_000.0] {
        let frames = (rate * 4.0) as usize;
        let r = measure(rate, &[vec![0.0; frames], vec![0.0; frames]]);
        assert_eq!(
            r,
            LoudnessReading {
                loudness_range_lu: 0.0,
                ..LoudnessReading::default()
            }
        );
        assert_eq!(r.momentary_lufs, f32::NEG_INFINITY);

        let huge: Vec<f32> = white_noise(frames, 1e30, 5)
            .iter()
            .map(|x| x.signum() * 3e38)
            .collect();
        let r = measure(rate, &[huge.clone(), huge]);
        for v in [
            r.momentary_lufs,
            r.short_term_lufs,
            r.integrated_lufs,
            r.momentary_max_lufs,
            r.short_term_max_lufs,
        ] {
            assert!(v.is_finite() && v > 600.0, "{rate}: {r:?}");
        }
        assert!(r.loudness_range_lu.is_finite());
    }
}

#[test]
fn mono_reads_like_one_stereo_channel_and_stereo_adds_3_db() {
    for rate in RATES {
        let s = tone(rate, &[(5.0, Some(-20.0))]);
        let mono = measure(rate, std::slice::from_ref(&s));
        let left_only = measure(rate, &[s.clone(), vec![0.0; s.len()]]);
        let both = measure(rate, &[s.clone(), s.clone()]);
        assert!((mono.integrated_lufs - left_only.integrated_lufs).abs() < 1e-4);
        assert!((both.integrated_lufs - mono.integrated_lufs - 3.0103).abs() < 1e-3);
    }
}

#[test]
fn surround_weights_add_1_5_db_and_lfe_is_ignored() {
    let rate = 48_000.0;
    let s = tone(rate, &[(5.0, Some(-20.0))]);
    let z = vec![0.0; s.len()];
    let only = |ch: usize| {
        let mut sig = vec![z.clone(); 6];
        sig[ch] = s.clone();
        measure(rate, &sig).integrated_lufs
    };
    let front = only(0);
    assert!((only(2) - front).abs() < 1e-4);
    assert_eq!(only(3), f32::NEG_INFINITY);
    for ch in [4, 5] {
        assert!(
            (only(ch) - front - 10.0 * 1.41f32.log10()).abs() < 1e-3,
            "{ch}"
        );
    }
    // Custom weights: count only the centre channel, twice.
    let mut m = meter(rate, 6);
    m.set_channel_weights(Some(&[0.0, 0.0, 2.0]));
    assert_eq!(m.channel_weights()[..4], [0.0, 0.0, 2.0, 1.0]);
    let mut sig = vec![z.clone(); 6];
    sig[2] = s.clone();
    feed(&mut m, &sig, 512);
    assert!((m.read().integrated_lufs - front - 3.0103).abs() < 1e-3);
    m.set_channel_weights(None);
    assert_eq!(m.channel_weights(), default_channel_weights(6));
}

#[test]
fn default_and_wave_mask_weights() {
    let s = SURROUND_WEIGHT;
    assert_eq!(default_channel_weights(1)[0], 1.0);
    assert_eq!(default_channel_weights(5)[..5], [1.0, 1.0, 1.0, s, s]);
    assert_eq!(default_channel_weights(6)[..6], [1.0, 1.0, 1.0, 0.0, s, s]);
    assert_eq!(
        default_channel_weights(8),
        [1.0, 1.0, 1.0, 0.0, 1.0, 1.0, s, s]
    );
    assert_eq!(default_channel_weights(4), [1.0; 8]);
    // 5.1 with back surrounds (0x3F) and with side surrounds (0x60F).
    assert_eq!(
        weights_from_wave_channel_mask(0x3F, 6)[..6],
        [1.0, 1.0, 1.0, 0.0, s, s]
    );
    assert_eq!(
        weights_from_wave_channel_mask(0x60F, 6)[..6],
        [1.0, 1.0, 1.0, 0.0, s, s]
    );
    // 7.1 (0x63F): rears at 135 degrees 1.0, sides 1.41.
    assert_eq!(
        weights_from_wave_channel_mask(0x63F, 8),
        [1.0, 1.0, 1.0, 0.0, 1.0, 1.0, s, s]
    );
    // Fewer mask bits than channels: the rest are 1.0; a mask of 0 gives all 1.0.
    assert_eq!(weights_from_wave_channel_mask(0x8, 3)[..3], [0.0, 1.0, 1.0]);
    assert_eq!(weights_from_wave_channel_mask(0, 8), [1.0; 8]);
}

#[test]
fn pause_excludes_audio_from_integrated_but_not_from_momentary() {
    for rate in RATES {
        let quiet = tone(rate, &[(10.0, Some(-30.0))]);
        let loud = tone(rate, &[(10.0, Some(-10.0))]);
        let mut m = meter(rate, 1);
        feed(&mut m, std::slice::from_ref(&quiet), 1000);
        m.pause(true);
        assert!(m.is_paused());
        feed(&mut m, std::slice::from_ref(&loud), 1000);
        let during = m.read();
        assert!(
            (during.momentary_lufs - (-10.0 - 3.01)).abs() < 0.1,
            "{during:?}"
        );
        assert!(
            (during.momentary_max_lufs - (-30.0 - 3.01)).abs() < 0.1,
            "{during:?}"
        );
        m.pause(false);
        feed(&mut m, std::slice::from_ref(&quiet), 1000);
        let r = m.read();
        assert!((r.integrated_lufs - (-30.0 - 3.01)).abs() < 0.05, "{r:?}");
        assert!(
            (r.short_term_max_lufs - (-30.0 - 3.01)).abs() < 0.1,
            "{r:?}"
        );
        assert!(r.loudness_range_lu < 0.1, "{r:?}");
        // Without the pause the loud part dominates.
        let whole = measure(rate, &[[quiet.clone(), loud, quiet].concat()]);
        assert!(whole.integrated_lufs > -14.0);
    }
}

#[test]
fn reset_integrated_keeps_windows_and_reset_clears_everything() {
    let rate = 48_000.0;
    let loud = tone(rate, &[(5.0, Some(-10.0))]);
    let quiet = tone(rate, &[(5.0, Some(-40.0))]);
    let mut m = meter(rate, 1);
    feed(&mut m, std::slice::from_ref(&loud), 256);
    m.reset_integrated();
    let r = m.read();
    assert_eq!(
        (r.integrated_lufs, r.loudness_range_lu, r.momentary_max_lufs),
        (f32::NEG_INFINITY, 0.0, f32::NEG_INFINITY)
    );
    assert!((r.momentary_lufs - -13.01).abs() < 0.1);
    feed(&mut m, std::slice::from_ref(&quiet), 256);
    let r = m.read();
    assert!((r.integrated_lufs - -43.01).abs() < 0.05, "{r:?}");
    // The maxima only count windows that start after the reset.
    assert!((r.short_term_max_lufs - -43.01).abs() < 0.05, "{r:?}");
    assert!((r.momentary_max_lufs - -43.01).abs() < 0.05, "{r:?}");
    m.reset();
    assert_eq!(m.read(), LoudnessReading::default());
    feed(&mut m, &[quiet], 256);
    assert_eq!(
        m.read(),
        measure(rate, &[tone(rate, &[(5.0, Some(-40.0))])])
    );
}

#[test]
fn readings_update_on_a_10_ms_grid() {
    for rate in RATES {
        let s = tone(rate, &[(1.0, Some(-20.0))]);
        let mut m = meter(rate, 1);
        let step = (rate / 100.0) as usize;
        let mut last = m.read().momentary_lufs;
        let mut updates = 0;
        for (i, chunk) in s.chunks(step).enumerate() {
            m.process(&[&chunk[..step - 1]]);
            assert_eq!(
                m.read().momentary_lufs,
                last,
                "{rate} {i}: updated before the grid point"
            );
            m.process(&[&chunk[step - 1..]]);
            assert!(
                m.read().momentary_lufs > last || i >= 40,
                "{rate} {i}: no update on the grid point"
            );
            last = m.read().momentary_lufs;
            updates += 1;
        }
        assert_eq!(updates, 100);
    }
}

#[test]
fn any_sample_rate_and_channel_count_works() {
    for rate in [
        8_000.0, 11_025.0, 22_050.0, 32_000.0, 88_200.0, 176_400.0, 192_000.0, 352_800.0,
        384_000.0, 768_000.0,
    ] {
        for channels in [1, 2, 3, 8] {
            let s = tone(rate, &[(1.0, Some(-20.0))]);
            let r = measure(rate, &vec![s; channels]);
            let expected = -20.0 - 3.01 + 10.0 * (channels as f32).log10();
            assert!(
                (r.integrated_lufs - expected).abs() < 0.15 || channels == 8,
                "{rate} {channels}: {r:?}"
            );
            assert!(r.integrated_lufs.is_finite());
        }
    }
}

/// Bounded memory: the heap the meter holds is fixed by `prepare()`; an hour of gating blocks
/// (36 000, at 8 kHz to keep the test fast) changes nothing.
#[test]
fn memory_is_fixed_over_an_hour() {
    let rate = 8_000.0;
    let mut m = meter(rate, 2);
    let before = m.heap_bytes();
    let minute = programme(rate, 60.0, 11);
    for _ in 0..60 {
        feed(&mut m, &minute, 8000);
    }
    assert_eq!(m.heap_bytes(), before);
    assert!(m.read().integrated_lufs.is_finite());
    assert!(
        m.integrated_histogram.total_count() > 20_000,
        "{}",
        m.integrated_histogram.total_count()
    );
    assert!(before < 1_000_000, "{before}");
}

/// Release-mode cost: `cargo test --release --lib dsp::loudness::tests::speed -- --ignored --nocapture`.
#[test]
#[ignore]
fn speed() {
    let rate = 48_000.0;
    let frames = (rate * 60.0) as usize;
    let signal = [white_noise(frames, 0.5, 1), white_noise(frames, 0.5, 2)];
    let mut m = meter(rate, 2);
    let mut time = |block: usize, channels: usize| {
        m.prepare(rate, channels);
        let mut best = f64::INFINITY;
        for _ in 0..5 {
            m.reset();
            let start = std::time::Instant::now();
            for (l, r) in signal[0].chunks(block).zip(signal[1].chunks(block)) {
                let six = [l, r, l, r, l, r];
                m.process(&six[..channels]);
            }
            best = best.min(start.elapsed().as_secs_f64());
            std::hint::black_box(m.read());
        }
        best
    };
    let best = time(512, 2);
    println!(
        "loudness: {:.3} ns per stereo frame, 512-frame blocks",
        best * 1e9 / frames as f64
    );
    for (block, channels) in [(64, 2), (4096, 2), (512, 1), (512, 6)] {
        let t = time(block, channels);
        println!(
            "  {channels} ch, {block}-frame blocks: {:.3} ns per frame",
            t * 1e9 / frames as f64
        );
    }
    println!(
        "  fused multiply-add kernel: {}",
        crate::simd::SimdLevel::selected().has_fma()
    );

    // The peer, measuring the same things (its histogram mode, as in its benchmarks), without
    // queries; its queries re-sum the window, so per-block readings would cost it even more.
    let mode = ebur128::Mode::M
        | ebur128::Mode::S
        | ebur128::Mode::I
        | ebur128::Mode::LRA
        | ebur128::Mode::HISTOGRAM;
    let mut best_peer = f64::INFINITY;
    for _ in 0..3 {
        let mut e = ebur128::EbuR128::new(2, 48_000, mode).unwrap();
        let start = std::time::Instant::now();
        for (l, r) in signal[0].chunks(512).zip(signal[1].chunks(512)) {
            e.add_frames_planar_f32(&[l, r]).unwrap();
        }
        best_peer = best_peer.min(start.elapsed().as_secs_f64());
        std::hint::black_box(e.loudness_global().unwrap());
    }
    println!(
        "ebur128 M|S|I|LRA|HISTOGRAM: {:.3} ns per stereo frame",
        best_peer * 1e9 / frames as f64
    );
    println!("ratio: {:.1}x", best_peer / best);
}
