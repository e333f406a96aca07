//! IBSI 1 image-processing diagnostics (the `diag` rows of configs A–E) on the
//! CT radiomics phantom, plus analytic checks of interpolation.

mod common;

use ctrad::preprocess::resample::{
    aligned_grid, resample_image, resample_mask, round_intensities, Interpolator,
};
use ctrad::preprocess::resegment::resegment;
use ctrad::volume::{Geometry, Mask, Volume};
use std::collections::BTreeMap;

/// Processing settings of one IBSI configuration (see CONFIGS.md).
struct Config {
    name: &'static str,
    /// New in-plane / 3D spacing; `None` = no interpolation. A `None` z entry
    /// keeps the original slice spacing (in-plane interpolation only).
    spacing: Option<[Option<f64>; 3]>,
    image_interp: Interpolator,
    range: Option<(f64, f64)>,
    outlier_sigma: Option<f64>,
}

const CONFIGS: [Config; 5] = [
    Config {
        name: "A",
        spacing: None,
        image_interp: Interpolator::Linear,
        range: Some((-500.0, 400.0)),
        outlier_sigma: None,
    },
    Config {
        name: "B",
        spacing: Some([Some(2.0), Some(2.0), None]),
        image_interp: Interpolator::Linear,
        range: Some((-500.0, 400.0)),
        outlier_sigma: None,
    },
    Config {
        name: "C",
        spacing: Some([Some(2.0); 3]),
        image_interp: Interpolator::Linear,
        range: Some((-1000.0, 400.0)),
        outlier_sigma: None,
    },
    Config {
        name: "D",
        spacing: Some([Some(2.0); 3]),
        image_interp: Interpolator::Linear,
        range: None,
        outlier_sigma: Some(3.0),
    },
    Config {
        name: "E",
        spacing: Some([Some(2.0); 3]),
        image_interp: Interpolator::CubicSpline,
        range: Some((-1000.0, 400.0)),
        outlier_sigma: Some(3.0),
    },
];

fn image_stats(image: &Volume<f32>, mask: Option<&Mask>) -> (f64, f64, f64) {
    let (mut sum, mut n, mut lo, mut hi) = (0.0f64, 0usize, f64::INFINITY, f64::NEG_INFINITY);
    for (i, &v) in image.data.iter().enumerate() {
        if mask.is_some_and(|m| !m.data[i]) {
            continue;
        }
        let v = v as f64;
        sum += v;
        n += 1;
        lo = lo.min(v);
        hi = hi.max(v);
    }
    (sum / n as f64, lo, hi)
}

fn bb_dims(mask: &Mask) -> [f64; 3] {
    let (lo, hi) = mask.bounding_box().expect("non-empty mask");
    [0, 1, 2].map(|a| (hi[a] - lo[a] + 1) as f64)
}

/// Image diagnostics with suffix `img` stage (e.g. `init_img`).
fn diag_image(out: &mut BTreeMap<String, f64>, stage: &str, image: &Volume<f32>) {
    let (mean, lo, hi) = image_stats(image, None);
    for (a, ax) in ["x", "y", "z"].iter().enumerate() {
        out.insert(
            format!("img_dim_{ax}_{stage}"),
            image.geometry.dims[a] as f64,
        );
        out.insert(format!("vox_dim_{ax}_{stage}"), image.geometry.spacing[a]);
    }
    out.insert(format!("mean_int_{stage}"), mean);
    out.insert(format!("min_int_{stage}"), lo);
    out.insert(format!("max_int_{stage}"), hi);
}

/// ROI diagnostics for a stage (`init_roi`, `interp_roi`, `reseg_roi`).
fn diag_roi(
    out: &mut BTreeMap<String, f64>,
    stage: &str,
    image: &Volume<f32>,
    morph: &Mask,
    int: &Mask,
) {
    let ib = bb_dims(int);
    let mb = bb_dims(morph);
    for (a, ax) in ["x", "y", "z"].iter().enumerate() {
        out.insert(
            format!("int_mask_dim_{ax}_{stage}"),
            int.geometry.dims[a] as f64,
        );
        out.insert(format!("int_mask_bb_dim_{ax}_{stage}"), ib[a]);
        out.insert(format!("morph_mask_bb_dim_{ax}_{stage}"), mb[a]);
    }
    out.insert(format!("int_mask_vox_count_{stage}"), int.count() as f64);
    out.insert(
        format!("morph_mask_vox_count_{stage}"),
        morph.count() as f64,
    );
    let (mean, lo, hi) = image_stats(image, Some(int));
    out.insert(format!("int_mask_mean_int_{stage}"), mean);
    out.insert(format!("int_mask_min_int_{stage}"), lo);
    out.insert(format!("int_mask_max_int_{stage}"), hi);
}

