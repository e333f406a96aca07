//! The report a radiologist reads: one self-contained HTML file showing, for
//! every study × phase × ROI, which series and phase a row came from (and
//! the evidence for the phase), the contour over the CT in three planes, and
//! what looks wrong across the cohort.
//!
//! `ctrad report STUDIES_DIR --table T -o report.html` re-discovers each
//! study ([`crate::study::discover`]), matches the table's rows and the
//! errors file's failures to its series and ROIs, and for each series × ROI
//! reads only the ROI's box with a margin ([`ImageSource::read_box`]) to draw
//! the axial, coronal and sagittal slices of largest ROI area
//! ([`view::render`]) and measure the ROI's voxel count, volume and mean HU.
//! Studies are processed in parallel.
//!
//! Everything is inline — PNG images as base64 `data:` URLs, plots as SVG,
//! a small script for filtering and sorting — so the file opens offline in
//! any browser. When the study pages together exceed
//! [`ReportOptions::max_single_file_mb`], each study goes to its own
//! (equally self-contained) page in `<stem>_studies/`, linked from the
//! cohort page.
//!
//! Flags (see [`flags`]) mark what deserves a look: cohort outliers by a
//! robust z-score, an enhanced phase darker than the unenhanced one, an ROI
//! touching the volume's edge, a tiny or empty ROI, a segmentation used on
//! another series' grid, an unknown phase in a multi-phase study, failures.

pub mod flags;
mod html;
pub mod view;

use crate::cross_phase;
use crate::error::{Error, Result};
use crate::inputs::{self, ImageSource, RoiBox};
use crate::study::{self, Phase, PhaseSource, SegmentationKind, SeriesSource, Study};
use crate::table::outputs::{companion_paths, read_failures, Failure};
use crate::volume::{Geometry, Volume};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
pub use view::{Plane, Window};

/// Key features shown per study by default, as (IBSI tag, PyRadiomics name):
/// the first present in the table of each pair is used.
pub const KEY_FEATURES: [(&str, &str); 6] = [
    ("morph_volume", "original_shape_MeshVolume"),
    ("morph_sphericity", "original_shape_Sphericity"),
    ("stat_mean", "original_firstorder_Mean"),
    ("stat_var", "original_firstorder_Variance"),
    ("stat_skew", "original_firstorder_Skewness"),
    ("cm_joint_entr_3D_avg", "original_glcm_JointEntropy"),
];

/// At most this many feature distributions are drawn.
pub const MAX_DISTRIBUTIONS: usize = 80;

/// Report settings.
#[derive(Debug, Clone)]
pub struct ReportOptions {
    pub window: Window,
    /// Feature column patterns (`*`, `?`) for the distributions; empty =
    /// [`KEY_FEATURES`].
    pub features: Vec<String>,
    /// Worker threads.
    pub jobs: usize,
    /// Longest side of a view in pixels.
    pub max_pixels: usize,
    /// Margin around the ROI in each view (mm; at least half the ROI's extent).
    pub context_mm: f64,
    /// Above this total size the study pages become separate files.
    pub max_single_file_mb: f64,
    /// The errors file; default: the one beside the table.
    pub errors: Option<PathBuf>,
}

impl Default for ReportOptions {
    fn default() -> Self {
        ReportOptions {
            window: Window::default(),
            features: Vec::new(),
            jobs: std::thread::available_parallelism().map_or(1, |n| n.get()),
            max_pixels: 256,
            context_mm: 30.0,
            max_single_file_mb: 64.0,
            errors: None,
        }
    }
}

/// What was written.
#[derive(Debug, Clone, Default)]
pub struct ReportSummary {
    pub studies: usize,
    /// Study × series × ROI entries.
    pub entries: usize,
    pub computed: usize,
    pub failed: usize,
    pub flagged: usize,
    /// Every file written, the cohort page first.
    pub files: Vec<PathBuf>,
    pub bytes: u64,
}

