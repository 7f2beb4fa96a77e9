//! The history graph: short-term loudness and sample peak over the last 1, 3 or 10 minutes,
//! with the target line. The audio thread records the points (10 per second); this only draws
//! them, one column of pixels at a time, so ten minutes cost no more than one.

use egui::{pos2, vec2, Align2, Color32, FontId, Pos2, Rect, Sense, Shape, Stroke, Ui, Vec2};
use trimeter_meters::history::{HistoryPoint, HISTORY_RATE_HZ};

use super::theme;

/// The graph's level range, dB (dBFS for peaks, LUFS for loudness).
pub const HISTORY_RANGE_DB: (f32, f32) = (-60.0, 0.0);

/// Where a level sits in the graph, 0.0 (bottom) to 1.0 (top); silence at the bottom.
pub fn history_y(db: f32) -> f32 {
    let (lo, hi) = HISTORY_RANGE_DB;
    if db.is_nan() || db <= lo {
        0.0
    } else {
        ((db - lo) / (hi - lo)).min(1.0)
    }
}

/// A time axis label for `seconds_ago`: "now", "-30 s", "-2:00".
pub fn time_label(seconds_ago: u32) -> String {
    if seconds_ago == 0 {
        "now".to_string()
    } else if seconds_ago < 60 {
        format!("-{seconds_ago} s")
    } else {
        format!("-{}:{:02}", seconds_ago / 60, seconds_ago % 60)
    }
}

/// Per pixel column: the highest peak and the last loudness of the points in that column.
/// `points` are the newest, oldest first; `span_points` is how many points the width stands for.
pub fn columns(points: &[HistoryPoint], span_points: usize, width: usize) -> Vec<(f32, f32)> {
    let mut out = vec![(f32::NEG_INFINITY, f32::NEG_INFINITY); width];
    if width == 0 || span_points == 0 {
        return out;
    }
    // The newest point is at the right edge.
    let offset = span_points.saturating_sub(points.len());
    for (i, p) in points.iter().enumerate() {
        let column = ((offset + i) * width / span_points).min(width - 1);
        let c = &mut out[column];
        c.0 = c.0.max(p.sample_peak_dbfs);
        c.1 = p.short_term_lufs;
    }
    out
}

