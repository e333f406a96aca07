//! Minimal SVG writing (plain text, generic font families; no external resources)
//! and the ROC / calibration plots of `ctrad model evaluate`.

use std::fmt::Write;

/// Escape text for XML.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// An SVG document under construction.
pub struct Svg {
    pub width: f64,
    pub height: f64,
    body: String,
}

impl Svg {
    pub fn new(width: f64, height: f64) -> Self {
        Svg {
            width,
            height,
            body: String::new(),
        }
    }
    pub fn line(&mut self, x1: f64, y1: f64, x2: f64, y2: f64, stroke: &str, width: f64) {
        let _ = writeln!(
            self.body,
            r#"<line x1="{x1:.2}" y1="{y1:.2}" x2="{x2:.2}" y2="{y2:.2}" stroke="{stroke}" stroke-width="{width}"/>"#
        );
    }
    /// Text; `anchor` is start | middle | end.
    pub fn text(&mut self, x: f64, y: f64, size: f64, anchor: &str, weight: &str, s: &str) {
        let _ = writeln!(
            self.body,
            r#"<text x="{x:.2}" y="{y:.2}" font-size="{size}" text-anchor="{anchor}" font-weight="{weight}">{}</text>"#,
            esc(s)
        );
    }
    pub fn polyline(&mut self, pts: &[(f64, f64)], stroke: &str, width: f64) {
        let p: Vec<String> = pts.iter().map(|(x, y)| format!("{x:.2},{y:.2}")).collect();
        let _ = writeln!(
            self.body,
            r#"<polyline points="{}" fill="none" stroke="{stroke}" stroke-width="{width}"/>"#,
            p.join(" ")
        );
    }
    pub fn circle(&mut self, x: f64, y: f64, r: f64, fill: &str) {
        let _ = writeln!(
            self.body,
            r#"<circle cx="{x:.2}" cy="{y:.2}" r="{r}" fill="{fill}"/>"#
        );
    }
    pub fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, fill: &str, stroke: &str) {
        let _ = writeln!(
            self.body,
            r#"<rect x="{x:.2}" y="{y:.2}" width="{w:.2}" height="{h:.2}" fill="{fill}" stroke="{stroke}"/>"#
        );
    }
    /// Append SVG markup as is (the caller escapes its text).
    pub fn raw(&mut self, fragment: &str) {
        self.body.push_str(fragment);
        self.body.push('\n');
    }
    /// The SVG element alone, to embed in an HTML page (no XML prolog; an
    /// inline `<svg>` needs no namespace).
    pub fn inline(self) -> String {
        format!(
            "<svg width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" font-family=\"Helvetica, Arial, sans-serif\">\n{}</svg>\n",
            self.body,
            w = self.width,
            h = self.height
        )
    }
    pub fn finish(self) -> String {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" \
             viewBox=\"0 0 {w} {h}\" font-family=\"Helvetica, Arial, sans-serif\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n{}</svg>\n",
            self.body,
            w = self.width,
            h = self.height
        )
    }
}

/// "Nice" tick values (1-2-5 steps) covering [lo, hi], about `target` of them, inside the range.
pub fn nice_ticks(lo: f64, hi: f64, target: usize) -> Vec<f64> {
    let (lo, hi) = if lo <= hi { (lo, hi) } else { (hi, lo) };
    if hi <= lo || !lo.is_finite() || !hi.is_finite() {
        return vec![lo];
    }
    let raw = (hi - lo) / target.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let start = (lo / step - 1e-9).ceil() * step;
    let mut v = Vec::new();
    let mut k = 0;
    loop {
        let t = start + k as f64 * step;
        if t > hi + step * 1e-9 {
            break;
        }
        // Clean up binary noise such as 0.30000000000000004.
        let dec = 10f64.powi((1.0 - step.log10().floor()).max(0.0) as i32);
        let t = (t * dec).round() / dec;
        v.push(if t.abs() < step * 1e-9 { 0.0 } else { t });
        k += 1;
    }
    v
}

