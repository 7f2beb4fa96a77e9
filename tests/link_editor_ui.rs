//! The Link and Overview pages through egui_kittest: the one-shot Match button sets Output
//! Makeup in one begin/set/end gesture, the link parameters are asked of the host, the health
//! and Compare lines say what is going on, the overview lists and sorts every instance.
//!
//! Update the images with `UPDATE_SNAPSHOTS=1 cargo test -p trimeter --test link_editor_ui`.

use egui::accesskit::Role;
use egui_kittest::kittest::Queryable;
use egui_kittest::{Harness, SnapshotResults};

use trimeter::editor::controls::{GainParam, ParamCall};
use trimeter::editor::link::{LinkRequest, LinkValues};
use trimeter::editor::model::{EditorModel, Page};
use trimeter::editor::overview::SortKey;
use trimeter::link::params::{LinkRole, MatchMode};
use trimeter::link::status::{CompareState, Health, LatencyState, StatusView};
use trimeter::settings::DEFAULT_WINDOW_SIZE;
use trimeter_link::{SlotRef, SlotView, SuggestedTrim};

#[path = "common/ui_harness.rs"]
mod ui_harness;
use ui_harness::State;

/// The editor at the default size with the host's trim at 0 dB and makeup at +2 dB.
fn harness(model: EditorModel) -> Harness<'static, State> {
    ui_harness::harness_at(model, DEFAULT_WINDOW_SIZE, 1.0, [0.0, 2.0])
}

/// An End instance in One-shot mode whose chain is 9 dB quieter than its Start's input.
fn end_model(mode: MatchMode) -> EditorModel {
    let mut model = EditorModel {
        page: Page::Link,
        ..EditorModel::default()
    };
    model.link.values = LinkValues {
        role: LinkRole::End,
        group: 3,
        mode,
        ..LinkValues::default()
    };
    model.link.status = StatusView {
        health: Health::PartnerFound,
        start_count: 1,
        partner_slot: Some(4),
        difference_db: Some(-9.0),
        match_gain_db: 0.0,
        compare: CompareState::Off,
        latency: LatencyState::Measured {
            frames: 480,
            correlation: 0.98,
        },
        sample_rate: 48_000.0,
        partner_sample_rate: 48_000.0,
        ..StatusView::default()
    };
    model
}

#[test]
fn match_sets_output_makeup_so_the_difference_becomes_zero_in_one_gesture() {
    let mut h = harness(end_model(MatchMode::OneShot));
    h.run();
    h.get_by_label("Difference: chain is 9.0 dB quieter");
    h.get_by_label("Partner found: Start #5 in group 3");
    h.get_by_label("Latency: 480 samples (10.0 ms), correlation 0.98");
    h.get_by_role_and_label(Role::Button, "Match").click();
    h.run();
    assert_eq!(
        h.state().controls.calls,
        [
            ParamCall::Begin(GainParam::Makeup),
            ParamCall::Set(GainParam::Makeup, 11.0),
            ParamCall::End(GainParam::Makeup),
        ]
    );
}

#[test]
fn match_is_disabled_outside_one_shot_and_without_a_difference() {
    for (mode, difference) in [
        (MatchMode::Continuous, Some(-9.0)),
        (MatchMode::OneShot, None),
    ] {
        let mut model = end_model(mode);
        model.link.status.difference_db = difference;
        let mut h = harness(model);
        h.run();
        h.get_by_role_and_label(Role::Button, "Match").click();
        h.run();
        assert!(h.state().controls.calls.is_empty(), "{mode:?}");
    }
}

#[test]
fn role_and_compare_go_to_the_host_and_compare_says_what_plays() {
    let mut model = end_model(MatchMode::Continuous);
    model.link.status.compare = CompareState::NoLatency;
    model.link.values.compare = true;
    let mut h = harness(model);
    h.run();
    h.get_by_label("Waiting for the latency measurement: playing the chain");
    h.get_by_label("Compare").click();
    h.run();
    h.get_by_label("Start").click();
    h.run();
    assert_eq!(
        h.state().model.link.requests,
        [
            LinkRequest::Compare(false),
            LinkRequest::Role(LinkRole::Start)
        ]
    );
}

#[test]
fn no_start_in_this_process_names_the_hosts_that_cannot_link() {
    let mut model = end_model(MatchMode::Continuous);
    model.link.status.health = Health::NoStart;
    model.link.status.difference_db = None;
    let mut h = harness(model);
    h.run();
    h.get_by_label(
        "No Start in group 3 in this process. Hosts that run each plugin in its own process, or sandbox plugins, cannot link",
    );
}

