//! Placeholder: implemented in its own change.

use super::Features;

/// Intensity statistics (`stat_*`) of the intensity-mask values.
pub fn compute(_values: &[f64]) -> Features {
    unimplemented!("stat")
}
