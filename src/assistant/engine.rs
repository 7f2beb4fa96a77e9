//! The assistant on the audio thread: the [`Learner`] fed the pre-trim input, the host
//! transport, the requests from the editor, and the status it publishes.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use trimeter_link::SuggestedTrim;
use trimeter_meters::staging::learn::{LearnConfig, LearnPhase, LearnSnapshot, Learner};
use trimeter_meters::{EngineConfig, MeterEngine};

use super::settings::AudioSettings;
use super::{AssistantStatus, StatusWriter};

/// The status is published this often while an editor is open, per second.
pub const STATUS_RATE_HZ: f64 = 10.0;

/// Playback that starts within this many seconds of where it stopped continues (hosts report
/// positions rounded from seconds or beats); further away it is a jump.
pub const JUMP_TOLERANCE_S: f64 = 0.005;

/// What the editor asks the assistant for; bits of one atomic, taken at the start of a block.
#[derive(Debug, Default)]
pub struct AssistantRequests(AtomicU32);

impl AssistantRequests {
    /// Start learning from nothing (Learn, or Learn again).
    pub const LEARN: u32 = 1 << 0;
    /// Stop measuring and keep the suggestion (after Apply).
    pub const FREEZE: u32 = 1 << 1;
    /// Forget the measurement and restart integrated loudness and loudness range.
    pub const RESET: u32 = 1 << 2;

    /// Asks for `bits`. Lock-free.
    pub fn request(&self, bits: u32) {
        self.0.fetch_or(bits, Ordering::AcqRel);
    }

    /// Takes the pending requests. Lock-free.
    pub fn take(&self) -> u32 {
        self.0.swap(0, Ordering::AcqRel)
    }
}

/// The host's transport as one block sees it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TransportInfo {
    /// The host reported a transport at all. A host that does not (no play state, position or
    /// tempo) counts as playing while it sends audio.
    pub reported: bool,
    /// The transport runs.
    pub playing: bool,
    /// The position of the block's first frame, samples, if the host gives one.
    pub pos_samples: Option<i64>,
}

impl TransportInfo {
    /// No transport reported: audio arriving counts as playing.
    pub const NONE: TransportInfo = TransportInfo {
        reported: false,
        playing: false,
        pos_samples: None,
    };

    /// Whether audio is playing.
    pub fn is_playing(&self) -> bool {
        self.playing || !self.reported
    }
}

/// What the plugin does with its meters this block.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BlockPlan {
    /// Integrated loudness and loudness range measure this block (not paused).
    pub measure: bool,
    /// Restart integrated loudness and loudness range before this block.
    pub reset_integrated: bool,
}

/// Follows play, stop and where playback starts.
#[derive(Clone, Copy, Debug, Default)]
struct TransportTracker {
    was_playing: bool,
    /// Where the last played block ended, samples.
    played_until: Option<i64>,
}

impl TransportTracker {
    /// The block starts: whether it plays, and whether playback just started somewhere else
    /// than where it stopped.
    fn begin(&mut self, info: TransportInfo, frames: usize, sample_rate: f64) -> (bool, bool) {
        let playing = info.is_playing();
        let tolerance = (JUMP_TOLERANCE_S * sample_rate).round() as i64;
        let jumped = playing
            && !self.was_playing
            && match (self.played_until, info.pos_samples) {
                (Some(until), Some(pos)) => (pos - until).abs() > tolerance,
                _ => false,
            };
        if playing {
            self.played_until = info.pos_samples.map(|p| p + frames as i64);
        }
        self.was_playing = playing;
        (playing, jumped)
    }
}

/// The assistant's audio-thread side.
pub struct AssistantEngine {
    learner: Learner,
    requests: Arc<AssistantRequests>,
    status: StatusWriter,
    transport: TransportTracker,
    settings: AudioSettings,
    playing: bool,
    measuring: bool,
    jumps: u32,
    sample_rate: f64,
    frames_since_status: u64,
    status_due: bool,
    sequence: u64,
}

