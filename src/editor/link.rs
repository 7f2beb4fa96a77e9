//! The Link page: role, group, match mode and measure, the link's health, the live difference,
//! the match gain, the chain's latency, Compare and the one-shot Match button.
//!
//! Like every view, a plain function of the model: the link parameters it changes are queued in
//! [`LinkModel::requests`] and the app hands each to the host as one begin/set/end gesture; the
//! Match button sets Output Makeup through [`GainControls`] directly.

use egui::{Color32, RichText, Ui};
use nice_plug::prelude::{Param, ParamSetter};

use super::controls::{GainControls, GainParam};
use super::model::EditorModel;
use super::model::Page;
use super::overview::OverviewModel;
use super::scale::format_signed;
use super::theme;
use crate::link::params::{LinkParams, LinkRole, MatchMeasure, MatchMode};
use crate::link::status::{CompareState, Health, LatencyState, LinkStatus, StatusView};
use trimeter_link::{Registry, MAX_GROUP};
use trimeter_meters::matching::MatchState;

/// The link parameters as they stand (read from the host's values each frame).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LinkValues {
    /// Link Role.
    pub role: LinkRole,
    /// Link Group, 1..=64.
    pub group: u8,
    /// Match Mode.
    pub mode: MatchMode,
    /// Match Measure.
    pub measure: MatchMeasure,
    /// Compare.
    pub compare: bool,
}

impl Default for LinkValues {
    fn default() -> Self {
        Self {
            role: LinkRole::Off,
            group: 1,
            mode: MatchMode::Off,
            measure: MatchMeasure::ShortTerm,
            compare: false,
        }
    }
}

/// A change of one link parameter the page asks the host for.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LinkRequest {
    /// Link Role.
    Role(LinkRole),
    /// Link Group.
    Group(u8),
    /// Match Mode.
    Mode(MatchMode),
    /// Match Measure.
    Measure(MatchMeasure),
    /// Compare.
    Compare(bool),
}

/// What the Link and Overview pages draw from and ask for.
#[derive(Clone, Debug, Default)]
pub struct LinkModel {
    /// The audio thread's link status.
    pub status: StatusView,
    /// The link parameters.
    pub values: LinkValues,
    /// Parameter changes for the app to hand to the host, in order.
    pub requests: Vec<LinkRequest>,
    /// The overview.
    pub overview: OverviewModel,
}

impl LinkModel {
    /// Queues a parameter change (and shows it at once).
    fn request(&mut self, request: LinkRequest) {
        match request {
            LinkRequest::Role(v) => self.values.role = v,
            LinkRequest::Group(v) => self.values.group = v,
            LinkRequest::Mode(v) => self.values.mode = v,
            LinkRequest::Measure(v) => self.values.measure = v,
            LinkRequest::Compare(v) => self.values.compare = v,
        }
        self.requests.push(request);
    }
}

/// Pulls the status, the parameters and (while the Overview shows) every registry slot into
/// `model`. GUI thread; reading the registry allocates the rows.
pub fn refresh(model: &mut LinkModel, status: &LinkStatus, params: &LinkParams, page: Page) {
    model.status = status.view();
    model.values = LinkValues {
        role: params.role.value(),
        group: params.group_u8(),
        mode: params.mode.value(),
        measure: params.measure.value(),
        compare: params.compare.value(),
    };
    model.overview.own_slot = model.status.own_slot;
    if page == Page::Overview {
        model.overview.rows = Registry::global().occupied();
    }
}

/// One begin/set/end gesture on `param`.
fn gesture<P: Param>(setter: &ParamSetter, param: &P, value: P::Plain) {
    setter.begin_set_parameter(param);
    setter.set_parameter(param, value);
    setter.end_set_parameter(param);
}

/// Hands the page's parameter changes to the host (one gesture each) and saves and publishes a
/// changed name. GUI thread.
pub fn commit(model: &mut LinkModel, params: &LinkParams, setter: &ParamSetter) {
    for request in model.requests.drain(..) {
        match request {
            LinkRequest::Role(v) => gesture(setter, &params.role, v),
            LinkRequest::Group(v) => gesture(setter, &params.group, i32::from(v)),
            LinkRequest::Mode(v) => gesture(setter, &params.mode, v),
            LinkRequest::Measure(v) => gesture(setter, &params.measure, v),
            LinkRequest::Compare(v) => gesture(setter, &params.compare, v),
        }
    }
    if std::mem::take(&mut model.overview.label_changed) {
        params.set_user_label(model.overview.label_edit.trim());
        publish_label(model, params);
    }
}

