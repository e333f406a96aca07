//! NRRD reader and writer (`.nrrd` attached header, `.nhdr` detached header).
//!
//! A NRRD file is a text header, one `<field>: <desc>` per line, ended by a
//! blank line, followed by the data (or, in a detached header, a `data file`
//! naming it). The first line is the magic `NRRD000X` (X = 1..5). Lines
//! starting with `#` are comments; `<key>:=<value>` lines are free-form
//! metadata and ignored. Field names are matched case-insensitively.
//!
//! Fields used:
//! - `type`: sample type (`uchar`, `short`, `float`, `int16`, …).
//! - `dimension`: number of axes; 3, or 4 with one size-1 non-spatial axis.
//! - `sizes`: samples per axis, fastest axis first (x-fastest, as ctrad stores).
//! - `endian`: `little`/`big`; required for multi-byte binary samples.
//! - `encoding`: `raw`, `gzip`/`gz`, `ascii`/`text`/`txt` (`hex`, `bzip2` unsupported).
//! - `space`: world frame, e.g. `left-posterior-superior` (`LPS`),
//!   `right-anterior-superior` (`RAS`), `left-anterior-superior` (`LAS`),
//!   `scanner-xyz` and `3D-right-handed` (taken as LPS, as ITK does).
//! - `space directions`: per axis the world vector of one voxel step
//!   (`(x,y,z)`, or `none` for a non-spatial axis): spacing is its length,
//!   direction its unit vector.
//! - `space origin`: world position of the centre of the first voxel.
//! - `spacings`: per-axis spacing, used when there are no space directions.
//! - `data file` (detached header): data path, relative to the header's folder.
//! - `line skip`, `byte skip`: lines, then bytes, to skip before the data; for
//!   gzip the byte skip counts decompressed bytes; `byte skip: -1` (raw only)
//!   means the data are the last bytes of the file.
//!
//! Geometry is converted to LPS like the NIfTI reader's.

use super::{read_bounded, read_error, skip_bytes, DataType, ReadLimits};
use crate::error::{Error, Result};
use crate::volume::{Geometry, Volume};
use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::Path;

/// Largest header accepted (a guard against reading a binary file as text).
const MAX_HEADER_BYTES: u64 = 1 << 20;
/// Cosine above which two space directions count as non-orthogonal.
const SHEAR_TOLERANCE: f64 = 1e-3;

/// Read a NRRD file as a float volume, with limits from the environment.
pub fn read(path: &Path) -> Result<Volume<f32>> {
    read_with(path, &ReadLimits::from_env()?)
}

/// Read a NRRD file as a float volume with explicit limits.
pub fn read_with(path: &Path, limits: &ReadLimits) -> Result<Volume<f32>> {
    let (h, data, n, dpath) = voxel_stream(path, limits)?;
    let data = match data {
        Samples::Binary(mut src) => {
            let raw = read_bounded(&mut *src, n * h.dtype.size(), &dpath, "voxel data")?;
            h.dtype.decode(&raw, h.big, 1.0, 0.0)
        }
        Samples::Ascii(mut src) => read_ascii(&mut *src, n, &dpath)?,
    };
    Volume::from_vec(h.geometry, data)
}

/// The grid of a NRRD image and the byte size of its samples (header only).
pub fn read_layout(path: &Path, limits: &ReadLimits) -> Result<(Geometry, usize)> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let fields = read_header(&mut BufReader::new(file), path)?;
    let h = Header::from_fields(&fields, path)?;
    let n = limits.check(path, h.dims)?;
    Ok((h.geometry, n.saturating_mul(h.dtype.size())))
}

