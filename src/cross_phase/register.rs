//! Local rigid alignment (translation) of a target series to the series an
//! ROI was drawn on, in a box around the ROI.
//!
//! Contrast phases differ in intensity by design (the tumour is brighter in
//! the arterial phase, darker unenhanced), so intensities are not compared
//! directly. The similarity is the normalised cross-correlation (Pearson
//! correlation) of gradient magnitudes, which follow the organ edges
//! whatever their contrast:
//!
//! 1. the region: the ROI's bounding box grown by `margin_mm` (default
//!    20 mm) on each side, within the source series; only the voxels of that
//!    box (and, on the target, of the box grown by the search bound) are
//!    read;
//! 2. both images are resampled trilinearly onto one isotropic grid on the
//!    patient axes (spacing: the finer in-plane spacing of the two, at least
//!    0.5 mm, coarser when the region would exceed 250 000 voxels), clipped
//!    to a soft-tissue window of [`WINDOW_HU`] (so air and bone edges do not
//!    outweigh the organ edges), and turned into gradient magnitudes
//!    (central differences, HU/mm); only voxels whose neighbourhood lies on
//!    the image count (at least a quarter of the region must lie on the
//!    target series);
//! 3. exhaustive search of whole-voxel translations within ±`bound_mm`
//!    (default 15 mm) on a 3× coarser grid (gradient magnitudes averaged
//!    over 3×3×3 blocks), then of ±3 fine voxels around the best one;
//! 4. sub-voxel refinement: a parabola through the similarity at the best
//!    translation and its two neighbours, per axis.
//!
//! A translation at the edge of the coarse search (the optimum may lie
//! beyond it), a similarity below `min_similarity` (default 0.5), or too
//! little overlap between the region and the target series is refused with
//! the reason: an alignment that cannot be trusted gives no number. The
//! translation is the displacement of the anatomy from the source to the
//! target (patient coordinates, mm); [`super::map::map_roi`] applies it to
//! the mask. No rotation and no deformation is estimated.

use crate::error::{Error, Result};
use crate::inputs::{ImageSource, RoiBox};
use crate::preprocess::resample::{resample_image, Interpolator};
use crate::volume::{Geometry, Volume};
use rayon::prelude::*;

/// Intensity window applied before the gradients, HU.
pub const WINDOW_HU: (f32, f32) = (-200.0, 300.0);

/// Block size (fine voxels per coarse voxel and axis) of the coarse search.
const COARSE: usize = 3;

/// Fine voxels searched around the coarse optimum, per side.
const FINE_RADIUS: i64 = 3;

/// Largest number of voxels of the comparison region.
const MAX_REGION_VOXELS: f64 = 250_000.0;

/// Least share of the region's voxels that must overlap the target (an
/// arterial series often covers little more than the organ).
const MIN_OVERLAP: f64 = 0.25;

/// Registration settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    /// Margin around the ROI's box, mm.
    pub margin_mm: f64,
    /// Largest translation searched per axis, mm.
    pub bound_mm: f64,
    /// Least acceptable similarity (correlation of gradient magnitudes).
    pub min_similarity: f64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            margin_mm: 20.0,
            bound_mm: 15.0,
            min_similarity: 0.5,
        }
    }
}

/// A translation found between two series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Registration {
    /// Displacement of the anatomy from the source to the target, mm.
    pub shift_mm: [f64; 3],
    /// Similarity at that translation.
    pub similarity: f64,
    /// Similarity without translation.
    pub similarity_unmoved: f64,
    /// Spacing of the comparison grid, mm.
    pub grid_mm: f64,
}

/// Gradient magnitudes on a grid, NaN where undefined.
struct Gradients {
    dims: [usize; 3],
    values: Vec<f32>,
}

impl Gradients {
    fn at(&self, p: [i64; 3]) -> f32 {
        if (0..3).any(|a| p[a] < 0 || p[a] >= self.dims[a] as i64) {
            return f32::NAN;
        }
        let [nx, ny, _] = self.dims;
        self.values[p[0] as usize + nx * (p[1] as usize + ny * p[2] as usize)]
    }

