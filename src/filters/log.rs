//! Laplacian of Gaussian (IBSI 2, section 2.2).
//!
//! The kernel is the Laplacian of a d-dimensional Gaussian of width σ
//! (d = 3, or d = 2 for `dims: 2D`, acting in each axial slice):
//!
//! `h(x) = −1/σ² · (1/√(2πσ²))^d · (d − ‖x‖²/σ²) · exp(−‖x‖²/(2σ²))`
//!
//! with `x` and σ in voxel units (σ in voxels = σ_mm / spacing), sampled at
//! the voxel centres and cut off at `truncate · σ`: the kernel spans
//! `2·⌊truncate·σ + ½⌋ + 1` voxels per axis and is not renormalised. There is
//! no σ² scale normalisation: an impulse of 255 filtered with σ = 1.5 voxels
//! gives −255 · 3/(σ² · (2πσ²)^{3/2}) = −6.3965 at the impulse, as in the IBSI
//! reference map 2.a.
//!
//! The kernel is applied in its separable form: since
//! `h = Σ_a G''(x_a) · Π_{b≠a} G(x_b)` with the 1D Gaussian
//! `G(t) = exp(−t²/(2σ²)) / √(2πσ²)` and `G''(t) = G(t) · (t²/σ⁴ − 1/σ²)`,
//! the response is a sum of d separable convolutions, never a dense
//! d-dimensional kernel; the terms share passes (7 1D passes in 3D, 4 in 2D).
//!
//! Anisotropic voxels: σ and the cut-off are converted to voxels per axis, and
//! the Laplacian is taken in mm and multiplied by `s̄²`, the squared geometric
//! mean of the spacings of the filtered axes. On isotropic grids (all IBSI
//! tests, and the phase-2 configurations in their filtered axes) this is
//! exactly the voxel-unit kernel above; on anisotropic grids it keeps the
//! response isotropic in physical space.
//!
//! Keys:
//!
//! | key | meaning | default |
//! |---|---|---|
//! | `sigma` | σ in mm; one value, or a list whose responses are pooled | required |
//! | `pooling` | `max`, `average` or `min`: how the responses to several σ combine | `average` |
//! | `truncate` | kernel radius in units of σ | 4 |
//!
//! ```yaml
//! filters:
//!   - {type: log, sigma: 1.5, truncate: 4, dims: 3D, boundary: mirror}
//!   - {type: log, sigma: [1, 2, 3], pooling: max}
//! ```

pub(in crate::filters) mod slabs;

use self::slabs::{for_each_slab, pass_x, pass_y, pass_z, Scratch, PLANES_PER_SLAB};
use super::boundary::check_kernel_fits;
use super::{fmt_num, with_data, Boundary, Common, FilterDims, Keys, Pooling};
use crate::error::{Error, Result};
use crate::volume::Volume;

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Widths σ in mm (one or more).
    pub sigma: Vec<f64>,
    /// How the responses to several σ are combined.
    pub pooling: Pooling,
    /// Kernel radius in units of σ.
    pub truncate: f64,
}

impl Config {
    pub fn parse(keys: &mut Keys, _common: &Common) -> Result<Config> {
        let sigma = keys
            .f64_list("sigma")?
            .ok_or_else(|| keys.err("sigma", "is missing (Gaussian width in mm)"))?;
        if sigma.is_empty() {
            return Err(keys.err("sigma", "must list at least one width"));
        }
        if let Some(s) = sigma.iter().find(|&&s| s <= 0.0) {
            return Err(keys.err("sigma", &format!("must be positive (mm), got {s}")));
        }
        let pooling = match keys.str("pooling")? {
            None => Pooling::Average,
            Some(p) => Pooling::parse(&p).ok_or_else(|| {
                keys.err(
                    "pooling",
                    &format!("unknown pooling '{p}' (max, average or min)"),
                )
            })?,
        };
        let truncate = keys.f64("truncate")?.unwrap_or(4.0);
        if truncate <= 0.0 {
            return Err(keys.err(
                "truncate",
                &format!("must be positive (kernel radius in σ), got {truncate}"),
            ));
        }
        Ok(Config {
            sigma,
            pooling,
            truncate,
        })
    }

    pub fn name(&self) -> String {
        let s: Vec<String> = self.sigma.iter().map(|&s| fmt_num(s)).collect();
        let mut name = format!("log_s{}mm", s.join("-"));
        if self.sigma.len() > 1 {
            name += &format!("_{}", self.pooling.name());
        }
        if self.truncate != 4.0 {
            name += &format!("_t{}", fmt_num(self.truncate));
        }
        name
    }

