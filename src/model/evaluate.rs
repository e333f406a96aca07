//! Discrimination and calibration of a fitted model, with honest (bootstrap)
//! estimates.
//!
//! * AUC: Mann–Whitney statistic with midranks (ties count ½); equals the
//!   trapezoidal ROC area (`sklearn.metrics.roc_auc_score`).
//! * DeLong CI: variance from the structural components V10/V01 computed with
//!   midranks (Sun & Xu 2014, "fast DeLong"), Var = S10/m + S01/n with sample
//!   variances; interval AUC ± 1.959964·√Var on the AUC scale (no logit
//!   transform), clipped to [0, 1] — the same as R pROC `ci.auc(method="delong")`.
//! * Bootstrap CI: stratified (events and non-events resampled separately), percentile
//!   2.5/97.5 (type 7), SplitMix64 seeded.
//! * Youden threshold: the predicted probability t maximising sensitivity + specificity − 1
//!   when "positive" means p ≥ t (the largest such t on ties).
//! * Calibration slope: b in logit P(y=1) = a + b·LP (refit). Calibration intercept
//!   (calibration-in-the-large): a in logit P(y=1) = a + LP (LP as offset, slope fixed at 1).
//! * Hosmer–Lemeshow: g = 10 groups of near-equal size after sorting by predicted risk,
//!   C = Σ (O−E)²/(E(1−E/n_g)), df = g − 2.
//! * Optimism-corrected AUC (Harrell): B bootstrap samples of the table, the model refitted
//!   on each (same predictors, coding, penalty and the model's λ held fixed), optimism =
//!   mean(AUC_boot→boot − AUC_boot→orig), corrected = apparent − optimism. Meaningful only
//!   when the table is the development data.

use super::logistic::{fit, FitOptions};
use super::stats::{chi2_sf, expit, mean_var, quantile_sorted, SplitMix64, Z_975};
use super::{LogisticModel, DISCLAIMER};
use crate::error::{Error, Result};
use nalgebra::DMatrix;
use serde::{Deserialize, Serialize};

/// Midranks (1-based; ties get the mean rank) of `x`.
pub fn midranks(x: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..x.len()).collect();
    idx.sort_by(|&a, &b| x[a].total_cmp(&x[b]));
    let mut r = vec![0.0; x.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && x[idx[j + 1]] == x[idx[i]] {
            j += 1;
        }
        let mr = (i + j) as f64 / 2.0 + 1.0;
        for &k in &idx[i..=j] {
            r[k] = mr;
        }
        i = j + 1;
    }
    r
}

fn split(scores: &[f64], y: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let pos = scores
        .iter()
        .zip(y)
        .filter(|(_, &y)| y > 0.5)
        .map(|(s, _)| *s)
        .collect();
    let neg = scores
        .iter()
        .zip(y)
        .filter(|(_, &y)| y <= 0.5)
        .map(|(s, _)| *s)
        .collect();
    (pos, neg)
}

/// AUC of `scores` for binary `y` (NaN if a class is empty).
pub fn auc(scores: &[f64], y: &[f64]) -> f64 {
    let (pos, neg) = split(scores, y);
    auc_split(&pos, &neg)
}

fn auc_split(pos: &[f64], neg: &[f64]) -> f64 {
    let (m, n) = (pos.len() as f64, neg.len() as f64);
    if pos.is_empty() || neg.is_empty() {
        return f64::NAN;
    }
    let all: Vec<f64> = pos.iter().chain(neg).copied().collect();
    let r = midranks(&all);
    let rpos: f64 = r[..pos.len()].iter().sum();
    (rpos - m * (m + 1.0) / 2.0) / (m * n)
}

/// AUC and its DeLong variance (structural components by midranks).
pub fn delong(scores: &[f64], y: &[f64]) -> (f64, f64) {
    let (pos, neg) = split(scores, y);
    let (m, n) = (pos.len(), neg.len());
    if m < 2 || n < 2 {
        return (auc_split(&pos, &neg), f64::NAN);
    }
    let all: Vec<f64> = pos.iter().chain(&neg).copied().collect();
    let tz = midranks(&all);
    let tx = midranks(&pos);
    let ty = midranks(&neg);
    let (mf, nf) = (m as f64, n as f64);
    let auc = (tz[..m].iter().sum::<f64>() - mf * (mf + 1.0) / 2.0) / (mf * nf);
    // V10_i: fraction of negatives below positive i; V01_j: fraction of positives above negative j.
    let v10: Vec<f64> = (0..m).map(|i| (tz[i] - tx[i]) / nf).collect();
    let v01: Vec<f64> = (0..n).map(|j| 1.0 - (tz[m + j] - ty[j]) / mf).collect();
    let (_, s10) = mean_var(&v10);
    let (_, s01) = mean_var(&v01);
    (auc, s10 / mf + s01 / nf)
}