/// One row of the feature table, as the report needs it.
#[derive(Debug, Clone)]
pub(crate) struct TableRow {
    pub study: String,
    pub phase: String,
    pub roi: String,
    pub series_uid: String,
    pub series_description: String,
    pub spacing: [Option<f64>; 3],
    pub voxels: Option<f64>,
    /// Where the mask came from (`own`, `portal_venous:mapped`, …; empty in
    /// tables without the column) and the registration shift.
    pub mask_source: String,
    pub mask_shift_mm: Option<[f64; 3]>,
    /// Values of [`Cohort::features`].
    pub values: Vec<Option<f64>>,
}

/// One series of a study.
#[derive(Debug, Clone)]
pub(crate) struct SeriesInfo {
    pub label: String,
    pub description: String,
    pub uid: String,
    pub phase: Phase,
    pub phase_source: PhaseSource,
    pub phase_reason: String,
    pub contrast_agent: String,
    pub delay_s: Option<f64>,
    pub spacing: Option<[f64; 3]>,
    pub dims: Option<[usize; 3]>,
    pub slice_thickness: Option<f64>,
    pub kernel: String,
    pub source: String,
    pub open_error: Option<String>,
}

/// Whether a study × series × ROI has a row.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Status {
    Computed,
    Failed(String),
    /// Neither a row nor a failure (left out by `--phase`/`--roi`, or
    /// another run's table).
    NotExtracted,
}

/// An image of one plane.
#[derive(Debug, Clone)]
pub(crate) struct ViewImage {
    pub plane: Plane,
    pub letters: [char; 4],
    pub width: usize,
    pub height: usize,
    pub pixel_mm: f64,
    pub png_base64: String,
}

/// One study × series × ROI.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub study: String,
    /// Index into the study's series (`None`: a table row whose series is
    /// not in the studies folder).
    pub series: Option<usize>,
    pub phase: String,
    pub roi: String,
    /// Where the contour comes from.
    pub segmentation: String,
    /// The segmentation belongs to another series on another grid.
    pub other_grid: bool,
    /// The registration shift the batch applied to carry the mask over.
    pub shift_mm: Option<[f64; 3]>,
    pub status: Status,
    pub row: Option<usize>,
    pub voxels: Option<usize>,
    pub volume_ml: Option<f64>,
    pub mean_hu: Option<f64>,
    pub touches_edge: Vec<String>,
    pub views: Vec<ViewImage>,
    pub view_error: Option<String>,
    pub flags: Vec<String>,
}

/// Everything shown for one study.
#[derive(Debug, Clone)]
pub(crate) struct StudyData {
    pub id: String,
    pub dir: Option<PathBuf>,
    pub series: Vec<SeriesInfo>,
    pub segmentations: Vec<String>,
    pub notes: Vec<String>,
    pub failures: Vec<Failure>,
    pub entries: Vec<Entry>,
}

/// The whole cohort.
#[derive(Debug, Clone)]
pub(crate) struct Cohort {
    pub studies: Vec<StudyData>,
    pub rows: Vec<TableRow>,
    /// Feature columns drawn (distributions and per-study strips).
    pub features: Vec<String>,
    pub table_path: PathBuf,
    pub studies_dir: PathBuf,
    pub params_text: Option<String>,
    pub params_note: String,
}

