"""The metric catalog on an engine other than DuckDB: the same Warehouse API, the same numbers.

EngineWarehouse is metrics.warehouse.Warehouse with the DuckDB file replaced by an Engine:
definitions, validation, compilation, batching and the frames' attrs are the Warehouse's own;
only where the SQL runs differs. A compiled query's AST is rendered for the engine's dialect
(metrics.engines.dialects), never its DuckDB text re-parsed.

The page analyses (metrics.analysis, metrics.attribution) hand the warehouse SQL text written
as DuckDB that every engine runs with the same meaning (no GROUP BY ALL, UNPIVOT, FIRST(x
ORDER BY …); see those modules). It is parsed once as DuckDB and rendered by sqlglot with the
engine's overrides (metrics.engines.dialects), and ClickHouse's parameter types are taken from
the values bound. tests/engines/test_analyses_on_engines.py proves every analysis equal to
DuckDB's on PostgreSQL, ClickHouse and Spark. SQL the dialect layer cannot render faithfully
(arg_min, list(x ORDER BY t)…) is refused with a sentence naming DuckDB, never approximated;
so are the Lead scoring page's analyses (metrics.scoring, DUCKDB_ONLY_ANALYSES), whose SQL is
not yet portable.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping

import pandas as pd
import sqlglot

from metrics.build import CANONICAL_TABLES, DERIVED_TABLES, lead_column_copies, reference_schema
from metrics.compile_cache import CompileCache
from metrics.compiler import CompiledQuery
from metrics.engines.base import Engine
from metrics.engines.dialects import EngineSQLError, parameter_types
from metrics.errors import QueryError, WarehouseError
from metrics.profile import count_profile
from metrics.warehouse import Warehouse


# Labels (or their starts) of analyses whose SQL is not yet written for every engine: the Lead
# scoring page's (metrics.scoring). They are refused in a sentence rather than left to fail.
DUCKDB_ONLY_ANALYSES = ("score profile", "MQL rule vs CRM", "MQL rule disagreements",
                        "lift by ", "lift base")


class EngineWarehouse(Warehouse):
    """A Warehouse whose tables live on `engine` (published by metrics.engines.loader)."""

    def __init__(self, engine: Engine, **options) -> None:
        self.engine = engine
        self.engine_url = engine.url
        # SQL already rendered for the engine (compiled metric queries), by text: one entry per
        # distinct query shape, the same text each time a shape is compiled again.
        self._rendered: set[str] = set()
        # Page-analysis SQL rendered for the engine, by its DuckDB text and parameter types.
        self._translated: dict[tuple, str] = {}
        engine.timeout_seconds = options.get("timeout_seconds", engine.timeout_seconds)
        super().__init__(engine.url, **options)

    def _connect(self) -> None:
        try:
            meta = self.engine.execute(self.engine.render(sqlglot.parse_one(
                "SELECT as_of, built_at, source FROM warehouse_meta")))
            # What the data records, counted on the engine with the same SQL as DuckDB's.
            profile = count_profile(rows=lambda sql: list(self.engine.execute(
                self.engine.render(sqlglot.parse_one(sql))).itertuples(index=False, name=None)))
        except QueryError as exc:
            raise WarehouseError(f"{self.engine.url} holds no Handoff warehouse that can be "
                                 f"read ({exc}); publish one with `python -m metrics publish "
                                 f"--engine {self.engine.url}`.") from None
        self.schema = self._schema()
        self.as_of = pd.Timestamp(meta["as_of"].iloc[0]).to_pydatetime()
        self.built_at = pd.Timestamp(meta["built_at"].iloc[0]).to_pydatetime()
        self.source = str(meta["source"].iloc[0])
        self.lead_columns = {c.lower(): t for c, t in self.schema.get("leads", {}).items()}
        self.lead_copies = lead_column_copies(self.schema)
        self.profile = profile
        self.stage_events = profile.stage_events
        self.data_starts = profile.data_starts
        self._prepared.clear()
        self._compiled.clear()
        # Compiled SQL is kept in memory only: the disk cache is keyed by a DuckDB file.
        self._compile_cache = CompileCache(None, {})

    def _schema(self) -> dict[str, dict[str, str]]:
        """The engine's tables, typed as the DuckDB build types them where it knows the column
        (an engine's INTEGER for DuckDB's BIGINT would change a filter's cast)."""
        reference = reference_schema()
        schema = {}
        for table, columns in self.engine.columns().items():
            if table in CANONICAL_TABLES or table in DERIVED_TABLES:
                known = reference.get(table, {})
                schema[table] = {c: known.get(c, t) for c, t in columns.items()}
        return schema

    def refresh(self) -> bool:
        """An engine's tables are replaced by a publish, not a file swap: nothing to follow."""
        return False

    def close(self) -> None:
        self.engine.close()

    def _compiled_once(self, key: tuple, compile_: Callable[[], CompiledQuery]) -> CompiledQuery:
        def for_engine() -> CompiledQuery:
            compiled = compile_()
            rendered = dataclasses.replace(compiled, sql=self.engine.render(compiled.tree))
            self._rendered.add(rendered.sql)
            return rendered
        return super()._compiled_once(key, for_engine)

    def execute(self, sql: str, params: Mapping[str, object] | None = None, *,
                label: str = "query") -> pd.DataFrame:
        if sql not in self._rendered:
            sql = self._translate(sql, label, params or {})
        try:
            return self.engine.execute(sql, params)
        except EngineSQLError:
            raise
        except QueryError as exc:
            raise QueryError(f"{label}: {exc}") from None

    def execute_rows(self, sql: str, params: Mapping[str, object] | None = None, *,
                     label: str = "query") -> tuple[list[str], list[tuple]]:
        frame = self.execute(sql, params, label=label)
        return list(frame.columns), [tuple(None if _missing(v) else v for v in row)
                                     for row in frame.itertuples(index=False, name=None)]

    def _translate(self, sql: str, label: str, params: Mapping[str, object]) -> str:
        """DuckDB SQL text of a page analysis, for the engine; refused when not faithful."""
        if label.startswith(DUCKDB_ONLY_ANALYSES):
            raise EngineSQLError(
                f"The {label} analysis (Lead scoring page) runs on DuckDB only for now; this "
                f"warehouse is on {self.engine.name}. Open the page on the DuckDB warehouse "
                "(METRICS_ENGINE=duckdb:///data/warehouse.duckdb) for it; every other page "
                f"runs on {self.engine.name}.")
        types = parameter_types(params)
        key = (sql, tuple(sorted(types.items())))
        if key in self._translated:
            return self._translated[key]
        try:
            statements = sqlglot.parse(sql, read="duckdb")
            if len(statements) != 1 or statements[0] is None:
                raise EngineSQLError("not exactly one statement")
            rendered = self.engine.render(statements[0], types)
        except (sqlglot.errors.SqlglotError, EngineSQLError) as exc:
            raise EngineSQLError(
                f"The {label} analysis is written for DuckDB and cannot run on "
                f"{self.engine.name} with the same numbers ({str(exc).splitlines()[0]}); open "
                "this page on the DuckDB warehouse "
                "(METRICS_ENGINE=duckdb:///data/warehouse.duckdb).") from None
        self._translated[key] = rendered
        return rendered


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and value != value) or value is pd.NaT
