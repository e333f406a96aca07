//! Batch extraction over study folders: the shared STS studies, failure
//! isolation, resumption after a kill, and the Parquet file read by Python.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

fn ctrad() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ctrad"))
}

/// `ctrad extract STUDIES --params PARAMS -o OUT`, to which tests add options.
fn extract(studies: &Path, params: impl AsRef<std::ffi::OsStr>, out: &Path) -> Command {
    let mut c = ctrad();
    c.arg("extract")
        .arg(studies)
        .arg("--params")
        .arg(params)
        .arg("-o")
        .arg(out);
    c
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ctrad-batch-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Copies of the STS studies' DICOM folders (`STS_00N/{image,mask}`).
fn sts_studies(dir: &Path, which: &[usize]) -> Option<PathBuf> {
    let td = common::shared_testdata()?;
    let studies = dir.join("studies");
    for &n in which {
        common::copy_dir(
            &td.join(format!("sts_ct/STS_00{n}/dicom")),
            &studies.join(format!("STS_00{n}")),
        );
    }
    Some(studies)
}

fn params() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("pipelines/ibsi/config_c.yaml")
}

fn read_csv(path: &Path) -> Vec<Vec<String>> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect()
}

#[test]
fn sts_batch_writes_parquet_csv_and_an_empty_errors_file() {
    let d = temp_dir("sts");
    let Some(studies) = sts_studies(&d, &[1, 2, 3, 4, 5]) else {
        return;
    };
    let out = d.join("features.parquet");
    let csv = d.join("features.csv");
    let status = ctrad()
        .args(["extract"])
        .arg(&studies)
        .arg("--params")
        .arg(params())
        .arg("-o")
        .arg(&out)
        .arg("--csv")
        .arg(&csv)
        .args(["--jobs", "2", "--quiet"])
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(0));
    assert!(out.is_file());
    let rows = read_csv(&csv);
    assert_eq!(rows.len(), 6, "header + one row per study");
    let header = &rows[0];
    for col in [
        "study_id",
        "phase",
        "roi",
        "series_instance_uid",
        "ctrad_version",
        "params_hash",
        "morph_volume",
    ] {
        assert!(header.contains(&col.to_string()), "missing column {col}");
    }
    let errors = std::fs::read_to_string(d.join("features.errors.csv")).unwrap();
    assert_eq!(errors.trim(), "study,file,stage,message");

    // The Parquet file opens in Python (polars and pandas) when they are installed.
    let script = format!(
        "import sys, polars as pl, pandas as pd\n\
         a = pl.read_parquet(r'{p}'); b = pd.read_parquet(r'{p}')\n\
         assert a.height == 5 and len(b) == 5, (a.height, len(b))\n\
         assert 'morph_volume' in a.columns and 'study_id' in b.columns\n\
         import pyarrow.parquet as pq\n\
         md = pq.read_metadata(r'{p}').metadata\n\
         assert b'ctrad_version' in md and b'ctrad_params' in md, md.keys()\n\
         print('python ok')\n",
        p = out.display()
    );
    let python = std::env::var("CTRAD_PYTHON").unwrap_or_else(|_| "python3".into());
    let has_packages = Command::new(&python)
        .args(["-c", "import polars, pandas, pyarrow"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if has_packages {
        let o = Command::new(&python)
            .args(["-c", &script])
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "python could not read the Parquet: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    } else if std::env::var_os("CI").is_some() {
        panic!("python3 with polars, pandas and pyarrow is required under CI (set CTRAD_PYTHON)");
    } else {
        eprintln!("\n**********\nSKIPPING the Python read check: polars/pandas/pyarrow not installed\n**********\n");
    }
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn a_corrupt_study_does_not_stop_the_batch() {
    let d = temp_dir("corrupt");
    let Some(studies) = sts_studies(&d, &[2, 3, 5]) else {
        return;
    };
    // Truncate one slice of STS_003.
    let victim = std::fs::read_dir(studies.join("STS_003/image"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .min()
        .unwrap();
    let bytes = std::fs::read(&victim).unwrap();
    std::fs::write(&victim, &bytes[..bytes.len() / 3]).unwrap();
    let out = d.join("features.csv");
    let status = extract(&studies, params(), &out)
        .args(["--jobs", "2", "--quiet"])
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(2), "exit code says some studies failed");
    let rows = read_csv(&out);
    let ids: Vec<&str> = rows[1..].iter().map(|r| r[0].as_str()).collect();
    assert_eq!(ids, vec!["STS_002", "STS_005"]);
    let errors = std::fs::read_to_string(d.join("features.errors.csv")).unwrap();
    let victim_name = victim.file_name().unwrap().to_string_lossy().to_string();
    assert!(
        errors.contains("STS_003") && errors.contains(&victim_name),
        "{errors}"
    );
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn a_killed_batch_resumes_to_the_same_table() {
    let d = temp_dir("resume");
    let Some(studies) = sts_studies(&d, &[1, 2, 3, 4, 5]) else {
        return;
    };
    let run = |out: &Path, extra: &[&str]| {
        extract(&studies, params(), out)
            .args(["--quiet"])
            .args(extra)
            .status()
            .unwrap()
    };
    // Uninterrupted reference run.
    let reference = d.join("reference.csv");
    assert!(run(&reference, &["--jobs", "2"]).success());

    // Kill -9 after two studies are persisted, then rerun.
    let out = d.join("resumed.csv");
    let mut child = extract(&studies, params(), &out)
        .args(["--quiet", "--jobs", "1"])
        .spawn()
        .unwrap();
    let state = d.join("resumed.ctrad-state");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
    loop {
        let done = std::fs::read_dir(&state)
            .map(|r| {
                r.filter(|e| {
                    e.as_ref()
                        .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "part"))
                })
                .count()
            })
            .unwrap_or(0);
        if done >= 2 || std::time::Instant::now() > deadline {
            break;
        }
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let _ = child.kill(); // SIGKILL
    let _ = child.wait();
    let finished_before = std::fs::read_dir(&state).unwrap().count();
    assert!(
        !out.exists() || finished_before == 5,
        "the final table must not exist after a kill"
    );
    assert!(run(&out, &["--jobs", "2"]).success());
    assert_eq!(
        std::fs::read_to_string(&reference).unwrap(),
        std::fs::read_to_string(&out).unwrap(),
        "resumed table differs from the uninterrupted one"
    );
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn synthetic_multiphase_study_gives_one_row_per_phase_and_roi() {
    let d = temp_dir("synthetic");
    let studies = d.join("studies");
    common::copy_dir(
        &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/studies/SYNTH_PANNET_001"),
        &studies.join("SYNTH_001"),
    );
    let out = d.join("features.csv");
    let o = extract(
        &studies,
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("pipelines/studies/pannet_ct.yaml"),
        &out,
    )
    .args(["--quiet"])
    .output()
    .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let rows = read_csv(&out);
    let h = &rows[0];
    let col = |n: &str| h.iter().position(|c| c == n).unwrap();
    let mut got: Vec<(String, String)> = rows[1..]
        .iter()
        .map(|r| (r[col("phase")].clone(), r[col("roi")].clone()))
        .collect();
    got.sort();
    let mut want = vec![];
    for p in ["arterial", "portal_venous", "unenhanced"] {
        for r in ["Pancreas", "Tumour"] {
            want.push((p.to_string(), r.to_string()));
        }
    }
    assert_eq!(got, want);
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn a_second_run_on_the_same_output_fails_clearly() {
    let d = temp_dir("lock");
    let Some(studies) = sts_studies(&d, &[1, 4, 5]) else {
        return;
    };
    let out = d.join("features.csv");
    let mut first = extract(&studies, params(), &out)
        .args(["--quiet", "--jobs", "1"])
        .spawn()
        .unwrap();
    // Wait until the first run holds the lock.
    let lock = d.join("features.lock");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !lock.exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert!(lock.exists(), "the first run never took the lock");
    let second = extract(&studies, params(), &out)
        .args(["--quiet", "--jobs", "1"])
        .output()
        .unwrap();
    assert!(first.wait().unwrap().success());
    assert!(!second.status.success());
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(
        err.contains("another ctrad run") && err.contains("features.lock"),
        "{err}"
    );
    // The first run's table is complete and uncorrupted.
    assert_eq!(read_csv(&out).len(), 4);
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn ctrl_c_stops_cleanly_and_a_rerun_completes() {
    let d = temp_dir("sigint");
    let Some(studies) = sts_studies(&d, &[1, 2, 3, 4, 5]) else {
        return;
    };
    let out = d.join("features.csv");
    let mut child = extract(&studies, params(), &out)
        .args(["--quiet", "--jobs", "1"])
        .spawn()
        .unwrap();
    let state = d.join("features.ctrad-state");
    let parts = || {
        std::fs::read_dir(&state)
            .map(|r| {
                r.filter(|e| {
                    e.as_ref()
                        .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "part"))
                })
                .count()
            })
            .unwrap_or(0)
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
    while parts() < 1 && std::time::Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    // Ctrl-C: SIGINT to the process.
    let _ = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    let status = child.wait().unwrap();
    let finished = parts();
    if status.code() == Some(130) {
        assert!(
            !out.exists(),
            "an interrupted run must not write the final table"
        );
        assert!((1..5).contains(&finished), "{finished} studies kept");
    } else {
        // The run finished before the signal arrived.
        assert_eq!(status.code(), Some(0));
    }
    let rerun = extract(&studies, params(), &out)
        .args(["--jobs", "2"])
        .output()
        .unwrap();
    assert!(rerun.status.success());
    let log = String::from_utf8_lossy(&rerun.stderr);
    assert!(
        log.contains(&format!("{} reused", finished.min(5))),
        "{log}"
    );
    assert_eq!(read_csv(&out).len(), 6);
    std::fs::remove_dir_all(&d).unwrap();
}
