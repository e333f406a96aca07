//! The bad-input catalogue: each hostile or broken input is a typed error
//! whose message names the offending file (or, for the legal degenerate cases,
//! a result) — never a panic, never a silently wrong number. Every case goes
//! through the public API (readers, `pipeline::extract`, table writers).

mod common;

use common::fixtures::*;
use ctrad::io::dicom::rtstruct::{rasterise, read_rtstruct};
use ctrad::io::dicom::seg::read_seg;
use ctrad::io::dicom::series::load_series;
use ctrad::params::Params;
use ctrad::volume::{Geometry, Volume};
use ctrad::Error;
use dicom_dictionary_std::tags;
use std::path::{Path, PathBuf};

fn name(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().into_owned()
}

/// Assert `e` is the variant `pat` and its message names `file` (and each of `needles`).
macro_rules! assert_err {
    ($e:expr, $pat:pat, $file:expr $(, $needle:expr)*) => {{
        let e: Error = $e;
        assert!(matches!(e, $pat), "wrong error variant: {e:?}");
        let msg = e.to_string();
        assert!(msg.contains(&name($file)), "message does not name {}: {msg}", name($file));
        $(assert!(msg.contains($needle), "message lacks {:?}: {msg}", $needle);)*
    }};
}

/// A tiny CT series in a fresh folder: (folder, files in slice order).
fn ct(test: &str) -> (PathBuf, Vec<PathBuf>) {
    let d = temp_dir(test);
    let (files, _) = tiny_ct(&d.join("ct"));
    (d, files)
}

// ------------------------------------------------------------------ DICOM files

#[test]
fn truncated_dicom() {
    let (_d, files) = ct("bi-truncated");
    let bytes = std::fs::read(&files[1]).unwrap();
    std::fs::write(&files[1], &bytes[..bytes.len() - 100]).unwrap();
    assert_err!(
        load_series(&files).unwrap_err(),
        Error::Format { .. },
        &files[1]
    );
}

#[test]
fn wrong_dicom_magic() {
    let (_d, files) = ct("bi-magic");
    let mut bytes = std::fs::read(&files[0]).unwrap();
    bytes[128..132].copy_from_slice(b"NOPE");
    std::fs::write(&files[0], &bytes).unwrap();
    assert_err!(
        load_series(&files).unwrap_err(),
        Error::Format { .. },
        &files[0]
    );
}

#[test]
fn wrong_nifti_magic() {
    let d = temp_dir("bi-nifti-magic");
    let p = d.join("image.nii");
    ctrad::io::nifti::write(&p, &tiny_image(), ctrad::io::DataType::F32).unwrap();
    let mut bytes = std::fs::read(&p).unwrap();
    bytes[344..348].copy_from_slice(b"xyz\0");
    std::fs::write(&p, &bytes).unwrap();
    assert_err!(
        ctrad::io::read_volume(&p).unwrap_err(),
        Error::Format { .. },
        &p
    );
}

#[test]
fn missing_pixel_data() {
    let (_d, files) = ct("bi-nopixels");
    edit_dicom(&files[2], |o| {
        o.remove_element(tags::PIXEL_DATA);
    });
    assert_err!(
        load_series(&files).unwrap_err(),
        Error::Format { .. },
        &files[2],
        "pixel data"
    );
}

#[test]
fn missing_slice_in_series() {
    let (_d, mut files) = ct("bi-missing");
    let gone = files.remove(1);
    std::fs::remove_file(&gone).unwrap();
    // The error names the slice after the gap.
    assert_err!(
        load_series(&files).unwrap_err(),
        Error::Format { .. },
        &files[1],
        "missing slice"
    );
}

#[test]
fn duplicated_slice() {
    let (d, mut files) = ct("bi-dup");
    let copy = d.join("ct/copy.dcm");
    std::fs::copy(&files[2], &copy).unwrap();
    files.push(copy);
    let e = load_series(&files).unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("duplicated"), "{msg}");
    assert!(
        msg.contains("copy.dcm") || msg.contains(&name(&files[2])),
        "{msg}"
    );
    assert!(matches!(e, Error::Format { .. }), "{e:?}");
}

