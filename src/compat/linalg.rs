//! Eigenvalues of small symmetric matrices (cyclic Jacobi rotations).

/// Eigenvalues of the symmetric `n × n` row-major matrix `a`, ascending.
/// Jacobi rotations are accurate to a few ulps relative to the largest
/// eigenvalue, which is all the callers need.
pub(crate) fn symmetric_eigenvalues(mut a: Vec<f64>, n: usize) -> Vec<f64> {
    debug_assert_eq!(a.len(), n * n);
    for _sweep in 0..100 {
        let off: f64 = (0..n)
            .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i * n + j] * a[i * n + j])
            .sum();
        let diag: f64 = (0..n).map(|i| a[i * n + i] * a[i * n + i]).sum();
        if off <= 1e-30 * diag || off == 0.0 {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = a[p * n + q];
                if apq == 0.0 {
                    continue;
                }
                let (app, aqq) = (a[p * n + p], a[q * n + q]);
                let theta = (aqq - app) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..n {
                    let (akp, akq) = (a[k * n + p], a[k * n + q]);
                    a[k * n + p] = c * akp - s * akq;
                    a[k * n + q] = s * akp + c * akq;
                }
                for k in 0..n {
                    let (apk, aqk) = (a[p * n + k], a[q * n + k]);
                    a[p * n + k] = c * apk - s * aqk;
                    a[q * n + k] = s * apk + c * aqk;
                }
            }
        }
    }
    let mut ev: Vec<f64> = (0..n).map(|i| a[i * n + i]).collect();
    ev.sort_by(f64::total_cmp);
    ev
}

/// [`symmetric_eigenvalues`] of several `n × n` matrices at once, with
/// bit-identical results.
///
/// One Jacobi rotation depends on the previous one through the matrix
/// (about a hundred cycles of divisions and square roots in a row), so one
/// matrix at a time leaves the processor waiting. Here the matrices advance
/// in lockstep: for each (p, q) the rotations of all matrices are computed
/// together (independent chains that overlap), then applied with the
/// matrices interleaved element by element (`a[e · B + b]` for element e of
/// matrix b), so the updates run across matrices. Every matrix goes through
/// exactly the operations of [`symmetric_eigenvalues`] in the same order:
/// its own convergence test per sweep, its own skipped rotations.
pub(crate) fn symmetric_eigenvalues_batch(mats: &[&[f64]], n: usize) -> Vec<Vec<f64>> {
    let nb = mats.len();
    let mut a = vec![0.0; n * n * nb];
    for (b, m) in mats.iter().enumerate() {
        debug_assert_eq!(m.len(), n * n);
        for (e, &v) in m.iter().enumerate() {
            a[e * nb + b] = v;
        }
    }
    let at = |i: usize, j: usize| (i * n + j) * nb;
    let mut active = vec![true; nb];
    let (mut c, mut s, mut rotate) = (vec![0.0; nb], vec![0.0; nb], vec![false; nb]);
    for _sweep in 0..100 {
        for (b, act) in active.iter_mut().enumerate() {
            if !*act {
                continue;
            }
            let (mut off, mut diag) = (-0.0, -0.0);
            for i in 0..n {
                for j in 0..n {
                    let v = a[at(i, j) + b];
                    if j != i {
                        off += v * v;
                    } else {
                        diag += v * v;
                    }
                }
            }
            if off <= 1e-30 * diag || off == 0.0 {
                *act = false;
            }
        }
        if !active.contains(&true) {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                let mut all = true;
                let mut any = false;
                for b in 0..nb {
                    let apq = a[at(p, q) + b];
                    rotate[b] = active[b] && apq != 0.0;
                    all &= rotate[b];
                    any |= rotate[b];
                    if !rotate[b] {
                        continue;
                    }
                    let (app, aqq) = (a[at(p, p) + b], a[at(q, q) + b]);
                    let theta = (aqq - app) / (2.0 * apq);
                    let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                    let t = if theta == 0.0 { 1.0 } else { t };
                    c[b] = 1.0 / (t * t + 1.0).sqrt();
                    s[b] = t * c[b];
                }
                if !any {
                    continue;
                }
                // Columns p and q, then rows p and q, as in the one-matrix
                // version.
                for k in 0..n {
                    rotate_pair(&mut a, at(k, p), at(k, q), &c, &s, &rotate, all);
                }
                for k in 0..n {
                    rotate_pair(&mut a, at(p, k), at(q, k), &c, &s, &rotate, all);
                }
            }
        }
    }
    (0..nb)
        .map(|b| {
            let mut ev: Vec<f64> = (0..n).map(|i| a[at(i, i) + b]).collect();
            ev.sort_by(f64::total_cmp);
            ev
        })
        .collect()
}

/// `(x, y) ← (c x − s y, s x + c y)` for the elements at `i` and `j` of
/// every matrix b with `rotate[b]` (`all`: every matrix rotates, the loop
/// without the test).
#[inline]
fn rotate_pair(
    a: &mut [f64],
    i: usize,
    j: usize,
    c: &[f64],
    s: &[f64],
    rotate: &[bool],
    all: bool,
) {
    let nb = c.len();
    let (lo, hi) = a.split_at_mut(j);
    let (x, y) = (&mut lo[i..i + nb], &mut hi[..nb]);
    if all {
        for ((((x, y), &c), &s), _) in x.iter_mut().zip(y.iter_mut()).zip(c).zip(s).zip(rotate) {
            let (u, v) = (*x, *y);
            *x = c * u - s * v;
            *y = s * u + c * v;
        }
    } else {
        for ((((x, y), &c), &s), &r) in x.iter_mut().zip(y.iter_mut()).zip(c).zip(s).zip(rotate) {
            if r {
                let (u, v) = (*x, *y);
                *x = c * u - s * v;
                *y = s * u + c * v;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eigenvalues_of_known_matrices() {
        let ev = symmetric_eigenvalues(vec![2.0, 1.0, 1.0, 2.0], 2);
        assert!((ev[0] - 1.0).abs() < 1e-14 && (ev[1] - 3.0).abs() < 1e-14);
        let ev = symmetric_eigenvalues(vec![4.0, 1.0, 0.0, 1.0, 3.0, 1.0, 0.0, 1.0, 2.0], 3);
        // Trace 9, determinant 18.
        assert!((ev.iter().sum::<f64>() - 9.0).abs() < 1e-12);
        assert!((ev.iter().product::<f64>() - 18.0).abs() < 1e-10);
        assert!(ev[0] <= ev[1] && ev[1] <= ev[2]);
    }

    #[test]
    fn batch_is_bit_identical_to_one_at_a_time() {
        let mut seed = 7u64;
        let mut rnd = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 11) as f64 / (1u64 << 53) as f64
        };
        let n = 9;
        let mats: Vec<Vec<f64>> = (0..5)
            .map(|m| {
                let mut a = vec![0.0; n * n];
                for i in 0..n {
                    for j in i..n {
                        // Sparse and banded in places: exact zeros skip rotations.
                        let v = if (j - i) > m + 1 { 0.0 } else { rnd() - 0.3 };
                        a[i * n + j] = v;
                        a[j * n + i] = v;
                    }
                }
                a
            })
            .collect();
        let refs: Vec<&[f64]> = mats.iter().map(|m| &m[..]).collect();
        let batch = symmetric_eigenvalues_batch(&refs, n);
        for (m, ev) in mats.iter().zip(&batch) {
            let one = symmetric_eigenvalues(m.clone(), n);
            assert_eq!(
                one.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                ev.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
            );
        }
    }
}
