//! Decision curve analysis (Vickers & Elkin 2006): the net benefit of acting
//! on a model's predicted risk at each threshold probability pₜ.
//!
//! With prevalence π (the event rate of the data, or a given population
//! prevalence for case-control data), a patient is test-positive when its risk
//! is ≥ pₜ, and
//!
//! * TPR(pₜ) = (events with risk ≥ pₜ)/(events) · π,
//! * FPR(pₜ) = (non-events with risk ≥ pₜ)/(non-events) · (1 − π),
//! * net benefit NB(pₜ) = TPR − pₜ/(1 − pₜ) · FPR,
//! * net interventions avoided = (NB − NB_treat-all)/(pₜ/(1 − pₜ)).
//!
//! "Treat all" has every risk above every threshold (NB = π − (1 − π)pₜ/(1 − pₜ));
//! "treat none" has NB = 0. A model risk of exactly 0 is never positive and
//! exactly 1 always is. These are the definitions of dcurves' `dca` (binary
//! outcome, no harm), whose values ctrad equals (tests/stats_reference.rs).
//!
//! The optional bootstrap CI resamples patients with replacement and takes the
//! 2.5 % and 97.5 % quantiles (type 7) of each net benefit; resamples without
//! an event or a non-event are skipped and counted.

use super::data::{ColumnData, Table};
use super::stats::{quantile_sorted, SplitMix64};
use super::svg::{fmt_tick, nice_ticks, Svg};
use super::LogisticModel;
use crate::error::{Error, Result};

/// Names of the two reference strategies.
pub const TREAT_ALL: &str = "treat_all";
pub const TREAT_NONE: &str = "treat_none";

/// Net benefit and its parts at one threshold.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DcaPoint {
    pub threshold: f64,
    pub test_pos_rate: f64,
    pub tp_rate: f64,
    pub fp_rate: f64,
    pub net_benefit: f64,
    pub net_interventions_avoided: f64,
    /// Bootstrap 95 % percentile interval of the net benefit.
    pub ci: Option<[f64; 2]>,
}

/// One strategy's curve.
#[derive(Debug, Clone)]
pub struct DcaCurve {
    pub model: String,
    pub points: Vec<DcaPoint>,
}

/// All curves (each model, then treat-all and treat-none) and the data summary.
#[derive(Debug, Clone)]
pub struct Dca {
    pub curves: Vec<DcaCurve>,
    pub n: usize,
    pub events: usize,
    pub prevalence: f64,
    /// Bootstrap resamples used and skipped (no event or no non-event).
    pub bootstrap_used: usize,
    pub bootstrap_skipped: usize,
}

/// Thresholds `from:to:step` (e.g. `0.01:0.99:0.01`), each rounded to 12
/// decimals so that 0.07 is the double nearest 0.07.
pub fn parse_thresholds(s: &str) -> Result<Vec<f64>> {
    let bad = || {
        Error::Invalid(format!(
            "--thresholds '{s}': expected FROM:TO:STEP with 0 ≤ FROM ≤ TO < 1 and STEP > 0"
        ))
    };
    let parts: Vec<f64> = s
        .split(':')
        .map(|p| p.trim().parse::<f64>().map_err(|_| bad()))
        .collect::<Result<_>>()?;
    let [from, to, step] = parts[..] else {
        return Err(bad());
    };
    if !(from >= 0.0 && from <= to && to < 1.0 && step > 0.0 && step.is_finite()) {
        return Err(bad());
    }
    let count = ((to - from) / step + 1e-9).floor() as usize + 1;
    if count > 100_000 {
        return Err(bad());
    }
    Ok((0..count)
        .map(|i| ((from + i as f64 * step) * 1e12).round() / 1e12)
        .collect())
}

/// The test-positive, true- and false-positive rates of `risk` at `t`.
fn rates(risk: &[f64], y: &[bool], t: f64, prevalence: f64) -> (f64, f64, f64) {
    let n = risk.len() as f64;
    let (mut pos, mut tp, mut fp, mut events) = (0usize, 0usize, 0usize, 0usize);
    for (&r, &e) in risk.iter().zip(y) {
        // dcurves moves risks of exactly 0 and 1 just outside [0, 1].
        let r = if r == 0.0 {
            -f64::EPSILON
        } else if r == 1.0 {
            1.0 + f64::EPSILON
        } else {
            r
        };
        let positive = r >= t;
        pos += positive as usize;
        events += e as usize;
        if positive {
            if e {
                tp += 1;
            } else {
                fp += 1;
            }
        }
    }
    let non_events = risk.len() - events;
    (
        pos as f64 / n,
        tp as f64 / events as f64 * prevalence,
        fp as f64 / non_events as f64 * (1.0 - prevalence),
    )
}

