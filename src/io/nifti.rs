//! NIfTI-1 and NIfTI-2 reader (`.nii`, `.nii.gz`, `.hdr`+`.img` pairs) and
//! NIfTI-1 writer.
//!
//! Header fields used (NIfTI-1 byte offset / NIfTI-2 byte offset):
//! - `sizeof_hdr` (0/0): 348 or 540; also tells the byte order.
//! - `magic` (344/4): `n+1`/`n+2` single file, `ni1`/`ni2` header + `.img` pair.
//! - `dim` (40/16): `dim[0]` axes, `dim[1..=3]` the grid; higher axes must be 1.
//! - `datatype` (70/12): sample type code (2 u8, 4 i16, 8 i32, 16 f32, 64 f64,
//!   256 i8, 512 u16, 768 u32, 1024 i64, 1280 u64).
//! - `pixdim` (76/104): `pixdim[0]` is `qfac` (±1, handedness of the qform),
//!   `pixdim[1..=3]` the voxel spacing.
//! - `vox_offset` (108/168): byte offset of the voxel data.
//! - `scl_slope`, `scl_inter` (112/176, 116/184): stored value `v` means
//!   `v * slope + inter`; slope 0 means "no scaling".
//! - `xyzt_units` (123/500): spatial unit in bits 0–2 (1 m, 2 mm, 3 µm); ctrad works in mm.
//! - `qform_code`, `sform_code` (252/344, 254/348): > 0 when the transform is set.
//! - `quatern_b,c,d`, `qoffset_x,y,z` (256/352): the qform, a rotation quaternion
//!   (a = sqrt(1 − b² − c² − d²)) plus offset; spacing from `pixdim`.
//! - `srow_x,y,z` (280/400): the sform, a general 3×4 affine `world = S · (i, j, k, 1)`.
//!
//! Geometry comes from the sform when `sform_code > 0` (and its axes are
//! orthogonal), else from the qform, else from `pixdim` alone. NIfTI world
//! coordinates are RAS; ctrad stores LPS (as DICOM does), so the first two world
//! rows are negated on reading and on writing.

use super::{open_maybe_gz, read_bounded, skip_bytes, DataType, ReadLimits};
use crate::error::{Error, Result};
use crate::volume::{label_predicate, Geometry, Mask, Volume};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

const NIFTI1_HEADER: usize = 348;
const NIFTI2_HEADER: usize = 540;
/// The largest `vox_offset` accepted (header plus extensions).
const MAX_VOX_OFFSET: u64 = 1 << 28;
/// Cosine above which two sform axes count as non-orthogonal (sheared).
const SHEAR_TOLERANCE: f64 = 1e-3;

/// Read a NIfTI file as a float volume (intensities scaled), with limits from the environment.
pub fn read(path: &Path) -> Result<Volume<f32>> {
    read_with(path, &ReadLimits::from_env()?)
}

/// Read a NIfTI file as a float volume with explicit limits.
pub fn read_with(path: &Path, limits: &ReadLimits) -> Result<Volume<f32>> {
    let (h, samples) = read_samples(path, limits)?;
    let data = match samples {
        Samples::Floats(v) => v,
        Samples::Raw(raw) => h.dtype.decode(raw.bytes(), h.big, h.slope, h.inter),
    };
    Volume::from_vec(h.geometry(path)?, data)
}

/// Read a NIfTI label map as the mask of the voxels [`Volume::select`] would
/// pick for `label`, without building the float volume in between.
pub fn read_mask_with(path: &Path, limits: &ReadLimits, label: Option<i64>) -> Result<Mask> {
    let (h, samples) = read_samples(path, limits)?;
    let pick = label_predicate(label);
    let data = match samples {
        Samples::Floats(v) => v.into_iter().map(pick).collect(),
        Samples::Raw(raw) if h.dtype.size() == 1 => h
            .dtype
            .mask_in_place(raw.buf, raw.range, h.big, h.slope, h.inter, pick),
        Samples::Raw(raw) => h
            .dtype
            .decode_mapped(raw.bytes(), h.big, h.slope, h.inter, pick),
    };
    Volume::from_vec(h.geometry(path)?, data)
}

