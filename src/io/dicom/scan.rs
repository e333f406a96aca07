//! Header-only scanning of folders of DICOM files.

use super::view::{Attributes, View};
use crate::error::{Error, Result};
use dicom_dictionary_std::tags;
use dicom_object::OpenFileOptions;
use std::path::{Path, PathBuf};

/// SOP Class UIDs ctrad distinguishes.
pub mod sop_class {
    pub const CT_IMAGE: &str = "1.2.840.10008.5.1.4.1.1.2";
    pub const ENHANCED_CT_IMAGE: &str = "1.2.840.10008.5.1.4.1.1.2.1";
    pub const RT_STRUCTURE_SET: &str = "1.2.840.10008.5.1.4.1.1.481.3";
    pub const SEGMENTATION: &str = "1.2.840.10008.5.1.4.1.1.66.4";
}

/// Identifying attributes of one DICOM file, read without its pixel data.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FileInfo {
    pub path: PathBuf,
    pub sop_class_uid: String,
    pub sop_instance_uid: String,
    pub modality: String,
    pub study_instance_uid: String,
    pub series_instance_uid: String,
    pub frame_of_reference_uid: String,
    pub series_description: String,
    pub study_date: String,
    pub series_number: Option<i64>,
}

// Attribute look-ups use `get` (an Option), never `element`/`element_opt`
// or failing conversions: dicom-rs's error values capture a stack trace each
// (snafu), which made reading a series several times slower.

/// Read a string attribute, trimmed; empty when absent.
pub fn text<O: Attributes>(obj: &O, tag: dicom_core::Tag) -> String {
    obj.string(tag)
        .map(|s| {
            s.trim_matches(|c: char| c == '\0' || c.is_whitespace())
                .to_string()
        })
        .unwrap_or_default()
}

/// Read the header of one file (stops before the pixel data).
pub fn read_header(path: &Path) -> Result<FileInfo> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    header_from_bytes(path, &bytes)
}

/// [`read_header`] of a file already in memory (one read for the magic
/// check, the validation and the parse).
fn header_from_bytes(path: &Path, bytes: &[u8]) -> Result<FileInfo> {
    super::validate::validate_bytes(bytes, path, true)?;
    if let Some(view) = View::parse_header(bytes, true) {
        let meta_class = text(&view.meta, tags::MEDIA_STORAGE_SOP_CLASS_UID);
        return Ok(file_info(path, meta_class, &view.data));
    }
    let obj = OpenFileOptions::new()
        .read_until(tags::PIXEL_DATA)
        .from_reader(bytes)
        .map_err(|e| Error::format(path, format!("not a readable DICOM file: {e}")))?;
    let meta_class = obj
        .meta()
        .media_storage_sop_class_uid()
        .trim_end_matches('\0')
        .to_string();
    Ok(file_info(path, meta_class, &*obj))
}

/// The identifying attributes of data set `obj`; `meta_class` is the Media
/// Storage SOP Class UID of the file meta group, preferred when present.
fn file_info<O: Attributes>(path: &Path, meta_class: String, obj: &O) -> FileInfo {
    FileInfo {
        path: path.to_path_buf(),
        sop_class_uid: if meta_class.is_empty() {
            text(obj, tags::SOP_CLASS_UID)
        } else {
            meta_class
        },
        sop_instance_uid: text(obj, tags::SOP_INSTANCE_UID),
        modality: text(obj, tags::MODALITY),
        study_instance_uid: text(obj, tags::STUDY_INSTANCE_UID),
        series_instance_uid: text(obj, tags::SERIES_INSTANCE_UID),
        frame_of_reference_uid: text(obj, tags::FRAME_OF_REFERENCE_UID),
        series_description: text(obj, tags::SERIES_DESCRIPTION),
        study_date: text(obj, tags::STUDY_DATE),
        series_number: text(obj, tags::SERIES_NUMBER).parse().ok(),
    }
}

/// True when the file starts with the DICOM Part 10 preamble and magic.
pub fn has_dicom_magic(path: &Path) -> bool {
    use std::io::Read;
    let mut buf = [0u8; 132];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut buf))
        .map(|_| is_part10_prefix(&buf))
        .unwrap_or(false)
}

/// The first 132 bytes of a DICOM Part 10 file: preamble, then "DICM".
fn is_part10_prefix(buf: &[u8]) -> bool {
    buf.get(128..132) == Some(b"DICM".as_slice())
}

/// How much of a file the header scan reads first: CT headers take a few
/// KiB, while a 512 × 512 slice is 0.5 MiB.
const HEADER_PREFIX: u64 = 32 << 10;

/// The header of the file at `path` when it starts with the DICOM Part 10
/// preamble and magic (`None` otherwise or when it cannot be read, as
/// [`has_dicom_magic`] would say). Only the first [`HEADER_PREFIX`] bytes
/// are read when they hold the whole header (checked by the validator and the
/// view); otherwise the whole file is read and parsed, errors included.
fn header_if_dicom(path: &Path) -> Option<Result<FileInfo>> {
    use std::io::Read;
    let f = std::fs::File::open(path).ok()?;
    let len = f.metadata().ok()?.len();
    let mut buf = Vec::with_capacity(len.min(HEADER_PREFIX) as usize);
    f.take(HEADER_PREFIX).read_to_end(&mut buf).ok()?;
    if !is_part10_prefix(&buf) {
        return None;
    }
    if (buf.len() as u64) < len && super::validate::validate_bytes(&buf, path, true).is_ok() {
        if let Some(view) = View::parse_header(&buf, false) {
            let meta_class = text(&view.meta, tags::MEDIA_STORAGE_SOP_CLASS_UID);
            return Some(Ok(file_info(path, meta_class, &view.data)));
        }
    }
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => return Some(Err(Error::io(path, e))),
    };
    Some(header_from_bytes(path, &bytes))
}

