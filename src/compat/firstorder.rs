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

/// Counts per integer of the ROI intensities when they are all integers of
/// magnitude below 2²⁴ (and not −0, which sorts apart from +0) spanning at
/// most [`IntegerCounts::MAX_RANGE`] integers: CT in HU.
///
/// Sums over such values are exact in f64 while every partial sum is an
/// integer below 2⁵³, and then equal the integer sum in any order: PyRadiomics'
/// sequential sums follow from the counts.
struct IntegerCounts {
    first: i64,
    counts: Vec<u32>,
}

impl IntegerCounts {
    /// Widest integer range counted (256 KiB of counts).
    const MAX_RANGE: usize = 1 << 16;

    /// `range`: the lowest and highest of `x`.
    fn new(x: &[f64], (lo, hi): (f64, f64)) -> Option<Self> {
        let fits = lo > -16_777_216.0 && hi < 16_777_216.0 && hi - lo < Self::MAX_RANGE as f64;
        // A vectorised check first: counting is wasted on other images.
        if !fits
            || !x.iter().fold(true, |ok, &v| {
                ok & ((v as i32 as f64).to_bits() == v.to_bits())
            })
        {
            return None;
        }
        let first = lo as i64;
        let mut counts = vec![0u32; (hi as i64 - first) as usize + 1];
        for &v in x {
            counts[(v as i64 - first) as usize] += 1;
        }
        Some(IntegerCounts { first, counts })
    }

    /// The values present with their counts, ascending.
    fn present(&self) -> impl Iterator<Item = (i64, u32)> + '_ {
        (self.first..)
            .zip(self.counts.iter().copied())
            .filter(|&(_, c)| c > 0)
    }

    /// Σ w(X) over the values with `keep(X)`, as PyRadiomics' sequential f64
    /// sum of the terms w(X) computes it, when that sum is exact: every term
    /// an integer (w as given) and the total magnitude of the terms below 2⁵³.
    fn exact_sum(&self, keep: impl Fn(i64) -> bool, w: impl Fn(i64) -> i128) -> Option<f64> {
        let (mut sum, mut total) = (0i128, 0i128);
        for (v, c) in self.present().filter(|&(v, _)| keep(v)) {
            sum += w(v) * c as i128;
            total += w(v).abs() * c as i128;
        }
        (total < 1 << 53).then_some(sum as f64)
    }
}

/// Order statistics of the ROI intensities: `get(k)` is the k-th smallest
/// (0-based), as a sort with [`f64::total_cmp`] would place it.
enum OrderStats {
    /// Integer intensities ([`IntegerCounts`]): cumulative counts per
    /// integer from `min`.
    Counts { min: i64, cumulative: Vec<u32> },
    /// Any other intensities: the extremes and the ranks of [`PERCENTILES`],
    /// found by selection on a copy of the values, O(N) instead of a sort.
    Selected(Vec<(usize, f64)>),
}

impl OrderStats {
    fn from_counts(ints: &IntegerCounts) -> Self {
        let mut acc = 0;
        let cumulative = ints
            .counts
            .iter()
            .map(|&c| {
                acc += c;
                acc
            })
            .collect();
        OrderStats::Counts {
            min: ints.first,
            cumulative,
        }
    }

