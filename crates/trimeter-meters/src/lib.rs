//! Trimeter's meters: framework-free signal processing on plain planar slices.
//!
//! The gain stage, every meter (sample and true peak, RMS/AES17 and the K-system, VU, PPM,
//! EBU R 128 loudness), the [`engine`] that runs them all on one signal, the lock-free
//! [`readout`] that hands their readings to another thread, and the [`staging`] math that turns
//! readings into a suggested trim. Nothing in here knows about a plugin framework, a GUI or
//! files, so the same code runs in the plugin's audio thread, in the `trimeter` command-line
//! tool, in tests and in benchmarks.
//!
//! Every meter follows one lifecycle ([`Meter`]): `prepare` (may allocate), `reset`, `process`
//! (never allocates, locks or waits; any block length, same result however the signal is split)
//! and `read`.
//!
//! The README below is this crate's documentation; its example runs as a doc test.
#![doc = include_str!("../README.md")]

pub mod engine;
pub mod gain;
pub mod history;
pub mod loudness;
pub mod matching;
pub mod meter;
pub mod peak;
pub mod ppm;
pub mod readout;
pub mod rms;
pub mod rng;
pub mod samples;
#[cfg(any(test, feature = "test-util"))]
pub mod signals;
pub mod simd;
pub mod staging;
pub mod true_peak;
pub mod units;
pub mod vu;

pub use engine::{EngineConfig, MeterEngine, MeterSnapshot, Summary};
pub use gain::{GainStage, GainTargets};
pub use meter::{Meter, MAX_CHANNELS};
pub use staging::{AverageMeasure, PeakMeasure, StagingHint, StagingTarget};
