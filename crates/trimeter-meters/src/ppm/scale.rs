//! The four PPM scales: how a level in dBFS maps to the numbers printed on each.
//!
//! Every scale is tied to the digital level through EBU R68: the alignment level, 0 dBu in the
//! analogue studio, is -18 dBFS. The permitted maximum level (PML) sits 9 dB above alignment
//! (EBU R68 / ITU-R BS.645), at -9 dBFS.
//!
//! - DIN 45406: 0 dB on the DIN scale marks the permitted maximum level, so 0 dB = -9 dBFS, the
//!   mapping German broadcasters use (ARD: 0 dBFS = +15 dBu, DIN 0 dB = +6 dBu). NOTE: under a
//!   strict 0 dBu = -18 dBFS mapping the analogue +6 dBu would be -12 dBFS; we follow the digital
//!   broadcast practice, in which the DIN 0 dB and the EBU/Nordic PML coincide.
//! - Nordic N9: 0 dB ("TEST") = alignment = -18 dBFS; +9 dB = PML.
//! - BBC (IEC 60268-10 Type IIa): marks 1 to 7, 4 dB apart except 6 dB between marks 1 and 2;
//!   mark 4 = alignment = -18 dBFS; mark 6 = PML of the BBC (+8 dBu) = -10 dBFS; mark 1 = -14 dBu
//!   = -32 dBFS.
//! - EBU (IEC 60268-10 Type IIb): 0 dB ("TEST") = alignment = -18 dBFS; +9 dB = PML.

use super::{PpmScale, PpmType};

/// EBU R68: alignment level (0 dBu) in dBFS.
pub const ALIGNMENT_DBFS: f32 = -18.0;

/// EBU R68 / ITU-R BS.645: permitted maximum level, 9 dB above alignment, in dBFS.
pub const PERMITTED_MAXIMUM_DBFS: f32 = -9.0;

/// dB per BBC mark from mark 2 up.
const BBC_DB_PER_MARK: f32 = 4.0;

/// dB between BBC marks 1 and 2 (and per mark below mark 2).
const BBC_DB_BELOW_MARK_2: f32 = 6.0;

/// BBC mark 2 in dBFS: two marks below alignment.
const BBC_MARK_2_DBFS: f32 = ALIGNMENT_DBFS - 2.0 * BBC_DB_PER_MARK;

const DIN_MARKS: [(f32, &str); 9] = [
    (-59.0, "-50"),
    (-49.0, "-40"),
    (-39.0, "-30"),
    (-29.0, "-20"),
    (-19.0, "-10"),
    (-14.0, "-5"),
    (-12.0, "-3"),
    (-9.0, "0"),
    (-4.0, "+5"),
];

const NORDIC_MARKS: [(f32, &str); 9] = [
    (-54.0, "-36"),
    (-48.0, "-30"),
    (-42.0, "-24"),
    (-36.0, "-18"),
    (-30.0, "-12"),
    (-24.0, "-6"),
    (-18.0, "TEST"),
    (-12.0, "+6"),
    (-9.0, "+9"),
];

const BBC_MARKS: [(f32, &str); 7] = [
    (-32.0, "1"),
    (-26.0, "2"),
    (-22.0, "3"),
    (-18.0, "4"),
    (-14.0, "5"),
    (-10.0, "6"),
    (-6.0, "7"),
];

const EBU_MARKS: [(f32, &str); 7] = [
    (-30.0, "-12"),
    (-26.0, "-8"),
    (-22.0, "-4"),
    (-18.0, "TEST"),
    (-14.0, "+4"),
    (-10.0, "+8"),
    (-6.0, "+12"),
];

impl PpmScale {
    /// Every scale, in display order.
    pub const ALL: [PpmScale; 4] = [
        PpmScale::Din,
        PpmScale::Nordic,
        PpmScale::Bbc,
        PpmScale::Ebu,
    ];

    /// The ballistics this scale is read with (IEC 60268-10).
    pub fn ppm_type(self) -> PpmType {
        match self {
            Self::Din | Self::Nordic => PpmType::TypeI,
            Self::Bbc | Self::Ebu => PpmType::TypeII,
        }
    }

