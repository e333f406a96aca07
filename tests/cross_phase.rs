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
