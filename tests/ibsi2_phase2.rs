//! IBSI 2 phase 2: intensity statistics of filtered CT-phantom images against
//! the consensus values, for the nine filter configurations in 2D (A) and 3D
//! (B). Parameters come from `pipelines/ibsi2/phase2/<filter>_<config>.yaml`,
//! reference values from the shared `ibsi2/phase2_reference_values.csv`.
//! Configuration B also runs from the DICOM series and RTSTRUCT.

mod common;

use ctrad::params::Params;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const CT_IMAGE: &str = "ibsi1/ct_phantom/nifti/phantom.nii.gz";
const CT_MASK: &str = "ibsi1/ct_phantom/nifti/mask.nii.gz";
const DCM_IMAGE: &str = "ibsi1/ct_phantom/dicom/image";
const DCM_MASK: &str = "ibsi1/ct_phantom/dicom/mask/DCM_RS_00060.dcm";

/// `(tag, value, tolerance)` of one filter and configuration; rows without a
/// consensus value are left out.
fn references(testdata: &Path, filter: u32, config: &str) -> Vec<(String, f64, f64)> {
    let path = testdata.join("ibsi2/phase2_reference_values.csv");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out = Vec::new();
    for line in text.lines().skip(1) {
        let cols: Vec<&str> = line.split(',').collect();
        assert_eq!(cols.len(), 6, "{}: {line}", path.display());
        if cols[0] != filter.to_string() || cols[1] != config {
            continue;
        }
        let (Ok(v), Ok(t)) = (cols[4].parse::<f64>(), cols[5].parse::<f64>()) else {
            continue;
        };
        out.push((cols[3].to_string(), v, t));
    }
    out
}

/// Run filter `filter` in configuration `config`; returns (matched, compared).
fn run(filter: u32, config: &str, dicom: bool) -> Option<(usize, usize)> {
    let td = common::shared_testdata()?;
    let yaml = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join(format!("pipelines/ibsi2/phase2/{filter}_{config}.yaml"));
    let p = Params::from_file(&yaml).unwrap_or_else(|e| panic!("{e}"));
    let (image, mask, roi) = if dicom {
        (td.join(DCM_IMAGE), td.join(DCM_MASK), Some("GTV-1"))
    } else {
        (td.join(CT_IMAGE), td.join(CT_MASK), None)
    };
    let loaded = ctrad::inputs::load_image(&image).unwrap();
    let m = ctrad::inputs::load_mask(&mask, &loaded, roi, p.label)
        .unwrap()
        .mask;
    let t = std::time::Instant::now();
    let out = ctrad::pipeline::extract(loaded.volume, m, &p, &image, &mask)
        .unwrap_or_else(|e| panic!("{filter}.{config}: {e}"));
    let elapsed = t.elapsed();
    let features: BTreeMap<String, f64> = out.features.iter().cloned().collect();
    let prefix = match p.filters.first() {
        Some(f) => format!("{}_", f.name),
        None => String::new(),
    };
    let refs = references(&td, filter, config);
    let mut failures = Vec::new();
    for (tag, v, tol) in &refs {
        let name = format!("{prefix}{tag}");
        match features.get(&name) {
            Some(&x) if common::matches(*v, *tol, x) => {}
            Some(&x) => failures.push(format!("{name}: got {x}, reference {v} ± {tol}")),
            None => failures.push(format!("{name}: missing (reference {v})")),
        }
    }
    let source = if dicom { "DICOM" } else { "NIfTI" };
    println!(
        "IBSI 2 phase 2 filter {filter}.{config} ({source}): {}/{} ({elapsed:?})",
        refs.len() - failures.len(),
        refs.len()
    );
    assert!(
        failures.is_empty(),
        "filter {filter}.{config} ({source}): {} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        !refs.is_empty(),
        "no reference values for {filter}.{config}"
    );
    Some((refs.len() - failures.len(), refs.len()))
}

macro_rules! phase2 {
    ($($name:ident => ($filter:literal, $config:literal, $dicom:literal),)*) => {
        $(
            #[test]
            fn $name() {
                run($filter, $config, $dicom);
            }
        )*
    };
}

phase2! {
    f1_a => (1, "A", false),
    f1_b => (1, "B", false),
    f1_b_dicom => (1, "B", true),
    f2_a => (2, "A", false),
    f2_b => (2, "B", false),
    f2_b_dicom => (2, "B", true),
    f3_a => (3, "A", false),
    f3_b => (3, "B", false),
    f3_b_dicom => (3, "B", true),
    f4_a => (4, "A", false),
    f4_b => (4, "B", false),
    f4_b_dicom => (4, "B", true),
    f5_a => (5, "A", false),
    f5_b => (5, "B", false),
    f5_b_dicom => (5, "B", true),
    f6_a => (6, "A", false),
    f6_b => (6, "B", false),
    f6_b_dicom => (6, "B", true),
    f7_a => (7, "A", false),
    f7_b => (7, "B", false),
    f7_b_dicom => (7, "B", true),
    f8_a => (8, "A", false),
    f8_b => (8, "B", false),
    f8_b_dicom => (8, "B", true),
    f9_a => (9, "A", false),
    f9_b => (9, "B", false),
    f9_b_dicom => (9, "B", true),
}
