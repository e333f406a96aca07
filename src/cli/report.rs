//! `ctrad report`: the HTML report of a studies folder and its feature table.

use clap::Args;
use ctrad::error::{Error, Result};
use ctrad::report::{ReportOptions, Window};
use std::path::PathBuf;

/// Report settings shared by `ctrad report` and `ctrad extract --report`.
#[derive(Args, Debug, Clone)]
pub struct ReportSettings {
    /// Display window in HU as WIDTH/LEVEL (abdomen: 400/40).
    #[arg(long, default_value = "400/40")]
    pub window: String,
    /// Feature columns to plot against the cohort (`*`, `?`; repeatable;
    /// e.g. `cm_*` for a family); default: a few key features.
    #[arg(long = "feature")]
    pub features: Vec<String>,
    /// Put each study on its own page when one file would exceed this size.
    #[arg(long, default_value_t = 64.0)]
    pub max_mb: f64,
}

impl ReportSettings {
    pub fn options(&self, jobs: Option<usize>) -> Result<ReportOptions> {
        let bad = || {
            Error::Invalid(format!(
                "--window '{}': expected WIDTH/LEVEL in HU, e.g. 400/40",
                self.window
            ))
        };
        let (w, l) = self.window.split_once('/').ok_or_else(bad)?;
        let width: f64 = w.trim().parse().map_err(|_| bad())?;
        let level: f64 = l.trim().parse().map_err(|_| bad())?;
        if !(width > 0.0 && width.is_finite() && level.is_finite()) {
            return Err(bad());
        }
        let mut o = ReportOptions {
            window: Window { width, level },
            features: self.features.clone(),
            max_single_file_mb: self.max_mb,
            ..ReportOptions::default()
        };
        if let Some(j) = jobs {
            o.jobs = j;
        }
        Ok(o)
    }
}

#[derive(Args, Debug)]
pub struct ReportArgs {
    /// Studies folder (one sub-folder per patient), as given to `ctrad extract`.
    pub studies_dir: PathBuf,
    /// Feature table written by `ctrad extract` (Parquet or CSV).
    #[arg(long)]
    pub table: PathBuf,
    /// Errors file (default: the one beside the table, `<table>.errors.csv`).
    #[arg(long)]
    pub errors: Option<PathBuf>,
    /// Output HTML file.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Worker threads (default: all cores).
    #[arg(long, short = 'j')]
    pub jobs: Option<usize>,
    #[command(flatten)]
    pub settings: ReportSettings,
}

pub fn run(args: ReportArgs) -> Result<i32> {
    let mut opts = args.settings.options(args.jobs)?;
    opts.errors = args.errors.clone();
    let started = std::time::Instant::now();
    let s = ctrad::report::write_report(&args.studies_dir, &args.table, &args.output, &opts)?;
    print_summary(&s, started);
    Ok(0)
}

pub fn print_summary(s: &ctrad::report::ReportSummary, started: std::time::Instant) {
    eprintln!(
        "report: {} studies, {} entries ({} computed, {} failed, {} flagged) → {} ({:.1} MB{}) in {:.1} s",
        s.studies,
        s.entries,
        s.computed,
        s.failed,
        s.flagged,
        s.files[0].display(),
        s.bytes as f64 / 1e6,
        if s.files.len() > 1 {
            format!(", {} study pages", s.files.len() - 1)
        } else {
            String::new()
        },
        started.elapsed().as_secs_f64()
    );
}
