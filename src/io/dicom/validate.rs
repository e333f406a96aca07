//! Structural validation of a DICOM Part 10 file before dicom-rs parses it.
//!
//! dicom-rs allocates (and zero-fills) each value's declared length before
//! reading it, and trusts nesting: a small file whose lengths disagree with
//! its content can make it allocate gigabytes, and deep nesting recurses
//! without bound. This module walks the whole element tree first, without
//! reading values, and refuses the file with a [`Error::Format`] naming the
//! byte offset of the first inconsistency. Its reading rules are those of
//! dicom-rs 0.10 (so the parser sees exactly the structure checked here),
//! made stricter where PS3.5 is:
//!
//! - preamble: "DICM" at byte 128, or at byte 0 (dicom-rs accepts both);
//!   anything else is left to the parser, which refuses it at the magic code;
//! - file meta group (explicit VR little endian): starts with (0002,0000) UL
//!   of length 4; every element up to that group length is of group 0002,
//!   has a defined length and ends inside the group;
//! - data set in the transfer syntax of (0002,0010): implicit VR little
//!   endian, explicit VR big endian, deflated explicit VR little endian
//!   (inflated here with a size cap) or explicit VR little endian (every
//!   other syntax);
//! - every element, item and fragment fits in what remains of its enclosing
//!   item, sequence or file; a sequence of defined length ends exactly at
//!   its last item;
//! - undefined lengths only for sequences (explicit SQ, implicit VR tags
//!   the dictionary knows as SQ), UN (contents in implicit VR little endian,
//!   PS3.5 §6.2.2) and encapsulated pixel data (7FE0,0010), whose fragments
//!   all have defined lengths; every undefined-length item or sequence has
//!   its delimitation item; no other (FFFE,xxxx) tag appears;
//! - explicit VRs are the 34 of PS3.5 (dicom-rs would read an unknown one
//!   as UN with a 4-byte length);
//! - the length of a binary value (US, SS, OW: 2; AT, FL, OF, SL, UL, OL: 4;
//!   FD, OD, SV, UV, OV: 8) is a multiple of its size; in implicit VR the VR
//!   is the dictionary's, as dicom-rs resolves it;
//! - sequences nest at most [`MAX_DEPTH`] levels.
//!
//! dicom-rs reads the contents of an undefined-length UN with the data set's
//! own (explicit) syntax, not implicit VR: such contents must therefore be
//! consistent in both readings, or the file is refused.
//!
//! The walk never reads a value and every step consumes at least 8 bytes, so
//! it ends in time linear in the file size (times the UN nesting depth,
//! itself at most [`MAX_DEPTH`]).

use crate::error::{Error, Result};
use std::cell::Cell;
use std::io::Read;
use std::path::Path;

/// Deepest nesting of sequences accepted (real files use fewer than 10).
pub const MAX_DEPTH: usize = 32;

const UNDEFINED: u32 = u32::MAX;
const PIXEL_DATA: Tag = (0x7FE0, 0x0010);
const ITEM: Tag = (0xFFFE, 0xE000);
const ITEM_END: Tag = (0xFFFE, 0xE00D);
const SEQ_END: Tag = (0xFFFE, 0xE0DD);

type Tag = (u16, u16);

/// VRs of explicit VR encodings whose length field is 16 bits (PS3.5 Table 7.1-2).
const SHORT_VRS: [&[u8; 2]; 21] = [
    b"AE", b"AS", b"AT", b"CS", b"DA", b"DS", b"DT", b"FL", b"FD", b"IS", b"LO", b"LT", b"PN",
    b"SH", b"SL", b"SS", b"ST", b"TM", b"UI", b"UL", b"US",
];
/// VRs with a reserved field and a 32-bit length.
const LONG_VRS: [&[u8; 2]; 13] = [
    b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV",
];

/// True for an explicit VR with a 16-bit length field.
pub(super) fn is_short_vr(vr: [u8; 2]) -> bool {
    SHORT_VRS.contains(&&vr)
}

/// True for an explicit VR with a reserved field and a 32-bit length.
pub(super) fn is_long_vr(vr: [u8; 2]) -> bool {
    LONG_VRS.contains(&&vr)
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Syntax {
    ImplicitLe,
    ExplicitLe,
    ExplicitBe,
}

impl Syntax {
    fn big(self) -> bool {
        self == Syntax::ExplicitBe
    }
}

/// Check the structure of the DICOM file at `path` (see the module docs).
/// With `stop_at_pixel_data` the walk ends at the first top-level element
/// at or after (7FE0,0010), as a header-only read does.
pub fn validate_file(path: &Path, stop_at_pixel_data: bool) -> Result<()> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    validate_bytes(&bytes, path, stop_at_pixel_data)
}

