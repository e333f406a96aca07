//! Parameter files in PyRadiomics' YAML layout, plus ctrad's own keys.
//!
//! ```yaml
//! setting:                      # PyRadiomics keys
//!   binWidth: 25                # fixed bin size (FBS); or binCount: 32 (FBN)
//!   resampledPixelSpacing: [2, 2, 0]   # 0 keeps that axis (in-plane only)
//!   interpolator: sitkLinear    # sitkNearestNeighbor | sitkLinear | sitkBSpline
//!   resegmentRange: [-500, 400] # either bound may be null
//!   label: 1
//!   force2D: true               # 2D texture matrices
//!   # ctrad keys (PyRadiomics has no equivalent):
//!   roundIntensities: true      # round to integers after loading and interpolation
//!   wholeImageDiagnostics: false   # skip the whole-image mean/min/max (*_init_img):
//!                               # only the slices around the ROI are decoded
//!   outlierFilterSigma: 3       # re-segment to mean ± 3 SD (IBSI outlier filtering)
//!   maskInterpolator: sitkLinear
//!   maskPartialVolumeThreshold: 0.5
//!   textureDimensionality: [2D, 2_5D]   # any of 2D, 2_5D, 3D
//!   ivhDiscretisation: {mode: fbs, binWidth: 2.5, min: -1000, max: 400}
//!   binning: ibsi               # ibsi | pyradiomics (bin edges from 0 for binWidth)
//!   crossPhase: same-grid       # same-grid | map | register: segmentations of
//!                               # one phase on the others (see `crate::cross_phase`)
//! imageType:
//!   Original: {}
//! featureClass:                 # IBSI family codes or PyRadiomics class names
//!   morph:
//!   stat:
//! filters:                      # IBSI 2 image filters (see `crate::filters`)
//!   - {type: log, sigma: 1.5, truncate: 4, dims: 3D, boundary: mirror}
//!   - {type: wavelet, wavelet: db3, subband: LLH, level: 1,
//!      rotationInvariant: true, pooling: average, binCount: 32}
//! compat: pyradiomics           # optional: reproduce PyRadiomics 3.1 conventions
//! perturbation:                 # optional: perturbed repeats of every ROI
//!   {repeats: 10, seed: 1, noise: true, rotation: 15, translation: 0.5, volume: 0.1, contour: 1}
//! ```
//! Each filter's response map gets the intensity families of `featureClass`
//! (all but `morph`), in columns named `<filter name>_<IBSI tag>`.
//! Unknown keys are errors naming the key.

use crate::cross_phase::CrossPhase;
use crate::error::{Error, Result};
use crate::features::ivh::IvhDiscretisation;
use crate::features::{Dimensionality, TextureSettings};
use crate::filters::image_types::{ImageTypeKind, ImageTypeSettings, Sigma};
use crate::preprocess::discretise::Discretisation;
use crate::preprocess::itk_resample::ItkInterpolator;
use crate::preprocess::resample::Interpolator;
use serde_norway::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Largest voxel spacing accepted for resampling, in mm.
const MAX_SPACING_MM: f64 = 1.0e4;

/// The IBSI feature families ctrad computes.
pub const FAMILIES: [&str; 11] = [
    "morph", "loc", "stat", "ih", "ivh", "cm", "rlm", "szm", "dzm", "ngt", "ngl",
];

/// Which conventions to follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compat {
    /// The IBSI reference manual (default).
    Ibsi,
    /// PyRadiomics 3.1.
    PyRadiomics,
}

/// Resampling settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Resampling {
    /// New spacing per axis; `None` keeps the original spacing of that axis.
    pub spacing: [Option<f64>; 3],
    pub interpolator: Interpolator,
    pub mask_interpolator: Interpolator,
    pub mask_threshold: f64,
}

/// Settings only `compat: pyradiomics` reads (IBSI mode validates and ignores them).
#[derive(Debug, Clone, PartialEq)]
pub struct PyRadiomicsSettings {
    /// `voxelArrayShift`: added to intensities before the energy features.
    pub voxel_array_shift: f64,
    /// `minimumROIDimensions`: the ROI must span at least this many axes (1–3).
    pub minimum_roi_dimensions: usize,
    /// The settings of PyRadiomics' image types (`sigma`, `wavelet`, …).
    pub image: ImageTypeSettings,
    /// `interpolator` as SimpleITK names it (resampling; default sitkBSpline).
    pub interpolator: ItkInterpolator,
    /// `minimumROISize`: PyRadiomics refuses an ROI of at most this many voxels.
    pub minimum_roi_size: Option<usize>,
    /// `padDistance`: voxels of the new grid kept around the ROI box when
    /// resampling (default 5).
    pub pad_distance: usize,
    /// The enabled image types in the file's order, each with the settings
    /// it runs with: the file's `setting:` overridden by the image type's
    /// own mapping (`LoG: {binWidth: 5}`), as PyRadiomics merges them.
    /// Empty: `Original` only, with the file's settings.
    pub image_types: Vec<(ImageTypeKind, Params)>,
    /// The feature families in the order of the file's `featureClass:`
    /// (PyRadiomics' column order); empty when the file has none.
    pub class_order: Vec<String>,
}

