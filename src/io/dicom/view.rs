//! A zero-copy view of a DICOM file's data set, and the attribute look-ups
//! shared by this view and dicom-rs's objects.
//!
//! dicom-rs builds an owned value per element (a `String` per component of a
//! decimal string, a `Vec` per sequence item): reading a CT slice or a
//! structure set of some 10⁵ contour coordinates is dominated by those
//! allocations. [`View`] instead records, for each element, its tag, VR and a
//! slice of the file's bytes, and converts only the attributes asked for.
//!
//! It covers the files ctrad reads on its fast path — little-endian data sets
//! (implicit or explicit VR) whose text is plain ASCII — and declines
//! ([`View::parse`] returns `None`) everything else: big-endian or deflated
//! syntaxes, other character repertoires, undefined-length UN elements. The
//! caller then uses dicom-rs, so the view never has to be complete, only
//! exact where it answers. Its answers are those of dicom-rs 0.10 reading
//! the same bytes with its default ("preserved") value strategy; a test
//! compares both on every DICOM file of the test data.
//!
//! Files reach [`View::parse`] after [`super::validate`] accepted them, so
//! every length fits its container; the parser still bounds-checks every
//! access and declines (never panics) on anything unexpected.

use dicom_core::Tag;
use dicom_object::InMemDicomObject;
use std::borrow::Cow;
use std::cell::Cell;

const UNDEFINED: u32 = u32::MAX;
const PIXEL_DATA: (u16, u16) = (0x7FE0, 0x0010);
const ITEM: (u16, u16) = (0xFFFE, 0xE000);
const ITEM_END: (u16, u16) = (0xFFFE, 0xE00D);
const SEQ_END: (u16, u16) = (0xFFFE, 0xE0DD);
const SPECIFIC_CHARACTER_SET: (u16, u16) = (0x0008, 0x0005);
const PIXEL_REPRESENTATION: (u16, u16) = (0x0028, 0x0103);
/// Deepest sequence nesting followed (as the validator allows).
const MAX_DEPTH: usize = super::validate::MAX_DEPTH;

/// One element: tag, VR (the dictionary's in implicit VR) and value.
#[derive(Debug)]
struct Element<'a> {
    tag: (u16, u16),
    vr: [u8; 2],
    value: Value<'a>,
}

#[derive(Debug)]
enum Value<'a> {
    /// The value bytes (little endian).
    Bytes(&'a [u8]),
    /// Items of a sequence.
    Items(Vec<View<'a>>),
    /// Encapsulated (compressed) pixel data.
    Encapsulated,
}

/// The elements of a data set or of one sequence item, in file order.
#[derive(Debug, Default)]
pub struct View<'a> {
    elements: Vec<Element<'a>>,
}

/// A parsed file: its transfer syntax, file meta elements and data set.
#[derive(Debug)]
pub struct FileView<'a> {
    pub transfer_syntax: String,
    pub meta: View<'a>,
    pub data: View<'a>,
    /// Header-only parses ([`View::parse_header`]): the Pixel Data
    /// element's header where the data set stopped at it.
    pub pixel_data: Option<PixelDataHeader>,
}

/// VR and length of a Pixel Data element whose value was not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PixelDataHeader {
    pub vr: [u8; 2],
    /// Value length; `None` for undefined length (encapsulated data).
    pub len: Option<u32>,
    /// Offset of the value in the file.
    pub value_offset: usize,
}

impl PixelDataHeader {
    /// True when [`View::native_pixels`] of the whole file would give the
    /// value for `bits`-bit samples (native data readable in place).
    pub fn native_in_place(&self, bits: u16) -> bool {
        self.len.is_some()
            && cfg!(target_endian = "little")
            && matches!((bits, &self.vr), (8, b"OB") | (16, b"OW"))
    }
}

