//! PyRadiomics `ngtdm` class: for every ROI voxel of level i, s_i accumulates
//! |i − mean level of its ROI neighbours| (26-neighbourhood, distance 1).
//! Unlike IBSI, voxels without any ROI neighbour still count in n_i (with a
//! difference of 0). p_i = n_i / N_vp over the levels present, N_gp their
//! number.

use super::pyradiomics::Crop;
use crate::features::padded::{Level, PaddedLevels};

/// Bit from which [`packed`] stores ROI membership.
const COUNT_SHIFT: u32 = 20;
const _: () = assert!(27 * crate::preprocess::discretise::MAX_GREY_LEVELS < 1 << COUNT_SHIFT);

/// A voxel's level and ROI membership in one integer, so that one sum over a
/// neighbourhood gives both the sum of the levels (low bits) and the number
/// of ROI voxels (from bit [`COUNT_SHIFT`]): with at most 27 voxels of level
/// at most 4096 (`MAX_GREY_LEVELS`) the level sum stays below 2¹⁷, so the
/// fields never overflow into each other.
#[inline]
fn packed<L: Level>(l: L) -> u32 {
    let l: u32 = l.into();
    l | (u32::from(l > 0) << COUNT_SHIFT)
}

/// Calls `f(level, cube)` for every ROI voxel in storage order (`spans`: the
/// [`Crop::row_spans`] that hold them), `cube` being
/// the sum of [`packed`] over the 3×3×3 block around the voxel (itself
/// included). The cube sum is separable: sums of three along x, then of
/// three of those along y (per plane), then of three planes along z, which
/// is 6 additions per voxel instead of 26, over contiguous rows
/// (vectorised); integer sums are exact in any order.
fn for_each_cube_sum<L: Level>(
    padded: &PaddedLevels<L>,
    spans: &[(usize, usize)],
    mut f: impl FnMut(L, u32),
) {
    let [px, py, pz] = padded.dims;
    let plane = px * py;
    let data = &padded.data;
    let mut row = vec![0u32; px];
    let mut along_x = vec![0u32; plane];
    // Sums over x and y of the last three planes, plane z at z % 3.
    let mut along_xy = vec![0u32; 3 * plane];
    for z in 0..pz {
        for y in 0..py {
            let levels = &data[plane * z + px * y..][..px];
            for (p, &l) in row.iter_mut().zip(levels) {
                *p = packed(l);
            }
            let out = &mut along_x[px * y + 1..px * (y + 1) - 1];
            for (((o, &a), &b), &c) in out.iter_mut().zip(&row).zip(&row[1..]).zip(&row[2..]) {
                *o = a + b + c;
            }
        }
        let xy = &mut along_xy[plane * (z % 3)..][..plane];
        for y in 1..py - 1 {
            let out = &mut xy[px * y..][..px];
            let (a, b, c) = (
                &along_x[px * (y - 1)..][..px],
                &along_x[px * y..][..px],
                &along_x[px * (y + 1)..][..px],
            );
            for (((o, &a), &b), &c) in out.iter_mut().zip(a).zip(b).zip(c) {
                *o = a + b + c;
            }
        }
        // Plane z - 1 now has both of its neighbours.
        if z >= 2 {
            let centre = z - 1;
            let at = |k: usize| &along_xy[plane * (k % 3)..][..plane];
            let (a, b, c) = (at(centre - 1), at(centre), at(centre + 1));
            let levels = &data[plane * centre..][..plane];
            for y in 1..py - 1 {
                // The span of the row's ROI voxels (`spans`: block rows).
                let (first, end) = spans[(y - 1) + (py - 2) * (centre - 1)];
                for i in px * y + 1 + first..px * y + 1 + end {
                    let l = levels[i];
                    if l != L::default() {
                        f(l, a[i] + b[i] + c[i]);
                    }
                }
            }
        }
    }
}