    pub fn margin(&self, c: &Common, spacing: [f64; 3]) -> Option<[usize; 3]> {
        let mut m = [0; 3];
        for &s in &self.sigma {
            let k = self.scale(s, c.dims, spacing);
            for (ma, &r) in m.iter_mut().zip(&k.centre) {
                *ma = (*ma).max(r);
            }
        }
        Some(m)
    }

    /// The 1D kernels of the LoG of width `sigma_mm`.
    fn scale(&self, sigma_mm: f64, dims: FilterDims, spacing: [f64; 3]) -> Scale {
        let axes = dims.axes();
        let s_ref = (axes.iter().map(|&a| spacing[a].ln()).sum::<f64>() / axes.len() as f64).exp();
        let mut k = Scale {
            g: [vec![1.0], vec![1.0], vec![1.0]],
            d2: [vec![0.0], vec![0.0], vec![0.0]],
            centre: [0; 3],
            weight: [0.0; 3],
        };
        for &a in axes {
            let sv = sigma_mm / spacing[a];
            let r = (self.truncate * sv + 0.5).floor() as isize;
            let norm = 1.0 / (sv * (2.0 * std::f64::consts::PI).sqrt());
            k.g[a] = (-r..=r)
                .map(|i| norm * (-((i * i) as f64) / (2.0 * sv * sv)).exp())
                .collect();
            k.d2[a] = (-r..=r)
                .zip(&k.g[a])
                .map(|(i, &gi)| gi * ((i * i) as f64 / sv.powi(4) - 1.0 / (sv * sv)))
                .collect();
            k.centre[a] = r as usize;
            k.weight[a] = (s_ref / spacing[a]).powi(2);
        }
        k
    }

    pub fn apply(&self, c: &Common, image: &Volume<f32>) -> Result<Volume<f32>> {
        let dims = image.geometry.dims;
        let spacing = image.geometry.spacing;
        if spacing.iter().any(|&s| !(s > 0.0 && s.is_finite())) {
            return Err(Error::Invalid(format!(
                "LoG filter: the voxel spacing {spacing:?} must be positive"
            )));
        }
        let scales: Vec<Scale> = self
            .sigma
            .iter()
            .map(|&s| self.scale(s, c.dims, spacing))
            .collect();
        for k in &scales {
            let r = c.dims.axes().iter().map(|&a| k.centre[a]).max();
            check_kernel_fits("LoG filter", r.unwrap_or(0), dims, c.dims.axes())?;
        }
        let pooling = self.pooling;
        let three_d = c.dims == FilterDims::D3;
        let mut out = vec![0.0f32; image.data.len()];
        for_each_slab(&mut out, dims, PLANES_PER_SLAB, |z0, chunk| {
            let n = chunk.len();
            let mut s = Scratch::default();
            let mut bufs = [vec![0.0f64; n], vec![0.0f64; n], vec![0.0f64; n]];
            let mut acc = vec![pool_identity(pooling); n];
            for k in &scales {
                k.slab(
                    &image.data,
                    dims,
                    z0,
                    three_d,
                    c.boundary,
                    &mut bufs,
                    &mut s,
                );
                pool_into(pooling, &mut acc, &bufs[0]);
            }
            let f = match pooling {
                Pooling::Average => 1.0 / scales.len() as f64,
                _ => 1.0,
            };
            chunk
                .iter_mut()
                .zip(&acc)
                .for_each(|(o, &a)| *o = (a * f) as f32);
        });
        Ok(with_data(image, out))
    }
}

/// The 1D kernels of one σ: Gaussian `g` and its second derivative `d2` per
/// filtered axis (centred, `centre` = radius), and the weight of each axis'
/// second derivative in the Laplacian (`(s̄/s_a)²`).
struct Scale {
    g: [Vec<f64>; 3],
    d2: [Vec<f64>; 3],
    centre: [usize; 3],
    weight: [f64; 3],
}

