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
#[inline(always)]
fn ema(a: [f64; 4], b: [f64; 4]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2] + a[3] * b[3]
}

/// Filter one line `x` (length ≥ 4) into `out`; `scratch` has the same length.
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

/// Filter every line of `data` (x-fastest, `dims`) along `axis`, f64
/// inside, f32 stored.
fn filter_axis(data: &[f32], dims: [usize; 3], axis: usize, c: &Coefficients) -> Vec<f32> {
    let ln = dims[axis];
    let stride = [1, dims[0], dims[0] * dims[1]][axis];
    let mut out = vec![0.0f32; data.len()];
    let (mut x, mut y, mut s) = (vec![0.0; ln], vec![0.0; ln], vec![0.0; ln]);
    for start in super::boundary::line_starts(dims, axis) {
        for (k, v) in x.iter_mut().enumerate() {
            *v = f64::from(data[start + k * stride]);
        }
        filter_line(c, &x, &mut y, &mut s);
        for (k, &v) in y.iter().enumerate() {
            out[start + k * stride] = v as f32;
        }
    }
    out
}

/// Voxels per axis past the ROI that [`laplacian`] needs for the whole
/// image's values inside it (below f32 precision; see the module doc).
pub fn margin(sigma: f64, spacing: [f64; 3]) -> [usize; 3] {
    spacing.map(|s| (20.0 * sigma / s.abs()).ceil() as usize + 4)
}

/// ITK's `LaplacianRecursiveGaussianImageFilter` (normalised across scale)
/// of `image`, σ in mm. Every axis must have at least 4 voxels.
pub fn laplacian(image: &Volume<f32>, sigma: f64) -> Volume<f32> {
    let dims = image.geometry.dims;
    let spacing = image.geometry.spacing;
    let mut acc = vec![0.0f32; image.data.len()];
    for d in 0..3 {
        let mut r = filter_axis(
            &image.data,
            dims,
            d,
            &Coefficients::new(sigma, spacing[d], true),
        );
        for a in (0..3).filter(|&a| a != d) {
            r = filter_axis(&r, dims, a, &Coefficients::new(sigma, spacing[a], false));
        }
        let inv = 1.0 / (spacing[d] * spacing[d]);
        for (a, &v) in acc.iter_mut().zip(&r) {
            *a = (f64::from(*a) + f64::from(v) * inv) as f32;
        }
    }
    Volume {
        geometry: image.geometry.clone(),
        data: acc,
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