impl Default for PyRadiomicsSettings {
    fn default() -> Self {
        PyRadiomicsSettings {
            voxel_array_shift: 0.0,
            minimum_roi_dimensions: 2,
            image: ImageTypeSettings::default(),
            interpolator: ItkInterpolator::BSpline,
            pad_distance: 5,
            minimum_roi_size: None,
            image_types: Vec::new(),
            class_order: Vec::new(),
        }
    }
}

/// Where the bundled default parameter file lives in the source tree.
pub const BUNDLED_DEFAULT_NAME: &str = "pipelines/studies/pannet_ct.yaml";

/// The bundled default parameters (contrast-enhanced pancreas CT, native
/// grid of each phase), compiled in so `ctrad extract` runs without a file.
pub const BUNDLED_DEFAULT_TEXT: &str = include_str!("../pipelines/studies/pannet_ct.yaml");

/// Everything that controls one extraction.
#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    /// The parameter file's text (stored in output metadata) and its path.
    pub source_text: String,
    pub source_path: PathBuf,
    pub compat: Compat,
    pub label: Option<i64>,
    pub round_intensities: bool,
    /// Compute the whole-image intensity diagnostics (`mean_int_init_img`, …),
    /// which needs every slice decoded (default true).
    pub whole_image_diagnostics: bool,
    pub resampling: Option<Resampling>,
    pub resegment_range: Option<(f64, f64)>,
    pub outlier_sigma: Option<f64>,
    pub discretisation: Discretisation,
    pub ivh: Option<IvhDiscretisation>,
    pub texture: TextureSettings,
    pub families: BTreeSet<String>,
    /// Image filters (IBSI 2): each gives a response map whose features are
    /// computed beside the unfiltered image's.
    pub filters: Vec<crate::filters::FilterSpec>,
    /// PyRadiomics-only settings (used with `compat: pyradiomics`).
    pub pyradiomics: PyRadiomicsSettings,
    /// How a study's segmentation of one phase is used on the others.
    pub cross_phase: CrossPhase,
    /// Perturbed repeats of every ROI (robustness without a second reader).
    pub perturbation: Option<crate::preprocess::perturb::PerturbationSpec>,
}

impl Params {
    /// Read and validate a parameter file.
    pub fn from_file(path: &Path) -> Result<Params> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Params::from_yaml(&text, path)
    }

    /// Parse parameter text; `path` names the source in errors.
    pub fn from_yaml(text: &str, path: &Path) -> Result<Params> {
        let err = |reason: String| Error::params(path, reason);
        let root: Value =
            serde_norway::from_str(text).map_err(|e| err(format!("invalid YAML: {e}")))?;
        let root = match root {
            Value::Mapping(m) => m,
            Value::Null => Default::default(),
            _ => return Err(err("the top level must be a mapping".into())),
        };
        let mut setting = serde_norway::Mapping::new();
        let mut families: Option<BTreeSet<String>> = None;
        let mut compat = Compat::Ibsi;
        let mut filters = Vec::new();
        let mut perturbation = None;
        let mut image_types: Option<&Value> = None;
        let mut class_order = Vec::new();
        for (k, v) in &root {
            let key = key_str(k, path)?;
            match key {
                "setting" => {
                    if let Value::Mapping(m) = v {
                        setting = m.clone();
                    } else if !v.is_null() {
                        return Err(err("'setting' must be a mapping".into()));
                    }
                }
                "imageType" => image_types = Some(v),
                "featureClass" => {
                    let (set, order) = parse_feature_classes(v, path)?;
                    families = Some(set);
                    class_order = order;
                }
                "filters" => filters = crate::filters::parse_filters(v, path)?,
                "perturbation" => {
                    perturbation = Some(crate::preprocess::perturb::PerturbationSpec::parse(v, path)?)
                }
                "compat" => {
                    compat = match v.as_str() {
                        Some("pyradiomics") => Compat::PyRadiomics,
                        Some("ibsi") => Compat::Ibsi,
                        _ => return Err(err("'compat' must be 'ibsi' or 'pyradiomics'".into())),
                    }
                }
                "voxelSetting" => return Err(err("'voxelSetting': voxel-based (feature map) extraction is not supported".into())),
                other => return Err(err(format!("unknown top-level key '{other}' (expected setting, imageType, featureClass, filters, compat, perturbation)"))),
            }
        }

        let skeleton = Params {
            source_text: text.to_string(),
            source_path: path.to_path_buf(),
            compat,
            label: None,
            round_intensities: false,
            whole_image_diagnostics: true,
            resampling: None,
            resegment_range: None,
            outlier_sigma: None,
            discretisation: Discretisation::FixedBinSize {
                width: 25.0,
                min: None,
            },
            ivh: None,
            texture: TextureSettings::default(),
            families: families.unwrap_or_else(|| FAMILIES.iter().map(|s| s.to_string()).collect()),
            filters,
            pyradiomics: PyRadiomicsSettings::default(),
            cross_phase: CrossPhase::default(),
            perturbation,
        };
        let mut p = skeleton.clone();
        apply_settings(&mut p, &setting, path)?;
        p.pyradiomics.class_order = class_order;
        match compat {
            Compat::Ibsi => check_image_types(image_types.unwrap_or(&Value::Null), path)?,
            Compat::PyRadiomics => {
                p.pyradiomics.image_types =
                    parse_image_types(image_types, &skeleton, &setting, path)?;
            }
        }
        Ok(p)
    }
}

