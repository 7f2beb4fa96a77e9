//! Level unit conversions shared by the meters, the editor and the command-line tool.

/// Converts a linear amplitude to dB. Zero (and anything non-positive) maps to minus infinity.
#[inline]
pub fn amplitude_to_db(amplitude: f32) -> f32 {
    if amplitude > 0.0 {
        20.0 * amplitude.log10()
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

/// Converts dB to a linear amplitude. Minus infinity maps to zero.
#[inline]
pub fn db_to_amplitude(db: f32) -> f32 {
    10.0f32.powf(db / 20.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_silence() {
        assert_eq!(amplitude_to_db(0.0), f32::NEG_INFINITY);
        assert_eq!(power_to_db(0.0), f32::NEG_INFINITY);
        assert_eq!(db_to_amplitude(f32::NEG_INFINITY), 0.0);
        assert!((amplitude_to_db(0.5) - -6.0206).abs() < 1e-3);
        assert!((power_to_db(0.5) - -3.0103).abs() < 1e-3);
        for db in [-120.0f32, -18.0, 0.0, 36.0] {
            assert!((amplitude_to_db(db_to_amplitude(db)) - db).abs() < 1e-4);
        }
    }
}
