//! DICOM Segmentation (SEG) objects: reading BINARY and FRACTIONAL
//! segmentations onto an image grid, and writing BINARY (or FRACTIONAL) SEGs.
//!
//! Frames are placed by position (Per-Frame Functional Groups > Plane Position
//! Sequence), not by referenced image UID, so SEGs that cover only some slices
//! work. The SEG's in-plane grid (rows, columns, orientation, pixel spacing)
//! must equal the image's; ctrad does not resample segmentations.

use super::scan::{first_item, floats, int, items, text};
use super::series::SeriesMeta;
use crate::error::{Error, Result};
use crate::volume::{memory_path, Geometry, Mask, Volume};
use dicom_core::value::DataSetSequence;
use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::{FileMetaTableBuilder, InMemDicomObject};
use dicom_pixeldata::PixelDecoder;
use std::path::{Path, PathBuf};

/// SEG frames must lie within this fraction of a slice of an image slice plane.
pub const SLICE_MATCH_TOL: f64 = 0.1;
/// In-plane offset (voxels) tolerated between a SEG frame origin and the image's.
const INPLANE_TOL: f64 = 0.05;

/// Segmentation Type (0062,0001).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SegmentationType {
    Binary,
    /// Fractional: pixel values 0..=`max` (Maximum Fractional Value); a voxel is
    /// inside when its value is at least half of `max`.
    Fractional {
        max: u16,
    },
}

/// One item of the Segment Sequence.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    pub number: u16,
    pub label: String,
    pub description: String,
    pub algorithm_type: String,
}

/// Where one frame of the SEG lies and which segment it belongs to.
#[derive(Debug, Clone, PartialEq)]
pub struct SegFrame {
    pub segment: u16,
    /// Image Position (Patient) of the frame (mm, LPS).
    pub position: [f64; 3],
}

/// A parsed SEG object with its frames unpacked (one byte per pixel).
#[derive(Debug, Clone)]
pub struct Seg {
    pub path: PathBuf,
    pub sop_instance_uid: String,
    pub series_instance_uid: String,
    pub frame_of_reference_uid: String,
    pub referenced_series_uids: Vec<String>,
    pub segmentation_type: SegmentationType,
    pub segments: Vec<Segment>,
    pub rows: usize,
    pub cols: usize,
    /// Image Orientation (Patient): row cosine then column cosine.
    pub orientation: [f64; 6],
    /// Pixel Spacing: [row spacing, column spacing] (mm).
    pub pixel_spacing: [f64; 2],
    pub frames: Vec<SegFrame>,
    /// Pixel values, frame after frame, `rows * cols` each (0/1 for BINARY).
    pixels: Vec<u8>,
}

