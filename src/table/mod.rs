//! Feature tables: one row per case × phase × ROI, built as a Polars
//! DataFrame and written as CSV or Parquet (atomically).
//!
//! Identifying columns come first, in the order given, then feature columns in
//! the order they first appear. A feature absent from a row is null.

pub mod outputs;

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

/// The records of a CSV text (RFC 4180: quotes, doubled quotes, CRLF; rows
/// may differ in length; blank lines are skipped), every field as text.
/// `path` names the file in errors.
pub fn csv_records(text: &str, path: &Path) -> Result<Vec<Vec<String>>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    reader
        .records()
        .map(|r| {
            r.map(|r| r.iter().map(str::to_string).collect())
                .map_err(|e| Error::format(path, format!("CSV: {e}")))
        })
        .collect()
}

/// One output row of an extraction: `source` (the columns naming where the
/// image, mask and ROI came from) followed by the identifying columns every
/// table has — `roi_voxel_count, ctrad_version, params_hash, nan_reasons` —
/// then the features under `naming`. Single-study and batch rows are built
/// here alike.
pub fn extraction_row(
    mut source: Vec<(String, Cell)>,
    extraction: crate::pipeline::Extraction,
    params: &crate::params::Params,
    naming: crate::naming::Naming,
) -> Row {
    source.extend([
        (
            "roi_voxel_count".to_string(),
            Cell::Int(extraction.roi_voxels as i64),
        ),
        ("ctrad_version".into(), Cell::Text(crate::VERSION.into())),
        ("params_hash".into(), Cell::Text(params.hash())),
        (
            "nan_reasons".into(),
            Cell::Text(extraction.nan_reasons_text()),
        ),
    ]);
    Row {
        ids: source,
        features: naming.apply(extraction.features),
    }
}

/// The key-value metadata of every feature table file: the ctrad version,
/// the parameter file's text and its hash.
pub fn table_metadata(params: &crate::params::Params) -> Vec<(String, String)> {
    let mut m = vec![
        ("ctrad_version".to_string(), crate::VERSION.to_string()),
        ("ctrad_params".to_string(), params.source_text.clone()),
        ("ctrad_params_hash".to_string(), params.hash()),
    ];
    // The policy may be set on the command line, outside the parameter text.
    if params.cross_phase != crate::cross_phase::CrossPhase::SameGrid {
        m.push((
            "ctrad_cross_phase".to_string(),
            params.cross_phase.to_string(),
        ));
    }
    m
}

