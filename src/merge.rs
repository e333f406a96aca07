//! Merge partial feature tables (e.g. the shards of a cluster run) into one
//! table identical to a single-process `ctrad extract` over all studies.
//!
//! Each part is a Parquet file written by `ctrad extract`, with its errors
//! file beside it (`PART.errors.csv`). The merge refuses parts that cannot
//! belong to one run:
//!
//! * every part must carry the ctrad file metadata, and all parts the same
//!   `ctrad_version` and `ctrad_params_hash`;
//! * parts with rows must have the same columns with the same types. A column
//!   that is entirely null in a part may have another type there (an all-null
//!   text column is how an absent value is stored) and is cast;
//! * no study may appear (in rows or in errors) in two parts.
//!
//! Parts with **zero rows are allowed**: a shard may receive no study (more
//! shards than studies), or all its studies may have failed. Such a part has
//! no columns; it contributes only its errors and its metadata is still
//! checked.
//!
//! The rows are concatenated and sorted exactly as the batch sorts them
//! (study, phase, ROI, series UID; stable), the columns take the order of the
//! part holding the first study, and the table is written atomically with the
//! same file metadata. The errors files are merged the same way (sorted by
//! study) into `OUT.errors.csv`.

use crate::error::{Error, Result};
use crate::table;
use crate::table::outputs::{
    self, companion_paths, read_failures, write_failures, Failure, OutputLock,
};
use polars::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// What a merge did.
#[derive(Debug, Clone, Default)]
pub struct MergeSummary {
    pub parts: usize,
    pub studies: usize,
    pub rows: usize,
    pub failures: usize,
    /// Parts without rows (allowed; see the module documentation).
    pub empty_parts: Vec<PathBuf>,
    /// Parts without an errors file beside them (taken as having no failures).
    pub missing_errors: Vec<PathBuf>,
}

/// One partial table as read.
struct Part {
    path: PathBuf,
    df: DataFrame,
    version: String,
    params_hash: String,
    params: Option<String>,
    failures: Vec<Failure>,
    /// Studies with rows or failures in this part.
    studies: BTreeSet<String>,
}

