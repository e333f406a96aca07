//! DICOM input: header scanning, CT series assembly, RTSTRUCT and SEG.
//!
//! Layers as in dicom-rs: [`scan`] reads headers only (no pixel data) and
//! groups files; [`series`] assembles pixel data into a [`Volume`]; [`rtstruct`]
//! and [`seg`] turn segmentation objects into masks on an image grid.
//!
//! [`Volume`]: crate::volume::Volume

pub mod rtstruct;
pub mod scan;
pub mod seg;
pub mod series;
pub mod validate;
pub mod view;
pub mod write;