/// Voxel samples as read: already scaled floats (little-endian float32 read
/// in place), or the raw stored bytes.
enum Samples {
    Floats(Vec<f32>),
    Raw(RawBytes),
}

/// Stored sample bytes: `buf[range]` (the buffer may hold the header too,
/// when the one-call inflater filled it).
struct RawBytes {
    buf: Vec<u8>,
    range: std::ops::Range<usize>,
}

impl RawBytes {
    fn bytes(&self) -> &[u8] {
        &self.buf[self.range.clone()]
    }
}

/// The grid of a NIfTI image and the byte size of its samples (header only).
pub fn read_layout(path: &Path, limits: &ReadLimits) -> Result<(Geometry, usize)> {
    let mut src = open_maybe_gz(path)?;
    let head = read_head(&mut *src, path)?;
    let h = Header::parse(&head, path)?;
    let n = limits.check(path, h.dims)?;
    Ok((h.geometry(path)?, n.saturating_mul(h.dtype.size())))
}

/// Decode a NIfTI image slice by slice in storage order, each slice's
/// values as [`read_with`] gives them, handing `(z, slice)` to `f` until it
/// returns false: memory for one slice, whatever the image's size (gzip is
/// inflated as a stream).
pub fn for_each_slice(
    path: &Path,
    limits: &ReadLimits,
    f: impl FnMut(usize, &[f32]) -> bool,
) -> Result<()> {
    let (h, mut data) = voxel_stream(path, limits)?;
    super::decode_slices(
        &mut *data, h.dims, h.dtype, h.big, h.slope, h.inter, path, f,
    )
}

/// The header of a NIfTI file and a reader positioned at its first sample.
fn voxel_stream(path: &Path, limits: &ReadLimits) -> Result<(Header, Box<dyn Read>)> {
    let mut src = open_maybe_gz(path)?;
    let head = read_head(&mut *src, path)?;
    let h = Header::parse(&head, path)?;
    limits.check(path, h.dims)?;
    if h.pair {
        let img = image_path(path)?;
        let mut data = open_maybe_gz(&img)?;
        skip_bytes(&mut *data, h.vox_offset, &img)?;
        return Ok((h, data));
    }
    let offset = h.vox_offset.max(h.header_size as u64 + 4);
    let prefix = if offset <= head.len() as u64 {
        head[offset as usize..].to_vec()
    } else {
        skip_bytes(&mut *src, offset - head.len() as u64, path)?;
        Vec::new()
    };
    Ok((h, Box::new(std::io::Cursor::new(prefix).chain(src))))
}

/// The header and the samples of a NIfTI file (single file, or a pair).
fn read_samples(path: &Path, limits: &ReadLimits) -> Result<(Header, Samples)> {
    if let Some(r) = read_in_one_go(path, limits)? {
        return Ok(r);
    }
    let mut src = open_maybe_gz(path)?;
    let head = read_head(&mut *src, path)?;
    let h = Header::parse(&head, path)?;
    let n = limits.check(path, h.dims)?;
    let nbytes = n
        .checked_mul(h.dtype.size())
        .ok_or_else(|| Error::ResourceLimit {
            path: path.to_path_buf(),
            reason: format!("{n} voxels overflow the address space"),
        })?;
    let raw = if h.pair {
        let img = image_path(path)?;
        let mut data = open_maybe_gz(&img)?;
        skip_bytes(&mut *data, h.vox_offset, &img)?;
        read_bounded(&mut *data, nbytes, &img, "voxel data")?
    } else {
        // `head` holds the first bytes of the file; the data starts at vox_offset.
        let offset = h.vox_offset.max(h.header_size as u64 + 4);
        let prefix: &[u8] = if offset <= head.len() as u64 {
            &head[offset as usize..]
        } else {
            skip_bytes(&mut *src, offset - head.len() as u64, path)?;
            &[]
        };
        let prefix = &prefix[..prefix.len().min(nbytes)];
        read_bounded(&mut prefix.chain(&mut *src), nbytes, path, "voxel data")?
    };
    let range = 0..raw.len();
    Ok((h, Samples::Raw(RawBytes { buf: raw, range })))
}

