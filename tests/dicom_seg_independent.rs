//! A DICOM SEG written by an independent tool (highdicom; see
//! `scripts/make_highdicom_seg.py`) read onto its source series: both segments
//! must equal the analytic masks the script drew.

use ctrad::io::dicom::{seg, series};
use std::path::PathBuf;

#[test]
fn highdicom_seg_maps_onto_the_source_series() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let (image, meta) =
        series::read_series_dir(&root.join("testdata/studies/SYNTH_PANNET_001/ct_4"), None)
            .unwrap();
    let s = seg::read_seg(&root.join("testdata/seg_highdicom/synth_pv_seg.dcm")).unwrap();
    assert_eq!(
        s.referenced_series_uids,
        vec![meta.series_instance_uid.clone()]
    );
    let g = &image.geometry;
    let [dx, dy, dz] = g.spacing;
    let sphere = |x: usize, y: usize, z: usize| {
        let (fx, fy, fz) = (
            (x as f64 - 20.0) * dx,
            (y as f64 - 20.0) * dy,
            (z as f64 - 6.0) * dz,
        );
        fx * fx + fy * fy + fz * fz <= 36.0
    };
    let boxed = |x: usize, y: usize, z: usize| {
        (5..=12).contains(&x) && (25..=33).contains(&y) && (3..=5).contains(&z)
    };
    for (label, inside) in [
        ("Sphere", &sphere as &dyn Fn(usize, usize, usize) -> bool),
        ("Box", &boxed),
    ] {
        let segment = s.find_segment(label).unwrap();
        let mask = s
            .segment_mask(segment.number, g, Some(&meta.frame_of_reference_uid))
            .unwrap();
        let mut expected = 0;
        for z in 0..g.dims[2] {
            for y in 0..g.dims[1] {
                for x in 0..g.dims[0] {
                    let want = inside(x, y, z);
                    expected += want as usize;
                    assert_eq!(mask.get(x, y, z), want, "{label} at ({x}, {y}, {z})");
                }
            }
        }
        assert_eq!(mask.count(), expected);
        assert!(expected > 0);
    }
    // Segment chosen by number as well as by label.
    assert_eq!(s.find_segment("2").unwrap().label, "Box");
}
