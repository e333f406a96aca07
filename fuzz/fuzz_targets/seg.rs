//! DICOM SEG reading and frame-to-slice mapping of every segment.
#![no_main]
use ctrad::io::dicom::seg::read_seg;
use ctrad_fuzz::{put, seed_geometry};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = put("seg.dcm", data);
    let Ok(seg) = read_seg(&path) else { return };
    let geometry = seed_geometry();
    for s in &seg.segments {
        let _ = seg.find_segment(&s.label);
        if let Ok(mask) = seg.segment_mask(s.number, &geometry, Some(&seg.frame_of_reference_uid)) {
            assert_eq!(mask.data.len(), geometry.len());
        }
    }
});
