//! Convolutional image filters exactly as IBSI chapter 2 defines them
//! ("Standardised convolutional filtering for radiomics", arXiv:2006.05470).
//!
//! The filter stage sits between preprocessing and features: the interpolated
//! (and rounded) image gives one *response map* per configured filter, and the
//! intensity families are computed from each map inside the ROI, whose
//! re-segmentation was decided on the unfiltered intensities.
//!
//! | family | module | IBSI 2 section |
//! |---|---|---|
//! | mean | [`mean`] | 2.1 |
//! | Laplacian of Gaussian | [`log`] | 2.2 |
//! | Laws kernels | [`laws`] | 2.3 |
//! | Gabor | [`gabor`] | 2.4 |
//! | separable wavelets | [`wavelet`] | 2.5 |
//! | Simoncelli wavelet | [`simoncelli`] | 2.6 |
//! | Riesz transforms | [`riesz`] | 2.7 |
//!
//! PyRadiomics' image types (`compat: pyradiomics`) are in [`image_types`],
//! with ITK's recursive-Gaussian LoG in [`recursive_gaussian`] and
//! PyWavelets' stationary transform in [`swt`].
//!
//! Filters work on `x, y, z` grid axes; *2D* filters act in each axial (x–y)
//! slice on its own. Lengths (σ, λ) are given in mm and converted with the
//! voxel spacing. A parameter file lists filters under `filters:`:
//!
//! ```yaml
//! filters:
//!   - type: log            # mean | log | laws | gabor | wavelet | simoncelli | riesz
//!     sigma: 1.5           # mm
//!     truncate: 4          # kernel radius in σ
//!     boundary: mirror     # zero | nearest | periodic | mirror (default mirror)
//!     dims: 3D             # 2D (slice by slice) | 3D (default 3D)
//!     binWidth: 5          # optional: discretisation of this response map
//! ```

pub mod boundary;
pub mod gabor;
pub mod image_types;
pub mod laws;
pub mod log;
pub mod mean;
pub mod recursive_gaussian;
pub mod riesz;
pub mod rotation;
pub mod simoncelli;
pub mod swt;
pub mod wavelet;

pub use boundary::Boundary;

use crate::error::{Error, Result};
use crate::preprocess::discretise::Discretisation;
use crate::volume::Volume;
use serde_norway::{Mapping, Value};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Whether a filter acts on each axial slice (2D) or on the volume (3D).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterDims {
    D2,
    D3,
}

impl FilterDims {
    /// The grid axes a filter of this dimensionality acts along.
    pub fn axes(self) -> &'static [usize] {
        match self {
            FilterDims::D2 => &[0, 1],
            FilterDims::D3 => &[0, 1, 2],
        }
    }
}

/// How responses of rotated (or otherwise varied) kernels are combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pooling {
    Max,
    Average,
    Min,
}

impl Pooling {
    /// Parse `max`, `average` (or `mean`) or `min`.
    pub fn parse(s: &str) -> Option<Pooling> {
        Some(match s.to_ascii_lowercase().as_str() {
            "max" => Pooling::Max,
            "average" | "mean" | "avg" => Pooling::Average,
            "min" => Pooling::Min,
            _ => return None,
        })
    }

    /// Short name used in column prefixes.
    pub fn name(self) -> &'static str {
        match self {
            Pooling::Max => "max",
            Pooling::Average => "avg",
            Pooling::Min => "min",
        }
    }
}

/// Pools responses one at a time, so that no more than one response besides
/// the running result is ever held in memory.
#[derive(Debug)]
pub struct Pool {
    pooling: Pooling,
    acc: Option<Vec<f32>>,
    n: usize,
}

impl Pool {
    pub fn new(pooling: Pooling) -> Pool {
        Pool {
            pooling,
            acc: None,
            n: 0,
        }
    }

