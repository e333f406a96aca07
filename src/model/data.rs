//! Reading modelling tables (CSV or Parquet) into a small column store that the
//! model code can index without caring about Polars dtypes.

use crate::error::{Error, Result};
use polars::prelude::*;
use std::path::Path;

/// One column: numeric (booleans become 0/1) or text. `None` is missing; a numeric
/// NaN is also treated as missing by the model code.
#[derive(Debug, Clone, PartialEq)]
pub enum ColumnData {
    Numeric(Vec<Option<f64>>),
    Text(Vec<Option<String>>),
}

impl ColumnData {
    pub fn len(&self) -> usize {
        match self {
            ColumnData::Numeric(v) => v.len(),
            ColumnData::Text(v) => v.len(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Whether row `i` is missing (null, NaN or empty text).
    pub fn is_missing(&self, i: usize) -> bool {
        match self {
            ColumnData::Numeric(v) => v[i].is_none_or(|x| x.is_nan()),
            ColumnData::Text(v) => v[i].as_deref().is_none_or(|s| s.trim().is_empty()),
        }
    }
    /// Row `i` as a level label (numbers formatted canonically, see [`fmt_level`]).
    pub fn label(&self, i: usize) -> Option<String> {
        if self.is_missing(i) {
            return None;
        }
        match self {
            ColumnData::Numeric(v) => v[i].map(fmt_level),
            ColumnData::Text(v) => v[i].as_ref().map(|s| s.trim().to_string()),
        }
    }
}

/// Canonical text of a number used as a category level: integers without a
/// decimal point (`1`, not `1.0`).
pub fn fmt_level(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

/// A table of named columns of equal length.
#[derive(Debug, Clone, Default)]
pub struct Table {
    pub names: Vec<String>,
    pub columns: Vec<ColumnData>,
    pub nrows: usize,
}

impl Table {
    /// Index of column `name`, or an error listing the available columns.
    pub fn index(&self, name: &str) -> Result<usize> {
        self.names.iter().position(|n| n == name).ok_or_else(|| {
            Error::Invalid(format!(
                "unknown column '{name}'; available columns: {}",
                self.names.join(", ")
            ))
        })
    }
    pub fn column(&self, name: &str) -> Result<&ColumnData> {
        Ok(&self.columns[self.index(name)?])
    }
    pub fn has(&self, name: &str) -> bool {
        self.names.iter().any(|n| n == name)
    }
    /// Rows `idx` (in that order, repeats allowed) as a new table.
    pub fn take(&self, idx: &[usize]) -> Table {
        let columns = self
            .columns
            .iter()
            .map(|c| match c {
                ColumnData::Numeric(v) => ColumnData::Numeric(idx.iter().map(|&i| v[i]).collect()),
                ColumnData::Text(v) => {
                    ColumnData::Text(idx.iter().map(|&i| v[i].clone()).collect())
                }
            })
            .collect();
        Table {
            names: self.names.clone(),
            columns,
            nrows: idx.len(),
        }
    }
    /// The rows where every `(column, value)` condition holds (values compared
    /// as level labels, so `phase=portal_venous` and `grade=1` both work).
    pub fn filter_eq(&self, conditions: &[(String, String)]) -> Result<Table> {
        let cols: Vec<&ColumnData> = conditions
            .iter()
            .map(|(c, _)| self.column(c))
            .collect::<Result<_>>()?;
        let rows: Vec<usize> = (0..self.nrows)
            .filter(|&i| {
                cols.iter()
                    .zip(conditions)
                    .all(|(c, (_, v))| c.label(i).as_deref() == Some(v.as_str()))
            })
            .collect();
        if rows.is_empty() && !conditions.is_empty() {
            return Err(Error::Invalid(format!(
                "no row has {}",
                conditions
                    .iter()
                    .map(|(c, v)| format!("{c} = {v}"))
                    .collect::<Vec<_>>()
                    .join(" and ")
            )));
        }
        Ok(self.take(&rows))
    }

    /// Convert from a Polars DataFrame. Numeric and boolean columns become
    /// [`ColumnData::Numeric`]; everything else is cast to text.
    pub fn from_dataframe(df: &DataFrame) -> Result<Table> {
        let mut t = Table {
            nrows: df.height(),
            ..Default::default()
        };
        for col in df.columns() {
            let dt = col.dtype();
            let err = |e: PolarsError| Error::Invalid(format!("column '{}': {e}", col.name()));
            let data = if dt.is_primitive_numeric() || dt.is_bool() {
                let c = col.cast(&DataType::Float64).map_err(err)?;
                ColumnData::Numeric(c.f64().map_err(err)?.iter().collect())
            } else {
                let c = col.cast(&DataType::String).map_err(err)?;
                ColumnData::Text(
                    c.str()
                        .map_err(err)?
                        .iter()
                        .map(|s| s.map(str::to_string))
                        .collect(),
                )
            };
            t.names.push(col.name().to_string());
            t.columns.push(data);
        }
        Ok(t)
    }
    /// Convert to a Polars DataFrame with the numeric columns `ints` as
    /// 64-bit integers (counts, degrees of freedom); missing stays missing.
    pub fn to_dataframe_with_ints(&self, ints: &[&str]) -> Result<DataFrame> {
        let mut df = self.to_dataframe()?;
        for name in ints {
            df.try_apply(name, |c| c.cast(&DataType::Int64))
                .map_err(|e| Error::Invalid(format!("column '{name}': {e}")))?;
        }
        Ok(df)
    }

    /// Convert to a Polars DataFrame.
    pub fn to_dataframe(&self) -> Result<DataFrame> {
        let cols: Vec<Column> = self
            .names
            .iter()
            .zip(&self.columns)
            .map(|(n, c)| match c {
                ColumnData::Numeric(v) => Column::new(n.as_str().into(), v.clone()),
                ColumnData::Text(v) => Column::new(n.as_str().into(), v.clone()),
            })
            .collect();
        DataFrame::new(self.nrows, cols).map_err(|e| Error::Invalid(format!("building table: {e}")))
    }
}

/// Read a CSV or Parquet file (by extension) into a DataFrame.
pub fn read_dataframe(path: &Path) -> Result<DataFrame> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let fmt = |e: PolarsError| Error::format(path, e.to_string());
    match ext.as_deref() {
        Some("csv") => {
            let mut bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
            if let Some(at) = unterminated_quote(&bytes) {
                return Err(Error::format(
                    path,
                    format!("quoted field opened at byte {at} is never closed"),
                ));
            }
            // Polars 0.55 slices a field that is a lone `"` ending the data out
            // of bounds (undefined behaviour, found by the `csv` fuzz target);
            // its tokenizer reaches that state even where RFC 4180 quoting is
            // balanced. Ending the data with a newline makes such a field at
            // least `"\n`, which Polars reports as an error.
            if bytes.last() != Some(&b'\n') {
                bytes.push(b'\n');
            }
            let read = || {
                CsvReadOptions::default()
                    .with_has_header(true)
                    .with_infer_schema_length(None)
                    .with_parse_options(
                        CsvParseOptions::default()
                            .with_missing_is_null(true)
                            .with_null_values(Some(NullValues::AllColumns(vec![
                                "NA".into(),
                                "NaN".into(),
                                "nan".into(),
                            ]))),
                    )
                    .into_reader_with_file_handle(std::io::Cursor::new(bytes))
                    .finish()
            };
            // Last line of defence: a panic inside Polars on a malformed file
            // becomes a typed error (the CLI must never crash on user input).
            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(read)) {
                Ok(r) => r.map_err(fmt),
                Err(_) => Err(Error::format(
                    path,
                    "malformed CSV: the CSV reader failed on this file",
                )),
            }
        }
        Some("parquet") | Some("pq") => {
            let f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
            ParquetReader::new(f).finish().map_err(fmt)
        }
        _ => Err(Error::Invalid(format!(
            "{}: table must end in .csv or .parquet",
            path.display()
        ))),
    }
}

/// Byte offset of a quoted field still open at the end of `csv` (RFC 4180
/// quoting: a field starting with `"`, inside which `""` is a literal quote).
/// Such files are refused with this offset before Polars sees them.
fn unterminated_quote(csv: &[u8]) -> Option<usize> {
    let mut open = None;
    let mut field_start = true;
    let mut i = 0;
    while i < csv.len() {
        let c = csv[i];
        if open.is_some() {
            if c == b'"' {
                if csv.get(i + 1) == Some(&b'"') {
                    i += 2;
                    continue;
                }
                open = None;
            }
            field_start = false;
        } else {
            if c == b'"' && field_start {
                open = Some(i);
            }
            field_start = open.is_none() && (c == b',' || c == b'\n');
        }
        i += 1;
    }
    open
}

/// Read a CSV or Parquet file into a [`Table`].
pub fn read_table(path: &Path) -> Result<Table> {
    Table::from_dataframe(&read_dataframe(path)?)
}
