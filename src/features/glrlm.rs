//! Grey level run length matrix features (IBSI family `rlm`, TP0I).
//!
//! A GLRLM `r_ij` counts, for one direction, the runs of grey level i and
//! length j: maximal sequences of consecutive ROI voxels along the direction
//! that share level i. Voxels outside the intensity mask break runs. With
//! N_s = Σ r_ij runs, N_v ROI voxels, the marginals `r_i. = Σ_j r_ij` and
//! `r_.j = Σ_i r_ij` and `p_ij = r_ij / N_s`, the 16 features below follow
//! the IBSI reference manual. When matrices are merged, N_v is summed over
//! the merged matrices too (so run percentage stays a per-matrix ratio).
//! Aggregation over slices and directions is in `directional`.

use super::directional::{self, DirectionalMatrix, MatrixBuilder};
use super::padded::PaddedLevels;
use super::{Features, TextureSettings};
use crate::roi::DiscreteRoi;

/// Feature tags without aggregation suffix, in output order.
pub const NAMES: [&str; 16] = [
    "rlm_sre",
    "rlm_lre",
    "rlm_lgre",
    "rlm_hgre",
    "rlm_srlge",
    "rlm_srhge",
    "rlm_lrlge",
    "rlm_lrhge",
    "rlm_glnu",
    "rlm_glnu_norm",
    "rlm_rlnu",
    "rlm_rlnu_norm",
    "rlm_r_perc",
    "rlm_gl_var",
    "rlm_rl_var",
    "rlm_rl_entr",
];

/// All GLRLM features for the requested dimensionalities (`_avg` and `_comb`).
pub fn compute(roi: &DiscreteRoi, settings: &TextureSettings) -> Features {
    directional::compute(&GlrlmBuilder::new(roi), settings, &NAMES)
}

/// Run counts, `n_levels` rows × `width` run lengths; level `l`, length `r`
/// is at `(l - 1) * width + r - 1`.
#[derive(Debug, Clone)]
pub(crate) struct Glrlm {
    width: usize,
    counts: Vec<u32>,
    /// Number of ROI voxels the runs were taken from (summed when merged).
    n_v: u64,
}

impl DirectionalMatrix for Glrlm {
    fn merge(&mut self, other: &Self) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.n_v += other.n_v;
    }

    fn features(&self) -> Option<Vec<f64>> {
        glrlm_features(&self.counts, self.width, self.n_v as f64).map(|f| f.to_vec())
    }
}

struct GlrlmBuilder<'a> {
    roi: &'a DiscreteRoi,
    /// The levels with a zero border: runs end at the border without bounds checks.
    padded: PaddedLevels,
    n: usize,
    /// Longest possible run: the largest crop dimension.
    width: usize,
}

impl<'a> GlrlmBuilder<'a> {
    fn new(roi: &'a DiscreteRoi) -> Self {
        let max_level = roi.levels.iter().copied().max().unwrap_or(0);
        GlrlmBuilder {
            roi,
            padded: PaddedLevels::new(&roi.levels, roi.dims, [true; 3]),
            n: max_level.max(roi.n_levels) as usize,
            width: roi.dims.iter().copied().max().unwrap_or(0),
        }
    }

    fn empty_matrix(&self) -> Glrlm {
        Glrlm {
            width: self.width,
            counts: vec![0; self.n * self.width],
            n_v: 0,
        }
    }