fn curve_values(
    risk: &[f64],
    y: &[bool],
    thresholds: &[f64],
    prevalence: f64,
) -> Vec<(f64, f64, f64, f64)> {
    thresholds
        .iter()
        .map(|&t| {
            let (pos, tp, fp) = rates(risk, y, t, prevalence);
            (pos, tp, fp, tp - t / (1.0 - t) * fp)
        })
        .collect()
}

/// Decision curves of `models` (name, predicted risk per patient) for outcome
/// `y` (1 = event) at `thresholds`. `prevalence` overrides the observed event
/// rate (case-control data). `bootstrap` resamples (0 = none) give percentile CIs.
pub fn dca(
    models: &[(String, Vec<f64>)],
    y: &[f64],
    thresholds: &[f64],
    prevalence: Option<f64>,
    bootstrap: usize,
    seed: u64,
) -> Result<Dca> {
    let n = y.len();
    let yb: Vec<bool> = y.iter().map(|&v| v > 0.5).collect();
    let events = yb.iter().filter(|&&e| e).count();
    if events == 0 || events == n {
        return Err(Error::Invalid(format!(
            "decision curves need events and non-events; the {n} patients have {events} events"
        )));
    }
    if let Some(p) = prevalence {
        if !(p > 0.0 && p < 1.0) {
            return Err(Error::Invalid(format!(
                "--prevalence must be strictly between 0 and 1, got {p}"
            )));
        }
    }
    for (name, r) in models {
        if name == TREAT_ALL || name == TREAT_NONE {
            return Err(Error::Invalid(format!(
                "a model may not be called '{name}' (a reference strategy)"
            )));
        }
        if r.len() != n {
            return Err(Error::Invalid(format!(
                "model '{name}' has {} risks for {n} patients",
                r.len()
            )));
        }
        if let Some(v) = r.iter().find(|v| !(**v >= 0.0 && **v <= 1.0)) {
            return Err(Error::Invalid(format!(
                "model '{name}' has a risk {v} outside [0, 1]"
            )));
        }
    }
    if thresholds.iter().any(|t| !(*t >= 0.0 && *t < 1.0)) {
        return Err(Error::Invalid("thresholds must lie in [0, 1)".into()));
    }
    let mut all: Vec<(String, Vec<f64>)> = models.to_vec();
    all.push((TREAT_ALL.into(), vec![1.0; n]));
    all.push((TREAT_NONE.into(), vec![0.0; n]));
    let prev = prevalence.unwrap_or(events as f64 / n as f64);

    // Bootstrap: net benefit per (strategy, threshold) per resample.
    let mut boot: Vec<Vec<Vec<f64>>> = vec![vec![Vec::new(); thresholds.len()]; all.len()];
    let mut skipped = 0;
    if bootstrap > 0 {
        let mut rng = SplitMix64::new(seed);
        let mut idx = vec![0usize; n];
        for _ in 0..bootstrap {
            for v in idx.iter_mut() {
                *v = rng.below(n);
            }
            let yr: Vec<bool> = idx.iter().map(|&i| yb[i]).collect();
            let ev = yr.iter().filter(|&&e| e).count();
            if ev == 0 || ev == n {
                skipped += 1;
                continue;
            }
            let p = prevalence.unwrap_or(ev as f64 / n as f64);
            for (m, (_, risk)) in all.iter().enumerate() {
                let rr: Vec<f64> = idx.iter().map(|&i| risk[i]).collect();
                for (k, v) in curve_values(&rr, &yr, thresholds, p)
                    .into_iter()
                    .enumerate()
                {
                    boot[m][k].push(v.3);
                }
            }
        }
    }
    let treat_all_nb: Vec<f64> = curve_values(&all[all.len() - 2].1, &yb, thresholds, prev)
        .iter()
        .map(|v| v.3)
        .collect();
    let curves = all
        .iter()
        .enumerate()
        .map(|(m, (name, risk))| DcaCurve {
            model: name.clone(),
            points: curve_values(risk, &yb, thresholds, prev)
                .into_iter()
                .enumerate()
                .map(|(k, (pos, tp, fp, nb))| {
                    let t = thresholds[k];
                    let ci = (bootstrap > skipped).then(|| {
                        let mut b = boot[m][k].clone();
                        b.sort_by(f64::total_cmp);
                        [quantile_sorted(&b, 0.025), quantile_sorted(&b, 0.975)]
                    });
                    DcaPoint {
                        threshold: t,
                        test_pos_rate: pos,
                        tp_rate: tp,
                        fp_rate: fp,
                        net_benefit: nb,
                        net_interventions_avoided: (nb - treat_all_nb[k]) / (t / (1.0 - t)),
                        ci,
                    }
                })
                .collect(),
        })
        .collect();
    Ok(Dca {
        curves,
        n,
        events,
        prevalence: prev,
        bootstrap_used: bootstrap - skipped,
        bootstrap_skipped: skipped,
    })
}

