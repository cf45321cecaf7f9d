"""Each metric's rows summed per day and sidebar filter, built at load time.

`metric_day_counts` holds, for every definition in the metric folder whose kind is a function
of sums (ratio, count, sum, average: metrics.compiler.ROLLUP_KINDS), its rows grouped by anchor
day and by the lead columns the sidebar filters by (metrics.lead_rollup.ROLLUP_DIMENSIONS),
with the partial sums `n` and `d` its value is computed from. `metric_rollups` names the
definitions it holds, by `definition_key` (a hash of the definition's whole text, so another
text, a draft or a later version, never reads a rollup built for this one).

`Warehouse.query` answers from it when it can do so exactly: the definition's text was rolled
up, the period's bounds are whole days, and every filtered or breakdown dimension is kept. At 1M
leads an MQL-cohort metric then sums about 100k rows instead of scanning a million; anything
else (a median, a bound inside a day, a filter on industry, a newly published version before the
next load) reads the definition's own tables as before, with the same numbers.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import duckdb

from metrics.compiler import DIALECT, compile_day_rollup
from metrics.definitions import MetricDefinition, load_definition_files
from metrics.errors import MetricError
from metrics.lead_rollup import ROLLUP_DIMENSIONS
from metrics.paths import METRICS_DIR

ROLLUP_TABLE = "metric_day_counts"
INDEX_TABLE = "metric_rollups"
# Types whose text form compares with a bound string exactly as the column itself does.
_TEXT_TYPES = ("VARCHAR", "ENUM")


def definition_key(defn: MetricDefinition) -> str:
    """The rollup's key for one definition text (its header and SQL)."""
    return hashlib.sha256(defn.text.encode("utf-8")).hexdigest()[:20]


def build_metric_rollups(con: duckdb.DuckDBPyConnection, as_of: dt.datetime, *,
                         definitions_dir: Path | None = METRICS_DIR) -> list[str]:
    """(Re)build ROLLUP_TABLE and INDEX_TABLE from the derived tables; the metric names rolled
    up. A definition that does not validate against this warehouse, or whose filter columns
    are not text, is left out (it is answered from its tables). definitions_dir=None: the
    tables only, empty (the reference schema, which lead_column_copies itself reads)."""
    # Imported here: metrics.build (which calls this) is imported by these modules.
    from metrics.build import lead_column_copies, table_schema
    from metrics.sql_guard import validate_definition_columns

    con.execute(f"DROP TABLE IF EXISTS {ROLLUP_TABLE}")
    con.execute(f"DROP TABLE IF EXISTS {INDEX_TABLE}")
    con.execute(f"""CREATE TEMP TABLE rollup_rows (definition_key VARCHAR, day DATE,
                    lead_key INTEGER, {", ".join(f"{d} VARCHAR" for d in ROLLUP_DIMENSIONS)},
                    n DOUBLE, d DOUBLE)""")
    index: list[tuple[str, str, int, str, str]] = []
    definitions = load_definition_files(definitions_dir) if definitions_dir else {}
    schema = table_schema(con)
    lead_columns = {c.lower(): t for c, t in schema.get("leads", {}).items()}
    lead_copies = lead_column_copies(schema) if definitions else {}
    for defn in definitions.values():
        try:
            query, columns = validate_definition_columns(defn, schema)
        except MetricError:
            continue
        compiled = compile_day_rollup(defn, query, metric_columns=columns,
                                      lead_columns=lead_columns, dimensions=ROLLUP_DIMENSIONS,
                                      lead_copies=lead_copies)
        if compiled is None:
            continue
        select, from_lead = compiled
        if any(not lead_columns.get(d, "").startswith(_TEXT_TYPES) for d in from_lead):
            continue
        sql = select.sql(DIALECT)
        params = {"as_of": as_of} if "$as_of" in sql else {}
        if not _own_dimensions_are_text(con, select, from_lead, params):
            continue
        key = definition_key(defn)
        con.execute(f"INSERT INTO rollup_rows SELECT '{key}', * FROM ({sql})", params)
        index.append((key, defn.name, defn.version, defn.kind, ",".join(from_lead)))
    con.execute(f"CREATE TABLE {ROLLUP_TABLE} AS SELECT * FROM rollup_rows "
                "ORDER BY definition_key, day")
    con.execute("DROP TABLE rollup_rows")
    con.execute(f"""CREATE TABLE {INDEX_TABLE} (definition_key VARCHAR, metric VARCHAR,
                    version INTEGER, kind VARCHAR, lead_dimensions VARCHAR)""")
    if index:
        con.executemany(f"INSERT INTO {INDEX_TABLE} VALUES (?, ?, ?, ?, ?)", index)
    return [name for _, name, *_ in index]


def _own_dimensions_are_text(con: duckdb.DuckDBPyConnection, select, from_lead: tuple[str, ...],
                             params: dict) -> bool:
    """Whether the dimensions the metric returns itself are text before the rollup's cast
    (a number compared with a bound string would match other values than its text does)."""
    own = [d for d in ROLLUP_DIMENSIONS if d not in from_lead]
    if not own:
        return True
    inner = select.copy()
    for projection in inner.expressions:
        if projection.alias in own:
            projection.set("this", projection.this.this)  # the expression inside CAST(.. AS VARCHAR)
    types = {name: str(kind) for name, kind, *_ in con.execute(
        f"DESCRIBE {inner.sql(DIALECT)}", params).fetchall()}
    return all(types.get(d, "").startswith(_TEXT_TYPES) or types.get(d) == '"NULL"'
               for d in own)


def rolled_up(con: duckdb.DuckDBPyConnection) -> dict[str, frozenset[str]]:
    """{definition_key: the dimensions it reads from the lead} of a warehouse's rollups;
    empty for a warehouse built before they existed."""
    try:
        rows = con.execute(f"SELECT definition_key, lead_dimensions FROM {INDEX_TABLE}").fetchall()
    except duckdb.CatalogException:
        return {}
    return {key: frozenset(filter(None, (dims or "").split(","))) for key, dims in rows}
