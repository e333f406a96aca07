//! `ctrad stats …`: reproducibility and feature selection on feature tables.

use clap::{Args, Subcommand};
use ctrad::error::{Error, Result};
use ctrad::model::data::{read_dataframe, read_table};
use ctrad::model::icc::{icc_output, icc_table, read_icc_values, IccSpec};
use ctrad::model::select::SelectSpec;
use std::path::PathBuf;

#[derive(Subcommand, Debug)]
pub enum StatsCommand {
    /// Intraclass correlations (six Shrout–Fleiss forms with 95 % CIs) of every feature of a long table.
    Icc(IccArgs),
    /// Feature selection (ICC filter, Mann–Whitney with FDR, correlation pruning, mRMR, LASSO) reported in selection.json.
    Select(SelectArgs),
    /// Seeded train/test split stratified by the outcome.
    Split(SplitArgs),
}

#[derive(Args, Debug)]
pub struct StatsArgs {
    #[command(subcommand)]
    pub command: StatsCommand,
}

#[derive(Args, Debug)]
pub struct IccArgs {
    /// Long feature table (.csv or .parquet): one row per subject × rater.
    #[arg(long)]
    pub table: PathBuf,
    /// Columns that together identify a subject, comma-separated (e.g. `study_id,phase`).
    #[arg(long, value_delimiter = ',', required = true)]
    pub subject: Vec<String>,
    /// Column naming the rater (e.g. `roi` for Tumour_R1/Tumour_R2, `reader`, `perturbation`).
    #[arg(long)]
    pub rater: String,
    /// Rater values to use, comma-separated (default: every value of the rater column).
    #[arg(long, value_delimiter = ',')]
    pub raters: Vec<String>,
    /// Feature columns: a glob on column names (`*`, `?`), repeatable (default: every numeric column).
    #[arg(long)]
    pub features: Vec<String>,
    /// Output table (.csv or .parquet): feature, type, icc, ci_low, ci_high, f, df1, df2, p_value, n_subjects, n_raters, note.
    #[arg(short, long)]
    pub output: PathBuf,
}

#[derive(Args, Debug)]
pub struct SelectArgs {
    /// Training table (.csv or .parquet), one row per subject, with the outcome.
    #[arg(long)]
    pub table: PathBuf,
    /// Outcome column (0/1 or two levels).
    #[arg(long)]
    pub outcome: String,
    /// Outcome value that is the event.
    #[arg(long)]
    pub event: Option<String>,
    /// Candidate features: a glob on column names, repeatable (default: every numeric column but the outcome and ids).
    #[arg(long)]
    pub features: Vec<String>,
    /// ICC table from `ctrad stats icc`: keep features with ICC ≥ --icc-min.
    #[arg(long)]
    pub icc: Option<PathBuf>,
    #[arg(long, default_value = "ICC2")]
    pub icc_type: String,
    #[arg(long, default_value_t = 0.75)]
    pub icc_min: f64,
    /// Univariate filter: `mann-whitney` (two-sided, Benjamini–Hochberg q ≤ --fdr).
    #[arg(long, value_parser = ["mann-whitney"])]
    pub univariate: Option<String>,
    #[arg(long, default_value_t = 0.05)]
    pub fdr: f64,
    /// Drop a feature whose |Pearson r| with a better (smaller p) kept feature exceeds this.
    #[arg(long)]
    pub max_corr: Option<f64>,
    /// Keep the first K features of the mRMR ranking.
    #[arg(long)]
    pub mrmr: Option<usize>,
    /// LASSO-logistic on the z-scored features, λ by k-fold CV; keep non-zero coefficients.
    #[arg(long)]
    pub lasso: bool,
    #[arg(long, default_value_t = 10)]
    pub folds: usize,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// selection.json.
    #[arg(short, long)]
    pub output: PathBuf,
}

