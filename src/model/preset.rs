//! Model presets: predictors and outcome from YAML
//! (`pipelines/models/*.yaml`), merged with command-line choices into a
//! [`FitSpec`]. A preset never carries coefficients: those come from the
//! user's own cohort.

use super::logistic::Penalty;
use super::FitSpec;
use crate::error::{Error, Result};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// A preset file.
#[derive(Debug, Deserialize, Default, Clone, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Preset {
    pub name: Option<String>,
    pub description: Option<String>,
    pub outcome: String,
    pub event: Option<String>,
    pub predictors: Vec<String>,
    #[serde(default)]
    pub categorical: Vec<String>,
    #[serde(default)]
    pub penalty: Penalty,
    pub lambda: Option<f64>,
    #[serde(default)]
    pub standardize: bool,
    #[serde(default)]
    pub units: BTreeMap<String, String>,
    /// Free-text notes (e.g. alternative predictors); ignored by the fit.
    #[serde(default)]
    pub notes: Vec<String>,
}

impl Preset {
    /// Read a preset; errors name the file.
    pub fn read(path: &Path) -> Result<Preset> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        serde_norway::from_str(&text).map_err(|e| Error::params(path, e.to_string()))
    }
}

/// What the user asked for beside (or instead of) a preset; each given value wins.
#[derive(Debug, Default, Clone)]
pub struct FitChoices {
    pub outcome: Option<String>,
    pub event: Option<String>,
    pub predictors: Vec<String>,
    pub categorical: Vec<String>,
    pub penalty: Option<Penalty>,
    pub lambda: Option<f64>,
    pub standardize: bool,
    pub cv_folds: usize,
    pub seed: u64,
    pub drop_missing: bool,
    /// `NAME=UNIT` entries.
    pub units: Vec<String>,
}

/// Merge `choices` over `preset` into the fit to run.
pub fn fit_spec(preset: Option<Preset>, choices: FitChoices) -> Result<FitSpec> {
    let p = preset.unwrap_or_default();
    let outcome = choices
        .outcome
        .or((!p.outcome.is_empty()).then(|| p.outcome.clone()))
        .ok_or_else(|| Error::Invalid("--outcome is required (or --preset)".into()))?;
    let mut units: Vec<(String, String)> = p.units.into_iter().collect();
    for u in &choices.units {
        let (k, v) = u
            .split_once('=')
            .ok_or_else(|| Error::Invalid(format!("--units entry '{u}' is not NAME=UNIT")))?;
        units.push((k.to_string(), v.to_string()));
    }
    // The first match is used: the user's units win over the preset's.
    units.reverse();
    Ok(FitSpec {
        outcome,
        predictors: if choices.predictors.is_empty() {
            p.predictors
        } else {
            choices.predictors
        },
        categorical: if choices.categorical.is_empty() {
            p.categorical
        } else {
            choices.categorical
        },
        event: choices.event.or(p.event),
        penalty: choices.penalty.unwrap_or(p.penalty),
        lambda: choices.lambda.or(p.lambda),
        standardize: choices.standardize || p.standardize,
        cv_folds: choices.cv_folds,
        seed: choices.seed,
        drop_missing: choices.drop_missing,
        units,
    })
}
