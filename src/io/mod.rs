//! Volume file readers and writers (NIfTI-1/2, NRRD).
//!
//! Readers return [`Volume<f32>`]s with LPS geometry and never trust a header's
//! sizes: the declared voxel count is checked against [`ReadLimits`] and the
//! data is read (or inflated) only up to the declared length, so a tiny file
//! claiming billions of voxels, or a gzip bomb, is an error rather than an
//! allocation. NaN and ±Inf voxel values are read as they are; the pipeline
//! rejects them later, where it knows which voxels matter.
//!
//! Writers go through [`atomic::write_atomic`], so a failed write never leaves
//! a partial file under the final name.

pub mod atomic;
pub mod dicom;
pub mod nifti;
pub mod nrrd;

use crate::error::{Error, Result};
use crate::volume::{Geometry, IntensitySummary, SliceBox, Volume};
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

/// Upper bounds a reader enforces before allocating voxel data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadLimits {
    /// Largest number of voxels accepted in one volume.
    pub max_voxels: usize,
}

impl Default for ReadLimits {
    fn default() -> Self {
        ReadLimits {
            max_voxels: Self::DEFAULT_MAX_VOXELS,
        }
    }
}

impl ReadLimits {
    /// Default voxel cap: 2^30 (4 GiB as f32), far above any CT study.
    pub const DEFAULT_MAX_VOXELS: usize = 1 << 30;

    /// The default limits, with `max_voxels` overridden by the environment
    /// variable `CTRAD_MAX_VOXELS` when it is set.
    pub fn from_env() -> Result<Self> {
        match std::env::var("CTRAD_MAX_VOXELS") {
            Err(_) => Ok(Self::default()),
            Ok(s) => match s.trim().parse::<usize>() {
                Ok(n) if n > 0 => Ok(ReadLimits { max_voxels: n }),
                _ => Err(Error::Invalid(format!(
                    "CTRAD_MAX_VOXELS={s:?} is not a positive integer"
                ))),
            },
        }
    }

    /// Number of voxels of a grid declared by the header of `path`, or an error
    /// when a size is zero or the total exceeds the limit.
    pub(crate) fn check(&self, path: &Path, dims: [usize; 3]) -> Result<usize> {
        if let Some(a) = dims.iter().position(|&d| d == 0) {
            return Err(Error::format(
                path,
                format!("dimension {} has length 0 (sizes {dims:?})", a + 1),
            ));
        }
        let n = dims[0]
            .checked_mul(dims[1])
            .and_then(|v| v.checked_mul(dims[2]));
        match n {
            Some(n) if n <= self.max_voxels => Ok(n),
            _ => Err(Error::ResourceLimit {
                path: path.to_path_buf(),
                reason: format!(
                    "header declares {}×{}×{} voxels, more than the limit of {} \
                     (set CTRAD_MAX_VOXELS to raise it)",
                    dims[0], dims[1], dims[2], self.max_voxels
                ),
            }),
        }
    }
}

/// Voxel sample type stored in a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataType {
    U8,
    I8,
    U16,
    I16,
    U32,
    I32,
    U64,
    I64,
    F32,
    F64,
}

impl DataType {
    /// Bytes per sample.
    pub fn size(self) -> usize {
        use DataType::*;
        match self {
            U8 | I8 => 1,
            U16 | I16 => 2,
            U32 | I32 | F32 => 4,
            U64 | I64 | F64 => 8,
        }
    }

    /// Decode `raw` samples (`big`: big-endian) to `v * slope + inter` as f32.
    pub(crate) fn decode(self, raw: &[u8], big: bool, slope: f64, inter: f64) -> Vec<f32> {
        self.decode_with(raw, big, slope, inter, |v| v)
    }

    /// [`decode`](Self::decode) into `out` (one value per sample of `raw`).
    pub(crate) fn decode_into(
        self,
        raw: &[u8],
        big: bool,
        slope: f64,
        inter: f64,
        out: &mut [f32],
    ) {
        // In blocks, so the decoded values stay in cache on their way to `out`.
        let size = self.size();
        for (raw, out) in raw.chunks(4096 * size).zip(out.chunks_mut(4096)) {
            out.copy_from_slice(&self.decode(raw, big, slope, inter));
        }
    }

