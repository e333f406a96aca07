//! Perturbed repeats for robustness (issue 18, item 6): every ROI gives the
//! original row and `repeats` perturbed rows, the same for the same seed,
//! and `ctrad stats icc --rater perturbation` turns them into robustness ICCs.

mod common;

use std::path::Path;
use std::process::Command;

fn ctrad() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ctrad"))
}

fn run(args: &[&str]) {
    let o = ctrad().args(args).output().unwrap();
    assert!(
        o.status.success(),
        "ctrad {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

fn column<'a>(header: &'a str, row: &'a str, name: &str) -> &'a str {
    let i = header
        .split(',')
        .position(|c| c == name)
        .unwrap_or_else(|| panic!("no column {name}"));
    row.split(',').nth(i).unwrap()
}

#[test]
fn perturbed_repeats_are_rows_deterministic_and_give_robustness_iccs() {
    let d = common::fixtures::temp_dir("perturbation");
    let studies = d.join("studies");
    ctrad::synth::write_cohort(&studies, 6, 11).unwrap();
    let params = d.join("p.yaml");
    std::fs::write(
        &params,
        "setting: {resegmentRange: [-100, 400], binWidth: 25, textureDimensionality: [3D]}\n\
         perturbation: {repeats: 4, seed: 3, noise: true, rotation: 10, translation: 0.5, volume: 0.1, contour: 0.5}\n",
    )
    .unwrap();
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let (a, b) = (d.join("a.csv"), d.join("b.csv"));
    for out in [&a, &b] {
        run(&[
            "extract",
            &s(&studies),
            "--params",
            &s(&params),
            "--phase",
            "portal_venous",
            "-o",
            &s(out),
            "-q",
        ]);
    }
    let text = std::fs::read_to_string(&a).unwrap();
    assert_eq!(
        text,
        std::fs::read_to_string(&b).unwrap(),
        "same seed, same table"
    );
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    let rows: Vec<&str> = lines.collect();
    // 6 studies × (Tumour, Pancreas) × (original + 4 repeats).
    assert_eq!(rows.len(), 6 * 2 * 5);
    let mut repeats: Vec<&str> = rows
        .iter()
        .map(|r| column(header, r, "perturbation"))
        .collect();
    repeats.sort();
    repeats.dedup();
    assert_eq!(repeats, ["0", "1", "2", "3", "4"]);
    let original = rows
        .iter()
        .find(|r| column(header, r, "perturbation") == "0")
        .unwrap();
    assert_eq!(column(header, original, "perturbation_draw"), "original");
    let perturbed = rows
        .iter()
        .find(|r| column(header, r, "perturbation") == "2")
        .unwrap();
    assert!(column(header, perturbed, "perturbation_draw").contains("rotation"));

    // Every repeat of an ROI differs from its original (volume and noise).
    let key = |r: &str| {
        format!(
            "{}/{}",
            column(header, r, "study_id"),
            column(header, r, "roi")
        )
    };
    for r in rows
        .iter()
        .filter(|r| column(header, r, "perturbation") != "0")
    {
        let o = rows
            .iter()
            .find(|o| column(header, o, "perturbation") == "0" && key(o) == key(r))
            .unwrap();
        for f in ["morph_vol_approx", "stat_mean"] {
            assert_ne!(
                column(header, r, f),
                column(header, o, f),
                "{f} of {}",
                key(r)
            );
        }
    }

    // Between-ROI differences dwarf the perturbations: high robustness ICCs.
    let icc = d.join("icc.csv");
    run(&[
        "stats",
        "icc",
        "--table",
        &s(&a),
        "--subject",
        "study_id,roi",
        "--rater",
        "perturbation",
        "--features",
        "stat_mean",
        "--features",
        "morph_vol_approx",
        "-o",
        &s(&icc),
    ]);
    let icc_text = std::fs::read_to_string(&icc).unwrap();
    let mut il = icc_text.lines();
    let ih = il.next().unwrap();
    let value = |feature: &str| -> f64 {
        icc_text
            .lines()
            .skip(1)
            .find(|r| column(ih, r, "feature") == feature && column(ih, r, "type") == "ICC2")
            .map(|r| column(ih, r, "icc").parse().unwrap())
            .unwrap()
    };
    assert!(value("stat_mean") > 0.9, "{icc_text}");
    assert!(value("morph_vol_approx") > 0.9, "{icc_text}");
    assert_eq!(
        column(ih, icc_text.lines().nth(1).unwrap(), "n_raters"),
        "5"
    );
}

#[test]
fn perturbation_settings_are_checked_by_name() {
    let bad = [
        (
            "perturbation: {seed: 1, noise: true}",
            "'repeats' is required",
        ),
        ("perturbation: {repeats: 3}", "no perturbation enabled"),
        (
            "perturbation: {repeats: 3, rotaton: 5}",
            "unknown key 'rotaton'",
        ),
        (
            "perturbation: {repeats: 3, volume: 2}",
            "'volume' must be within",
        ),
    ];
    for (yaml, want) in bad {
        let e = ctrad::params::Params::from_yaml(yaml, Path::new("p.yaml")).unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains(want) && text.contains("p.yaml"),
            "{yaml}: {text}"
        );
    }
}