    /// Converts a level in dBFS to this scale's units: DIN dB, Nordic dB, BBC marks (1..7, may
    /// run outside), EBU dB. Minus infinity stays minus infinity.
    pub fn from_dbfs(self, dbfs: f32) -> f32 {
        match self {
            Self::Din => dbfs - PERMITTED_MAXIMUM_DBFS,
            Self::Nordic | Self::Ebu => dbfs - ALIGNMENT_DBFS,
            Self::Bbc if dbfs >= BBC_MARK_2_DBFS => 4.0 + (dbfs - ALIGNMENT_DBFS) / BBC_DB_PER_MARK,
            Self::Bbc => 2.0 + (dbfs - BBC_MARK_2_DBFS) / BBC_DB_BELOW_MARK_2,
        }
    }

    /// Converts a value in this scale's units back to dBFS.
    pub fn to_dbfs(self, value: f32) -> f32 {
        match self {
            Self::Din => value + PERMITTED_MAXIMUM_DBFS,
            Self::Nordic | Self::Ebu => value + ALIGNMENT_DBFS,
            Self::Bbc if value >= 2.0 => (value - 4.0) * BBC_DB_PER_MARK + ALIGNMENT_DBFS,
            Self::Bbc => (value - 2.0) * BBC_DB_BELOW_MARK_2 + BBC_MARK_2_DBFS,
        }
    }

    /// The printed marks: (level in dBFS, label), from the bottom of the scale up.
    pub fn marks(self) -> &'static [(f32, &'static str)] {
        match self {
            Self::Din => &DIN_MARKS,
            Self::Nordic => &NORDIC_MARKS,
            Self::Bbc => &BBC_MARKS,
            Self::Ebu => &EBU_MARKS,
        }
    }

    /// Display name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Din => "DIN",
            Self::Nordic => "Nordic",
            Self::Bbc => "BBC",
            Self::Ebu => "EBU",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_agree_with_the_conversion_and_the_alignment() {
        for scale in PpmScale::ALL {
            for &(dbfs, label) in scale.marks() {
                let value = scale.from_dbfs(dbfs);
                if let Ok(number) = label.trim_start_matches('+').parse::<f32>() {
                    assert!(
                        (value - number).abs() < 1e-4,
                        "{} {label}: {value}",
                        scale.name()
                    );
                }
                assert!((scale.to_dbfs(value) - dbfs).abs() < 1e-4);
            }
            assert!(scale.marks().windows(2).all(|w| w[0].0 < w[1].0));
        }
        assert_eq!(PpmScale::Bbc.from_dbfs(-18.0), 4.0);
        assert_eq!(PpmScale::Bbc.from_dbfs(-10.0), 6.0);
        // 6 dB between marks 1 and 2, 4 dB between the others (IEC 60268-10 Type IIa).
        assert_eq!(PpmScale::Bbc.from_dbfs(-26.0), 2.0);
        assert_eq!(PpmScale::Bbc.from_dbfs(-32.0), 1.0);
        assert_eq!(PpmScale::Bbc.from_dbfs(-29.0), 1.5);
        assert_eq!(PpmScale::Bbc.to_dbfs(1.5), -29.0);
        assert_eq!(PpmScale::Ebu.from_dbfs(-18.0), 0.0);
        assert_eq!(PpmScale::Nordic.from_dbfs(-18.0), 0.0);
        assert_eq!(PpmScale::Din.from_dbfs(-9.0), 0.0);
        assert_eq!(
            PpmScale::Din.from_dbfs(f32::NEG_INFINITY),
            f32::NEG_INFINITY
        );
        assert_eq!(PpmScale::default(), PpmScale::Bbc);
        assert_eq!(PpmScale::Bbc.ppm_type(), PpmType::TypeII);
        assert_eq!(PpmScale::Nordic.ppm_type(), PpmType::TypeI);
    }

    #[cfg(feature = "serde")]
    #[test]
    fn scales_persist_by_name() {
        let json = serde_json::to_string(&PpmScale::Nordic).unwrap();
        assert_eq!(json, "\"Nordic\"");
        assert_eq!(
            serde_json::from_str::<PpmScale>(&json).unwrap(),
            PpmScale::Nordic
        );
    }
}
