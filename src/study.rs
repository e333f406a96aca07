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

// ---------------------------------------------------------------- DICOM ---

/// SOP class prefixes of objects that may say Modality CT but hold no CT
/// volume: secondary captures (dose screens), structured reports (dose SR),
/// raw data, presentation states.
const NOT_CT_VOLUME: &[&str] = &[
    "1.2.840.10008.5.1.4.1.1.7",
    "1.2.840.10008.5.1.4.1.1.88.",
    "1.2.840.10008.5.1.4.1.1.66",
    "1.2.840.10008.5.1.4.1.1.11.",
];

fn is_ct(info: &FileInfo) -> bool {
    match info.sop_class_uid.as_str() {
        sop_class::CT_IMAGE | sop_class::ENHANCED_CT_IMAGE => true,
        sop_class::RT_STRUCTURE_SET | sop_class::SEGMENTATION => false,
        uid => {
            info.modality.eq_ignore_ascii_case("CT")
                && !NOT_CT_VOLUME.iter().any(|p| uid.starts_with(p))
        }
    }
}

/// Attributes beyond [`FileInfo`] read from one file of a series.
struct SeriesHeader {
    contrast_agent: String,
    bolus_start_time: Option<f64>,
    acquisition_time: Option<f64>,
    matrix: Option<(u32, u32)>,
    frames: usize,
    localizer: bool,
}

fn open_header(path: &Path) -> Result<InMemDicomObject> {
    OpenFileOptions::new()
        .read_until(tags::PIXEL_DATA)
        .open_file(path)
        .map(|f| f.into_inner())
        .map_err(|e| Error::format(path, format!("not a readable DICOM file: {e}")))
}

fn read_series_header(path: &Path) -> Result<SeriesHeader> {
    let obj = open_header(path)?;
    let acquisition = parse_tm(&text(&obj, tags::ACQUISITION_TIME))
        .or_else(|| {
            let dt = text(&obj, tags::ACQUISITION_DATE_TIME);
            dt.get(8..).and_then(parse_tm)
        })
        .or_else(|| parse_tm(&text(&obj, tags::SERIES_TIME)));
    let rows = text(&obj, tags::ROWS).parse::<u32>().ok();
    let cols = text(&obj, tags::COLUMNS).parse::<u32>().ok();
    Ok(SeriesHeader {
        contrast_agent: text(&obj, tags::CONTRAST_BOLUS_AGENT),
        bolus_start_time: parse_tm(&text(&obj, tags::CONTRAST_BOLUS_START_TIME)),
        acquisition_time: acquisition,
        matrix: rows.zip(cols),
        frames: text(&obj, tags::NUMBER_OF_FRAMES)
            .parse::<usize>()
            .unwrap_or(1)
            .max(1),
        localizer: text(&obj, tags::IMAGE_TYPE)
            .to_ascii_uppercase()
            .contains("LOCALIZER"),
    })
}