/// Run the processing chain of `cfg` and collect every diagnostic value.
fn run_config(image0: &Volume<f32>, mask0: &Mask, cfg: &Config) -> BTreeMap<String, f64> {
    let mut d = BTreeMap::new();
    diag_image(&mut d, "init_img", image0);
    diag_roi(&mut d, "init_roi", image0, mask0, mask0);

    let (image, mask) = match cfg.spacing {
        None => (image0.clone(), mask0.clone()),
        Some(sp) => {
            let g = &image0.geometry;
            let spacing = [0, 1, 2].map(|a| sp[a].unwrap_or(g.spacing[a]));
            let target = aligned_grid(g, spacing);
            let t0 = std::time::Instant::now();
            let mut image = resample_image(image0, &target, cfg.image_interp);
            let t_img = t0.elapsed();
            round_intensities(&mut image);
            let t1 = std::time::Instant::now();
            let mask = resample_mask(mask0, &target, Interpolator::Linear, 0.5);
            eprintln!(
                "config {}: image resampling {:?}, mask resampling {:?}",
                cfg.name,
                t_img,
                t1.elapsed()
            );
            (image, mask)
        }
    };
    diag_image(&mut d, "interp_img", &image);
    diag_roi(&mut d, "interp_roi", &image, &mask, &mask);

    let int = resegment(&image, &mask, cfg.range, cfg.outlier_sigma);
    diag_roi(&mut d, "reseg_roi", &image, &mask, &int);
    d
}

#[test]
fn ct_phantom_diagnostics_match_ibsi_configs_a_to_e() {
    let Some(td) = common::shared_testdata() else {
        return;
    };
    let dir = td.join("ibsi1/ct_phantom/nifti");
    let mut image = ctrad::io::read_volume(&dir.join("phantom.nii.gz")).unwrap();
    // IBSI: CT intensities are rounded to integers before processing.
    round_intensities(&mut image);
    let mask = ctrad::io::read_volume(&dir.join("mask.nii.gz"))
        .unwrap()
        .select(None);

    let mut all_failures = Vec::new();
    for cfg in &CONFIGS {
        let refs = common::reference_values(&td, cfg.name);
        let values = run_config(&image, &mask, cfg);
        let (counts, failures) = common::compare(&refs, &values, &["diag"]);
        let (ok, total) = counts.get("diag").copied().unwrap_or((0, 0));
        eprintln!("config {}: diag matched {ok}/{total}", cfg.name);
        let tags = [
            "mean_int_interp_img",
            "min_int_interp_img",
            "max_int_interp_img",
            "int_mask_vox_count_interp_roi",
            "int_mask_mean_int_interp_roi",
            "int_mask_min_int_interp_roi",
            "int_mask_max_int_interp_roi",
            "int_mask_vox_count_reseg_roi",
            "int_mask_mean_int_reseg_roi",
            "int_mask_min_int_reseg_roi",
            "int_mask_max_int_reseg_roi",
        ];
        for key in tags {
            let r = &refs[key];
            eprintln!(
                "  {key}: {:.2} (reference {} ± {})",
                values[key], r.value, r.tolerance
            );
        }
        for f in &failures {
            eprintln!("  MISMATCH {f}");
        }
        assert_eq!(total, 60, "config {} should have 60 diag rows", cfg.name);
        all_failures.extend(failures.into_iter().map(|f| format!("{}: {f}", cfg.name)));
    }
    assert!(
        all_failures.is_empty(),
        "diag mismatches:\n{}",
        all_failures.join("\n")
    );
}

// ---------------------------------------------------------------------------
// Analytic checks.

fn ramp(dims: [usize; 3], spacing: [f64; 3], f: impl Fn(f64, f64, f64) -> f64) -> Volume<f32> {
    let g = Geometry::new(dims, spacing, [0.0; 3]);
    let mut data = Vec::with_capacity(g.len());
    for z in 0..dims[2] {
        for y in 0..dims[1] {
            for x in 0..dims[0] {
                data.push(f(x as f64, y as f64, z as f64) as f32);
            }
        }
    }
    Volume::from_vec(g, data).unwrap()
}

