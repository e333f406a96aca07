//! PyRadiomics `firstorder` class (PyRadiomics names; IBSI counterparts noted).
//!
//! X is the vector of the N ROI intensities (float64), `c` the
//! `voxelArrayShift`, `p_i` the fraction of voxels in bin i.

use super::entropy_term;
use super::pyradiomics::Crop;

/// The percentiles of the ROI intensities that the features use.
const PERCENTILES: [f64; 5] = [10.0, 25.0, 50.0, 75.0, 90.0];

/// The two ranks (0-based order statistics) that `numpy.percentile`
/// interpolates between for percentile `q` of `n` values, and the weight.
fn percentile_ranks(n: usize, q: f64) -> (usize, usize, f64) {
    let h = (n - 1) as f64 * q / 100.0;
    let lo = h.floor() as usize;
    (lo, (lo + 1).min(n - 1), h - lo as f64)
}

/// Order statistics of the ROI intensities: `get(k)` is the k-th smallest
/// (0-based), as a sort with [`f64::total_cmp`] would place it.
enum OrderStats {
    /// Integer intensities in a modest range (CT in HU): cumulative counts
    /// per integer from `min`, from one counting pass.
    Counts { min: i32, cumulative: Vec<u32> },
    /// Any other intensities: the extremes and the ranks of [`PERCENTILES`],
    /// found by selection on a copy of the values, O(N) instead of a sort.
    Selected(Vec<(usize, f64)>),
}

impl OrderStats {
    /// Widest integer range counted (256 KiB of counts); wider ranges select.
    const MAX_RANGE: usize = 1 << 16;

    /// From the count of every integer from `min`.
    fn from_counts(min: i32, mut counts: Vec<u32>) -> Self {
        let mut acc = 0;
        for c in counts.iter_mut() {
            acc += *c;
            *c = acc;
        }
        OrderStats::Counts {
            min,
            cumulative: counts,
        }
    }

    fn select(x: &[f32]) -> Self {
        let n = x.len();
        let mut ranks: Vec<usize> = PERCENTILES
            .iter()
            .flat_map(|&q| {
                let (lo, hi, _) = percentile_ranks(n, q);
                [lo, hi]
            })
            .chain([0, n - 1])
            .collect();
        ranks.sort_unstable();
        ranks.dedup();
        // Ascending ranks, each selected in what lies above the previous one.
        let mut rest: Vec<f64> = x.iter().map(|&v| v as f64).collect();
        let mut rest = &mut rest[..];
        let mut base = 0;
        let mut found = Vec::with_capacity(ranks.len());
        for r in ranks {
            let (_, &mut v, right) = rest.select_nth_unstable_by(r - base, f64::total_cmp);
            found.push((r, v));
            rest = right;
            base = r + 1;
        }
        OrderStats::Selected(found)
    }

    fn get(&self, k: usize) -> f64 {
        match self {
            // The first integer with more than k values at or below it.
            OrderStats::Counts { min, cumulative } => {
                (*min as i64 + cumulative.partition_point(|&c| c as usize <= k) as i64) as f64
            }
            OrderStats::Selected(found) => found
                .iter()
                .find(|&&(r, _)| r == k)
                .map_or(f64::NAN, |&(_, v)| v),
        }
    }

    /// `numpy.percentile` with linear interpolation (`n` values).
    fn percentile(&self, n: usize, q: f64) -> f64 {
        let (lo, hi, t) = percentile_ranks(n, q);
        let (a, b) = (self.get(lo), self.get(hi));
        // numpy's _lerp: a + t (b - a), evaluated from b for t ≥ 0.5.
        if t >= 0.5 {
            b - (b - a) * (1.0 - t)
        } else {
            a + (b - a) * t
        }
    }
}

