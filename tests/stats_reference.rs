//! ICC, decision curves, univariate tests, mRMR and the LASSO path against
//! pingouin, dcurves, scipy, mrmr-selection and scikit-learn.
//!
//! The reference values are committed in `testdata/stats_reference/`, written by
//! `scripts/stats_reference.py` in a virtual environment (the package versions
//! are in its `reference.json`); no Python runs at test time.

use ctrad::model::data::{read_table, ColumnData, Table};
use ctrad::model::dca::{dca, TREAT_ALL, TREAT_NONE};
use ctrad::model::icc::{icc_table, IccSpec, ICC_TYPES};
use serde_json::Value;
use std::path::PathBuf;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/stats_reference")
}

fn reference() -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir().join("reference.json")).unwrap()).unwrap()
}

fn f(v: &Value) -> f64 {
    v.as_f64().expect("number")
}

fn numeric(t: &Table, name: &str) -> Vec<f64> {
    let ColumnData::Numeric(v) = t.column(name).unwrap() else {
        panic!("{name} is not numeric")
    };
    v.iter().map(|x| x.unwrap_or(f64::NAN)).collect()
}

/// pingouin's names of the six forms, in ctrad's order.
const PINGOUIN_TYPES: [&str; 6] = [
    "ICC(1,1)", "ICC(A,1)", "ICC(C,1)", "ICC(1,k)", "ICC(A,k)", "ICC(C,k)",
];

#[test]
fn icc_equals_pingouin() {
    let r = reference();
    let table = read_table(&dir().join("icc_long.csv")).unwrap();
    let mut max_icc = 0.0f64;
    let mut max_ci = 0.0f64;
    let mut max_p = 0.0f64;
    for (set, raters) in [("r1,r2,r3", vec![]), ("r1,r2", vec!["r1", "r2"])] {
        let spec = IccSpec {
            subject: vec!["subject".into()],
            rater: "reader".into(),
            raters: raters.iter().map(|s| s.to_string()).collect(),
            features: vec!["f_*".into()],
        };
        let out = icc_table(&table, &spec).unwrap();
        assert_eq!(
            out.len(),
            5,
            "f_reliable, f_noisy, f_bias, f_missing, f_const"
        );
        for fi in &out {
            if fi.feature == "f_const" {
                assert!(fi.result.values.iter().all(|v| v.icc.is_nan()));
                assert!(fi.result.note.as_deref().unwrap().contains("constant"));
                continue;
            }
            let want = &r["icc"][set][&fi.feature];
            assert_eq!(
                fi.n_subjects as u64,
                want["n_subjects"].as_u64().unwrap(),
                "{set} {}",
                fi.feature
            );
            for (k, v) in fi.result.values.iter().enumerate() {
                let w = &want["rows"][k];
                assert_eq!(w["type"].as_str().unwrap(), PINGOUIN_TYPES[k]);
                assert_eq!(v.kind, ICC_TYPES[k]);
                max_icc = max_icc.max((v.icc - f(&w["icc"])).abs());
                max_ci = max_ci
                    .max((v.ci_low - f(&w["ci"][0])).abs())
                    .max((v.ci_high - f(&w["ci"][1])).abs());
                assert!((v.f - f(&w["f"])).abs() <= 1e-9 * f(&w["f"]).abs());
                assert_eq!(v.df1, f(&w["df1"]));
                assert_eq!(v.df2, f(&w["df2"]));
                max_p = max_p.max((v.p_value - f(&w["p"])).abs() / f(&w["p"]).max(1e-300));
            }
        }
    }
    // pingouin's own example: 8 wines × 4 judges.
    let wine = read_table(&dir().join("icc_wine.csv")).unwrap();
    let spec = IccSpec {
        subject: vec!["Wine".into()],
        rater: "Judge".into(),
        features: vec!["Scores".into()],
        ..Default::default()
    };
    let out = icc_table(&wine, &spec).unwrap();
    for (v, w) in out[0]
        .result
        .values
        .iter()
        .zip(r["icc_wine"].as_array().unwrap())
    {
        max_icc = max_icc.max((v.icc - f(&w["icc"])).abs());
        max_ci = max_ci
            .max((v.ci_low - f(&w["ci"][0])).abs())
            .max((v.ci_high - f(&w["ci"][1])).abs());
    }
    eprintln!(
        "ICC vs pingouin: max |ΔICC| {max_icc:e}, max |ΔCI| {max_ci:e}, max relative Δp {max_p:e}"
    );
    assert!(max_icc < 1e-9, "ICC differs from pingouin by {max_icc:e}");
    assert!(max_ci < 1e-9, "ICC CI differs from pingouin by {max_ci:e}");
    assert!(
        max_p < 1e-7,
        "ICC p-value differs from pingouin by {max_p:e} (relative)"
    );
}

