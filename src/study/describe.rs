//! What a study holds, as text for `ctrad inspect`.

use super::*;

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

/// Which series would use which series' segmentations, under each
/// cross-phase policy (see [`crate::cross_phase`]), for `ctrad inspect`.
/// Opens the series by their headers (geometry only).
pub fn describe_cross_phase(study: &Study) -> String {
    use crate::cross_phase::map::same_frame;
    use crate::inputs::ImageSource;
    use std::fmt::Write;
    let open = |i: usize| match &study.series[i].source {
        SeriesSource::Dicom(files) => ImageSource::open_series(files),
        SeriesSource::VolumeFile(p) => ImageSource::open(p),
    };
    let name = |i: usize| {
        let s = &study.series[i];
        format!("[{}] {} ({})", i + 1, s.label(), s.phase)
    };
    let mut out = String::from("Segmentations across phases:\n");
    if study.segmentations.iter().all(|s| s.series.is_none()) {
        out.push_str("  none: no segmentation is linked to a series\n");
        return out;
    }
    let mut images: Vec<Option<ImageSource>> = (0..study.series.len()).map(|_| None).collect();
    for i in 0..study.series.len() {
        if !study.segmentations_of(i).is_empty() {
            let _ = writeln!(out, "  {}: its own", name(i));
            continue;
        }
        let mut line = None;
        let mut reasons = Vec::new();
        for j in study.donors_for(i) {
            for k in [i, j] {
                if images[k].is_none() {
                    images[k] = open(k).ok();
                }
            }
            let (Some(target), Some(donor)) = (&images[i], &images[j]) else {
                reasons.push(format!("{} or {} cannot be read", name(i), name(j)));
                continue;
            };
            if let Err(why) = same_frame(donor, target) {
                reasons.push(format!("{}: {why}", name(j)));
                continue;
            }
            let same_grid_allowed = !study.series[i].frame_of_reference_uid.is_empty();
            line = Some(match target.geometry.mismatch(&donor.geometry) {
                None if same_grid_allowed => format!(
                    "from {} — the same grid: used by every policy (`map` too; `register` aligns it first)",
                    name(j)
                ),
                None => format!(
                    "from {} — the same grid but no frame of reference: with --cross-phase map or register",
                    name(j)
                ),
                Some(diff) => format!(
                    "from {} — another grid ({diff}): with --cross-phase map or register, not by the default same-grid",
                    name(j)
                ),
            });
            break;
        }
        let _ = writeln!(
            out,
            "  {}: {}",
            name(i),
            line.unwrap_or_else(|| if reasons.is_empty() {
                "none (no segmentation in the study)".to_string()
            } else {
                format!("none ({})", reasons.join("; "))
            })
        );
    }
    out
}
