//! Binary logistic models for clinical-radiomic prediction: fitting
//! ([`logistic`]), honest evaluation ([`evaluate`]) and nomograms ([`nomogram`]).
//!
//! A fitted model is saved as JSON ([`LogisticModel`]): coefficients on the
//! predictors' ORIGINAL scale, their standard errors, Wald statistics, odds ratios,
//! the coding of categorical predictors, predictor ranges/quantiles (for the
//! nomogram), the training summary and the penalty. Nothing in it is clinically
//! validated: a model is fitted to the user's own cohort.

pub mod data;
pub mod dca;
pub mod evaluate;
pub mod icc;
pub mod logistic;
pub mod nomogram;
pub mod preset;
pub mod select;
pub mod stats;
pub mod svg;

use crate::error::{Error, Result};
use data::{ColumnData, Table};
use logistic::{FitOptions, FitProblem, Penalty};
use nalgebra::DMatrix;
use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::path::Path;

/// Disclaimer written into every model file, report and nomogram.
pub const DISCLAIMER: &str =
    "Fitted to the user's cohort; not clinically validated. Not for clinical decisions.";

/// A JSON object that keeps its key order (serde_json's map would sort keys).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OrderedMap<V>(pub Vec<(String, V)>);

impl<V> OrderedMap<V> {
    pub fn get(&self, k: &str) -> Option<&V> {
        self.0.iter().find(|(n, _)| n == k).map(|(_, v)| v)
    }
}

impl<V: Serialize> Serialize for OrderedMap<V> {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for OrderedMap<V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V2<V>(std::marker::PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for V2<V> {
            type Value = OrderedMap<V>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a map")
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut a: A,
            ) -> std::result::Result<Self::Value, A::Error> {
                let mut v = Vec::new();
                while let Some((k, x)) = a.next_entry()? {
                    v.push((k, x));
                }
                Ok(OrderedMap(v))
            }
        }
        d.deserialize_map(V2(std::marker::PhantomData))
    }
}

/// Whether a predictor is a number or a set of levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PredictorKind {
    Numeric,
    Categorical,
}

/// What the model knows about one predictor.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PredictorInfo {
    pub name: String,
    pub kind: PredictorKind,
    /// Unit of the ORIGINAL scale (e.g. "HU", "mm", "ratio", "0/1"), if known.
    pub unit: Option<String>,
    /// Training minimum / maximum (numeric).
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub mean: Option<f64>,
    pub sd: Option<f64>,
    /// Training quantiles q01, q05, q10, q25, q50, q75, q90, q95, q99 (type 7).
    pub quantiles: OrderedMap<f64>,
    /// R rms `datadist` display range: the q and 1−q quantiles with q = 10/max(n, 200).
    pub display_range: Option<[f64; 2]>,
    /// Categorical levels in sorted order; the first is the reference (coded 0 in every dummy).
    pub levels: Vec<String>,
    pub reference_level: Option<String>,
    /// Training count per level.
    pub level_counts: Vec<usize>,
    /// Whether the column held numbers (affects how levels are matched at prediction).
    pub numeric_levels: bool,
}

/// One design column (term): a numeric predictor, or one dummy of a categorical one.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Term {
    /// `A` for a numeric predictor, `A=level` for a dummy.
    pub name: String,
    pub predictor: String,
    pub level: Option<String>,
}

/// Penalty and how λ was chosen.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PenaltyInfo {
    pub kind: Penalty,
    /// λ of the objective ℓ(β)/n − λ·P(β) (P = ½Σβ² for L2, Σ|β| for L1; intercept free).
    pub lambda: f64,
    /// "none", "given" or "cv" (k-fold cross-validated mean deviance, lambda.min).
    pub lambda_selection: String,
    pub cv_folds: Option<usize>,
    pub seed: Option<u64>,
    /// Penalty applied to z-scored predictors (sample SD); coefficients are still reported on the original scale.
    pub standardize: bool,
    pub cv_curve: Vec<logistic::CvPoint>,
}

