//! Image processing steps of the IBSI chain: interpolation, re-segmentation,
//! discretisation; perturbations for robustness studies.

pub mod discretise;
pub mod itk_resample;
pub mod perturb;
pub mod resample;
pub mod resegment;

use crate::error::{Error, Result};
use crate::volume::{Mask, Volume};
use std::path::Path;

/// NaN or ±Inf inside the ROI is an error naming the image and the voxel
/// (outside the ROI it is harmless and allowed).
pub fn check_finite_in_roi(image: &Volume<f32>, mask: &Mask, image_path: &Path) -> Result<()> {
    match mask.bounding_box() {
        Some((lo, hi)) => check_finite_in_box(image, mask, lo, hi, image_path),
        None => Ok(()),
    }
}

/// [`check_finite_in_roi`] for a mask whose bounding box `lo..=hi` is known:
/// only rows inside it can hold ROI voxels, and scanning them in storage
/// order finds the same first offender as a full pass.
pub fn check_finite_in_box(
    image: &Volume<f32>,
    mask: &Mask,
    lo: [usize; 3],
    hi: [usize; 3],
    image_path: &Path,
) -> Result<()> {
    let [nx, ny, _] = image.geometry.dims;
    let bad = (lo[2]..=hi[2])
        .flat_map(|z| (lo[1]..=hi[1]).map(move |y| (lo[0] + nx * (y + ny * z), hi[0] - lo[0] + 1)))
        .find_map(|(row, len)| {
            (row..row + len).find(|&i| mask.data[i] && !image.data[i].is_finite())
        });
    match bad {
        None => Ok(()),
        Some(i) => {
            let [x, y, z] = image.geometry.coords(i);
            Err(Error::format(
                image_path,
                format!(
                    "intensity {} at voxel ({x}, {y}, {z}) inside the ROI is not a finite number",
                    image.data[i]
                ),
            ))
        }
    }
}
