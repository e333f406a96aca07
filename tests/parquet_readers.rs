//! Every Parquet table ctrad writes opens in the readers users have: pyarrow 13
//! with pandas < 2.2 (environments pinned a few years back), the newest
//! pyarrow, pandas, polars and DuckDB — and their values equal the CSV's.
//!
//! `CTRAD_PYTHON` names a Python with the newest readers (`.ci/run` makes one
//! from `scripts/requirements-ci.txt`), `CTRAD_PYTHON_OLD` one with
//! `scripts/requirements-old-pyarrow.txt`. Each is required under CI.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

fn ctrad() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ctrad"))
}

fn run(c: &mut Command) {
    let o = c.output().unwrap();
    assert!(
        o.status.success(),
        "{c:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// The tables to check, as (Parquet, CSV) pairs: a batch over two STS studies,
/// a single-study run, a merge of two shards, and an enhancement table.
fn write_tables(d: &Path) -> Option<Vec<(PathBuf, PathBuf)>> {
    let td = common::shared_testdata()?;
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let studies = d.join("studies");
    for n in [1, 2] {
        common::copy_dir(
            &td.join(format!("sts_ct/STS_00{n}/dicom")),
            &studies.join(format!("STS_00{n}")),
        );
    }
    let params = root.join("pipelines/ibsi/config_c.yaml");
    let mut pairs = Vec::new();

    let (pq, csv) = (d.join("batch.parquet"), d.join("batch.csv"));
    run(ctrad()
        .arg("extract")
        .arg(&studies)
        .arg("--params")
        .arg(&params)
        .arg("-o")
        .arg(&pq)
        .arg("--csv")
        .arg(&csv)
        .args(["--jobs", "2", "--quiet"]));
    pairs.push((pq, csv));

    let nifti = td.join("sts_ct/STS_002/nifti");
    let (pq, csv) = (d.join("single.parquet"), d.join("single.csv"));
    for out in [&pq, &csv] {
        run(ctrad()
            .arg("extract")
            .arg("--image")
            .arg(nifti.join("CT_image.nii.gz"))
            .arg("--mask")
            .arg(nifti.join("CT_mask.nii.gz"))
            .arg("--params")
            .arg(&params)
            .arg("-o")
            .arg(out));
    }
    pairs.push((pq, csv));

    let mut parts = Vec::new();
    for k in 1..=2 {
        let part = d.join(format!("part{k}.parquet"));
        run(ctrad()
            .arg("extract")
            .arg(&studies)
            .arg("--params")
            .arg(&params)
            .arg("-o")
            .arg(&part)
            .args(["--shard", &format!("{k}/2"), "--quiet"]));
        parts.push(part);
    }
    let (pq, csv) = (d.join("merged.parquet"), d.join("merged.csv"));
    run(ctrad()
        .arg("merge")
        .args(&parts)
        .arg("-o")
        .arg(&pq)
        .arg("--csv")
        .arg(&csv));
    pairs.push((pq, csv));

    let features = d.join("synth.parquet");
    run(ctrad()
        .arg("extract")
        .arg(root.join("testdata/studies"))
        .arg("--params")
        .arg(root.join("pipelines/studies/pannet_ct.yaml"))
        .arg("-o")
        .arg(&features)
        .arg("--quiet"));
    let (pq, csv) = (d.join("enhancement.parquet"), d.join("enhancement.csv"));
    for out in [&pq, &csv] {
        run(ctrad()
            .args(["model", "enhancement", "--table"])
            .arg(&features)
            .arg("-o")
            .arg(out));
    }
    pairs.push((pq, csv));
    Some(pairs)
}

/// Run the reader script with `python` (named by `var`) over every table.
fn check_with(var: &str, needs: &str, pairs: &[(PathBuf, PathBuf)]) {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/parquet_readers.py");
    let python = std::env::var(var).unwrap_or_default();
    let usable = !python.is_empty()
        && Command::new(&python)
            .args(["-c", needs])
            .status()
            .is_ok_and(|s| s.success());
    if !usable {
        if std::env::var_os("CI").is_some() {
            panic!("{var} must name a Python with {needs:?} under CI");
        }
        eprintln!("\n**********\nSKIPPING the {var} Parquet readers: set {var} to a Python where {needs:?} works\n**********\n");
        return;
    }
    let mut c = Command::new(&python);
    c.arg(&script);
    for (pq, csv) in pairs {
        c.arg(pq).arg(csv);
    }
    let o = c.output().unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    println!("{var}:\n{stdout}");
    assert!(
        o.status.success(),
        "{var}: {stdout}{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn parquet_opens_in_old_and_new_readers_with_the_csv_values() {
    let d = std::env::temp_dir().join(format!("ctrad-parquet-readers-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    let Some(pairs) = write_tables(&d) else {
        return;
    };
    check_with(
        "CTRAD_PYTHON_OLD",
        "import pyarrow, pandas; assert pyarrow.__version__.startswith('13.')",
        &pairs,
    );
    check_with(
        "CTRAD_PYTHON",
        "import pyarrow, pandas, polars, duckdb",
        &pairs,
    );
    std::fs::remove_dir_all(&d).unwrap();
}
