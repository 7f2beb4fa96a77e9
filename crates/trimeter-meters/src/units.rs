//! Level unit conversions shared by the meters, the gain stage, the editor and the command-line
//! tool: the one place where dB meets linear amplitude or power.
//!
//! Every function maps silence (zero amplitude or power) to minus infinity and back. The `f64`
//! variants exist where a value can leave `f32` range (an f64 envelope of 1e30 input) or where a
//! coefficient is derived once in f64 precision.

/// Converts a linear amplitude to dB. Zero (and anything non-positive) maps to minus infinity.
#[inline]
pub fn amplitude_to_db(amplitude: f32) -> f32 {
    if amplitude > 0.0 {
        20.0 * amplitude.log10()
    } else {
        f32::NEG_INFINITY
    }
}

/// Converts an f64 amplitude to dB as f32, so that amplitudes beyond f32 range still give a
/// finite reading. Zero (and anything non-positive) maps to minus infinity.
#[inline]
pub fn amplitude_to_db_f64(amplitude: f64) -> f32 {
    if amplitude > 0.0 {
        (20.0 * amplitude.log10()) as f32
    } else {
        f32::NEG_INFINITY
    }
}

/// Converts a mean-square power (linear, full scale = 1.0) to dB. Zero maps to minus infinity.
#[inline]
pub fn power_to_db(power: f64) -> f32 {
    if power > 0.0 {
        (10.0 * power.log10()) as f32
    } else {
        f32::NEG_INFINITY
    }
}

/// Converts dB to a linear amplitude (gain factor). Minus infinity maps to zero.
#[inline]
pub fn db_to_amplitude(db: f32) -> f32 {
    10.0f32.powf(db / 20.0)
}

/// Converts dB to a linear amplitude in f64. Minus infinity maps to zero.
#[inline]
pub fn db_to_amplitude_f64(db: f64) -> f64 {
    10f64.powf(db / 20.0)
}

/// Converts dB to a linear power (mean square). Minus infinity maps to zero.
#[inline]
pub fn db_to_power(db: f64) -> f64 {
    10f64.powf(db / 10.0)
}

/// The power mean of per-channel dB levels, in dB: the level of all channels' samples together
/// (the summed power divided by the channel count), so anti-phase channels do not cancel. Silent
/// channels count as zero power; no channels give minus infinity.
pub fn power_mean_db(levels_db: &[f32]) -> f32 {
    if levels_db.is_empty() {
        return f32::NEG_INFINITY;
    }
    let sum: f64 = levels_db
        .iter()
        .filter(|db| db.is_finite())
        .map(|&db| db_to_power(f64::from(db)))
        .sum();
    power_to_db(sum / levels_db.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_silence() {
        assert_eq!(amplitude_to_db(0.0), f32::NEG_INFINITY);
        assert_eq!(amplitude_to_db_f64(0.0), f32::NEG_INFINITY);
        assert_eq!(power_to_db(0.0), f32::NEG_INFINITY);
        assert_eq!(db_to_amplitude(f32::NEG_INFINITY), 0.0);
        assert_eq!(db_to_amplitude_f64(f64::NEG_INFINITY), 0.0);
        assert_eq!(db_to_power(f64::NEG_INFINITY), 0.0);
        assert!((amplitude_to_db(0.5) - -6.0206).abs() < 1e-3);
        assert!((power_to_db(0.5) - -3.0103).abs() < 1e-3);
        for db in [-120.0f32, -18.0, 0.0, 36.0] {
            assert!((amplitude_to_db(db_to_amplitude(db)) - db).abs() < 1e-4);
            let db64 = f64::from(db);
            assert!((amplitude_to_db_f64(db_to_amplitude_f64(db64)) - db).abs() < 1e-4);
            assert!((power_to_db(db_to_power(db64)) - db).abs() < 1e-4);
        }
        // Beyond f32 range, the f64 amplitude still reads finite.
        assert!((amplitude_to_db_f64(1e300) - 6000.0).abs() < 1e-2);
    }

    #[test]
    fn power_mean_of_channels() {
        // Two channels at -6 dB: the mean is -6 dB; one silent: 3.01 dB less.
        assert!((power_mean_db(&[-6.0, -6.0]) - -6.0).abs() < 1e-4);
        assert!((power_mean_db(&[-6.0, f32::NEG_INFINITY]) - (-6.0 - 3.0103)).abs() < 1e-3);
        assert_eq!(power_mean_db(&[]), f32::NEG_INFINITY);
        assert_eq!(
            power_mean_db(&[f32::NEG_INFINITY, f32::NEG_INFINITY]),
            f32::NEG_INFINITY
        );
    }
}