/// All 18 default first-order features, alphabetical (PyRadiomics order).
///
/// Every sum runs over the intensities in storage order, as PyRadiomics'
/// (and the reference implementation's) sequential sums do; sums that need
/// the same inputs share a pass, each with its own accumulator, so the
/// rounding of every sum is unchanged.
pub(crate) fn compute(crop: &Crop, shift: f64) -> Vec<(&'static str, f64)> {
    let x = &crop.roi_values;
    let n = x.len() as f64;
    // Pass 1: Σ X, Σ (X + c)², and counts per integer while the values are
    // integers (of magnitude below 2²⁴, and not −0, which sorts apart from +0).
    let (lo, hi) = crop.value_range;
    let first = lo.floor() as i64;
    let span = (hi.ceil() as i64 - first + 1) as usize;
    let counting = lo > -16_777_216.0 && hi < 16_777_216.0 && span <= OrderStats::MAX_RANGE;
    let mut counts = vec![0u32; if counting { span } else { 0 }];
    let (mut sum, mut energy) = (-0.0, -0.0);
    let mut integral = true;
    for &v in x {
        integral &= (v as i32 as f32).to_bits() == v.to_bits();
        if counting {
            // In range for any value in [lo, hi]; meaningless unless integral.
            counts[(v as i32 as i64 - first) as usize] += 1;
        }
        let v = v as f64;
        sum += v;
        energy += (v + shift).powi(2);
    }
    let mean = sum / n;
    let order = if counting && integral {
        OrderStats::from_counts(first as i32, counts)
    } else {
        OrderStats::select(x)
    };
    let (min, max) = (order.get(0), order.get(x.len() - 1));
    let p10 = order.percentile(x.len(), 10.0);
    let p90 = order.percentile(x.len(), 90.0);
    let (p25, p50, p75) = (
        order.percentile(x.len(), 25.0),
        order.percentile(x.len(), 50.0),
        order.percentile(x.len(), 75.0),
    );
    // Pass 2: central moments, mean absolute deviation, and the sum of the
    // robust subset (p10 ≤ X ≤ p90) for its mean (`numpy.nanmean`).
    let (mut m2, mut m3, mut m4, mut mad) = (-0.0, -0.0, -0.0, -0.0);
    let (mut rsum, mut rn) = (0.0, 0usize);
    for &v in x {
        let v = v as f64;
        let d = v - mean;
        m2 += d.powi(2);
        m3 += d.powi(3);
        m4 += d.powi(4);
        mad += d.abs();
        // Adding −0 leaves every sum unchanged: no branch on the subset.
        let robust = v >= p10 && v <= p90;
        rsum += if robust { v } else { -0.0 };
        rn += usize::from(robust);
    }
    let (m2, m3, m4) = (m2 / n, m3 / n, m4 / n);
    // Flat region: PyRadiomics divides by 1 instead of 0 (numerators are 0).
    let m2d = if m2 == 0.0 { 1.0 } else { m2 };
    let voxel_volume: f64 = crop.spacing.iter().product();
    // Pass 3: robust MAD, the mean absolute deviation of the robust subset
    // from its mean.
    let rmean = if rn == 0 { f64::NAN } else { rsum / rn as f64 };
    let mut rdev = -0.0;
    for &v in x {
        let v = v as f64;
        rdev += if v >= p10 && v <= p90 {
            (v - rmean).abs()
        } else {
            -0.0
        };
    }
    let rmad = rdev / rn as f64;
    // Histogram of bins present (every present level has a count > 0).
    let p: Vec<f64> = crop
        .level_counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| c as f64 / n)
        .collect();
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
        ("MeanAbsoluteDeviation", mad / n),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counted_and_selected_order_statistics_agree_with_a_sort() {
        // Integer intensities with repeats, in no particular order.
        let x: Vec<f32> = (0..1001)
            .map(|i| ((i * 7919) % 613) as f32 - 300.0)
            .collect();
        let mut sorted: Vec<f64> = x.iter().map(|&v| v as f64).collect();
        sorted.sort_by(f64::total_cmp);
        let mut counts = vec![0u32; 613];
        for &v in &x {
            counts[(v + 300.0) as usize] += 1;
        }
        let counted = OrderStats::from_counts(-300, counts);
        let selected = OrderStats::select(&x);
        let n = x.len();
        for k in [0, n - 1] {
            assert_eq!(counted.get(k), sorted[k]);
            assert_eq!(selected.get(k), sorted[k]);
        }
        for q in PERCENTILES {
            let (lo, hi, _) = percentile_ranks(n, q);
            for k in [lo, hi] {
                assert_eq!(counted.get(k), sorted[k]);
                assert_eq!(selected.get(k), sorted[k]);
            }
            assert_eq!(counted.percentile(n, q), selected.percentile(n, q));
        }
    }
}
