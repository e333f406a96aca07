//! NIfTI header + data: single `.nii` files and `.hdr`/`.img` pairs.
#![no_main]
use ctrad::io::{nifti, ReadLimits};
use ctrad_fuzz::{put, remove, split, MAX_VOXELS};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = ReadLimits {
        max_voxels: MAX_VOXELS,
    };
    let parts = split(data, 2);
    let path = if parts.len() == 2 {
        put("pair.img", parts[1]);
        put("pair.hdr", parts[0])
    } else {
        remove("pair.img");
        put("single.nii", parts[0])
    };
    if let Ok(v) = nifti::read_with(&path, &limits) {
        assert_eq!(v.data.len(), v.geometry.len());
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
        assert!(
            v.geometry.direction.iter().flatten().all(|s| s.is_finite()),
            "{:?}",
            v.geometry
        );
    }
});
