//! The report's HTML: the cohort page (summary, table of entries with
//! filter and sorting, feature distributions) and the study sections (series
//! and phase evidence, enhancement plot, key features against the cohort,
//! the three views of each series × ROI). No external resource: styles and
//! script inline, images as `data:` URLs, plots as inline SVG.

use super::{Cohort, Entry, ReportOptions, ReportSummary, Status, StudyData};
use crate::error::Result;
use crate::model::svg::{esc, fmt_tick, nice_ticks, Svg};
use crate::study::Phase;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

const STYLE: &str = r#"
body{font-family:Helvetica,Arial,sans-serif;margin:0 1.5em 2em;color:#222;background:#fafafa}
h1{font-size:1.5em;margin:.8em 0 .2em}h2{font-size:1.25em;margin:1.2em 0 .3em;border-bottom:2px solid #345}
h3{font-size:1em;margin:.6em 0 .2em}
table{border-collapse:collapse;font-size:12px;background:#fff}
th,td{border:1px solid #ccc;padding:2px 5px;text-align:left;vertical-align:top}
th{background:#e8edf2;cursor:pointer;position:sticky;top:0}
td.n{text-align:right;font-variant-numeric:tabular-nums}
tr.flagged td{background:#fff4e0}tr.failed td{background:#fde4e4}
.flags{color:#a33;font-size:12px;margin:0;padding-left:1.2em}
.ok{color:#276}.bad{color:#b22;font-weight:bold}.muted{color:#777}
.entry{background:#fff;border:1px solid #ccd;border-radius:4px;padding:.4em .7em;margin:.6em 0;display:inline-block;vertical-align:top}
.entry.flagged{border-color:#e0a040;border-width:2px}.entry.failed{border-color:#d44;border-width:2px}
.views{display:flex;gap:8px;flex-wrap:wrap}
figure{margin:0}figcaption{font-size:11px;color:#555;text-align:center}
.img{position:relative;background:#000;display:inline-block}
.img img{display:block;image-rendering:pixelated}
.img span{position:absolute;color:#ff0;font:bold 13px Helvetica,Arial,sans-serif;text-shadow:0 0 2px #000}
.img .l{left:3px;top:50%;transform:translateY(-50%)}.img .r{right:3px;top:50%;transform:translateY(-50%)}
.img .t{top:2px;left:50%;transform:translateX(-50%)}.img .b{bottom:2px;left:50%;transform:translateX(-50%)}
.controls{margin:.5em 0}.controls input[type=search]{width:24em;padding:3px}
pre{background:#fff;border:1px solid #ccc;padding:.5em;font-size:12px}
.plots{display:flex;gap:1em;flex-wrap:wrap;align-items:flex-start}
.dist{display:inline-block;margin:.3em .8em .3em 0;vertical-align:top}
.scroll{max-height:70vh;overflow:auto;display:inline-block;max-width:100%}
nav a{margin-right:1em}
"#;

const SCRIPT: &str = r#"
function filterRows(){
  var q=document.getElementById('q').value.toLowerCase();
  var f=document.getElementById('flaggedOnly').checked;
  var rows=document.querySelectorAll('#cohort tbody tr');
  for(var i=0;i<rows.length;i++){
    var r=rows[i];
    var show=(!q||r.textContent.toLowerCase().indexOf(q)>=0)&&(!f||r.getAttribute('data-flag')==='1');
    r.style.display=show?'':'none';
  }
}
function sortBy(th){
  var table=th.closest('table'),body=table.tBodies[0];
  var col=Array.prototype.indexOf.call(th.parentNode.children,th);
  var asc=th.getAttribute('data-asc')!=='1';
  th.setAttribute('data-asc',asc?'1':'0');
  var rows=Array.prototype.slice.call(body.rows);
  function key(r){var c=r.cells[col];var v=c.getAttribute('data-v');
    if(v!==null){return v===''?null:parseFloat(v);}return c.textContent.toLowerCase();}
  rows.sort(function(a,b){var x=key(a),y=key(b);
    if(x===null&&y===null)return 0;if(x===null)return 1;if(y===null)return -1;
    var d=(typeof x==='number'&&typeof y==='number')?x-y:String(x).localeCompare(String(y));
    return asc?d:-d;});
  for(var i=0;i<rows.length;i++)body.appendChild(rows[i]);
}
"#;

/// Series colours of the plots (ROI lines).
const COLOURS: [&str; 6] = [
    "#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b",
];

fn page(title: &str, body: &str, script: bool) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n<style>{STYLE}</style>\n{}</head>\n<body>\n{body}</body>\n</html>\n",
        esc(title),
        if script {
            format!("<script>{SCRIPT}</script>\n")
        } else {
            String::new()
        }
    )
}

/// A fragment identifier / file name made of safe characters.
fn slug(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn num(v: Option<f64>, digits: usize) -> String {
    v.map_or("–".to_string(), |x| format!("{x:.digits$}"))
}

/// A numeric table cell sortable by value.
fn num_cell(v: Option<f64>, digits: usize) -> String {
    format!(
        "<td class=\"n\" data-v=\"{}\">{}</td>",
        v.map_or(String::new(), |x| x.to_string()),
        num(v, digits)
    )
}

fn phase_name(p: &str) -> String {
    p.replace('_', " ")
}

/// Write the cohort page (and study pages when too large).
pub(crate) fn write(cohort: &Cohort, output: &Path, opts: &ReportOptions) -> Result<ReportSummary> {
    let sections: Vec<String> = cohort
        .studies
        .iter()
        .map(|s| study_section(cohort, s))
        .collect();
    let total: usize = sections.iter().map(String::len).sum();
    let split = total as f64 > opts.max_single_file_mb * 1e6;
    let stem = output
        .file_stem()
        .map_or("report".to_string(), |s| s.to_string_lossy().to_string());
    let pages_dir_name = format!("{stem}_studies");
    let link = |s: &StudyData| {
        if split {
            format!("{pages_dir_name}/{}.html", slug(&s.id))
        } else {
            format!("#study-{}", slug(&s.id))
        }
    };

    let mut summary = ReportSummary {
        studies: cohort.studies.len(),
        ..Default::default()
    };
    for e in cohort.studies.iter().flat_map(|s| &s.entries) {
        summary.entries += 1;
        match e.status {
            Status::Computed => summary.computed += 1,
            Status::Failed(_) => summary.failed += 1,
            Status::NotExtracted => {}
        }
        if !e.flags.is_empty() {
            summary.flagged += 1;
        }
    }

    let mut body = String::new();
    header(&mut body, cohort, &summary, opts, split);
    cohort_table(&mut body, cohort, &link);
    distributions(&mut body, cohort);
    let mut files = Vec::new();
    crate::table::create_parent_dir(output)?;
    if split {
        let dir = output.with_file_name(&pages_dir_name);
        std::fs::create_dir_all(&dir).map_err(|e| crate::error::Error::io(&dir, e))?;
        let back = output
            .file_name()
            .map_or("report.html".into(), |n| n.to_string_lossy().to_string());
        let _ = writeln!(
            body,
            "<h2 id=\"studies\">Studies</h2><p>Each study is on its own page (the report would exceed {} MB in one file):</p><ul>",
            opts.max_single_file_mb
        );
        for (s, section) in cohort.studies.iter().zip(&sections) {
            let _ = writeln!(
                body,
                "<li><a href=\"{}\">{}</a></li>",
                esc(&link(s)),
                esc(&s.id)
            );
            let path = dir.join(format!("{}.html", slug(&s.id)));
            let html = page(
                &format!("ctrad report: {}", s.id),
                &format!(
                    "<p><a href=\"../{}\">← cohort</a></p>\n{section}",
                    esc(&back)
                ),
                false,
            );
            crate::io::atomic::write_text(&path, &html)?;
            summary.bytes += html.len() as u64;
            files.push(path);
        }
        body.push_str("</ul>\n");
    } else {
        body.push_str("<h2 id=\"studies\">Studies</h2>\n");
        for section in &sections {
            body.push_str(section);
        }
    }
    let html = page("ctrad report", &body, true);
    crate::io::atomic::write_text(output, &html)?;
    summary.bytes += html.len() as u64;
    files.insert(0, output.to_path_buf());
    summary.files = files;
    Ok(summary)
}

fn header(
    out: &mut String,
    cohort: &Cohort,
    summary: &ReportSummary,
    opts: &ReportOptions,
    split: bool,
) {
    let _ = writeln!(
        out,
        "<h1>ctrad report</h1>\n<nav><a href=\"#cohort-title\">cohort</a><a href=\"#distributions\">feature distributions</a><a href=\"#studies\">studies</a></nav>"
    );
    let _ = writeln!(
        out,
        "<p>Studies folder <code>{}</code>; table <code>{}</code>; ctrad {}.<br>\
         Parameters: {}. Window W {} / L {} HU.</p>",
        esc(&cohort.studies_dir.display().to_string()),
        esc(&cohort.table_path.display().to_string()),
        crate::VERSION,
        esc(&cohort.params_note),
        fmt_tick(opts.window.width),
        fmt_tick(opts.window.level),
    );
    if let Some(text) = &cohort.params_text {
        let _ = writeln!(
            out,
            "<details><summary>parameter file</summary><pre>{}</pre></details>",
            esc(text)
        );
    }
    let _ = writeln!(
        out,
        "<p><b>{}</b> studies, <b>{}</b> series × ROI entries: <span class=\"ok\">{} computed</span>, \
         <span class=\"bad\">{} failed</span>, {} not extracted; <b>{}</b> flagged.{}</p>",
        summary.studies,
        summary.entries,
        summary.computed,
        summary.failed,
        summary.entries - summary.computed - summary.failed,
        summary.flagged,
        if split {
            " Study pages are separate files."
        } else {
            ""
        }
    );
    let _ = writeln!(
        out,
        "<details><summary>what the flags mean</summary><ul>\
         <li>robust z: (value − cohort median) / (1.4826 × median absolute deviation), flagged above {z} in absolute value, over ≥ {n} values (ROI volume per ROI, mean HU per ROI and phase, spacing per phase)</li>\
         <li>an enhanced phase whose ROI mean HU is below the unenhanced one: phases or contours likely mixed up</li>\
         <li>ROI touching the volume's edge (may be cut off); ROI of fewer than {few} voxels; empty ROI</li>\
         <li>segmentation drawn on a series with another grid; phase unknown in a multi-series study</li>\
         <li>ROI volume and mean HU are measured on the image (every ROI voxel, before any resampling or re-segmentation)</li></ul></details>",
        z = super::flags::ROBUST_Z,
        n = super::flags::MIN_COHORT,
        few = super::flags::FEW_VOXELS,
    );
}

fn series_label(s: &StudyData, e: &Entry) -> String {
    match e.series {
        Some(i) => s.series[i].label.clone(),
        None => e
            .row
            .map_or(String::new(), |_| "(not in the folder)".to_string()),
    }
}

fn status_html(status: &Status) -> String {
    match status {
        Status::Computed => "<span class=\"ok\">computed</span>".into(),
        Status::Failed(m) => format!("<span class=\"bad\">error</span>: {}", esc(m)),
        Status::NotExtracted => "<span class=\"muted\">not extracted</span>".into(),
    }
}

fn cohort_table(out: &mut String, cohort: &Cohort, link: &dyn Fn(&StudyData) -> String) {
    out.push_str("<h2 id=\"cohort-title\">Cohort</h2>\n<div class=\"controls\"><input type=\"search\" id=\"q\" placeholder=\"filter (study, phase, ROI, flag…)\" oninput=\"filterRows()\"> \
        <label><input type=\"checkbox\" id=\"flaggedOnly\" onchange=\"filterRows()\"> flagged only</label> \
        <span class=\"muted\">click a column title to sort</span></div>\n");
    out.push_str("<div class=\"scroll\"><table id=\"cohort\"><thead><tr>");
    for h in [
        "study",
        "phase",
        "phase evidence",
        "series",
        "ROI",
        "status",
        "pixel (mm)",
        "slice (mm)",
        "thickness (mm)",
        "contrast agent",
        "delay (s)",
        "voxels",
        "volume (mL)",
        "mean HU",
        "flags",
    ] {
        let _ = write!(out, "<th onclick=\"sortBy(this)\">{h}</th>");
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for s in &cohort.studies {
        for e in &s.entries {
            let series = e.series.map(|i| &s.series[i]);
            let class = match (&e.status, e.flags.is_empty()) {
                (Status::Failed(_), _) => " class=\"failed\"",
                (_, false) => " class=\"flagged\"",
                _ => "",
            };
            let spacing = series.and_then(|x| x.spacing).or_else(|| {
                let r = &cohort.rows[e.row?];
                Some([r.spacing[0]?, r.spacing[1]?, r.spacing[2]?])
            });
            let _ = write!(
                out,
                "<tr{class} data-flag=\"{}\"><td><a href=\"{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>",
                u8::from(!e.flags.is_empty()),
                esc(&link(s)),
                esc(&s.id),
                esc(&phase_name(&e.phase)),
                esc(&series.map_or(String::new(), |x| x.phase_reason.clone())),
                esc(&series_label(s, e)),
                esc(&e.roi),
                status_html(&e.status),
            );
            let _ = writeln!(
                out,
                "{}{}{}<td>{}</td>{}{}{}{}<td>{}</td></tr>",
                num_cell(spacing.map(|sp| sp[0].max(sp[1])), 3),
                num_cell(spacing.map(|sp| sp[2]), 3),
                num_cell(series.and_then(|x| x.slice_thickness), 2),
                esc(series.map_or("", |x| x.contrast_agent.as_str())),
                num_cell(series.and_then(|x| x.delay_s), 0),
                num_cell(e.voxels.map(|v| v as f64), 0),
                num_cell(e.volume_ml, 2),
                num_cell(e.mean_hu, 1),
                esc(&e.flags.join("; ")),
            );
        }
    }
    out.push_str("</tbody></table></div>\n");
}

/// The study section: series, plots and the views of each entry.
fn study_section(cohort: &Cohort, s: &StudyData) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "<section class=\"study\" id=\"study-{}\">\n<h2>{}</h2>",
        slug(&s.id),
        esc(&s.id)
    );
    if let Some(d) = &s.dir {
        let _ = writeln!(
            out,
            "<p class=\"muted\">{}</p>",
            esc(&d.display().to_string())
        );
    }
    if !s.series.is_empty() {
        out.push_str("<table class=\"series\"><thead><tr><th>series</th><th>phase</th><th>evidence</th><th>contrast agent</th><th>delay (s)</th><th>voxel spacing (mm)</th><th>thickness (mm)</th><th>grid</th><th>kernel</th><th>source</th><th>UID</th></tr></thead><tbody>\n");
        for x in &s.series {
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td><b>{}</b></td><td>{:?}: {}</td><td>{}</td><td class=\"n\">{}</td><td>{}</td><td class=\"n\">{}</td><td>{}</td><td>{}</td><td>{}</td><td><small>{}</small></td></tr>",
                esc(&x.label),
                esc(&x.phase.to_string()),
                x.phase_source,
                esc(&x.phase_reason),
                esc(&x.contrast_agent),
                num(x.delay_s, 0),
                x.spacing.map_or("–".into(), |sp| format!(
                    "{} × {} × {}",
                    fmt_tick(sp[0]),
                    fmt_tick(sp[1]),
                    fmt_tick(sp[2])
                )),
                num(x.slice_thickness, 2),
                x.dims.map_or(
                    x.open_error.clone().map_or("–".into(), |e| esc(&e)),
                    |d| format!("{} × {} × {}", d[0], d[1], d[2])
                ),
                esc(&x.kernel),
                esc(&x.source),
                esc(&x.uid),
            );
        }
        out.push_str("</tbody></table>\n");
    }
    if !s.segmentations.is_empty() || !s.notes.is_empty() || !s.failures.is_empty() {
        out.push_str("<ul>");
        for g in &s.segmentations {
            let _ = write!(out, "<li>{}</li>", esc(g));
        }
        for n in &s.notes {
            let _ = write!(out, "<li class=\"muted\">note: {}</li>", esc(n));
        }
        for f in &s.failures {
            let _ = write!(
                out,
                "<li class=\"bad\">error ({}): {} <small>{}</small></li>",
                esc(&f.stage),
                esc(&f.message),
                esc(&f.file)
            );
        }
        out.push_str("</ul>\n");
    }
    for e in &s.entries {
        entry_html(&mut out, s, e);
    }
    out.push_str("<div class=\"plots\">");
    if let Some(svg) = enhancement_plot(s) {
        out.push_str(&svg);
    }
    for svg in key_features_plots(cohort, s) {
        out.push_str(&svg);
    }
    out.push_str("</div>\n");
    out.push_str("</section>\n");
    out
}

fn entry_html(out: &mut String, s: &StudyData, e: &Entry) {
    let class = match (&e.status, e.flags.is_empty()) {
        (Status::Failed(_), _) => "entry failed",
        (_, false) => "entry flagged",
        _ => "entry",
    };
    let _ = writeln!(
        out,
        "<div class=\"{class}\"><h3>{} · {} <span class=\"muted\">— {}</span></h3>",
        esc(&phase_name(&e.phase)),
        esc(&e.roi),
        esc(&series_label(s, e))
    );
    let _ = writeln!(
        out,
        "<div>{} · {} voxels · {} mL · mean {} HU<br><small class=\"muted\">contour: {}</small></div>",
        status_html(&e.status),
        e.voxels.map_or("–".into(), |v| v.to_string()),
        num(e.volume_ml, 2),
        num(e.mean_hu, 1),
        esc(&e.segmentation)
    );
    if !e.flags.is_empty() {
        out.push_str("<ul class=\"flags\">");
        for f in &e.flags {
            let _ = write!(out, "<li>{}</li>", esc(f));
        }
        out.push_str("</ul>\n");
    }
    if let Some(err) = &e.view_error {
        let _ = writeln!(out, "<p class=\"bad\">{}</p>", esc(err));
    }
    if !e.views.is_empty() {
        out.push_str("<div class=\"views\">");
        for v in &e.views {
            let [l, r, t, b] = v.letters;
            let _ = write!(
                out,
                "<figure><div class=\"img\"><img width=\"{w}\" height=\"{h}\" alt=\"{plane}\" src=\"data:image/png;base64,{}\">\
                 <span class=\"l\">{l}</span><span class=\"r\">{r}</span><span class=\"t\">{t}</span><span class=\"b\">{b}</span></div>\
                 <figcaption>{plane} · {} mm/pixel</figcaption></figure>",
                v.png_base64,
                fmt_tick((v.pixel_mm * 100.0).round() / 100.0),
                w = v.width,
                h = v.height,
                plane = v.plane.name(),
            );
        }
        out.push_str("</div>\n");
    }
    out.push_str("</div>\n");
}

/// Mean HU per phase (acquisition order) per ROI.
fn enhancement_plot(s: &StudyData) -> Option<String> {
    let phases: Vec<Phase> = Phase::ORDER
        .into_iter()
        .filter(|p| {
            s.entries
                .iter()
                .any(|e| e.phase == p.as_str() && e.mean_hu.is_some())
        })
        .collect();
    if phases.is_empty() {
        return None;
    }
    let mut by_roi: BTreeMap<&str, Vec<(usize, f64)>> = BTreeMap::new();
    for e in &s.entries {
        if let (Some(k), Some(h)) = (phases.iter().position(|p| p.as_str() == e.phase), e.mean_hu) {
            by_roi.entry(&e.roi).or_default().push((k, h));
        }
    }
    let values: Vec<f64> = by_roi.values().flatten().map(|p| p.1).collect();
    let lo = values
        .iter()
        .copied()
        .fold(f64::INFINITY, f64::min)
        .min(0.0);
    let hi = values
        .iter()
        .copied()
        .fold(f64::NEG_INFINITY, f64::max)
        .max(lo + 10.0);
    let ticks = nice_ticks(lo, hi, 5);
    let (y0, y1) = (
        ticks.first().copied().unwrap_or(lo).min(lo),
        ticks.last().copied().unwrap_or(hi).max(hi),
    );
    let (w, h) = (360.0, 230.0);
    let (left, right, top, bottom) = (50.0, 110.0, 24.0, 40.0);
    let pw = w - left - right;
    let ph = h - top - bottom;
    let x_of = |k: usize| {
        left + if phases.len() == 1 {
            pw / 2.0
        } else {
            pw * k as f64 / (phases.len() - 1) as f64
        }
    };
    let y_of = |v: f64| top + ph * (1.0 - (v - y0) / (y1 - y0));
    let mut svg = Svg::new(w, h);
    svg.text(
        w / 2.0 - 30.0,
        15.0,
        12.0,
        "middle",
        "bold",
        "Enhancement: ROI mean HU",
    );
    svg.line(left, top, left, top + ph, "#444", 1.0);
    svg.line(left, top + ph, left + pw, top + ph, "#444", 1.0);
    for t in &ticks {
        let y = y_of(*t);
        svg.line(left - 4.0, y, left + pw, y, "#e4e4e4", 1.0);
        svg.text(left - 6.0, y + 4.0, 10.0, "end", "normal", &fmt_tick(*t));
    }
    for (k, p) in phases.iter().enumerate() {
        svg.text(
            x_of(k),
            top + ph + 16.0,
            10.0,
            "middle",
            "normal",
            &p.to_string(),
        );
    }
    for (c, (roi, pts)) in by_roi.iter().enumerate() {
        let colour = COLOURS[c % COLOURS.len()];
        let mut pts = pts.clone();
        pts.sort_by_key(|p| p.0);
        let xy: Vec<(f64, f64)> = pts.iter().map(|&(k, v)| (x_of(k), y_of(v))).collect();
        svg.polyline(&xy, colour, 2.0);
        for (&(k, v), &(x, y)) in pts.iter().zip(&xy) {
            svg.raw(&format!(
                "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"3.5\" fill=\"{colour}\"><title>{} {}: {v:.1} HU</title></circle>",
                esc(roi),
                esc(&phases[k].to_string())
            ));
        }
        let ly = top + 14.0 * c as f64 + 6.0;
        svg.line(left + pw + 12.0, ly, left + pw + 26.0, ly, colour, 2.0);
        svg.text(left + pw + 30.0, ly + 4.0, 11.0, "start", "normal", roi);
    }
    Some(svg.inline())
}

/// Above this many values a strip is drawn as a histogram.
const MAX_DOTS: usize = 60;
/// Histogram bins of a strip.
const BINS: usize = 48;

/// One horizontal strip at height `y`: the cohort's values as dots (flagged
/// ones orange; more than [`MAX_DOTS`] as a histogram with the flagged still
/// dots), `highlight` as a red diamond, on the scale `lo..hi`.
#[allow(clippy::too_many_arguments)]
fn strip(
    svg: &mut Svg,
    x0: f64,
    width: f64,
    y: f64,
    values: &[(f64, String, bool)],
    highlight: Option<f64>,
    lo: f64,
    hi: f64,
) {
    let x_of = |v: f64| {
        if hi > lo {
            x0 + width * (v - lo) / (hi - lo)
        } else {
            x0 + width / 2.0
        }
    };
    svg.line(x0, y, x0 + width, y, "#ddd", 1.0);
    let many = values.len() > MAX_DOTS;
    if many {
        // A large cohort as a histogram (the file stays small); flagged
        // values still as dots.
        let mut counts = [0usize; BINS];
        for (v, _, flagged) in values {
            if !flagged {
                let t = if hi > lo { (v - lo) / (hi - lo) } else { 0.5 };
                counts[((t * BINS as f64) as usize).min(BINS - 1)] += 1;
            }
        }
        let top = counts.iter().copied().max().unwrap_or(1).max(1) as f64;
        let bw = width / BINS as f64;
        for (b, &n) in counts.iter().enumerate() {
            if n > 0 {
                let hgt = 2.0 + 10.0 * n as f64 / top;
                svg.raw(&format!(
                    "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{hgt:.1}\" fill=\"#5a7fa8\" fill-opacity=\"0.7\"><title>{n} value(s) from {} to {}</title></rect>",
                    x0 + b as f64 * bw,
                    y - hgt / 2.0,
                    bw.max(1.0),
                    fmt_value(lo + (hi - lo) * b as f64 / BINS as f64),
                    fmt_value(lo + (hi - lo) * (b + 1) as f64 / BINS as f64),
                ));
            }
        }
    }
    for (k, (v, who, flagged)) in values.iter().enumerate() {
        if many && !flagged {
            continue;
        }
        // Deterministic jitter so equal values stay visible.
        let dy = ((k * 7919) % 9) as f64 - 4.0;
        let (fill, r) = if *flagged {
            ("#e07b00", 3.5)
        } else {
            ("#5a7fa8", 2.5)
        };
        svg.raw(&format!(
            "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"{r}\" fill=\"{fill}\" fill-opacity=\"0.75\"><title>{}: {}</title></circle>",
            x_of(*v),
            y + dy,
            esc(who),
            fmt_value(*v)
        ));
    }
    if let Some(v) = highlight {
        svg.raw(&format!(
            "<path d=\"M{x:.1} {a:.1} L{b:.1} {y:.1} L{x:.1} {c:.1} L{d:.1} {y:.1} Z\" fill=\"#d62728\" stroke=\"#000\" stroke-width=\"0.8\"><title>this study: {}</title></path>",
            fmt_value(v),
            x = x_of(v),
            a = y - 7.0,
            b = x_of(v) + 5.0,
            c = y + 7.0,
            d = x_of(v) - 5.0,
        ));
    }
}

/// Strip dots: (value, study, flagged).
type Dots = Vec<(f64, String, bool)>;

fn fmt_value(v: f64) -> String {
    if v != 0.0 && (v.abs() >= 1e5 || v.abs() < 1e-3) {
        format!("{v:.3e}")
    } else {
        format!("{v:.4}")
    }
}

/// Entries of the cohort by table row: (flagged, study id).
fn row_owners(cohort: &Cohort) -> Vec<(bool, String)> {
    let mut owners = vec![(false, String::new()); cohort.rows.len()];
    for s in &cohort.studies {
        for e in &s.entries {
            if let Some(r) = e.row {
                owners[r] = (!e.flags.is_empty(), s.id.clone());
            }
        }
    }
    owners
}

/// Values of feature `f` over the cohort rows of (phase, ROI).
fn group_values(
    cohort: &Cohort,
    owners: &[(bool, String)],
    f: usize,
    phase: &str,
    roi: &str,
) -> Vec<(f64, String, bool)> {
    cohort
        .rows
        .iter()
        .enumerate()
        .filter(|(_, r)| r.phase == phase && r.roi == roi)
        .filter_map(|(i, r)| Some((r.values[f]?, owners[i].1.clone(), owners[i].0)))
        .collect()
}

fn range_of(values: &[(f64, String, bool)]) -> (f64, f64) {
    let lo = values.iter().map(|v| v.0).fold(f64::INFINITY, f64::min);
    let hi = values.iter().map(|v| v.0).fold(f64::NEG_INFINITY, f64::max);
    (lo, hi)
}

/// This study's key features on the cohort's distributions: one plot per
/// ROI, a row per feature and phase.
fn key_features_plots(cohort: &Cohort, s: &StudyData) -> Vec<String> {
    let owners = row_owners(cohort);
    let mut rois: Vec<&str> = Vec::new();
    for e in &s.entries {
        if e.row.is_some() && !rois.contains(&e.roi.as_str()) {
            rois.push(&e.roi);
        }
    }
    let mut plots = Vec::new();
    for roi in rois {
        let mut rows = Vec::new();
        for (f, name) in cohort.features.iter().enumerate() {
            for e in s.entries.iter().filter(|e| e.roi == roi) {
                let Some(r) = e.row else { continue };
                let Some(v) = cohort.rows[r].values[f] else {
                    continue;
                };
                let values = group_values(cohort, &owners, f, &e.phase, &e.roi);
                rows.push((format!("{name} · {}", phase_name(&e.phase)), v, values));
            }
        }
        if rows.is_empty() {
            continue;
        }
        let (label_w, strip_w, row_h) = (230.0, 220.0, 17.0);
        let h = 34.0 + row_h * rows.len() as f64;
        let mut svg = Svg::new(label_w + strip_w + 50.0, h);
        svg.text(
            6.0,
            15.0,
            12.0,
            "start",
            "bold",
            &format!("{roi}: this study (◆) among the cohort (same phase)"),
        );
        for (k, (label, v, values)) in rows.iter().enumerate() {
            let y = 32.0 + row_h * k as f64;
            let (lo, hi) = range_of(values);
            svg.text(label_w - 6.0, y + 4.0, 10.0, "end", "normal", label);
            strip(&mut svg, label_w, strip_w, y, values, Some(*v), lo, hi);
            svg.text(
                label_w + strip_w + 8.0,
                y + 4.0,
                9.0,
                "start",
                "normal",
                &format!("n = {}", values.len()),
            );
        }
        plots.push(svg.inline());
    }
    plots
}

/// Per feature, the cohort's distribution per phase and ROI, flagged
/// entries marked.
fn distributions(out: &mut String, cohort: &Cohort) {
    if cohort.features.is_empty() {
        return;
    }
    let owners = row_owners(cohort);
    let mut groups: Vec<(String, String)> = cohort
        .rows
        .iter()
        .map(|r| (r.phase.clone(), r.roi.clone()))
        .collect();
    groups.sort_by_key(|(p, r)| {
        (
            Phase::parse(p).map_or(9, |p| {
                Phase::ORDER.iter().position(|q| *q == p).unwrap_or(8)
            }),
            r.clone(),
        )
    });
    groups.dedup();
    out.push_str("<h2 id=\"distributions\">Feature distributions</h2>\n<p class=\"muted\">One dot per row (hover for the study; a histogram above 60 rows); orange: the entry is flagged. Each phase × ROI on its own scale. Choose features with <code>--feature PATTERN</code>.</p>\n");
    for (f, name) in cohort.features.iter().enumerate() {
        let per_group: Vec<(String, Dots)> = groups
            .iter()
            .map(|(p, r)| {
                (
                    format!("{} · {}", phase_name(p), r),
                    group_values(cohort, &owners, f, p, r),
                )
            })
            .filter(|(_, v)| !v.is_empty())
            .collect();
        if per_group.is_empty() {
            continue;
        }
        // Each phase × ROI on its own scale: the cohort within a group is
        // what is compared, and groups differ by orders of magnitude.
        let (label_w, strip_w, row_h) = (150.0, 240.0, 30.0);
        let h = 30.0 + row_h * per_group.len() as f64;
        let mut svg = Svg::new(label_w + strip_w + 20.0, h);
        svg.text(6.0, 15.0, 12.0, "start", "bold", name);
        for (k, (label, values)) in per_group.iter().enumerate() {
            let y = 34.0 + row_h * k as f64;
            let (lo, hi) = range_of(values);
            svg.text(label_w - 6.0, y + 4.0, 10.0, "end", "normal", label);
            strip(&mut svg, label_w, strip_w, y, values, None, lo, hi);
            svg.text(label_w, y + 15.0, 8.0, "start", "normal", &fmt_value(lo));
            svg.text(
                label_w + strip_w,
                y + 15.0,
                8.0,
                "end",
                "normal",
                &fmt_value(hi),
            );
        }
        let _ = write!(out, "<div class=\"dist\">{}</div>", svg.inline());
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A large cohort is a histogram (bounded size), its flagged entries
    /// still dots named by study.
    #[test]
    fn large_cohorts_become_histograms_with_flagged_dots() {
        let values: Dots = (0..1000)
            .map(|i| (i as f64, format!("S{i}"), i % 250 == 0))
            .collect();
        let mut svg = Svg::new(400.0, 40.0);
        strip(&mut svg, 0.0, 300.0, 20.0, &values, Some(500.0), 0.0, 999.0);
        let text = svg.inline();
        assert_eq!(text.matches("<circle").count(), 4);
        assert!(text.matches("<rect").count() <= BINS);
        assert!(text.contains("<title>S250: "));
        assert!(text.contains("this study: 500"));
        assert!(text.len() < 20_000, "{} bytes", text.len());
        // A small one: every value a dot.
        let mut svg = Svg::new(400.0, 40.0);
        strip(&mut svg, 0.0, 300.0, 20.0, &values[..10], None, 0.0, 9.0);
        assert_eq!(svg.inline().matches("<circle").count(), 10);
    }
}
