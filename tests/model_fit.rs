//! Model fitting (library and CLI): known coefficients, categorical coding,
//! penalties, clear errors, and the fit → predict → evaluate → nomogram chain.

use ctrad::model::data::{ColumnData, Table};
use ctrad::model::logistic::Penalty;
use ctrad::model::stats::{expit, SplitMix64};
use ctrad::model::{fit_table, FitSpec};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Standard normal by Box–Muller from the in-crate PRNG.
fn normal(r: &mut SplitMix64) -> f64 {
    let u1 = (r.next_u64() >> 11) as f64 / (1u64 << 53) as f64 + 1e-300;
    let u2 = (r.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}
fn unif(r: &mut SplitMix64) -> f64 {
    (r.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

/// Synthetic PanNET-like cohort with known coefficients:
/// logit p = −4 + 1.2·margin + 0.08·size + 0.9·symptoms + 1.5·(tp_ratio − 1) + site effect (head 0, body 0.5, tail −0.5).
fn cohort(n: usize, seed: u64) -> Table {
    let mut r = SplitMix64::new(seed);
    let mut cols: Vec<Vec<Option<f64>>> = vec![vec![]; 5];
    let (mut ids, mut site) = (vec![], vec![]);
    for i in 0..n {
        let margin = (unif(&mut r) < 0.35) as i32 as f64;
        let size = (25.0 + 12.0 * normal(&mut r)).clamp(5.0, 80.0).round();
        let symptoms = (unif(&mut r) < 0.3) as i32 as f64;
        let tp = ((1.1 + 0.3 * normal(&mut r)) * 100.0).round() / 100.0;
        let s = ["head", "body", "tail"][r.below(3)];
        let se = match s {
            "body" => 0.5,
            "tail" => -0.5,
            _ => 0.0,
        };
        let eta = -4.0 + 1.2 * margin + 0.08 * size + 0.9 * symptoms + 1.5 * (tp - 1.0) + se;
        let y = (unif(&mut r) < expit(eta)) as i32 as f64;
        for (c, v) in cols.iter_mut().zip([margin, size, symptoms, tp, y]) {
            c.push(Some(v));
        }
        ids.push(Some(format!("P{i:04}")));
        site.push(Some(s.to_string()));
    }
    let names = [
        "margin_ill_defined",
        "tumour_size_mm",
        "symptoms",
        "tp_ratio_portal_venous",
        "grade_g2g3",
    ];
    let mut t = Table {
        names: vec!["study_id".into()],
        columns: vec![ColumnData::Text(ids)],
        nrows: n,
    };
    for (nm, c) in names.iter().zip(cols) {
        t.names.push(nm.to_string());
        t.columns.push(ColumnData::Numeric(c));
    }
    t.names.push("site".into());
    t.columns.push(ColumnData::Text(site));
    t
}

fn spec(preds: &[&str]) -> FitSpec {
    FitSpec {
        outcome: "grade_g2g3".into(),
        predictors: preds.iter().map(|s| s.to_string()).collect(),
        cv_folds: 5,
        seed: 7,
        ..Default::default()
    }
}

const ALL: [&str; 5] = [
    "margin_ill_defined",
    "tumour_size_mm",
    "symptoms",
    "tp_ratio_portal_venous",
    "site",
];

#[test]
fn recovers_known_coefficients_with_categorical_coding() {
    let t = cohort(4000, 1);
    let m = fit_table(&t, &spec(&ALL)).unwrap();
    let names: Vec<&str> = m.terms.iter().map(|t| t.name.as_str()).collect();
    // Reference level = first sorted level ("body").
    assert_eq!(
        names,
        [
            "margin_ill_defined",
            "tumour_size_mm",
            "symptoms",
            "tp_ratio_portal_venous",
            "site=head",
            "site=tail"
        ]
    );
    assert_eq!(m.predictors[4].reference_level.as_deref(), Some("body"));
    // Truth on this coding: head − body = −0.5, tail − body = −1.0; intercept −4 − 1.5 + 0.5.
    let truth = [
        ("margin_ill_defined", 1.2),
        ("tumour_size_mm", 0.08),
        ("symptoms", 0.9),
        ("tp_ratio_portal_venous", 1.5),
        ("site=head", -0.5),
        ("site=tail", -1.0),
    ];
    for (k, want) in truth {
        let b = *m.coefficients.get(k).unwrap();
        let se = m.std_errors.get(k).unwrap().unwrap();
        assert!((b - want).abs() < 4.0 * se, "{k}: {b} ± {se}, truth {want}");
        let ci = m.odds_ratio_ci95.get(k).unwrap().unwrap();
        assert!(ci[0] < b.exp() && b.exp() < ci[1]);
    }
    assert!((m.intercept - (-5.0)).abs() < 4.0 * m.intercept_std_error.unwrap());
    assert_eq!(m.training.n, 4000);
    assert_eq!(m.predictors[1].unit.as_deref(), Some("mm"));
    assert_eq!(m.predictors[0].unit.as_deref(), Some("0/1"));
    assert!((m.training.aic - (-2.0 * m.training.log_likelihood + 14.0)).abs() < 1e-9);
}

#[test]
fn penalties() {
    let t = cohort(300, 2);
    let plain = fit_table(&t, &spec(&ALL)).unwrap();
    // Ridge with a negligible λ reproduces the MLE.
    let mut s = spec(&ALL);
    s.penalty = Penalty::L2;
    s.lambda = Some(1e-10);
    let ridge0 = fit_table(&t, &s).unwrap();
    for (k, v) in &plain.coefficients.0 {
        assert!(
            (ridge0.coefficients.get(k).unwrap() - v).abs() < 1e-6 * v.abs().max(1.0),
            "{k}"
        );
    }
    // A large ridge λ shrinks every coefficient towards 0.
    s.lambda = Some(1.0);
    let big = fit_table(&t, &s).unwrap();
    let norm =
        |m: &ctrad::model::LogisticModel| m.coefficients.0.iter().map(|(_, v)| v * v).sum::<f64>();
    assert!(norm(&big) < 0.1 * norm(&plain));
    // LASSO: λ above λ_max zeroes everything; CV is seeded and repeatable.
    s.penalty = Penalty::L1;
    s.standardize = true;
    s.lambda = Some(10.0);
    let zero = fit_table(&t, &s).unwrap();
    assert!(zero.coefficients.0.iter().all(|(_, v)| *v == 0.0));
    assert!(zero.std_errors.0.iter().all(|(_, v)| v.is_none()));
    s.lambda = None;
    let cv1 = fit_table(&t, &s).unwrap();
    let cv2 = fit_table(&t, &s).unwrap();
    assert_eq!(cv1.penalty.lambda, cv2.penalty.lambda);
    assert_eq!(cv1.penalty.lambda_selection, "cv");
    assert_eq!(cv1.penalty.cv_curve.len(), 50);
    assert!(
        cv1.coefficients.0.iter().any(|(_, v)| *v != 0.0),
        "CV chose an all-zero model"
    );
}

#[test]
fn clear_errors() {
    let mut t = cohort(200, 3);
    // Unknown column: lists available columns.
    let e = fit_table(&t, &spec(&["margin_ill_defined", "nope"]))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("'nope'") && e.contains("available columns") && e.contains("tumour_size_mm"),
        "{e}"
    );
    // Collinearity: names the dependent columns.
    let size = t.column("tumour_size_mm").unwrap().clone();
    let ColumnData::Numeric(v) = &size else {
        panic!()
    };
    t.names.push("size_cm".into());
    t.columns.push(ColumnData::Numeric(
        v.iter().map(|x| x.map(|x| x / 10.0)).collect(),
    ));
    let e = fit_table(
        &t,
        &spec(&["margin_ill_defined", "tumour_size_mm", "size_cm"]),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("collinear")
            && e.contains("tumour_size_mm")
            && e.contains("size_cm")
            && !e.contains("margin_ill_defined"),
        "{e}"
    );
    // Ridge copes with it.
    let mut s = spec(&["margin_ill_defined", "tumour_size_mm", "size_cm"]);
    s.penalty = Penalty::L2;
    s.lambda = Some(0.01);
    assert!(fit_table(&t, &s).is_ok());
    // Separation: a predictor equal to the outcome (quasi-complete with a shift).
    let ColumnData::Numeric(y) = t.column("grade_g2g3").unwrap().clone() else {
        panic!()
    };
    t.names.push("leak".into());
    t.columns.push(ColumnData::Numeric(
        y.iter()
            .enumerate()
            .map(|(i, v)| v.map(|v| v * 10.0 + (i % 3) as f64))
            .collect(),
    ));
    let e = fit_table(&t, &spec(&["margin_ill_defined", "leak"]))
        .unwrap_err()
        .to_string();
    assert!(e.contains("separation") && e.contains("'leak'"), "{e}");
    // Missing values: error with counts, or dropped on request.
    if let ColumnData::Numeric(v) = &mut t.columns[2] {
        v[5] = None;
        v[9] = Some(f64::NAN);
    }
    let e = fit_table(&t, &spec(&["margin_ill_defined", "tumour_size_mm"]))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("2 of 200 rows")
            && e.contains("'tumour_size_mm': 2")
            && e.contains("--drop-missing"),
        "{e}"
    );
    let mut s = spec(&["margin_ill_defined", "tumour_size_mm"]);
    s.drop_missing = true;
    let m = fit_table(&t, &s).unwrap();
    assert_eq!((m.training.n, m.training.dropped_missing), (198, 2));
    // Outcome with three values.
    let e = fit_table(
        &t,
        &FitSpec {
            outcome: "site".into(),
            predictors: vec!["symptoms".into()],
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(e.to_string().contains("exactly two values"), "{e}");
}

fn write_csv(t: &Table, path: &Path) {
    let mut df = t.to_dataframe().unwrap();
    ctrad::table::write_table(&mut df, path, &[]).unwrap();
}

fn ctrad(args: &[&str]) -> std::process::Output {
    let out = Command::new(env!("CARGO_BIN_EXE_ctrad"))
        .args(args)
        .output()
        .unwrap();
    if !out.status.success() {
        eprintln!(
            "ctrad {args:?} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    out
}

#[test]
fn cli_fit_predict_evaluate_nomogram() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("model-cli");
    std::fs::create_dir_all(&dir).unwrap();
    let p = |n: &str| dir.join(n).display().to_string();
    write_csv(&cohort(250, 4), &dir.join("cohort.csv"));
    let preset = Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines/models/grade_nomogram.yaml");
    let o = ctrad(&[
        "model",
        "fit",
        "--table",
        &p("cohort.csv"),
        "--preset",
        preset.to_str().unwrap(),
        "-o",
        &p("model.json"),
    ]);
    assert!(o.status.success());
    let model: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p("model.json")).unwrap()).unwrap();
    for k in [
        "intercept",
        "coefficients",
        "std_errors",
        "z_values",
        "p_values",
        "odds_ratios",
        "odds_ratio_ci95",
        "predictors",
        "training",
        "penalty",
    ] {
        assert!(model.get(k).is_some(), "model.json lacks {k}");
    }
    assert!(model["coefficients"]["tp_ratio_portal_venous"].is_f64());
    assert_eq!(model["predictors"][1]["unit"], "mm");
    assert!(model["disclaimer"]
        .as_str()
        .unwrap()
        .contains("not clinically validated"));

    // Same fit from flags.
    let o = ctrad(&[
        "model",
        "fit",
        "--table",
        &p("cohort.csv"),
        "--outcome",
        "grade_g2g3",
        "--predictors",
        "margin_ill_defined,tumour_size_mm,symptoms,tp_ratio_portal_venous",
        "-o",
        &p("model2.json"),
    ]);
    assert!(o.status.success());
    let m2: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p("model2.json")).unwrap()).unwrap();
    assert_eq!(model["coefficients"], m2["coefficients"]);

    let o = ctrad(&[
        "model",
        "predict",
        "--model",
        &p("model.json"),
        "--table",
        &p("cohort.csv"),
        "-o",
        &p("pred.csv"),
    ]);
    assert!(o.status.success());
    let pred = std::fs::read_to_string(p("pred.csv")).unwrap();
    assert!(
        pred.starts_with("study_id,linear_predictor,probability\nP0000,"),
        "{}",
        &pred[..80]
    );
    assert_eq!(pred.lines().count(), 251);

    let o = ctrad(&[
        "model",
        "evaluate",
        "--model",
        &p("model.json"),
        "--table",
        &p("cohort.csv"),
        "--outcome",
        "grade_g2g3",
        "-o",
        &p("report.json"),
        "--bootstrap",
        "200",
        "--seed",
        "42",
        "--roc-svg",
        &p("roc.svg"),
        "--calibration-svg",
        &p("cal.svg"),
    ]);
    assert!(o.status.success());
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p("report.json")).unwrap()).unwrap();
    let auc = r["auc"].as_f64().unwrap();
    let ci = [
        r["auc_ci_delong"][0].as_f64().unwrap(),
        r["auc_ci_delong"][1].as_f64().unwrap(),
    ];
    let bci = [
        r["auc_ci_bootstrap"][0].as_f64().unwrap(),
        r["auc_ci_bootstrap"][1].as_f64().unwrap(),
    ];
    assert!(
        auc > 0.6 && auc < 1.0 && ci[0] < auc && auc < ci[1] && bci[0] < auc && auc < bci[1],
        "{r}"
    );
    // Apparent performance on the development data: slope 1 and CITL 0 exactly (MLE score equations).
    assert!((r["calibration_slope"].as_f64().unwrap() - 1.0).abs() < 1e-6);
    assert!(r["calibration_intercept"].as_f64().unwrap().abs() < 1e-6);
    let corrected = r["optimism_corrected_auc"].as_f64().unwrap();
    assert!(
        corrected < auc && corrected > auc - 0.1,
        "optimism-corrected {corrected} vs {auc}"
    );
    for k in [
        "youden_threshold",
        "sensitivity",
        "specificity",
        "ppv",
        "npv",
    ] {
        let v = r[k].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&v), "{k} = {v}");
    }
    assert_eq!(r["hosmer_lemeshow"]["df"], 8);
    assert!(std::fs::read_to_string(p("roc.svg"))
        .unwrap()
        .contains("<polyline"));
    assert!(std::fs::read_to_string(p("cal.svg"))
        .unwrap()
        .contains("<circle"));

    let o = ctrad(&[
        "nomogram",
        "--model",
        &p("model.json"),
        "-o",
        &p("nomogram.svg"),
        "--points-csv",
        &p("points.csv"),
    ]);
    assert!(o.status.success());
    let svg = std::fs::read_to_string(p("nomogram.svg")).unwrap();
    assert!(svg.contains("not clinically validated") && svg.contains("tumour_size_mm (mm)"));
    let pts = std::fs::read_to_string(p("points.csv")).unwrap();
    assert!(pts.starts_with("predictor,value,points\n") && pts.contains("symptoms,"));

    // Errors reach the user with a non-zero exit.
    let o = ctrad(&[
        "model",
        "fit",
        "--table",
        &p("cohort.csv"),
        "--outcome",
        "grade_g2g3",
        "--predictors",
        "bogus",
        "-o",
        &p("x.json"),
    ]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("available columns"));
}