/// [`validate_file`] on the file's bytes; `path` only names it in errors.
pub fn validate_bytes(bytes: &[u8], path: &Path, stop_at_pixel_data: bool) -> Result<()> {
    validate_bytes_with_cap(bytes, path, stop_at_pixel_data, max_inflated())
}

/// [`validate_bytes`] with an explicit cap on the size of an inflated
/// (deflated transfer syntax) data set.
pub fn validate_bytes_with_cap(
    bytes: &[u8],
    path: &Path,
    stop_at_pixel_data: bool,
    max_inflated: usize,
) -> Result<()> {
    // Where dicom-rs looks for the magic code.
    let start = if bytes.len() >= 132 && &bytes[128..132] == b"DICM" {
        132
    } else if bytes.len() >= 4 && &bytes[..4] == b"DICM" {
        4
    } else {
        return Ok(()); // not Part 10: the parser refuses it before reading any length
    };
    let file = Walker {
        b: bytes,
        path,
        inflated: false,
        stop_at_pixel_data,
    };
    let (data_start, ts) = file.meta(start)?;
    let syntax = match ts.as_str() {
        "1.2.840.10008.1.2" => Syntax::ImplicitLe,
        "1.2.840.10008.1.2.2" => Syntax::ExplicitBe,
        // Deflated explicit VR little endian, JPIP (HTJ2K) referenced deflate.
        "1.2.840.10008.1.2.1.99" | "1.2.840.10008.1.2.4.95" | "1.2.840.10008.1.2.4.205" => {
            let data = inflate(&bytes[data_start..], path, max_inflated)?;
            let w = Walker {
                b: &data,
                inflated: true,
                ..file
            };
            return w
                .elements(0, data.len(), Container::Top, Syntax::ExplicitLe, 0)
                .map(|_| ());
        }
        _ => Syntax::ExplicitLe,
    };
    file.elements(data_start, bytes.len(), Container::Top, syntax, 0)
        .map(|_| ())
}

/// Largest inflated data set accepted: 4 bytes per voxel of the voxel cap
/// (`CTRAD_MAX_VOXELS`) plus 64 MiB for everything else.
fn max_inflated() -> usize {
    let voxels = crate::io::ReadLimits::from_env()
        .unwrap_or_default()
        .max_voxels;
    voxels.saturating_mul(4).saturating_add(64 << 20)
}

/// Inflate a deflated data set (raw deflate, PS3.5 §A.5), refusing more than
/// `cap` bytes.
fn inflate(data: &[u8], path: &Path, cap: usize) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    flate2::read::DeflateDecoder::new(data)
        .take(cap as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| Error::format(path, format!("deflated data set cannot be inflated: {e}")))?;
    if out.len() > cap {
        return Err(Error::ResourceLimit {
            path: path.to_path_buf(),
            reason: format!(
                "deflated data set inflates to more than {cap} bytes \
                 (set CTRAD_MAX_VOXELS to raise the limit)"
            ),
        });
    }
    Ok(out)
}

/// What holds the elements being walked, for the end rule and messages.
#[derive(Clone, Copy, PartialEq)]
enum Container {
    /// The data set: ends at the end of the file.
    Top,
    /// An item of defined length.
    Item,
    /// An item of undefined length: ends at its (FFFE,E00D).
    DelimitedItem,
}

#[derive(Clone, Copy)]
struct Walker<'a> {
    b: &'a [u8],
    path: &'a Path,
    /// Offsets count in the inflated data set rather than the file.
    inflated: bool,
    stop_at_pixel_data: bool,
}

fn show(tag: Tag) -> String {
    format!("({:04X},{:04X})", tag.0, tag.1)
}

