//! Bar meters: one bar per channel in the selected mode, with its standard's scale, the target
//! zone, a peak-hold and a true-peak marker over each bar, and a latched clip lamp under it.

use egui::{pos2, vec2, Align2, Color32, Rect, Role, Sense, Stroke, Ui, Vec2, WidgetInfo};
use trimeter_meters::MAX_CHANNELS;

use super::model::{EditorModel, Side};
use super::scale::{self, BarScale};
use super::theme;

/// Channel names as printed under the bars.
pub fn channel_name(channels: usize, channel: usize) -> &'static str {
    match (channels, channel) {
        (1, _) => "M",
        (_, 0) => "L",
        (_, 1) => "R",
        _ => "",
    }
}

/// Height of the clip lamp under each bar.
const LAMP_HEIGHT: f32 = 16.0;
/// Width of the scale's label column.
const LABEL_WIDTH: f32 = 34.0;
/// The least vertical room between two scale labels; closer labels are left out.
const MIN_LABEL_SPACING: f32 = 12.0;

/// One side's meters in a `size` area: title, scale, bars, lamps.
pub fn meter_group(ui: &mut Ui, model: &mut EditorModel, side: Side, size: Vec2) {
    let (rect, _) = ui.allocate_exact_size(size, Sense::hover());
    let settings = model.settings;
    let face = scale::bar_scale(&settings);
    let channels = model.channels(side);
    let bars = if scale::per_channel(settings.meter_mode) {
        channels
    } else {
        1
    };
    let painter = ui.painter_at(rect);
    let title = match side {
        Side::Input => "INPUT  pre-trim",
        Side::Output => "OUTPUT  post-makeup",
    };
    painter.text(
        pos2(rect.center().x, rect.top() + 2.0),
        Align2::CENTER_TOP,
        title,
        egui::FontId::proportional(11.5),
        theme::CAPTION,
    );
    let unit = if face.unit.is_empty() || face.unit == face.name {
        face.name.to_string()
    } else {
        format!("{} {}", face.name, face.unit)
    };
    painter.text(
        pos2(rect.center().x, rect.bottom()),
        Align2::CENTER_BOTTOM,
        unit,
        egui::FontId::proportional(10.5),
        theme::SCALE_TEXT,
    );
    let top = rect.top() + 22.0;
    let bottom = rect.bottom() - 16.0 - LAMP_HEIGHT - 16.0;
    let bar_gap = 6.0;
    let bars_width = (rect.width() - LABEL_WIDTH - 8.0).max(20.0);
    let bar_width = ((bars_width - bar_gap * (bars as f32 - 1.0)) / bars as f32).min(30.0);
    let used = bar_width * bars as f32 + bar_gap * (bars as f32 - 1.0);
    let left = rect.center().x - (used + LABEL_WIDTH) / 2.0 + LABEL_WIDTH;
    let track_of = |i: usize| {
        let x = left + i as f32 * (bar_width + bar_gap);
        Rect::from_min_max(pos2(x, top), pos2(x + bar_width, bottom))
    };
    draw_scale_labels(
        ui,
        &face,
        Rect::from_min_max(pos2(left - LABEL_WIDTH, top), pos2(left - 4.0, bottom)),
    );
    let ((band_lo, band_hi), ceiling) = scale::target_zone(&settings, &model.target);
    for bar in 0..bars {
        let track = track_of(bar);
        let snapshot = *model.snapshot(side);
        let recent = *model.recent_peaks(side);
        // Loudness has one bar for all channels; its markers show the highest channel.
        let chans: &[usize] = if bars == 1 && channels > 1 {
            &[0, 1, 2, 3, 4, 5, 6, 7][..channels.min(MAX_CHANNELS)]
        } else {
            &[bar]
        };
        let mut level = scale::reading(&settings, &snapshot, bar);
        let mut hold_dbfs = f32::NEG_INFINITY;
        let mut true_dbfs = f32::NEG_INFINITY;
        for &ch in chans {
            hold_dbfs = hold_dbfs
                .max(snapshot.sample_peak.current_db[ch])
                .max(recent.sample_db(ch));
            true_dbfs = true_dbfs
                .max(snapshot.true_peak.current_db[ch])
                .max(recent.true_peak_db(ch));
        }
        if settings.meter_mode == crate::settings::MeterMode::SamplePeak {
            // A peak that came and went between two frames still shows.
            level = level.max(hold_dbfs);
        }
        let markers = (
            scale::dbfs_to_scale(&settings, hold_dbfs),
            scale::dbfs_to_scale(&settings, true_dbfs),
        );
        draw_bar(
            ui,
            track,
            &face,
            level,
            (band_lo, band_hi),
            ceiling,
            markers,
        );
        let channel_label = if bars == 1 && channels > 1 {
            "M"
        } else {
            channel_name(channels, bar)
        };
        painter.text(
            pos2(track.center().x, bottom + 3.0),
            Align2::CENTER_TOP,
            channel_label,
            egui::FontId::proportional(11.0),
            theme::SCALE_TEXT,
        );
        // The lamps are per channel even when one loudness bar stands for all.
        if bars == channels {
            let lamp = Rect::from_min_size(
                pos2(track.left(), bottom + 18.0),
                vec2(bar_width, LAMP_HEIGHT),
            );
            clip_lamp(ui, model, side, bar, lamp);
        }
    }
    if bars == 1 && channels > 1 {
        // One lamp for each channel under the single bar.
        let track = track_of(0);
        let w = (track.width() - 2.0 * (channels as f32 - 1.0)) / channels as f32;
        for ch in 0..channels {
            let lamp = Rect::from_min_size(
                pos2(track.left() + ch as f32 * (w + 2.0), bottom + 18.0),
                vec2(w, LAMP_HEIGHT),
            );
            clip_lamp(ui, model, side, ch, lamp);
        }
    }
}

