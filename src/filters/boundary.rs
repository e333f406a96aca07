//! Boundary conditions and the 1D convolution every separable filter uses.
//!
//! IBSI 2 names four ways of extending an image past its edge:
//!
//! | IBSI name | extension of `a b c d`        | other names            |
//! |-----------|-------------------------------|------------------------|
//! | zero      | `0 0 | a b c d | 0 0`         | constant               |
//! | nearest   | `a a | a b c d | d d`         | replicate, edge        |
//! | periodic  | `c d | a b c d | a b`         | wrap, circular         |
//! | mirror    | `b a | a b c d | d c`         | symmetric (SciPy's `reflect`) |
//!
//! IBSI's *mirror* repeats the edge voxel (checked against reference map 1.a.4).

use crate::error::{Error, Result};

/// How an image is extended past its edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Boundary {
    Zero,
    Nearest,
    Periodic,
    Mirror,
}

impl Boundary {
    /// Parse the IBSI name (`zero`, `nearest`, `periodic`, `mirror`) or a common synonym.
    pub fn parse(s: &str) -> Option<Boundary> {
        Some(match s.to_ascii_lowercase().as_str() {
            "zero" | "constant" => Boundary::Zero,
            "nearest" | "replicate" | "edge" => Boundary::Nearest,
            "periodic" | "wrap" | "circular" => Boundary::Periodic,
            "mirror" | "symmetric" | "reflect" => Boundary::Mirror,
            _ => return None,
        })
    }

    /// The IBSI name.
    pub fn name(self) -> &'static str {
        match self {
            Boundary::Zero => "zero",
            Boundary::Nearest => "nearest",
            Boundary::Periodic => "periodic",
            Boundary::Mirror => "mirror",
        }
    }

    /// The in-range index that position `i` of a line of `n` samples reads, or
    /// `None` where the extension is zero.
    #[inline]
    pub fn map(self, i: isize, n: usize) -> Option<usize> {
        let n_i = n as isize;
        if (0..n_i).contains(&i) {
            return Some(i as usize);
        }
        match self {
            Boundary::Zero => None,
            Boundary::Nearest => Some(i.clamp(0, n_i - 1) as usize),
            Boundary::Periodic => Some(i.rem_euclid(n_i) as usize),
            Boundary::Mirror => {
                let m = i.rem_euclid(2 * n_i);
                Some(if m < n_i { m } else { 2 * n_i - 1 - m } as usize)
            }
        }
    }
}

/// Convolve every line of `data` (x-fastest, `dims`) along `axis` with `kernel`.
///
/// `out[i] = Σ_k kernel[k] · in[i − (k − centre) · dilation]` — a true
/// convolution; `centre` is the kernel index that sits on the output voxel and
/// `dilation` spaces the taps (à trous wavelets). Sums are accumulated in f64.
pub fn convolve_axis(
    data: &[f32],
    dims: [usize; 3],
    axis: usize,
    kernel: &[f64],
    centre: usize,
    dilation: usize,
    boundary: Boundary,
) -> Vec<f32> {
    let mut out = vec![0.0f32; data.len()];
    convolve_axis_into(
        data, &mut out, dims, axis, kernel, centre, dilation, boundary,
    );
    out
}

/// [`convolve_axis`] writing into `out` (same length as `data`).
#[allow(clippy::too_many_arguments)]
pub fn convolve_axis_into(
    data: &[f32],
    out: &mut [f32],
    dims: [usize; 3],
    axis: usize,
    kernel: &[f64],
    centre: usize,
    dilation: usize,
    boundary: Boundary,
) {
    assert_eq!(data.len(), dims[0] * dims[1] * dims[2]);
    assert_eq!(out.len(), data.len());
    let n = dims[axis];
    if n == 0 {
        return;
    }
    let stride = match axis {
        0 => 1,
        1 => dims[0],
        _ => dims[0] * dims[1],
    };
    // Offsets of each tap relative to the output sample.
    let offsets: Vec<isize> = (0..kernel.len())
        .map(|k| -((k as isize - centre as isize) * dilation as isize))
        .collect();
    let lines: Vec<usize> = line_starts(dims, axis);
    let mut line = vec![0.0f64; n];
    for start in lines {
        for (i, l) in line.iter_mut().enumerate() {
            *l = data[start + i * stride] as f64;
        }
        for i in 0..n {
            let mut s = 0.0f64;
            for (w, &o) in kernel.iter().zip(&offsets) {
                if let Some(j) = boundary.map(i as isize + o, n) {
                    s += w * line[j];
                }
            }
            out[start + i * stride] = s as f32;
        }
    }
}

