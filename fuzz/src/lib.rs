//! Helpers shared by the fuzz targets: inputs are written to files in a
//! per-process scratch folder, because ctrad's readers take paths.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Separator between the files packed into one fuzz input.
pub const SPLIT: &[u8] = b"--ctrad-fuzz-split--";

/// Voxel cap used by the targets: large enough for every seed, small enough
/// that a legitimate-but-big header cannot exhaust the fuzzer's memory.
pub const MAX_VOXELS: usize = 1 << 22;

/// The scratch folder of this process (in /dev/shm when available).
pub fn scratch() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let base = Path::new("/dev/shm");
        let base = if base.is_dir() {
            base.to_path_buf()
        } else {
            std::env::temp_dir()
        };
        let d = base.join(format!("ctrad-fuzz-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("scratch folder");
        // The voxel cap applies to the readers that consult the environment (DICOM).
        std::env::set_var("CTRAD_MAX_VOXELS", MAX_VOXELS.to_string());
        d
    })
}

/// Write `bytes` to `name` in the scratch folder and return its path.
pub fn put(name: &str, bytes: &[u8]) -> PathBuf {
    let p = scratch().join(name);
    std::fs::write(&p, bytes).expect("write scratch file");
    p
}

/// Remove `name` from the scratch folder if present.
pub fn remove(name: &str) {
    let _ = std::fs::remove_file(scratch().join(name));
}

/// Split `data` at every [`SPLIT`] (at most `max` parts; the last keeps the rest).
pub fn split(data: &[u8], max: usize) -> Vec<&[u8]> {
    let mut parts = Vec::new();
    let mut rest = data;
    while parts.len() + 1 < max {
        match rest.windows(SPLIT.len()).position(|w| w == SPLIT) {
            Some(i) => {
                parts.push(&rest[..i]);
                rest = &rest[i + SPLIT.len()..];
            }
            None => break,
        }
    }
    parts.push(rest);
    parts
}

/// The grid the contour and segmentation targets rasterise onto: the tiny CT
/// of the seeds (`tiny_grid` in tests/common/fixtures.rs), so seeds reach the
/// fill and frame-placement code.
pub fn seed_geometry() -> ctrad::volume::Geometry {
    ctrad::volume::Geometry::new([8, 8, 4], [1.0, 1.0, 2.0], [-4.0, -4.0, 10.0])
}

/// Check that every value of an extraction is finite or NaN (never ±Inf from
/// a reader's silently wrong input) — used by targets that run the pipeline.
pub fn assert_no_inf(features: &[(String, f64)]) {
    for (k, v) in features {
        assert!(!v.is_infinite(), "{k} = {v}");
    }
}
