//! The IBSI processing chain for one image and one ROI mask:
//! load → (round) → interpolate → (round) → re-segment → discretise → features.
//!
//! Diagnostic values of each step (`*_init_img`, `*_interp_roi`, …) are emitted
//! with the features under the tags of the IBSI reference spreadsheet.

use crate::error::{Error, Result};
use crate::features::{self, Features};
use crate::inputs::{ImageSource, RoiBox};
use crate::io::ReadLimits;
use crate::params::{Compat, Params};
use crate::preprocess::{check_finite_in_roi, discretise, resample, resegment};
use crate::roi::Roi;
use crate::volume::{check_same_grid, Geometry, IntensitySummary, Mask, Volume};
use std::path::Path;

pub use crate::preprocess::discretise::MAX_GREY_LEVELS;

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

/// How much of the image the chain needs around an ROI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    /// The whole image (interpolation to a grid aligned with the image,
    /// Fourier-domain filters).
    Whole,
    /// The ROI's bounding box grown by this many voxels per axis (clamped
    /// to the image): local intensity's sphere, convolution filters'
    /// support. The chain's values on that box equal those on the whole image.
    Margin([usize; 3]),
}

/// What of the image around an ROI the chain needs with `params` on a
/// grid of `spacing`.
pub fn context(params: &Params, spacing: [f64; 3]) -> Context {
    if params.compat == Compat::PyRadiomics {
        // PyRadiomics crops the original image to the ROI box. Its derived
        // images depend on more (wavelets and intensity transforms on the
        // whole image, LoG through a recursive filter, resampling through
        // B-spline coefficients of the whole image): for now, the whole image.
        let original_only = params
            .pyradiomics
            .image_types
            .iter()
            .all(|(kind, _)| *kind == crate::filters::image_types::ImageTypeKind::Original);
        return if original_only && params.resampling.is_none() {
            Context::Margin([0; 3])
        } else {
            Context::Whole
        };
    }
    if params.resampling.is_some() {
        return Context::Whole;
    }
    let loc: [usize; 3] = if params.families.contains("loc") {
        let r = features::loc::sphere_radius_mm();
        std::array::from_fn(|a| (r / spacing[a]).ceil() as usize + 1)
    } else {
        [0; 3]
    };
    let mut margin = loc;
    for spec in &params.filters {
        match spec.margin(spacing) {
            Some(m) => {
                for a in 0..3 {
                    margin[a] = margin[a].max(m[a] + loc[a]);
                }
            }
            None => return Context::Whole,
        }
    }
    Context::Margin(margin)
}

/// The box `lo..=hi` the chain needs on a grid of `dims` for an ROI whose
/// bounding box is `roi` (`None` when the whole image is needed).
pub fn context_box(
    context: Context,
    roi: ([usize; 3], [usize; 3]),
    dims: [usize; 3],
) -> ([usize; 3], [usize; 3]) {
    match context {
        Context::Whole => ([0; 3], std::array::from_fn(|a| dims[a] - 1)),
        Context::Margin(m) => (
            std::array::from_fn(|a| roi.0[a].saturating_sub(m[a])),
            std::array::from_fn(|a| (roi.1[a] + m[a]).min(dims[a] - 1)),
        ),
    }
}

/// The intensity summary of the whole image, for the `*_init_img`
/// diagnostics when the chain sees only a box of it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum WholeImageSummary {
    /// The chain sees the whole image: summarise it.
    FromImage,
    /// Summarised by the reader (after rounding when the chain rounds).
    Given(IntensitySummary),
    /// Not computed (`wholeImageDiagnostics: false`): NaN with a reason.
    Skipped,
}

/// The image grid and intensity summary behind a box given to [`extract_box`].
#[derive(Debug, Clone, PartialEq)]
pub struct WholeImage {
    pub geometry: Geometry,
    pub summary: WholeImageSummary,
}

