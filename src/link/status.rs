//! What the audio thread tells the editor about the link: a handful of atomics in an `Arc`, set
//! once per block and read at GUI rate. Separate from the meter readout on purpose (the meters
//! crate's `MeterFrame` stays the meters' own).

use std::sync::atomic::{AtomicI64, AtomicU32, AtomicU64, AtomicU8, Ordering};

use atomic_float::AtomicF32;
use trimeter_link::SlotRef;
use trimeter_meters::matching::MatchState;

/// `to_u8` and `from_u8` of a state enum with an `ALL` table whose first entry is the default:
/// the number is the position in `ALL`.
macro_rules! small_code {
    () => {
        /// The state as a small number (published in the registry slot).
        pub fn to_u8(self) -> u8 {
            Self::ALL.iter().position(|&h| h == self).unwrap_or(0) as u8
        }

        /// The state of a number from [`Self::to_u8`].
        pub fn from_u8(v: u8) -> Self {
            Self::ALL
                .get(usize::from(v))
                .copied()
                .unwrap_or(Self::ALL[0])
        }
    };
}

/// The link's state, as the editor shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Health {
    /// Role Off: not linked.
    Off,
    /// Not in the registry: not activated yet, or every slot is taken.
    Unregistered,
    /// Start: publishing its input for the group.
    Publishing,
    /// Start: another Start of the group is older and is the one End instances use.
    StartNotUsed,
    /// End: a Start of the group was found and is running.
    PartnerFound,
    /// End: no Start of the group in this process.
    NoStart,
    /// End: the Start has not processed a block for more than a second.
    PartnerStale,
    /// End: the Start's input is below the gate (-60).
    PartnerSilent,
    /// End: the Start runs at another sample rate.
    SampleRatesDiffer,
}

impl Health {
    const ALL: [Self; 9] = [
        Self::Off,
        Self::Unregistered,
        Self::Publishing,
        Self::StartNotUsed,
        Self::PartnerFound,
        Self::NoStart,
        Self::PartnerStale,
        Self::PartnerSilent,
        Self::SampleRatesDiffer,
    ];

    small_code!();

    /// Whether this End instance has a live partner whose levels can be compared.
    pub fn is_linked(self) -> bool {
        matches!(self, Self::PartnerFound | Self::PartnerSilent)
    }
}

/// What Compare does now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompareState {
    /// Compare is off: the chain's output plays.
    Off,
    /// The dry signal plays, delayed by the measured latency, at the matched level.
    Dry,
    /// Compare is on, but there is no dry signal to play: the chain's output plays.
    NoDry,
    /// Compare is on, but the chain's latency is not known yet: the chain's output plays.
    NoLatency,
    /// Compare is on, but the Start's block comes after this End's block (another processing
    /// order or thread): the dry signal is not there in time, the chain's output plays.
    DryLate,
}

impl CompareState {
    const ALL: [Self; 5] = [
        Self::Off,
        Self::Dry,
        Self::NoDry,
        Self::NoLatency,
        Self::DryLate,
    ];

    small_code!();
}

/// The latency measurement's state.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LatencyState {
    /// Not measured (no partner, or not an End instance).
    Unknown,
    /// Capturing or analysing.
    Measuring,
    /// Measured: frames, and the normalized correlation of the peak.
    Measured {
        /// How far the chain's output lags the Start's input at this End instance, frames.
        frames: u32,
        /// The correlation at the peak (-1..1).
        correlation: f32,
    },
    /// The last capture found no reliable peak (unrelated signals, heavy processing, silence, or
    /// a latency above one second).
    Unreliable,
}

/// The link state an instance publishes in its registry slot: health (bits 0-7), Compare
/// (bits 8-15) and latency (bits 16-31: frames / 16 + 1, saturating; 0 = not measured).
pub fn pack_slot_state(view: &StatusView) -> u32 {
    let latency = match view.latency {
        LatencyState::Measured { frames, .. } => (frames / 16 + 1).min(0xffff),
        _ => 0,
    };
    u32::from(view.health.to_u8()) | (u32::from(view.compare.to_u8()) << 8) | (latency << 16)
}

/// The health and Compare state of a [`pack_slot_state`] value.
pub fn unpack_slot_state(state: u32) -> (Health, CompareState) {
    (
        Health::from_u8(state as u8),
        CompareState::from_u8((state >> 8) as u8),
    )
}

