//! Placeholder: implemented in its own change.

use crate::volume::{Geometry, Mask, Volume};

/// Interpolation kernels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interpolator {
    Nearest,
    /// Bilinear in-plane or trilinear in 3D.
    Linear,
    /// Tricubic spline (B-spline of order 3 with prefiltering).
    CubicSpline,
}

/// The IBSI "align grid centres" grid with spacing `new_spacing`.
pub fn aligned_grid(_geometry: &Geometry, _new_spacing: [f64; 3]) -> Geometry {
    unimplemented!()
}

/// Interpolate `image` onto `target`; outside points take the nearest boundary value.
pub fn resample_image(
    _image: &Volume<f32>,
    _target: &Geometry,
    _interp: Interpolator,
) -> Volume<f32> {
    unimplemented!()
}

/// Interpolate a mask onto `target` and keep voxels with value ≥ `threshold`.
pub fn resample_mask(
    _mask: &Mask,
    _target: &Geometry,
    _interp: Interpolator,
    _threshold: f64,
) -> Mask {
    unimplemented!()
}

/// Round intensities to the nearest integer (IBSI: CT after loading and after interpolation).
pub fn round_intensities(image: &mut Volume<f32>) {
    for v in image.data.iter_mut() {
        *v = v.round();
    }
}