/// Build the report of `studies_dir` with the rows of `table` and write it
/// to `output` (plus study pages when it would be too large).
pub fn write_report(
    studies_dir: &Path,
    table: &Path,
    output: &Path,
    opts: &ReportOptions,
) -> Result<ReportSummary> {
    let (df, kv) = read_table_with_metadata(table)?;
    let params_text = kv.get("ctrad_params").cloned();
    let params = params_text
        .as_deref()
        .and_then(|t| crate::params::Params::from_yaml(t, table).ok());
    let params_note = match (&params, kv.get("ctrad_params_hash")) {
        (Some(p), _) if p.is_bundled_default() => format!(
            "the bundled PanNET CT default ({}; what `ctrad extract` uses without --params)",
            crate::params::BUNDLED_DEFAULT_NAME
        ),
        (Some(p), _) => format!("parameter file with hash {}", p.hash()),
        (None, Some(h)) => format!("parameter hash {h}"),
        (None, None) => "not recorded in the table (CSV)".to_string(),
    };
    let label = params.as_ref().and_then(|p| p.effective_label());
    let (rows, features) = table_rows(&df, &opts.features, table)?;
    let errors_path = opts
        .errors
        .clone()
        .unwrap_or_else(|| companion_paths(table).1);
    let failures = if errors_path.is_file() {
        read_failures(&errors_path)?
    } else {
        Vec::new()
    };

    // Study ids: the sub-folders, then any study only the table or errors name.
    let mut ids: BTreeMap<String, Option<PathBuf>> = BTreeMap::new();
    let entries = std::fs::read_dir(studies_dir).map_err(|e| Error::io(studies_dir, e))?;
    for e in entries {
        let e = e.map_err(|e| Error::io(studies_dir, e))?;
        let name = e.file_name().to_string_lossy().to_string();
        if !name.starts_with('.') && e.path().is_dir() {
            ids.insert(name, Some(e.path()));
        }
    }
    for s in rows
        .iter()
        .map(|r| &r.study)
        .chain(failures.iter().map(|f| &f.study))
    {
        ids.entry(s.clone()).or_insert(None);
    }
    let ids: Vec<(String, Option<PathBuf>)> = ids.into_iter().collect();

    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.jobs.max(1))
        .build()
        .map_err(|e| Error::Invalid(format!("cannot start {} worker threads: {e}", opts.jobs)))?;
    let studies: Vec<StudyData> = pool.install(|| {
        use rayon::prelude::*;
        ids.par_iter()
            .map(|(id, dir)| {
                let rows_of: Vec<usize> =
                    (0..rows.len()).filter(|&i| rows[i].study == *id).collect();
                let fails: Vec<Failure> = failures
                    .iter()
                    .filter(|f| f.study == *id)
                    .cloned()
                    .collect();
                collect_study(id, dir.as_deref(), &rows, &rows_of, fails, label, opts)
            })
            .collect()
    });
    let mut cohort = Cohort {
        studies,
        rows,
        features,
        table_path: table.to_path_buf(),
        studies_dir: studies_dir.to_path_buf(),
        params_text,
        params_note,
    };
    flags::flag(&mut cohort);
    html::write(&cohort, output, opts)
}

/// A table (CSV or Parquet) and, for Parquet, its key-value metadata.
fn read_table_with_metadata(
    path: &Path,
) -> Result<(polars::prelude::DataFrame, BTreeMap<String, String>)> {
    let df = crate::model::data::read_dataframe(path)?;
    let mut kv = BTreeMap::new();
    let is_parquet = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("parquet") || e.eq_ignore_ascii_case("pq"));
    if is_parquet {
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        use polars::prelude::SerReader;
        let mut reader = polars::prelude::ParquetReader::new(file);
        let md = reader
            .get_metadata()
            .map_err(|e| Error::format(path, format!("not a readable Parquet table: {e}")))?;
        for item in md.key_value_metadata.iter().flatten() {
            kv.insert(item.key.clone(), item.value.clone().unwrap_or_default());
        }
    }
    Ok((df, kv))
}

/// Identifying columns of ctrad tables (not features).
const ID_COLUMNS: [&str; 22] = [
    "study_id",
    "phase",
    "roi",
    "series_instance_uid",
    "series_description",
    "segmentation_uid",
    "modality",
    "study_date",
    "voxel_spacing_x",
    "voxel_spacing_y",
    "voxel_spacing_z",
    "roi_voxel_count",
    "ctrad_version",
    "params_hash",
    "nan_reasons",
    "image",
    "mask",
    "label",
    "mask_source",
    "mask_shift_mm",
    "perturbation",
    "perturbation_draw",
];