#[test]
fn aligned_grid_follows_the_ibsi_rule() {
    let g = Geometry::new([204, 201, 60], [0.977, 0.977, 3.0], [10.0, -20.0, 30.0]);
    let t = aligned_grid(&g, [2.0, 2.0, 2.0]);
    assert_eq!(t.dims, [100, 99, 90]);
    assert_eq!(t.spacing, [2.0, 2.0, 2.0]);
    // Centres coincide.
    let c_old = g.index_to_world([101.5, 100.0, 29.5]);
    let c_new = t.index_to_world([49.5, 49.0, 44.5]);
    for a in 0..3 {
        assert!(
            (c_old[a] - c_new[a]).abs() < 1e-9,
            "axis {a}: {c_old:?} vs {c_new:?}"
        );
    }
    // In-plane only: z untouched.
    let b = aligned_grid(&g, [2.0, 2.0, 3.0]);
    assert_eq!(b.dims, [100, 99, 60]);
    assert_eq!(b.origin[2], 30.0);
    // n · s_old / s_new lands on an integer up to float noise: no extra voxel.
    let g = Geometry::new([10, 10, 10], [0.1, 0.3, 0.7], [0.0; 3]);
    assert_eq!(aligned_grid(&g, [0.2, 0.1, 0.1]).dims, [5, 30, 70]);
    // Direction cosines are respected: a flipped x axis shifts the origin the other way.
    let mut flipped = Geometry::new([4, 1, 1], [1.0, 1.0, 1.0], [0.0; 3]);
    flipped.direction[0][0] = -1.0;
    let f = aligned_grid(&flipped, [2.0, 1.0, 1.0]);
    assert_eq!(f.dims, [2, 1, 1]);
    assert!((f.origin[0] + 0.5).abs() < 1e-12);
}

#[test]
fn linear_and_cubic_reproduce_a_linear_ramp_away_from_borders() {
    let f = |x: f64, y: f64, z: f64| 3.0 * x - 2.0 * y + 5.0 * z + 7.0;
    let img = ramp([30, 28, 26], [1.0, 1.0, 1.0], f);
    let target = aligned_grid(&img.geometry, [0.7, 1.3, 0.9]);
    for interp in [Interpolator::Linear, Interpolator::CubicSpline] {
        let out = resample_image(&img, &target, interp);
        // Linear is exact inside the grid; the cubic spline feels the edge
        // padding (a slope break) with weight |√3 − 2|^d at d voxels from it.
        let margin = if interp == Interpolator::Linear {
            0.0
        } else {
            8.0
        };
        let mut checked = 0;
        for z in 0..target.dims[2] {
            for y in 0..target.dims[1] {
                for x in 0..target.dims[0] {
                    let w = target.index_to_world([x as f64, y as f64, z as f64]);
                    let p = img.geometry.world_to_index(w);
                    if p.iter()
                        .zip(img.geometry.dims)
                        .any(|(&v, n)| v < margin || v > n as f64 - 1.0 - margin)
                    {
                        continue;
                    }
                    let expect = f(p[0], p[1], p[2]);
                    let got = out.get(x, y, z) as f64;
                    assert!(
                        (got - expect).abs() < 1e-3 * expect.abs().max(1.0),
                        "{interp:?} at {p:?}: {got} vs {expect}"
                    );
                    checked += 1;
                }
            }
        }
        assert!(checked > 1000);
    }
}

#[test]
fn constant_image_stays_constant_everywhere() {
    let img = ramp([7, 5, 4], [1.0, 2.0, 3.0], |_, _, _| 42.0);
    let target = aligned_grid(&img.geometry, [0.6, 0.9, 1.7]);
    for interp in [
        Interpolator::Nearest,
        Interpolator::Linear,
        Interpolator::CubicSpline,
    ] {
        let out = resample_image(&img, &target, interp);
        assert_eq!(out.geometry.dims, target.dims);
        assert!(
            out.data.iter().all(|&v| (v - 42.0).abs() < 1e-4),
            "{interp:?}"
        );
    }
}

