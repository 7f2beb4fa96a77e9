//! The level-match link as a CLAP host sees it: several Trimeter instances of one loaded
//! library (so they share the library's process-wide registry), a Start and an End around a
//! chain that this test host builds (a gain, optionally a delay), processed block by block in
//! chain order.
//!
//! The debug build of the plugin is loaded, with nice-plug's `assert_process_allocs`: any
//! allocation in `process()` of a Start, an End or an End with Compare aborts this binary.
//! Each test uses its own link groups, since the tests of this binary share one registry.

#[path = "common/clap.rs"]
mod clap;
#[path = "common/link_host.rs"]
mod link_host;

use link_host::{health_count, instances, link_state, Chain, Node, BLOCK, RATE};
use trimeter_meters::signals::white_noise;

// Health codes, in the order of `trimeter::link::status::Health`.
const PUBLISHING: u8 = 2;
const START_NOT_USED: u8 = 3;
const PARTNER_FOUND: u8 = 4;
const NO_START: u8 = 5;
const PARTNER_STALE: u8 = 6;
const PARTNER_SILENT: u8 = 7;
const SAMPLE_RATES_DIFFER: u8 = 8;
// Compare codes, in the order of `trimeter::link::status::CompareState`.
const COMPARE_DRY: u8 = 1;

/// The tests of this binary share the library's registry; they run one at a time so the
/// instance count and the groups they check are theirs alone.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// One activated, processing instance with its buffers.
/// Stereo noise, `seconds` long.
fn noise(seconds: f64, seed: u64) -> (Vec<f32>, Vec<f32>) {
    let frames = (seconds * RATE) as usize;
    (
        white_noise(frames, 0.25, seed),
        white_noise(frames, 0.25, seed + 1),
    )
}

fn rms_db(samples: &[f32]) -> f64 {
    let power: f64 = samples.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>();
    10.0 * (power / samples.len() as f64).log10()
}

/// Runs Start -> chain -> End over the signal, returning (Start's input, End's output), left
/// channel.
fn run_pair(
    start: &mut Node,
    chain: &mut Chain,
    end: &mut Node,
    signal: &(Vec<f32>, Vec<f32>),
    mut each_block: impl FnMut(usize, &mut Node, &mut Node),
) -> Vec<f32> {
    let mut out = Vec::with_capacity(signal.0.len());
    for (i, (l, r)) in signal
        .0
        .chunks(BLOCK)
        .zip(signal.1.chunks(BLOCK))
        .enumerate()
    {
        each_block(i, start, end);
        let mut block = [l.to_vec(), r.to_vec()];
        start.process(&mut block);
        chain.process(&mut block);
        end.process(&mut block);
        out.extend_from_slice(&block[0]);
    }
    out
}

#[test]
fn continuous_match_brings_a_minus_9_db_chain_back_and_other_groups_are_unaffected() {
    let group = 10;
    let other = 11;
    let lonely = 12;
    let (mut start, mut end) = (Node::new(), Node::new());
    start.link(1, group, 0);
    end.link(2, group, 2);
    let (mut start2, mut end2) = (Node::new(), Node::new());
    start2.link(1, other, 0);
    end2.link(2, other, 2);
    // An End with no Start in its group: passes its input untouched.
    let mut alone = Node::new();
    alone.link(2, lonely, 2);
    let signal = noise(14.0, 1);
    let (mut chain, mut chain2) = (Chain::new(-9.0, 0), Chain::new(-3.0, 0));
    let mut out = Vec::new();
    let mut out2 = Vec::new();
    let mut alone_in = Vec::new();
    let mut alone_out = Vec::new();
    for (l, r) in signal.0.chunks(BLOCK).zip(signal.1.chunks(BLOCK)) {
        let mut block = [l.to_vec(), r.to_vec()];
        start.process(&mut block);
        chain.process(&mut block);
        end.process(&mut block);
        out.extend_from_slice(&block[0]);
        let mut block = [l.to_vec(), r.to_vec()];
        start2.process(&mut block);
        chain2.process(&mut block);
        end2.process(&mut block);
        out2.extend_from_slice(&block[0]);
        let mut block = [l.to_vec(), r.to_vec()];
        Chain::new(-6.0, 0).process(&mut block);
        alone_in.extend_from_slice(&block[0]);
        alone.process(&mut block);
        alone_out.extend_from_slice(&block[0]);
    }
    let tail = (3.0 * RATE) as usize;
    let from = signal.0.len() - tail;
    let reference = rms_db(&signal.0[from..]);
    let matched = rms_db(&out[from..]);
    let matched2 = rms_db(&out2[from..]);
    assert!(
        (matched - reference).abs() <= 0.5,
        "{matched} vs {reference}"
    );
    assert!(
        (matched2 - reference).abs() <= 0.5,
        "{matched2} vs {reference}"
    );
    assert_eq!(
        alone_out, alone_in,
        "an End without a Start changes nothing"
    );
    assert_eq!(link_state(2, group).map(|s| s.0), Some(PARTNER_FOUND));
    assert_eq!(link_state(1, group).map(|s| s.0), Some(PUBLISHING));
    assert_eq!(link_state(2, lonely).map(|s| s.0), Some(NO_START));
    // The Start goes away: the End says so at its next block.
    drop(start);
    let mut block = [signal.0[..BLOCK].to_vec(), signal.1[..BLOCK].to_vec()];
    end.process(&mut block);
    assert_eq!(link_state(2, group).map(|s| s.0), Some(NO_START));
}

