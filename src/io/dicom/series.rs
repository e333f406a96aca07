//! CT series assembly: DICOM slices (classic single-frame CT or Enhanced
//! multi-frame CT) into one [`Volume`] in Hounsfield units.
//!
//! Geometry follows DICOM: the first Image Orientation (Patient) triple is the
//! direction of increasing column index (grid x), the second that of
//! increasing row index (grid y), and their cross product is the slice normal
//! (grid z). Slices are sorted by `dot(ImagePositionPatient, normal)`; the
//! origin is the position of the first slice. Pixel Spacing is
//! `[row spacing (y), column spacing (x)]`.
//!
//! Validation policy (every failure is an [`Error::Format`] naming the series
//! UID and the offending file):
//! * all slices share rows, columns, pixel spacing and orientation;
//! * no two slices share a position (duplicated slice);
//! * no gap exceeds [`MISSING_SLICE_FACTOR`] × the median slice distance
//!   (missing slice);
//! * every slice distance is within `max(`[`SPACING_ABS_TOL`]`, `[`SPACING_REL_TOL`]` × median)`
//!   of the median (non-uniform spacing);
//! * the slice positions progress along the slice normal; a deviation of more
//!   than [`MAX_TILT_DEG`] degrees (gantry tilt or a sheared stack) is rejected,
//!   since ctrad does not resample tilted acquisitions.

use super::scan::{self, first_item, float, floats, int, items, text, FileInfo};
use super::view::{Attributes, PixelDataHeader, View};
use crate::error::{Error, Result};
use crate::io::ReadLimits;
use crate::volume::cross;
use crate::volume::{Geometry, IntensitySummary, SliceBox, Volume};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use dicom_pixeldata::PixelDecoder;
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Transfer syntaxes ctrad decodes (UID, name).
pub const SUPPORTED_TRANSFER_SYNTAXES: &[(&str, &str)] = &[
    ("1.2.840.10008.1.2", "Implicit VR Little Endian"),
    ("1.2.840.10008.1.2.1", "Explicit VR Little Endian"),
    (
        "1.2.840.10008.1.2.1.99",
        "Deflated Explicit VR Little Endian",
    ),
    ("1.2.840.10008.1.2.2", "Explicit VR Big Endian"),
    ("1.2.840.10008.1.2.5", "RLE Lossless"),
    ("1.2.840.10008.1.2.4.50", "JPEG Baseline (Process 1)"),
    ("1.2.840.10008.1.2.4.51", "JPEG Extended (Process 2 & 4)"),
    ("1.2.840.10008.1.2.4.57", "JPEG Lossless (Process 14)"),
    (
        "1.2.840.10008.1.2.4.70",
        "JPEG Lossless SV1 (Process 14, Selection Value 1)",
    ),
    ("1.2.840.10008.1.2.4.90", "JPEG 2000 Lossless Only"),
    ("1.2.840.10008.1.2.4.91", "JPEG 2000"),
];

/// A gap larger than this multiple of the median slice distance is a missing slice.
pub const MISSING_SLICE_FACTOR: f64 = 1.5;
/// Relative tolerance on slice-distance uniformity (fraction of the median distance).
pub const SPACING_REL_TOL: f64 = 0.01;
/// Absolute tolerance on slice-distance uniformity (mm); the larger of the two applies.
pub const SPACING_ABS_TOL: f64 = 0.01;
/// Largest accepted angle (degrees) between the slice normal and the slice progression.
pub const MAX_TILT_DEG: f64 = 0.1;
/// Tolerance on direction cosines when comparing orientations of slices.
const ORIENTATION_TOL: f64 = 1e-4;

/// One slice of the assembled volume and where it came from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SliceRef {
    pub path: PathBuf,
    pub sop_class_uid: String,
    pub sop_instance_uid: String,
    /// 1-based frame number within a multi-frame (Enhanced CT) file.
    pub frame_number: Option<u32>,
    /// Image Position (Patient) of the slice (mm, LPS).
    pub position: [f64; 3],
}

/// Series-level attributes of a loaded CT series (for provenance and phase
/// classification). Empty strings / `None` when the attribute is absent.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SeriesMeta {
    pub series_instance_uid: String,
    pub study_instance_uid: String,
    pub frame_of_reference_uid: String,
    pub sop_class_uid: String,
    pub modality: String,
    pub patient_id: String,
    pub patient_name: String,
    pub study_date: String,
    pub study_time: String,
    pub study_description: String,
    pub series_date: String,
    pub series_time: String,
    pub series_description: String,
    pub series_number: Option<i64>,
    pub acquisition_date: String,
    pub acquisition_time: String,
    pub content_time: String,
    pub image_type: String,
    pub body_part_examined: String,
    pub protocol_name: String,
    pub contrast_bolus_agent: String,
    pub contrast_bolus_route: String,
    pub contrast_bolus_start_time: String,
    pub contrast_bolus_volume: Option<f64>,
    pub manufacturer: String,
    pub manufacturer_model_name: String,
    pub kvp: Option<f64>,
    pub xray_tube_current: Option<f64>,
    pub exposure: Option<f64>,
    pub convolution_kernel: String,
    pub slice_thickness: Option<f64>,
    pub transfer_syntax_uid: String,
    /// Slices in volume order (index = grid z).
    pub slices: Vec<SliceRef>,
}

/// One frame with its plane geometry and where its pixels are.
struct Frame {
    file: usize,
    frame_number: Option<u32>,
    sop_instance_uid: String,
    sop_class_uid: String,
    ipp: [f64; 3],
    iop: [f64; 6],
    pixel_spacing: [f64; 2],
    rows: usize,
    cols: usize,
    pixels: Stored,
}

