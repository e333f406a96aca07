//! Carrying an ROI from the series it was drawn on to another series of the
//! same frame of reference, by patient coordinates.
//!
//! The anatomy at patient position `p` on the source series lies at
//! `p + t` on the target (`t`: a translation found by registration, zero
//! when mapping only). The ROI must lie wholly inside the target's
//! coverage: every voxel centre of its bounding box, moved by `t`, within
//! the target's outermost voxels (half a voxel beyond the first and last
//! centres). A partial ROI would give numbers that look valid and are not.
//!
//! * **RTSTRUCT**: the contours are rasterised on the target grid (moved by
//!   `t`), which is exact, when every target slice between the first and the
//!   last contour plane has contours in its centre plane (within 1 % of a
//!   slice): the same slices, thicker slices on contour planes, or fewer of
//!   them. Contours between target slices are then left out, as a thick
//!   slice holds no contour of its own there.
//! * **Otherwise** (SEG, label maps, contours between target slices): the
//!   mask on its own grid is resampled onto the target grid as IBSI
//!   resamples masks: trilinear interpolation of the 0/1 values, voxels
//!   with ≥ 0.5 kept ([`resample_mask`]). Where both grids share voxel
//!   centres the mask lands on the same voxels.
//!
//! Only the ROI's box is touched on either grid: no image voxel is read.

use crate::error::{Error, Result};
use crate::inputs::{mask_kind, ImageSource, MaskKind, RoiBox};
use crate::io::dicom::rtstruct::{self, ContourType, RoiContours};
use crate::preprocess::resample::{resample_mask, Interpolator};
use crate::volume::{Geometry, Mask};

/// Largest distance (slices) of a contour plane from a slice centre that
/// still counts as on it.
const PLANE_TOLERANCE: f64 = 0.01;

/// Round-off allowed on the coverage test (voxels).
const COVERAGE_SLACK: f64 = 1e-6;

/// The IBSI mask partial-volume threshold.
const MASK_THRESHOLD: f64 = 0.5;

/// Whether two series share a frame of reference: equal, non-empty UIDs; or
/// two volume files (NIfTI/NRRD carry none, and files of one study folder are
/// taken to share the scanner's coordinates). `Err` says why not.
pub fn same_frame(source: &ImageSource, target: &ImageSource) -> std::result::Result<(), String> {
    match (source.frame_of_reference(), target.frame_of_reference()) {
        (None, None) => Ok(()),
        (Some(a), Some(b)) if !a.is_empty() && a == b => Ok(()),
        (Some(a), Some(b)) if a.is_empty() || b.is_empty() => {
            Err("a series has no frame of reference UID".into())
        }
        (Some(a), Some(b)) => Err(format!(
            "another frame of reference ({b}, the segmented series {a})"
        )),
        _ => Err("one series is DICOM, the other a volume file".into()),
    }
}

/// The ROI `roi` (a box on `source`'s grid) on `target`'s grid, the anatomy
/// moved by `shift_mm` (patient coordinates). Errors name the ROI and the
/// reason (other frame of reference, outside the target's coverage, no voxel
/// left); the caller names the series.
pub fn map_roi(
    roi: &RoiBox,
    source: &ImageSource,
    target: &ImageSource,
    shift_mm: [f64; 3],
) -> Result<RoiBox> {
    let refuse = |why: String| Error::Invalid(format!("ROI '{}': {why}", roi.roi));
    same_frame(source, target).map_err(refuse)?;
    if roi.is_empty() {
        return Err(refuse(
            "the ROI has no voxel on the segmented series".into(),
        ));
    }
    let grid = &target.geometry;
    check_coverage(roi, &source.geometry, grid, shift_mm).map_err(refuse)?;
    let exact = match mask_kind(&roi.path)? {
        MaskKind::RtStruct => {
            let rs = rtstruct::read_rtstruct(&roi.path)?;
            let contours = rs.find_roi(&roi.roi)?;
            contours_on_slices(contours, grid, shift_mm)
        }
        _ => None,
    };
    let (mask, lo) = match exact {
        Some(contours) => {
            rtstruct::rasterise_box(&contours, grid, target.frame_of_reference(), &roi.path)?
        }
        None => resample_box(roi, &source.geometry, grid, shift_mm),
    };
    let mapped = RoiBox {
        mask,
        lo,
        roi: roi.roi.clone(),
        path: roi.path.clone(),
        segmentation_uid: roi.segmentation_uid.clone(),
    };
    if mapped.is_empty() {
        return Err(refuse(
            "no voxel of the target grid is inside the mapped ROI (thinner than a voxel?)".into(),
        ));
    }
    Ok(mapped)
}