/// Seconds after midnight of a DICOM TM value (`HHMMSS.FFFFFF`, also the
/// legacy `HH:MM:SS` form and truncated `HH`, `HHMM`).
pub fn parse_tm(s: &str) -> Option<f64> {
    let s: String = s.trim().chars().filter(|&c| c != ':').collect();
    let (whole, frac) = match s.split_once('.') {
        Some((w, f)) => (w.to_string(), format!("0.{f}")),
        None => (s.clone(), "0".to_string()),
    };
    if whole.is_empty() || whole.len() > 6 || whole.len() % 2 != 0 {
        return None;
    }
    if !whole.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let field = |i: usize| -> f64 {
        whole
            .get(2 * i..2 * i + 2)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    let (h, m, sec) = (field(0), field(1), field(2));
    if h > 23.0 || m > 59.0 || sec > 60.0 {
        return None;
    }
    Some(h * 3600.0 + m * 60.0 + sec + frac.parse::<f64>().ok()?)
}

fn discover_dicom(study: &mut Study, infos: Vec<FileInfo>) -> Result<()> {
    let mut groups: BTreeMap<String, Vec<FileInfo>> = BTreeMap::new();
    let mut seg_files = Vec::new();
    for info in infos {
        if info.sop_class_uid == sop_class::RT_STRUCTURE_SET
            || info.sop_class_uid == sop_class::SEGMENTATION
            || info.modality == "RTSTRUCT"
            || info.modality == "SEG"
        {
            seg_files.push(info);
        } else if is_ct(&info) {
            groups
                .entry(info.series_instance_uid.clone())
                .or_default()
                .push(info);
        }
    }
    // Which series holds each SOP instance (for instance-level linking).
    let mut instance_series: HashMap<String, String> = HashMap::new();
    for (uid, files) in &groups {
        let first = &files[0];
        let header = match read_series_header(&first.path) {
            Ok(h) => h,
            Err(e) => {
                study.notes.push(format!("skipped series {uid}: {e}"));
                continue;
            }
        };
        if header.localizer {
            study.notes.push(format!(
                "skipped localizer series #{} '{}'",
                first.series_number.map_or("?".into(), |n| n.to_string()),
                first.series_description
            ));
            continue;
        }
        for f in files {
            instance_series.insert(f.sop_instance_uid.clone(), uid.clone());
        }
        let mut paths: Vec<PathBuf> = files.iter().map(|f| f.path.clone()).collect();
        paths.sort();
        let slices = if first.sop_class_uid == sop_class::ENHANCED_CT_IMAGE {
            header.frames * files.len()
        } else {
            files.len()
        };
        study.series.push(CtSeries {
            source: SeriesSource::Dicom(paths),
            series_instance_uid: uid.clone(),
            study_instance_uid: first.study_instance_uid.clone(),
            frame_of_reference_uid: first.frame_of_reference_uid.clone(),
            series_number: first.series_number,
            description: first.series_description.clone(),
            contrast_agent: header.contrast_agent,
            bolus_start_time: header.bolus_start_time,
            acquisition_time: header.acquisition_time,
            slices,
            matrix: header.matrix,
            phase: Phase::Unknown,
            phase_source: PhaseSource::None,
            phase_reason: String::new(),
        });
    }
    study.series.sort_by(|a, b| {
        (
            a.series_number,
            a.acquisition_time.map(|t| (t * 1000.0) as i64),
        )
            .cmp(&(
                b.series_number,
                b.acquisition_time.map(|t| (t * 1000.0) as i64),
            ))
            .then_with(|| a.series_instance_uid.cmp(&b.series_instance_uid))
    });
    for info in seg_files {
        let kind = if info.sop_class_uid == sop_class::SEGMENTATION || info.modality == "SEG" {
            SegmentationKind::Seg
        } else {
            SegmentationKind::RtStruct
        };
        let mut seg = match read_segmentation_refs(&info.path, kind) {
            Ok(s) => s,
            Err(e) => {
                study.notes.push(format!("skipped segmentation: {e}"));
                continue;
            }
        };
        if seg.frame_of_reference_uid.is_empty() {
            seg.frame_of_reference_uid = info.frame_of_reference_uid.clone();
        }
        link_segmentation(&mut seg, &study.series, &instance_series);
        study.segmentations.push(seg);
    }
    Ok(())
}

/// Read ROI names and references of an RTSTRUCT or SEG. A SEG is read up to
/// its pixel data; an RTSTRUCT (all of it is the header: its contours run to
/// megabytes of decimal strings) through the zero-copy view when it can be,
/// which reads it ~10× faster than dicom-rs's object model.
fn read_segmentation_refs(path: &Path, kind: SegmentationKind) -> Result<Segmentation> {
    if kind == SegmentationKind::RtStruct {
        let bytes = scan::read_checked(path)?;
        if let Some(view) = crate::io::dicom::view::View::parse(&bytes) {
            return Ok(segmentation_refs(&view.data, path, kind));
        }
        let obj = scan::parse_checked(&bytes)
            .map_err(|e| Error::format(path, format!("not a readable DICOM file: {e}")))?;
        return Ok(segmentation_refs(&*obj, path, kind));
    }
    Ok(segmentation_refs(&open_header(path)?, path, kind))
}

/// ROI names and references of the RTSTRUCT or SEG data set `obj`.
fn segmentation_refs<O: Attributes>(obj: &O, path: &Path, kind: SegmentationKind) -> Segmentation {
    use scan::items;
    let mut seg = Segmentation {
        path: path.to_path_buf(),
        kind,
        roi_names: Vec::new(),
        referenced_series_uids: Vec::new(),
        frame_of_reference_uid: text(obj, tags::FRAME_OF_REFERENCE_UID),
        series: None,
        link_reason: String::new(),
        referenced_instances: Vec::new(),
    };
    let push_unique = |v: &mut Vec<String>, s: String| {
        if !s.is_empty() && !v.contains(&s) {
            v.push(s);
        }
    };
    match kind {
        SegmentationKind::RtStruct => {
            for fref in items(obj, tags::REFERENCED_FRAME_OF_REFERENCE_SEQUENCE) {
                if seg.frame_of_reference_uid.is_empty() {
                    seg.frame_of_reference_uid = text(fref, tags::FRAME_OF_REFERENCE_UID);
                }
                for st in items(fref, tags::RT_REFERENCED_STUDY_SEQUENCE) {
                    for se in items(st, tags::RT_REFERENCED_SERIES_SEQUENCE) {
                        push_unique(
                            &mut seg.referenced_series_uids,
                            text(se, tags::SERIES_INSTANCE_UID),
                        );
                        for img in items(se, tags::CONTOUR_IMAGE_SEQUENCE) {
                            push_unique(
                                &mut seg.referenced_instances,
                                text(img, tags::REFERENCED_SOP_INSTANCE_UID),
                            );
                        }
                    }
                }
            }
            for roi in items(obj, tags::STRUCTURE_SET_ROI_SEQUENCE) {
                seg.roi_names.push(text(roi, tags::ROI_NAME));
                if seg.frame_of_reference_uid.is_empty() {
                    seg.frame_of_reference_uid = text(roi, tags::REFERENCED_FRAME_OF_REFERENCE_UID);
                }
            }
            for rc in items(obj, tags::ROI_CONTOUR_SEQUENCE) {
                for c in items(rc, tags::CONTOUR_SEQUENCE) {
                    for img in items(c, tags::CONTOUR_IMAGE_SEQUENCE) {
                        push_unique(
                            &mut seg.referenced_instances,
                            text(img, tags::REFERENCED_SOP_INSTANCE_UID),
                        );
                    }
                }
            }
        }
        SegmentationKind::Seg => {
            for se in items(obj, tags::REFERENCED_SERIES_SEQUENCE) {
                push_unique(
                    &mut seg.referenced_series_uids,
                    text(se, tags::SERIES_INSTANCE_UID),
                );
                for inst in items(se, tags::REFERENCED_INSTANCE_SEQUENCE) {
                    push_unique(
                        &mut seg.referenced_instances,
                        text(inst, tags::REFERENCED_SOP_INSTANCE_UID),
                    );
                }
            }
            for s in items(obj, tags::SEGMENT_SEQUENCE) {
                seg.roi_names.push(text(s, tags::SEGMENT_LABEL));
            }
        }
        SegmentationKind::MaskFile => {}
    }
    seg
}

fn link_segmentation(
    seg: &mut Segmentation,
    series: &[CtSeries],
    instance_series: &HashMap<String, String>,
) {
    let index_of = |uid: &str| series.iter().position(|s| s.series_instance_uid == uid);
    let named_by = match seg.kind {
        SegmentationKind::RtStruct => "RTReferencedSeriesSequence",
        _ => "ReferencedSeriesSequence",
    };
    let named: Vec<usize> = seg
        .referenced_series_uids
        .iter()
        .filter_map(|u| index_of(u))
        .collect();
    if let [i] = named.as_slice() {
        seg.series = Some(*i);
        seg.link_reason = format!("{named_by} names its SeriesInstanceUID");
        return;
    }
    let mut by_instance: Vec<usize> = seg
        .referenced_instances
        .iter()
        .filter_map(|u| instance_series.get(u))
        .filter_map(|u| index_of(u))
        .collect();
    by_instance.sort_unstable();
    by_instance.dedup();
    if let [i] = by_instance.as_slice() {
        seg.series = Some(*i);
        seg.link_reason = "its referenced images belong to this series".into();
        return;
    }
    let by_for: Vec<usize> = (0..series.len())
        .filter(|&i| {
            !seg.frame_of_reference_uid.is_empty()
                && series[i].frame_of_reference_uid == seg.frame_of_reference_uid
        })
        .collect();
    match by_for.as_slice() {
        [i] => {
            seg.series = Some(*i);
            seg.link_reason = "only CT series with its FrameOfReferenceUID".into();
        }
        [] => {
            seg.link_reason = if seg.referenced_series_uids.is_empty() {
                "no referenced series and no CT series with its frame of reference".into()
            } else {
                format!(
                    "referenced series {} not found",
                    seg.referenced_series_uids.join(", ")
                )
            };
        }
        many => {
            let labels: Vec<String> = many.iter().map(|&i| series[i].label()).collect();
            seg.link_reason = format!(
                "ambiguous: {} CT series share its frame of reference ({})",
                many.len(),
                labels.join(", ")
            );
        }
    }
}

// ---------------------------------------------------------- volume files ---

/// File name without a volume extension, or `None` for other files.
fn volume_file_stem(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_str()?;
    let lower = name.to_ascii_lowercase();
    [".nii.gz", ".nii", ".nrrd", ".nhdr"]
        .iter()
        .find(|ext| lower.ends_with(*ext))
        .map(|ext| name[..name.len() - ext.len()].to_string())
}

fn in_mask_folder(path: &Path) -> bool {
    path.parent()
        .and_then(|p| p.file_name())
        .and_then(|n| n.to_str())
        .is_some_and(|n| {
            ["masks", "mask", "segmentations", "labels"]
                .iter()
                .any(|m| n.eq_ignore_ascii_case(m))
        })
}

/// Split a stem at the last `image` / first `mask` word: `("CT", "image", "")`.
fn split_role(stem: &str) -> Option<(String, &'static str, String)> {
    let words: Vec<&str> = stem.split(['_', '-']).collect();
    let lower: Vec<String> = words.iter().map(|w| w.to_ascii_lowercase()).collect();
    if lower.last().map(String::as_str) == Some("image") {
        return Some((words[..words.len() - 1].join("_"), "image", String::new()));
    }
    let m = lower.iter().position(|w| w == "mask")?;
    Some((words[..m].join("_"), "mask", words[m + 1..].join("_")))
}

fn discover_volume_files(study: &mut Study, files: &[PathBuf]) {
    let mut masks = Vec::new();
    for path in files {
        let stem = volume_file_stem(path).unwrap_or_default();
        match split_role(&stem) {
            Some((name, "image", _)) if !in_mask_folder(path) => {
                let description = if name.is_empty() { stem.clone() } else { name };
                study.series.push(CtSeries {
                    source: SeriesSource::VolumeFile(path.clone()),
                    series_instance_uid: path.display().to_string(),
                    study_instance_uid: String::new(),
                    frame_of_reference_uid: String::new(),
                    series_number: None,
                    description,
                    contrast_agent: String::new(),
                    bolus_start_time: None,
                    acquisition_time: None,
                    slices: 0,
                    matrix: None,
                    phase: Phase::Unknown,
                    phase_source: PhaseSource::None,
                    phase_reason: String::new(),
                });
            }
            Some((name, _, roi)) => masks.push((path.clone(), name, roi)),
            None if in_mask_folder(path) => masks.push((path.clone(), String::new(), stem)),
            None => study.notes.push(format!(
                "ignored {}: not named like an image (…image.nii.gz) or a mask (…mask….nii.gz)",
                path.display()
            )),
        }
    }
    for (path, name, roi) in masks {
        let mut roi = roi;
        let mut target = None;
        let mut reason = String::new();
        if !name.is_empty() {
            target = study
                .series
                .iter()
                .position(|s| s.description.eq_ignore_ascii_case(&name));
            reason = format!("file name prefix '{name}' matches the image");
        } else if !roi.is_empty() {
            // `masks/pv_tumour.nii.gz`: a leading image name picks the image.
            for (i, s) in study.series.iter().enumerate() {
                let prefix = format!("{}_", s.description.to_ascii_lowercase());
                if roi.to_ascii_lowercase().starts_with(&prefix) {
                    target = Some(i);
                    reason = format!("file name starts with image name '{}'", s.description);
                    roi = roi[prefix.len()..].to_string();
                    break;
                }
            }
        }
        if target.is_none() && study.series.len() == 1 && (name.is_empty() || roi.is_empty()) {
            target = Some(0);
            reason = "only image in the study".into();
        }
        if target.is_none() {
            reason = format!(
                "no image named '{name}' ({} images in the study)",
                study.series.len()
            );
        }
        let roi_name = if roi.is_empty() {
            volume_file_stem(&path).unwrap_or_default()
        } else {
            roi
        };
        study.segmentations.push(Segmentation {
            path,
            kind: SegmentationKind::MaskFile,
            roi_names: vec![roi_name],
            referenced_series_uids: Vec::new(),
            frame_of_reference_uid: String::new(),
            series: target,
            link_reason: reason,
            referenced_instances: Vec::new(),
        });
    }
}

// ------------------------------------------------------ phase evidence ---

/// Keyword phrases (lower-case word sequences) and their phases. Longer
/// phrases come first so "late arterial" wins over "late".
const KEYWORDS: &[(&[&str], Phase)] = &[
    (&["late", "arterial"], Phase::Arterial),
    (&["early", "arterial"], Phase::Arterial),
    (&["portal", "venous"], Phase::PortalVenous),
    (&["portal", "venous", "phase"], Phase::PortalVenous),
    (&["non", "contrast"], Phase::Unenhanced),
    (&["non", "enhanced"], Phase::Unenhanced),
    (&["pre", "contrast"], Phase::Unenhanced),
    (&["no", "contrast"], Phase::Unenhanced),
    (&["without", "contrast"], Phase::Unenhanced),
    (&["w", "o"], Phase::Unenhanced),
    (&["noncontrast"], Phase::Unenhanced),
    (&["nonenhanced"], Phase::Unenhanced),
    (&["unenhanced"], Phase::Unenhanced),
    (&["precontrast"], Phase::Unenhanced),
    (&["plain"], Phase::Unenhanced),
    (&["native"], Phase::Unenhanced),
    (&["nativ"], Phase::Unenhanced),
    (&["nc"], Phase::Unenhanced),
    (&["ncct"], Phase::Unenhanced),
    (&["pre"], Phase::Unenhanced),
    (&["arterial"], Phase::Arterial),
    (&["art"], Phase::Arterial),
    (&["arteriell"], Phase::Arterial),
    (&["pancreatic"], Phase::Arterial),
    (&["angio"], Phase::Arterial),
    (&["portal"], Phase::PortalVenous),
    (&["portovenous"], Phase::PortalVenous),
    (&["portalvenous"], Phase::PortalVenous),
    (&["pv"], Phase::PortalVenous),
    (&["pvp"], Phase::PortalVenous),
    (&["venous"], Phase::PortalVenous),
    (&["ven"], Phase::PortalVenous),
    (&["delay"], Phase::Delayed),
    (&["delayed"], Phase::Delayed),
    (&["equilibrium"], Phase::Delayed),
    (&["late"], Phase::Delayed),
    (&["excretory"], Phase::Delayed),
];

/// Words of `text` with their byte spans: runs of letters or of digits
/// (so `PV2mm` gives `PV`, `2`, `mm`), lower-cased.
fn words(text: &str) -> Vec<(String, usize, usize)> {
    let mut out: Vec<(String, usize, usize)> = Vec::new();
    let mut current: Option<(usize, bool)> = None; // (start, is_digit)
    let flush = |start: usize, end: usize, out: &mut Vec<(String, usize, usize)>| {
        out.push((text[start..end].to_lowercase(), start, end));
    };
    for (i, c) in text.char_indices() {
        let kind = if c.is_alphabetic() {
            Some(false)
        } else if c.is_ascii_digit() {
            Some(true)
        } else {
            None
        };
        match (current, kind) {
            (Some((s, d)), Some(k)) if d != k => {
                flush(s, i, &mut out);
                current = Some((i, k));
            }
            (Some(_), Some(_)) => {}
            (Some((s, _)), None) => {
                flush(s, i, &mut out);
                current = None;
            }
            (None, Some(k)) => current = Some((i, k)),
            (None, None) => {}
        }
    }
    if let Some((s, _)) = current {
        flush(s, text.len(), &mut out);
    }
    out
}

/// Phase keywords found in `text` (whole words, case-insensitive), one entry
/// per distinct phase with the first matching text as written. Several
/// entries mean the text is contradictory.
pub fn description_keywords(text: &str) -> Vec<(Phase, String)> {
    let w = words(text);
    let mut found: Vec<(Phase, String)> = Vec::new();
    let mut i = 0;
    while i < w.len() {
        let best = KEYWORDS
            .iter()
            .filter(|(phrase, _)| {
                phrase.len() <= w.len() - i
                    && phrase
                        .iter()
                        .zip(&w[i..])
                        .all(|(p, (word, _, _))| p == word)
            })
            .max_by_key(|(phrase, _)| phrase.len());
        match best {
            Some((phrase, phase)) => {
                let written = text[w[i].1..w[i + phrase.len() - 1].2].to_string();
                if !found.iter().any(|(p, _)| p == phase) {
                    found.push((*phase, written));
                }
                i += phrase.len();
            }
            None => i += 1,
        }
    }
    found
}

/// Phase implied by the delay (seconds) between contrast injection and
/// acquisition: arterial 10–55 s, portal venous 55–120 s, delayed ≥ 150 s;
/// `None` elsewhere (see the module docs for the sources).
pub fn phase_from_delay(seconds: f64) -> Option<Phase> {
    if (10.0..55.0).contains(&seconds) {
        Some(Phase::Arterial)
    } else if (55.0..120.0).contains(&seconds) {
        Some(Phase::PortalVenous)
    } else if (150.0..7200.0).contains(&seconds) {
        Some(Phase::Delayed)
    } else {
        None
    }
}

fn agent_is_none(agent: &str) -> bool {
    let a = agent.trim().to_ascii_lowercase();
    ["none", "no", "n/a", "nil", "0", "no contrast", "without"].contains(&a.as_str())
}

/// Classify one series from its own attributes (steps 2–4 of the module docs).
fn classify_evidence(s: &mut CtSeries) {
    let (what, source) = match s.source {
        SeriesSource::Dicom(_) => ("SeriesDescription", PhaseSource::Description),
        SeriesSource::VolumeFile(_) => ("file name", PhaseSource::FileName),
    };
    let keywords = description_keywords(&s.description);
    let timing = s.contrast_delay().map(|d| (d, phase_from_delay(d)));
    let timing_text = |d: f64| {
        format!(
            "acquired {} s after ContrastBolusStartTime",
            crate::io::dicom::write::format_ds((d * 10.0).round() / 10.0)
        )
    };
    let mut note = String::new();
    if keywords.len() == 1 {
        let (phase, word) = &keywords[0];
        s.phase = *phase;
        s.phase_source = source;
        s.phase_reason = format!("{what} '{}' contains '{word}'", s.description);
        if let Some((d, Some(tp))) = timing {
            if tp != *phase {
                s.phase_reason += &format!(
                    " (timing disagrees: {} suggests {tp}; description preferred)",
                    timing_text(d)
                );
            }
        }
        return;
    }
    if keywords.len() > 1 {
        let list: Vec<String> = keywords
            .iter()
            .map(|(p, w)| format!("'{w}' ({p})"))
            .collect();
        note = format!(
            "{what} '{}' is contradictory: {}; ",
            s.description,
            list.join(", ")
        );
    }
    if let Some((d, Some(phase))) = timing {
        s.phase = phase;
        s.phase_source = PhaseSource::Timing;
        s.phase_reason = format!("{note}{}", timing_text(d));
        return;
    }
    if let Some((d, None)) = timing {
        note += &format!("{} (inconclusive); ", timing_text(d));
    }
    if agent_is_none(&s.contrast_agent) {
        s.phase = Phase::Unenhanced;
        s.phase_source = PhaseSource::ContrastAgent;
        s.phase_reason = format!("{note}ContrastBolusAgent is '{}'", s.contrast_agent);
        return;
    }
    s.phase = Phase::Unknown;
    s.phase_source = PhaseSource::None;
    s.phase_reason = format!(
        "{note}no phase keyword in {what}{}",
        if matches!(s.source, SeriesSource::Dicom(_)) {
            ", no usable contrast timing, no 'none' contrast agent"
        } else {
            ""
        }
    );
}

/// Step 5 of the module docs: classify the remaining series by acquisition
/// order between classified neighbours. Earlier order-based results are
/// recomputed, so this can run again after overrides.
fn resolve_by_order(series: &mut [CtSeries]) {
    for s in series.iter_mut() {
        if s.phase_source == PhaseSource::Order {
            s.phase = Phase::Unknown;
            s.phase_source = PhaseSource::None;
            s.phase_reason = "no other evidence".into();
        }
    }
    let mut order: Vec<usize> = (0..series.len())
        .filter(|&i| series[i].acquisition_time.is_some())
        .collect();
    order.sort_by(|&a, &b| {
        series[a]
            .acquisition_time
            .partial_cmp(&series[b].acquisition_time)
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    for pos in 0..order.len() {
        let i = order[pos];
        if series[i].phase != Phase::Unknown || series[i].phase_source == PhaseSource::Override {
            continue;
        }
        let known = |j: &usize| series[*j].phase != Phase::Unknown;
        let prev = order[..pos].iter().rev().find(|j| known(j)).copied();
        let next = order[pos + 1..].iter().find(|j| known(j)).copied();
        if prev.is_none() && next.is_none() {
            continue;
        }
        let lo = prev.map(|j| series[j].phase);
        let hi = next.map(|j| series[j].phase);
        let taken: Vec<Phase> = series.iter().map(|s| s.phase).collect();
        let has_agent = !series[i].contrast_agent.trim().is_empty()
            && !agent_is_none(&series[i].contrast_agent);
        let candidate = Phase::ORDER.iter().copied().find(|&p| {
            lo.is_none_or(|l| p > l)
                && hi.is_none_or(|h| p < h)
                && !taken.contains(&p)
                && !(has_agent && p == Phase::Unenhanced)
        });
        if let Some(p) = candidate {
            let mut parts = Vec::new();
            if let Some(j) = prev {
                parts.push(format!("after {} ({})", series[j].label(), series[j].phase));
            }
            if let Some(j) = next {
                parts.push(format!(
                    "before {} ({})",
                    series[j].label(),
                    series[j].phase
                ));
            }
            let old = std::mem::take(&mut series[i].phase_reason);
            series[i].phase = p;
            series[i].phase_source = PhaseSource::Order;
            series[i].phase_reason = format!(
                "acquisition order: {} and {p} is the only free phase in between ({old})",
                parts.join(" and ")
            );
            // `only` is accurate only when a single phase fits; say so otherwise.
            let fits = Phase::ORDER
                .iter()
                .filter(|&&q| {
                    lo.is_none_or(|l| q > l)
                        && hi.is_none_or(|h| q < h)
                        && !taken.contains(&q)
                        && !(has_agent && q == Phase::Unenhanced)
                })
                .count();
            if fits > 1 {
                series[i].phase_reason = series[i]
                    .phase_reason
                    .replace("is the only free phase", "is the first free phase");
            }
        }
    }
}

// -------------------------------------------------------------- overrides ---

/// What an override entry matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OverrideKey {
    SeriesUid(String),
    SeriesNumber(i64),
    /// Compared case-insensitively after trimming.
    Description(String),
}

impl fmt::Display for OverrideKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OverrideKey::SeriesUid(u) => write!(f, "series UID {u}"),
            OverrideKey::SeriesNumber(n) => write!(f, "series number {n}"),
            OverrideKey::Description(d) => write!(f, "description '{d}'"),
        }
    }
}

