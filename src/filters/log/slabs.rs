//! Separable filtering one slab of axial planes at a time.
//!
//! A separable kernel `k_x ⊗ k_y ⊗ k_z` is applied to the planes `z0..z1` of
//! an image by a z pass that reads the image directly (with the boundary
//! condition along z), then y and x passes inside the slab. Every slab is
//! independent, so slabs run in parallel and whatever pools the responses of
//! several kernels (orientations, scales) does so inside the slab, in f64: a
//! filter never holds more than the image, its output and a few slab buffers,
//! whatever the number of kernels. Each output voxel is computed by the same
//! sequence of operations whatever the thread count.
//!
//! Shared by the LoG and Laws families ([`super`] and [`crate::filters::laws`]).

use crate::filters::Boundary;
use rayon::prelude::*;

/// A separable kernel: one 1D kernel per grid axis (x, y, z) with the index of
/// the tap that sits on the output voxel. `[1.0]` with centre 0 leaves an axis
/// alone (the z axis of 2D filters).
#[derive(Debug, Clone, PartialEq)]
pub struct Separable {
    pub taps: [Vec<f64>; 3],
    pub centre: [usize; 3],
}

impl Separable {
    /// Voxels of support on either side of the output voxel, per axis.
    pub fn radius(&self) -> [usize; 3] {
        std::array::from_fn(|a| {
            let n = self.taps[a].len();
            self.centre[a].max(n.saturating_sub(1 + self.centre[a]))
        })
    }

    fn is_identity(&self, axis: usize) -> bool {
        self.taps[axis] == [1.0] && self.centre[axis] == 0
    }
}

/// Planes per slab: few enough that slabs spread over the threads, enough that
/// the per-slab overhead stays small.
pub const PLANES_PER_SLAB: usize = 2;

/// Call `f(z0, chunk)` for every slab of `out` (`planes` axial planes each,
/// x-fastest), in parallel.
pub fn for_each_slab<F>(out: &mut [f32], dims: [usize; 3], planes: usize, f: F)
where
    F: Fn(usize, &mut [f32]) + Sync + Send,
{
    let plane = dims[0] * dims[1];
    if out.is_empty() || plane == 0 {
        return;
    }
    let planes = planes.max(1);
    out.par_chunks_mut(plane * planes)
        .enumerate()
        .for_each(|(s, chunk)| f(s * planes, chunk));
}

/// Scratch space for [`filter_slab`] (one per slab in flight).
#[derive(Default)]
pub struct Scratch {
    plane: Vec<f64>,
    ext: Vec<f64>,
    line: Vec<f64>,
    res: Vec<f64>,
}

/// The response of `k` on planes `z0 .. z0 + out.len() / (nx·ny)` of `image`
/// (x-fastest, `dims`), written to `out`:
/// `out(x) = Σ_t k(t) · image(x − (t − centre))` along each axis, a true
/// convolution, with `boundary` past every edge.
pub fn filter_slab(
    image: &[f32],
    dims: [usize; 3],
    z0: usize,
    k: &Separable,
    boundary: Boundary,
    out: &mut [f64],
    s: &mut Scratch,
) {
    pass_z(image, dims, z0, (&k.taps[2], k.centre[2]), boundary, out);
    if !k.is_identity(1) {
        pass_y(out, dims, (&k.taps[1], k.centre[1]), boundary, s);
    }
    if !k.is_identity(0) {
        pass_x(out, dims, (&k.taps[0], k.centre[0]), boundary, s);
    }
}