impl<'a> View<'a> {
    /// Parse a Part 10 file already accepted by the validator. `None` when
    /// the file is outside what the view covers (see the module docs).
    pub fn parse(bytes: &'a [u8]) -> Option<FileView<'a>> {
        Self::parse_with(bytes, None)
    }

    /// The header of a file, `bytes` being its first bytes (all of them when
    /// `complete`): the data set's elements before Pixel Data (7FE0,0010),
    /// as dicom-rs's `read_until(PIXEL_DATA)` reads them. `None` also when
    /// `bytes` end before the header does (read more of the file).
    pub fn parse_header(bytes: &'a [u8], complete: bool) -> Option<FileView<'a>> {
        Self::parse_with(bytes, Some(complete))
    }

    /// [`parse`](Self::parse), or [`parse_header`](Self::parse_header) when
    /// `header` says whether `bytes` are the whole file.
    fn parse_with(bytes: &'a [u8], header: Option<bool>) -> Option<FileView<'a>> {
        let start = if bytes.get(128..132) == Some(b"DICM") {
            132
        } else if bytes.get(..4) == Some(b"DICM") {
            4
        } else {
            return None;
        };
        let p = Parser {
            b: bytes,
            signed: Cell::new(None),
            header_only: false,
            at_pixel_data: Cell::new(false),
            stop: Cell::new(None),
        };
        // File meta group: explicit VR little endian, length from (0002,0000).
        if p.tag(start)? != (0x0002, 0x0000) {
            return None;
        }
        let group_len = p.u32(start + 8)? as usize;
        let meta_end = (start + 12).checked_add(group_len)?;
        let (meta, _, false) = p.elements(start, meta_end, true, 0)? else {
            return None;
        };
        let ts = meta.bytes((0x0002, 0x0010))?;
        let transfer_syntax = String::from_utf8_lossy(ts)
            .trim_end_matches(|c: char| c.is_whitespace() || c == '\0')
            .to_string();
        let explicit = match transfer_syntax.as_str() {
            "1.2.840.10008.1.2" => false,
            // Big endian and deflated syntaxes: dicom-rs.
            "1.2.840.10008.1.2.2"
            | "1.2.840.10008.1.2.1.99"
            | "1.2.840.10008.1.2.4.95"
            | "1.2.840.10008.1.2.4.205" => return None,
            _ => true,
        };
        let p = Parser {
            header_only: header.is_some(),
            ..p
        };
        let (data, _, false) = p.elements(meta_end, bytes.len(), explicit, 0)? else {
            return None;
        };
        if header == Some(false) && !p.at_pixel_data.get() {
            return None; // the header may go on beyond these bytes
        }
        if !data.plain_text() {
            return None;
        }
        let pixel_data = match p.stop.get() {
            Some(at) if header.is_some() => p.pixel_data_header(at, explicit),
            _ => None,
        };
        Some(FileView {
            transfer_syntax,
            meta,
            data,
            pixel_data,
        })
    }

    /// The last element with `tag` (dicom-rs keeps the last of duplicates).
    fn get(&self, tag: (u16, u16)) -> Option<&Element<'a>> {
        self.elements.iter().rev().find(|e| e.tag == tag)
    }

    fn bytes(&self, tag: (u16, u16)) -> Option<&'a [u8]> {
        match self.get(tag)?.value {
            Value::Bytes(b) => Some(b),
            _ => None,
        }
    }

    /// True when every text value is ASCII without escape sequences and the
    /// character set is one whose ASCII subset is ASCII (so decoding is the
    /// identity, as in dicom-rs for any of them).
    fn plain_text(&self) -> bool {
        if let Some(cs) = self.bytes(SPECIFIC_CHARACTER_SET) {
            let ok = cs.split(|&c| c == b'\\').all(|v| {
                matches!(
                    trim_bytes(v),
                    b"" | b"ISO_IR 6" | b"ISO_IR 100" | b"ISO_IR 192"
                )
            });
            if !ok {
                return false;
            }
        }
        self.elements.iter().all(|e| match &e.value {
            Value::Bytes(b) => {
                !is_text(e.vr) || (b.is_ascii() && memchr::memchr(0x1B, b).is_none())
            }
            Value::Items(items) => items.iter().all(View::plain_text),
            Value::Encapsulated => true,
        })
    }

    /// Native Pixel Data bytes (little endian = native order on the
    /// platforms ctrad targets) when dicom-rs would hold them as values of
    /// `bits` bits: OB for 8 bits, OW for 16 (see `series::native_pixels`).
    pub fn native_pixels(&self, bits: u16) -> Option<&'a [u8]> {
        let e = self.get(PIXEL_DATA)?;
        match (&e.value, bits, &e.vr) {
            (Value::Bytes(b), 8, b"OB") | (Value::Bytes(b), 16, b"OW")
                if cfg!(target_endian = "little") =>
            {
                Some(b)
            }
            _ => None,
        }
    }

    /// True when the data set has a Pixel Data element.
    pub fn has_pixel_data(&self) -> bool {
        self.get(PIXEL_DATA).is_some()
    }

    /// Byte length of native Pixel Data; `None` when absent or encapsulated.
    pub fn pixel_data_len(&self) -> Option<usize> {
        self.bytes(PIXEL_DATA).map(<[u8]>::len)
    }
}