/// Training summary.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainingSummary {
    pub n: usize,
    pub events: usize,
    pub non_events: usize,
    pub dropped_missing: usize,
    pub log_likelihood: f64,
    pub null_log_likelihood: f64,
    /// AIC = −2ℓ + 2k, k = number of coefficients incl. intercept (unpenalised definition).
    pub aic: f64,
    pub bic: f64,
    pub iterations: usize,
    pub converged: bool,
}

/// A fitted binary logistic model as stored in model.json.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LogisticModel {
    pub model: String,
    pub ctrad_version: String,
    pub disclaimer: String,
    pub outcome: String,
    /// The outcome value coded 1 (the event) and the value coded 0.
    pub outcome_event: String,
    pub outcome_reference: String,
    pub id_column: Option<String>,
    pub predictors: Vec<PredictorInfo>,
    pub terms: Vec<Term>,
    pub intercept: f64,
    pub coefficients: OrderedMap<f64>,
    pub intercept_std_error: Option<f64>,
    pub std_errors: OrderedMap<Option<f64>>,
    pub z_values: OrderedMap<Option<f64>>,
    pub p_values: OrderedMap<Option<f64>>,
    pub odds_ratios: OrderedMap<f64>,
    /// Wald 95 % CI of the odds ratio, exp(β ± 1.959964·SE).
    pub odds_ratio_ci95: OrderedMap<Option<[f64; 2]>>,
    pub penalty: PenaltyInfo,
    pub training: TrainingSummary,
    pub notes: Vec<String>,
}

/// What to fit.
#[derive(Debug, Clone, Default)]
pub struct FitSpec {
    pub outcome: String,
    pub predictors: Vec<String>,
    /// Numeric columns to treat as categorical (text columns always are).
    pub categorical: Vec<String>,
    /// Outcome value to code as 1 (default: 1 for 0/1, the larger of two numbers, the second sorted text level).
    pub event: Option<String>,
    pub penalty: Penalty,
    pub lambda: Option<f64>,
    pub standardize: bool,
    pub cv_folds: usize,
    pub seed: u64,
    pub drop_missing: bool,
    /// Units per predictor (overrides the guess from the column name).
    pub units: Vec<(String, String)>,
}

/// Guess a unit from ctrad's column naming.
pub fn guess_unit(name: &str) -> Option<String> {
    let n = name.to_ascii_lowercase();
    let u = if n.starts_with("hu_")
        || n.starts_with("abs_enh_")
        || n.contains("_hu")
        || n.starts_with("stat_")
    {
        "HU"
    } else if n.starts_with("rel_enh_") || n.starts_with("tp_ratio_") {
        "ratio"
    } else if n.ends_with("_mm") || n.starts_with("morph_diam") {
        "mm"
    } else {
        return None;
    };
    Some(u.to_string())
}

/// Id column written to predictions if present.
pub const ID_COLUMNS: [&str; 3] = ["study_id", "patient_id", "id"];

