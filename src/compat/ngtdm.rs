//! PyRadiomics `ngtdm` class: for every ROI voxel of level i, s_i accumulates
//! |i − mean level of its ROI neighbours| (26-neighbourhood, distance 1).
//! Unlike IBSI, voxels without any ROI neighbour still count in n_i (with a
//! difference of 0). p_i = n_i / N_vp over the levels present, N_gp their
//! number.

use super::pyradiomics::Crop;
use crate::features::padded::{Level, PaddedLevels};

/// The 5 NGTDM features, alphabetical (`original_ngtdm_*`).
pub(crate) fn compute<L: Level>(crop: &Crop, padded: &PaddedLevels<L>) -> Vec<(&'static str, f64)> {
    let hood = padded.neighbours();
    let ng = crop.n_g() as usize;
    let mut n = vec![0.0f64; ng + 1];
    let mut s = vec![0.0f64; ng + 1];
    padded.for_each_voxel(|i, l| {
        // Integer sums: exact, whatever the neighbour order.
        let (mut count, mut sum) = (0u32, 0u64);
        for &off in &hood {
            let m: u32 = padded.at(i, off).into();
            count += u32::from(m > 0);
            sum += u64::from(m);
        }
        let l: u32 = l.into();
        let diff = if count == 0 {
            0.0
        } else {
            (l as f64 - sum as f64 / count as f64).abs()
        };
        n[l as usize] += 1.0;
        s[l as usize] += diff;
    });
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
