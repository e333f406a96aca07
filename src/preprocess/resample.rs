//! Image and mask interpolation onto a new voxel grid (IBSI "Interpolation").
//!
//! The sampling grid follows the IBSI "align grid centres" rule: the new grid
//! has `ceil(n · s_old / s_new)` voxels per axis and its centre coincides with
//! the centre of the original grid. Points outside the original grid take the
//! value of the nearest boundary voxel.
//!
//! When the target grid is axis-aligned with the source grid (always the case
//! for [`aligned_grid`]), interpolation is separable: each axis is resampled in
//! turn with per-axis precomputed taps, which keeps a 204×201×60 → 100×99×90
//! resampling in the millisecond range. Other target grids (rotated, permuted
//! axes) are handled voxel by voxel.
//!
//! The cubic spline reproduces `scipy.ndimage.map_coordinates(order=3,
//! mode="nearest")`, which MIRP (the IBSI coordinator's software) uses: the
//! image is padded by [`SPLINE_PAD`] voxels with its edge values, B-spline
//! coefficients are computed on the padded line with half-sample symmetric
//! ("reflect") boundary conditions, and coefficient indices beyond the padded
//! line are clamped.

use crate::volume::{Geometry, Mask, Volume};
use rayon::prelude::*;

/// Interpolation kernels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interpolator {
    Nearest,
    /// Bilinear in-plane or trilinear in 3D.
    Linear,
    /// Tricubic spline (B-spline of order 3 with prefiltering).
    CubicSpline,
}

/// Edge padding (voxels per side) before the cubic spline prefilter; scipy
/// (≥ 1.6) uses 12 for mode "nearest".
pub const SPLINE_PAD: usize = 12;

/// Lines filtered together along the contiguous axis.
const LANES: usize = 8;

/// Pole of the cubic B-spline prefilter, √3 − 2.
const CUBIC_POLE: f64 = -0.267_949_192_431_122_7;

/// Voxel counts closer than this to an integer are taken as that integer, so
/// that float noise in `n · s_old / s_new` (e.g. 60 · 3 / 2) never adds a slice.
const GRID_SIZE_SLACK: f64 = 1e-6;

/// Off-diagonal size (in source voxels per target voxel) below which two grids
/// count as axis-aligned.
const ALIGN_TOLERANCE: f64 = 1e-9;

/// The IBSI "align grid centres" grid with spacing `new_spacing`.
///
/// Per axis: `n_new = ceil(n_old · s_old / s_new)` (at least 1), and the first
/// new voxel sits at original index `x0 = ½ (n_old − 1 − (s_new / s_old)(n_new − 1))`,
/// so both grids share their centre. Direction cosines are kept. An axis whose
/// new spacing equals the old one (or is not a positive number) keeps its
/// size, spacing and positions exactly.
pub fn aligned_grid(geometry: &Geometry, new_spacing: [f64; 3]) -> Geometry {
    let mut dims = [0usize; 3];
    let mut x0 = [0.0f64; 3];
    for a in 0..3 {
        let n_old = geometry.dims[a];
        let (s_old, s_new) = (geometry.spacing[a], new_spacing[a]);
        if s_new == s_old || !(s_new.is_finite() && s_new > 0.0) {
            dims[a] = n_old;
            continue;
        }
        let exact = n_old as f64 * s_old / s_new;
        let nearest = exact.round();
        let n_new = if (exact - nearest).abs() <= GRID_SIZE_SLACK {
            nearest
        } else {
            exact.ceil()
        };
        dims[a] = (n_new as usize).max(1);
        x0[a] = 0.5 * ((n_old as f64 - 1.0) - (s_new / s_old) * (dims[a] as f64 - 1.0));
    }
    let mut spacing = geometry.spacing;
    for a in 0..3 {
        if new_spacing[a].is_finite() && new_spacing[a] > 0.0 {
            spacing[a] = new_spacing[a];
        }
    }
    Geometry {
        dims,
        spacing,
        origin: geometry.index_to_world(x0),
        direction: geometry.direction,
    }
}