    /// Add one response.
    pub fn add(&mut self, r: Vec<f32>) {
        self.n += 1;
        match &mut self.acc {
            None => self.acc = Some(r),
            Some(acc) => match self.pooling {
                Pooling::Max => acc.iter_mut().zip(&r).for_each(|(a, &b)| *a = a.max(b)),
                Pooling::Min => acc.iter_mut().zip(&r).for_each(|(a, &b)| *a = a.min(b)),
                Pooling::Average => acc.iter_mut().zip(&r).for_each(|(a, &b)| *a += b),
            },
        }
    }

    /// The pooled response (empty when nothing was added).
    pub fn finish(self) -> Vec<f32> {
        let mut acc = self.acc.unwrap_or_default();
        if self.pooling == Pooling::Average && self.n > 1 {
            let k = 1.0 / self.n as f64;
            acc.iter_mut().for_each(|a| *a = (*a as f64 * k) as f32);
        }
        acc
    }
}

/// Settings every filter has.
#[derive(Debug, Clone, PartialEq)]
pub struct Common {
    pub boundary: Boundary,
    pub dims: FilterDims,
}

/// One configured filter.
#[derive(Debug, Clone, PartialEq)]
pub enum FilterKind {
    Mean(mean::Config),
    Log(log::Config),
    Laws(laws::Config),
    Gabor(gabor::Config),
    Wavelet(wavelet::Config),
    Simoncelli(simoncelli::Config),
    Riesz(riesz::Config),
}

/// A filter as configured in a parameter file.
#[derive(Debug, Clone, PartialEq)]
pub struct FilterSpec {
    pub kind: FilterKind,
    pub common: Common,
    /// Discretisation of this response map (else the file's `setting:` one).
    pub discretisation: Option<Discretisation>,
    /// Column prefix, e.g. `log_s1.5mm_3D_mirror`.
    pub name: String,
}

impl FilterSpec {
    /// The response map of `image`.
    pub fn apply(&self, image: &Volume<f32>) -> Result<Volume<f32>> {
        let c = &self.common;
        match &self.kind {
            FilterKind::Mean(f) => f.apply(c, image),
            FilterKind::Log(f) => f.apply(c, image),
            FilterKind::Laws(f) => f.apply(c, image),
            FilterKind::Gabor(f) => f.apply(c, image),
            FilterKind::Wavelet(f) => f.apply(c, image),
            FilterKind::Simoncelli(f) => f.apply(c, image),
            FilterKind::Riesz(f) => f.apply(c, image),
        }
    }

    /// Voxels per axis beyond which input does not reach an output voxel, or
    /// `None` when every output voxel depends on the whole image (Fourier-domain
    /// filters). Filtering a crop that extends this far past the ROI (or reaches
    /// the image's edge) gives the same values inside the ROI.
    pub fn margin(&self, spacing: [f64; 3]) -> Option<[usize; 3]> {
        let c = &self.common;
        let m = match &self.kind {
            FilterKind::Mean(f) => f.margin(c, spacing),
            FilterKind::Log(f) => f.margin(c, spacing),
            FilterKind::Laws(f) => f.margin(c, spacing),
            FilterKind::Gabor(f) => f.margin(c, spacing),
            FilterKind::Wavelet(f) => f.margin(c, spacing),
            FilterKind::Simoncelli(f) => f.margin(c, spacing),
            FilterKind::Riesz(f) => f.margin(c, spacing),
        }?;
        // 2D filters never read other slices.
        Some(match c.dims {
            FilterDims::D2 => [m[0], m[1], 0],
            FilterDims::D3 => m,
        })
    }
}