/// Index of the first voxel of every line along `axis`.
pub fn line_starts(dims: [usize; 3], axis: usize) -> Vec<usize> {
    let [nx, ny, nz] = dims;
    let mut v = Vec::new();
    match axis {
        0 => {
            for z in 0..nz {
                for y in 0..ny {
                    v.push(nx * (y + ny * z));
                }
            }
        }
        1 => {
            for z in 0..nz {
                for x in 0..nx {
                    v.push(x + nx * ny * z);
                }
            }
        }
        _ => {
            for y in 0..ny {
                for x in 0..nx {
                    v.push(x + nx * y);
                }
            }
        }
    }
    v
}

/// Convolve with the same kernel along each axis in `axes` (a separable filter).
pub fn convolve_separable(
    data: &[f32],
    dims: [usize; 3],
    axes: &[usize],
    kernels: &[&[f64]],
    boundary: Boundary,
) -> Vec<f32> {
    let mut cur = data.to_vec();
    let mut tmp = vec![0.0f32; data.len()];
    for (&axis, k) in axes.iter().zip(kernels) {
        convolve_axis_into(&cur, &mut tmp, dims, axis, k, k.len() / 2, 1, boundary);
        std::mem::swap(&mut cur, &mut tmp);
    }
    cur
}

/// A kernel wider than the image along every filtered axis is refused: it is
/// almost always a unit mistake (σ meant in voxels, given in mm).
pub fn check_kernel_fits(
    what: &str,
    radius: usize,
    dims: [usize; 3],
    axes: &[usize],
) -> Result<()> {
    let widest = axes.iter().map(|&a| dims[a]).max().unwrap_or(0);
    if 2 * radius + 1 > widest.max(1) * 2 + 1 {
        return Err(Error::Invalid(format!(
            "{what}: the kernel ({} voxels wide) is larger than the image ({widest} voxels)",
            2 * radius + 1
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundary_maps_match_their_definitions() {
        let n = 4;
        let ext = |b: Boundary| -> Vec<Option<usize>> { (-3..7).map(|i| b.map(i, n)).collect() };
        assert_eq!(
            ext(Boundary::Mirror),
            [2, 1, 0, 0, 1, 2, 3, 3, 2, 1].map(Some).to_vec()
        );
        assert_eq!(
            ext(Boundary::Periodic),
            [1, 2, 3, 0, 1, 2, 3, 0, 1, 2].map(Some).to_vec()
        );
        assert_eq!(
            ext(Boundary::Nearest),
            [0, 0, 0, 0, 1, 2, 3, 3, 3, 3].map(Some).to_vec()
        );
        assert_eq!(ext(Boundary::Zero)[..3], [None, None, None]);
    }

    #[test]
    fn convolution_flips_the_kernel() {
        // An impulse convolved with [1, 2, 3] (centre 1) gives the kernel itself.
        let mut d = vec![0.0f32; 5];
        d[2] = 1.0;
        let out = convolve_axis(&d, [5, 1, 1], 0, &[1.0, 2.0, 3.0], 1, 1, Boundary::Zero);
        assert_eq!(out, vec![0.0, 1.0, 2.0, 3.0, 0.0]);
        // Dilation 2 spaces the taps.
        let out = convolve_axis(&d, [5, 1, 1], 0, &[1.0, 2.0, 3.0], 1, 2, Boundary::Zero);
        assert_eq!(out, vec![1.0, 0.0, 2.0, 0.0, 3.0]);
    }
}