/// Text VRs: values dicom-rs decodes with a character set.
fn is_text(vr: [u8; 2]) -> bool {
    matches!(
        &vr,
        b"AE"
            | b"AS"
            | b"CS"
            | b"DA"
            | b"DS"
            | b"DT"
            | b"IS"
            | b"LO"
            | b"LT"
            | b"PN"
            | b"SH"
            | b"ST"
            | b"TM"
            | b"UC"
            | b"UI"
            | b"UR"
            | b"UT"
    )
}

/// True for tags the standard dictionary gives as "US or SS".
fn is_us_or_ss(tag: (u16, u16)) -> bool {
    use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry, VirtualVr};
    dicom_dictionary_std::StandardDataDictionary
        .by_tag(Tag(tag.0, tag.1))
        .is_some_and(|e| matches!(e.vr(), VirtualVr::Xs))
}

fn trim_bytes(b: &[u8]) -> &[u8] {
    let s = b
        .iter()
        .position(|&c| c != b' ' && c != 0)
        .unwrap_or(b.len());
    let e = b
        .iter()
        .rposition(|&c| c != b' ' && c != 0)
        .map_or(s, |i| i + 1);
    &b[s..e]
}

struct Parser<'a> {
    b: &'a [u8],
    /// Pixel Representation as last read (dicom-rs's decoder state): once
    /// it says signed, elements the dictionary gives as "US or SS" are SS.
    signed: Cell<Option<bool>>,
    /// Stop the data set at Pixel Data (header-only reading) ...
    header_only: bool,
    /// ... and whether it was reached ...
    at_pixel_data: Cell<bool>,
    /// ... at which position.
    stop: Cell<Option<usize>>,
}

impl<'a> Parser<'a> {
    fn u16(&self, p: usize) -> Option<u16> {
        Some(u16::from_le_bytes(self.b.get(p..p + 2)?.try_into().ok()?))
    }

    fn u32(&self, p: usize) -> Option<u32> {
        Some(u32::from_le_bytes(self.b.get(p..p + 4)?.try_into().ok()?))
    }

    fn tag(&self, p: usize) -> Option<(u16, u16)> {
        Some((self.u16(p)?, self.u16(p + 2)?))
    }

    /// The header of the Pixel Data element at `pos` (`None` when the
    /// element there is another one or its header is not in the bytes).
    fn pixel_data_header(&self, pos: usize, explicit: bool) -> Option<PixelDataHeader> {
        if self.tag(pos)? != PIXEL_DATA {
            return None;
        }
        let (vr, len, header) = if explicit {
            let vr: [u8; 2] = self.b.get(pos + 4..pos + 6)?.try_into().ok()?;
            if !super::validate::is_long_vr(vr) {
                return None;
            }
            (vr, self.u32(pos + 8)?, 12)
        } else {
            (
                super::validate::implicit_vr(PIXEL_DATA),
                self.u32(pos + 4)?,
                8,
            )
        };
        Some(PixelDataHeader {
            vr,
            len: (len != UNDEFINED).then_some(len),
            value_offset: pos + header,
        })
    }

    /// Elements from `pos` up to `end`, or up to an item delimiter (which
    /// is consumed). Returns the view, the position after it and whether it
    /// ended at a delimiter.
    fn elements(
        &self,
        mut pos: usize,
        end: usize,
        explicit: bool,
        depth: usize,
    ) -> Option<(View<'a>, usize, bool)> {
        if end > self.b.len() || depth > MAX_DEPTH {
            return None;
        }
        let mut elements = Vec::new();
        while pos < end {
            let tag = self.tag(pos)?;
            if tag == ITEM_END {
                return Some((View { elements }, pos + 8, true));
            }
            if tag.0 == 0xFFFE {
                return None;
            }
            if depth == 0 && self.header_only && tag >= PIXEL_DATA {
                self.at_pixel_data.set(true);
                self.stop.set(Some(pos));
                return Some((View { elements }, pos, false));
            }
            let (vr, len, header) = if explicit {
                let vr: [u8; 2] = self.b.get(pos + 4..pos + 6)?.try_into().ok()?;
                if super::validate::is_short_vr(vr) {
                    (vr, u32::from(self.u16(pos + 6)?), 8)
                } else if super::validate::is_long_vr(vr) {
                    (vr, self.u32(pos + 8)?, 12)
                } else {
                    return None;
                }
            } else {
                (super::validate::implicit_vr(tag), self.u32(pos + 4)?, 8)
            };
            let vr = if self.signed.get() == Some(true) && is_us_or_ss(tag) {
                *b"SS"
            } else {
                vr
            };
            let start = pos + header;
            let (value, next) = if len == UNDEFINED {
                if tag == PIXEL_DATA {
                    (Value::Encapsulated, self.fragments_end(start)?)
                } else if !explicit || &vr == b"SQ" {
                    let (items, next) = self.items(start, None, explicit, depth + 1)?;
                    (Value::Items(items), next)
                } else {
                    return None; // undefined-length UN: dicom-rs
                }
            } else {
                let next = start.checked_add(len as usize).filter(|&n| n <= end)?;
                if &vr == b"SQ" {
                    let (items, _) = self.items(start, Some(next), explicit, depth + 1)?;
                    (Value::Items(items), next)
                } else {
                    let bytes = self.b.get(start..next)?;
                    if tag == PIXEL_REPRESENTATION && matches!(&vr, b"US" | b"OW") && len >= 2 {
                        self.signed.set(Some(bytes[0] != 0 || bytes[1] != 0));
                    }
                    (Value::Bytes(bytes), next)
                }
            };
            elements.push(Element { tag, vr, value });
            pos = next;
        }
        (pos == end).then_some((View { elements }, pos, false))
    }

