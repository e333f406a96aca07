//! Nomograms following R rms `nomogram()` conventions.
//!
//! For predictor j with contribution cⱼ(v) = Σ β·(term value) over the axis range
//! (numeric: [lo, hi]; categorical: all levels, reference = 0):
//!
//! * Rⱼ = max cⱼ − min cⱼ, R = maxⱼ Rⱼ (the predictor with the widest range gets 0–100);
//! * points pⱼ(v) = 100·(cⱼ(v) − min cⱼ)/R;
//! * total points T = Σⱼ pⱼ, and LP = β₀ + Σⱼ min cⱼ + T·R/100, probability = 1/(1+e^(−LP)).

use super::svg::{fmt_tick, nice_ticks, Svg};
use super::{LogisticModel, PredictorKind, DISCLAIMER};
use crate::error::{Error, Result};

/// Which range of a numeric predictor the axis covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum AxisRange {
    /// Training minimum to maximum.
    #[default]
    Minmax,
    /// rms `datadist` display range (q and 1−q quantiles, q = 10/max(n,200)).
    Display,
}

/// One predictor axis.
#[derive(Debug, Clone)]
pub struct PredictorAxis {
    pub name: String,
    pub unit: Option<String>,
    pub categorical: bool,
    /// A numeric 0/1 indicator (ticks at 0 and 1 only).
    pub binary: bool,
    /// Numeric: coefficient; categorical: unused (0).
    pub beta: f64,
    pub lo: f64,
    pub hi: f64,
    pub min_contribution: f64,
    pub range: f64,
    /// Tick label, value (NaN for levels) and points.
    pub ticks: Vec<(String, f64, f64)>,
}

/// A computed nomogram.
#[derive(Debug, Clone)]
pub struct Nomogram {
    pub axes: Vec<PredictorAxis>,
    /// R: the largest contribution range (LP units per 100 points).
    pub scale: f64,
    pub total_max: f64,
    /// LP at total points 0.
    pub lp0: f64,
}

impl Nomogram {
    /// Points of predictor `name` at numeric value `v`.
    pub fn points(&self, name: &str, v: f64) -> Option<f64> {
        let a = self
            .axes
            .iter()
            .find(|a| a.name == name && !a.categorical)?;
        Some(100.0 * (a.beta * v - a.min_contribution) / self.scale)
    }
    /// Points of level `level` of categorical predictor `name`.
    pub fn level_points(&self, name: &str, level: &str) -> Option<f64> {
        let a = self.axes.iter().find(|a| a.name == name && a.categorical)?;
        a.ticks.iter().find(|t| t.0 == level).map(|t| t.2)
    }
    /// Linear predictor at `total` points.
    pub fn lp(&self, total: f64) -> f64 {
        self.lp0 + total * self.scale / 100.0
    }
    /// Total points at linear predictor `lp`.
    pub fn total_at(&self, lp: f64) -> f64 {
        (lp - self.lp0) * 100.0 / self.scale
    }
    /// Points table rows (predictor, value, points).
    pub fn points_table(&self) -> Vec<(String, String, f64)> {
        self.axes
            .iter()
            .flat_map(|a| {
                a.ticks
                    .iter()
                    .map(move |t| (a.name.clone(), t.0.clone(), t.2))
            })
            .collect()
    }
}