/// The fast paths for a single file, opened once: its first bytes tell a
/// `.nii.gz` ([`read_gz_in_one_go`]) from an uncompressed `.nii`
/// ([`read_plain_in_one_go`]). `None` when the file fits neither: the
/// streaming reader then handles it and reports any error.
fn read_in_one_go(path: &Path, limits: &ReadLimits) -> Result<Option<(Header, Samples)>> {
    let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    let head = read_head(&mut file, path)?;
    if head.starts_with(&[0x1f, 0x8b]) {
        read_gz_in_one_go(file, len, head, path, limits)
    } else {
        read_plain_in_one_go(file, len, &head, path, limits)
    }
}

/// Fast path for an uncompressed single-file `.nii` whose first bytes,
/// `head`, were read from `file` (`len` bytes long): the voxel bytes in one
/// read of the size the header gives, once the file is known to hold them;
/// float32 little-endian lands in the volume's storage. `None` for a `.hdr`
/// pair or a short file.
fn read_plain_in_one_go(
    mut file: std::fs::File,
    len: u64,
    head: &[u8],
    path: &Path,
    limits: &ReadLimits,
) -> Result<Option<(Header, Samples)>> {
    use std::io::{Seek, SeekFrom};
    let h = Header::parse(head, path)?;
    if h.pair {
        return Ok(None);
    }
    let n = limits.check(path, h.dims)?;
    let offset = h.vox_offset.max(h.header_size as u64 + 4);
    let Some(nbytes) = n.checked_mul(h.dtype.size()) else {
        return Ok(None);
    };
    if offset
        .checked_add(nbytes as u64)
        .is_none_or(|end| end > len)
    {
        return Ok(None);
    }
    file.seek(SeekFrom::Start(offset))
        .map_err(|e| super::read_error(path, e))?;
    let samples = if h.dtype == DataType::F32 && !h.big {
        let mut words = vec![0f32; n];
        file.read_exact(f32_bytes_mut(&mut words))
            .map_err(|e| super::read_error(path, e))?;
        scale_in_place(&mut words, &h);
        Samples::Floats(words)
    } else {
        let mut buf = vec![0u8; nbytes];
        file.read_exact(&mut buf)
            .map_err(|e| super::read_error(path, e))?;
        Samples::Raw(RawBytes {
            buf,
            range: 0..nbytes,
        })
    };
    Ok(Some((h, samples)))
}

/// The bytes of an f32 buffer, writable.
fn f32_bytes_mut(words: &mut [f32]) -> &mut [u8] {
    // SAFETY: any byte pattern is a valid f32, and u8 has alignment 1; the
    // byte view covers exactly the slice's storage.
    unsafe {
        std::slice::from_raw_parts_mut(words.as_mut_ptr() as *mut u8, std::mem::size_of_val(words))
    }
}

/// Apply the header's intensity scaling to float32 samples read in place.
fn scale_in_place(words: &mut [f32], h: &Header) {
    if h.slope != 1.0 || h.inter != 0.0 {
        for v in words {
            *v = (*v as f64 * h.slope + h.inter) as f32;
        }
    }
}