/// Read a SEG file.
pub fn read_seg(path: &Path) -> Result<Seg> {
    let file = super::scan::open_checked(path)?
        .map_err(|e| Error::format(path, format!("not a readable DICOM file: {e}")))?;
    let obj: &InMemDicomObject = &file;
    let err = |what: String| Error::format(path, what);
    let modality = text(obj, tags::MODALITY);
    if modality != "SEG" && text(obj, tags::SOP_CLASS_UID) != super::scan::sop_class::SEGMENTATION {
        return Err(err(format!(
            "not a DICOM Segmentation (modality '{modality}')"
        )));
    }
    let rows = int(obj, tags::ROWS)
        .filter(|v| *v > 0)
        .ok_or_else(|| err("missing Rows".into()))? as usize;
    let cols = int(obj, tags::COLUMNS)
        .filter(|v| *v > 0)
        .ok_or_else(|| err("missing Columns".into()))? as usize;
    let n_frames = int(obj, tags::NUMBER_OF_FRAMES).unwrap_or(1).max(1) as usize;
    // Refuse absurd headers before anything (decoder included) allocates for them.
    crate::io::ReadLimits::from_env()?.check(path, [cols, rows, n_frames])?;
    // The pixel decoder sizes its output by Samples per Pixel too.
    let spp = int(obj, tags::SAMPLES_PER_PIXEL).unwrap_or(1);
    if spp != 1 {
        return Err(err(format!("{spp} samples per pixel; a SEG has 1")));
    }
    let bits = int(obj, tags::BITS_ALLOCATED).unwrap_or(0);
    let seg_type = match text(obj, tags::SEGMENTATION_TYPE).as_str() {
        "BINARY" => SegmentationType::Binary,
        "FRACTIONAL" => {
            let max = int(obj, tags::MAXIMUM_FRACTIONAL_VALUE)
                .filter(|v| *v > 0 && *v <= 255)
                .ok_or_else(|| {
                    err("FRACTIONAL SEG without a valid Maximum Fractional Value".into())
                })?;
            SegmentationType::Fractional { max: max as u16 }
        }
        other => return Err(err(format!("unsupported Segmentation Type '{other}'"))),
    };
    let want_bits = if seg_type == SegmentationType::Binary {
        1
    } else {
        8
    };
    if bits != want_bits {
        return Err(err(format!(
            "Bits Allocated {bits} does not fit a {} SEG (expected {want_bits})",
            if want_bits == 1 {
                "BINARY"
            } else {
                "FRACTIONAL"
            }
        )));
    }
    let segments: Vec<Segment> = items(obj, tags::SEGMENT_SEQUENCE)
        .iter()
        .map(|s| Segment {
            number: int(s, tags::SEGMENT_NUMBER).unwrap_or(0) as u16,
            label: text(s, tags::SEGMENT_LABEL),
            description: text(s, tags::SEGMENT_DESCRIPTION),
            algorithm_type: text(s, tags::SEGMENT_ALGORITHM_TYPE),
        })
        .collect();
    if segments.is_empty() {
        return Err(err("SEG has an empty Segment Sequence".into()));
    }

    let per_frame = items(obj, tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE);
    let shared = first_item(obj, tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE);
    if per_frame.len() != n_frames {
        return Err(err(format!(
            "Per-Frame Functional Groups has {} items for {n_frames} frames",
            per_frame.len()
        )));
    }
    let fg = |f: usize, seq: Tag| {
        first_item(&per_frame[f], seq).or_else(|| shared.and_then(|s| first_item(s, seq)))
    };
    let mut frames = Vec::with_capacity(n_frames);
    let mut orientation = None;
    let mut spacing = None;
    for f in 0..n_frames {
        let segment = fg(f, tags::SEGMENT_IDENTIFICATION_SEQUENCE)
            .and_then(|o| int(o, tags::REFERENCED_SEGMENT_NUMBER))
            .ok_or_else(|| err(format!("frame {}: no Referenced Segment Number", f + 1)))?
            as u16;
        if !segments.iter().any(|s| s.number == segment) {
            return Err(err(format!(
                "frame {} refers to segment {segment}, absent from the Segment Sequence",
                f + 1
            )));
        }
        let ipp = fg(f, tags::PLANE_POSITION_SEQUENCE)
            .and_then(|o| floats(o, tags::IMAGE_POSITION_PATIENT))
            .filter(|v| v.len() == 3)
            .ok_or_else(|| err(format!("frame {}: no Plane Position Sequence", f + 1)))?;
        let iop = fg(f, tags::PLANE_ORIENTATION_SEQUENCE)
            .and_then(|o| floats(o, tags::IMAGE_ORIENTATION_PATIENT))
            .filter(|v| v.len() == 6)
            .ok_or_else(|| err(format!("frame {}: no Plane Orientation Sequence", f + 1)))?;
        let ps = fg(f, tags::PIXEL_MEASURES_SEQUENCE)
            .and_then(|o| floats(o, tags::PIXEL_SPACING))
            .filter(|v| v.len() == 2 && v[0] > 0.0 && v[1] > 0.0)
            .ok_or_else(|| err(format!("frame {}: no Pixel Measures Sequence", f + 1)))?;
        let iop: [f64; 6] = [iop[0], iop[1], iop[2], iop[3], iop[4], iop[5]];
        let ps = [ps[0], ps[1]];
        match orientation {
            None => orientation = Some(iop),
            Some(o) if (0..6).any(|i| (o[i] - iop[i]).abs() > 1e-4) => {
                return Err(err(format!(
                    "frame {} has a different orientation from frame 1",
                    f + 1
                )))
            }
            _ => {}
        }
        match spacing {
            None => spacing = Some(ps),
            Some(s) if (0..2).any(|i| (s[i] - ps[i]).abs() > 1e-4) => {
                return Err(err(format!(
                    "frame {} has a different pixel spacing from frame 1",
                    f + 1
                )))
            }
            _ => {}
        }
        frames.push(SegFrame {
            segment,
            position: [ipp[0], ipp[1], ipp[2]],
        });
    }

    let npix = rows * cols;
    let pixels = read_pixels(&file, bits, npix, n_frames).map_err(err)?;
    let mut referenced_series_uids = Vec::new();
    for s in items(obj, tags::REFERENCED_SERIES_SEQUENCE) {
        let uid = text(s, tags::SERIES_INSTANCE_UID);
        if !uid.is_empty() {
            referenced_series_uids.push(uid);
        }
    }
    Ok(Seg {
        path: path.to_path_buf(),
        sop_instance_uid: text(obj, tags::SOP_INSTANCE_UID),
        series_instance_uid: text(obj, tags::SERIES_INSTANCE_UID),
        frame_of_reference_uid: text(obj, tags::FRAME_OF_REFERENCE_UID),
        referenced_series_uids,
        segmentation_type: seg_type,
        segments,
        rows,
        cols,
        orientation: orientation.expect("at least one frame"),
        pixel_spacing: spacing.expect("at least one frame"),
        frames,
        pixels,
    })
}

