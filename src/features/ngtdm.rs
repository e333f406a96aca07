//! Neighbourhood grey tone difference matrix (NGTDM) features, IBSI family *IPET*.
//!
//! For every voxel `k` of the intensity mask, `X̄_k` is the mean grey level of
//! its neighbours within Chebyshev distance δ (`settings.ngtdm_distance`),
//! excluding the centre and counting only neighbours inside the intensity
//! mask; `W_k` is the number of such neighbours. Voxels with `W_k = 0` have no
//! valid neighbourhood and are skipped (the IBSI deviation from Amadasun and
//! King: incomplete neighbourhoods are still used). Then
//! `s_i = Σ_{k: X_k = i, W_k > 0} |i − X̄_k|`, `n_i` = number of such voxels,
//! `N_v,c = Σ n_i`, `p_i = n_i / N_v,c`, and `N_g,p` is the number of grey
//! levels with `p_i > 0`. In 2D the neighbourhood is in-plane.
//!
//! Aggregation: `2D` averages the per-slice features over slices that have at
//! least one valid neighbourhood; `2_5D` sums `s_i` and `n_i` over slices and
//! recomputes `p_i` and `N_v,c`; `3D` uses one volumetric matrix.
//!
//! Degenerate cases follow the manual: `Σ p_i s_i = 0` gives coarseness 10⁶;
//! `N_g,p = 1` gives contrast 0 and busyness 0; `Σ s_i = 0` gives strength 0.
//! Busyness with `N_g,p > 1` but a zero denominator `Σ |i p_i − j p_j|` is
//! undefined and `NaN`. A matrix without any valid neighbourhood (`N_v,c = 0`,
//! e.g. a single voxel) gives `NaN` for every feature.

use super::glszm::{aggregate, Block, Neighbourhood};
use super::{Features, TextureSettings};
use crate::roi::DiscreteRoi;

/// NGTDM feature names in output order, with their IBSI identifiers:
/// coarseness QCDE, contrast 65HE, busyness NQ30, complexity HDEZ, strength 1X9X.
pub const NAMES: [&str; 5] = [
    "coarseness",
    "contrast",
    "busyness",
    "complexity",
    "strength",
];

/// The arbitrary maximum coarseness set by the manual.
pub const MAX_COARSENESS: f64 = 1e6;

/// All NGTDM features for the requested dimensionalities, tagged
/// `ngt_<name>_<2D|2_5D|3D>`.
pub fn compute(roi: &DiscreteRoi, settings: &TextureSettings) -> Features {
    let n_levels = roi
        .levels
        .iter()
        .copied()
        .max()
        .unwrap_or(0)
        .max(roi.n_levels) as usize;
    let delta = settings.ngtdm_distance;
    aggregate(
        roi,
        settings,
        "ngt",
        &NAMES,
        |block| Ngtdm::build(&block, n_levels, delta),
        Ngtdm::merge,
        |m| m.n_vc() == 0,
        |m| m.features().to_vec(),
    )
}

/// The NGTDM: `s_i` and `n_i` for grey levels `i = 0..=N_g` (index 0 unused).
#[derive(Debug, Clone, PartialEq)]
struct Ngtdm {
    s: Vec<f64>,
    n: Vec<u64>,
}

impl Ngtdm {
    fn build(block: &Block, n_levels: usize, delta: usize) -> Self {
        let mut s = vec![0.0; n_levels + 1];
        let mut n = vec![0u64; n_levels + 1];
        let hood = Neighbourhood::new(block, delta);
        let [nx, ny, nz] = block.dims;
        for z in 0..nz {
            for y in 0..ny {
                for x in 0..nx {
                    let level = block.levels[x + nx * (y + ny * z)];
                    if level == 0 {
                        continue;
                    }
                    let (mut sum, mut w) = (0u64, 0u64);
                    hood.for_each(x, y, z, |j| {
                        let l = block.levels[j];
                        if l > 0 {
                            sum += l as u64;
                            w += 1;
                        }
                    });
                    if w > 0 {
                        let i = level as usize;
                        s[i] += (level as f64 - sum as f64 / w as f64).abs();
                        n[i] += 1;
                    }
                }
            }
        }
        Ngtdm { s, n }
    }

    /// 2.5D merge: `s_i` and `n_i` summed over slices.
    fn merge(parts: &[Ngtdm]) -> Ngtdm {
        let len = parts.iter().map(|p| p.s.len()).max().unwrap_or(1);
        let mut out = Ngtdm {
            s: vec![0.0; len],
            n: vec![0; len],
        };
        for p in parts {
            for (i, (&s, &n)) in p.s.iter().zip(&p.n).enumerate() {
                out.s[i] += s;
                out.n[i] += n;
            }
        }
        out
    }

    /// `N_v,c`: voxels with a valid neighbourhood.
    fn n_vc(&self) -> u64 {
        self.n.iter().sum()
    }

    /// `[coarseness, contrast, busyness, complexity, strength]`.
    fn features(&self) -> [f64; 5] {
        let n_vc = self.n_vc();
        if n_vc == 0 {
            return [f64::NAN; 5];
        }
        // (i, p_i, s_i) for the grey levels with p_i > 0.
        let present: Vec<(f64, f64, f64)> = (1..self.n.len())
            .filter(|&i| self.n[i] > 0)
            .map(|i| (i as f64, self.n[i] as f64 / n_vc as f64, self.s[i]))
            .collect();
        [
            coarseness(&present),
            contrast(&present, n_vc as f64),
            busyness(&present),
            complexity(&present, n_vc as f64),
            strength(&present),
        ]
    }
}

