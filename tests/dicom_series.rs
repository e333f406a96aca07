//! DICOM CT series loading: the IBSI CT phantom and the STS cases against their
//! NIfTI conversions, and malformed series built from STS slices.

mod common;

use ctrad::io::dicom::series::{load_series, read_series_dir};
use ctrad::volume::Volume;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Compare two volumes voxel by voxel through world coordinates (the grids
/// may differ by axis flips). Returns (compared voxels, max |a - b|).
pub fn compare_world(a: &Volume<f32>, b: &Volume<f32>) -> (usize, f64) {
    let ga = &a.geometry;
    let gb = &b.geometry;
    let mut n = 0;
    let mut max = 0.0f64;
    for k in 0..ga.dims[2] {
        for j in 0..ga.dims[1] {
            for i in 0..ga.dims[0] {
                let w = ga.index_to_world([i as f64, j as f64, k as f64]);
                let ijk = gb.world_to_index(w);
                let r = ijk.map(|v| v.round());
                assert!(
                    (0..3).all(|d| (ijk[d] - r[d]).abs() < 0.01),
                    "grids are not aligned: {ijk:?}"
                );
                if (0..3).any(|d| r[d] < 0.0 || r[d] >= gb.dims[d] as f64) {
                    continue;
                }
                let vb = b.get(r[0] as usize, r[1] as usize, r[2] as usize);
                max = max.max((a.get(i, j, k) as f64 - vb as f64).abs());
                n += 1;
            }
        }
    }
    (n, max)
}

fn dicom_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "dcm"))
        .collect();
    v.sort();
    v
}

#[test]
fn ct_phantom_matches_nifti() {
    let Some(td) = common::shared_testdata() else {
        return;
    };
    let dir = td.join("ibsi1/ct_phantom");
    let t = Instant::now();
    let (vol, meta) = read_series_dir(&dir.join("dicom/image"), None).expect("CT phantom series");
    println!(
        "CT phantom: loaded {} slices in {:.0} ms",
        meta.slices.len(),
        t.elapsed().as_secs_f64() * 1e3
    );
    let g = &vol.geometry;
    assert_eq!(g.dims, [204, 201, 60]);
    assert!(
        (g.spacing[0] - 0.977).abs() < 1e-3 && (g.spacing[1] - 0.977).abs() < 1e-3,
        "{:?}",
        g.spacing
    );
    assert!((g.spacing[2] - 3.0).abs() < 1e-6, "{:?}", g.spacing);
    assert_eq!(meta.modality, "CT");
    assert!(!meta.frame_of_reference_uid.is_empty());
    let nii = ctrad::io::read_volume(&dir.join("nifti/phantom.nii.gz")).unwrap();
    println!("DICOM geometry {:?}\nNIfTI geometry {:?}", g, nii.geometry);
    let (n, max) = compare_world(&vol, &nii.map(|v| v.round()));
    println!("CT phantom: {n} voxels compared, max |DICOM - NIfTI| = {max}");
    assert_eq!(n, g.len());
    assert_eq!(max, 0.0);
}

#[test]
fn sts_images_match_nifti() {
    let Some(td) = common::shared_testdata() else {
        return;
    };
    for case in ["STS_001", "STS_002", "STS_003", "STS_004", "STS_005"] {
        let dir = td.join("sts_ct").join(case);
        let files = dicom_files(&dir.join("dicom/image"));
        let t = Instant::now();
        let (vol, meta) = load_series(&files).expect(case);
        let ms = t.elapsed().as_secs_f64() * 1e3;
        let nii = ctrad::io::read_volume(&dir.join("nifti/CT_image.nii.gz")).unwrap();
        let (n, max) = compare_world(&vol, &nii);
        println!(
            "{case}: {} slices {:?} spacing {:.4?} loaded in {ms:.0} ms; {n}/{} voxels compared with NIfTI {:?}, max abs diff {max}",
            meta.slices.len(),
            vol.geometry.dims,
            vol.geometry.spacing,
            vol.geometry.len(),
            nii.geometry.dims
        );
        assert_eq!(
            n,
            vol.geometry.len(),
            "{case}: grids cover different regions"
        );
        assert_eq!(max, 0.0, "{case}: max abs diff {max}");
    }
}

// ------------------------------------------------------------ malformed series

use dicom_core::value::PixelFragmentSequence;
use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use dicom_object::DefaultDicomObject;