/// Fast path for a single-file `.nii.gz` whose first bytes, `head`, were
/// read from `file` (`len` bytes long): the header is inflated first (and
/// checked against `limits`), then the whole stream in one call of libdeflate
/// into a buffer of the expected size — about twice as fast as streaming.
/// `None` when the file does not fit that path (a `.hdr` pair, a multi-member
/// or padded stream, a short stream).
fn read_gz_in_one_go(
    mut file: std::fs::File,
    len: u64,
    head: Vec<u8>,
    path: &Path,
    limits: &ReadLimits,
) -> Result<Option<(Header, Samples)>> {
    /// Compressed files above this size are streamed rather than held whole.
    const MAX_IN_MEMORY: u64 = 1 << 30;
    if !(18..=MAX_IN_MEMORY).contains(&len) {
        return Ok(None);
    }
    let mut gz = head;
    gz.reserve_exact((len as usize).saturating_sub(gz.len()));
    file.read_to_end(&mut gz).map_err(|e| Error::io(path, e))?;
    let head = read_head(&mut flate2::bufread::GzDecoder::new(&gz[..]), path)?;
    let h = Header::parse(&head, path)?;
    if h.pair {
        return Ok(None);
    }
    let n = limits.check(path, h.dims)?;
    let offset = h.vox_offset.max(h.header_size as u64 + 4) as usize;
    let Some(need) = n
        .checked_mul(h.dtype.size())
        .and_then(|b| b.checked_add(offset))
    else {
        return Ok(None);
    };
    // Allocate only what the file can hold: deflate expands at most ~1032:1,
    // and the gzip trailer's ISIZE (length mod 2³²) must agree with the
    // header (a little trailing data allowed). Anything else is streamed, so
    // that memory grows with the data actually present.
    if need as u64 > len.saturating_mul(1032) {
        return Ok(None);
    }
    let isize = u32::from_le_bytes(gz[gz.len() - 4..].try_into().expect("4 bytes")) as u64;
    let want = need as u64 & 0xffff_ffff;
    let size = match isize.checked_sub(want) {
        Some(extra) if extra <= 1 << 20 => need + extra as usize,
        _ => return Ok(None),
    };
    let inflate = |out: &mut [u8]| {
        matches!(
            libdeflater::Decompressor::new().gzip_decompress(&gz, out),
            Ok(got) if got >= need
        )
    };
    let samples = if h.dtype == DataType::F32 && !h.big && offset.is_multiple_of(4) {
        // Inflate into f32 storage: little-endian float32 data (the usual
        // CT case) becomes the volume without a second buffer.
        let mut words = vec![0f32; size.div_ceil(4)];
        if !inflate(&mut f32_bytes_mut(&mut words)[..size]) {
            return Ok(None);
        }
        words.copy_within(offset / 4..need / 4, 0);
        words.truncate(n);
        scale_in_place(&mut words, &h);
        Samples::Floats(words)
    } else {
        let mut buf = vec![0u8; size];
        if !inflate(&mut buf) {
            return Ok(None);
        }
        Samples::Raw(RawBytes {
            buf,
            range: offset..need,
        })
    };
    Ok(Some((h, samples)))
}

/// Read up to the NIfTI-2 header size (fewer bytes for a short file).
fn read_head(src: &mut dyn Read, path: &Path) -> Result<Vec<u8>> {
    let mut head = Vec::with_capacity(NIFTI2_HEADER);
    src.take(NIFTI2_HEADER as u64)
        .read_to_end(&mut head)
        .map_err(|e| super::read_error(path, e))?;
    Ok(head)
}

/// The `.img` (or `.img.gz`) file beside a `.hdr` header.
fn image_path(hdr: &Path) -> Result<PathBuf> {
    let name = hdr.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let lower = name.to_ascii_lowercase();
    let stem = lower
        .strip_suffix(".hdr.gz")
        .or_else(|| lower.strip_suffix(".hdr"))
        .map(|s| &name[..s.len()])
        .ok_or_else(|| {
            Error::format(
                hdr,
                "header of a .hdr/.img pair must be named *.hdr or *.hdr.gz",
            )
        })?;
    let candidates = [format!("{stem}.img"), format!("{stem}.img.gz")];
    candidates
        .iter()
        .map(|c| hdr.with_file_name(c))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            Error::io(
                hdr.with_file_name(&candidates[0]),
                std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "image file of the pair not found",
                ),
            )
        })
}

/// Byte-order aware field access to a header.
struct Fields<'a> {
    b: &'a [u8],
    big: bool,
}

impl Fields<'_> {
    fn arr<const N: usize>(&self, o: usize) -> [u8; N] {
        let mut a: [u8; N] = self.b[o..o + N].try_into().unwrap();
        if self.big {
            a.reverse();
        }
        a
    }
    fn i16(&self, o: usize) -> i64 {
        i16::from_le_bytes(self.arr(o)) as i64
    }
    fn i32(&self, o: usize) -> i64 {
        i32::from_le_bytes(self.arr(o)) as i64
    }
    fn i64(&self, o: usize) -> i64 {
        i64::from_le_bytes(self.arr(o))
    }
    fn f32(&self, o: usize) -> f64 {
        f32::from_le_bytes(self.arr(o)) as f64
    }
    fn f64(&self, o: usize) -> f64 {
        f64::from_le_bytes(self.arr(o))
    }
}

/// Spacing, direction cosines and origin of a grid (file units, RAS).
type Transform = ([f64; 3], [[f64; 3]; 3], [f64; 3]);

