//! Moran's I (IBSI N365) and Geary's C (IBSI NPT7) with inverse-distance
//! weights over all pairs of intensity-mask voxels — computed exactly.
//!
//! All-pairs summation is O(N²) (≈ 6.5·10⁹ pairs for a 10⁵-voxel ROI). Because
//! voxels sit on a grid, the weight of a pair depends only on its offset `d`,
//! so every pair sum is a weighted sum of a correlation:
//!
//! * Σ_{i≠j} w_ij             = Σ_d w(d) (M ⋆ M)(d)
//! * Σ_{i≠j} w_ij g_i g_j     = Σ_d w(d) (G ⋆ G)(d)
//! * Σ_{i≠j} w_ij (g_i − g_j)² = 2 Σ_d w(d) (Q ⋆ M)(d) − 2 Σ_d w(d) (G ⋆ G)(d)
//!
//! with M the mask, g the mean-centred intensity, G = M·g, Q = M·g² and
//! w(0) = 0. By Parseval each is Σ_k ŵ(k) · (spectrum product)(k) / N_grid on a
//! grid padded to ≥ 2n − 1 per axis (no wrap-around), which gives the exact
//! sums up to rounding. Small ROIs use the direct pair loop, which also
//! cross-checks the FFT path.
//!
//! The FFT path never holds a padded grid (8× the ROI bounding box):
//!
//! * w is real and even in every axis, so ŵ is real and even too: it is
//!   computed on one octant (⅛ of the grid), one axis at a time, two real
//!   lines packed into each complex transform.
//! * M, G and Q are real: a real-input transform along x (two real lines per
//!   complex transform) keeps the half spectrum kx ≤ P_x/2, and the other
//!   half is its mirror image (each kx in between is counted twice).
//! * The x-transformed fields (≈ 3 × the ROI box, complex) are then finished
//!   one kx-plane at a time (y and z transforms of a small slab, multiplied by
//!   ŵ and summed at once); above a memory budget (8 MB) they are made in at
//!   most four blocks of kx-planes, recomputing the cheap x transforms per
//!   block. Memory: about 8 B per ROI-box voxel for ŵ (twice that while it
//!   is built), plus one block.
//!
//! Every floating sum runs in a fixed order (per kx-plane, then over planes
//! in order), so results do not depend on the number of threads.
//!
//! Above [`FFT_MAX_POINTS`] padded grid points (very large ROIs, e.g. whole
//! organs) the IBSI-suggested approximation by repeated subsampling is used
//! instead ([`moran_geary_sampled`]).

use super::fft::{good_size, Plan, C};
use rayon::prelude::*;

/// Below this many voxels the direct pair loop is cheaper than the FFTs.
const DIRECT_MAX: usize = 3000;

/// Largest padded FFT grid (points) for the exact path: 2²⁴ points (a ROI box
/// of about 2·10⁶ voxels; the time grows with the grid).
pub const FFT_MAX_POINTS: usize = 1 << 24;

/// Memory budget (bytes) for the x-transformed fields held at once...
const FIELD_BUDGET: usize = 8 << 20;

/// ...unless that takes more than this many blocks of kx-planes: every block
/// repeats the x transforms, so very large ROIs get larger blocks instead.
const MAX_BLOCKS: usize = 4;

/// Moran's I and Geary's C of the intensity-mask voxels `points` (crop voxel
/// indices) with intensities `values`; `spacing` in mm. `(NaN, NaN)` when
/// fewer than two voxels or all intensities are equal (both are 0/0 then).
pub fn moran_geary(points: &[[usize; 3]], values: &[f64], spacing: [f64; 3]) -> (f64, f64) {
    if points.len() <= DIRECT_MAX {
        moran_geary_direct(points, values, spacing)
    } else if fft_points(points_box(points).1) <= FFT_MAX_POINTS {
        moran_geary_fft(points, values, spacing)
    } else {
        moran_geary_sampled(points, values, spacing)
    }
}

