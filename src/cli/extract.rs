//! `ctrad extract`.

use clap::{Args, ValueEnum};
use ctrad::error::{Error, Result};
use ctrad::params::Params;
use ctrad::table::{self, Cell, Row};
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Naming {
    /// IBSI feature tags (e.g. `cm_joint_max_3D_avg`).
    Ibsi,
}

#[derive(Args, Debug)]
pub struct ExtractArgs {
    /// Image file (NIfTI or NRRD).
    #[arg(long)]
    pub image: PathBuf,
    /// Mask file (NIfTI or NRRD label map).
    #[arg(long)]
    pub mask: PathBuf,
    /// Label value of the ROI in the mask (default: every non-zero voxel, or the params file's `label`).
    #[arg(long)]
    pub label: Option<i64>,
    /// Parameter file (PyRadiomics YAML layout).
    #[arg(long)]
    pub params: PathBuf,
    /// Column naming scheme.
    #[arg(long, value_enum, default_value = "ibsi")]
    pub naming: Naming,
    /// Output table (.csv or .parquet).
    #[arg(short, long)]
    pub output: PathBuf,
}

pub fn run(args: ExtractArgs) -> Result<i32> {
    let params = Params::from_file(&args.params)?;
    let label = args.label.or(params.label);
    let image = ctrad::io::read_volume(&args.image)?;
    let mask = ctrad::io::read_volume(&args.mask)?.select(label);
    let out = ctrad::pipeline::extract(image, mask, &params, &args.image, &args.mask)?;
    let Naming::Ibsi = args.naming;
    let row = Row {
        ids: vec![
            ("image".into(), Cell::Text(args.image.display().to_string())),
            ("mask".into(), Cell::Text(args.mask.display().to_string())),
            ("label".into(), label.map_or(Cell::Null, Cell::Int)),
            ("roi_voxel_count".into(), Cell::Int(out.roi_voxels as i64)),
            ("ctrad_version".into(), Cell::Text(ctrad::VERSION.into())),
            ("params_hash".into(), Cell::Text(params.hash())),
        ],
        features: out.features,
    };
    let mut df = table::to_dataframe(&[row])?;
    let metadata = vec![
        ("ctrad_version".to_string(), ctrad::VERSION.to_string()),
        ("ctrad_params".to_string(), params.source_text.clone()),
    ];
    table::write_table(&mut df, &args.output, &metadata)?;
    if !args.output.exists() {
        return Err(Error::Invalid(format!(
            "{} was not written",
            args.output.display()
        )));
    }
    Ok(0)
}
