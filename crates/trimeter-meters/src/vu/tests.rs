use super::*;
use crate::peak::test_util::*;
use crate::signals::{concat, silence, sine, white_noise};

fn prepared(reference_dbfs: f32, rate: f64, channels: usize) -> VuMeter {
    let mut meter = VuMeter::new(VuConfig { reference_dbfs });
    meter.prepare(rate, channels);
    meter
}

#[test]
fn sine_at_reference_reads_zero_vu() {
    for rate in RATES {
        for reference in [-24.0f32, -20.0, -18.0, -8.0] {
            let mut meter = prepared(reference, rate, 1);
            run_blocks(
                &mut meter,
                &[sine(rate, 1000.0, f64::from(reference), 2.0, 0.0)],
                512,
            );
            let vu = meter.read().vu[0];
            assert!(vu.abs() < 0.05, "{rate} Hz, reference {reference}: {vu} VU");
            // 6 dB hotter reads +6 VU.
            meter.reset();
            run_blocks(
                &mut meter,
                &[sine(rate, 1000.0, f64::from(reference) + 6.0, 2.0, 0.0)],
                512,
            );
            assert!((meter.read().vu[0] - 6.0).abs() < 0.05);
        }
    }
}

#[test]
fn reference_covers_its_range_and_holds_outside_it() {
    // -30 dBFS is a real calibration: a -30 dBFS sine reads 0 VU.
    let mut meter = prepared(-30.0, 48_000.0, 1);
    assert_eq!(meter.reference_dbfs(), -30.0);
    let mut blocks = meter.clone();
    let tone = sine(48_000.0, 1000.0, -30.0, 2.0, 0.0);
    blocks.process(&[&tone]);
    assert!(blocks.read().vu[0].abs() < 0.05, "{:?}", blocks.read());
    meter.set_reference_dbfs(0.0);
    assert_eq!(meter.reference_dbfs(), 0.0);
    meter.set_reference_dbfs(-80.0);
    assert_eq!(meter.reference_dbfs(), -40.0);
    meter.set_reference_dbfs(6.0);
    assert_eq!(meter.reference_dbfs(), 0.0);
    meter.set_reference_dbfs(f32::NAN);
    assert_eq!(meter.reference_dbfs(), -18.0);
}

/// Deflection of channel 0 every millisecond while `signal` plays.
fn trace(meter: &mut VuMeter, rate: f64, signal: &[f32]) -> Vec<f64> {
    let hop = (rate / 1000.0) as usize;
    signal
        .chunks(hop)
        .map(|block| {
            meter.process(&[block]);
            meter.deflection(0)
        })
        .collect()
}

#[test]
fn rise_and_fall_meet_iec_60268_17() {
    for rate in RATES {
        let mut meter = prepared(-18.0, rate, 1);
        // Whole milliseconds per hop: use a rate-aligned tone of exactly 2 s.
        let tone = sine(rate, 1000.0, -18.0, 2.0, 0.0);
        let rise = trace(&mut meter, rate, &tone);
        let steady = *rise.last().unwrap();
        assert!((steady - 1.0).abs() < 0.006, "{rate}: steady {steady}");
        let t99 = rise.iter().position(|&d| d >= 0.99 * steady).unwrap() + 1;
        assert!((270..=330).contains(&t99), "{rate}: 99 % after {t99} ms");
        let overshoot = rise.iter().fold(0.0f64, |m, &d| m.max(d)) / steady - 1.0;
        assert!(
            (0.010..=0.015).contains(&overshoot),
            "{rate}: overshoot {overshoot}"
        );

        let fall = trace(&mut meter, rate, &silence(rate, 2.0));
        let t01 = fall.iter().position(|&d| d <= 0.01 * steady).unwrap() + 1;
        assert!((270..=330).contains(&t01), "{rate}: 1 % after {t01} ms");
        let undershoot = -fall.iter().fold(0.0f64, |m, &d| m.min(d)) / steady;
        assert!(
            (0.010..=0.015).contains(&undershoot),
            "{rate}: undershoot {undershoot}"
        );
        // While undershooting, and at rest, the reading is silence.
        assert_eq!(meter.read().vu[0], f32::NEG_INFINITY);
        let max_vu = meter.read().max_vu[0];
        let expected = 20.0 * ((1.0 + overshoot) * steady).log10() as f32;
        assert!(
            (max_vu - expected).abs() < 0.01,
            "{rate}: max {max_vu} VU, overshoot {overshoot}"
        );
    }
}

#[test]
fn readings_do_not_depend_on_block_splits() {
    let key = |r: &VuReading| {
        r.vu.iter()
            .chain(&r.max_vu)
            .map(|&x| db_key(x))
            .collect::<Vec<_>>()
    };
    for rate in RATES {
        for channels in [1, 2, 6] {
            let signal = concat(&[
                white_noise(30_000, 0.5, 1),
                sine(rate, 1000.0, -18.0, 0.3, 0.0),
                silence(rate, 0.2),
                white_noise(5_000, 0.01, 3),
            ]);
            let signal = multichannel(&signal, channels);
            assert_split_independent(|| prepared(-18.0, rate, channels), &signal, key, 0.0);
        }
    }
}

#[test]
fn silence_huge_input_and_no_allocation() {
    for channels in [1, 2, 6] {
        let mut meter = prepared(-18.0, 44_100.0, channels);
        run_blocks(
            &mut meter,
            &multichannel(&silence(44_100.0, 0.5), channels),
            512,
        );
        assert!(meter.read().vu[..channels]
            .iter()
            .all(|&v| v == f32::NEG_INFINITY));
        let huge = multichannel(&white_noise(50_000, 1e30, 4), channels);
        assert_process_does_not_allocate(&mut meter, &huge);
        let r = meter.read();
        assert!(r.vu[..channels]
            .iter()
            .chain(&r.max_vu[..channels])
            .all(|v| v.is_finite() && *v > 500.0));
        // A minute of silence later the pointer is at rest again.
        run_blocks(
            &mut meter,
            &multichannel(&silence(44_100.0, 60.0), channels),
            4096,
        );
        assert!((0..channels).all(|ch| meter.deflection(ch) == 0.0));
        assert_finite_at_f32_max(&mut meter, channels, |r: &VuReading| {
            r.vu.iter().chain(&r.max_vu).map(|&x| db_key(x)).collect()
        });
    }
}

#[test]
fn works_from_8_to_384_khz() {
    for rate in [8_000.0, 192_000.0, 384_000.0] {
        let mut meter = prepared(-18.0, rate, 2);
        // 997 Hz: at 8 kHz a 1 kHz tone would be sampled at the same 8 phases forever, and the
        // average of |x| over those depends on the phase by up to 0.5 dB.
        let tone = sine(rate, 997.0, -18.0, 2.0, 0.0);
        run_blocks(&mut meter, &[tone.clone(), tone], 4096);
        let vu = meter.read().vu[1];
        assert!(vu.abs() < 0.05, "{rate}: {vu}");
    }
}
