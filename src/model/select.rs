//! Feature selection for a radiomics signature, step by step, each step fitted
//! on the table it is given (the training set: split first, see [`split`]),
//! reporting what it kept and dropped and why.
//!
//! Steps, in order (each optional except the first):
//!
//! 1. **candidates**: numeric feature columns; a feature with a missing value
//!    in a row with an outcome, or with a single value, is dropped.
//! 2. **icc**: keep features whose ICC of the chosen type (from `ctrad stats
//!    icc`) is ≥ the minimum; a feature without an ICC, or with NaN, is dropped.
//! 3. **univariate**: two-sided Mann–Whitney U test of each feature between
//!    events and non-events (normal approximation with tie correction and
//!    continuity correction, as scipy's `mannwhitneyu(method="asymptotic")`):
//!    U₁ = R₁ − n₁(n₁+1)/2, U = max(U₁, n₁n₂ − U₁),
//!    σ² = n₁n₂/12·((n+1) − Σ(t³ − t)/(n(n−1))) over tie groups t,
//!    z = (U − n₁n₂/2 − ½)/σ, p = min(1, 2·(1 − Φ(z))); Benjamini–Hochberg
//!    q-values over the features entering the step; keep q ≤ FDR.
//! 4. **correlation**: features in order of increasing Mann–Whitney p (then
//!    name); a feature whose |Pearson r| with an already kept one exceeds the
//!    maximum is dropped, naming that feature.
//! 5. **mrmr**: minimum-redundancy maximum-relevance ranking (Ding & Peng 2005,
//!    the "FCQ" variant of mrmr-selection's `mrmr_classif`): relevance is the
//!    one-way ANOVA F statistic between the outcome groups, redundancy the
//!    |Pearson r| (floored at 0.001); at each step the feature maximising
//!    relevance / mean redundancy with the already selected ones is taken
//!    (a mean of exactly 1 counts as infinite; ties go to the earlier column).
//!    Features with F = 0 are never selected. The first K are kept.
//! 6. **lasso**: L1-penalised logistic regression on the z-scored features
//!    with λ chosen by seeded stratified k-fold cross-validation (mean
//!    held-out deviance, [`super::logistic::choose_lambda`]); features with a
//!    non-zero coefficient are kept.

use super::data::{ColumnData, Table};
use super::evaluate::{auc, midranks};
use super::logistic::{self, FitOptions, Penalty};
use super::stats::{normal_two_sided_p, SplitMix64};
use super::{encode_outcome, ID_COLUMNS};
use crate::error::{Error, Result};
use nalgebra::DMatrix;
use serde::Serialize;
use std::collections::BTreeMap;

/// What to select and how.
#[derive(Debug, Clone, Default)]
pub struct SelectSpec {
    pub outcome: String,
    pub event: Option<String>,
    /// Globs on column names (default: every numeric column except the outcome and id columns).
    pub features: Vec<String>,
    /// (feature → ICC, ICC type name, minimum).
    pub icc: Option<(BTreeMap<String, f64>, String, f64)>,
    /// Benjamini–Hochberg FDR of the Mann–Whitney step.
    pub fdr: Option<f64>,
    pub max_corr: Option<f64>,
    pub mrmr: Option<usize>,
    /// (folds, seed) of the LASSO step.
    pub lasso: Option<(usize, u64)>,
}

/// A feature a step dropped, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Dropped {
    pub feature: String,
    pub reason: String,
}

/// One step's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub step: String,
    pub settings: BTreeMap<String, serde_json::Value>,
    pub n_in: usize,
    pub kept: Vec<String>,
    pub dropped: Vec<Dropped>,
    /// Per-feature values of the step (e.g. p and q, mRMR score, coefficient), for kept and dropped.
    pub values: BTreeMap<String, BTreeMap<String, f64>>,
}

/// The whole selection as written to selection.json.
#[derive(Debug, Clone, Serialize)]
pub struct Selection {
    pub ctrad_version: String,
    pub outcome: String,
    pub outcome_event: String,
    pub n: usize,
    pub events: usize,
    pub rows_without_outcome: usize,
    pub steps: Vec<Step>,
    pub selected: Vec<String>,
    pub note: String,
}

