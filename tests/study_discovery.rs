//! Study discovery on the committed synthetic study, a generated cohort, the
//! shared STS data, and NIfTI naming conventions.

mod common;

use ctrad::study::{
    apply_overrides, describe, discover, parse_override_list, Phase, PhaseSource, SegmentationKind,
    SeriesSource,
};
use std::path::PathBuf;

fn testdata() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/studies/SYNTH_PANNET_001")
}

/// A fresh empty folder under the system temp dir.
fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ctrad-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn synthetic_study_phases_and_links() {
    let study = discover(&testdata()).unwrap();
    assert_eq!(study.series.len(), 3, "{}", describe(&study));
    let got: Vec<(Option<i64>, Phase, usize)> = study
        .series
        .iter()
        .map(|s| (s.series_number, s.phase, s.slices))
        .collect();
    assert_eq!(
        got,
        vec![
            (Some(2), Phase::Unenhanced, 12),
            (Some(3), Phase::Arterial, 12),
            (Some(4), Phase::PortalVenous, 12),
        ]
    );
    assert_eq!(
        study.series[0].phase_reason,
        "SeriesDescription 'ABD NC 2.5mm' contains 'NC'"
    );
    assert_eq!(
        study.series[1].phase_reason,
        "SeriesDescription 'PANCREAS ART 2.5mm' contains 'ART'"
    );
    assert_eq!(
        study.series[2].phase_reason,
        "SeriesDescription 'ABD PV 2.5mm' contains 'PV'"
    );
    assert!(study
        .series
        .iter()
        .all(|s| s.phase_source == PhaseSource::Description));
    assert_eq!(study.series[1].contrast_delay(), Some(40.0));
    assert_eq!(study.series[2].contrast_delay(), Some(70.0));
    assert_eq!(study.series[0].matrix, Some((40, 40)));

    assert_eq!(study.segmentations.len(), 1);
    let rs = &study.segmentations[0];
    assert_eq!(rs.kind, SegmentationKind::RtStruct);
    assert_eq!(rs.roi_names, vec!["Tumour", "Pancreas"]);
    assert_eq!(rs.series, Some(2), "{}", rs.link_reason);
    assert!(rs.link_reason.contains("RTReferencedSeriesSequence"));
    assert_eq!(study.series_with_phase(Phase::PortalVenous), vec![2]);
    assert_eq!(study.segmentations_of(2).len(), 1);

    let text = describe(&study);
    for needle in [
        "CT series: 3",
        "#4 'ABD PV 2.5mm'  12 slices of 40x40",
        "phase: portal venous — SeriesDescription 'ABD PV 2.5mm' contains 'PV'",
        "RTSTRUCT RS.dcm",
        "ROIs: Tumour, Pancreas",
        "series: [3] #4 'ABD PV 2.5mm'",
        "delay: 40 s",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
    println!("{text}");
}

#[test]
fn phases_yaml_overrides_and_order_reruns() {
    let dir = scratch("phases-yaml");
    common::copy_dir(&testdata(), &dir);
    // Swap two phases by number and by description.
    std::fs::write(
        dir.join("phases.yaml"),
        "3: delayed\n\"abd pv 2.5mm\": arterial\n",
    )
    .unwrap();
    let study = discover(&dir).unwrap();
    let phases: Vec<Phase> = study.series.iter().map(|s| s.phase).collect();
    assert_eq!(
        phases,
        vec![Phase::Unenhanced, Phase::Delayed, Phase::Arterial]
    );
    assert_eq!(study.series[1].phase_source, PhaseSource::Override);
    assert_eq!(
        study.series[1].phase_reason,
        "phases.yaml sets series number 3 to delayed"
    );
    assert!(study.series[2]
        .phase_reason
        .contains("description 'abd pv 2.5mm'"));

    // A key that matches nothing is an error naming the key.
    std::fs::write(dir.join("phases.yaml"), "9: arterial\n").unwrap();
    let err = discover(&dir).unwrap_err().to_string();
    assert!(err.contains("series number 9"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();

    // Manifest overrides on an already discovered study.
    let mut study = discover(&testdata()).unwrap();
    let o = parse_override_list("2=unknown").unwrap();
    apply_overrides(&mut study, &o, "manifest").unwrap();
    assert_eq!(study.series[0].phase, Phase::Unknown);
    assert_eq!(study.series[0].phase_source, PhaseSource::Override);
}

#[test]
fn cohort_is_classified_by_keywords_or_timing() {
    let dir = scratch("cohort");
    let folders = ctrad::synth::write_cohort(&dir, 4, 7).unwrap();
    assert_eq!(folders.len(), 4);
    for (i, folder) in folders.iter().enumerate() {
        let study = discover(folder).unwrap();
        let text = describe(&study);
        let phases: Vec<Phase> = study.series.iter().map(|s| s.phase).collect();
        assert_eq!(
            phases,
            vec![Phase::Unenhanced, Phase::Arterial, Phase::PortalVenous],
            "{text}"
        );
        assert_eq!(study.segmentations[0].series, Some(2), "{text}");
        if i == 3 {
            println!("{text}");
            // No keywords: timing and the explicit "NONE" agent decide.
            assert_eq!(study.series[0].phase_source, PhaseSource::ContrastAgent);
            assert_eq!(study.series[0].phase_reason, "ContrastBolusAgent is 'NONE'");
            assert_eq!(study.series[1].phase_source, PhaseSource::Timing);
            assert_eq!(
                study.series[1].phase_reason,
                "acquired 40 s after ContrastBolusStartTime"
            );
            assert_eq!(study.series[2].phase_source, PhaseSource::Timing);
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn sts_001_dicom() {
    let Some(td) = common::shared_testdata() else {
        return;
    };
    let dir = td.join("sts_ct/STS_001");
    let study = discover(&dir).unwrap();
    let text = describe(&study);
    assert_eq!(study.series.len(), 1, "{text}");
    assert_eq!(study.series[0].slices, 59);
    assert!(matches!(&study.series[0].source, SeriesSource::Dicom(f) if f.len() == 59));
    assert_eq!(study.segmentations.len(), 1, "{text}");
    let rs = &study.segmentations[0];
    assert_eq!(rs.kind, SegmentationKind::RtStruct);
    assert_eq!(rs.series, Some(0), "{text}");
    assert!(rs.roi_names == ["GTV_Mass_CT"], "{text}");
    // The NIfTI copies are noted, not added as a second series.
    assert!(
        study.notes.iter().any(|n| n.contains("ignored 2 NIfTI")),
        "{text}"
    );
    println!("{text}");
}

#[test]
fn sts_001_nifti_naming() {
    let Some(td) = common::shared_testdata() else {
        return;
    };
    let study = discover(&td.join("sts_ct/STS_001/nifti")).unwrap();
    let text = describe(&study);
    assert_eq!(study.series.len(), 1, "{text}");
    assert_eq!(study.series[0].description, "CT");
    assert_eq!(study.series[0].phase, Phase::Unknown);
    assert_eq!(study.segmentations.len(), 1, "{text}");
    assert_eq!(study.segmentations[0].kind, SegmentationKind::MaskFile);
    assert_eq!(study.segmentations[0].series, Some(0), "{text}");
}

#[test]
fn nifti_convention_with_phases_and_mask_folder() {
    let dir = scratch("nifti-names");
    let touch = |p: &str| {
        let p = dir.join(p);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, b"").unwrap();
    };
    for f in [
        "pv_image.nii.gz",
        "arterial_image.nii.gz",
        "plain-image.nrrd",
        "pv_mask_tumour.nii.gz",
        "arterial_mask.nii.gz",
        "masks/pv_pancreas.nii.gz",
        "notes.nii.gz",
    ] {
        touch(f);
    }
    let study = discover(&dir).unwrap();
    let text = describe(&study);
    let by_name = |n: &str| {
        study
            .series
            .iter()
            .position(|s| s.description == n)
            .unwrap_or_else(|| panic!("no series {n}\n{text}"))
    };
    let (pv, art, plain) = (by_name("pv"), by_name("arterial"), by_name("plain"));
    assert_eq!(study.series[pv].phase, Phase::PortalVenous);
    assert_eq!(
        study.series[pv].phase_reason,
        "file name 'pv' contains 'pv'"
    );
    assert_eq!(study.series[art].phase, Phase::Arterial);
    assert_eq!(study.series[plain].phase, Phase::Unenhanced);
    let seg = |roi: &str| {
        study
            .segmentations
            .iter()
            .find(|s| s.roi_names == [roi])
            .unwrap_or_else(|| panic!("no mask {roi}\n{text}"))
    };
    assert_eq!(seg("tumour").series, Some(pv));
    assert_eq!(seg("pancreas").series, Some(pv));
    assert_eq!(seg("arterial_mask").series, Some(art));
    assert!(
        study.notes.iter().any(|n| n.contains("notes.nii.gz")),
        "{text}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn linking_falls_back_to_instances_then_frame_of_reference() {
    use ctrad::io::dicom::write::{write_rtstruct, RtRoi};
    use ctrad::synth::{generate, SynthSpec};
    let spec = SynthSpec::pannet();
    let synth = generate(&spec);
    let dir = scratch("link-fallback");
    common::copy_dir(&testdata(), &dir);
    std::fs::remove_file(dir.join("RS.dcm")).unwrap();
    // A structure set naming an unknown series (and therefore unknown
    // images) but the study's frame of reference, shared by all three series.
    let mut other = spec.series_spec(&spec.phases[2]);
    other.series_instance_uid = "1.2.3.999".into();
    let roi = RtRoi {
        name: "Tumour",
        mask: &synth.tumour,
        interpreted_type: "GTV",
        color: [1, 2, 3],
    };
    write_rtstruct(&dir.join("RS_other.dcm"), &other, &spec.geometry(), &[roi]).unwrap();
    let study = discover(&dir).unwrap();
    let rs = &study.segmentations[0];
    assert_eq!(rs.series, None);
    assert!(
        rs.link_reason.starts_with("ambiguous: 3 CT series"),
        "{}",
        rs.link_reason
    );

    // With only one series left, the frame of reference decides.
    std::fs::remove_dir_all(dir.join("ct_2")).unwrap();
    std::fs::remove_dir_all(dir.join("ct_3")).unwrap();
    let study = discover(&dir).unwrap();
    assert_eq!(study.segmentations[0].series, Some(0));
    assert_eq!(
        study.segmentations[0].link_reason,
        "only CT series with its FrameOfReferenceUID"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn seg_objects_link_by_referenced_series() {
    use dicom_core::value::{DataSetSequence, PrimitiveValue};
    use dicom_core::{DataElement, VR};
    use dicom_dictionary_std::tags;
    use dicom_object::meta::FileMetaTableBuilder;
    use dicom_object::InMemDicomObject;
    let dir = scratch("seg-link");
    common::copy_dir(&testdata(), &dir);
    let art = discover(&dir).unwrap().series[1]
        .series_instance_uid
        .clone();
    let s = |v: &str| PrimitiveValue::from(v);
    let series_item = InMemDicomObject::from_element_iter([DataElement::new(
        tags::SERIES_INSTANCE_UID,
        VR::UI,
        s(&art),
    )]);
    let segment = |label: &str| {
        InMemDicomObject::from_element_iter([DataElement::new(
            tags::SEGMENT_LABEL,
            VR::LO,
            s(label),
        )])
    };
    let obj = InMemDicomObject::from_element_iter([
        DataElement::new(
            tags::SOP_CLASS_UID,
            VR::UI,
            s("1.2.840.10008.5.1.4.1.1.66.4"),
        ),
        DataElement::new(tags::SOP_INSTANCE_UID, VR::UI, s("1.2.3.4.5")),
        DataElement::new(tags::MODALITY, VR::CS, s("SEG")),
        DataElement::new(tags::SERIES_INSTANCE_UID, VR::UI, s("1.2.3.4.6")),
        DataElement::new(
            tags::REFERENCED_SERIES_SEQUENCE,
            VR::SQ,
            DataSetSequence::from(vec![series_item]),
        ),
        DataElement::new(
            tags::SEGMENT_SEQUENCE,
            VR::SQ,
            DataSetSequence::from(vec![segment("Liver"), segment("Lesion")]),
        ),
    ]);
    obj.with_meta(FileMetaTableBuilder::new().transfer_syntax("1.2.840.10008.1.2.1"))
        .unwrap()
        .write_to_file(dir.join("seg.dcm"))
        .unwrap();
    let study = discover(&dir).unwrap();
    let seg = study
        .segmentations
        .iter()
        .find(|s| s.kind == SegmentationKind::Seg)
        .unwrap();
    assert_eq!(seg.roi_names, vec!["Liver", "Lesion"]);
    assert_eq!(seg.series, Some(1));
    assert!(seg.link_reason.contains("ReferencedSeriesSequence"));
    std::fs::remove_dir_all(&dir).unwrap();
}
