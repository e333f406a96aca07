//! `ctrad model …` and `ctrad nomogram`.

use clap::{Args, Subcommand};
use ctrad::enhancement::{self, EnhancementSettings};
use ctrad::error::{Error, Result};
use ctrad::model::data::{read_dataframe, read_table};
use ctrad::model::logistic::Penalty;
use ctrad::model::nomogram::{self, AxisRange};
use ctrad::model::preset::{self, FitChoices, Preset};
use ctrad::model::{dca, evaluate, svg, LogisticModel};
use std::path::{Path, PathBuf};

#[derive(Subcommand, Debug)]
pub enum ModelCommand {
    /// Fit a binary logistic regression and write model.json.
    Fit(FitArgs),
    /// Linear predictor and probability for every row of a table.
    Predict(PredictArgs),
    /// Discrimination and calibration (AUC with DeLong and bootstrap CIs, optimism, calibration, HL).
    Evaluate(EvaluateArgs),
    /// Decision curve analysis: net benefit per threshold of each model, treat-all and treat-none.
    Dca(DcaArgs),
    /// Per-study enhancement measures from a long feature table, optionally joined with clinical data.
    Enhancement(EnhancementArgs),
}

#[derive(Args, Debug)]
pub struct ModelArgs {
    #[command(subcommand)]
    pub command: ModelCommand,
}

#[derive(Args, Debug)]
pub struct FitArgs {
    /// Modelling table (.csv or .parquet), one row per study.
    #[arg(long)]
    pub table: PathBuf,
    /// Preset YAML naming outcome, predictors and penalty (pipelines/models/*.yaml); flags override it.
    #[arg(long)]
    pub preset: Option<PathBuf>,
    /// Outcome column (0/1 or two levels).
    #[arg(long)]
    pub outcome: Option<String>,
    /// Outcome value to code as the event (1).
    #[arg(long)]
    pub event: Option<String>,
    /// Predictor columns, comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub predictors: Vec<String>,
    /// Also use the `selected` features of a selection.json from `ctrad stats select`.
    #[arg(long)]
    pub predictors_from: Option<PathBuf>,
    /// Numeric columns to treat as categorical (text columns always are).
    #[arg(long, value_delimiter = ',')]
    pub categorical: Vec<String>,
    #[arg(long, value_enum)]
    pub penalty: Option<Penalty>,
    /// Penalty strength λ (default: chosen by k-fold cross-validation).
    #[arg(long)]
    pub lambda: Option<f64>,
    /// Penalise z-scored predictors (coefficients are still reported on the original scale).
    #[arg(long)]
    pub standardize: bool,
    /// Folds for choosing λ.
    #[arg(long, default_value_t = 10)]
    pub cv_folds: usize,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Exclude rows with a missing outcome or predictor (default: error).
    #[arg(long)]
    pub drop_missing: bool,
    /// Units, e.g. `morph_diam=mm,tp_ratio_portal_venous=ratio`.
    #[arg(long, value_delimiter = ',')]
    pub units: Vec<String>,
    #[arg(short, long)]
    pub output: PathBuf,
}

#[derive(Args, Debug)]
pub struct PredictArgs {
    #[arg(long)]
    pub model: PathBuf,
    #[arg(long)]
    pub table: PathBuf,
    /// Write the whole input table with the prediction columns added (e.g. a rad-score
    /// for a combined model) instead of the id and the predictions only.
    #[arg(long)]
    pub append: bool,
    /// Name of the linear-predictor column (e.g. `radscore`).
    #[arg(long, default_value = "linear_predictor")]
    pub lp_column: String,
    /// Name of the probability column; `none` leaves it out (with --append).
    #[arg(long, default_value = "probability")]
    pub probability_column: String,
    #[arg(short, long)]
    pub output: PathBuf,
}

#[derive(Args, Debug)]
pub struct EvaluateArgs {
    #[arg(long)]
    pub model: PathBuf,
    #[arg(long)]
    pub table: PathBuf,
    /// Outcome column of the table (default: the model's outcome).
    #[arg(long)]
    pub outcome: Option<String>,
    /// Bootstrap resamples for the AUC CI and the optimism correction (0 = none).
    #[arg(long, default_value_t = 1000)]
    pub bootstrap: usize,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    #[arg(long)]
    pub roc_svg: Option<PathBuf>,
    #[arg(long)]
    pub calibration_svg: Option<PathBuf>,
    #[arg(short, long)]
    pub output: PathBuf,
}

