//! Intensity histogram features (IBSI family ZVCW, tags `ih_*`).
//!
//! Computed from the discretised grey levels `X_d` (1-based) of the `N_v`
//! voxels in the ROI intensity mask, with histogram `H = {n_1, …, n_{N_g}}` and
//! `p_i = n_i / N_v`. The moment, percentile and deviation features follow the
//! same conventions as [`super::stat`] (linear-interpolation percentiles,
//! skewness/kurtosis 0 for zero variance, `NaN` for undefined ratios).

use super::stat::{summarise_sorted, Summary};
use super::Features;

/// The non-sparse histogram `n_1..=n_{N_g}` (index 0 is level 1).
///
/// `N_g` is `n_levels`, widened to the largest level present so that no voxel
/// is lost. Level 0 marks "outside the intensity mask" (as in
/// [`crate::roi::DiscreteRoi`]) and is not counted.
fn histogram(levels: &[u32], n_levels: u32) -> Vec<u64> {
    let top = levels
        .iter()
        .copied()
        .max()
        .unwrap_or(0)
        .max(n_levels)
        .max(1);
    let mut h = vec![0u64; top as usize];
    for &l in levels {
        if l > 0 {
            h[l as usize - 1] += 1;
        }
    }
    h
}

/// Histogram gradient `H'` (used by IBSI 12CE, 8E6O, VQB3, RHQZ):
/// `n_2 − n_1` at the first bin, `(n_{i+1} − n_{i−1}) / 2` inside and
/// `n_{N_g} − n_{N_g−1}` at the last bin. A one-bin histogram has gradient 0.
fn gradient(h: &[u64]) -> Vec<f64> {
    let n = h.len();
    if n < 2 {
        return vec![0.0; n];
    }
    let c = |i: usize| h[i] as f64;
    (0..n)
        .map(|i| {
            if i == 0 {
                c(1) - c(0)
            } else if i == n - 1 {
                c(n - 1) - c(n - 2)
            } else {
                (c(i + 1) - c(i - 1)) / 2.0
            }
        })
        .collect()
}

/// Mode (IBSI AMMC): the level with the highest count; among ties the one
/// closest to the mean, and of two equidistant ones the lower.
fn mode(h: &[u64], mean: f64) -> f64 {
    let top = h.iter().copied().max().unwrap_or(0);
    if top == 0 {
        return f64::NAN;
    }
    let mut best: Option<(f64, f64)> = None; // (distance to mean, level)
    for (i, &c) in h.iter().enumerate() {
        if c == top {
            let level = (i + 1) as f64;
            let d = (level - mean).abs();
            // Strictly closer only: ascending scan keeps the lower level on ties.
            if best.is_none_or(|(bd, _)| d < bd) {
                best = Some((d, level));
            }
        }
    }
    best.map_or(f64::NAN, |(_, l)| l)
}

