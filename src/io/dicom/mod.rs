//! DICOM input: header scanning, CT series assembly, RTSTRUCT and SEG.
//!
//! Layers as in dicom-rs: [`scan`] reads headers only (no pixel data) and
//! groups files; [`series`] assembles pixel data into a [`Volume`]; [`rtstruct`]
//! and [`seg`] turn segmentation objects into masks on an image grid.
//!
//! [`Volume`]: crate::volume::Volume

pub mod rtstruct;
pub mod scan;
pub mod seg;
#[cfg(feature = "testdata")]
pub mod seg_write;
pub mod series;
pub mod validate;
pub mod view;
#[cfg(feature = "testdata")]
pub mod write;

/// Format a decimal string (DS, at most 16 characters) with at most 6
/// decimals and without needless digits.
pub fn format_ds(v: f64) -> String {
    format_ds_with(v, 6)
}

/// [`format_ds`] with at most `max_decimals` decimals (as many as fit in 16
/// characters).
pub fn format_ds_with(v: f64, max_decimals: usize) -> String {
    if v == 0.0 || !v.is_finite() {
        return "0".into();
    }
    for decimals in (0..=max_decimals).rev() {
        let s = format!("{v:.decimals$}");
        let s = if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        };
        let s = if s == "-0" { "0".to_string() } else { s };
        if s.len() <= 16 {
            return s;
        }
    }
    let s = format!("{v:.8e}");
    s.chars().take(16).collect()
}