/// Where a frame lies in its file and how its values map to HU.
#[derive(Clone, Copy)]
struct Stored {
    /// Frame index in the file (0-based).
    index: usize,
    /// True when the file's Pixel Data is native (uncompressed) and
    /// readable in place; else dicom-rs decodes the frame.
    native: bool,
    bits_alloc: u16,
    bits_stored: u16,
    signed: bool,
    slope: f64,
    intercept: f64,
}

impl Stored {
    /// Convert this frame of the Pixel Data bytes `native` into `out`.
    fn convert(self, native: &[u8], out: &mut [f32]) -> Option<()> {
        let n = out.len() * usize::from(self.bits_alloc / 8);
        let bytes = native.get(self.index * n..(self.index + 1) * n)?;
        to_hu(
            bytes,
            self.bits_alloc,
            self.bits_stored,
            self.signed,
            self.slope,
            self.intercept,
            out,
        )
    }
}

/// A CT series opened by its headers: the sorted slices, the grid and the
/// series attributes. Pixel data is read only by [`SeriesLayout::read_box`],
/// and only for the slices asked for (or all of them, streamed, for a
/// whole-image [`IntensitySummary`]).
pub struct SeriesLayout {
    files: Vec<PathBuf>,
    /// Frames in volume order (index = grid z).
    frames: Vec<Frame>,
    pub geometry: Geometry,
    pub meta: SeriesMeta,
}

/// Slices decoded at a time when every slice is streamed through a summary.
const STREAM_CHUNK: usize = 32;

impl SeriesLayout {
    /// The voxels of the box `lo..=hi` (inclusive voxel indices) in HU, on
    /// [`Geometry::crop`] of the series grid. With `summary`, every slice of
    /// the series is decoded in order and added to it (rounded first when
    /// `round`), and only the box is kept.
    pub fn read_box(
        &self,
        lo: [usize; 3],
        hi: [usize; 3],
        summary: Option<(&mut IntensitySummary, bool)>,
    ) -> Result<Volume<f32>> {
        let g = &self.geometry;
        let mut part = SliceBox::new(g, lo, hi).map_err(|e| {
            Error::Invalid(format!("series {}: {e}", self.meta.series_instance_uid))
        })?;
        let nx = g.dims[0];
        // Slice buffers are reused: fresh ones would each cost page faults
        // and zeroing.
        let npix = nx * g.dims[1];
        match summary {
            Some((summary, round)) => {
                let all: Vec<usize> = (0..self.frames.len()).collect();
                let mut bufs = vec![vec![0f32; npix]; STREAM_CHUNK.min(all.len())];
                for chunk in all.chunks(STREAM_CHUNK) {
                    let bufs = &mut bufs[..chunk.len()];
                    self.decode(chunk, bufs)?;
                    for (z, slice) in chunk.iter().zip(bufs.iter()) {
                        summary.add(slice, round);
                        part.keep(*z, slice);
                    }
                }
            }
            None => {
                let wanted: Vec<usize> = (lo[2]..=hi[2]).collect();
                let mut bufs = vec![vec![0f32; npix]; STREAM_CHUNK.min(wanted.len())];
                for chunk in wanted.chunks(STREAM_CHUNK) {
                    let bufs = &mut bufs[..chunk.len()];
                    self.decode(chunk, bufs)?;
                    for (z, slice) in chunk.iter().zip(bufs.iter()) {
                        part.keep(*z, slice);
                    }
                }
            }
        }
        Ok(part.finish())
    }

    /// The whole series in HU.
    pub fn read_all(&self) -> Result<Volume<f32>> {
        self.read_box([0; 3], self.geometry.last(), None)
    }

    /// HU of the slices `zs` (grid z indices) into `out` (one buffer of a
    /// slice each, in that order): each file is read once, files in parallel.
    fn decode(&self, zs: &[usize], out: &mut [Vec<f32>]) -> Result<()> {
        let mut per_file: BTreeMap<usize, Vec<(Stored, &mut Vec<f32>)>> = BTreeMap::new();
        for (&z, buf) in zs.iter().zip(out.iter_mut()) {
            let f = &self.frames[z];
            per_file.entry(f.file).or_default().push((f.pixels, buf));
        }
        let uid = &self.meta.series_instance_uid;
        per_file
            .into_par_iter()
            .try_for_each(|(file, mut frames)| decode_frames(&self.files[file], uid, &mut frames))
    }
}

/// HU of `frames` of one file into their buffers: native data converted in
/// place from a [`View`], anything else decoded by dicom-rs.
fn decode_frames(
    path: &Path,
    series_uid: &str,
    frames: &mut [(Stored, &mut Vec<f32>)],
) -> Result<()> {
    scan::with_checked_bytes(path, |bytes| {
        decode_frames_of(bytes, path, series_uid, frames)
    })
}