/// Unpack the pixel data to one byte per pixel.
fn read_pixels(
    obj: &dicom_object::DefaultDicomObject,
    bits: i64,
    npix: usize,
    n_frames: usize,
) -> std::result::Result<Vec<u8>, String> {
    let total = npix * n_frames;
    let elem = obj
        .get(tags::PIXEL_DATA)
        .ok_or("missing pixel data (no Pixel Data element)")?;
    let native = elem.fragments().is_none();
    if bits == 1 {
        if !native {
            return Err("encapsulated (compressed) 1-bit SEG pixel data is not supported".into());
        }
        let bytes = elem
            .to_bytes()
            .map_err(|e| format!("invalid pixel data: {e}"))?;
        // Bits are packed continuously across frames, least significant bit first.
        if bytes.len() < total.div_ceil(8) {
            return Err(format!(
                "truncated pixel data: {} bytes for {n_frames} frames of {npix} 1-bit pixels (need {})",
                bytes.len(),
                total.div_ceil(8)
            ));
        }
        Ok((0..total).map(|i| (bytes[i >> 3] >> (i & 7)) & 1).collect())
    } else if native {
        let bytes = elem
            .to_bytes()
            .map_err(|e| format!("invalid pixel data: {e}"))?;
        if bytes.len() < total {
            return Err(format!(
                "truncated pixel data: {} bytes for {n_frames} frames of {npix} pixels",
                bytes.len()
            ));
        }
        Ok(bytes[..total].to_vec())
    } else {
        let decoded = obj
            .decode_pixel_data()
            .map_err(|e| format!("cannot decode pixel data: {e}"))?;
        let mut out = Vec::with_capacity(total);
        for f in 0..n_frames {
            let d = decoded
                .frame_data(f as u32)
                .map_err(|e| format!("cannot decode frame {}: {e}", f + 1))?;
            if d.len() < npix {
                return Err(format!(
                    "frame {} decodes to {} bytes, expected {npix}",
                    f + 1,
                    d.len()
                ));
            }
            out.extend_from_slice(&d[..npix]);
        }
        Ok(out)
    }
}

impl Seg {
    /// The segment chosen by `key`: a segment number (when `key` is an
    /// integer naming one), else the label (exact, then case-insensitive).
    pub fn find_segment(&self, key: &str) -> Result<&Segment> {
        if let Ok(n) = key.trim().parse::<u16>() {
            if let Some(s) = self.segments.iter().find(|s| s.number == n) {
                return Ok(s);
            }
        }
        if let Some(s) = self.segments.iter().find(|s| s.label == key) {
            return Ok(s);
        }
        let ci: Vec<&Segment> = self
            .segments
            .iter()
            .filter(|s| s.label.to_lowercase() == key.to_lowercase())
            .collect();
        if ci.len() == 1 {
            return Ok(ci[0]);
        }
        let list = self
            .segments
            .iter()
            .map(|s| format!("{} '{}'", s.number, s.label))
            .collect::<Vec<_>>()
            .join(", ");
        Err(Error::format(
            &self.path,
            format!(
                "{} segment '{key}'; available segments: {list}",
                if ci.is_empty() { "no" } else { "ambiguous" }
            ),
        ))
    }