#[test]
fn net_benefit_equals_dcurves() {
    let r = reference();
    let table = read_table(&dir().join("dca.csv")).unwrap();
    let y = numeric(&table, "y");
    let thresholds: Vec<f64> = r["dca"]["thresholds"]
        .as_array()
        .unwrap()
        .iter()
        .map(f)
        .collect();
    // Our threshold grammar gives the same doubles as Python's i/100.
    assert_eq!(
        ctrad::model::dca::parse_thresholds("0:0.99:0.01").unwrap(),
        thresholds
    );
    let names = ["p_model", "p_coarse", "p_weak"];
    let models: Vec<(String, Vec<f64>)> = names
        .iter()
        .map(|n| (n.to_string(), numeric(&table, n)))
        .collect();
    let mut max_diff = 0.0f64;
    for (prev, key, models) in [
        (None, "dca", &models[..]),
        (Some(0.2), "dca_prevalence_0.2", &models[..1]),
    ] {
        let d = dca(models, &y, &thresholds, prev, 0, 1).unwrap();
        let want = if key == "dca" {
            &r["dca"]["curves"]
        } else {
            &r[key]
        };
        for c in &d.curves {
            let ref_name = match c.model.as_str() {
                TREAT_ALL => "all",
                TREAT_NONE => "none",
                m => m,
            };
            let w = want[ref_name]["net_benefit"].as_array().unwrap();
            assert_eq!(w.len(), c.points.len());
            for (p, wv) in c.points.iter().zip(w) {
                max_diff = max_diff.max((p.net_benefit - f(wv)).abs());
            }
        }
    }
    eprintln!("net benefit vs dcurves: max |Δ| {max_diff:e}");
    assert!(
        max_diff < 1e-9,
        "net benefit differs from dcurves by {max_diff:e}"
    );
}

fn select_data() -> (Table, Vec<String>, Vec<bool>) {
    let t = read_table(&dir().join("select.csv")).unwrap();
    let names: Vec<String> = (1..=12).map(|j| format!("x{j}")).collect();
    let y: Vec<bool> = numeric(&t, "y").iter().map(|&v| v > 0.5).collect();
    (t, names, y)
}

#[test]
fn mann_whitney_and_bh_equal_scipy() {
    let r = reference();
    let (t, names, y) = select_data();
    let p: Vec<f64> = names
        .iter()
        .map(|n| ctrad::model::select::mann_whitney_p(&numeric(&t, n), &y))
        .collect();
    let q = ctrad::model::select::benjamini_hochberg(&p);
    let rel = |a: f64, b: &Value| (a - f(b)).abs() / f(b).max(1e-300);
    let mut max = 0.0f64;
    for j in 0..names.len() {
        max = max
            .max(rel(p[j], &r["mann_whitney"]["p"][j]))
            .max(rel(q[j], &r["mann_whitney"]["q_bh"][j]));
    }
    eprintln!("Mann–Whitney p and BH q vs scipy: max relative Δ {max:e}");
    assert!(max < 1e-9, "{max:e}");
}

#[test]
fn mrmr_ranking_equals_mrmr_selection() {
    let r = reference();
    let (t, names, y) = select_data();
    let x: Vec<Vec<f64>> = names.iter().map(|n| numeric(&t, n)).collect();
    let k = r["mrmr"]["K"].as_u64().unwrap() as usize;
    let ours: Vec<&str> = ctrad::model::select::mrmr(&x, &y, k)
        .iter()
        .map(|(j, _)| names[*j].as_str())
        .collect();
    let want: Vec<&str> = r["mrmr"]["selected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    eprintln!("mRMR: ctrad {ours:?}, mrmr-selection {want:?}");
    assert_eq!(ours, want);
}

#[test]
fn lasso_path_equals_scikit_learn() {
    use ctrad::model::logistic::{fit, FitOptions, Penalty};
    let r = reference();
    let (t, names, y) = select_data();
    let yv: Vec<f64> = y.iter().map(|&e| e as u8 as f64).collect();
    let cols: Vec<Vec<f64>> = names.iter().map(|n| numeric(&t, n)).collect();
    let n = yv.len();
    let x = nalgebra::DMatrix::from_fn(n, names.len(), |i, j| cols[j][i]);
    let stats: Vec<(f64, f64)> = cols
        .iter()
        .map(|c| {
            let (m, v) = ctrad::model::stats::mean_var(c);
            (m, v.sqrt())
        })
        .collect();
    let mut max = 0.0f64;
    for p in r["lasso_path"]["path"].as_array().unwrap() {
        let opt = FitOptions {
            penalty: Penalty::L1,
            lambda: f(&p["lambda"]),
            standardize: true,
            max_iter: 200,
        };
        let ft = fit(&x, &yv, None, &opt).unwrap();
        assert!(ft.converged);
        // Coefficients of the z-scored features and the intercept at their means.
        let mut b0 = ft.beta[0];
        for (j, (m, sd)) in stats.iter().enumerate() {
            let bz = ft.beta[j + 1] * sd;
            b0 += ft.beta[j + 1] * m;
            max = max.max((bz - f(&p["coef_z"][j])).abs());
            assert_eq!(
                bz == 0.0,
                f(&p["coef_z"][j]) == 0.0,
                "λ {}: {} zero in one fit only",
                opt.lambda,
                names[j]
            );
        }
        max = max.max((b0 - f(&p["intercept"])).abs());
    }
    eprintln!("LASSO path vs scikit-learn: max |Δβ| {max:e}");
    assert!(max < 1e-6, "{max:e}");
}
