//! Header-only scanning of folders of DICOM files.

use crate::error::{Error, Result};
use dicom_dictionary_std::tags;
use dicom_object::{InMemDicomObject, OpenFileOptions};
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
pub fn text(obj: &InMemDicomObject, tag: dicom_core::Tag) -> String {
    obj.get(tag)
        .and_then(|e| {
            e.to_str().ok().map(|s| {
                s.trim_matches(|c: char| c == '\0' || c.is_whitespace())
                    .to_string()
            })
        })
        .unwrap_or_default()
}

/// Read the header of one file (stops before the pixel data).
pub fn read_header(path: &Path) -> Result<FileInfo> {
    check_declared_lengths(path, true)?;
    let obj = OpenFileOptions::new()
        .read_until(tags::PIXEL_DATA)
        .open_file(path)
        .map_err(|e| Error::format(path, format!("not a readable DICOM file: {e}")))?;
    let sop_class_uid = obj
        .meta()
        .media_storage_sop_class_uid()
        .trim_end_matches('\0')
        .to_string();
    Ok(FileInfo {
        path: path.to_path_buf(),
        sop_class_uid: if sop_class_uid.is_empty() {
            text(&obj, tags::SOP_CLASS_UID)
        } else {
            sop_class_uid
        },
        sop_instance_uid: text(&obj, tags::SOP_INSTANCE_UID),
        modality: text(&obj, tags::MODALITY),
        study_instance_uid: text(&obj, tags::STUDY_INSTANCE_UID),
        series_instance_uid: text(&obj, tags::SERIES_INSTANCE_UID),
        frame_of_reference_uid: text(&obj, tags::FRAME_OF_REFERENCE_UID),
        series_description: text(&obj, tags::SERIES_DESCRIPTION),
        study_date: text(&obj, tags::STUDY_DATE),
        series_number: text(&obj, tags::SERIES_NUMBER).parse().ok(),
    })
}

