//! Minimal complex FFT (mixed radix 2, 3, 4, 5; Stockham autosort), batched
//! over the columns of a row-major array. Used for the exact inverse-distance
//! weighted pair sums of Moran's I and Geary's C.

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

/// A forward DFT plan, `X[k] = Σ x[j] e^{-2πi jk/n}`.
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
        self.forward_rows(x, scratch, 1);
    }

    /// Transform every column of the row-major `n × batch` array `x` in place
    /// (element `(j, b)` at `j * batch + b`, the transform runs over `j`);
    /// `scratch` must hold at least `n * batch` values.
    ///
    /// Stockham autosort: in every stage the `stride` interleaved sub-sequences
    /// of one butterfly input are `stride` consecutive rows, so each butterfly
    /// works on contiguous runs of `stride * batch` values (vectorisable, no
    /// transposes). The last stage has unit twiddles and skips the products.
    pub fn forward_rows(&self, x: &mut [C], scratch: &mut [C], batch: usize) {
        let scratch = &mut scratch[..x.len()];
        if self.transform(x, scratch, batch, self.n) {
            x.copy_from_slice(scratch);
        }
    }

    /// [`Plan::forward_rows`] where only the first `rows_in` rows of `x` hold
    /// data: the other rows are taken as zero whatever they contain (no need
    /// to clear the padding). The spectrum ends up in `x` or in `scratch`,
    /// whichever the last stage wrote (the two are swapped then, which saves
    /// a copy); both must have length `n * batch`.
    pub fn forward_rows_padded(
        &self,
        x: &mut Vec<C>,
        scratch: &mut Vec<C>,
        batch: usize,
        rows_in: usize,
    ) {
        assert_eq!(scratch.len(), x.len(), "FFT scratch size");
        if self.transform(x, scratch, batch, rows_in) {
            std::mem::swap(x, scratch);
        }
    }

    /// Run the stages; true when the result is in `scratch`.
    fn transform(&self, x: &mut [C], scratch: &mut [C], batch: usize, rows_in: usize) -> bool {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx") {
            // SAFETY: the CPU supports AVX (checked just above).
            return unsafe { self.transform_avx(x, scratch, batch, rows_in) };
        }
        self.transform_portable(x, scratch, batch, rows_in)
    }

    /// [`Plan::transform`] compiled for AVX: two complex values per
    /// instruction. The operations and their order are the same as in the
    /// portable build (no fused multiply-add), so results are bit-identical.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx")]
    unsafe fn transform_avx(
        &self,
        x: &mut [C],
        scratch: &mut [C],
        batch: usize,
        rows_in: usize,
    ) -> bool {
        self.transform_portable(x, scratch, batch, rows_in)
    }

    #[inline(always)]
    fn transform_portable(
        &self,
        x: &mut [C],
        scratch: &mut [C],
        batch: usize,
        rows_in: usize,
    ) -> bool {
        let n = self.n;
        assert_eq!(x.len(), n * batch, "FFT input size");
        let scratch = &mut scratch[..n * batch];
        // Stands in for the input rows past `rows_in` in the first stage.
        let zeros = vec![C::default(); if rows_in < n { batch } else { 0 }];
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
            let run = stride * batch;
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
                let a = |j: usize| {
                    let row = stride * (p + j * m);
                    if stride == 1 && row >= rows_in {
                        // First stage (stride 1): a padding row.
                        return &zeros[..];
                    }
                    let o = row * batch;
                    &src[o..o + run]
                };
                let out = &mut dst[stride * r * p * batch..stride * r * (p + 1) * batch];
                match r {
                    2 => {
                        let (o0, o1) = out.split_at_mut(run);
                        if p == 0 {
                            radix2::<false>(a(0), a(1), o0, o1, &tw);
                        } else {
                            radix2::<true>(a(0), a(1), o0, o1, &tw);
                        }
                    }
                    3 => {
                        let (o0, rest) = out.split_at_mut(run);
                        let (o1, o2) = rest.split_at_mut(run);
                        let (a0, a1, a2) = (a(0), a(1), a(2));
                        if p == 0 {
                            radix3::<false>([a0, a1, a2], [o0, o1, o2], &tw);
                        } else {
                            radix3::<true>([a0, a1, a2], [o0, o1, o2], &tw);
                        }
                    }
                    4 => {
                        let (o0, rest) = out.split_at_mut(run);
                        let (o1, rest) = rest.split_at_mut(run);
                        let (o2, o3) = rest.split_at_mut(run);
                        let ins = [a(0), a(1), a(2), a(3)];
                        if p == 0 {
                            radix4::<false>(ins, [o0, o1, o2, o3], &tw);
                        } else {
                            radix4::<true>(ins, [o0, o1, o2, o3], &tw);
                        }
                    }
                    _ => {
                        let (o0, rest) = out.split_at_mut(run);
                        let (o1, rest) = rest.split_at_mut(run);
                        let (o2, rest) = rest.split_at_mut(run);
                        let (o3, o4) = rest.split_at_mut(run);
                        let ins = [a(0), a(1), a(2), a(3), a(4)];
                        if p == 0 {
                            radix5::<false>(ins, [o0, o1, o2, o3, o4], &tw);
                        } else {
                            radix5::<true>(ins, [o0, o1, o2, o3, o4], &tw);
                        }
                    }
                }
            }
            stride *= r;
            len = m;
            in_x = !in_x;
        }
        !in_x
    }
}