/// Merge `parts` into `output` (+ `csv`) and `output`'s errors file.
pub fn merge(parts: &[PathBuf], output: &Path, csv: Option<&Path>) -> Result<MergeSummary> {
    if parts.is_empty() {
        return Err(Error::Invalid("merge: no parts given".into()));
    }
    let (_, errors_path, lock_path) = companion_paths(output);
    for p in parts {
        let clash = |o: &Path| same_file(p, o) || same_file(&companion_paths(p).1, o);
        if clash(output) || csv.is_some_and(clash) || clash(&errors_path) {
            return Err(Error::Invalid(format!(
                "merge: the output would overwrite the part {} (or its errors file); choose another output",
                p.display()
            )));
        }
    }
    let mut summary = MergeSummary {
        parts: parts.len(),
        ..Default::default()
    };
    let mut read = Vec::with_capacity(parts.len());
    for p in parts {
        let part = read_part(p, &mut summary)?;
        if part.df.height() == 0 {
            summary.empty_parts.push(p.clone());
        }
        read.push(part);
    }
    check_metadata(&read)?;
    check_disjoint(&read)?;

    // Parts in the order of their first study, so that the column order and
    // the stable sort below reproduce what one process would have built.
    read.sort_by(|a, b| a.studies.first().cmp(&b.studies.first()));
    let df = concat_rows(&read)?;
    let mut df = sort_like_batch(df)?;

    let mut failures: Vec<Failure> = read
        .iter()
        .flat_map(|p| p.failures.iter().cloned())
        .collect();
    failures.sort_by(|a, b| a.study.cmp(&b.study));

    summary.studies = read.iter().map(|p| p.studies.len()).sum();
    summary.rows = df.height();
    summary.failures = failures.len();

    if let Some(dir) = output.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let _lock = OutputLock::acquire(&lock_path)?;
    let first = &read[0];
    let mut metadata = vec![("ctrad_version".to_string(), first.version.clone())];
    if let Some(params) = &first.params {
        metadata.push(("ctrad_params".to_string(), params.clone()));
    }
    metadata.push(("ctrad_params_hash".to_string(), first.params_hash.clone()));
    write_failures(&errors_path, &failures)?;
    table::write_table(&mut df, output, &metadata)?;
    if let Some(csv) = csv {
        table::write_table(&mut df, csv, &metadata)?;
    }
    Ok(summary)
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

fn read_part(path: &Path, summary: &mut MergeSummary) -> Result<Part> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let polars_err =
        |e: PolarsError| Error::format(path, format!("not a readable Parquet table: {e}"));
    let mut reader = ParquetReader::new(file);
    let kv: BTreeMap<String, String> = reader
        .get_metadata()
        .map_err(polars_err)?
        .key_value_metadata
        .iter()
        .flatten()
        .map(|kv| (kv.key.clone(), kv.value.clone().unwrap_or_default()))
        .collect();
    let df = reader.finish().map_err(polars_err)?;
    let meta = |k: &str| {
        kv.get(k).cloned().ok_or_else(|| {
            Error::format(
                path,
                format!("no '{k}' in the file metadata: not a table written by `ctrad extract`"),
            )
        })
    };
    let version = meta("ctrad_version")?;
    let params_hash = meta("ctrad_params_hash")?;
    let params = kv.get("ctrad_params").cloned();

    let mut studies = BTreeSet::new();
    if df.height() > 0 {
        let col = df
            .column("study_id")
            .map_err(|_| {
                Error::format(
                    path,
                    "no 'study_id' column: not a batch table of `ctrad extract`",
                )
            })?
            .cast(&DataType::String)
            .map_err(polars_err)?;
        for s in col.str().map_err(polars_err)?.iter() {
            studies.insert(s.unwrap_or_default().to_string());
        }
    }
    let (_, errors_path, _) = companion_paths(path);
    let failures = if errors_path.is_file() {
        read_failures(&errors_path)?
    } else {
        summary.missing_errors.push(path.to_path_buf());
        Vec::new()
    };
    studies.extend(failures.iter().map(|f| f.study.clone()));
    Ok(Part {
        path: path.to_path_buf(),
        df,
        version,
        params_hash,
        params,
        failures,
        studies,
    })
}

fn check_metadata(parts: &[Part]) -> Result<()> {
    let first = &parts[0];
    for p in &parts[1..] {
        if p.version != first.version {
            return Err(Error::Invalid(format!(
                "cannot merge: ctrad versions differ: {} was written by ctrad {}, {} by ctrad {}; rerun the parts with one release",
                first.path.display(),
                first.version,
                p.path.display(),
                p.version
            )));
        }
        if p.params_hash != first.params_hash {
            return Err(Error::Invalid(format!(
                "cannot merge: parameters differ: {} has params hash {}, {} has params hash {}; rerun the parts with one parameter file",
                first.path.display(),
                first.params_hash,
                p.path.display(),
                p.params_hash
            )));
        }
    }
    Ok(())
}

fn check_disjoint(parts: &[Part]) -> Result<()> {
    let mut owner: BTreeMap<&str, &Path> = BTreeMap::new();
    for p in parts {
        for s in &p.studies {
            if let Some(prev) = owner.insert(s.as_str(), &p.path) {
                return Err(Error::Invalid(format!(
                    "cannot merge: study '{s}' appears in both {} and {}; were the parts made with different --shard counts, or is a part given twice?",
                    prev.display(),
                    p.path.display()
                )));
            }
        }
    }
    Ok(())
}

