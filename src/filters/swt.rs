//! PyWavelets' stationary wavelet transform (`pywt.swtn`) as PyRadiomics'
//! `Wavelet` image type calls it (`imageoperations._swt3`).
//!
//! **Padding.** An axis of odd length `N` is extended by one sample, a copy
//! of its first (`numpy.pad(…, 'wrap')`), to the even length `N_p`; the
//! sub-bands are cropped back to `N` at the end.
//!
//! **One axis** (PyWavelets `downsampling_convolution_periodization` with
//! step 1): with the decomposition filter `f` of length `F`,
//!
//! ```text
//! out[g] = Σ_{j=0}^{F−1} f[j] · in[(g + F/2 − j) mod N_p]
//! ```
//!
//! computed in the image's precision: f32 data with PyWavelets' f32 filter
//! taps (coiflets: the table value times √2, both in f32), summed in
//! PyWavelets' order (`j` ascending, except that for
//! `g + F/2 ≥ N_p` the wrapped terms `j = g + F/2 − N_p … 0` come first,
//! descending) so that every value is bit-identical.
//!
//! **Sub-bands.** The axes are filtered in the order x, y, z (PyRadiomics
//! passes numpy axes (2, 1, 0)); each yields its low-pass (`L`, PyWavelets
//! `a`) and high-pass (`H`, `d`) output, so `LLH` is low-pass along x and y,
//! high-pass along z. A level filters the previous level's `LLL` with the
//! same, undilated filters (PyRadiomics calls `swtn` with `level=1` each
//! time). Levels before `start_level` are computed and discarded; then
//! `level` levels each give their seven detail sub-bands, named
//! `wavelet-LLH` (first) or `wavelet<k>-LLH` (k-th), and the last level's
//! approximation `wavelet-LLL` (`wavelet<level>-LLL`) comes last.
//!
//! **Blocks.** A value needs the input at most `F/2` samples to either side
//! per level: the transform runs on the ROI box grown by that much per level
//! (in the periodic coordinates of the padded axis), or on the whole padded
//! axis when the grown box would cover it.

use crate::volume::Volume;

/// One axis of a block: where it sits on the periodic padded axis.
#[derive(Debug, Clone, Copy)]
struct Axis {
    /// Global (unwrapped) index of the block's first sample.
    origin: isize,
    /// Samples in the block.
    len: usize,
    /// Padded (even) length of the image axis, the period.
    period: usize,
    /// The block is the whole period (periodic filtering, no shrinking).
    full: bool,
}

/// A block of sub-band values, x fastest.
#[derive(Debug, Clone)]
struct Block {
    axes: [Axis; 3],
    data: Vec<f32>,
}

impl Block {
    fn dims(&self) -> [usize; 3] {
        self.axes.map(|a| a.len)
    }
}

/// Filter `input` along axis `a` with `f` (f32 taps).
fn pass(input: &Block, a: usize, f: &[f32]) -> Block {
    let ax = input.axes[a];
    let flen = f.len();
    let half = flen / 2;
    let (out_origin, out_len) = if ax.full {
        (0, ax.len)
    } else {
        (ax.origin + (flen - 1 - half) as isize, ax.len + 1 - flen)
    };
    let mut axes = input.axes;
    axes[a] = Axis {
        origin: out_origin,
        len: out_len,
        ..ax
    };
    let in_dims = input.dims();
    let mut out_dims = in_dims;
    out_dims[a] = out_len;
    let in_stride = [1, in_dims[0], in_dims[0] * in_dims[1]][a];
    let out_stride = [1, out_dims[0], out_dims[0] * out_dims[1]][a];
    let period = ax.period as isize;
    let mut data = vec![0.0f32; out_dims.iter().product()];
    let mut line = vec![0.0f32; ax.len];
    let out_starts = super::boundary::line_starts(out_dims, a);
    let in_starts = super::boundary::line_starts(in_dims, a);
    for (&os, &is) in out_starts.iter().zip(&in_starts) {
        for (k, v) in line.iter_mut().enumerate() {
            *v = input.data[is + k * in_stride];
        }
        for o in 0..out_len {
            let g = out_origin + o as isize;
            // The sample of input index g + half − j.
            let at = |j: usize| -> f32 {
                let gi = g + half as isize - j as isize;
                let local = if ax.full {
                    gi.rem_euclid(period)
                } else {
                    gi - ax.origin
                };
                line[local as usize]
            };
            let i = g.rem_euclid(period) + half as isize;
            let mut sum = 0.0f32;
            if i < period {
                for (j, &fj) in f.iter().enumerate() {
                    sum += fj * at(j);
                }
            } else {
                let wrapped = (i - period) as usize;
                for j in (0..=wrapped).rev() {
                    sum += f[j] * at(j);
                }
                for (j, &fj) in f.iter().enumerate().skip(wrapped + 1) {
                    sum += fj * at(j);
                }
            }
            data[os + o * out_stride] = sum;
        }
    }
    Block { axes, data }
}

