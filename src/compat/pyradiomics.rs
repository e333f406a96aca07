//! The PyRadiomics 3.1 extraction chain (`compat: pyradiomics`).
//!
//! Conventions reproduced (PyRadiomics `featureextractor` / `imageoperations`):
//! * the mask is the voxels equal to `label` (default 1), as SimpleITK reads it;
//! * no resampling unless `resampledPixelSpacing` is given (not supported here:
//!   an error), no intensity rounding, no normalisation;
//! * optional re-segmentation (`resegmentRange`, absolute or sigma mode) of the
//!   intensity mask only; shape uses the original mask;
//! * crop to the ROI bounding box;
//! * binning with edges from 0 for `binWidth` (`floor(min / w) · w`, then every
//!   `w`, all bins half-open) or `numpy.histogram` edges for `binCount`;
//!   grey levels keep their bin number (1-based; empty bins are not renumbered)
//!   and `N_g` is the highest level present;
//! * features named `original_<class>_<Feature>`, each class in PyRadiomics'
//!   (alphabetical) order, deprecated features left out as PyRadiomics does.

use super::{firstorder, glcm, gldm, glrlm, glszm, ngtdm, shape};
use crate::error::{Error, Result};
use crate::features::Features;
use crate::params::{Params, FAMILIES};
use crate::preprocess::discretise::Discretisation;
use crate::volume::{check_same_grid, Mask, Volume};
use std::path::Path;

/// The PyRadiomics classes ctrad reproduces: (IBSI family code, class name).
pub const CLASSES: [(&str, &str); 7] = [
    ("morph", "shape"),
    ("stat", "firstorder"),
    ("cm", "glcm"),
    ("rlm", "glrlm"),
    ("szm", "glszm"),
    ("ngl", "gldm"),
    ("ngt", "ngtdm"),
];

/// The ROI cropped to its bounding box, binned. Layout x-fastest.
#[derive(Debug, Clone)]
pub(crate) struct Crop {
    /// Crop size (x, y, z).
    pub dims: [usize; 3],
    /// Voxel spacing (x, y, z) in mm.
    pub spacing: [f64; 3],
    /// Intensities on the crop (every voxel).
    pub values: Vec<f64>,
    /// The label mask (shape features).
    pub shape_mask: Vec<bool>,
    /// The (re-segmented) intensity mask (first order and texture).
    pub mask: Vec<bool>,
    /// Bin number (1-based) inside `mask`, 0 outside.
    pub levels: Vec<u32>,
    /// Grey levels present in the ROI, ascending.
    pub grey_levels: Vec<u32>,
}

impl Crop {
    /// `N_g`: the highest grey level present in the ROI.
    pub fn n_g(&self) -> u32 {
        self.grey_levels.last().copied().unwrap_or(0)
    }

    /// Index of each level in `grey_levels` (`usize::MAX` for absent levels),
    /// indexed by level.
    pub fn level_index(&self) -> Vec<usize> {
        let mut idx = vec![usize::MAX; self.n_g() as usize + 1];
        for (k, &l) in self.grey_levels.iter().enumerate() {
            idx[l as usize] = k;
        }
        idx
    }

    /// Intensities inside the intensity mask, storage order.
    pub fn roi_values(&self) -> Vec<f64> {
        self.values
            .iter()
            .zip(&self.mask)
            .filter(|(_, &m)| m)
            .map(|(&v, _)| v)
            .collect()
    }
}

/// Settings that only the compatibility mode reads from the parameter text.
struct Extra {
    voxel_array_shift: f64,
    minimum_roi_dimensions: usize,
}

fn extra_settings(params: &Params) -> Result<Extra> {
    let err = |r: &str| Error::params(&params.source_path, r.to_string());
    let root: serde_norway::Value = serde_norway::from_str(&params.source_text)
        .map_err(|e| err(&format!("invalid YAML: {e}")))?;
    let setting = root.get("setting");
    let get = |k: &str| setting.and_then(|s| s.get(k)).filter(|v| !v.is_null());
    let voxel_array_shift = match get("voxelArrayShift") {
        Some(v) => v
            .as_f64()
            .ok_or_else(|| err("'voxelArrayShift' must be a number"))?,
        None => 0.0,
    };
    let minimum_roi_dimensions = match get("minimumROIDimensions") {
        Some(v) => v
            .as_u64()
            .filter(|&d| (1..=3).contains(&d))
            .ok_or_else(|| err("'minimumROIDimensions' must be 1, 2 or 3"))?
            as usize,
        None => 2,
    };
    for key in ["normalize", "preCrop", "force2D", "weightingNorm"] {
        if let Some(v) = get(key) {
            if v.as_bool() == Some(true) || (key == "weightingNorm" && !v.is_null()) {
                return Err(err(&format!(
                    "'{key}' is not supported in 'compat: pyradiomics' mode"
                )));
            }
        }
    }
    Ok(Extra {
        voxel_array_shift,
        minimum_roi_dimensions,
    })
}

/// One feature class, run in parallel with the others.
type Job<'a> = Box<dyn Fn() -> Vec<(&'static str, f64)> + Sync + 'a>;

