//! Loading an image and its ROI masks from whatever the user points at:
//! a DICOM series folder or a NIfTI/NRRD file for the image; an RTSTRUCT, a
//! DICOM SEG or a NIfTI/NRRD label map for the mask.

use crate::error::{Error, Result};
use crate::io::dicom::{rtstruct, scan, seg, series};
use crate::volume::{check_same_grid, Geometry, IntensitySummary, Mask, Volume};
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
        series_uid(self.meta.as_ref(), &self.path)
    }

    /// Frame of Reference UID (DICOM only).
    pub fn frame_of_reference(&self) -> Option<&str> {
        frame_of_reference(self.meta.as_ref())
    }
}

fn series_uid(meta: Option<&series::SeriesMeta>, path: &Path) -> String {
    meta.map(|m| m.series_instance_uid.clone())
        .unwrap_or_else(|| path.display().to_string())
}

fn frame_of_reference(meta: Option<&series::SeriesMeta>) -> Option<&str> {
    meta.map(|m| m.frame_of_reference_uid.as_str())
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

/// An image whose voxels are read box by box: a DICOM series opened by its
/// headers (pixel data decoded only where asked), or a volume file.
pub struct ImageSource {
    /// The file or folder it was read from.
    pub path: PathBuf,
    /// DICOM metadata when read from DICOM.
    pub meta: Option<series::SeriesMeta>,
    /// The image grid.
    pub geometry: Geometry,
    pixels: Pixels,
}

enum Pixels {
    Series(Box<series::SeriesLayout>),
    File(crate::io::VolumeFile),
}

impl ImageSource {
    /// Open an image as [`load_image`] reads it, decoding no DICOM pixel data.
    pub fn open(path: &Path) -> Result<ImageSource> {
        if path.is_dir() {
            return Ok(Self::from_layout(
                series::open_series_dir(path, None)?,
                path,
            ));
        }
        if path.is_file() && scan::has_dicom_magic(path) {
            let info = scan::read_header(path)?;
            let dir = path.parent().unwrap_or(Path::new("."));
            let layout = series::open_series_dir(dir, Some(&info.series_instance_uid))?;
            return Ok(Self::from_layout(layout, path));
        }
        let file = crate::io::VolumeFile::open(path)?;
        Ok(ImageSource {
            path: path.to_path_buf(),
            meta: None,
            geometry: file.geometry().clone(),
            pixels: Pixels::File(file),
        })
    }

    /// Open the CT series of `files` (one series), named by their folder.
    pub fn open_series<P: AsRef<Path> + Sync>(files: &[P]) -> Result<ImageSource> {
        let layout = series::open_series(files)?;
        let path = files
            .first()
            .and_then(|f| f.as_ref().parent())
            .map(Path::to_path_buf)
            .unwrap_or_default();
        Ok(Self::from_layout(layout, &path))
    }

    fn from_layout(layout: series::SeriesLayout, path: &Path) -> ImageSource {
        ImageSource {
            path: path.to_path_buf(),
            meta: Some(layout.meta.clone()),
            geometry: layout.geometry.clone(),
            pixels: Pixels::Series(Box::new(layout)),
        }
    }

    /// SeriesInstanceUID for DICOM, else the file path.
    pub fn series_uid(&self) -> String {
        series_uid(self.meta.as_ref(), &self.path)
    }

    /// Frame of Reference UID (DICOM only).
    pub fn frame_of_reference(&self) -> Option<&str> {
        frame_of_reference(self.meta.as_ref())
    }

    /// The voxels of the box `lo..=hi`, on `geometry.crop(lo, hi)`. With
    /// `summary`, the whole image's intensities are added to it (rounded
    /// first when its flag says so) in the same pass.
    pub fn read_box(
        &self,
        lo: [usize; 3],
        hi: [usize; 3],
        summary: Option<(&mut IntensitySummary, bool)>,
    ) -> Result<Volume<f32>> {
        match &self.pixels {
            Pixels::Series(layout) => layout.read_box(lo, hi, summary),
            Pixels::File(file) => file.read_box(lo, hi, summary),
        }
    }

    /// The whole image.
    pub fn into_image(self) -> Result<Image> {
        let volume = match self.pixels {
            Pixels::Series(layout) => layout.read_all()?,
            Pixels::File(file) => file.into_volume()?,
        };
        Ok(Image {
            volume,
            path: self.path,
            meta: self.meta,
        })
    }
}

/// One ROI's mask as its bounding box on an image grid.
#[derive(Debug, Clone)]
pub struct RoiBox {
    /// The mask on `grid.crop(lo, lo + dims - 1)` (one background voxel at
    /// the origin when the ROI is empty).
    pub mask: Mask,
    /// Where the box starts on the image grid.
    pub lo: [usize; 3],
    /// ROI name (RTSTRUCT ROIName, SEG SegmentLabel, or label / file name).
    pub roi: String,
    /// The segmentation file.
    pub path: PathBuf,
    /// SOP Instance UID of the RTSTRUCT/SEG, else the file path.
    pub segmentation_uid: String,
}

impl RoiBox {
    /// The last voxel of the box on the image grid.
    pub fn hi(&self) -> [usize; 3] {
        std::array::from_fn(|a| self.lo[a] + self.mask.geometry.dims[a] - 1)
    }

    /// Whether the ROI has no voxel.
    pub fn is_empty(&self) -> bool {
        !self.mask.data.iter().any(|&b| b)
    }

    /// The mask on the box `lo..=hi` of `grid` (the image grid).
    pub fn on_box(&self, grid: &Geometry, lo: [usize; 3], hi: [usize; 3]) -> Mask {
        self.mask.reframe(grid, self.lo, lo, hi, false)
    }

    fn from_mask(mask: Mask, roi: String, path: &Path, segmentation_uid: String) -> RoiBox {
        let (mask, lo) = match mask.bounding_box() {
            Some((lo, hi)) => (mask.crop(lo, hi), lo),
            None => (mask.crop([0; 3], [0; 3]), [0; 3]),
        };
        RoiBox {
            mask,
            lo,
            roi,
            path: path.to_path_buf(),
            segmentation_uid,
        }
    }
}

/// The mask of one ROI of `mask_path` on `image`'s grid as its bounding box,
/// chosen as [`load_mask`] chooses it.
pub fn load_roi_box(
    mask_path: &Path,
    image: &ImageSource,
    roi: Option<&str>,
    label: Option<i64>,
) -> Result<RoiBox> {
    let on = ImageGrid {
        geometry: &image.geometry,
        path: &image.path,
        frame_of_reference: image.frame_of_reference(),
    };
    roi_box_on(mask_path, &on, roi, label)
}

/// What a mask is placed on: the image's grid, path and frame of reference.
struct ImageGrid<'a> {
    geometry: &'a Geometry,
    path: &'a Path,
    frame_of_reference: Option<&'a str>,
}