/// The sub-bands of PyRadiomics' `Wavelet` image type over the box
/// `lo..=hi` of `image`, in PyRadiomics' order, each handed to `sink` as
/// (image type name, values at the box voxels `roi` selects — `roi` is
/// box-shaped, x fastest — in storage order) as soon as it is made.
/// `filters` are PyWavelets' float32 `(dec_lo, dec_hi)`; `axes` the grid
/// axes transformed (x, y, z; or two of them with `force2D`).
///
/// The sub-bands of a level come depth first (`aaa`, `aad`, `ada`, …: the
/// same lexicographic order as PyWavelets' keys), so that at most one block
/// per axis is alive besides the approximation.
#[allow(clippy::too_many_arguments)]
pub fn for_each_subband<E>(
    image: &Volume<f32>,
    lo: [usize; 3],
    hi: [usize; 3],
    (lo32, hi32): (&[f32], &[f32]),
    axes: &[usize],
    start_level: usize,
    level: usize,
    roi: &[bool],
    mut sink: impl FnMut(String, Vec<f32>) -> Result<(), E>,
) -> Result<(), E> {
    let dims = image.geometry.dims;
    let flen = lo32.len();
    let levels = start_level + level;
    // The block read from the image: the box grown by the reach of every level.
    let block_axes: [Axis; 3] = std::array::from_fn(|a| {
        let n = dims[a];
        let period = n + n % 2;
        if !axes.contains(&a) {
            // Not transformed: the box itself, no periodic reading.
            return Axis {
                origin: lo[a] as isize,
                len: hi[a] - lo[a] + 1,
                period: n,
                full: false,
            };
        }
        let left = levels * (flen - 1 - flen / 2);
        let right = levels * (flen / 2);
        let len = hi[a] - lo[a] + 1 + left + right;
        if len >= period {
            Axis {
                origin: 0,
                len: period,
                period,
                full: true,
            }
        } else {
            Axis {
                origin: lo[a] as isize - left as isize,
                len,
                period,
                full: false,
            }
        }
    });
    let bdims = block_axes.map(|a| a.len);
    let mut data = Vec::with_capacity(bdims.iter().product());
    let src = |a: usize, k: usize| -> usize {
        let ax = block_axes[a];
        let g = (ax.origin + k as isize).rem_euclid(ax.period as isize) as usize;
        // The padding sample repeats the first.
        if g >= dims[a] {
            0
        } else {
            g
        }
    };
    for z in 0..bdims[2] {
        let sz = src(2, z);
        for y in 0..bdims[1] {
            let sy = src(1, y);
            for x in 0..bdims[0] {
                data.push(image.get(src(0, x), sy, sz));
            }
        }
    }
    let mut approx = Block {
        axes: block_axes,
        data,
    };
    let letters = |name: &str| name.replace('a', "L").replace('d', "H");
    for l in 0..levels {
        // Levels before `start_level` are made and discarded.
        let keep = l >= start_level;
        let prefix = match l + 1 - start_level.min(l) {
            1 => "wavelet".to_string(),
            idx => format!("wavelet{idx}"),
        };
        let mut next = None;
        let mut result = Ok(());
        split(
            &approx,
            axes,
            String::new(),
            (lo32, hi32),
            &mut |name, b| {
                if next.is_none() {
                    // The first sub-band is the approximation (`aa…a`).
                    next = Some(b);
                } else if keep && result.is_ok() {
                    result = sink(
                        format!("{prefix}-{}", letters(&name)),
                        crop_to_box(&b, lo, hi, roi),
                    );
                }
            },
        );
        result?;
        approx = next.expect("a level has an approximation");
    }
    let approx_name = if level == 1 {
        format!("wavelet-{}", "L".repeat(axes.len()))
    } else {
        format!("wavelet{level}-{}", "L".repeat(axes.len()))
    };
    sink(approx_name, crop_to_box(&approx, lo, hi, roi))
}

/// Filter `block` along the first of `axes` with both filters, then each
/// result along the rest, depth first: `emit` gets the sub-bands in
/// lexicographic order of their names (`a` before `d`).
fn split(
    block: &Block,
    axes: &[usize],
    name: String,
    filters: (&[f32], &[f32]),
    emit: &mut dyn FnMut(String, Block),
) {
    let Some((&a, rest)) = axes.split_first() else {
        return;
    };
    for (letter, f) in [('a', filters.0), ('d', filters.1)] {
        let b = pass(block, a, f);
        let name = format!("{name}{letter}");
        if rest.is_empty() {
            emit(name, b);
        } else {
            split(&b, rest, name, filters, emit);
        }
    }
}

/// The values of `b` at the voxels of the global box `lo..=hi` that `roi`
/// (box-shaped, x fastest) selects.
fn crop_to_box(b: &Block, lo: [usize; 3], hi: [usize; 3], roi: &[bool]) -> Vec<f32> {
    let dims = b.dims();
    let local = |a: usize, g: usize| -> usize {
        let ax = b.axes[a];
        if ax.full {
            g
        } else {
            (g as isize - ax.origin) as usize
        }
    };
    let width = hi[0] - lo[0] + 1;
    let lx = local(0, lo[0]);
    let mut out = Vec::with_capacity(roi.iter().filter(|&&m| m).count());
    let mut rows = roi.chunks_exact(width);
    for z in lo[2]..=hi[2] {
        let lz = local(2, z);
        for y in lo[1]..=hi[1] {
            let ly = local(1, y);
            let row = dims[0] * (ly + dims[1] * lz) + lx;
            let m = rows.next().expect("roi covers the box");
            out.extend(
                b.data[row..row + width]
                    .iter()
                    .zip(m)
                    .filter(|(_, &m)| m)
                    .map(|(&v, _)| v),
            );
        }
    }
    out
}
