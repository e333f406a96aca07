//! Intensity-volume histogram features (IBSI family P88C, tags `ivh_*`).
//!
//! The intensity-mask values are discretised as [`IvhDiscretisation`] says into
//! `n` equally spaced discretised intensities `g_0 < … < g_{n−1}` (step `w_d`)
//! spanning the total range `G = [g_0, g_{n−1}]`. Every discretised intensity
//! in `G` is evaluated, including those absent from the ROI:
//! * fractional volume `ν_k = 1 − (number of voxels with X_d < g_k) / N_v`;
//! * intensity fraction `γ_k = (g_k − min G) / (max G − min G) = k / (n − 1)`
//!   (evaluated as the exact ratio of bin indices, so that e.g. `γ = 0.1`
//!   compares equal to 10 %).

use super::Features;

/// How intensities are discretised for the intensity-volume histogram
/// (IBSI "Intensity-volume histogram features", discretisation notes).
#[derive(Debug, Clone, PartialEq)]
pub enum IvhDiscretisation {
    /// Calibrated discrete intensities (e.g. HU): bin width 1, range `G` is
    /// `range` when given (the re-segmentation range), else [min, max] of the ROI.
    Discrete { range: Option<(f64, f64)> },
    /// Continuous calibrated intensities: fixed bin size `width` from `min`; each
    /// bin is represented by its centre. With `max` given (the upper bound of the
    /// re-segmentation range) there are ⌈(max − min) / width⌉ bins and
    /// `G = [min + width/2, max − width/2]` as the IBSI manual states (a value
    /// equal to `max` falls in the last bin); with `None`, `G` runs to the centre
    /// of the highest bin holding an ROI voxel.
    FixedBinSize {
        width: f64,
        min: f64,
        max: Option<f64>,
    },
    /// Arbitrary units: fixed bin number over [min, max] of the ROI; bin indices
    /// are used directly, `G` = [1, bins].
    FixedBinNumber { bins: u32 },
}

/// The discretised IVH: voxel counts per discretised intensity `g_0 + k·w`.
struct Histogram {
    counts: Vec<u64>,
    g0: f64,
    w: f64,
}

/// Bin index of `t` (already in units of bins from the first one), clamped
/// to `0..n` (values outside `G` join the nearest end bin).
fn clamp_bin(t: f64, n: usize) -> usize {
    if t <= 0.0 {
        0
    } else {
        (t as usize).min(n - 1)
    }
}

/// Number of bins spanning `len` at `width`, tolerant to rounding noise.
fn bins_for(len: f64, width: f64) -> usize {
    ((len / width) - 1e-9).ceil().max(0.0) as usize
}

fn build(values: &[f64], disc: &IvhDiscretisation) -> Option<Histogram> {
    if values.is_empty() {
        return None;
    }
    let (vmin, vmax) = values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| {
            (a.min(x), b.max(x))
        });
    let mut h = match *disc {
        IvhDiscretisation::Discrete { range } => {
            let (lo, hi) = range.unwrap_or((vmin, vmax));
            // Intensities are used as they are: voxel X counts as "< g_k"
            // exactly when ⌊X − lo⌋ < k, so it is filed under bin ⌊X − lo⌋.
            let n = ((hi - lo).floor().max(0.0) as usize).saturating_add(1);
            let mut counts = zeroed_bins(n)?;
            for &x in values {
                counts[clamp_bin((x - lo).floor(), n)] += 1;
            }
            Histogram {
                counts,
                g0: lo,
                w: 1.0,
            }
        }
        IvhDiscretisation::FixedBinSize { width, min, max } => {
            let n = match max {
                Some(m) => bins_for(m - min, width).max(1),
                None => (((vmax - min) / width).floor().max(0.0) as usize).saturating_add(1),
            };
            let mut counts = zeroed_bins(n)?;
            for &x in values {
                counts[clamp_bin(((x - min) / width).floor(), n)] += 1;
            }
            Histogram {
                counts,
                g0: min + 0.5 * width,
                w: width,
            }
        }
        IvhDiscretisation::FixedBinNumber { bins } => {
            let n = bins.max(1) as usize;
            let span = vmax - vmin;
            let mut counts = zeroed_bins(n)?;
            for &x in values {
                // X_d = ⌊N_g (X − min) / (max − min)⌋ + 1, with max → N_g.
                let t = if span > 0.0 {
                    (n as f64 * (x - vmin) / span).floor()
                } else {
                    0.0
                };
                counts[clamp_bin(t, n)] += 1;
            }
            Histogram {
                counts,
                g0: 1.0,
                w: 1.0,
            }
        }
    };
    if h.counts.is_empty() {
        h.counts.push(0);
    }
    Some(h)
}