#[test]
fn nearest_picks_the_closest_voxel_and_clamps_outside() {
    // 1D ramp 0..6 at 1 mm resampled to 2.5 mm: n = ceil(6·1/2.5) = 3,
    // x0 = ½(5 − 2.5·2) = 0 → positions 0, 2.5, 5 → values 0, 3 (halves round up), 5.
    let img = ramp([6, 1, 1], [1.0; 3], |x, _, _| x);
    let t = aligned_grid(&img.geometry, [2.5, 1.0, 1.0]);
    assert_eq!(t.dims, [3, 1, 1]);
    let out = resample_image(&img, &t, Interpolator::Nearest);
    assert_eq!(out.data, vec![0.0, 3.0, 5.0]);
    // 4 voxels at 1 mm → 3 mm: n = 2, x0 = ½(3 − 3) = 0: positions 0 and 3.
    let img = ramp([4, 1, 1], [1.0; 3], |x, _, _| 10.0 * x);
    let t = aligned_grid(&img.geometry, [3.0, 1.0, 1.0]);
    assert_eq!(
        resample_image(&img, &t, Interpolator::Nearest).data,
        vec![0.0, 30.0]
    );
    // Upsampling 2 voxels to 0.5 mm: positions −0.25, 0.25, 0.75, 1.25 → clamped ends.
    let img = ramp([2, 1, 1], [1.0; 3], |x, _, _| 10.0 + 10.0 * x);
    let t = aligned_grid(&img.geometry, [0.5, 1.0, 1.0]);
    assert_eq!(
        resample_image(&img, &t, Interpolator::Nearest).data,
        vec![10.0, 10.0, 20.0, 20.0]
    );
    assert_eq!(
        resample_image(&img, &t, Interpolator::Linear).data,
        vec![10.0, 12.5, 17.5, 20.0]
    );
}

#[test]
fn cubic_spline_interpolates_the_samples_and_matches_a_known_value() {
    // An unchanged grid returns the samples exactly.
    let img = ramp([9, 1, 1], [1.0; 3], |x, _, _| (x * 1.3).sin() * 100.0);
    let same = resample_image(&img, &img.geometry, Interpolator::CubicSpline);
    assert_eq!(same.data, img.data);
    // A unit spike sampled half-way between grid points gives the cardinal
    // (interpolating) cubic spline at 0.5: Σ_k c_k β³(0.5 − k) with
    // c_k = −6z/(1 − z²)·z^|k|, z = √3 − 2, which is 0.600481 (computed
    // independently); the spike is far enough from the edges for the padding
    // not to matter.
    let mut spike = ramp([25, 1, 1], [1.0; 3], |_, _, _| 0.0);
    spike.data[12] = 1.0;
    let half = Geometry::new([24, 1, 1], [1.0; 3], [0.5, 0.0, 0.0]);
    let out = resample_image(&spike, &half, Interpolator::CubicSpline);
    // Positions 11.5 and 12.5 are symmetric about the spike.
    assert!((out.data[11] - out.data[12]).abs() < 1e-6);
    assert!(
        (out.data[12] as f64 - 0.600_481).abs() < 1e-5,
        "{}",
        out.data[12]
    );
}

#[test]
fn mask_resampling_keeps_the_partial_volume_threshold() {
    // 1D mask 0 0 1 1 1 1 0 0 at 1 mm → 0.5 mm, linear, keep ≥ 0.5.
    let g = Geometry::new([8, 1, 1], [1.0; 3], [0.0; 3]);
    let mask = Volume::from_vec(
        g.clone(),
        vec![false, false, true, true, true, true, false, false],
    )
    .unwrap();
    let t = aligned_grid(&g, [0.5, 1.0, 1.0]);
    let out = resample_mask(&mask, &t, Interpolator::Linear, 0.5);
    // Positions −0.25 + 0.5k; value ≥ 0.5 between 1.5 and 5.5.
    let expect: Vec<bool> = (0..16)
        .map(|k| {
            let p = -0.25 + 0.5 * k as f64;
            (1.5..=5.5).contains(&p)
        })
        .collect();
    assert_eq!(out.data, expect);
}

#[test]
fn rounding_is_half_away_from_zero() {
    let g = Geometry::new([5, 1, 1], [1.0; 3], [0.0; 3]);
    let mut v = Volume::from_vec(g, vec![0.5, -0.5, 1.49, -2.5, 3.0]).unwrap();
    round_intensities(&mut v);
    assert_eq!(v.data, vec![1.0, -1.0, 1.0, -3.0, 3.0]);
}
