//! Many threads create and destroy instances while others publish, look up partners and read
//! the dry ring, as hosts that scan and duplicate plugins in parallel do. Bounded: it stops by
//! itself after a fixed number of rounds.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use trimeter_link::{Publish, Registry, Role, StartSearch, SuggestedTrim, MAX_SLOTS};

#[test]
fn concurrent_instances_never_share_a_slot_or_leak_one() {
    let registry = Arc::new(Registry::new(MAX_SLOTS));
    let stop = Arc::new(AtomicBool::new(false));
    // Readers: look up Starts, read their rings, list the overview.
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let (registry, stop) = (registry.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut out = [0.0f32; 64];
                let mut lookups = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    for group in 1..=32 {
                        if let StartSearch::Found { start, .. } = registry.find_start(group) {
                            if let Some(slot) = registry.get(start) {
                                let _ = slot.ring.read(100, &mut [&mut out]);
                            }
                        }
                        lookups += 1;
                    }
                    assert!(registry.occupied().len() <= MAX_SLOTS);
                }
                lookups
            })
        })
        .collect();
    // Owners: 8 threads, each creating and destroying 16 instances at a time (128 live at most),
    // processing a few blocks with each.
    let owners: Vec<_> = (0..8u8)
        .map(|t| {
            let registry = registry.clone();
            std::thread::spawn(move || {
                let block = [0.25f32; 64];
                for round in 0..200 {
                    let mut held = Vec::new();
                    for k in 0..16u8 {
                        let r = registry.register().expect("128 live of 256 slots");
                        let role = if k % 2 == 0 { Role::Start } else { Role::End };
                        r.slot().set_role(role, 1 + (t * 4 + k / 4) % 32);
                        r.slot().ring.ensure_capacity(256, 1);
                        held.push(r);
                    }
                    for r in &held {
                        for _ in 0..3 {
                            r.slot().ring.write(&[&block]);
                            r.slot().publish(&Publish {
                                input: [-20.0; 3],
                                output: [-20.0; 3],
                                suggested_trim: Some(SuggestedTrim {
                                    trim_db: f32::from(round as u8),
                                    learned: false,
                                }),
                                input_clip: false,
                                output_clip: false,
                                sample_rate: 48_000.0,
                            });
                        }
                        // My slot is mine: nobody else took it while I hold it.
                        assert!(registry.get(r.slot_ref()).is_some());
                    }
                    // Drop in an order other than creation.
                    held.reverse();
                }
            })
        })
        .collect();
    for o in owners {
        o.join().unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    let lookups: u64 = readers.into_iter().map(|r| r.join().unwrap()).sum();
    assert!(lookups > 0);
    assert!(registry.is_empty(), "every slot came back");
    // And all of them can be taken again.
    let all: Vec<_> = (0..MAX_SLOTS)
        .map(|_| registry.register().unwrap())
        .collect();
    assert!(registry.register().is_none());
    drop(all);
}
