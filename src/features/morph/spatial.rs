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
//! w(0) = 0. By Parseval each is Σ_k ŵ(k) · (spectrum product)(k) / N_grid, so
//! two complex 3D FFTs (two real fields packed into each) on a grid padded to
//! ≥ 2n − 1 per axis (no wrap-around) give the exact sums up to rounding.
//! Small ROIs use the direct pair loop, which also cross-checks the FFT path.
//!
//! Memory bound: the padded grid holds 8× the ROI bounding box. Above
//! [`FFT_MAX_POINTS`] grid points (very large ROIs, e.g. whole organs) the
//! exact sums would need gigabytes, so the IBSI-suggested approximation by
//! repeated subsampling is used instead ([`moran_geary_sampled`]).

use super::fft::{fft3, good_size, C};
use rayon::prelude::*;

/// Below this many voxels the direct pair loop is cheaper than the FFTs.
const DIRECT_MAX: usize = 3000;

/// Largest padded FFT grid (points) for the exact path: 2²⁴ points, about
/// 270 MB per complex array and ~800 MB at peak.
pub const FFT_MAX_POINTS: usize = 1 << 24;

/// Moran's I and Geary's C of the intensity-mask voxels `points` (crop voxel
/// indices) with intensities `values`; `spacing` in mm. `(NaN, NaN)` when
/// fewer than two voxels or all intensities are equal (both are 0/0 then).
pub fn moran_geary(points: &[[usize; 3]], values: &[f64], spacing: [f64; 3]) -> (f64, f64) {
    if points.len() <= DIRECT_MAX {
        moran_geary_direct(points, values, spacing)
    } else if fft_points(points) <= FFT_MAX_POINTS {
        moran_geary_fft(points, values, spacing)
    } else {
        moran_geary_sampled(points, values, spacing)
    }
}

/// Size of the padded FFT grid for `points`.
fn fft_points(points: &[[usize; 3]]) -> usize {
    (0..3)
        .map(|a| {
            let lo = points.iter().map(|p| p[a]).min().unwrap_or(0);
            let hi = points.iter().map(|p| p[a]).max().unwrap_or(0);
            good_size(2 * (hi - lo + 1) - 1)
        })
        .product()
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
    let Some((g, ss)) = centred(values) else {
        return (f64::NAN, f64::NAN);
    };
    // Bounding box of the points.
    let mut lo = [usize::MAX; 3];
    let mut hi = [0usize; 3];
    for p in points {
        for a in 0..3 {
            lo[a] = lo[a].min(p[a]);
            hi[a] = hi[a].max(p[a]);
        }
    }
    let n: [usize; 3] = std::array::from_fn(|a| hi[a] - lo[a] + 1);
    let dims: [usize; 3] = std::array::from_fn(|a| good_size(2 * n[a] - 1));
    let [px, py, pz] = dims;
    let total = px * py * pz;
    let idx = |x: usize, y: usize, z: usize| x + px * (y + py * z);

    // Z1 = M + iG, Z2 = Q + iK.
    let mut z1 = vec![C::default(); total];
    let mut z2 = vec![C::default(); total];
    for (p, &gi) in points.iter().zip(&g) {
        let i = idx(p[0] - lo[0], p[1] - lo[1], p[2] - lo[2]);
        z1[i] = C::new(1.0, gi);
        z2[i].re = gi * gi;
    }
    // Kernel w(d) = 1/|d| (mm) at offsets |d_a| < n_a, stored with wrap-around:
    // evaluated on one octant and mirrored (w is even in each axis).
    let wrap = |d: usize, p: usize, neg: bool| if neg { p - d } else { d };
    z2.par_chunks_mut(px * py)
        .enumerate()
        .for_each(|(z, plane)| {
            let dz = signed(z, pz);
            if dz.unsigned_abs() >= n[2] {
                return;
            }
            let fz = dz as f64 * spacing[2];
            for dy in 0..n[1] {
                let fy = dy as f64 * spacing[1];
                for dx in 0..n[0] {
                    if dx == 0 && dy == 0 && dz == 0 {
                        continue;
                    }
                    let fx = dx as f64 * spacing[0];
                    let w = 1.0 / (fx * fx + fy * fy + fz * fz).sqrt();
                    for neg_y in [false, dy > 0] {
                        for neg_x in [false, dx > 0] {
                            let i = wrap(dx, px, neg_x) + px * wrap(dy, py, neg_y);
                            plane[i].im = w;
                        }
                    }
                }
            }
        });
    let f1 = fft3(z1, dims, n);
    let f2 = fft3(z2, dims, dims);

    // Spectra are x-fastest like the grid.
    let (sw, sm, sq) = (0..pz)
        .into_par_iter()
        .map(|kz| {
            let (mut sw, mut sm, mut sq) = (0.0, 0.0, 0.0);
            let nkz = (pz - kz) % pz;
            for ky in 0..py {
                let nky = (py - ky) % py;
                for kx in 0..px {
                    let nkx = (px - kx) % px;
                    let i = idx(kx, ky, kz);
                    let j = idx(nkx, nky, nkz);
                    let (a, b) = (f1[i], f1[j].conj());
                    // Unpack two real fields: Â = (Z + Z*(−k))/2, B̂ = (Z − Z*(−k))/(2i).
                    let m = C::new(0.5 * (a.re + b.re), 0.5 * (a.im + b.im));
                    let gg = C::new(0.5 * (a.im - b.im), -0.5 * (a.re - b.re));
                    let (c, d) = (f2[i], f2[j].conj());
                    let q = C::new(0.5 * (c.re + d.re), 0.5 * (c.im + d.im));
                    // ŵ is real because w is even.
                    let w = 0.5 * (c.im - d.im);
                    sw += w * m.norm2();
                    sm += w * gg.norm2();
                    sq += w * q.times(m.conj()).re;
                }
            }
            (sw, sm, sq)
        })
        // Collect then add in index order: the result must not depend on
        // how rayon splits the work (thread count), so reruns are bit-identical.
        .collect::<Vec<_>>()
        .into_iter()
        .fold((0.0, 0.0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1, a.2 + b.2));
    let t = total as f64;
    let (sw, sm, sq) = (sw / t, sm / t, sq / t);
    finish(points.len(), sw, sm, 2.0 * sq - 2.0 * sm, ss)
}

/// Signed offset of a wrapped index `i` on a circular axis of length `p`.
#[inline]
fn signed(i: usize, p: usize) -> isize {
    if i <= p / 2 {
        i as isize
    } else {
        i as isize - p as isize
    }
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