#[test]
fn non_uniform_spacing() {
    let (_d, files) = ct("bi-nonuniform");
    edit_dicom(&files[3], |o| {
        let mut ipp = o
            .element(tags::IMAGE_POSITION_PATIENT)
            .unwrap()
            .to_multi_float64()
            .unwrap();
        ipp[2] -= 0.5; // gaps 2, 2, 1.5 mm
        set_ds(o, tags::IMAGE_POSITION_PATIENT, &ipp);
    });
    assert_err!(
        load_series(&files).unwrap_err(),
        Error::Format { .. },
        &files[3],
        "non-uniform"
    );
}

#[test]
fn mixed_orientation() {
    let (_d, files) = ct("bi-orient");
    edit_dicom(&files[1], |o| {
        set_ds(
            o,
            tags::IMAGE_ORIENTATION_PATIENT,
            &[0.0, 1.0, 0.0, 1.0, 0.0, 0.0],
        )
    });
    assert_err!(
        load_series(&files).unwrap_err(),
        Error::Format { .. },
        &files[1],
        "orientation"
    );
}

// --------------------------------------------------------------- resource limits

#[test]
fn dicom_declaring_huge_dimensions_is_refused_before_allocation() {
    // 60000 × 60000 pixels (7.2 GB of int16) in a file of about a kilobyte.
    let (_d, files) = ct("bi-huge");
    edit_dicom(&files[0], |o| {
        set_us(o, tags::ROWS, 60000);
        set_us(o, tags::COLUMNS, 60000);
    });
    assert_err!(
        load_series(&files[..1]).unwrap_err(),
        Error::ResourceLimit { .. },
        &files[0]
    );
}

#[test]
fn dicom_pixel_data_shorter_than_declared_is_an_error() {
    // Within the voxel limit, but the pixel data holds one row of 8 pixels for 8 × 4000.
    let (_d, files) = ct("bi-short");
    edit_dicom(&files[0], |o| set_us(o, tags::ROWS, 4000));
    assert_err!(
        load_series(&files[..1]).unwrap_err(),
        Error::Format { .. },
        &files[0],
        "pixel data"
    );
}

#[test]
fn seg_declaring_huge_frames_is_refused_before_allocation() {
    let d = temp_dir("bi-seg-huge");
    let (_, _, _, seg) = tiny_study(&d);
    edit_dicom(&seg, |o| {
        set_us(o, tags::ROWS, 65535);
        set_us(o, tags::COLUMNS, 65535);
    });
    assert_err!(
        read_seg(&seg).unwrap_err(),
        Error::ResourceLimit { .. },
        &seg
    );
}

#[test]
fn nrrd_data_file_that_is_not_a_regular_file_is_refused() {
    // Reading /dev/stdin (or a FIFO) would block; it must be an error instead.
    let d = temp_dir("bi-nrrd-dev");
    let p = d.join("x.nhdr");
    std::fs::write(&p, "NRRD0004\ntype: uchar\ndimension: 3\nsizes: 2 2 2\nencoding: raw\ndata file: /dev/stdin\n\n")
        .unwrap();
    assert_err!(
        ctrad::io::read_volume(&p).unwrap_err(),
        Error::Format { .. },
        &p,
        "regular file"
    );
}

fn extract_with(yaml: &str) -> ctrad::Result<ctrad::pipeline::Extraction> {
    let p = Params::from_yaml(yaml, Path::new("hostile.yaml"))?;
    ctrad::pipeline::extract(
        tiny_image(),
        tiny_mask(),
        &p,
        Path::new("image"),
        Path::new("mask"),
    )
}

#[test]
fn tiny_resampled_spacing_is_refused_before_allocation() {
    let e =
        extract_with("setting:\n  resampledPixelSpacing: [1.0e-6, 1.0e-6, 1.0e-6]\n").unwrap_err();
    assert_err!(
        e,
        Error::ResourceLimit { .. },
        Path::new("hostile.yaml"),
        "resampling"
    );
}

