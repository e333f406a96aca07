//! `ctrad extract`: one image + mask into a one-row table, or a whole studies
//! folder (or manifest) into one table.

use clap::{Args, ValueEnum};
use ctrad::batch::{self, BatchOptions, Progress};
use ctrad::cross_phase::{CrossPhase, MaskSource};
use ctrad::error::{Error, Result};
use ctrad::params::Params;
use ctrad::study::Phase;
use ctrad::table::{self, Cell};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Naming {
    /// IBSI feature tags (e.g. `cm_joint_max_3D_avg`).
    Ibsi,
    /// PyRadiomics names (e.g. `original_glcm_JointEnergy`) where a counterpart exists.
    Pyradiomics,
}

impl From<Naming> for ctrad::naming::Naming {
    fn from(n: Naming) -> Self {
        match n {
            Naming::Ibsi => ctrad::naming::Naming::Ibsi,
            Naming::Pyradiomics => ctrad::naming::Naming::PyRadiomics,
        }
    }
}

#[derive(Args, Debug)]
pub struct ExtractArgs {
    /// Studies folder: one sub-folder per patient (batch mode).
    pub studies_dir: Option<PathBuf>,
    /// PyRadiomics batch CSV (`Image,Mask[,Label]`) instead of a studies folder.
    #[arg(long, conflicts_with_all = ["studies_dir", "image"])]
    pub manifest: Option<PathBuf>,
    /// Image: NIfTI/NRRD file or DICOM series folder (single-study mode).
    #[arg(long, requires = "mask", conflicts_with = "studies_dir")]
    pub image: Option<PathBuf>,
    /// Mask: NIfTI/NRRD label map, RTSTRUCT or DICOM SEG file (single-study mode).
    #[arg(long, requires = "image")]
    pub mask: Option<PathBuf>,
    /// Label value of the ROI in a label map (default: every non-zero voxel, or the params file's `label`).
    #[arg(long)]
    pub label: Option<i64>,
    /// ROI: RTSTRUCT ROI name or SEG segment number/label (single-study mode);
    /// in batch mode, a name pattern (`*`, `?`; case-insensitive; repeatable).
    #[arg(long = "roi")]
    pub roi: Vec<String>,
    /// Contrast phases to extract in batch mode (repeatable): unenhanced, arterial, portal_venous, delayed, unknown.
    #[arg(long = "phase")]
    pub phase: Vec<String>,
    /// Parameter file (PyRadiomics YAML layout); default: the bundled
    /// PanNET CT settings (pipelines/studies/pannet_ct.yaml).
    #[arg(long)]
    pub params: Option<PathBuf>,
    /// Column naming scheme.
    #[arg(long, value_enum, default_value = "ibsi")]
    pub naming: Naming,
    /// Output table (.csv or .parquet).
    #[arg(short, long)]
    pub output: PathBuf,
    /// Also write the table as CSV (batch mode).
    #[arg(long)]
    pub csv: Option<PathBuf>,
    /// Worker threads across studies (batch mode; default: all cores).
    #[arg(long, short = 'j')]
    pub jobs: Option<usize>,
    /// Recompute studies already done.
    #[arg(long)]
    pub force: bool,
    /// No progress output.
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// Process only shard K of N (`K/N`), for cluster runs.
    #[arg(long)]
    pub shard: Option<String>,
    /// How a segmentation of one phase is used on a series without its own
    /// (batch mode): same-grid (only the same voxel grid), map (by patient
    /// coordinates), register (map after a local rigid alignment).
    /// Overrides the parameter file's `crossPhase`.
    #[arg(long, value_name = "POLICY")]
    pub cross_phase: Option<String>,
    /// Also write the HTML report of the run (batch mode on a studies folder).
    #[arg(long, value_name = "HTML")]
    pub report: Option<PathBuf>,
    #[command(flatten)]
    pub report_settings: super::report::ReportSettings,
}

pub fn run(args: ExtractArgs) -> Result<i32> {
    if args.report.is_some() && args.studies_dir.is_none() {
        return Err(Error::Invalid(
            "--report needs a studies folder (not --manifest or --image/--mask)".into(),
        ));
    }
    let mut params = match &args.params {
        Some(p) => Params::from_file(p)?,
        None => {
            let params = Params::bundled_default()?;
            if !args.quiet {
                eprintln!(
                    "no --params given: using the bundled PanNET CT default ({})",
                    ctrad::params::BUNDLED_DEFAULT_NAME
                );
            }
            params
        }
    };
    if let Some(p) = &args.cross_phase {
        params.cross_phase = CrossPhase::parse(p).ok_or_else(|| {
            Error::Invalid(format!(
                "--cross-phase '{p}': expected same-grid, map or register"
            ))
        })?;
    }
    match (&args.image, &args.mask) {
        (Some(image), Some(mask)) => single(&args, image.clone(), mask.clone(), params),
        _ => run_batch(&args, params),
    }
}

