//! Study discovery: which CT series and segmentations a study folder holds,
//! which segmentation belongs to which series, and the contrast phase of each
//! series.
//!
//! # DICOM studies
//!
//! Every DICOM file under the folder (recursively) is read header-only.
//! CT series are the files with SOP class CT / Enhanced CT Image Storage (or
//! Modality `CT` with another image SOP class; secondary captures, dose
//! reports and raw data are not volumes), grouped by SeriesInstanceUID;
//! localizer (scout) series are left out with a note. Segmentations are RTSTRUCT and SEG files. Each is
//! linked to a series by, in order:
//!
//! 1. RTSTRUCT: ReferencedFrameOfReferenceSequence > RTReferencedStudySequence >
//!    RTReferencedSeriesSequence > SeriesInstanceUID; SEG:
//!    ReferencedSeriesSequence > SeriesInstanceUID;
//! 2. the SOP instances the contours or segments reference
//!    (ContourImageSequence / ReferencedInstanceSequence);
//! 3. the frame of reference, but only when exactly one CT series has it
//!    (several phases of one examination usually share a frame of reference,
//!    so this is ambiguous more often than not and is then reported unlinked).
//!
//! # NIfTI / NRRD studies
//!
//! Used only when the folder holds no DICOM CT series (a folder with both,
//! like an export with `dicom/` and `nifti/` copies, is read as DICOM and the
//! volume files are noted as ignored). Files ending `.nii`, `.nii.gz`,
//! `.nrrd` or `.nhdr`, anywhere under the folder, are named by convention:
//!
//! * image: `image.nii.gz` or `<name>_image.nii.gz` (`-` also separates), e.g.
//!   `CT_image.nii.gz`, `pv_image.nii.gz`, `arterial-image.nrrd`;
//! * mask: `mask.nii.gz`, `<name>_mask.nii.gz` or `<name>_mask_<ROI>.nii.gz`
//!   (also `mask_<ROI>`), or any volume file inside a folder named `masks`,
//!   `mask`, `segmentations` or `labels` (its ROI name is the file name, with
//!   a leading `<name>_` removed when it names an image).
//!
//! A mask belongs to the image with the same `<name>`; a mask without a name
//! (or in a mask folder) belongs to the only image when there is exactly one.
//! The phase of an image comes from keywords in its `<name>` (see below).
//!
//! # Phase classification
//!
//! Each CT series gets a [`Phase`] and a human-readable reason. Evidence, in
//! order of precedence:
//!
//! 1. an override (`phases.yaml` in the study folder, or [`apply_overrides`]);
//! 2. keywords in SeriesDescription (see [`description_keywords`]); when
//!    they name more than one phase, the description is ignored;
//! 3. the delay between ContrastBolusStartTime and AcquisitionTime (else
//!    SeriesTime), see [`phase_from_delay`];
//! 4. a ContrastBolusAgent of `NONE`/`NO`/`N/A` (an explicit "none"; an empty
//!    agent is too common on enhanced scans to count) means unenhanced;
//! 5. acquisition order: a series still unclassified takes the first phase
//!    of unenhanced → arterial → portal venous → delayed that lies strictly
//!    between the phases of the classified series acquired just before and
//!    just after it and that no other series has (a series with a contrast
//!    agent named cannot be unenhanced). Without such anchors it stays
//!    [`Phase::Unknown`].
//!
//! Delay thresholds follow the multiphase timing of the SAR/APA pancreatic
//! protocol (Al-Hawary et al., Radiology 2014;270:248–260: pancreatic
//! parenchymal / late arterial phase 40–50 s, portal venous phase 65–70 s
//! after injection) and usual abdominal practice (early arterial 15–25 s,
//! delayed / equilibrium phase from about 3 min): arterial 10–55 s, portal
//! venous 55–120 s, delayed ≥ 150 s. Delays under 10 s (bolus-tracking
//! monitor scans, clock mismatch) and 120–150 s (nephrographic / late venous)
//! decide nothing.
//!
//! # Overrides
//!
//! `phases.yaml` maps series to phases, one entry per line:
//!
//! ```yaml
//! 3: arterial                      # series number
//! "1.2.826.0.1.3680043.2.1": pv    # SeriesInstanceUID (quote it)
//! "ABD PV 2mm": portal venous      # SeriesDescription (case-insensitive)
//! ```
//!
//! A batch manifest can carry the same in a column named
//! [`MANIFEST_PHASE_COLUMN`], as `key=phase` entries separated by `;`
//! (`3=arterial; ABD PV 2mm=portal venous`), parsed by
//! [`parse_override_list`]. Phase names accept the same words as the
//! description keywords (`pv`, `venous`, `nc`, `plain`, …).

