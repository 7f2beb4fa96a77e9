//! Small helpers on planar blocks for the link's audio path. None allocates.

use trimeter_meters::gain::Ramp;
use trimeter_meters::units::db_to_amplitude;
use trimeter_meters::MAX_CHANNELS;

/// Views of the first `n` frames of each scratch channel.
pub fn dry_views(dry: &mut [Vec<f32>], n: usize) -> [&mut [f32]; MAX_CHANNELS] {
    let mut views: [&mut [f32]; MAX_CHANNELS] = Default::default();
    for (view, channel) in views.iter_mut().zip(dry.iter_mut()) {
        *view = &mut channel[..n];
    }
    views
}

/// The mean of the channels into `out`.
pub fn downmix<C: AsRef<[f32]>>(channels: &[C], out: &mut [f32]) {
    out.fill(0.0);
    let scale = 1.0 / channels.len().max(1) as f32;
    for channel in channels {
        for (o, &s) in out.iter_mut().zip(channel.as_ref()) {
            *o += s * scale;
        }
    }
}

/// Applies the (ramped) gain in dB to the first `n` frames of every channel.
pub fn apply_gain(block: &mut [&mut [f32]], n: usize, gain_db: &mut Ramp) {
    if !gain_db.is_ramping() {
        if gain_db.value() != 0.0 {
            let gain = db_to_amplitude(gain_db.value());
            for samples in block.iter_mut() {
                samples[..n].iter_mut().for_each(|s| *s *= gain);
            }
        }
        return;
    }
    for frame in 0..n {
        let gain = db_to_amplitude(gain_db.step());
        for samples in block.iter_mut() {
            samples[frame] *= gain;
        }
    }
}
