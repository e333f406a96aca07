//! ITK's recursive Gaussian filters and its Laplacian of Gaussian
//! (`LaplacianRecursiveGaussianImageFilter`), as PyRadiomics' `LoG` image
//! type calls it through SimpleITK (σ in mm, normalised across scale).
//!
//! **One line** (ITK `RecursiveSeparableImageFilter`): a fourth-order causal
//! plus anti-causal recursion (Deriche), with the coefficients of Farnebäck
//! and Westin's "Improving Deriche-style recursive Gaussian filters" (2006):
//!
//! ```text
//! y⁺[i] = N0·x[i] + N1·x[i−1] + N2·x[i−2] + N3·x[i−3] − (D1·y⁺[i−1] + … + D4·y⁺[i−4])
//! y⁻[i] = M1·x[i+1] + … + M4·x[i+4]                  − (D1·y⁻[i+1] + … + D4·y⁻[i+4])
//! y = y⁺ + y⁻
//! ```
//!
//! Samples beyond either end take the end's value (the `BN`/`BM` boundary
//! coefficients). Coefficients follow from σ_d = σ / spacing; the order-0
//! filter is normalised to unit gain, the order-2 one to the second
//! derivative's gain, multiplied by σ² (normalisation across scale).
//!
//! **Laplacian** (3D): for each axis `d`, the order-2 filter along `d`, then
//! the order-0 filter along the other two axes in ascending order; each pass
//! computes in f64 and stores f32 (ITK's float internal images). The three
//! results are accumulated in f32 as `acc + r · (1 / spacing_d²)`.
//!
//! Every value depends on the whole line, but the weight of a sample decays
//! like `exp(−1.37 n / σ_d)` with its distance `n`: filtering a block that
//! extends [`margin`] voxels past the ROI gives the whole image's values
//! there to well below f32 precision.

use crate::volume::Volume;

/// The coefficients of one recursive line filter (ITK's names).
#[derive(Debug, Clone, Copy)]
struct Coefficients {
    n: [f64; 4],
    d: [f64; 4],
    m: [f64; 4],
    bn: [f64; 4],
    bm: [f64; 4],
}

/// Farnebäck–Westin parameters (ITK `RecursiveGaussianImageFilter::SetUp`).
const A1: [f64; 3] = [1.3530, -0.6724, -1.3563];
const B1: [f64; 3] = [1.8151, -3.4327, 5.2318];
const W1: f64 = 0.6681;
const L1: f64 = -1.3932;
const A2: [f64; 3] = [-0.3531, 0.6724, 0.3446];
const B2: [f64; 3] = [0.0902, 0.6100, -2.2355];
const W2: f64 = 2.0787;
const L2: f64 = -1.3732;

/// The numerator coefficients and their sums `(N, SN, DN, EN)`.
fn n_coefficients(sd: f64, a1: f64, b1: f64, a2: f64, b2: f64) -> ([f64; 4], f64, f64, f64) {
    let (sin1, sin2) = ((W1 / sd).sin(), (W2 / sd).sin());
    let (cos1, cos2) = ((W1 / sd).cos(), (W2 / sd).cos());
    let (exp1, exp2) = ((L1 / sd).exp(), (L2 / sd).exp());
    let n0 = a1 + a2;
    let mut n1 = exp2 * (b2 * sin2 - (a2 + 2.0 * a1) * cos2);
    n1 += exp1 * (b1 * sin1 - (a1 + 2.0 * a2) * cos1);
    let mut n2 = (a1 + a2) * cos2 * cos1;
    n2 -= b1 * cos2 * sin1 + b2 * cos1 * sin2;
    n2 *= 2.0 * exp1 * exp2;
    n2 += a2 * exp1 * exp1 + a1 * exp2 * exp2;
    let mut n3 = exp2 * exp1 * exp1 * (b2 * sin2 - a2 * cos2);
    n3 += exp1 * exp2 * exp2 * (b1 * sin1 - a1 * cos1);
    let sn = n0 + n1 + n2 + n3;
    let dn = n1 + 2.0 * n2 + 3.0 * n3;
    let en = n1 + 4.0 * n2 + 9.0 * n3;
    ([n0, n1, n2, n3], sn, dn, en)
}