mod describe;
mod dicom;
mod evidence;
mod overrides;
mod volume_files;

pub use describe::{describe, describe_cross_phase};
pub use dicom::parse_tm;
use dicom::*;
use evidence::*;
pub use evidence::{description_keywords, phase_from_delay};
pub use overrides::{
    apply_overrides, parse_override_list, parse_phases_yaml, OverrideKey, PhaseOverride,
};
use volume_files::*;

use crate::error::{Error, Result};
use crate::io::dicom::scan::{self, sop_class, text, FileInfo};
use crate::io::dicom::view::Attributes;
use dicom_dictionary_std::tags;
use dicom_object::{InMemDicomObject, OpenFileOptions};
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

/// Name of the batch-manifest column that holds phase overrides.
pub const MANIFEST_PHASE_COLUMN: &str = "phases";

/// Name of the per-study override file.
pub const PHASES_FILE: &str = "phases.yaml";

/// Contrast phase of a CT series, in acquisition order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Phase {
    Unenhanced,
    Arterial,
    PortalVenous,
    Delayed,
    Unknown,
}

impl Phase {
    /// The four known phases in acquisition order.
    pub const ORDER: [Phase; 4] = [
        Phase::Unenhanced,
        Phase::Arterial,
        Phase::PortalVenous,
        Phase::Delayed,
    ];

    /// Snake-case name used in output files (`portal_venous`).
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Unenhanced => "unenhanced",
            Phase::Arterial => "arterial",
            Phase::PortalVenous => "portal_venous",
            Phase::Delayed => "delayed",
            Phase::Unknown => "unknown",
        }
    }

    /// Parse a phase name: the snake-case names, `portal venous`, or any
    /// single description keyword (`pv`, `art`, `nc`, `plain`, `delay`, …).
    pub fn parse(s: &str) -> Option<Phase> {
        let t = s.trim().to_ascii_lowercase().replace(['_', '-'], " ");
        if t == "unknown" {
            return Some(Phase::Unknown);
        }
        match description_keywords(&t).as_slice() {
            [(p, _)] => Some(*p),
            _ => None,
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Phase::PortalVenous => "portal venous",
            p => p.as_str(),
        })
    }
}

/// Which piece of evidence decided a series' phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhaseSource {
    Override,
    Description,
    FileName,
    Timing,
    ContrastAgent,
    Order,
    None,
}

/// Where the image data of a series lives.
#[derive(Debug, Clone, PartialEq)]
pub enum SeriesSource {
    /// DICOM files of one series (unsorted; the series reader sorts them).
    Dicom(Vec<PathBuf>),
    /// One NIfTI or NRRD file.
    VolumeFile(PathBuf),
}

/// One CT series (or image file) of a study.
#[derive(Debug, Clone, PartialEq)]
pub struct CtSeries {
    pub source: SeriesSource,
    /// SeriesInstanceUID; for a volume file, its path.
    pub series_instance_uid: String,
    pub study_instance_uid: String,
    pub frame_of_reference_uid: String,
    pub series_number: Option<i64>,
    /// SeriesDescription; for a volume file, the `<name>` of its file name.
    pub description: String,
    pub contrast_agent: String,
    /// ContrastBolusStartTime, seconds after midnight.
    pub bolus_start_time: Option<f64>,
    /// AcquisitionTime (else SeriesTime), seconds after midnight.
    pub acquisition_time: Option<f64>,
    /// Number of slices (files, or frames of an Enhanced CT object); 0 for volume files.
    pub slices: usize,
    /// Rows × columns of the first image; `None` for volume files.
    pub matrix: Option<(u32, u32)>,
    pub phase: Phase,
    pub phase_source: PhaseSource,
    pub phase_reason: String,
}

