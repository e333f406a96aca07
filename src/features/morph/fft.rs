//! Minimal complex FFT (mixed radix 2, 3, 4, 5; Stockham autosort) and a 3D
//! transform over a grid of such lengths. Used for the exact inverse-distance
//! weighted pair sums of Moran's I and Geary's C.

use rayon::prelude::*;
use std::f64::consts::PI;

const SIN_60: f64 = 0.866_025_403_784_438_6;
const COS_72: f64 = 0.309_016_994_374_947_45;
const SIN_72: f64 = 0.951_056_516_295_153_5;
const COS_144: f64 = -0.809_016_994_374_947_5;
const SIN_144: f64 = 0.587_785_252_292_473_1;

#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct C {
    pub re: f64,
    pub im: f64,
}

impl C {
    #[inline]
    pub fn new(re: f64, im: f64) -> C {
        C { re, im }
    }
    #[inline]
    pub fn plus(self, o: C) -> C {
        C::new(self.re + o.re, self.im + o.im)
    }
    #[inline]
    pub fn minus(self, o: C) -> C {
        C::new(self.re - o.re, self.im - o.im)
    }
    #[inline]
    pub fn times(self, o: C) -> C {
        C::new(
            self.re * o.re - self.im * o.im,
            self.re * o.im + self.im * o.re,
        )
    }
    #[inline]
    pub fn conj(self) -> C {
        C::new(self.re, -self.im)
    }
    #[inline]
    pub fn norm2(self) -> f64 {
        self.re * self.re + self.im * self.im
    }
}

/// Smallest n' ≥ n whose prime factors are 2, 3 and 5.
pub fn good_size(n: usize) -> usize {
    let mut m = n.max(1);
    loop {
        let mut r = m;
        for p in [2, 3, 5] {
            while r.is_multiple_of(p) {
                r /= p;
            }
        }
        if r == 1 {
            return m;
        }
        m += 1;
    }
}

/// A forward DFT plan, X[k] = Σ x[j] e^{-2πi jk/n}.
pub struct Plan {
    n: usize,
    radices: Vec<usize>,
    /// e^{-2πi t / n}, t in 0..n.
    w: Vec<C>,
}

impl Plan {
    pub fn new(n: usize) -> Plan {
        let mut radices = Vec::new();
        let mut r = n;
        while r.is_multiple_of(4) {
            radices.push(4);
            r /= 4;
        }
        for p in [2, 3, 5] {
            while r.is_multiple_of(p) {
                radices.push(p);
                r /= p;
            }
        }
        assert_eq!(r, 1, "FFT length {n} must factor into 2, 3, 5");
        let w = (0..n)
            .map(|t| {
                let a = -2.0 * PI * t as f64 / n as f64;
                C::new(a.cos(), a.sin())
            })
            .collect();
        Plan { n, radices, w }
    }