/// The risks to compare, read from one table: each model's predicted
/// probability, and columns that already hold a probability.
#[derive(Debug, Clone)]
pub struct DcaInputs {
    pub models: Vec<(String, Vec<f64>)>,
    pub y: Vec<f64>,
    /// Rows left out for a missing outcome, predictor or probability.
    pub dropped: usize,
}

/// Predicted risks of `models` (name, model) and of the probability columns
/// `columns` on the rows of `table` where all of them and the outcome are
/// present (every curve is on the same patients). The outcome is `outcome`
/// (default: the first model's) coded as the models code it, or with `event`
/// as the event when only columns are given.
pub fn dca_inputs(
    table: &Table,
    models: &[(String, LogisticModel)],
    columns: &[String],
    outcome: Option<&str>,
    event: Option<&str>,
) -> Result<DcaInputs> {
    if models.is_empty() && columns.is_empty() {
        return Err(Error::Invalid(
            "give at least one --model or --probability column".into(),
        ));
    }
    let outcome = match (outcome, models.first()) {
        (Some(o), _) => o.to_string(),
        (None, Some((_, m))) => m.outcome.clone(),
        (None, None) => {
            return Err(Error::Invalid(
                "--outcome is required without --model".into(),
            ))
        }
    };
    if let Some((a, b)) = models
        .windows(2)
        .map(|w| (&w[0], &w[1]))
        .find(|(a, b)| a.1.outcome_event != b.1.outcome_event)
    {
        return Err(Error::Invalid(format!(
            "models '{}' and '{}' code different outcome values as the event ('{}' and '{}')",
            a.0, b.0, a.1.outcome_event, b.1.outcome_event
        )));
    }
    let ycol = table.column(&outcome)?;
    let lps: Vec<Vec<f64>> = models
        .iter()
        .map(|(_, m)| m.linear_predictor(table))
        .collect::<Result<_>>()?;
    let mut cols = Vec::new();
    for c in columns {
        let ColumnData::Numeric(v) = table.column(c)? else {
            return Err(Error::Invalid(format!(
                "probability column '{c}' holds text, not numbers"
            )));
        };
        cols.push(v);
    }
    let rows: Vec<usize> = (0..table.nrows)
        .filter(|&i| {
            !ycol.is_missing(i)
                && lps.iter().all(|l| l[i].is_finite())
                && cols.iter().all(|c| c[i].is_some_and(f64::is_finite))
        })
        .collect();
    let dropped = table.nrows - rows.len();
    let y = match (models.first(), event) {
        (Some((_, m)), None) => super::encode_outcome_like(m, ycol, &rows)?,
        (Some((_, m)), Some(e)) if e != m.outcome_event => {
            return Err(Error::Invalid(format!(
                "--event '{e}' differs from the models' event '{}'",
                m.outcome_event
            )))
        }
        (Some((_, m)), Some(_)) => super::encode_outcome_like(m, ycol, &rows)?,
        (None, e) => super::encode_outcome(ycol, &outcome, &rows, e)?.0,
    };
    let mut out: Vec<(String, Vec<f64>)> = models
        .iter()
        .zip(&lps)
        .map(|((name, _), lp)| {
            (
                name.clone(),
                rows.iter().map(|&i| super::stats::expit(lp[i])).collect(),
            )
        })
        .collect();
    for (c, v) in columns.iter().zip(&cols) {
        out.push((
            c.clone(),
            rows.iter().map(|&i| v[i].unwrap_or(f64::NAN)).collect(),
        ));
    }
    let mut seen = std::collections::HashSet::new();
    if let Some((dup, _)) = out.iter().find(|(n, _)| !seen.insert(n.clone())) {
        return Err(Error::Invalid(format!("two curves are named '{dup}'")));
    }
    Ok(DcaInputs {
        models: out,
        y,
        dropped,
    })
}

