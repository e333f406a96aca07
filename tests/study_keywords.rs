//! Phase keywords in series descriptions, delay thresholds and override parsing.

use ctrad::study::{
    description_keywords, parse_override_list, parse_phases_yaml, phase_from_delay, OverrideKey,
    Phase,
};
use std::path::Path;

fn one(desc: &str) -> Option<Phase> {
    match description_keywords(desc).as_slice() {
        [(p, _)] => Some(*p),
        _ => None,
    }
}

#[test]
fn descriptions_map_to_phases() {
    use Phase::*;
    let cases: &[(&str, Option<Phase>)] = &[
        ("ABD PV 2mm", Some(PortalVenous)),
        ("Abdomen PV2mm", Some(PortalVenous)),
        ("CT ABDOMEN PORTAL VENOUS 3.0 B30f", Some(PortalVenous)),
        ("Portal-venous phase", Some(PortalVenous)),
        ("Venous 1.5", Some(PortalVenous)),
        ("ven 5mm", Some(PortalVenous)),
        ("PVP thin", Some(PortalVenous)),
        ("art 1mm", Some(Arterial)),
        ("ARTERIAL", Some(Arterial)),
        ("Late arterial 2mm", Some(Arterial)),
        ("LATE-ARTERIAL", Some(Arterial)),
        ("early arterial", Some(Arterial)),
        ("Pancreatic phase 1mm", Some(Arterial)),
        ("Pancreas ART 2.5mm", Some(Arterial)),
        ("plain", Some(Unenhanced)),
        ("ABD NC 5mm", Some(Unenhanced)),
        ("Non-contrast abdomen", Some(Unenhanced)),
        ("NON CONTRAST", Some(Unenhanced)),
        ("noncontrast", Some(Unenhanced)),
        ("native 3mm", Some(Unenhanced)),
        ("Unenhanced", Some(Unenhanced)),
        ("pre 2mm", Some(Unenhanced)),
        ("Pre-contrast", Some(Unenhanced)),
        ("abdomen w/o", Some(Unenhanced)),
        ("delay", Some(Delayed)),
        ("Delayed 5 min", Some(Delayed)),
        ("EQUILIBRIUM", Some(Delayed)),
        ("late phase", Some(Delayed)),
        // Word boundaries: keywords inside other words do not count.
        ("Abdomen 2mm", None),
        ("PREVIEW", None),
        ("Artefact study", None),
        ("Eventually", None),
        ("ANC 2mm", None),
        ("Pelvis", None),
        ("Plainly", None),
        ("", None),
        // Contradictory descriptions decide nothing.
        ("arterial and venous", None),
        ("NC + PV", None),
    ];
    let mut failures = Vec::new();
    for (desc, want) in cases {
        let got = one(desc);
        if got != *want {
            failures.push(format!("{desc:?}: got {got:?}, want {want:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn keyword_is_reported_as_written() {
    assert_eq!(
        description_keywords("ABD PV 2mm"),
        vec![(Phase::PortalVenous, "PV".to_string())]
    );
    assert_eq!(
        description_keywords("Late-Arterial 1mm"),
        vec![(Phase::Arterial, "Late-Arterial".to_string())]
    );
    assert_eq!(description_keywords("NC + PV").len(), 2);
}

#[test]
fn delay_thresholds() {
    assert_eq!(phase_from_delay(5.0), None);
    assert_eq!(phase_from_delay(20.0), Some(Phase::Arterial));
    assert_eq!(phase_from_delay(45.0), Some(Phase::Arterial));
    assert_eq!(phase_from_delay(70.0), Some(Phase::PortalVenous));
    assert_eq!(phase_from_delay(90.0), Some(Phase::PortalVenous));
    assert_eq!(phase_from_delay(135.0), None);
    assert_eq!(phase_from_delay(180.0), Some(Phase::Delayed));
    assert_eq!(phase_from_delay(-30.0), None);
}

#[test]
fn phase_names_parse() {
    assert_eq!(Phase::parse("portal_venous"), Some(Phase::PortalVenous));
    assert_eq!(Phase::parse("Portal Venous"), Some(Phase::PortalVenous));
    assert_eq!(Phase::parse("pv"), Some(Phase::PortalVenous));
    assert_eq!(Phase::parse("NC"), Some(Phase::Unenhanced));
    assert_eq!(Phase::parse("delayed"), Some(Phase::Delayed));
    assert_eq!(Phase::parse("unknown"), Some(Phase::Unknown));
    assert_eq!(Phase::parse("banana"), None);
}

#[test]
fn override_files_and_cells_parse() {
    let yaml = "3: arterial\n\"1.2.3.4\": pv\n\"ABD NC 2.5mm\": plain\n\"7\": delayed\n";
    let o = parse_phases_yaml(yaml, Path::new("phases.yaml")).unwrap();
    assert_eq!(o.len(), 4);
    assert_eq!(o[0].key, OverrideKey::SeriesNumber(3));
    assert_eq!(o[0].phase, Phase::Arterial);
    assert_eq!(o[1].key, OverrideKey::SeriesUid("1.2.3.4".into()));
    assert_eq!(o[1].phase, Phase::PortalVenous);
    assert_eq!(o[2].key, OverrideKey::Description("ABD NC 2.5mm".into()));
    assert_eq!(o[2].phase, Phase::Unenhanced);
    assert_eq!(o[3].key, OverrideKey::SeriesNumber(7));
    let err = parse_phases_yaml("3: banana\n", Path::new("phases.yaml")).unwrap_err();
    assert!(err.to_string().contains("banana"), "{err}");
    assert!(parse_phases_yaml("- 3\n", Path::new("phases.yaml")).is_err());

    let o = parse_override_list("3=arterial; ABD PV 2mm = portal venous;").unwrap();
    assert_eq!(o.len(), 2);
    assert_eq!(o[1].key, OverrideKey::Description("ABD PV 2mm".into()));
    assert_eq!(o[1].phase, Phase::PortalVenous);
    assert!(parse_override_list("3 arterial").is_err());
}