    /// [`DataType::decode`], each f32 then mapped by `f` (e.g. to a mask bit)
    /// without storing the floats.
    pub(crate) fn decode_with<U>(
        self,
        raw: &[u8],
        big: bool,
        slope: f64,
        inter: f64,
        f: impl Fn(f32) -> U + Copy,
    ) -> Vec<U> {
        macro_rules! conv {
            ($t:ty) => {{
                const N: usize = std::mem::size_of::<$t>();
                let scaled = slope != 1.0 || inter != 0.0;
                raw.chunks_exact(N)
                    .map(|c| {
                        let a: [u8; N] = c.try_into().unwrap();
                        let v = if big {
                            <$t>::from_be_bytes(a)
                        } else {
                            <$t>::from_le_bytes(a)
                        };
                        f(if scaled {
                            (v as f64 * slope + inter) as f32
                        } else {
                            v as f32
                        })
                    })
                    .collect()
            }};
        }
        match self {
            DataType::U8 => conv!(u8),
            DataType::I8 => conv!(i8),
            DataType::U16 => conv!(u16),
            DataType::I16 => conv!(i16),
            DataType::U32 => conv!(u32),
            DataType::I32 => conv!(i32),
            DataType::U64 => conv!(u64),
            DataType::I64 => conv!(i64),
            DataType::F32 => conv!(f32),
            DataType::F64 => conv!(f64),
        }
    }

    /// [`decode_with`](Self::decode_with) for 16-bit types through a table
    /// of `f` over every possible stored value (the same conversion, so the
    /// same result), one look-up per voxel instead of a conversion; other
    /// types are decoded directly (8-bit label maps go through
    /// [`mask_in_place`](Self::mask_in_place)).
    pub(crate) fn decode_mapped<U: Copy>(
        self,
        raw: &[u8],
        big: bool,
        slope: f64,
        inter: f64,
        f: impl Fn(f32) -> U + Copy,
    ) -> Vec<U> {
        match self.size() {
            2 if raw.len() > 1 << 20 => {
                // Index = the two stored bytes in file order, as the decoder
                // reads them (its endianness applies).
                let all: Vec<u8> = (0..=u16::MAX).flat_map(u16::to_le_bytes).collect();
                let table = self.decode_with(&all, big, slope, inter, f);
                raw.chunks_exact(2)
                    .map(|c| table[usize::from(u16::from_le_bytes([c[0], c[1]]))])
                    .collect()
            }
            _ => self.decode_with(raw, big, slope, inter, f),
        }
    }

    /// The mask `pick` selects from 8-bit samples `buf[range]`, made in
    /// `buf` itself: no second voxel-sized buffer to fault in. `pick` is
    /// tabulated over the 256 stored values (the same conversion as
    /// [`decode_with`](Self::decode_with)); a table that is "non-zero" or
    /// "equals k" — every label map in practice — becomes a comparison the
    /// compiler vectorises.
    pub(crate) fn mask_in_place(
        self,
        mut buf: Vec<u8>,
        range: std::ops::Range<usize>,
        big: bool,
        slope: f64,
        inter: f64,
        pick: impl Fn(f32) -> bool + Copy,
    ) -> Vec<bool> {
        assert_eq!(self.size(), 1, "mask_in_place takes 8-bit samples");
        let all: Vec<u8> = (0..=255).collect();
        let table = self.decode_with(&all, big, slope, inter, pick);
        let n = range.len();
        buf.copy_within(range, 0);
        buf.truncate(n);
        let picked: Vec<u8> = (0..=255u8).filter(|&b| table[b as usize]).collect();
        if picked.len() == 255 && !table[0] {
            buf.iter_mut().for_each(|b| *b = u8::from(*b != 0));
        } else if let [k] = picked[..] {
            buf.iter_mut().for_each(|b| *b = u8::from(*b == k));
        } else {
            let t: [u8; 256] = std::array::from_fn(|b| u8::from(table[b]));
            buf.iter_mut().for_each(|b| *b = t[*b as usize]);
        }
        let mut buf = std::mem::ManuallyDrop::new(buf);
        // SAFETY: every byte is now 0 or 1, a valid bool; bool and u8 have the
        // same size and alignment, so the allocation keeps its layout.
        unsafe { Vec::from_raw_parts(buf.as_mut_ptr() as *mut bool, buf.len(), buf.capacity()) }
    }