/// Parse the `setting:` mapping into `p` (which holds the defaults).
fn apply_settings(p: &mut Params, setting: &serde_norway::Mapping, path: &Path) -> Result<()> {
    let err = |reason: String| Error::params(path, reason);
    let compat = p.compat;
    {
        let mut bin_width: Option<f64> = None;
        let mut bin_count: Option<u32> = None;
        let mut spacing: Option<[Option<f64>; 3]> = None;
        let mut interpolator = Interpolator::CubicSpline; // PyRadiomics' default: sitkBSpline
        let mut mask_interpolator = Interpolator::Linear;
        let mut mask_threshold = 0.5;
        let mut reseg_mode = "absolute".to_string();
        let mut reseg_values: Option<Vec<Option<f64>>> = None;
        let mut force_2d = false;
        let mut pre_crop = false;
        let mut dims: Option<Vec<Dimensionality>> = None;
        let mut binning_pyradiomics = compat == Compat::PyRadiomics;

        for (k, v) in setting {
            let key = key_str(k, path)?;
            if IMAGE_TYPE_KEYS.contains(&key) && compat != Compat::PyRadiomics {
                return Err(err(format!(
                    "'{key}' is a setting of PyRadiomics' image types: it needs 'compat: pyradiomics'"
                )));
            }
            let num = |v: &Value| -> Result<f64> {
                v.as_f64()
                    .filter(|x| x.is_finite())
                    .ok_or_else(|| err(format!("'{key}' must be a number")))
            };
            match key {
                "binWidth" => {
                    let w = num(v)?;
                    if w <= 0.0 {
                        return Err(err(format!("'binWidth' must be positive, got {w}")));
                    }
                    bin_width = Some(w);
                }
                "binCount" => {
                    let n = v
                        .as_u64()
                        .filter(|&n| n > 0)
                        .ok_or_else(|| err("'binCount' must be a positive integer".into()))?;
                    let max = crate::preprocess::discretise::MAX_GREY_LEVELS;
                    if n > max as u64 {
                        return Err(err(format!(
                            "'binCount' {n} exceeds the supported {max} grey levels"
                        )));
                    }
                    bin_count = Some(n as u32);
                }
                "resampledPixelSpacing" => {
                    if v.is_null() {
                        continue;
                    }
                    let list = number_list(v, key, path)?;
                    if list.len() != 3 {
                        return Err(err(
                            "'resampledPixelSpacing' needs three values [x, y, z]".into()
                        ));
                    }
                    let mut s = [None; 3];
                    for (i, x) in list.iter().enumerate() {
                        match x {
                            Some(x) if *x < 0.0 => {
                                return Err(
                                    err("'resampledPixelSpacing' values must be ≥ 0".into()),
                                )
                            }
                            // A voxel larger than 10 m is a typo; such grids
                            // overflowed the shape features (found by fuzzing).
                            Some(x) if !x.is_finite() || *x > MAX_SPACING_MM => {
                                return Err(err(format!(
                                    "'resampledPixelSpacing' value {x} mm is larger than {MAX_SPACING_MM} mm"
                                )))
                            }
                            Some(x) if *x == 0.0 => s[i] = None,
                            Some(x) => s[i] = Some(*x),
                            None => s[i] = None,
                        }
                    }
                    spacing = Some(s);
                }
                "interpolator" if compat == Compat::PyRadiomics => {
                    let name = v.as_str().unwrap_or_default();
                    p.pyradiomics.interpolator = ItkInterpolator::parse(name).ok_or_else(|| {
                        err(format!(
                            "'interpolator: {v:?}' is not supported in 'compat: pyradiomics' mode (sitkBSpline, sitkLinear, sitkNearestNeighbor)"
                        ))
                    })?;
                }
                "interpolator" => interpolator = parse_interpolator(v, key, path)?,
                "padDistance" => {
                    p.pyradiomics.pad_distance =
                        v.as_u64().filter(|&d| d <= 1000).ok_or_else(|| {
                            err("'padDistance' must be a whole number of voxels".into())
                        })? as usize;
                }
                "maskInterpolator" => mask_interpolator = parse_interpolator(v, key, path)?,
                "maskPartialVolumeThreshold" => {
                    mask_threshold = num(v)?;
                    if !(0.0..=1.0).contains(&mask_threshold) {
                        return Err(err("'maskPartialVolumeThreshold' must lie in [0, 1]".into()));
                    }
                }
                "resegmentRange" => {
                    if !v.is_null() {
                        reseg_values = Some(number_list(v, key, path)?);
                    }
                }
                "resegmentMode" => {
                    reseg_mode = v
                        .as_str()
                        .ok_or_else(|| err("'resegmentMode' must be a string".into()))?
                        .to_string();
                    if reseg_mode != "absolute" && reseg_mode != "sigma" {
                        return Err(err(format!(
                            "'resegmentMode' must be 'absolute' or 'sigma', got '{reseg_mode}'"
                        )));
                    }
                }
                "resegmentShape" => {
                    if bool_value(v, key, path)? {
                        return Err(err(
                            "'resegmentShape: true' is not supported (the shape mask is never re-segmented)"
                                .into(),
                        ));
                    }
                }
                "outlierFilterSigma" => {
                    if !v.is_null() {
                        let s = num(v)?;
                        if s <= 0.0 {
                            return Err(err("'outlierFilterSigma' must be positive".into()));
                        }
                        p.outlier_sigma = Some(s);
                    }
                }
                "label" => {
                    p.label = Some(
                        v.as_i64()
                            .ok_or_else(|| err("'label' must be an integer".into()))?,
                    );
                }
                "force2D" => force_2d = bool_value(v, key, path)?,
                "force2Ddimension" => {
                    if v.as_u64() != Some(0) {
                        return Err(err(
                            "'force2Ddimension': only 0 (axial slices) is supported".into(),
                        ));
                    }
                }
                "roundIntensities" => p.round_intensities = bool_value(v, key, path)?,
                "wholeImageDiagnostics" => p.whole_image_diagnostics = bool_value(v, key, path)?,
                "textureDimensionality" => {
                    let list = v
                        .as_sequence()
                        .ok_or_else(|| err("'textureDimensionality' must be a list".into()))?;
                    let mut d = Vec::new();
                    for item in list {
                        d.push(match item.as_str().map(str::to_ascii_uppercase).as_deref() {
                            Some("2D") => Dimensionality::D2,
                            Some("2_5D") | Some("2.5D") => Dimensionality::D2_5,
                            Some("3D") => Dimensionality::D3,
                            _ => return Err(err(format!("'textureDimensionality': unknown value {item:?} (2D, 2_5D, 3D)"))),
                        });
                    }
                    d.sort();
                    d.dedup();
                    dims = Some(d);
                }
                "distances" => {
                    let list = number_list(v, key, path)?;
                    if list.len() != 1 || list[0].is_none_or(|d| d < 1.0 || d.fract() != 0.0) {
                        return Err(err(
                            "'distances': exactly one positive integer distance is supported"
                                .into(),
                        ));
                    }
                    p.texture.glcm_distance = list[0].unwrap_or(1.0) as usize;
                }
                "gldm_a" | "ngldmAlpha" => {
                    p.texture.ngldm_alpha = v
                        .as_u64()
                        .ok_or_else(|| err(format!("'{key}' must be a non-negative integer")))?
                        as u32;
                }
                "ivhDiscretisation" => p.ivh = Some(parse_ivh(v, path)?),
                "crossPhase" => {
                    p.cross_phase = v.as_str().and_then(CrossPhase::parse).ok_or_else(|| {
                        err(format!(
                            "'crossPhase' must be same-grid, map or register, got {v:?}"
                        ))
                    })?;
                }
                "binning" => {
                    binning_pyradiomics = match v.as_str() {
                        Some("ibsi") => false,
                        Some("pyradiomics") => true,
                        _ => return Err(err("'binning' must be 'ibsi' or 'pyradiomics'".into())),
                    }
                }
                "symmetricalGLCM" => {
                    if !bool_value(v, key, path)? {
                        return Err(err(
                            "'symmetricalGLCM: false' is not supported (IBSI GLCMs are symmetric)"
                                .into(),
                        ));
                    }
                }
                "normalize" => {
                    if bool_value(v, key, path)? {
                        return Err(err(
                            "'normalize: true' is not supported (CT intensities are calibrated HU)"
                                .into(),
                        ));
                    }
                }
                "weightingNorm" => {
                    if !v.is_null() {
                        return Err(err("'weightingNorm' is not supported (IBSI weights all directions equally)".into()));
                    }
                }
                "voxelArrayShift" => p.pyradiomics.voxel_array_shift = num(v)?,
                "minimumROIDimensions" => {
                    p.pyradiomics.minimum_roi_dimensions = v
                        .as_u64()
                        .filter(|d| (1..=3).contains(d))
                        .ok_or_else(|| err("'minimumROIDimensions' must be 1, 2 or 3".into()))?
                        as usize;
                }
                "preCrop" => pre_crop = bool_value(v, key, path)?,
                "sigma" => {
                    let seq = v
                        .as_sequence()
                        .ok_or_else(|| err("'sigma' must be a list of widths in mm".into()))?;
                    p.pyradiomics.image.sigma = seq
                        .iter()
                        .map(|x| {
                            sigma_value(x)
                                .ok_or_else(|| err(format!("'sigma' must hold numbers, got {x:?}")))
                        })
                        .collect::<Result<_>>()?;
                }
                "wavelet" => {
                    let name = v
                        .as_str()
                        .ok_or_else(|| err("'wavelet' must be a wavelet name".into()))?;
                    crate::filters::image_types::wavelet_filters(name)
                        .map_err(|e| err(e.to_string()))?;
                    p.pyradiomics.image.wavelet = name.to_string();
                }
                "start_level" | "level" => {
                    let n = v.as_u64().filter(|&n| n <= 12).ok_or_else(|| {
                        err(format!("'{key}' must be a whole number from 0 to 12"))
                    })? as usize;
                    if key == "level" {
                        if n == 0 {
                            return Err(err("'level' must be at least 1".into()));
                        }
                        p.pyradiomics.image.level = n;
                    } else {
                        p.pyradiomics.image.start_level = n;
                    }
                }
                "gradientUseSpacing" => {
                    p.pyradiomics.image.gradient_use_spacing = bool_value(v, key, path)?
                }
                // Settings of the LBP image types (refused where enabled) and
                // of voxel-based extraction: no effect on the others.
                "lbp2DRadius"
                | "lbp2DSamples"
                | "lbp2DMethod"
                | "lbp3DLevels"
                | "lbp3DIcosphereRadius"
                | "lbp3DIcosphereSubdivision"
                | "kernelRadius"
                | "maskedKernel"
                | "initValue"
                | "voxelBatch" => {}
                // PyRadiomics keys accepted as they are: they change neither
                // mode's results (ctrad always crops to the ROI box, checks
                // geometry with its own tolerance and never normalises).
                "additionalInfo" | "enableCExtensions" | "geometryTolerance" | "correctMask"
                | "minimumROISize" | "removeOutliers" | "normalizeScale" => {}
                other => return Err(err(format!("unknown setting '{other}'"))),
            }
        }

        if compat == Compat::PyRadiomics {
            for (key, on) in [("preCrop", pre_crop), ("force2D", force_2d)] {
                if on {
                    return Err(err(format!(
                        "'{key}' is not supported in 'compat: pyradiomics' mode"
                    )));
                }
            }
        }

        // Re-segmentation.
        if let Some(vals) = reseg_values {
            match reseg_mode.as_str() {
                "absolute" => {
                    if vals.len() != 2 && vals.len() != 1 {
                        return Err(err(
                            "'resegmentRange' needs [lower, upper] (either may be null)".into(),
                        ));
                    }
                    let lo = vals[0].unwrap_or(f64::NEG_INFINITY);
                    let hi = vals.get(1).copied().flatten().unwrap_or(f64::INFINITY);
                    if lo > hi {
                        return Err(err(format!(
                            "'resegmentRange' lower bound {lo} exceeds upper bound {hi}"
                        )));
                    }
                    p.resegment_range = Some((lo, hi));
                }
                _ => {
                    // PyRadiomics 'sigma' mode: resegmentRange [-k, k] in SDs.
                    let k = vals.iter().flatten().fold(0.0f64, |a, b| a.max(b.abs()));
                    if compat == Compat::PyRadiomics && vals[..] != [Some(-k), Some(k)] {
                        return Err(err(format!(
                            "'resegmentRange' {vals:?} in sigma mode: only a symmetric [-k, k] is supported in 'compat: pyradiomics' mode"
                        )));
                    }
                    if k <= 0.0 {
                        return Err(err(
                            "'resegmentRange' in sigma mode needs a positive multiple".into(),
                        ));
                    }
                    p.outlier_sigma = Some(k);
                }
            }
        }

        // Discretisation.
        p.discretisation = match (bin_width, bin_count) {
            (Some(_), Some(_)) => {
                return Err(err("give either 'binWidth' or 'binCount', not both".into()))
            }
            (None, Some(n)) => Discretisation::FixedBinNumber { bins: n },
            (w, None) => {
                let width = w.unwrap_or(25.0);
                let min = if binning_pyradiomics {
                    None
                } else {
                    p.resegment_range.map(|r| r.0).filter(|x| x.is_finite())
                };
                Discretisation::FixedBinSize { width, min }
            }
        };
        let _ = binning_pyradiomics;

        if let Some(s) = spacing {
            if s.iter().any(Option::is_some) {
                p.resampling = Some(Resampling {
                    spacing: s,
                    interpolator,
                    mask_interpolator,
                    mask_threshold,
                });
            }
        }
        p.texture.dimensionalities = match dims {
            Some(d) => d,
            None if force_2d => vec![Dimensionality::D2],
            None => vec![Dimensionality::D3],
        };
    }
    Ok(())
}

