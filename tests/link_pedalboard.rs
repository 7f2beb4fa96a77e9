//! The level-match link in a real third-party VST3 host: two Trimeter.vst3 instances around
//! pedalboard's Gain(-9 dB) in one process, roles set by parameter, Continuous match. The checks
//! are in `link_host.py`; the host setup is the one of `vst3_pedalboard.rs` (`cargo xtask test`
//! installs pedalboard and sets `TRIMETER_PYTHON`; `TRIMETER_VST3` picks another bundle).

use std::path::{Path, PathBuf};
use std::process::Command;

fn python() -> PathBuf {
    if let Some(python) = std::env::var_os("TRIMETER_PYTHON") {
        return PathBuf::from(python);
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/pyhost/bin/python")
}

/// A VST3 bundle around the plugin library this build made.
fn bundle(dir: &Path) -> PathBuf {
    if let Some(path) = std::env::var_os("TRIMETER_VST3") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().unwrap();
    let library = exe.parent().unwrap().join("libtrimeter.so");
    let arch_dir = dir
        .join("Trimeter.vst3/Contents")
        .join(format!("{}-linux", std::env::consts::ARCH));
    std::fs::create_dir_all(&arch_dir).unwrap();
    std::fs::copy(&library, arch_dir.join("Trimeter.so")).unwrap();
    dir.join("Trimeter.vst3")
}

#[test]
#[cfg(target_os = "linux")]
fn two_instances_around_a_minus_9_db_gain_match_back_within_0_6_db() {
    let python = python();
    assert!(
        python.exists(),
        "the VST3 host tests need pedalboard: run the suite with `cargo xtask test`"
    );
    let dir = tempfile::tempdir().unwrap();
    let bundle = bundle(dir.path());
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/link_host.py");
    let output = Command::new(python)
        .arg(&script)
        .arg(&bundle)
        .output()
        .expect("python runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    assert!(
        output.status.success(),
        "link host checks failed:\n{stdout}\n{stderr}"
    );
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with("ok: ")).count(),
        9,
        "{stdout}"
    );
}
