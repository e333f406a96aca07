//! `ctrad merge`: partial tables (shards) into one table, identical to a
//! single `ctrad extract` over all their studies.

use clap::Args;
use ctrad::error::Result;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct MergeArgs {
    /// Partial tables written by `ctrad extract` (Parquet; each with its PART.errors.csv beside it).
    #[arg(required = true)]
    pub parts: Vec<PathBuf>,
    /// Merged table (.parquet or .csv); the merged errors go to OUT.errors.csv.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Also write the merged table as CSV.
    #[arg(long)]
    pub csv: Option<PathBuf>,
    /// No summary output.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// Exit code 0, or 2 when the merged errors file lists failed studies (as `extract`).
pub fn run(args: MergeArgs) -> Result<i32> {
    let s = ctrad::merge::merge(&args.parts, &args.output, args.csv.as_deref())?;
    if !args.quiet {
        for p in &s.missing_errors {
            eprintln!(
                "note: {} has no errors file beside it; taken as without failures",
                p.display()
            );
        }
        let (_, errors, _) = ctrad::batch::companion_paths(&args.output);
        eprintln!(
            "merged {} parts ({} without rows): {} studies, {} rows → {}{}",
            s.parts,
            s.empty_parts.len(),
            s.studies,
            s.rows,
            args.output.display(),
            if s.failures > 0 {
                format!("; {} failures in {}", s.failures, errors.display())
            } else {
                String::new()
            }
        );
    }
    Ok(if s.failures > 0 { 2 } else { 0 })
}
