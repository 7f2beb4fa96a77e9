//! Trimeter: a gain-staging plugin. An input trim and an output makeup around standards-exact
//! meters (sample and true peak, RMS/AES17, VU, PPM, K-system, EBU R128 loudness) for the input
//! and the output.
//!
//! `process()` is a thin adapter: it reads the parameters (atomics), hands plain slices to the
//! framework-free gain stage and meter engines of [`trimeter_meters`], and publishes the readings
//! through its lock-free [`readout`](trimeter_meters::readout) for the editor.

use std::num::NonZeroU32;
use std::sync::Arc;

use nice_plug::prelude::*;
use nice_plug_egui::{EguiEditorState, RepaintNotifier};

pub mod editor;
pub mod params;

use params::TrimeterParams;
use trimeter_meters::readout::{readout, MeterFrame, ReadoutReader, ReadoutWriter};
use trimeter_meters::{EngineConfig, GainStage, MeterEngine, MAX_CHANNELS};

/// The block length meters and the gain stage are prepared for before the host tells us its
/// own maximum in `activate()`.
const DEFAULT_MAX_BLOCK: usize = 4096;

/// The plugin instance.
pub struct Trimeter {
    params: Arc<TrimeterParams>,
    /// Trim, makeup, polarity, bypass and the non-finite guard.
    gain: GainStage,
    /// Meters on the input (after polarity, before trim).
    input_meters: MeterEngine,
    /// Meters on the output (after makeup and bypass).
    output_meters: MeterEngine,
    /// The audio thread's end of the readout.
    readout_writer: ReadoutWriter,
    /// The reader's end, handed to the editor when the host asks for one.
    readout_reader: Option<ReadoutReader>,
    /// The editor window's size and open state.
    editor_state: Arc<EguiEditorState>,
    /// Tells the editor to redraw; an atomic flag, safe to raise from the audio thread.
    repaint: RepaintNotifier,
    /// The channel count of the active layout.
    channels: usize,
    /// The sample rate of the active configuration, Hz.
    sample_rate: f64,
}

impl Default for Trimeter {
    fn default() -> Self {
        let (writer, reader) = readout();
        let config = EngineConfig {
            max_block: DEFAULT_MAX_BLOCK,
            ..EngineConfig::default()
        };
        let params = Arc::new(TrimeterParams::default());
        let mut gain = GainStage::new();
        gain.prepare(
            config.sample_rate,
            DEFAULT_MAX_BLOCK,
            config.channels,
            &params.gain_targets(),
        );
        Self {
            params,
            gain,
            input_meters: MeterEngine::new(config),
            output_meters: MeterEngine::new(config),
            readout_writer: writer,
            readout_reader: Some(reader),
            editor_state: editor::default_state(),
            repaint: RepaintNotifier::new(),
            channels: config.channels,
            sample_rate: config.sample_rate,
        }
    }
}

impl Plugin for Trimeter {
    const NAME: &'static str = "Trimeter";
    const VENDOR: &'static str = "Trimeter Audio";
    const URL: &'static str = "";
    const EMAIL: &'static str = "";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    const AUDIO_IO_LAYOUTS: &'static [AudioIOLayout] = &[
        AudioIOLayout {
            main_input_channels: NonZeroU32::new(2),
            main_output_channels: NonZeroU32::new(2),
            ..AudioIOLayout::const_default()
        },
        AudioIOLayout {
            main_input_channels: NonZeroU32::new(1),
            main_output_channels: NonZeroU32::new(1),
            ..AudioIOLayout::const_default()
        },
    ];

    const SAMPLE_ACCURATE_AUTOMATION: bool = false;

    type Editor = nice_plug_egui::EguiEditor<editor::TrimeterEditor>;
    type SysExMessage = ();
    type BackgroundTask = ();

    fn params(&self) -> Arc<dyn Params> {
        self.params.clone()
    }

    fn editor(&mut self, _async_executor: AsyncExecutor<Self>) -> Option<Self::Editor> {
        // The readout has one reader; the host asks for the editor once per instance.
        let reader = self.readout_reader.take()?;
        editor::create(
            self.params.clone(),
            self.editor_state.clone(),
            self.repaint.clone(),
            reader,
        )
    }

    fn activate(
        &mut self,
        audio_io_layout: &AudioIOLayout,
        buffer_config: &BufferConfig,
        _context: &mut impl ActivateContext<Self>,
    ) -> bool {
        let channels = audio_io_layout
            .main_output_channels
            .map_or(0, |c| c.get() as usize)
            .min(MAX_CHANNELS);
        if channels == 0 || buffer_config.sample_rate.is_nan() || buffer_config.sample_rate <= 0.0 {
            return false;
        }
        let sample_rate = f64::from(buffer_config.sample_rate);
        let max_block = (buffer_config.max_buffer_size as usize).clamp(1, 16_384);
        let config = EngineConfig {
            sample_rate,
            channels,
            max_block,
            ..EngineConfig::default()
        };
        self.gain.prepare(
            sample_rate,
            max_block,
            channels,
            &self.params.gain_targets(),
        );
        self.input_meters.configure(config);
        self.output_meters.configure(config);
        self.channels = channels;
        self.sample_rate = sample_rate;
        true
    }

