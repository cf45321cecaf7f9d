"""Every engine, started once per session and torn down at its end, with the tiny warehouse
(and the generated and edge warehouses) published to it.

`engine_url(name)` starts what an engine needs on first use: a PostgreSQL 15 server as the
postgres user, a chdb directory, a standalone Spark master and worker. Spark's start-up is slow,
so its share of the differential matrix is a stratified sample unless `-m spark_full` is asked.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

ENGINES = ("postgres", "clickhouse", "spark")


class EngineServers:
    """Lazily started engine servers of one test session."""

    def __init__(self, scratch: Path) -> None:
        self.scratch = scratch
        self.stack = contextlib.ExitStack()
        self.urls: dict[str, str] = {}
        self.published: dict[tuple[str, str], str] = {}

    def url(self, engine: str) -> str:
        if engine not in self.urls:
            from engine_servers import postgres_server, spark_cluster

            if engine == "postgres":
                self.urls[engine] = self.stack.enter_context(postgres_server())
            elif engine == "spark":
                self.urls[engine] = self.stack.enter_context(spark_cluster())
            else:
                self.urls[engine] = "clickhouse"  # one chdb directory per warehouse
        return self.urls[engine]

    def warehouse(self, engine: str, source: Path, label: str):
        """A Warehouse on `engine` holding the DuckDB warehouse at `source` (published once).

        Each warehouse is a database of its own on the engine."""
        import metrics
        from metrics.engines import open_engine
        from metrics.engines.loader import publish_warehouse

        key = (engine, label)
        if key not in self.published:
            base = self.url(engine)
            if engine == "postgres":
                import psycopg

                with psycopg.connect(base, autocommit=True) as con:
                    con.execute(f"CREATE DATABASE {label}")
                url = base.rsplit("/", 1)[0] + f"/{label}"
            elif engine == "clickhouse":
                # chdb: one directory per process, a database per warehouse.
                url = f"chdb:///{self.scratch / 'chdb'}?database={label}"
            else:
                url = _spark_database(base, label)
            target = open_engine(url)
            try:
                publish_warehouse(source, target)
            finally:
                target.close()
            self.published[key] = url
        wh = metrics.open_warehouse(engine=self.published[key])
        self.stack.callback(wh.close)
        return wh


def _spark_database(base: str, label: str) -> str:
    return f"{base}&database={label}"


@pytest.fixture(scope="session")
def engine_servers(tmp_path_factory):
    servers = EngineServers(tmp_path_factory.mktemp("engines"))
    yield servers
    servers.stack.close()
    if "spark" in servers.urls:
        from metrics.engines.spark import SparkEngine

        SparkEngine(servers.urls["spark"]).close_session()


@pytest.fixture(scope="session", params=ENGINES)
def engine(request) -> str:
    return request.param


@pytest.fixture(scope="session")
def tiny(engine_servers, engine, tiny_warehouse_path):
    """The tiny hand-counted warehouse on each engine: tests/unit's metric tests reuse it."""
    return engine_servers.warehouse(engine, tiny_warehouse_path, "tiny")


@pytest.fixture(scope="session")
def generated_warehouse_path(tmp_path_factory) -> Path:
    """tests/demo_warehouse.py's generator, 3,000 leads: realistic distributions."""
    from demo_warehouse import build_demo_warehouse

    return build_demo_warehouse(tmp_path_factory.mktemp("generated") / "warehouse.duckdb",
                                leads=3000)


@pytest.fixture(scope="session")
def edge_warehouse_path(tmp_path_factory) -> Path:
    from edge_warehouse import build_edge_warehouse

    return build_edge_warehouse(tmp_path_factory.mktemp("edge") / "warehouse.duckdb")


def pytest_collection_modifyitems(config, items):
    """The full Spark matrix runs only when asked for (`-m spark_full`): Spark answers each
    query in about a second, so `make test` runs its stratified sample."""
    if "spark_full" in (config.option.markexpr or ""):
        return
    skip = pytest.mark.skip(reason="the full Spark matrix runs with -m spark_full")
    for item in items:
        if "spark_full" in item.keywords:
            item.add_marker(skip)
