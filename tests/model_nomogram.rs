//! Nomogram points against the rms formula computed by hand, and SVG well-formedness.

use ctrad::model::nomogram::{build, points_csv, render_svg, AxisRange};
use ctrad::model::LogisticModel;

/// Model: logit p = −3 + 0.05·age − 0.5·size + 1.0·[sex = M];
/// age 20–80 (contribution range 3), size 0–10 (range 5, the widest), sex F/M (range 1).
fn model() -> LogisticModel {
    let json = r#"{
      "model": "binary_logistic_regression", "ctrad_version": "test", "disclaimer": "x",
      "outcome": "event", "outcome_event": "1", "outcome_reference": "0", "id_column": null,
      "predictors": [
        {"name": "age", "kind": "numeric", "unit": "years", "min": 20, "max": 80, "mean": 50, "sd": 10,
         "quantiles": {}, "display_range": [25, 75], "levels": [], "reference_level": null, "level_counts": [], "numeric_levels": true},
        {"name": "size", "kind": "numeric", "unit": "mm", "min": 0, "max": 10, "mean": 5, "sd": 2,
         "quantiles": {}, "display_range": [1, 9], "levels": [], "reference_level": null, "level_counts": [], "numeric_levels": true},
        {"name": "sex", "kind": "categorical", "unit": null, "min": null, "max": null, "mean": null, "sd": null,
         "quantiles": {}, "display_range": null, "levels": ["F", "M"], "reference_level": "F", "level_counts": [10, 10], "numeric_levels": false}
      ],
      "terms": [
        {"name": "age", "predictor": "age", "level": null},
        {"name": "size", "predictor": "size", "level": null},
        {"name": "sex=M", "predictor": "sex", "level": "M"}
      ],
      "intercept": -3.0,
      "coefficients": {"age": 0.05, "size": -0.5, "sex=M": 1.0},
      "intercept_std_error": null, "std_errors": {}, "z_values": {}, "p_values": {}, "odds_ratios": {}, "odds_ratio_ci95": {},
      "penalty": {"kind": "none", "lambda": 0, "lambda_selection": "none", "cv_folds": null, "seed": null, "standardize": false, "cv_curve": []},
      "training": {"n": 20, "events": 10, "non_events": 10, "dropped_missing": 0, "log_likelihood": -10, "null_log_likelihood": -13.8,
                   "aic": 28, "bic": 30, "iterations": 5, "converged": true},
      "notes": []
    }"#;
    serde_json::from_str(json).unwrap()
}

#[test]
fn points_follow_rms_formula() {
    let m = model();
    let n = build(&m, AxisRange::Minmax).unwrap();
    // R = max(0.05·60, 0.5·10, 1) = 5.
    assert!((n.scale - 5.0).abs() < 1e-12);
    // age 50: 100·(0.05·50 − 0.05·20)/5 = 30.
    assert!((n.points("age", 50.0).unwrap() - 30.0).abs() < 1e-12);
    // size 4: contribution −2, minimum −5 → 100·3/5 = 60; size 0 gets 100 (negative β).
    assert!((n.points("size", 4.0).unwrap() - 60.0).abs() < 1e-12);
    assert!((n.points("size", 0.0).unwrap() - 100.0).abs() < 1e-12);
    // sex M: 100·1/5 = 20, F: 0.
    assert!((n.level_points("sex", "M").unwrap() - 20.0).abs() < 1e-12);
    assert_eq!(n.level_points("sex", "F").unwrap(), 0.0);
    // Total max 60 + 100 + 20 = 180; LP(0) = −3 + 1 − 5 + 0 = −7.
    assert!((n.total_max - 180.0).abs() < 1e-12);
    assert!((n.lp0 + 7.0).abs() < 1e-12);
    // 30 + 60 + 20 = 110 points → LP −7 + 110·5/100 = −1.5 = −3 + 2.5 − 2 + 1.
    assert!((n.lp(110.0) + 1.5).abs() < 1e-12);
    // Display range axis: age 25–75 (range 2.5), size 1–9 (range 4) → R = 4.
    let d = build(&m, AxisRange::Display).unwrap();
    assert!((d.scale - 4.0).abs() < 1e-12);
    assert!((d.points("size", 5.0).unwrap() - 50.0).abs() < 1e-12);

    let csv = points_csv(&n);
    assert!(csv.starts_with("predictor,value,points\n"));
    assert!(csv.contains("age,50,30\n"), "{csv}");
    assert!(csv.contains("sex,M,20\n"));
    assert!(csv.contains("size,0,100\n"));
}

/// Minimal XML well-formedness check: balanced tags, quoted attributes, escaped text.
fn check_xml(s: &str) -> Result<usize, String> {
    let b = s.as_bytes();
    let mut stack: Vec<String> = Vec::new();
    let mut i = 0;
    let mut elements = 0;
    while i < b.len() {
        if b[i] == b'<' {
            let end = s[i..].find('>').ok_or("unterminated tag")? + i;
            let tag = &s[i + 1..end];
            if tag.starts_with('?') {
                if !tag.ends_with('?') {
                    return Err("bad declaration".into());
                }
            } else if let Some(name) = tag.strip_prefix('/') {
                let open = stack.pop().ok_or(format!("unmatched </{name}>"))?;
                if open != name.trim() {
                    return Err(format!("<{open}> closed by </{name}>"));
                }
            } else {
                let self_closing = tag.ends_with('/');
                let body = tag.trim_end_matches('/');
                let name: String = body.chars().take_while(|c| !c.is_whitespace()).collect();
                if name.is_empty()
                    || !name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == ':')
                {
                    return Err(format!("bad element name in <{tag}>"));
                }
                if !body.matches('"').count().is_multiple_of(2) {
                    return Err(format!("unbalanced quotes in <{tag}>"));
                }
                elements += 1;
                if !self_closing {
                    stack.push(name);
                }
            }
            i = end + 1;
        } else {
            if b[i] == b'&' {
                let semi = s[i..].find(';').ok_or("bare &")? + i;
                let ent = &s[i + 1..semi];
                if !["amp", "lt", "gt", "quot", "apos"].contains(&ent) {
                    return Err(format!("unknown entity &{ent};"));
                }
            }
            i += 1;
        }
    }
    if !stack.is_empty() {
        return Err(format!("unclosed elements {stack:?}"));
    }
    Ok(elements)
}

#[test]
fn svg_is_well_formed_and_has_the_axes() {
    let m = model();
    let n = build(&m, AxisRange::Minmax).unwrap();
    let svg = render_svg(&m, &n);
    let elements = check_xml(&svg).unwrap();
    assert!(elements > 50);
    assert!(svg.starts_with("<?xml"));
    for label in [
        "Points",
        "age (years)",
        "size (mm)",
        "sex",
        "Total points",
        "Linear predictor",
        "Probability of event",
        "not clinically validated",
    ] {
        assert!(svg.contains(label), "missing {label}");
    }
    // Probability ticks lie within the LP range −7 … 2.
    assert!(svg.contains(">0.5<") && svg.contains(">0.05<"));
    assert!(
        !svg.contains(">0.99<"),
        "0.99 (LP 4.6) is outside the LP range"
    );
    // The checker itself rejects broken XML.
    assert!(check_xml("<svg><g></svg>").is_err());
    assert!(check_xml("<svg>a & b</svg>").is_err());
}