    /// Encode `data` little-endian. Integer types round to the nearest integer;
    /// a non-finite or out-of-range value is an error naming `path`.
    pub(crate) fn encode(self, data: &[f32], path: &Path) -> Result<Vec<u8>> {
        let mut out = Vec::with_capacity(data.len() * self.size());
        macro_rules! int {
            ($t:ty, $lo:expr, $hi:expr) => {{
                for (i, &v) in data.iter().enumerate() {
                    let r = (v as f64).round();
                    // `hi` is exclusive and exactly representable, so the cast is exact.
                    if !(r >= $lo && r < $hi) {
                        return Err(Error::format(
                            path,
                            format!("voxel {i} has value {v}, which cannot be stored as {self:?}"),
                        ));
                    }
                    out.extend_from_slice(&(r as $t).to_le_bytes());
                }
            }};
        }
        let two = |bits: i32| 2f64.powi(bits);
        match self {
            DataType::U8 => int!(u8, 0.0, two(8)),
            DataType::I8 => int!(i8, -two(7), two(7)),
            DataType::U16 => int!(u16, 0.0, two(16)),
            DataType::I16 => int!(i16, -two(15), two(15)),
            DataType::U32 => int!(u32, 0.0, two(32)),
            DataType::I32 => int!(i32, -two(31), two(31)),
            DataType::U64 => int!(u64, 0.0, two(64)),
            DataType::I64 => int!(i64, -two(63), two(63)),
            DataType::F32 => data
                .iter()
                .for_each(|v| out.extend_from_slice(&v.to_le_bytes())),
            DataType::F64 => data
                .iter()
                .for_each(|&v| out.extend_from_slice(&(v as f64).to_le_bytes())),
        }
        Ok(out)
    }
}

/// Map a read error: decoder failures (corrupt gzip, unexpected end) are
/// format errors, anything else is the operating system's.
pub(crate) fn read_error(path: &Path, e: std::io::Error) -> Error {
    use std::io::ErrorKind::*;
    match e.kind() {
        InvalidData | InvalidInput | UnexpectedEof => {
            Error::format(path, format!("corrupt or truncated compressed data: {e}"))
        }
        _ => Error::io(path, e),
    }
}

/// Decode binary voxel data, slice by slice in storage order, as
/// `v * slope + inter`, handing `(z, slice)` to `f` until it returns false;
/// the stream is then read to its end all the same (gzip checks its CRC
/// there). `path` names the data in errors.
#[allow(clippy::too_many_arguments)]
pub(crate) fn decode_slices(
    data: &mut dyn Read,
    dims: [usize; 3],
    dtype: DataType,
    big: bool,
    slope: f64,
    inter: f64,
    path: &Path,
    mut f: impl FnMut(usize, &[f32]) -> bool,
) -> Result<()> {
    let [nx, ny, nz] = dims;
    let npix = nx * ny;
    let mut raw = vec![0u8; npix * dtype.size()];
    let mut slice = vec![0f32; npix];
    let mut wanted = true;
    for z in 0..nz {
        data.read_exact(&mut raw).map_err(|e| match e.kind() {
            std::io::ErrorKind::UnexpectedEof => Error::format(
                path,
                format!(
                    "truncated: voxel data needs {} bytes, ends within slice {z}",
                    npix * nz * dtype.size()
                ),
            ),
            _ => read_error(path, e),
        })?;
        if wanted {
            dtype.decode_into(&raw, big, slope, inter, &mut slice);
            wanted = f(z, &slice);
        }
    }
    std::io::copy(data, &mut std::io::sink()).map_err(|e| read_error(path, e))?;
    Ok(())
}

