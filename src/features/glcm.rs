//! Grey level co-occurrence matrix features (IBSI family `cm`, LFYI).
//!
//! A GLCM counts, for one direction Δ, how often grey levels i and j occur in
//! two ROI voxels separated by Δ (the direction vector times the Chebyshev
//! distance `glcm_distance`). Pairs are counted in both orders, so the matrix
//! is symmetric. Only pairs with both voxels in the intensity mask count.
//! With `p_ij = P_ij / ΣP`, the marginal `p_i = Σ_j p_ij` (= `p_j` by
//! symmetry), the diagonal distribution `p_{i-j}(k) = Σ_{|i-j|=k} p_ij`
//! (k = 0..N_g-1) and the cross-diagonal `p_{i+j}(k) = Σ_{i+j=k} p_ij`
//! (k = 2..2N_g), the 25 features below follow the IBSI reference manual.
//! N_g is the number of grey levels of the discretisation (`n_levels`).
//! Entropies use log2. Aggregation over slices and directions is in
//! `super::directional`.
//!
//! Degenerate matrices (one grey level only) follow MIRP, the IBSI
//! reference implementation: correlation is 1, information correlation 1
//! is 1 (0/0 otherwise) and information correlation 2 is 0.

use super::directional::{self, pair_ranges, DirectionalMatrix, MatrixBuilder};
use super::{Features, TextureSettings};
use crate::roi::DiscreteRoi;

/// Feature tags without aggregation suffix, in output order.
pub const NAMES: [&str; 25] = [
    "cm_joint_max",
    "cm_joint_avg",
    "cm_joint_var",
    "cm_joint_entr",
    "cm_diff_avg",
    "cm_diff_var",
    "cm_diff_entr",
    "cm_sum_avg",
    "cm_sum_var",
    "cm_sum_entr",
    "cm_energy",
    "cm_contrast",
    "cm_dissimilarity",
    "cm_inv_diff",
    "cm_inv_diff_norm",
    "cm_inv_diff_mom",
    "cm_inv_diff_mom_norm",
    "cm_inv_var",
    "cm_corr",
    "cm_auto_corr",
    "cm_clust_tend",
    "cm_clust_shade",
    "cm_clust_prom",
    "cm_info_corr1",
    "cm_info_corr2",
];

/// All GLCM features for the requested dimensionalities (`_avg` and `_comb`).
pub fn compute(roi: &DiscreteRoi, settings: &TextureSettings) -> Features {
    let builder = GlcmBuilder::new(roi, settings.glcm_distance);
    directional::compute(&builder, settings, &NAMES)
}

/// A symmetric co-occurrence count matrix, `n × n`, row-major; level `l`
/// is row `l - base - 1`.
#[derive(Debug, Clone)]
pub(crate) struct Glcm {
    base: usize,
    n: usize,
    /// N_g used by the normalised inverse difference (moment).
    n_g: f64,
    counts: Vec<u32>,
}

impl Glcm {
    fn new(base: usize, n: usize, n_g: f64) -> Self {
        Glcm {
            base,
            n,
            n_g,
            counts: vec![0; n * n],
        }
    }

    /// Turn counts of ordered pairs (a, b) into counts of the pair in both
    /// orders: C + Cᵀ (the diagonal doubles).
    fn symmetrise(&mut self) {
        let n = self.n;
        for i in 0..n {
            self.counts[i * n + i] *= 2;
            for j in i + 1..n {
                let s = self.counts[i * n + j] + self.counts[j * n + i];
                self.counts[i * n + j] = s;
                self.counts[j * n + i] = s;
            }
        }
    }
}

impl DirectionalMatrix for Glcm {
    fn merge(&mut self, other: &Self) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
    }

    fn features(&self) -> Option<Vec<f64>> {
        glcm_features(&self.counts, self.n, self.n_g, self.base).map(|f| f.to_vec())
    }
}

struct GlcmBuilder<'a> {
    roi: &'a DiscreteRoi,
    /// Matrix rows hold levels base + 1 ..= base + n (those present).
    base: usize,
    n: usize,
    n_g: f64,
    distance: isize,
}

