//! The committed synthetic study: byte-identical regeneration, exact ground
//! truth, and round trips of the CT and RTSTRUCT writers.

use ctrad::io::dicom::write::{trace_slice, write_ct_series, CtSeriesSpec};
use ctrad::synth::{generate, write_testdata, SynthSpec};
use ctrad::volume::{Geometry, Mask, Volume};
use dicom_dictionary_std::tags;
use dicom_object::{open_file, InMemDicomObject};
use std::path::{Path, PathBuf};

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ctrad-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn files(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                // Files made by other tools (the highdicom SEG, PyRadiomics reference values
                // and the statistics references) are not made by the synthetic generator.
                if p.file_name().is_some_and(|n| {
                    n == "seg_highdicom" || n == "pyradiomics_reference" || n == "stats_reference"
                }) {
                    continue;
                }
                stack.push(p);
            } else {
                out.push(p.strip_prefix(root).unwrap().to_path_buf());
            }
        }
    }
    out.sort();
    out
}

#[test]
fn regenerated_testdata_is_byte_identical() {
    let committed = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata");
    let fresh = scratch("testdata");
    write_testdata(&fresh).unwrap();
    let a = files(&committed);
    let b = files(&fresh);
    assert_eq!(
        a, b,
        "file lists differ: run `cargo run --example make_testdata`"
    );
    assert!(a.len() >= 3 * 12 + 3);
    let mut total = 0;
    for f in &a {
        let x = std::fs::read(committed.join(f)).unwrap();
        let y = std::fs::read(fresh.join(f)).unwrap();
        total += x.len();
        assert!(x == y, "{} differs from a fresh generation", f.display());
    }
    assert!(total < 300_000, "committed study is {total} bytes");
    std::fs::remove_dir_all(&fresh).unwrap();
}

fn ds(obj: &InMemDicomObject, tag: dicom_core::Tag) -> Vec<f64> {
    obj.element(tag).unwrap().to_multi_float64().unwrap()
}

#[test]
fn ct_files_hold_the_generated_hu_and_geometry() {
    let spec = SynthSpec::pannet();
    let synth = generate(&spec);
    let g = spec.geometry();
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/studies/SYNTH_PANNET_001");
    for (p, image) in spec.phases.iter().zip(&synth.images) {
        for k in 0..g.dims[2] {
            let path = dir.join(format!("ct_{}/CT{:04}.dcm", p.series_number, k + 1));
            let obj = open_file(&path).unwrap();
            assert_eq!(
                obj.element(tags::SOP_CLASS_UID).unwrap().to_str().unwrap(),
                "1.2.840.10008.5.1.4.1.1.2"
            );
            assert_eq!(obj.meta().transfer_syntax(), "1.2.840.10008.1.2.1");
            let pos = ds(&obj, tags::IMAGE_POSITION_PATIENT);
            let want = g.index_to_world([0.0, 0.0, k as f64]);
            assert_eq!(pos, want.to_vec());
            assert_eq!(
                ds(&obj, tags::IMAGE_ORIENTATION_PATIENT),
                vec![1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
            );
            assert_eq!(ds(&obj, tags::PIXEL_SPACING), vec![1.0, 1.0]);
            assert_eq!(ds(&obj, tags::SLICE_THICKNESS), vec![2.5]);
            let slope = ds(&obj, tags::RESCALE_SLOPE)[0];
            let icpt = ds(&obj, tags::RESCALE_INTERCEPT)[0];
            let bytes = obj.element(tags::PIXEL_DATA).unwrap().to_bytes().unwrap();
            let n = g.dims[0] * g.dims[1];
            assert_eq!(bytes.len(), 2 * n);
            for i in 0..n {
                let raw = i16::from_le_bytes([bytes[2 * i], bytes[2 * i + 1]]) as f64;
                assert_eq!(raw * slope + icpt, image.data[k * n + i] as f64);
            }
        }
    }
    // The pixel-data crate the series reader uses can decode the files.
    use dicom_pixeldata::PixelDecoder;
    let obj = open_file(dir.join("ct_4/CT0006.dcm")).unwrap();
    let decoded = obj.decode_pixel_data().unwrap();
    assert_eq!((decoded.rows(), decoded.columns()), (40, 40));
}

#[test]
fn truth_is_exact() {
    let spec = SynthSpec::pannet();
    let s = generate(&spec);
    assert!(s.tumour.count() > 100 && s.pancreas.count() > 1000);
    assert!(s
        .tumour
        .data
        .iter()
        .zip(&s.pancreas.data)
        .all(|(&t, &p)| !(t && p)));
    for (p, img) in spec.phases.iter().zip(&s.images) {
        for (mask, hu) in [(&s.tumour, p.hu.tumour), (&s.pancreas, p.hu.pancreas)] {
            let vals: Vec<f64> = img
                .data
                .iter()
                .zip(&mask.data)
                .filter(|(_, &m)| m)
                .map(|(&v, _)| v as f64)
                .collect();
            let mean = vals.iter().sum::<f64>() / vals.len() as f64;
            assert_eq!(mean, hu as f64);
            assert!(vals.iter().any(|&v| v != hu as f64), "pattern missing");
        }
    }
    // Truth CSV of the committed study agrees.
    let csv = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("testdata/studies/SYNTH_PANNET_001/truth.csv"),
    )
    .unwrap();
    assert!(csv.contains(&format!(
        "4,ABD PV 2.5mm,portal_venous,Tumour,{},130,120,140",
        s.tumour.count()
    )));
}

