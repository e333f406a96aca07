mod common;

#[test]
fn digital_phantom_reads_with_geometry() {
    let Some(td) = common::shared_testdata() else {
        return;
    };
    let (image, mask) = common::digital_phantom(&td);
    assert_eq!(image.geometry.dims, [5, 4, 4]);
    assert_eq!(image.geometry.spacing, [2.0, 2.0, 2.0]);
    assert!(image.geometry.mismatch(&mask.geometry).is_none());
    assert_eq!(mask.count(), 74);
    let mut vals: Vec<f32> = image.data.clone();
    vals.sort_by(f32::total_cmp);
    assert_eq!(vals[0], 1.0);
}

#[test]
fn ct_phantom_nifti_matches_initial_diagnostics() {
    let Some(td) = common::shared_testdata() else {
        return;
    };
    let dir = td.join("ibsi1/ct_phantom/nifti");
    let image = ctrad::io::read_volume(&dir.join("phantom.nii.gz")).unwrap();
    let mask = ctrad::io::read_volume(&dir.join("mask.nii.gz"))
        .unwrap()
        .select(None);
    assert_eq!(image.geometry.dims, [204, 201, 60]);
    assert_eq!(mask.count(), 125_256);
    let bb = mask.bounding_box().unwrap();
    assert_eq!(
        [
            bb.1[0] - bb.0[0] + 1,
            bb.1[1] - bb.0[1] + 1,
            bb.1[2] - bb.0[2] + 1
        ],
        [100, 99, 26]
    );
}