/// One manual phase assignment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhaseOverride {
    pub key: OverrideKey,
    pub phase: Phase,
}

fn key_from_text(s: &str) -> OverrideKey {
    let s = s.trim();
    if let Ok(n) = s.parse::<i64>() {
        OverrideKey::SeriesNumber(n)
    } else if s.contains('.') && s.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        OverrideKey::SeriesUid(s.to_string())
    } else {
        OverrideKey::Description(s.to_string())
    }
}

fn phase_or_err(value: &str, path: &Path, key: &str) -> Result<Phase> {
    Phase::parse(value).ok_or_else(|| {
        Error::params(
            path,
            format!(
                "'{key}': unknown phase '{value}' (use unenhanced, arterial, portal_venous, delayed or unknown)"
            ),
        )
    })
}

/// Parse a `phases.yaml` override file (see the module docs).
pub fn parse_phases_yaml(text: &str, path: &Path) -> Result<Vec<PhaseOverride>> {
    use serde_norway::Value;
    let value: Value = serde_norway::from_str(text)
        .map_err(|e| Error::params(path, format!("not valid YAML: {e}")))?;
    let map = match value {
        Value::Mapping(m) => m,
        Value::Null => return Ok(Vec::new()),
        _ => {
            return Err(Error::params(
                path,
                "expected a mapping of series (number, UID or description) to phase",
            ))
        }
    };
    let mut out = Vec::new();
    for (k, v) in map {
        let key = match k {
            Value::Number(n) => match n.as_i64() {
                Some(i) => OverrideKey::SeriesNumber(i),
                None => {
                    return Err(Error::params(
                        path,
                        format!("key {n} is not a whole series number (quote UIDs)"),
                    ))
                }
            },
            Value::String(s) => key_from_text(&s),
            other => return Err(Error::params(path, format!("unsupported key {other:?}"))),
        };
        let phase = match &v {
            Value::String(s) => phase_or_err(s, path, &key.to_string())?,
            other => {
                return Err(Error::params(
                    path,
                    format!("{key}: phase must be a string, not {other:?}"),
                ))
            }
        };
        out.push(PhaseOverride { key, phase });
    }
    Ok(out)
}