/// Decode a NRRD image slice by slice in storage order, as
/// [`read_with`] gives the values, handing `(z, slice)` to `f` until it
/// returns false (the data are read to their end all the same, so gzip's
/// CRC is checked). ASCII data are read whole first.
pub fn for_each_slice(
    path: &Path,
    limits: &ReadLimits,
    mut f: impl FnMut(usize, &[f32]) -> bool,
) -> Result<()> {
    let (h, data, n, dpath) = voxel_stream(path, limits)?;
    let [nx, ny, nz] = h.dims;
    let npix = nx * ny;
    match data {
        Samples::Ascii(mut src) => {
            let all = read_ascii(&mut *src, n, &dpath)?;
            for (z, slice) in all.chunks_exact(npix.max(1)).enumerate().take(nz) {
                if !f(z, slice) {
                    break;
                }
            }
        }
        Samples::Binary(mut src) => {
            super::decode_slices(&mut *src, h.dims, h.dtype, h.big, 1.0, 0.0, &dpath, f)?;
        }
    }
    Ok(())
}

/// Voxel data positioned at the first sample: binary (raw or inflated) or text.
enum Samples {
    Binary(Box<dyn Read>),
    Ascii(Box<dyn BufRead>),
}

/// The header of a NRRD file, its voxel data positioned at the first
/// sample, the number of voxels and the data's path.
fn voxel_stream(
    path: &Path,
    limits: &ReadLimits,
) -> Result<(Header, Samples, usize, std::path::PathBuf)> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut src = BufReader::new(file);
    let fields = read_header(&mut src, path)?;
    let h = Header::from_fields(&fields, path)?;
    let n = limits.check(path, h.dims)?;
    let nbytes = n
        .checked_mul(h.dtype.size())
        .ok_or_else(|| Error::ResourceLimit {
            path: path.to_path_buf(),
            reason: format!("{n} voxels overflow the address space"),
        })?;

    let data_path;
    let (mut src, dpath) = match &h.data_file {
        None => (src, path),
        Some(name) => {
            data_path = path.parent().unwrap_or(Path::new("")).join(name);
            // A device or FIFO (e.g. `data file: /dev/stdin`) could block forever:
            // check before opening, since opening a FIFO blocks too.
            let meta = std::fs::metadata(&data_path).map_err(|e| Error::io(&data_path, e))?;
            if !meta.is_file() {
                return Err(Error::format(
                    path,
                    format!("data file {} is not a regular file", data_path.display()),
                ));
            }
            let f = File::open(&data_path).map_err(|e| Error::io(&data_path, e))?;
            (BufReader::new(f), data_path.as_path())
        }
    };
    if h.byte_skip < 0 {
        if h.encoding != Encoding::Raw {
            return Err(Error::format(
                path,
                "'byte skip: -1' is only allowed with raw encoding",
            ));
        }
        // The data are the last `nbytes` bytes of the file.
        let len = src
            .get_ref()
            .metadata()
            .map_err(|e| Error::io(dpath, e))?
            .len();
        let start = len.checked_sub(nbytes as u64).ok_or_else(|| {
            Error::format(
                dpath,
                format!("truncated: voxel data needs {nbytes} bytes, file has {len}"),
            )
        })?;
        src.seek(SeekFrom::Start(start))
            .map_err(|e| Error::io(dpath, e))?;
    } else {
        for _ in 0..h.line_skip {
            skip_line(&mut src, dpath)?;
        }
    }
    let skip = h.byte_skip.max(0) as u64;
    let dpath = dpath.to_path_buf();
    let data = match h.encoding {
        Encoding::Raw => {
            skip_bytes(&mut src, skip, &dpath)?;
            // Exactly the voxel bytes: trailing bytes are not voxel data.
            Samples::Binary(Box::new(src.take(nbytes as u64)))
        }
        Encoding::Gzip => {
            let mut gz = flate2::bufread::MultiGzDecoder::new(src);
            skip_bytes(&mut gz, skip, &dpath)?;
            Samples::Binary(Box::new(gz))
        }
        Encoding::Ascii => {
            skip_bytes(&mut src, skip, &dpath)?;
            Samples::Ascii(Box::new(src))
        }
    };
    Ok((h, data, n, dpath))
}

