//! The Overview page: every Trimeter instance in this process, read-only, from the link
//! registry's slots (label, role and group, input and output level, suggested trim, clip lamps,
//! link state), sorted as the user chooses and refreshed at GUI rate. This instance's own name
//! is edited here (saved with the session; the host's track name wins where the host reports
//! one).

use std::cmp::Ordering;

use egui::{Color32, RichText, Ui};
use trimeter_link::{Role, SlotRef, SlotView, SuggestedTrim};

use super::model::EditorModel;
use super::scale::format_signed;
use super::theme;
use crate::link::params::MatchMeasure;
use crate::link::status::{unpack_slot_state, Health};

/// What the overview sorts by.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SortKey {
    /// The label (the default).
    #[default]
    Name,
    /// Group, then role.
    Group,
    /// Input level, loudest first.
    Input,
    /// Output level, loudest first.
    Output,
}

impl SortKey {
    const ALL: [(Self, &'static str); 4] = [
        (Self::Name, "Name"),
        (Self::Group, "Group"),
        (Self::Input, "Input"),
        (Self::Output, "Output"),
    ];
}

/// The overview's rows and choices.
#[derive(Clone, Debug, Default)]
pub struct OverviewModel {
    /// Every instance in the process (refreshed each frame while the page shows).
    pub rows: Vec<(SlotRef, SlotView)>,
    /// The sort order.
    pub sort: SortKey,
    /// The measure levels are shown in.
    pub measure: MatchMeasure,
    /// This instance's slot, to mark its row.
    pub own_slot: Option<SlotRef>,
    /// The name being edited.
    pub label_edit: String,
    /// Set when the user committed a new name; the app saves it and publishes it.
    pub label_changed: bool,
    /// The host's track name, when the host reports one.
    pub host_track_name: Option<String>,
}

/// The name a row shows: its label, else its slot number.
pub fn row_name(slot: SlotRef, view: &SlotView) -> String {
    if view.label.is_empty() {
        format!("Trimeter #{}", slot.index + 1)
    } else {
        view.label.clone()
    }
}

fn level_order(a: f32, b: f32) -> Ordering {
    // Loudest first; silence (minus infinity) and NaN last.
    let key = |v: f32| if v.is_nan() { f32::NEG_INFINITY } else { v };
    key(b).total_cmp(&key(a))
}

/// Sorts `rows` by `key` for levels in `measure`.
pub fn sort_rows(rows: &mut [(SlotRef, SlotView)], key: SortKey, measure: MatchMeasure) {
    let m = measure.index();
    rows.sort_by(|(sa, a), (sb, b)| {
        let order = match key {
            SortKey::Name => row_name(*sa, a)
                .to_lowercase()
                .cmp(&row_name(*sb, b).to_lowercase()),
            SortKey::Group => (a.group, role_rank(a.role)).cmp(&(b.group, role_rank(b.role))),
            SortKey::Input => level_order(a.input[m], b.input[m]),
            SortKey::Output => level_order(a.output[m], b.output[m]),
        };
        order.then(sa.index.cmp(&sb.index))
    });
}

fn role_rank(role: Role) -> u8 {
    match role {
        Role::Start => 0,
        Role::End => 1,
        Role::Off => 2,
    }
}

fn role_text(view: &SlotView) -> String {
    match view.role {
        Role::Off => "—".to_string(),
        Role::Start => format!("Start {}", view.group),
        Role::End => format!("End {}", view.group),
    }
}

fn level_text(db: f32) -> String {
    if db.is_finite() && db > -100.0 {
        format!("{db:.1}")
    } else {
        "-inf".to_string()
    }
}

fn lamp(ui: &mut Ui, lit: bool, label: &str) {
    let color = if lit { theme::OVER } else { theme::PANEL };
    ui.label(
        RichText::new(label)
            .color(if lit { Color32::WHITE } else { theme::CAPTION })
            .background_color(color),
    );
}

fn link_text(view: &SlotView) -> &'static str {
    let (health, _) = unpack_slot_state(view.link_state);
    match health {
        Health::Off => "",
        Health::Unregistered => "not active",
        Health::Publishing => "publishing",
        Health::StartNotUsed => "not used (several Starts)",
        Health::PartnerFound => "linked",
        Health::NoStart => "no Start",
        Health::PartnerStale => "Start stale",
        Health::PartnerSilent => "Start silent",
        Health::SampleRatesDiffer => "rates differ",
    }
}

