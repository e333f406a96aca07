//! Binary logistic regression on a numeric design matrix.
//!
//! * Unpenalised: Newton–Raphson / IRLS, β ← (XᵀWX)⁻¹XᵀWz with W = diag(p(1−p)),
//!   z = η + (y−p)/w, step-halving when the log-likelihood drops. Covariance (XᵀWX)⁻¹
//!   at the MLE (the inverse observed information, as statsmodels `Logit`).
//! * L2 (ridge): maximises ℓ(β)/n − λ/2·Σⱼβⱼ² (intercept unpenalised) by Newton steps
//!   on (XᵀWX + nλD). Covariance: the sandwich (XᵀWX+nλD)⁻¹XᵀWX(XᵀWX+nλD)⁻¹ (Gray 1992).
//! * L1 (LASSO): maximises ℓ(β)/n − λ·Σⱼ|βⱼ| by coordinate descent on the IRLS quadratic
//!   approximation (as glmnet). No standard errors are reported.
//!
//! The intercept is column 0 of the coefficient vector; `x` excludes it.
//! Internally the columns are centred and scaled (numerical stability); for the
//! unpenalised and the non-standardised penalised fits the solution is mapped back
//! exactly, so the scaling does not change the estimate.

use super::stats::{expit, SplitMix64};
use crate::error::{Error, Result};
use nalgebra::{DMatrix, DVector};
use serde::{Deserialize, Serialize};

/// Penalty family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Penalty {
    #[default]
    None,
    L2,
    L1,
}

/// Result of one fit, on the ORIGINAL scale of `x`.
#[derive(Debug, Clone)]
pub struct Fit {
    /// Intercept first, then one coefficient per column of `x`.
    pub beta: Vec<f64>,
    /// Covariance of `beta` (None for L1).
    pub cov: Option<DMatrix<f64>>,
    pub log_likelihood: f64,
    pub iterations: usize,
    pub converged: bool,
}

/// How an unpenalised fit failed in a way the user must act on.
#[derive(Debug, Clone)]
pub enum FitProblem {
    /// Coefficients diverge: term index (in `x`), number of fitted probabilities at 0 or 1,
    /// and whether that column alone separates the outcome.
    Separation {
        term: usize,
        extreme: usize,
        alone: bool,
    },
    /// Rank-deficient design; the term indices that are linearly dependent
    /// (`usize::MAX` stands for the intercept).
    Collinear(Vec<usize>),
}

/// Options of the numerical fit.
#[derive(Debug, Clone, Copy)]
pub struct FitOptions {
    pub penalty: Penalty,
    pub lambda: f64,
    /// Apply the penalty to z-scored columns (glmnet's `standardize=TRUE`).
    pub standardize: bool,
    pub max_iter: usize,
}

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions {
            penalty: Penalty::None,
            lambda: 0.0,
            standardize: false,
            max_iter: 100,
        }
    }
}

/// Column means and scales used internally.
struct Scaling {
    mean: Vec<f64>,
    scale: Vec<f64>,
}

fn scaling(x: &DMatrix<f64>) -> Scaling {
    let n = x.nrows() as f64;
    let mut mean = Vec::with_capacity(x.ncols());
    let mut scale = Vec::with_capacity(x.ncols());
    for c in x.column_iter() {
        let m = c.sum() / n;
        let v = c.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (n - 1.0).max(1.0);
        mean.push(m);
        scale.push(if v > 0.0 { v.sqrt() } else { 1.0 });
    }
    Scaling { mean, scale }
}

fn scaled(x: &DMatrix<f64>, s: &Scaling, center: bool) -> DMatrix<f64> {
    let mut z = x.clone();
    for (j, mut c) in z.column_iter_mut().enumerate() {
        let m = if center { s.mean[j] } else { 0.0 };
        for v in c.iter_mut() {
            *v = (*v - m) / s.scale[j];
        }
    }
    z
}

/// Map coefficients b of the scaled design back to the original scale: β = A·b.
fn back_transform_matrix(s: &Scaling, center: bool) -> DMatrix<f64> {
    let p = s.mean.len();
    let mut a = DMatrix::<f64>::identity(p + 1, p + 1);
    for j in 0..p {
        a[(j + 1, j + 1)] = 1.0 / s.scale[j];
        if center {
            a[(0, j + 1)] = -s.mean[j] / s.scale[j];
        }
    }
    a
}