impl Walker<'_> {
    fn err(&self, at: usize, what: impl std::fmt::Display) -> Error {
        let of = if self.inflated {
            " of the inflated data set"
        } else {
            ""
        };
        Error::format(
            self.path,
            format!("malformed DICOM at byte offset {at}{of}: {what}"),
        )
    }

    fn u16(&self, p: usize, big: bool) -> u16 {
        let a = [self.b[p], self.b[p + 1]];
        if big {
            u16::from_be_bytes(a)
        } else {
            u16::from_le_bytes(a)
        }
    }

    fn u32(&self, p: usize, big: bool) -> u32 {
        let a = [self.b[p], self.b[p + 1], self.b[p + 2], self.b[p + 3]];
        if big {
            u32::from_be_bytes(a)
        } else {
            u32::from_le_bytes(a)
        }
    }

    fn tag(&self, p: usize, big: bool) -> Tag {
        (self.u16(p, big), self.u16(p + 2, big))
    }

    /// Header of the element at `pos` (at least 8 bytes remain before `end`):
    /// explicit VR (`None` in implicit VR), value length, header size.
    fn header(
        &self,
        pos: usize,
        end: usize,
        syntax: Syntax,
    ) -> Result<(Option<[u8; 2]>, u32, usize)> {
        let big = syntax.big();
        if syntax == Syntax::ImplicitLe {
            return Ok((None, self.u32(pos + 4, false), 8));
        }
        let vr = [self.b[pos + 4], self.b[pos + 5]];
        if is_short_vr(vr) {
            Ok((Some(vr), u32::from(self.u16(pos + 6, big)), 8))
        } else if is_long_vr(vr) {
            if end - pos < 12 {
                return Err(self.err(pos, "element header cut short"));
            }
            Ok((Some(vr), self.u32(pos + 8, big), 12))
        } else {
            Err(self.err(
                pos,
                format!(
                    "element {} has an unknown value representation {:?}",
                    show(self.tag(pos, big)),
                    String::from_utf8_lossy(&vr)
                ),
            ))
        }
    }

    /// Walk the file meta group from `pos` (just after "DICM"); returns
    /// where the data set starts and the transfer syntax UID.
    fn meta(&self, pos: usize) -> Result<(usize, String)> {
        let b = self.b;
        if b.len() - pos < 12
            || self.tag(pos, false) != (0x0002, 0x0000)
            || &b[pos + 4..pos + 6] != b"UL"
            || self.u16(pos + 6, false) != 4
        {
            return Err(self.err(
                pos,
                "file meta group does not start with its group length (0002,0000) UL",
            ));
        }
        let group_len = self.u32(pos + 8, false) as usize;
        let mut p = pos + 12;
        if group_len > b.len() - p {
            return Err(self.err(
                pos,
                format!(
                    "file meta group length {group_len} exceeds the {} bytes left in the file",
                    b.len() - p
                ),
            ));
        }
        let end = p + group_len;
        let mut ts = String::new();
        while p < end {
            if end - p < 8 {
                return Err(self.err(
                    p,
                    "element header cut short by the end of the file meta group",
                ));
            }
            let tag = self.tag(p, false);
            if tag.0 != 0x0002 {
                return Err(self.err(
                    p,
                    format!("element {} inside the file meta group", show(tag)),
                ));
            }
            let (_, len, header) = self.header(p, end, Syntax::ExplicitLe)?;
            let value = p + header;
            if len == UNDEFINED || len as usize > end - value {
                return Err(self.err(
                    p,
                    format!(
                        "element {} declares {} bytes but only {} remain in the file meta group",
                        show(tag),
                        len,
                        end - value
                    ),
                ));
            }
            let next = value + len as usize;
            if tag == (0x0002, 0x0010) {
                ts = String::from_utf8_lossy(&b[value..next])
                    .trim_end_matches(|c: char| c.is_whitespace() || c == '\0')
                    .to_string();
            }
            p = next;
        }
        Ok((end, ts))
    }

    /// Walk the elements of the data set or of one item, from `pos` up to
    /// `end` (the end of the enclosing container). Returns the position after
    /// the last element (after the delimiter of a delimited item).
    fn elements(
        &self,
        mut pos: usize,
        end: usize,
        container: Container,
        syntax: Syntax,
        depth: usize,
    ) -> Result<usize> {
        let big = syntax.big();
        let place = match container {
            Container::Top if self.inflated => "inflated data set",
            Container::Top => "file",
            _ => "item",
        };
        loop {
            if pos == end {
                if container == Container::DelimitedItem {
                    return Err(self.err(
                        pos,
                        "item of undefined length ends without its item delimitation (FFFE,E00D)",
                    ));
                }
                return Ok(pos);
            }
            if end - pos < 8 {
                return Err(self.err(
                    pos,
                    format!(
                        "{} bytes left in the {place}: too few for an element header",
                        end - pos
                    ),
                ));
            }
            let tag = self.tag(pos, big);
            if tag.0 == 0xFFFE {
                if tag == ITEM_END && container == Container::DelimitedItem {
                    return Ok(pos + 8);
                }
                return Err(self.err(pos, format!("unexpected {} among elements", show(tag))));
            }
            if container == Container::Top && self.stop_at_pixel_data && tag >= PIXEL_DATA {
                return Ok(end);
            }
            let (vr, len, header) = self.header(pos, end, syntax)?;
            let value = pos + header;
            if len == UNDEFINED {
                pos = if tag == PIXEL_DATA {
                    self.fragments(value, end, syntax)?
                } else {
                    match vr.as_ref() {
                        None | Some(b"SQ") => {
                            self.items(value, end, true, tag, syntax, depth + 1)?
                        }
                        Some(b"UN") => self.un_items(pos, value, end, tag, syntax, depth + 1)?,
                        Some(v) => {
                            return Err(self.err(
                                pos,
                                format!(
                                    "element {} of VR {} has an undefined length",
                                    show(tag),
                                    String::from_utf8_lossy(v)
                                ),
                            ))
                        }
                    }
                };
                continue;
            }
            let len = len as usize;
            if len > end - value {
                return Err(self.err(
                    pos,
                    format!(
                        "element {} declares {len} bytes but only {} remain in its {place}",
                        show(tag),
                        end - value
                    ),
                ));
            }
            let vr = vr.unwrap_or_else(|| implicit_vr(tag));
            if &vr == b"SQ" {
                self.items(value, value + len, false, tag, syntax, depth + 1)?;
            } else if !len.is_multiple_of(value_unit(vr)) {
                return Err(self.err(
                    pos,
                    format!(
                        "element {} of VR {} has length {len}, not a multiple of {}",
                        show(tag),
                        String::from_utf8_lossy(&vr),
                        value_unit(vr)
                    ),
                ));
            }
            pos = value + len;
        }
    }

    /// Walk the items of sequence `seq` from `pos`: up to `end` when the
    /// sequence has a defined length, else up to its delimiter (which must come
    /// before `end`). Returns the position after the sequence.
    fn items(
        &self,
        mut pos: usize,
        end: usize,
        delimited: bool,
        seq: Tag,
        syntax: Syntax,
        depth: usize,
    ) -> Result<usize> {
        if depth > MAX_DEPTH {
            return Err(self.err(
                pos,
                format!(
                    "sequence {} nested deeper than {MAX_DEPTH} levels",
                    show(seq)
                ),
            ));
        }
        let big = syntax.big();
        loop {
            if pos == end && !delimited {
                return Ok(pos);
            }
            if end - pos < 8 {
                let what = if delimited {
                    "ends without its sequence delimitation (FFFE,E0DD)"
                } else {
                    "ends with an item header cut short"
                };
                return Err(self.err(pos, format!("sequence {} {what}", show(seq))));
            }
            let tag = self.tag(pos, big);
            let len = self.u32(pos + 4, big);
            match tag {
                ITEM if len == UNDEFINED => {
                    pos = self.elements(pos + 8, end, Container::DelimitedItem, syntax, depth)?;
                }
                ITEM => {
                    let value = pos + 8;
                    if len as usize > end - value {
                        return Err(self.err(
                            pos,
                            format!(
                                "item of sequence {} declares {len} bytes but only {} remain \
                                 in the sequence",
                                show(seq),
                                end - value
                            ),
                        ));
                    }
                    pos = value + len as usize;
                    self.elements(value, pos, Container::Item, syntax, depth)?;
                }
                SEQ_END if delimited => return Ok(pos + 8),
                _ => {
                    return Err(self.err(
                        pos,
                        format!(
                            "expected an item of sequence {}, found {}",
                            show(seq),
                            show(tag)
                        ),
                    ))
                }
            }
        }
    }

    /// Items of an undefined-length UN element (header at `at`, contents at
    /// `pos`). PS3.5 §6.2.2 encodes them in implicit VR little endian, but
    /// dicom-rs reads them in the data set's syntax: both readings must agree.
    fn un_items(
        &self,
        at: usize,
        pos: usize,
        end: usize,
        tag: Tag,
        syntax: Syntax,
        depth: usize,
    ) -> Result<usize> {
        let standard = self.items(pos, end, true, tag, Syntax::ImplicitLe, depth)?;
        let as_parsed = self
            .items(pos, end, true, tag, syntax, depth)
            .map_err(|e| {
                self.err(
                    at,
                    format!(
                        "UN element {} of undefined length holds implicit VR items the DICOM \
                     parser would misread ({e})",
                        show(tag)
                    ),
                )
            })?;
        if standard != as_parsed {
            return Err(self.err(
                at,
                format!(
                    "UN element {} of undefined length ends at {standard} in implicit VR \
                     but at {as_parsed} as the DICOM parser reads it",
                    show(tag)
                ),
            ));
        }
        Ok(standard)
    }

    /// Fragments of encapsulated pixel data from `pos`, up to the sequence
    /// delimiter. Returns the position after it.
    fn fragments(&self, mut pos: usize, end: usize, syntax: Syntax) -> Result<usize> {
        let big = syntax.big();
        loop {
            if end - pos < 8 {
                return Err(self.err(
                    pos,
                    "encapsulated pixel data ends without its sequence delimitation (FFFE,E0DD)",
                ));
            }
            let tag = self.tag(pos, big);
            let len = self.u32(pos + 4, big);
            match tag {
                ITEM if len == UNDEFINED => {
                    return Err(self.err(pos, "pixel data fragment of undefined length"))
                }
                ITEM => {
                    if len as usize > end - (pos + 8) {
                        return Err(self.err(
                            pos,
                            format!(
                                "pixel data fragment declares {len} bytes but only {} remain",
                                end - (pos + 8)
                            ),
                        ));
                    }
                    pos += 8 + len as usize;
                }
                SEQ_END => return Ok(pos + 8),
                _ => {
                    return Err(self.err(
                        pos,
                        format!("expected a pixel data fragment, found {}", show(tag)),
                    ))
                }
            }
        }
    }
}

