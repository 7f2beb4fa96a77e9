//! The level-match link in a real third-party VST3 host: two Trimeter.vst3 instances around
//! pedalboard's Gain(-9 dB) in one process, roles set by parameter, Continuous match. The checks
//! are in `link_host.py`; the host setup (pedalboard from `cargo xtask test`) is shared with
//! `vst3_pedalboard.rs`.

#[path = "common/vst3.rs"]
mod vst3;

#[test]
#[cfg(target_os = "linux")]
fn two_instances_around_a_minus_9_db_gain_match_back_within_0_6_db() {
    assert_eq!(vst3::run_checks("link_host.py"), 9);
}