/// Binomial log-likelihood.
pub fn log_likelihood(y: &[f64], eta: &[f64]) -> f64 {
    y.iter()
        .zip(eta)
        .map(|(&yi, &e)| {
            // log(1+e^e) computed stably.
            let l1pe = if e > 0.0 {
                e + (-e).exp().ln_1p()
            } else {
                e.exp().ln_1p()
            };
            yi * e - l1pe
        })
        .sum()
}

fn linear_predictor(xa: &DMatrix<f64>, b: &DVector<f64>, offset: Option<&[f64]>) -> Vec<f64> {
    let eta = xa * b;
    match offset {
        Some(o) => eta.iter().zip(o).map(|(e, o)| e + o).collect(),
        None => eta.iter().copied().collect(),
    }
}

fn with_intercept(x: &DMatrix<f64>) -> DMatrix<f64> {
    let n = x.nrows();
    let mut xa = DMatrix::<f64>::zeros(n, x.ncols() + 1);
    xa.column_mut(0).fill(1.0);
    xa.view_mut((0, 1), (n, x.ncols())).copy_from(x);
    xa
}

/// XᵀWX for design `xa` and weights `w`.
fn xtwx(xa: &DMatrix<f64>, w: &[f64]) -> DMatrix<f64> {
    let mut xw = xa.clone();
    for (i, wi) in w.iter().enumerate() {
        let sw = wi.sqrt();
        for j in 0..xa.ncols() {
            xw[(i, j)] *= sw;
        }
    }
    xw.transpose() * xw
}

/// Columns of `x` (plus intercept) that are linearly dependent, if any. Uses the
/// SVD of the design with unit-norm columns; singular values below 1e-9·σ_max
/// are taken as zero and the columns with weight in their null vectors are named.
pub fn collinear_columns(x: &DMatrix<f64>) -> Option<Vec<usize>> {
    let mut xa = with_intercept(x);
    for mut c in xa.column_iter_mut() {
        let nrm = c.norm();
        if nrm > 0.0 {
            c /= nrm;
        }
    }
    let p = xa.ncols();
    let zero_cols: Vec<usize> = (0..p).filter(|&j| xa.column(j).norm() == 0.0).collect();
    let svd = xa.svd(false, true);
    let vt = svd.v_t?;
    let smax = svd.singular_values.max();
    let mut involved = vec![false; p];
    let mut any = false;
    for (k, &s) in svd.singular_values.iter().enumerate() {
        if s <= 1e-9 * smax {
            any = true;
            for j in 0..p {
                if vt[(k, j)].abs() > 1e-3 {
                    involved[j] = true;
                }
            }
        }
    }
    for j in zero_cols {
        any = true;
        involved[j] = true;
    }
    if !any {
        return None;
    }
    Some(
        (0..p)
            .filter(|&j| involved[j])
            .map(|j| if j == 0 { usize::MAX } else { j - 1 })
            .collect(),
    )
}

/// Whether column `x` alone separates `y` (complete or quasi-complete).
pub fn separates(x: &[f64], y: &[f64]) -> bool {
    let (mut min0, mut max0, mut min1, mut max1) = (
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
    );
    for (&xi, &yi) in x.iter().zip(y) {
        if yi > 0.5 {
            min1 = min1.min(xi);
            max1 = max1.max(xi);
        } else {
            min0 = min0.min(xi);
            max0 = max0.max(xi);
        }
    }
    let constant = min0 == max0 && min1 == max1 && min0 == min1;
    !constant && (max0 <= min1 || max1 <= min0)
}

