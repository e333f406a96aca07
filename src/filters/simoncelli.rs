//! (Placeholder while the simoncelli filter is written: parses nothing, applies nothing.)

use super::{Common, Keys};
use crate::error::{Error, Result};
use crate::volume::Volume;

#[derive(Debug, Clone, PartialEq)]
pub struct Config {}

impl Config {
    pub fn parse(keys: &mut Keys) -> Result<Config> {
        Err(keys.err("type", "'simoncelli' is not implemented yet"))
    }

    pub fn name(&self) -> String {
        "simoncelli".to_string()
    }

    pub fn margin(&self, _c: &Common, _spacing: [f64; 3]) -> Option<[usize; 3]> {
        None
    }

    pub fn apply(&self, _c: &Common, _image: &Volume<f32>) -> Result<Volume<f32>> {
        Err(Error::Invalid(
            "simoncelli filter not implemented yet".into(),
        ))
    }
}