/// One instance's link status, shared by its audio thread (writer) and editor (reader).
#[derive(Debug)]
pub struct LinkStatus {
    health: AtomicU8,
    /// Start instances in the group (End) .
    start_count: AtomicU32,
    /// Registry slot of the Start used (End), or of this instance; `u32::MAX` for none.
    partner_slot: AtomicU32,
    /// This instance's slot: generation (high half) and index (low half); `u64::MAX` for none.
    own_slot: AtomicU64,
    /// Output before the match stage minus the Start's input, dB (NaN: not measurable).
    difference_db: AtomicF32,
    /// The continuous match gain applied now, dB.
    match_gain_db: AtomicF32,
    /// The End's pre-match meter has not yet heard a full window of its measure (1) or has (0).
    settling: AtomicU8,
    compare: AtomicU8,
    /// The continuous match's state: 0 not running, 1 following, 2 matched, 3 gated, 4 at the
    /// range limit.
    follower: AtomicU8,
    /// -2 unknown, -1 measuring, -3 unreliable, else frames.
    latency: AtomicI64,
    latency_correlation: AtomicF32,
    /// This instance's sample rate and the partner's, Hz.
    sample_rate: AtomicF32,
    partner_sample_rate: AtomicF32,
}

impl Default for LinkStatus {
    fn default() -> Self {
        Self {
            health: AtomicU8::new(Health::Unregistered.to_u8()),
            start_count: AtomicU32::new(0),
            partner_slot: AtomicU32::new(u32::MAX),
            own_slot: AtomicU64::new(u64::MAX),
            difference_db: AtomicF32::new(f32::NAN),
            match_gain_db: AtomicF32::new(0.0),
            settling: AtomicU8::new(0),
            compare: AtomicU8::new(CompareState::Off.to_u8()),
            follower: AtomicU8::new(0),
            latency: AtomicI64::new(LATENCY_UNKNOWN),
            latency_correlation: AtomicF32::new(0.0),
            sample_rate: AtomicF32::new(0.0),
            partner_sample_rate: AtomicF32::new(0.0),
        }
    }
}

const LATENCY_UNKNOWN: i64 = -2;
const LATENCY_MEASURING: i64 = -1;
const LATENCY_UNRELIABLE: i64 = -3;

/// A copy of [`LinkStatus`] for one frame of the editor.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StatusView {
    /// The link's health.
    pub health: Health,
    /// Start instances in the group (End instances only).
    pub start_count: u32,
    /// The Start used (End) as a registry slot index.
    pub partner_slot: Option<u32>,
    /// This instance's registry slot.
    pub own_slot: Option<SlotRef>,
    /// Output before the match stage minus the Start's input, dB.
    pub difference_db: Option<f32>,
    /// The continuous match gain applied now, dB.
    pub match_gain_db: f32,
    /// The End's own meter is still filling its window: no difference is shown or followed yet.
    pub settling: bool,
    /// What Compare does.
    pub compare: CompareState,
    /// What the continuous match does (`None` when it is not running).
    pub follower: Option<MatchState>,
    /// The chain's latency.
    pub latency: LatencyState,
    /// This instance's sample rate, Hz.
    pub sample_rate: f32,
    /// The Start's sample rate, Hz (End).
    pub partner_sample_rate: f32,
}

impl Default for StatusView {
    fn default() -> Self {
        LinkStatus::default().view()
    }
}

impl LinkStatus {
    /// Sets the health, the partner and the count of Starts. Real-time safe.
    pub fn set_health(&self, health: Health, partner_slot: Option<u32>, start_count: u32) {
        self.health.store(health.to_u8(), Ordering::Relaxed);
        self.partner_slot
            .store(partner_slot.unwrap_or(u32::MAX), Ordering::Relaxed);
        self.start_count.store(start_count, Ordering::Relaxed);
    }

    /// Sets this instance's slot. Real-time safe.
    pub fn set_own_slot(&self, slot: Option<SlotRef>) {
        let packed = slot.map_or(u64::MAX, |s| {
            (u64::from(s.generation) << 32) | s.index as u64
        });
        self.own_slot.store(packed, Ordering::Release);
    }

    /// Sets the measured difference and the match gain, dB. Real-time safe.
    pub fn set_levels(&self, difference_db: Option<f32>, match_gain_db: f32) {
        self.difference_db
            .store(difference_db.unwrap_or(f32::NAN), Ordering::Relaxed);
        self.match_gain_db.store(match_gain_db, Ordering::Relaxed);
    }

    /// Sets whether the End's pre-match meter is still filling its window. Real-time safe.
    pub fn set_settling(&self, settling: bool) {
        self.settling.store(u8::from(settling), Ordering::Relaxed);
    }