/// Intensity histogram features (`ih_*`) of discretised grey levels (1-based)
/// of the intensity-mask voxels; `n_levels` is N_g of the discretisation.
///
/// | tag | IBSI id | definition |
/// | --- | --- | --- |
/// | `ih_mean` | X6K6 | μ = Σ i p_i |
/// | `ih_var` | CH89 | Σ (i − μ)² p_i |
/// | `ih_skew` | 88K1 | m₃ / m₂^{3/2}; 0 when the variance is 0 |
/// | `ih_kurt` | C3I7 | m₄ / m₂² − 3 (excess); 0 when the variance is 0 |
/// | `ih_median` | WIFQ | P50 of X_d |
/// | `ih_min` | 1PR8 | min X_d |
/// | `ih_p10` | 1PR8 | P10 of X_d |
/// | `ih_p90` | GPMT | P90 of X_d |
/// | `ih_max` | 3NCY | max X_d |
/// | `ih_mode` | AMMC | most frequent level (ties: closest to μ, then lower) |
/// | `ih_iqr` | WR0O | P75 − P25 |
/// | `ih_range` | 5Z3W | max X_d − min X_d |
/// | `ih_mad` | D2ZX | Σ \|X_d − μ\| / N_v |
/// | `ih_rmad` | WRZB | mean absolute deviation of the X_d with P10 ≤ X_d ≤ P90 |
/// | `ih_medad` | 4RNL | Σ \|X_d − P50\| / N_v |
/// | `ih_cov` | CWYJ | σ / μ |
/// | `ih_qcod` | SLWD | (P75 − P25) / (P75 + P25) |
/// | `ih_entropy` | TLU2 | −Σ p_i log₂ p_i |
/// | `ih_uniformity` | BJ5W | Σ p_i² |
/// | `ih_max_grad` | 12CE | max H' |
/// | `ih_max_grad_g` | 8E6O | level of max H' (lowest on ties) |
/// | `ih_min_grad` | VQB3 | min H' |
/// | `ih_min_grad_g` | RHQZ | level of min H' (lowest on ties) |
///
/// The gradient runs over the full non-sparse histogram `1..=N_g`.
pub fn compute(levels: &[u32], n_levels: u32) -> Features {
    let h = histogram(levels, n_levels);
    let nv: u64 = h.iter().sum();

    let tags = [
        "ih_mean",
        "ih_var",
        "ih_skew",
        "ih_kurt",
        "ih_median",
        "ih_min",
        "ih_p10",
        "ih_p90",
        "ih_max",
        "ih_mode",
        "ih_iqr",
        "ih_range",
        "ih_mad",
        "ih_rmad",
        "ih_medad",
        "ih_cov",
        "ih_qcod",
        "ih_entropy",
        "ih_uniformity",
        "ih_max_grad",
        "ih_max_grad_g",
        "ih_min_grad",
        "ih_min_grad_g",
    ];
    if nv == 0 {
        return tags.iter().map(|t| (t.to_string(), f64::NAN)).collect();
    }

    // Counting sort: the sorted sample straight from the histogram.
    let mut sorted = Vec::with_capacity(nv as usize);
    for (i, &c) in h.iter().enumerate() {
        sorted.extend(std::iter::repeat_n((i + 1) as f64, c as usize));
    }
    let s: Summary = summarise_sorted(&sorted);

    let nvf = nv as f64;
    let (mut entropy, mut uniformity) = (0.0, 0.0);
    for &c in h.iter().filter(|&&c| c > 0) {
        let p = c as f64 / nvf;
        entropy -= p * p.log2();
        uniformity += p * p;
    }

    let g = gradient(&h);
    // First index of the extreme value: the lowest level on ties.
    let (mut imax, mut imin) = (0usize, 0usize);
    for (i, &v) in g.iter().enumerate() {
        if v > g[imax] {
            imax = i;
        }
        if v < g[imin] {
            imin = i;
        }
    }

    let values = [
        s.mean,
        s.var,
        s.skew,
        s.kurt,
        s.median,
        s.min,
        s.p10,
        s.p90,
        s.max,
        mode(&h, s.mean),
        s.p75 - s.p25,
        s.max - s.min,
        s.mad,
        s.rmad,
        s.medad,
        s.cov,
        s.qcod,
        entropy,
        uniformity,
        g[imax],
        (imax + 1) as f64,
        g[imin],
        (imin + 1) as f64,
    ];
    tags.iter()
        .zip(values)
        .map(|(t, v)| (t.to_string(), v))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::features::test_support::get;

    #[test]
    fn histogram_features_by_hand() {
        // Levels 1×2, 2×1, 4×1 with N_g = 4: H = [2, 1, 0, 1].
        let f = compute(&[1, 4, 2, 1], 4);
        assert_eq!(f.len(), 23);
        assert!((get(&f, "ih_mean") - 2.0).abs() < 1e-12);
        // p = [0.5, 0.25, 0, 0.25]: entropy 1.5 bits, uniformity 0.375.
        assert!((get(&f, "ih_entropy") - 1.5).abs() < 1e-12);
        assert!((get(&f, "ih_uniformity") - 0.375).abs() < 1e-12);
        // H' = [1 − 2, (0 − 2)/2, (1 − 1)/2, 1 − 0] = [−1, −1, 0, 1].
        assert_eq!(get(&f, "ih_max_grad"), 1.0);
        assert_eq!(get(&f, "ih_max_grad_g"), 4.0);
        assert_eq!(get(&f, "ih_min_grad"), -1.0);
        assert_eq!(get(&f, "ih_min_grad_g"), 1.0);
        assert_eq!(get(&f, "ih_mode"), 1.0);
        assert_eq!(get(&f, "ih_min"), 1.0);
        assert_eq!(get(&f, "ih_max"), 4.0);
        assert_eq!(get(&f, "ih_range"), 3.0);
        // Sorted 1, 1, 2, 4: median 1.5.
        assert_eq!(get(&f, "ih_median"), 1.5);
    }

    #[test]
    fn mode_ties_go_to_the_level_closest_to_the_mean() {
        // Levels 1 and 3 twice, 6 once: μ = 14/5 = 2.8, so 3 wins.
        let f = compute(&[1, 1, 3, 3, 6], 6);
        assert_eq!(get(&f, "ih_mode"), 3.0);
        // Equidistant ties (1 and 3 around μ = 2): the lower level.
        let g = compute(&[1, 3], 3);
        assert_eq!(get(&g, "ih_mode"), 1.0);
    }

    #[test]
    fn single_level_is_degenerate_but_defined() {
        let f = compute(&[3; 10], 5);
        assert_eq!(get(&f, "ih_var"), 0.0);
        assert_eq!(get(&f, "ih_skew"), 0.0);
        assert_eq!(get(&f, "ih_kurt"), 0.0);
        assert_eq!(get(&f, "ih_entropy"), 0.0);
        assert_eq!(get(&f, "ih_uniformity"), 1.0);
        assert_eq!(get(&f, "ih_mode"), 3.0);
        // H = [0, 0, 10, 0, 0]: H' = [0, 5, 0, −5, 0].
        assert_eq!(get(&f, "ih_max_grad"), 5.0);
        assert_eq!(get(&f, "ih_max_grad_g"), 2.0);
        assert_eq!(get(&f, "ih_min_grad"), -5.0);
        assert_eq!(get(&f, "ih_min_grad_g"), 4.0);
        // One bin only: gradient 0.
        let one = compute(&[1, 1], 1);
        assert_eq!(get(&one, "ih_max_grad"), 0.0);
        assert_eq!(get(&one, "ih_min_grad_g"), 1.0);
    }

    #[test]
    fn empty_and_out_of_range_levels() {
        assert!(compute(&[], 4).iter().all(|(_, v)| v.is_nan()));
        // Level 0 (outside the mask) is ignored; a level above n_levels widens H.
        let f = compute(&[0, 2, 7], 4);
        assert_eq!(get(&f, "ih_mean"), 4.5);
        assert_eq!(get(&f, "ih_max"), 7.0);
    }
}