/// Read exactly `n` bytes from `r`. Memory grows with the bytes actually
/// present, never with the (untrusted) `n` alone; a short stream is a
/// "truncated" format error naming `path`.
pub(crate) fn read_bounded(r: &mut dyn Read, n: usize, path: &Path, what: &str) -> Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(n.min(1 << 24));
    r.take(n as u64)
        .read_to_end(&mut buf)
        .map_err(|e| read_error(path, e))?;
    if buf.len() < n {
        return Err(Error::format(
            path,
            format!(
                "truncated: {what} needs {n} bytes, only {} present",
                buf.len()
            ),
        ));
    }
    Ok(buf)
}

/// Discard `n` bytes of `r` without storing them.
pub(crate) fn skip_bytes(r: &mut dyn Read, n: u64, path: &Path) -> Result<()> {
    let got =
        std::io::copy(&mut r.take(n), &mut std::io::sink()).map_err(|e| read_error(path, e))?;
    if got < n {
        return Err(Error::format(
            path,
            format!("truncated: cannot skip {n} bytes, only {got} present"),
        ));
    }
    Ok(())
}

/// Open `path` for buffered reading, inflating transparently when the file
/// starts with the gzip magic.
pub(crate) fn open_maybe_gz(path: &Path) -> Result<Box<dyn Read>> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut r = BufReader::new(file);
    let head = r.fill_buf().map_err(|e| Error::io(path, e))?;
    if head.starts_with(&[0x1f, 0x8b]) {
        Ok(Box::new(flate2::bufread::MultiGzDecoder::new(r)))
    } else {
        Ok(Box::new(r))
    }
}

/// Read an image or label volume, choosing the reader by file extension
/// (`.nii`, `.nii.gz`, `.hdr`, `.nrrd`, `.nhdr`), with limits from the environment.
pub fn read_volume(path: &Path) -> Result<Volume<f32>> {
    read_volume_with(path, &ReadLimits::from_env()?)
}

/// The mask of `label` (every non-zero voxel when `None`) of a label-map
/// file, as [`read_volume`] followed by [`crate::volume::Volume::select`] would
/// give it; NIfTI label maps skip the float volume in between.
pub fn read_label_mask(path: &Path, label: Option<i64>) -> Result<crate::volume::Mask> {
    let limits = ReadLimits::from_env()?;
    match volume_format(path)? {
        VolumeFormat::Nifti => nifti::read_mask_with(path, &limits, label),
        VolumeFormat::Nrrd => Ok(nrrd::read_with(path, &limits)?.select(label)),
    }
}

/// [`read_label_mask`] as the mask's bounding box: `(mask on
/// grid.crop(lo, hi), lo, grid)`, a single background voxel at the origin
/// when the label is absent. A large NIfTI label map is streamed slice by
/// slice (NIfTI, NRRD), so memory follows the ROI, not the image.
pub fn read_label_mask_box(
    path: &Path,
    label: Option<i64>,
) -> Result<(crate::volume::Mask, [usize; 3], Geometry)> {
    read_label_mask_box_streaming_above(path, label, STREAM_ABOVE)
}

