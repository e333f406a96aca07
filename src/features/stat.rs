//! Intensity-based statistical features (IBSI family UHIW, tags `stat_*`).
//!
//! All features are computed from the set `X_gl` of the `N_v` intensities in
//! the ROI intensity mask, over the whole volume (aggregation DHQ4).
//!
//! Conventions shared with the intensity histogram family ([`super::ih`]):
//! * Percentiles use linear interpolation between order statistics (the
//!   "linear" / type 7 definition, as numpy's default): with the values sorted
//!   ascending `x_0 ≤ … ≤ x_{n−1}` and `h = (n − 1)·p`,
//!   `P_p = x_⌊h⌋ + (h − ⌊h⌋)(x_⌊h⌋+1 − x_⌊h⌋)`. This reproduces the IBSI
//!   reference values (e.g. P90 = 4, not 4.2, for the digital phantom). The
//!   median is `P_50`.
//! * Skewness and kurtosis are 0 when the variance is 0 (IBSI convention).
//! * A ratio whose denominator is 0 (coefficient of variation with mean 0,
//!   quartile coefficient of dispersion with `P75 + P25 = 0`) is `NaN`.
//! * An empty ROI gives `NaN` for every feature.

use super::Features;

/// Summary statistics of a sorted sample, shared by `stat_*` and `ih_*`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Summary {
    pub mean: f64,
    pub var: f64,
    pub skew: f64,
    pub kurt: f64,
    pub median: f64,
    pub min: f64,
    pub p10: f64,
    pub p25: f64,
    pub p75: f64,
    pub p90: f64,
    pub max: f64,
    pub mad: f64,
    pub rmad: f64,
    pub medad: f64,
    pub cov: f64,
    pub qcod: f64,
    pub energy: f64,
    pub rms: f64,
}

impl Summary {
    /// Every statistic `NaN` (empty sample).
    fn nan() -> Self {
        let n = f64::NAN;
        Summary {
            mean: n,
            var: n,
            skew: n,
            kurt: n,
            median: n,
            min: n,
            p10: n,
            p25: n,
            p75: n,
            p90: n,
            max: n,
            mad: n,
            rmad: n,
            medad: n,
            cov: n,
            qcod: n,
            energy: n,
            rms: n,
        }
    }
}

/// `p`-th quantile (`p` in [0, 1]) of ascending `sorted` by linear
/// interpolation between order statistics (see the module docs).
/// `NaN` for an empty slice.
pub(crate) fn percentile_sorted(sorted: &[f64], p: f64) -> f64 {
    let n = sorted.len();
    if n == 0 {
        return f64::NAN;
    }
    let h = (n - 1) as f64 * p.clamp(0.0, 1.0);
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(n - 1);
    let frac = h - lo as f64;
    let (a, b) = (sorted[lo], sorted[hi]);
    // Equal neighbours (the common case for integer data) need no arithmetic.
    if a == b || frac == 0.0 {
        a
    } else {
        a + frac * (b - a)
    }
}

/// `a / b`, or `NaN` when `b` is 0 (the ratio is undefined).
fn ratio(a: f64, b: f64) -> f64 {
    if b == 0.0 {
        f64::NAN
    } else {
        a / b
    }
}