impl Params {
    /// The IVH discretisation to use: explicit, else calibrated discrete
    /// intensities over the re-segmentation range (or the ROI range).
    pub fn ivh_discretisation(&self) -> IvhDiscretisation {
        self.ivh
            .clone()
            .unwrap_or_else(|| IvhDiscretisation::Discrete {
                range: self
                    .resegment_range
                    .filter(|r| r.0.is_finite() && r.1.is_finite()),
            })
    }

    /// The mask label to select: the `label` setting, else 1 in PyRadiomics
    /// mode (its default), else `None` (every non-zero voxel).
    pub fn effective_label(&self) -> Option<i64> {
        self.label
            .or((self.compat == Compat::PyRadiomics).then_some(1))
    }

    /// The bundled PanNET CT default ([`BUNDLED_DEFAULT_NAME`]), used when
    /// no parameter file is given.
    pub fn bundled_default() -> Result<Params> {
        Params::from_yaml(BUNDLED_DEFAULT_TEXT, Path::new(BUNDLED_DEFAULT_NAME))
    }

    /// Whether these are the bundled default's settings (the same text).
    pub fn is_bundled_default(&self) -> bool {
        self.source_text == BUNDLED_DEFAULT_TEXT
    }

    /// A short stable hash (FNV-1a, hex) of the parameter text.
    pub fn hash(&self) -> String {
        crate::hash::Fnv64::new()
            .update(self.source_text.as_bytes())
            .hex()
    }
}