/// [`moran_geary`] of the voxels where `mask` is set in the x-fastest grid
/// `values` of size `dims` (e.g. a ROI crop), without listing them.
pub fn moran_geary_grid(
    dims: [usize; 3],
    values: &[f64],
    mask: &[bool],
    spacing: [f64; 3],
) -> (f64, f64) {
    let grid = Grid { dims, values, mask };
    let Some((lo, n, count)) = grid.mask_box() else {
        return (f64::NAN, f64::NAN);
    };
    if count <= DIRECT_MAX || fft_points(n) > FFT_MAX_POINTS {
        let (pts, vals) = grid.points();
        return moran_geary(&pts, &vals, spacing);
    }
    grid_fft(&grid, lo, n, count, spacing)
}

/// Size of the padded FFT grid for a box of `n` voxels.
fn fft_points(n: [usize; 3]) -> usize {
    n.iter().map(|&k| good_size(2 * k - 1)).product()
}

/// Lower corner and size of the bounding box of `points` (non-empty).
fn points_box(points: &[[usize; 3]]) -> ([usize; 3], [usize; 3]) {
    let mut lo = [usize::MAX; 3];
    let mut hi = [0usize; 3];
    for p in points {
        for a in 0..3 {
            lo[a] = lo[a].min(p[a]);
            hi[a] = hi[a].max(p[a]);
        }
    }
    if points.is_empty() {
        return ([0; 3], [1; 3]);
    }
    (lo, std::array::from_fn(|a| hi[a] - lo[a] + 1))
}

/// Masked values on an x-fastest grid.
struct Grid<'a> {
    dims: [usize; 3],
    values: &'a [f64],
    mask: &'a [bool],
}

impl Grid<'_> {
    #[inline]
    fn index(&self, x: usize, y: usize, z: usize) -> usize {
        x + self.dims[0] * (y + self.dims[1] * z)
    }

    /// Bounding box (corner, size) and number of the mask voxels; `None` if empty.
    fn mask_box(&self) -> Option<([usize; 3], [usize; 3], usize)> {
        let [nx, ny, _] = self.dims;
        let mut lo = [usize::MAX; 3];
        let mut hi = [0usize; 3];
        let mut count = 0;
        for (i, _) in self.mask.iter().enumerate().filter(|(_, &m)| m) {
            let p = [i % nx, (i / nx) % ny, i / (nx * ny)];
            for a in 0..3 {
                lo[a] = lo[a].min(p[a]);
                hi[a] = hi[a].max(p[a]);
            }
            count += 1;
        }
        (count > 0).then(|| (lo, std::array::from_fn(|a| hi[a] - lo[a] + 1), count))
    }

    /// The mask voxels as points and values, in storage order.
    fn points(&self) -> (Vec<[usize; 3]>, Vec<f64>) {
        let [nx, ny, _] = self.dims;
        self.mask
            .iter()
            .zip(self.values)
            .enumerate()
            .filter(|(_, (&m, _))| m)
            .map(|(i, (_, &v))| ([i % nx, (i / nx) % ny, i / (nx * ny)], v))
            .unzip()
    }

    /// Mean of the mask values (storage order) and Σ (v − μ)²; `None` when
    /// all values are equal (or fewer than two voxels).
    fn centre(&self, count: usize) -> Option<(f64, f64)> {
        if count < 2 {
            return None;
        }
        let inside = || {
            self.values
                .iter()
                .zip(self.mask)
                .filter(|(_, &m)| m)
                .map(|(&v, _)| v)
        };
        let mu = inside().sum::<f64>() / count as f64;
        let ss: f64 = inside().map(|v| (v - mu) * (v - mu)).sum();
        (ss > 0.0).then_some((mu, ss))
    }
}

