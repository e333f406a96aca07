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
use crate::features::padded::{Level, PaddedLevels};
use crate::features::Features;
use crate::filters::image_types::{self, ImageTypeKind};
use crate::params::{Params, FAMILIES};
use crate::preprocess::discretise::Discretisation;
use crate::preprocess::itk_resample;
use crate::volume::{check_same_grid, Mask, Volume};
use std::path::Path;
use std::sync::Arc;

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
    /// The label mask (shape features), padded by one background voxel on
    /// every side: size `dims + 2` per axis, the layout of
    /// [`PaddedLevels`] with every axis padded.
    pub shape_mask: Arc<[bool]>,
    /// Intensities inside the (re-segmented) intensity mask, storage order
    /// (f32 images widened exactly; the float64 image types as they are).
    pub roi_values: Vec<f64>,
    /// Lowest and highest of `roi_values`.
    pub value_range: (f64, f64),
    /// Number of intensity-mask voxels per grey level (index = level).
    pub level_counts: Vec<u64>,
    /// Grey levels present in the ROI, ascending.
    pub grey_levels: Vec<u32>,
    /// Per block row (y, z), in storage order: the block x range
    /// `first..end` from the row's first to its last label-mask voxel
    /// (`0..0` for a row without any). Every intensity-mask voxel lies in
    /// its row's span: row passes that only need ROI voxels skip the rest.
    pub row_spans: Arc<[(usize, usize)]>,
}

impl Crop {
    /// [`Crop::row_spans`] of the non-zero voxels of `padded`.
    #[cfg(test)]
    pub fn spans_of<L: Level>(padded: &PaddedLevels<L>) -> Arc<[(usize, usize)]> {
        let width = padded.dims[0] - 2;
        padded
            .rows()
            .map(|start| row_span(&padded.data[start..start + width], |&l| l != L::default()))
            .collect()
    }

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
}

/// The range `first..end` from the first to the last element of `row` with
/// `inside` (`0..0` when there is none).
fn row_span<T>(row: &[T], inside: impl Fn(&T) -> bool) -> (usize, usize) {
    match row.iter().position(&inside) {
        Some(first) => (first, row.iter().rposition(inside).unwrap_or(first) + 1),
        None => (0, 0),
    }
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
    if let Some(r) = &params.resampling {
        // PyRadiomics resamples (and crops to the ROI box plus padDistance)
        // first; every later step sees only the resampled crop.
        check_same_grid(&image.geometry, image_path, &mask.geometry, mask_path)?;
        let extra = &params.pyradiomics;
        let (image, mask) = itk_resample::resample(
            image,
            mask,
            r.spacing,
            extra.interpolator,
            extra.pad_distance,
        )?;
        return extract_on_grid(&image, &mask, params, image_path, mask_path);
    }
    extract_on_grid(image, mask, params, image_path, mask_path)
}

