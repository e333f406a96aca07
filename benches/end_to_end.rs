//! Whole-study benches: files in, feature row out (`ctrad::pipeline::extract`
//! after reading the inputs), for STS_001 (NIfTI and DICOM + RTSTRUCT) and the
//! IBSI CT phantom, and STS_001 in PyRadiomics compatibility mode (the 107
//! features PyRadiomics computes by default). Single-threaded texture families
//! when `RAYON_NUM_THREADS=1`.
//!
//! `cargo bench --bench end_to_end`; quick: `CTRAD_BENCH_QUICK=1` or `-- --quick`.

mod common;

use criterion::Criterion;
use std::path::Path;

fn study(image: &Path, mask: &Path, params: &ctrad::params::Params) -> usize {
    let img = ctrad::inputs::load_image(image).unwrap();
    let roi = ctrad::inputs::load_mask(mask, &img, None, params.label).unwrap();
    let out = ctrad::pipeline::extract(img.volume, roi.mask, params, image, mask).unwrap();
    out.features.len()
}

fn main() {
    let Some(data) = common::testdata() else {
        return;
    };
    let mut c: Criterion = common::criterion();
    let cases = common::cases(&data);
    let mut g = c.benchmark_group("end_to_end");
    for case in &cases {
        g.bench_function(format!("nifti/{}", case.name), |b| {
            b.iter(|| study(&case.nifti.0, &case.nifti.1, &case.params))
        });
        g.bench_function(format!("dicom_rtstruct/{}", case.name), |b| {
            b.iter(|| study(&case.dicom.0, &case.dicom.1, &case.params))
        });
        g.bench_function(format!("in_memory/{}", case.name), |b| {
            b.iter(|| {
                ctrad::pipeline::extract(
                    case.image.clone(),
                    case.mask.clone(),
                    &case.params,
                    &case.nifti.0,
                    &case.nifti.1,
                )
                .unwrap()
            })
        });
    }
    if let Some(sts) = cases.iter().find(|c| c.name == "sts001") {
        let compat = ctrad::params::Params::from_file(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines/bench/pyradiomics_compat.yaml"),
        )
        .expect("compat params");
        g.bench_function("compat_nifti/sts001", |b| {
            b.iter(|| study(&sts.nifti.0, &sts.nifti.1, &compat))
        });
        g.bench_function("compat_dicom_rtstruct/sts001", |b| {
            b.iter(|| study(&sts.dicom.0, &sts.dicom.1, &compat))
        });
    }
    g.finish();
    c.final_summary();
}