/// Recursively list files under `dir` (sorted, hidden files skipped).
pub fn list_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).map_err(|e| Error::io(&d, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| Error::io(&d, e))?;
            let p = entry.path();
            if entry.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            let ft = entry.file_type().map_err(|e| Error::io(&p, e))?;
            if ft.is_dir() {
                stack.push(p);
            } else if ft.is_file() {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Headers of every DICOM file under `dir` (recursive). Files without the
/// DICOM magic (and DICOMDIR) are skipped; files with the magic that fail to
/// parse are returned as errors alongside.
pub fn scan_dir(dir: &Path) -> Result<(Vec<FileInfo>, Vec<Error>)> {
    use rayon::prelude::*;
    let files = list_files(dir)?;
    // In parallel, in file order; each file opened once.
    let headers: Vec<Option<Result<FileInfo>>> = files
        .par_iter()
        .map(|p| {
            if p.file_name()
                .is_some_and(|n| n.eq_ignore_ascii_case("DICOMDIR"))
            {
                return None;
            }
            header_if_dicom(p)
        })
        .collect();
    let mut infos = Vec::new();
    let mut errors = Vec::new();
    for h in headers.into_iter().flatten() {
        match h {
            Ok(info) if info.sop_class_uid == "1.2.840.10008.1.3.10" => {} // media directory
            Ok(info) => infos.push(info),
            Err(e) => errors.push(e),
        }
    }
    Ok((infos, errors))
}

impl AsRef<Path> for FileInfo {
    fn as_ref(&self) -> &Path {
        &self.path
    }
}

/// Numeric values of an attribute (DS, IS, FD, US, ...); `None` when absent or unparsable.
pub fn floats<O: Attributes>(obj: &O, tag: dicom_core::Tag) -> Option<Vec<f64>> {
    let v = obj.numbers(tag)?;
    (!v.is_empty() && v.iter().all(|x| x.is_finite())).then_some(v)
}

/// First numeric value of an attribute; `None` when absent or unparsable.
pub fn float<O: Attributes>(obj: &O, tag: dicom_core::Tag) -> Option<f64> {
    floats(obj, tag).map(|v| v[0])
}

/// Integer value of an attribute; `None` when absent or unparsable.
pub fn int<O: Attributes>(obj: &O, tag: dicom_core::Tag) -> Option<i64> {
    let s = obj.string(tag)?;
    let first = s
        .split('\\')
        .next()?
        .trim_matches(|c: char| c == '\0' || c.is_whitespace());
    first.parse::<i64>().ok().or_else(|| {
        first
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite() && f.abs() < 9.2e18)
            .map(|f| f.round() as i64)
    })
}

/// Items of a sequence attribute (empty when absent or not a sequence).
pub fn items<O: Attributes>(obj: &O, tag: dicom_core::Tag) -> &[O] {
    obj.seq(tag)
}

/// First item of a sequence attribute.
pub fn first_item<O: Attributes>(obj: &O, tag: dicom_core::Tag) -> Option<&O> {
    items(obj, tag).first()
}

/// Read the whole file at `path` once and check its structure (see
/// [`super::validate`]: a tiny file declaring a 4 GiB element is an error,
/// not an allocation); the bytes are then parsed by [`View::parse`] or
/// dicom-rs ([`parse_checked`]).
///
/// [`View::parse`]: super::view::View::parse
pub(crate) fn read_checked(path: &Path) -> Result<Vec<u8>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    super::validate::validate_bytes(&bytes, path, false)?;
    Ok(bytes)
}

/// [`read_checked`] into a buffer kept per thread, handed to `f`: reading
/// many files of the same size (a series' slices) then reuses one buffer
/// instead of faulting in and zeroing fresh pages for every file.
pub(crate) fn with_checked_bytes<R>(path: &Path, f: impl FnOnce(&[u8]) -> Result<R>) -> Result<R> {
    use std::io::Read;
    thread_local! {
        static BUFFER: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
    }
    // Taken out while in use, so a nested call gets a buffer of its own.
    let mut buf = BUFFER.with(|b| b.take());
    buf.clear();
    let read = std::fs::File::open(path).and_then(|mut file| {
        if let Ok(meta) = file.metadata() {
            buf.reserve(meta.len() as usize);
        }
        file.read_to_end(&mut buf)
    });
    let result = match read {
        Err(e) => Err(Error::io(path, e)),
        Ok(_) => super::validate::validate_bytes(&buf, path, false).and_then(|()| f(&buf)),
    };
    BUFFER.with(|b| b.set(buf));
    result
}

/// dicom-rs's parse of bytes returned by [`read_checked`].
pub(crate) fn parse_checked(
    bytes: &[u8],
) -> std::result::Result<dicom_object::DefaultDicomObject, dicom_object::ReadError> {
    OpenFileOptions::new().from_reader(bytes)
}

/// [`read_checked`] then [`parse_checked`]: the outer error is ours (typed,
/// naming the file), the inner one dicom-rs's for the caller to word.
pub(crate) fn open_checked(
    path: &Path,
) -> Result<std::result::Result<dicom_object::DefaultDicomObject, dicom_object::ReadError>> {
    Ok(parse_checked(&read_checked(path)?))
}
