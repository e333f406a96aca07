//! PyRadiomics `firstorder` class (PyRadiomics names; IBSI counterparts noted).
//!
//! X is the vector of the N ROI intensities (float64), `c` the
//! `voxelArrayShift`, `p_i` the fraction of voxels in bin i.

use super::pyradiomics::Crop;
use super::{entropy_term, nanmean};

/// `numpy.percentile` with linear interpolation. `v` is reordered: the two
/// order statistics needed are found by selection, O(N) instead of a sort.
fn percentile(v: &mut [f64], q: f64) -> f64 {
    let h = (v.len() - 1) as f64 * q / 100.0;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(v.len() - 1);
    let t = h - lo as f64;
    let (_, &mut a, right) = v.select_nth_unstable_by(lo, f64::total_cmp);
    let b = if hi == lo {
        a
    } else {
        right.iter().copied().min_by(f64::total_cmp).unwrap_or(a)
    };
    // numpy's _lerp: a + t (b - a), evaluated from b for t ≥ 0.5.
    if t >= 0.5 {
        b - (b - a) * (1.0 - t)
    } else {
        a + (b - a) * t
    }
}

/// All 18 default first-order features, alphabetical (PyRadiomics order).
pub(crate) fn compute(crop: &Crop, shift: f64) -> Vec<(&'static str, f64)> {
    let x: Vec<f64> = crop.roi_values.iter().map(|&v| v as f64).collect();
    let n = x.len() as f64;
    let mut order = x.clone();
    let mean = x.iter().sum::<f64>() / n;
    let moment = |k: i32| x.iter().map(|v| (v - mean).powi(k)).sum::<f64>() / n;
    let m2 = moment(2);
    let (m3, m4) = (moment(3), moment(4));
    // Flat region: PyRadiomics divides by 1 instead of 0 (numerators are 0).
    let m2d = if m2 == 0.0 { 1.0 } else { m2 };
    let energy: f64 = x.iter().map(|v| (v + shift).powi(2)).sum();
    let voxel_volume: f64 = crop.spacing.iter().product();
    let p10 = percentile(&mut order, 10.0);
    let p90 = percentile(&mut order, 90.0);
    let (p25, p50, p75) = (
        percentile(&mut order, 25.0),
        percentile(&mut order, 50.0),
        percentile(&mut order, 75.0),
    );
    // Robust MAD: voxels with p10 ≤ X ≤ p90, mean absolute deviation from their mean.
    let robust: Vec<f64> = x
        .iter()
        .copied()
        .filter(|&v| v >= p10 && v <= p90)
        .collect();
    let rmean = nanmean(&robust);
    let rmad = robust.iter().map(|v| (v - rmean).abs()).sum::<f64>() / robust.len() as f64;
    // Histogram of bins present (every present level has a count > 0).
    let p: Vec<f64> = crop
        .level_counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| c as f64 / n)
        .collect();
    let min = x.iter().copied().min_by(f64::total_cmp).unwrap_or(f64::NAN);
    let max = x.iter().copied().max_by(f64::total_cmp).unwrap_or(f64::NAN);
    vec![
        // stat_p10
        ("10Percentile", p10),
        // stat_p90
        ("90Percentile", p90),
        // stat_energy (with voxelArrayShift c): Σ (X + c)²
        ("Energy", energy),
        // ih_entropy-like, on the binned histogram: -Σ p log2(p + eps)
        ("Entropy", p.iter().map(|&p| entropy_term(p)).sum()),
        // stat_iqr
        ("InterquartileRange", p75 - p25),
        // stat_kurt without the -3: m4 / m2²
        ("Kurtosis", m4 / (m2d * m2d)),
        ("Maximum", max),
        // stat_mad: mean |X - mean|
        (
            "MeanAbsoluteDeviation",
            x.iter().map(|v| (v - mean).abs()).sum::<f64>() / n,
        ),
        ("Mean", mean),
        ("Median", p50),
        ("Minimum", min),
        ("Range", max - min),
        // stat_rmad
        ("RobustMeanAbsoluteDeviation", rmad),
        // stat_rms with shift: sqrt(Σ (X + c)² / N)
        ("RootMeanSquared", (energy / n).sqrt()),
        // stat_skew: m3 / m2^1.5
        ("Skewness", m3 / m2d.powf(1.5)),
        // Energy × voxel volume (mm³)
        ("TotalEnergy", energy * voxel_volume),
        // ih_uniformity on the binned histogram: Σ p²
        ("Uniformity", p.iter().map(|p| p * p).sum()),
        // stat_var: population variance
        ("Variance", m2),
    ]
}
