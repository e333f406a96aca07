//! Feature tables: one row per case × phase × ROI, built as a Polars
//! DataFrame and written as CSV or Parquet (atomically).
//!
//! Identifying columns come first, in the order given, then feature columns in
//! the order they first appear. A feature absent from a row is null.

use crate::error::{Error, Result};
use crate::features::Features;
use crate::io::atomic::write_atomic;
use polars::prelude::*;
use std::collections::HashMap;
use std::path::Path;

/// A value of an identifying column.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Int(i64),
    Float(f64),
    Null,
}

impl From<&str> for Cell {
    fn from(s: &str) -> Self {
        Cell::Text(s.to_string())
    }
}
impl From<String> for Cell {
    fn from(s: String) -> Self {
        Cell::Text(s)
    }
}

/// One output row.
#[derive(Debug, Clone, Default)]
pub struct Row {
    pub ids: Vec<(String, Cell)>,
    pub features: Features,
}

/// Build the DataFrame of `rows`.
pub fn to_dataframe(rows: &[Row]) -> Result<DataFrame> {
    let mut id_names: Vec<String> = Vec::new();
    let mut feat_names: Vec<String> = Vec::new();
    let mut seen: HashMap<String, ()> = HashMap::new();
    for r in rows {
        for (k, _) in &r.ids {
            if seen.insert(k.clone(), ()).is_none() {
                id_names.push(k.clone());
            }
        }
    }
    for r in rows {
        for (k, _) in &r.features {
            if seen.insert(k.clone(), ()).is_none() {
                feat_names.push(k.clone());
            }
        }
    }
    let mut columns: Vec<Column> = Vec::with_capacity(id_names.len() + feat_names.len());
    for name in &id_names {
        let cells: Vec<&Cell> = rows
            .iter()
            .map(|r| {
                r.ids
                    .iter()
                    .find(|(k, _)| k == name)
                    .map_or(&Cell::Null, |(_, c)| c)
            })
            .collect();
        let kind = cells.iter().find(|c| !matches!(c, Cell::Null));
        let col = match kind {
            Some(Cell::Int(_)) => Column::new(
                name.as_str().into(),
                cells
                    .iter()
                    .map(|c| if let Cell::Int(v) = c { Some(*v) } else { None })
                    .collect::<Vec<_>>(),
            ),
            Some(Cell::Float(_)) => Column::new(
                name.as_str().into(),
                cells
                    .iter()
                    .map(|c| match c {
                        Cell::Float(v) => Some(*v),
                        Cell::Int(v) => Some(*v as f64),
                        _ => None,
                    })
                    .collect::<Vec<_>>(),
            ),
            _ => Column::new(
                name.as_str().into(),
                cells
                    .iter()
                    .map(|c| match c {
                        Cell::Text(s) => Some(s.clone()),
                        Cell::Int(v) => Some(v.to_string()),
                        Cell::Float(v) => Some(v.to_string()),
                        Cell::Null => None,
                    })
                    .collect::<Vec<_>>(),
            ),
        };
        columns.push(col);
    }
    let lookups: Vec<HashMap<&str, f64>> = rows
        .iter()
        .map(|r| r.features.iter().map(|(k, v)| (k.as_str(), *v)).collect())
        .collect();
    for name in &feat_names {
        let values: Vec<Option<f64>> = lookups
            .iter()
            .map(|m| m.get(name.as_str()).copied())
            .collect();
        columns.push(Column::new(name.as_str().into(), values));
    }
    DataFrame::new(rows.len(), columns)
        .map_err(|e| Error::Invalid(format!("building the feature table: {e}")))
}

/// Write `df` as CSV ('.' decimal point, no thousands separator, shortest
/// round-trip floats, NaN written as `NaN`, missing as empty).
pub fn write_csv(df: &mut DataFrame, path: &Path) -> Result<()> {
    write_atomic(path, |w| {
        CsvWriter::new(w)
            .include_header(true)
            .finish(df)
            .map_err(std::io::Error::other)
    })
}

/// Write `df` as Parquet with file-level key-value metadata.
pub fn write_parquet(df: &mut DataFrame, path: &Path, metadata: &[(String, String)]) -> Result<()> {
    let kv = KeyValueMetadata::from_static(metadata.to_vec());
    write_atomic(path, |w| {
        ParquetWriter::new(w)
            .with_key_value_metadata(Some(kv))
            .finish(df)
            .map(|_| ())
            .map_err(std::io::Error::other)
    })
}

/// Write by extension: `.csv` or `.parquet`.
pub fn write_table(df: &mut DataFrame, path: &Path, metadata: &[(String, String)]) -> Result<()> {
    create_parent_dir(path)?;
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("csv") => write_csv(df, path),
        Some("parquet") | Some("pq") => write_parquet(df, path, metadata),
        _ => Err(Error::Invalid(format!(
            "{}: output must end in .csv or .parquet",
            path.display()
        ))),
    }
}

/// Create the folder of an output file (users expect `-o out/x.csv` to work);
/// a failure names both the output and the folder.
pub fn create_parent_dir(path: &Path) -> Result<()> {
    if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| {
            Error::io(
                path,
                std::io::Error::new(
                    e.kind(),
                    format!("cannot create the folder {}: {e}", dir.display()),
                ),
            )
        })?;
    }
    Ok(())
}
