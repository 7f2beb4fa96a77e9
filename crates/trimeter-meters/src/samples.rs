//! Sample-level kernels shared by the meters and the gain stage: the magnitude maximum and the
//! non-finite guard. Both work on the bit patterns of the samples, which vectorizes (integer
//! max and compare) where float comparisons with NaN would not.

/// Bits of `f32::INFINITY`: a magnitude's bits are at or above this exactly when the sample is
/// infinite or NaN.
pub(crate) const INFINITY_BITS: u32 = 0x7f80_0000;

/// Bits of `f32::MIN_POSITIVE`: a magnitude's bits are below this exactly when the sample is
/// zero or subnormal.
const MIN_NORMAL_BITS: u32 = 0x0080_0000;

/// Clears the sign bit.
const MAGNITUDE_MASK: u32 = 0x7fff_ffff;

/// The largest magnitude bit pattern (sign cleared) of `samples`; 0 for none. For finite
/// samples, `f32::from_bits` of it is the largest absolute value; NaN ranks above infinity.
#[inline(always)]
pub(crate) fn max_magnitude_bits(samples: &[f32]) -> u32 {
    // With the sign cleared the bits fit in a non-negative i32, whose order is the same. A
    // signed maximum is one compare and a blend in SSE2 (which has no unsigned 32-bit max
    // instruction, so `u32::max` costs two more bias flips there) and one pmaxsd from SSE4.1 on.
    samples
        .iter()
        .fold(0i32, |m, x| m.max((x.to_bits() & MAGNITUDE_MASK) as i32)) as u32
}

/// Whether any sample is NaN or infinite.
#[inline(always)]
pub fn has_non_finite(samples: &[f32]) -> bool {
    max_magnitude_bits(samples) >= INFINITY_BITS
}

/// The non-finite guard: replaces every NaN and infinite sample by zero and returns how many it
/// replaced. Subnormal samples (and negative zero) become a plain zero as well, so nothing
/// downstream computes with them and an output never carries them.
#[inline]
pub fn sanitize(samples: &mut [f32]) -> u64 {
    let mut non_finite = 0u64;
    for sample in samples.iter_mut() {
        let magnitude = sample.to_bits() & MAGNITUDE_MASK;
        if magnitude >= INFINITY_BITS {
            *sample = 0.0;
            non_finite += 1;
        } else if magnitude < MIN_NORMAL_BITS {
            *sample = 0.0;
        }
    }
    non_finite
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magnitude_maximum_ignores_sign_and_ranks_non_finite_highest() {
        assert_eq!(max_magnitude_bits(&[]), 0);
        let m = max_magnitude_bits(&[0.25, -0.5, 0.125]);
        assert_eq!(f32::from_bits(m), 0.5);
        assert!(!has_non_finite(&[1e30, -f32::MAX, 0.0]));
        assert!(has_non_finite(&[0.0, f32::NEG_INFINITY]));
        assert!(has_non_finite(&[f32::NAN, 1.0]));
    }

    #[test]
    fn guard_zeroes_and_counts_non_finite_and_flushes_subnormals() {
        let tiny = f32::MIN_POSITIVE / 4.0;
        let mut s = [
            1.0,
            f32::NAN,
            -0.0,
            tiny,
            -tiny,
            f32::INFINITY,
            -2.0,
            f32::NEG_INFINITY,
        ];
        assert_eq!(sanitize(&mut s), 3);
        assert_eq!(s, [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, -2.0, 0.0]);
        assert!(s.iter().all(|x| x.to_bits() != (-0.0f32).to_bits()));
        let mut normal = [f32::MIN_POSITIVE, -f32::MIN_POSITIVE];
        assert_eq!(sanitize(&mut normal), 0);
        assert_eq!(normal, [f32::MIN_POSITIVE, -f32::MIN_POSITIVE]);
    }
}