/// The 5 NGTDM features, alphabetical (`original_ngtdm_*`).
pub(crate) fn compute<L: Level>(crop: &Crop, padded: &PaddedLevels<L>) -> Vec<(&'static str, f64)> {
    let ng = crop.n_g() as usize;
    // Voxels per level: those of the intensity mask, counted when binning.
    let count = &crop.level_counts;
    let mut s = vec![0.0f64; ng + 1];
    // The neighbours' mean sum / m of a voxel with m ROI neighbours, from a
    // table of every sum up to 26 N_g per m (the quotients of the same
    // divisions, computed once) when the ROI has more voxels than the
    // table has entries.
    let max_sum = 26 * ng + 1;
    let voxels: u64 = count.iter().sum();
    let quotients: Vec<f64> = if (26 * max_sum) as u64 <= voxels {
        (1..=26u32)
            .flat_map(|m| (0..max_sum).map(move |sum| sum as f64 / m as f64))
            .collect()
    } else {
        Vec::new()
    };
    for_each_cube_sum(padded, &crop.row_spans, |l, cube| {
        // The neighbours: the cube without the voxel itself.
        let l: u32 = l.into();
        let neighbours = (cube >> COUNT_SHIFT) - 1;
        let sum = (cube & ((1 << COUNT_SHIFT) - 1)) - l;
        let diff = if neighbours == 0 {
            0.0
        } else if quotients.is_empty() {
            (l as f64 - sum as f64 / neighbours as f64).abs()
        } else {
            (l as f64 - quotients[(neighbours as usize - 1) * max_sum + sum as usize]).abs()
        };
        s[l as usize] += diff;
    });
    // Voxel counts are integers: exact in f64.
    let n: Vec<f64> = count.iter().map(|&c| c as f64).collect();
    // Levels present only.
    let lv: Vec<usize> = (1..=ng).filter(|&l| n[l] > 0.0).collect();
    let nvp: f64 = lv.iter().map(|&l| n[l]).sum();
    let p: Vec<f64> = lv.iter().map(|&l| n[l] / nvp).collect();
    let si: Vec<f64> = lv.iter().map(|&l| s[l]).collect();
    let iv: Vec<f64> = lv.iter().map(|&l| l as f64).collect();
    let ngp = lv.len() as f64;
    let k = lv.len();
    let sum_s: f64 = si.iter().sum();
    let ps: f64 = (0..k).map(|a| p[a] * si[a]).sum();

    // Coarseness: 1 / Σ p_i s_i (1e6 when the sum is 0).
    let coarseness = if ps != 0.0 { 1.0 / ps } else { 1e6 };
    // Contrast: [Σ_ij p_i p_j (i − j)² / (N_gp (N_gp − 1))] · Σ s_i / N_vp.
    let mut c2 = 0.0;
    let mut absdiff = 0.0;
    let mut complexity = 0.0;
    let mut strength = 0.0;
    for a in 0..k {
        for b in 0..k {
            let d = iv[a] - iv[b];
            c2 += p[a] * p[b] * d * d;
            absdiff += (iv[a] * p[a] - iv[b] * p[b]).abs();
            complexity += d.abs() * (p[a] * si[a] + p[b] * si[b]) / (p[a] + p[b]);
            strength += (p[a] + p[b]) * d * d;
        }
    }
    let div = ngp * (ngp - 1.0);
    let contrast = if div != 0.0 {
        c2 * sum_s / nvp / div
    } else {
        0.0
    };
    // Busyness: Σ p_i s_i / Σ_ij |i p_i − j p_j|.
    let busyness = if absdiff != 0.0 { ps / absdiff } else { 0.0 };
    // Complexity: Σ_ij |i − j| (p_i s_i + p_j s_j) / (p_i + p_j) / N_vp.
    let complexity = complexity / nvp;
    // Strength: Σ_ij (p_i + p_j)(i − j)² / Σ s_i.
    let strength = if sum_s != 0.0 { strength / sum_s } else { 0.0 };
    vec![
        ("Busyness", busyness),
        ("Coarseness", coarseness),
        ("Complexity", complexity),
        ("Contrast", contrast),
        ("Strength", strength),
    ]
}
