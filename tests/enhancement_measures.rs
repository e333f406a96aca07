//! Enhancement measures with exact known HU (the values of testdata/synthetic_study/truth.csv:
//! tumour 40/180/130 HU and pancreas 45/120/110 HU in the unenhanced/arterial/portal-venous phases).

use ctrad::enhancement::{enhancement_long, enhancement_wide, join_clinical, EnhancementSettings};
use polars::prelude::*;

fn long_table(stat_col: &str) -> DataFrame {
    let rows = [
        ("SYNTH_PANNET_001", "unenhanced", "Tumour", 40.0, 12.0),
        ("SYNTH_PANNET_001", "unenhanced", "Pancreas", 45.0, 30.0),
        ("SYNTH_PANNET_001", "arterial", "Tumour", 180.0, 12.5),
        ("SYNTH_PANNET_001", "arterial", "Pancreas", 120.0, 31.0),
        ("SYNTH_PANNET_001", "portal_venous", "Tumour", 130.0, 13.0),
        ("SYNTH_PANNET_001", "portal_venous", "Pancreas", 110.0, 32.0),
        // A second study without pancreas and with a zero unenhanced HU.
        ("S2", "unenhanced", "GTV", 0.0, 20.0),
        ("S2", "portal_venous", "GTV", 90.0, 21.0),
        // Rows of unknown phases are ignored.
        ("S2", "unknown", "GTV", 999.0, 0.0),
    ];
    df!(
        "study_id" => rows.iter().map(|r| r.0).collect::<Vec<_>>(),
        "phase" => rows.iter().map(|r| r.1).collect::<Vec<_>>(),
        "roi" => rows.iter().map(|r| r.2).collect::<Vec<_>>(),
        stat_col => rows.iter().map(|r| r.3).collect::<Vec<_>>(),
        "morph_diam" => rows.iter().map(|r| r.4).collect::<Vec<_>>(),
    )
    .unwrap()
}

fn get(df: &DataFrame, col: &str, row: usize) -> Option<f64> {
    df.column(col).unwrap().f64().unwrap().get(row)
}

#[test]
fn wide_measures_exact() {
    let out = enhancement_wide(&long_table("stat_mean"), &EnhancementSettings::default()).unwrap();
    let t = &out.table;
    assert_eq!(t.height(), 2);
    assert_eq!(
        t.column("tumour_roi").unwrap().str().unwrap().get(0),
        Some("Tumour")
    );
    assert_eq!(
        t.column("pancreas_roi").unwrap().str().unwrap().get(0),
        Some("Pancreas")
    );
    assert_eq!(get(t, "hu_unenhanced", 0), Some(40.0));
    assert_eq!(get(t, "hu_arterial", 0), Some(180.0));
    assert_eq!(get(t, "abs_enh_arterial", 0), Some(140.0));
    assert_eq!(get(t, "abs_enh_portal_venous", 0), Some(90.0));
    assert_eq!(get(t, "rel_enh_arterial", 0), Some(140.0 / 40.0));
    assert_eq!(get(t, "rel_enh_portal_venous", 0), Some(90.0 / 40.0));
    assert_eq!(get(t, "pancreas_abs_enh_arterial", 0), Some(75.0));
    assert_eq!(
        get(t, "pancreas_rel_enh_portal_venous", 0),
        Some(65.0 / 45.0)
    );
    assert_eq!(get(t, "tp_ratio_unenhanced", 0), Some(40.0 / 45.0));
    assert_eq!(get(t, "tp_ratio_arterial", 0), Some(1.5));
    assert_eq!(get(t, "tp_ratio_portal_venous", 0), Some(130.0 / 110.0));
    // No delayed phase: null.
    assert_eq!(get(t, "hu_delayed", 0), None);
    assert_eq!(get(t, "abs_enh_delayed", 0), None);
    // morph_diam carried from the tumour's portal-venous row.
    assert_eq!(get(t, "morph_diam", 0), Some(13.0));
    // Study 2: GTV is the tumour, no pancreas; unenhanced 0 HU → rel_enh NaN with a note.
    assert_eq!(get(t, "abs_enh_portal_venous", 1), Some(90.0));
    assert!(get(t, "rel_enh_portal_venous", 1).unwrap().is_nan());
    assert_eq!(get(t, "tp_ratio_portal_venous", 1), None);
    assert!(
        out.notes
            .iter()
            .any(|n| n.contains("S2/GTV") && n.contains("NaN")),
        "{:?}",
        out.notes
    );
}

#[test]
fn long_measures_and_roi_mean_hu_column() {
    let out = enhancement_long(&long_table("roi_mean_hu")).unwrap();
    let t = &out.table;
    assert_eq!(t.height(), 3);
    // BTreeMap order within a study: Pancreas, Tumour.
    assert_eq!(
        t.column("roi").unwrap().str().unwrap().get(0),
        Some("Pancreas")
    );
    assert_eq!(get(t, "abs_enh_arterial", 0), Some(75.0));
    assert_eq!(get(t, "abs_enh_arterial", 1), Some(140.0));
}

#[test]
fn settings_yaml_and_ambiguous_roles() {
    let s =
        EnhancementSettings::from_yaml("tumour_pattern: '^lesion'\ncarry_features: []\n").unwrap();
    assert_eq!(s.pancreas_pattern, "pancrea");
    assert!(EnhancementSettings::from_yaml("bogus: 1").is_err());
    // With the default pattern both "Tumour" and "net" would be tumours → error naming them.
    let df = df!(
        "study_id" => ["A", "A"], "phase" => ["arterial", "arterial"],
        "roi" => ["Tumour", "pnet2"], "stat_mean" => [1.0, 2.0]
    )
    .unwrap();
    let e = enhancement_wide(&df, &EnhancementSettings::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("Tumour") && e.contains("pnet2"), "{e}");
    // Duplicate study × phase × ROI.
    let df = df!(
        "study_id" => ["A", "A"], "phase" => ["arterial", "arterial"],
        "roi" => ["Tumour", "Tumour"], "stat_mean" => [1.0, 2.0]
    )
    .unwrap();
    assert!(enhancement_wide(&df, &EnhancementSettings::default()).is_err());
}

#[test]
fn clinical_join_reports_unmatched() {
    let wide = enhancement_wide(&long_table("stat_mean"), &EnhancementSettings::default())
        .unwrap()
        .table;
    let clinical = df!(
        "study_id" => ["SYNTH_PANNET_001", "S9"],
        "symptoms" => [1i64, 0],
        "grade_g2g3" => [1i64, 0],
    )
    .unwrap();
    let j = join_clinical(&wide, &clinical).unwrap();
    assert_eq!(j.unmatched_features, vec!["S2".to_string()]);
    assert_eq!(j.unmatched_clinical, vec!["S9".to_string()]);
    assert_eq!(get(&j.table, "symptoms", 0), Some(1.0));
    assert_eq!(get(&j.table, "symptoms", 1), None);
    assert_eq!(j.table.height(), 2);
}
