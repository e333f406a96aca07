//! Placeholder: implemented in its own change.

use super::Features;
use crate::volume::{Mask, Volume};

/// Local intensity features (`loc_peak_loc`, `loc_peak_glob`) of `image` in the
/// intensity mask `mask`; the 1 cm³ sphere includes voxels outside the ROI.
pub fn compute(_image: &Volume<f32>, _mask: &Mask) -> Features {
    unimplemented!("loc")
}
