//! Trimeter: a gain-staging plugin. An input trim and an output makeup around standards-exact
//! meters (sample and true peak, RMS/AES17, VU, PPM, K-system, EBU R128 loudness) for the input
//! and the output.
//!
//! `process()` is a thin adapter: it reads the parameters (atomics), hands plain slices to the
//! framework-free gain stage and meter engines of [`trimeter_meters`], and publishes the readings
//! through its lock-free [`readout`](trimeter_meters::readout) for the editor.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use nice_plug::prelude::*;
use nice_plug_egui::{EguiEditorState, RepaintNotifier};

pub mod assistant;
pub mod editor;
pub mod link;
pub mod params;
pub mod settings;

use assistant::engine::{AssistantEngine, AssistantRequests, TransportInfo};
use assistant::StatusReader;
use params::TrimeterParams;
use settings::ResetRequests;
use trimeter_meters::history::{history, HistoryReader, HistoryWriter};
use trimeter_meters::readout::{readout, ChannelPeaks, MeterFrame, ReadoutReader, ReadoutWriter};
use trimeter_meters::staging::learn::LearnPhase;
use trimeter_meters::{EngineConfig, GainStage, MeterEngine, MAX_CHANNELS};

/// The block length meters and the gain stage are prepared for before the host tells us its
/// own maximum in `activate()`.
const DEFAULT_MAX_BLOCK: usize = 4096;

/// The editor is asked to repaint at most this often, per second.
const MAX_REPAINTS_PER_S: f64 = 60.0;

/// Frames published to an editor, by every instance in this process since it loaded: a
/// diagnostic the GUI host test reads to check that publishing runs while an editor is open and
/// stops when it closes.
static PUBLISHED_FRAMES: AtomicU64 = AtomicU64::new(0);

/// [`PUBLISHED_FRAMES`], for a host (or test) that loaded this library. Exported unmangled.
#[no_mangle]
pub extern "C" fn trimeter_published_frames() -> u64 {
    PUBLISHED_FRAMES.load(Ordering::Relaxed)
}

/// Repaints requested from an editor, by every instance in this process: the GUI host test
/// checks the cap of [`MAX_REPAINTS_PER_S`] per second of audio with it.
static REPAINT_REQUESTS: AtomicU64 = AtomicU64::new(0);

/// [`REPAINT_REQUESTS`], for a host (or test) that loaded this library. Exported unmangled.
#[no_mangle]
pub extern "C" fn trimeter_repaint_requests() -> u64 {
    REPAINT_REQUESTS.load(Ordering::Relaxed)
}

/// The assistant's view of the last block processed by any instance in this process: bit 0
/// playing, bit 1 measuring (not paused), bits 2-3 the learner's phase (0 idle, 1 learning,
/// 2 frozen), bits 32.. the jump count. A diagnostic the assistant's host tests read.
static ASSISTANT_TRANSPORT: AtomicU64 = AtomicU64::new(0);

/// [`ASSISTANT_TRANSPORT`], for a host (or test) that loaded this library. Exported unmangled.
#[no_mangle]
pub extern "C" fn trimeter_assistant_transport() -> u64 {
    ASSISTANT_TRANSPORT.load(Ordering::Relaxed)
}

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
    /// The input's level history (10 Hz, 10 minutes), recorded whether or not an editor is open.
    input_history: HistoryWriter,
    /// The output's level history.
    output_history: HistoryWriter,
    /// The readers of both histories, (input, output), handed to the editor.
    history_readers: (HistoryReader, HistoryReader),
    /// Resets the editor asks for; taken at the start of each block.
    resets: Arc<ResetRequests>,
    /// The VU reference the engines run with now, dBFS; compared with the settings' atomic.
    vu_reference_dbfs: f32,
    /// The frame last published, with sequence 0: tells whether anything visible changed.
    last_frame: MeterFrame,
    /// Something visible changed since the last repaint request.
    repaint_due: bool,
    /// Frames processed since the last repaint request.
    frames_since_repaint: u64,
    /// The editor window's size and open state.
    editor_state: Arc<EguiEditorState>,
    /// Tells the editor to redraw; an atomic flag, safe to raise from the audio thread.
    repaint: RepaintNotifier,
    /// The channel count of the active layout.
    channels: usize,
    /// The sample rate of the active configuration, Hz.
    sample_rate: f64,
    /// The level-match link and the registry slot (src/link.rs).
    link: link::Link,
    /// The gain-staging assistant: the learner on the pre-trim input, and the transport.
    assistant: AssistantEngine,
    /// Learn, Freeze and Reset from the editor's assistant panel.
    assistant_requests: Arc<AssistantRequests>,
    /// The assistant status's reading end, handed to the editor.
    assistant_status: Option<StatusReader>,
}