/// Pearson correlation of two equally long samples (NaN when one is constant).
pub fn pearson(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        sab += (x - ma) * (y - mb);
        saa += (x - ma) * (x - ma);
        sbb += (y - mb) * (y - mb);
    }
    sab / (saa * sbb).sqrt()
}

/// Two-sided Mann–Whitney p-value of `x` between `y` = 1 and `y` = 0
/// (asymptotic, tie- and continuity-corrected; see the module doc).
pub fn mann_whitney_p(x: &[f64], y: &[bool]) -> f64 {
    let n = x.len() as f64;
    let n1 = y.iter().filter(|&&e| e).count() as f64;
    let n2 = n - n1;
    let r = midranks(x);
    let r1: f64 = r.iter().zip(y).filter(|(_, &e)| e).map(|(r, _)| r).sum();
    let u1 = r1 - n1 * (n1 + 1.0) / 2.0;
    let u = u1.max(n1 * n2 - u1);
    let mut sorted = x.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mut ties = 0.0;
    let mut i = 0;
    while i < sorted.len() {
        let mut j = i;
        while j < sorted.len() && sorted[j] == sorted[i] {
            j += 1;
        }
        let t = (j - i) as f64;
        ties += t * t * t - t;
        i = j;
    }
    let s = (n1 * n2 / 12.0 * ((n + 1.0) - ties / (n * (n - 1.0)))).sqrt();
    let z = (u - n1 * n2 / 2.0 - 0.5) / s;
    if z <= 0.0 {
        1.0
    } else {
        normal_two_sided_p(z).min(1.0)
    }
}

/// Benjamini–Hochberg adjusted p-values (q-values), in the input order.
pub fn benjamini_hochberg(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    let mut q = vec![0.0; m];
    let mut running = f64::INFINITY;
    for (rank, &i) in order.iter().enumerate().rev() {
        running = running.min(p[i] * m as f64 / (rank + 1) as f64);
        q[i] = running.min(1.0);
    }
    q
}

/// One-way ANOVA F statistic of `x` between the groups `y` (scikit-learn's `f_classif`).
pub fn anova_f(x: &[f64], y: &[bool]) -> f64 {
    let n = x.len() as f64;
    let mean = x.iter().sum::<f64>() / n;
    let mut between = 0.0;
    let mut within = 0.0;
    for g in [true, false] {
        let v: Vec<f64> = x
            .iter()
            .zip(y)
            .filter(|(_, &e)| e == g)
            .map(|(v, _)| *v)
            .collect();
        if v.is_empty() {
            continue;
        }
        let m = v.iter().sum::<f64>() / v.len() as f64;
        between += v.len() as f64 * (m - mean) * (m - mean);
        within += v.iter().map(|x| (x - m) * (x - m)).sum::<f64>();
    }
    between / (within / (n - 2.0))
}

/// mRMR ranking of `features` (columns of `x`) as mrmr-selection's
/// `mrmr_classif` with its defaults; returns (feature index, score) of the first `k`.
pub fn mrmr(x: &[Vec<f64>], y: &[bool], k: usize) -> Vec<(usize, f64)> {
    const FLOOR: f64 = 0.001;
    let relevance: Vec<f64> = x
        .iter()
        .map(|c| {
            let f = anova_f(c, y);
            if f.is_nan() {
                0.0
            } else {
                f
            }
        })
        .collect();
    let mut candidates: Vec<usize> = (0..x.len()).filter(|&j| relevance[j] > 0.0).collect();
    let k = k.min(candidates.len());
    // redundancy[j] = |r| of candidate j with each selected feature, in selection order.
    let mut redundancy: Vec<Vec<f64>> = vec![Vec::new(); x.len()];
    let mut selected: Vec<(usize, f64)> = Vec::with_capacity(k);
    for step in 0..k {
        if let Some(&(last, _)) = selected.last() {
            for &j in &candidates {
                let r = pearson(&x[j], &x[last]).abs();
                redundancy[j].push(if r.is_nan() { FLOOR } else { r.max(FLOOR) });
            }
        }
        let mut best: Option<(usize, f64)> = None;
        for (pos, &j) in candidates.iter().enumerate() {
            let score = if step == 0 {
                relevance[j]
            } else {
                let mean = redundancy[j].iter().sum::<f64>() / redundancy[j].len() as f64;
                relevance[j] / if mean == 1.0 { f64::INFINITY } else { mean }
            };
            if best.is_none_or(|(_, s)| score > s) {
                best = Some((pos, score));
            }
        }
        let (pos, score) = best.expect("k ≤ number of candidates");
        selected.push((candidates.remove(pos), score));
    }
    selected
}