/// Interpolate `image` onto `target`; outside points take the nearest boundary value.
pub fn resample_image(image: &Volume<f32>, target: &Geometry, interp: Interpolator) -> Volume<f32> {
    let src: Vec<f64> = image.data.iter().map(|&v| v as f64).collect();
    let out = resample_values(&src, &image.geometry, target, interp);
    Volume {
        geometry: target.clone(),
        data: out.into_iter().map(|v| v as f32).collect(),
    }
}

/// Interpolate a mask onto `target` and keep voxels with value ≥ `threshold`.
///
/// The mask is interpolated as 0/1 values with `interp` (IBSI: linear with
/// threshold 0.5, the partial-volume rule). Values within [`MASK_SLACK`] below
/// the threshold count as reaching it: new voxels that lie exactly half-way
/// between two slices (every third slice for 3 mm → 2 mm) have the value 0.5
/// mathematically, and round-off in the sampling positions must not drop them.
pub fn resample_mask(mask: &Mask, target: &Geometry, interp: Interpolator, threshold: f64) -> Mask {
    let cut = threshold - MASK_SLACK;
    let out = match (interp, mask.bounding_box()) {
        // Nearest and linear only see the neighbouring voxels, so the mask can
        // be cropped to its bounding box plus one empty voxel without changing
        // any value (outside points clamp onto the empty rim, or onto the true
        // image edge where the box touches it).
        (Interpolator::Nearest | Interpolator::Linear, Some((lo, hi))) => {
            let g = &mask.geometry;
            let lo = lo.map(|v| v.saturating_sub(1));
            let hi = [0, 1, 2].map(|a| (hi[a] + 1).min(g.dims[a] - 1));
            let dims = [0, 1, 2].map(|a| hi[a] - lo[a] + 1);
            let mut src = Vec::with_capacity(dims.iter().product());
            for z in lo[2]..=hi[2] {
                for y in lo[1]..=hi[1] {
                    let row = g.index(lo[0], y, z);
                    src.extend(
                        mask.data[row..row + dims[0]]
                            .iter()
                            .map(|&b| b as u8 as f64),
                    );
                }
            }
            let crop = Geometry {
                dims,
                spacing: g.spacing,
                origin: g.index_to_world(lo.map(|v| v as f64)),
                direction: g.direction,
            };
            resample_values(&src, &crop, target, interp)
        }
        (_, None) => vec![0.0; target.len()],
        _ => {
            let src: Vec<f64> = mask.data.iter().map(|&b| b as u8 as f64).collect();
            resample_values(&src, &mask.geometry, target, interp)
        }
    };
    Volume {
        geometry: target.clone(),
        data: out.into_iter().map(|v| v >= cut).collect(),
    }
}

/// Round-off allowance of the mask threshold (see [`resample_mask`]).
pub const MASK_SLACK: f64 = 1e-9;

/// Round every intensity to the nearest integer, halves away from zero
/// (IBSI: CT intensities are rounded after interpolation). NaN stays NaN.
pub fn round_intensities(image: &mut Volume<f32>) {
    image.data.par_iter_mut().for_each(|v| *v = v.round());
}

/// Interpolate `src` (on `src_geom`) at the voxel centres of `target`.
fn resample_values(
    src: &[f64],
    src_geom: &Geometry,
    target: &Geometry,
    interp: Interpolator,
) -> Vec<f64> {
    if target.is_empty() {
        return Vec::new();
    }
    if src_geom.is_empty() {
        return vec![f64::NAN; target.len()];
    }
    let (m, b) = index_affine(src_geom, target);
    let aligned = (0..3).all(|r| (0..3).all(|c| r == c || m[r][c].abs() <= ALIGN_TOLERANCE));
    if aligned {
        resample_separable(src, src_geom.dims, target.dims, m, b, interp)
    } else {
        resample_general(src, src_geom.dims, target.dims, m, b, interp)
    }
}

