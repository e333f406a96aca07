//! Minimal complex FFT (mixed radix 2, 3, 4, 5; Stockham autosort) and a 3D
//! transform over a grid of such lengths. Used for the exact inverse-distance
//! weighted pair sums of Moran's I and Geary's C.

use rayon::prelude::*;
use std::f64::consts::PI;

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
    pub fn add(self, o: C) -> C {
        C::new(self.re + o.re, self.im + o.im)
    }
    #[inline]
    pub fn sub(self, o: C) -> C {
        C::new(self.re - o.re, self.im - o.im)
    }
    #[inline]
    pub fn mul(self, o: C) -> C {
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
            while r % p == 0 {
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
        while r % 4 == 0 {
            radices.push(4);
            r /= 4;
        }
        for p in [2, 3, 5] {
            while r % p == 0 {
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
            let mut wrk = [C::default(); 25];
            for j in 0..r {
                for k in 0..r {
                    wrk[j * r + k] = self.w[(n / r) * ((j * k) % r)];
                }
            }
            for p in 0..m {
                let base = tw_step * p;
                for q in 0..stride {
                    let mut a = [C::default(); 5];
                    for (j, aj) in a.iter_mut().enumerate().take(r) {
                        *aj = src[q + stride * (p + j * m)];
                    }
                    for k in 0..r {
                        let mut acc = a[0];
                        for j in 1..r {
                            acc = acc.add(a[j].mul(wrk[j * r + k]));
                        }
                        // base * k < n because p < m and k < r.
                        dst[q + stride * (r * p + k)] = if k == 0 {
                            acc
                        } else {
                            acc.mul(self.w[base * k])
                        };
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

/// In-place forward 3D DFT of `data` (x-fastest, size `dims`). Returns the
/// spectrum in **z-fastest** order: index `kz + nz * (kx + nx * ky)`.
pub fn fft3(data: Vec<C>, dims: [usize; 3]) -> Vec<C> {
    let [nx, ny, nz] = dims;
    let (px, py, pz) = (Plan::new(nx), Plan::new(ny), Plan::new(nz));
    let mut data = data;
    // x and y transforms within each z-plane.
    data.par_chunks_mut(nx * ny).for_each(|plane| {
        let mut scratch = vec![C::default(); nx.max(ny)];
        for row in plane.chunks_mut(nx) {
            px.forward(row, &mut scratch[..nx]);
        }
        let mut col = vec![C::default(); ny];
        for x in 0..nx {
            for y in 0..ny {
                col[y] = plane[x + nx * y];
            }
            py.forward(&mut col, &mut scratch[..ny]);
            for y in 0..ny {
                plane[x + nx * y] = col[y];
            }
        }
    });
    // Gather z-lines (transposing to z-fastest) and transform them.
    let mut out = vec![C::default(); data.len()];
    let plane = nx * ny;
    out.par_chunks_mut(nz * nx).enumerate().for_each(|(y, block)| {
        let mut scratch = vec![C::default(); nz];
        for (x, line) in block.chunks_mut(nz).enumerate() {
            for (z, v) in line.iter_mut().enumerate() {
                *v = data[x + nx * y + plane * z];
            }
            pz.forward(line, &mut scratch);
        }
    });
    out
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
                    s = s.add(v.mul(C::new(a.cos(), a.sin())));
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
                assert!((y[k].sub(z[k])).norm2().sqrt() < 1e-9, "n={n} k={k}");
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
