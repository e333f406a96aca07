//! Grey level distance zone matrix (GLDZM) features, IBSI family *VMDZ*.
//!
//! Zones are those of the GLSZM (connected voxels of the intensity mask with
//! one grey level; 8-connectivity in 2D, 26 in 3D). The distance of a zone is
//! the smallest border distance of its voxels, where the border distance of a
//! voxel is its Manhattan (taxicab) distance to the nearest voxel outside the
//! **morphological** mask: voxels on the mask edge have distance 1. In 3D the
//! distance uses the 6-neighbourhood; in 2D and 2.5D it is computed per slice
//! with the in-plane 4-neighbourhood. Voxels beyond the crop count as outside.
//! Element `d_ij` counts zones with grey level `i` and distance `j`.
//!
//! Aggregation as for the GLSZM (see [`super::glszm`]). An empty intensity
//! mask gives `NaN` for every feature; a single zone gives the plain formula
//! values (variances and entropy 0).

use super::glszm::{aggregate, for_each_zone, Block, CountMatrix};
use super::{Features, TextureSettings};
use crate::roi::DiscreteRoi;

/// GLDZM feature names in output order, with their IBSI identifiers:
/// sde 0GBI, lde MB4I, lgze S1RA, hgze K26C, sdlge RUVG, sdhge DKNJ,
/// ldlge A7WM, ldhge KLTH, glnu VFT7, glnu_norm 7HP3, zdnu V294,
/// zdnu_norm IATH, z_perc VIWW, gl_var QK93, zd_var 7WT1, zd_entr GBDU.
///
/// Formulas (`N_s` zones, `d_.j`, `d_i.` marginals, `p_ij = d_ij / N_s`):
/// sde `Σ d_.j / j² / N_s`; lde `Σ j² d_.j / N_s`; lgze `Σ d_i. / i² / N_s`;
/// hgze `Σ i² d_i. / N_s`; sdlge `Σ d_ij / (i² j²) / N_s`; sdhge
/// `Σ i² d_ij / j² / N_s`; ldlge `Σ j² d_ij / i² / N_s`; ldhge
/// `Σ i² j² d_ij / N_s`; glnu `Σ d_i.² / N_s` (norm: `/ N_s²`); zdnu
/// `Σ d_.j² / N_s` (norm: `/ N_s²`); z_perc `N_s / N_v`; gl_var / zd_var
/// variance of `i` / `j` under `p_ij`; zd_entr `−Σ p_ij log2 p_ij`.
pub const NAMES: [&str; 16] = [
    "sde",
    "lde",
    "lgze",
    "hgze",
    "sdlge",
    "sdhge",
    "ldlge",
    "ldhge",
    "glnu",
    "glnu_norm",
    "zdnu",
    "zdnu_norm",
    "z_perc",
    "gl_var",
    "zd_var",
    "zd_entr",
];

/// All GLDZM features for the requested dimensionalities, tagged
/// `dzm_<name>_<2D|2_5D|3D>`.
pub fn compute(roi: &DiscreteRoi, settings: &TextureSettings) -> Features {
    aggregate(
        roi,
        settings,
        "dzm",
        &NAMES,
        |block| distance_zone_matrix(&block),
        |parts| CountMatrix::merge(parts.iter()),
        |m| m.is_empty(),
        |m| m.run_features()[..16].to_vec(),
    )
}

/// The GLDZM of one block: one `(grey level, zone distance)` pair per zone.
fn distance_zone_matrix(block: &Block) -> CountMatrix {
    let dist = border_distance(block.morph, block.dims, block.planar);
    let mut pairs = Vec::new();
    let mut n_voxels = 0u64;
    for_each_zone(block, |level, voxels| {
        // An intensity voxel outside the morphological mask (not produced by
        // the IBSI chain, where the intensity mask is a subset) has distance 0;
        // it is clamped to the edge distance 1 so that 1/j² stays finite.
        let d = voxels
            .iter()
            .map(|&v| dist[v as usize])
            .min()
            .unwrap_or(1)
            .max(1);
        pairs.push((level, d));
        n_voxels += voxels.len() as u64;
    });
    CountMatrix::from_pairs(pairs, n_voxels)
}

