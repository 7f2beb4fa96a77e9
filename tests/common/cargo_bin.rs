//! Builds a binary of this workspace with the cargo running the tests, into the same target
//! directory and profile, and returns its path. Included with
//! `#[path = "common/cargo_bin.rs"] mod cargo_bin;`.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs `cargo build <args>` in the workspace and returns `target/<profile>/<name>`.
pub fn build(args: &[&str], name: &str) -> PathBuf {
    let status = Command::new(env!("CARGO"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .arg("build")
        .args(args)
        .status()
        .expect("cargo runs");
    assert!(status.success(), "building {name} failed");
    // target/<profile>/deps/this-test -> target/<profile>/<name>
    let exe = std::env::current_exe().unwrap();
    let path = exe.parent().and_then(Path::parent).unwrap().join(name);
    assert!(path.exists(), "{} missing", path.display());
    path
}
