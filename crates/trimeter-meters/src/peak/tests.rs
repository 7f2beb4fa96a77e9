use super::test_util::*;
use super::*;
use crate::signals::{concat, silence, sine, tone_burst, white_noise};

fn prepared(sample_rate: f64, channels: usize) -> SamplePeakMeter {
    let mut meter = SamplePeakMeter::new(PeakConfig::default());
    meter.prepare(sample_rate, channels);
    meter
}

#[test]
fn sine_reads_its_peak_at_all_rates() {
    for rate in RATES {
        let mut meter = prepared(rate, 1);
        let signal = vec![sine(rate, 997.0, -3.0, 0.5, 0.3)];
        run_blocks(&mut meter, &signal, 512);
        let r = meter.read();
        assert!((r.max_db[0] - -3.0).abs() < 0.01, "{rate}: {}", r.max_db[0]);
        assert!(
            (r.current_db[0] - -3.0).abs() < 0.01,
            "{rate}: {}",
            r.current_db[0]
        );
        assert_eq!(r.clip_count[0], 0);
        assert_eq!(r.over_count[0], 0);
    }
}

#[test]
fn display_holds_then_falls_at_the_configured_rate() {
    for rate in RATES {
        let config = PeakConfig::default();
        let mut meter = SamplePeakMeter::new(config);
        meter.prepare(rate, 1);
        // A single -6.02 dBFS sample at 0.1 s in 4 s of silence; read every 10 ms.
        let mut click = silence(rate, 4.0);
        click[(0.1 * rate) as usize] = -0.5;
        let signal = vec![click];
        let hop = (rate / 100.0) as usize;
        let readings = readings_every(&mut meter, &signal, hop);
        let at = |seconds: f64| readings[(seconds * 100.0).round() as usize - 1].current_db[0];
        // The peak comes at 0.1 s; the hold lasts 1.5 s.
        assert_eq!(at(0.05), f32::NEG_INFINITY);
        assert!((at(0.5) - -6.0206).abs() < 0.001, "{rate}: {}", at(0.5));
        assert!((at(1.59) - -6.0206).abs() < 0.001, "{rate}: {}", at(1.59));
        assert!(at(1.62) < -6.03, "{rate}: {}", at(1.62));
        // 1 s after the hold ends the display has fallen 20 dB (one tick of timing slack).
        let expected = -6.0206 - config.fall_db_per_s;
        let slack = config.fall_db_per_s * (TICK_FRAMES as f64 / rate) as f32 + 0.01;
        assert!((at(2.6) - expected).abs() < slack, "{rate}: {}", at(2.6));
        // The fall is linear in dB: another second, another 20 dB.
        assert!(
            (at(3.6) - (expected - 20.0)).abs() < slack,
            "{rate}: {}",
            at(3.6)
        );
        // Falling never touches the maximum.
        assert!((readings.last().unwrap().max_db[0] - -6.0206).abs() < 0.001);
    }
}

#[test]
fn a_louder_peak_during_the_fall_takes_over() {
    let rate = 48_000.0;
    let mut meter = prepared(rate, 1);
    let signal = vec![concat(&[
        sine(rate, 1000.0, -20.0, 0.1, 0.0),
        silence(rate, 2.0),
        sine(rate, 1000.0, -10.0, 0.1, 0.0),
    ])];
    run_blocks(&mut meter, &signal, 100);
    assert!((meter.read().current_db[0] - -10.0).abs() < 0.01);
}