/// Parse the `filters:` list of a parameter file.
pub fn parse_filters(v: &Value, path: &Path) -> Result<Vec<FilterSpec>> {
    let list = match v {
        Value::Null => return Ok(Vec::new()),
        Value::Sequence(s) => s,
        _ => {
            return Err(Error::params(
                path,
                "'filters' must be a list of filter mappings",
            ))
        }
    };
    let mut out: Vec<FilterSpec> = Vec::new();
    for (i, item) in list.iter().enumerate() {
        let Value::Mapping(m) = item else {
            return Err(Error::params(
                path,
                format!("filters[{i}] must be a mapping with a 'type'"),
            ));
        };
        let mut keys = Keys::new(m, path, format!("filters[{i}]"));
        let ty = keys
            .str("type")?
            .ok_or_else(|| {
                keys.err(
                    "type",
                    "is missing (mean, log, laws, gabor, wavelet, simoncelli or riesz)",
                )
            })?
            .to_ascii_lowercase();
        keys.context = format!("filters[{i}] ({ty})");
        let boundary = match keys.str("boundary")? {
            None => Boundary::Mirror,
            Some(s) => Boundary::parse(&s).ok_or_else(|| {
                keys.err(
                    "boundary",
                    &format!("unknown boundary condition '{s}' (zero, nearest, periodic, mirror)"),
                )
            })?,
        };
        let dims = match keys.str("dims")?.map(|s| s.to_ascii_uppercase()).as_deref() {
            None | Some("3D") => FilterDims::D3,
            Some("2D") => FilterDims::D2,
            Some(s) => return Err(keys.err("dims", &format!("must be 2D or 3D, got '{s}'"))),
        };
        let discretisation = match (keys.f64("binWidth")?, keys.f64("binCount")?) {
            (Some(_), Some(_)) => {
                return Err(keys.err("binWidth", "give either 'binWidth' or 'binCount', not both"))
            }
            (Some(w), None) if w > 0.0 => Some(Discretisation::FixedBinSize {
                width: w,
                min: None,
            }),
            (Some(w), None) => {
                return Err(keys.err("binWidth", &format!("must be positive, got {w}")))
            }
            (None, Some(n))
                if n >= 1.0
                    && n.fract() == 0.0
                    && n <= crate::preprocess::discretise::MAX_GREY_LEVELS as f64 =>
            {
                Some(Discretisation::FixedBinNumber { bins: n as u32 })
            }
            (None, Some(n)) => {
                return Err(keys.err(
                    "binCount",
                    &format!(
                        "must be a whole number from 1 to {}, got {n}",
                        crate::preprocess::discretise::MAX_GREY_LEVELS
                    ),
                ))
            }
            (None, None) => None,
        };
        let custom_name = keys.str("name")?;
        let common = Common { boundary, dims };
        let kind = match ty.as_str() {
            "mean" => FilterKind::Mean(mean::Config::parse(&mut keys, &common)?),
            "log" | "laplacian_of_gaussian" => {
                FilterKind::Log(log::Config::parse(&mut keys, &common)?)
            }
            "laws" => FilterKind::Laws(laws::Config::parse(&mut keys, &common)?),
            "gabor" => FilterKind::Gabor(gabor::Config::parse(&mut keys, &common)?),
            "wavelet" => FilterKind::Wavelet(wavelet::Config::parse(&mut keys, &common)?),
            "simoncelli" => FilterKind::Simoncelli(simoncelli::Config::parse(&mut keys, &common)?),
            "riesz" => FilterKind::Riesz(riesz::Config::parse(&mut keys, &common)?),
            other => {
                return Err(keys.err(
                    "type",
                    &format!(
                    "unknown filter '{other}' (mean, log, laws, gabor, wavelet, simoncelli, riesz)"
                ),
                ))
            }
        };
        keys.finish()?;
        let name = match custom_name {
            Some(n) => {
                if n.is_empty()
                    || !n
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
                {
                    return Err(Error::params(
                        path,
                        format!("filters[{i}]: 'name' must be letters, digits, '.', '_' or '-'"),
                    ));
                }
                n
            }
            None => {
                let family = match &kind {
                    FilterKind::Mean(f) => f.name(),
                    FilterKind::Log(f) => f.name(),
                    FilterKind::Laws(f) => f.name(),
                    FilterKind::Gabor(f) => f.name(),
                    FilterKind::Wavelet(f) => f.name(),
                    FilterKind::Simoncelli(f) => f.name(),
                    FilterKind::Riesz(f) => f.name(),
                };
                let d = match dims {
                    FilterDims::D2 => "2D",
                    FilterDims::D3 => "3D",
                };
                format!("{family}_{d}_{}", boundary.name())
            }
        };
        if out.iter().any(|f| f.name == name) {
            return Err(Error::params(
                path,
                format!("filters[{i}]: two filters are both named '{name}' (give one a 'name')"),
            ));
        }
        out.push(FilterSpec {
            kind,
            common,
            discretisation,
            name,
        });
    }
    Ok(out)
}

