//! Named gain-staging targets: the numbers the gain-staging guides and the delivery
//! specifications give, in one table shared by the plugin's assistant and the command-line tool
//! (`trimeter analyze --preset NAME`), so both stage to the same figures.

use super::{AverageMeasure, PeakMeasure, StagingTarget};

/// A named target with the numbers it stands for.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Preset {
    /// The stable name the command line and saved state use (`--preset tracking`).
    pub id: &'static str,
    /// The name shown to people.
    pub name: &'static str,
    /// The average target and the peak ceiling.
    pub target: StagingTarget,
    /// Where the numbers come from, or what the preset is for.
    pub source: &'static str,
}

const fn target(
    target_db: f32,
    average: AverageMeasure,
    ceiling_db: f32,
    peak: PeakMeasure,
) -> StagingTarget {
    StagingTarget {
        target_db,
        average,
        ceiling_db,
        peak,
    }
}

/// Every preset, in the order a menu lists them.
pub const PRESETS: &[Preset] = &[
    Preset {
        id: "tracking",
        name: "Tracking / clip gain",
        target: target(-18.0, AverageMeasure::Rms, -6.0, PeakMeasure::Sample),
        source: "record and set clip gain around -18 dBFS average, peaks at most -6 dBFS",
    },
    Preset {
        id: "mix-bus",
        name: "Mix bus",
        target: target(-18.0, AverageMeasure::Rms, -6.0, PeakMeasure::Sample),
        source: "mix around -18 dBFS average, keeping 6 dB of headroom for the master",
    },
    Preset {
        id: "k20",
        name: "K-20",
        target: target(-20.0, AverageMeasure::Rms, -1.0, PeakMeasure::True),
        source: "Katz K-System: average at the K-20 zero (-20 dBFS RMS), ceiling -1 dBTP",
    },
    Preset {
        id: "k14",
        name: "K-14",
        target: target(-14.0, AverageMeasure::Rms, -1.0, PeakMeasure::True),
        source: "Katz K-System: average at the K-14 zero (-14 dBFS RMS), ceiling -1 dBTP",
    },
    Preset {
        id: "k12",
        name: "K-12",
        target: target(-12.0, AverageMeasure::Rms, -1.0, PeakMeasure::True),
        source: "Katz K-System: average at the K-12 zero (-12 dBFS RMS), ceiling -1 dBTP",
    },
    Preset {
        id: "streaming",
        name: "Master for streaming",
        target: target(-14.0, AverageMeasure::Lufs, -1.0, PeakMeasure::True),
        source: "streaming services' playback level: -14 LUFS integrated, -1 dBTP",
    },
    Preset {
        id: "r128",
        name: "EBU R 128 broadcast",
        target: target(-23.0, AverageMeasure::Lufs, -1.0, PeakMeasure::True),
        source: "EBU R 128: -23 LUFS integrated, maximum true peak -1 dBTP",
    },
    Preset {
        id: "a85",
        name: "ATSC A/85",
        target: target(-24.0, AverageMeasure::Lufs, -2.0, PeakMeasure::True),
        source: "ATSC A/85 (US television): -24 LKFS integrated, -2 dBTP",
    },
    Preset {
        id: "podcast",
        name: "Podcast",
        target: target(-16.0, AverageMeasure::Lufs, -1.0, PeakMeasure::True),
        source: "spoken-word platforms: -16 LUFS integrated, -1 dBTP",
    },
    Preset {
        id: "kick-bass",
        name: "Kick and bass (first)",
        target: target(-18.0, AverageMeasure::Rms, -12.0, PeakMeasure::Sample),
        source: "set kick and bass first, peaking around -12 dBFS, and build the mix around them",
    },
    Preset {
        id: "vocals",
        name: "Vocals",
        target: target(-18.0, AverageMeasure::Rms, -10.0, PeakMeasure::Sample),
        source: "lead vocal around -18 dBFS average, peaks around -10 dBFS",
    },
    Preset {
        id: "drum-bus",
        name: "Drum bus",
        target: target(-18.0, AverageMeasure::Rms, -6.0, PeakMeasure::Sample),
        source: "drum bus around -18 dBFS average; transients stop at -6 dBFS",
    },
];

/// The preset called `id` (as [`Preset::id`] spells it; case and `_`/`-` do not matter).
pub fn preset(id: &str) -> Option<&'static Preset> {
    let wanted = id.trim().to_ascii_lowercase().replace('_', "-");
    PRESETS.iter().find(|p| p.id == wanted)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The published figures, pinned: (id, target, average, ceiling, peak).
    #[test]
    fn presets_hold_the_published_numbers() {
        use AverageMeasure::{Lufs, Rms};
        use PeakMeasure::{Sample, True};
        let expected = [
            ("tracking", -18.0, Rms, -6.0, Sample),
            ("mix-bus", -18.0, Rms, -6.0, Sample),
            ("k20", -20.0, Rms, -1.0, True),
            ("k14", -14.0, Rms, -1.0, True),
            ("k12", -12.0, Rms, -1.0, True),
            ("streaming", -14.0, Lufs, -1.0, True),
            ("r128", -23.0, Lufs, -1.0, True),
            ("a85", -24.0, Lufs, -2.0, True),
            ("podcast", -16.0, Lufs, -1.0, True),
            ("kick-bass", -18.0, Rms, -12.0, Sample),
            ("vocals", -18.0, Rms, -10.0, Sample),
            ("drum-bus", -18.0, Rms, -6.0, Sample),
        ];
        assert_eq!(PRESETS.len(), expected.len());
        for (p, (id, target_db, average, ceiling_db, peak)) in PRESETS.iter().zip(expected) {
            assert_eq!(p.id, id);
            assert_eq!(
                p.target,
                StagingTarget {
                    target_db,
                    average,
                    ceiling_db,
                    peak
                },
                "{id}"
            );
            assert!(!p.name.is_empty() && !p.source.is_empty());
        }
    }

    #[test]
    fn presets_are_found_by_name() {
        assert_eq!(preset("R128").unwrap().target.target_db, -23.0);
        assert_eq!(preset("mix_bus").unwrap().id, "mix-bus");
        assert!(preset("loud").is_none());
        let mut ids: Vec<_> = PRESETS.iter().map(|p| p.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), PRESETS.len(), "ids are unique");
    }
}