impl Scale {
    fn k<'a>(&self, taps: &'a [Vec<f64>; 3], a: usize) -> (&'a [f64], usize) {
        (&taps[a], self.centre[a])
    }

    /// The LoG of one slab into `bufs[0]`,
    /// `Σ_a w_a · d2_a ⊗ Π_{b≠a} g_b`, sharing the passes the terms have in
    /// common: 7 passes in 3D (z: g, d2; y: three; x: two), 4 in 2D.
    #[allow(clippy::too_many_arguments)]
    fn slab(
        &self,
        image: &[f32],
        dims: [usize; 3],
        z0: usize,
        three_d: bool,
        boundary: Boundary,
        bufs: &mut [Vec<f64>; 3],
        s: &mut Scratch,
    ) {
        let [b0, b1, b2] = bufs;
        let (g, d2, w) = (&self.g, &self.d2, self.weight);
        // b0 = g_z f, b1 = copy of it.
        pass_z(image, dims, z0, self.k(g, 2), boundary, b0);
        b1.copy_from_slice(b0);
        // b1 = d2_y g_z f (the y term before its x pass); b0 = g_y g_z f.
        pass_y(b1, dims, self.k(d2, 1), boundary, s);
        pass_y(b0, dims, self.k(g, 1), boundary, s);
        if three_d {
            // b2 = g_y d2_z f; b1 = w_y · b1 + w_z · b2 (both still need g_x).
            pass_z(image, dims, z0, self.k(d2, 2), boundary, b2);
            pass_y(b2, dims, self.k(g, 1), boundary, s);
            b1.iter_mut()
                .zip(b2.iter())
                .for_each(|(u, &v)| *u = w[1] * *u + w[2] * v);
        } else {
            b1.iter_mut().for_each(|u| *u *= w[1]);
        }
        pass_x(b1, dims, self.k(g, 0), boundary, s);
        pass_x(b0, dims, self.k(d2, 0), boundary, s);
        b0.iter_mut()
            .zip(b1.iter())
            .for_each(|(u, &v)| *u = w[0] * *u + v);
    }
}

/// The starting value of a running pool.
pub(in crate::filters) fn pool_identity(p: Pooling) -> f64 {
    match p {
        Pooling::Max => f64::NEG_INFINITY,
        Pooling::Min => f64::INFINITY,
        Pooling::Average => 0.0,
    }
}