#[test]
fn tiny_bin_width_is_refused_before_allocation() {
    // 1e-9 HU bins over a few hundred HU: ~1e11 grey levels.
    let e = extract_with("setting:\n  binWidth: 1.0e-9\n").unwrap_err();
    assert_err!(
        e,
        Error::Params { .. },
        Path::new("hostile.yaml"),
        "grey levels"
    );
}

#[test]
fn huge_bin_count_is_a_params_error() {
    for n in ["4097", "4294967297"] {
        let e = Params::from_yaml(
            &format!("setting:\n  binCount: {n}\n"),
            Path::new("hostile.yaml"),
        )
        .unwrap_err();
        assert_err!(
            e,
            Error::Params { .. },
            Path::new("hostile.yaml"),
            "binCount"
        );
    }
    let e = Params::from_yaml(
        "setting:\n  ivhDiscretisation: {mode: fbn, binCount: 4294967297}\n",
        Path::new("hostile.yaml"),
    )
    .unwrap_err();
    assert_err!(
        e,
        Error::Params { .. },
        Path::new("hostile.yaml"),
        "binCount"
    );
}

#[test]
fn huge_ivh_range_gives_nan_not_an_allocation() {
    let out = extract_with("setting:\n  ivhDiscretisation: {mode: discrete, range: [-1.0e30, 1.0e30]}\nfeatureClass:\n  ivh:\n")
        .unwrap();
    let v = out.features.iter().find(|(k, _)| k == "ivh_v10").unwrap().1;
    assert!(v.is_nan(), "ivh_v10 = {v}");
}

// --------------------------------------------------------------- RTSTRUCT / SEG

#[test]
fn rtstruct_with_a_foreign_frame_of_reference() {
    let d = temp_dir("bi-rs-for");
    let (_, _, rs_path, _) = tiny_study(&d);
    let rs = read_rtstruct(&rs_path).unwrap();
    let e = rasterise(
        rs.find_roi("Cube").unwrap(),
        &tiny_grid(),
        Some("1.2.3.4.5"),
        &rs_path,
    )
    .unwrap_err();
    assert_err!(
        e,
        Error::GeometryMismatch { .. },
        &rs_path,
        "frame of reference"
    );
}

#[test]
fn rtstruct_contour_outside_the_image() {
    let d = temp_dir("bi-rs-out");
    let (_, meta, rs_path, _) = tiny_study(&d);
    let rs = read_rtstruct(&rs_path).unwrap();
    let mut far = tiny_grid();
    far.origin = [500.0, 500.0, far.origin[2]]; // same slices, far away in-plane
    let e = rasterise(
        rs.find_roi("Cube").unwrap(),
        &far,
        Some(&meta.frame_of_reference_uid),
        &rs_path,
    )
    .unwrap_err();
    assert_err!(e, Error::Format { .. }, &rs_path, "outside the image");
}

#[test]
fn seg_with_no_matching_frames() {
    let d = temp_dir("bi-seg-frames");
    let (_, meta, _, seg_path) = tiny_study(&d);
    let seg = read_seg(&seg_path).unwrap();
    let mut moved = tiny_grid();
    moved.origin[2] += 101.0; // no SEG frame lies on any slice of this grid
    let number = seg.find_segment("Cube").unwrap().number;
    let e = seg
        .segment_mask(number, &moved, Some(&meta.frame_of_reference_uid))
        .unwrap_err();
    assert_err!(e, Error::Format { .. }, &seg_path, "matches no image slice");
}

// ------------------------------------------------------------ image + mask pairs

fn pair(test: &str, image: &Volume<f32>, mask: &ctrad::volume::Mask) -> (PathBuf, PathBuf) {
    write_pair(&temp_dir(test), image, mask)
}

