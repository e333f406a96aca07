//! Folder-by-folder batch extraction into one feature table.
//!
//! Every sub-folder of the studies folder is one patient's study (or every
//! row of a PyRadiomics-style manifest CSV is one case). Studies run in
//! parallel on a bounded rayon pool (`--jobs`), each holding only its own
//! volumes. A finished study is persisted at once in the state folder beside
//! the output (`OUT.parquet` → `OUT.ctrad-state/`), keyed by the study id, the
//! hashes of its input files, the parameter hash and the ctrad version, so a
//! rerun skips what is done and an interrupted run loses nothing. A failing
//! study becomes rows of `OUT.errors.csv` (study, file, stage, message) and
//! the batch goes on. The final table is sorted (study, phase, ROI), so it is
//! identical whatever the order in which studies finished.

mod cases;
mod state;

pub use crate::table::outputs::{companion_paths, write_failures, Failure, OutputLock};
pub use cases::{cases_from_dir, cases_from_manifest, glob_match, parse_shard, shard_of};
use state::{read_part, write_part};

use crate::cross_phase::{self, Carried, CrossPhase, MaskSource};
use crate::error::{Error, Result};
use crate::hash::Fnv64;
use crate::inputs::{self, ImageSource, RoiBox};
use crate::io::dicom::series;
use crate::params::Params;
use crate::study::{self, Phase, SegmentationKind, SeriesSource, Study};
use crate::table::{self, Cell, Row};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

/// One unit of work.
#[derive(Debug, Clone)]
pub enum CaseInput {
    /// A study folder, discovered with [`study::discover`].
    Study(PathBuf),
    /// An image and mask pair from a manifest.
    Pair {
        image: PathBuf,
        mask: PathBuf,
        label: Option<i64>,
        roi: Option<String>,
    },
}

/// A case with its identifier (the study folder name or the manifest id).
#[derive(Debug, Clone)]
pub struct Case {
    pub id: String,
    pub input: CaseInput,
}

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    Bar,
    Log,
    Quiet,
}

/// Batch settings.
#[derive(Debug, Clone)]
pub struct BatchOptions {
    pub params: Params,
    pub jobs: usize,
    /// ROI name patterns (`*` and `?` wildcards, case-insensitive); empty = all.
    pub roi_patterns: Vec<String>,
    /// Phases to extract; empty = all.
    pub phases: Vec<Phase>,
    pub force: bool,
    pub progress: Progress,
    /// `(k, n)`: process only the k-th (1-based) of n shards.
    pub shard: Option<(usize, usize)>,
    /// Feature column names.
    pub naming: crate::naming::Naming,
}

/// What a batch run did.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub cases: usize,
    pub computed: usize,
    pub reused: usize,
    pub failed: usize,
    pub rows: usize,
    pub interrupted: bool,
}

/// Indices of `cases`, largest input first, by the bytes on disk of the
/// image series or file (unreadable inputs count as 0 and fail later with a
/// message). A folder's size is estimated as its number of files times the
/// median size of its first, middle and last file: the slices of a series
/// are one size (a structure set or mask among them is outvoted), and a
/// listing costs no system call per file where sizes would (322 `statx` for
/// the 5 STS studies; on a network file system each is a round trip).
/// In parallel.
fn largest_first(cases: &[Case]) -> Vec<usize> {
    let size = |p: &Path| -> u64 {
        if p.is_dir() {
            let Ok(files) = crate::io::dicom::scan::list_files(p) else {
                return 0;
            };
            let n = files.len();
            let mut sample: Vec<u64> = [0, n / 2, n.saturating_sub(1)]
                .iter()
                .filter_map(|&i| files.get(i)?.metadata().ok())
                .map(|m| m.len())
                .collect();
            sample.sort_unstable();
            sample.get(sample.len() / 2).map_or(0, |&m| m * n as u64)
        } else {
            p.metadata().map_or(0, |m| m.len())
        }
    };
    use rayon::prelude::*;
    let cost: Vec<u64> = cases
        .par_iter()
        .map(|c| match &c.input {
            CaseInput::Study(dir) => size(dir),
            CaseInput::Pair { image, .. } => size(image),
        })
        .collect();
    let mut order: Vec<usize> = (0..cases.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(cost[i]));
    order
}

