//! Placeholder: implemented in its own change.

use super::Features;

/// How intensities are discretised for the intensity-volume histogram
/// (IBSI "Intensity-volume histogram features", discretisation notes).
#[derive(Debug, Clone, PartialEq)]
pub enum IvhDiscretisation {
    /// Calibrated discrete intensities (e.g. HU): bin width 1, range `G` is
    /// `range` when given (the re-segmentation range), else [min, max] of the ROI.
    Discrete { range: Option<(f64, f64)> },
    /// Continuous calibrated intensities: fixed bin size `width` from `min`; each
    /// bin is represented by its centre. `G` runs from the first bin centre to
    /// the centre of the bin holding `max` (or of the highest ROI bin when `None`).
    FixedBinSize {
        width: f64,
        min: f64,
        max: Option<f64>,
    },
    /// Arbitrary units: fixed bin number over [min, max] of the ROI; bin indices
    /// are used directly, `G` = [1, bins].
    FixedBinNumber { bins: u32 },
}

/// Intensity-volume histogram features (`ivh_*`) of the intensity-mask values.
pub fn compute(_values: &[f64], _disc: &IvhDiscretisation) -> Features {
    unimplemented!("ivh")
}