/// Header fields (lower-case name -> description), after checking the magic.
fn read_header(src: &mut BufReader<File>, path: &Path) -> Result<HashMap<String, String>> {
    let mut limited = src.take(MAX_HEADER_BYTES);
    let mut fields = HashMap::new();
    let mut line = Vec::new();
    let mut first = true;
    loop {
        line.clear();
        let got = limited
            .read_until(b'\n', &mut line)
            .map_err(|e| Error::io(path, e))?;
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches(['\n', '\r']);
        if first {
            first = false;
            if !text.starts_with("NRRD") {
                return Err(Error::format(
                    path,
                    "not a NRRD file (no 'NRRD000X' magic on the first line)",
                ));
            }
            if !matches!(
                text,
                "NRRD0001" | "NRRD0002" | "NRRD0003" | "NRRD0004" | "NRRD0005"
            ) {
                return Err(Error::format(
                    path,
                    format!("unsupported NRRD version '{text}'"),
                ));
            }
            continue;
        }
        if got == 0 || text.is_empty() {
            break; // end of file (detached header) or the blank line before the data
        }
        if !line.ends_with(b"\n") && limited.limit() == 0 {
            return Err(Error::format(path, "NRRD header longer than 1 MiB"));
        }
        if text.starts_with('#') {
            continue;
        }
        match text.split_once(':') {
            Some((_, v)) if v.starts_with('=') => {} // key:=value metadata
            Some((k, v)) => {
                let key = k.trim().to_ascii_lowercase();
                fields.insert(key, v.trim().to_string());
            }
            None => {
                return Err(Error::format(
                    path,
                    format!("malformed header line '{text}'"),
                ))
            }
        }
    }
    Ok(fields)
}

/// Skip one line of the data file (for `line skip`) without storing it.
fn skip_line(src: &mut BufReader<File>, path: &Path) -> Result<()> {
    loop {
        let buf = src.fill_buf().map_err(|e| Error::io(path, e))?;
        if buf.is_empty() {
            return Err(Error::format(
                path,
                "truncated: data file ends within 'line skip'",
            ));
        }
        match buf.iter().position(|&b| b == b'\n') {
            Some(i) => {
                src.consume(i + 1);
                return Ok(());
            }
            None => {
                let n = buf.len();
                src.consume(n);
            }
        }
    }
}

/// Parse `n` whitespace-separated numbers. Memory grows with the values present.
fn read_ascii(src: &mut dyn BufRead, n: usize, path: &Path) -> Result<Vec<f32>> {
    let mut out = Vec::new();
    let mut token = Vec::new();
    let mut bytes = src.bytes();
    while out.len() < n {
        let b = bytes.next().transpose().map_err(|e| read_error(path, e))?;
        match b {
            Some(c) if !c.is_ascii_whitespace() && c != b',' => {
                if token.len() >= 64 {
                    return Err(Error::format(
                        path,
                        "ASCII data has a token longer than 64 characters",
                    ));
                }
                token.push(c);
            }
            _ => {
                if !token.is_empty() {
                    let s = String::from_utf8_lossy(&token);
                    let v: f64 = s.parse().map_err(|_| {
                        Error::format(path, format!("ASCII data: '{s}' is not a number"))
                    })?;
                    out.push(v as f32);
                    token.clear();
                }
                if b.is_none() {
                    break;
                }
            }
        }
    }
    if out.len() < n {
        return Err(Error::format(
            path,
            format!("truncated: ASCII data has {} of {n} values", out.len()),
        ));
    }
    Ok(out)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Raw,
    Gzip,
    Ascii,
}

/// What the reader needs from the header.
struct Header {
    dtype: DataType,
    dims: [usize; 3],
    big: bool,
    encoding: Encoding,
    geometry: Geometry,
    data_file: Option<String>,
    line_skip: u64,
    byte_skip: i64,
}