fn row(index: usize, label: &str, role: trimeter_link::Role, input: f32) -> (SlotRef, SlotView) {
    (
        SlotRef {
            index,
            generation: 1,
        },
        SlotView {
            role,
            group: 2,
            label: label.to_string(),
            input: [input; 3],
            output: [input + 3.0; 3],
            suggested_trim: Some(SuggestedTrim {
                trim_db: -2.5,
                learned: index == 1,
            }),
            input_clip: false,
            output_clip: index == 1,
            sample_rate: 48_000.0,
            heartbeat: 10,
            // Health codes (`Health` order): the Start is one of several, the End is linked.
            link_state: match role {
                trimeter_link::Role::Start => 3,
                trimeter_link::Role::End => 4,
                trimeter_link::Role::Off => 0,
            },
        },
    )
}

fn overview_model() -> EditorModel {
    let mut model = EditorModel {
        page: Page::Overview,
        ..EditorModel::default()
    };
    model.link.overview.rows = vec![
        row(0, "Vocal", trimeter_link::Role::Start, -30.0),
        row(1, "", trimeter_link::Role::End, -12.0),
        row(2, "Bass", trimeter_link::Role::Off, -20.0),
    ];
    model.link.overview.own_slot = Some(SlotRef {
        index: 2,
        generation: 1,
    });
    // The widest header line: a host that reports its track name.
    model.link.overview.host_track_name = Some("Bass DI (double)".to_string());
    model
}

#[test]
fn the_overview_lists_every_instance_and_sorts_as_asked() {
    let mut h = harness(overview_model());
    h.run();
    h.get_by_label("Bass (this)");
    h.get_by_label("Trimeter #2");
    h.get_by_label("Start 2");
    h.get_by_label("3 instances in this process");
    let order = |h: &Harness<'_, State>| -> Vec<usize> {
        h.state()
            .model
            .link
            .overview
            .rows
            .iter()
            .map(|(s, _)| s.index)
            .collect()
    };
    assert_eq!(order(&h), [2, 1, 0], "by name: Bass, Trimeter #2, Vocal");
    h.get_by_role_and_label(Role::Button, "Input").click();
    h.run();
    assert_eq!(h.state().model.link.overview.sort, SortKey::Input);
    assert_eq!(order(&h), [1, 2, 0], "loudest input first");
}

#[test]
fn the_name_typed_in_the_overview_is_committed() {
    let mut h = harness(overview_model());
    h.run();
    h.get_by_role(Role::TextInput).click();
    h.run();
    h.get_by_role(Role::TextInput).type_text("Drum bus");
    h.run();
    h.key_press(egui::Key::Enter);
    h.run();
    let overview = &h.state().model.link.overview;
    assert_eq!(overview.label_edit, "Drum bus");
    assert!(overview.label_changed);
}

#[test]
fn snapshot_the_link_and_overview_pages_at_default_and_minimum_size_and_zoom_2() {
    let mut results = SnapshotResults::new();
    let link = || end_model(MatchMode::Continuous);
    ui_harness::snapshot_page_sizes(&mut results, "link_page", link, [0.0, 2.0]);
    ui_harness::snapshot_page_sizes(&mut results, "overview_page", overview_model, [0.0, 2.0]);
}

#[test]
fn the_continuous_match_says_when_it_holds() {
    let mut model = end_model(MatchMode::Continuous);
    model.link.status.follower = Some(trimeter_meters::matching::MatchState::Gated);
    model.link.status.match_gain_db = 4.5;
    let mut h = harness(model);
    h.run();
    h.get_by_label(
        "Match gain: +4.5 dB, holding: a side is below -60 (deadband ±0.5 dB, at most 3 dB/s, ±24 dB, holds below -60)",
    );
}

/// While the End's own meter fills its first window the page says it is measuring, not that
/// there is no signal; without a difference and not settling it waits for signal.
#[test]
fn the_difference_line_says_when_this_end_is_still_measuring() {
    for (settling, text) in [
        (
            true,
            "Difference: measuring this end (a full window of the measure)",
        ),
        (false, "Difference: waiting for signal on both ends"),
    ] {
        let mut model = end_model(MatchMode::Continuous);
        model.link.status.difference_db = None;
        model.link.status.settling = settling;
        let mut h = harness(model);
        h.run();
        h.get_by_label(text);
    }
}