/// Manhattan distance of every mask voxel to the nearest voxel outside the
/// mask (0 outside, 1 on the edge), treating everything beyond the block as
/// outside. With `planar`, only in-plane (4-neighbour) steps are used.
///
/// Two raster passes (forward with the −x, −y, −z neighbours, backward with
/// the +x, +y, +z neighbours) give the exact city-block distance transform;
/// this equals the manual's iterative erosion with the 6- (4-) connected
/// structuring element.
pub(crate) fn border_distance(mask: &[bool], dims: [usize; 3], planar: bool) -> Vec<u32> {
    let [nx, ny, nz] = dims;
    let plane = nx * ny;
    let far = u32::MAX / 2;
    let mut d: Vec<u32> = mask.iter().map(|&m| if m { far } else { 0 }).collect();
    let use_z = !planar;
    for z in 0..nz {
        for y in 0..ny {
            for x in 0..nx {
                let i = x + nx * (y + ny * z);
                if d[i] == 0 {
                    continue;
                }
                let mut best = d[i];
                best = best.min(if x > 0 { d[i - 1] } else { 0 } + 1);
                best = best.min(if y > 0 { d[i - nx] } else { 0 } + 1);
                if use_z {
                    best = best.min(if z > 0 { d[i - plane] } else { 0 } + 1);
                }
                d[i] = best;
            }
        }
    }
    for z in (0..nz).rev() {
        for y in (0..ny).rev() {
            for x in (0..nx).rev() {
                let i = x + nx * (y + ny * z);
                if d[i] == 0 {
                    continue;
                }
                let mut best = d[i];
                best = best.min(if x + 1 < nx { d[i + 1] } else { 0 } + 1);
                best = best.min(if y + 1 < ny { d[i + nx] } else { 0 } + 1);
                if use_z {
                    best = best.min(if z + 1 < nz { d[i + plane] } else { 0 } + 1);
                }
                d[i] = best;
            }
        }
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::test_support::{all_dims, get, roi};

    /// Brute force: smallest |dx|+|dy|+|dz| to an outside voxel, with a
    /// one-voxel ring of outside voxels around the block.
    fn brute(mask: &[bool], dims: [usize; 3], planar: bool) -> Vec<u32> {
        let [nx, ny, nz] = dims;
        let inside = |x: isize, y: isize, z: isize| {
            x >= 0
                && y >= 0
                && z >= 0
                && (x as usize) < nx
                && (y as usize) < ny
                && (z as usize) < nz
                && mask[x as usize + nx * (y as usize + ny * z as usize)]
        };
        let mut out = vec![0; mask.len()];
        for z in 0..nz as isize {
            for y in 0..ny as isize {
                for x in 0..nx as isize {
                    if !inside(x, y, z) {
                        continue;
                    }
                    let mut best = u32::MAX;
                    for cz in -1..=nz as isize {
                        if planar && cz != z {
                            continue;
                        }
                        for cy in -1..=ny as isize {
                            for cx in -1..=nx as isize {
                                if !inside(cx, cy, cz) {
                                    let d = (cx - x).abs() + (cy - y).abs() + (cz - z).abs();
                                    best = best.min(d as u32);
                                }
                            }
                        }
                    }
                    out[x as usize + nx * (y as usize + ny * z as usize)] = best;
                }
            }
        }
        out
    }

    #[test]
    fn distance_transform_matches_brute_force() {
        let dims = [7, 6, 5];
        // A deterministic irregular mask with a hole.
        let mask: Vec<bool> = (0..7 * 6 * 5)
            .map(|i: usize| !(i * 7919 + i / 5).is_multiple_of(11))
            .collect();
        for planar in [false, true] {
            if planar {
                let plane = 42;
                for z in 0..5 {
                    let m = &mask[z * plane..(z + 1) * plane];
                    assert_eq!(
                        border_distance(m, [7, 6, 1], true),
                        brute(m, [7, 6, 1], true)
                    );
                }
            } else {
                assert_eq!(
                    border_distance(&mask, dims, false),
                    brute(&mask, dims, false)
                );
            }
        }
        // A full 5x5 square: the centre is 3 steps from the outside.
        let full = vec![true; 25];
        assert_eq!(border_distance(&full, [5, 5, 1], true)[12], 3);
        assert_eq!(border_distance(&full, [5, 5, 1], false)[12], 1);
    }

    #[test]
    fn zone_distance_is_the_minimum_over_its_voxels() {
        // 5x5 slice: centre voxel level 2 (distance 3), the rest level 1 (distance 1).
        let mut levels = vec![1; 25];
        levels[12] = 2;
        let f = compute(&roi([5, 5, 1], levels), &all_dims());
        // Zones: (1, d=1), (2, d=3). lde = (1 + 9) / 2.
        assert!((get(&f, "dzm_lde_2D") - 5.0).abs() < 1e-12);
        assert!((get(&f, "dzm_lde_2_5D") - 5.0).abs() < 1e-12);
        // In 3D the single slice is all edge.
        assert!((get(&f, "dzm_lde_3D") - 1.0).abs() < 1e-12);
    }

    #[test]
    fn degenerate_rois() {
        let f = compute(&roi([1, 1, 1], vec![3]), &all_dims());
        assert!(f.iter().all(|(_, v)| v.is_finite()));
        assert_eq!(get(&f, "dzm_sde_3D"), 1.0);
        let f = compute(&roi([2, 1, 1], vec![0, 0]), &all_dims());
        assert!(f.iter().all(|(_, v)| v.is_nan()));
    }
}