/// Stack the rows of the parts that have any, checking their schemas.
fn concat_rows(parts: &[Part]) -> Result<DataFrame> {
    let full: Vec<&Part> = parts.iter().filter(|p| p.df.height() > 0).collect();
    let Some(reference) = full.first() else {
        return Ok(DataFrame::empty());
    };
    let names: Vec<String> = reference
        .df
        .get_column_names()
        .iter()
        .map(|s| s.to_string())
        .collect();
    let all_null = |c: &Column| c.null_count() == c.len();
    // The type of a column: the first (in study order) that is not all-null,
    // as one process would have chosen from the first non-null value.
    let mut types: Vec<DataType> = Vec::with_capacity(names.len());
    for name in &names {
        let mut chosen: Option<(&Part, DataType)> = None;
        for p in &full {
            let Ok(c) = p.df.column(name) else {
                return Err(schema_error(
                    reference,
                    p,
                    format!("column '{name}' is missing from the second"),
                ));
            };
            if all_null(c) {
                continue;
            }
            match &chosen {
                None => chosen = Some((*p, c.dtype().clone())),
                Some((q, t)) if t != c.dtype() => {
                    return Err(schema_error(
                        q,
                        p,
                        format!(
                            "column '{name}' is {t} in the first and {} in the second",
                            c.dtype()
                        ),
                    ));
                }
                _ => {}
            }
        }
        types.push(chosen.map_or_else(
            || {
                reference
                    .df
                    .column(name)
                    .map(|c| c.dtype().clone())
                    .unwrap_or(DataType::String)
            },
            |(_, t)| t,
        ));
    }
    let mut out: Option<DataFrame> = None;
    for p in &full {
        if p.df.width() != names.len() {
            let extra: Vec<String> =
                p.df.get_column_names()
                    .iter()
                    .filter(|n| !names.iter().any(|m| m == n.as_str()))
                    .map(|n| n.to_string())
                    .collect();
            return Err(schema_error(
                reference,
                p,
                format!("the second has extra columns {}", extra.join(", ")),
            ));
        }
        let mut columns = Vec::with_capacity(names.len());
        for (name, t) in names.iter().zip(&types) {
            let c =
                p.df.column(name)
                    .map_err(|e| Error::Invalid(e.to_string()))?;
            columns.push(if c.dtype() == t {
                c.clone()
            } else {
                c.cast(t)
                    .map_err(|e| Error::format(&p.path, format!("column '{name}': {e}")))?
            });
        }
        let df = DataFrame::new(p.df.height(), columns)
            .map_err(|e| Error::format(&p.path, e.to_string()))?;
        match &mut out {
            None => out = Some(df),
            Some(acc) => {
                acc.vstack_mut_owned(df)
                    .map_err(|e| Error::format(&p.path, e.to_string()))?;
            }
        }
    }
    Ok(out.unwrap_or_else(DataFrame::empty))
}

fn schema_error(a: &Part, b: &Part, what: String) -> Error {
    Error::Invalid(format!(
        "cannot merge: the tables {} and {} have different columns: {what}",
        a.path.display(),
        b.path.display()
    ))
}

/// Sort rows exactly as the batch does (stable, by [`outputs::sort_key_from`]).
fn sort_like_batch(df: DataFrame) -> Result<DataFrame> {
    let n = df.height();
    if n == 0 {
        return Ok(df);
    }
    let err = |e: PolarsError| Error::Invalid(format!("sorting the merged table: {e}"));
    let key_cols = ["study_id", "phase", "roi", "series_instance_uid"];
    let mut texts: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for k in key_cols {
        let values = match df.column(k) {
            Ok(c) => {
                let c = c.cast(&DataType::String).map_err(err)?;
                c.str()
                    .map_err(err)?
                    .iter()
                    .map(|v| v.unwrap_or_default().to_string())
                    .collect()
            }
            Err(_) => vec![String::new(); n],
        };
        texts.insert(k, values);
    }
    let keys: Vec<_> = (0..n)
        .map(|i| {
            outputs::sort_key_from(|k: &str| texts.get(k).map(|v| v[i].clone()).unwrap_or_default())
        })
        .collect();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| keys[a].cmp(&keys[b]));
    let idx = IdxCa::from_vec(
        "idx".into(),
        order.into_iter().map(|i| i as IdxSize).collect(),
    );
    let mut out = df.take(&idx).map_err(err)?;
    out.rechunk_mut();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_files_round_trip() {
        let dir = std::env::temp_dir().join(format!("ctrad-merge-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("x.errors.csv");
        let f = vec![Failure {
            study: "A,1".into(),
            file: "/a/\"b\".dcm".into(),
            stage: "image".into(),
            message: "line1\nline2".into(),
        }];
        write_failures(&p, &f).unwrap();
        assert_eq!(read_failures(&p).unwrap(), f);
        write_failures(&p, &[]).unwrap();
        assert!(read_failures(&p).unwrap().is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