/// Settings only PyRadiomics' image types read.
const IMAGE_TYPE_KEYS: [&str; 11] = [
    "sigma",
    "wavelet",
    "start_level",
    "level",
    "gradientUseSpacing",
    "lbp2DRadius",
    "lbp2DSamples",
    "lbp2DMethod",
    "lbp3DLevels",
    "lbp3DIcosphereRadius",
    "lbp3DIcosphereSubdivision",
];

/// A LoG σ and its text as Python's `str` writes it.
fn sigma_value(x: &Value) -> Option<Sigma> {
    if let Some(i) = x.as_i64().filter(|_| !x.is_f64()) {
        return Some(Sigma {
            mm: i as f64,
            text: i.to_string(),
        });
    }
    let f = x.as_f64().filter(|f| f.is_finite())?;
    Some(Sigma {
        mm: f,
        text: python_float_str(f),
    })
}

/// Python's `str(float)`: the shortest repr, with at least one decimal, and
/// exponents written `e-05` / `e+16`.
fn python_float_str(f: f64) -> String {
    let s = format!("{f:?}");
    match s.split_once('e') {
        Some((m, e)) => {
            let (sign, digits) = match e.strip_prefix('-') {
                Some(d) => ('-', d),
                None => ('+', e),
            };
            format!("{m}e{sign}{digits:0>2}")
        }
        None => s,
    }
}

