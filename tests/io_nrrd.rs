//! NRRD reader/writer: round trips (raw, gzip, detached), hand-written headers
//! covering the supported fields, the CT phantom converted from NIfTI, and bad input.

mod common;

use ctrad::io::{nifti, nrrd, read_volume, read_volume_with, DataType, ReadLimits};
use ctrad::volume::{Geometry, Volume};
use ctrad::Error;
use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Records the largest single allocation (see tests/io_nifti.rs).
struct PeakAlloc;
static LARGEST: AtomicUsize = AtomicUsize::new(0);
unsafe impl GlobalAlloc for PeakAlloc {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LARGEST.fetch_max(l.size(), Ordering::Relaxed);
        System.alloc(l)
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        System.dealloc(p, l)
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        LARGEST.fetch_max(n, Ordering::Relaxed);
        System.realloc(p, l, n)
    }
}
#[global_allocator]
static ALLOC: PeakAlloc = PeakAlloc;
const ALLOC_CEILING: usize = 64 << 20;

fn scratch(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("io_nrrd_{test}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// 5×4×3 grid, spacing (0.7, 1.3, 2.5), origin (−12.5, 30.25, 7), axes rotated
/// 30° about z then the third axis tilted: an orthonormal, non-trivial frame.
fn test_volume(integer: bool) -> Volume<f32> {
    let (s, c) = 30f64.to_radians().sin_cos();
    let (s2, c2) = 20f64.to_radians().sin_cos();
    // Rz(30°) · Rx(20°)
    let direction = [[c, -s * c2, s * s2], [s, c * c2, -c * s2], [0.0, s2, c2]];
    let geometry = Geometry {
        dims: [5, 4, 3],
        spacing: [0.7, 1.3, 2.5],
        origin: [-12.5, 30.25, 7.0],
        direction,
    };
    let data = (0..60)
        .map(|i| {
            if integer {
                i as f32 * 3.0 - 50.0
            } else {
                (i as f32 * 3.0 - 50.0) * 0.37
            }
        })
        .collect();
    Volume::from_vec(geometry, data).unwrap()
}

/// NRRD stores geometry as decimal text of f64: it must come back exactly.
fn assert_exact_geometry(a: &Geometry, b: &Geometry) {
    assert_eq!(a.dims, b.dims);
    for i in 0..3 {
        assert!(
            (a.spacing[i] - b.spacing[i]).abs() < 1e-12,
            "{a:?} vs {b:?}"
        );
        assert!((a.origin[i] - b.origin[i]).abs() < 1e-12, "{a:?} vs {b:?}");
        for j in 0..3 {
            assert!(
                (a.direction[i][j] - b.direction[i][j]).abs() < 1e-12,
                "{a:?} vs {b:?}"
            );
        }
    }
}

fn assert_err(
    result: ctrad::Result<Volume<f32>>,
    path: &Path,
    want: fn(&Error) -> bool,
    words: &str,
) {
    let err = result.expect_err("expected an error");
    let msg = err.to_string();
    assert!(want(&err), "wrong error variant: {err:?}");
    assert!(
        msg.contains(&path.display().to_string()),
        "message does not name {}: {msg}",
        path.display()
    );
    assert!(
        msg.to_lowercase().contains(words),
        "message lacks '{words}': {msg}"
    );
}
fn is_format(e: &Error) -> bool {
    matches!(e, Error::Format { .. })
}
fn is_limit(e: &Error) -> bool {
    matches!(e, Error::ResourceLimit { .. })
}
fn is_io(e: &Error) -> bool {
    matches!(e, Error::Io { .. })
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// Write a NRRD file from header text (blank line added) and data bytes.
fn write_nrrd(path: &Path, header: &str, data: &[u8]) {
    let mut bytes = header.as_bytes().to_vec();
    bytes.push(b'\n');
    bytes.extend_from_slice(data);
    std::fs::write(path, bytes).unwrap();
}

fn le_f32(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

#[test]
fn roundtrip_attached_and_detached() {
    let dir = scratch("rt");
    let float = test_volume(false);
    let int = test_volume(true);
    let cases = [
        ("raw.nrrd", &float, DataType::F32, false),
        ("gz.nrrd", &float, DataType::F32, true),
        ("i16.nrrd", &int, DataType::I16, true),
        ("f64.nrrd", &float, DataType::F64, false),
        ("det.nhdr", &float, DataType::F32, false),
        ("detgz.nhdr", &int, DataType::I32, true),
    ];
    for (name, vol, dtype, gz) in cases {
        let p = dir.join(name);
        nrrd::write(&p, vol, dtype, gz).unwrap();
        let back = read_volume(&p).unwrap();
        assert_exact_geometry(&vol.geometry, &back.geometry);
        assert_eq!(vol.data, back.data, "{name}");
    }
    assert!(dir.join("det.raw").is_file());
    assert!(dir.join("detgz.raw.gz").is_file());
    let header = std::fs::read_to_string(dir.join("det.nhdr")).unwrap();
    assert!(header.contains("data file: det.raw\n"), "{header}");
    assert!(header.contains("space: left-posterior-superior\n"));
}

#[test]
fn ct_phantom_converted_to_nrrd_reads_back_identical() {
    let Some(td) = common::shared_testdata() else {
        return;
    };
    let dir = scratch("ct");
    let nii = td.join("ibsi1/ct_phantom/nifti");
    let image = read_volume(&nii.join("phantom.nii.gz")).unwrap();
    let mask = read_volume(&nii.join("mask.nii.gz")).unwrap();
    nrrd::write(&dir.join("image.nrrd"), &image, DataType::F32, true).unwrap();
    nrrd::write(&dir.join("mask.nrrd"), &mask, DataType::U8, false).unwrap();
    let image2 = read_volume(&dir.join("image.nrrd")).unwrap();
    let mask2 = read_volume(&dir.join("mask.nrrd")).unwrap();
    assert_exact_geometry(&image.geometry, &image2.geometry);
    assert_exact_geometry(&mask.geometry, &mask2.geometry);
    assert!(image.data == image2.data);
    assert!(mask.data == mask2.data);
    assert_eq!(mask2.select(None).count(), 125_256);
    // And back to NIfTI: the same grid within NIfTI's f32 precision.
    nifti::write(&dir.join("image.nii"), &image2, DataType::F32).unwrap();
    let image3 = read_volume(&dir.join("image.nii")).unwrap();
    assert!(image.geometry.mismatch(&image3.geometry).is_none());
    assert!(image.data == image3.data);
    assert!(LARGEST.load(Ordering::Relaxed) < ALLOC_CEILING);
}

#[test]
fn ras_and_las_spaces_are_converted_to_lps() {
    let dir = scratch("ras");
    let data = le_f32(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]);
    let base = "type: float\ndimension: 3\nsizes: 2 2 2\nendian: little\nencoding: raw\n";
    let lps = dir.join("lps.nrrd");
    write_nrrd(&lps, &format!("NRRD0004\n{base}space: LPS\nspace directions: (-1,0,0) (0,-2,0) (0,0,3)\nspace origin: (-10,-20,30)\n"), &data);
    let ras = dir.join("ras.nrrd");
    write_nrrd(&ras, &format!("NRRD0004\n{base}space: right-anterior-superior\nspace directions: (1,0,0) (0,2,0) (0,0,3)\nspace origin: (10,20,30)\n"), &data);
    let las = dir.join("las.nrrd");
    write_nrrd(&las, &format!("NRRD0005\n{base}space: left-anterior-superior\nspace directions: (-1,0,0) (0,2,0) (0,0,3)\nspace origin: (-10,20,30)\n"), &data);
    let scanner = dir.join("scanner.nrrd");
    write_nrrd(&scanner, &format!("NRRD0004\n{base}space: scanner-xyz\nspace directions: (-1,0,0) (0,-2,0) (0,0,3)\nspace origin: (-10,-20,30)\n"), &data);
    let a = read_volume(&lps).unwrap();
    assert_eq!(a.geometry.origin, [-10.0, -20.0, 30.0]);
    assert_eq!(a.geometry.spacing, [1.0, 2.0, 3.0]);
    assert_eq!(
        a.geometry.direction,
        [[-1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, 1.0]]
    );
    for p in [&ras, &las, &scanner] {
        let b = read_volume(p).unwrap();
        assert_eq!(a.geometry, b.geometry, "{}", p.display());
        assert_eq!(a.data, b.data);
    }
}

#[test]
fn header_variants() {
    let dir = scratch("variants");
    let values = [1.0f32, -2.0, 3.5, 4.0, 5.0, 6.0];
    // 4-D with a leading size-1 axis, comments, key:=value lines, big endian, gzip.
    let big: Vec<u8> = values.iter().flat_map(|v| v.to_be_bytes()).collect();
    let p = dir.join("four.nrrd");
    write_nrrd(
        &p,
        "NRRD0005\n# a comment\ntype: float\ndimension: 4\nsizes: 1 3 2 1\nspace: LPS\n\
         space directions: none (0.5,0,0) (0,0.5,0) (0,0,4)\nkinds: list domain domain domain\n\
         endian: big\nencoding: gz\nmodality:=CT\nspace origin: (1,2,3)\n",
        &gzip(&big),
    );
    let v = read_volume(&p).unwrap();
    assert_eq!(v.data, values);
    assert_eq!(v.geometry.dims, [3, 2, 1]);
    assert_eq!(v.geometry.spacing, [0.5, 0.5, 4.0]);
    assert_eq!(v.geometry.origin, [1.0, 2.0, 3.0]);

    // No space: spacings give the spacing, identity axes, zero origin; ASCII encoding.
    let p = dir.join("ascii.nrrd");
    write_nrrd(
        &p,
        "NRRD0001\ntype: short\ndimension: 3\nsizes: 3 2 1\nspacings: 0.8 0.9 2\nencoding: text\n",
        b"1 -2 3.5\n4 5\n6\n",
    );
    let v = read_volume(&p).unwrap();
    assert_eq!(v.data, values);
    assert_eq!(
        v.geometry,
        Geometry::new([3, 2, 1], [0.8, 0.9, 2.0], [0.0; 3])
    );

    // Detached header in another folder, with line skip and byte skip.
    std::fs::create_dir_all(dir.join("data")).unwrap();
    let mut file = b"some text header\nsecond line\nXYZ".to_vec();
    file.extend_from_slice(&le_f32(&values));
    std::fs::write(dir.join("data/vol.bin"), &file).unwrap();
    let p = dir.join("skip.nhdr");
    std::fs::write(
        &p,
        "NRRD0004\ntype: float\ndimension: 3\nsizes: 3 2 1\nendian: little\nencoding: raw\n\
         data file: data/vol.bin\nline skip: 2\nbyte skip: 3\n",
    )
    .unwrap();
    assert_eq!(read_volume(&p).unwrap().data, values);
    // byte skip -1: the data are the file's last bytes.
    let p = dir.join("tail.nhdr");
    std::fs::write(&p, "NRRD0004\ntype: float\ndimension: 3\nsizes: 3 2 1\nendian: little\nencoding: raw\ndatafile: ./data/vol.bin\nbyte skip: -1\n").unwrap();
    assert_eq!(read_volume(&p).unwrap().data, values);
}

#[test]
fn nan_and_inf_are_read_as_is() {
    let dir = scratch("nan");
    let p = dir.join("nan.nrrd");
    write_nrrd(
        &p,
        "NRRD0004\ntype: float\ndimension: 3\nsizes: 3 1 1\nendian: little\nencoding: raw\n",
        &le_f32(&[f32::NAN, f32::INFINITY, -1.0]),
    );
    let v = read_volume(&p).unwrap();
    assert!(v.data[0].is_nan());
    assert_eq!(v.data[1..], [f32::INFINITY, -1.0]);
}

#[test]
fn missing_files_are_io_errors_naming_them() {
    let dir = scratch("missing");
    let p = dir.join("absent.nrrd");
    assert_err(read_volume(&p), &p, is_io, "no such file");
    let h = dir.join("h.nhdr");
    std::fs::write(
        &h,
        "NRRD0004\ntype: uchar\ndimension: 3\nsizes: 2 2 2\nencoding: raw\ndata file: gone.raw\n",
    )
    .unwrap();
    assert_err(
        read_volume(&h),
        &dir.join("gone.raw"),
        is_io,
        "no such file",
    );
}

#[test]
fn malformed_headers_are_format_errors() {
    let dir = scratch("malformed");
    let p = dir.join("bad.nrrd");
    let data = [0u8; 8];
    let cases = [
        ("NRRX0004\ntype: uchar\n", "magic"),
        ("NRRD0009\ntype: uchar\n", "version"),
        ("NRRD0004\ntype: quaternion\ndimension: 3\nsizes: 2 2 2\nencoding: raw\n", "unknown or unsupported type"),
        ("NRRD0004\ntype: block\ndimension: 3\nsizes: 2 2 2\nencoding: raw\n", "unsupported type"),
        ("NRRD0004\ntype: uchar\ndimension: 3\nencoding: raw\n", "missing required field 'sizes'"),
        ("NRRD0004\ntype: uchar\ndimension: 3\nsizes: 2 2\nencoding: raw\n", "sizes has 2 entries"),
        ("NRRD0004\ntype: uchar\ndimension: 3\nsizes: 2 2 2\nencoding: bzip2\n", "unsupported encoding 'bzip2'"),
        ("NRRD0004\ntype: float\ndimension: 3\nsizes: 1 2 1\nencoding: raw\n", "endian"),
        ("NRRD0004\ntype: uchar\ndimension: 4\nsizes: 2 2 2 2\nencoding: raw\n", "size-1"),
        ("NRRD0004\ntype: uchar\ndimension: 3\nsizes: 2 2 2\nencoding: raw\nspace: LPS\nspace directions: (1,0,0) (1,1,0) (0,0,1)\n", "not orthogonal"),
        ("NRRD0004\ntype: uchar\ndimension: 3\nsizes: 2 2 2\nencoding: raw\nspace: RAS\nspace directions: (1,0,0) (0,1) (0,0,1)\n", "3 components"),
        ("NRRD0004\ntype: uchar\ndimension: 3\nsizes: 2 2 2\nencoding: raw\nspace: 3D-left-handed\n", "unsupported space"),
    ];
    for (header, words) in cases {
        write_nrrd(&p, header, &data);
        assert_err(read_volume(&p), &p, is_format, words);
    }
}

#[test]
fn zero_length_dimension_is_format_error() {
    let p = scratch("zero").join("z.nrrd");
    write_nrrd(
        &p,
        "NRRD0004\ntype: uchar\ndimension: 3\nsizes: 2 0 2\nencoding: raw\n",
        &[],
    );
    assert_err(read_volume(&p), &p, is_format, "length 0");
}

#[test]
fn truncated_data_is_format_error() {
    let dir = scratch("trunc");
    let vol = Volume::from_vec(
        Geometry::new([40, 40, 40], [1.0; 3], [0.0; 3]),
        (0..64000).map(|i| (i % 977) as f32).collect(),
    )
    .unwrap();
    for (name, gz) in [("raw.nrrd", false), ("gz.nrrd", true), ("det.nhdr", false)] {
        let p = dir.join(name);
        nrrd::write(&p, &vol, DataType::F32, gz).unwrap();
        let data_path = if name.ends_with(".nhdr") {
            dir.join("det.raw")
        } else {
            p.clone()
        };
        let bytes = std::fs::read(&data_path).unwrap();
        std::fs::write(&data_path, &bytes[..bytes.len() - bytes.len() / 3]).unwrap();
        assert_err(read_volume(&p), &data_path, is_format, "truncated");
    }
    // Bad gzip: the payload is not a gzip stream at all.
    let p = dir.join("notgz.nrrd");
    write_nrrd(
        &p,
        "NRRD0004\ntype: uchar\ndimension: 3\nsizes: 2 2 2\nencoding: gzip\n",
        b"definitely not gzip data",
    );
    assert_err(read_volume(&p), &p, is_format, "");
    // ASCII data with too few values.
    let p = dir.join("ascii.nrrd");
    write_nrrd(
        &p,
        "NRRD0004\ntype: uchar\ndimension: 3\nsizes: 2 2 2\nencoding: ascii\n",
        b"1 2 3",
    );
    assert_err(read_volume(&p), &p, is_format, "truncated");
}

#[test]
fn huge_declared_size_is_refused_without_allocating() {
    let dir = scratch("huge");
    let p = dir.join("huge.nrrd");
    // 2^32 voxels declared in a header of about 80 bytes.
    write_nrrd(&p, "NRRD0004\ntype: double\ndimension: 3\nsizes: 65536 65536 1\nendian: little\nencoding: raw\n", &[0; 16]);
    assert_err(read_volume(&p), &p, is_limit, "limit");
    let roomy = ReadLimits {
        max_voxels: 1 << 33,
    };
    assert_err(read_volume_with(&p, &roomy), &p, is_format, "truncated");
    // Same with gzip and ASCII encodings: memory follows the data present.
    let gz = dir.join("huge_gz.nrrd");
    write_nrrd(&gz, "NRRD0004\ntype: double\ndimension: 3\nsizes: 65536 65536 1\nendian: little\nencoding: gzip\n", &gzip(&[0; 64]));
    assert_err(read_volume_with(&gz, &roomy), &gz, is_format, "truncated");
    let txt = dir.join("huge_txt.nrrd");
    write_nrrd(
        &txt,
        "NRRD0004\ntype: double\ndimension: 3\nsizes: 65536 65536 1\nencoding: ascii\n",
        b"1 2 3\n",
    );
    assert_err(read_volume_with(&txt, &roomy), &txt, is_format, "truncated");
    assert!(LARGEST.load(Ordering::Relaxed) < ALLOC_CEILING);
    // Overflowing sizes.
    write_nrrd(&p, "NRRD0004\ntype: uchar\ndimension: 3\nsizes: 4294967296 4294967296 4294967296\nencoding: raw\n", &[]);
    assert_err(read_volume_with(&p, &roomy), &p, is_limit, "limit");
}