/// The long result table: threshold, model, net_benefit, [ci_low, ci_high],
/// test_pos_rate, tp_rate, fp_rate, net_interventions_avoided.
pub fn dca_output(d: &Dca) -> Table {
    let mut model = Vec::new();
    let mut num: Vec<Vec<Option<f64>>> = vec![Vec::new(); 8];
    let fin = |v: f64| v.is_finite().then_some(v);
    for c in &d.curves {
        for p in &c.points {
            model.push(Some(c.model.clone()));
            let ci = p.ci.unwrap_or([f64::NAN; 2]);
            for (col, v) in num.iter_mut().zip([
                p.threshold,
                p.net_benefit,
                ci[0],
                ci[1],
                p.test_pos_rate,
                p.tp_rate,
                p.fp_rate,
                p.net_interventions_avoided,
            ]) {
                col.push(fin(v));
            }
        }
    }
    let with_ci = d
        .curves
        .iter()
        .any(|c| c.points.iter().any(|p| p.ci.is_some()));
    let names = [
        "threshold",
        "net_benefit",
        "ci_low",
        "ci_high",
        "test_pos_rate",
        "tp_rate",
        "fp_rate",
        "net_interventions_avoided",
    ];
    let mut t = Table {
        nrows: model.len(),
        ..Default::default()
    };
    for (k, (n, c)) in names.iter().zip(num).enumerate() {
        if !with_ci && (k == 2 || k == 3) {
            continue;
        }
        t.names.push(n.to_string());
        t.columns.push(ColumnData::Numeric(c));
        if k == 0 {
            t.names.push("model".into());
            t.columns.push(ColumnData::Text(model.clone()));
        }
    }
    t
}