/// DeLong 95 % CI on the AUC scale (clipped to [0, 1]).
pub fn delong_ci(scores: &[f64], y: &[f64]) -> [f64; 2] {
    let (a, v) = delong(scores, y);
    let h = Z_975 * v.sqrt();
    [(a - h).max(0.0), (a + h).min(1.0)]
}

/// Stratified percentile bootstrap 95 % CI of the AUC.
pub fn bootstrap_auc_ci(scores: &[f64], y: &[f64], b: usize, seed: u64) -> Option<[f64; 2]> {
    let (pos, neg) = split(scores, y);
    if pos.is_empty() || neg.is_empty() || b == 0 {
        return None;
    }
    let mut rng = SplitMix64::new(seed);
    let mut aucs = Vec::with_capacity(b);
    let (mut bp, mut bn) = (vec![0.0; pos.len()], vec![0.0; neg.len()]);
    for _ in 0..b {
        for v in bp.iter_mut() {
            *v = pos[rng.below(pos.len())];
        }
        for v in bn.iter_mut() {
            *v = neg[rng.below(neg.len())];
        }
        aucs.push(auc_split(&bp, &bn));
    }
    aucs.sort_by(f64::total_cmp);
    Some([quantile_sorted(&aucs, 0.025), quantile_sorted(&aucs, 0.975)])
}

/// Classification at a threshold (positive when p ≥ t).
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Operating {
    pub threshold: f64,
    pub sensitivity: f64,
    pub specificity: f64,
    pub ppv: f64,
    pub npv: f64,
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        f64::NAN
    } else {
        a as f64 / b as f64
    }
}

/// Operating point maximising Youden's J.
pub fn youden(p: &[f64], y: &[f64]) -> Operating {
    let mut cand: Vec<f64> = p.to_vec();
    cand.sort_by(|a, b| b.total_cmp(a));
    cand.dedup();
    let mut best: Option<(f64, Operating)> = None;
    for &t in &cand {
        let o = operating(p, y, t);
        let j = o.sensitivity + o.specificity - 1.0;
        if best.as_ref().is_none_or(|(bj, _)| j > *bj) {
            best = Some((j, o));
        }
    }
    best.map(|(_, o)| o).unwrap_or(Operating {
        threshold: f64::NAN,
        sensitivity: f64::NAN,
        specificity: f64::NAN,
        ppv: f64::NAN,
        npv: f64::NAN,
    })
}

/// Sensitivity, specificity, PPV and NPV at threshold `t`.
pub fn operating(p: &[f64], y: &[f64], t: f64) -> Operating {
    let (mut tp, mut fp, mut tn, mut fn_) = (0, 0, 0, 0);
    for (&pi, &yi) in p.iter().zip(y) {
        match (pi >= t, yi > 0.5) {
            (true, true) => tp += 1,
            (true, false) => fp += 1,
            (false, false) => tn += 1,
            (false, true) => fn_ += 1,
        }
    }
    Operating {
        threshold: t,
        sensitivity: ratio(tp, tp + fn_),
        specificity: ratio(tn, tn + fp),
        ppv: ratio(tp, tp + fp),
        npv: ratio(tn, tn + fn_),
    }
}

/// Calibration slope and calibration-in-the-large from the linear predictor.
pub fn calibration(lp: &[f64], y: &[f64]) -> (f64, f64) {
    let n = lp.len();
    let x = DMatrix::from_column_slice(n, 1, lp);
    let slope = fit(&x, y, None, &FitOptions::default())
        .map(|f| f.beta[1])
        .unwrap_or(f64::NAN);
    let x0 = DMatrix::<f64>::zeros(n, 0);
    let citl = fit(&x0, y, Some(lp), &FitOptions::default())
        .map(|f| f.beta[0])
        .unwrap_or(f64::NAN);
    (slope, citl)
}

/// Hosmer–Lemeshow goodness-of-fit test.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HosmerLemeshow {
    pub statistic: f64,
    pub df: usize,
    pub p: f64,
    pub groups: usize,
    /// Per group: n, observed events, expected events, mean predicted risk.
    pub table: Vec<[f64; 4]>,
}

