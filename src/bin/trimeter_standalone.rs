//! Trimeter as a standalone application (JACK, ALSA or a dummy backend), for trying the plugin
//! without a host. Built only with `--features standalone`, so the bundled plugin never links
//! the audio backends.

fn main() {
    if !nice_plug::prelude::nice_export_standalone::<trimeter::Trimeter>() {
        std::process::exit(1);
    }
}
