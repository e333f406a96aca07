//! Placeholder: implemented in its own change.

use super::Features;

/// Intensity histogram features (`ih_*`) of discretised grey levels (1-based)
/// of the intensity-mask voxels; `n_levels` is N_g of the discretisation.
pub fn compute(_levels: &[u32], _n_levels: u32) -> Features {
    unimplemented!("ih")
}