/// Build the nomogram of `model`.
pub fn build(model: &LogisticModel, range: AxisRange) -> Result<Nomogram> {
    let mut axes = Vec::new();
    for p in &model.predictors {
        match p.kind {
            PredictorKind::Numeric => {
                let beta = model.coefficients.get(&p.name).copied().unwrap_or(0.0);
                let (lo, hi) = match (range, p.display_range) {
                    (AxisRange::Display, Some(r)) => (r[0], r[1]),
                    _ => (p.min.unwrap_or(f64::NAN), p.max.unwrap_or(f64::NAN)),
                };
                if !(lo.is_finite() && hi.is_finite()) {
                    return Err(Error::Invalid(format!(
                        "model has no range for predictor '{}'",
                        p.name
                    )));
                }
                let (c_lo, c_hi) = (beta * lo, beta * hi);
                axes.push(PredictorAxis {
                    name: p.name.clone(),
                    unit: p.unit.clone(),
                    categorical: false,
                    binary: p.unit.as_deref() == Some("0/1") && lo == 0.0 && hi == 1.0,
                    beta,
                    lo,
                    hi,
                    min_contribution: c_lo.min(c_hi),
                    range: (c_hi - c_lo).abs(),
                    ticks: vec![],
                });
            }
            PredictorKind::Categorical => {
                let contrib: Vec<(String, f64)> = p
                    .levels
                    .iter()
                    .map(|l| {
                        (
                            l.clone(),
                            model
                                .coefficients
                                .get(&format!("{}={l}", p.name))
                                .copied()
                                .unwrap_or(0.0),
                        )
                    })
                    .collect();
                let mn = contrib.iter().map(|c| c.1).fold(f64::INFINITY, f64::min);
                let mx = contrib
                    .iter()
                    .map(|c| c.1)
                    .fold(f64::NEG_INFINITY, f64::max);
                axes.push(PredictorAxis {
                    name: p.name.clone(),
                    unit: p.unit.clone(),
                    categorical: true,
                    binary: false,
                    beta: 0.0,
                    lo: f64::NAN,
                    hi: f64::NAN,
                    min_contribution: mn,
                    range: mx - mn,
                    // Points are filled in below; carry the contribution in the value slot for now.
                    ticks: contrib.into_iter().map(|(l, c)| (l, c, 0.0)).collect(),
                });
            }
        }
    }
    let scale = axes.iter().map(|a| a.range).fold(0.0, f64::max);
    if scale.is_nan() || scale <= 0.0 {
        return Err(Error::Invalid(
            "every coefficient is zero: nothing to draw".into(),
        ));
    }
    for a in axes.iter_mut() {
        if a.categorical {
            for t in a.ticks.iter_mut() {
                t.2 = 100.0 * (t.1 - a.min_contribution) / scale;
                t.1 = f64::NAN;
            }
        } else {
            // About one tick per 60 px on a 750 px full-scale axis.
            let px = 750.0 * a.range / scale;
            let target = ((px / 60.0).round() as usize).clamp(2, 10);
            // 0/1 indicators get exactly two ticks.
            let mut vals = if a.binary {
                vec![a.lo, a.hi]
            } else {
                nice_ticks(a.lo, a.hi, target)
            };
            if vals.len() < 2 {
                vals = vec![a.lo, a.hi];
            }
            a.ticks = vals
                .into_iter()
                .map(|v| {
                    (
                        fmt_tick(v),
                        v,
                        100.0 * (a.beta * v - a.min_contribution) / scale,
                    )
                })
                .collect();
        }
    }
    let total_max = axes.iter().map(|a| 100.0 * a.range / scale).sum();
    let lp0 = model.intercept + axes.iter().map(|a| a.min_contribution).sum::<f64>();
    Ok(Nomogram {
        axes,
        scale,
        total_max,
        lp0,
    })
}

/// Points table as CSV text: predictor,value,points.
pub fn points_csv(nomo: &Nomogram) -> String {
    let mut s = String::from("predictor,value,points\n");
    for (p, v, pts) in nomo.points_table() {
        let q = |x: &str| {
            if x.contains(',') || x.contains('"') {
                format!("\"{}\"", x.replace('"', "\"\""))
            } else {
                x.to_string()
            }
        };
        s.push_str(&format!("{},{},{}\n", q(&p), q(&v), pts));
    }
    s
}

