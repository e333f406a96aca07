//! Bad input to the feature engine: each case is a typed error that names the
//! file and the reason — never a panic, never a number.

use ctrad::error::Error;
use ctrad::io::DataType;
use ctrad::params::Params;
use ctrad::volume::{Geometry, Volume};
use std::path::{Path, PathBuf};

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ctrad-bad-input-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn params(text: &str) -> Params {
    Params::from_yaml(text, Path::new("inline.yaml")).unwrap()
}

/// A 10×10×5 image with a 4×4×3 cube ROI of value 100 in 0-valued tissue.
fn write_pair(
    dir: &Path,
    image_geom: Geometry,
    mask_geom: Geometry,
    mask_value: f32,
) -> (PathBuf, PathBuf) {
    let mut image = Volume::filled(image_geom, 0.0f32);
    let mut mask = Volume::filled(mask_geom, 0.0f32);
    for z in 1..4 {
        for y in 3..7 {
            for x in 3..7 {
                image.set(x, y, z, 100.0 + (x + y + z) as f32);
                if x < mask.geometry.dims[0]
                    && y < mask.geometry.dims[1]
                    && z < mask.geometry.dims[2]
                {
                    mask.set(x, y, z, mask_value);
                }
            }
        }
    }
    let (ip, mp) = (dir.join("image.nii.gz"), dir.join("mask.nii.gz"));
    ctrad::io::nifti::write(&ip, &image, DataType::F32).unwrap();
    ctrad::io::nifti::write(&mp, &mask, DataType::U8).unwrap();
    (ip, mp)
}

fn run(ip: &Path, mp: &Path, p: &Params) -> Result<ctrad::pipeline::Extraction, Error> {
    let image = ctrad::io::read_volume(ip)?;
    let mask = ctrad::io::read_volume(mp)?.select(p.label);
    ctrad::pipeline::extract(image, mask, p, ip, mp)
}

fn grid() -> Geometry {
    Geometry::new([10, 10, 5], [1.0, 1.0, 2.0], [0.0, 0.0, 0.0])
}

#[test]
fn good_pair_extracts() {
    let d = temp_dir("good");
    let (ip, mp) = write_pair(&d, grid(), grid(), 1.0);
    let out = run(&ip, &mp, &params("setting:\n  binWidth: 5\n")).unwrap();
    assert_eq!(out.roi_voxels, 48);
}

#[test]
fn missing_file_names_the_file() {
    let d = temp_dir("missing");
    let (ip, _) = write_pair(&d, grid(), grid(), 1.0);
    let missing = d.join("nope.nii.gz");
    let e = run(&ip, &missing, &params("")).unwrap_err();
    assert!(matches!(e, Error::Io { .. }), "{e:?}");
    assert!(e.to_string().contains("nope.nii.gz"), "{e}");
}

#[test]
fn truncated_gzip_is_a_format_error() {
    let d = temp_dir("trunc");
    let (ip, mp) = write_pair(&d, grid(), grid(), 1.0);
    let bytes = std::fs::read(&ip).unwrap();
    std::fs::write(&ip, &bytes[..bytes.len() / 2]).unwrap();
    let e = run(&ip, &mp, &params("")).unwrap_err();
    assert!(matches!(e, Error::Format { .. }), "{e:?}");
    assert!(e.to_string().contains("image.nii.gz"), "{e}");
}

#[test]
fn size_mismatch_is_a_geometry_error() {
    let d = temp_dir("size");
    let mut g = grid();
    g.dims = [10, 9, 5];
    let (ip, mp) = write_pair(&d, grid(), g, 1.0);
    let e = run(&ip, &mp, &params("")).unwrap_err();
    assert!(matches!(e, Error::GeometryMismatch { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(
        msg.contains("mask.nii.gz") && msg.contains("image.nii.gz") && msg.contains("size"),
        "{msg}"
    );
}

#[test]
fn spacing_mismatch_is_a_geometry_error() {
    let d = temp_dir("spacing");
    let mut g = grid();
    g.spacing = [1.0, 1.0, 3.0];
    let (ip, mp) = write_pair(&d, grid(), g, 1.0);
    let e = run(&ip, &mp, &params("")).unwrap_err();
    assert!(matches!(e, Error::GeometryMismatch { .. }), "{e:?}");
    assert!(e.to_string().contains("spacing"), "{e}");
}

#[test]
fn mask_that_does_not_overlap_the_image_is_an_error() {
    let d = temp_dir("overlap");
    let mut g = grid();
    g.origin = [500.0, 0.0, 0.0];
    let (ip, mp) = write_pair(&d, grid(), g, 1.0);
    let e = run(&ip, &mp, &params("")).unwrap_err();
    assert!(matches!(e, Error::GeometryMismatch { .. }), "{e:?}");
    assert!(e.to_string().contains("origin"), "{e}");
}

#[test]
fn label_absent_from_the_mask_is_an_empty_roi() {
    let d = temp_dir("label");
    let (ip, mp) = write_pair(&d, grid(), grid(), 1.0);
    let e = run(&ip, &mp, &params("setting:\n  label: 7\n")).unwrap_err();
    assert!(matches!(e, Error::EmptyRoi(_)), "{e:?}");
    assert!(e.to_string().contains("mask.nii.gz"), "{e}");
}

#[test]
fn empty_roi_after_resegmentation() {
    let d = temp_dir("reseg");
    let (ip, mp) = write_pair(&d, grid(), grid(), 1.0);
    let e = run(
        &ip,
        &mp,
        &params("setting:\n  resegmentRange: [500, 600]\n"),
    )
    .unwrap_err();
    assert!(matches!(e, Error::EmptyRoi(_)), "{e:?}");
    assert!(e.to_string().contains("re-segmentation"), "{e}");
}

#[test]
fn nan_inside_the_roi_is_an_error() {
    let d = temp_dir("nan");
    let (ip, mp) = write_pair(&d, grid(), grid(), 1.0);
    let mut image = ctrad::io::read_volume(&ip).unwrap();
    image.set(4, 4, 2, f32::NAN);
    ctrad::io::nifti::write(&ip, &image, DataType::F32).unwrap();
    let e = run(&ip, &mp, &params("")).unwrap_err();
    assert!(matches!(e, Error::Format { .. }), "{e:?}");
    assert!(
        e.to_string().contains("image.nii.gz") && e.to_string().contains("finite"),
        "{e}"
    );
}
