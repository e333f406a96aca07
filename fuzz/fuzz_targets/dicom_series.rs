//! DICOM CT series assembly from up to three instance files.
#![no_main]
use ctrad::io::dicom::series::load_series;
use ctrad_fuzz::{put, split};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let files: Vec<_> = split(data, 3)
        .iter()
        .enumerate()
        .map(|(i, b)| put(&format!("slice{i}.dcm"), b))
        .collect();
    if let Ok((v, meta)) = load_series(&files) {
        assert_eq!(v.data.len(), v.geometry.len());
        assert_eq!(meta.slices.len(), v.geometry.dims[2]);
        assert!(
            v.geometry.spacing.iter().all(|s| s.is_finite() && *s > 0.0),
            "{:?}",
            v.geometry
        );
        assert!(
            v.geometry.origin.iter().all(|s| s.is_finite()),
            "{:?}",
            v.geometry
        );
    }
});