/// The rows of a batch table and the feature columns the patterns choose.
fn table_rows(
    df: &polars::prelude::DataFrame,
    patterns: &[String],
    path: &Path,
) -> Result<(Vec<TableRow>, Vec<String>)> {
    let t = crate::model::data::Table::from_dataframe(df)?;
    if t.nrows > 0 && !t.has("study_id") {
        return Err(Error::format(
            path,
            "no 'study_id' column: not a batch table of `ctrad extract STUDIES_DIR`",
        ));
    }
    use crate::model::data::ColumnData;
    let numeric: Vec<&String> = t
        .names
        .iter()
        .zip(&t.columns)
        .filter(|(n, c)| {
            matches!(c, ColumnData::Numeric(_))
                && !ID_COLUMNS.contains(&n.as_str())
                && !n.starts_with("diag")
        })
        .map(|(n, _)| n)
        .collect();
    let mut features: Vec<String> = if patterns.is_empty() {
        KEY_FEATURES
            .iter()
            .filter_map(|(a, b)| {
                numeric
                    .iter()
                    .find(|n| n.as_str() == *a || n.as_str() == *b)
                    .map(|n| n.to_string())
            })
            .collect()
    } else {
        numeric
            .iter()
            .filter(|n| patterns.iter().any(|p| crate::batch::glob_match(p, n)))
            .map(|n| n.to_string())
            .collect()
    };
    features.truncate(MAX_DISTRIBUTIONS);
    let text = |name: &str, i: usize| -> String {
        t.column(name)
            .ok()
            .and_then(|c| c.label(i))
            .unwrap_or_default()
    };
    let num = |name: &str, i: usize| -> Option<f64> {
        match t.column(name).ok()? {
            ColumnData::Numeric(v) => v[i].filter(|x| x.is_finite()),
            ColumnData::Text(v) => v[i].as_deref()?.trim().parse().ok(),
        }
    };
    // Perturbation runs repeat each row; the report shows the originals (0).
    let original = |i: usize| num("perturbation", i).is_none_or(|p| p == 0.0);
    let rows = (0..t.nrows)
        .filter(|&i| original(i))
        .map(|i| TableRow {
            study: text("study_id", i),
            phase: text("phase", i),
            roi: text("roi", i),
            series_uid: text("series_instance_uid", i),
            series_description: text("series_description", i),
            spacing: [
                num("voxel_spacing_x", i),
                num("voxel_spacing_y", i),
                num("voxel_spacing_z", i),
            ],
            voxels: num("roi_voxel_count", i),
            mask_source: text("mask_source", i),
            mask_shift_mm: {
                let parts: Vec<f64> = text("mask_shift_mm", i)
                    .split(',')
                    .filter_map(|p| p.trim().parse().ok())
                    .collect();
                <[f64; 3]>::try_from(parts).ok()
            },
            values: features.iter().map(|f| num(f, i)).collect(),
        })
        .collect();
    Ok((rows, features))
}

fn open_series(source: &SeriesSource) -> Result<ImageSource> {
    match source {
        SeriesSource::Dicom(files) => ImageSource::open_series(files),
        SeriesSource::VolumeFile(p) => ImageSource::open(p),
    }
}

