//! NIfTI / NRRD studies: images and masks named by convention.

use super::*;

/// File name without a volume extension, or `None` for other files.
pub(super) fn volume_file_stem(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_str()?;
    let lower = name.to_ascii_lowercase();
    [".nii.gz", ".nii", ".nrrd", ".nhdr"]
        .iter()
        .find(|ext| lower.ends_with(*ext))
        .map(|ext| name[..name.len() - ext.len()].to_string())
}

pub(super) fn in_mask_folder(path: &Path) -> bool {
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
pub(super) fn split_role(stem: &str) -> Option<(String, &'static str, String)> {
    let words: Vec<&str> = stem.split(['_', '-']).collect();
    let lower: Vec<String> = words.iter().map(|w| w.to_ascii_lowercase()).collect();
    if lower.last().map(String::as_str) == Some("image") {
        return Some((words[..words.len() - 1].join("_"), "image", String::new()));
    }
    let m = lower.iter().position(|w| w == "mask")?;
    Some((words[..m].join("_"), "mask", words[m + 1..].join("_")))
}

pub(super) fn discover_volume_files(study: &mut Study, files: &[PathBuf]) {
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