#[derive(Args, Debug)]
pub struct DcaArgs {
    /// A fitted model (repeatable); its curve is named after the file (without .json).
    #[arg(long)]
    pub model: Vec<PathBuf>,
    /// A column of the table that already holds a predicted probability (repeatable).
    #[arg(long)]
    pub probability: Vec<String>,
    #[arg(long)]
    pub table: PathBuf,
    /// Outcome column (default: the first model's outcome).
    #[arg(long)]
    pub outcome: Option<String>,
    /// Outcome value that is the event (only without --model; models carry their coding).
    #[arg(long)]
    pub event: Option<String>,
    /// Threshold probabilities FROM:TO:STEP.
    #[arg(long, default_value = "0.01:0.99:0.01")]
    pub thresholds: String,
    /// Population prevalence for case-control data (default: the table's event rate).
    #[arg(long)]
    pub prevalence: Option<f64>,
    /// Bootstrap resamples for 95 % percentile CIs of the net benefit (0 = none).
    #[arg(long, default_value_t = 0)]
    pub bootstrap: usize,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Also draw the curves.
    #[arg(long)]
    pub svg: Option<PathBuf>,
    /// Output table (.csv or .parquet): threshold, model, net_benefit, …
    #[arg(short, long)]
    pub output: PathBuf,
}

#[derive(Args, Debug)]
pub struct EnhancementArgs {
    /// Long feature table (study_id, phase, roi, roi_mean_hu or stat_mean).
    #[arg(long)]
    pub table: PathBuf,
    /// Per-study clinical table (CSV/Parquet with study_id) to join.
    #[arg(long)]
    pub clinical: Option<PathBuf>,
    /// Enhancement settings YAML (tumour_pattern, pancreas_pattern, carry_features, carry_phase).
    #[arg(long)]
    pub settings: Option<PathBuf>,
    /// Write the per-study × ROI long table instead of the wide per-study table.
    #[arg(long)]
    pub long: bool,
    #[arg(short, long)]
    pub output: PathBuf,
}

#[derive(Args, Debug)]
pub struct NomogramArgs {
    #[arg(long)]
    pub model: PathBuf,
    /// Range of numeric axes: training min–max, or the rms datadist display quantiles.
    #[arg(long, value_enum, default_value = "minmax")]
    pub axis_range: AxisRange,
    #[arg(long)]
    pub points_csv: Option<PathBuf>,
    #[arg(short, long)]
    pub output: PathBuf,
}

/// A model preset (pipelines/models/*.yaml). `name`, `description` and `notes` document the preset.
/// Tables derived from feature tables carry the ctrad version that made them.
pub fn version_metadata() -> Vec<(String, String)> {
    vec![("ctrad_version".to_string(), ctrad::VERSION.to_string())]
}

fn write_text(path: &Path, text: &str) -> Result<()> {
    ctrad::io::atomic::write_text(path, text)
}

pub fn run(args: ModelArgs) -> Result<i32> {
    match args.command {
        ModelCommand::Fit(a) => fit(a),
        ModelCommand::Predict(a) => predict(a),
        ModelCommand::Evaluate(a) => evaluate_cmd(a),
        ModelCommand::Enhancement(a) => enhancement_cmd(a),
        ModelCommand::Dca(a) => dca_cmd(a),
    }
}

fn fit(mut a: FitArgs) -> Result<i32> {
    if let Some(p) = &a.predictors_from {
        a.predictors.extend(ctrad::model::select::read_selected(p)?);
    }
    let preset = a.preset.as_deref().map(Preset::read).transpose()?;
    let spec = preset::fit_spec(
        preset,
        FitChoices {
            outcome: a.outcome,
            event: a.event,
            predictors: a.predictors,
            categorical: a.categorical,
            penalty: a.penalty,
            lambda: a.lambda,
            standardize: a.standardize,
            cv_folds: a.cv_folds,
            seed: a.seed,
            drop_missing: a.drop_missing,
            units: a.units,
        },
    )?;
    let table = read_table(&a.table)?;
    let model = ctrad::model::fit_table(&table, &spec)?;
    model.save(&a.output)?;
    eprintln!(
        "fitted {} on n = {} ({} events, event = '{}'); {}",
        model.outcome,
        model.training.n,
        model.training.events,
        model.outcome_event,
        ctrad::model::DISCLAIMER
    );
    if model.training.dropped_missing > 0 {
        eprintln!(
            "dropped {} rows with missing values",
            model.training.dropped_missing
        );
    }
    Ok(0)
}

fn predict(a: PredictArgs) -> Result<i32> {
    let model = LogisticModel::load(&a.model)?;
    let table = read_table(&a.table)?;
    let (out, missing) = if a.append {
        let prob = (a.probability_column != "none").then_some(a.probability_column.as_str());
        model.append_predictions(&table, &a.lp_column, prob)?
    } else {
        let (mut out, missing) = model.prediction_table(&table)?;
        let k = out.names.len();
        out.names[k - 2] = a.lp_column.clone();
        out.names[k - 1] = a.probability_column.clone();
        if a.probability_column == "none" {
            out.names.pop();
            out.columns.pop();
        }
        (out, missing)
    };
    if missing > 0 {
        eprintln!("{missing} rows have missing predictors: their prediction is empty");
    }
    let mut df = out.to_dataframe()?;
    ctrad::table::write_table(&mut df, &a.output, &version_metadata())?;
    Ok(0)
}

