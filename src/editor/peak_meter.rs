//! A vertical peak meter for one channel: the ballistic peak as a bar, the highest peak since
//! the previous frame as a line, and a clip lamp.

use egui::{Color32, Rect, Sense, Stroke, Ui, Vec2};

use super::scale::{db_to_fraction, PEAK_FLOOR_DB, PEAK_TOP_DB};

/// What one channel's bar shows.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PeakBar {
    /// The displayed (held and falling) peak, dBFS.
    pub current_db: f32,
    /// The highest peak since the previous frame, dBFS: drawn as a line so no peak is invisible.
    pub recent_max_db: f32,
    /// Whether this channel has clipped since reset.
    pub clipped: bool,
}

const CLIP_LAMP_HEIGHT: f32 = 8.0;

/// Draws one bar into a `size` area and returns the response (click resets are handled by the
/// caller).
pub fn peak_bar(ui: &mut Ui, size: Vec2, bar: PeakBar) -> egui::Response {
    let (rect, response) = ui.allocate_exact_size(size, Sense::click());
    let painter = ui.painter_at(rect);
    let lamp = Rect::from_min_size(rect.min, Vec2::new(rect.width(), CLIP_LAMP_HEIGHT));
    painter.rect_filled(
        lamp,
        1.0,
        if bar.clipped {
            Color32::RED
        } else {
            Color32::from_gray(40)
        },
    );
    let track = Rect::from_min_max(rect.min + Vec2::new(0.0, CLIP_LAMP_HEIGHT + 2.0), rect.max);
    painter.rect_filled(track, 1.0, Color32::from_gray(24));
    let level = db_to_fraction(
        bar.current_db.max(bar.recent_max_db),
        PEAK_FLOOR_DB,
        PEAK_TOP_DB,
    );
    let fill_top = track.bottom() - level * track.height();
    let color = if bar.current_db >= 0.0 {
        Color32::RED
    } else if bar.current_db >= -6.0 {
        Color32::from_rgb(230, 190, 40)
    } else {
        Color32::from_rgb(60, 190, 90)
    };
    painter.rect_filled(
        Rect::from_min_max(egui::pos2(track.left(), fill_top), track.max),
        0.0,
        color,
    );
    // 0 dBFS and -18 dBFS (the usual average target) as reference lines.
    for (db, gray) in [(0.0, 200), (-18.0, 120)] {
        let y = track.bottom() - db_to_fraction(db, PEAK_FLOOR_DB, PEAK_TOP_DB) * track.height();
        painter.line_segment(
            [egui::pos2(track.left(), y), egui::pos2(track.right(), y)],
            Stroke::new(1.0, Color32::from_gray(gray)),
        );
    }
    response
}
