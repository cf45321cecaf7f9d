"""PostgreSQL (15 and later) through psycopg 3: `postgresql://user@host:port/database`."""

from __future__ import annotations

import io
from collections.abc import Mapping

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
from sqlglot import exp

from metrics.engines.base import Engine
from metrics.engines.dialects import render
from metrics.errors import QueryTimeout, WarehouseError

# A placeholder's stand-in while the rest of the SQL gets its '%' doubled for psycopg.
_MARK = "\x00"
# Rows per Arrow batch streamed into COPY: a few MB of CSV at a time.
_COPY_BATCH_ROWS = 100_000


def render_for_psycopg(tree: exp.Expression, *, pretty: bool = False) -> str:
    """PostgreSQL SQL with psycopg's `%(name)s` parameters; every other '%' (LIKE '50%')
    doubled, as psycopg wants it.

    >>> import sqlglot
    >>> render_for_psycopg(sqlglot.parse_one("SELECT 1 WHERE a LIKE '5%' AND b = $x", read="duckdb"))
    "SELECT 1 WHERE a LIKE '5%%' AND b = %(x)s"
    """
    tree = tree.copy()
    for node in list(tree.find_all(exp.Placeholder)):
        node.replace(exp.Var(this=f"{_MARK}{node.name}{_MARK}"))
    text = render(tree, "postgres", pretty=pretty).replace("%", "%%")
    parts = text.split(_MARK)
    return "".join(f"%({p})s" if i % 2 else p for i, p in enumerate(parts))


class PostgresEngine(Engine):
    name = "postgres"
    dialect = "postgres"

    def __init__(self, url: str) -> None:
        super().__init__(url)
        import psycopg

        self._psycopg = psycopg
        try:
            self.conn = psycopg.connect(url, autocommit=True, connect_timeout=10)
        except psycopg.Error as exc:
            raise WarehouseError(f"cannot connect to PostgreSQL at {url}: "
                                 f"{str(exc).strip().splitlines()[0]}") from None

    def render(self, tree: exp.Expression, types: Mapping[str, str] | None = None) -> str:
        return render_for_psycopg(tree)

    def _query(self, sql: str, params: Mapping[str, object]) -> pd.DataFrame:
        with self.conn.transaction(), self.conn.cursor() as cur:
            # Read-only whatever the SQL says, and stopped by the server at the time limit.
            cur.execute("SET TRANSACTION READ ONLY")
            cur.execute(f"SET LOCAL statement_timeout = {int(self.timeout_seconds * 1000)}")
            try:
                cur.execute(sql, params)
            except self._psycopg.errors.QueryCanceled:
                raise QueryTimeout(f"the query took longer than {self.timeout_seconds:g} s on "
                                   "PostgreSQL and was stopped; narrow the date range.") from None
            columns = [d.name for d in cur.description]
            rows = cur.fetchall()
        return pd.DataFrame.from_records(rows, columns=columns, coerce_float=False)

    def _command(self, sql: str) -> None:
        self.conn.execute(sql)

    def _load(self, table: str, data: pa.Table | pa.RecordBatchReader,
              types: Mapping[str, str]) -> None:
        """COPY the rows in as CSV, one Arrow batch at a time: Arrow's CSV writer quotes every
        string (so '' stays '' and an unquoted empty field is NULL), writes doubles in their
        shortest exact form and times to the microsecond, which PostgreSQL reads back exactly."""
        columns = ", ".join(f'"{c}" {t}' for c, t in types.items())
        batches = data if isinstance(data, pa.RecordBatchReader) else data.to_batches(_COPY_BATCH_ROWS)
        with self.conn.transaction():
            self.conn.execute(f"CREATE TABLE {table} ({columns})")
            names = ", ".join(f'"{c}"' for c in types)
            with self.conn.cursor().copy(f"COPY {table} ({names}) FROM STDIN (FORMAT csv)") as copy:
                for batch in batches:
                    sink = io.BytesIO()
                    pa_csv.write_csv(batch, sink, pa_csv.WriteOptions(include_header=False))
                    copy.write(sink.getbuffer())

    def _load_from_duckdb(self, table: str, con, select_sql: str,
                          types: Mapping[str, str]) -> None:
        # A cursor of its own, so the stream never holds up the caller's connection.
        cursor = con.cursor()
        try:
            self._load(table, cursor.sql(select_sql).to_arrow_reader(_COPY_BATCH_ROWS), types)
        finally:
            cursor.close()

    def _columns(self) -> list[tuple[str, str, str]]:
        rows = self.conn.execute("""
            SELECT table_name, column_name, data_type FROM information_schema.columns
            WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position
        """).fetchall()
        return [tuple(r) for r in rows]

    def close(self) -> None:
        self.conn.close()
