//! State files: each finished case is persisted in the state folder beside
//! the output, so a rerun skips it. A part holds the case's key (input
//! hashes, parameter hash, version) and its rows; only a complete part with
//! the matching key is reused.

use crate::error::Result;
use crate::io::atomic::write_atomic_unsynced;
use crate::table::{Cell, Row};
use std::path::Path;

const PART_MAGIC: &str = "ctrad-part 1";

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('\t', "\\t")
        .replace('\n', "\\n")
        .replace('\r', "\\r")
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('t') => out.push('\t'),
                Some('n') => out.push('\n'),
                Some('r') => out.push('\r'),
                Some(o) => out.push(o),
                None => {}
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Persist a finished case (atomically). Floats are written in Rust's
/// shortest round-trip form, so a reread row is bit-identical. Not fsynced:
/// [`read_part`] accepts only a complete file with the magic, the case's key
/// and the end marker, so a part a power cut damaged is recomputed.
pub(super) fn write_part(path: &Path, key: &str, rows: &[Row]) -> Result<()> {
    let mut s = format!("{PART_MAGIC}\nkey\t{key}\n");
    for r in rows {
        s.push_str("row\n");
        for (k, c) in &r.ids {
            let (t, v) = match c {
                Cell::Text(x) => ("t", escape(x)),
                Cell::Int(i) => ("i", i.to_string()),
                Cell::Float(f) => ("f", format!("{f:?}")),
                Cell::Null => ("n", String::new()),
            };
            s.push_str(&format!("id\t{}\t{t}\t{v}\n", escape(k)));
        }
        for (k, v) in &r.features {
            s.push_str(&format!("ft\t{}\t{v:?}\n", escape(k)));
        }
    }
    s.push_str("end\n");
    write_atomic_unsynced(path, |w| w.write_all(s.as_bytes()))
}

/// Rows of a persisted case whose key matches, else `None`.
pub(super) fn read_part(path: &Path, key: &str) -> Option<Vec<Row>> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut lines = text.lines();
    if lines.next()? != PART_MAGIC
        || lines.next()? != format!("key\t{key}")
        || !text.ends_with("end\n")
    {
        return None;
    }
    let mut rows: Vec<Row> = Vec::new();
    for line in lines {
        let f: Vec<&str> = line.split('\t').collect();
        match f.as_slice() {
            ["row"] => rows.push(Row::default()),
            ["end"] => return Some(rows),
            ["id", k, t, v] => {
                let c = match *t {
                    "t" => Cell::Text(unescape(v)),
                    "i" => Cell::Int(v.parse().ok()?),
                    "f" => Cell::Float(v.parse().ok()?),
                    _ => Cell::Null,
                };
                rows.last_mut()?.ids.push((unescape(k), c));
            }
            ["ft", k, v] => rows
                .last_mut()?
                .features
                .push((unescape(k), v.parse().ok()?)),
            _ => return None,
        }
    }
    None
}
