//! `ctrad filter`: write the response map of each configured filter.

use clap::Args;
use ctrad::error::{Error, Result};
use ctrad::params::Params;
use std::path::{Path, PathBuf};

#[derive(Args, Debug)]
pub struct FilterArgs {
    /// Image: NIfTI/NRRD file or DICOM series folder.
    #[arg(long)]
    pub image: PathBuf,
    /// Parameter file with a `filters:` list (and optional rounding/resampling settings).
    #[arg(long)]
    pub params: PathBuf,
    /// Output map (.nii, .nii.gz, .nrrd); with several filters each map gets
    /// `_<filter name>` before the extension.
    #[arg(short, long)]
    pub output: PathBuf,
}

pub fn run(args: FilterArgs) -> Result<i32> {
    let params = Params::from_file(&args.params)?;
    let image = ctrad::inputs::load_image(&args.image)?;
    let maps = ctrad::pipeline::response_maps(image.volume, &params)?;
    let several = maps.len() > 1;
    for (name, map) in &maps {
        let path = if several {
            with_suffix(&args.output, name)?
        } else {
            args.output.clone()
        };
        ctrad::io::write_volume(&path, map)?;
        eprintln!("{name}: {}", path.display());
    }
    Ok(0)
}

/// `maps/out.nii.gz` + `log_s1mm` → `maps/out_log_s1mm.nii.gz`.
fn with_suffix(path: &Path, name: &str) -> Result<PathBuf> {
    let file = path
        .file_name()
        .and_then(|f| f.to_str())
        .ok_or_else(|| Error::Invalid(format!("{}: not a file name", path.display())))?;
    let split = [".nii.gz", ".nii", ".nrrd", ".nhdr"]
        .iter()
        .find_map(|ext| {
            file.to_ascii_lowercase()
                .ends_with(ext)
                .then(|| file.len() - ext.len())
        })
        .ok_or_else(|| {
            Error::Invalid(format!(
                "{}: the output must end in .nii, .nii.gz, .nrrd or .nhdr",
                path.display()
            ))
        })?;
    Ok(path.with_file_name(format!("{}_{name}{}", &file[..split], &file[split..])))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffix_goes_before_the_extension() {
        assert_eq!(
            with_suffix(Path::new("m/out.nii.gz"), "log_s1mm").unwrap(),
            PathBuf::from("m/out_log_s1mm.nii.gz")
        );
        assert_eq!(
            with_suffix(Path::new("out.nrrd"), "mean_s5").unwrap(),
            PathBuf::from("out_mean_s5.nrrd")
        );
        assert!(with_suffix(Path::new("out.png"), "x").is_err());
    }
}