/// The cache key of a case: id, every input file's path, size and content
/// hash, the parameter hash and the ctrad version.
fn case_key(case: &Case, params: &Params) -> Result<String> {
    let mut h = Fnv64::new();
    h.field(&case.id)
        .field(&params.hash())
        .field(crate::VERSION);
    // The policy may come from the command line, outside the parameter text
    // (the default adds nothing, so earlier states stay valid).
    if params.cross_phase != CrossPhase::SameGrid {
        h.field(&format!("crossPhase={}", params.cross_phase));
    }
    let mut files: Vec<PathBuf> = match &case.input {
        CaseInput::Study(dir) => crate::io::dicom::scan::list_files(dir)?,
        CaseInput::Pair {
            image,
            mask,
            label,
            roi,
        } => {
            h.field(&format!("{label:?}/{roi:?}"));
            let mut v = vec![mask.clone()];
            if image.is_dir() {
                v.extend(crate::io::dicom::scan::list_files(image)?);
            } else {
                v.push(image.clone());
            }
            v
        }
    };
    files.sort();
    // Digests in parallel, streamed (a full-size series is hundreds of MB).
    let digests: Vec<(u64, u64)> = {
        use rayon::prelude::*;
        files
            .par_iter()
            .map(|f| {
                std::fs::File::open(f)
                    .and_then(Fnv64::file_digest)
                    .map_err(|e| Error::io(f, e))
            })
            .collect::<Result<_>>()?
    };
    for (f, (digest, len)) in files.iter().zip(digests) {
        h.field(&f.to_string_lossy())
            .update(&len.to_le_bytes())
            .update_digest_value(digest);
    }
    Ok(h.hex())
}

/// The result of one case.
#[derive(Debug, Default)]
struct CaseResult {
    rows: Vec<Row>,
    failures: Vec<Failure>,
}