/// Discover one study and measure and draw each of its series × ROIs.
fn collect_study(
    id: &str,
    dir: Option<&Path>,
    rows: &[TableRow],
    rows_of: &[usize],
    failures: Vec<Failure>,
    label: Option<i64>,
    opts: &ReportOptions,
) -> StudyData {
    let mut data = StudyData {
        id: id.to_string(),
        dir: dir.map(Path::to_path_buf),
        series: Vec::new(),
        segmentations: Vec::new(),
        notes: Vec::new(),
        failures,
        entries: Vec::new(),
    };
    let study = match dir.map(study::discover) {
        Some(Ok(s)) => Some(s),
        Some(Err(e)) => {
            data.notes.push(format!("study discovery failed: {e}"));
            None
        }
        None => {
            data.notes
                .push("no folder of this name in the studies folder".to_string());
            None
        }
    };
    let mut used_rows = BTreeSet::new();
    if let Some(study) = &study {
        data.notes.extend(study.notes.iter().cloned());
        let mut images: Vec<Option<std::result::Result<ImageSource, String>>> =
            (0..study.series.len()).map(|_| None).collect();
        for (i, s) in study.series.iter().enumerate() {
            let img = open_series(&s.source).map_err(|e| e.to_string());
            let geometry = img.as_ref().ok().map(|i| i.geometry.clone());
            let meta = img.as_ref().ok().and_then(|i| i.meta.as_ref());
            data.series.push(SeriesInfo {
                label: s.label(),
                description: s.description.clone(),
                uid: s.series_instance_uid.clone(),
                phase: s.phase,
                phase_source: s.phase_source,
                phase_reason: s.phase_reason.clone(),
                contrast_agent: s.contrast_agent.clone(),
                delay_s: s.contrast_delay(),
                spacing: geometry.as_ref().map(|g| g.spacing),
                dims: geometry.as_ref().map(|g| g.dims),
                slice_thickness: meta.and_then(|m| m.slice_thickness),
                kernel: meta
                    .map(|m| m.convolution_kernel.clone())
                    .unwrap_or_default(),
                source: match &s.source {
                    SeriesSource::Dicom(files) => format!(
                        "{} DICOM file(s) in {}",
                        files.len(),
                        rel(&study.dir, files.first().and_then(|f| f.parent()))
                    ),
                    SeriesSource::VolumeFile(p) => rel(&study.dir, Some(p)),
                },
                open_error: img.as_ref().err().cloned(),
            });
            images[i] = Some(img);
        }
        for seg in &study.segmentations {
            let linked = match seg.series {
                Some(i) => format!("series {} ({})", study.series[i].label(), seg.link_reason),
                None => format!("no series ({})", seg.link_reason),
            };
            data.segmentations.push(format!(
                "{} {}: ROIs {}; linked to {}",
                seg.kind,
                rel(&study.dir, Some(&seg.path)),
                seg.roi_names.join(", "),
                linked
            ));
        }
        for i in 0..study.series.len() {
            let mut placed = Vec::new();
            for (seg_index, roi) in rois_of(study, i) {
                let mut e = new_entry(study, i, seg_index, &roi);
                e.study = id.to_string();
                match_row(&mut e, &data.series[i], rows, rows_of, &mut used_rows);
                let row = e.row.map(|r| &rows[r]);
                let m = place_roi(study, i, seg_index, &mut e, row, &images, label);
                placed.push((e, m));
            }
            if let Some(Ok(img)) = &images[i] {
                measure_and_draw(img, &mut placed, opts);
            }
            data.entries.extend(placed.into_iter().map(|(e, _)| e));
        }
    }
    // Rows of the table no series of the folder accounts for.
    for &r in rows_of {
        if used_rows.contains(&r) {
            continue;
        }
        let row = &rows[r];
        data.entries.push(Entry {
            study: id.to_string(),
            series: None,
            phase: row.phase.clone(),
            roi: row.roi.clone(),
            segmentation: String::new(),
            other_grid: false,
            shift_mm: None,
            status: Status::Computed,
            row: Some(r),
            voxels: row.voxels.map(|v| v as usize),
            volume_ml: row.voxels.and_then(|v| {
                let [x, y, z] = row.spacing;
                Some(v * x? * y? * z? / 1000.0)
            }),
            mean_hu: None,
            touches_edge: Vec::new(),
            views: Vec::new(),
            view_error: Some(format!(
                "series {} '{}' not found in the study folder",
                row.series_uid, row.series_description
            )),
            flags: Vec::new(),
        });
    }
    // Entries without a row: the study's failures say why.
    for e in &mut data.entries {
        if e.row.is_some() {
            continue;
        }
        let series = e.series.map(|i| &data.series[i]);
        let relevant: Vec<&Failure> = data
            .failures
            .iter()
            .filter(|f| {
                series.is_some_and(|s| f.message.contains(&s.label) || f.message.contains(&s.uid))
                    || f.message.contains(&format!("'{}'", e.roi))
            })
            .collect();
        let chosen: Vec<&Failure> = if relevant.is_empty() {
            data.failures.iter().collect()
        } else {
            relevant
        };
        e.status = if chosen.is_empty() {
            Status::NotExtracted
        } else {
            Status::Failed(
                chosen
                    .iter()
                    .map(|f| format!("[{}] {}", f.stage, f.message))
                    .collect::<Vec<_>>()
                    .join(" | "),
            )
        };
    }
    if data.entries.is_empty() && !data.failures.is_empty() {
        data.entries.push(Entry {
            study: id.to_string(),
            series: None,
            phase: String::new(),
            roi: String::new(),
            segmentation: String::new(),
            other_grid: false,
            shift_mm: None,
            status: Status::Failed(
                data.failures
                    .iter()
                    .map(|f| format!("[{}] {}", f.stage, f.message))
                    .collect::<Vec<_>>()
                    .join(" | "),
            ),
            row: None,
            voxels: None,
            volume_ml: None,
            mean_hu: None,
            touches_edge: Vec::new(),
            views: Vec::new(),
            view_error: None,
            flags: Vec::new(),
        });
    }
    data
}