/// [`read_label_mask_box`], streaming NIfTI samples of more than
/// `stream_above` bytes (0: always).
pub fn read_label_mask_box_streaming_above(
    path: &Path,
    label: Option<i64>,
    stream_above: usize,
) -> Result<(crate::volume::Mask, [usize; 3], Geometry)> {
    let limits = ReadLimits::from_env()?;
    let nrrd = matches!(volume_format(path)?, VolumeFormat::Nrrd);
    {
        let (grid, bytes) = read_layout(path, nrrd, &limits)?;
        if bytes > stream_above {
            let pick = crate::volume::label_predicate(label);
            let [nx, ny, _] = grid.dims;
            // Slices holding the ROI, with their x/y extent.
            let mut kept: Vec<(usize, Vec<bool>)> = Vec::new();
            for_each_slice(path, nrrd, &limits, |z, slice| {
                let bits: Vec<bool> = slice.iter().map(|&v| pick(v)).collect();
                if bits.contains(&true) {
                    kept.push((z, bits));
                }
                true
            })?;
            let (Some(first), Some(last)) = (kept.first(), kept.last()) else {
                let empty = Volume::filled(grid.crop([0; 3], [0; 3]), false);
                return Ok((empty, [0; 3], grid));
            };
            let (z0, z1) = (first.0, last.0);
            let mut slab = Volume::filled(grid.crop([0, 0, z0], [nx - 1, ny - 1, z1]), false);
            for (z, bits) in &kept {
                let k = z - z0;
                slab.data[k * nx * ny..(k + 1) * nx * ny].copy_from_slice(bits);
            }
            let (lo, hi) = slab.bounding_box().expect("kept slices hold voxels");
            let (lo, hi) = ([lo[0], lo[1], lo[2] + z0], [hi[0], hi[1], hi[2] + z0]);
            return Ok((slab.reframe(&grid, [0, 0, z0], lo, hi, false), lo, grid));
        }
    }
    let mask = read_label_mask(path, label)?;
    let grid = mask.geometry.clone();
    Ok(match mask.bounding_box() {
        Some((lo, hi)) => (mask.crop(lo, hi), lo, grid),
        None => (mask.crop([0; 3], [0; 3]), [0; 3], grid),
    })
}

/// Write a float volume, choosing the format by extension (`.nii`, `.nii.gz`:
/// NIfTI-1; `.nrrd`, `.nhdr`: NRRD, gzip-encoded), samples as 32-bit floats.
/// The write is atomic.
pub fn write_volume(path: &Path, vol: &Volume<f32>) -> Result<()> {
    match format_by_name(path)? {
        VolumeFormat::Nifti => nifti::write(path, vol, DataType::F32),
        VolumeFormat::Nrrd => nrrd::write(path, vol, DataType::F32, true),
    }
}

/// [`read_volume`] with explicit limits.
pub fn read_volume_with(path: &Path, limits: &ReadLimits) -> Result<Volume<f32>> {
    match volume_format(path)? {
        VolumeFormat::Nifti => nifti::read_with(path, limits),
        VolumeFormat::Nrrd => nrrd::read_with(path, limits),
    }
}

/// Samples above this many bytes are streamed slice by slice by
/// [`VolumeFile`] rather than held whole.
const STREAM_ABOVE: usize = 64 << 20;

/// A volume file opened for reading box by box: small files are read
/// whole; a large NIfTI or NRRD image is streamed slice by slice on each
/// read, keeping only the box asked for.
pub enum VolumeFile {
    InMemory(Volume<f32>),
    Stream {
        path: std::path::PathBuf,
        geometry: Geometry,
        nrrd: bool,
    },
}

/// The grid and sample byte size of a NIfTI or NRRD file (header only).
fn read_layout(path: &Path, nrrd: bool, limits: &ReadLimits) -> Result<(Geometry, usize)> {
    if nrrd {
        nrrd::read_layout(path, limits)
    } else {
        nifti::read_layout(path, limits)
    }
}

/// Decode a NIfTI or NRRD file slice by slice (see [`nifti::for_each_slice`]).
fn for_each_slice(
    path: &Path,
    nrrd: bool,
    limits: &ReadLimits,
    f: impl FnMut(usize, &[f32]) -> bool,
) -> Result<()> {
    if nrrd {
        nrrd::for_each_slice(path, limits, f)
    } else {
        nifti::for_each_slice(path, limits, f)
    }
}

impl VolumeFile {
    /// Open `path` (format by extension, as [`read_volume`]).
    pub fn open(path: &Path) -> Result<VolumeFile> {
        Self::open_streaming_above(path, STREAM_ABOVE)
    }

    /// [`open`](Self::open), streaming NIfTI samples of more than
    /// `stream_above` bytes (0: always).
    pub fn open_streaming_above(path: &Path, stream_above: usize) -> Result<VolumeFile> {
        let limits = ReadLimits::from_env()?;
        let nrrd = matches!(volume_format(path)?, VolumeFormat::Nrrd);
        let (geometry, bytes) = read_layout(path, nrrd, &limits)?;
        if bytes > stream_above {
            return Ok(VolumeFile::Stream {
                path: path.to_path_buf(),
                geometry,
                nrrd,
            });
        }
        Ok(VolumeFile::InMemory(read_volume_with(path, &limits)?))
    }