/// `v · tw` when `TW`, else `v` (unit twiddle).
#[inline(always)]
fn tw_mul<const TW: bool>(v: C, tw: C) -> C {
    if TW {
        v.times(tw)
    } else {
        v
    }
}

#[inline(always)]
fn radix2<const TW: bool>(a0: &[C], a1: &[C], o0: &mut [C], o1: &mut [C], tw: &[C; 5]) {
    let l = o0.len();
    let (a0, a1, o1) = (&a0[..l], &a1[..l], &mut o1[..l]);
    for i in 0..l {
        let (x0, x1) = (a0[i], a1[i]);
        o0[i] = x0.plus(x1);
        o1[i] = tw_mul::<TW>(x0.minus(x1), tw[1]);
    }
}

#[inline(always)]
fn radix3<const TW: bool>(a: [&[C]; 3], o: [&mut [C]; 3], tw: &[C; 5]) {
    let [o0, o1, o2] = o;
    let l = o0.len();
    let (a0, a1, a2) = (&a[0][..l], &a[1][..l], &a[2][..l]);
    let (o1, o2) = (&mut o1[..l], &mut o2[..l]);
    for i in 0..l {
        let (x0, x1, x2) = (a0[i], a1[i], a2[i]);
        let t1 = x1.plus(x2);
        let t2 = C::new(x0.re - 0.5 * t1.re, x0.im - 0.5 * t1.im);
        let d = x1.minus(x2);
        // (x1 − x2) · (−i √3/2)
        let t3 = C::new(SIN_60 * d.im, -SIN_60 * d.re);
        o0[i] = x0.plus(t1);
        o1[i] = tw_mul::<TW>(t2.plus(t3), tw[1]);
        o2[i] = tw_mul::<TW>(t2.minus(t3), tw[2]);
    }
}

#[inline(always)]
fn radix4<const TW: bool>(a: [&[C]; 4], o: [&mut [C]; 4], tw: &[C; 5]) {
    let [o0, o1, o2, o3] = o;
    let l = o0.len();
    let (a0, a1, a2, a3) = (&a[0][..l], &a[1][..l], &a[2][..l], &a[3][..l]);
    let (o1, o2, o3) = (&mut o1[..l], &mut o2[..l], &mut o3[..l]);
    for i in 0..l {
        let (x0, x1, x2, x3) = (a0[i], a1[i], a2[i], a3[i]);
        let t0 = x0.plus(x2);
        let t1 = x0.minus(x2);
        let t2 = x1.plus(x3);
        let d = x1.minus(x3);
        let t3 = C::new(d.im, -d.re); // (x1 − x3) · (−i)
        o0[i] = t0.plus(t2);
        o1[i] = tw_mul::<TW>(t1.plus(t3), tw[1]);
        o2[i] = tw_mul::<TW>(t0.minus(t2), tw[2]);
        o3[i] = tw_mul::<TW>(t1.minus(t3), tw[3]);
    }
}

