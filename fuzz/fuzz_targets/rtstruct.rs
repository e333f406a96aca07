//! RTSTRUCT parsing and rasterisation of every ROI onto a fixed small grid.
#![no_main]
use ctrad::io::dicom::rtstruct::{rasterise_with_stats, read_rtstruct};
use ctrad_fuzz::{put, seed_geometry};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = put("rs.dcm", data);
    let Ok(rs) = read_rtstruct(&path) else { return };
    let geometry = seed_geometry();
    for roi in &rs.rois {
        let _ = rs.find_roi(&roi.name);
        for c in &roi.contours {
            assert!(
                c.points.iter().flatten().all(|v| v.is_finite()),
                "non-finite contour point"
            );
        }
        if let Ok((mask, stats)) = rasterise_with_stats(roi, &geometry, None, &path) {
            assert_eq!(mask.data.len(), geometry.len());
            if stats.used == 0 {
                assert_eq!(mask.count(), 0);
            }
        }
    }
});
