//! The report (issue 19): contours drawn where the segmentation says, in all
//! three planes, with the right orientation letters, for DICOM (LPS) and
//! NIfTI (RAS on disk) alike; the report of synthetic studies flags what is
//! wrong, names no external resource and is the same from `extract
//! --report` and `ctrad report`.

mod common;

use common::fixtures::temp_dir;
use ctrad::inputs::{load_roi_box, ImageSource};
use ctrad::io::dicom::write::{write_ct_series, write_rtstruct, CtSeriesSpec, RtRoi};
use ctrad::report::view::{Plane, View};
use ctrad::report::{draw_roi, ReportOptions, RoiDrawing};
use ctrad::volume::{Geometry, Mask, Volume};
use std::path::Path;
use std::process::Command;

/// The lesion: voxels whose centre lies in this world box (LPS, mm) — on
/// the patient's left (x > 0), anterior (y < 0).
const LESION: [[f64; 2]; 3] = [[3.0, 9.0], [-6.2, -1.0], [105.0, 115.0]];

/// A grid covering x −12…11.2, y −10…8.4, z 96…126 mm, stored LPS
/// (`ras = false`: the first voxel at the right-anterior corner) or with
/// x and y reversed, as a NIfTI file stored RAS reads (`ras = true`).
fn grid(ras: bool) -> Geometry {
    let mut g = Geometry::new([30, 24, 16], [0.8, 0.8, 2.0], [-12.0, -10.0, 96.0]);
    if ras {
        g.direction = [[-1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, 1.0]];
        g.origin = [-12.0 + 0.8 * 29.0, -10.0 + 0.8 * 23.0, 96.0];
    }
    g
}

fn in_lesion(w: [f64; 3]) -> bool {
    (0..3).all(|a| w[a] >= LESION[a][0] && w[a] <= LESION[a][1])
}

/// An image whose HU depend on the world position (so a flip would show)
/// and the lesion's mask.
fn anatomy(g: &Geometry) -> (Volume<f32>, Mask) {
    let mut image = Volume::filled(g.clone(), 0f32);
    let mut mask = Volume::filled(g.clone(), false);
    for i in 0..g.len() {
        let c = g.coords(i);
        let w = g.index_to_world(c.map(|v| v as f64));
        image.data[i] = (2.0 * w[0] + 3.0 * w[1] - w[2] + 60.0).round() as f32;
        if in_lesion(w) {
            image.data[i] += 100.0;
            mask.data[i] = true;
        }
    }
    (image, mask)
}

/// World direction of an orientation letter.
fn dir_of(letter: char) -> [f64; 3] {
    match letter {
        'L' => [1.0, 0.0, 0.0],
        'R' => [-1.0, 0.0, 0.0],
        'P' => [0.0, 1.0, 0.0],
        'A' => [0.0, -1.0, 0.0],
        'S' => [0.0, 0.0, 1.0],
        'I' => [0.0, 0.0, -1.0],
        c => panic!("not an orientation letter: {c}"),
    }
}

fn dot(a: [f64; 3], b: [f64; 3]) -> f64 {
    (0..3).map(|k| a[k] * b[k]).sum()
}

/// World position of the voxel a pixel shows.
fn world(g: &Geometry, d: &RoiDrawing, v: &View, px: usize, py: usize) -> [f64; 3] {
    let b = v.voxel_of_pixel(px, py);
    g.index_to_world(std::array::from_fn(|a| (d.lo[a] + b[a]) as f64))
}

