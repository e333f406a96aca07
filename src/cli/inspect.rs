//! `ctrad inspect`: what a study folder holds.

use clap::Args;
use ctrad::error::Result;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct InspectArgs {
    /// Study folder (one patient).
    pub study_dir: PathBuf,
}

pub fn run(args: InspectArgs) -> Result<i32> {
    let study = ctrad::study::discover(&args.study_dir)?;
    print!("{}", ctrad::study::describe(&study));
    print!("{}", ctrad::study::describe_cross_phase(&study));
    Ok(0)
}
