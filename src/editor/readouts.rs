//! Big numeric readouts for one side: sample-peak and true-peak maxima, AES17 RMS, VU, momentary,
//! short-term and integrated loudness, loudness range and PLR. Maxima and the integrating
//! figures reset on click.

use egui::{pos2, vec2, Align2, FontId, Rect, Role, Sense, Stroke, Ui, Vec2, WidgetInfo};
use trimeter_meters::rms::AES17_OFFSET_DB;
use trimeter_meters::units::power_mean_db;

use super::model::{EditorModel, Side};
use super::scale::{format_level, format_range, format_unsigned_level};
use super::theme;

/// One readout tile.
#[derive(Clone, Debug, PartialEq)]
pub struct Readout {
    /// The caption, e.g. "True peak max"; also the accessible label.
    pub name: &'static str,
    /// The value as text ("-∞" for silence, "—" for undefined).
    pub value: String,
    /// The unit.
    pub unit: &'static str,
    /// What a click resets ([`crate::settings::ResetRequests`] bits), 0 for nothing.
    pub reset_bits: u32,
}

/// The readouts of `side`, in display order.
pub fn readouts(model: &EditorModel, side: Side) -> [Readout; 9] {
    let s = model.summary(side);
    let snap = model.snapshot(side);
    let n = model.channels(side);
    let (sample_bit, true_bit, loudness_bit) = side.reset_bits();
    let vu = snap.vu.vu[..n]
        .iter()
        .copied()
        .fold(f32::NEG_INFINITY, f32::max);
    let rms = power_mean_db(&snap.rms.current_dbfs[..n]) + AES17_OFFSET_DB;
    [
        Readout {
            name: "Sample peak max",
            value: format_level(s.sample_peak_dbfs),
            unit: "dBFS",
            reset_bits: sample_bit,
        },
        Readout {
            name: "True peak max",
            value: format_level(s.true_peak_dbtp),
            unit: "dBTP",
            reset_bits: true_bit,
        },
        Readout {
            name: "RMS (AES17)",
            value: format_level(rms),
            unit: "dBFS",
            reset_bits: 0,
        },
        Readout {
            name: "Current VU",
            value: format_level(vu),
            unit: "VU",
            reset_bits: 0,
        },
        Readout {
            name: "Momentary",
            value: format_unsigned_level(snap.loudness.momentary_lufs),
            unit: "LUFS",
            reset_bits: 0,
        },
        Readout {
            name: "Short-term",
            value: format_unsigned_level(snap.loudness.short_term_lufs),
            unit: "LUFS",
            reset_bits: 0,
        },
        Readout {
            name: "Integrated",
            value: format_unsigned_level(s.integrated_lufs),
            unit: "LUFS",
            reset_bits: loudness_bit,
        },
        Readout {
            name: "LRA",
            value: if s.integrated_lufs.is_finite() {
                format_range(s.loudness_range_lu)
            } else {
                "—".to_string()
            },
            unit: "LU",
            reset_bits: loudness_bit,
        },
        Readout {
            name: "PLR",
            value: format_range(s.plr_lu),
            unit: "LU",
            reset_bits: loudness_bit | true_bit,
        },
    ]
}

/// The tiles in a grid of `columns` filling `size`.
pub fn readout_grid(ui: &mut Ui, model: &mut EditorModel, side: Side, size: Vec2, columns: usize) {
    let tiles = readouts(model, side);
    let rows = tiles.len().div_ceil(columns);
    let gap = 6.0;
    let w = (size.x - gap * (columns as f32 - 1.0)) / columns as f32;
    let h = ((size.y - gap * (rows as f32 - 1.0)) / rows as f32).min(64.0);
    let (rect, _) = ui.allocate_exact_size(size, Sense::hover());
    for (i, tile) in tiles.iter().enumerate() {
        let (row, col) = (i / columns, i % columns);
        let r = Rect::from_min_size(
            rect.min + vec2(col as f32 * (w + gap), row as f32 * (h + gap)),
            vec2(w, h),
        );
        if tile_ui(ui, r, tile, side) {
            model.request_reset(tile.reset_bits);
        }
    }
}

/// One tile; returns whether it was clicked to reset.
fn tile_ui(ui: &mut Ui, rect: Rect, tile: &Readout, side: Side) -> bool {
    let resettable = tile.reset_bits != 0;
    let id = ui.scope_id().with(("readout", side.name(), tile.name));
    let sense = if resettable {
        Sense::click()
    } else {
        Sense::hover()
    };
    let response = ui.interact(rect, id, sense);
    response.widget_info(|| {
        let mut info = WidgetInfo::labeled(
            if resettable {
                Role::Button
            } else {
                Role::Label
            },
            true,
            tile.name,
        );
        info.current_text_value = Some(format!("{} {}", tile.value, tile.unit));
        info
    });
    let response = if resettable {
        response.on_hover_text("Click to reset")
    } else {
        response
    };
    let painter = ui.painter_at(rect);
    let fill = if response.hovered() && resettable {
        egui::Color32::from_rgb(40, 44, 51)
    } else {
        theme::PANEL
    };
    painter.rect_filled(rect, 4.0, fill);
    painter.rect_stroke(
        rect,
        4.0,
        Stroke::new(1.0, egui::Color32::from_rgb(48, 52, 60)),
        egui::StrokeKind::Inside,
    );
    painter.text(
        rect.min + vec2(8.0, 5.0),
        Align2::LEFT_TOP,
        tile.name,
        FontId::proportional(11.0),
        theme::CAPTION,
    );
    let value_size = (rect.height() * 0.42).clamp(14.0, 26.0);
    painter.text(
        pos2(rect.right() - 36.0, rect.bottom() - 5.0),
        Align2::RIGHT_BOTTOM,
        &tile.value,
        FontId::monospace(value_size),
        theme::VALUE_TEXT,
    );
    painter.text(
        pos2(rect.right() - 6.0, rect.bottom() - 7.0),
        Align2::RIGHT_BOTTOM,
        tile.unit,
        FontId::proportional(10.5),
        theme::CAPTION,
    );
    resettable && response.clicked()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silence_reads_minus_infinity_or_a_dash_never_inf_or_nan() {
        let model = EditorModel::default();
        for tile in readouts(&model, Side::Output) {
            assert!(
                tile.value == "-∞" || tile.value == "—",
                "{}: {}",
                tile.name,
                tile.value
            );
        }
    }
}
