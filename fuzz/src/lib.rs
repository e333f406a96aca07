//! The fuzz targets' bodies, one plain function per target, plus helpers.
//!
//! Inputs are written to files in a per-process scratch folder, because
//! ctrad's readers take paths. This file depends only on std and ctrad: the
//! libFuzzer binaries in fuzz_targets/ call these functions, and the main
//! crate's `tests/fuzz_smoke.rs` includes this file (`#[path]`) to replay the
//! seeds and regressions and run a short deterministic mutation loop in CI.
//!
//! Every function returns normally on any input; a panic (a failed
//! assertion here or a panic inside a reader) is the finding.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Separator between the files packed into one fuzz input.
pub const SPLIT: &[u8] = b"--ctrad-fuzz-split--";

/// Voxel cap used by the targets: large enough for every seed, small enough
/// that a legitimate-but-big header cannot exhaust the fuzzer's memory.
pub const MAX_VOXELS: usize = 1 << 22;

/// The targets, in the order of fuzz/README.md.
pub const TARGETS: [&str; 7] = [
    "nifti",
    "nrrd",
    "dicom_series",
    "rtstruct",
    "seg",
    "params",
    "csv",
];

/// Run target `name` on `data`; `false` when there is no such target.
pub fn run(name: &str, data: &[u8]) -> bool {
    match name {
        "nifti" => nifti(data),
        "nrrd" => nrrd(data),
        "dicom_series" => dicom_series(data),
        "rtstruct" => rtstruct(data),
        "seg" => seg(data),
        "params" => params(data),
        "csv" => csv(data),
        _ => return false,
    }
    true
}

/// The scratch folder of this process (in /dev/shm when available). The
/// first call also sets the DICOM voxel cap (`CTRAD_MAX_VOXELS`).
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

/// The scratch sub-folder of target `t` (targets may run on parallel threads).
fn dir(t: &str) -> PathBuf {
    let d = scratch().join(t);
    if !d.is_dir() {
        std::fs::create_dir_all(&d).expect("target scratch folder");
    }
    d
}

/// Write `bytes` to `name` in the scratch folder of target `t`; return its path.
pub fn put(t: &str, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir(t).join(name);
    std::fs::write(&p, bytes).expect("write scratch file");
    p
}

/// Remove `name` from the scratch folder of target `t` if present.
pub fn remove(t: &str, name: &str) {
    let _ = std::fs::remove_file(dir(t).join(name));
}