fn evaluate_cmd(a: EvaluateArgs) -> Result<i32> {
    let model = LogisticModel::load(&a.model)?;
    let table = read_table(&a.table)?;
    let outcome = a.outcome.unwrap_or_else(|| model.outcome.clone());
    let ycol = table.column(&outcome)?;
    let complete = model.complete_rows(&table)?;
    let rows: Vec<usize> = complete
        .into_iter()
        .filter(|&i| !ycol.is_missing(i))
        .collect();
    let dropped = table.nrows - rows.len();
    if dropped > 0 {
        eprintln!("excluded {dropped} rows with a missing outcome or predictor");
    }
    let y = ctrad::model::encode_outcome_like(&model, ycol, &rows)?;
    let x = model.design(&table, &rows)?;
    let report = evaluate::evaluate(&model, &x, &y, a.bootstrap, a.seed, dropped)?;
    let text = serde_json::to_string_pretty(&report).map_err(|e| Error::Invalid(e.to_string()))?;
    write_text(&a.output, &(text + "\n"))?;
    if let Some(p) = &a.roc_svg {
        write_text(
            p,
            &svg::roc_svg(&report.roc, report.auc, report.auc_ci_delong),
        )?;
    }
    if let Some(p) = &a.calibration_svg {
        write_text(
            p,
            &svg::calibration_svg(
                &report.hosmer_lemeshow.table,
                report.calibration_slope,
                report.calibration_intercept,
            ),
        )?;
    }
    eprintln!(
        "AUC {:.3} (DeLong 95% CI {:.3}-{:.3}){}",
        report.auc,
        report.auc_ci_delong[0],
        report.auc_ci_delong[1],
        report
            .optimism_corrected_auc
            .map(|o| format!(", optimism-corrected {o:.3}"))
            .unwrap_or_default()
    );
    Ok(0)
}

fn dca_cmd(a: DcaArgs) -> Result<i32> {
    let models: Vec<(String, LogisticModel)> = a
        .model
        .iter()
        .map(|p| {
            let name = p
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| p.display().to_string());
            LogisticModel::load(p).map(|m| (name, m))
        })
        .collect::<Result<_>>()?;
    let table = read_table(&a.table)?;
    let thresholds = dca::parse_thresholds(&a.thresholds)?;
    let inputs = dca::dca_inputs(
        &table,
        &models,
        &a.probability,
        a.outcome.as_deref(),
        a.event.as_deref(),
    )?;
    if inputs.dropped > 0 {
        eprintln!(
            "excluded {} rows with a missing outcome, predictor or probability",
            inputs.dropped
        );
    }
    let d = dca::dca(
        &inputs.models,
        &inputs.y,
        &thresholds,
        a.prevalence,
        a.bootstrap,
        a.seed,
    )?;
    if d.bootstrap_skipped > 0 {
        eprintln!(
            "{} of {} bootstrap resamples had a single outcome class and were skipped",
            d.bootstrap_skipped, a.bootstrap
        );
    }
    let mut df = dca::dca_output(&d).to_dataframe()?;
    ctrad::table::write_table(&mut df, &a.output, &version_metadata())?;
    if let Some(p) = &a.svg {
        write_text(p, &dca::dca_svg(&d))?;
    }
    eprintln!(
        "decision curves of {} strategies on n = {} ({} events)",
        d.curves.len(),
        d.n,
        d.events
    );
    Ok(0)
}

fn enhancement_cmd(a: EnhancementArgs) -> Result<i32> {
    let settings = match &a.settings {
        Some(p) => EnhancementSettings::from_yaml(
            &std::fs::read_to_string(p).map_err(|e| Error::io(p, e))?,
        )?,
        None => EnhancementSettings::default(),
    };
    let df = read_dataframe(&a.table)?;
    let out = if a.long {
        enhancement::enhancement_long(&df)?
    } else {
        enhancement::enhancement_wide(&df, &settings)?
    };
    for n in &out.notes {
        eprintln!("note: {n}");
    }
    let mut table = out.table;
    if let Some(c) = &a.clinical {
        let j = enhancement::join_clinical(&table, &read_dataframe(c)?)?;
        if !j.unmatched_features.is_empty() {
            eprintln!(
                "studies without clinical data: {}",
                j.unmatched_features.join(", ")
            );
        }
        if !j.unmatched_clinical.is_empty() {
            eprintln!(
                "clinical rows without features (dropped): {}",
                j.unmatched_clinical.join(", ")
            );
        }
        table = j.table;
    }
    ctrad::table::write_table(&mut table, &a.output, &version_metadata())?;
    Ok(0)
}

pub fn run_nomogram(a: NomogramArgs) -> Result<i32> {
    let model = LogisticModel::load(&a.model)?;
    let nomo = nomogram::build(&model, a.axis_range)?;
    write_text(&a.output, &nomogram::render_svg(&model, &nomo))?;
    if let Some(p) = &a.points_csv {
        write_text(p, &nomogram::points_csv(&nomo))?;
    }
    Ok(0)
}
