//! RTSTRUCT reading and rasterisation against the NIfTI masks of the IBSI CT
//! phantom and the STS cases; malformed structure sets.

mod common;

use ctrad::io::dicom::rtstruct::{rasterise_with_stats, read_rtstruct};
use ctrad::io::dicom::series::read_series_dir;
use ctrad::volume::{Mask, Volume};

/// Resample `b` onto `a`'s grid through world coordinates (nearest centre).
fn on_grid(a: &Mask, b: &Volume<f32>) -> Mask {
    let ga = &a.geometry;
    let mut out = Volume::filled(ga.clone(), false);
    for idx in 0..ga.len() {
        let [i, j, k] = ga.coords(idx);
        let w = ga.index_to_world([i as f64, j as f64, k as f64]);
        let r = b.geometry.world_to_index(w).map(|v| v.round());
        if (0..3).all(|d| r[d] >= 0.0 && r[d] < b.geometry.dims[d] as f64) {
            out.data[idx] = b.get(r[0] as usize, r[1] as usize, r[2] as usize) > 0.5;
        }
    }
    out
}

fn dice(a: &Mask, b: &Mask) -> f64 {
    let inter = a
        .data
        .iter()
        .zip(&b.data)
        .filter(|(x, y)| **x && **y)
        .count();
    2.0 * inter as f64 / (a.count() + b.count()) as f64
}

#[test]
fn ct_phantom_gtv() {
    let Some(td) = common::shared_testdata() else {
        return;
    };
    let dir = td.join("ibsi1/ct_phantom");
    let (img, meta) = read_series_dir(&dir.join("dicom/image"), None).unwrap();
    let rs_path = dir.join("dicom/mask/DCM_RS_00060.dcm");
    let rs = read_rtstruct(&rs_path).unwrap();
    println!("ROIs: {:?}", rs.roi_names());
    let roi = rs.find_roi("GTV-1").unwrap();
    let t = std::time::Instant::now();
    let (mask, stats) = rasterise_with_stats(
        roi,
        &img.geometry,
        Some(&meta.frame_of_reference_uid),
        &rs_path,
    )
    .unwrap();
    println!(
        "rasterised in {:.1} ms, {stats:?}",
        t.elapsed().as_secs_f64() * 1e3
    );
    let nii = ctrad::io::read_volume(&dir.join("nifti/mask.nii.gz")).unwrap();
    let ref_mask = on_grid(&mask, &nii);
    let (lo, hi) = mask.bounding_box().unwrap();
    let bb = [hi[0] - lo[0] + 1, hi[1] - lo[1] + 1, hi[2] - lo[2] + 1];
    let d = dice(&mask, &ref_mask);
    let differ = mask
        .data
        .iter()
        .zip(&ref_mask.data)
        .filter(|(a, b)| a != b)
        .count();
    println!(
        "CT phantom GTV-1: {} voxels (NIfTI {}), {differ} voxels differ, bbox {bb:?}, Dice {d:.6}",
        mask.count(),
        ref_mask.count()
    );
    assert_eq!(mask.count(), 125_256);
    assert_eq!(bb, [100, 99, 26]);
    assert!(d > 0.99);
}

#[test]
fn sts_masks_match_nifti() {
    let Some(td) = common::shared_testdata() else {
        return;
    };
    for case in ["STS_001", "STS_002", "STS_003", "STS_004", "STS_005"] {
        let dir = td.join("sts_ct").join(case);
        let (img, meta) = read_series_dir(&dir.join("dicom/image"), None).unwrap();
        let rs_path = dir.join("dicom/mask/RS.dcm");
        let rs = read_rtstruct(&rs_path).unwrap();
        let name = rs
            .roi_names()
            .into_iter()
            .find(|n| n.contains("GTV_Mass"))
            .unwrap_or_else(|| panic!("{case}: no GTV_Mass in {:?}", rs.roi_names()))
            .to_string();
        let roi = rs.find_roi(&name).unwrap();
        let t = std::time::Instant::now();
        let (mask, stats) = rasterise_with_stats(
            roi,
            &img.geometry,
            Some(&meta.frame_of_reference_uid),
            &rs_path,
        )
        .unwrap();
        let ms = t.elapsed().as_secs_f64() * 1e3;
        let nii = ctrad::io::read_volume(&dir.join("nifti/CT_mask.nii.gz")).unwrap();
        let ref_mask = on_grid(&mask, &nii);
        let d = dice(&mask, &ref_mask);
        let differ = mask
            .data
            .iter()
            .zip(&ref_mask.data)
            .filter(|(a, b)| a != b)
            .count();
        println!(
            "{case}: ROI '{name}' (of {:?}): {} voxels, NIfTI {} voxels, {differ} voxels differ, Dice {d:.6}; {stats:?}; {ms:.1} ms",
            rs.roi_names(),
            mask.count(),
            ref_mask.count()
        );
        assert!(d >= 0.99, "{case}: Dice {d}");
    }
}