/// A path relative to the study folder, for display.
fn rel(dir: &Path, p: Option<&Path>) -> String {
    p.map(|p| p.strip_prefix(dir).unwrap_or(p).display().to_string())
        .unwrap_or_default()
}

/// The (segmentation, ROI) pairs drawn on series `i`: its own
/// segmentations' ROIs, else every other segmentation's (the batch borrows
/// them when the grids agree).
fn rois_of(study: &Study, i: usize) -> Vec<(usize, String)> {
    let own: Vec<(usize, String)> = study
        .segmentations
        .iter()
        .enumerate()
        .filter(|(_, s)| s.series == Some(i))
        .flat_map(|(k, s)| s.roi_names.iter().map(move |r| (k, r.clone())))
        .collect();
    if !own.is_empty() {
        return own;
    }
    let mut seen = BTreeSet::new();
    study
        .segmentations
        .iter()
        .enumerate()
        .filter(|(_, s)| s.series.is_some())
        .flat_map(|(k, s)| s.roi_names.iter().map(move |r| (k, r.clone())))
        .filter(|(_, r)| seen.insert(r.clone()))
        .collect()
}

/// The table row of an entry: same study, series UID and ROI (else phase
/// and ROI, for tables whose UIDs were written differently).
fn match_row(
    e: &mut Entry,
    series: &SeriesInfo,
    rows: &[TableRow],
    rows_of: &[usize],
    used: &mut BTreeSet<usize>,
) {
    let found = rows_of
        .iter()
        .copied()
        .find(|&r| !used.contains(&r) && rows[r].series_uid == series.uid && rows[r].roi == e.roi)
        .or_else(|| {
            rows_of.iter().copied().find(|&r| {
                !used.contains(&r)
                    && rows[r].phase == e.phase
                    && rows[r].roi == e.roi
                    && rows[r].series_description == series.description
            })
        });
    if let Some(r) = found {
        used.insert(r);
        e.row = Some(r);
        e.status = Status::Computed;
    }
}

/// The entry of ROI `roi` of segmentation `seg_index` on series `i`
/// (matched to its table row), without the ROI placed yet.
fn new_entry(study: &Study, i: usize, seg_index: usize, roi: &str) -> Entry {
    let seg = &study.segmentations[seg_index];
    Entry {
        study: String::new(),
        series: Some(i),
        phase: study.series[i].phase.as_str().to_string(),
        roi: roi.to_string(),
        segmentation: format!("{} {}", seg.kind, rel(&study.dir, Some(&seg.path))),
        other_grid: false,
        shift_mm: None,
        status: Status::NotExtracted,
        row: None,
        voxels: None,
        volume_ml: None,
        mean_hu: None,
        touches_edge: Vec::new(),
        views: Vec::new(),
        view_error: None,
        flags: Vec::new(),
    }
}

