//! A private Xvfb display for the GUI tests. Xvfb picks a free display number itself and writes
//! it to a pipe once it accepts connections (`-displayfd`), so tests neither collide on a number
//! (nor on a stale socket another server left behind) nor race the server's start.
//!
//! Included with `#[path = "common/xvfb.rs"] mod xvfb;` so it is not a test crate itself.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A running Xvfb, killed on drop.
pub struct Xvfb {
    child: Child,
    /// The display to connect to, e.g. ":3".
    pub display: String,
}

impl Xvfb {
    /// Starts Xvfb with one `width`x`height`x24 screen and waits until it accepts connections.
    ///
    /// # Panics
    /// When Xvfb is missing (apt-get install xvfb) or does not come up within 30 s.
    pub fn start(width: u32, height: u32) -> Self {
        let mut child = Command::new("Xvfb")
            .args(["-displayfd", "1", "-screen", "0"])
            .arg(format!("{width}x{height}x24"))
            .args(["-nolisten", "tcp"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("Xvfb starts (apt-get install xvfb)");
        let stdout = child.stdout.take().expect("Xvfb's stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(line) => line,
            Err(_) => {
                let _ = child.kill();
                panic!("Xvfb did not report a display within 30 s");
            }
        };
        let number: u32 = line
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("Xvfb reported {line:?} instead of a display number"));
        Self {
            child,
            display: format!(":{number}"),
        }
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