/// The VR the implicit VR reader gives `tag` (dicom-rs: OW for pixel and
/// overlay data, else the standard dictionary's VR, relaxed; UN if unknown).
///
/// Remembered per thread in a small direct-mapped table: the dictionary
/// hashes every look-up with SipHash, and the files of a series (read twice,
/// by the validator and by the view) ask for the same hundred tags. The
/// table's size is fixed, whatever tags a file holds.
pub(super) fn implicit_vr(tag: Tag) -> [u8; 2] {
    const SLOTS: usize = 4096;
    thread_local! {
        // Bit 48: slot in use; bits 16..48: the tag; bits 0..16: the VR.
        static MEMO: [Cell<u64>; SLOTS] = const { [const { Cell::new(0) }; SLOTS] };
    }
    let key = (u32::from(tag.0) << 16) | u32::from(tag.1);
    // Fibonacci hashing: the top bits of the product pick the slot.
    let slot = (key.wrapping_mul(0x9E37_79B1) >> (32 - SLOTS.trailing_zeros())) as usize;
    MEMO.with(|memo| {
        let entry = memo[slot].get();
        if entry >> 48 == 1 && (entry >> 16) as u32 == key {
            return (entry as u16).to_le_bytes();
        }
        let vr = dictionary_vr(tag);
        memo[slot].set(1 << 48 | u64::from(key) << 16 | u64::from(u16::from_le_bytes(vr)));
        vr
    })
}