/// Publishes the name other overviews show ([`LinkParams::display_label`]). GUI thread.
pub fn publish_label(model: &LinkModel, params: &LinkParams) {
    let label = params.display_label();
    if let Some(slot) = model
        .status
        .own_slot
        .and_then(|s| Registry::global().get(s))
    {
        slot.set_label(&label);
    }
}

/// "chain is 3.2 dB louder", "quieter", or "matched" within 0.05 dB.
pub fn difference_text(difference_db: f32) -> String {
    if difference_db.abs() < 0.05 {
        "chain is matched".to_string()
    } else if difference_db > 0.0 {
        format!("chain is {difference_db:.1} dB louder")
    } else {
        format!("chain is {:.1} dB quieter", -difference_db)
    }
}

/// The health line, and whether it is good news.
pub fn health_text(status: &StatusView, values: &LinkValues) -> (String, bool) {
    let group = values.group;
    let partner = status
        .partner_slot
        .map_or(String::new(), |s| format!(" #{}", s + 1));
    match status.health {
        Health::Off => ("Link off: this instance is not linked".to_string(), true),
        Health::Unregistered => (
            "Not registered: the plugin is not active, or every link slot of this process is taken"
                .to_string(),
            false,
        ),
        Health::Publishing if status.start_count > 1 => (
            format!(
                "Start of group {group}: publishing; {} Starts in the group, End instances use this one (the oldest)",
                status.start_count
            ),
            false,
        ),
        Health::Publishing => (format!("Start of group {group}: publishing its input"), true),
        Health::StartNotUsed => (
            format!(
                "Several Starts in group {group} ({}): End instances use the oldest,{partner}, not this one",
                status.start_count
            ),
            false,
        ),
        Health::PartnerFound if status.start_count > 1 => (
            format!(
                "Several Starts in group {group} ({}): using the oldest,{partner}",
                status.start_count
            ),
            false,
        ),
        Health::PartnerFound => (format!("Partner found: Start{partner} in group {group}"), true),
        Health::NoStart => (
            format!(
                "No Start in group {group} in this process. Hosts that run each plugin in its own process, or sandbox plugins, cannot link"
            ),
            false,
        ),
        Health::PartnerStale => (
            format!("Start{partner} is stale: no block for more than 1 s"),
            false,
        ),
        Health::PartnerSilent => (
            format!("Start{partner} is silent (below -60 {})", values.measure.unit()),
            false,
        ),
        Health::SampleRatesDiffer => (
            format!(
                "Sample rates differ: Start{partner} runs at {:.0} Hz, this instance at {:.0} Hz",
                status.partner_sample_rate, status.sample_rate
            ),
            false,
        ),
    }
}

/// What the continuous match does, for the match gain line.
pub fn follower_text(state: Option<MatchState>) -> &'static str {
    match state {
        None => "",
        Some(MatchState::Following) => ", following",
        Some(MatchState::Matched) => ", matched: holding inside the deadband",
        Some(MatchState::Gated) => ", holding: a side is below -60",
        Some(MatchState::AtLimit) => ", held at the ±24 dB limit",
    }
}

/// The latency line.
pub fn latency_text(status: &StatusView) -> String {
    match status.latency {
        LatencyState::Unknown => "Latency: not measured".to_string(),
        LatencyState::Measuring => "Latency: measuring (a few seconds of signal)…".to_string(),
        LatencyState::Unreliable => {
            "Latency: no clear correlation yet (keep playing; more than 1 s cannot be measured)"
                .to_string()
        }
        LatencyState::Measured {
            frames,
            correlation,
        } => {
            let ms = if status.sample_rate > 0.0 {
                f64::from(frames) * 1000.0 / f64::from(status.sample_rate)
            } else {
                0.0
            };
            format!("Latency: {frames} samples ({ms:.1} ms), correlation {correlation:.2}")
        }
    }
}

/// The Compare line (empty while Compare is off).
pub fn compare_text(state: CompareState) -> &'static str {
    match state {
        CompareState::Off => "",
        CompareState::Dry => "Playing the dry signal (before the chain), time-aligned, at the matched level",
        CompareState::NoDry => "No dry signal from a Start: playing the chain",
        CompareState::NoLatency => "Waiting for the latency measurement: playing the chain",
        CompareState::DryLate => {
            "The Start's audio comes after this End's (another processing order or thread): playing the chain"
        }
    }
}

/// A row of selectable labels; the option clicked, if it is not `current`.
fn choice<T: Copy + PartialEq>(ui: &mut Ui, current: T, options: &[(T, &str)]) -> Option<T> {
    let mut chosen = None;
    ui.horizontal(|ui| {
        for &(option, name) in options {
            if ui.selectable_label(current == option, name).clicked() && current != option {
                chosen = Some(option);
            }
        }
    });
    chosen
}