impl<'a> GlcmBuilder<'a> {
    fn new(roi: &'a DiscreteRoi, distance: usize) -> Self {
        // The matrices span only the levels present, base + 1 ..= base + n:
        // with a re-segmentation range far below the data N_g can be in the
        // thousands while a few levels occur, and dense N_g² matrices per
        // slice and direction took seconds and hundreds of MiB (fuzzing).
        let present = roi.levels.iter().copied().filter(|&l| l > 0);
        let (lo, hi) = present.fold((u32::MAX, 0), |(a, b), l| (a.min(l), b.max(l)));
        let (base, n) = if hi == 0 {
            (0, 1)
        } else {
            ((lo - 1) as usize, (hi - lo + 1) as usize)
        };
        GlcmBuilder {
            roi,
            base,
            n,
            n_g: roi.n_levels.max(1) as f64,
            distance: distance as isize,
        }
    }

    /// Count all pairs (v, v + offset) with both voxels in the ROI, for
    /// voxels v with z in `z_range`.
    fn count(&self, dir: [i32; 3], z_range: (usize, usize)) -> Glcm {
        let mut m = Glcm::new(self.base, self.n, self.n_g);
        let dims = self.roi.dims;
        let off = dir.map(|c| c as isize * self.distance);
        let Some(r) = pair_ranges(dims, off) else {
            return m;
        };
        let (z0, z1) = (r[2].0.max(z_range.0), r[2].1.min(z_range.1));
        let step = off[0] + dims[0] as isize * (off[1] + dims[1] as isize * off[2]);
        let levels = &self.roi.levels;
        for z in z0..z1 {
            for y in r[1].0..r[1].1 {
                let row = self.roi.index(0, y, z);
                for i in row + r[0].0..row + r[0].1 {
                    let a = levels[i];
                    if a == 0 {
                        continue;
                    }
                    let b = levels[(i as isize + step) as usize];
                    if b != 0 {
                        // One order only here; symmetrised below.
                        let (i, j) = (a as usize - 1 - self.base, b as usize - 1 - self.base);
                        m.counts[i * m.n + j] += 1;
                    }
                }
            }
        }
        m.symmetrise();
        m
    }
}

impl MatrixBuilder for GlcmBuilder<'_> {
    type Matrix = Glcm;

    fn n_slices(&self) -> usize {
        self.roi.dims[2]
    }

    fn empty(&self) -> Glcm {
        Glcm::new(self.base, self.n, self.n_g)
    }

    fn slice(&self, z: usize, dir: [i32; 3]) -> Glcm {
        debug_assert_eq!(dir[2], 0);
        self.count(dir, (z, z + 1))
    }

    fn volume(&self, dir: [i32; 3]) -> Glcm {
        self.count(dir, (0, self.roi.dims[2]))
    }
}

/// `-p log2 p`, 0 for p = 0.
#[inline]
fn entropy_term(p: f64) -> f64 {
    if p > 0.0 {
        -p * p.log2()
    } else {
        0.0
    }
}