/// A fresh temporary folder holding the first `n` slices of STS_002 (sorted by
/// file name, which follows the slice order), or `None` without test data.
fn sts_subset(name: &str, n: usize) -> Option<(PathBuf, Vec<PathBuf>)> {
    let td = common::shared_testdata()?;
    let src = dicom_files(&td.join("sts_ct/STS_002/dicom/image"));
    let dir = std::env::temp_dir().join(format!("ctrad_{name}_{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut out = Vec::new();
    for p in src.iter().take(n) {
        let dst = dir.join(p.file_name().unwrap());
        std::fs::copy(p, &dst).unwrap();
        // the shared files are read-only; the copies must be writable
        let mut perm = std::fs::metadata(&dst).unwrap().permissions();
        #[allow(clippy::permissions_set_readonly_false)]
        perm.set_readonly(false);
        std::fs::set_permissions(&dst, perm).unwrap();
        out.push(dst);
    }
    Some((dir, out))
}

fn edit(path: &Path, f: impl FnOnce(&mut DefaultDicomObject)) {
    let mut obj = dicom_object::open_file(path).unwrap();
    f(&mut obj);
    obj.write_to_file(path).unwrap();
}

fn floats_of(obj: &DefaultDicomObject, tag: dicom_core::Tag) -> Vec<f64> {
    obj.element(tag).unwrap().to_multi_float64().unwrap()
}

fn set_ds(obj: &mut DefaultDicomObject, tag: dicom_core::Tag, v: &[f64]) {
    let s = v
        .iter()
        .map(|x| format!("{x:.6}"))
        .collect::<Vec<_>>()
        .join("\\");
    obj.put(DataElement::new(tag, VR::DS, PrimitiveValue::from(s)));
}

/// Load the folder, expect an error whose message contains every `needles`
/// entry, and clean up.
fn expect_error(dir: &Path, needles: &[&str]) -> String {
    let res = std::panic::catch_unwind(|| read_series_dir(dir, None));
    let msg = match res {
        Ok(Err(e)) => e.to_string(),
        Ok(Ok(_)) => panic!("{}: loaded although it is malformed", dir.display()),
        Err(_) => panic!("{}: the loader panicked", dir.display()),
    };
    println!("{msg}");
    for n in needles {
        assert!(msg.contains(n), "message lacks '{n}': {msg}");
    }
    std::fs::remove_dir_all(dir).unwrap();
    msg
}

fn file_name(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().into_owned()
}

fn series_uid(p: &Path) -> String {
    let o = dicom_object::open_file(p).unwrap();
    o.element(tags::SERIES_INSTANCE_UID)
        .unwrap()
        .to_str()
        .unwrap()
        .trim_end_matches('\0')
        .to_string()
}

#[test]
fn subset_loads() {
    let Some((dir, files)) = sts_subset("subset_ok", 8) else {
        return;
    };
    let (vol, meta) = read_series_dir(&dir, None).unwrap();
    assert_eq!(vol.geometry.dims[2], 8);
    assert_eq!(meta.slices.len(), 8);
    assert_eq!(meta.transfer_syntax_uid, "1.2.840.10008.1.2");
    drop(files);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn missing_slice() {
    let Some((dir, files)) = sts_subset("missing_slice", 8) else {
        return;
    };
    std::fs::remove_file(&files[4]).unwrap();
    let uid = series_uid(&files[0]);
    // the error names the slice after the gap (files[3] or files[5] depending on direction)
    let msg = expect_error(&dir, &["missing slice", &uid]);
    assert!(
        msg.contains(&file_name(&files[3])) || msg.contains(&file_name(&files[5])),
        "{msg}"
    );
}

#[test]
fn duplicated_slice() {
    let Some((dir, files)) = sts_subset("dup_slice", 8) else {
        return;
    };
    let dup = dir.join("zz_duplicate.dcm");
    std::fs::copy(&files[2], &dup).unwrap();
    edit(&dup, |o| {
        o.put(DataElement::new(
            tags::SOP_INSTANCE_UID,
            VR::UI,
            PrimitiveValue::from("1.2.3.4.5.6.7"),
        ));
    });
    let uid = series_uid(&files[0]);
    let msg = expect_error(&dir, &["duplicated slice position", &uid]);
    assert!(
        msg.contains("zz_duplicate.dcm") || msg.contains(&file_name(&files[2])),
        "{msg}"
    );
}

#[test]
fn non_uniform_spacing() {
    let Some((dir, files)) = sts_subset("nonuniform", 8) else {
        return;
    };
    edit(&files[4], |o| {
        let mut ipp = floats_of(o, tags::IMAGE_POSITION_PATIENT);
        ipp[2] += 0.5;
        set_ds(o, tags::IMAGE_POSITION_PATIENT, &ipp);
    });
    let uid = series_uid(&files[0]);
    let msg = expect_error(&dir, &["non-uniform slice spacing", &uid]);
    assert!(
        msg.contains(&file_name(&files[4])) || msg.contains(&file_name(&files[5])),
        "{msg}"
    );
}

#[test]
fn mixed_orientation() {
    let Some((dir, files)) = sts_subset("mixed_orient", 8) else {
        return;
    };
    edit(&files[3], |o| {
        let (c, s) = (2f64.to_radians().cos(), 2f64.to_radians().sin());
        set_ds(o, tags::IMAGE_ORIENTATION_PATIENT, &[c, s, 0.0, -s, c, 0.0]);
    });
    let uid = series_uid(&files[0]);
    expect_error(&dir, &["mixed orientations", &uid, &file_name(&files[3])]);
}

#[test]
fn gantry_tilt() {
    let Some((dir, files)) = sts_subset("tilt", 8) else {
        return;
    };
    // Shift each slice in y by tan(5°) × its distance from the first: a 5° tilt.
    let z0 = floats_of(
        &dicom_object::open_file(&files[0]).unwrap(),
        tags::IMAGE_POSITION_PATIENT,
    )[2];
    for f in &files {
        edit(f, |o| {
            let mut ipp = floats_of(o, tags::IMAGE_POSITION_PATIENT);
            ipp[1] += (ipp[2] - z0) * 5f64.to_radians().tan();
            set_ds(o, tags::IMAGE_POSITION_PATIENT, &ipp);
        });
    }
    let uid = series_uid(&files[0]);
    expect_error(&dir, &["gantry tilt", "not supported", &uid]);
}

#[test]
fn unsupported_transfer_syntax() {
    let Some((dir, files)) = sts_subset("bad_ts", 8) else {
        return;
    };
    edit(&files[2], |o| {
        o.update_meta(|m| m.transfer_syntax = "1.2.840.10008.1.2.4.80".to_string()); // JPEG-LS
        o.put(DataElement::new(
            tags::PIXEL_DATA,
            VR::OB,
            PixelFragmentSequence::new(vec![], vec![vec![0xFFu8, 0xD8, 0xFF, 0xF7, 0, 0]]),
        ));
    });
    let uid = series_uid(&files[0]);
    expect_error(
        &dir,
        &[
            "unsupported transfer syntax 1.2.840.10008.1.2.4.80",
            &uid,
            &file_name(&files[2]),
        ],
    );
}

#[test]
fn truncated_file() {
    let Some((dir, files)) = sts_subset("truncated", 8) else {
        return;
    };
    let bytes = std::fs::read(&files[5]).unwrap();
    std::fs::write(&files[5], &bytes[..bytes.len() * 2 / 3]).unwrap();
    expect_error(&dir, &[&file_name(&files[5])]);
}

#[test]
fn missing_pixel_data() {
    let Some((dir, files)) = sts_subset("no_pixels", 8) else {
        return;
    };
    edit(&files[6], |o| {
        o.remove_element(tags::PIXEL_DATA);
    });
    let uid = series_uid(&files[0]);
    expect_error(&dir, &["missing pixel data", &uid, &file_name(&files[6])]);
}

#[test]
fn several_series_need_a_uid() {
    let Some((dir, files)) = sts_subset("two_series", 6) else {
        return;
    };
    for f in &files[3..] {
        edit(f, |o| {
            o.put(DataElement::new(
                tags::SERIES_INSTANCE_UID,
                VR::UI,
                PrimitiveValue::from("1.2.826.0.1.99"),
            ));
        });
    }
    let uid = series_uid(&files[0]);
    let (vol, meta) = read_series_dir(&dir, Some("1.2.826.0.1.99")).unwrap();
    assert_eq!(
        (vol.geometry.dims[2], meta.series_instance_uid.as_str()),
        (3, "1.2.826.0.1.99")
    );
    let e = read_series_dir(&dir, Some("9.9.9"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("no CT series 9.9.9") && e.contains(&uid), "{e}");
    expect_error(&dir, &["2 CT series found", &uid, "1.2.826.0.1.99"]);
}

/// An Enhanced CT multi-frame file built from 8 STS slices (frames stored in
/// reverse order, rescale per frame, geometry in functional groups) loads to
/// the same volume as the classic slices.
#[test]
fn enhanced_ct_multiframe() {
    use dicom_core::value::DataSetSequence;
    use dicom_object::InMemDicomObject;
    let Some((dir, files)) = sts_subset("enhanced", 8) else {
        return;
    };
    let (classic, _) = load_series(&files).unwrap();
    let seq = |items: Vec<InMemDicomObject>| DataSetSequence::from(items);
    let item = |tag, vr, v: String| {
        InMemDicomObject::from_element_iter([DataElement::new(tag, vr, PrimitiveValue::from(v))])
    };
    let ds = |v: &[f64]| {
        v.iter()
            .map(|x| format!("{x}"))
            .collect::<Vec<_>>()
            .join("\\")
    };
    let mut per_frame = Vec::new();
    let mut pixels: Vec<u8> = Vec::new();
    let first = dicom_object::open_file(&files[0]).unwrap();
    for (n, f) in files.iter().rev().enumerate() {
        let o = dicom_object::open_file(f).unwrap();
        let ipp = floats_of(&o, tags::IMAGE_POSITION_PATIENT);
        let slope = floats_of(&o, tags::RESCALE_SLOPE)[0];
        let icpt = floats_of(&o, tags::RESCALE_INTERCEPT)[0];
        // Store value v as (v - icpt') / slope with a frame-specific intercept
        // icpt' = icpt - 10 n, so that every frame's rescale matters.
        let raw: Vec<i16> = o
            .element(tags::PIXEL_DATA)
            .unwrap()
            .to_bytes()
            .unwrap()
            .chunks_exact(2)
            .map(|c| i16::from_le_bytes([c[0], c[1]]))
            .collect();
        assert_eq!(slope, 1.0);
        for v in raw {
            pixels.extend_from_slice(
                &(v as i32 + 10 * n as i32)
                    .clamp(-32768, 32767)
                    .to_le_bytes()[..2],
            );
        }
        let mut fg = InMemDicomObject::new_empty();
        fg.put(DataElement::new(
            tags::PLANE_POSITION_SEQUENCE,
            VR::SQ,
            seq(vec![item(tags::IMAGE_POSITION_PATIENT, VR::DS, ds(&ipp))]),
        ));
        let mut pvt = item(
            tags::RESCALE_INTERCEPT,
            VR::DS,
            format!("{}", icpt - 10.0 * n as f64),
        );
        pvt.put(DataElement::new(
            tags::RESCALE_SLOPE,
            VR::DS,
            PrimitiveValue::from("1"),
        ));
        pvt.put(DataElement::new(
            tags::RESCALE_TYPE,
            VR::LO,
            PrimitiveValue::from("HU"),
        ));
        fg.put(DataElement::new(
            tags::PIXEL_VALUE_TRANSFORMATION_SEQUENCE,
            VR::SQ,
            seq(vec![pvt]),
        ));
        per_frame.push(fg);
    }
    let mut shared = InMemDicomObject::new_empty();
    let iop = floats_of(&first, tags::IMAGE_ORIENTATION_PATIENT);
    let ps = floats_of(&first, tags::PIXEL_SPACING);
    shared.put(DataElement::new(
        tags::PLANE_ORIENTATION_SEQUENCE,
        VR::SQ,
        seq(vec![item(
            tags::IMAGE_ORIENTATION_PATIENT,
            VR::DS,
            ds(&iop),
        )]),
    ));
    let mut pm = item(tags::PIXEL_SPACING, VR::DS, ds(&ps));
    pm.put(DataElement::new(
        tags::SLICE_THICKNESS,
        VR::DS,
        PrimitiveValue::from("3.27"),
    ));
    shared.put(DataElement::new(
        tags::PIXEL_MEASURES_SEQUENCE,
        VR::SQ,
        seq(vec![pm]),
    ));

    let mut obj = first.clone();
    for t in [
        tags::IMAGE_POSITION_PATIENT,
        tags::IMAGE_ORIENTATION_PATIENT,
        tags::PIXEL_SPACING,
        tags::RESCALE_INTERCEPT,
        tags::RESCALE_SLOPE,
        tags::SLICE_THICKNESS,
    ] {
        obj.remove_element(t);
    }
    let enhanced = "1.2.840.10008.5.1.4.1.1.2.1";
    obj.put(DataElement::new(
        tags::SOP_CLASS_UID,
        VR::UI,
        PrimitiveValue::from(enhanced),
    ));
    obj.update_meta(|m| m.media_storage_sop_class_uid = enhanced.to_string());
    obj.put(DataElement::new(
        tags::NUMBER_OF_FRAMES,
        VR::IS,
        PrimitiveValue::from("8"),
    ));
    obj.put(DataElement::new(
        tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE,
        VR::SQ,
        seq(per_frame),
    ));
    obj.put(DataElement::new(
        tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE,
        VR::SQ,
        seq(vec![shared]),
    ));
    obj.put(DataElement::new(
        tags::PIXEL_DATA,
        VR::OW,
        PrimitiveValue::U8(pixels.into()),
    ));
    for f in &files {
        std::fs::remove_file(f).unwrap();
    }
    let path = dir.join("enhanced.dcm");
    obj.write_to_file(&path).unwrap();

    let (vol, meta) = read_series_dir(&dir, None).unwrap();
    assert_eq!(vol.geometry, classic.geometry);
    assert!(
        vol.data == classic.data,
        "enhanced CT voxels differ from the classic slices"
    );
    assert_eq!(meta.slices.len(), 8);
    assert_eq!(meta.slices[0].frame_number, Some(8)); // stored in reverse order
    assert_eq!(meta.slice_thickness, Some(3.27));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// PackBits literal runs (RLE Lossless segments).
fn packbits_literal(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for chunk in bytes.chunks(128) {
        out.push((chunk.len() - 1) as u8);
        out.extend_from_slice(chunk);
    }
    out
}

/// One RLE Lossless fragment of 16-bit pixels: high-byte then low-byte segment.
fn rle_fragment(le16: &[u8]) -> Vec<u8> {
    let hi: Vec<u8> = le16.chunks_exact(2).map(|c| c[1]).collect();
    let lo: Vec<u8> = le16.chunks_exact(2).map(|c| c[0]).collect();
    let (s1, s2) = (packbits_literal(&hi), packbits_literal(&lo));
    let mut header = [0u32; 16];
    header[0] = 2;
    header[1] = 64;
    header[2] = 64 + s1.len() as u32;
    let mut out: Vec<u8> = header.iter().flat_map(|v| v.to_le_bytes()).collect();
    out.extend(s1);
    out.extend(s2);
    if out.len() % 2 == 1 {
        out.push(0);
    }
    out
}

/// Slices re-encoded as RLE Lossless (4 files) and Deflated Explicit VR Little
/// Endian (4 files) load to the same volume as the originals.
#[test]
fn compressed_transfer_syntaxes() {
    let Some((dir, files)) = sts_subset("compressed", 8) else {
        return;
    };
    let (plain, _) = load_series(&files).unwrap();
    let size_before = std::fs::metadata(&files[1]).unwrap().len();
    for (i, f) in files.iter().enumerate() {
        edit(f, |o| {
            if i % 2 == 0 {
                let px = o
                    .element(tags::PIXEL_DATA)
                    .unwrap()
                    .to_bytes()
                    .unwrap()
                    .into_owned();
                o.put(DataElement::new(
                    tags::PIXEL_DATA,
                    VR::OB,
                    PixelFragmentSequence::new(vec![], vec![rle_fragment(&px)]),
                ));
                o.update_meta(|m| m.transfer_syntax = "1.2.840.10008.1.2.5".to_string());
            } else {
                o.update_meta(|m| m.transfer_syntax = "1.2.840.10008.1.2.1.99".to_string());
            }
        });
    }
    // the deflated file really is compressed
    let size_after = std::fs::metadata(&files[1]).unwrap().len();
    assert!(
        size_after < size_before,
        "deflated {size_after} vs plain {size_before} bytes"
    );
    let (vol, meta) = read_series_dir(&dir, None).unwrap();
    assert_eq!(vol.geometry, plain.geometry);
    assert!(
        vol.data == plain.data,
        "compressed slices decode differently"
    );
    assert!(["1.2.840.10008.1.2.5", "1.2.840.10008.1.2.1.99"]
        .contains(&meta.transfer_syntax_uid.as_str()));
    std::fs::remove_dir_all(&dir).unwrap();
}
