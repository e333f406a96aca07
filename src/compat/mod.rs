//! Compatibility modes: reproduce other tools' conventions exactly.
//!
//! [`pyradiomics`] follows PyRadiomics 3.1 (`compat: pyradiomics` in a
//! parameter file): its preprocessing, binning, feature definitions and
//! feature names (`original_<class>_<Feature>`). The feature classes live in
//! one module each; the IBSI zone and neighbourhood builders of
//! [`crate::features::glszm`] are reused where the definitions coincide.

mod firstorder;
mod glcm;
mod gldm;
mod glrlm;
mod glszm;
mod linalg;
mod ngtdm;
pub mod pyradiomics;
mod shape;

/// PyRadiomics' `numpy.spacing(1)`: the epsilon added inside its logarithms
/// and denominators.
pub(crate) const EPS: f64 = f64::EPSILON;

/// Mean of the non-NaN values (`numpy.nanmean`), NaN when there are none.
pub(crate) fn nanmean(values: &[f64]) -> f64 {
    let (s, n) = values
        .iter()
        .filter(|v| !v.is_nan())
        .fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    if n == 0 {
        f64::NAN
    } else {
        s / n as f64
    }
}

/// `-p · log2(p + eps)`, PyRadiomics' entropy term (0 for p = 0).
#[inline]
pub(crate) fn entropy_term(p: f64) -> f64 {
    if p > 0.0 {
        -p * (p + EPS).log2()
    } else {
        0.0
    }
}