/// Compute every [`Summary`] statistic of an ascending, finite sample.
pub(crate) fn summarise_sorted(sorted: &[f64]) -> Summary {
    let n = sorted.len();
    if n == 0 {
        return Summary::nan();
    }
    let nf = n as f64;
    let min = sorted[0];
    let max = sorted[n - 1];

    let (sum, energy) = sorted
        .iter()
        .fold((0.0, 0.0), |(s, e), &x| (s + x, e + x * x));
    // A constant sample's mean is its value, whatever the rounding of the sum.
    let constant = min == max;
    let mean = if constant { min } else { sum / nf };

    // Central moments in a second pass (numerically stable for HU-sized data).
    let (mut m2, mut m3, mut m4, mut abs_dev) = (0.0, 0.0, 0.0, 0.0);
    for &x in sorted {
        let d = x - mean;
        let d2 = d * d;
        m2 += d2;
        m3 += d2 * d;
        m4 += d2 * d2;
        abs_dev += d.abs();
    }
    let var = if constant { 0.0 } else { m2 / nf };
    let (skew, kurt) = if var == 0.0 {
        (0.0, 0.0)
    } else {
        ((m3 / nf) / var.powf(1.5), (m4 / nf) / (var * var) - 3.0)
    };
    let mad = if constant { 0.0 } else { abs_dev / nf };

    let median = percentile_sorted(sorted, 0.5);
    let p10 = percentile_sorted(sorted, 0.1);
    let p25 = percentile_sorted(sorted, 0.25);
    let p75 = percentile_sorted(sorted, 0.75);
    let p90 = percentile_sorted(sorted, 0.9);

    // Robust MAD: the voxels with P10 ≤ x ≤ P90 form a contiguous run of the
    // sorted sample.
    let lo = sorted.partition_point(|&x| x < p10);
    let hi = sorted.partition_point(|&x| x <= p90);
    let rmad = if hi > lo {
        let run = &sorted[lo..hi];
        if run[0] == run[run.len() - 1] {
            0.0
        } else {
            let m = run.iter().sum::<f64>() / run.len() as f64;
            run.iter().map(|&x| (x - m).abs()).sum::<f64>() / run.len() as f64
        }
    } else {
        // Possible for tiny samples (e.g. two distinct values).
        f64::NAN
    };
    let medad = sorted.iter().map(|&x| (x - median).abs()).sum::<f64>() / nf;

    Summary {
        mean,
        var,
        skew,
        kurt,
        median,
        min,
        p10,
        p25,
        p75,
        p90,
        max,
        mad,
        rmad,
        medad,
        cov: ratio(var.sqrt(), mean),
        qcod: ratio(p75 - p25, p75 + p25),
        energy,
        rms: (energy / nf).sqrt(),
    }
}

