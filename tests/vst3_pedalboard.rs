//! Trimeter's VST3 build in a real third-party VST3 host: Spotify's pedalboard (Python), which
//! loads the bundle, lists and sets parameters by name, processes audio and round-trips state.
//! The checks themselves are in `vst3_host.py`.
//!
//! The host comes from `cargo xtask test`, which installs pedalboard into `target/pyhost` and
//! sets `TRIMETER_PYTHON`. `TRIMETER_VST3` can point at another bundle (e.g. the release one).

#[path = "common/vst3.rs"]
mod vst3;

#[test]
#[cfg(target_os = "linux")]
fn pedalboard_loads_sets_processes_and_round_trips_state() {
    let passed = vst3::run_checks("vst3_host.py");
    assert!(passed >= 15, "{passed} checks passed");
}