/// The denominator coefficients and their sums `(D, SD, DD, ED)`.
fn d_coefficients(sd: f64) -> ([f64; 4], f64, f64, f64) {
    let (cos1, cos2) = ((W1 / sd).cos(), (W2 / sd).cos());
    let (exp1, exp2) = ((L1 / sd).exp(), (L2 / sd).exp());
    let d4 = exp1 * exp1 * exp2 * exp2;
    let mut d3 = -2.0 * cos1 * exp1 * exp2 * exp2;
    d3 += -2.0 * cos2 * exp2 * exp1 * exp1;
    let mut d2 = 4.0 * cos2 * cos1 * exp1 * exp2;
    d2 += exp1 * exp1 + exp2 * exp2;
    let d1 = -2.0 * (exp2 * cos2 + exp1 * cos1);
    let s = 1.0 + d1 + d2 + d3 + d4;
    let dd = d1 + 2.0 * d2 + 3.0 * d3 + 4.0 * d4;
    let ed = d1 + 4.0 * d2 + 9.0 * d3 + 16.0 * d4;
    ([d1, d2, d3, d4], s, dd, ed)
}

impl Coefficients {
    /// Order 0 (smoothing) or 2 (second derivative, normalised across scale)
    /// for σ in mm along an axis of the given spacing.
    fn new(sigma: f64, spacing: f64, second: bool) -> Coefficients {
        let sd = sigma / spacing.abs();
        let (d, s_d, dd, ed) = d_coefficients(sd);
        let mut n = if second {
            let (n0, sn0, dn0, en0) = n_coefficients(sd, A1[0], B1[0], A2[0], B2[0]);
            let (n2, sn2, dn2, en2) = n_coefficients(sd, A1[2], B1[2], A2[2], B2[2]);
            let beta = -(2.0 * sn2 - s_d * n2[0]) / (2.0 * sn0 - s_d * n0[0]);
            let n: [f64; 4] = std::array::from_fn(|k| n2[k] + beta * n0[k]);
            let sn = sn2 + beta * sn0;
            let dn = dn2 + beta * dn0;
            let en = en2 + beta * en0;
            let mut alpha2 =
                en * s_d * s_d - ed * sn * s_d - 2.0 * dn * dd * s_d + 2.0 * dd * dd * sn;
            alpha2 /= s_d * s_d * s_d;
            let scale = sigma * sigma;
            n.map(|v| v * (scale / alpha2))
        } else {
            let (n, sn, _, _) = n_coefficients(sd, A1[0], B1[0], A2[0], B2[0]);
            let alpha0 = 2.0 * sn / s_d - n[0];
            n.map(|v| v * (1.0 / alpha0))
        };
        // Both orders are symmetric filters.
        let m = [
            n[1] - d[0] * n[0],
            n[2] - d[1] * n[0],
            n[3] - d[2] * n[0],
            -d[3] * n[0],
        ];
        n = [n[0], n[1], n[2], n[3]];
        let sn = n[0] + n[1] + n[2] + n[3];
        let sm = m[0] + m[1] + m[2] + m[3];
        let sdd = 1.0 + d[0] + d[1] + d[2] + d[3];
        let bn = d.map(|v| v * sn / sdd);
        let bm = d.map(|v| v * sm / sdd);
        Coefficients { n, d, m, bn, bm }
    }
}

/// `a1·b1 + a2·b2 + a3·b3 + a4·b4`, left to right (ITK's `MathEMAMAMAM`).
#[cfg(test)]
fn ema(a: [f64; 4], b: [f64; 4]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2] + a[3] * b[3]
}

