//! DICOM SEG output (binary and fractional), used to build test data: one
//! frame per slice a segment touches, on the grid of the referenced CT series.
//! Behind the `testdata` feature, like the other test-data writers.

use super::format_ds_with;
use super::series::SeriesMeta;
use super::write::uid_from_seed;
use crate::error::{Error, Result};
use crate::io::atomic::write_atomic;
use crate::volume::{Geometry, Mask, Volume};
use dicom_core::value::DataSetSequence;
use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::{FileMetaTableBuilder, InMemDicomObject};
use std::path::Path;

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
    let mut bytes = Vec::new();
    file.write_all(&mut bytes)
        .map_err(|e| Error::format(path, format!("cannot write SEG: {e}")))?;
    write_atomic(path, |w| w.write_all(&bytes))
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

/// A decimal string of at most 16 characters, as precise as it fits.
fn ds(v: f64) -> String {
    format_ds_with(v, 15)
}

fn ds_multi(v: &[f64]) -> String {
    v.iter().map(|&x| ds(x)).collect::<Vec<_>>().join("\\")
}

/// A new UID, unique to this process and moment: the one UID maker
/// ([`uid_from_seed`]) seeded with the time, the process id and a counter.
fn new_uid() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let c = COUNTER.fetch_add(1, Ordering::Relaxed);
    uid_from_seed(&format!("seg/{nanos}/{}/{c}", std::process::id()))
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
