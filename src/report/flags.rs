//! What looks wrong: flags on study × series × ROI entries.
//!
//! * **Cohort outliers**: a robust z-score `z = (x − median) / (1.4826 ·
//!   MAD)` (MAD, the median absolute deviation, scaled to equal the standard
//!   deviation of a normal sample) above [`ROBUST_Z`] in absolute value, of
//!   the ROI volume (per ROI name), the ROI mean HU (per ROI name and phase)
//!   and the in-plane and slice spacing (per phase), over at least
//!   [`MIN_COHORT`] values. A value within 1 % of the median is never an
//!   outlier (spacings differ by rounding noise: 3.27 vs 3.2699999999999885
//!   mm); when more than half the values are equal (MAD 0), any other value is.
//! * **Enhancement**: an enhanced phase (arterial, portal venous, delayed)
//!   whose ROI mean HU is below the same ROI's on the unenhanced series —
//!   contrast only adds attenuation, so the phases or the contours are
//!   likely mixed up.
//! * **ROI placement**: the ROI touches the volume's edge (it may be cut
//!   off); fewer than [`FEW_VOXELS`] voxels (a sliver or a stray click);
//!   empty; drawn on another series with another grid; carried over with a
//!   registration shift above [`LARGE_SHIFT_MM`].
//! * **Phase**: unknown, in a study with more than one series.
//! * **Status**: no row (a failure, or not extracted).

use super::{Cohort, Status};
use std::collections::BTreeMap;

/// |robust z| above this is flagged.
pub const ROBUST_Z: f64 = 3.5;
/// Robust z-scores need at least this many values.
pub const MIN_COHORT: usize = 5;
/// An ROI of fewer voxels is flagged.
pub const FEW_VOXELS: usize = 64;
/// A mask carried to another phase with a longer registration shift (mm)
/// is flagged.
pub const LARGE_SHIFT_MM: f64 = 5.0;

/// Median of finite values (`None` when empty).
pub fn median(values: &[f64]) -> Option<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// Robust z-score of each value among `values` (`None` for fewer than
/// [`MIN_COHORT`] values). A value within 1 % of the median gets 0; with a
/// MAD of zero, any other gets ±infinity.
pub fn robust_z(values: &[f64]) -> Option<Vec<f64>> {
    if values.len() < MIN_COHORT {
        return None;
    }
    let med = median(values)?;
    let dev: Vec<f64> = values.iter().map(|x| (x - med).abs()).collect();
    let mad = median(&dev)? * 1.4826;
    Some(
        values
            .iter()
            .map(|&x| {
                if (x - med).abs() <= 0.01 * med.abs() {
                    0.0 // practically equal (spacings written with rounding noise)
                } else if mad > 0.0 {
                    (x - med) / mad
                } else {
                    (x - med).signum() * f64::INFINITY
                }
            })
            .collect(),
    )
}

fn z_text(z: f64) -> String {
    if z.is_finite() {
        format!("robust z = {z:+.1}")
    } else {
        "differs from the others, which are all equal".to_string()
    }
}