    /// Transform `x` in place; `scratch` must have the same length.
    pub fn forward(&self, x: &mut [C], scratch: &mut [C]) {
        let n = self.n;
        debug_assert_eq!(x.len(), n);
        let mut stride = 1; // s: number of interleaved sub-sequences
        let mut len = n; // current sub-sequence length
        let mut in_x = true;
        for &r in &self.radices {
            let m = len / r;
            let tw_step = n / len; // ω_len = W_n^{tw_step}
            let (src, dst): (&[C], &mut [C]) = if in_x {
                (&*x, &mut *scratch)
            } else {
                (&*scratch, &mut *x)
            };
            // Radix-r DIF butterflies: y[q + s(rp + k)] = (Σ_j a_j ω_r^{jk}) ω_len^{pk}.
            for p in 0..m {
                let base = tw_step * p;
                // base * k < n because p < m and k < r.
                let tw: [C; 5] = std::array::from_fn(|k| {
                    if k < r {
                        self.w[base * k]
                    } else {
                        C::default()
                    }
                });
                let s_in = |j: usize, q: usize| src[q + stride * (p + j * m)];
                let out = stride * r * p;
                match r {
                    2 => {
                        for q in 0..stride {
                            let (a0, a1) = (s_in(0, q), s_in(1, q));
                            dst[out + q] = a0.plus(a1);
                            dst[out + stride + q] = a0.minus(a1).times(tw[1]);
                        }
                    }
                    3 => {
                        for q in 0..stride {
                            let (a0, a1, a2) = (s_in(0, q), s_in(1, q), s_in(2, q));
                            let t1 = a1.plus(a2);
                            let t2 = C::new(a0.re - 0.5 * t1.re, a0.im - 0.5 * t1.im);
                            let d = a1.minus(a2);
                            // (a1 − a2) · (−i √3/2)
                            let t3 = C::new(SIN_60 * d.im, -SIN_60 * d.re);
                            dst[out + q] = a0.plus(t1);
                            dst[out + stride + q] = t2.plus(t3).times(tw[1]);
                            dst[out + 2 * stride + q] = t2.minus(t3).times(tw[2]);
                        }
                    }
                    4 => {
                        for q in 0..stride {
                            let (a0, a1, a2, a3) = (s_in(0, q), s_in(1, q), s_in(2, q), s_in(3, q));
                            let t0 = a0.plus(a2);
                            let t1 = a0.minus(a2);
                            let t2 = a1.plus(a3);
                            let d = a1.minus(a3);
                            let t3 = C::new(d.im, -d.re); // (a1 − a3) · (−i)
                            dst[out + q] = t0.plus(t2);
                            dst[out + stride + q] = t1.plus(t3).times(tw[1]);
                            dst[out + 2 * stride + q] = t0.minus(t2).times(tw[2]);
                            dst[out + 3 * stride + q] = t1.minus(t3).times(tw[3]);
                        }
                    }
                    _ => {
                        for q in 0..stride {
                            let a0 = s_in(0, q);
                            let (a1, a2, a3, a4) = (s_in(1, q), s_in(2, q), s_in(3, q), s_in(4, q));
                            let b1 = a1.plus(a4);
                            let b2 = a2.plus(a3);
                            let d1 = a1.minus(a4);
                            let d2 = a2.minus(a3);
                            let r1 = C::new(
                                a0.re + COS_72 * b1.re + COS_144 * b2.re,
                                a0.im + COS_72 * b1.im + COS_144 * b2.im,
                            );
                            let r2 = C::new(
                                a0.re + COS_144 * b1.re + COS_72 * b2.re,
                                a0.im + COS_144 * b1.im + COS_72 * b2.im,
                            );
                            // i1 = s1 d1 + s2 d2, i2 = s2 d1 − s1 d2; X = r ∓ i·(…).
                            let i1 = C::new(
                                SIN_72 * d1.re + SIN_144 * d2.re,
                                SIN_72 * d1.im + SIN_144 * d2.im,
                            );
                            let i2 = C::new(
                                SIN_144 * d1.re - SIN_72 * d2.re,
                                SIN_144 * d1.im - SIN_72 * d2.im,
                            );
                            let mi = |v: C| C::new(v.im, -v.re); // −i·v
                            dst[out + q] = a0.plus(b1).plus(b2);
                            dst[out + stride + q] = r1.plus(mi(i1)).times(tw[1]);
                            dst[out + 2 * stride + q] = r2.plus(mi(i2)).times(tw[2]);
                            dst[out + 3 * stride + q] = r2.minus(mi(i2)).times(tw[3]);
                            dst[out + 4 * stride + q] = r1.minus(mi(i1)).times(tw[4]);
                        }
                    }
                }
            }
            stride *= r;
            len = m;
            in_x = !in_x;
        }
        if !in_x {
            x.copy_from_slice(scratch);
        }
    }
}

