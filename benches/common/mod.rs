//! Shared set-up for the criterion benches: test-data lookup, quick mode and
//! the preprocessing steps of `ctrad::pipeline::extract` up to the features.
#![allow(dead_code)]

use criterion::Criterion;
use ctrad::params::Params;
use ctrad::preprocess::{resample, resegment};
use ctrad::volume::{Mask, Volume};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The shared test-data folder (`$CTRAD_TESTDATA`, else `../shared/testdata`
/// beside the project root), or `None` after a loud message.
pub fn testdata() -> Option<PathBuf> {
    let dir = std::env::var_os("CTRAD_TESTDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/testdata"));
    if dir.join("sts_ct/STS_001").is_dir() && dir.join("ibsi1/ct_phantom").is_dir() {
        return Some(dir);
    }
    eprintln!(
        "\n**********\nSKIPPING BENCHMARKS: shared test data not found at {} (set CTRAD_TESTDATA)\n**********\n",
        dir.display()
    );
    None
}

/// Quick mode (`CTRAD_BENCH_QUICK=1`, or criterion's own `--quick` flag):
/// the smallest sample and very short measurement, for CI smoke runs.
pub fn quick() -> bool {
    std::env::var_os("CTRAD_BENCH_QUICK").is_some_and(|v| !v.is_empty() && v != "0")
}

/// Criterion configured for these (slow, 1–100 ms) benches.
pub fn criterion() -> Criterion {
    let c = Criterion::default().configure_from_args();
    if quick() {
        c.sample_size(10)
            .warm_up_time(Duration::from_millis(50))
            .measurement_time(Duration::from_millis(200))
            .without_plots()
    } else {
        c.sample_size(10)
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(3))
            .without_plots()
    }
}

/// A bench case: a study's image and ROI mask on its native grid.
pub struct Case {
    pub name: &'static str,
    pub image: Volume<f32>,
    pub mask: Mask,
    pub params: Params,
    /// NIfTI image, mask; DICOM series folder, RTSTRUCT.
    pub nifti: (PathBuf, PathBuf),
    pub dicom: (PathBuf, PathBuf),
}

/// STS_001 (117k ROI voxels, native grid, PyRadiomics-equivalent settings) and
/// the IBSI CT phantom (configuration C: 2 mm trilinear, FBS 25).
pub fn cases(data: &Path) -> Vec<Case> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let sts = data.join("sts_ct/STS_001");
    let ph = data.join("ibsi1/ct_phantom");
    let specs = [
        (
            "sts001",
            (
                sts.join("nifti/CT_image.nii.gz"),
                sts.join("nifti/CT_mask.nii.gz"),
            ),
            (sts.join("dicom/image"), sts.join("dicom/mask/RS.dcm")),
            root.join("pipelines/bench/pyradiomics_equivalent.yaml"),
        ),
        (
            "ibsi_ct_phantom",
            (
                ph.join("nifti/phantom.nii.gz"),
                ph.join("nifti/mask.nii.gz"),
            ),
            (
                ph.join("dicom/image"),
                ph.join("dicom/mask/DCM_RS_00060.dcm"),
            ),
            root.join("pipelines/ibsi/config_c.yaml"),
        ),
    ];
    specs
        .into_iter()
        .map(|(name, nifti, dicom, params)| {
            let params = Params::from_file(&params).expect("params");
            let image = ctrad::io::read_volume(&nifti.0).expect("image");
            let mask = ctrad::io::read_volume(&nifti.1)
                .expect("mask")
                .map(|v| v > 0.5);
            Case {
                name,
                image,
                mask,
                params,
                nifti,
                dicom,
            }
        })
        .collect()
}

/// Resampling as the pipeline does it; `None` settings leave the grid as is.
pub fn resample(image: &Volume<f32>, mask: &Mask, params: &Params) -> (Volume<f32>, Mask) {
    let Some(r) = &params.resampling else {
        return (image.clone(), mask.clone());
    };
    let mut spacing = image.geometry.spacing;
    for (a, s) in r.spacing.iter().enumerate() {
        if let Some(s) = s {
            spacing[a] = *s;
        }
    }
    let target = resample::aligned_grid(&image.geometry, spacing);
    let mut img = resample::resample_image(image, &target, r.interpolator);
    if params.round_intensities {
        resample::round_intensities(&mut img);
    }
    let m = resample::resample_mask(mask, &target, r.mask_interpolator, r.mask_threshold);
    (img, m)
}

/// Image, morphological and intensity masks after every step before the
/// features (rounding, resampling, re-segmentation).
pub fn preprocess(case: &Case) -> (Volume<f32>, Mask, Mask) {
    let mut image = case.image.clone();
    if case.params.round_intensities {
        resample::round_intensities(&mut image);
    }
    let (image, morph) = resample(&image, &case.mask, &case.params);
    let p = &case.params;
    let intensity = if p.resegment_range.is_some() || p.outlier_sigma.is_some() {
        resegment::resegment(&image, &morph, p.resegment_range, p.outlier_sigma)
    } else {
        morph.clone()
    };
    (image, morph, intensity)
}
