//! Resampling as PyRadiomics 3.1 does it (`imageoperations.resampleImage`)
//! with SimpleITK's `ResampleImageFilter`.
//!
//! **Grid.** With the mask's bounding box `lo`, `size` (voxels), spacing `s`
//! and the new spacing `s'` (`0`, or an axis where the ROI is one voxel
//! thick, keeps `s`), `r = s / s'` and the padding `p` (`padDistance`,
//! default 5):
//!
//! ```text
//! L = max(0, ⌊(lo − ½)·r − p⌋),   U = min(⌈N·r⌉ − 1, ⌈(lo + size − ½)·r + p⌉)
//! size' = U − L + 1,   origin index' = ½ (s' − s) / s + L / r
//! ```
//!
//! i.e. output voxel `i` sits at the input's continuous index
//! `c = origin index' + i · s' / s` (same directions). When `s'` equals the
//! image spacing (numpy `allclose`), nothing is interpolated: image and mask
//! are cropped to the box grown by `p`.
//!
//! **Inside.** A point with `c` outside `[−½, N − ½)` on any axis is 0
//! (ITK's default pixel value).
//!
//! **Interpolators** (ITK): nearest neighbour takes voxel `⌊c + ½⌋` (the mask
//! always); `sitkBSpline` is the cubic B-spline of ITK's
//! `BSplineInterpolateImageFunction`: coefficients by the recursive
//! prefilter of `BSplineDecompositionImageFilter` (pole `√3 − 2`, gain 6,
//! causal start summed over the 18 samples its 1e-10 horizon reaches,
//! mirror boundaries) along x, then y, then z, in f64; a value is
//! `Σ w_x w_y w_z · coefficient` over the 4×4×4 coefficients from
//! `⌊(f32) c⌋ − 1`, indices mirrored at the image edges (`−k → k`,
//! `N − 1 + k → N − 1 − k`), x fastest; stored as f32. `sitkLinear` is
//! trilinear with neighbours beyond the edge clamped.
//!
//! The coefficients are computed on the input box the output needs, grown
//! by [`SPLINE_MARGIN`] voxels: the prefilter's weight decays like
//! `0.268^d`, so values agree with the whole image's to well below f32
//! precision.

use crate::error::{Error, Result};
use crate::volume::{Geometry, Mask, Volume};

/// Voxels past the needed input box on which B-spline coefficients are
/// computed (`0.268^24 ≈ 2e-14`).
pub const SPLINE_MARGIN: usize = 24;

/// SimpleITK's interpolators PyRadiomics users name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItkInterpolator {
    NearestNeighbor,
    Linear,
    BSpline,
}

impl ItkInterpolator {
    /// `sitkBSpline`, `sitkLinear`, `sitkNearestNeighbor`; `None` for
    /// SimpleITK's others (`sitkGaussian`, `sitkLanczosWindowedSinc`, …).
    pub fn parse(name: &str) -> Option<ItkInterpolator> {
        Some(match name {
            "sitkBSpline" | "sitkBSpline3" => ItkInterpolator::BSpline,
            "sitkLinear" => ItkInterpolator::Linear,
            "sitkNearestNeighbor" => ItkInterpolator::NearestNeighbor,
            _ => return None,
        })
    }
}