/// The 25 GLCM features of a symmetric count matrix `counts` (`n × n`), in
/// the order of [`NAMES`]; `None` when the matrix has no entries.
///
/// With levels i, j = 1..N_g, μ = Σ i p_ij (joint average = marginal mean)
/// and σ² = Σ (i-μ)² p_ij:
/// * joint maximum (GYBY) max p_ij; joint average (60VM) μ;
///   joint variance (UR99) σ²; joint entropy (TU9B) -Σ p_ij log2 p_ij
/// * difference average (TF7R) μ_d = Σ k p_{i-j}(k); difference variance
///   (D3YU) Σ (k-μ_d)² p_{i-j}(k); difference entropy (NTRS)
/// * sum average (ZGXS) μ_s = Σ k p_{i+j}(k); sum variance (OEEB); sum entropy (P6QZ)
/// * angular second moment `cm_energy` (8ZQL) Σ p_ij²; contrast (ACUI)
///   Σ (i-j)² p_ij; dissimilarity (8S9J) Σ |i-j| p_ij
/// * inverse difference (IB1Z) Σ p_ij / (1+|i-j|); normalised (NDRX)
///   Σ p_ij / (1+|i-j|/N_g); inverse difference moment (WF0Z)
///   Σ p_ij / (1+(i-j)²); normalised (1QCO) Σ p_ij / (1+(i-j)²/N_g²)
/// * inverse variance (E8JP) Σ_{i≠j} p_ij / (i-j)²
/// * correlation (NI2N) Σ (i-μ)(j-μ) p_ij / σ² (1 when σ² = 0)
/// * autocorrelation (QWB0) Σ i j p_ij
/// * cluster tendency (DG8W), shade (7NFM), prominence (AE86):
///   Σ (i+j-2μ)^{2,3,4} p_ij
/// * information correlation 1 (R8DG) (HXY - HXY1) / HX, and 2 (JN9H)
///   sqrt(1 - exp(-2 (HXY2 - HXY))), with HXY the joint entropy,
///   HX = -Σ p_i log2 p_i, HXY1 = -Σ p_ij log2(p_i p_j) and
///   HXY2 = -Σ p_i p_j log2(p_i p_j) = 2 HX for a symmetric matrix.
pub(crate) fn glcm_features(counts: &[u32], n: usize, n_g: f64, base: usize) -> Option<[f64; 25]> {
    let total: u64 = counts.iter().map(|&c| c as u64).sum();
    if total == 0 {
        return None;
    }
    let total = total as f64;

    // Marginal; its support bounds every loop below.
    let mut p_i = vec![0.0; n];
    for (i, row) in counts.chunks_exact(n).enumerate() {
        p_i[i] = row.iter().map(|&c| c as u64).sum::<u64>() as f64 / total;
    }
    let lo = p_i.iter().position(|&p| p > 0.0)?;
    let hi = p_i.iter().rposition(|&p| p > 0.0)? + 1;

    let mut p_diff = vec![0.0; n];
    // Indexed by the grey-level sum itself, (base + i + 1) + (base + j + 1).
    let mut p_sum = vec![0.0; 2 * (n + base) + 1];
    let mut joint_max: f64 = 0.0;
    let mut mu = 0.0;
    let mut joint_entr = 0.0;
    let mut energy = 0.0;
    let mut contrast = 0.0;
    let mut dissimilarity = 0.0;
    let mut inv_diff = 0.0;
    let mut inv_diff_norm = 0.0;
    let mut inv_diff_mom = 0.0;
    let mut inv_diff_mom_norm = 0.0;
    let mut inv_var = 0.0;
    let mut auto_corr = 0.0;
    let mut hxy1 = 0.0;
    for i in lo..hi {
        let gi = (base + i + 1) as f64;
        for j in lo..hi {
            let c = counts[i * n + j];
            if c == 0 {
                continue;
            }
            let p = c as f64 / total;
            let gj = (base + j + 1) as f64;
            let d = (gi - gj).abs();
            joint_max = joint_max.max(p);
            mu += gi * p;
            joint_entr += entropy_term(p);
            energy += p * p;
            contrast += d * d * p;
            dissimilarity += d * p;
            inv_diff += p / (1.0 + d);
            inv_diff_norm += p / (1.0 + d / n_g);
            inv_diff_mom += p / (1.0 + d * d);
            inv_diff_mom_norm += p / (1.0 + d * d / (n_g * n_g));
            if i != j {
                inv_var += p / (d * d);
            }
            auto_corr += gi * gj * p;
            hxy1 -= p * (p_i[i] * p_i[j]).log2();
            p_diff[i.abs_diff(j)] += p;
            p_sum[i + j + 2 + 2 * base] += p;
        }
    }

    // Second pass: moments about μ.
    let mut joint_var = 0.0;
    let mut cov = 0.0;
    let mut clust_tend = 0.0;
    let mut clust_shade = 0.0;
    let mut clust_prom = 0.0;
    for i in lo..hi {
        let di = (base + i + 1) as f64 - mu;
        for j in lo..hi {
            let c = counts[i * n + j];
            if c == 0 {
                continue;
            }
            let p = c as f64 / total;
            let dj = (base + j + 1) as f64 - mu;
            let s = di + dj;
            let s2 = s * s;
            joint_var += di * di * p;
            cov += di * dj * p;
            clust_tend += s2 * p;
            clust_shade += s2 * s * p;
            clust_prom += s2 * s2 * p;
        }
    }

    let (diff_avg, diff_var, diff_entr) = moments(&p_diff);
    let (sum_avg, sum_var, sum_entr) = moments(&p_sum);

    // Marginal variance equals the joint variance for a symmetric matrix.
    let corr = if joint_var > 0.0 {
        cov / joint_var
    } else {
        1.0
    };
    let hx: f64 = p_i.iter().map(|&p| entropy_term(p)).sum();
    let info_corr1 = if hx > 0.0 {
        (joint_entr - hxy1) / hx
    } else {
        1.0
    };
    // HXY2 ≥ HXY in exact arithmetic; clamp rounding noise to 0.
    let info_corr2 = (1.0 - (-2.0 * (2.0 * hx - joint_entr)).exp())
        .max(0.0)
        .sqrt();

    Some([
        joint_max,
        mu,
        joint_var,
        joint_entr,
        diff_avg,
        diff_var,
        diff_entr,
        sum_avg,
        sum_var,
        sum_entr,
        energy,
        contrast,
        dissimilarity,
        inv_diff,
        inv_diff_norm,
        inv_diff_mom,
        inv_diff_mom_norm,
        inv_var,
        corr,
        auto_corr,
        clust_tend,
        clust_shade,
        clust_prom,
        info_corr1,
        info_corr2,
    ])
}