/// [`extract`] once the image is the one PyRadiomics filters (resampled
/// or not).
fn extract_on_grid(
    image: &Volume<f32>,
    mask: &Mask,
    params: &Params,
    image_path: &Path,
    mask_path: &Path,
) -> Result<Features> {
    let perr = |r: String| Error::params(&params.source_path, r);
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
    let extra = &params.pyradiomics;
    check_same_grid(&image.geometry, image_path, &mask.geometry, mask_path)?;
    let Some((lo, hi)) = mask.bounding_box() else {
        return Err(Error::EmptyRoi(format!(
            "label {} not present in mask {}",
            params.label.unwrap_or(1),
            mask_path.display()
        )));
    };
    let dims = [hi[0] - lo[0] + 1, hi[1] - lo[1] + 1, hi[2] - lo[2] + 1];

    // Crop: the padded label mask and the intensities of its voxels. Every
    // box voxel's intensity is written to the next free slot, which is kept
    // only for a mask voxel: no branch per voxel, no growing vector.
    let [nx, ny, nz] = dims;
    let pdims = [nx + 2, ny + 2, nz + 2];
    let mut shape_mask = vec![false; pdims[0] * pdims[1] * pdims[2]];
    let mut values: Vec<f32> = vec![0.0; nx * ny * nz + 1];
    let mut kept = 0;
    let mut row_spans = Vec::with_capacity(ny * nz);
    for z in 0..nz {
        for y in 0..ny {
            let src = image.geometry.index(lo[0], lo[1] + y, lo[2] + z);
            let dst = 1 + pdims[0] * (y + 1 + pdims[1] * (z + 1));
            let (m, v) = (&mask.data[src..src + nx], &image.data[src..src + nx]);
            shape_mask[dst..dst + nx].copy_from_slice(m);
            row_spans.push(row_span(m, |&b| b));
            for (&v, &m) in v.iter().zip(m) {
                values[kept] = v;
                kept += usize::from(m);
            }
        }
    }
    values.truncate(kept);
    // Non-finite intensities in the ROI are an error (the scan that names
    // the first one runs only then).
    if !values.iter().fold(true, |ok, v| ok & v.is_finite()) {
        crate::preprocess::check_finite_in_box(image, mask, lo, hi, image_path)?;
    }
    if let Some(min) = extra.minimum_roi_size {
        if kept <= min {
            return Err(Error::Invalid(format!(
                "mask {}: the ROI has {kept} voxels, PyRadiomics requires more than minimumROISize = {min}",
                mask_path.display()
            )));
        }
    }
    let roi_dims = dims.iter().filter(|&&d| d > 1).count();
    if roi_dims < extra.minimum_roi_dimensions {
        return Err(Error::Invalid(format!(
            "mask {}: the ROI spans {roi_dims} dimension(s), PyRadiomics requires minimumROIDimensions = {}",
            mask_path.display(),
            extra.minimum_roi_dimensions
        )));
    }

    // Re-segmentation of the intensity mask (PyRadiomics resegmentMask), on
    // the original intensities; every image type uses the same voxels.
    let range = match (params.resegment_range, params.outlier_sigma) {
        (Some(r), _) => Some(r),
        (None, Some(k)) => {
            let n = values.len() as f64;
            let mean = values.iter().map(|&v| v as f64).sum::<f64>() / n;
            let sd = (values
                .iter()
                .map(|&v| (v as f64 - mean).powi(2))
                .sum::<f64>()
                / n)
                .sqrt();
            Some((mean - k * sd, mean + k * sd))
        }
        (None, None) => None,
    };
    let keep: Option<Vec<bool>> = range.map(|(a, b)| {
        values
            .iter()
            .map(|&v| v as f64 >= a && v as f64 <= b)
            .collect()
    });
    if keep.as_ref().is_some_and(|k| !k.contains(&true)) {
        return Err(Error::EmptyRoi(format!(
            "no voxel of mask {} lies in the re-segmentation range",
            mask_path.display()
        )));
    }
    drop(values);
    let base = Crop {
        dims,
        spacing: image.geometry.spacing,
        shape_mask: shape_mask.into(),
        roi_values: Vec::new(),
        value_range: (0.0, 0.0),
        level_counts: Vec::new(),
        grey_levels: Vec::new(),
        row_spans: row_spans.into(),
    };

    // Column order: shape first (PyRadiomics computes it before the image
    // types), then per derived image the classes in the file's order.
    let order: Vec<&str> = if extra.class_order.is_empty() {
        // PyRadiomics' own order of its classes (alphabetical).
        let mut c: Vec<(&str, &str)> = CLASSES.to_vec();
        c.sort_by_key(|&(_, name)| name);
        c.into_iter().map(|(code, _)| code).collect()
    } else {
        extra.class_order.iter().map(String::as_str).collect()
    };
    let wanted: Vec<&str> = order
        .into_iter()
        .filter(|c| params.families.contains(*c) && *c != "morph")
        .collect();
    let mut out = Features::new();
    if params.families.contains("morph") {
        out.extend(
            shape::compute(&base)
                .into_iter()
                .map(|(name, v)| (format!("original_shape_{name}"), v)),
        );
    }
    let original = [(ImageTypeKind::Original, params.clone())];
    let types: &[(ImageTypeKind, Params)] = if extra.image_types.is_empty() {
        &original
    } else {
        &extra.image_types
    };
    // The label mask over the box (unpadded): the voxels whose derived
    // values the classes read.
    let mut roi = Vec::with_capacity(nx * ny * nz);
    for z in 0..nz {
        for y in 0..ny {
            let o = base_index(pdims, 0, y, z);
            roi.extend_from_slice(&base.shape_mask[o..o + nx]);
        }
    }
    for (kind, tparams) in types {
        // Each derived image is made, measured and dropped before the next.
        let mut measure = |name: String, values: Vec<f64>| -> Result<()> {
            debug_assert_eq!(values.len(), kept);
            if !values.iter().all(|v| v.is_finite()) {
                return Err(Error::Invalid(format!(
                    "{}: the '{name}' image has non-finite values in the ROI",
                    image_path.display()
                )));
            }
            let feats = image_classes(&base, values, keep.as_deref(), tparams, &wanted)?;
            out.extend(
                feats
                    .into_iter()
                    .map(|(class, f, v)| (format!("{name}_{class}_{f}"), v)),
            );
            Ok(())
        };
        // The image type's own errors are about its settings; the
        // measurement's pass through unchanged.
        let mut failed = None;
        let made = image_types::for_each_response(
            *kind,
            &tparams.pyradiomics.image,
            image,
            lo,
            hi,
            &roi,
            |name, values| {
                measure(name, values).map_err(|e| {
                    failed = Some(e);
                    Error::Invalid("measurement failed".into())
                })
            },
        );
        if let Some(e) = failed {
            return Err(e);
        }
        made.map_err(|e| match e {
            Error::Invalid(r) => perr(r),
            e => e,
        })?;
    }
    Ok(out)
}