/// Format a tick value compactly.
pub fn fmt_tick(v: f64) -> String {
    if v == v.round() && v.abs() < 1e9 {
        return format!("{}", v as i64);
    }
    let s = format!("{v:.6}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

fn plot_frame(svg: &mut Svg, x0: f64, y0: f64, size: f64, xlabel: &str, ylabel: &str) {
    svg.rect(x0, y0, size, size, "none", "black");
    for t in nice_ticks(0.0, 1.0, 5) {
        let x = x0 + t * size;
        let y = y0 + size - t * size;
        svg.line(x, y0 + size, x, y0 + size + 5.0, "black", 1.0);
        svg.text(x, y0 + size + 20.0, 12.0, "middle", "normal", &fmt_tick(t));
        svg.line(x0 - 5.0, y, x0, y, "black", 1.0);
        svg.text(x0 - 8.0, y + 4.0, 12.0, "end", "normal", &fmt_tick(t));
    }
    svg.text(
        x0 + size / 2.0,
        y0 + size + 42.0,
        14.0,
        "middle",
        "normal",
        xlabel,
    );
    svg.text(x0 - 45.0, y0 + size / 2.0, 14.0, "middle", "normal", ylabel);
    svg.line(x0, y0 + size, x0 + size, y0, "#999999", 1.0);
}

/// ROC curve plot.
pub fn roc_svg(roc: &[[f64; 2]], auc: f64, ci: [f64; 2]) -> String {
    let mut svg = Svg::new(560.0, 600.0);
    let (x0, y0, s) = (90.0, 60.0, 420.0);
    svg.text(
        280.0,
        30.0,
        16.0,
        "middle",
        "bold",
        &format!(
            "ROC curve — AUC {auc:.3} (DeLong 95% CI {:.3}–{:.3})",
            ci[0], ci[1]
        ),
    );
    plot_frame(&mut svg, x0, y0, s, "1 − specificity", "");
    svg.text(30.0, y0 + s / 2.0, 14.0, "middle", "normal", "Sens.");
    let pts: Vec<(f64, f64)> = roc
        .iter()
        .map(|p| (x0 + p[0] * s, y0 + s - p[1] * s))
        .collect();
    svg.polyline(&pts, "#1f4e9c", 2.0);
    svg.text(280.0, 580.0, 11.0, "middle", "normal", super::DISCLAIMER);
    svg.finish()
}

/// Calibration plot: grouped observed vs mean predicted risk, with the ideal line.
pub fn calibration_svg(groups: &[[f64; 4]], slope: f64, intercept: f64) -> String {
    let mut svg = Svg::new(560.0, 600.0);
    let (x0, y0, s) = (90.0, 60.0, 420.0);
    svg.text(
        280.0,
        30.0,
        16.0,
        "middle",
        "bold",
        &format!("Calibration — slope {slope:.2}, intercept {intercept:.2}"),
    );
    plot_frame(
        &mut svg,
        x0,
        y0,
        s,
        "Predicted probability (group mean)",
        "",
    );
    svg.text(30.0, y0 + s / 2.0, 14.0, "middle", "normal", "Obs.");
    let pts: Vec<(f64, f64)> = groups
        .iter()
        .map(|g| (x0 + g[3] * s, y0 + s - (g[1] / g[0]) * s))
        .collect();
    svg.polyline(&pts, "#1f4e9c", 1.5);
    for (x, y) in pts {
        svg.circle(x, y, 4.0, "#1f4e9c");
    }
    svg.text(280.0, 580.0, 11.0, "middle", "normal", super::DISCLAIMER);
    svg.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn ticks() {
        assert_eq!(nice_ticks(0.0, 1.0, 5), vec![0.0, 0.2, 0.4, 0.6, 0.8, 1.0]);
        assert_eq!(nice_ticks(12.0, 57.0, 5), vec![20.0, 30.0, 40.0, 50.0]);
        assert_eq!(fmt_tick(0.30000000000000004), "0.3");
        assert_eq!(esc("a<b & c"), "a&lt;b &amp; c");
    }
}
