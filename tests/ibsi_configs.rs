//! The whole chain against the IBSI 1 reference values: digital phantom and
//! CT phantom configurations A–E, every family and every diagnostic value.
//! Parameters come from `pipelines/ibsi/*.yaml`, reference values from the
//! shared `reference_values.csv`.

mod common;

use ctrad::params::Params;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const FAMILIES: [&str; 12] = [
    "diag", "morph", "loc", "stat", "ih", "ivh", "cm", "rlm", "szm", "dzm", "ngt", "ngl",
];

fn params(name: &str) -> Params {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("pipelines/ibsi")
        .join(name);
    Params::from_file(&path).unwrap()
}

fn run(config: &str, yaml: &str, image: &Path, mask: &Path) {
    run_with_roi(config, yaml, image, mask, None)
}

/// Run one configuration; `roi` names the RTSTRUCT ROI when the inputs are DICOM.
fn run_with_roi(config: &str, yaml: &str, image: &Path, mask: &Path, roi: Option<&str>) {
    let Some(td) = common::shared_testdata() else {
        return;
    };
    let image = td.join(image);
    let mask = td.join(mask);
    let p = params(yaml);
    let loaded = ctrad::inputs::load_image(&image).unwrap();
    let m = ctrad::inputs::load_mask(&mask, &loaded, roi, p.label)
        .unwrap()
        .mask;
    let img = loaded.volume;
    let t = std::time::Instant::now();
    let out = ctrad::pipeline::extract(img, m, &p, &image, &mask).unwrap();
    let elapsed = t.elapsed();
    let features: BTreeMap<String, f64> = out.features.iter().cloned().collect();
    assert_eq!(
        features.len(),
        out.features.len(),
        "duplicate tags in the output"
    );
    let refs = common::reference_values(&td, config);
    let (counts, failures) = common::compare(&refs, &features, &FAMILIES);
    for (family, (m, n)) in &counts {
        println!("{config} {family}: {m}/{n}");
    }
    println!("{config}: extraction took {elapsed:?}");
    assert!(
        failures.is_empty(),
        "{config}: {} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
    let total: usize = counts.values().map(|c| c.1).sum();
    assert!(total > 0, "no reference values compared");
}

const CT_IMAGE: &str = "ibsi1/ct_phantom/nifti/phantom.nii.gz";
const CT_MASK: &str = "ibsi1/ct_phantom/nifti/mask.nii.gz";

#[test]
fn digital_phantom() {
    run(
        "dig",
        "dig.yaml",
        Path::new("ibsi1/digital_phantom/phantom.nii.gz"),
        Path::new("ibsi1/digital_phantom/mask.nii.gz"),
    );
}

#[test]
fn config_a() {
    run(
        "A",
        "config_a.yaml",
        Path::new(CT_IMAGE),
        Path::new(CT_MASK),
    );
}

#[test]
fn config_b() {
    run(
        "B",
        "config_b.yaml",
        Path::new(CT_IMAGE),
        Path::new(CT_MASK),
    );
}

#[test]
fn config_c() {
    run(
        "C",
        "config_c.yaml",
        Path::new(CT_IMAGE),
        Path::new(CT_MASK),
    );
}

#[test]
fn config_d() {
    run(
        "D",
        "config_d.yaml",
        Path::new(CT_IMAGE),
        Path::new(CT_MASK),
    );
}

#[test]
fn config_e() {
    run(
        "E",
        "config_e.yaml",
        Path::new(CT_IMAGE),
        Path::new(CT_MASK),
    );
}

// The same configurations from the DICOM series and its RTSTRUCT (ROI GTV-1).
const DCM_IMAGE: &str = "ibsi1/ct_phantom/dicom/image";
const DCM_MASK: &str = "ibsi1/ct_phantom/dicom/mask/DCM_RS_00060.dcm";

#[test]
fn config_a_from_dicom() {
    run_with_roi(
        "A",
        "config_a.yaml",
        Path::new(DCM_IMAGE),
        Path::new(DCM_MASK),
        Some("GTV-1"),
    );
}

#[test]
fn config_b_from_dicom() {
    run_with_roi(
        "B",
        "config_b.yaml",
        Path::new(DCM_IMAGE),
        Path::new(DCM_MASK),
        Some("GTV-1"),
    );
}

#[test]
fn config_c_from_dicom() {
    run_with_roi(
        "C",
        "config_c.yaml",
        Path::new(DCM_IMAGE),
        Path::new(DCM_MASK),
        Some("GTV-1"),
    );
}

#[test]
fn config_d_from_dicom() {
    run_with_roi(
        "D",
        "config_d.yaml",
        Path::new(DCM_IMAGE),
        Path::new(DCM_MASK),
        Some("GTV-1"),
    );
}

#[test]
fn config_e_from_dicom() {
    run_with_roi(
        "E",
        "config_e.yaml",
        Path::new(DCM_IMAGE),
        Path::new(DCM_MASK),
        Some("GTV-1"),
    );
}