/// Affine map from target voxel index to source voxel index: `src = M · tgt + b`.
fn index_affine(src: &Geometry, tgt: &Geometry) -> ([[f64; 3]; 3], [f64; 3]) {
    let b = src.world_to_index(tgt.origin);
    let mut m = [[0.0; 3]; 3];
    for (r, row) in m.iter_mut().enumerate() {
        for (c, v) in row.iter_mut().enumerate() {
            let dot: f64 = (0..3)
                .map(|w| src.direction[w][r] * tgt.direction[w][c])
                .sum();
            // Same axis direction: use the plain spacing ratio so that steps are
            // exactly s_new / s_old, free of round-off from the dot product.
            let dot = if (dot - 1.0).abs() < 1e-12 {
                1.0
            } else if dot.abs() < 1e-12 {
                0.0
            } else {
                dot
            };
            *v = dot * tgt.spacing[c] / src.spacing[r];
        }
    }
    (m, b)
}

/// Source positions (voxel index) of the target voxels along one axis.
fn axis_positions(n_out: usize, step: f64, start: f64) -> Vec<f64> {
    (0..n_out).map(|k| start + step * k as f64).collect()
}

/// Interpolation taps of one axis: output `j` is `Σ_t w[j·taps + t] · line[idx[j·taps + t]]`,
/// where `line` is the source line, or its padded spline coefficients when `prefilter`.
struct AxisPlan {
    taps: usize,
    idx: Vec<usize>,
    w: Vec<f64>,
    prefilter: bool,
    n_out: usize,
}

impl AxisPlan {
    /// Plan for sampling a line of `n` values at `positions` (source index units).
    fn new(n: usize, positions: &[f64], interp: Interpolator) -> AxisPlan {
        let last = (n - 1) as f64;
        let mut plan = AxisPlan {
            taps: 0,
            idx: Vec::new(),
            w: Vec::new(),
            prefilter: false,
            n_out: positions.len(),
        };
        match interp {
            Interpolator::Nearest => {
                plan.taps = 1;
                for &p in positions {
                    // Halves round up, as scipy's order-0 spline does.
                    let i = (p + 0.5).floor().clamp(0.0, last) as usize;
                    plan.idx.push(i);
                    plan.w.push(1.0);
                }
            }
            Interpolator::Linear => {
                plan.taps = 2;
                for &p in positions {
                    let p = p.clamp(0.0, last);
                    let i0 = (p.floor() as usize).min(n.saturating_sub(2));
                    let t = p - i0 as f64;
                    plan.idx.extend([i0, (i0 + 1).min(n - 1)]);
                    plan.w.extend([1.0 - t, t]);
                }
            }
            Interpolator::CubicSpline => {
                plan.taps = 4;
                plan.prefilter = true;
                let len = n + 2 * SPLINE_PAD;
                let last_p = (len - 1) as f64;
                for &p in positions {
                    let cc = (p + SPLINE_PAD as f64).clamp(0.0, last_p);
                    let i0 = cc.floor();
                    let w = cubic_bspline_weights(cc - i0);
                    for (t, wt) in w.iter().enumerate() {
                        let i = (i0 as isize - 1 + t as isize).clamp(0, len as isize - 1);
                        plan.idx.push(i as usize);
                        plan.w.push(*wt);
                    }
                }
            }
        }
        plan
    }

    /// Identity plan over the padded coefficients (general path).
    fn coefficients_only(n: usize) -> AxisPlan {
        let len = n + 2 * SPLINE_PAD;
        AxisPlan {
            taps: 1,
            idx: (0..len).collect(),
            w: vec![1.0; len],
            prefilter: true,
            n_out: len,
        }
    }
}

/// Cubic B-spline weights of the knots at offsets −1, 0, 1, 2 from `floor(x)`,
/// for fractional part `t`.
fn cubic_bspline_weights(t: f64) -> [f64; 4] {
    let u = 1.0 - t;
    let t2 = t * t;
    let t3 = t2 * t;
    [
        u * u * u / 6.0,
        (4.0 - 6.0 * t2 + 3.0 * t3) / 6.0,
        (1.0 + 3.0 * t + 3.0 * t2 - 3.0 * t3) / 6.0,
        t3 / 6.0,
    ]
}

/// Half-sample symmetric index into a line of `len` values (…, x1, x0 | x0, x1, …).
fn reflect_index(i: isize, len: usize) -> usize {
    let period = 2 * len as isize;
    let r = i.rem_euclid(period) as usize;
    if r < len {
        r
    } else {
        2 * len - 1 - r
    }
}

