//! The level-match link, plugin side: a Start instance publishes its input (levels and the dry
//! signal) for its group through the process-wide registry ([`trimeter_link`]); an End
//! instance of the same group compares its output before the match stage with it, follows the
//! difference with a slow match gain (Continuous), measures the chain's latency and plays the
//! dry signal, delayed and level-matched, while Compare is on.
//!
//! Threads: [`Link::activate`] and [`Link::deactivate`] (host main thread) register and
//! unregister, size every buffer and the dry ring. Everything the audio thread calls
//! ([`Link::begin_block`], [`Link::input`], [`Link::output`], [`Link::end_block`]) only loads and
//! stores atomics, reads and writes the dry ring and moves one preallocated capture between two
//! lock-free queues: no allocation, lock or wait. The latency analysis runs on the process-wide
//! analysis thread ([`latency::Analyzer`]).
//!
//! Signal flow in an End instance: input -> (input meters, latency capture) -> trim, makeup,
//! bypass -> pre-match meter -> match gain -> Compare crossfade -> output meters.

mod buffers;
pub mod diagnostics;
pub mod latency;
pub mod level;
pub mod params;
pub mod status;

use std::sync::Arc;

use trimeter_link::{
    Levels, Publish, ReadError, Registration, Registry, SlotRef, StartSearch, SuggestedTrim,
};
use trimeter_meters::gain::Ramp;

use crate::read_only;
use buffers::{apply_gain, downmix, dry_views};
use trimeter_meters::matching::{MatchConfig, MatchFollower};
use trimeter_meters::units::db_to_amplitude;
use trimeter_meters::{MeterEngine, MAX_CHANNELS};

use latency::{Analyzer, Capture, LatencyJobs, MAX_LATENCY_S, REMEASURE_AFTER_S};
use level::{snapshot_levels, PrematchMeter};
use params::{LinkParams, LinkRole, MatchMeasure, MatchMode};
use status::{CompareState, Health, LatencyState, LinkStatus};

/// A Start that has not processed a block for this long is stale, seconds.
pub const STALE_AFTER_S: f64 = 1.0;
/// The Compare crossfade, ms.
pub const COMPARE_FADE_MS: f32 = 20.0;
/// The match gain's ramp when it is switched in or out (bypass, mode), ms.
const MATCH_RAMP_MS: f32 = 10.0;
/// The dry signal's level follows the match this slowly, ms.
const DRY_GAIN_RAMP_MS: f32 = 100.0;
/// How often the overview's slower figures (suggested trim, clip lamps) are refreshed, seconds.
const OVERVIEW_PERIOD_S: f64 = 0.1;
/// The levels and the heartbeat are published at most this often, seconds: every block of a
/// millisecond or more, and every millisecond when the host's blocks are shorter (a block of 1
/// sample would otherwise read both engines' snapshots 48 000 times a second).
const PUBLISH_PERIOD_S: f64 = 0.001;
/// How often an instance looks through the registry for its group's Start, seconds.
const SEARCH_PERIOD_S: f64 = 0.05;
/// After a capture that found nothing reliable, the next starts this much later, seconds.
const RETRY_AFTER_S: f64 = 1.0;

/// The latency the link plays the dry signal with.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Alignment {
    /// Measured lag, frames.
    frames: u64,
    /// The capture's alignment ([`Capture::offset`]).
    offset: i64,
    /// The Start it was measured with.
    start: SlotRef,
}

