use super::*;
use crate::peak::test_util::*;
use crate::signals::{concat, silence, sine, tone_burst, white_noise};

fn prepared(config: RmsConfig, rate: f64, channels: usize) -> RmsMeter {
    let mut meter = RmsMeter::new(config);
    meter.prepare(rate, channels);
    meter
}

fn key(r: &RmsReading) -> Vec<f64> {
    r.current_dbfs
        .iter()
        .chain(&r.max_dbfs)
        .chain(&r.integrated_dbfs)
        .chain(&r.integrated_gated_dbfs)
        .map(|&x| db_key(x))
        .collect()
}

#[test]
fn full_scale_sine_reads_minus_3_01_plain_and_0_aes17() {
    for rate in RATES {
        let mut meter = prepared(RmsConfig::default(), rate, 1);
        run_blocks(&mut meter, &[sine(rate, 997.0, 0.0, 1.0, 0.0)], 512);
        let r = meter.read();
        for level in [
            r.current_dbfs[0],
            r.integrated_dbfs[0],
            r.integrated_gated_dbfs[0],
        ] {
            assert!((level - -3.0103).abs() < 0.01, "{rate}: {level} {r:?}");
            assert!((level + AES17_OFFSET_DB).abs() < 0.01, "{rate}: {level}");
        }
        assert!(
            (r.max_dbfs[0] - -3.0103).abs() < 0.01,
            "{rate}: {}",
            r.max_dbfs[0]
        );
    }
}

#[test]
fn sliding_window_matches_brute_force() {
    for rate in RATES {
        let config = RmsConfig { window_ms: 50.0 };
        let mut meter = prepared(config, rate, 1);
        let n = meter.window_frames();
        assert_eq!(n, (rate * 0.05).round() as usize);
        let signal = concat(&[
            white_noise(20_000, 0.8, 3),
            sine(rate, 440.0, -30.0, 0.2, 0.0),
        ]);
        let mut pos = 0;
        for (i, len) in crate::signals::random_splits(signal.len(), 3000, 5)
            .into_iter()
            .enumerate()
        {
            meter.process(&[&signal[pos..pos + len]]);
            pos += len;
            let from = pos.saturating_sub(n);
            let ms: f64 = signal[from..pos]
                .iter()
                .map(|&x| f64::from(x) * f64::from(x))
                .sum::<f64>()
                / (pos - from) as f64;
            let expected = 10.0 * ms.log10();
            let got = f64::from(meter.read().current_dbfs[0]);
            assert!(
                (got - expected).abs() < 1e-4,
                "{rate} block {i} at {pos}: {got} vs {expected}"
            );
        }
    }
}

#[test]
fn partial_window_averages_what_was_seen() {
    for rate in RATES {
        let mut meter = prepared(RmsConfig::default(), rate, 1);
        run_blocks(&mut meter, &[sine(rate, 1000.0, -10.0, 0.1, 0.0)], 64);
        let r = meter.read();
        assert!(
            (r.current_dbfs[0] - -13.0103).abs() < 0.01,
            "{rate}: {}",
            r.current_dbfs[0]
        );
    }
}

#[test]
fn max_catches_a_short_burst_and_integration_gates_silence() {
    for rate in RATES {
        let mut meter = prepared(RmsConfig::default(), rate, 1);
        // A 50 ms burst at -6 dBFS inside silence: the 300 ms window peaks at 1/6 of its power.
        run_blocks(
            &mut meter,
            &[tone_burst(rate, 1000.0, -6.0, 1.0, 0.05, 1.0)],
            512,
        );
        let expected = -6.0 - 3.0103 + 10.0 * (1.0f32 / 6.0).log10();
        assert!(
            (meter.read().max_dbfs[0] - expected).abs() < 0.02,
            "{rate}: {}",
            meter.read().max_dbfs[0]
        );
        // The window has emptied: silence reads minus infinity exactly.
        assert_eq!(meter.read().current_dbfs[0], f32::NEG_INFINITY);

        // Ten gate blocks of tone then ten of silence: the gated level ignores the silence.
        let tick = meter.tick_frames();
        assert_eq!(tick, if rate < 90_000.0 { 128 } else { 256 });
        let block = ((GATE_BLOCK_S * rate / tick as f64).round() as usize) * tick;
        let tone: Vec<f32> = sine(rate, 1000.0, -20.0, 1.0, 0.0)
            .into_iter()
            .cycle()
            .take(10 * block)
            .collect();
        let signal = concat(&[tone, vec![0.0; 10 * block]]);
        meter.reset();
        run_blocks(&mut meter, &[signal], 1000);
        let r = meter.read();
        assert!(
            (r.integrated_gated_dbfs[0] - -23.0103).abs() < 0.01,
            "{rate}: {}",
            r.integrated_gated_dbfs[0]
        );
        assert!(
            (r.integrated_dbfs[0] - -26.0206).abs() < 0.01,
            "{rate}: {}",
            r.integrated_dbfs[0]
        );
    }
}