/// Pad a block of lines (`n` rows of `inner` interleaved lines) with edge
/// values and replace it by cubic B-spline coefficients along the rows.
///
/// Recursive filter of Unser et al. (1991): gain 6, one pole z = √3 − 2, with
/// half-sample symmetric boundaries on the padded line (scipy mode "nearest").
fn spline_coefficients(src: &[f64], n: usize, inner: usize, buf: &mut Vec<f64>) {
    let len = n + 2 * SPLINE_PAD;
    let z = CUBIC_POLE;
    let gain = (1.0 - z) * (1.0 - 1.0 / z);
    // Causal initial value: Σ_k z^k x[−k] over the symmetric extension,
    // truncated once z^k is far below double precision.
    let horizon = 40usize;
    // Anticausal initial value for the symmetric extension.
    let f = z / (z - 1.0);
    buf.clear();
    if inner == 1 {
        buf.resize(len, 0.0);
        let c = &mut buf[..];
        c[..SPLINE_PAD].fill(src[0]);
        c[SPLINE_PAD..SPLINE_PAD + n].copy_from_slice(&src[..n]);
        c[SPLINE_PAD + n..].fill(src[n - 1]);
        let mut init = c[0];
        let mut zk = z;
        for k in 1..horizon {
            // x[−k] = x[k − 1] while the reflection stays inside the line.
            let r = if k <= len {
                k - 1
            } else {
                reflect_index(-(k as isize), len)
            };
            init += zk * c[r];
            zk *= z;
        }
        c[0] = init * gain;
        for r in 1..len {
            c[r] = c[r] * gain + z * c[r - 1];
        }
        c[len - 1] *= f;
        for r in (0..len - 1).rev() {
            c[r] = z * (c[r + 1] - c[r]);
        }
        return;
    }
    buf.reserve(len * inner);
    for r in 0..len {
        let s = r.saturating_sub(SPLINE_PAD).min(n - 1);
        buf.extend_from_slice(&src[s * inner..(s + 1) * inner]);
    }
    buf.iter_mut().for_each(|v| *v *= gain);
    let mut init = vec![0.0; inner];
    let mut zk = 1.0;
    for k in 0..horizon {
        let r = reflect_index(-(k as isize), len);
        let row = &buf[r * inner..(r + 1) * inner];
        init.iter_mut().zip(row).for_each(|(a, &x)| *a += zk * x);
        zk *= z;
    }
    buf[..inner].copy_from_slice(&init);
    for r in 1..len {
        let (prev, cur) = buf[(r - 1) * inner..(r + 1) * inner].split_at_mut(inner);
        cur.iter_mut()
            .zip(prev.iter())
            .for_each(|(c, &p)| *c += z * p);
    }
    buf[(len - 1) * inner..].iter_mut().for_each(|v| *v *= f);
    for r in (0..len - 1).rev() {
        let (cur, next) = buf[r * inner..(r + 2) * inner].split_at_mut(inner);
        cur.iter_mut()
            .zip(next.iter())
            .for_each(|(c, &nx)| *c = z * (nx - *c));
    }
}

/// Output row `j` of one axis pass.
#[inline]
fn eval_row(coef: &[f64], inner: usize, plan: &AxisPlan, j: usize, row: &mut [f64]) {
    row.fill(0.0);
    for t in 0..plan.taps {
        let k = j * plan.taps + t;
        let (i, w) = (plan.idx[k], plan.w[k]);
        if w == 0.0 {
            continue;
        }
        let s = &coef[i * inner..(i + 1) * inner];
        row.iter_mut().zip(s).for_each(|(o, &x)| *o += w * x);
    }
}

/// One contiguous line (the x axis): scalar taps.
#[inline]
fn eval_line(coef: &[f64], plan: &AxisPlan, out: &mut [f64]) {
    let taps = plan.taps;
    for ((o, idx), w) in out
        .iter_mut()
        .zip(plan.idx.chunks_exact(taps))
        .zip(plan.w.chunks_exact(taps))
    {
        *o = idx.iter().zip(w).map(|(&i, &w)| w * coef[i]).sum();
    }
}

