//! The atomics the registry uses: std's (and atomic_float's) normally, loom's under `--cfg loom`
//! so the model checker sees every access.

#[cfg(not(loom))]
pub(crate) use atomic_float::AtomicF32;
#[cfg(loom)]
pub(crate) use loom::sync::atomic::{fence, AtomicPtr, AtomicU32, AtomicU64, AtomicU8, Ordering};
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{fence, AtomicPtr, AtomicU32, AtomicU64, AtomicU8, Ordering};

/// Under loom: an f32 in an AtomicU32, with the part of atomic_float's API the registry uses.
#[cfg(loom)]
#[derive(Debug)]
pub(crate) struct AtomicF32(AtomicU32);

#[cfg(loom)]
impl AtomicF32 {
    pub(crate) fn new(v: f32) -> Self {
        Self(AtomicU32::new(v.to_bits()))
    }
    pub(crate) fn load(&self, order: Ordering) -> f32 {
        f32::from_bits(self.0.load(order))
    }
    pub(crate) fn store(&self, v: f32, order: Ordering) {
        self.0.store(v.to_bits(), order)
    }
}

/// The free-slot list: crossbeam's lock-free ArrayQueue normally; under loom, a loom mutex around
/// a vector (loom cannot see inside crossbeam, and the queue is not ours to check).
#[cfg(not(loom))]
pub(crate) type FreeList = crossbeam_queue::ArrayQueue<u16>;

#[cfg(loom)]
#[derive(Debug)]
pub(crate) struct FreeList(loom::sync::Mutex<Vec<u16>>);

#[cfg(loom)]
impl FreeList {
    pub(crate) fn new(capacity: usize) -> Self {
        Self(loom::sync::Mutex::new(Vec::with_capacity(capacity)))
    }
    pub(crate) fn push(&self, v: u16) -> Result<(), u16> {
        self.0.lock().unwrap().push(v);
        Ok(())
    }
    pub(crate) fn pop(&self) -> Option<u16> {
        self.0.lock().unwrap().pop()
    }
}
