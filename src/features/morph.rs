//! Morphological features (IBSI family HCUG, tags `morph_*`).
//!
//! Shape comes from the *morphological* mask: a marching-cubes mesh of the
//! zero-padded mask at iso-level 0.5 in mm ([`mesh`]), its convex hull
//! ([`hull`]) and PCA of the voxel centres. Intensity features
//! (`integ_int`, `com`, `moran_i`, `geary_c`) use the *intensity* mask.
//!
//! Not computed (NaN): the OMBB and MVEE densities, which IBSI does not
//! standardise (no reference value).

pub mod fft;
pub mod hull;
pub mod mesh;
pub mod spatial;

use super::Features;
use crate::roi::Roi;
use crate::volume::cross;
use std::f64::consts::PI;

/// Number of Legendre terms in the ellipsoid-area series (IBSI: stop at ν = 20).
const AEE_SERIES_TERMS: usize = 20;

/// Geometry shared by the mesh-based features.
struct Shape {
    volume: f64,
    area: f64,
    /// Convex hull volume and area (NaN when the hull is degenerate).
    hull_volume: f64,
    hull_area: f64,
    diameter: f64,
    /// Axis-aligned bounding box extents of the mesh vertices (mm).
    aabb: [f64; 3],
}

/// Morphological features (`morph_*`): shape from the morphological mask,
/// intensities from the intensity mask.
pub fn compute(roi: &Roi) -> Features {
    let names = [
        "morph_volume",
        "morph_vol_approx",
        "morph_area_mesh",
        "morph_av",
        "morph_comp_1",
        "morph_comp_2",
        "morph_sph_dispr",
        "morph_sphericity",
        "morph_asphericity",
        "morph_com",
        "morph_diam",
        "morph_pca_maj_axis",
        "morph_pca_min_axis",
        "morph_pca_least_axis",
        "morph_pca_elongation",
        "morph_pca_flatness",
        "morph_vol_dens_aabb",
        "morph_area_dens_aabb",
        "morph_vol_dens_ombb",
        "morph_area_dens_ombb",
        "morph_vol_dens_aee",
        "morph_area_dens_aee",
        "morph_vol_dens_mvee",
        "morph_area_dens_mvee",
        "morph_vol_dens_conv_hull",
        "morph_area_dens_conv_hull",
        "morph_integ_int",
        "morph_moran_i",
        "morph_geary_c",
    ];
    let n_morph = roi.morph.iter().filter(|&&m| m).count();
    if n_morph == 0 {
        return names.iter().map(|n| (n.to_string(), f64::NAN)).collect();
    }
    let s = shape(roi);
    let (v, a) = (s.volume, s.area);
    // PCA eigenvalues, largest first.
    let lambda = pca_eigenvalues(roi);
    let [l_maj, l_min, l_least] = lambda;
    let semi = [2.0 * l_maj.sqrt(), 2.0 * l_min.sqrt(), 2.0 * l_least.sqrt()];
    let aabb_vol = s.aabb[0] * s.aabb[1] * s.aabb[2];
    let aabb_area = 2.0 * (s.aabb[0] * s.aabb[1] + s.aabb[0] * s.aabb[2] + s.aabb[1] * s.aabb[2]);

    let (mean_int, n_int) = intensity_mean(roi);
    let (moran, geary) = moran_geary(roi);

    let values = [
        v,
        vol_approx(n_morph, roi.spacing),
        a,
        a / v,
        comp_1(v, a),
        comp_2(v, a),
        sph_dispr(v, a),
        sphericity(v, a),
        asphericity(v, a),
        centre_of_mass_shift(roi),
        s.diameter,
        4.0 * l_maj.sqrt(),
        4.0 * l_min.sqrt(),
        4.0 * l_least.sqrt(),
        (l_min / l_maj).sqrt(),
        (l_least / l_maj).sqrt(),
        v / aabb_vol,
        a / aabb_area,
        f64::NAN,
        f64::NAN,
        density(v, 4.0 * PI * semi[0] * semi[1] * semi[2] / 3.0),
        density(a, ellipsoid_area(semi[0], semi[1], semi[2])),
        f64::NAN,
        f64::NAN,
        density(v, s.hull_volume),
        density(a, s.hull_area),
        if n_int > 0 { mean_int * v } else { f64::NAN },
        moran,
        geary,
    ];
    names
        .iter()
        .zip(values)
        .map(|(n, v)| (n.to_string(), v))
        .collect()
}

