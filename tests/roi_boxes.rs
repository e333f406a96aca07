//! Reading what the ROI needs (issue 23): the chain on the box around the
//! ROIs, read from the files, gives the values of the chain on the whole
//! image, bit for bit; the readers' boxes and streamed summaries equal
//! crops and summaries of whole reads.

mod common;

use ctrad::inputs::{load_mask, load_roi_box, Image, ImageSource};
use ctrad::io::dicom::write::write_ct_series;
use ctrad::io::{nifti, DataType, VolumeFile};
use ctrad::params::Params;
use ctrad::pipeline::{extract, extract_rois};
use ctrad::synth::{generate, write_study, SynthSpec};
use ctrad::volume::{IntensitySummary, Volume};
use std::path::{Path, PathBuf};

fn temp_dir(name: &str) -> PathBuf {
    common::fixtures::temp_dir(&format!("roi-boxes-{name}"))
}

fn params(text: &str) -> Params {
    Params::from_yaml(text, Path::new("test.yaml")).unwrap()
}

/// Parameter sets whose context differs: native grid with local intensity
/// (a sphere margin), convolution filters (a wider margin), no whole-image
/// diagnostics, interpolation (the whole image).
fn parameter_sets() -> Vec<(&'static str, Params)> {
    vec![
        (
            "pannet",
            params("setting: {resegmentRange: [-100, 400], binWidth: 25, textureDimensionality: [3D]}\n"),
        ),
        (
            "filters",
            params(
                "setting: {binWidth: 10}\nfilters:\n  - {type: log, sigma: 1.5, truncate: 4, dims: 3D, boundary: mirror}\n  - {type: mean, support: 5, boundary: nearest}\n",
            ),
        ),
        (
            "roi slices",
            params("setting: {binWidth: 25, wholeImageDiagnostics: false}\n"),
        ),
        (
            "pyradiomics",
            params(include_str!("../pipelines/pyradiomics/default.yaml")),
        ),
        (
            "pyradiomics filters",
            params(include_str!("../pipelines/pyradiomics/filters_native.yaml")),
        ),
        (
            "interpolated",
            params("setting: {binWidth: 25, resampledPixelSpacing: [2, 2, 2], interpolator: sitkLinear}\n"),
        ),
    ]
}

fn assert_same_features(
    a: &ctrad::pipeline::Extraction,
    b: &ctrad::pipeline::Extraction,
    what: &str,
) {
    assert_eq!(a.features.len(), b.features.len(), "{what}: feature count");
    for ((ta, va), (tb, vb)) in a.features.iter().zip(&b.features) {
        assert_eq!(ta, tb, "{what}");
        assert!(
            va.to_bits() == vb.to_bits() || (va.is_nan() && vb.is_nan()),
            "{what}: {ta} = {va} on the box, {vb} on the whole image"
        );
    }
    assert_eq!(a.nan_reasons, b.nan_reasons, "{what}: NaN reasons");
}

/// A study whose tumour touches the image's edge: the box is clamped there.
fn edge_study(dir: &Path) -> PathBuf {
    let mut spec = SynthSpec::pannet();
    spec.noise_hu = 15.0;
    spec.tumour_centre = [36.0, 20.0, 1.0];
    spec.tumour_radius_mm = 5.0;
    let study = dir.join("edge");
    write_study(&study, &spec).unwrap();
    study
}

#[test]
fn the_chain_on_the_roi_box_equals_the_chain_on_the_whole_image() {
    let d = temp_dir("chain");
    for study in [edge_study(&d), {
        let s = d.join("pannet");
        let mut spec = SynthSpec::pannet();
        spec.noise_hu = 8.0;
        write_study(&s, &spec).unwrap();
        s
    }] {
        let series = study.join("ct_4");
        let rtstruct = study.join("RS.dcm");
        let source = ImageSource::open(&series).unwrap();
        let whole: Image = ImageSource::open(&series).unwrap().into_image().unwrap();
        let rois: Vec<_> = ["Tumour", "Pancreas"]
            .iter()
            .map(|r| load_roi_box(&rtstruct, &source, Some(r), None).unwrap())
            .collect();
        for (name, p) in parameter_sets() {
            let boxed = extract_rois(&source, &rois, &p).unwrap();
            for (roi, got) in rois.iter().zip(boxed) {
                let got = got.unwrap();
                let full = load_mask(&rtstruct, &whole, Some(&roi.roi), None).unwrap();
                // The box mask is the bounding box of the mask rasterised on
                // the whole grid.
                let rs = ctrad::io::dicom::rtstruct::read_rtstruct(&rtstruct).unwrap();
                let contours = rs.find_roi(&roi.roi).unwrap();
                let g = &whole.volume.geometry;
                let rasterised = ctrad::io::dicom::rtstruct::rasterise(
                    contours,
                    g,
                    whole.frame_of_reference(),
                    &rtstruct,
                )
                .unwrap();
                assert_eq!(roi.on_box(g, [0; 3], g.last()), rasterised);
                assert_eq!(full.mask, rasterised);
                let want =
                    extract(whole.volume.clone(), full.mask, &p, &series, &rtstruct).unwrap();
                assert_same_features(
                    &got,
                    &want,
                    &format!("{} {name} {}", study.display(), roi.roi),
                );
            }
        }
    }
}

