//! RTSTRUCT parsing and rasterisation of every ROI onto a fixed small grid.
//! The body is `ctrad_fuzz::rtstruct` (fuzz/src/lib.rs), shared with tests/fuzz_smoke.rs.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| ctrad_fuzz::rtstruct(data));
