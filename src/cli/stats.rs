//! `ctrad stats …`: reproducibility and feature selection on feature tables.

use clap::{Args, Subcommand};
use ctrad::error::Result;
use ctrad::model::data::read_table;
use ctrad::model::icc::{icc_output, icc_table, IccSpec};
use std::path::PathBuf;

#[derive(Subcommand, Debug)]
pub enum StatsCommand {
    /// Intraclass correlations (six Shrout–Fleiss forms with 95 % CIs) of every feature of a long table.
    Icc(IccArgs),
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

pub fn run(args: StatsArgs) -> Result<i32> {
    match args.command {
        StatsCommand::Icc(a) => icc(a),
    }
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