#[test]
fn k_system_calibration() {
    for rate in RATES {
        for k in [KSystem::K20, KSystem::K14, KSystem::K12] {
            // A sine whose AES17 level is the reference: its peak is at the reference in dBFS.
            let mut meter = prepared(KSystem::meter_config(), rate, 1);
            assert_eq!(meter.window_frames(), (0.6 * rate).round() as usize);
            run_blocks(
                &mut meter,
                &[sine(rate, 997.0, f64::from(k.reference_dbfs()), 1.5, 0.0)],
                512,
            );
            let reading = k.reading(meter.read().current_dbfs[0]);
            assert!(reading.abs() < 0.01, "{} at {rate}: {reading}", k.name());
            // 10 dB hotter reads +10.
            assert!((k.reading(meter.read().current_dbfs[0] + 10.0) - 10.0).abs() < 0.01);
        }
    }
}

#[test]
fn anti_phase_channels_do_not_cancel_in_the_power_mean() {
    let rate = 48_000.0;
    let left = sine(rate, 1000.0, -6.0, 0.5, 0.0);
    let right: Vec<f32> = left.iter().map(|x| -x).collect();
    let mut meter = prepared(RmsConfig::default(), rate, 2);
    run_blocks(&mut meter, &[left, right], 512);
    let r = meter.read();
    assert!((r.combined_current_dbfs(2) - -9.0103).abs() < 0.01);
    assert!((r.combined_integrated_dbfs(2) - -9.0103).abs() < 0.01);
    let mut silent_right = r.integrated_dbfs;
    silent_right[1] = f32::NEG_INFINITY;
    assert!((RmsReading::power_mean_dbfs(&silent_right, 2) - (-9.0103 - 3.0103)).abs() < 0.01);
}

#[test]
fn readings_do_not_depend_on_block_splits() {
    for rate in RATES {
        for channels in [1, 2, 6] {
            let signal = concat(&[
                white_noise(30_000, 0.5, 1),
                tone_burst(rate, 3000.0, 1.0, 0.01, 0.02, 0.3),
                silence(rate, 0.5),
                white_noise(5_000, 0.001, 3),
            ]);
            let signal = multichannel(&signal, channels);
            assert_split_independent(
                || prepared(RmsConfig::default(), rate, channels),
                &signal,
                key,
                0.0,
            );
        }
    }
}

#[test]
fn silence_and_huge_input() {
    for channels in [1, 2, 6] {
        let mut meter = prepared(RmsConfig::default(), 44_100.0, channels);
        run_blocks(
            &mut meter,
            &multichannel(&silence(44_100.0, 0.5), channels),
            512,
        );
        assert_eq!(key(&meter.read()).iter().filter(|&&v| v != -1e9).count(), 0);
        run_blocks(
            &mut meter,
            &multichannel(&white_noise(50_000, 1e30, 4), channels),
            300,
        );
        let r = meter.read();
        for ch in 0..channels {
            for v in [
                r.current_dbfs[ch],
                r.max_dbfs[ch],
                r.integrated_dbfs[ch],
                r.integrated_gated_dbfs[ch],
            ] {
                assert!(v.is_finite() && v > 500.0, "{v}");
            }
        }
        // Quiet audio after the huge burst reads its own level, not rounding residue.
        run_blocks(
            &mut meter,
            &multichannel(&sine(44_100.0, 1000.0, -40.0, 0.5, 0.0), channels),
            300,
        );
        assert!(
            (meter.read().current_dbfs[0] - -43.0103).abs() < 0.01,
            "{}",
            meter.read().current_dbfs[0]
        );
        run_blocks(
            &mut meter,
            &multichannel(&silence(44_100.0, 0.5), channels),
            300,
        );
        assert_eq!(meter.read().current_dbfs[0], f32::NEG_INFINITY);
        assert_finite_at_f32_max(&mut meter, channels, key);
    }
}

#[test]
fn process_does_not_allocate() {
    for channels in [1, 2, 6] {
        let mut meter = prepared(RmsConfig::default(), 48_000.0, channels);
        let signal = multichannel(&white_noise(100_000, 0.5, 9), channels);
        assert_process_does_not_allocate(&mut meter, &signal);
        assert!(meter.read().current_dbfs[0].is_finite());
    }
}

#[test]
fn works_from_8_to_768_khz() {
    for (rate, tick) in [
        (8_000.0, 32),
        (192_000.0, 512),
        (384_000.0, 1024),
        (768_000.0, 1024),
    ] {
        let mut meter = prepared(RmsConfig::default(), rate, 2);
        assert_eq!(meter.tick_frames(), tick);
        let tone = sine(rate, 997.0, 0.0, 1.0, 0.0);
        run_blocks(&mut meter, &[tone.clone(), tone], 4096);
        let r = meter.read();
        for level in [
            r.current_dbfs[0],
            r.max_dbfs[1],
            r.integrated_dbfs[0],
            r.integrated_gated_dbfs[1],
        ] {
            assert!((level - -3.0103).abs() < 0.01, "{rate}: {level}");
        }
    }
}
