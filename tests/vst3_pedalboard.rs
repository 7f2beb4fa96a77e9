//! Trimeter's VST3 build in a real third-party VST3 host: Spotify's pedalboard (Python), which
//! loads the bundle, lists and sets parameters by name, processes audio and round-trips state.
//! The checks themselves are in `vst3_host.py`.
//!
//! The host comes from `cargo xtask test`, which installs pedalboard into `target/pyhost` and
//! sets `TRIMETER_PYTHON`. `TRIMETER_VST3` can point at another bundle (e.g. the release one).

use std::path::{Path, PathBuf};
use std::process::Command;

fn python() -> PathBuf {
    if let Some(python) = std::env::var_os("TRIMETER_PYTHON") {
        return PathBuf::from(python);
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/pyhost/bin/python");
    assert!(
        venv.exists(),
        "the VST3 host tests need pedalboard: run the suite with `cargo xtask test`, which sets it up"
    );
    venv
}

/// A VST3 bundle around the plugin library of this build (Trimeter.vst3/Contents/<arch>/).
fn bundle(dir: &Path) -> PathBuf {
    if let Some(path) = std::env::var_os("TRIMETER_VST3") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().unwrap();
    // The library `cargo test` just built sits beside this test binary in target/<profile>/deps.
    let library = exe.parent().unwrap().join("libtrimeter.so");
    assert!(library.exists(), "{} not built", library.display());
    let arch_dir = dir
        .join("Trimeter.vst3/Contents")
        .join(format!("{}-linux", std::env::consts::ARCH));
    std::fs::create_dir_all(&arch_dir).unwrap();
    std::fs::copy(&library, arch_dir.join("Trimeter.so")).unwrap();
    dir.join("Trimeter.vst3")
}

#[test]
#[cfg(target_os = "linux")]
fn pedalboard_loads_sets_processes_and_round_trips_state() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = bundle(dir.path());
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vst3_host.py");
    let output = Command::new(python())
        .arg(&script)
        .arg(&bundle)
        .output()
        .expect("python runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}");
    assert!(
        output.status.success(),
        "VST3 host checks failed:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.lines().filter(|l| l.starts_with("ok: ")).count() >= 15,
        "{stdout}"
    );
}