#[test]
fn skipped_whole_image_diagnostics_are_nan_with_a_reason() {
    let d = temp_dir("skip");
    let study = edge_study(&d);
    let source = ImageSource::open(&study.join("ct_4")).unwrap();
    let roi = load_roi_box(&study.join("RS.dcm"), &source, Some("Tumour"), None).unwrap();
    let p = params("setting: {binWidth: 25, wholeImageDiagnostics: false}\n");
    let x = extract_rois(&source, &[roi], &p)
        .unwrap()
        .pop()
        .unwrap()
        .unwrap();
    let value = |t: &str| x.features.iter().find(|(tag, _)| tag == t).unwrap().1;
    assert!(value("mean_int_init_img").is_nan());
    assert_eq!(value("img_dim_x_init_img"), 40.0);
    assert!(x
        .nan_reasons
        .iter()
        .any(|(t, r)| t == "max_int_interp_img" && r.contains("wholeImageDiagnostics")));
}

#[test]
fn dicom_boxes_and_streamed_summaries_equal_whole_reads() {
    let d = temp_dir("dicom");
    let mut spec = SynthSpec::pannet();
    spec.noise_hu = 20.0;
    let study = generate(&spec);
    for (name, jpeg2000) in [("native", false), ("jpeg2000", true)] {
        let mut s = spec.series_spec(&spec.phases[1]);
        s.jpeg2000 = jpeg2000;
        let files = write_ct_series(&d.join(name), &study.images[1], &s).unwrap();
        let source = ImageSource::open_series(&files).unwrap();
        let whole = ImageSource::open_series(&files)
            .unwrap()
            .into_image()
            .unwrap()
            .volume;
        assert_eq!(whole.data, study.images[1].data, "{name}: lossless");
        for (lo, hi) in [
            ([0, 0, 0], [39, 39, 11]),
            ([3, 5, 2], [17, 30, 9]),
            ([39, 0, 11], [39, 39, 11]),
        ] {
            let mut summary = IntensitySummary::default();
            let part = source
                .read_box(lo, hi, Some((&mut summary, false)))
                .unwrap();
            assert_eq!(part, whole.crop(lo, hi), "{name} {lo:?}..={hi:?}");
            assert_eq!(summary, IntensitySummary::of(&whole.data));
            assert_eq!(source.read_box(lo, hi, None).unwrap(), part);
        }
        // A box outside the grid is an error, not a panic.
        assert!(source.read_box([0, 0, 0], [40, 39, 11], None).is_err());
    }
}

#[test]
fn nifti_and_nrrd_streamed_boxes_and_label_boxes_equal_whole_reads() {
    let d = temp_dir("nifti");
    let mut spec = SynthSpec::pannet();
    spec.noise_hu = 20.0;
    let study = generate(&spec);
    let mut image = study.images[2].clone();
    image.data[5] = 0.25; // not an integer: the sequential-sum path of the summary
    let tumour: Volume<f32> = study.tumour.map(|b| if b { 3.0 } else { 0.0 });
    for file in ["image.nii.gz", "image.nii", "image.nrrd", "image_raw.nrrd"] {
        let path = d.join(file);
        if file.ends_with(".nrrd") {
            ctrad::io::nrrd::write(&path, &image, DataType::F32, !file.contains("raw")).unwrap();
        } else {
            nifti::write(&path, &image, DataType::F32).unwrap();
        }
        let streamed = VolumeFile::open_streaming_above(&path, 0).unwrap();
        assert!(matches!(streamed, VolumeFile::Stream { .. }));
        let whole = ctrad::io::read_volume(&path).unwrap();
        for (lo, hi) in [([0, 0, 0], [39, 39, 11]), ([2, 7, 3], [30, 31, 8])] {
            let mut s = IntensitySummary::default();
            let part = streamed.read_box(lo, hi, Some((&mut s, true))).unwrap();
            assert_eq!(part, whole.crop(lo, hi));
            let rounded: Vec<f32> = whole.data.iter().map(|v| v.round()).collect();
            assert_eq!(s, IntensitySummary::of(&rounded));
        }
    }
    let (blo, bhi) = study.tumour.bounding_box().unwrap();
    let nifti_mask = d.join("tumour.nii.gz");
    nifti::write(&nifti_mask, &tumour, DataType::U8).unwrap();
    let nrrd_mask = d.join("tumour.nrrd");
    ctrad::io::nrrd::write(&nrrd_mask, &tumour, DataType::U8, true).unwrap();
    for (mask_path, stream_above) in [
        (&nifti_mask, 0),
        (&nifti_mask, usize::MAX),
        (&nrrd_mask, 0),
        (&nrrd_mask, usize::MAX),
    ] {
        let read = |label| {
            ctrad::io::read_label_mask_box_streaming_above(mask_path, label, stream_above).unwrap()
        };
        let (mask, lo, grid) = read(Some(3));
        assert_eq!(lo, blo);
        assert_eq!(mask, study.tumour.crop(blo, bhi));
        assert_eq!(grid.dims, spec.dims);
        let (empty, lo, _) = read(Some(7));
        assert!(!empty.data.contains(&true));
        assert_eq!((lo, empty.geometry.dims), ([0; 3], [1; 3]));
    }
}

/// A streamed `.nii.gz` whose compressed data is damaged after the slices
/// the box needs is an error (the CRC is checked), never a silent value.
#[test]
fn a_damaged_gzip_stream_is_an_error_even_for_a_box_of_its_first_slices() {
    let d = temp_dir("crc");
    let spec = SynthSpec::pannet();
    let study = generate(&spec);
    let path = d.join("image.nii.gz");
    nifti::write(&path, &study.images[0], DataType::F32).unwrap();
    let mut bytes = std::fs::read(&path).unwrap();
    let n = bytes.len();
    bytes[n - 6] ^= 0x55; // inside the CRC-32 of the gzip trailer
    std::fs::write(&path, &bytes).unwrap();
    let streamed = VolumeFile::open_streaming_above(&path, 0).unwrap();
    let e = streamed.read_box([0, 0, 0], [3, 3, 0], None).unwrap_err();
    assert!(e.to_string().contains("image.nii.gz"), "{e}");
}