/// Index in the padded label mask of block voxel (x, y, z).
fn base_index(pdims: [usize; 3], x: usize, y: usize, z: usize) -> usize {
    x + 1 + pdims[0] * (y + 1 + pdims[1] * (z + 1))
}

/// The intensity classes `wanted` (IBSI codes, in column order) of one
/// derived image: `values` are its intensities on the label-mask voxels in
/// storage order, `keep` tells those of the re-segmented mask.
fn image_classes(
    base: &Crop,
    values: Vec<f64>,
    keep: Option<&[bool]>,
    params: &Params,
    wanted: &[&str],
) -> Result<Vec<(&'static str, &'static str, f64)>> {
    if params.texture.glcm_distance != 1 {
        return Err(Error::params(
            &params.source_path,
            "'distances' other than [1] are not supported in 'compat: pyradiomics' mode",
        ));
    }
    // Without re-segmentation the intensity mask is the label mask: the
    // values are the ROI values themselves.
    let (roi_values, label_values) = match keep {
        Some(k) => (
            values
                .iter()
                .zip(k)
                .filter(|(_, &k)| k)
                .map(|(&v, _)| v)
                .collect(),
            Some(values),
        ),
        None => (values, None),
    };
    let (min, max) = roi_values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        });
    let bins = Bins::new(min, max, &params.discretisation);
    // Levels grow with the intensity: the maximum has the highest one.
    let top = bins.level(max);
    if top == 0 {
        return Err(Error::Invalid("no grey level after binning".into()));
    }
    if top > crate::preprocess::discretise::MAX_GREY_LEVELS {
        return Err(Error::Invalid(format!(
            "the binning gives grey level {top}, more than the supported {}: use a larger 'binWidth'",
            crate::preprocess::discretise::MAX_GREY_LEVELS
        )));
    }
    let crop = Crop {
        roi_values,
        value_range: (min, max),
        ..base.clone()
    };
    // The narrowest level type: the texture passes stream less memory.
    let label_values = label_values.as_deref();
    if top <= u8::MAX as u32 {
        classes::<u8>(crop, label_values, keep, &bins, params, wanted)
    } else {
        classes::<u16>(crop, label_values, keep, &bins, params, wanted)
    }
}