fn roi_box_on(
    mask_path: &Path,
    image: &ImageGrid,
    roi: Option<&str>,
    label: Option<i64>,
) -> Result<RoiBox> {
    let geometry = image.geometry;
    match mask_kind(mask_path)? {
        MaskKind::RtStruct => {
            let rs = rtstruct::read_rtstruct(mask_path)?;
            let chosen = choose_roi(&rs, mask_path, roi)?;
            let (mask, lo) =
                rtstruct::rasterise_box(chosen, geometry, image.frame_of_reference, mask_path)?;
            Ok(RoiBox {
                mask,
                lo,
                roi: chosen.name.clone(),
                path: mask_path.to_path_buf(),
                segmentation_uid: rs.sop_instance_uid.clone(),
            })
        }
        MaskKind::Seg => {
            let s = seg::read_seg(mask_path)?;
            let segment = choose_segment(&s, mask_path, roi)?;
            let mask = s.segment_mask(segment.number, geometry, image.frame_of_reference)?;
            Ok(RoiBox::from_mask(
                mask,
                segment.label,
                mask_path,
                s.sop_instance_uid,
            ))
        }
        MaskKind::LabelMap => {
            let (mask, lo, grid) = crate::io::read_label_mask_box(mask_path, label)?;
            check_same_grid(geometry, image.path, &grid, mask_path)?;
            Ok(RoiBox {
                mask,
                lo,
                roi: label_map_roi_name(mask_path, roi, label),
                path: mask_path.to_path_buf(),
                segmentation_uid: mask_path.display().to_string(),
            })
        }
    }
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
    let grid = &image.volume.geometry;
    let on = ImageGrid {
        geometry: grid,
        path: &image.path,
        frame_of_reference: image.frame_of_reference(),
    };
    let b = roi_box_on(mask_path, &on, roi, label)?;
    Ok(RoiMask {
        mask: b.on_box(grid, [0; 3], grid.last()),
        roi: b.roi,
        path: b.path,
        segmentation_uid: b.segmentation_uid,
    })
}

/// The RTSTRUCT ROI named `roi`, or the only one.
fn choose_roi<'a>(
    rs: &'a rtstruct::RtStruct,
    mask_path: &Path,
    roi: Option<&str>,
) -> Result<&'a rtstruct::RoiContours> {
    match roi {
        Some(name) => rs.find_roi(name),
        None if rs.rois.len() == 1 => Ok(&rs.rois[0]),
        None => Err(Error::format(
            mask_path,
            format!(
                "holds {} ROIs; choose one with --roi: {}",
                rs.rois.len(),
                rs.roi_names().join(", ")
            ),
        )),
    }
}

/// The SEG segment `roi` names (number or label), or the only one.
fn choose_segment(s: &seg::Seg, mask_path: &Path, roi: Option<&str>) -> Result<seg::Segment> {
    match roi {
        Some(key) => Ok(s.find_segment(key)?.clone()),
        None if s.segments.len() == 1 => Ok(s.segments[0].clone()),
        None => {
            let names: Vec<String> = s
                .segments
                .iter()
                .map(|g| format!("{} '{}'", g.number, g.label))
                .collect();
            Err(Error::format(
                mask_path,
                format!(
                    "holds {} segments; choose one with --roi: {}",
                    s.segments.len(),
                    names.join(", ")
                ),
            ))
        }
    }
}

/// The ROI name of a label map: `roi`, else `label_<l>`, else the file stem.
fn label_map_roi_name(mask_path: &Path, roi: Option<&str>, label: Option<i64>) -> String {
    roi.map(str::to_string).unwrap_or_else(|| match label {
        Some(l) => format!("label_{l}"),
        None => mask_stem(mask_path),
    })
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
