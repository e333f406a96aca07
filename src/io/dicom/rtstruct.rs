//! RT Structure Set reading and contour rasterisation.
//!
//! Contours are placed by position, never by referenced image UID (many
//! structure sets lack a Contour Image Sequence): each closed planar contour is
//! mapped to continuous voxel indices with [`Geometry::world_to_index`] and
//! assigned to the slice whose centre plane lies within half a slice of it.
//! A voxel is inside when its centre is inside by the even-odd rule over all
//! contours of its slice, so nested contours make holes.

use super::scan::{float, floats, int, items, text};
use super::view::{Attributes, View};
use crate::error::{Error, Result};
use crate::volume::{memory_path, Geometry, Mask, Volume};
use dicom_dictionary_std::tags;
use std::path::{Path, PathBuf};

/// Contour Geometric Type (3006,0042).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContourType {
    ClosedPlanar,
    OpenPlanar,
    OpenNonplanar,
    Point,
    Other(String),
}

impl ContourType {
    fn parse(s: &str) -> Self {
        match s {
            "CLOSED_PLANAR" => ContourType::ClosedPlanar,
            "OPEN_PLANAR" => ContourType::OpenPlanar,
            "OPEN_NONPLANAR" => ContourType::OpenNonplanar,
            "POINT" => ContourType::Point,
            other => ContourType::Other(other.to_string()),
        }
    }
}

/// One contour: its type and points (mm, patient LPS).
#[derive(Debug, Clone, PartialEq)]
pub struct Contour {
    pub kind: ContourType,
    pub points: Vec<[f64; 3]>,
}

/// One ROI of a structure set with its contours.
#[derive(Debug, Clone, PartialEq)]
pub struct RoiContours {
    pub number: i64,
    pub name: String,
    /// Referenced Frame of Reference UID of the ROI (empty when absent).
    pub frame_of_reference_uid: String,
    /// RT ROI Interpreted Type from the observations (e.g. GTV, ORGAN), if any.
    pub interpreted_type: String,
    pub contours: Vec<Contour>,
}

/// A parsed RT Structure Set.
#[derive(Debug, Clone, PartialEq)]
pub struct RtStruct {
    pub path: PathBuf,
    pub sop_instance_uid: String,
    pub structure_set_label: String,
    /// Frames of reference listed in the Referenced Frame of Reference Sequence.
    pub frame_of_reference_uids: Vec<String>,
    /// Series referenced through RT Referenced Study/Series (may be empty).
    pub referenced_series_uids: Vec<String>,
    pub rois: Vec<RoiContours>,
}

/// Read an RT Structure Set file.
pub fn read_rtstruct(path: &Path) -> Result<RtStruct> {
    let bytes = super::scan::read_checked(path)?;
    if let Some(view) = View::parse(&bytes) {
        return from_data_set(&view.data, path);
    }
    let obj = super::scan::parse_checked(&bytes)
        .map_err(|e| Error::format(path, format!("not a readable DICOM file: {e}")))?;
    from_data_set(&*obj, path)
}