/// Resample `image` and `mask` (same grid) as PyRadiomics does: the
/// returned pair covers the ROI box plus `pad` voxels of the new grid.
pub fn resample(
    image: &Volume<f32>,
    mask: &Mask,
    spacing: [Option<f64>; 3],
    interpolator: ItkInterpolator,
    pad: usize,
) -> Result<(Volume<f32>, Mask)> {
    let g = &image.geometry;
    let Some((lo, hi)) = mask.bounding_box() else {
        return Err(Error::EmptyRoi("the mask has no voxels".into()));
    };
    let size: [usize; 3] = std::array::from_fn(|a| hi[a] - lo[a] + 1);
    let new_spacing: [f64; 3] = std::array::from_fn(|a| match spacing[a] {
        Some(s) if size[a] != 1 => s,
        _ => g.spacing[a],
    });
    let allclose =
        (0..3).all(|a| (g.spacing[a] - new_spacing[a]).abs() <= 1e-8 + 1e-5 * new_spacing[a].abs());
    if allclose {
        let blo: [usize; 3] = std::array::from_fn(|a| lo[a].saturating_sub(pad));
        let bhi: [usize; 3] = std::array::from_fn(|a| (hi[a] + pad).min(g.dims[a] - 1));
        return Ok((image.crop(blo, bhi), mask.crop(blo, bhi)));
    }
    let pad = pad as f64;
    let mut dims = [0usize; 3];
    let mut start = [0.0f64; 3];
    let mut step = [0.0f64; 3];
    for a in 0..3 {
        let r = g.spacing[a] / new_spacing[a];
        let l = (((lo[a] as f64 - 0.5) * r - pad).floor()).max(0.0);
        let max_u = (g.dims[a] as f64 * r).ceil() - 1.0;
        let u = (((lo[a] + size[a]) as f64 - 0.5) * r + pad)
            .ceil()
            .min(max_u);
        dims[a] = (u - l + 1.0) as usize;
        start[a] = 0.5 * (new_spacing[a] - g.spacing[a]) / g.spacing[a] + l / r;
        step[a] = new_spacing[a] / g.spacing[a];
    }
    let n = dims.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
    let limit = crate::io::ReadLimits::from_env()?.max_voxels;
    if n.is_none_or(|n| n > limit) {
        return Err(Error::Invalid(format!(
            "resampling to {new_spacing:?} mm gives a {dims:?} grid, more than the limit of {limit} voxels \
             (set CTRAD_MAX_VOXELS to raise it)"
        )));
    }
    let origin = g.index_to_world(start);
    let geometry = Geometry {
        dims,
        spacing: new_spacing,
        origin,
        direction: g.direction,
    };
    let coord = |a: usize, i: usize| start[a] + i as f64 * step[a];
    let inside = |a: usize, c: f64| c >= -0.5 && c < g.dims[a] as f64 - 0.5;

    // Nearest neighbour (the mask always; the image when asked): the voxel
    // whose centre is nearest, `outside` beyond the grid's edge.
    let nearest =
        |a: usize, c: f64| ((c + 0.5).floor() as isize).clamp(0, g.dims[a] as isize - 1) as usize;
    fn sample_nearest<T: Copy>(
        dims: [usize; 3],
        coord: &dyn Fn(usize, usize) -> f64,
        inside: &dyn Fn(usize, f64) -> bool,
        nearest: &dyn Fn(usize, f64) -> usize,
        vol: &Volume<T>,
        outside: T,
    ) -> Vec<T> {
        let mut d = Vec::with_capacity(dims.iter().product());
        for z in 0..dims[2] {
            let cz = coord(2, z);
            for y in 0..dims[1] {
                let cy = coord(1, y);
                for x in 0..dims[0] {
                    let cx = coord(0, x);
                    d.push(if inside(0, cx) && inside(1, cy) && inside(2, cz) {
                        vol.get(nearest(0, cx), nearest(1, cy), nearest(2, cz))
                    } else {
                        outside
                    });
                }
            }
        }
        d
    }
    let mdata = sample_nearest(dims, &coord, &inside, &nearest, mask, false);
    let new_mask = Volume::from_vec(geometry.clone(), mdata)?;

    let data = match interpolator {
        ItkInterpolator::NearestNeighbor => {
            sample_nearest(dims, &coord, &inside, &nearest, image, 0.0)
        }
        ItkInterpolator::Linear => linear(image, dims, start, step),
        ItkInterpolator::BSpline => bspline(image, dims, start, step),
    };
    Ok((Volume::from_vec(geometry, data)?, new_mask))
}

