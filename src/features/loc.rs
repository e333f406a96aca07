//! Local intensity features (IBSI family 9ST6, tags `loc_*`).
//!
//! Both features average the image over a 1 cm³ sphere: every voxel whose
//! centre lies within `r = (3 / (4π))^{1/3} cm ≈ 6.20 mm` (world distance, from
//! the voxel spacing) of a centre voxel. Only voxels of the intensity mask are
//! used as centres, but the sphere takes every image voxel, inside the ROI or
//! not. Near the image border the mean is over the sphere voxels that exist.
//!
//! The sphere is stored as x-runs: for each in-plane/slice offset `(dy, dz)`
//! the voxels `dx ∈ [−a, a]`. With prefix sums along x over the ROI bounding
//! box (grown by the sphere radius), each sphere sum costs one subtraction per
//! run (~30 for CT voxels) instead of one addition per voxel (~350).

use super::Features;
use crate::volume::{Mask, Volume};
use rayon::prelude::*;

/// Radius (mm) of the 1 cm³ sphere.
pub fn sphere_radius_mm() -> f64 {
    (3.0 / (4.0 * std::f64::consts::PI)).cbrt() * 10.0
}

/// One x-run of the sphere: offsets `(dy, dz)` and half-width `a` in voxels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Run {
    dy: isize,
    dz: isize,
    a: usize,
}

/// The x-runs of the voxels with centres within `r` mm of the origin voxel.
fn sphere_runs(spacing: [f64; 3], r: f64) -> Vec<Run> {
    let r2 = r * r;
    let ey = (r / spacing[1]).floor() as isize;
    let ez = (r / spacing[2]).floor() as isize;
    let mut runs = Vec::new();
    for dz in -ez..=ez {
        for dy in -ey..=ey {
            let rem = r2 - (dy as f64 * spacing[1]).powi(2) - (dz as f64 * spacing[2]).powi(2);
            if rem < 0.0 {
                continue;
            }
            // Largest a with (a·sx)² ≤ rem, corrected for rounding of the sqrt.
            let mut a = (rem.sqrt() / spacing[0]).floor() as usize;
            while ((a + 1) as f64 * spacing[0]).powi(2) <= rem {
                a += 1;
            }
            while a > 0 && (a as f64 * spacing[0]).powi(2) > rem {
                a -= 1;
            }
            runs.push(Run { dy, dz, a });
        }
    }
    runs
}

/// Sphere extent in voxels along x, y, z.
fn sphere_extent(runs: &[Run]) -> [usize; 3] {
    [
        runs.iter().map(|q| q.a).max().unwrap_or(0),
        runs.iter().map(|q| q.dy.unsigned_abs()).max().unwrap_or(0),
        runs.iter().map(|q| q.dz.unsigned_abs()).max().unwrap_or(0),
    ]
}

/// Prefix sums along x over a box of the image, for O(1) run sums.
struct RowSums {
    lo: [usize; 3],
    hi: [usize; 3],
    /// Row length + 1 (the leading 0 of every row).
    stride: usize,
    ny: usize,
    sums: Vec<f64>,
    /// The sphere's runs.
    runs: Vec<Run>,
    /// Sphere extent in voxels along x, y, z.
    ext: [usize; 3],
    /// Per run: offset of its row from the centre's row in `sums`, and `a`.
    deltas: Vec<(isize, usize)>,
    /// Number of voxels in the whole sphere.
    total: usize,
}

impl RowSums {
    fn new(image: &Volume<f32>, lo: [usize; 3], hi: [usize; 3], runs: Vec<Run>) -> Self {
        let stride = hi[0] - lo[0] + 2;
        let ny = hi[1] - lo[1] + 1;
        let nz = hi[2] - lo[2] + 1;
        let mut sums = Vec::with_capacity(stride * ny * nz);
        for z in lo[2]..=hi[2] {
            for y in lo[1]..=hi[1] {
                let start = image.geometry.index(lo[0], y, z);
                let mut acc = 0.0;
                sums.push(0.0);
                for &v in &image.data[start..start + stride - 1] {
                    acc += v as f64;
                    sums.push(acc);
                }
            }
        }
        let ext = sphere_extent(&runs);
        let deltas = runs
            .iter()
            .map(|q| ((q.dz * ny as isize + q.dy) * stride as isize, q.a))
            .collect();
        let total = runs.iter().map(|q| 2 * q.a + 1).sum();
        RowSums {
            lo,
            hi,
            stride,
            ny,
            sums,
            runs,
            ext,
            deltas,
            total,
        }
    }