/// Run the chain for every ROI of `rois` on `image`, reading the image once:
/// only the box the chain needs around the ROIs ([`context`]; the whole
/// image when it needs it), with the whole-image intensity summary from the
/// same pass. The outer error is the image's (reading pixel data); each ROI
/// has its own result.
pub fn extract_rois(
    image: &ImageSource,
    rois: &[RoiBox],
    params: &Params,
) -> Result<Vec<Result<Extraction>>> {
    let grid = &image.geometry;
    let ctx = context(params, grid.spacing);
    let boxes: Vec<Option<([usize; 3], [usize; 3])>> = rois
        .iter()
        .map(|r| (!r.is_empty()).then(|| context_box(ctx, (r.lo, r.hi()), grid.dims)))
        .collect();
    let Some((lo, hi)) = boxes.iter().flatten().copied().reduce(|(a, b), (c, d)| {
        (
            std::array::from_fn(|k| a[k].min(c[k])),
            std::array::from_fn(|k| b[k].max(d[k])),
        )
    }) else {
        // Every ROI is empty: the chain reports it (no pixel data needed).
        let whole = WholeImage {
            geometry: grid.clone(),
            summary: WholeImageSummary::Skipped,
        };
        let corner = Volume::filled(grid.crop([0; 3], [0; 3]), 0.0);
        return Ok(rois
            .iter()
            .map(|r| {
                extract_box(
                    corner.clone(),
                    r.on_box(grid, [0; 3], [0; 3]),
                    &whole,
                    params,
                    &image.path,
                    &r.path,
                )
            })
            .collect());
    };
    let diagnostics = params.compat == Compat::Ibsi && params.whole_image_diagnostics;
    let mut summary = IntensitySummary::default();
    let (volume, summary) = if ctx == Context::Whole {
        let v = image.read_box(lo, hi, None)?;
        let s = if diagnostics {
            WholeImageSummary::FromImage
        } else {
            WholeImageSummary::Skipped
        };
        (v, s)
    } else if diagnostics {
        let v = image.read_box(lo, hi, Some((&mut summary, params.round_intensities)))?;
        (v, WholeImageSummary::Given(summary))
    } else {
        (image.read_box(lo, hi, None)?, WholeImageSummary::Skipped)
    };
    let whole = WholeImage {
        geometry: grid.clone(),
        summary,
    };
    // The last ROI takes the read box itself when it needs all of it (one
    // ROI: no copy).
    let last = rois.len() - 1;
    let mut volume = Some(volume);
    Ok(rois
        .iter()
        .zip(&boxes)
        .enumerate()
        .map(|(k, (r, b))| {
            let (rlo, rhi) = b.unwrap_or(([0; 3], [0; 3]));
            let read = volume.as_ref().expect("taken by the last ROI only");
            let img = if (rlo, rhi) != (lo, hi) {
                read.reframe(grid, lo, rlo, rhi, 0.0)
            } else if k == last {
                volume.take().expect("taken by the last ROI only")
            } else {
                read.clone()
            };
            let mask = r.on_box(grid, rlo, rhi);
            extract_box(img, mask, &whole, params, &image.path, &r.path)
        })
        .collect())
}

/// Run the whole chain. `image_path` and `mask_path` name the inputs in errors.
pub fn extract(
    image: Volume<f32>,
    mask: Mask,
    params: &Params,
    image_path: &Path,
    mask_path: &Path,
) -> Result<Extraction> {
    let whole = WholeImage {
        geometry: image.geometry.clone(),
        summary: if params.whole_image_diagnostics {
            WholeImageSummary::FromImage
        } else {
            WholeImageSummary::Skipped
        },
    };
    extract_box(image, mask, &whole, params, image_path, mask_path)
}

