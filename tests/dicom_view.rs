//! The zero-copy DICOM view (src/io/dicom/view.rs) answers every attribute
//! look-up exactly as dicom-rs does, on every DICOM file of the test data and
//! on the tiny study re-encoded in implicit VR; files outside its scope
//! (big endian, deflated, other character sets) are declined, and the
//! readers then give the same results through dicom-rs.

mod common;

use common::dicom_files_under;
use common::fixtures::*;
use ctrad::io::dicom::view::{Attributes, View};
use dicom_core::value::Value;
use dicom_object::InMemDicomObject;
use std::path::Path;

fn same_numbers(a: Option<Vec<f64>>, b: Option<Vec<f64>>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => {
            a.len() == b.len()
                && a.iter()
                    .zip(&b)
                    .all(|(x, y)| x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()))
        }
        (None, None) => true,
        _ => false,
    }
}

/// Compare every element of `obj` (recursively) with the view's answers;
/// returns the number of elements compared.
fn compare(obj: &InMemDicomObject, view: &View, at: &str) -> usize {
    let mut n = 0;
    for e in obj.iter() {
        let tag = e.header().tag;
        let here = format!("{at}/{tag}");
        match e.value() {
            Value::Sequence(seq) => {
                let items = view.seq(tag);
                assert_eq!(items.len(), seq.items().len(), "{here}: item count");
                for (k, (a, b)) in seq.items().iter().zip(items).enumerate() {
                    n += compare(a, b, &format!("{here}[{k}]"));
                }
                assert_eq!(
                    view.string(tag),
                    obj.string(tag),
                    "{here}: string of a sequence"
                );
            }
            Value::PixelSequence(_) => {}
            Value::Primitive(_) => {
                assert_eq!(view.string(tag), obj.string(tag), "{here}: string");
                assert!(
                    same_numbers(view.numbers(tag), obj.numbers(tag)),
                    "{here}: numbers {:?} vs {:?}",
                    view.numbers(tag),
                    obj.numbers(tag)
                );
                assert!(view.seq(tag).is_empty(), "{here}: items of a primitive");
            }
        }
        n += 1;
    }
    n
}

/// Parse `path` both ways and compare; `false` when the view declines it.
fn check_file(path: &Path) -> bool {
    let bytes = std::fs::read(path).unwrap();
    let obj = dicom_object::OpenFileOptions::new()
        .from_reader(&bytes[..])
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let Some(view) = View::parse(&bytes) else {
        return false;
    };
    assert_eq!(
        view.transfer_syntax,
        obj.meta().transfer_syntax().trim_end_matches('\0'),
        "{}",
        path.display()
    );
    let n = compare(&obj, &view.data, &path.display().to_string());
    assert!(n > 0, "{}: no element compared", path.display());
    true
}

#[test]
fn every_test_data_file_reads_as_dicom_rs_reads_it() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    dicom_files_under(&root.join("testdata"), &mut files);
    let own = files.len();
    let mut shared_files = Vec::new();
    if let Some(shared) = common::shared_testdata() {
        dicom_files_under(&shared, &mut shared_files);
        assert!(shared_files.len() >= 388, "shared: {}", shared_files.len());
    }
    let mut declined = Vec::new();
    for p in files.iter().chain(&shared_files) {
        if !check_file(p) {
            declined.push(p.clone());
        }
    }
    // The shared CT studies and phantoms are all on the fast path.
    let declined_shared: Vec<_> = declined
        .iter()
        .filter(|p| shared_files.contains(p))
        .collect();
    assert!(declined_shared.is_empty(), "declined: {declined_shared:?}");
    eprintln!(
        "{} files compared ({own} project files, {} declined)",
        files.len() + shared_files.len() - declined.len(),
        declined.len()
    );
}

