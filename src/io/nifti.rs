//! NIfTI-1 reader (`.nii`, `.nii.gz`).
//!
//! Intensities are returned with `scl_slope`/`scl_inter` applied. Geometry comes
//! from the sform when `sform_code > 0`, else from the qform, else from pixdim.
//! NIfTI world coordinates are RAS; ctrad stores LPS (as DICOM does), so the
//! first two world rows are negated on reading.

use crate::error::{Error, Result};
use crate::volume::{Geometry, Volume};
use std::io::Read;
use std::path::Path;

const HEADER_SIZE: usize = 348;

/// Read a NIfTI-1 file as a float volume (intensities scaled).
pub fn read(path: &Path) -> Result<Volume<f32>> {
    let bytes = read_maybe_gz(path)?;
    parse(&bytes, path)
}

/// Read the whole file, inflating it when it is gzip-compressed.
pub(crate) fn read_maybe_gz(path: &Path) -> Result<Vec<u8>> {
    let raw = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    if raw.len() >= 2 && raw[0] == 0x1f && raw[1] == 0x8b {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .map_err(|e| Error::format(path, format!("corrupt or truncated gzip data: {e}")))?;
        Ok(out)
    } else {
        Ok(raw)
    }
}

struct Reader<'a> {
    b: &'a [u8],
    big: bool,
}

impl Reader<'_> {
    fn i16(&self, o: usize) -> i16 {
        let a = [self.b[o], self.b[o + 1]];
        if self.big {
            i16::from_be_bytes(a)
        } else {
            i16::from_le_bytes(a)
        }
    }
    fn i32(&self, o: usize) -> i32 {
        let a = [self.b[o], self.b[o + 1], self.b[o + 2], self.b[o + 3]];
        if self.big {
            i32::from_be_bytes(a)
        } else {
            i32::from_le_bytes(a)
        }
    }
    fn f32(&self, o: usize) -> f64 {
        let a = [self.b[o], self.b[o + 1], self.b[o + 2], self.b[o + 3]];
        (if self.big {
            f32::from_be_bytes(a)
        } else {
            f32::from_le_bytes(a)
        }) as f64
    }
}

/// Parse NIfTI-1 bytes (already inflated). `path` is used in errors only.
pub fn parse(bytes: &[u8], path: &Path) -> Result<Volume<f32>> {
    if bytes.len() < HEADER_SIZE {
        return Err(Error::format(
            path,
            format!(
                "file has {} bytes, shorter than a NIfTI-1 header (348)",
                bytes.len()
            ),
        ));
    }
    let le = i32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    let be = i32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    let big = if le == 348 {
        false
    } else if be == 348 {
        true
    } else if le == 540 || be == 540 {
        return Err(Error::format(
            path,
            "NIfTI-2 files are not supported (convert to NIfTI-1)",
        ));
    } else {
        return Err(Error::format(
            path,
            "not a NIfTI-1 file (sizeof_hdr is not 348)",
        ));
    };
    let r = Reader { b: bytes, big };
    let magic = &bytes[344..348];
    if magic != b"n+1\0" && magic != b"ni1\0" {
        return Err(Error::format(
            path,
            "bad NIfTI-1 magic (expected 'n+1' or 'ni1')",
        ));
    }
    if magic == b"ni1\0" {
        return Err(Error::format(
            path,
            "separate .hdr/.img NIfTI pairs are not supported; use a single .nii file",
        ));
    }
    let ndim = r.i16(40);
    if !(1..=7).contains(&ndim) {
        return Err(Error::format(path, format!("invalid dim[0] = {ndim}")));
    }
    let mut dims = [1usize; 3];
    for (a, d) in dims.iter_mut().enumerate() {
        if (a as i16) < ndim {
            let v = r.i16(42 + 2 * a);
            if v <= 0 {
                return Err(Error::format(
                    path,
                    format!("dimension {} has non-positive size {v}", a + 1),
                ));
            }
            *d = v as usize;
        }
    }
    for a in 3..ndim as usize {
        let v = r.i16(42 + 2 * a);
        if v > 1 {
            return Err(Error::format(
                path,
                format!(
                    "{ndim}-D image with dim[{}] = {v}: only 3-D volumes are supported",
                    a + 1
                ),
            ));
        }
    }
    let datatype = r.i16(70);
    let (bytes_per, decode): (usize, fn(&[u8], bool) -> f64) = match datatype {
        2 => (1, |b, _| b[0] as f64),
        256 => (1, |b, _| b[0] as i8 as f64),
        4 => (2, |b, big| if big { i16::from_be_bytes([b[0], b[1]]) } else { i16::from_le_bytes([b[0], b[1]]) } as f64),
        512 => (2, |b, big| if big { u16::from_be_bytes([b[0], b[1]]) } else { u16::from_le_bytes([b[0], b[1]]) } as f64),
        8 => (4, |b, big| {
            let a = [b[0], b[1], b[2], b[3]];
            (if big { i32::from_be_bytes(a) } else { i32::from_le_bytes(a) }) as f64
        }),
        768 => (4, |b, big| {
            let a = [b[0], b[1], b[2], b[3]];
            (if big { u32::from_be_bytes(a) } else { u32::from_le_bytes(a) }) as f64
        }),
        16 => (4, |b, big| {
            let a = [b[0], b[1], b[2], b[3]];
            (if big { f32::from_be_bytes(a) } else { f32::from_le_bytes(a) }) as f64
        }),
        64 => (8, |b, big| {
            let a: [u8; 8] = b[..8].try_into().unwrap();
            if big {
                f64::from_be_bytes(a)
            } else {
                f64::from_le_bytes(a)
            }
        }),
        1024 => (8, |b, big| {
            let a: [u8; 8] = b[..8].try_into().unwrap();
            (if big { i64::from_be_bytes(a) } else { i64::from_le_bytes(a) }) as f64
        }),
        1280 => (8, |b, big| {
            let a: [u8; 8] = b[..8].try_into().unwrap();
            (if big { u64::from_be_bytes(a) } else { u64::from_le_bytes(a) }) as f64
        }),
        other => return Err(Error::format(path, format!("unsupported NIfTI datatype {other}"))),
    };
    let n = dims[0]
        .checked_mul(dims[1])
        .and_then(|v| v.checked_mul(dims[2]));
    let vox_offset = r.f32(108);
    if !(vox_offset.is_finite() && vox_offset >= 0.0) {
        return Err(Error::format(
            path,
            format!("invalid vox_offset {vox_offset}"),
        ));
    }
    let offset = (vox_offset as usize).max(HEADER_SIZE);
    let need = n
        .and_then(|n| n.checked_mul(bytes_per))
        .and_then(|v| v.checked_add(offset));
    let Some(need) = need.filter(|&need| need <= bytes.len()) else {
        return Err(Error::format(
            path,
            format!("truncated: header declares {}×{}×{} voxels of {} bytes after offset {offset}, file has {} bytes", dims[0], dims[1], dims[2], bytes_per, bytes.len()),
        ));
    };
    let n = n.unwrap();
    let _ = need;

    let mut slope = r.f32(112);
    let inter = r.f32(116);
    let mut inter = if inter.is_finite() { inter } else { 0.0 };
    if slope == 0.0 || !slope.is_finite() {
        slope = 1.0;
        inter = 0.0;
    }
    let data: Vec<f32> = bytes[offset..offset + n * bytes_per]
        .chunks_exact(bytes_per)
        .map(|c| (decode(c, big) * slope + inter) as f32)
        .collect();

    let pix = |i: usize| r.f32(76 + 4 * i);
    let geometry = geometry_from_header(&r, dims, [pix(0), pix(1), pix(2), pix(3)], path)?;
    Volume::from_vec(geometry, data)
}