/// Run a batch and write `output` (+ `csv`), the errors file and the state.
pub fn run(
    cases: Vec<Case>,
    opts: &BatchOptions,
    output: &Path,
    csv: Option<&Path>,
    interrupt: &AtomicBool,
) -> Result<Summary> {
    let (state_dir, errors_path, lock_path) = companion_paths(output);
    table::create_parent_dir(output)?;
    let _lock = OutputLock::acquire(&lock_path)?;
    std::fs::create_dir_all(&state_dir).map_err(|e| Error::io(&state_dir, e))?;

    let cases: Vec<Case> = match opts.shard {
        Some((k, n)) => cases
            .into_iter()
            .filter(|c| shard_of(&c.id, n) == k)
            .collect(),
        None => cases,
    };
    let total = cases.len();
    let bar = match opts.progress {
        Progress::Bar => {
            let b = indicatif::ProgressBar::new(total as u64);
            b.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} studies  {per_sec}  ETA {eta}  {msg}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            Some(b)
        }
        _ => None,
    };
    let done = AtomicUsize::new(0);
    let failed = AtomicUsize::new(0);
    let reused = AtomicUsize::new(0);
    let results: Mutex<Vec<(String, CaseResult)>> = Mutex::new(Vec::new());
    // A batch with one worker per allowed CPU keeps worker i on CPU i. Left
    // to the scheduler, a woken worker often starts on the CPU of the thread
    // that woke it and waits for the load balancer to move it: with 2 workers
    // on 2 CPUs the second began its first study 0.3–5 ms late in half of the
    // runs (≤ 0.6 ms pinned); the 5-study batch's median fell by 1.4 and
    // 2.2 ms in two A/B runs (40 and 60 alternating runs), its spread by half.
    // Fewer workers than CPUs (shards run side by side, `--jobs 1`) stay
    // unpinned, free to spread.
    let cpus = crate::parallel::allowed_cpus();
    let pin = opts.jobs >= 2 && cpus.len() == opts.jobs;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.jobs.max(1))
        .start_handler(move |i| {
            if pin {
                crate::parallel::pin_current_thread(cpus[i]);
            }
        })
        .build()
        .map_err(|e| Error::Invalid(format!("cannot start {} worker threads: {e}", opts.jobs)))?;

    // Largest studies first, handed out one at a time from a shared counter
    // (longest-processing-time scheduling): a big study started last would
    // otherwise leave the other workers idle at the end of the batch.
    let order = pool.install(|| largest_first(&cases));
    let next = AtomicUsize::new(0);
    let work = |case: &Case| {
        if interrupt.load(Ordering::SeqCst) {
            return;
        }
        let start = std::time::Instant::now();
        let part_path = state_dir.join(format!("{}.part", sanitize(&case.id)));
        let (result, was_reused) = match case_key(case, &opts.params) {
            Err(e) => (
                CaseResult {
                    rows: vec![],
                    failures: vec![failure(&case.id, &e, "input")],
                },
                false,
            ),
            Ok(key) => match (!opts.force).then(|| read_part(&part_path, &key)).flatten() {
                Some(rows) => (
                    CaseResult {
                        rows,
                        failures: vec![],
                    },
                    true,
                ),
                None => {
                    let r = process_case(case, opts);
                    if r.failures.is_empty() {
                        if let Err(e) = write_part(&part_path, &key, &r.rows) {
                            let mut r = r;
                            r.failures.push(failure(&case.id, &e, "state"));
                            (r, false)
                        } else {
                            (r, false)
                        }
                    } else {
                        let _ = std::fs::remove_file(&part_path);
                        (r, false)
                    }
                }
            },
        };
        let n = done.fetch_add(1, Ordering::SeqCst) + 1;
        if was_reused {
            reused.fetch_add(1, Ordering::SeqCst);
        }
        if !result.failures.is_empty() {
            failed.fetch_add(1, Ordering::SeqCst);
        }
        let status = if !result.failures.is_empty() {
            format!("FAILED ({})", result.failures[0].message)
        } else if was_reused {
            format!("done earlier, {} rows", result.rows.len())
        } else {
            format!(
                "{} rows in {:.1} s",
                result.rows.len(),
                start.elapsed().as_secs_f64()
            )
        };
        match (&bar, opts.progress) {
            (Some(b), _) => {
                b.set_message(format!("{} failed", failed.load(Ordering::SeqCst)));
                if !result.failures.is_empty() {
                    b.println(format!("{}: {status}", case.id));
                }
                b.inc(1);
            }
            (None, Progress::Log) => eprintln!("[{n}/{total}] {}: {status}", case.id),
            _ => {}
        }
        results
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((case.id.clone(), result));
    };
    pool.scope(|s| {
        for _ in 0..opts.jobs.max(1) {
            s.spawn(|_| {
                while let Some(&i) = order.get(next.fetch_add(1, Ordering::SeqCst)) {
                    work(&cases[i]);
                }
            });
        }
    });
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let interrupted = interrupt.load(Ordering::SeqCst) && done.load(Ordering::SeqCst) < total;
    let mut results = results.into_inner().unwrap_or_else(|e| e.into_inner());
    results.sort_by(|a, b| a.0.cmp(&b.0));
    let mut rows: Vec<Row> = Vec::new();
    let mut failures: Vec<Failure> = Vec::new();
    for (_, r) in results {
        rows.extend(r.rows);
        failures.extend(r.failures);
    }
    rows.sort_by_cached_key(row_sort_key);
    let summary = Summary {
        cases: total,
        computed: done.load(Ordering::SeqCst) - reused.load(Ordering::SeqCst),
        reused: reused.load(Ordering::SeqCst),
        failed: failed.load(Ordering::SeqCst),
        rows: rows.len(),
        interrupted,
    };
    if interrupted {
        return Ok(summary);
    }
    let metadata = table::table_metadata(&opts.params);
    let mut df = table::to_dataframe(&rows)?;
    // The output files are independent: written at once, their fsyncs overlap.
    std::thread::scope(|s| {
        let errors = s.spawn(|| write_failures(&errors_path, &failures));
        let csv = csv.map(|csv| {
            let mut df = df.clone();
            let metadata = &metadata;
            s.spawn(move || table::write_table(&mut df, csv, metadata))
        });
        let table = table::write_table(&mut df, output, &metadata);
        let joined = |h: std::thread::ScopedJoinHandle<'_, Result<()>>| {
            h.join()
                .unwrap_or_else(|_| Err(Error::Invalid("writing an output file panicked".into())))
        };
        joined(errors)?;
        table?;
        csv.map_or(Ok(()), joined)
    })?;
    Ok(summary)
}