/// Resample `data` (dims `dims`, x-fastest) along `axis` with `plan`.
fn axis_pass(data: &[f64], dims: [usize; 3], axis: usize, plan: &AxisPlan) -> Vec<f64> {
    let inner: usize = dims[..axis].iter().product();
    let n = dims[axis];
    let outer: usize = dims[axis + 1..].iter().product();
    let m = plan.n_out;
    let mut out = vec![0.0; outer * m * inner];
    if inner == 1 {
        // Contiguous lines: one rayon task per group of lines.
        let lines_per_task = LANES * (4096 / (LANES * n.max(1))).max(1);
        out.par_chunks_mut(m * lines_per_task)
            .zip(data.par_chunks(n * lines_per_task))
            .for_each_init(
                || (Vec::new(), Vec::new()),
                |(buf, block), (dst, src)| {
                    if !plan.prefilter {
                        for (d, s) in dst.chunks_mut(m).zip(src.chunks(n)) {
                            eval_line(s, plan, d);
                        }
                        return;
                    }
                    // The spline recursion is a serial chain along the line:
                    // interleave LANES lines so that it runs on all of them at once.
                    for (d, s) in dst.chunks_mut(m * LANES).zip(src.chunks(n * LANES)) {
                        let lanes = s.len() / n;
                        block.clear();
                        block.resize(n * lanes, 0.0);
                        for (l, line) in s.chunks(n).enumerate() {
                            for (i, &v) in line.iter().enumerate() {
                                block[i * lanes + l] = v;
                            }
                        }
                        spline_coefficients(block, n, lanes, buf);
                        for (l, out_line) in d.chunks_mut(m).enumerate() {
                            for ((o, idx), w) in out_line
                                .iter_mut()
                                .zip(plan.idx.chunks_exact(plan.taps))
                                .zip(plan.w.chunks_exact(plan.taps))
                            {
                                *o = idx
                                    .iter()
                                    .zip(w)
                                    .map(|(&i, &w)| w * buf[i * lanes + l])
                                    .sum();
                            }
                        }
                    }
                },
            );
        return out;
    }
    let process = |src: &[f64], dst: &mut [f64], buf: &mut Vec<f64>| {
        let coef: &[f64] = if plan.prefilter {
            spline_coefficients(src, n, inner, buf);
            buf
        } else {
            src
        };
        for (j, row) in dst.chunks_mut(inner).enumerate() {
            eval_row(coef, inner, plan, j, row);
        }
    };
    if outer >= 4 {
        out.par_chunks_mut(m * inner)
            .zip(data.par_chunks(n * inner))
            .for_each_init(Vec::new, |buf, (dst, src)| process(src, dst, buf));
    } else {
        // Few, large blocks (the last axis): parallelise over output rows.
        let mut buf = Vec::new();
        for (dst, src) in out.chunks_mut(m * inner).zip(data.chunks(n * inner)) {
            let coef: &[f64] = if plan.prefilter {
                spline_coefficients(src, n, inner, &mut buf);
                &buf
            } else {
                src
            };
            dst.par_chunks_mut(inner)
                .enumerate()
                .for_each(|(j, row)| eval_row(coef, inner, plan, j, row));
        }
    }
    out
}

/// Axis-by-axis resampling for target grids aligned with the source axes.
fn resample_separable(
    src: &[f64],
    src_dims: [usize; 3],
    tgt_dims: [usize; 3],
    m: [[f64; 3]; 3],
    b: [f64; 3],
    interp: Interpolator,
) -> Vec<f64> {
    let mut dims = src_dims;
    let mut data: Option<Vec<f64>> = None;
    // y first: its rows are filtered as whole vectors, which is cheaper than
    // the serial per-line recursion of x, and it halves the x work.
    for a in [1, 0, 2] {
        let step = m[a][a];
        let identity = tgt_dims[a] == src_dims[a]
            && (step - 1.0).abs() <= ALIGN_TOLERANCE
            && b[a].abs() <= ALIGN_TOLERANCE;
        if identity {
            continue;
        }
        let positions = axis_positions(tgt_dims[a], step, b[a]);
        let plan = AxisPlan::new(src_dims[a], &positions, interp);
        let next = axis_pass(data.as_deref().unwrap_or(src), dims, a, &plan);
        dims[a] = tgt_dims[a];
        data = Some(next);
    }
    data.unwrap_or_else(|| src.to_vec())
}

