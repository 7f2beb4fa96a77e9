//! The analogue-style VU meter: a calibrated IEC 60268-17 face (-20..+3 VU on a voltage-linear
//! arc, the red arc above 0 VU, the percentage scale under it), the reference printed on the
//! face, and the needle where the engine's ballistics put it. The needle is drawn at the
//! engine's reading as it is: no smoothing of its own, so the ballistics stay the standard's.

use egui::{pos2, vec2, Align2, Color32, FontId, Pos2, Rect, Sense, Shape, Stroke, Ui, Vec2};

use super::scale::{self, VU_MARKS, VU_PERCENT_MARKS};
use super::theme;

/// Half the needle's sweep, radians (96° in all, like the classic movements).
const HALF_SWEEP: f32 = 0.84;

/// The needle's angle from vertical, radians, for a reading in VU: the position on the
/// voltage-linear VU scale mapped onto the sweep (rest at the left end).
pub fn needle_angle(vu: f32) -> f32 {
    let position = vu_position(vu);
    -HALF_SWEEP + 2.0 * HALF_SWEEP * position
}

/// Where a reading sits on the VU face, 0.0 (rest) to 1.0 (+3 VU).
pub fn vu_position(vu: f32) -> f32 {
    scale::bar_scale(&crate::settings::EditorSettings {
        meter_mode: crate::settings::MeterMode::Vu,
        ..Default::default()
    })
    .position(vu)
}

/// The geometry of one face.
struct Face {
    pivot: Pos2,
    radius: f32,
}

impl Face {
    fn point(&self, vu: f32, radius: f32) -> Pos2 {
        let a = needle_angle(vu);
        self.pivot + radius * vec2(a.sin(), -a.cos())
    }

    fn point_at_position(&self, position: f32, radius: f32) -> Pos2 {
        let a = -HALF_SWEEP + 2.0 * HALF_SWEEP * position;
        self.pivot + radius * vec2(a.sin(), -a.cos())
    }
}

/// What one face shows.
pub struct NeedleFace<'a> {
    /// The needle readings in VU, with their colours (one or two needles).
    pub needles: &'a [(f32, Color32)],
    /// The caption on the face, e.g. "OUTPUT" or "L".
    pub caption: &'a str,
    /// The reference: the sine peak level in dBFS that reads 0 VU.
    pub reference_dbfs: f32,
    /// The average-target band in VU, shaded on the arc.
    pub target_band_vu: (f32, f32),
    /// Draw the percentage scale under the VU scale.
    pub percent_scale: bool,
}

/// Draws a VU face filling `size`.
pub fn vu_face(ui: &mut Ui, size: Vec2, face: &NeedleFace<'_>) {
    let (rect, response) = ui.allocate_exact_size(size, Sense::hover());
    response.widget_info(|| {
        egui::WidgetInfo::labeled(
            egui::Role::Meter,
            true,
            format!("VU meter {}", face.caption),
        )
    });
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 6.0, Color32::from_rgb(12, 12, 12));
    let inner = rect.shrink(5.0);
    painter.rect_filled(inner, 4.0, theme::VU_FACE);
    // The arc's labels reach about 0.97 radius above the pivot: put them 8 % below the top
    // edge. A wide face has its pivot below the face, a narrow one inside it.
    let radius = (inner.height() * 0.98).min(inner.width() * 0.62);
    let geometry = Face {
        pivot: pos2(
            inner.center().x,
            inner.top() + inner.height() * 0.08 + radius * 0.97,
        ),
        radius,
    };
    let r = geometry.radius;
    let arc_points = |from: f32, to: f32, radius: f32| -> Vec<Pos2> {
        let steps = 40;
        (0..=steps)
            .map(|i| {
                let p = from + (to - from) * i as f32 / steps as f32;
                geometry.point_at_position(p, radius)
            })
            .collect()
    };
    let p = vu_position;
    let scale_r = r * 0.80;
    // Target band and the red arc above 0 VU, on the outside of the main arc.
    let (band_lo, band_hi) = face.target_band_vu;
    if band_lo < band_hi {
        painter.add(Shape::line(
            arc_points(p(band_lo), p(band_hi.min(3.0)), scale_r + 4.0),
            Stroke::new(6.0, theme::TARGET_BAND.gamma_multiply(1.6)),
        ));
    }
    painter.add(Shape::line(
        arc_points(p(-20.0), p(0.0), scale_r),
        Stroke::new(1.5, theme::VU_INK),
    ));
    painter.add(Shape::line(
        arc_points(p(0.0), p(3.0), scale_r + 2.0),
        Stroke::new(5.0, theme::OVER),
    ));
    let label_font = FontId::proportional((r * 0.085).clamp(10.0, 22.0));
    for &(vu, label) in &VU_MARKS {
        let major = !label.is_empty();
        let len = if major { r * 0.07 } else { r * 0.04 };
        let color = if vu > 0.0 { theme::OVER } else { theme::VU_INK };
        painter.line_segment(
            [
                geometry.point(vu, scale_r),
                geometry.point(vu, scale_r + len),
            ],
            Stroke::new(if major { 1.6 } else { 1.0 }, color),
        );
        if major {
            painter.text(
                geometry.point(vu, scale_r + len + r * 0.07),
                Align2::CENTER_CENTER,
                label,
                label_font.clone(),
                color,
            );
        }
    }
    // The percentage scale, inside the arc (IEC 60268-17: 100 % = 0 VU), when asked for.
    let pct_r = scale_r - r * 0.05;
    if face.percent_scale {
        let pct_font = FontId::proportional((r * 0.055).clamp(8.5, 15.0));
        for &(vu, label) in &VU_PERCENT_MARKS {
            painter.line_segment(
                [
                    geometry.point(vu, pct_r),
                    geometry.point(vu, pct_r - r * 0.035),
                ],
                Stroke::new(1.0, theme::VU_INK),
            );
            if label != "10" {
                painter.text(
                    geometry.point(vu, pct_r - r * 0.08),
                    Align2::CENTER_CENTER,
                    label,
                    pct_font.clone(),
                    theme::VU_INK.gamma_multiply(0.75),
                );
            }
        }
        painter.text(
            geometry.point(1.9, pct_r - r * 0.085),
            Align2::CENTER_CENTER,
            "%",
            pct_font.clone(),
            theme::VU_INK.gamma_multiply(0.75),
        );
    }
    let center_x = inner.center().x;
    painter.text(
        pos2(
            center_x,
            (inner.top() + inner.height() * 0.70).min(geometry.pivot.y - r * 0.42),
        ),
        Align2::CENTER_CENTER,
        "VU",
        FontId::proportional((r * 0.16).clamp(14.0, 44.0)),
        theme::VU_INK,
    );
    // The reference and the caption along the bottom, clear of the needle's sweep.
    let bottom_y = inner.bottom() - inner.height() * 0.075;
    painter.text(
        pos2(inner.right() - 10.0, bottom_y),
        Align2::RIGHT_BOTTOM,
        format!(
            "0 VU = {} dBFS",
            scale::format_unsigned_level(face.reference_dbfs)
        ),
        FontId::proportional((r * 0.07).clamp(10.0, 18.0)),
        theme::VU_INK,
    );
    painter.text(
        pos2(inner.left() + 10.0, bottom_y),
        Align2::LEFT_BOTTOM,
        format!("{}  ·  IEC 60268-17", face.caption),
        FontId::proportional((r * 0.055).clamp(9.0, 14.0)),
        theme::VU_INK.gamma_multiply(0.7),
    );
    // Needles: from the pivot (below the face) to just past the scale.
    for &(vu, color) in face.needles {
        let tip = geometry.point(vu, scale_r + r * 0.1);
        let base = geometry.point(vu, r * 0.25);
        painter.line_segment([base, tip], Stroke::new(1.8, color));
    }
    // The pivot's cover: a cap when the pivot is on the face, a strip along the bottom edge
    // when it is below.
    if inner.contains(geometry.pivot) {
        painter.circle_filled(geometry.pivot, r * 0.06, Color32::from_rgb(40, 38, 34));
    } else {
        let cover = Rect::from_min_max(
            pos2(inner.left(), inner.bottom() - inner.height() * 0.06),
            inner.max,
        );
        painter.rect_filled(cover, 0.0, Color32::from_rgb(40, 38, 34));
    }
}