/// Filter one line `x` (length ≥ 4) into `out`; `scratch` has the same
/// length. ITK's loop, one line at a time: [`filter_lanes`] must agree with
/// it bit for bit.
#[cfg(test)]
fn filter_line(c: &Coefficients, x: &[f64], out: &mut [f64], scratch: &mut [f64]) {
    let ln = x.len();
    let v1 = x[0];
    let (n, d) = (c.n, c.d);
    out[0] = ema([v1, v1, v1, v1], n);
    out[1] = ema([x[1], v1, v1, v1], n);
    out[2] = ema([x[2], x[1], v1, v1], n);
    out[3] = ema([x[3], x[2], x[1], v1], n);
    out[0] -= ema([v1, v1, v1, v1], c.bn);
    out[1] -= ema([out[0], v1, v1, v1], [d[0], c.bn[1], c.bn[2], c.bn[3]]);
    out[2] -= ema([out[1], out[0], v1, v1], [d[0], d[1], c.bn[2], c.bn[3]]);
    out[3] -= ema([out[2], out[1], out[0], v1], [d[0], d[1], d[2], c.bn[3]]);
    for i in 4..ln {
        out[i] = ema([x[i], x[i - 1], x[i - 2], x[i - 3]], n);
        out[i] -= ema([out[i - 1], out[i - 2], out[i - 3], out[i - 4]], d);
    }
    let v2 = x[ln - 1];
    let m = c.m;
    let s = scratch;
    s[ln - 1] = ema([v2, v2, v2, v2], m);
    s[ln - 2] = ema([x[ln - 1], v2, v2, v2], m);
    s[ln - 3] = ema([x[ln - 2], x[ln - 1], v2, v2], m);
    s[ln - 4] = ema([x[ln - 3], x[ln - 2], x[ln - 1], v2], m);
    s[ln - 1] -= ema([v2, v2, v2, v2], c.bm);
    s[ln - 2] -= ema([s[ln - 1], v2, v2, v2], [d[0], c.bm[1], c.bm[2], c.bm[3]]);
    s[ln - 3] -= ema(
        [s[ln - 2], s[ln - 1], v2, v2],
        [d[0], d[1], c.bm[2], c.bm[3]],
    );
    s[ln - 4] -= ema(
        [s[ln - 3], s[ln - 2], s[ln - 1], v2],
        [d[0], d[1], d[2], c.bm[3]],
    );
    for i in (1..=ln - 4).rev() {
        s[i - 1] = ema([x[i], x[i + 1], x[i + 2], x[i + 3]], m);
        s[i - 1] -= ema([s[i], s[i + 1], s[i + 2], s[i + 3]], d);
    }
    for (o, &v) in out.iter_mut().zip(s.iter()) {
        *o += v;
    }
}

/// Lines filtered together: independent recursions run in lockstep, one
/// line per lane, so that the dependency chain of one line no longer sets
/// the pace. Every lane performs exactly the operations of one line, in
/// ITK's order.
const LANES: usize = 16;

/// One sample of [`LANES`] lines.
type Lanes = [f64; LANES];

/// `a1·b1 + a2·b2 + a3·b3 + a4·b4` per lane, left to right, as [`ema`].
#[inline(always)]
fn ema_lanes(a: [&Lanes; 4], b: [f64; 4]) -> Lanes {
    std::array::from_fn(|l| a[0][l] * b[0] + a[1][l] * b[1] + a[2][l] * b[2] + a[3][l] * b[3])
}

