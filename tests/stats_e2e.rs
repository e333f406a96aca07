//! The README's signature example end to end through the CLI, on a synthetic
//! two-reader cohort (`ctrad::synth::write_reader_cohort`): extract → icc →
//! split → select → fit → predict → nomogram → dca. The selection must keep a
//! feature that measures the informative tumour HU and drop the volume, which
//! is informative too but differs between the readers.

use ctrad::model::data::{read_table, ColumnData};
use ctrad::model::select::pearson;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn ctrad(args: &[&str], cwd: &Path) {
    let o = Command::new(env!("CARGO_BIN_EXE_ctrad"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("run ctrad");
    assert!(
        o.status.success(),
        "ctrad {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&o.stderr)
    );
}

fn numeric(path: &Path, col: &str) -> Vec<f64> {
    let t = read_table(path).unwrap();
    let ColumnData::Numeric(v) = t.column(col).unwrap() else {
        panic!("{col} not numeric")
    };
    v.iter().map(|x| x.unwrap_or(f64::NAN)).collect()
}

#[test]
fn signature_example_recovers_the_informative_feature() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("stats-e2e");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let cases = ctrad::synth::write_reader_cohort(&dir, 60, 7).unwrap();
    let params = Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines/studies/pannet_ct.yaml");
    let params = params.to_str().unwrap();

    ctrad(
        &[
            "extract",
            "studies",
            "--params",
            params,
            "-o",
            "features.csv",
            "--quiet",
        ],
        &dir,
    );
    ctrad(
        &[
            "stats",
            "icc",
            "--table",
            "features.csv",
            "--subject",
            "study_id,phase",
            "--rater",
            "roi",
            "-o",
            "icc.csv",
        ],
        &dir,
    );
    ctrad(
        &[
            "stats",
            "split",
            "--table",
            "features.csv",
            "--where",
            "roi=Tumour_R1",
            "--clinical",
            "clinical.csv",
            "--outcome",
            "grade_g2g3",
            "--test-fraction",
            "0.3",
            "--seed",
            "1",
            "--train",
            "train.csv",
            "--test",
            "test.csv",
        ],
        &dir,
    );
    let mut select = vec![
        "stats",
        "select",
        "--table",
        "train.csv",
        "--outcome",
        "grade_g2g3",
    ];
    for fam in [
        "stat_*", "ih_*", "morph_*", "cm_*", "rlm_*", "szm_*", "ngt_*",
    ] {
        select.extend(["--features", fam]);
    }
    select.extend([
        "--icc",
        "icc.csv",
        "--icc-type",
        "ICC2",
        "--icc-min",
        "0.75",
        "--univariate",
        "mann-whitney",
        "--fdr",
        "0.05",
        "--max-corr",
        "0.9",
        "--mrmr",
        "5",
        "--lasso",
        "--folds",
        "5",
        "--seed",
        "1",
        "-o",
        "selection.json",
    ]);
    ctrad(&select, &dir);
    ctrad(
        &[
            "model",
            "fit",
            "--table",
            "train.csv",
            "--outcome",
            "grade_g2g3",
            "--predictors-from",
            "selection.json",
            "--penalty",
            "l2",
            "--standardize",
            "-o",
            "signature.json",
        ],
        &dir,
    );
    ctrad(
        &[
            "model",
            "predict",
            "--model",
            "signature.json",
            "--table",
            "test.csv",
            "--append",
            "--lp-column",
            "radscore",
            "-o",
            "test_scored.csv",
        ],
        &dir,
    );
    ctrad(
        &[
            "nomogram",
            "--model",
            "signature.json",
            "-o",
            "nomogram.svg",
        ],
        &dir,
    );
    ctrad(
        &[
            "model",
            "dca",
            "--model",
            "signature.json",
            "--table",
            "test.csv",
            "--bootstrap",
            "100",
            "--svg",
            "dca.svg",
            "-o",
            "dca.csv",
        ],
        &dir,
    );

    // The ICC step drops the volume, which reader 2 draws smaller.
    let sel: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("selection.json")).unwrap())
            .unwrap();
    let icc_step = sel["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["step"] == "icc")
        .unwrap();
    let dropped: Vec<&str> = icc_step["dropped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["feature"].as_str().unwrap())
        .collect();
    assert!(
        dropped.contains(&"morph_volume"),
        "ICC step kept the volume: {icc_step}"
    );
    let selected: Vec<String> = sel["selected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert!(
        !selected.iter().any(|s| s.starts_with("morph_")),
        "unreliable shape feature selected: {selected:?}"
    );

    // A selected feature measures the tumour HU (|r| > 0.95 on the training rows: the
    // correlation step may keep a discretised proxy such as ih_max over stat_mean).
    let train = dir.join("train.csv");
    let t = read_table(&train).unwrap();
    let ids = t.column("study_id").unwrap();
    let hu: Vec<f64> = (0..t.nrows)
        .map(|i| {
            let id = ids.label(i).unwrap();
            cases.iter().find(|c| c.study_id == id).unwrap().tumour_hu as f64
        })
        .collect();
    let best = selected
        .iter()
        .map(|s| (s, pearson(&numeric(&train, s), &hu).abs()))
        .fold(("", 0.0), |b, (s, r)| if r > b.1 { (s, r) } else { b });
    eprintln!(
        "selected {selected:?}; best match to tumour HU: {} (|r| = {:.4})",
        best.0, best.1
    );
    assert!(
        best.1 > 0.95,
        "no selected feature measures the tumour HU: {selected:?}"
    );

    // Rad-score column, nomogram and decision curves exist and make sense.
    let lp = numeric(&dir.join("test_scored.csv"), "radscore");
    assert!(lp.iter().all(|v| v.is_finite()));
    assert!(std::fs::read_to_string(dir.join("nomogram.svg"))
        .unwrap()
        .contains("<svg"));
    let d = read_table(&dir.join("dca.csv")).unwrap();
    let models = d.column("model").unwrap();
    let nb = numeric(&dir.join("dca.csv"), "net_benefit");
    let at = |m: &str, i: usize| -> f64 {
        (0..d.nrows)
            .filter(|&r| models.label(r).as_deref() == Some(m))
            .map(|r| nb[r])
            .nth(i)
            .unwrap()
    };
    // At threshold 0.3 (index 29) the signature beats treating everyone or no one.
    assert!(
        at("signature", 29) > at("treat_all", 29).max(0.0),
        "signature NB {}",
        at("signature", 29)
    );
}