/// This host runs far faster than real time: from the block where the first capture is full
/// until block `until`, give the analysis thread (a few tens of ms) the time it would have had,
/// until the End of `group` reports its latency.
fn wait_for_latency(block: usize, until: usize, group: u8) {
    let captured = (3.5 * RATE) as usize / BLOCK;
    if (captured..until).contains(&block) && link_state(2, group).is_some_and(|s| s.2 == 0) {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// Cross-correlation of `a` against `b` shifted by every lag in -max..=max, normalized; the
/// lag of the peak and its value.
fn correlation_peak(a: &[f32], b: &[f32], max: isize) -> (isize, f64) {
    let n = a.len().min(b.len()) as isize;
    let mut best = (0, 0.0f64);
    for lag in -max..=max {
        let (mut sum, mut ea, mut eb) = (0.0f64, 0.0f64, 0.0f64);
        for i in max..n - max {
            let x = f64::from(a[i as usize]);
            let y = f64::from(b[(i + lag) as usize]);
            sum += x * y;
            ea += x * x;
            eb += y * y;
        }
        let c = sum / (ea * eb).sqrt();
        if c.abs() > best.1.abs() {
            best = (lag, c);
        }
    }
    best
}

#[test]
fn compare_plays_the_dry_signal_time_aligned_and_level_matched() {
    let _serial = serial();
    compare_through_a_chain_of_latency(20, 1_234);
    // Close to the longest latency measured (1 s).
    compare_through_a_chain_of_latency(21, 45_000);
}

fn compare_through_a_chain_of_latency(group: u8, latency: usize) {
    let (mut start, mut end) = (Node::new(), Node::new());
    start.link(1, group, 0);
    end.link(2, group, 2);
    let mut chain = Chain::new(-9.0, latency);
    let signal = noise(16.0, 5);
    let compare_at = (12.0 * RATE) as usize / BLOCK;
    let out = run_pair(&mut start, &mut chain, &mut end, &signal, |i, _, end| {
        wait_for_latency(i, compare_at, group);
        if i == compare_at {
            end.set("Compare", 1.0);
        }
    });
    let (_, compare, latency_code) = link_state(2, group).unwrap();
    assert_eq!(
        compare, COMPARE_DRY,
        "{latency}: Compare plays the dry signal"
    );
    assert_eq!(
        latency_code,
        latency as u32 / 16 + 1,
        "{latency}: latency reported"
    );
    // The last 3 s: the dry signal, delayed by the chain's latency (so A/B does not jump).
    let from = signal.0.len() - (3.0 * RATE) as usize;
    let dry = &signal.0[from - latency..signal.0.len() - latency];
    let played = &out[from..];
    let (lag, c) = correlation_peak(played, dry, 64);
    assert_eq!(lag, 0, "{latency}: peak at lag 0 after compensation ({c})");
    assert!(c > 0.999, "{latency}: {c}");
    let level = rms_db(played) - rms_db(dry);
    assert!(
        level.abs() <= 0.5,
        "{latency}: dry played {level} dB off the Start's input level"
    );
}

/// The End's gain (output over input, dB) per block, from the samples where the input is loud
/// enough to divide by.
fn block_gain_db(input: &[f32], output: &[f32]) -> f64 {
    let (mut num, mut den) = (0.0f64, 0.0f64);
    for (&x, &y) in input.iter().zip(output) {
        num += f64::from(x) * f64::from(y);
        den += f64::from(x) * f64::from(x);
    }
    20.0 * (num / den).abs().log10()
}

/// A compressor-like chain: -6 dB with the gain riding ±3 dB every 200 ms. The End's match
/// gain never moves faster than 3 dB/s, and once the difference (the 3 s average) is inside the
/// deadband it does not move at all.
#[test]
fn continuous_match_does_not_pump_on_a_compressor_like_chain() {
    let _serial = serial();
    let group = 30;
    let (mut start, mut end) = (Node::new(), Node::new());
    start.link(1, group, 0);
    end.link(2, group, 2);
    let signal = noise(24.0, 9);
    let mut gains = Vec::new();
    for (i, (l, r)) in signal
        .0
        .chunks(BLOCK)
        .zip(signal.1.chunks(BLOCK))
        .enumerate()
    {
        let mut block = [l.to_vec(), r.to_vec()];
        start.process(&mut block);
        let t = (i * BLOCK) as f64 / RATE;
        let swing = if (t / 0.2) as usize % 2 == 0 {
            3.0
        } else {
            -3.0
        };
        Chain::new(-6.0 + swing, 0).process(&mut block);
        let into_end = block[0].clone();
        end.process(&mut block);
        // The 10 ms gain ramp of a swing step lies inside one block of the chain's own gain,
        // which the division removes.
        gains.push(block_gain_db(&into_end, &block[0]));
    }
    if std::env::var_os("LINK_DEBUG").is_some() {
        for (i, g) in gains.iter().enumerate().step_by(47) {
            eprintln!("{:.2} s: {g:.3} dB", (i * BLOCK) as f64 / RATE);
        }
    }
    let per_block_limit = 3.0 * BLOCK as f64 / RATE + 0.03 + 1e-3;
    for (i, w) in gains.windows(2).enumerate() {
        assert!((w[1] - w[0]).abs() <= per_block_limit, "block {i}: {w:?}");
    }
    let settled = gains.len() - (6.0 * RATE) as usize / BLOCK;
    let tail = &gains[settled..];
    let spread = tail.iter().cloned().fold(f64::MIN, f64::max)
        - tail.iter().cloned().fold(f64::MAX, f64::min);
    assert!(
        spread < 1e-3,
        "the match gain moved {spread} dB in the last 6 s"
    );
    // The chain's mean power gain: -6 dB, +-3 dB half of the time each.
    let chain_db = -6.0 + 10.0 * ((10f64.powf(0.3) + 10f64.powf(-0.3)) / 2.0).log10();
    let gain = tail[0];
    assert!(
        (gain + chain_db).abs() <= 0.55,
        "matched at {gain} dB for a {chain_db} dB chain"
    );
}

/// Hosts scan and duplicate plugins in parallel: four threads each create, activate, run and
/// destroy 20 instances at a time, 4 rounds (320 instances in all, up to 80 alive at once) while
/// a linked pair keeps processing on the main thread. The pair stays linked, the debug build's
/// allocation guard never fires, and every instance leaves the registry.
#[test]
fn instances_come_and_go_on_many_threads_while_a_pair_processes() {
    let _serial = serial();
    let group = 40;
    let before = instances();
    let (mut start, mut end) = (Node::new(), Node::new());
    start.link(1, group, 2);
    end.link(2, group, 2);
    let workers: Vec<_> = (0..4u8)
        .map(|t| {
            std::thread::spawn(move || {
                for round in 0..4u8 {
                    let mut nodes: Vec<Node> = (0..20).map(|_| Node::new()).collect();
                    for (i, node) in nodes.iter_mut().enumerate() {
                        // Starts and Ends of their own groups, some in the pair's group too.
                        let role = (i % 3) as u8;
                        node.link(role, 41 + (t * 4 + round) % 20, 2);
                    }
                    let mut block = [vec![0.1f32; BLOCK], vec![-0.1f32; BLOCK]];
                    for _ in 0..5 {
                        for node in &mut nodes {
                            node.process(&mut block);
                        }
                    }
                    drop(nodes);
                }
            })
        })
        .collect();
    let signal = noise(1.0, 3);
    let mut chain = Chain::new(-9.0, 0);
    let mut rounds = 0;
    while !workers.iter().all(|w| w.is_finished()) && rounds < 2_000 {
        run_pair(&mut start, &mut chain, &mut end, &signal, |_, _, _| {});
        rounds += 1;
    }
    for worker in workers {
        worker.join().expect("worker");
    }
    assert_eq!(link_state(2, group).map(|s| s.0), Some(PARTNER_FOUND));
    drop((start, end));
    assert_eq!(instances(), before, "every instance left the registry");
}

/// Every health state an End or a Start reports, as the host sees it through the library.
#[test]
fn health_reports_several_starts_silence_staleness_and_sample_rates() {
    let _serial = serial();
    let group = 50;
    let signal = noise(1.0, 21);
    let block_of = |i: usize| {
        let at = (i * BLOCK) % (signal.0.len() - BLOCK);
        [
            signal.0[at..at + BLOCK].to_vec(),
            signal.1[at..at + BLOCK].to_vec(),
        ]
    };
    let (mut start, mut end) = (Node::new(), Node::new());
    start.link(1, group, 0);
    end.link(2, group, 0);
    // Silence at the Start.
    for _ in 0..20 {
        let mut silence = [vec![0.0f32; BLOCK], vec![0.0f32; BLOCK]];
        start.process(&mut silence);
        end.process(&mut silence);
    }
    assert_eq!(link_state(2, group).map(|s| s.0), Some(PARTNER_SILENT));
    for i in 0..200 {
        let mut block = block_of(i);
        start.process(&mut block);
        end.process(&mut block);
    }
    assert_eq!(link_state(2, group).map(|s| s.0), Some(PARTNER_FOUND));
    // A second Start in the group: the older one stays in use, the newer says it is not used.
    let mut second = Node::new();
    second.link(1, group, 0);
    for i in 0..10 {
        let mut block = block_of(i);
        start.process(&mut block);
        second.process(&mut block);
        end.process(&mut block);
    }
    assert_eq!(link_state(2, group).map(|s| s.0), Some(PARTNER_FOUND));
    assert_eq!(health_count(1, group, PUBLISHING), 1);
    assert_eq!(health_count(1, group, START_NOT_USED), 1);
    drop(second);
    // The Start stops processing (its track was frozen, or the host stopped it): stale after 1 s.
    for i in 0..(1.2 * RATE) as usize / BLOCK {
        let mut block = block_of(i);
        end.process(&mut block);
    }
    assert_eq!(link_state(2, group).map(|s| s.0), Some(PARTNER_STALE));
    drop((start, end));
    // A Start at 44.1 kHz and an End at 48 kHz.
    let group = 51;
    let (mut start, mut end) = (Node::at_rate(44_100.0), Node::new());
    start.link(1, group, 0);
    end.link(2, group, 2);
    for i in 0..20 {
        let mut block = block_of(i);
        start.process(&mut block);
        end.process(&mut block);
    }
    assert_eq!(link_state(2, group).map(|s| s.0), Some(SAMPLE_RATES_DIFFER));
}

/// Largest step between neighbouring samples.
fn max_step(samples: &[f32]) -> f32 {
    samples
        .windows(2)
        .map(|w| (w[1] - w[0]).abs())
        .fold(0.0, f32::max)
}

/// Compare through a chain that inverts polarity (the worst case: dry and processed cancel): the
/// switch crossfades, so no sample step is larger than the tone's own steps allow, and the
/// Start's input plays afterwards.
#[test]
fn compare_crossfades_without_a_click() {
    let _serial = serial();
    let group = 60;
    let (mut start, mut end) = (Node::new(), Node::new());
    start.link(1, group, 0);
    end.link(2, group, 2);
    let mut chain = Chain::new(-9.0, 100);
    chain.gain = -chain.gain;
    // Noise first (the latency measurement needs it), then a 100 Hz tone.
    let (mut left, mut right) = noise(5.0, 31);
    let tone = trimeter_meters::signals::sine(RATE, 100.0, -12.0, 4.0, 0.0);
    left.extend_from_slice(&tone);
    right.extend_from_slice(&tone);
    let switch_at = (7.0 * RATE) as usize / BLOCK;
    let out = run_pair(
        &mut start,
        &mut chain,
        &mut end,
        &(left, right.clone()),
        |i, _, end| {
            wait_for_latency(i, switch_at, group);
            if i == switch_at {
                end.set("Compare", 1.0);
            }
        },
    );
    assert_eq!(link_state(2, group).map(|s| s.1), Some(COMPARE_DRY));
    let switch = switch_at * BLOCK;
    let tone_step = max_step(&tone);
    let around = &out[switch - 2000..switch + 3000];
    assert!(
        max_step(around) <= 1.3 * tone_step,
        "a {} step at the switch, the tone's steps are {tone_step}",
        max_step(around)
    );
    // After the fade: the dry tone, delayed by the chain's latency, at the Start's level.
    let after = switch + 4000;
    let dry = &right[after - 100..after - 100 + 4800];
    let played = &out[after..after + 4800];
    let (lag, c) = correlation_peak(played, dry, 16);
    assert_eq!(lag, 0);
    assert!(c > 0.99, "{c}: plays the dry (non-inverted) tone");
}

/// Bypassing the End removes the match gain: the output is the End's input again.
#[test]
fn bypassing_the_end_removes_the_match_gain() {
    let _serial = serial();
    let group = 61;
    let (mut start, mut end) = (Node::new(), Node::new());
    start.link(1, group, 0);
    end.link(2, group, 2);
    let mut chain = Chain::new(-9.0, 0);
    let signal = noise(10.0, 41);
    let bypass_at = (8.0 * RATE) as usize / BLOCK;
    let mut into_end = Vec::new();
    let mut out = Vec::new();
    for (i, (l, r)) in signal
        .0
        .chunks(BLOCK)
        .zip(signal.1.chunks(BLOCK))
        .enumerate()
    {
        if i == bypass_at {
            end.set("Bypass", 1.0);
        }
        let mut block = [l.to_vec(), r.to_vec()];
        start.process(&mut block);
        chain.process(&mut block);
        into_end.extend_from_slice(&block[0]);
        end.process(&mut block);
        out.extend_from_slice(&block[0]);
    }
    let matched = bypass_at * BLOCK - BLOCK;
    let gain = block_gain_db(
        &into_end[matched..matched + BLOCK],
        &out[matched..matched + BLOCK],
    );
    assert!(
        (gain - 9.0).abs() <= 0.5,
        "matched at {gain} dB before the bypass"
    );
    let settled = bypass_at * BLOCK + (0.05 * RATE) as usize;
    let gain = block_gain_db(&into_end[settled..], &out[settled..]);
    assert!(gain.abs() < 1e-3, "{gain} dB left while bypassed");
}

/// An instance that becomes the End while audio plays (automation, or the user switching roles
/// during playback) starts its pre-match meter from silence while the Start's meters have run
/// all along: until that meter has heard a full window it reads low, and the match must not
/// chase that phantom difference. On a unity chain the output stays the input throughout. Seen
/// in Ardour (Link Role automated Off -> End at 2 s): +3.2 dB at worst, then +0.5 dB held.
#[test]
fn an_end_switched_on_during_playback_does_not_chase_its_own_meter_filling_up() {
    let _serial = serial();
    let group = 15;
    let (mut start, mut end) = (Node::new(), Node::new());
    start.link(1, group, 0);
    end.link(0, group, 2);
    let signal = noise(10.0, 21);
    let mut chain = Chain::new(0.0, 0);
    let switch_block = (2.0 * RATE) as usize / BLOCK;
    let out = run_pair(&mut start, &mut chain, &mut end, &signal, |i, _, end| {
        if i == switch_block {
            end.set("Link Role", 2.0);
        }
    });
    let mut worst: f64 = 0.0;
    for (input, output) in signal.0.chunks(BLOCK).zip(out.chunks(BLOCK)) {
        worst = worst.max(block_gain_db(input, output).abs());
    }
    assert!(
        worst < 0.01,
        "the match moved {worst:.2} dB on a unity chain"
    );
    assert_eq!(link_state(2, group).map(|s| s.0), Some(PARTNER_FOUND));
}

/// Blocks of any length link alike: a Start/End pair fed one sample per block for part of the
/// run (and odd lengths for the rest) matches a -6 dB chain back within 0.5 dB, and the End
/// keeps its partner (the levels and heartbeat go out at least every millisecond, however
/// short the blocks).
#[test]
fn one_sample_blocks_link_and_match_like_long_ones() {
    let _serial = serial();
    let group = 16;
    let (mut start, mut end) = (Node::new(), Node::new());
    start.link(1, group, 0);
    end.link(2, group, 2);
    let signal = noise(9.0, 31);
    let mut chain = Chain::new(-6.0, 0);
    let mut out = Vec::with_capacity(signal.0.len());
    let lengths = [1usize, 1, 1, 7, 1, 333, 1, 64];
    let (mut offset, mut i) = (0, 0);
    while offset < signal.0.len() {
        // One-sample blocks for the first 2 s, then a mix of lengths.
        let len = if offset < (2.0 * RATE) as usize {
            1
        } else {
            lengths[i % lengths.len()]
        }
        .min(signal.0.len() - offset);
        i += 1;
        let mut block = [
            signal.0[offset..offset + len].to_vec(),
            signal.1[offset..offset + len].to_vec(),
        ];
        start.process(&mut block);
        chain.process(&mut block);
        end.process(&mut block);
        out.extend_from_slice(&block[0]);
        offset += len;
    }
    let from = signal.0.len() - (2.0 * RATE) as usize;
    let reference = rms_db(&signal.0[from..]);
    let matched = rms_db(&out[from..]);
    assert!(
        (matched - reference).abs() <= 0.5,
        "{matched} vs {reference}"
    );
    assert_eq!(link_state(2, group).map(|s| s.0), Some(PARTNER_FOUND));
}
