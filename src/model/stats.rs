//! Small numerical helpers: special functions for p-values, quantiles and a
//! seeded PRNG (so results are reproducible without a `rand` dependency).

/// 97.5 % quantile of the standard normal distribution (two-sided 95 % intervals).
pub const Z_975: f64 = 1.959_963_984_540_054;

/// ln Γ(x) for x > 0 (Lanczos approximation, g = 7, 9 terms; ~1e-15 relative).
pub fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection formula.
        return (std::f64::consts::PI / (std::f64::consts::PI * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut a = C[0];
    let t = x + G + 0.5;
    for (i, c) in C.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// Regularised upper incomplete gamma Q(a, x) = Γ(a, x)/Γ(a): series for
/// x < a + 1, Lentz continued fraction otherwise.
pub fn gamma_q(a: f64, x: f64) -> f64 {
    if x.is_nan() || a <= 0.0 {
        return f64::NAN;
    }
    if x <= 0.0 {
        return 1.0;
    }
    if x.is_infinite() {
        return 0.0;
    }
    let lnpre = -x + a * x.ln() - ln_gamma(a);
    if x < a + 1.0 {
        let mut sum = 1.0 / a;
        let mut term = sum;
        let mut ap = a;
        for _ in 0..10_000 {
            ap += 1.0;
            term *= x / ap;
            sum += term;
            if term.abs() < sum.abs() * 1e-16 {
                break;
            }
        }
        1.0 - sum * lnpre.exp()
    } else {
        let tiny = 1e-300;
        let mut b = x + 1.0 - a;
        let mut c = 1.0 / tiny;
        let mut d = 1.0 / b;
        let mut h = d;
        for i in 1..10_000 {
            let an = -(i as f64) * (i as f64 - a);
            b += 2.0;
            d = an * d + b;
            if d.abs() < tiny {
                d = tiny;
            }
            c = b + an / c;
            if c.abs() < tiny {
                c = tiny;
            }
            d = 1.0 / d;
            let del = d * c;
            h *= del;
            if (del - 1.0).abs() < 1e-16 {
                break;
            }
        }
        lnpre.exp() * h
    }
}

/// Two-sided normal p-value P(|Z| > |z|) = Q(1/2, z²/2).
pub fn normal_two_sided_p(z: f64) -> f64 {
    if z.is_nan() {
        return f64::NAN;
    }
    gamma_q(0.5, 0.5 * z * z)
}

/// ln B(a, b) = ln Γ(a) + ln Γ(b) − ln Γ(a + b).
pub fn ln_beta(a: f64, b: f64) -> f64 {
    ln_gamma(a) + ln_gamma(b) - ln_gamma(a + b)
}

/// Continued fraction of the incomplete beta function (modified Lentz),
/// valid for x < (a + 1)/(a + b + 2).
fn beta_cf(a: f64, b: f64, x: f64) -> f64 {
    let tiny = 1e-300;
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 - qab * x / qap;
    if d.abs() < tiny {
        d = tiny;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..10_000 {
        let m = m as f64;
        let m2 = 2.0 * m;
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 + aa * d;
        if d.abs() < tiny {
            d = tiny;
        }
        c = 1.0 + aa / c;
        if c.abs() < tiny {
            c = tiny;
        }
        d = 1.0 / d;
        h *= d * c;
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 + aa * d;
        if d.abs() < tiny {
            d = tiny;
        }
        c = 1.0 + aa / c;
        if c.abs() < tiny {
            c = tiny;
        }
        d = 1.0 / d;
        let del = d * c;
        h *= del;
        if (del - 1.0).abs() < 1e-16 {
            break;
        }
    }
    h
}

/// Regularised incomplete beta I_x(a, b) and its complement 1 − I_x(a, b),
/// each computed directly where it is the smaller (no cancellation in a tail).
pub fn beta_inc_pair(a: f64, b: f64, x: f64) -> (f64, f64) {
    if x.is_nan() || a <= 0.0 || b <= 0.0 {
        return (f64::NAN, f64::NAN);
    }
    if x <= 0.0 {
        return (0.0, 1.0);
    }
    if x >= 1.0 {
        return (1.0, 0.0);
    }
    let front = (a * x.ln() + b * (-x).ln_1p() - ln_beta(a, b)).exp();
    if x < (a + 1.0) / (a + b + 2.0) {
        let i = front * beta_cf(a, b, x) / a;
        (i, 1.0 - i)
    } else {
        let j = front * beta_cf(b, a, 1.0 - x) / b;
        (1.0 - j, j)
    }
}

/// Upper tail P(F > f) of the F distribution with (d1, d2) degrees of freedom.
pub fn f_sf(f: f64, d1: f64, d2: f64) -> f64 {
    if f.is_nan() || d1 <= 0.0 || d2 <= 0.0 {
        return f64::NAN;
    }
    if f <= 0.0 {
        return 1.0;
    }
    if f.is_infinite() {
        return 0.0;
    }
    // P(F > f) = I_{d2/(d2 + d1 f)}(d2/2, d1/2).
    beta_inc_pair(0.5 * d2, 0.5 * d1, d2 / (d2 + d1 * f)).0
}

/// Quantile of the F distribution: the f with P(F ≤ f) = p, for (d1, d2)
/// degrees of freedom (real-valued; Satterthwaite degrees of freedom are not integers).
///
/// Solves for x = d1 f/(d1 f + d2), a Beta(d1/2, d2/2) variable, by Newton steps
/// kept inside a shrinking bracket (bisection when a step leaves it), on
/// whichever tail is the smaller so that p near 1 keeps full precision.
pub fn f_ppf(p: f64, d1: f64, d2: f64) -> f64 {
    if !(0.0..=1.0).contains(&p) || d1.is_nan() || d2.is_nan() || d1 <= 0.0 || d2 <= 0.0 {
        return f64::NAN;
    }
    if p == 0.0 {
        return 0.0;
    }
    if p == 1.0 {
        return f64::INFINITY;
    }
    let (a, b) = (0.5 * d1, 0.5 * d2);
    let upper = p > 0.5;
    let target = if upper { 1.0 - p } else { p };
    // g(x) = (lower or upper tail at x) − target; increasing for the lower tail.
    let g = |x: f64| {
        let (i, j) = beta_inc_pair(a, b, x);
        if upper {
            target - j
        } else {
            i - target
        }
    };
    let ln_b = ln_beta(a, b);
    let (mut lo, mut hi) = (0.0f64, 1.0f64);
    let mut x = 0.5;
    for _ in 0..400 {
        let gx = g(x);
        if gx == 0.0 {
            break;
        }
        if gx < 0.0 {
            lo = x;
        } else {
            hi = x;
        }
        let dens = ((a - 1.0) * x.ln() + (b - 1.0) * (-x).ln_1p() - ln_b).exp();
        let mut next = x - gx / dens;
        if !(next > lo && next < hi && next.is_finite()) {
            next = 0.5 * (lo + hi);
        }
        if (next - x).abs() <= 1e-16 * x.abs() || next == lo || next == hi {
            x = next;
            break;
        }
        x = next;
    }
    d2 * x / (d1 * (1.0 - x))
}

/// Upper tail of the χ² distribution with `df` degrees of freedom.
pub fn chi2_sf(x: f64, df: f64) -> f64 {
    gamma_q(0.5 * df, 0.5 * x)
}

/// Logistic function 1/(1+e^(−x)), evaluated without overflow.
pub fn expit(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// Quantile of already sorted data by linear interpolation (R type 7, numpy default).
pub fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let h = (sorted.len() - 1) as f64 * q.clamp(0.0, 1.0);
    let lo = h.floor() as usize;
    let hi = h.ceil() as usize;
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

/// Sample mean and variance (denominator n − 1).
pub fn mean_var(x: &[f64]) -> (f64, f64) {
    let n = x.len() as f64;
    if x.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let m = x.iter().sum::<f64>() / n;
    if x.len() < 2 {
        return (m, f64::NAN);
    }
    let v = x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (n - 1.0);
    (m, v)
}

/// SplitMix64 (Steele, Lea & Flood 2014): tiny, seedable, good enough for
/// bootstrap resampling and fold assignment.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform integer in `0..n` (multiply-shift; bias < n/2⁶⁴).
    pub fn below(&mut self, n: usize) -> usize {
        ((self.next_u64() as u128 * n as u128) >> 64) as usize
    }
    /// Fisher–Yates shuffle.
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i + 1);
            v.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special_functions() {
        // Γ(5) = 24, Γ(0.5) = √π.
        assert!((ln_gamma(5.0) - 24f64.ln()).abs() < 1e-13);
        assert!((ln_gamma(0.5) - std::f64::consts::PI.sqrt().ln()).abs() < 1e-13);
        // P(|Z| > 1.959964) = 0.05; P(|Z| > 1) = 0.31731050786291415.
        assert!((normal_two_sided_p(Z_975) - 0.05).abs() < 1e-12);
        assert!((normal_two_sided_p(1.0) - 0.317_310_507_862_914_15).abs() < 1e-13);
        // χ²(8) upper tail at 15.507313055865453 is 0.05.
        assert!((chi2_sf(15.507_313_055_865_453, 8.0) - 0.05).abs() < 1e-12);
        assert!((expit(0.0) - 0.5).abs() < 1e-15);
        assert_eq!(quantile_sorted(&[1.0, 2.0, 3.0, 4.0], 0.5), 2.5);
    }

    #[test]
    fn f_distribution() {
        // scipy.stats.f.ppf(0.975, 7, 24) = 2.8738081880378883.
        let q = f_ppf(0.975, 7.0, 24.0);
        assert!((q - 2.873_808_188_037_888_3).abs() < 1e-12, "{q}");
        assert!((f_sf(q, 7.0, 24.0) - 0.025).abs() < 1e-14);
        // Round trips over small, large and non-integer degrees of freedom.
        for (d1, d2) in [
            (1.0, 1.0),
            (2.0, 3.5),
            (9.0, 9.0),
            (49.0, 7.3),
            (400.0, 399.0),
        ] {
            for p in [0.001, 0.025, 0.5, 0.975, 0.999] {
                let f = f_ppf(p, d1, d2);
                let back = 1.0 - f_sf(f, d1, d2);
                assert!((back - p).abs() < 1e-12, "d1 {d1} d2 {d2} p {p}: {back}");
            }
        }
        // F(1, d2) at f is t² with d2 df: P(F > 1) for (1, 1) is 0.5.
        assert!((f_sf(1.0, 1.0, 1.0) - 0.5).abs() < 1e-15);
    }

    #[test]
    fn rng_is_deterministic_and_in_range() {
        let mut a = SplitMix64::new(42);
        let mut b = SplitMix64::new(42);
        for _ in 0..1000 {
            let x = a.below(7);
            assert_eq!(x, b.below(7));
            assert!(x < 7);
        }
    }
}
