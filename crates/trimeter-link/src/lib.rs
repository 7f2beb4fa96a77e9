//! The registry that links Trimeter instances in one process: who is there, in which role and
//! group, at which levels, and the dry signal a Start instance hands to its End instance.
//!
//! Plugin instances register when they are activated and unregister when they are deactivated
//! or dropped; that may happen on any host thread, concurrently. Audio threads only load and
//! store atomics here (levels, a heartbeat, the dry ring): nothing on the audio path allocates,
//! locks or waits. GUI threads read every slot for the session overview.
//!
//! Slots live in one fixed array and are never freed, only reused: a reader holds a
//! [`SlotRef`] (index plus generation) and checks the generation to learn that the instance it
//! followed went away. Free slots are kept in crossbeam's lock-free `ArrayQueue`; levels are
//! atomic_float's `AtomicF32`; each slot sits on its own cache lines (crossbeam's
//! `CachePadded`), so instances on different cores do not slow each other down.
//!
//! The parts of our own making (the generation protocol, the dry ring's sequence lock, the
//! label's sequence lock) are model-checked with loom: `RUSTFLAGS="--cfg loom" cargo test -p
//! trimeter-link --test loom --release`.

pub mod label;
pub mod ring;
mod sync;

use crossbeam_utils::CachePadded;

pub use label::{Label, LABEL_BYTES};
pub use ring::{DryRing, ReadError};
use sync::{AtomicF32, AtomicU32, AtomicU64, AtomicU8, FreeList, Ordering};

/// How many instances one process can link. Hosts with more instances still run them; the ones
/// beyond this do not appear in the registry.
pub const MAX_SLOTS: usize = 256;

/// Highest link group (groups are 1..=MAX_GROUP).
pub const MAX_GROUP: u8 = 64;

/// An instance's role in its group.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// Not linked (still listed in the overview).
    Off,
    /// The start of a chain: publishes its input.
    Start,
    /// The end of a chain: compares its output with its Start's input.
    End,
}

impl Role {
    fn to_u8(self) -> u8 {
        match self {
            Self::Off => 0,
            Self::Start => 1,
            Self::End => 2,
        }
    }

    fn from_u8(v: u8) -> Self {
        match v {
            1 => Self::Start,
            2 => Self::End,
            _ => Self::Off,
        }
    }
}

/// The level measures an instance publishes, in this order in [`Levels`].
pub const MEASURES: usize = 3;
/// Index of short-term loudness (LUFS) in [`Levels`].
pub const SHORT_TERM: usize = 0;
/// Index of AES17 RMS (dBFS) in [`Levels`].
pub const RMS: usize = 1;
/// Index of VU (in dBFS of the sine that reads the same) in [`Levels`].
pub const VU: usize = 2;

/// Levels in dB, one per measure ([`SHORT_TERM`], [`RMS`], [`VU`]); minus infinity for silence.
pub type Levels = [f32; MEASURES];

/// One instance's shared state.
#[derive(Debug)]
pub struct Slot {
    /// Odd while the slot is occupied; every registration and removal adds one.
    generation: AtomicU32,
    /// When the current occupant registered (a process-wide count), to prefer the oldest Start.
    order: AtomicU64,
    /// Role (low byte) and group (high byte) in one atomic, so a reader never sees the role of
    /// one setting with the group of another.
    role_group: AtomicU32,
    sample_rate: AtomicF32,
    input: [AtomicF32; MEASURES],
    output: [AtomicF32; MEASURES],
    /// The suggested trim in one atomic, so a reader never sees the value of one suggestion
    /// with the source of another ([`SuggestedTrim::pack`]).
    suggested_trim: AtomicU64,
    /// Bit 0: input clip latched; bit 1: output clip latched.
    clips: AtomicU8,
    /// Blocks processed since registration: a reader that sees it stand still knows the
    /// instance stopped processing.
    heartbeat: AtomicU64,
    label: Label,
    /// The owner's link state, opaque to the registry (the plugin's health code), so the
    /// overview and test hosts can show how each instance's link is doing.
    link_state: AtomicU32,
    /// The dry signal (written by Start instances).
    pub ring: DryRing,
}