/// Decision curves as an SVG: net benefit against threshold probability, one
/// line per strategy (treat-all grey, treat-none black), the y axis from a
/// little below 0 to a little above the prevalence (values below are cut).
pub fn dca_svg(d: &Dca) -> String {
    const COLOURS: [&str; 6] = [
        "#1f4e9c", "#c0392b", "#27ae60", "#8e44ad", "#d35400", "#16a085",
    ];
    let mut svg = Svg::new(700.0, 560.0);
    let (x0, y0, w, h) = (90.0, 60.0, 420.0, 400.0);
    let ts: Vec<f64> = d.curves[0].points.iter().map(|p| p.threshold).collect();
    let (xmin, xmax) = (
        ts.first().copied().unwrap_or(0.0).min(0.0),
        ts.last().copied().unwrap_or(1.0),
    );
    let ymax = d.prevalence * 1.1;
    let ymin = -0.1 * ymax.max(0.05);
    let px = |t: f64| x0 + (t - xmin) / (xmax - xmin).max(1e-12) * w;
    let py = |v: f64| y0 + h - (v - ymin) / (ymax - ymin) * h;
    svg.text(
        350.0,
        30.0,
        16.0,
        "middle",
        "bold",
        &format!(
            "Decision curves (n = {}, {} events, prevalence {:.3})",
            d.n, d.events, d.prevalence
        ),
    );
    svg.rect(x0, y0, w, h, "none", "black");
    for t in nice_ticks(xmin, xmax, 5) {
        svg.line(px(t), y0 + h, px(t), y0 + h + 5.0, "black", 1.0);
        svg.text(px(t), y0 + h + 20.0, 12.0, "middle", "normal", &fmt_tick(t));
    }
    for v in nice_ticks(ymin, ymax, 6) {
        svg.line(x0 - 5.0, py(v), x0, py(v), "black", 1.0);
        svg.text(x0 - 8.0, py(v) + 4.0, 12.0, "end", "normal", &fmt_tick(v));
    }
    svg.line(x0, py(0.0), x0 + w, py(0.0), "#dddddd", 1.0);
    svg.text(
        x0 + w / 2.0,
        y0 + h + 42.0,
        14.0,
        "middle",
        "normal",
        "Threshold probability",
    );
    svg.text(x0 - 8.0, y0 - 10.0, 14.0, "start", "normal", "Net benefit");
    let mut legend_y = y0 + 10.0;
    for (m, c) in d.curves.iter().enumerate() {
        let colour = match c.model.as_str() {
            TREAT_ALL => "#999999",
            TREAT_NONE => "#000000",
            _ => COLOURS[m % COLOURS.len()],
        };
        // Split the line where it leaves the plotted range (below ymin).
        let mut seg: Vec<(f64, f64)> = Vec::new();
        for p in &c.points {
            if p.net_benefit.is_finite() && p.net_benefit >= ymin {
                seg.push((px(p.threshold), py(p.net_benefit.min(ymax))));
            } else if !seg.is_empty() {
                svg.polyline(&seg, colour, 2.0);
                seg.clear();
            }
        }
        if !seg.is_empty() {
            svg.polyline(&seg, colour, 2.0);
        }
        svg.line(
            x0 + w + 15.0,
            legend_y,
            x0 + w + 40.0,
            legend_y,
            colour,
            2.0,
        );
        svg.text(
            x0 + w + 45.0,
            legend_y + 4.0,
            12.0,
            "start",
            "normal",
            &c.model.replace('_', " "),
        );
        legend_y += 20.0;
    }
    svg.text(350.0, 540.0, 11.0, "middle", "normal", super::DISCLAIMER);
    svg.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_net_benefit() {
        // 4 events, 6 non-events; at pₜ = 0.5 the model flags 3 events and 1 non-event:
        // NB = 3/10 − 1·1/10 = 0.2; treat-all: 0.4 − 1·0.6 = −0.2.
        let risk = vec![0.9, 0.8, 0.6, 0.2, 0.7, 0.1, 0.1, 0.3, 0.2, 0.0];
        let y = vec![1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0];
        let d = dca(&[("m".into(), risk)], &y, &[0.5], None, 0, 1).unwrap();
        assert!((d.curves[0].points[0].net_benefit - 0.2).abs() < 1e-15);
        assert!((d.curves[1].points[0].net_benefit + 0.2).abs() < 1e-15);
        assert_eq!(d.curves[2].points[0].net_benefit, 0.0);
        assert!((d.curves[0].points[0].net_interventions_avoided - 0.4).abs() < 1e-15);
        // A risk of exactly 0 is not positive at threshold 0.
        let d = dca(
            &[("m".into(), vec![0.0, 0.5])],
            &[0.0, 1.0],
            &[0.0],
            None,
            0,
            1,
        )
        .unwrap();
        assert_eq!(d.curves[0].points[0].test_pos_rate, 0.5);
    }

    #[test]
    fn thresholds_and_bootstrap() {
        let t = parse_thresholds("0.01:0.99:0.01").unwrap();
        assert_eq!(t.len(), 99);
        assert_eq!(t[6], 0.07);
        assert_eq!(t[98], 0.99);
        assert!(parse_thresholds("0.5:0.2:0.1").is_err());
        assert!(parse_thresholds("0:1:0.1").is_err());
        let risk: Vec<f64> = (0..40).map(|i| (i as f64 + 0.5) / 40.0).collect();
        let y: Vec<f64> = (0..40)
            .map(|i| ((i * 7) % 10 < i / 4) as u8 as f64)
            .collect();
        let a = dca(&[("m".into(), risk.clone())], &y, &t, None, 200, 7).unwrap();
        let b = dca(&[("m".into(), risk)], &y, &t, None, 200, 7).unwrap();
        let (pa, pb) = (&a.curves[0].points[20], &b.curves[0].points[20]);
        assert_eq!(pa.ci, pb.ci);
        let ci = pa.ci.unwrap();
        assert!(ci[0] <= pa.net_benefit && pa.net_benefit <= ci[1], "{pa:?}");
        assert!(dca_svg(&a).contains("treat all"));
    }
}