    /// The mask of segment `number` on the image grid `geometry`.
    /// `image_frame_of_reference`, when given and non-empty, must equal the SEG's.
    pub fn segment_mask(
        &self,
        number: u16,
        geometry: &Geometry,
        image_frame_of_reference: Option<&str>,
    ) -> Result<Mask> {
        let mismatch = |reason: String| Error::GeometryMismatch {
            image: memory_path("image grid"),
            mask: self.path.clone(),
            reason,
        };
        if let Some(f) = image_frame_of_reference.filter(|s| !s.is_empty()) {
            if !self.frame_of_reference_uid.is_empty() && self.frame_of_reference_uid != f {
                return Err(mismatch(format!(
                    "SEG frame of reference {} differs from the image's {f}",
                    self.frame_of_reference_uid
                )));
            }
        }
        if !self.segments.iter().any(|s| s.number == number) {
            return Err(Error::format(
                &self.path,
                format!("no segment number {number}"),
            ));
        }
        let [nx, ny, nz] = geometry.dims;
        if self.cols != nx || self.rows != ny {
            return Err(mismatch(format!(
                "SEG frames are {}×{} pixels, image slices {nx}×{ny}",
                self.cols, self.rows
            )));
        }
        let d = &geometry.direction;
        let img_iop = [d[0][0], d[1][0], d[2][0], d[0][1], d[1][1], d[2][1]];
        if (0..6).any(|i| (img_iop[i] - self.orientation[i]).abs() > 1e-3) {
            return Err(mismatch(format!(
                "SEG orientation {:?} differs from the image's {img_iop:?}",
                self.orientation
            )));
        }
        let img_ps = [geometry.spacing[1], geometry.spacing[0]];
        if (0..2).any(|i| (img_ps[i] - self.pixel_spacing[i]).abs() > 1e-3 * img_ps[i].max(1.0)) {
            return Err(mismatch(format!(
                "SEG pixel spacing {:?} differs from the image's {img_ps:?}",
                self.pixel_spacing
            )));
        }
        let threshold = match self.segmentation_type {
            SegmentationType::Binary => 1u16,
            // value / max >= 0.5, in integers
            SegmentationType::Fractional { max } => max.div_ceil(2),
        };
        let npix = nx * ny;
        let mut mask = Volume::filled(geometry.clone(), false);
        for (f, frame) in self.frames.iter().enumerate() {
            if frame.segment != number {
                continue;
            }
            let ijk = geometry.world_to_index(frame.position);
            let k = ijk[2].round();
            if (ijk[2] - k).abs() > SLICE_MATCH_TOL || k < 0.0 || k >= nz as f64 {
                let normal = [d[0][2], d[1][2], d[2][2]];
                let z: f64 = (0..3).map(|r| frame.position[r] * normal[r]).sum();
                return Err(Error::format(
                    &self.path,
                    format!(
                        "SEG frame {} at z={z:.3} mm (slice index {:.3}) matches no image slice",
                        f + 1,
                        ijk[2]
                    ),
                ));
            }
            if ijk[0].abs() > INPLANE_TOL || ijk[1].abs() > INPLANE_TOL {
                return Err(mismatch(format!(
                    "SEG frame {} is offset in-plane by ({:.3}, {:.3}) voxels from the image grid",
                    f + 1,
                    ijk[0],
                    ijk[1]
                )));
            }
            let src = &self.pixels[f * npix..(f + 1) * npix];
            let dst = &mut mask.data[k as usize * npix..(k as usize + 1) * npix];
            for (m, &v) in dst.iter_mut().zip(src) {
                *m |= v as u16 >= threshold;
            }
        }
        Ok(mask)
    }
}

// ---------------------------------------------------------------- writing

const SEG_SOP_CLASS: &str = super::scan::sop_class::SEGMENTATION;
const EXPLICIT_VR_LE: &str = "1.2.840.10008.1.2.1";

/// Segment pixel content to write.
enum SegPixels<'a> {
    Binary(&'a Mask),
    /// Values in [0, 1], scaled to 0..=max.
    Fractional(&'a Volume<f32>, u8),
}

impl SegPixels<'_> {
    fn geometry(&self) -> &Geometry {
        match self {
            SegPixels::Binary(m) => &m.geometry,
            SegPixels::Fractional(v, _) => &v.geometry,
        }
    }
    /// Pixel value (0..=max) of voxel `i`.
    fn value(&self, i: usize) -> u8 {
        match self {
            SegPixels::Binary(m) => m.data[i] as u8,
            SegPixels::Fractional(v, max) => {
                let x = v.data[i];
                if x.is_finite() {
                    (x.clamp(0.0, 1.0) * *max as f32).round() as u8
                } else {
                    0
                }
            }
        }
    }
}

/// Write a BINARY SEG with one segment per `(label, mask)` on the grid of the
/// referenced CT series (`reference`, as returned by the series loader).
/// Only slices where a segment has voxels get a frame. The file is written
/// atomically (temporary file + rename in the same folder).
pub fn write_seg(path: &Path, masks: &[(&str, &Mask)], reference: &SeriesMeta) -> Result<()> {
    let segs: Vec<(&str, SegPixels)> = masks
        .iter()
        .map(|(l, m)| (*l, SegPixels::Binary(m)))
        .collect();
    write_any(path, &segs, reference, None)
}

/// Write a FRACTIONAL (PROBABILITY) SEG: values in [0, 1] stored as
/// 0..=`max_value` in 8 bits.
pub fn write_fractional_seg(
    path: &Path,
    maps: &[(&str, &Volume<f32>)],
    reference: &SeriesMeta,
    max_value: u8,
) -> Result<()> {
    if max_value == 0 {
        return Err(Error::Invalid(
            "Maximum Fractional Value must be positive".into(),
        ));
    }
    let segs: Vec<(&str, SegPixels)> = maps
        .iter()
        .map(|(l, m)| (*l, SegPixels::Fractional(m, max_value)))
        .collect();
    write_any(path, &segs, reference, Some(max_value))
}

