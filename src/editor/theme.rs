//! Colours, type sizes and the egui style of the editor: a dark meter bridge with one accent.

use egui::{Color32, FontId, RichText};

/// Window background.
pub const BACKGROUND: Color32 = Color32::from_rgb(22, 24, 28);
/// Panels (toolbar, history strip).
pub const PANEL: Color32 = Color32::from_rgb(30, 33, 38);
/// A meter's empty track.
pub const TRACK: Color32 = Color32::from_rgb(44, 48, 55);
/// Tick marks and scale labels.
pub const SCALE_TEXT: Color32 = Color32::from_rgb(170, 176, 186);
/// Captions above groups.
pub const CAPTION: Color32 = Color32::from_rgb(140, 147, 158);
/// Numbers in the readouts.
pub const VALUE_TEXT: Color32 = Color32::from_rgb(236, 239, 244);
/// The accent: knob arcs, focus, the selected tab.
pub const ACCENT: Color32 = Color32::from_rgb(90, 170, 255);
/// Bars below the caution zone.
pub const NORMAL: Color32 = Color32::from_rgb(70, 200, 120);
/// Bars in the caution zone.
pub const CAUTION: Color32 = Color32::from_rgb(240, 196, 60);
/// Bars over the scale's limit, clip lamps, the VU face's red arc.
pub const OVER: Color32 = Color32::from_rgb(235, 64, 52);
/// The average-target band (translucent).
pub const TARGET_BAND: Color32 = Color32::from_rgba_premultiplied(40, 90, 150, 90);
/// The peak ceiling line.
pub const CEILING: Color32 = Color32::from_rgb(255, 140, 60);
/// The peak-hold marker.
pub const PEAK_HOLD: Color32 = Color32::from_rgb(245, 245, 245);
/// The true-peak marker.
pub const TRUE_PEAK: Color32 = Color32::from_rgb(255, 110, 200);
/// A knob's body.
pub const KNOB_BODY: Color32 = Color32::from_rgb(52, 57, 66);
/// A knob's rim.
pub const KNOB_RIM: Color32 = Color32::from_rgb(80, 86, 96);
/// The VU face's paper.
pub const VU_FACE: Color32 = Color32::from_rgb(238, 226, 190);
/// Ink on the VU face.
pub const VU_INK: Color32 = Color32::from_rgb(30, 28, 24);
/// The VU needle.
pub const VU_NEEDLE: Color32 = Color32::from_rgb(20, 20, 20);
/// History: short-term loudness.
pub const HISTORY_LOUDNESS: Color32 = Color32::from_rgb(90, 170, 255);
/// History: sample peak.
pub const HISTORY_PEAK: Color32 = Color32::from_rgb(120, 130, 145);

/// Scale labels next to bars.
pub fn scale_font() -> FontId {
    FontId::proportional(10.5)
}

/// A small caption in capitals' colour.
pub fn caption(text: &str) -> RichText {
    RichText::new(text).size(11.5).color(CAPTION)
}

/// Applies the editor's look to a context.
pub fn apply(ctx: &egui::Context) {
    ctx.style_mut_of(egui::Theme::Dark, |style| {
        style.visuals = egui::Visuals::dark();
        style.visuals.panel_fill = BACKGROUND;
        style.visuals.window_fill = PANEL;
        style.visuals.extreme_bg_color = Color32::from_rgb(16, 17, 20);
        style.visuals.selection.bg_fill = ACCENT.gamma_multiply(0.6);
        style.spacing.item_spacing = egui::vec2(8.0, 6.0);
        style.spacing.button_padding = egui::vec2(8.0, 3.0);
    });
    ctx.set_theme(egui::Theme::Dark);
}
