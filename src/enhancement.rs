//! Contrast-enhancement measures across CT phases.
//!
//! Input: a long feature table with one row per study × phase × ROI and columns
//! `study_id`, `phase` (`unenhanced` | `arterial` | `portal_venous` | `delayed`), `roi`
//! and the ROI mean in HU (`roi_mean_hu`, or the IBSI tag `stat_mean`). Rows of other
//! phases are ignored.
//!
//! Per study and ROI (phase P ≠ unenhanced):
//!
//! | column | definition | unit |
//! |---|---|---|
//! | `hu_<P>` | mean HU of the ROI in phase P (also `hu_unenhanced`) | HU |
//! | `abs_enh_<P>` | HU_P − HU_unenhanced | HU |
//! | `rel_enh_<P>` | (HU_P − HU_unenhanced) / HU_unenhanced — a ratio, NOT ×100 % | 1 |
//! | `tp_ratio_<P>` | HU_tumour,P / HU_pancreas,P (same phase; also for unenhanced) | 1 |
//!
//! `rel_enh_*` is NaN (with a note) when HU_unenhanced = 0, and `tp_ratio_*` when the
//! pancreas HU is 0. A missing phase gives null. Note that a negative unenhanced HU
//! (fat) flips the sign of `rel_enh_*`.
//!
//! The wide per-study table ([`enhancement_wide`]) has the TUMOUR ROI's measures
//! unprefixed (`hu_arterial`, `rel_enh_portal_venous`, …), the pancreas ROI's with the
//! prefix `pancreas_`, the tumour-to-pancreas ratios, and the tumour's `carry_features`
//! (default `morph_diam`, mm) from `carry_phase`. Which ROI is which comes from
//! case-insensitive regular expressions on the ROI name ([`EnhancementSettings`]); the
//! tumour pattern is tried first, so "pancreatic_tumour" is a tumour.

use crate::error::{Error, Result};
use crate::model::data::{ColumnData, Table};
use polars::prelude::DataFrame;
use regex::RegexBuilder;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// The phases in output order.
pub const PHASES: [&str; 4] = ["unenhanced", "arterial", "portal_venous", "delayed"];

/// ROI-role patterns and carried features.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EnhancementSettings {
    /// Regex (case-insensitive) for tumour ROI names.
    pub tumour_pattern: String,
    /// Regex (case-insensitive) for pancreas ROI names.
    pub pancreas_pattern: String,
    /// Tumour feature columns copied into the wide table (if present).
    pub carry_features: Vec<String>,
    /// Phase those features are taken from.
    pub carry_phase: String,
}

impl Default for EnhancementSettings {
    fn default() -> Self {
        EnhancementSettings {
            tumour_pattern: "tum|lesion|gtv|pnet|net".into(),
            pancreas_pattern: "pancrea".into(),
            carry_features: vec!["morph_diam".into()],
            carry_phase: "portal_venous".into(),
        }
    }
}

impl EnhancementSettings {
    /// Parse from YAML text (all keys optional).
    pub fn from_yaml(text: &str) -> Result<Self> {
        serde_norway::from_str(text)
            .map_err(|e| Error::Invalid(format!("enhancement settings: {e}")))
    }
}

/// Result of [`enhancement_wide`]/[`enhancement_long`].
#[derive(Debug, Clone)]
pub struct EnhancementOutput {
    pub table: DataFrame,
    /// Why some values are NaN or absent.
    pub notes: Vec<String>,
}

/// Mean HU per phase of one study × ROI.
type PhaseHu = [Option<f64>; 4];

struct Parsed {
    /// study → roi → HU per phase; study order as first seen.
    hu: Vec<(String, BTreeMap<String, PhaseHu>)>,
    /// (study, roi, phase) → row index, for carried features.
    rows: HashMap<(String, String, String), usize>,
    table: Table,
}

fn text_of(c: &ColumnData, i: usize) -> Option<String> {
    c.label(i)
}

fn parse(df: &DataFrame) -> Result<Parsed> {
    let t = Table::from_dataframe(df)?;
    let sid = t.column("study_id")?;
    let phase = t.column("phase")?;
    let roi = t.column("roi")?;
    let hu_name = ["roi_mean_hu", "stat_mean"]
        .into_iter()
        .find(|c| t.has(c))
        .ok_or_else(|| {
            Error::Invalid(format!(
                "the table needs a 'roi_mean_hu' or 'stat_mean' column; available: {}",
                t.names.join(", ")
            ))
        })?;
    let ColumnData::Numeric(hu) = t.column(hu_name)? else {
        return Err(Error::Invalid(format!(
            "column '{hu_name}' must be numeric"
        )));
    };
    let mut out: Vec<(String, BTreeMap<String, PhaseHu>)> = Vec::new();
    let mut rows = HashMap::new();
    for (i, hv) in hu.iter().enumerate() {
        let (Some(s), Some(p), Some(r)) = (text_of(sid, i), text_of(phase, i), text_of(roi, i))
        else {
            continue;
        };
        let Some(k) = PHASES.iter().position(|x| *x == p) else {
            continue;
        };
        if rows.insert((s.clone(), r.clone(), p.clone()), i).is_some() {
            return Err(Error::Invalid(format!(
                "study '{s}', ROI '{r}', phase '{p}' appears more than once; keep one row per study × phase × ROI"
            )));
        }
        let pos = match out.iter().position(|(x, _)| *x == s) {
            Some(j) => j,
            None => {
                out.push((s.clone(), BTreeMap::new()));
                out.len() - 1
            }
        };
        out[pos].1.entry(r).or_insert([None; 4])[k] = hv.filter(|v| v.is_finite());
    }
    Ok(Parsed {
        hu: out,
        rows,
        table: t,
    })
}

