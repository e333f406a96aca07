//! NRRD header + data: attached .nrrd and detached .nhdr + data.raw.
//! The body is `ctrad_fuzz::nrrd` (fuzz/src/lib.rs), shared with tests/fuzz_smoke.rs.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| ctrad_fuzz::nrrd(data));