/// The z pass of [`filter_slab`]: planes `z0 ..` of `image` convolved along z
/// with `(taps, centre)` into `out`; each output plane is a weighted sum of
/// (boundary-mapped) image planes. `[1.0]` copies.
pub fn pass_z(
    image: &[f32],
    dims: [usize; 3],
    z0: usize,
    (taps, centre): (&[f64], usize),
    boundary: Boundary,
    out: &mut [f64],
) {
    let [nx, ny, nz] = dims;
    let plane = nx * ny;
    debug_assert_eq!(image.len(), plane * nz);
    debug_assert_eq!(out.len() % plane, 0);
    let planes = out.len() / plane;
    let cz = centre as isize;
    for p in 0..planes {
        let dst = &mut out[p * plane..(p + 1) * plane];
        dst.fill(0.0);
        for (t, &w) in taps.iter().enumerate() {
            let z = (z0 + p) as isize - (t as isize - cz);
            if let Some(j) = boundary.map(z, nz) {
                let src = &image[j * plane..(j + 1) * plane];
                dst.iter_mut()
                    .zip(src)
                    .for_each(|(d, &v)| *d += w * v as f64);
            }
        }
    }
}

/// The y pass, in place on whole planes of `data`: each output row is a
/// weighted sum of (boundary-mapped) rows, so the inner loop runs along
/// contiguous x.
pub fn pass_y(
    data: &mut [f64],
    dims: [usize; 3],
    (taps, centre): (&[f64], usize),
    boundary: Boundary,
    s: &mut Scratch,
) {
    let [nx, ny, _] = dims;
    let plane = nx * ny;
    let cy = centre as isize;
    s.plane.resize(plane, 0.0);
    for pl in data.chunks_mut(plane) {
        s.plane.fill(0.0);
        for y in 0..ny {
            let dst = &mut s.plane[y * nx..(y + 1) * nx];
            for (t, &w) in taps.iter().enumerate() {
                if let Some(j) = boundary.map(y as isize - (t as isize - cy), ny) {
                    let src = &pl[j * nx..(j + 1) * nx];
                    dst.iter_mut().zip(src).for_each(|(d, &v)| *d += w * v);
                }
            }
        }
        pl.copy_from_slice(&s.plane);
    }
}

/// The x pass, in place, row by row.
pub fn pass_x(
    data: &mut [f64],
    dims: [usize; 3],
    (taps, centre): (&[f64], usize),
    boundary: Boundary,
    s: &mut Scratch,
) {
    let nx = dims[0];
    s.line.resize(nx, 0.0);
    s.res.resize(nx, 0.0);
    for row in data.chunks_mut(nx) {
        s.line.copy_from_slice(row);
        convolve_line(&s.line, &mut s.res, taps, centre, boundary, &mut s.ext);
        row.copy_from_slice(&s.res);
    }
}

/// `out[i] = Σ_t taps[t] · line[i − (t − centre)]`, extending `line` past its
/// ends by `boundary`.
fn convolve_line(
    line: &[f64],
    out: &mut [f64],
    taps: &[f64],
    centre: usize,
    boundary: Boundary,
    ext: &mut Vec<f64>,
) {
    let n = line.len();
    let len = taps.len();
    // Positions read for output i run from i + centre − (len − 1) to i + centre.
    let lo = len as isize - 1 - centre as isize;
    ext.clear();
    ext.extend(
        (0..n + len - 1).map(|e| match boundary.map(e as isize - lo, n) {
            Some(j) => line[j],
            None => 0.0,
        }),
    );
    for (i, o) in out.iter_mut().enumerate() {
        // Tap t reads ext[i + len − 1 − t].
        let window = &ext[i..i + len];
        *o = taps
            .iter()
            .zip(window.iter().rev())
            .map(|(w, v)| w * v)
            .sum();
    }
}