/// The header fields ctrad uses, version independent.
struct Header {
    header_size: usize,
    big: bool,
    pair: bool,
    dtype: DataType,
    dims: [usize; 3],
    pixdim: [f64; 4],
    vox_offset: u64,
    slope: f64,
    inter: f64,
    qform_code: i64,
    sform_code: i64,
    /// quatern_b, c, d, qoffset_x, y, z.
    quatern: [f64; 6],
    srow: [[f64; 4]; 3],
    /// Millimetres per file unit.
    unit: f64,
}

impl Header {
    fn parse(b: &[u8], path: &Path) -> Result<Header> {
        if b.len() < 4 {
            return Err(Error::format(
                path,
                format!("file has only {} bytes, not a NIfTI header", b.len()),
            ));
        }
        let le = i32::from_le_bytes(b[..4].try_into().unwrap());
        let be = i32::from_be_bytes(b[..4].try_into().unwrap());
        let (size, big) = match (le, be) {
            (348, _) => (NIFTI1_HEADER, false),
            (_, 348) => (NIFTI1_HEADER, true),
            (540, _) => (NIFTI2_HEADER, false),
            (_, 540) => (NIFTI2_HEADER, true),
            _ => {
                return Err(Error::format(
                    path,
                    "not a NIfTI file (sizeof_hdr is neither 348 nor 540)",
                ))
            }
        };
        if b.len() < size {
            return Err(Error::format(
                path,
                format!(
                    "truncated: file has {} bytes, shorter than its {size}-byte NIfTI header",
                    b.len()
                ),
            ));
        }
        let f = Fields { b, big };
        let v2 = size == NIFTI2_HEADER;
        // Offsets of the fields in each version.
        let o = |v1: usize, v2o: usize| if v2 { v2o } else { v1 };
        let magic = &b[o(344, 4)..o(344, 4) + 4];
        let pair =
            match (v2, magic) {
                (false, b"n+1\0") | (true, b"n+2\0") => false,
                (false, b"ni1\0") | (true, b"ni2\0") => true,
                (false, _) => return Err(Error::format(
                    path,
                    "no NIfTI-1 magic ('n+1'/'ni1'): Analyze 7.5 or corrupt header, not supported",
                )),
                (true, _) => {
                    return Err(Error::format(
                        path,
                        "bad NIfTI-2 magic (expected 'n+2' or 'ni2')",
                    ))
                }
            };
        let dim = |i: usize| {
            if v2 {
                f.i64(16 + 8 * i)
            } else {
                f.i16(40 + 2 * i)
            }
        };
        let ndim = dim(0);
        if !(1..=7).contains(&ndim) {
            return Err(Error::format(
                path,
                format!("invalid dim[0] = {ndim} (must be 1..7)"),
            ));
        }
        let mut dims = [1usize; 3];
        for i in 1..=ndim as usize {
            let d = dim(i);
            if d < 0 {
                return Err(Error::format(path, format!("dim[{i}] = {d} is negative")));
            }
            if d == 0 {
                return Err(Error::format(path, format!("dimension {i} has length 0")));
            }
            if i <= 3 {
                dims[i - 1] = usize::try_from(d).map_err(|_| Error::ResourceLimit {
                    path: path.to_path_buf(),
                    reason: format!("dim[{i}] = {d} exceeds the address space"),
                })?;
            } else if d > 1 {
                return Err(Error::format(
                    path,
                    format!("{ndim}-D image with dim[{i}] = {d}: only 3-D volumes are supported"),
                ));
            }
        }
        let code = f.i16(o(70, 12));
        let dtype = match code {
            2 => DataType::U8,
            4 => DataType::I16,
            8 => DataType::I32,
            16 => DataType::F32,
            64 => DataType::F64,
            256 => DataType::I8,
            512 => DataType::U16,
            768 => DataType::U32,
            1024 => DataType::I64,
            1280 => DataType::U64,
            1 => {
                return Err(Error::format(
                    path,
                    "unsupported NIfTI datatype 1 (binary bits)",
                ))
            }
            32 | 1792 | 2048 => {
                return Err(Error::format(
                    path,
                    format!("unsupported NIfTI datatype {code} (complex)"),
                ))
            }
            128 | 2304 => {
                return Err(Error::format(
                    path,
                    format!("unsupported NIfTI datatype {code} (RGB colour)"),
                ))
            }
            _ => {
                return Err(Error::format(
                    path,
                    format!("unsupported NIfTI datatype {code}"),
                ))
            }
        };
        let real = |v1: usize, v2o: usize| if v2 { f.f64(v2o) } else { f.f32(v1) };
        let pixdim = [0, 1, 2, 3].map(|i| real(76 + 4 * i, 104 + 8 * i));
        let vox_offset = if v2 { f.i64(168) as f64 } else { f.f32(108) };
        if !(vox_offset.is_finite() && (0.0..=MAX_VOX_OFFSET as f64).contains(&vox_offset)) {
            return Err(Error::format(
                path,
                format!("invalid vox_offset {vox_offset}"),
            ));
        }
        let (mut slope, mut inter) = (real(112, 176), real(116, 184));
        if slope == 0.0 || !slope.is_finite() {
            (slope, inter) = (1.0, 0.0);
        }
        if !inter.is_finite() {
            inter = 0.0;
        }
        let units = if v2 { f.i32(500) } else { b[123] as i64 } & 0x07;
        let unit = match units {
            1 => 1000.0,
            3 => 0.001,
            _ => 1.0, // 2 = mm; 0 = unknown, taken as mm
        };
        let (qform_code, sform_code) = if v2 {
            (f.i32(344), f.i32(348))
        } else {
            (f.i16(252), f.i16(254))
        };
        let quatern = [0, 1, 2, 3, 4, 5].map(|i| real(256 + 4 * i, 352 + 8 * i));
        let srow = [0, 1, 2]
            .map(|r| [0, 1, 2, 3].map(|c| real(280 + 16 * r + 4 * c, 400 + 32 * r + 8 * c)));
        Ok(Header {
            header_size: size,
            big,
            pair,
            dtype,
            dims,
            pixdim,
            vox_offset: vox_offset as u64,
            slope,
            inter,
            qform_code,
            sform_code,
            quatern,
            srow,
            unit,
        })
    }