fn row_sort_key(r: &Row) -> (String, usize, String, String) {
    let text = |k: &str| {
        r.ids
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, c)| match c {
                Cell::Text(s) => s.clone(),
                Cell::Int(i) => format!("{i:020}"),
                Cell::Float(f) => f.to_string(),
                Cell::Null => String::new(),
            })
            .unwrap_or_default()
    };
    table::outputs::sort_key_from(text)
}

fn sanitize(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn failure(study: &str, e: &Error, stage: &str) -> Failure {
    let file = match e {
        Error::Io { path, .. } | Error::Format { path, .. } | Error::ResourceLimit { path, .. } => {
            path.display().to_string()
        }
        Error::GeometryMismatch { mask, .. } => mask.display().to_string(),
        Error::Params { path, .. } => path.display().to_string(),
        _ => String::new(),
    };
    Failure {
        study: study.to_string(),
        file,
        stage: stage.to_string(),
        message: e.to_string(),
    }
}

/// Process one case; failures of single series or ROIs do not stop the others.
fn process_case(case: &Case, opts: &BatchOptions) -> CaseResult {
    let mut out = CaseResult::default();
    match &case.input {
        CaseInput::Pair {
            image,
            mask,
            label,
            roi,
        } => {
            let img = match ImageSource::open(image) {
                Ok(i) => i,
                Err(e) => {
                    out.failures.push(failure(&case.id, &e, "image"));
                    return out;
                }
            };
            let label = label.or(opts.params.effective_label());
            match inputs::load_roi_box(mask, &img, roi.as_deref(), label) {
                Ok(m) => extract_rows(
                    case,
                    &img,
                    "unknown",
                    vec![(m, MaskSource::Own)],
                    opts,
                    &mut out,
                ),
                Err(e) => out.failures.push(failure(&case.id, &e, "mask")),
            }
        }
        CaseInput::Study(dir) => match study::discover(dir) {
            Err(e) => out.failures.push(failure(&case.id, &e, "discovery")),
            Ok(study) => process_study(case, &study, opts, &mut out),
        },
    }
    out
}

fn process_study(case: &Case, study: &Study, opts: &BatchOptions, out: &mut CaseResult) {
    if study.series.is_empty() {
        let e = Error::Invalid(format!(
            "{}: no CT series or image file found",
            study.dir.display()
        ));
        out.failures.push(failure(&case.id, &e, "discovery"));
        return;
    }
    let wanted = |p: Phase| opts.phases.is_empty() || opts.phases.contains(&p);
    let selected: Vec<usize> = (0..study.series.len())
        .filter(|&i| wanted(study.series[i].phase))
        .collect();
    // Series are opened by their headers (geometry, no pixel data), once.
    let mut images: Vec<Option<ImageSource>> = (0..study.series.len()).map(|_| None).collect();
    let mut masks = MaskCache::new();
    for &i in &selected {
        let s = &study.series[i];
        let own = study.segmentations_of(i);
        let rois = if !own.is_empty() {
            let Some(img) = open_cached(study, i, &mut images, case, out) else {
                continue;
            };
            load_rois(&own, img, &mut masks, opts, case, out)
                .into_iter()
                .map(|m| (m, MaskSource::Own))
                .collect()
        } else {
            match opts.params.cross_phase {
                CrossPhase::SameGrid => match borrowable(study, i, &mut images) {
                    Ok(j) => {
                        let Some(img) = images[i].as_ref() else {
                            continue;
                        };
                        let source = MaskSource::Borrowed {
                            from_phase: study.series[j].phase.as_str().to_string(),
                            how: Carried::SameGrid,
                            shift_mm: None,
                        };
                        load_rois(&study.segmentations_of(j), img, &mut masks, opts, case, out)
                            .into_iter()
                            .map(|m| (m, source.clone()))
                            .collect()
                    }
                    Err(msg) => {
                        let e = Error::Invalid(format!("series {}: {msg}", s.label()));
                        out.failures.push(failure(&case.id, &e, "segmentation"));
                        continue;
                    }
                },
                CrossPhase::Map | CrossPhase::Register => {
                    match carried_rois(study, i, &mut images, &mut masks, opts, case, out) {
                        Some(rois) => rois,
                        None => continue,
                    }
                }
            }
        };
        let Some(img) = images[i].as_ref() else {
            continue;
        };
        extract_rows(case, img, s.phase.as_str(), rois, opts, out);
    }
}

/// Series `i`'s image, opened by its headers once; a failure becomes an error line.
fn open_cached<'a>(
    study: &Study,
    i: usize,
    images: &'a mut [Option<ImageSource>],
    case: &Case,
    out: &mut CaseResult,
) -> Option<&'a ImageSource> {
    if images[i].is_none() {
        match open_series_image(&study.series[i].source) {
            Ok(img) => images[i] = Some(img),
            Err(e) => {
                out.failures.push(failure(&case.id, &e, "image"));
                return None;
            }
        }
    }
    images[i].as_ref()
}