/// One line filter (ITK's loop: the causal and anti-causal recursions with
/// their boundary starts, see the module doc) on [`LANES`] lines at once
/// (`x[k][lane]`, length ≥ 4) into `out`; `s` is scratch of the same length.
#[inline(always)]
fn filter_lanes(c: &Coefficients, x: &[Lanes], out: &mut [Lanes], s: &mut [Lanes]) {
    let ln = x.len();
    let (n, d, m) = (c.n, c.d, c.m);
    let v1 = x[0];
    let sub = |a: Lanes, b: Lanes| -> Lanes { std::array::from_fn(|l| a[l] - b[l]) };
    out[0] = sub(ema_lanes([&v1; 4], n), ema_lanes([&v1; 4], c.bn));
    let o0 = out[0];
    out[1] = sub(
        ema_lanes([&x[1], &v1, &v1, &v1], n),
        ema_lanes([&o0, &v1, &v1, &v1], [d[0], c.bn[1], c.bn[2], c.bn[3]]),
    );
    let o1 = out[1];
    out[2] = sub(
        ema_lanes([&x[2], &x[1], &v1, &v1], n),
        ema_lanes([&o1, &o0, &v1, &v1], [d[0], d[1], c.bn[2], c.bn[3]]),
    );
    let o2 = out[2];
    out[3] = sub(
        ema_lanes([&x[3], &x[2], &x[1], &v1], n),
        ema_lanes([&o2, &o1, &o0, &v1], [d[0], d[1], d[2], c.bn[3]]),
    );
    for i in 4..ln {
        let r = sub(
            ema_lanes([&x[i], &x[i - 1], &x[i - 2], &x[i - 3]], n),
            ema_lanes([&out[i - 1], &out[i - 2], &out[i - 3], &out[i - 4]], d),
        );
        out[i] = r;
    }
    let v2 = x[ln - 1];
    s[ln - 1] = sub(ema_lanes([&v2; 4], m), ema_lanes([&v2; 4], c.bm));
    let s1 = s[ln - 1];
    s[ln - 2] = sub(
        ema_lanes([&x[ln - 1], &v2, &v2, &v2], m),
        ema_lanes([&s1, &v2, &v2, &v2], [d[0], c.bm[1], c.bm[2], c.bm[3]]),
    );
    let s2 = s[ln - 2];
    s[ln - 3] = sub(
        ema_lanes([&x[ln - 2], &x[ln - 1], &v2, &v2], m),
        ema_lanes([&s2, &s1, &v2, &v2], [d[0], d[1], c.bm[2], c.bm[3]]),
    );
    let s3 = s[ln - 3];
    s[ln - 4] = sub(
        ema_lanes([&x[ln - 3], &x[ln - 2], &x[ln - 1], &v2], m),
        ema_lanes([&s3, &s2, &s1, &v2], [d[0], d[1], d[2], c.bm[3]]),
    );
    for i in (1..=ln - 4).rev() {
        let r = sub(
            ema_lanes([&x[i], &x[i + 1], &x[i + 2], &x[i + 3]], m),
            ema_lanes([&s[i], &s[i + 1], &s[i + 2], &s[i + 3]], d),
        );
        s[i - 1] = r;
    }
    for (o, v) in out.iter_mut().zip(s.iter()) {
        for l in 0..LANES {
            o[l] += v[l];
        }
    }
}

/// The lines of one [`filter_axis`] call: along `axis` of a block of
/// `dims`, at the coordinates `lo[b]..=hi[b]` of the two other axes `b`.
#[derive(Debug, Clone, Copy)]
struct LineSet {
    dims: [usize; 3],
    axis: usize,
    lo: [usize; 3],
    hi: [usize; 3],
}

/// Filter the lines of `set` of `src` (x fastest) into the same voxels of
/// `dst`, f64 inside, f32 stored, [`LANES`] lines at a time.
fn filter_axis(src: &[f32], dst: &mut [f32], set: LineSet, c: &Coefficients) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU supports AVX-512F (checked just above).
            return unsafe { filter_axis_avx512(src, dst, set, c) };
        }
        if std::arch::is_x86_feature_detected!("avx") {
            // SAFETY: the CPU supports AVX (checked just above).
            return unsafe { filter_axis_avx(src, dst, set, c) };
        }
    }
    filter_axis_portable(src, dst, set, c)
}

/// [`filter_axis`] compiled for AVX-512 (eight lanes per instruction), the
/// same operations in the same order as the portable build.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn filter_axis_avx512(src: &[f32], dst: &mut [f32], set: LineSet, c: &Coefficients) {
    filter_axis_portable(src, dst, set, c)
}

/// [`filter_axis`] compiled for AVX (four lanes per instruction). The
/// operations and their order are the portable build's (no fused
/// multiply-add): the values are bit-identical.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
unsafe fn filter_axis_avx(src: &[f32], dst: &mut [f32], set: LineSet, c: &Coefficients) {
    filter_axis_portable(src, dst, set, c)
}