/// Even-odd test of point (px, py) against closed polygons.
fn even_odd(polys: &[Vec<(f64, f64)>], px: f64, py: f64) -> bool {
    let mut inside = false;
    for poly in polys {
        let n = poly.len();
        for a in 0..n {
            let (x1, y1) = poly[a];
            let (x2, y2) = poly[(a + 1) % n];
            if (y1 > py) != (y2 > py) {
                let x = x1 + (py - y1) * (x2 - x1) / (y2 - y1);
                if px < x {
                    inside = !inside;
                }
            }
        }
    }
    inside
}

/// Rasterise the contours of ROI `name` from an RTSTRUCT onto `g` by the
/// even-odd rule at voxel centres (world → index with the grid's geometry).
fn rasterise(rs: &InMemDicomObject, name: &str, g: &Geometry) -> Mask {
    let rois = rs
        .element(tags::STRUCTURE_SET_ROI_SEQUENCE)
        .unwrap()
        .items()
        .unwrap();
    let number = rois
        .iter()
        .find(|r| r.element(tags::ROI_NAME).unwrap().to_str().unwrap() == name)
        .map(|r| {
            r.element(tags::ROI_NUMBER)
                .unwrap()
                .to_int::<i64>()
                .unwrap()
        })
        .unwrap();
    let rc = rs
        .element(tags::ROI_CONTOUR_SEQUENCE)
        .unwrap()
        .items()
        .unwrap();
    let item = rc
        .iter()
        .find(|i| {
            i.element(tags::REFERENCED_ROI_NUMBER)
                .unwrap()
                .to_int::<i64>()
                .unwrap()
                == number
        })
        .unwrap();
    let mut per_slice: Vec<Vec<Vec<(f64, f64)>>> = vec![Vec::new(); g.dims[2]];
    for c in item
        .element(tags::CONTOUR_SEQUENCE)
        .unwrap()
        .items()
        .unwrap()
    {
        assert_eq!(
            c.element(tags::CONTOUR_GEOMETRIC_TYPE)
                .unwrap()
                .to_str()
                .unwrap(),
            "CLOSED_PLANAR"
        );
        let data = c
            .element(tags::CONTOUR_DATA)
            .unwrap()
            .to_multi_float64()
            .unwrap();
        let n = c
            .element(tags::NUMBER_OF_CONTOUR_POINTS)
            .unwrap()
            .to_int::<usize>()
            .unwrap();
        assert_eq!(data.len(), 3 * n);
        let mut poly = Vec::new();
        let mut z = None;
        for p in data.chunks(3) {
            let ijk = g.world_to_index([p[0], p[1], p[2]]);
            let k = ijk[2].round();
            assert!((ijk[2] - k).abs() < 1e-6, "contour off the slice plane");
            assert!(z.is_none() || z == Some(k));
            z = Some(k);
            poly.push((ijk[0], ijk[1]));
        }
        per_slice[z.unwrap() as usize].push(poly);
    }
    let mut m = Mask::filled(g.clone(), false);
    for (k, polys) in per_slice.iter().enumerate() {
        for y in 0..g.dims[1] {
            for x in 0..g.dims[0] {
                m.set(x, y, k, even_odd(polys, x as f64, y as f64));
            }
        }
    }
    m
}

