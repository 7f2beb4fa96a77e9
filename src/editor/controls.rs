//! Trim and makeup as knobs, bound to the host through one small trait.
//!
//! [`GainControls`] is all a view needs: the current value (so the knob follows host automation)
//! and begin/set/end gestures (so host undo and automation record one gesture per drag). The
//! plugin implements it with nice-plug's `ParamSetter` ([`HostControls`]); the UI tests with
//! [`RecordingControls`], which records every call.

use egui::{Color32, Pos2, Response, Sense, Stroke, Ui, Vec2, WidgetInfo};
use nice_plug::prelude::{Param, ParamSetter};

use super::scale::format_signed;
use super::theme;
use crate::params::{string_to_db, TrimeterParams, GAIN_RANGE_DB};

/// The two gain parameters the editor sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GainParam {
    /// Input Trim.
    Trim,
    /// Output Makeup.
    Makeup,
}

impl GainParam {
    /// The parameter's name, also the knob's accessible label.
    pub fn name(self) -> &'static str {
        match self {
            Self::Trim => "Input Trim",
            Self::Makeup => "Output Makeup",
        }
    }
}

/// Reads and sets the gain parameters, in dB.
pub trait GainControls {
    /// The parameter's value now, dB (follows host automation).
    fn value_db(&self, param: GainParam) -> f32;
    /// Starts a gesture.
    fn begin(&mut self, param: GainParam);
    /// Sets the value within a gesture, dB (clamped to the range).
    fn set(&mut self, param: GainParam, db: f32);
    /// Ends a gesture.
    fn end(&mut self, param: GainParam);
}

/// The host's side: nice-plug's `ParamSetter` on Trimeter's parameters.
pub struct HostControls<'a> {
    /// The parameters.
    pub params: &'a TrimeterParams,
    /// The setter of the editor's GUI context.
    pub setter: ParamSetter<'a>,
}

impl HostControls<'_> {
    fn param(&self, param: GainParam) -> &nice_plug::prelude::FloatParam {
        match param {
            GainParam::Trim => &self.params.trim_db,
            GainParam::Makeup => &self.params.makeup_db,
        }
    }
}

impl GainControls for HostControls<'_> {
    fn value_db(&self, param: GainParam) -> f32 {
        self.param(param).modulated_plain_value()
    }

    fn begin(&mut self, param: GainParam) {
        self.setter.begin_set_parameter(self.param(param));
    }

    fn set(&mut self, param: GainParam, db: f32) {
        self.setter
            .set_parameter(self.param(param), db.clamp(-GAIN_RANGE_DB, GAIN_RANGE_DB));
    }

    fn end(&mut self, param: GainParam) {
        self.setter.end_set_parameter(self.param(param));
    }
}

/// One call a view made.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ParamCall {
    /// `begin`.
    Begin(GainParam),
    /// `set`, with the value in dB.
    Set(GainParam, f32),
    /// `end`.
    End(GainParam),
}

/// A test host: holds the values and records every call.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RecordingControls {
    /// Trim and makeup, dB.
    pub values_db: [f32; 2],
    /// Every call, in order.
    pub calls: Vec<ParamCall>,
}

impl RecordingControls {
    fn index(param: GainParam) -> usize {
        match param {
            GainParam::Trim => 0,
            GainParam::Makeup => 1,
        }
    }
}

impl GainControls for RecordingControls {
    fn value_db(&self, param: GainParam) -> f32 {
        self.values_db[Self::index(param)]
    }

    fn begin(&mut self, param: GainParam) {
        self.calls.push(ParamCall::Begin(param));
    }

    fn set(&mut self, param: GainParam, db: f32) {
        let db = db.clamp(-GAIN_RANGE_DB, GAIN_RANGE_DB);
        self.values_db[Self::index(param)] = db;
        self.calls.push(ParamCall::Set(param, db));
    }

    fn end(&mut self, param: GainParam) {
        self.calls.push(ParamCall::End(param));
    }
}