fn write_any(
    path: &Path,
    segs: &[(&str, SegPixels)],
    reference: &SeriesMeta,
    fractional: Option<u8>,
) -> Result<()> {
    let Some((_, first)) = segs.first() else {
        return Err(Error::Invalid(format!(
            "{}: no segments to write",
            path.display()
        )));
    };
    let g = first.geometry().clone();
    for (label, s) in segs {
        if let Some(reason) = g.mismatch(s.geometry()) {
            return Err(Error::Invalid(format!(
                "{}: segment '{label}' is on another grid: {reason}",
                path.display()
            )));
        }
    }
    if !reference.slices.is_empty() && reference.slices.len() != g.dims[2] {
        return Err(Error::Invalid(format!(
            "{}: the grid has {} slices but the referenced series {} has {}",
            path.display(),
            g.dims[2],
            reference.series_instance_uid,
            reference.slices.len()
        )));
    }
    if g.dims[0] > u16::MAX as usize || g.dims[1] > u16::MAX as usize {
        return Err(Error::Invalid(format!(
            "{}: slices of {}×{} pixels exceed the DICOM limit of 65535",
            path.display(),
            g.dims[0],
            g.dims[1]
        )));
    }
    if segs.len() > u16::MAX as usize {
        return Err(Error::Invalid("too many segments".into()));
    }
    let [nx, ny, nz] = g.dims;
    let npix = nx * ny;

    // Frames: segment-major, then slice; empty slices are left out (an empty
    // segment keeps one blank frame so that it stays represented).
    let mut frame_list: Vec<(u16, usize)> = Vec::new();
    for (si, (_, s)) in segs.iter().enumerate() {
        let before = frame_list.len();
        for z in 0..nz {
            if (z * npix..(z + 1) * npix).any(|i| s.value(i) > 0) {
                frame_list.push((si as u16 + 1, z));
            }
        }
        if frame_list.len() == before {
            frame_list.push((si as u16 + 1, 0));
        }
    }
    let n_frames = frame_list.len();
    let pixel_bytes = if fractional.is_some() {
        let mut px = Vec::with_capacity(n_frames * npix + 1);
        for &(s, z) in &frame_list {
            let seg = &segs[s as usize - 1].1;
            px.extend((z * npix..(z + 1) * npix).map(|i| seg.value(i)));
        }
        px
    } else {
        let total = n_frames * npix;
        let mut px = vec![0u8; total.div_ceil(8)];
        let mut bit = 0usize;
        for &(s, z) in &frame_list {
            let seg = &segs[s as usize - 1].1;
            for i in z * npix..(z + 1) * npix {
                if seg.value(i) > 0 {
                    px[bit >> 3] |= 1 << (bit & 7);
                }
                bit += 1;
            }
        }
        px
    };
    let mut pixel_bytes = pixel_bytes;
    if pixel_bytes.len() % 2 == 1 {
        pixel_bytes.push(0);
    }

    let d = &g.direction;
    let iop = [d[0][0], d[1][0], d[2][0], d[0][1], d[1][1], d[2][1]];
    let sop_uid = new_uid();
    let (date, time) = now_da_tm();
    let mut o = InMemDicomObject::new_empty();
    put(&mut o, tags::SPECIFIC_CHARACTER_SET, VR::CS, "ISO_IR 192");
    put(&mut o, tags::SOP_CLASS_UID, VR::UI, SEG_SOP_CLASS);
    put(&mut o, tags::SOP_INSTANCE_UID, VR::UI, &sop_uid);
    put(&mut o, tags::MODALITY, VR::CS, "SEG");
    // Patient and study: copied from the reference (type 2: empty allowed).
    put(&mut o, tags::PATIENT_NAME, VR::PN, &reference.patient_name);
    put(&mut o, tags::PATIENT_ID, VR::LO, &reference.patient_id);
    put(&mut o, tags::PATIENT_BIRTH_DATE, VR::DA, "");
    put(&mut o, tags::PATIENT_SEX, VR::CS, "");
    let study_uid = if reference.study_instance_uid.is_empty() {
        new_uid()
    } else {
        reference.study_instance_uid.clone()
    };
    put(&mut o, tags::STUDY_INSTANCE_UID, VR::UI, &study_uid);
    put(&mut o, tags::STUDY_DATE, VR::DA, &reference.study_date);
    put(&mut o, tags::STUDY_TIME, VR::TM, &reference.study_time);
    put(&mut o, tags::REFERRING_PHYSICIAN_NAME, VR::PN, "");
    put(&mut o, tags::STUDY_ID, VR::SH, "");
    put(&mut o, tags::ACCESSION_NUMBER, VR::SH, "");
    put(&mut o, tags::SERIES_INSTANCE_UID, VR::UI, new_uid());
    put(&mut o, tags::SERIES_NUMBER, VR::IS, "300");
    put(
        &mut o,
        tags::SERIES_DESCRIPTION,
        VR::LO,
        "ctrad segmentation",
    );
    let for_uid = if reference.frame_of_reference_uid.is_empty() {
        new_uid()
    } else {
        reference.frame_of_reference_uid.clone()
    };
    put(&mut o, tags::FRAME_OF_REFERENCE_UID, VR::UI, &for_uid);
    put(&mut o, tags::POSITION_REFERENCE_INDICATOR, VR::LO, "");
    put(&mut o, tags::MANUFACTURER, VR::LO, "ctrad");
    put(&mut o, tags::MANUFACTURER_MODEL_NAME, VR::LO, "ctrad");
    put(&mut o, tags::DEVICE_SERIAL_NUMBER, VR::LO, "0");
    put(&mut o, tags::SOFTWARE_VERSIONS, VR::LO, crate::VERSION);
    put(&mut o, tags::INSTANCE_NUMBER, VR::IS, "1");
    put(&mut o, tags::CONTENT_DATE, VR::DA, &date);
    put(&mut o, tags::CONTENT_TIME, VR::TM, &time);
    put(&mut o, tags::CONTENT_LABEL, VR::CS, "SEGMENTATION");
    put(&mut o, tags::CONTENT_DESCRIPTION, VR::LO, "");
    put(&mut o, tags::CONTENT_CREATOR_NAME, VR::PN, "");
    put(&mut o, tags::IMAGE_TYPE, VR::CS, "DERIVED\\PRIMARY");
    put(&mut o, tags::SAMPLES_PER_PIXEL, VR::US, 1u16);
    put(
        &mut o,
        tags::PHOTOMETRIC_INTERPRETATION,
        VR::CS,
        "MONOCHROME2",
    );
    put(&mut o, tags::ROWS, VR::US, ny as u16);
    put(&mut o, tags::COLUMNS, VR::US, nx as u16);
    let bits: u16 = if fractional.is_some() { 8 } else { 1 };
    put(&mut o, tags::BITS_ALLOCATED, VR::US, bits);
    put(&mut o, tags::BITS_STORED, VR::US, bits);
    put(&mut o, tags::HIGH_BIT, VR::US, bits - 1);
    put(&mut o, tags::PIXEL_REPRESENTATION, VR::US, 0u16);
    put(&mut o, tags::LOSSY_IMAGE_COMPRESSION, VR::CS, "00");
    put(&mut o, tags::NUMBER_OF_FRAMES, VR::IS, n_frames.to_string());
    match fractional {
        None => put(&mut o, tags::SEGMENTATION_TYPE, VR::CS, "BINARY"),
        Some(max) => {
            put(&mut o, tags::SEGMENTATION_TYPE, VR::CS, "FRACTIONAL");
            put(
                &mut o,
                tags::SEGMENTATION_FRACTIONAL_TYPE,
                VR::CS,
                "PROBABILITY",
            );
            put(&mut o, tags::MAXIMUM_FRACTIONAL_VALUE, VR::US, max as u16);
        }
    }
    put(&mut o, tags::DIMENSION_ORGANIZATION_TYPE, VR::CS, "3D");

    // Segments.
    let segment_items = segs
        .iter()
        .enumerate()
        .map(|(i, (label, _))| {
            let mut s = InMemDicomObject::new_empty();
            put(&mut s, tags::SEGMENT_NUMBER, VR::US, i as u16 + 1);
            put(&mut s, tags::SEGMENT_LABEL, VR::LO, *label);
            put(&mut s, tags::SEGMENT_ALGORITHM_TYPE, VR::CS, "MANUAL");
            put_seq(
                &mut s,
                tags::SEGMENTED_PROPERTY_CATEGORY_CODE_SEQUENCE,
                vec![code("91723000", "SCT", "Anatomical Structure")],
            );
            put_seq(
                &mut s,
                tags::SEGMENTED_PROPERTY_TYPE_CODE_SEQUENCE,
                vec![code("85756007", "SCT", "Tissue")],
            );
            s
        })
        .collect();
    put_seq(&mut o, tags::SEGMENT_SEQUENCE, segment_items);

    // Referenced series (the source CT).
    if !reference.series_instance_uid.is_empty() {
        let mut rs = InMemDicomObject::new_empty();
        put(
            &mut rs,
            tags::SERIES_INSTANCE_UID,
            VR::UI,
            &reference.series_instance_uid,
        );
        let mut seen = std::collections::HashSet::new();
        let inst = reference
            .slices
            .iter()
            .filter(|s| seen.insert(s.sop_instance_uid.clone()))
            .map(|s| {
                let mut it = InMemDicomObject::new_empty();
                put(
                    &mut it,
                    tags::REFERENCED_SOP_CLASS_UID,
                    VR::UI,
                    &s.sop_class_uid,
                );
                put(
                    &mut it,
                    tags::REFERENCED_SOP_INSTANCE_UID,
                    VR::UI,
                    &s.sop_instance_uid,
                );
                it
            })
            .collect();
        put_seq(&mut rs, tags::REFERENCED_INSTANCE_SEQUENCE, inst);
        put_seq(&mut o, tags::REFERENCED_SERIES_SEQUENCE, vec![rs]);
    }

    // Dimensions: segment number, then image position.
    let dim_uid = new_uid();
    let mut dorg = InMemDicomObject::new_empty();
    put(
        &mut dorg,
        tags::DIMENSION_ORGANIZATION_UID,
        VR::UI,
        &dim_uid,
    );
    put_seq(&mut o, tags::DIMENSION_ORGANIZATION_SEQUENCE, vec![dorg]);
    let dim = |index: Tag, group: Tag, desc: &str| {
        let mut it = InMemDicomObject::new_empty();
        put(&mut it, tags::DIMENSION_ORGANIZATION_UID, VR::UI, &dim_uid);
        it.put(DataElement::new(
            tags::DIMENSION_INDEX_POINTER,
            VR::AT,
            PrimitiveValue::Tags(vec![index].into()),
        ));
        it.put(DataElement::new(
            tags::FUNCTIONAL_GROUP_POINTER,
            VR::AT,
            PrimitiveValue::Tags(vec![group].into()),
        ));
        put(&mut it, tags::DIMENSION_DESCRIPTION_LABEL, VR::LO, desc);
        it
    };
    put_seq(
        &mut o,
        tags::DIMENSION_INDEX_SEQUENCE,
        vec![
            dim(
                tags::REFERENCED_SEGMENT_NUMBER,
                tags::SEGMENT_IDENTIFICATION_SEQUENCE,
                "ReferencedSegmentNumber",
            ),
            dim(
                tags::IMAGE_POSITION_PATIENT,
                tags::PLANE_POSITION_SEQUENCE,
                "ImagePositionPatient",
            ),
        ],
    );

    // Shared functional groups: orientation and pixel measures.
    let mut shared = InMemDicomObject::new_empty();
    let mut orient = InMemDicomObject::new_empty();
    put(
        &mut orient,
        tags::IMAGE_ORIENTATION_PATIENT,
        VR::DS,
        ds_multi(&iop),
    );
    put_seq(&mut shared, tags::PLANE_ORIENTATION_SEQUENCE, vec![orient]);
    let mut measures = InMemDicomObject::new_empty();
    put(
        &mut measures,
        tags::PIXEL_SPACING,
        VR::DS,
        ds_multi(&[g.spacing[1], g.spacing[0]]),
    );
    put(
        &mut measures,
        tags::SLICE_THICKNESS,
        VR::DS,
        ds(reference.slice_thickness.unwrap_or(g.spacing[2])),
    );
    put(
        &mut measures,
        tags::SPACING_BETWEEN_SLICES,
        VR::DS,
        ds(g.spacing[2]),
    );
    put_seq(&mut shared, tags::PIXEL_MEASURES_SEQUENCE, vec![measures]);
    put_seq(
        &mut o,
        tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE,
        vec![shared],
    );

    // Per-frame functional groups.
    let per_frame = frame_list
        .iter()
        .map(|&(s, z)| {
            let mut it = InMemDicomObject::new_empty();
            let mut content = InMemDicomObject::new_empty();
            content.put(DataElement::new(
                tags::DIMENSION_INDEX_VALUES,
                VR::UL,
                PrimitiveValue::U32(vec![s as u32, z as u32 + 1].into()),
            ));
            put_seq(&mut it, tags::FRAME_CONTENT_SEQUENCE, vec![content]);
            let mut pos = InMemDicomObject::new_empty();
            put(
                &mut pos,
                tags::IMAGE_POSITION_PATIENT,
                VR::DS,
                ds_multi(&g.index_to_world([0.0, 0.0, z as f64])),
            );
            put_seq(&mut it, tags::PLANE_POSITION_SEQUENCE, vec![pos]);
            let mut ident = InMemDicomObject::new_empty();
            put(&mut ident, tags::REFERENCED_SEGMENT_NUMBER, VR::US, s);
            put_seq(&mut it, tags::SEGMENT_IDENTIFICATION_SEQUENCE, vec![ident]);
            if let Some(src) = reference.slices.get(z) {
                let mut source = InMemDicomObject::new_empty();
                put(
                    &mut source,
                    tags::REFERENCED_SOP_CLASS_UID,
                    VR::UI,
                    &src.sop_class_uid,
                );
                put(
                    &mut source,
                    tags::REFERENCED_SOP_INSTANCE_UID,
                    VR::UI,
                    &src.sop_instance_uid,
                );
                if let Some(n) = src.frame_number {
                    put(
                        &mut source,
                        tags::REFERENCED_FRAME_NUMBER,
                        VR::IS,
                        n.to_string(),
                    );
                }
                put_seq(
                    &mut source,
                    tags::PURPOSE_OF_REFERENCE_CODE_SEQUENCE,
                    vec![code(
                        "121322",
                        "DCM",
                        "Source image for image processing operation",
                    )],
                );
                let mut deriv = InMemDicomObject::new_empty();
                put_seq(
                    &mut deriv,
                    tags::DERIVATION_CODE_SEQUENCE,
                    vec![code("113076", "DCM", "Segmentation")],
                );
                put_seq(&mut deriv, tags::SOURCE_IMAGE_SEQUENCE, vec![source]);
                put_seq(&mut it, tags::DERIVATION_IMAGE_SEQUENCE, vec![deriv]);
            }
            it
        })
        .collect();
    put_seq(
        &mut o,
        tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE,
        per_frame,
    );
    o.put(DataElement::new(
        tags::PIXEL_DATA,
        VR::OB,
        PrimitiveValue::U8(pixel_bytes.into()),
    ));

    let file = o
        .with_meta(FileMetaTableBuilder::new().transfer_syntax(EXPLICIT_VR_LE))
        .map_err(|e| {
            Error::Invalid(format!(
                "{}: cannot build the file meta group: {e}",
                path.display()
            ))
        })?;
    write_atomically(path, |tmp| {
        file.write_to_file(tmp)
            .map_err(|e| Error::format(path, format!("cannot write SEG: {e}")))
    })
}