/// `x / reference` for the density features; NaN when the reference body is
/// degenerate (zero volume or area: e.g. the enclosing ellipsoid of a
/// single-slice or one-voxel ROI has a zero semi-axis), where IBSI defines no value.
fn density(x: f64, reference: f64) -> f64 {
    if reference > 0.0 && reference.is_finite() {
        x / reference
    } else {
        f64::NAN
    }
}

/// Mesh volume/area (RNU0, C0JK), convex hull volume/area, maximum 3D
/// diameter (L0JK) and the AABB of the mesh vertices.
fn shape(roi: &Roi) -> Shape {
    let table = mesh::Table::default_table();
    let m = mesh::measure(&roi.morph, roi.dims, roi.spacing, table);
    let cand = mesh::hull_candidates(&roi.morph, roi.dims);
    let half = [
        roi.spacing[0] / 2.0,
        roi.spacing[1] / 2.0,
        roi.spacing[2] / 2.0,
    ];
    let world = |p: [i64; 3]| {
        [
            p[0] as f64 * half[0],
            p[1] as f64 * half[1],
            p[2] as f64 * half[2],
        ]
    };

    let mut lo = [i64::MAX; 3];
    let mut hi = [i64::MIN; 3];
    for p in &cand {
        for a in 0..3 {
            lo[a] = lo[a].min(p[a]);
            hi[a] = hi[a].max(p[a]);
        }
    }
    let aabb = std::array::from_fn(|a| (hi[a] - lo[a]) as f64 * half[a]);

    let (hull_volume, hull_area, diameter) = match hull::convex_hull(&cand) {
        Some(tris) => {
            let (mut v6, mut a2) = (0.0, 0.0);
            let mut used = vec![false; cand.len()];
            for t in &tris {
                let [a, b, c] = t.map(|i| world(cand[i as usize]));
                v6 += dot(a, cross(b, c));
                a2 += norm(cross(sub(b, a), sub(c, a)));
                for &i in t {
                    used[i as usize] = true;
                }
            }
            let verts: Vec<[f64; 3]> = cand
                .iter()
                .zip(&used)
                .filter(|(_, &u)| u)
                .map(|(&p, _)| world(p))
                .collect();
            (v6.abs() / 6.0, a2 / 2.0, max_distance(&verts))
        }
        None => {
            let verts: Vec<[f64; 3]> = cand.iter().map(|&p| world(p)).collect();
            (f64::NAN, f64::NAN, max_distance(&verts))
        }
    };
    Shape {
        volume: m.volume,
        area: m.area,
        hull_volume,
        hull_area,
        diameter,
        aabb,
    }
}

/// Largest pairwise distance (all pairs; callers pass hull vertices).
fn max_distance(pts: &[[f64; 3]]) -> f64 {
    use rayon::prelude::*;
    (0..pts.len())
        .into_par_iter()
        .map(|i| {
            let mut best = 0.0f64;
            for q in &pts[i + 1..] {
                let d = sub(pts[i], *q);
                best = best.max(dot(d, d));
            }
            best
        })
        .reduce(|| 0.0, f64::max)
        .sqrt()
}

/// Volume (voxel counting), YEKZ: N_v · voxel volume.
fn vol_approx(n: usize, spacing: [f64; 3]) -> f64 {
    n as f64 * spacing[0] * spacing[1] * spacing[2]
}

/// Compactness 1, SKGS: V / (π^{1/2} A^{3/2}).
fn comp_1(v: f64, a: f64) -> f64 {
    v / (PI.sqrt() * a.powf(1.5))
}

/// Compactness 2, BQWJ: 36π V² / A³.
fn comp_2(v: f64, a: f64) -> f64 {
    36.0 * PI * v * v / a.powi(3)
}

/// Spherical disproportion, KRCK: A / (36π V²)^{1/3}.
fn sph_dispr(v: f64, a: f64) -> f64 {
    a / (36.0 * PI * v * v).cbrt()
}

/// Sphericity, QCFX: (36π V²)^{1/3} / A.
fn sphericity(v: f64, a: f64) -> f64 {
    (36.0 * PI * v * v).cbrt() / a
}

/// Asphericity, 25C7: (A³ / (36π V²))^{1/3} − 1.
fn asphericity(v: f64, a: f64) -> f64 {
    (a.powi(3) / (36.0 * PI * v * v)).cbrt() - 1.0
}

/// Call `f(i, centre)` for every crop voxel `i` in storage order, with the
/// voxel centre in mm relative to the crop origin (no per-voxel division).
#[inline]
fn for_each_centre(roi: &Roi, mut f: impl FnMut(usize, [f64; 3])) {
    let [nx, ny, nz] = roi.dims;
    let mut i = 0;
    for z in 0..nz {
        let cz = z as f64 * roi.spacing[2];
        for y in 0..ny {
            let cy = y as f64 * roi.spacing[1];
            for x in 0..nx {
                f(i, [x as f64 * roi.spacing[0], cy, cz]);
                i += 1;
            }
        }
    }
}