/// Trilinear interpolation (ITK `LinearInterpolateImageFunction`):
/// neighbours beyond the last voxel repeat it.
fn linear(image: &Volume<f32>, dims: [usize; 3], start: [f64; 3], step: [f64; 3]) -> Vec<f32> {
    let n = image.geometry.dims;
    let mut out = Vec::with_capacity(dims.iter().product());
    // The two neighbours (clamped to the image) and the distance to the first.
    let split = |a: usize, c: f64| -> (usize, usize, f64) {
        let b = c.floor();
        let last = n[a] as isize - 1;
        let clamp = |i: isize| i.clamp(0, last) as usize;
        (clamp(b as isize), clamp(b as isize + 1), c - b)
    };
    for z in 0..dims[2] {
        let cz = start[2] + z as f64 * step[2];
        for y in 0..dims[1] {
            let cy = start[1] + y as f64 * step[1];
            for x in 0..dims[0] {
                let cx = start[0] + x as f64 * step[0];
                let c = [cx, cy, cz];
                if (0..3).any(|a| !(c[a] >= -0.5 && c[a] < n[a] as f64 - 0.5)) {
                    out.push(0.0);
                    continue;
                }
                let (x0, x1, dx) = split(0, cx);
                let (y0, y1, dy) = split(1, cy);
                let (z0, z1, dz) = split(2, cz);
                let v = |x: usize, y: usize, z: usize| f64::from(image.get(x, y, z));
                let lerp = |a: f64, b: f64, t: f64| a + (b - a) * t;
                let c00 = lerp(v(x0, y0, z0), v(x1, y0, z0), dx);
                let c10 = lerp(v(x0, y1, z0), v(x1, y1, z0), dx);
                let c01 = lerp(v(x0, y0, z1), v(x1, y0, z1), dx);
                let c11 = lerp(v(x0, y1, z1), v(x1, y1, z1), dx);
                let c0 = lerp(c00, c10, dy);
                let c1 = lerp(c01, c11, dy);
                out.push(lerp(c0, c1, dz) as f32);
            }
        }
    }
    out
}

/// ITK's order-3 B-spline prefilter of one line, in place.
fn prefilter_line(c: &mut [f64]) {
    let n = c.len();
    if n == 1 {
        return;
    }
    let z = 3.0f64.sqrt() - 2.0;
    let gain = (1.0 - z) * (1.0 - 1.0 / z);
    for v in c.iter_mut() {
        *v *= gain;
    }
    // Causal start (mirror boundary).
    let horizon = ((1e-10f64).ln() / z.abs().ln()).ceil() as usize;
    if horizon < n {
        let mut zn = z;
        let mut sum = c[0];
        for v in c.iter().take(horizon).skip(1) {
            sum += zn * v;
            zn *= z;
        }
        c[0] = sum;
    } else {
        let mut zn = z;
        let iz = 1.0 / z;
        let mut z2n = z.powf((n - 1) as f64);
        let mut sum = c[0] + z2n * c[n - 1];
        z2n = z2n * (z2n * iz); // ITK: z2n *= z2n * iz
        for v in c.iter().take(n - 1).skip(1) {
            sum += (zn + z2n) * v;
            zn *= z;
            z2n *= iz;
        }
        c[0] = sum / (1.0 - zn * zn);
    }
    for k in 1..n {
        c[k] += z * c[k - 1];
    }
    c[n - 1] = (z / (z * z - 1.0)) * (z * c[n - 2] + c[n - 1]);
    for k in (0..n - 1).rev() {
        c[k] = z * (c[k + 1] - c[k]);
    }
}

