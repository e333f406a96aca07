//! PyRadiomics' image types (LoG, Wavelet, Gradient, Square, SquareRoot,
//! Logarithm, Exponential) against the maps PyRadiomics 3.1 itself makes
//! (SimpleITK, PyWavelets) of a small synthetic volume, committed in
//! `testdata/pyradiomics_reference/filters_small.json` by
//! `scripts/pyradiomics_reference.py --filters`.

use ctrad::filters::image_types::{responses, ImageTypeKind, ImageTypeSettings, Sigma};
use ctrad::volume::{Geometry, Volume};
use std::path::PathBuf;

struct Fixture {
    image: Volume<f32>,
    /// (key, map) in PyRadiomics' order.
    maps: Vec<(String, serde_json::Value)>,
}

fn fixture() -> Fixture {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/pyradiomics_reference/filters_small.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let dims: Vec<usize> = v["dims"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_u64().unwrap() as usize)
        .collect();
    let spacing: Vec<f64> = v["spacing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_f64().unwrap())
        .collect();
    let data: Vec<f32> = v["image"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_f64().unwrap() as f32)
        .collect();
    let g = Geometry::new(
        [dims[0], dims[1], dims[2]],
        [spacing[0], spacing[1], spacing[2]],
        [0.0; 3],
    );
    Fixture {
        image: Volume::from_vec(g, data).unwrap(),
        maps: v["maps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| (m["key"].as_str().unwrap().to_string(), m.clone()))
            .collect(),
    }
}

/// The reference map `key` restricted to the box, x fastest (the JSON holds
/// numpy's z, y, x order, which is the same flat order).
fn reference(f: &Fixture, key: &str, lo: [usize; 3], hi: [usize; 3]) -> Vec<f64> {
    let m = &f.maps.iter().find(|(k, _)| k == key).unwrap().1;
    let all: Vec<f64> = m["values"]
        .as_array()
        .unwrap_or_else(|| panic!("{key}"))
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let is32 = m["dtype"] == "float32";
    let [nx, ny, _] = f.image.geometry.dims;
    let mut out = Vec::new();
    for z in lo[2]..=hi[2] {
        for y in lo[1]..=hi[1] {
            for x in lo[0]..=hi[0] {
                let v = all[x + nx * (y + ny * z)];
                out.push(if is32 { f64::from(v as f32) } else { v });
            }
        }
    }
    out
}

/// Compare every map of `kind` with the references under `prefix:`; the
/// largest difference relative to the map's range must stay below `tol`.
fn check(
    f: &Fixture,
    prefix: &str,
    kind: ImageTypeKind,
    s: &ImageTypeSettings,
    lo: [usize; 3],
    hi: [usize; 3],
    tol: f64,
) {
    let got = responses(kind, s, &f.image, lo, hi).unwrap();
    let keys: Vec<&String> = f
        .maps
        .iter()
        .map(|(k, _)| k)
        .filter(|k| k.starts_with(&format!("{prefix}:")))
        .collect();
    let names: Vec<String> = got.iter().map(|(n, _)| format!("{prefix}:{n}")).collect();
    assert_eq!(
        names,
        keys.iter().map(|k| k.to_string()).collect::<Vec<_>>(),
        "names and order"
    );
    for ((name, values), key) in got.iter().zip(keys) {
        let r = reference(f, key, lo, hi);
        let range = r.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1e-30);
        let worst = values
            .iter()
            .zip(&r)
            .map(|(a, b)| (a - b).abs() / range)
            .fold(0.0, f64::max);
        assert!(
            worst <= tol,
            "{prefix} {name}: worst difference {worst:e} of the range"
        );
    }
}

const WHOLE: ([usize; 3], [usize; 3]) = ([0, 0, 0], [8, 7, 6]);
const INNER: ([usize; 3], [usize; 3]) = ([2, 3, 1], [6, 5, 4]);

#[test]
fn log_matches_simpleitk() {
    let f = fixture();
    let s = ImageTypeSettings {
        sigma: vec![
            Sigma {
                mm: 1.0,
                text: "1.0".into(),
            },
            Sigma {
                mm: 2.5,
                text: "2.5".into(),
            },
        ],
        ..Default::default()
    };
    for (lo, hi) in [WHOLE, INNER] {
        check(&f, "log", ImageTypeKind::LoG, &s, lo, hi, 1e-6);
    }
}

#[test]
fn wavelets_match_pywavelets_bit_for_bit() {
    let f = fixture();
    for (prefix, wavelet, start, level) in [
        ("wavelet_coif1", "coif1", 0, 1),
        ("wavelet_db2_start1", "db2", 1, 1),
        ("wavelet_haar_level2", "haar", 0, 2),
    ] {
        let s = ImageTypeSettings {
            wavelet: wavelet.into(),
            start_level: start,
            level,
            ..Default::default()
        };
        for (lo, hi) in [WHOLE, INNER] {
            check(&f, prefix, ImageTypeKind::Wavelet, &s, lo, hi, 0.0);
        }
    }
}

#[test]
fn gradient_and_intensity_maps_match_pyradiomics() {
    let f = fixture();
    let s = ImageTypeSettings::default();
    let voxels = ImageTypeSettings {
        gradient_use_spacing: false,
        ..Default::default()
    };
    for (lo, hi) in [WHOLE, INNER] {
        check(&f, "gradient", ImageTypeKind::Gradient, &s, lo, hi, 0.0);
        check(
            &f,
            "gradient_voxels",
            ImageTypeKind::Gradient,
            &voxels,
            lo,
            hi,
            0.0,
        );
        check(&f, "square", ImageTypeKind::Square, &s, lo, hi, 1e-15);
        check(
            &f,
            "squareroot",
            ImageTypeKind::SquareRoot,
            &s,
            lo,
            hi,
            1e-15,
        );
        check(&f, "logarithm", ImageTypeKind::Logarithm, &s, lo, hi, 1e-15);
        check(
            &f,
            "exponential",
            ImageTypeKind::Exponential,
            &s,
            lo,
            hi,
            1e-15,
        );
    }
}

/// PyRadiomics' resampling (SimpleITK) of the volume with a box ROI, to
/// spacing (0.5, 0.7, 1.3) mm with padDistance 2, for each interpolator.
#[test]
fn resampling_matches_simpleitk() {
    use ctrad::preprocess::itk_resample::{resample, ItkInterpolator};
    let f = fixture();
    let text = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("testdata/pyradiomics_reference/filters_small.json"),
    )
    .unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut mask =
        Volume::from_vec(f.image.geometry.clone(), vec![false; f.image.data.len()]).unwrap();
    for z in 2..=4 {
        for y in 2..=5 {
            for x in 2..=6 {
                mask.set(x, y, z, true);
            }
        }
    }
    for r in v["resampled"].as_array().unwrap() {
        let name = r["interpolator"].as_str().unwrap();
        let interp = ItkInterpolator::parse(name).unwrap();
        let (img, m) = resample(
            &f.image,
            &mask,
            [Some(0.5), Some(0.7), Some(1.3)],
            interp,
            2,
        )
        .unwrap();
        let dims: Vec<usize> = r["dims"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_u64().unwrap() as usize)
            .collect();
        assert_eq!(img.geometry.dims.to_vec(), dims, "{name}: grid");
        let want_mask: Vec<bool> = r["mask"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_u64().unwrap() == 1)
            .collect();
        assert_eq!(m.data, want_mask, "{name}: mask");
        let want: Vec<f32> = r["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_f64().unwrap() as f32)
            .collect();
        let range = want.iter().fold(0.0f32, |a, v| a.max(v.abs()));
        let worst = img
            .data
            .iter()
            .zip(&want)
            .map(|(a, b)| (a - b).abs() / range)
            .fold(0.0, f32::max);
        assert!(
            worst <= 1e-6,
            "{name}: worst difference {worst:e} of the range"
        );
    }
}
