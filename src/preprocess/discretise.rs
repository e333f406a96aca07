//! Intensity discretisation (IBSI "Intensity discretisation"). Grey levels start at 1.
//!
//! * Fixed bin size (FBS): `X_d = ⌊(X − X_min) / w⌋ + 1`, with `X_min` the lower
//!   re-segmentation bound when given, else the ROI minimum.
//! * Fixed bin number (FBN): `X_d = ⌊N_g (X − X_min) / (X_max − X_min)⌋ + 1`, and
//!   `X = X_max` gets `N_g`; `X_min`, `X_max` are the ROI extremes.
//!
//! All arithmetic is in f64. Quotients that land within [`SNAP`] of an integer
//! are taken as that integer, so a value on a bin edge (e.g. X − X_min = 3w with
//! w = 0.1) always opens the upper bin instead of falling back by round-off.

use crate::error::{Error, Result};
use crate::roi::{DiscreteRoi, Roi};

/// Intensity discretisation (IBSI "Intensity discretisation").
#[derive(Debug, Clone, PartialEq)]
pub enum Discretisation {
    /// Fixed bin size `width`; bins start at `min` (the lower re-segmentation
    /// bound) or at the ROI minimum when `None`.
    FixedBinSize { width: f64, min: Option<f64> },
    /// Fixed bin number over [min, max] of the ROI intensities.
    FixedBinNumber { bins: u32 },
}

/// Largest number of grey levels after discretisation (texture matrices are
/// dense N_g × N_g; 4096² counts is 128 MiB per matrix).
pub const MAX_GREY_LEVELS: u32 = 4096;

/// Relative distance to an integer below which a bin quotient is snapped to it.
pub const SNAP: f64 = 1e-9;

/// Discretise the intensity-mask voxels of `roi`.
///
/// Voxels outside the intensity mask get level 0. `n_levels` is `bins` for FBN
/// and, for FBS, the highest level present in the ROI (the number of bins
/// spanned from `X_min` to the ROI maximum).
///
/// Errors: [`Error::EmptyRoi`] when the intensity mask is empty, and
/// [`Error::Invalid`] for a non-positive or non-finite width, zero bins, a
/// non-finite `min` or intensity, or an intensity below the given FBS `min`.
pub fn discretise(roi: &Roi, method: &Discretisation) -> Result<DiscreteRoi> {
    let values = roi.intensities();
    let (roi_levels, n_levels) = discretise_values(&values, method)?;
    let mut levels = vec![0u32; roi.values.len()];
    let mut next = roi_levels.into_iter();
    for (l, &m) in levels.iter_mut().zip(&roi.intensity) {
        if m {
            *l = next.next().expect("one level per intensity-mask voxel");
        }
    }
    Ok(DiscreteRoi {
        dims: roi.dims,
        spacing: roi.spacing,
        levels,
        morph: roi.morph.clone(),
        n_levels,
    })
}

/// Discretise a list of intensities; returns the levels (same order, ≥ 1) and
/// `n_levels` as described for [`discretise`]. Reusable for the intensity
/// histogram and the intensity-volume histogram.
///
/// FBN with a constant ROI (`X_max = X_min`) puts every voxel in level 1.
pub fn discretise_values(values: &[f64], method: &Discretisation) -> Result<(Vec<u32>, u32)> {
    if values.is_empty() {
        return Err(Error::EmptyRoi(
            "no voxels left in the intensity mask to discretise".into(),
        ));
    }
    if values.iter().any(|v| !v.is_finite()) {
        return Err(Error::Invalid(
            "discretisation: the ROI contains non-finite intensities".into(),
        ));
    }
    let (lo, hi) = values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        });
    match *method {
        Discretisation::FixedBinSize { width, min } => {
            if !(width.is_finite() && width > 0.0) {
                return Err(Error::Invalid(format!(
                    "fixed bin size: the bin width must be a positive number, got {width}"
                )));
            }
            let x_min = match min {
                Some(m) if !m.is_finite() => {
                    return Err(Error::Invalid(format!(
                        "fixed bin size: the lower bound must be finite, got {m}"
                    )))
                }
                Some(m) => m,
                None => lo,
            };
            if lo < x_min {
                return Err(Error::Invalid(format!(
                    "fixed bin size: ROI intensity {lo} lies below the bin origin {x_min} \
                     (re-segment the ROI to the range that starts there)"
                )));
            }
            let levels: Vec<u32> = values.iter().map(|&x| fbs_level(x, x_min, width)).collect();
            let n = levels.iter().copied().max().unwrap_or(1);
            Ok((levels, n))
        }
        Discretisation::FixedBinNumber { bins } => {
            if bins == 0 {
                return Err(Error::Invalid(
                    "fixed bin number: the number of bins must be at least 1".into(),
                ));
            }
            let range = hi - lo;
            let levels = if range > 0.0 {
                values
                    .iter()
                    .map(|&x| fbn_level(x, lo, range, bins))
                    .collect()
            } else {
                vec![1; values.len()]
            };
            Ok((levels, bins))
        }
    }
}

/// `⌊q⌋`, where a `q` within [`SNAP`] (relative) of an integer counts as that integer.
#[inline]
fn snapped_floor(q: f64) -> f64 {
    let r = q.round();
    if (q - r).abs() <= SNAP * r.abs().max(1.0) {
        r
    } else {
        q.floor()
    }
}

