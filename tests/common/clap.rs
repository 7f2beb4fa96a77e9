//! What the CLAP host tests share: a minimal host, the plugin library under test, and state
//! save and load through the CLAP state extension.
//!
//! Included with `#[path = "common/clap.rs"] mod clap;`.
#![allow(dead_code)]

use std::ffi::CStr;
use std::path::PathBuf;

use clack_extensions::state::PluginState;
use clack_host::prelude::*;

/// Trimeter's CLAP id.
pub const PLUGIN_ID: &CStr = c"audio.trimeter.trimeter";

/// A host with no extensions of its own.
pub struct TestHost;
/// Its thread-safe part.
pub struct TestShared;

impl SharedHandler<'_> for TestShared {
    fn request_restart(&self) {}
    fn request_process(&self) {}
    fn request_callback(&self) {}
}

impl HostHandlers for TestHost {
    type Shared<'a> = TestShared;
    type MainThread<'a> = ();
    type AudioProcessor<'a> = ();
}

/// The plugin library under test.
pub fn plugin_path() -> PathBuf {
    if let Some(path) = std::env::var_os("TRIMETER_CLAP") {
        return PathBuf::from(path);
    }
    // The test binary and the plugin library `cargo test` just built sit side by side in
    // target/<profile>/deps. (The copy in target/<profile> is only refreshed by `cargo build`,
    // so it can be stale.)
    let exe = std::env::current_exe().expect("test executable path");
    let deps_dir = exe.parent().expect("target/<profile>/deps");
    let name = if cfg!(target_os = "windows") {
        "trimeter.dll"
    } else if cfg!(target_os = "macos") {
        "libtrimeter.dylib"
    } else {
        "libtrimeter.so"
    };
    let path = deps_dir.join(name);
    assert!(
        path.exists(),
        "{} not built (cargo builds the cdylib with the tests)",
        path.display()
    );
    path
}

/// The instance's state, as a host saves it.
pub fn save_state<H: HostHandlers>(instance: &mut PluginInstance<H>) -> Vec<u8> {
    let handle = instance.plugin_handle();
    let state: PluginState = handle.get_extension().expect("state extension");
    let mut bytes = Vec::new();
    state.save(&handle, &mut bytes).expect("state saves");
    bytes
}

/// Loads `bytes` as the instance's state; whether the plugin accepted it.
pub fn load_state<H: HostHandlers>(instance: &mut PluginInstance<H>, bytes: &[u8]) -> bool {
    let handle = instance.plugin_handle();
    let state: PluginState = handle.get_extension().expect("state extension");
    state.load(&handle, &mut &bytes[..]).is_ok()
}