/// Large horizontal VU bars (the needle source "Large VU bars"), one per reading.
pub fn large_vu_bars(ui: &mut Ui, size: Vec2, readings: &[(&str, f32)], reference_dbfs: f32) {
    let (rect, _) = ui.allocate_exact_size(size, Sense::hover());
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 6.0, Color32::from_rgb(16, 17, 20));
    let n = readings.len().max(1) as f32;
    let scale_h = 18.0;
    let rows = Rect::from_min_max(
        rect.min + vec2(34.0, 26.0),
        rect.max - vec2(16.0, scale_h + 12.0),
    );
    let row_h = (rows.height() / n).min(46.0);
    let x = |vu: f32| rows.left() + vu_position(vu) * rows.width();
    for (i, &(name, vu)) in readings.iter().enumerate() {
        let y0 = rows.top() + i as f32 * row_h + 4.0;
        let track = Rect::from_min_max(pos2(rows.left(), y0), pos2(rows.right(), y0 + row_h - 8.0));
        painter.rect_filled(track, 2.0, theme::TRACK);
        let level = x(vu);
        let zero = x(0.0);
        painter.rect_filled(
            Rect::from_min_max(track.min, pos2(level.min(zero), track.bottom())),
            0.0,
            theme::NORMAL,
        );
        if level > zero {
            painter.rect_filled(
                Rect::from_min_max(pos2(zero, track.top()), pos2(level, track.bottom())),
                0.0,
                theme::OVER,
            );
        }
        painter.text(
            pos2(rect.left() + 14.0, track.center().y),
            Align2::CENTER_CENTER,
            name,
            FontId::proportional(13.0),
            theme::SCALE_TEXT,
        );
    }
    let scale_y = rows.top() + n * row_h + 2.0;
    for &(vu, label) in &VU_MARKS {
        if label.is_empty() {
            continue;
        }
        let color = if vu > 0.0 {
            theme::OVER
        } else {
            theme::SCALE_TEXT
        };
        painter.text(
            pos2(x(vu), scale_y + 2.0),
            Align2::CENTER_TOP,
            label,
            theme::scale_font(),
            color,
        );
    }
    painter.text(
        pos2(rect.center().x, rect.top() + 6.0),
        Align2::CENTER_TOP,
        format!(
            "VU  (0 VU = {} dBFS)",
            scale::format_unsigned_level(reference_dbfs)
        ),
        FontId::proportional(12.0),
        theme::CAPTION,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needle_rests_left_and_ends_right() {
        assert!((needle_angle(f32::NEG_INFINITY) - -HALF_SWEEP).abs() < 1e-6);
        assert!((needle_angle(3.0) - HALF_SWEEP).abs() < 1e-6);
        assert!((needle_angle(100.0) - HALF_SWEEP).abs() < 1e-6);
        // 0 VU at 70.8 % of the sweep.
        let zero = (needle_angle(0.0) + HALF_SWEEP) / (2.0 * HALF_SWEEP);
        assert!((zero - 0.708).abs() < 1e-3);
    }
}