/// The image types of a `compat: pyradiomics` file, each with the settings
/// it runs with (`setting:` overridden by its own mapping). No `imageType:`
/// (or an empty one) means `Original`, as in PyRadiomics.
fn parse_image_types(
    v: Option<&Value>,
    skeleton: &Params,
    setting: &serde_norway::Mapping,
    path: &Path,
) -> Result<Vec<(ImageTypeKind, Params)>> {
    let err = |r: String| Error::params(path, r);
    let empty = serde_norway::Mapping::new();
    let entries: Vec<(&Value, &Value)> = match v {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Mapping(m)) => m.iter().collect(),
        Some(_) => return Err(err("'imageType' must be a mapping".into())),
    };
    let original = Value::String("Original".into());
    let entries = if entries.is_empty() {
        vec![(&original, &Value::Null)]
    } else {
        entries
    };
    let mut out = Vec::new();
    for (k, custom) in entries {
        let name = key_str(k, path)?;
        let kind = match ImageTypeKind::parse(name) {
            Some(kind) => kind,
            None if name == "LBP2D" || name == "LBP3D" => {
                return Err(err(format!(
                    "imageType '{name}' (local binary patterns) is not supported yet in 'compat: pyradiomics' mode"
                )))
            }
            None => {
                return Err(err(format!(
                    "unknown imageType '{name}' (Original, LoG, Wavelet, Square, SquareRoot, Logarithm, Exponential, Gradient)"
                )))
            }
        };
        let custom = match custom {
            Value::Null => &empty,
            Value::Mapping(m) => m,
            _ => {
                return Err(err(format!(
                    "imageType '{name}': its settings must be a mapping"
                )))
            }
        };
        let mut merged = setting.clone();
        for (ck, cv) in custom {
            let key = key_str(ck, path)?;
            // PyRadiomics reads these once, before any image type.
            if GLOBAL_ONLY.contains(&key) {
                return Err(err(format!(
                    "imageType '{name}': '{key}' cannot be set per image type (PyRadiomics applies it before the image types); move it to 'setting'"
                )));
            }
            merged.insert(ck.clone(), cv.clone());
        }
        let mut q = skeleton.clone();
        apply_settings(&mut q, &merged, path)
            .map_err(|e| err(format!("imageType '{name}': {e}")))?;
        if kind == ImageTypeKind::LoG && q.pyradiomics.image.sigma.is_empty() {
            return Err(err(
                "imageType 'LoG' needs 'sigma' (a list of widths in mm); PyRadiomics computes no LoG image without it".into(),
            ));
        }
        out.push((kind, q));
    }
    Ok(out)
}

/// Settings PyRadiomics applies once, before the image types: an image
/// type's own value would be ignored there.
const GLOBAL_ONLY: [&str; 14] = [
    "resampledPixelSpacing",
    "interpolator",
    "padDistance",
    "preCrop",
    "label",
    "label_channel",
    "resegmentRange",
    "resegmentMode",
    "resegmentShape",
    "normalize",
    "normalizeScale",
    "removeOutliers",
    "correctMask",
    "geometryTolerance",
];

fn key_str<'a>(k: &'a Value, path: &Path) -> Result<&'a str> {
    k.as_str()
        .ok_or_else(|| Error::params(path, format!("key {k:?} is not a string")))
}

fn bool_value(v: &Value, key: &str, path: &Path) -> Result<bool> {
    v.as_bool()
        .ok_or_else(|| Error::params(path, format!("'{key}' must be true or false")))
}

fn number_list(v: &Value, key: &str, path: &Path) -> Result<Vec<Option<f64>>> {
    let seq = v
        .as_sequence()
        .ok_or_else(|| Error::params(path, format!("'{key}' must be a list")))?;
    seq.iter()
        .map(|x| {
            if x.is_null() {
                Ok(None)
            } else {
                x.as_f64()
                    .filter(|f| f.is_finite())
                    .map(Some)
                    .ok_or_else(|| {
                        Error::params(path, format!("'{key}' must hold numbers, got {x:?}"))
                    })
            }
        })
        .collect()
}

