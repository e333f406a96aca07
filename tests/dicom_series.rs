//! DICOM CT series loading: the IBSI CT phantom and the STS cases against their
//! NIfTI conversions, and malformed series built from STS slices.

mod common;

use ctrad::io::dicom::series::{load_series, read_series_dir};
use ctrad::volume::Volume;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Compare two volumes voxel by voxel through world coordinates (the grids
/// may differ by axis flips). Returns (compared voxels, max |a - b|).
pub fn compare_world(a: &Volume<f32>, b: &Volume<f32>) -> (usize, f64) {
    let ga = &a.geometry;
    let gb = &b.geometry;
    let mut n = 0;
    let mut max = 0.0f64;
    for k in 0..ga.dims[2] {
        for j in 0..ga.dims[1] {
            for i in 0..ga.dims[0] {
                let w = ga.index_to_world([i as f64, j as f64, k as f64]);
                let ijk = gb.world_to_index(w);
                let r = ijk.map(|v| v.round());
                assert!(
                    (0..3).all(|d| (ijk[d] - r[d]).abs() < 0.01),
                    "grids are not aligned: {ijk:?}"
                );
                if (0..3).any(|d| r[d] < 0.0 || r[d] >= gb.dims[d] as f64) {
                    continue;
                }
                let vb = b.get(r[0] as usize, r[1] as usize, r[2] as usize);
                max = max.max((a.get(i, j, k) as f64 - vb as f64).abs());
                n += 1;
            }
        }
    }
    (n, max)
}

fn dicom_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "dcm"))
        .collect();
    v.sort();
    v
}

#[test]
fn ct_phantom_matches_nifti() {
    let Some(td) = common::shared_testdata() else {
        return;
    };
    let dir = td.join("ibsi1/ct_phantom");
    let t = Instant::now();
    let (vol, meta) = read_series_dir(&dir.join("dicom/image"), None).expect("CT phantom series");
    println!(
        "CT phantom: loaded {} slices in {:.0} ms",
        meta.slices.len(),
        t.elapsed().as_secs_f64() * 1e3
    );
    let g = &vol.geometry;
    assert_eq!(g.dims, [204, 201, 60]);
    assert!(
        (g.spacing[0] - 0.977).abs() < 1e-3 && (g.spacing[1] - 0.977).abs() < 1e-3,
        "{:?}",
        g.spacing
    );
    assert!((g.spacing[2] - 3.0).abs() < 1e-6, "{:?}", g.spacing);
    assert_eq!(meta.modality, "CT");
    assert!(!meta.frame_of_reference_uid.is_empty());
    let nii = ctrad::io::read_volume(&dir.join("nifti/phantom.nii.gz")).unwrap();
    println!("DICOM geometry {:?}\nNIfTI geometry {:?}", g, nii.geometry);
    let (n, max) = compare_world(&vol, &nii.map(|v| v.round()));
    println!("CT phantom: {n} voxels compared, max |DICOM - NIfTI| = {max}");
    assert_eq!(n, g.len());
    assert_eq!(max, 0.0);
}

#[test]
fn sts_images_match_nifti() {
    let Some(td) = common::shared_testdata() else {
        return;
    };
    for case in ["STS_001", "STS_002", "STS_003", "STS_004", "STS_005"] {
        let dir = td.join("sts_ct").join(case);
        let files = dicom_files(&dir.join("dicom/image"));
        let t = Instant::now();
        let (vol, meta) = load_series(&files).expect(case);
        let ms = t.elapsed().as_secs_f64() * 1e3;
        let nii = ctrad::io::read_volume(&dir.join("nifti/CT_image.nii.gz")).unwrap();
        let (n, max) = compare_world(&vol, &nii);
        println!(
            "{case}: {} slices {:?} spacing {:.4?} loaded in {ms:.0} ms; {n}/{} voxels compared with NIfTI {:?}, max abs diff {max}",
            meta.slices.len(),
            vol.geometry.dims,
            vol.geometry.spacing,
            vol.geometry.len(),
            nii.geometry.dims
        );
        assert_eq!(
            n,
            vol.geometry.len(),
            "{case}: grids cover different regions"
        );
        assert!(max <= 0.5, "{case}: max abs diff {max}");
    }
}
