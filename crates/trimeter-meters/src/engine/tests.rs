//! The engine's own promises: the non-finite guard, block-split independence of every reading,
//! how per-channel figures combine, interval peaks, and no allocation.

use super::*;
use crate::signals;
use crate::signals::{concat, white_noise};

fn engine(sample_rate: f64, channels: usize, max_block: usize) -> MeterEngine {
    MeterEngine::new(EngineConfig {
        sample_rate,
        channels,
        max_block,
        ..EngineConfig::default()
    })
}

fn feed(engine: &mut MeterEngine, planar: &[Vec<f32>], splits: &[usize]) {
    let mut offset = 0;
    for &len in splits {
        let views: Vec<&[f32]> = planar.iter().map(|c| &c[offset..offset + len]).collect();
        nice_assert_no_alloc::assert_no_alloc(|| engine.process(&views));
        offset += len;
    }
}

/// A snapshot without the two fields that describe only the most recent block, which by
/// definition depend on where the last block started.
fn split_free(mut s: MeterSnapshot) -> MeterSnapshot {
    s.sample_peak.block_max_db = [0.0; MAX_CHANNELS];
    s.true_peak.block_max_db = [0.0; MAX_CHANNELS];
    s
}

fn program(frames: usize, seed: u64) -> Vec<f32> {
    // Noise with a level step, so gates, ballistics and windows all move.
    let mut noise = signals::white_noise(frames, 0.3, seed);
    noise[frames / 2..].iter_mut().for_each(|s| *s *= 0.1);
    noise
}

#[test]
fn every_reading_is_independent_of_block_splits() {
    for sample_rate in [44_100.0, 48_000.0, 96_000.0] {
        let frames = (sample_rate * 4.0) as usize;
        let planar = vec![program(frames, 1), program(frames, 2)];
        let mut reference = engine(sample_rate, 2, 16_384);
        feed(&mut reference, &planar, &[frames]);
        let expected = split_free(reference.snapshot());
        assert!(expected.loudness.integrated_lufs.is_finite());
        for splits in [
            vec![1; frames],
            signals::random_splits(frames, 7, 3),
            signals::random_splits(frames, 64, 4),
            signals::random_splits(frames, 4096, 5),
        ] {
            let mut e = engine(sample_rate, 2, 512);
            feed(&mut e, &planar, &splits);
            assert_eq!(
                split_free(e.snapshot()),
                expected,
                "{sample_rate} Hz, first block {}",
                splits[0]
            );
        }
    }
}

#[test]
fn non_finite_samples_are_counted_and_read_as_silence() {
    let frames = 48_000;
    let clean = vec![program(frames, 7), program(frames, 8)];
    let mut dirty = clean.clone();
    let mut zeroed = clean.clone();
    let mut count = 0;
    for i in (0..frames).step_by(101) {
        for (channel, value) in [(0, f32::NAN), (1, f32::INFINITY)] {
            dirty[channel][i] = value;
            zeroed[channel][i] = 0.0;
            count += 1;
        }
    }
    dirty[1][5] = f32::NEG_INFINITY;
    zeroed[1][5] = 0.0;
    count += 1;
    let mut a = engine(48_000.0, 2, 1024);
    feed(&mut a, &dirty, &signals::random_splits(frames, 1024, 9));
    let mut b = engine(48_000.0, 2, 1024);
    feed(&mut b, &zeroed, &[frames]);
    let (sa, mut sb) = (split_free(a.snapshot()), split_free(b.snapshot()));
    assert_eq!(sa.non_finite_samples, count);
    sb.non_finite_samples = count;
    assert_eq!(sa, sb);
    let summary = a.summary();
    for value in [
        summary.sample_peak_dbfs,
        summary.true_peak_dbtp,
        summary.rms_dbfs,
        summary.integrated_lufs,
        summary.vu_max,
    ] {
        assert!(value.is_finite(), "{summary:?}");
    }
}

#[test]
fn huge_samples_keep_every_reading_finite() {
    let planar = vec![vec![1e30f32; 48_000], vec![-1e30f32; 48_000]];
    let mut e = engine(48_000.0, 2, 4096);
    feed(&mut e, &planar, &signals::random_splits(48_000, 4096, 1));
    let s = e.summary();
    for value in [
        s.sample_peak_dbfs,
        s.true_peak_dbtp,
        s.rms_dbfs,
        s.rms_aes17_dbfs,
        s.vu_max,
        s.ppm_max_dbfs,
        s.momentary_max_lufs,
        s.integrated_lufs,
    ] {
        assert!(value.is_finite() && value > 500.0, "{s:?}");
    }
}

