//! The meters' faces as data: for each mode, the range, the law that maps a reading to a
//! position, the printed marks and the colour zones, from a table per standard. Also the number
//! formatting every view uses. Pure functions, shared by the widgets and the tests.

use trimeter_meters::engine::MeterSnapshot;
use trimeter_meters::loudness::EBU_R128_TARGET_LUFS;
use trimeter_meters::ppm::PpmScale;
use trimeter_meters::rms::{KSystem, AES17_OFFSET_DB};
use trimeter_meters::staging::StagingTarget;
use trimeter_meters::units::db_to_amplitude;

use crate::settings::{EditorSettings, MeterMode};

/// How a reading maps to a position on the scale.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Law {
    /// Linear in dB from `bottom` (0.0) to `top` (1.0).
    LinearDb,
    /// Linear in rectified voltage, as a VU meter's movement deflects: position =
    /// amplitude / amplitude(`top`), so the pointer rests at 0 for silence and -20 VU sits at 7 %
    /// of the travel (IEC 60268-17: the VU scale with its percentage scale, 100 % = 0 VU).
    Voltage,
}

/// One printed mark: a value in the scale's units and its label ("" for an unlabelled tick).
pub type Mark = (f32, &'static str);

/// A meter face.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BarScale {
    /// The scale's name as printed under the bars, e.g. "VU", "PPM BBC", "K-20".
    pub name: &'static str,
    /// The unit the readings and marks are in ("VU", "dBFS", "K", "LUFS", "LU", or "" for BBC
    /// marks).
    pub unit: &'static str,
    /// The value at the bottom (or rest) of the scale.
    pub bottom: f32,
    /// The value at the top (end of travel).
    pub top: f32,
    /// How values map to positions.
    pub law: Law,
    /// The printed marks, in the scale's units, bottom up.
    pub marks: &'static [Mark],
    /// From this value up the bar is drawn in the caution colour.
    pub caution_from: f32,
    /// From this value up the bar is drawn in the over colour (the red zone).
    pub over_from: f32,
}

impl BarScale {
    /// Where `value` (in this scale's units) sits, 0.0 (bottom) to 1.0 (top), clamped. Minus
    /// infinity and NaN sit at the bottom.
    pub fn position(&self, value: f32) -> f32 {
        if value.is_nan() {
            return 0.0;
        }
        let p = match self.law {
            Law::LinearDb => {
                if value <= self.bottom {
                    return 0.0;
                }
                (value - self.bottom) / (self.top - self.bottom)
            }
            Law::Voltage => db_to_amplitude(value) / db_to_amplitude(self.top),
        };
        p.clamp(0.0, 1.0)
    }
}

/// IEC 60268-17 VU scale (the standard's scale drawing, the one the classic ANSI C16.5 face
/// follows): -20, -10, -7, -5, -3, -2, -1, 0, +1, +2, +3 VU, on a voltage-linear arc; the part
/// above 0 VU is the red zone.
pub const VU_MARKS: [Mark; 14] = [
    (-20.0, "-20"),
    (-10.0, "-10"),
    (-7.0, "-7"),
    (-6.0, ""),
    (-5.0, "-5"),
    (-4.0, ""),
    (-3.0, "-3"),
    (-2.0, "-2"),
    (-1.0, "-1"),
    (0.0, "0"),
    (0.5, ""),
    (1.0, "+1"),
    (2.0, "+2"),
    (3.0, "+3"),
];

/// The percentage scale printed under the VU scale (IEC 60268-17: 100 % = 0 VU), as (VU, label).
pub const VU_PERCENT_MARKS: [Mark; 6] = [
    (-20.0, "10"), // 10 % of the reference voltage
    (-13.979_4, "20"),
    (-7.958_8, "40"),
    (-4.436_98, "60"),
    (-1.938_2, "80"),
    (0.0, "100"),
];