impl Header {
    fn from_fields(f: &HashMap<String, String>, path: &Path) -> Result<Header> {
        let bad = |reason: String| Error::format(path, reason);
        let get = |names: &[&str]| names.iter().find_map(|n| f.get(*n)).map(String::as_str);
        let need = |name: &str| {
            get(&[name]).ok_or_else(|| bad(format!("missing required field '{name}'")))
        };

        let type_name = need("type")?;
        let dtype = parse_type(type_name)
            .ok_or_else(|| bad(format!("unknown or unsupported type '{type_name}'")))?;
        let ndim: usize = need("dimension")?
            .parse()
            .map_err(|_| bad(format!("invalid dimension '{}'", f["dimension"])))?;
        if !(ndim == 3 || ndim == 4) {
            return Err(bad(format!(
                "dimension {ndim}: only 3-D volumes (or 4-D with one size-1 axis) are supported"
            )));
        }
        let sizes: Vec<usize> = need("sizes")?
            .split_whitespace()
            .map(|s| s.parse::<usize>())
            .collect::<std::result::Result<_, _>>()
            .map_err(|_| bad(format!("invalid sizes '{}'", f["sizes"])))?;
        if sizes.len() != ndim {
            return Err(bad(format!(
                "sizes has {} entries, dimension is {ndim}",
                sizes.len()
            )));
        }
        let encoding = match need("encoding")?.to_ascii_lowercase().as_str() {
            "raw" => Encoding::Raw,
            "gzip" | "gz" => Encoding::Gzip,
            "ascii" | "text" | "txt" => Encoding::Ascii,
            other => {
                return Err(bad(format!(
                    "unsupported encoding '{other}' (raw, gzip and ascii are supported)"
                )))
            }
        };
        let big = match get(&["endian"]).map(str::to_ascii_lowercase).as_deref() {
            Some("big") => true,
            Some("little") => false,
            None if dtype.size() == 1 || encoding == Encoding::Ascii => false,
            None => {
                return Err(bad(
                    "missing required field 'endian' for multi-byte binary data".into(),
                ))
            }
            Some(other) => return Err(bad(format!("invalid endian '{other}'"))),
        };

        let directions = match get(&["space directions"]) {
            Some(s) => {
                Some(parse_directions(s).map_err(|e| bad(format!("space directions: {e}")))?)
            }
            None => None,
        };
        if let Some(d) = &directions {
            if d.len() != ndim {
                return Err(bad(format!(
                    "space directions has {} entries, dimension is {ndim}",
                    d.len()
                )));
            }
        }
        // The non-spatial axis of a 4-D file: the one without a space direction,
        // else a leading (or trailing) size-1 axis.
        let extra = if ndim == 3 {
            None
        } else {
            let axis = match &directions {
                Some(d) => d.iter().position(Option::is_none),
                None => [0, 3].into_iter().find(|&a| sizes[a] == 1),
            };
            match axis {
                Some(a) if sizes[a] == 1 => Some(a),
                _ => {
                    return Err(bad(format!(
                        "4-D NRRD with sizes {sizes:?}: only a single size-1 \
                         non-spatial axis is supported"
                    )))
                }
            }
        };
        let spatial: Vec<usize> = (0..ndim).filter(|&a| Some(a) != extra).collect();
        let dims = [sizes[spatial[0]], sizes[spatial[1]], sizes[spatial[2]]];

        let space = get(&["space"]).map(|s| s.to_ascii_lowercase());
        // World frames with a time axis (`...-time`) have 4-component vectors: unsupported.
        let (flip_x, flip_y) = match space.as_deref() {
            None | Some("left-posterior-superior" | "lps" | "scanner-xyz" | "3d-right-handed") => {
                (false, false)
            }
            Some("right-anterior-superior" | "ras") => (true, true),
            Some("left-anterior-superior" | "las") => (false, true), // anterior = −posterior
            Some(other) => return Err(bad(format!("unsupported space '{other}'"))),
        };
        if let Some(sd) = get(&["space dimension"]) {
            if sd.trim() != "3" {
                return Err(bad(format!(
                    "space dimension {sd}: only 3-D space is supported"
                )));
            }
        }

        let mut spacing = [1.0; 3];
        let mut direction = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]];
        if let Some(d) = &directions {
            for (c, &a) in spatial.iter().enumerate() {
                let v = d[a]
                    .ok_or_else(|| bad(format!("space direction of axis {} is 'none'", a + 1)))?;
                let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
                if !(norm > 0.0 && norm.is_finite()) {
                    return Err(bad(format!(
                        "space direction of axis {} is zero or not finite",
                        a + 1
                    )));
                }
                spacing[c] = norm;
                for r in 0..3 {
                    direction[r][c] = v[r] / norm;
                }
            }
            for (a, b) in [(0, 1), (0, 2), (1, 2)] {
                let cos: f64 = (0..3).map(|r| direction[r][a] * direction[r][b]).sum();
                if cos.abs() > SHEAR_TOLERANCE {
                    return Err(bad(
                        "space directions are not orthogonal (sheared grid)".into()
                    ));
                }
            }
        } else if let Some(s) = get(&["spacings"]) {
            let v: Vec<f64> = s
                .split_whitespace()
                .map(|t| t.parse::<f64>())
                .collect::<std::result::Result<_, _>>()
                .map_err(|_| bad(format!("invalid spacings '{s}'")))?;
            if v.len() != ndim {
                return Err(bad(format!(
                    "spacings has {} entries, dimension is {ndim}",
                    v.len()
                )));
            }
            for (c, &a) in spatial.iter().enumerate() {
                // NaN means "unknown": keep 1 mm.
                if v[a].is_nan() {
                    continue;
                }
                if !(v[a] > 0.0 && v[a].is_finite()) {
                    return Err(bad(format!(
                        "spacing of axis {} is {}, must be positive",
                        a + 1,
                        v[a]
                    )));
                }
                spacing[c] = v[a];
            }
        }
        let mut origin = [0.0; 3];
        if let Some(s) = get(&["space origin"]) {
            match parse_directions(s)
                .map_err(|e| bad(format!("space origin: {e}")))?
                .as_slice()
            {
                [Some(o)] if o.iter().all(|v| v.is_finite()) => origin = *o,
                _ => return Err(bad(format!("invalid space origin '{s}'"))),
            }
        }
        for (r, flip) in [flip_x, flip_y].into_iter().enumerate() {
            if flip {
                origin[r] = -origin[r];
                direction[r].iter_mut().for_each(|v| *v = -*v);
            }
        }

        let data_file = get(&["data file", "datafile"]).map(str::to_string);
        if let Some(df) = &data_file {
            if df.starts_with("LIST") || df.contains('%') {
                return Err(bad(format!(
                    "multi-file 'data file: {df}' is not supported"
                )));
            }
        }
        let int = |names: &[&str]| -> Result<i64> {
            get(names).map_or(Ok(0), |s| {
                s.trim()
                    .parse()
                    .map_err(|_| bad(format!("invalid {} '{s}'", names[0])))
            })
        };
        let line_skip = int(&["line skip", "lineskip"])?;
        let byte_skip = int(&["byte skip", "byteskip"])?;
        if line_skip < 0 || byte_skip < -1 {
            return Err(bad("line skip must be >= 0 and byte skip >= -1".into()));
        }
        Ok(Header {
            dtype,
            dims,
            big,
            encoding,
            geometry: Geometry {
                dims,
                spacing,
                origin,
                direction,
            },
            data_file,
            line_skip: line_skip as u64,
            byte_skip,
        })
    }
}