/// ROI masks made so far in a study: (segmentation file, ROI), grid, frame
/// of reference, mask.
type MaskCache = Vec<(
    (PathBuf, String),
    crate::volume::Geometry,
    Option<String>,
    RoiBox,
)>;

/// The ROIs of `segs` (filtered by the ROI patterns) on `img`'s grid;
/// phases on the very same grid share the ROI's mask (`masks`).
fn load_rois(
    segs: &[&study::Segmentation],
    img: &ImageSource,
    masks: &mut MaskCache,
    opts: &BatchOptions,
    case: &Case,
    out: &mut CaseResult,
) -> Vec<RoiBox> {
    let mut rois = Vec::new();
    for seg in segs {
        let names = seg.roi_names.iter().filter(|n| {
            opts.roi_patterns.is_empty() || opts.roi_patterns.iter().any(|p| glob_match(p, n))
        });
        for name in names {
            let roi_arg = match seg.kind {
                SegmentationKind::MaskFile => None,
                _ => Some(name.as_str()),
            };
            let key = (seg.path.clone(), name.clone());
            if let Some(m) = masks
                .iter()
                .find(|(k, g, f, _)| {
                    *k == key && *g == img.geometry && f.as_deref() == img.frame_of_reference()
                })
                .map(|(_, _, _, m)| m.clone())
            {
                rois.push(m);
                continue;
            }
            match inputs::load_roi_box(&seg.path, img, roi_arg, opts.params.effective_label()) {
                Ok(mut m) => {
                    m.roi = name.clone();
                    let frame = img.frame_of_reference().map(str::to_string);
                    masks.push((key, img.geometry.clone(), frame, m.clone()));
                    rois.push(m);
                }
                Err(e) => out.failures.push(failure(&case.id, &e, "mask")),
            }
        }
    }
    rois
}

/// Segmentations of another series usable on series `i` under the
/// `same-grid` policy: the donor with the same frame of reference and the
/// same voxel grid (so the ROI lands on the same voxels), or why none is.
fn borrowable(
    study: &Study,
    i: usize,
    images: &mut [Option<ImageSource>],
) -> std::result::Result<usize, String> {
    let target = &study.series[i];
    let donors = study.donors_for(i);
    if donors.is_empty() {
        return Err("no segmentation in the study is linked to this series or to any other".into());
    }
    let mut reasons = Vec::new();
    for j in donors {
        let donor = &study.series[j];
        if target.frame_of_reference_uid.is_empty()
            || donor.frame_of_reference_uid != target.frame_of_reference_uid
        {
            reasons.push(format!(
                "series {} has another frame of reference",
                donor.label()
            ));
            continue;
        }
        let (a, b) = open_pair(study, i, j, images)?;
        if let Some(diff) = a.geometry.mismatch(&b.geometry) {
            reasons.push(format!(
                "series {} is on another grid ({diff})",
                donor.label()
            ));
            continue;
        }
        return Ok(j);
    }
    Err(format!(
        "no own segmentation, and none can be borrowed: {} (segmentations are used across phases only with the same frame of reference and voxel grid; --cross-phase map or register carries them across grids)",
        reasons.join("; ")
    ))
}

