//! DICOM SEG reading and frame-to-slice mapping of every segment.
//! The body is `ctrad_fuzz::seg` (fuzz/src/lib.rs), shared with tests/fuzz_smoke.rs.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| ctrad_fuzz::seg(data));
