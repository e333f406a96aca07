//! End to end on the bundled synthetic multi-phase study: batch extraction,
//! then the enhancement table. Its columns must equal the HU values the
//! generator put in (`truth.csv`), exactly.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;

fn csv(path: &std::path::Path) -> (Vec<String>, Vec<Vec<String>>) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header = lines
        .next()
        .unwrap()
        .split(',')
        .map(str::to_string)
        .collect();
    (
        header,
        lines
            .map(|l| l.split(',').map(str::to_string).collect())
            .collect(),
    )
}

#[test]
fn enhancement_columns_equal_the_generated_hu() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let d = std::env::temp_dir().join(format!("ctrad-enh-e2e-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    let features = d.join("features.csv");
    let o = Command::new(env!("CARGO_BIN_EXE_ctrad"))
        .arg("extract")
        .arg(root.join("testdata/studies"))
        .arg("--params")
        .arg(root.join("pipelines/studies/pannet_ct.yaml"))
        .arg("-o")
        .arg(&features)
        .arg("--quiet")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let cohort = d.join("cohort.csv");
    let o = Command::new(env!("CARGO_BIN_EXE_ctrad"))
        .args(["model", "enhancement", "--table"])
        .arg(&features)
        .arg("-o")
        .arg(&cohort)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    // Truth: mean HU per phase and ROI.
    let (th, trows) = csv(&root.join("testdata/studies/SYNTH_PANNET_001/truth.csv"));
    let c = |n: &str| th.iter().position(|h| h == n).unwrap();
    let mut hu: HashMap<(String, String), f64> = HashMap::new();
    for r in &trows {
        hu.insert(
            (r[c("phase")].clone(), r[c("roi")].clone()),
            r[c("mean_hu")].parse().unwrap(),
        );
    }
    let t = |phase: &str| hu[&(phase.to_string(), "Tumour".to_string())];
    let p = |phase: &str| hu[&(phase.to_string(), "Pancreas".to_string())];

    let (h, rows) = csv(&cohort);
    assert_eq!(rows.len(), 1, "one row per study");
    let get = |n: &str| -> f64 {
        let i = h
            .iter()
            .position(|x| x == n)
            .unwrap_or_else(|| panic!("no column {n} in {h:?}"));
        rows[0][i].parse().unwrap()
    };
    for phase in ["unenhanced", "arterial", "portal_venous"] {
        assert_eq!(get(&format!("hu_{phase}")), t(phase), "tumour HU {phase}");
        assert_eq!(
            get(&format!("pancreas_hu_{phase}")),
            p(phase),
            "pancreas HU {phase}"
        );
        assert_eq!(
            get(&format!("tp_ratio_{phase}")),
            t(phase) / p(phase),
            "tumour/pancreas {phase}"
        );
    }
    for phase in ["arterial", "portal_venous"] {
        let abs = t(phase) - t("unenhanced");
        assert_eq!(
            get(&format!("abs_enh_{phase}")),
            abs,
            "absolute enhancement {phase}"
        );
        assert_eq!(
            get(&format!("rel_enh_{phase}")),
            abs / t("unenhanced"),
            "relative enhancement {phase}"
        );
    }
    std::fs::remove_dir_all(&d).unwrap();
}
