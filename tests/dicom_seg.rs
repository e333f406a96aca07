//! DICOM SEG: write/read round trips (binary, partial coverage, fractional)
//! on the IBSI CT phantom grid, and placement errors.

mod common;

use ctrad::io::dicom::rtstruct::{rasterise, read_rtstruct};
use ctrad::io::dicom::seg::{read_seg, SegmentationType};
use ctrad::io::dicom::seg_write::{write_fractional_seg, write_seg};
use ctrad::io::dicom::series::{read_series_dir, SeriesMeta};
use ctrad::volume::{Mask, Volume};
use ctrad::Error;
use std::path::PathBuf;

/// A fresh, empty temporary folder for one test.
fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ctrad_{name}_{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// CT phantom image, its series metadata and the rasterised GTV-1 mask.
fn phantom() -> Option<(Volume<f32>, SeriesMeta, Mask)> {
    let td = common::shared_testdata()?;
    let dir = td.join("ibsi1/ct_phantom/dicom");
    let (img, meta) = read_series_dir(&dir.join("image"), None).unwrap();
    let rs_path = dir.join("mask/DCM_RS_00060.dcm");
    let rs = read_rtstruct(&rs_path).unwrap();
    let gtv = rasterise(
        rs.find_roi("GTV-1").unwrap(),
        &img.geometry,
        Some(&meta.frame_of_reference_uid),
        &rs_path,
    )
    .unwrap();
    Some((img, meta, gtv))
}

fn sphere(like: &Mask, centre: [f64; 3], radius_mm: f64) -> Mask {
    let g = &like.geometry;
    let mut m = Volume::filled(g.clone(), false);
    for i in 0..g.len() {
        let [x, y, z] = g.coords(i);
        let d: f64 = (0..3)
            .map(|a| ([x, y, z][a] as f64 - centre[a]) * g.spacing[a])
            .map(|v| v * v)
            .sum();
        m.data[i] = d.sqrt() <= radius_mm;
    }
    m
}

#[test]
fn binary_round_trip() {
    let Some((_img, meta, gtv)) = phantom() else {
        return;
    };
    let ball = sphere(&gtv, [60.0, 140.0, 45.0], 20.0);
    let dir = temp_dir("seg_binary");
    let path = dir.join("seg.dcm");
    let t = std::time::Instant::now();
    write_seg(&path, &[("GTV-1", &gtv), ("Sphere", &ball)], &meta).unwrap();
    let tw = t.elapsed();
    let t = std::time::Instant::now();
    let seg = read_seg(&path).unwrap();
    println!(
        "SEG: {} frames, written in {:.1} ms, read in {:.1} ms",
        seg.frames.len(),
        tw.as_secs_f64() * 1e3,
        t.elapsed().as_secs_f64() * 1e3
    );
    assert_eq!(seg.segmentation_type, SegmentationType::Binary);
    assert_eq!(seg.segments.len(), 2);
    assert_eq!(seg.frame_of_reference_uid, meta.frame_of_reference_uid);
    assert_eq!(
        seg.referenced_series_uids,
        vec![meta.series_instance_uid.clone()]
    );
    let g = &gtv.geometry;
    let fr = Some(meta.frame_of_reference_uid.as_str());
    let s1 = seg.find_segment("GTV-1").unwrap().number;
    let s2 = seg.find_segment("sphere").unwrap().number; // case-insensitive
    assert_eq!(seg.find_segment("2").unwrap().label, "Sphere");
    let back1 = seg.segment_mask(s1, g, fr).unwrap();
    let back2 = seg.segment_mask(s2, g, fr).unwrap();
    assert_eq!(back1.count(), 125_256);
    assert!(back1.data == gtv.data, "GTV mask differs after round trip");
    assert!(
        back2.data == ball.data,
        "sphere mask differs after round trip"
    );
    assert!(ball.count() > 1000);
    // Only slices with voxels get frames: 26 GTV slices + the sphere's.
    let ball_slices = (0..g.dims[2])
        .filter(|&z| (0..g.dims[0] * g.dims[1]).any(|i| ball.data[z * g.dims[0] * g.dims[1] + i]))
        .count();
    assert_eq!(seg.frames.len(), 26 + ball_slices);

    // Independent look at the packed pixel data: one set bit per mask voxel.
    let obj = dicom_object::open_file(&path).unwrap();
    let px = obj
        .element(dicom_dictionary_std::tags::PIXEL_DATA)
        .unwrap()
        .to_bytes()
        .unwrap();
    let bits = seg.frames.len() * g.dims[0] * g.dims[1];
    assert_eq!(px.len(), bits.div_ceil(8).next_multiple_of(2));
    let ones: u32 = px.iter().map(|b| b.count_ones()).sum();
    assert_eq!(ones as usize, gtv.count() + ball.count());
    assert_eq!(
        obj.meta().transfer_syntax().trim_end_matches('\0'),
        "1.2.840.10008.1.2.1"
    );

    let err = seg.find_segment("Liver").unwrap_err().to_string();
    assert!(
        err.contains("GTV-1") && err.contains("Sphere") && err.contains("seg.dcm"),
        "{err}"
    );

    // A foreign frame of reference is refused.
    let e = seg.segment_mask(s1, g, Some("1.2.3.4")).unwrap_err();
    assert!(matches!(e, Error::GeometryMismatch { .. }), "{e}");
    assert!(e.to_string().contains("seg.dcm"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn partial_coverage_and_misplaced_frames() {
    let Some((_img, meta, gtv)) = phantom() else {
        return;
    };
    let g = gtv.geometry.clone();
    let plane = g.dims[0] * g.dims[1];
    // Keep slices 30..=33 only of the GTV: the SEG covers 4 slices.
    let mut part = gtv.clone();
    for z in 0..g.dims[2] {
        if !(30..=33).contains(&z) {
            part.data[z * plane..(z + 1) * plane].fill(false);
        }
    }
    assert!(part.count() > 0);
    let dir = temp_dir("seg_partial");
    let path = dir.join("partial.dcm");
    write_seg(&path, &[("part", &part)], &meta).unwrap();
    let seg = read_seg(&path).unwrap();
    assert_eq!(seg.frames.len(), 4);
    let back = seg.segment_mask(1, &g, None).unwrap();
    assert!(back.data == part.data);

    // Same SEG on a grid shifted by half a slice: no slice matches.
    let mut shifted = g.clone();
    shifted.origin[2] += 0.5 * g.spacing[2];
    let e = seg.segment_mask(1, &shifted, None).unwrap_err().to_string();
    assert!(
        e.contains("matches no image slice") && e.contains("partial.dcm"),
        "{e}"
    );
    // A grid that stops before slice 30.
    let mut short = g.clone();
    short.dims[2] = 20;
    let e = seg.segment_mask(1, &short, None).unwrap_err().to_string();
    assert!(e.contains("matches no image slice"), "{e}");
    // A different in-plane grid.
    let mut wide = g.clone();
    wide.dims[0] += 1;
    let e = seg.segment_mask(1, &wide, None).unwrap_err();
    assert!(matches!(e, Error::GeometryMismatch { .. }), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn fractional_round_trip() {
    let Some((_img, meta, gtv)) = phantom() else {
        return;
    };
    let g = gtv.geometry.clone();
    // Probabilities 0.3 inside the GTV, 0.8 inside a ball, 1.0 in both.
    let ball = sphere(&gtv, [100.0, 100.0, 30.0], 15.0);
    let prob = Volume {
        geometry: g.clone(),
        data: gtv
            .data
            .iter()
            .zip(&ball.data)
            .map(|(&a, &b)| match (a, b) {
                (true, true) => 1.0,
                (false, true) => 0.8,
                (true, false) => 0.3,
                _ => 0.0,
            })
            .collect(),
    };
    let dir = temp_dir("seg_fractional");
    let path = dir.join("frac.dcm");
    write_fractional_seg(&path, &[("prob", &prob)], &meta, 255).unwrap();
    let seg = read_seg(&path).unwrap();
    assert_eq!(
        seg.segmentation_type,
        SegmentationType::Fractional { max: 255 }
    );
    let back = seg
        .segment_mask(1, &g, Some(&meta.frame_of_reference_uid))
        .unwrap();
    // Thresholded at 0.5 of the maximum: the ball only.
    assert!(back.data == ball.data);
    assert!(back.count() > 0 && back.count() < gtv.count() + ball.count());
    std::fs::remove_dir_all(&dir).unwrap();
}
