//! Placeholder: implemented in its own change.

use super::Features;
use crate::roi::Roi;

/// Morphological features (`morph_*`): shape from the morphological mask,
/// intensities from the intensity mask.
pub fn compute(_roi: &Roi) -> Features {
    unimplemented!("morph")
}