    /// Means over `f`×`f`×`f` blocks (NaN when any voxel of a block is).
    fn coarsen(&self, f: usize) -> Gradients {
        let dims = self.dims.map(|n| (n / f).max(1));
        let mut values = vec![0.0f32; dims.iter().product()];
        for z in 0..dims[2] {
            for y in 0..dims[1] {
                for x in 0..dims[0] {
                    let mut s = 0.0f32;
                    for dz in 0..f {
                        for dy in 0..f {
                            for dx in 0..f {
                                s += self.at([
                                    (x * f + dx) as i64,
                                    (y * f + dy) as i64,
                                    (z * f + dz) as i64,
                                ]);
                            }
                        }
                    }
                    values[x + dims[0] * (y + dims[1] * z)] = s / (f * f * f) as f32;
                }
            }
        }
        Gradients { dims, values }
    }
}

/// The translation that aligns `target` to `source` around `roi` (a box on
/// `source`'s grid). Errors say why no translation can be trusted.
pub fn register(
    roi: &RoiBox,
    source: &ImageSource,
    target: &ImageSource,
    settings: &Settings,
) -> Result<Registration> {
    let refuse = |why: String| Error::Invalid(format!("ROI '{}': registration: {why}", roi.roi));
    super::map::same_frame(source, target).map_err(refuse)?;
    // The region: the ROI's box (voxel extents) grown by the margin, within the source.
    let (lo_w, hi_w) = world_box(&source.geometry, roi.lo, roi.hi(), 0.5);
    let (img_lo, img_hi) = world_box(&source.geometry, [0; 3], source.geometry.last(), 0.0);
    let lo: [f64; 3] = std::array::from_fn(|a| (lo_w[a] - settings.margin_mm).max(img_lo[a]));
    let hi: [f64; 3] = std::array::from_fn(|a| (hi_w[a] + settings.margin_mm).min(img_hi[a]));
    let fine = source.geometry.spacing[..2]
        .iter()
        .chain(&target.geometry.spacing[..2])
        .cloned()
        .fold(f64::MAX, f64::min)
        .max(0.5);
    let volume: f64 = (0..3).map(|a| hi[a] - lo[a]).product();
    let h = fine.max((volume / MAX_REGION_VOXELS).cbrt());
    let dims: [usize; 3] = std::array::from_fn(|a| ((hi[a] - lo[a]) / h).floor() as usize + 1);
    let region = Geometry::new(dims, [h; 3], lo);
    // Coarse steps searched: the bound and one more, so that an optimum
    // beyond the bound shows at the edge. The target region is grown by
    // that and one more block (a whole number of blocks).
    let r_c = (settings.bound_mm / (COARSE as f64 * h)).ceil() as i64 + 1;
    let pad = (r_c as usize + 1) * COARSE;
    let wide = Geometry::new(
        dims.map(|n| n + 2 * pad),
        [h; 3],
        std::array::from_fn(|a| lo[a] - pad as f64 * h),
    );
    let a = gradients(source, &region)?;
    let b = gradients(target, &wide)?;
    let valid = a.values.iter().filter(|v| !v.is_nan()).count();
    if valid == 0 {
        return Err(refuse(
            "no voxel of the region lies on the source series".into(),
        ));
    }
    let min_count = ((valid as f64 * MIN_OVERLAP) as usize).max(1);
    let ncc = correlation;

    // Coarse search over the whole bound.
    let (ac, bc) = (a.coarsen(COARSE), b.coarsen(COARSE));
    let off_c = (pad / COARSE) as i64;
    let min_c =
        ((ac.values.iter().filter(|v| !v.is_nan()).count() as f64 * MIN_OVERLAP) as usize).max(1);
    let (best_c, sim_c) = best_of(cube([0; 3], r_c), |d| ncc(&ac, &bc, off_c, d, min_c));
    if !sim_c.is_finite() {
        return Err(refuse(format!(
            "the series' coverage holds less than {:.0} % of the region around the ROI (its box + {} mm)",
            MIN_OVERLAP * 100.0,
            settings.margin_mm
        )));
    }
    if best_c.iter().any(|d| d.abs() >= r_c) {
        let s = best_c.map(|d| d as f64 * (COARSE as f64) * h);
        return Err(refuse(format!(
            "the best shift ({:.1},{:.1},{:.1} mm) is at the edge of the search beyond the bound of ±{} mm: the series may be misaligned by more, or not comparable",
            s[0], s[1], s[2], settings.bound_mm
        )));
    }

    // Fine search around it, then a parabola per axis.
    let off = pad as i64;
    let centre = best_c.map(|d| d * COARSE as i64);
    let (best, sim) = best_of(cube(centre, FINE_RADIUS), |d| {
        ncc(&a, &b, off, d, min_count)
    });
    let mut shift = [0.0; 3];
    for ax in 0..3 {
        let mut step = [0i64; 3];
        step[ax] = 1;
        let minus = ncc(&a, &b, off, sub(best, step), min_count);
        let plus = ncc(&a, &b, off, add(best, step), min_count);
        let curvature = minus - 2.0 * sim + plus;
        let delta = if minus.is_finite() && plus.is_finite() && curvature < 0.0 {
            (0.5 * (minus - plus) / curvature).clamp(-0.5, 0.5)
        } else {
            0.0
        };
        shift[ax] = (best[ax] as f64 + delta) * h;
    }
    let unmoved = ncc(&a, &b, off, [0; 3], min_count);
    if shift.iter().any(|s| s.abs() > settings.bound_mm) {
        return Err(refuse(format!(
            "the best shift ({:.1},{:.1},{:.1} mm) exceeds the search bound of ±{} mm",
            shift[0], shift[1], shift[2], settings.bound_mm
        )));
    }
    if sim.is_nan() || sim < settings.min_similarity {
        return Err(refuse(format!(
            "poor similarity: the gradient correlation is {sim:.2} at the best shift ({:.1},{:.1},{:.1} mm), below {} (different anatomy, artefacts, or a deformation a translation cannot follow)",
            shift[0], shift[1], shift[2], settings.min_similarity
        )));
    }
    Ok(Registration {
        shift_mm: shift,
        similarity: sim,
        similarity_unmoved: unmoved,
        grid_mm: h,
    })
}