/// The keys of one filter mapping: typed getters that remember what was read,
/// so that [`Keys::finish`] can name any key nobody asked for.
pub struct Keys<'a> {
    map: &'a Mapping,
    used: BTreeSet<String>,
    path: PathBuf,
    /// Where in the file, e.g. `filters[2] (log)`.
    pub context: String,
}

impl<'a> Keys<'a> {
    pub fn new(map: &'a Mapping, path: &Path, context: String) -> Keys<'a> {
        Keys {
            map,
            used: BTreeSet::new(),
            path: path.to_path_buf(),
            context,
        }
    }

    /// An error about `key`, naming the file and the filter.
    /// When `key` was not given but a key spelled almost like it was, the
    /// error names that one too (a typo is the likely cause).
    pub fn err(&self, key: &str, reason: &str) -> Error {
        let given = |k: &Value| k.as_str().map(str::to_string);
        let near = if self.map.get(key).is_none() {
            self.map.keys().filter_map(given).find(|k| {
                k != key && edit_distance(&k.to_ascii_lowercase(), &key.to_ascii_lowercase()) <= 2
            })
        } else {
            None
        };
        let hint = near.map_or(String::new(), |k| {
            format!(" (the file has '{k}': misspelt?)")
        });
        Error::params(
            &self.path,
            format!("{}: '{key}' {reason}{hint}", self.context),
        )
    }

    fn get(&mut self, key: &str) -> Option<&'a Value> {
        self.used.insert(key.to_string());
        self.map.get(key).filter(|v| !v.is_null())
    }

    /// A finite number.
    pub fn f64(&mut self, key: &str) -> Result<Option<f64>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => number(v)
                .map(Some)
                .ok_or_else(|| self.err(key, "must be a number")),
        }
    }

    /// A non-negative whole number.
    pub fn usize(&mut self, key: &str) -> Result<Option<usize>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v
                .as_u64()
                .map(|n| Some(n as usize))
                .ok_or_else(|| self.err(key, "must be a non-negative whole number")),
        }
    }

    /// A string (numbers are accepted and written as text).
    pub fn str(&mut self, key: &str) -> Result<Option<String>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(_) => Err(self.err(key, "must be a string")),
        }
    }

    /// `true` or `false`.
    pub fn bool(&mut self, key: &str) -> Result<Option<bool>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v
                .as_bool()
                .map(Some)
                .ok_or_else(|| self.err(key, "must be true or false")),
        }
    }

    /// One number or a list of numbers.
    pub fn f64_list(&mut self, key: &str) -> Result<Option<Vec<f64>>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Sequence(s)) => s
                .iter()
                .map(|v| number(v).ok_or_else(|| self.err(key, "must be a list of numbers")))
                .collect::<Result<Vec<_>>>()
                .map(Some),
            Some(v) => number(v)
                .map(|x| Some(vec![x]))
                .ok_or_else(|| self.err(key, "must be a number or a list of numbers")),
        }
    }

    /// Every key of the mapping must have been read.
    pub fn finish(&self) -> Result<()> {
        for k in self.map.keys() {
            let name = match k {
                Value::String(s) => s.clone(),
                other => format!("{other:?}"),
            };
            if !self.used.contains(&name) {
                return Err(Error::params(
                    &self.path,
                    format!("{}: unknown key '{name}'", self.context),
                ));
            }
        }
        Ok(())
    }
}