#[test]
fn channels_combine_as_power_mean_and_max() {
    // A -20 dBFS sine in the left channel, silence in the right.
    let sample_rate = 48_000.0;
    let left = signals::sine(sample_rate, 997.0, -20.0, 5.0, 0.0);
    let right = vec![0.0; left.len()];
    let mut e = engine(sample_rate, 2, 4096);
    feed(
        &mut e,
        &[left.clone(), right],
        &signals::random_splits(left.len(), 4096, 2),
    );
    let s = e.summary();
    assert!((s.sample_peak_dbfs - -20.0).abs() < 0.01, "{s:?}");
    // Plain RMS of a -20 dBFS sine is -23.01; averaged with a silent channel, another -3.01.
    assert!((s.rms_dbfs - -26.02).abs() < 0.02, "{s:?}");
    assert!((s.rms_aes17_dbfs - -23.01).abs() < 0.02, "{s:?}");
    // One channel at -20 dBFS peak: BS.1770 sanity relation (-3.01 LKFS for 0 dBFS).
    assert!((s.integrated_lufs - -23.01).abs() < 0.05, "{s:?}");
    assert!((s.plr_lu - (s.true_peak_dbtp - s.integrated_lufs)).abs() < 1e-6);
    assert!(s.true_peak_dbtp >= s.sample_peak_dbfs);
    let now = e.instant();
    assert!(
        (now.vu - -2.0).abs() < 0.1,
        "a -20 dBFS sine is -2 VU at the -18 dBFS reference: {now:?}"
    );
    assert!((now.ppm_dbfs - -20.0).abs() < 0.1, "{now:?}");
}

#[test]
fn interval_peaks_hold_the_highest_peak_then_restart() {
    let mut e = engine(48_000.0, 2, 256);
    let quiet = vec![vec![0.01f32; 480], vec![0.01f32; 480]];
    let mut loud = quiet.clone();
    loud[1][100] = 0.5;
    feed(&mut e, &loud, &[480]);
    feed(&mut e, &quiet, &[480]);
    let peaks = e.take_interval_peaks();
    assert!((peaks.sample_peak_dbfs - -6.02).abs() < 0.01, "{peaks:?}");
    assert!(peaks.true_peak_dbtp >= peaks.sample_peak_dbfs);
    feed(&mut e, &quiet, &[480]);
    let later = nice_assert_no_alloc::assert_no_alloc(|| e.take_interval_peaks());
    assert!((later.sample_peak_dbfs - -40.0).abs() < 0.01, "{later:?}");
}

#[test]
fn reads_never_allocate_and_odd_inputs_do_not_panic() {
    let mut e = engine(44_100.0, 2, 64);
    let planar = vec![program(10_000, 3), program(10_000, 4)];
    feed(&mut e, &planar, &[0, 10_000, 0]);
    nice_assert_no_alloc::assert_no_alloc(|| {
        std::hint::black_box(e.snapshot());
        std::hint::black_box(e.summary());
        std::hint::black_box(e.instant());
        std::hint::black_box(e.take_channel_peaks());
    });
    // Fewer channels than configured: ignored, not a panic; more: the extra ones are ignored.
    let before = e.snapshot();
    e.process(&[&planar[0][..100]]);
    assert_eq!(e.snapshot(), before);
    e.process(&[&planar[0][..100], &planar[1][..100], &planar[1][..100]]);
    // Hosts may call reset() on the audio thread.
    nice_assert_no_alloc::assert_no_alloc(|| e.reset());
    assert_eq!(e.summary().sample_peak_dbfs, f32::NEG_INFINITY);
}

/// The CPU-specific builds of the meters and the portable build read exactly the same, at
/// every step, and none allocates.
#[test]
fn cpu_specific_and_portable_builds_read_the_same() {
    let builds: &[SimdLevel] = match SimdLevel::supported() {
        SimdLevel::Portable => return,
        SimdLevel::Avx2Fma => &[SimdLevel::Avx2Fma],
        SimdLevel::Avx512 => &[SimdLevel::Avx2Fma, SimdLevel::Avx512],
    };
    for &build in builds {
        for rate in [44_100.0, 48_000.0, 96_000.0] {
            for channels in [1, 2, 3] {
                let left = concat(&[white_noise(20_000, 0.3, 1), white_noise(9_000, 3.0, 2)]);
                let right = concat(&[white_noise(9_000, 2.0, 3), white_noise(20_000, 0.01, 4)]);
                let config = EngineConfig {
                    sample_rate: rate,
                    channels,
                    max_block: 512,
                    ..EngineConfig::default()
                };
                let mut fast = MeterEngine::new(config);
                let mut portable = MeterEngine::new(config);
                fast.build = build;
                portable.build = SimdLevel::Portable;
                for (l, r) in left.chunks(301).zip(right.chunks(301)) {
                    let block = [l, r, l];
                    nice_assert_no_alloc::assert_no_alloc(|| fast.process(&block[..channels]));
                    portable.process(&block[..channels]);
                    let what = format!("{build:?}, {rate} Hz, {channels} ch");
                    assert_eq!(fast.snapshot(), portable.snapshot(), "{what}");
                }
                assert!(fast.summary().sample_peak_dbfs > 0.0);
            }
        }
    }
}

