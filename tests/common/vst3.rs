//! The VST3 host tests' setup, shared: pedalboard's Python (from `cargo xtask test`, which
//! installs it into `target/pyhost` and sets `TRIMETER_PYTHON`), a VST3 bundle around the plugin
//! library this build made (or `TRIMETER_VST3`), and a run of one of the Python check scripts.

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

/// Runs `tests/<script>` on the bundle; panics with its output unless it succeeds. Returns how
/// many checks passed (lines starting with "ok: ").
pub fn run_checks(script: &str) -> usize {
    let dir = tempfile::tempdir().unwrap();
    let bundle = bundle(dir.path());
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(script);
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
    stdout.lines().filter(|l| l.starts_with("ok: ")).count()
}
