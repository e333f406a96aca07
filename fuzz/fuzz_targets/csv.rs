//! Clinical/feature tables (Polars CSV reader) and batch manifests.
//! The body is `ctrad_fuzz::csv` (fuzz/src/lib.rs), shared with tests/fuzz_smoke.rs.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| ctrad_fuzz::csv(data));