/// Render the nomogram as SVG (A4 landscape proportions).
pub fn render_svg(model: &LogisticModel, nomo: &Nomogram) -> String {
    let (x0, x1) = (300.0, 1060.0);
    let row = 64.0;
    let top = 110.0;
    let n_rows = nomo.axes.len() + 4;
    let height = top + row * n_rows as f64 + 70.0;
    let mut svg = Svg::new(1120.0, height.max(600.0));
    let per_point = (x1 - x0) / 100.0;
    svg.text(
        560.0,
        34.0,
        20.0,
        "middle",
        "bold",
        &format!(
            "Nomogram: probability of {} = {}",
            model.outcome, model.outcome_event
        ),
    );
    svg.text(
        560.0,
        58.0,
        14.0,
        "middle",
        "normal",
        &format!(
            "Binary logistic model, n = {}, events = {}{}",
            model.training.n,
            model.training.events,
            match model.penalty.kind {
                super::logistic::Penalty::None => String::new(),
                k => format!(", {:?} penalty λ = {:.4}", k, model.penalty.lambda).to_lowercase(),
            }
        ),
    );
    svg.text(
        560.0,
        80.0,
        14.0,
        "middle",
        "bold",
        &format!("NOTE: {DISCLAIMER}"),
    );

    // Axis helper: ticks at (x, label); labels below unless `stagger`.
    let draw_axis = |svg: &mut Svg, y: f64, label: &str, ticks: &[(f64, String)], stagger: bool| {
        svg.text(x0 - 20.0, y + 5.0, 15.0, "end", "normal", label);
        if ticks.is_empty() {
            return;
        }
        let xmin = ticks.iter().map(|t| t.0).fold(f64::INFINITY, f64::min);
        let xmax = ticks.iter().map(|t| t.0).fold(f64::NEG_INFINITY, f64::max);
        svg.line(xmin, y, xmax, y, "black", 1.2);
        let mut sorted: Vec<&(f64, String)> = ticks.iter().collect();
        sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut last_x = f64::NEG_INFINITY;
        let mut up = false;
        for (x, l) in sorted {
            svg.line(*x, y - 6.0, *x, y, "black", 1.0);
            // Labels that would collide alternate above/below the axis.
            let width = 7.5 * l.chars().count() as f64;
            if stagger && *x - last_x < width + 6.0 {
                up = !up;
            } else {
                up = false;
            }
            let ly = if up { y - 10.0 } else { y + 18.0 };
            svg.text(*x, ly, 13.0, "middle", "normal", l);
            last_x = *x;
        }
    };

    let mut y = top;
    let pts_ticks: Vec<(f64, String)> = (0..=10)
        .map(|k| (x0 + 10.0 * k as f64 * per_point, format!("{}", 10 * k)))
        .collect();
    draw_axis(&mut svg, y, "Points", &pts_ticks, false);
    for k in 0..=20 {
        svg.line(
            x0 + 5.0 * k as f64 * per_point,
            y - 3.0,
            x0 + 5.0 * k as f64 * per_point,
            y,
            "black",
            0.8,
        );
    }
    for a in &nomo.axes {
        y += row;
        let label = match &a.unit {
            Some(u) if !a.categorical && u != "0/1" => format!("{} ({u})", a.name),
            _ => a.name.clone(),
        };
        let ticks: Vec<(f64, String)> = a
            .ticks
            .iter()
            .map(|t| (x0 + t.2 * per_point, t.0.clone()))
            .collect();
        draw_axis(&mut svg, y, &label, &ticks, true);
    }
    // Total points axis spans the same width as 0–100 points × (total_max/100).
    y += row;
    let total_scale = (x1 - x0) / nomo.total_max.max(100.0);
    let tt: Vec<(f64, String)> = nice_ticks(0.0, nomo.total_max, 10)
        .into_iter()
        .map(|t| (x0 + t * total_scale, fmt_tick(t)))
        .collect();
    draw_axis(&mut svg, y, "Total points", &tt, false);
    y += row;
    let (lp_lo, lp_hi) = (nomo.lp(0.0), nomo.lp(nomo.total_max));
    let lt: Vec<(f64, String)> = nice_ticks(lp_lo, lp_hi, 8)
        .into_iter()
        .map(|v| (x0 + nomo.total_at(v) * total_scale, fmt_tick(v)))
        .collect();
    draw_axis(&mut svg, y, "Linear predictor", &lt, false);
    y += row;
    let probs: [f64; 15] = [
        0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99,
    ];
    let mut pt: Vec<(f64, String)> = Vec::new();
    for p in probs {
        let lp = (p / (1.0 - p)).ln();
        if lp < lp_lo || lp > lp_hi {
            continue;
        }
        let x = x0 + nomo.total_at(lp) * total_scale;
        if pt.last().is_none_or(|l| x - l.0 >= 34.0) {
            pt.push((x, fmt_tick(p)));
        }
    }
    draw_axis(
        &mut svg,
        y,
        &format!("Probability of {}", model.outcome),
        &pt,
        false,
    );
    svg.text(
        560.0,
        y + 56.0,
        12.0,
        "middle",
        "normal",
        "Read each predictor's points on the Points axis, add them, and read the probability below the total.",
    );
    svg.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn nice_prob_ticks_fit() {
        assert!(nice_ticks(-3.0, 2.0, 8).contains(&0.0));
    }
}
