//! The DICOM structure validator (src/io/dicom/validate.rs) that runs before
//! dicom-rs: every valid file of the test data passes in every transfer
//! syntax ctrad meets, and each structural fault is refused with a typed
//! error naming the file and the byte offset.

mod common;

use common::dicom_files_under;
use common::fixtures::*;
use ctrad::io::dicom::validate::{validate_bytes, validate_bytes_with_cap, validate_file};
use ctrad::Error;
use std::path::Path;
use std::time::Instant;

/// Every DICOM file of the project's and the shared test data passes, both
/// the whole-file walk and the header-only walk, and dicom-rs reads it.
#[test]
fn every_test_data_file_passes() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    dicom_files_under(&root.join("testdata"), &mut files);
    let own = files.len();
    assert!(own >= 38, "project DICOM files: {own}");
    if let Some(shared) = common::shared_testdata() {
        dicom_files_under(&shared, &mut files);
        assert!(files.len() - own >= 388, "shared: {}", files.len() - own);
    }
    let t = Instant::now();
    for p in &files {
        validate_file(p, false).unwrap_or_else(|e| panic!("{e}"));
        validate_file(p, true).unwrap_or_else(|e| panic!("{e}"));
        dicom_object::open_file(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    }
    eprintln!("validated {} DICOM files in {:?}", files.len(), t.elapsed());
}

/// The tiny study written by ctrad, re-encoded by dicom-rs in implicit VR,
/// explicit VR big endian and deflated explicit VR little endian, passes.
#[test]
fn every_transfer_syntax_passes() {
    let d = temp_dir("fv-syntaxes");
    let (files, _, rs, seg) = tiny_study(&d);
    let mut n = 0;
    for src in [&files[0], &rs, &seg] {
        validate_file(src, false).unwrap();
        for (i, ts) in [
            "1.2.840.10008.1.2",
            "1.2.840.10008.1.2.2",
            "1.2.840.10008.1.2.1.99",
        ]
        .iter()
        .enumerate()
        {
            let mut obj = dicom_object::open_file(src).unwrap();
            obj.meta_mut().transfer_syntax = ts.to_string();
            obj.meta_mut().update_information_group_length();
            let out = d.join(format!(
                "ts{i}_{}",
                src.file_name().unwrap().to_string_lossy()
            ));
            obj.write_to_file(&out).unwrap();
            validate_file(&out, false).unwrap_or_else(|e| panic!("{ts}: {e}"));
            validate_file(&out, true).unwrap_or_else(|e| panic!("{ts}: {e}"));
            // And ctrad's readers (which run the validator first) read it.
            if src == &files[0] {
                ctrad::io::dicom::series::load_series(std::slice::from_ref(&out))
                    .unwrap_or_else(|e| panic!("{ts}: {e}"));
            } else if src == &rs {
                ctrad::io::dicom::rtstruct::read_rtstruct(&out)
                    .unwrap_or_else(|e| panic!("{ts}: {e}"));
            } else {
                ctrad::io::dicom::seg::read_seg(&out).unwrap_or_else(|e| panic!("{ts}: {e}"));
            }
            n += 1;
        }
    }
    assert_eq!(n, 9);
}

// ------------------------------------------------------- hand-built structures

fn tag(out: &mut Vec<u8>, g: u16, e: u16) {
    out.extend_from_slice(&g.to_le_bytes());
    out.extend_from_slice(&e.to_le_bytes());
}

/// Explicit VR little endian element with a 16-bit length.
fn short(out: &mut Vec<u8>, g: u16, e: u16, vr: &[u8; 2], value: &[u8]) {
    tag(out, g, e);
    out.extend_from_slice(vr);
    out.extend_from_slice(&(value.len() as u16).to_le_bytes());
    out.extend_from_slice(value);
}

/// Header of an explicit VR little endian element with a 32-bit length.
fn long(out: &mut Vec<u8>, g: u16, e: u16, vr: &[u8; 2], len: u32) {
    tag(out, g, e);
    out.extend_from_slice(vr);
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(&len.to_le_bytes());
}

/// Item, item delimiter or sequence delimiter header (little endian).
fn marker(out: &mut Vec<u8>, e: u16, len: u32) {
    tag(out, 0xFFFE, e);
    out.extend_from_slice(&len.to_le_bytes());
}
const ITEM: u16 = 0xE000;
const ITEM_END: u16 = 0xE00D;
const SEQ_END: u16 = 0xE0DD;
const UNDEF: u32 = u32::MAX;

