//! File readers. Each reader returns [`Volume`](crate::volume::Volume)s with full geometry.

pub mod atomic;
pub mod dicom;
pub mod nifti;
pub mod nrrd;

use crate::error::{Error, Result};
use crate::volume::Volume;
use std::path::Path;

/// Read an image or label volume, choosing the reader by file extension.
pub fn read_volume(path: &Path) -> Result<Volume<f32>> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    if !path.exists() {
        return Err(Error::io(
            path,
            std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
        ));
    }
    if name.ends_with(".nii") || name.ends_with(".nii.gz") {
        nifti::read(path)
    } else if name.ends_with(".nrrd") || name.ends_with(".nhdr") {
        nrrd::read(path)
    } else {
        Err(Error::format(
            path,
            "unknown file type (expected .nii, .nii.gz, .nrrd or .nhdr)",
        ))
    }
}