impl CtSeries {
    /// Short label for listings: `#4 'ABD PV 2.5mm'`.
    pub fn label(&self) -> String {
        match self.series_number {
            Some(n) => format!("#{n} '{}'", self.description),
            None => format!("'{}'", self.description),
        }
    }

    /// Seconds between contrast injection and acquisition, when both are known.
    pub fn contrast_delay(&self) -> Option<f64> {
        let (start, acq) = (self.bolus_start_time?, self.acquisition_time?);
        let mut d = acq - start;
        if d < -43_200.0 {
            d += 86_400.0; // acquired after midnight
        }
        Some(d)
    }
}

/// Kind of segmentation object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SegmentationKind {
    RtStruct,
    Seg,
    MaskFile,
}

impl fmt::Display for SegmentationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SegmentationKind::RtStruct => "RTSTRUCT",
            SegmentationKind::Seg => "SEG",
            SegmentationKind::MaskFile => "mask file",
        })
    }
}

/// A segmentation object or mask file and the series it belongs to.
#[derive(Debug, Clone, PartialEq)]
pub struct Segmentation {
    pub path: PathBuf,
    pub kind: SegmentationKind,
    /// ROI names (RTSTRUCT ROIName, SEG SegmentLabel, or the mask file's ROI name).
    pub roi_names: Vec<String>,
    /// Series UIDs the object itself names.
    pub referenced_series_uids: Vec<String>,
    pub frame_of_reference_uid: String,
    /// Index into [`Study::series`] of the linked series.
    pub series: Option<usize>,
    /// How the link was made, or why there is none.
    pub link_reason: String,
    /// SOP instances referenced by contours / segments (used for linking).
    referenced_instances: Vec<String>,
}

/// Everything found in a study folder.
#[derive(Debug, Clone, PartialEq)]
pub struct Study {
    pub dir: PathBuf,
    pub series: Vec<CtSeries>,
    pub segmentations: Vec<Segmentation>,
    /// Things worth telling the user (skipped files, ambiguities).
    pub notes: Vec<String>,
}

impl Study {
    /// Series of the given phase, in series-number order.
    pub fn series_with_phase(&self, phase: Phase) -> Vec<usize> {
        (0..self.series.len())
            .filter(|&i| self.series[i].phase == phase)
            .collect()
    }

    /// Series other than `index` with segmentations linked to them, in the
    /// order their segmentations are offered to `index`: the same frame of
    /// reference first, then the portal-venous phase (where radiologists
    /// usually contour), then by position in [`Study::series`].
    pub fn donors_for(&self, index: usize) -> Vec<usize> {
        let target = &self.series[index];
        let mut donors: Vec<usize> = (0..self.series.len())
            .filter(|&j| j != index && !self.segmentations_of(j).is_empty())
            .collect();
        donors.sort_by_key(|&j| {
            let d = &self.series[j];
            (
                d.frame_of_reference_uid.is_empty()
                    || d.frame_of_reference_uid != target.frame_of_reference_uid,
                d.phase != Phase::PortalVenous,
                j,
            )
        });
        donors
    }

    /// Segmentations linked to series `index`.
    pub fn segmentations_of(&self, index: usize) -> Vec<&Segmentation> {
        self.segmentations
            .iter()
            .filter(|s| s.series == Some(index))
            .collect()
    }
}

