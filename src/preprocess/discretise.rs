//! Placeholder: implemented in its own change.

use crate::error::Result;
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

/// Discretise the intensity-mask voxels of `roi`.
pub fn discretise(_roi: &Roi, _method: &Discretisation) -> Result<DiscreteRoi> {
    unimplemented!()
}
