//! One contour, every phase (issue 24): the portal-venous segmentation of a
//! synthetic study carried to phases on other grids (`map`) and to phases
//! whose patient moved (`register`), against the generator's known answers.

use ctrad::cross_phase::map::map_roi;
use ctrad::cross_phase::register::{register, Settings};
use ctrad::inputs::{ImageSource, RoiBox};
use ctrad::io::{nifti, DataType};
use ctrad::study::Phase;
use ctrad::synth::{generate, SynthSpec};
use ctrad::volume::Mask;
use std::path::{Path, PathBuf};

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ctrad-xphase-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The bundled study's anatomy on a longer grid: 40×40×24 voxels of
/// 1×1×2.5 mm, pancreas and tumour in the middle slices.
fn long_spec(name: &str) -> SynthSpec {
    let mut spec = SynthSpec::pannet();
    spec.name = name.into();
    spec.dims = [40, 40, 24];
    spec.origin = [-19.5, -19.5, -28.75];
    spec.pancreas_centre[2] = 11.5;
    spec.tumour_centre[2] = 11.0;
    spec
}

fn phase_mut(spec: &mut SynthSpec, phase: Phase) -> &mut ctrad::synth::PhaseSpec {
    spec.phases.iter_mut().find(|p| p.phase == phase).unwrap()
}

/// The mask as an ROI box (its bounding box on its grid).
fn roi_box(mask: &Mask, name: &str, path: &Path) -> RoiBox {
    let (lo, hi) = mask.bounding_box().unwrap();
    RoiBox {
        mask: mask.crop(lo, hi),
        lo,
        roi: name.into(),
        path: path.to_path_buf(),
        segmentation_uid: String::new(),
    }
}

/// The portal-venous image and the image of `phase` of `spec`, written as
/// NIfTI files and opened by their headers, with the tumour ROI.
fn pair(spec: &SynthSpec, phase: Phase, dir: &Path) -> (ImageSource, ImageSource, RoiBox) {
    let study = generate(spec);
    let k = |p: Phase| spec.phases.iter().position(|x| x.phase == p).unwrap();
    let (pv, other) = (k(Phase::PortalVenous), k(phase));
    let write = |i: usize, name: &str| {
        let path = dir.join(name);
        let image = spec.phases[i].grid.view(&study.images[i]);
        nifti::write(&path, &image, DataType::F32).unwrap();
        ImageSource::open(&path).unwrap()
    };
    let mask_path = dir.join("pv_mask.nii.gz");
    let tumour = &study.phase_rois[pv].1;
    nifti::write(
        &mask_path,
        &tumour.map(|b| if b { 1.0 } else { 0.0 }),
        DataType::U8,
    )
    .unwrap();
    let roi = roi_box(tumour, "Tumour", &mask_path);
    (
        write(pv, "pv_image.nii.gz"),
        write(other, "other_image.nii.gz"),
        roi,
    )
}

/// Registration recovers known translations (whole and sub-voxel) within
/// 0.25 voxel on every axis, for each phase against the portal-venous one.
#[test]
fn registration_recovers_known_shifts() {
    let d = temp_dir("shifts");
    let shifts: [[f64; 3]; 6] = [
        [3.0, 0.0, 0.0],
        [0.0, -2.0, 2.5],
        [1.5, -2.25, 1.25],
        [-4.4, 3.3, -3.0],
        [0.3, 0.7, 0.6],
        [7.0, -6.0, 5.0],
    ];
    println!(
        "phase        shift (mm)              recovered (mm)            error (voxels)     ncc"
    );
    let mut worst = 0.0f64;
    for (n, shift) in shifts.iter().enumerate() {
        for phase in [Phase::Arterial, Phase::Unenhanced] {
            let mut spec = long_spec(&format!("SHIFT_{n}"));
            spec.supersample = 4;
            spec.noise_hu = 5.0;
            phase_mut(&mut spec, phase).grid.shift_mm = *shift;
            let sub = d.join(format!("{n}-{}", phase.as_str()));
            std::fs::create_dir_all(&sub).unwrap();
            let (pv, other, roi) = pair(&spec, phase, &sub);
            let r = register(&roi, &pv, &other, &Settings::default()).unwrap();
            let err: [f64; 3] =
                std::array::from_fn(|a| (r.shift_mm[a] - shift[a]).abs() / spec.spacing[a]);
            println!(
                "{:<12} {:>6.2},{:>6.2},{:>6.2}   {:>7.3},{:>7.3},{:>7.3}   {:.3},{:.3},{:.3}   {:.3} (unmoved {:.3})",
                phase.as_str(),
                shift[0],
                shift[1],
                shift[2],
                r.shift_mm[0],
                r.shift_mm[1],
                r.shift_mm[2],
                err[0],
                err[1],
                err[2],
                r.similarity,
                r.similarity_unmoved
            );
            worst = err.iter().cloned().fold(worst, f64::max);
        }
    }
    println!("worst error: {worst:.3} voxel");
    assert!(worst <= 0.25, "worst error {worst:.3} voxel");
}