/// Find the CT series and segmentations under `study_dir`, link them and
/// classify phases (applying `phases.yaml` when present).
pub fn discover(study_dir: &Path) -> Result<Study> {
    if !study_dir.is_dir() {
        return Err(Error::io(
            study_dir,
            std::io::Error::new(std::io::ErrorKind::NotFound, "not a folder"),
        ));
    }
    let mut study = Study {
        dir: study_dir.to_path_buf(),
        series: Vec::new(),
        segmentations: Vec::new(),
        notes: Vec::new(),
    };
    let (infos, errors) = scan::scan_dir(study_dir)?;
    for e in errors {
        study.notes.push(format!("skipped unreadable file: {e}"));
    }
    discover_dicom(&mut study, infos)?;
    let volume_files: Vec<PathBuf> = scan::list_files(study_dir)?
        .into_iter()
        .filter(|p| volume_file_stem(p).is_some())
        .collect();
    if study.series.is_empty() {
        discover_volume_files(&mut study, &volume_files);
    } else if !volume_files.is_empty() {
        study.notes.push(format!(
            "ignored {} NIfTI/NRRD file(s): the folder has DICOM CT series",
            volume_files.len()
        ));
    }
    for s in &mut study.series {
        classify_evidence(s);
    }
    let overrides_path = study_dir.join(PHASES_FILE);
    if overrides_path.is_file() {
        let text =
            std::fs::read_to_string(&overrides_path).map_err(|e| Error::io(&overrides_path, e))?;
        let overrides = parse_phases_yaml(&text, &overrides_path)?;
        apply_overrides(&mut study, &overrides, PHASES_FILE)?;
    } else {
        resolve_by_order(&mut study.series);
    }
    Ok(study)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The zero-copy view and dicom-rs's object model read the same names
    /// and references from an RTSTRUCT (several ROIs, contours on many slices).
    #[test]
    fn rtstruct_refs_from_the_view_equal_dicom_rs() {
        let dir = std::env::temp_dir().join(format!("ctrad-study-refs-{}", std::process::id()));
        let written = crate::synth::write_study(&dir, &crate::synth::SynthSpec::pannet()).unwrap();
        let path = &written.rtstruct;

        let bytes = scan::read_checked(path).unwrap();
        let view = crate::io::dicom::view::View::parse(&bytes).expect("view parses it");
        let fast = segmentation_refs(&view.data, path, SegmentationKind::RtStruct);
        let slow = segmentation_refs(
            &open_header(path).unwrap(),
            path,
            SegmentationKind::RtStruct,
        );
        let read = read_segmentation_refs(path, SegmentationKind::RtStruct).unwrap();
        for s in [&fast, &read] {
            assert_eq!(s.roi_names, slow.roi_names);
            assert_eq!(s.referenced_series_uids, slow.referenced_series_uids);
            assert_eq!(s.referenced_instances, slow.referenced_instances);
            assert_eq!(s.frame_of_reference_uid, slow.frame_of_reference_uid);
        }
        assert_eq!(slow.roi_names, ["Tumour", "Pancreas"]);
        assert_eq!(slow.referenced_series_uids.len(), 1);
        assert!(slow.referenced_instances.len() > 1);
        assert!(!slow.frame_of_reference_uid.is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn tm_parsing() {
        assert_eq!(parse_tm("100040"), Some(36040.0));
        assert_eq!(parse_tm("10:00:40"), Some(36040.0));
        assert_eq!(parse_tm("1000"), Some(36000.0));
        assert_eq!(parse_tm("100040.5"), Some(36040.5));
        assert_eq!(parse_tm(""), None);
        assert_eq!(parse_tm("abc"), None);
        assert_eq!(parse_tm("250000"), None);
    }

    #[test]
    fn word_split() {
        let w: Vec<String> = words("ABD PV2mm late-Arterial")
            .into_iter()
            .map(|w| w.0)
            .collect();
        assert_eq!(w, ["abd", "pv", "2", "mm", "late", "arterial"]);
    }

    #[test]
    fn order_fills_the_gap() {
        let mk = |n: i64, t: f64, desc: &str, agent: &str| CtSeries {
            source: SeriesSource::Dicom(vec![]),
            series_instance_uid: n.to_string(),
            study_instance_uid: String::new(),
            frame_of_reference_uid: String::new(),
            series_number: Some(n),
            description: desc.into(),
            contrast_agent: agent.into(),
            bolus_start_time: None,
            acquisition_time: Some(t),
            slices: 1,
            matrix: None,
            phase: Phase::Unknown,
            phase_source: PhaseSource::None,
            phase_reason: String::new(),
        };
        let mut s = vec![
            mk(1, 0.0, "Abdomen NC", ""),
            mk(2, 60.0, "Abdomen 2mm", "Omnipaque"),
            mk(3, 100.0, "Abdomen PV", "Omnipaque"),
        ];
        for x in &mut s {
            classify_evidence(x);
        }
        assert_eq!(s[1].phase, Phase::Unknown);
        resolve_by_order(&mut s);
        assert_eq!(s[1].phase, Phase::Arterial, "{}", s[1].phase_reason);
        assert!(s[1].phase_reason.contains("only free phase"));
    }
}