const VU_SCALE: BarScale = BarScale {
    name: "VU",
    unit: "VU",
    bottom: -20.0,
    top: 3.0,
    law: Law::Voltage,
    marks: &VU_MARKS,
    caution_from: -3.0,
    over_from: 0.0,
};

/// Digital full-scale marks for sample peak and RMS (AES17) bars, dBFS.
pub const DBFS_MARKS: [Mark; 11] = [
    (-60.0, "-60"),
    (-50.0, "-50"),
    (-40.0, "-40"),
    (-30.0, "-30"),
    (-24.0, "-24"),
    (-18.0, "-18"),
    (-12.0, "-12"),
    (-9.0, "-9"),
    (-6.0, "-6"),
    (-3.0, "-3"),
    (0.0, "0"),
];

const SAMPLE_PEAK_SCALE: BarScale = BarScale {
    name: "Sample peak",
    unit: "dBFS",
    bottom: -60.0,
    top: 0.0,
    law: Law::LinearDb,
    marks: &DBFS_MARKS,
    caution_from: -6.0,
    over_from: -0.1,
};

const RMS_SCALE: BarScale = BarScale {
    name: "RMS AES17",
    unit: "dBFS",
    caution_from: -12.0,
    over_from: -6.0,
    ..SAMPLE_PEAK_SCALE
};

/// K-system scales (Katz, "An integrated approach to metering, monitoring and levelling
/// practices", JAES 48(9), 2000, the meter figures): 0 at the reference, the top at 0 dBFS
/// AES17 (+20, +14, +12), green below 0, amber from 0 to +4, red above +4.
pub const K20_MARKS: [Mark; 12] = [
    (-40.0, "-40"),
    (-30.0, "-30"),
    (-20.0, "-20"),
    (-15.0, "-15"),
    (-10.0, "-10"),
    (-5.0, "-5"),
    (0.0, "0"),
    (4.0, "+4"),
    (8.0, "+8"),
    (12.0, "+12"),
    (16.0, "+16"),
    (20.0, "+20"),
];

/// K-14 marks (see [`K20_MARKS`]).
pub const K14_MARKS: [Mark; 11] = [
    (-40.0, "-40"),
    (-30.0, "-30"),
    (-20.0, "-20"),
    (-15.0, "-15"),
    (-10.0, "-10"),
    (-5.0, "-5"),
    (0.0, "0"),
    (4.0, "+4"),
    (8.0, "+8"),
    (12.0, "+12"),
    (14.0, "+14"),
];

/// K-12 marks (see [`K20_MARKS`]).
pub const K12_MARKS: [Mark; 10] = [
    (-40.0, "-40"),
    (-30.0, "-30"),
    (-20.0, "-20"),
    (-15.0, "-15"),
    (-10.0, "-10"),
    (-5.0, "-5"),
    (0.0, "0"),
    (4.0, "+4"),
    (8.0, "+8"),
    (12.0, "+12"),
];

/// EBU Tech 3341 "EBU Mode", the "+18" scale: -36..+18 LU around the target, in LUFS with
/// the R 128 target -23 LUFS.
pub const LUFS_MARKS: [Mark; 10] = [
    (-59.0, "-59"),
    (-53.0, "-53"),
    (-47.0, "-47"),
    (-41.0, "-41"),
    (-35.0, "-35"),
    (-29.0, "-29"),
    (-23.0, "-23"),
    (-17.0, "-17"),
    (-11.0, "-11"),
    (-5.0, "-5"),
];

/// The same scale in LU relative to the target (EBU Tech 3341, relative scale).
pub const LU_MARKS: [Mark; 10] = [
    (-36.0, "-36"),
    (-30.0, "-30"),
    (-24.0, "-24"),
    (-18.0, "-18"),
    (-12.0, "-12"),
    (-6.0, "-6"),
    (0.0, "0"),
    (6.0, "+6"),
    (12.0, "+12"),
    (18.0, "+18"),
];