/// The ROI of entry `e` placed on series `i` as the batch placed it: its
/// own segmentation rasterised on its grid; a segmentation of another
/// series on the same grid likewise; on another grid, carried by patient
/// coordinates ([`cross_phase::map::map_roi`]) with the registration shift
/// the row records (`mask_shift_mm`).
fn place_roi(
    study: &Study,
    i: usize,
    seg_index: usize,
    e: &mut Entry,
    row: Option<&TableRow>,
    images: &[Option<std::result::Result<ImageSource, String>>],
    label: Option<i64>,
) -> Option<RoiBox> {
    let seg = &study.segmentations[seg_index];
    let img = match images[i].as_ref() {
        Some(Ok(img)) => img,
        Some(Err(msg)) => {
            e.view_error = Some(format!("cannot open the series: {msg}"));
            return None;
        }
        None => return None,
    };
    let roi_arg = match seg.kind {
        SegmentationKind::MaskFile => None,
        _ => Some(e.roi.as_str()),
    };
    let mut donor = None;
    if let Some(j) = seg.series.filter(|&j| j != i) {
        e.segmentation
            .push_str(&format!(", drawn on series {}", study.series[j].label()));
        if let Some(Ok(d)) = images[j].as_ref() {
            if let Some(diff) = img.geometry.mismatch(&d.geometry) {
                e.other_grid = true;
                e.segmentation.push_str(&format!(" (another grid: {diff})"));
                donor = Some(d);
            }
        }
    }
    if let Some(r) = row.filter(|r| !r.mask_source.is_empty() && r.mask_source != "own") {
        e.segmentation
            .push_str(&format!("; mask source {}", r.mask_source));
        if let Some(sh) = r.mask_shift_mm {
            e.segmentation.push_str(&format!(
                ", registration shift {:.1}, {:.1}, {:.1} mm",
                sh[0], sh[1], sh[2]
            ));
            e.shift_mm = Some(sh);
        }
    }
    let placed = match donor {
        Some(d) => inputs::load_roi_box(&seg.path, d, roi_arg, label)
            .and_then(|m| cross_phase::map::map_roi(&m, d, img, e.shift_mm.unwrap_or([0.0; 3]))),
        None => inputs::load_roi_box(&seg.path, img, roi_arg, label),
    };
    match placed {
        Ok(m) => Some(m),
        Err(err) => {
            e.view_error = Some(format!("cannot place the ROI on this series: {err}"));
            None
        }
    }
}

/// An ROI measured and drawn on one series.
#[derive(Debug, Clone)]
pub struct RoiDrawing {
    /// The box read (image grid indices, inclusive); view voxels are
    /// relative to `lo`.
    pub lo: [usize; 3],
    pub hi: [usize; 3],
    /// ROI voxels and their mean HU.
    pub voxels: usize,
    pub mean_hu: Option<f64>,
    /// Volume edges the ROI touches (`first x voxel`, …).
    pub touches_edge: Vec<String>,
    /// Axial, coronal and sagittal views at the slices of largest ROI area
    /// (none for an empty ROI).
    pub views: Vec<view::View>,
}

/// The box drawn around a (non-empty) ROI: its bounding box with a margin
/// of `opts.context_mm` (at least half the ROI's extent) each side, inside
/// the grid.
fn context_box(g: &Geometry, m: &RoiBox, opts: &ReportOptions) -> ([usize; 3], [usize; 3]) {
    let (rlo, rhi) = (m.lo, m.hi());
    let margin = |a: usize| -> usize {
        let extent = (rhi[a] - rlo[a] + 1) as f64 * g.spacing[a];
        (opts.context_mm.max(extent / 2.0) / g.spacing[a]).ceil() as usize
    };
    (
        std::array::from_fn(|a| rlo[a].saturating_sub(margin(a))),
        std::array::from_fn(|a| (rhi[a] + margin(a)).min(g.dims[a] - 1)),
    )
}

/// Read the ROI's context box ([`ReportOptions::context_mm`]) from `img`,
/// count the ROI's voxels and their mean HU, and render the three planes.
pub fn draw_roi(img: &ImageSource, m: &RoiBox, opts: &ReportOptions) -> Result<RoiDrawing> {
    if m.is_empty() {
        return Ok(draw_in(&img.geometry, None, [0; 3], m, opts));
    }
    let (lo, hi) = context_box(&img.geometry, m, opts);
    let image = img.read_box(lo, hi, None)?;
    Ok(draw_in(&img.geometry, Some(&image), lo, m, opts))
}