/// dB per point of vertical (or horizontal) drag: the whole 72 dB over 288 points.
pub const DRAG_DB_PER_POINT: f32 = 0.25;
/// With Shift held, drags are this much finer.
pub const FINE_FACTOR: f32 = 10.0;
/// dB per mouse-wheel step (Shift: a tenth).
pub const WHEEL_STEP_DB: f32 = 0.5;

/// The knob's sweep: from -135° to +135° around the top.
const SWEEP_RAD: f32 = 1.5 * std::f32::consts::PI;

/// Where `db` sits on the knob's sweep, 0.0 (-36 dB) to 1.0 (+36 dB).
pub fn knob_fraction(db: f32) -> f32 {
    ((db + GAIN_RANGE_DB) / (2.0 * GAIN_RANGE_DB)).clamp(0.0, 1.0)
}

/// A gain knob with its name above and an editable dB value below. Drag up or right to raise
/// (Shift: fine), double-click for 0 dB, the mouse wheel steps by 0.5 dB (Shift: 0.1 dB), and the
/// value field takes typed dB ("-3", "+4.5 dB").
pub fn gain_knob(ui: &mut Ui, param: GainParam, controls: &mut dyn GainControls, diameter: f32) {
    let value = controls.value_db(param);
    ui.vertical_centered(|ui| {
        let caption = ui.label(theme::caption(param.name()));
        let (rect, response) =
            ui.allocate_exact_size(Vec2::splat(diameter), Sense::click_and_drag());
        let response = response.on_hover_text(
            "Drag to change (Shift: fine), double-click for 0 dB, mouse wheel steps 0.5 dB",
        );
        response.widget_info(|| WidgetInfo::slider(true, f64::from(value), param.name()));
        handle_knob_input(ui, &response, param, controls, value);
        let shown = controls.value_db(param);
        paint_knob(ui, rect, shown, response.hovered() || response.dragged());
        value_field(ui, param, controls, shown, caption.id);
    });
}

fn handle_knob_input(
    ui: &Ui,
    response: &Response,
    param: GainParam,
    controls: &mut dyn GainControls,
    value: f32,
) {
    let drag_id = response.id.with("drag_db");
    let fine = ui.input(|i| i.modifiers.shift);
    if response.double_clicked() {
        controls.begin(param);
        controls.set(param, 0.0);
        controls.end(param);
        return;
    }
    if response.drag_started() {
        controls.begin(param);
        ui.data_mut(|d| d.insert_temp(drag_id, value));
    }
    if response.dragged() {
        let delta = response.drag_delta();
        let points = delta.x - delta.y;
        if points != 0.0 {
            let per_point = DRAG_DB_PER_POINT / if fine { FINE_FACTOR } else { 1.0 };
            // Accumulate unrounded, so slow fine drags are not lost to the parameter's step.
            let start: f32 = ui.data(|d| d.get_temp(drag_id)).unwrap_or(value);
            let next = (start + points * per_point).clamp(-GAIN_RANGE_DB, GAIN_RANGE_DB);
            ui.data_mut(|d| d.insert_temp(drag_id, next));
            controls.set(param, next);
        }
    }
    if response.drag_stopped() {
        controls.end(param);
        ui.data_mut(|d| d.remove::<f32>(drag_id));
    }
    if response.hovered() && !response.dragged() {
        // Shift turns the wheel horizontal on some systems: take either axis.
        let steps: f32 = ui.input(|i| {
            i.raw
                .events
                .iter()
                .map(|e| match e {
                    egui::Event::MouseWheel { delta, .. } => {
                        if delta.y != 0.0 {
                            delta.y.signum()
                        } else {
                            delta.x.signum()
                        }
                    }
                    _ => 0.0,
                })
                .sum()
        });
        if steps != 0.0 {
            let step = WHEEL_STEP_DB / if fine { FINE_FACTOR / 2.0 } else { 1.0 };
            let next = (value + step * steps).clamp(-GAIN_RANGE_DB, GAIN_RANGE_DB);
            controls.begin(param);
            controls.set(param, next);
            controls.end(param);
        }
    }
}