fn parse_interpolator(v: &Value, key: &str, path: &Path) -> Result<Interpolator> {
    let s = v
        .as_str()
        .ok_or_else(|| Error::params(path, format!("'{key}' must be a string")))?;
    Ok(match s.to_ascii_lowercase().as_str() {
        "sitknearestneighbor" | "nearest" | "nearestneighbor" => Interpolator::Nearest,
        "sitklinear" | "linear" | "trilinear" | "bilinear" => Interpolator::Linear,
        "sitkbspline" | "sitkbspline3" | "bspline" | "cubic" | "tricubic" | "cubicspline" | "tricubicspline" => Interpolator::CubicSpline,
        _ => {
            return Err(Error::params(
                path,
                format!("'{key}': unsupported interpolator '{s}' (sitkNearestNeighbor, sitkLinear, sitkBSpline)"),
            ))
        }
    })
}

fn parse_ivh(v: &Value, path: &Path) -> Result<IvhDiscretisation> {
    let err = |r: &str| Error::params(path, format!("'ivhDiscretisation': {r}"));
    let m = v
        .as_mapping()
        .ok_or_else(|| err("must be a mapping with 'mode'"))?;
    let get = |name: &str| m.get(Value::String(name.into()));
    for k in m.keys() {
        let k = k.as_str().unwrap_or("");
        if !["mode", "binWidth", "binCount", "min", "max", "range"].contains(&k) {
            return Err(err(&format!("unknown key '{k}'")));
        }
    }
    let f = |name: &str| get(name).and_then(Value::as_f64).filter(|x| x.is_finite());
    match get("mode").and_then(Value::as_str) {
        Some("discrete") => {
            let range = match get("range") {
                Some(Value::Sequence(s)) if s.len() == 2 => match (s[0].as_f64(), s[1].as_f64()) {
                    (Some(a), Some(b)) if a.is_finite() && b.is_finite() => Some((a, b)),
                    _ => return Err(err("'range' must be two numbers")),
                },
                None | Some(Value::Null) => None,
                _ => return Err(err("'range' must be two numbers")),
            };
            Ok(IvhDiscretisation::Discrete { range })
        }
        Some("fbs") => {
            let width = f("binWidth")
                .filter(|w| *w > 0.0)
                .ok_or_else(|| err("fbs needs a positive 'binWidth'"))?;
            let min = f("min").ok_or_else(|| err("fbs needs 'min'"))?;
            Ok(IvhDiscretisation::FixedBinSize {
                width,
                min,
                max: f("max"),
            })
        }
        Some("fbn") => {
            let max = crate::features::ivh::MAX_IVH_BINS as u64;
            let bins = get("binCount")
                .and_then(Value::as_u64)
                .filter(|&b| b > 0 && b <= max)
                .ok_or_else(|| err(&format!("fbn needs 'binCount' between 1 and {max}")))?;
            Ok(IvhDiscretisation::FixedBinNumber { bins: bins as u32 })
        }
        _ => Err(err("'mode' must be discrete, fbs or fbn")),
    }
}

fn check_image_types(v: &Value, path: &Path) -> Result<()> {
    let Some(m) = v.as_mapping() else {
        return if v.is_null() {
            Ok(())
        } else {
            Err(Error::params(path, "'imageType' must be a mapping"))
        };
    };
    for (k, val) in m {
        let k = key_str(k, path)?;
        if k != "Original" {
            return Err(Error::params(
                path,
                format!("imageType '{k}' is not supported (only Original)"),
            ));
        }
        if val.as_mapping().is_some_and(|m| !m.is_empty()) {
            return Err(Error::params(
                path,
                "imageType 'Original' takes no custom settings",
            ));
        }
    }
    Ok(())
}

