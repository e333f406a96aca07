//! Parameter YAML, then the whole pipeline on a tiny image.
//! The body is `ctrad_fuzz::params` (fuzz/src/lib.rs), shared with tests/fuzz_smoke.rs.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| ctrad_fuzz::params(data));