/// Fit y ~ 1 + x (+ offset). Unpenalised fits report separation/collinearity as
/// [`FitProblem`]s; penalised fits always return a solution.
pub fn fit(
    x: &DMatrix<f64>,
    y: &[f64],
    offset: Option<&[f64]>,
    opt: &FitOptions,
) -> std::result::Result<Fit, FitProblem> {
    let n = x.nrows();
    let s = scaling(x);
    // Unpenalised and non-standardised penalised fits are done on a centred/scaled
    // design and mapped back; the L1/L2 penalty then acts on b_j·scale_j, so the
    // penalty weights below undo the scaling when `standardize` is off.
    let xs = scaled(x, &s, true);
    let pen_w: Vec<f64> = s
        .scale
        .iter()
        .map(|sc| {
            if opt.standardize {
                1.0
            } else {
                1.0 / (sc * sc)
            }
        })
        .collect();
    if opt.penalty == Penalty::None {
        if let Some(cols) = collinear_columns(x) {
            return Err(FitProblem::Collinear(cols));
        }
    }
    let a = back_transform_matrix(&s, true);
    let res = match opt.penalty {
        Penalty::L1 => {
            let l1w: Vec<f64> = s
                .scale
                .iter()
                .map(|sc| if opt.standardize { 1.0 } else { 1.0 / sc })
                .collect();
            fit_l1(&xs, y, offset, opt.lambda, &l1w, opt.max_iter)
        }
        _ => fit_newton(&xs, y, offset, opt, &pen_w, n),
    };
    let (b, cov_s, ll, it, conv) = match res {
        Ok(v) => v,
        Err(()) => {
            return Err(separation_problem(
                x,
                y,
                &DVector::zeros(x.ncols() + 1),
                &s,
                0,
            ));
        }
    };
    if opt.penalty == Penalty::None {
        let eta = linear_predictor(&with_intercept(&xs), &b, offset);
        let extreme = eta.iter().filter(|e| e.abs() > 25.0).count();
        let max_b = b.iter().skip(1).fold(0.0f64, |m, v| m.max(v.abs()));
        if !conv || (extreme > 0 && max_b > 10.0) {
            return Err(separation_problem(x, y, &b, &s, extreme));
        }
    }
    let beta = &a * &b;
    let cov = cov_s.map(|c| &a * c * a.transpose());
    Ok(Fit {
        beta: beta.iter().copied().collect(),
        cov,
        log_likelihood: ll,
        iterations: it,
        converged: conv,
    })
}

fn separation_problem(
    x: &DMatrix<f64>,
    y: &[f64],
    b: &DVector<f64>,
    _s: &Scaling,
    extreme: usize,
) -> FitProblem {
    for j in 0..x.ncols() {
        let col: Vec<f64> = x.column(j).iter().copied().collect();
        if separates(&col, y) {
            return FitProblem::Separation {
                term: j,
                extreme,
                alone: true,
            };
        }
    }
    let mut term = 0;
    let mut best = -1.0;
    for j in 1..b.len() {
        if b[j].abs() > best {
            best = b[j].abs();
            term = j - 1;
        }
    }
    FitProblem::Separation {
        term,
        extreme,
        alone: false,
    }
}

type Core = (DVector<f64>, Option<DMatrix<f64>>, f64, usize, bool);

/// Newton–Raphson with optional ridge penalty (weights `pen_w` per column on the scaled design).
fn fit_newton(
    xs: &DMatrix<f64>,
    y: &[f64],
    offset: Option<&[f64]>,
    opt: &FitOptions,
    pen_w: &[f64],
    n: usize,
) -> std::result::Result<Core, ()> {
    let xa = with_intercept(xs);
    let p = xa.ncols();
    let mut pen = DMatrix::<f64>::zeros(p, p);
    if opt.penalty == Penalty::L2 {
        for j in 1..p {
            pen[(j, j)] = n as f64 * opt.lambda * pen_w[j - 1];
        }
    }
    let objective = |b: &DVector<f64>| {
        let eta = linear_predictor(&xa, b, offset);
        let pterm: f64 = (1..p).map(|j| 0.5 * pen[(j, j)] * b[j] * b[j]).sum();
        log_likelihood(y, &eta) - pterm
    };
    // Start at the intercept-only estimate (or 0 with an offset).
    let ybar = y.iter().sum::<f64>() / y.len() as f64;
    let mut b = DVector::<f64>::zeros(p);
    if offset.is_none() && ybar > 0.0 && ybar < 1.0 {
        b[0] = (ybar / (1.0 - ybar)).ln();
    }
    let mut obj = objective(&b);
    let mut converged = false;
    let mut it = 0;
    while it < opt.max_iter {
        it += 1;
        let eta = linear_predictor(&xa, &b, offset);
        let pr: Vec<f64> = eta.iter().map(|&e| expit(e)).collect();
        let w: Vec<f64> = pr.iter().map(|p| (p * (1.0 - p)).max(1e-300)).collect();
        let h = xtwx(&xa, &w) + &pen;
        let resid = DVector::from_iterator(y.len(), y.iter().zip(&pr).map(|(y, p)| y - p));
        let grad = xa.transpose() * resid - &pen * &b;
        let step = match h.clone().cholesky() {
            Some(ch) => ch.solve(&grad),
            None => return Err(()),
        };
        let mut t = 1.0;
        let mut nb = &b + &step * t;
        let mut nobj = objective(&nb);
        while nobj < obj - 1e-12 * obj.abs().max(1.0) && t > 1e-10 {
            t *= 0.5;
            nb = &b + &step * t;
            nobj = objective(&nb);
        }
        let dmax = (&nb - &b).amax();
        let dobj = (nobj - obj).abs();
        b = nb;
        obj = nobj;
        if dmax < 1e-10 || (dobj < 1e-14 * obj.abs().max(1.0) && dmax < 1e-8) {
            converged = true;
            break;
        }
    }
    // Information at the final estimate.
    let eta = linear_predictor(&xa, &b, offset);
    let w: Vec<f64> = eta.iter().map(|&e| expit(e) * (1.0 - expit(e))).collect();
    let info = xtwx(&xa, &w);
    let hp = &info + &pen;
    let cov = hp.clone().try_inverse().map(|hinv| {
        if opt.penalty == Penalty::L2 {
            &hinv * &info * &hinv
        } else {
            hinv
        }
    });
    let ll = log_likelihood(y, &eta);
    Ok((b, cov, ll, it, converged))
}

