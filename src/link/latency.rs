//! Measuring the chain's latency off the audio thread.
//!
//! The End instance's audio thread fills a capture: its own input (the chain's output) and, for
//! the same frames, the Start's input read from the dry ring, both mixed to mono, over
//! [`CAPTURE_REFERENCE_S`] + [`MAX_LATENCY_S`] seconds. It hands the full capture to the
//! background task through a one-place crossbeam `ArrayQueue`, and takes it back, with the
//! estimate in it, through another; the capture's buffers are allocated once in `activate` and
//! only ever move between the two queues, so the audio thread never allocates or frees them.
//! The analysis thread ([`Analyzer`]) runs the meters crate's cross-correlation
//! ([`estimate_latency`]), which allocates.
//!
//! NOTE: the analysis does not use nice-plug's background task executor: nice-plug 0.4's shared
//! worker thread stops for every instance when it receives a task of an instance that was
//! already destroyed, and the next instance's removal then panics across the FFI boundary
//! (seen in tests/link_clap.rs). Our thread is started by the first active instance and joined
//! when the last one deactivates, so no code of the library runs after the host unloads it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_queue::ArrayQueue;
use trimeter_link::SlotRef;
use trimeter_meters::matching::latency::{estimate_latency, LatencyEstimate};

/// Seconds of the Start's input the correlation compares.
pub const CAPTURE_REFERENCE_S: f64 = 2.0;
/// The longest chain latency measured, seconds.
pub const MAX_LATENCY_S: f64 = 1.0;
/// After a reliable measurement, the next one starts this much later, seconds.
pub const REMEASURE_AFTER_S: f64 = 10.0;

/// One capture and, once analysed, its result.
#[derive(Debug)]
pub struct Capture {
    /// The Start's input, mono.
    reference: Vec<f32>,
    /// This End's input (the chain's output), mono, for the same frames.
    delayed: Vec<f32>,
    /// Frames captured so far.
    filled: usize,
    /// Ring position of the frame after this End's chunk minus this End's frame position: the
    /// alignment the capture was taken at; it must stay the same for the whole capture.
    pub offset: i64,
    /// The Start the capture read from.
    pub start: Option<SlotRef>,
    /// The analysis: `None` before it ran or when a side was silent.
    pub result: Option<LatencyEstimate>,
    /// Whether the analysis ran on this capture.
    pub analysed: bool,
    reference_frames: usize,
    max_lag: usize,
}

impl Capture {
    /// A capture for `sample_rate`. Allocates.
    pub fn new(sample_rate: f64) -> Self {
        let reference_frames = (CAPTURE_REFERENCE_S * sample_rate) as usize;
        let max_lag = (MAX_LATENCY_S * sample_rate) as usize;
        let len = reference_frames + max_lag;
        Self {
            reference: vec![0.0; len],
            delayed: vec![0.0; len],
            filled: 0,
            offset: 0,
            start: None,
            result: None,
            analysed: false,
            reference_frames,
            max_lag,
        }
    }

    /// Starts over for `start` at alignment `offset`. Real-time safe.
    pub fn restart(&mut self, start: SlotRef, offset: i64) {
        self.filled = 0;
        self.offset = offset;
        self.start = Some(start);
        self.result = None;
        self.analysed = false;
    }

    /// Appends frames (mono; the same length on both sides) and says whether the capture is
    /// full. Real-time safe.
    pub fn push(&mut self, reference: &[f32], delayed: &[f32]) -> bool {
        let room = self.reference.len() - self.filled;
        let n = reference.len().min(delayed.len()).min(room);
        self.reference[self.filled..self.filled + n].copy_from_slice(&reference[..n]);
        self.delayed[self.filled..self.filled + n].copy_from_slice(&delayed[..n]);
        self.filled += n;
        self.is_full()
    }

    /// Whether every frame is captured.
    pub fn is_full(&self) -> bool {
        self.filled == self.reference.len()
    }

    /// Runs the cross-correlation. Allocates: background thread only.
    pub fn analyse(&mut self) {
        self.result = if self.is_full() {
            estimate_latency(
                &self.reference[..self.reference_frames],
                &self.delayed,
                self.max_lag,
            )
        } else {
            None
        };
        self.analysed = true;
    }
}

/// The hand-off between an End's audio thread and the background task.
#[derive(Debug)]
pub struct LatencyJobs {
    /// Captures waiting for the analysis.
    full: ArrayQueue<Box<Capture>>,
    /// Captures back from the analysis (or never used), for the audio thread to take.
    done: ArrayQueue<Box<Capture>>,
}

