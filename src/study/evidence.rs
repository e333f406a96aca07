//! The evidence for a series' contrast phase: description keywords, contrast timing and agent, and acquisition order.

use super::*;

/// Keyword phrases (lower-case word sequences) and their phases. Longer
/// phrases come first so "late arterial" wins over "late".
pub(super) const KEYWORDS: &[(&[&str], Phase)] = &[
    (&["late", "arterial"], Phase::Arterial),
    (&["early", "arterial"], Phase::Arterial),
    (&["portal", "venous"], Phase::PortalVenous),
    (&["portal", "venous", "phase"], Phase::PortalVenous),
    (&["non", "contrast"], Phase::Unenhanced),
    (&["non", "enhanced"], Phase::Unenhanced),
    (&["pre", "contrast"], Phase::Unenhanced),
    (&["no", "contrast"], Phase::Unenhanced),
    (&["without", "contrast"], Phase::Unenhanced),
    (&["w", "o"], Phase::Unenhanced),
    (&["noncontrast"], Phase::Unenhanced),
    (&["nonenhanced"], Phase::Unenhanced),
    (&["unenhanced"], Phase::Unenhanced),
    (&["precontrast"], Phase::Unenhanced),
    (&["plain"], Phase::Unenhanced),
    (&["native"], Phase::Unenhanced),
    (&["nativ"], Phase::Unenhanced),
    (&["nc"], Phase::Unenhanced),
    (&["ncct"], Phase::Unenhanced),
    (&["pre"], Phase::Unenhanced),
    (&["arterial"], Phase::Arterial),
    (&["art"], Phase::Arterial),
    (&["arteriell"], Phase::Arterial),
    (&["pancreatic"], Phase::Arterial),
    (&["angio"], Phase::Arterial),
    (&["portal"], Phase::PortalVenous),
    (&["portovenous"], Phase::PortalVenous),
    (&["portalvenous"], Phase::PortalVenous),
    (&["pv"], Phase::PortalVenous),
    (&["pvp"], Phase::PortalVenous),
    (&["venous"], Phase::PortalVenous),
    (&["ven"], Phase::PortalVenous),
    (&["delay"], Phase::Delayed),
    (&["delayed"], Phase::Delayed),
    (&["equilibrium"], Phase::Delayed),
    (&["late"], Phase::Delayed),
    (&["excretory"], Phase::Delayed),
];

/// Words of `text` with their byte spans: runs of letters or of digits
/// (so `PV2mm` gives `PV`, `2`, `mm`), lower-cased.
pub(super) fn words(text: &str) -> Vec<(String, usize, usize)> {
    let mut out: Vec<(String, usize, usize)> = Vec::new();
    let mut current: Option<(usize, bool)> = None; // (start, is_digit)
    let flush = |start: usize, end: usize, out: &mut Vec<(String, usize, usize)>| {
        out.push((text[start..end].to_lowercase(), start, end));
    };
    for (i, c) in text.char_indices() {
        let kind = if c.is_alphabetic() {
            Some(false)
        } else if c.is_ascii_digit() {
            Some(true)
        } else {
            None
        };
        match (current, kind) {
            (Some((s, d)), Some(k)) if d != k => {
                flush(s, i, &mut out);
                current = Some((i, k));
            }
            (Some(_), Some(_)) => {}
            (Some((s, _)), None) => {
                flush(s, i, &mut out);
                current = None;
            }
            (None, Some(k)) => current = Some((i, k)),
            (None, None) => {}
        }
    }
    if let Some((s, _)) = current {
        flush(s, text.len(), &mut out);
    }
    out
}

/// Phase keywords found in `text` (whole words, case-insensitive), one entry
/// per distinct phase with the first matching text as written. Several
/// entries mean the text is contradictory.
pub fn description_keywords(text: &str) -> Vec<(Phase, String)> {
    let w = words(text);
    let mut found: Vec<(Phase, String)> = Vec::new();
    let mut i = 0;
    while i < w.len() {
        let best = KEYWORDS
            .iter()
            .filter(|(phrase, _)| {
                phrase.len() <= w.len() - i
                    && phrase
                        .iter()
                        .zip(&w[i..])
                        .all(|(p, (word, _, _))| p == word)
            })
            .max_by_key(|(phrase, _)| phrase.len());
        match best {
            Some((phrase, phase)) => {
                let written = text[w[i].1..w[i + phrase.len() - 1].2].to_string();
                if !found.iter().any(|(p, _)| p == phase) {
                    found.push((*phase, written));
                }
                i += phrase.len();
            }
            None => i += 1,
        }
    }
    found
}

/// Phase implied by the delay (seconds) between contrast injection and
/// acquisition: arterial 10–55 s, portal venous 55–120 s, delayed ≥ 150 s;
/// `None` elsewhere (see the module docs for the sources).
pub fn phase_from_delay(seconds: f64) -> Option<Phase> {
    if (10.0..55.0).contains(&seconds) {
        Some(Phase::Arterial)
    } else if (55.0..120.0).contains(&seconds) {
        Some(Phase::PortalVenous)
    } else if (150.0..7200.0).contains(&seconds) {
        Some(Phase::Delayed)
    } else {
        None
    }
}

pub(super) fn agent_is_none(agent: &str) -> bool {
    let a = agent.trim().to_ascii_lowercase();
    ["none", "no", "n/a", "nil", "0", "no contrast", "without"].contains(&a.as_str())
}

