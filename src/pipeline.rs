//! The IBSI processing chain for one image and one ROI mask:
//! load → (round) → interpolate → (round) → re-segment → discretise → features.
//!
//! Diagnostic values of each step (`*_init_img`, `*_interp_roi`, …) are emitted
//! with the features under the tags of the IBSI reference spreadsheet.

use crate::error::{Error, Result};
use crate::features::{self, Features};
use crate::io::ReadLimits;
use crate::params::{Compat, Params};
use crate::preprocess::{discretise, resample, resegment};
use crate::roi::Roi;
use crate::volume::{check_same_grid, Mask, Volume};
use std::path::Path;

/// Largest number of grey levels after discretisation (texture matrices are
/// dense N_g × N_g; 4096² counts is 128 MiB per matrix).
pub const MAX_GREY_LEVELS: u32 = 4096;

/// The result of one extraction.
#[derive(Debug, Clone)]
pub struct Extraction {
    /// Diagnostics first, then features, as `(IBSI tag, value)`.
    pub features: Features,
    /// Voxels in the morphological mask after interpolation.
    pub roi_voxels: usize,
    /// Voxel spacing (mm) the features were computed at.
    pub spacing: [f64; 3],
    /// Why each NaN value is undefined, as `(tag, reason)`.
    pub nan_reasons: Vec<(String, String)>,
}