    /// LPS geometry: sform if set and orthogonal, else qform, else pixdim.
    fn geometry(&self, path: &Path) -> Result<Geometry> {
        let sform = (self.sform_code > 0).then(|| self.sform_geometry(path));
        let (mut spacing, mut dir, mut origin) = match sform {
            Some(Ok(g)) => g,
            Some(Err(e)) if self.qform_code <= 0 => return Err(e),
            _ if self.qform_code > 0 => self.qform_geometry(),
            _ => (self.pixdim_spacing(), identity(), [0.0; 3]),
        };
        for (a, s) in spacing.iter_mut().enumerate() {
            *s *= self.unit;
            if !(s.is_finite() && *s > 0.0) {
                return Err(Error::format(
                    path,
                    format!(
                        "voxel spacing along axis {} is {s}, must be positive",
                        a + 1
                    ),
                ));
            }
        }
        for r in 0..3 {
            origin[r] *= self.unit;
            if !origin[r].is_finite() || dir[r].iter().any(|v| !v.is_finite()) {
                return Err(Error::format(
                    path,
                    "non-finite value in the spatial transform",
                ));
            }
        }
        ras_lps(&mut dir, &mut origin);
        Ok(Geometry {
            dims: self.dims,
            spacing,
            origin,
            direction: dir,
        })
    }

    fn pixdim_spacing(&self) -> [f64; 3] {
        [
            self.pixdim[1].abs(),
            self.pixdim[2].abs(),
            self.pixdim[3].abs(),
        ]
    }

    /// Split the sform's 3×3 part into column norms (spacing) and unit columns.
    fn sform_geometry(&self, path: &Path) -> Result<Transform> {
        let m = &self.srow;
        let mut spacing = [0.0; 3];
        let mut dir = [[0.0; 3]; 3];
        for c in 0..3 {
            let norm = (0..3).map(|r| m[r][c] * m[r][c]).sum::<f64>().sqrt();
            if !(norm > 0.0 && norm.is_finite()) {
                return Err(Error::format(
                    path,
                    format!("sform column {} is zero or not finite", c + 1),
                ));
            }
            spacing[c] = norm;
            for r in 0..3 {
                dir[r][c] = m[r][c] / norm;
            }
        }
        for (a, b) in [(0, 1), (0, 2), (1, 2)] {
            let cos: f64 = (0..3).map(|r| dir[r][a] * dir[r][b]).sum();
            if cos.abs() > SHEAR_TOLERANCE {
                return Err(Error::format(
                    path,
                    "sform is sheared (grid axes not orthogonal) and there is no qform",
                ));
            }
        }
        Ok((spacing, dir, [m[0][3], m[1][3], m[2][3]]))
    }