fn pack_role(role: Role, group: u8) -> u32 {
    u32::from(role.to_u8()) | (u32::from(group.clamp(1, MAX_GROUP)) << 8)
}

fn atomic_levels() -> [AtomicF32; MEASURES] {
    std::array::from_fn(|_| AtomicF32::new(f32::NEG_INFINITY))
}

impl Default for Slot {
    fn default() -> Self {
        Self {
            generation: AtomicU32::new(0),
            order: AtomicU64::new(0),
            role_group: AtomicU32::new(pack_role(Role::Off, 1)),
            sample_rate: AtomicF32::new(0.0),
            input: atomic_levels(),
            output: atomic_levels(),
            suggested_trim: AtomicU64::new(SuggestedTrim::pack(None)),
            clips: AtomicU8::new(0),
            heartbeat: AtomicU64::new(0),
            label: Label::default(),
            link_state: AtomicU32::new(0),
            ring: DryRing::default(),
        }
    }
}

impl Slot {
    /// The role and group the occupant set.
    pub fn role(&self) -> (Role, u8) {
        let packed = self.role_group.load(Ordering::Acquire);
        (Role::from_u8(packed as u8), (packed >> 8) as u8)
    }

    /// Sets the role and group (group clamped to 1..=[`MAX_GROUP`]). Real-time safe.
    pub fn set_role(&self, role: Role, group: u8) {
        self.role_group
            .store(pack_role(role, group), Ordering::Release);
    }

    /// Publishes one block's levels and state. Real-time safe (atomic stores only).
    pub fn publish(&self, update: &Publish) {
        for (cell, &v) in self.input.iter().zip(&update.input) {
            cell.store(v, Ordering::Relaxed);
        }
        for (cell, &v) in self.output.iter().zip(&update.output) {
            cell.store(v, Ordering::Relaxed);
        }
        self.suggested_trim.store(
            SuggestedTrim::pack(update.suggested_trim),
            Ordering::Relaxed,
        );
        self.clips.store(
            u8::from(update.input_clip) | (u8::from(update.output_clip) << 1),
            Ordering::Relaxed,
        );
        self.sample_rate
            .store(update.sample_rate, Ordering::Relaxed);
        self.heartbeat.fetch_add(1, Ordering::Release);
    }

    /// Publishes the owner's link state (opaque to the registry). Real-time safe.
    pub fn set_link_state(&self, state: u32) {
        self.link_state.store(state, Ordering::Relaxed);
    }

    /// The owner's link state last published.
    pub fn link_state(&self) -> u32 {
        self.link_state.load(Ordering::Relaxed)
    }

    /// The input levels (before the trim) last published.
    pub fn input_levels(&self) -> Levels {
        std::array::from_fn(|i| self.input[i].load(Ordering::Relaxed))
    }

    /// The output levels last published.
    pub fn output_levels(&self) -> Levels {
        std::array::from_fn(|i| self.output[i].load(Ordering::Relaxed))
    }

    /// Blocks processed since registration.
    pub fn heartbeat(&self) -> u64 {
        self.heartbeat.load(Ordering::Acquire)
    }

    /// The sample rate last published, Hz (0 before the first block).
    pub fn sample_rate(&self) -> f32 {
        self.sample_rate.load(Ordering::Relaxed)
    }

    /// Sets the label shown in other instances' overviews (non-real-time: writers wait for
    /// each other).
    pub fn set_label(&self, text: &str) {
        self.label.set(text);
    }

