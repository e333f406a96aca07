//! The cases of a batch: the sub-folders of a studies folder or the rows of
//! a PyRadiomics-style manifest CSV; shards of them for cluster runs.

use super::{Case, CaseInput};
use crate::error::{Error, Result};
use crate::hash::Fnv64;
use std::path::{Path, PathBuf};

/// Cases from a studies folder: every sub-folder, sorted by name.
pub fn cases_from_dir(dir: &Path) -> Result<Vec<Case>> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    let mut cases = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let name = entry.file_name().to_string_lossy().to_string();
        if name.starts_with('.') || !entry.path().is_dir() {
            continue;
        }
        cases.push(Case {
            id: name,
            input: CaseInput::Study(entry.path()),
        });
    }
    cases.sort_by(|a, b| a.id.cmp(&b.id));
    if cases.is_empty() {
        return Err(Error::Invalid(format!(
            "{}: no study sub-folders found",
            dir.display()
        )));
    }
    Ok(cases)
}

/// Cases from a PyRadiomics batch CSV (`Image,Mask[,Label]`, optional `ID`
/// or `study_id`, optional `ROI`). Relative paths are taken relative to the
/// working directory, else to the manifest's folder.
pub fn cases_from_manifest(path: &Path) -> Result<Vec<Case>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let mut rows = crate::table::csv_records(&text, path)?.into_iter();
    let header = rows
        .next()
        .ok_or_else(|| Error::format(path, "empty manifest"))?;
    let col = |names: &[&str]| {
        header
            .iter()
            .position(|h| names.iter().any(|n| h.trim().eq_ignore_ascii_case(n)))
    };
    let (Some(ci), Some(cm)) = (col(&["Image"]), col(&["Mask"])) else {
        return Err(Error::format(
            path,
            "manifest needs 'Image' and 'Mask' columns",
        ));
    };
    let (cl, cid, croi) = (
        col(&["Label"]),
        col(&["ID", "study_id", "Patient", "Case"]),
        col(&["ROI"]),
    );
    let base = path.parent().unwrap_or(Path::new("."));
    let resolve = |p: &str| {
        let p = PathBuf::from(p.trim());
        if p.is_relative() && !p.exists() {
            base.join(p)
        } else {
            p
        }
    };
    let mut cases = Vec::new();
    for (n, r) in rows.enumerate() {
        if r.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let get = |c: Option<usize>| {
            c.and_then(|c| r.get(c))
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
        };
        let image = resolve(
            &get(Some(ci))
                .ok_or_else(|| Error::format(path, format!("row {}: no Image", n + 2)))?,
        );
        let mask = resolve(
            &get(Some(cm)).ok_or_else(|| Error::format(path, format!("row {}: no Mask", n + 2)))?,
        );
        let label = match get(cl) {
            Some(l) => Some(
                l.parse::<i64>()
                    .map_err(|_| Error::format(path, format!("row {}: bad Label '{l}'", n + 2)))?,
            ),
            None => None,
        };
        let id = get(cid).unwrap_or_else(|| format!("case_{:04}", n + 1));
        cases.push(Case {
            id,
            input: CaseInput::Pair {
                image,
                mask,
                label,
                roi: get(croi),
            },
        });
    }
    let mut ids: Vec<&str> = cases.iter().map(|c| c.id.as_str()).collect();
    ids.sort();
    if let Some(w) = ids.windows(2).find(|w| w[0] == w[1]) {
        return Err(Error::format(
            path,
            format!("case id '{}' appears more than once", w[0]),
        ));
    }
    Ok(cases)
}

/// The shard (1-based) a study id belongs to among `n`.
pub fn shard_of(id: &str, n: usize) -> usize {
    (Fnv64::new().update(id.as_bytes()).finish() % n.max(1) as u64) as usize + 1
}

/// Case-insensitive glob match with `*` and `?`.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.to_lowercase().chars().collect();
    let t: Vec<char> = text.to_lowercase().chars().collect();
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// Parse a shard `K/N` (1 ≤ K ≤ N) as given to `--shard`.
pub fn parse_shard(s: &str) -> Result<(usize, usize)> {
    s.split_once('/')
        .and_then(|(k, n)| {
            Some((
                k.trim().parse::<usize>().ok()?,
                n.trim().parse::<usize>().ok()?,
            ))
        })
        .filter(|(k, n)| *n >= 1 && (1..=*n).contains(k))
        .ok_or_else(|| Error::Invalid(format!("--shard '{s}': expected K/N with 1 ≤ K ≤ N")))
}