/// The provenance columns of a row's mask: `mask_source` (`own`, or
/// `<phase>:same_grid|mapped|registered`) and `mask_shift_mm` (`x,y,z`,
/// the translation applied in patient coordinates; empty when none).
pub fn mask_source_columns(source: &crate::cross_phase::MaskSource) -> [(String, Cell); 2] {
    [
        ("mask_source".to_string(), Cell::Text(source.label())),
        ("mask_shift_mm".to_string(), Cell::Text(source.shift_text())),
    ]
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
///
/// Tables of text, integer, float and boolean columns (all ctrad writes) are
/// serialised here, byte for byte as Polars' CSV writer does (same float
/// formatter, same quoting): Polars' writer costs a few milliseconds and
/// 8 MiB of zeroed memory per file, which dominated one-study runs.
pub fn write_csv(df: &mut DataFrame, path: &Path) -> Result<()> {
    let columns: Option<Vec<CsvColumn>> = df.columns().iter().map(CsvColumn::new).collect();
    match columns {
        Some(columns) => write_atomic(path, |w| {
            let names: Vec<&str> = df.columns().iter().map(|c| c.name().as_str()).collect();
            write_csv_rows(w, &names, &columns, df.height())
        }),
        None => write_atomic(path, |w| {
            CsvWriter::new(w)
                .include_header(true)
                .finish(df)
                .map_err(std::io::Error::other)
        }),
    }
}

/// One column's values for [`write_csv`].
enum CsvColumn<'a> {
    Text(&'a StringChunked),
    Int(&'a Int64Chunked),
    Float(&'a Float64Chunked),
    Bool(&'a BooleanChunked),
}

impl<'a> CsvColumn<'a> {
    /// `None` for a type this writer leaves to Polars.
    fn new(c: &'a Column) -> Option<CsvColumn<'a>> {
        match c.dtype() {
            DataType::String => c.str().ok().map(CsvColumn::Text),
            DataType::Int64 => c.i64().ok().map(CsvColumn::Int),
            DataType::Float64 => c.f64().ok().map(CsvColumn::Float),
            DataType::Boolean => c.bool().ok().map(CsvColumn::Bool),
            _ => None,
        }
    }
}

fn write_csv_rows(
    w: &mut dyn std::io::Write,
    names: &[&str],
    columns: &[CsvColumn],
    height: usize,
) -> std::io::Result<()> {
    let mut line: Vec<u8> = Vec::with_capacity(64 * names.len().max(1));
    for (k, name) in names.iter().enumerate() {
        if k > 0 {
            line.push(b',');
        }
        push_csv_text(&mut line, name);
    }
    line.push(b'\n');
    w.write_all(&line)?;
    let mut float = zmij::Buffer::new();
    for row in 0..height {
        line.clear();
        for (k, col) in columns.iter().enumerate() {
            if k > 0 {
                line.push(b',');
            }
            match col {
                CsvColumn::Text(a) => {
                    if let Some(s) = a.get(row) {
                        push_csv_text(&mut line, s);
                    }
                }
                CsvColumn::Int(a) => {
                    if let Some(v) = a.get(row) {
                        line.extend_from_slice(v.to_string().as_bytes());
                    }
                }
                CsvColumn::Float(a) => {
                    if let Some(v) = a.get(row) {
                        line.extend_from_slice(float.format(v).as_bytes());
                    }
                }
                CsvColumn::Bool(a) => {
                    if let Some(v) = a.get(row) {
                        line.extend_from_slice(if v { b"true" } else { b"false" });
                    }
                }
            }
        }
        line.push(b'\n');
        w.write_all(&line)?;
    }
    Ok(())
}

/// A text field, quoted when it holds a comma, quote or line break (quotes
/// doubled) and written as `""` when empty (empty is null).
fn push_csv_text(out: &mut Vec<u8>, s: &str) {
    if s.is_empty() {
        out.extend_from_slice(b"\"\"");
    } else if s.bytes().any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r')) {
        out.push(b'"');
        out.extend_from_slice(s.replace('"', "\"\"").as_bytes());
        out.push(b'"');
    } else {
        out.extend_from_slice(s.as_bytes());
    }
}

/// Write `df` as Parquet with file-level key-value metadata.
pub fn write_parquet(df: &mut DataFrame, path: &Path, metadata: &[(String, String)]) -> Result<()> {
    write_parquet_grouped(df, path, metadata, ROW_GROUP_ROWS)
}

/// Rows per Parquet row group at most (Polars' default).
const ROW_GROUP_ROWS: usize = 512 * 512;

/// [`write_parquet`] with row groups of at most `group_rows` rows.
fn write_parquet_grouped(
    df: &mut DataFrame,
    path: &Path,
    metadata: &[(String, String)],
    group_rows: usize,
) -> Result<()> {
    use polars_parquet::write::{
        row_group_iter, schema_to_metadata_key, to_parquet_schema, CompressionOptions, Encoding,
        FileWriter, KeyValue, StatisticsOptions, Version, WriteOptions,
    };
    let pl = |e: PolarsError| std::io::Error::other(e);
    df.rechunk_mut();
    let schema = df.schema().to_arrow(CompatLevel::oldest());
    // Polars' writer dictionary-encodes every numeric column, after a
    // HyperLogLog estimate of its distinct values — half of the time of
    // writing a feature table, whose float columns hardly repeat a value.
    // Floats are written plain; other columns keep Polars' encodings.
    let encodings: Vec<Vec<Encoding>> = get_encodings(&schema)
        .iter()
        .zip(schema.iter_values())
        .map(|(enc, field)| match field.dtype() {
            ArrowDataType::Float64 | ArrowDataType::Float32 => vec![Encoding::Plain],
            _ => enc.clone(),
        })
        .collect();
    let options = WriteOptions {
        statistics: StatisticsOptions::default(),
        // Snappy, the common Parquet default (pyarrow, Spark): feature values
        // hardly compress, and zstd's per-column set-up doubled the time of
        // writing a small table.
        compression: CompressionOptions::Snappy,
        version: Version::V1,
        data_page_size: None,
    };
    let mut kv = vec![schema_to_metadata_key(&schema)];
    kv.extend(metadata.iter().map(|(k, v)| KeyValue {
        key: k.clone(),
        value: Some(v.clone()),
    }));
    let parquet_schema =
        to_parquet_schema(&schema).map_err(|e| Error::io(path, std::io::Error::other(e)))?;
    write_atomic(path, |w| {
        let mut writer =
            FileWriter::new_with_parquet_schema(w, schema.clone(), parquet_schema.clone(), options);
        for offset in (0..df.height().max(1)).step_by(group_rows.max(1)) {
            let part = df.slice(offset as i64, group_rows);
            for chunk in part.iter_chunks(CompatLevel::oldest(), false) {
                let rows = chunk.len() as u64;
                let group = row_group_iter(
                    chunk,
                    encodings.clone().into(),
                    parquet_schema.fields().to_vec(),
                    options,
                );
                writer.write(rows, group).map_err(pl)?;
            }
        }
        writer.end(Some(kv)).map(|_| ()).map_err(pl)
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

#[cfg(test)]
mod tests {
    #[test]
    fn csv_records_handle_quotes_and_crlf() {
        let rows = super::csv_records(
            "Image,Mask,Label\r\n\"a,b.nii\",m.nii,2\n\n\"say \"\"hi\"\"\",x\n",
            std::path::Path::new("m.csv"),
        )
        .unwrap();
        assert_eq!(rows[0], vec!["Image", "Mask", "Label"]);
        assert_eq!(rows[1], vec!["a,b.nii", "m.nii", "2"]);
        assert_eq!(rows[2], vec!["say \"hi\"", "x"]);
        assert_eq!(rows.len(), 3);
    }

    use super::*;

    /// Written with our encodings, a table reads back equal (strings, ints,
    /// floats incl. NaN and nulls) with the ctrad metadata beside Arrow's
    /// schema; float columns are plain-encoded, strings keep dictionaries.
    #[test]
    fn parquet_round_trips_with_metadata() {
        let dir = std::env::temp_dir().join(format!("ctrad-table-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("t.parquet");
        let mut df = DataFrame::new_infer_height(vec![
            Column::new("study_id".into(), ["a", "b", "a"]),
            Column::new("roi_voxel_count".into(), [1i64, 2, 3]),
            Column::new("f".into(), [Some(1.5f64), None, Some(f64::NAN)]),
            Column::new("g".into(), [0.25f64, -1e300, 3.0]),
        ])
        .unwrap();
        let meta = vec![("ctrad_version".to_string(), "9.9".to_string())];
        write_parquet(&mut df, &path, &meta).unwrap();

        let mut r = ParquetReader::new(std::fs::File::open(&path).unwrap());
        let md = r.get_metadata().unwrap().clone();
        let kv: Vec<(String, Option<String>)> = md
            .key_value_metadata
            .iter()
            .flatten()
            .map(|kv| (kv.key.clone(), kv.value.clone()))
            .collect();
        assert!(kv.iter().any(|(k, _)| k == "ARROW:schema"));
        assert!(kv.contains(&("ctrad_version".into(), Some("9.9".into()))));
        let back = r.finish().unwrap();
        assert_eq!(back.schema(), df.schema());
        assert!(back.equals_missing(&df));

        let rg = &md.row_groups[0];
        let has_dictionary = |name: &str| {
            rg.parquet_columns()
                .iter()
                .find(|c| c.descriptor().path_in_schema[0].as_str() == name)
                .unwrap()
                .dictionary_page_offset()
                .is_some()
        };
        assert!(!has_dictionary("g"));
        assert!(has_dictionary("study_id"));

        // Large tables are split into row groups; they read back whole.
        write_parquet_grouped(&mut df, &path, &meta, 2).unwrap();
        let mut r = ParquetReader::new(std::fs::File::open(&path).unwrap());
        let groups: Vec<usize> = r
            .get_metadata()
            .unwrap()
            .row_groups
            .iter()
            .map(|g| g.num_rows())
            .collect();
        assert_eq!(groups, [2, 1]);
        assert!(r.finish().unwrap().equals_missing(&df));

        // A batch where every study failed: no rows (no columns, or columns
        // of no rows, or a column of nulls only) still makes a readable file.
        let empty_cols = DataFrame::new_infer_height(vec![
            Column::new("study_id".into(), Vec::<String>::new()),
            Column::new("f".into(), Vec::<f64>::new()),
        ])
        .unwrap();
        let nulls =
            DataFrame::new_infer_height(vec![Column::full_null("x".into(), 2, &DataType::Null)])
                .unwrap();
        for mut df in [DataFrame::empty(), empty_cols, nulls] {
            write_parquet(&mut df, &path, &meta).unwrap();
            let back = ParquetReader::new(std::fs::File::open(&path).unwrap())
                .finish()
                .unwrap();
            assert_eq!(back.shape(), df.shape());
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
