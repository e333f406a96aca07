//! The filter stage from the outside: `ctrad filter`, filtered feature columns
//! in single-study and batch tables, cropping to the ROI that changes no value,
//! and parameter errors that name the key.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

fn ctrad() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ctrad"))
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ctrad-filters-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn params(text: &str) -> ctrad::error::Result<ctrad::params::Params> {
    ctrad::params::Params::from_yaml(text, Path::new("test.yaml"))
}

#[test]
fn ctrad_filter_writes_the_map_the_library_computes() {
    let Some(td) = common::shared_testdata() else {
        return;
    };
    let d = temp_dir("cli");
    let image = td.join("ibsi2/digital_phantom/nifti/checkerboard/image/checkerboard.nii.gz");
    let yaml = root().join("pipelines/ibsi2/phase1/1_a_4.yaml");
    let out = d.join("map.nii.gz");
    let o = ctrad()
        .args(["filter", "--image"])
        .arg(&image)
        .arg("--params")
        .arg(&yaml)
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let written = ctrad::io::read_volume(&out).unwrap();
    let p = ctrad::params::Params::from_file(&yaml).unwrap();
    let img = ctrad::io::read_volume(&image).unwrap();
    let expected = p.filters[0].apply(&img).unwrap();
    assert_eq!(written.geometry.dims, expected.geometry.dims);
    assert_eq!(written.data, expected.data);

    // Two filters: one file each, the filter's name before the extension.
    let two = d.join("two.yaml");
    std::fs::write(
        &two,
        "filters:\n  - {type: mean, support: 3}\n  - {type: mean, support: 5, boundary: zero}\n",
    )
    .unwrap();
    let o = ctrad()
        .args(["filter", "--image"])
        .arg(&image)
        .arg("--params")
        .arg(&two)
        .arg("-o")
        .arg(d.join("maps.nrrd"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for name in ["maps_mean_s3_3D_mirror.nrrd", "maps_mean_s5_3D_zero.nrrd"] {
        let v = ctrad::io::read_volume(&d.join(name)).unwrap();
        assert_eq!(v.geometry.dims, [64, 64, 64], "{name}");
    }
    std::fs::remove_dir_all(&d).unwrap();
}

/// Filtering the ROI box grown by the filter's support gives, inside the ROI,
/// exactly the values of filtering the whole image.
#[test]
fn cropping_to_the_roi_changes_no_value() {
    let Some(td) = common::shared_testdata() else {
        return;
    };
    let dir = td.join("sts_ct/STS_002/nifti");
    let (image_path, mask_path) = (dir.join("CT_image.nii.gz"), dir.join("CT_mask.nii.gz"));
    let p = params(
        "setting: {binWidth: 25}\nfeatureClass: {stat: }\nfilters:\n  - {type: mean, support: 5, boundary: mirror}\n",
    )
    .unwrap();
    let image = ctrad::io::read_volume(&image_path).unwrap();
    let mask = ctrad::io::read_label_mask(&mask_path, None).unwrap();
    let whole = p.filters[0].apply(&image).unwrap();
    let inside: Vec<f64> = whole
        .data
        .iter()
        .zip(&mask.data)
        .filter(|(_, &m)| m)
        .map(|(&v, _)| v as f64)
        .collect();
    let x = ctrad::pipeline::extract(image, mask, &p, &image_path, &mask_path).unwrap();
    let get = |tag: &str| x.features.iter().find(|(t, _)| t == tag).unwrap().1;
    let name = &p.filters[0].name;
    let stat = ctrad::features::stat::compute(&inside);
    for (tag, v) in &stat {
        let got = get(&format!("{name}_{tag}"));
        assert!(
            got == *v || (got.is_nan() && v.is_nan()),
            "{name}_{tag}: cropped {got}, whole image {v}"
        );
    }
    // The unfiltered statistics are there too, under their plain tags.
    assert!(x.features.iter().any(|(t, _)| t == "stat_mean"));
}

#[test]
fn filtered_columns_reach_the_batch_table() {
    let Some(td) = common::shared_testdata() else {
        return;
    };
    let d = temp_dir("batch");
    let studies = d.join("studies");
    common::copy_dir(&td.join("sts_ct/STS_002/dicom"), &studies.join("STS_002"));
    let yaml = d.join("p.yaml");
    std::fs::write(
        &yaml,
        "setting: {binWidth: 25, resegmentRange: [-1000, 400]}\nfeatureClass: {stat: , ih: }\n\
         filters:\n  - {type: mean, support: 3, binWidth: 5}\n",
    )
    .unwrap();
    let out = d.join("f.csv");
    let o = ctrad()
        .arg("extract")
        .arg(&studies)
        .arg("--params")
        .arg(&yaml)
        .arg("-o")
        .arg(&out)
        .arg("--quiet")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(&out).unwrap();
    let header: Vec<&str> = text.lines().next().unwrap().split(',').collect();
    for col in [
        "stat_mean",
        "mean_s3_3D_mirror_stat_mean",
        "mean_s3_3D_mirror_ih_mean",
    ] {
        assert!(header.contains(&col), "missing column {col}");
    }
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn nonsense_filter_settings_are_errors_naming_the_key() {
    let cases: [(&str, &[&str]); 10] = [
        ("- {type: mean, support: 4}", &["support"]),
        ("- {type: log, sigma: -1.5}", &["sigma"]),
        ("- {type: log, sigma: 1.5, truncate: 0}", &["truncate"]),
        ("- {type: laws, kernel: L5Q5, dims: 2D}", &["kernel"]),
        (
            "- {type: gabor, sigma: 5, lambda: -2, gamma: 1}",
            &["lambda"],
        ),
        (
            "- {type: wavelet, wavelet: db99, subband: LLH, level: 1}",
            &["wavelet", "db99"],
        ),
        (
            "- {type: wavelet, wavelet: db3, subband: LXH, level: 1}",
            &["subband"],
        ),
        ("- {type: simoncelli, level: 0}", &["level"]),
        (
            "- {type: mean, support: 3, boundary: sideways}",
            &["boundary", "sideways"],
        ),
        ("- {type: mean, supportt: 3}", &["supportt"]),
    ];
    for (filters, words) in cases {
        let e = params(&format!("filters:\n  {filters}\n"))
            .err()
            .unwrap_or_else(|| panic!("{filters} was accepted"))
            .to_string();
        for w in words {
            assert!(e.contains(w), "{filters}: error '{e}' does not name '{w}'");
        }
        assert!(e.contains("test.yaml") && e.contains("filters[0]"), "{e}");
    }
    // A kernel larger than the image is refused when it is applied.
    let p = params("filters:\n  - {type: mean, support: 301}\n").unwrap();
    let g = ctrad::volume::Geometry::new([20, 20, 20], [1.0; 3], [0.0; 3]);
    let img = ctrad::volume::Volume::filled(g, 1.0f32);
    let e = p.filters[0].apply(&img).unwrap_err().to_string();
    assert!(e.contains("larger than the image"), "{e}");
    // IBSI 2 filters and PyRadiomics' conventions do not mix.
    let p = params("compat: pyradiomics\nfilters:\n  - {type: mean, support: 3}\n").unwrap();
    let g = ctrad::volume::Geometry::new([8, 8, 8], [1.0; 3], [0.0; 3]);
    let img = ctrad::volume::Volume::filled(g.clone(), 1.0f32);
    let mask = ctrad::volume::Volume::filled(g, true);
    let e = ctrad::pipeline::extract(img, mask, &p, Path::new("i"), Path::new("m"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("compat"), "{e}");
}