/// Draws the graph of `points` (the newest `seconds` of them) into `size`.
pub fn history_graph(
    ui: &mut Ui,
    size: Vec2,
    points: &[HistoryPoint],
    seconds: u32,
    target_db: f32,
    ceiling_db: f32,
) {
    let (rect, response) = ui.allocate_exact_size(size, Sense::hover());
    response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Figure, true, "Level history"));
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 4.0, Color32::from_rgb(16, 17, 20));
    let plot = Rect::from_min_max(rect.min + vec2(40.0, 20.0), rect.max - vec2(10.0, 20.0));
    let y = |db: f32| plot.bottom() - history_y(db) * plot.height();
    for db in [-60.0f32, -48.0, -36.0, -24.0, -12.0, 0.0] {
        let gy = y(db);
        painter.line_segment(
            [pos2(plot.left(), gy), pos2(plot.right(), gy)],
            Stroke::new(1.0, Color32::from_rgb(36, 39, 45)),
        );
        painter.text(
            pos2(plot.left() - 6.0, gy),
            Align2::RIGHT_CENTER,
            format!("{db:.0}"),
            theme::scale_font(),
            theme::SCALE_TEXT,
        );
    }
    let ticks = match seconds {
        60 => 6,
        180 => 6,
        _ => 10,
    };
    for i in 0..=ticks {
        let ago = seconds - seconds * i / ticks;
        let x = plot.left() + plot.width() * i as f32 / ticks as f32;
        painter.line_segment(
            [pos2(x, plot.top()), pos2(x, plot.bottom())],
            Stroke::new(1.0, Color32::from_rgb(30, 33, 38)),
        );
        let align = if i == ticks {
            Align2::RIGHT_TOP
        } else if i == 0 {
            Align2::LEFT_TOP
        } else {
            Align2::CENTER_TOP
        };
        painter.text(
            pos2(x, plot.bottom() + 4.0),
            align,
            time_label(ago),
            theme::scale_font(),
            theme::SCALE_TEXT,
        );
    }
    let width = plot.width().max(1.0) as usize;
    let span = (seconds as f64 * HISTORY_RATE_HZ) as usize;
    let cols = columns(points, span, width);
    let x_of = |c: usize| plot.left() + (c as f32 + 0.5) * plot.width() / width as f32;
    // Peaks as a filled envelope, loudness as a line over it.
    let mut peak_shapes = Vec::new();
    let mut loudness: Vec<Pos2> = Vec::new();
    let mut lines = Vec::new();
    for (c, &(peak, st)) in cols.iter().enumerate() {
        if peak.is_finite() && peak > HISTORY_RANGE_DB.0 {
            let x = x_of(c);
            peak_shapes.push(Shape::line_segment(
                [pos2(x, plot.bottom()), pos2(x, y(peak))],
                Stroke::new(
                    plot.width() / width as f32 + 0.1,
                    theme::HISTORY_PEAK.gamma_multiply(0.55),
                ),
            ));
        }
        if st.is_finite() && st > HISTORY_RANGE_DB.0 {
            loudness.push(pos2(x_of(c), y(st)));
        } else if loudness.len() > 1 {
            lines.push(std::mem::take(&mut loudness));
        } else {
            loudness.clear();
        }
    }
    if loudness.len() > 1 {
        lines.push(loudness);
    }
    painter.extend(peak_shapes);
    for line in lines {
        painter.add(Shape::line(line, Stroke::new(1.8, theme::HISTORY_LOUDNESS)));
    }
    for (db, color, label) in [
        (target_db, theme::ACCENT, "target"),
        (ceiling_db, theme::CEILING, "ceiling"),
    ] {
        let ly = y(db);
        painter.line_segment(
            [pos2(plot.left(), ly), pos2(plot.right(), ly)],
            Stroke::new(1.0, color.gamma_multiply(0.8)),
        );
        painter.text(
            pos2(plot.left() + 4.0, ly - 2.0),
            Align2::LEFT_BOTTOM,
            format!("{label} {db:.0}"),
            FontId::proportional(10.0),
            color,
        );
    }
    let legend = [
        ("Short-term LUFS", theme::HISTORY_LOUDNESS),
        ("Sample peak dBFS", theme::HISTORY_PEAK),
    ];
    let mut lx = plot.right() - 8.0;
    for (text, color) in legend.iter().rev() {
        let galley = painter.layout_no_wrap(text.to_string(), FontId::proportional(10.5), *color);
        lx -= galley.size().x;
        painter.galley(pos2(lx, rect.top() + 3.0), galley, *color);
        lx -= 6.0;
        painter.rect_filled(
            Rect::from_min_size(pos2(lx - 8.0, rect.top() + 8.0), vec2(8.0, 3.0)),
            0.0,
            *color,
        );
        lx -= 18.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(st: f32, peak: f32) -> HistoryPoint {
        HistoryPoint {
            short_term_lufs: st,
            sample_peak_dbfs: peak,
        }
    }

    #[test]
    fn levels_map_into_the_graph() {
        assert_eq!(history_y(f32::NEG_INFINITY), 0.0);
        assert_eq!(history_y(-60.0), 0.0);
        assert_eq!(history_y(0.0), 1.0);
        assert_eq!(history_y(6.0), 1.0);
        assert!((history_y(-30.0) - 0.5).abs() < 1e-6);
    }

    #[test]
    fn time_labels() {
        assert_eq!(time_label(0), "now");
        assert_eq!(time_label(30), "-30 s");
        assert_eq!(time_label(120), "-2:00");
        assert_eq!(time_label(90), "-1:30");
    }

    #[test]
    fn columns_keep_every_peak_and_put_the_newest_point_right() {
        // 10 points over a span of 20, 5 columns: the points fill the right half.
        let mut points: Vec<HistoryPoint> =
            (0..10).map(|i| point(-20.0 - i as f32, -30.0)).collect();
        points[3].sample_peak_dbfs = -1.0;
        let cols = columns(&points, 20, 5);
        assert_eq!(cols[0].0, f32::NEG_INFINITY);
        assert_eq!(cols[1].0, f32::NEG_INFINITY);
        // Point 3 lands in column (10 + 3) * 5 / 20 = 3.
        assert_eq!(cols[3].0, -1.0);
        assert_eq!(cols[4].1, -29.0);
    }
}