/// Forward 3D DFT of `data` (x-fastest, size `dims`), in place, where `data`
/// is zero outside the box `[0, extent)` (lines that are all zero are skipped).
/// The spectrum keeps the x-fastest order: index `kx + nx * (ky + ny * kz)`.
pub fn fft3(data: Vec<C>, dims: [usize; 3], extent: [usize; 3]) -> Vec<C> {
    let [nx, ny, nz] = dims;
    let (px, py, pz) = (Plan::new(nx), Plan::new(ny), Plan::new(nz));
    let mut data = data;
    let plane = nx * ny;
    // x and y transforms within each z-plane that holds data.
    data.par_chunks_mut(plane).take(extent[2]).for_each(|pl| {
        let mut scratch = vec![C::default(); nx.max(ny)];
        for row in pl.chunks_mut(nx).take(extent[1]) {
            px.forward(row, &mut scratch[..nx]);
        }
        // Transpose so the y-lines are contiguous, transform, transpose back.
        let mut t = vec![C::default(); plane];
        for y in 0..ny {
            for x in 0..nx {
                t[x * ny + y] = pl[x + nx * y];
            }
        }
        for col in t.chunks_mut(ny) {
            py.forward(col, &mut scratch[..ny]);
        }
        for y in 0..ny {
            for x in 0..nx {
                pl[x + nx * y] = t[x * ny + y];
            }
        }
    });
    // z transforms: a few y-rows at a time, gather their z-lines into small
    // blocks, transform in parallel and scatter back, so no second full-size
    // array is needed (the grid is 8× the ROI box; this bounds peak memory).
    let batch = 2 * rayon::current_num_threads().max(1);
    for y0 in (0..ny).step_by(batch) {
        let ys = y0..(y0 + batch).min(ny);
        let src = &data;
        let blocks: Vec<Vec<C>> = ys
            .clone()
            .into_par_iter()
            .map(|y| {
                let mut block = vec![C::default(); nz * nx];
                for z in 0..extent[2] {
                    let row = &src[nx * y + plane * z..nx * y + plane * z + nx];
                    for (x, &v) in row.iter().enumerate() {
                        block[x * nz + z] = v;
                    }
                }
                let mut scratch = vec![C::default(); nz];
                for line in block.chunks_mut(nz) {
                    pz.forward(line, &mut scratch);
                }
                block
            })
            .collect();
        for (y, block) in ys.zip(blocks) {
            for z in 0..nz {
                let row = &mut data[nx * y + plane * z..nx * y + plane * z + nx];
                for (x, v) in row.iter_mut().enumerate() {
                    *v = block[x * nz + z];
                }
            }
        }
    }
    data
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(x: &[C]) -> Vec<C> {
        let n = x.len();
        (0..n)
            .map(|k| {
                let mut s = C::default();
                for (j, &v) in x.iter().enumerate() {
                    let a = -2.0 * PI * (j * k) as f64 / n as f64;
                    s = s.plus(v.times(C::new(a.cos(), a.sin())));
                }
                s
            })
            .collect()
    }

    #[test]
    fn matches_naive_dft() {
        for n in [1, 2, 3, 4, 5, 6, 8, 12, 30, 54, 60, 200] {
            let x: Vec<C> = (0..n)
                .map(|i| C::new((i as f64 * 0.37).sin(), (i as f64 * 1.3).cos()))
                .collect();
            let mut y = x.clone();
            let mut s = vec![C::default(); n];
            Plan::new(n).forward(&mut y, &mut s);
            let z = naive(&x);
            for k in 0..n {
                assert!((y[k].minus(z[k])).norm2().sqrt() < 1e-9, "n={n} k={k}");
            }
        }
    }

    #[test]
    fn good_sizes() {
        assert_eq!(good_size(199), 200);
        assert_eq!(good_size(51), 54);
        assert_eq!(good_size(7), 8);
        assert_eq!(good_size(1), 1);
    }
}