    fn reset(&mut self) {
        self.gain.reset(&self.params.gain_targets());
        self.input_meters.reset();
        self.output_meters.reset();
    }

    fn process(
        &mut self,
        buffer: &mut Buffer,
        _aux: &mut AuxiliaryBuffers,
        _context: &mut impl ProcessContext<Self>,
    ) -> ProcessStatus {
        self.gain.set_targets(&self.params.gain_targets());
        let channels = buffer.as_slice();
        let n = channels.len().min(self.channels);
        let frames = channels.first().map_or(0, |c| c.len());
        let mut offset = 0;
        while offset < frames {
            // Views of the next chunk; the gain stage says how much of it it took.
            let mut views: [&mut [f32]; MAX_CHANNELS] = Default::default();
            for (view, channel) in views.iter_mut().zip(channels.iter_mut()) {
                *view = channel.get_mut(offset..).unwrap_or_default();
            }
            let block = &mut views[..n];
            let done = self.gain.process_input(block);
            if done == 0 {
                break;
            }
            self.input_meters.process(&read_only(block, done)[..n]);
            self.gain.process_output(block);
            self.output_meters.process(&read_only(block, done)[..n]);
            offset += done;
        }
        self.publish();
        ProcessStatus::Normal
    }
}

/// Read-only views of the first `frames` frames of each channel, without allocating.
fn read_only<'a>(block: &'a [&mut [f32]], frames: usize) -> [&'a [f32]; MAX_CHANNELS] {
    let mut views: [&[f32]; MAX_CHANNELS] = [&[]; MAX_CHANNELS];
    for (view, channel) in views.iter_mut().zip(block) {
        *view = channel.get(..frames).unwrap_or(channel);
    }
    views
}

impl Trimeter {
    /// Hands this block's readings to the editor, if one is looking.
    fn publish(&mut self) {
        let input_peaks = self.input_meters.take_channel_peaks();
        let output_peaks = self.output_meters.take_channel_peaks();
        if !self.editor_state.is_open() {
            return;
        }
        let (trim_db, makeup_db) = self.gain.current_gain_db();
        let mut input = self.input_meters.snapshot();
        // Non-finite samples are caught by the gain stage before the engines see them.
        input.non_finite_samples = self.gain.non_finite_count();
        let frame = MeterFrame {
            input,
            output: self.output_meters.snapshot(),
            trim_db,
            makeup_db,
            sample_rate: self.sample_rate,
            sequence: 0,
        };
        self.readout_writer
            .publish(frame, &input_peaks, &output_peaks);
        self.repaint.request_repaint();
    }
}

impl ClapPlugin for Trimeter {
    const CLAP_ID: &'static str = "audio.trimeter.trimeter";
    const CLAP_DESCRIPTION: Option<&'static str> =
        Some("Gain staging: input trim and output makeup around standards-exact meters");
    const CLAP_MANUAL_URL: Option<&'static str> = None;
    const CLAP_SUPPORT_URL: Option<&'static str> = None;
    const CLAP_FEATURES: &'static [ClapFeature] = &[
        ClapFeature::AudioEffect,
        ClapFeature::Utility,
        ClapFeature::Analyzer,
        ClapFeature::Mono,
        ClapFeature::Stereo,
    ];
}

impl Vst3Plugin for Trimeter {
    const VST3_CLASS_ID: [u8; 16] = *b"TrimeterGainStg1";
    const VST3_SUBCATEGORIES: &'static [Vst3SubCategory] = &[
        Vst3SubCategory::Fx,
        Vst3SubCategory::Tools,
        Vst3SubCategory::Analyzer,
    ];
}

nice_export_clap!(Trimeter);
nice_export_vst3!(Trimeter);

#[cfg(test)]
mod tests {
    /// Every `assert_no_alloc` in this crate's tests (and nice-plug's guard around `process()`)
    /// only proves something if an allocation inside it really aborts. This test re-runs itself
    /// in a child process that allocates inside the guard and requires the child to die.
    #[test]
    fn allocation_inside_the_real_time_guard_aborts() {
        if std::env::var_os("TRIMETER_ALLOC_PROBE").is_some() {
            nice_assert_no_alloc::assert_no_alloc(|| {
                std::hint::black_box(vec![0u8; 64]);
            });
            return;
        }
        let output = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "tests::allocation_inside_the_real_time_guard_aborts",
                "--nocapture",
            ])
            .env("TRIMETER_ALLOC_PROBE", "1")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            !output.status.success(),
            "an allocation inside assert_no_alloc did not abort"
        );
        assert!(
            stderr.contains("memory allocation of 64 bytes failed"),
            "{stderr}"
        );
    }
}