/// Bin the intensity mask into a padded level grid of type `L`, then compute
/// the `wanted` classes. `values` are the intensities of the label-mask
/// voxels in storage order (`None`: the crop's ROI values, the same voxels
/// without re-segmentation); `keep` tells those of the intensity mask.
fn classes<L: Level>(
    mut crop: Crop,
    values: Option<&[f64]>,
    keep: Option<&[bool]>,
    bins: &Bins,
    params: &Params,
    wanted: &[&str],
) -> Result<Vec<(&'static str, &'static str, f64)>> {
    let extra = &params.pyradiomics;
    let values = values.unwrap_or(&crop.roi_values);
    let mut padded = PaddedLevels::<L>::zeros(crop.dims, [true; 3]);
    let mut counts = vec![0u64; bins.edges.len() + 1];
    // Integer intensities in a modest range (CT in HU): the level of every
    // integer of the ROI's range in a table, one lookup per voxel instead
    // of the bin search.
    let (lo, hi) = crop.value_range;
    let integral = lo >= -16_777_216.0
        && hi < 16_777_216.0
        && hi - lo < 65_536.0
        && values.iter().fold(true, |ok, &v| {
            ok & ((v as i32 as f64).to_bits() == v.to_bits())
        });
    let counted = if integral {
        let first = lo as i32;
        let table: Vec<u16> = (first..=hi as i32)
            .map(|v| bins.level(v as f64) as u16)
            .collect();
        // Re-segmented-out voxels may lie outside the ROI range: clamp (their
        // level is never used).
        let last = table.len() - 1;
        let level = |v: f64| u32::from(table[((v as i32 - first).max(0) as usize).min(last)]);
        bin_into(&mut padded, &crop, values, keep, level, &mut counts)
    } else {
        let level = |v: f64| bins.level(v);
        bin_into(&mut padded, &crop, values, keep, level, &mut counts)
    };
    debug_assert_eq!(counted, values.len());
    crop.grey_levels = (1..counts.len() as u32)
        .filter(|&l| counts[l as usize] > 0)
        .collect();
    counts.truncate(crop.n_g() as usize + 1);
    crop.level_counts = counts;

    let (crop, padded) = (&crop, &padded);
    let mut jobs: Vec<(&'static str, Job<'_>)> = Vec::new();
    for &code in wanted {
        match code {
            "stat" => {
                let shift = extra.voxel_array_shift;
                jobs.push((
                    "firstorder",
                    Box::new(move || firstorder::compute(crop, shift)),
                ));
            }
            "cm" => jobs.push(("glcm", Box::new(move || glcm::compute(crop, padded)))),
            "rlm" => jobs.push(("glrlm", Box::new(move || glrlm::compute(crop, padded)))),
            "szm" => jobs.push(("glszm", Box::new(move || glszm::compute(padded)))),
            "ngl" => {
                let alpha = params.texture.ngldm_alpha;
                jobs.push(("gldm", Box::new(move || gldm::compute(crop, padded, alpha))));
            }
            "ngt" => jobs.push(("ngtdm", Box::new(move || ngtdm::compute(crop, padded)))),
            _ => {}
        }
    }
    // One thread: run the classes here rather than hand them to the pool's
    // single worker (no hand-off, no pool to start, and memory freed here is
    // reused here).
    let results: Vec<Vec<(&'static str, f64)>> = if crate::parallel::is_parallel() {
        use rayon::prelude::*;
        jobs.par_iter().map(|(_, f)| f()).collect()
    } else {
        jobs.iter().map(|(_, f)| f()).collect()
    };
    let mut out = Vec::new();
    for ((class, _), feats) in jobs.iter().zip(results) {
        out.extend(feats.into_iter().map(|(name, v)| (*class, name, v)));
    }
    Ok(out)
}

/// Write the level of every intensity-mask voxel into `padded` (all zero)
/// and count the voxels per level. `values` are the intensities of the
/// label-mask voxels in storage order, `keep` tells those of the intensity
/// mask; returns the number of values read.
fn bin_into<L: Level>(
    padded: &mut PaddedLevels<L>,
    crop: &Crop,
    values: &[f64],
    keep: Option<&[bool]>,
    level: impl Fn(f64) -> u32,
    counts: &mut [u64],
) -> usize {
    let [_, ny, nz] = crop.dims;
    let mut next = 0;
    for z in 0..nz {
        for y in 0..ny {
            // Same layout: the level row is also the label-mask row; only
            // the span of its label-mask voxels.
            let (first, end) = crop.row_spans[y + ny * z];
            let o = padded.index(first, y, z);
            let row = &mut padded.row_mut(y, z)[first..end];
            let mask = &crop.shape_mask[o..o + row.len()];
            for (l, &m) in row.iter_mut().zip(mask) {
                if m {
                    let i = next;
                    next += 1;
                    if keep.is_none_or(|k| k[i]) {
                        let level = level(values[i]);
                        counts[level as usize] += 1;
                        *l = L::from_u32(level);
                    }
                }
            }
        }
    }
    next
}

