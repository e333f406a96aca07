//! The region of interest after preprocessing, cropped to its bounding box.
//!
//! IBSI keeps two masks apart: the *morphological* mask (the interpolated ROI,
//! used for shape) and the *intensity* mask (the re-segmented ROI, used for
//! intensities and texture). The intensity mask is a subset of the
//! morphological mask.

use crate::error::{Error, Result};
use crate::volume::{Mask, Volume};

/// Image values and both masks on the bounding box of the morphological mask.
#[derive(Debug, Clone)]
pub struct Roi {
    /// Crop size (x, y, z).
    pub dims: [usize; 3],
    /// Voxel spacing in mm.
    pub spacing: [f64; 3],
    /// Offset of the crop's voxel (0, 0, 0) in the full grid.
    pub offset: [usize; 3],
    /// Image intensities on the crop (every voxel, inside or not).
    pub values: Vec<f64>,
    /// Morphological mask on the crop.
    pub morph: Vec<bool>,
    /// Intensity mask on the crop.
    pub intensity: Vec<bool>,
}

impl Roi {
    /// Crop `image` and both masks to the bounding box of the union of the masks.
    pub fn new(image: &Volume<f32>, morph: &Mask, intensity: &Mask) -> Result<Roi> {
        let union = Volume {
            geometry: morph.geometry.clone(),
            data: morph
                .data
                .iter()
                .zip(&intensity.data)
                .map(|(&a, &b)| a || b)
                .collect(),
        };
        let (lo, hi) = union
            .bounding_box()
            .ok_or_else(|| Error::EmptyRoi("the morphological mask has no voxels".into()))?;
        let dims = [hi[0] - lo[0] + 1, hi[1] - lo[1] + 1, hi[2] - lo[2] + 1];
        let n = dims[0] * dims[1] * dims[2];
        let mut values = Vec::with_capacity(n);
        let mut m = Vec::with_capacity(n);
        let mut im = Vec::with_capacity(n);
        for z in lo[2]..=hi[2] {
            for y in lo[1]..=hi[1] {
                let row = image.geometry.index(lo[0], y, z);
                for i in row..row + dims[0] {
                    values.push(image.data[i] as f64);
                    m.push(morph.data[i]);
                    im.push(intensity.data[i]);
                }
            }
        }
        Ok(Roi {
            dims,
            spacing: image.geometry.spacing,
            offset: lo,
            values,
            morph: m,
            intensity: im,
        })
    }

    /// Linear index of crop voxel (x, y, z).
    #[inline]
    pub fn index(&self, x: usize, y: usize, z: usize) -> usize {
        x + self.dims[0] * (y + self.dims[1] * z)
    }

    /// Intensities of the voxels in the intensity mask, in storage order.
    pub fn intensities(&self) -> Vec<f64> {
        self.values
            .iter()
            .zip(&self.intensity)
            .filter(|(_, &m)| m)
            .map(|(&v, _)| v)
            .collect()
    }
}

/// The intensity-masked ROI after discretisation, on the same crop as [`Roi`].
#[derive(Debug, Clone)]
pub struct DiscreteRoi {
    /// Crop size (x, y, z).
    pub dims: [usize; 3],
    /// Voxel spacing in mm.
    pub spacing: [f64; 3],
    /// Grey level 1..=n_levels for voxels in the intensity mask, 0 outside it.
    pub levels: Vec<u32>,
    /// Morphological mask on the crop (GLDZM takes distances from it).
    pub morph: Vec<bool>,
    /// Number of grey levels N_g of the discretisation (the largest possible level).
    pub n_levels: u32,
}

impl DiscreteRoi {
    /// Linear index of crop voxel (x, y, z).
    #[inline]
    pub fn index(&self, x: usize, y: usize, z: usize) -> usize {
        x + self.dims[0] * (y + self.dims[1] * z)
    }

    /// Grey levels of the voxels in the intensity mask, in storage order.
    pub fn roi_levels(&self) -> Vec<u32> {
        self.levels.iter().copied().filter(|&l| l > 0).collect()
    }
}