fn column_values(table: &Table, name: &str, rows: &[usize]) -> Result<Vec<Option<f64>>> {
    match table.column(name)? {
        ColumnData::Numeric(v) => Ok(rows
            .iter()
            .map(|&i| v[i].filter(|x| x.is_finite()))
            .collect()),
        ColumnData::Text(_) => Err(Error::Invalid(format!("column '{name}' is not numeric"))),
    }
}

fn num(v: f64) -> serde_json::Value {
    serde_json::Number::from_f64(v).map_or(serde_json::Value::Null, serde_json::Value::Number)
}

fn step(name: &str, n_in: usize) -> Step {
    Step {
        step: name.into(),
        settings: BTreeMap::new(),
        n_in,
        kept: vec![],
        dropped: vec![],
        values: BTreeMap::new(),
    }
}

/// Run the selection on every row of `table` that has an outcome.
pub fn select(table: &Table, spec: &SelectSpec) -> Result<Selection> {
    let ycol = table.column(&spec.outcome)?;
    let rows: Vec<usize> = (0..table.nrows).filter(|&i| !ycol.is_missing(i)).collect();
    let (yv, event, _) = encode_outcome(ycol, &spec.outcome, &rows, spec.event.as_deref())?;
    let y: Vec<bool> = yv.iter().map(|&v| v > 0.5).collect();
    let events = y.iter().filter(|&&e| e).count();
    if events < 2 || rows.len() - events < 2 {
        return Err(Error::Invalid(format!(
            "selection needs at least 2 events and 2 non-events; the {} rows have {events} events",
            rows.len()
        )));
    }
    let mut exclude: Vec<String> = ID_COLUMNS.iter().map(|s| s.to_string()).collect();
    exclude.push(spec.outcome.clone());
    let names = super::icc::numeric_columns(table, &spec.features, &exclude)?;

    // 1. candidates.
    let mut s = step("candidates", names.len());
    let mut data: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let mut current: Vec<String> = Vec::new();
    for name in &names {
        let v = column_values(table, name, &rows)?;
        let missing = v.iter().filter(|x| x.is_none()).count();
        if missing > 0 {
            s.dropped.push(Dropped {
                feature: name.clone(),
                reason: format!("{missing} missing or non-finite values"),
            });
            continue;
        }
        let v: Vec<f64> = v.into_iter().flatten().collect();
        if v.iter().all(|x| *x == v[0]) {
            s.dropped.push(Dropped {
                feature: name.clone(),
                reason: "constant".into(),
            });
            continue;
        }
        current.push(name.clone());
        data.insert(name.clone(), v);
    }
    s.kept = current.clone();
    let mut steps = vec![s];

    // 2. ICC.
    if let Some((icc, kind, min)) = &spec.icc {
        let mut s = step("icc", current.len());
        s.settings.insert("type".into(), kind.clone().into());
        s.settings.insert("min".into(), num(*min));
        let mut next = Vec::new();
        for name in &current {
            match icc.get(name) {
                None => s.dropped.push(Dropped {
                    feature: name.clone(),
                    reason: "not in the ICC table".into(),
                }),
                Some(v) if v.is_nan() => s.dropped.push(Dropped {
                    feature: name.clone(),
                    reason: format!("{kind} undefined (NaN)"),
                }),
                Some(&v) => {
                    s.values
                        .insert(name.clone(), BTreeMap::from([("icc".to_string(), v)]));
                    if v >= *min {
                        next.push(name.clone());
                    } else {
                        s.dropped.push(Dropped {
                            feature: name.clone(),
                            reason: format!("{kind} {v:.3} < {min}"),
                        });
                    }
                }
            }
        }
        current = next;
        s.kept = current.clone();
        steps.push(s);
    }

    // Mann–Whitney p of every remaining feature: the univariate filter and the correlation order.
    let p: BTreeMap<String, f64> = current
        .iter()
        .map(|n| (n.clone(), mann_whitney_p(&data[n], &y)))
        .collect();

    // 3. univariate.
    if let Some(fdr) = spec.fdr {
        let mut s = step("univariate", current.len());
        s.settings.insert("test".into(), "mann-whitney".into());
        s.settings.insert("fdr".into(), num(fdr));
        let ps: Vec<f64> = current.iter().map(|n| p[n]).collect();
        let q = benjamini_hochberg(&ps);
        let mut next = Vec::new();
        for ((name, &pv), &qv) in current.iter().zip(&ps).zip(&q) {
            let a = auc(&data[name], &yv);
            s.values.insert(
                name.clone(),
                BTreeMap::from([("p".into(), pv), ("q".into(), qv), ("auc".into(), a)]),
            );
            if qv <= fdr {
                next.push(name.clone());
            } else {
                s.dropped.push(Dropped {
                    feature: name.clone(),
                    reason: format!("Mann–Whitney q = {qv:.3e} > {fdr} (p = {pv:.3e})"),
                });
            }
        }
        current = next;
        s.kept = current.clone();
        steps.push(s);
    }

    // 4. correlation.
    if let Some(max) = spec.max_corr {
        let mut s = step("correlation", current.len());
        s.settings.insert("max_abs_pearson".into(), num(max));
        s.settings
            .insert("order".into(), "increasing Mann–Whitney p".into());
        let mut order = current.clone();
        order.sort_by(|a, b| p[a].total_cmp(&p[b]).then(a.cmp(b)));
        let mut kept: Vec<String> = Vec::new();
        for name in order {
            let clash = kept
                .iter()
                .map(|k| (k, pearson(&data[&name], &data[k])))
                .find(|(_, r)| r.abs() > max);
            match clash {
                Some((k, r)) => s.dropped.push(Dropped {
                    feature: name.clone(),
                    reason: format!("|r| = {:.3} with {k} (kept: smaller p)", r.abs()),
                }),
                None => kept.push(name),
            }
        }
        // Keep the table's column order in the output.
        current.retain(|n| kept.contains(n));
        s.kept = current.clone();
        steps.push(s);
    }

    // 5. mRMR.
    if let Some(k) = spec.mrmr {
        let mut s = step("mrmr", current.len());
        s.settings.insert("k".into(), k.into());
        s.settings.insert(
            "relevance".into(),
            "ANOVA F; redundancy mean |Pearson r|".into(),
        );
        let x: Vec<Vec<f64>> = current.iter().map(|n| data[n].clone()).collect();
        let ranking = mrmr(&x, &y, k);
        let mut next = Vec::new();
        for (rank, (j, score)) in ranking.iter().enumerate() {
            next.push(current[*j].clone());
            s.values.insert(
                current[*j].clone(),
                BTreeMap::from([("rank".into(), (rank + 1) as f64), ("score".into(), *score)]),
            );
        }
        for name in &current {
            if !next.contains(name) {
                let f = anova_f(&data[name], &y);
                s.dropped.push(Dropped {
                    feature: name.clone(),
                    reason: if f > 0.0 {
                        format!("not among the first {k} of the mRMR ranking")
                    } else {
                        "no relevance (F = 0)".into()
                    },
                });
            }
        }
        current = next;
        s.kept = current.clone();
        steps.push(s);
    }

    // 6. LASSO.
    if let Some((folds, seed)) = spec.lasso {
        let mut s = step("lasso", current.len());
        s.settings.insert("folds".into(), folds.into());
        s.settings.insert("seed".into(), seed.into());
        s.settings.insert("standardize".into(), true.into());
        if current.is_empty() {
            s.settings
                .insert("skipped".into(), "no feature left to fit".into());
        } else {
            let n = rows.len();
            let x = DMatrix::from_fn(n, current.len(), |i, j| data[&current[j]][i]);
            let opt = FitOptions {
                penalty: Penalty::L1,
                lambda: 0.0,
                standardize: true,
                max_iter: 100,
            };
            let (lambda, _) = logistic::choose_lambda(&x, &yv, &opt, folds, seed)?;
            let fit = logistic::fit(&x, &yv, None, &FitOptions { lambda, ..opt })
                .map_err(|_| Error::Invalid("the LASSO fit failed".into()))?;
            s.settings.insert("lambda".into(), num(lambda));
            let mut next = Vec::new();
            for (j, name) in current.iter().enumerate() {
                let b = fit.beta[j + 1];
                let sd = super::stats::mean_var(&data[name]).1.sqrt();
                s.values.insert(
                    name.clone(),
                    BTreeMap::from([
                        ("coefficient".into(), b),
                        ("standardized_coefficient".into(), b * sd),
                    ]),
                );
                if b != 0.0 {
                    next.push(name.clone());
                } else {
                    s.dropped.push(Dropped {
                        feature: name.clone(),
                        reason: format!("zero LASSO coefficient at λ = {lambda:.4e}"),
                    });
                }
            }
            current = next;
        }
        s.kept = current.clone();
        steps.push(s);
    }

    Ok(Selection {
        ctrad_version: crate::VERSION.into(),
        outcome: spec.outcome.clone(),
        outcome_event: event,
        n: rows.len(),
        events,
        rows_without_outcome: table.nrows - rows.len(),
        steps,
        selected: current,
        note: "Every step was fitted on this table only: give it the training set.".into(),
    })
}