    /// Everything the overview shows, read without locks. The label may be `None` only if a
    /// writer kept changing it.
    pub fn view(&self) -> SlotView {
        let (role, group) = self.role();
        SlotView {
            role,
            group,
            label: self.label.get(8).unwrap_or_default(),
            input: self.input_levels(),
            output: self.output_levels(),
            suggested_trim: SuggestedTrim::unpack(self.suggested_trim.load(Ordering::Relaxed)),
            input_clip: self.clips.load(Ordering::Relaxed) & 1 != 0,
            output_clip: self.clips.load(Ordering::Relaxed) & 2 != 0,
            sample_rate: self.sample_rate(),
            heartbeat: self.heartbeat(),
            link_state: self.link_state(),
        }
    }
}

/// The trim an instance suggests for its input, and where it comes from.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SuggestedTrim {
    /// The trim, dB.
    pub trim_db: f32,
    /// From what the assistant learned (learning or frozen after Apply); otherwise the
    /// running estimate from the input meters since their reset.
    pub learned: bool,
}

impl SuggestedTrim {
    /// The value's bits in the low half, `learned` in bit 32, bit 33 set for none.
    fn pack(trim: Option<SuggestedTrim>) -> u64 {
        match trim {
            Some(t) => u64::from(t.trim_db.to_bits()) | u64::from(t.learned) << 32,
            None => 1 << 33,
        }
    }

    fn unpack(bits: u64) -> Option<SuggestedTrim> {
        let trim_db = f32::from_bits(bits as u32);
        (bits >> 33 & 1 == 0 && trim_db.is_finite()).then_some(SuggestedTrim {
            trim_db,
            learned: bits >> 32 & 1 == 1,
        })
    }
}

/// What an instance publishes after a block.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Publish {
    /// Input levels (before the trim).
    pub input: Levels,
    /// Output levels.
    pub output: Levels,
    /// The suggested trim for the instance's assistant target.
    pub suggested_trim: Option<SuggestedTrim>,
    /// Input clip lamp latched.
    pub input_clip: bool,
    /// Output clip lamp latched.
    pub output_clip: bool,
    /// Sample rate, Hz.
    pub sample_rate: f32,
}

/// A copy of one slot, for the overview.
#[derive(Clone, Debug, PartialEq)]
pub struct SlotView {
    /// Role.
    pub role: Role,
    /// Group (1..=64).
    pub group: u8,
    /// Label (the host's track name or the user's).
    pub label: String,
    /// Input levels.
    pub input: Levels,
    /// Output levels.
    pub output: Levels,
    /// Suggested trim.
    pub suggested_trim: Option<SuggestedTrim>,
    /// Input clip lamp.
    pub input_clip: bool,
    /// Output clip lamp.
    pub output_clip: bool,
    /// Sample rate, Hz.
    pub sample_rate: f32,
    /// Blocks processed since registration.
    pub heartbeat: u64,
    /// The owner's link state ([`Slot::set_link_state`]).
    pub link_state: u32,
}

/// A slot and the generation it had when it was looked up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlotRef {
    /// Index in the registry.
    pub index: usize,
    /// The slot's generation then (odd: occupied).
    pub generation: u32,
}

/// The result of looking for a group's Start instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StartSearch {
    /// No Start instance in this group in this process.
    None,
    /// The Start instance (the oldest, when there are several), and how many there are.
    Found {
        /// The one used.
        start: SlotRef,
        /// Start instances in the group (more than one is worth a warning).
        count: usize,
    },
}

/// The registry: fixed slots and a lock-free list of the free ones.
pub struct Registry {
    slots: Box<[CachePadded<Slot>]>,
    free: FreeList,
    next_order: AtomicU64,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("slots", &self.slots.len())
            .finish()
    }
}

impl Registry {
    /// A registry of `slots` slots (at most 65536). Allocates.
    pub fn new(slots: usize) -> Self {
        let slots = slots.clamp(1, 1 << 16);
        let free = FreeList::new(slots);
        for i in 0..slots {
            let _ = free.push(i as u16);
        }
        Self {
            slots: (0..slots)
                .map(|_| CachePadded::new(Slot::default()))
                .collect(),
            free,
            next_order: AtomicU64::new(1),
        }
    }

