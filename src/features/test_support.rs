//! Helpers shared by the feature families' unit tests.

use super::{Dimensionality, Features, TextureSettings};
use crate::roi::DiscreteRoi;

/// A DiscreteRoi from grey levels (0 = outside), morphological mask = levels > 0.
pub(crate) fn roi_with_levels(dims: [usize; 3], levels: Vec<u32>, n_levels: u32) -> DiscreteRoi {
    DiscreteRoi {
        dims,
        spacing: [1.0; 3],
        morph: levels.iter().map(|&l| l > 0).collect(),
        levels,
        n_levels,
    }
}

/// A DiscreteRoi from levels (0 = outside) with as many grey levels as the
/// highest level; morph = levels > 0.
pub(crate) fn roi(dims: [usize; 3], levels: Vec<u32>) -> DiscreteRoi {
    let n_levels = levels.iter().copied().max().unwrap_or(0).max(1);
    roi_with_levels(dims, levels, n_levels)
}

/// Texture settings with every dimensionality (2D, 2.5D, 3D).
pub(crate) fn all_dims() -> TextureSettings {
    TextureSettings {
        dimensionalities: Dimensionality::ALL.to_vec(),
        ..Default::default()
    }
}

/// The value of `tag`; panics naming the tag when it is missing.
pub(crate) fn get(f: &Features, tag: &str) -> f64 {
    f.iter()
        .find(|(t, _)| t == tag)
        .unwrap_or_else(|| panic!("{tag} missing"))
        .1
}

/// Equal to 1e-12 relative (absolute below 1).
pub(crate) fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * b.abs().max(1.0)
}