pub fn hosmer_lemeshow(p: &[f64], y: &[f64], g: usize) -> HosmerLemeshow {
    let n = p.len();
    let g = g.min(n).max(1);
    let mut idx: Vec<usize> = (0..n).collect();
    idx.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    let mut stat = 0.0;
    let mut table = Vec::new();
    for k in 0..g {
        let (s, e) = (k * n / g, (k + 1) * n / g);
        if s == e {
            continue;
        }
        let grp = &idx[s..e];
        let ng = grp.len() as f64;
        let o: f64 = grp.iter().map(|&i| y[i]).sum();
        let ex: f64 = grp.iter().map(|&i| p[i]).sum();
        let pbar = ex / ng;
        if pbar > 0.0 && pbar < 1.0 {
            stat += (o - ex) * (o - ex) / (ex * (1.0 - pbar));
        }
        table.push([ng, o, ex, pbar]);
    }
    let groups = table.len();
    let df = groups.saturating_sub(2);
    HosmerLemeshow {
        statistic: stat,
        df,
        p: if df > 0 {
            chi2_sf(stat, df as f64)
        } else {
            f64::NAN
        },
        groups,
        table,
    }
}

/// Harrell's bootstrap optimism of the AUC. Returns (optimism, successful resamples, failures).
pub fn optimism_auc(
    model: &LogisticModel,
    x: &DMatrix<f64>,
    y: &[f64],
    b: usize,
    seed: u64,
) -> (f64, usize, usize) {
    let n = x.nrows();
    let mut rng = SplitMix64::new(seed ^ 0x005E_ED0F_0B71_u64);
    let mut diffs = Vec::with_capacity(b);
    let mut failures = 0;
    let lp_of = |beta: &[f64], xm: &DMatrix<f64>| -> Vec<f64> {
        (0..xm.nrows())
            .map(|i| {
                beta[0]
                    + (0..xm.ncols())
                        .map(|j| xm[(i, j)] * beta[j + 1])
                        .sum::<f64>()
            })
            .collect()
    };
    for _ in 0..b {
        let idx: Vec<usize> = (0..n).map(|_| rng.below(n)).collect();
        let xb = x.select_rows(&idx);
        let yb: Vec<f64> = idx.iter().map(|&i| y[i]).collect();
        let ev = yb.iter().filter(|v| **v > 0.5).count();
        if ev == 0 || ev == n {
            failures += 1;
            continue;
        }
        match model.refit(&xb, &yb) {
            Ok(beta) => {
                let a_boot = auc(&lp_of(&beta, &xb), &yb);
                let a_orig = auc(&lp_of(&beta, x), y);
                diffs.push(a_boot - a_orig);
            }
            Err(_) => failures += 1,
        }
    }
    let opt = if diffs.is_empty() {
        f64::NAN
    } else {
        diffs.iter().sum::<f64>() / diffs.len() as f64
    };
    (opt, diffs.len(), failures)
}

/// Evaluation report (report.json).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub disclaimer: String,
    pub n: usize,
    pub events: usize,
    pub dropped_missing: usize,
    pub auc: f64,
    pub auc_ci_delong: [f64; 2],
    pub auc_se_delong: f64,
    pub auc_ci_bootstrap: Option<[f64; 2]>,
    pub youden_threshold: f64,
    pub youden_j: f64,
    pub sensitivity: f64,
    pub specificity: f64,
    pub ppv: f64,
    pub npv: f64,
    pub calibration_slope: f64,
    pub calibration_intercept: f64,
    pub brier_score: f64,
    pub hosmer_lemeshow: HosmerLemeshow,
    pub optimism: Option<f64>,
    pub optimism_corrected_auc: Option<f64>,
    pub bootstrap_samples: usize,
    pub optimism_bootstrap_failures: usize,
    pub seed: u64,
    pub definitions: Vec<String>,
    /// ROC curve points (1 − specificity, sensitivity) from (0,0) to (1,1).
    pub roc: Vec<[f64; 2]>,
}

/// ROC curve points over all distinct thresholds.
pub fn roc_points(p: &[f64], y: &[f64]) -> Vec<[f64; 2]> {
    let mut cand: Vec<f64> = p.to_vec();
    cand.sort_by(|a, b| b.total_cmp(a));
    cand.dedup();
    let mut pts = vec![[0.0, 0.0]];
    for t in cand {
        let o = operating(p, y, t);
        pts.push([1.0 - o.specificity, o.sensitivity]);
    }
    pts
}