/// Flag every entry of the cohort.
pub(crate) fn flag(cohort: &mut Cohort) {
    // (study, entry) positions of each group, and the values.
    type Groups = BTreeMap<String, Vec<((usize, usize), f64)>>;
    let mut volume: Groups = BTreeMap::new();
    let mut hu: Groups = BTreeMap::new();
    let mut inplane: Groups = BTreeMap::new();
    let mut slice: Groups = BTreeMap::new();
    for (si, s) in cohort.studies.iter().enumerate() {
        for (ei, e) in s.entries.iter().enumerate() {
            let at = (si, ei);
            if let Some(v) = e.volume_ml.filter(|&v| v > 0.0) {
                volume.entry(e.roi.clone()).or_default().push((at, v));
            }
            if let Some(h) = e.mean_hu {
                hu.entry(format!("{} on {}", e.roi, e.phase))
                    .or_default()
                    .push((at, h));
            }
            if let Some(sp) = e.series.and_then(|i| s.series[i].spacing) {
                inplane
                    .entry(e.phase.clone())
                    .or_default()
                    .push((at, sp[0].max(sp[1])));
                slice.entry(e.phase.clone()).or_default().push((at, sp[2]));
            }
        }
    }
    let mut flags: BTreeMap<(usize, usize), Vec<String>> = BTreeMap::new();
    let mut outliers = |groups: &Groups, what: &str, unit: &str| {
        for (group, members) in groups {
            let values: Vec<f64> = members.iter().map(|m| m.1).collect();
            let Some(z) = robust_z(&values) else {
                continue;
            };
            let med = median(&values).unwrap_or(f64::NAN);
            for ((at, v), z) in members.iter().zip(z) {
                if z.abs() > ROBUST_Z {
                    flags.entry(*at).or_default().push(format!(
                        "{what} {v:.3} {unit} unusual for {group} (cohort median {med:.3}; {})",
                        z_text(z)
                    ));
                }
            }
        }
    };
    outliers(&volume, "ROI volume", "mL");
    outliers(&hu, "ROI mean", "HU");
    outliers(&inplane, "in-plane spacing", "mm");
    outliers(&slice, "slice spacing", "mm");

    for (si, s) in cohort.studies.iter().enumerate() {
        let unenhanced: BTreeMap<&str, f64> = s
            .entries
            .iter()
            .filter(|e| e.phase == "unenhanced")
            .filter_map(|e| Some((e.roi.as_str(), e.mean_hu?)))
            .collect();
        let multi_series = s.series.len() > 1;
        for (ei, e) in s.entries.iter().enumerate() {
            let f = flags.entry((si, ei)).or_default();
            match &e.status {
                Status::Computed => {}
                Status::Failed(_) => f.push("no features: extraction failed".into()),
                Status::NotExtracted => f.push("no row in the table".into()),
            }
            if ["arterial", "portal_venous", "delayed"].contains(&e.phase.as_str()) {
                if let (Some(h), Some(&u)) = (e.mean_hu, unenhanced.get(e.roi.as_str())) {
                    if h < u {
                        f.push(format!(
                            "mean {h:.1} HU on the {} phase is below the unenhanced {u:.1} HU",
                            e.phase.replace('_', " ")
                        ));
                    }
                }
            }
            if !e.touches_edge.is_empty() {
                f.push(format!(
                    "ROI touches the volume's edge ({})",
                    e.touches_edge.join(", ")
                ));
            }
            match e.voxels {
                Some(0) => f.push("empty ROI".into()),
                Some(n) if n < FEW_VOXELS => f.push(format!("ROI of only {n} voxels")),
                _ => {}
            }
            if e.other_grid {
                f.push("segmentation drawn on a series with another grid".into());
            }
            if let Some(sh) = e.shift_mm {
                let norm = sh.iter().map(|v| v * v).sum::<f64>().sqrt();
                if norm > LARGE_SHIFT_MM {
                    f.push(format!(
                        "mask carried over with a registration shift of {norm:.1} mm"
                    ));
                }
            }
            if e.phase == "unknown" && multi_series {
                f.push("phase unknown in a study with several series".into());
            }
            if e.view_error.is_some() && e.series.is_some() && e.voxels != Some(0) {
                f.push("contour cannot be shown".into());
            }
        }
    }
    for ((si, ei), f) in flags {
        cohort.studies[si].entries[ei].flags = f;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn robust_z_scores() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert!(robust_z(&[1.0, 2.0, 3.0, 4.0]).is_none());
        // median 3, |dev| = 2 1 0 1 97 → MAD 1 → scaled 1.4826.
        let z = robust_z(&[1.0, 2.0, 3.0, 4.0, 100.0]).unwrap();
        assert!((z[4] - 97.0 / 1.4826).abs() < 1e-9);
        assert!((z[0] + 2.0 / 1.4826).abs() < 1e-9);
        // Equal spacings but one.
        let z = robust_z(&[0.98, 0.98, 0.98, 0.98, 0.7]).unwrap();
        assert_eq!(z[..4], [0.0; 4]);
        assert_eq!(z[4], f64::NEG_INFINITY);
        // Rounding noise is no outlier, even when the MAD is smaller still.
        let z = robust_z(&[
            3.27,
            3.2700000000000014,
            3.2699999999999987,
            3.2699999999999885,
            3.27,
        ])
        .unwrap();
        assert!(z.iter().all(|&v| v == 0.0), "{z:?}");
    }
}