fn soft(z: f64, g: f64) -> f64 {
    if z > g {
        z - g
    } else if z < -g {
        z + g
    } else {
        0.0
    }
}

/// LASSO by coordinate descent on the IRLS quadratic approximation.
fn fit_l1(
    xs: &DMatrix<f64>,
    y: &[f64],
    offset: Option<&[f64]>,
    lambda: f64,
    l1w: &[f64],
    max_iter: usize,
) -> std::result::Result<Core, ()> {
    let (n, p) = (xs.nrows(), xs.ncols());
    let nf = n as f64;
    let ybar = y.iter().sum::<f64>() / nf;
    let mut b0 = if offset.is_none() && ybar > 0.0 && ybar < 1.0 {
        (ybar / (1.0 - ybar)).ln()
    } else {
        0.0
    };
    let mut b = vec![0.0; p];
    let off = |i: usize| offset.map_or(0.0, |o| o[i]);
    let mut converged = false;
    let mut it = 0;
    while it < max_iter {
        it += 1;
        let eta: Vec<f64> = (0..n)
            .map(|i| b0 + off(i) + (0..p).map(|j| xs[(i, j)] * b[j]).sum::<f64>())
            .collect();
        let pr: Vec<f64> = eta.iter().map(|&e| expit(e)).collect();
        // glmnet floors the weights to keep the quadratic approximation bounded.
        let w: Vec<f64> = pr.iter().map(|p| (p * (1.0 - p)).max(1e-5)).collect();
        let z: Vec<f64> = (0..n).map(|i| eta[i] + (y[i] - pr[i]) / w[i]).collect();
        let mut r: Vec<f64> = (0..n).map(|i| z[i] - eta[i]).collect();
        let (old0, old) = (b0, b.clone());
        let xx: Vec<f64> = (0..p)
            .map(|j| (0..n).map(|i| w[i] * xs[(i, j)] * xs[(i, j)]).sum::<f64>() / nf)
            .collect();
        let sw: f64 = w.iter().sum();
        for _ in 0..10_000 {
            let mut dmax: f64 = 0.0;
            let d0 = (0..n).map(|i| w[i] * r[i]).sum::<f64>() / sw;
            b0 += d0;
            for ri in r.iter_mut() {
                *ri -= d0;
            }
            dmax = dmax.max(d0.abs());
            for j in 0..p {
                if xx[j] == 0.0 {
                    continue;
                }
                let g = (0..n).map(|i| w[i] * xs[(i, j)] * r[i]).sum::<f64>() / nf + xx[j] * b[j];
                let nbj = soft(g, lambda * l1w[j]) / xx[j];
                let d = nbj - b[j];
                if d != 0.0 {
                    for (i, ri) in r.iter_mut().enumerate() {
                        *ri -= d * xs[(i, j)];
                    }
                    b[j] = nbj;
                    dmax = dmax.max(d.abs());
                }
            }
            if dmax < 1e-12 {
                break;
            }
        }
        let change = (b0 - old0).abs().max(
            b.iter()
                .zip(&old)
                .fold(0.0f64, |m, (a, c)| m.max((a - c).abs())),
        );
        if change < 1e-10 {
            converged = true;
            break;
        }
    }
    let mut bv = DVector::<f64>::zeros(p + 1);
    bv[0] = b0;
    for j in 0..p {
        bv[j + 1] = b[j];
    }
    let eta = linear_predictor(&with_intercept(xs), &bv, offset);
    let ll = log_likelihood(y, &eta);
    Ok((bv, None, ll, it, converged))
}

