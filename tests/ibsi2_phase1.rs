//! IBSI 2 phase 1: every filter's response map on the digital phantoms against
//! the consensus reference map, voxel by voxel.
//!
//! A test passes when every voxel lies within 1 % of the reference map's
//! intensity range (the IBSI 2 criterion). The filter of test `1.a.1` is the
//! single entry of `pipelines/ibsi2/phase1/1_a_1.yaml`; the phantom and
//! reference map come from `tests.csv` in the shared data.

mod common;

use std::path::{Path, PathBuf};

/// `(phantom, reference map file)` of a test id, from `tests.csv`.
fn test_row(testdata: &Path, id: &str) -> (String, String) {
    let path = testdata.join("ibsi2/phase1_response_maps/tests.csv");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    for line in text.lines().skip(1) {
        let cols: Vec<&str> = line.splitn(4, ',').collect();
        if cols[0] == id {
            return (cols[2].to_string(), cols[1].to_string());
        }
    }
    panic!("test {id} not in {}", path.display());
}

/// Run test `id`; returns (voxels within tolerance, voxels, largest error / range).
fn run(id: &str) -> Option<(usize, usize, f64)> {
    let testdata = common::shared_testdata()?;
    let (phantom, map) = test_row(&testdata, id);
    assert!(!map.is_empty(), "test {id} has no reference map");
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let params_path = root.join(format!(
        "pipelines/ibsi2/phase1/{}.yaml",
        id.replace('.', "_")
    ));
    let params = ctrad::params::Params::from_file(&params_path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        params.filters.len(),
        1,
        "{}: one filter expected",
        params_path.display()
    );
    let image_path = testdata.join(format!(
        "ibsi2/digital_phantom/nifti/{phantom}/image/{phantom}.nii.gz"
    ));
    let image = ctrad::io::read_volume(&image_path).unwrap_or_else(|e| panic!("{e}"));
    let reference =
        ctrad::io::read_volume(&testdata.join(format!("ibsi2/phase1_response_maps/{map}")))
            .unwrap_or_else(|e| panic!("{e}"));
    let response = params.filters[0]
        .apply(&image)
        .unwrap_or_else(|e| panic!("{id}: {e}"));
    assert_eq!(
        response.geometry.dims, reference.geometry.dims,
        "{id}: grid"
    );
    let (lo, hi) = reference
        .data
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        });
    let range = (hi - lo) as f64;
    let tol = 0.01 * range;
    let mut ok = 0;
    let mut worst = 0.0f64;
    for (&r, &v) in reference.data.iter().zip(&response.data) {
        let d = (r as f64 - v as f64).abs();
        worst = worst.max(d);
        if d <= tol {
            ok += 1;
        }
    }
    let rel = if range > 0.0 { worst / range } else { worst };
    println!(
        "IBSI 2 phase 1 {id:7} {:38} {ok}/{} voxels within 1 % of range {range:.4}; largest error {:.3} % of range",
        params.filters[0].name,
        reference.data.len(),
        100.0 * rel
    );
    Some((ok, reference.data.len(), rel))
}

macro_rules! phase1 {
    ($($name:ident => $id:literal,)*) => {
        $(
            #[test]
            fn $name() {
                if let Some((ok, n, rel)) = run($id) {
                    assert_eq!(ok, n, "test {}: {} of {} voxels outside 1 % of the range (largest {:.3} %)", $id, n - ok, n, 100.0 * rel);
                }
            }
        )*
    };
}

phase1! {
    t1_a_1 => "1.a.1",
    t1_a_2 => "1.a.2",
    t1_a_3 => "1.a.3",
    t1_a_4 => "1.a.4",
    t1_b_1 => "1.b.1",
    t2_a => "2.a",
    t2_b => "2.b",
    t2_c => "2.c",
    t3_a_1 => "3.a.1",
    t3_a_2 => "3.a.2",
    t3_a_3 => "3.a.3",
    t3_b_1 => "3.b.1",
    t3_b_2 => "3.b.2",
    t3_b_3 => "3.b.3",
    t3_c_1 => "3.c.1",
    t3_c_2 => "3.c.2",
    t3_c_3 => "3.c.3",
    t4_a_1 => "4.a.1",
    t4_a_2 => "4.a.2",
    t4_b_1 => "4.b.1",
    t4_b_2 => "4.b.2",
    t5_a_1 => "5.a.1",
    t5_a_2 => "5.a.2",
    t6_a_1 => "6.a.1",
    t6_a_2 => "6.a.2",
    t7_a_1 => "7.a.1",
    t7_a_2 => "7.a.2",
    t8_a_1 => "8.a.1",
    t8_a_2 => "8.a.2",
    t8_a_3 => "8.a.3",
    t9_a => "9.a",
    t9_b_1 => "9.b.1",
    t10_b_1 => "10.b.1",
}