/// One instance's link.
pub struct Link {
    registry: &'static Registry,
    registration: Option<Registration<'static>>,
    status: Arc<LinkStatus>,
    jobs: Arc<LatencyJobs>,
    /// The capture, while the audio thread has it.
    capture: Option<Box<Capture>>,
    alignment: Option<Alignment>,
    /// Frames until the next capture may start.
    capture_wait: u64,
    /// Whether this instance holds the analysis thread (between activate and deactivate).
    analyzer_held: bool,
    sample_rate: f64,
    channels: usize,
    role: LinkRole,
    group: u8,
    /// The last search for the group's Start: the one used and how many there are.
    search: Option<(SlotRef, u32)>,
    /// Frames until the next search.
    frames_to_search: u64,
    mode: MatchMode,
    measure: MatchMeasure,
    compare: bool,
    health: Health,
    /// The Start used (End).
    partner: Option<SlotRef>,
    partner_heartbeat: u64,
    frames_since_heartbeat: u64,
    /// The partner's ring position at the previous block: when it goes back, the Start was
    /// activated again and its positions restarted, so the alignment is void.
    partner_written: u64,
    /// The Start's input level in the selected measure, this block.
    partner_level_db: f32,
    follower: MatchFollower,
    prematch: PrematchMeter,
    /// The match gain applied, dB.
    match_db: Ramp,
    /// 0: the chain's output, 1: the dry signal.
    compare_mix: Ramp,
    /// The dry signal's gain, dB.
    dry_gain_db: Ramp,
    /// Output before the match stage minus the Start's input, dB.
    difference_db: Option<f32>,
    compare_state: CompareState,
    /// The dry signal of the current chunk, per channel.
    dry: Vec<Vec<f32>>,
    mono_reference: Vec<f32>,
    mono_input: Vec<f32>,
    /// This instance's frame position (frames processed since activation).
    frames_done: u64,
    frames_to_overview: u64,
    /// Frames until the levels are published again ([`PUBLISH_PERIOD_S`]).
    frames_to_publish: u64,
    suggested_trim: Option<SuggestedTrim>,
    clips: (bool, bool),
}

impl Default for Link {
    fn default() -> Self {
        Self::new(Registry::global())
    }
}

impl Link {
    /// An inactive link on `registry` (the process-wide one in the plugin).
    pub fn new(registry: &'static Registry) -> Self {
        let sample_rate = 48_000.0;
        Self {
            registry,
            registration: None,
            status: Arc::new(LinkStatus::default()),
            jobs: Arc::new(LatencyJobs::new(1.0)),
            capture: None,
            alignment: None,
            capture_wait: 0,
            analyzer_held: false,
            sample_rate,
            channels: 1,
            role: LinkRole::Off,
            group: 1,
            search: None,
            frames_to_search: 0,
            mode: MatchMode::Off,
            measure: MatchMeasure::ShortTerm,
            compare: false,
            health: Health::Unregistered,
            partner: None,
            partner_heartbeat: 0,
            frames_since_heartbeat: 0,
            partner_written: 0,
            partner_level_db: f32::NEG_INFINITY,
            follower: MatchFollower::new(MatchConfig::default(), sample_rate),
            prematch: PrematchMeter::default(),
            match_db: Ramp::new(0.0, 1),
            compare_mix: Ramp::new(0.0, 1),
            dry_gain_db: Ramp::new(0.0, 1),
            difference_db: None,
            compare_state: CompareState::Off,
            dry: Vec::new(),
            mono_reference: Vec::new(),
            mono_input: Vec::new(),
            frames_done: 0,
            frames_to_overview: 0,
            frames_to_publish: 0,
            suggested_trim: None,
            clips: (false, false),
        }
    }

    /// The status the editor reads.
    pub fn status(&self) -> Arc<LinkStatus> {
        self.status.clone()
    }

    /// This instance's slot, while registered.
    pub fn slot_ref(&self) -> Option<SlotRef> {
        self.registration.as_ref().map(Registration::slot_ref)
    }