/// Encode the outcome column as 0/1. Returns (y, event label, reference label).
fn encode_outcome(
    col: &ColumnData,
    name: &str,
    rows: &[usize],
    event: Option<&str>,
) -> Result<(Vec<f64>, String, String)> {
    let mut labels: Vec<String> = rows.iter().filter_map(|&i| col.label(i)).collect();
    let numeric = matches!(col, ColumnData::Numeric(_));
    if numeric {
        labels.sort_by(|a, b| {
            a.parse::<f64>()
                .unwrap_or(0.0)
                .total_cmp(&b.parse::<f64>().unwrap_or(0.0))
        });
    } else {
        labels.sort();
    }
    labels.dedup();
    if labels.len() != 2 {
        return Err(Error::Invalid(format!(
            "outcome '{name}' must have exactly two values (0/1 or two levels); found {}: {}",
            labels.len(),
            labels
                .iter()
                .take(10)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let ev = match event {
        Some(e) => {
            if !labels.iter().any(|l| l == e) {
                return Err(Error::Invalid(format!(
                    "event value '{e}' is not a value of '{name}' ({})",
                    labels.join(", ")
                )));
            }
            e.to_string()
        }
        None => labels[1].clone(),
    };
    let reference = labels
        .iter()
        .find(|l| **l != ev)
        .cloned()
        .unwrap_or_default();
    let y = rows
        .iter()
        .map(|&i| {
            if col.label(i).as_deref() == Some(ev.as_str()) {
                1.0
            } else {
                0.0
            }
        })
        .collect();
    Ok((y, ev, reference))
}

/// Encode the outcome of an evaluation table with a model's event coding.
pub fn encode_outcome_like(
    model: &LogisticModel,
    col: &ColumnData,
    rows: &[usize],
) -> Result<Vec<f64>> {
    let (y, _, _) =
        encode_outcome(col, &model.outcome, rows, Some(&model.outcome_event)).map_err(|e| {
            Error::Invalid(format!(
                "{e} (the model codes '{}' as the event)",
                model.outcome_event
            ))
        })?;
    Ok(y)
}

fn describe_numeric(name: &str, v: &mut [f64], unit: Option<String>) -> PredictorInfo {
    v.sort_by(f64::total_cmp);
    let (mean, var) = stats::mean_var(v);
    let qs = [
        ("q01", 0.01),
        ("q05", 0.05),
        ("q10", 0.10),
        ("q25", 0.25),
        ("q50", 0.5),
        ("q75", 0.75),
        ("q90", 0.9),
        ("q95", 0.95),
        ("q99", 0.99),
    ];
    let q = 10.0 / (v.len().max(200) as f64);
    PredictorInfo {
        name: name.to_string(),
        kind: PredictorKind::Numeric,
        unit,
        min: v.first().copied(),
        max: v.last().copied(),
        mean: Some(mean),
        sd: Some(var.sqrt()),
        quantiles: OrderedMap(
            qs.iter()
                .map(|(k, p)| (k.to_string(), stats::quantile_sorted(v, *p)))
                .collect(),
        ),
        display_range: Some([
            stats::quantile_sorted(v, q),
            stats::quantile_sorted(v, 1.0 - q),
        ]),
        levels: vec![],
        reference_level: None,
        level_counts: vec![],
        numeric_levels: true,
    }
}

impl LogisticModel {
    /// Read model.json.
    pub fn load(path: &Path) -> Result<LogisticModel> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        serde_json::from_str(&text)
            .map_err(|e| Error::format(path, format!("not a ctrad model file: {e}")))
    }

    /// Write model.json (pretty-printed, atomically).
    pub fn save(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self)
            .map_err(|e| Error::Invalid(format!("serialising model: {e}")))?;
        crate::io::atomic::write_text(path, &(text + "\n"))
    }

    /// Predictions for every row of `table`: its identifier column (the first
    /// of [`ID_COLUMNS`] present), `linear_predictor` and `probability`;
    /// rows with a missing predictor get empty predictions. Also returns how
    /// many rows those are.
    pub fn prediction_table(&self, table: &Table) -> Result<(Table, usize)> {
        let lp = self.linear_predictor(table)?;
        let mut out = Table {
            nrows: table.nrows,
            ..Default::default()
        };
        if let Some(id) = ID_COLUMNS.iter().find(|c| table.has(c)) {
            out.names.push(id.to_string());
            out.columns.push(table.column(id)?.clone());
        }
        let ok = |v: f64| if v.is_finite() { Some(v) } else { None };
        out.names.push("linear_predictor".into());
        out.columns
            .push(ColumnData::Numeric(lp.iter().map(|&v| ok(v)).collect()));
        out.names.push("probability".into());
        out.columns.push(ColumnData::Numeric(
            lp.iter().map(|&v| ok(v).map(stats::expit)).collect(),
        ));
        let missing = lp.iter().filter(|v| v.is_nan()).count();
        Ok((out, missing))
    }

    /// `table` with the linear predictor (the rad-score, for a signature
    /// model) as column `lp_name` and, if `probability_name` is given, the
    /// probability; rows with a missing predictor get empty values. Also
    /// returns how many rows those are.
    pub fn append_predictions(
        &self,
        table: &Table,
        lp_name: &str,
        probability_name: Option<&str>,
    ) -> Result<(Table, usize)> {
        let lp = self.linear_predictor(table)?;
        let mut out = table.clone();
        let ok = |v: f64| v.is_finite().then_some(v);
        for (name, values) in std::iter::once((lp_name, lp.iter().map(|&v| ok(v)).collect())).chain(
            probability_name.map(|p| (p, lp.iter().map(|&v| ok(v).map(stats::expit)).collect())),
        ) {
            if out.has(name) {
                return Err(Error::Invalid(format!(
                    "the table already has a column '{name}'; choose another name"
                )));
            }
            out.names.push(name.to_string());
            out.columns.push(ColumnData::Numeric(values));
        }
        Ok((out, lp.iter().filter(|v| v.is_nan()).count()))
    }

    /// Coefficient vector, intercept first, in term order.
    pub fn beta(&self) -> Vec<f64> {
        let mut b = vec![self.intercept];
        b.extend(
            self.terms
                .iter()
                .map(|t| self.coefficients.get(&t.name).copied().unwrap_or(0.0)),
        );
        b
    }

    /// Rows of `table` with every predictor present.
    pub fn complete_rows(&self, table: &Table) -> Result<Vec<usize>> {
        let cols: Vec<&ColumnData> = self
            .predictors
            .iter()
            .map(|p| table.column(&p.name))
            .collect::<Result<_>>()?;
        Ok((0..table.nrows)
            .filter(|&i| cols.iter().all(|c| !c.is_missing(i)))
            .collect())
    }

    /// Design matrix (without intercept) of `rows` of `table`, using the model's coding.
    pub fn design(&self, table: &Table, rows: &[usize]) -> Result<DMatrix<f64>> {
        design_matrix(&self.predictors, &self.terms, table, rows)
    }

    /// Linear predictor for every row; NaN where a predictor is missing.
    pub fn linear_predictor(&self, table: &Table) -> Result<Vec<f64>> {
        let rows = self.complete_rows(table)?;
        let x = self.design(table, &rows)?;
        let b = self.beta();
        let mut lp = vec![f64::NAN; table.nrows];
        for (r, &i) in rows.iter().enumerate() {
            lp[i] = b[0] + (0..x.ncols()).map(|j| x[(r, j)] * b[j + 1]).sum::<f64>();
        }
        Ok(lp)
    }

    /// Refit the same model (predictors, coding, penalty, FIXED λ, standardisation) on
    /// the rows `rows` of `x`/`y`; used by the optimism bootstrap.
    pub fn refit(&self, x: &DMatrix<f64>, y: &[f64]) -> std::result::Result<Vec<f64>, FitProblem> {
        let opt = FitOptions {
            penalty: self.penalty.kind,
            lambda: self.penalty.lambda,
            standardize: self.penalty.standardize,
            max_iter: 100,
        };
        logistic::fit(x, y, None, &opt).map(|f| f.beta)
    }
}

/// Build the design matrix for `predictors`/`terms` on `rows` (which must be complete).
pub fn design_matrix(
    predictors: &[PredictorInfo],
    terms: &[Term],
    table: &Table,
    rows: &[usize],
) -> Result<DMatrix<f64>> {
    let mut x = DMatrix::<f64>::zeros(rows.len(), terms.len());
    for (j, t) in terms.iter().enumerate() {
        let p = predictors
            .iter()
            .find(|p| p.name == t.predictor)
            .ok_or_else(|| Error::Invalid(format!("term '{}' has no predictor", t.name)))?;
        let col = table.column(&p.name)?;
        match (&p.kind, &t.level) {
            (PredictorKind::Numeric, _) => {
                let ColumnData::Numeric(v) = col else {
                    return Err(Error::Invalid(format!(
                        "predictor '{}' must be numeric but the column holds text",
                        p.name
                    )));
                };
                for (r, &i) in rows.iter().enumerate() {
                    x[(r, j)] = v[i].unwrap_or(f64::NAN);
                }
            }
            (PredictorKind::Categorical, Some(level)) => {
                for (r, &i) in rows.iter().enumerate() {
                    let l = col.label(i).unwrap_or_default();
                    if !p.levels.contains(&l) {
                        return Err(Error::Invalid(format!(
                            "predictor '{}' has level '{l}' that the model does not know (levels: {})",
                            p.name,
                            p.levels.join(", ")
                        )));
                    }
                    x[(r, j)] = if &l == level { 1.0 } else { 0.0 };
                }
            }
            (PredictorKind::Categorical, None) => {
                return Err(Error::Invalid(format!(
                    "term '{}' of categorical '{}' lacks a level",
                    t.name, p.name
                )));
            }
        }
    }
    Ok(x)
}

/// Fit a model to `table` as `spec` says.
pub fn fit_table(table: &Table, spec: &FitSpec) -> Result<LogisticModel> {
    if spec.predictors.is_empty() {
        return Err(Error::Invalid("no predictors given".into()));
    }
    let mut seen = std::collections::HashSet::new();
    for p in &spec.predictors {
        if !seen.insert(p) {
            return Err(Error::Invalid(format!("predictor '{p}' is listed twice")));
        }
        if *p == spec.outcome {
            return Err(Error::Invalid(format!(
                "'{p}' is both outcome and predictor"
            )));
        }
    }
    let missing_cols: Vec<&String> = spec
        .predictors
        .iter()
        .chain([&spec.outcome])
        .chain(&spec.categorical)
        .filter(|c| !table.has(c))
        .collect();
    if !missing_cols.is_empty() {
        return Err(Error::Invalid(format!(
            "unknown column(s): {}; available columns: {}",
            missing_cols
                .iter()
                .map(|s| format!("'{s}'"))
                .collect::<Vec<_>>()
                .join(", "),
            table.names.join(", ")
        )));
    }
    // Missing values.
    let ycol = table.column(&spec.outcome)?;
    let pcols: Vec<&ColumnData> = spec
        .predictors
        .iter()
        .map(|p| table.column(p))
        .collect::<Result<_>>()?;
    let rows: Vec<usize> = (0..table.nrows)
        .filter(|&i| !ycol.is_missing(i) && pcols.iter().all(|c| !c.is_missing(i)))
        .collect();
    let dropped = table.nrows - rows.len();
    if dropped > 0 && !spec.drop_missing {
        let mut per: Vec<String> = Vec::new();
        for (name, c) in std::iter::once((&spec.outcome, ycol))
            .chain(spec.predictors.iter().zip(pcols.iter().copied()))
        {
            let k = (0..table.nrows).filter(|&i| c.is_missing(i)).count();
            if k > 0 {
                per.push(format!("'{name}': {k}"));
            }
        }
        return Err(Error::Invalid(format!(
            "{dropped} of {} rows have missing values ({}); pass --drop-missing to exclude them",
            table.nrows,
            per.join(", ")
        )));
    }
    if rows.is_empty() {
        return Err(Error::Invalid("no complete rows to fit".into()));
    }
    let (y, ev, reference) = encode_outcome(ycol, &spec.outcome, &rows, spec.event.as_deref())?;
    let events = y.iter().filter(|&&v| v > 0.5).count();
    let n = rows.len();

    // Predictor coding.
    let mut predictors = Vec::new();
    let mut terms = Vec::new();
    for (name, col) in spec.predictors.iter().zip(&pcols) {
        let unit = spec
            .units
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, u)| u.clone());
        let categorical = matches!(col, ColumnData::Text(_)) || spec.categorical.contains(name);
        if !categorical {
            let ColumnData::Numeric(v) = col else {
                unreachable!()
            };
            let mut vals: Vec<f64> = rows.iter().map(|&i| v[i].unwrap_or(f64::NAN)).collect();
            let mut info = describe_numeric(name, &mut vals, unit.or_else(|| guess_unit(name)));
            if info.min == info.max {
                return Err(Error::Invalid(format!(
                    "predictor '{name}' is constant ({}) in the training rows",
                    info.min.unwrap_or(f64::NAN)
                )));
            }
            if vals.iter().all(|v| *v == 0.0 || *v == 1.0) && info.unit.is_none() {
                info.unit = Some("0/1".into());
            }
            terms.push(Term {
                name: name.clone(),
                predictor: name.clone(),
                level: None,
            });
            predictors.push(info);
        } else {
            let numeric_levels = matches!(col, ColumnData::Numeric(_));
            let mut levels: Vec<String> = rows.iter().filter_map(|&i| col.label(i)).collect();
            if numeric_levels {
                levels.sort_by(|a, b| {
                    a.parse::<f64>()
                        .unwrap_or(0.0)
                        .total_cmp(&b.parse::<f64>().unwrap_or(0.0))
                });
            } else {
                levels.sort();
            }
            levels.dedup();
            if levels.len() < 2 {
                return Err(Error::Invalid(format!(
                    "categorical predictor '{name}' has a single level in the training rows"
                )));
            }
            let counts = levels
                .iter()
                .map(|l| {
                    rows.iter()
                        .filter(|&&i| col.label(i).as_deref() == Some(l))
                        .count()
                })
                .collect();
            for l in levels.iter().skip(1) {
                terms.push(Term {
                    name: format!("{name}={l}"),
                    predictor: name.clone(),
                    level: Some(l.clone()),
                });
            }
            predictors.push(PredictorInfo {
                name: name.clone(),
                kind: PredictorKind::Categorical,
                unit,
                min: None,
                max: None,
                mean: None,
                sd: None,
                quantiles: OrderedMap::default(),
                display_range: None,
                reference_level: Some(levels[0].clone()),
                levels,
                level_counts: counts,
                numeric_levels,
            });
        }
    }
    let x = design_matrix(&predictors, &terms, table, &rows)?;

    // λ.
    let mut opt = FitOptions {
        penalty: spec.penalty,
        lambda: 0.0,
        standardize: spec.standardize,
        max_iter: 100,
    };
    let mut notes = vec![];
    let (selection, curve) = match (spec.penalty, spec.lambda) {
        (Penalty::None, _) => ("none".to_string(), vec![]),
        (_, Some(l)) => {
            if !(l >= 0.0 && l.is_finite()) {
                return Err(Error::Invalid(format!(
                    "--lambda must be a finite number ≥ 0, got {l}"
                )));
            }
            opt.lambda = l;
            ("given".to_string(), vec![])
        }
        (_, None) => {
            let (l, curve) = logistic::choose_lambda(&x, &y, &opt, spec.cv_folds, spec.seed)?;
            opt.lambda = l;
            ("cv".to_string(), curve)
        }
    };
    if spec.penalty != Penalty::None {
        notes.push("Penalised fit: standard errors, z and p values do not give valid frequentist inference.".to_string());
    }
    let fit =
        logistic::fit(&x, &y, None, &opt).map_err(|p| describe_problem(&p, &terms, &x, &y))?;
    if !fit.converged {
        notes.push(format!(
            "The fit did not converge in {} iterations.",
            fit.iterations
        ));
    }

    let se: Vec<Option<f64>> = (0..=terms.len())
        .map(|j| {
            fit.cov
                .as_ref()
                .map(|c| c[(j, j)])
                .filter(|v| *v >= 0.0)
                .map(f64::sqrt)
        })
        .collect();
    let ybar = events as f64 / n as f64;
    let null_ll = if events == 0 || events == n {
        0.0
    } else {
        n as f64 * (ybar * ybar.ln() + (1.0 - ybar) * (1.0 - ybar).ln())
    };
    let k = (terms.len() + 1) as f64;
    let mut coefficients = Vec::new();
    let (mut ses, mut zs, mut ps, mut ors, mut cis) = (vec![], vec![], vec![], vec![], vec![]);
    for (j, t) in terms.iter().enumerate() {
        let b = fit.beta[j + 1];
        let s = se[j + 1];
        let z = s.map(|s| b / s);
        coefficients.push((t.name.clone(), b));
        ses.push((t.name.clone(), s));
        zs.push((t.name.clone(), z));
        ps.push((t.name.clone(), z.map(stats::normal_two_sided_p)));
        ors.push((t.name.clone(), b.exp()));
        cis.push((
            t.name.clone(),
            s.map(|s| [(b - stats::Z_975 * s).exp(), (b + stats::Z_975 * s).exp()]),
        ));
    }
    let id_column = ID_COLUMNS
        .iter()
        .find(|c| table.has(c))
        .map(|s| s.to_string());
    Ok(LogisticModel {
        model: "binary_logistic_regression".into(),
        ctrad_version: crate::VERSION.into(),
        disclaimer: DISCLAIMER.into(),
        outcome: spec.outcome.clone(),
        outcome_event: ev,
        outcome_reference: reference,
        id_column,
        predictors,
        terms,
        intercept: fit.beta[0],
        coefficients: OrderedMap(coefficients),
        intercept_std_error: se[0],
        std_errors: OrderedMap(ses),
        z_values: OrderedMap(zs),
        p_values: OrderedMap(ps),
        odds_ratios: OrderedMap(ors),
        odds_ratio_ci95: OrderedMap(cis),
        penalty: PenaltyInfo {
            kind: spec.penalty,
            lambda: opt.lambda,
            lambda_selection: selection.clone(),
            cv_folds: (selection == "cv").then_some(spec.cv_folds),
            seed: (selection == "cv").then_some(spec.seed),
            standardize: spec.standardize,
            cv_curve: curve,
        },
        training: TrainingSummary {
            n,
            events,
            non_events: n - events,
            dropped_missing: dropped,
            log_likelihood: fit.log_likelihood,
            null_log_likelihood: null_ll,
            aic: -2.0 * fit.log_likelihood + 2.0 * k,
            bic: -2.0 * fit.log_likelihood + k * (n as f64).ln(),
            iterations: fit.iterations,
            converged: fit.converged,
        },
        notes,
    })
}

