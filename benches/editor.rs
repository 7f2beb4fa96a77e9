//! CPU per editor frame: build, layout and tessellation of the whole UI at the default size,
//! from synthetic snapshots (real meter engines on a synthetic programme, advanced every frame so
//! every frame draws new levels). Prints the median and the 90th percentile over many frames.
//! Rendering on the GPU is not included (that is the driver's work, not ours).
//!
//! Run with `cargo bench --bench editor`; it also prints the CPU model. Under `cargo test` (no
//! `--bench` argument) it runs a few frames of each case only, as a smoke test.

use std::time::Instant;

use egui::{Pos2, RawInput, Rect};
use trimeter::editor::controls::RecordingControls;
use trimeter::editor::model::EditorModel;
use trimeter::editor::{theme, view};
use trimeter::settings::{EditorSettings, MeterMode, DEFAULT_WINDOW_SIZE};
use trimeter_meters::history::{history, HISTORY_CAPACITY};
use trimeter_meters::readout::{MeterFrame, Readings};
use trimeter_meters::{EngineConfig, MeterEngine};

const WARMUP_FRAMES: usize = 120;
const FRAMES: usize = 1200;
/// Frames per case under `cargo test`.
const SMOKE_FRAMES: usize = 5;
/// Audio between two frames at 60 frames per second and 48 kHz.
const FRAMES_PER_GUI_FRAME: usize = 800;

struct Programme {
    phase: f32,
    n: u64,
}

impl Programme {
    fn block(&mut self, out: &mut [Vec<f32>; 2]) {
        let [left, right] = out;
        for (l, r) in left.iter_mut().zip(right.iter_mut()) {
            let t = self.n as f32 / 48_000.0;
            let env = 0.6 + 0.4 * (std::f32::consts::TAU * 0.5 * t).sin();
            self.phase = (self.phase + 220.0 / 48_000.0).fract();
            let s = (std::f32::consts::TAU * self.phase).sin() * env * 0.2;
            *l = s;
            *r = s * 0.8;
            self.n += 1;
        }
    }
}

fn run(
    settings: EditorSettings,
    pixels_per_point: f32,
    warmup: usize,
    frames: usize,
) -> (f64, f64) {
    let ctx = egui::Context::default();
    theme::apply(&ctx);
    let mut input = MeterEngine::new(EngineConfig::default());
    let mut output = MeterEngine::new(EngineConfig::default());
    let (mut hist_writer, hist_reader) = history();
    let mut programme = Programme { phase: 0.0, n: 0 };
    let mut block = [
        vec![0.0; FRAMES_PER_GUI_FRAME],
        vec![0.0; FRAMES_PER_GUI_FRAME],
    ];
    // Ten minutes of history, so the graph draws its whole width.
    for _ in 0..HISTORY_CAPACITY {
        programme.block(&mut block);
        input.process(&[&block[0], &block[1]]);
        hist_writer.advance(4800, 0.2, || input.snapshot().loudness.short_term_lufs);
    }
    let mut model = EditorModel::new(settings);
    let mut controls = RecordingControls::default();
    let mut times = Vec::with_capacity(frames);
    let size = egui::vec2(DEFAULT_WINDOW_SIZE.0, DEFAULT_WINDOW_SIZE.1);
    for frame in 0..warmup + frames {
        programme.block(&mut block);
        input.process(&[&block[0], &block[1]]);
        output.process(&[&block[0], &block[1]]);
        model.readings = Readings {
            frame: MeterFrame {
                input: input.snapshot(),
                output: output.snapshot(),
                trim_db: 0.0,
                makeup_db: 0.0,
                sample_rate: 48_000.0,
                sequence: frame as u64,
            },
            input_peaks: input.take_channel_peaks(),
            output_peaks: output.take_channel_peaks(),
        };
        if frame % 6 == 0 {
            hist_writer.advance(4800, 0.2, || output.snapshot().loudness.short_term_lufs);
            hist_reader.copy_latest(1800, &mut model.output_history);
        }
        let mut raw = RawInput {
            screen_rect: Some(Rect::from_min_size(Pos2::ZERO, size)),
            time: Some(frame as f64 / 60.0),
            ..RawInput::default()
        };
        raw.viewports
            .entry(egui::ViewportId::ROOT)
            .or_default()
            .native_pixels_per_point = Some(pixels_per_point);
        let start = Instant::now();
        let mut out = ctx.run_ui(raw, |ui| view::editor_ui(ui, &mut model, &mut controls));
        let shapes = std::mem::take(&mut out.shapes);
        let primitives = ctx.tessellate(shapes, out.pixels_per_point);
        std::hint::black_box(primitives);
        let elapsed = start.elapsed().as_secs_f64();
        // The font atlas' uploads would go to the GPU; there is none here.
        out.textures_delta.clear();
        if frame >= warmup {
            times.push(elapsed);
        }
    }
    times.sort_by(f64::total_cmp);
    (times[times.len() / 2], times[times.len() * 9 / 10])
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` does not.
    let full = std::env::args().any(|a| a == "--bench");
    let (warmup, frames) = if full {
        (WARMUP_FRAMES, FRAMES)
    } else {
        (0, SMOKE_FRAMES)
    };
    if full {
        let cpu = trimeter_meters::simd::cpu_model();
        println!("CPU: {cpu}");
    }
    println!(
        "editor frame: build + layout + tessellation, {}x{} logical, median and p90 of {frames} frames",
        DEFAULT_WINDOW_SIZE.0, DEFAULT_WINDOW_SIZE.1
    );
    for (name, settings, ppp) in [
        ("default view, 1x", EditorSettings::default(), 1.0),
        ("default view, 2x", EditorSettings::default(), 2.0),
        (
            "VU bars, 1x",
            EditorSettings {
                meter_mode: MeterMode::Vu,
                ..EditorSettings::default()
            },
            1.0,
        ),
    ] {
        let (median, p90) = run(settings, ppp, warmup, frames);
        println!(
            "{name:>18}: median {:7.1} us, p90 {:7.1} us",
            median * 1e6,
            p90 * 1e6
        );
    }
}
