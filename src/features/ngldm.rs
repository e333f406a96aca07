//! Neighbouring grey level dependence matrix (NGLDM) features, IBSI family *REK0*.
//!
//! For every voxel `k` of the intensity mask with grey level `i`, the
//! dependence `j_k = 1 + #{neighbours m within Chebyshev distance δ, inside the
//! intensity mask, with |X_m − X_k| ≤ α}` (δ = `settings.ngldm_distance`,
//! α = `settings.ngldm_alpha`; in 2D the neighbourhood is in-plane). Element
//! `s_ij` counts the voxels with grey level `i` and dependence `j`; every voxel
//! gives one neighbourhood, so `N_s = N_v`.
//!
//! Aggregation as for the GLSZM (see [`super::glszm`]): `2D` averages per-slice
//! features, `2_5D` sums the slice matrices and `N_v`, `N_s`, `3D` uses one
//! volumetric matrix. An empty intensity mask gives `NaN` for every feature; a
//! single voxel or constant ROI gives the plain formula values.

use super::glszm::{aggregate, Block, CountMatrix, Neighbourhood};
use super::{Features, TextureSettings};
use crate::roi::DiscreteRoi;

/// NGLDM feature names in output order, with their IBSI identifiers:
/// lde SODN, hde IMOQ, lgce TL9H, hgce OAE7, ldlge EQ3F, ldhge JA6D,
/// hdlge NBZI, hdhge 9QMG, glnu FP8K, glnu_norm 5SPA, dcnu Z87G,
/// dcnu_norm OKJI, dc_perc 6XV8, gl_var 1PFV, dc_var DNX2, dc_entr FCBV,
/// dc_energy CAS9.
///
/// Formulas (`s_.j`, `s_i.` marginals, `p_ij = s_ij / N_s`): lde
/// `Σ s_.j / j² / N_s`; hde `Σ j² s_.j / N_s`; lgce `Σ s_i. / i² / N_s`; hgce
/// `Σ i² s_i. / N_s`; ldlge `Σ s_ij / (i² j²) / N_s`; ldhge `Σ i² s_ij / j² / N_s`;
/// hdlge `Σ j² s_ij / i² / N_s`; hdhge `Σ i² j² s_ij / N_s`; glnu
/// `Σ s_i.² / N_s` (norm: `/ N_s²`); dcnu `Σ s_.j² / N_s` (norm: `/ N_s²`);
/// dc_perc `N_s / N_v`; gl_var / dc_var variance of `i` / `j` under `p_ij`;
/// dc_entr `−Σ p_ij log2 p_ij`; dc_energy `Σ p_ij²`.
pub const NAMES: [&str; 17] = [
    "lde",
    "hde",
    "lgce",
    "hgce",
    "ldlge",
    "ldhge",
    "hdlge",
    "hdhge",
    "glnu",
    "glnu_norm",
    "dcnu",
    "dcnu_norm",
    "dc_perc",
    "gl_var",
    "dc_var",
    "dc_entr",
    "dc_energy",
];

/// All NGLDM features for the requested dimensionalities, tagged
/// `ngl_<name>_<2D|2_5D|3D>`.
pub fn compute(roi: &DiscreteRoi, settings: &TextureSettings) -> Features {
    let (delta, alpha) = (settings.ngldm_distance, settings.ngldm_alpha);
    let n_levels = roi.levels.iter().copied().max().unwrap_or(0) as usize;
    aggregate(
        roi,
        settings,
        "ngl",
        &NAMES,
        |block| dependence_matrix(&block, n_levels, delta, alpha),
        |parts| CountMatrix::merge(parts.iter()),
        |m| m.is_empty(),
        |m| m.run_features().to_vec(),
    )
}

/// The NGLDM of one block: voxels counted by `(grey level, dependence)` on a
/// dense grid (the dependence is at most the neighbourhood size + 1).
fn dependence_matrix(block: &Block, n_levels: usize, delta: usize, alpha: u32) -> CountMatrix {
    let hood = Neighbourhood::new(block, delta);
    let n_cols = hood.len() + 2;
    let mut counts = vec![0u64; (n_levels + 1) * n_cols];
    let mut n_voxels = 0;
    let [nx, ny, nz] = block.dims;
    for z in 0..nz {
        for y in 0..ny {
            for x in 0..nx {
                let level = block.levels[x + nx * (y + ny * z)];
                if level == 0 {
                    continue;
                }
                let mut k = 1;
                hood.for_each(x, y, z, |m| {
                    let l = block.levels[m];
                    if l > 0 && l.abs_diff(level) <= alpha {
                        k += 1;
                    }
                });
                counts[level as usize * n_cols + k] += 1;
                n_voxels += 1;
            }
        }
    }
    CountMatrix::from_dense(&counts, n_cols, n_voxels)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::test_support::{all_dims, get, roi};

    #[test]
    fn dependence_counts_the_centre() {
        // 3x1x1 of level 1, 1, 2: dependences 2, 2, 1.
        let f = compute(&roi([3, 1, 1], vec![1, 1, 2]), &all_dims());
        // lde = (1/4 + 1/4 + 1) / 3.
        assert!((get(&f, "ngl_lde_3D") - 0.5).abs() < 1e-12);
        assert_eq!(get(&f, "ngl_dc_perc_3D"), 1.0);
        // With α = 1 all three depend on each other: 2, 3, 2.
        let s = TextureSettings {
            ngldm_alpha: 1,
            ..all_dims()
        };
        let f = compute(&roi([3, 1, 1], vec![1, 1, 2]), &s);
        assert!((get(&f, "ngl_hde_2D") - (4.0 + 9.0 + 4.0) / 3.0).abs() < 1e-12);
    }

    #[test]
    fn degenerate_rois() {
        let f = compute(&roi([1, 1, 1], vec![4]), &all_dims());
        assert_eq!(f.len(), 51);
        assert!(f.iter().all(|(_, v)| v.is_finite()));
        assert_eq!(get(&f, "ngl_dc_energy_3D"), 1.0);
        let f = compute(&roi([2, 2, 1], vec![0; 4]), &all_dims());
        assert!(f.iter().all(|(_, v)| v.is_nan()));
    }
}