/// Centre of mass shift, KLMA: ‖CoM_geom − CoM_gl‖, the geometric centre of the
/// morphological-mask voxels against the intensity-weighted centre of the
/// intensity-mask voxels.
fn centre_of_mass_shift(roi: &Roi) -> f64 {
    let mut geom = [0.0; 3];
    let mut n = 0usize;
    let mut weighted = [0.0; 3];
    let mut wsum = 0.0;
    for_each_centre(roi, |i, c| {
        if roi.morph[i] {
            for a in 0..3 {
                geom[a] += c[a];
            }
            n += 1;
        }
        if roi.intensity[i] {
            let w = roi.values[i];
            for a in 0..3 {
                weighted[a] += w * c[a];
            }
            wsum += w;
        }
    });
    if n == 0 || wsum == 0.0 {
        return f64::NAN;
    }
    let d: [f64; 3] = std::array::from_fn(|a| geom[a] / n as f64 - weighted[a] / wsum);
    norm(d)
}

/// Mean intensity over the intensity mask and its voxel count.
fn intensity_mean(roi: &Roi) -> (f64, usize) {
    let (mut s, mut n) = (0.0, 0usize);
    for (v, &m) in roi.values.iter().zip(&roi.intensity) {
        if m {
            s += v;
            n += 1;
        }
    }
    (if n > 0 { s / n as f64 } else { f64::NAN }, n)
}

/// Moran's I (N365) and Geary's C (NPT7) over the intensity-mask voxels.
fn moran_geary(roi: &Roi) -> (f64, f64) {
    spatial::moran_geary_grid(roi.dims, &roi.values, &roi.intensity, roi.spacing)
}

/// Eigenvalues (descending) of the covariance matrix of the morphological
/// voxel centres in mm, with the unbiased (N − 1) normalisation. NaN for a
/// single voxel.
fn pca_eigenvalues(roi: &Roi) -> [f64; 3] {
    let mut n = 0usize;
    let mut mean = [0.0; 3];
    for_each_centre(roi, |i, c| {
        if roi.morph[i] {
            for a in 0..3 {
                mean[a] += c[a];
            }
            n += 1;
        }
    });
    if n < 2 {
        return [f64::NAN; 3];
    }
    for m in &mut mean {
        *m /= n as f64;
    }
    let mut cov = [[0.0; 3]; 3];
    for_each_centre(roi, |i, c| {
        if roi.morph[i] {
            let d = [c[0] - mean[0], c[1] - mean[1], c[2] - mean[2]];
            for r in 0..3 {
                for s in r..3 {
                    cov[r][s] += d[r] * d[s];
                }
            }
        }
    });
    // Symmetrise with the unbiased (N − 1) normalisation.
    let cov: [[f64; 3]; 3] =
        std::array::from_fn(|r| std::array::from_fn(|s| cov[r.min(s)][r.max(s)] / (n - 1) as f64));
    let mut ev = jacobi_eigenvalues(cov);
    ev.sort_by(|a, b| b.total_cmp(a));
    // Rounding can leave a tiny negative eigenvalue for flat ROIs.
    ev.map(|l| l.max(0.0))
}

/// Eigenvalues of a symmetric 3×3 matrix by cyclic Jacobi rotations.
fn jacobi_eigenvalues(mut a: [[f64; 3]; 3]) -> [f64; 3] {
    for _sweep in 0..50 {
        let off = a[0][1] * a[0][1] + a[0][2] * a[0][2] + a[1][2] * a[1][2];
        let scale = a[0][0] * a[0][0] + a[1][1] * a[1][1] + a[2][2] * a[2][2];
        if off <= 1e-30 * scale || off == 0.0 {
            break;
        }
        for (p, q) in [(0, 1), (0, 2), (1, 2)] {
            if a[p][q] == 0.0 {
                continue;
            }
            // Rotation angle that zeroes a[p][q].
            let theta = (a[q][q] - a[p][p]) / (2.0 * a[p][q]);
            let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
            let t = if theta == 0.0 { 1.0 } else { t };
            let c = 1.0 / (t * t + 1.0).sqrt();
            let s = t * c;
            // A ← Jᵀ A J with J the (p, q) rotation.
            for row in a.iter_mut() {
                let (akp, akq) = (row[p], row[q]);
                row[p] = c * akp - s * akq;
                row[q] = s * akp + c * akq;
            }
            let (row_p, row_q) = (a[p], a[q]);
            for k in 0..3 {
                a[p][k] = c * row_p[k] - s * row_q[k];
                a[q][k] = s * row_p[k] + c * row_q[k];
            }
        }
    }
    [a[0][0], a[1][1], a[2][2]]
}

