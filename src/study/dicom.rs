//! DICOM studies: CT series and segmentations found by header, and how a segmentation is linked to its series.

use super::*;

/// SOP class prefixes of objects that may say Modality CT but hold no CT
/// volume: secondary captures (dose screens), structured reports (dose SR),
/// raw data, presentation states.
pub(super) const NOT_CT_VOLUME: &[&str] = &[
    "1.2.840.10008.5.1.4.1.1.7",
    "1.2.840.10008.5.1.4.1.1.88.",
    "1.2.840.10008.5.1.4.1.1.66",
    "1.2.840.10008.5.1.4.1.1.11.",
];

pub(super) fn is_ct(info: &FileInfo) -> bool {
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
pub(super) struct SeriesHeader {
    contrast_agent: String,
    bolus_start_time: Option<f64>,
    acquisition_time: Option<f64>,
    matrix: Option<(u32, u32)>,
    frames: usize,
    localizer: bool,
}

pub(super) fn open_header(path: &Path) -> Result<InMemDicomObject> {
    OpenFileOptions::new()
        .read_until(tags::PIXEL_DATA)
        .open_file(path)
        .map(|f| f.into_inner())
        .map_err(|e| Error::format(path, format!("not a readable DICOM file: {e}")))
}

pub(super) fn read_series_header(path: &Path) -> Result<SeriesHeader> {
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

pub(super) fn discover_dicom(study: &mut Study, infos: Vec<FileInfo>) -> Result<()> {
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
pub(super) fn read_segmentation_refs(path: &Path, kind: SegmentationKind) -> Result<Segmentation> {
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
pub(super) fn segmentation_refs<O: Attributes>(
    obj: &O,
    path: &Path,
    kind: SegmentationKind,
) -> Segmentation {
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

pub(super) fn link_segmentation(
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