    /// The qform: rotation from the unit quaternion (a, b, c, d), third column
    /// times `qfac` (pixdim[0], −1 for a left-handed grid), spacing from pixdim.
    fn qform_geometry(&self) -> Transform {
        let [mut b, mut c, mut d, x, y, z] = self.quatern;
        let a2 = 1.0 - (b * b + c * c + d * d);
        let a = if a2 < 1e-7 {
            // 180° rotation: renormalise (b, c, d) as nifti1_io does.
            let s = 1.0 / (b * b + c * c + d * d).sqrt();
            (b, c, d) = (b * s, c * s, d * s);
            0.0
        } else {
            a2.sqrt()
        };
        let qfac = if self.pixdim[0] < 0.0 { -1.0 } else { 1.0 };
        let mut rot = [
            [
                a * a + b * b - c * c - d * d,
                2.0 * (b * c - a * d),
                2.0 * (b * d + a * c),
            ],
            [
                2.0 * (b * c + a * d),
                a * a + c * c - b * b - d * d,
                2.0 * (c * d - a * b),
            ],
            [
                2.0 * (b * d - a * c),
                2.0 * (c * d + a * b),
                a * a + d * d - c * c - b * b,
            ],
        ];
        for row in rot.iter_mut() {
            row[2] *= qfac;
        }
        (self.pixdim_spacing(), rot, [x, y, z])
    }
}

