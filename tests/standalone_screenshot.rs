//! The real window: `trimeter-standalone` under a private Xvfb display with Mesa's software
//! OpenGL, fed by a real audio server, JACK's dummy driver, with a tone
//! (`jack_simple_client`) on the left input and a click (`jack_metro`) on the right, connected
//! with `--connect-jack-inputs`. Two screenshots (ImageMagick `import`) a second apart are saved
//! to target/ and must be neither blank nor equal: the meters move.
//!
//! The test builds the standalone binary itself (`--features standalone`), starts and stops
//! its own Xvfb and jackd, and needs the README's apt packages (xvfb, jackd2, imagemagick,
//! libgl1-mesa-dri).

#[path = "common/cargo_bin.rs"]
mod cargo_bin;
#[path = "common/xvfb.rs"]
mod xvfb;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use xvfb::Xvfb;

/// Children that are killed when the test ends, however it ends.
struct Children(Vec<(String, Child)>);

impl Children {
    fn spawn(&mut self, name: &str, command: &mut Command) {
        let child = command
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{name} starts: {e}"));
        self.0.push((name.to_string(), child));
    }

    fn assert_running(&mut self, name: &str) {
        let (_, child) = self.0.iter_mut().find(|(n, _)| n == name).unwrap();
        if let Some(status) = child.try_wait().unwrap() {
            panic!("{name} exited early: {status}");
        }
    }
}

impl Drop for Children {
    fn drop(&mut self) {
        // The last started first: the plugin before the audio server before the X server.
        for (_, child) in self.0.iter_mut().rev() {
            stop(child);
        }
    }
}

/// Asks a child to terminate (SIGTERM), and kills it only if it has not gone within 3 s. jackd
/// unregisters from JACK's shared-memory server registry only when it terminates: killed, it
/// leaves its entry behind, and after a few such runs no jackd on the machine can start ("Too
/// many servers already active").
fn stop(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Builds the standalone binary (debug) and returns its path.
fn build_standalone() -> PathBuf {
    cargo_bin::build(
        &[
            "-p",
            "trimeter",
            "--features",
            "standalone",
            "--bin",
            "trimeter-standalone",
        ],
        "trimeter-standalone",
    )
}

fn wait_for(what: &str, timeout: Duration, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !ready() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn jack_ports(server: &str) -> String {
    Command::new("jack_lsp")
        .env("JACK_DEFAULT_SERVER", server)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

fn screenshot(display: &str, path: &Path) -> image::RgbaImage {
    let status = Command::new("import")
        .args(["-display", display, "-window", "root"])
        .arg(path)
        .status()
        .expect("ImageMagick import runs");
    assert!(status.success(), "import failed");
    image::open(path).expect("screenshot decodes").to_rgba8()
}

/// Pixels whose colour differs between two images of the same size.
fn differing_pixels(a: &image::RgbaImage, b: &image::RgbaImage) -> usize {
    a.pixels().zip(b.pixels()).filter(|(p, q)| p != q).count()
}

/// Distinct colours in an image (a blank or black screen has one).
fn distinct_colours(image: &image::RgbaImage) -> usize {
    let mut colours: Vec<u32> = image.pixels().map(|p| u32::from_le_bytes(p.0)).collect();
    colours.sort_unstable();
    colours.dedup();
    colours.len()
}

#[test]
fn the_standalone_window_shows_moving_meters_fed_by_jack() {
    let standalone = build_standalone();
    let id = std::process::id();
    // Declared first, so it is dropped (killed) after every client of it.
    let xvfb = Xvfb::start(1100, 720);
    let display = xvfb.display.clone();
    let server = format!("trimeter-test-{id}");
    let mut children = Children(Vec::new());

    children.spawn(
        "jackd",
        Command::new("jackd")
            .env("JACK_NO_AUDIO_RESERVATION", "1")
            .args([
                "--no-realtime",
                "-n",
                &server,
                "-d",
                "dummy",
                "-r",
                "48000",
                "-p",
                "512",
            ]),
    );
    wait_for("jackd", Duration::from_secs(20), || {
        jack_ports(&server).contains("system:playback_1")
    });
    children.spawn(
        "jack_simple_client",
        Command::new("jack_simple_client").env("JACK_DEFAULT_SERVER", &server),
    );
    children.spawn(
        "jack_metro",
        Command::new("jack_metro")
            .env("JACK_DEFAULT_SERVER", &server)
            .args(["-b", "240", "-n", "metro", "-D", "40", "-A", "0.8"]),
    );
    wait_for(
        "the tone and click clients",
        Duration::from_secs(20),
        || {
            let ports = jack_ports(&server);
            ports.contains("jack_simple_client:output1") && ports.contains("metro:240_bpm")
        },
    );

    children.spawn(
        "trimeter-standalone",
        Command::new(&standalone)
            .env("DISPLAY", &display)
            .env("JACK_DEFAULT_SERVER", &server)
            .env("LIBGL_ALWAYS_SOFTWARE", "1")
            .args([
                "--backend",
                "jack",
                "--sample-rate",
                "48000",
                "--period-size",
                "512",
                "--connect-jack-inputs",
                "jack_simple_client:output1,metro:240_bpm",
            ]),
    );
    wait_for("Trimeter's JACK ports", Duration::from_secs(60), || {
        jack_ports(&server).to_lowercase().contains("trimeter")
    });
    // Let the window come up and the meters, the VU needle and the history fill.
    std::thread::sleep(Duration::from_secs(5));
    children.assert_running("trimeter-standalone");

    let target = workspace_root().join("target");
    let first_path = target.join("standalone-screenshot-1.png");
    let second_path = target.join("standalone-screenshot-2.png");
    let first = screenshot(&display, &first_path);
    std::thread::sleep(Duration::from_millis(1300));
    let second = screenshot(&display, &second_path);
    children.assert_running("trimeter-standalone");

    // Not blank: the editor's many colours, not one background.
    let colours = distinct_colours(&first);
    assert!(colours > 200, "screenshot looks blank: {colours} colours");
    // Moving meters: the click comes and goes, the needle swings, the history advances.
    let changed = differing_pixels(&first, &second);
    assert!(
        changed > 500,
        "the two screenshots differ in only {changed} pixels: the meters do not move"
    );
    println!(
        "screenshots: {} and {} ({colours} colours, {changed} pixels changed)",
        first_path.display(),
        second_path.display()
    );
}