/// A Part 10 file: preamble, meta group with transfer syntax `ts`, data set.
fn part10(ts: &str, dataset: &[u8]) -> Vec<u8> {
    let mut uid = ts.as_bytes().to_vec();
    if uid.len() % 2 == 1 {
        uid.push(0);
    }
    let mut meta = Vec::new();
    short(&mut meta, 0x0002, 0x0010, b"UI", &uid);
    let mut out = vec![0u8; 128];
    out.extend_from_slice(b"DICM");
    short(
        &mut out,
        0x0002,
        0x0000,
        b"UL",
        &(meta.len() as u32).to_le_bytes(),
    );
    out.extend_from_slice(&meta);
    out.extend_from_slice(dataset);
    out
}

const EXPLICIT: &str = "1.2.840.10008.1.2.1";

fn check(bytes: &[u8]) -> Result<(), Error> {
    validate_bytes(bytes, Path::new("probe.dcm"), false)
}

/// The error is a Format error naming the file and the byte offset `at`.
#[track_caller]
fn refused(bytes: &[u8], at: usize, words: &str) {
    let e = check(bytes).expect_err("should be refused");
    assert!(matches!(e, Error::Format { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(msg.contains("probe.dcm"), "{msg}");
    assert!(msg.contains(&format!("byte offset {at}")), "{msg}");
    assert!(msg.contains(words), "{msg}");
}

/// Offset of the data set in [`part10`] output for the explicit syntax.
fn ds_start() -> usize {
    part10(EXPLICIT, &[]).len()
}

#[test]
fn well_formed_nesting_passes() {
    let mut ds = Vec::new();
    short(&mut ds, 0x0008, 0x0060, b"CS", b"CT");
    // Undefined-length sequence with an empty undefined item, a defined item
    // holding a defined-length sequence, and an empty defined item.
    long(&mut ds, 0x0008, 0x1115, b"SQ", UNDEF);
    marker(&mut ds, ITEM, UNDEF);
    marker(&mut ds, ITEM_END, 0);
    let mut inner = Vec::new();
    short(&mut inner, 0x0008, 0x1150, b"UI", b"1.2\0");
    let mut item = Vec::new();
    long(&mut item, 0x0008, 0x1140, b"SQ", 8 + inner.len() as u32);
    marker(&mut item, ITEM, inner.len() as u32);
    item.extend_from_slice(&inner);
    marker(&mut ds, ITEM, item.len() as u32);
    ds.extend_from_slice(&item);
    marker(&mut ds, ITEM, 0);
    marker(&mut ds, SEQ_END, 0);
    // UN of undefined length whose content reads the same in both syntaxes.
    long(&mut ds, 0x0009, 0x1010, b"UN", UNDEF);
    marker(&mut ds, ITEM, UNDEF);
    marker(&mut ds, ITEM_END, 0);
    marker(&mut ds, SEQ_END, 0);
    // Encapsulated pixel data: empty offset table, two fragments.
    long(&mut ds, 0x7FE0, 0x0010, b"OB", UNDEF);
    marker(&mut ds, ITEM, 0);
    marker(&mut ds, ITEM, 4);
    ds.extend_from_slice(&[1, 2, 3, 4]);
    marker(&mut ds, ITEM, 2);
    ds.extend_from_slice(&[5, 6]);
    marker(&mut ds, SEQ_END, 0);
    check(&part10(EXPLICIT, &ds)).unwrap();
    // The same structure also passes when the file has no preamble.
    let file = part10(EXPLICIT, &ds);
    check(&file[128..]).unwrap();
}

#[test]
fn element_longer_than_its_item_is_refused() {
    // Item declares 12 bytes; inside, an element declares 0x7FFF_FFF0 bytes.
    let mut ds = Vec::new();
    long(&mut ds, 0x0008, 0x1115, b"SQ", UNDEF);
    marker(&mut ds, ITEM, 12);
    let at = ds.len();
    long(&mut ds, 0x0008, 0x1150, b"UT", 0x7FFF_FFF0);
    marker(&mut ds, SEQ_END, 0);
    ds.extend_from_slice(&[0u8; 64]);
    refused(
        &part10(EXPLICIT, &ds),
        ds_start() + at,
        "declares 2147483632 bytes but only 0 remain in its item",
    );
}

#[test]
fn item_longer_than_its_sequence_is_refused() {
    let mut ds = Vec::new();
    long(&mut ds, 0x0008, 0x1115, b"SQ", 16);
    let at = ds.len();
    marker(&mut ds, ITEM, 64);
    ds.extend_from_slice(&[0u8; 80]);
    refused(
        &part10(EXPLICIT, &ds),
        ds_start() + at,
        "item of sequence (0008,1115) declares 64 bytes but only 8 remain",
    );
}

#[test]
fn sequence_longer_than_the_file_is_refused() {
    let mut ds = Vec::new();
    long(&mut ds, 0x0008, 0x1115, b"SQ", 0xFFFF_FFF0);
    marker(&mut ds, ITEM, 0);
    refused(
        &part10(EXPLICIT, &ds),
        ds_start(),
        "declares 4294967280 bytes",
    );
}

#[test]
fn missing_delimiters_are_refused() {
    // Undefined item never closed.
    let mut ds = Vec::new();
    long(&mut ds, 0x0008, 0x1115, b"SQ", UNDEF);
    marker(&mut ds, ITEM, UNDEF);
    short(&mut ds, 0x0008, 0x1150, b"UI", b"1.2\0");
    refused(
        &part10(EXPLICIT, &ds),
        ds_start() + ds.len(),
        "without its item delimitation",
    );
    // Undefined sequence never closed.
    let mut ds = Vec::new();
    long(&mut ds, 0x0008, 0x1115, b"SQ", UNDEF);
    marker(&mut ds, ITEM, 0);
    refused(
        &part10(EXPLICIT, &ds),
        ds_start() + ds.len(),
        "without its sequence delimitation",
    );
    // Encapsulated pixel data never closed.
    let mut ds = Vec::new();
    long(&mut ds, 0x7FE0, 0x0010, b"OB", UNDEF);
    marker(&mut ds, ITEM, 0);
    refused(
        &part10(EXPLICIT, &ds),
        ds_start() + ds.len(),
        "encapsulated pixel data ends without",
    );
}

#[test]
fn bad_fragments_are_refused() {
    let mut ds = Vec::new();
    long(&mut ds, 0x7FE0, 0x0010, b"OB", UNDEF);
    marker(&mut ds, ITEM, 0);
    let at = ds.len();
    marker(&mut ds, ITEM, 0x4000_0000);
    ds.extend_from_slice(&[0u8; 32]);
    refused(
        &part10(EXPLICIT, &ds),
        ds_start() + at,
        "fragment declares 1073741824 bytes but only 32 remain",
    );
    let mut ds = Vec::new();
    long(&mut ds, 0x7FE0, 0x0010, b"OB", UNDEF);
    marker(&mut ds, ITEM, UNDEF);
    ds.extend_from_slice(&[0u8; 32]);
    refused(
        &part10(EXPLICIT, &ds),
        ds_start() + 12,
        "fragment of undefined length",
    );
}

#[test]
fn deep_nesting_is_refused() {
    let depth = ctrad::io::dicom::validate::MAX_DEPTH + 1;
    let mut ds = Vec::new();
    for _ in 0..depth {
        long(&mut ds, 0x0008, 0x1115, b"SQ", UNDEF);
        marker(&mut ds, ITEM, UNDEF);
    }
    for _ in 0..depth {
        marker(&mut ds, ITEM_END, 0);
        marker(&mut ds, SEQ_END, 0);
    }
    let e = check(&part10(EXPLICIT, &ds)).unwrap_err();
    assert!(e.to_string().contains("nested deeper than 32"), "{e}");
    // One level less passes.
    let mut ds = Vec::new();
    for _ in 0..depth - 1 {
        long(&mut ds, 0x0008, 0x1115, b"SQ", UNDEF);
        marker(&mut ds, ITEM, UNDEF);
    }
    for _ in 0..depth - 1 {
        marker(&mut ds, ITEM_END, 0);
        marker(&mut ds, SEQ_END, 0);
    }
    check(&part10(EXPLICIT, &ds)).unwrap();
}

#[test]
fn unknown_vr_and_stray_markers_are_refused() {
    // dicom-rs would read "ZZ" as UN with a 32-bit length (here 4 GiB).
    let mut ds = Vec::new();
    long(&mut ds, 0x0009, 0x0010, b"ZZ", 0xFFFF_FFF0);
    refused(
        &part10(EXPLICIT, &ds),
        ds_start(),
        "unknown value representation \"ZZ\"",
    );
    let mut ds = Vec::new();
    marker(&mut ds, SEQ_END, 0);
    refused(&part10(EXPLICIT, &ds), ds_start(), "unexpected (FFFE,E0DD)");
    let mut ds = Vec::new();
    long(&mut ds, 0x0008, 0x0016, b"OB", UNDEF);
    refused(
        &part10(EXPLICIT, &ds),
        ds_start(),
        "VR OB has an undefined length",
    );
    let mut ds = Vec::new();
    long(&mut ds, 0x0008, 0x1115, b"SQ", UNDEF);
    short(&mut ds, 0x0008, 0x0060, b"CS", b"CT");
    refused(
        &part10(EXPLICIT, &ds),
        ds_start() + 12,
        "expected an item of sequence (0008,1115), found (0008,0060)",
    );
}

/// An undefined-length UN holds implicit VR items (PS3.5 §6.2.2); dicom-rs
/// reads them as explicit VR, so a content whose explicit reading declares a
/// huge length is refused even though its implicit reading is fine.
#[test]
fn un_sequence_misread_by_the_parser_is_refused() {
    let mut ds = Vec::new();
    long(&mut ds, 0x0009, 0x1010, b"UN", UNDEF);
    marker(&mut ds, ITEM, UNDEF);
    // Implicit VR: (0008,0016) length 0x0000_4F42 would be "BO"... use a
    // length whose low bytes spell "OB": explicit reading takes the next 4
    // value bytes as a 32-bit length.
    tag(&mut ds, 0x0008, 0x0016);
    let len = u32::from_le_bytes([b'O', b'B', 0, 0]);
    ds.extend_from_slice(&len.to_le_bytes());
    let mut value = vec![0u8; len as usize];
    value[..4].copy_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
    ds.extend_from_slice(&value);
    marker(&mut ds, ITEM_END, 0);
    marker(&mut ds, SEQ_END, 0);
    let file = part10(EXPLICIT, &ds);
    refused(&file, ds_start(), "the DICOM parser would misread");
    // The same content in an implicit VR file is an ordinary sequence.
    let mut ds2 = Vec::new();
    tag(&mut ds2, 0x0009, 0x1010);
    ds2.extend_from_slice(&UNDEF.to_le_bytes());
    ds2.extend_from_slice(&ds[12..]);
    check(&part10("1.2.840.10008.1.2", &ds2)).unwrap();
}

#[test]
fn meta_group_faults_are_refused() {
    let mut file = part10(EXPLICIT, &[]);
    // Group length larger than the file.
    file[140..144].copy_from_slice(&1_000_000u32.to_le_bytes());
    refused(&file, 132, "file meta group length 1000000 exceeds");
    // No group length element.
    let mut file = part10(EXPLICIT, &[]);
    file[132..134].copy_from_slice(&[0x08, 0x00]);
    refused(&file, 132, "does not start with its group length");
    // "DICM" at byte 0 (dicom-rs reads such files too) with a huge element.
    let mut ds = Vec::new();
    long(&mut ds, 0x7FE0, 0x0010, b"OW", 0xFFFF_FFF0);
    let file = part10(EXPLICIT, &ds);
    refused(&file[128..], ds_start() - 128, "declares 4294967280 bytes");
}

#[test]
fn big_endian_and_implicit_lengths_are_checked() {
    // Explicit VR big endian: an item length read big endian.
    let mut ds = Vec::new();
    ds.extend_from_slice(&[0x00, 0x08, 0x11, 0x15]);
    ds.extend_from_slice(b"SQ\0\0");
    ds.extend_from_slice(&UNDEF.to_be_bytes());
    ds.extend_from_slice(&[0xFF, 0xFE, 0xE0, 0x00]);
    ds.extend_from_slice(&0x7000_0000u32.to_be_bytes());
    refused(
        &part10("1.2.840.10008.1.2.2", &ds),
        ds_start() + 12,
        "declares 1879048192 bytes but only 0 remain",
    );
    // Implicit VR: a defined-length sequence found through the dictionary.
    let mut ds = Vec::new();
    tag(&mut ds, 0x0008, 0x1115);
    ds.extend_from_slice(&16u32.to_le_bytes());
    marker(&mut ds, ITEM, 8);
    tag(&mut ds, 0x0008, 0x1150);
    ds.extend_from_slice(&0x100u32.to_le_bytes());
    let ts = "1.2.840.10008.1.2";
    refused(
        &part10(ts, &ds),
        part10(ts, &[]).len() + 16,
        "declares 256 bytes but only 0 remain in its item",
    );
}

#[test]
fn deflated_data_set_is_inflated_with_a_cap() {
    use std::io::Write;
    let deflate = |raw: &[u8]| {
        let mut enc =
            flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(raw).unwrap();
        enc.finish().unwrap()
    };
    let ts = "1.2.840.10008.1.2.1.99";
    let mut ds = Vec::new();
    short(&mut ds, 0x0008, 0x0060, b"CS", b"CT");
    long(&mut ds, 0x7FE0, 0x0010, b"OB", 64);
    ds.extend_from_slice(&[0u8; 64]);
    let good = part10(ts, &deflate(&ds));
    check(&good).unwrap();
    // A length inconsistency inside the inflated bytes names its offset there.
    let mut bad = ds.clone();
    bad[18..22].copy_from_slice(&0x1000u32.to_le_bytes());
    let e = check(&part10(ts, &deflate(&bad))).unwrap_err();
    assert!(
        e.to_string()
            .contains("byte offset 10 of the inflated data set"),
        "{e}"
    );
    // More inflated bytes than the cap: a resource-limit error.
    let e = validate_bytes_with_cap(&good, Path::new("probe.dcm"), false, 40).unwrap_err();
    assert!(matches!(e, Error::ResourceLimit { .. }), "{e:?}");
    // Not a deflate stream.
    let e = check(&part10(ts, &[0xFF; 40])).unwrap_err();
    assert!(matches!(e, Error::Format { .. }), "{e:?}");
}

/// The walk is linear: a megabyte of empty items, and of zero-length
/// elements, validates in well under a second even in a debug build.
#[test]
fn walk_is_linear_and_terminates() {
    let mut ds = Vec::new();
    long(&mut ds, 0x0008, 0x1115, b"SQ", UNDEF);
    for _ in 0..40_000 {
        marker(&mut ds, ITEM, UNDEF);
        marker(&mut ds, ITEM_END, 0);
        marker(&mut ds, ITEM, 0);
    }
    marker(&mut ds, SEQ_END, 0);
    for _ in 0..40_000 {
        short(&mut ds, 0x0009, 0x1000, b"LO", b"");
    }
    let t = Instant::now();
    check(&part10(EXPLICIT, &ds)).unwrap();
    assert!(t.elapsed().as_secs_f64() < 1.0, "{:?}", t.elapsed());
}

/// Found by `dicom_series` (out-of-memory, 2.6 GB for a 6 KB input that
/// passed the length checks): Columns written as UL of length 2. dicom-rs
/// reads `length / 4` values (none) but advances its position by 2, so it
/// reads the next headers from the wrong bytes and allocates garbage
/// lengths. Binary values must have a length that is a multiple of their
/// size, in implicit VR too (VR from the dictionary, as dicom-rs does).
#[test]
fn binary_value_of_partial_length_is_refused() {
    let mut ds = Vec::new();
    short(&mut ds, 0x0028, 0x0010, b"US", &[8, 0]);
    let at = ds.len();
    short(&mut ds, 0x0028, 0x0011, b"UL", &[8, 0]);
    refused(
        &part10(EXPLICIT, &ds),
        ds_start() + at,
        "element (0028,0011) of VR UL has length 2, not a multiple of 4",
    );
    let mut ds = Vec::new();
    short(&mut ds, 0x0018, 0x0050, b"FD", &[0; 6]);
    refused(&part10(EXPLICIT, &ds), ds_start(), "VR FD has length 6");
    // Implicit VR: Rows (US in the dictionary) of length 3.
    let mut ds = Vec::new();
    tag(&mut ds, 0x0028, 0x0010);
    ds.extend_from_slice(&3u32.to_le_bytes());
    ds.extend_from_slice(&[8, 0, 0]);
    let ts = "1.2.840.10008.1.2";
    refused(
        &part10(ts, &ds),
        part10(ts, &[]).len(),
        "element (0028,0010) of VR US has length 3",
    );
    // Whole values and text of any length pass.
    let mut ds = Vec::new();
    short(&mut ds, 0x0028, 0x0011, b"US", &[8, 0]);
    short(&mut ds, 0x0028, 0x0034, b"IS", b"1\\1 ");
    short(&mut ds, 0x0029, 0x0010, b"LO", b"odd");
    check(&part10(EXPLICIT, &ds)).unwrap();
}