#[test]
fn the_k_system_reading_is_the_same_whether_shared_with_rms_or_run_alone() {
    let frames = 96_000;
    let planar = vec![program(frames, 21), program(frames, 22)];
    let mut shared = engine(48_000.0, 2, 512);
    let mut separate = MeterEngine::new(EngineConfig {
        max_block: 512,
        rms_window_ms: 300.0,
        ..EngineConfig::default()
    });
    assert!(shared.k_shares_rms && !separate.k_shares_rms);
    let splits = signals::random_splits(frames, 512, 6);
    feed(&mut shared, &planar, &splits);
    feed(&mut separate, &planar, &splits);
    let (a, b) = (shared.snapshot(), separate.snapshot());
    assert_eq!(a.k_rms, b.k_rms);
    assert_eq!(a.k_rms, a.rms);
    assert_ne!(b.rms, b.k_rms, "a 300 ms window reads differently");
    // K-20: a -20 dBFS AES17 (-23.01 dBFS plain) level reads 0 on the K scale.
    let sine = signals::sine(48_000.0, 997.0, -20.0, 2.0, 0.0);
    let mut k = engine(48_000.0, 1, 512);
    feed(&mut k, &[sine], &[96_000]);
    assert!(k.snapshot().k_reading(KSystem::K20, 0).abs() < 0.01);
}

/// `summary()` reads only the fields the summary uses; it must give exactly what summarizing a
/// whole snapshot gives, for every channel count, with clipping, overs and non-finite input, and
/// with the RMS window shared with the K-system or not.
#[test]
fn summary_equals_summarizing_a_whole_snapshot() {
    for (channels, rms_window_ms) in [(1, 600.0), (2, 600.0), (2, 300.0), (6, 600.0), (8, 3000.0)] {
        let mut e = MeterEngine::new(EngineConfig {
            sample_rate: 44_100.0,
            channels,
            max_block: 512,
            rms_window_ms,
            ..EngineConfig::default()
        });
        let planar: Vec<Vec<f32>> = (0..channels)
            .map(|c| {
                let mut x = program(44_100 * 2, 40 + c as u64);
                // A clipped stretch, an over and a non-finite sample on some channels.
                if c % 2 == 0 {
                    x[1000..1010].iter_mut().for_each(|s| *s = 1.2);
                    x[5000] = f32::NAN;
                }
                x
            })
            .collect();
        assert_eq!(
            e.summary(),
            summarize(&e.snapshot()),
            "{channels} ch, before any audio"
        );
        feed(&mut e, &planar, &[300, 4096, 1, 77_000, 6803]);
        let (fast, whole) = (e.summary(), summarize(&e.snapshot()));
        // Bit for bit (NaN never appears: silence is minus infinity).
        assert_eq!(format!("{fast:?}"), format!("{whole:?}"), "{channels} ch");
        assert_eq!(fast, whole, "{channels} ch");
        assert!(fast.non_finite_samples > 0 && fast.sample_peak_dbfs > 0.0);
    }
}

/// The engine interpolates the true peak before its non-finite check and commits it after; the
/// readings must be exactly those of a true-peak meter fed the same (sanitized) blocks through
/// `Meter::process`, in both modes, at rates with and without over-sampling, with blocks that
/// are shorter than the interpolator's history and blocks that hold non-finite samples.
#[test]
fn true_peak_in_the_engine_reads_as_the_meter_alone() {
    use crate::meter::Meter;
    for (rate, mode) in [
        (48_000.0, TruePeakMode::Standard),
        (44_100.0, TruePeakMode::Precise),
        (96_000.0, TruePeakMode::Standard),
        (192_000.0, TruePeakMode::Standard),
    ] {
        let mut e = MeterEngine::new(EngineConfig {
            sample_rate: rate,
            channels: 2,
            max_block: 512,
            true_peak_mode: mode,
            ..EngineConfig::default()
        });
        let mut alone = TruePeakMeter::new(mode, PeakConfig::default());
        alone.prepare(rate, 2);
        let mut planar = [program(20_000, 5), program(20_000, 6)];
        planar[0][7_000] = f32::NAN;
        planar[1][7_001] = f32::INFINITY;
        planar[1][12_000..12_005].iter_mut().for_each(|s| *s = 1.3);
        let splits = [1, 2, 5, 30, 512, 100, 3, 511, 7, 4096];
        let mut offset = 0;
        for &len in splits.iter().cycle() {
            let len = len.min(20_000 - offset).min(512);
            if len == 0 {
                break;
            }
            let views: Vec<&[f32]> = planar.iter().map(|c| &c[offset..offset + len]).collect();
            nice_assert_no_alloc::assert_no_alloc(|| e.process(&views));
            let clean: Vec<Vec<f32>> = views
                .iter()
                .map(|c| {
                    c.iter()
                        .map(|&x| if x.is_finite() { x } else { 0.0 })
                        .collect()
                })
                .collect();
            let clean: Vec<&[f32]> = clean.iter().map(|c| &c[..]).collect();
            alone.process(&clean);
            assert_eq!(
                e.snapshot().true_peak,
                alone.read(),
                "{rate} Hz {mode:?}, at {offset}"
            );
            offset += len;
        }
        assert!(e.snapshot().true_peak.clip_count[1] > 0);
    }
}
