//! Pure mapping from levels to meter positions and labels, shared by the widgets and tests.

/// The bottom of the peak meters' scale, dBFS.
pub const PEAK_FLOOR_DB: f32 = -60.0;
/// The top of the peak meters' scale, dBFS (room above 0 to show how far a level clipped).
pub const PEAK_TOP_DB: f32 = 6.0;

/// Where `db` sits on a linear-in-dB scale from `floor_db` (0.0) to `top_db` (1.0), clamped.
/// Minus infinity and NaN sit at the floor.
pub fn db_to_fraction(db: f32, floor_db: f32, top_db: f32) -> f32 {
    // NaN fails every comparison, so test for the one case that is on the scale.
    if db.is_nan() || db <= floor_db {
        return 0.0;
    }
    ((db - floor_db) / (top_db - floor_db)).min(1.0)
}

/// A level as people read it: one decimal, "-inf" for silence.
pub fn format_db(db: f32) -> String {
    if db.is_finite() {
        format!("{db:.1}")
    } else {
        "-inf".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fractions_cover_the_scale_and_clamp() {
        assert_eq!(
            db_to_fraction(f32::NEG_INFINITY, PEAK_FLOOR_DB, PEAK_TOP_DB),
            0.0
        );
        assert_eq!(db_to_fraction(f32::NAN, PEAK_FLOOR_DB, PEAK_TOP_DB), 0.0);
        assert_eq!(db_to_fraction(-60.0, PEAK_FLOOR_DB, PEAK_TOP_DB), 0.0);
        assert_eq!(db_to_fraction(6.0, PEAK_FLOOR_DB, PEAK_TOP_DB), 1.0);
        assert_eq!(db_to_fraction(60.0, PEAK_FLOOR_DB, PEAK_TOP_DB), 1.0);
        assert!((db_to_fraction(-27.0, PEAK_FLOOR_DB, PEAK_TOP_DB) - 0.5).abs() < 1e-6);
        assert_eq!(format_db(-18.04), "-18.0");
        assert_eq!(format_db(f32::NEG_INFINITY), "-inf");
    }
}