/// The images of series `i` and `j`, opened by their headers.
fn open_pair<'a>(
    study: &Study,
    i: usize,
    j: usize,
    images: &'a mut [Option<ImageSource>],
) -> std::result::Result<(&'a ImageSource, &'a ImageSource), String> {
    for k in [i, j] {
        if images[k].is_none() {
            match open_series_image(&study.series[k].source) {
                Ok(img) => images[k] = Some(img),
                Err(e) => {
                    return Err(format!(
                        "cannot read series {}: {e}",
                        study.series[k].label()
                    ))
                }
            }
        }
    }
    match (&images[i], &images[j]) {
        (Some(a), Some(b)) => Ok((a, b)),
        _ => Err("series images missing".into()),
    }
}

/// The ROIs of the first suitable donor series carried onto series `i` by
/// the policy of `opts` (`map` or `register`), each with its provenance. Refusals
/// (per series or per ROI) become error lines naming the series and the
/// reason; `None` when nothing can be extracted on the series.
fn carried_rois(
    study: &Study,
    i: usize,
    images: &mut [Option<ImageSource>],
    masks: &mut MaskCache,
    opts: &BatchOptions,
    case: &Case,
    out: &mut CaseResult,
) -> Option<Vec<(RoiBox, MaskSource)>> {
    let policy = opts.params.cross_phase;
    let target = &study.series[i];
    let refuse = |out: &mut CaseResult, file: String, msg: String| {
        out.failures.push(Failure {
            study: case.id.clone(),
            file,
            stage: "cross-phase".into(),
            message: format!("series {}: {msg}", target.label()),
        });
    };
    let donors = study.donors_for(i);
    if donors.is_empty() {
        refuse(
            out,
            String::new(),
            "no segmentation in the study is linked to this series or to any other".into(),
        );
        return None;
    }
    let mut reasons = Vec::new();
    let mut chosen = None;
    for j in donors {
        let (a, b) = match open_pair(study, i, j, images) {
            Ok(p) => p,
            Err(msg) => {
                reasons.push(msg);
                continue;
            }
        };
        match cross_phase::map::same_frame(b, a) {
            Ok(()) => {
                chosen = Some(j);
                break;
            }
            Err(why) => reasons.push(format!(
                "series {} (segmented): {why}",
                study.series[j].label()
            )),
        }
    }
    let Some(j) = chosen else {
        refuse(
            out,
            String::new(),
            format!(
                "no own segmentation, and none can be carried over ({policy}): {}",
                reasons.join("; ")
            ),
        );
        return None;
    };
    let (target_img, donor_img) = (images[i].as_ref()?, images[j].as_ref()?);
    let donor = &study.series[j];
    let from_phase = donor.phase.as_str().to_string();
    let same_grid = target_img.geometry.mismatch(&donor_img.geometry).is_none();
    let segs = study.segmentations_of(j);
    if same_grid && policy == CrossPhase::Map {
        let source = MaskSource::Borrowed {
            from_phase,
            how: Carried::SameGrid,
            shift_mm: None,
        };
        return Some(
            load_rois(&segs, target_img, masks, opts, case, out)
                .into_iter()
                .map(|m| (m, source.clone()))
                .collect(),
        );
    }
    let target_file = target_img.path.display().to_string();
    let mut rois = Vec::new();
    for m in load_rois(&segs, donor_img, masks, opts, case, out) {
        let carried = match policy {
            CrossPhase::Register => cross_phase::register::register(
                &m,
                donor_img,
                target_img,
                &cross_phase::register::Settings::default(),
            )
            .and_then(|r| {
                cross_phase::map::map_roi(&m, donor_img, target_img, r.shift_mm)
                    .map(|b| (b, Carried::Registered, Some(r.shift_mm)))
            }),
            _ => cross_phase::map::map_roi(&m, donor_img, target_img, [0.0; 3])
                .map(|b| (b, Carried::Mapped, None)),
        };
        match carried {
            Ok((b, how, shift_mm)) => rois.push((
                b,
                MaskSource::Borrowed {
                    from_phase: from_phase.clone(),
                    how,
                    shift_mm,
                },
            )),
            Err(e) => refuse(
                out,
                target_file.clone(),
                format!(
                    "segmentation {} of series {} ({}): {e}",
                    m.path.display(),
                    donor.label(),
                    donor.phase
                ),
            ),
        }
    }
    Some(rois)
}