/// [`decode_frames`] from the file's checked `bytes`.
fn decode_frames_of(
    bytes: &[u8],
    path: &Path,
    series_uid: &str,
    frames: &mut [(Stored, &mut Vec<f32>)],
) -> Result<()> {
    let ferr = |what: String| Error::format(path, format!("CT series {series_uid}: {what}"));
    let changed = || ferr("the file changed while the series was read".into());
    if frames.iter().all(|(s, _)| s.native) {
        if let Some(view) = View::parse(bytes) {
            for (stored, hu) in frames.iter_mut() {
                let native = view
                    .data
                    .native_pixels(stored.bits_alloc)
                    .ok_or_else(changed)?;
                stored.convert(native, hu).ok_or_else(changed)?;
            }
            return Ok(());
        }
    }
    let obj = scan::parse_checked(bytes).map_err(|e| {
        ferr(format!(
            "cannot read DICOM file (truncated or corrupt?): {e}"
        ))
    })?;
    for (stored, hu) in frames.iter_mut() {
        let npix = hu.len();
        if let Some(native) = native_pixels(&obj, stored.bits_alloc) {
            stored.convert(&native, hu).ok_or_else(|| {
                ferr(format!("truncated pixel data (frame {})", stored.index + 1))
            })?;
            continue;
        }
        let decoded = obj
            .decode_pixel_data_frame(stored.index as u32)
            .map_err(|e| {
                ferr(format!(
                    "cannot decode pixel data (frame {}): {e}",
                    stored.index + 1
                ))
            })?;
        let bits_alloc = decoded.bits_allocated();
        let bits_stored = decoded.bits_stored().clamp(1, bits_alloc.max(1));
        let signed = decoded.pixel_representation() == dicom_pixeldata::PixelRepresentation::Signed;
        let bytes = decoded.frame_data(0).map_err(|e| {
            ferr(format!(
                "truncated or invalid pixel data (frame {}): {e}",
                stored.index + 1
            ))
        })?;
        let bpp = (bits_alloc as usize).div_ceil(8);
        if bytes.len() < npix * bpp {
            return Err(ferr(format!(
                "truncated pixel data: frame {} has {} bytes, expected {}",
                stored.index + 1,
                bytes.len(),
                npix * bpp
            )));
        }
        to_hu(
            &bytes[..npix * bpp],
            bits_alloc,
            bits_stored,
            signed,
            stored.slope,
            stored.intercept,
            hu,
        )
        .ok_or_else(|| ferr(format!("unsupported Bits Allocated {bits_alloc}")))?;
    }
    Ok(())
}

/// Assemble a CT series from its files (classic or Enhanced CT). All files must
/// belong to one series.
pub fn load_series<P: AsRef<Path> + Sync>(files: &[P]) -> Result<(Volume<f32>, SeriesMeta)> {
    let layout = open_series(files)?;
    let volume = layout.read_all()?;
    Ok((volume, layout.meta))
}

/// Read the headers of a CT series (classic or Enhanced CT), check it and
/// sort its slices; no pixel data is decoded. All files must belong to one
/// series.
pub fn open_series<P: AsRef<Path> + Sync>(files: &[P]) -> Result<SeriesLayout> {
    if files.is_empty() {
        return Err(Error::Invalid("load_series: no files given".into()));
    }
    let opened: Vec<FileFrames> = files
        .par_iter()
        .enumerate()
        .map(|(i, p)| read_frames(i, p.as_ref()))
        .collect::<Result<_>>()?;

    let first_path = files[0].as_ref();
    let series_uid = opened[0].meta.series_instance_uid.clone();
    for (p, file) in files.iter().zip(&opened) {
        let uid = &file.meta.series_instance_uid;
        if *uid != series_uid {
            return Err(Error::format(
                p.as_ref(),
                format!(
                    "belongs to series {uid}, not to series {series_uid} (of {})",
                    first_path.display()
                ),
            ));
        }
    }
    let series_err =
        |file: &Path, what: String| Error::format(file, format!("CT series {series_uid}: {what}"));

    let mut frames: Vec<Frame> = Vec::new();
    let mut metas = Vec::with_capacity(opened.len());
    for file in opened {
        metas.push((file.meta, file.spacing_hint));
        frames.extend(file.frames);
    }
    let path_of = |f: &Frame| files[f.file].as_ref().to_path_buf();

    // Every frame must share the in-plane grid of the first one.
    let f0 = &frames[0];
    let (rows, cols, iop, ps) = (f0.rows, f0.cols, f0.iop, f0.pixel_spacing);
    for f in &frames[1..] {
        let frame_txt = f
            .frame_number
            .map(|n| format!("frame {n}: "))
            .unwrap_or_default();
        if f.rows != rows || f.cols != cols {
            return Err(series_err(
                &path_of(f),
                format!(
                    "{frame_txt}{}×{} pixels, the series {}×{} (mixed rows/columns)",
                    f.cols, f.rows, cols, rows
                ),
            ));
        }
        if (0..6).any(|i| (f.iop[i] - iop[i]).abs() > ORIENTATION_TOL) {
            return Err(series_err(
                &path_of(f),
                format!(
                    "{frame_txt}orientation {:?} differs from {:?} (mixed orientations)",
                    f.iop, iop
                ),
            ));
        }
        if (0..2).any(|i| (f.pixel_spacing[i] - ps[i]).abs() > 1e-4 * ps[i].max(1.0)) {
            return Err(series_err(
                &path_of(f),
                format!(
                    "{frame_txt}pixel spacing {:?} differs from {:?} (mixed pixel spacing)",
                    f.pixel_spacing, ps
                ),
            ));
        }
    }

    let r = [iop[0], iop[1], iop[2]];
    let c = [iop[3], iop[4], iop[5]];
    let n = normalise(cross(r, c));
    let pos = |f: &Frame| dot(f.ipp, n);
    frames.sort_by(|a, b| pos(a).total_cmp(&pos(b)));

    let nz = frames.len();
    let dz = if nz == 1 {
        metas[frames[0].file].1.unwrap_or(1.0)
    } else {
        let name_of = |f: &Frame| match f.frame_number {
            Some(k) => format!("frame {k} of {}", path_of(f).display()),
            None => path_of(f).display().to_string(),
        };
        check_spacing(&frames, n, &|f, why| series_err(&path_of(f), why), &name_of)?
    };

    // Each file was checked against the limit; the assembled volume is too.
    let voxels = ReadLimits::from_env()?.check(first_path, [cols, rows, nz])?;
    let geometry = Geometry {
        dims: [cols, rows, nz],
        spacing: [ps[1], ps[0], dz],
        origin: frames[0].ipp,
        direction: [[r[0], c[0], n[0]], [r[1], c[1], n[1]], [r[2], c[2], n[2]]],
    };
    debug_assert_eq!(voxels, geometry.len());
    let mut slices = Vec::with_capacity(nz);
    for f in &frames {
        slices.push(SliceRef {
            path: files[f.file].as_ref().to_path_buf(),
            sop_class_uid: f.sop_class_uid.clone(),
            sop_instance_uid: f.sop_instance_uid.clone(),
            frame_number: f.frame_number,
            position: f.ipp,
        });
    }
    let mut meta = metas.swap_remove(frames[0].file).0;
    meta.slices = slices;
    Ok(SeriesLayout {
        files: files.iter().map(|p| p.as_ref().to_path_buf()).collect(),
        frames,
        geometry,
        meta,
    })
}

