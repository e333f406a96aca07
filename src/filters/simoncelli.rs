//! Simoncelli non-separable wavelet (IBSI 2, section 2.6): an isotropic
//! band-pass filter defined in the Fourier domain.
//!
//! With `ν` the normalised frequency (1 = Nyquist, per axis; `|ν|` its
//! Euclidean norm over the filtered axes) and decomposition level `j ≥ 1`,
//! the band's upper edge is `ν_max = 2^{−(j−1)}` and the transfer function is
//!
//! `H_j(ν) = cos(π/2 · log₂(2|ν| / ν_max))` for `ν_max/4 ≤ |ν| ≤ ν_max`, else 0,
//!
//! a band one octave either side of `ν_max/2` (level 1: `[1/4, 1]`, level 2:
//! `[1/8, 1/2]`, …). Consecutive levels overlap by one octave with
//! `H_j² + H_{j+1}² = 1`, so the bands tile the spectrum below `|ν| = 1/2`
//! (`Σ_j H_j² = 1` there). The response is the real part of the inverse DFT
//! of `H_j · DFT(image)`; `dims: 2D` filters each axial slice with the 2D
//! version (`|ν|` over x and y).
//!
//! The frequency grid, the boundary handling (plain DFT for `periodic`, an
//! extension by half the image for the others) and the memory use are those
//! of `spectral`. On the IBSI centred grid an even-sized axis puts the DC
//! coefficient at `|ν| = √d/(n−1)`, so very coarse levels (`ν_max/4` below
//! that) pass a small part of the mean, as in the reference implementations.
//!
//! Keys:
//!
//! | key | meaning | default |
//! |---|---|---|
//! | `level` | decomposition level j (1 = highest band) | required |
//!
//! ```yaml
//! filters:
//!   - {type: simoncelli, level: 1, dims: 3D, boundary: periodic}
//! ```

pub(in crate::filters) mod spectral;

use super::{with_data, Common, Keys};
use crate::error::Result;
use crate::volume::Volume;
use rustfft::num_complex::Complex;

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Decomposition level j ≥ 1.
    pub level: usize,
}

/// Highest level accepted (the band then sits below 2^-60 of Nyquist).
const MAX_LEVEL: usize = 60;

/// The Simoncelli transfer function of `level` at radial frequency `rho`
/// (normalised, Nyquist = 1).
pub(in crate::filters) fn transfer(level: usize, rho: f64) -> f64 {
    let max = 0.5f64.powi(level as i32 - 1);
    if rho >= max / 4.0 && rho <= max {
        (std::f64::consts::FRAC_PI_2 * (2.0 * rho / max).log2()).cos()
    } else {
        0.0
    }
}

/// Radial frequency `|ν|`.
#[inline]
pub(in crate::filters) fn norm(v: [f64; 3]) -> f64 {
    (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt()
}

/// Read and check the `level` key.
pub(in crate::filters) fn parse_level(keys: &mut Keys) -> Result<usize> {
    let level = keys
        .usize("level")?
        .ok_or_else(|| keys.err("level", "is missing (decomposition level, 1 or more)"))?;
    if !(1..=MAX_LEVEL).contains(&level) {
        return Err(keys.err(
            "level",
            &format!("must be from 1 to {MAX_LEVEL}, got {level}"),
        ));
    }
    Ok(level)
}

impl Config {
    pub fn parse(keys: &mut Keys, _common: &Common) -> Result<Config> {
        Ok(Config {
            level: parse_level(keys)?,
        })
    }

    pub fn name(&self) -> String {
        format!("simoncelli_l{}", self.level)
    }

    /// Every voxel depends on the whole image (Fourier domain).
    pub fn margin(&self, _c: &Common, _spacing: [f64; 3]) -> Option<[usize; 3]> {
        None
    }

    pub fn apply(&self, c: &Common, image: &Volume<f32>) -> Result<Volume<f32>> {
        let level = self.level;
        let out = spectral::filter(&image.data, image.geometry.dims, c, |v| {
            Complex::new(transfer(level, norm(v)), 0.0)
        });
        Ok(with_data(image, out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filters::{Boundary, FilterDims};
    use crate::volume::Geometry;

    #[test]
    fn bands_tile_the_spectrum_below_half_nyquist() {
        for i in 1..=500 {
            let rho = 0.5 * i as f64 / 500.0;
            let sum: f64 = (1..=40).map(|j| transfer(j, rho).powi(2)).sum();
            assert!((sum - 1.0).abs() < 1e-12, "rho {rho}: {sum}");
        }
        // Above 1/2 only level 1 is left; it peaks at 1/2 and vanishes at 1.
        assert!((transfer(1, 0.5) - 1.0).abs() < 1e-15);
        assert!(transfer(1, 1.0).abs() < 1e-15);
        assert_eq!(transfer(1, 1.01), 0.0);
        assert_eq!(transfer(2, 0.51), 0.0);
        assert!((transfer(2, 0.25) - 1.0).abs() < 1e-15);
        assert_eq!(transfer(3, 0.06), 0.0);
    }

    #[test]
    fn constant_image_gives_zero() {
        // Odd sizes (padded sizes n + 2⌊n/2⌋ stay odd), so that the DC
        // coefficient sits at ν = 0 on the centred grid.
        let g = Geometry::new([15, 13, 11], [1.0, 1.0, 2.0], [0.0; 3]);
        let img = Volume::filled(g, 7.0f32);
        for level in 1..=3 {
            for b in [Boundary::Periodic, Boundary::Mirror, Boundary::Nearest] {
                for d in [FilterDims::D2, FilterDims::D3] {
                    let c = Common {
                        boundary: b,
                        dims: d,
                    };
                    let out = Config { level }.apply(&c, &img).unwrap();
                    assert!(out.data.iter().all(|v| v.abs() < 1e-4), "level {level}");
                }
            }
        }
    }

    #[test]
    fn plane_wave_is_scaled_by_the_transfer_function() {
        // A cosine along x at DFT index 8 of 33 is an eigenfunction; on the
        // centred grid its frequency is ±frequency(8, 33) = ±8/16.
        let n = 33;
        let g = Geometry::new([n, 3, 3], [1.0; 3], [0.0; 3]);
        let k = 8;
        let data: Vec<f32> = (0..n * 9)
            .map(|i| {
                let x = (i % n) as f64;
                (2.0 * std::f64::consts::PI * (k as f64) * x / n as f64).cos() as f32
            })
            .collect();
        let img = Volume::from_vec(g, data.clone()).unwrap();
        let c = Common {
            boundary: Boundary::Periodic,
            dims: FilterDims::D3,
        };
        let nu = spectral::frequency(k, n);
        for level in 1..=2 {
            let h = transfer(level, nu.abs());
            let out = Config { level }.apply(&c, &img).unwrap();
            for (o, d) in out.data.iter().zip(&data) {
                assert!((*o as f64 - h * *d as f64).abs() < 1e-5);
            }
        }
    }
}
