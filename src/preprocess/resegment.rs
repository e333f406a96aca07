//! Placeholder: implemented in its own change.

use crate::volume::{Mask, Volume};

/// Re-segment `mask` to the voxels whose intensity lies in the closed `range`
/// (bounds may be infinite) and, with `outlier_sigma = Some(k)`, within μ ± kσ
/// of the ROI intensities; both together keep the intersection.
pub fn resegment(
    _image: &Volume<f32>,
    _mask: &Mask,
    _range: Option<(f64, f64)>,
    _outlier_sigma: Option<f64>,
) -> Mask {
    unimplemented!()
}