fn describe_problem(p: &FitProblem, terms: &[Term], x: &DMatrix<f64>, y: &[f64]) -> Error {
    let name = |j: usize| {
        if j == usize::MAX {
            "(intercept)".to_string()
        } else {
            terms[j].name.clone()
        }
    };
    match p {
        FitProblem::Collinear(cols) => Error::Invalid(format!(
            "collinear predictors: X'WX is rank-deficient; these columns are linearly dependent: {} \
             (remove one of them, or use --penalty l2)",
            cols.iter().map(|&j| name(j)).collect::<Vec<_>>().join(", ")
        )),
        FitProblem::Separation { term, extreme, alone } => {
            let how = if *alone {
                let col: Vec<f64> = x.column(*term).iter().copied().collect();
                let (mut lo1, mut hi0) = (f64::INFINITY, f64::NEG_INFINITY);
                for (xi, yi) in col.iter().zip(y) {
                    if *yi > 0.5 {
                        lo1 = lo1.min(*xi);
                    } else {
                        hi0 = hi0.max(*xi);
                    }
                }
                let dir = if hi0 <= lo1 { "every event has a value ≥ every non-event" } else { "every event has a value ≤ every non-event" };
                format!("'{}' alone separates the outcome ({dir})", name(*term))
            } else {
                format!("the coefficient of '{}' diverges", name(*term))
            };
            Error::Invalid(format!(
                "perfect or quasi-complete separation: {how}; {extreme} fitted probabilities are 0 or 1. \
                 Maximum-likelihood estimates do not exist: remove or merge that predictor, or use --penalty l2"
            ))
        }
    }
}
