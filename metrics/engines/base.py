"""What every engine does for Handoff: run a read query with bound parameters into pandas,
create tables from Arrow data or from a SELECT, and list its tables' columns."""

from __future__ import annotations

import datetime as dt
import decimal
import os
import tempfile
import threading
from collections.abc import Mapping
from urllib.parse import urlsplit

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from sqlglot import exp

from metrics.engines.dialects import column_type, render
from metrics.errors import QueryError, WarehouseError

# Columns a metric query returns as numbers; all NULL they are still numbers (NaN), as DuckDB's.
NUMERIC_RESULT_COLUMNS = ("value", "numerator", "denominator")


class Engine:
    """One connection to a SQL engine. Subclasses set `name` and `dialect` and implement
    `_query`, `_command`, `_columns` and `_load_parquet` (or `_load` and `_load_from_duckdb`); queries are serialised by a lock (one connection per engine object)."""

    name = "engine"
    dialect = "duckdb"

    def __init__(self, url: str) -> None:
        self.url = url
        self.lock = threading.RLock()
        self.timeout_seconds: float = 30.0

    # -- what subclasses implement ----------------------------------------------------------
    def _query(self, sql: str, params: Mapping[str, object]) -> pd.DataFrame:
        raise NotImplementedError

    def _command(self, sql: str) -> None:
        raise NotImplementedError

    def _load_parquet(self, table: str, path: str, types: Mapping[str, str]) -> None:
        """Create `table` with the columns of `types` (engine type names) from a Parquet file
        (ClickHouse and Spark; PostgreSQL streams rows through COPY instead, see `_load`)."""
        raise NotImplementedError

    def _load(self, table: str, data: pa.Table | pa.RecordBatchReader,
              types: Mapping[str, str]) -> None:
        """Create and fill `table` from Arrow data (default: through a Parquet file)."""
        with tempfile.TemporaryDirectory(prefix=f"handoff-{self.name}-load-") as scratch:
            path = os.path.join(scratch, f"{table}.parquet")
            if isinstance(data, pa.RecordBatchReader):
                with pq.ParquetWriter(path, data.schema) as writer:
                    for batch in data:
                        writer.write_batch(batch)
            else:
                pq.write_table(data, path)
            self._load_parquet(table, path, types)

    def _load_from_duckdb(self, table: str, con, select_sql: str,
                          types: Mapping[str, str]) -> None:
        """Create and fill `table` from a DuckDB query; by default DuckDB writes the rows to a
        Parquet file the engine reads (deleted afterwards), so no row passes through Python."""
        with tempfile.TemporaryDirectory(prefix=f"handoff-{self.name}-load-") as scratch:
            path = os.path.join(scratch, f"{table}.parquet")
            con.execute(f"COPY ({select_sql}) TO '{path}' (FORMAT parquet)")
            self._load_parquet(table, path, types)

    def _columns(self) -> list[tuple[str, str, str]]:
        """(table, column, engine type) of every table of the engine's current database."""
        raise NotImplementedError

    def close(self) -> None:
        pass

    # -- shared ---------------------------------------------------------------------------
    def render(self, tree: exp.Expression, types: Mapping[str, str] | None = None) -> str:
        """`tree` (DuckDB) for this engine; `types`: see metrics.engines.dialects.render."""
        return render(tree, self.dialect, types=types)

    def execute(self, sql: str, params: Mapping[str, object] | None = None) -> pd.DataFrame:
        """Run one read statement; the whole result as DuckDB's `.df()` would type it."""
        with self.lock:
            try:
                frame = self._query(sql, dict(params or {}))
            except QueryError:
                raise
            except Exception as exc:  # each driver has its own error family
                message = str(exc).strip().split("\n")[0][:500]
                raise QueryError(f"the query failed on {self.name}: {message}") from None
        return normalise_frame(frame)

    def command(self, sql: str) -> None:
        with self.lock:
            try:
                self._command(sql)
            except Exception as exc:
                message = str(exc).strip().split("\n")[0][:500]
                raise WarehouseError(f"{self.name} refused a build statement: {message}") from None

    def create_table_as(self, table: str, select: exp.Query) -> None:
        """(Re)create `table` from a SELECT composed as DuckDB, rendered for this engine."""
        self.drop_table(table)
        self.command(self._create_as_sql(table, self.render(select)))

    def _create_as_sql(self, table: str, select_sql: str) -> str:
        return f"CREATE TABLE {table} AS {select_sql}"

    def drop_table(self, table: str) -> None:
        self.command(f"DROP TABLE IF EXISTS {table}")

    def load_table(self, table: str, data: pa.Table, types: Mapping[str, str]) -> None:
        """(Re)create `table` with the columns of `types` (DuckDB type names) filled from `data`."""
        self._bulk_load(table, types, lambda engine_types: self._load(
            table, data.select(list(types)), engine_types))

    def load_from_duckdb(self, table: str, con, select_sql: str, types: Mapping[str, str]) -> None:
        """(Re)create `table` with the columns of `types` (DuckDB type names) filled with the
        rows of `select_sql` run on the DuckDB connection `con`, in bulk and streamed (the
        whole table is never in this process's memory)."""
        self._bulk_load(table, types, lambda engine_types: self._load_from_duckdb(
            table, con, select_sql, engine_types))

    def _bulk_load(self, table: str, types: Mapping[str, str], load) -> None:
        self.drop_table(table)
        with self.lock:
            try:
                load({c: column_type(t, self.dialect) for c, t in types.items()})
            except Exception as exc:
                message = str(exc).strip().split("\n")[0][:500]
                raise WarehouseError(f"cannot load {table} into {self.name}: {message}") from None

    def columns(self) -> dict[str, dict[str, str]]:
        """{table: {column: DuckDB-style type}}, the shape the SQL guard validates against."""
        schema: dict[str, dict[str, str]] = {}
        for table, column, engine_type in self._columns():
            schema.setdefault(table.lower(), {})[column.lower()] = duckdb_type_of(engine_type)
        return schema


