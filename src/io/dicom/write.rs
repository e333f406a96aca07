//! DICOM output: CT image series and RTSTRUCT contours (used to build test data).
//!
//! Files are written in explicit VR little endian, atomically (temporary file,
//! then rename), and deterministically: every UID comes from [`uid_from_seed`],
//! and the file meta group names ctrad without a version, so writing the same
//! input twice gives byte-identical files.

use super::format_ds;
use crate::error::{Error, Result};
use crate::io::dicom::scan::sop_class;
use crate::volume::{Geometry, Mask, Volume};
use dicom_core::value::{DataSetSequence, PrimitiveValue};
use dicom_core::{DataElement, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::meta::FileMetaTableBuilder;
use dicom_object::InMemDicomObject;
use std::path::{Path, PathBuf};

const EXPLICIT_VR_LE: &str = "1.2.840.10008.1.2.1";
const JPEG_2000_LOSSLESS: &str = "1.2.840.10008.1.2.4.90";
/// Referenced SOP class of a study in RTReferencedStudySequence (Detached Study Management).
const STUDY_COMPONENT_SOP_CLASS: &str = "1.2.840.10008.3.1.2.3.1";
const IMPLEMENTATION_VERSION_NAME: &str = "CTRAD";

/// A deterministic DICOM UID: `2.25.` followed by the decimal form of a
/// 128-bit hash of `seed` (the `2.25` root is for UUID-derived integers,
/// DICOM PS3.5 B.2; a hash of a unique seed serves the same purpose).
pub fn uid_from_seed(seed: &str) -> String {
    format!("2.25.{}", hash128(seed.as_bytes()))
}

/// FNV-1a over the bytes with two offset bases, each finalised with the
/// splitmix64 mixer. Stable across platforms and Rust versions.
fn hash128(bytes: &[u8]) -> u128 {
    fn fnv(bytes: &[u8], basis: u64) -> u64 {
        let mut h = basis;
        for &b in bytes {
            h ^= b as u64;
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        h
    }
    fn mix(mut z: u64) -> u64 {
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    let a = mix(fnv(bytes, 0xcbf2_9ce4_8422_2325));
    let b = mix(fnv(bytes, 0x6c62_272e_07bb_0142) ^ a);
    // A leading zero digit is impossible for a non-zero integer; avoid 0 itself.
    (((a as u128) << 64) | b as u128).max(1)
}

/// Everything about a CT series that is not in the volume.
#[derive(Debug, Clone, PartialEq)]
pub struct CtSeriesSpec {
    pub study_instance_uid: String,
    pub series_instance_uid: String,
    pub frame_of_reference_uid: String,
    pub patient_id: String,
    pub patient_name: String,
    /// DICOM DA, `YYYYMMDD`.
    pub study_date: String,
    /// DICOM TM, `HHMMSS`.
    pub study_time: String,
    pub study_description: String,
    pub series_description: String,
    pub series_number: i64,
    /// ContrastBolusAgent; empty for an unenhanced series.
    pub contrast_agent: String,
    /// ContrastBolusStartTime (TM); empty when unknown or unenhanced.
    pub bolus_start_time: String,
    /// AcquisitionTime (TM); also used as SeriesTime and ContentTime.
    pub acquisition_time: String,
    pub manufacturer: String,
    /// Tube voltage (kVp).
    pub kvp: f64,
    /// Pixel data as JPEG 2000 lossless (1.2.840.10008.1.2.4.90) instead of native.
    pub jpeg2000: bool,
}

impl CtSeriesSpec {
    /// A spec whose UIDs all derive from `seed` (study and frame of reference
    /// from `seed` alone, the series from `seed` and the series number).
    pub fn from_seed(seed: &str, series_number: i64) -> Self {
        CtSeriesSpec {
            study_instance_uid: uid_from_seed(&format!("{seed}/study")),
            series_instance_uid: uid_from_seed(&format!("{seed}/series/{series_number}")),
            frame_of_reference_uid: uid_from_seed(&format!("{seed}/frame-of-reference")),
            patient_id: "SYNTH".into(),
            patient_name: "Synthetic^Patient".into(),
            study_date: "20240101".into(),
            study_time: "100000".into(),
            study_description: String::new(),
            series_description: String::new(),
            series_number,
            contrast_agent: String::new(),
            bolus_start_time: String::new(),
            acquisition_time: "100000".into(),
            manufacturer: "ctrad synthetic".into(),
            kvp: 120.0,
            jpeg2000: false,
        }
    }

    /// SOP Instance UID of slice `k` (0-based, along the volume's z axis).
    pub fn sop_instance_uid(&self, k: usize) -> String {
        uid_from_seed(&format!("{}/slice/{k}", self.series_instance_uid))
    }
}

fn ds_values(values: &[f64]) -> PrimitiveValue {
    PrimitiveValue::Strs(values.iter().map(|&v| format_ds(v)).collect())
}

fn put_str(obj: &mut InMemDicomObject, tag: Tag, vr: VR, value: &str) {
    obj.put(DataElement::new(tag, vr, PrimitiveValue::from(value)));
}

fn put_ds(obj: &mut InMemDicomObject, tag: Tag, values: &[f64]) {
    obj.put(DataElement::new(tag, VR::DS, ds_values(values)));
}

fn put_us(obj: &mut InMemDicomObject, tag: Tag, value: u16) {
    obj.put(DataElement::new(tag, VR::US, PrimitiveValue::from(value)));
}

fn put_seq(obj: &mut InMemDicomObject, tag: Tag, items: Vec<InMemDicomObject>) {
    obj.put(DataElement::new(tag, VR::SQ, DataSetSequence::from(items)));
}

/// Write `obj` to `path` with a file meta group, via a temporary file and rename.
fn write_atomic(obj: InMemDicomObject, path: &Path) -> Result<()> {
    write_atomic_as(obj, path, EXPLICIT_VR_LE)
}

/// [`write_atomic`] in transfer syntax `ts`.
fn write_atomic_as(obj: InMemDicomObject, path: &Path, ts: &str) -> Result<()> {
    let meta = FileMetaTableBuilder::new()
        .transfer_syntax(ts)
        .implementation_class_uid(uid_from_seed("ctrad implementation"))
        .implementation_version_name(IMPLEMENTATION_VERSION_NAME);
    let file = obj
        .with_meta(meta)
        .map_err(|e| Error::format(path, format!("cannot build file meta group: {e}")))?;
    let mut bytes = Vec::new();
    file.write_all(&mut bytes)
        .map_err(|e| Error::format(path, format!("cannot encode DICOM: {e}")))?;
    write_bytes_atomic(path, &bytes)
}

/// Write `bytes` to `path` atomically, creating its folder. Test data can be
/// regenerated, so it is not fsynced.
pub fn write_bytes_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(parent) = path.parent() {
        if !parent.as_os_str().is_empty() {
            std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        }
    }
    crate::io::atomic::write_atomic_unsynced(path, |w| w.write_all(bytes))
}

/// Patient, study and equipment attributes shared by the CT images and the RTSTRUCT.
fn put_common(obj: &mut InMemDicomObject, spec: &CtSeriesSpec) {
    put_str(obj, tags::SPECIFIC_CHARACTER_SET, VR::CS, "ISO_IR 100");
    put_str(obj, tags::STUDY_DATE, VR::DA, &spec.study_date);
    put_str(obj, tags::STUDY_TIME, VR::TM, &spec.study_time);
    put_str(obj, tags::ACCESSION_NUMBER, VR::SH, "");
    put_str(obj, tags::MANUFACTURER, VR::LO, &spec.manufacturer);
    put_str(obj, tags::REFERRING_PHYSICIAN_NAME, VR::PN, "");
    put_str(
        obj,
        tags::STUDY_DESCRIPTION,
        VR::LO,
        &spec.study_description,
    );
    put_str(obj, tags::PATIENT_NAME, VR::PN, &spec.patient_name);
    put_str(obj, tags::PATIENT_ID, VR::LO, &spec.patient_id);
    put_str(obj, tags::PATIENT_BIRTH_DATE, VR::DA, "");
    put_str(obj, tags::PATIENT_SEX, VR::CS, "");
    put_str(
        obj,
        tags::STUDY_INSTANCE_UID,
        VR::UI,
        &spec.study_instance_uid,
    );
    put_str(obj, tags::STUDY_ID, VR::SH, "1");
}

/// Write `volume` (Hounsfield units) as a CT Image Storage series, one file
/// per z slice named `CT{k:04}.dcm` in `dir`, and return the paths in slice order.
///
/// Pixels are signed 16-bit with RescaleSlope 1; the RescaleIntercept is 0
/// when the rounded values fit in int16, else the midpoint of their range.
/// Geometry (LPS): ImageOrientationPatient holds the x and y axis directions,
/// ImagePositionPatient the centre of voxel (0, 0, k), PixelSpacing
/// `[y spacing, x spacing]` (row spacing first), SliceThickness the z spacing.
pub fn write_ct_series(
    dir: &Path,
    volume: &Volume<f32>,
    spec: &CtSeriesSpec,
) -> Result<Vec<PathBuf>> {
    let g = &volume.geometry;
    let [nx, ny, nz] = g.dims;
    if nx == 0 || ny == 0 || nz == 0 || nx > u16::MAX as usize || ny > u16::MAX as usize {
        return Err(Error::Invalid(format!(
            "cannot write a CT series of size {:?}",
            g.dims
        )));
    }
    if let Some(v) = volume.data.iter().find(|v| !v.is_finite()) {
        return Err(Error::Invalid(format!(
            "CT volume holds a non-finite value ({v}); DICOM pixels must be integers"
        )));
    }
    let (lo, hi) = volume
        .data
        .iter()
        .fold((f64::MAX, f64::MIN), |(lo, hi), &v| {
            let v = (v as f64).round();
            (lo.min(v), hi.max(v))
        });
    let intercept = if lo >= i16::MIN as f64 && hi <= i16::MAX as f64 {
        0.0
    } else if hi - lo <= u16::MAX as f64 {
        ((lo + hi) / 2.0).round()
    } else {
        return Err(Error::Invalid(format!(
            "CT values span {lo}..{hi} HU, more than int16 can hold with slope 1"
        )));
    };
    let row = [g.direction[0][0], g.direction[1][0], g.direction[2][0]];
    let col = [g.direction[0][1], g.direction[1][1], g.direction[2][1]];
    let slice_normal = [g.direction[0][2], g.direction[1][2], g.direction[2][2]];
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    use rayon::prelude::*;
    (0..nz)
        .into_par_iter()
        .map(|k| -> Result<PathBuf> {
            let mut obj = InMemDicomObject::new_empty();
            put_common(&mut obj, spec);
            put_str(
                &mut obj,
                tags::IMAGE_TYPE,
                VR::CS,
                "ORIGINAL\\PRIMARY\\AXIAL",
            );
            put_str(&mut obj, tags::SOP_CLASS_UID, VR::UI, sop_class::CT_IMAGE);
            put_str(
                &mut obj,
                tags::SOP_INSTANCE_UID,
                VR::UI,
                &spec.sop_instance_uid(k),
            );
            put_str(&mut obj, tags::SERIES_DATE, VR::DA, &spec.study_date);
            put_str(&mut obj, tags::ACQUISITION_DATE, VR::DA, &spec.study_date);
            put_str(&mut obj, tags::CONTENT_DATE, VR::DA, &spec.study_date);
            put_str(&mut obj, tags::SERIES_TIME, VR::TM, &spec.acquisition_time);
            put_str(
                &mut obj,
                tags::ACQUISITION_TIME,
                VR::TM,
                &spec.acquisition_time,
            );
            put_str(&mut obj, tags::CONTENT_TIME, VR::TM, &spec.acquisition_time);
            put_str(&mut obj, tags::MODALITY, VR::CS, "CT");
            put_str(
                &mut obj,
                tags::SERIES_DESCRIPTION,
                VR::LO,
                &spec.series_description,
            );
            put_str(
                &mut obj,
                tags::CONTRAST_BOLUS_AGENT,
                VR::LO,
                &spec.contrast_agent,
            );
            if !spec.contrast_agent.is_empty() {
                put_str(&mut obj, tags::CONTRAST_BOLUS_ROUTE, VR::LO, "IV");
            }
            if !spec.bolus_start_time.is_empty() {
                put_str(
                    &mut obj,
                    tags::CONTRAST_BOLUS_START_TIME,
                    VR::TM,
                    &spec.bolus_start_time,
                );
            }
            put_ds(&mut obj, tags::SLICE_THICKNESS, &[g.spacing[2]]);
            put_ds(&mut obj, tags::KVP, &[spec.kvp]);
            put_str(&mut obj, tags::PATIENT_POSITION, VR::CS, "HFS");
            put_str(
                &mut obj,
                tags::SERIES_INSTANCE_UID,
                VR::UI,
                &spec.series_instance_uid,
            );
            put_str(
                &mut obj,
                tags::SERIES_NUMBER,
                VR::IS,
                &spec.series_number.to_string(),
            );
            put_str(&mut obj, tags::ACQUISITION_NUMBER, VR::IS, "1");
            put_str(
                &mut obj,
                tags::INSTANCE_NUMBER,
                VR::IS,
                &(k + 1).to_string(),
            );
            let pos = g.index_to_world([0.0, 0.0, k as f64]);
            put_ds(&mut obj, tags::IMAGE_POSITION_PATIENT, &pos);
            put_ds(
                &mut obj,
                tags::IMAGE_ORIENTATION_PATIENT,
                &[row[0], row[1], row[2], col[0], col[1], col[2]],
            );
            put_str(
                &mut obj,
                tags::FRAME_OF_REFERENCE_UID,
                VR::UI,
                &spec.frame_of_reference_uid,
            );
            put_str(&mut obj, tags::POSITION_REFERENCE_INDICATOR, VR::LO, "");
            let slice_location: f64 = (0..3).map(|i| pos[i] * slice_normal[i]).sum();
            put_ds(&mut obj, tags::SLICE_LOCATION, &[slice_location]);
            put_us(&mut obj, tags::SAMPLES_PER_PIXEL, 1);
            put_str(
                &mut obj,
                tags::PHOTOMETRIC_INTERPRETATION,
                VR::CS,
                "MONOCHROME2",
            );
            put_us(&mut obj, tags::ROWS, ny as u16);
            put_us(&mut obj, tags::COLUMNS, nx as u16);
            put_ds(&mut obj, tags::PIXEL_SPACING, &[g.spacing[1], g.spacing[0]]);
            put_us(&mut obj, tags::BITS_ALLOCATED, 16);
            put_us(&mut obj, tags::BITS_STORED, 16);
            put_us(&mut obj, tags::HIGH_BIT, 15);
            put_us(&mut obj, tags::PIXEL_REPRESENTATION, 1);
            put_ds(&mut obj, tags::WINDOW_CENTER, &[40.0]);
            put_ds(&mut obj, tags::WINDOW_WIDTH, &[400.0]);
            put_ds(&mut obj, tags::RESCALE_INTERCEPT, &[intercept]);
            put_ds(&mut obj, tags::RESCALE_SLOPE, &[1.0]);
            put_str(&mut obj, tags::RESCALE_TYPE, VR::LO, "HU");
            let slice = &volume.data[k * nx * ny..(k + 1) * nx * ny];
            let stored: Vec<i16> = slice
                .iter()
                .map(|&v| ((v as f64).round() - intercept) as i16)
                .collect();
            let path = dir.join(format!("CT{:04}.dcm", k + 1));
            if spec.jpeg2000 {
                let scratch = path.with_extension("j2k.tmp");
                let codestream = encode_jpeg2000_lossless(&stored, nx, ny, &scratch)?;
                obj.put(DataElement::new(
                    tags::PIXEL_DATA,
                    VR::OB,
                    dicom_core::value::Value::PixelSequence(
                        dicom_core::value::PixelFragmentSequence::new(
                            Vec::<u32>::new(),
                            vec![codestream],
                        ),
                    ),
                ));
                write_atomic_as(obj, &path, JPEG_2000_LOSSLESS)?;
            } else {
                let bytes: Vec<u8> = stored.iter().flat_map(|v| v.to_le_bytes()).collect();
                obj.put(DataElement::new(
                    tags::PIXEL_DATA,
                    VR::OW,
                    PrimitiveValue::U8(bytes.into()),
                ));
                write_atomic(obj, &path)?;
            }
            Ok(path)
        })
        .collect()
}

/// A JPEG 2000 codestream (reversible 5/3 wavelet, one quality layer:
/// lossless) of one signed 16-bit slice of `cols` × `rows`, encoded by
/// openjp2 through the file `scratch` (removed afterwards).
fn encode_jpeg2000_lossless(
    pixels: &[i16],
    cols: usize,
    rows: usize,
    scratch: &Path,
) -> Result<Vec<u8>> {
    use openjp2::{opj_cparameters_t, opj_image, opj_image_comptparm, Codec, Stream};
    let fail = |what: &str| Error::Invalid(format!("JPEG 2000 encoding: {what}"));
    let param = opj_image_comptparm {
        dx: 1,
        dy: 1,
        w: cols as u32,
        h: rows as u32,
        x0: 0,
        y0: 0,
        prec: 16,
        bpp: 16,
        sgnd: 1,
    };
    let mut image = opj_image::create(&[param], openjp2::OPJ_CLRSPC_GRAY)
        .ok_or_else(|| fail("cannot create the image"))?;
    image.x1 = cols as u32;
    image.y1 = rows as u32;
    let data: Vec<i32> = pixels.iter().map(|&v| i32::from(v)).collect();
    let comp = image
        .comps_mut()
        .and_then(|c| c.first_mut())
        .ok_or_else(|| fail("no image component"))?;
    if !comp.set_data(&data) {
        return Err(fail("cannot set the pixel data"));
    }
    // One quality layer at rate 0: lossless.
    let mut params = opj_cparameters_t {
        tcp_numlayers: 1,
        cp_disto_alloc: 1,
        ..Default::default()
    };
    params.tcp_rates[0] = 0.0;
    let mut codec =
        Codec::new_encoder(openjp2::OPJ_CODEC_J2K).ok_or_else(|| fail("no J2K encoder"))?;
    if codec.setup_encoder(&mut params, &mut image) == 0 {
        return Err(fail("encoder set-up failed"));
    }
    {
        let mut stream =
            Stream::new_file(scratch, 1 << 20, false).map_err(|e| Error::io(scratch, e))?;
        if codec.start_compress(&mut image, &mut stream) == 0
            || codec.encode(&mut stream) == 0
            || codec.end_compress(&mut stream) == 0
        {
            return Err(fail("encoding failed"));
        }
    }
    let bytes = std::fs::read(scratch).map_err(|e| Error::io(scratch, e))?;
    std::fs::remove_file(scratch).map_err(|e| Error::io(scratch, e))?;
    let mut bytes = bytes;
    if bytes.len() % 2 == 1 {
        bytes.push(0); // fragments have even length
    }
    Ok(bytes)
}

/// One ROI of a structure set.
#[derive(Debug, Clone, Copy)]
pub struct RtRoi<'a> {
    pub name: &'a str,
    pub mask: &'a Mask,
    /// RTROIInterpretedType, e.g. `GTV` or `ORGAN`.
    pub interpreted_type: &'a str,
    /// ROIDisplayColor (RGB).
    pub color: [u8; 3],
}

/// Write an RTSTRUCT whose ROIs are contoured on the series described by
/// `image` (written by [`write_ct_series`] on `grid`). Each ROI's mask must be
/// on `grid`. The structure set's own UIDs derive from the image series UID,
/// so they are deterministic too.
///
/// Every mask slice becomes closed planar contours through voxel corners
/// (see [`trace_slice`]); rasterising them with the even-odd rule at voxel
/// centres gives back the mask exactly, holes included.
pub fn write_rtstruct(
    path: &Path,
    image: &CtSeriesSpec,
    grid: &Geometry,
    rois: &[RtRoi<'_>],
) -> Result<()> {
    for roi in rois {
        if let Some(reason) = grid.mismatch(&roi.mask.geometry) {
            return Err(Error::Invalid(format!(
                "ROI '{}' is not on the image grid: {reason}",
                roi.name
            )));
        }
    }
    let seed = &image.series_instance_uid;
    let mut obj = InMemDicomObject::new_empty();
    put_common(&mut obj, image);
    put_str(
        &mut obj,
        tags::SOP_CLASS_UID,
        VR::UI,
        sop_class::RT_STRUCTURE_SET,
    );
    put_str(
        &mut obj,
        tags::SOP_INSTANCE_UID,
        VR::UI,
        &uid_from_seed(&format!("{seed}/rtstruct/instance")),
    );
    put_str(&mut obj, tags::MODALITY, VR::CS, "RTSTRUCT");
    put_str(&mut obj, tags::SERIES_DESCRIPTION, VR::LO, "Contours");
    put_str(
        &mut obj,
        tags::SERIES_INSTANCE_UID,
        VR::UI,
        &uid_from_seed(&format!("{seed}/rtstruct/series")),
    );
    put_str(&mut obj, tags::SERIES_NUMBER, VR::IS, "99");
    put_str(&mut obj, tags::INSTANCE_NUMBER, VR::IS, "1");
    put_str(&mut obj, tags::STRUCTURE_SET_LABEL, VR::SH, "ctrad");
    put_str(
        &mut obj,
        tags::STRUCTURE_SET_DATE,
        VR::DA,
        &image.study_date,
    );
    put_str(
        &mut obj,
        tags::STRUCTURE_SET_TIME,
        VR::TM,
        &image.study_time,
    );

    let contour_image = |k: usize| {
        let mut item = InMemDicomObject::new_empty();
        put_str(
            &mut item,
            tags::REFERENCED_SOP_CLASS_UID,
            VR::UI,
            sop_class::CT_IMAGE,
        );
        put_str(
            &mut item,
            tags::REFERENCED_SOP_INSTANCE_UID,
            VR::UI,
            &image.sop_instance_uid(k),
        );
        item
    };

    // ReferencedFrameOfReferenceSequence > RTReferencedStudySequence >
    // RTReferencedSeriesSequence > ContourImageSequence (every slice).
    let mut series_item = InMemDicomObject::new_empty();
    put_str(
        &mut series_item,
        tags::SERIES_INSTANCE_UID,
        VR::UI,
        &image.series_instance_uid,
    );
    put_seq(
        &mut series_item,
        tags::CONTOUR_IMAGE_SEQUENCE,
        (0..grid.dims[2]).map(contour_image).collect(),
    );
    let mut study_item = InMemDicomObject::new_empty();
    put_str(
        &mut study_item,
        tags::REFERENCED_SOP_CLASS_UID,
        VR::UI,
        STUDY_COMPONENT_SOP_CLASS,
    );
    put_str(
        &mut study_item,
        tags::REFERENCED_SOP_INSTANCE_UID,
        VR::UI,
        &image.study_instance_uid,
    );
    put_seq(
        &mut study_item,
        tags::RT_REFERENCED_SERIES_SEQUENCE,
        vec![series_item],
    );
    let mut for_item = InMemDicomObject::new_empty();
    put_str(
        &mut for_item,
        tags::FRAME_OF_REFERENCE_UID,
        VR::UI,
        &image.frame_of_reference_uid,
    );
    put_seq(
        &mut for_item,
        tags::RT_REFERENCED_STUDY_SEQUENCE,
        vec![study_item],
    );
    put_seq(
        &mut obj,
        tags::REFERENCED_FRAME_OF_REFERENCE_SEQUENCE,
        vec![for_item],
    );

    let mut roi_items = Vec::new();
    let mut contour_items = Vec::new();
    let mut observation_items = Vec::new();
    for (n, roi) in rois.iter().enumerate() {
        let number = (n + 1).to_string();
        let mut item = InMemDicomObject::new_empty();
        put_str(&mut item, tags::ROI_NUMBER, VR::IS, &number);
        put_str(
            &mut item,
            tags::REFERENCED_FRAME_OF_REFERENCE_UID,
            VR::UI,
            &image.frame_of_reference_uid,
        );
        put_str(&mut item, tags::ROI_NAME, VR::LO, roi.name);
        put_str(&mut item, tags::ROI_GENERATION_ALGORITHM, VR::CS, "MANUAL");
        roi_items.push(item);

        let mut contours = Vec::new();
        for k in 0..grid.dims[2] {
            for polygon in trace_slice(roi.mask, k) {
                let mut data = Vec::with_capacity(polygon.len() * 3);
                for &(cx, cy) in &polygon {
                    // Corner (cx, cy) lies half a voxel before voxel centre (cx, cy).
                    let w = grid.index_to_world([cx as f64 - 0.5, cy as f64 - 0.5, k as f64]);
                    data.extend_from_slice(&w);
                }
                let mut c = InMemDicomObject::new_empty();
                put_seq(&mut c, tags::CONTOUR_IMAGE_SEQUENCE, vec![contour_image(k)]);
                put_str(
                    &mut c,
                    tags::CONTOUR_GEOMETRIC_TYPE,
                    VR::CS,
                    "CLOSED_PLANAR",
                );
                put_str(
                    &mut c,
                    tags::NUMBER_OF_CONTOUR_POINTS,
                    VR::IS,
                    &polygon.len().to_string(),
                );
                put_str(
                    &mut c,
                    tags::CONTOUR_NUMBER,
                    VR::IS,
                    &(contours.len() + 1).to_string(),
                );
                put_ds(&mut c, tags::CONTOUR_DATA, &data);
                contours.push(c);
            }
        }
        let mut item = InMemDicomObject::new_empty();
        obj_put_color(&mut item, roi.color);
        put_seq(&mut item, tags::CONTOUR_SEQUENCE, contours);
        put_str(&mut item, tags::REFERENCED_ROI_NUMBER, VR::IS, &number);
        contour_items.push(item);

        let mut item = InMemDicomObject::new_empty();
        put_str(&mut item, tags::OBSERVATION_NUMBER, VR::IS, &number);
        put_str(&mut item, tags::REFERENCED_ROI_NUMBER, VR::IS, &number);
        put_str(
            &mut item,
            tags::RTROI_INTERPRETED_TYPE,
            VR::CS,
            roi.interpreted_type,
        );
        put_str(&mut item, tags::ROI_INTERPRETER, VR::PN, "");
        observation_items.push(item);
    }
    put_seq(&mut obj, tags::STRUCTURE_SET_ROI_SEQUENCE, roi_items);
    put_seq(&mut obj, tags::ROI_CONTOUR_SEQUENCE, contour_items);
    put_seq(
        &mut obj,
        tags::RTROI_OBSERVATIONS_SEQUENCE,
        observation_items,
    );
    put_str(&mut obj, tags::APPROVAL_STATUS, VR::CS, "UNAPPROVED");
    write_atomic(obj, path)
}

fn obj_put_color(obj: &mut InMemDicomObject, rgb: [u8; 3]) {
    obj.put(DataElement::new(
        tags::ROI_DISPLAY_COLOR,
        VR::IS,
        PrimitiveValue::Strs(rgb.iter().map(|c| c.to_string()).collect()),
    ));
}

/// Closed polygons around the mask voxels of slice `k`, in voxel-corner
/// coordinates: corner `(cx, cy)` is the corner shared by voxels
/// `(cx-1..=cx, cy-1..=cy)`, i.e. voxel `(i, j)` spans corners `(i, j)` to
/// `(i+1, j+1)`.
///
/// Every edge between a mask voxel and a non-mask voxel (or the grid border)
/// is used exactly once, oriented with the mask on its left; the edges are
/// chained into loops, turning left at vertices where two regions touch
/// diagonally (so each loop is simple), and collinear runs are merged. Outer
/// boundaries run counter-clockwise and holes clockwise. Because the loops
/// are exactly the boundary of the union of voxel squares, a voxel centre
/// is inside an odd number of loops exactly when the voxel is in the mask.
pub fn trace_slice(mask: &Mask, k: usize) -> Vec<Vec<(i64, i64)>> {
    let [nx, ny, nz] = mask.geometry.dims;
    if k >= nz {
        return Vec::new();
    }
    let inside = |i: i64, j: i64| {
        i >= 0
            && j >= 0
            && (i as usize) < nx
            && (j as usize) < ny
            && mask.data[mask.geometry.index(i as usize, j as usize, k)]
    };
    // Directed edges as (start corner, direction index); directions are
    // 0 = +x, 1 = +y, 2 = -x, 3 = -y (counter-clockwise order).
    const STEP: [(i64, i64); 4] = [(1, 0), (0, 1), (-1, 0), (0, -1)];
    let mut edges: Vec<((i64, i64), u8)> = Vec::new();
    for j in 0..ny as i64 {
        for i in 0..nx as i64 {
            if !inside(i, j) {
                continue;
            }
            if !inside(i, j - 1) {
                edges.push(((i, j), 0));
            }
            if !inside(i + 1, j) {
                edges.push(((i + 1, j), 1));
            }
            if !inside(i, j + 1) {
                edges.push(((i + 1, j + 1), 2));
            }
            if !inside(i - 1, j) {
                edges.push(((i, j + 1), 3));
            }
        }
    }
    // Index edges by start corner; at most two edges leave a corner.
    edges.sort_unstable();
    let mut used = vec![false; edges.len()];
    let find = |corner: (i64, i64), dir: u8, edges: &[((i64, i64), u8)]| {
        edges.binary_search(&(corner, dir)).ok()
    };
    let mut loops = Vec::new();
    for start in 0..edges.len() {
        if used[start] {
            continue;
        }
        let mut points = Vec::new();
        let mut e = start;
        loop {
            used[e] = true;
            let (corner, dir) = edges[e];
            points.push((corner, dir));
            let (dx, dy) = STEP[dir as usize];
            let next = (corner.0 + dx, corner.1 + dy);
            // Prefer a left turn, then straight on, then a right turn.
            let candidates = [(dir + 1) % 4, dir, (dir + 3) % 4];
            let found = candidates
                .iter()
                .filter_map(|&d| find(next, d, &edges))
                .find(|&n| !used[n] || n == start);
            match found {
                Some(n) if n == start => break,
                Some(n) => e = n,
                None => break, // cannot happen for a closed boundary
            }
        }
        // Keep only the corners where the direction changes.
        let m = points.len();
        let polygon: Vec<(i64, i64)> = (0..m)
            .filter(|&p| points[(p + m - 1) % m].1 != points[p].1)
            .map(|p| points[p].0)
            .collect();
        loops.push(polygon);
    }
    loops
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uids_are_valid_and_stable() {
        let a = uid_from_seed("x");
        assert_eq!(a, uid_from_seed("x"));
        assert_ne!(a, uid_from_seed("y"));
        assert!(a.len() <= 64);
        assert!(a.starts_with("2.25.") && !a[5..].starts_with('0'));
        assert!(a[5..].chars().all(|c| c.is_ascii_digit()));
    }

    #[test]
    fn ds_fits_sixteen_characters() {
        assert_eq!(format_ds(1.5), "1.5");
        assert_eq!(format_ds(-0.0), "0");
        assert_eq!(format_ds(-123.25), "-123.25");
        assert_eq!(format_ds(1.0 / 3.0), "0.333333");
        assert!(format_ds(-123456789012.123).len() <= 16);
        assert!(format_ds(1e30).len() <= 16);
    }
}