/// Evaluate `model` on outcomes `y` (0/1) and design `x` (complete rows).
pub fn evaluate(
    model: &LogisticModel,
    x: &DMatrix<f64>,
    y: &[f64],
    bootstrap: usize,
    seed: u64,
    dropped: usize,
) -> Result<Report> {
    let beta = model.beta();
    if x.ncols() + 1 != beta.len() {
        return Err(Error::Invalid("design does not match the model".into()));
    }
    let lp: Vec<f64> = (0..x.nrows())
        .map(|i| beta[0] + (0..x.ncols()).map(|j| x[(i, j)] * beta[j + 1]).sum::<f64>())
        .collect();
    let p: Vec<f64> = lp.iter().map(|&e| expit(e)).collect();
    let events = y.iter().filter(|v| **v > 0.5).count();
    if events == 0 || events == y.len() {
        return Err(Error::Invalid(format!(
            "the evaluation table needs both outcome classes (events: {events} of {})",
            y.len()
        )));
    }
    let (a, var) = delong(&lp, y);
    let op = youden(&p, y);
    let (slope, citl) = calibration(&lp, y);
    let brier = p.iter().zip(y).map(|(p, y)| (p - y) * (p - y)).sum::<f64>() / y.len() as f64;
    let (optimism, fails) = if bootstrap > 0 {
        let (o, _, f) = optimism_auc(model, x, y, bootstrap, seed);
        (Some(o), f)
    } else {
        (None, 0)
    };
    Ok(Report {
        disclaimer: DISCLAIMER.into(),
        n: y.len(),
        events,
        dropped_missing: dropped,
        auc: a,
        auc_ci_delong: delong_ci(&lp, y),
        auc_se_delong: var.sqrt(),
        auc_ci_bootstrap: bootstrap_auc_ci(&lp, y, bootstrap, seed),
        youden_threshold: op.threshold,
        youden_j: op.sensitivity + op.specificity - 1.0,
        sensitivity: op.sensitivity,
        specificity: op.specificity,
        ppv: op.ppv,
        npv: op.npv,
        calibration_slope: slope,
        calibration_intercept: citl,
        brier_score: brier,
        hosmer_lemeshow: hosmer_lemeshow(&p, y, 10),
        optimism,
        optimism_corrected_auc: optimism.map(|o| a - o),
        bootstrap_samples: bootstrap,
        optimism_bootstrap_failures: fails,
        seed,
        definitions: vec![
            "auc: Mann-Whitney with midranks (= trapezoidal ROC area)".into(),
            "auc_ci_delong: AUC ± 1.959964·SE, SE from DeLong structural components (midranks); AUC scale, not logit-transformed; clipped to [0,1]".into(),
            "auc_ci_bootstrap: stratified bootstrap, percentile 2.5/97.5".into(),
            "youden_threshold: predicted probability t maximising sens+spec-1, positive when p >= t".into(),
            "calibration_slope: b in logit(p) = a + b*LP refitted on this table".into(),
            "calibration_intercept: a in logit(p) = a + offset(LP) (calibration-in-the-large)".into(),
            "hosmer_lemeshow: 10 groups of near-equal size by predicted risk, df = groups - 2".into(),
            "optimism_corrected_auc: apparent AUC - mean(AUC_boot_on_boot - AUC_boot_on_orig) (Harrell), refits use the model's fixed lambda; valid when this table is the development data".into(),
        ],
        roc: roc_points(&p, y),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_with_ties_and_delong_by_hand() {
        // pos: 0.9, 0.5, 0.5 ; neg: 0.5, 0.1.
        let s = [0.9, 0.5, 0.5, 0.5, 0.1];
        let y = [1.0, 1.0, 1.0, 0.0, 0.0];
        // Pairs: 0.9>0.5,0.9>0.1, 0.5=0.5 (½) ×2, 0.5>0.1 ×2 → (2+1+2)/6.
        assert!((auc(&s, &y) - 5.0 / 6.0).abs() < 1e-15);
        // V10 = [1, 0.75, 0.75], V01 = [1 - (1+0.5+0.5)/3, 0] = [1/3, 0].
        let (_, v) = delong(&s, &y);
        let (_, s10) = mean_var(&[1.0, 0.75, 0.75]);
        let (_, s01) = mean_var(&[1.0 / 3.0, 0.0]);
        assert!((v - (s10 / 3.0 + s01 / 2.0)).abs() < 1e-15);
    }

    #[test]
    fn youden_and_hl() {
        let p = [0.1, 0.2, 0.3, 0.8, 0.9];
        let y = [0.0, 0.0, 1.0, 1.0, 1.0];
        let o = youden(&p, &y);
        assert_eq!(o.threshold, 0.3);
        assert_eq!(
            (o.sensitivity, o.specificity, o.ppv, o.npv),
            (1.0, 1.0, 1.0, 1.0)
        );
        let hl = hosmer_lemeshow(&p, &y, 5);
        assert_eq!(hl.groups, 5);
        // Σ (o−e)²/(e(1−e)) for single-observation groups.
        let want: f64 = p
            .iter()
            .zip(&y)
            .map(|(p, y)| (y - p) * (y - p) / (p * (1.0 - p)))
            .sum();
        assert!((hl.statistic - want).abs() < 1e-12);
    }
}