#[test]
fn rtstruct_contours_rasterise_back_to_the_masks() {
    let spec = SynthSpec::pannet();
    let s = generate(&spec);
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/studies/SYNTH_PANNET_001/RS.dcm");
    let rs = open_file(&path).unwrap().into_inner();
    let g = spec.geometry();
    assert_eq!(rasterise(&rs, "Tumour", &g).data, s.tumour.data);
    let pancreas = rasterise(&rs, "Pancreas", &g);
    assert_eq!(pancreas.data, s.pancreas.data);
    // The pancreas has holes (the tumour) on the central slices.
    let k = spec.tumour_centre[2] as usize;
    assert!(trace_slice(&s.pancreas, k).len() >= 2);
}

#[test]
fn tracing_handles_holes_pinches_and_borders() {
    // Rotated, anisotropic grid to exercise the world transform as well.
    let mut g = Geometry::new([7, 6, 2], [0.7, 0.9, 3.0], [10.0, -5.0, 2.0]);
    g.direction = [[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]];
    #[rustfmt::skip]
    let slice0 = [
        1,1,1,1,1,0,0,
        1,0,0,0,1,0,1,
        1,0,1,0,1,1,0,
        1,0,0,0,1,0,1,
        1,1,1,1,1,0,0,
        0,0,0,0,0,0,1,
    ];
    #[rustfmt::skip]
    let slice1 = [
        1,0,1,0,1,0,1,
        0,1,0,1,0,1,0,
        1,0,1,0,1,0,1,
        0,1,0,1,0,1,0,
        1,1,1,1,1,1,1,
        1,1,1,1,1,1,1,
    ];
    let data: Vec<bool> = slice0.iter().chain(&slice1).map(|&v| v == 1).collect();
    let mask = Volume::from_vec(g.clone(), data).unwrap();
    for k in 0..2 {
        let polys: Vec<Vec<(f64, f64)>> = trace_slice(&mask, k)
            .into_iter()
            .map(|p| {
                p.into_iter()
                    .map(|(x, y)| (x as f64 - 0.5, y as f64 - 0.5))
                    .collect()
            })
            .collect();
        for y in 0..6 {
            for x in 0..7 {
                assert_eq!(
                    even_odd(&polys, x as f64, y as f64),
                    mask.get(x, y, k),
                    "({x},{y},{k})"
                );
            }
        }
    }

    // Full round trip through the DICOM writers on this grid.
    let dir = scratch("trace-rt");
    let spec = CtSeriesSpec::from_seed("trace test", 1);
    let image = Volume::filled(g.clone(), 0.0f32);
    let written = write_ct_series(&dir.join("ct"), &image, &spec).unwrap();
    assert_eq!(written.len(), 2);
    let rs_path = dir.join("RS.dcm");
    ctrad::io::dicom::write::write_rtstruct(
        &rs_path,
        &spec,
        &g,
        &[ctrad::io::dicom::write::RtRoi {
            name: "shape",
            mask: &mask,
            interpreted_type: "ORGAN",
            color: [1, 2, 3],
        }],
    )
    .unwrap();
    let rs = open_file(&rs_path).unwrap().into_inner();
    assert_eq!(rasterise(&rs, "shape", &g).data, mask.data);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn wide_ranges_use_an_intercept_and_bad_input_errors() {
    let g = Geometry::new([3, 2, 1], [1.0, 1.0, 1.0], [0.0; 3]);
    let img = Volume::from_vec(g.clone(), vec![-1024.0, 0.0, 3071.0, 40000.0, 12.0, -5.0]).unwrap();
    let dir = scratch("intercept");
    let spec = CtSeriesSpec::from_seed("intercept", 1);
    let files = write_ct_series(&dir, &img, &spec).unwrap();
    let obj = open_file(&files[0]).unwrap();
    let icpt = ds(&obj, tags::RESCALE_INTERCEPT)[0];
    assert_ne!(icpt, 0.0);
    let bytes = obj.element(tags::PIXEL_DATA).unwrap().to_bytes().unwrap();
    for i in 0..6 {
        let raw = i16::from_le_bytes([bytes[2 * i], bytes[2 * i + 1]]) as f64;
        assert_eq!(raw + icpt, img.data[i] as f64);
    }
    let too_wide =
        Volume::from_vec(g.clone(), vec![-40000.0, 0.0, 0.0, 40000.0, 0.0, 0.0]).unwrap();
    assert!(write_ct_series(&dir, &too_wide, &spec).is_err());
    let nan = Volume::from_vec(g, vec![f32::NAN, 0.0, 0.0, 0.0, 0.0, 0.0]).unwrap();
    assert!(write_ct_series(&dir, &nan, &spec).is_err());
    std::fs::remove_dir_all(&dir).unwrap();
}