    /// Registers (if not yet), sizes every buffer for chunks of up to `max_chunk` frames of
    /// `channels` channels and the dry ring for a second of latency, and sets the label.
    /// Allocates; host main thread, never `process()`.
    pub fn activate(&mut self, sample_rate: f64, max_chunk: usize, channels: usize, label: &str) {
        let channels = channels.clamp(1, MAX_CHANNELS);
        let max_chunk = max_chunk.max(1);
        if self.registration.is_none() {
            self.registration = self.registry.register();
        }
        if let Some(registration) = &self.registration {
            let ring_frames = (MAX_LATENCY_S * sample_rate).ceil() as usize + 4 * max_chunk;
            registration
                .slot()
                .ring
                .ensure_capacity(ring_frames, channels);
            registration.slot().set_label(label);
        }
        self.status.set_own_slot(self.slot_ref());
        self.sample_rate = sample_rate;
        self.channels = channels;
        self.jobs = Arc::new(LatencyJobs::new(sample_rate));
        self.capture = None;
        self.alignment = None;
        self.capture_wait = 0;
        if !self.analyzer_held {
            Analyzer::global().acquire();
            self.analyzer_held = true;
        }
        self.follower = MatchFollower::new(MatchConfig::default(), sample_rate);
        self.prematch.prepare(sample_rate, channels);
        self.match_db = Ramp::with_time(0.0, MATCH_RAMP_MS, sample_rate);
        self.compare_mix = Ramp::with_time(0.0, COMPARE_FADE_MS, sample_rate);
        self.dry_gain_db = Ramp::with_time(0.0, DRY_GAIN_RAMP_MS, sample_rate);
        self.dry = vec![vec![0.0; max_chunk]; channels];
        self.mono_reference = vec![0.0; max_chunk];
        self.mono_input = vec![0.0; max_chunk];
        self.partner = None;
        self.search = None;
        self.frames_to_search = 0;
        self.frames_done = 0;
        self.frames_to_overview = 0;
        self.frames_to_publish = 0;
        self.status.set_latency(LatencyState::Unknown);
    }

    /// Unregisters: other instances no longer see this one. Host main thread.
    pub fn deactivate(&mut self) {
        if std::mem::take(&mut self.analyzer_held) {
            Analyzer::global().release();
        }
        self.registration = None;
        self.partner = None;
        self.status.set_own_slot(None);
        self.status.set_health(Health::Unregistered, None, 0);
    }

    /// Sets the label other instances' overviews show. Not real-time (label writers wait for
    /// each other).
    pub fn set_label(&self, label: &str) {
        if let Some(registration) = &self.registration {
            registration.slot().set_label(label);
        }
    }

    /// Clears the follower, the meters and the ramps (the host's reset).
    pub fn reset(&mut self) {
        self.follower.reset();
        self.prematch.reset();
        self.match_db.jump_to(0.0);
        self.compare_mix.jump_to(0.0);
        self.difference_db = None;
    }

    /// Start of a block of `frames` frames: reads the parameters, publishes the role and finds
    /// the partner. Real-time safe.
    pub fn begin_block(&mut self, params: &LinkParams, frames: usize) {
        let role = params.role.value();
        let group = params.group_u8();
        self.mode = params.mode.value();
        self.compare = params.compare.value();
        self.measure = params.measure.value();
        self.prematch.set_measure(self.measure);
        if role != self.role {
            self.role = role;
            self.follower.reset();
            // The pre-match meter runs only in an End: a new End starts it from silence.
            self.prematch.reset();
            self.difference_db = None;
        }
        let Some(registration) = &self.registration else {
            self.health = Health::Unregistered;
            self.partner = None;
            self.status.set_health(self.health, None, 0);
            return;
        };
        let own = registration.slot_ref();
        registration.slot().set_role(role.registry_role(), group);
        // The search reads every slot: run it every SEARCH_PERIOD_S, or at once when the group
        // changed or the Start in use went away (checked every block, cheaply).
        self.frames_to_search = self.frames_to_search.saturating_sub(frames as u64);
        let lost = self
            .search
            .is_some_and(|(start, _)| self.registry.get(start).is_none());
        if role == LinkRole::Off {
            self.search = None;
        } else if self.frames_to_search == 0 || lost || group != self.group {
            self.frames_to_search = (SEARCH_PERIOD_S * self.sample_rate) as u64;
            self.search = match self.registry.find_start(group) {
                StartSearch::Found { start, count } => Some((start, count as u32)),
                StartSearch::None => None,
            };
        }
        self.group = group;
        let (partner, count) = match self.search {
            Some((start, count)) => (Some(start), count),
            None => (None, 0),
        };
        let health = match role {
            LinkRole::Off => Health::Off,
            LinkRole::Start if partner.is_some_and(|p| p != own) => Health::StartNotUsed,
            LinkRole::Start => Health::Publishing,
            LinkRole::End => self.follow_partner(partner, frames),
        };
        if role != LinkRole::End {
            self.partner = None;
        }
        self.health = health;
        let shown_partner = partner.map(|p| p.index as u32);
        self.status.set_health(health, shown_partner, count);
    }

