//! ctrad: CT radiomics computed exactly as the IBSI reference manuals define them.
//!
//! Data flows one way through the layers, and a module only uses the ones
//! before it (checked by `tests/layers.rs`):
//!
//! 1. [`error`], [`hash`], [`parallel`], [`volume`] — the shared vocabulary:
//!    typed errors, digests, threads, voxel grids with geometry;
//! 2. [`io`] — NIfTI, NRRD and DICOM (series, RTSTRUCT, SEG) into volumes;
//!    [`inputs`] picks the reader for an image or mask;
//! 3. [`roi`], [`preprocess`] — the IBSI image chain: interpolation,
//!    re-segmentation, discretisation; [`cross_phase`] — a segmentation of
//!    one series carried to another (mapped, registered);
//! 4. [`filters`] — IBSI 2 convolutional filters (response maps);
//! 5. [`features`] — one module per IBSI feature family;
//! 6. [`params`] — parameter files; [`compat`], [`naming`] — PyRadiomics'
//!    conventions and names;
//! 7. [`pipeline`] — the chain for one image and ROI; [`study`] — what a
//!    study folder holds;
//! 8. [`table`] — feature tables (CSV, Parquet) and the files beside them;
//! 9. [`batch`], [`merge`] — studies folders, shards, merged tables;
//!    [`report`] — the HTML report of a studies folder and its table
//!    (overlays, phases, ROI checks, cohort plots);
//! 10. the command-line interface (`src/cli/`, not part of the library).
//!
//! [`model`] and [`enhancement`] are an island that reads tables. The
//! test-data writers (`synth`, `io::dicom::write`, `io::dicom::seg_write`)
//! sit behind the `testdata` feature, for tests, examples and benches.

pub mod batch;
pub mod compat;
pub mod cross_phase;
pub mod enhancement;
pub mod error;
pub mod features;
pub mod filters;
pub mod hash;
pub mod inputs;
pub mod io;
pub mod merge;
pub mod model;
pub mod naming;
pub mod parallel;
pub mod params;
pub mod pipeline;
pub mod preprocess;
pub mod report;
pub mod roi;
pub mod study;
#[cfg(feature = "testdata")]
pub mod synth;
pub mod table;
pub mod volume;

pub use error::{Error, Result};

/// The ctrad version recorded in every output row.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