/// Every check of one drawing: radiological letters, pixels running the
/// way the letters say, the contour inside the lesion and reaching its
/// extreme voxels along both screen axes, voxel count and mean HU.
fn check_drawing(g: &Geometry, image: &Volume<f32>, mask: &Mask, d: &RoiDrawing) {
    let letters = |p: Plane| match p {
        Plane::Axial => ['R', 'L', 'A', 'P'],
        Plane::Coronal => ['R', 'L', 'S', 'I'],
        Plane::Sagittal => ['A', 'P', 'S', 'I'],
    };
    assert_eq!(d.views.len(), 3);
    // Extreme voxel centres of the lesion along each world axis.
    let centres: Vec<[f64; 3]> = (0..g.len())
        .filter(|&i| mask.data[i])
        .map(|i| g.index_to_world(g.coords(i).map(|v| v as f64)))
        .collect();
    let extreme = |a: usize| {
        let v: Vec<f64> = centres.iter().map(|c| c[a]).collect();
        (
            v.iter().copied().fold(f64::INFINITY, f64::min),
            v.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        )
    };
    for v in &d.views {
        assert_eq!(v.layout.letters, letters(v.plane), "{:?}", v.plane);
        let [l, r, t, b] = v.layout.letters;
        let (right, down) = (dir_of(r), dir_of(b));
        assert_eq!(dir_of(l).map(|c| -c), right);
        assert_eq!(dir_of(t).map(|c| -c), down);
        // Pixels run the way the letters say, at the pixel size shown.
        for px in 1..v.width {
            let step = dot(right, sub(world(g, d, v, px, 0), world(g, d, v, px - 1, 0)));
            assert!(step >= -1e-9, "{:?}: column {px} runs leftwards", v.plane);
        }
        for py in 1..v.height {
            let step = dot(down, sub(world(g, d, v, 0, py), world(g, d, v, 0, py - 1)));
            assert!(step >= -1e-9, "{:?}: row {py} runs upwards", v.plane);
        }
        // The contour lies on the lesion and reaches its extremes along
        // both screen axes (the segmentation's own coordinates).
        let mut contour = Vec::new();
        for py in 0..v.height {
            for px in 0..v.width {
                if v.is_contour(px, py) {
                    let w = world(g, d, v, px, py);
                    assert!(
                        in_lesion(w),
                        "{:?}: contour pixel off the lesion at {w:?}",
                        v.plane
                    );
                    contour.push(w);
                }
            }
        }
        assert!(!contour.is_empty(), "{:?}: no contour", v.plane);
        for axis_dir in [right, down] {
            let a = (0..3).find(|&k| axis_dir[k] != 0.0).unwrap();
            let (lo, hi) = extreme(a);
            let seen: Vec<f64> = contour.iter().map(|w| w[a]).collect();
            let min = seen.iter().copied().fold(f64::INFINITY, f64::min);
            let max = seen.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            assert!(
                (min - lo).abs() < 1e-6 && (max - hi).abs() < 1e-6,
                "{:?}: contour spans {min}..{max} along axis {a}, the lesion {lo}..{hi}",
                v.plane
            );
        }
    }
    let n = mask.data.iter().filter(|&&m| m).count();
    let mean = (0..g.len())
        .filter(|&i| mask.data[i])
        .map(|i| image.data[i] as f64)
        .sum::<f64>()
        / n as f64;
    assert_eq!(d.voxels, n);
    assert!((d.mean_hu.unwrap() - mean).abs() < 1e-9);
}

fn sub(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    std::array::from_fn(|k| a[k] - b[k])
}