    /// End instance: tracks the Start `partner` and says how it is.
    fn follow_partner(&mut self, partner: Option<SlotRef>, frames: usize) -> Health {
        let Some(slot) = partner.and_then(|p| self.registry.get(p)) else {
            self.partner = None;
            self.partner_level_db = f32::NEG_INFINITY;
            return Health::NoStart;
        };
        let heartbeat = slot.heartbeat();
        if partner != self.partner {
            self.partner = partner;
            self.alignment = None;
            self.capture_wait = 0;
            self.frames_since_heartbeat = 0;
            self.status.set_latency(LatencyState::Unknown);
        } else if heartbeat == self.partner_heartbeat {
            self.frames_since_heartbeat += frames as u64;
        } else {
            self.frames_since_heartbeat = 0;
        }
        self.partner_heartbeat = heartbeat;
        let written = slot.ring.written();
        if written < self.partner_written {
            self.alignment = None;
            self.capture_wait = 0;
            self.status.set_latency(LatencyState::Unknown);
        }
        self.partner_written = written;
        let partner_rate = slot.sample_rate();
        self.status
            .set_sample_rates(self.sample_rate as f32, partner_rate);
        self.partner_level_db = slot.input_levels()[self.measure.index()];
        if partner_rate > 0.0 && (f64::from(partner_rate) - self.sample_rate).abs() > 0.5 {
            Health::SampleRatesDiffer
        } else if self.frames_since_heartbeat as f64 > STALE_AFTER_S * self.sample_rate {
            Health::PartnerStale
        } else if self.partner_level_db.is_nan()
            || self.partner_level_db < self.follower.config().gate_db
        {
            Health::PartnerSilent
        } else {
            Health::PartnerFound
        }
    }

    /// One chunk of the input (after the non-finite guard and polarity, before the trim): a
    /// Start writes it into its dry ring, an End captures it for the latency measurement.
    /// Real-time safe.
    pub fn input(&mut self, block: &[&[f32]]) {
        match self.role {
            LinkRole::Start => {
                if let Some(registration) = &self.registration {
                    registration.slot().ring.write(block);
                }
            }
            LinkRole::End => self.capture_step(block),
            LinkRole::Off => {}
        }
    }

    /// End: takes the capture back from the analysis (adopting its result) and feeds it.
    fn capture_step(&mut self, block: &[&[f32]]) {
        if self.capture.is_none() {
            if let Some(capture) = self.jobs.take() {
                self.adopt(&capture);
                self.capture = Some(capture);
            }
        }
        let n = block
            .first()
            .map_or(0, |c| c.len())
            .min(self.mono_input.len());
        if self.health != Health::PartnerFound || n == 0 {
            return;
        }
        if self.capture_wait > 0 {
            self.capture_wait = self.capture_wait.saturating_sub(n as u64);
            return;
        }
        let (Some(partner), Some(capture)) = (self.partner, self.capture.as_mut()) else {
            return;
        };
        let Some(slot) = self.registry.get(partner) else {
            return;
        };
        let mut views = dry_views(&mut self.dry, n);
        let Ok(end) = slot.ring.read(0, &mut views[..self.channels]) else {
            return;
        };
        let offset = end as i64 - (self.frames_done + n as u64) as i64;
        if capture.start != Some(partner) || capture.offset != offset {
            // A new Start, or the order of the two instances' blocks moved: start over.
            capture.restart(partner, offset);
            self.status.set_latency(LatencyState::Measuring);
        }
        downmix(&views[..self.channels], &mut self.mono_reference[..n]);
        downmix(block, &mut self.mono_input[..n]);
        if capture.push(&self.mono_reference[..n], &self.mono_input[..n]) {
            if let Some(capture) = self.capture.take() {
                match self.jobs.submit(capture) {
                    Ok(()) => {
                        if !Analyzer::global().submit(&self.jobs) {
                            // No room (cannot happen: one entry per slot): take it back.
                            self.capture = self.jobs.take_submitted();
                        }
                    }
                    Err(capture) => self.capture = Some(capture),
                }
            }
        }
    }