    /// Mean image value in the sphere around voxel (x, y, z).
    fn sphere_mean(&self, x: usize, y: usize, z: usize) -> f64 {
        let p = [x, y, z];
        let interior =
            (0..3).all(|c| p[c] >= self.lo[c] + self.ext[c] && p[c] + self.ext[c] <= self.hi[c]);
        if interior {
            // Fast path: the whole sphere lies in the box, no clipping needed.
            let base = (((z - self.lo[2]) * self.ny + (y - self.lo[1])) * self.stride
                + (x - self.lo[0])) as isize;
            let mut sum = 0.0;
            for &(delta, a) in &self.deltas {
                let row = (base + delta) as usize;
                sum += self.sums[row + a + 1] - self.sums[row - a];
            }
            return sum / self.total as f64;
        }
        let (mut sum, mut count) = (0.0, 0usize);
        for run in &self.runs {
            let yy = y as isize + run.dy;
            let zz = z as isize + run.dz;
            if yy < self.lo[1] as isize
                || yy > self.hi[1] as isize
                || zz < self.lo[2] as isize
                || zz > self.hi[2] as isize
            {
                continue;
            }
            let xl = x.saturating_sub(run.a).max(self.lo[0]) - self.lo[0];
            let xh = (x + run.a).min(self.hi[0]) - self.lo[0];
            let row =
                ((zz as usize - self.lo[2]) * self.ny + (yy as usize - self.lo[1])) * self.stride;
            sum += self.sums[row + xh + 1] - self.sums[row + xl];
            count += xh - xl + 1;
        }
        sum / count as f64
    }
}

/// Local intensity features (`loc_peak_loc`, `loc_peak_glob`) of `image` in the
/// intensity mask `mask`; the 1 cm³ sphere includes voxels outside the ROI.
///
/// * `loc_peak_loc` (IBSI VJGA): the sphere mean around the maximum-intensity
///   voxel of the mask; with several such voxels, the highest of their means.
/// * `loc_peak_glob` (IBSI 0F91): the highest sphere mean over all mask voxels.
///
/// `NaN` for an empty mask or a mask on a different grid.
pub fn compute(image: &Volume<f32>, mask: &Mask) -> Features {
    let (local, global) = peaks(image, mask).unwrap_or((f64::NAN, f64::NAN));
    vec![
        ("loc_peak_loc".to_string(), local),
        ("loc_peak_glob".to_string(), global),
    ]
}

