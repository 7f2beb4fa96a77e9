//! The host side for the editor tests: a CLAP host with the gui and params extensions (it
//! accepts what the plugin asks for and counts parameter flush requests), and the X11 window
//! the editor embeds into.
//!
//! Included with `#[path = "common/gui_host.rs"] mod gui_host;`.
#![allow(dead_code)]

use std::sync::atomic::{AtomicU32, Ordering};

use clack_extensions::gui::{
    GuiApiType, GuiConfiguration, GuiSize, HostGui, HostGuiImpl, PluginGui, Window,
};
use clack_extensions::params::{
    HostParams, HostParamsImplMainThread, HostParamsImplShared, ParamClearFlags, ParamRescanFlags,
};
use clack_host::prelude::*;
use x11rb::connection::Connection;
use x11rb::protocol::xproto::{ConnectionExt, CreateWindowAux, WindowClass};
use x11rb::rust_connection::RustConnection;

/// A host with the gui and params extensions.
pub struct GuiHost;

/// Its thread-safe part.
#[derive(Default)]
pub struct GuiShared {
    /// The plugin's parameter flush requests (its GUI-thread changes ask for one).
    pub flush_requests: AtomicU32,
}

/// Its main-thread part.
pub struct GuiMain;

impl SharedHandler<'_> for GuiShared {
    fn request_restart(&self) {}
    fn request_process(&self) {}
    fn request_callback(&self) {}
}

impl MainThreadHandler<'_> for GuiMain {}

/// The host side of the gui extension: nice-plug's editor needs it to exist; this host accepts
/// what the plugin asks for without acting on it.
impl HostGuiImpl for GuiShared {
    fn resize_hints_changed(&self) {}
    fn request_resize(&self, _new_size: GuiSize) -> Result<(), HostError> {
        Ok(())
    }
    fn request_show(&self) -> Result<(), HostError> {
        Ok(())
    }
    fn request_hide(&self) -> Result<(), HostError> {
        Ok(())
    }
    fn closed(&self, _was_destroyed: bool) {}
}

impl HostParamsImplShared for GuiShared {
    fn request_flush(&self) {
        self.flush_requests.fetch_add(1, Ordering::Relaxed);
    }
}

impl HostParamsImplMainThread for GuiMain {
    fn rescan(&self, _flags: ParamRescanFlags) {}
    fn clear(&self, _param_id: ClapId, _flags: ParamClearFlags) {}
}

impl HostHandlers for GuiHost {
    type Shared<'a> = GuiShared;
    type MainThread<'a> = GuiMain;
    type AudioProcessor<'a> = ();

    fn declare_extensions(builder: &mut HostExtensions<Self>, _shared: &Self::Shared<'_>) {
        builder.register::<HostGui>().register::<HostParams>();
    }
}

/// The host's own 1000x700 window at the root's origin on `display`, which the editor embeds
/// into: (connection, root window, host window).
pub fn host_window(display: &str) -> (RustConnection, u32, u32) {
    let (conn, screen_num) = x11rb::connect(Some(display)).expect("X connection");
    let screen = &conn.setup().roots[screen_num];
    let (root, black) = (screen.root, screen.black_pixel);
    let parent = conn.generate_id().unwrap();
    conn.create_window(
        x11rb::COPY_DEPTH_FROM_PARENT,
        parent,
        root,
        0,
        0,
        1000,
        700,
        0,
        WindowClass::INPUT_OUTPUT,
        0,
        &CreateWindowAux::new().background_pixel(black),
    )
    .unwrap();
    conn.map_window(parent).unwrap();
    conn.flush().unwrap();
    (conn, root, parent)
}

/// A Trimeter instance in a [`GuiHost`] called `host_name`.
pub fn new_gui_instance(entry: &PluginEntry, host_name: &str) -> PluginInstance<GuiHost> {
    let info = HostInfo::new(host_name, "Trimeter Audio", "", "1.0").unwrap();
    PluginInstance::<GuiHost>::new(
        |_| GuiShared::default(),
        |_| GuiMain,
        entry,
        super::clap::PLUGIN_ID,
        &info,
    )
    .expect("instance")
}

/// Opens the instance's editor as a host embeds it: created for X11, its parent `parent` (the
/// host's window, which must outlive the editor), shown. The gui extension, to `destroy` it.
pub fn open_embedded_editor(instance: &mut PluginInstance<GuiHost>, parent: u32) -> PluginGui {
    let gui: PluginGui = instance
        .plugin_handle()
        .get_extension()
        .expect("gui extension");
    let x11 = GuiConfiguration {
        api_type: GuiApiType::X11,
        is_floating: false,
    };
    assert!(gui.is_api_supported(&instance.plugin_handle(), x11));
    gui.create(&instance.plugin_handle(), x11)
        .expect("gui created");
    // SAFETY: the caller keeps the parent window until after `destroy`.
    unsafe {
        gui.set_parent(
            &instance.plugin_handle(),
            Window::from_x11_handle(parent.into()),
        )
    }
    .expect("embedded in the host window");
    let _ = gui.show(&instance.plugin_handle());
    gui
}