/// Coarseness (QCDE): `1 / Σ p_i s_i`, capped at 10⁶ (the manual's value
/// when the sum is 0).
fn coarseness(present: &[(f64, f64, f64)]) -> f64 {
    let sum: f64 = present.iter().map(|&(_, p, s)| p * s).sum();
    if sum * MAX_COARSENESS <= 1.0 {
        MAX_COARSENESS
    } else {
        1.0 / sum
    }
}

/// Contrast (65HE):
/// `[Σ_{i1,i2} p_i1 p_i2 (i1 − i2)² / (N_g,p (N_g,p − 1))] · [Σ s_i / N_v,c]`;
/// 0 when `N_g,p = 1`.
fn contrast(present: &[(f64, f64, f64)], n_vc: f64) -> f64 {
    let ngp = present.len() as f64;
    if present.len() <= 1 {
        return 0.0;
    }
    let mut range = 0.0;
    for &(i1, p1, _) in present {
        for &(i2, p2, _) in present {
            range += p1 * p2 * (i1 - i2) * (i1 - i2);
        }
    }
    let change: f64 = present.iter().map(|&(_, _, s)| s).sum::<f64>() / n_vc;
    range / (ngp * (ngp - 1.0)) * change
}

/// Busyness (NQ30): `Σ p_i s_i / Σ_{i1,i2} |i1 p_i1 − i2 p_i2|` over grey
/// levels with `p > 0`; 0 when `N_g,p = 1`, `NaN` when the denominator
/// vanishes otherwise.
fn busyness(present: &[(f64, f64, f64)]) -> f64 {
    if present.len() <= 1 {
        return 0.0;
    }
    let num: f64 = present.iter().map(|&(_, p, s)| p * s).sum();
    let mut den = 0.0;
    for &(i1, p1, _) in present {
        for &(i2, p2, _) in present {
            den += (i1 * p1 - i2 * p2).abs();
        }
    }
    if den == 0.0 {
        f64::NAN
    } else {
        num / den
    }
}

/// Complexity (HDEZ):
/// `(1/N_v,c) Σ_{i1,i2} |i1 − i2| (p_i1 s_i1 + p_i2 s_i2) / (p_i1 + p_i2)`
/// over grey levels with `p > 0`.
fn complexity(present: &[(f64, f64, f64)], n_vc: f64) -> f64 {
    let mut sum = 0.0;
    for &(i1, p1, s1) in present {
        for &(i2, p2, s2) in present {
            sum += (i1 - i2).abs() * (p1 * s1 + p2 * s2) / (p1 + p2);
        }
    }
    sum / n_vc
}

/// Strength (1X9X): `Σ_{i1,i2} (p_i1 + p_i2)(i1 − i2)² / Σ s_i` over grey
/// levels with `p > 0`; 0 when `Σ s_i = 0`.
fn strength(present: &[(f64, f64, f64)]) -> f64 {
    let total: f64 = present.iter().map(|&(_, _, s)| s).sum();
    if total == 0.0 {
        return 0.0;
    }
    let mut sum = 0.0;
    for &(i1, p1, _) in present {
        for &(i2, p2, _) in present {
            sum += (p1 + p2) * (i1 - i2) * (i1 - i2);
        }
    }
    sum / total
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::test_support::{all_dims, get, roi};

    #[test]
    fn constant_roi_uses_manual_conventions() {
        let f = compute(&roi([3, 3, 2], vec![5; 18]), &all_dims());
        for d in ["2D", "2_5D", "3D"] {
            assert_eq!(get(&f, &format!("ngt_coarseness_{d}")), MAX_COARSENESS);
            assert_eq!(get(&f, &format!("ngt_contrast_{d}")), 0.0);
            assert_eq!(get(&f, &format!("ngt_busyness_{d}")), 0.0);
            assert_eq!(get(&f, &format!("ngt_complexity_{d}")), 0.0);
            assert_eq!(get(&f, &format!("ngt_strength_{d}")), 0.0);
        }
    }

    #[test]
    fn single_voxel_has_no_neighbourhood() {
        let f = compute(&roi([1, 1, 1], vec![2]), &all_dims());
        assert_eq!(f.len(), 15);
        assert!(f.iter().all(|(_, v)| v.is_nan()));
    }

    #[test]
    fn two_voxels() {
        // Levels 1 and 3 side by side: each voxel's neighbour mean is the other.
        let f = compute(&roi([2, 1, 1], vec![1, 3]), &all_dims());
        // p = 1/2 each, s = 2 each: Σ p s = 2.
        assert!((get(&f, "ngt_coarseness_3D") - 0.5).abs() < 1e-12);
        // contrast: (2 · ¼ · 4) / 2 · (4 / 2) = 2.
        assert!((get(&f, "ngt_contrast_3D") - 2.0).abs() < 1e-12);
        // busyness: 2 / (2 · |0.5 − 1.5|) = 1.
        assert!((get(&f, "ngt_busyness_3D") - 1.0).abs() < 1e-12);
        // complexity: (1/2) · 2 · 2 · (1 + 1) / 1 = 4.
        assert!((get(&f, "ngt_complexity_3D") - 4.0).abs() < 1e-12);
        // strength: 2 · 1 · 4 / 4 = 2.
        assert!((get(&f, "ngt_strength_3D") - 2.0).abs() < 1e-12);
    }
}