/// The scale's marks as labels and ticks in `rect` (the label column left of the bars).
fn draw_scale_labels(ui: &Ui, face: &BarScale, rect: Rect) {
    let painter = ui.painter();
    let mut last_y = f32::NEG_INFINITY;
    // From the top down, so the top of the scale always keeps its label.
    for &(value, label) in face.marks.iter().rev() {
        let y = rect.bottom() - face.position(value) * rect.height();
        painter.line_segment(
            [pos2(rect.right(), y), pos2(rect.right() + 3.0, y)],
            Stroke::new(1.0, theme::SCALE_TEXT),
        );
        if label.is_empty() || y - last_y < MIN_LABEL_SPACING {
            continue;
        }
        let color = if value >= face.over_from {
            theme::OVER
        } else {
            theme::SCALE_TEXT
        };
        painter.text(
            pos2(rect.right() - 2.0, y),
            Align2::RIGHT_CENTER,
            label,
            theme::scale_font(),
            color,
        );
        last_y = y;
    }
}

/// One bar: track, target band, ceiling, the level in its zone colours, and the markers.
fn draw_bar(
    ui: &Ui,
    track: Rect,
    face: &BarScale,
    level: f32,
    band: (f32, f32),
    ceiling: Option<f32>,
    (hold, true_peak): (Option<f32>, Option<f32>),
) {
    let painter = ui.painter_at(track.expand(3.0));
    painter.rect_filled(track, 2.0, theme::TRACK);
    let y = |value: f32| track.bottom() - face.position(value) * track.height();
    let span = |from: f32, to: f32| Rect::from_x_y_ranges(track.x_range(), to..=from);
    let (lo, hi) = (band.0.max(face.bottom), band.1.min(face.top));
    if lo < hi {
        // A faint wash behind the bar and a solid stripe along its left edge, so the level
        // inside the band stays readable.
        painter.rect_filled(
            span(y(lo), y(hi)),
            0.0,
            theme::TARGET_BAND.gamma_multiply(0.5),
        );
    }
    // The level, drawn in up to three zones.
    let level_y = y(level);
    let zones = [
        (f32::NEG_INFINITY, face.caution_from, theme::NORMAL),
        (face.caution_from, face.over_from, theme::CAUTION),
        (face.over_from, f32::INFINITY, theme::OVER),
    ];
    for (from, to, color) in zones {
        let from_y = if from.is_finite() {
            y(from)
        } else {
            track.bottom()
        };
        let to_y = if to.is_finite() { y(to) } else { track.top() };
        let top = to_y.max(level_y);
        if top < from_y {
            painter.rect_filled(span(from_y, top), 0.0, color);
        }
    }
    if lo < hi {
        let stripe = Rect::from_x_y_ranges(track.left()..=track.left() + 3.0, y(hi)..=y(lo));
        painter.rect_filled(stripe, 0.0, theme::ACCENT);
    }
    if let Some(c) = ceiling.filter(|c| *c <= face.top && *c >= face.bottom) {
        let cy = y(c);
        painter.line_segment(
            [pos2(track.left(), cy), pos2(track.right(), cy)],
            Stroke::new(1.5, theme::CEILING),
        );
    }
    for (marker, color) in [(hold, theme::PEAK_HOLD), (true_peak, theme::TRUE_PEAK)] {
        if let Some(v) = marker.filter(|v| v.is_finite() && *v > face.bottom) {
            let my = y(v);
            painter.line_segment(
                [pos2(track.left(), my), pos2(track.right(), my)],
                Stroke::new(2.0, color),
            );
        }
    }
}

/// The clip lamp of `side`'s `channel`: lit while clips are latched, shows their count, and
/// clears on click. Amber when only true-peak overs happened.
fn clip_lamp(ui: &mut Ui, model: &mut EditorModel, side: Side, channel: usize, rect: Rect) {
    let id = ui.scope_id().with(("clip", side.name(), channel));
    let response = ui.interact(rect, id, Sense::click());
    let channels = model.channels(side);
    let clips = model.clips_since_latch(side, channel);
    let overs = model.overs(side, channel);
    let label = format!("{} clip {}", side.name(), channel_name(channels, channel));
    response.widget_info(|| {
        let mut info = WidgetInfo::labeled(Role::Button, true, label.as_str());
        info.value = Some(clips as f64);
        info
    });
    let response = response.on_hover_text(format!(
        "{clips} clipped samples (at or above 0 dBFS) since the last click, {overs} true-peak overs. Click to clear."
    ));
    if response.clicked() {
        model.reset_clip_latch(side, channel);
    }
    let (fill, text_color) = if clips > 0 {
        (theme::OVER, Color32::WHITE)
    } else if overs > 0 {
        (theme::CAUTION.gamma_multiply(0.7), Color32::BLACK)
    } else {
        (
            Color32::from_rgb(52, 30, 30),
            Color32::from_rgb(120, 80, 80),
        )
    };
    let painter = ui.painter();
    painter.rect_filled(rect, 2.0, fill);
    let text = if clips > 0 {
        if clips > 999 {
            "999+".to_string()
        } else {
            clips.to_string()
        }
    } else {
        "C".to_string()
    };
    painter.text(
        rect.center(),
        Align2::CENTER_CENTER,
        text,
        egui::FontId::proportional(10.0),
        text_color,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channel_names() {
        assert_eq!(channel_name(1, 0), "M");
        assert_eq!(channel_name(2, 0), "L");
        assert_eq!(channel_name(2, 1), "R");
    }
}
