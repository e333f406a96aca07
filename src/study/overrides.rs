//! Phase overrides: `phases.yaml` in a study folder, or a manifest's phases column.

use super::*;

/// What an override entry matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OverrideKey {
    SeriesUid(String),
    SeriesNumber(i64),
    /// Compared case-insensitively after trimming.
    Description(String),
}

impl fmt::Display for OverrideKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OverrideKey::SeriesUid(u) => write!(f, "series UID {u}"),
            OverrideKey::SeriesNumber(n) => write!(f, "series number {n}"),
            OverrideKey::Description(d) => write!(f, "description '{d}'"),
        }
    }
}

/// One manual phase assignment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhaseOverride {
    pub key: OverrideKey,
    pub phase: Phase,
}

pub(super) fn key_from_text(s: &str) -> OverrideKey {
    let s = s.trim();
    if let Ok(n) = s.parse::<i64>() {
        OverrideKey::SeriesNumber(n)
    } else if s.contains('.') && s.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        OverrideKey::SeriesUid(s.to_string())
    } else {
        OverrideKey::Description(s.to_string())
    }
}

pub(super) fn phase_or_err(value: &str, path: &Path, key: &str) -> Result<Phase> {
    Phase::parse(value).ok_or_else(|| {
        Error::params(
            path,
            format!(
                "'{key}': unknown phase '{value}' (use unenhanced, arterial, portal_venous, delayed or unknown)"
            ),
        )
    })
}

/// Parse a `phases.yaml` override file (see the module docs).
pub fn parse_phases_yaml(text: &str, path: &Path) -> Result<Vec<PhaseOverride>> {
    use serde_norway::Value;
    let value: Value = serde_norway::from_str(text)
        .map_err(|e| Error::params(path, format!("not valid YAML: {e}")))?;
    let map = match value {
        Value::Mapping(m) => m,
        Value::Null => return Ok(Vec::new()),
        _ => {
            return Err(Error::params(
                path,
                "expected a mapping of series (number, UID or description) to phase",
            ))
        }
    };
    let mut out = Vec::new();
    for (k, v) in map {
        let key = match k {
            Value::Number(n) => match n.as_i64() {
                Some(i) => OverrideKey::SeriesNumber(i),
                None => {
                    return Err(Error::params(
                        path,
                        format!("key {n} is not a whole series number (quote UIDs)"),
                    ))
                }
            },
            Value::String(s) => key_from_text(&s),
            other => return Err(Error::params(path, format!("unsupported key {other:?}"))),
        };
        let phase = match &v {
            Value::String(s) => phase_or_err(s, path, &key.to_string())?,
            other => {
                return Err(Error::params(
                    path,
                    format!("{key}: phase must be a string, not {other:?}"),
                ))
            }
        };
        out.push(PhaseOverride { key, phase });
    }
    Ok(out)
}

/// Parse a manifest cell `key=phase; key=phase` (see the module docs).
pub fn parse_override_list(text: &str) -> Result<Vec<PhaseOverride>> {
    let path = PathBuf::from(format!("<manifest column '{MANIFEST_PHASE_COLUMN}'>"));
    let mut out = Vec::new();
    for entry in text.split(';').map(str::trim).filter(|e| !e.is_empty()) {
        let (key, phase) = entry
            .rsplit_once('=')
            .ok_or_else(|| Error::params(&path, format!("entry '{entry}' is not key=phase")))?;
        out.push(PhaseOverride {
            key: key_from_text(key),
            phase: phase_or_err(phase.trim(), &path, key.trim())?,
        });
    }
    Ok(out)
}

/// Set the phases of the series matched by `overrides` (`source` names where
/// they came from, for the reason text), then redo the order-based step for
/// the rest. An entry that matches no series is an error, so typos surface.
pub fn apply_overrides(study: &mut Study, overrides: &[PhaseOverride], source: &str) -> Result<()> {
    for o in overrides {
        let hits: Vec<usize> = (0..study.series.len())
            .filter(|&i| {
                let s = &study.series[i];
                match &o.key {
                    OverrideKey::SeriesUid(u) => s.series_instance_uid == *u,
                    OverrideKey::SeriesNumber(n) => s.series_number == Some(*n),
                    OverrideKey::Description(d) => {
                        s.description.trim().eq_ignore_ascii_case(d.trim())
                    }
                }
            })
            .collect();
        if hits.is_empty() {
            return Err(Error::params(
                study.dir.join(source),
                format!("{} matches no CT series of the study", o.key),
            ));
        }
        for i in hits {
            let s = &mut study.series[i];
            s.phase = o.phase;
            s.phase_source = PhaseSource::Override;
            s.phase_reason = format!("{source} sets {} to {}", o.key, o.phase);
        }
    }
    resolve_by_order(&mut study.series);
    Ok(())
}
