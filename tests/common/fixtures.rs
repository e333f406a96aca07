//! Small synthetic inputs shared by the bad-input catalogue, the fuzz
//! regression tests and the fuzz seed generator: a tiny CT series written by
//! ctrad, an RTSTRUCT and a SEG on it, NIfTI image/mask pairs.

use ctrad::io::dicom::series::{load_series, SeriesMeta};
use ctrad::io::dicom::write::{write_ct_series, write_rtstruct, CtSeriesSpec, RtRoi};
use ctrad::io::DataType;
use ctrad::volume::{Geometry, Mask, Volume};
use dicom_object::DefaultDicomObject;
use std::path::{Path, PathBuf};

/// A fresh, empty temporary folder for one test.
pub fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ctrad-fx-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The grid of the tiny CT: 8×8×4 voxels of 1×1×2 mm.
pub fn tiny_grid() -> Geometry {
    Geometry::new([8, 8, 4], [1.0, 1.0, 2.0], [-4.0, -4.0, 10.0])
}

/// A 4×4×2 cube mask on [`tiny_grid`].
pub fn tiny_mask() -> Mask {
    let mut m = Volume::filled(tiny_grid(), false);
    for z in 1..3 {
        for y in 2..6 {
            for x in 2..6 {
                m.set(x, y, z, true);
            }
        }
    }
    m
}

/// The tiny CT image: a gradient in HU.
pub fn tiny_image() -> Volume<f32> {
    let mut v = Volume::filled(tiny_grid(), 0.0f32);
    for (i, d) in v.data.iter_mut().enumerate() {
        *d = (i % 97) as f32 * 3.0 - 100.0;
    }
    v
}

/// A tiny CT series written by ctrad into `dir`: (files in slice order, spec).
pub fn tiny_ct(dir: &Path) -> (Vec<PathBuf>, CtSeriesSpec) {
    std::fs::create_dir_all(dir).unwrap();
    let spec = CtSeriesSpec::from_seed("ctrad-fuzz-fixture", 7);
    let files = write_ct_series(dir, &tiny_image(), &spec).unwrap();
    (files, spec)
}

/// An RTSTRUCT with ROI `Cube` ([`tiny_mask`]) for the series of `spec`.
pub fn tiny_rtstruct(path: &Path, spec: &CtSeriesSpec) {
    let mask = tiny_mask();
    let roi = RtRoi {
        name: "Cube",
        mask: &mask,
        interpreted_type: "GTV",
        color: [255, 0, 0],
    };
    write_rtstruct(path, spec, &tiny_grid(), &[roi]).unwrap();
}

/// A BINARY SEG of [`tiny_mask`] (segment `Cube`) referencing `meta`.
pub fn tiny_seg(path: &Path, meta: &SeriesMeta) {
    ctrad::io::dicom::seg_write::write_seg(path, &[("Cube", &tiny_mask())], meta).unwrap();
}

/// Tiny CT series, RTSTRUCT and SEG in `dir`: (CT files, series metadata, RS path, SEG path).
pub fn tiny_study(dir: &Path) -> (Vec<PathBuf>, SeriesMeta, PathBuf, PathBuf) {
    let (files, spec) = tiny_ct(&dir.join("ct"));
    let (_, meta) = load_series(&files).unwrap();
    let rs = dir.join("RS.dcm");
    tiny_rtstruct(&rs, &spec);
    let seg = dir.join("SEG.dcm");
    tiny_seg(&seg, &meta);
    (files, meta, rs, seg)
}

/// Open a DICOM file, change it with `f` and write it back.
pub fn edit_dicom(path: &Path, f: impl FnOnce(&mut DefaultDicomObject)) {
    let mut obj = dicom_object::open_file(path).unwrap();
    f(&mut obj);
    obj.write_to_file(path).unwrap();
}

/// Set a decimal-string (DS) attribute.
pub fn set_ds(obj: &mut DefaultDicomObject, tag: dicom_core::Tag, v: &[f64]) {
    let s: Vec<String> = v.iter().map(|x| format!("{x}")).collect();
    obj.put(dicom_core::DataElement::new(
        tag,
        dicom_core::VR::DS,
        dicom_core::PrimitiveValue::from(s.join("\\")),
    ));
}

/// Set an unsigned-short (US) attribute.
pub fn set_us(obj: &mut DefaultDicomObject, tag: dicom_core::Tag, v: u16) {
    obj.put(dicom_core::DataElement::new(
        tag,
        dicom_core::VR::US,
        dicom_core::PrimitiveValue::from(v),
    ));
}

/// Write `image` (F32) and `mask` (U8) as `image.nii.gz` / `mask.nii.gz` in `dir`.
pub fn write_pair(dir: &Path, image: &Volume<f32>, mask: &Mask) -> (PathBuf, PathBuf) {
    let (ip, mp) = (dir.join("image.nii.gz"), dir.join("mask.nii.gz"));
    ctrad::io::nifti::write(&ip, image, DataType::F32).unwrap();
    let m = Volume::from_vec(
        mask.geometry.clone(),
        mask.data.iter().map(|&b| b as u8 as f32).collect(),
    )
    .unwrap();
    ctrad::io::nifti::write(&mp, &m, DataType::U8).unwrap();
    (ip, mp)
}

/// Read a pair written by [`write_pair`] and run the whole pipeline.
pub fn extract_files(
    ip: &Path,
    mp: &Path,
    params: &ctrad::params::Params,
) -> ctrad::Result<ctrad::pipeline::Extraction> {
    let image = ctrad::io::read_volume(ip)?;
    let mask = ctrad::io::read_volume(mp)?.select(params.label);
    ctrad::pipeline::extract(image, mask, params, ip, mp)
}

/// Parameters from inline YAML (must be valid).
pub fn params(text: &str) -> ctrad::params::Params {
    ctrad::params::Params::from_yaml(text, Path::new("inline.yaml")).unwrap()
}