/// Parse a manifest cell `key=phase; key=phase` (see the module docs).
pub fn parse_override_list(text: &str) -> Result<Vec<PhaseOverride>> {
    let path = PathBuf::from(format!("<manifest column '{MANIFEST_PHASE_COLUMN}'>"));
    let mut out = Vec::new();
    for entry in text.split(';').map(str::trim).filter(|e| !e.is_empty()) {
        let (key, phase) = entry
            .rsplit_once('=')
            .ok_or_else(|| Error::params(&path, format!("entry '{entry}' is not key=phase")))?;
        out.push(PhaseOverride {
            key: key_from_text(key),
            phase: phase_or_err(phase.trim(), &path, key.trim())?,
        });
    }
    Ok(out)
}

/// Set the phases of the series matched by `overrides` (`source` names where
/// they came from, for the reason text), then redo the order-based step for
/// the rest. An entry that matches no series is an error, so typos surface.
pub fn apply_overrides(study: &mut Study, overrides: &[PhaseOverride], source: &str) -> Result<()> {
    for o in overrides {
        let hits: Vec<usize> = (0..study.series.len())
            .filter(|&i| {
                let s = &study.series[i];
                match &o.key {
                    OverrideKey::SeriesUid(u) => s.series_instance_uid == *u,
                    OverrideKey::SeriesNumber(n) => s.series_number == Some(*n),
                    OverrideKey::Description(d) => {
                        s.description.trim().eq_ignore_ascii_case(d.trim())
                    }
                }
            })
            .collect();
        if hits.is_empty() {
            return Err(Error::params(
                study.dir.join(source),
                format!("{} matches no CT series of the study", o.key),
            ));
        }
        for i in hits {
            let s = &mut study.series[i];
            s.phase = o.phase;
            s.phase_source = PhaseSource::Override;
            s.phase_reason = format!("{source} sets {} to {}", o.key, o.phase);
        }
    }
    resolve_by_order(&mut study.series);
    Ok(())
}