#[inline(always)]
fn radix5<const TW: bool>(a: [&[C]; 5], o: [&mut [C]; 5], tw: &[C; 5]) {
    let [o0, o1, o2, o3, o4] = o;
    let l = o0.len();
    let (a0, a1, a2, a3, a4) = (&a[0][..l], &a[1][..l], &a[2][..l], &a[3][..l], &a[4][..l]);
    let (o1, o2, o3, o4) = (&mut o1[..l], &mut o2[..l], &mut o3[..l], &mut o4[..l]);
    let mi = |v: C| C::new(v.im, -v.re); // −i·v
    for i in 0..l {
        let x0 = a0[i];
        let (x1, x2, x3, x4) = (a1[i], a2[i], a3[i], a4[i]);
        let b1 = x1.plus(x4);
        let b2 = x2.plus(x3);
        let d1 = x1.minus(x4);
        let d2 = x2.minus(x3);
        let r1 = C::new(
            x0.re + COS_72 * b1.re + COS_144 * b2.re,
            x0.im + COS_72 * b1.im + COS_144 * b2.im,
        );
        let r2 = C::new(
            x0.re + COS_144 * b1.re + COS_72 * b2.re,
            x0.im + COS_144 * b1.im + COS_72 * b2.im,
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
        o0[i] = x0.plus(b1).plus(b2);
        o1[i] = tw_mul::<TW>(r1.plus(mi(i1)), tw[1]);
        o2[i] = tw_mul::<TW>(r2.plus(mi(i2)), tw[2]);
        o3[i] = tw_mul::<TW>(r2.minus(mi(i2)), tw[3]);
        o4[i] = tw_mul::<TW>(r1.minus(mi(i1)), tw[4]);
    }
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
    fn batched_columns_match_single_lines() {
        for (n, batch) in [(1, 3), (6, 5), (12, 7), (60, 4), (200, 3)] {
            let x: Vec<C> = (0..n * batch)
                .map(|i| C::new((i as f64 * 0.71).sin(), (i as f64 * 0.19).cos()))
                .collect();
            let mut y = x.clone();
            let mut s = vec![C::default(); n * batch];
            let plan = Plan::new(n);
            plan.forward_rows(&mut y, &mut s, batch);
            for b in 0..batch {
                let col: Vec<C> = (0..n).map(|j| x[j * batch + b]).collect();
                let z = naive(&col);
                for k in 0..n {
                    let d = y[k * batch + b].minus(z[k]);
                    assert!(d.norm2().sqrt() < 1e-9, "n={n} b={b} k={k}");
                }
            }
        }
    }

    #[test]
    fn padding_rows_are_ignored() {
        for (n, batch, rows_in) in [(8, 3, 3), (12, 2, 7), (60, 5, 31), (200, 4, 98)] {
            let mut x: Vec<C> = (0..n * batch)
                .map(|i| C::new((i as f64 * 0.3).sin(), (i as f64 * 0.8).cos()))
                .collect();
            let mut clean = x.clone();
            clean[rows_in * batch..].fill(C::default());
            // Garbage in the padding rows and in the scratch.
            x[rows_in * batch..].fill(C::new(1e9, -1e9));
            let mut s = vec![C::new(7.0, 7.0); n * batch];
            let plan = Plan::new(n);
            plan.forward_rows_padded(&mut x, &mut s, batch, rows_in);
            let mut s2 = vec![C::default(); n * batch];
            plan.forward_rows(&mut clean, &mut s2, batch);
            assert_eq!(x, clean, "n={n}");
        }
    }

    #[test]
    fn avx_build_is_bit_identical() {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx") {
            for (n, batch) in [(64, 7), (200, 3), (192, 5), (75, 2)] {
                let x: Vec<C> = (0..n * batch)
                    .map(|i| C::new((i as f64 * 0.13).sin() * 1e3, (i as f64 * 0.7).cos()))
                    .collect();
                let plan = Plan::new(n);
                let (mut a, mut b) = (x.clone(), x);
                let mut s = vec![C::default(); n * batch];
                let in_a = plan.transform_portable(&mut a, &mut s, batch, n);
                let a = if in_a { s.clone() } else { a };
                // SAFETY: AVX is available (checked above).
                let in_b = unsafe { plan.transform_avx(&mut b, &mut s, batch, n) };
                let b = if in_b { s } else { b };
                assert!(a
                    .iter()
                    .zip(&b)
                    .all(|(p, q)| p.re.to_bits() == q.re.to_bits()
                        && p.im.to_bits() == q.im.to_bits()));
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