/// NRRD type names (all spellings of the format definition).
fn parse_type(s: &str) -> Option<DataType> {
    let s = s
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_ascii_lowercase();
    Some(match s.as_str() {
        "signed char" | "int8" | "int8_t" => DataType::I8,
        "uchar" | "unsigned char" | "uint8" | "uint8_t" => DataType::U8,
        "short" | "short int" | "signed short" | "signed short int" | "int16" | "int16_t" => {
            DataType::I16
        }
        "ushort" | "unsigned short" | "unsigned short int" | "uint16" | "uint16_t" => DataType::U16,
        "int" | "signed int" | "int32" | "int32_t" => DataType::I32,
        "uint" | "unsigned int" | "uint32" | "uint32_t" => DataType::U32,
        "longlong"
        | "long long"
        | "long long int"
        | "signed long long"
        | "signed long long int"
        | "int64"
        | "int64_t" => DataType::I64,
        "ulonglong" | "unsigned long long" | "unsigned long long int" | "uint64" | "uint64_t" => {
            DataType::U64
        }
        "float" => DataType::F32,
        "double" => DataType::F64,
        _ => return None,
    })
}

/// The type name written for a sample type.
fn type_name(dtype: DataType) -> &'static str {
    match dtype {
        DataType::I8 => "signed char",
        DataType::U8 => "unsigned char",
        DataType::I16 => "short",
        DataType::U16 => "unsigned short",
        DataType::I32 => "int",
        DataType::U32 => "unsigned int",
        DataType::I64 => "long long int",
        DataType::U64 => "unsigned long long int",
        DataType::F32 => "float",
        DataType::F64 => "double",
    }
}

