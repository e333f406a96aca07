//! Per-stage benches: DICOM series read, RTSTRUCT rasterisation, resampling,
//! discretisation and each feature family, on STS_001 and the IBSI CT phantom;
//! each IBSI 2 phase-2 filter on the CT phantom resampled to 1 mm
//! (configuration B), on the ROI box grown by the filter's support as the
//! pipeline filters it.
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

    // IBSI 2 phase-2 filters, configuration B (1 mm, tricubic, rounded).
    let mut g = c.benchmark_group("filters");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let ph = data.join("ibsi1/ct_phantom/nifti");
    let image = ctrad::io::read_volume(&ph.join("phantom.nii.gz")).unwrap();
    let mask = ctrad::io::read_label_mask(&ph.join("mask.nii.gz"), None).unwrap();
    for id in 2..=9 {
        let params = ctrad::params::Params::from_file(
            &root.join(format!("pipelines/ibsi2/phase2/{id}_B.yaml")),
        )
        .unwrap();
        let mut img = image.clone();
        ctrad::preprocess::resample::round_intensities(&mut img);
        let (img, morph) = common::resample(&img, &mask, &params);
        let spec = &params.filters[0];
        let dims = img.geometry.dims;
        let (lo, hi) = morph.bounding_box().unwrap();
        let box_ = match spec.margin(img.geometry.spacing) {
            Some(m) => img.crop(
                std::array::from_fn(|a| lo[a].saturating_sub(m[a])),
                std::array::from_fn(|a| (hi[a] + m[a]).min(dims[a] - 1)),
            ),
            None => img.clone(),
        };
        g.bench_function(format!("{id}_B/{}", spec.name), |b| {
            b.iter(|| spec.apply(black_box(&box_)).unwrap())
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