/// The structure set in `obj` (read from `path`).
fn from_data_set<O: Attributes>(obj: &O, path: &Path) -> Result<RtStruct> {
    let modality = text(obj, tags::MODALITY);
    let class = text(obj, tags::SOP_CLASS_UID);
    if modality != "RTSTRUCT" && class != super::scan::sop_class::RT_STRUCTURE_SET {
        return Err(Error::format(
            path,
            format!("not an RT Structure Set (modality '{modality}', SOP class {class})"),
        ));
    }
    let mut for_uids = Vec::new();
    let mut series_uids = Vec::new();
    for f in items(obj, tags::REFERENCED_FRAME_OF_REFERENCE_SEQUENCE) {
        let uid = text(f, tags::FRAME_OF_REFERENCE_UID);
        if !uid.is_empty() && !for_uids.contains(&uid) {
            for_uids.push(uid);
        }
        for study in items(f, tags::RT_REFERENCED_STUDY_SEQUENCE) {
            for s in items(study, tags::RT_REFERENCED_SERIES_SEQUENCE) {
                let uid = text(s, tags::SERIES_INSTANCE_UID);
                if !uid.is_empty() && !series_uids.contains(&uid) {
                    series_uids.push(uid);
                }
            }
        }
    }
    let mut rois: Vec<RoiContours> = items(obj, tags::STRUCTURE_SET_ROI_SEQUENCE)
        .iter()
        .map(|it| {
            let mut for_uid = text(it, tags::REFERENCED_FRAME_OF_REFERENCE_UID);
            if for_uid.is_empty() && for_uids.len() == 1 {
                for_uid = for_uids[0].clone();
            }
            RoiContours {
                number: int(it, tags::ROI_NUMBER).unwrap_or(-1),
                name: text(it, tags::ROI_NAME),
                frame_of_reference_uid: for_uid,
                interpreted_type: String::new(),
                contours: Vec::new(),
            }
        })
        .collect();
    for obs in items(obj, tags::RTROI_OBSERVATIONS_SEQUENCE) {
        let n = int(obs, tags::REFERENCED_ROI_NUMBER);
        if let Some(r) = rois.iter_mut().find(|r| Some(r.number) == n) {
            r.interpreted_type = text(obs, tags::RTROI_INTERPRETED_TYPE);
        }
    }
    for rc in items(obj, tags::ROI_CONTOUR_SEQUENCE) {
        let n = int(rc, tags::REFERENCED_ROI_NUMBER);
        let Some(roi) = rois.iter_mut().find(|r| Some(r.number) == n) else {
            continue; // contours of an undeclared ROI cannot be named
        };
        for c in items(rc, tags::CONTOUR_SEQUENCE) {
            let kind = ContourType::parse(&text(c, tags::CONTOUR_GEOMETRIC_TYPE));
            let data = floats(c, tags::CONTOUR_DATA).ok_or_else(|| {
                Error::format(
                    path,
                    format!(
                        "ROI '{}': a contour has missing or non-numeric Contour Data",
                        roi.name
                    ),
                )
            })?;
            if !data.len().is_multiple_of(3) {
                return Err(Error::format(
                    path,
                    format!(
                        "ROI '{}': Contour Data has {} values, not a multiple of 3",
                        roi.name,
                        data.len()
                    ),
                ));
            }
            if let Some(np) = float(c, tags::NUMBER_OF_CONTOUR_POINTS) {
                if np as usize != data.len() / 3 {
                    return Err(Error::format(
                        path,
                        format!(
                            "ROI '{}': Number of Contour Points {np} but Contour Data holds {} points",
                            roi.name,
                            data.len() / 3
                        ),
                    ));
                }
            }
            let points = data.chunks_exact(3).map(|p| [p[0], p[1], p[2]]).collect();
            roi.contours.push(Contour { kind, points });
        }
    }
    Ok(RtStruct {
        path: path.to_path_buf(),
        sop_instance_uid: text(obj, tags::SOP_INSTANCE_UID),
        structure_set_label: text(obj, tags::STRUCTURE_SET_LABEL),
        frame_of_reference_uids: for_uids,
        referenced_series_uids: series_uids,
        rois,
    })
}

impl RtStruct {
    /// Names of all ROIs, in file order.
    pub fn roi_names(&self) -> Vec<&str> {
        self.rois.iter().map(|r| r.name.as_str()).collect()
    }

    /// The ROI called `name`: exact match first, then case-insensitive (which
    /// must be unambiguous). The error lists the available names.
    pub fn find_roi(&self, name: &str) -> Result<&RoiContours> {
        if let Some(r) = self.rois.iter().find(|r| r.name == name) {
            return Ok(r);
        }
        let ci: Vec<&RoiContours> = self
            .rois
            .iter()
            .filter(|r| {
                r.name.eq_ignore_ascii_case(name) || r.name.to_lowercase() == name.to_lowercase()
            })
            .collect();
        let names = || {
            self.rois
                .iter()
                .map(|r| format!("'{}'", r.name))
                .collect::<Vec<_>>()
                .join(", ")
        };
        match ci.len() {
            1 => Ok(ci[0]),
            0 => Err(Error::format(
                &self.path,
                format!("no ROI named '{name}'; available ROIs: {}", names()),
            )),
            _ => Err(Error::format(
                &self.path,
                format!(
                    "ROI name '{name}' matches several ROIs ignoring case; available ROIs: {}",
                    names()
                ),
            )),
        }
    }
}

/// What rasterisation did with the contours of an ROI.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RasterStats {
    /// Closed planar contours rasterised onto a slice.
    pub used: usize,
    /// Closed planar contours off every slice plane (ignored).
    pub off_image: usize,
    /// Closed planar contours not parallel to the slices (ignored).
    pub oblique: usize,
    /// Contours of other types (POINT, OPEN_*) or with fewer than 3 points (ignored).
    pub skipped: usize,
}