/// Replace `data` by the mean of `|data|` over a `(2δ+1)` window along each
/// of `axes` (a `(2δ+1)^d` box), extending past the edges by `boundary`:
/// the energy map of the Laws family. Running sums in f64, in place.
pub fn abs_box_mean_in_place(
    data: &mut [f32],
    dims: [usize; 3],
    axes: &[usize],
    delta: usize,
    boundary: Boundary,
) {
    let [nx, ny, nz] = dims;
    if data.is_empty() {
        return;
    }
    data.par_iter_mut().for_each(|v| *v = v.abs());
    if delta == 0 {
        return;
    }
    let width = 2 * delta + 1;
    let run = |line: &[f64], out: &mut [f64], prefix: &mut Vec<f64>| {
        let n = line.len();
        prefix.clear();
        prefix.push(0.0);
        let mut acc = 0.0;
        for e in 0..n + 2 * delta {
            if let Some(j) = boundary.map(e as isize - delta as isize, n) {
                acc += line[j];
            }
            prefix.push(acc);
        }
        let k = 1.0 / width as f64;
        for (i, o) in out.iter_mut().enumerate() {
            *o = (prefix[i + width] - prefix[i]) * k;
        }
    };
    for &axis in axes {
        match axis {
            0 => data.par_chunks_mut(nx).for_each(|row| {
                let line: Vec<f64> = row.iter().map(|&v| v as f64).collect();
                let mut out = vec![0.0; nx];
                run(&line, &mut out, &mut Vec::new());
                row.iter_mut().zip(&out).for_each(|(r, &o)| *r = o as f32);
            }),
            1 => data.par_chunks_mut(nx * ny).for_each(|pl| {
                let (mut line, mut out, mut prefix) = (vec![0.0; ny], vec![0.0; ny], Vec::new());
                for x in 0..nx {
                    for y in 0..ny {
                        line[y] = pl[x + nx * y] as f64;
                    }
                    run(&line, &mut out, &mut prefix);
                    for y in 0..ny {
                        pl[x + nx * y] = out[y] as f32;
                    }
                }
            }),
            _ => {
                // Lines along z span the whole volume: one row of columns at a time.
                let plane = nx * ny;
                let (mut line, mut out, mut prefix) = (vec![0.0; nz], vec![0.0; nz], Vec::new());
                for i in 0..plane {
                    for z in 0..nz {
                        line[z] = data[i + plane * z] as f64;
                    }
                    run(&line, &mut out, &mut prefix);
                    for z in 0..nz {
                        data[i + plane * z] = out[z] as f32;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filters::boundary::convolve_axis;

    fn pseudo_random(n: usize) -> Vec<f32> {
        let mut s = 12345u64;
        (0..n)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((s >> 33) % 1000) as f32 / 10.0 - 50.0
            })
            .collect()
    }

    #[test]
    fn slabs_match_axis_by_axis_convolution() {
        let dims = [7, 6, 9];
        let img = pseudo_random(dims.iter().product());
        let k = Separable {
            taps: [
                vec![1.0, -2.0, 0.5],
                vec![0.3, 0.2],
                vec![1.0, 4.0, 6.0, 4.0, 1.0],
            ],
            centre: [1, 0, 3],
        };
        for b in [
            Boundary::Zero,
            Boundary::Nearest,
            Boundary::Periodic,
            Boundary::Mirror,
        ] {
            let mut want = img.clone();
            for a in [2, 1, 0] {
                want = convolve_axis(&want, dims, a, &k.taps[a], k.centre[a], 1, b);
            }
            let mut got = vec![0.0f32; img.len()];
            for_each_slab(&mut got, dims, PLANES_PER_SLAB, |z0, chunk| {
                let mut buf = vec![0.0f64; chunk.len()];
                filter_slab(&img, dims, z0, &k, b, &mut buf, &mut Scratch::default());
                chunk.iter_mut().zip(&buf).for_each(|(c, &v)| *c = v as f32);
            });
            for (g, w) in got.iter().zip(&want) {
                assert!((g - w).abs() < 1e-3, "{b:?}: {g} vs {w}");
            }
        }
    }

    #[test]
    fn box_mean_matches_convolution_with_a_box() {
        let dims = [8, 5, 6];
        let img = pseudo_random(dims.iter().product());
        for b in [Boundary::Zero, Boundary::Mirror, Boundary::Periodic] {
            let mut want: Vec<f32> = img.iter().map(|v| v.abs()).collect();
            let k = vec![1.0 / 5.0; 5];
            for a in 0..3 {
                want = convolve_axis(&want, dims, a, &k, 2, 1, b);
            }
            let mut got = img.clone();
            abs_box_mean_in_place(&mut got, dims, &[0, 1, 2], 2, b);
            for (g, w) in got.iter().zip(&want) {
                assert!((g - w).abs() < 1e-4, "{b:?}: {g} vs {w}");
            }
        }
    }
}