/// Intensity statistics (`stat_*`) of the intensity-mask values.
///
/// | tag | IBSI id | definition |
/// | --- | --- | --- |
/// | `stat_mean` | Q4LE | μ = Σ X_k / N_v |
/// | `stat_var` | ECT3 | Σ (X_k − μ)² / N_v (no bias correction) |
/// | `stat_skew` | KE2A | m₃ / m₂^{3/2}; 0 when the variance is 0 |
/// | `stat_kurt` | IPH6 | m₄ / m₂² − 3 (excess); 0 when the variance is 0 |
/// | `stat_median` | Y12H | P50 |
/// | `stat_min` | 1GSF | min X |
/// | `stat_p10` | QG58 | P10 |
/// | `stat_p90` | 8DWT | P90 |
/// | `stat_max` | 84IY | max X |
/// | `stat_iqr` | SALO | P75 − P25 |
/// | `stat_range` | 2OJQ | max X − min X |
/// | `stat_mad` | 4FUA | Σ \|X_k − μ\| / N_v |
/// | `stat_rmad` | 1128 | mean absolute deviation from their own mean of the X with P10 ≤ X ≤ P90 |
/// | `stat_medad` | N72L | Σ \|X_k − P50\| / N_v |
/// | `stat_cov` | 7TET | σ / μ (`NaN` when μ = 0) |
/// | `stat_qcod` | 9S40 | (P75 − P25) / (P75 + P25) (`NaN` when the sum is 0) |
/// | `stat_energy` | N8CA | Σ X_k² |
/// | `stat_rms` | 5ZWQ | √(Σ X_k² / N_v) |
///
/// Values need not be sorted; non-finite values are not expected.
pub fn compute(values: &[f64]) -> Features {
    let mut sorted = values.to_vec();
    sorted.sort_unstable_by(f64::total_cmp);
    let s = summarise_sorted(&sorted);
    [
        ("stat_mean", s.mean),
        ("stat_var", s.var),
        ("stat_skew", s.skew),
        ("stat_kurt", s.kurt),
        ("stat_median", s.median),
        ("stat_min", s.min),
        ("stat_p10", s.p10),
        ("stat_p90", s.p90),
        ("stat_max", s.max),
        ("stat_iqr", s.p75 - s.p25),
        ("stat_range", s.max - s.min),
        ("stat_mad", s.mad),
        ("stat_rmad", s.rmad),
        ("stat_medad", s.medad),
        ("stat_cov", s.cov),
        ("stat_qcod", s.qcod),
        ("stat_energy", s.energy),
        ("stat_rms", s.rms),
    ]
    .into_iter()
    .map(|(t, v)| (t.to_string(), v))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::features::test_support::get;

    #[test]
    fn percentiles_interpolate_linearly() {
        let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0];
        // h = 9p: P10 → 0.9 → 1.9; P25 → 2.25 → 3.25; P50 → 4.5 → 5.5; P90 → 8.1 → 9.1.
        assert!((percentile_sorted(&x, 0.1) - 1.9).abs() < 1e-12);
        assert!((percentile_sorted(&x, 0.25) - 3.25).abs() < 1e-12);
        assert!((percentile_sorted(&x, 0.5) - 5.5).abs() < 1e-12);
        assert!((percentile_sorted(&x, 0.9) - 9.1).abs() < 1e-12);
        assert_eq!(percentile_sorted(&x, 0.0), 1.0);
        assert_eq!(percentile_sorted(&x, 1.0), 10.0);
        assert_eq!(percentile_sorted(&[7.0], 0.9), 7.0);
        assert!(percentile_sorted(&[], 0.5).is_nan());
    }

    #[test]
    fn small_sample_by_hand() {
        // 1, 2, 3, 4, 10: μ = 4, var = (9 + 4 + 1 + 0 + 36) / 5 = 10.
        let f = compute(&[4.0, 10.0, 1.0, 3.0, 2.0]);
        assert_eq!(f.len(), 18);
        assert!((get(&f, "stat_mean") - 4.0).abs() < 1e-12);
        assert!((get(&f, "stat_var") - 10.0).abs() < 1e-12);
        // m3 = (−27 − 8 − 1 + 0 + 216) / 5 = 36; skew = 36 / 10^1.5.
        assert!((get(&f, "stat_skew") - 36.0 / 10f64.powf(1.5)).abs() < 1e-12);
        // m4 = (81 + 16 + 1 + 0 + 1296) / 5 = 278.8; kurt = 2.788 − 3.
        assert!((get(&f, "stat_kurt") - (2.788 - 3.0)).abs() < 1e-12);
        assert_eq!(get(&f, "stat_median"), 3.0);
        // h = 4p: P10 = 1.4, P25 = 2, P75 = 4, P90 = 4 + 0.6·6 = 7.6.
        assert!((get(&f, "stat_p10") - 1.4).abs() < 1e-12);
        assert!((get(&f, "stat_p90") - 7.6).abs() < 1e-12);
        assert_eq!(get(&f, "stat_iqr"), 2.0);
        assert!((get(&f, "stat_qcod") - 2.0 / 6.0).abs() < 1e-12);
        assert_eq!(get(&f, "stat_range"), 9.0);
        // MAD = (3 + 2 + 1 + 0 + 6) / 5; medAD = (2 + 1 + 0 + 1 + 7) / 5.
        assert!((get(&f, "stat_mad") - 2.4).abs() < 1e-12);
        assert!((get(&f, "stat_medad") - 2.2).abs() < 1e-12);
        // Robust set [1.4, 7.6] → {2, 3, 4}: mean 3, MAD 2/3.
        assert!((get(&f, "stat_rmad") - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(get(&f, "stat_energy"), 130.0);
        assert!((get(&f, "stat_rms") - 26f64.sqrt()).abs() < 1e-12);
        assert!((get(&f, "stat_cov") - 10f64.sqrt() / 4.0).abs() < 1e-12);
    }

    #[test]
    fn constant_roi_follows_ibsi_conventions() {
        let f = compute(&[0.1; 7]);
        assert_eq!(get(&f, "stat_var"), 0.0);
        assert_eq!(get(&f, "stat_skew"), 0.0);
        assert_eq!(get(&f, "stat_kurt"), 0.0);
        assert_eq!(get(&f, "stat_mad"), 0.0);
        assert_eq!(get(&f, "stat_rmad"), 0.0);
        assert_eq!(get(&f, "stat_iqr"), 0.0);
        assert_eq!(get(&f, "stat_cov"), 0.0);
        // Zero mean: the coefficient of variation is undefined.
        let z = compute(&[0.0; 3]);
        assert!(get(&z, "stat_cov").is_nan());
        assert!(get(&z, "stat_qcod").is_nan());
    }

    #[test]
    fn empty_roi_gives_nan() {
        let f = compute(&[]);
        assert_eq!(f.len(), 18);
        assert!(f.iter().all(|(_, v)| v.is_nan()));
    }
}
