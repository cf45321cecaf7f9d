"""ClickHouse in-process through chdb: `chdb:///path/to/directory[?database=NAME]`.

chdb runs one embedded server per process, on one directory; warehouses side by side in it
are databases (default: `default`).

The SQL is the dialect a ClickHouse cluster runs; these settings make it answer as DuckDB
does: a LEFT JOIN's missing side and a grouping set's rolled-up key are NULL, not the type's
default (0, ''); an aggregate over no rows is NULL, not 0; times are UTC; a column named like
a SELECT alias is the column.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from urllib.parse import parse_qsl, urlsplit

import pandas as pd

from metrics.engines.base import Engine, url_path
from metrics.errors import QueryTimeout, WarehouseError

SETTINGS = {
    "join_use_nulls": 1,
    "group_by_use_nulls": 1,
    "aggregate_functions_null_for_empty": 1,
    "session_timezone": "'UTC'",
    # A column keeps its meaning when a SELECT alias has the same name (standard SQL scoping).
    "prefer_column_name_to_alias": 1,
}


class ClickHouseEngine(Engine):
    name = "clickhouse"
    dialect = "clickhouse"

    def __init__(self, url: str) -> None:
        super().__init__(url)
        import chdb

        path = url_path(url)
        self.database = dict(parse_qsl(urlsplit(url).query)).get("database", "default")
        self._path = ":memory:" if path == ":memory:" else os.path.abspath(path)
        if self._path != ":memory:":
            os.makedirs(self._path, exist_ok=True)
        try:
            self.conn = chdb.connect(self._path)
            # USE holds for this connection only: each engine object reads its own database.
            self.conn.query(f"CREATE DATABASE IF NOT EXISTS `{self.database}`")
            self.conn.query(f"USE `{self.database}`")
        except Exception as exc:
            raise WarehouseError(f"cannot open chdb at {self._path}: {exc}") from None

    def _settings(self, *, read_only: bool) -> str:
        # Reads stop at the query time limit; a build statement (a CREATE ... AS SELECT over
        # the whole warehouse) is a batch job and runs to its end, as on the other engines.
        limit = int(max(1, self.timeout_seconds)) if read_only else 0
        settings = dict(SETTINGS, max_execution_time=limit)
        if read_only:
            settings["readonly"] = 2  # reads only; settings of the query itself still allowed
        return " SETTINGS " + ", ".join(f"{k} = {v}" for k, v in settings.items())

    def _query(self, sql: str, params: Mapping[str, object]) -> pd.DataFrame:
        try:
            return self.conn.query(sql + self._settings(read_only=True), "DataFrame",
                                   params=dict(params) or None)
        except Exception as exc:
            if "TIMEOUT_EXCEEDED" in str(exc) or "Timeout exceeded" in str(exc):
                raise QueryTimeout(f"the query took longer than {self.timeout_seconds:g} s on "
                                   "ClickHouse and was stopped; narrow the date range.") from None
            raise

    def _command(self, sql: str) -> None:
        # A statement that reads (CREATE ... AS SELECT) needs the NULL settings as a query does.
        reads = "SELECT" in sql.upper()
        self.conn.query(sql + (self._settings(read_only=False) if reads else ""))

    def _create_as_sql(self, table: str, select_sql: str) -> str:
        return f"CREATE TABLE {table} ENGINE = MergeTree ORDER BY tuple() AS {select_sql}"

    def _load_parquet(self, table: str, path: str, types: Mapping[str, str]) -> None:
        columns = ", ".join(f"`{c}` {t}" for c, t in types.items())
        self.conn.query(f"CREATE TABLE {table} ({columns}) ENGINE = MergeTree ORDER BY tuple()")
        names = ", ".join(f"`{c}`" for c in types)
        self.conn.query(f"INSERT INTO {table} ({names}) SELECT {names} FROM file('{path}', Parquet)"
                        + self._settings(read_only=False))

    def _columns(self) -> list[tuple[str, str, str]]:
        frame = self.conn.query("SELECT table, name, type FROM system.columns "
                                "WHERE database = currentDatabase() ORDER BY table, position",
                                "DataFrame")
        return list(frame.itertuples(index=False, name=None))

    def close(self) -> None:
        self.conn.close()