/// The face the bars draw for `settings`.
pub fn bar_scale(settings: &EditorSettings) -> BarScale {
    match settings.meter_mode {
        MeterMode::Vu => VU_SCALE,
        MeterMode::Ppm => ppm_scale(settings.ppm_scale),
        MeterMode::K => k_scale(settings.k_system),
        MeterMode::Rms => RMS_SCALE,
        MeterMode::SamplePeak => SAMPLE_PEAK_SCALE,
        MeterMode::Loudness => {
            if settings.loudness_relative {
                BarScale {
                    name: "Momentary",
                    unit: "LU",
                    bottom: -36.0,
                    top: 18.0,
                    law: Law::LinearDb,
                    marks: &LU_MARKS,
                    caution_from: 1.0,
                    over_from: 9.0,
                }
            } else {
                BarScale {
                    name: "Momentary",
                    unit: "LUFS",
                    bottom: -59.0,
                    top: -5.0,
                    law: Law::LinearDb,
                    marks: &LUFS_MARKS,
                    caution_from: EBU_R128_TARGET_LUFS + 1.0,
                    over_from: EBU_R128_TARGET_LUFS + 9.0,
                }
            }
        }
    }
}

/// PPM faces (IEC 60268-10 and the broadcasters' scales it lists; marks and their dBFS levels
/// from the meters crate, `ppm::scale`, under EBU R68 alignment, 0 dBu = -18 dBFS). Values are in
/// dBFS; the labels are the scale's own. DIN 45406 runs -50..+5 dB, Nordic N9 -36..+9 dB with
/// "TEST" at 0, BBC marks 1 to 7 (4 = alignment; 4 dB apart, 6 dB between marks 1 and 2), EBU
/// -12..+12 dB with "TEST" at 0. The red zone starts at the permitted maximum level (-9 dBFS;
/// BBC mark 6, -10 dBFS).
pub fn ppm_scale(scale: PpmScale) -> BarScale {
    let (name, bottom, top, over_from) = match scale {
        PpmScale::Din => ("PPM DIN", -59.0, -4.0, -9.0),
        PpmScale::Nordic => ("PPM Nordic", -54.0, -9.0, -9.0),
        // Rest (one 6 dB step below mark 1, as marks 1 and 2 are 6 dB apart) to mark 7.5.
        PpmScale::Bbc => ("PPM BBC", -38.0, -4.0, -10.0),
        PpmScale::Ebu => ("PPM EBU", -30.0, -6.0, -9.0),
    };
    BarScale {
        name,
        unit: if scale == PpmScale::Bbc { "" } else { "dB" },
        bottom,
        top,
        law: Law::LinearDb,
        marks: scale.marks(),
        caution_from: over_from - 6.0,
        over_from,
    }
}

/// The K-system face for `k`.
pub fn k_scale(k: KSystem) -> BarScale {
    let (name, top, marks): (_, _, &'static [Mark]) = match k {
        KSystem::K20 => ("K-20", 20.0, &K20_MARKS),
        KSystem::K14 => ("K-14", 14.0, &K14_MARKS),
        KSystem::K12 => ("K-12", 12.0, &K12_MARKS),
    };
    BarScale {
        name,
        unit: "K",
        bottom: -40.0,
        top,
        law: Law::LinearDb,
        marks,
        caution_from: 0.0,
        over_from: 4.0,
    }
}

/// Whether the bars show one bar per channel (false: one bar for all, for loudness).
pub fn per_channel(mode: MeterMode) -> bool {
    mode != MeterMode::Loudness
}

