"""The engines Handoff runs its metric catalog on, each chosen by one URL.

    duckdb:///data/warehouse.duckdb     the embedded default (metrics.warehouse)
    postgresql://user@host:5432/db      PostgreSQL 15+ (psycopg 3)
    chdb:///path/to/dir                 ClickHouse, in-process (chdb)
    spark://host:7077 | sc://host:15002 Apache Spark: a standalone master, or Spark Connect

`--engine` / METRICS_ENGINE on the CLI, `engine=` in `metrics.open_warehouse`. Every engine but
DuckDB reads tables published to it by `python -m metrics publish` (metrics.engines.loader).
METRICS_ENGINES lists further engines the catalog also serves (a proposal must render for all).
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from metrics.engines.base import Engine, url_path
from metrics.errors import WarehouseError

ENGINE_ENV = "METRICS_ENGINE"
SCHEMES = {"duckdb": "duckdb", "postgresql": "postgres", "postgres": "postgres",
           "chdb": "clickhouse", "clickhouse": "clickhouse", "spark": "spark", "sc": "spark"}


def engine_name(url: str) -> str:
    """The engine a URL names ('duckdb', 'postgres', 'clickhouse', 'spark').

    >>> engine_name("postgresql://postgres@127.0.0.1:5432/handoff"), engine_name("sc://spark:15002")
    ('postgres', 'spark')
    """
    scheme = urlsplit(url).scheme.lower()
    if scheme not in SCHEMES:
        raise WarehouseError(f"'{url}' is not an engine URL; use duckdb:///path, "
                             "postgresql://user@host:port/db, chdb:///path, spark://host:port "
                             "or sc://host:port.")
    return SCHEMES[scheme]


def configured_engine_url(engine: str | None = None) -> str | None:
    """The engine URL given, else METRICS_ENGINE, else None (DuckDB at the warehouse path)."""
    return engine or os.environ.get(ENGINE_ENV) or None


ENGINES_ENV = "METRICS_ENGINES"


def configured_dialects() -> tuple[str, ...]:
    """The sqlglot dialects of the engines this deployment runs on besides DuckDB:
    METRICS_ENGINE and the comma-separated METRICS_ENGINES (URLs or engine names). A proposed
    definition must render faithfully for each (metrics.catalog checks it).

    >>> import os; os.environ[ENGINES_ENV] = "clickhouse, spark://m:7077"
    >>> configured_dialects()
    ('clickhouse', 'spark')
    >>> del os.environ[ENGINES_ENV]
    """
    found: list[str] = []
    names = [os.environ.get(ENGINE_ENV, ""), *os.environ.get(ENGINES_ENV, "").split(",")]
    for item in (n.strip() for n in names):
        if not item:
            continue
        name = item if item in SCHEMES.values() else engine_name(item)
        if name != "duckdb" and name not in found:
            found.append(name)
    return tuple(found)


def open_engine(url: str) -> Engine:
    """Connect to the engine a URL names (not DuckDB: its Warehouse opens the file itself)."""
    name = engine_name(url)
    if name == "postgres":
        from metrics.engines.postgres import PostgresEngine

        return PostgresEngine(url)
    if name == "clickhouse":
        from metrics.engines.clickhouse import ClickHouseEngine

        return ClickHouseEngine(url)
    if name == "spark":
        from metrics.engines.spark import SparkEngine

        return SparkEngine(url)
    raise WarehouseError("DuckDB is opened as a warehouse file, not as an engine: use "
                         "metrics.open_warehouse(engine='duckdb:///path').")


__all__ = ["ENGINES_ENV", "ENGINE_ENV", "Engine", "configured_dialects",
           "configured_engine_url", "engine_name", "open_engine", "url_path"]