/// Run PyRadiomics' chain on `image` and the label mask `mask`.
pub fn extract(
    image: &Volume<f32>,
    mask: &Mask,
    params: &Params,
    image_path: &Path,
    mask_path: &Path,
) -> Result<Features> {
    let perr = |r: String| Error::params(&params.source_path, r);
    if params.resampling.is_some() {
        return Err(perr(
            "'resampledPixelSpacing' is not supported in 'compat: pyradiomics' mode (ITK's resampling is not reproduced); \
             resample the images beforehand or use the IBSI mode"
                .into(),
        ));
    }
    if params.round_intensities {
        return Err(perr("'roundIntensities' has no PyRadiomics equivalent; remove it in 'compat: pyradiomics' mode".into()));
    }
    let all: Vec<String> = FAMILIES.iter().map(|s| s.to_string()).collect();
    let explicit = params.families.iter().cloned().collect::<Vec<_>>() != all;
    if explicit {
        if let Some(f) = params
            .families
            .iter()
            .find(|f| !CLASSES.iter().any(|(c, _)| c == f))
        {
            return Err(perr(format!(
                "feature family '{f}' has no PyRadiomics class ('compat: pyradiomics' mode)"
            )));
        }
    }
    let extra = extra_settings(params)?;
    check_same_grid(&image.geometry, image_path, &mask.geometry, mask_path)?;
    let Some((lo, hi)) = mask.bounding_box() else {
        return Err(Error::EmptyRoi(format!(
            "label {} not present in mask {}",
            params.label.unwrap_or(1),
            mask_path.display()
        )));
    };
    crate::pipeline::check_finite_in_box(image, mask, lo, hi, image_path)?;
    let dims = [hi[0] - lo[0] + 1, hi[1] - lo[1] + 1, hi[2] - lo[2] + 1];
    let roi_dims = dims.iter().filter(|&&d| d > 1).count();
    if roi_dims < extra.minimum_roi_dimensions {
        return Err(Error::Invalid(format!(
            "mask {}: the ROI spans {roi_dims} dimension(s), PyRadiomics requires minimumROIDimensions = {}",
            mask_path.display(),
            extra.minimum_roi_dimensions
        )));
    }

    // Crop.
    let n = dims[0] * dims[1] * dims[2];
    let mut values = Vec::with_capacity(n);
    let mut shape_mask = Vec::with_capacity(n);
    for z in lo[2]..=hi[2] {
        for y in lo[1]..=hi[1] {
            let row = image.geometry.index(lo[0], y, z);
            for i in row..row + dims[0] {
                values.push(image.data[i] as f64);
                shape_mask.push(mask.data[i]);
            }
        }
    }

    // Re-segmentation of the intensity mask (PyRadiomics resegmentMask).
    let range = match (params.resegment_range, params.outlier_sigma) {
        (Some(r), _) => Some(r),
        (None, Some(k)) => {
            let v: Vec<f64> = values
                .iter()
                .zip(&shape_mask)
                .filter(|(_, &m)| m)
                .map(|(&v, _)| v)
                .collect();
            let mean = v.iter().sum::<f64>() / v.len() as f64;
            let sd = (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / v.len() as f64).sqrt();
            Some((mean - k * sd, mean + k * sd))
        }
        (None, None) => None,
    };
    let intensity_mask: Vec<bool> = match range {
        Some((a, b)) => values
            .iter()
            .zip(&shape_mask)
            .map(|(&v, &m)| m && v >= a && v <= b)
            .collect(),
        None => shape_mask.clone(),
    };
    if !intensity_mask.iter().any(|&m| m) {
        return Err(Error::EmptyRoi(format!(
            "no voxel of mask {} lies in the re-segmentation range",
            mask_path.display()
        )));
    }

    let (levels, grey_levels) = bin(&values, &intensity_mask, &params.discretisation)?;
    let crop = Crop {
        dims,
        spacing: image.geometry.spacing,
        values,
        shape_mask,
        mask: intensity_mask,
        levels,
        grey_levels,
    };

    let wanted = |code: &str| params.families.contains(code);
    let padded = crate::features::padded::PaddedLevels::new(&crop.levels, crop.dims, [true; 3]);
    let (crop, padded) = (&crop, &padded);
    let mut jobs: Vec<(&str, Job<'_>)> = Vec::new();
    if wanted("morph") {
        jobs.push(("shape", Box::new(move || shape::compute(crop))));
    }
    if wanted("stat") {
        let shift = extra.voxel_array_shift;
        jobs.push((
            "firstorder",
            Box::new(move || firstorder::compute(crop, shift)),
        ));
    }
    if wanted("cm") {
        jobs.push(("glcm", Box::new(move || glcm::compute(crop, padded))));
    }
    if wanted("rlm") {
        jobs.push(("glrlm", Box::new(move || glrlm::compute(crop, padded))));
    }
    if wanted("szm") {
        jobs.push(("glszm", Box::new(move || glszm::compute(padded))));
    }
    if wanted("ngl") {
        let alpha = params.texture.ngldm_alpha;
        jobs.push(("gldm", Box::new(move || gldm::compute(crop, padded, alpha))));
    }
    if wanted("ngt") {
        jobs.push(("ngtdm", Box::new(move || ngtdm::compute(crop, padded))));
    }
    // One thread: run the classes here rather than hand them to the pool's
    // single worker (no hand-off, and memory freed here is reused here).
    let results: Vec<Vec<(&'static str, f64)>> = if rayon::current_num_threads() > 1 {
        use rayon::prelude::*;
        jobs.par_iter().map(|(_, f)| f()).collect()
    } else {
        jobs.iter().map(|(_, f)| f()).collect()
    };
    let mut out = Features::new();
    for ((class, _), feats) in jobs.iter().zip(results) {
        out.extend(
            feats
                .into_iter()
                .map(|(name, v)| (format!("original_{class}_{name}"), v)),
        );
    }
    Ok(out)
}

/// PyRadiomics' binning (`imageoperations.getBinEdges` + `numpy.digitize`):
/// returns the 1-based bin of every voxel in `mask` (0 outside) and the
/// ascending list of bins present.
fn bin(values: &[f64], mask: &[bool], d: &Discretisation) -> Result<(Vec<u32>, Vec<u32>)> {
    let roi = values.iter().zip(mask).filter(|(_, &m)| m).map(|(&v, _)| v);
    let (min, max) = roi.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
        (a.min(v), b.max(v))
    });
    let edges: Vec<f64> = match *d {
        Discretisation::FixedBinSize { width, .. } => {
            // Edges at multiples of the width from floor(min / w) · w (Python's
            // floored modulo), up to max + 2w exclusive: every bin half-open.
            let low = min - min.rem_euclid(width);
            let high = max + 2.0 * width;
            let n = ((high - low) / width).ceil() as usize;
            let mut e: Vec<f64> = (0..n)
                .map(|i| low + i as f64 * width)
                .filter(|&x| x < high)
                .collect();
            if e.len() == 1 {
                // Flat region: one bin around the value.
                e = vec![e[0] - 0.5, e[0] + 0.5];
            }
            e
        }
        Discretisation::FixedBinNumber { bins } => {
            // numpy.histogram edges (linspace), the last moved up by 1 so that
            // the maximum falls in the top bin. numpy.histogram widens a flat
            // range to [v - 0.5, v + 0.5].
            let (a, b) = if min == max {
                (min - 0.5, max + 0.5)
            } else {
                (min, max)
            };
            let n = bins as usize;
            let step = (b - a) / n as f64;
            let mut e: Vec<f64> = (0..=n).map(|i| a + i as f64 * step).collect();
            e[n] = b + 1.0;
            e
        }
    };
    let levels: Vec<u32> = values
        .iter()
        .zip(mask)
        .map(|(&v, &m)| {
            if m {
                edges.partition_point(|&e| e <= v) as u32
            } else {
                0
            }
        })
        .collect();
    let mut present = vec![false; edges.len() + 2];
    for &l in &levels {
        present[l as usize] = true;
    }
    let grey: Vec<u32> = (1..present.len())
        .filter(|&l| present[l])
        .map(|l| l as u32)
        .collect();
    if grey.is_empty() {
        return Err(Error::Invalid("no grey level after binning".into()));
    }
    let top = grey.last().copied().unwrap_or(0);
    if top > crate::pipeline::MAX_GREY_LEVELS {
        return Err(Error::Invalid(format!(
            "the binning gives grey level {top}, more than the supported {}: use a larger 'binWidth'",
            crate::pipeline::MAX_GREY_LEVELS
        )));
    }
    Ok((levels, grey))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bin_width_edges_start_at_a_multiple_of_the_width() {
        let v = [-84.0, -75.0, -51.0, -50.0, 0.0, 24.9, 25.0, 150.0];
        let m = [true; 8];
        let (l, g) = bin(
            &v,
            &m,
            &Discretisation::FixedBinSize {
                width: 25.0,
                min: None,
            },
        )
        .unwrap();
        // Edges -100, -75, -50, ...: -84 → 1, -75 → 2, -51 → 2, -50 → 3, 0 → 5, 24.9 → 5, 25 → 6, 150 → 11.
        assert_eq!(l, vec![1, 2, 2, 3, 5, 5, 6, 11]);
        assert_eq!(g, vec![1, 2, 3, 5, 6, 11]);
    }

    #[test]
    fn bin_count_puts_the_maximum_in_the_top_bin() {
        let v = [0.0, 1.0, 2.0, 3.0, 4.0];
        let (l, _) = bin(&v, &[true; 5], &Discretisation::FixedBinNumber { bins: 2 }).unwrap();
        assert_eq!(l, vec![1, 1, 2, 2, 2]);
        let (l, g) = bin(
            &[7.0, 7.0],
            &[true; 2],
            &Discretisation::FixedBinNumber { bins: 4 },
        )
        .unwrap();
        assert_eq!((l, g), (vec![3, 3], vec![3]));
    }
}