/// Check slice distances and the progression direction; return the uniform distance.
/// `with(frame, reason)` builds the error for a frame.
fn check_spacing(
    frames: &[Frame],
    n: [f64; 3],
    with: &dyn Fn(&Frame, String) -> Error,
    name_of: &dyn Fn(&Frame) -> String,
) -> Result<f64> {
    let pos: Vec<f64> = frames.iter().map(|f| dot(f.ipp, n)).collect();
    let gaps: Vec<f64> = pos.windows(2).map(|w| w[1] - w[0]).collect();
    for (i, g) in gaps.iter().enumerate() {
        if *g < SPACING_ABS_TOL {
            return Err(with(
                &frames[i + 1],
                format!(
                    "duplicated slice position {:.3} mm along the normal (also in {})",
                    pos[i + 1],
                    name_of(&frames[i])
                ),
            ));
        }
    }
    let mut sorted = gaps.clone();
    sorted.sort_by(f64::total_cmp);
    // The lower median: a missing slice only lengthens gaps, so with an even
    // number of gaps (e.g. 3 slices left of 4) the shorter middle one is the spacing.
    let median = sorted[(sorted.len() - 1) / 2];
    for (i, g) in gaps.iter().enumerate() {
        if *g > MISSING_SLICE_FACTOR * median {
            return Err(with(
                &frames[i + 1],
                format!(
                    "missing slice: gap of {g:.3} mm before this slice (at {:.3} mm), median slice distance {median:.3} mm",
                    pos[i + 1]
                ),
            ));
        }
    }
    let tol = SPACING_ABS_TOL.max(SPACING_REL_TOL * median);
    for (i, g) in gaps.iter().enumerate() {
        if (g - median).abs() > tol {
            return Err(with(
                &frames[i + 1],
                format!(
                    "non-uniform slice spacing: {g:.4} mm before this slice, median {median:.4} mm (tolerance {tol:.4} mm)"
                ),
            ));
        }
    }
    // Positions must advance along the normal: in-plane drift means gantry tilt.
    let tan_max = MAX_TILT_DEG.to_radians().tan();
    let p0 = frames[0].ipp;
    for f in &frames[1..] {
        let d = sub(f.ipp, p0);
        let along = dot(d, n);
        let inplane = norm(sub(d, scale(n, along)));
        if inplane > tan_max * along.abs() + SPACING_ABS_TOL {
            let angle = inplane.atan2(along.abs()).to_degrees();
            return Err(with(
                f,
                format!(
                    "gantry tilt or sheared stack: slice positions progress at {angle:.2}° to the slice normal \
                     (limit {MAX_TILT_DEG}°); tilted series are not supported (resample them first)"
                ),
            ));
        }
    }
    Ok((pos[pos.len() - 1] - pos[0]) / (pos.len() - 1) as f64)
}

/// What one file contributes: its series attributes and decoded frames.
struct FileFrames {
    meta: SeriesMeta,
    /// Slice distance to use for a single-slice series (Spacing Between Slices or Slice Thickness).
    spacing_hint: Option<f64>,
    frames: Vec<Frame>,
}

/// Open one file, validate it and describe its frames (no pixel data is
/// decoded): from a zero-copy [`View`] when the file is little endian
/// (nearly every CT file), else from dicom-rs's object.
fn read_frames(file: usize, path: &Path) -> Result<FileFrames> {
    if let Some(frames) = header_frames(file, path)? {
        return Ok(frames);
    }
    scan::with_checked_bytes(path, |bytes| frames_of_file(bytes, file, path))
}

