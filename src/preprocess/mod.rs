//! Image processing steps of the IBSI chain: interpolation, re-segmentation,
//! discretisation.

pub mod discretise;
pub mod resample;
pub mod resegment;