/// The `selected` features of a selection.json.
pub fn read_selected(path: &std::path::Path) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let v: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| Error::format(path, format!("not JSON: {e}")))?;
    let sel = v
        .get("selected")
        .and_then(|s| s.as_array())
        .ok_or_else(|| Error::format(path, "no 'selected' list (not a ctrad selection.json)"))?;
    let names: Vec<String> = sel
        .iter()
        .map(|s| {
            s.as_str()
                .map(str::to_string)
                .ok_or_else(|| Error::format(path, "'selected' holds a non-text entry"))
        })
        .collect::<Result<_>>()?;
    if names.is_empty() {
        return Err(Error::format(path, "the selection kept no feature"));
    }
    Ok(names)
}

/// A seeded train/test split stratified by the outcome: in each outcome class
/// the rows are shuffled and the first round(fraction × class size) go to the
/// test set. Rows without an outcome go to neither. Returns (train, test) row
/// indices in table order.
pub fn split(
    table: &Table,
    outcome: &str,
    test_fraction: f64,
    seed: u64,
) -> Result<(Vec<usize>, Vec<usize>)> {
    if !(test_fraction > 0.0 && test_fraction < 1.0) {
        return Err(Error::Invalid(format!(
            "--test-fraction must be strictly between 0 and 1, got {test_fraction}"
        )));
    }
    let ycol = table.column(outcome)?;
    let rows: Vec<usize> = (0..table.nrows).filter(|&i| !ycol.is_missing(i)).collect();
    // One row per subject: a repeated id means the table is still long (phases, ROIs).
    if let Some(id) = ID_COLUMNS.iter().find(|c| table.has(c)) {
        let idc = table.column(id)?;
        let mut seen = std::collections::HashSet::new();
        if let Some(dup) = rows
            .iter()
            .filter_map(|&i| idc.label(i))
            .find(|l| !seen.insert(l.clone()))
        {
            return Err(Error::Invalid(format!(
                "{id} '{dup}' occurs in more than one row: a split needs one row per subject \
                 (choose one phase and ROI, e.g. --where phase=portal_venous --where roi=Tumour_R1)"
            )));
        }
    }
    let mut levels: Vec<String> = rows.iter().filter_map(|&i| ycol.label(i)).collect();
    levels.sort();
    levels.dedup();
    if levels.len() != 2 {
        return Err(Error::Invalid(format!(
            "the split is stratified by a binary outcome; '{outcome}' has {} values",
            levels.len()
        )));
    }
    let mut rng = SplitMix64::new(seed);
    let mut test = Vec::new();
    for l in &levels {
        let mut idx: Vec<usize> = rows
            .iter()
            .copied()
            .filter(|&i| ycol.label(i).as_deref() == Some(l))
            .collect();
        rng.shuffle(&mut idx);
        let k = (test_fraction * idx.len() as f64).round() as usize;
        test.extend_from_slice(&idx[..k]);
    }
    test.sort_unstable();
    let train: Vec<usize> = rows
        .iter()
        .copied()
        .filter(|i| test.binary_search(i).is_err())
        .collect();
    if train.is_empty() || test.is_empty() {
        return Err(Error::Invalid(format!(
            "a test fraction of {test_fraction} leaves an empty train or test set ({} rows)",
            rows.len()
        )));
    }
    Ok((train, test))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bh_and_mann_whitney_by_hand() {
        // Sorted p·m/rank = 0.04, 0.06, 0.0533, 0.2; running minimum from the top.
        let q = benjamini_hochberg(&[0.01, 0.04, 0.03, 0.2]);
        let want = [
            0.04,
            0.053_333_333_333_333_33,
            0.053_333_333_333_333_33,
            0.2,
        ];
        for (a, b) in q.iter().zip(want) {
            assert!((a - b).abs() < 1e-15, "{q:?}");
        }
        // Complete separation of 3 vs 3 without ties: U = 9, σ² = 9/12·7 = 5.25,
        // z = (9 − 4.5 − 0.5)/√5.25.
        let p = mann_whitney_p(
            &[4.0, 5.0, 6.0, 1.0, 2.0, 3.0],
            &[true, true, true, false, false, false],
        );
        let z: f64 = 4.0 / 5.25f64.sqrt();
        assert!((p - normal_two_sided_p(z)).abs() < 1e-15);
    }

    #[test]
    fn mrmr_prefers_relevant_unredundant() {
        // f0 informative, f1 ≈ f0 (redundant), f2 as informative with its own noise.
        let y: Vec<bool> = (0..40).map(|i| i % 2 == 0).collect();
        let f0: Vec<f64> = (0..40)
            .map(|i| (i % 2) as f64 * 3.0 + (i % 7) as f64 * 0.3)
            .collect();
        let f1: Vec<f64> = f0
            .iter()
            .enumerate()
            .map(|(i, v)| v + (i % 3) as f64 * 0.01)
            .collect();
        let f2: Vec<f64> = (0..40)
            .map(|i| (i % 2) as f64 * 3.0 + ((i * 3) % 7) as f64 * 0.3)
            .collect();
        let r = mrmr(&[f0, f1, f2], &y, 2);
        assert!(r[0].0 < 2, "{r:?}");
        assert_eq!(
            r[1].0, 2,
            "the independent feature beats the redundant copy: {r:?}"
        );
    }

    #[test]
    fn split_is_stratified_and_seeded() {
        let y: Vec<Option<f64>> = (0..50).map(|i| Some((i % 5 == 0) as u8 as f64)).collect();
        let t = Table {
            names: vec!["y".into()],
            columns: vec![ColumnData::Numeric(y)],
            nrows: 50,
        };
        let (tr, te) = split(&t, "y", 0.3, 9).unwrap();
        assert_eq!(tr.len() + te.len(), 50);
        assert_eq!(te.iter().filter(|&&i| i % 5 == 0).count(), 3); // 30 % of 10 events
        assert_eq!(te.len(), 15);
        assert_eq!(split(&t, "y", 0.3, 9).unwrap().1, te);
        assert_ne!(split(&t, "y", 0.3, 10).unwrap().1, te);
    }
}