/// The reading of `channel` in the scale's units for the mode in `settings`.
pub fn reading(settings: &EditorSettings, snapshot: &MeterSnapshot, channel: usize) -> f32 {
    let ch = channel.min(snapshot.channels.saturating_sub(1));
    match settings.meter_mode {
        MeterMode::Vu => snapshot.vu.vu[ch],
        MeterMode::Ppm => snapshot.ppm.level_dbfs[ch],
        MeterMode::K => snapshot.k_reading(settings.k_system, ch),
        MeterMode::Rms => snapshot.rms.current_dbfs[ch] + AES17_OFFSET_DB,
        MeterMode::SamplePeak => snapshot.sample_peak.current_db[ch],
        MeterMode::Loudness => {
            let m = snapshot.loudness.momentary_lufs;
            if settings.loudness_relative {
                m - EBU_R128_TARGET_LUFS
            } else {
                m
            }
        }
    }
}

/// A level in dBFS (a sample peak, a sine peak, AES17 RMS) in the units of the mode's scale;
/// `None` where the scale has no dBFS equivalent (loudness).
pub fn dbfs_to_scale(settings: &EditorSettings, dbfs: f32) -> Option<f32> {
    match settings.meter_mode {
        // A sine whose peak (and AES17 RMS) is at the reference reads 0 VU.
        MeterMode::Vu => Some(dbfs - settings.vu_reference_dbfs),
        MeterMode::K => Some(dbfs - settings.k_system.reference_dbfs()),
        MeterMode::Ppm | MeterMode::Rms | MeterMode::SamplePeak => Some(dbfs),
        MeterMode::Loudness => None,
    }
}

/// Half the width of the shaded average-target band, dB: the usual "around -18 dBFS" of gain
/// staging is a band, not a line.
pub const TARGET_BAND_DB: f32 = 2.0;

/// The EBU R 128 tolerance around the loudness target for live programmes, LU.
pub const LOUDNESS_BAND_LU: f32 = 1.0;

/// The target zone on the mode's scale: the average-target band (low, high) and the peak
/// ceiling, in the scale's units. Loudness shows the R 128 target band and no ceiling.
pub fn target_zone(settings: &EditorSettings, target: &StagingTarget) -> ((f32, f32), Option<f32>) {
    match dbfs_to_scale(settings, target.target_db) {
        Some(center) => (
            (center - TARGET_BAND_DB, center + TARGET_BAND_DB),
            dbfs_to_scale(settings, target.ceiling_db),
        ),
        None => {
            let center = if settings.loudness_relative {
                0.0
            } else {
                EBU_R128_TARGET_LUFS
            };
            ((center - LOUDNESS_BAND_LU, center + LOUDNESS_BAND_LU), None)
        }
    }
}

/// A level for reading: one decimal, "+" on positive values, "-∞" for silence (minus infinity),
/// "—" for NaN, never "-0.0".
pub fn format_level(value: f32) -> String {
    format_signed(value, 1)
}

/// As [`format_level`] with `decimals` decimals.
pub fn format_signed(value: f32, decimals: usize) -> String {
    if value.is_nan() {
        return "—".to_string();
    }
    if value == f32::NEG_INFINITY {
        return "-∞".to_string();
    }
    if value == f32::INFINITY {
        return "+∞".to_string();
    }
    let scale = 10f32.powi(decimals as i32);
    let rounded = (value * scale).round() / scale;
    if rounded == 0.0 {
        // Also catches -0.0 and values that round to it.
        format!("{:.*}", decimals, 0.0)
    } else if rounded > 0.0 {
        format!("+{rounded:.decimals$}")
    } else {
        format!("{rounded:.decimals$}")
    }
}

/// A level that is never positive in practice, without the "+" (loudness in LUFS): "-23.0",
/// "-∞", "—".
pub fn format_unsigned_level(value: f32) -> String {
    let text = format_signed(value, 1);
    text.strip_prefix('+').map(str::to_string).unwrap_or(text)
}

