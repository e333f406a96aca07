//! DICOM CT series assembly from up to three instance files.
//! The body is `ctrad_fuzz::dicom_series` (fuzz/src/lib.rs), shared with tests/fuzz_smoke.rs.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| ctrad_fuzz::dicom_series(data));