#[derive(Args, Debug)]
pub struct SplitArgs {
    #[arg(long)]
    pub table: PathBuf,
    /// Keep only rows where COL equals VALUE (repeatable), e.g. `roi=Tumour_R1`.
    #[arg(long = "where", value_name = "COL=VALUE")]
    pub conditions: Vec<String>,
    /// Per-study clinical table (CSV/Parquet with study_id) joined onto the rows first.
    #[arg(long)]
    pub clinical: Option<PathBuf>,
    /// Outcome column to stratify by.
    #[arg(long)]
    pub outcome: String,
    #[arg(long, default_value_t = 0.3)]
    pub test_fraction: f64,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Training rows (.csv or .parquet).
    #[arg(long)]
    pub train: PathBuf,
    /// Test rows (.csv or .parquet).
    #[arg(long)]
    pub test: PathBuf,
}

pub fn run(args: StatsArgs) -> Result<i32> {
    match args.command {
        StatsCommand::Icc(a) => icc(a),
        StatsCommand::Select(a) => select(a),
        StatsCommand::Split(a) => split(a),
    }
}

fn select(a: SelectArgs) -> Result<i32> {
    let table = read_table(&a.table)?;
    let icc = match &a.icc {
        Some(p) => Some((
            read_icc_values(&read_table(p)?, &a.icc_type)?,
            a.icc_type.clone(),
            a.icc_min,
        )),
        None => None,
    };
    let spec = SelectSpec {
        outcome: a.outcome,
        event: a.event,
        features: a.features,
        icc,
        fdr: a.univariate.is_some().then_some(a.fdr),
        max_corr: a.max_corr,
        mrmr: a.mrmr,
        lasso: a.lasso.then_some((a.folds, a.seed)),
    };
    let sel = ctrad::model::select::select(&table, &spec)?;
    let text = serde_json::to_string_pretty(&sel).map_err(|e| Error::Invalid(e.to_string()))?;
    ctrad::io::atomic::write_text(&a.output, &(text + "\n"))?;
    for s in &sel.steps {
        eprintln!("{:<12} {:>5} in, {:>5} kept", s.step, s.n_in, s.kept.len());
    }
    eprintln!("selected: {}", sel.selected.join(", "));
    Ok(0)
}

fn split(a: SplitArgs) -> Result<i32> {
    let conditions: Vec<(String, String)> = a
        .conditions
        .iter()
        .map(|c| {
            c.split_once('=')
                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                .ok_or_else(|| Error::Invalid(format!("--where '{c}': expected COL=VALUE")))
        })
        .collect::<Result<_>>()?;
    let mut table = read_table(&a.table)?.filter_eq(&conditions)?;
    if let Some(c) = &a.clinical {
        let j = ctrad::enhancement::join_clinical(&table.to_dataframe()?, &read_dataframe(c)?)?;
        if !j.unmatched_features.is_empty() {
            eprintln!(
                "studies without clinical data (no outcome, left out): {}",
                j.unmatched_features.join(", ")
            );
        }
        table = ctrad::model::data::Table::from_dataframe(&j.table)?;
    }
    let (train, test) = ctrad::model::select::split(&table, &a.outcome, a.test_fraction, a.seed)?;
    let meta = super::model::version_metadata();
    ctrad::table::write_table(&mut table.take(&train).to_dataframe()?, &a.train, &meta)?;
    ctrad::table::write_table(&mut table.take(&test).to_dataframe()?, &a.test, &meta)?;
    let dropped = table.nrows - train.len() - test.len();
    eprintln!(
        "train {} rows, test {} rows{}",
        train.len(),
        test.len(),
        if dropped > 0 {
            format!(" ({dropped} rows without an outcome left out)")
        } else {
            String::new()
        }
    );
    Ok(0)
}

fn icc(a: IccArgs) -> Result<i32> {
    let table = read_table(&a.table)?;
    let spec = IccSpec {
        subject: a.subject,
        rater: a.rater,
        raters: a.raters,
        features: a.features,
    };
    let rows = icc_table(&table, &spec)?;
    let degenerate = rows.iter().filter(|r| r.result.note.is_some()).count();
    let mut df =
        icc_output(&rows).to_dataframe_with_ints(&["df1", "df2", "n_subjects", "n_raters"])?;
    ctrad::table::write_table(&mut df, &a.output, &super::model::version_metadata())?;
    eprintln!(
        "{} features, {} raters; {} with a note (constant or degenerate)",
        rows.len(),
        rows.first().map_or(0, |r| r.n_raters),
        degenerate
    );
    Ok(0)
}