    /// Takes over what the analysis found in `capture`.
    fn adopt(&mut self, capture: &Capture) {
        if !capture.analysed {
            return;
        }
        let reliable = capture.result.filter(|e| e.is_reliable());
        match (reliable, capture.start) {
            (Some(estimate), Some(start)) if Some(start) == self.partner => {
                self.alignment = Some(Alignment {
                    frames: estimate.latency_frames as u64,
                    offset: capture.offset,
                    start,
                });
                self.status.set_latency(LatencyState::Measured {
                    frames: estimate.latency_frames as u32,
                    correlation: estimate.correlation,
                });
                self.capture_wait = (REMEASURE_AFTER_S * self.sample_rate) as u64;
            }
            _ => {
                if self.alignment.is_none() {
                    self.status.set_latency(LatencyState::Unreliable);
                }
                self.capture_wait = (RETRY_AFTER_S * self.sample_rate) as u64;
            }
        }
    }

    /// One chunk after the trim, makeup and bypass: an End measures it (the output before the
    /// match stage), follows the difference, applies the match gain and the Compare crossfade.
    /// Real-time safe.
    pub fn output(&mut self, block: &mut [&mut [f32]], frames: usize, bypass: bool) {
        let n = frames.min(self.mono_input.len());
        if self.role != LinkRole::End || n == 0 {
            self.frames_done += n as u64;
            self.compare_state = CompareState::Off;
            return;
        }
        let channels = self.channels.min(block.len());
        let block = &mut block[..channels];
        self.prematch.process(&read_only(block, n)[..block.len()]);
        let measured = self.prematch.level_db();
        let linked = self.health.is_linked();
        // A meter that just started (the role became End, the measure changed, a reset) reads
        // low until it has heard a full window: its difference is neither shown nor followed
        // until then, and the match gain holds where it is.
        let settled = self.prematch.is_settled();
        let gate = self.follower.config().gate_db;
        let heard = |db: f32| db.is_finite() && db >= gate;
        self.difference_db = (linked && settled && heard(measured) && heard(self.partner_level_db))
            .then_some(measured - self.partner_level_db)
            .or(if linked && settled {
                self.difference_db
            } else {
                None
            });
        let continuous = self.mode == MatchMode::Continuous && linked && !bypass;
        if continuous && settled {
            self.follower.advance(self.partner_level_db, measured, n);
        } else if self.mode != MatchMode::Continuous {
            self.follower.reset();
        }
        self.match_db.set_target(if continuous {
            self.follower.gain_db()
        } else {
            0.0
        });
        apply_gain(block, n, &mut self.match_db);
        self.compare_chunk(block, n, bypass);
        self.frames_done += n as u64;
    }

    /// Compare: crossfades to the latency-compensated dry signal at the matched level.
    fn compare_chunk(&mut self, block: &mut [&mut [f32]], n: usize, bypass: bool) {
        let wanted = self.compare && !bypass;
        let state = if wanted {
            self.read_dry(n)
        } else {
            CompareState::Off
        };
        self.compare_state = state;
        self.compare_mix
            .set_target(if state == CompareState::Dry { 1.0 } else { 0.0 });
        if let Some(difference) = self.difference_db {
            // The dry signal at the loudness of what the chain path plays now.
            let target = (difference + self.match_db.target()).clamp(-24.0, 24.0);
            self.dry_gain_db.set_target(target);
        }
        if self.compare_mix.value() == 0.0 && !self.compare_mix.is_ramping() {
            return;
        }
        if state != CompareState::Dry {
            // Fading out with no dry signal: fade from silence.
            for channel in &mut self.dry {
                channel[..n].fill(0.0);
            }
        }
        for frame in 0..n {
            let mix = self.compare_mix.step();
            let dry_gain = db_to_amplitude(self.dry_gain_db.step()) * mix;
            for (samples, dry) in block.iter_mut().zip(&self.dry) {
                let wet = samples[frame];
                samples[frame] = wet * (1.0 - mix) + dry[frame] * dry_gain;
            }
        }
    }