    /// The image grid.
    pub fn geometry(&self) -> &Geometry {
        match self {
            VolumeFile::InMemory(v) => &v.geometry,
            VolumeFile::Stream { geometry, .. } => geometry,
        }
    }

    /// The voxels of the box `lo..=hi`, on `geometry().crop(lo, hi)`; with
    /// `summary`, every voxel of the image is added to it (rounded first
    /// when its flag says so) in storage order.
    pub fn read_box(
        &self,
        lo: [usize; 3],
        hi: [usize; 3],
        summary: Option<(&mut IntensitySummary, bool)>,
    ) -> Result<Volume<f32>> {
        let mut part = SliceBox::new(self.geometry(), lo, hi)?;
        match self {
            VolumeFile::InMemory(v) => {
                if let Some((s, round)) = summary {
                    s.add(&v.data, round);
                }
                Ok(v.crop(lo, hi))
            }
            VolumeFile::Stream { path, nrrd, .. } => {
                let mut summary = summary;
                for_each_slice(path, *nrrd, &ReadLimits::from_env()?, |z, slice| {
                    if let Some((s, round)) = summary.as_mut() {
                        s.add(slice, *round);
                    }
                    part.keep(z, slice);
                    summary.is_some() || z < part.last_z()
                })?;
                Ok(part.finish())
            }
        }
    }

    /// The whole image.
    pub fn into_volume(self) -> Result<Volume<f32>> {
        match self {
            VolumeFile::InMemory(v) => Ok(v),
            VolumeFile::Stream { path, .. } => read_volume(&path),
        }
    }
}

/// Volume file formats, told by extension.
enum VolumeFormat {
    Nifti,
    Nrrd,
}

fn volume_format(path: &Path) -> Result<VolumeFormat> {
    // A missing file is an I/O error whatever its extension.
    std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    format_by_name(path)
}

/// Volume file format told by the file name alone (for files to write).
fn format_by_name(path: &Path) -> Result<VolumeFormat> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let has = |ext: &str| name.ends_with(ext);
    if has(".nii") || has(".nii.gz") || has(".hdr") || has(".hdr.gz") {
        Ok(VolumeFormat::Nifti)
    } else if has(".nrrd") || has(".nhdr") {
        Ok(VolumeFormat::Nrrd)
    } else {
        Err(Error::format(
            path,
            "unknown file type (expected .nii, .nii.gz, .hdr, .nrrd or .nhdr)",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::DataType;
    use crate::volume::label_predicate;

    /// The table decoder (16-bit types) and the in-place mask (8-bit types)
    /// give what the direct decoder gives, for every byte order, scaling and
    /// label.
    #[test]
    fn mapped_decoding_equals_direct_decoding() {
        // A deterministic byte soup larger than both table thresholds.
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        let raw: Vec<u8> = (0..(1 << 21) + 6)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 56) as u8
            })
            .collect();
        for dtype in [DataType::U8, DataType::I8, DataType::U16, DataType::I16] {
            for big in [false, true] {
                for (slope, inter) in [(1.0, 0.0), (0.5, -3.0)] {
                    for label in [None, Some(1), Some(-2), Some(300)] {
                        let pick = label_predicate(label);
                        let direct = dtype.decode_with(&raw, big, slope, inter, pick);
                        let mapped = dtype.decode_mapped(&raw, big, slope, inter, pick);
                        assert_eq!(
                            direct, mapped,
                            "{dtype:?} big {big} {slope} {inter} {label:?}"
                        );
                        if dtype.size() == 1 {
                            // Behind a header-sized prefix, as the inflater leaves it.
                            let mut buf = vec![7u8; 352];
                            buf.extend_from_slice(&raw);
                            let range = 352..buf.len();
                            let in_place = dtype.mask_in_place(buf, range, big, slope, inter, pick);
                            assert_eq!(
                                direct, in_place,
                                "in place: {dtype:?} big {big} {slope} {inter} {label:?}"
                            );
                        }
                    }
                }
            }
        }
    }
}