fn single(
    args: &ExtractArgs,
    image_path: PathBuf,
    mask_path: PathBuf,
    params: Params,
) -> Result<i32> {
    if args.roi.len() > 1 {
        return Err(Error::Invalid("single-study mode takes one --roi".into()));
    }
    let label = args.label.or(params.effective_label());
    let image = ctrad::inputs::ImageSource::open(&image_path)?;
    let roi = ctrad::inputs::load_roi_box(
        &mask_path,
        &image,
        args.roi.first().map(String::as_str),
        label,
    )?;
    let series_uid = image.series_uid();
    let rois = [roi];
    let mut rows = Vec::new();
    for r in ctrad::pipeline::extract_roi_rows(&image, &rois, &params)? {
        let out = r.result?;
        let roi = &rois[r.roi];
        let mut source = vec![
            ("image".into(), Cell::Text(image_path.display().to_string())),
            ("mask".into(), Cell::Text(mask_path.display().to_string())),
            ("label".into(), label.map_or(Cell::Null, Cell::Int)),
            ("roi".into(), Cell::Text(roi.roi.clone())),
            ("series_instance_uid".into(), Cell::Text(series_uid.clone())),
            (
                "segmentation_uid".into(),
                Cell::Text(roi.segmentation_uid.clone()),
            ),
        ];
        // The mask given is the row's own, as batch rows of the same policy say.
        if params.cross_phase != CrossPhase::SameGrid {
            source.extend(table::mask_source_columns(&MaskSource::Own));
        }
        if let Some((repeat, draw)) = r.perturbation {
            source.push(("perturbation".into(), Cell::Int(repeat as i64)));
            source.push(("perturbation_draw".into(), Cell::Text(draw)));
        }
        rows.push(table::extraction_row(
            source,
            out,
            &params,
            args.naming.into(),
        ));
    }
    let mut df = table::to_dataframe(&rows)?;
    let metadata = table::table_metadata(&params);
    table::write_table(&mut df, &args.output, &metadata)?;
    Ok(0)
}

fn run_batch(args: &ExtractArgs, params: Params) -> Result<i32> {
    let cases = match (&args.studies_dir, &args.manifest) {
        (Some(dir), None) => batch::cases_from_dir(dir)?,
        (None, Some(m)) => batch::cases_from_manifest(m)?,
        _ => {
            return Err(Error::Invalid(
                "give a studies folder, --manifest FILE, or --image and --mask".into(),
            ))
        }
    };
    let phases = args
        .phase
        .iter()
        .map(|p| Phase::parse(p).ok_or_else(|| Error::Invalid(format!("unknown phase '{p}'"))))
        .collect::<Result<Vec<_>>>()?;
    let shard = args.shard.as_deref().map(batch::parse_shard).transpose()?;
    let progress = if args.quiet {
        Progress::Quiet
    } else if std::io::stderr().is_terminal() {
        Progress::Bar
    } else {
        Progress::Log
    };
    let jobs = args
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let opts = BatchOptions {
        params,
        jobs,
        roi_patterns: args.roi.clone(),
        phases,
        force: args.force,
        progress,
        shard,
        naming: args.naming.into(),
    };
    let interrupt = Arc::new(AtomicBool::new(false));
    {
        let flag = interrupt.clone();
        let _ = ctrlc::set_handler(move || {
            if flag.swap(true, Ordering::SeqCst) {
                std::process::exit(130);
            }
            eprintln!("\ninterrupted: finishing the studies in progress (Ctrl-C again to abort)");
        });
    }
    let started = std::time::Instant::now();
    let summary = batch::run(cases, &opts, &args.output, args.csv.as_deref(), &interrupt)?;
    let (_, errors_path, _) = batch::companion_paths(&args.output);
    if summary.interrupted {
        eprintln!(
            "interrupted after {} of {} studies; finished studies are kept — rerun the same command to resume",
            summary.computed + summary.reused,
            summary.cases
        );
        return Ok(130);
    }
    if !args.quiet {
        eprintln!(
            "{} studies: {} computed, {} reused, {} failed; {} rows → {} in {:.1} s{}",
            summary.cases,
            summary.computed,
            summary.reused,
            summary.failed,
            summary.rows,
            args.output.display(),
            started.elapsed().as_secs_f64(),
            if summary.failed > 0 {
                format!(" (failures in {})", errors_path.display())
            } else {
                String::new()
            }
        );
    }
    if let (Some(report), Some(dir)) = (&args.report, &args.studies_dir) {
        let opts = args.report_settings.options(Some(jobs))?;
        let started = std::time::Instant::now();
        let s = ctrad::report::write_report(dir, &args.output, report, &opts)?;
        if !args.quiet {
            super::report::print_summary(&s, started);
        }
    }
    Ok(if summary.failed > 0 { 2 } else { 0 })
}