/// Absolute and relative enhancement of phase `k` from HU per phase.
fn enh(hu: &PhaseHu, k: usize) -> (Option<f64>, Option<f64>) {
    match (hu[k], hu[0]) {
        (Some(p), Some(u)) => {
            let abs = p - u;
            (Some(abs), Some(if u == 0.0 { f64::NAN } else { abs / u }))
        }
        _ => (None, None),
    }
}

fn measure_columns(prefix: &str, hu: Option<&PhaseHu>, cols: &mut Vec<(String, Option<f64>)>) {
    let none = [None; 4];
    let hu = hu.unwrap_or(&none);
    for (k, p) in PHASES.iter().enumerate() {
        cols.push((format!("{prefix}hu_{p}"), hu[k]));
    }
    for (k, p) in PHASES.iter().enumerate().skip(1) {
        let (a, r) = enh(hu, k);
        cols.push((format!("{prefix}abs_enh_{p}"), a));
        cols.push((format!("{prefix}rel_enh_{p}"), r));
    }
}

fn frame(ids: Vec<(&str, Vec<String>)>, rows: &[Vec<(String, Option<f64>)>]) -> Result<DataFrame> {
    let mut t = Table {
        nrows: rows.len(),
        ..Default::default()
    };
    for (n, v) in ids {
        t.names.push(n.to_string());
        t.columns
            .push(ColumnData::Text(v.into_iter().map(Some).collect()));
    }
    if let Some(first) = rows.first() {
        for (j, (n, _)) in first.iter().enumerate() {
            t.names.push(n.clone());
            t.columns
                .push(ColumnData::Numeric(rows.iter().map(|r| r[j].1).collect()));
        }
    }
    t.to_dataframe()
}

fn notes_for(study: &str, roi: &str, hu: &PhaseHu, notes: &mut Vec<String>) {
    if hu[0] == Some(0.0) {
        notes.push(format!(
            "{study}/{roi}: unenhanced HU is 0, rel_enh_* set to NaN"
        ));
    }
    if hu[0].is_none() && hu.iter().skip(1).any(Option::is_some) {
        notes.push(format!(
            "{study}/{roi}: no unenhanced phase, abs_enh_*/rel_enh_* are empty"
        ));
    }
}

/// Long table: one row per study × ROI with `hu_*`, `abs_enh_*` and `rel_enh_*`.
pub fn enhancement_long(df: &DataFrame) -> Result<EnhancementOutput> {
    let p = parse(df)?;
    let (mut sids, mut rois, mut rows, mut notes) = (vec![], vec![], vec![], vec![]);
    for (s, m) in &p.hu {
        for (r, hu) in m {
            let mut cols = Vec::new();
            measure_columns("", Some(hu), &mut cols);
            notes_for(s, r, hu, &mut notes);
            sids.push(s.clone());
            rois.push(r.clone());
            rows.push(cols);
        }
    }
    Ok(EnhancementOutput {
        table: frame(vec![("study_id", sids), ("roi", rois)], &rows)?,
        notes,
    })
}