    /// Sets what the continuous match does (`None`: not running). Real-time safe.
    pub fn set_follower(&self, state: Option<MatchState>) {
        let code = match state {
            None => 0,
            Some(MatchState::Following) => 1,
            Some(MatchState::Matched) => 2,
            Some(MatchState::Gated) => 3,
            Some(MatchState::AtLimit) => 4,
        };
        self.follower.store(code, Ordering::Relaxed);
    }

    /// Sets what Compare does. Real-time safe.
    pub fn set_compare(&self, state: CompareState) {
        self.compare.store(state.to_u8(), Ordering::Relaxed);
    }

    /// Sets both sample rates, Hz. Real-time safe.
    pub fn set_sample_rates(&self, own: f32, partner: f32) {
        self.sample_rate.store(own, Ordering::Relaxed);
        self.partner_sample_rate.store(partner, Ordering::Relaxed);
    }

    /// Sets the latency state (audio thread or the analysis task).
    pub fn set_latency(&self, latency: LatencyState) {
        let (value, correlation) = match latency {
            LatencyState::Unknown => (LATENCY_UNKNOWN, 0.0),
            LatencyState::Measuring => (LATENCY_MEASURING, 0.0),
            LatencyState::Unreliable => (LATENCY_UNRELIABLE, 0.0),
            LatencyState::Measured {
                frames,
                correlation,
            } => (i64::from(frames), correlation),
        };
        self.latency_correlation
            .store(correlation, Ordering::Relaxed);
        self.latency.store(value, Ordering::Release);
    }

    /// The latency state.
    pub fn latency(&self) -> LatencyState {
        match self.latency.load(Ordering::Acquire) {
            LATENCY_MEASURING => LatencyState::Measuring,
            LATENCY_UNRELIABLE => LatencyState::Unreliable,
            v if v >= 0 => LatencyState::Measured {
                frames: v as u32,
                correlation: self.latency_correlation.load(Ordering::Relaxed),
            },
            _ => LatencyState::Unknown,
        }
    }

    /// Everything, for one editor frame.
    pub fn view(&self) -> StatusView {
        let slot = |v: u32| (v != u32::MAX).then_some(v);
        StatusView {
            health: Health::from_u8(self.health.load(Ordering::Relaxed)),
            start_count: self.start_count.load(Ordering::Relaxed),
            partner_slot: slot(self.partner_slot.load(Ordering::Relaxed)),
            own_slot: match self.own_slot.load(Ordering::Acquire) {
                u64::MAX => None,
                packed => Some(SlotRef {
                    index: (packed & 0xffff_ffff) as usize,
                    generation: (packed >> 32) as u32,
                }),
            },
            difference_db: Some(self.difference_db.load(Ordering::Relaxed))
                .filter(|v| v.is_finite()),
            match_gain_db: self.match_gain_db.load(Ordering::Relaxed),
            settling: self.settling.load(Ordering::Relaxed) != 0,
            compare: CompareState::from_u8(self.compare.load(Ordering::Relaxed)),
            follower: match self.follower.load(Ordering::Relaxed) {
                1 => Some(MatchState::Following),
                2 => Some(MatchState::Matched),
                3 => Some(MatchState::Gated),
                4 => Some(MatchState::AtLimit),
                _ => None,
            },
            latency: self.latency(),
            sample_rate: self.sample_rate.load(Ordering::Relaxed),
            partner_sample_rate: self.partner_sample_rate.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_round_trips_through_the_atomics() {
        let status = LinkStatus::default();
        for health in Health::ALL {
            status.set_health(health, Some(3), 2);
            let view = status.view();
            assert_eq!(
                (view.health, view.partner_slot, view.start_count),
                (health, Some(3), 2)
            );
        }
        for compare in CompareState::ALL {
            status.set_compare(compare);
            assert_eq!(status.view().compare, compare);
        }
        for latency in [
            LatencyState::Unknown,
            LatencyState::Measuring,
            LatencyState::Unreliable,
            LatencyState::Measured {
                frames: 480,
                correlation: -0.9,
            },
        ] {
            status.set_latency(latency);
            assert_eq!(status.latency(), latency);
        }
        for follower in [
            None,
            Some(MatchState::Following),
            Some(MatchState::Matched),
            Some(MatchState::Gated),
            Some(MatchState::AtLimit),
        ] {
            status.set_follower(follower);
            assert_eq!(status.view().follower, follower);
        }
        status.set_levels(None, 1.5);
        assert_eq!(status.view().difference_db, None);
        status.set_levels(Some(-9.0), 9.0);
        assert_eq!(status.view().difference_db, Some(-9.0));
    }
}