fn open_series_image(source: &SeriesSource) -> Result<ImageSource> {
    match source {
        SeriesSource::Dicom(files) => ImageSource::open_series(files),
        SeriesSource::VolumeFile(p) => ImageSource::open(p),
    }
}

/// Extract every ROI of `rois` on `img` (one read of the image) into rows.
fn extract_rows(
    case: &Case,
    img: &ImageSource,
    phase: &str,
    rois: Vec<(RoiBox, MaskSource)>,
    opts: &BatchOptions,
    out: &mut CaseResult,
) {
    if rois.is_empty() {
        return;
    }
    let (rois, sources): (Vec<RoiBox>, Vec<MaskSource>) = rois.into_iter().unzip();
    let results = match crate::pipeline::extract_roi_rows(img, &rois, &opts.params) {
        Ok(r) => r,
        Err(e) => {
            out.failures.push(failure(&case.id, &e, "image"));
            return;
        }
    };
    let spacing = img.geometry.spacing;
    for row in results {
        let m = &rois[row.roi];
        let source = &sources[row.roi];
        match row.result {
            Ok(x) => {
                let meta = img.meta.as_ref();
                let text = |f: fn(&series::SeriesMeta) -> &String| {
                    meta.map_or(Cell::Null, |m| Cell::Text(f(m).clone()))
                };
                let mut ids = vec![
                    ("study_id".to_string(), Cell::Text(case.id.clone())),
                    ("phase".into(), Cell::Text(phase.to_string())),
                    ("roi".into(), Cell::Text(m.roi.clone())),
                    ("series_instance_uid".into(), Cell::Text(img.series_uid())),
                    ("series_description".into(), text(|m| &m.series_description)),
                    (
                        "segmentation_uid".into(),
                        Cell::Text(m.segmentation_uid.clone()),
                    ),
                    (
                        "modality".into(),
                        meta.map_or(Cell::Text("CT".into()), |m| Cell::Text(m.modality.clone())),
                    ),
                    ("study_date".into(), text(|m| &m.study_date)),
                    ("voxel_spacing_x".into(), Cell::Float(spacing[0])),
                    ("voxel_spacing_y".into(), Cell::Float(spacing[1])),
                    ("voxel_spacing_z".into(), Cell::Float(spacing[2])),
                ];
                // Provenance columns only beside the default policy, whose
                // tables stay as they were.
                if opts.params.cross_phase != CrossPhase::SameGrid {
                    ids.extend(table::mask_source_columns(source));
                }
                if let Some((repeat, draw)) = row.perturbation {
                    ids.push(("perturbation".into(), Cell::Int(repeat as i64)));
                    ids.push(("perturbation_draw".into(), Cell::Text(draw)));
                }
                out.rows
                    .push(table::extraction_row(ids, x, &opts.params, opts.naming));
            }
            Err(e) => {
                let mut f = failure(&case.id, &e, "features");
                if f.file.is_empty() {
                    f.file = m.path.display().to_string();
                }
                f.message = match &row.perturbation {
                    Some((r, _)) => format!("ROI '{}' (perturbation {r}): {}", m.roi, f.message),
                    None => format!("ROI '{}': {}", m.roi, f.message),
                };
                out.failures.push(f);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Studies go largest first by files × typical file size; one large
    /// file (a structure set) among small slices does not make a study big.
    #[test]
    fn largest_studies_first() {
        let root = std::env::temp_dir().join(format!("ctrad-order-{}", std::process::id()));
        let study = |name: &str, files: usize, size: usize, odd: Option<usize>| {
            let dir = root.join(name).join("image");
            std::fs::create_dir_all(&dir).unwrap();
            for i in 0..files {
                std::fs::write(dir.join(format!("{i:03}.dcm")), vec![0u8; size]).unwrap();
            }
            if let Some(odd) = odd {
                let mask = root.join(name).join("mask");
                std::fs::create_dir_all(&mask).unwrap();
                std::fs::write(mask.join("RS.dcm"), vec![0u8; odd]).unwrap();
            }
            Case {
                id: name.into(),
                input: CaseInput::Study(root.join(name)),
            }
        };
        let file = root.join("one.nii.gz");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::write(&file, vec![0u8; 2500]).unwrap();
        let cases = vec![
            study("small_with_big_rtstruct", 4, 100, Some(50_000)),
            study("large", 40, 100, None),
            study("medium", 20, 100, Some(10)),
            Case {
                id: "pair".into(),
                input: CaseInput::Pair {
                    image: file,
                    mask: root.join("missing.nii.gz"),
                    label: None,
                    roi: None,
                },
            },
            Case {
                id: "missing".into(),
                input: CaseInput::Study(root.join("missing")),
            },
        ];
        let order: Vec<&str> = largest_first(&cases)
            .into_iter()
            .map(|i| cases[i].id.as_str())
            .collect();
        assert_eq!(
            order,
            [
                "large",
                "pair",
                "medium",
                "small_with_big_rtstruct",
                "missing"
            ]
        );
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn globs() {
        assert!(glob_match("gtv*", "GTV_Mass_CT"));
        assert!(glob_match("*mass*", "GTV_Mass_CT"));
        assert!(glob_match("tumour", "Tumour"));
        assert!(!glob_match("tumour", "Tumour2"));
        assert!(glob_match("t?mour", "tumour"));
    }

    #[test]
    fn part_files_round_trip_exactly() {
        let dir = std::env::temp_dir().join(format!("ctrad-part-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("a.part");
        let rows = vec![Row {
            ids: vec![
                ("study_id".into(), Cell::Text("a\tb\\c\nd".into())),
                ("n".into(), Cell::Int(3)),
            ],
            features: vec![
                ("x".into(), 0.1 + 0.2),
                ("nan".into(), f64::NAN),
                ("inf".into(), f64::NEG_INFINITY),
            ],
        }];
        write_part(&p, "k1", &rows).unwrap();
        assert!(read_part(&p, "k2").is_none());
        let back = read_part(&p, "k1").unwrap();
        assert_eq!(back[0].ids, rows[0].ids);
        assert_eq!(back[0].features[0].1.to_bits(), (0.1f64 + 0.2).to_bits());
        assert!(back[0].features[1].1.is_nan());
        assert_eq!(back[0].features[2].1, f64::NEG_INFINITY);
        // What a power cut can leave of an unsynced part: nothing, zeros, a prefix.
        let good = std::fs::read(&p).unwrap();
        for damaged in [
            vec![],
            vec![0u8; good.len()],
            good[..good.len() - 3].to_vec(),
        ] {
            std::fs::write(&p, &damaged).unwrap();
            assert!(read_part(&p, "k1").is_none(), "{damaged:?}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn shards_partition_the_ids() {
        let ids: Vec<String> = (0..300).map(|i| format!("P{i:03}")).collect();
        let mut counts = [0usize; 3];
        for id in &ids {
            let k = shard_of(id, 3);
            assert!((1..=3).contains(&k));
            counts[k - 1] += 1;
        }
        assert!(counts.iter().all(|&c| c > 70), "{counts:?}");
    }
}
