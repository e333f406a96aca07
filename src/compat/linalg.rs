//! Eigenvalues of symmetric matrices: all of a small one (cyclic Jacobi
//! rotations), or one of them (Householder tridiagonalisation, bisection).

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

/// The `k`-th smallest eigenvalue (0-based) of the symmetric `n × n`
/// row-major matrix `a` (overwritten), for `k < n`.
///
/// Householder reflections bring `a` to a tridiagonal T with the same
/// eigenvalues ([`tridiagonalise`], about 4n³/3 flops where Jacobi sweeps
/// take several times 4n³ each), then bisection with Sturm counts
/// ([`bisect_eigenvalue`]) finds the wanted eigenvalue of T alone. Both are
/// backward stable: the result is within a small multiple of n · 2⁻⁵³ · ‖a‖
/// of the exact value, the accuracy of [`symmetric_eigenvalues`] too (their
/// last bits differ).
pub(crate) fn symmetric_eigenvalue(a: &mut [f64], n: usize, k: usize) -> f64 {
    debug_assert!(k < n && a.len() == n * n);
    let (d, e) = tridiagonalise(a, n);
    bisect_eigenvalue(&d, &e, k)
}

/// Diagonal d (n) and off-diagonal e (n − 1) of a tridiagonal matrix similar
/// to the symmetric `a` (`n × n`, row-major, overwritten).
///
/// Step k reflects rows and columns k + 1.. with H = I − β v vᵀ, chosen so
/// that H x = α e₁ for the column part x = a[k + 1.., k]: v = x − α e₁,
/// α = −sign(x₀) ‖x‖ (no cancellation in v₀), β = 2 / vᵀv = 1 / (‖x‖ (‖x‖ + |x₀|)).
/// The trailing block B becomes H B H = B − v wᵀ − w vᵀ with p = β B v,
/// w = p − (β pᵀv / 2) v (Golub & Van Loan, § 8.3.1).
fn tridiagonalise(a: &mut [f64], n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut d = vec![0.0; n];
    let mut e = vec![0.0; n.saturating_sub(1)];
    let (mut v, mut w) = (vec![0.0; n], vec![0.0; n]);
    for k in 0..n.saturating_sub(2) {
        d[k] = a[k * n + k];
        let x0 = a[(k + 1) * n + k];
        let sigma: f64 = (k + 2..n).map(|i| a[i * n + k] * a[i * n + k]).sum();
        if sigma == 0.0 {
            // The column is tridiagonal already.
            e[k] = x0;
            continue;
        }
        let norm = (x0 * x0 + sigma).sqrt();
        let alpha = if x0 > 0.0 { -norm } else { norm };
        let beta = 1.0 / (norm * (norm + x0.abs()));
        e[k] = alpha;
        // v and w over the trailing block's indices k + 1..n.
        let r = n - k - 1;
        let (v, w) = (&mut v[..r], &mut w[..r]);
        v[0] = x0 - alpha;
        for i in 1..r {
            v[i] = a[(k + 1 + i) * n + k];
        }
        let mut pv = 0.0;
        for i in 0..r {
            let row = &a[(k + 1 + i) * n + k + 1..][..r];
            let p = beta * row.iter().zip(v.iter()).map(|(b, v)| b * v).sum::<f64>();
            w[i] = p;
            pv += p * v[i];
        }
        let half = 0.5 * beta * pv;
        for (w, &v) in w.iter_mut().zip(v.iter()) {
            *w -= half * v;
        }
        for i in 0..r {
            let (vi, wi) = (v[i], w[i]);
            let row = &mut a[(k + 1 + i) * n + k + 1..][..r];
            for ((b, &vj), &wj) in row.iter_mut().zip(v.iter()).zip(w.iter()) {
                *b -= vi * wj + wi * vj;
            }
        }
    }
    if n >= 2 {
        d[n - 2] = a[(n - 2) * n + n - 2];
        e[n - 2] = a[(n - 1) * n + n - 2];
    }
    if n >= 1 {
        d[n - 1] = a[(n - 1) * n + n - 1];
    }
    (d, e)
}

/// The `k`-th smallest eigenvalue (0-based) of the symmetric tridiagonal
/// matrix with diagonal `d` and off-diagonal `e`, by bisection.
///
/// The Sturm count of x, the number of negative pivots of the LDLᵀ
/// factorisation of T − x I (q₀ = d₀ − x, qᵢ = dᵢ − x − eᵢ₋₁² / qᵢ₋₁), is the
/// number of eigenvalues below x; the interval from the Gershgorin bounds
/// is halved until it holds no float strictly inside. A zero pivot is
/// replaced by a tiny negative one (as LAPACK's `dstebz` does).
fn bisect_eigenvalue(d: &[f64], e: &[f64], k: usize) -> f64 {
    let n = d.len();
    let e2: Vec<f64> = e.iter().map(|e| e * e).collect();
    let pivmin = f64::MIN_POSITIVE * e2.iter().copied().fold(1.0, f64::max);
    let radius = |i: usize| {
        (if i > 0 { e[i - 1].abs() } else { 0.0 }) + (if i + 1 < n { e[i].abs() } else { 0.0 })
    };
    let mut lo = (0..n)
        .map(|i| d[i] - radius(i))
        .fold(f64::INFINITY, f64::min);
    let mut hi = (0..n)
        .map(|i| d[i] + radius(i))
        .fold(f64::NEG_INFINITY, f64::max);
    // Widen a little: the bounds are computed in floating point.
    let pad = 2.0 * f64::EPSILON * lo.abs().max(hi.abs()) + pivmin;
    (lo, hi) = (lo - pad, hi + pad);
    let below = |x: f64| {
        let mut count = 0;
        let mut q = d[0] - x;
        for i in 0..n {
            if i > 0 {
                q = d[i] - x - e2[i - 1] / q;
            }
            if q.abs() < pivmin {
                q = -pivmin;
            }
            count += usize::from(q < 0.0);
        }
        count
    };
    loop {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi {
            break;
        }
        if below(mid) > k {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    0.5 * (lo + hi)
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
    fn one_eigenvalue_matches_jacobi() {
        let mut seed = 7u64;
        let mut rnd = || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 11) as f64 / (1u64 << 53) as f64
        };
        for n in [1, 2, 3, 5, 9, 26] {
            for m in 0..4 {
                let mut a = vec![0.0; n * n];
                for i in 0..n {
                    for j in i..n {
                        // Sparse and banded in places: zero columns in the
                        // reduction, repeated eigenvalues for m = 0.
                        let v = if m == 0 {
                            f64::from(u8::from(i == j))
                        } else if (j - i) > m + 1 {
                            0.0
                        } else {
                            rnd() - 0.3
                        };
                        a[i * n + j] = v;
                        a[j * n + i] = v;
                    }
                }
                let all = symmetric_eigenvalues(a.clone(), n);
                let scale = all.iter().fold(1.0f64, |s, v| s.max(v.abs()));
                for (k, &ev) in all.iter().enumerate() {
                    let one = symmetric_eigenvalue(&mut a.clone(), n, k);
                    assert!(
                        (one - ev).abs() <= 1e-14 * scale,
                        "n {n} m {m} k {k}: {one} vs {ev}"
                    );
                }
            }
        }
    }
}
