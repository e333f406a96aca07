//! ROI re-segmentation (IBSI "Re-segmentation"): range re-segmentation and
//! outlier filtering. The result is the *intensity* mask; the morphological
//! mask stays the interpolated ROI.

use crate::volume::{Mask, Volume};

/// Re-segment `mask` to the voxels whose intensity lies in the closed `range`
/// (bounds may be infinite) and, with `outlier_sigma = Some(k)`, within μ ± kσ
/// of the ROI intensities; both together keep the intersection.
///
/// * Range re-segmentation keeps `a ≤ X ≤ b`.
/// * Outlier filtering keeps `μ − kσ ≤ X ≤ μ + kσ`, where μ and the population
///   standard deviation σ are taken over the intensities of `mask` (before any
///   range re-segmentation), as in IBSI configuration E.
///
/// Non-finite intensities are always removed. `image` and `mask` must share a grid.
pub fn resegment(
    image: &Volume<f32>,
    mask: &Mask,
    range: Option<(f64, f64)>,
    outlier_sigma: Option<f64>,
) -> Mask {
    assert_eq!(
        image.data.len(),
        mask.data.len(),
        "resegment: image and mask grids differ"
    );
    let (mut lo, mut hi) = range.unwrap_or((f64::NEG_INFINITY, f64::INFINITY));
    if let Some(k) = outlier_sigma {
        if let Some((mu, sigma)) = mean_and_sd(image, mask) {
            lo = lo.max(mu - k * sigma);
            hi = hi.min(mu + k * sigma);
        }
    }
    Volume {
        geometry: mask.geometry.clone(),
        data: image
            .data
            .iter()
            .zip(&mask.data)
            .map(|(&v, &m)| {
                let v = v as f64;
                m && v.is_finite() && v >= lo && v <= hi
            })
            .collect(),
    }
}

/// Mean and population standard deviation of the finite intensities in `mask`;
/// `None` when there are none.
fn mean_and_sd(image: &Volume<f32>, mask: &Mask) -> Option<(f64, f64)> {
    let values = || {
        image
            .data
            .iter()
            .zip(&mask.data)
            .filter(|(v, &m)| m && v.is_finite())
            .map(|(&v, _)| v as f64)
    };
    let n = values().count();
    if n == 0 {
        return None;
    }
    // Two passes: the centred sum of squares avoids cancellation.
    let mu = values().sum::<f64>() / n as f64;
    let var = values().map(|v| (v - mu) * (v - mu)).sum::<f64>() / n as f64;
    Some((mu, var.sqrt()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::volume::Geometry;

    fn setup(values: &[f32], inside: &[bool]) -> (Volume<f32>, Mask) {
        let g = Geometry::new([values.len(), 1, 1], [1.0; 3], [0.0; 3]);
        (
            Volume::from_vec(g.clone(), values.to_vec()).unwrap(),
            Volume::from_vec(g, inside.to_vec()).unwrap(),
        )
    }

    #[test]
    fn range_is_closed_and_respects_the_mask() {
        let (img, mask) = setup(
            &[-600.0, -500.0, 0.0, 400.0, 401.0, 0.0],
            &[true, true, true, true, true, false],
        );
        let r = resegment(&img, &mask, Some((-500.0, 400.0)), None);
        assert_eq!(r.data, vec![false, true, true, true, false, false]);
        let open = resegment(&img, &mask, Some((f64::NEG_INFINITY, 0.0)), None);
        assert_eq!(open.data, vec![true, true, true, false, false, false]);
    }

    #[test]
    fn outlier_filter_uses_population_sigma() {
        // Values 0 x 9 and 10: μ = 1, σ = 3 (population), so μ + 1σ = 4 drops 10.
        let mut v = vec![0.0f32; 9];
        v.push(10.0);
        let (img, mask) = setup(&v, &[true; 10]);
        let r = resegment(&img, &mask, None, Some(1.0));
        assert_eq!(r.count(), 9);
        assert!(!r.data[9]);
        // μ ± 3σ = [−8, 10] keeps everything (closed interval).
        assert_eq!(resegment(&img, &mask, None, Some(3.0)).count(), 10);
        // Intersection with a range.
        let both = resegment(&img, &mask, Some((-1.0, 20.0)), Some(3.0));
        assert_eq!(both.count(), 10);
        let both = resegment(&img, &mask, Some((0.5, 20.0)), Some(3.0));
        assert_eq!(both.count(), 1);
    }

    #[test]
    fn empty_mask_stays_empty() {
        let (img, mask) = setup(&[1.0, 2.0], &[false, false]);
        assert_eq!(
            resegment(&img, &mask, Some((0.0, 5.0)), Some(3.0)).count(),
            0
        );
    }
}