/// True when the file starts with the DICOM Part 10 preamble and magic.
pub fn has_dicom_magic(path: &Path) -> bool {
    use std::io::Read;
    let mut buf = [0u8; 132];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut buf))
        .map(|_| &buf[128..132] == b"DICM")
        .unwrap_or(false)
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
    let mut infos = Vec::new();
    let mut errors = Vec::new();
    for p in list_files(dir)? {
        if p.file_name()
            .is_some_and(|n| n.eq_ignore_ascii_case("DICOMDIR"))
            || !has_dicom_magic(&p)
        {
            continue;
        }
        match read_header(&p) {
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
pub fn floats(obj: &InMemDicomObject, tag: dicom_core::Tag) -> Option<Vec<f64>> {
    let e = obj.get(tag)?;
    let v = e.to_multi_float64().ok()?;
    (!v.is_empty() && v.iter().all(|x| x.is_finite())).then_some(v)
}

/// First numeric value of an attribute; `None` when absent or unparsable.
pub fn float(obj: &InMemDicomObject, tag: dicom_core::Tag) -> Option<f64> {
    floats(obj, tag).map(|v| v[0])
}

/// Integer value of an attribute; `None` when absent or unparsable.
pub fn int(obj: &InMemDicomObject, tag: dicom_core::Tag) -> Option<i64> {
    let e = obj.get(tag)?;
    let s = e.to_str().ok()?;
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
pub fn items(obj: &InMemDicomObject, tag: dicom_core::Tag) -> &[InMemDicomObject] {
    obj.get(tag).and_then(|e| e.items()).unwrap_or(&[])
}

/// First item of a sequence attribute.
pub fn first_item(obj: &InMemDicomObject, tag: dicom_core::Tag) -> Option<&InMemDicomObject> {
    items(obj, tag).first()
}

/// Check, before the DICOM parser sees the file, that no element declares more
/// bytes than the file holds. The parser allocates (and zero-fills) a value's
/// declared length before reading it, so a tiny file declaring a 4 GiB element
/// would otherwise cost 4 GiB of memory before failing.
///
/// Walks the Part 10 file linearly: the meta group (explicit VR little endian),
/// then the data set in its transfer syntax (implicit/explicit VR, little/big
/// endian). Sequences and items are descended into; fragments of encapsulated
/// pixel data are skipped. Deflated data sets are not checked (their lengths
/// refer to inflated bytes). `stop_at_pixel_data` ends the walk at (7FE0,0010).
/// Anything it cannot follow is left to the parser, which reports it.
pub(crate) fn check_declared_lengths(path: &Path, stop_at_pixel_data: bool) -> Result<()> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    if bytes.len() < 132 || &bytes[128..132] != b"DICM" {
        return Ok(()); // not Part 10: the parser gives the error
    }
    let too_long = |tag: (u16, u16), len: usize, left: usize| {
        Error::format(
            path,
            format!(
                "element ({:04X},{:04X}) declares {len} bytes but only {left} remain in the file \
                 (truncated or corrupt)",
                tag.0, tag.1
            ),
        )
    };
    let mut pos = 132;
    let (mut explicit, mut big) = (true, false);
    let mut in_meta = true;
    let mut in_fragments = false;
    while pos + 8 <= bytes.len() {
        let rd16 = |p: usize, big: bool| {
            let a = [bytes[p], bytes[p + 1]];
            if big {
                u16::from_be_bytes(a)
            } else {
                u16::from_le_bytes(a)
            }
        };
        let rd32 = |p: usize, big: bool| {
            let a = [bytes[p], bytes[p + 1], bytes[p + 2], bytes[p + 3]];
            if big {
                u32::from_be_bytes(a)
            } else {
                u32::from_le_bytes(a)
            }
        };
        if in_meta && rd16(pos, false) != 0x0002 {
            // End of the meta group: switch to the data set's transfer syntax.
            in_meta = false;
            let ts = transfer_syntax_of(&bytes[132..pos]);
            match ts.as_str() {
                "1.2.840.10008.1.2" => (explicit, big) = (false, false),
                "1.2.840.10008.1.2.2" => (explicit, big) = (true, true),
                "1.2.840.10008.1.2.1.99" | "1.2.840.10008.1.2.4.95" => return Ok(()), // deflated
                _ => (explicit, big) = (true, false),
            }
        }
        let tag = (rd16(pos, big), rd16(pos + 2, big));
        if tag.0 == 0xFFFE {
            // Item / delimiters: tag + 4-byte length, no VR.
            let len = rd32(pos + 4, big);
            pos += 8;
            match tag.1 {
                0xE000 if len != u32::MAX => {
                    let left = bytes.len() - pos;
                    if len as usize > left {
                        return Err(too_long(tag, len as usize, left));
                    }
                    if in_fragments {
                        pos += len as usize;
                    }
                }
                0xE0DD => in_fragments = false,
                _ => {}
            }
            continue;
        }
        if stop_at_pixel_data && tag == (0x7FE0, 0x0010) {
            return Ok(());
        }
        let (vr, len, header) = if explicit {
            let vr = [bytes[pos + 4], bytes[pos + 5]];
            if matches!(
                &vr,
                b"OB"
                    | b"OD"
                    | b"OF"
                    | b"OL"
                    | b"OV"
                    | b"OW"
                    | b"SQ"
                    | b"SV"
                    | b"UC"
                    | b"UR"
                    | b"UT"
                    | b"UN"
                    | b"UV"
            ) {
                if pos + 12 > bytes.len() {
                    break;
                }
                (Some(vr), rd32(pos + 8, big), 12)
            } else {
                (Some(vr), rd16(pos + 6, big) as u32, 8)
            }
        } else {
            (None, rd32(pos + 4, big), 8)
        };
        pos += header;
        if len == u32::MAX {
            if vr == Some(*b"UN") {
                return Ok(()); // implicit VR content follows: not followed here
            }
            // Undefined length: a sequence, or encapsulated pixel data.
            in_fragments = tag == (0x7FE0, 0x0010);
            continue;
        }
        let is_seq = match vr {
            Some(v) => &v == b"SQ",
            None => is_implicit_sequence(tag),
        };
        if is_seq {
            continue; // walk the items inside
        }
        let left = bytes.len() - pos;
        if len as usize > left {
            return Err(too_long(tag, len as usize, left));
        }
        pos += len as usize;
    }
    Ok(())
}

/// The Transfer Syntax UID (0002,0010) in the raw meta group, or "".
fn transfer_syntax_of(meta: &[u8]) -> String {
    let mut p = 0;
    while p + 8 <= meta.len() {
        let tag = (
            u16::from_le_bytes([meta[p], meta[p + 1]]),
            u16::from_le_bytes([meta[p + 2], meta[p + 3]]),
        );
        let vr = [meta[p + 4], meta[p + 5]];
        let (len, header) = if matches!(&vr, b"OB" | b"OW" | b"UN" | b"SQ" | b"UT" | b"UC" | b"UR")
        {
            if p + 12 > meta.len() {
                return String::new();
            }
            (
                u32::from_le_bytes([meta[p + 8], meta[p + 9], meta[p + 10], meta[p + 11]]) as usize,
                12,
            )
        } else {
            (u16::from_le_bytes([meta[p + 6], meta[p + 7]]) as usize, 8)
        };
        let start = p + header;
        let Some(value) = meta.get(start..start.saturating_add(len)) else {
            return String::new();
        };
        if tag == (0x0002, 0x0010) {
            return String::from_utf8_lossy(value)
                .trim_end_matches(['\0', ' '])
                .to_string();
        }
        p = start + len;
    }
    String::new()
}

/// Whether the standard dictionary knows `tag` as a sequence (for implicit VR).
fn is_implicit_sequence(tag: (u16, u16)) -> bool {
    use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry};
    dicom_dictionary_std::StandardDataDictionary
        .by_tag(dicom_core::Tag(tag.0, tag.1))
        .is_some_and(|e| e.vr().exact() == Some(dicom_core::VR::SQ))
}
