//! NIfTI reader/writer: round trips with rotated geometry, hand-built headers
//! (big-endian, scaling, qform only, NIfTI-2, .hdr/.img), and bad input.
//!
//! NaN and ±Inf voxels are read as they are (the pipeline rejects them later);
//! `nan_and_inf_are_read_as_is` pins that down.

mod common;

use ctrad::io::{nifti, read_volume, read_volume_with, DataType, ReadLimits};
use ctrad::volume::{Geometry, Volume};
use ctrad::Error;
use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Records the largest single allocation, to prove that untrusted sizes are
/// never allocated up front (even lazily committed memory would show here).
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
/// No test in this file legitimately allocates more than this in one block.
const ALLOC_CEILING: usize = 64 << 20;

fn scratch(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("io_nifti_{test}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A rotation by `deg` degrees about the (normalised) `axis`, columns = grid axes.
fn rotation(axis: [f64; 3], deg: f64) -> [[f64; 3]; 3] {
    let n = (axis[0] * axis[0] + axis[1] * axis[1] + axis[2] * axis[2]).sqrt();
    let [x, y, z] = axis.map(|v| v / n);
    let (s, c) = deg.to_radians().sin_cos();
    let t = 1.0 - c;
    [
        [t * x * x + c, t * x * y - s * z, t * x * z + s * y],
        [t * x * y + s * z, t * y * y + c, t * y * z - s * x],
        [t * x * z - s * y, t * y * z + s * x, t * z * z + c],
    ]
}

/// A 5×4×3 volume with non-unit spacing, an origin and a rotated (optionally
/// left-handed) grid; values are integers when `integer`.
fn test_volume(left_handed: bool, integer: bool) -> Volume<f32> {
    let mut direction = rotation([1.0, 2.0, 0.5], 30.0);
    if left_handed {
        direction.iter_mut().for_each(|r| r[2] = -r[2]);
    }
    let geometry = Geometry {
        dims: [5, 4, 3],
        spacing: [0.7, 1.3, 2.5],
        origin: [-12.5, 30.25, 7.0],
        direction,
    };
    let data = (0..60)
        .map(|i| {
            let v = i as f32 * 3.0 - 50.0;
            if integer {
                v
            } else {
                v * 0.37
            }
        })
        .collect();
    Volume::from_vec(geometry, data).unwrap()
}

/// Geometry equal within f32 storage precision.
fn assert_same_geometry(a: &Geometry, b: &Geometry) {
    assert_eq!(a.dims, b.dims);
    for i in 0..3 {
        assert!((a.spacing[i] - b.spacing[i]).abs() < 1e-5, "{a:?} vs {b:?}");
        assert!((a.origin[i] - b.origin[i]).abs() < 1e-4, "{a:?} vs {b:?}");
        for j in 0..3 {
            assert!(
                (a.direction[i][j] - b.direction[i][j]).abs() < 1e-5,
                "{a:?} vs {b:?}"
            );
        }
    }
}

/// Assert the error variant and that the message names `path`.
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

/// A hand-built NIfTI-1 (348) or NIfTI-2 (540) header followed by 4 zero
/// extension bytes, with identity pixdim geometry unless fields are patched.
struct Hdr {
    v2: bool,
    big: bool,
    dim: [i64; 8],
    datatype: i16,
    bitpix: i16,
    pixdim: [f64; 8],
    vox_offset: f64,
    slope: f64,
    inter: f64,
    magic: &'static [u8; 4],
}

impl Hdr {
    fn new(dims: [i64; 3], datatype: i16, bitpix: i16) -> Hdr {
        Hdr {
            v2: false,
            big: false,
            dim: [3, dims[0], dims[1], dims[2], 1, 1, 1, 1],
            datatype,
            bitpix,
            pixdim: [1.0, 1.5, 2.0, 3.0, 0.0, 0.0, 0.0, 0.0],
            vox_offset: 352.0,
            slope: 0.0,
            inter: 0.0,
            magic: b"n+1\0",
        }
    }

    fn bytes(&self) -> Vec<u8> {
        let size = if self.v2 { 540 } else { 348 };
        let mut h = vec![0u8; size + 4];
        let big = self.big;
        let mut put = |o: usize, le: &[u8]| {
            let mut b = le.to_vec();
            if big {
                b.reverse();
            }
            h[o..o + b.len()].copy_from_slice(&b);
        };
        put(0, &(size as i32).to_le_bytes());
        if self.v2 {
            put(12, &self.datatype.to_le_bytes());
            put(14, &self.bitpix.to_le_bytes());
            for i in 0..8 {
                put(16 + 8 * i, &self.dim[i].to_le_bytes());
                put(104 + 8 * i, &self.pixdim[i].to_le_bytes());
            }
            put(168, &(self.vox_offset as i64).to_le_bytes());
            put(176, &self.slope.to_le_bytes());
            put(184, &self.inter.to_le_bytes());
            h[4..8].copy_from_slice(self.magic);
            h[8..12].copy_from_slice(b"\r\n\x1a\n");
        } else {
            for i in 0..8 {
                put(40 + 2 * i, &(self.dim[i] as i16).to_le_bytes());
                put(76 + 4 * i, &(self.pixdim[i] as f32).to_le_bytes());
            }
            put(70, &self.datatype.to_le_bytes());
            put(72, &self.bitpix.to_le_bytes());
            put(108, &(self.vox_offset as f32).to_le_bytes());
            put(112, &(self.slope as f32).to_le_bytes());
            put(116, &(self.inter as f32).to_le_bytes());
            h[344..348].copy_from_slice(self.magic);
        }
        h
    }
}

#[test]
fn roundtrip_f32_gzip_rotated() {
    let dir = scratch("rt_f32");
    let vol = test_volume(false, false);
    let p = dir.join("v.nii.gz");
    nifti::write(&p, &vol, DataType::F32).unwrap();
    let back = read_volume(&p).unwrap();
    assert_same_geometry(&vol.geometry, &back.geometry);
    assert_eq!(vol.data, back.data);
}

#[test]
fn roundtrip_integer_types_left_handed() {
    let dir = scratch("rt_int");
    let vol = test_volume(true, true);
    for (name, dtype) in [
        ("i16.nii", DataType::I16),
        ("i32.nii.gz", DataType::I32),
        ("f64.nii", DataType::F64),
    ] {
        let p = dir.join(name);
        nifti::write(&p, &vol, dtype).unwrap();
        let back = read_volume(&p).unwrap();
        assert_same_geometry(&vol.geometry, &back.geometry);
        assert_eq!(vol.data, back.data, "{name}");
    }
    // u8 cannot hold the negative values: an error naming the file, and no file left behind.
    let p = dir.join("u8.nii");
    let err = nifti::write(&p, &vol, DataType::U8).unwrap_err();
    assert!(err.to_string().contains("u8.nii"), "{err}");
    assert!(!p.exists());
    let shifted = vol.map(|v| v + 50.0);
    nifti::write(&p, &shifted, DataType::U8).unwrap();
    assert_eq!(read_volume(&p).unwrap().data, shifted.data);
}

#[test]
fn qform_alone_gives_the_same_geometry() {
    let dir = scratch("qform");
    for left_handed in [false, true] {
        let vol = test_volume(left_handed, true);
        let p = dir.join("q.nii");
        nifti::write(&p, &vol, DataType::I16).unwrap();
        let mut bytes = std::fs::read(&p).unwrap();
        bytes[254..256].copy_from_slice(&0i16.to_le_bytes()); // sform_code = 0
        std::fs::write(&p, &bytes).unwrap();
        let back = read_volume(&p).unwrap();
        assert_same_geometry(&vol.geometry, &back.geometry);
    }
}

#[test]
fn big_endian_with_scaling_and_pixdim_geometry() {
    let dir = scratch("big");
    let mut h = Hdr::new([2, 2, 1], 4, 16);
    h.big = true;
    h.slope = 2.0;
    h.inter = -1.0;
    let mut bytes = h.bytes();
    for v in [1i16, -2, 300, 0] {
        bytes.extend_from_slice(&v.to_be_bytes());
    }
    let p = dir.join("big.nii");
    std::fs::write(&p, &bytes).unwrap();
    let vol = read_volume(&p).unwrap();
    assert_eq!(vol.data, vec![1.0, -5.0, 599.0, -1.0]);
    // No qform/sform: pixdim spacing, identity RAS axes, i.e. x and y flipped in LPS.
    assert_eq!(vol.geometry.spacing, [1.5, 2.0, 3.0]);
    assert_eq!(vol.geometry.direction[0][0], -1.0);
    assert_eq!(vol.geometry.direction[1][1], -1.0);
    assert_eq!(vol.geometry.direction[2][2], 1.0);
}

/// Float32 little-endian with scaling, data after an extension gap, plain
/// and gzip: both one-go readers apply slope and intercept.
#[test]
fn float32_with_scaling_after_a_gap() {
    let dir = scratch("f32scale");
    let mut h = Hdr::new([2, 2, 1], 16, 32);
    h.slope = 2.0;
    h.inter = -1.0;
    h.vox_offset = 360.0;
    let mut bytes = h.bytes();
    bytes.resize(360, 0);
    for v in [1f32, -2.5, 300.0, 0.0] {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    for (name, data) in [("f.nii", bytes.clone()), ("f.nii.gz", gzip(&bytes))] {
        let p = dir.join(name);
        std::fs::write(&p, &data).unwrap();
        let vol = read_volume(&p).unwrap();
        assert_eq!(vol.data, vec![1.0, -6.0, 599.0, -1.0], "{name}");
    }
}

#[test]
fn nifti2_and_hdr_img_pair() {
    let dir = scratch("v2");
    let values = [1.5f32, -2.0, 7.25, 0.0, 3.0, 4.0];
    let raw: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();

    let mut h = Hdr::new([3, 2, 1], 16, 32);
    h.v2 = true;
    h.magic = b"n+2\0";
    h.vox_offset = 544.0;
    let mut bytes = h.bytes();
    bytes.extend_from_slice(&raw);
    let p = dir.join("two.nii.gz");
    std::fs::write(&p, gzip(&bytes)).unwrap();
    let vol = read_volume(&p).unwrap();
    assert_eq!(vol.data, values);
    assert_eq!(vol.geometry.dims, [3, 2, 1]);
    assert_eq!(vol.geometry.spacing, [1.5, 2.0, 3.0]);

    let mut h = Hdr::new([3, 2, 1], 16, 32);
    h.magic = b"ni1\0";
    h.vox_offset = 0.0;
    std::fs::write(dir.join("pair.hdr"), h.bytes()).unwrap();
    std::fs::write(dir.join("pair.img"), &raw).unwrap();
    assert_eq!(read_volume(&dir.join("pair.hdr")).unwrap().data, values);
    // A missing .img is an I/O error naming the image file.
    std::fs::write(dir.join("lonely.hdr"), h.bytes()).unwrap();
    assert_err(
        read_volume(&dir.join("lonely.hdr")),
        &dir.join("lonely.img"),
        is_io,
        "not found",
    );
}

#[test]
fn phantoms_read_and_rewrite_identically() {
    let Some(td) = common::shared_testdata() else {
        return;
    };
    let dir = scratch("phantom");
    let dig = read_volume(&td.join("ibsi1/digital_phantom/phantom.nii.gz")).unwrap();
    assert_eq!(dig.geometry.dims, [5, 4, 4]);
    let ct = read_volume(&td.join("ibsi1/ct_phantom/nifti/phantom.nii.gz")).unwrap();
    // The CT phantom's sform is diag(-0.977, -0.977, 3) in RAS: identity in LPS.
    assert_eq!(
        ct.geometry.direction,
        [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
    );
    assert!((ct.geometry.origin[0] + 174.3945).abs() < 1e-3);
    assert!((ct.geometry.origin[2] + 100.4).abs() < 1e-3);
    let p = dir.join("ct.nii.gz");
    nifti::write(&p, &ct, DataType::F32).unwrap();
    let back = read_volume(&p).unwrap();
    assert!(ct.geometry.mismatch(&back.geometry).is_none());
    assert!(ct.data == back.data);
    assert!(LARGEST.load(Ordering::Relaxed) < ALLOC_CEILING);
}

#[test]
fn nan_and_inf_are_read_as_is() {
    let dir = scratch("nan");
    let mut vol = test_volume(false, false);
    vol.data[0] = f32::NAN;
    vol.data[1] = f32::INFINITY;
    vol.data[2] = f32::NEG_INFINITY;
    let p = dir.join("nan.nii");
    nifti::write(&p, &vol, DataType::F32).unwrap();
    let back = read_volume(&p).unwrap();
    assert!(back.data[0].is_nan());
    assert_eq!(back.data[1..], vol.data[1..]);
    // Integer types cannot hold them.
    assert!(nifti::write(&dir.join("nan_i16.nii"), &vol, DataType::I16).is_err());
}

#[test]
fn missing_file_is_io_error_naming_it() {
    let p = scratch("missing").join("absent.nii.gz");
    assert_err(read_volume(&p), &p, is_io, "no such file");
    assert_err(nifti::read(&p), &p, is_io, "no such file");
}

#[test]
fn truncated_gzip_is_format_error() {
    let dir = scratch("trunc_gz");
    let p = dir.join("t.nii.gz");
    let vol = Volume::from_vec(
        Geometry::new([40, 40, 40], [1.0; 3], [0.0; 3]),
        (0..64000).map(|i| (i % 977) as f32).collect(),
    )
    .unwrap();
    nifti::write(&p, &vol, DataType::F32).unwrap();
    let bytes = std::fs::read(&p).unwrap();
    std::fs::write(&p, &bytes[..bytes.len() / 2]).unwrap();
    assert_err(read_volume(&p), &p, is_format, "truncated");
    // Corrupt (not merely short) deflate data.
    let mut bad = bytes.clone();
    for b in bad[40..200].iter_mut() {
        *b ^= 0x5a;
    }
    std::fs::write(&p, &bad).unwrap();
    assert_err(read_volume(&p), &p, is_format, "");
}

#[test]
fn truncated_raw_data_is_format_error() {
    let dir = scratch("trunc_raw");
    let p = dir.join("t.nii");
    nifti::write(&p, &test_volume(false, false), DataType::F32).unwrap();
    let bytes = std::fs::read(&p).unwrap();
    std::fs::write(&p, &bytes[..bytes.len() - 3]).unwrap();
    assert_err(read_volume(&p), &p, is_format, "truncated");
    // Shorter than the header itself.
    std::fs::write(&p, &bytes[..20]).unwrap();
    assert_err(read_volume(&p), &p, is_format, "truncated");
}

#[test]
fn wrong_magic_is_format_error() {
    let dir = scratch("magic");
    let p = dir.join("m.nii");
    let mut h = Hdr::new([2, 2, 2], 2, 8);
    h.magic = b"abc\0";
    let mut bytes = h.bytes();
    bytes.extend_from_slice(&[0; 8]);
    std::fs::write(&p, &bytes).unwrap();
    assert_err(read_volume(&p), &p, is_format, "magic");
    std::fs::write(&p, b"this is not a nifti file at all, just some text.").unwrap();
    assert_err(read_volume(&p), &p, is_format, "not a nifti");
}

#[test]
fn zero_length_dimension_is_format_error() {
    let dir = scratch("zero");
    let p = dir.join("z.nii");
    std::fs::write(&p, Hdr::new([4, 0, 2], 2, 8).bytes()).unwrap();
    assert_err(read_volume(&p), &p, is_format, "length 0");
}

#[test]
fn huge_declared_size_is_refused_without_allocating() {
    let dir = scratch("huge");
    // 2048 × 2048 × 1024 = 2^32 float64 voxels in a ~100-byte gzip file.
    let p = dir.join("huge.nii.gz");
    std::fs::write(&p, gzip(&Hdr::new([2048, 2048, 1024], 64, 64).bytes())).unwrap();
    assert!(std::fs::metadata(&p).unwrap().len() < 200);
    assert_err(read_volume(&p), &p, is_limit, "limit");
    // Under a raised limit the same file is merely truncated, and still nothing
    // close to the declared 32 GiB is allocated.
    let roomy = ReadLimits {
        max_voxels: 1 << 33,
    };
    assert_err(read_volume_with(&p, &roomy), &p, is_format, "truncated");
    let raw = dir.join("huge.nii");
    std::fs::write(&raw, Hdr::new([2048, 2048, 1024], 64, 64).bytes()).unwrap();
    assert_err(read_volume_with(&raw, &roomy), &raw, is_format, "truncated");
    assert!(LARGEST.load(Ordering::Relaxed) < ALLOC_CEILING);
    // A small explicit cap applies to ordinary files too.
    let small = dir.join("small.nii");
    nifti::write(&small, &test_volume(false, false), DataType::F32).unwrap();
    assert_err(
        read_volume_with(&small, &ReadLimits { max_voxels: 10 }),
        &small,
        is_limit,
        "limit",
    );
}

#[test]
fn gzip_bomb_is_inflated_only_as_far_as_needed() {
    let dir = scratch("bomb");
    let p = dir.join("bomb.nii.gz");
    // A valid 4-voxel header followed by 256 MiB of zeros (~250 KiB compressed).
    let mut e = flate2::write::GzEncoder::new(
        std::fs::File::create(&p).unwrap(),
        flate2::Compression::fast(),
    );
    e.write_all(&Hdr::new([2, 2, 1], 2, 8).bytes()).unwrap();
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..256 {
        e.write_all(&zeros).unwrap();
    }
    e.finish().unwrap();
    let vol = read_volume(&p).unwrap();
    assert_eq!(vol.data, vec![0.0; 4]);
    assert!(LARGEST.load(Ordering::Relaxed) < ALLOC_CEILING);
}

#[test]
fn unsupported_datatype_is_format_error() {
    let dir = scratch("dtype");
    let p = dir.join("rgb.nii");
    let mut bytes = Hdr::new([2, 2, 1], 128, 24).bytes();
    bytes.extend_from_slice(&[0; 12]);
    std::fs::write(&p, &bytes).unwrap();
    assert_err(read_volume(&p), &p, is_format, "datatype 128");
    // 4-D data with several volumes is refused too.
    let mut h = Hdr::new([2, 2, 1], 2, 8);
    h.dim[0] = 4;
    h.dim[4] = 3;
    std::fs::write(&p, h.bytes()).unwrap();
    assert_err(read_volume(&p), &p, is_format, "only 3-d");
}