fn add(a: [i64; 3], b: [i64; 3]) -> [i64; 3] {
    std::array::from_fn(|i| a[i] + b[i])
}

fn sub(a: [i64; 3], b: [i64; 3]) -> [i64; 3] {
    std::array::from_fn(|i| a[i] - b[i])
}

/// Every offset within `r` of `centre` along each axis.
fn cube(centre: [i64; 3], r: i64) -> Vec<[i64; 3]> {
    let mut v = Vec::new();
    for z in -r..=r {
        for y in -r..=r {
            for x in -r..=r {
                v.push(add(centre, [x, y, z]));
            }
        }
    }
    v
}

/// The candidate with the highest finite score (the first on ties), in parallel.
fn best_of(candidates: Vec<[i64; 3]>, score: impl Fn([i64; 3]) -> f64 + Sync) -> ([i64; 3], f64) {
    let scores: Vec<f64> = candidates.par_iter().map(|&d| score(d)).collect();
    let mut best = ([0; 3], f64::NEG_INFINITY);
    for (d, s) in candidates.into_iter().zip(scores) {
        if s.is_finite() && s > best.1 {
            best = (d, s);
        }
    }
    best
}

/// Pearson correlation of `a` (the region) with `b` (the wide grid, whose
/// voxel `v + off + d` lies at region voxel `v` moved by `d`), over voxels
/// defined on both; NaN below `min` of them.
fn correlation(a: &Gradients, b: &Gradients, off: i64, d: [i64; 3], min: usize) -> f64 {
    let [nx, ny, nz] = a.dims;
    let (mut n, mut sa, mut sb, mut saa, mut sbb, mut sab) = (0usize, 0.0, 0.0, 0.0, 0.0, 0.0);
    for z in 0..nz {
        for y in 0..ny {
            for x in 0..nx {
                let va = a.values[x + nx * (y + ny * z)];
                if va.is_nan() {
                    continue;
                }
                let vb = b.at([
                    x as i64 + off + d[0],
                    y as i64 + off + d[1],
                    z as i64 + off + d[2],
                ]);
                if vb.is_nan() {
                    continue;
                }
                let (va, vb) = (va as f64, vb as f64);
                n += 1;
                sa += va;
                sb += vb;
                saa += va * va;
                sbb += vb * vb;
                sab += va * vb;
            }
        }
    }
    if n < min {
        return f64::NAN;
    }
    let nf = n as f64;
    let cov = sab - sa * sb / nf;
    let va = saa - sa * sa / nf;
    let vb = sbb - sb * sb / nf;
    if va <= 0.0 || vb <= 0.0 {
        return f64::NAN;
    }
    cov / (va * vb).sqrt()
}

