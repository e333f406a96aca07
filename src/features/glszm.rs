//! Placeholder: implemented in its own change.

use super::{Features, TextureSettings};
use crate::roi::DiscreteRoi;

/// All features of this family for the requested dimensionalities.
pub fn compute(_roi: &DiscreteRoi, _settings: &TextureSettings) -> Features {
    unimplemented!("glszm")
}