/// Approximation for very large ROIs (IBSI: "approximation by repeated
/// subsampling"): the mean of Moran's I and Geary's C over random subsets of
/// 100 voxels, drawn with a fixed seed (deterministic), until the standard
/// error of both means is below 0.002 (at least 10, at most 10 000 subsets).
/// Subsets whose intensities are all equal are skipped.
pub fn moran_geary_sampled(points: &[[usize; 3]], values: &[f64], spacing: [f64; 3]) -> (f64, f64) {
    const SUBSET: usize = 100;
    if points.len() <= SUBSET {
        return moran_geary_direct(points, values, spacing);
    }
    if centred(values).is_none() {
        return (f64::NAN, f64::NAN);
    }
    let mut state = 0x9E37_79B9_7F4A_7C15u64 ^ points.len() as u64;
    let mut next = || {
        // xorshift64*
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545_F491_4F6C_DD1D)
    };
    let (mut si, mut si2, mut sc, mut sc2, mut k) = (0.0, 0.0, 0.0, 0.0, 0usize);
    let mut pick: Vec<usize> = Vec::with_capacity(SUBSET);
    let (mut pts, mut vals) = (Vec::with_capacity(SUBSET), Vec::with_capacity(SUBSET));
    for _ in 0..100_000 {
        pick.clear();
        while pick.len() < SUBSET {
            let j = (next() % points.len() as u64) as usize;
            if !pick.contains(&j) {
                pick.push(j);
            }
        }
        pts.clear();
        vals.clear();
        pts.extend(pick.iter().map(|&j| points[j]));
        vals.extend(pick.iter().map(|&j| values[j]));
        let (i, c) = moran_geary_direct(&pts, &vals, spacing);
        if i.is_nan() {
            continue;
        }
        k += 1;
        si += i;
        si2 += i * i;
        sc += c;
        sc2 += c * c;
        if k >= 10 {
            let kf = k as f64;
            let sd = |s: f64, s2: f64| ((s2 / kf - (s / kf).powi(2)).max(0.0)).sqrt();
            if sd(si, si2).max(sd(sc, sc2)) / kf.sqrt() < 0.002 || k >= 10_000 {
                break;
            }
        }
    }
    if k == 0 {
        return (f64::NAN, f64::NAN);
    }
    (si / k as f64, sc / k as f64)
}

/// Centred intensities and Σ (x − μ)², or `None` for the degenerate cases.
fn centred(values: &[f64]) -> Option<(Vec<f64>, f64)> {
    let n = values.len();
    if n < 2 {
        return None;
    }
    let mu = values.iter().sum::<f64>() / n as f64;
    let g: Vec<f64> = values.iter().map(|v| v - mu).collect();
    let ss: f64 = g.iter().map(|d| d * d).sum();
    (ss > 0.0).then_some((g, ss))
}

/// I = N/W · Σ w g_i g_j / Σ g²;  C = (N − 1)/(2W) · Σ w (g_i − g_j)² / Σ g².
/// The sums may run over ordered or unordered pairs (the factor cancels).
fn finish(n: usize, sum_w: f64, sum_moran: f64, sum_geary: f64, ss: f64) -> (f64, f64) {
    let n = n as f64;
    (
        n / sum_w * sum_moran / ss,
        (n - 1.0) / (2.0 * sum_w) * sum_geary / ss,
    )
}