fn peaks(image: &Volume<f32>, mask: &Mask) -> Option<(f64, f64)> {
    let dims = image.dims();
    if mask.dims() != dims || image.data.len() != mask.data.len() {
        return None;
    }
    let (lo, hi) = mask.bounding_box()?;
    let spacing = image.spacing();
    let r = sphere_radius_mm();
    let runs = sphere_runs(spacing, r);
    // The box holds every voxel any sphere reaches.
    let ext = sphere_extent(&runs);
    let blo: [usize; 3] = std::array::from_fn(|c| lo[c].saturating_sub(ext[c]));
    let bhi: [usize; 3] = std::array::from_fn(|c| (hi[c] + ext[c]).min(dims[c] - 1));
    let sums = RowSums::new(image, blo, bhi, runs);

    // Per slice: (max intensity, best sphere mean at that intensity, best mean overall).
    let per_slice = (lo[2]..=hi[2])
        .into_par_iter()
        .filter_map(|z| {
            let mut acc: Option<(f32, f64, f64)> = None;
            for y in lo[1]..=hi[1] {
                for x in lo[0]..=hi[0] {
                    let i = image.geometry.index(x, y, z);
                    if !mask.data[i] {
                        continue;
                    }
                    let v = image.data[i];
                    let m = sums.sphere_mean(x, y, z);
                    acc = Some(match acc {
                        None => (v, m, m),
                        Some((vmax, mloc, mglob)) => {
                            let mglob = mglob.max(m);
                            if v > vmax {
                                (v, m, mglob)
                            } else if v == vmax {
                                (vmax, mloc.max(m), mglob)
                            } else {
                                (vmax, mloc, mglob)
                            }
                        }
                    });
                }
            }
            acc
        })
        .reduce_with(|a, b| {
            let glob = a.2.max(b.2);
            if a.0 > b.0 {
                (a.0, a.1, glob)
            } else if b.0 > a.0 {
                (b.0, b.1, glob)
            } else {
                (a.0, a.1.max(b.1), glob)
            }
        })?;
    Some((per_slice.1, per_slice.2))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::volume::Geometry;

    /// Brute-force sphere mean straight from the definition.
    fn brute_mean(image: &Volume<f32>, c: [usize; 3], r: f64) -> f64 {
        let g = &image.geometry;
        let (mut s, mut n) = (0.0, 0);
        for i in 0..g.len() {
            let p = g.coords(i);
            let d2: f64 = (0..3)
                .map(|a| ((p[a] as f64 - c[a] as f64) * g.spacing[a]).powi(2))
                .sum();
            if d2.sqrt() <= r {
                s += image.data[i] as f64;
                n += 1;
            }
        }
        s / n as f64
    }

    #[test]
    fn sphere_has_the_expected_voxel_count() {
        // 1 mm isotropic: lattice points within 6.2035 mm, 3D count ≈ 4/3 π r³.
        let runs = sphere_runs([1.0; 3], sphere_radius_mm());
        let n: usize = runs.iter().map(|q| 2 * q.a + 1).sum();
        let direct = (-7i32..=7)
            .flat_map(|z| (-7i32..=7).flat_map(move |y| (-7i32..=7).map(move |x| (x, y, z))))
            .filter(|&(x, y, z)| ((x * x + y * y + z * z) as f64).sqrt() <= sphere_radius_mm())
            .count();
        assert_eq!(n, direct);
        assert!((n as f64 - 1000.0).abs() < 60.0);
    }

    #[test]
    fn matches_brute_force_with_border_and_anisotropy() {
        let geo = Geometry::new([9, 8, 5], [1.5, 2.0, 3.0], [0.0; 3]);
        let data: Vec<f32> = (0..geo.len())
            .map(|i| ((i * 7919) % 23) as f32 - 5.0)
            .collect();
        let image = Volume::from_vec(geo.clone(), data).unwrap();
        let mut mask = Volume::filled(geo.clone(), false);
        for (x, y, z) in [(0, 0, 0), (4, 3, 2), (8, 7, 4), (2, 6, 1)] {
            mask.set(x, y, z, true);
        }
        let r = sphere_radius_mm();
        let means: Vec<(f32, f64)> = mask
            .data
            .iter()
            .enumerate()
            .filter(|(_, &m)| m)
            .map(|(i, _)| (image.data[i], brute_mean(&image, geo.coords(i), r)))
            .collect();
        let vmax = means.iter().map(|m| m.0).fold(f32::MIN, f32::max);
        let want_loc = means
            .iter()
            .filter(|m| m.0 == vmax)
            .map(|m| m.1)
            .fold(f64::MIN, f64::max);
        let want_glob = means.iter().map(|m| m.1).fold(f64::MIN, f64::max);
        let f = compute(&image, &mask);
        assert!((f[0].1 - want_loc).abs() < 1e-9, "{} vs {want_loc}", f[0].1);
        assert!(
            (f[1].1 - want_glob).abs() < 1e-9,
            "{} vs {want_glob}",
            f[1].1
        );
    }

    #[test]
    fn constant_image_and_empty_mask() {
        let geo = Geometry::new([4, 4, 4], [1.0; 3], [0.0; 3]);
        let image = Volume::filled(geo.clone(), 3.0f32);
        let mut mask = Volume::filled(geo.clone(), false);
        assert!(compute(&image, &mask).iter().all(|(_, v)| v.is_nan()));
        mask.set(1, 2, 3, true);
        assert!(compute(&image, &mask).iter().all(|(_, v)| *v == 3.0));
    }
}