/// Remove the scratch folder of target `t`, and the process's scratch
/// folder once no target uses it.
pub fn cleanup(t: &str) {
    let _ = std::fs::remove_dir_all(scratch().join(t));
    let _ = std::fs::remove_dir(scratch());
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

/// A read volume is self-consistent: data fills the grid, geometry is finite.
fn assert_sane_volume<T>(v: &ctrad::volume::Volume<T>) {
    let g = &v.geometry;
    assert_eq!(v.data.len(), g.len());
    assert!(g.spacing.iter().all(|s| s.is_finite() && *s > 0.0), "{g:?}");
    assert!(g.origin.iter().all(|s| s.is_finite()), "{g:?}");
    assert!(g.direction.iter().flatten().all(|s| s.is_finite()), "{g:?}");
}

/// NIfTI header + data: single `.nii` files and `.hdr`/`.img` pairs (an
/// input holding [`SPLIT`] is a pair).
pub fn nifti(data: &[u8]) {
    use ctrad::io::{nifti, ReadLimits};
    let limits = ReadLimits {
        max_voxels: MAX_VOXELS,
    };
    let parts = split(data, 2);
    let path = if parts.len() == 2 {
        put("nifti", "pair.img", parts[1]);
        put("nifti", "pair.hdr", parts[0])
    } else {
        remove("nifti", "pair.img");
        put("nifti", "single.nii", parts[0])
    };
    if let Ok(v) = nifti::read_with(&path, &limits) {
        assert_sane_volume(&v);
    }
    // The label-mask reader (8-bit masks are made in the read buffer itself).
    for label in [None, Some(1)] {
        if let Ok(m) = nifti::read_mask_with(&path, &limits, label) {
            assert_sane_volume(&m);
        }
    }
}

/// NRRD header + data: attached `.nrrd` files and detached `.nhdr` headers
/// (the second part of the input is the file `data.raw`).
pub fn nrrd(data: &[u8]) {
    use ctrad::io::{nrrd, ReadLimits};
    let limits = ReadLimits {
        max_voxels: MAX_VOXELS,
    };
    let parts = split(data, 2);
    let path = if parts.len() == 2 {
        put("nrrd", "data.raw", parts[1]);
        put("nrrd", "detached.nhdr", parts[0])
    } else {
        remove("nrrd", "data.raw");
        put("nrrd", "attached.nrrd", parts[0])
    };
    if let Ok(v) = nrrd::read_with(&path, &limits) {
        assert_sane_volume(&v);
    }
}

/// DICOM CT series assembly from up to three instance files.
pub fn dicom_series(data: &[u8]) {
    let files: Vec<_> = split(data, 3)
        .iter()
        .enumerate()
        .map(|(i, b)| put("dicom_series", &format!("slice{i}.dcm"), b))
        .collect();
    if let Ok((v, meta)) = ctrad::io::dicom::series::load_series(&files) {
        assert_eq!(meta.slices.len(), v.geometry.dims[2]);
        assert_sane_volume(&v);
    }
}

/// RTSTRUCT parsing and rasterisation of every ROI onto a fixed small grid.
pub fn rtstruct(data: &[u8]) {
    use ctrad::io::dicom::rtstruct::{rasterise_with_stats, read_rtstruct};
    let path = put("rtstruct", "rs.dcm", data);
    let Ok(rs) = read_rtstruct(&path) else { return };
    let geometry = seed_geometry();
    for roi in &rs.rois {
        let _ = rs.find_roi(&roi.name);
        for c in &roi.contours {
            assert!(
                c.points.iter().flatten().all(|v| v.is_finite()),
                "non-finite contour point"
            );
        }
        if let Ok((mask, stats)) = rasterise_with_stats(roi, &geometry, None, &path) {
            assert_eq!(mask.data.len(), geometry.len());
            if stats.used == 0 {
                assert_eq!(mask.count(), 0);
            }
        }
    }
}

/// DICOM SEG reading and frame-to-slice mapping of every segment.
pub fn seg(data: &[u8]) {
    use ctrad::io::dicom::seg::read_seg;
    let path = put("seg", "seg.dcm", data);
    let Ok(seg) = read_seg(&path) else { return };
    let geometry = seed_geometry();
    for s in &seg.segments {
        let _ = seg.find_segment(&s.label);
        if let Ok(mask) = seg.segment_mask(s.number, &geometry, Some(&seg.frame_of_reference_uid)) {
            assert_eq!(mask.data.len(), geometry.len());
        }
    }
}

/// The parameter YAML; valid parameter sets are then run through the whole
/// pipeline on a tiny image, since parameters steer allocations (resampled
/// grid, number of bins).
pub fn params(data: &[u8]) {
    use ctrad::params::Params;
    use ctrad::volume::{Geometry, Volume};
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(p) = Params::from_yaml(text, Path::new("fuzz.yaml")) else {
        return;
    };
    let g = Geometry::new([6, 5, 4], [1.0, 1.2, 2.0], [0.0, 0.0, 0.0]);
    let mut image = Volume::filled(g.clone(), -50.0f32);
    let mut mask = Volume::filled(g, false);
    for z in 1..3 {
        for y in 1..4 {
            for x in 1..5 {
                image.set(x, y, z, (x * 7 + y * 13 + z * 29) as f32);
                mask.set(x, y, z, true);
            }
        }
    }
    if let Ok(out) = ctrad::pipeline::extract(image, mask, &p, Path::new("img"), Path::new("mask"))
    {
        assert_no_inf(&out.features);
    }
}

/// Clinical / feature tables (`model::data::read_table`, Polars' CSV reader)
/// and batch manifests (`batch::cases_from_manifest`) from the same bytes.
pub fn csv(data: &[u8]) {
    let path = put("csv", "table.csv", data);
    if let Ok(t) = ctrad::model::data::read_table(&path) {
        assert_eq!(t.names.len(), t.columns.len());
        for c in &t.columns {
            assert_eq!(c.len(), t.nrows);
        }
        for i in 0..t.nrows {
            for c in &t.columns {
                let _ = c.label(i);
            }
        }
        if let Ok(df) = t.to_dataframe() {
            assert_eq!(df.height(), t.nrows);
        }
    }
    let path = put("csv", "manifest.csv", data);
    if let Ok(cases) = ctrad::batch::cases_from_manifest(&path) {
        for c in &cases {
            assert!(!c.id.is_empty());
        }
    }
}