/// Direct O(N²) loop over unordered pairs.
pub fn moran_geary_direct(points: &[[usize; 3]], values: &[f64], spacing: [f64; 3]) -> (f64, f64) {
    let Some((g, ss)) = centred(values) else {
        return (f64::NAN, f64::NAN);
    };
    let pos: Vec<[f64; 3]> = points
        .iter()
        .map(|p| {
            [
                p[0] as f64 * spacing[0],
                p[1] as f64 * spacing[1],
                p[2] as f64 * spacing[2],
            ]
        })
        .collect();
    let (sw, sm, sg) = (0..pos.len())
        .into_par_iter()
        .map(|i| {
            let (mut sw, mut sm, mut sg) = (0.0, 0.0, 0.0);
            for j in i + 1..pos.len() {
                let d = [
                    pos[i][0] - pos[j][0],
                    pos[i][1] - pos[j][1],
                    pos[i][2] - pos[j][2],
                ];
                let w = 1.0 / (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt();
                sw += w;
                sm += w * g[i] * g[j];
                sg += w * (g[i] - g[j]) * (g[i] - g[j]);
            }
            (sw, sm, sg)
        })
        // Collect then add in index order: the result must not depend on
        // how rayon splits the work (thread count), so reruns are bit-identical.
        .collect::<Vec<_>>()
        .into_iter()
        .fold((0.0, 0.0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1, a.2 + b.2));
    finish(pos.len(), sw, sm, sg, ss)
}

/// Exact pair sums through 3D FFT correlations (see the module docs).
pub fn moran_geary_fft(points: &[[usize; 3]], values: &[f64], spacing: [f64; 3]) -> (f64, f64) {
    if points.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    // Scatter the points into their bounding box.
    let (lo, n) = points_box(points);
    let mut vals = vec![0.0; n[0] * n[1] * n[2]];
    let mut mask = vec![false; vals.len()];
    for (p, &v) in points.iter().zip(values) {
        let i = (p[0] - lo[0]) + n[0] * ((p[1] - lo[1]) + n[1] * (p[2] - lo[2]));
        vals[i] = v;
        mask[i] = true;
    }
    let grid = Grid {
        dims: n,
        values: &vals,
        mask: &mask,
    };
    grid_fft(&grid, [0; 3], n, points.len(), spacing)
}

/// FFT path on the mask box `lo`, size `n`, of `grid` (`count` mask voxels).
fn grid_fft(
    grid: &Grid,
    lo: [usize; 3],
    n: [usize; 3],
    count: usize,
    spacing: [f64; 3],
) -> (f64, f64) {
    let Some((mu, ss)) = grid.centre(count) else {
        return (f64::NAN, f64::NAN);
    };
    let (sw, sm, sq) = fft_pair_sums(grid, lo, n, mu, spacing, FIELD_BUDGET);
    finish(count, sw, sm, 2.0 * sq - 2.0 * sm, ss)
}

/// Σ_d w(d)(M⋆M)(d), Σ_d w(d)(G⋆G)(d) and Σ_d w(d)(Q⋆M)(d) over the box
/// `lo`, size `n`, of `grid`, with g = v − `mu` (see the module docs); at
/// most about `budget` bytes of x-transformed fields at once, or a quarter of
/// them when that is more ([`MAX_BLOCKS`]).
fn fft_pair_sums(
    grid: &Grid,
    lo: [usize; 3],
    n: [usize; 3],
    mu: f64,
    spacing: [f64; 3],
    budget: usize,
) -> (f64, f64, f64) {
    let [nx, ny, nz] = n;
    let p: [usize; 3] = std::array::from_fn(|a| good_size(2 * n[a] - 1));
    let [px, py, pz] = p;
    let (hx, hy, hz) = (px / 2 + 1, py / 2 + 1, pz / 2 + 1);
    let kernel = kernel_spectrum(n, p, spacing);
    let (plan_x, plan_y, plan_z) = (Plan::new(px), Plan::new(py), Plan::new(pz));

    // x-transformed fields of a block of kx-planes, layout [z][kx][field][y]
    // with the fields M̂, Ĝ, Q̂ (so a plane's z-lines are contiguous rows).
    let row = 3 * ny;
    let qy = ny.div_ceil(2);
    let per_kx = nz * row * std::mem::size_of::<C>();
    let block = (budget / per_kx).max(hx.div_ceil(MAX_BLOCKS)).clamp(1, hx);
    let mut fields: Vec<C> = Vec::new();
    let mut partial: Vec<[f64; 3]> = Vec::with_capacity(hx);
    for k0 in (0..hx).step_by(block) {
        let nb = block.min(hx - k0);
        // Every value is overwritten below: no need to clear between blocks.
        fields.resize(nz * nb * row, C::default());
        fields.par_chunks_mut(nb * row).enumerate().for_each_init(
            || {
                let (a, b) = (px * ny, px * qy);
                let z = C::default();
                (vec![z; a], vec![z; a], vec![z; b], vec![z; b])
            },
            |(mg, mg_s, qq, qq_s), (z, out)| {
                // Z = M + iG with y as the batch; Q packed two y-lines per
                // column. Rows x ≥ n_x are padding (ignored by the FFT). Tiles
                // of 4 y-lines keep the transposed writes in few cache lines.
                for y0 in (0..ny).step_by(4) {
                    let y1 = (y0 + 4).min(ny);
                    for x in 0..nx {
                        for y in y0..y1 {
                            let i = grid.index(lo[0] + x, lo[1] + y, lo[2] + z);
                            let (m, g) = if grid.mask[i] {
                                (1.0, grid.values[i] - mu)
                            } else {
                                (0.0, 0.0)
                            };
                            mg[x * ny + y] = C::new(m, g);
                            let c = &mut qq[x * qy + y / 2];
                            if y.is_multiple_of(2) {
                                *c = C::new(g * g, 0.0);
                            } else {
                                c.im = g * g;
                            }
                        }
                    }
                }
                plan_x.forward_rows_padded(mg, mg_s, ny, nx);
                plan_x.forward_rows_padded(qq, qq_s, qy, nx);
                for (kr, o) in out.chunks_exact_mut(row).enumerate() {
                    let kx = k0 + kr;
                    let nk = (px - kx) % px;
                    let (om, rest) = o.split_at_mut(ny);
                    let (og, oq) = rest.split_at_mut(ny);
                    for y in 0..ny {
                        let (a, b) = unpack(mg[kx * ny + y], mg[nk * ny + y]);
                        om[y] = a;
                        og[y] = b;
                    }
                    for c in 0..qy {
                        let (a, b) = unpack(qq[kx * qy + c], qq[nk * qy + c]);
                        oq[2 * c] = a;
                        if 2 * c + 1 < ny {
                            oq[2 * c + 1] = b;
                        }
                    }
                }
            },
        );
        let fields = &fields;
        let kernel = &kernel;
        let sums: Vec<[f64; 3]> = (k0..k0 + nb)
            .into_par_iter()
            .map_init(
                || {
                    let (a, b) = (pz * row, py * 3 * pz);
                    let z = C::default();
                    (vec![z; a], vec![z; a], vec![z; b], vec![z; b])
                },
                |(zb, zb_s, yb, yb_s), kx| {
                    // z transforms of the plane's (field, y) lines; rows
                    // z ≥ n_z are padding.
                    let kr = kx - k0;
                    for z in 0..nz {
                        let src = &fields[(z * nb + kr) * row..(z * nb + kr + 1) * row];
                        zb[z * row..(z + 1) * row].copy_from_slice(src);
                    }
                    plan_z.forward_rows_padded(zb, zb_s, row, nz);
                    // Transpose to (y; field, kz) rows, then y transforms. Tiles
                    // of 4 y (one cache line of source) keep the writes local.
                    for y0 in (0..ny).step_by(4) {
                        let y1 = (y0 + 4).min(ny);
                        for kz in 0..pz {
                            for f in 0..3 {
                                let src = &zb[kz * row + f * ny + y0..kz * row + f * ny + y1];
                                for (dy, &v) in src.iter().enumerate() {
                                    yb[(y0 + dy) * 3 * pz + f * pz + kz] = v;
                                }
                            }
                        }
                    }
                    plan_y.forward_rows_padded(yb, yb_s, 3 * pz, ny);
                    // ŵ(kx, ·, ·) on the (ky, kz) octant.
                    let kp = &kernel[kx * hy * hz..(kx + 1) * hy * hz];
                    let (mut sw, mut sm, mut sq) = (0.0, 0.0, 0.0);
                    for (ky, line) in yb.chunks_exact(3 * pz).enumerate() {
                        let kyf = ky.min(py - ky);
                        let wrow = &kp[kyf * hz..(kyf + 1) * hz];
                        let (m, rest) = line.split_at(pz);
                        let (g, q) = rest.split_at(pz);
                        for kz in 0..pz {
                            let w = wrow[kz.min(pz - kz)];
                            sw += w * m[kz].norm2();
                            sm += w * g[kz].norm2();
                            sq += w * (q[kz].re * m[kz].re + q[kz].im * m[kz].im);
                        }
                    }
                    // kx and −kx contribute alike (real fields, even ŵ).
                    let mult = if kx == 0 || 2 * kx == px { 1.0 } else { 2.0 };
                    [mult * sw, mult * sm, mult * sq]
                },
            )
            .collect();
        partial.extend(sums);
    }
    // Planes added in kx order: independent of the thread count.
    let [sw, sm, sq] = partial
        .iter()
        .fold([0.0; 3], |a, s| [a[0] + s[0], a[1] + s[1], a[2] + s[2]]);
    let t = (px * py * pz) as f64;
    (sw / t, sm / t, sq / t)
}

/// The spectra of two real fields packed as `z = a + i b`, from `z(k)` and
/// `z(−k)`: â(k) = (z(k) + z*(−k))/2, b̂(k) = (z(k) − z*(−k))/(2i).
#[inline]
fn unpack(zk: C, zmk: C) -> (C, C) {
    let b = zmk.conj();
    (
        C::new(0.5 * (zk.re + b.re), 0.5 * (zk.im + b.im)),
        C::new(0.5 * (zk.im - b.im), -0.5 * (zk.re - b.re)),
    )
}

/// ŵ on the octant kx ≤ P_x/2, ky ≤ P_y/2, kz ≤ P_z/2, layout [kx][ky][kz], of
/// the kernel w(d) = 1/|d| (mm; w(0) = 0) for offsets |d_a| < n_a on the grid
/// `p` (wrapped). w is even in each axis, so ŵ is real and even: each axis is
/// a transform of even real lines (the mirrored octant), two lines packed into
/// one complex transform whose real and imaginary parts are their spectra.
fn kernel_spectrum(n: [usize; 3], p: [usize; 3], spacing: [f64; 3]) -> Vec<f64> {
    let [nx, ny, nz] = n;
    let [px, py, pz] = p;
    let (hx, hy, hz) = (px / 2 + 1, py / 2 + 1, pz / 2 + 1);
    let w = |dx: usize, dy: usize, dz: usize| {
        if dx == 0 && dy == 0 && dz == 0 {
            return 0.0;
        }
        let (fx, fy, fz) = (
            dx as f64 * spacing[0],
            dy as f64 * spacing[1],
            dz as f64 * spacing[2],
        );
        1.0 / (fx * fx + fy * fy + fz * fz).sqrt()
    };
    // x first: lines over dx for every (dz, dy) column, column pairs packed
    // (chunks of columns in parallel), stored as [kx][column] so that each
    // kx-plane below reads contiguous memory.
    const PAIRS: usize = 256;
    let ncol = ny * nz;
    let plan_x = Plan::new(px);
    let chunks: Vec<(usize, Vec<f64>)> = (0..ncol.div_ceil(2 * PAIRS))
        .into_par_iter()
        .map(|chunk| {
            let c0 = 2 * chunk * PAIRS;
            let cols = (ncol - c0).min(2 * PAIRS);
            let pairs = cols.div_ceil(2);
            let mut buf = vec![C::default(); px * pairs];
            let mut scratch = buf.clone();
            let col_w = |col: usize, dx: usize| {
                if col < ncol {
                    w(dx, col % ny, col / ny)
                } else {
                    0.0
                }
            };
            for dx in 0..nx {
                for c in 0..pairs {
                    let v = C::new(col_w(c0 + 2 * c, dx), col_w(c0 + 2 * c + 1, dx));
                    buf[dx * pairs + c] = v;
                    if dx > 0 {
                        buf[(px - dx) * pairs + c] = v;
                    }
                }
            }
            plan_x.forward_rows(&mut buf, &mut scratch, pairs);
            // [kx][column in chunk]
            let mut out = vec![0.0; hx * cols];
            for kx in 0..hx {
                for (c, v) in buf[kx * pairs..(kx + 1) * pairs].iter().enumerate() {
                    out[kx * cols + 2 * c] = v.re;
                    if 2 * c + 1 < cols {
                        out[kx * cols + 2 * c + 1] = v.im;
                    }
                }
            }
            (c0, out)
        })
        .collect();
    let mut k1 = vec![0.0; hx * ncol];
    for (c0, part) in chunks {
        let cols = part.len() / hx;
        for kx in 0..hx {
            k1[kx * ncol + c0..kx * ncol + c0 + cols]
                .copy_from_slice(&part[kx * cols..(kx + 1) * cols]);
        }
    }
    // Then y and z within each kx-plane (buffers reused across planes).
    let (plan_y, plan_z) = (Plan::new(py), Plan::new(pz));
    let (qz, qy) = (nz.div_ceil(2), hy.div_ceil(2));
    let mut out = vec![0.0; hx * hy * hz];
    out.par_chunks_mut(hy * hz).enumerate().for_each_init(
        || {
            let z = C::default();
            (
                vec![z; py * qz],
                vec![z; pz * qy],
                vec![z; (py * qz).max(pz * qy)],
            )
        },
        |(by, bz, scratch), (kx, plane)| {
            let k1 = &k1[kx * ncol..(kx + 1) * ncol];
            // y: lines over dy for every dz, dz pairs packed; the rows
            // between the line and its mirror image are zero.
            by[ny * qz..(py + 1 - ny) * qz].fill(C::default());
            let k1_at = |dz: usize, dy: usize| if dz < nz { k1[dz * ny + dy] } else { 0.0 };
            for dy in 0..ny {
                for c in 0..qz {
                    let v = C::new(k1_at(2 * c, dy), k1_at(2 * c + 1, dy));
                    by[dy * qz + c] = v;
                    if dy > 0 {
                        by[(py - dy) * qz + c] = v;
                    }
                }
            }
            plan_y.forward_rows(by, scratch, qz);
            // z: lines over dz for every ky ≤ P_y/2, ky pairs packed.
            let k2_at = |ky: usize, dz: usize| {
                if ky < hy {
                    let v = by[ky * qz + dz / 2];
                    if dz.is_multiple_of(2) {
                        v.re
                    } else {
                        v.im
                    }
                } else {
                    0.0
                }
            };
            bz[nz * qy..(pz + 1 - nz) * qy].fill(C::default());
            for dz in 0..nz {
                for c in 0..qy {
                    let v = C::new(k2_at(2 * c, dz), k2_at(2 * c + 1, dz));
                    bz[dz * qy + c] = v;
                    if dz > 0 {
                        bz[(pz - dz) * qy + c] = v;
                    }
                }
            }
            plan_z.forward_rows(bz, scratch, qy);
            for kz in 0..hz {
                for c in 0..qy {
                    let v = bz[kz * qy + c];
                    plane[2 * c * hz + kz] = v.re;
                    if 2 * c + 1 < hy {
                        plane[(2 * c + 1) * hz + kz] = v.im;
                    }
                }
            }
        },
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fft_path_equals_direct_loop() {
        // A random blob with random intensities on an anisotropic grid.
        let mut s = 7u64;
        let mut rnd = || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (s >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut pts = Vec::new();
        let mut vals = Vec::new();
        for z in 0..5 {
            for y in 0..9 {
                for x in 0..11 {
                    if rnd() < 0.6 {
                        pts.push([x + 2, y + 1, z]);
                        vals.push((x as f64 * 0.3).sin() * 50.0 + rnd() * 20.0);
                    }
                }
            }
        }
        let sp = [0.8, 0.8, 2.5];
        let (i1, c1) = moran_geary_direct(&pts, &vals, sp);
        let (i2, c2) = moran_geary_fft(&pts, &vals, sp);
        assert!((i1 - i2).abs() < 1e-10 * i1.abs().max(1.0), "{i1} {i2}");
        assert!((c1 - c2).abs() < 1e-10, "{c1} {c2}");
        assert!(i1 > 0.0 && c1 < 1.0);
    }

    #[test]
    fn grid_entry_and_kx_blocks_agree() {
        // An irregular ROI inside a larger crop, odd and even box sizes.
        let dims = [13, 10, 6];
        let mut values = vec![0.0; 13 * 10 * 6];
        let mut mask = vec![false; values.len()];
        for z in 1..6 {
            for y in 2..9 {
                for x in 1..12 {
                    let i = x + 13 * (y + 10 * z);
                    mask[i] = (x * 7 + y * 3 + z * 5) % 4 != 0;
                    values[i] = (x as f64 * 0.7).cos() * 40.0 + (y * z) as f64;
                }
            }
        }
        let sp = [0.7, 0.9, 2.0];
        let grid = Grid {
            dims,
            values: &values,
            mask: &mask,
        };
        let (lo, n, count) = grid.mask_box().unwrap();
        let (pts, vals) = grid.points();
        assert_eq!(pts.len(), count);
        // Same result through the grid and the point entry.
        assert_eq!(
            grid_fft(&grid, lo, n, count, sp),
            moran_geary_fft(&pts, &vals, sp)
        );
        // Several blocks of kx-planes give bit-identical sums.
        let (mu, _) = grid.centre(count).unwrap();
        let all = fft_pair_sums(&grid, lo, n, mu, sp, usize::MAX);
        let one = fft_pair_sums(&grid, lo, n, mu, sp, 1);
        assert_eq!(all, one);
        let (i1, c1) = moran_geary_direct(&pts, &vals, sp);
        let (i2, c2) = grid_fft(&grid, lo, n, count, sp);
        assert!((i1 - i2).abs() < 1e-10 * i1.abs().max(1.0), "{i1} {i2}");
        assert!((c1 - c2).abs() < 1e-10, "{c1} {c2}");
    }

    #[test]
    fn sampling_approximates_the_exact_value() {
        // A smooth field on a 30×30×6 block: strong positive autocorrelation.
        let mut pts = Vec::new();
        let mut vals = Vec::new();
        for z in 0..6 {
            for y in 0..30 {
                for x in 0..30 {
                    pts.push([x, y, z]);
                    vals.push((x as f64 * 0.2).sin() * 100.0 + (y as f64 * 0.15).cos() * 50.0);
                }
            }
        }
        let sp = [1.0, 1.0, 2.0];
        let (i0, c0) = moran_geary_fft(&pts, &vals, sp);
        let (i1, c1) = moran_geary_sampled(&pts, &vals, sp);
        assert!((i0 - i1).abs() < 0.02, "{i0} vs {i1}");
        assert!((c0 - c1).abs() < 0.05, "{c0} vs {c1}");
    }

    #[test]
    fn degenerate_inputs_are_nan() {
        let (i, c) = moran_geary(&[[0, 0, 0]], &[3.0], [1.0; 3]);
        assert!(i.is_nan() && c.is_nan());
        let (i, c) = moran_geary(&[[0, 0, 0], [1, 0, 0]], &[3.0, 3.0], [1.0; 3]);
        assert!(i.is_nan() && c.is_nan());
    }

    #[test]
    fn two_voxels_are_perfectly_anticorrelated() {
        // N = 2: I = 2/(2w) · 2w·g1·g2 / (g1² + g2²) = −1; C = 1/(4w)·2w·(2g)²/(2g²) = 1.
        let (i, c) = moran_geary(&[[0, 0, 0], [0, 3, 0]], &[1.0, 5.0], [1.0; 3]);
        assert!((i + 1.0).abs() < 1e-12, "{i}");
        assert!((c - 1.0).abs() < 1e-12, "{c}");
    }
}