/// The corners of the ROI's box (voxel centres) moved by `shift_mm`, as
/// continuous voxel indices of `target`.
fn box_corners_on(
    roi: &RoiBox,
    source: &Geometry,
    target: &Geometry,
    shift_mm: [f64; 3],
    pad: f64,
) -> Vec<[f64; 3]> {
    let (lo, hi) = (roi.lo, roi.hi());
    (0..8)
        .map(|c| {
            let ijk: [f64; 3] = std::array::from_fn(|a| {
                if (c >> a) & 1 == 0 {
                    lo[a] as f64 - pad
                } else {
                    hi[a] as f64 + pad
                }
            });
            let w = source.index_to_world(ijk);
            target.world_to_index(std::array::from_fn(|a| w[a] + shift_mm[a]))
        })
        .collect()
}

/// `Err` naming the axis when the ROI's voxel centres, moved, leave `target`.
fn check_coverage(
    roi: &RoiBox,
    source: &Geometry,
    target: &Geometry,
    shift_mm: [f64; 3],
) -> std::result::Result<(), String> {
    let corners = box_corners_on(roi, source, target, shift_mm, 0.0);
    for a in 0..3 {
        let lo = corners.iter().map(|c| c[a]).fold(f64::MAX, f64::min);
        let hi = corners.iter().map(|c| c[a]).fold(f64::MIN, f64::max);
        let n = target.dims[a] as f64;
        if lo < -0.5 - COVERAGE_SLACK || hi > n - 0.5 + COVERAGE_SLACK {
            // Positions along the target's axis, mm from its first voxel centre.
            let mm = |k: f64| k * target.spacing[a];
            return Err(format!(
                "not inside the series' coverage: along its {} axis the ROI reaches {:.2} to {:.2} mm, the series covers {:.2} to {:.2} mm (from its first voxel centre{})",
                ["x", "y", "z"][a],
                mm(lo),
                mm(hi),
                mm(-0.5),
                mm(n - 0.5),
                if shift_mm == [0.0; 3] {
                    String::new()
                } else {
                    format!(
                        "; after a shift of {:.2},{:.2},{:.2} mm",
                        shift_mm[0], shift_mm[1], shift_mm[2]
                    )
                }
            ));
        }
    }
    Ok(())
}

/// The closed planar contours of `roi`, moved by `shift_mm`, that lie in a
/// slice-centre plane of `grid`, when every slice of `grid` between the
/// first and last contour plane has some; `None` when rasterising them would
/// not be exact (contours between slices, oblique contours, no contour).
fn contours_on_slices(
    roi: &RoiContours,
    grid: &Geometry,
    shift_mm: [f64; 3],
) -> Option<RoiContours> {
    let mut kept = Vec::new();
    let mut used = std::collections::BTreeSet::new();
    let (mut kmin, mut kmax) = (f64::MAX, f64::MIN);
    for c in &roi.contours {
        if c.kind != ContourType::ClosedPlanar || c.points.len() < 3 {
            continue;
        }
        let moved: Vec<[f64; 3]> = c
            .points
            .iter()
            .map(|p| std::array::from_fn(|a| p[a] + shift_mm[a]))
            .collect();
        let ks: Vec<f64> = moved.iter().map(|&p| grid.world_to_index(p)[2]).collect();
        let k = ks.iter().sum::<f64>() / ks.len() as f64;
        if ks.iter().any(|&x| (x - k).abs() > PLANE_TOLERANCE) {
            return None;
        }
        kmin = kmin.min(k);
        kmax = kmax.max(k);
        if (k - k.round()).abs() <= PLANE_TOLERANCE {
            used.insert(k.round() as i64);
            kept.push(rtstruct::Contour {
                kind: ContourType::ClosedPlanar,
                points: moved,
            });
        }
    }
    if kept.is_empty() {
        return None;
    }
    let first = (kmin - PLANE_TOLERANCE).ceil() as i64;
    let last = (kmax + PLANE_TOLERANCE).floor() as i64;
    if !(first..=last).all(|k| used.contains(&k)) {
        return None;
    }
    Some(RoiContours {
        contours: kept,
        ..roi.clone()
    })
}