#[test]
fn clips_and_overs_are_counted_and_latched() {
    let mut meter = prepared(48_000.0, 2);
    // At or above full scale: 1.0, -1.0, 1.5, -2.0. Above the -1 dBFS ceiling (0.891): those
    // four and 0.999.
    let left = [0.5, 1.0, -1.0, 0.999, 1.5, -2.0, 0.0, 0.89];
    let right = [0.0f32; 8];
    meter.process(&[&left, &right]);
    let r = meter.read();
    assert_eq!((r.clip_count[0], r.over_count[0]), (4, 5));
    assert_eq!((r.clip_count[1], r.over_count[1]), (0, 0));
    assert!((r.max_db[0] - 6.0206).abs() < 1e-3);
    assert!((r.block_max_db[0] - 6.0206).abs() < 1e-3);
    assert_eq!(r.block_max_db[1], f32::NEG_INFINITY);
    assert!((r.max_over_channels(2) - 6.0206).abs() < 1e-3);

    // Quiet audio afterwards keeps the counts (latched) but not the block maximum.
    let quiet = [0.1f32; 100];
    meter.process(&[&quiet, &quiet]);
    let r = meter.read();
    assert_eq!((r.clip_count[0], r.over_count[0]), (4, 5));
    assert!((r.block_max_db[0] - -20.0).abs() < 1e-3);
    // An empty block reads an empty block maximum.
    meter.process(&[&[], &[]]);
    assert_eq!(meter.read().block_max_db[0], f32::NEG_INFINITY);

    // A new ceiling applies from now on; reset clears everything.
    meter.set_ceiling_db(-30.0);
    meter.process(&[&quiet, &quiet]);
    assert_eq!(meter.read().over_count[0], 105);
    meter.reset();
    assert_eq!(meter.read(), PeakReading::default());
}

#[test]
fn silence_reads_minus_infinity_and_huge_input_stays_finite() {
    for channels in [1, 2, 6] {
        let mut meter = prepared(44_100.0, channels);
        run_blocks(
            &mut meter,
            &multichannel(&silence(44_100.0, 1.0), channels),
            512,
        );
        let r = meter.read();
        assert!(r.current_db[..channels]
            .iter()
            .all(|&v| v == f32::NEG_INFINITY));
        assert!(r.max_db[..channels].iter().all(|&v| v == f32::NEG_INFINITY));

        let huge: Vec<f32> = white_noise(10_000, 1e30, 5);
        run_blocks(&mut meter, &multichannel(&huge, channels), 333);
        let r = meter.read();
        for ch in 0..channels {
            assert!(r.current_db[ch].is_finite() && r.max_db[ch].is_finite());
            assert!(r.max_db[ch] > 500.0);
            assert_eq!(r.clip_count[ch], 10_000);
        }
        // After the display has fallen all the way, silence reads minus infinity again.
        run_blocks(
            &mut meter,
            &multichannel(&silence(44_100.0, 45.0), channels),
            4096,
        );
        assert_eq!(meter.read().current_db[0], f32::NEG_INFINITY);
        assert_finite_at_f32_max(&mut meter, channels, peak_key);
    }
}

#[test]
fn readings_do_not_depend_on_block_splits() {
    for rate in RATES {
        for channels in [1, 2, 6] {
            let signal = concat(&[
                white_noise(30_000, 0.5, 1),
                tone_burst(rate, 3000.0, 1.0, 0.01, 0.02, 0.3),
                white_noise(20_000, 0.05, 2),
                silence(rate, 1.7),
                white_noise(5_000, 0.01, 3),
            ]);
            let signal = multichannel(&signal, channels);
            assert_split_independent(|| prepared(rate, channels), &signal, peak_key, 0.0);
        }
    }
}

#[test]
fn process_does_not_allocate() {
    for channels in [1, 2, 6] {
        let mut meter = prepared(48_000.0, channels);
        let signal = multichannel(&white_noise(100_000, 1.2, 9), channels);
        assert_process_does_not_allocate(&mut meter, &signal);
        assert!(meter.read().clip_count[0] > 0);
    }
}

#[test]
fn works_from_8_to_768_khz() {
    for rate in [8_000.0, 192_000.0, 384_000.0, 768_000.0] {
        let mut meter = prepared(rate, 2);
        let tone = sine(rate, 1000.0, -6.0, 0.2, 0.0);
        run_blocks(&mut meter, &[tone.clone(), tone], 4096);
        let r = meter.read();
        assert!((r.max_db[0] - -6.0).abs() < 0.01, "{rate}: {}", r.max_db[0]);
        assert!(
            (r.current_db[1] - -6.0).abs() < 0.01,
            "{rate}: {}",
            r.current_db[1]
        );
    }
}