fn identity() -> [[f64; 3]; 3] {
    [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
}

/// RAS <-> LPS: negate the first two world rows (its own inverse).
fn ras_lps(dir: &mut [[f64; 3]; 3], origin: &mut [f64; 3]) {
    for r in 0..2 {
        origin[r] = -origin[r];
        for v in dir[r].iter_mut() {
            *v = -*v;
        }
    }
}

/// The NIfTI datatype code of a sample type.
fn datatype_code(dtype: DataType) -> i16 {
    match dtype {
        DataType::U8 => 2,
        DataType::I16 => 4,
        DataType::I32 => 8,
        DataType::F32 => 16,
        DataType::F64 => 64,
        DataType::I8 => 256,
        DataType::U16 => 512,
        DataType::U32 => 768,
        DataType::I64 => 1024,
        DataType::U64 => 1280,
    }
}

/// Unit quaternion (b, c, d) and qfac of an orthonormal rotation (possibly improper).
fn quaternion(dir: &[[f64; 3]; 3]) -> ([f64; 3], f64) {
    let mut r = *dir;
    let det = r[0][0] * (r[1][1] * r[2][2] - r[1][2] * r[2][1])
        - r[0][1] * (r[1][0] * r[2][2] - r[1][2] * r[2][0])
        + r[0][2] * (r[1][0] * r[2][1] - r[1][1] * r[2][0]);
    let qfac = if det < 0.0 { -1.0 } else { 1.0 };
    for row in r.iter_mut() {
        row[2] *= qfac;
    }
    let trace = 1.0 + r[0][0] + r[1][1] + r[2][2];
    let (a, b, c, d);
    if trace > 0.5 {
        a = 0.5 * trace.sqrt();
        b = 0.25 * (r[2][1] - r[1][2]) / a;
        c = 0.25 * (r[0][2] - r[2][0]) / a;
        d = 0.25 * (r[1][0] - r[0][1]) / a;
    } else {
        let xd = 1.0 + r[0][0] - (r[1][1] + r[2][2]);
        let yd = 1.0 + r[1][1] - (r[0][0] + r[2][2]);
        let zd = 1.0 + r[2][2] - (r[0][0] + r[1][1]);
        if xd > 1.0 {
            b = 0.5 * xd.sqrt();
            c = 0.25 * (r[0][1] + r[1][0]) / b;
            d = 0.25 * (r[0][2] + r[2][0]) / b;
            a = 0.25 * (r[2][1] - r[1][2]) / b;
        } else if yd > 1.0 {
            c = 0.5 * yd.sqrt();
            b = 0.25 * (r[0][1] + r[1][0]) / c;
            d = 0.25 * (r[1][2] + r[2][1]) / c;
            a = 0.25 * (r[0][2] - r[2][0]) / c;
        } else {
            d = 0.5 * zd.sqrt();
            b = 0.25 * (r[0][2] + r[2][0]) / d;
            c = 0.25 * (r[1][2] + r[2][1]) / d;
            a = 0.25 * (r[1][0] - r[0][1]) / d;
        }
    }
    // The file stores only (b, c, d) and recovers a >= 0.
    let s = if a < 0.0 { -1.0 } else { 1.0 };
    ([s * b, s * c, s * d], qfac)
}

/// Write `vol` as a single-file NIfTI-1 (`.nii`, gzip-compressed when the name
/// ends in `.gz`), samples stored as `dtype` (integers rounded; out-of-range
/// values are an error). Geometry is written as both sform and qform
/// (codes 1, scanner anatomical), RAS, millimetres. The write is atomic.
pub fn write(path: &Path, vol: &Volume<f32>, dtype: DataType) -> Result<()> {
    let g = &vol.geometry;
    let too_big = || {
        Error::format(
            path,
            format!("size {:?} cannot be stored in NIfTI-1", g.dims),
        )
    };
    let dims = g.dims.map(|d| i16::try_from(d).ok().filter(|&d| d > 0));
    let [Some(nx), Some(ny), Some(nz)] = dims else {
        return Err(too_big());
    };
    let data = dtype.encode(&vol.data, path)?;

    let mut dir = g.direction;
    let mut origin = g.origin;
    ras_lps(&mut dir, &mut origin);
    let (q, qfac) = quaternion(&dir);

    let mut h = vec![0u8; NIFTI1_HEADER + 4];
    let mut put = |o: usize, bytes: &[u8]| h[o..o + bytes.len()].copy_from_slice(bytes);
    put(0, &348i32.to_le_bytes());
    let dim = [3, nx, ny, nz, 1, 1, 1, 1];
    for (i, d) in dim.iter().enumerate() {
        put(40 + 2 * i, &d.to_le_bytes());
    }
    put(70, &datatype_code(dtype).to_le_bytes());
    put(72, &(8 * dtype.size() as i16).to_le_bytes());
    let pixdim = [
        qfac,
        g.spacing[0],
        g.spacing[1],
        g.spacing[2],
        0.0,
        0.0,
        0.0,
        0.0,
    ];
    for (i, p) in pixdim.iter().enumerate() {
        put(76 + 4 * i, &(*p as f32).to_le_bytes());
    }
    put(108, &((NIFTI1_HEADER + 4) as f32).to_le_bytes());
    put(112, &1f32.to_le_bytes());
    put(123, &[2]); // spatial unit mm
    let descrip = format!("ctrad {}", crate::VERSION);
    put(148, &descrip.as_bytes()[..descrip.len().min(79)]);
    put(252, &1i16.to_le_bytes());
    put(254, &1i16.to_le_bytes());
    for (i, v) in [q[0], q[1], q[2], origin[0], origin[1], origin[2]]
        .iter()
        .enumerate()
    {
        put(256 + 4 * i, &(*v as f32).to_le_bytes());
    }
    for (r, row) in dir.iter().enumerate() {
        let srow = [
            row[0] * g.spacing[0],
            row[1] * g.spacing[1],
            row[2] * g.spacing[2],
            origin[r],
        ];
        for (c, v) in srow.iter().enumerate() {
            put(280 + 16 * r + 4 * c, &(*v as f32).to_le_bytes());
        }
    }
    put(344, b"n+1\0");

    let gz = path
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.to_ascii_lowercase().ends_with(".gz"));
    super::atomic::write_atomic(path, |w| {
        if gz {
            let mut e = flate2::write::GzEncoder::new(w, flate2::Compression::default());
            e.write_all(&h)?;
            e.write_all(&data)?;
            e.finish()?;
        } else {
            w.write_all(&h)?;
            w.write_all(&data)?;
        }
        Ok(())
    })
}