/// Voxel-by-voxel resampling for arbitrary (non axis-aligned) target grids.
fn resample_general(
    src: &[f64],
    src_dims: [usize; 3],
    tgt_dims: [usize; 3],
    m: [[f64; 3]; 3],
    b: [f64; 3],
    interp: Interpolator,
) -> Vec<f64> {
    // Cubic: padded B-spline coefficients of the whole volume.
    let (coef, cdims, pad) = if interp == Interpolator::CubicSpline {
        let mut dims = src_dims;
        let mut data = src.to_vec();
        for a in 0..3 {
            let plan = AxisPlan::coefficients_only(dims[a]);
            data = axis_pass(&data, dims, a, &plan);
            dims[a] += 2 * SPLINE_PAD;
        }
        (data, dims, SPLINE_PAD as f64)
    } else {
        (src.to_vec(), src_dims, 0.0)
    };
    let at = |i: [usize; 3]| coef[i[0] + cdims[0] * (i[1] + cdims[1] * i[2])];
    let [nx, ny, nz] = tgt_dims;
    let mut out = vec![0.0; nx * ny * nz];
    out.par_chunks_mut(nx * ny)
        .enumerate()
        .for_each(|(z, slab)| {
            for y in 0..ny {
                for x in 0..nx {
                    let t = [x as f64, y as f64, z as f64];
                    let mut p = [0.0; 3];
                    for r in 0..3 {
                        let v = b[r] + m[r][0] * t[0] + m[r][1] * t[1] + m[r][2] * t[2];
                        p[r] = (v + pad).clamp(0.0, (cdims[r] - 1) as f64);
                    }
                    slab[x + nx * y] = match interp {
                        Interpolator::Nearest => {
                            let i = p.map(|v| (v + 0.5).floor() as usize);
                            at([0, 1, 2].map(|r| i[r].min(cdims[r] - 1)))
                        }
                        Interpolator::Linear => {
                            let mut acc = 0.0;
                            let i0 = [0, 1, 2]
                                .map(|r| (p[r].floor() as usize).min(cdims[r].saturating_sub(2)));
                            let f = [0, 1, 2].map(|r| p[r] - i0[r] as f64);
                            for corner in 0..8usize {
                                let mut w = 1.0;
                                let mut idx = [0usize; 3];
                                for r in 0..3 {
                                    let hi = (corner >> r) & 1 == 1;
                                    w *= if hi { f[r] } else { 1.0 - f[r] };
                                    idx[r] = (i0[r] + hi as usize).min(cdims[r] - 1);
                                }
                                if w != 0.0 {
                                    acc += w * at(idx);
                                }
                            }
                            acc
                        }
                        Interpolator::CubicSpline => {
                            let i0 = p.map(|v| v.floor());
                            let w = [0, 1, 2].map(|r| cubic_bspline_weights(p[r] - i0[r]));
                            let idx = |r: usize, t: usize| {
                                (i0[r] as isize - 1 + t as isize).clamp(0, cdims[r] as isize - 1)
                                    as usize
                            };
                            let mut acc = 0.0;
                            for tz in 0..4 {
                                for ty in 0..4 {
                                    for tx in 0..4 {
                                        acc += w[0][tx]
                                            * w[1][ty]
                                            * w[2][tz]
                                            * at([idx(0, tx), idx(1, ty), idx(2, tz)]);
                                    }
                                }
                            }
                            acc
                        }
                    };
                }
            }
        });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn volume(dims: [usize; 3], f: impl Fn(usize, usize, usize) -> f64) -> Volume<f32> {
        let g = Geometry::new(dims, [1.0, 1.5, 2.0], [3.0, -4.0, 5.0]);
        let mut data = Vec::with_capacity(g.len());
        for z in 0..dims[2] {
            for y in 0..dims[1] {
                for x in 0..dims[0] {
                    data.push(f(x, y, z) as f32);
                }
            }
        }
        Volume::from_vec(g, data).unwrap()
    }

    fn wavy(x: usize, y: usize, z: usize) -> f64 {
        (x as f64 * 0.7).sin() * 100.0 + (y as f64 * 0.4).cos() * 50.0 + z as f64 * 3.0
    }

    #[test]
    fn separable_and_voxelwise_paths_agree() {
        let img = volume([9, 7, 6], wavy);
        let target = aligned_grid(&img.geometry, [0.7, 2.1, 1.3]);
        let src: Vec<f64> = img.data.iter().map(|&v| v as f64).collect();
        let (m, b) = index_affine(&img.geometry, &target);
        for interp in [
            Interpolator::Nearest,
            Interpolator::Linear,
            Interpolator::CubicSpline,
        ] {
            let a = resample_separable(&src, img.geometry.dims, target.dims, m, b, interp);
            let g = resample_general(&src, img.geometry.dims, target.dims, m, b, interp);
            let worst = a
                .iter()
                .zip(&g)
                .map(|(p, q)| (p - q).abs())
                .fold(0.0, f64::max);
            assert!(worst < 1e-9, "{interp:?}: max difference {worst}");
        }
    }

    #[test]
    fn flipped_and_swapped_target_axes_sample_the_same_world_points() {
        let img = volume([5, 4, 3], wavy);
        // Same voxel centres, x axis reversed: the data comes out mirrored in x.
        let g = &img.geometry;
        let mut flipped = g.clone();
        flipped.direction[0][0] = -1.0;
        flipped.origin = g.index_to_world([4.0, 0.0, 0.0]);
        for interp in [
            Interpolator::Nearest,
            Interpolator::Linear,
            Interpolator::CubicSpline,
        ] {
            let out = resample_image(&img, &flipped, interp);
            for (i, &v) in out.data.iter().enumerate() {
                let [x, y, z] = flipped.coords(i);
                let expect = img.get(4 - x, y, z);
                assert!(
                    (v - expect).abs() < 1e-3,
                    "{interp:?} {x},{y},{z}: {v} vs {expect}"
                );
            }
        }
        // Target whose first axis runs along world y and second along world x
        // (not separable): each target voxel must hit the matching source voxel.
        let mut swapped = Geometry::new([4, 5, 3], [1.5, 1.0, 2.0], g.origin);
        swapped.direction = [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]];
        for interp in [
            Interpolator::Nearest,
            Interpolator::Linear,
            Interpolator::CubicSpline,
        ] {
            let out = resample_image(&img, &swapped, interp);
            for (i, &v) in out.data.iter().enumerate() {
                let [u, w, z] = swapped.coords(i);
                let expect = img.get(w, u, z);
                assert!(
                    (v - expect).abs() < 1e-3,
                    "{interp:?} {u},{w},{z}: {v} vs {expect}"
                );
            }
        }
    }

    #[test]
    fn unchanged_grid_is_the_identity() {
        let img = volume([6, 5, 4], wavy);
        for interp in [
            Interpolator::Nearest,
            Interpolator::Linear,
            Interpolator::CubicSpline,
        ] {
            assert_eq!(resample_image(&img, &img.geometry, interp).data, img.data);
        }
    }

    #[test]
    fn mask_crop_gives_the_same_result_as_the_full_grid() {
        let img = volume([12, 10, 8], |x, y, z| ((x + 2 * y + 3 * z) % 7) as f64);
        let mask = img.map(|v| (3.0..=4.0).contains(&v));
        let mut sub = mask.clone();
        sub.data.iter_mut().enumerate().for_each(|(i, b)| {
            let [x, y, _] = mask.geometry.coords(i);
            *b &= (3..8).contains(&x) && (2..9).contains(&y);
        });
        let target = aligned_grid(&sub.geometry, [0.8, 1.1, 1.4]);
        for interp in [Interpolator::Nearest, Interpolator::Linear] {
            let fast = resample_mask(&sub, &target, interp, 0.5);
            let full: Vec<f64> = sub.data.iter().map(|&b| b as u8 as f64).collect();
            let slow = resample_values(&full, &sub.geometry, &target, interp);
            let slow: Vec<bool> = slow.iter().map(|&v| v >= 0.5 - MASK_SLACK).collect();
            assert_eq!(fast.data, slow, "{interp:?}");
        }
    }
}