/// PyRadiomics' bin edges (`imageoperations.getBinEdges`) and `numpy.digitize`
/// on them.
struct Bins {
    /// Ascending edges; bin k (1-based) is `[edges[k - 1], edges[k])`.
    edges: Vec<f64>,
    /// `1 / (edges[1] - edges[0])`: the arithmetic first guess of a bin.
    inv_width: f64,
}

impl Bins {
    /// The edges for ROI intensities in `[min, max]`.
    fn new(min: f64, max: f64, d: &Discretisation) -> Bins {
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
        let inv_width = match edges[..] {
            [a, b, ..] if b > a => 1.0 / (b - a),
            _ => 0.0,
        };
        Bins { edges, inv_width }
    }

    /// The 1-based bin of `v` (0 below the first edge): the number of edges
    /// ≤ v, as `numpy.digitize` and `edges.partition_point(|&e| e <= v)` give
    /// it. The edges are (nearly) evenly spaced, so the bin is guessed from
    /// the spacing, then corrected against the edges themselves: the result
    /// is exact whatever the rounding of the guess.
    #[inline]
    fn level(&self, v: f64) -> u32 {
        let e = &self.edges;
        let guess = (v - e[0]) * self.inv_width;
        // `as` saturates: negative (and NaN) guesses give 0.
        let mut k = (guess as usize).saturating_add(1).min(e.len());
        if guess < 0.0 || guess.is_nan() {
            k = 0;
        }
        while k < e.len() && e[k] <= v {
            k += 1;
        }
        while k > 0 && e[k - 1] > v {
            k -= 1;
        }
        k as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Levels of `v` with the bins of its range.
    fn bin(v: &[f64], d: &Discretisation) -> Vec<u32> {
        let min = v.iter().copied().fold(f64::INFINITY, f64::min);
        let max = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let b = Bins::new(min, max, d);
        v.iter()
            .map(|&x| {
                let l = b.level(x);
                assert_eq!(l as usize, b.edges.partition_point(|&e| e <= x));
                l
            })
            .collect()
    }

    #[test]
    fn bin_width_edges_start_at_a_multiple_of_the_width() {
        let v = [-84.0, -75.0, -51.0, -50.0, 0.0, 24.9, 25.0, 150.0];
        let l = bin(
            &v,
            &Discretisation::FixedBinSize {
                width: 25.0,
                min: None,
            },
        );
        // Edges -100, -75, -50, ...: -84 → 1, -75 → 2, -51 → 2, -50 → 3, 0 → 5, 24.9 → 5, 25 → 6, 150 → 11.
        assert_eq!(l, vec![1, 2, 2, 3, 5, 5, 6, 11]);
    }

    #[test]
    fn bin_count_puts_the_maximum_in_the_top_bin() {
        let v = [0.0, 1.0, 2.0, 3.0, 4.0];
        let l = bin(&v, &Discretisation::FixedBinNumber { bins: 2 });
        assert_eq!(l, vec![1, 1, 2, 2, 2]);
        let l = bin(&[7.0, 7.0], &Discretisation::FixedBinNumber { bins: 4 });
        assert_eq!(l, vec![3, 3]);
    }

    #[test]
    fn arithmetic_bins_match_the_edge_search() {
        // Awkward widths and ranges where the guess is off by one either way.
        let v: Vec<f64> = (0..2000).map(|i| -1000.3 + i as f64 * 0.7371).collect();
        for width in [0.1, 0.3, 1.0 / 3.0, 7.77, 25.0] {
            bin(&v, &Discretisation::FixedBinSize { width, min: None });
        }
        for bins in [1, 3, 7, 64, 1000] {
            bin(&v, &Discretisation::FixedBinNumber { bins });
        }
    }
}