/// Surface area of an ellipsoid with semi-axes a ≥ b ≥ c by the IBSI Legendre
/// series (RDD2): 4π a b Σ_ν (αβ)^ν / (1 − 4ν²) P_ν((α² + β²) / (2αβ)), with
/// α = √(1 − b²/a²), β = √(1 − c²/a²), summed for ν = 0..=20.
///
/// This is the manual's definition, reproduced because the reference values
/// use it; note it is not the exact ellipsoid area (the classical series takes
/// both eccentricities against the *least* axis, e.g. it gives 17.3 instead of
/// 21.5 for semi-axes 2, 1, 1).
///
/// The terms are evaluated as Q_ν = (αβ)^ν P_ν(x) through the Legendre
/// recurrence multiplied out, which stays finite when α or β is 0 (spheroids).
fn ellipsoid_area(a: f64, b: f64, c: f64) -> f64 {
    if !(a > 0.0 && b >= 0.0 && c >= 0.0) {
        return f64::NAN;
    }
    let alpha = (1.0 - b * b / (a * a)).max(0.0).sqrt();
    let beta = (1.0 - c * c / (a * a)).max(0.0).sqrt();
    let ab = alpha * beta;
    let half_sum = 0.5 * (alpha * alpha + beta * beta); // αβ · x
                                                        // Q_0 = 1, Q_1 = αβ x, Q_{ν+1} = ((2ν+1) αβx Q_ν − ν (αβ)² Q_{ν−1}) / (ν+1).
    let (mut q_prev, mut q) = (1.0, half_sum);
    let mut sum = 1.0 + q / (1.0 - 4.0);
    for nu in 1..AEE_SERIES_TERMS {
        let nuf = nu as f64;
        let q_next = ((2.0 * nuf + 1.0) * half_sum * q - nuf * ab * ab * q_prev) / (nuf + 1.0);
        q_prev = q;
        q = q_next;
        let k = nuf + 1.0;
        sum += q / (1.0 - 4.0 * k * k);
    }
    4.0 * PI * a * b * sum
}

#[inline]
fn sub(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

#[inline]
fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

#[inline]
fn norm(a: [f64; 3]) -> f64 {
    dot(a, a).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ellipsoid_area_follows_the_ibsi_series() {
        let s = ellipsoid_area(3.0, 3.0, 3.0);
        assert!((s - 4.0 * PI * 9.0).abs() < 1e-9);
        // Tri-axial: compare with the series evaluated with explicit Legendre
        // polynomials P_ν(x) (Bonnet recurrence in x).
        let (a, b, c) = (5.0f64, 4.0f64, 2.0f64);
        let al = (1.0 - b * b / (a * a)).sqrt();
        let be = (1.0 - c * c / (a * a)).sqrt();
        let x = (al * al + be * be) / (2.0 * al * be);
        let (mut p0, mut p1) = (1.0, x);
        let mut sum = 1.0 + al * be * x / (1.0 - 4.0);
        for nu in 1..20 {
            let nuf = nu as f64;
            let p2 = ((2.0 * nuf + 1.0) * x * p1 - nuf * p0) / (nuf + 1.0);
            p0 = p1;
            p1 = p2;
            let k = nuf + 1.0;
            sum += (al * be).powi(nu + 1) * p1 / (1.0 - 4.0 * k * k);
        }
        let want = 4.0 * PI * a * b * sum;
        let got = ellipsoid_area(a, b, c);
        assert!((got - want).abs() < 1e-9 * want, "{got} vs {want}");
        // Degenerate axes stay finite.
        assert!(ellipsoid_area(2.0, 1.0, 0.0).is_finite());
    }

    #[test]
    fn jacobi_diagonalises() {
        let m = [[4.0, 1.0, 0.5], [1.0, 3.0, 0.2], [0.5, 0.2, 1.0]];
        let mut ev = jacobi_eigenvalues(m);
        ev.sort_by(f64::total_cmp);
        // Trace and determinant are preserved.
        assert!((ev.iter().sum::<f64>() - 8.0).abs() < 1e-12);
        let det = 4.0 * (3.0 - 0.04) - 1.0 * (1.0 - 0.1) + 0.5 * (0.2 - 1.5);
        assert!((ev[0] * ev[1] * ev[2] - det).abs() < 1e-10);
    }
}
