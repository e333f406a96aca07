//! Per-stage benches: DICOM series read, RTSTRUCT rasterisation, resampling,
//! discretisation and each feature family, on STS_001 and the IBSI CT phantom.
//!
//! `cargo bench --bench stages` (full), `CTRAD_BENCH_QUICK=1 cargo bench --bench stages`
//! or `cargo bench --bench stages -- --quick` (CI smoke run). Filter with a
//! criterion regex: `cargo bench --bench stages -- 'features/cm'`.

mod common;

use criterion::Criterion;
use ctrad::features;
use ctrad::io::dicom::{rtstruct, series};
use ctrad::preprocess::discretise;
use ctrad::roi::Roi;
use std::hint::black_box;

fn stages(c: &mut Criterion, data: &std::path::Path) {
    let cases = common::cases(data);

    let mut g = c.benchmark_group("io");
    for case in &cases {
        let (dir, rs_path) = &case.dicom;
        g.bench_function(format!("dicom_series_read/{}", case.name), |b| {
            b.iter(|| series::read_series_dir(black_box(dir), None).unwrap())
        });
        let (image, meta) = series::read_series_dir(dir, None).unwrap();
        g.bench_function(format!("rtstruct_read_rasterise/{}", case.name), |b| {
            b.iter(|| {
                let rs = rtstruct::read_rtstruct(rs_path).unwrap();
                rtstruct::rasterise(
                    &rs.rois[0],
                    &image.geometry,
                    Some(&meta.frame_of_reference_uid),
                    rs_path,
                )
                .unwrap()
            })
        });
        let rs = rtstruct::read_rtstruct(rs_path).unwrap();
        g.bench_function(format!("rtstruct_rasterise/{}", case.name), |b| {
            b.iter(|| {
                rtstruct::rasterise(
                    &rs.rois[0],
                    &image.geometry,
                    Some(&meta.frame_of_reference_uid),
                    rs_path,
                )
                .unwrap()
            })
        });
        g.bench_function(format!("nifti_read/{}", case.name), |b| {
            b.iter(|| ctrad::io::read_volume(black_box(&case.nifti.0)).unwrap())
        });
    }
    g.finish();

    let mut g = c.benchmark_group("preprocess");
    for case in &cases {
        // Both cases resample with IBSI configuration C (2 mm isotropic, trilinear).
        let cfg_c = ctrad::params::Params::from_file(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines/ibsi/config_c.yaml"),
        )
        .unwrap();
        g.bench_function(format!("resample_2mm_linear/{}", case.name), |b| {
            b.iter(|| common::resample(&case.image, &case.mask, &cfg_c))
        });
        let (image, morph, intensity) = common::preprocess(case);
        g.bench_function(format!("crop_roi/{}", case.name), |b| {
            b.iter(|| Roi::new(&image, &morph, &intensity).unwrap())
        });
        let roi = Roi::new(&image, &morph, &intensity).unwrap();
        g.bench_function(format!("discretise/{}", case.name), |b| {
            b.iter(|| discretise::discretise(&roi, &case.params.discretisation).unwrap())
        });
    }
    g.finish();

    let mut g = c.benchmark_group("features");
    for case in &cases {
        let n = case.name;
        let (image, morph, intensity) = common::preprocess(case);
        let roi = Roi::new(&image, &morph, &intensity).unwrap();
        let discrete = discretise::discretise(&roi, &case.params.discretisation).unwrap();
        let values = roi.intensities();
        let t = &case.params.texture;
        g.bench_function(format!("morph/{n}"), |b| {
            b.iter(|| features::morph::compute(&roi))
        });
        g.bench_function(format!("loc/{n}"), |b| {
            b.iter(|| features::loc::compute(&image, &intensity))
        });
        g.bench_function(format!("stat/{n}"), |b| {
            b.iter(|| features::stat::compute(&values))
        });
        g.bench_function(format!("ih/{n}"), |b| {
            b.iter(|| features::ih::compute(&discrete.roi_levels(), discrete.n_levels))
        });
        let ivh = case.params.ivh_discretisation();
        g.bench_function(format!("ivh/{n}"), |b| {
            b.iter(|| features::ivh::compute(&values, &ivh))
        });
        g.bench_function(format!("cm/{n}"), |b| {
            b.iter(|| features::glcm::compute(&discrete, t))
        });
        g.bench_function(format!("rlm/{n}"), |b| {
            b.iter(|| features::glrlm::compute(&discrete, t))
        });
        g.bench_function(format!("szm/{n}"), |b| {
            b.iter(|| features::glszm::compute(&discrete, t))
        });
        g.bench_function(format!("dzm/{n}"), |b| {
            b.iter(|| features::gldzm::compute(&discrete, t))
        });
        g.bench_function(format!("ngt/{n}"), |b| {
            b.iter(|| features::ngtdm::compute(&discrete, t))
        });
        g.bench_function(format!("ngl/{n}"), |b| {
            b.iter(|| features::ngldm::compute(&discrete, t))
        });
    }
    g.finish();
}

fn main() {
    let Some(data) = common::testdata() else {
        return;
    };
    let mut c = common::criterion();
    stages(&mut c, &data);
    c.final_summary();
}