    /// Items of a sequence from `pos`: up to `end` (defined length) or up to
    /// the sequence delimiter.
    fn items(
        &self,
        mut pos: usize,
        end: Option<usize>,
        explicit: bool,
        depth: usize,
    ) -> Option<(Vec<View<'a>>, usize)> {
        if depth > MAX_DEPTH {
            return None;
        }
        let mut items = Vec::new();
        loop {
            if Some(pos) == end {
                return Some((items, pos));
            }
            let tag = self.tag(pos)?;
            let len = self.u32(pos + 4)?;
            match tag {
                SEQ_END if end.is_none() => return Some((items, pos + 8)),
                ITEM if len == UNDEFINED => {
                    let limit = end.unwrap_or(self.b.len());
                    // An undefined-length item must end at its delimiter.
                    let (item, next, true) = self.elements(pos + 8, limit, explicit, depth)? else {
                        return None;
                    };
                    items.push(item);
                    pos = next;
                }
                ITEM => {
                    let next = (pos + 8).checked_add(len as usize)?;
                    if end.is_some_and(|e| next > e) {
                        return None;
                    }
                    let (item, _, false) = self.elements(pos + 8, next, explicit, depth)? else {
                        return None;
                    };
                    items.push(item);
                    pos = next;
                }
                _ => return None,
            }
        }
    }

    /// Position after the sequence delimiter of encapsulated pixel data.
    fn fragments_end(&self, mut pos: usize) -> Option<usize> {
        loop {
            let tag = self.tag(pos)?;
            let len = self.u32(pos + 4)?;
            match tag {
                ITEM if len != UNDEFINED => pos = (pos + 8).checked_add(len as usize)?,
                SEQ_END => return Some(pos + 8),
                _ => return None,
            }
        }
    }
}

/// Attribute look-ups with dicom-rs's conversions, for both dicom-rs objects
/// and [`View`]s, so the readers are written once.
pub trait Attributes {
    /// The value as dicom-rs's `to_str` gives it (components trimmed of
    /// trailing spaces and NULs, joined by `\`); `None` when absent or not
    /// a primitive value.
    fn string(&self, tag: Tag) -> Option<Cow<'_, str>>;
    /// The value as dicom-rs's `to_multi_float64` gives it.
    fn numbers(&self, tag: Tag) -> Option<Vec<f64>>;
    /// Items of a sequence attribute (empty when absent or not a sequence).
    fn seq(&self, tag: Tag) -> &[Self]
    where
        Self: Sized;
}

impl Attributes for InMemDicomObject {
    fn string(&self, tag: Tag) -> Option<Cow<'_, str>> {
        self.get(tag).and_then(|e| e.to_str().ok())
    }

    fn numbers(&self, tag: Tag) -> Option<Vec<f64>> {
        self.get(tag).and_then(|e| e.to_multi_float64().ok())
    }

    fn seq(&self, tag: Tag) -> &[Self] {
        self.get(tag).and_then(|e| e.items()).unwrap_or(&[])
    }
}

