//! PyRadiomics' built-in image types (`imageType:` of a PyRadiomics
//! parameter file), each computed as PyRadiomics 3.1 computes it, over the
//! ROI's bounding box only.
//!
//! | image type | names | computation |
//! |---|---|---|
//! | `Original` | `original` | the image |
//! | `LoG` | `log-sigma-<σ>-mm-3D` | ITK's Laplacian of recursive Gaussians ([`super::recursive_gaussian`]) |
//! | `Wavelet` | `wavelet-LLH` … `wavelet-LLL` | PyWavelets' `swtn` ([`super::swt`]) |
//! | `Square` | `square` | `(x / √m)²`, `m = max |x|` over the image |
//! | `SquareRoot` | `squareroot` | `sign(x) · √(|x| · m)` |
//! | `Logarithm` | `logarithm` | `sign(x) · ln(|x| + 1) · m / ln(m + 1)` |
//! | `Exponential` | `exponential` | `exp(x · ln(m) / m)` |
//! | `Gradient` | `gradient` | ITK's gradient magnitude: central differences (÷ spacing unless `gradientUseSpacing: false`), edges repeated |
//!
//! `m` is taken over the whole image PyRadiomics filters (the full image, or
//! the resampled crop). Square … Exponential are float64, as PyRadiomics'
//! numpy arrays; LoG, Wavelet and Gradient are float32 like the SimpleITK and
//! PyWavelets results of a float32 image.
//!
//! The LoG is skipped (no columns), as PyRadiomics skips it, when an image
//! axis has fewer than 4 voxels, and a σ when an axis is shorter than
//! `⌈σ / spacing⌉ + 1` voxels or σ ≤ 0.

use super::{recursive_gaussian, swt};
use crate::error::{Error, Result};
use crate::volume::Volume;

/// One PyRadiomics image type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageTypeKind {
    Original,
    LoG,
    Wavelet,
    Square,
    SquareRoot,
    Logarithm,
    Exponential,
    Gradient,
}

impl ImageTypeKind {
    /// The kind of PyRadiomics' image type name (`imageType:` key).
    pub fn parse(name: &str) -> Option<ImageTypeKind> {
        Some(match name {
            "Original" => ImageTypeKind::Original,
            "LoG" => ImageTypeKind::LoG,
            "Wavelet" => ImageTypeKind::Wavelet,
            "Square" => ImageTypeKind::Square,
            "SquareRoot" => ImageTypeKind::SquareRoot,
            "Logarithm" => ImageTypeKind::Logarithm,
            "Exponential" => ImageTypeKind::Exponential,
            "Gradient" => ImageTypeKind::Gradient,
            _ => return None,
        })
    }
}

/// A σ of the LoG, with its text as Python's `str` writes it (the column
/// name keeps it: `sigma: 1` gives `log-sigma-1-mm-3D`, `1.0` gives `1-0`).
#[derive(Debug, Clone, PartialEq)]
pub struct Sigma {
    pub mm: f64,
    pub text: String,
}

/// The settings the image types read (PyRadiomics' names in brackets).
#[derive(Debug, Clone, PartialEq)]
pub struct ImageTypeSettings {
    /// `sigma`: LoG widths in mm.
    pub sigma: Vec<Sigma>,
    /// `wavelet`: PyWavelets name (default `coif1`).
    pub wavelet: String,
    /// `start_level` (default 0).
    pub start_level: usize,
    /// `level` (default 1).
    pub level: usize,
    /// `gradientUseSpacing` (default true).
    pub gradient_use_spacing: bool,
    /// `force2D` with `force2Ddimension`: the grid axis the wavelet leaves
    /// out (PyRadiomics' dimension 0 is z).
    pub force_2d_axis: Option<usize>,
}

impl Default for ImageTypeSettings {
    fn default() -> Self {
        ImageTypeSettings {
            sigma: Vec::new(),
            wavelet: "coif1".into(),
            start_level: 0,
            level: 1,
            gradient_use_spacing: true,
            force_2d_axis: None,
        }
    }
}

/// The decomposition filters of a wavelet PyRadiomics users name, or an
/// error naming the ones ctrad has.
pub fn wavelet_filters(name: &str) -> Result<(Vec<f32>, Vec<f32>)> {
    super::wavelet::decomposition_filters_f32(name).ok_or_else(|| {
        Error::Invalid(format!(
            "'wavelet: {name}' is not supported (haar, db1–db20, sym2–sym20, coif1–coif5; \
             PyWavelets' biorthogonal, reverse biorthogonal and dmey wavelets are not)"
        ))
    })
}