/// [`draw_roi`] on `image`, a box of the grid `g` starting at `at` that
/// holds the ROI's context box.
fn draw_in(
    g: &Geometry,
    image: Option<&Volume<f32>>,
    at: [usize; 3],
    m: &RoiBox,
    opts: &ReportOptions,
) -> RoiDrawing {
    let (Some(image), false) = (image, m.is_empty()) else {
        return RoiDrawing {
            lo: m.lo,
            hi: m.lo,
            voxels: 0,
            mean_hu: None,
            touches_edge: Vec::new(),
            views: Vec::new(),
        };
    };
    let (rlo, rhi) = (m.lo, m.hi());
    let mut touches_edge = Vec::new();
    for a in 0..3 {
        let axis = ["x", "y", "z"][a];
        if rlo[a] == 0 {
            touches_edge.push(format!("first {axis} voxel"));
        }
        if rhi[a] + 1 == g.dims[a] {
            touches_edge.push(format!("last {axis} voxel"));
        }
    }
    let (lo, hi) = context_box(g, m, opts);
    let image = image.crop(
        std::array::from_fn(|a| lo[a] - at[a]),
        std::array::from_fn(|a| hi[a] - at[a]),
    );
    let mask = m.on_box(g, lo, hi);
    let (mut n, mut sum) = (0usize, 0f64);
    for (&v, &inside) in image.data.iter().zip(&mask.data) {
        if inside {
            n += 1;
            sum += v as f64;
        }
    }
    let mut views = Vec::new();
    for plane in Plane::ALL {
        let normal = view::layout(plane, &g.direction).normal;
        let world = (0..3)
            .max_by(|&a, &b| {
                g.direction[a][normal]
                    .abs()
                    .total_cmp(&g.direction[b][normal].abs())
            })
            .unwrap_or(normal);
        let ascending = g.direction[world][normal] >= 0.0;
        if let Some(k) = view::largest_slice(&m.mask, normal, ascending) {
            let slice = m.lo[normal] + k - lo[normal];
            views.push(view::render(
                &image,
                &mask,
                plane,
                slice,
                opts.window,
                opts.max_pixels,
            ));
        }
    }
    RoiDrawing {
        lo,
        hi,
        voxels: n,
        mean_hu: (n > 0).then(|| sum / n as f64),
        touches_edge,
        views,
    }
}

/// Measure and draw the ROIs placed on one series, reading the union of
/// their context boxes once (the slices a tumour spans are mostly those of
/// its organ); the views are kept as PNG.
fn measure_and_draw(
    img: &ImageSource,
    placed: &mut [(Entry, Option<RoiBox>)],
    opts: &ReportOptions,
) {
    let g = &img.geometry;
    let boxes: Vec<([usize; 3], [usize; 3])> = placed
        .iter()
        .filter_map(|(_, m)| m.as_ref().filter(|m| !m.is_empty()))
        .map(|m| context_box(g, m, opts))
        .collect();
    let image = match boxes.split_first() {
        None => None,
        Some((first, rest)) => {
            let (lo, hi) = rest.iter().fold(*first, |(lo, hi), (l, h)| {
                (
                    std::array::from_fn(|a| lo[a].min(l[a])),
                    std::array::from_fn(|a| hi[a].max(h[a])),
                )
            });
            match img.read_box(lo, hi, None) {
                Ok(v) => Some((v, lo)),
                Err(err) => {
                    for (e, m) in placed.iter_mut() {
                        if m.is_some() {
                            e.view_error = Some(format!("cannot read the image: {err}"));
                        }
                    }
                    return;
                }
            }
        }
    };
    for (e, m) in placed.iter_mut() {
        let Some(m) = m else { continue };
        let d = draw_in(
            g,
            image.as_ref().map(|(v, _)| v),
            image.as_ref().map_or([0; 3], |(_, lo)| *lo),
            m,
            opts,
        );
        e.voxels = Some(d.voxels);
        e.volume_ml = Some(d.voxels as f64 * g.spacing.iter().product::<f64>() / 1000.0);
        e.mean_hu = d.mean_hu;
        e.touches_edge = d.touches_edge;
        if d.voxels == 0 {
            e.view_error = Some("the ROI has no voxel on this series".into());
        }
        for v in d.views {
            match v.png() {
                Ok(png) => e.views.push(ViewImage {
                    plane: v.plane,
                    letters: v.layout.letters,
                    width: v.width,
                    height: v.height,
                    pixel_mm: v.pixel_mm,
                    png_base64: base64_encode(&png),
                }),
                Err(err) => e.view_error = Some(err.to_string()),
            }
        }
    }
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