#[inline(always)]
fn filter_axis_portable(src: &[f32], dst: &mut [f32], set: LineSet, c: &Coefficients) {
    let LineSet { dims, axis, lo, hi } = set;
    let strides = [1, dims[0], dims[0] * dims[1]];
    let ln = dims[axis];
    // Lanes run along x (contiguous) unless the lines do; the third axis
    // is the outer loop.
    let lane_axis = if axis == 0 { 1 } else { 0 };
    let outer = 3 - axis - lane_axis;
    let (step, lane_step) = (strides[axis], strides[lane_axis]);
    let mut x = vec![[0.0; LANES]; ln];
    let mut y = vec![[0.0; LANES]; ln];
    let mut s = vec![[0.0; LANES]; ln];
    for o in lo[outer]..=hi[outer] {
        let mut first = lo[lane_axis];
        while first <= hi[lane_axis] {
            let count = (hi[lane_axis] + 1 - first).min(LANES);
            let start = o * strides[outer] + first * lane_step;
            for (k, xk) in x.iter_mut().enumerate() {
                let at = start + k * step;
                for (l, v) in xk.iter_mut().enumerate() {
                    // Unused lanes repeat the first line (finite work, never stored).
                    let l = if l < count { l } else { 0 };
                    *v = f64::from(src[at + l * lane_step]);
                }
            }
            filter_lanes(c, &x, &mut y, &mut s);
            for (k, yk) in y.iter().enumerate() {
                let at = start + k * step;
                for (l, &v) in yk.iter().enumerate().take(count) {
                    dst[at + l * lane_step] = v as f32;
                }
            }
            first += count;
        }
    }
}

/// Voxels per axis past the ROI that [`laplacian`] needs for the whole
/// image's values inside it (below f32 precision; see the module doc).
pub fn margin(sigma: f64, spacing: [f64; 3]) -> [usize; 3] {
    spacing.map(|s| (20.0 * sigma / s.abs()).ceil() as usize + 4)
}

/// ITK's `LaplacianRecursiveGaussianImageFilter` (normalised across scale)
/// of `image`, σ in mm. Every axis must have at least 4 voxels.
pub fn laplacian(image: &Volume<f32>, sigma: f64) -> Volume<f32> {
    let data = Laplacian::default()
        .of_box(image, sigma, [0; 3], image.geometry.last())
        .to_vec();
    Volume {
        geometry: image.geometry.clone(),
        data,
    }
}

/// Buffers for [`Laplacian::of_box`], kept from one σ to the next: fresh
/// memory costs the kernel's zeroing, reused memory does not.
#[derive(Debug, Default)]
pub struct Laplacian {
    first: Vec<f32>,
    second: Vec<f32>,
    sum: Vec<f32>,
}