/// Rasterise `roi` onto `geometry` (see [`rasterise_with_stats`]).
pub fn rasterise(
    roi: &RoiContours,
    geometry: &Geometry,
    image_frame_of_reference: Option<&str>,
    path: &Path,
) -> Result<Mask> {
    rasterise_with_stats(roi, geometry, image_frame_of_reference, path).map(|(m, _)| m)
}

/// Rasterise the closed planar contours of `roi` onto the image grid.
///
/// `image_frame_of_reference`, when given and non-empty, must equal the ROI's
/// referenced Frame of Reference UID (else [`Error::GeometryMismatch`]).
/// `path` (the RTSTRUCT file) is named in errors. Contours off every slice
/// plane are ignored and counted; when every closed planar contour is outside
/// the image the result is an error ("contour outside the image").
pub fn rasterise_with_stats(
    roi: &RoiContours,
    geometry: &Geometry,
    image_frame_of_reference: Option<&str>,
    path: &Path,
) -> Result<(Mask, RasterStats)> {
    let (per_slice, stats) = contours_per_slice(roi, geometry, image_frame_of_reference, path)?;
    // Fill only the slab of slices with contours; place it in the grid.
    let (slab, z0) = fill_slab(&per_slice, geometry);
    let mask = slab.reframe(geometry, [0, 0, z0], [0; 3], geometry.last(), false);
    Ok((mask, stats))
}

/// The polygons of one slice, in continuous (x, y) voxel index coordinates.
type SlicePolygons = Vec<Vec<[f64; 2]>>;

/// Closed planar contours of `roi` per slice of `geometry`, in continuous
/// (x, y) voxel index coordinates, with the counts of contours used and skipped.
fn contours_per_slice(
    roi: &RoiContours,
    geometry: &Geometry,
    image_frame_of_reference: Option<&str>,
    path: &Path,
) -> Result<(Vec<SlicePolygons>, RasterStats)> {
    if let Some(img_for) = image_frame_of_reference.filter(|s| !s.is_empty()) {
        if !roi.frame_of_reference_uid.is_empty() && roi.frame_of_reference_uid != img_for {
            return Err(Error::GeometryMismatch {
                image: memory_path(&format!("image in frame of reference {img_for}")),
                mask: path.to_path_buf(),
                reason: format!(
                    "ROI '{}' is defined in frame of reference {}, the image in {img_for}",
                    roi.name, roi.frame_of_reference_uid
                ),
            });
        }
    }
    let [nx, ny, nz] = geometry.dims;
    let mut stats = RasterStats::default();
    // Contours (in continuous x, y index coordinates) grouped by slice.
    let mut per_slice: Vec<Vec<Vec<[f64; 2]>>> = vec![Vec::new(); nz];
    let mut outside_xy = 0;
    for c in &roi.contours {
        if c.kind != ContourType::ClosedPlanar || c.points.len() < 3 {
            stats.skipped += 1;
            continue;
        }
        let idx: Vec<[f64; 3]> = c
            .points
            .iter()
            .map(|&p| geometry.world_to_index(p))
            .collect();
        let kmean = idx.iter().map(|p| p[2]).sum::<f64>() / idx.len() as f64;
        let k = kmean.round();
        if idx.iter().any(|p| (p[2] - k).abs() > 0.5) {
            stats.oblique += 1;
            continue;
        }
        if k < 0.0 || k >= nz as f64 {
            stats.off_image += 1;
            continue;
        }
        let (mut xlo, mut xhi, mut ylo, mut yhi) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        for p in &idx {
            xlo = xlo.min(p[0]);
            xhi = xhi.max(p[0]);
            ylo = ylo.min(p[1]);
            yhi = yhi.max(p[1]);
        }
        if xhi < -0.5 || yhi < -0.5 || xlo > nx as f64 - 0.5 || ylo > ny as f64 - 0.5 {
            outside_xy += 1;
        }
        stats.used += 1;
        per_slice[k as usize].push(idx.iter().map(|p| [p[0], p[1]]).collect());
    }
    let closed = stats.used + stats.off_image + stats.oblique;
    if closed > 0 && stats.used == outside_xy {
        return Err(Error::format(
            path,
            format!(
                "ROI '{}': contour outside the image (all {closed} closed planar contours lie off the image grid {:?})",
                roi.name, geometry.dims
            ),
        ));
    }
    Ok((per_slice, stats))
}