/// DICOM series + RTSTRUCT (LPS), and the same anatomy as NIfTI image and
/// mask stored RAS: the contour sits on the lesion in all three planes, and
/// both give the very same pictures.
#[test]
fn contours_land_where_the_segmentation_says_in_lps_and_ras() {
    let dir = temp_dir("report-overlay");
    let opts = ReportOptions {
        context_mm: 5.0,
        ..ReportOptions::default()
    };

    // DICOM: CT series and RTSTRUCT (contours in world coordinates).
    let g = grid(false);
    let (image, mask) = anatomy(&g);
    assert!(mask.data.iter().filter(|&&m| m).count() > 100);
    let spec = CtSeriesSpec::from_seed("report-overlay", 3);
    let files = write_ct_series(&dir.join("ct"), &image, &spec).unwrap();
    let rs = dir.join("RS.dcm");
    let roi = RtRoi {
        name: "Lesion",
        mask: &mask,
        interpreted_type: "GTV",
        color: [255, 0, 0],
    };
    write_rtstruct(&rs, &spec, &g, &[roi]).unwrap();
    let img = ImageSource::open_series(&files).unwrap();
    let m = load_roi_box(&rs, &img, Some("Lesion"), None).unwrap();
    let dicom = draw_roi(&img, &m, &opts).unwrap();
    check_drawing(&img.geometry, &image, &mask, &dicom);

    // NIfTI, stored RAS: the grid runs right-to-left and posterior-to-anterior.
    let gr = grid(true);
    let (image_r, mask_r) = anatomy(&gr);
    let nii = dir.join("image.nii.gz");
    let nii_mask = dir.join("mask.nii.gz");
    ctrad::io::nifti::write(&nii, &image_r, ctrad::io::DataType::I16).unwrap();
    ctrad::io::nifti::write(
        &nii_mask,
        &mask_r.map(|b| b as u8 as f32),
        ctrad::io::DataType::U8,
    )
    .unwrap();
    let img_r = ImageSource::open(&nii).unwrap();
    assert!(
        img_r.geometry.direction[0][0] < 0.0,
        "read back as LPS with x reversed"
    );
    let m_r = load_roi_box(&nii_mask, &img_r, None, None).unwrap();
    let nifti = draw_roi(&img_r, &m_r, &opts).unwrap();
    check_drawing(&img_r.geometry, &image_r, &mask_r, &nifti);

    for (a, b) in dicom.views.iter().zip(&nifti.views) {
        assert_eq!((a.width, a.height), (b.width, b.height), "{:?}", a.plane);
        assert!(
            a.pixels == b.pixels,
            "{:?}: LPS and RAS storage draw differently",
            a.plane
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

fn ctrad() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ctrad"))
}

/// Two synthetic studies, one with its portal-venous tumour darker than the
/// unenhanced one and a tiny pancreas: `extract --report` without
/// `--params` uses the bundled default and says so, flags what is wrong,
/// and writes the same report as `ctrad report`; split into study pages on
/// request.
#[test]
fn report_of_synthetic_studies_flags_what_is_wrong() {
    use ctrad::study::Phase;
    use ctrad::synth::{write_study, SynthSpec};
    let dir = temp_dir("report-synth");
    let studies = dir.join("studies");
    write_study(&studies.join("GOOD"), &SynthSpec::pannet()).unwrap();
    let mut bad = SynthSpec::pannet();
    bad.name = "BAD".into();
    for p in &mut bad.phases {
        if p.phase == Phase::PortalVenous {
            p.hu.tumour = 25.0; // below the unenhanced 40 HU
        }
    }
    bad.pancreas_radii_mm = [1.2, 1.2, 1.5];
    bad.pancreas_centre = [8.0, 8.0, 5.5];
    write_study(&studies.join("BAD"), &bad).unwrap();
    // Two series of one frame of reference on different grids, the
    // contour drawn on the portal-venous one only.
    let other = studies.join("OTHERGRID");
    let g_pv = Geometry::new([30, 24, 16], [0.8, 0.8, 2.0], [-12.0, -10.0, 96.0]);
    let g_nc = Geometry::new([20, 16, 8], [1.2, 1.2, 4.0], [-12.0, -10.0, 96.0]);
    let (pv, lesion) = anatomy(&g_pv);
    let (nc, _) = anatomy(&g_nc);
    let mut spec_pv = CtSeriesSpec::from_seed("report-othergrid", 4);
    spec_pv.series_description = "ABD PV".into();
    let mut spec_nc = CtSeriesSpec::from_seed("report-othergrid", 2);
    spec_nc.series_description = "ABD NC".into();
    write_ct_series(&other.join("pv"), &pv, &spec_pv).unwrap();
    write_ct_series(&other.join("nc"), &nc, &spec_nc).unwrap();
    let roi = RtRoi {
        name: "Lesion",
        mask: &lesion,
        interpreted_type: "GTV",
        color: [255, 0, 0],
    };
    write_rtstruct(&other.join("RS.dcm"), &spec_pv, &g_pv, &[roi]).unwrap();
    // A folder with no image at all.
    std::fs::create_dir_all(studies.join("EMPTY")).unwrap();
    std::fs::write(studies.join("EMPTY/notes.txt"), "nothing here").unwrap();

    let table = dir.join("out/features.parquet");
    let report = dir.join("out/report.html");
    let o = ctrad()
        .arg("extract")
        .arg(&studies)
        .arg("-o")
        .arg(&table)
        .arg("--report")
        .arg(&report)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "failures exit 2: {stderr}");
    assert!(stderr.contains("bundled PanNET CT default"), "{stderr}");
    assert!(stderr.contains("report: 4 studies, 15 entries"), "{stderr}");
    let html = std::fs::read_to_string(&report).unwrap();
    common::assert_no_external_url(&html, &report);
    assert!(html.contains("the bundled PanNET CT default"));
    // The compiled-in default is the file in the source tree.
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join(ctrad::params::BUNDLED_DEFAULT_NAME);
    let from_file = ctrad::params::Params::from_file(&file).unwrap();
    assert!(from_file.is_bundled_default());
    assert_eq!(
        from_file.hash(),
        ctrad::params::Params::bundled_default().unwrap().hash()
    );
    // 12 synthetic entries and 2 of OTHERGRID drawn, the empty study not.
    assert_eq!(html.matches("data:image/png;base64,").count(), 42);
    let empty = html
        .split("id=\"study-EMPTY\"")
        .nth(1)
        .unwrap()
        .split("</section>")
        .next()
        .unwrap();
    assert!(
        empty.contains("no CT series or image file found"),
        "{empty}"
    );
    assert!(html.contains("segmentation drawn on a series with another grid"));
    assert!(
        html.contains("SeriesDescription 'ABD PV 2.5mm' contains 'PV'"),
        "phase evidence shown"
    );
    assert!(
        html.contains("on the portal venous phase is below the unenhanced 40.0 HU"),
        "enhancement flag"
    );
    assert!(html.contains("ROI of only"), "tiny ROI flag");
    let good_flags = html
        .split("<section class=\"study\" id=\"study-GOOD\">")
        .nth(1)
        .unwrap()
        .split("</section>")
        .next()
        .unwrap();
    assert!(
        !good_flags.contains("class=\"flags\""),
        "the good study has no flag"
    );

    // `ctrad report` on the same table: the same file.
    let again = dir.join("again.html");
    let o = ctrad()
        .arg("report")
        .arg(&studies)
        .arg("--table")
        .arg(&table)
        .arg("-o")
        .arg(&again)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(std::fs::read(&again).unwrap() == std::fs::read(&report).unwrap());
    assert_eq!(o.status.code(), Some(0));

    // With `--cross-phase map` the unenhanced series of OTHERGRID gets the
    // portal-venous contour by patient coordinates; the report draws it so
    // and says where it came from.
    let mapped_table = dir.join("mapped/features.parquet");
    let mapped = dir.join("mapped/report.html");
    let o = ctrad()
        .arg("extract")
        .arg(&studies)
        .args(["--cross-phase", "map", "-q", "--roi", "Lesion", "-o"])
        .arg(&mapped_table)
        .arg("--report")
        .arg(&mapped)
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let html = std::fs::read_to_string(&mapped).unwrap();
    let section = html
        .split("id=\"study-OTHERGRID\"")
        .nth(1)
        .unwrap()
        .split("</section>")
        .next()
        .unwrap();
    assert!(
        section.contains("mask source portal_venous:mapped"),
        "{section}"
    );
    assert_eq!(
        section.matches("class=\"ok\">computed").count(),
        2,
        "{section}"
    );
    assert_eq!(section.matches("data:image/png;base64,").count(), 6);

    // Study pages when one file would be too large; each self-contained.
    let split = dir.join("split/report.html");
    let o = ctrad()
        .arg("report")
        .arg(&studies)
        .arg("--table")
        .arg(&table)
        .args(["--max-mb", "0", "--window", "350/50", "-o"])
        .arg(&split)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let cohort = std::fs::read_to_string(&split).unwrap();
    assert!(cohort.contains("href=\"report_studies/BAD.html\""));
    assert!(cohort.contains("W 350 / L 50"));
    assert!(!cohort.contains("data:image/png"));
    for s in ["BAD", "EMPTY", "GOOD", "OTHERGRID"] {
        let p = dir.join(format!("split/report_studies/{s}.html"));
        let page = std::fs::read_to_string(&p).unwrap();
        common::assert_no_external_url(&page, &p);
        let images = [("BAD", 18), ("EMPTY", 0), ("GOOD", 18), ("OTHERGRID", 6)];
        let n = images.iter().find(|x| x.0 == s).unwrap().1;
        assert_eq!(page.matches("data:image/png;base64,").count(), n, "{s}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
