//! The editor open under the real-time guard: a CLAP host (clack-host) opens Trimeter's editor
//! through the CLAP gui extension, embedded in an X11 window of its own on a private Xvfb
//! display, and processes audio while it is open. The debug build of the plugin runs `process()`
//! under nice-plug's `assert_process_allocs`, so the publishing path (snapshots, peak cells,
//! repaint requests), which only runs while an editor is open, would abort this test if it
//! allocated. Then the editor is closed and publishing must stop.
//!
//! Needs `Xvfb` (the README's apt line installs it) and Mesa's software OpenGL.

#[path = "common/clap.rs"]
mod clap;
#[path = "common/gui_host.rs"]
mod gui_host;
#[path = "common/xvfb.rs"]
mod xvfb;

use std::time::Duration;

use clack_host::prelude::*;
use clap::{diagnostic, fill_sine, load_plugin, process_block};
use gui_host::{host_window, new_gui_instance, open_embedded_editor, GuiHost};
use xvfb::Xvfb;

/// Processes `blocks` blocks of 512 frames of a -12 dBFS stereo sine.
fn process_blocks(processor: &mut StartedPluginAudioProcessor<GuiHost>, blocks: usize, start: u64) {
    let len = 512;
    let mut in_buffers = vec![vec![0.0f32; len]; 2];
    let mut out_buffers = vec![vec![0.0f32; len]; 2];
    for b in 0..blocks {
        let offset = start + (b * len) as u64;
        fill_sine(&mut in_buffers, -12.0, offset, 48_000.0);
        process_block(processor, &mut in_buffers, &mut out_buffers, offset, None);
        // Let the editor's window thread draw some frames meanwhile.
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn the_editor_opens_publishes_under_the_real_time_guard_and_stops_when_closed() {
    let xvfb = Xvfb::start(1280, 800);
    // SAFETY: this test binary runs this one test; nothing else reads the environment now.
    unsafe { std::env::set_var("DISPLAY", &xvfb.display) };

    // The host's own window, which the editor embeds into.
    let (conn, _root, parent) = host_window(&xvfb.display);

    // The library again, for its diagnostic publish counters.
    let (entry, library) = load_plugin();
    let counter = |name: &[u8]| diagnostic(&library, name);
    let published = || counter(b"trimeter_published_frames");
    let repaints = || counter(b"trimeter_repaint_requests");
    let mut instance = new_gui_instance(&entry, "Trimeter GUI test");
    let config = PluginAudioConfiguration {
        sample_rate: 48_000.0,
        min_frames_count: 1,
        max_frames_count: 512,
    };
    let processor = instance.activate(|_, _| (), config).expect("activates");
    let mut processor = processor.start_processing().expect("starts processing");

    // Closed editor: nothing is published.
    let before = published();
    process_blocks(&mut processor, 50, 0);
    assert_eq!(published(), before, "published while no editor was open");

    // The parent window lives until the end of the test, after `destroy`.
    let gui = open_embedded_editor(&mut instance, parent);
    let size = gui.get_size(&instance.plugin_handle()).expect("gui size");
    assert!(size.width >= 800 && size.height >= 500, "{size:?}");
    assert!(gui.can_resize(&instance.plugin_handle()));

    // Open editor: every block is published, under the allocation guard.
    let opened = published();
    let repaints_before = repaints();
    let blocks = 300;
    process_blocks(&mut processor, blocks, 50 * 512);
    let while_open = published() - opened;
    assert_eq!(
        while_open, blocks as u64,
        "every block publishes while the editor is open"
    );
    // Repaints: at most 60 per second of audio (3.2 s here), however fast the host runs the
    // blocks; the moving meters ask for one whenever the cap allows.
    let audio_s = (blocks * 512) as f64 / 48_000.0;
    let requested = repaints() - repaints_before;
    assert!(
        requested as f64 <= 60.0 * audio_s + 1.0,
        "{requested} repaints in {audio_s} s of audio"
    );
    assert!(
        requested as f64 >= 0.75 * 60.0 * audio_s,
        "{requested} repaints in {audio_s} s of audio: the meters move, so the cap should bind"
    );

    gui.destroy(&instance.plugin_handle());
    // Closed again: publishing stops.
    let (closed, repaints_closed) = (published(), repaints());
    process_blocks(&mut processor, 100, 350 * 512);
    assert_eq!(published(), closed, "published after the editor closed");
    assert_eq!(
        repaints(),
        repaints_closed,
        "repaints asked for with no editor"
    );

    instance.deactivate(processor.stop_processing());
    drop(instance);
    drop(conn);
}
