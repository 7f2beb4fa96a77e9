//! Framework-free signal processing: the gain stage and every meter, on plain planar slices.
//!
//! Nothing in here knows about nice-plug or egui, so the same code runs in the plugin's audio
//! thread, in the `trimeter` command-line tool, in unit tests and in benchmarks.
//!
//! Every meter follows one lifecycle ([`meter::Meter`]): `prepare` (may allocate), `reset`,
//! `process` (never allocates, locks or waits; any block length, same result however the signal
//! is split) and `read`.

pub mod engine;
pub mod gain;
pub mod loudness;
pub mod meter;
pub mod peak;
pub mod ppm;
pub mod readout;
pub mod rms;
pub mod signals;
pub mod true_peak;
pub mod units;
pub mod vu;
