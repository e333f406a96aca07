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
///
/// Output sample `o` is `Σ_j f[j] · in[L(o, j)]` summed in PyWavelets'
/// order; `terms` lists `(j, L)` in that order per output. Samples with
/// the plain order (ascending `j`) are computed a tap at a time over many
/// outputs at once (whole rows or planes; along x, a whole line), the few
/// with the wrapped order one by one: each output's sum still runs over
/// the same terms in the same order.
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
    let period = ax.period as isize;
    // The block index of input sample g + half − j for output o.
    let local = |o: usize, j: usize| -> usize {
        let gi = out_origin + o as isize + half as isize - j as isize;
        (if ax.full {
            gi.rem_euclid(period)
        } else {
            gi - ax.origin
        }) as usize
    };
    // Outputs whose sum starts with the wrapped terms, descending.
    let wrapped: Vec<(usize, Vec<(usize, usize)>)> = (0..out_len)
        .filter_map(|o| {
            let i = (out_origin + o as isize).rem_euclid(period) + half as isize;
            (i >= period).then(|| {
                let w = (i - period) as usize;
                let order = (0..=w).rev().chain(w + 1..flen);
                (o, order.map(|j| (j, local(o, j))).collect())
            })
        })
        .collect();
    let in_dims = input.dims();
    let mut out_dims = in_dims;
    out_dims[a] = out_len;
    let mut data = vec![0.0f32; out_dims.iter().product()];
    if a == 0 {
        // Along x: the line (periodically extended for a full axis, so that
        // the taps of every output are contiguous) convolved a tap at a time.
        let shift = flen - 1;
        let ext_len = out_len + flen - 1;
        let mut ext = vec![0.0f32; ext_len];
        for (row_in, row_out) in input
            .data
            .chunks_exact(in_dims[0])
            .zip(data.chunks_exact_mut(out_len))
        {
            // ext[o + flen − 1 − j] is the input of output o, tap j.
            for (k, e) in ext.iter_mut().enumerate() {
                *e = row_in[local(k, shift)];
            }
            for (j, &fj) in f.iter().enumerate() {
                let src = &ext[shift - j..shift - j + out_len];
                for (o, &v) in row_out.iter_mut().zip(src) {
                    *o += fj * v;
                }
            }
            for (o, terms) in &wrapped {
                let mut sum = 0.0f32;
                for &(j, l) in terms {
                    sum += f[j] * row_in[l];
                }
                row_out[*o] = sum;
            }
        }
    } else {
        // Along y or z: each output row (y) or plane (z) is a sum of whole
        // input rows or planes.
        let inner: usize = in_dims[..a].iter().product();
        let (in_len, outer) = (in_dims[a], in_dims[a + 1..].iter().product::<usize>());
        for k in 0..outer {
            let src = &input.data[k * in_len * inner..(k + 1) * in_len * inner];
            let dst = &mut data[k * out_len * inner..(k + 1) * out_len * inner];
            for (o, out) in dst.chunks_exact_mut(inner).enumerate() {
                for (j, &fj) in f.iter().enumerate() {
                    let l = local(o, j);
                    for (d, &v) in out.iter_mut().zip(&src[l * inner..(l + 1) * inner]) {
                        *d += fj * v;
                    }
                }
            }
            for (o, terms) in &wrapped {
                let out = &mut dst[o * inner..(o + 1) * inner];
                out.fill(0.0);
                for &(j, l) in terms {
                    for (d, &v) in out.iter_mut().zip(&src[l * inner..(l + 1) * inner]) {
                        *d += f[j] * v;
                    }
                }
            }
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