/// Run `write` on a temporary file beside `path`, then rename it into place.
pub(crate) fn write_atomically(path: &Path, write: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let name = path
        .file_name()
        .ok_or_else(|| Error::Invalid(format!("{}: not a file path", path.display())))?;
    let tmp = path.with_file_name(format!(
        ".{}.tmp{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let res = write(&tmp).and_then(|_| std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e)));
    if res.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    res
}

/// Values accepted by [`put`].
trait Pv {
    fn pv(self) -> PrimitiveValue;
}
impl Pv for &str {
    fn pv(self) -> PrimitiveValue {
        PrimitiveValue::from(self)
    }
}
impl Pv for &String {
    fn pv(self) -> PrimitiveValue {
        PrimitiveValue::from(self.as_str())
    }
}
impl Pv for String {
    fn pv(self) -> PrimitiveValue {
        PrimitiveValue::from(self)
    }
}
impl Pv for u16 {
    fn pv(self) -> PrimitiveValue {
        PrimitiveValue::from(self)
    }
}

fn put(obj: &mut InMemDicomObject, tag: Tag, vr: VR, value: impl Pv) {
    obj.put(DataElement::new(tag, vr, value.pv()));
}

fn put_seq(obj: &mut InMemDicomObject, tag: Tag, items: Vec<InMemDicomObject>) {
    obj.put(DataElement::new(tag, VR::SQ, DataSetSequence::from(items)));
}

fn code(value: &str, scheme: &str, meaning: &str) -> InMemDicomObject {
    let mut c = InMemDicomObject::new_empty();
    put(&mut c, tags::CODE_VALUE, VR::SH, value);
    put(&mut c, tags::CODING_SCHEME_DESIGNATOR, VR::SH, scheme);
    put(&mut c, tags::CODE_MEANING, VR::LO, meaning);
    c
}

/// A decimal string of at most 16 characters.
fn ds(v: f64) -> String {
    for prec in (0..=15).rev() {
        let s = format!("{v:.prec$}");
        let s = if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        };
        if s.len() <= 16 {
            return if s == "-0" { "0".into() } else { s };
        }
    }
    format!("{v:.3e}")
}

fn ds_multi(v: &[f64]) -> String {
    v.iter().map(|&x| ds(x)).collect::<Vec<_>>().join("\\")
}

/// A new UID under the 2.25 (UUID-derived) root, from time, process and a counter.
pub(crate) fn new_uid() -> String {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let c = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut parts = [0u64; 2];
    for (i, p) in parts.iter_mut().enumerate() {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(nanos);
        h.write_u32(std::process::id());
        h.write_u64(c);
        h.write_usize(i);
        *p = h.finish();
    }
    let v = ((parts[0] as u128) << 64 | parts[1] as u128) >> 1 | 1;
    format!("2.25.{v}")
}

/// Current UTC date (DA) and time (TM).
fn now_da_tm() -> (String, String) {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let days = secs.div_euclid(86400);
    let sod = secs.rem_euclid(86400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (
        format!("{year:04}{month:02}{day:02}"),
        format!("{:02}{:02}{:02}", sod / 3600, (sod / 60) % 60, sod % 60),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_strings_fit() {
        assert_eq!(ds(0.9765625), "0.9765625");
        let s = ds(-174.39450073242188);
        assert_eq!(s.len(), 16);
        assert!((s.parse::<f64>().unwrap() + 174.39450073242188).abs() < 1e-10);
        assert!(ds(1e-20).len() <= 16 && ds(-123456789012345678.0).len() <= 16);
        assert_eq!(ds(3.0), "3");
        assert_eq!(ds(-0.0), "0");
        assert!(new_uid().len() <= 64);
        assert_ne!(new_uid(), new_uid());
        let (d, t) = now_da_tm();
        assert_eq!((d.len(), t.len()), (8, 6));
    }
}
