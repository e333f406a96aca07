//! NIfTI header + data: single .nii files and .hdr/.img pairs.
//! The body is `ctrad_fuzz::nifti` (fuzz/src/lib.rs), shared with tests/fuzz_smoke.rs.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| ctrad_fuzz::nifti(data));
