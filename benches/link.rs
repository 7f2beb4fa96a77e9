//! CPU of the level-match link: 64 Trimeter instances through the CLAP host (the release build
//! of the plugin library), as 32 Start/End pairs in 32 groups around a -6 dB chain with
//! Continuous match, next to the same 64 instances with the link off, and with Compare on in
//! every End. Editor closed. The CPU time of the thread that runs the instances (Linux's
//! per-thread schedstat, so other processes on a shared machine do not count), with the host's
//! buffer copies; the latency analysis runs on its own thread and is not counted.
//!
//! `cargo bench -p trimeter --bench link`; `TRIMETER_BENCH_SECONDS` sets the audio length
//! timed per run (default 20 s); the configurations run in turn, five rounds, the fastest of
//! each counts.
//! Under `cargo test` (no `--bench` argument) it runs a fraction of a second once, as a smoke
//! test.

#[path = "../tests/common/clap.rs"]
mod clap;
#[path = "../tests/common/link_host.rs"]
mod link_host;

use std::time::Duration;

use link_host::{Chain, Node, BLOCK, RATE};

const PAIRS: u8 = 32;

#[derive(Clone, Copy, PartialEq)]
enum Setup {
    LinkOff,
    Linked,
    Compare,
}

impl Setup {
    fn name(self) -> &'static str {
        match self {
            Self::LinkOff => "link off",
            Self::Linked => "32 linked pairs, Continuous",
            Self::Compare => "32 linked pairs, Continuous, Compare on",
        }
    }
}

/// CPU time this thread has run, from /proc/thread-self/schedstat (ns on the CPU).
fn thread_cpu() -> Duration {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
    let ns = text
        .split_whitespace()
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    Duration::from_nanos(ns)
}

/// Processing time of `seconds` of audio through all 64 instances, after a warm-up.
fn run(setup: Setup, seconds: f64) -> Duration {
    let mut pairs: Vec<(Node, Chain, Node)> = (0..PAIRS)
        .map(|i| {
            let (mut start, mut end) = (Node::new(), Node::new());
            if setup != Setup::LinkOff {
                // Groups 25..=56: clear of nothing else in this process, one per pair.
                start.link(1, 25 + i, 0);
                end.link(2, 25 + i, 2);
            }
            (start, Chain::new(-6.0, 0), end)
        })
        .collect();
    let noise = [
        trimeter_meters::signals::white_noise(BLOCK * 64, 0.25, 1),
        trimeter_meters::signals::white_noise(BLOCK * 64, 0.25, 2),
    ];
    let blocks = |s: f64| (s * RATE) as usize / BLOCK;
    let warm_up = blocks(seconds.min(5.0));
    let timed = blocks(seconds);
    let mut started = Duration::ZERO;
    let mut block = [vec![0.0f32; BLOCK], vec![0.0f32; BLOCK]];
    for b in 0..warm_up + timed {
        if b == warm_up && setup == Setup::Compare {
            for (_, _, end) in &mut pairs {
                end.set("Compare", 1.0);
            }
        }
        if b == warm_up {
            started = thread_cpu();
        }
        let at = (b % 64) * BLOCK;
        for (start, chain, end) in &mut pairs {
            block[0].copy_from_slice(&noise[0][at..at + BLOCK]);
            block[1].copy_from_slice(&noise[1][at..at + BLOCK]);
            start.process(&mut block);
            chain.process(&mut block);
            end.process(&mut block);
        }
        if b < warm_up {
            // Real-time pacing in the warm-up gives the latency analysis its time.
            std::thread::sleep(Duration::from_micros(500));
        }
    }
    thread_cpu() - started
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let seconds: f64 = std::env::var("TRIMETER_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(if bench { 20.0 } else { 0.2 });
    let rounds = if bench { 5 } else { 1 };
    let instances = 2.0 * f64::from(PAIRS);
    let frames = seconds * RATE;
    println!("CPU: {}", trimeter_meters::simd::cpu_model());
    println!("64 instances, {seconds} s of stereo audio at {RATE} Hz in blocks of {BLOCK}, editor closed");
    let setups = [Setup::LinkOff, Setup::Linked, Setup::Compare];
    let mut best = [Duration::MAX; 3];
    for _ in 0..rounds {
        for (best, &setup) in best.iter_mut().zip(&setups) {
            *best = (*best).min(run(setup, seconds));
        }
    }
    let mut off_us = 0.0;
    for (&setup, &spent) in setups.iter().zip(&best) {
        let per_instance_s = spent.as_secs_f64() / instances;
        let per_frame_ns = per_instance_s / frames * 1e9;
        let per_block_us = per_instance_s / (frames / BLOCK as f64) * 1e6;
        let realtime_percent = per_instance_s / seconds * 100.0;
        if setup == Setup::LinkOff {
            off_us = per_block_us;
        }
        println!(
            "{:<42} {per_frame_ns:7.1} ns per stereo frame per instance, {per_block_us:6.2} us per block, {realtime_percent:5.3} % of a core per instance, {:.2}x link off",
            setup.name(),
            per_block_us / off_us
        );
    }
}