/// FBS level of `x`: `⌊(x − x_min) / w⌋ + 1` (IBSI, fixed bin size).
#[inline]
fn fbs_level(x: f64, x_min: f64, width: f64) -> u32 {
    let q = snapped_floor((x - x_min) / width).max(0.0);
    (q as u64).saturating_add(1).min(u32::MAX as u64) as u32
}

/// FBN level of `x`: `⌊N_g (x − x_min) / (x_max − x_min)⌋ + 1`, clipped to `N_g`
/// (IBSI, fixed bin number). The product is formed before the division so that
/// integer data lands exactly on bin edges.
#[inline]
fn fbn_level(x: f64, x_min: f64, range: f64, bins: u32) -> u32 {
    let q = snapped_floor(bins as f64 * (x - x_min) / range).max(0.0);
    ((q as u64) + 1).min(bins as u64) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fbs(w: f64, min: Option<f64>) -> Discretisation {
        Discretisation::FixedBinSize { width: w, min }
    }

    #[test]
    fn fbs_bins_start_at_the_given_minimum() {
        let v = [-500.0, -476.0, -475.0, -451.0, 0.0, 400.0];
        let (l, n) = discretise_values(&v, &fbs(25.0, Some(-500.0))).unwrap();
        assert_eq!(l, vec![1, 1, 2, 2, 21, 37]);
        assert_eq!(n, 37);
        // Without a minimum the ROI minimum opens bin 1.
        let (l, _) = discretise_values(&[10.0, 12.0, 13.0], &fbs(3.0, None)).unwrap();
        assert_eq!(l, vec![1, 1, 2]);
    }

    #[test]
    fn fbs_exact_multiples_open_the_next_bin_despite_round_off() {
        // 0.3 / 0.1 = 2.9999999999999996 in binary floating point.
        let (l, _) = discretise_values(&[0.0, 0.3, 0.7], &fbs(0.1, Some(0.0))).unwrap();
        assert_eq!(l, vec![1, 4, 8]);
        let (l, _) =
            discretise_values(&[-1000.0, -997.5, -997.4], &fbs(2.5, Some(-1000.0))).unwrap();
        assert_eq!(l, vec![1, 2, 2]);
    }

    #[test]
    fn fbn_maps_the_maximum_to_the_top_bin() {
        let v = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let (l, n) = discretise_values(&v, &Discretisation::FixedBinNumber { bins: 3 }).unwrap();
        assert_eq!(n, 3);
        // 3·x/6: 0, .5, 1, 1.5, 2, 2.5, 3 → floor+1, max clipped to 3.
        assert_eq!(l, vec![1, 1, 2, 2, 3, 3, 3]);
        // Digital-phantom style: FBN 6 bins on values 1..6 is the identity.
        let v = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let (l, _) = discretise_values(&v, &Discretisation::FixedBinNumber { bins: 6 }).unwrap();
        assert_eq!(l, vec![1, 2, 3, 4, 5, 6]);
    }

    #[test]
    fn fbn_constant_roi_is_level_one() {
        let (l, n) =
            discretise_values(&[7.0; 4], &Discretisation::FixedBinNumber { bins: 32 }).unwrap();
        assert_eq!(l, vec![1; 4]);
        assert_eq!(n, 32);
    }

    #[test]
    fn invalid_settings_and_empty_rois_are_errors() {
        let v = [1.0, 2.0];
        for w in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(matches!(
                discretise_values(&v, &fbs(w, None)),
                Err(Error::Invalid(_))
            ));
        }
        assert!(matches!(
            discretise_values(&v, &Discretisation::FixedBinNumber { bins: 0 }),
            Err(Error::Invalid(_))
        ));
        assert!(matches!(
            discretise_values(&[], &fbs(1.0, None)),
            Err(Error::EmptyRoi(_))
        ));
        assert!(matches!(
            discretise_values(&v, &fbs(1.0, Some(1.5))),
            Err(Error::Invalid(_))
        ));
        assert!(matches!(
            discretise_values(&[f64::NAN], &fbs(1.0, None)),
            Err(Error::Invalid(_))
        ));
    }

    #[test]
    fn discretise_fills_the_crop_with_zero_outside_the_intensity_mask() {
        let roi = Roi {
            dims: [4, 1, 1],
            spacing: [1.0; 3],
            offset: [0; 3],
            values: vec![1.0, 5.0, 9.0, 3.0],
            morph: vec![true; 4],
            intensity: vec![true, false, true, true],
        };
        let d = discretise(&roi, &Discretisation::FixedBinNumber { bins: 4 }).unwrap();
        // Range [1, 9]: 4·(x−1)/8 → 0, –, 4 (→ top bin), 1.
        assert_eq!(d.levels, vec![1, 0, 4, 2]);
        assert_eq!(d.n_levels, 4);
        assert_eq!(d.roi_levels(), vec![1, 4, 2]);
        let empty = Roi {
            intensity: vec![false; 4],
            ..roi
        };
        assert!(matches!(
            discretise(&empty, &Discretisation::FixedBinNumber { bins: 4 }),
            Err(Error::EmptyRoi(_))
        ));
    }
}