/// Map PyRadiomics class names and IBSI family codes to IBSI family codes.
fn parse_feature_classes(v: &Value, path: &Path) -> Result<(BTreeSet<String>, Vec<String>)> {
    let m = v
        .as_mapping()
        .ok_or_else(|| Error::params(path, "'featureClass' must be a mapping"))?;
    let mut out = BTreeSet::new();
    let mut order = Vec::new();
    for (k, val) in m {
        let k = key_str(k, path)?;
        let codes: &[&str] = match k {
            "shape" => &["morph"],
            "firstorder" => &["stat"],
            "glcm" => &["cm"],
            "glrlm" => &["rlm"],
            "glszm" => &["szm"],
            "gldm" => &["ngl"],
            "ngtdm" => &["ngt"],
            "gldzm" => &["dzm"],
            "shape2D" => return Err(Error::params(path, "featureClass 'shape2D' is not supported")),
            c if FAMILIES.contains(&c) => std::slice::from_ref(FAMILIES.iter().find(|f| **f == c).unwrap()),
            other => {
                return Err(Error::params(
                    path,
                    format!("unknown featureClass '{other}' (IBSI codes {FAMILIES:?} or PyRadiomics classes)"),
                ))
            }
        };
        if let Some(list) = val.as_sequence() {
            if !list.is_empty() {
                return Err(Error::params(
                    path,
                    format!("featureClass '{k}': selecting single features is not supported; leave the class empty"),
                ));
            }
        }
        out.extend(codes.iter().map(|s| s.to_string()));
        order.extend(codes.iter().map(|s| s.to_string()));
    }
    Ok((out, order))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Params> {
        Params::from_yaml(s, Path::new("test.yaml"))
    }

    #[test]
    fn unknown_setting_is_named() {
        let e = parse("setting:\n  binWidht: 25\n").unwrap_err().to_string();
        assert!(e.contains("binWidht") && e.contains("test.yaml"), "{e}");
    }

    #[test]
    fn shape_resegmentation_is_refused_by_name() {
        assert!(parse("setting:\n  resegmentShape: false\n").is_ok());
        let e = parse("compat: pyradiomics\nsetting:\n  resegmentShape: true\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("resegmentShape") && e.contains("not supported"),
            "{e}"
        );
    }

    #[test]
    fn bin_width_must_be_positive() {
        assert!(parse("setting:\n  binWidth: 0\n")
            .unwrap_err()
            .to_string()
            .contains("binWidth"));
        assert!(parse("setting:\n  binWidth: -2\n").is_err());
    }

    #[test]
    fn fbs_starts_at_the_resegmentation_bound() {
        let p = parse("setting:\n  binWidth: 25\n  resegmentRange: [-500, 400]\n").unwrap();
        assert_eq!(
            p.discretisation,
            Discretisation::FixedBinSize {
                width: 25.0,
                min: Some(-500.0)
            }
        );
        assert_eq!(
            p.ivh_discretisation(),
            IvhDiscretisation::Discrete {
                range: Some((-500.0, 400.0))
            }
        );
    }

    #[test]
    fn zero_spacing_keeps_the_axis() {
        let p = parse("setting:\n  resampledPixelSpacing: [2, 2, 0]\n  interpolator: sitkLinear\n")
            .unwrap();
        let r = p.resampling.unwrap();
        assert_eq!(r.spacing, [Some(2.0), Some(2.0), None]);
        assert_eq!(r.interpolator, Interpolator::Linear);
    }

    #[test]
    fn feature_classes_map_to_families() {
        let p = parse("featureClass:\n  shape:\n  glcm: []\n  ngl:\n").unwrap();
        assert_eq!(
            p.families.iter().cloned().collect::<Vec<_>>(),
            vec!["cm", "morph", "ngl"]
        );
        assert!(parse("featureClass:\n  wavelet:\n")
            .unwrap_err()
            .to_string()
            .contains("wavelet"));
    }

    #[test]
    fn pyradiomics_image_types_keep_their_order_and_overrides() {
        let p = parse(
            "compat: pyradiomics\nsetting:\n  binWidth: 25\n  sigma: [2]\nimageType:\n  Wavelet: {wavelet: db2, start_level: 1}\n  LoG: {sigma: [1, 2.5], binWidth: 5}\n  Original: {}\nfeatureClass:\n  glcm:\n  firstorder:\n",
        )
        .unwrap();
        let t = &p.pyradiomics.image_types;
        let kinds: Vec<_> = t.iter().map(|(k, _)| *k).collect();
        assert_eq!(
            kinds,
            [
                ImageTypeKind::Wavelet,
                ImageTypeKind::LoG,
                ImageTypeKind::Original
            ]
        );
        assert_eq!(t[0].1.pyradiomics.image.wavelet, "db2");
        assert_eq!(t[0].1.pyradiomics.image.start_level, 1);
        let sigma: Vec<&str> = t[1]
            .1
            .pyradiomics
            .image
            .sigma
            .iter()
            .map(|s| s.text.as_str())
            .collect();
        assert_eq!(sigma, ["1", "2.5"]);
        assert_eq!(
            t[1].1.discretisation,
            Discretisation::FixedBinSize {
                width: 5.0,
                min: None
            }
        );
        assert_eq!(
            t[2].1.discretisation,
            Discretisation::FixedBinSize {
                width: 25.0,
                min: None
            }
        );
        assert_eq!(p.pyradiomics.class_order, ["cm", "stat"]);
    }

    #[test]
    fn unsupported_pyradiomics_settings_are_named() {
        for (yaml, word) in [
            ("compat: pyradiomics\nimageType:\n  LBP3D: {}\n", "LBP3D"),
            ("compat: pyradiomics\nsetting:\n  interpolator: sitkGaussian\n", "sitkGaussian"),
            ("compat: pyradiomics\nsetting:\n  wavelet: bior1.3\n", "bior1.3"),
            ("compat: pyradiomics\nimageType:\n  LoG: {}\n", "sigma"),
            ("compat: pyradiomics\nimageType:\n  Original: {interpolator: sitkLinear}\n", "interpolator"),
            ("compat: pyradiomics\nsetting:\n  resegmentMode: sigma\n  resegmentRange: [-2, 3]\n", "resegmentRange"),
            ("setting:\n  sigma: [1]\n", "sigma"),
        ] {
            let e = parse(yaml).unwrap_err().to_string();
            assert!(e.contains(word), "{yaml}: {e}");
        }
    }
}
