//! ctrad: CT radiomics computed exactly as the IBSI reference manual defines them.
//!
//! Layers: [`io`] reads files into [`volume::Volume`]s; [`preprocess`] applies the
//! IBSI image-processing chain; [`features`] computes the feature families;
//! [`pipeline`] ties them together from a parameter file ([`params`]).

pub mod batch;
pub mod compat;
pub mod enhancement;
pub mod error;
pub mod features;
pub mod filters;
pub mod hash;
pub mod inputs;
pub mod io;
pub mod merge;
pub mod model;
pub mod naming;
pub mod parallel;
pub mod params;
pub mod pipeline;
pub mod preprocess;
pub mod roi;
pub mod study;
pub mod synth;
pub mod table;
pub mod volume;

pub use error::{Error, Result};

/// The ctrad version recorded in every output row.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