/// Draws the Link page.
pub fn link_panel(ui: &mut Ui, model: &mut EditorModel, controls: &mut dyn GainControls) {
    let link = &mut model.link;
    let values = link.values;
    ui.heading(RichText::new("Level-match link").color(theme::ACCENT));
    ui.add_space(4.0);
    egui::Grid::new("link_settings")
        .num_columns(2)
        .spacing([12.0, 6.0])
        .show(ui, |ui| {
            ui.label("Role");
            let roles = [
                (LinkRole::Off, "Off"),
                (LinkRole::Start, "Start"),
                (LinkRole::End, "End"),
            ];
            if let Some(role) = choice(ui, values.role, &roles) {
                link.request(LinkRequest::Role(role));
            }
            ui.end_row();
            ui.label("Group");
            let mut group = values.group;
            ui.add(
                egui::DragValue::new(&mut group)
                    .range(1..=MAX_GROUP)
                    .speed(0.2),
            )
            .on_hover_text("A Start and an End of the same group are linked (1-64)");
            if group != values.group {
                link.request(LinkRequest::Group(group));
            }
            ui.end_row();
            ui.label("Match");
            let modes = [
                (MatchMode::Off, "Off"),
                (MatchMode::OneShot, "One-shot"),
                (MatchMode::Continuous, "Continuous"),
            ];
            if let Some(mode) = choice(ui, values.mode, &modes) {
                link.request(LinkRequest::Mode(mode));
            }
            ui.end_row();
            ui.label("Measure");
            let measures = [
                (MatchMeasure::ShortTerm, "Short-term loudness"),
                (MatchMeasure::Rms, "AES17 RMS"),
                (MatchMeasure::Vu, "VU"),
            ];
            if let Some(measure) = choice(ui, values.measure, &measures) {
                link.request(LinkRequest::Measure(measure));
            }
            ui.end_row();
        });
    ui.separator();
    let (health, good) = health_text(&link.status, &values);
    ui.label(RichText::new(health).strong().color(if good {
        theme::NORMAL
    } else {
        theme::CAUTION
    }));
    if values.role != LinkRole::End {
        return;
    }
    ui.add_space(6.0);
    let difference = link.status.difference_db;
    ui.label(
        RichText::new(match difference {
            Some(d) => format!("Difference: {}", difference_text(d)),
            None if link.status.settling => {
                "Difference: measuring this end (a full window of the measure)".to_string()
            }
            None => "Difference: waiting for signal on both ends".to_string(),
        })
        .size(18.0)
        .strong(),
    );
    ui.label(format!(
        "Match gain: {} dB{} (deadband ±0.5 dB, at most 3 dB/s, ±24 dB, holds below -60)",
        format_signed(link.status.match_gain_db, 1),
        follower_text(link.status.follower)
    ));
    ui.label(latency_text(&link.status));
    ui.add_space(6.0);
    ui.horizontal(|ui| {
        let one_shot = values.mode == MatchMode::OneShot;
        let button = ui
            .add_enabled(one_shot && difference.is_some(), egui::Button::new("Match"))
            .on_hover_text("Sets Output Makeup so that the difference becomes 0 (undoable)")
            .on_disabled_hover_text("Match Mode One-shot, with signal on both ends");
        if button.clicked() {
            if let Some(d) = difference {
                let makeup = controls.value_db(GainParam::Makeup) - d;
                controls.begin(GainParam::Makeup);
                controls.set(GainParam::Makeup, makeup);
                controls.end(GainParam::Makeup);
            }
        }
        let mut compare = values.compare;
        if ui
            .toggle_value(&mut compare, "Compare")
            .on_hover_text("Hear the dry signal (before the chain) at the matched level")
            .changed()
        {
            link.request(LinkRequest::Compare(compare));
        }
    });
    let text = compare_text(link.status.compare);
    if !text.is_empty() {
        let color = if link.status.compare == CompareState::Dry {
            Color32::WHITE
        } else {
            theme::CAUTION
        };
        ui.label(RichText::new(text).color(color));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_say_louder_quieter_and_the_hosts_that_cannot_link() {
        assert_eq!(difference_text(3.24), "chain is 3.2 dB louder");
        assert_eq!(difference_text(-9.0), "chain is 9.0 dB quieter");
        assert_eq!(difference_text(0.01), "chain is matched");
        let status = StatusView {
            health: Health::NoStart,
            ..StatusView::default()
        };
        let (text, good) = health_text(&status, &LinkValues::default());
        assert!(text.contains("own process"), "{text}");
        assert!(!good);
    }
}