/// The mask of `roi` resampled onto `target` (IBSI: trilinear, ≥ 0.5), moved
/// by `shift_mm`, as its bounding box on `target` and where that starts.
fn resample_box(
    roi: &RoiBox,
    source: &Geometry,
    target: &Geometry,
    shift_mm: [f64; 3],
) -> (Mask, [usize; 3]) {
    // The ROI box with a rim of background voxels, so that target points
    // beyond it interpolate towards 0 (the resampler clamps at the edges).
    let inner = roi.mask.geometry.dims;
    let dims = inner.map(|n| n + 2);
    let corner = source.index_to_world(roi.lo.map(|v| v as f64 - 1.0));
    let mut padded = Mask::filled(
        Geometry {
            dims,
            spacing: source.spacing,
            origin: std::array::from_fn(|a| corner[a] + shift_mm[a]),
            direction: source.direction,
        },
        false,
    );
    for z in 0..inner[2] {
        for y in 0..inner[1] {
            for x in 0..inner[0] {
                let i = roi.mask.geometry.index(x, y, z);
                let o = padded.geometry.index(x + 1, y + 1, z + 1);
                padded.data[o] = roi.mask.data[i];
            }
        }
    }
    let corners = box_corners_on(roi, source, target, shift_mm, 1.0);
    let last = target.last();
    let lo: [usize; 3] = std::array::from_fn(|a| {
        let v = corners.iter().map(|c| c[a]).fold(f64::MAX, f64::min);
        (v.floor().max(0.0) as usize).min(last[a])
    });
    let hi: [usize; 3] = std::array::from_fn(|a| {
        let v = corners.iter().map(|c| c[a]).fold(f64::MIN, f64::max);
        (v.ceil().max(0.0) as usize).clamp(lo[a], last[a])
    });
    let on_box = resample_mask(
        &padded,
        &target.crop(lo, hi),
        Interpolator::Linear,
        MASK_THRESHOLD,
    );
    match on_box.bounding_box() {
        Some((blo, bhi)) => (
            on_box.crop(blo, bhi),
            std::array::from_fn(|a| lo[a] + blo[a]),
        ),
        None => (on_box.crop([0; 3], [0; 3]), [0; 3]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roi_box(mask: Mask, lo: [usize; 3]) -> RoiBox {
        RoiBox {
            mask,
            lo,
            roi: "r".into(),
            path: "r.nii.gz".into(),
            segmentation_uid: String::new(),
        }
    }

    /// A box on one grid, resampled onto the same grid moved by whole
    /// voxels, is the same box moved; onto a grid of doubled slices it keeps
    /// the shared slices.
    #[test]
    fn resampling_on_shared_voxel_centres_is_exact() {
        let grid = Geometry::new([10, 10, 8], [1.0, 1.0, 2.5], [0.0, 0.0, 0.0]);
        let mut m = Mask::filled(grid.crop([2, 3, 2], [4, 5, 5]), false);
        for (i, v) in m.data.iter_mut().enumerate() {
            *v = i % 4 != 0;
        }
        let roi = roi_box(m.clone(), [2, 3, 2]);
        let (moved, lo) = resample_box(&roi, &grid, &grid, [2.0, -1.0, 2.5]);
        assert_eq!(lo, [4, 2, 3]);
        assert_eq!(moved.data, m.data);
        let thick = Geometry::new([10, 10, 4], [1.0, 1.0, 5.0], [0.0, 0.0, 0.0]);
        let (on_thick, lo) = resample_box(&roi, &grid, &thick, [0.0; 3]);
        // Slices 2 and 4 of the source are slices 1 and 2 of the thick grid;
        // slice 3 sits between and is not a voxel centre of it.
        let plane = 9;
        let first = on_thick.bounding_box().unwrap();
        assert_eq!(lo[2] + first.0[2], 1);
        let src_slice = |k: usize| &m.data[k * plane..(k + 1) * plane];
        let got_slice = |k: usize| {
            let full = on_thick.reframe(&thick, lo, [2, 3, 0], [4, 5, 3], false);
            full.data[k * plane..(k + 1) * plane].to_vec()
        };
        assert_eq!(got_slice(1), src_slice(0));
        assert_eq!(got_slice(2), src_slice(2));
    }

    #[test]
    fn coverage_names_the_axis() {
        let grid = Geometry::new([10, 10, 8], [1.0, 1.0, 2.5], [0.0, 0.0, 0.0]);
        let short = Geometry::new([10, 10, 4], [1.0, 1.0, 2.5], [0.0, 0.0, 0.0]);
        let roi = roi_box(
            Mask::filled(grid.crop([2, 2, 2], [4, 4, 4]), true),
            [2, 2, 2],
        );
        assert!(check_coverage(&roi, &grid, &grid, [0.0; 3]).is_ok());
        let e = check_coverage(&roi, &grid, &short, [0.0; 3]).unwrap_err();
        assert!(e.contains("z axis"), "{e}");
        let e = check_coverage(&roi, &grid, &grid, [6.0, 0.0, 0.0]).unwrap_err();
        assert!(e.contains("x axis") && e.contains("shift"), "{e}");
    }
}