    /// Reads the dry signal aligned with this chunk into `self.dry`.
    fn read_dry(&mut self, n: usize) -> CompareState {
        let Some(partner) = self.partner.filter(|_| self.health.is_linked()) else {
            return CompareState::NoDry;
        };
        let Some(slot) = self.registry.get(partner) else {
            return CompareState::NoDry;
        };
        let Some(alignment) = self.alignment.filter(|a| a.start == partner) else {
            return CompareState::NoLatency;
        };
        // The ring position of this chunk's first frame at the measured alignment, minus the
        // latency.
        let end_position =
            (self.frames_done + n as u64) as i64 + alignment.offset - alignment.frames as i64;
        let mut written = slot.ring.written();
        let mut views = dry_views(&mut self.dry, n);
        for _ in 0..2 {
            let delay = written as i64 - end_position;
            if delay < 0 {
                return CompareState::DryLate;
            }
            match slot.ring.read(delay as u64, &mut views[..self.channels]) {
                Ok(end) if end == written => return CompareState::Dry,
                // The Start wrote while we read: once more against the newer position.
                Ok(end) => written = end,
                Err(ReadError::TooLong) => return CompareState::DryLate,
                Err(_) => return CompareState::NoDry,
            }
        }
        CompareState::NoDry
    }

    /// End of a block: publishes this instance's levels for the overview and for End
    /// instances, and the status for the editor. `suggest` gives the suggested trim from the
    /// input meters; it is asked ten times a second. Real-time safe (as long as `suggest` is).
    pub fn end_block(
        &mut self,
        input: &MeterEngine,
        output: &MeterEngine,
        vu_reference_dbfs: f32,
        frames: usize,
        suggest: impl FnOnce(&MeterEngine) -> Option<SuggestedTrim>,
    ) {
        let Some(registration) = &self.registration else {
            return;
        };
        self.frames_to_publish = self.frames_to_publish.saturating_sub(frames as u64);
        if self.frames_to_publish > 0 {
            self.frames_to_overview = self.frames_to_overview.saturating_sub(frames as u64);
            return;
        }
        self.frames_to_publish = (PUBLISH_PERIOD_S * self.sample_rate) as u64;
        let input_snapshot = input.snapshot();
        let output_snapshot = output.snapshot();
        self.frames_to_overview = self.frames_to_overview.saturating_sub(frames as u64);
        if self.frames_to_overview == 0 {
            self.frames_to_overview = (OVERVIEW_PERIOD_S * self.sample_rate) as u64;
            self.suggested_trim = suggest(input);
            let clipped = |s: &trimeter_meters::engine::MeterSnapshot| {
                s.sample_peak.clip_count[..s.channels.max(1)]
                    .iter()
                    .any(|&c| c > 0)
            };
            self.clips = (clipped(&input_snapshot), clipped(&output_snapshot));
        }
        let levels: Levels = snapshot_levels(&input_snapshot, vu_reference_dbfs);
        registration.slot().publish(&Publish {
            input: levels,
            output: snapshot_levels(&output_snapshot, vu_reference_dbfs),
            suggested_trim: self.suggested_trim,
            input_clip: self.clips.0,
            output_clip: self.clips.1,
            sample_rate: self.sample_rate as f32,
        });
        let difference = if self.role == LinkRole::End {
            self.difference_db
        } else {
            None
        };
        self.status.set_levels(difference, self.match_db.value());
        self.status
            .set_settling(self.role == LinkRole::End && !self.prematch.is_settled());
        let following = self.role == LinkRole::End && self.mode == MatchMode::Continuous;
        self.status
            .set_follower(following.then(|| self.follower.state()));
        self.status
            .set_compare(if self.compare && self.role == LinkRole::End {
                self.compare_state
            } else {
                CompareState::Off
            });
        registration
            .slot()
            .set_link_state(status::pack_slot_state(&self.status.view()));
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        self.deactivate();
    }
}