impl Default for Trimeter {
    fn default() -> Self {
        let (writer, reader) = readout();
        let (input_history, input_history_reader) = history();
        let (output_history, output_history_reader) = history();
        let params = Arc::new(TrimeterParams::default());
        let (status_writer, status_reader) = assistant::status_channel();
        let assistant_requests = Arc::new(AssistantRequests::default());
        let config = EngineConfig {
            max_block: DEFAULT_MAX_BLOCK,
            vu_reference_dbfs: params.editor.vu_reference_dbfs(),
            ..EngineConfig::default()
        };
        let mut gain = GainStage::new();
        gain.prepare(
            config.sample_rate,
            DEFAULT_MAX_BLOCK,
            config.channels,
            &params.gain_targets(),
        );
        let assistant = AssistantEngine::new(
            config,
            params.assistant.audio(),
            assistant_requests.clone(),
            status_writer,
        );
        Self {
            params,
            gain,
            input_meters: MeterEngine::new(config),
            output_meters: MeterEngine::new(config),
            readout_writer: writer,
            readout_reader: Some(reader),
            input_history,
            output_history,
            history_readers: (input_history_reader, output_history_reader),
            resets: Arc::new(ResetRequests::default()),
            vu_reference_dbfs: config.vu_reference_dbfs,
            last_frame: MeterFrame::default(),
            repaint_due: true,
            frames_since_repaint: 0,
            editor_state: editor::default_state(),
            repaint: RepaintNotifier::new(),
            channels: config.channels,
            sample_rate: config.sample_rate,
            link: link::Link::default(),
            assistant,
            assistant_requests,
            assistant_status: Some(status_reader),
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
        let assistant_status = self.assistant_status.take()?;
        editor::create(editor::EditorLinks {
            params: self.params.clone(),
            state: self.editor_state.clone(),
            repaint: self.repaint.clone(),
            readout: reader,
            input_history: self.history_readers.0.clone(),
            output_history: self.history_readers.1.clone(),
            resets: self.resets.clone(),
            link: self.link.status(),
            assistant_status,
            assistant_requests: self.assistant_requests.clone(),
        })
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
        self.vu_reference_dbfs = self.params.editor.vu_reference_dbfs();
        let config = EngineConfig {
            sample_rate,
            channels,
            max_block,
            vu_reference_dbfs: self.vu_reference_dbfs,
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
        self.assistant.prepare(config);
        self.input_history.prepare(sample_rate);
        self.output_history.prepare(sample_rate);
        self.channels = channels;
        self.sample_rate = sample_rate;
        let label = self.params.link.display_label();
        self.link
            .activate(sample_rate, self.gain.max_chunk(), channels, &label);
        true
    }

    fn deactivate(&mut self) {
        self.link.deactivate();
    }

    fn reset(&mut self) {
        self.gain.reset(&self.params.gain_targets());
        self.input_meters.reset();
        self.output_meters.reset();
        self.link.reset();
    }

    fn process(
        &mut self,
        buffer: &mut Buffer,
        _aux: &mut AuxiliaryBuffers,
        context: &mut impl ProcessContext<Self>,
    ) -> ProcessStatus {
        let targets = self.params.gain_targets();
        self.gain.set_targets(&targets);
        self.apply_editor_requests();
        let channels = buffer.as_slice();
        let n = channels.len().min(self.channels);
        let frames = channels.first().map_or(0, |c| c.len());
        self.link.begin_block(&self.params.link, frames);
        self.begin_assistant_block(transport_info(context.transport()), frames);
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
            let input = read_only(block, done);
            self.input_meters.process(&input[..n]);
            self.assistant.process(&input[..n]);
            self.link.input(&input[..n]);
            self.gain.process_output(block);
            self.link.output(block, done, targets.bypass);
            self.output_meters.process(&read_only(block, done)[..n]);
            offset += done;
        }
        self.end_link_block(offset);

        let input_peaks = self.input_meters.take_channel_peaks();
        let output_peaks = self.output_meters.take_channel_peaks();
        self.record_history(offset, &input_peaks, &output_peaks);
        // Before publishing, so a new assistant status asks for this block's repaint.
        if self
            .assistant
            .end_block(offset, self.editor_state.is_open())
        {
            self.repaint_due = true;
        }
        self.publish(offset, &input_peaks, &output_peaks);
        ProcessStatus::Normal
    }
}

/// Read-only views of the first `frames` frames of each channel, without allocating.
pub(crate) fn read_only<'a>(block: &'a [&mut [f32]], frames: usize) -> [&'a [f32]; MAX_CHANNELS] {
    let mut views: [&[f32]; MAX_CHANNELS] = [&[]; MAX_CHANNELS];
    for (view, channel) in views.iter_mut().zip(block) {
        *view = channel.get(..frames).unwrap_or(channel);
    }
    views
}