    /// Runs along `dir` that start at voxels with z in `z0..z1`. For in-plane
    /// directions (dz = 0) runs stay in their slice.
    ///
    /// One pass in storage order without branches on run ends (runs of noisy
    /// levels are short, so such branches would mispredict at almost every
    /// run): the run length so far at voxel i is
    /// `len(i − step) + 1` when the level repeats, else 1, and a run ends
    /// where the next voxel along `dir` has another level. `step` is
    /// positive for every direction of the half neighbourhood, so voxel
    /// i − step comes first; lengths live in a ring buffer longer than `step`.
    fn runs(&self, dir: [i32; 3], z0: usize, z1: usize) -> Glrlm {
        let mut m = self.empty_matrix();
        let p = &self.padded;
        let step = p.step(dir.map(|c| c as isize));
        debug_assert!(step > 0, "directions have positive linear steps");
        let step = step as usize;
        let lv = &p.data;
        let ring_len = (step + 1).next_power_of_two();
        let mask = ring_len - 1;
        let mut len = vec![0u32; ring_len];
        let width = self.width;
        let [nx, ny, _] = self.roi.dims;
        let mut n_v = 0u64;
        for z in z0..z1 {
            for y in 0..ny {
                let row = p.index(0, y, z);
                for i in row..row + nx {
                    let l = lv[i];
                    // Outside the ROI: no run; its ring entry is never read
                    // (only voxels with the same, non-zero level read it).
                    if l == 0 {
                        continue;
                    }
                    n_v += 1;
                    let run = len[(i - step) & mask] * u32::from(l == lv[i - step]) + 1;
                    len[i & mask] = run;
                    // Add 0 or 1 to the cell rather than branch on the run end.
                    let ends = lv[i + step] != l;
                    m.counts[(l as usize - 1) * width + run as usize - 1] += u32::from(ends);
                }
            }
        }
        m.n_v = n_v;
        m
    }
}

impl MatrixBuilder for GlrlmBuilder<'_> {
    type Matrix = Glrlm;

    fn n_slices(&self) -> usize {
        self.roi.dims[2]
    }

    fn empty(&self) -> Glrlm {
        self.empty_matrix()
    }

    fn slice(&self, z: usize, dir: [i32; 3]) -> Glrlm {
        debug_assert_eq!(dir[2], 0);
        self.runs(dir, z, z + 1)
    }

    fn volume(&self, dir: [i32; 3]) -> Glrlm {
        self.runs(dir, 0, self.roi.dims[2])
    }
}