/// Parse a list of `(x,y,z)` vectors and `none`s, e.g. `(1,0,0) none (0,0,2)`.
fn parse_directions(s: &str) -> std::result::Result<Vec<Option<[f64; 3]>>, String> {
    let mut out = Vec::new();
    let mut rest = s.trim();
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix("none") {
            out.push(None);
            rest = r.trim_start();
        } else if let Some(r) = rest.strip_prefix('(') {
            let end = r
                .find(')')
                .ok_or_else(|| format!("unclosed '(' in '{s}'"))?;
            let v: Vec<f64> = r[..end]
                .split(',')
                .map(|t| t.trim().parse::<f64>())
                .collect::<std::result::Result<_, _>>()
                .map_err(|_| format!("invalid vector '({})'", &r[..end]))?;
            let v: [f64; 3] = v
                .try_into()
                .map_err(|_| format!("vector '({})' does not have 3 components", &r[..end]))?;
            out.push(Some(v));
            rest = r[end + 1..].trim_start();
        } else {
            return Err(format!("cannot parse '{rest}'"));
        }
    }
    Ok(out)
}

/// Write `vol` as NRRD (LPS space, space directions and origin), samples as
/// `dtype` (integers rounded; out-of-range values are an error), gzip-encoded
/// when `gzip`. A path ending in `.nhdr` gets a detached header with the data
/// in `<stem>.raw` (or `<stem>.raw.gz`) beside it. Every file is written atomically.
pub fn write(path: &Path, vol: &Volume<f32>, dtype: DataType, gzip: bool) -> Result<()> {
    let g = &vol.geometry;
    let data = dtype.encode(&vol.data, path)?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let detached = name.to_ascii_lowercase().ends_with(".nhdr").then(|| {
        let stem = &name[..name.len() - 5];
        format!("{stem}.raw{}", if gzip { ".gz" } else { "" })
    });

    let vec = |v: [f64; 3]| format!("({},{},{})", v[0], v[1], v[2]);
    let col = |c: usize| vec([0, 1, 2].map(|r| g.direction[r][c] * g.spacing[c]));
    let mut header = format!(
        "NRRD0004\n# Complete NRRD file format specification at:\n\
         # http://teem.sourceforge.net/nrrd/format.html\n# written by ctrad {}\n\
         type: {}\ndimension: 3\nspace: left-posterior-superior\n\
         sizes: {} {} {}\nspace directions: {} {} {}\nkinds: domain domain domain\n\
         endian: little\nencoding: {}\nspace origin: {}\n",
        crate::VERSION,
        type_name(dtype),
        g.dims[0],
        g.dims[1],
        g.dims[2],
        col(0),
        col(1),
        col(2),
        if gzip { "gzip" } else { "raw" },
        vec(g.origin),
    );
    let write_data = |w: &mut dyn Write| -> std::io::Result<()> {
        if gzip {
            let mut e = flate2::write::GzEncoder::new(w, flate2::Compression::default());
            e.write_all(&data)?;
            e.finish()?;
            Ok(())
        } else {
            w.write_all(&data)
        }
    };
    match detached {
        Some(data_name) => {
            super::atomic::write_atomic(&path.with_file_name(&data_name), write_data)?;
            header.push_str(&format!("data file: {data_name}\n"));
            super::atomic::write_atomic(path, |w| w.write_all(header.as_bytes()))
        }
        None => {
            header.push('\n');
            super::atomic::write_atomic(path, |w| {
                w.write_all(header.as_bytes())?;
                write_data(w)
            })
        }
    }
}
