"""`python -m metrics publish`: put a DuckDB warehouse on another engine (metrics.engines)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from metrics.engines import configured_engine_url, engine_name, open_engine
from metrics.errors import QueryError
from metrics.paths import default_warehouse_path


def register(subparsers: argparse._SubParsersAction) -> None:
    publish = subparsers.add_parser(
        "publish", help="copy a warehouse's tables to another engine and build it there",
        description="Load the canonical tables of a DuckDB warehouse (an import or a demo) into "
                    "PostgreSQL, ClickHouse (chdb) or Spark, and build the lifecycle tables on "
                    "that engine. Existing Handoff tables there are replaced.")
    publish.add_argument("--engine", help="engine URL (default METRICS_ENGINE)")
    publish.add_argument("--warehouse", type=Path, help="the DuckDB warehouse to publish "
                         "(default data/warehouse.duckdb)")
    publish.set_defaults(func=run_publish)


def run_publish(args: argparse.Namespace) -> int:
    from metrics.engines.loader import publish_warehouse

    url = configured_engine_url(args.engine)
    if url is None or engine_name(url) == "duckdb":
        raise QueryError("publish needs --engine (or METRICS_ENGINE) naming another engine, "
                         "e.g. postgresql://user@host:5432/handoff; DuckDB reads the file itself.")
    source = args.warehouse or default_warehouse_path()
    engine = open_engine(url)
    started = time.perf_counter()
    try:
        counts = publish_warehouse(source, engine)
    finally:
        engine.close()
    rows = ", ".join(f"{table} {n:,}" for table, n in counts.items())
    print(f"published {source} to {engine.name} ({rows}) and built the lifecycle tables there "
          f"in {time.perf_counter() - started:.1f} s")
    return 0
