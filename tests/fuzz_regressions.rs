//! Reproducers of what the fuzz targets in fuzz/ found (inputs inlined or
//! generated, each small), plus the generator of the fuzz seeds.

mod common;

use common::fixtures::*;
use std::path::Path;

/// The separator between files packed into one fuzz input (fuzz/src/lib.rs).
const SPLIT: &[u8] = b"--ctrad-fuzz-split--";

fn join(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(SPLIT);
        }
        out.extend_from_slice(p);
    }
    out
}

/// Write the committed seeds under fuzz/seeds/<target>/ (all made by ctrad).
/// Run: `cargo test --test fuzz_regressions -- --ignored write_fuzz_seeds`.
#[test]
#[ignore = "generator, run by hand to refresh fuzz/seeds"]
fn write_fuzz_seeds() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds");
    let dir = |t: &str| {
        let d = root.join(t);
        std::fs::create_dir_all(&d).unwrap();
        d
    };
    let tmp = temp_dir("seeds");
    let image = tiny_image();
    let read = |p: &Path| std::fs::read(p).unwrap();

    // NIfTI: single file (plain and gzip) and a .hdr/.img pair.
    let d = dir("nifti");
    ctrad::io::nifti::write(&d.join("i16.nii"), &image, ctrad::io::DataType::I16).unwrap();
    ctrad::io::nifti::write(
        &tmp.join("m.nii.gz"),
        &tiny_mask().map(|b| b as u8 as f32),
        ctrad::io::DataType::U8,
    )
    .unwrap();
    std::fs::copy(tmp.join("m.nii.gz"), d.join("mask_u8.nii.gz")).unwrap();
    let single = read(&d.join("i16.nii"));
    let mut hdr = single[..348].to_vec();
    hdr[344..348].copy_from_slice(b"ni1\0");
    hdr[108..112].copy_from_slice(&0f32.to_le_bytes()); // vox_offset 0 in the .img
    let vox_offset = f32::from_le_bytes(single[108..112].try_into().unwrap()) as usize;
    std::fs::write(d.join("pair_i16"), join(&[&hdr, &single[vox_offset..]])).unwrap();

    // NRRD: attached raw and gzip, and a detached header with its data file.
    let d = dir("nrrd");
    ctrad::io::nrrd::write(&d.join("raw.nrrd"), &image, ctrad::io::DataType::I16, false).unwrap();
    ctrad::io::nrrd::write(&d.join("gz.nrrd"), &image, ctrad::io::DataType::F32, true).unwrap();
    let raw = read(&d.join("raw.nrrd"));
    let split = raw.windows(2).position(|w| w == b"\n\n").unwrap() + 2;
    let mut nhdr = raw[..split - 1].to_vec();
    nhdr.extend_from_slice(b"data file: data.raw\n\n");
    std::fs::write(d.join("detached_i16"), join(&[&nhdr, &raw[split..]])).unwrap();

    // DICOM: three CT slices packed into one input; a single slice; RTSTRUCT; SEG.
    let (files, meta, rs, seg) = tiny_study(&tmp);
    let d = dir("dicom_series");
    let slices: Vec<Vec<u8>> = files.iter().take(3).map(|p| read(p)).collect();
    std::fs::write(
        d.join("three_slices"),
        join(&[&slices[0], &slices[1], &slices[2]]),
    )
    .unwrap();
    std::fs::write(d.join("one_slice"), &slices[0]).unwrap();
    std::fs::copy(&rs, dir("rtstruct").join("cube.dcm")).unwrap();
    std::fs::copy(&seg, dir("seg").join("cube_binary.dcm")).unwrap();
    let frac = tiny_mask().map(|b| if b { 0.8f32 } else { 0.1 });
    let fpath = tmp.join("frac.dcm");
    ctrad::io::dicom::seg_write::write_fractional_seg(&fpath, &[("Cube", &frac)], &meta, 255)
        .unwrap();
    std::fs::copy(&fpath, dir("seg").join("cube_fractional.dcm")).unwrap();
}

