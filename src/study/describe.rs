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