/// Largest number of IVH bins: a wider histogram (absurd intensities or a
/// hostile range/bin width) gives `NaN` features rather than a huge allocation.
pub const MAX_IVH_BINS: usize = 1 << 24;

/// A zeroed histogram of `n` bins, or `None` when `n` exceeds [`MAX_IVH_BINS`].
fn zeroed_bins(n: usize) -> Option<Vec<u64>> {
    (n <= MAX_IVH_BINS).then(|| vec![0u64; n])
}

/// Intensity-volume histogram features (`ivh_*`) of the intensity-mask values.
///
/// | tag | IBSI id | definition |
/// | --- | --- | --- |
/// | `ivh_v{10,25,50,75,90}` | BC2M | V_x: largest ν_k with γ_k ≥ x % |
/// | `ivh_i{10,25,50,75,90}` | GBPN | I_x: smallest g_k with ν_k ≤ x % |
/// | `ivh_diff_v10_v90`, `ivh_diff_v25_v75` | DDTU | V_a − V_b |
/// | `ivh_diff_i10_i90`, `ivh_diff_i25_i75` | CNV2 | I_a − I_b |
/// | `ivh_auc` | 9CMM | trapezoidal area under ν(γ); not standardised |
///
/// Degenerate cases: when more than x % of the voxels share the top
/// discretised intensity no g_k in `G` has ν_k ≤ x %, and I_x is the next
/// discretised intensity above `G`, `max G + w_d` (where ν is 0). A range `G`
/// with a single discretised intensity leaves γ undefined: V_x is `NaN`, I_x is
/// defined as above and the AUC is 0 (IBSI). An empty ROI gives `NaN` throughout.
pub fn compute(values: &[f64], disc: &IvhDiscretisation) -> Features {
    const PCT: [u32; 5] = [10, 25, 50, 75, 90];
    let mut out: Features = Vec::with_capacity(15);
    let Some(h) = build(values, disc) else {
        for p in PCT {
            out.push((format!("ivh_v{p}"), f64::NAN));
        }
        for p in PCT {
            out.push((format!("ivh_i{p}"), f64::NAN));
        }
        for t in [
            "ivh_diff_v10_v90",
            "ivh_diff_v25_v75",
            "ivh_diff_i10_i90",
            "ivh_diff_i25_i75",
            "ivh_auc",
        ] {
            out.push((t.to_string(), f64::NAN));
        }
        return out;
    };

    let n = h.counts.len();
    let nv: u64 = h.counts.iter().sum();
    // ν_k from the running count of voxels below bin k.
    let mut nu = Vec::with_capacity(n);
    let mut below = 0u64;
    for &c in &h.counts {
        nu.push(1.0 - below as f64 / nv as f64);
        below += c;
    }
    let gamma = |k: usize| k as f64 / (n - 1) as f64;
    let g = |k: usize| h.g0 + k as f64 * h.w;

    // ν is non-increasing, so the largest ν with γ ≥ x sits at the first such k.
    let v_at = |x: f64| -> f64 {
        if n < 2 {
            return f64::NAN;
        }
        (0..n).find(|&k| gamma(k) >= x).map_or(f64::NAN, |k| nu[k])
    };
    // ... and the smallest g with ν ≤ x is the first such k.
    let i_at = |x: f64| -> f64 { (0..n).find(|&k| nu[k] <= x).map_or(g(n - 1) + h.w, g) };

    let v: Vec<f64> = PCT.iter().map(|&p| v_at(p as f64 / 100.0)).collect();
    let i: Vec<f64> = PCT.iter().map(|&p| i_at(p as f64 / 100.0)).collect();
    for (p, &x) in PCT.iter().zip(&v) {
        out.push((format!("ivh_v{p}"), x));
    }
    for (p, &x) in PCT.iter().zip(&i) {
        out.push((format!("ivh_i{p}"), x));
    }
    out.push(("ivh_diff_v10_v90".into(), v[0] - v[4]));
    out.push(("ivh_diff_v25_v75".into(), v[1] - v[3]));
    out.push(("ivh_diff_i10_i90".into(), i[0] - i[4]));
    out.push(("ivh_diff_i25_i75".into(), i[1] - i[3]));

    let auc = if n < 2 {
        0.0
    } else {
        (0..n - 1)
            .map(|k| (gamma(k + 1) - gamma(k)) * (nu[k] + nu[k + 1]) / 2.0)
            .sum()
    };
    out.push(("ivh_auc".into(), auc));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::features::test_support::get;

    /// 10 voxels: 1×4, 2×1, 4×3, 5×2 on G = [1, 5] (3 absent).
    fn sample() -> Vec<f64> {
        vec![1.0, 1.0, 1.0, 1.0, 2.0, 4.0, 4.0, 4.0, 5.0, 5.0]
    }

    #[test]
    fn discrete_ivh_by_hand() {
        // ν = [1, 0.6, 0.5, 0.5, 0.2] at g = 1..5, γ = [0, .25, .5, .75, 1].
        let f = compute(&sample(), &IvhDiscretisation::Discrete { range: None });
        assert_eq!(f.len(), 15);
        assert!((get(&f, "ivh_v10") - 0.6).abs() < 1e-12);
        assert!((get(&f, "ivh_v25") - 0.6).abs() < 1e-12);
        assert!((get(&f, "ivh_v50") - 0.5).abs() < 1e-12);
        assert!((get(&f, "ivh_v75") - 0.5).abs() < 1e-12);
        assert!((get(&f, "ivh_v90") - 0.2).abs() < 1e-12);
        assert_eq!(get(&f, "ivh_i10"), 6.0); // no ν ≤ 0.1 inside G
        assert_eq!(get(&f, "ivh_i25"), 5.0);
        assert_eq!(get(&f, "ivh_i50"), 3.0); // absent intensities count
        assert_eq!(get(&f, "ivh_i75"), 2.0);
        assert_eq!(get(&f, "ivh_i90"), 2.0);
        assert!((get(&f, "ivh_diff_v10_v90") - 0.4).abs() < 1e-12);
        assert_eq!(get(&f, "ivh_diff_i25_i75"), 3.0);
        // Trapezoids of width 0.25: (1.6 + 1.1 + 1.0 + 0.7) / 2 · 0.25.
        assert!((get(&f, "ivh_auc") - 0.55).abs() < 1e-12);
    }

    #[test]
    fn range_widens_g() {
        // G = [0, 10]: γ_k = k / 10, so V10 is ν at g = 1 and V90 ν at g = 9.
        let f = compute(
            &sample(),
            &IvhDiscretisation::Discrete {
                range: Some((0.0, 10.0)),
            },
        );
        assert!((get(&f, "ivh_v10") - 1.0).abs() < 1e-12);
        assert!((get(&f, "ivh_v90") - 0.0).abs() < 1e-12);
        assert_eq!(get(&f, "ivh_i10"), 6.0);
    }

    #[test]
    fn fixed_bin_size_uses_bin_centres() {
        // Width 2 from 0 up to 10: 5 bins, centres 1, 3, 5, 7, 9.
        let vals = [0.5, 2.0, 3.9, 9.0, 10.0];
        let f = compute(
            &vals,
            &IvhDiscretisation::FixedBinSize {
                width: 2.0,
                min: 0.0,
                max: Some(10.0),
            },
        );
        // Bins: 0.5→0, 2→1, 3.9→1, 9→4, 10→4 (clamped); ν = [1, .8, .4, .4, .4].
        assert!((get(&f, "ivh_v10") - 0.8).abs() < 1e-12);
        assert_eq!(get(&f, "ivh_i50"), 5.0);
        assert_eq!(get(&f, "ivh_i10"), 11.0);
    }

    #[test]
    fn fixed_bin_number_uses_indices() {
        let vals = [0.0, 1.0, 2.0, 3.0, 4.0];
        let f = compute(&vals, &IvhDiscretisation::FixedBinNumber { bins: 4 });
        // X_d = 1, 2, 3, 4, 4 on G = [1, 4]: ν = [1, .8, .6, .4].
        assert_eq!(get(&f, "ivh_i50"), 4.0);
        assert!((get(&f, "ivh_v50") - 0.6).abs() < 1e-12);
    }

    #[test]
    fn degenerate_inputs_do_not_panic() {
        let c = compute(&[7.0; 4], &IvhDiscretisation::Discrete { range: None });
        assert!(get(&c, "ivh_v10").is_nan());
        assert_eq!(get(&c, "ivh_i10"), 8.0);
        assert_eq!(get(&c, "ivh_auc"), 0.0);
        let e = compute(&[], &IvhDiscretisation::FixedBinNumber { bins: 10 });
        assert_eq!(e.len(), 15);
        assert!(e.iter().all(|(_, v)| v.is_nan()));
        let b = compute(&[3.0; 2], &IvhDiscretisation::FixedBinNumber { bins: 10 });
        assert!((get(&b, "ivh_v90") - 0.0).abs() < 1e-12);
    }
}