/// Pool `r` into the running `acc` (sums for `Average`; divide at the end).
pub(in crate::filters) fn pool_into(p: Pooling, acc: &mut [f64], r: &[f64]) {
    match p {
        Pooling::Max => acc.iter_mut().zip(r).for_each(|(a, &b)| *a = a.max(b)),
        Pooling::Min => acc.iter_mut().zip(r).for_each(|(a, &b)| *a = a.min(b)),
        Pooling::Average => acc.iter_mut().zip(r).for_each(|(a, &b)| *a += b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::volume::Geometry;

    fn common(boundary: Boundary, dims: FilterDims) -> Common {
        Common { boundary, dims }
    }

    /// A Gaussian blob `exp(−|x|²/(2 w²))` (x in mm) filtered with σ has the
    /// analytic LoG `h · (r²/T² − d/T)`, `h = (w²/T)^{d/2} exp(−r²/(2T))`,
    /// `T = w² + σ²`; the filter gives that times `s̄²`.
    fn blob_check(dims_f: FilterDims, spacing: [f64; 3], n: [usize; 3]) {
        let (w, sigma) = (6.0, 2.0);
        let g = Geometry::new(n, spacing, [0.0; 3]);
        let centre: Vec<f64> = (0..3).map(|a| (n[a] - 1) as f64 / 2.0).collect();
        let pos = |x: usize, y: usize, z: usize| -> [f64; 3] {
            let p = [x, y, z];
            let mut v = [0.0; 3];
            for a in 0..3 {
                v[a] = (p[a] as f64 - centre[a]) * spacing[a];
            }
            if dims_f == FilterDims::D2 {
                v[2] = 0.0;
            }
            v
        };
        let mut img = Volume::filled(g, 0.0f32);
        for z in 0..n[2] {
            for y in 0..n[1] {
                for x in 0..n[0] {
                    let p = pos(x, y, z);
                    let r2: f64 = p.iter().map(|v| v * v).sum();
                    img.set(x, y, z, (-r2 / (2.0 * w * w)).exp() as f32);
                }
            }
        }
        let cfg = Config {
            sigma: vec![sigma],
            pooling: Pooling::Average,
            truncate: 4.0,
        };
        let out = cfg.apply(&common(Boundary::Zero, dims_f), &img).unwrap();
        let axes = dims_f.axes();
        let d = axes.len() as f64;
        let s_ref2 = (axes.iter().map(|&a| spacing[a].ln()).sum::<f64>() / d)
            .exp()
            .powi(2);
        let t = w * w + sigma * sigma;
        let mut worst = 0.0f64;
        let peak = s_ref2 * d / t;
        for z in 0..n[2] {
            for y in 0..n[1] {
                for x in 0..n[0] {
                    let p = pos(x, y, z);
                    let r2: f64 = p.iter().map(|v| v * v).sum();
                    // Interior only: the blob must have died out within the kernel's reach.
                    if r2.sqrt() > 9.0 {
                        continue;
                    }
                    let h = (w * w / t).powf(d / 2.0) * (-r2 / (2.0 * t)).exp();
                    let want = s_ref2 * h * (r2 / (t * t) - d / t);
                    worst = worst.max((out.get(x, y, z) as f64 - want).abs() / peak);
                }
            }
        }
        assert!(
            worst < 5e-3,
            "{dims_f:?} {spacing:?}: worst relative error {worst}"
        );
    }

    #[test]
    fn log_of_a_gaussian_blob_is_analytic() {
        blob_check(FilterDims::D3, [1.0, 1.0, 1.0], [41, 41, 41]);
        blob_check(FilterDims::D3, [0.8, 1.0, 1.6], [51, 41, 27]);
        blob_check(FilterDims::D2, [1.0, 1.0, 3.0], [41, 41, 3]);
    }

    #[test]
    fn log_of_a_constant_is_zero() {
        let g = Geometry::new([30, 28, 26], [1.0, 1.0, 2.0], [0.0; 3]);
        let img = Volume::filled(g, 100.0f32);
        for b in [Boundary::Nearest, Boundary::Periodic, Boundary::Mirror] {
            for d in [FilterDims::D2, FilterDims::D3] {
                let cfg = Config {
                    sigma: vec![2.0, 3.0],
                    pooling: Pooling::Max,
                    truncate: 4.0,
                };
                let out = cfg.apply(&common(b, d), &img).unwrap();
                // The sampled, truncated kernel sums to zero up to its 4σ tails.
                assert!(out.data.iter().all(|&v| v.abs() < 0.05), "{b:?} {d:?}");
            }
        }
    }

    #[test]
    fn impulse_gives_the_ibsi_centre_value() {
        // IBSI 2.a: impulse of 255, σ = 3 mm at 2 mm voxels.
        let g = Geometry::new([31, 31, 31], [2.0; 3], [0.0; 3]);
        let mut img = Volume::filled(g, 0.0f32);
        img.set(15, 15, 15, 255.0);
        let cfg = Config {
            sigma: vec![3.0],
            pooling: Pooling::Average,
            truncate: 4.0,
        };
        let out = cfg
            .apply(&common(Boundary::Zero, FilterDims::D3), &img)
            .unwrap();
        let s: f64 = 1.5;
        let want = -255.0 * 3.0 / (s * s) * (2.0 * std::f64::consts::PI * s * s).powf(-1.5);
        assert!((out.get(15, 15, 15) as f64 - want).abs() < 1e-4);
        // Support: radius ⌊4·1.5 + ½⌋ = 6 voxels.
        assert_ne!(out.get(15 + 6, 15, 15), 0.0);
        assert_eq!(out.get(15 + 7, 15, 15), 0.0);
        assert_eq!(
            cfg.margin(&common(Boundary::Zero, FilterDims::D3), [2.0; 3]),
            Some([6; 3])
        );
    }

    #[test]
    fn bad_keys_are_named() {
        let p = std::path::Path::new("p.yaml");
        for (yaml, key) in [
            ("- {type: log, sigma: -1}", "sigma"),
            ("- {type: log}", "sigma"),
            ("- {type: log, sigma: 1, truncate: 0}", "truncate"),
            ("- {type: log, sigma: [1, 2], pooling: median}", "pooling"),
        ] {
            let v: serde_norway::Value = serde_norway::from_str(yaml).unwrap();
            let e = crate::filters::parse_filters(&v, p)
                .unwrap_err()
                .to_string();
            assert!(e.contains(key), "{yaml}: {e}");
        }
        let v: serde_norway::Value =
            serde_norway::from_str("- {type: log, sigma: [1.5, 3], pooling: max}").unwrap();
        let f = crate::filters::parse_filters(&v, p).unwrap();
        assert_eq!(f[0].name, "log_s1.5-3mm_max_3D_mirror");
    }
}