/// [`implicit_vr`] from the dictionary itself.
fn dictionary_vr(tag: Tag) -> [u8; 2] {
    use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry};
    if tag == PIXEL_DATA || (tag.0 >> 8 == 0x60 && tag.1 == 0x3000) {
        return *b"OW";
    }
    dicom_dictionary_std::StandardDataDictionary
        .by_tag(dicom_core::Tag(tag.0, tag.1))
        .map(|e| e.vr().relaxed().to_bytes())
        .unwrap_or(*b"UN")
}

/// Size of one value of a binary VR (1 for text and bytes). dicom-rs reads
/// `length / unit` values but advances its position by `length`: a length
/// that is not a multiple desynchronises it from the file, and it then reads
/// value bytes as headers (found by the `dicom_series` fuzz target: Columns
/// as UL of length 2 led to a 1.5 GB allocation).
fn value_unit(vr: [u8; 2]) -> usize {
    match &vr {
        b"US" | b"SS" | b"OW" => 2,
        b"AT" | b"FL" | b"OF" | b"SL" | b"UL" | b"OL" => 4,
        b"FD" | b"OD" | b"SV" | b"UV" | b"OV" => 8,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The remembered VR is the dictionary's, on first and later look-ups,
    /// for tags that share slots, the extremes of the tag space and tags the
    /// dictionary does not know.
    #[test]
    fn remembered_vr_is_the_dictionarys() {
        let mut tags: Vec<Tag> = vec![(0, 0), (0xFFFF, 0xFFFF), PIXEL_DATA, (0x6002, 0x3000)];
        for g in [
            0x0008u16, 0x0010, 0x0018, 0x0020, 0x0028, 0x3006, 0x0009, 0x7FE0,
        ] {
            for e in (0..0x1100u16).step_by(7) {
                tags.push((g, e));
            }
        }
        for _ in 0..2 {
            for &t in &tags {
                assert_eq!(implicit_vr(t), dictionary_vr(t), "{t:04X?}");
            }
        }
    }
}