/// Mean, variance and entropy (log2) of a distribution `p` over k = its index.
fn moments(p: &[f64]) -> (f64, f64, f64) {
    let mean: f64 = p.iter().enumerate().map(|(k, &pk)| k as f64 * pk).sum();
    let var: f64 = p
        .iter()
        .enumerate()
        .map(|(k, &pk)| {
            let d = k as f64 - mean;
            d * d * pk
        })
        .sum();
    let entr: f64 = p.iter().map(|&pk| entropy_term(pk)).sum();
    (mean, var, entr)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::test_support::{close, get, roi_with_levels as roi};
    use crate::features::Dimensionality;

    /// One row `1 1 2 2`: along x the pairs (1,1), (1,2), (2,2) give the
    /// symmetric matrix [[2, 1], [1, 2]] / 6; the other in-plane directions
    /// have no pairs and are left out of every average.
    #[test]
    fn row_pattern_has_the_analytic_glcm() {
        let r = roi([4, 1, 1], vec![1, 1, 2, 2], 2);
        let settings = TextureSettings {
            dimensionalities: vec![Dimensionality::D2, Dimensionality::D3],
            ..Default::default()
        };
        let f = compute(&r, &settings);
        assert_eq!(f.len(), 25 * 4);
        let (a, b): (f64, f64) = (1.0 / 3.0, 1.0 / 6.0);
        for agg in ["2D_avg", "2D_comb", "3D_avg", "3D_comb"] {
            let v = |name: &str| get(&f, &format!("{name}_{agg}"));
            assert!(close(v("cm_joint_max"), a));
            assert!(close(v("cm_joint_avg"), 1.5));
            assert!(close(v("cm_joint_var"), 0.25));
            assert!(close(
                v("cm_joint_entr"),
                -2.0 * a * a.log2() - 2.0 * b * b.log2()
            ));
            assert!(close(v("cm_energy"), 2.0 * a * a + 2.0 * b * b));
            assert!(close(v("cm_contrast"), 2.0 * b));
            assert!(close(v("cm_diff_avg"), 2.0 * b));
            assert!(close(v("cm_diff_var"), 2.0 * b * (1.0 - 2.0 * b)));
            assert!(close(v("cm_sum_avg"), 3.0));
            // p_{i+j}: k = 2, 3, 4 with 1/3 each.
            assert!(close(v("cm_sum_var"), 2.0 / 3.0));
            assert!(close(v("cm_sum_entr"), 3f64.log2()));
            assert!(close(v("cm_inv_diff"), 2.0 * a + b));
            assert!(close(v("cm_inv_diff_norm"), 2.0 * a + 2.0 * b / 1.5));
            assert!(close(v("cm_inv_diff_mom_norm"), 2.0 * a + 2.0 * b / 1.25));
            assert!(close(v("cm_inv_var"), 2.0 * b));
            // cov = 0.25 (1/3 + 1/3) - 0.25 (1/3) = 1/12.
            assert!(close(v("cm_corr"), (1.0 / 12.0) / 0.25));
            assert!(close(v("cm_auto_corr"), a + 2.0 * 2.0 * b + 4.0 * a));
            assert!(close(v("cm_clust_tend"), 2.0 * a));
            assert!(close(v("cm_clust_shade"), 0.0));
            // HX = 1, HXY1 = 2, HXY2 = 2.
            let hxy = -2.0 * a * a.log2() - 2.0 * b * b.log2();
            assert!(close(v("cm_info_corr1"), hxy - 2.0));
            assert!(close(
                v("cm_info_corr2"),
                (1.0 - (-2.0 * (2.0 - hxy)).exp()).sqrt()
            ));
        }
    }

    #[test]
    fn distance_scales_the_offset() {
        // With distance 2 along x the pairs are (1,2) and (1,2).
        let r = roi([4, 1, 1], vec![1, 1, 2, 2], 2);
        let settings = TextureSettings {
            dimensionalities: vec![Dimensionality::D3],
            glcm_distance: 2,
            ..Default::default()
        };
        let f = compute(&r, &settings);
        assert!(close(get(&f, "cm_contrast_3D_comb"), 1.0));
        assert!(close(get(&f, "cm_joint_max_3D_comb"), 0.5));
    }

    #[test]
    fn constant_roi_follows_the_degenerate_conventions() {
        let r = roi([3, 3, 3], vec![4; 27], 6);
        let settings = TextureSettings {
            dimensionalities: Dimensionality::ALL.to_vec(),
            ..Default::default()
        };
        let f = compute(&r, &settings);
        assert_eq!(f.len(), 25 * 6);
        for (tag, v) in &f {
            assert!(v.is_finite(), "{tag} = {v}");
        }
        for agg in ["2D_avg", "2_5D_comb", "3D_avg", "3D_comb"] {
            let v = |name: &str| get(&f, &format!("{name}_{agg}"));
            assert_eq!(v("cm_joint_max"), 1.0);
            assert_eq!(v("cm_joint_avg"), 4.0);
            assert_eq!(v("cm_joint_var"), 0.0);
            assert_eq!(v("cm_joint_entr"), 0.0);
            assert_eq!(v("cm_contrast"), 0.0);
            assert_eq!(v("cm_inv_diff_norm"), 1.0);
            assert_eq!(v("cm_sum_avg"), 8.0);
            assert_eq!(v("cm_corr"), 1.0);
            assert_eq!(v("cm_info_corr1"), 1.0);
            assert_eq!(v("cm_info_corr2"), 0.0);
        }
    }

    #[test]
    fn matrices_span_only_the_levels_present() {
        // Levels 3000/3001 of N_g = 4000 (a re-segmentation range far below
        // the data): 2 × 2 matrices, and the features of the shifted pattern
        // are the shifted features.
        let pattern: Vec<u32> = (0..27).map(|i| (i % 2) as u32).collect();
        let high = roi([3, 3, 3], pattern.iter().map(|l| l + 3000).collect(), 4000);
        let builder = GlcmBuilder::new(&high, 1);
        assert_eq!((builder.base, builder.n), (2999, 2));
        let low = roi([3, 3, 3], pattern.iter().map(|l| l + 1).collect(), 4000);
        let settings = TextureSettings::default();
        let (fh, fl) = (compute(&high, &settings), compute(&low, &settings));
        let v = |f: &Features, name: &str| get(f, &format!("{name}_3D_avg"));
        assert!(close(
            v(&fh, "cm_joint_avg"),
            v(&fl, "cm_joint_avg") + 2999.0
        ));
        assert!(close(
            v(&fh, "cm_sum_avg"),
            v(&fl, "cm_sum_avg") + 2.0 * 2999.0
        ));
        for name in [
            "cm_contrast",
            "cm_joint_var",
            "cm_joint_entr",
            "cm_inv_diff_norm",
            "cm_corr",
        ] {
            assert!(close(v(&fh, name), v(&fl, name)), "{name}");
        }
    }

    #[test]
    fn roi_without_pairs_gives_nan() {
        let r = roi([3, 1, 1], vec![1, 0, 2], 2);
        let settings = TextureSettings {
            dimensionalities: Dimensionality::ALL.to_vec(),
            ..Default::default()
        };
        let f = compute(&r, &settings);
        assert_eq!(f.len(), 25 * 6);
        assert!(f.iter().all(|(_, v)| v.is_nan()));
    }
}