/// The host's transport as the assistant needs it. A host that reports none (no play state,
/// position, tempo or bar) leaves every field of nice-plug's `Transport` empty.
fn transport_info(transport: &Transport) -> TransportInfo {
    let pos_samples = transport.pos_samples();
    TransportInfo {
        reported: transport.playing
            || pos_samples.is_some()
            || transport.tempo.is_some()
            || transport.bar_number().is_some(),
        playing: transport.playing,
        pos_samples,
    }
}

impl Trimeter {
    /// The link's part of the block end: levels and the assistant's suggested trim (for its
    /// target, read lock-free in [`Self::begin_assistant_block`]) to the registry slot.
    fn end_link_block(&mut self, frames: usize) {
        let assistant = &self.assistant;
        self.link.end_block(
            &self.input_meters,
            &self.output_meters,
            self.vu_reference_dbfs,
            frames,
            |input| assistant.overview_trim(input),
        );
    }

    /// The assistant's part of the block start: the transport decides whether the integrating
    /// loudness meters measure (paused while stopped, if so chosen) and whether they restart.
    fn begin_assistant_block(&mut self, transport: TransportInfo, frames: usize) {
        let plan = self
            .assistant
            .begin_block(self.params.assistant.audio(), transport, frames);
        for meters in [&mut self.input_meters, &mut self.output_meters] {
            if plan.reset_integrated {
                meters.reset_loudness();
            }
            meters.set_loudness_paused(!plan.measure);
        }
        let phase: u64 = match self.assistant.phase() {
            LearnPhase::Idle => 0,
            LearnPhase::Learning => 1,
            LearnPhase::Frozen => 2,
        };
        let state = u64::from(self.assistant.playing())
            | u64::from(plan.measure) << 1
            | phase << 2
            | u64::from(self.assistant.jumps()) << 32;
        ASSISTANT_TRANSPORT.store(state, Ordering::Relaxed);
    }

    /// Applies what the editor asked for since the previous block: meter resets, and a changed
    /// VU reference (which keeps the pointer where it is). Lock-free; never allocates.
    fn apply_editor_requests(&mut self) {
        let vu_reference_dbfs = self.params.editor.vu_reference_dbfs();
        if vu_reference_dbfs.to_bits() != self.vu_reference_dbfs.to_bits() {
            self.vu_reference_dbfs = vu_reference_dbfs;
            self.input_meters.set_vu_reference_dbfs(vu_reference_dbfs);
            self.output_meters.set_vu_reference_dbfs(vu_reference_dbfs);
        }
        let resets = self.resets.take();
        if resets == 0 {
            return;
        }
        if resets & ResetRequests::ALL != 0 {
            self.input_meters.reset();
            self.output_meters.reset();
            self.gain.reset_non_finite_count();
        }
        for (meters, sample, true_peak, loudness) in [
            (
                &mut self.input_meters,
                ResetRequests::INPUT_SAMPLE_PEAK,
                ResetRequests::INPUT_TRUE_PEAK,
                ResetRequests::INPUT_LOUDNESS,
            ),
            (
                &mut self.output_meters,
                ResetRequests::OUTPUT_SAMPLE_PEAK,
                ResetRequests::OUTPUT_TRUE_PEAK,
                ResetRequests::OUTPUT_LOUDNESS,
            ),
        ] {
            if resets & sample != 0 {
                meters.reset_sample_peak();
            }
            if resets & true_peak != 0 {
                meters.reset_true_peak();
            }
            if resets & loudness != 0 {
                meters.reset_loudness();
            }
        }
        self.repaint_due = true;
    }