/// Position of the value length of element `tag` with a 4-byte length
/// (explicit VR OB/OW/SQ/UT…) in a Part 10 file, little endian.
fn long_length_field(bytes: &[u8], group: u16, element: u16) -> usize {
    let mut pat = group.to_le_bytes().to_vec();
    pat.extend_from_slice(&element.to_le_bytes());
    let at = bytes
        .windows(4)
        .rposition(|w| w == pat)
        .expect("element present");
    at + 8
}

/// Found by `dicom_series` and `seg` (out-of-memory, ~2.3 GB RSS for a 4 KB
/// input): an element declaring a value of almost 4 GiB made the DICOM parser
/// allocate and zero-fill that much before noticing the file is short. Now a
/// length check runs before parsing and names the element.
#[test]
fn huge_declared_element_length_is_refused_before_parsing() {
    let d = temp_dir("fr-huge-length");
    let (files, meta, rs, seg) = tiny_study(&d);

    let mut ct = std::fs::read(&files[0]).unwrap();
    let at = long_length_field(&ct, 0x7FE0, 0x0010); // Pixel Data (OW)
    ct[at..at + 4].copy_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
    std::fs::write(&files[0], &ct).unwrap();
    let e = ctrad::io::dicom::series::load_series(&files[..1]).unwrap_err();
    assert!(matches!(e, ctrad::Error::Format { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(
        msg.contains("CT0000.dcm")
            || msg.contains(&*files[0].file_name().unwrap().to_string_lossy()),
        "{msg}"
    );
    assert!(msg.contains("declares 4294967280 bytes"), "{msg}");

    let mut bytes = std::fs::read(&seg).unwrap();
    let at = long_length_field(&bytes, 0x7FE0, 0x0010);
    bytes[at..at + 4].copy_from_slice(&0x7FFF_FFF0u32.to_le_bytes());
    std::fs::write(&seg, &bytes).unwrap();
    let e = ctrad::io::dicom::seg::read_seg(&seg).unwrap_err();
    assert!(
        e.to_string().contains("SEG.dcm") && e.to_string().contains("declares"),
        "{e}"
    );

    // An item of a sequence declaring a huge defined length (RTSTRUCT).
    let mut bytes = std::fs::read(&rs).unwrap();
    let item = bytes
        .windows(4)
        .position(|w| w == [0xFE, 0xFF, 0x00, 0xE0])
        .expect("an item");
    bytes[item + 4..item + 8].copy_from_slice(&0x7FFF_FFF0u32.to_le_bytes());
    std::fs::write(&rs, &bytes).unwrap();
    let e = ctrad::io::dicom::rtstruct::read_rtstruct(&rs).unwrap_err();
    assert!(
        e.to_string().contains("RS.dcm") && e.to_string().contains("declares"),
        "{e}"
    );
    let _ = meta;
}

/// Found by the `csv` smoke (tests/fuzz_smoke.rs): a clinical table whose
/// last byte opens a quoted field (`1,"` at the end of the file) made Polars'
/// CSV parser slice out of bounds (undefined behaviour; an abort in debug
/// builds, which no `catch_unwind` can stop). Unterminated quoted fields are
/// now refused before Polars sees the file, and the data handed to Polars
/// always ends with a newline. Reproducers: fuzz/regressions/csv/.
#[test]
fn csv_with_a_quote_left_open_is_a_typed_error() {
    let d = temp_dir("fr-csv-quote");
    for (name, text) in [
        ("eof.csv", &b"a,b\n1,\""[..]),
        ("eof_cr.csv", b"a,b\n1,\"\r"),
        ("header.csv", b"a,\""),
        ("long.csv", b"id,x\n1,\"open\n2,3\n"),
    ] {
        let p = d.join(name);
        std::fs::write(&p, text).unwrap();
        let e = ctrad::model::data::read_table(&p).unwrap_err();
        assert!(matches!(e, ctrad::Error::Format { .. }), "{name}: {e:?}");
        assert!(e.to_string().contains("is never closed"), "{name}: {e}");
    }
    // Balanced quotes with no final newline read as RFC 4180 says.
    let p = d.join("balanced.csv");
    std::fs::write(&p, "study_id,x\ncase2,\",Tumour\ncase2,\"").unwrap();
    let t = ctrad::model::data::read_table(&p).unwrap();
    assert_eq!(t.columns[1].label(0).as_deref(), Some(",Tumour\ncase2,"));
    // The reproducer found by the smoke: no crash, a typed result.
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/regressions/csv/lone_quote_found_by_smoke_2.csv");
    let _ = ctrad::model::data::read_table(&p);
    // Closed and escaped quotes still read.
    let p = d.join("ok.csv");
    std::fs::write(&p, "id,note\n1,\"a, \"\"b\"\"\"\n3,\"\"\n").unwrap();
    let t = ctrad::model::data::read_table(&p).unwrap();
    assert_eq!(t.nrows, 2);
    assert_eq!(t.columns[1].label(0).as_deref(), Some("a, \"b\""));
}

/// Found by the `nrrd` smoke: `space origin: (-4,-4,1e309)` parsed to an
/// infinite origin that reached the volume's geometry. Now a format error.
#[test]
fn nrrd_origin_overflowing_to_infinity_is_refused() {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/regressions/nrrd/origin_overflows_to_inf.nrrd");
    let e = ctrad::io::nrrd::read_with(&p, &ctrad::io::ReadLimits::default()).unwrap_err();
    assert!(matches!(e, ctrad::Error::Format { .. }), "{e:?}");
    assert!(e.to_string().contains("space origin"), "{e}");
}

/// A 6×5×4 image with a four-voxel ROI of intensities 0, 10, 20, 30, the
/// input the `params` target runs the pipeline on.
fn four_voxel_roi() -> (ctrad::volume::Volume<f32>, ctrad::volume::Mask) {
    let g = ctrad::volume::Geometry::new([6, 5, 4], [1.0, 1.2, 2.0], [0.0, 0.0, 0.0]);
    let mut image = ctrad::volume::Volume::filled(g.clone(), -50.0f32);
    let mut mask = ctrad::volume::Volume::filled(g, false);
    for (i, x) in [(1, 1, 1), (2, 1, 1), (1, 2, 1), (2, 2, 2)]
        .into_iter()
        .enumerate()
    {
        image.set(x.0, x.1, x.2, 10.0 * i as f32);
        mask.set(x.0, x.1, x.2, true);
    }
    (image, mask)
}

/// Found by `params` (panic "attempt to add with overflow"): a re-segmentation
/// range starting at -7e52 with bin width 83 put the fixed-bin-size level
/// `⌊(x − x_min)/w⌋ + 1` past u64 (the float-to-integer cast saturates, the
/// `+ 1` overflowed; in release builds it wrapped to level 0). The level now
/// saturates, and the pipeline refuses the resulting number of grey levels.
#[test]
fn fbs_level_beyond_u64_is_refused_not_wrapped() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/regressions/params/fbs_origin_minus_7e52_level_overflow.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let p = ctrad::params::Params::from_yaml(&text, &path).unwrap();
    let (image, mask) = four_voxel_roi();
    let e =
        ctrad::pipeline::extract(image, mask, &p, Path::new("img"), Path::new("mask")).unwrap_err();
    assert!(e.to_string().contains("grey levels"), "{e}");
}

/// Found by the `params` target: `resampledPixelSpacing` with a z spacing of
/// 1.1e107 mm made the mesh area cubed overflow, and morph_asphericity came
/// out as +Inf. Such spacings are refused, and any feature beyond the f64
/// range is NaN with an "overflow" reason, never ±Inf.
#[test]
fn absurd_resampled_spacing_is_refused() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/regressions/params/resampled_spacing_1e107_overflowed_shape.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let e = ctrad::params::Params::from_yaml(&text, &path).unwrap_err();
    assert!(matches!(e, ctrad::Error::Params { .. }), "{e:?}");
    assert!(e.to_string().contains("resampledPixelSpacing"), "{e}");
    // The largest accepted spacing still gives finite values only.
    let ok = "setting:\n  resampledPixelSpacing: [7, 0, 10000]\n";
    let p = ctrad::params::Params::from_yaml(ok, &path).unwrap();
    let (image, mask) = four_voxel_roi();
    if let Ok(out) = ctrad::pipeline::extract(image, mask, &p, Path::new("img"), Path::new("mask"))
    {
        for (tag, v) in &out.features {
            assert!(!v.is_infinite(), "{tag} = {v}");
        }
    }
}
