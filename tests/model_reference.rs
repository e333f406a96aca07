//! Logistic fits, AUC and DeLong CIs against statsmodels / scikit-learn /
//! an independent numpy DeLong (scripts/model_reference.py).
//!
//! The script runs at test time in a Python virtual environment
//! (target/tmp/venv-model-ref, created with `pip install numpy scipy pandas
//! statsmodels scikit-learn` if needed; `CTRAD_REF_PYTHON` may name an interpreter
//! that already has them). Without Python or the packages the test is skipped
//! loudly, except under CI where it fails.

use ctrad::model::data::read_table;
use ctrad::model::evaluate::{auc, delong_ci};
use ctrad::model::{fit_table, FitSpec};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

const PKGS: [&str; 5] = ["numpy", "scipy", "pandas", "statsmodels", "scikit-learn"];

fn has_packages(py: &Path) -> bool {
    Command::new(py)
        .args(["-c", "import numpy, scipy, pandas, statsmodels, sklearn"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

fn unavailable(why: &str) -> Option<PathBuf> {
    if std::env::var_os("CI").is_some() {
        panic!("model reference test needs Python with {PKGS:?}: {why}");
    }
    eprintln!("\n**********\nSKIPPING model reference comparison: {why}\n**********\n");
    None
}

/// A Python interpreter with the reference packages, creating a venv if needed.
fn python() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("CTRAD_REF_PYTHON") {
        let p = PathBuf::from(p);
        if has_packages(&p) {
            return Some(p);
        }
    }
    let venv = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("venv-model-ref");
    let py = venv.join("bin/python");
    if py.exists() && has_packages(&py) {
        return Some(py);
    }
    let ok = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !ok {
        return unavailable("python3 -m venv failed (is python3 installed?)");
    }
    let ok = Command::new(&py)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .args(PKGS)
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !ok || !has_packages(&py) {
        return unavailable("pip install of the reference packages failed");
    }
    Some(py)
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(1e-300)
}

fn f(v: &Value) -> f64 {
    v.as_f64().expect("number")
}

#[test]
fn logistic_auc_delong_match_reference() {
    let Some(py) = python() else { return };
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("model-ref-out");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/model_reference.py");
    let st = Command::new(&py)
        .arg(&script)
        .arg(&dir)
        .status()
        .expect("run model_reference.py");
    assert!(st.success(), "model_reference.py failed");
    let reference: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("reference.json")).unwrap())
            .unwrap();

    let (mut max_coef, mut max_se) = (0.0f64, 0.0f64);
    for (name, file) in [("spector", "spector.csv"), ("synthetic", "synthetic.csv")] {
        let r = &reference[name];
        let predictors: Vec<String> = r["predictors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect();
        let table = read_table(&dir.join(file)).unwrap();
        let spec = FitSpec {
            outcome: r["outcome"].as_str().unwrap().to_string(),
            predictors: predictors.clone(),
            ..Default::default()
        };
        let m = fit_table(&table, &spec).unwrap();
        max_coef = max_coef.max(rel(m.intercept, f(&r["intercept"])));
        max_se = max_se.max(rel(m.intercept_std_error.unwrap(), f(&r["intercept_se"])));
        for p in &predictors {
            max_coef = max_coef.max(rel(
                *m.coefficients.get(p).unwrap(),
                f(&r["coefficients"][p]),
            ));
            max_se = max_se.max(rel(
                m.std_errors.get(p).unwrap().unwrap(),
                f(&r["std_errors"][p]),
            ));
        }
        assert!(
            (m.training.log_likelihood - f(&r["log_likelihood"])).abs() < 1e-8,
            "{name} log-likelihood"
        );
        assert!((m.training.aic - f(&r["aic"])).abs() < 1e-7, "{name} AIC");

        // AUC and DeLong on the linear predictor.
        let lp = m.linear_predictor(&table).unwrap();
        let ycol = table.column(&spec.outcome).unwrap();
        let rows: Vec<usize> = (0..table.nrows).collect();
        let y = ctrad::model::encode_outcome_like(&m, ycol, &rows).unwrap();
        let a = auc(&lp, &y);
        let ci = delong_ci(&lp, &y);
        let want_ci = r["auc_ci_delong"].as_array().unwrap();
        eprintln!(
            "{name}: AUC {a} vs sklearn {} (diff {:e}); DeLong CI {ci:?} vs {want_ci:?}",
            f(&r["auc_sklearn"]),
            (a - f(&r["auc_sklearn"])).abs()
        );
        assert!((a - f(&r["auc_sklearn"])).abs() < 1e-12, "{name} AUC");
        assert!(
            (ci[0] - f(&want_ci[0])).abs() < 1e-4 && (ci[1] - f(&want_ci[1])).abs() < 1e-4,
            "{name} DeLong CI"
        );
    }
    eprintln!("max relative difference vs statsmodels: coefficients {max_coef:e}, standard errors {max_se:e}");
    assert!(
        max_coef < 1e-6,
        "coefficients differ from statsmodels by {max_coef:e} (relative)"
    );
    assert!(
        max_se < 1e-6,
        "standard errors differ from statsmodels by {max_se:e} (relative)"
    );

    // Tied scores.
    let table = read_table(&dir.join("synthetic.csv")).unwrap();
    let ctrad::model::data::ColumnData::Numeric(x2) = table.column("x2").unwrap() else {
        panic!()
    };
    let ctrad::model::data::ColumnData::Numeric(yv) = table.column("y").unwrap() else {
        panic!()
    };
    let score: Vec<f64> = x2.iter().map(|v| -(v.unwrap().round_ties_even())).collect();
    let y: Vec<f64> = yv.iter().map(|v| v.unwrap()).collect();
    let t = &reference["ties"];
    let a = auc(&score, &y);
    let ci = delong_ci(&score, &y);
    let want = t["auc_ci_delong"].as_array().unwrap();
    eprintln!(
        "ties: AUC {a} vs {}; CI {ci:?} vs {want:?}",
        f(&t["auc_sklearn"])
    );
    assert!((a - f(&t["auc_sklearn"])).abs() < 1e-12);
    assert!((ci[0] - f(&want[0])).abs() < 1e-4 && (ci[1] - f(&want[1])).abs() < 1e-4);
}