impl LatencyJobs {
    /// Queues with one capture waiting in `done`. Allocates.
    pub fn new(sample_rate: f64) -> Self {
        let jobs = Self {
            full: ArrayQueue::new(1),
            done: ArrayQueue::new(1),
        };
        let _ = jobs.done.push(Box::new(Capture::new(sample_rate)));
        jobs
    }

    /// Audio thread: takes the capture back, if it is not with the analysis.
    pub fn take(&self) -> Option<Box<Capture>> {
        self.done.pop()
    }

    /// Audio thread: hands a full capture to the analysis. Gives it back if the queue is full
    /// (it never is: there is one capture).
    pub fn submit(&self, capture: Box<Capture>) -> Result<(), Box<Capture>> {
        self.full.push(capture)
    }

    /// Audio thread: takes back a capture that was submitted but not analysed.
    pub fn take_submitted(&self) -> Option<Box<Capture>> {
        self.full.pop()
    }

    /// Analysis thread: analyses the waiting capture, if any, and hands it back.
    pub fn run(&self) {
        if let Some(mut capture) = self.full.pop() {
            capture.analyse();
            let _ = self.done.push(capture);
        }
    }
}

/// How often the idle analysis thread looks for work.
const POLL: Duration = Duration::from_millis(20);

/// The process-wide latency analysis thread and its lock-free job queue.
pub struct Analyzer {
    /// End instances whose capture waits for the analysis. Pushed from audio threads.
    queue: ArrayQueue<Arc<LatencyJobs>>,
    /// Active instances, and the thread while there are any.
    users: Mutex<(usize, Option<JoinHandle<()>>)>,
    stop: AtomicBool,
}

impl Analyzer {
    /// The process-wide analyzer.
    pub fn global() -> &'static Analyzer {
        static GLOBAL: OnceLock<Analyzer> = OnceLock::new();
        GLOBAL.get_or_init(|| Analyzer {
            queue: ArrayQueue::new(trimeter_link::MAX_SLOTS),
            users: Mutex::new((0, None)),
            stop: AtomicBool::new(false),
        })
    }

    /// An instance became active: starts the thread if it is the first. Not real-time.
    pub fn acquire(&'static self) {
        let mut users = self.users.lock().unwrap_or_else(|e| e.into_inner());
        users.0 += 1;
        if users.1.is_none() {
            self.stop.store(false, Ordering::Release);
            users.1 = std::thread::Builder::new()
                .name("trimeter-latency".to_string())
                .spawn(move || self.work())
                .ok();
        }
    }

    /// An instance stopped: the last one stops and joins the thread. Not real-time.
    pub fn release(&self) {
        let mut users = self.users.lock().unwrap_or_else(|e| e.into_inner());
        users.0 = users.0.saturating_sub(1);
        if users.0 == 0 {
            if let Some(thread) = users.1.take() {
                self.stop.store(true, Ordering::Release);
                let _ = thread.join();
            }
        }
    }

    /// Audio thread: queues `jobs` for the analysis. Lock-free, no allocation (an `Arc` clone
    /// moves into the preallocated queue). False if the queue is full.
    pub fn submit(&self, jobs: &Arc<LatencyJobs>) -> bool {
        self.queue.push(jobs.clone()).is_ok()
    }

    fn work(&self) {
        while !self.stop.load(Ordering::Acquire) {
            while let Some(jobs) = self.queue.pop() {
                jobs.run();
            }
            std::thread::sleep(POLL);
        }
        // Captures left behind go back to their owners unanalysed.
        while let Some(jobs) = self.queue.pop() {
            jobs.run();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use trimeter_meters::signals::white_noise;

    #[test]
    fn a_capture_goes_round_and_comes_back_with_the_latency() {
        let rate = 8_000.0;
        let jobs = LatencyJobs::new(rate);
        let mut capture = jobs.take().unwrap();
        assert!(jobs.take().is_none(), "one capture only");
        capture.restart(
            SlotRef {
                index: 1,
                generation: 1,
            },
            5,
        );
        let input = white_noise(40_000, 0.5, 9);
        let latency = 123;
        let mut output = vec![0.0; latency];
        output.extend(input.iter().map(|x| 0.35 * x));
        let mut i = 0;
        while !capture.push(&input[i..i + 100], &output[i..i + 100]) {
            i += 100;
        }
        jobs.submit(capture).unwrap();
        assert!(jobs.take().is_none());
        jobs.run();
        let capture = jobs.take().unwrap();
        let estimate = capture.result.unwrap();
        assert_eq!(estimate.latency_frames, latency);
        assert!(estimate.is_reliable());
        assert_eq!(capture.offset, 5);
    }
}