/// A magnitude such as a loudness range or PLR, LU: one decimal, no sign, "—" when undefined
/// (NaN or infinite).
pub fn format_range(value: f32) -> String {
    if value.is_finite() {
        format!("{:.1}", value.max(0.0))
    } else {
        "—".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::EditorSettings;

    fn settings(mode: MeterMode) -> EditorSettings {
        EditorSettings {
            meter_mode: mode,
            ..EditorSettings::default()
        }
    }

    #[test]
    fn linear_scales_map_their_ends_and_clamp() {
        let s = bar_scale(&settings(MeterMode::SamplePeak));
        assert_eq!(s.position(-60.0), 0.0);
        assert_eq!(s.position(0.0), 1.0);
        assert_eq!(s.position(6.0), 1.0);
        assert_eq!(s.position(f32::NEG_INFINITY), 0.0);
        assert_eq!(s.position(f32::NAN), 0.0);
        assert!((s.position(-30.0) - 0.5).abs() < 1e-6);
    }

    #[test]
    fn the_vu_scale_is_linear_in_voltage() {
        let s = bar_scale(&settings(MeterMode::Vu));
        assert_eq!(s.position(3.0), 1.0);
        // 0 VU is 100 % of the reference voltage, +3 VU is 141 %: 0 VU at 70.8 % of travel.
        assert!((s.position(0.0) - 0.707_9).abs() < 1e-3);
        // -20 VU is 10 % of the reference voltage: 7.08 % of travel.
        assert!((s.position(-20.0) - 0.070_8).abs() < 1e-3);
        assert_eq!(s.position(f32::NEG_INFINITY), 0.0);
        // The percentage marks sit where their voltage says.
        for &(vu, label) in &VU_PERCENT_MARKS {
            let percent: f32 = label.parse().unwrap();
            assert!(
                (db_to_amplitude(vu) * 100.0 - percent).abs() < 0.01,
                "{label}"
            );
        }
        assert_eq!(s.over_from, 0.0);
    }

    #[test]
    fn every_scale_has_its_standards_marks_in_order_and_inside_its_range() {
        let mut all = Vec::new();
        for mode in MeterMode::ALL {
            all.push(bar_scale(&settings(mode)));
        }
        for ppm in PpmScale::ALL {
            all.push(ppm_scale(ppm));
        }
        for k in [KSystem::K20, KSystem::K14, KSystem::K12] {
            all.push(k_scale(k));
        }
        all.push(bar_scale(&EditorSettings {
            meter_mode: MeterMode::Loudness,
            loudness_relative: true,
            ..EditorSettings::default()
        }));
        for s in all {
            assert!(s.marks.windows(2).all(|w| w[0].0 < w[1].0), "{}", s.name);
            for &(value, _) in s.marks {
                assert!(value >= s.bottom && value <= s.top, "{} {value}", s.name);
            }
            assert!(s.caution_from < s.over_from, "{}", s.name);
        }
    }

    #[test]
    fn tick_labels_per_standard() {
        let labels = |s: BarScale| -> Vec<&str> {
            s.marks
                .iter()
                .map(|m| m.1)
                .filter(|l| !l.is_empty())
                .collect()
        };
        assert_eq!(
            labels(bar_scale(&settings(MeterMode::Vu))),
            ["-20", "-10", "-7", "-5", "-3", "-2", "-1", "0", "+1", "+2", "+3"]
        );
        assert_eq!(
            labels(ppm_scale(PpmScale::Bbc)),
            ["1", "2", "3", "4", "5", "6", "7"]
        );
        assert!(labels(ppm_scale(PpmScale::Nordic)).contains(&"TEST"));
        assert!(labels(ppm_scale(PpmScale::Ebu)).contains(&"TEST"));
        let din = labels(ppm_scale(PpmScale::Din));
        assert_eq!(din.first(), Some(&"-50"));
        assert_eq!(din.last(), Some(&"+5"));
        // BBC mark 4 is the alignment level, -18 dBFS.
        assert!(PpmScale::Bbc.marks().contains(&(-18.0, "4")));
        // K-system: 0 at the reference, the top at 0 dBFS AES17.
        assert_eq!(k_scale(KSystem::K20).top, 20.0);
        assert_eq!(k_scale(KSystem::K14).top, 14.0);
        assert_eq!(k_scale(KSystem::K12).top, 12.0);
        assert_eq!(labels(bar_scale(&settings(MeterMode::Loudness)))[6], "-23");
    }

    #[test]
    fn readings_come_from_the_right_meter() {
        let mut snap = MeterSnapshot {
            channels: 2,
            ..MeterSnapshot::default()
        };
        snap.vu.vu[1] = -3.0;
        snap.sample_peak.current_db[0] = -6.0;
        snap.rms.current_dbfs[0] = -21.0103;
        snap.k_rms.current_dbfs[0] = -23.0103;
        snap.ppm.level_dbfs[1] = -18.0;
        snap.loudness.momentary_lufs = -20.0;
        let k = EditorSettings {
            meter_mode: MeterMode::K,
            k_system: KSystem::K20,
            ..EditorSettings::default()
        };
        assert_eq!(reading(&settings(MeterMode::Vu), &snap, 1), -3.0);
        assert_eq!(reading(&settings(MeterMode::SamplePeak), &snap, 0), -6.0);
        assert!((reading(&settings(MeterMode::Rms), &snap, 0) - -18.0).abs() < 1e-3);
        assert!((reading(&k, &snap, 0) - 0.0).abs() < 1e-3);
        assert_eq!(reading(&settings(MeterMode::Ppm), &snap, 1), -18.0);
        assert_eq!(reading(&settings(MeterMode::Loudness), &snap, 0), -20.0);
        let relative = EditorSettings {
            meter_mode: MeterMode::Loudness,
            loudness_relative: true,
            ..EditorSettings::default()
        };
        assert_eq!(reading(&relative, &snap, 0), 3.0);
    }

    #[test]
    fn target_zones_follow_each_scales_calibration() {
        let target = StagingTarget::default();
        let ((lo, hi), ceiling) = target_zone(&settings(MeterMode::SamplePeak), &target);
        assert_eq!((lo, hi, ceiling), (-20.0, -16.0, Some(-6.0)));
        // -18 dBFS is 0 VU at the default reference; at -14 dBFS it is -4 VU.
        let ((lo, _), ceiling) = target_zone(&settings(MeterMode::Vu), &target);
        assert_eq!((lo, ceiling), (-2.0, Some(12.0)));
        let vu14 = EditorSettings {
            meter_mode: MeterMode::Vu,
            vu_reference_dbfs: -14.0,
            ..EditorSettings::default()
        };
        assert_eq!(target_zone(&vu14, &target).0, (-6.0, -2.0));
        let ((lo, hi), ceiling) = target_zone(&settings(MeterMode::Loudness), &target);
        assert_eq!((lo, hi, ceiling), (-24.0, -22.0, None));
    }

    #[test]
    fn number_formatting() {
        assert_eq!(format_level(f32::NEG_INFINITY), "-∞");
        assert_eq!(format_level(f32::NAN), "—");
        assert_eq!(format_level(-18.04), "-18.0");
        assert_eq!(format_level(-18.06), "-18.1");
        assert_eq!(format_level(-0.04), "0.0");
        assert_eq!(format_level(-0.0), "0.0");
        assert_eq!(format_level(2.96), "+3.0");
        assert_eq!(format_signed(5.432, 2), "+5.43");
        assert_eq!(format_unsigned_level(-23.0), "-23.0");
        assert_eq!(format_unsigned_level(1.0), "1.0");
        assert_eq!(format_range(7.26), "7.3");
        assert_eq!(format_range(f32::NEG_INFINITY), "—");
        for text in [format_level(f32::NEG_INFINITY), format_level(f32::NAN)] {
            assert!(!text.contains("inf") && !text.contains("NaN"));
        }
    }
}