/// [`read_frames`] from the first bytes of the file only, when they hold
/// its whole header up to the Pixel Data element's (nearly every CT slice:
/// the pixel data is read once, later, and only where needed). `None` when
/// the file must be read whole.
fn header_frames(file: usize, path: &Path) -> Result<Option<FileFrames>> {
    use std::io::Read;
    const PREFIX: u64 = 64 << 10;
    let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let len = f.metadata().map_err(|e| Error::io(path, e))?.len();
    if len <= PREFIX {
        return Ok(None);
    }
    let mut buf = Vec::with_capacity(PREFIX as usize);
    (&mut f)
        .take(PREFIX)
        .read_to_end(&mut buf)
        .map_err(|e| Error::io(path, e))?;
    if super::validate::validate_bytes(&buf, path, true).is_err() {
        return Ok(None);
    }
    let Some(view) = View::parse_header(&buf, false) else {
        return Ok(None);
    };
    let Some(header) = view.pixel_data else {
        return Ok(None);
    };
    // The value must lie within the file (a truncated file is read whole,
    // where the validator names the problem).
    if header
        .len
        .is_some_and(|l| header.value_offset as u64 + u64::from(l) > len)
    {
        return Ok(None);
    }
    frames_of(
        &view.data,
        PixelInfo::of_header(&header),
        view.transfer_syntax,
        file,
        path,
    )
    .map(Some)
}

/// [`read_frames`] from the file's checked `bytes`.
fn frames_of_file(bytes: &[u8], file: usize, path: &Path) -> Result<FileFrames> {
    if let Some(view) = View::parse(bytes) {
        return frames_of(
            &view.data,
            PixelInfo::of_view(&view.data),
            view.transfer_syntax,
            file,
            path,
        );
    }
    let obj = scan::parse_checked(bytes).map_err(|e| {
        Error::format(
            path,
            format!("cannot read DICOM file (truncated or corrupt?): {e}"),
        )
    })?;
    let ts = obj
        .meta()
        .transfer_syntax()
        .trim_end_matches('\0')
        .to_string();
    frames_of(&*obj, PixelInfo::of_object(&obj), ts, file, path)
}

/// What a file's Pixel Data element is, from a full parse or a header.
#[derive(Debug, Clone, Copy)]
struct PixelInfo {
    present: bool,
    /// Byte length of native data; `None` when absent or encapsulated.
    native_len: Option<usize>,
    /// Whether native samples of 8, 16 and 32 bits are readable in place.
    in_place: [bool; 3],
}

impl PixelInfo {
    fn of_object(obj: &InMemDicomObject) -> PixelInfo {
        let native_len = obj
            .get(tags::PIXEL_DATA)
            .and_then(|e| e.value().primitive())
            .map(|v| v.calculate_byte_len());
        PixelInfo {
            present: obj.get(tags::PIXEL_DATA).is_some(),
            native_len,
            in_place: [8, 16, 32].map(|b| native_pixels(obj, b).is_some()),
        }
    }

    fn of_view(view: &View) -> PixelInfo {
        PixelInfo {
            present: view.has_pixel_data(),
            native_len: view.pixel_data_len(),
            in_place: [8, 16, 32].map(|b| view.native_pixels(b).is_some()),
        }
    }

    fn of_header(header: &PixelDataHeader) -> PixelInfo {
        PixelInfo {
            present: true,
            native_len: header.len.map(|l| l as usize),
            in_place: [8, 16, 32].map(|b| header.native_in_place(b)),
        }
    }

    fn native(&self, bits: u16) -> bool {
        match bits {
            8 => self.in_place[0],
            16 => self.in_place[1],
            32 => self.in_place[2],
            _ => false,
        }
    }
}