/// The 16 GLRLM features of run counts `counts` (rows: levels 1..,
/// `width` columns: run lengths 1..) from `n_v` voxels, in the order of
/// [`NAMES`]; `None` when there is no run.
///
/// With i the grey level and j the run length:
/// * short runs emphasis (22OV) Σ r_.j / j² / N_s; long runs emphasis (W4KF)
///   Σ r_.j j² / N_s
/// * low (V3SW) / high (G3QZ) grey level run emphasis Σ r_i. i^{∓2} / N_s
/// * short run low (HTZT) / high (GD3A) grey level emphasis
///   Σ r_ij i^{∓2} / j² / N_s; long run low (IVPO) / high (3KUM) grey level
///   emphasis Σ r_ij i^{∓2} j² / N_s
/// * grey level non-uniformity (R5YN) Σ r_i.² / N_s, normalised (OVBL) / N_s²
/// * run length non-uniformity (W92Y) Σ r_.j² / N_s, normalised (IC23) / N_s²
/// * run percentage (9ZK5) N_s / N_v
/// * grey level variance (8CE5) Σ (i-μ_i)² p_ij, μ_i = Σ i p_ij; run length
///   variance (SXLW) Σ (j-μ_j)² p_ij, μ_j = Σ j p_ij
/// * run entropy (HJ9O) -Σ p_ij log2 p_ij
pub(crate) fn glrlm_features(counts: &[u32], width: usize, n_v: f64) -> Option<[f64; 16]> {
    let n_s: u64 = counts.iter().map(|&c| c as u64).sum();
    if n_s == 0 || width == 0 {
        return None;
    }
    let n_s = n_s as f64;
    let n = counts.len() / width;

    let mut r_j = vec![0.0; width];
    let mut r_i = vec![0.0; n];
    let mut srlge = 0.0;
    let mut srhge = 0.0;
    let mut lrlge = 0.0;
    let mut lrhge = 0.0;
    let mut mu_i = 0.0;
    let mut mu_j = 0.0;
    let mut entr = 0.0;
    for (i, row) in counts.chunks_exact(width).enumerate() {
        let gi2 = ((i + 1) * (i + 1)) as f64;
        for (j, &c) in row.iter().enumerate() {
            if c == 0 {
                continue;
            }
            let r = c as f64;
            let lj2 = ((j + 1) * (j + 1)) as f64;
            r_i[i] += r;
            r_j[j] += r;
            srlge += r / (gi2 * lj2);
            srhge += r * gi2 / lj2;
            lrlge += r * lj2 / gi2;
            lrhge += r * gi2 * lj2;
            let p = r / n_s;
            mu_i += (i + 1) as f64 * p;
            mu_j += (j + 1) as f64 * p;
            entr -= p * p.log2();
        }
    }

    let mut gl_var = 0.0;
    let mut rl_var = 0.0;
    for (i, row) in counts.chunks_exact(width).enumerate() {
        let di = (i + 1) as f64 - mu_i;
        for (j, &c) in row.iter().enumerate() {
            if c == 0 {
                continue;
            }
            let p = c as f64 / n_s;
            let dj = (j + 1) as f64 - mu_j;
            gl_var += di * di * p;
            rl_var += dj * dj * p;
        }
    }

    let mut sre = 0.0;
    let mut lre = 0.0;
    let mut rlnu = 0.0;
    for (j, &r) in r_j.iter().enumerate() {
        let lj2 = ((j + 1) * (j + 1)) as f64;
        sre += r / lj2;
        lre += r * lj2;
        rlnu += r * r;
    }
    let mut lgre = 0.0;
    let mut hgre = 0.0;
    let mut glnu = 0.0;
    for (i, &r) in r_i.iter().enumerate() {
        let gi2 = ((i + 1) * (i + 1)) as f64;
        lgre += r / gi2;
        hgre += r * gi2;
        glnu += r * r;
    }
    let r_perc = if n_v > 0.0 { n_s / n_v } else { f64::NAN };

    Some([
        sre / n_s,
        lre / n_s,
        lgre / n_s,
        hgre / n_s,
        srlge / n_s,
        srhge / n_s,
        lrlge / n_s,
        lrhge / n_s,
        glnu / n_s,
        glnu / (n_s * n_s),
        rlnu / n_s,
        rlnu / (n_s * n_s),
        r_perc,
        gl_var,
        rl_var,
        entr,
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::test_support::{close, get, roi_with_levels as roi};
    use crate::features::Dimensionality;

    /// One row `1 1 2 2`: along x two runs of length 2; along the other three
    /// in-plane directions four runs of length 1.
    #[test]
    fn row_pattern_has_the_analytic_glrlm() {
        let r = roi([4, 1, 1], vec![1, 1, 2, 2], 2);
        let settings = TextureSettings {
            dimensionalities: vec![Dimensionality::D2, Dimensionality::D2_5],
            ..Default::default()
        };
        let f = compute(&r, &settings);
        assert_eq!(f.len(), 16 * 4);
        // Along x: sre = 2 (1/4) / 2, r_perc = 2/4. Otherwise sre = 1, r_perc = 1.
        assert!(close(get(&f, "rlm_sre_2D_avg"), (0.25 + 3.0) / 4.0));
        assert!(close(get(&f, "rlm_r_perc_2D_avg"), (0.5 + 3.0) / 4.0));
        assert!(close(get(&f, "rlm_lre_2D_avg"), (4.0 + 3.0) / 4.0));
        // Merged: 2 runs of length 2 and 12 of length 1 from 16 voxels.
        for agg in ["2D_comb", "2_5D_comb"] {
            let v = |name: &str| get(&f, &format!("{name}_{agg}"));
            assert!(close(v("rlm_sre"), (2.0 / 4.0 + 12.0) / 14.0));
            assert!(close(v("rlm_lre"), (2.0 * 4.0 + 12.0) / 14.0));
            assert!(close(v("rlm_r_perc"), 14.0 / 16.0));
            // Seven runs of each level.
            assert!(close(v("rlm_lgre"), (7.0 + 7.0 / 4.0) / 14.0));
            assert!(close(v("rlm_hgre"), (7.0 + 7.0 * 4.0) / 14.0));
            assert!(close(v("rlm_glnu"), 98.0 / 14.0));
            assert!(close(v("rlm_glnu_norm"), 0.5));
            assert!(close(v("rlm_rlnu"), (4.0 + 144.0) / 14.0));
            assert!(close(v("rlm_gl_var"), 0.25));
            let p2: f64 = 1.0 / 14.0;
            let p1: f64 = 6.0 / 14.0;
            assert!(close(
                v("rlm_rl_entr"),
                -2.0 * (p2 * p2.log2() + p1 * p1.log2())
            ));
            assert!(close(v("rlm_rl_var"), (2.0 / 14.0) * (12.0 / 14.0)));
            assert!(close(
                v("rlm_lrhge"),
                (4.0 * (1.0 + 4.0) + 6.0 * (1.0 + 4.0)) / 14.0
            ));
        }
        // 2.5D avg with one slice equals 2D avg.
        assert!(close(
            get(&f, "rlm_sre_2_5D_avg"),
            get(&f, "rlm_sre_2D_avg")
        ));
    }

    #[test]
    fn constant_cube_runs_span_the_cube() {
        let r = roi([3, 3, 3], vec![2; 27], 6);
        let settings = TextureSettings {
            dimensionalities: Dimensionality::ALL.to_vec(),
            ..Default::default()
        };
        let f = compute(&r, &settings);
        assert_eq!(f.len(), 16 * 6);
        for (tag, v) in &f {
            assert!(v.is_finite(), "{tag} = {v}");
        }
        // Along z (0,0,1): 9 runs of length 3.
        // Along (1,1,1): runs of length 3 (1), 2 (6), 1 (12) = 19 runs.
        let v = |t: &str| get(&f, t);
        assert!(close(v("rlm_glnu_norm_3D_comb"), 1.0));
        assert!(close(v("rlm_gl_var_3D_avg"), 0.0));
        assert!(close(v("rlm_lgre_2D_comb"), 0.25));
        assert!(close(v("rlm_hgre_3D_comb"), 4.0));
        // In-plane x and y: 3 runs of 3 per slice; diagonals: 1×3, 2×2, 2×1.
        assert!(close(
            v("rlm_r_perc_2D_avg"),
            (2.0 * 3.0 + 2.0 * 5.0) / (4.0 * 9.0)
        ));
    }

    #[test]
    fn holes_break_runs() {
        let r = roi([5, 1, 1], vec![1, 1, 0, 1, 1], 1);
        let settings = TextureSettings {
            dimensionalities: vec![Dimensionality::D3],
            ..Default::default()
        };
        let f = compute(&r, &settings);
        // Along x: 2 runs of 2; the 12 other directions: 4 runs of 1 each.
        let n_s = 2.0 + 12.0 * 4.0;
        assert!(close(get(&f, "rlm_r_perc_3D_comb"), n_s / (13.0 * 4.0)));
        assert!(close(get(&f, "rlm_lre_3D_comb"), (2.0 * 4.0 + 48.0) / n_s));
    }

    #[test]
    fn empty_roi_gives_nan() {
        let r = roi([2, 2, 1], vec![0; 4], 3);
        let settings = TextureSettings {
            dimensionalities: Dimensionality::ALL.to_vec(),
            ..Default::default()
        };
        let f = compute(&r, &settings);
        assert_eq!(f.len(), 16 * 6);
        assert!(f.iter().all(|(_, v)| v.is_nan()));
    }
}
