//! The Laplacian-of-Gaussian response a Riesz transform starts from.
//!
//! Same definition as the `log` filter (IBSI 2, section 2.2): the kernel
//! `h(x) = −1/σ² · (2πσ²)^{−d/2} · (d − ‖x‖²/σ²) · exp(−‖x‖²/(2σ²))`, σ in
//! voxels per axis (σ_mm / spacing), sampled at voxel centres over
//! `2·⌊truncate·σ + ½⌋ + 1` voxels per axis, not renormalised, applied as the
//! sum of its d separable terms `G''(x_a) · Π_{b≠a} G(x_b)`. On anisotropic
//! grids each term is weighted by `(s̄ / s_a)²` (s̄ the geometric mean spacing
//! of the filtered axes), i.e. the Laplacian is taken in mm and scaled by s̄².
//!
//! Kept private to the Riesz module while the `log` family is written on its
//! own branch; it can be replaced by `super::super::log::Config::apply` with a
//! single σ once that lands.

use super::super::boundary::{check_kernel_fits, convolve_axis_into};
use super::super::Common;
use crate::error::{Error, Result};

/// The LoG response of `image` (x-fastest, `dims`, `spacing` in mm).
pub(super) fn log_response(
    image: &[f32],
    dims: [usize; 3],
    spacing: [f64; 3],
    c: &Common,
    sigma_mm: f64,
    truncate: f64,
) -> Result<Vec<f32>> {
    if spacing.iter().any(|&s| !(s > 0.0 && s.is_finite())) {
        return Err(Error::Invalid(format!(
            "Riesz–LoG filter: the voxel spacing {spacing:?} must be positive"
        )));
    }
    let axes = c.dims.axes();
    let s_ref = (axes.iter().map(|&a| spacing[a].ln()).sum::<f64>() / axes.len() as f64).exp();
    let mut g: [Vec<f64>; 3] = Default::default();
    let mut d2: [Vec<f64>; 3] = Default::default();
    let mut radius = [0usize; 3];
    for &a in axes {
        let sv = sigma_mm / spacing[a];
        let r = (truncate * sv + 0.5).floor() as usize;
        check_kernel_fits("Riesz–LoG filter", r, dims, &[a])?;
        let norm = 1.0 / (sv * (2.0 * std::f64::consts::PI).sqrt());
        g[a] = (0..=2 * r)
            .map(|i| {
                let t = i as f64 - r as f64;
                norm * (-t * t / (2.0 * sv * sv)).exp()
            })
            .collect();
        d2[a] = g[a]
            .iter()
            .enumerate()
            .map(|(i, &gi)| {
                let t = i as f64 - r as f64;
                gi * (t * t / sv.powi(4) - 1.0 / (sv * sv))
            })
            .collect();
        radius[a] = r;
    }
    let mut acc = vec![0.0f64; image.len()];
    let mut cur = vec![0.0f32; image.len()];
    let mut tmp = vec![0.0f32; image.len()];
    for &a in axes {
        cur.copy_from_slice(image);
        for &b in axes {
            let k = if a == b { &d2[b] } else { &g[b] };
            convolve_axis_into(&cur, &mut tmp, dims, b, k, radius[b], 1, c.boundary);
            std::mem::swap(&mut cur, &mut tmp);
        }
        let w = (s_ref / spacing[a]).powi(2);
        acc.iter_mut()
            .zip(&cur)
            .for_each(|(s, &v)| *s += w * v as f64);
    }
    Ok(acc.into_iter().map(|v| v as f32).collect())
}