/// World bounding box of the voxels `lo..=hi` of `g`, grown by `pad` voxels.
fn world_box(g: &Geometry, lo: [usize; 3], hi: [usize; 3], pad: f64) -> ([f64; 3], [f64; 3]) {
    let mut min = [f64::MAX; 3];
    let mut max = [f64::MIN; 3];
    for c in 0..8 {
        let ijk: [f64; 3] = std::array::from_fn(|a| {
            if (c >> a) & 1 == 0 {
                lo[a] as f64 - pad
            } else {
                hi[a] as f64 + pad
            }
        });
        let w = g.index_to_world(ijk);
        for a in 0..3 {
            min[a] = min[a].min(w[a]);
            max[a] = max[a].max(w[a]);
        }
    }
    (min, max)
}

/// Gradient magnitudes of `image` on `grid` (windowed, trilinear), NaN where
/// a voxel or one of its six neighbours is off the image. Reads only the
/// image's voxels around `grid`.
fn gradients(image: &ImageSource, grid: &Geometry) -> Result<Gradients> {
    let g = &image.geometry;
    let last = g.last();
    // The image voxels around the grid, one more on each side for interpolation.
    let corners: Vec<[f64; 3]> = (0..8)
        .map(|c| {
            let ijk: [f64; 3] = std::array::from_fn(|a| {
                if (c >> a) & 1 == 0 {
                    0.0
                } else {
                    grid.dims[a] as f64 - 1.0
                }
            });
            g.world_to_index(grid.index_to_world(ijk))
        })
        .collect();
    let mut lo = [0usize; 3];
    let mut hi = [0usize; 3];
    for a in 0..3 {
        let min = corners.iter().map(|c| c[a]).fold(f64::MAX, f64::min);
        let max = corners.iter().map(|c| c[a]).fold(f64::MIN, f64::max);
        if max < 0.0 || min > last[a] as f64 {
            return Ok(Gradients {
                dims: grid.dims,
                values: vec![f32::NAN; grid.len()],
            });
        }
        lo[a] = ((min.floor() - 1.0).max(0.0) as usize).min(last[a]);
        hi[a] = ((max.ceil() + 1.0).max(0.0) as usize).clamp(lo[a], last[a]);
    }
    let mut part = image.read_box(lo, hi, None)?;
    for v in &mut part.data {
        *v = v.clamp(WINDOW_HU.0, WINDOW_HU.1);
    }
    let on_grid: Volume<f32> = resample_image(&part, grid, Interpolator::Linear);
    // Grid voxels on the image (its voxel centres' hull; beyond it the
    // resampler repeats edge values).
    let [nx, ny, nz] = grid.dims;
    let inside: Vec<bool> = (0..grid.len())
        .map(|i| {
            let [x, y, z] = grid.coords(i);
            let k = g.world_to_index(grid.index_to_world([x as f64, y as f64, z as f64]));
            (0..3).all(|a| k[a] >= -1e-6 && k[a] <= last[a] as f64 + 1e-6)
        })
        .collect();
    let h = grid.spacing[0] as f32;
    let mut values = vec![f32::NAN; grid.len()];
    let idx = |x: usize, y: usize, z: usize| x + nx * (y + ny * z);
    for z in 1..nz.saturating_sub(1) {
        for y in 1..ny.saturating_sub(1) {
            for x in 1..nx.saturating_sub(1) {
                let around = [
                    idx(x, y, z),
                    idx(x - 1, y, z),
                    idx(x + 1, y, z),
                    idx(x, y - 1, z),
                    idx(x, y + 1, z),
                    idx(x, y, z - 1),
                    idx(x, y, z + 1),
                ];
                if !around.iter().all(|&i| inside[i]) {
                    continue;
                }
                let v = |i: usize| on_grid.data[around[i]];
                let gx = (v(2) - v(1)) / (2.0 * h);
                let gy = (v(4) - v(3)) / (2.0 * h);
                let gz = (v(6) - v(5)) / (2.0 * h);
                values[around[0]] = (gx * gx + gy * gy + gz * gz).sqrt();
            }
        }
    }
    Ok(Gradients {
        dims: grid.dims,
        values,
    })
}