/// Classify one series from its own attributes (steps 2–4 of the module docs).
pub(super) fn classify_evidence(s: &mut CtSeries) {
    let (what, source) = match s.source {
        SeriesSource::Dicom(_) => ("SeriesDescription", PhaseSource::Description),
        SeriesSource::VolumeFile(_) => ("file name", PhaseSource::FileName),
    };
    let keywords = description_keywords(&s.description);
    let timing = s.contrast_delay().map(|d| (d, phase_from_delay(d)));
    let timing_text = |d: f64| {
        format!(
            "acquired {} s after ContrastBolusStartTime",
            crate::io::dicom::format_ds((d * 10.0).round() / 10.0)
        )
    };
    let mut note = String::new();
    if keywords.len() == 1 {
        let (phase, word) = &keywords[0];
        s.phase = *phase;
        s.phase_source = source;
        s.phase_reason = format!("{what} '{}' contains '{word}'", s.description);
        if let Some((d, Some(tp))) = timing {
            if tp != *phase {
                s.phase_reason += &format!(
                    " (timing disagrees: {} suggests {tp}; description preferred)",
                    timing_text(d)
                );
            }
        }
        return;
    }
    if keywords.len() > 1 {
        let list: Vec<String> = keywords
            .iter()
            .map(|(p, w)| format!("'{w}' ({p})"))
            .collect();
        note = format!(
            "{what} '{}' is contradictory: {}; ",
            s.description,
            list.join(", ")
        );
    }
    if let Some((d, Some(phase))) = timing {
        s.phase = phase;
        s.phase_source = PhaseSource::Timing;
        s.phase_reason = format!("{note}{}", timing_text(d));
        return;
    }
    if let Some((d, None)) = timing {
        note += &format!("{} (inconclusive); ", timing_text(d));
    }
    if agent_is_none(&s.contrast_agent) {
        s.phase = Phase::Unenhanced;
        s.phase_source = PhaseSource::ContrastAgent;
        s.phase_reason = format!("{note}ContrastBolusAgent is '{}'", s.contrast_agent);
        return;
    }
    s.phase = Phase::Unknown;
    s.phase_source = PhaseSource::None;
    s.phase_reason = format!(
        "{note}no phase keyword in {what}{}",
        if matches!(s.source, SeriesSource::Dicom(_)) {
            ", no usable contrast timing, no 'none' contrast agent"
        } else {
            ""
        }
    );
}

/// Step 5 of the module docs: classify the remaining series by acquisition
/// order between classified neighbours. Earlier order-based results are
/// recomputed, so this can run again after overrides.
pub(super) fn resolve_by_order(series: &mut [CtSeries]) {
    for s in series.iter_mut() {
        if s.phase_source == PhaseSource::Order {
            s.phase = Phase::Unknown;
            s.phase_source = PhaseSource::None;
            s.phase_reason = "no other evidence".into();
        }
    }
    let mut order: Vec<usize> = (0..series.len())
        .filter(|&i| series[i].acquisition_time.is_some())
        .collect();
    order.sort_by(|&a, &b| {
        series[a]
            .acquisition_time
            .partial_cmp(&series[b].acquisition_time)
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    for pos in 0..order.len() {
        let i = order[pos];
        if series[i].phase != Phase::Unknown || series[i].phase_source == PhaseSource::Override {
            continue;
        }
        let known = |j: &usize| series[*j].phase != Phase::Unknown;
        let prev = order[..pos].iter().rev().find(|j| known(j)).copied();
        let next = order[pos + 1..].iter().find(|j| known(j)).copied();
        if prev.is_none() && next.is_none() {
            continue;
        }
        let lo = prev.map(|j| series[j].phase);
        let hi = next.map(|j| series[j].phase);
        let taken: Vec<Phase> = series.iter().map(|s| s.phase).collect();
        let has_agent = !series[i].contrast_agent.trim().is_empty()
            && !agent_is_none(&series[i].contrast_agent);
        let candidate = Phase::ORDER.iter().copied().find(|&p| {
            lo.is_none_or(|l| p > l)
                && hi.is_none_or(|h| p < h)
                && !taken.contains(&p)
                && !(has_agent && p == Phase::Unenhanced)
        });
        if let Some(p) = candidate {
            let mut parts = Vec::new();
            if let Some(j) = prev {
                parts.push(format!("after {} ({})", series[j].label(), series[j].phase));
            }
            if let Some(j) = next {
                parts.push(format!(
                    "before {} ({})",
                    series[j].label(),
                    series[j].phase
                ));
            }
            let old = std::mem::take(&mut series[i].phase_reason);
            series[i].phase = p;
            series[i].phase_source = PhaseSource::Order;
            series[i].phase_reason = format!(
                "acquisition order: {} and {p} is the only free phase in between ({old})",
                parts.join(" and ")
            );
            // `only` is accurate only when a single phase fits; say so otherwise.
            let fits = Phase::ORDER
                .iter()
                .filter(|&&q| {
                    lo.is_none_or(|l| q > l)
                        && hi.is_none_or(|h| q < h)
                        && !taken.contains(&q)
                        && !(has_agent && q == Phase::Unenhanced)
                })
                .count();
            if fits > 1 {
                series[i].phase_reason = series[i]
                    .phase_reason
                    .replace("is the only free phase", "is the first free phase");
            }
        }
    }
}