/// The frames of data set `obj` (transfer syntax `ts`), described for
/// [`decode_frames`].
fn frames_of<O: Attributes>(
    obj: &O,
    pixel: PixelInfo,
    ts: String,
    file: usize,
    path: &Path,
) -> Result<FileFrames> {
    let series = text(obj, tags::SERIES_INSTANCE_UID);
    let ferr = |what: String| Error::format(path, format!("CT series {series}: {what}"));
    if !SUPPORTED_TRANSFER_SYNTAXES
        .iter()
        .any(|(uid, _)| *uid == ts)
    {
        let supported: Vec<&str> = SUPPORTED_TRANSFER_SYNTAXES
            .iter()
            .map(|(_, n)| *n)
            .collect();
        return Err(ferr(format!(
            "unsupported transfer syntax {ts} (supported: {})",
            supported.join(", ")
        )));
    }
    if !pixel.present {
        return Err(ferr("missing pixel data (no Pixel Data element)".into()));
    }
    let rows = int(obj, tags::ROWS)
        .filter(|v| *v > 0)
        .ok_or_else(|| ferr("missing or invalid Rows".into()))? as usize;
    let cols = int(obj, tags::COLUMNS)
        .filter(|v| *v > 0)
        .ok_or_else(|| ferr("missing or invalid Columns".into()))? as usize;
    let spp = int(obj, tags::SAMPLES_PER_PIXEL).unwrap_or(1);
    if spp != 1 {
        return Err(ferr(format!(
            "{spp} samples per pixel; CT images must be greyscale"
        )));
    }
    let n_frames = int(obj, tags::NUMBER_OF_FRAMES).unwrap_or(1).max(1) as usize;
    // Refuse absurd headers before anything (decoder included) allocates for them.
    ReadLimits::from_env()?.check(path, [cols, rows, n_frames])?;
    let bits_header = int(obj, tags::BITS_ALLOCATED).unwrap_or(0);
    if !matches!(bits_header, 8 | 16 | 32) {
        return Err(ferr(format!(
            "unsupported Bits Allocated {bits_header} (expected 8, 16 or 32)"
        )));
    }
    check_native_length(
        pixel,
        path,
        rows * cols * n_frames,
        bits_header as usize / 8,
    )?;
    let sop_instance_uid = text(obj, tags::SOP_INSTANCE_UID);
    let sop_class_uid = text(obj, tags::SOP_CLASS_UID);

    // Plane geometry and rescale per frame: top level for classic images,
    // functional groups (per-frame overriding shared) for enhanced ones.
    let per_frame = items(obj, tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE);
    let shared = first_item(obj, tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE);
    let enhanced = !per_frame.is_empty() || shared.is_some();
    let fg = |f: usize, seq: dicom_core::Tag| -> Option<&O> {
        per_frame
            .get(f)
            .and_then(|it| first_item(it, seq))
            .or_else(|| shared.and_then(|s| first_item(s, seq)))
    };
    if enhanced && per_frame.len() != n_frames && n_frames > 1 {
        return Err(ferr(format!(
            "Per-Frame Functional Groups has {} items for {n_frames} frames",
            per_frame.len()
        )));
    }
    let mut geo = Vec::with_capacity(n_frames);
    for f in 0..n_frames {
        let src = |seq| if enhanced { fg(f, seq) } else { Some(obj) };
        let fname = if enhanced {
            format!(" (frame {})", f + 1)
        } else {
            String::new()
        };
        let ipp = src(tags::PLANE_POSITION_SEQUENCE)
            .and_then(|o| floats(o, tags::IMAGE_POSITION_PATIENT))
            .filter(|v| v.len() == 3)
            .ok_or_else(|| ferr(format!("missing Image Position (Patient){fname}")))?;
        let iop = src(tags::PLANE_ORIENTATION_SEQUENCE)
            .and_then(|o| floats(o, tags::IMAGE_ORIENTATION_PATIENT))
            .filter(|v| v.len() == 6)
            .ok_or_else(|| ferr(format!("missing Image Orientation (Patient){fname}")))?;
        let ps = src(tags::PIXEL_MEASURES_SEQUENCE)
            .and_then(|o| floats(o, tags::PIXEL_SPACING))
            .filter(|v| v.len() == 2 && v[0] > 0.0 && v[1] > 0.0)
            .ok_or_else(|| ferr(format!("missing or invalid Pixel Spacing{fname}")))?;
        let rescale = src(tags::PIXEL_VALUE_TRANSFORMATION_SEQUENCE);
        let slope = rescale
            .and_then(|o| float(o, tags::RESCALE_SLOPE))
            .unwrap_or(1.0);
        let intercept = rescale
            .and_then(|o| float(o, tags::RESCALE_INTERCEPT))
            .unwrap_or(0.0);
        let r = [iop[0], iop[1], iop[2]];
        let c = [iop[3], iop[4], iop[5]];
        if (norm(r) - 1.0).abs() > 1e-2 || (norm(c) - 1.0).abs() > 1e-2 || dot(r, c).abs() > 1e-2 {
            return Err(ferr(format!(
                "Image Orientation (Patient) {iop:?} is not two orthonormal cosines{fname}"
            )));
        }
        geo.push((
            [ipp[0], ipp[1], ipp[2]],
            [iop[0], iop[1], iop[2], iop[3], iop[4], iop[5]],
            [ps[0], ps[1]],
            slope,
            intercept,
        ));
    }

    let mut frames = Vec::with_capacity(n_frames);
    let mut push = |f: usize, pixels: Stored, (ipp, iop, ps): ([f64; 3], [f64; 6], [f64; 2])| {
        frames.push(Frame {
            file,
            frame_number: (n_frames > 1 || enhanced).then_some(f as u32 + 1),
            sop_instance_uid: sop_instance_uid.clone(),
            sop_class_uid: sop_class_uid.clone(),
            ipp,
            iop,
            pixel_spacing: ps,
            rows,
            cols,
            pixels,
        });
    };
    // Native data readable in place is converted from the file's bytes
    // (dicom-pixeldata's decoder would copy the values once more and look up
    // optional attributes in a way that builds an error value, with a stack
    // trace, per file); anything else goes through dicom-rs's decoders.
    let native = pixel.native(bits_header as u16);
    let bits_stored =
        int(obj, tags::BITS_STORED).map_or(bits_header, |b| b.clamp(1, bits_header)) as u16;
    let signed = int(obj, tags::PIXEL_REPRESENTATION) == Some(1);
    for (f, (ipp, iop, ps, slope, intercept)) in geo.into_iter().enumerate() {
        let stored = Stored {
            index: f,
            native,
            bits_alloc: bits_header as u16,
            bits_stored,
            signed,
            slope,
            intercept,
        };
        push(f, stored, (ipp, iop, ps));
    }
    let mut meta = series_meta(obj);
    meta.transfer_syntax_uid = ts;
    let spacing_hint = float(obj, tags::SPACING_BETWEEN_SLICES)
        .or(meta.slice_thickness)
        .filter(|v| *v > 0.0);
    Ok(FileFrames {
        meta,
        spacing_hint,
        frames,
    })
}

/// The Pixel Data bytes of native (uncompressed) data, in native byte order,
/// when dicom-rs parsed them as values of `bits` bits (OW as 16-bit words, OB
/// as bytes); `None` for encapsulated data or any other representation, which
/// go through dicom-pixeldata's decoder. Callers have checked the length.
fn native_pixels(obj: &InMemDicomObject, bits: u16) -> Option<std::borrow::Cow<'_, [u8]>> {
    use dicom_core::value::PrimitiveValue as P;
    let value = obj.get(tags::PIXEL_DATA)?.value().primitive()?;
    let fits = matches!(
        (bits, value),
        (8, P::U8(_)) | (16, P::U16(_) | P::I16(_)) | (32, P::U32(_) | P::I32(_))
    );
    fits.then(|| value.to_bytes())
}