impl AssistantEngine {
    /// An assistant for `engine` (the input meters' configuration). Allocates: call it outside
    /// `process()` (in `Default` and `activate()`).
    pub fn new(
        engine: EngineConfig,
        settings: AudioSettings,
        requests: Arc<AssistantRequests>,
        status: StatusWriter,
    ) -> Self {
        let mut learner = Learner::new(engine, LearnConfig::default());
        learner.set_target(settings.target);
        Self {
            learner,
            requests,
            status,
            transport: TransportTracker::default(),
            settings,
            playing: false,
            measuring: false,
            jumps: 0,
            sample_rate: engine.sample_rate,
            frames_since_status: 0,
            status_due: true,
            sequence: 0,
        }
    }

    /// Prepares for a new configuration (in `activate()`): a new learner for the sample rate and
    /// channel count; what it had learned is gone. Allocates.
    pub fn prepare(&mut self, engine: EngineConfig) {
        self.learner = Learner::new(engine, LearnConfig::default());
        self.learner.set_target(self.settings.target);
        self.sample_rate = engine.sample_rate;
        self.transport = TransportTracker::default();
        self.status_due = true;
    }

    /// The block starts: takes the editor's requests and the settings (the store's
    /// [`audio`](super::settings::AssistantStore::audio) copy), follows the transport, and says
    /// whether the integrating meters measure and whether they restart. Never allocates.
    pub fn begin_block(
        &mut self,
        settings: AudioSettings,
        transport: TransportInfo,
        frames: usize,
    ) -> BlockPlan {
        self.settings = settings;
        self.learner.set_target(self.settings.target);
        let requests = self.requests.take();
        let mut reset_integrated = false;
        if requests & AssistantRequests::RESET != 0 {
            self.learner.reset();
            reset_integrated = true;
        }
        if requests & AssistantRequests::LEARN != 0 {
            self.learner.start();
        }
        if requests & AssistantRequests::FREEZE != 0 {
            self.learner.freeze();
        }
        if requests != 0 {
            self.status_due = true;
        }
        let (playing, jumped) = self.transport.begin(transport, frames, self.sample_rate);
        if jumped {
            self.jumps = self.jumps.wrapping_add(1);
        }
        if jumped && self.settings.reset_on_jump {
            reset_integrated = true;
            if self.learner.phase() == LearnPhase::Learning {
                self.learner.start();
            }
        }
        let measuring = playing || !self.settings.pause_when_stopped;
        if playing != self.playing || measuring != self.measuring {
            self.status_due = true;
        }
        self.playing = playing;
        self.measuring = measuring;
        BlockPlan {
            measure: measuring,
            reset_integrated,
        }
    }

    /// Measures a chunk of the block: the input before the trim, the same slices the input
    /// meters see. Never allocates.
    pub fn process(&mut self, block: &[&[f32]]) {
        self.learner.process(block, self.measuring);
    }

    /// The block ends (`frames` long): publishes the status if the editor is open and it is due
    /// (10 times a second, and at once after a request or a change of transport state). Returns
    /// whether it published. Never allocates.
    pub fn end_block(&mut self, frames: usize, editor_open: bool) -> bool {
        self.frames_since_status += frames as u64;
        let period = (self.sample_rate / STATUS_RATE_HZ) as u64;
        if !editor_open || !(self.status_due || self.frames_since_status >= period) {
            return false;
        }
        self.sequence += 1;
        self.status.publish(AssistantStatus {
            learn: self.snapshot(),
            transport_playing: self.playing,
            measuring: self.measuring,
            jumps: self.jumps,
            sequence: self.sequence,
        });
        self.frames_since_status = 0;
        self.status_due = false;
        true
    }

    /// What the learner measured.
    pub fn snapshot(&self) -> LearnSnapshot {
        self.learner.snapshot()
    }

    /// Whether the last block played (the transport ran, or the host reports none).
    pub fn playing(&self) -> bool {
        self.playing
    }

    /// The suggested trim for the session overview, for the target of this block's settings
    /// ([`super::overview_trim`]): the learner's while it learns or is frozen, else the running
    /// estimate from `input` (the input meters). Never allocates; call it a few times a second.
    pub fn overview_trim(&self, input: &MeterEngine) -> Option<SuggestedTrim> {
        let learn = (self.phase() != LearnPhase::Idle).then(|| self.snapshot());
        super::overview_trim(learn.as_ref(), &self.settings.target, input)
    }

    /// Where the learner is.
    pub fn phase(&self) -> LearnPhase {
        self.learner.phase()
    }

    /// Times playback started somewhere else than where it stopped.
    pub fn jumps(&self) -> u32 {
        self.jumps
    }
}