/// Run the whole chain on `image`, a box of the image `whole` describes
/// (at least the box of [`context`] around the ROI), and `mask` on the same
/// box. `image_path` and `mask_path` name the inputs in errors.
pub fn extract_box(
    mut image: Volume<f32>,
    mask: Mask,
    whole: &WholeImage,
    params: &Params,
    image_path: &Path,
    mask_path: &Path,
) -> Result<Extraction> {
    let is_whole = image.geometry.dims == whole.geometry.dims;
    if !is_whole && context(params, image.geometry.spacing) == Context::Whole {
        return Err(Error::Invalid(format!(
            "{}: these parameters need the whole image, not a box of it",
            image_path.display()
        )));
    }
    if params.compat == Compat::PyRadiomics {
        if !params.filters.is_empty() {
            return Err(Error::params(
                &params.source_path,
                "'filters' (IBSI 2 filters) cannot be combined with 'compat: pyradiomics'",
            ));
        }
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
    let init = match whole.summary {
        WholeImageSummary::FromImage if is_whole => Some(IntensitySummary::of(&image.data)),
        WholeImageSummary::FromImage => {
            return Err(Error::Invalid(format!(
                "{}: the whole-image summary is needed for a box of the image",
                image_path.display()
            )))
        }
        WholeImageSummary::Given(s) => Some(s),
        WholeImageSummary::Skipped => None,
    };
    let grid = &whole.geometry;
    image_diagnostics(&mut diag, grid, init.as_ref(), "init_img");
    roi_diagnostics(&mut diag, grid.dims, &image, &mask, &mask, "init_roi");

    let (image, morph, interp, grid) = match &params.resampling {
        Some(r) => {
            let target = resampled_grid(&image.geometry, r, params)?;
            let mut img = resample::resample_image(&image, &target, r.interpolator);
            if params.round_intensities {
                resample::round_intensities(&mut img);
            }
            let m = resample::resample_mask(&mask, &target, r.mask_interpolator, r.mask_threshold);
            let summary = IntensitySummary::of(&img.data);
            (img, m, Some(summary), target)
        }
        None => (image, mask, init, whole.geometry.clone()),
    };
    image_diagnostics(&mut diag, &grid, interp.as_ref(), "interp_img");
    roi_diagnostics(&mut diag, grid.dims, &image, &morph, &morph, "interp_roi");
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
    roi_diagnostics(
        &mut diag,
        grid.dims,
        &image,
        &intensity,
        &morph,
        "reseg_roi",
    );
    if intensity.count() == 0 {
        return Err(Error::EmptyRoi(format!(
            "no voxel of mask {} lies in the re-segmentation range {:?}",
            mask_path.display(),
            params.resegment_range
        )));
    }

    let roi = Roi::new(&image, &morph, &intensity)?;
    let mut out = diag;
    let fam = |f: &str| params.families.contains(f);
    let mut nan_reasons = Vec::new();
    let discrete = discretise_checked(&roi, &params.discretisation, params)?;
    if fam("morph") {
        out.extend(features::morph::compute(&roi));
    }
    let shape = intensity_features(
        &mut out,
        &image,
        &intensity,
        &roi,
        Some(discrete),
        &params.discretisation,
        &params.ivh_discretisation(),
        params,
    )?;
    nan_reasons.extend(explain_nans(&out, &shape));

    // The filter stage (IBSI 2): each response map's intensity features, in
    // the ROI re-segmented on the unfiltered image.
    for spec in &params.filters {
        let first = out.len();
        let shape = filtered_features(&mut out, &image, &morph, &intensity, spec, params)?;
        nan_reasons.extend(explain_nans(&out[first..], &shape));
    }

    // A value beyond the floating-point range (from absurd spacings or
    // intensities) is reported as NaN with a reason, never as ±Inf.
    let mut overflowed = Vec::new();
    for (tag, v) in out.iter_mut() {
        if v.is_infinite() {
            *v = f64::NAN;
            overflowed.push(tag.clone());
        }
    }
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

/// Discretise, refusing more grey levels than texture matrices allow.
fn discretise_checked(
    roi: &Roi,
    method: &discretise::Discretisation,
    params: &Params,
) -> Result<crate::roi::DiscreteRoi> {
    let discrete = discretise::discretise(roi, method)?;
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
    Ok(discrete)
}

/// The intensity families (local intensity, statistics, histograms, texture)
/// of `image` in `roi`'s intensity mask, appended to `out` in the fixed order.
/// `discrete` is computed here when not given and a family needs it.
#[allow(clippy::too_many_arguments)]
fn intensity_features(
    out: &mut Features,
    image: &Volume<f32>,
    intensity: &Mask,
    roi: &Roi,
    discrete: Option<crate::roi::DiscreteRoi>,
    discretisation: &discretise::Discretisation,
    ivh: &features::ivh::IvhDiscretisation,
    params: &Params,
) -> Result<RoiShape> {
    let values = roi.intensities();
    let fam = |f: &str| params.families.contains(f);
    const TEXTURE: [&str; 6] = ["cm", "rlm", "szm", "dzm", "ngt", "ngl"];
    let needs_levels = fam("ih") || TEXTURE.iter().any(|f| fam(f));
    let discrete = match discrete {
        Some(d) => Some(d),
        None if needs_levels => Some(discretise_checked(roi, discretisation, params)?),
        None => None,
    };
    if fam("loc") {
        out.extend(features::loc::compute(image, intensity));
    }
    if fam("stat") {
        out.extend(features::stat::compute(&values));
    }
    if let Some(discrete) = &discrete {
        if fam("ih") {
            out.extend(features::ih::compute(
                &discrete.roi_levels(),
                discrete.n_levels,
            ));
        }
    }
    if fam("ivh") {
        out.extend(features::ivh::compute(&values, ivh));
    }
    if let Some(discrete) = &discrete {
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
            selected.par_iter().map(|(_, f)| f(discrete, t)).collect()
        };
        for r in results {
            out.extend(r);
        }
    }
    Ok(RoiShape {
        voxels: values.len(),
        grey_levels: discrete.as_ref().map_or(0, |d| {
            let mut l = d.roi_levels();
            l.sort_unstable();
            l.dedup();
            l.len()
        }),
        constant: values.iter().all(|&v| v == values[0]),
        slices: roi.dims[2],
    })
}

/// The features of one filter's response map, as `<filter name>_<tag>`.
///
/// The filter runs on the ROI's bounding box grown by the filter's support
/// (and the local-intensity sphere), clamped to the image: inside the ROI
/// that gives the values of filtering the whole image, at a fraction of the
/// cost. Filtered intensities are not calibrated: fixed-bin-size
/// discretisation starts at the ROI minimum, and the intensity-volume
/// histogram uses 1000 bins over the ROI range, unless the filter sets its own.
fn filtered_features(
    out: &mut Features,
    image: &Volume<f32>,
    morph: &Mask,
    intensity: &Mask,
    spec: &crate::filters::FilterSpec,
    params: &Params,
) -> Result<RoiShape> {
    let dims = image.geometry.dims;
    let spacing = image.geometry.spacing;
    // The box of both masks (the intensity mask is usually inside the other).
    let (lo, hi) = match (morph.bounding_box(), intensity.bounding_box()) {
        (Some((a, b)), Some((c, d))) => (
            std::array::from_fn(|k| a[k].min(c[k])),
            std::array::from_fn(|k| b[k].max(d[k])),
        ),
        (Some(m), None) | (None, Some(m)) => m,
        (None, None) => {
            return Err(Error::EmptyRoi(
                "the morphological mask has no voxels".into(),
            ))
        }
    };
    let (blo, bhi) = match spec.margin(spacing) {
        Some(m) => {
            let loc = if params.families.contains("loc") {
                let r = features::loc::sphere_radius_mm();
                std::array::from_fn(|a| (r / spacing[a]).ceil() as usize + 1)
            } else {
                [0; 3]
            };
            let blo: [usize; 3] = std::array::from_fn(|a| lo[a].saturating_sub(m[a] + loc[a]));
            let bhi: [usize; 3] = std::array::from_fn(|a| (hi[a] + m[a] + loc[a]).min(dims[a] - 1));
            (blo, bhi)
        }
        None => ([0; 3], [dims[0] - 1, dims[1] - 1, dims[2] - 1]),
    };
    let whole = blo == [0; 3] && bhi == [dims[0] - 1, dims[1] - 1, dims[2] - 1];
    let response = if whole {
        spec.apply(image)?
    } else {
        spec.apply(&image.crop(blo, bhi))?
    };
    let (morph_c, intensity_c) = if whole {
        (morph.clone(), intensity.clone())
    } else {
        (morph.crop(blo, bhi), intensity.crop(blo, bhi))
    };
    check_finite_in_roi(&response, &intensity_c, &params.source_path)?;
    let roi = Roi::new(&response, &morph_c, &intensity_c)?;
    let discretisation = spec
        .discretisation
        .clone()
        .unwrap_or(match &params.discretisation {
            discretise::Discretisation::FixedBinSize { width, .. } => {
                discretise::Discretisation::FixedBinSize {
                    width: *width,
                    min: None,
                }
            }
            other => other.clone(),
        });
    let ivh = features::ivh::IvhDiscretisation::FixedBinNumber { bins: 1000 };
    let mut feats = Features::new();
    let shape = intensity_features(
        &mut feats,
        &response,
        &intensity_c,
        &roi,
        None,
        &discretisation,
        &ivh,
        params,
    )?;
    out.extend(
        feats
            .into_iter()
            .map(|(tag, v)| (format!("{}_{tag}", spec.name), v)),
    );
    Ok(shape)
}

/// The grid `geometry` is resampled to, refused when it would exceed the
/// voxel limit (a tiny spacing must be an error, not a huge allocation).
fn resampled_grid(
    geometry: &crate::volume::Geometry,
    r: &crate::params::Resampling,
    params: &Params,
) -> Result<crate::volume::Geometry> {
    let mut spacing = geometry.spacing;
    for (a, s) in r.spacing.iter().enumerate() {
        if let Some(s) = s {
            spacing[a] = *s;
        }
    }
    let target = resample::aligned_grid(geometry, spacing);
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
    Ok(target)
}

/// The response map of every filter in `params` on `image`, after the
/// image steps of the chain (rounding, interpolation) as configured, as
/// `(filter name, map)` — for looking at a map, and for the IBSI 2 phase-1
/// tests, which filter the phantoms directly (no settings).
pub fn response_maps(
    mut image: Volume<f32>,
    params: &Params,
) -> Result<Vec<(String, Volume<f32>)>> {
    if params.filters.is_empty() {
        return Err(Error::params(
            &params.source_path,
            "no 'filters' configured: nothing to write",
        ));
    }
    if params.round_intensities {
        resample::round_intensities(&mut image);
    }
    if let Some(r) = &params.resampling {
        let target = resampled_grid(&image.geometry, r, params)?;
        image = resample::resample_image(&image, &target, r.interpolator);
        if params.round_intensities {
            resample::round_intensities(&mut image);
        }
    }
    params
        .filters
        .iter()
        .map(|f| Ok((f.name.clone(), f.apply(&image)?)))
        .collect()
}

/// Grid size, spacing and intensity summary of the image (`summary` is
/// `None` when whole-image diagnostics are skipped: NaN).
fn image_diagnostics(
    out: &mut Features,
    g: &Geometry,
    summary: Option<&IntensitySummary>,
    stage: &str,
) {
    for (a, axis) in ["x", "y", "z"].iter().enumerate() {
        out.push((format!("img_dim_{axis}_{stage}"), g.dims[a] as f64));
    }
    for (a, axis) in ["x", "y", "z"].iter().enumerate() {
        out.push((format!("vox_dim_{axis}_{stage}"), g.spacing[a]));
    }
    let (mean, min, max) = summary.map_or((f64::NAN, f64::NAN, f64::NAN), |s| {
        (s.mean(), s.min as f64, s.max as f64)
    });
    out.push((format!("mean_int_{stage}"), mean));
    out.push((format!("min_int_{stage}"), min));
    out.push((format!("max_int_{stage}"), max));
}

/// ROI diagnostics of the masks on `image` (a box of a grid of `grid_dims`).
fn roi_diagnostics(
    out: &mut Features,
    grid_dims: [usize; 3],
    image: &Volume<f32>,
    int_mask: &Mask,
    morph_mask: &Mask,
    stage: &str,
) {
    for (a, axis) in ["x", "y", "z"].iter().enumerate() {
        out.push((format!("int_mask_dim_{axis}_{stage}"), grid_dims[a] as f64));
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
fn explain_nans(features: &[(String, f64)], roi: &RoiShape) -> Vec<(String, String)> {
    features
        .iter()
        .filter(|(_, v)| v.is_nan())
        .map(|(tag, _)| {
            let reason = if tag.ends_with("_init_img") || tag.ends_with("_interp_img") {
                "not computed (wholeImageDiagnostics: false)".to_string()
            } else if tag.ends_with("_ombb") || tag.ends_with("_mvee") {
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