/// For native (uncompressed) pixel data, the Pixel Data element must hold at
/// least `voxels × bytes_per_voxel` bytes: a tiny file declaring huge
/// dimensions is a format error before decoding allocates for it.
fn check_native_length(
    pixel: PixelInfo,
    path: &Path,
    voxels: usize,
    bytes_per_voxel: usize,
) -> Result<()> {
    let Some(have) = pixel.native_len else {
        return Ok(()); // absent, or encapsulated: the decoder checks each frame
    };
    let need = voxels.saturating_mul(bytes_per_voxel);
    if have < need {
        return Err(Error::format(
            path,
            format!(
                "truncated pixel data: {have} bytes, but Rows × Columns × Number of Frames × Bits Allocated needs {need}"
            ),
        ));
    }
    Ok(())
}

/// Stored values (native-endian bytes) to HU in `out` (one value per
/// element): mask to Bits Stored, sign-extend, then `slope · v + intercept`
/// in double precision. `None` for an unsupported Bits Allocated or a length
/// mismatch.
fn to_hu(
    bytes: &[u8],
    bits_alloc: u16,
    bits_stored: u16,
    signed: bool,
    slope: f64,
    intercept: f64,
    out: &mut [f32],
) -> Option<()> {
    let shift = 64 - bits_stored as u32;
    let conv = |raw: u64| -> f32 {
        let v = if signed {
            (((raw << shift) as i64) >> shift) as f64
        } else {
            ((raw << shift) >> shift) as f64
        };
        (slope * v + intercept) as f32
    };
    let size = match bits_alloc {
        8 | 16 | 32 => usize::from(bits_alloc / 8),
        _ => return None,
    };
    if bytes.len() != out.len() * size {
        return None;
    }
    // The usual CT case, 16 bits stored, slope 1 and an integral intercept:
    // `v + intercept` is an exact integer, so adding in i32 and rounding once
    // to f32 gives the same value as the double-precision formula, faster.
    if bits_alloc == 16
        && bits_stored == 16
        && slope == 1.0
        && intercept.fract() == 0.0
        && intercept.abs() < 1e9
    {
        let b = intercept as i32;
        for (o, c) in out.iter_mut().zip(bytes.chunks_exact(2)) {
            let raw = [c[0], c[1]];
            let v = if signed {
                i32::from(i16::from_ne_bytes(raw))
            } else {
                i32::from(u16::from_ne_bytes(raw))
            };
            *o = (v + b) as f32;
        }
        return Some(());
    }
    match bits_alloc {
        8 => {
            for (o, &b) in out.iter_mut().zip(bytes) {
                *o = conv(b as u64);
            }
        }
        16 => {
            for (o, c) in out.iter_mut().zip(bytes.chunks_exact(2)) {
                *o = conv(u16::from_ne_bytes([c[0], c[1]]) as u64);
            }
        }
        _ => {
            for (o, c) in out.iter_mut().zip(bytes.chunks_exact(4)) {
                *o = conv(u32::from_ne_bytes([c[0], c[1], c[2], c[3]]) as u64);
            }
        }
    }
    Some(())
}

/// Series-level attributes, looking into the Enhanced CT functional groups
/// when the classic attribute is absent.
fn series_meta<O: Attributes>(obj: &O) -> SeriesMeta {
    let shared = first_item(obj, tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE);
    let per0 = items(obj, tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE).first();
    // Value of `tag`, at top level or inside functional group `seq`.
    let fg_text = |seq, tag| {
        let t = text(obj, tag);
        if !t.is_empty() {
            return t;
        }
        [per0, shared]
            .into_iter()
            .flatten()
            .filter_map(|g| first_item(g, seq))
            .map(|o| text(o, tag))
            .find(|t| !t.is_empty())
            .unwrap_or_default()
    };
    let fg_float = |seq, tag| {
        fg_text(seq, tag)
            .split('\\')
            .next()
            .and_then(|s| s.trim().parse::<f64>().ok())
    };
    let contrast_usage = first_item(obj, tags::CONTRAST_BOLUS_AGENT_SEQUENCE);
    let mut meta = SeriesMeta {
        series_instance_uid: text(obj, tags::SERIES_INSTANCE_UID),
        study_instance_uid: text(obj, tags::STUDY_INSTANCE_UID),
        frame_of_reference_uid: text(obj, tags::FRAME_OF_REFERENCE_UID),
        sop_class_uid: text(obj, tags::SOP_CLASS_UID),
        modality: text(obj, tags::MODALITY),
        patient_id: text(obj, tags::PATIENT_ID),
        patient_name: text(obj, tags::PATIENT_NAME),
        study_date: text(obj, tags::STUDY_DATE),
        study_time: text(obj, tags::STUDY_TIME),
        study_description: text(obj, tags::STUDY_DESCRIPTION),
        series_date: text(obj, tags::SERIES_DATE),
        series_time: text(obj, tags::SERIES_TIME),
        series_description: text(obj, tags::SERIES_DESCRIPTION),
        series_number: int(obj, tags::SERIES_NUMBER),
        acquisition_date: text(obj, tags::ACQUISITION_DATE),
        acquisition_time: text(obj, tags::ACQUISITION_TIME),
        content_time: text(obj, tags::CONTENT_TIME),
        image_type: text(obj, tags::IMAGE_TYPE),
        body_part_examined: text(obj, tags::BODY_PART_EXAMINED),
        protocol_name: text(obj, tags::PROTOCOL_NAME),
        contrast_bolus_agent: text(obj, tags::CONTRAST_BOLUS_AGENT),
        contrast_bolus_route: text(obj, tags::CONTRAST_BOLUS_ROUTE),
        contrast_bolus_start_time: text(obj, tags::CONTRAST_BOLUS_START_TIME),
        contrast_bolus_volume: float(obj, tags::CONTRAST_BOLUS_VOLUME),
        manufacturer: text(obj, tags::MANUFACTURER),
        manufacturer_model_name: text(obj, tags::MANUFACTURER_MODEL_NAME),
        kvp: fg_float(tags::CTX_RAY_DETAILS_SEQUENCE, tags::KVP),
        xray_tube_current: fg_float(tags::CTX_RAY_DETAILS_SEQUENCE, tags::X_RAY_TUBE_CURRENT),
        exposure: fg_float(tags::CT_EXPOSURE_SEQUENCE, tags::EXPOSURE_INM_AS)
            .or_else(|| float(obj, tags::EXPOSURE)),
        convolution_kernel: fg_text(tags::CT_RECONSTRUCTION_SEQUENCE, tags::CONVOLUTION_KERNEL),
        slice_thickness: fg_float(tags::PIXEL_MEASURES_SEQUENCE, tags::SLICE_THICKNESS),
        transfer_syntax_uid: String::new(),
        slices: Vec::new(),
    };
    if meta.contrast_bolus_agent.is_empty() {
        if let Some(item) = contrast_usage {
            meta.contrast_bolus_agent = text(item, tags::CODE_MEANING);
        }
    }
    meta
}