#[test]
fn empty_roi() {
    let (ip, mp) = pair(
        "bi-empty",
        &tiny_image(),
        &Volume::filled(tiny_grid(), false),
    );
    assert_err!(
        extract_files(&ip, &mp, &params("")).unwrap_err(),
        Error::EmptyRoi(_),
        &mp
    );
}

#[test]
fn roi_of_one_voxel_is_not_an_error() {
    let mut m = Volume::filled(tiny_grid(), false);
    m.set(3, 4, 2, true);
    let (ip, mp) = pair("bi-one", &tiny_image(), &m);
    let p = params("setting:\n  binWidth: 10\n  textureDimensionality: [2D, 2_5D, 3D]\n");
    let out = extract_files(&ip, &mp, &p).unwrap();
    assert_eq!(out.roi_voxels, 1);
    let get = |t: &str| {
        out.features
            .iter()
            .find(|(k, _)| k == t)
            .unwrap_or_else(|| panic!("no {t}"))
            .1
    };
    assert_eq!(get("stat_var"), 0.0);
    assert_eq!(get("morph_vol_approx"), 2.0); // one 1×1×2 mm voxel
    for (k, v) in &out.features {
        assert!(!v.is_infinite(), "{k} = {v}");
    }
}

fn mismatch(test: &str, change: impl FnOnce(&mut Geometry), needle: &str) {
    let mut g = tiny_grid();
    change(&mut g);
    let mut m = Volume::filled(g, false);
    m.set(3, 3, 1, true);
    let (ip, mp) = pair(test, &tiny_image(), &m);
    let e = extract_files(&ip, &mp, &params("")).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, Error::GeometryMismatch { .. }), "{e:?}");
    assert!(
        msg.contains(&name(&ip)) && msg.contains(&name(&mp)) && msg.contains(needle),
        "{msg}"
    );
}

#[test]
fn mask_image_size_mismatch() {
    mismatch("bi-gm-size", |g| g.dims[1] = 7, "size");
}

#[test]
fn mask_image_spacing_mismatch() {
    mismatch("bi-gm-spacing", |g| g.spacing[2] = 2.5, "spacing");
}

#[test]
fn mask_image_origin_mismatch() {
    mismatch("bi-gm-origin", |g| g.origin[0] += 3.0, "origin");
}

#[test]
fn mask_image_direction_mismatch() {
    mismatch(
        "bi-gm-direction",
        |g| g.direction = [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, -1.0]],
        "direction",
    );
}

#[test]
fn nan_in_nifti_image_inside_the_roi() {
    let mut img = tiny_image();
    img.set(3, 3, 1, f32::NAN);
    let (ip, mp) = pair("bi-nan", &img, &tiny_mask());
    assert_err!(
        extract_files(&ip, &mp, &params("")).unwrap_err(),
        Error::Format { .. },
        &ip,
        "finite"
    );
}

#[test]
fn inf_in_nifti_image_inside_the_roi() {
    let mut img = tiny_image();
    img.set(4, 4, 2, f32::NEG_INFINITY);
    let (ip, mp) = pair("bi-inf", &img, &tiny_mask());
    assert_err!(
        extract_files(&ip, &mp, &params("")).unwrap_err(),
        Error::Format { .. },
        &ip,
        "finite"
    );
}

#[test]
fn nan_outside_the_roi_is_allowed() {
    let mut img = tiny_image();
    img.set(0, 0, 0, f32::NAN);
    let (ip, mp) = pair("bi-nan-out", &img, &tiny_mask());
    let out = extract_files(&ip, &mp, &params("featureClass:\n  stat:\n")).unwrap();
    assert!(out
        .features
        .iter()
        .find(|(k, _)| k == "stat_mean")
        .unwrap()
        .1
        .is_finite());
}

#[test]
fn zero_length_dimension() {
    let d = temp_dir("bi-zero-dim");
    let p = d.join("image.nii");
    ctrad::io::nifti::write(&p, &tiny_image(), ctrad::io::DataType::F32).unwrap();
    let mut bytes = std::fs::read(&p).unwrap();
    bytes[46..48].copy_from_slice(&0i16.to_le_bytes()); // dim[3] = 0
    std::fs::write(&p, &bytes).unwrap();
    assert_err!(
        ctrad::io::read_volume(&p).unwrap_err(),
        Error::Format { .. },
        &p,
        "length 0"
    );
}