/// Cubic B-spline interpolation (ITK `BSplineInterpolateImageFunction`).
fn bspline(image: &Volume<f32>, dims: [usize; 3], start: [f64; 3], step: [f64; 3]) -> Vec<f32> {
    let n = image.geometry.dims;
    // The input box the output reads, grown for the prefilter.
    let reach = |a: usize| -> (usize, usize) {
        let c0 = start[a];
        let c1 = start[a] + (dims[a] - 1) as f64 * step[a];
        let lo = (c0.floor() as isize - 2 - SPLINE_MARGIN as isize).max(0) as usize;
        let hi = ((c1.ceil() as isize + 2 + SPLINE_MARGIN as isize).max(0) as usize).min(n[a] - 1);
        (lo, hi)
    };
    let (bx, by, bz) = (reach(0), reach(1), reach(2));
    let blo = [bx.0, by.0, bz.0];
    let bhi = [bx.1, by.1, bz.1];
    let bd: [usize; 3] = std::array::from_fn(|a| bhi[a] - blo[a] + 1);
    let mut coef = Vec::with_capacity(bd.iter().product());
    for z in blo[2]..=bhi[2] {
        for y in blo[1]..=bhi[1] {
            let row = image.geometry.index(blo[0], y, z);
            coef.extend(
                image.data[row..=row + bd[0] - 1]
                    .iter()
                    .map(|&v| f64::from(v)),
            );
        }
    }
    let mut line = Vec::new();
    for a in 0..3 {
        let stride = [1, bd[0], bd[0] * bd[1]][a];
        for s in line_starts(bd, a) {
            line.clear();
            line.extend((0..bd[a]).map(|k| coef[s + k * stride]));
            prefilter_line(&mut line);
            for (k, &v) in line.iter().enumerate() {
                coef[s + k * stride] = v;
            }
        }
    }
    let mirror = |a: usize, i: isize| -> usize {
        let last = n[a] as isize - 1;
        let i = if n[a] == 1 {
            0
        } else {
            let i = if i < 0 { -i } else { i };
            if i > last {
                last - (i - last)
            } else {
                i
            }
        };
        (i as usize) - blo[a]
    };
    let weights = |c: f64| -> (isize, [f64; 4]) {
        let i1 = (c as f32).floor() as isize;
        let w = c - i1 as f64;
        let w3 = (1.0 / 6.0) * w * w * w;
        let w0 = (1.0 / 6.0) + 0.5 * w * (w - 1.0) - w3;
        let w2 = w + w0 - 2.0 * w3;
        let w1 = 1.0 - w0 - w2 - w3;
        (i1 - 1, [w0, w1, w2, w3])
    };
    // Per output x: inside the image, the weights and the mirrored indices.
    let inside = |a: usize, c: f64| c >= -0.5 && c < n[a] as f64 - 0.5;
    let columns: Vec<(bool, [f64; 4], [usize; 4])> = (0..dims[0])
        .map(|x| {
            let cx = start[0] + x as f64 * step[0];
            if !inside(0, cx) {
                // 0 whatever the sum: any valid index will do.
                return (false, [0.0; 4], [0; 4]);
            }
            let (ix, wx) = weights(cx);
            let xi: [usize; 4] = std::array::from_fn(|k| mirror(0, ix + k as isize));
            (true, wx, xi)
        })
        .collect();
    let mut out = Vec::with_capacity(dims.iter().product());
    for z in 0..dims[2] {
        let cz = start[2] + z as f64 * step[2];
        let (iz, wz) = weights(cz);
        let zi: [usize; 4] = std::array::from_fn(|k| mirror(2, iz + k as isize));
        for y in 0..dims[1] {
            let cy = start[1] + y as f64 * step[1];
            let (iy, wy) = weights(cy);
            let yi: [usize; 4] = std::array::from_fn(|k| mirror(1, iy + k as isize));
            let rows: [[usize; 4]; 4] = std::array::from_fn(|kz| {
                std::array::from_fn(|ky| bd[0] * (yi[ky] + bd[1] * zi[kz]))
            });
            let row_inside = inside(1, cy) && inside(2, cz);
            // Outputs computed a batch at a time: independent sums in
            // lockstep, each over its 64 terms in ITK's order.
            for batch in columns.chunks(BATCH) {
                let mut v = [0.0f64; BATCH];
                for kz in 0..4 {
                    for ky in 0..4 {
                        let row = &coef[rows[kz][ky]..];
                        for kx in 0..4 {
                            for (l, (_, wx, xi)) in batch.iter().enumerate() {
                                let w = 1.0 * wx[kx] * wy[ky] * wz[kz];
                                v[l] += w * row[xi[kx]];
                            }
                        }
                    }
                }
                for (l, &(col_inside, _, _)) in batch.iter().enumerate() {
                    out.push(if row_inside && col_inside {
                        v[l] as f32
                    } else {
                        0.0
                    });
                }
            }
        }
    }
    out
}

/// Outputs of one row interpolated together by [`bspline`].
const BATCH: usize = 8;

/// Index of the first voxel of every line along `axis` (x fastest).
fn line_starts(dims: [usize; 3], axis: usize) -> Vec<usize> {
    let [nx, ny, nz] = dims;
    let mut v = Vec::new();
    for z in 0..nz {
        for y in 0..ny {
            for x in 0..nx {
                let first = [x, y, z][axis] == 0;
                if first {
                    v.push(x + nx * (y + ny * z));
                }
            }
        }
    }
    v
}