    fn select(x: &[f64]) -> Self {
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
        let mut rest: Vec<f64> = x.to_vec();
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
                (*min + cumulative.partition_point(|&c| c as usize <= k) as i64) as f64
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
    let ints = IntegerCounts::new(x, crop.value_range);
    // Σ X and Σ (X + c)²: from the counts when exact (an integer shift),
    // else a pass in storage order.
    let exact = ints.as_ref().and_then(|ints| {
        let c = (shift.fract() == 0.0 && shift.abs() < 16_777_216.0).then_some(shift as i128)?;
        let sum = ints.exact_sum(|_| true, |v| v as i128)?;
        let energy = ints.exact_sum(|_| true, |v| (v as i128 + c).pow(2))?;
        Some((sum, energy))
    });
    let (sum, energy) = exact.unwrap_or_else(|| {
        let (mut sum, mut energy) = (-0.0, -0.0);
        for &v in x {
            sum += v;
            energy += (v + shift).powi(2);
        }
        (sum, energy)
    });
    let mean = sum / n;
    let order = match &ints {
        Some(ints) => OrderStats::from_counts(ints),
        None => OrderStats::select(x),
    };
    let (min, max) = (order.get(0), order.get(x.len() - 1));
    let p10 = order.percentile(x.len(), 10.0);
    let p90 = order.percentile(x.len(), 90.0);
    let (p25, p50, p75) = (
        order.percentile(x.len(), 25.0),
        order.percentile(x.len(), 50.0),
        order.percentile(x.len(), 75.0),
    );
    let robust = |v: f64| v >= p10 && v <= p90;
    // The robust subset (p10 ≤ X ≤ p90): its size and sum (for its mean,
    // `numpy.nanmean`) from the counts when exact.
    let robust_sum = ints.as_ref().and_then(|ints| {
        let sum = ints.exact_sum(|v| robust(v as f64), |v| v as i128)?;
        let count: u64 = ints
            .present()
            .filter(|&(v, _)| robust(v as f64))
            .map(|(_, c)| u64::from(c))
            .sum();
        Some((sum, count as usize))
    });
    // Central moments, mean absolute deviation and (once the robust mean is
    // known) the robust deviation, each summed in storage order; adding −0
    // leaves a sum unchanged, so the subset needs no branch.
    let (mut m2, mut m3, mut m4, mut mad) = (-0.0, -0.0, -0.0, -0.0);
    let moments = |v: f64, m2: &mut f64, m3: &mut f64, m4: &mut f64, mad: &mut f64| {
        let d = v - mean;
        *m2 += d.powi(2);
        *m3 += d.powi(3);
        *m4 += d.powi(4);
        *mad += d.abs();
    };
    let mut rdev = -0.0;
    let rn = match robust_sum {
        Some((rsum, rn)) => {
            let rmean = if rn == 0 { f64::NAN } else { rsum / rn as f64 };
            for &v in x {
                moments(v, &mut m2, &mut m3, &mut m4, &mut mad);
                rdev += if robust(v) { (v - rmean).abs() } else { -0.0 };
            }
            rn
        }
        None => {
            let (mut rsum, mut rn) = (0.0, 0usize);
            for &v in x {
                moments(v, &mut m2, &mut m3, &mut m4, &mut mad);
                rsum += if robust(v) { v } else { -0.0 };
                rn += usize::from(robust(v));
            }
            let rmean = if rn == 0 { f64::NAN } else { rsum / rn as f64 };
            for &v in x {
                rdev += if robust(v) { (v - rmean).abs() } else { -0.0 };
            }
            rn
        }
    };
    let (m2, m3, m4) = (m2 / n, m3 / n, m4 / n);
    // Flat region: PyRadiomics divides by 1 instead of 0 (numerators are 0).
    let m2d = if m2 == 0.0 { 1.0 } else { m2 };
    let voxel_volume: f64 = crop.spacing.iter().product();
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
        let x: Vec<f64> = (0..1001)
            .map(|i| ((i * 7919) % 613) as f64 - 300.0)
            .collect();
        let mut sorted: Vec<f64> = x.clone();
        sorted.sort_by(f64::total_cmp);
        let mut counts = vec![0u32; 613];
        for &v in &x {
            counts[(v + 300.0) as usize] += 1;
        }
        let counted = OrderStats::from_counts(&IntegerCounts {
            first: -300,
            counts,
        });
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

    #[test]
    fn sums_from_counts_equal_the_sequential_sums() {
        let x: Vec<f64> = (0..5003)
            .map(|i| ((i * 7919) % 1301) as f64 - 1000.0)
            .collect();
        let ints = IntegerCounts::new(&x, (-1000.0, 300.0)).expect("integers");
        let seq = |f: &dyn Fn(f64) -> f64, keep: &dyn Fn(f64) -> bool| {
            x.iter()
                .copied()
                .filter(|&v| keep(v))
                .fold(-0.0, |s, v| s + f(v))
        };
        let all = |_: f64| true;
        assert_eq!(
            ints.exact_sum(|_| true, |v| v as i128),
            Some(seq(&|v| v, &all))
        );
        let energy = ints.exact_sum(|_| true, |v| (v as i128 + 7).pow(2));
        assert_eq!(energy, Some(seq(&|v| (v + 7.0).powi(2), &all)));
        let inside = |v: f64| (-500.0..=100.0).contains(&v);
        let part = ints.exact_sum(|v| inside(v as f64), |v| v as i128);
        assert_eq!(part, Some(seq(&|v| v, &inside)));
        // Not integers: no counts.
        assert!(IntegerCounts::new(&[0.5, 1.0], (0.5, 1.0)).is_none());
        assert!(IntegerCounts::new(&[-0.0, 1.0], (0.0, 1.0)).is_none());
    }
}