/// Mean binomial deviance of predictions `eta` for outcomes `y`.
fn mean_deviance(y: &[f64], eta: &[f64]) -> f64 {
    -2.0 * log_likelihood(y, eta) / y.len() as f64
}

/// One λ and its cross-validated mean deviance.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CvPoint {
    pub lambda: f64,
    pub deviance: f64,
}

/// Choose λ by stratified k-fold cross-validation (seeded): 50 log-spaced values
/// from λ_max (the smallest λ that zeroes every L1 coefficient; ×100 for L2) down
/// to 10⁻³·λ_max (L1) or 10⁻⁴·λ_max (L2); the λ with the smallest mean held-out
/// deviance is returned ("lambda.min").
pub fn choose_lambda(
    x: &DMatrix<f64>,
    y: &[f64],
    opt: &FitOptions,
    folds: usize,
    seed: u64,
) -> Result<(f64, Vec<CvPoint>)> {
    let n = x.nrows();
    let s = scaling(x);
    let ybar = y.iter().sum::<f64>() / n as f64;
    // λ_max for L1 on the scale the penalty acts on.
    let mut lmax: f64 = 0.0;
    for j in 0..x.ncols() {
        let g = x
            .column(j)
            .iter()
            .zip(y)
            .map(|(xi, yi)| (xi - s.mean[j]) * (yi - ybar))
            .sum::<f64>()
            / n as f64;
        let g = if opt.standardize { g / s.scale[j] } else { g };
        lmax = lmax.max(g.abs());
    }
    if lmax <= 0.0 {
        lmax = 1.0;
    }
    let (hi, lo) = match opt.penalty {
        Penalty::L2 => (lmax * 100.0, lmax * 1e-4),
        _ => (lmax, lmax * 1e-3),
    };
    let grid: Vec<f64> = (0..50)
        .map(|k| hi * (lo / hi).powf(k as f64 / 49.0))
        .collect();
    // Stratified fold assignment.
    let k = folds.clamp(2, n.max(2));
    let mut fold = vec![0usize; n];
    let mut rng = SplitMix64::new(seed);
    for class in [0.0, 1.0] {
        let mut idx: Vec<usize> = (0..n).filter(|&i| (y[i] > 0.5) == (class > 0.5)).collect();
        rng.shuffle(&mut idx);
        for (r, i) in idx.into_iter().enumerate() {
            fold[i] = r % k;
        }
    }
    let mut dev = vec![0.0; grid.len()];
    for f in 0..k {
        let tr: Vec<usize> = (0..n).filter(|&i| fold[i] != f).collect();
        let te: Vec<usize> = (0..n).filter(|&i| fold[i] == f).collect();
        if te.is_empty() {
            continue;
        }
        let xtr = x.select_rows(&tr);
        let ytr: Vec<f64> = tr.iter().map(|&i| y[i]).collect();
        let xte = x.select_rows(&te);
        let yte: Vec<f64> = te.iter().map(|&i| y[i]).collect();
        for (g, &lam) in grid.iter().enumerate() {
            let o = FitOptions {
                lambda: lam,
                ..*opt
            };
            let ft = fit(&xtr, &ytr, None, &o)
                .map_err(|_| Error::Invalid("cross-validation fit failed".into()))?;
            let eta: Vec<f64> = (0..te.len())
                .map(|i| {
                    ft.beta[0]
                        + (0..x.ncols())
                            .map(|j| xte[(i, j)] * ft.beta[j + 1])
                            .sum::<f64>()
                })
                .collect();
            dev[g] += mean_deviance(&yte, &eta) * te.len() as f64 / n as f64;
        }
    }
    let best = (0..grid.len())
        .min_by(|&a, &b| dev[a].total_cmp(&dev[b]))
        .unwrap_or(0);
    let curve = grid
        .iter()
        .zip(&dev)
        .map(|(&lambda, &deviance)| CvPoint { lambda, deviance })
        .collect();
    Ok((grid[best], curve))
}