/// Levenshtein distance between two short strings.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, &cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// A YAML number, also written as a fraction or multiple of π (`pi/8`, `5pi/4`,
/// `3/2`), as filter settings often are.
fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(_) => v.as_f64().filter(|x| x.is_finite()),
        Value::String(s) => parse_expression(s),
        _ => None,
    }
}

/// `a`, `a/b`, `api`, `api/b`, `pi/b`, each optionally negated (spaces and `*` allowed).
fn parse_expression(s: &str) -> Option<f64> {
    let s: String = s
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '*')
        .collect();
    if let Some(rest) = s.strip_prefix('-') {
        return parse_expression(rest).map(|x| -x);
    }
    let (num, den) = match s.split_once('/') {
        Some((a, b)) => (a.to_string(), b.parse::<f64>().ok()?),
        None => (s.clone(), 1.0),
    };
    let value = if let Some(k) = num.strip_suffix("pi") {
        let k = if k.is_empty() {
            1.0
        } else {
            k.parse::<f64>().ok()?
        };
        k * std::f64::consts::PI
    } else {
        num.parse::<f64>().ok()?
    };
    let x = value / den;
    x.is_finite().then_some(x)
}

/// Compact number for column names: `1.5`, `3`, `0.25`.
pub fn fmt_num(x: f64) -> String {
    let s = format!("{x:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

/// A volume with new data on the same grid.
pub fn with_data(image: &Volume<f32>, data: Vec<f32>) -> Volume<f32> {
    Volume {
        geometry: image.geometry.clone(),
        data,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expressions_with_pi() {
        let pi = std::f64::consts::PI;
        assert_eq!(parse_expression("pi/8"), Some(pi / 8.0));
        assert_eq!(parse_expression("5pi/4"), Some(5.0 * pi / 4.0));
        assert_eq!(parse_expression("3/2"), Some(1.5));
        assert_eq!(parse_expression("2"), Some(2.0));
        assert_eq!(parse_expression("x"), None);
        assert_eq!(parse_expression("-pi/3"), Some(-pi / 3.0));
        assert_eq!(parse_expression("-1.5"), Some(-1.5));
    }

    #[test]
    fn a_misspelt_required_key_is_named() {
        assert_eq!(edit_distance("supportt", "support"), 1);
        assert!(edit_distance("sigma", "lambda") > 2);
        let v: Value = serde_norway::from_str("- {type: mean, Suport: 3}").unwrap();
        let e = parse_filters(&v, Path::new("p.yaml"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("'support' is missing") && e.contains("Suport"),
            "{e}"
        );
    }

    #[test]
    fn pooling_keeps_one_running_result() {
        let mut p = Pool::new(Pooling::Average);
        p.add(vec![1.0, 4.0]);
        p.add(vec![3.0, 0.0]);
        assert_eq!(p.finish(), vec![2.0, 2.0]);
        let mut p = Pool::new(Pooling::Max);
        p.add(vec![1.0, 4.0]);
        p.add(vec![3.0, 0.0]);
        assert_eq!(p.finish(), vec![3.0, 4.0]);
    }

    #[test]
    fn unknown_keys_and_bad_values_are_named() {
        let p = Path::new("p.yaml");
        let v: Value = serde_norway::from_str("- {type: mean, support: 5, sigmaa: 2}").unwrap();
        let e = parse_filters(&v, p).unwrap_err().to_string();
        assert!(e.contains("sigmaa") && e.contains("filters[0]"), "{e}");
        let v: Value = serde_norway::from_str("- {type: wobble}").unwrap();
        let e = parse_filters(&v, p).unwrap_err().to_string();
        assert!(e.contains("wobble"), "{e}");
        let v: Value =
            serde_norway::from_str("- {type: mean, support: 5, boundary: sideways}").unwrap();
        let e = parse_filters(&v, p).unwrap_err().to_string();
        assert!(e.contains("boundary") && e.contains("sideways"), "{e}");
    }
}