impl Attributes for View<'_> {
    fn string(&self, tag: Tag) -> Option<Cow<'_, str>> {
        let e = self.get((tag.0, tag.1))?;
        let Value::Bytes(b) = e.value else {
            return None;
        };
        if is_text(e.vr) {
            // ASCII (checked at parse time), so UTF-8.
            let s = std::str::from_utf8(b).ok()?;
            let end = |c: char| c == ' ' || c == '\0';
            return Some(if is_single_text(e.vr) || !s.contains('\\') {
                Cow::Borrowed(s.trim_end_matches(end))
            } else {
                Cow::Owned(
                    s.split('\\')
                        .map(|p| p.trim_end_matches(end))
                        .collect::<Vec<_>>()
                        .join("\\"),
                )
            });
        }
        let values = binary_values(e.vr, b)?;
        let texts: Vec<String> = values.into_iter().map(Binary::text).collect();
        Some(Cow::Owned(texts.join("\\")))
    }

    fn numbers(&self, tag: Tag) -> Option<Vec<f64>> {
        let e = self.get((tag.0, tag.1))?;
        let Value::Bytes(b) = e.value else {
            return None;
        };
        if b.is_empty() {
            return None; // dicom-rs: an empty value converts to no number
        }
        if is_text(e.vr) {
            // dicom-rs parses any text: one value for the single-string VRs,
            // else each backslash-separated component (DS and IS included).
            if is_single_text(e.vr) {
                let s = std::str::from_utf8(b).ok()?;
                return s.trim_matches(is_blank).parse().ok().map(|v| vec![v]);
            }
            return parse_decimals(b);
        }
        binary_values(e.vr, b)?
            .into_iter()
            .map(Binary::number)
            .collect()
    }

    fn seq(&self, tag: Tag) -> &[Self] {
        match self.get((tag.0, tag.1)).map(|e| &e.value) {
            Some(Value::Items(items)) => items,
            _ => &[],
        }
    }
}

/// Backslash-separated decimal strings, each trimmed of whitespace and NULs,
/// parsed as dicom-rs does (Rust's `f64` parser).
fn parse_decimals(b: &[u8]) -> Option<Vec<f64>> {
    let s = std::str::from_utf8(b).ok()?;
    let mut out = Vec::with_capacity(b.len() / 8 + 1);
    for p in s.split('\\') {
        out.push(p.trim_matches(is_blank).parse::<f64>().ok()?);
    }
    Some(out)
}

/// What dicom-rs trims from a value before parsing it as a number.
fn is_blank(c: char) -> bool {
    c.is_whitespace() || c == '\0'
}

/// Text VRs dicom-rs reads as one string (no backslash splitting).
fn is_single_text(vr: [u8; 2]) -> bool {
    matches!(&vr, b"LT" | b"ST" | b"UT" | b"UR")
}

/// One value of a binary VR, as dicom-rs holds it.
#[derive(Clone, Copy)]
enum Binary {
    Unsigned(u64),
    Signed(i64),
    F32(f32),
    F64(f64),
    Tag(u16, u16),
}

impl Binary {
    /// As `to_multi_float64` converts it (`None` for tags).
    fn number(self) -> Option<f64> {
        match self {
            Binary::Unsigned(v) => Some(v as f64),
            Binary::Signed(v) => Some(v as f64),
            Binary::F32(v) => Some(f64::from(v)),
            Binary::F64(v) => Some(v),
            Binary::Tag(..) => None,
        }
    }

    /// As dicom-rs's `Display` writes it.
    fn text(self) -> String {
        match self {
            Binary::Unsigned(v) => v.to_string(),
            Binary::Signed(v) => v.to_string(),
            Binary::F32(v) => v.to_string(),
            Binary::F64(v) => v.to_string(),
            Binary::Tag(g, e) => format!("({g:04X},{e:04X})"),
        }
    }
}

/// The values of a binary VR (little endian); `None` for other VRs or a
/// length that is not a whole number of values.
fn binary_values(vr: [u8; 2], b: &[u8]) -> Option<Vec<Binary>> {
    let size = match &vr {
        b"OB" | b"UN" => 1,
        b"US" | b"OW" | b"SS" => 2,
        b"UL" | b"OL" | b"SL" | b"FL" | b"OF" | b"AT" => 4,
        b"FD" | b"OD" | b"SV" | b"UV" | b"OV" => 8,
        _ => return None,
    };
    if !b.len().is_multiple_of(size) {
        return None;
    }
    let word = |c: &[u8]| {
        let mut w = [0u8; 8];
        w[..c.len()].copy_from_slice(c);
        u64::from_le_bytes(w)
    };
    Some(
        b.chunks_exact(size)
            .map(|c| {
                let w = word(c);
                match &vr {
                    b"SS" => Binary::Signed(i64::from(w as u16 as i16)),
                    b"SL" => Binary::Signed(i64::from(w as u32 as i32)),
                    b"SV" => Binary::Signed(w as i64),
                    b"FL" | b"OF" => Binary::F32(f32::from_bits(w as u32)),
                    b"FD" | b"OD" => Binary::F64(f64::from_bits(w)),
                    b"AT" => Binary::Tag(w as u16, (w >> 16) as u16),
                    _ => Binary::Unsigned(w),
                }
            })
            .collect(),
    )
}
