//! (Placeholder while the laws filter is written: parses nothing, applies nothing.)

use super::{Common, Keys};
use crate::error::{Error, Result};
use crate::volume::Volume;

#[derive(Debug, Clone, PartialEq)]
pub struct Config {}

impl Config {
    pub fn parse(keys: &mut Keys) -> Result<Config> {
        Err(keys.err("type", "'laws' is not implemented yet"))
    }

    pub fn name(&self) -> String {
        "laws".to_string()
    }

    pub fn margin(&self, _c: &Common, _spacing: [f64; 3]) -> Option<[usize; 3]> {
        None
    }

    pub fn apply(&self, _c: &Common, _image: &Volume<f32>) -> Result<Volume<f32>> {
        Err(Error::Invalid("laws filter not implemented yet".into()))
    }
}