impl Extraction {
    /// The NaN reasons as one text cell: `tag: reason; tag: reason`.
    pub fn nan_reasons_text(&self) -> String {
        self.nan_reasons
            .iter()
            .map(|(t, r)| format!("{t}: {r}"))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// Run the whole chain. `image_path` and `mask_path` name the inputs in errors.
pub fn extract(
    mut image: Volume<f32>,
    mask: Mask,
    params: &Params,
    image_path: &Path,
    mask_path: &Path,
) -> Result<Extraction> {
    if params.compat == Compat::PyRadiomics {
        let features =
            crate::compat::pyradiomics::extract(&image, &mask, params, image_path, mask_path)?;
        let nan_reasons = features
            .iter()
            .filter(|(_, v)| v.is_nan())
            .map(|(t, _)| {
                (
                    t.clone(),
                    "undefined for this ROI in PyRadiomics' definition".to_string(),
                )
            })
            .collect();
        return Ok(Extraction {
            features,
            roi_voxels: mask.count(),
            spacing: image.geometry.spacing,
            nan_reasons,
        });
    }
    check_same_grid(&image.geometry, image_path, &mask.geometry, mask_path)?;
    if mask.count() == 0 {
        return Err(Error::EmptyRoi(format!(
            "mask {} has no voxels",
            mask_path.display()
        )));
    }
    check_finite_in_roi(&image, &mask, image_path)?;
    let mut diag = Features::new();
    if params.round_intensities {
        resample::round_intensities(&mut image);
    }
    image_diagnostics(&mut diag, &image, "init_img");
    roi_diagnostics(&mut diag, &image, &mask, &mask, "init_roi");

    let (image, morph) = match &params.resampling {
        Some(r) => {
            let mut spacing = image.geometry.spacing;
            for (a, s) in r.spacing.iter().enumerate() {
                if let Some(s) = s {
                    spacing[a] = *s;
                }
            }
            let target = resample::aligned_grid(&image.geometry, spacing);
            // A tiny resampled spacing must be an error, not a huge allocation.
            let limits = ReadLimits::from_env()?;
            let n = target
                .dims
                .iter()
                .try_fold(1usize, |a, &d| a.checked_mul(d));
            if n.is_none_or(|n| n > limits.max_voxels) {
                return Err(Error::ResourceLimit {
                    path: params.source_path.clone(),
                    reason: format!(
                        "resampling to {spacing:?} mm gives a {:?} grid, more than the limit of {} voxels \
                         (set CTRAD_MAX_VOXELS to raise it)",
                        target.dims, limits.max_voxels
                    ),
                });
            }
            let mut img = resample::resample_image(&image, &target, r.interpolator);
            if params.round_intensities {
                resample::round_intensities(&mut img);
            }
            let m = resample::resample_mask(&mask, &target, r.mask_interpolator, r.mask_threshold);
            (img, m)
        }
        None => (image, mask),
    };
    image_diagnostics(&mut diag, &image, "interp_img");
    roi_diagnostics(&mut diag, &image, &morph, &morph, "interp_roi");
    if morph.count() == 0 {
        return Err(Error::EmptyRoi(format!(
            "mask {} has no voxels after interpolation",
            mask_path.display()
        )));
    }

    let intensity = if params.resegment_range.is_some() || params.outlier_sigma.is_some() {
        resegment::resegment(&image, &morph, params.resegment_range, params.outlier_sigma)
    } else {
        morph.clone()
    };
    roi_diagnostics(&mut diag, &image, &intensity, &morph, "reseg_roi");
    if intensity.count() == 0 {
        return Err(Error::EmptyRoi(format!(
            "no voxel of mask {} lies in the re-segmentation range {:?}",
            mask_path.display(),
            params.resegment_range
        )));
    }

    let roi = Roi::new(&image, &morph, &intensity)?;
    let discrete = discretise::discretise(&roi, &params.discretisation)?;
    // Texture matrices are dense N_g × N_g: refuse absurd numbers of grey levels.
    if discrete.n_levels > MAX_GREY_LEVELS {
        return Err(Error::params(
            &params.source_path,
            format!(
                "the discretisation gives {} grey levels over the ROI, more than the supported {MAX_GREY_LEVELS} \
                 (use a larger binWidth or a smaller binCount)",
                discrete.n_levels
            ),
        ));
    }
    let values = roi.intensities();
    let fam = |f: &str| params.families.contains(f);

    let mut out = diag;
    if fam("morph") {
        out.extend(features::morph::compute(&roi));
    }
    if fam("loc") {
        out.extend(features::loc::compute(&image, &intensity));
    }
    if fam("stat") {
        out.extend(features::stat::compute(&values));
    }
    if fam("ih") {
        out.extend(features::ih::compute(
            &discrete.roi_levels(),
            discrete.n_levels,
        ));
    }
    if fam("ivh") {
        out.extend(features::ivh::compute(
            &values,
            &params.ivh_discretisation(),
        ));
    }
    let t = &params.texture;
    type Family = fn(&crate::roi::DiscreteRoi, &features::TextureSettings) -> Features;
    let texture: [(&str, Family); 6] = [
        ("cm", features::glcm::compute),
        ("rlm", features::glrlm::compute),
        ("szm", features::glszm::compute),
        ("dzm", features::gldzm::compute),
        ("ngt", features::ngtdm::compute),
        ("ngl", features::ngldm::compute),
    ];
    let selected: Vec<_> = texture.iter().filter(|(code, _)| fam(code)).collect();
    let results: Vec<Features> = {
        use rayon::prelude::*;
        selected.par_iter().map(|(_, f)| f(&discrete, t)).collect()
    };
    for r in results {
        out.extend(r);
    }
    let shape = RoiShape {
        voxels: values.len(),
        grey_levels: {
            let mut l = discrete.roi_levels();
            l.sort_unstable();
            l.dedup();
            l.len()
        },
        constant: values.iter().all(|&v| v == values[0]),
        slices: roi.dims[2],
    };
    // A value beyond the floating-point range (from absurd spacings or
    // intensities) is reported as NaN with a reason, never as ±Inf.
    let mut overflowed = Vec::new();
    for (tag, v) in out.iter_mut() {
        if v.is_infinite() {
            *v = f64::NAN;
            overflowed.push(tag.clone());
        }
    }
    let mut nan_reasons = explain_nans(&out, &shape);
    nan_reasons.retain(|(t, _)| !overflowed.contains(t));
    nan_reasons.extend(overflowed.into_iter().map(|t| {
        (
            t,
            "overflow: the value exceeds the floating-point range (check voxel spacing and intensities)"
                .to_string(),
        )
    }));
    Ok(Extraction {
        features: out,
        roi_voxels: morph.count(),
        spacing: image.geometry.spacing,
        nan_reasons,
    })
}

fn image_diagnostics(out: &mut Features, image: &Volume<f32>, stage: &str) {
    let g = &image.geometry;
    for (a, axis) in ["x", "y", "z"].iter().enumerate() {
        out.push((format!("img_dim_{axis}_{stage}"), g.dims[a] as f64));
    }
    for (a, axis) in ["x", "y", "z"].iter().enumerate() {
        out.push((format!("vox_dim_{axis}_{stage}"), g.spacing[a]));
    }
    // Separate passes: the sum keeps its sequential order, min/max vectorise.
    let sum: f64 = image.data.iter().map(|&v| v as f64).sum();
    let min = image.data.iter().copied().fold(f32::INFINITY, f32::min) as f64;
    let max = image.data.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    out.push((
        format!("mean_int_{stage}"),
        sum / image.data.len().max(1) as f64,
    ));
    out.push((format!("min_int_{stage}"), min));
    out.push((format!("max_int_{stage}"), max));
}

fn roi_diagnostics(
    out: &mut Features,
    image: &Volume<f32>,
    int_mask: &Mask,
    morph_mask: &Mask,
    stage: &str,
) {
    let g = &int_mask.geometry;
    for (a, axis) in ["x", "y", "z"].iter().enumerate() {
        out.push((format!("int_mask_dim_{axis}_{stage}"), g.dims[a] as f64));
    }
    // Counts and intensities over each mask's bounding box only (the same
    // voxels in the same order as a pass over the whole grid).
    let int_bb = int_mask.bounding_box();
    let morph_bb = if std::ptr::eq(int_mask, morph_mask) {
        int_bb
    } else {
        morph_mask.bounding_box()
    };
    for (prefix, bb) in [("int_mask", int_bb), ("morph_mask", morph_bb)] {
        for (a, axis) in ["x", "y", "z"].iter().enumerate() {
            let v = bb.map_or(0.0, |(lo, hi)| (hi[a] - lo[a] + 1) as f64);
            out.push((format!("{prefix}_bb_dim_{axis}_{stage}"), v));
        }
    }
    let in_box = |m: &Mask, bb: Option<([usize; 3], [usize; 3])>| -> Vec<usize> {
        let Some((lo, hi)) = bb else {
            return Vec::new();
        };
        let [nx, ny, _] = m.geometry.dims;
        let mut idx = Vec::new();
        for z in lo[2]..=hi[2] {
            for y in lo[1]..=hi[1] {
                let row = nx * (y + ny * z);
                idx.extend((row + lo[0]..=row + hi[0]).filter(|&i| m.data[i]));
            }
        }
        idx
    };
    let int_voxels = in_box(int_mask, int_bb);
    let morph_count = if std::ptr::eq(int_mask, morph_mask) {
        int_voxels.len()
    } else {
        in_box(morph_mask, morph_bb).len()
    };
    out.push((
        format!("int_mask_vox_count_{stage}"),
        int_voxels.len() as f64,
    ));
    out.push((format!("morph_mask_vox_count_{stage}"), morph_count as f64));
    let (n, sum, min, max) = int_voxels.iter().map(|&i| image.data[i]).fold(
        (0usize, 0.0f64, f64::INFINITY, f64::NEG_INFINITY),
        |(n, s, lo, hi), v| (n + 1, s + v as f64, lo.min(v as f64), hi.max(v as f64)),
    );
    let nan = f64::NAN;
    out.push((
        format!("int_mask_mean_int_{stage}"),
        if n > 0 { sum / n as f64 } else { nan },
    ));
    out.push((
        format!("int_mask_min_int_{stage}"),
        if n > 0 { min } else { nan },
    ));
    out.push((
        format!("int_mask_max_int_{stage}"),
        if n > 0 { max } else { nan },
    ));
}

/// What makes an ROI degenerate, for explaining undefined values.
struct RoiShape {
    voxels: usize,
    grey_levels: usize,
    constant: bool,
    slices: usize,
}

/// A reason for every NaN value: IBSI leaves the feature undefined for this
/// ROI (a zero denominator in its formula), or ctrad does not compute it.
fn explain_nans(features: &Features, roi: &RoiShape) -> Vec<(String, String)> {
    features
        .iter()
        .filter(|(_, v)| v.is_nan())
        .map(|(tag, _)| {
            let reason = if tag.ends_with("_ombb") || tag.ends_with("_mvee") {
                "not computed (no IBSI reference value; oriented bounding box / minimum-volume ellipsoid not implemented)"
                    .to_string()
            } else if roi.voxels == 1 {
                "undefined for a single-voxel ROI".to_string()
            } else if roi.constant {
                "undefined for a constant-intensity ROI (zero variance)".to_string()
            } else if roi.grey_levels == 1 && !tag.starts_with("morph_") && !tag.starts_with("stat_") {
                "undefined with a single grey level after discretisation".to_string()
            } else if roi.slices == 1 && (tag.contains("2_5D") || tag.contains("3D")) && !tag.starts_with("morph_") {
                "undefined for a single-slice ROI".to_string()
            } else {
                format!(
                    "undefined for this ROI ({} voxels, {} grey levels): a zero denominator in its formula",
                    roi.voxels, roi.grey_levels
                )
            };
            (tag.clone(), reason)
        })
        .collect()
}

/// NaN or ±Inf inside the ROI is an error naming the image and the voxel
/// (outside the ROI it is harmless and allowed).
pub(crate) fn check_finite_in_roi(
    image: &Volume<f32>,
    mask: &Mask,
    image_path: &Path,
) -> Result<()> {
    match mask.bounding_box() {
        Some((lo, hi)) => check_finite_in_box(image, mask, lo, hi, image_path),
        None => Ok(()),
    }
}

/// [`check_finite_in_roi`] for a mask whose bounding box `lo..=hi` is known:
/// only rows inside it can hold ROI voxels, and scanning them in storage
/// order finds the same first offender as a full pass.
pub(crate) fn check_finite_in_box(
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
