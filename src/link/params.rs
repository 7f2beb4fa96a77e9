//! The link's parameters: role, group, match mode and measure, Compare, and the instance's
//! editable label. Nested into [`TrimeterParams`](crate::params::TrimeterParams) without an id
//! prefix, so the ids below are the ids hosts store (pinned with the others in
//! `crate::params::PARAM_IDS`).

use std::sync::{Arc, RwLock};

use nice_plug::prelude::*;
use trimeter_link::{Role, MAX_GROUP, RMS, SHORT_TERM, VU};

/// An instance's place in a chain.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkRole {
    /// Not linked.
    #[id = "off"]
    Off,
    /// The start of a chain: publishes its input (before the trim).
    #[id = "start"]
    Start,
    /// The end of a chain: compares its output with its Start's input.
    #[id = "end"]
    End,
}

impl LinkRole {
    /// The registry's role.
    pub fn registry_role(self) -> Role {
        match self {
            Self::Off => Role::Off,
            Self::Start => Role::Start,
            Self::End => Role::End,
        }
    }
}

/// How the End instance matches its output to its Start's input.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum MatchMode {
    /// Shows the difference only.
    #[id = "off"]
    Off,
    /// The Match button sets Output Makeup once.
    #[id = "one_shot"]
    #[name = "One-shot"]
    OneShot,
    /// A slow match gain after the makeup follows the difference.
    #[id = "continuous"]
    Continuous,
}

/// The level both ends are compared by.
#[derive(Enum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MatchMeasure {
    /// EBU R128 short-term loudness (3 s), LUFS.
    #[default]
    #[id = "short_term"]
    #[name = "Short-term loudness"]
    ShortTerm,
    /// AES17 RMS (600 ms window), dBFS.
    #[id = "rms"]
    #[name = "AES17 RMS"]
    Rms,
    /// VU (300 ms ballistics), as the dBFS of the sine that reads the same.
    #[id = "vu"]
    #[name = "VU"]
    Vu,
}

impl MatchMeasure {
    /// Every measure, in menu order.
    pub const ALL: [Self; 3] = [Self::ShortTerm, Self::Rms, Self::Vu];

    /// Index of this measure in the registry's level arrays.
    pub fn index(self) -> usize {
        match self {
            Self::ShortTerm => SHORT_TERM,
            Self::Rms => RMS,
            Self::Vu => VU,
        }
    }

    /// The unit levels of this measure are shown in.
    pub fn unit(self) -> &'static str {
        match self {
            Self::ShortTerm => "LUFS",
            Self::Rms | Self::Vu => "dBFS",
        }
    }
}

/// The link's parameters.
#[derive(Params)]
pub struct LinkParams {
    /// Off, Start or End.
    #[id = "link_role"]
    pub role: EnumParam<LinkRole>,
    /// The group a Start and an End share, 1..=64.
    #[id = "link_group"]
    pub group: IntParam,
    /// Off, One-shot or Continuous.
    #[id = "match_mode"]
    pub mode: EnumParam<MatchMode>,
    /// Short-term loudness, AES17 RMS or VU.
    #[id = "match_measure"]
    pub measure: EnumParam<MatchMeasure>,
    /// End instance: output the Start's (dry) input at the matched level instead of the chain.
    #[id = "compare"]
    pub compare: BoolParam,
    /// The name other instances' overviews show, set by the user (empty: the host's track name
    /// if the host reports one, else the slot number). Saved with the session.
    #[persist = "link_label"]
    pub label: Arc<RwLock<String>>,
    /// The host's track name, when the host reported one (not saved: the host reports it again).
    pub host_track_name: RwLock<String>,
}

impl Default for LinkParams {
    fn default() -> Self {
        Self {
            role: EnumParam::new("Link Role", LinkRole::Off),
            group: IntParam::new(
                "Link Group",
                1,
                IntRange::Linear {
                    min: 1,
                    max: i32::from(MAX_GROUP),
                },
            ),
            mode: EnumParam::new("Match Mode", MatchMode::Off),
            measure: EnumParam::new("Match Measure", MatchMeasure::ShortTerm),
            compare: BoolParam::new("Compare", false),
            label: Arc::new(RwLock::new(String::new())),
            host_track_name: RwLock::new(String::new()),
        }
    }
}

impl LinkParams {
    /// The group as the registry takes it (1..=64). Lock-free.
    pub fn group_u8(&self) -> u8 {
        self.group.value().clamp(1, i32::from(MAX_GROUP)) as u8
    }

    /// The user's label (empty when none was set). Takes a read lock: not for `process()`.
    pub fn user_label(&self) -> String {
        self.label.read().map(|l| l.clone()).unwrap_or_default()
    }

    /// The name other instances' overviews show: the host's track name where the host reported
    /// one, else the user's label (empty: none). Takes read locks: not for `process()`.
    pub fn display_label(&self) -> String {
        let host = self
            .host_track_name
            .read()
            .map(|l| l.clone())
            .unwrap_or_default();
        if host.is_empty() {
            self.user_label()
        } else {
            host
        }
    }

    /// Records the host's track name. Takes a write lock: not for `process()`.
    pub fn set_host_track_name(&self, name: &str) {
        if let Ok(mut host) = self.host_track_name.write() {
            *host = name.trim().to_string();
        }
    }

    /// Sets the user's label. Takes a write lock: not for `process()`.
    pub fn set_user_label(&self, text: &str) {
        if let Ok(mut label) = self.label.write() {
            *label = text.to_string();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::TrimeterParams;

    #[test]
    fn the_label_is_saved_with_the_session() {
        let params = TrimeterParams::default();
        params.link.set_user_label("Lead vocal");
        let saved = params.serialize_fields();
        let loaded = TrimeterParams::default();
        loaded.deserialize_fields(&saved);
        assert_eq!(loaded.link.user_label(), "Lead vocal");
        assert_eq!(loaded.link.display_label(), "Lead vocal");
        loaded.link.set_host_track_name(" Vox 1 ");
        assert_eq!(
            loaded.link.display_label(),
            "Vox 1",
            "the host's track name wins"
        );
        assert_eq!(LinkParams::default().group_u8(), 1);
    }
}
