#!/usr/bin/env python3
"""Read ctrad Parquet tables with every installed reader and compare with the CSV.

Usage: parquet_readers.py TABLE.parquet TABLE.csv [TABLE.parquet TABLE.csv ...]

For each pair: the embedded Arrow schema must use only long-established types
(no string_view / binary_view, no list views, no timestamps with time zones
a reader may lack); pandas.read_parquet and pyarrow.parquet.read_table (always),
polars and DuckDB (when installed) must read the file, and every value must
equal the CSV's (floats exactly: the CSV holds shortest round-trip decimals;
NaN as NaN, empty cells as nulls). Prints one line per reader and table; exits
non-zero on the first difference.
"""
import csv
import math
import sys

import pyarrow as pa
import pyarrow.parquet as pq

OLD_TYPES_OK = {"string", "large_string", "double", "float", "int64", "int32", "uint32",
                "uint64", "bool", "null"}


def csv_rows(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def same(value, text, kind):
    """Does the Parquet `value` equal the CSV cell `text`?"""
    if value is None or (isinstance(value, float) and math.isnan(value) and text == ""):
        return text == ""
    if kind in ("double", "float"):
        if text == "NaN":
            return isinstance(value, float) and math.isnan(value)
        if text == "":
            return False
        return float(text) == float(value)
    if kind.startswith("int") or kind.startswith("uint"):
        return text != "" and int(text) == int(value)
    if kind == "bool":
        return text.lower() == str(bool(value)).lower()
    return str(value) == text


def check_table(parquet, csv_path):
    header, rows = csv_rows(csv_path)
    schema = pq.read_schema(parquet)
    kinds = {}
    for field in schema:
        kind = str(field.type)
        if kind not in OLD_TYPES_OK:
            sys.exit(f"{parquet}: column {field.name} has Arrow type {kind}, "
                     f"not one every reader of the last five years knows")
        kinds[field.name] = kind
    if list(schema.names) != header:
        sys.exit(f"{parquet}: columns differ from {csv_path}")

    def compare(reader, columns):
        """columns: name -> list of Python values"""
        for name in header:
            vals = columns[name]
            if len(vals) != len(rows):
                sys.exit(f"{reader} {parquet}: {len(vals)} rows, CSV {len(rows)}")
            j = header.index(name)
            for i, v in enumerate(vals):
                if not same(v, rows[i][j], kinds[name]):
                    sys.exit(f"{reader} {parquet}: row {i} column {name}: {v!r} vs CSV {rows[i][j]!r}")
        print(f"{reader}: {parquet}: {len(rows)} rows x {len(header)} columns equal the CSV")

    t = pq.read_table(parquet)
    compare(f"pyarrow {pa.__version__} read_table", {n: t.column(n).to_pylist() for n in header})

    import pandas as pd
    df = pd.read_parquet(parquet)
    compare(f"pandas {pd.__version__} read_parquet",
            {n: [None if (isinstance(v, float) and math.isnan(v) and kinds[n] not in ("double", "float"))
                 else (v.item() if hasattr(v, "item") else v) for v in df[n].tolist()] for n in header})
    # pandas turns float nulls into NaN: a null float column cell must be empty in the CSV.
    meta = pq.read_metadata(parquet).metadata or {}
    for key in (b"ctrad_version",):
        if key not in meta:
            sys.exit(f"{parquet}: metadata key {key!r} missing")

    try:
        import polars as pl
    except ImportError:
        print("polars not installed: skipped")
    else:
        p = pl.read_parquet(parquet)
        compare(f"polars {pl.__version__} read_parquet", {n: p[n].to_list() for n in header})

    try:
        import duckdb
    except ImportError:
        print("duckdb not installed: skipped")
    else:
        con = duckdb.connect()
        q = con.execute("SELECT * FROM read_parquet(?)", [parquet])
        names = [d[0] for d in q.description]
        data = q.fetchall()
        compare(f"duckdb {duckdb.__version__} SQL", {n: [r[k] for r in data] for k, n in enumerate(names)})
        n = con.execute("SELECT count(*) FROM read_parquet(?)", [parquet]).fetchone()[0]
        if n != len(rows):
            sys.exit(f"duckdb count(*) {n} != {len(rows)}")


def main(argv):
    if len(argv) < 2 or len(argv) % 2:
        sys.exit(__doc__)
    for i in range(0, len(argv), 2):
        check_table(argv[i], argv[i + 1])
    print("parquet readers ok")


if __name__ == "__main__":
    main(sys.argv[1:])