// ------------------------------------------------------------------ parameters

#[test]
fn unknown_params_key() {
    let p = Path::new("my-params.yaml");
    let e = Params::from_yaml("setting:\n  binWidht: 25\n", p).unwrap_err();
    assert_err!(e, Error::Params { .. }, p, "binWidht");
    let e = Params::from_yaml("settings:\n  binWidth: 25\n", p).unwrap_err();
    assert_err!(e, Error::Params { .. }, p, "settings");
}

#[test]
fn bin_width_not_positive() {
    let p = Path::new("my-params.yaml");
    for w in ["0", "-5", "-0.0", ".nan"] {
        let e = Params::from_yaml(&format!("setting:\n  binWidth: {w}\n"), p).unwrap_err();
        assert_err!(e, Error::Params { .. }, p, "binWidth");
    }
}

// ---------------------------------------------------------------------- output

fn small_table() -> ctrad::table::Row {
    ctrad::table::Row {
        ids: vec![("case".into(), "a".into())],
        features: vec![("stat_mean".into(), 1.5)],
    }
}

#[test]
fn output_under_a_regular_file_is_an_io_error() {
    // Root ignores permission bits, so use a path whose "directory" is a file.
    let d = temp_dir("bi-out-file");
    let file = d.join("not-a-dir");
    std::fs::write(&file, "x").unwrap();
    let out = file.join("out.csv");
    let mut df = ctrad::table::to_dataframe(&[small_table()]).unwrap();
    assert_err!(
        ctrad::table::write_table(&mut df, &out, &[]).unwrap_err(),
        Error::Io { .. },
        &out
    );
}

#[test]
fn output_in_a_missing_directory_is_created() {
    // Users expect `-o out/features.parquet` to work without a mkdir first.
    let d = temp_dir("bi-out-missing");
    let out = d.join("no/such/dir/features.parquet");
    let mut df = ctrad::table::to_dataframe(&[small_table()]).unwrap();
    ctrad::table::write_table(&mut df, &out, &[]).unwrap();
    assert!(out.is_file());
}

/// A writer that accepts `room` bytes, then fails like a full disk.
struct FullDisk<'a> {
    inner: &'a mut dyn std::io::Write,
    room: usize,
}

impl std::io::Write for FullDisk<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.room == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::StorageFull,
                "no space left on device",
            ));
        }
        let n = buf.len().min(self.room);
        self.room -= n;
        self.inner.write(&buf[..n])
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[test]
fn disk_full_leaves_no_partial_file() {
    let d = temp_dir("bi-full");
    let out = d.join("features.csv");
    let e = ctrad::io::atomic::write_atomic(&out, |w| {
        let mut full = FullDisk {
            inner: w,
            room: 100,
        };
        for i in 0..10_000 {
            writeln!(full, "row {i},1.0,2.0,3.0")?;
        }
        Ok(())
    })
    .unwrap_err();
    assert!(
        matches!(&e, Error::Io { source, .. } if source.kind() == std::io::ErrorKind::StorageFull),
        "{e:?}"
    );
    assert!(e.to_string().contains("features.csv"), "{e}");
    assert!(!out.exists(), "a partial file remains under the final name");
    let left: Vec<_> = std::fs::read_dir(&d)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "temporary files left behind: {left:?}");
}

#[test]
fn disk_full_keeps_the_previous_file() {
    let d = temp_dir("bi-full-old");
    let out = d.join("features.csv");
    std::fs::write(&out, "old complete table\n").unwrap();
    let e = ctrad::io::atomic::write_atomic(&out, |w| {
        let mut full = FullDisk { inner: w, room: 10 };
        full.write_all(b"new table that does not fit")
    });
    assert!(e.is_err());
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "old complete table\n"
    );
}

use std::io::Write as _;