    /// Records this block into the level histories (always, editor open or not).
    fn record_history(
        &mut self,
        frames: usize,
        input_peaks: &ChannelPeaks,
        output_peaks: &ChannelPeaks,
    ) {
        let n = self.channels;
        let input_peak = input_peaks.sample[..n].iter().copied().fold(0.0, f32::max);
        let output_peak = output_peaks.sample[..n].iter().copied().fold(0.0, f32::max);
        let input_meters = &self.input_meters;
        let output_meters = &self.output_meters;
        let recorded = self.input_history.advance(frames, input_peak, || {
            input_meters.snapshot().loudness.short_term_lufs
        }) + self.output_history.advance(frames, output_peak, || {
            output_meters.snapshot().loudness.short_term_lufs
        });
        if recorded > 0 {
            self.repaint_due = true;
        }
    }

    /// Hands this block's readings to the editor, if one is looking, and asks it to repaint
    /// when something visible changed, at most [`MAX_REPAINTS_PER_S`] times a second.
    fn publish(&mut self, frames: usize, input_peaks: &ChannelPeaks, output_peaks: &ChannelPeaks) {
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
        let peaks_arrived = input_peaks.sample.iter().any(|&p| p > 0.0)
            || output_peaks.sample.iter().any(|&p| p > 0.0);
        if frame != self.last_frame || peaks_arrived {
            self.repaint_due = true;
        }
        self.last_frame = frame;
        self.readout_writer
            .publish(frame, input_peaks, output_peaks);
        PUBLISHED_FRAMES.fetch_add(1, Ordering::Relaxed);
        self.frames_since_repaint += frames as u64;
        let min_frames = (self.sample_rate / MAX_REPAINTS_PER_S) as u64;
        if self.repaint_due && self.frames_since_repaint >= min_frames {
            self.repaint.request_repaint();
            REPAINT_REQUESTS.fetch_add(1, Ordering::Relaxed);
            self.repaint_due = false;
            self.frames_since_repaint = 0;
        }
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
    use super::*;
    use crate::assistant::engine::TransportInfo;
    use crate::settings::EditorSettings;
    use nice_assert_no_alloc::assert_no_alloc;

    #[test]
    fn a_new_vu_reference_reaches_both_engines_without_allocating() {
        let mut plugin = Trimeter::default();
        assert_eq!(plugin.output_meters.config().vu_reference_dbfs, -18.0);
        plugin.params.editor.set(EditorSettings {
            vu_reference_dbfs: -8.0,
            ..EditorSettings::default()
        });
        assert_no_alloc(|| plugin.apply_editor_requests());
        assert_eq!(plugin.input_meters.config().vu_reference_dbfs, -8.0);
        assert_eq!(plugin.output_meters.config().vu_reference_dbfs, -8.0);
    }

    #[test]
    fn resets_from_the_editor_clear_the_meters_they_name() {
        let mut plugin = Trimeter::default();
        let loud = vec![0.9f32; 4800];
        plugin.input_meters.process(&[&loud, &loud]);
        plugin.output_meters.process(&[&loud, &loud]);
        plugin.resets.request(ResetRequests::OUTPUT_SAMPLE_PEAK);
        assert_no_alloc(|| plugin.apply_editor_requests());
        let max = |m: &MeterEngine| m.snapshot().sample_peak.max_db[0];
        assert_eq!(max(&plugin.output_meters), f32::NEG_INFINITY);
        assert!(
            max(&plugin.input_meters) > -1.0,
            "the input was not asked for"
        );
        plugin.resets.request(ResetRequests::ALL);
        assert_no_alloc(|| plugin.apply_editor_requests());
        assert_eq!(max(&plugin.input_meters), f32::NEG_INFINITY);
    }

    #[test]
    fn the_history_records_while_the_editor_is_closed_and_nothing_is_published() {
        let mut plugin = Trimeter::default();
        assert!(!plugin.editor_state.is_open());
        let peaks = ChannelPeaks {
            sample: [0.5; MAX_CHANNELS],
            true_peak: [0.5; MAX_CHANNELS],
        };
        let published = trimeter_published_frames();
        assert_no_alloc(|| {
            for _ in 0..20 {
                plugin.record_history(4800, &peaks, &peaks);
                plugin.publish(4800, &peaks, &peaks);
            }
        });
        assert_eq!(plugin.history_readers.0.written(), 20);
        assert_eq!(plugin.history_readers.1.written(), 20);
        assert_eq!(trimeter_published_frames(), published);
    }

    #[test]
    fn the_transport_pauses_and_restarts_integrated_loudness_on_both_sides() {
        let mut plugin = Trimeter::default();
        let n = 48_000;
        let tone = trimeter_meters::signals::sine(48_000.0, 997.0, -20.0, 1.0, 0.0);
        let loud = vec![0.9f32; n];
        let integrated =
            |p: &Trimeter| [&p.input_meters, &p.output_meters].map(|m| m.summary().integrated_lufs);
        let at = |playing: bool, pos: usize| TransportInfo {
            reported: true,
            playing,
            pos_samples: Some(pos as i64),
        };
        let block = |p: &mut Trimeter, transport: TransportInfo, signal: &[f32]| {
            assert_no_alloc(|| {
                p.begin_assistant_block(transport, signal.len());
                p.input_meters.process(&[signal, signal]);
                p.output_meters.process(&[signal, signal]);
            });
        };
        block(&mut plugin, at(true, 0), &tone);
        let played = integrated(&plugin);
        assert!(played.iter().all(|l| l.is_finite()), "{played:?}");
        // Stopped: loud audio does not move integrated loudness.
        block(&mut plugin, at(false, n), &loud);
        assert_eq!(integrated(&plugin), played);
        // Resumed where it stopped: it goes on; then stopped and played from 0: it restarts.
        block(&mut plugin, at(true, n), &tone);
        assert!(integrated(&plugin).iter().all(|l| l.is_finite()));
        block(&mut plugin, at(false, 2 * n), &loud);
        block(&mut plugin, at(true, 0), &tone[..4800]);
        assert_eq!(
            integrated(&plugin),
            [f32::NEG_INFINITY; 2],
            "restarted on the jump"
        );
    }

    #[test]
    fn the_overview_shows_the_assistants_suggestion_for_its_target() {
        use crate::assistant::settings::AssistantSettings;
        use trimeter_meters::staging::presets::preset;
        let mut plugin = Trimeter::default();
        plugin.link.activate(48_000.0, 4800, 2, "overview test");
        let slot = plugin.link.slot_ref().expect("registered");
        let published = || {
            let view = trimeter_link::Registry::global()
                .get(slot)
                .expect("still registered")
                .view();
            let trim = view.suggested_trim.expect("a suggestion");
            (trim.trim_db, trim.learned)
        };
        // 1 s of a 997 Hz sine peaking at -20 dBFS on both channels: -20 dBFS AES17 RMS and
        // -20 LUFS (-23 LUFS per channel, and the channels' powers add).
        let tone = trimeter_meters::signals::sine(48_000.0, 997.0, -20.0, 1.0, 0.0);
        let play = |p: &mut Trimeter, learn: bool| {
            assert_no_alloc(|| {
                for block in tone.chunks(4800) {
                    p.begin_assistant_block(TransportInfo::NONE, block.len());
                    p.input_meters.process(&[block, block]);
                    if learn {
                        p.assistant.process(&[block, block]);
                    }
                    p.end_link_block(block.len());
                }
            });
        };
        let choose = |p: &Trimeter, id: &str| {
            p.params
                .assistant
                .set(AssistantSettings::with_preset(preset(id).unwrap()));
        };
        // K-14 (-14 dBFS RMS, ceiling -1 dBTP): +6 dB, where the old -18 RMS target said +2.
        choose(&plugin, "k14");
        play(&mut plugin, false);
        let (trim, learned) = published();
        assert!((trim - 6.0).abs() < 0.05 && !learned, "{trim} {learned}");
        // EBU R 128 (-23 LUFS integrated): -3 dB.
        choose(&plugin, "r128");
        play(&mut plugin, false);
        let (trim, learned) = published();
        assert!((trim + 3.0).abs() < 0.1 && !learned, "{trim} {learned}");
        // Learning: the learner's suggestion for the same target, marked as learned, and what
        // the Assistant page shows for it.
        plugin.assistant_requests.request(AssistantRequests::LEARN);
        play(&mut plugin, true);
        let (trim, learned) = published();
        let page = plugin
            .assistant
            .snapshot()
            .status(&plugin.params.assistant.get().target)
            .suggestion
            .unwrap()
            .trim_db;
        assert!(learned && trim == page, "{trim} {learned} {page}");
        assert!((trim + 3.0).abs() < 0.1, "{trim}");
        plugin.link.deactivate();
    }

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
