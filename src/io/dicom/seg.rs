//! DICOM Segmentation (SEG) objects: reading BINARY and FRACTIONAL
//! segmentations onto an image grid, and writing BINARY (or FRACTIONAL) SEGs.
//!
//! Frames are placed by position (Per-Frame Functional Groups > Plane Position
//! Sequence), not by referenced image UID, so SEGs that cover only some slices
//! work. The SEG's in-plane grid (rows, columns, orientation, pixel spacing)
//! must equal the image's; ctrad does not resample segmentations.

use super::scan::{first_item, floats, int, items, text};
use crate::error::{Error, Result};
use crate::volume::{memory_path, Geometry, Mask, Volume};
use dicom_core::Tag;
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
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
