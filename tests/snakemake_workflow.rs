//! Past one machine: `ctrad merge` of sharded extractions, its refusals, and
//! the Snakemake workflow (pipelines/snakemake) run locally over the STS
//! studies in 3 shards, compared with one `ctrad extract` over all of them.

mod common;

use polars::prelude::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

/// The Snakemake release the workflow is tested with (installed in a venv
/// cached under target/).
const SNAKEMAKE_VERSION: &str = "9.27.1";

fn ctrad() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ctrad"))
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ctrad-snake-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn show(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Run `ctrad extract` over `studies` (optionally one shard); exit code 0 or 2
/// (2 = some study failed, as intended by the broken study).
fn extract(
    studies: &Path,
    params: &Path,
    out: &Path,
    csv: Option<&Path>,
    shard: Option<(usize, usize)>,
) {
    let mut c = ctrad();
    c.arg("extract")
        .arg(studies)
        .arg("--params")
        .arg(params)
        .arg("-o")
        .arg(out)
        .args(["--jobs", "2", "--quiet"]);
    if let Some(csv) = csv {
        c.arg("--csv").arg(csv);
    }
    if let Some((k, n)) = shard {
        c.arg("--shard").arg(format!("{k}/{n}"));
    }
    let o = c.output().unwrap();
    assert!(
        matches!(o.status.code(), Some(0 | 2)),
        "extract failed: {}",
        show(&o)
    );
}

fn merge(parts: &[PathBuf], out: &Path, csv: Option<&Path>) -> Output {
    let mut c = ctrad();
    c.arg("merge").args(parts).arg("-o").arg(out);
    if let Some(csv) = csv {
        c.arg("--csv").arg(csv);
    }
    c.output().unwrap()
}

/// A table and its file key-value metadata (including polars' own `ARROW:schema`).
fn read_parquet(path: &Path) -> (DataFrame, Vec<(String, String)>) {
    let mut r = ParquetReader::new(std::fs::File::open(path).unwrap());
    let kv = r
        .get_metadata()
        .unwrap()
        .key_value_metadata
        .iter()
        .flatten()
        .map(|kv| (kv.key.clone(), kv.value.clone().unwrap_or_default()))
        .collect();
    (r.finish().unwrap(), kv)
}

/// The merged table equals the single-process one: CSV and errors byte for
/// byte, the Parquet DataFrames (values, dtypes, column order) and metadata.
/// The ctrad entries of a file's metadata (to rewrite a table in a test).
fn ctrad_metadata(path: &Path) -> (DataFrame, Vec<(String, String)>) {
    let (df, meta) = read_parquet(path);
    (
        df,
        meta.into_iter()
            .filter(|(k, _)| k.starts_with("ctrad_"))
            .collect(),
    )
}

fn assert_same_tables(single: &Path, merged: &Path) {
    assert_same_tables_with(single, merged, true)
}

/// As [`assert_same_tables`]; without `exact_errors`, the errors files need
/// only list the same (study, stage) pairs (their paths may differ).
fn assert_same_tables_with(single: &Path, merged: &Path, exact_errors: bool) {
    let csv = |p: &Path| p.with_extension("csv");
    let errors = |p: &Path| {
        p.with_file_name(format!(
            "{}.errors.csv",
            p.file_stem().unwrap().to_string_lossy()
        ))
    };
    let (a, b) = (
        std::fs::read(csv(single)).unwrap(),
        std::fs::read(csv(merged)).unwrap(),
    );
    assert!(a == b, "merged CSV differs from the single-process CSV");
    let (a, b) = (
        std::fs::read_to_string(errors(single)).unwrap(),
        std::fs::read_to_string(errors(merged)).unwrap(),
    );
    if exact_errors {
        assert_eq!(a, b, "merged errors differ");
    } else {
        // (study, stage) of each line; these paths hold no commas.
        let studies = |t: &str| {
            let key = |l: &str| {
                let f: Vec<&str> = l.split(',').collect();
                (f[0].to_string(), f.get(2).map(|s| s.to_string()))
            };
            t.lines().map(key).collect::<Vec<_>>()
        };
        assert_eq!(studies(&a), studies(&b), "merged errors differ");
    }
    let ((da, ma), (db, mb)) = (read_parquet(single), read_parquet(merged));
    assert_eq!(da.schema(), db.schema());
    assert!(
        da.equals_missing(&db),
        "merged Parquet differs:\n{da}\n{db}"
    );
    assert_eq!(ma, mb, "file metadata differs");
    assert!(ma.iter().any(|(k, _)| k == "ctrad_params_hash"));
    assert!(
        std::fs::read(single).unwrap() == std::fs::read(merged).unwrap(),
        "Parquet files differ"
    );
}

/// Four small studies (three copies of the synthetic multi-phase study, two
/// ROIs each, and one that fails) — quick to extract.
fn small_studies(d: &Path) -> PathBuf {
    let studies = d.join("studies");
    for id in ["SYN_A", "SYN_B", "SYN_C"] {
        common::copy_dir(
            &root().join("testdata/studies/SYNTH_PANNET_001"),
            &studies.join(id),
        );
    }
    std::fs::create_dir_all(studies.join("BROKEN")).unwrap();
    std::fs::write(studies.join("BROKEN/junk.dcm"), b"not a DICOM file").unwrap();
    studies
}

fn params_c() -> PathBuf {
    root().join("pipelines/ibsi/config_c.yaml")
}

#[test]
fn merged_shards_equal_one_run_including_empty_shards_and_errors() {
    let d = temp_dir("merge");
    let studies = small_studies(&d);
    let single = d.join("single/features.parquet");
    extract(
        &studies,
        &params_c(),
        &single,
        Some(&single.with_extension("csv")),
        None,
    );
    // 7 shards for 4 studies: at least 4 parts have no rows.
    let n = 7;
    let parts: Vec<PathBuf> = (1..=n)
        .map(|k| d.join(format!("parts/p{k}.parquet")))
        .collect();
    for (k, p) in parts.iter().enumerate() {
        extract(&studies, &params_c(), p, None, Some((k + 1, n)));
    }
    // Shards without rows: those that got no SYN study (the broken one gives only an error).
    let empty = (1..=n)
        .filter(|k| {
            ["SYN_A", "SYN_B", "SYN_C"]
                .iter()
                .all(|id| ctrad::batch::shard_of(id, n) != *k)
        })
        .count();
    assert!(empty >= 4);
    let merged = d.join("merged/features.parquet");
    let o = merge(&parts, &merged, Some(&merged.with_extension("csv")));
    assert_eq!(
        o.status.code(),
        Some(2),
        "merge exits 2 when the merged errors list a failed study: {}",
        show(&o)
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains(&format!("({empty} without rows)")) && stderr.contains("18 rows"),
        "{stderr}"
    );
    assert_same_tables(&single, &merged);
    let errors = std::fs::read_to_string(d.join("merged/features.errors.csv")).unwrap();
    assert_eq!(
        errors.lines().count(),
        2,
        "header + the broken study: {errors}"
    );
    assert!(errors.contains("\"BROKEN\""));
    // The order of the parts on the command line does not matter.
    let mut reversed = parts.clone();
    reversed.reverse();
    let merged2 = d.join("merged2/features.parquet");
    merge(&reversed, &merged2, Some(&merged2.with_extension("csv")));
    assert_same_tables(&single, &merged2);
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn merge_refuses_parts_that_do_not_belong_together() {
    let d = temp_dir("refuse");
    let studies = small_studies(&d);
    let part = |name: &str| d.join(format!("parts/{name}.parquet"));
    extract(&studies, &params_c(), &part("s1"), None, Some((1, 2)));
    extract(&studies, &params_c(), &part("s2"), None, Some((2, 2)));
    let out = d.join("out/features.parquet");
    let refused = |parts: &[PathBuf], needles: &[&str]| {
        let o = merge(parts, &out, None);
        assert_eq!(
            o.status.code(),
            Some(1),
            "merge should refuse: {}",
            show(&o)
        );
        let err = String::from_utf8_lossy(&o.stderr).to_string();
        for n in needles {
            assert!(err.contains(n), "message lacks '{n}': {err}");
        }
        assert!(
            !out.exists(),
            "nothing is written when the merge is refused"
        );
        err
    };

    // Different parameters.
    extract(
        &studies,
        &root().join("pipelines/ibsi/config_b.yaml"),
        &part("s2_b"),
        None,
        Some((2, 2)),
    );
    let (s1, s2b) = (
        part("s1").display().to_string(),
        part("s2_b").display().to_string(),
    );
    let err = refused(
        &[part("s1"), part("s2_b")],
        &["parameters differ", "params hash", &s1, &s2b],
    );
    let hash = |p: &Path| {
        read_parquet(p)
            .1
            .into_iter()
            .find(|(k, _)| k == "ctrad_params_hash")
            .unwrap()
            .1
    };
    assert!(
        err.contains(&hash(&part("s1"))) && err.contains(&hash(&part("s2_b"))),
        "{err}"
    );

    // The same study in two parts (a part given twice under another name).
    std::fs::copy(part("s1"), part("s1_copy")).unwrap();
    std::fs::copy(
        d.join("parts/s1.errors.csv"),
        d.join("parts/s1_copy.errors.csv"),
    )
    .unwrap();
    // The first study (by id) of shard 1, with rows or errors, is named.
    let first = ["BROKEN", "SYN_A", "SYN_B", "SYN_C"]
        .into_iter()
        .find(|id| ctrad::batch::shard_of(id, 2) == 1)
        .unwrap();
    refused(
        &[part("s1"), part("s2"), part("s1_copy")],
        &[
            &format!("study '{first}' appears in both"),
            &s1,
            &part("s1_copy").display().to_string(),
        ],
    );

    // Another ctrad version (same table, rewritten with other metadata).
    let (mut df, mut meta) = ctrad_metadata(&part("s2"));
    for (k, v) in meta.iter_mut() {
        if k == "ctrad_version" {
            *v = "0.0.1-other".into();
        }
    }
    ctrad::table::write_parquet(&mut df, &part("s2_old"), &meta).unwrap();
    std::fs::copy(
        d.join("parts/s2.errors.csv"),
        d.join("parts/s2_old.errors.csv"),
    )
    .unwrap();
    refused(
        &[part("s1"), part("s2_old")],
        &["versions differ", "0.0.1-other", ctrad::VERSION],
    );

    // Different columns.
    let (df, meta) = ctrad_metadata(&part("s2"));
    let mut fewer = df.drop("morph_volume").unwrap();
    ctrad::table::write_parquet(&mut fewer, &part("s2_cols"), &meta).unwrap();
    refused(
        &[part("s1"), part("s2_cols")],
        &["different columns", "morph_volume"],
    );

    // Not a ctrad table (no metadata).
    let (mut df, _) = read_parquet(&part("s2"));
    ctrad::table::write_parquet(&mut df, &part("plain"), &[]).unwrap();
    refused(
        &[part("s1"), part("plain")],
        &["ctrad_version", "not a table written by `ctrad extract`"],
    );

    // The good pair merges.
    let o = merge(&[part("s1"), part("s2")], &out, None);
    assert_eq!(o.status.code(), Some(2), "{}", show(&o));
    assert!(out.is_file());
    std::fs::remove_dir_all(&d).unwrap();
}

// ---- the Snakemake workflow ---------------------------------------------------

/// Python, venv or pip missing: fail under CI, skip loudly elsewhere.
fn unavailable(why: String) -> Option<PathBuf> {
    if std::env::var_os("CI").is_some() {
        panic!("the Snakemake workflow test needs python3 with venv and pip under CI: {why}");
    }
    eprintln!("\n**********\nSKIPPING the Snakemake workflow test: {why}\n**********\n");
    None
}

/// `snakemake` from a venv cached in target/ (created on first use).
fn snakemake() -> Option<PathBuf> {
    let venv = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("snakemake-venv-{SNAKEMAKE_VERSION}"));
    let exe = venv.join("bin/snakemake");
    let marker = venv.join(".ctrad-complete");
    if marker.is_file() && exe.is_file() {
        return Some(exe);
    }
    let _ = std::fs::remove_dir_all(&venv);
    let python = std::env::var("CTRAD_PYTHON").unwrap_or_else(|_| "python3".into());
    let started = Instant::now();
    match Command::new(&python)
        .args(["-m", "venv"])
        .arg(&venv)
        .output()
    {
        Ok(o) if o.status.success() => {}
        Ok(o) => return unavailable(format!("`{python} -m venv` failed: {}", show(&o))),
        Err(e) => return unavailable(format!("cannot run {python}: {e}")),
    }
    let pip = Command::new(venv.join("bin/python"))
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .arg(format!("snakemake=={SNAKEMAKE_VERSION}"))
        .output();
    match pip {
        Ok(o) if o.status.success() && exe.is_file() => {}
        Ok(o) => {
            return unavailable(format!(
                "pip install snakemake=={SNAKEMAKE_VERSION} failed: {}",
                show(&o)
            ))
        }
        Err(e) => return unavailable(format!("cannot run pip: {e}")),
    }
    std::fs::write(&marker, SNAKEMAKE_VERSION).unwrap();
    eprintln!(
        "installed snakemake {SNAKEMAKE_VERSION} in {} ({:.0} s)",
        venv.display(),
        started.elapsed().as_secs_f64()
    );
    Some(exe)
}

fn run_workflow(snakemake: &Path, work: &Path, config: &str) -> (Output, f64) {
    let cfg = work.join("config.yaml");
    std::fs::write(&cfg, config).unwrap();
    let started = Instant::now();
    let o = Command::new(snakemake)
        .arg("-s")
        .arg(root().join("pipelines/snakemake/Snakefile"))
        .arg("--configfile")
        .arg(&cfg)
        .args(["--cores", "2"])
        .arg("--directory")
        .arg(work)
        .env("XDG_CACHE_HOME", work.join("cache"))
        .output()
        .unwrap();
    (o, started.elapsed().as_secs_f64())
}

#[test]
fn snakemake_workflow_in_three_shards_equals_one_extract() {
    let Some(td) = common::shared_testdata() else {
        return;
    };
    let Some(snakemake) = snakemake() else { return };
    let d = temp_dir("workflow");
    let studies = d.join("studies");
    for n in 1..=5 {
        common::copy_dir(
            &td.join(format!("sts_ct/STS_00{n}/dicom")),
            &studies.join(format!("STS_00{n}")),
        );
    }
    std::fs::create_dir_all(studies.join("STS_BROKEN")).unwrap();
    std::fs::write(studies.join("STS_BROKEN/junk.dcm"), b"not a DICOM file").unwrap();

    let started = Instant::now();
    let single = d.join("single/features.parquet");
    extract(
        &studies,
        &params_c(),
        &single,
        Some(&single.with_extension("csv")),
        None,
    );
    let t_single = started.elapsed().as_secs_f64();

    let q = |p: &Path| format!("'{}'", p.display());
    let config = format!(
        "studies: {}\nparams: {}\nctrad: {}\nrun_dir: {}\nshards: 3\nthreads: 1\nmem_mb: 1000\ncsv: true\n",
        q(&studies),
        q(&params_c()),
        q(Path::new(env!("CARGO_BIN_EXE_ctrad"))),
        q(&d.join("run")),
    );
    let (o, t_flow) = run_workflow(&snakemake, &d, &config);
    assert!(o.status.success(), "snakemake failed: {}", show(&o));
    let run = d.join("run");
    for k in 1..=3 {
        assert!(run.join(format!("parts/shard_{k}_of_3.parquet")).is_file());
        let log =
            std::fs::read_to_string(run.join(format!("logs/extract_shard_{k}_of_3.log"))).unwrap();
        assert!(log.contains("studies:"), "shard log: {log}");
    }
    let merge_log = std::fs::read_to_string(run.join("logs/merge.log")).unwrap();
    assert!(merge_log.contains("merged 3 parts"), "{merge_log}");
    assert_same_tables(&single, &run.join("features.parquet"));
    let errors = std::fs::read_to_string(run.join("features.errors.csv")).unwrap();
    assert!(errors.contains("\"STS_BROKEN\""), "{errors}");
    let rows = std::fs::read_to_string(run.join("features.csv"))
        .unwrap()
        .lines()
        .count();
    assert_eq!(rows, 6, "header + one row per STS study");

    // A second run has nothing to do.
    let (o, t_noop) = run_workflow(&snakemake, &d, &config);
    assert!(
        o.status.success() && String::from_utf8_lossy(&o.stderr).contains("Nothing to be done"),
        "{}",
        show(&o)
    );

    // Per-study mode (shards: 0): one job per study, same table.
    let per_study = config
        .replace("shards: 3", "shards: 0")
        .replace(&q(&d.join("run")), &q(&d.join("run_per_study")));
    let (o, t_per_study) = run_workflow(&snakemake, &d, &per_study);
    assert!(
        o.status.success(),
        "snakemake (per-study) failed: {}",
        show(&o)
    );
    assert!(d
        .join("run_per_study/parts/study_STS_003.parquet")
        .is_file());
    // Its errors name the linked study folder (run_per_study/single/ID/ID), so only their studies are compared.
    assert_same_tables_with(&single, &d.join("run_per_study/features.parquet"), false);

    eprintln!(
        "timings: single extract {t_single:.1} s; workflow 3 shards {t_flow:.1} s; no-op rerun {t_noop:.1} s; per-study {t_per_study:.1} s"
    );
    std::fs::remove_dir_all(&d).unwrap();
}
