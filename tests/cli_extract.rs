//! The single-study CLI contract: one row whose columns are IBSI tags.

mod common;

use std::path::PathBuf;
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn out_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ctrad-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

#[test]
fn dicom_rtstruct_extract_writes_one_row_of_ibsi_tags() {
    let Some(td) = common::shared_testdata() else {
        return;
    };
    let d = out_dir("dicom");
    let csv = d.join("features.csv");
    let o = Command::new(env!("CARGO_BIN_EXE_ctrad"))
        .arg("extract")
        .arg("--image")
        .arg(td.join("ibsi1/ct_phantom/dicom/image"))
        .arg("--mask")
        .arg(td.join("ibsi1/ct_phantom/dicom/mask/DCM_RS_00060.dcm"))
        .args(["--roi", "GTV-1", "--naming", "ibsi", "--params"])
        .arg(root().join("pipelines/ibsi/config_c.yaml"))
        .arg("-o")
        .arg(&csv)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(&csv).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "header and one row");
    let header: Vec<&str> = lines[0].split(',').collect();
    let values: Vec<&str> = lines[1].split(',').collect();
    assert_eq!(header.len(), values.len());
    for tag in [
        "morph_volume",
        "cm_joint_max_3D_avg",
        "rlm_sre_3D_comb",
        "szm_sze_3D",
        "img_dim_x_interp_img",
    ] {
        assert!(header.contains(&tag), "missing {tag}");
    }
    for id in ["image", "mask", "roi"] {
        assert!(header.contains(&id), "missing identifying column {id}");
    }
    let refs = common::reference_values(&td, "C");
    let vox = header
        .iter()
        .position(|h| *h == "int_mask_vox_count_init_roi")
        .unwrap();
    assert_eq!(
        values[vox].parse::<f64>().unwrap(),
        refs["int_mask_vox_count_init_roi"].value
    );

    // The same table as Parquet.
    let pq = d.join("features.parquet");
    let status = Command::new(env!("CARGO_BIN_EXE_ctrad"))
        .arg("extract")
        .arg("--image")
        .arg(root().join("testdata/phantom/image.nii.gz"))
        .arg("--mask")
        .arg(root().join("testdata/phantom/mask.nii.gz"))
        .args(["--label", "1", "--params"])
        .arg(root().join("pipelines/ibsi/config_c.yaml"))
        .arg("-o")
        .arg(&pq)
        .status()
        .unwrap();
    assert!(status.success());
    let bytes = std::fs::read(&pq).unwrap();
    assert_eq!(&bytes[..4], b"PAR1");
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn unknown_roi_lists_the_available_names() {
    let Some(td) = common::shared_testdata() else {
        return;
    };
    let d = out_dir("roi");
    let o = Command::new(env!("CARGO_BIN_EXE_ctrad"))
        .arg("extract")
        .arg("--image")
        .arg(td.join("ibsi1/ct_phantom/dicom/image"))
        .arg("--mask")
        .arg(td.join("ibsi1/ct_phantom/dicom/mask/DCM_RS_00060.dcm"))
        .args(["--roi", "liver", "--params"])
        .arg(root().join("pipelines/ibsi/config_a.yaml"))
        .arg("-o")
        .arg(d.join("x.csv"))
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("GTV-1") && err.contains("DCM_RS_00060.dcm"),
        "{err}"
    );
}