/// A mapped mask lands on the same voxels where the grids share voxel
/// centres: fewer slices, doubled slice spacing.
#[test]
fn map_on_shared_voxel_centres_is_exact() {
    let d = temp_dir("shared");
    let mut spec = long_spec("SHARED");
    phase_mut(&mut spec, Phase::Arterial).grid.slices = Some((5, 18));
    phase_mut(&mut spec, Phase::Unenhanced).grid.slice_step = 2;
    let study = generate(&spec);
    for phase in [Phase::Arterial, Phase::Unenhanced] {
        let (pv, other, roi) = pair(&spec, phase, &d);
        let mapped = map_roi(&roi, &pv, &other, [0.0; 3]).unwrap();
        let k = spec.phases.iter().position(|p| p.phase == phase).unwrap();
        let want = spec.phases[k].grid.view(&study.phase_rois[k].1);
        let got = mapped.on_box(&other.geometry, [0; 3], other.geometry.last());
        assert_eq!(got.data, want.data, "{phase}");
    }
}

// ------------------------------------------------------------ batch, end to end

/// Fields of one CSV line (double quotes, `""` inside quotes).
fn csv_fields(line: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                out.last_mut().unwrap().push('"');
            }
            ('"', _) => quoted = !quoted,
            (',', false) => out.push(String::new()),
            _ => out.last_mut().unwrap().push(c),
        }
    }
    out
}

/// A CSV file as maps from column name to value, one per row.
fn read_csv(path: &Path) -> Vec<std::collections::HashMap<String, String>> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header = csv_fields(lines.next().unwrap_or_default());
    lines
        .map(|l| header.iter().cloned().zip(csv_fields(l)).collect())
        .collect()
}

/// `ctrad extract STUDIES --params pannet_ct.yaml -o DIR/NAME.csv [extra]`:
/// the rows and the lines of the errors file.
fn extract(
    studies: &Path,
    out_dir: &Path,
    name: &str,
    extra: &[&str],
) -> (Vec<std::collections::HashMap<String, String>>, String) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let out = out_dir.join(format!("{name}.csv"));
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_ctrad"))
        .arg("extract")
        .arg(studies)
        .arg("--params")
        .arg(root.join("pipelines/studies/pannet_ct.yaml"))
        .arg("-o")
        .arg(&out)
        .arg("--quiet")
        .args(extra)
        .output()
        .unwrap();
    assert!(
        matches!(o.status.code(), Some(0) | Some(2)),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let errors = std::fs::read_to_string(out_dir.join(format!("{name}.errors.csv"))).unwrap();
    (read_csv(&out), errors)
}

/// The truth table of a written study: (phase, ROI) → mean HU.
fn truth(study: &Path) -> std::collections::HashMap<(String, String), f64> {
    read_csv(&study.join("truth.csv"))
        .into_iter()
        .map(|r| {
            (
                (r["phase"].clone(), r["roi"].clone()),
                r["mean_hu"].parse().unwrap(),
            )
        })
        .collect()
}

fn row<'a>(
    rows: &'a [std::collections::HashMap<String, String>],
    phase: &str,
    roi: &str,
) -> Option<&'a std::collections::HashMap<String, String>> {
    rows.iter().find(|r| r["phase"] == phase && r["roi"] == roi)
}

