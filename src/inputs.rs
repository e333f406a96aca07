//! Loading an image and its ROI masks from whatever the user points at:
//! a DICOM series folder or a NIfTI/NRRD file for the image; an RTSTRUCT, a
//! DICOM SEG or a NIfTI/NRRD label map for the mask.

use crate::error::{Error, Result};
use crate::io::dicom::{rtstruct, scan, seg, series};
use crate::volume::{check_same_grid, Mask, Volume};
use std::path::{Path, PathBuf};

/// An image volume with where it came from.
#[derive(Debug, Clone)]
pub struct Image {
    pub volume: Volume<f32>,
    /// The file or folder it was read from.
    pub path: PathBuf,
    /// DICOM metadata when read from DICOM.
    pub meta: Option<series::SeriesMeta>,
}

impl Image {
    /// SeriesInstanceUID for DICOM, else the file path.
    pub fn series_uid(&self) -> String {
        self.meta
            .as_ref()
            .map(|m| m.series_instance_uid.clone())
            .unwrap_or_else(|| self.path.display().to_string())
    }

    /// Frame of Reference UID (DICOM only).
    pub fn frame_of_reference(&self) -> Option<&str> {
        self.meta
            .as_ref()
            .map(|m| m.frame_of_reference_uid.as_str())
    }
}

/// One ROI mask on an image grid.
#[derive(Debug, Clone)]
pub struct RoiMask {
    pub mask: Mask,
    /// ROI name (RTSTRUCT ROIName, SEG SegmentLabel, or label / file name).
    pub roi: String,
    /// The segmentation file.
    pub path: PathBuf,
    /// SOP Instance UID of the RTSTRUCT/SEG, else the file path.
    pub segmentation_uid: String,
}

/// Read an image: a folder is a DICOM series (the only CT series in it), a
/// `.dcm` file stands for its folder's series, anything else a volume file.
pub fn load_image(path: &Path) -> Result<Image> {
    if path.is_dir() {
        let (volume, meta) = series::read_series_dir(path, None)?;
        return Ok(Image {
            volume,
            path: path.to_path_buf(),
            meta: Some(meta),
        });
    }
    if path.is_file() && scan::has_dicom_magic(path) {
        let info = scan::read_header(path)?;
        let dir = path.parent().unwrap_or(Path::new("."));
        let (volume, meta) = series::read_series_dir(dir, Some(&info.series_instance_uid))?;
        return Ok(Image {
            volume,
            path: path.to_path_buf(),
            meta: Some(meta),
        });
    }
    let volume = crate::io::read_volume(path)?;
    Ok(Image {
        volume,
        path: path.to_path_buf(),
        meta: None,
    })
}

/// What kind of segmentation a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaskKind {
    RtStruct,
    Seg,
    LabelMap,
}

/// Classify a segmentation file by content (DICOM SOP class) or extension.
pub fn mask_kind(path: &Path) -> Result<MaskKind> {
    if !path.exists() {
        return Err(Error::io(
            path,
            std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
        ));
    }
    if scan::has_dicom_magic(path) {
        let info = scan::read_header(path)?;
        return match (info.sop_class_uid.as_str(), info.modality.as_str()) {
            (scan::sop_class::RT_STRUCTURE_SET, _) | (_, "RTSTRUCT") => Ok(MaskKind::RtStruct),
            (scan::sop_class::SEGMENTATION, _) | (_, "SEG") => Ok(MaskKind::Seg),
            (c, m) => Err(Error::format(
                path,
                format!(
                    "DICOM object of SOP class {c} (modality {m}) is neither an RTSTRUCT nor a SEG"
                ),
            )),
        };
    }
    Ok(MaskKind::LabelMap)
}

/// The mask of one ROI of `mask_path` on `image`'s grid. `roi` names an
/// RTSTRUCT ROI or SEG segment (number or label); for a label map, `label`
/// picks a label (default: every non-zero voxel).
pub fn load_mask(
    mask_path: &Path,
    image: &Image,
    roi: Option<&str>,
    label: Option<i64>,
) -> Result<RoiMask> {
    let geometry = &image.volume.geometry;
    match mask_kind(mask_path)? {
        MaskKind::RtStruct => {
            let rs = rtstruct::read_rtstruct(mask_path)?;
            let chosen = match roi {
                Some(name) => rs.find_roi(name)?,
                None if rs.rois.len() == 1 => &rs.rois[0],
                None => {
                    return Err(Error::format(
                        mask_path,
                        format!(
                            "holds {} ROIs; choose one with --roi: {}",
                            rs.rois.len(),
                            rs.roi_names().join(", ")
                        ),
                    ))
                }
            };
            let mask =
                rtstruct::rasterise(chosen, geometry, image.frame_of_reference(), mask_path)?;
            Ok(RoiMask {
                mask,
                roi: chosen.name.clone(),
                path: mask_path.to_path_buf(),
                segmentation_uid: rs.sop_instance_uid.clone(),
            })
        }
        MaskKind::Seg => {
            let s = seg::read_seg(mask_path)?;
            let segment = match roi {
                Some(key) => s.find_segment(key)?.clone(),
                None if s.segments.len() == 1 => s.segments[0].clone(),
                None => {
                    let names: Vec<String> = s
                        .segments
                        .iter()
                        .map(|g| format!("{} '{}'", g.number, g.label))
                        .collect();
                    return Err(Error::format(
                        mask_path,
                        format!(
                            "holds {} segments; choose one with --roi: {}",
                            s.segments.len(),
                            names.join(", ")
                        ),
                    ));
                }
            };
            let mask = s.segment_mask(segment.number, geometry, image.frame_of_reference())?;
            Ok(RoiMask {
                mask,
                roi: segment.label,
                path: mask_path.to_path_buf(),
                segmentation_uid: s.sop_instance_uid,
            })
        }
        MaskKind::LabelMap => {
            let mask = crate::io::read_label_mask(mask_path, label)?;
            check_same_grid(geometry, &image.path, &mask.geometry, mask_path)?;
            let name = roi.map(str::to_string).unwrap_or_else(|| match label {
                Some(l) => format!("label_{l}"),
                None => mask_stem(mask_path),
            });
            Ok(RoiMask {
                mask,
                roi: name,
                path: mask_path.to_path_buf(),
                segmentation_uid: mask_path.display().to_string(),
            })
        }
    }
}

/// File name without volume extensions (`CT_mask.nii.gz` → `CT_mask`).
pub fn mask_stem(path: &Path) -> String {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("mask");
    for ext in [".nii.gz", ".nii", ".nrrd", ".nhdr", ".dcm"] {
        if let Some(s) = name.strip_suffix(ext) {
            return s.to_string();
        }
    }
    name.to_string()
}
