//! The suggested trim with its reason: which of the two limits binds.

use super::StagingTarget;

/// Which limit decides the suggested trim.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    /// The gain that brings the average to the target fits under the ceiling.
    Average,
    /// The peaks would pass the ceiling first: the gain stops where they reach it.
    Ceiling,
}

impl Limit {
    /// `"average"` or `"ceiling"`, as the command-line tool's JSON writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Average => "average",
            Self::Ceiling => "ceiling",
        }
    }
}

/// A suggested trim and why it is what it is.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Suggestion {
    /// The trim in dB: `min(to_target_db, headroom_db)`.
    pub trim_db: f32,
    /// Which term is the smaller one.
    pub limit: Limit,
    /// `target - average`: the gain that puts the average on the target, dB.
    pub to_target_db: f32,
    /// `ceiling - peak`: the gain that puts the peak on the ceiling, dB (plus infinity for a
    /// silent peak).
    pub headroom_db: f32,
}

impl Suggestion {
    /// One line for people: "average 4.2 dB below target" or "peaks limit the gain to +2.1 dB".
    pub fn reason(&self) -> String {
        match self.limit {
            Limit::Average if self.to_target_db.abs() < 0.05 => "average on target".to_string(),
            Limit::Average if self.to_target_db > 0.0 => {
                format!("average {:.1} dB below target", self.to_target_db)
            }
            Limit::Average => format!("average {:.1} dB above target", -self.to_target_db),
            Limit::Ceiling => format!("peaks limit the gain to {:+.1} dB", self.headroom_db),
        }
    }
}

impl StagingTarget {
    /// The suggested trim for a signal whose average is `average_db` and peak `peak_db` (as this
    /// target's measures say), with the limit that binds. `None` exactly when
    /// [`suggested_trim_db`](Self::suggested_trim_db) is `None`. A tie counts as the average.
    pub fn suggest(&self, average_db: f32, peak_db: f32) -> Option<Suggestion> {
        let trim_db = self.suggested_trim_db(average_db, peak_db)?;
        let to_target_db = self.target_db - average_db;
        let headroom_db = self.ceiling_db - peak_db;
        let headroom_db = if headroom_db.is_nan() {
            f32::INFINITY
        } else {
            headroom_db
        };
        let limit = if to_target_db <= headroom_db {
            Limit::Average
        } else {
            Limit::Ceiling
        };
        Some(Suggestion {
            trim_db,
            limit,
            to_target_db,
            headroom_db,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_binding_limit_and_its_reason() {
        let target = StagingTarget::default(); // -18 RMS, -6 sample peak
        let quiet = target.suggest(-22.2, -15.0).unwrap();
        assert_eq!(quiet.limit, Limit::Average);
        assert!((quiet.trim_db - 4.2).abs() < 1e-5);
        assert_eq!(quiet.reason(), "average 4.2 dB below target");

        let peaky = target.suggest(-30.0, -8.1).unwrap();
        assert_eq!(peaky.limit, Limit::Ceiling);
        assert!((peaky.trim_db - 2.1).abs() < 1e-5);
        assert_eq!(peaky.reason(), "peaks limit the gain to +2.1 dB");

        let loud = target.suggest(-10.0, -3.0).unwrap();
        assert_eq!(loud.limit, Limit::Average);
        assert_eq!(loud.reason(), "average 8.0 dB above target");
        assert_eq!(
            target.suggest(-18.0, -10.0).unwrap().reason(),
            "average on target"
        );

        // A silent peak never binds; silence gives no suggestion.
        let no_peak = target.suggest(-20.0, f32::NEG_INFINITY).unwrap();
        assert_eq!((no_peak.limit, no_peak.trim_db), (Limit::Average, 2.0));
        assert_eq!(target.suggest(f32::NEG_INFINITY, f32::NEG_INFINITY), None);
        assert_eq!(Limit::Ceiling.as_str(), "ceiling");
    }

    #[test]
    fn suggest_agrees_with_the_plain_trim() {
        let target = StagingTarget::default();
        for average in [-60.0f32, -30.0, -18.0, -3.0] {
            for peak in [-50.0f32, -20.0, -6.0, 0.0, f32::NEG_INFINITY] {
                let s = target.suggest(average, peak).unwrap();
                assert_eq!(Some(s.trim_db), target.suggested_trim_db(average, peak));
                let binding = match s.limit {
                    Limit::Average => s.to_target_db,
                    Limit::Ceiling => s.headroom_db,
                };
                assert_eq!(binding, s.trim_db);
            }
        }
    }
}