/// The mask of `roi` on `geometry` as its bounding box: the mask on
/// `geometry.crop(lo, hi)` and `lo` (a single background voxel at the
/// origin when no voxel centre is inside a contour). The same voxels as
/// [`rasterise`], without a whole-grid mask.
pub fn rasterise_box(
    roi: &RoiContours,
    geometry: &Geometry,
    image_frame_of_reference: Option<&str>,
    path: &Path,
) -> Result<(Mask, [usize; 3])> {
    let per_slice = contours_per_slice(roi, geometry, image_frame_of_reference, path)?.0;
    let (slab, z0) = fill_slab(&per_slice, geometry);
    Ok(match slab.bounding_box() {
        Some((lo, hi)) => {
            let at = [0, 0, z0];
            let lo_grid = [lo[0], lo[1], lo[2] + z0];
            let hi_grid = [hi[0], hi[1], hi[2] + z0];
            (slab.reframe(geometry, at, lo_grid, hi_grid, false), lo_grid)
        }
        None => (Volume::filled(geometry.crop([0; 3], [0; 3]), false), [0; 3]),
    })
}

/// Fill the slices of `per_slice` that hold contours: the slab from the
/// first to the last of them (with the first's z index), one empty slice
/// when there are none.
fn fill_slab(per_slice: &[SlicePolygons], geometry: &Geometry) -> (Mask, usize) {
    let [nx, ny, _] = geometry.dims;
    let used: Vec<usize> = (0..per_slice.len())
        .filter(|&z| !per_slice[z].is_empty())
        .collect();
    let (z0, z1) = match (used.first(), used.last()) {
        (Some(&a), Some(&b)) => (a, b),
        _ => (0, 0),
    };
    let mut slab = Volume::filled(geometry.crop([0, 0, z0], [nx - 1, ny - 1, z1]), false);
    let mut crossings: Vec<Vec<f64>> = vec![Vec::new(); ny];
    for &z in &used {
        let k = z - z0;
        fill_slice(
            &per_slice[z],
            nx,
            ny,
            &mut crossings,
            &mut slab.data[k * nx * ny..(k + 1) * nx * ny],
        );
    }
    (slab, z0)
}

/// Even-odd scanline fill of one slice: for each row (voxel centre y = j) the
/// x positions where polygon edges cross it are collected, sorted and filled
/// pairwise; voxel centres with `x0 <= i < x1` are inside. Edges use the
/// half-open rule `min(ya, yb) <= j < max(ya, yb)` so vertices count once.
fn fill_slice(
    polys: &[Vec<[f64; 2]>],
    nx: usize,
    ny: usize,
    crossings: &mut [Vec<f64>],
    out: &mut [bool],
) {
    for row in crossings.iter_mut() {
        row.clear();
    }
    for poly in polys {
        let n = poly.len();
        for e in 0..n {
            let a = poly[e];
            let b = poly[(e + 1) % n];
            if a[1] == b[1] {
                continue;
            }
            let (lo, hi) = if a[1] < b[1] { (a, b) } else { (b, a) };
            let j0 = lo[1].ceil().max(0.0);
            let j1 = (hi[1].ceil() - 1.0).min(ny as f64 - 1.0);
            if j0 > j1 {
                continue;
            }
            let slope = (hi[0] - lo[0]) / (hi[1] - lo[1]);
            for (j, row) in crossings
                .iter_mut()
                .enumerate()
                .take(j1 as usize + 1)
                .skip(j0 as usize)
            {
                row.push(lo[0] + (j as f64 - lo[1]) * slope);
            }
        }
    }
    for (j, row) in crossings.iter_mut().enumerate() {
        if row.len() < 2 {
            continue;
        }
        row.sort_by(f64::total_cmp);
        let line = &mut out[j * nx..(j + 1) * nx];
        for pair in row.chunks_exact(2) {
            let i0 = pair[0].ceil().max(0.0);
            let i1 = (pair[1].ceil() - 1.0).min(nx as f64 - 1.0);
            if i0 > i1 {
                continue;
            }
            line[i0 as usize..=i1 as usize].fill(true);
        }
    }
}