impl Laplacian {
    /// The values of [`laplacian`]`(image, sigma)` over the box `lo..=hi`
    /// (x fastest), computing only what they need: the first pass of each
    /// axis on every line, the second on the lines through the box's range
    /// of the first axis, the third on those through the box's range of
    /// both.
    pub fn of_box(
        &mut self,
        image: &Volume<f32>,
        sigma: f64,
        lo: [usize; 3],
        hi: [usize; 3],
    ) -> &[f32] {
        let dims = image.geometry.dims;
        let spacing = image.geometry.spacing;
        let last = image.geometry.last();
        let bd: [usize; 3] = std::array::from_fn(|a| hi[a] - lo[a] + 1);
        // Every value read is written first: old contents do not matter.
        let n = image.data.len();
        for buf in [&mut self.first, &mut self.second] {
            if buf.len() < n {
                buf.resize(n, 0.0);
            }
        }
        self.sum.clear();
        self.sum.resize(bd.iter().product(), 0.0);
        let (a_buf, b_buf, acc) = (&mut self.first[..n], &mut self.second[..n], &mut self.sum);
        for d in 0..3 {
            let [p2, p3] = match d {
                0 => [1, 2],
                1 => [0, 2],
                _ => [0, 1],
            };
            let whole = LineSet {
                dims,
                axis: d,
                lo: [0; 3],
                hi: last,
            };
            filter_axis(
                &image.data,
                a_buf,
                whole,
                &Coefficients::new(sigma, spacing[d], true),
            );
            let mut second = LineSet { axis: p2, ..whole };
            (second.lo[d], second.hi[d]) = (lo[d], hi[d]);
            filter_axis(
                a_buf,
                b_buf,
                second,
                &Coefficients::new(sigma, spacing[p2], false),
            );
            let mut third = LineSet { axis: p3, ..second };
            (third.lo[p2], third.hi[p2]) = (lo[p2], hi[p2]);
            filter_axis(
                b_buf,
                a_buf,
                third,
                &Coefficients::new(sigma, spacing[p3], false),
            );
            let inv = 1.0 / (spacing[d] * spacing[d]);
            let mut k = 0;
            for z in lo[2]..=hi[2] {
                for y in lo[1]..=hi[1] {
                    let row = image.geometry.index(lo[0], y, z);
                    for &v in &a_buf[row..row + bd[0]] {
                        acc[k] = (f64::from(acc[k]) + f64::from(v) * inv) as f32;
                        k += 1;
                    }
                }
            }
        }
        &self.sum
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smoothing_keeps_a_constant_and_the_derivative_kills_it() {
        let c0 = Coefficients::new(2.0, 0.8, false);
        let c2 = Coefficients::new(2.0, 0.8, true);
        let x = vec![7.0; 30];
        let (mut y, mut s) = (vec![0.0; 30], vec![0.0; 30]);
        filter_line(&c0, &x, &mut y, &mut s);
        assert!(y.iter().all(|v| (v - 7.0).abs() < 1e-9), "{y:?}");
        filter_line(&c2, &x, &mut y, &mut s);
        assert!(y.iter().all(|v| v.abs() < 1e-9), "{y:?}");
    }

    #[test]
    fn lanes_are_the_one_line_filter_bit_for_bit() {
        // Different data per lane, both orders, short and long lines.
        let mut seed = 12345u64;
        let mut next = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 11) as f64 / (1u64 << 53) as f64 * 2000.0 - 1000.0
        };
        for (ln, sigma, spacing, second) in [
            (4, 1.0, 0.7, true),
            (9, 3.0, 3.27, false),
            (57, 5.0, 0.98, true),
        ] {
            let c = Coefficients::new(sigma, spacing, second);
            let x: Vec<Lanes> = (0..ln).map(|_| std::array::from_fn(|_| next())).collect();
            let (mut y, mut s) = (vec![[0.0; LANES]; ln], vec![[0.0; LANES]; ln]);
            filter_lanes(&c, &x, &mut y, &mut s);
            for l in 0..LANES {
                let line: Vec<f64> = x.iter().map(|v| v[l]).collect();
                let (mut one, mut sc) = (vec![0.0; ln], vec![0.0; ln]);
                filter_line(&c, &line, &mut one, &mut sc);
                for k in 0..ln {
                    assert_eq!(
                        one[k].to_bits(),
                        y[k][l].to_bits(),
                        "line {ln}, lane {l}, sample {k}"
                    );
                }
            }
        }
    }

    #[test]
    fn the_box_is_the_whole_filter_cropped() {
        use crate::volume::Geometry;
        let dims = [23, 19, 11];
        let mut seed = 99u64;
        let data: Vec<f32> = (0..dims.iter().product::<usize>())
            .map(|_| {
                seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
                ((seed >> 40) as f32) / 16.0 - 500.0
            })
            .collect();
        let image = Volume {
            geometry: Geometry {
                dims,
                spacing: [0.8, 0.9, 2.5],
                origin: [0.0; 3],
                direction: [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
            },
            data,
        };
        let whole = laplacian(&image, 2.0);
        let (lo, hi) = ([3, 17, 2], [20, 18, 9]);
        let mut l = Laplacian::default();
        // Twice: the second run reuses the first's buffers.
        l.of_box(&image, 1.0, [0; 3], [20, 18, 10]);
        let part = l.of_box(&image, 2.0, lo, hi);
        let expected: Vec<u32> = whole
            .crop(lo, hi)
            .data
            .iter()
            .map(|v| v.to_bits())
            .collect();
        assert_eq!(
            part.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
            expected
        );
    }

    #[test]
    fn second_derivative_of_a_parabola_is_sigma_squared_times_two() {
        // Away from the ends, d²/di² of i² is 2 (per voxel²), times σ² (mm²)
        // for the normalisation across scale.
        let c2 = Coefficients::new(1.5, 1.0, true);
        let x: Vec<f64> = (0..200).map(|i| ((i as f64) - 100.0).powi(2)).collect();
        let (mut y, mut s) = (vec![0.0; 200], vec![0.0; 200]);
        filter_line(&c2, &x, &mut y, &mut s);
        assert!((y[100] - 2.0 * 1.5 * 1.5).abs() < 1e-3, "{}", y[100]);
    }
}
