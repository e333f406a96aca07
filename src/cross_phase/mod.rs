//! One segmentation, every phase: a mask drawn on one CT series used on
//! another series of the same examination.
//!
//! Radiologists usually contour once, on the portal-venous series. Three
//! policies say how that contour reaches the other phases
//! ([`CrossPhase`], parameter key `crossPhase`, `--cross-phase`):
//!
//! * `same-grid` (default): only onto a series with the same frame of
//!   reference *and* the same voxel grid, so the ROI covers the same voxels;
//! * `map`: onto any series of the same frame of reference, by patient
//!   coordinates ([`map::map_roi`]): RTSTRUCT contours are rasterised on the
//!   target grid (exact where contour planes lie on its slice centres),
//!   other masks are resampled as IBSI resamples masks (trilinear, kept at
//!   ≥ 0.5). Refused when the ROI is not wholly inside the target's
//!   coverage or the frames of reference differ;
//! * `register`: `map` after a local rigid translation that aligns the
//!   target series to the source around the ROI ([`register::register`]):
//!   breathing and patient movement between acquisitions shift organs by
//!   millimetres to centimetres. A shift at the search bound or a poor
//!   similarity is refused, never used.
//!
//! Neither mapping nor registration deforms the mask: an organ that changes
//! shape between phases needs its own contour on each phase.
//!
//! Every row of a `map`/`register` run says where its mask came from
//! ([`MaskSource`]: columns `mask_source`, `mask_shift_mm`).

pub mod map;
pub mod register;

use std::fmt;

/// How a segmentation of one series is used on another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CrossPhase {
    /// Only with the same frame of reference and voxel grid.
    #[default]
    SameGrid,
    /// By patient coordinates within one frame of reference.
    Map,
    /// By patient coordinates after a local rigid translation.
    Register,
}

impl CrossPhase {
    /// The policy named `same-grid`, `map` or `register` (`_` also separates).
    pub fn parse(s: &str) -> Option<CrossPhase> {
        match s.trim().to_ascii_lowercase().replace('_', "-").as_str() {
            "same-grid" => Some(CrossPhase::SameGrid),
            "map" => Some(CrossPhase::Map),
            "register" => Some(CrossPhase::Register),
            _ => None,
        }
    }

    /// The name `parse` reads.
    pub fn as_str(self) -> &'static str {
        match self {
            CrossPhase::SameGrid => "same-grid",
            CrossPhase::Map => "map",
            CrossPhase::Register => "register",
        }
    }
}

impl fmt::Display for CrossPhase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a borrowed mask was carried to the series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Carried {
    /// The same voxel grid: the same voxels.
    SameGrid,
    /// By patient coordinates.
    Mapped,
    /// By patient coordinates after a rigid translation.
    Registered,
}

/// Where the mask of one output row came from.
#[derive(Debug, Clone, PartialEq)]
pub enum MaskSource {
    /// A segmentation linked to the series itself.
    Own,
    /// A segmentation of another series.
    Borrowed {
        /// The phase of the series it was drawn on (`portal_venous`).
        from_phase: String,
        how: Carried,
        /// The translation applied, mm, patient coordinates.
        shift_mm: Option<[f64; 3]>,
    },
}

impl MaskSource {
    /// The `mask_source` column: `own`, or `<phase>:same_grid|mapped|registered`.
    pub fn label(&self) -> String {
        match self {
            MaskSource::Own => "own".into(),
            MaskSource::Borrowed {
                from_phase, how, ..
            } => format!(
                "{from_phase}:{}",
                match how {
                    Carried::SameGrid => "same_grid",
                    Carried::Mapped => "mapped",
                    Carried::Registered => "registered",
                }
            ),
        }
    }

    /// The `mask_shift_mm` column: `x,y,z` (mm, 3 decimals), empty without a translation.
    pub fn shift_text(&self) -> String {
        match self {
            MaskSource::Borrowed {
                shift_mm: Some(s), ..
            } => {
                // Rounded first, so that -0.0004 prints as 0.000.
                let r = s.map(|v| (v * 1000.0).round() / 1000.0 + 0.0);
                format!("{:.3},{:.3},{:.3}", r[0], r[1], r[2])
            }
            _ => String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_names_round_trip() {
        for p in [CrossPhase::SameGrid, CrossPhase::Map, CrossPhase::Register] {
            assert_eq!(CrossPhase::parse(p.as_str()), Some(p));
        }
        assert_eq!(CrossPhase::parse(" Same_Grid "), Some(CrossPhase::SameGrid));
        assert_eq!(CrossPhase::parse("deform"), None);
    }

    #[test]
    fn provenance_columns() {
        assert_eq!(MaskSource::Own.label(), "own");
        assert_eq!(MaskSource::Own.shift_text(), "");
        let s = MaskSource::Borrowed {
            from_phase: "portal_venous".into(),
            how: Carried::Registered,
            shift_mm: Some([3.0, -0.25, 0.0]),
        };
        assert_eq!(s.label(), "portal_venous:registered");
        assert_eq!(s.shift_text(), "3.000,-0.250,0.000");
        let tiny = MaskSource::Borrowed {
            from_phase: "portal_venous".into(),
            how: Carried::Registered,
            shift_mm: Some([-0.0, -0.0004, 1.0]),
        };
        assert_eq!(tiny.shift_text(), "0.000,0.000,1.000");
    }
}
