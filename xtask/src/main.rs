//! `cargo xtask`: nice-plug's bundler plus two commands of ours.
//!
//! - `cargo xtask bundle trimeter --release`: build `target/bundled/Trimeter.{clap,vst3}`.
//! - `cargo xtask install`: bundle, then copy both bundles into the per-user plugin folders.
//! - `cargo xtask test [cargo test args]`: provision the Python VST3 host (pedalboard) in
//!   `target/pyhost` if needed, then run the whole test suite with it (every target of every
//!   crate, then the doc tests).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context, Result};

/// pedalboard (a real VST3 host, Spotify's) and numpy, pinned so test results do not move with
/// new releases.
const PYTHON_HOST_PACKAGES: [&str; 2] = ["pedalboard==0.9.26", "numpy>=1.26,<3"];

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("install") => install(),
        Some("test") => test(&args[1..]),
        _ => nice_plug_xtask::main(),
    }
}

fn workspace_root() -> Result<PathBuf> {
    nice_plug_xtask::chdir_workspace_root()?;
    Ok(std::env::current_dir()?)
}

fn install() -> Result<()> {
    let root = workspace_root()?;
    nice_plug_xtask::main_with_args(
        "cargo xtask",
        ["bundle", "trimeter", "--release"].map(String::from),
    )?;
    let home = PathBuf::from(std::env::var_os("HOME").context("HOME is not set")?);
    let (clap_dir, vst3_dir) = if cfg!(target_os = "macos") {
        let base = home.join("Library/Audio/Plug-Ins");
        (base.join("CLAP"), base.join("VST3"))
    } else if cfg!(target_os = "windows") {
        let base = PathBuf::from(
            std::env::var_os("COMMONPROGRAMFILES").context("COMMONPROGRAMFILES is not set")?,
        );
        (base.join("CLAP"), base.join("VST3"))
    } else {
        (home.join(".clap"), home.join(".vst3"))
    };
    let bundled = root.join("target/bundled");
    for (bundle, dir) in [("Trimeter.clap", &clap_dir), ("Trimeter.vst3", &vst3_dir)] {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let target = dir.join(bundle);
        copy_recursive(&bundled.join(bundle), &target)?;
        println!("installed {}", target.display());
    }
    Ok(())
}

/// Copies a file or a bundle directory, replacing what was there.
fn copy_recursive(from: &Path, to: &Path) -> Result<()> {
    if to.is_dir() {
        std::fs::remove_dir_all(to)?;
    } else if to.exists() {
        std::fs::remove_file(to)?;
    }
    if from.is_dir() {
        std::fs::create_dir_all(to)?;
        for entry in std::fs::read_dir(from)? {
            let entry = entry?;
            copy_recursive(&entry.path(), &to.join(entry.file_name()))?;
        }
    } else {
        std::fs::copy(from, to)
            .with_context(|| format!("copying {} to {}", from.display(), to.display()))?;
    }
    Ok(())
}

fn test(cargo_args: &[String]) -> Result<()> {
    let root = workspace_root()?;
    let python = provision_python_host(&root.join("target/pyhost"))?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    // `--all-targets` leaves out doc tests (the meters crate's README example is one), so they
    // run as a second pass over the same build.
    for targets in ["--all-targets", "--doc"] {
        let status = Command::new(&cargo)
            .args(["test", "--workspace", targets])
            .args(cargo_args)
            .env("TRIMETER_PYTHON", &python)
            .status()
            .context("running cargo test")?;
        if !status.success() {
            bail!("tests failed ({status})");
        }
    }
    Ok(())
}

/// A virtualenv with the pinned host packages; returns its python.
fn provision_python_host(venv: &Path) -> Result<PathBuf> {
    let python = venv.join("bin/python");
    let ready = python.exists()
        && Command::new(&python)
            .args(["-c", "import pedalboard, numpy"])
            .status()
            .is_ok_and(|s| s.success());
    if ready {
        return Ok(python);
    }
    eprintln!(
        "setting up the VST3 test host (pedalboard) in {}",
        venv.display()
    );
    let status = Command::new("python3")
        .args(["-m", "venv"])
        .arg(venv)
        .status()
        .context(
            "python3 is needed for the VST3 host tests (apt-get install python3 python3-venv)",
        )?;
    if !status.success() {
        bail!("python3 -m venv failed; install python3-venv");
    }
    let status = Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .args(PYTHON_HOST_PACKAGES)
        .status()
        .context("running pip")?;
    if !status.success() {
        bail!("could not install {PYTHON_HOST_PACKAGES:?}");
    }
    Ok(python)
}