/// The derived images of one image type over the box `lo..=hi` of `image`
/// (the whole image PyRadiomics filters), in PyRadiomics' order, as (image
/// type name, values over the box, x fastest).
pub fn responses(
    kind: ImageTypeKind,
    s: &ImageTypeSettings,
    image: &Volume<f32>,
    lo: [usize; 3],
    hi: [usize; 3],
) -> Result<Vec<(String, Vec<f64>)>> {
    let in_box = |v: &Volume<f32>| -> Vec<f64> { box_values(v, lo, hi, f64::from) };
    let dims = image.geometry.dims;
    let spacing = image.geometry.spacing;
    Ok(match kind {
        ImageTypeKind::Original => vec![("original".into(), in_box(image))],
        ImageTypeKind::LoG => {
            if dims.iter().any(|&d| d < 4) {
                return Ok(Vec::new());
            }
            let mut out = Vec::new();
            for sigma in &s.sigma {
                let fits = (0..3).all(|a| dims[a] as f64 >= (sigma.mm / spacing[a]).ceil() + 1.0);
                if sigma.mm <= 0.0 || !fits {
                    continue;
                }
                let m = recursive_gaussian::margin(sigma.mm, spacing);
                let (blo, bhi) = grown(lo, hi, m, dims);
                let block = image.crop(blo, bhi);
                let r = recursive_gaussian::laplacian(&block, sigma.mm);
                let rel = |a: usize| (lo[a] - blo[a], hi[a] - blo[a]);
                let (l, h) = (
                    [rel(0).0, rel(1).0, rel(2).0],
                    [rel(0).1, rel(1).1, rel(2).1],
                );
                out.push((
                    format!("log-sigma-{}-mm-3D", sigma.text.replace('.', "-")),
                    box_values(&r, l, h, f64::from),
                ));
            }
            out
        }
        ImageTypeKind::Wavelet => {
            let (dec_lo, dec_hi) = wavelet_filters(&s.wavelet)?;
            let axes: Vec<usize> = (0..3).filter(|&a| Some(a) != s.force_2d_axis).collect();
            swt::subbands(
                image,
                lo,
                hi,
                (&dec_lo, &dec_hi),
                &axes,
                s.start_level,
                s.level,
            )
            .into_iter()
            .map(|(n, v)| (n, v.into_iter().map(f64::from).collect()))
            .collect()
        }
        ImageTypeKind::Square
        | ImageTypeKind::SquareRoot
        | ImageTypeKind::Logarithm
        | ImageTypeKind::Exponential => {
            let m = image
                .data
                .iter()
                .fold(0.0f64, |m, &v| m.max(f64::from(v).abs()));
            let (name, values) = match kind {
                ImageTypeKind::Square => {
                    let c = 1.0 / m.sqrt();
                    (
                        "square",
                        box_values(image, lo, hi, |x| (c * f64::from(x)).powi(2)),
                    )
                }
                ImageTypeKind::SquareRoot => (
                    "squareroot",
                    box_values(image, lo, hi, |x| {
                        let x = f64::from(x);
                        if x > 0.0 {
                            (x * m).sqrt()
                        } else if x < 0.0 {
                            -(-x * m).sqrt()
                        } else {
                            x
                        }
                    }),
                ),
                ImageTypeKind::Logarithm => {
                    let top = (m + 1.0).ln();
                    (
                        "logarithm",
                        box_values(image, lo, hi, |x| {
                            let x = f64::from(x);
                            let l = if x > 0.0 {
                                (x + 1.0).ln()
                            } else if x < 0.0 {
                                -(-(x - 1.0)).ln()
                            } else {
                                x
                            };
                            l * (m / top)
                        }),
                    )
                }
                _ => {
                    let c = m.ln() / m;
                    (
                        "exponential",
                        box_values(image, lo, hi, |x| (c * f64::from(x)).exp()),
                    )
                }
            };
            vec![(name.into(), values)]
        }
        ImageTypeKind::Gradient => vec![(
            "gradient".into(),
            gradient(image, lo, hi, s.gradient_use_spacing),
        )],
    })
}

/// The box `lo..=hi` grown by `m` voxels per axis, clamped to `dims`.
fn grown(
    lo: [usize; 3],
    hi: [usize; 3],
    m: [usize; 3],
    dims: [usize; 3],
) -> ([usize; 3], [usize; 3]) {
    (
        std::array::from_fn(|a| lo[a].saturating_sub(m[a])),
        std::array::from_fn(|a| (hi[a] + m[a]).min(dims[a] - 1)),
    )
}

/// `f` of every voxel of the box `lo..=hi`, x fastest.
fn box_values(v: &Volume<f32>, lo: [usize; 3], hi: [usize; 3], f: impl Fn(f32) -> f64) -> Vec<f64> {
    let mut out = Vec::with_capacity((0..3).map(|a| hi[a] - lo[a] + 1).product());
    for z in lo[2]..=hi[2] {
        for y in lo[1]..=hi[1] {
            let row = v.geometry.index(lo[0], y, z);
            out.extend(v.data[row..=row + hi[0] - lo[0]].iter().map(|&x| f(x)));
        }
    }
    out
}

/// ITK's `GradientMagnitudeImageFilter` over the box: per axis
/// `g = (0.5/s)·x[i−1] + 0·x[i] + (−0.5/s)·x[i+1]` in f64 (`s` the spacing,
/// or 1), neighbours beyond the image repeating its edge;
/// `√(g_x² + g_y² + g_z²)` stored as f32.
fn gradient(image: &Volume<f32>, lo: [usize; 3], hi: [usize; 3], use_spacing: bool) -> Vec<f64> {
    let dims = image.geometry.dims;
    let scale: [f64; 3] = std::array::from_fn(|a| {
        if use_spacing {
            1.0 / image.geometry.spacing[a]
        } else {
            1.0
        }
    });
    let c0 = scale.map(|s| 0.5 * s);
    let c2 = scale.map(|s| -0.5 * s);
    let mut out = Vec::with_capacity((0..3).map(|a| hi[a] - lo[a] + 1).product());
    for z in lo[2]..=hi[2] {
        for y in lo[1]..=hi[1] {
            for x in lo[0]..=hi[0] {
                let p = [x, y, z];
                let mut acc = 0.0f64;
                for a in 0..3 {
                    let mut before = p;
                    before[a] = p[a].saturating_sub(1);
                    let mut after = p;
                    after[a] = (p[a] + 1).min(dims[a] - 1);
                    let xm = f64::from(image.get(before[0], before[1], before[2]));
                    let x0 = f64::from(image.get(x, y, z));
                    let xp = f64::from(image.get(after[0], after[1], after[2]));
                    let g = 0.0 + c0[a] * xm + 0.0 * x0 + c2[a] * xp;
                    acc += g * g;
                }
                out.push(f64::from(acc.sqrt() as f32));
            }
        }
    }
    out
}