fn paint_knob(ui: &Ui, rect: egui::Rect, db: f32, active: bool) {
    let painter = ui.painter_at(rect.expand(2.0));
    let center = rect.center();
    let radius = rect.width() * 0.5 - 3.0;
    painter.circle_filled(center, radius, theme::KNOB_BODY);
    painter.circle_stroke(
        center,
        radius,
        Stroke::new(
            1.0,
            if active {
                theme::ACCENT
            } else {
                theme::KNOB_RIM
            },
        ),
    );
    let track_radius = radius - 5.0;
    let angle = |f: f32| -SWEEP_RAD / 2.0 + f * SWEEP_RAD - std::f32::consts::FRAC_PI_2;
    let point = |f: f32, r: f32| center + r * Vec2::angled(angle(f));
    arc(
        &painter,
        point,
        0.0,
        1.0,
        track_radius,
        Stroke::new(3.0, theme::TRACK),
    );
    let f = knob_fraction(db);
    let (a, b) = if f < 0.5 { (f, 0.5) } else { (0.5, f) };
    arc(
        &painter,
        point,
        a,
        b,
        track_radius,
        Stroke::new(3.0, theme::ACCENT),
    );
    painter.line_segment(
        [point(f, radius * 0.25), point(f, track_radius - 4.0)],
        Stroke::new(2.5, Color32::WHITE),
    );
}

fn arc(
    painter: &egui::Painter,
    point: impl Fn(f32, f32) -> Pos2,
    from: f32,
    to: f32,
    radius: f32,
    stroke: Stroke,
) {
    let steps = ((to - from) * 48.0).ceil().max(1.0) as usize;
    let points: Vec<Pos2> = (0..=steps)
        .map(|i| point(from + (to - from) * i as f32 / steps as f32, radius))
        .collect();
    painter.add(egui::Shape::line(points, stroke));
}

/// The value under the knob, labelled by the knob's caption; click it to type a value in dB.
fn value_field(
    ui: &mut Ui,
    param: GainParam,
    controls: &mut dyn GainControls,
    db: f32,
    caption: egui::Id,
) {
    let edit_id = ui.make_persistent_id(("gain_text", param.name()));
    let editing: Option<String> = ui.data(|d| d.get_temp(edit_id));
    let was_editing = editing.is_some();
    let mut text = editing.unwrap_or_else(|| format!("{} dB", format_signed(db, 1)));
    let response = ui.add(
        egui::TextEdit::singleline(&mut text)
            .desired_width(76.0)
            .align(egui::Align2::CENTER_CENTER)
            .font(egui::TextStyle::Monospace)
            .id(edit_id.with("field")),
    );
    let response = response
        .labelled_by(caption)
        .on_hover_text("Type a value in dB");
    if response.has_focus() {
        ui.data_mut(|d| d.insert_temp(edit_id, text.clone()));
    }
    // egui may run a frame's pass twice; only the pass that still holds the edit commits it.
    if response.lost_focus() && was_editing {
        ui.data_mut(|d| d.remove::<String>(edit_id));
        if ui.input(|i| !i.key_pressed(egui::Key::Escape)) {
            if let Some(db) = string_to_db(&text) {
                controls.begin(param);
                controls.set(param, db);
                controls.end(param);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knob_fraction_spans_the_range() {
        assert_eq!(knob_fraction(-36.0), 0.0);
        assert_eq!(knob_fraction(0.0), 0.5);
        assert_eq!(knob_fraction(36.0), 1.0);
        assert_eq!(knob_fraction(100.0), 1.0);
    }

    #[test]
    fn recording_controls_clamp_and_record() {
        let mut c = RecordingControls::default();
        c.begin(GainParam::Trim);
        c.set(GainParam::Trim, 50.0);
        c.end(GainParam::Trim);
        assert_eq!(c.value_db(GainParam::Trim), 36.0);
        assert_eq!(
            c.calls,
            [
                ParamCall::Begin(GainParam::Trim),
                ParamCall::Set(GainParam::Trim, 36.0),
                ParamCall::End(GainParam::Trim)
            ]
        );
    }
}
