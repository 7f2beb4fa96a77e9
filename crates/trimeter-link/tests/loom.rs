//! Model checks of the registry's own lock-free protocols with loom, which runs each test under
//! every interleaving of its threads' atomic operations (up to the preemption bound).
//!
//! `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test -p trimeter-link --test loom --release`
//! (CI runs it in its own target directory, so the normal build is not invalidated).
#![cfg(loom)]

use loom::sync::Arc;
use loom::thread;
use trimeter_link::{DryRing, Registry, Role, StartSearch};

/// Two instances register, take roles and leave while a third looks for the Start: a live
/// registration's slot is never handed to another, a reference to a departed instance never
/// validates, and the search never returns a slot that was not a Start of the group.
#[test]
fn registration_and_removal_race_with_lookups() {
    loom::model(|| {
        let registry = Arc::new(Registry::new(2));
        let handles: Vec<_> = (0..2)
            .map(|i| {
                let registry = registry.clone();
                thread::spawn(move || {
                    let r = registry.register().expect("two slots for two instances");
                    let me = r.slot_ref();
                    assert!(
                        registry.get(me).is_some(),
                        "my slot is mine while I hold it"
                    );
                    if i == 0 {
                        r.slot().set_role(Role::Start, 7);
                    }
                    assert!(registry.get(me).is_some());
                    drop(r);
                    assert!(registry.get(me).is_none(), "gone after removal");
                })
            })
            .collect();
        if let StartSearch::Found { start, count } = registry.find_start(7) {
            assert_eq!(count, 1);
            // It may have left since; if it is still there it is the Start of group 7.
            if let Some(slot) = registry.get(start) {
                let (role, group) = slot.role();
                assert!(role == Role::Start && group == 7 || role == Role::Off);
            }
        }
        for h in handles {
            h.join().unwrap();
        }
        assert!(registry.is_empty());
    });
}

/// A writer appends two frames (one per block) to a two-frame ring while a reader copies the
/// newest frame: whatever the interleaving, an accepted copy is exactly the frame it claims.
#[test]
fn dry_ring_copies_are_exact_or_refused() {
    loom::model(|| {
        let ring = Arc::new(DryRing::default());
        ring.ensure_capacity(2, 1);
        let writer = {
            let ring = ring.clone();
            thread::spawn(move || {
                ring.write(&[&[1.0]]);
                ring.write(&[&[2.0]]);
                ring.write(&[&[3.0]]);
            })
        };
        let mut out = [0.0f32; 1];
        for delay in [0, 1] {
            if let Ok(end) = ring.read(delay, &mut [&mut out]) {
                // Frame k (1-based) holds the value k; the copy ends `delay` before `end`.
                let expected = end as f32 - delay as f32;
                let expected = if expected < 1.0 { 0.0 } else { expected };
                assert_eq!(out[0], expected, "end {end}, delay {delay}");
            }
        }
        writer.join().unwrap();
    });
}

/// A writer changes a label twice while a reader reads it: the reader sees one whole label or
/// is told to try again, never a mix of two.
#[test]
fn labels_are_never_torn() {
    loom::model(|| {
        let label = Arc::new(trimeter_link::Label::default());
        let writer = {
            let label = label.clone();
            thread::spawn(move || {
                label.set("ab");
                label.set("xyz");
            })
        };
        if let Some(text) = label.get(1) {
            assert!(["", "ab", "xyz"].contains(&text.as_str()), "{text}");
        }
        writer.join().unwrap();
        assert_eq!(label.get(1).as_deref(), Some("xyz"));
    });
}
