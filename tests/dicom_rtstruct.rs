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

// ------------------------------------------------------- malformed structure sets

use ctrad::io::dicom::rtstruct::rasterise;
use ctrad::Error;
use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use std::path::{Path, PathBuf};

/// STS_002 image and a writable copy of its RS.dcm in a fresh temp folder.
fn sts002_rs_copy(name: &str) -> Option<(Volume<f32>, String, PathBuf, PathBuf)> {
    let td = common::shared_testdata()?;
    let case = td.join("sts_ct/STS_002/dicom");
    let (img, meta) = read_series_dir(&case.join("image"), None).unwrap();
    let dir = std::env::temp_dir().join(format!("ctrad_{name}_{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let rs = dir.join("RS_modified.dcm");
    std::fs::write(&rs, std::fs::read(case.join("mask/RS.dcm")).unwrap()).unwrap();
    Some((img, meta.frame_of_reference_uid, rs, dir))
}

fn edit(path: &Path, f: impl FnOnce(&mut dicom_object::DefaultDicomObject)) {
    let mut obj = dicom_object::open_file(path).unwrap();
    f(&mut obj);
    obj.write_to_file(path).unwrap();
}

#[test]
fn foreign_frame_of_reference() {
    let Some((img, for_uid, rs_path, dir)) = sts002_rs_copy("rs_foreign_for") else {
        return;
    };
    edit(&rs_path, |o| {
        let mut e = o.take_element(tags::STRUCTURE_SET_ROI_SEQUENCE).unwrap();
        for it in e.items_mut().unwrap().iter_mut() {
            it.put(DataElement::new(
                tags::REFERENCED_FRAME_OF_REFERENCE_UID,
                VR::UI,
                PrimitiveValue::from("1.2.826.0.1.3680043.8.498.1"),
            ));
        }
        o.put(e);
    });
    let rs = read_rtstruct(&rs_path).unwrap();
    let roi = rs.find_roi("GTV_Mass_CT").unwrap();
    let e = rasterise(roi, &img.geometry, Some(&for_uid), &rs_path).unwrap_err();
    println!("{e}");
    assert!(matches!(e, Error::GeometryMismatch { .. }), "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains("RS_modified.dcm") && msg.contains("1.2.826.0.1.3680043.8.498.1"),
        "{msg}"
    );
    // Without an image frame of reference (e.g. a NIfTI image) nothing is checked.
    assert!(
        rasterise(roi, &img.geometry, None, &rs_path)
            .unwrap()
            .count()
            > 0
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn contour_outside_the_image() {
    let Some((img, for_uid, rs_path, dir)) = sts002_rs_copy("rs_outside") else {
        return;
    };
    // Move every contour 500 mm along z, far beyond the 48 slices.
    edit(&rs_path, |o| {
        let mut rcs = o.take_element(tags::ROI_CONTOUR_SEQUENCE).unwrap();
        for rc in rcs.items_mut().unwrap().iter_mut() {
            let mut cs = rc.take_element(tags::CONTOUR_SEQUENCE).unwrap();
            for c in cs.items_mut().unwrap().iter_mut() {
                let mut pts = c
                    .element(tags::CONTOUR_DATA)
                    .unwrap()
                    .to_multi_float64()
                    .unwrap();
                for p in pts.chunks_exact_mut(3) {
                    p[2] += 500.0;
                }
                let s = pts
                    .iter()
                    .map(|v| format!("{v:.4}"))
                    .collect::<Vec<_>>()
                    .join("\\");
                c.put(DataElement::new(
                    tags::CONTOUR_DATA,
                    VR::DS,
                    PrimitiveValue::from(s),
                ));
            }
            rc.put(cs);
        }
        o.put(rcs);
    });
    let rs = read_rtstruct(&rs_path).unwrap();
    let roi = rs.find_roi("gtv_mass_ct").unwrap(); // case-insensitive match
    let e = rasterise(roi, &img.geometry, Some(&for_uid), &rs_path)
        .unwrap_err()
        .to_string();
    println!("{e}");
    assert!(
        e.contains("contour outside the image") && e.contains("RS_modified.dcm"),
        "{e}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn roi_name_not_found() {
    let Some(td) = common::shared_testdata() else {
        return;
    };
    let rs_path = td.join("sts_ct/STS_003/dicom/mask/RS.dcm");
    let rs = read_rtstruct(&rs_path).unwrap();
    let e = rs.find_roi("Liver").unwrap_err().to_string();
    println!("{e}");
    assert!(
        e.contains("no ROI named 'Liver'") && e.contains("'GTV_Mass_CT'") && e.contains("RS.dcm"),
        "{e}"
    );
}

#[test]
fn not_an_rtstruct() {
    let Some(td) = common::shared_testdata() else {
        return;
    };
    let ct = td.join("sts_ct/STS_003/dicom/image/000000.dcm");
    let e = read_rtstruct(&ct).unwrap_err().to_string();
    assert!(
        e.contains("not an RT Structure Set") && e.contains("000000.dcm"),
        "{e}"
    );
}

/// Nested contours make holes; two disjoint contours on one slice both count.
#[test]
fn even_odd_holes_and_islands() {
    use ctrad::io::dicom::rtstruct::{Contour, ContourType, RoiContours};
    use ctrad::volume::Geometry;
    let g = Geometry::new([20, 20, 3], [1.0, 1.0, 2.0], [0.0, 0.0, 0.0]);
    let square = |x0: f64, y0: f64, x1: f64, y1: f64, z: f64| Contour {
        kind: ContourType::ClosedPlanar,
        points: vec![[x0, y0, z], [x1, y0, z], [x1, y1, z], [x0, y1, z]],
    };
    let roi = RoiContours {
        number: 1,
        name: "t".into(),
        frame_of_reference_uid: String::new(),
        interpreted_type: String::new(),
        contours: vec![
            square(0.5, 0.5, 10.5, 10.5, 2.0),   // 10×10 voxels on slice 1
            square(2.5, 2.5, 5.5, 5.5, 2.0),     // 3×3 hole
            square(12.5, 12.5, 14.5, 14.5, 2.0), // 2×2 island
            square(0.5, 0.5, 3.5, 3.5, 2.9), // also slice 1 (within half a slice): overlap toggles
            Contour {
                kind: ContourType::Point,
                points: vec![[1.0, 1.0, 0.0]],
            },
        ],
    };
    let (m, stats) =
        ctrad::io::dicom::rtstruct::rasterise_with_stats(&roi, &g, None, Path::new("mem")).unwrap();
    assert_eq!(stats.used, 4);
    assert_eq!(stats.skipped, 1);
    // Expected: voxel centres inside an odd number of squares.
    let expect: usize = (0..400)
        .filter(|&i| {
            let (x, y) = ((i % 20) as f64, (i / 20) as f64);
            let inside = |a: f64, b: f64| x > a && x < b && y > a && y < b;
            let n = [
                inside(0.5, 10.5),
                inside(2.5, 5.5),
                inside(12.5, 14.5),
                inside(0.5, 3.5),
            ]
            .iter()
            .filter(|&&v| v)
            .count();
            n % 2 == 1
        })
        .count();
    assert_eq!(m.count(), expect);
    assert!(
        (0..400).all(|i| !m.data[i] && !m.data[800 + i]),
        "only slice 1 is filled"
    );
    assert!(!m.get(1, 1, 1) && m.get(4, 1, 1) && !m.get(4, 4, 1) && m.get(13, 13, 1));
}