/// Draws the Overview page.
pub fn overview_panel(ui: &mut Ui, model: &mut EditorModel) {
    let overview = &mut model.link.overview;
    ui.horizontal(|ui| {
        ui.heading(RichText::new("Session overview").color(theme::ACCENT));
        ui.label(theme::caption(&format!(
            "{} instances in this process",
            overview.rows.len()
        )));
    });
    // Wrapped, so a long track name never pushes anything out of the window.
    ui.horizontal_wrapped(|ui| {
        ui.label("This instance's name");
        let hint = overview
            .host_track_name
            .clone()
            .unwrap_or_else(|| "Track name".to_string());
        let response = ui.add(
            egui::TextEdit::singleline(&mut overview.label_edit)
                .hint_text(hint)
                .desired_width(200.0),
        );
        if response.lost_focus() {
            overview.label_changed = true;
        }
        if let Some(host) = &overview.host_track_name {
            ui.label(theme::caption(&format!(
                "others see the host's track name \"{host}\""
            )));
        }
    });
    ui.horizontal_wrapped(|ui| {
        ui.label("Sort by");
        for (key, name) in SortKey::ALL {
            ui.selectable_value(&mut overview.sort, key, name);
        }
        ui.separator();
        ui.label("Levels in");
        for (measure, name) in [
            (MatchMeasure::ShortTerm, "LUFS (short-term)"),
            (MatchMeasure::Rms, "AES17 RMS"),
            (MatchMeasure::Vu, "VU (dBFS)"),
        ] {
            ui.selectable_value(&mut overview.measure, measure, name);
        }
    });
    sort_rows(&mut overview.rows, overview.sort, overview.measure);
    let m = overview.measure.index();
    // Both ways: many instances, or long names in a small window.
    egui::ScrollArea::both().show(ui, |ui| {
        egui::Grid::new("overview_rows")
            .num_columns(7)
            .striped(true)
            .spacing([14.0, 4.0])
            .show(ui, |ui| {
                for title in [
                    "Name",
                    "Role",
                    "Input",
                    "Output",
                    "Suggested trim",
                    "Clips",
                    "Link",
                ] {
                    ui.label(theme::caption(title));
                }
                ui.end_row();
                for (slot, view) in &overview.rows {
                    let own = Some(*slot) == overview.own_slot;
                    let name = row_name(*slot, view);
                    let name = if own { format!("{name} (this)") } else { name };
                    ui.label(RichText::new(name).strong());
                    ui.label(role_text(view));
                    ui.label(level_text(view.input[m]));
                    ui.label(level_text(view.output[m]));
                    trim_cell(ui, view.suggested_trim);
                    ui.horizontal(|ui| {
                        lamp(ui, view.input_clip, "IN");
                        lamp(ui, view.output_clip, "OUT");
                    });
                    ui.label(link_text(view));
                    ui.end_row();
                }
            });
    });
}

/// The suggested trim and where it comes from, in the words of the cell: ("+2.5 dB",
/// "learned") or ("+2.5 dB", "running"); ("—", "") for none.
pub fn trim_text(trim: Option<SuggestedTrim>) -> (String, &'static str) {
    match trim {
        Some(t) => (
            format!("{} dB", format_signed(t.trim_db, 1)),
            if t.learned { "learned" } else { "running" },
        ),
        None => ("—".to_string(), ""),
    }
}

/// One suggested-trim cell: the value, its source as a caption, the meaning on hover.
fn trim_cell(ui: &mut Ui, trim: Option<SuggestedTrim>) {
    let (value, source) = trim_text(trim);
    let response = ui
        .horizontal(|ui| {
            ui.label(value);
            if !source.is_empty() {
                ui.label(theme::caption(source));
            }
        })
        .response;
    let hover = match trim {
        Some(t) if t.learned => "What the instance's assistant learned, for its target",
        Some(_) => {
            "Running estimate for the instance's assistant target, from its input meters \
             since their reset (press Learn on its Assistant page to learn a part)"
        }
        None => "No signal yet",
    };
    response.on_hover_text(hover);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(index: usize, label: &str, role: Role, group: u8, input: f32) -> (SlotRef, SlotView) {
        (
            SlotRef {
                index,
                generation: 1,
            },
            SlotView {
                role,
                group,
                label: label.to_string(),
                input: [input; 3],
                output: [input - 1.0; 3],
                suggested_trim: None,
                input_clip: false,
                output_clip: false,
                sample_rate: 48_000.0,
                heartbeat: 1,
                link_state: 0,
            },
        )
    }

    #[test]
    fn the_trim_cell_names_its_source() {
        let trim = |learned| {
            Some(SuggestedTrim {
                trim_db: 2.54,
                learned,
            })
        };
        assert_eq!(trim_text(trim(true)), ("+2.5 dB".to_string(), "learned"));
        assert_eq!(trim_text(trim(false)), ("+2.5 dB".to_string(), "running"));
        assert_eq!(trim_text(None), ("—".to_string(), ""));
    }

    #[test]
    fn rows_sort_by_name_group_and_level() {
        let mut rows = vec![
            row(0, "vocal", Role::End, 2, -30.0),
            row(1, "", Role::Start, 2, f32::NEG_INFINITY),
            row(2, "Bass", Role::Off, 1, -12.0),
        ];
        sort_rows(&mut rows, SortKey::Name, MatchMeasure::Rms);
        let names: Vec<String> = rows.iter().map(|(s, v)| row_name(*s, v)).collect();
        assert_eq!(names, ["Bass", "Trimeter #2", "vocal"]);
        sort_rows(&mut rows, SortKey::Group, MatchMeasure::Rms);
        let order: Vec<usize> = rows.iter().map(|(s, _)| s.index).collect();
        assert_eq!(order, [2, 1, 0]);
        sort_rows(&mut rows, SortKey::Input, MatchMeasure::Rms);
        let order: Vec<usize> = rows.iter().map(|(s, _)| s.index).collect();
        assert_eq!(order, [2, 0, 1], "loudest first, silence last");
    }
}