/// The tiny study re-encoded in implicit VR is read by the view; big endian
/// and deflated encodings are declined; the readers agree across all four.
#[test]
fn transfer_syntaxes_are_read_or_declined() {
    let d = temp_dir("view-syntaxes");
    let (files, _, rs, _) = tiny_study(&d);
    let reference = ctrad::io::dicom::series::load_series(&files[..1]).unwrap();
    let reference_rs = ctrad::io::dicom::rtstruct::read_rtstruct(&rs).unwrap();
    for (ts, fast) in [
        ("1.2.840.10008.1.2", true),
        ("1.2.840.10008.1.2.1", true),
        ("1.2.840.10008.1.2.2", false),
        ("1.2.840.10008.1.2.1.99", false),
    ] {
        for src in [&files[0], &rs] {
            let mut obj = dicom_object::open_file(src).unwrap();
            obj.meta_mut().transfer_syntax = ts.to_string();
            obj.meta_mut().update_information_group_length();
            let out = d.join(format!(
                "{ts}_{}",
                src.file_name().unwrap().to_string_lossy()
            ));
            obj.write_to_file(&out).unwrap();
            assert_eq!(check_file(&out), fast, "{ts}");
            if src == &rs {
                let r = ctrad::io::dicom::rtstruct::read_rtstruct(&out).unwrap();
                assert_eq!(r.rois, reference_rs.rois, "{ts}");
            } else {
                let (v, meta) = ctrad::io::dicom::series::load_series(&[&out]).unwrap();
                assert_eq!(v.data, reference.0.data, "{ts}");
                assert_eq!(v.geometry, reference.0.geometry, "{ts}");
                assert_eq!(meta.series_instance_uid, reference.1.series_instance_uid);
            }
        }
    }
}

/// Text outside ASCII, or a character set other than ASCII, Latin-1 or
/// UTF-8, sends the file to dicom-rs (which decodes it); the ROI name comes
/// out the same either way.
#[test]
fn non_ascii_text_is_left_to_dicom_rs() {
    let d = temp_dir("view-charset");
    let (_, _, rs, _) = tiny_study(&d);
    for (charset, name) in [
        ("ISO_IR 192", "Tumör"),
        ("ISO_IR 100", "GTV"),
        ("ISO_IR 144", "GTV"),
    ] {
        let mut obj = dicom_object::open_file(&rs).unwrap();
        obj.put(dicom_object::mem::InMemElement::new(
            dicom_dictionary_std::tags::SPECIFIC_CHARACTER_SET,
            dicom_core::VR::CS,
            dicom_core::PrimitiveValue::from(charset),
        ));
        let mut items = obj
            .element(dicom_dictionary_std::tags::STRUCTURE_SET_ROI_SEQUENCE)
            .unwrap()
            .items()
            .unwrap()
            .to_vec();
        items[0].put(dicom_object::mem::InMemElement::new(
            dicom_dictionary_std::tags::ROI_NAME,
            dicom_core::VR::LO,
            dicom_core::PrimitiveValue::from(name),
        ));
        obj.put(dicom_object::mem::InMemElement::new(
            dicom_dictionary_std::tags::STRUCTURE_SET_ROI_SEQUENCE,
            dicom_core::VR::SQ,
            dicom_core::value::DataSetSequence::from(items),
        ));
        let out = d.join(format!("cs_{}.dcm", charset.replace(' ', "_")));
        obj.write_to_file(&out).unwrap();
        let ascii = name.is_ascii() && charset != "ISO_IR 144";
        assert_eq!(check_file(&out), ascii, "{charset} {name}");
        let r = ctrad::io::dicom::rtstruct::read_rtstruct(&out).unwrap();
        assert_eq!(r.rois[0].name, name, "{charset}");
    }
}

/// The folder scan reads only the first bytes of large files; what it finds
/// equals the header read from the whole file, for every test file and for
/// headers longer than the bytes read first.
#[test]
fn header_scan_equals_whole_file_headers() {
    use ctrad::io::dicom::scan::{read_header, scan_dir};
    let d = temp_dir("view-scan");
    let (files, _, _, _) = tiny_study(&d);
    // A slice whose header outgrows the first read: 40 KiB of private data
    // before the pixel data.
    let mut obj = dicom_object::open_file(&files[0]).unwrap();
    obj.put(dicom_object::mem::InMemElement::new(
        dicom_core::Tag(0x0009, 0x1010),
        dicom_core::VR::OB,
        dicom_core::PrimitiveValue::from(vec![7u8; 40 << 10]),
    ));
    obj.write_to_file(d.join("big_header.dcm")).unwrap();
    let mut dirs = vec![d.clone()];
    if let Some(shared) = common::shared_testdata() {
        dirs.push(shared.join("sts_ct"));
        dirs.push(shared.join("ibsi1"));
    }
    let mut n = 0;
    for dir in dirs {
        let (infos, errors) = scan_dir(&dir).unwrap();
        assert!(errors.is_empty(), "{errors:?}");
        for info in infos {
            assert_eq!(info, read_header(&info.path).unwrap());
            n += 1;
        }
    }
    assert!(n >= 20, "{n} headers");
}
