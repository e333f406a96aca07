//! Command-line interface: translates arguments into library calls.

mod extract;
mod filter;
mod inspect;
mod merge;
mod model;
mod report;
mod stats;

use clap::{Parser, Subcommand};

/// ctrad: CT radiomics computed to the IBSI standard.
#[derive(Parser, Debug)]
#[command(name = "ctrad", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

// Parsed once per process: the size difference between variants is irrelevant.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Extract features: a studies folder into one table, or one image and mask into one row.
    Extract(extract::ExtractArgs),
    /// Write the response map of each filter in a parameter file (IBSI 2 filters).
    Filter(filter::FilterArgs),
    /// Show the series (with contrast phase), segmentations and ROIs of a study folder.
    Inspect(inspect::InspectArgs),
    /// Logistic models: fit, predict, evaluate; enhancement tables.
    Model(model::ModelArgs),
    /// Draw a nomogram (SVG) of a fitted model.
    Nomogram(model::NomogramArgs),
    /// Reproducibility (ICC) and feature selection on feature tables.
    Stats(stats::StatsArgs),
    /// An HTML report of a studies folder and its table: overlays, phases, ROI checks, cohort plots.
    Report(report::ReportArgs),
    /// Merge partial tables (e.g. `extract --shard` outputs) into one table.
    Merge(merge::MergeArgs),
}

/// Run the CLI; returns the process exit code.
pub fn run() -> i32 {
    ctrad::parallel::adopt_single_thread();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Extract(args) => extract::run(args),
        Command::Filter(args) => filter::run(args),
        Command::Inspect(args) => inspect::run(args),
        Command::Model(args) => model::run(args),
        Command::Nomogram(args) => model::run_nomogram(args),
        Command::Merge(args) => merge::run(args),
        Command::Report(args) => report::run(args),
        Command::Stats(args) => stats::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            1
        }
    }
}