/// Scan `dir` (recursively) and load its CT series: the one with `series_uid`,
/// or the only one when `series_uid` is `None` (several -> error listing them).
pub fn read_series_dir(dir: &Path, series_uid: Option<&str>) -> Result<(Volume<f32>, SeriesMeta)> {
    let layout = open_series_dir(dir, series_uid)?;
    let volume = layout.read_all()?;
    Ok((volume, layout.meta))
}

/// [`read_series_dir`] up to the headers: the series' [`SeriesLayout`].
pub fn open_series_dir(dir: &Path, series_uid: Option<&str>) -> Result<SeriesLayout> {
    let (infos, errors) = scan::scan_dir(dir)?;
    if let Some(e) = errors.into_iter().next() {
        return Err(e);
    }
    let is_ct = |i: &FileInfo| {
        i.sop_class_uid == scan::sop_class::CT_IMAGE
            || i.sop_class_uid == scan::sop_class::ENHANCED_CT_IMAGE
            || (i.modality == "CT" && !i.sop_class_uid.starts_with("1.2.840.10008.5.1.4.1.1.481"))
    };
    let mut series: BTreeMap<String, Vec<FileInfo>> = BTreeMap::new();
    for info in infos.into_iter().filter(is_ct) {
        series
            .entry(info.series_instance_uid.clone())
            .or_default()
            .push(info);
    }
    let listing = |series: &BTreeMap<String, Vec<FileInfo>>| {
        series
            .iter()
            .map(|(uid, f)| {
                format!(
                    "{uid} ({} files, #{} '{}')",
                    f.len(),
                    f[0].series_number
                        .map(|n| n.to_string())
                        .unwrap_or_default(),
                    f[0].series_description
                )
            })
            .collect::<Vec<_>>()
            .join("; ")
    };
    let files = match series_uid {
        Some(uid) => match series.get(uid) {
            Some(f) => f,
            None => {
                return Err(Error::format(
                    dir,
                    format!(
                        "no CT series {uid}; available: {}",
                        if series.is_empty() {
                            "none".into()
                        } else {
                            listing(&series)
                        }
                    ),
                ))
            }
        },
        None => match series.len() {
            0 => return Err(Error::format(dir, "no CT image files found")),
            1 => series.values().next().expect("one series"),
            _ => {
                return Err(Error::format(
                    dir,
                    format!(
                        "{} CT series found; choose one by series UID: {}",
                        series.len(),
                        listing(&series)
                    ),
                ))
            }
        },
    };
    open_series(files)
}

fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}
fn sub(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}
fn scale(a: [f64; 3], s: f64) -> [f64; 3] {
    [a[0] * s, a[1] * s, a[2] * s]
}
fn norm(a: [f64; 3]) -> f64 {
    dot(a, a).sqrt()
}
fn normalise(a: [f64; 3]) -> [f64; 3] {
    let l = norm(a);
    if l > 0.0 {
        scale(a, 1.0 / l)
    } else {
        a
    }
}

#[cfg(test)]
mod tests {
    use super::to_hu;

    /// The integer fast path gives the double-precision formula's values
    /// for every 16-bit stored value, signed and unsigned.
    #[test]
    fn integer_fast_path_equals_the_formula() {
        let bytes: Vec<u8> = (0..=u16::MAX).flat_map(u16::to_ne_bytes).collect();
        for signed in [false, true] {
            for intercept in [-1024.0, 0.0, -32768.0, 3.0e8 + 1.0] {
                let mut fast = vec![0f32; 1 << 16];
                to_hu(&bytes, 16, 16, signed, 1.0, intercept, &mut fast).unwrap();
                let formula: Vec<f32> = (0..=u16::MAX)
                    .map(|r| {
                        let v = if signed { r as i16 as f64 } else { r as f64 };
                        (v + intercept) as f32
                    })
                    .collect();
                assert_eq!(fast, formula, "signed {signed}, intercept {intercept}");
            }
        }
    }
}