/// Wide table: one row per study (see the module docs for the columns).
pub fn enhancement_wide(
    df: &DataFrame,
    settings: &EnhancementSettings,
) -> Result<EnhancementOutput> {
    let re = |pat: &str| {
        RegexBuilder::new(pat)
            .case_insensitive(true)
            .build()
            .map_err(|e| Error::Invalid(format!("ROI pattern '{pat}': {e}")))
    };
    let (tum_re, pan_re) = (
        re(&settings.tumour_pattern)?,
        re(&settings.pancreas_pattern)?,
    );
    let p = parse(df)?;
    let carry: Vec<&String> = settings
        .carry_features
        .iter()
        .filter(|c| p.table.has(c))
        .collect();
    let (mut sids, mut tnames, mut pnames, mut rows, mut notes) =
        (vec![], vec![], vec![], vec![], vec![]);
    for (s, m) in &p.hu {
        let tum: Vec<&String> = m.keys().filter(|r| tum_re.is_match(r)).collect();
        let pan: Vec<&String> = m
            .keys()
            .filter(|r| !tum_re.is_match(r) && pan_re.is_match(r))
            .collect();
        for (what, v) in [("tumour", &tum), ("pancreas", &pan)] {
            if v.len() > 1 {
                return Err(Error::Invalid(format!(
                    "study '{s}' has {} ROIs matching the {what} pattern ({}); make the pattern specific",
                    v.len(),
                    v.iter().map(|x| x.as_str()).collect::<Vec<_>>().join(", ")
                )));
            }
        }
        let th = tum.first().map(|r| &m[*r]);
        let ph = pan.first().map(|r| &m[*r]);
        if th.is_none() {
            notes.push(format!(
                "{s}: no ROI matches the tumour pattern '{}'",
                settings.tumour_pattern
            ));
        }
        if let (Some(r), Some(h)) = (tum.first(), th) {
            notes_for(s, r, h, &mut notes);
        }
        if let (Some(r), Some(h)) = (pan.first(), ph) {
            notes_for(s, r, h, &mut notes);
        }
        let mut cols = Vec::new();
        measure_columns("", th, &mut cols);
        measure_columns("pancreas_", ph, &mut cols);
        for (k, ph_name) in PHASES.iter().enumerate() {
            let v = match (th.and_then(|h| h[k]), ph.and_then(|h| h[k])) {
                (Some(t), Some(pa)) => {
                    if pa == 0.0 {
                        notes.push(format!(
                            "{s}: pancreas HU is 0 in {ph_name}, tp_ratio_{ph_name} set to NaN"
                        ));
                        Some(f64::NAN)
                    } else {
                        Some(t / pa)
                    }
                }
                _ => None,
            };
            cols.push((format!("tp_ratio_{ph_name}"), v));
        }
        for c in &carry {
            let v = tum
                .first()
                .and_then(|r| {
                    p.rows
                        .get(&(s.clone(), (*r).clone(), settings.carry_phase.clone()))
                })
                .and_then(|&i| match p.table.column(c) {
                    Ok(ColumnData::Numeric(v)) => v[i],
                    _ => None,
                });
            cols.push(((*c).clone(), v));
        }
        sids.push(s.clone());
        tnames.push(tum.first().map(|x| x.to_string()).unwrap_or_default());
        pnames.push(pan.first().map(|x| x.to_string()).unwrap_or_default());
        rows.push(cols);
    }
    Ok(EnhancementOutput {
        table: frame(
            vec![
                ("study_id", sids),
                ("tumour_roi", tnames),
                ("pancreas_roi", pnames),
            ],
            &rows,
        )?,
        notes,
    })
}

/// Result of [`join_clinical`].
#[derive(Debug, Clone)]
pub struct JoinOutput {
    pub table: DataFrame,
    /// Study ids of `features` without a clinical row (their clinical columns are null).
    pub unmatched_features: Vec<String>,
    /// Study ids of `clinical` that are not in `features` (dropped).
    pub unmatched_clinical: Vec<String>,
}

/// Left-join per-study clinical columns onto `features` by `study_id` (compared as
/// text; numbers without a decimal point). Clinical columns whose names already exist
/// in `features` are an error.
pub fn join_clinical(features: &DataFrame, clinical: &DataFrame) -> Result<JoinOutput> {
    let f = Table::from_dataframe(features)?;
    let c = Table::from_dataframe(clinical)?;
    let fid = f.column("study_id")?;
    let cid = c
        .column("study_id")
        .map_err(|e| Error::Invalid(format!("clinical table: {e}")))?;
    let mut index: HashMap<String, usize> = HashMap::new();
    for i in 0..c.nrows {
        if let Some(id) = cid.label(i) {
            if index.insert(id.clone(), i).is_some() {
                return Err(Error::Invalid(format!(
                    "clinical table lists study_id '{id}' more than once"
                )));
            }
        }
    }
    let dup: Vec<&String> = c
        .names
        .iter()
        .filter(|n| *n != "study_id" && f.has(n))
        .collect();
    if !dup.is_empty() {
        return Err(Error::Invalid(format!(
            "clinical columns also present in the feature table: {}",
            dup.iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let map: Vec<Option<usize>> = (0..f.nrows)
        .map(|i| fid.label(i).and_then(|id| index.get(&id).copied()))
        .collect();
    let mut unmatched_features: Vec<String> = (0..f.nrows)
        .filter(|&i| map[i].is_none())
        .filter_map(|i| fid.label(i))
        .collect();
    unmatched_features.dedup();
    let fids: std::collections::HashSet<String> =
        (0..f.nrows).filter_map(|i| fid.label(i)).collect();
    let unmatched_clinical: Vec<String> = (0..c.nrows)
        .filter_map(|i| cid.label(i))
        .filter(|id| !fids.contains(id))
        .collect();
    let mut out = f.clone();
    for (n, col) in c.names.iter().zip(&c.columns) {
        if n == "study_id" {
            continue;
        }
        out.names.push(n.clone());
        out.columns.push(match col {
            ColumnData::Numeric(v) => {
                ColumnData::Numeric(map.iter().map(|m| m.and_then(|i| v[i])).collect())
            }
            ColumnData::Text(v) => {
                ColumnData::Text(map.iter().map(|m| m.and_then(|i| v[i].clone())).collect())
            }
        });
    }
    Ok(JoinOutput {
        table: out.to_dataframe()?,
        unmatched_features,
        unmatched_clinical,
    })
}
