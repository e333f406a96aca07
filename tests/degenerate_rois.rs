//! Degenerate but legal ROIs through `pipeline::extract` with every family
//! and every texture dimensionality: never a panic, every value finite or NaN
//! (never ±Inf), and the IBSI-defined values where they are defined.

mod common;

use common::fixtures::params;
use ctrad::volume::{Geometry, Mask, Volume};
use std::path::Path;

/// All families (featureClass omitted), all texture dimensionalities.
const ALL: &str = "setting:\n  binWidth: 25\n  textureDimensionality: [2D, 2_5D, 3D]\n";

fn grid() -> Geometry {
    Geometry::new([10, 10, 6], [0.8, 0.8, 2.0], [0.0, 0.0, 0.0])
}

/// Extract with all families; check no value is infinite; return a lookup.
fn run(image: Volume<f32>, mask: Mask, yaml: &str) -> impl Fn(&str) -> f64 {
    let n = mask.count();
    let out = ctrad::pipeline::extract(
        image,
        mask,
        &params(yaml),
        Path::new("image"),
        Path::new("mask"),
    )
    .unwrap_or_else(|e| panic!("extraction failed: {e}"));
    assert_eq!(out.roi_voxels, n);
    let inf: Vec<_> = out
        .features
        .iter()
        .filter(|(_, v)| v.is_infinite())
        .collect();
    assert!(inf.is_empty(), "infinite values: {inf:?}");
    // Every family produced something.
    for fam in [
        "morph_", "loc_", "stat_", "ih_", "ivh_", "cm_", "rlm_", "szm_", "dzm_", "ngt_", "ngl_",
    ] {
        assert!(
            out.features.iter().any(|(k, _)| k.starts_with(fam)),
            "no {fam} features"
        );
    }
    // Every texture dimensionality too.
    for dim in ["_2D", "_2_5D", "_3D"] {
        assert!(
            out.features
                .iter()
                .any(|(k, _)| k.starts_with("cm_") && k.contains(dim)),
            "no cm {dim}"
        );
    }
    let features = out.features;
    move |tag: &str| {
        features
            .iter()
            .find(|(k, _)| k == tag)
            .unwrap_or_else(|| panic!("no feature {tag}"))
            .1
    }
}

/// Image with distinct values (a gradient) and a mask of the voxels `inside`.
fn case(
    inside: impl Fn(usize, usize, usize) -> bool,
    value: impl Fn(usize, usize, usize) -> f32,
) -> (Volume<f32>, Mask) {
    let g = grid();
    let mut image = Volume::filled(g.clone(), -1000.0f32);
    let mut mask = Volume::filled(g.clone(), false);
    for i in 0..g.len() {
        let [x, y, z] = g.coords(i);
        if inside(x, y, z) {
            mask.data[i] = true;
            image.data[i] = value(x, y, z);
        }
    }
    (image, mask)
}

fn voxel_volume() -> f64 {
    0.8 * 0.8 * 2.0
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * b.abs().max(1.0)
}

fn cube(x: usize, y: usize, z: usize) -> bool {
    (2..6).contains(&x) && (3..7).contains(&y) && (1..4).contains(&z)
}

#[test]
fn constant_intensity() {
    let (image, mask) = case(cube, |_, _, _| 40.0);
    let f = run(image, mask, ALL);
    assert_eq!(f("stat_var"), 0.0);
    assert_eq!(f("stat_range"), 0.0);
    assert_eq!(f("ih_entropy"), 0.0);
    assert_eq!(f("ih_var"), 0.0);
    assert_eq!(f("stat_mean"), 40.0);
    assert!(close(f("morph_vol_approx"), 48.0 * voxel_volume()));
}

#[test]
fn one_grey_level_after_discretisation() {
    // Values 40..=47 all fall in one 25 HU bin.
    let (image, mask) = case(cube, |x, y, z| 40.0 + ((x + y + z) % 8) as f32);
    let f = run(image, mask, ALL);
    assert!(f("stat_var") > 0.0);
    assert_eq!(f("ih_entropy"), 0.0);
    assert_eq!(f("ih_var"), 0.0);
    // One grey level: the co-occurrence matrix has one entry, joint entropy 0.
    assert_eq!(f("cm_joint_entr_3D_avg"), 0.0);
}

#[test]
fn single_slice() {
    let (image, mask) = case(
        |x, y, z| cube(x, y, 2) && z == 2,
        |x, y, _| (x * 10 + y * 3) as f32,
    );
    let f = run(image, mask, ALL);
    assert!(close(f("morph_vol_approx"), 16.0 * voxel_volume()));
}

#[test]
fn flat_two_voxels_thick() {
    let (image, mask) = case(
        |x, y, z| (1..9).contains(&x) && (1..9).contains(&y) && (2..4).contains(&z),
        |x, y, z| (x * 17 + y * 5 + z * 31) as f32,
    );
    let f = run(image, mask, ALL);
    assert!(close(f("morph_vol_approx"), 128.0 * voxel_volume()));
}

#[test]
fn single_voxel() {
    let (image, mask) = case(|x, y, z| (x, y, z) == (4, 4, 3), |_, _, _| 55.0);
    let f = run(image, mask, ALL);
    assert_eq!(f("stat_var"), 0.0);
    assert_eq!(f("stat_mean"), 55.0);
    assert_eq!(f("ih_entropy"), 0.0);
    assert!(close(f("morph_vol_approx"), voxel_volume()));
}

#[test]
fn single_voxel_with_resampling_and_fixed_bin_number() {
    let (image, mask) = case(|x, y, z| (x, y, z) == (4, 4, 3), |_, _, _| 55.0);
    let yaml = "setting:\n  binCount: 16\n  resampledPixelSpacing: [1, 1, 1]\n  interpolator: sitkLinear\n  \
                textureDimensionality: [2D, 2_5D, 3D]\n";
    let ctrad_result = ctrad::pipeline::extract(
        image,
        mask,
        &params(yaml),
        Path::new("image"),
        Path::new("mask"),
    );
    // Interpolation may leave no voxel in the mask; that is an EmptyRoi error, not a panic.
    match ctrad_result {
        Ok(out) => {
            let inf: Vec<_> = out
                .features
                .iter()
                .filter(|(_, v)| v.is_infinite())
                .collect();
            assert!(inf.is_empty(), "infinite values: {inf:?}");
        }
        Err(e) => assert!(matches!(e, ctrad::Error::EmptyRoi(_)), "{e:?}"),
    }
}

#[test]
fn extreme_but_finite_intensities_give_no_infinity() {
    // f32 values near the top of the range (6e38 HU apart): moments are formed in
    // f64 and the IVH (one bin per HU) is too wide to build, so NaN there, never ±Inf.
    let (image, mask) = case(cube, |x, y, z| {
        if (x + y + z) % 2 == 0 {
            3.0e38
        } else {
            -3.0e38
        }
    });
    let out = ctrad::pipeline::extract(
        image,
        mask,
        &params("setting:\n  binCount: 8\n"),
        Path::new("image"),
        Path::new("mask"),
    );
    match out {
        Ok(out) => {
            let inf: Vec<_> = out
                .features
                .iter()
                .filter(|(_, v)| v.is_infinite())
                .collect();
            assert!(inf.is_empty(), "infinite values: {inf:?}");
        }
        Err(e) => panic!("{e}"),
    }
}
