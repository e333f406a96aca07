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
    let all = vec![true; (0..3).map(|a| hi[a] - lo[a] + 1).product()];
    let mut out = Vec::new();
    for_each_response(kind, s, image, lo, hi, &all, |name, values| {
        out.push((name, values));
        Ok(())
    })?;
    Ok(out)
}

/// The derived images of one image type, in PyRadiomics' order, each
/// handed to `sink` as soon as it is made, as (image type name, values at
/// the voxels of the box `lo..=hi` of `image` that `roi` selects, in
/// storage order). `roi` is box-shaped, x fastest. Only what those values
/// need is computed, one derived image at a time.
pub fn for_each_response(
    kind: ImageTypeKind,
    s: &ImageTypeSettings,
    image: &Volume<f32>,
    lo: [usize; 3],
    hi: [usize; 3],
    roi: &[bool],
    mut sink: impl FnMut(String, Vec<f64>) -> Result<()>,
) -> Result<()> {
    let bd: [usize; 3] = std::array::from_fn(|a| hi[a] - lo[a] + 1);
    let dims = image.geometry.dims;
    let spacing = image.geometry.spacing;
    match kind {
        ImageTypeKind::Original => sink("original".into(), pick(image, lo, hi, roi, f64::from)),
        ImageTypeKind::LoG => {
            if dims.iter().any(|&d| d < 4) {
                return Ok(());
            }
            let mut laplacian = recursive_gaussian::Laplacian::default();
            for sigma in &s.sigma {
                let fits = (0..3).all(|a| dims[a] as f64 >= (sigma.mm / spacing[a]).ceil() + 1.0);
                if sigma.mm <= 0.0 || !fits {
                    continue;
                }
                let m = recursive_gaussian::margin(sigma.mm, spacing);
                let (blo, bhi) = grown(lo, hi, m, dims);
                let cropped;
                let block = if (blo, bhi) == ([0; 3], image.geometry.last()) {
                    image
                } else {
                    cropped = image.crop(blo, bhi);
                    &cropped
                };
                let r = laplacian.of_box(
                    block,
                    sigma.mm,
                    std::array::from_fn(|a| lo[a] - blo[a]),
                    std::array::from_fn(|a| hi[a] - blo[a]),
                );
                let values = r
                    .iter()
                    .zip(roi)
                    .filter(|(_, &m)| m)
                    .map(|(&v, _)| f64::from(v))
                    .collect();
                sink(
                    format!("log-sigma-{}-mm-3D", sigma.text.replace('.', "-")),
                    values,
                )?;
            }
            Ok(())
        }
        ImageTypeKind::Wavelet => {
            let (dec_lo, dec_hi) = wavelet_filters(&s.wavelet)?;
            let axes: Vec<usize> = (0..3).filter(|&a| Some(a) != s.force_2d_axis).collect();
            swt::for_each_subband(
                image,
                lo,
                hi,
                (&dec_lo, &dec_hi),
                &axes,
                s.start_level,
                s.level,
                roi,
                |name, v| sink(name, v.into_iter().map(f64::from).collect()),
            )
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
                        pick(image, lo, hi, roi, |x| (c * f64::from(x)).powi(2)),
                    )
                }
                ImageTypeKind::SquareRoot => (
                    "squareroot",
                    pick(image, lo, hi, roi, |x| {
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
                        pick(image, lo, hi, roi, |x| {
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
                        pick(image, lo, hi, roi, |x| (c * f64::from(x)).exp()),
                    )
                }
            };
            sink(name.into(), values)
        }
        ImageTypeKind::Gradient => {
            debug_assert_eq!(roi.len(), bd.iter().product::<usize>());
            sink(
                "gradient".into(),
                gradient(image, lo, hi, roi, s.gradient_use_spacing),
            )
        }
    }
}

/// `f` of the voxels of the box `lo..=hi` of `v` that `roi` (box-shaped,
/// x fastest) selects, in storage order.
fn pick(
    v: &Volume<f32>,
    lo: [usize; 3],
    hi: [usize; 3],
    roi: &[bool],
    f: impl Fn(f32) -> f64,
) -> Vec<f64> {
    let width = hi[0] - lo[0] + 1;
    let mut out = Vec::with_capacity(roi.iter().filter(|&&m| m).count());
    let mut rows = roi.chunks_exact(width);
    for z in lo[2]..=hi[2] {
        for y in lo[1]..=hi[1] {
            let row = v.geometry.index(lo[0], y, z);
            let m = rows.next().expect("roi covers the box");
            out.extend(
                v.data[row..row + width]
                    .iter()
                    .zip(m)
                    .filter(|(_, &m)| m)
                    .map(|(&x, _)| f(x)),
            );
        }
    }
    out
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

/// ITK's `GradientMagnitudeImageFilter` at the box voxels `roi` selects: per axis
/// `g = (0.5/s)·x[i−1] + 0·x[i] + (−0.5/s)·x[i+1]` in f64 (`s` the spacing,
/// or 1), neighbours beyond the image repeating its edge;
/// `√(g_x² + g_y² + g_z²)` stored as f32.
fn gradient(
    image: &Volume<f32>,
    lo: [usize; 3],
    hi: [usize; 3],
    roi: &[bool],
    use_spacing: bool,
) -> Vec<f64> {
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
    let mut out = Vec::with_capacity(roi.iter().filter(|&&m| m).count());
    let mut inside = roi.iter();
    for z in lo[2]..=hi[2] {
        for y in lo[1]..=hi[1] {
            for x in lo[0]..=hi[0] {
                if !inside.next().expect("roi covers the box") {
                    continue;
                }
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