    /// The process-wide registry ([`MAX_SLOTS`] slots), created on first use.
    #[cfg(not(loom))]
    pub fn global() -> &'static Registry {
        static GLOBAL: std::sync::OnceLock<Registry> = std::sync::OnceLock::new();
        GLOBAL.get_or_init(|| Registry::new(MAX_SLOTS))
    }

    /// Takes a free slot for a new instance (role Off, group 1, levels silent, label empty).
    /// `None` when every slot is taken. Lock-free; call it outside `process()` (it may clear
    /// the label, which waits for a concurrent label writer of the same slot).
    pub fn register(&self) -> Option<Registration<'_>> {
        let index = usize::from(self.free.pop()?);
        let slot = &self.slots[index];
        slot.set_role(Role::Off, 1);
        slot.publish(&Publish {
            input: [f32::NEG_INFINITY; MEASURES],
            output: [f32::NEG_INFINITY; MEASURES],
            suggested_trim: None,
            input_clip: false,
            output_clip: false,
            sample_rate: 0.0,
        });
        slot.heartbeat.store(0, Ordering::Relaxed);
        slot.link_state.store(0, Ordering::Relaxed);
        slot.label.set("");
        slot.order.store(
            self.next_order.fetch_add(1, Ordering::Relaxed),
            Ordering::Relaxed,
        );
        // Even to odd: occupied. Release makes the fields above visible to readers that see it.
        let generation = slot.generation.fetch_add(1, Ordering::AcqRel) + 1;
        debug_assert!(generation % 2 == 1);
        Some(Registration {
            registry: self,
            slot: SlotRef { index, generation },
        })
    }

    /// The slot `slot` names, if it still belongs to the instance it named.
    pub fn get(&self, slot: SlotRef) -> Option<&Slot> {
        let s = self.slots.get(slot.index)?;
        (s.generation.load(Ordering::Acquire) == slot.generation).then_some(&**s)
    }

    /// Looks for the Start instance of `group` (the oldest when there are several). Real-time
    /// safe: loads only, O(slots).
    pub fn find_start(&self, group: u8) -> StartSearch {
        let mut best: Option<(u64, SlotRef)> = None;
        let mut count = 0;
        for (index, slot) in self.slots.iter().enumerate() {
            let generation = slot.generation.load(Ordering::Acquire);
            if generation % 2 == 0 {
                continue;
            }
            if slot.role() != (Role::Start, group) {
                continue;
            }
            count += 1;
            let order = slot.order.load(Ordering::Relaxed);
            if best.is_none_or(|(o, _)| order < o) {
                best = Some((order, SlotRef { index, generation }));
            }
        }
        match best {
            Some((_, start)) => StartSearch::Found { start, count },
            None => StartSearch::None,
        }
    }

    /// Every occupied slot, for the overview (allocates: GUI thread).
    pub fn occupied(&self) -> Vec<(SlotRef, SlotView)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(index, slot)| {
                let generation = slot.generation.load(Ordering::Acquire);
                if generation % 2 == 0 {
                    return None;
                }
                let view = slot.view();
                // Drop a row whose instance left (and maybe another arrived) while we read it.
                (slot.generation.load(Ordering::Acquire) == generation)
                    .then_some((SlotRef { index, generation }, view))
            })
            .collect()
    }

    /// How many slots are occupied now.
    pub fn len(&self) -> usize {
        self.slots
            .iter()
            .filter(|s| s.generation.load(Ordering::Acquire) % 2 == 1)
            .count()
    }

    /// Whether no slot is occupied.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// An instance's hold on its slot; dropping it frees the slot.
#[derive(Debug)]
pub struct Registration<'a> {
    registry: &'a Registry,
    slot: SlotRef,
}