// --------------------------------------------------------------- describe ---

/// The text `ctrad inspect STUDY_DIR` prints: series with phase and reason,
/// slice counts, segmentations with ROI names and linked series, and notes.
pub fn describe(study: &Study) -> String {
    use std::fmt::Write;
    let rel = |p: &Path| {
        p.strip_prefix(&study.dir)
            .unwrap_or(p)
            .display()
            .to_string()
    };
    let mut out = String::new();
    let _ = writeln!(out, "Study {}", study.dir.display());
    let _ = writeln!(out, "CT series: {}", study.series.len());
    for (i, s) in study.series.iter().enumerate() {
        let size = match (&s.source, s.matrix) {
            (SeriesSource::Dicom(files), Some((r, c))) => {
                format!("{} slices of {c}x{r} in {} file(s)", s.slices, files.len())
            }
            (SeriesSource::Dicom(files), None) => format!("{} file(s)", files.len()),
            (SeriesSource::VolumeFile(p), _) => rel(p),
        };
        let _ = writeln!(out, "  [{}] {}  {}", i + 1, s.label(), size);
        let _ = writeln!(out, "      phase: {} — {}", s.phase, s.phase_reason);
        if matches!(s.source, SeriesSource::Dicom(_)) {
            let agent = if s.contrast_agent.is_empty() {
                "-".to_string()
            } else {
                s.contrast_agent.clone()
            };
            let delay = s
                .contrast_delay()
                .map_or("-".to_string(), |d| format!("{d:.0} s"));
            let _ = writeln!(out, "      contrast agent: {agent}; delay: {delay}");
            let _ = writeln!(out, "      uid: {}", s.series_instance_uid);
        }
    }
    let _ = writeln!(out, "Segmentations: {}", study.segmentations.len());
    for seg in &study.segmentations {
        let _ = writeln!(out, "  {} {}", seg.kind, rel(&seg.path));
        let _ = writeln!(out, "      ROIs: {}", seg.roi_names.join(", "));
        match seg.series {
            Some(i) => {
                let _ = writeln!(
                    out,
                    "      series: [{}] {} ({})",
                    i + 1,
                    study.series[i].label(),
                    seg.link_reason
                );
            }
            None => {
                let _ = writeln!(out, "      series: none ({})", seg.link_reason);
            }
        }
    }
    if !study.notes.is_empty() {
        let _ = writeln!(out, "Notes:");
        for n in &study.notes {
            let _ = writeln!(out, "  - {n}");
        }
    }
    out
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
