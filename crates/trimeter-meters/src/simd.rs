//! Which vector instruction set the meters' hot loops run with: detected once per process, the
//! one CPU-feature check every SIMD path uses.
//!
//! The widest level the CPU supports is chosen unless the `TRIMETER_SIMD` environment variable
//! asks for a narrower one (`portable`, `avx2` or `avx512`), for diagnosis and for benchmarks
//! that compare the builds side by side. A request the CPU cannot run falls back to the widest
//! level it can. The variable is read once, the first time a meter is prepared, never on the
//! audio thread's `process()`.
//!
//! The two levels with fused multiply-adds read bit-identically to each other. The portable
//! level rounds after every multiply in the true-peak interpolator and the K-weighting filter,
//! so its true-peak and loudness readings can differ from theirs in the last bits.

use std::sync::OnceLock;

/// The CPU model as the operating system names it (`model name` in /proc/cpuinfo), for the
/// reports of benchmarks, which name the CPU next to every figure. Not for the audio thread
/// (reads a file).
pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".to_string())
}

/// A vector instruction set the meters have a build for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SimdLevel {
    /// Baseline x86-64 (SSE2) or any other architecture; no fused multiply-add.
    Portable,
    /// AVX2 and FMA (256-bit vectors).
    Avx2Fma,
    /// AVX-512F as well (512-bit vectors).
    Avx512,
}

impl SimdLevel {
    /// Every level, narrowest first.
    pub const ALL: [SimdLevel; 3] = [Self::Portable, Self::Avx2Fma, Self::Avx512];

    /// The level the meters use in this process: the widest this CPU supports, or the narrower
    /// one `TRIMETER_SIMD` asks for. Detected on the first call and cached.
    pub fn selected() -> Self {
        static SELECTED: OnceLock<SimdLevel> = OnceLock::new();
        *SELECTED.get_or_init(|| {
            let requested = std::env::var("TRIMETER_SIMD")
                .ok()
                .and_then(|name| Self::from_name(&name));
            let supported = Self::supported();
            requested.map_or(supported, |r| r.min(supported))
        })
    }

    /// The widest level this CPU supports.
    pub fn supported() -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            let avx2_fma = is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma");
            if avx2_fma && is_x86_feature_detected!("avx512f") {
                return Self::Avx512;
            }
            if avx2_fma {
                return Self::Avx2Fma;
            }
        }
        Self::Portable
    }

    /// Parses `portable`, `avx2` or `avx512` (as `TRIMETER_SIMD` takes them).
    pub fn from_name(name: &str) -> Option<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "portable" | "sse2" => Some(Self::Portable),
            "avx2" | "avx2fma" | "avx2+fma" => Some(Self::Avx2Fma),
            "avx512" | "avx-512" => Some(Self::Avx512),
            _ => None,
        }
    }

    /// The name `TRIMETER_SIMD` takes for this level.
    pub fn name(self) -> &'static str {
        match self {
            Self::Portable => "portable",
            Self::Avx2Fma => "avx2",
            Self::Avx512 => "avx512",
        }
    }

    /// Whether this level has fused multiply-adds (and AVX2).
    pub fn has_fma(self) -> bool {
        self >= Self::Avx2Fma
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_selection_fits_the_cpu() {
        for level in SimdLevel::ALL {
            assert_eq!(SimdLevel::from_name(level.name()), Some(level));
        }
        assert_eq!(SimdLevel::from_name("AVX512"), Some(SimdLevel::Avx512));
        assert_eq!(SimdLevel::from_name("neon"), None);
        assert!(SimdLevel::selected() <= SimdLevel::supported());
        assert!(!SimdLevel::Portable.has_fma());
        assert!(SimdLevel::Avx512.has_fma());
    }
}