impl Registration<'_> {
    /// The slot.
    pub fn slot(&self) -> &Slot {
        &self.registry.slots[self.slot.index]
    }

    /// The slot's reference (what other instances see).
    pub fn slot_ref(&self) -> SlotRef {
        self.slot
    }
}

impl Drop for Registration<'_> {
    fn drop(&mut self) {
        let slot = &self.registry.slots[self.slot.index];
        slot.set_role(Role::Off, 1);
        // Odd to even: free. Readers holding the old generation now see that it is gone.
        slot.generation.fetch_add(1, Ordering::AcqRel);
        let _ = self.registry.free.push(self.slot.index as u16);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn register_find_and_leave() {
        let registry = Registry::new(8);
        assert!(registry.is_empty());
        let a = registry.register().unwrap();
        let b = registry.register().unwrap();
        let c = registry.register().unwrap();
        assert_eq!(registry.len(), 3);
        assert_eq!(registry.find_start(5), StartSearch::None);
        b.slot().set_role(Role::Start, 5);
        c.slot().set_role(Role::Start, 5);
        a.slot().set_role(Role::End, 5);
        // Two Starts: the older one is used, and both are counted.
        assert_eq!(
            registry.find_start(5),
            StartSearch::Found {
                start: b.slot_ref(),
                count: 2
            }
        );
        assert_eq!(registry.find_start(6), StartSearch::None);
        let b_ref = b.slot_ref();
        drop(b);
        assert!(
            registry.get(b_ref).is_none(),
            "a removed Start is reported gone"
        );
        assert_eq!(
            registry.find_start(5),
            StartSearch::Found {
                start: c.slot_ref(),
                count: 1
            }
        );
        // The freed slot is reused with a new generation: the old reference stays invalid.
        let d = registry.register().unwrap();
        assert!(registry.get(b_ref).is_none());
        assert!(registry.get(d.slot_ref()).is_some());
        assert_eq!(registry.occupied().len(), 3);
    }

    #[test]
    fn a_full_registry_refuses_and_recovers() {
        let registry = Registry::new(2);
        let a = registry.register().unwrap();
        let _b = registry.register().unwrap();
        assert!(registry.register().is_none());
        drop(a);
        assert!(registry.register().is_some());
    }

    #[test]
    fn publish_and_view() {
        let registry = Registry::new(4);
        let a = registry.register().unwrap();
        a.slot().set_label("Lead Vox");
        a.slot().publish(&Publish {
            input: [-20.0, -18.0, -19.0],
            output: [-14.0, -12.0, -13.0],
            suggested_trim: Some(SuggestedTrim {
                trim_db: 2.5,
                learned: true,
            }),
            input_clip: false,
            output_clip: true,
            sample_rate: 48_000.0,
        });
        let rows = registry.occupied();
        assert_eq!(rows.len(), 1);
        let view = &rows[0].1;
        assert_eq!(view.label, "Lead Vox");
        assert_eq!(view.input, [-20.0, -18.0, -19.0]);
        assert_eq!(
            view.suggested_trim,
            Some(SuggestedTrim {
                trim_db: 2.5,
                learned: true
            })
        );
        // The running estimate, then none: the source travels with the value.
        let running = Publish {
            input: [-20.0; 3],
            output: [-20.0; 3],
            suggested_trim: Some(SuggestedTrim {
                trim_db: -3.0,
                learned: false,
            }),
            input_clip: false,
            output_clip: false,
            sample_rate: 48_000.0,
        };
        a.slot().publish(&running);
        let trim = a.slot().view().suggested_trim;
        assert_eq!(trim.map(|t| (t.trim_db, t.learned)), Some((-3.0, false)));
        a.slot().publish(&Publish {
            suggested_trim: None,
            ..running
        });
        assert_eq!(a.slot().view().suggested_trim, None);
        assert!(view.output_clip && !view.input_clip);
        assert_eq!(view.heartbeat, 1);
    }
}