/// `map`: an arterial series covering 10 fewer slices and an unenhanced one
/// with doubled slice spacing both get rows, with the exact ROI means
/// (the contours land on the voxels the generator filled); the default
/// policy refuses them, naming the series and the grid difference.
#[test]
fn map_gives_every_phase_its_exact_rows() {
    let d = temp_dir("map-e2e");
    let mut spec = long_spec("XPHASE_MAP");
    phase_mut(&mut spec, Phase::Arterial).grid.slices = Some((5, 18));
    phase_mut(&mut spec, Phase::Unenhanced).grid.slice_step = 2;
    let study = d.join("studies").join(&spec.name);
    ctrad::synth::write_study(&study, &spec).unwrap();
    let truth = truth(&study);

    // `inspect` says who borrows from whom, and why the default refuses.
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_ctrad"))
        .arg("inspect")
        .arg(&study)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    let art = text
        .lines()
        .find(|l| l.contains("#3 'PANCREAS ART 2.5mm' (arterial): from"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        art.contains("#4 'ABD PV 2.5mm' (portal venous)")
            && art.contains("another grid (size [40, 40, 14] vs [40, 40, 24])")
            && art.contains("--cross-phase map or register"),
        "{art}"
    );
    assert!(
        text.contains("#4 'ABD PV 2.5mm' (portal venous): its own"),
        "{text}"
    );

    let (rows, errors) = extract(&d.join("studies"), &d, "same_grid", &[]);
    assert_eq!(rows.len(), 2, "only the contoured phase: {errors}");
    assert!(
        !rows[0].contains_key("mask_source"),
        "default tables unchanged"
    );
    for series in ["#3 'PANCREAS ART 2.5mm'", "#2 'ABD NC 2.5mm'"] {
        let line = errors
            .lines()
            .find(|l| l.contains(series))
            .unwrap_or_else(|| {
                panic!("no error line for {series}: {errors}");
            });
        assert!(line.contains("another grid"), "{line}");
    }

    let (rows, errors) = extract(&d.join("studies"), &d, "map", &["--cross-phase", "map"]);
    assert_eq!(errors.lines().count(), 1, "header only: {errors}");
    assert_eq!(rows.len(), 6);
    for phase in ["unenhanced", "arterial", "portal_venous"] {
        for roi in ["Tumour", "Pancreas"] {
            let r = row(&rows, phase, roi).unwrap();
            let mean: f64 = r["stat_mean"].parse().unwrap();
            assert_eq!(
                mean,
                truth[&(phase.to_string(), roi.to_string())],
                "{phase} {roi}"
            );
            let want = if phase == "portal_venous" {
                "own"
            } else {
                "portal_venous:mapped"
            };
            assert_eq!(r["mask_source"], want);
            assert_eq!(r["mask_shift_mm"], "");
        }
    }
    std::fs::remove_dir_all(&d).unwrap();
}

/// `register`: phases moved by 3 pixels (x) and by one pixel and one slice
/// (y, z) get the translation back, and — the mask landing on the voxels
/// the tumour moved to — the exact ROI means and enhancement; `map` alone
/// gives wrong means there, which is why `register` exists.
#[test]
fn register_recovers_a_three_pixel_shift_and_its_enhancement() {
    let d = temp_dir("register-e2e");
    let mut spec = long_spec("XPHASE_REG");
    phase_mut(&mut spec, Phase::Arterial).grid.shift_mm = [3.0, 0.0, 0.0];
    phase_mut(&mut spec, Phase::Unenhanced).grid.shift_mm = [0.0, -1.0, 2.5];
    let study = d.join("studies").join(&spec.name);
    ctrad::synth::write_study(&study, &spec).unwrap();
    let truth = truth(&study);

    let (rows, errors) = extract(
        &d.join("studies"),
        &d,
        "register",
        &["--cross-phase", "register"],
    );
    assert_eq!(errors.lines().count(), 1, "header only: {errors}");
    assert_eq!(rows.len(), 6);
    for (phase, shift) in [
        ("arterial", [3.0, 0.0, 0.0]),
        ("unenhanced", [0.0, -1.0, 2.5]),
    ] {
        for roi in ["Tumour", "Pancreas"] {
            let r = row(&rows, phase, roi).unwrap();
            assert_eq!(r["mask_source"], "portal_venous:registered");
            let got: Vec<f64> = r["mask_shift_mm"]
                .split(',')
                .map(|v| v.parse().unwrap())
                .collect();
            for a in 0..3 {
                assert!(
                    (got[a] - shift[a]).abs() <= 0.25 * spec.spacing[a],
                    "{phase} {roi}: {got:?} vs {shift:?}"
                );
            }
            let mean: f64 = r["stat_mean"].parse().unwrap();
            assert_eq!(
                mean,
                truth[&(phase.to_string(), roi.to_string())],
                "{phase} {roi}"
            );
        }
    }
    let pv = row(&rows, "portal_venous", "Tumour").unwrap();
    assert_eq!(
        (pv["mask_source"].as_str(), pv["mask_shift_mm"].as_str()),
        ("own", "")
    );

    // The enhancement table from these rows equals the generator's.
    let cohort = d.join("cohort.csv");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_ctrad"))
        .args(["model", "enhancement", "--table"])
        .arg(d.join("register.csv"))
        .arg("-o")
        .arg(&cohort)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let c = &read_csv(&cohort)[0];
    let t = |p: &str| truth[&(p.to_string(), "Tumour".to_string())];
    let abs: f64 = c["abs_enh_arterial"].parse().unwrap();
    assert_eq!(abs, t("arterial") - t("unenhanced"));

    // Mapping without alignment puts the mask beside the tumour.
    let (rows, _) = extract(&d.join("studies"), &d, "map", &["--cross-phase", "map"]);
    let mapped: f64 = row(&rows, "arterial", "Tumour").unwrap()["stat_mean"]
        .parse()
        .unwrap();
    assert!((mapped - t("arterial")).abs() > 5.0, "{mapped}");
    std::fs::remove_dir_all(&d).unwrap();
}

/// Refusals are lines of the errors file naming the series and the reason,
/// never rows: another frame of reference; an ROI running out of the
/// series' coverage; a series with no segmentation anywhere.
#[test]
fn refusals_name_the_series_and_the_reason() {
    let d = temp_dir("refusals");
    let mut spec = long_spec("XPHASE_REFUSE");
    phase_mut(&mut spec, Phase::Arterial)
        .grid
        .other_frame_of_reference = true;
    // Slices 0–9: the tumour (slices 10–12) and pancreas run out of it.
    phase_mut(&mut spec, Phase::Unenhanced).grid.slices = Some((0, 9));
    let study = d.join("studies").join(&spec.name);
    ctrad::synth::write_study(&study, &spec).unwrap();
    for policy in ["map", "register"] {
        let (rows, errors) = extract(&d.join("studies"), &d, policy, &["--cross-phase", policy]);
        let phases: Vec<&str> = rows.iter().map(|r| r["phase"].as_str()).collect();
        assert_eq!(phases, ["portal_venous"; 2], "{policy}: {errors}");
        let art = errors
            .lines()
            .find(|l| l.contains("#3 'PANCREAS ART 2.5mm'"))
            .unwrap_or_else(|| panic!("{policy}: {errors}"));
        assert!(art.contains("another frame of reference"), "{art}");
        for roi in ["Tumour", "Pancreas"] {
            let line = errors
                .lines()
                .find(|l| l.contains("#2 'ABD NC 2.5mm'") && l.contains(&format!("'{roi}'")))
                .unwrap_or_else(|| panic!("{policy} {roi}: {errors}"));
            assert!(
                line.contains("not inside the series' coverage") && line.contains("z axis"),
                "{policy}: {line}"
            );
            assert!(line.contains("ct_2"), "names the series folder: {line}");
        }
    }
    std::fs::remove_dir_all(&d).unwrap();
}

/// Registration refuses what it cannot trust: a movement beyond the search
/// bound, and a target that does not look like the source.
#[test]
fn registration_refuses_shifts_beyond_the_bound_and_poor_similarity() {
    let d = temp_dir("reg-refuse");
    let (pv, art, roi) = pair(&long_spec("NEAR"), Phase::Arterial, &d);
    let tight = Settings {
        bound_mm: 4.0,
        ..Settings::default()
    };
    // Unmoved: found at zero within any bound.
    let r = register(&roi, &pv, &art, &tight).unwrap();
    assert!(r.shift_mm.iter().all(|s| s.abs() < 0.1), "{r:?}");

    let mut far = long_spec("FAR");
    phase_mut(&mut far, Phase::Arterial).grid.shift_mm = [9.0, 0.0, 0.0];
    let sub = d.join("far");
    std::fs::create_dir_all(&sub).unwrap();
    let (pv, art, roi) = pair(&far, Phase::Arterial, &sub);
    let e = register(&roi, &pv, &art, &tight).unwrap_err().to_string();
    assert!(
        e.contains("'Tumour'") && e.contains("bound of ±4 mm"),
        "{e}"
    );
    // Within the default bound of 15 mm it is found.
    let r = register(&roi, &pv, &art, &Settings::default()).unwrap();
    assert!((r.shift_mm[0] - 9.0).abs() <= 0.25, "{r:?}");

    // A target of noise: nothing to align with.
    let noise_path = sub.join("noise.nii.gz");
    let mut noise = art.into_image().unwrap().volume;
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for v in &mut noise.data {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        *v = (state % 400) as f32 - 100.0;
    }
    nifti::write(&noise_path, &noise, DataType::F32).unwrap();
    let noisy = ImageSource::open(&noise_path).unwrap();
    let e = register(&roi, &pv, &noisy, &Settings::default())
        .unwrap_err()
        .to_string();
    // Its best "match" is anywhere, here at the edge of the search.
    assert!(e.contains("registration: the best shift"), "{e}");

    // A real but imperfect match (partial volume, noise, a sub-voxel
    // movement: correlation about 0.83) under a stricter threshold.
    let mut blurred = long_spec("BLUR");
    blurred.supersample = 4;
    blurred.noise_hu = 5.0;
    phase_mut(&mut blurred, Phase::Arterial).grid.shift_mm = [1.5, -2.25, 1.25];
    let sub = d.join("blur");
    std::fs::create_dir_all(&sub).unwrap();
    let (pv, art, roi) = pair(&blurred, Phase::Arterial, &sub);
    let strict = Settings {
        min_similarity: 0.95,
        ..Settings::default()
    };
    let e = register(&roi, &pv, &art, &strict).unwrap_err().to_string();
    assert!(
        e.contains("poor similarity") && e.contains("below 0.95"),
        "{e}"
    );
    std::fs::remove_dir_all(&d).unwrap();
}

/// Masks that are not contours are resampled (IBSI: linear, ≥ 0.5): a
/// DICOM SEG drawn on the portal-venous series and NIfTI label maps reach
/// an unenhanced series with doubled slice spacing and an arterial file
/// covering fewer slices, with the exact means of the voxels they share.
#[test]
fn seg_and_label_maps_are_resampled_onto_other_grids() {
    let d = temp_dir("seg-nifti");
    let mut spec = long_spec("XPHASE_SEG");
    phase_mut(&mut spec, Phase::Arterial).grid.slices = Some((5, 18));
    phase_mut(&mut spec, Phase::Unenhanced).grid.slice_step = 2;
    let study = generate(&spec);
    let truth_of = |dir: &Path| truth(dir);

    // DICOM: the same study with a SEG in place of the RTSTRUCT.
    let dicom = d.join("dicom").join(&spec.name);
    ctrad::synth::write_study(&dicom, &spec).unwrap();
    std::fs::remove_file(dicom.join("RS.dcm")).unwrap();
    let pv = spec
        .phases
        .iter()
        .position(|p| p.phase == Phase::PortalVenous)
        .unwrap();
    let meta = ImageSource::open(&dicom.join(format!("ct_{}", spec.phases[pv].series_number)))
        .unwrap()
        .meta
        .unwrap();
    let (pancreas, tumour) = &study.phase_rois[pv];
    ctrad::io::dicom::seg_write::write_seg(
        &dicom.join("SEG.dcm"),
        &[("Tumour", tumour), ("Pancreas", pancreas)],
        &meta,
    )
    .unwrap();

    // NIfTI: each phase as `<name>_image.nii.gz`, the masks beside the pv image.
    let nifti_dir = d.join("nifti").join("XPHASE_NII");
    std::fs::create_dir_all(&nifti_dir).unwrap();
    for (k, name) in [(0, "nc"), (1, "art"), (2, "pv")] {
        let image = spec.phases[k].grid.view(&study.images[k]);
        nifti::write(
            &nifti_dir.join(format!("{name}_image.nii.gz")),
            &image,
            DataType::I16,
        )
        .unwrap();
    }
    for (roi, mask) in [("Tumour", tumour), ("Pancreas", pancreas)] {
        nifti::write(
            &nifti_dir.join(format!("pv_mask_{roi}.nii.gz")),
            &mask.map(|b| if b { 1.0 } else { 0.0 }),
            DataType::U8,
        )
        .unwrap();
    }

    let truth = truth_of(&dicom);
    for (studies, name) in [(d.join("dicom"), "seg"), (d.join("nifti"), "nii")] {
        let (rows, errors) = extract(&studies, &d, name, &["--cross-phase", "map"]);
        assert_eq!(errors.lines().count(), 1, "{name}: {errors}");
        assert_eq!(rows.len(), 6, "{name}");
        for phase in ["unenhanced", "arterial", "portal_venous"] {
            for roi in ["Tumour", "Pancreas"] {
                let r = row(&rows, phase, roi)
                    .unwrap_or_else(|| panic!("{name}: no {phase} {roi} row"));
                let mean: f64 = r["stat_mean"].parse().unwrap();
                assert_eq!(
                    mean,
                    truth[&(phase.to_string(), roi.to_string())],
                    "{name} {phase} {roi}"
                );
                let want = if phase == "portal_venous" {
                    "own"
                } else {
                    "portal_venous:mapped"
                };
                assert_eq!(r["mask_source"], want, "{name}");
            }
        }
    }
    std::fs::remove_dir_all(&d).unwrap();
}

/// A policy that does not exist is an error naming it, from the command
/// line and from the parameter file (naming the file and the key).
#[test]
fn unknown_policies_are_named() {
    let d = temp_dir("bad-policy");
    let params = d.join("p.yaml");
    std::fs::write(&params, "setting:\n  crossPhase: deform\n").unwrap();
    let e = ctrad::params::Params::from_file(&params)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("p.yaml") && e.contains("'crossPhase'") && e.contains("deform"),
        "{e}"
    );
    std::fs::write(&params, "setting:\n  crossPhase: register\n").unwrap();
    let p = ctrad::params::Params::from_file(&params).unwrap();
    assert_eq!(p.cross_phase, ctrad::cross_phase::CrossPhase::Register);

    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_ctrad"))
        .arg("extract")
        .arg(root.join("testdata/studies"))
        .arg("--params")
        .arg(root.join("pipelines/studies/pannet_ct.yaml"))
        .arg("-o")
        .arg(d.join("out.csv"))
        .args(["--cross-phase", "warp"])
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("--cross-phase 'warp'"), "{err}");
    std::fs::remove_dir_all(&d).unwrap();
}

/// A single image and mask run with a `map`/`register` policy carries the
/// same provenance columns as batch rows (its mask is its own); without
/// one, the table is as before.
#[test]
fn single_study_rows_carry_the_same_provenance() {
    let d = temp_dir("single");
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let study = root.join("testdata/studies/SYNTH_PANNET_001");
    let run = |out: &Path, extra: &[&str]| {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_ctrad"))
            .arg("extract")
            .arg("--image")
            .arg(study.join("ct_3"))
            .arg("--mask")
            .arg(study.join("RS.dcm"))
            .args(["--roi", "Tumour", "--params"])
            .arg(root.join("pipelines/studies/pannet_ct.yaml"))
            .arg("-o")
            .arg(out)
            .args(extra)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        read_csv(out).remove(0)
    };
    let plain = run(&d.join("plain.csv"), &[]);
    assert!(!plain.contains_key("mask_source"));
    let mapped = run(&d.join("map.csv"), &["--cross-phase", "map"]);
    assert_eq!(mapped["mask_source"], "own");
    assert_eq!(mapped["mask_shift_mm"], "");
    assert_eq!(mapped["stat_mean"], plain["stat_mean"]);
    std::fs::remove_dir_all(&d).unwrap();
}