def duckdb_type_of(engine_type: str) -> str:
    """The DuckDB type name standing for an engine's column type (for validation and casts)."""
    text = engine_type.lower()
    for prefix in ("nullable(", "lowcardinality("):
        while text.startswith(prefix):
            text = text[len(prefix):].removesuffix(")")
    if "char" in text or "string" in text or text in ("text", "enum") or text.startswith("enum"):
        return "VARCHAR"
    if text.startswith(("timestamp", "datetime")):
        return "TIMESTAMP"
    if text == "date" or text.startswith("date32"):
        return "DATE"
    if text.startswith(("bool",)):
        return "BOOLEAN"
    if text.startswith(("int", "bigint", "smallint", "tinyint", "uint", "long", "short")):
        return "BIGINT"
    if text.startswith(("double", "float", "real", "decimal", "numeric")):
        return "DOUBLE"
    return "VARCHAR"


def normalise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Make an engine's result look like DuckDB's: numbers as int64/float64 (NULL as NaN, never
    0), decimals as floats, times as naive UTC, text as Python strings with None for NULL."""
    for column in frame.columns:
        series = frame[column]
        if isinstance(series.dtype, pd.DatetimeTZDtype):
            frame[column] = series.dt.tz_convert("UTC").dt.tz_localize(None)
            continue
        if series.dtype.kind == "u":  # ClickHouse counts are UInt64; DuckDB's are BIGINT
            frame[column] = series.astype("float64" if series.isna().any() else "int64")
            continue
        if series.dtype != object and not isinstance(series.dtype, pd.StringDtype):
            if str(series.dtype).startswith(("Int", "UInt", "Float")):  # pandas' nullable numbers
                frame[column] = (series.astype("float64") if series.isna().any()
                                 else series.astype(str(series.dtype).lower()))
            continue
        values = [v for v in series if v is not None and not (isinstance(v, float) and np.isnan(v))]
        if isinstance(series.dtype, pd.StringDtype) or (values and all(isinstance(v, str) for v in values)):
            frame[column] = pd.Series([None if pd.isna(v) else str(v) for v in series],
                                      index=frame.index, dtype=object)
        elif values and all(isinstance(v, (int, float, decimal.Decimal, np.number))
                            and not isinstance(v, bool) for v in values):
            if len(values) == len(series) and all(isinstance(v, (int, np.integer)) for v in values):
                frame[column] = series.astype("int64")
            else:
                frame[column] = pd.to_numeric(series.map(_plain_number), errors="coerce").astype("float64")
        elif not values and column in NUMERIC_RESULT_COLUMNS:
            frame[column] = np.full(len(series), np.nan)
        elif values and all(isinstance(v, dt.datetime) for v in values):
            frame[column] = pd.to_datetime(series.map(_naive_utc))
    return frame


def _plain_number(value: object) -> float | None:
    return None if value is None else float(value)


def _naive_utc(value: object) -> object:
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    return value


def url_path(url: str) -> str:
    """The path of `scheme:///relative/path` (SQLAlchemy's convention: four slashes for an
    absolute path, three for a relative one).

    >>> url_path("duckdb:///data/warehouse.duckdb"), url_path("chdb:////tmp/ch")
    ('data/warehouse.duckdb', '/tmp/ch')
    """
    parts = urlsplit(url)
    path = parts.path[1:] if parts.path.startswith("/") else parts.path
    if parts.netloc:
        path = f"{parts.netloc}/{path}"
    if not path:
        raise WarehouseError(f"the engine URL {url} names no path; write it as "
                             f"{parts.scheme}:///relative/path or {parts.scheme}:////absolute/path.")
    return path
