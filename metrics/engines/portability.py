"""Does a metric definition render faithfully for every engine? Checked by `validate` and used
by the golden SQL snapshots: the same representative queries (a filtered, split monthly trend
and a scorecard tile) compiled once and rendered per dialect."""

from __future__ import annotations

import datetime as dt

from metrics.build import lead_column_copies, reference_schema
from metrics.compiler import CompiledQuery, QueryRequest, compile_metric, compile_windows
from metrics.definitions import MetricDefinition
from metrics.engines.dialects import ENGINE_DIALECTS, EngineSQLError, render
from metrics.sql_guard import validate_definition_columns

AS_OF = dt.datetime(2025, 3, 31)
# The shapes on screen: a monthly trend split by segment, filtered on a text and a number
# column, and a scorecard tile (two windows and a trend from one scan).
TREND_REQUEST = QueryRequest(start=dt.datetime(2025, 1, 1), end=dt.datetime(2025, 4, 1),
                             grain="month", by="segment",
                             where={"region": ["NA", "EMEA"], "lead_score": "80"})
TILE_WINDOWS = ((dt.datetime(2025, 3, 1), dt.datetime(2025, 4, 1)),
                (dt.datetime(2025, 2, 1), dt.datetime(2025, 3, 1)))
TILE_TREND = (dt.datetime(2025, 1, 1), dt.datetime(2025, 4, 1))


def representative_queries(defn: MetricDefinition,
                           schema: dict[str, dict[str, str]] | None = None
                           ) -> dict[str, CompiledQuery]:
    """{"trend": ..., "scorecard tile": ...} compiled against `schema` (default: the schema
    this code builds)."""
    schema = schema or reference_schema()
    query, columns = validate_definition_columns(defn, schema)
    options = dict(metric_columns=columns, lead_columns=dict(schema["leads"]), row_cap=100000,
                   as_of=AS_OF, lead_copies=lead_column_copies(schema))
    return {
        "trend": compile_metric(defn, query, TREND_REQUEST, **options),
        "scorecard tile": compile_windows(
            defn, query, QueryRequest(start=TILE_TREND[0], end=TILE_TREND[1]),
            windows=TILE_WINDOWS, trend=TILE_TREND, **options),
    }


def check_portability(defn: MetricDefinition, schema: dict[str, dict[str, str]] | None = None,
                      dialects: tuple[str, ...] = ENGINE_DIALECTS) -> None:
    """Raise EngineSQLError naming the metric and engine if a query of `defn` cannot be
    rendered for one of `dialects` with DuckDB's meaning."""
    for label, compiled in representative_queries(defn, schema).items():
        for dialect in dialects:
            try:
                render(compiled.tree, dialect)
            except EngineSQLError as exc:
                raise EngineSQLError(f"{defn.name} cannot run on {dialect} as it does on "
                                     f"DuckDB ({label}): {exc}", source=defn.name) from None


def check_configured_engines(defn: MetricDefinition,
                             schema: dict[str, dict[str, str]] | None = None) -> None:
    """`check_portability` for the engines this deployment serves besides DuckDB
    (METRICS_ENGINE / METRICS_ENGINES); nothing to check when there are none. The catalog
    refuses such a proposal, and the editor says so while the draft is being written."""
    from metrics.engines import configured_dialects

    dialects = configured_dialects()
    if dialects:
        check_portability(defn, schema, dialects)