fn geometry_from_header(
    r: &Reader,
    dims: [usize; 3],
    pixdim: [f64; 4],
    path: &Path,
) -> Result<Geometry> {
    let qform_code = r.i16(252);
    let sform_code = r.i16(254);
    // RAS -> LPS: negate the first two world rows.
    let flip = [-1.0, -1.0, 1.0];
    let (spacing, dir, origin) = if sform_code > 0 {
        let row = |o: usize| [r.f32(o), r.f32(o + 4), r.f32(o + 8), r.f32(o + 12)];
        let m = [row(280), row(296), row(312)];
        let mut spacing = [0.0; 3];
        let mut dir = [[0.0; 3]; 3];
        for c in 0..3 {
            let norm = (0..3).map(|rr| m[rr][c] * m[rr][c]).sum::<f64>().sqrt();
            if norm == 0.0 || !norm.is_finite() {
                return Err(Error::format(path, "sform has a zero or invalid column"));
            }
            spacing[c] = norm;
            for rr in 0..3 {
                dir[rr][c] = m[rr][c] / norm;
            }
        }
        (spacing, dir, [m[0][3], m[1][3], m[2][3]])
    } else if qform_code > 0 {
        let (b, c, d) = (r.f32(256), r.f32(260), r.f32(264));
        let a = (1.0 - (b * b + c * c + d * d)).max(0.0).sqrt();
        let qfac = if pixdim[0] < 0.0 { -1.0 } else { 1.0 };
        let rot = [
            [
                a * a + b * b - c * c - d * d,
                2.0 * (b * c - a * d),
                2.0 * (b * d + a * c),
            ],
            [
                2.0 * (b * c + a * d),
                a * a + c * c - b * b - d * d,
                2.0 * (c * d - a * b),
            ],
            [
                2.0 * (b * d - a * c),
                2.0 * (c * d + a * b),
                a * a + d * d - c * c - b * b,
            ],
        ];
        let mut dir = rot;
        for row in dir.iter_mut() {
            row[2] *= qfac;
        }
        (
            [pixdim[1].abs(), pixdim[2].abs(), pixdim[3].abs()],
            dir,
            [r.f32(268), r.f32(272), r.f32(276)],
        )
    } else {
        (
            [pixdim[1].abs(), pixdim[2].abs(), pixdim[3].abs()],
            [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
            [0.0; 3],
        )
    };
    for (a, s) in spacing.iter().enumerate() {
        if !(s.is_finite() && *s > 0.0) {
            return Err(Error::format(
                path,
                format!("voxel spacing along axis {a} is {s}, must be positive"),
            ));
        }
    }
    let mut direction = dir;
    let mut origin = origin;
    for rr in 0..3 {
        origin[rr] *= flip[rr];
        for c in 0..3 {
            direction[rr][c] *= flip[rr];
        }
    }
    Ok(Geometry {
        dims,
        spacing,
        origin,
        direction,
    })
}
